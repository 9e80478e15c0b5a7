# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: pending_components
short_description: The components of a host that do not yet run a release
version_added: 0.2.0
author: clusterops maintainers (@clusterops)
description:
  - From the facts of P(clusterops.k8s_upgrade.component_facts#module), the components that still
    need a switch to O(target_version) - their unit names another release, or their process does not
    run the binary from the release's versioned directory (a run interrupted between the rewrite of
    the unit and the restart).
  - A component whose unit state is unknown is judged by its version alone.
options:
  _input:
    description: C(ansible_facts.k8s_components) of the host.
    type: dict
    required: true
  components:
    description: The components to look at, in the order to return them.
    type: list
    elements: str
    required: true
  target_version:
    description: The release, e.g. C(1.32.11).
    type: str
    required: true
  install_root:
    description: Root of the versioned install directories.
    type: str
    default: /opt/kubernetes
"""

EXAMPLES = r"""
- name: Which node components still need the upgrade
  ansible.builtin.set_fact:
    pending: "{{ facts.ansible_facts.k8s_components | clusterops.k8s_upgrade.pending_components(['kubelet', 'kube-proxy'], '1.32.11') }}"
"""

RETURN = r"""
_value:
  description: The names of the components not yet at O(target_version), in the order of O(components).
  type: list
  elements: str
"""

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.component_switch import pending_components


class FilterModule:
    def filters(self):
        return {"pending_components": pending_components}
