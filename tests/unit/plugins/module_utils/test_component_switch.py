# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""component_switch on unit trees in temporary directories, with a scripted systemd, /proc and clock."""

import os
import shutil

import pytest

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import component_switch as cs
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import systemd_unit as su

OLD, NEW = "1.31.14", "1.32.11"
ROOT_DIR = "/opt/kubernetes"


def unit_text(name, version):
    env = name.upper().replace("-", "_") + "_ARGS"
    return ("[Service]\nEnvironmentFile=/etc/kubernetes/%s.env\nExecStart=%s/v%s/bin/%s $%s\nRestart=always\n"
            % (name, ROOT_DIR, version, name, env))


def env_text(name, flags):
    return '%s_ARGS="%s"\n' % (name.upper().replace("-", "_"), flags)


class FakeHost:
    """systemd as far as a switch sees it: units whose process runs what their unit file says at the
    last (re)start, /proc/PID/exe links, health answers, a journal and a clock."""

    def __init__(self, root, versions):
        self.root = str(root)
        self.proc = os.path.join(self.root, "proc")
        self.clock = 1000.0
        self.calls = []
        self.pids = {}
        self.next_pid = 100
        self.health = {}        # url -> status; 200 by default
        self.journal = ""
        self.fail_start = {}    # unit -> predicate(binary) that keeps it from starting
        for name, version in versions.items():
            self._file("etc/systemd/system/%s.service" % name, unit_text(name, version))
            self._file("etc/kubernetes/%s.env" % name, env_text(name, "--v=2"))
            self._start(name + ".service")

    def _file(self, rel, text):
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(text)

    def _start(self, unit):
        binary = su.read_service(unit, root=self.root).binary
        refuse = self.fail_start.get(unit)
        if refuse and refuse(binary):
            self.pids[unit] = None
            return
        self.next_pid += 1
        pid_dir = os.path.join(self.proc, str(self.next_pid))
        os.makedirs(pid_dir)
        os.symlink(binary, os.path.join(pid_dir, "exe"))
        self.pids[unit] = self.next_pid

    # --- the host interface
    def run(self, argv):
        self.calls.append(argv)
        if argv[1] == "show":
            blocks = []
            for unit in argv[2:-1]:
                pid = self.pids.get(unit)
                blocks.append("Id=%s\nLoadState=loaded\nActiveState=%s\nSubState=%s\nMainPID=%s\n"
                              % (unit, "active" if pid else "activating", "running" if pid else "auto-restart", pid or 0))
            return 0, "\n".join(blocks), ""
        if argv[1] == "restart":
            self._start(argv[2])
            return 0, "", ""
        if argv[1] == "daemon-reload":
            return 0, "", ""
        if argv[0] == "journalctl":
            return 0, self.journal, ""
        raise AssertionError("unexpected command %s" % argv)

    def http_get(self, url, ca_path=None, validate_certs=True):
        self.calls.append(["GET", url])
        status = self.health.get(url, 200)
        return status, '{"gitVersion": "v%s"}' % NEW if url.endswith("/version") else "ok"

    def write(self, path, text):
        with open(path, "w") as handle:
            handle.write(text)

    def backup(self, path):
        dest = path + ".bak%d" % len(self.calls)
        shutil.copyfile(path, dest)
        return dest

    def restore_file(self, backup, path):
        shutil.copyfile(backup, path)

    def move(self, source, dest):
        os.rename(source, dest)

    def sleep(self, seconds):
        self.clock += seconds

    def now(self):
        return self.clock

    def utc_stamp(self):
        return "20261126T000000Z"

    # --- what the tests read
    def commands(self, verb):
        return [c[2] for c in self.calls if len(c) > 2 and c[1] == verb]

    def reloads(self):
        return sum(1 for c in self.calls if c[1:2] == ["daemon-reload"])

    def running(self, unit):
        pid = self.pids.get(unit)
        return os.readlink(os.path.join(self.proc, str(pid), "exe")) if pid else None


NODE = [{"name": "kubelet", "current_version": OLD}, {"name": "kube-proxy", "current_version": OLD}]


def switch(host, components=None, **kw):
    kw.setdefault("install_root", ROOT_DIR)
    return cs.switch(host, components or NODE, NEW, root=host.root, probe_interval=1, ready_timeout=30, **kw)


def test_switch_rewrites_reloads_once_restarts_in_order_and_waits(tmp_path):
    host = FakeHost(tmp_path, {"kubelet": OLD, "kube-proxy": OLD})
    result = switch(host, verbosity=4)
    assert result["changed"]
    assert host.reloads() == 1
    assert host.commands("restart") == ["kubelet.service", "kube-proxy.service"]
    assert host.running("kubelet.service") == "/opt/kubernetes/v%s/bin/kubelet" % NEW
    assert host.running("kube-proxy.service") == "/opt/kubernetes/v%s/bin/kube-proxy" % NEW
    assert [s["name"] for s in result["switched"]] == ["kubelet", "kube-proxy"]
    assert all(s["version"] == OLD and s["backup_files"] for s in result["switched"])
    assert ["GET", "http://127.0.0.1:10248/healthz"] in host.calls
    assert ["GET", "http://127.0.0.1:10256/healthz"] in host.calls
    assert "--v=4" in result["components"][0]["flags_after"]


def test_rerun_at_target_changes_nothing(tmp_path):
    host = FakeHost(tmp_path, {"kubelet": NEW, "kube-proxy": NEW})
    result = switch(host)
    assert not result["changed"]
    assert host.commands("restart") == [] and host.reloads() == 0
    assert result["switched"] == []


def test_unit_switched_but_old_process_running_is_restarted(tmp_path):
    # A run interrupted between the rewrite and the restart: the unit names the target, the old process runs.
    host = FakeHost(tmp_path, {"kubelet": OLD, "kube-proxy": NEW})
    host._file("etc/systemd/system/kubelet.service", unit_text("kubelet", NEW))
    result = switch(host)
    assert result["changed"]
    assert host.commands("restart") == ["kubelet.service"]
    assert host.reloads() == 0  # no unit file changed in this run
    assert result["switched"] == []  # nothing this run could switch back
    assert host.running("kubelet.service").startswith("/opt/kubernetes/v%s/" % NEW)


def test_check_mode_plans_and_touches_nothing(tmp_path):
    host = FakeHost(tmp_path, {"kubelet": OLD, "kube-proxy": OLD})
    before = open(os.path.join(host.root, "etc/systemd/system/kubelet.service")).read()
    result = switch(host, check_mode=True, verbosity=4)
    assert result["changed"]
    assert host.commands("restart") == [] and host.reloads() == 0
    assert open(os.path.join(host.root, "etc/systemd/system/kubelet.service")).read() == before
    assert len(result["plan"]) == 2
    assert result["plan"][0].startswith("kubelet: %s -> %s; binary /opt/kubernetes/v%s/bin/kubelet -> " % (OLD, NEW, OLD))
    assert "flags v changed" in result["plan"][0] and "and restart kubelet.service" in result["plan"][0]


def test_a_component_that_never_gets_healthy_fails_with_what_was_switched(tmp_path):
    host = FakeHost(tmp_path, {"kubelet": OLD, "kube-proxy": OLD})
    host.health["http://127.0.0.1:10248/healthz"] = 500
    with pytest.raises(cs.SwitchError) as info:
        switch(host)
    assert "kubelet did not become healthy at %s within 30s" % NEW in str(info.value)
    assert "answered 500" in str(info.value)
    # both units were rewritten before the first restart; kube-proxy was never restarted
    assert [s["name"] for s in info.value.result["switched"]] == ["kubelet", "kube-proxy"]
    assert host.commands("restart") == ["kubelet.service"]


def test_restore_puts_back_the_units_and_restarts_only_what_moved(tmp_path):
    host = FakeHost(tmp_path, {"kubelet": OLD, "kube-proxy": OLD})
    host.health["http://127.0.0.1:10248/healthz"] = 500
    with pytest.raises(cs.SwitchError) as info:
        switch(host)
    host.health.clear()
    host.calls = []
    result = cs.restore(host, info.value.result["switched"], install_root=ROOT_DIR, root=host.root, probe_interval=1,
                        ready_timeout=30)
    assert result["restored"] == ["kubelet", "kube-proxy"]
    assert host.reloads() == 1
    assert host.commands("restart") == ["kubelet.service"]  # kube-proxy still ran the old binary
    for name in ("kubelet", "kube-proxy"):
        assert su.read_service(name + ".service", root=host.root).binary == "%s/v%s/bin/%s" % (ROOT_DIR, OLD, name)
    assert host.running("kubelet.service") == "%s/v%s/bin/kubelet" % (ROOT_DIR, OLD)


def test_refused_state_files_are_moved_aside_one_per_start(tmp_path):
    host = FakeHost(tmp_path, {"kubelet": OLD, "kube-proxy": OLD})
    state = [os.path.join(host.root, "var/lib/kubelet", n) for n in ("cpu_manager_state", "memory_manager_state")]
    for path in state:
        host._file(os.path.relpath(path, host.root), "{}")

    def refuses(binary):
        # the new kubelet refuses the first state file still there, and names it
        left = [p for p in state if os.path.exists(p)]
        if NEW in binary and left:
            host.journal = 'E "Failed to start ContainerManager" err="could not restore state from checkpoint %s"\n' % left[0]
            return True
        return False

    host.fail_start["kubelet.service"] = refuses
    backups = os.path.join(host.root, "backups")
    result = switch(host, state_files=state + [os.path.join(host.root, "var/lib/kubelet/dra_manager_state")],
                    state_backup_dir=backups)
    assert result["refused"] == state
    # copied before the restart, only the files that exist
    assert result["state_backup"] == {"dir": os.path.join(backups, "20261126T000000Z"), "files": state}
    assert sorted(os.listdir(result["state_backup"]["dir"])) == ["cpu_manager_state", "memory_manager_state"]
    assert oct(os.stat(result["state_backup"]["dir"]).st_mode & 0o777) == "0o700"
    assert all(os.path.exists(p + ".refused-20261126T000000Z") and not os.path.exists(p) for p in state)
    assert host.commands("restart") == ["kubelet.service"] * 3 + ["kube-proxy.service"]


def test_a_journal_that_only_mentions_a_state_file_is_no_refusal():
    journal = "I restored state from checkpoint /var/lib/kubelet/cpu_manager_state\n"
    assert cs.refused_files(journal, ["/var/lib/kubelet/cpu_manager_state"]) == []
    journal += "E could not restore state from checkpoint /var/lib/kubelet/cpu_manager_state: bad format\n"
    assert cs.refused_files(journal, ["/var/lib/kubelet/cpu_manager_state"]) == ["/var/lib/kubelet/cpu_manager_state"]


def test_apiserver_waits_for_version_of_the_target(tmp_path):
    host = FakeHost(tmp_path, {"kube-apiserver": OLD})
    result = switch(host, components=[{"name": "kube-apiserver", "current_version": OLD}],
                    apiserver_url="https://127.0.0.1:6443", ca_path="/etc/kubernetes/pki/ca.crt")
    assert result["changed"]
    assert ["GET", "https://127.0.0.1:6443/readyz"] in host.calls
    assert ["GET", "https://127.0.0.1:6443/version"] in host.calls


def test_a_removed_flag_fails_before_anything_is_written(tmp_path):
    host = FakeHost(tmp_path, {"kubelet": OLD, "kube-proxy": OLD})
    host._file("etc/kubernetes/kubelet.env", env_text("kubelet", "--v=2 --keep-terminated-pod-volumes=true"))
    before = open(os.path.join(host.root, "etc/kubernetes/kubelet.env")).read()
    with pytest.raises(cs.SwitchError) as info:
        cs.switch(host, NODE, "1.31.14", root=host.root, install_root=ROOT_DIR)
    assert str(info.value).startswith("kubelet: ")
    assert "keep-terminated-pod-volumes" in str(info.value)
    assert info.value.result["switched"] == []
    assert host.commands("restart") == []
    assert open(os.path.join(host.root, "etc/kubernetes/kubelet.env")).read() == before


@pytest.mark.parametrize("entry, pending", [
    ({"version": NEW, "state": {"active": "active"}, "running_path": "/opt/kubernetes/v%s/bin/kubelet" % NEW}, []),
    ({"version": OLD, "state": {"active": "active"}, "running_path": "/opt/kubernetes/v%s/bin/kubelet" % OLD}, ["kubelet"]),
    # the unit switched, the old process still running: not done
    ({"version": NEW, "state": {"active": "active"}, "running_path": "/opt/kubernetes/v%s/bin/kubelet" % OLD}, ["kubelet"]),
    ({"version": NEW, "state": {"active": "failed"}, "running_path": None}, ["kubelet"]),
    # no unit state known: the version decides
    ({"version": NEW, "state": None, "running_path": None}, []),
    ({}, ["kubelet"]),
])
def test_pending_components(entry, pending):
    assert cs.pending_components({"kubelet": entry}, ["kubelet"], "v" + NEW) == pending
