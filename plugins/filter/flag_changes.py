# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: flag_changes
short_description: The command-line flag changes of a Kubernetes upgrade hop, for one component
version_added: 0.1.0
author: clusterops maintainers (@clusterops)
description:
  - The flag part of the release notes' "Action Required" between two releases, from the
    collection's flag table (C(plugins/module_utils/release_data/flags.py)). Flags deprecated,
    renamed, removed (with or without replacement) and values no longer accepted, oldest first,
    each with what to do and its upstream source.
  - Runs on the controller; to see what would change in a host's actual unit, run
    P(clusterops.k8s_upgrade.component_flags#module) in check mode.
options:
  _input:
    description: The component, one of C(kube-apiserver), C(kube-controller-manager), C(kube-scheduler), C(kubelet), C(kube-proxy).
    type: str
    required: true
  current:
    description: The release running now, for example C(1.15.12).
    type: str
    required: true
  target:
    description: The release upgraded to, for example C(1.16.15).
    type: str
    required: true
  lines:
    description: Return one printable line per change instead of dicts.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Print the flag changes of the hop
  ansible.builtin.debug:
    msg: "{{ 'kube-apiserver' | clusterops.k8s_upgrade.flag_changes('1.15.12', '1.24.17', lines=true) }}"
"""

RETURN = r"""
_value:
  description:
    - Without O(lines), dicts with component, flag, change (deprecated, renamed, removed, values),
      minor, replacement, inert_values, note and source; with O(lines), strings.
  type: list
  elements: raw
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import flag_migration as fm
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.versions import VersionError


def flag_changes(component, current, target, lines=False):
    try:
        changes = fm.hop_changes(component, current, target)
    except (fm.FlagMigrationError, VersionError) as exc:
        raise AnsibleFilterError(str(exc))
    return fm.digest_lines(changes) if lines else changes


class FilterModule:
    def filters(self):
        return {"flag_changes": flag_changes}
