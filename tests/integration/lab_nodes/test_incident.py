"""The seed's incident on the lab: a 1.16 controller-manager started while the kubelets are still 1.15
re-rolls the Deployment (its template gains the field 1.16 defaults, lab/facts/kubelet.py
INCIDENT_FIELDS) and the 1.15 kubelet fails the new pods; once the kubelet is 1.16 they run."""

from labnodes_support import wait_until

API = "1.16.15"


def deployment_pods(cluster):
    return cluster.call("GET", "/api/v1/namespaces/default/pods?labelSelector=app%3Dshop")["items"]


def waiting_reason(pod):
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = (status.get("state") or {}).get("waiting")
        if waiting:
            return waiting.get("reason")
    return None


def test_newer_controller_manager_rerolls_onto_older_kubelets_and_their_pods_fail(cluster_factory):
    cluster = cluster_factory(API)
    cluster.start_kubelet("node1", "1.15.12")
    cluster.start_scheduler(API)
    cluster.start_controller_manager("1.15.12", key="kcm-115")
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "shop", "namespace": "default"},
                  "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "shop"}},
                           "template": {"metadata": {"labels": {"app": "shop"}},
                                        "spec": {"containers": [{"name": "shop", "image": "shop:1.0"}]}}}}
    cluster.call("POST", "/apis/apps/v1/namespaces/default/deployments", deployment)
    path = "/apis/apps/v1/namespaces/default/deployments/shop"
    wait_until(lambda: (cluster.call("GET", path).get("status") or {}).get("availableReplicas") == 2, timeout=40,
               what="deployment available under the 1.15 controller-manager")
    first_hashes = {p["metadata"]["labels"]["pod-template-hash"] for p in deployment_pods(cluster)}
    assert len(first_hashes) == 1

    # Upstream order: the controller-manager is upgraded with the masters, before the nodes.
    cluster.stop("kcm-115")
    cluster.start_controller_manager(API, key="kcm-116")

    def failing_new_pod():
        pods = [p for p in deployment_pods(cluster) if p["metadata"]["labels"]["pod-template-hash"] not in first_hashes]
        return [p for p in pods if waiting_reason(p) == "CreateContainerError"]
    failing = wait_until(failing_new_pod, timeout=40, what="a re-rolled pod failing on the 1.15 kubelet")
    assert "topologySpreadConstraints" in failing[0]["spec"]
    rs = cluster.call("GET", "/apis/apps/v1/namespaces/default/replicasets")["items"]
    assert len(rs) == 2  # the re-roll: a second ReplicaSet

    # The kubelet upgraded to 1.16 knows the field: the rollout completes.
    cluster.stop("kubelet-node1")
    cluster.start_kubelet("node1", API)

    def rolled_out():
        status = cluster.call("GET", path).get("status") or {}
        pods = deployment_pods(cluster)
        done = status.get("updatedReplicas") == 2 and status.get("availableReplicas") == 2 and len(pods) == 2
        return done and all(p["metadata"]["labels"]["pod-template-hash"] not in first_hashes for p in pods)
    wait_until(rolled_out, timeout=60, what="rollout complete on the 1.16 kubelet")
