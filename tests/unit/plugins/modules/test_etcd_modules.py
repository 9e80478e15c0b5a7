"""Option handling and check mode of etcd_snapshot, etcd_restore_drill and etcd_restore (no etcd needed)."""

import os

from ansible_collections.clusterops.k8s_upgrade.plugins.modules import etcd_restore, etcd_restore_drill, etcd_snapshot

BASE = dict(endpoint="https://127.0.0.1:2379", cluster_name="prod")


def test_check_mode_reports_path_and_pruning_and_writes_nothing(tmp_path, run_module):
    dest = tmp_path / "b"
    dest.mkdir()
    for name in ("prod-etcd-20200101T000000Z.db", "prod-etcd-20200102T000000Z.db", "prod-eu-etcd-20200101T000000Z.db"):
        (dest / name).write_bytes(b"x")
    before = sorted(os.listdir(dest))
    res = run_module(etcd_snapshot, dict(BASE, dest=str(dest), keep=2, passphrase="pw"), check_mode=True)
    assert res["changed"] is True
    assert res["encrypted"] is True
    assert os.path.basename(res["path"]).startswith("prod-etcd-") and res["path"].endswith(".db.enc")
    assert res["sha256_path"] == res["path"] + ".sha256"
    assert res["pruned"] == [str(dest / "prod-etcd-20200101T000000Z.db")]
    assert sorted(os.listdir(dest)) == before
    assert "pw" not in str({k: v for k, v in res.items() if k != "invocation"})


def test_check_mode_with_a_missing_dest_creates_nothing(tmp_path, run_module):
    res = run_module(etcd_snapshot, dict(BASE, dest=str(tmp_path / "absent")), check_mode=True)
    assert res["changed"] is True and res["pruned"] == []
    assert not (tmp_path / "absent").exists()


def test_snapshot_option_errors(tmp_path, run_module):
    cases = [
        (dict(BASE, dest=str(tmp_path), keep=-1), "keep must be 0"),
        (dict(BASE, dest=str(tmp_path), cluster_name="a/b"), "cluster_name"),
        (dict(BASE, dest=str(tmp_path), passphrase="long-secret-1", encryption_key_file="/k"), "mutually exclusive"),
        (dict(BASE, dest=str(tmp_path), etcdctl_path=str(tmp_path / "nope")), "not an executable file"),
        (dict(BASE, dest=str(tmp_path), cacert=str(tmp_path / "ca.pem"), etcdctl_path="/bin/true"), "cacert file"),
    ]
    for args, expected in cases:
        res = run_module(etcd_snapshot, args)
        assert res["failed"] is True, args
        assert expected in res["msg"], (args, res["msg"])
    assert os.listdir(tmp_path) == []


def test_drill_and_restore_option_errors(tmp_path, run_module):
    res = run_module(etcd_restore_drill, dict(snapshot=str(tmp_path / "none.db"), etcd_path="/bin/true",
                                              etcdctl_path="/bin/true"))
    assert res["failed"] is True and "does not exist" in res["msg"]
    restore = dict(snapshot=str(tmp_path / "none.db"), data_dir=str(tmp_path / "data"), name="etcd1",
                   initial_advertise_peer_urls="https://10.0.0.11:2380", initial_cluster_token="t2",
                   initial_cluster="etcd1=https://10.0.0.11:2380,etcd2=https://10.0.0.12:2380")
    res = run_module(etcd_restore, restore)
    assert res["failed"] is True and "copy it here first" in res["msg"]
    res = run_module(etcd_restore, dict(restore, initial_cluster="etcd2=https://10.0.0.12:2380"))
    assert res["failed"] is True and "does not list this member etcd1" in res["msg"]
    (tmp_path / "s.db").write_bytes(b"x")
    res = run_module(etcd_restore, dict(restore, snapshot=str(tmp_path / "s.db")), check_mode=True)
    assert res["changed"] is True and "would restore" in res["msg"]
    assert not (tmp_path / "data").exists()
