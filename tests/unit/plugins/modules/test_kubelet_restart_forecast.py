import json
import stat

import pytest

from ansible_collections.clusterops.k8s_upgrade.plugins.modules import kubelet_restart_forecast as module

CONTAINER = {"name": "web", "image": "nginx:1.25", "resources": {}}
POD = {"metadata": {"name": "web-1", "namespace": "shop", "uid": "u1"}, "spec": {"containers": [CONTAINER]}}


def crictl_script(tmp_path, payload, rc=0):
    """A stand-in crictl executable that prints `payload` and records its argv."""
    path = tmp_path / "crictl"
    argv_file = tmp_path / "argv"
    path.write_text(
        "#!/bin/sh\necho \"$@\" > %s\ncat <<'JSON'\n%s\nJSON\nexit %d\n" % (argv_file, json.dumps(payload), rc)
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path), argv_file


def running(hash_value):
    return {"containers": [{
        "id": "abc", "state": "CONTAINER_RUNNING",
        "labels": {"io.kubernetes.container.name": "web", "io.kubernetes.pod.name": "web-1",
                   "io.kubernetes.pod.namespace": "shop", "io.kubernetes.pod.uid": "u1"},
        "annotations": {"io.kubernetes.container.hash": hash_value},
    }]}


@pytest.mark.parametrize(
    "current, target, hash_value, restarts",
    [("1.30.14", "1.31.14", "0", 1), ("1.31.14", "1.32.9", None, 0)],
)
def test_forecast(tmp_path, run_module, current, target, hash_value, restarts):
    from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import container_hash as ch

    if hash_value is None:
        hash_value = ch.format_hash(ch.container_hash(CONTAINER, current))
    crictl, argv_file = crictl_script(tmp_path, running(hash_value))
    result = run_module(module, dict(current_version=current, target_version=target, pods=[POD],
                                     crictl=crictl, runtime_endpoint="unix:///run/containerd/containerd.sock"))
    assert result["changed"] is False
    assert result["restart_total"] == restarts and result["total"] == 1
    assert argv_file.read_text().split() == ["--runtime-endpoint", "unix:///run/containerd/containerd.sock", "ps", "-o", "json"]


def test_crictl_failure_is_reported(tmp_path, run_module):
    crictl = crictl_script(tmp_path, {}, rc=1)[0]
    result = run_module(module, dict(current_version="1.31.0", target_version="1.32.0", pods=[], crictl=crictl))
    assert result["failed"] and "check that the container runtime is up" in result["msg"]


@pytest.mark.parametrize(
    "args, message",
    [
        (dict(current_version="1.31", target_version="banana", pods=[]), "target_version 'banana' is not valid"),
        (dict(current_version="1.32.0", target_version="1.31.0", pods=[]), "older than current_version"),
        (dict(current_version="1.31.0", target_version="1.32.0"), "node_name is required"),
    ],
)
def test_bad_input(tmp_path, run_module, args, message):
    crictl = crictl_script(tmp_path, {"containers": []})[0]
    result = run_module(module, dict(args, crictl=crictl))
    assert result["failed"] and message in result["msg"]
