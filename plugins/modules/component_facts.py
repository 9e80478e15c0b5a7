#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: component_facts
short_description: Versions, checksums, systemd units, flags and verbosity of the Kubernetes binaries on a host
description:
  - Runs on each host. For every Kubernetes component it finds (a binary in O(search_paths), or the
    binary the component's systemd unit runs), reports the version the binary prints, its sha256, the
    versioned install directory it sits in and the other versions installed beside it, the systemd
    unit that runs it and the unit's state (C(systemctl show)), the flags the unit passes (from
    C(ExecStart=) with backslash continuations, drop-ins, and C(EnvironmentFile=) with C($VARS)
    expanded as systemd does) and the C(--v) verbosity.
  - Returns them as the facts C(k8s_components) (per component) and C(k8s_component_versions) (the
    O(clusterops.k8s_upgrade.version_skew#module:components) entries of this host).
  - Reads only (it runs each binary with C(--version), or C(kubectl version --client), and
    C(systemctl show)); C(changed) is always false, in check mode too.
version_added: 0.1.0
author: clusterops maintainers (@clusterops)
options:
  components:
    description: The components to look for.
    type: list
    elements: str
    default: [kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy, kubectl]
  search_paths:
    description:
      - Directories to look for the binaries in, globs allowed; versioned install directories are
        taken in version order. The path the component's unit runs is always looked at too.
    type: list
    elements: str
    default: [/usr/local/bin, /usr/bin, /opt/kubernetes/v*/bin]
  units:
    description:
      - "Unit name per component where it is not C(COMPONENT.service), for example C({kubelet: kubelet-custom.service})."
    type: dict
    default: {}
  host:
    description:
      - The host name to put in C(k8s_component_versions); pass C({{ inventory_hostname }}) so that the
        entries match the inventory. Defaults to the machine's host name.
    type: str
  root:
    description:
      - Inspect the file tree mounted at this directory instead of C(/) (a rescue image, a chroot).
        Unit states are not read then (the systemd that runs there is not this one).
    type: path
    default: /
  systemctl:
    description: The systemctl executable.
    type: str
    default: systemctl
attributes:
  check_mode:
    description: Reads only; check mode runs it as usual.
    support: full
  diff_mode:
    description: Edits nothing, so there is no diff.
    support: none
  facts:
    description: Returns C(k8s_components) and C(k8s_component_versions).
    support: full
notes:
  - A component whose unit exists but whose binary is missing is still reported (with C(version) null
    and a note), so that a half-finished install is visible.
"""

EXAMPLES = r"""
- name: Read the Kubernetes components of every host
  clusterops.k8s_upgrade.component_facts:
    host: "{{ inventory_hostname }}"

- name: Show the apiserver's flags and verbosity
  ansible.builtin.debug:
    msg: "{{ ansible_facts.k8s_components['kube-apiserver'].flags }} at -v {{ ansible_facts.k8s_components['kube-apiserver'].verbosity }}"

- name: Plan the upgrade from what the hosts report
  clusterops.k8s_upgrade.version_skew:
    target_version: 1.14.10
    components: "{{ groups['all'] | map('extract', hostvars, ['ansible_facts', 'k8s_component_versions']) | select('defined') | flatten }}"
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
ansible_facts:
  description: The facts.
  returned: always
  type: dict
  contains:
    k8s_components:
      description:
        - Per component found, C(component), C(path) (the binary the unit runs, else the first found),
          C(realpath), C(version), C(sha256), C(install_dir) (for example C(/opt/kubernetes/v1.14.10)),
          C(installed_versions) (versions installed beside it), C(binaries) (every binary found, each with
          C(path), C(realpath), C(version), C(sha256), C(install_dir), C(in_unit)), C(unit), C(unit_file),
          C(dropins), C(environment_files), C(state) (C(load), C(active), C(sub), C(enabled), C(main_pid),
          C(started), C(need_daemon_reload)), C(running_path) (the executable of the running process),
          C(running_version) (the release of that executable; it differs from C(version), the unit's, after a
          run interrupted between the rewrite of the unit and the restart), C(flags) (name to value, the last
          occurrence winning), C(flag_list) (every flag in order with
          C(name), C(value), C(file) it is written in and C(origin)), C(flag_files) and C(verbosity).
      returned: always
      type: dict
      sample:
        kube-apiserver:
          component: kube-apiserver
          path: /opt/kubernetes/v1.10.13/bin/kube-apiserver
          version: 1.10.13
          sha256: 9d3c...
          install_dir: /opt/kubernetes/v1.10.13
          installed_versions: [1.10.13, 1.14.10]
          unit: kube-apiserver.service
          state: {load: loaded, active: active, sub: running, enabled: enabled, main_pid: 812}
          flags: {etcd-servers: "https://10.0.0.11:2379", v: "2"}
          flag_files: [/etc/kubernetes/kube-apiserver.env]
          verbosity: 2
    k8s_component_versions:
      description: One C({component, host, version}) per component with a known version, for version_skew.
      returned: always
      type: list
      elements: dict
notes:
  description: What could not be read (a binary that printed no version, a unit that cannot be parsed, systemctl errors).
  returned: always
  type: list
  elements: str
"""

import socket

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.component_facts import (
    COMPONENTS,
    DEFAULT_SEARCH_PATHS,
    gather,
    skew_components,
)

C_ENV = {"LANGUAGE": "C", "LC_ALL": "C"}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            components=dict(type="list", elements="str", default=list(COMPONENTS)),
            search_paths=dict(type="list", elements="str", default=list(DEFAULT_SEARCH_PATHS)),
            units=dict(type="dict", default={}),
            host=dict(type="str"),
            root=dict(type="path", default="/"),
            systemctl=dict(type="str", default="systemctl"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    unknown = [c for c in params["components"] if c not in COMPONENTS]
    if unknown:
        module.fail_json(msg="components lists %s; expected any of %s" % (", ".join(unknown), ", ".join(COMPONENTS)))

    root = params["root"] or "/"
    systemctl = None
    notes = []
    if root == "/":
        systemctl = module.get_bin_path(params["systemctl"])
        if systemctl is None:
            notes.append("%s not found: unit states are unknown (is this host run by systemd?)" % params["systemctl"])

    def run(argv):
        return module.run_command(argv, environ_update=C_ENV)

    facts, more = gather(run, components=params["components"], search_paths=params["search_paths"],
                         units=params["units"], root=root, systemctl=systemctl)
    notes.extend(more)
    host = params["host"] or socket.gethostname()
    module.exit_json(
        changed=False,
        ansible_facts=dict(k8s_components=facts, k8s_component_versions=skew_components(facts, host)),
        notes=notes,
    )


if __name__ == "__main__":
    main()
