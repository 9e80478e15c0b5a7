"""The removed-API table: shape, FACTS.md 2 coverage, and a cross-check against the upstream
OpenAPI schemas that kubernetes-validate ships (1.25 and later)."""

import importlib.util
import json
import os
import re

import pytest

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.release_data.apis import DEPRECATED_APIS, FIELDS
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.release_data.releases import KNOWN_MINORS
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.versions import parse_version

# FACTS.md 2, row by row: (removed in, group/version, kinds, replacement apiVersion).
FACTS_REMOVALS = [
    ("1.16", "extensions/v1beta1", ["NetworkPolicy"], "networking.k8s.io/v1"),
    ("1.16", "extensions/v1beta1", ["DaemonSet"], "apps/v1"),
    ("1.16", "apps/v1beta2", ["DaemonSet"], "apps/v1"),
    ("1.16", "extensions/v1beta1", ["Deployment"], "apps/v1"),
    ("1.16", "apps/v1beta1", ["Deployment"], "apps/v1"),
    ("1.16", "apps/v1beta2", ["Deployment"], "apps/v1"),
    ("1.16", "apps/v1beta1", ["StatefulSet"], "apps/v1"),
    ("1.16", "apps/v1beta2", ["StatefulSet"], "apps/v1"),
    ("1.16", "extensions/v1beta1", ["ReplicaSet"], "apps/v1"),
    # FACTS also lists apps/v1beta1 ReplicaSet: k8s.io/api never had that type (see apis.py).
    ("1.16", "apps/v1beta2", ["ReplicaSet"], "apps/v1"),
    ("1.16", "extensions/v1beta1", ["PodSecurityPolicy"], "policy/v1beta1"),
    ("1.22", "admissionregistration.k8s.io/v1beta1", ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"],
     "admissionregistration.k8s.io/v1"),
    ("1.22", "apiextensions.k8s.io/v1beta1", ["CustomResourceDefinition"], "apiextensions.k8s.io/v1"),
    ("1.22", "apiregistration.k8s.io/v1beta1", ["APIService"], "apiregistration.k8s.io/v1"),
    ("1.22", "authentication.k8s.io/v1beta1", ["TokenReview"], "authentication.k8s.io/v1"),
    ("1.22", "authorization.k8s.io/v1beta1",
     ["LocalSubjectAccessReview", "SelfSubjectAccessReview", "SubjectAccessReview", "SelfSubjectRulesReview"],
     "authorization.k8s.io/v1"),
    ("1.22", "certificates.k8s.io/v1beta1", ["CertificateSigningRequest"], "certificates.k8s.io/v1"),
    ("1.22", "coordination.k8s.io/v1beta1", ["Lease"], "coordination.k8s.io/v1"),
    ("1.22", "extensions/v1beta1", ["Ingress"], "networking.k8s.io/v1"),
    ("1.22", "networking.k8s.io/v1beta1", ["Ingress", "IngressClass"], "networking.k8s.io/v1"),
    ("1.22", "rbac.authorization.k8s.io/v1beta1", ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"],
     "rbac.authorization.k8s.io/v1"),
    ("1.22", "scheduling.k8s.io/v1beta1", ["PriorityClass"], "scheduling.k8s.io/v1"),
    ("1.22", "storage.k8s.io/v1beta1", ["CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"], "storage.k8s.io/v1"),
    ("1.25", "batch/v1beta1", ["CronJob"], "batch/v1"),
    ("1.25", "discovery.k8s.io/v1beta1", ["EndpointSlice"], "discovery.k8s.io/v1"),
    ("1.25", "events.k8s.io/v1beta1", ["Event"], "events.k8s.io/v1"),
    ("1.25", "autoscaling/v2beta1", ["HorizontalPodAutoscaler"], "autoscaling/v2"),
    ("1.25", "policy/v1beta1", ["PodDisruptionBudget"], "policy/v1"),
    ("1.25", "policy/v1beta1", ["PodSecurityPolicy"], None),
    ("1.25", "node.k8s.io/v1beta1", ["RuntimeClass"], "node.k8s.io/v1"),
    ("1.26", "flowcontrol.apiserver.k8s.io/v1beta1", ["FlowSchema", "PriorityLevelConfiguration"],
     "flowcontrol.apiserver.k8s.io/v1beta2"),
    ("1.26", "autoscaling/v2beta2", ["HorizontalPodAutoscaler"], "autoscaling/v2"),
    ("1.27", "storage.k8s.io/v1beta1", ["CSIStorageCapacity"], "storage.k8s.io/v1"),
    ("1.29", "flowcontrol.apiserver.k8s.io/v1beta2", ["FlowSchema", "PriorityLevelConfiguration"], "flowcontrol.apiserver.k8s.io/v1"),
    ("1.32", "flowcontrol.apiserver.k8s.io/v1beta3", ["FlowSchema", "PriorityLevelConfiguration"], "flowcontrol.apiserver.k8s.io/v1"),
    ("1.33", "authentication.k8s.io/v1beta1", ["SelfSubjectReview"], "authentication.k8s.io/v1"),
    ("1.34", "admissionregistration.k8s.io/v1beta1", ["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"],
     "admissionregistration.k8s.io/v1"),
    ("1.37", "networking.k8s.io/v1beta1", ["IPAddress", "ServiceCIDR"], "networking.k8s.io/v1"),
    ("1.37", "storage.k8s.io/v1beta1", ["VolumeAttributesClass"], "storage.k8s.io/v1"),
]

BY_KEY = dict((("%s/%s" % (r["group"], r["version"]) if r["group"] else r["version"], r["kind"]), r) for r in DEPRECATED_APIS)


def _v(text):
    return parse_version(text)


def test_rows_have_every_field_and_are_unique():
    assert len(BY_KEY) == len(DEPRECATED_APIS)
    for row in DEPRECATED_APIS:
        assert set(row) == set(FIELDS), row
        assert row["version"].startswith("v") and row["kind"][0].isupper(), row
        assert row["resource"] == row["resource"].lower() and row["resource"].endswith("s"), row
        assert isinstance(row["namespaced"], bool), row


@pytest.mark.parametrize("row", DEPRECATED_APIS, ids=lambda r: "%s/%s/%s" % (r["group"], r["version"], r["kind"]))
def test_row_versions_are_consistent(row):
    deprecated = _v(row["deprecated_in"])
    if row["removed_in"] is not None:
        assert row["removed_in"] in KNOWN_MINORS  # every removal falls in a release the collection knows
        assert deprecated < _v(row["removed_in"])
    else:
        assert deprecated <= _v(KNOWN_MINORS[-1])
    if row["replacement"] is None:
        assert row["replacement_available_in"] is None
    else:
        assert _v(row["replacement_available_in"]) <= _v(row["removed_in"] or KNOWN_MINORS[-1])


@pytest.mark.parametrize("removed_in,api_version,kinds,replacement", FACTS_REMOVALS, ids=str)
def test_every_removal_of_facts_is_in_the_table(removed_in, api_version, kinds, replacement):
    for kind in kinds:
        row = BY_KEY[(api_version, kind)]
        assert row["removed_in"] == removed_in
        assert row["replacement"] == replacement


# ---------------------------------------------------------------- upstream schemas

def schema_dirs():
    """{minor: directory} of the non-strict schemas kubernetes-validate ships."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.origin:
        return {}
    base = os.path.join(os.path.dirname(spec.origin), "kubernetes-json-schema")
    found = {}
    for name in os.listdir(base) if os.path.isdir(base) else []:
        match = re.match(r"^v1\.(\d+)\.\d+(-local)?$", name)
        if match and os.path.exists(os.path.join(base, name, "_definitions.json")):
            found["1.%s" % match.group(1)] = os.path.join(base, name)
    return found


def schema_gvks(directory):
    with open(os.path.join(directory, "_definitions.json")) as handle:
        doc = json.load(handle)
    definitions = doc.get("$defs") or doc.get("definitions") or {}
    gvks = set()
    for definition in definitions.values():
        for gvk in definition.get("x-kubernetes-group-version-kind") or []:
            api_version = "%s/%s" % (gvk["group"], gvk["version"]) if gvk["group"] else gvk["version"]
            gvks.add((api_version, gvk["kind"]))
    return gvks


# Kinds every group/version carries in the schemas (watch and delete plumbing), not resources.
META_KINDS = ("DeleteOptions", "WatchEvent", "Status", "APIGroup", "APIGroupList", "APIResourceList", "APIVersions")

SCHEMAS = schema_dirs()
needs_schemas = pytest.mark.skipif(len(SCHEMAS) < 2, reason="kubernetes-validate schemas are not installed")


@pytest.fixture(scope="module")
def gvks():
    return dict((minor, schema_gvks(path)) for minor, path in SCHEMAS.items())


def _minor(text, delta=0):
    version = _v(text)
    return "%d.%d" % (version.major, version.minor + delta)


@needs_schemas
def test_schemas_cover_the_releases_they_should():
    # kubernetes-validate ships 1.25 onwards; the table reaches KNOWN_MINORS[-1].
    assert "1.25" in SCHEMAS and KNOWN_MINORS[-1] in SCHEMAS


@needs_schemas
@pytest.mark.parametrize("row", DEPRECATED_APIS, ids=lambda r: "%s/%s/%s" % (r["group"], r["version"], r["kind"]))
def test_row_agrees_with_upstream_schemas(row, gvks):
    key = (("%s/%s" % (row["group"], row["version"])) if row["group"] else row["version"], row["kind"])
    first_schema = min(SCHEMAS, key=_v)
    for minor, present in gvks.items():
        if row["removed_in"] and _v(minor) >= _v(row["removed_in"]):
            assert key not in present, "%s is in the %s schema but the table says removed in %s" % (key, minor, row["removed_in"])
    # Still there the release before its removal, and when deprecated (where schemas exist).
    # Caveat (FACTS 2): presence means "exists in code", not "served by default".
    for minor in (_minor(row["removed_in"], -1) if row["removed_in"] else KNOWN_MINORS[-1], row["deprecated_in"]):
        if minor in gvks:
            assert key in gvks[minor], "%s is missing from the %s schema" % (key, minor)
    if row["replacement"]:
        replacement = (row["replacement"], row["kind"])
        available = row["replacement_available_in"]
        if available in gvks:
            assert replacement in gvks[available], "%s is not in the %s schema" % (replacement, available)
            before = _minor(available, -1)
            if before in gvks:
                assert replacement not in gvks[before], "%s is already in the %s schema" % (replacement, before)
        elif _v(available) < _v(first_schema):
            assert replacement in gvks[first_schema] or BY_KEY.get(replacement, {}).get("removed_in"), replacement


@needs_schemas
def test_every_beta_removal_in_the_schemas_is_in_the_table(gvks):
    """Completeness: a beta group/version/kind that leaves the schemas between two releases has a row."""
    minors = sorted(gvks, key=_v)
    missing = []
    for before, after in zip(minors, minors[1:]):
        for api_version, kind in sorted(gvks[before] - gvks[after]):
            if not re.search(r"/v\d+beta\d+$", api_version) or kind.endswith("List") or kind in META_KINDS:
                continue
            row = BY_KEY.get((api_version, kind))
            if row is None or row["removed_in"] != after:
                missing.append((after, api_version, kind, row and row["removed_in"]))
    assert missing == []
