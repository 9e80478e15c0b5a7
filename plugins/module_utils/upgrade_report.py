# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The upgrade report: events in, a JSON document and a self-contained HTML page out.

Pure Python, standard library only. The callback plugin `clusterops.k8s_upgrade.upgrade_report`
records events as the playbook runs (one JSON object per line in the run directory's
events.jsonl) and calls build_report() and render_html() at the end; the same functions rebuild
a report from an events.jsonl that a killed run left behind.

Events (every one a dict with "event" and "time", seconds since the epoch):
  run_start  {playbook, check_mode, ansible_version, run_id}
  play_start {name, phase}
  step       {host, task, role, play, play_index, handler, start, end, outcome, changed, msg, false_condition,
              delegated_to, action}
             outcome: ok, changed, failed, ignored (failed, ignore_errors), unreachable, skipped,
             interrupted (running when Ctrl-C stopped the run); a skipped step becomes "done" once its host
             recorded the section "done" in the same play (a re-run finding the host already upgraded)
  section    {host, name, data, play_index}   a role's `upgrade_report_<name>` fact (docs/upgrade-report.md)
  stats      {hosts: {host: {ok, changed, failures, unreachable, skipped, rescued, ignored}}}
  run_end    {interrupted}
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os
import re

try:
    from html import escape as _html_escape
except ImportError:  # pragma: no cover - Python 2 is not a controller Python
    from cgi import escape as _html_escape

SCHEMA = "clusterops.k8s_upgrade/report/v1"
FACT_PREFIX = "upgrade_report_"
# upgrade_report_NAME_by_host: {host: data}, section NAME of several hosts set at once (a run_once step)
BY_HOST_SUFFIX = "_by_host"
OUTCOMES = ("ok", "changed", "failed", "ignored", "unreachable", "done", "skipped", "interrupted")
OUTCOME_LABELS = {
    "ok": "ok",
    "changed": "changed",
    "failed": "failed",
    "ignored": "failed, ignored",
    "unreachable": "unreachable",
    "done": "skipped: already done",
    "skipped": "skipped: not needed",
    "interrupted": "running when the run was interrupted",
}
# Sections the report knows; any other upgrade_report_<name> fact is kept and shown as data.
KNOWN_SECTIONS = ("target", "versions_before", "versions_after", "skew", "apis", "backup", "forecast", "restarts", "done")

REDACTED = "<redacted>"
# Keys whose values are never written: credentials, key material, kubeconfig contents.
_SECRET_KEY = re.compile(
    r"(passw|passphrase|secret|token|bearer|authorization|credential|private|api_?key|"
    r"client_?key|client_?cert|key_?data|cert_?data|kubeconfig|^key$|_key$|^cookie)",
    re.IGNORECASE,
)
# Values that are key material or a token whatever their key is called.
_SECRET_VALUE = re.compile(r"(-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)|^\s*Bearer\s|apiVersion:\s*v1\s+clusters:)", re.IGNORECASE)
MAX_STRING = 4000
MAX_ROWS = 500


# --------------------------------------------------------------------------- data hygiene

def is_secret_key(key):
    return bool(_SECRET_KEY.search(str(key)))


def scrub(value, key=None, _depth=0):
    """A JSON-safe plain copy of `value` without secrets: values under secret-looking keys and
    values that look like key material are replaced by REDACTED; long strings are cut."""
    if key is not None and is_secret_key(key) and value not in (None, "", [], {}):
        return REDACTED
    if _depth > 40:
        return "<nested too deep>"
    if isinstance(value, dict):
        # A registered result carries the module's arguments under `invocation`: never copied.
        return dict((str(k), scrub(v, k, _depth + 1)) for k, v in value.items()
                    if k != "invocation" and not str(k).startswith("_ansible"))
    if isinstance(value, (list, tuple, set, frozenset)):
        return [scrub(v, None, _depth + 1) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value)
    if _SECRET_VALUE.search(text):
        return REDACTED
    if len(text) > MAX_STRING:
        text = text[:MAX_STRING] + "... (%d characters cut)" % (len(text) - MAX_STRING)
    return text


def section_facts(result):
    """The report sections a task result carries: {name: data} for every `upgrade_report_<name>`
    in its ansible_facts (set_fact), loop items included, in order."""
    found = {}
    items = [result]
    if isinstance(result.get("results"), list):
        items.extend(r for r in result["results"] if isinstance(r, dict))
    for item in items:
        facts = item.get("ansible_facts")
        if not isinstance(facts, dict):
            continue
        for key, value in facts.items():
            if str(key).startswith(FACT_PREFIX) and len(key) > len(FACT_PREFIX):
                found[str(key)[len(FACT_PREFIX):]] = value
    return found


def failure_message(result):
    """A short, scrubbed reason from a failed or unreachable result."""
    if result.get("censored"):
        return "output hidden (no_log)"
    parts = []
    msg = result.get("msg")
    if msg:
        parts.append(str(msg))
    for key in ("stderr", "module_stderr"):
        text = result.get(key)
        if text and str(text).strip() and str(text).strip() not in parts:
            parts.append(str(text).strip()[-800:])
            break
    if not parts and isinstance(result.get("results"), list):
        for item in result["results"]:
            if isinstance(item, dict) and item.get("failed") and item.get("msg"):
                parts.append(str(item["msg"]))
                break
    return scrub(" | ".join(parts)[:2000]) if parts else ""


def iso(ts):
    if ts is None:
        return None
    return datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def run_id(ts, playbook=None):
    """Run directory name: UTC time of the start, then the playbook's base name."""
    stamp = datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    if playbook:
        base = re.sub(r"[^A-Za-z0-9_.-]+", "_", os.path.splitext(os.path.basename(str(playbook)))[0])
        if base:
            return "%s-%s" % (stamp, base)
    return stamp


def write_private(path, text, mode=0o600):
    """Write `text` to `path` atomically, readable by its owner only (0600 unless `mode`)."""
    tmp = "%s.tmp%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
    os.replace(tmp, path)


def append_private(path, text, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, mode)
    try:
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)


def load_events(path):
    """Events from an events.jsonl; a torn last line (killed run) is ignored."""
    events = []
    with open(path) as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
    return events


# --------------------------------------------------------------------------- sections

def merge_sections(events):
    """{name: {"by_host": {host: data}, "latest": data}}; a later fact replaces an earlier one of
    the same host, "latest" is the last one recorded on any host (for cluster-wide sections)."""
    merged = {}
    for event in events:
        if event.get("event") != "section":
            continue
        name, data = event["name"], event.get("data")
        # NAME_by_host, set once for several hosts (a batch's run_once step): {host: data} of section NAME
        if name.endswith(BY_HOST_SUFFIX) and len(name) > len(BY_HOST_SUFFIX) and isinstance(data, dict):
            per_host = data.items()
            name = name[:-len(BY_HOST_SUFFIX)]
        else:
            per_host = [(event.get("host") or "localhost", data)]
        entry = merged.setdefault(name, {"by_host": {}, "latest": None})
        for host, value in per_host:
            entry["by_host"][host] = value
            entry["latest"] = value
    return merged


def _version_text(value):
    if isinstance(value, dict):
        for key in ("version", "gitVersion", "git_version"):
            if value.get(key):
                return str(value[key])
        return None
    if value is None or isinstance(value, (list, bool)):
        return None
    return str(value)


def component_versions(data):
    """{component: version} from what a role recorded: a mapping of component to version (or to a
    dict with `version`), a list of dicts with `name`/`component` and `version`, or either of those
    under a `components` key."""
    if isinstance(data, dict) and "components" in data and isinstance(data["components"], (dict, list)):
        data = data["components"]
    out = {}
    if isinstance(data, dict):
        for name, value in data.items():
            text = _version_text(value)
            if text is not None:
                out[str(name)] = text
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, dict):
                name = item.get("component") or item.get("name")
                text = _version_text(item)
                if name and text is not None:
                    out[str(name)] = text
    return out


def _same_version(a, b):
    return a is not None and b is not None and str(a).lstrip("vV") == str(b).lstrip("vV")


def version_table(before, after, target=None):
    """Per host and component: before, after, changed, at_target (None when no target is known)."""
    hosts = list(before or {})
    hosts += [h for h in (after or {}) if h not in hosts]
    table = {}
    for host in hosts:
        b = component_versions((before or {}).get(host))
        a = component_versions((after or {}).get(host))
        rows = {}
        for component in list(b) + [c for c in a if c not in b]:
            entry = {"before": b.get(component), "after": a.get(component)}
            entry["changed"] = entry["before"] is not None and entry["after"] is not None and not _same_version(
                entry["before"], entry["after"])
            entry["at_target"] = None if (not target or entry["after"] is None) else _same_version(entry["after"], target)
            rows[component] = entry
        table[host] = rows
    return table


def _container_key(item):
    return "%s/%s/%s" % (item.get("namespace", ""), item.get("pod", ""), item.get("container", item.get("name", "")))


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def restart_comparison(forecast, actual):
    """Forecast against what happened, per host. `forecast`: {host: kubelet_restart_forecast result
    (containers, restart_total, uncertain_total, total)}; `actual`: {host: {containers: [{namespace,
    pod, container, restarts | restart_count}], restarted}} where `restarts` is how often the container
    restarted during the upgrade, `restart_count` its count after it (compared with the count the
    forecast saw: a kubelet_restart_forecast result taken after the upgrade fits) and `restarted` how
    many containers restarted, when counted otherwise."""
    hosts = list(forecast or {})
    hosts += [h for h in (actual or {}) if h not in hosts]
    out = {}
    for host in hosts:
        fc = (forecast or {}).get(host)
        ac = (actual or {}).get(host)
        fc = fc if isinstance(fc, dict) else {}
        ac = ac if isinstance(ac, dict) else {}
        fc_items = [c for c in fc.get("containers") or [] if isinstance(c, dict)]
        before = dict((_container_key(c), _int_or_none(c.get("restart_count"))) for c in fc_items)
        will = dict((_container_key(c), bool(c.get("will_restart"))) for c in fc_items)
        forecast_total = _int_or_none(fc.get("restart_total"))
        if forecast_total is None and fc_items:
            forecast_total = sum(1 for v in will.values() if v)
        per_container = {}
        for item in ac.get("containers") or []:
            if not isinstance(item, dict):
                continue
            key = _container_key(item)
            restarts = _int_or_none(item.get("restarts"))
            if restarts is None:
                now = _int_or_none(item.get("restart_count"))
                was = before.get(key)
                if now is not None and was is not None:
                    restarts = max(now - was, 0)
            per_container[key] = restarts
        actual_total = _int_or_none(ac.get("restarted"))
        if actual_total is None and per_container:
            known = [v for v in per_container.values() if v is not None]
            actual_total = sum(1 for v in known if v > 0) if known else None
        surprises = []
        for key in sorted(set(will) | set(per_container)):
            restarts = per_container.get(key)
            forecast_restart = will.get(key)
            if restarts is None or forecast_restart is None:
                continue
            if bool(restarts) != forecast_restart or restarts > 1:
                surprises.append({"container": key, "forecast_restart": forecast_restart, "restarts": restarts})
        if not fc and not ac:
            verdict = "no data"
        elif not fc:
            verdict = "no forecast"
        elif actual_total is None:
            verdict = "not measured"
        elif actual_total == forecast_total:
            verdict = "as forecast"
        elif forecast_total is not None and actual_total > forecast_total:
            verdict = "more restarts than forecast"
        else:
            verdict = "fewer restarts than forecast"
        known_restarts = [v for v in per_container.values() if v is not None]
        out[host] = {
            "containers": _int_or_none(fc.get("total")) if fc.get("total") is not None else (len(fc_items) or None),
            "forecast": forecast_total,
            "forecast_uncertain": _int_or_none(fc.get("uncertain_total")),
            "actual": actual_total,
            "max_restarts_per_container": max(known_restarts) if known_restarts else None,
            "verdict": verdict,
            "surprises": surprises,
        }
    return out


# --------------------------------------------------------------------------- the report

def _natural_key(text):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", str(text))]


def build_report(events, report_dir=None):
    """The report document (JSON-safe) from the recorded events."""
    run = {"id": None, "playbook": None, "check_mode": False, "ansible_version": None}
    plays, steps, stats = [], [], None
    t_start = t_end = None
    interrupted = False
    done_marks = set()
    for event in events:
        kind = event.get("event")
        when = event.get("time")
        if when is not None:
            t_start = when if t_start is None else min(t_start, when)
            t_end = when if t_end is None else max(t_end, when)
        if kind == "run_start":
            run.update(dict((k, event.get(k)) for k in ("playbook", "check_mode", "ansible_version")))
            run["id"] = event.get("run_id")
            t_start = when
        elif kind == "play_start":
            plays.append({"name": event.get("name") or "", "phase": event.get("phase") or event.get("name") or "",
                          "start": when})
        elif kind == "section" and event.get("name") == "done":
            done_marks.add((event.get("host"), event.get("play_index")))
        elif kind == "step":
            if event.get("outcome") == "skipped" and (event.get("host"), event.get("play_index")) in done_marks:
                event = dict(event, outcome="done")
            steps.append(event)
            t_end = max(t_end or event["end"], event["end"])
        elif kind == "stats":
            stats = event.get("hosts") or {}
        elif kind == "run_end":
            interrupted = bool(event.get("interrupted"))
    t_start = t_start if t_start is not None else 0.0
    t_end = t_end if t_end is not None else t_start

    # Phases: one per play start (a play with `serial` starts once per batch).
    seen = {}
    for play in plays:
        seen[play["name"]] = seen.get(play["name"], 0) + 1
        play["batch"] = seen[play["name"]]
    batches = dict((name, count) for name, count in seen.items())
    phases = []
    for index, play in enumerate(plays):
        nxt = plays[index + 1]["start"] if index + 1 < len(plays) else None
        own = [s for s in steps if s.get("play_index") == index]
        end = max([s["end"] for s in own]) if own else (nxt if nxt is not None else play["start"])
        label = play["phase"]
        if batches[play["name"]] > 1:
            label = "%s (batch %d/%d)" % (label, play["batch"], batches[play["name"]])
        phases.append({"index": index, "name": play["name"], "phase": label, "batch": play["batch"],
                       "start": iso(play["start"]), "end": iso(end),
                       "t_start": round(play["start"] - t_start, 3), "t_end": round(end - t_start, 3)})

    # Hosts in the order they first appear.
    hosts = []
    for step in steps:
        if step["host"] not in hosts:
            hosts.append(step["host"])
    for host in sorted(stats or {}, key=_natural_key):
        if host not in hosts:
            hosts.append(host)

    have_stats = stats is not None
    stats = stats or {}
    ended_failed = set(h for h, s in stats.items() if (s.get("failures") or 0) > 0 or (s.get("unreachable") or 0) > 0)
    timeline = dict((h, []) for h in hosts)
    for step in steps:
        phase = phases[step["play_index"]]["phase"] if isinstance(step.get("play_index"), int) and step["play_index"] < len(phases) else ""
        timeline[step["host"]].append({
            "task": step.get("task") or "",
            "role": step.get("role"),
            "play": step.get("play"),
            "phase": phase,
            "handler": bool(step.get("handler")),
            "action": step.get("action"),
            "delegated_to": step.get("delegated_to"),
            "start": iso(step["start"]),
            "end": iso(step["end"]),
            "t_start": round(step["start"] - t_start, 3),
            "t_end": round(step["end"] - t_start, 3),
            "duration_s": round(max(step["end"] - step["start"], 0.0), 3),
            "outcome": step.get("outcome"),
            "msg": step.get("msg") or None,
            "false_condition": step.get("false_condition") or None,
            "reload_s": step.get("reload_s"),
            "waited_s": step.get("waited_s"),
            "fatal": False,
        })
    # The failed step that stopped a host: its last failed or unreachable step.
    failures = []
    for host in hosts:
        if have_stats and host not in ended_failed:
            continue
        for step in reversed(timeline[host]):
            if step["outcome"] in ("failed", "unreachable"):
                step["fatal"] = True
                failures.append({"host": host, "task": step["task"], "role": step["role"], "play": step["play"],
                                 "phase": step["phase"], "outcome": step["outcome"], "msg": step["msg"], "at": step["end"]})
                break

    if interrupted or not have_stats:
        status = "interrupted"
    elif ended_failed:
        status = "failed"
    else:
        status = "ok"

    sections = merge_sections(events)

    def by_host(name):
        return sections.get(name, {}).get("by_host", {})

    def latest(name):
        return sections.get(name, {}).get("latest")

    target = latest("target")
    if isinstance(target, dict):
        target = target.get("target_version") or target.get("version")
    if target is None and isinstance(latest("skew"), dict):
        target = latest("skew").get("target_version")
    target = str(target) if target else None

    report = {
        "schema": SCHEMA,
        "run": {
            "id": run["id"],
            "playbook": run["playbook"],
            "status": status,
            "check_mode": bool(run["check_mode"]),
            "ansible_version": run["ansible_version"],
            "started": iso(t_start),
            "ended": iso(t_end),
            "duration_s": round(t_end - t_start, 3),
            "report_dir": report_dir,
            "target_version": target,
        },
        "stats": dict((h, stats[h]) for h in sorted(stats, key=_natural_key)),
        "failures": failures,
        "phases": phases,
        "timeline": timeline,
        "versions": version_table(by_host("versions_before"), by_host("versions_after"), target),
        "skew": latest("skew"),
        "apis": latest("apis"),
        "backup": latest("backup"),
        "restarts": restart_comparison(by_host("forecast"), by_host("restarts")),
        "done": by_host("done"),
        "sections": dict((name, entry["by_host"]) for name, entry in sorted(sections.items())
                         if name not in KNOWN_SECTIONS),
    }
    return report


# --------------------------------------------------------------------------- the Gantt chart

_NICE_STEPS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def tick_step(total, max_ticks=10):
    for step in _NICE_STEPS:
        if total / step <= max_ticks:
            return step
    return _NICE_STEPS[-1] * (int(total / (_NICE_STEPS[-1] * max_ticks)) + 1)


def hms(seconds):
    """m:ss, or h:mm:ss from an hour."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return "%d:%02d:%02d" % (seconds // 3600, seconds % 3600 // 60, seconds % 60)
    return "%d:%02d" % (seconds // 60, seconds % 60)


def clock(seconds, step=None):
    """Elapsed time: seconds below a minute (tenths when `step`, the precision wanted, is under a
    second, or when no step is given and the value has a fraction), else m:ss or h:mm:ss."""
    if seconds < 60:
        fine = step < 1 if step is not None else round(seconds, 1) != int(seconds)
        return "%.1fs" % seconds if fine else "%ds" % int(round(seconds))
    return hms(seconds)


def gantt_geometry(report, width=1100, label_width=180, row_height=22, bar_height=14, top=44, min_bar=2.0):
    """Pixel geometry of the timeline chart: one row per host, one bar per step, phase bands and a
    time axis. A bar is `duration * scale` wide, at least `min_bar` so that instant steps show."""
    hosts = list(report["timeline"])
    span = max([report["run"]["duration_s"]] + [s["t_end"] for h in hosts for s in report["timeline"][h]]
               + [p["t_end"] for p in report["phases"]] + [0.001])
    plot_x = float(label_width)
    plot_w = float(width - label_width - 16)
    scale = plot_w / span
    height = top + row_height * max(len(hosts), 1) + 28
    rows = []
    for index, host in enumerate(hosts):
        y = top + index * row_height
        bars = []
        for step in report["timeline"][host]:
            x = plot_x + step["t_start"] * scale
            w = max((step["t_end"] - step["t_start"]) * scale, min_bar)
            bars.append({"x": round(x, 2), "y": y + (row_height - bar_height) / 2.0, "w": round(w, 2), "h": bar_height,
                         "outcome": step["outcome"], "fatal": step["fatal"], "step": step})
        rows.append({"host": host, "y": y, "bars": bars})
    bands = []
    for phase in report["phases"]:
        x = plot_x + phase["t_start"] * scale
        w = max((phase["t_end"] - phase["t_start"]) * scale, 1.0)
        bands.append({"x": round(x, 2), "w": round(w, 2), "label": phase["phase"], "phase": phase})
    step = tick_step(span)
    ticks = []
    value = 0.0
    while value <= span + 1e-9:
        ticks.append({"x": round(plot_x + value * scale, 2), "label": clock(value, step) if span < 60 else hms(value)})
        value += step
    return {"width": width, "height": height, "top": top, "row_height": row_height, "plot_x": plot_x,
            "plot_w": plot_w, "scale": scale, "span": span, "rows": rows, "bands": bands, "ticks": ticks}


# --------------------------------------------------------------------------- HTML

def esc(value):
    return _html_escape("" if value is None else str(value), quote=True)


_COLOURS = {"ok": "#3c9a4c", "changed": "#e0a020", "failed": "#c62828", "ignored": "#ef9a9a",
            "unreachable": "#6a1b9a", "done": "#5c8fc0", "skipped": "#b0bec5", "interrupted": "#8d6e63"}

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1d2327;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;margin:6px 0 12px}th,td{border:1px solid #d6d9dc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f6}td.num{text-align:right}code,pre{font:12px/1.4 ui-monospace,Menlo,Consolas,monospace}
pre{background:#f6f8fa;padding:8px;overflow:auto;max-height:400px}
.status{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-weight:600}
.status-ok{background:#3c9a4c}.status-failed{background:#c62828}.status-interrupted{background:#8d6e63}
.bad{color:#b71c1c;font-weight:600}.good{color:#2e7d32}.muted{color:#6b7378}
.failure{border-left:4px solid #c62828;background:#fdecea;padding:8px 12px;margin:8px 0}
.legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px;border:1px solid #555}
details{margin:4px 0}summary{cursor:pointer}
svg text{font:11px system-ui,sans-serif}svg .host{font-weight:600}
"""


def _kv_table(mapping):
    rows = "".join("<tr><th>%s</th><td>%s</td></tr>" % (esc(k), render_value(v, 1)) for k, v in mapping.items())
    return "<table class=\"kv\">%s</table>" % rows


def _cell(value):
    if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
        return esc(", ".join(str(v) for v in value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        return "<code>%s</code>" % esc(json.dumps(value, sort_keys=True)[:600])
    return esc(value)


def render_value(value, depth=0):
    """Any JSON value as HTML: mappings as key/value tables, lists of mappings as tables."""
    if isinstance(value, dict):
        if not value:
            return "<span class=\"muted\">(empty)</span>"
        if depth > 3:
            return _cell(value)
        return _kv_table(value)
    if isinstance(value, list):
        if not value:
            return "<span class=\"muted\">(none)</span>"
        if all(isinstance(v, dict) for v in value):
            columns = []
            for item in value:
                columns += [k for k in item if k not in columns]
            columns = columns[:14]
            head = "".join("<th>%s</th>" % esc(c) for c in columns)
            body = "".join("<tr>%s</tr>" % "".join("<td>%s</td>" % _cell(item.get(c)) for c in columns)
                           for item in value[:MAX_ROWS])
            more = ""
            if len(value) > MAX_ROWS:
                more = "<p class=\"muted\">%d more rows in report.json</p>" % (len(value) - MAX_ROWS)
            return "<table><tr>%s</tr>%s</table>%s" % (head, body, more)
        return esc(", ".join(json.dumps(v) if isinstance(v, (dict, list)) else str(v) for v in value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "<span class=\"muted\">-</span>"
    return esc(value)


def render_gantt(report, width=1100):
    """The timeline as an inline SVG (no script, no external reference)."""
    geo = gantt_geometry(report, width=width)
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" '
           'aria-label="Timeline of every host\'s steps">' % (geo["width"], geo["height"], geo["width"], geo["height"])]
    out.append('<title>Timeline of every host\'s steps</title>')
    bottom = geo["height"] - 28
    for index, band in enumerate(geo["bands"]):
        fill = "#eef3f8" if index % 2 == 0 else "#f8f9fa"
        out.append('<g class="phase"><title>%s: %s to %s</title><rect x="%s" y="16" width="%s" height="%s" fill="%s"/>'
                   % (esc(band["label"]), esc(clock(band["phase"]["t_start"])), esc(clock(band["phase"]["t_end"])),
                      band["x"], band["w"], bottom - 16, fill))
        # Labels alternate between two lines so that neighbouring bands do not overwrite each other.
        label = band["label"] if band["w"] >= 7 * len(band["label"]) else str(index + 1)
        out.append('<text x="%s" y="%d">%s</text></g>' % (band["x"] + 3, 12 if index % 2 == 0 else 26, esc(label)))
    for tick in geo["ticks"]:
        out.append('<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="#c9cdd1" stroke-width="0.5"/>'
                   '<text x="%s" y="%d" text-anchor="middle">%s</text>'
                   % (tick["x"], geo["top"] - 4, tick["x"], bottom, tick["x"], bottom + 14, esc(tick["label"])))
    for row in geo["rows"]:
        out.append('<g class="row" data-host="%s"><text class="host" x="4" y="%s">%s</text>'
                   % (esc(row["host"]), row["y"] + geo["row_height"] / 2.0 + 4, esc(row["host"][:26])))
        for rect in row["bars"]:
            step = rect["step"]
            colour = _COLOURS.get(rect["outcome"], "#90a4ae")
            title = "%s | %s | %s | %ss%s%s" % (row["host"], step["task"], OUTCOME_LABELS.get(step["outcome"], step["outcome"]),
                                                step["duration_s"], (" | " + step["msg"]) if step.get("msg") else "",
                                                (" | when: " + step["false_condition"]) if step.get("false_condition") else "")
            if rect["outcome"] == "skipped":
                style = 'fill="#ffffff" stroke="%s" stroke-width="1"' % colour
            elif rect["fatal"]:
                style = 'fill="%s" stroke="#000000" stroke-width="2.5"' % colour
            else:
                style = 'fill="%s"' % colour
            out.append('<rect class="bar %s%s" x="%s" y="%s" width="%s" height="%s" %s><title>%s</title></rect>'
                       % (esc(rect["outcome"]), " fatal" if rect["fatal"] else "", rect["x"], rect["y"], rect["w"], rect["h"],
                          style, esc(title[:1500])))
            if rect["fatal"]:
                # The label goes right of the bar, or left of it when the bar ends near the edge.
                label = step["task"][:40]
                if rect["x"] + rect["w"] + 10 + 6.5 * len(label) <= geo["width"]:
                    anchor, x = "start", rect["x"] + rect["w"] + 3
                else:
                    anchor, x = "end", rect["x"] - 3
                out.append('<text x="%s" y="%s" text-anchor="%s" fill="#b71c1c" font-weight="700" stroke="#ffffff" '
                           'stroke-width="3" paint-order="stroke">&#10006; %s</text>'
                           % (round(x, 2), rect["y"] + 11, anchor, esc(label)))
        out.append('</g>')
    out.append('<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="#555"/>' % (geo["plot_x"], bottom, geo["plot_x"] + geo["plot_w"], bottom))
    out.append('</svg>')
    return "".join(out)


def _legend():
    return '<p class="legend">%s<span><i style="background:%s;border:2.5px solid #000"></i>the failed step that stopped a host</span></p>' % (
        "".join('<span><i style="background:%s"></i>%s</span>' % ("#ffffff" if o == "skipped" else _COLOURS[o], esc(OUTCOME_LABELS[o]))
                for o in OUTCOMES), _COLOURS["failed"])


def _section(title, body):
    anchor = re.sub(r"[^a-z0-9]+", "-", str(title).lower()).strip("-")
    return '<h2 id="%s">%s</h2>\n%s\n' % (esc(anchor), esc(title), body)


def _versions_html(report):
    table = report["versions"]
    if not table:
        return '<p class="muted">No versions were recorded (facts upgrade_report_versions_before / _after).</p>'
    rows = []
    for host in table:
        for component, entry in table[host].items():
            mark = ""
            if entry["at_target"] is False:
                mark = ' <span class="bad">not at target</span>'
            elif entry["changed"]:
                mark = ' <span class="good">upgraded</span>'
            rows.append("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s%s</td></tr>" % (
                esc(host), esc(component), esc(entry["before"] or "-"), esc(entry["after"] or "-"), mark))
    return "<table><tr><th>host</th><th>component</th><th>before</th><th>after</th></tr>%s</table>" % "".join(rows)


def _restarts_html(report):
    data = report["restarts"]
    if not data:
        return '<p class="muted">No forecast was recorded (facts upgrade_report_forecast / upgrade_report_restarts).</p>'
    rows = []
    for host, entry in data.items():
        verdict = entry["verdict"]
        cls = "good" if verdict == "as forecast" else ("bad" if verdict.startswith("more") else "")
        surprises = "; ".join("%s: forecast %s, restarted %s" % (s["container"], "restart" if s["forecast_restart"] else "keep", s["restarts"])
                              for s in entry["surprises"][:20])
        rows.append('<tr><td>%s</td><td class="num">%s</td><td class="num">%s</td><td class="num">%s</td><td class="num">%s</td>'
                    '<td class="num">%s</td><td class="%s">%s</td><td>%s</td></tr>'
                    % (esc(host), esc(_dash(entry["containers"])), esc(_dash(entry["forecast"])), esc(_dash(entry["forecast_uncertain"])),
                       esc(_dash(entry["actual"])), esc(_dash(entry["max_restarts_per_container"])), cls, esc(verdict), esc(surprises)))
    return ("<table><tr><th>node</th><th>containers</th><th>forecast restarts</th><th>uncertain</th><th>restarted</th>"
            "<th>most restarts of one container</th><th>verdict</th><th>surprises</th></tr>%s</table>" % "".join(rows))


def _against(value):
    if isinstance(value, dict):
        return " ".join(str(value[k]) for k in ("component", "host", "version") if value.get(k))
    return value


def _skew_html(skew):
    if skew is None:
        return '<p class="muted">Not recorded (fact upgrade_report_skew).</p>'
    if not isinstance(skew, dict):
        return render_value(skew)
    out = []
    if skew.get("hops"):
        out.append("<p>Minor versions the apiservers cross: %s</p>" % esc(", ".join(str(h) for h in skew["hops"])))
    violations = [v for v in skew.get("violations") or [] if isinstance(v, dict)]
    accepted = sum(1 for v in violations if v.get("accepted"))
    out.append("<h3>Violations: %d (%d accepted, %d not accepted)</h3>" % (len(violations), accepted, len(violations) - accepted))
    if violations:
        out.append(render_value([{"rule": v.get("rule"), "accepted": bool(v.get("accepted")), "phase": v.get("phase"),
                                  "component": v.get("component"), "host": v.get("host"), "version": v.get("version"),
                                  "against": _against(v.get("against")), "message": v.get("message")} for v in violations]))
    plan = [p for p in skew.get("plan") or [] if isinstance(p, dict)]
    if plan:
        out.append("<h3>Plan</h3>")
        out.append(render_value([{"phase": p.get("name"), "kind": p.get("kind"), "hop": p.get("hop"), "hosts": p.get("hosts")}
                                 for p in plan]))
    rest = dict((k, v) for k, v in skew.items() if k not in ("hops", "violations", "plan", "changed", "failed", "msg"))
    if rest:
        out.append("<details><summary>More</summary>%s</details>" % render_value(rest))
    return "".join(out)


def _apis_html(apis):
    if apis is None:
        return '<p class="muted">Not recorded (fact upgrade_report_apis).</p>'
    if not isinstance(apis, dict):
        return render_value(apis)
    out = []
    findings = [f for f in apis.get("findings") or [] if isinstance(f, dict)]
    removed = sum(1 for f in findings if f.get("status") == "removed")
    out.append("<p>%d findings: %s removed at the target, %d deprecated.</p>" % (
        len(findings), '<span class="bad">%d</span>' % removed if removed else "0", len(findings) - removed))
    if findings:
        columns = ("status", "kind", "namespace", "name", "api_version", "replacement", "removed_in", "source", "location")
        out.append(render_value([dict((k, f.get(k)) for k in columns) for f in findings]))
    for key in ("summary", "errors"):
        if apis.get(key):
            out.append("<h3>%s</h3>%s" % (esc(key), render_value(apis[key])))
    return "".join(out)


def _dash(value):
    return "-" if value is None else value


def _timeline_tables(report):
    out = []
    for host, steps in report["timeline"].items():
        counts = {}
        for step in steps:
            counts[step["outcome"]] = counts.get(step["outcome"], 0) + 1
        summary = ", ".join("%d %s" % (counts[o], o) for o in OUTCOMES if counts.get(o))
        rows = "".join(
            '<tr%s><td class="num">%s</td><td class="num">%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>'
            % (' class="bad"' if s["fatal"] else "", esc(clock(s["t_start"])), esc(s["duration_s"]), esc(s["phase"]),
               esc(s["role"] or ""), esc(s["task"]), esc(OUTCOME_LABELS.get(s["outcome"], s["outcome"])),
               esc(s["msg"] or (("when: " + s["false_condition"]) if s["false_condition"] else "")))
            for s in steps)
        out.append('<details><summary>%s: %d steps (%s)</summary><table><tr><th>at</th><th>seconds</th><th>phase</th>'
                   '<th>role</th><th>task</th><th>outcome</th><th>detail</th></tr>%s</table></details>'
                   % (esc(host), len(steps), esc(summary), rows))
    return "".join(out)


def render_html(report):
    """The report as one self-contained HTML page: inline CSS and SVG, no script, no external asset."""
    run = report["run"]
    parts = ['<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             "<title>Upgrade report %s</title><style>%s</style></head><body>" % (esc(run["id"] or ""), _CSS)]
    parts.append("<h1>Upgrade report %s</h1>" % esc(run["id"] or ""))
    parts.append('<p><span class="status status-%s">%s</span>%s</p>' % (
        esc(run["status"]), esc(run["status"]), " &nbsp;<strong>check mode (rehearsal): nothing was changed</strong>" if run["check_mode"] else ""))
    parts.append(_kv_table({"playbook": run["playbook"], "target version": run["target_version"], "started (UTC)": run["started"],
                            "ended (UTC)": run["ended"], "duration": clock(run["duration_s"]), "ansible-core": run["ansible_version"],
                            "machine-readable": "report.json beside this page"}))
    for failure in report["failures"]:
        parts.append('<div class="failure"><strong>%s failed</strong> at <strong>%s</strong> (phase %s%s): %s</div>' % (
            esc(failure["host"]), esc(failure["task"]), esc(failure["phase"]),
            (", role " + esc(failure["role"])) if failure["role"] else "", esc(failure["msg"] or failure["outcome"])))

    parts.append(_section("Timeline", _legend() + '<div style="overflow-x:auto">%s</div>' % render_gantt(report)
                          + "<h3>Phases</h3>" + render_value([{"#": p["index"] + 1, "phase": p["phase"], "play": p["name"], "from": clock(p["t_start"]),
                                                               "to": clock(p["t_end"])} for p in report["phases"]])
                          + "<h3>Steps per host</h3>" + _timeline_tables(report)))
    stats_rows = [dict([("host", h)] + [(k, s.get(k, 0)) for k in ("ok", "changed", "failures", "unreachable", "skipped", "rescued", "ignored")])
                  for h, s in report["stats"].items()]
    parts.append(_section("Hosts", render_value(stats_rows) if stats_rows else '<p class="muted">The run ended before Ansible counted the hosts.</p>'))
    parts.append(_section("Versions before and after", _versions_html(report)))
    parts.append(_section("Version skew", _skew_html(report["skew"])))
    parts.append(_section("Deprecated and removed APIs", _apis_html(report["apis"])))
    parts.append(_section("etcd backup", render_value(report["backup"]) if report["backup"] is not None
                          else '<p class="muted">Not recorded (fact upgrade_report_backup).</p>'))
    parts.append(_section("Container restarts: forecast and what happened", _restarts_html(report)))
    if report["done"]:
        parts.append(_section("Hosts found already done (resumed run)", render_value(report["done"])))
    for name, by_host in report["sections"].items():
        parts.append(_section(name.replace("_", " "), render_value(by_host)))
    parts.append('<p class="muted">Written by the clusterops.k8s_upgrade.upgrade_report callback.</p></body></html>\n')
    return "\n".join(parts)


def write_report(run_dir, events):
    """Build the report of `events` and write report.json and report.html into `run_dir`;
    returns (report, json path, html path)."""
    report = build_report(events, report_dir=run_dir)
    json_path = os.path.join(run_dir, "report.json")
    html_path = os.path.join(run_dir, "report.html")
    write_private(json_path, json.dumps(report, indent=2, sort_keys=True) + "\n")
    write_private(html_path, render_html(report))
    return report, json_path, html_path
