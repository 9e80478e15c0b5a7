"""Benchmark the node rollout of playbooks/upgrade.yml: time per node batch beyond the restart and
readiness waits (target: under 5 s), for 1 and for 10 nodes per batch (upgrade_node_serial).

Run as root from the repository root (LAB_ID selects the lab as for `python -m lab`):
for each configuration, a fresh lab of 1 control plane + 12 nodes at FROM is brought up, the seeded
Helm release is migrated (playbooks/migrate_apis.yml, not timed), and playbooks/upgrade.yml upgrades
it to TO with that upgrade_node_serial. Both configurations run the same hop, side by side. The lab
is taken down at the end, whatever happens.

The figures come from the upgrade report (report.json, docs/upgrade-report.md): each "node batches"
phase is one batch; its wait time is the union of the intervals of every restart and readiness task of
every host of the batch (task names starting "Restart " or "Wait ", and the cluster validation, which
waits for every node and critical pod to be Ready); overhead = batch time - wait time. The tasks that
make up the overhead are listed too (longest span over the hosts of a batch, summed over batches).

Measured once (1.31.14 -> 1.32.11, 1 + 12 hosts, a 2-core machine shared with two other labs, load ~9):
upgrade_node_serial=1: 12 batches, per batch 27.8 s of which 10.0 s restart/readiness waits, overhead
mean 17.8 s (max 28.9 s); upgrade_node_serial=10: 2 batches, 78.7 s / 24.0 s, overhead mean 54.7 s
(max 83.7 s for the batch of 10, i.e. 8.4 s per node). Target (< 5 s) not met: the overhead is Ansible's
per-task cost on the loaded machine (~1.5-5 s a task, even skipped ones), led by "Reload systemd",
the argument-spec validation of each k8s_component include and the skipped apiserver version check.

Usage: .venv/bin/python benchmarks/rollout.py [--nodes 12] [--serial 1 --serial 10] [--from 1.31.14] [--to 1.32.11]
       .venv/bin/python benchmarks/rollout.py --analyse reports/RUN/report.json [...]   (figures only)
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OVERHEAD_TARGET_S = 5.0
NODE_PHASE = "node batches"
PREPARE_PHASE = "prepare nodes"  # every node at once, before the first batch: staging and the forecast
WAIT_TASK = re.compile(r"^(Restart |Wait |Validate the cluster \(every node Ready)")


def lab(*args):
    proc = subprocess.run([sys.executable, "-m", "lab"] + list(args), cwd=ROOT, capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise SystemExit("lab %s failed:\n%s%s" % (" ".join(args), proc.stdout, proc.stderr))
    return proc.stdout


def playbook(name, *extra):
    """Run a playbook against the lab; return (seconds, the report.json path it names)."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"))
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
            os.path.join(ROOT, "inventories", "lab", "hosts.yml"), os.path.join(ROOT, "playbooks", name)] + list(extra)
    began = time.monotonic()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    took = time.monotonic() - began
    if proc.returncode != 0:
        raise SystemExit("%s failed (rc %d):\n%s\n%s" % (name, proc.returncode, proc.stdout[-4000:], proc.stderr[-2000:]))
    found = re.findall(r"machine-readable: (\S+/report\.json)", proc.stdout)
    return took, (found[-1] if found else None)


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
            "#%s %d node(s) %.1f / %.1f (%.2f) / %.1f" % (b["batch"], b["hosts"], b["total"], b["wait"], b.get("reload", 0.0),
                                                         b["overhead"])
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
    args = parser.parse_args()
    results = []
    if args.analyse:
        results = [(os.path.basename(os.path.dirname(p)), analyse(p)) for p in args.analyse]
    else:
        if os.geteuid() != 0:
            raise SystemExit("run as root (the lab needs it)")
        serials = args.serial or [1, 10]
        accept = json.dumps({"upgrade_accept": ["kubelet-inplace-minor"]})
        try:
            for serial in serials:
                lab("down")
                began = time.monotonic()
                lab("up", "--control-plane", "1", "--nodes", str(args.nodes), "--version", args.from_version)
                print("lab: 1 + %d at %s up in %.1f s" % (args.nodes, args.from_version, time.monotonic() - began),
                      flush=True)
                playbook("migrate_apis.yml", "-e", "k8s_target_version=" + args.to_version)
                took, report = playbook("upgrade.yml", "-e", "k8s_target_version=" + args.to_version,
                                        "-e", accept, "-e", "upgrade_node_serial=%d" % serial)
                print("upgrade.yml with upgrade_node_serial=%d: %.1f s, %s" % (serial, took, report), flush=True)
                results.append(("serial=%d" % serial, analyse(os.path.join(ROOT, report))))
        finally:
            lab("down")
    rows = [summary(label, result) for label, result in results]
    print()
    show(rows, results)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"summary": rows, "runs": [run for _label, run in results]}, handle, indent=1)
    print("\ntarget: overhead under %.0f s per batch: %s" % (
        OVERHEAD_TARGET_S, "met" if all(r["meets_target"] for r in rows) else "NOT met"))


if __name__ == "__main__":
    main()
