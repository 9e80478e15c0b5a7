"""Emulated kubelet state transitions (restart on hash change, checkpoints) and crictl output."""

import io
import json
import os

import pytest

from lab.emulator import cli, crictl, kubelet
from lab.emulator import runtime_state as rs


class RecordingClient(object):
    """Stands in for the API client: records the writes the kubelet makes."""

    def __init__(self):
        self.calls = []

    def merge_patch(self, path, body):
        self.calls.append(("PATCH", path, body))
        return body

    def delete(self, path, body=None):
        self.calls.append(("DELETE", path, body))


def make(version, root, flags=None, env=None):
    all_flags = {"root-dir": str(root), "hostname-override": "node1", "node-ip": "10.0.0.5"}
    all_flags.update(flags or {})
    opts = cli.Options("kubelet", version, all_flags, env=env or {})
    return kubelet.Kubelet(opts, cl=RecordingClient())


def pod(uid="u1", name="web-1", containers=None, **spec):
    default = [{"name": "web", "image": "nginx:1.25", "resources": {}},
               {"name": "sidecar", "image": "busybox:1.36", "resources": {}}]
    body = {"containers": containers or default}
    body.update(spec)
    return {"metadata": {"name": name, "namespace": "default", "uid": uid}, "spec": body, "status": {"phase": "Pending"}}


def run_once(kl, pods):
    kl.on_list(pods)
    kl.sync_all()
    return rs.load(kl.root)


def running(state):
    return {c["name"]: c for c in state["containers"].values() if c["state"] == "CONTAINER_RUNNING"}


@pytest.mark.parametrize("old, new, restarts", [
    ("1.30.14", "1.31.14", True),
    ("1.31.14", "1.32.11", False),
    ("1.29.15", "1.30.14", False),
    ("1.30.13", "1.30.14", False),
])
def test_restart_after_kubelet_upgrade(tmp_path, old, new, restarts):
    first = running(run_once(make(old, tmp_path), [pod()]))
    assert {c["attempt"] for c in first.values()} == {0}
    second_kl = make(new, tmp_path)
    second = running(run_once(second_kl, [pod()]))
    for name, record in second.items():
        if restarts:
            assert record["id"] != first[name]["id"]
            assert record["attempt"] == 1
            assert record["annotations"]["io.kubernetes.container.restartCount"] == "1"
        else:
            assert record["id"] == first[name]["id"]
            assert record["attempt"] == 0
    status = second_kl.client.calls[-1][2]["status"]
    assert status["phase"] == "Running"
    assert [s["restartCount"] for s in status["containerStatuses"]] == [1 if restarts else 0] * 2
    assert all(s["ready"] for s in status["containerStatuses"])


def test_image_change_restarts_only_that_container(tmp_path):
    kl = make("1.32.11", tmp_path)
    first = running(run_once(kl, [pod()]))
    changed = pod(containers=[{"name": "web", "image": "nginx:1.27", "resources": {}},
                              {"name": "sidecar", "image": "busybox:1.36", "resources": {}}])
    second = running(run_once(kl, [changed]))
    assert second["web"]["attempt"] == 1 and second["sidecar"]["id"] == first["sidecar"]["id"]
    exited = [c for c in rs.load(kl.root)["containers"].values() if c["state"] == "CONTAINER_EXITED"]
    assert [c["id"] for c in exited] == [first["web"]["id"]]


def test_deleted_pod_is_killed_and_removed(tmp_path):
    kl = make("1.30.14", tmp_path)
    run_once(kl, [pod()])
    gone = pod()
    gone["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    state = run_once(kl, [gone])
    assert state["containers"] == {} and state["sandboxes"] == {}
    assert kl.client.calls[-1][0] == "DELETE"


def test_older_kubelet_fails_a_pod_with_a_defaulted_field_it_does_not_know(tmp_path, capsys):
    kl = make("1.15.12", tmp_path)
    p = pod(topologySpreadConstraints=[{"maxSkew": 1}])
    p["metadata"]["annotations"] = {"lab.clusterops.io/defaulted-fields": "topologySpreadConstraints"}
    state = run_once(kl, [p])
    run_once(kl, [p])
    # Logged to the journal once per pod, as the seed incident's evidence (molecule cm_order reads it).
    logged = [ln for ln in capsys.readouterr().err.splitlines() if "CreateContainerError" in ln]
    assert len(logged) == 1 and logged[0].startswith("E") and "topologySpreadConstraints" in logged[0]
    assert running(state) == {}
    status = kl.client.calls[-1][2]["status"]
    assert status["phase"] == "Pending"
    assert status["containerStatuses"][0]["state"]["waiting"]["reason"] == "CreateContainerError"
    # the 1.16 kubelet runs it
    assert set(running(run_once(make("1.16.15", tmp_path / "b"), [p]))) == {"web", "sidecar"}


def test_node_never_ready_fault(tmp_path):
    faults = tmp_path / "faults"
    faults.mkdir()
    kl = make("1.30.14", tmp_path, env={"LAB_FAULTS_DIR": str(faults)})
    assert [c["status"] for c in kl.conditions() if c["type"] == "Ready"] == ["True"]
    (faults / kubelet.NEVER_READY).write_text("")
    assert [c["status"] for c in kl.conditions() if c["type"] == "Ready"] == ["False"]
    # A marker naming a version applies to that version (or minor) only: the switched-back kubelet is Ready.
    (faults / kubelet.NEVER_READY).write_text("v1.31.14\n")
    assert [c["status"] for c in kl.conditions() if c["type"] == "Ready"] == ["True"]
    (faults / kubelet.NEVER_READY).write_text("1.30")
    assert [c["status"] for c in kl.conditions() if c["type"] == "Ready"] == ["False"]


def test_node_info_has_the_nine_strings(tmp_path):
    info = make("1.30.14", tmp_path).node_info()
    for key in ("machineID", "systemUUID", "bootID", "kernelVersion", "osImage", "containerRuntimeVersion",
                "kubeletVersion", "kubeProxyVersion", "operatingSystem", "architecture"):
        assert isinstance(info[key], str) and info[key]
    assert info["kubeletVersion"] == "v1.30.14"


def test_strict_checkpoints(tmp_path):
    kubelet.write_checkpoints(str(tmp_path), "1.30.14", 30)
    body = json.loads((tmp_path / "cpu_manager_state").read_text())
    assert body["labKubeletVersion"] == "1.30.14" and "checksum" in body
    assert (tmp_path / "memory_manager_state").exists()
    assert (tmp_path / "device-plugins" / "kubelet_internal_checkpoint").exists()
    assert kubelet.check_checkpoints(str(tmp_path), "1.31.14", 31, strict=False) is None
    assert kubelet.check_checkpoints(str(tmp_path), "1.30.14", 30, strict=True) is None
    error = kubelet.check_checkpoints(str(tmp_path), "1.31.14", 31, strict=True)
    assert "cpu_manager_state" in error and "v1.30.14" in error
    os.rename(str(tmp_path / "cpu_manager_state"), str(tmp_path / "cpu_manager_state.bak"))
    assert "memory_manager_state" in kubelet.check_checkpoints(str(tmp_path), "1.31.14", 31, strict=True)


def test_strict_checkpoints_refuse_to_start(tmp_path):
    faults = tmp_path / "faults"
    faults.mkdir()
    (faults / kubelet.STRICT_CHECKPOINTS).write_text("")
    root = tmp_path / "root"
    kubelet.write_checkpoints(str(root), "1.30.14", 30)
    opts = cli.Options("kubelet", "1.31.14", {"root-dir": str(root), "kubeconfig": "unused"},
                       env={"LAB_FAULTS_DIR": str(faults)})
    assert kubelet.run(opts) == 1
    # A marker naming one checkpoint refuses only that one; one naming another version does not apply.
    (faults / kubelet.STRICT_CHECKPOINTS).write_text("memory_manager_state")
    assert kubelet.run(opts) == 1
    os.rename(str(root / "memory_manager_state"), str(root / "memory_manager_state.old"))
    only_memory = kubelet.fault_words(kubelet.STRICT_CHECKPOINTS, opts.env)
    assert kubelet.check_checkpoints(str(root), "1.31.14", 31, True, only_memory) is None
    (faults / kubelet.STRICT_CHECKPOINTS).write_text("v1.32")
    assert not kubelet.fault_on(kubelet.STRICT_CHECKPOINTS, opts.env, "1.31.14")


def _crictl(root, *args):
    out, err = io.StringIO(), io.StringIO()
    code = crictl.main(list(args), "1.30.14", out, err, env={"LAB_KUBELET_ROOT_DIR": str(root)})
    return code, out.getvalue(), err.getvalue()


def test_crictl_output(tmp_path):
    kl = make("1.30.14", tmp_path)
    run_once(kl, [pod()])
    code, out, _err = _crictl(tmp_path, "ps", "-o", "json")
    containers = json.loads(out)["containers"]
    assert code == 0 and len(containers) == 2
    web = next(c for c in containers if c["metadata"]["name"] == "web")
    assert web["state"] == "CONTAINER_RUNNING"
    assert web["labels"]["io.kubernetes.pod.name"] == "web-1"
    assert web["labels"]["io.kubernetes.pod.namespace"] == "default"
    assert web["labels"]["io.kubernetes.pod.uid"] == "u1"
    assert web["labels"]["io.kubernetes.container.name"] == "web"
    assert web["annotations"]["io.kubernetes.container.restartCount"] == "0"
    from lab.facts import kubelet as kfacts
    assert web["annotations"]["io.kubernetes.container.hash"] == kfacts.container_hash_hex(
        {"name": "web", "image": "nginx:1.25", "resources": {}}, 30)
    assert web["createdAt"].isdigit()
    code, out, _err = _crictl(tmp_path, "inspect", web["id"][:12])
    body = json.loads(out)
    assert code == 0 and body["status"]["id"] == web["id"] and body["info"]["sandboxID"] == web["podSandboxId"]
    code, out, _err = _crictl(tmp_path, "pods", "-o", "json")
    assert json.loads(out)["items"][0]["metadata"]["uid"] == "u1"
    code, out, _err = _crictl(tmp_path, "ps", "-q", "--name", "side")
    assert out.strip() == next(c["id"] for c in containers if c["metadata"]["name"] == "sidecar")
    code, _out, err = _crictl(tmp_path, "inspect", "ffff")
    assert code == 1 and "NotFound" in err
    assert _crictl(tmp_path, "--version")[1] == "crictl version v1.30.0\n"
    # -a shows exited containers too
    run_once(make("1.31.14", tmp_path), [pod()])
    assert len(json.loads(_crictl(tmp_path, "ps", "-a", "-o", "json")[1])["containers"]) == 4
    assert len(json.loads(_crictl(tmp_path, "ps", "-o", "json")[1])["containers"]) == 2


def test_field_defaulted_by_the_apiserver_alone_is_not_refused(tmp_path):
    # Only fields the lab's controller-manager recorded as defaulted trip an older kubelet.
    kl = make("1.15.12", tmp_path)
    state = run_once(kl, [pod(topologySpreadConstraints=[{"maxSkew": 1}])])
    assert set(running(state)) == {"web", "sidecar"}
