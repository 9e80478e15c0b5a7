"""Which group/versions and resources each Kubernetes release 1.10..1.37 serves (the lab's own facts).

Sources:
- 1.25 onwards: the upstream OpenAPI schemas shipped by kubernetes-validate (apis_schema.py, generated
  by gen_apis_schema.py), minus alpha versions and the beta versions upstream leaves off by default
  (DEFAULT_OFF below; since 1.24 new beta APIs are off by default, KEP-3136).
- 1.10..1.24: OLD_SERVED below, written from the upstream deprecation guide
  (kubernetes.io/docs/reference/using-api/deprecation-guide/) and the release notes of each version.

Never import the collection's release tables here: the lab checks the collection, not the other way.
Stdlib only (runs inside the lab hosts).
"""

import re

from lab.facts.apis_schema import SCHEMA_KINDS

FIRST_MINOR = 10
LAST_MINOR = max(SCHEMA_KINDS)

CRUD = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']
CREATE_ONLY = ['create']

# kind -> (plural, namespaced, shortNames, categories); the same for every group that serves the kind.
KINDS = {
    'APIService': ('apiservices', False, [], ['api-extensions']),
    'Binding': ('bindings', True, [], []),
    'CertificateSigningRequest': ('certificatesigningrequests', False, ['csr'], []),
    'ClusterCIDR': ('clustercidrs', False, [], []),
    'ClusterRole': ('clusterroles', False, [], []),
    'ClusterRoleBinding': ('clusterrolebindings', False, [], []),
    'ClusterTrustBundle': ('clustertrustbundles', False, [], []),
    'ComponentStatus': ('componentstatuses', False, ['cs'], []),
    'ConfigMap': ('configmaps', True, ['cm'], []),
    'ControllerRevision': ('controllerrevisions', True, [], []),
    'CronJob': ('cronjobs', True, ['cj'], ['all']),
    'CSIDriver': ('csidrivers', False, [], []),
    'CSINode': ('csinodes', False, [], []),
    'CSIStorageCapacity': ('csistoragecapacities', True, [], []),
    'CustomResourceDefinition': ('customresourcedefinitions', False, ['crd', 'crds'], ['api-extensions']),
    'DaemonSet': ('daemonsets', True, ['ds'], ['all']),
    'Deployment': ('deployments', True, ['deploy'], ['all']),
    'DeviceClass': ('deviceclasses', False, [], []),
    'DeviceTaintRule': ('devicetaintrules', False, [], []),
    'Endpoints': ('endpoints', True, ['ep'], []),
    'EndpointSlice': ('endpointslices', True, [], []),
    'Event': ('events', True, ['ev'], []),
    'Eviction': ('evictions', True, [], []),
    'FlowSchema': ('flowschemas', False, [], []),
    'HorizontalPodAutoscaler': ('horizontalpodautoscalers', True, ['hpa'], ['all']),
    'Ingress': ('ingresses', True, ['ing'], []),
    'IngressClass': ('ingressclasses', False, [], []),
    'IPAddress': ('ipaddresses', False, ['ip'], []),
    'Job': ('jobs', True, [], ['all']),
    'Lease': ('leases', True, [], []),
    'LeaseCandidate': ('leasecandidates', True, [], []),
    'LimitRange': ('limitranges', True, ['limits'], []),
    'LocalSubjectAccessReview': ('localsubjectaccessreviews', True, [], []),
    'MutatingAdmissionPolicy': ('mutatingadmissionpolicies', False, [], ['api-extensions']),
    'MutatingAdmissionPolicyBinding': ('mutatingadmissionpolicybindings', False, [], ['api-extensions']),
    'MutatingWebhookConfiguration': ('mutatingwebhookconfigurations', False, [], ['api-extensions']),
    'Namespace': ('namespaces', False, ['ns'], []),
    'NetworkPolicy': ('networkpolicies', True, ['netpol'], []),
    'Node': ('nodes', False, ['no'], []),
    'PersistentVolume': ('persistentvolumes', False, ['pv'], []),
    'PersistentVolumeClaim': ('persistentvolumeclaims', True, ['pvc'], []),
    'Pod': ('pods', True, ['po'], ['all']),
    'PodDisruptionBudget': ('poddisruptionbudgets', True, ['pdb'], []),
    'PodSchedulingContext': ('podschedulingcontexts', True, [], []),
    'PodSecurityPolicy': ('podsecuritypolicies', False, ['psp'], []),
    'PodTemplate': ('podtemplates', True, [], []),
    'PriorityClass': ('priorityclasses', False, ['pc'], []),
    'PriorityLevelConfiguration': ('prioritylevelconfigurations', False, [], []),
    'ReplicaSet': ('replicasets', True, ['rs'], ['all']),
    'ReplicationController': ('replicationcontrollers', True, ['rc'], ['all']),
    'ResourceClaim': ('resourceclaims', True, [], []),
    'ResourceClaimTemplate': ('resourceclaimtemplates', True, [], []),
    'ResourceClass': ('resourceclasses', False, [], []),
    'ResourceQuota': ('resourcequotas', True, ['quota'], []),
    'ResourceSlice': ('resourceslices', False, [], []),
    'Role': ('roles', True, [], []),
    'RoleBinding': ('rolebindings', True, [], []),
    'RuntimeClass': ('runtimeclasses', False, [], []),
    'Scale': ('scales', True, [], []),
    'Secret': ('secrets', True, [], []),
    'SelfSubjectAccessReview': ('selfsubjectaccessreviews', False, [], []),
    'SelfSubjectReview': ('selfsubjectreviews', False, [], []),
    'SelfSubjectRulesReview': ('selfsubjectrulesreviews', False, [], []),
    'Service': ('services', True, ['svc'], ['all']),
    'ServiceAccount': ('serviceaccounts', True, ['sa'], []),
    'ServiceCIDR': ('servicecidrs', False, [], []),
    'StatefulSet': ('statefulsets', True, ['sts'], ['all']),
    'StorageClass': ('storageclasses', False, ['sc'], []),
    'StorageVersion': ('storageversions', False, [], []),
    'StorageVersionMigration': ('storageversionmigrations', False, [], []),
    'SubjectAccessReview': ('subjectaccessreviews', False, [], []),
    'TokenRequest': ('tokenrequests', True, [], []),
    'TokenReview': ('tokenreviews', False, [], []),
    'ValidatingAdmissionPolicy': ('validatingadmissionpolicies', False, [], ['api-extensions']),
    'ValidatingAdmissionPolicyBinding': ('validatingadmissionpolicybindings', False, [], ['api-extensions']),
    'ValidatingWebhookConfiguration': ('validatingwebhookconfigurations', False, [], ['api-extensions']),
    'VolumeAttachment': ('volumeattachments', False, [], []),
    'VolumeAttributesClass': ('volumeattributesclasses', False, ['vac'], []),
}

# Kinds that are not stored: a POST that answers (reviews) or a subresource's body.
VIRTUAL = {'Binding', 'Eviction', 'LocalSubjectAccessReview', 'Scale', 'SelfSubjectAccessReview',
           'SelfSubjectReview', 'SelfSubjectRulesReview', 'SubjectAccessReview', 'TokenRequest', 'TokenReview'}
# Kinds served only as subresources (pods/eviction, serviceaccounts/token, deployments/scale, pods/binding).
SUBRESOURCE_ONLY = {'Eviction', 'Scale', 'TokenRequest'}
READ_ONLY = {'ComponentStatus': ['get', 'list']}

# Subresources: plural -> [(name, kind or None for the parent kind, verbs)].
STATUS_VERBS = ['get', 'patch', 'update']
SUBRESOURCES = {
    'pods': [('status', None, STATUS_VERBS), ('eviction', 'Eviction', CREATE_ONLY),
             ('binding', 'Binding', CREATE_ONLY), ('log', 'Pod', ['get'])],
    'nodes': [('status', None, STATUS_VERBS)],
    'namespaces': [('status', None, STATUS_VERBS), ('finalize', None, ['update'])],
    'services': [('status', None, STATUS_VERBS)],
    'persistentvolumes': [('status', None, STATUS_VERBS)],
    'persistentvolumeclaims': [('status', None, STATUS_VERBS)],
    'replicationcontrollers': [('status', None, STATUS_VERBS), ('scale', 'Scale', STATUS_VERBS)],
    'resourcequotas': [('status', None, STATUS_VERBS)],
    'serviceaccounts': [('token', 'TokenRequest', CREATE_ONLY)],
    'deployments': [('status', None, STATUS_VERBS), ('scale', 'Scale', STATUS_VERBS)],
    'replicasets': [('status', None, STATUS_VERBS), ('scale', 'Scale', STATUS_VERBS)],
    'statefulsets': [('status', None, STATUS_VERBS), ('scale', 'Scale', STATUS_VERBS)],
    'daemonsets': [('status', None, STATUS_VERBS)],
    'jobs': [('status', None, STATUS_VERBS)],
    'cronjobs': [('status', None, STATUS_VERBS)],
    'horizontalpodautoscalers': [('status', None, STATUS_VERBS)],
    'poddisruptionbudgets': [('status', None, STATUS_VERBS)],
    'ingresses': [('status', None, STATUS_VERBS)],
    'customresourcedefinitions': [('status', None, STATUS_VERBS)],
    'apiservices': [('status', None, STATUS_VERBS)],
    'certificatesigningrequests': [('status', None, STATUS_VERBS), ('approval', None, STATUS_VERBS)],
    'flowschemas': [('status', None, STATUS_VERBS)],
    'prioritylevelconfigurations': [('status', None, STATUS_VERBS)],
    'volumeattachments': [('status', None, STATUS_VERBS)],
    'storageversionmigrations': [('status', None, STATUS_VERBS)],
}

# Resources that live in one etcd prefix whatever group serves them (upstream keeps one storage per
# resource: a Deployment written as extensions/v1beta1 is the same object read as apps/v1).
# Key prefix under /registry/: the plural, group-qualified for these groups (as upstream does).
GROUP_QUALIFIED_STORAGE = {'apiextensions.k8s.io', 'apiregistration.k8s.io'}

# 1.10..1.24: (group/version, kinds, first minor served, first minor NOT served) written from the
# deprecation guide; alpha versions are off by default and left out.
_CORE_V1 = ['Binding', 'ComponentStatus', 'ConfigMap', 'Endpoints', 'Event', 'LimitRange', 'Namespace', 'Node',
            'PersistentVolume', 'PersistentVolumeClaim', 'Pod', 'PodTemplate', 'ReplicationController',
            'ResourceQuota', 'Secret', 'Service', 'ServiceAccount']
OLD_SERVED = [
    ('v1', _CORE_V1, 10, 25),
    ('admissionregistration.k8s.io/v1beta1', ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'], 10, 22),
    ('admissionregistration.k8s.io/v1', ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'], 16, 25),
    ('apiextensions.k8s.io/v1beta1', ['CustomResourceDefinition'], 10, 22),
    ('apiextensions.k8s.io/v1', ['CustomResourceDefinition'], 16, 25),
    ('apiregistration.k8s.io/v1beta1', ['APIService'], 10, 22),
    ('apiregistration.k8s.io/v1', ['APIService'], 10, 25),
    ('apps/v1', ['ControllerRevision', 'DaemonSet', 'Deployment', 'ReplicaSet', 'StatefulSet'], 10, 25),
    # apps/v1beta1 never had ReplicaSet or DaemonSet in code, whatever the guide's summary says.
    ('apps/v1beta1', ['ControllerRevision', 'Deployment', 'StatefulSet'], 10, 16),
    ('apps/v1beta2', ['ControllerRevision', 'DaemonSet', 'Deployment', 'ReplicaSet', 'StatefulSet'], 10, 16),
    ('extensions/v1beta1', ['DaemonSet', 'Deployment', 'Ingress', 'NetworkPolicy', 'PodSecurityPolicy',
                            'ReplicaSet'], 10, 16),
    ('extensions/v1beta1', ['Ingress'], 16, 22),
    ('authentication.k8s.io/v1', ['TokenReview'], 10, 25),
    ('authentication.k8s.io/v1beta1', ['TokenReview'], 10, 22),
    ('authorization.k8s.io/v1', ['LocalSubjectAccessReview', 'SelfSubjectAccessReview', 'SelfSubjectRulesReview',
                                 'SubjectAccessReview'], 10, 25),
    ('authorization.k8s.io/v1beta1', ['LocalSubjectAccessReview', 'SelfSubjectAccessReview',
                                      'SelfSubjectRulesReview', 'SubjectAccessReview'], 10, 22),
    ('autoscaling/v1', ['HorizontalPodAutoscaler'], 10, 25),
    ('autoscaling/v2beta1', ['HorizontalPodAutoscaler'], 10, 25),
    ('autoscaling/v2beta2', ['HorizontalPodAutoscaler'], 12, 25),
    ('autoscaling/v2', ['HorizontalPodAutoscaler'], 23, 25),
    ('batch/v1', ['Job'], 10, 21),
    ('batch/v1', ['CronJob', 'Job'], 21, 25),
    ('batch/v1beta1', ['CronJob'], 10, 25),
    ('certificates.k8s.io/v1beta1', ['CertificateSigningRequest'], 10, 22),
    ('certificates.k8s.io/v1', ['CertificateSigningRequest'], 19, 25),
    ('coordination.k8s.io/v1beta1', ['Lease'], 12, 22),
    ('coordination.k8s.io/v1', ['Lease'], 14, 25),
    ('discovery.k8s.io/v1beta1', ['EndpointSlice'], 17, 25),
    ('discovery.k8s.io/v1', ['EndpointSlice'], 21, 25),
    ('events.k8s.io/v1beta1', ['Event'], 10, 25),
    ('events.k8s.io/v1', ['Event'], 19, 25),
    ('flowcontrol.apiserver.k8s.io/v1beta1', ['FlowSchema', 'PriorityLevelConfiguration'], 20, 25),
    ('flowcontrol.apiserver.k8s.io/v1beta2', ['FlowSchema', 'PriorityLevelConfiguration'], 23, 25),
    ('networking.k8s.io/v1', ['NetworkPolicy'], 10, 19),
    ('networking.k8s.io/v1', ['Ingress', 'IngressClass', 'NetworkPolicy'], 19, 25),
    ('networking.k8s.io/v1beta1', ['Ingress'], 14, 18),
    ('networking.k8s.io/v1beta1', ['Ingress', 'IngressClass'], 18, 22),
    ('node.k8s.io/v1beta1', ['RuntimeClass'], 14, 25),
    ('node.k8s.io/v1', ['RuntimeClass'], 20, 25),
    ('policy/v1beta1', ['PodDisruptionBudget', 'PodSecurityPolicy'], 10, 25),
    ('policy/v1', ['PodDisruptionBudget'], 21, 25),
    ('rbac.authorization.k8s.io/v1', ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'], 10, 25),
    ('rbac.authorization.k8s.io/v1beta1', ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'], 10, 22),
    ('scheduling.k8s.io/v1beta1', ['PriorityClass'], 11, 22),
    ('scheduling.k8s.io/v1', ['PriorityClass'], 14, 25),
    ('storage.k8s.io/v1', ['StorageClass'], 10, 13),
    ('storage.k8s.io/v1', ['StorageClass', 'VolumeAttachment'], 13, 17),
    ('storage.k8s.io/v1', ['CSINode', 'StorageClass', 'VolumeAttachment'], 17, 18),
    ('storage.k8s.io/v1', ['CSIDriver', 'CSINode', 'StorageClass', 'VolumeAttachment'], 18, 24),
    ('storage.k8s.io/v1', ['CSIDriver', 'CSINode', 'CSIStorageCapacity', 'StorageClass', 'VolumeAttachment'], 24, 25),
    ('storage.k8s.io/v1beta1', ['StorageClass', 'VolumeAttachment'], 10, 14),
    ('storage.k8s.io/v1beta1', ['CSIDriver', 'CSINode', 'StorageClass', 'VolumeAttachment'], 14, 21),
    ('storage.k8s.io/v1beta1', ['CSIDriver', 'CSINode', 'CSIStorageCapacity', 'StorageClass',
                                'VolumeAttachment'], 21, 22),
    ('storage.k8s.io/v1beta1', ['CSIStorageCapacity'], 22, 25),
]

# Beta versions present in the 1.25+ schemas that upstream does not serve unless enabled.
# (group/version, kind or None for every kind, first minor, first minor where it is served by default or None)
DEFAULT_OFF = [
    ('admissionregistration.k8s.io/v1beta1', None, 28, None),
    ('authentication.k8s.io/v1beta1', 'SelfSubjectReview', 27, 28),  # on by default 1.28 (beta 1.27 was off)
    ('certificates.k8s.io/v1beta1', None, 33, None),
    ('coordination.k8s.io/v1beta1', None, 33, None),
    ('networking.k8s.io/v1beta1', None, 31, None),
    ('resource.k8s.io/v1beta1', None, 32, None),
    ('resource.k8s.io/v1beta2', None, 33, None),
    ('storage.k8s.io/v1beta1', 'VolumeAttributesClass', 31, None),
]

# Served by the lab on 1.30+ when asked (--runtime-config/feature gate upstream): optional extra.
OPTIONAL_ALPHA = {('storagemigration.k8s.io/v1alpha1', 'StorageVersionMigration'): 30}


# Eviction's group/version in pods/eviction discovery.
def eviction_version(minor):
    return 'policy/v1' if minor >= 22 else 'policy/v1beta1'


def _is_alpha(gv):
    return 'alpha' in gv.rsplit('/', 1)[-1]


def _default_off(gv, kind, minor):
    for g, k, first, on_from in DEFAULT_OFF:
        if g == gv and (k is None or k == kind) and minor >= first and (on_from is None or minor < on_from):
            return True
    return False


def served(minor, extras=()):
    """{group/version: sorted kinds} served by default by release 1.<minor>.

    extras: iterable of (group/version, kind) to add where the release has them in code (e.g. the
    StorageVersionMigration alpha API on 1.30+).
    """
    minor = int(minor)
    if minor < FIRST_MINOR or minor > LAST_MINOR:
        raise ValueError('the lab knows releases 1.%d to 1.%d, not 1.%d' % (FIRST_MINOR, LAST_MINOR, minor))
    out = {}
    if minor < 25:
        for gv, kinds, first, until in OLD_SERVED:
            if first <= minor < until:
                out.setdefault(gv, set()).update(kinds)
    else:
        for gv, kinds in SCHEMA_KINDS[minor].items():
            if _is_alpha(gv):
                continue
            keep = [k for k in kinds if not _default_off(gv, k, minor)]
            if keep:
                out.setdefault(gv, set()).update(keep)
    for gv, kind in extras:
        if minor >= OPTIONAL_ALPHA.get((gv, kind), 99) or kind in SCHEMA_KINDS.get(minor, {}).get(gv, ()):
            out.setdefault(gv, set()).add(kind)
    return {gv: sorted(k) for gv, k in sorted(out.items())}


def split_gv(gv):
    return ('', gv) if '/' not in gv else tuple(gv.split('/', 1))


def resources(minor, extras=()):
    """Discovery rows: {group/version: [APIResource dicts]} as that release's apiserver lists them."""
    minor = int(minor)
    srv = served(minor, extras)
    out = {}
    for gv, kinds in srv.items():
        group, version = split_gv(gv)
        rows = []
        for kind in kinds:
            if kind in SUBRESOURCE_ONLY or kind not in KINDS:
                continue
            plural, namespaced, short, cats = KINDS[kind]
            verbs = CREATE_ONLY if kind in VIRTUAL else READ_ONLY.get(kind, CRUD)
            row = {'name': plural, 'singularName': kind.lower() if minor >= 27 else '', 'namespaced': namespaced,
                   'kind': kind, 'verbs': list(verbs)}
            if short:
                row['shortNames'] = list(short)
            if cats:
                row['categories'] = list(cats)
            rows.append(row)
            for sub, subkind, subverbs in SUBRESOURCES.get(plural, []):
                srow = {'name': '%s/%s' % (plural, sub), 'singularName': '', 'namespaced': namespaced,
                        'kind': subkind or kind, 'verbs': list(subverbs)}
                if subkind == 'Eviction':
                    egroup, eversion = split_gv(eviction_version(minor))
                    srow.update(group=egroup, version=eversion)
                elif subkind == 'Scale':
                    sg, sv = ('autoscaling', 'v1') if gv in ('v1', 'apps/v1') else (group, version)
                    srow.update(group=sg, version=sv)
                rows.append(srow)
        rows.sort(key=lambda r: r['name'])
        out[gv] = rows
    return out


def preferred_versions(minor, extras=()):
    """{group: preferred group/version}: the newest stable, else the newest beta, as upstream orders them."""
    groups = {}
    for gv in served(minor, extras):
        group, version = split_gv(gv)
        groups.setdefault(group, []).append(version)
    return {g: '%s/%s' % (g, sorted(vs, key=version_priority)[0]) if g else 'v1' for g, vs in groups.items()}


def version_priority(version):
    """Sort key in upstream's Kube-aware order: v2 > v1 > v2beta1 > v1beta2 > v1beta1 > v1alpha1."""
    m = re.match(r'^v(\d+)(?:(alpha|beta)(\d+))?$', version)
    if not m:
        return (3, 0, 0, version)
    major, level, sub = int(m.group(1)), m.group(2), int(m.group(3) or 0)
    rank = {None: 0, 'beta': 1, 'alpha': 2}[level]
    return (rank, -major, -sub, version)


def group_versions(minor, extras=()):
    """{group: [versions, preferred first]} for /apis (the core group '' is /api)."""
    groups = {}
    for gv in served(minor, extras):
        group, version = split_gv(gv)
        groups.setdefault(group, []).append(version)
    return {g: sorted(vs, key=version_priority) for g, vs in groups.items()}


# Upstream's order of groups in /apis (roughly the order the aggregator registers them).
GROUP_ORDER = ['', 'apiregistration.k8s.io', 'apps', 'events.k8s.io', 'authentication.k8s.io', 'authorization.k8s.io',
               'autoscaling', 'batch', 'certificates.k8s.io', 'networking.k8s.io', 'extensions', 'policy',
               'rbac.authorization.k8s.io', 'storage.k8s.io', 'admissionregistration.k8s.io', 'apiextensions.k8s.io',
               'scheduling.k8s.io', 'coordination.k8s.io', 'node.k8s.io', 'discovery.k8s.io',
               'flowcontrol.apiserver.k8s.io', 'resource.k8s.io', 'storagemigration.k8s.io']


def ordered_groups(minor, extras=()):
    gvs = group_versions(minor, extras)
    known = [g for g in GROUP_ORDER if g in gvs]
    return known + sorted(g for g in gvs if g not in GROUP_ORDER)


# Deprecation warnings the apiserver sends (Warning: 299 header, 1.19+) for a request to a deprecated
# version: (group/version, kinds, deprecated in minor, removed in minor or None, replacement group/version).
# From upstream's prerelease-lifecycle markers, as the deprecation guide lists them.
_CORE22 = ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']
DEPRECATIONS = [
    ('v1', ['ComponentStatus'], 19, None, None),
    ('extensions/v1beta1', ['Ingress'], 14, 22, 'networking.k8s.io/v1'),
    ('networking.k8s.io/v1beta1', ['Ingress', 'IngressClass'], 19, 22, 'networking.k8s.io/v1'),
    ('admissionregistration.k8s.io/v1beta1', _CORE22, 16, 22, 'admissionregistration.k8s.io/v1'),
    ('apiextensions.k8s.io/v1beta1', ['CustomResourceDefinition'], 16, 22, 'apiextensions.k8s.io/v1'),
    ('apiregistration.k8s.io/v1beta1', ['APIService'], 19, 22, 'apiregistration.k8s.io/v1'),
    ('authentication.k8s.io/v1beta1', ['TokenReview'], 19, 22, 'authentication.k8s.io/v1'),
    ('authorization.k8s.io/v1beta1', ['LocalSubjectAccessReview', 'SelfSubjectAccessReview',
                                      'SelfSubjectRulesReview', 'SubjectAccessReview'], 19, 22,
     'authorization.k8s.io/v1'),
    ('certificates.k8s.io/v1beta1', ['CertificateSigningRequest'], 19, 22, 'certificates.k8s.io/v1'),
    ('coordination.k8s.io/v1beta1', ['Lease'], 19, 22, 'coordination.k8s.io/v1'),
    ('rbac.authorization.k8s.io/v1beta1', ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'], 17, 22,
     'rbac.authorization.k8s.io/v1'),
    ('scheduling.k8s.io/v1beta1', ['PriorityClass'], 14, 22, 'scheduling.k8s.io/v1'),
    ('storage.k8s.io/v1beta1', ['CSIDriver', 'CSINode', 'StorageClass', 'VolumeAttachment'], 19, 22,
     'storage.k8s.io/v1'),
    ('batch/v1beta1', ['CronJob'], 21, 25, 'batch/v1'),
    ('discovery.k8s.io/v1beta1', ['EndpointSlice'], 21, 25, 'discovery.k8s.io/v1'),
    ('events.k8s.io/v1beta1', ['Event'], 22, 25, 'events.k8s.io/v1'),
    ('autoscaling/v2beta1', ['HorizontalPodAutoscaler'], 22, 25, 'autoscaling/v2'),
    ('policy/v1beta1', ['PodDisruptionBudget'], 21, 25, 'policy/v1'),
    ('policy/v1beta1', ['PodSecurityPolicy'], 21, 25, None),
    ('node.k8s.io/v1beta1', ['RuntimeClass'], 22, 25, 'node.k8s.io/v1'),
    ('autoscaling/v2beta2', ['HorizontalPodAutoscaler'], 23, 26, 'autoscaling/v2'),
    ('flowcontrol.apiserver.k8s.io/v1beta1', ['FlowSchema', 'PriorityLevelConfiguration'], 23, 26,
     'flowcontrol.apiserver.k8s.io/v1beta2'),
    ('storage.k8s.io/v1beta1', ['CSIStorageCapacity'], 24, 27, 'storage.k8s.io/v1'),
    ('flowcontrol.apiserver.k8s.io/v1beta2', ['FlowSchema', 'PriorityLevelConfiguration'], 26, 29,
     'flowcontrol.apiserver.k8s.io/v1beta3'),
    ('flowcontrol.apiserver.k8s.io/v1beta3', ['FlowSchema', 'PriorityLevelConfiguration'], 29, 32,
     'flowcontrol.apiserver.k8s.io/v1'),
]


def deprecation_warning(minor, gv, kind):
    """The text of the Warning header release 1.<minor> sends for gv/kind, or None (warnings began in 1.19)."""
    if int(minor) < 19:
        return None
    for dgv, kinds, deprecated, removed, replacement in DEPRECATIONS:
        if dgv == gv and kind in kinds and int(minor) >= deprecated:
            msg = '%s %s is deprecated in v1.%d+' % (gv, kind, deprecated)
            if removed:
                msg += ', unavailable in v1.%d+' % removed
            if replacement:
                msg += '; use %s %s' % (replacement, kind)
            return msg
    return None
