import json
import os
import re
import stat

import pytest

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import upgrade_report as ur

T0 = 1764111600.0  # 2025-11-25T23:00:00Z


def ev(kind, at, **fields):
    fields.update(event=kind, time=T0 + at)
    return fields


def step(host, task, start, end, outcome, play_index, **extra):
    extra.update(host=host, task=task, start=T0 + start, end=T0 + end, outcome=outcome, play_index=play_index,
                 play=extra.pop("play", "p%d" % play_index))
    return ev("step", end, **extra)


def run_events(status_hosts=None, with_stats=True):
    """Preflight on localhost, then a serial play over two nodes where node2 fails."""
    events = [
        ev("run_start", 0, playbook="upgrade.yml", check_mode=False, ansible_version="2.19.0", run_id="20251125T230000Z-upgrade"),
        ev("play_start", 0, name="Preflight", phase="preflight"),
        step("localhost", "Plan the hops", 0, 4, "ok", 0),
        ev("section", 4, host="localhost", name="target", data="1.14.10"),
        ev("section", 4, host="localhost", name="skew", data={"hops": ["1.11", "1.12"], "violations": [
            {"rule": "apiserver-skip-minor", "accepted": True, "against": {"component": "kube-apiserver", "version": "1.14.10"}}]}),
        ev("play_start", 5, name="Nodes", phase="node batches"),
        step("node1", "Stage kubelet", 5, 15, "changed", 1),
        step("node1", "Already at target", 15, 15.1, "skipped", 1, false_condition="not at_target"),
        ev("section", 16, host="node1", name="versions_before", data={"kubelet": "v1.10.13"}),
        ev("section", 17, host="node1", name="versions_after", data={"kubelet": {"version": "v1.14.10"}}),
        ev("play_start", 20, name="Nodes", phase="node batches"),
        step("node2", "Stage kubelet", 20, 30, "changed", 2),
        step("node2", "Probe that may fail", 30, 31, "ignored", 2, msg="ignored it"),
        step("node2", "Wait for Ready", 31, 50, "failed", 2, msg="node2 never became Ready"),
    ]
    if with_stats:
        events.append(ev("stats", 50, hosts=status_hosts or {
            "localhost": {"ok": 1, "failures": 0, "unreachable": 0},
            "node1": {"ok": 2, "failures": 0, "unreachable": 0},
            "node2": {"ok": 1, "failures": 1, "unreachable": 0}}))
    events.append(ev("run_end", 50, interrupted=False))
    return events


# ------------------------------------------------------------------------------------ hygiene

@pytest.mark.parametrize("key, value, expected", [
    ("password", "hunter2", ur.REDACTED),
    ("etcd_passphrase", "x", ur.REDACTED),
    ("api_key", "abc", ur.REDACTED),
    ("token", "abc", ur.REDACTED),
    ("client_key", "/etc/k.pem", ur.REDACTED),
    ("kubeconfig", "apiVersion: v1\nclusters: []", ur.REDACTED),
    ("key", "value", ur.REDACTED),
    ("token", "", ""),
    ("sha256", "ab" * 32, "ab" * 32),
    ("path", "/var/backups/etcd/snap.db", "/var/backups/etcd/snap.db"),
    ("keys", 1234, 1234),
    ("note", "-----BEGIN RSA PRIVATE KEY-----\nMIIE", ur.REDACTED),
    ("header", "Bearer abc.def", ur.REDACTED),
    ("count", 3, 3),
    ("ok", True, True),
])
def test_scrub_values(key, value, expected):
    assert ur.scrub({key: value}) == {key: expected}


def test_scrub_nested_drops_invocation_and_internal_keys():
    data = {"changed": False, "invocation": {"module_args": {"kubeconfig": "/root/.kube/config"}}, "_ansible_no_log": False,
            "findings": [{"name": "x", "auth": {"bearer_token": "t0k"}}], "blob": b"bytes", "n": None}
    assert ur.scrub(data) == {"changed": False, "findings": [{"name": "x", "auth": {"bearer_token": ur.REDACTED}}],
                              "blob": "bytes", "n": None}


def test_scrub_cuts_long_strings():
    out = ur.scrub("x" * (ur.MAX_STRING + 10))
    assert out.startswith("x" * ur.MAX_STRING) and out.endswith("(10 characters cut)")


@pytest.mark.parametrize("result, expected", [
    ({"ansible_facts": {"upgrade_report_backup": {"path": "/b"}, "other": 1}}, {"backup": {"path": "/b"}}),
    ({"ansible_facts": {"upgrade_report_": 1}}, {}),
    ({"changed": True}, {}),
    ({"results": [{"ansible_facts": {"upgrade_report_a": 1}}, {"ansible_facts": {"upgrade_report_a": 2, "upgrade_report_b": 3}}]},
     {"a": 2, "b": 3}),
])
def test_section_facts(result, expected):
    assert ur.section_facts(result) == expected


@pytest.mark.parametrize("result, expected", [
    ({"msg": "boom"}, "boom"),
    ({"msg": "non-zero return code", "stderr": "etcdctl: context deadline exceeded\n"}, "non-zero return code | etcdctl: context deadline exceeded"),
    ({"censored": "hidden", "msg": "secret"}, "output hidden (no_log)"),
    ({"results": [{"failed": False}, {"failed": True, "msg": "item 2 failed"}]}, "item 2 failed"),
    ({}, ""),
])
def test_failure_message(result, expected):
    assert ur.failure_message(result) == expected


@pytest.mark.parametrize("ts, playbook, expected", [
    (T0, "playbooks/upgrade.yml", "20251125T230000Z-upgrade"),
    (T0 + 61.7, None, "20251125T230101Z"),
    (T0, "../odd name;rm.yml", "20251125T230000Z-odd_name_rm"),
])
def test_run_id(ts, playbook, expected):
    assert ur.run_id(ts, playbook) == expected


def test_write_private_is_owner_only(tmp_path):
    path = tmp_path / "report.json"
    old = os.umask(0)
    try:
        ur.write_private(str(path), "{}")
        ur.append_private(str(tmp_path / "events.jsonl"), "{}\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "events.jsonl").stat().st_mode) == 0o600
    assert path.read_text() == "{}"


def test_load_events_ignores_a_torn_last_line(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"event": "run_start", "time": 1}\n\n{"event": "step", "ti')
    assert ur.load_events(str(path)) == [{"event": "run_start", "time": 1}]


# ------------------------------------------------------------------------------------ sections

@pytest.mark.parametrize("data, expected", [
    ({"kubelet": "v1.10.13", "kube-proxy": {"version": "1.10.13", "sha256": "ab"}}, {"kubelet": "v1.10.13", "kube-proxy": "1.10.13"}),
    ([{"name": "kubelet", "version": "1.14.10"}, {"component": "kube-proxy", "gitVersion": "v1.14.10"}, {"name": "x"}],
     {"kubelet": "1.14.10", "kube-proxy": "v1.14.10"}),
    ({"components": {"kube-apiserver": "1.14.10"}}, {"kube-apiserver": "1.14.10"}),
    ({"kubelet": None, "crictl": ["x"]}, {}),
    (None, {}),
])
def test_component_versions(data, expected):
    assert ur.component_versions(data) == expected


def test_version_table():
    before = {"m1": {"kube-apiserver": "v1.10.13", "etcd": "3.4.23"}, "n1": {"kubelet": "1.10.13"}}
    after = {"m1": {"kube-apiserver": "1.14.10", "etcd": "3.4.23"}, "n1": {"kubelet": "1.13.12"}, "n2": {"kubelet": "1.14.10"}}
    assert ur.version_table(before, after, "v1.14.10") == {
        "m1": {"kube-apiserver": {"before": "v1.10.13", "after": "1.14.10", "changed": True, "at_target": True},
               "etcd": {"before": "3.4.23", "after": "3.4.23", "changed": False, "at_target": False}},
        "n1": {"kubelet": {"before": "1.10.13", "after": "1.13.12", "changed": True, "at_target": False}},
        "n2": {"kubelet": {"before": None, "after": "1.14.10", "changed": False, "at_target": True}},
    }
    assert ur.version_table(before, {}, None)["n1"]["kubelet"] == {"before": "1.10.13", "after": None, "changed": False,
                                                                   "at_target": None}


FORECAST = {
    "containers": [
        {"namespace": "shop", "pod": "web", "container": "nginx", "will_restart": True, "restart_count": 2},
        {"namespace": "shop", "pod": "web", "container": "sidecar", "will_restart": False, "restart_count": 0},
        {"namespace": "kube-system", "pod": "dns", "container": "coredns", "will_restart": True, "restart_count": 0},
    ],
    "restart_total": 2, "uncertain_total": 1, "total": 3,
}


@pytest.mark.parametrize("actual, expected", [
    # restart counts after the upgrade, compared with those the forecast saw
    ({"containers": [{"namespace": "shop", "pod": "web", "container": "nginx", "restart_count": 3},
                     {"namespace": "shop", "pod": "web", "container": "sidecar", "restart_count": 0},
                     {"namespace": "kube-system", "pod": "dns", "container": "coredns", "restart_count": 1}]},
     {"containers": 3, "forecast": 2, "forecast_uncertain": 1, "actual": 2, "max_restarts_per_container": 1,
      "verdict": "as forecast", "surprises": []}),
    # the role counted restarts itself; one container restarted twice, one not forecast restarted
    ({"containers": [{"namespace": "shop", "pod": "web", "container": "nginx", "restarts": 2},
                     {"namespace": "shop", "pod": "web", "container": "sidecar", "restarts": 1}]},
     {"containers": 3, "forecast": 2, "forecast_uncertain": 1, "actual": 2, "max_restarts_per_container": 2,
      "verdict": "as forecast", "surprises": [
          {"container": "shop/web/nginx", "forecast_restart": True, "restarts": 2},
          {"container": "shop/web/sidecar", "forecast_restart": False, "restarts": 1}]}),
    # a kubelet_restart_forecast result taken after the upgrade: its `total` counts containers, not restarts
    ({"containers": [{"namespace": "shop", "pod": "web", "container": "nginx", "restart_count": 3, "will_restart": False},
                     {"namespace": "shop", "pod": "web", "container": "sidecar", "restart_count": 0, "will_restart": False},
                     {"namespace": "kube-system", "pod": "dns", "container": "coredns", "restart_count": 0, "will_restart": False},
                     {"namespace": "new", "pod": "p", "container": "c", "restart_count": 5, "will_restart": False}],
      "total": 4, "restart_total": 0},
     {"containers": 3, "forecast": 2, "forecast_uncertain": 1, "actual": 1, "max_restarts_per_container": 1,
      "verdict": "fewer restarts than forecast", "surprises": [
          {"container": "kube-system/dns/coredns", "forecast_restart": True, "restarts": 0}]}),
    ({"restarted": 3},
     {"containers": 3, "forecast": 2, "forecast_uncertain": 1, "actual": 3, "max_restarts_per_container": None,
      "verdict": "more restarts than forecast", "surprises": []}),
    ({"restarted": 0, "total": 4},
     {"containers": 3, "forecast": 2, "forecast_uncertain": 1, "actual": 0, "max_restarts_per_container": None,
      "verdict": "fewer restarts than forecast", "surprises": []}),
    (None, {"containers": 3, "forecast": 2, "forecast_uncertain": 1, "actual": None, "max_restarts_per_container": None,
            "verdict": "not measured", "surprises": []}),
])
def test_restart_comparison(actual, expected):
    result = ur.restart_comparison({"n1": FORECAST}, {"n1": actual} if actual is not None else {})
    assert result == {"n1": expected}


def test_restart_comparison_without_forecast():
    assert ur.restart_comparison({}, {"n9": {"restarted": 1}})["n9"]["verdict"] == "no forecast"


# ------------------------------------------------------------------------------------ the report

def test_build_report_failed_run():
    report = ur.build_report(run_events(), report_dir="reports/x")
    run = report["run"]
    assert (run["status"], run["playbook"], run["duration_s"], run["target_version"], run["id"]) == (
        "failed", "upgrade.yml", 50.0, "1.14.10", "20251125T230000Z-upgrade")
    assert run["started"] == "2025-11-25T23:00:00.000Z"
    assert [(p["phase"], p["t_start"], p["t_end"]) for p in report["phases"]] == [
        ("preflight", 0.0, 4.0), ("node batches (batch 1/2)", 5.0, 15.1), ("node batches (batch 2/2)", 20.0, 50.0)]
    assert list(report["timeline"]) == ["localhost", "node1", "node2"]
    node2 = report["timeline"]["node2"]
    assert [(s["task"], s["outcome"], s["t_start"], s["duration_s"], s["fatal"]) for s in node2] == [
        ("Stage kubelet", "changed", 20.0, 10.0, False),
        ("Probe that may fail", "ignored", 30.0, 1.0, False),
        ("Wait for Ready", "failed", 31.0, 19.0, True)]
    assert report["failures"] == [{"host": "node2", "task": "Wait for Ready", "role": None, "play": "p2",
                                   "phase": "node batches (batch 2/2)", "outcome": "failed",
                                   "msg": "node2 never became Ready", "at": "2025-11-25T23:00:50.000Z"}]
    assert report["timeline"]["node1"][1]["false_condition"] == "not at_target"
    assert report["versions"] == {"node1": {"kubelet": {"before": "v1.10.13", "after": "v1.14.10", "changed": True,
                                                        "at_target": True}}}
    assert report["skew"]["violations"][0]["rule"] == "apiserver-skip-minor"
    assert report["backup"] is None and report["apis"] is None and report["sections"] == {}
    json.dumps(report)  # JSON-safe


def test_build_report_rescued_host_is_not_failed():
    report = ur.build_report(run_events(status_hosts={"node2": {"failures": 0, "rescued": 1}}))
    assert report["run"]["status"] == "ok"
    assert report["failures"] == []
    assert not any(s["fatal"] for s in report["timeline"]["node2"])


def test_build_report_interrupted_run_and_unknown_sections():
    events = run_events(with_stats=False)
    events.insert(3, ev("section", 4, host="localhost", name="drain_log", data=[{"node": "node1"}]))
    report = ur.build_report(events)
    assert report["run"]["status"] == "interrupted"
    assert report["sections"] == {"drain_log": {"localhost": [{"node": "node1"}]}}
    assert report["failures"][0]["task"] == "Wait for Ready"


def test_later_section_of_a_host_replaces_earlier():
    events = [ev("run_start", 0), ev("section", 1, host="etcd1", name="backup", data={"sha256": "a"}),
              ev("section", 2, host="etcd1", name="backup", data={"sha256": "b"}), ev("stats", 3, hosts={})]
    assert ur.build_report(events)["backup"] == {"sha256": "b"}


def test_a_by_host_section_is_spread_over_its_hosts():
    forecast = {"containers": [], "restart_total": 2}
    events = [ev("run_start", 0), ev("section", 1, host="node1", name="forecast", data=forecast),
              ev("section", 1, host="node2", name="forecast", data=forecast),
              # one run_once step of the batch, recorded on its first host, for both
              ev("section", 2, host="node1", name="restarts_by_host",
                 data={"node1": {"restarted": 2, "containers": ["a", "b"]}, "node2": {"restarted": 1}}),
              ev("stats", 3, hosts={})]
    restarts = ur.build_report(events)["restarts"]
    assert restarts["node1"]["actual"] == 2 and restarts["node1"]["verdict"] == "as forecast"
    assert restarts["node2"]["actual"] == 1 and restarts["node2"]["verdict"] != "as forecast"
    assert "restarts_by_host" not in ur.merge_sections(events)


@pytest.mark.parametrize("total, step", [(0.5, 0.1), (4, 0.5), (50, 5), (59, 10), (600, 60), (3000, 300), (40000, 7200)])
def test_tick_step(total, step):
    assert ur.tick_step(total) == step


@pytest.mark.parametrize("seconds, step, text", [(0, None, "0s"), (2.5, None, "2.5s"), (2.5, 1, "2s"), (2, 0.5, "2.0s"),
                                                 (59.4, None, "59.4s"), (65, None, "1:05"), (3725, None, "1:02:05")])
def test_clock(seconds, step, text):
    assert ur.clock(seconds, step) == text


def test_gantt_geometry_bar_widths():
    report = ur.build_report(run_events())
    geo = ur.gantt_geometry(report, width=1016, label_width=200, min_bar=2.0)
    # the plot is 1016 - 200 - 16 = 800 px for 50 s: 16 px per second
    assert geo["scale"] == pytest.approx(16.0)
    assert [r["host"] for r in geo["rows"]] == ["localhost", "node1", "node2"]
    ys = [r["y"] for r in geo["rows"]]
    assert ys == sorted(ys) and len(set(ys)) == 3
    bars = [(b["x"], b["w"], b["outcome"], b["fatal"]) for b in geo["rows"][2]["bars"]]
    assert bars == [(200 + 320.0, 160.0, "changed", False), (200 + 480.0, 16.0, "ignored", False), (200 + 496.0, 304.0, "failed", True)]
    skipped = geo["rows"][1]["bars"][1]
    assert (skipped["w"], skipped["outcome"]) == (2.0, "skipped")  # 0.1 s would be 1.6 px: the minimum width shows it
    assert [(b["x"], b["w"]) for b in geo["bands"]] == [(200.0, 64.0), (280.0, 161.6), (520.0, 480.0)]
    assert [t["label"] for t in geo["ticks"]] == ["0s", "5s", "10s", "15s", "20s", "25s", "30s", "35s", "40s", "45s", "50s"]


def _svg(html):
    found = re.findall(r"<svg.*?</svg>", html, re.S)
    assert len(found) == 1
    return found[0]


def test_html_one_row_per_host_and_bars():
    report = ur.build_report(run_events())
    html = ur.render_html(report)
    svg = _svg(html)
    assert re.findall(r'<g class="row" data-host="([^"]+)"', svg) == ["localhost", "node1", "node2"]
    assert len(re.findall(r"<rect class=\"bar ", svg)) == 6
    assert len(re.findall(r"<rect class=\"bar failed fatal\"", svg)) == 1
    assert 'width="304.0"' not in svg  # default width: 1100 - 180 - 16 = 904 px for 50 s
    assert re.search(r'<rect class="bar failed fatal" x="[\d.]+" y="[\d.]+" width="343.52"', svg)
    assert "node batches (batch 2/2)" in svg
    assert "node2 never became Ready" in html
    assert 'class="status status-failed"' in html


def test_html_is_self_contained():
    html = ur.render_html(ur.build_report(run_events()))
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html


HOSTILE = '<script>alert("x")</script>&"\'</svg>'


def test_html_escapes_hostile_names():
    events = [
        ev("run_start", 0, playbook=HOSTILE, run_id=HOSTILE),
        ev("play_start", 0, name=HOSTILE, phase=None),
        step(HOSTILE, HOSTILE, 0, 1, "failed", 0, msg=HOSTILE, role=HOSTILE),
        ev("section", 1, host=HOSTILE, name=HOSTILE, data={HOSTILE: [{HOSTILE: HOSTILE}]}),
        ev("section", 1, host=HOSTILE, name="skew", data={"violations": [{"rule": HOSTILE, "message": HOSTILE}], "plan": HOSTILE}),
        ev("section", 1, host=HOSTILE, name="apis", data={"findings": [{"kind": HOSTILE, "name": HOSTILE}]}),
        ev("section", 1, host=HOSTILE, name="versions_before", data={HOSTILE: HOSTILE}),
        ev("stats", 1, hosts={HOSTILE: {"failures": 1}}),
    ]
    html = ur.render_html(ur.build_report(events))
    assert "<script" not in html
    assert "</svg>&" not in html
    assert html.count("</svg>") == 1
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&quot;&#x27;&lt;/svg&gt;" in html
    svg = _svg(html)
    assert len(re.findall(r'<g class="row"', svg)) == 1


def test_skipped_steps_after_a_done_mark_are_done():
    events = [
        ev("run_start", 0),
        ev("play_start", 0, name="Nodes"),
        step("node1", "Read versions", 0, 1, "ok", 0),
        step("node1", "Skipped before the mark", 1, 2, "skipped", 0),
        ev("section", 2, host="node1", name="done", play_index=0, data="kubelet, kube-proxy already at 1.14.10"),
        step("node1", "Stage", 2, 3, "skipped", 0),
        step("node2", "Stage", 2, 3, "skipped", 0),
        step("node1", "Probe", 3, 4, "ok", 0),
        ev("play_start", 4, name="Controller-managers"),
        step("node1", "Other play", 4, 5, "skipped", 1),
        ev("stats", 5, hosts={"node1": {}, "node2": {}}),
    ]
    report = ur.build_report(events)
    assert [(s["task"], s["outcome"]) for s in report["timeline"]["node1"]] == [
        ("Read versions", "ok"), ("Skipped before the mark", "skipped"), ("Stage", "done"), ("Probe", "ok"),
        ("Other play", "skipped")]
    assert [s["outcome"] for s in report["timeline"]["node2"]] == ["skipped"]
    assert report["done"] == {"node1": "kubelet, kube-proxy already at 1.14.10"}
    html = ur.render_html(report)
    assert len(re.findall(r'<rect class="bar done"', html)) == 1
    assert "skipped: already done" in html and "Hosts found already done" in html


def test_ticks_of_a_long_run_are_minutes():
    events = [ev("run_start", 0), ev("play_start", 0, name="p"), step("h", "t", 0, 170, "ok", 0), ev("stats", 170, hosts={})]
    geo = ur.gantt_geometry(ur.build_report(events))
    assert [t["label"] for t in geo["ticks"]] == ["0:00", "0:30", "1:00", "1:30", "2:00", "2:30"]
