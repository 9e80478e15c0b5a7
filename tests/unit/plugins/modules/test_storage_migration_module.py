"""storage_migration: bad input gives clear errors, never a traceback."""

import pytest

from ansible_collections.clusterops.k8s_upgrade.plugins.modules import storage_migration as module


@pytest.fixture
def unreachable(tmp_path):
    path = tmp_path / "config"
    path.write_text(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'http://127.0.0.1:9'}\n"
        "contexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\nusers:\n- name: u\n  user: {token: t}\n")
    return str(path)


@pytest.mark.parametrize("args,message", [
    ({"target_version": "2.0"}, "not a Kubernetes release this collection knows"),
    ({"target_version": "1.16", "page_size": 0}, "page_size must be at least 1"),
    ({"target_version": "1.16", "method": "sideways"}, "value of method must be one of"),
    ({"target_version": "1.16", "kubeconfig": "UNREACHABLE"}, "storage migration failed: cannot reach the Kubernetes API"),
    ({"target_version": "1.16", "kubeconfig": "/nonexistent/kubeconfig"}, "could not load the Kubernetes credentials"),
])
def test_bad_input(run_module, unreachable, args, message):
    if args.get("kubeconfig") == "UNREACHABLE":
        args = dict(args, kubeconfig=unreachable)
    result = run_module(module, args)
    assert result["failed"] is True
    assert message in result["msg"]
    assert "Traceback" not in result["msg"]
