# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: ready_nodes
short_description: The nodes of a list that are Ready, at a kubelet version
version_added: 0.2.0
author: clusterops maintainers (@clusterops)
description:
  - From Node objects as P(kubernetes.core.k8s_info#module) returns them, the names in O(names)
    whose Ready condition is C(True) and, with O(version), whose kubelet reports that release.
  - The filter C(pods_not_ready) is its counterpart for Pods - of the pods with the given uids (all of them without uids), those
    listed but not Running with Ready C(True).
  - The filter C(batch_outcome) sums up a node batch's waits once for all its nodes (see
    C(module_utils/node_status.py)) - the nodes Ready at the release, per node the pods not running
    and ready again, the container IDs its pods report and, given each node's restart forecast, the
    forecast containers the kubelet restarted.
  - The filter C(next_batch) returns, of a play's hosts, those of the batch Ansible runs after the one
    holding the first host of its second argument (the first batch without it), for a play C(serial) given
    as its first argument (a size, C(N%) or a list of them, as for the play).
  - The filter C(restarts_by_host) turns a C(batch_outcome) into the upgrade report's restarts per
    inventory host (for each host, C(restarted) and C(containers)), given the hosts and their node names in the same order.
options:
  _input:
    description: The Node objects.
    type: list
    elements: dict
    required: true
  names:
    description: The node names to look at, in the order to return them.
    type: list
    elements: str
    required: true
  version:
    description: The release the kubelet must report, e.g. C(1.32.11).
    type: str
"""

EXAMPLES = r"""
- name: The nodes of the batch Ready at the target
  ansible.builtin.debug:
    msg: "{{ nodes.resources | clusterops.k8s_upgrade.ready_nodes(['node1', 'node2'], '1.32.11') }}"
"""

RETURN = r"""
_value:
  description: The Ready node names, in the order of O(names).
  type: list
  elements: str
"""

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import node_status


class FilterModule:
    def filters(self):
        return {"ready_nodes": node_status.ready_nodes, "pods_not_ready": node_status.pods_not_ready,
                "batch_outcome": node_status.batch_outcome, "next_batch": node_status.next_batch,
                "restarts_by_host": node_status.restarts_by_host}
