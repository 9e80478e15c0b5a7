"""Emulated crictl (cri-tools): reads the lab runtime state the emulated kubelet writes.

Runtime state: <root>/lab-runtime/containers.json with <root> = $LAB_KUBELET_ROOT_DIR or
/var/lib/kubelet. Commands: ps [-a] [-q] [-o json|yaml|table] [--name RE] [--pod ID] [--label k=v]
[--state S] [--namespace NS]; pods [-q] [-o ...] [--name RE] [--namespace NS] [--label k=v];
inspect ID...; inspectp ID...; version; --version. Output is shaped like the real crictl's JSON
(protobuf JSON: int64 timestamps as strings of nanoseconds).
"""

import json
import os
import re
import sys

from lab.emulator import runtime_state as rs
from lab.facts import versions as version_facts

try:
    import yaml
except ImportError:  # pragma: no cover
    yaml = None

GLOBAL_VALUE_FLAGS = ("-r", "--runtime-endpoint", "-i", "--image-endpoint", "-t", "--timeout", "-c", "--config")
GLOBAL_BOOL_FLAGS = ("-D", "--debug")


def root_dir(env=None):
    return (env or os.environ).get("LAB_KUBELET_ROOT_DIR", "/var/lib/kubelet")


def container_json(c, sandboxes):
    return {
        "id": c["id"],
        "podSandboxId": c["podSandboxId"],
        "metadata": {"name": c["name"], "attempt": c["attempt"]},
        "image": {"image": c["image"], "annotations": {}, "userSpecifiedImage": "", "runtimeHandler": ""},
        "imageRef": rs.image_ref(c["image"]),
        "state": c["state"],
        "createdAt": str(c["createdAt"]),
        "labels": dict(c["labels"]),
        "annotations": dict(c["annotations"]),
    }


def sandbox_json(s):
    labels = dict(s.get("labels") or {})
    labels.update({"io.kubernetes.pod.name": s["name"], "io.kubernetes.pod.namespace": s["namespace"],
                   "io.kubernetes.pod.uid": s["uid"]})
    return {
        "id": s["id"],
        "metadata": {"name": s["name"], "uid": s["uid"], "namespace": s["namespace"], "attempt": 0},
        "state": s["state"],
        "createdAt": str(s["createdAt"]),
        "labels": labels,
        "annotations": {"kubernetes.io/config.source": "api"},
        "runtimeHandler": "",
    }


def inspect_json(c, sandboxes):
    sandbox = next((s for s in sandboxes.values() if s["id"] == c["podSandboxId"]), {})
    status = {
        "id": c["id"],
        "metadata": {"name": c["name"], "attempt": c["attempt"]},
        "state": c["state"],
        "createdAt": rs.rfc3339_from_ns(c["createdAt"]),
        "startedAt": rs.rfc3339_from_ns(c["startedAt"]),
        "finishedAt": rs.rfc3339_from_ns(c["finishedAt"]) if c["finishedAt"] else "0001-01-01T00:00:00Z",
        "exitCode": c["exitCode"],
        "image": {"image": c["image"], "annotations": {}, "userSpecifiedImage": "", "runtimeHandler": ""},
        "imageRef": rs.image_ref(c["image"]),
        "reason": c["reason"],
        "message": "",
        "labels": dict(c["labels"]),
        "annotations": dict(c["annotations"]),
        "mounts": [],
        "logPath": "/var/log/pods/%s_%s_%s/%s/%d.log" % (
            sandbox.get("namespace", ""), sandbox.get("name", ""), sandbox.get("uid", ""), c["name"], c["attempt"]),
        "resources": None,
    }
    info = {
        "sandboxID": c["podSandboxId"],
        "pid": 0 if c["state"] != "CONTAINER_RUNNING" else 1000 + int(c["id"][:4], 16) % 30000,
        "removing": False,
        "snapshotKey": c["id"],
        "snapshotter": "overlayfs",
        "runtimeType": "io.containerd.runc.v2",
        "runtimeOptions": {"systemd_cgroup": True},
        "config": {"metadata": {"name": c["name"], "attempt": c["attempt"]}, "image": {"image": c["image"]},
                   "labels": dict(c["labels"]), "annotations": dict(c["annotations"])},
    }
    return {"status": status, "info": info}


def _emit(obj, output, out):
    if output == "yaml" and yaml:
        out.write(yaml.safe_dump(obj, default_flow_style=False))
    else:
        out.write(json.dumps(obj, indent=2) + "\n")


def _labels_match(labels, wanted):
    for pair in wanted:
        key, dummy, value = pair.partition("=")
        if labels.get(key) != value:
            return False
    return True


def _parse(args, value_opts, bool_opts):
    opts = {"label": []}
    rest = []
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, value = arg.partition("=")
        if name in value_opts:
            key = value_opts[name]
            if not eq:
                i += 1
                if i >= len(args):
                    raise ValueError("flag needs an argument: %s" % name)
                value = args[i]
            if key == "label":
                opts["label"].append(value)
            else:
                opts[key] = value
        elif arg in bool_opts:
            opts[bool_opts[arg]] = True
        elif arg.startswith("-"):
            raise ValueError("flag provided but not defined: %s" % arg)
        else:
            rest.append(arg)
        i += 1
    return opts, rest


def cmd_ps(args, state, out):
    opts, _rest = _parse(args, {"-o": "output", "--output": "output", "--name": "name", "-p": "pod", "--pod": "pod",
                                "--label": "label", "--state": "state", "--namespace": "namespace", "--id": "id"},
                         {"-a": "all", "--all": "all", "-q": "quiet", "--quiet": "quiet", "-l": "latest"})
    sandboxes = state["sandboxes"]
    by_sandbox = {s["id"]: s for s in sandboxes.values()}
    rows = []
    for c in sorted(state["containers"].values(), key=lambda x: -x["createdAt"]):
        if not opts.get("all") and not opts.get("state") and c["state"] != "CONTAINER_RUNNING":
            continue
        if opts.get("state") and c["state"] != "CONTAINER_" + opts["state"].upper() and c["state"] != opts["state"]:
            continue
        if opts.get("name") and not re.search(opts["name"], c["name"]):
            continue
        if opts.get("pod") and not c["podSandboxId"].startswith(opts["pod"]):
            continue
        if opts.get("id") and not c["id"].startswith(opts["id"]):
            continue
        if opts.get("namespace") and by_sandbox.get(c["podSandboxId"], {}).get("namespace") != opts["namespace"]:
            continue
        if not _labels_match(c["labels"], opts["label"]):
            continue
        rows.append(c)
    if opts.get("quiet"):
        out.write("".join(c["id"] + "\n" for c in rows))
    elif opts.get("output") in ("json", "yaml"):
        _emit({"containers": [container_json(c, sandboxes) for c in rows]}, opts["output"], out)
    else:
        out.write("%-13s %-13s %-15s %-17s %-25s %-7s %-13s %s\n" % (
            "CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD ID", "POD"))
        for c in rows:
            pod = by_sandbox.get(c["podSandboxId"], {})
            out.write("%-13s %-13s %-15s %-17s %-25s %-7d %-13s %s\n" % (
                c["id"][:13], c["image"][:13], "", c["state"].replace("CONTAINER_", "").capitalize(),
                c["name"], c["attempt"], c["podSandboxId"][:13], pod.get("name", "")))
    return 0


def cmd_pods(args, state, out):
    opts, _rest = _parse(args, {"-o": "output", "--output": "output", "--name": "name", "--namespace": "namespace",
                                "--label": "label", "--state": "state", "--id": "id"},
                         {"-q": "quiet", "--quiet": "quiet", "-l": "latest"})
    rows = []
    for s in sorted(state["sandboxes"].values(), key=lambda x: -x["createdAt"]):
        if opts.get("name") and not re.search(opts["name"], s["name"]):
            continue
        if opts.get("namespace") and s["namespace"] != opts["namespace"]:
            continue
        if not _labels_match(sandbox_json(s)["labels"], opts["label"]):
            continue
        rows.append(s)
    if opts.get("quiet"):
        out.write("".join(s["id"] + "\n" for s in rows))
    elif opts.get("output") in ("json", "yaml"):
        _emit({"items": [sandbox_json(s) for s in rows]}, opts["output"], out)
    else:
        out.write("%-13s %-15s %-7s %-35s %-20s %s\n" % ("POD ID", "CREATED", "STATE", "NAME", "NAMESPACE", "ATTEMPT"))
        for s in rows:
            out.write("%-13s %-15s %-7s %-35s %-20s %d\n" % (s["id"][:13], "", "Ready", s["name"], s["namespace"], 0))
    return 0


def _find(ids, records):
    found = []
    for wanted in ids:
        matches = [r for r in records if r["id"].startswith(wanted)]
        if len(matches) != 1:
            return None, wanted
        found.append(matches[0])
    return found, None


def cmd_inspect(args, state, out, err):
    opts, ids = _parse(args, {"-o": "output", "--output": "output"}, {})
    if not ids:
        err.write('FATA[0000] ID cannot be empty\n')
        return 1
    found, missing = _find(ids, list(state["containers"].values()))
    if found is None:
        text = 'rpc error: code = NotFound desc = an error occurred when try to find container "%s": not found' % missing
        err.write('E0000 00:00:00.000000 remote_runtime.go:432] "ContainerStatus from runtime service failed" '
                  'err="%s" containerID="%s"\n' % (text.replace('"', '\\"'), missing))
        err.write('FATA[0000] getting the status of the container "%s": %s\n' % (missing, text))
        return 1
    for c in found:
        _emit(inspect_json(c, state["sandboxes"]), opts.get("output", "json"), out)
    return 0


def cmd_inspectp(args, state, out, err):
    opts, ids = _parse(args, {"-o": "output", "--output": "output"}, {})
    found, missing = _find(ids, list(state["sandboxes"].values()))
    if not ids or found is None:
        err.write('FATA[0000] getting the pod sandbox status for "%s": not found\n' % (missing or ""))
        return 1
    for s in found:
        body = sandbox_json(s)
        body["network"] = {"additionalIps": [], "ip": s["ip"]}
        _emit({"status": body, "info": {"pid": 1, "processStatus": "running"}}, opts.get("output", "json"), out)
    return 0


def crictl_version(k8s_version):
    return "v1.%d.0" % version_facts.minor(k8s_version)


def main(argv, version, out=None, err=None, env=None):
    out = out or sys.stdout
    err = err or sys.stderr
    args = list(argv)
    # Global options come before the command.
    while args and args[0].startswith("-"):
        head = args[0]
        name = head.split("=", 1)[0]
        if head in ("-v", "--version"):
            out.write("crictl version %s\n" % crictl_version(version))
            return 0
        if head in ("-h", "--help"):
            out.write("NAME:\n   crictl - client for CRI\n\nUSAGE:\n   crictl [global options] command [command options]\n")
            return 0
        if name in GLOBAL_VALUE_FLAGS:
            args = args[1:] if "=" in head else args[2:]
        elif head in GLOBAL_BOOL_FLAGS:
            args = args[1:]
        else:
            err.write("Incorrect Usage: flag provided but not defined: %s\n" % head)
            return 1
    if not args:
        out.write("NAME:\n   crictl - client for CRI\n")
        return 0
    command, rest = args[0], args[1:]
    if command == "version":
        out.write("Version:  0.1.0\nRuntimeName:  containerd\nRuntimeVersion:  v%s\nRuntimeApiVersion:  v1\n"
                  % rs.RUNTIME_VERSION)
        return 0
    state = rs.load(root_dir(env))
    try:
        if command == "ps":
            return cmd_ps(rest, state, out)
        if command == "pods":
            return cmd_pods(rest, state, out)
        if command == "inspect":
            return cmd_inspect(rest, state, out, err)
        if command == "inspectp":
            return cmd_inspectp(rest, state, out, err)
    except ValueError as error:
        err.write("Incorrect Usage: %s\n" % error)
        return 1
    err.write('No help topic for \'%s\'\n' % command)
    return 3
