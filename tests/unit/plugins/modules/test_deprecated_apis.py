"""deprecated_apis on manifest paths: results, fail_on, rc, bad input (no cluster needed)."""

import pytest

from ansible_collections.clusterops.k8s_upgrade.plugins.modules import deprecated_apis as module

MANIFESTS = {
    "deploy.yaml": "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n",
    "cron.yaml": "# a comment\napiVersion: batch/v1beta1\nkind: CronJob\nmetadata:\n  name: nightly\n  namespace: shop\n",
    "broken.yaml": "apiVersion: v1\nkind: ConfigMap\ndata: [oops\n",
}


@pytest.fixture
def tree(tmp_path):
    for name, text in MANIFESTS.items():
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize("target,fail_on,failed,rc,statuses", [
    ("1.15", "removed", False, 2, ["deprecated"]),
    ("1.15", "deprecated", True, 2, ["deprecated"]),
    ("1.16", "removed", True, 3, ["removed"]),
    ("1.16", "none", False, 3, ["removed"]),
    ("1.21", "deprecated", True, 3, ["removed", "deprecated"]),
    ("1.25", "none", False, 3, ["removed", "removed"]),
    ("1.14", "deprecated", True, 2, ["deprecated"]),
])
def test_paths_scan(run_module, tree, target, fail_on, failed, rc, statuses):
    result = run_module(module, {"target_version": target, "sources": ["paths"], "paths": [str(tree)], "fail_on": fail_on})
    assert result["failed"] is failed
    assert result["rc"] == rc
    assert [f["status"] for f in result["findings"]] == statuses
    assert result["summary"]["total"] == len(statuses)
    assert result["summary"]["errors"] == 1
    assert result["errors"][0]["path"] == str(tree / "broken.yaml") and result["errors"][0]["line"] == 4
    assert result["changed"] is False
    if failed:
        assert "shop/web" in result["msg"] or "shop/nightly" in result["msg"]
        assert "fail_on" in result["msg"]


def test_finding_fields(run_module, tree):
    result = run_module(module, {"target_version": "v1.16.15", "paths": [str(tree / "deploy.yaml")], "sources": ["paths"],
                                 "fail_on": "none"}, check_mode=True)
    assert result["findings"] == [{
        "kind": "Deployment", "api_version": "extensions/v1beta1", "name": "web", "namespace": "shop",
        "source": "manifest", "location": "%s:1" % (tree / "deploy.yaml"),
        "sources": [{"source": "manifest", "location": "%s:1" % (tree / "deploy.yaml")}],
        "status": "removed", "deprecated_in": "1.8", "removed_in": "1.16",
        "replacement": "apps/v1", "replacement_available_in": "1.9",
    }]
    assert result["target_version"] == "1.16.15"


@pytest.mark.parametrize("args,message", [
    ({"target_version": "1.99", "sources": ["paths"], "paths": ["."]}, "not a Kubernetes release this collection knows"),
    ({"target_version": "sixteen", "sources": ["paths"], "paths": ["."]}, "is not valid"),
    ({"target_version": "1.16", "sources": ["paths"], "paths": ["/nonexistent/manifests"]}, "/nonexistent/manifests does not exist"),
    ({"target_version": "1.16", "sources": ["paths"]}, "no paths were given"),
    ({"target_version": "1.16", "sources": ["paths"], "paths": ["."], "page_size": 0}, "page_size must be at least 1"),
])
def test_bad_input(run_module, args, message):
    result = run_module(module, args)
    assert result["failed"] is True
    assert message in result["msg"]
    assert "Traceback" not in result["msg"]


def test_unreachable_cluster_is_a_clear_error(run_module, tmp_path):
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'http://127.0.0.1:9'}\n"
        "contexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\nusers:\n- name: u\n  user: {token: t}\n")
    result = run_module(module, {"target_version": "1.16", "sources": ["cluster"], "kubeconfig": str(kubeconfig)})
    assert result["failed"] is True
    assert result["msg"].startswith("cannot scan the cluster: cannot reach the Kubernetes API")
    assert "127.0.0.1" in result["msg"] and "port=9" in result["msg"]
