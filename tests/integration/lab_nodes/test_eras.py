"""The components of older releases against an apiserver of their era: leader-election lock
(Endpoints before 1.20, Endpoints + Lease 1.20-1.23, Lease from 1.24), node Lease from 1.14,
DaemonSet pods placed by nodeName before 1.12, and a Deployment that gets its pods."""

import pytest

from labnodes_support import wait_until

ERAS = [("1.11.10", "1.10.13"), ("1.21.14", "1.20.15"), ("1.25.16", "1.24.17")]


@pytest.mark.parametrize("api_version, kubelet_version", ERAS)
def test_release_era(cluster_factory, api_version, kubelet_version):
    minor = int(api_version.split(".")[1])
    cluster = cluster_factory(api_version)
    cluster.start_kubelet("node1", kubelet_version)
    cluster.start_scheduler(api_version)
    cluster.start_controller_manager(api_version)
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
                  "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}},
                                        "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}}}
    daemonset = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "default"},
                 "spec": {"selector": {"matchLabels": {"app": "agent"}},
                          "template": {"metadata": {"labels": {"app": "agent"}},
                                       "spec": {"containers": [{"name": "agent", "image": "busybox:1.36"}]}}}}
    cluster.call("POST", "/apis/apps/v1/namespaces/default/deployments", deployment)
    cluster.call("POST", "/apis/apps/v1/namespaces/default/daemonsets", daemonset)
    wait_until(lambda: (cluster.call("GET", "/apis/apps/v1/namespaces/default/deployments/web").get("status") or {})
               .get("availableReplicas") == 2, timeout=60, what="deployment available")
    wait_until(lambda: (cluster.call("GET", "/apis/apps/v1/namespaces/default/daemonsets/agent").get("status") or {})
               .get("numberReady") == 1, timeout=60, what="daemon pod ready")
    daemon_pod = cluster.call("GET", "/api/v1/namespaces/default/pods?labelSelector=app%3Dagent")["items"][0]
    assert ("affinity" in daemon_pod["spec"]) is (minor >= 12)

    endpoints = cluster.lab.call("GET", "/api/v1/namespaces/kube-system/endpoints/kube-controller-manager")
    lease = cluster.lab.call("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager")
    has_endpoints_lock = endpoints[0] == 200 and "control-plane.alpha.kubernetes.io/leader" in (
        endpoints[1]["metadata"].get("annotations") or {})
    assert has_endpoints_lock is (minor < 24)
    assert (lease[0] == 200) is (minor >= 20)
    node_lease = cluster.lab.call("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node1")
    assert (node_lease[0] == 200) is (int(kubelet_version.split(".")[1]) >= 14)
