# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restore drills and member restores from an etcd snapshot.

A drill proves a snapshot restores: verify it (checksum of the file at rest, decryption, sha256
trailer), `snapshot restore` it into a fresh directory, start a throwaway etcd on free loopback
ports, read the revision and the number of keys back, compare them with what the snapshot and
the live cluster reported at snapshot time, stop it and delete everything it made.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import etcd_crypto
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.etcd_snapshot import (
    C_ENV,
    READ_CHUNK,
    Connection,
    SnapshotError,
    StopOnSignal,
    TrailerHasher,
    count_argv,
    endpoint_status_argv,
    last_error_line,
    parse_count,
    restore_argv,
    snapshot_status,
    trailer_error,
)


def free_loopback_ports(count):
    """`count` distinct TCP ports free on 127.0.0.1 right now."""
    socks, ports = [], []
    try:
        for _i in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(READ_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def prepare_plain(snapshot, work, secret=None, expected_sha256=None):
    """Checks the file at rest, decrypts it when needed, checks the trailer.

    Returns (path of the plain snapshot to restore, facts). Plain snapshots are used in place;
    encrypted ones are decrypted into `work`.
    """
    if not os.path.isfile(snapshot):
        raise SnapshotError("snapshot %s does not exist or is not a file" % snapshot)
    facts = {"encrypted": etcd_crypto.is_encrypted(snapshot)}
    if expected_sha256:
        actual = file_sha256(snapshot)
        facts["sha256"] = actual
        if actual != expected_sha256.lower():
            raise SnapshotError("%s has sha256 %s, expected %s: the copy is damaged; fetch it again" % (snapshot, actual, expected_sha256))
    if not facts["encrypted"]:
        result = _hash_plain(snapshot)
        plain = snapshot
    else:
        if secret is None:
            raise SnapshotError("%s is encrypted: give the passphrase or key file it was encrypted with" % snapshot)
        plain = os.path.join(work, "snapshot.db")
        hasher = TrailerHasher()
        with open(snapshot, "rb") as src, open(plain, "wb") as dst:
            os.chmod(plain, 0o600)

            def write(data):
                dst.write(data)
                hasher.update(data)

            try:
                etcd_crypto.decrypt_stream(secret, src, write)
            except etcd_crypto.CryptoError as exc:
                raise SnapshotError("%s: %s" % (snapshot, exc))
        result = hasher.result()
    if not result["trailer_ok"]:
        raise SnapshotError(trailer_error(snapshot, result))
    facts["snapshot_sha256"] = result["sha256"]
    return plain, facts


def _hash_plain(path):
    hasher = TrailerHasher()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(READ_CHUNK), b""):
            hasher.update(chunk)
    return hasher.result()


def _env():
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith("ETCD_"))  # no stray config
    env.update(C_ENV)
    return env


def start_etcd(etcd, data_dir, name, client_port, peer_port, log_path):
    client = "http://127.0.0.1:%d" % client_port
    peer = "http://127.0.0.1:%d" % peer_port
    argv = [etcd, "--name=%s" % name, "--data-dir=%s" % data_dir,
            "--listen-client-urls=%s" % client, "--advertise-client-urls=%s" % client,
            "--listen-peer-urls=%s" % peer, "--initial-advertise-peer-urls=%s" % peer,
            "--initial-cluster=%s=%s" % (name, peer)]
    log = open(log_path, "wb")
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=_env(), start_new_session=True)
    finally:
        log.close()
    return proc, client


def stop_process(proc, grace=10):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _tail(path, lines=5):
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except (IOError, OSError):
        return ""
    return " | ".join(text.strip().splitlines()[-lines:])


def drill(run, tools, snapshot, secret=None, expected_sha256=None, expected_revision=None,
          expected_key_count=None, work_parent=None, timeout=120):
    """Runs a restore drill; returns the figures or raises SnapshotError on any mismatch.

    A signal that stops the module stops the throwaway etcd and removes its directory too.
    """
    with StopOnSignal():
        return _drill(run, tools, snapshot, secret, expected_sha256, expected_revision, expected_key_count,
                      work_parent, timeout)


def _drill(run, tools, snapshot, secret, expected_sha256, expected_revision, expected_key_count, work_parent, timeout):
    if not tools.etcd:
        raise SnapshotError("the etcd server binary was not found on this host: install etcd-server (Debian) or set etcd_path")
    if not os.path.isfile(snapshot):
        raise SnapshotError("snapshot %s does not exist or is not a file" % snapshot)
    started = time.monotonic()
    # Beside the snapshot by default: that filesystem had room for it, a small /tmp may not.
    work = tempfile.mkdtemp(prefix=".etcd-restore-drill-", dir=work_parent or os.path.dirname(os.path.abspath(snapshot)))
    proc = None
    try:
        plain, facts = prepare_plain(snapshot, work, secret, expected_sha256)
        status = snapshot_status(run, tools, plain)
        name = "restore-drill"
        client_port, peer_port = free_loopback_ports(2)
        data_dir = os.path.join(work, "data")
        peer = "http://127.0.0.1:%d" % peer_port
        rc, out, err = run(restore_argv(tools, plain, data_dir, name, peer, token="restore-drill-%d" % os.getpid()))
        if rc != 0:
            raise SnapshotError("`%s snapshot restore` of %s failed (rc %d): %s"
                                % (os.path.basename(tools.offline_tool), snapshot, rc, last_error_line(err or out)))
        restored_at = time.monotonic()
        proc, client = start_etcd(tools.etcd, data_dir, name, client_port, peer_port, os.path.join(work, "etcd.log"))
        conn = Connection(client, dial_timeout=2, command_timeout=10)
        deadline = time.monotonic() + timeout
        while True:
            rc, out, err = run(endpoint_status_argv(tools, conn))
            if rc == 0:
                break
            if proc.poll() is not None:
                raise SnapshotError("the throwaway etcd exited (rc %s) on the restored data: %s" % (proc.returncode, _tail(os.path.join(work, "etcd.log"))))
            if time.monotonic() > deadline:
                raise SnapshotError("the throwaway etcd on %s did not answer within %d s: %s" % (client, timeout, last_error_line(err or out)))
            time.sleep(0.2)
        rc, out, err = run(count_argv(tools, conn))
        if rc != 0:
            raise SnapshotError("reading the keys back from the restored etcd failed: %s" % last_error_line(err or out))
        revision, key_count = parse_count(out)
        started_in = time.monotonic() - restored_at
    finally:
        if proc is not None:
            stop_process(proc)
        shutil.rmtree(work, ignore_errors=True)

    problems = []
    if revision != status["revision"]:
        problems.append("restored revision %d != snapshot revision %d" % (revision, status["revision"]))
    if expected_revision is not None and revision != expected_revision:
        problems.append("restored revision %d != expected revision %d" % (revision, expected_revision))
    if expected_key_count is not None and key_count != expected_key_count:
        problems.append("restored key count %d != expected key count %d" % (key_count, expected_key_count))
    result = {
        "snapshot": snapshot,
        "encrypted": facts["encrypted"],
        "revision": revision,
        "key_count": key_count,
        "snapshot_revision": status["revision"],
        "total_keys": status["total_keys"],
        "hash": status["hash"],
        "expected_revision": expected_revision,
        "expected_key_count": expected_key_count,
        "tool_layout": tools.layout,
        "etcd_start_seconds": round(started_in, 3),
        "seconds": round(time.monotonic() - started, 3),
        "cleaned_up": not os.path.exists(work),
    }
    if problems:
        raise SnapshotError("restore drill of %s failed: %s" % (snapshot, "; ".join(problems)), result)
    return result


def restore_member(run, tools, snapshot, data_dir, name, peer_url, initial_cluster, token,
                   secret=None, expected_sha256=None, owner=None, group=None, now=None):
    """Restores `snapshot` as member `name` into `data_dir` for a multi-member disaster recovery.

    The restore goes into a new sibling directory first; an existing data dir is then moved aside
    to `<data_dir>.before-restore-<UTC timestamp>` (kept for the operator) and the new one renamed
    into place, so a failed restore leaves the old data dir untouched.
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    parent = os.path.dirname(os.path.abspath(data_dir)) or "/"
    if not os.path.isdir(parent):
        os.makedirs(parent, 0o700)
    work = tempfile.mkdtemp(prefix=".etcd-restore-", dir=parent)
    moved_aside = None
    try:
        plain, facts = prepare_plain(snapshot, work, secret, expected_sha256)
        status = snapshot_status(run, tools, plain)
        staged = os.path.join(work, "data")
        rc, out, err = run(restore_argv(tools, plain, staged, name, peer_url, initial_cluster, token))
        if rc != 0:
            raise SnapshotError("`%s snapshot restore` of %s failed (rc %d): %s"
                                % (os.path.basename(tools.offline_tool), snapshot, rc, last_error_line(err or out)))
        os.chmod(staged, 0o700)
        if owner is not None or group is not None:
            uid = -1 if owner is None else owner
            gid = -1 if group is None else group
            for root, dirs, files in os.walk(staged):
                for entry in [root] + [os.path.join(root, n) for n in dirs + files]:
                    os.lchown(entry, uid, gid)
        if os.path.lexists(data_dir):
            moved_aside = "%s.before-restore-%s" % (data_dir.rstrip("/"), now.strftime("%Y%m%dT%H%M%SZ"))
            os.rename(data_dir, moved_aside)
        os.rename(staged, data_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"data_dir": data_dir, "name": name, "revision": status["revision"], "total_keys": status["total_keys"],
            "moved_aside": moved_aside, "encrypted": facts["encrypted"], "tool_layout": tools.layout}
