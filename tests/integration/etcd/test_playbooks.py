"""playbooks/etcd_backup.yml and playbooks/etcd_restore.yml with ansible-playbook against a real
3-member etcd cluster on loopback (one inventory host per member, ansible_connection=local)."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BIN = os.path.dirname(sys.executable)

# Stands in for systemd on this machine (no systemd as PID 1): starts a member detached and
# records its PID, or stops the member whose PID is recorded and waits until it is gone.
MEMBER_CTL = textwrap.dedent(r"""
    import json, os, signal, subprocess, sys, time
    action, name, state = sys.argv[1], sys.argv[2], sys.argv[3]
    members = json.load(open(state))
    m = members[name]
    if action == "start":
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith("ETCD"))
        with open(m["log"], "ab") as log:
            p = subprocess.Popen(m["argv"], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 env=env, start_new_session=True)
        open(m["pidfile"], "w").write(str(p.pid))
        sys.exit(0)
    pid = int(open(m["pidfile"]).read())
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        sys.exit(0)
    for _ in range(300):
        try:
            if open("/proc/%d/stat" % pid).read().split(")")[-1].split()[0] == "Z":
                break
        except OSError:
            break
        time.sleep(0.1)
    else:
        sys.exit("member %s (pid %d) did not stop" % (name, pid))
""")


def run_playbook(playbook, inventory, *extra, check=False):
    argv = [os.path.join(BIN, "ansible-playbook"), "-i", str(inventory), os.path.join(ROOT, playbook)] + list(extra)
    if check:
        argv.append("--check")
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_FORKS="3")
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    return done.returncode, done.stdout + done.stderr


@pytest.fixture
def lab(etcd3, tmp_path):
    """The inventory of the 3-member cluster and the plumbing to stop and start its members."""
    state = tmp_path / "members.json"
    ctl = tmp_path / "member_ctl.py"
    ctl.write_text(MEMBER_CTL)
    members = {}
    initial_pids = dict((m.name, m.proc.pid) for m in etcd3.members)
    for m in etcd3.members:
        pidfile = tmp_path / ("%s.pid" % m.name)
        pidfile.write_text(str(m.proc.pid))
        members[m.name] = {"argv": m.argv(etcd3.initial_cluster, etcd3.token), "log": m.log, "pidfile": str(pidfile)}
    state.write_text(json.dumps(members))
    hosts = {}
    for m in etcd3.members:
        hosts[m.name] = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "etcd_backup_endpoint": m.endpoint,
            "etcd_backup_dir": str(tmp_path / "member-backups" / m.name),
            "etcd_restore_client_endpoint": m.endpoint,
            "etcd_restore_peer_url": m.peer_url,
            "etcd_restore_data_dir": m.data_dir,
            "etcd_restore_remote_dir": str(tmp_path / "remote" / m.name),
            "etcd_restore_etcd_stop_command": [sys.executable, str(ctl), "stop", m.name, str(state)],
            "etcd_restore_etcd_start_command": [sys.executable, str(ctl), "start", m.name, str(state)],
        }
    tls = {"cacert": etcd3.pki["cacert"], "cert": etcd3.pki["client_cert"], "key": etcd3.pki["client_key"]}
    group_vars = {"etcd_backup_become": False, "etcd_backup_cluster_name": "itest",
                  "etcd_backup_controller_dir": str(tmp_path / "controller"),
                  "etcd_restore_apiserver_service": ""}
    for k, v in tls.items():
        group_vars["etcd_backup_" + k] = v
        group_vars["etcd_restore_" + k] = v
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"vars": group_vars, "children": {
        "etcd": {"hosts": hosts}, "kube_control_plane": {"hosts": {}}}}}))
    try:
        yield etcd3, inventory, tmp_path
    finally:
        for m in etcd3.members:
            pid = int((tmp_path / ("%s.pid" % m.name)).read_text())
            if pid != initial_pids[m.name]:  # a member started by the playbook
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for m in etcd3.members:
            pid = int((tmp_path / ("%s.pid" % m.name)).read_text())
            for _i in range(100):
                if not os.path.exists("/proc/%d" % pid) or open("/proc/%d/stat" % pid).read().split(")")[-1].split()[0] == "Z":
                    break
                time.sleep(0.1)


def leader_name(cluster):
    for m in cluster.members:
        status = json.loads(cluster.ctl("endpoint", "status", "-w", "json", endpoint=m.endpoint).stdout)[0]["Status"]
        if status["leader"] == status["header"]["member_id"]:
            return m.name
    raise AssertionError("no leader")


def test_backup_playbook_snapshots_a_healthy_follower_fetches_and_drills(lab):
    cluster, inventory, tmp = lab
    cluster.put_keys(300)
    revision, count = cluster.revision_and_count()

    rc, out = run_playbook("playbooks/etcd_backup.yml", inventory, check=True)
    assert rc == 0, out
    assert not (tmp / "controller").exists()
    assert not any((tmp / "member-backups").glob("*/*"))

    # A later play sees the result on every host.
    wrapper = tmp / "backup-then-read.yml"
    wrapper.write_text(yaml.safe_dump([
        {"import_playbook": os.path.join(ROOT, "playbooks", "etcd_backup.yml")},
        {"name": "Read the result", "hosts": "etcd", "gather_facts": False, "tasks": [
            {"name": "Write it", "ansible.builtin.copy": {
                "content": "{{ etcd_backup_result | to_json }}",
                "dest": str(tmp) + "/result-{{ inventory_hostname }}.json",
                "mode": "0600"}}]},
    ]))
    rc, out = run_playbook(str(wrapper), inventory)
    assert rc == 0, out
    results = [json.loads((tmp / ("result-%s.json" % m.name)).read_text()) for m in cluster.members]
    assert results[0] == results[1] == results[2]
    result = results[0]
    assert (result["revision"], result["key_count"]) == (revision, count)
    assert result["drill"]["revision"] == revision and result["drill"]["key_count"] == count
    assert result["controller_path"] == str(tmp / "controller" / os.path.basename(result["path"]))
    leader = leader_name(cluster)
    chosen = [m.name for m in cluster.members if (tmp / "member-backups" / m.name).exists()]
    assert len(chosen) == 1 and chosen[0] != leader, (chosen, leader)
    assert result["member"] == chosen[0]
    assert "Snapshotting etcd member %s" % chosen[0] in out
    assert "Copy verified" in out
    assert "restore drill: %d keys at revision %d" % (count, revision) in out

    fetched = sorted(os.listdir(tmp / "controller"))
    assert len(fetched) == 2 and fetched[1] == fetched[0] + ".sha256"
    data = (tmp / "controller" / fetched[0]).read_bytes()
    assert hashlib.sha256(data[:-32]).digest() == data[-32:]
    assert (tmp / "controller" / fetched[1]).read_text().split()[0] == hashlib.sha256(data).hexdigest()
    assert (tmp / "controller" / fetched[0]).stat().st_mode & 0o777 == 0o600

    # One member down: the play still backs up, from another healthy member.
    down = [m for m in cluster.members if m.name == chosen[0]][0]
    down.stop()
    rc, out = run_playbook("playbooks/etcd_backup.yml", inventory)
    assert rc == 0, out
    assert "Snapshotting etcd member %s" % chosen[0] not in out
    assert "Snapshotting etcd member" in out


def test_backup_failure_stops_the_play_before_anything_else(lab):
    cluster, inventory, tmp = lab
    marker = tmp / "upgrade-started"
    wrapper = tmp / "upgrade.yml"
    wrapper.write_text(yaml.safe_dump([
        {"import_playbook": os.path.join(ROOT, "playbooks", "etcd_backup.yml")},
        {"name": "What would come next", "hosts": "etcd", "gather_facts": False,
         "tasks": [{"name": "Mark", "ansible.builtin.file": {"path": str(marker), "state": "touch", "mode": "0600"}}]},
    ]))
    # The drill's etcd cannot start: the backup must fail and nothing after it may run.
    rc, out = run_playbook(str(wrapper), inventory, "-e", "etcd_backup_etcd_path=/bin/false")
    assert rc != 0
    assert "the throwaway etcd exited" in out
    assert not marker.exists()

    # No healthy member at all.
    rc, out = run_playbook(str(wrapper), inventory, "-e", "etcd_backup_cacert=%s" % cluster.pki["wrong"]["cacert"])
    assert rc != 0
    assert "No healthy etcd member to snapshot" in out
    assert not marker.exists()


def test_restore_playbook_brings_back_every_member_at_the_snapshot(lab):
    """An encrypted backup (drill included), then a disaster, then the restore playbook."""
    cluster, inventory, tmp = lab
    cluster.put_keys(200)
    secret = ["-e", "etcd_backup_passphrase=restore-test-passphrase", "-e", "etcd_restore_passphrase=restore-test-passphrase"]
    rc, out = run_playbook("playbooks/etcd_backup.yml", inventory, *secret)
    assert rc == 0, out
    assert "restore-test-passphrase" not in out
    snapshot = [p for p in (tmp / "controller").iterdir() if p.name.endswith(".db.enc")][0]
    revision, count = cluster.revision_and_count()
    old_cluster_id = json.loads(cluster.ctl("endpoint", "status", "-w", "json").stdout)[0]["Status"]["header"]["cluster_id"]

    # The disaster: keys deleted and others written after the backup.
    cluster.ctl("del", "/registry/test/", "--prefix")
    cluster.put_keys(5, prefix="/registry/after/")

    rc, out = run_playbook("playbooks/etcd_restore.yml", inventory, "-e", "etcd_restore_snapshot=%s" % snapshot)
    assert rc != 0 and "etcd_restore_confirm=yes" in out  # refuses without confirmation

    rc, out = run_playbook("playbooks/etcd_restore.yml", inventory, "-e", "etcd_restore_snapshot=%s" % snapshot,
                           "-e", "etcd_restore_confirm=yes", *secret, check=True)
    assert rc == 0, out
    assert cluster.ctl("get", "/registry/after/", "--prefix", "--keys-only").stdout != ""  # check mode changed nothing
    assert not [p for p in os.listdir(os.path.dirname(cluster.members[0].data_dir)) if "before-restore" in p]

    rc, out = run_playbook("playbooks/etcd_restore.yml", inventory, "-e", "etcd_restore_snapshot=%s" % snapshot,
                           "-e", "etcd_restore_confirm=yes", *secret)
    assert rc == 0, out
    assert "restore-test-passphrase" not in out
    for m in cluster.members:
        data = json.loads(cluster.ctl("get", "", "--prefix", "--keys-only", "--limit=1", "-w", "json",
                                      "--consistency=s", endpoint=m.endpoint).stdout)
        assert data["count"] == count, m.name
        assert data["header"]["revision"] == revision, m.name
        assert data["header"]["cluster_id"] != old_cluster_id  # a new cluster token makes a new cluster
        assert cluster.ctl("get", "/registry/after/", "--prefix", "--keys-only", endpoint=m.endpoint).stdout == ""
        assert [p for p in os.listdir(os.path.dirname(m.data_dir)) if p.startswith(m.name + ".etcd.before-restore-")]
    members = json.loads(cluster.ctl("member", "list", "-w", "json").stdout)["members"]
    assert sorted(x["name"] for x in members) == ["m1", "m2", "m3"]
    # The restored cluster takes writes.
    cluster.ctl("put", "/registry/new", "1")
