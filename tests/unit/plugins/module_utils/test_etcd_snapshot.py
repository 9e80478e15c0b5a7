import datetime
import hashlib
import io
import os
import sys

import pytest

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import etcd_crypto
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.etcd_snapshot import (
    Connection,
    SnapshotError,
    Tools,
    TrailerHasher,
    count_argv,
    endpoint_status_argv,
    follow_process_file,
    last_error_line,
    own_snapshots,
    parse_count,
    parse_endpoint_status,
    parse_sha256_file,
    parse_status,
    restore_argv,
    save_argv,
    select_pruned,
    sha256_line,
    snapshot_name,
    status_argv,
)


def snapshot_bytes(body):
    return body + hashlib.sha256(body).digest()


BODY = bytes(range(256)) * 1000 + b"tail"


# ------------------------------------------------------------------------------------------ trailer

@pytest.mark.parametrize("piece", [1, 7, 31, 32, 33, 4096, 1 << 20])
def test_trailer_ok_in_any_pieces(piece):
    data = snapshot_bytes(BODY)
    h = TrailerHasher()
    for i in range(0, len(data), piece):
        h.update(data[i:i + piece])
    r = h.result()
    assert r["trailer_ok"] is True
    assert r["sha256"] == hashlib.sha256(data).hexdigest()
    assert r["body_sha256"] == hashlib.sha256(BODY).hexdigest() == r["trailer"]
    assert r["size"] == len(data)


def test_complete_only_at_the_end_of_the_stream():
    data = snapshot_bytes(BODY)
    h = TrailerHasher()
    seen = []
    for i in range(0, len(data), 4096):
        h.update(data[i:i + 4096])
        seen.append(h.complete())
    assert seen[-1] is True and not any(seen[:-1])
    h.update(b"more")
    assert h.complete() is False


@pytest.mark.parametrize(
    "data, why",
    [
        (snapshot_bytes(BODY)[:100] + b"\x00" + snapshot_bytes(BODY)[101:], "flipped byte in the body"),
        (snapshot_bytes(BODY)[:-1] + b"\x00", "flipped byte in the trailer"),
        (BODY, "no trailer"),
        (snapshot_bytes(BODY)[:-10], "truncated"),
        (hashlib.sha256(b"").digest(), "only a trailer of an empty body"),
        (b"short", "shorter than a trailer"),
        (b"", "empty"),
    ],
)
def test_trailer_rejects(data, why):
    h = TrailerHasher()
    for i in range(0, len(data), 777):
        h.update(data[i:i + 777])
    r = h.result()
    assert r["trailer_ok"] is False, why
    assert r["sha256"] == hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------------------------------ naming and retention

WHEN = datetime.datetime(2026, 11, 25, 23, 15, 2, tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize(
    "cluster, when, encrypted, expected",
    [
        ("prod", WHEN, False, "prod-etcd-20261125T231502Z.db"),
        ("prod", WHEN, True, "prod-etcd-20261125T231502Z.db.enc"),
        ("eu-west.k8s_1", WHEN.astimezone(datetime.timezone(datetime.timedelta(hours=2))), False,
         "eu-west.k8s_1-etcd-20261125T231502Z.db"),
        ("lab", datetime.datetime(2026, 1, 2, 3, 4, 5), False, "lab-etcd-20260102T030405Z.db"),
    ],
)
def test_snapshot_name(cluster, when, encrypted, expected):
    assert snapshot_name(cluster, when, encrypted) == expected


@pytest.mark.parametrize("cluster", ["", "a/b", "../x", "-x", "with space", "x" * 64, None])
def test_snapshot_name_rejects(cluster):
    with pytest.raises(SnapshotError, match="cluster_name"):
        snapshot_name(cluster, WHEN)


DIR = [
    "prod-etcd-20261120T010000Z.db", "prod-etcd-20261120T010000Z.db.sha256",
    "prod-etcd-20261121T010000Z.db.enc", "prod-etcd-20261121T010000Z.db.enc.sha256",
    "prod-etcd-20261122T010000Z.db", "prod-etcd-20261122T010000Z.db.sha256",
    "prod-eu-etcd-20261101T010000Z.db",      # another cluster whose name starts with "prod-"
    "prod-etcd-latest.db",                    # not this module's naming
    "prod-etcd-20261119T010000Z.db.part",     # never a finished snapshot
    "manual-prod-etcd-20261101T010000Z.db",
    "prod-etcd-20261118T010000Z.db.bak",
    ".etcd_snapshot-abc",
]
NEW = "prod-etcd-20261125T231502Z.db"


def test_own_snapshots_oldest_first():
    assert own_snapshots(DIR, "prod") == [
        "prod-etcd-20261120T010000Z.db", "prod-etcd-20261121T010000Z.db.enc", "prod-etcd-20261122T010000Z.db"]
    assert own_snapshots(DIR, "prod-eu") == ["prod-eu-etcd-20261101T010000Z.db"]
    assert own_snapshots(DIR, "prod.") == []


@pytest.mark.parametrize(
    "keep, expected",
    [
        (0, []),
        (1, ["prod-etcd-20261120T010000Z.db", "prod-etcd-20261121T010000Z.db.enc", "prod-etcd-20261122T010000Z.db"]),
        (2, ["prod-etcd-20261120T010000Z.db", "prod-etcd-20261121T010000Z.db.enc"]),
        (3, ["prod-etcd-20261120T010000Z.db"]),
        (4, []),
        (10, []),
    ],
)
def test_select_pruned(keep, expected):
    assert select_pruned(DIR, "prod", keep, NEW) == expected


def test_select_pruned_never_the_new_one():
    # A clock set back: the new snapshot sorts oldest but is never pruned.
    assert select_pruned(DIR, "prod", 1, "prod-etcd-20200101T000000Z.db") == [
        "prod-etcd-20261120T010000Z.db", "prod-etcd-20261121T010000Z.db.enc"]


def test_sha256_file_round_trip():
    line = sha256_line("ab" * 32, "x.db")
    assert line == "ab" * 32 + "  x.db\n"
    assert parse_sha256_file(line) == "ab" * 32
    with pytest.raises(SnapshotError):
        parse_sha256_file("nothing here")


# ------------------------------------------------------------------------------------------ argv

TLS = Connection("https://10.0.0.11:2379", "/pki/ca.pem", "/pki/admin.pem", "/pki/admin-key.pem")
PLAIN = Connection("http://127.0.0.1:2379", dial_timeout=2, command_timeout=10)
V34 = Tools(etcdctl="/usr/bin/etcdctl")
V35 = Tools(etcdctl="/usr/local/bin/etcdctl", etcdutl="/usr/local/bin/etcdutl")
TLS_ARGS = ["--endpoints=https://10.0.0.11:2379", "--cacert=/pki/ca.pem", "--cert=/pki/admin.pem",
            "--key=/pki/admin-key.pem", "--dial-timeout=5s", "--command-timeout=30s"]


@pytest.mark.parametrize(
    "build, expected",
    [
        (lambda: save_argv(V34, TLS, "/b/s.db"), ["/usr/bin/etcdctl"] + TLS_ARGS + ["snapshot", "save", "/b/s.db"]),
        (lambda: save_argv(V35, TLS, "/b/s.db"), ["/usr/local/bin/etcdctl"] + TLS_ARGS + ["snapshot", "save", "/b/s.db"]),
        (lambda: save_argv(V34, PLAIN, "s.db"),
         ["/usr/bin/etcdctl", "--endpoints=http://127.0.0.1:2379", "--dial-timeout=2s", "--command-timeout=10s",
          "snapshot", "save", "s.db"]),
        (lambda: status_argv(V34, "/b/s.db"), ["/usr/bin/etcdctl", "snapshot", "status", "/b/s.db", "--write-out=json"]),
        (lambda: status_argv(V35, "/b/s.db"), ["/usr/local/bin/etcdutl", "snapshot", "status", "/b/s.db", "--write-out=json"]),
        (lambda: restore_argv(V34, "/b/s.db", "/d", "drill", "http://127.0.0.1:4001", token="t1"),
         ["/usr/bin/etcdctl", "snapshot", "restore", "/b/s.db", "--data-dir=/d", "--name=drill",
          "--initial-cluster=drill=http://127.0.0.1:4001", "--initial-cluster-token=t1",
          "--initial-advertise-peer-urls=http://127.0.0.1:4001"]),
        (lambda: restore_argv(V35, "/b/s.db", "/var/lib/etcd", "etcd2", "https://10.0.0.12:2380",
                              "etcd1=https://10.0.0.11:2380,etcd2=https://10.0.0.12:2380", "prod-r1"),
         ["/usr/local/bin/etcdutl", "snapshot", "restore", "/b/s.db", "--data-dir=/var/lib/etcd", "--name=etcd2",
          "--initial-cluster=etcd1=https://10.0.0.11:2380,etcd2=https://10.0.0.12:2380",
          "--initial-cluster-token=prod-r1", "--initial-advertise-peer-urls=https://10.0.0.12:2380"]),
        (lambda: endpoint_status_argv(V35, TLS),
         ["/usr/local/bin/etcdctl"] + TLS_ARGS + ["endpoint", "status", "--write-out=json"]),
        (lambda: count_argv(V34, TLS),
         ["/usr/bin/etcdctl"] + TLS_ARGS + ["get", "", "--prefix", "--keys-only", "--limit=1", "--write-out=json"]),
        (lambda: count_argv(V34, TLS, 1234),
         ["/usr/bin/etcdctl"] + TLS_ARGS + ["get", "", "--prefix", "--keys-only", "--limit=1", "--write-out=json", "--rev=1234"]),
    ],
)
def test_argv(build, expected):
    assert build() == expected


def test_layout_and_missing_tools():
    assert V34.layout == "etcdctl" and V35.layout == "etcdutl"
    with pytest.raises(SnapshotError, match="etcdctl not found"):
        save_argv(Tools(etcdutl="/x/etcdutl"), TLS, "s.db")
    with pytest.raises(SnapshotError, match="neither etcdutl"):
        status_argv(Tools(), "s.db")


# ------------------------------------------------------------------------------------------ parsing

def test_parse_outputs():
    assert parse_status('{"hash":3173553962,"revision":4,"totalKey":7,"totalSize":24576}') == {
        "hash": 3173553962, "revision": 4, "total_keys": 7, "total_size": 24576}
    # etcdutl 3.5+ adds "version"
    assert parse_status('{"hash":1,"revision":2,"totalKey":3,"totalSize":4,"version":"3.5.0"}')["revision"] == 2
    assert parse_count('{"header":{"cluster_id":1,"member_id":2,"revision":4,"raft_term":3},'
                       '"kvs":[{"key":"azE="}],"more":true,"count":3}') == (4, 3)
    assert parse_count('{"header":{"revision":9}}') == (9, 0)
    s = parse_endpoint_status('[{"Endpoint":"http://127.0.0.1:23791","Status":{"header":{"cluster_id":1,'
                              '"member_id":13,"revision":4,"raft_term":2},"version":"3.4.23","dbSize":24576,'
                              '"leader":13,"raftIndex":7}}]')
    assert s == {"revision": 4, "member_id": 13, "leader": 13, "version": "3.4.23", "db_size": 24576}
    for parse in (parse_status, parse_count, parse_endpoint_status):
        with pytest.raises(SnapshotError, match="unexpected"):
            parse("Error: context deadline exceeded")


@pytest.mark.parametrize(
    "stderr, expected",
    [
        ('{"level":"info","msg":"created temporary db file"}\nError: context deadline exceeded\n',
         "Error: context deadline exceeded"),
        ('{"level":"info","msg":"a"}\n{"level":"fatal","msg":"boom"}\n{"level":"info","msg":"b"}',
         '{"level":"fatal","msg":"boom"}'),
        ("", "(no output)"),
        ("plain words\n", "plain words"),
    ],
)
def test_last_error_line(stderr, expected):
    assert last_error_line(stderr) == expected


# ------------------------------------------------------------------------------------------ following a growing file

WRITER = r"""
import os, sys, time
final = sys.argv[1]
part = final + ".part"
with open(part, "wb") as f:
    for i in range(40):
        f.write(bytes([i]) * 50000)
        f.flush()
        time.sleep(0.005)
os.rename(part, final)
sys.exit(int(sys.argv[2]))
"""


@pytest.mark.parametrize("rc", [0, 3])
def test_follow_reads_the_file_while_it_is_written_and_renamed(tmp_path, rc):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    final = str(tmp_path / "out.db")
    pieces = []
    got_rc, _out = follow_process_file([sys.executable, str(script), final, str(rc)], final + ".part", final,
                                       pieces.append, timeout=30, log_path=str(tmp_path / "log"))
    assert got_rc == rc
    data = b"".join(pieces)
    assert data == open(final, "rb").read()
    assert len(data) == 40 * 50000
    assert len(pieces) > 1  # read in several pieces, not once at the end


def test_follow_stops_a_process_past_its_deadline(tmp_path):
    with pytest.raises(SnapshotError, match="did not finish within 1 s"):
        follow_process_file([sys.executable, "-c", "import time; time.sleep(30)"], str(tmp_path / "x.part"),
                            str(tmp_path / "x"), lambda c: None, timeout=1)


# ------------------------------------------------------------------------------------------ encryption

pytestmark_crypto = pytest.mark.skipif(not etcd_crypto.HAS_CRYPTOGRAPHY, reason="cryptography missing")


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch):
    # The real cost (2**15) is for files at rest; the format and checks are the same at 2**10.
    monkeypatch.setattr(etcd_crypto, "SCRYPT_LOG2N", 10)


def encrypt(data, secret=b"correct horse", pieces=9999):
    out = io.BytesIO()
    written = []
    enc = etcd_crypto.Encryptor(secret, out, on_write=written.append)
    for i in range(0, len(data), pieces):
        enc.update(data[i:i + pieces])
    enc.finish()
    assert b"".join(written) == out.getvalue()
    return out.getvalue()


def decrypt(blob, secret=b"correct horse"):
    out = []
    etcd_crypto.decrypt_stream(secret, io.BytesIO(blob), out.append)
    return b"".join(out)


C = etcd_crypto.CHUNK


@pytestmark_crypto
@pytest.mark.parametrize("size", [0, 1, C - 1, C, C + 1, 3 * C, 3 * C + 17])
def test_encryption_round_trip(size):
    data = os.urandom(size)
    blob = encrypt(data)
    assert blob.startswith(etcd_crypto.MAGIC)
    assert blob[9] == 10  # log2 N recorded in the header
    if size >= 64:
        assert data[:64] not in blob
    chunks = max(1, -(-size // C))
    assert len(blob) == etcd_crypto.HEADER_LEN + size + chunks * etcd_crypto.TAG
    assert decrypt(blob) == data


@pytestmark_crypto
def test_encryption_rejects_tampering():
    data = os.urandom(3 * C + 5)
    blob = encrypt(data)
    h, t = etcd_crypto.HEADER_LEN, etcd_crypto.TAG
    cases = {
        "wrong passphrase": (blob, b"wrong"),
        "flipped byte": (blob[:h + 10] + bytes([blob[h + 10] ^ 1]) + blob[h + 11:], None),
        "truncated at a chunk boundary": (blob[:h + 2 * (C + t)], None),
        "truncated mid-chunk": (blob[:-3], None),
        "chunks swapped": (blob[:h] + blob[h + C + t:h + 2 * (C + t)] + blob[h:h + C + t] + blob[h + 2 * (C + t):], None),
        "header edited": (blob[:20] + bytes([blob[20] ^ 1]) + blob[21:], None),
        "chunk appended": (blob + blob[h:h + C + t], None),
    }
    for why, (bad, secret) in cases.items():
        with pytest.raises(etcd_crypto.CryptoError):
            decrypt(bad, secret or b"correct horse")
            pytest.fail(why)
    with pytest.raises(etcd_crypto.CryptoError, match="bad header"):
        decrypt(snapshot_bytes(BODY))


def test_read_secret(tmp_path):
    key = tmp_path / "k"
    key.write_bytes(b"0123456789abcdef\n")
    assert etcd_crypto.read_secret(passphrase="pw") == b"pw"
    assert etcd_crypto.read_secret(key_file=str(key)) == b"0123456789abcdef\n"
    assert etcd_crypto.read_secret() is None
    (tmp_path / "empty").write_bytes(b"\n")
    for kwargs, match in ((dict(passphrase="a", key_file=str(key)), "not both"),
                          (dict(key_file=str(tmp_path / "none")), "cannot read"),
                          (dict(key_file=str(tmp_path / "empty")), "empty")):
        with pytest.raises(etcd_crypto.CryptoError, match=match):
            etcd_crypto.read_secret(**kwargs)
