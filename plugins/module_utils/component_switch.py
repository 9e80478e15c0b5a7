# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Switch a host's Kubernetes components to another release, in one step per host.

A switch rewrites each component's unit for the target (flags migrated, the executable moved to the
target's versioned directory, a backup of every edited file kept), reloads systemd once when a unit
file changed, then restarts the components in the order given and waits for each one before the next
restarts: active, running the binary from the target directory, its health URL answering 200, and for
kube-apiserver /version reporting the target. A restore undoes a switch from the backups it recorded.

A component counts as switched only when its process runs the target binary, not when its unit names
it: a run interrupted between the rewrite and the restart leaves a unit at the target and the old
process running, and the next run restarts it.

Side effects go through a `host` object (run, http_get, write, backup, restore_file, move, sleep,
now), so that the logic here is tested without a host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
import re
import shutil
import tempfile

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import flag_migration as fm
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import systemd_unit as su
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.component_facts import (
    parse_systemctl_show, running_path, systemctl_show_argv, unit_state)
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.health import health_url
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.versions import VersionError

# A kubelet that refuses a state file exits with a line naming the file and saying why.
_REFUSAL = re.compile(r"fail|error|could not|cannot|refus|corrupt|invalid|mismatch", re.IGNORECASE)


class SwitchError(Exception):
    """A step failed; `result` holds what was done so far (`switched` tells a restore what to undo)."""

    def __init__(self, msg, result=None):
        super(SwitchError, self).__init__(msg)
        self.result = result or {}


def release_dir(install_root, version):
    """ROOT/vX.Y.Z, the versioned install directory of a release."""
    return "%s/v%s" % ((install_root or "/").rstrip("/"), str(version).lstrip("v"))


def runs_from(state, path, directory):
    """True when the unit is active and its process runs a binary from `directory`."""
    return bool(state and state.get("active") == "active" and path and path.startswith(directory.rstrip("/") + "/"))


# ------------------------------------------------------------------------------------ the unit

def plan_unit(component, target_version, binary=None, unit=None, root="/", removed_flags="fail", verbosity=None,
              set_flags=None, unset_flags=None, current_version=None):
    """Read `unit` and plan its rewrite for `target_version`; writes nothing.

    Returns (report, edits, service): the report as component_flags returns it (changed, binary, flags
    before and after, renamed, dropped, ...), the edits {path: FileEdit} and the service read.
    Raises su.UnitError, fm.FlagMigrationError or VersionError, and IOError/OSError on a file it cannot read.
    """
    unit = unit or component + ".service"
    report = dict(changed=False, unit=unit, binary=None, binary_before=None, flags_before=[], flags_after=[],
                  renamed=[], dropped=[], warned=[], added=[], changed_values=[], files=[], flag_files=[],
                  backup_files={}, needs_daemon_reload=False, hop_changes=[])
    if current_version:
        report["hop_changes"] = fm.hop_changes(component, current_version, target_version)
    service = su.read_service(unit, root=root)
    report["binary"] = report["binary_before"] = service.binary
    report["flags_before"] = su.render_flags(service.flags)
    report["flag_files"] = service.flag_files()
    the_plan = fm.plan(service.flags, component, target_version, removed_flags=removed_flags,
                       set_flags=set_flags or {}, unset_flags=unset_flags or [], verbosity=verbosity)
    edits = fm.apply(service, the_plan, binary=binary)
    if binary:
        report["binary"] = binary
    report.update(flags_after=fm.planned_flags(service.flags, the_plan), renamed=the_plan.renamed,
                  dropped=the_plan.dropped, warned=the_plan.warned, added=the_plan.added,
                  changed_values=the_plan.changed_values, files=sorted(edits),
                  needs_daemon_reload=any(path in set(service.config.files) for path in edits),
                  changed=bool(edits))
    return report, edits, service


def write_unit(host, report, edits, root="/", backup=True):
    """Write the planned edits (each file atomically, after a backup) and read the unit back.

    Fills report["backup_files"]; returns the service as systemd will read it. Raises SwitchError when
    a file changed since it was planned or the read-back differs from the plan.
    """
    for path, edit in sorted(edits.items()):
        if su.read_text(path) != edit.before:
            raise SwitchError("%s changed while it was being rewritten; run again" % path)
        if backup:
            report["backup_files"][path] = host.backup(path)
        host.write(path, edit.after)
    check = su.read_service(report["unit"], root=root)
    written = su.render_flags(check.flags)
    if written != report["flags_after"] or check.binary != report["binary"]:
        raise SwitchError("%s: after the rewrite the unit runs %s %s, expected %s %s; the backups are %s"
                          % (report["unit"], check.binary, written, report["binary"], report["flags_after"],
                             report["backup_files"]))
    return check


def plan_line(entry):
    """One line for --check: versions, binary, flag changes, files and the restart."""
    changes = (["%s renamed to %s" % (r["old"], r["new"]) for r in entry.get("renamed", [])]
               + ["%s dropped" % d["flag"] for d in entry.get("dropped", [])]
               + ["%s added" % a["flag"] for a in entry.get("added", [])]
               + ["%s changed" % c["flag"] for c in entry.get("changed_values", [])])
    return ("%s: %s -> %s; binary %s -> %s; flags %s; would edit %s and %s %s"
            % (entry["name"], entry.get("current_version") or "?", entry["target_version"],
               entry.get("binary_before") or "?", entry.get("binary") or "?", ", ".join(changes) or "unchanged",
               ", ".join(entry.get("files", [])) or "nothing", "restart" if entry.get("restart") else "not restart",
               entry["unit"]))


# ------------------------------------------------------------------------------ the processes

def observe(host, units, systemctl="systemctl"):
    """{unit: (state, running path)} from one `systemctl show` (and the host's /proc, `host.proc`)."""
    proc = getattr(host, "proc", "/proc")
    argv = systemctl_show_argv(systemctl, units)
    rc, out, err = host.run(argv)
    if rc != 0:
        raise SwitchError("%s failed (rc %d): %s" % (" ".join(argv), rc, (err or out).strip()))
    shown = parse_systemctl_show(out)
    result = {}
    for unit in units:
        state = unit_state(shown.get(unit))
        path = running_path(proc, state["main_pid"]) if state and state["main_pid"] else None
        result[unit] = (state, path)
    return result


def refused_files(journal, candidates):
    """The candidate state files a journal names in a line that reports a failure."""
    lines = [line for line in (journal or "").splitlines() if _REFUSAL.search(line)]
    return [path for path in candidates if any(path in line for line in lines)]


def wait_ready(host, item, version, directory, ready_timeout, probe_interval, apiserver_url=None, ca_path=None,
               refusable=(), refused=None, systemctl="systemctl", restarted_at=None):
    """Wait until item's unit runs a binary from `directory` and answers its health check.

    A kubelet that exits naming one of `refusable` (state files an older kubelet wrote) gets that file
    moved aside (kept as FILE.refused-<UTC time>, listed in `refused`) and is restarted, once per file.
    Raises SwitchError with the last thing seen when `ready_timeout` passes.
    """
    refused = refused if refused is not None else []
    unit = item["unit"]
    since = restarted_at if restarted_at is not None else host.now()
    deadline = host.now() + ready_timeout
    last = "not checked yet"
    while True:
        state, path = observe(host, [unit], systemctl)[unit]
        if runs_from(state, path, directory):
            url = health_url(item["name"], version, item.get("health_flags") or {})
            status, body = host.http_get(url, ca_path=ca_path if item["name"] == "kube-apiserver" else None,
                                         validate_certs=item["name"] == "kube-apiserver")
            if status == 200 and item["name"] == "kube-apiserver" and apiserver_url:
                status, body = host.http_get(apiserver_url.rstrip("/") + "/version", ca_path=ca_path,
                                             validate_certs=True)
                reported = _git_version(body)
                if status == 200 and reported != str(version).lstrip("v"):
                    status, body = None, "/version reports %s, expected %s" % (reported or "nothing", version)
                url = apiserver_url.rstrip("/") + "/version"
            if status == 200:
                return
            last = "%s answered %s: %s" % (url, status, str(body)[:200])
        else:
            last = "%s is %s, running %s (expected a binary under %s/)" % (
                unit, "/".join(filter(None, [state and state.get("active"), state and state.get("sub")])) or "unknown",
                path or "nothing", directory)
            if refusable:
                left = [f for f in refusable if f not in refused]
                rc, journal, _err = host.run(["journalctl", "--unit", unit, "--since", "@%d" % int(since),
                                             "--no-pager", "--output", "cat"])
                blamed = refused_files(journal, left) if rc == 0 else []
                if blamed:
                    stamp = host.utc_stamp()
                    for path_ in blamed:
                        host.move(path_, "%s.refused-%s" % (path_, stamp))
                        refused.append(path_)
                    since = host.now()
                    _systemctl(host, systemctl, "restart", unit)
                    deadline = host.now() + ready_timeout
                    continue
        if host.now() >= deadline:
            raise SwitchError("%s did not become healthy at %s within %ss: %s"
                              % (item["name"], version, ready_timeout, last))
        host.sleep(probe_interval)


def _git_version(body):
    match = re.search(r'"gitVersion"\s*:\s*"v?([^"+]+)', body or "")
    return match.group(1) if match else None


def _systemctl(host, systemctl, *args):
    argv = [systemctl] + list(args)
    rc, out, err = host.run(argv)
    if rc != 0:
        raise SwitchError("%s failed (rc %d): %s" % (" ".join(argv), rc, (err or out).strip()))


# ---------------------------------------------------------------------------------- the steps

def switch(host, components, target_version, install_root="/opt/kubernetes", verbosity=None, removed_flags="fail",
           ready_timeout=300, probe_interval=2, state_files=(), state_backup_dir=None, apiserver_url=None,
           ca_path=None, check_mode=False, root="/", systemctl="systemctl"):
    """Switch `components` (dicts: name, current_version, unit) to `target_version`, in order.

    `state_files` are the kubelet's: copied into STATE_BACKUP_DIR/<UTC time>/ just before the kubelet
    restarts, and moved aside when the new kubelet refuses them.

    Returns the result: changed, components (each with its plan and whether it restarts), switched
    (what a restore needs, in order), state_backup, refused (state files moved aside), reload_s (the
    systemd reload before the restarts) and waited_s (seconds from the first restart to the last
    component healthy). Raises SwitchError with that result so far.
    """
    target = str(target_version).lstrip("v")
    directory = release_dir(install_root, target)
    result = dict(changed=False, components=[], switched=[], state_backup=None, refused=[], reload_s=0.0,
                  waited_s=0.0, target_dir=directory)
    plans = []
    try:
        for comp in components:
            binary = "%s/bin/%s" % (directory, comp["name"])
            report, edits, service = plan_unit(comp["name"], target, binary=binary, unit=comp.get("unit"), root=root,
                                               removed_flags=removed_flags, verbosity=verbosity,
                                               current_version=comp.get("current_version"))
            entry = dict(report, name=comp["name"], current_version=comp.get("current_version"), target_version=target)
            plans.append((entry, edits, service))
            result["components"].append(entry)
            result["diffs"] = result.get("diffs", []) + [(path, fe.before, fe.after) for path, fe in sorted(edits.items())]
    except (su.UnitError, fm.FlagMigrationError, VersionError, IOError, OSError) as exc:
        raise SwitchError("%s: %s" % (comp["name"], _describe(exc)), result)

    running = observe(host, [entry["unit"] for entry, _e, _s in plans], systemctl)
    for entry, edits, _service in plans:
        state, path = running.get(entry["unit"], (None, None))
        entry["running_path"] = path
        entry["restart"] = bool(edits) or not runs_from(state, path, directory)
    result["changed"] = any(entry["restart"] for entry in result["components"])
    result["plan"] = [plan_line(entry) for entry in result["components"] if entry["restart"]]
    kubelet_restarts = any(entry["name"] == "kubelet" and entry["restart"] for entry in result["components"])
    if kubelet_restarts and state_backup_dir:
        result["state_backup"] = dict(dir=os.path.join(state_backup_dir, host.utc_stamp()),
                                      files=[path for path in state_files if os.path.isfile(path)])
    if check_mode or not result["changed"]:
        return result

    with _failing_with(result):
        for entry, edits, service in plans:
            if edits:
                service = write_unit(host, entry, edits, root=root)
                # Recorded before anything restarts: a failure from here on can be undone.
                result["switched"].append(dict(name=entry["name"], unit=entry["unit"], version=entry["current_version"],
                                               backup_files=entry["backup_files"]))
            entry["health_flags"] = su.flags_dict(service.flags)
        if result["state_backup"]:
            backup_state(result["state_backup"]["files"], result["state_backup"]["dir"])
        mark = host.now()
        if any(entry["needs_daemon_reload"] for entry in result["components"]):
            _systemctl(host, systemctl, "daemon-reload")
        began = host.now()
        result["reload_s"] = round(began - mark, 3)
        for entry in result["components"]:
            if not entry["restart"]:
                continue
            restarted_at = host.now()
            _systemctl(host, systemctl, "restart", entry["unit"])
            wait_ready(host, entry, target, directory, ready_timeout, probe_interval, apiserver_url, ca_path,
                       refusable=state_files if entry["name"] == "kubelet" else (), refused=result["refused"],
                       systemctl=systemctl, restarted_at=restarted_at)
            entry["restarted"] = True
        result["waited_s"] = round(host.now() - began, 3)
    return result


def backup_state(files, directory):
    """Copy `files` (mode and times kept) into `directory`, created 0700; an existing one is refused."""
    os.makedirs(directory, mode=0o700)
    for path in files:
        shutil.copy2(path, os.path.join(directory, os.path.basename(path)))


def restore(host, switched, install_root="/opt/kubernetes", ready_timeout=300, probe_interval=2, apiserver_url=None,
            ca_path=None, check_mode=False, root="/", systemctl="systemctl"):
    """Undo a switch: put back the backed-up unit files, reload systemd once, then restart each
    component that does not run its previous release and wait for it there, newest switch first
    (a scheduler goes back before its apiserver, kube-proxy before its kubelet).

    `switched` is a switch result's list. Returns changed, restored (component names), waited_s.
    """
    result = dict(changed=bool(switched), restored=[item["name"] for item in switched], waited_s=0.0)
    if check_mode or not switched:
        return result
    with _failing_with(result):
        for item in reversed(switched):
            for path, backup in sorted(item.get("backup_files", {}).items()):
                host.restore_file(backup, path)
        _systemctl(host, systemctl, "daemon-reload")
        began = host.now()
        for item in reversed(switched):
            directory = release_dir(install_root, item["version"])
            service = su.read_service(item["unit"], root=root)
            entry = dict(item, health_flags=su.flags_dict(service.flags))
            state, path = observe(host, [item["unit"]], systemctl)[item["unit"]]
            if runs_from(state, path, directory):
                continue
            _systemctl(host, systemctl, "restart", item["unit"])
            wait_ready(host, entry, item["version"], directory, ready_timeout, probe_interval, apiserver_url, ca_path,
                       systemctl=systemctl)
        result["waited_s"] = round(host.now() - began, 3)
    return result


@contextlib.contextmanager
def _failing_with(result):
    """A failure inside raises SwitchError carrying `result` as it stands (what was switched so far)."""
    try:
        yield
    except (su.UnitError, IOError, OSError) as exc:
        raise SwitchError(_describe(exc), result)
    except SwitchError as exc:
        exc.result = result
        raise


class FileHost:
    """The file side of a host through an AnsibleModule: atomic writes (owner, mode and SELinux context
    kept by atomic_move) and timestamped backups next to the file."""

    def __init__(self, module):
        self.module = module

    def write(self, path, text):
        fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=os.path.dirname(path))
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(text.encode("utf-8"))
            self.module.atomic_move(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def backup(self, path):
        return self.module.backup_local(path)

    def restore_file(self, backup, path):
        fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=os.path.dirname(path))
        os.close(fd)
        try:
            shutil.copyfile(backup, tmp)
            self.module.atomic_move(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def _describe(exc):
    if isinstance(exc, (IOError, OSError)) and getattr(exc, "filename", None):
        return "cannot read or write %s: %s" % (exc.filename, exc.strerror or exc)
    return str(exc)


def pending_components(facts, components, target_version, install_root="/opt/kubernetes"):
    """The names in `components` whose component_facts entry is not at `target_version`, or whose
    process does not run from its directory (when the unit state is known), in the order given."""
    target = str(target_version).lstrip("v")
    directory = release_dir(install_root, target)
    pending = []
    for name in components:
        entry = (facts or {}).get(name) or {}
        runs_elsewhere = entry.get("state") and not runs_from(entry["state"], entry.get("running_path"), directory)
        if entry.get("version") != target or runs_elsewhere:
            pending.append(name)
    return pending
