"""The upgrade_report callback under a real ansible-playbook run on this machine: two host aliases
of localhost, a serial play in which one host fails (so the last play never runs), report sections
published with set_fact, a no_log task and a hostile task name."""

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
SECRET = "s3cr3t-t0ken-value"
HOSTILE = '<img src=x onerror=alert(1)> & "quoted"'

INVENTORY = """
all:
  hosts:
    node-a: {}
    node-b: {}
  vars:
    ansible_connection: local
"""

PLAYBOOK = """
- name: Preflight
  hosts: localhost
  gather_facts: false
  vars:
    upgrade_report_phase: preflight
  tasks:
    - name: Record the plan in the upgrade report
      ansible.builtin.set_fact:
        upgrade_report_target: "1.14.10"
        upgrade_report_skew:
          hops: ["1.11", "1.12", "1.13", "1.14"]
          violations: [{rule: apiserver-skip-minor, accepted: true}]
          token: "%(secret)s"
        upgrade_report_backup:
          path: /var/backups/etcd/snapshot.db
          sha256: "%(sha)s"
          drill: {ok: true, revision: 42, keys: 7}

    - name: Read a credential
      ansible.builtin.set_fact:
        upgrade_report_leak: "%(secret)s"
      no_log: true

- name: Node batches
  hosts: node-a,node-b
  gather_facts: false
  serial: 1
  vars:
    upgrade_report_phase: node batches
  tasks:
    - name: Record the versions before
      ansible.builtin.set_fact:
        upgrade_report_versions_before: {kubelet: "1.10.13"}

    - name: %(hostile)s
      ansible.builtin.command: "true"
      changed_when: true

    - name: Say that this node is already done
      ansible.builtin.set_fact:
        upgrade_report_done: "{{ inventory_hostname }} already at 1.14.10"
      when: inventory_hostname == 'node-a'

    - name: Drain (not asked for)
      ansible.builtin.debug:
        msg: draining
      when: false

    - name: Wait for the node to become Ready
      ansible.builtin.fail:
        msg: "{{ inventory_hostname }} did not become Ready"
      when: inventory_hostname == 'node-b'

    - name: Record the versions after
      ansible.builtin.set_fact:
        upgrade_report_versions_after: {kubelet: "1.14.10"}

- name: Controller-managers
  hosts: all
  gather_facts: false
  tasks:
    - name: Never reached
      ansible.builtin.debug:
        msg: the node batch failed before this
""" % {"secret": SECRET, "sha": "ab" * 32, "hostile": json.dumps(HOSTILE)}


def run_playbook(tmp_path, playbook, *args, **env_extra):
    (tmp_path / "inventory.yml").write_text(INVENTORY)
    (tmp_path / "upgrade.yml").write_text(playbook)
    cfg = tmp_path / "ansible.cfg"
    cfg.write_text("[defaults]\ncollections_path = %s\n" % os.path.join(ROOT, ".build", "collections"))
    env = dict(os.environ, ANSIBLE_CONFIG=str(cfg), ANSIBLE_CALLBACKS_ENABLED="clusterops.k8s_upgrade.upgrade_report",
               ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_NOCOLOR="1", ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               CLUSTEROPS_REPORT_DIR=str(tmp_path / "reports"), ANSIBLE_RETRY_FILES_ENABLED="0")
    env.pop("CLUSTEROPS_REPORT_PLAYBOOKS", None)
    env.update(env_extra)
    argv = [os.path.join(BIN, "ansible-playbook"), "-i", str(tmp_path / "inventory.yml"), str(tmp_path / "upgrade.yml")]
    return subprocess.run(argv + list(args), cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=300, check=False)


def the_run_dir(tmp_path, proc):
    match = re.search(r"upgrade report \((\w+)\): (\S+/report\.html)", proc.stdout)
    assert match, proc.stdout + proc.stderr
    run_dir = os.path.dirname(match.group(2))
    assert os.path.dirname(run_dir) == str(tmp_path / "reports")
    return match.group(1), run_dir


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("report")
    proc = run_playbook(tmp_path, PLAYBOOK)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    status, run_dir = the_run_dir(tmp_path, proc)
    with open(os.path.join(run_dir, "report.json")) as handle:
        report = json.load(handle)
    with open(os.path.join(run_dir, "report.html")) as handle:
        html = handle.read()
    return {"tmp": tmp_path, "status": status, "dir": run_dir, "report": report, "html": html}


def test_files_are_private(failed_run):
    assert failed_run["status"] == "failed"
    assert stat.S_IMODE(os.stat(failed_run["dir"]).st_mode) == 0o700
    names = sorted(os.listdir(failed_run["dir"]))
    assert names == ["events.jsonl", "report.html", "report.json"]
    for name in names:
        assert stat.S_IMODE(os.stat(os.path.join(failed_run["dir"], name)).st_mode) == 0o600
    latest = failed_run["tmp"] / "reports" / "latest"
    assert os.path.realpath(str(latest)) == os.path.realpath(failed_run["dir"])


def test_timeline_and_failure(failed_run):
    report = failed_run["report"]
    assert report["run"]["status"] == "failed"
    assert report["run"]["playbook"] == "upgrade.yml" and report["run"]["check_mode"] is False
    assert list(report["timeline"]) == ["localhost", "node-a", "node-b"]
    # the serial play ran twice; the play after the failed batch never started
    assert [p["phase"] for p in report["phases"]] == ["preflight", "node batches (batch 1/2)", "node batches (batch 2/2)"]
    node_a = [(s["task"], s["outcome"], s["fatal"]) for s in report["timeline"]["node-a"]]
    assert node_a == [("Record the versions before", "ok", False), (HOSTILE, "changed", False),
                      ("Say that this node is already done", "ok", False),
                      ("Drain (not asked for)", "done", False), ("Wait for the node to become Ready", "done", False),
                      ("Record the versions after", "ok", False)]
    node_b = report["timeline"]["node-b"]
    assert [(s["task"], s["outcome"], s["fatal"]) for s in node_b] == [
        ("Record the versions before", "ok", False), (HOSTILE, "changed", False),
        ("Say that this node is already done", "skipped", False),
        ("Drain (not asked for)", "skipped", False), ("Wait for the node to become Ready", "failed", True)]
    assert node_b[-1]["msg"] == "node-b did not become Ready"
    assert node_b[-1]["phase"] == "node batches (batch 2/2)"
    assert report["failures"] == [{"host": "node-b", "task": "Wait for the node to become Ready", "role": None,
                                   "play": "Node batches", "phase": "node batches (batch 2/2)", "outcome": "failed",
                                   "msg": "node-b did not become Ready", "at": node_b[-1]["end"]}]
    for host, steps in report["timeline"].items():
        for prev, cur in zip(steps, steps[1:]):
            assert prev["t_start"] <= cur["t_start"], host
        for s in steps:
            assert 0 <= s["t_start"] <= s["t_end"] <= report["run"]["duration_s"] + 0.01
    assert report["stats"]["node-b"]["failures"] == 1 and report["stats"]["node-a"]["failures"] == 0


def test_sections(failed_run):
    report = failed_run["report"]
    assert report["run"]["target_version"] == "1.14.10"
    assert report["versions"] == {
        "node-a": {"kubelet": {"before": "1.10.13", "after": "1.14.10", "changed": True, "at_target": True}},
        "node-b": {"kubelet": {"before": "1.10.13", "after": None, "changed": False, "at_target": None}}}
    assert report["backup"] == {"path": "/var/backups/etcd/snapshot.db", "sha256": "ab" * 32,
                                "drill": {"ok": True, "revision": 42, "keys": 7}}
    assert report["skew"]["token"] == "<redacted>"
    assert "leak" not in report["sections"]  # a no_log result is not read
    assert report["done"] == {"node-a": "node-a already at 1.14.10"}


def test_no_secret_in_any_file(failed_run):
    for name in os.listdir(failed_run["dir"]):
        with open(os.path.join(failed_run["dir"], name)) as handle:
            assert SECRET not in handle.read(), name


def test_html(failed_run):
    html = failed_run["html"]
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    assert len(svgs) == 1
    assert re.findall(r'<g class="row" data-host="([^"]+)"', svgs[0]) == ["localhost", "node-a", "node-b"]
    assert len(re.findall(r'<rect class="bar failed fatal"', svgs[0])) == 1
    assert "<img" not in html and "<script" not in html.lower()
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quoted&quot;" in html
    assert "node-b did not become Ready" in html


def test_check_mode_run_and_playbook_filter(tmp_path):
    ok_playbook = PLAYBOOK.replace("inventory_hostname == 'node-b'", "false")
    proc = run_playbook(tmp_path, ok_playbook, "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    status, run_dir = the_run_dir(tmp_path, proc)
    with open(os.path.join(run_dir, "report.json")) as handle:
        report = json.load(handle)
    assert status == "ok" and report["run"]["status"] == "ok" and report["run"]["check_mode"] is True
    assert report["failures"] == [] and len(report["phases"]) == 4
    assert "check mode" in open(os.path.join(run_dir, "report.html")).read()

    other = tmp_path / "other"
    other.mkdir()
    proc = run_playbook(other, ok_playbook, "--check", CLUSTEROPS_REPORT_PLAYBOOKS="rollback.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "upgrade report (" not in proc.stdout
    assert not (other / "reports").exists()


SLOW_PLAYBOOK = """
- name: Node batches
  hosts: node-a,node-b
  gather_facts: false
  tasks:
    - name: Quick step
      ansible.builtin.command: "true"
      changed_when: false

    - name: Long step
      ansible.builtin.command: sleep 60
"""


def test_interrupted_run_still_gets_a_report(tmp_path):
    (tmp_path / "inventory.yml").write_text(INVENTORY)
    (tmp_path / "upgrade.yml").write_text(SLOW_PLAYBOOK)
    cfg = tmp_path / "ansible.cfg"
    cfg.write_text("[defaults]\ncollections_path = %s\n" % os.path.join(ROOT, ".build", "collections"))
    env = dict(os.environ, ANSIBLE_CONFIG=str(cfg), ANSIBLE_CALLBACKS_ENABLED="clusterops.k8s_upgrade.upgrade_report",
               ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_NOCOLOR="1", ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               CLUSTEROPS_REPORT_DIR=str(tmp_path / "reports"), PYTHONUNBUFFERED="1")
    env.pop("CLUSTEROPS_REPORT_PLAYBOOKS", None)
    argv = [os.path.join(BIN, "ansible-playbook"), "-i", str(tmp_path / "inventory.yml"), str(tmp_path / "upgrade.yml")]
    proc = subprocess.Popen(argv, cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if "TASK [Long step]" in line:
                break
        time.sleep(2)  # let the workers start the sleeps
        proc.send_signal(signal.SIGINT)
        out, dummy = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    status, run_dir = the_run_dir(tmp_path, proc=subprocess.CompletedProcess(argv, proc.returncode, "".join(seen) + out, ""))
    with open(os.path.join(run_dir, "report.json")) as handle:
        report = json.load(handle)
    assert status == "interrupted" and report["run"]["status"] == "interrupted"
    for host in ("node-a", "node-b"):
        assert [(s["task"], s["outcome"]) for s in report["timeline"][host]] == [("Quick step", "ok"), ("Long step", "interrupted")]
        assert report["timeline"][host][1]["duration_s"] >= 1.5


def test_rebuild_from_events(failed_run, tmp_path):
    shutil.copy(os.path.join(failed_run["dir"], "events.jsonl"), str(tmp_path / "events.jsonl"))
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "rebuild-report.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "upgrade report (failed): %s" % (tmp_path / "report.html") in proc.stdout
    with open(str(tmp_path / "report.json")) as handle:
        rebuilt = json.load(handle)
    expected = dict(failed_run["report"])
    expected["run"] = dict(expected["run"], report_dir=str(tmp_path))
    assert rebuilt == expected
    assert stat.S_IMODE((tmp_path / "report.html").stat().st_mode) == 0o600
