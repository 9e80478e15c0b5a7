"""Pure parts of the emulated controller-manager, scheduler and leader election."""

import time

import pytest

from lab.emulator import client as api
from lab.emulator import controller_manager as cm
from lab.emulator import leader, scheduler


def test_safe_encode_like_apimachinery():
    # rand.SafeEncodeString maps every character through the 27 "safe" alphanumerics.
    assert cm.safe_encode("0123") == "".join(cm.ALPHANUMS[ord(c) % 27] for c in "0123")
    assert set(cm.template_hash({"a": 1})) <= set(cm.ALPHANUMS)


def test_template_hash_stable_and_collision_count():
    tpl = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    assert cm.template_hash(tpl) == cm.template_hash(dict(tpl))
    assert cm.template_hash(tpl, 1) != cm.template_hash(tpl)


@pytest.mark.parametrize("minor, added", [
    (12, []),
    (13, ["enableServiceLinks"]),
    (15, ["enableServiceLinks"]),
    (16, ["enableServiceLinks", "topologySpreadConstraints"]),
    (19, ["enableServiceLinks", "topologySpreadConstraints", "preemptionPolicy"]),
])
def test_incident_defaults_per_minor(minor, added):
    tpl = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    out = cm.apply_incident_defaults(tpl, minor)
    assert [k for k in out["spec"] if k != "containers"] == added
    assert (out["metadata"].get("annotations") or {}).get(cm.DEFAULTED_ANNOTATION, "") == ",".join(added)
    assert "annotations" not in tpl["metadata"]  # input untouched


def test_newer_controller_manager_rerolls_only_across_an_incident_minor():
    tpl = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    h = {m: cm.template_hash(cm.apply_incident_defaults(tpl, m)) for m in (14, 15, 16, 17)}
    assert h[14] == h[15] and h[15] != h[16] and h[16] == h[17]


@pytest.mark.parametrize("desired, new, old, surge, unavail, expected", [
    (4, 0, 4, None, None, 1),     # 25% surge of 4 = 1
    (4, 1, 4, None, None, 1),     # at desired + surge already
    (4, 1, 3, None, None, 2),
    (10, 0, 10, "50%", 0, 5),
    (3, 0, 3, 0, 1, 0),
    (2, 2, 0, None, None, 2),
])
def test_scale_up_new(desired, new, old, surge, unavail, expected):
    assert cm.scale_up_new(desired, new, old, surge, unavail) == expected


def test_scale_down_old_keeps_min_available():
    # desired 4, maxUnavailable 25% -> 3 must stay available.
    assert cm.scale_down_old(4, 0, [("old", 4, 4)], None) == {"old": 3}
    assert cm.scale_down_old(4, 1, [("old", 3, 3)], None) == {"old": 2}
    # unhealthy old replicas go first, without spending availability
    assert cm.scale_down_old(4, 0, [("old", 4, 2)], None) == {"old": 2}
    assert cm.scale_down_old(4, 4, [("old", 1, 1)], None) == {"old": 0}


def test_heartbeat_age_uses_newest_of_status_and_lease():
    now = time.time()
    old = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 100))
    node = {"status": {"conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": old}]}}
    assert cm.heartbeat_age(node, None, now) == pytest.approx(100, abs=1.5)
    lease = {"spec": {"renewTime": api.now_micro()}}
    assert cm.heartbeat_age(node, lease, now) < 2
    assert cm.heartbeat_age({}, None, now) is None


@pytest.mark.parametrize("text, seconds", [("40s", 40), ("1m", 60), ("500ms", 0.5), ("1m30s", 90), ("", 7)])
def test_parse_duration(text, seconds):
    from lab.emulator import health
    assert health.parse_duration(text, 7) == seconds


def _node(name, ready=True, unschedulable=False, taints=None, labels=None):
    return {"metadata": {"name": name, "labels": labels or {}},
            "spec": {"unschedulable": unschedulable, "taints": taints or []},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def test_scheduler_feasibility():
    pod = {"spec": {"containers": [{"name": "c"}]}}
    assert scheduler.feasible(pod, _node("a"))
    assert not scheduler.feasible(pod, _node("a", ready=False))
    assert not scheduler.feasible(pod, _node("a", unschedulable=True))
    assert not scheduler.feasible(pod, _node("a", taints=[{"key": "k", "effect": "NoSchedule"}]))
    tolerant = {"spec": {"tolerations": [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
                                          "effect": "NoSchedule"}]}}
    assert scheduler.feasible(tolerant, _node("a", unschedulable=True))
    daemon = {"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["b"]}]}]}}}}}
    assert not scheduler.feasible(daemon, _node("a")) and scheduler.feasible(daemon, _node("b"))
    selector = {"spec": {"nodeSelector": {"disk": "ssd"}}}
    assert scheduler.feasible(selector, _node("a", labels={"disk": "ssd"}))
    assert not scheduler.feasible(selector, _node("a"))


def test_needs_scheduling():
    assert scheduler.needs_scheduling({"metadata": {}, "spec": {}, "status": {"phase": "Pending"}})
    assert not scheduler.needs_scheduling({"metadata": {}, "spec": {"nodeName": "a"}})
    assert not scheduler.needs_scheduling({"metadata": {}, "spec": {"schedulerName": "other"}})


@pytest.mark.parametrize("minor, kinds", [(15, ["endpoints"]), (20, ["endpoints", "lease"]), (24, ["lease"])])
def test_leader_lock_kinds(minor, kinds):
    assert leader.lock_kinds(minor) == kinds
