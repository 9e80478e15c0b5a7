"""Run a playbook as an operator would and strike while it runs.

    interrupt.py --log FILE --when REGEX (--sigint | --run "CMD ARGS") -- ansible-playbook ARGS...

The playbook's output (stdout and stderr together) goes to FILE. When a line matches REGEX the
fault is struck: --sigint sends SIGINT to the playbook (what Ctrl-C does), --run runs a command
(for example `python -m lab fault host-offline --host node1`); a SIGINT is sent once more when the
playbook still runs 0.6 s later. The playbook is then left to finish on its own. Exit status: the
playbook's, or 97 when REGEX never matched (the fault was not struck, so the case proves nothing),
or 98 when the playbook ran longer than --timeout.
"""
import argparse
import re
import shlex
import signal
import subprocess
import sys
import threading
import time


AGAIN_AFTER_S = 0.6


def again(proc, log):
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            log.write("### interrupt.py: the playbook still runs; SIGINT sent again\n")
            log.flush()
        except ValueError:  # the playbook ended meanwhile and the log is closed
            pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    parser.add_argument("--when", required=True, help="regex of the output line that triggers the fault")
    parser.add_argument("--sigint", action="store_true")
    parser.add_argument("--run", default=None, metavar="CMD", help="a command line, split like a shell does")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("playbook", nargs="+")
    args = parser.parse_args()
    if not args.sigint and not args.run:
        parser.error("give --sigint or --run")
    when = re.compile(args.when)
    struck = threading.Event()
    start = time.monotonic()
    with open(args.log, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(args.playbook, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, bufsize=1)
        timer = threading.Timer(args.timeout, proc.kill)
        timer.start()
        try:
            for line in proc.stdout:
                log.write(line)
                log.flush()
                if not struck.is_set() and when.search(line):
                    struck.set()
                    stamp = "%.1f s" % (time.monotonic() - start)
                    if args.sigint:
                        proc.send_signal(signal.SIGINT)
                        log.write("### interrupt.py: SIGINT sent to the playbook at %s\n" % stamp)
                        # Once in a while the playbook has not taken the first one (seen once in CI: it ran
                        # to the end); an operator presses Ctrl-C again. A playbook that took it exits
                        # within a fraction of a second, before this fires.
                        threading.Timer(AGAIN_AFTER_S, again, (proc, log)).start()
                    else:
                        done = subprocess.run(shlex.split(args.run), capture_output=True, text=True, check=False)
                        log.write("### interrupt.py: ran %s at %s: rc %d %s%s\n"
                                  % (args.run, stamp, done.returncode, done.stdout, done.stderr))
                    log.flush()
            rc = proc.wait()
        finally:
            timer.cancel()
        elapsed = time.monotonic() - start
        log.write("### interrupt.py: playbook exited %d after %.1f s\n" % (rc, elapsed))
    if elapsed >= args.timeout:
        return 98
    if not struck.is_set():
        return 97
    return rc


if __name__ == "__main__":
    sys.exit(main())
