"""Emulated kubelets, scheduler and controller-manager against a real etcd and the lab apiserver:
registration and heartbeats, scheduling, controllers, crictl, and container restarts after an
in-place kubelet upgrade exactly as FACTS.md 4 says for each pair of releases."""

import json
import os
import subprocess
import time
import urllib.request

import pytest

from lab.emulator import build
from lab.emulator import runtime_state as rs
from lab.facts import kubelet as kfacts

from labnodes_support import free_port, wait_until

API = "1.32.11"


@pytest.fixture(scope="module")
def cluster(cluster_factory):
    c = cluster_factory(API)
    c.start_scheduler(API)
    c.start_controller_manager(API, extra=["--node-monitor-grace-period=6s"])
    return c


def node(cluster, name):
    return cluster.call("GET", "/api/v1/nodes/" + name)


def ready(obj):
    return next((c["status"] for c in obj["status"].get("conditions") or [] if c["type"] == "Ready"), None)


def pods_on(cluster, name, namespace="default"):
    return cluster.call("GET", "/api/v1/namespaces/%s/pods?fieldSelector=spec.nodeName=%s" % (namespace, name))["items"]


def pod_ready(p):
    return any(c["type"] == "Ready" and c["status"] == "True" for c in (p.get("status") or {}).get("conditions") or [])


def running(pods):
    return bool(pods) and all((p.get("status") or {}).get("phase") == "Running" and pod_ready(p) and
                              all(s.get("ready") for s in p["status"].get("containerStatuses") or [{}]) for p in pods)


def pinned_pod(name, node_name):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
            "spec": {"nodeName": node_name, "containers": [
                {"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80}]},
                {"name": "sidecar", "image": "busybox:1.36", "command": ["sleep", "infinity"]}]}}


def container_records(cluster, node_name):
    """{(pod, container): (id, restartCount, hash)} of the running containers, through crictl."""
    out = cluster.crictl(node_name, "ps", "-o", "json")
    return {(c["labels"]["io.kubernetes.pod.name"], c["metadata"]["name"]):
            (c["id"], int(c["annotations"]["io.kubernetes.container.restartCount"]),
             c["annotations"]["io.kubernetes.container.hash"]) for c in out["containers"]}


def test_node_registers_heartbeats_and_runs_a_deployment(cluster):
    cluster.start_kubelet("node1", "1.30.14")
    n = wait_until(lambda: cluster.lab.call("GET", "/api/v1/nodes/node1")[0] == 200 and node(cluster, "node1"),
                   what="node1 registered")
    wait_until(lambda: ready(node(cluster, "node1")) == "True", what="node1 Ready")
    info = n["status"]["nodeInfo"]
    assert info["kubeletVersion"] == "v1.30.14"
    assert all(isinstance(info[k], str) and info[k] for k in (
        "machineID", "systemUUID", "bootID", "kernelVersion", "osImage", "containerRuntimeVersion",
        "kubeProxyVersion", "operatingSystem", "architecture"))
    lease_path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node1"
    wait_until(lambda: cluster.lab.call("GET", lease_path)[0] == 200, what="node lease")
    assert cluster.call("GET", lease_path)["spec"]["holderIdentity"] == "node1"
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
                  "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}},
                                        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}}}}
    cluster.call("POST", "/apis/apps/v1/namespaces/default/deployments", deployment)
    wait_until(lambda: (cluster.call("GET", "/apis/apps/v1/namespaces/default/deployments/web").get("status") or {})
               .get("availableReplicas") == 3, timeout=40, what="deployment available")
    pods = cluster.call("GET", "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb")["items"]
    assert len(pods) == 3 and {p["spec"]["nodeName"] for p in pods} == {"node1"}
    assert all(p["metadata"]["labels"].get("pod-template-hash") for p in pods)
    records = container_records(cluster, "node1")
    for p in pods:
        container = p["spec"]["containers"][0]
        _cid, restarts, label = records[(p["metadata"]["name"], "nginx")]
        assert restarts == 0
        assert label == kfacts.container_hash_hex(container, 30)
        status = p["status"]["containerStatuses"][0]
        assert status["containerID"] == "containerd://" + records[(p["metadata"]["name"], "nginx")][0]


def test_daemonset_one_pod_per_node_and_cordon_is_honoured(cluster):
    cluster.start_kubelet("node2", "1.29.15")
    wait_until(lambda: cluster.lab.call("GET", "/api/v1/nodes/node2")[0] == 200 and ready(node(cluster, "node2")) == "True",
               what="node2 Ready")
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "default"},
          "spec": {"selector": {"matchLabels": {"app": "agent"}},
                   "template": {"metadata": {"labels": {"app": "agent"}},
                                "spec": {"containers": [{"name": "agent", "image": "busybox:1.36"}]}}}}
    cluster.call("POST", "/apis/apps/v1/namespaces/default/daemonsets", ds)

    def daemon_pods():
        items = cluster.call("GET", "/api/v1/namespaces/default/pods?labelSelector=app%3Dagent")["items"]
        return items if len(items) == 2 and running(items) else None
    items = wait_until(daemon_pods, timeout=40, what="daemon pods running")
    assert sorted(p["spec"]["nodeName"] for p in items) == ["node1", "node2"]
    # cordon node2: a new pod of the Deployment goes to node1 only
    cluster.call("PATCH", "/api/v1/nodes/node2", {"spec": {"unschedulable": True}})
    time.sleep(1)  # let the scheduler's node watch see the cordon
    cluster.call("PATCH", "/apis/apps/v1/namespaces/default/deployments/web", {"spec": {"replicas": 4}})
    wait_until(lambda: (cluster.call("GET", "/apis/apps/v1/namespaces/default/deployments/web").get("status") or {})
               .get("availableReplicas") == 4, timeout=40, what="4 available")
    pods = cluster.call("GET", "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb")["items"]
    assert {p["spec"]["nodeName"] for p in pods} == {"node1"}
    cluster.call("PATCH", "/api/v1/nodes/node2", {"spec": {"unschedulable": False}})


def _restart_step(cluster, node_name, version, before):
    """Replace the node's kubelet with `version`; returns the container records once every pod on the
    node is Running again with the new kubelet."""
    cluster.stop("kubelet-" + node_name)
    cluster.start_kubelet(node_name, version)
    wait_until(lambda: node(cluster, node_name)["status"]["nodeInfo"]["kubeletVersion"] == "v" + version,
               what="%s reports v%s" % (node_name, version))

    def settled():
        # The new kubelet has synced its pods once it stamped the runtime state with its version.
        if rs.load(cluster.root_dir(node_name)).get("kubeletVersion") != version:
            return None
        records = container_records(cluster, node_name)
        return records if set(records) == set(before) and running(pods_on(cluster, node_name)) else None
    return wait_until(settled, timeout=40, what="pods running again on " + node_name)


def test_kubelet_upgrades_restart_containers_as_facts_say(cluster):
    cluster.call("POST", "/api/v1/namespaces/default/pods", pinned_pod("pinned-a", "node1"))
    cluster.call("POST", "/api/v1/namespaces/default/pods", pinned_pod("pinned-b", "node2"))
    wait_until(lambda: running(pods_on(cluster, "node1")) and running(pods_on(cluster, "node2")), timeout=40,
               what="pinned pods running")
    # 1.30 -> 1.31: the hash rule changed (#124220): every container restarts exactly once.
    before = container_records(cluster, "node1")
    assert before and all(r[1] == 0 for r in before.values())
    after_131 = _restart_step(cluster, "node1", "1.31.14", before)
    for key, (cid, restarts, label) in after_131.items():
        assert cid != before[key][0], key
        assert restarts == 1, key
        assert label != before[key][2]
    wait_until(lambda: all(s["restartCount"] == 1 for p in pods_on(cluster, "node1")
                           for s in p["status"]["containerStatuses"]), what="restartCount 1 in the pod statuses")
    # 1.31 -> 1.32: same rule: nothing restarts, IDs kept.
    after_132 = _restart_step(cluster, "node1", "1.32.11", after_131)
    assert after_132 == after_131
    # 1.29 -> 1.30 (JSON rule on both sides, no field of the container changed): nothing restarts.
    before2 = container_records(cluster, "node2")
    after_130 = _restart_step(cluster, "node2", "1.30.14", before2)
    assert after_130 == before2 and all(r[1] == 0 for r in after_130.values())


def test_node_goes_not_ready_when_heartbeats_stop(cluster):
    cluster.start_kubelet("node3", "1.31.14")
    wait_until(lambda: cluster.lab.call("GET", "/api/v1/nodes/node3")[0] == 200 and ready(node(cluster, "node3")) == "True",
               what="node3 Ready")
    cluster.call("POST", "/api/v1/namespaces/default/pods", pinned_pod("pinned-c", "node3"))
    wait_until(lambda: running(pods_on(cluster, "node3")), what="pod on node3 running")
    cluster.stop("kubelet-node3")
    wait_until(lambda: ready(node(cluster, "node3")) == "Unknown", timeout=30, what="node3 NotReady (Unknown)")
    wait_until(lambda: any(t["key"] == "node.kubernetes.io/unreachable"
                           for t in node(cluster, "node3")["spec"].get("taints") or []), what="unreachable taint")
    wait_until(lambda: not running(pods_on(cluster, "node3")), what="pods of node3 marked not ready")
    cluster.start_kubelet("node3", "1.31.14")
    wait_until(lambda: ready(node(cluster, "node3")) == "True", timeout=30, what="node3 Ready again")
    wait_until(lambda: running(pods_on(cluster, "node3")), what="pods of node3 ready again")
    wait_until(lambda: not any(t["key"] == "node.kubernetes.io/unreachable"
                               for t in node(cluster, "node3")["spec"].get("taints") or []), what="taint removed")


def test_statefulset_pods_in_order(cluster):
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "default"},
           "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                    "template": {"metadata": {"labels": {"app": "db"}},
                                 "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}}}}
    cluster.call("POST", "/apis/apps/v1/namespaces/default/statefulsets", sts)
    wait_until(lambda: (cluster.call("GET", "/apis/apps/v1/namespaces/default/statefulsets/db").get("status") or {})
               .get("readyReplicas") == 2, timeout=40, what="statefulset ready")
    names = sorted(p["metadata"]["name"] for p in
                   cluster.call("GET", "/api/v1/namespaces/default/pods?labelSelector=app%3Ddb")["items"])
    assert names == ["db-0", "db-1"]


def test_real_kubectl_drains_a_node(cluster):
    result = cluster.lab.kubectl("drain", "node2", "--ignore-daemonsets", "--delete-emptydir-data", "--force",
                                 "--timeout=90s", minor=32)
    assert "drained" in result.stdout
    left = [p for p in pods_on(cluster, "node2") if not p["metadata"].get("deletionTimestamp")]
    assert all((p["metadata"].get("ownerReferences") or [{}])[0].get("kind") == "DaemonSet" for p in left)
    assert node(cluster, "node2")["spec"].get("unschedulable") is True
    wait_until(lambda: all(c["kind"] == "DaemonSet" for c in [
        (p["metadata"].get("ownerReferences") or [{"kind": "none"}])[0] for p in pods_on(cluster, "node2")]),
        what="only daemon pods left on node2")
    records = container_records(cluster, "node2")
    assert {pod for pod, _c in records} == {p["metadata"]["name"] for p in pods_on(cluster, "node2")}
    cluster.lab.kubectl("uncordon", "node2", minor=32)


def test_second_controller_manager_waits_for_the_lease(cluster):
    lease_path = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager"
    holder = cluster.call("GET", lease_path)["spec"]["holderIdentity"]
    cluster.start_controller_manager(API, key="kcm2")
    wait_until(lambda: "attempting to acquire leader lease" in cluster.log("kcm2"), what="kcm2 started")
    time.sleep(4)
    assert cluster.call("GET", lease_path)["spec"]["holderIdentity"] == holder
    assert "successfully acquired" not in cluster.log("kcm2")
    cluster.stop("kcm")
    wait_until(lambda: "successfully acquired" in cluster.log("kcm2"), timeout=40, what="kcm2 takes over")
    assert cluster.call("GET", lease_path)["spec"]["holderIdentity"] != holder


def test_kube_proxy_serves_healthz_and_metrics(cluster):
    health_port, metrics_port = free_port(), free_port()
    kubeconfig = cluster.kubeconfig("kube-proxy", "system:kube-proxy")
    cluster.run("kube-proxy", "kube-proxy", API, [
        "--kubeconfig=" + kubeconfig, "--hostname-override=node1", "--bind-address=127.0.0.1",
        "--healthz-bind-address=127.0.0.1:%d" % health_port, "--metrics-bind-address=127.0.0.1:%d" % metrics_port])

    def get(port, route):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, route), timeout=5) as resp:
                return resp.status, resp.read().decode()
        except OSError:
            return None
    status, body = wait_until(lambda: get(health_port, "/healthz"), what="kube-proxy healthz")
    assert status == 200 and "lastUpdated" in json.loads(body)
    status, body = get(metrics_port, "/metrics")
    assert status == 200 and "kubeproxy_sync_proxy_rules_last_timestamp_seconds" in body


def test_built_kubelet_executable_registers(cluster, tmp_path):
    """The zipapp from the artifact mirror (what the lab hosts run), not the unpacked package."""
    build.build_mirror(str(tmp_path), versions=["1.31.14"], components=["kubelet"])
    exe = os.path.join(build.release_dir(str(tmp_path), "1.31.14"), "kubelet")
    assert subprocess.run([exe, "--version"], capture_output=True, text=True, check=True).stdout == "Kubernetes v1.31.14\n"
    kubeconfig = cluster.kubeconfig("kubelet-node4", "system:node:node4", ["system:nodes"])
    log = open(os.path.join(cluster.dir, "kubelet-node4.log"), "ab")
    proc = subprocess.Popen([exe, "--kubeconfig=" + kubeconfig, "--hostname-override=node4", "--root-dir=" + str(tmp_path / "root"),
                             "--healthz-port=%d" % free_port(), "--node-status-update-frequency=2s"],
                            stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, LAB_FAULTS_DIR=cluster.faults))
    cluster.procs["kubelet-node4"] = proc
    wait_until(lambda: cluster.lab.call("GET", "/api/v1/nodes/node4")[0] == 200 and ready(node(cluster, "node4")) == "True",
               what="node4 (zipapp kubelet) Ready")
    assert node(cluster, "node4")["status"]["nodeInfo"]["kubeletVersion"] == "v1.31.14"
    cluster.stop("kubelet-node4")
