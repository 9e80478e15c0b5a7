import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.clusterops.k8s_upgrade.plugins.filter.inventory_conflicts import _inventory_conflicts
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.inventory import InventoryError, inventory_conflicts


def host(name, address=None, port=None, groups=()):
    return {"name": name, "address": address, "port": port, "groups": list(groups)}


def test_one_host_in_several_groups_is_fine():
    hosts = [host("cp1", "10.0.0.11", 22, ["etcd", "kube_control_plane", "kube_node"]),
             host("node1", "10.0.1.21", 22, ["kube_node"])]
    assert inventory_conflicts(hosts) == []


def test_the_same_host_listed_twice_is_one_name():
    assert inventory_conflicts([host("cp1", "10.0.0.11"), host("cp1", "10.0.0.11")]) == []


def test_one_machine_under_two_names_is_refused_with_what_to_do():
    hosts = [host("cp1", "10.0.0.11", 22, ["kube_control_plane", "etcd"]),
             host("worker0", "10.0.0.11", "22", ["kube_node"]),
             host("node1", "10.0.1.21", None, ["kube_node"])]
    (message,) = inventory_conflicts(hosts)
    assert message.startswith("10.0.0.11:22 is one machine under 2 inventory names "
                              "(cp1 in etcd, kube_control_plane; worker0 in kube_node)")
    assert "List the machine once, under one name" in message


def test_another_port_is_another_machine_and_names_default_to_the_address():
    assert inventory_conflicts([host("10.0.0.11"), host("a", "10.0.0.11", 2222)]) == []
    assert len(inventory_conflicts([host("10.0.0.11"), host("a", "10.0.0.11")])) == 1
    assert len(inventory_conflicts([host("a", "Node1.Example"), host("b", "node1.example")])) == 1


@pytest.mark.parametrize("hosts, message", [
    ([{"address": "10.0.0.1"}], "has no name"),
    ([host("a", "10.0.0.1", "ssh")], "expected a number"),
])
def test_bad_host_entries(hosts, message):
    with pytest.raises(InventoryError, match=message):
        inventory_conflicts(hosts)
    with pytest.raises(AnsibleFilterError, match=message):
        _inventory_conflicts(hosts)


def test_filter_reads_hostvars():
    hostvars = {"cp1": {"ansible_host": "10.0.0.11", "group_names": ["kube_control_plane"]},
                "alias": {"ansible_host": "10.0.0.11", "ansible_port": 22, "group_names": ["kube_node"]},
                "10.0.1.21": {"group_names": ["kube_node"]}}
    (message,) = _inventory_conflicts(["cp1", "alias", "10.0.1.21"], hostvars)
    assert "(cp1 in kube_control_plane; alias in kube_node)" in message
