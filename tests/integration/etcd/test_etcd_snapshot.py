"""etcd_snapshot and etcd_restore_drill against a real etcd started on loopback with TLS."""

import hashlib
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time

import pytest

from ansible_collections.clusterops.k8s_upgrade.plugins.modules import etcd_restore_drill, etcd_snapshot

ETCDCTL = shutil.which("etcdctl")

N_KEYS = 500


def listing(directory):
    return sorted(os.listdir(directory))


def test_snapshot_then_drill_reads_every_key_back(etcd1, tmp_path, run_module, snapshot_args):
    etcd1.put_keys(N_KEYS)
    revision, count = etcd1.revision_and_count()
    assert count == N_KEYS
    dest = tmp_path / "backups"

    snap = run_module(etcd_snapshot, snapshot_args(etcd1, dest))
    assert not snap.get("failed"), snap["msg"]
    assert snap["changed"] is True
    path = snap["path"]
    name = os.path.basename(path)
    assert name.startswith("itest-etcd-") and name.endswith(".db")
    assert listing(dest) == [name, name + ".sha256"]  # no .part, no work directory left
    data = open(path, "rb").read()
    assert hashlib.sha256(data[:-32]).digest() == data[-32:]
    assert snap["sha256"] == hashlib.sha256(data).hexdigest() == snap["snapshot_sha256"]
    assert snap["size"] == len(data)
    assert open(path + ".sha256").read() == "%s  %s\n" % (snap["sha256"], name)
    subprocess.run(["sha256sum", "-c", name + ".sha256"], cwd=str(dest), check=True, capture_output=True)
    for p in (path, path + ".sha256"):
        st = os.stat(p)
        assert stat.S_IMODE(st.st_mode) == 0o600
        if os.geteuid() == 0:
            assert (st.st_uid, st.st_gid) == (0, 0)
    assert snap["revision"] == revision
    assert snap["key_count"] == N_KEYS
    assert snap["total_keys"] >= N_KEYS
    assert snap["tool_layout"] == "etcdctl"
    assert snap["pruned"] == []

    drills = tmp_path / "drills"
    drills.mkdir()
    drill = run_module(etcd_restore_drill, dict(snapshot=path, expected_sha256=snap["sha256"], work_dir=str(drills),
                                                expected_revision=snap["revision"], expected_key_count=snap["key_count"]))
    assert not drill.get("failed"), drill["msg"]
    assert drill["revision"] == revision
    assert drill["key_count"] == N_KEYS
    assert drill["cleaned_up"] is True
    assert listing(drills) == []
    # By default the drill works beside the snapshot, and leaves nothing there either.
    drill = run_module(etcd_restore_drill, dict(snapshot=path, expected_revision=snap["revision"]))
    assert not drill.get("failed"), drill["msg"]
    assert listing(dest) == [name, name + ".sha256"]
    assert drill["seconds"] > 0


def flip_value_byte(data, marker):
    """A copy of `data` with one byte flipped inside a stored value (not in bolt's page headers)."""
    at = data.index(marker) + len(marker) - 1
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def test_flipped_byte_fails_the_trailer_that_snapshot_status_misses(etcd1, tmp_path, run_module, snapshot_args):
    etcd1.put_keys(50)
    snap = run_module(etcd_snapshot, snapshot_args(etcd1, tmp_path / "b"))
    assert not snap.get("failed"), snap["msg"]
    data = open(snap["path"], "rb").read()
    bad = tmp_path / "corrupt.db"
    bad.write_bytes(flip_value_byte(data, b"v00042xxxxxxxxxx"))

    # What `snapshot status` alone would say: nothing wrong, same figures.
    out = subprocess.run([ETCDCTL, "snapshot", "status", str(bad), "-w", "json"], env=dict(os.environ, ETCDCTL_API="3"),
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert '"revision":%d' % snap["revision"] in out.stdout
    assert '"totalKey":%d' % snap["total_keys"] in out.stdout

    drill = run_module(etcd_restore_drill, dict(snapshot=str(bad)))
    assert drill["failed"] is True
    assert "failed the sha256 trailer check" in drill["msg"]

    # With the .sha256 value the damaged copy is refused before anything else.
    drill = run_module(etcd_restore_drill, dict(snapshot=str(bad), expected_sha256=snap["sha256"]))
    assert drill["failed"] is True and "the copy is damaged" in drill["msg"]


def test_drill_refuses_a_db_without_trailer(etcd1, tmp_path, run_module, snapshot_args):
    snap = run_module(etcd_snapshot, snapshot_args(etcd1, tmp_path / "b"))
    notrailer = tmp_path / "no-trailer.db"
    notrailer.write_bytes(open(snap["path"], "rb").read()[:-32])
    drill = run_module(etcd_restore_drill, dict(snapshot=str(notrailer)))
    assert drill["failed"] is True
    assert "no trailer" in drill["msg"] and "sha256 trailer check" in drill["msg"]


def test_drill_fails_on_a_key_count_mismatch(etcd1, tmp_path, run_module, snapshot_args):
    etcd1.put_keys(20)
    snap = run_module(etcd_snapshot, snapshot_args(etcd1, tmp_path / "b"))
    drill = run_module(etcd_restore_drill, dict(snapshot=snap["path"], expected_key_count=21,
                                                expected_revision=snap["revision"]))
    assert drill["failed"] is True
    assert "restored key count 20 != expected key count 21" in drill["msg"]
    assert drill["key_count"] == 20  # the figures come with the failure
    drill = run_module(etcd_restore_drill, dict(snapshot=snap["path"], expected_revision=snap["revision"] + 1))
    assert drill["failed"] is True and "!= expected revision" in drill["msg"]


def _no_leftovers(dest):
    return not os.path.exists(dest) or listing(dest) == []


def test_unreachable_endpoint_fails_clearly_and_leaves_nothing(etcd1, tmp_path, run_module, snapshot_args):
    dest = tmp_path / "b"
    dest.mkdir()
    args = snapshot_args(etcd1, dest, endpoint="https://127.0.0.1:%d" % free_port(), dial_timeout=1)
    res = run_module(etcd_snapshot, args)
    assert res["failed"] is True
    assert "did not answer `etcdctl endpoint status`" in res["msg"] and "127.0.0.1" in res["msg"]
    assert listing(dest) == []


def test_wrong_certificates_fail_clearly_and_leave_nothing(etcd1, pki, tmp_path, run_module, snapshot_args):
    dest = tmp_path / "b"
    dest.mkdir()
    wrong = pki["wrong"]
    for override in (dict(cert=wrong["client_cert"], key=wrong["client_key"]),  # client cert from another CA
                     dict(cacert=wrong["cacert"])):                              # server cert not trusted
        res = run_module(etcd_snapshot, snapshot_args(etcd1, dest, dial_timeout=2, **override))
        assert res["failed"] is True, override
        assert "cacert/cert/key" in res["msg"]
        assert listing(dest) == []
    res = run_module(etcd_snapshot, snapshot_args(etcd1, dest, cert=str(tmp_path / "missing.pem")))
    assert res["failed"] is True and "does not exist" in res["msg"]


@pytest.fixture
def small_tmpfs(tmp_path):
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mnt)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: %s" % done.stderr.decode())
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


@pytest.mark.parametrize("encrypted", [False, True])
def test_full_disk_fails_clearly_and_leaves_nothing(etcd1, small_tmpfs, run_module, snapshot_args, encrypted):
    etcd1.put_keys(600, value_size=4000)  # about 2.4 MB of values, more than the 1 MiB tmpfs
    extra = dict(passphrase="full-disk-passphrase") if encrypted else {}
    res = run_module(etcd_snapshot, snapshot_args(etcd1, small_tmpfs, **extra))
    assert res["failed"] is True
    assert "no space left on device" in res["msg"].lower()
    assert listing(small_tmpfs) == []


def test_encryption_round_trip(etcd1, tmp_path, run_module, snapshot_args):
    etcd1.put_keys(120)
    dest = tmp_path / "b"
    snap = run_module(etcd_snapshot, snapshot_args(etcd1, dest, passphrase="s3cret pass"))
    assert not snap.get("failed"), snap["msg"]
    assert snap["encrypted"] is True and snap["path"].endswith(".db.enc")
    blob = open(snap["path"], "rb").read()
    assert blob.startswith(b"CKUETCD1")
    assert b"/registry/test/000042" not in blob  # keys are not readable at rest
    assert snap["sha256"] == hashlib.sha256(blob).hexdigest() != snap["snapshot_sha256"]
    assert listing(dest) == sorted([os.path.basename(snap["path"]), os.path.basename(snap["path"]) + ".sha256"])
    assert "s3cret pass" not in str(snap)

    drill = run_module(etcd_restore_drill, dict(snapshot=snap["path"], passphrase="s3cret pass",
                                                expected_sha256=snap["sha256"], expected_revision=snap["revision"],
                                                expected_key_count=snap["key_count"]))
    assert not drill.get("failed"), drill["msg"]
    assert drill["encrypted"] is True and drill["key_count"] == 120

    wrong = run_module(etcd_restore_drill, dict(snapshot=snap["path"], passphrase="not it"))
    assert wrong["failed"] is True and "wrong passphrase or key file" in wrong["msg"]
    missing = run_module(etcd_restore_drill, dict(snapshot=snap["path"]))
    assert missing["failed"] is True and "is encrypted" in missing["msg"]

    keyfile = tmp_path / "backup.key"
    keyfile.write_bytes(os.urandom(32))
    snap2 = run_module(etcd_snapshot, snapshot_args(etcd1, tmp_path / "k", encryption_key_file=str(keyfile)))
    drill2 = run_module(etcd_restore_drill, dict(snapshot=snap2["path"], encryption_key_file=str(keyfile)))
    assert not drill2.get("failed"), drill2["msg"]


def test_retention_deletes_only_its_own_older_snapshots(etcd1, tmp_path, run_module, snapshot_args):
    dest = tmp_path / "b"
    dest.mkdir()
    others = ["itest-etcd-20200101T000000Z.db.part", "itest-eu-etcd-20200101T000000Z.db", "itest-manual.db",
              "other-etcd-20200101T000000Z.db"]
    for name in others:
        (dest / name).write_bytes(b"not mine")
    old = ["itest-etcd-20200101T000000Z.db", "itest-etcd-20200102T000000Z.db.enc", "itest-etcd-20200103T000000Z.db"]
    for name in old:
        (dest / name).write_bytes(b"old")
        (dest / (name + ".sha256")).write_text("0" * 64 + "  " + name + "\n")

    check = run_module(etcd_snapshot, snapshot_args(etcd1, dest, keep=2), check_mode=True)
    assert check["changed"] is True
    assert check["pruned"] == [str(dest / old[0]), str(dest / old[1])]
    assert not os.path.exists(check["path"])
    assert len(listing(dest)) == len(others) + 2 * len(old)  # check mode wrote and deleted nothing

    snap = run_module(etcd_snapshot, snapshot_args(etcd1, dest, keep=2))
    assert not snap.get("failed"), snap["msg"]
    assert snap["pruned"] == [str(dest / old[0]), str(dest / old[1])]
    new = os.path.basename(snap["path"])
    assert listing(dest) == sorted(others + [old[2], old[2] + ".sha256", new, new + ".sha256"])


def test_never_overwrites(etcd1, tmp_path, run_module, snapshot_args, monkeypatch):
    dest = tmp_path / "b"
    first = run_module(etcd_snapshot, snapshot_args(etcd1, dest))
    import datetime as real_datetime

    from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import etcd_snapshot as mu

    stamp = real_datetime.datetime.strptime(os.path.basename(first["path"])[len("itest-etcd-"):-3], "%Y%m%dT%H%M%SZ")

    class Frozen(real_datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return stamp.replace(tzinfo=real_datetime.timezone.utc)

    monkeypatch.setattr(mu.datetime, "datetime", Frozen)
    before = open(first["path"], "rb").read()
    again = run_module(etcd_snapshot, snapshot_args(etcd1, dest))
    assert again["failed"] is True and "never overwritten" in again["msg"]
    assert open(first["path"], "rb").read() == before
    assert len(listing(dest)) == 2


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_stopped_module_cleans_up(etcd1, tmp_path, snapshot_args):
    """SIGTERM (a dropped connection, a killed run) mid-save: a clear failure, no file, no etcdctl left."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    dest = tmp_path / "b"
    dest.mkdir()
    # An endpoint that never answers keeps the save waiting (etcdctl 3.4 has no dial timeout there).
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        args = snapshot_args(etcd1, dest, endpoint="https://127.0.0.1:%d" % silent.getsockname()[1], dial_timeout=2)
        argsfile = tmp_path / "args.json"
        argsfile.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        env = dict(os.environ, PYTHONPATH=os.path.join(root, ".build", "collections"))
        proc = subprocess.Popen([sys.executable, os.path.join(root, "plugins", "modules", "etcd_snapshot.py"), str(argsfile)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        try:
            deadline = time.monotonic() + 20
            while not [d for d in os.listdir(dest) if d.startswith(".etcd_snapshot-")]:  # the save has begun
                assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
                time.sleep(0.05)
            time.sleep(0.5)
            children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True, check=False).stdout.split()
            assert children  # etcdctl is running
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    result = json.loads(out)
    assert result["failed"] is True and "stopped by signal 15; everything this run had made was removed" in result["msg"], (out, err)
    assert listing(dest) == []
    for pid in children:
        assert not os.path.exists("/proc/%s" % pid) or open("/proc/%s/stat" % pid).read().split(")")[-1].split()[0] == "Z"
