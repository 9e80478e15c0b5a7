import pytest

from ansible_collections.clusterops.k8s_upgrade.plugins.modules import component_facts as module


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    binary = root / "opt/kubernetes/v1.29.4/bin/kube-apiserver"
    binary.parent.mkdir(parents=True)
    binary.write_text('#!/bin/sh\necho "Kubernetes v1.29.4"\n')
    binary.chmod(0o755)
    unit = root / "etc/systemd/system/kube-apiserver.service"
    unit.parent.mkdir(parents=True)
    unit.write_text("[Service]\nEnvironmentFile=/etc/kubernetes/kube-apiserver.env\n"
                    "ExecStart=/opt/kubernetes/v1.29.4/bin/kube-apiserver $KUBE_APISERVER_ARGS\n")
    env = root / "etc/kubernetes/kube-apiserver.env"
    env.parent.mkdir(parents=True)
    env.write_text('KUBE_APISERVER_ARGS="--v=2 --secure-port=6443"\n')
    return root


@pytest.mark.parametrize("check_mode", [False, True])
def test_facts(run_module, tree, check_mode):
    result = run_module(module, dict(root=str(tree), host="m1"), check_mode=check_mode)
    assert result["changed"] is False and not result.get("failed")
    facts = result["ansible_facts"]
    api = facts["k8s_components"]["kube-apiserver"]
    assert (api["version"], api["verbosity"], api["flags"]) == ("1.29.4", 2, {"v": "2", "secure-port": "6443"})
    assert list(facts["k8s_components"]) == ["kube-apiserver"]
    assert facts["k8s_component_versions"] == [{"component": "kube-apiserver", "host": "m1", "version": "1.29.4"}]
    assert result["notes"] == []


def test_unknown_component(run_module, tree):
    result = run_module(module, dict(root=str(tree), components=["kube-apiserver", "kubelett"]))
    assert result["failed"] and result["msg"].startswith("components lists kubelett; expected any of kube-apiserver")


def test_nothing_found(run_module, tmp_path):
    result = run_module(module, dict(root=str(tmp_path), host="n1"))
    assert result["ansible_facts"] == {"k8s_components": {}, "k8s_component_versions": []}


def test_this_host_kubectl(run_module):
    """The real thing on this controller: the default search paths and a real kubectl, if there is one."""
    import shutil

    found = shutil.which("kubectl")
    if not found or not found.startswith(("/usr/local/bin/", "/usr/bin/")):
        pytest.skip("no kubectl in the default search paths")
    result = run_module(module, dict(components=["kubectl"], host="controller"))
    entry = result["ansible_facts"]["k8s_components"]["kubectl"]
    assert entry["path"] == found and entry["version"] and entry["unit"] is None
