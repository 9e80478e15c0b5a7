#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: release_digest
short_description: The "Action Required" digest of a Kubernetes upgrade
version_added: 0.1.0
author: clusterops maintainers (@clusterops)
description:
  - Reads the collection's release tables and returns what the releases crossed by an upgrade
    remove, deprecate or change and an operator must act on - API versions removed and deprecated,
    component flags removed, renamed or deprecated, and whether an in-place kubelet upgrade restarts
    every container.
  - Changes nothing; runs on the controller.
options:
  current_version:
    description: The release the cluster runs (the oldest apiserver).
    type: str
    required: true
  target_version:
    description: The release it is upgraded to.
    type: str
    required: true
  components:
    description: Components whose flag changes are listed.
    type: list
    elements: str
    default: [kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy]
attributes:
  check_mode:
    description: Reads only; check mode runs it as usual.
    support: full
  diff_mode:
    description: Edits nothing, so there is no diff.
    support: none
"""

EXAMPLES = r"""
- name: What does 1.15 -> 1.16 break?
  clusterops.k8s_upgrade.release_digest:
    current_version: 1.15.12
    target_version: 1.16.15
  register: digest

- name: Print it
  ansible.builtin.debug:
    var: digest.lines
"""

RETURN = r"""
lines:
  description: The digest, one line per item, for people.
  returned: success
  type: list
  elements: str
apis:
  description: API versions removed or deprecated in the releases crossed (change, api_version, kind, minor, replacement, replacement_available_in).
  returned: success
  type: list
  elements: dict
flags:
  description: Flag changes per component (component, flag, change, minor, replacement, note, source).
  returned: success
  type: list
  elements: dict
kubelet:
  description: The kubelet container-hash rule before and after, and whether every container restarts on an in-place upgrade.
  returned: success
  type: dict
minors:
  description: The minor releases crossed.
  returned: success
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.release_data.flags import COMPONENTS
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.release_digest import digest
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.versions import VersionError, parse_version


def main():
    module = AnsibleModule(
        argument_spec=dict(
            current_version=dict(type="str", required=True),
            target_version=dict(type="str", required=True),
            components=dict(type="list", elements="str", default=list(COMPONENTS)),
        ),
        supports_check_mode=True,
    )
    params = module.params
    unknown = [c for c in params["components"] if c not in COMPONENTS]
    if unknown:
        module.fail_json(msg="unknown component(s) %s; expected among %s" % (", ".join(unknown), ", ".join(COMPONENTS)))
    try:
        if parse_version(params["target_version"], "target_version") < parse_version(params["current_version"], "current_version"):
            module.fail_json(msg="target_version %s is older than current_version %s: a downgrade has no digest"
                             % (params["target_version"], params["current_version"]))
        result = digest(params["current_version"], params["target_version"], params["components"])
    except VersionError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
