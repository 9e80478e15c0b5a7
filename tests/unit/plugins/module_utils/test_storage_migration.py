"""storage_migration logic: what to migrate, no-op rewrites with conflicts, StorageVersionMigration, CRDs."""

import pytest

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import api_scan
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import storage_migration as sm
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.k8s_api import KubeApiError
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.versions import parse_version


class FakeApi:
    """An in-memory stand-in recording every request (unit tests of pure logic only)."""

    def __init__(self, groups, resources, objects=None, conflicts=0):
        self.groups, self.resources, self.objects = groups, resources, objects or {}
        self.conflicts = conflicts
        self.calls = []

    def get(self, path, query=None):
        self.calls.append(("GET", path))
        if path == "/apis":
            return {"groups": [{"name": g, "versions": [{"version": v} for v in vs],
                                "preferredVersion": {"groupVersion": "%s/%s" % (g, vs[0])}} for g, vs in self.groups.items()]}
        if path == "/version":
            return {"gitVersion": "v1.15.12"}
        for items in self.objects.values():
            for obj in items:
                if path.endswith("/" + obj["metadata"]["name"]):
                    return obj
        raise KubeApiError("GET %s: not found" % path, 404)

    def get_or_none(self, path, query=None):
        api_version = path[len("/apis/"):] if path.startswith("/apis/") else path[len("/api/"):]
        if api_version not in self.resources:
            return None
        return {"resources": [{"name": r, "kind": r.title(), "verbs": ["get", "list", "update"]} for r in self.resources[api_version]]}

    def list_pages(self, path, limit=500, query=None):
        items = self.objects.get(path, [])
        for start in range(0, max(len(items), 1), limit):
            self.calls.append(("LIST", path, limit))
            yield {"items": items[start:start + limit]}

    def request(self, method, path, query=None, body=None):
        self.calls.append((method, path))
        if method == "PUT" and self.conflicts:
            self.conflicts -= 1
            raise KubeApiError("PUT %s: conflict" % path, 409)
        return body


GROUPS = {"apps": ["v1", "v1beta2", "v1beta1"], "extensions": ["v1beta1"], "batch": ["v1", "v1beta1"],
          "networking.k8s.io": ["v1", "v1beta1"], "policy": ["v1beta1"]}
RESOURCES = {"apps/v1": ["deployments", "daemonsets", "statefulsets", "replicasets"],
             "extensions/v1beta1": ["deployments", "ingresses", "podsecuritypolicies", "networkpolicies"],
             "networking.k8s.io/v1": ["networkpolicies"], "networking.k8s.io/v1beta1": ["ingresses"],
             "policy/v1beta1": ["podsecuritypolicies"], "batch/v1beta1": ["cronjobs"]}


def deployment(name):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "shop", "resourceVersion": "1"}}


@pytest.mark.parametrize("current,target,expected", [
    ("1.15.12", "1.16", [("apps", "daemonsets", "apps/v1"), ("apps", "deployments", "apps/v1"),
                         ("apps", "replicasets", "apps/v1"), ("apps", "statefulsets", "apps/v1"),
                         ("networking.k8s.io", "networkpolicies", "networking.k8s.io/v1"),
                         ("policy", "podsecuritypolicies", "policy/v1beta1")]),
    ("1.16.0", "1.17", []),
    ("1.21.3", "1.22", [("networking.k8s.io", "ingresses", "networking.k8s.io/v1beta1")]),
    ("1.24.0", "1.25", [("batch", "cronjobs", "batch/v1beta1"), ("policy", "podsecuritypolicies", "policy/v1beta1")]),
])
def test_plan_from_the_release_table(current, target, expected):
    api = FakeApi(GROUPS, RESOURCES)
    planned = sm.plan(api, api_scan.ApiTable(target), parse_version(current))
    assert sorted((p["group"], p["resource"], p["api_version"]) for p in planned) == expected


def test_plan_named_resources_and_errors():
    api = FakeApi(GROUPS, RESOURCES)
    planned = sm.plan(api, api_scan.ApiTable("1.16"), parse_version("1.15"), ["deployments.apps"])
    assert [(p["group"], p["resource"], p["api_version"], p["reason"]) for p in planned] == [("apps", "deployments", "apps/v1", "requested")]
    with pytest.raises(sm.MigrationError, match="does not serve API group 'example.com'"):
        sm.plan(api, api_scan.ApiTable("1.16"), parse_version("1.15"), ["widgets.example.com"])
    with pytest.raises(sm.MigrationError, match="does not serve resource 'gadgets'"):
        sm.plan(api, api_scan.ApiTable("1.16"), parse_version("1.15"), ["gadgets.apps"])


def test_rewrite_is_get_then_put_and_retries_conflicts():
    objects = {"/apis/apps/v1/deployments": [deployment("a"), deployment("b"), deployment("c")]}
    api = FakeApi(GROUPS, RESOURCES, objects, conflicts=1)
    item = {"group": "apps", "resource": "deployments", "api_version": "apps/v1"}
    result = sm.rewrite(api, item, page_size=2)
    assert result == {"objects": 3, "rewritten": 3, "gone": 0, "failed": [], "names": ["shop/a", "shop/b", "shop/c"]}
    writes = [c for c in api.calls if c[0] in ("GET", "PUT")]
    assert writes == [
        ("GET", "/apis/apps/v1/namespaces/shop/deployments/a"), ("PUT", "/apis/apps/v1/namespaces/shop/deployments/a"),
        ("GET", "/apis/apps/v1/namespaces/shop/deployments/a"), ("PUT", "/apis/apps/v1/namespaces/shop/deployments/a"),
        ("GET", "/apis/apps/v1/namespaces/shop/deployments/b"), ("PUT", "/apis/apps/v1/namespaces/shop/deployments/b"),
        ("GET", "/apis/apps/v1/namespaces/shop/deployments/c"), ("PUT", "/apis/apps/v1/namespaces/shop/deployments/c"),
    ]
    assert [c for c in api.calls if c[0] == "LIST"] == [("LIST", "/apis/apps/v1/deployments", 2)] * 2


def test_rewrite_check_mode_writes_nothing():
    api = FakeApi(GROUPS, RESOURCES, {"/apis/apps/v1/deployments": [deployment("a")]})
    result = sm.rewrite(api, {"group": "apps", "resource": "deployments", "api_version": "apps/v1"}, check_mode=True)
    assert result["objects"] == 1 and result["rewritten"] == 0 and result["names"] == ["shop/a"]
    assert not [c for c in api.calls if c[0] in ("PUT", "POST", "GET")]


@pytest.mark.parametrize("version,resource", [
    ("v1alpha1", {"group": "apps", "resource": "deployments", "version": "v1"}),
    ("v1beta1", {"group": "apps", "resource": "deployments"}),
    ("v1", {"group": "apps", "resource": "deployments"}),
])
def test_svm_body(version, resource):
    body = sm.svm_body(version, {"group": "apps", "resource": "deployments", "api_version": "apps/v1"})
    assert body["apiVersion"] == "storagemigration.k8s.io/" + version
    assert body["spec"] == {"resource": resource}
    assert body["metadata"] == {"generateName": "clusterops-deployments-apps-"}


@pytest.mark.parametrize("served,expected", [(["v1alpha1"], "v1alpha1"), (["v1beta1", "v1alpha1"], "v1beta1"), (["v1", "v1beta1"], "v1"), ([], None)])
def test_svm_version(served, expected):
    groups = dict(GROUPS)
    if served:
        groups["storagemigration.k8s.io"] = served
    assert sm.svm_version(FakeApi(groups, RESOURCES)) == expected


def test_migrate_with_svm_waits_and_times_out():
    class SvmApi(FakeApi):
        def __init__(self, states):
            FakeApi.__init__(self, GROUPS, RESOURCES)
            self.states = list(states)

        def request(self, method, path, query=None, body=None):
            self.calls.append((method, path, body))
            return dict(body, metadata={"name": "clusterops-deployments-apps-x1"})

        def get(self, path, query=None):
            self.calls.append(("GET", path))
            state = self.states.pop(0)
            return {"status": {"conditions": [{"type": state, "status": "True"}] if state else []}}

    item = {"group": "apps", "resource": "deployments", "api_version": "apps/v1"}
    api = SvmApi([None, "Running", "Succeeded"])
    assert sm.migrate_with_svm(api, "v1beta1", item, sleep=lambda s: None) == ("clusterops-deployments-apps-x1", "Succeeded")
    assert api.calls[0][1] == "/apis/storagemigration.k8s.io/v1beta1/storageversionmigrations"
    ticks = iter(range(100))
    with pytest.raises(sm.MigrationError, match="did not finish within 3 s.*kube-controller-manager"):
        sm.migrate_with_svm(SvmApi([None] * 10), "v1", item, timeout=3, sleep=lambda s: None, clock=lambda: next(ticks))


@pytest.mark.parametrize("crd,expected", [
    ({"metadata": {"name": "w.example.com"}, "spec": {"group": "example.com", "names": {"plural": "w"}, "versions": [
        {"name": "v1", "served": True, "storage": True}, {"name": "v1beta1", "served": True, "storage": False}]},
      "status": {"storedVersions": ["v1beta1", "v1"]}},
     {"storage_version": "v1", "stale_versions": ["v1beta1"], "undefined_stored_versions": [], "unserved_stored_versions": []}),
    ({"metadata": {"name": "w.example.com"}, "spec": {"group": "example.com", "names": {"plural": "w"}, "versions": [
        {"name": "v2", "served": True, "storage": True}, {"name": "v1", "served": False, "storage": False}]},
      "status": {"storedVersions": ["v0", "v1", "v2"]}},
     {"storage_version": "v2", "stale_versions": ["v0", "v1"], "undefined_stored_versions": ["v0"], "unserved_stored_versions": ["v1"]}),
    # apiextensions.k8s.io/v1beta1 form: spec.version only
    ({"metadata": {"name": "old.example.com"}, "spec": {"group": "example.com", "version": "v1alpha1", "names": {"plural": "olds"}},
      "status": {"storedVersions": ["v1alpha1"]}},
     {"storage_version": "v1alpha1", "stale_versions": [], "undefined_stored_versions": [], "unserved_stored_versions": []}),
])
def test_crd_report(crd, expected):
    report = sm.crd_report(crd)
    assert dict((k, report[k]) for k in expected) == expected
