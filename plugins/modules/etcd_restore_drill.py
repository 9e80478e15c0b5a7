#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: etcd_restore_drill
short_description: Prove that an etcd snapshot restores, with a throwaway etcd
description:
  - Checks the snapshot file (O(expected_sha256) when given), decrypts it when it is encrypted, and checks
    etcd's sha256 trailer; a corrupted snapshot or one without its trailer fails here.
  - Restores it into a fresh temporary directory (C(etcdutl snapshot restore) on etcd 3.5 and later,
    C(etcdctl snapshot restore) on 3.4, whichever exists), starts a throwaway C(etcd) on free loopback
    ports, reads the revision and the number of keys back, then stops it and deletes everything it made.
  - Fails when the restored revision differs from the snapshot's (and from O(expected_revision)), or the
    number of keys from O(expected_key_count) (the C(key_count) that M(clusterops.k8s_upgrade.etcd_snapshot) returns).
  - Touches no running cluster. In check mode it does the same (it only ever writes its own temporary
    directory) and reports C(changed=false).
version_added: 0.1.0
author: clusterops maintainers (@clusterops)
options:
  snapshot:
    description: The snapshot file on this host, plain or encrypted by M(clusterops.k8s_upgrade.etcd_snapshot).
    type: path
    required: true
  expected_sha256:
    description: sha256 the file must have (the C(sha256) returned by the snapshot, or its C(.sha256) file).
    type: str
  expected_revision:
    description: Revision the restored etcd must report.
    type: int
  expected_key_count:
    description: Number of keys the restored etcd must hold.
    type: int
  passphrase:
    description: Passphrase of an encrypted snapshot.
    type: str
  encryption_key_file:
    description: Key file of an encrypted snapshot.
    type: path
  work_dir:
    description: Directory in which the temporary restore directory is made (it needs about twice the snapshot's
      size); the snapshot's own directory when not given.
    type: path
  etcd_path:
    description: Path of the C(etcd) server binary; searched in C(PATH) and C(/usr/local/bin) when not given.
    type: path
  etcdctl_path:
    description: Path of C(etcdctl); searched like O(etcd_path).
    type: path
  etcdutl_path:
    description: Path of C(etcdutl) (etcd 3.5+); searched like O(etcd_path).
    type: path
  timeout:
    description: Seconds to wait for the throwaway etcd to answer.
    type: int
    default: 120
requirements:
  - etcd and etcdctl (and etcdutl on 3.5 and later) on the host
  - the cryptography Python library on the host for encrypted snapshots
notes:
  - Supports check mode.
seealso:
  - module: clusterops.k8s_upgrade.etcd_snapshot
"""

EXAMPLES = r"""
- name: Prove the snapshot restores
  clusterops.k8s_upgrade.etcd_restore_drill:
    snapshot: "{{ snapshot.path }}"
    expected_sha256: "{{ snapshot.sha256 }}"
    expected_revision: "{{ snapshot.revision }}"
    expected_key_count: "{{ snapshot.key_count }}"
"""

RETURN = r"""
revision:
  description: Revision the restored etcd reported.
  returned: success
  type: int
key_count:
  description: Keys the restored etcd held.
  returned: success
  type: int
snapshot_revision:
  description: Revision recorded in the snapshot (C(snapshot status)).
  returned: success
  type: int
total_keys:
  description: C(snapshot status) C(totalKey) of the snapshot.
  returned: success
  type: int
hash:
  description: C(snapshot status) hash of the snapshot.
  returned: success
  type: int
encrypted:
  description: Whether the snapshot file was encrypted.
  returned: success
  type: bool
tool_layout:
  description: C(etcdutl) or C(etcdctl), the binary used for status and restore.
  returned: success
  type: str
etcd_start_seconds:
  description: Time from the restored data dir to an answering etcd with the keys read back.
  returned: success
  type: float
seconds:
  description: Time the whole drill took.
  returned: success
  type: float
cleaned_up:
  description: Whether the temporary directory is gone.
  returned: success
  type: bool
"""


from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import etcd_crypto
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.etcd_drill import drill
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.etcd_snapshot import find_tool, C_ENV, SnapshotError, Tools


def main():
    module = AnsibleModule(
        argument_spec=dict(
            snapshot=dict(type="path", required=True),
            expected_sha256=dict(type="str"),
            expected_revision=dict(type="int"),
            expected_key_count=dict(type="int"),
            passphrase=dict(type="str", no_log=True),
            encryption_key_file=dict(type="path", no_log=False),
            work_dir=dict(type="path"),
            etcd_path=dict(type="path"),
            etcdctl_path=dict(type="path"),
            etcdutl_path=dict(type="path"),
            timeout=dict(type="int", default=120),
        ),
        mutually_exclusive=[("passphrase", "encryption_key_file")],
        supports_check_mode=True,
    )
    p = module.params
    tools = Tools(etcdctl=find_tool(module, "etcdctl", p["etcdctl_path"]),
                  etcdutl=find_tool(module, "etcdutl", p["etcdutl_path"]),
                  etcd=find_tool(module, "etcd", p["etcd_path"]))
    try:
        secret = etcd_crypto.read_secret(p["passphrase"], p["encryption_key_file"])
        if secret is not None and not etcd_crypto.HAS_CRYPTOGRAPHY:
            module.fail_json(msg=missing_required_lib("cryptography", reason="to decrypt snapshots (Debian: python3-cryptography)"),
                             exception=etcd_crypto.CRYPTOGRAPHY_IMPORT_ERROR)

        def run(argv):
            return module.run_command(argv, environ_update=C_ENV)

        result = drill(run, tools, p["snapshot"], secret=secret, expected_sha256=p["expected_sha256"],
                       expected_revision=p["expected_revision"], expected_key_count=p["expected_key_count"],
                       work_parent=p["work_dir"], timeout=p["timeout"])
    except (SnapshotError, etcd_crypto.CryptoError) as exc:
        figures = exc.args[1] if len(exc.args) > 1 else {}
        module.fail_json(msg=str(exc.args[0]), **figures)
    except (IOError, OSError) as exc:
        module.fail_json(msg="the restore drill of %s failed: %s (check free space in work_dir and permissions)" % (p["snapshot"], exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
