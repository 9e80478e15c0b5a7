"""Emulated kubelets, scheduler and controller-manager against a real etcd and the lab apiserver:
registration and heartbeats, scheduling, controllers, crictl, and container restarts after an
in-place kubelet upgrade exactly as FACTS.md 4 says for each pair of releases."""

import pytest

from lab.emulator import runtime_state as rs
from lab.facts import kubelet as kfacts

from conftest import wait_until  # noqa: I100 (the local conftest)

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


def running(pods):
    return bool(pods) and all((p.get("status") or {}).get("phase") == "Running" and
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
    statuses = [s for p in pods_on(cluster, "node1") for s in p["status"]["containerStatuses"]]
    assert statuses and all(s["restartCount"] == 1 for s in statuses)
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
    cluster.stop("kubelet-node3")
    wait_until(lambda: ready(node(cluster, "node3")) == "Unknown", timeout=30, what="node3 NotReady (Unknown)")
    taints = node(cluster, "node3")["spec"].get("taints") or []
    assert any(t["key"] == "node.kubernetes.io/unreachable" for t in taints)
    cluster.start_kubelet("node3", "1.31.14")
    wait_until(lambda: ready(node(cluster, "node3")) == "True", timeout=30, what="node3 Ready again")
