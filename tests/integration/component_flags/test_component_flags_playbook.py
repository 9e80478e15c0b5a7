# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""component_flags through a real ansible-playbook run on this machine (connection local), against a
unit tree in a temporary directory: --check --diff changes nothing and shows the file, a real run
edits it and keeps a backup, a second run is unchanged, and a refused flag fails the task."""

import glob
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BIN = os.path.dirname(sys.executable)

UNIT = ("[Unit]\nDescription=Kubernetes API server\n\n[Service]\n"
        "EnvironmentFile=/etc/kubernetes/kube-apiserver.env\n"
        "ExecStart=/opt/kubernetes/v1.23.17/bin/kube-apiserver $KUBE_APISERVER_ARGS\nRestart=always\n")
ENV = ('KUBE_APISERVER_ARGS="--insecure-port=0 --experimental-encryption-provider-config=/etc/kubernetes/enc.yaml '
       '--etcd-servers=https://10.0.0.1:2379 --v=2"\n')
AFTER = ('KUBE_APISERVER_ARGS="--encryption-provider-config=/etc/kubernetes/enc.yaml '
         '--etcd-servers=https://10.0.0.1:2379 --v=4"\n')

PLAYBOOK = """
- name: Migrate the apiserver flags
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Rewrite kube-apiserver flags for the target
      clusterops.k8s_upgrade.component_flags:
        component: kube-apiserver
        current_version: 1.23.17
        target_version: 1.24.17
        verbosity: 4
        root: "{{ unit_root }}"
      register: flags

    - name: Save the result
      ansible.builtin.copy:
        content: "{{ flags | to_json }}"
        dest: "{{ result_file }}"
        mode: "0600"
"""


def run(tmp_path, *args):
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    cfg = tmp_path / "ansible.cfg"
    cfg.write_text("[defaults]\ncollections_path = %s\n" % os.path.join(ROOT, ".build", "collections"))
    env = dict(os.environ, ANSIBLE_CONFIG=str(cfg), ANSIBLE_NOCOLOR="1", ANSIBLE_STDOUT_CALLBACK="default",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_RETRY_FILES_ENABLED="0")
    argv = [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", str(tmp_path / "play.yml"),
            "-e", "unit_root=%s" % (tmp_path / "root"), "-e", "result_file=%s" % (tmp_path / "result.json")]
    return subprocess.run(argv + list(args), cwd=str(tmp_path), env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def build(tmp_path, env_text=ENV):
    root = tmp_path / "root"
    (root / "etc/systemd/system").mkdir(parents=True)
    (root / "etc/kubernetes").mkdir(parents=True)
    (root / "etc/systemd/system/kube-apiserver.service").write_text(UNIT)
    (root / "etc/kubernetes/kube-apiserver.env").write_text(env_text)
    return root / "etc/kubernetes/kube-apiserver.env"


def test_check_diff_then_apply_then_idempotent(tmp_path):
    env_file = build(tmp_path)
    # --check --diff: shows the edit with the file as header, writes nothing
    proc = run(tmp_path, "--check", "--diff")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "--- before: %s" % env_file in proc.stdout and "+++ after: %s" % env_file in proc.stdout
    assert "+" + AFTER.strip() in proc.stdout
    assert env_file.read_text() == ENV
    # real run: edits, keeps a backup next to the file
    proc = run(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["changed"] is True and result["needs_daemon_reload"] is False
    assert env_file.read_text() == AFTER
    backups = glob.glob(str(env_file) + ".*~")
    assert backups == [result["backup_files"][str(env_file)]]
    with open(backups[0]) as handle:
        assert handle.read() == ENV
    # second run: nothing to do
    proc = run(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "changed=1" in proc.stdout  # only the result file copy changes; the module does not
    assert json.loads((tmp_path / "result.json").read_text())["changed"] is False
    assert env_file.read_text() == AFTER


def test_refused_flag_fails_the_task(tmp_path):
    env_file = build(tmp_path, 'KUBE_APISERVER_ARGS="--insecure-port=8080 --v=2"\n')
    proc = run(tmp_path)
    assert proc.returncode == 2
    assert "--insecure-port=8080 is refused by Kubernetes 1.20" not in proc.stdout  # removal wins at 1.24
    assert "--insecure-port=8080 was removed in Kubernetes 1.24 without replacement" in proc.stdout
    assert env_file.read_text() == 'KUBE_APISERVER_ARGS="--insecure-port=8080 --v=2"\n'
