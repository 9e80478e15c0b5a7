"""Rebuild report.json and report.html of an upgrade run from its events.jsonl, for a run that was
killed before the upgrade_report callback could write them (SIGKILL, a lost controller).

    python3 scripts/rebuild-report.py reports/20261125T230512Z-upgrade
"""

import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# The report logic uses the standard library only: load it by path, no collection install needed.
SPEC = importlib.util.spec_from_file_location(
    "upgrade_report", os.path.join(HERE, "..", "plugins", "module_utils", "upgrade_report.py"))
report_lib = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(report_lib)


def main(argv):
    if len(argv) != 2 or not os.path.isfile(os.path.join(argv[1], "events.jsonl")):
        sys.stderr.write("usage: %s RUN_DIR  (a directory with the events.jsonl of one run)\n" % argv[0])
        return 2
    run_dir = os.path.abspath(argv[1])
    report, json_path, html_path = report_lib.write_report(run_dir, report_lib.load_events(os.path.join(run_dir, "events.jsonl")))
    print("upgrade report (%s): %s  (machine-readable: %s)" % (report["run"]["status"], html_path, json_path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
