# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: release_url
short_description: The download URL of one Kubernetes release binary
version_added: 0.1.0
author: clusterops maintainers (@clusterops)
description:
  - Fills a release URL template whose placeholders are C({version}) (without the leading v),
    C({arch}) and C({name}), and fails with a clear message on a malformed template.
options:
  _input:
    description: The URL template, for example C(https://dl.k8s.io/release/v{version}/bin/linux/{arch}/{name}).
    type: str
    required: true
  version:
    description: The release, for example C(1.16.15).
    type: str
    required: true
  name:
    description: The binary, for example C(kube-apiserver).
    type: str
    required: true
  arch:
    description: C(ansible_architecture) or a Kubernetes arch name.
    type: str
    default: amd64
"""

EXAMPLES = r"""
- name: URL of the target kube-apiserver
  ansible.builtin.debug:
    msg: "{{ k8s_release_url | clusterops.k8s_upgrade.release_url(version='1.16.15', name='kube-apiserver') }}"
"""

RETURN = r"""
_value:
  description: The URL.
  type: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.artifacts import ArtifactError, release_url
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.versions import VersionError


def _release_url(template, version, name, arch="amd64"):
    try:
        return release_url(template, version, name, arch)
    except (ArtifactError, VersionError) as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {"release_url": _release_url}
