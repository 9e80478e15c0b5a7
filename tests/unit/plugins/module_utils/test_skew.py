import pytest

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import skew
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.release_data import skew_policy
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.versions import parse_version

SEED_ACCEPT = ["apiserver-skip-minor", "apiserver-ha-skew", "kubelet-too-old", "kube-proxy-skew",
               "control-plane-too-old", "kubectl-skew"]


def cluster(cp, node, masters=3, nodes=2, kubectl=True, proxy=None):
    """Components of a cluster: masters m1.. with apiserver, controller-manager, scheduler (and kubectl),
    nodes n1.. with kubelet and kube-proxy."""
    comps = []
    for i in range(1, masters + 1):
        host = "m%d" % i
        for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
            comps.append(dict(component=component, host=host, version=cp))
        if kubectl:
            comps.append(dict(component="kubectl", host=host, version=cp))
        comps.append(dict(component="etcd", host=host, version="3.4.23"))
    for i in range(1, nodes + 1):
        comps.append(dict(component="kubelet", host="n%d" % i, version=node))
        comps.append(dict(component="kube-proxy", host="n%d" % i, version=proxy or node))
    return comps


def rules(violations):
    return sorted(set(v["rule"] for v in violations))


# ------------------------------------------------------------------------------------------------
# The rules on one state: (components as "component@host=version", control_plane_apiserver, rule ids)

STATE_CASES = [
    ("apiservers 1 apart", ["kube-apiserver@a=1.30.0", "kube-apiserver@b=1.29.3"], "local", []),
    ("apiservers 2 apart", ["kube-apiserver@a=1.30.0", "kube-apiserver@b=1.28.3"], "local", ["apiserver-ha-skew"]),
    ("kubelet equal", ["kube-apiserver@a=1.30.0", "kubelet@n=1.30.0"], "local", []),
    ("kubelet newer minor", ["kube-apiserver@a=1.30.0", "kubelet@n=1.31.0"], "local", ["kubelet-newer-than-apiserver"]),
    ("kubelet newer patch only", ["kube-apiserver@a=1.30.0", "kubelet@n=1.30.9"], "local", []),
    ("kubelet newer than the older HA apiserver",
     ["kube-apiserver@a=1.30.0", "kube-apiserver@b=1.29.0", "kubelet@n=1.30.0"], "local",
     ["kubelet-newer-than-apiserver"]),
    ("kubelet 1.27 vs 1.30 (3 since 1.25)", ["kube-apiserver@a=1.30.0", "kubelet@n=1.27.0"], "local", []),
    ("kubelet 1.26 vs 1.30", ["kube-apiserver@a=1.30.0", "kubelet@n=1.26.0"], "local", ["kubelet-too-old"]),
    ("kubelet 1.25 vs 1.28", ["kube-apiserver@a=1.28.0", "kubelet@n=1.25.0"], "local", []),
    ("kubelet 1.24 vs 1.27 (2 before 1.25)", ["kube-apiserver@a=1.27.0", "kubelet@n=1.24.0"], "local",
     ["kubelet-too-old"]),
    ("kubelet 1.24 vs 1.26", ["kube-apiserver@a=1.26.0", "kubelet@n=1.24.0"], "local", []),
    ("kubelet 1.10 vs 1.12", ["kube-apiserver@a=1.12.0", "kubelet@n=1.10.13"], "local", []),
    ("kubelet 1.10 vs 1.13", ["kube-apiserver@a=1.13.0", "kubelet@n=1.10.13"], "local", ["kubelet-too-old"]),
    ("kube-proxy newer than apiserver", ["kube-apiserver@a=1.30.0", "kubelet@n=1.30.0", "kube-proxy@n=1.31.0"],
     "local", ["kube-proxy-skew"]),
    ("kube-proxy 3 older (1.27)", ["kube-apiserver@a=1.30.0", "kubelet@n=1.30.0", "kube-proxy@n=1.27.0"],
     "local", []),
    ("kube-proxy 4 older", ["kube-apiserver@a=1.30.0", "kubelet@n=1.30.0", "kube-proxy@n=1.26.0"],
     "local", ["kube-proxy-skew"]),
    ("kube-proxy 1.22 beside kubelet 1.24", ["kube-apiserver@a=1.24.0", "kubelet@n=1.24.0", "kube-proxy@n=1.22.0"],
     "local", []),
    ("kube-proxy 1.21 beside kubelet 1.24", ["kube-apiserver@a=1.24.0", "kubelet@n=1.24.0", "kube-proxy@n=1.21.0"],
     "local", ["kube-proxy-skew"]),
    ("kube-proxy 3 newer than its kubelet", ["kube-apiserver@a=1.29.0", "kubelet@n=1.26.0", "kube-proxy@n=1.29.0"],
     "local", []),
    ("kube-proxy 4 newer than its kubelet", ["kube-apiserver@a=1.30.0", "kubelet@n=1.26.0", "kube-proxy@n=1.30.0"],
     "local", ["kube-proxy-skew", "kubelet-too-old"]),
    ("kube-proxy without kubelet", ["kube-apiserver@a=1.30.0", "kube-proxy@n=1.30.0"], "local", []),
    ("scheduler 1 older", ["kube-apiserver@a=1.30.0", "kube-scheduler@a=1.29.0"], "local", []),
    ("scheduler 2 older", ["kube-apiserver@a=1.30.0", "kube-scheduler@a=1.28.0"], "local", ["control-plane-too-old"]),
    ("scheduler newer", ["kube-apiserver@a=1.30.0", "kube-scheduler@a=1.31.0"], "local",
     ["control-plane-newer-than-apiserver"]),
    ("controller-manager 2 older", ["kube-apiserver@a=1.30.0", "kube-controller-manager@a=1.28.0"], "local",
     ["control-plane-too-old"]),
    ("controller-manager newer", ["kube-apiserver@a=1.30.0", "kube-controller-manager@a=1.31.0"], "local",
     ["control-plane-newer-than-apiserver"]),
    ("scheduler talks to its local apiserver",
     ["kube-apiserver@a=1.30.0", "kube-apiserver@b=1.29.0", "kube-scheduler@a=1.30.0"], "local", []),
    ("scheduler talks to every apiserver",
     ["kube-apiserver@a=1.30.0", "kube-apiserver@b=1.29.0", "kube-scheduler@a=1.30.0"], "all",
     ["control-plane-newer-than-apiserver"]),
    ("scheduler on a host without apiserver",
     ["kube-apiserver@a=1.30.0", "kube-apiserver@b=1.29.0", "kube-scheduler@c=1.30.0"], "local",
     ["control-plane-newer-than-apiserver"]),
    ("kubectl 1 newer", ["kube-apiserver@a=1.30.0", "kubectl@w=1.31.0"], "local", []),
    ("kubectl 2 newer", ["kube-apiserver@a=1.30.0", "kubectl@w=1.32.0"], "local", ["kubectl-skew"]),
    ("kubectl 2 older", ["kube-apiserver@a=1.30.0", "kubectl@w=1.28.0"], "local", ["kubectl-skew"]),
    ("etcd has no rule", ["kube-apiserver@a=1.30.0", "etcd@a=3.5.12"], "local", []),
]


def state_of(specs):
    state = dict((component, {}) for component in skew_policy.COMPONENTS)
    for spec in specs:
        left, version = spec.split("=")
        component, host = left.split("@")
        state[component][host] = version if component == "etcd" else parse_version(version)
    state["_nodes"] = list(dict.fromkeys(list(state["kubelet"]) + list(state["kube-proxy"])))
    return state


@pytest.mark.parametrize("title, specs, talks_to, expected", STATE_CASES, ids=[c[0] for c in STATE_CASES])
def test_rules_on_one_state(title, specs, talks_to, expected):
    recorder = skew.Recorder()
    skew.check_state(state_of(specs), "preflight", recorder, talks_to)
    assert rules(recorder.ordered) == sorted(expected)
    for violation in recorder.ordered:
        assert violation["phase"] == "preflight" and violation["message"]


def test_rule_ids_are_those_of_the_issue():
    assert set(skew_policy.RULE_IDS) == {
        "apiserver-skip-minor", "apiserver-ha-skew", "kubelet-newer-than-apiserver", "kubelet-too-old",
        "kube-proxy-skew", "control-plane-newer-than-apiserver", "control-plane-too-old", "kubectl-skew",
        "downgrade", "kubelet-inplace-minor"}


# ------------------------------------------------------------------------------------------------
# The seed story (issue 2)


def test_seed_jump_fails_with_apiserver_skip_minor():
    result = skew.plan_upgrade(cluster("1.10.13", "1.10.13"), "1.14.10")
    assert "apiserver-skip-minor" in rules(result["failed"])
    skips = [v for v in result["violations"] if v["rule"] == "apiserver-skip-minor"]
    assert [v["host"] for v in skips] == ["m1", "m2", "m3"]
    assert skips[0]["phase"] == "apiserver m1"
    assert "skips 1.11, 1.12, 1.13" in skips[0]["message"]
    assert result["hops"] == ["1.11", "1.12", "1.13", "1.14"]


def test_seed_jump_accepted_still_reports_kubelets_four_minors_behind():
    result = skew.plan_upgrade(cluster("1.10.13", "1.10.13"), "1.14.10", accept=["apiserver-skip-minor"])
    assert "apiserver-skip-minor" not in rules(result["failed"])
    assert all(v["accepted"] for v in result["violations"] if v["rule"] == "apiserver-skip-minor")
    behind = [v for v in result["failed"] if v["rule"] == "kubelet-too-old"]
    assert sorted(v["host"] for v in behind) == ["n1", "n2"]
    assert behind[0]["version"] == "1.10.13" and behind[0]["against"]["version"] == "1.14.10"
    assert "4 minors older" in behind[0]["message"]
    # from the first upgraded apiserver until the nodes' own phase: the whole window
    assert behind[0]["phases"] == ["apiserver m1", "apiserver m2", "apiserver m3", "addons", "kubelets"]
    # and the HA window of mixed apiservers
    assert "apiserver-ha-skew" in rules(result["failed"])


def test_seed_jump_everything_accepted_passes_with_all_marked():
    result = skew.plan_upgrade(cluster("1.10.13", "1.10.13"), "1.14.10", accept=SEED_ACCEPT)
    assert result["failed"] == []
    assert result["violations"] and all(v["accepted"] for v in result["violations"])


@pytest.mark.parametrize("kubelet, expected", [("1.27.16", []), ("1.26.15", ["kube-proxy-skew", "kubelet-too-old"])])
def test_1_29_to_1_30_with_old_kubelets(kubelet, expected):
    result = skew.plan_upgrade(cluster("1.29.4", kubelet), "1.30.0")
    assert rules(result["failed"]) == expected
    assert result["hops"] == ["1.30"]


# ------------------------------------------------------------------------------------------------
# Transition rules: (cluster, target, options, expected rule ids)

TRANSITION_CASES = [
    ("one minor", cluster("1.29.4", "1.29.4"), "1.30.0", {}, []),
    ("two minors", cluster("1.28.4", "1.28.4"), "1.30.0", {}, ["apiserver-skip-minor", "apiserver-ha-skew",
                                                               "control-plane-too-old", "kubectl-skew"]),
    ("two minors, max_minor_jump 2, single apiserver, no kubectl", cluster("1.28.4", "1.28.4", masters=1, kubectl=False),
     "1.30.0", {"max_minor_jump": 2}, ["control-plane-too-old"]),
    ("patch only", cluster("1.30.1", "1.30.1"), "1.30.5", {}, []),
    ("kubelet newer than the target", cluster("1.30.1", "1.30.7"), "1.30.5", {}, ["downgrade"]),
    ("in place, never", cluster("1.29.4", "1.29.4"), "1.30.0", {"node_drain": "never"}, ["kubelet-inplace-minor"]),
    ("in place, auto", cluster("1.29.4", "1.29.4"), "1.30.0", {"node_drain": "auto"}, []),
    ("in place, always", cluster("1.29.4", "1.29.4"), "1.30.0", {"node_drain": "always"}, []),
    ("in place patch, never", cluster("1.30.1", "1.30.1"), "1.30.5", {"node_drain": "never"}, []),
    ("stepwise", cluster("1.10.13", "1.10.13"), "1.14.10", {"stepwise": True}, []),
]


@pytest.mark.parametrize("title, comps, target, options, expected", TRANSITION_CASES,
                         ids=[c[0] for c in TRANSITION_CASES])
def test_transition_rules(title, comps, target, options, expected):
    assert rules(skew.plan_upgrade(comps, target, **options)["failed"]) == sorted(expected)


def test_inplace_minor_can_be_accepted_explicitly():
    result = skew.plan_upgrade(cluster("1.29.4", "1.29.4"), "1.30.0", node_drain="never",
                               accept=["kubelet-inplace-minor"])
    assert result["failed"] == []
    inplace = [v for v in result["violations"] if v["rule"] == "kubelet-inplace-minor"]
    assert [(v["host"], v["version"], v["against"]["version"], v["phase"], v["accepted"]) for v in inplace] == [
        ("n1", "1.29.4", "1.30.0", "kubelets", True), ("n2", "1.29.4", "1.30.0", "kubelets", True)]


# ------------------------------------------------------------------------------------------------
# The plan


def phase(result, name):
    return [p for p in result["plan"] if p["name"] == name][0]


def test_plan_follows_the_play_order_with_versions_after_each_phase():
    result = skew.plan_upgrade(cluster("1.10.13", "1.10.13"), "1.14.10", accept=SEED_ACCEPT)
    assert [p["name"] for p in result["plan"]] == [
        "preflight", "stop-controller-managers", "apiserver m1", "apiserver m2", "apiserver m3", "addons",
        "kubelets", "start-controller-managers"]
    assert phase(result, "preflight")["versions"]["kube-apiserver"] == {"1.10.13": ["m1", "m2", "m3"]}
    assert phase(result, "stop-controller-managers")["versions"]["kube-controller-manager"] == {
        "stopped": ["m1", "m2", "m3"]}
    after_m1 = phase(result, "apiserver m1")["versions"]
    assert after_m1["kube-apiserver"] == {"1.14.10": ["m1"], "1.10.13": ["m2", "m3"]}
    assert after_m1["kube-scheduler"] == {"1.14.10": ["m1"], "1.10.13": ["m2", "m3"]}
    assert after_m1["kubelet"] == {"1.10.13": ["n1", "n2"]}
    assert after_m1["etcd"] == {"3.4.23": ["m1", "m2", "m3"]}
    kubelets = phase(result, "kubelets")
    assert kubelets["during"] == {"kubelet": ["1.10.13", "1.14.10"], "kube-proxy": ["1.10.13", "1.14.10"]}
    assert kubelets["versions"]["kubelet"] == {"1.14.10": ["n1", "n2"]}
    assert kubelets["versions"]["kube-controller-manager"] == {"stopped": ["m1", "m2", "m3"]}
    last = result["plan"][-1]["versions"]
    assert last["kube-controller-manager"] == {"1.14.10": ["m1", "m2", "m3"]}
    assert all(list(v) == ["1.14.10"] for c, v in last.items() if c != "etcd")


def test_kubelet_restarts_before_kube_proxy_is_a_checked_state():
    # kubelet 1.14 beside kube-proxy 1.10 only exists inside the kubelets phase
    result = skew.plan_upgrade(cluster("1.10.13", "1.10.13"), "1.14.10", accept=SEED_ACCEPT)
    beside = [v for v in result["violations"] if v["rule"] == "kube-proxy-skew" and v["against"]["component"] == "kubelet"]
    assert [(v["host"], v["phases"]) for v in beside] == [("n1", ["kubelets"]), ("n2", ["kubelets"])]


def test_new_apiserver_beside_old_scheduler_is_a_checked_state():
    result = skew.plan_upgrade(cluster("1.10.13", "1.10.13"), "1.14.10", accept=SEED_ACCEPT)
    old_scheduler = [v for v in result["violations"] if v["rule"] == "control-plane-too-old"]
    assert [(v["host"], v["phases"]) for v in old_scheduler] == [
        ("m1", ["apiserver m1"]), ("m2", ["apiserver m2"]), ("m3", ["apiserver m3"])]


def test_stepwise_rounds():
    result = skew.plan_upgrade(cluster("1.10.13", "1.10.13"), "1.14.10", stepwise=True, max_minor_jump=2)
    # max_minor_jump 2 only relaxes apiserver-skip-minor: two-minor steps still break the other rules
    assert rules(result["violations"]) == ["apiserver-ha-skew", "control-plane-too-old", "kubectl-skew"]
    assert [p["hop"] for p in result["plan"] if p["kind"] == "apiserver" and p["name"].endswith("m1")] == [
        "1.12", "1.14.10"]
    # kubelets 1.10 may stay 2 minors behind: not upgraded for 1.12, upgraded to 1.12 before 1.14 would leave them 4 behind
    assert phase(result, "1.12/kubelets")["versions"]["kubelet"] == {"1.12": ["n1", "n2"]}
    assert result["plan"][-1]["name"] == "1.14.10/start-controller-managers"


def test_stepwise_leaves_components_already_past_an_intermediate_step():
    comps = cluster("1.10.13", "1.10.13", masters=1) + [dict(component="kubectl", host="ws", version="1.11.3")]
    result = skew.plan_upgrade(comps, "1.12.10", stepwise=True)
    assert phase(result, "1.11/addons")["hosts"] == []
    assert phase(result, "1.12.10/addons")["hosts"] == ["ws"]


def test_schedulers_and_clients_elsewhere():
    comps = cluster("1.29.4", "1.29.4", masters=1) + [
        dict(component="kube-scheduler", host="s1", version="1.29.4"),
        dict(component="kubectl", host="ws", version="1.29.4"),
    ]
    result = skew.plan_upgrade(comps, "1.30.2")
    assert [p["name"] for p in result["plan"]] == [
        "preflight", "stop-controller-managers", "apiserver m1", "schedulers", "addons", "kubelets",
        "start-controller-managers"]
    assert phase(result, "schedulers")["hosts"] == ["s1"]
    assert phase(result, "addons")["hosts"] == ["ws"]


def test_nothing_to_do():
    result = skew.plan_upgrade(cluster("1.30.5", "1.30.5"), "1.30.5")
    assert [p["name"] for p in result["plan"]] == ["preflight"]
    assert result["violations"] == [] and result["hops"] == []


def test_apiserver_order_is_the_input_order():
    comps = [dict(component="kube-apiserver", host=h, version="1.29.1") for h in ("zeta", "alpha")]
    result = skew.plan_upgrade(comps, "1.30.0")
    assert [p["name"] for p in result["plan"] if p["kind"] == "apiserver"] == ["apiserver zeta", "apiserver alpha"]


# ------------------------------------------------------------------------------------------------
# Bad input: (components, target, options, message)

GOOD = cluster("1.29.4", "1.29.4", masters=1, nodes=1)
BAD_INPUT = [
    (GOOD, "1.x", {}, "target_version '1.x' is not valid; expected a Kubernetes version such as"),
    (GOOD, "1.99.0", {}, "target_version 1.99.0 is not a Kubernetes release this collection knows"),
    (GOOD, "1.30", {}, "target_version '1.30' has no patch release; expected a full release such as 1.30.0"),
    ([], "1.30.0", {}, "components is empty; expected a list of {component, host, version}"),
    (GOOD + [dict(component="kubelett", host="n9", version="1.29.4")], "1.30.0", {},
     "components[7].component 'kubelett' is not a component this module knows; expected one of kube-apiserver"),
    (GOOD + [dict(component="kubelet", host="n9", version="banana")], "1.30.0", {},
     "components[7].version (kubelet on n9) 'banana' is not valid; expected a Kubernetes version"),
    (GOOD + [dict(component="kubelet", host="n9", version="2.1.0")], "1.30.0", {},
     "components[7].version (kubelet on n9) '2.1.0' is not a Kubernetes 1.x version"),
    (GOOD + [dict(component="kubelet", host="n1", version="1.29.4")], "1.30.0", {},
     "components[7]: kubelet on n1 is listed twice"),
    (GOOD + [dict(component="kubelet", host="", version="1.29.4")], "1.30.0", {}, "components[7].host '' is not valid"),
    (GOOD, "1.28.9", {}, "target_version 1.28.9 is older than the cluster (every kube-apiserver is newer; the oldest "
                         "is 1.29.4 on m1); expected a target_version of at least 1.29.4: this module plans upgrades, not "
                         "downgrades (to go back to the release a host ran before an upgrade, use playbooks/rollback.yml)"),
    ([dict(component="kubelet", host="n1", version="1.29.4")], "1.30.0", {}, "components lists no kube-apiserver"),
    (GOOD, "1.30.0", {"accept": ["kubelet-too-young"]}, "accept lists unknown rule id(s) kubelet-too-young"),
    (GOOD, "1.30.0", {"max_minor_jump": 0}, "max_minor_jump 0 is not valid; expected a whole number >= 1"),
    (GOOD, "1.30.0", {"node_drain": "sometimes"}, "node_drain 'sometimes' is not valid"),
    (GOOD + [dict(component="etcd", host="e1", version="")], "1.30.0", {}, "expected the etcd version"),
    (GOOD + ["kubelet"], "1.30.0", {}, "components[7] is 'kubelet'; expected a dict"),
]


@pytest.mark.parametrize("comps, target, options, message", BAD_INPUT)
def test_bad_input(comps, target, options, message):
    with pytest.raises(skew.SkewInputError) as err:
        skew.plan_upgrade(comps, target, **options)
    assert message in str(err.value)


# ------------------------------------------------------------------------------------------------
# Gathered from the cluster


def node(name, kubelet, proxy):
    return {"metadata": {"name": name}, "status": {"nodeInfo": {"kubeletVersion": kubelet, "kubeProxyVersion": proxy}}}


def test_components_from_cluster():
    comps, notes = skew.components_from_cluster(
        [("https://10.0.0.1:6443", {"gitVersion": "v1.29.4"}), ("https://10.0.0.2:6443/", {"gitVersion": "v1.29.3"})],
        [node("n1", "v1.29.4", "v1.29.4"), node("n2", "v1.31.0", "")],
    )
    assert comps == [
        {"component": "kube-apiserver", "host": "10.0.0.1", "version": "v1.29.4"},
        {"component": "kube-apiserver", "host": "10.0.0.2", "version": "v1.29.3"},
        {"component": "kubelet", "host": "n1", "version": "v1.29.4"},
        {"component": "kube-proxy", "host": "n1", "version": "v1.29.4"},
        {"component": "kubelet", "host": "n2", "version": "v1.31.0"},
    ]
    assert notes == ["1 node reports no status.nodeInfo.kubeProxyVersion (deprecated, KEP-4004: kubelets may leave "
                     "it empty), e.g. n2: pass kube-proxy in components (component_facts) to have it checked"]


def test_components_from_cluster_same_host_two_ports():
    comps, _notes = skew.components_from_cluster(
        [("https://lb:6443", {"gitVersion": "v1.29.4"}), ("https://lb:6444", {"gitVersion": "v1.29.4"})], [])
    assert [c["host"] for c in comps] == ["lb:6443", "lb:6444"]


def test_components_from_cluster_without_git_version():
    with pytest.raises(skew.SkewInputError, match="https://x:6443/version answered .* without gitVersion"):
        skew.components_from_cluster([("https://x:6443", {"kind": "Status"})], [])


def test_summarize_groups_hosts():
    result = skew.plan_upgrade(cluster("1.10.13", "1.10.13", nodes=50), "1.14.10")
    lines = skew.summarize(result["failed"])
    assert any(line.startswith("kubelet-too-old in phase apiserver m1: kubelet 1.10.13 on n1 is 4 minors older")
               and line.endswith("[50 hosts (n1 and 49 more)]") for line in lines)
    assert len(skew.summarize(result["failed"], limit=2)) == 3


def test_summarize_without_limit_lists_every_group():
    result = skew.plan_upgrade(cluster("1.10.13", "1.10.13"), "1.14.10")
    lines = skew.summarize(result["failed"], limit=None)
    assert len(lines) == len(set((v["rule"], v["component"], v["version"], v["against"]["component"],
                                  v["against"]["version"]) for v in result["failed"]))
    assert not any(line.startswith("...") for line in lines)


def test_rerun_resumes_where_a_failed_run_stopped():
    comps = cluster("1.10.13", "1.10.13")
    for comp in comps:
        if comp["host"] == "m1" and comp["component"] != "etcd":
            comp["version"] = "1.14.10"  # m1 was done before the run failed
    result = skew.plan_upgrade(comps, "1.14.10", accept=SEED_ACCEPT)
    assert [p["name"] for p in result["plan"]] == [
        "preflight", "stop-controller-managers", "apiserver m2", "apiserver m3", "addons", "kubelets",
        "start-controller-managers"]
    # the mixed apiservers are already a violation before anything is done
    assert [v["host"] for v in result["violations"] if v["rule"] == "apiserver-ha-skew" and v["phase"] == "preflight"] \
        == ["m2", "m3"]
    assert result["hops"] == ["1.11", "1.12", "1.13", "1.14"]


def test_stepwise_upgrades_nodes_only_when_the_next_step_needs_it():
    result = skew.plan_upgrade(cluster("1.10.13", "1.10.13"), "1.14.10", stepwise=True)
    assert result["violations"] == []
    kubelet_rounds = [(p["hop"], p["versions"]["kubelet"]) for p in result["plan"] if p["kind"] == "kubelets"]
    # kubelet < 1.25 may be 2 minors behind: 1.10 waits through 1.11, goes to 1.12 before 1.13 would be 3 ahead,
    # then to the target in the last round
    assert kubelet_rounds == [("1.12", {"1.12": ["n1", "n2"]}), ("1.14.10", {"1.14.10": ["n1", "n2"]})]
    # the control plane goes through every minor
    assert [p["hop"] for p in result["plan"] if p["name"].endswith("apiserver m1")] == [
        "1.11", "1.12", "1.13", "1.14.10"]


def test_stepwise_node_that_can_wait_since_1_25():
    comps = cluster("1.27.4", "1.26.9", masters=1)
    result = skew.plan_upgrade(comps, "1.30.2", stepwise=True)
    assert result["violations"] == []
    # 1.26 may be 3 behind: fine under 1.28, must move before 1.30 (4 ahead): upgraded in round 1.29
    assert [p["hop"] for p in result["plan"] if p["kind"] == "kubelets"] == ["1.29", "1.30.2"]


def test_benchmark_script_runs():
    """benchmarks/skew_plan.py itself (small and once: the timing figure is for the report, not a test)."""
    import os
    import subprocess
    import sys

    script = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "benchmarks", "skew_plan.py")
    proc = subprocess.run([sys.executable, script, "--nodes", "50", "--runs", "1"], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("median:") == 2 and "50 nodes + 3 control-plane hosts" in proc.stdout


@pytest.mark.parametrize("comps, target, options", [
    (cluster("1.10.13", "1.10.13"), "1.14.10", {}),
    (cluster("1.29.4", "1.26.15"), "1.30.0", {"node_drain": "never"}),
    (cluster("1.10.13", "1.10.13"), "1.14.10", {"stepwise": True, "max_minor_jump": 2}),
    (cluster("1.30.1", "1.30.7"), "1.30.5", {}),
])
def test_node_scan_reuse_changes_nothing(monkeypatch, comps, target, options):
    fast = skew.plan_upgrade(comps, target, **options)
    original = skew.check_state

    def without_reuse(state, *args, **kwargs):
        state = dict(state)
        state.pop("_nodes_rev", None)
        return original(state, *args, **kwargs)

    monkeypatch.setattr(skew, "check_state", without_reuse)
    assert skew.plan_upgrade(comps, target, **options) == fast
