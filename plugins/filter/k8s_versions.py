# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: oldest_version
short_description: The oldest of a list of Kubernetes versions
version_added: 0.1.0
author: clusterops maintainers (@clusterops)
description:
  - Compares Kubernetes versions as releases (1.9 before 1.10, a pre-release before its release),
    not as strings. The filter C(newest_version) is its counterpart.
options:
  _input:
    description: The versions, for example C([1.10.13, 1.9.11]).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: The oldest apiserver
  ansible.builtin.debug:
    msg: "{{ ['1.10.13', '1.9.11'] | clusterops.k8s_upgrade.oldest_version }}"
"""

RETURN = r"""
_value:
  description: The oldest version, as given.
  type: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.versions import VersionError, parse_version


def _pick(versions, pick):
    versions = list(versions or [])
    if not versions:
        raise AnsibleFilterError("no versions to compare")
    try:
        return pick(versions, key=lambda text: parse_version(text, "version"))
    except VersionError as exc:
        raise AnsibleFilterError(str(exc))


def oldest_version(versions):
    return _pick(versions, min)


def newest_version(versions):
    return _pick(versions, max)


class FilterModule:
    def filters(self):
        return {"oldest_version": oldest_version, "newest_version": newest_version}
