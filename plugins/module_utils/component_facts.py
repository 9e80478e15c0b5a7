# -*- coding: utf-8 -*-
# Copyright: clusterops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What Kubernetes binaries a host has, which one each systemd unit runs, and with which flags.

Pure Python, no Ansible imports: commands run through a `run(argv) -> (rc, out, err)` callable
(the module passes module.run_command with a C locale). Units are read with systemd_unit (the
same parser component_flags edits with), so facts and flag rewrites agree on where a flag lives.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import hashlib
import os
import re

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import systemd_unit
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.versions import (
    VersionError,
    parse_version,
)

COMPONENTS = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kubectl",
)
# Components that are not services (no unit is looked for).
CLIENTS = ("kubectl",)

DEFAULT_SEARCH_PATHS = ("/usr/local/bin", "/usr/bin", "/opt/kubernetes/v*/bin")

# systemctl show properties reported as the unit's state.
SHOW_PROPERTIES = (
    "Id",
    "LoadState",
    "ActiveState",
    "SubState",
    "UnitFileState",
    "MainPID",
    "ExecMainStartTimestamp",
    "NeedDaemonReload",
)

# `Kubernetes v1.14.10` (--version of the server binaries), `Client Version: v1.29.3` (kubectl
# 1.28+), `GitVersion:"v1.10.13"` (--version=raw, kubectl before 1.28).
_VERSION_PATTERNS = (
    re.compile(r'GitVersion:"v?([^"]+)"'),
    re.compile(r"^Kubernetes v?(\S+)\s*$", re.M),
    re.compile(r"^Client Version: v?(\S+)\s*$", re.M),
)

_VERSION_DIR_RE = re.compile(r"^v?\d+\.\d+\.\d+\S*$")


class FactsError(Exception):
    """A fact that could not be read; reported as a note, not a failure."""


def version_argv(component, path):
    """The command that prints a binary's version (kubectl has no --version flag)."""
    if component == "kubectl":
        return [path, "version", "--client"]
    return [path, "--version"]


def parse_version_output(text):
    """The version a binary printed, as a string without the leading v; None when unrecognised."""
    for pattern in _VERSION_PATTERNS:
        match = pattern.search(text or "")
        if match:
            try:
                return str(parse_version(match.group(1)))
            except VersionError:
                continue
    return None


def sha256_file(path, chunk=1024 * 1024):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_systemctl_show(text):
    """`systemctl show A B --property=...` output: {unit id: {property: value}} (blocks split by blank lines)."""
    units = {}
    block = {}
    for line in (text or "").splitlines() + [""]:
        if not line.strip():
            if block:
                units[block.get("Id", "unit%d" % len(units))] = block
                block = {}
            continue
        if "=" in line:
            key, value = line.split("=", 1)
            block[key] = value
    return units


def systemctl_show_argv(systemctl, units):
    return [systemctl, "show"] + list(units) + ["--property=" + ",".join(SHOW_PROPERTIES)]


def unit_state(props):
    """A unit's state from its systemctl show properties."""
    if not props:
        return None
    pid = props.get("MainPID")
    return {
        "load": props.get("LoadState"),
        "active": props.get("ActiveState"),
        "sub": props.get("SubState"),
        "enabled": props.get("UnitFileState") or None,
        "main_pid": int(pid) if pid and pid.isdigit() and pid != "0" else None,
        "started": props.get("ExecMainStartTimestamp") or None,
        "need_daemon_reload": props.get("NeedDaemonReload") == "yes",
    }


def _under(root, path):
    if root in (None, "", "/"):
        return path
    return os.path.join(root, path.lstrip("/"))


def _outside(root, path):
    """A path under `root` as the host sees it."""
    if root in (None, "", "/") or path is None:
        return path
    rel = os.path.relpath(path, root)
    return "/" + rel if rel != "." else "/"


def _version_key(name):
    try:
        return (0, parse_version(name))
    except VersionError:
        return (1, name)


def expand_search_paths(paths, root="/"):
    """Directories to look in, globs expanded (versioned dirs in version order), as host paths."""
    result = []
    for pattern in paths:
        local = _under(root, pattern)
        if any(c in pattern for c in "*?["):
            matches = [m for m in glob.glob(local) if os.path.isdir(m)]
            # /opt/kubernetes/v1.9.11 before v1.10.13: sort on the versioned part of the path
            matches.sort(key=lambda m: [_version_key(part) for part in m.split(os.sep)])
        else:
            matches = [local] if os.path.isdir(local) else []
        for match in matches:
            host_path = _outside(root, match)
            if host_path not in result:
                result.append(host_path)
    return result


def install_dir_of(path):
    """(install dir, version) when `path` is DIR/vX.Y.Z/bin/NAME or DIR/vX.Y.Z/NAME, else (None, None)."""
    parent = os.path.dirname(path)
    for candidate in (os.path.dirname(parent), parent):
        name = os.path.basename(candidate)
        if _VERSION_DIR_RE.match(name):
            try:
                return candidate, str(parse_version(name))
            except VersionError:
                pass
    return None, None


def installed_beside(install_dir, name, root="/"):
    """Versions installed next to `install_dir` (siblings vX.Y.Z holding the same binary)."""
    if install_dir is None:
        return []
    # layouts differ: look for bin/NAME and NAME in each sibling
    base = _under(root, os.path.dirname(install_dir))
    versions = []
    for entry in sorted(os.listdir(base), key=_version_key) if os.path.isdir(base) else []:
        if not _VERSION_DIR_RE.match(entry):
            continue
        for rel in (os.path.join(entry, "bin", name), os.path.join(entry, name)):
            if os.path.isfile(os.path.join(base, rel)):
                try:
                    versions.append(str(parse_version(entry)))
                except VersionError:
                    pass
                break
    return versions


def _is_executable(path):
    return os.path.isfile(path) and os.access(path, os.X_OK)


def describe_unit(name, root="/"):
    """Flags, files and verbosity of the unit `name` (a dict), or raises FactsError."""
    try:
        service = systemd_unit.read_service(name, root=root)
    except systemd_unit.UnitError as exc:
        raise FactsError(str(exc))
    config = service.config
    flags = []
    for flag in service.flags:
        if flag.name is None:
            continue
        sources = [w.path for w in flag.words if w.path]
        flags.append({
            "name": flag.key,
            "value": systemd_unit.flag_value(flag),
            "file": _outside(root, sources[0]) if sources else None,
            "origin": flag.words[0].origin if flag.words else None,
        })
    env_files = [systemd_unit.parse_environment_file_setting(a.value)[0]
                 for a in config.get_all("EnvironmentFile")]
    return {
        "unit": config.name,
        "unit_file": _outside(root, config.fragment),
        "dropins": [_outside(root, p) for p in config.dropins],
        "environment_files": env_files,
        "exec_path": service.binary,
        "argv": [w.value for w in service.command.argv] if service.command else [],
        "flags": systemd_unit.flags_dict(service.flags),
        "flag_list": flags,
        "flag_files": [_outside(root, p) for p in service.flag_files()],
        "verbosity": systemd_unit.verbosity(service.flags),
        "notes": list(service.notes),
    }


def gather(run, components=COMPONENTS, search_paths=DEFAULT_SEARCH_PATHS, units=None, root="/",
           systemctl="systemctl", proc="/proc"):
    """Facts about every component found on this host.

    Returns {component: facts} for the components with a binary or a unit, and a list of notes.
    `units` maps a component to its unit name (default COMPONENT.service). `systemctl` None skips
    the unit state (another root than /, or no systemd).
    """
    units = dict(units or {})
    notes = []
    dirs = expand_search_paths(search_paths, root)
    described = {}
    for component in components:
        if component in CLIENTS:
            continue
        name = units.get(component) or component + ".service"
        try:
            described[component] = describe_unit(name, root)
        except FactsError as exc:
            if "not found" not in str(exc):
                notes.append("%s: %s" % (component, exc))

    states = {}
    if systemctl and described:
        names = [described[c]["unit"] for c in components if c in described]
        argv = systemctl_show_argv(systemctl, names)
        rc, out, err = run(argv)
        if rc == 0:
            states = parse_systemctl_show(out)
        else:
            notes.append("%s failed (rc %d): %s; unit states are unknown" % (" ".join(argv), rc, (err or out).strip()))

    versions_by_real = {}
    facts = {}
    for component in components:
        unit = described.get(component)
        candidates = []
        if unit and unit["exec_path"]:
            candidates.append(unit["exec_path"])
        candidates.extend(os.path.join(d, component) for d in dirs)
        binaries = []
        seen = set()
        for path in candidates:
            local = _under(root, path)
            if path in seen or not _is_executable(local):
                continue
            seen.add(path)
            real_local = os.path.realpath(local)
            real = _outside(root, real_local)
            if real_local not in versions_by_real:
                versions_by_real[real_local] = _binary_facts(run, component, local, real_local, notes)
            info = dict(versions_by_real[real_local])
            install_dir, dir_version = install_dir_of(real)
            info.update({"path": path, "realpath": real, "install_dir": install_dir,
                         "in_unit": bool(unit and unit["exec_path"] == path)})
            if dir_version and info["version"] and dir_version != info["version"]:
                notes.append("%s at %s reports %s but sits in the directory of %s"
                             % (component, path, info["version"], dir_version))
            binaries.append(info)
        if not binaries and not unit:
            continue
        if unit and unit["exec_path"] and not any(b["in_unit"] for b in binaries):
            notes.append("%s: %s runs %s, which does not exist or is not executable"
                         % (component, unit["unit"], unit["exec_path"]))
        current = next((b for b in binaries if b["in_unit"]), binaries[0] if binaries else None)
        entry = {
            "component": component,
            "path": current["path"] if current else None,
            "realpath": current["realpath"] if current else None,
            "version": current["version"] if current else None,
            "sha256": current["sha256"] if current else None,
            "install_dir": current["install_dir"] if current else None,
            "installed_versions": installed_beside(current["install_dir"], component, root) if current else [],
            "binaries": binaries,
            "unit": None,
            "state": None,
            "running_path": None,
            "running_version": None,
            "flags": {},
            "flag_list": [],
            "flag_files": [],
            "dropins": [],
            "environment_files": [],
            "unit_file": None,
            "verbosity": None,
        }
        if unit:
            entry.update(dict((k, unit[k]) for k in ("unit", "unit_file", "dropins", "environment_files", "flags",
                                                     "flag_list", "flag_files", "verbosity")))
            notes.extend("%s: %s" % (component, note) for note in unit["notes"])
            state = unit_state(states.get(unit["unit"]))
            entry["state"] = state
            if state and state["main_pid"] and root in (None, "", "/"):
                entry["running_path"] = running_path(proc, state["main_pid"])
                entry["running_version"] = running_version(entry["running_path"], binaries)
        facts[component] = entry
    return facts, notes


def running_version(path, binaries):
    """The release of the binary a process runs: a binary read above with that path, else the version of
    its versioned install directory. It differs from the unit's when a run was interrupted between the
    rewrite of the unit and the restart."""
    if not path:
        return None
    bare = path.replace(" (deleted)", "")
    for info in binaries:
        if bare in (info.get("path"), info.get("realpath")):
            return info.get("version")
    return install_dir_of(bare)[1]


def running_path(proc, pid):
    """The executable the service runs now; "(deleted)" when the file was replaced since it started.

    A script started through its #! line runs as its interpreter, so /proc/PID/exe names the
    interpreter: then the script is the first absolute path in the command line after it."""
    try:
        exe = os.readlink(os.path.join(proc, str(pid), "exe"))
    except OSError:
        return None
    if not _INTERPRETER.match(os.path.basename(exe.replace(" (deleted)", ""))):
        return exe
    try:
        with open(os.path.join(proc, str(pid), "cmdline"), "rb") as handle:
            argv = handle.read().decode("utf-8", "replace").split("\0")
    except (IOError, OSError):
        return exe
    for arg in argv[1:]:
        if arg.startswith("/"):
            return arg
        if not arg.startswith("-"):
            break
    return exe


_INTERPRETER = re.compile(r"^(python[0-9.]*|sh|bash|dash|perl[0-9.]*)$")


def _binary_facts(run, component, local, real_local, notes):
    argv = version_argv(component, local)
    rc, out, err = run(argv)
    version = parse_version_output(out) if rc == 0 else None
    if version is None:
        notes.append("%s: %s printed no version (rc %d): %s"
                     % (component, " ".join(argv), rc, ((out or "") + (err or "")).strip()[:200]))
    try:
        digest = sha256_file(real_local)
    except (IOError, OSError) as exc:
        digest = None
        notes.append("%s: cannot read %s: %s" % (component, real_local, exc))
    return {"version": version, "sha256": digest}


def skew_components(facts, host):
    """The version_skew `components` entries for this host."""
    return [{"component": component, "host": host, "version": entry["version"]}
            for component, entry in facts.items() if entry.get("version")]
