#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: etcd_snapshot
short_description: Take a verified etcd snapshot, optionally encrypted, with retention
description:
  - Runs C(etcdctl snapshot save) against one etcd endpoint into O(dest), under the name
    C(<cluster_name>-etcd-<UTC timestamp>.db) (C(.db.enc) when encrypted).
  - Verifies the snapshot two ways while it is written and right after, and fails unless both pass
    - the sha256 trailer etcd appends to every snapshot (C(sha256(file[:-32]) == file[-32:])), computed
      on the fly from the growing file, so a corrupted or truncated stream is caught; and
      C(snapshot status) (C(etcdutl) on etcd 3.5 and later, C(etcdctl) on 3.4, whichever exists),
      which reads the revision, the number of keys and the hash.
  - Writes C(NAME.sha256) beside the snapshot in C(sha256sum) format (checksum of the file at rest).
    Both files are mode C(0600), owned by root when the module runs as root.
  - Never leaves a partial file and never overwrites an existing snapshot; the work is done in a private
    temporary directory inside O(dest) and the finished files are linked into place.
  - With O(keep), deletes this module's own older snapshots of the same O(cluster_name) (and their
    C(.sha256) files) so that O(keep) remain. No other file is touched.
  - With O(passphrase) or O(encryption_key_file), encrypts at rest with AES-256-GCM (chunked, authenticated,
    key from scrypt) while the snapshot is written; the plaintext exists only in the private temporary
    directory until the save is verified.
  - In check mode reports the path it would write and what it would prune, and writes nothing.
version_added: 0.1.0
author: clusterops maintainers (@clusterops)
options:
  endpoint:
    description: The one client URL of the etcd member to snapshot, for example V(https://10.0.0.11:2379).
    type: str
    required: true
  cacert:
    description: CA bundle that signed the etcd server certificate.
    type: path
  cert:
    description: Client certificate for etcd.
    type: path
  key:
    description: Path of the client certificate's private key (the path is not secret).
    type: path
  dest:
    description: Directory for the snapshots; created with mode C(0700) when missing.
    type: path
    required: true
  cluster_name:
    description: Names the snapshot and scopes the retention; letters, digits, C(.), C(_) and C(-).
    type: str
    required: true
  keep:
    description:
      - Number of this module's snapshots of O(cluster_name) to keep in O(dest), the new one included.
        C(0) keeps all.
    type: int
    default: 0
  passphrase:
    description: Encrypt the snapshot at rest with a key derived from this passphrase.
    type: str
  encryption_key_file:
    description: Encrypt the snapshot at rest with a key derived from the content of this file (kept secret by you).
    type: path
  etcdctl_path:
    description: Path of C(etcdctl); searched in C(PATH) and C(/usr/local/bin) when not given.
    type: path
  etcdutl_path:
    description: Path of C(etcdutl) (etcd 3.5+); searched like O(etcdctl_path). When absent, C(etcdctl) is used.
    type: path
  dial_timeout:
    description: Seconds C(etcdctl) waits to connect.
    type: int
    default: 5
  timeout:
    description: Seconds the save may take before it is stopped and reported as failed.
    type: int
    default: 900
requirements:
  - etcdctl (and etcdutl on etcd 3.5 and later) on the host
  - the cryptography Python library on the host when encrypting
notes:
  - Supports check mode.
  - The snapshot holds every Secret of the cluster. Keep O(dest) on root-owned storage.
seealso:
  - module: clusterops.k8s_upgrade.etcd_restore_drill
  - module: clusterops.k8s_upgrade.etcd_restore
"""

EXAMPLES = r"""
- name: Snapshot etcd, keep the last five
  clusterops.k8s_upgrade.etcd_snapshot:
    endpoint: https://10.0.0.11:2379
    cacert: /etc/ssl/etcd/ssl/ca.pem
    cert: /etc/ssl/etcd/ssl/admin-etcd1.pem
    key: /etc/ssl/etcd/ssl/admin-etcd1-key.pem
    dest: /var/backups/etcd
    cluster_name: prod
    keep: 5
  register: snapshot

- name: Snapshot etcd, encrypted at rest
  clusterops.k8s_upgrade.etcd_snapshot:
    endpoint: https://10.0.0.11:2379
    cacert: /etc/ssl/etcd/ssl/ca.pem
    cert: /etc/ssl/etcd/ssl/admin-etcd1.pem
    key: /etc/ssl/etcd/ssl/admin-etcd1-key.pem
    dest: /var/backups/etcd
    cluster_name: prod
    passphrase: "{{ vault_etcd_backup_passphrase }}"
"""

RETURN = r"""
path:
  description: The snapshot written (or that would be written in check mode).
  returned: always
  type: str
  sample: /var/backups/etcd/prod-etcd-20261125T231502Z.db
sha256_path:
  description: The C(sha256sum) file beside it.
  returned: always
  type: str
size:
  description: Size in bytes of the file at rest.
  returned: success, not in check mode
  type: int
sha256:
  description: sha256 of the file at rest (the encrypted file when encrypted).
  returned: success, not in check mode
  type: str
snapshot_sha256:
  description: sha256 of the plain snapshot (equal to RV(sha256) when not encrypted).
  returned: success, not in check mode
  type: str
encrypted:
  description: Whether the file at rest is encrypted.
  returned: always
  type: bool
revision:
  description: The etcd revision the snapshot holds (C(snapshot status)).
  returned: success, not in check mode
  type: int
total_keys:
  description: Keys in the snapshot's database, all buckets and revisions (C(snapshot status) C(totalKey)).
  returned: success, not in check mode
  type: int
hash:
  description: The C(snapshot status) hash (CRC32-C of keys and values).
  returned: success, not in check mode
  type: int
key_count:
  description:
    - Live keys the cluster held at the snapshot's revision, read from the endpoint; what a restore must give back.
    - Null when that revision was compacted before it could be read.
  returned: success, not in check mode
  type: int
pruned:
  description: Older snapshots of this cluster deleted (or that would be deleted) by O(keep).
  returned: always
  type: list
  elements: str
tool_layout:
  description: C(etcdutl) (3.5+) or C(etcdctl) (3.4), the binary used for C(snapshot status).
  returned: success, not in check mode
  type: str
etcd_version:
  description: The etcd server version reported by the endpoint.
  returned: success, not in check mode
  type: str
seconds:
  description: Time the save, verification and retention took.
  returned: success, not in check mode
  type: float
timings:
  description: Seconds per step (C(probe) runs beside C(save); C(status), C(key_count), C(finish) after it).
  returned: success, not in check mode
  type: dict
  sample: {"probe": 0.04, "save": 2.1, "status": 0.12, "key_count": 0.03, "finish": 0.01}
"""

import datetime
import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import etcd_crypto
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.etcd_snapshot import (
    find_tool,
    C_ENV,
    Connection,
    SnapshotError,
    Tools,
    plan,
    save,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            endpoint=dict(type="str", required=True),
            cacert=dict(type="path"),
            cert=dict(type="path"),
            key=dict(type="path", no_log=False),
            dest=dict(type="path", required=True),
            cluster_name=dict(type="str", required=True),
            keep=dict(type="int", default=0),
            passphrase=dict(type="str", no_log=True),
            encryption_key_file=dict(type="path", no_log=False),
            etcdctl_path=dict(type="path"),
            etcdutl_path=dict(type="path"),
            dial_timeout=dict(type="int", default=5),
            timeout=dict(type="int", default=900),
        ),
        mutually_exclusive=[("passphrase", "encryption_key_file")],
        supports_check_mode=True,
    )
    p = module.params
    if p["keep"] < 0:
        module.fail_json(msg="keep must be 0 (keep all) or a positive number of snapshots")
    encrypt = bool(p["passphrase"] or p["encryption_key_file"])
    if encrypt and not etcd_crypto.HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography", reason="to encrypt snapshots (Debian: python3-cryptography)"),
                         exception=etcd_crypto.CRYPTOGRAPHY_IMPORT_ERROR)
    dest = p["dest"]
    result = dict(changed=False, encrypted=encrypt)
    try:
        if module.check_mode:
            the_plan = plan(dest, p["cluster_name"], p["keep"], encrypt, datetime.datetime.now(datetime.timezone.utc))
            if the_plan["exists"]:
                module.fail_json(msg="%s already exists; snapshots are never overwritten" % the_plan["path"], **result)
            result.update(changed=True, path=the_plan["path"], sha256_path=the_plan["path"] + ".sha256", pruned=the_plan["pruned"])
            module.exit_json(**result)

        tools = Tools(etcdctl=find_tool(module, "etcdctl", p["etcdctl_path"]),
                      etcdutl=find_tool(module, "etcdutl", p["etcdutl_path"]))
        secret = etcd_crypto.read_secret(p["passphrase"], p["encryption_key_file"]) if encrypt else None
        if not os.path.isdir(dest):
            os.makedirs(dest, 0o700)
        conn = Connection(p["endpoint"], p["cacert"], p["cert"], p["key"], dial_timeout=p["dial_timeout"])
        for option in ("cacert", "cert", "key"):
            if p[option] and not os.path.isfile(p[option]):
                module.fail_json(msg="%s file %s does not exist on this host" % (option, p[option]))

        def run(argv):
            return module.run_command(argv, environ_update=C_ENV)

        result.update(save(run, tools, conn, dest, p["cluster_name"], keep=p["keep"], secret=secret, timeout=p["timeout"]))
    except (SnapshotError, etcd_crypto.CryptoError) as exc:
        module.fail_json(msg=str(exc.args[0]), **result)
    except (IOError, OSError) as exc:
        module.fail_json(msg="writing the snapshot into %s failed: %s (check free space and permissions); nothing was left behind"
                         % (dest, exc), **result)
    result["changed"] = True
    module.exit_json(**result)


if __name__ == "__main__":
    main()
