# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""etcd snapshots: save, verify, name, prune (used by the etcd_snapshot module).

Facts this relies on (etcd sources, checked against etcd 3.4.23):
- `etcdctl snapshot save FILE` talks to exactly one endpoint, writes FILE.part, fsyncs, renames.
- The server appends sha256(stream) as a 32-byte trailer: sha256(file[:-32]) == file[-32:].
  `snapshot status` (revision, key count, CRC hash) does not notice a flipped byte; the trailer does.
- 3.4: `etcdctl snapshot status|restore`; 3.5+: `etcdutl snapshot status|restore` (3.6 etcdctl
  keeps only `save`). The tool that has them is chosen by which binary exists.
- 3.4's `snapshot save` has no dial timeout: against an unreachable endpoint it waits forever, so
  the endpoint is probed with `endpoint status` first and the save runs under a deadline.

The save is verified while it is written: the growing .part file is read as etcdctl writes it and
hashed (and encrypted) on the fly, so verification costs a fraction of a second instead of a
second full read of the file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import errno
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import etcd_crypto

TRAILER_LEN = 32
READ_CHUNK = 1024 * 1024
C_ENV = {"LANGUAGE": "C", "LC_ALL": "C", "ETCDCTL_API": "3"}
CLUSTER_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
SUFFIX_PLAIN = ".db"
SUFFIX_ENCRYPTED = ".db.enc"


class SnapshotError(Exception):
    """A failure with a message that says what was wrong and what to do."""


# ---------------------------------------------------------------------------- naming, retention

def snapshot_name(cluster_name, when, encrypted=False):
    """`<cluster>-etcd-<UTC timestamp>.db` (`.db.enc` when encrypted)."""
    if not CLUSTER_NAME_RE.match(cluster_name or ""):
        raise SnapshotError(
            "cluster_name %r is not usable in a file name: use letters, digits, '.', '_' or '-' "
            "(at most 63, starting with a letter or digit)" % (cluster_name,))
    if when.tzinfo is not None:
        when = when.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return "%s-etcd-%s%s" % (cluster_name, when.strftime(TIMESTAMP_FORMAT), SUFFIX_ENCRYPTED if encrypted else SUFFIX_PLAIN)


def _own_pattern(cluster_name):
    # The timestamp right after "<cluster>-etcd-" keeps cluster "prod" from matching "prod-eu".
    return re.compile(r"^%s-etcd-(\d{8}T\d{6}Z)\.db(\.enc)?$" % re.escape(cluster_name))


def own_snapshots(names, cluster_name):
    """This module's snapshots of `cluster_name` among `names`, oldest first."""
    pattern = _own_pattern(cluster_name)
    found = []
    for name in names:
        m = pattern.match(name)
        if m:
            found.append((m.group(1), name))
    return [name for _ts, name in sorted(found)]


def select_pruned(names, cluster_name, keep, new_name=None):
    """Snapshot names to delete so that `keep` remain (the new one included); keep 0 keeps all."""
    if not keep:
        return []
    own = own_snapshots(set(names) | ({new_name} if new_name else set()), cluster_name)
    doomed = own[:-keep] if len(own) > keep else []
    return [name for name in doomed if name != new_name]


def sha256_line(digest, name):
    """One line in `sha256sum` format (two spaces: text mode), as `sha256sum -c` reads it."""
    return "%s  %s\n" % (digest, name)


def parse_sha256_file(text):
    m = re.match(r"^([0-9a-fA-F]{64})\s", text or "")
    if not m:
        raise SnapshotError("not a sha256sum line: %r" % (text or "")[:100])
    return m.group(1).lower()


# ---------------------------------------------------------------------------- trailer

class TrailerHasher:
    """Hashes a snapshot given in pieces and checks its sha256 trailer at the end.

    The last 32 bytes seen so far are held back; sha256 of everything before them is the body
    digest. Copying that hash state and feeding it the held bytes gives sha256 of the whole file,
    so one pass yields both the trailer check and the file checksum.
    """

    def __init__(self):
        self._body = hashlib.sha256()
        self._tail = b""
        self.size = 0

    def update(self, data):
        self.size += len(data)
        if len(data) >= TRAILER_LEN:
            self._body.update(self._tail)
            self._body.update(memoryview(data)[:-TRAILER_LEN])
            self._tail = bytes(data[-TRAILER_LEN:])
        else:
            joined = self._tail + bytes(data)
            self._body.update(joined[:-TRAILER_LEN])
            self._tail = joined[-TRAILER_LEN:]

    def complete(self):
        """True once the bytes seen so far end with their own sha256: the stream is whole."""
        return self.size > TRAILER_LEN and self._body.digest() == self._tail

    def result(self):
        """dict: trailer_ok, body_sha256, trailer (hex), sha256 (of the whole file), size."""
        full = self._body.copy()
        full.update(self._tail)
        ok = self.size > TRAILER_LEN and self._body.digest() == self._tail
        return {
            "trailer_ok": ok,
            "body_sha256": self._body.hexdigest(),
            "trailer": self._tail.hex(),
            "sha256": full.hexdigest(),
            "size": self.size,
        }


def hash_file(path, sinks=()):
    """TrailerHasher result of a file on disk; `sinks` also get every piece."""
    hasher = TrailerHasher()
    with open(path, "rb") as f:
        while True:
            chunk = f.read(READ_CHUNK)
            if not chunk:
                break
            hasher.update(chunk)
            for sink in sinks:
                sink(chunk)
    return hasher.result()


def trailer_error(path, result):
    return (
        "%s failed the sha256 trailer check (sha256 of the first %d bytes is %s, the last 32 bytes are %s): "
        "the file is corrupted or truncated, or it is not an etcd snapshot (a db file copied from a data "
        "directory has no trailer); take a new snapshot"
        % (path, max(result["size"] - TRAILER_LEN, 0), result["body_sha256"], result["trailer"] or "missing"))


# ---------------------------------------------------------------------------- etcdctl / etcdutl argv

class Connection:
    """Where and how to reach one etcd endpoint."""

    def __init__(self, endpoint, cacert=None, cert=None, key=None, dial_timeout=5, command_timeout=30):
        self.endpoint = endpoint
        self.cacert = cacert
        self.cert = cert
        self.key = key
        self.dial_timeout = dial_timeout
        self.command_timeout = command_timeout

    def args(self):
        argv = ["--endpoints=%s" % self.endpoint]
        for flag, value in (("--cacert", self.cacert), ("--cert", self.cert), ("--key", self.key)):
            if value:
                argv.append("%s=%s" % (flag, value))
        argv += ["--dial-timeout=%ds" % self.dial_timeout, "--command-timeout=%ds" % self.command_timeout]
        return argv


class Tools:
    """The etcd binaries on this host; `etcdutl` (3.5+) owns status and restore when present."""

    def __init__(self, etcdctl=None, etcdutl=None, etcd=None):
        self.etcdctl = etcdctl
        self.etcdutl = etcdutl
        self.etcd = etcd

    @property
    def offline_tool(self):
        return self.etcdutl or self.etcdctl

    @property
    def layout(self):
        return "etcdutl" if self.etcdutl else "etcdctl"

    def need_etcdctl(self):
        if not self.etcdctl:
            raise SnapshotError("etcdctl not found on this host: install etcd-client (Debian) or set etcdctl_path")
        return self.etcdctl

    def need_offline(self):
        tool = self.offline_tool
        if not tool:
            raise SnapshotError("neither etcdutl (etcd 3.5+) nor etcdctl (3.4) found on this host: set etcdutl_path or etcdctl_path")
        return tool


def save_argv(tools, conn, path):
    return [tools.need_etcdctl()] + conn.args() + ["snapshot", "save", path]


def status_argv(tools, path):
    return [tools.need_offline(), "snapshot", "status", path, "--write-out=json"]


def restore_argv(tools, snapshot, data_dir, name, peer_url, initial_cluster=None, token="etcd-cluster"):
    return [tools.need_offline(), "snapshot", "restore", snapshot,
            "--data-dir=%s" % data_dir,
            "--name=%s" % name,
            "--initial-cluster=%s" % (initial_cluster or "%s=%s" % (name, peer_url)),
            "--initial-cluster-token=%s" % token,
            "--initial-advertise-peer-urls=%s" % peer_url]


def endpoint_status_argv(tools, conn):
    return [tools.need_etcdctl()] + conn.args() + ["endpoint", "status", "--write-out=json"]


def count_argv(tools, conn, revision=None):
    # 3.4 has no --count-only; a range limited to one key still reports the total in "count".
    argv = [tools.need_etcdctl()] + conn.args() + ["get", "", "--prefix", "--keys-only", "--limit=1", "--write-out=json"]
    if revision:
        argv.append("--rev=%d" % revision)
    return argv


def parse_status(out):
    """`snapshot status -w json` -> revision, total_keys, hash, total_size."""
    try:
        data = json.loads(out)
        return {"revision": int(data["revision"]), "total_keys": int(data["totalKey"]),
                "hash": int(data["hash"]), "total_size": int(data["totalSize"])}
    except (ValueError, KeyError, TypeError):
        raise SnapshotError("unexpected `snapshot status` output: %r" % (out or "")[:300])


def parse_endpoint_status(out):
    """`endpoint status -w json` -> revision, leader, member_id, version, db_size."""
    try:
        data = json.loads(out)[0]["Status"]
        return {"revision": int(data["header"]["revision"]), "member_id": int(data["header"]["member_id"]),
                "leader": int(data["leader"]), "version": data.get("version"), "db_size": int(data.get("dbSize", 0))}
    except (ValueError, KeyError, TypeError, IndexError):
        raise SnapshotError("unexpected `endpoint status` output: %r" % (out or "")[:300])


def parse_count(out):
    """`get --limit=1 -w json` -> (header revision, count of keys in the range)."""
    try:
        data = json.loads(out)
        return int(data["header"]["revision"]), int(data.get("count", 0))
    except (ValueError, KeyError, TypeError):
        raise SnapshotError("unexpected `etcdctl get` output: %r" % (out or "")[:300])


def last_error_line(err):
    """The useful part of etcdctl's stderr: its last non-empty line (the rest is JSON logging)."""
    lines = [line.strip() for line in (err or "").splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error") or '"level":"error"' in line or '"level":"fatal"' in line]
    return (errors or lines or ["(no output)"])[-1][:500]


# ---------------------------------------------------------------------------- following a save

def follow_process_file(argv, part_path, final_path, consume, timeout, env=None, log_path=None, poll=0.005,
                        abort=None):
    """Runs argv and feeds `consume` every byte of the file it writes, while it writes it.

    etcdctl writes `final_path`.part and renames it at the end; the file descriptor opened on
    the .part file keeps reading the same inode after the rename. `abort()`, polled while waiting,
    may return an exception: the process is then killed and that exception raised.
    Returns (rc, stderr text).
    """
    full_env = dict(os.environ)
    full_env.update(C_ENV)
    full_env.update(env or {})
    log = open(log_path or os.devnull, "wb")
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=full_env)
    except OSError as exc:
        log.close()
        raise SnapshotError("cannot run %s: %s" % (argv[0], exc))
    deadline = time.monotonic() + timeout
    f = None
    try:
        while True:
            if f is None:
                for candidate in (part_path, final_path):
                    try:
                        f = open(candidate, "rb", buffering=0)
                        break
                    except (IOError, OSError) as exc:
                        if exc.errno != errno.ENOENT:
                            raise
            if f is not None:
                chunk = f.read(READ_CHUNK)
                if chunk:
                    consume(chunk)
                    continue
            rc = proc.poll()
            problem = abort() if abort is not None and rc is None else None
            if problem is not None:
                raise problem
            if rc is not None:
                if f is None and rc == 0 and os.path.exists(final_path):
                    f = open(final_path, "rb", buffering=0)
                while f is not None:
                    chunk = f.read(READ_CHUNK)
                    if not chunk:
                        break
                    consume(chunk)
                break
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise SnapshotError("%s did not finish within %d s; stopped it" % (" ".join(argv[:1] + argv[-3:]), timeout))
            time.sleep(poll)
    except BaseException:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        raise
    finally:
        if f is not None:
            f.close()
        log.close()
    output = ""
    if log_path:
        with open(log_path, "rb") as lf:
            output = lf.read().decode("utf-8", "replace")
    return rc, output


# ---------------------------------------------------------------------------- the save

def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _secure(path):
    os.chmod(path, 0o600)
    if os.geteuid() == 0:
        os.chown(path, 0, 0)


def plan(dest, cluster_name, keep, encrypted, now):
    """What a save would do: the path it writes and the names it would prune."""
    name = snapshot_name(cluster_name, now, encrypted)
    path = os.path.join(dest, name)
    existing = os.listdir(dest) if os.path.isdir(dest) else []
    return {"name": name, "path": path, "exists": os.path.lexists(path),
            "pruned": [os.path.join(dest, n) for n in select_pruned(existing, cluster_name, keep, name)]}


def probe(run, tools, conn):
    """`endpoint status` against the endpoint: fails fast on an unreachable endpoint or bad TLS."""
    # A healthy member answers in milliseconds; bad TLS or no listener only ends at the timeout.
    quick = Connection(conn.endpoint, conn.cacert, conn.cert, conn.key, conn.dial_timeout,
                       min(conn.command_timeout, 2 * conn.dial_timeout + 1))
    rc, out, err = run(endpoint_status_argv(tools, quick))
    if rc != 0:
        raise SnapshotError(
            "etcd endpoint %s did not answer `etcdctl endpoint status` (rc %d): %s. Check the endpoint URL, "
            "that etcd runs there, and the cacert/cert/key files" % (conn.endpoint, rc, last_error_line(err or out)))
    return parse_endpoint_status(out)


def snapshot_status(run, tools, path):
    rc, out, err = run(status_argv(tools, path))
    if rc != 0:
        raise SnapshotError("`%s snapshot status` rejected %s: %s" % (os.path.basename(tools.offline_tool), path, last_error_line(err or out)))
    return parse_status(out)


def live_key_count(run, tools, conn, revision):
    """Keys in the live cluster at the snapshot's revision (None once that revision is compacted)."""
    rc, out, err = run(count_argv(tools, conn, revision))
    if rc != 0:
        return None
    return parse_count(out)[1]


class StopOnSignal:
    """Turns SIGTERM, SIGHUP and SIGINT into a SnapshotError while it is active, so that the
    cleanup of a save runs when the module is stopped (a dropped connection, a killed run)."""

    SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)

    def __init__(self):
        self._old = {}

    @staticmethod
    def _raise(signum, frame):
        raise SnapshotError("stopped by signal %d; everything this run had made was removed" % signum)

    def __enter__(self):
        for signum in self.SIGNALS:
            try:
                self._old[signum] = signal.signal(signum, self._raise)
            except ValueError:  # not the main thread: leave signals alone
                pass
        return self

    def __exit__(self, *exc):
        for signum, handler in self._old.items():
            signal.signal(signum, handler)
        return False


def save(run, tools, conn, dest, cluster_name, keep=0, secret=None, now=None, timeout=600):
    """Saves, verifies, encrypts (when `secret`), writes NAME.sha256, prunes. Returns the result dict.

    `run(argv)` runs a short command and returns (rc, stdout, stderr). Nothing is left behind on
    failure: the work happens in a private temporary directory inside `dest` and the finished files
    are hard-linked into place, which fails instead of overwriting an existing snapshot.
    """
    with StopOnSignal():
        return _save(run, tools, conn, dest, cluster_name, keep, secret, now, timeout)


def _save(run, tools, conn, dest, cluster_name, keep, secret, now, timeout):
    started = time.monotonic()
    now = now or datetime.datetime.now(datetime.timezone.utc)
    the_plan = plan(dest, cluster_name, keep, secret is not None, now)
    final, name = the_plan["path"], the_plan["name"]
    if the_plan["exists"]:
        raise SnapshotError("%s already exists; snapshots are never overwritten (wait a second and retry)" % final)
    timings = {}
    # The probe runs beside the save: a healthy member answers long before the save ends, and an
    # unreachable one (on which 3.4's save would wait forever) stops the save as soon as it fails.
    probed = {}

    def do_probe():
        t0 = time.monotonic()
        try:
            probed["live"] = probe(run, tools, conn)
        except SnapshotError as exc:
            probed["error"] = exc
        # Anything else is also handed to the main thread, which reports it.
        except Exception as exc:  # pylint: disable=broad-except
            probed["error"] = SnapshotError("`etcdctl endpoint status` could not run: %s" % exc)
        timings["probe"] = round(time.monotonic() - t0, 3)

    prober = threading.Thread(target=do_probe)
    prober.daemon = True
    prober.start()

    work = tempfile.mkdtemp(prefix=".etcd_snapshot-", dir=dest)  # 0700
    linked = []
    try:
        plain_path = os.path.join(work, "snapshot.db")
        plain = TrailerHasher()
        consumers = [plain.update]
        enc_hasher = enc_out = encryptor = None
        if secret is not None:
            enc_path = os.path.join(work, "snapshot.db.enc")
            enc_hasher = hashlib.sha256()
            enc_out = open(enc_path, "wb")
            encryptor = etcd_crypto.Encryptor(secret, enc_out, on_write=enc_hasher.update)
            consumers.append(encryptor.update)

        # `snapshot status` starts as soon as the stream is whole (its trailer matches), on a hard
        # link to the .part file, while etcdctl still fsyncs and renames it: that hides its cost.
        checked = {}
        checker = []
        check_path = os.path.join(work, "status.db")

        def check():
            t0 = time.monotonic()
            try:
                checked["status"] = snapshot_status(run, tools, check_path)
                timings["status"] = round(time.monotonic() - t0, 3)
                checked["key_count"] = live_key_count(run, tools, conn, checked["status"]["revision"])
            # Handed to the main thread, which raises it.
            except Exception as exc:  # pylint: disable=broad-except
                checked["error"] = exc
            timings["status+key_count"] = round(time.monotonic() - t0, 3)

        def consume(chunk):
            for c in consumers:
                c(chunk)
            if not checker and plain.complete():
                for candidate in (plain_path + ".part", plain_path):
                    try:
                        os.link(candidate, check_path)
                        break
                    except OSError:
                        continue
                else:
                    return
                checker.append(threading.Thread(target=check))
                checker[0].daemon = True
                checker[0].start()

        try:
            t0 = time.monotonic()
            rc, output = follow_process_file(save_argv(tools, conn, plain_path), plain_path + ".part", plain_path,
                                             consume, timeout, log_path=os.path.join(work, "etcdctl.log"),
                                             abort=lambda: probed.get("error"))
            timings["save"] = round(time.monotonic() - t0, 3)
            prober.join()
            if "error" in probed:
                raise probed["error"]
            if rc != 0:
                raise SnapshotError("`etcdctl snapshot save` from %s failed (rc %d): %s" % (conn.endpoint, rc, last_error_line(output)))
            if encryptor is not None:
                encryptor.finish()
                enc_out.flush()
                os.fsync(enc_out.fileno())
        finally:
            if enc_out is not None:
                enc_out.close()
            t0 = time.monotonic()
            for thread in checker:
                thread.join()
            timings["status_wait"] = round(time.monotonic() - t0, 3)

        verified = plain.result()
        if not verified["trailer_ok"]:
            raise SnapshotError(trailer_error("the snapshot just saved", verified))
        if "error" in checked:
            raise checked["error"]
        if not checker:  # not reached when the trailer matched; kept for safety
            check_path = plain_path
            check()
            if "error" in checked:
                raise checked["error"]
        status, key_count = checked["status"], checked["key_count"]
        t0 = time.monotonic()

        if secret is not None:
            for path in (plain_path, check_path):  # the plaintext never outlives the save
                if os.path.lexists(path):
                    os.unlink(path)
            at_rest, digest, size = enc_path, enc_hasher.hexdigest(), os.path.getsize(enc_path)
        else:
            at_rest, digest, size = plain_path, verified["sha256"], verified["size"]
        _secure(at_rest)
        sum_path = os.path.join(work, "sha256")
        with open(sum_path, "w") as f:
            f.write(sha256_line(digest, name))
            f.flush()
            os.fsync(f.fileno())
        _secure(sum_path)

        for src, dst in ((at_rest, final), (sum_path, final + ".sha256")):
            try:
                os.link(src, dst)  # never replaces an existing file
            except OSError as exc:
                if exc.errno == errno.EEXIST:
                    raise SnapshotError("%s appeared while saving; snapshots are never overwritten" % dst)
                raise
            linked.append(dst)
        _fsync_dir(dest)
        timings["finish"] = round(time.monotonic() - t0, 3)
    except BaseException:
        for path in linked:
            os.unlink(path)
        raise
    finally:
        prober.join()  # never leave the probe's etcdctl running
        shutil.rmtree(work, ignore_errors=True)

    live = probed["live"]
    pruned = []
    for path in the_plan["pruned"]:
        for victim in (path, path + ".sha256"):
            if os.path.lexists(victim):
                os.unlink(victim)
        pruned.append(path)

    return {
        "path": final,
        "sha256_path": final + ".sha256",
        "size": size,
        "sha256": digest,
        "snapshot_sha256": verified["sha256"],
        "encrypted": secret is not None,
        "revision": status["revision"],
        "total_keys": status["total_keys"],
        "hash": status["hash"],
        "key_count": key_count,
        "endpoint": conn.endpoint,
        "member_revision_before": live["revision"],
        "etcd_version": live["version"],
        "tool_layout": tools.layout,
        "pruned": pruned,
        "seconds": round(time.monotonic() - started, 3),
        "timings": timings,
    }


def find_tool(module, name, given):
    """The executable `name` (etcdctl, etcdutl, etcd): the path the operator gave, else from PATH."""
    if given:
        if not os.access(given, os.X_OK):
            module.fail_json(msg="%s_path %s is not an executable file" % (name, given))
        return given
    return module.get_bin_path(name, opt_dirs=["/usr/local/bin"])
