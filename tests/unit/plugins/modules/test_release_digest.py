import pytest

from ansible_collections.clusterops.k8s_upgrade.plugins.modules import release_digest as module


def test_1_15_to_1_16(run_module):
    result = run_module(module, dict(current_version="1.15.12", target_version="1.16.15"))
    assert result["changed"] is False and result["minors"] == ["1.16"]
    removed = {(a["api_version"], a["kind"]) for a in result["apis"] if a["change"] == "removed"}
    assert ("extensions/v1beta1", "Deployment") in removed and ("apps/v1beta2", "DaemonSet") in removed
    assert all(a["minor"] == "1.16" for a in result["apis"] if a["change"] == "removed")
    assert result["kubelet"]["restarts_every_container"] is True
    assert any("extensions/v1beta1 Deployment; use apps/v1" in line for line in result["lines"])


def test_1_31_to_1_32_keeps_containers(run_module):
    result = run_module(module, dict(current_version="1.31.0", target_version="1.32.0"))
    assert result["kubelet"] == {"hash_rule_current": "name-image", "hash_rule_target": "name-image",
                                 "restarts_every_container": False}
    assert not [a for a in result["apis"] if a["minor"] not in ("1.32",)]


def test_1_30_to_1_31_restarts(run_module):
    result = run_module(module, dict(current_version="1.30.14", target_version="1.31.1"))
    assert result["kubelet"]["restarts_every_container"] is True
    assert any("restarts every running container" in line for line in result["lines"])


def test_seed_jump_lists_each_minor(run_module):
    result = run_module(module, dict(current_version="1.10.13", target_version="1.14.10", components=["kube-apiserver"]))
    assert result["minors"] == ["1.11", "1.12", "1.13", "1.14"]
    assert {f["component"] for f in result["flags"]} <= {"kube-apiserver"}
    assert all(1.11 <= float(f["minor"]) <= 1.14 for f in result["flags"])


@pytest.mark.parametrize(
    "args, message",
    [
        (dict(current_version="1.16", target_version="1.15"), "older than current_version"),
        (dict(current_version="1.15", target_version="1.99"), "not a Kubernetes release this collection knows"),
        (dict(current_version="x", target_version="1.16"), "current_version 'x' is not valid"),
        (dict(current_version="1.15", target_version="1.16", components=["etcd"]), "unknown component(s) etcd"),
    ],
)
def test_bad_input(run_module, args, message):
    result = run_module(module, args)
    assert result["failed"] and message in result["msg"]
