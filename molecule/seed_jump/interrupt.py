"""Run a playbook and press Ctrl-C once a given step has finished, as an operator would.

Usage: interrupt.py REPORT_DIR HOST TASK TIMEOUT -- ansible-playbook ARGS...

The command runs in a session of its own with CLUSTEROPS_REPORT_DIR=REPORT_DIR, so the upgrade report
callback writes its events to REPORT_DIR/<run>/events.jsonl as they happen. Once this run's file holds a
successful step of HOST whose task name ends with TASK, SIGINT goes to the whole process group (what a
terminal's Ctrl-C does) and the script waits for the run to end. It prints the run's output and, last,
"INTERRUPTED rc=N", and exits 0 only if the run was interrupted at that point: 1 when the run ended
before the step, 2 when the step did not come within TIMEOUT seconds.
"""

import glob
import json
import os
import signal
import subprocess
import sys
import time


def step_done(folder, host, task, old):
    for path in glob.glob(os.path.join(folder, "*", "events.jsonl")):
        if path in old:
            continue  # the events of an earlier run
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # a line being written
                if (event.get("event") == "step" and event.get("host") == host
                        and (event.get("task") or "").endswith(task) and event.get("outcome") in ("ok", "changed")):
                    return True
    return False


def main(argv):
    if len(argv) < 6 or argv[4] != "--":
        sys.exit(__doc__)
    folder, host, task, timeout = argv[0], argv[1], argv[2], float(argv[3])
    command = argv[5:]
    os.makedirs(folder, exist_ok=True)
    old = set(glob.glob(os.path.join(folder, "*", "events.jsonl")))
    env = dict(os.environ, CLUSTEROPS_REPORT_DIR=folder)
    log_path = os.path.join(folder, "output.log")
    with open(log_path, "w", encoding="utf-8") as log:
        # pylint: disable-next=consider-using-with
        run = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.time() + timeout
        status = 2
        while time.time() < deadline:
            if run.poll() is not None:
                status = 1
                break
            if step_done(folder, host, task, old):
                os.killpg(run.pid, signal.SIGINT)
                status = 0
                break
            time.sleep(0.5)
        if status == 2:
            os.killpg(run.pid, signal.SIGINT)
        try:
            run.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    with open(log_path, encoding="utf-8") as log:
        sys.stdout.write(log.read())
    print("INTERRUPTED rc=%d" % run.returncode if status == 0 else
          "NOT INTERRUPTED (%s) rc=%d" % ("the run ended first" if status == 1 else "timed out", run.returncode))
    sys.exit(status)


if __name__ == "__main__":
    main(sys.argv[1:])
