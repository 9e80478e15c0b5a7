import pytest

from ansible.module_utils.common import warnings as ansible_warnings

from ansible_collections.clusterops.k8s_upgrade.plugins.modules import version_skew as module


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    # A module process starts with no warnings; in-process runs share ansible's global list.
    monkeypatch.setattr(ansible_warnings, "_global_warnings", {})


def warnings(result):
    """Warning texts (ansible-core 2.19 returns them as WarningSummary dicts)."""
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]


def cluster(cp, node):
    control_plane = ("kube-apiserver", "kube-scheduler", "kube-controller-manager")
    comps = [dict(component=c, host="m1", version=cp) for c in control_plane]
    return comps + [dict(component="kubelet", host="n1", version=node),
                    dict(component="kube-proxy", host="n1", version=node)]


@pytest.mark.parametrize("check_mode", [False, True])
def test_seed_jump_fails_listing_the_violations(run_module, check_mode):
    result = run_module(module, dict(target_version="1.14.10", components=cluster("1.10.13", "1.10.13")),
                        check_mode=check_mode)
    assert result["failed"] and result["changed"] is False
    assert result["msg"].startswith("5 version skew violation(s) not accepted (apiserver-skip-minor, "
                                    "control-plane-too-old, kube-proxy-skew, kubelet-too-old)")
    assert "kube-apiserver on m1 would jump 4 minors from 1.10.13 to 1.14.10" in result["msg"]
    # what to do, in the inventory's words (docs/bad-inputs.yml, minor-jump-not-accepted)
    assert "one minor per run" in result["msg"] and "(upgrade_accept in the inventory)" in result["msg"]
    assert result["hops"] == ["1.11", "1.12", "1.13", "1.14"]
    assert [p["name"] for p in result["plan"]][-1] == "start-controller-managers"
    assert result["summary"][0].startswith("not accepted: apiserver-skip-minor in phase apiserver m1")


def test_accepted_violations_are_warnings_and_stay_listed(run_module):
    accept = ["apiserver-skip-minor", "kubelet-too-old", "kube-proxy-skew", "control-plane-too-old"]
    result = run_module(module, dict(target_version="1.14.10", components=cluster("1.10.13", "1.10.13"),
                                     accept=accept))
    assert not result.get("failed") and result["changed"] is False
    assert len(result["violations"]) == 5 and all(v["accepted"] for v in result["violations"])
    assert len(result["summary"]) == 5 and all(line.startswith("accepted: ") for line in result["summary"])
    assert any(w.startswith("accepted: kubelet-too-old in phase apiserver m1: kubelet 1.10.13 on n1 is 4 minors")
               for w in warnings(result))


def test_passes(run_module):
    result = run_module(module, dict(target_version="1.30.0", components=cluster("1.29.4", "1.27.16")))
    assert not result.get("failed") and result["violations"] == [] and warnings(result) == []


def test_node_drain_never_reports_inplace_minor(run_module):
    result = run_module(module, dict(target_version="1.30.0", components=cluster("1.29.4", "1.29.4"),
                                     node_drain="never"))
    assert result["failed"] and "kubelet-inplace-minor" in result["msg"]


@pytest.mark.parametrize(
    "args, message",
    [
        (dict(target_version="1.14.x", components=cluster("1.10.13", "1.10.13")),
         "target_version '1.14.x' is not valid; expected a Kubernetes version such as 1.14"),
        (dict(target_version="1.9.0", components=cluster("1.10.13", "1.10.13")),
         "target_version 1.9.0 is not a Kubernetes release this collection knows"),
        (dict(target_version="1.14.10", components=[]), "components is empty"),
        (dict(target_version="1.14.10", components=[dict(component="kubelett", host="n1", version="1.10.1")]),
         "kubelett"),
        (dict(target_version="1.14.10", components=cluster("1.10.13", "ten")),
         "components[3].version (kubelet on n1) 'ten' is not valid"),
        (dict(target_version="1.10.1", components=cluster("1.10.13", "1.10.13")), "is older than the cluster"),
        (dict(target_version="1.14.10", components=cluster("1.10.13", "1.10.13"), accept=["nope"]), "nope"),
    ],
)
def test_bad_input(run_module, args, message):
    result = run_module(module, args)
    assert result["failed"] and message in result["msg"]


class FakeApi:
    """Stands in for KubeApi: records which host each instance was made for."""

    made = []

    def __init__(self, params):
        self.host = params.get("host") or "https://lb:6443"
        FakeApi.made.append(self.host)

    def get(self, path):
        assert path == "/version"
        return {"gitVersion": {"https://lb:6443": "v1.29.4", "https://m1:6443": "v1.29.4",
                               "https://m2:6443": "v1.28.9"}[self.host]}

    def list_items(self, path):
        assert path == "/api/v1/nodes"
        return iter([{"metadata": {"name": "n1"},
                      "status": {"nodeInfo": {"kubeletVersion": "v1.28.9", "kubeProxyVersion": "v1.28.9"}}}])


def test_gathers_each_endpoint_directly(run_module, monkeypatch):
    monkeypatch.setattr(module, "KubeApi", FakeApi)
    monkeypatch.setattr(module, "HAS_K8S", True)
    FakeApi.made = []
    result = run_module(module, dict(target_version="1.29.4", apiserver_endpoints=["https://m1:6443", "https://m2:6443"]))
    assert FakeApi.made == ["https://lb:6443", "https://m1:6443", "https://m2:6443"]
    assert result["components"] == [
        {"component": "kube-apiserver", "host": "m1", "version": "v1.29.4"},
        {"component": "kube-apiserver", "host": "m2", "version": "v1.28.9"},
        {"component": "kubelet", "host": "n1", "version": "v1.28.9"},
        {"component": "kube-proxy", "host": "n1", "version": "v1.28.9"},
    ]
    assert not result.get("failed")
    assert [p["name"] for p in result["plan"]] == ["preflight", "apiserver m2", "addons", "kubelets"]


def test_gather_without_endpoints_warns(run_module, monkeypatch):
    monkeypatch.setattr(module, "KubeApi", FakeApi)
    monkeypatch.setattr(module, "HAS_K8S", True)
    result = run_module(module, dict(target_version="1.29.4"))
    assert any("apiserver_endpoints is empty" in w for w in warnings(result))
    assert result["components"][0] == {"component": "kube-apiserver", "host": "lb", "version": "v1.29.4"}


def test_gather_without_kubernetes_library(run_module, monkeypatch):
    monkeypatch.setattr(module, "HAS_K8S", False)
    result = run_module(module, dict(target_version="1.29.4"))
    assert result["failed"] and "kubernetes" in result["msg"]
