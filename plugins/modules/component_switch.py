#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: component_switch
short_description: Switch a host's Kubernetes components to a release, restart them and wait until healthy
version_added: "0.2.0"
description:
  - Switches the Kubernetes components of one host (kube-apiserver, kube-scheduler,
    kube-controller-manager, kubelet, kube-proxy) to the binaries of O(target_version), which must
    already be staged under O(install_root)C(/vX.Y.Z/bin/).
  - For each component, rewrites its unit as P(clusterops.k8s_upgrade.component_flags#module) does
    (flags migrated for the target, C(--v) set, the executable moved to the target's directory, a
    backup kept next to each edited file). Then reloads systemd once when a unit file changed, and
    restarts the components in the order of O(components), waiting for each before the next one -
    the unit active, its process running the binary from the target's directory, its health URL
    answering 200 and, for kube-apiserver, C(/version) reporting the target.
  - A component whose unit already names the target but whose process still runs another binary (a
    run interrupted between the rewrite and the restart) is restarted; one that runs the target is
    left alone, so a re-run changes nothing.
  - With O(restore), undoes an earlier switch from the backups it recorded (RV(switched)) instead -
    puts the unit files back, reloads systemd and restarts each component that does not run its
    previous release, waiting until it is healthy there.
  - One task per host instead of one per step; the logic is in C(module_utils/component_switch.py).
options:
  components:
    description: The components to switch, in the order they restart.
    type: list
    elements: str
    choices: [kube-apiserver, kube-scheduler, kube-controller-manager, kubelet, kube-proxy]
    default: []
  current_versions:
    description:
      - Component -> the release it runs now (from P(clusterops.k8s_upgrade.component_facts#module)),
        recorded in RV(switched) so that a restore knows the release to go back to.
    type: dict
    default: {}
  units:
    description: Component -> its systemd unit, where it is not C(NAME.service).
    type: dict
    default: {}
  target_version:
    description: The release to switch to, e.g. C(1.32.11). Required unless O(restore) is given.
    type: str
  install_root:
    description: Root of the versioned install directories (C(ROOT/vX.Y.Z/bin/NAME)).
    type: path
    default: /opt/kubernetes
  verbosity:
    description: C(--v) of the new processes; unset leaves C(--v) as it is.
    type: int
  removed_flags:
    description: A flag the target removed without replacement is refused (V(fail)) or dropped (V(drop)).
    type: str
    choices: [fail, drop]
    default: fail
  ready_timeout:
    description: Seconds each restarted component may take to become healthy.
    type: int
    default: 300
  probe_interval:
    description: Seconds between two probes of a restarted component.
    type: float
    default: 1
  state_files:
    description:
      - The kubelet's state files. Those that exist are copied into O(state_backup_dir) just before
        the kubelet restarts.
      - The new kubelet may refuse one because an older release wrote it. When the kubelet exits after
        its restart and its journal names one of them in a failure, the file is moved aside (kept as
        C(FILE.refused-<UTC time>)) and the kubelet restarted, at most once per file.
    type: list
    elements: path
    default: []
  state_backup_dir:
    description: The state files are copied into a new directory C(<UTC time>) under this one (mode 0700); unset, no copy.
    type: path
  apiserver_url:
    description: Base URL of this host's apiserver, for its C(/version) check.
    type: str
  ca_path:
    description: CA bundle the apiserver's serving certificate is verified against.
    type: path
  restore:
    description:
      - RV(switched) of an earlier switch of this host. Given, the module undoes that switch instead
        of switching; an empty list does nothing.
    type: list
    elements: dict
attributes:
  check_mode:
    description: Reports the plan (RV(plan), RV(components)) and changes nothing.
    support: full
  diff_mode:
    description: Shows each unit file it edits, before and after.
    support: full
notes:
  - The kubelet's and kube-proxy's health endpoints are plain HTTP on loopback; kube-apiserver's is
    verified against O(ca_path); the scheduler's and controller-manager's secure ports are probed
    without verification (self-signed unless the operator gave them a certificate; the answer holds no secret).
author: clusterops maintainers (@clusterops)
"""

EXAMPLES = r"""
- name: Restart kubelet and kube-proxy on the target release and wait until healthy
  clusterops.k8s_upgrade.component_switch:
    components: [kubelet, kube-proxy]
    current_versions: {kubelet: 1.31.14, kube-proxy: 1.31.14}
    target_version: 1.32.11
    verbosity: 4
    state_files: [/var/lib/kubelet/cpu_manager_state]
    state_backup_dir: /var/lib/kubelet/clusterops-backups
  register: node_switch

- name: Switch them back
  clusterops.k8s_upgrade.component_switch:
    restore: "{{ node_switch.switched }}"
  when: node_switch.switched | default([]) | length > 0
"""

RETURN = r"""
components:
  description:
    - Per component, the rewrite as P(clusterops.k8s_upgrade.component_flags#module) reports it
      (unit, binary_before, binary, flags_before, flags_after, renamed, dropped, added,
      changed_values, files, backup_files) with name, current_version, target_version,
      running_path (before the switch) and restart (whether it restarts).
  returned: when switching
  type: list
  elements: dict
plan:
  description: One line per component that restarts, as --check shows it.
  returned: when switching
  type: list
  elements: str
  sample:
    - >-
      kubelet: 1.31.14 -> 1.32.11; binary /opt/kubernetes/v1.31.14/bin/kubelet -> /opt/kubernetes/v1.32.11/bin/kubelet;
      flags v changed; would edit /etc/kubernetes/kubelet.env and restart kubelet.service
switched:
  description: What O(restore) needs to undo this switch (name, unit, version before, backup_files), in restart order; also on failure.
  returned: always
  type: list
  elements: dict
state_backup:
  description: Where the kubelet's state files were copied before its restart (dir, files); null when the kubelet did not restart.
  returned: when switching
  type: dict
refused:
  description: State files moved aside because the new kubelet refused them.
  returned: when switching
  type: list
  elements: str
restored:
  description: The components put back.
  returned: with O(restore)
  type: list
  elements: str
waited_s:
  description: Seconds from the first restart until the last component was healthy (the restart and readiness waits).
  returned: always
  type: float
reload_s:
  description: Seconds the systemd reload took before the restarts (0 when no unit file changed).
  returned: when switching
  type: float
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.six.moves.urllib.error import HTTPError
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import component_switch as cs

COMPONENTS = ("kube-apiserver", "kube-scheduler", "kube-controller-manager", "kubelet", "kube-proxy")


class ModuleHost(cs.FileHost):
    """The host side of a switch, through AnsibleModule."""

    def run(self, argv):
        return self.module.run_command(argv, environ_update={"LANGUAGE": "C", "LC_ALL": "C"})

    def http_get(self, url, ca_path=None, validate_certs=True):
        # Imported here, at the first probe: its import (urllib, ssl, http.client) takes a good part of the
        # module's start-up on a node, and with several nodes per batch that delays every restart.
        from ansible.module_utils.urls import open_url  # pylint: disable=import-outside-toplevel

        try:
            response = open_url(url, timeout=5, validate_certs=validate_certs, ca_path=ca_path)
            return response.getcode(), to_native(response.read())
        except HTTPError as exc:
            return exc.code, to_native(exc.read() or b"")
        except Exception as exc:  # pylint: disable=broad-except
            # refused, reset, a TLS error: all mean "not yet"
            return None, to_native(exc)

    def move(self, source, dest):
        if os.path.lexists(dest):
            raise OSError("refusing to overwrite %s" % dest)
        os.rename(source, dest)

    def sleep(self, seconds):
        time.sleep(seconds)

    def now(self):
        return time.time()

    def utc_stamp(self):
        return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def main():
    module = AnsibleModule(
        argument_spec=dict(
            components=dict(type="list", elements="str", default=[], choices=list(COMPONENTS)),
            current_versions=dict(type="dict", default={}),
            units=dict(type="dict", default={}),
            target_version=dict(type="str"),
            install_root=dict(type="path", default="/opt/kubernetes"),
            verbosity=dict(type="int"),
            removed_flags=dict(type="str", choices=["fail", "drop"], default="fail"),
            ready_timeout=dict(type="int", default=300),
            probe_interval=dict(type="float", default=1),
            state_files=dict(type="list", elements="path", default=[]),
            state_backup_dir=dict(type="path"),
            apiserver_url=dict(type="str"),
            ca_path=dict(type="path"),
            restore=dict(type="list", elements="dict"),
        ),
        required_one_of=[("target_version", "restore")],
        mutually_exclusive=[("target_version", "restore")],
        supports_check_mode=True,
    )
    p = module.params
    host = ModuleHost(module)
    common = dict(install_root=p["install_root"], ready_timeout=p["ready_timeout"], probe_interval=p["probe_interval"],
                  apiserver_url=p["apiserver_url"], ca_path=p["ca_path"], check_mode=module.check_mode)
    try:
        if p["restore"] is not None:
            result = cs.restore(host, p["restore"], **common)
        else:
            components = [dict(name=name, current_version=p["current_versions"].get(name), unit=p["units"].get(name))
                          for name in p["components"]]
            result = cs.switch(host, components, p["target_version"], verbosity=p["verbosity"],
                               removed_flags=p["removed_flags"], state_files=p["state_files"],
                               state_backup_dir=p["state_backup_dir"], **common)
    except cs.SwitchError as exc:
        failed = _public(exc.result)
        failed.pop("diffs", None)
        module.fail_json(msg=to_native(exc), **failed)
    diffs = result.pop("diffs", [])
    if module._diff:
        result["diff"] = [dict(before_header=path, after_header=path, before=before, after=after)
                          for path, before, after in diffs]
    module.exit_json(**_public(result))


def _public(result):
    """The result without the internal health flags (they repeat flags_after)."""
    result = dict(result)
    result["components"] = [dict((k, v) for k, v in entry.items() if k != "health_flags")
                            for entry in result.get("components", [])]
    if not result["components"] and "restored" in result:
        result.pop("components")
    result.setdefault("switched", [])
    return result


if __name__ == "__main__":
    main()
