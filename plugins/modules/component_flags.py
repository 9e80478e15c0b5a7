#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: component_flags
short_description: Rewrite the flags of a Kubernetes component's systemd unit for a target release
version_added: "0.1.0"
description:
  - Reads the systemd unit of one Kubernetes component (kube-apiserver, kube-controller-manager,
    kube-scheduler, kubelet, kube-proxy) the way systemd does (drop-ins, C(ExecStart=) resets,
    C(Environment=), C(EnvironmentFile=), C($VAR) expansion) and finds where its flags are written.
  - Rewrites them for O(target_version) from the collection's flag table
    (C(plugins/module_utils/release_data/flags.py)). Renamed flags are renamed, removed flags are
    dropped or refused (O(removed_flags)), deprecated flags are reported in RV(warned).
  - Edits the file that holds each flag, wherever it is, with a minimal change; the unit's
    C(ExecStart=) (continuation lines kept), a drop-in's C(ExecStart=) override, or the
    environment file that C(ExecStart=) reads through C($VAR).
  - Writes atomically and keeps a timestamped backup of each edited file next to it.
  - Does not restart or reload anything; RV(needs_daemon_reload) says when a unit file or drop-in
    changed. An environment file is read again at the next start without a reload.
options:
  component:
    description: The component whose flags are rewritten.
    type: str
    required: true
    choices: [kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy]
  target_version:
    description: The Kubernetes release the flags are written for (the binary the unit will run next), e.g. C(1.16.15).
    type: str
    required: true
  current_version:
    description:
      - The release the unit runs today. Only used to report RV(hop_changes), the flag part of the
        release notes between the two; the rewrite itself depends on O(target_version) alone.
      - Not read from the binary; pass the version from P(clusterops.k8s_upgrade.component_facts#module).
    type: str
  unit:
    description: The systemd unit. Defaults to O(component)C(.service).
    type: str
  binary:
    description:
      - Absolute path of the executable C(ExecStart=) should run, for example
        C(/opt/kubernetes/v1.16.15/bin/kube-apiserver). It is changed where C(ExecStart=) is
        written (the unit or the drop-in that overrides it), keeping any C(-@:+!) prefix.
      - This is the switch to another release's directory; restoring the backups in
        RV(backup_files) switches back.
      - Unset, the executable is left as it is.
    type: path
  root:
    description:
      - Directory the unit directories and environment file paths are looked up under, for an
        image or a chroot. C(/) on a live host.
    type: path
    default: /
  removed_flags:
    description:
      - What to do with a flag O(target_version) no longer accepts and that has no replacement.
      - V(fail) stops with a message naming each such flag, the release that removed it and what
        to do; V(drop) removes it and reports it in RV(dropped).
      - Either way, a flag whose value made it inert (for example C(--insecure-port=0)) is dropped,
        and a renamed flag is renamed.
    type: str
    choices: [fail, drop]
    default: fail
  verbosity:
    description: Set C(--v) to this level (the existing C(-v)/C(--v) is changed in its own spelling, or C(--v=N) is added).
    type: int
  set_flags:
    description:
      - Flags to set, name (without dashes) to value. An existing flag keeps its spelling and place;
        a repeated one is collapsed to one; a missing one is added after the last flag.
      - Setting a flag that O(target_version) removed fails.
    type: dict
    default: {}
  unset_flags:
    description: Flags (names without dashes) to remove wherever they are.
    type: list
    elements: str
    default: []
  backup:
    description: Keep a copy of each edited file next to it, named with a timestamp.
    type: bool
    default: true
attributes:
  check_mode:
    description: Reports the edits it would make and writes nothing.
    support: full
  diff_mode:
    description: Shows each edited file before and after, with its path as header.
    support: full
notes:
  - Flags set through C(Environment=) in a unit, or through C(${VAR}) inside a word, are read but
    cannot be edited; the module fails naming the flag when one of those would have to change.
author: clusterops maintainers (@clusterops)
"""

EXAMPLES = r"""
- name: Migrate the apiserver flags for 1.16, switch to its binary and raise verbosity
  clusterops.k8s_upgrade.component_flags:
    component: kube-apiserver
    current_version: 1.15.12
    target_version: 1.16.15
    binary: /opt/kubernetes/v1.16.15/bin/kube-apiserver
    verbosity: 4
  register: apiserver_flags

- name: Reload systemd when a unit file changed
  ansible.builtin.systemd_service:
    daemon_reload: true
  when: apiserver_flags.needs_daemon_reload

- name: Drop flags removed without replacement, and set one explicitly
  clusterops.k8s_upgrade.component_flags:
    component: kubelet
    target_version: 1.24.17
    removed_flags: drop
    set_flags:
      container-runtime-endpoint: unix:///run/containerd/containerd.sock
    unset_flags:
      - network-plugin
"""

RETURN = r"""
changed:
  description: Whether a file was (or in check mode would be) edited.
  returned: always
  type: bool
unit:
  description: The unit read.
  returned: always
  type: str
  sample: kube-apiserver.service
binary:
  description: The executable the unit runs after the rewrite (O(binary) when given).
  returned: always
  type: str
  sample: /opt/kubernetes/v1.16.15/bin/kube-apiserver
binary_before:
  description: The executable the unit ran before.
  returned: always
  type: str
  sample: /opt/kubernetes/v1.15.12/bin/kube-apiserver
flags_before:
  description: The arguments the unit gives the binary today, after systemd's expansion.
  returned: always
  type: list
  elements: str
  sample: ["--insecure-port=0", "--etcd-servers=https://10.0.0.1:2379", "--v=2"]
flags_after:
  description: The arguments after the rewrite.
  returned: always
  type: list
  elements: str
  sample: ["--etcd-servers=https://10.0.0.1:2379", "--v=4"]
renamed:
  description: Flags renamed (old, new, value, reason).
  returned: always
  type: list
  elements: dict
dropped:
  description: Flags dropped (flag, value, reason).
  returned: always
  type: list
  elements: dict
warned:
  description: Deprecated flags kept (flag, value, message); each is also an Ansible warning.
  returned: always
  type: list
  elements: dict
added:
  description: Flags added (flag, value).
  returned: always
  type: list
  elements: dict
changed_values:
  description: Flags whose value changed (flag, before, after).
  returned: always
  type: list
  elements: dict
files:
  description: The files edited (or that would be in check mode).
  returned: always
  type: list
  elements: str
  sample: [/etc/kubernetes/kube-apiserver.env]
flag_files:
  description: The files the flags are written in.
  returned: always
  type: list
  elements: str
backup_files:
  description: Edited file -> path of the backup kept next to it (empty in check mode or with O(backup=false)).
  returned: always
  type: dict
  sample: {/etc/kubernetes/kube-apiserver.env: /etc/kubernetes/kube-apiserver.env.4242.2026-11-25@23:10:01~}
needs_daemon_reload:
  description: True when a unit file or drop-in was edited (C(systemctl daemon-reload) is due before a restart).
  returned: always
  type: bool
hop_changes:
  description:
    - Flag changes of the releases between O(current_version) and O(target_version)
      (flag, change, minor, replacement, note, source); empty without O(current_version).
  returned: always
  type: list
  elements: dict
"""

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import component_switch as cs
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import flag_migration as fm
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import systemd_unit as su
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.release_data.flags import COMPONENTS
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.versions import VersionError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            component=dict(type="str", required=True, choices=list(COMPONENTS)),
            target_version=dict(type="str", required=True),
            current_version=dict(type="str"),
            unit=dict(type="str"),
            binary=dict(type="path"),
            root=dict(type="path", default="/"),
            removed_flags=dict(type="str", choices=list(fm.REMOVED_FLAGS_CHOICES), default="fail"),
            verbosity=dict(type="int"),
            set_flags=dict(type="dict", default={}),
            unset_flags=dict(type="list", elements="str", default=[]),
            backup=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    unit = p["unit"] or p["component"] + ".service"
    try:
        result, edits, _service = cs.plan_unit(
            p["component"], p["target_version"], binary=p["binary"], unit=unit, root=p["root"],
            removed_flags=p["removed_flags"], verbosity=p["verbosity"], set_flags=p["set_flags"],
            unset_flags=p["unset_flags"], current_version=p["current_version"])
    except (su.UnitError, fm.FlagMigrationError, VersionError) as exc:
        module.fail_json(msg="%s: %s" % (unit, to_native(exc)), unit=unit)
    except (IOError, OSError) as exc:
        module.fail_json(msg="%s: cannot read %s: %s" % (unit, getattr(exc, "filename", "a file"), to_native(exc)),
                         exception=traceback.format_exc(), unit=unit)

    for item in result["warned"]:
        module.warn(item["message"])
    if module._diff:
        result["diff"] = [dict(before_header=path, after_header=path, before=fe.before, after=fe.after)
                          for path, fe in sorted(edits.items())]
    if edits and not module.check_mode:
        try:
            cs.write_unit(cs.FileHost(module), result, edits, root=p["root"], backup=p["backup"])
        except cs.SwitchError as exc:
            module.fail_json(msg=to_native(exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
