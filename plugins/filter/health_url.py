# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: health_url
short_description: The health-check URL of a Kubernetes component
version_added: 0.1.0
author: clusterops maintainers (@clusterops)
description:
  - The URL to probe to know that a component of a given release, run with given flags, is healthy
    (C(/readyz) of the apiserver from 1.16, C(/healthz) otherwise; the secure ports of the scheduler and
    the controller-manager once their insecure port is off).
options:
  _input:
    description: The component, for example C(kube-scheduler).
    type: str
    required: true
  version:
    description: Its release.
    type: str
    required: true
  flags:
    description: Its flags as M(clusterops.k8s_upgrade.component_facts) reports them (name to value).
    type: dict
  host:
    description: The address the probe uses.
    type: str
    default: 127.0.0.1
"""

EXAMPLES = r"""
- name: Probe the scheduler
  ansible.builtin.uri:
    url: "{{ 'kube-scheduler' | clusterops.k8s_upgrade.health_url(version='1.24.17') }}"
"""

RETURN = r"""
_value:
  description: The URL.
  type: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.health import health_url
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.versions import VersionError


def _health_url(component, version, flags=None, host="127.0.0.1"):
    try:
        return health_url(component, version, flags, host)
    except (ValueError, VersionError) as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {"health_url": _health_url}
