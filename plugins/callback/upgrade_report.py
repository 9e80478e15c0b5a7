# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: upgrade_report
type: aggregate
short_description: Writes the upgrade report (JSON and HTML with a timeline) on the controller
description:
  - Records every host's steps (task, role, play, start, end, outcome) and the report sections the
    roles publish as facts named C(upgrade_report_<section>) (set with M(ansible.builtin.set_fact)),
    into a run directory named by the UTC time of the start and the playbook.
  - At the end of the playbook, also when a host failed and later plays never ran, writes
    C(report.json) and C(report.html) (self-contained, the timeline as an SVG Gantt chart, no script)
    and prints their paths. A run stopped with Ctrl-C still gets its report, marked interrupted.
  - Values under secret-looking keys (password, token, key, kubeconfig, ...) and key material are
    never written; results of C(no_log) tasks are not read. Every file is mode 0600.
  - Sections it knows (C(target), C(versions_before), C(versions_after), C(skew), C(apis), C(backup),
    C(forecast), C(restarts), C(done)) are shown in their own tables; any other section is shown as data.
    The contract is in the collection's C(docs/upgrade-report.md).
  - The run directory is mode 0700; C(events.jsonl) in it keeps every event as it happens, so that
    C(scripts/rebuild-report.py) can rebuild the report of a run that was killed outright.
version_added: 0.1.0
author: clusterops maintainers (@clusterops)
requirements:
  - enable it with C(callbacks_enabled = clusterops.k8s_upgrade.upgrade_report) in ansible.cfg
    (or C(ANSIBLE_CALLBACKS_ENABLED))
options:
  report_dir:
    description:
      - Directory that holds one sub-directory per playbook run. Relative paths are taken from the
        directory ansible-playbook runs in.
    type: path
    default: ./reports
    env:
      - name: CLUSTEROPS_REPORT_DIR
    ini:
      - section: callback_upgrade_report
        key: report_dir
  playbooks:
    description:
      - Report only on playbooks whose file name matches one of these shell patterns (for example
        C(upgrade.yml)); every playbook when empty.
    type: list
    elements: str
    default: []
    env:
      - name: CLUSTEROPS_REPORT_PLAYBOOKS
    ini:
      - section: callback_upgrade_report
        key: playbooks
"""

import atexit
import fnmatch
import json
import os
import time

from ansible import __version__ as ANSIBLE_VERSION
from ansible import context
from ansible.plugins.callback import CallbackBase
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import upgrade_report as report_lib


def _result_dict(result):
    data = getattr(result, "result", None)
    if data is None:
        data = getattr(result, "_result", None)
    return data if isinstance(data, dict) else {}


def _host_name(result):
    host = getattr(result, "host", None) or getattr(result, "_host", None)
    return host.get_name() if host is not None else "?"


def _task_of(result):
    return getattr(result, "task", None) or getattr(result, "_task", None)


def _role_name(task):
    role = getattr(task, "_role", None)
    if role is None:
        return None
    try:
        return role.get_name(include_role_fqcn=False)
    except TypeError:
        return role.get_name()


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "clusterops.k8s_upgrade.upgrade_report"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super(CallbackModule, self).__init__(display=display)
        self._reset()
        atexit.register(self._at_exit)

    def _reset(self):
        self._events = []
        self._run_dir = None
        self._active = False
        self._done = False
        self._play_index = -1
        self._play_name = None
        self._started = {}

    # ------------------------------------------------------------------ recording
    def _record(self, event):
        event.setdefault("time", time.time())
        self._events.append(event)
        try:
            report_lib.append_private(os.path.join(self._run_dir, "events.jsonl"), json.dumps(event, sort_keys=True) + "\n")
        except (OSError, IOError, TypeError, ValueError) as exc:
            self._display.warning("upgrade report: cannot record an event in %s: %s" % (self._run_dir, exc))

    def v2_playbook_on_start(self, playbook):
        if self._active and not self._done:
            self._finish(interrupted=False)
        self._reset()
        path = getattr(playbook, "_file_name", None) or "playbook"
        patterns = self.get_option("playbooks") or []
        if patterns and not any(fnmatch.fnmatch(os.path.basename(path), p) for p in patterns):
            return
        now = time.time()
        base = os.path.abspath(os.path.expanduser(self.get_option("report_dir") or "./reports"))
        name = report_lib.run_id(now, path)
        run_dir = os.path.join(base, name)
        suffix = 1
        while os.path.exists(run_dir):
            suffix += 1
            run_dir = os.path.join(base, "%s-%d" % (name, suffix))
        try:
            os.makedirs(run_dir, mode=0o700)
        except OSError as exc:
            self._display.warning("upgrade report: cannot create %s (%s); no report for this run" % (run_dir, exc))
            return
        self._run_dir = run_dir
        self._active = True
        check = bool(context.CLIARGS.get("check")) if context.CLIARGS else False
        self._record({"event": "run_start", "time": now, "playbook": os.path.basename(path), "check_mode": check,
                      "ansible_version": ANSIBLE_VERSION, "run_id": os.path.basename(run_dir)})

    def v2_playbook_on_play_start(self, play):
        if not self._active:
            return
        self._play_index += 1
        self._play_name = play.get_name()
        phase = None
        try:
            phase = (play.vars or {}).get("upgrade_report_phase")
        except AttributeError:
            pass
        if not isinstance(phase, str) or "{{" in phase:
            phase = None
        self._record({"event": "play_start", "name": self._play_name, "phase": phase})

    def v2_runner_on_start(self, host, task):
        if self._active:
            self._started[(host.get_name(), task._uuid)] = (time.time(), task)

    def _step_event(self, host, task, start, end, outcome):
        return {
            "event": "step", "time": end, "start": start, "end": end, "host": host,
            "task": task.get_name() if task is not None else "",
            "role": _role_name(task), "play": self._play_name, "play_index": self._play_index,
            "handler": type(task).__name__ == "Handler",
            "action": getattr(task, "action", None),
            "outcome": outcome,
        }

    def _step(self, result, outcome):
        if not self._active:
            return
        task = _task_of(result)
        host = _host_name(result)
        now = time.time()
        start = self._started.pop((host, getattr(task, "_uuid", None)), (now, task))[0]
        data = _result_dict(result)
        no_log = bool(data.get("_ansible_no_log")) or data.get("censored") is not None
        if outcome == "ok" and data.get("changed"):
            outcome = "changed"
        delegated = data.get("_ansible_delegated_vars") or {}
        event = self._step_event(host, task, start, now, outcome)
        event.update(changed=bool(data.get("changed")),
                     delegated_to=delegated.get("ansible_delegated_host") or delegated.get("ansible_host"))
        if outcome in ("failed", "ignored", "unreachable"):
            event["msg"] = report_lib.failure_message(data)
        # A step that reports how long it waited (component_switch: the systemd reload, then the
        # restarts and readiness waits).
        for key in ("reload_s", "waited_s"):
            if isinstance(data.get(key), (int, float)) and not isinstance(data.get(key), bool):
                event[key] = data[key]
        if outcome == "skipped" and data.get("false_condition"):
            event["false_condition"] = report_lib.scrub(str(data["false_condition"]))[:300]
        self._record(event)
        if outcome in ("ok", "changed") and not no_log:
            for name, value in report_lib.section_facts(data).items():
                self._record({"event": "section", "time": now, "host": host, "name": name, "play_index": self._play_index,
                              "data": report_lib.scrub(value)})

    def v2_runner_on_ok(self, result):
        self._step(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._step(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result):
        self._step(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._step(result, "unreachable")

    # ------------------------------------------------------------------ the report
    def v2_playbook_on_stats(self, stats):
        if not self._active or self._done:
            return
        hosts = {}
        for host in sorted(stats.processed.keys()):
            hosts[host] = dict((k, int(v)) for k, v in stats.summarize(host).items())
        self._record({"event": "stats", "hosts": hosts})
        self._finish(interrupted=False)

    def _at_exit(self):
        # Ctrl-C or a crash skips v2_playbook_on_stats: still write what was recorded.
        if self._active and not self._done:
            self._finish(interrupted=True)

    def _finish(self, interrupted):
        self._done = True
        try:
            if interrupted:
                # Steps that were running when the run stopped.
                now = time.time()
                for (host, dummy), (start, task) in sorted(self._started.items(), key=lambda item: item[1][0]):
                    self._record(self._step_event(host, task, start, now, "interrupted"))
            self._record({"event": "run_end", "interrupted": interrupted})
            report, json_path, html_path = report_lib.write_report(self._run_dir, self._events)
            self._link_latest()
        except Exception as exc:  # pylint: disable=broad-except
            # The report must never turn a good upgrade into a failed run.
            self._display.warning("upgrade report: could not write the report in %s: %s" % (self._run_dir, exc))
            return
        self._display.display("upgrade report (%s): %s  (machine-readable: %s)" % (report["run"]["status"], html_path, json_path))

    def _link_latest(self):
        base = os.path.dirname(self._run_dir)
        link = os.path.join(base, "latest")
        tmp = "%s.tmp%d" % (link, os.getpid())
        try:
            if os.path.lexists(link) and not os.path.islink(link):
                return
            os.symlink(os.path.basename(self._run_dir), tmp)
            os.replace(tmp, link)
        except OSError:
            pass
