# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ready_nodes and pods_not_ready on objects shaped as k8s_info returns them."""

import pytest

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import node_status
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.node_status import pods_not_ready, ready_nodes


def node(name, ready="True", version="v1.32.11"):
    conditions = [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": ready}]
    return {"metadata": {"name": name}, "status": {"nodeInfo": {"kubeletVersion": version}, "conditions": conditions}}


def pod(uid, phase="Running", ready="True"):
    status = {"phase": phase}
    if ready is not None:
        status["conditions"] = [{"type": "Ready", "status": ready}]
    return {"metadata": {"uid": uid, "name": "pod-" + uid}, "status": status}


@pytest.mark.parametrize("nodes, names, version, expected", [
    ([node("n1"), node("n2")], ["n2", "n1"], "1.32.11", ["n2", "n1"]),
    ([node("n1"), node("n2", ready="False")], ["n1", "n2"], "1.32.11", ["n1"]),
    ([node("n1", version="v1.31.14")], ["n1"], "v1.32.11", []),
    ([node("n1", version="v1.31.14")], ["n1"], None, ["n1"]),
    ([node("n1")], ["n1", "gone"], "1.32.11", ["n1"]),
    ([{"metadata": {"name": "n1"}, "status": {}}], ["n1"], None, []),
    ([], ["n1"], "1.32.11", []),
])
def test_ready_nodes(nodes, names, version, expected):
    assert ready_nodes(nodes, names, version) == expected


def test_pods_not_ready_only_among_the_expected_uids():
    pods = [pod("a"), pod("b", phase="Pending", ready="False"), pod("c", ready="False"), pod("d", ready=None),
            pod("x", phase="Pending")]
    assert [p["metadata"]["uid"] for p in pods_not_ready(pods, ["a", "b", "c", "d", "gone"])] == ["b", "c", "d"]
    assert pods_not_ready(pods, []) == []
    # without uids: every listed pod is looked at
    assert [p["metadata"]["uid"] for p in pods_not_ready(pods)] == ["b", "c", "d", "x"]


def on(p, node_name, ids=()):
    """Pod p bound to node_name, its containers reporting the IDs ids."""
    p = dict(p, spec={"nodeName": node_name})
    p["status"] = dict(p["status"], containerStatuses=[{"containerID": "containerd://" + i} for i in ids])
    return p


def test_batch_outcome_per_node():
    from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.node_status import batch_outcome

    before = [on(pod("a"), "n1"), on(pod("b"), "n2"), on(pod("c", phase="Succeeded"), "n1"), on(pod("z"), "other")]
    after = [on(pod("a"), "n1", ["id-a2"]), on(pod("b", ready="False"), "n2", ["id-b"]), on(pod("z"), "other", ["id-z"])]
    outcome = batch_outcome([node("n1"), node("n2", ready="False")], before, after, ["n1", "n2"], "1.32.11")
    assert outcome == {"ready": ["n1"], "pods_not_ready": {"n1": [], "n2": ["pod-b"]},
                       "container_ids": {"n1": ["id-a2"], "n2": ["id-b"]}, "restarted": {"n1": [], "n2": []}}


def test_batch_outcome_counts_the_forecast_containers_whose_id_changed():
    from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.node_status import batch_outcome

    before = [on(pod("a"), "n1"), on(pod("b"), "n1"), on(pod("c", phase="Pending"), "n1"), on(pod("d"), "n2")]
    after = [on(pod("a"), "n1", ["id-a2"]), on(pod("b"), "n1", ["id-b"]), on(pod("d"), "n2", ["id-d"])]
    forecasts = {
        "n1": [{"pod_uid": "a", "container_id": "id-a"},   # a new ID: restarted
               {"pod_uid": "b", "container_id": "id-b"},   # same ID: kept
               {"pod_uid": "c", "container_id": "id-c"},   # its pod was not running before: not counted
               {"pod_uid": "gone", "container_id": "id-g"}],
        "n2": [{"pod_uid": "d", "container_id": "id-d"}],
        "not-in-batch": [{"pod_uid": "a", "container_id": "id-x"}],
    }
    outcome = batch_outcome([node("n1"), node("n2")], before, after, ["n1", "n2"], "1.32.11", forecasts)
    assert outcome["restarted"] == {"n1": ["id-a"], "n2": []}
    # a node the forecast did not reach still gets its entry
    assert batch_outcome([], before, after, ["n1"], "1.32.11", {})["restarted"] == {"n1": []}


class _Inventory:
    """Just enough of an inventory for Ansible's own batch split (PlaybookExecutor._get_serialized_batches)."""

    def __init__(self, hosts):
        self.hosts = hosts

    def get_hosts(self, pattern, order=None):
        return list(self.hosts)


def _ansible_batches(hosts, serial):
    from types import SimpleNamespace

    from ansible.executor.playbook_executor import PlaybookExecutor

    executor = SimpleNamespace(_inventory=_Inventory(hosts))
    play = SimpleNamespace(hosts="kube_node", order="inventory", serial=serial)
    return PlaybookExecutor._get_serialized_batches(executor, play)


@pytest.mark.parametrize("count", [1, 2, 3, 7, 12])
@pytest.mark.parametrize("serial", [[1], [2], [10], ["10"], ["20%"], ["50%"], ["100%"], ["1%"], [1, "50%"],
                                    [1, 3, "30%"], [0], [-1], [], [20]])
def test_serial_batches_match_ansible(count, serial):
    hosts = ["node%d" % n for n in range(count)]
    assert node_status.serial_batches(hosts, serial) == _ansible_batches(hosts, serial)


def test_serial_batches_take_a_scalar_or_nothing():
    hosts = ["a", "b", "c"]
    assert node_status.serial_batches(hosts, 2) == [["a", "b"], ["c"]]
    assert node_status.serial_batches(hosts, "2") == [["a", "b"], ["c"]]
    assert node_status.serial_batches(hosts, None) == [["a", "b", "c"]]
    assert node_status.serial_batches([], 2) == []


def test_next_batch():
    hosts = ["a", "b", "c", "d", "e"]
    assert node_status.next_batch(hosts, 2) == ["a", "b"]
    assert node_status.next_batch(hosts, 2, ["a", "b"]) == ["c", "d"]
    assert node_status.next_batch(hosts, 2, ["c", "d"]) == ["e"]
    assert node_status.next_batch(hosts, 2, ["e"]) == []
    assert node_status.next_batch(hosts, [1, 3], ["a"]) == ["b", "c", "d"]
    # a batch the split does not know (the play split differently): nothing is cordoned ahead
    assert node_status.next_batch(hosts, 2, ["x"]) == []
    assert node_status.next_batch([], 2) == []


def test_restarts_by_host():
    outcome = {"restarted": {"n1": ["c1", "c2"], "n2": []}}
    assert node_status.restarts_by_host(outcome, ["host1", "host2"], ["n1", "n2"]) == {
        "host1": {"restarted": 2, "containers": ["c1", "c2"]}, "host2": {"restarted": 0, "containers": []}}
    # a node the outcome does not know (its switch failed) restarted nothing that was counted
    assert node_status.restarts_by_host(outcome, ["host3"], ["n3"]) == {"host3": {"restarted": 0, "containers": []}}
