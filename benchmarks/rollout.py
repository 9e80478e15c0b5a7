"""Benchmark the node rollout of playbooks/upgrade.yml: time per node batch beyond the restart and
readiness waits (target: under 5 s), for 1 and for 10 nodes per batch (upgrade_node_serial).

Run as root from the repository root (LAB_ID selects the lab as for `python -m lab`): for each
configuration, a fresh lab of 1 control plane + 12 nodes at FROM is brought up, the seeded Helm
release is migrated (playbooks/migrate_apis.yml, not timed), and playbooks/upgrade.yml upgrades it to
TO with that upgrade_node_serial. With --baseline REV (make bench-rollout passes the revision before
component_switch), the same runs are made with that revision's playbooks, from a git worktree, before
each of this checkout's: the two are measured in one run, on the same machine and lab size. The lab is
taken down after each run, whatever happens.

The figures come from the upgrade report (report.json, docs/upgrade-report.md): each "node batches"
phase is one batch. Its wait time is the union over the hosts of the batch of
  - the restart and readiness tasks (names starting "Restart " or "Wait ", and the cluster validation,
    which waits for every node and critical pod to be Ready; includes never count), and
  - for component_switch, which does the switch of a node in one task, only what it reports: the
    systemd reload of the rewritten units right before the restarts (reload_s, shown apart), then the
    restarts and readiness waits (waited_s); its start-up, the unit rewrite and the state backup count
    as overhead.
overhead = batch time - wait time. The tasks that make up the overhead are listed too (per task name,
the union of its intervals over the hosts of a batch, summed over batches). The staging and the
restart forecast of every node run once, before the first batch ("prepare nodes", prepare_s).

Measured side by side (make bench-rollout ROLLOUT_ARGS="--repeat 2", --baseline 9182ede; 1.31.14 -> 1.32.11,
1 + 12 hosts, this 2-core machine, no other lab running), overhead per batch:
  9182ede, serial 1: 9.8 and 10.9 s mean (11.5, 11.9 s max);  serial 10: 55-61 s for the batch of 10, 11 s for the 2.
  3d3b790, serial 1: 1.9 and 1.7 s mean  (2.3, 2.0 s max);     serial 10: 3.5 and 3.4 s for the batch of 10,
                                                                 1.6 s for the 2.
  Whole upgrade.yml: 243-258 s -> 163-183 s (serial 1), 142-152 s -> 87-88 s (serial 10). The staging, plan
  and forecast of all 12 nodes and the first batch's cordon, before the first batch, take 22-24 s.
Each batch makes one API call for its cordons (the call that uncordons its nodes cordons the next batch's;
the first batch is cordoned at the end of "prepare nodes"). What is left, summed over the two batches of the
serial 10 runs: the start of the switch task before the first restart, 2.3-2.4 s (a module start on every
node, on two cores shared with the emulated nodes); that one call, 1.5-1.6 s (mostly the kubernetes.core
module's Python start and the kubernetes client's imports); the bookkeeping steps, about 0.2-0.3 s each.

Usage: .venv/bin/python benchmarks/rollout.py [--nodes 12] [--serial 1 --serial 10] [--from 1.31.14] [--to 1.32.11]
                                              [--baseline REV] [--repeat N] [--json FILE]
       .venv/bin/python benchmarks/rollout.py --analyse reports/RUN/report.json [...]   (figures only)
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OVERHEAD_TARGET_S = 5.0
NODE_PHASE = "node batches"
PREPARE_PHASE = "prepare nodes"  # every node at once, before the first batch: staging and the forecast
WAIT_TASK = re.compile(r"^(Restart |Wait |Validate the cluster \(every node Ready)")


def lab(root, *args):
    proc = subprocess.run([sys.executable, "-m", "lab"] + list(args), cwd=root, capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise SystemExit("lab %s failed:\n%s%s" % (" ".join(args), proc.stdout, proc.stderr))
    return proc.stdout


def playbook(root, name, *extra):
    """Run a playbook of the checkout `root` against its lab; return (seconds, the report.json path it names)."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(root, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_COLLECTIONS_PATH=os.path.join(root, ".build", "collections"))
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
            os.path.join(root, "inventories", "lab", "hosts.yml"), os.path.join(root, "playbooks", name)] + list(extra)
    began = time.monotonic()
    proc = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, check=False)
    took = time.monotonic() - began
    if proc.returncode != 0:
        raise SystemExit("%s failed (rc %d):\n%s\n%s" % (name, proc.returncode, proc.stdout[-4000:], proc.stderr[-2000:]))
    found = re.findall(r"machine-readable: (\S+/report\.json)", proc.stdout)
    return took, (found[-1] if found else None)


def baseline_checkout(rev):
    """A worktree of revision `rev` beside a temporary directory, set up to run its own playbooks."""
    path = os.path.join(tempfile.mkdtemp(prefix="rollout-baseline-"), "checkout")
    subprocess.run(["git", "worktree", "add", "--detach", path, rev], cwd=ROOT, check=True, capture_output=True)
    os.symlink(os.path.join(ROOT, ".venv"), os.path.join(path, ".venv"))
    subprocess.run(["bash", "scripts/dev-collection.sh"], cwd=path, check=True)
    return path


def drop_checkout(path):
    subprocess.run(["git", "worktree", "remove", "--force", path], cwd=ROOT, check=False, capture_output=True)
    shutil.rmtree(os.path.dirname(path), ignore_errors=True)


def run_config(root, args, serial):
    """A fresh lab in checkout `root`, the migration (not timed), then the timed upgrade; the report's figures."""
    lab(root, "down")
    began = time.monotonic()
    try:
        lab(root, "up", "--control-plane", "1", "--nodes", str(args.nodes), "--version", args.from_version)
    except SystemExit as exc:  # a machine that did not boot: once more, from scratch
        print("lab up failed, once more: %s" % str(exc).strip().splitlines()[-2:], flush=True)
        lab(root, "down")
        try:
            lab(root, "up", "--control-plane", "1", "--nodes", str(args.nodes), "--version", args.from_version)
        except SystemExit:
            lab(root, "down")  # before a baseline checkout (and the lab state in it) is removed
            raise
    print("lab: 1 + %d at %s up in %.1f s" % (args.nodes, args.from_version, time.monotonic() - began), flush=True)
    try:
        playbook(root, "migrate_apis.yml", "-e", "k8s_target_version=" + args.to_version)
        took, report = playbook(root, "upgrade.yml", "-e", "k8s_target_version=" + args.to_version,
                                "-e", json.dumps({"upgrade_accept": ["kubelet-inplace-minor"]}),
                                "-e", "upgrade_node_serial=%d" % serial)
        print("upgrade.yml with upgrade_node_serial=%d: %.1f s, %s" % (serial, took, report), flush=True)
        return analyse(os.path.join(root, report))
    finally:
        lab(root, "down")


def union_length(intervals):
    total, end = 0.0, None
    for start, stop in sorted(intervals):
        if end is None or start > end:
            total += stop - start
            end = stop
        elif stop > end:
            total += stop - end
            end = stop
    return total


def short(task):
    return task.split(" : ", 1)[-1]


def is_wait(step):
    if (step.get("action") or "").endswith(("include_tasks", "include_role", "import_tasks", "import_role")):
        return False  # an include named "Wait ..." waits for nothing itself
    return step.get("waited_s") is not None or bool(WAIT_TASK.match(short(step["task"])))


def wait_interval(step):
    """A step that reports its own waits (component_switch) counts only them: the systemd reload of the
    rewritten units right before the restarts (reload_s), then the restarts and readiness waits
    (waited_s), which end the step. Its start-up, the unit rewrite and the state backup are overhead."""
    if step.get("waited_s") is not None:
        length = step["waited_s"] + (step.get("reload_s") or 0.0)
        return (max(step["t_start"], step["t_end"] - length), step["t_end"])
    return (step["t_start"], step["t_end"])


def reload_interval(step):
    end = step["t_end"] - step["waited_s"]
    return (max(step["t_start"], end - (step.get("reload_s") or 0.0)), end)


def analyse(report_path):
    """{serial, nodes, batches: [{batch, hosts, total, wait, overhead}], overhead_tasks: {task: s}}."""
    with open(report_path, encoding="utf-8") as handle:
        report = json.load(handle)
    # a serial play is one phase per batch, labelled "node batches (batch 2/12)" when there are several
    phases = [p for p in report["phases"] if (p.get("phase") or "").startswith(NODE_PHASE)]
    if not phases:
        raise SystemExit("%s has no '%s' phase: the nodes were not upgraded" % (report_path, NODE_PHASE))
    steps = [dict(s, host=h) for h, rows in report["timeline"].items() for s in rows
             if (s.get("phase") or "").startswith(NODE_PHASE) and s.get("t_start") is not None and s.get("t_end") is not None]
    batches, overhead_tasks = [], {}
    for phase in phases:
        inside = [s for s in steps if phase["t_start"] <= s["t_start"] and s["t_end"] <= phase["t_end"] + 0.001]
        total = phase["t_end"] - phase["t_start"]
        wait = union_length([wait_interval(s) for s in inside if is_wait(s)])
        reload = union_length([reload_interval(s) for s in inside if s.get("waited_s") is not None])
        hosts = sorted(set(s["host"] for s in inside if s["host"] != "localhost"))
        # per task name, the union of its intervals over the hosts of the batch (they run side by side)
        intervals = {}
        for s in inside:
            if s.get("waited_s") is not None:
                intervals.setdefault(short(s["task"]), []).append((s["t_start"], wait_interval(s)[0]))
            elif not is_wait(s):
                intervals.setdefault(short(s["task"]), []).append((s["t_start"], s["t_end"]))
        for key, spans in intervals.items():
            overhead_tasks[key] = overhead_tasks.get(key, 0.0) + union_length(spans)
        batches.append({"batch": phase.get("batch"), "hosts": len(hosts), "total": round(total, 2),
                        "wait": round(wait, 2), "reload": round(reload, 2), "overhead": round(total - wait, 2)})
    prepare = sum(p["t_end"] - p["t_start"] for p in report["phases"] if (p.get("phase") or "") == PREPARE_PHASE)
    return {"report": report_path, "status": report["run"]["status"], "run_s": report["run"]["duration_s"],
            "prepare_s": round(prepare, 2), "batches": batches, "overhead_tasks": overhead_tasks}


def summary(label, result):
    over = [b["overhead"] for b in result["batches"]]
    nodes = sum(b["hosts"] for b in result["batches"])
    return {"config": label, "batches": len(over), "nodes": nodes,
            "batch_total_mean_s": round(sum(b["total"] for b in result["batches"]) / len(over), 1),
            "batch_wait_mean_s": round(sum(b["wait"] for b in result["batches"]) / len(over), 1),
            "of_it_reload_mean_s": round(sum(b.get("reload", 0.0) for b in result["batches"]) / len(over), 2),
            "overhead_mean_s": round(sum(over) / len(over), 1), "overhead_max_s": round(max(over), 1),
            "overhead_per_node_s": round(sum(over) / max(1, nodes), 1),
            "meets_target": max(over) < OVERHEAD_TARGET_S, "prepare_s": result.get("prepare_s"),
            "run_s": round(result["run_s"], 1)}


def show(rows, results):
    cols = ["config", "batches", "nodes", "batch_total_mean_s", "batch_wait_mean_s", "of_it_reload_mean_s", "overhead_mean_s",
            "overhead_max_s", "overhead_per_node_s", "meets_target", "prepare_s", "run_s"]
    print("  ".join("%-19s" % c for c in cols))
    for row in rows:
        print("  ".join("%-19s" % row[c] for c in cols))
    for label, result in results:
        print("\n%s: per batch (total / wait (of it systemd reload) / overhead, s): %s" % (label, "; ".join(
            "#%s %d node(s) %.1f / %.1f (%.2f) / %.1f"
            % (b["batch"], b["hosts"], b["total"], b["wait"], b.get("reload", 0.0), b["overhead"])
            for b in result["batches"])))
        top = sorted(result["overhead_tasks"].items(), key=lambda kv: -kv[1])[:8]
        print("  overhead by task, summed over batches: " + "; ".join("%s %.1f s" % kv for kv in top))
        print("  report: %s" % result["report"])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=12)
    parser.add_argument("--serial", type=int, action="append", help="upgrade_node_serial (repeat); default 1 and 10")
    parser.add_argument("--from", dest="from_version", default="1.31.14")
    parser.add_argument("--to", dest="to_version", default="1.32.11")
    parser.add_argument("--analyse", nargs="+", metavar="REPORT_JSON", help="only print the figures of these reports")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--baseline", metavar="REV", help="also run revision REV (a git worktree), before each configuration")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each configuration (this machine is noisy: the target "
                        "must hold in every run)")
    args = parser.parse_args()
    results = []
    if args.analyse:
        results = [(os.path.basename(os.path.dirname(p)), analyse(p)) for p in args.analyse]
    else:
        if os.geteuid() != 0:
            raise SystemExit("run as root (the lab needs it)")
        checkouts = [("", ROOT)]
        if args.baseline:
            checkouts.insert(0, ("%s " % args.baseline, baseline_checkout(args.baseline)))
        try:
            # baseline and this checkout one after the other for each configuration, on the same lab size
            for serial in args.serial or [1, 10]:
                for run in range(1, args.repeat + 1):
                    suffix = " run %d" % run if args.repeat > 1 else ""
                    for prefix, root in checkouts:
                        results.append(("%sserial=%d%s" % (prefix, serial, suffix), run_config(root, args, serial)))
        finally:
            for _prefix, root in checkouts:
                if root != ROOT:
                    drop_checkout(root)
    rows = [summary(label, result) for label, result in results]
    print()
    show(rows, results)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"summary": rows, "runs": [run for _label, run in results]}, handle, indent=1)
    own = [r for r in rows if not args.baseline or not r["config"].startswith(args.baseline + " ")]
    print("\ntarget: overhead under %.0f s per batch: %s" % (
        OVERHEAD_TARGET_S, "met" if all(r["meets_target"] for r in own) else "NOT met"))


if __name__ == "__main__":
    main()
