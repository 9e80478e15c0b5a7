# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: inventory_conflicts
short_description: Roles in an inventory that contradict each other
version_added: 0.1.0
author: clusterops maintainers (@clusterops)
description:
  - Finds machines listed under more than one inventory name (the same address and SSH port), which
    the upgrade would treat as separate hosts. One machine holding several roles is listed under one
    name in every group it belongs to.
options:
  _input:
    description:
      - The hosts, each a dict with C(name), C(address) (C(ansible_host)), C(port) and C(groups);
        or, with O(hostvars), their inventory names.
    type: list
    elements: raw
    required: true
  hostvars:
    description: C(hostvars), to read C(ansible_host), C(ansible_port) and C(group_names) of each named host.
    type: dict
"""

EXAMPLES = r"""
- name: Refuse one machine under two names
  ansible.builtin.assert:
    that: hosts | clusterops.k8s_upgrade.inventory_conflicts | length == 0
  vars:
    hosts:
      - {name: master1, address: 10.0.0.11, port: 22, groups: [kube_control_plane]}
      - {name: worker0, address: 10.0.0.11, port: 22, groups: [kube_node]}

- name: The same, from the inventory
  ansible.builtin.debug:
    msg: "{{ groups['all'] | clusterops.k8s_upgrade.inventory_conflicts(hostvars) }}"
"""

RETURN = r"""
_value:
  description: One message per conflict, saying what is wrong and what to do; empty when there is none.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.inventory import InventoryError, inventory_conflicts


def _describe(name, hostvars):
    host = hostvars[name]
    return {"name": name, "address": host.get("ansible_host") or name, "port": host.get("ansible_port"),
            "groups": list(host.get("group_names") or [])}


def _inventory_conflicts(hosts, hostvars=None):
    try:
        if hostvars is not None:
            hosts = [_describe(name, hostvars) for name in hosts]
        return inventory_conflicts(hosts)
    except InventoryError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {"inventory_conflicts": _inventory_conflicts}
