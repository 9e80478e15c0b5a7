import json

import pytest

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import api_references as refs
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.api_scan import (
    ApiTable,
    LAST_APPLIED,
    decode_helm_release,
)

TABLE = ApiTable("1.16.15")
OLD_WEB = {"apiVersion": "extensions/v1beta1", "kind": "Deployment", "metadata": {"name": "old-web", "namespace": "legacy"},
           "spec": {"replicas": 2, "rollbackTo": {"revision": 1},
                    "template": {"metadata": {"labels": {"app": "old-web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}


def test_workload_gains_the_selector_it_had_by_default():
    new = refs.convert(OLD_WEB, "apps/v1")
    assert new["apiVersion"] == "apps/v1"
    assert new["spec"]["selector"] == {"matchLabels": {"app": "old-web"}}
    assert "rollbackTo" not in new["spec"] and OLD_WEB["spec"]["rollbackTo"]  # the input is untouched


@pytest.mark.parametrize(
    "doc, replacement, message",
    [
        ({"apiVersion": "extensions/v1beta1", "kind": "Ingress"}, "networking.k8s.io/v1", "changes the schema"),
        ({"apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy"}, None, "has no replacement"),
        ({"apiVersion": "apps/v1beta2", "kind": "DaemonSet", "spec": {}}, "apps/v1", "neither spec.selector"),
    ],
)
def test_not_convertible(doc, replacement, message):
    with pytest.raises(refs.NotConvertible, match=message):
        refs.convert(doc, replacement)


def test_plan_object_moves_annotation_and_managed_fields():
    obj = {"metadata": {"name": "old-web", "namespace": "legacy",
                        "annotations": {LAST_APPLIED: json.dumps(OLD_WEB)},
                        "managedFields": [{"manager": "kubectl", "operation": "Update", "apiVersion": "extensions/v1beta1"},
                                          {"manager": "kcm", "operation": "Update", "apiVersion": "apps/v1"}]}}
    patch, changes, problems = refs.plan_object(obj, "Deployment", TABLE)
    assert problems == []
    applied = json.loads(patch["metadata"]["annotations"][LAST_APPLIED])
    assert applied["apiVersion"] == "apps/v1" and applied["spec"]["selector"]["matchLabels"] == {"app": "old-web"}
    assert [e["apiVersion"] for e in patch["metadata"]["managedFields"]] == ["apps/v1", "apps/v1"]
    assert len(changes) == 2


def test_plan_object_leaves_current_objects_alone():
    obj = {"metadata": {"name": "web", "annotations": {LAST_APPLIED: json.dumps(dict(OLD_WEB, apiVersion="apps/v1"))},
                        "managedFields": [{"manager": "kubectl", "apiVersion": "apps/v1"}]}}
    assert refs.plan_object(obj, "Deployment", TABLE) == (None, [], [])


def test_map_manifest_rewrites_only_removed_documents():
    manifest = ("---\n# Source: web/templates/deployment.yaml\napiVersion: extensions/v1beta1\nkind: Deployment\n"
                "metadata:\n  name: web\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
                "---\napiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: web\n")
    new, changes, problems = refs.map_manifest(manifest, TABLE)
    assert "apiVersion: apps/v1\nkind: Deployment" in new
    assert "apiVersion: v1\nkind: Service" in new and "apiVersion: extensions/v1beta1\nkind: Ingress" in new
    assert changes == ["extensions/v1beta1 Deployment -> apps/v1"]
    assert problems == []  # Ingress is deprecated, not removed, at 1.16
    assert new.count("---") == manifest.count("---")


@pytest.mark.parametrize("record_kind", ["Secret", "ConfigMap"])
def test_helm_record_round_trip(record_kind):
    release = {"name": "web", "version": 3, "manifest": "apiVersion: apps/v1\nkind: Deployment\n"}
    assert decode_helm_release(refs.encode_helm_release(release, record_kind)) == release
