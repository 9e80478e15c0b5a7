# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deprecated and removed Kubernetes API versions, 1.10 to 1.37.

Data only; plugins/module_utils/api_scan.py reads it. One row per group/version/kind:

  group, version, kind    the deprecated API ("" is the core group)
  resource                the plural REST resource name, as discovery lists it
  namespaced              True for namespaced kinds
  deprecated_in           the minor that deprecated it (may predate 1.10)
  removed_in              the first minor that no longer serves it; None if still served in 1.37
  replacement             the apiVersion to use instead; None when there is none
  replacement_available_in  the first minor that serves the replacement

Sources: the Kubernetes deprecation guide (kubernetes.io/docs/reference/using-api/deprecation-guide/)
and the `+k8s:prerelease-lifecycle-gen` tags of k8s.io/api, which decide when the apiserver starts
sending deprecation warnings; for 1.25+ the OpenAPI schemas shipped by kubernetes-validate
cross-check every row (tests/unit/plugins/module_utils/test_release_apis.py).
Where the two disagree the k8s.io/api tag wins:
  - extensions/v1beta1 and apps/v1beta1 workloads: deprecated in 1.8 (not 1.9);
  - apps/v1beta1 never had ReplicaSet (the guide lists it), so there is no row for it;
  - authentication/authorization/storage v1beta1 and apiregistration v1beta1: deprecated in 1.19.
Alpha versions are not listed: they are off by default and never a supported upgrade path.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

FIELDS = (
    "group", "version", "kind", "resource", "namespaced",
    "deprecated_in", "removed_in", "replacement", "replacement_available_in",
)

_ROWS = (
    # --- removed in 1.16
    ("extensions", "v1beta1", "NetworkPolicy", "networkpolicies", True, "1.9", "1.16", "networking.k8s.io/v1", "1.8"),
    ("extensions", "v1beta1", "DaemonSet", "daemonsets", True, "1.8", "1.16", "apps/v1", "1.9"),
    ("apps", "v1beta2", "DaemonSet", "daemonsets", True, "1.9", "1.16", "apps/v1", "1.9"),
    ("extensions", "v1beta1", "Deployment", "deployments", True, "1.8", "1.16", "apps/v1", "1.9"),
    ("apps", "v1beta1", "Deployment", "deployments", True, "1.8", "1.16", "apps/v1", "1.9"),
    ("apps", "v1beta2", "Deployment", "deployments", True, "1.9", "1.16", "apps/v1", "1.9"),
    ("apps", "v1beta1", "StatefulSet", "statefulsets", True, "1.8", "1.16", "apps/v1", "1.9"),
    ("apps", "v1beta2", "StatefulSet", "statefulsets", True, "1.9", "1.16", "apps/v1", "1.9"),
    ("extensions", "v1beta1", "ReplicaSet", "replicasets", True, "1.8", "1.16", "apps/v1", "1.9"),
    ("apps", "v1beta2", "ReplicaSet", "replicasets", True, "1.9", "1.16", "apps/v1", "1.9"),
    ("extensions", "v1beta1", "PodSecurityPolicy", "podsecuritypolicies", False, "1.10", "1.16", "policy/v1beta1", "1.10"),
    # --- removed in 1.22
    ("admissionregistration.k8s.io", "v1beta1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", False,
     "1.16", "1.22", "admissionregistration.k8s.io/v1", "1.16"),
    ("admissionregistration.k8s.io", "v1beta1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", False,
     "1.16", "1.22", "admissionregistration.k8s.io/v1", "1.16"),
    ("apiextensions.k8s.io", "v1beta1", "CustomResourceDefinition", "customresourcedefinitions", False,
     "1.16", "1.22", "apiextensions.k8s.io/v1", "1.16"),
    ("apiregistration.k8s.io", "v1beta1", "APIService", "apiservices", False, "1.19", "1.22", "apiregistration.k8s.io/v1", "1.10"),
    ("authentication.k8s.io", "v1beta1", "TokenReview", "tokenreviews", False, "1.19", "1.22", "authentication.k8s.io/v1", "1.6"),
    ("authorization.k8s.io", "v1beta1", "LocalSubjectAccessReview", "localsubjectaccessreviews", True,
     "1.19", "1.22", "authorization.k8s.io/v1", "1.6"),
    ("authorization.k8s.io", "v1beta1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", False,
     "1.19", "1.22", "authorization.k8s.io/v1", "1.6"),
    ("authorization.k8s.io", "v1beta1", "SubjectAccessReview", "subjectaccessreviews", False,
     "1.19", "1.22", "authorization.k8s.io/v1", "1.6"),
    ("authorization.k8s.io", "v1beta1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", False,
     "1.19", "1.22", "authorization.k8s.io/v1", "1.8"),
    ("certificates.k8s.io", "v1beta1", "CertificateSigningRequest", "certificatesigningrequests", False,
     "1.19", "1.22", "certificates.k8s.io/v1", "1.19"),
    ("coordination.k8s.io", "v1beta1", "Lease", "leases", True, "1.19", "1.22", "coordination.k8s.io/v1", "1.14"),
    ("extensions", "v1beta1", "Ingress", "ingresses", True, "1.14", "1.22", "networking.k8s.io/v1", "1.19"),
    ("networking.k8s.io", "v1beta1", "Ingress", "ingresses", True, "1.19", "1.22", "networking.k8s.io/v1", "1.19"),
    ("networking.k8s.io", "v1beta1", "IngressClass", "ingressclasses", False, "1.19", "1.22", "networking.k8s.io/v1", "1.19"),
    ("rbac.authorization.k8s.io", "v1beta1", "ClusterRole", "clusterroles", False, "1.17", "1.22", "rbac.authorization.k8s.io/v1", "1.8"),
    ("rbac.authorization.k8s.io", "v1beta1", "ClusterRoleBinding", "clusterrolebindings", False,
     "1.17", "1.22", "rbac.authorization.k8s.io/v1", "1.8"),
    ("rbac.authorization.k8s.io", "v1beta1", "Role", "roles", True, "1.17", "1.22", "rbac.authorization.k8s.io/v1", "1.8"),
    ("rbac.authorization.k8s.io", "v1beta1", "RoleBinding", "rolebindings", True, "1.17", "1.22", "rbac.authorization.k8s.io/v1", "1.8"),
    ("scheduling.k8s.io", "v1beta1", "PriorityClass", "priorityclasses", False, "1.14", "1.22", "scheduling.k8s.io/v1", "1.14"),
    ("storage.k8s.io", "v1beta1", "CSIDriver", "csidrivers", False, "1.19", "1.22", "storage.k8s.io/v1", "1.18"),
    ("storage.k8s.io", "v1beta1", "CSINode", "csinodes", False, "1.17", "1.22", "storage.k8s.io/v1", "1.17"),
    ("storage.k8s.io", "v1beta1", "StorageClass", "storageclasses", False, "1.19", "1.22", "storage.k8s.io/v1", "1.6"),
    ("storage.k8s.io", "v1beta1", "VolumeAttachment", "volumeattachments", False, "1.19", "1.22", "storage.k8s.io/v1", "1.13"),
    # --- removed in 1.25
    ("batch", "v1beta1", "CronJob", "cronjobs", True, "1.21", "1.25", "batch/v1", "1.21"),
    ("discovery.k8s.io", "v1beta1", "EndpointSlice", "endpointslices", True, "1.21", "1.25", "discovery.k8s.io/v1", "1.21"),
    ("events.k8s.io", "v1beta1", "Event", "events", True, "1.22", "1.25", "events.k8s.io/v1", "1.19"),
    ("autoscaling", "v2beta1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, "1.22", "1.25", "autoscaling/v2", "1.23"),
    ("policy", "v1beta1", "PodDisruptionBudget", "poddisruptionbudgets", True, "1.21", "1.25", "policy/v1", "1.21"),
    # Replaced by Pod Security Admission (a built-in admission plugin), not by another API.
    ("policy", "v1beta1", "PodSecurityPolicy", "podsecuritypolicies", False, "1.21", "1.25", None, None),
    ("node.k8s.io", "v1beta1", "RuntimeClass", "runtimeclasses", False, "1.22", "1.25", "node.k8s.io/v1", "1.20"),
    # --- removed in 1.26
    ("flowcontrol.apiserver.k8s.io", "v1beta1", "FlowSchema", "flowschemas", False,
     "1.23", "1.26", "flowcontrol.apiserver.k8s.io/v1beta2", "1.23"),
    ("flowcontrol.apiserver.k8s.io", "v1beta1", "PriorityLevelConfiguration", "prioritylevelconfigurations", False,
     "1.23", "1.26", "flowcontrol.apiserver.k8s.io/v1beta2", "1.23"),
    ("autoscaling", "v2beta2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, "1.23", "1.26", "autoscaling/v2", "1.23"),
    # --- removed in 1.27
    ("storage.k8s.io", "v1beta1", "CSIStorageCapacity", "csistoragecapacities", True, "1.24", "1.27", "storage.k8s.io/v1", "1.24"),
    # --- removed in 1.29
    ("flowcontrol.apiserver.k8s.io", "v1beta2", "FlowSchema", "flowschemas", False,
     "1.26", "1.29", "flowcontrol.apiserver.k8s.io/v1", "1.29"),
    ("flowcontrol.apiserver.k8s.io", "v1beta2", "PriorityLevelConfiguration", "prioritylevelconfigurations", False,
     "1.26", "1.29", "flowcontrol.apiserver.k8s.io/v1", "1.29"),
    # --- removed in 1.32
    ("flowcontrol.apiserver.k8s.io", "v1beta3", "FlowSchema", "flowschemas", False,
     "1.29", "1.32", "flowcontrol.apiserver.k8s.io/v1", "1.29"),
    ("flowcontrol.apiserver.k8s.io", "v1beta3", "PriorityLevelConfiguration", "prioritylevelconfigurations", False,
     "1.29", "1.32", "flowcontrol.apiserver.k8s.io/v1", "1.29"),
    # --- removed in 1.33
    ("authentication.k8s.io", "v1beta1", "SelfSubjectReview", "selfsubjectreviews", False,
     "1.30", "1.33", "authentication.k8s.io/v1", "1.28"),
    # --- removed in 1.34
    ("admissionregistration.k8s.io", "v1beta1", "ValidatingAdmissionPolicy", "validatingadmissionpolicies", False,
     "1.31", "1.34", "admissionregistration.k8s.io/v1", "1.30"),
    ("admissionregistration.k8s.io", "v1beta1", "ValidatingAdmissionPolicyBinding", "validatingadmissionpolicybindings", False,
     "1.31", "1.34", "admissionregistration.k8s.io/v1", "1.30"),
    # --- removed in 1.37
    ("networking.k8s.io", "v1beta1", "IPAddress", "ipaddresses", False, "1.34", "1.37", "networking.k8s.io/v1", "1.33"),
    ("networking.k8s.io", "v1beta1", "ServiceCIDR", "servicecidrs", False, "1.34", "1.37", "networking.k8s.io/v1", "1.33"),
    ("storage.k8s.io", "v1beta1", "VolumeAttributesClass", "volumeattributesclasses", False,
     "1.34", "1.37", "storage.k8s.io/v1", "1.34"),
    # --- deprecated, still served in 1.37
    ("resource.k8s.io", "v1beta1", "DeviceClass", "deviceclasses", False, "1.35", None, "resource.k8s.io/v1", "1.34"),
    ("resource.k8s.io", "v1beta1", "ResourceClaim", "resourceclaims", True, "1.35", None, "resource.k8s.io/v1", "1.34"),
    ("resource.k8s.io", "v1beta1", "ResourceClaimTemplate", "resourceclaimtemplates", True, "1.35", None, "resource.k8s.io/v1", "1.34"),
    ("resource.k8s.io", "v1beta1", "ResourceSlice", "resourceslices", False, "1.35", None, "resource.k8s.io/v1", "1.34"),
    ("resource.k8s.io", "v1beta2", "DeviceClass", "deviceclasses", False, "1.36", None, "resource.k8s.io/v1", "1.34"),
    ("resource.k8s.io", "v1beta2", "ResourceClaim", "resourceclaims", True, "1.36", None, "resource.k8s.io/v1", "1.34"),
    ("resource.k8s.io", "v1beta2", "ResourceClaimTemplate", "resourceclaimtemplates", True, "1.36", None, "resource.k8s.io/v1", "1.34"),
    ("resource.k8s.io", "v1beta2", "ResourceSlice", "resourceslices", False, "1.36", None, "resource.k8s.io/v1", "1.34"),
    ("coordination.k8s.io", "v1beta1", "LeaseCandidate", "leasecandidates", True, "1.36", None, None, None),
    ("admissionregistration.k8s.io", "v1beta1", "MutatingAdmissionPolicy", "mutatingadmissionpolicies", False,
     "1.37", None, "admissionregistration.k8s.io/v1", "1.36"),
    ("admissionregistration.k8s.io", "v1beta1", "MutatingAdmissionPolicyBinding", "mutatingadmissionpolicybindings", False,
     "1.37", None, "admissionregistration.k8s.io/v1", "1.36"),
    ("certificates.k8s.io", "v1beta1", "ClusterTrustBundle", "clustertrustbundles", False, "1.37", None, "certificates.k8s.io/v1", "1.37"),
    ("certificates.k8s.io", "v1beta1", "PodCertificateRequest", "podcertificaterequests", True,
     "1.37", None, "certificates.k8s.io/v1", "1.37"),
    ("storagemigration.k8s.io", "v1beta1", "StorageVersionMigration", "storageversionmigrations", False,
     "1.37", None, "storagemigration.k8s.io/v1", "1.37"),
)

DEPRECATED_APIS = tuple(dict(zip(FIELDS, row)) for row in _ROWS)

# The StorageVersionMigration API (storagemigration.k8s.io), newest first: version -> first minor.
# v1alpha1's spec.resource carries group, version and resource; v1beta1 and v1 only group and resource.
STORAGE_MIGRATION_VERSIONS = (("v1", "1.37"), ("v1beta1", "1.35"), ("v1alpha1", "1.30"))
