# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: addon_image
short_description: The image of an addon that a Kubernetes release ships with
version_added: 0.1.0
author: clusterops maintainers (@clusterops)
description:
  - The image kubeadm installs for an addon (only C(coredns) so far) with a given Kubernetes release,
    from the collection's release data.
options:
  _input:
    description: The addon, C(coredns).
    type: str
    required: true
  version:
    description: The Kubernetes release.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: CoreDNS of 1.16
  ansible.builtin.debug:
    msg: "{{ 'coredns' | clusterops.k8s_upgrade.addon_image(version='1.16.15') }}"
"""

RETURN = r"""
_value:
  description: The image reference.
  type: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.release_data.addons import (
    COREDNS_IMAGES,
    COREDNS_VERSIONS,
)
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.versions import VersionError, parse_version


def addon_image(addon, version):
    if addon != "coredns":
        raise AnsibleFilterError("no release data for addon %r; give its image explicitly" % addon)
    try:
        parsed = parse_version(version, "version")
    except VersionError as exc:
        raise AnsibleFilterError(str(exc))
    minor = parsed.minor_str
    if minor not in COREDNS_VERSIONS:
        raise AnsibleFilterError("no CoreDNS version is known for Kubernetes %s; set addon_upgrade_coredns_image" % minor)
    template = [image for since, image in COREDNS_IMAGES if parse_version(since).minor <= parsed.minor][-1]
    return template.format(version=COREDNS_VERSIONS[minor])


class FilterModule:
    def filters(self):
        return {"addon_image": addon_image}
