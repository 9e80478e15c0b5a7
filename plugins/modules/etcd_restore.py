#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: etcd_restore
short_description: Restore one etcd member's data directory from a snapshot (disaster recovery)
description:
  - Part of a multi-member restore (see C(playbooks/etcd_restore.yml)) run on every member with the same snapshot,
    that member's O(name) and O(initial_advertise_peer_urls), one shared O(initial_cluster) and a new
    O(initial_cluster_token). etcd must be stopped on the member.
  - Checks the snapshot (O(expected_sha256), decryption, etcd's sha256 trailer), restores it into a new directory
    beside O(data_dir) (C(etcdutl snapshot restore) on etcd 3.5+, C(etcdctl snapshot restore) on 3.4), then moves an
    existing O(data_dir) aside to C(<data_dir>.before-restore-<UTC timestamp>) and puts the new one in its place.
    A failed restore leaves the existing data directory as it was.
  - In check mode reports what it would do and changes nothing.
version_added: 0.1.0
author: clusterops maintainers (@clusterops)
options:
  snapshot:
    description: The snapshot file on this host, plain or encrypted by M(clusterops.k8s_upgrade.etcd_snapshot).
    type: path
    required: true
  data_dir:
    description: The member's data directory (C(--data-dir) of the etcd service).
    type: path
    required: true
  name:
    description: The member's name (C(--name) of the etcd service).
    type: str
    required: true
  initial_advertise_peer_urls:
    description: The member's peer URL, for example V(https://10.0.0.11:2380).
    type: str
    required: true
  initial_cluster:
    description: Every member, C(NAME=PEER_URL) joined by commas, the same on every member.
    type: str
    required: true
  initial_cluster_token:
    description: A token new to this cluster, the same on every member, so restored members never join old ones.
    type: str
    required: true
  expected_sha256:
    description: sha256 the snapshot file must have.
    type: str
  passphrase:
    description: Passphrase of an encrypted snapshot.
    type: str
  encryption_key_file:
    description: Key file of an encrypted snapshot.
    type: path
  owner:
    description: User that owns the restored data directory (the user etcd runs as).
    type: str
  group:
    description: Group that owns the restored data directory.
    type: str
  etcdctl_path:
    description: Path of C(etcdctl); searched in C(PATH) and C(/usr/local/bin) when not given.
    type: path
  etcdutl_path:
    description: Path of C(etcdutl) (etcd 3.5+); searched like O(etcdctl_path).
    type: path
requirements:
  - etcdctl (etcd 3.4) or etcdutl (3.5+) on the host
  - the cryptography Python library on the host for encrypted snapshots
notes:
  - Supports check mode.
seealso:
  - module: clusterops.k8s_upgrade.etcd_snapshot
  - module: clusterops.k8s_upgrade.etcd_restore_drill
"""

EXAMPLES = r"""
- name: Restore this member from the snapshot
  clusterops.k8s_upgrade.etcd_restore:
    snapshot: /var/backups/etcd/prod-etcd-20261125T231502Z.db
    data_dir: /var/lib/etcd
    name: etcd1
    initial_advertise_peer_urls: https://10.0.0.11:2380
    initial_cluster: etcd1=https://10.0.0.11:2380,etcd2=https://10.0.0.12:2380,etcd3=https://10.0.0.13:2380
    initial_cluster_token: prod-restored-20261125
"""

RETURN = r"""
data_dir:
  description: The restored data directory.
  returned: always
  type: str
moved_aside:
  description: Where the previous data directory was moved (null when there was none).
  returned: success, not in check mode
  type: str
revision:
  description: Revision of the snapshot restored.
  returned: success, not in check mode
  type: int
total_keys:
  description: C(snapshot status) C(totalKey) of the snapshot.
  returned: success, not in check mode
  type: int
encrypted:
  description: Whether the snapshot file was encrypted.
  returned: success, not in check mode
  type: bool
tool_layout:
  description: C(etcdutl) or C(etcdctl), the binary used for status and restore.
  returned: success, not in check mode
  type: str
"""

import grp
import os
import pwd

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import etcd_crypto
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.etcd_drill import restore_member
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.etcd_snapshot import find_tool, C_ENV, SnapshotError, Tools


def main():
    module = AnsibleModule(
        argument_spec=dict(
            snapshot=dict(type="path", required=True),
            data_dir=dict(type="path", required=True),
            name=dict(type="str", required=True),
            initial_advertise_peer_urls=dict(type="str", required=True),
            initial_cluster=dict(type="str", required=True),
            initial_cluster_token=dict(type="str", required=True, no_log=False),
            expected_sha256=dict(type="str"),
            passphrase=dict(type="str", no_log=True),
            encryption_key_file=dict(type="path", no_log=False),
            owner=dict(type="str"),
            group=dict(type="str"),
            etcdctl_path=dict(type="path"),
            etcdutl_path=dict(type="path"),
        ),
        mutually_exclusive=[("passphrase", "encryption_key_file")],
        supports_check_mode=True,
    )
    p = module.params
    if "%s=" % p["name"] not in p["initial_cluster"]:
        module.fail_json(msg="initial_cluster %s does not list this member %s" % (p["initial_cluster"], p["name"]))
    try:
        uid = pwd.getpwnam(p["owner"]).pw_uid if p["owner"] else None
        gid = grp.getgrnam(p["group"]).gr_gid if p["group"] else None
    except KeyError as exc:
        module.fail_json(msg="unknown owner or group on this host: %s" % exc)
    present = os.path.isfile(p["snapshot"])
    if module.check_mode:
        # In a rehearsal the copy to this host was itself only simulated.
        note = "" if present else " (the snapshot is not on this host yet)"
        module.exit_json(changed=True, data_dir=p["data_dir"],
                         msg="would restore %s into %s as member %s%s" % (p["snapshot"], p["data_dir"], p["name"], note))
    if not present:
        module.fail_json(msg="snapshot %s does not exist on this host: copy it here first" % p["snapshot"])
    tools = Tools(etcdctl=find_tool(module, "etcdctl", p["etcdctl_path"]),
                  etcdutl=find_tool(module, "etcdutl", p["etcdutl_path"]))
    try:
        secret = etcd_crypto.read_secret(p["passphrase"], p["encryption_key_file"])
        if secret is not None and not etcd_crypto.HAS_CRYPTOGRAPHY:
            module.fail_json(msg=missing_required_lib("cryptography", reason="to decrypt snapshots (Debian: python3-cryptography)"),
                             exception=etcd_crypto.CRYPTOGRAPHY_IMPORT_ERROR)

        def run(argv):
            return module.run_command(argv, environ_update=C_ENV)

        result = restore_member(run, tools, p["snapshot"], p["data_dir"], p["name"], p["initial_advertise_peer_urls"],
                                p["initial_cluster"], p["initial_cluster_token"], secret=secret,
                                expected_sha256=p["expected_sha256"], owner=uid, group=gid)
    except (SnapshotError, etcd_crypto.CryptoError) as exc:
        module.fail_json(msg=str(exc.args[0]), data_dir=p["data_dir"])
    except (IOError, OSError) as exc:
        module.fail_json(msg="restoring %s into %s failed: %s" % (p["snapshot"], p["data_dir"], exc), data_dir=p["data_dir"])
    module.exit_json(changed=True, **result)


if __name__ == "__main__":
    main()
