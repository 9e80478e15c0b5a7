# -*- coding: utf-8 -*-
# Copyright: clusterops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Upgrade planning and version skew checks for the version_skew module.

Pure Python, no Ansible imports. `plan_upgrade` turns the components of a cluster and a target
version into the phases of the play order (DESIGN.md) and checks the skew policy
(release_data/skew_policy.py) in every state the cluster can be in during each phase:

- preflight: the cluster as it is.
- stop-controller-managers: every kube-controller-manager stopped (a stopped component has no skew).
- apiserver HOST, one host at a time (serial 1): kube-apiserver, then kube-scheduler, then kubectl
  on that host; the state after each restart is checked, so "new apiserver, old scheduler" is too.
- schedulers: kube-schedulers on hosts without an apiserver, one at a time.
- addons: kubectl on every other host (addon manifests are applied with it); addons themselves
  are not components of the policy.
- kubelets: the nodes in batches. There is no rule between two nodes, so every mix of upgraded
  and not yet upgraded nodes is covered by checking each node in its three possible states
  (old kubelet and kube-proxy; new kubelet, old kube-proxy; both new) against the apiservers.
- start-controller-managers: one host at a time, at the new version.

With `stepwise` the control plane goes through the minors in steps of at most `max_minor_jump`,
one round of the phases above per step (nodes only when the next step would leave them out of
skew, and in the last round); otherwise it goes straight to the target (one round).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from urllib.parse import urlparse

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.release_data import skew_policy as policy
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.versions import (
    Version,
    VersionError,
    minor_steps,
    parse_known_version,
    parse_version,
)

APISERVER = "kube-apiserver"
CONTROLLER_MANAGER = "kube-controller-manager"
SCHEDULER = "kube-scheduler"
KUBELET = "kubelet"
KUBE_PROXY = "kube-proxy"
KUBECTL = "kubectl"
ETCD = "etcd"

STOPPED = "stopped"
NODE_DRAIN_CHOICES = ("always", "auto", "never")
CONTROL_PLANE_APISERVER_CHOICES = ("local", "all")


class SkewInputError(ValueError):
    """Input the planner cannot work with; the message names the value and what is expected."""


def allowance(table, minor):
    """The value of a ((first minor, value), ...) policy table for a component at `minor`."""
    for first, value in table:
        if minor >= first:
            return value
    return table[-1][1]


def _version_key(text):
    # "stopped" sorts first; versions in version order.
    return (0, Version(0, 0)) if text == STOPPED else (1, parse_version(text))


def _plural(count, word):
    return "%d %s%s" % (count, word, "" if count == 1 else "s")


# ---------------------------------------------------------------------------------------------
# input


def parse_components(components):
    """Validate the `components` option; return [(component, host, Version or str)] in order.

    etcd's version is kept as given (the policy has no rule about it).
    """
    if not components:
        raise SkewInputError(
            "components is empty; expected a list of {component, host, version} with at least one "
            "kube-apiserver (or omit components to gather them from the cluster)"
        )
    parsed = []
    seen = set()
    interned = {}  # equal version strings share one Version object (see check_state)
    for index, item in enumerate(components):
        where = "components[%d]" % index
        if not isinstance(item, dict):
            raise SkewInputError("%s is %r; expected a dict with component, host and version" % (where, item))
        component = item.get("component")
        host = item.get("host")
        version = item.get("version")
        if component not in policy.COMPONENTS:
            raise SkewInputError(
                "%s.component %r is not a component this module knows; expected one of %s"
                % (where, component, ", ".join(policy.COMPONENTS))
            )
        if not host or not isinstance(host, str):
            raise SkewInputError("%s.host %r is not valid; expected the inventory name of the host running %s"
                                 % (where, host, component))
        if (component, host) in seen:
            raise SkewInputError(
                "%s: %s on %s is listed twice; expected one entry per component and host" % (where, component, host)
            )
        seen.add((component, host))
        what = "%s.version (%s on %s)" % (where, component, host)
        if component == ETCD:
            if version is None or not str(version).strip():
                raise SkewInputError("%s is empty; expected the etcd version, e.g. 3.4.23" % what)
            parsed.append((component, host, str(version).strip()))
            continue
        parsed_version = interned.get(version)
        if parsed_version is None:
            try:
                parsed_version = interned[version] = parse_version(version, what)
            except VersionError as exc:
                raise SkewInputError(str(exc))
        if parsed_version.major != 1:
            raise SkewInputError("%s %r is not a Kubernetes 1.x version; expected e.g. 1.14.10" % (what, version))
        parsed.append((component, host, parsed_version))
    if not any(component == APISERVER for component, _host, _version in parsed):
        raise SkewInputError(
            "components lists no kube-apiserver; expected at least one (the plan is built around the apiservers)"
        )
    return parsed


def components_from_cluster(versions, nodes):
    """Components from what the API says: [(endpoint URL, /version document)] and Node objects.

    Returns (components, notes). Each apiserver's host is the host part of its endpoint URL
    (host:port when two endpoints share a host); kubelet and kube-proxy hosts are node names.
    """
    components = []
    notes = []
    hostnames = [urlparse(endpoint).hostname or endpoint for endpoint, _doc in versions]
    for (endpoint, doc), hostname in zip(versions, hostnames):
        version = (doc or {}).get("gitVersion")
        if not version:
            raise SkewInputError(
                "%s/version answered %r without gitVersion; expected a kube-apiserver /version document"
                % (endpoint.rstrip("/"), doc)
            )
        host = hostname if hostnames.count(hostname) == 1 else (urlparse(endpoint).netloc or endpoint)
        components.append({"component": APISERVER, "host": host, "version": version})
    without_proxy = []
    for node in nodes:
        name = (node.get("metadata") or {}).get("name")
        info = (node.get("status") or {}).get("nodeInfo") or {}
        if info.get("kubeletVersion"):
            components.append({"component": KUBELET, "host": name, "version": info["kubeletVersion"]})
        else:
            notes.append("node %s reports no status.nodeInfo.kubeletVersion; it is left out of the plan" % name)
        if info.get("kubeProxyVersion"):
            components.append({"component": KUBE_PROXY, "host": name, "version": info["kubeProxyVersion"]})
        else:
            without_proxy.append(name)
    if without_proxy:
        notes.append(
            "%s no status.nodeInfo.kubeProxyVersion (deprecated, KEP-4004: kubelets may leave it empty), "
            "e.g. %s: pass kube-proxy in components (component_facts) to have it checked"
            % ("1 node reports" if len(without_proxy) == 1 else "%d nodes report" % len(without_proxy),
               ", ".join(without_proxy[:3]))
        )
    return components, notes


# ---------------------------------------------------------------------------------------------
# violations


class Recorder:
    """Collects violations, one per (rule, component, host, version, against), with every phase it holds in."""

    def __init__(self):
        self._by_key = {}
        self.ordered = []
        # The node records of the last node scan, keyed by what they depend on (see check_state).
        self.node_scan = (None, [])

    def add(self, rule, phase, component, host, version, against, message):
        key = (rule, component, host, str(version), against[0], str(against[2]))
        record = self._by_key.get(key)
        if record is None:
            record = {
                "rule": rule,
                "phase": phase,
                "phases": [phase],
                "component": component,
                "host": host,
                "version": str(version),
                "against": {"component": against[0], "host": against[1], "version": str(against[2])},
                "message": message,
            }
            self._by_key[key] = record
            self.ordered.append(record)
        elif record["phases"][-1] != phase:
            record["phases"].append(phase)
        return record


def _newest(items):
    best = items[0]
    for item in items[1:]:
        if item[1] > best[1]:
            best = item
    return best


def _oldest(items):
    best = items[0]
    for item in items[1:]:
        if item[1] < best[1]:
            best = item
    return best


def _node_findings(kubelet, proxy, newest, oldest):
    """Violations of one node's kubelet/kube-proxy pair: [(rule, component, version, against, message)]."""
    found = []
    if kubelet is not None:
        if kubelet.minor > oldest[1].minor:
            found.append((
                "kubelet-newer-than-apiserver", KUBELET, kubelet, (APISERVER, oldest[0], oldest[1]),
                "kubelet %s on {host} is newer than kube-apiserver %s on %s" % (kubelet, oldest[1], oldest[0]),
            ))
        limit = allowance(policy.KUBELET_MAX_OLDER, kubelet.minor)
        behind = newest[1].minor - kubelet.minor
        if behind > limit:
            found.append((
                "kubelet-too-old", KUBELET, kubelet, (APISERVER, newest[0], newest[1]),
                "kubelet %s on {host} is %s older than kube-apiserver %s on %s (at most %d allowed for kubelet %s)"
                % (kubelet, _plural(behind, "minor"), newest[1], newest[0], limit, kubelet.minor_str),
            ))
    if proxy is not None:
        limit = allowance(policy.KUBE_PROXY_MAX_OLDER, proxy.minor)
        if proxy.minor > oldest[1].minor:
            found.append((
                "kube-proxy-skew", KUBE_PROXY, proxy, (APISERVER, oldest[0], oldest[1]),
                "kube-proxy %s on {host} is newer than kube-apiserver %s on %s" % (proxy, oldest[1], oldest[0]),
            ))
        behind = newest[1].minor - proxy.minor
        if behind > limit:
            found.append((
                "kube-proxy-skew", KUBE_PROXY, proxy, (APISERVER, newest[0], newest[1]),
                "kube-proxy %s on {host} is %s older than kube-apiserver %s on %s (at most %d allowed for kube-proxy %s)"
                % (proxy, _plural(behind, "minor"), newest[1], newest[0], limit, proxy.minor_str),
            ))
        if kubelet is not None:
            limit = allowance(policy.KUBE_PROXY_MAX_KUBELET_SKEW, proxy.minor)
            apart = abs(kubelet.minor - proxy.minor)
            if apart > limit:
                found.append((
                    "kube-proxy-skew", KUBE_PROXY, proxy, (KUBELET, None, kubelet),
                    "kube-proxy %s on {host} is %s apart from the kubelet %s beside it (at most %d allowed for kube-proxy %s)"
                    % (proxy, _plural(apart, "minor"), kubelet, limit, proxy.minor_str),
                ))
    # Strings once per pair, not once per host.
    return [(rule, component, str(version), (against[0], against[1], str(against[2])), message)
            for rule, component, version, against, message in found]


def check_state(state, phase, recorder, control_plane_apiserver="local"):
    """Record every skew violation of one cluster state (see plan_upgrade for the layout)."""
    apis = [(host, version) for host, version in state[APISERVER].items() if version is not None]
    if not apis:
        return
    newest = _newest(apis)
    oldest = _oldest(apis)

    for host, version in apis:
        apart = newest[1].minor - version.minor
        if apart > policy.APISERVER_HA_MAX_SKEW:
            recorder.add(
                "apiserver-ha-skew", phase, APISERVER, host, version, (APISERVER, newest[0], newest[1]),
                "kube-apiserver %s on %s is %s older than kube-apiserver %s on %s (HA apiservers must be within %d)"
                % (version, host, _plural(apart, "minor"), newest[1], newest[0], policy.APISERVER_HA_MAX_SKEW),
            )

    for component in policy.CONTROL_PLANE:
        for host, version in state[component].items():
            if version is None:
                continue
            local = state[APISERVER].get(host)
            if control_plane_apiserver == "local" and local is not None:
                talks_to = [(host, local)]
            else:
                talks_to = apis
            low = _oldest(talks_to)
            high = _newest(talks_to)
            if version.minor > low[1].minor:
                recorder.add(
                    "control-plane-newer-than-apiserver", phase, component, host, version, (APISERVER, low[0], low[1]),
                    "%s %s on %s is newer than kube-apiserver %s on %s, which it talks to"
                    % (component, version, host, low[1], low[0]),
                )
            behind = high[1].minor - version.minor
            if behind > policy.CONTROL_PLANE_MAX_OLDER:
                recorder.add(
                    "control-plane-too-old", phase, component, host, version, (APISERVER, high[0], high[1]),
                    "%s %s on %s is %s older than kube-apiserver %s on %s (at most %d allowed)"
                    % (component, version, host, _plural(behind, "minor"), high[1], high[0],
                       policy.CONTROL_PLANE_MAX_OLDER),
                )

    for host, version in state[KUBECTL].items():
        if version is None:
            continue
        for other in (oldest, newest):
            apart = abs(version.minor - other[1].minor)
            if apart > policy.KUBECTL_MAX_SKEW:
                recorder.add(
                    "kubectl-skew", phase, KUBECTL, host, version, (APISERVER, other[0], other[1]),
                    "kubectl %s on %s is %s %s than kube-apiserver %s on %s (at most %d either way)"
                    % (version, host, _plural(apart, "minor"), "older" if version < other[1] else "newer",
                       other[1], other[0], policy.KUBECTL_MAX_SKEW),
                )
                break

    # Nodes: thousands of hosts but few distinct (kubelet, kube-proxy) pairs; check each pair once.
    # Node findings depend only on the node versions and the newest and oldest apiserver: most
    # states of a plan (each apiserver restart) leave those as they were, so the last scan's records
    # are reused instead of scanning thousands of nodes again.
    scan_key = (state.get("_nodes_rev"), str(newest[1]), str(oldest[1]))
    if scan_key[0] is not None and recorder.node_scan[0] == scan_key:
        for record in recorder.node_scan[1]:
            if record["phases"][-1] != phase:
                record["phases"].append(phase)
        return
    records = []
    kubelets = state[KUBELET]
    proxies = state[KUBE_PROXY]
    findings_by_pair = {}
    for host in state["_nodes"]:
        kubelet = kubelets.get(host)
        proxy = proxies.get(host)
        # Keyed by identity: versions are shared objects (parse_components interns them), and
        # hashing a Version is what a 5,000-node plan would spend its time on.
        pair = (id(kubelet), id(proxy))
        findings = findings_by_pair.get(pair)
        if findings is None:
            findings = findings_by_pair[pair] = _node_findings(kubelet, proxy, newest, oldest)
        for rule, component, version, against, message in findings:
            if against[1] is None:  # the kubelet beside this kube-proxy
                against = (against[0], host, against[2])
            records.append(recorder.add(rule, phase, component, host, version, against,
                                        message.replace("{host}", host)))
    recorder.node_scan = (scan_key, records)


# ---------------------------------------------------------------------------------------------
# planning


def _versions_summary(state):
    """{component: {version: [hosts]}} with "stopped" for a stopped component."""
    summary = {}
    names = {id(None): STOPPED}
    for component in policy.COMPONENTS:
        by_version = {}
        for host, version in state[component].items():
            key = names.get(id(version))
            if key is None:
                key = names[id(version)] = str(version)
            hosts = by_version.get(key)
            if hosts is None:
                by_version[key] = [host]
            else:
                hosts.append(host)
        if by_version:
            summary[component] = by_version
    return summary


class _Planner:
    def __init__(self, parsed, target, max_minor_jump, node_drain, control_plane_apiserver, stepwise):
        self.target = target
        self.max_minor_jump = max_minor_jump
        self.node_drain = node_drain
        self.control_plane_apiserver = control_plane_apiserver
        self.stepwise = stepwise
        self.recorder = Recorder()
        self.phases = []
        self.state = dict((component, {}) for component in policy.COMPONENTS)
        for component, host, version in parsed:
            self.state[component][host] = version
        # Hosts in first-seen order (the inventory's order).
        self.apiserver_hosts = list(self.state[APISERVER])
        self.node_hosts = list(dict.fromkeys(list(self.state[KUBELET]) + list(self.state[KUBE_PROXY])))
        self.state["_nodes"] = self.node_hosts
        self.state["_nodes_rev"] = 0  # bumped whenever a kubelet or kube-proxy version changes
        self.original = dict((component, dict(self.state[component])) for component in policy.COMPONENTS)

    # -- helpers --------------------------------------------------------------------------------

    def _check(self, phase):
        check_state(self.state, phase, self.recorder, self.control_plane_apiserver)

    def _new_version(self, version, step, final):
        """The version a component at `version` has after round `step`, or None when it stays."""
        if version is None:
            return None
        if final:
            return None if version == step else step
        return step if version < step else None

    def _transition(self, phase, component, host, old, new):
        if new < old:
            self.recorder.add(
                "downgrade", phase, component, host, old, (component, host, new),
                "%s on %s would go from %s down to %s: target_version is older than this component"
                % (component, host, old, new),
            )
        if component == APISERVER:
            jump = new.minor - old.minor
            if jump > self.max_minor_jump:
                self.recorder.add(
                    "apiserver-skip-minor", phase, component, host, old, (component, host, new),
                    "kube-apiserver on %s would jump %s from %s to %s (max_minor_jump %d; upstream allows 1): "
                    "skips %s" % (host, _plural(jump, "minor"), old, new, self.max_minor_jump,
                                  ", ".join(minor_steps(old, new)[:-1])),
                )

    def _phase(self, name, kind, step, hosts, during, note=None):
        phase = {
            "name": name,
            "kind": kind,
            "hop": str(step),
            "hosts": hosts,
            "during": dict((component, sorted(versions, key=_version_key)) for component, versions in during.items()),
            "versions": _versions_summary(self.state),
        }
        if note:
            phase["note"] = note
        self.phases.append(phase)
        return phase

    @staticmethod
    def _seen(during, component, version):
        during.setdefault(component, set()).add(STOPPED if version is None else str(version))

    def _sequential(self, name, kind, step, final, changes):
        """Apply changes [(component, host)] one after the other, checking the state after each."""
        during = {}
        hosts = []
        for component, host in changes:
            old = self.state[component][host]
            self._seen(during, component, old)
        for component, host in changes:
            old = self.state[component][host]
            new = self._new_version(old, step, final)
            if new is None:
                continue
            self._transition(name, component, host, old, new)
            self.state[component][host] = new
            self._seen(during, component, new)
            if host not in hosts:
                hosts.append(host)
            self._check(name)
        if not hosts:
            return None
        return self._phase(name, kind, step, hosts, during)

    def _needs(self, component, host, step, final):
        return self._new_version(self.state[component].get(host), step, final) is not None

    # -- rounds ---------------------------------------------------------------------------------

    def steps(self):
        oldest = min(version for version in self.state[APISERVER].values())
        if not self.stepwise:
            return [self.target]
        steps = []
        minor = oldest.minor + self.max_minor_jump
        while minor < self.target.minor:
            steps.append(Version(self.target.major, minor))
            minor += self.max_minor_jump
        steps.append(self.target)
        return steps

    def run(self):
        self._check("preflight")
        self.phases.append({
            "name": "preflight",
            "kind": "preflight",
            "hop": None,
            "hosts": [],
            "during": {},
            "versions": _versions_summary(self.state),
        })
        steps = self.steps()
        for index, step in enumerate(steps):
            following = steps[index + 1] if index + 1 < len(steps) else None
            self._round(step, following, "%s/" % step if len(steps) > 1 else "")

    def _round(self, step, following, prefix):
        final = following is None
        any_change = any(
            self._needs(component, host, step, final)
            for component in policy.KUBE_COMPONENTS
            for host in self.state[component]
        )
        if not any_change:
            return
        managers = [host for host, version in self.state[CONTROLLER_MANAGER].items() if version is not None]
        stopped_at = dict((host, self.state[CONTROLLER_MANAGER][host]) for host in managers)
        if managers:
            during = {}
            for host in managers:
                self._seen(during, CONTROLLER_MANAGER, self.state[CONTROLLER_MANAGER][host])
                self.state[CONTROLLER_MANAGER][host] = None
            self._seen(during, CONTROLLER_MANAGER, None)
            self._check(prefix + "stop-controller-managers")
            self._phase(prefix + "stop-controller-managers", "stop-controller-managers", step, managers, during)

        for host in self.apiserver_hosts:
            changes = [(component, host) for component in (APISERVER, SCHEDULER, KUBECTL)
                       if host in self.state[component]]
            self._sequential(prefix + "apiserver " + host, "apiserver", step, final, changes)

        others = [(SCHEDULER, host) for host in self.state[SCHEDULER] if host not in self.state[APISERVER]]
        self._sequential(prefix + "schedulers", "schedulers", step, final, others)

        # Addons always run; kubectl on hosts without an apiserver is upgraded here, before the
        # addon manifests are applied with it.
        clients = [(KUBECTL, host) for host in self.state[KUBECTL] if host not in self.state[APISERVER]]
        addons = self._sequential(prefix + "addons", "addons", step, final, clients)
        if addons is None:
            self._check(prefix + "addons")
            self._phase(prefix + "addons", "addons", step, [], {})

        self._kubelets(prefix + "kubelets", step, following)

        if managers:
            during = {CONTROLLER_MANAGER: set([STOPPED])}
            for host in managers:
                old = stopped_at[host]
                new = self._new_version(old, step, final) or old
                if new != old:
                    self._transition(prefix + "start-controller-managers", CONTROLLER_MANAGER, host, old, new)
                self.state[CONTROLLER_MANAGER][host] = new
                self._seen(during, CONTROLLER_MANAGER, new)
                self._check(prefix + "start-controller-managers")
            self._phase(prefix + "start-controller-managers", "start-controller-managers", step, managers, during)

    def _node_can_wait(self, kubelet, proxy, following):
        """In a stepwise plan, whether a node stays within skew of the next step's apiservers as it is."""
        for version, table in ((kubelet, policy.KUBELET_MAX_OLDER), (proxy, policy.KUBE_PROXY_MAX_OLDER)):
            if version is not None and following.minor - version.minor > allowance(table, version.minor):
                return False
        return True

    def _kubelets(self, name, step, following):
        # Stepwise, a node is upgraded in a round only when the next round's apiservers would leave
        # it out of skew (fewer drains and restarts); in the last round every node goes to the target.
        final = following is None
        kubelets = self.state[KUBELET]
        proxies = self.state[KUBE_PROXY]
        hosts = []
        kubelet_new = {}
        proxy_new = {}
        during = {}
        for host in self.node_hosts:
            k_old = kubelets.get(host)
            p_old = proxies.get(host)
            k_new = self._new_version(k_old, step, final)
            p_new = self._new_version(p_old, step, final)
            if k_old is not None:
                self._seen(during, KUBELET, k_old)
            if p_old is not None:
                self._seen(during, KUBE_PROXY, p_old)
            if k_new is None and p_new is None:
                continue
            if not final and self._node_can_wait(k_old, p_old, following):
                continue
            hosts.append(host)
            if k_new is not None:
                kubelet_new[host] = k_new
                self._transition(name, KUBELET, host, k_old, k_new)
            if p_new is not None:
                proxy_new[host] = p_new
                self._transition(name, KUBE_PROXY, host, p_old, p_new)
        if not hosts:
            return
        self._inplace(name, kubelets, kubelet_new)
        # Old state (some nodes not yet upgraded), then new kubelet beside old kube-proxy, then both new.
        self._check(name)
        kubelets.update(kubelet_new)
        self.state["_nodes_rev"] += 1
        for version in set(kubelet_new.values()):
            self._seen(during, KUBELET, version)
        self._check(name)
        proxies.update(proxy_new)
        self.state["_nodes_rev"] += 1
        for version in set(proxy_new.values()):
            self._seen(during, KUBE_PROXY, version)
        self._check(name)
        phase = self._phase(name, "kubelets", step, hosts, during, note=(
            "nodes are upgraded in batches; between batches some nodes run the old and some the new "
            "versions, and on each node the kubelet restarts before kube-proxy: every such state was checked"
        ))
        phase["node_drain"] = self.node_drain

    def _inplace(self, name, kubelets, kubelet_new):
        # node_drain auto drains exactly when the kubelet's minor changes, so only never is in place.
        if self.node_drain != "never":
            return
        for host, new in kubelet_new.items():
            old = kubelets[host]
            if new.minor != old.minor:
                self.recorder.add(
                    "kubelet-inplace-minor", name, KUBELET, host, old, (KUBELET, host, new),
                    "kubelet on %s would go from %s to %s in place (node_drain never); upstream supports minor "
                    "kubelet upgrades only on drained nodes: expect containers to restart (see the restart "
                    "forecast)" % (host, old, new),
                )


def plan_upgrade(components, target_version, max_minor_jump=1, accept=None, node_drain="auto",
                 control_plane_apiserver="local", stepwise=False):
    """Plan the upgrade of `components` to `target_version` and check the skew policy throughout.

    Returns {plan, violations, hops, failed: [violations not accepted], accepted: [...]}.
    Raises SkewInputError on input it cannot plan with.
    """
    try:
        target = parse_known_version(target_version, "target_version")
    except VersionError as exc:
        raise SkewInputError(str(exc))
    if target.patch is None:
        raise SkewInputError(
            "target_version %r has no patch release; expected a full release such as %s.0 (the binaries to install)"
            % (target_version, target.minor_str)
        )
    if not isinstance(max_minor_jump, int) or isinstance(max_minor_jump, bool) or max_minor_jump < 1:
        raise SkewInputError("max_minor_jump %r is not valid; expected a whole number >= 1" % (max_minor_jump,))
    if node_drain not in NODE_DRAIN_CHOICES:
        raise SkewInputError("node_drain %r is not valid; expected one of %s" % (node_drain, ", ".join(NODE_DRAIN_CHOICES)))
    if control_plane_apiserver not in CONTROL_PLANE_APISERVER_CHOICES:
        raise SkewInputError("control_plane_apiserver %r is not valid; expected one of %s"
                             % (control_plane_apiserver, ", ".join(CONTROL_PLANE_APISERVER_CHOICES)))
    accept = list(accept or [])
    unknown = [rule for rule in accept if rule not in policy.RULES]
    if unknown:
        raise SkewInputError("accept lists unknown rule id(s) %s; expected any of %s"
                             % (", ".join(unknown), ", ".join(policy.RULE_IDS)))
    parsed = parse_components(components)
    apiservers = [(host, version) for component, host, version in parsed if component == APISERVER]
    oldest = _oldest(apiservers)
    if target < oldest[1]:
        raise SkewInputError(
            "target_version %s is older than the cluster (every kube-apiserver is newer; the oldest is %s on %s); "
            "expected a target_version of at least %s: this module plans upgrades, not downgrades (to go back to the "
            "release a host ran before an upgrade, use playbooks/rollback.yml)"
            % (target, oldest[1], oldest[0], oldest[1])
        )

    planner = _Planner(parsed, target, max_minor_jump, node_drain, control_plane_apiserver, stepwise)
    planner.run()
    violations = planner.recorder.ordered
    for violation in violations:
        violation["accepted"] = violation["rule"] in accept
    return {
        "plan": planner.phases,
        "violations": violations,
        "hops": minor_steps(oldest[1], target),
        "failed": [v for v in violations if not v["accepted"]],
        "accepted": [v for v in violations if v["accepted"]],
    }


def summarize(violations, limit=20):
    """One line per (rule, component, version, against) with its host count, so 5,000 nodes stay
    readable; `limit` groups at most (None: all)."""
    groups = {}
    order = []
    for violation in violations:
        key = (violation["rule"], violation["component"], violation["version"],
               violation["against"]["component"], violation["against"]["version"])
        group = groups.get(key)
        if group is None:
            group = groups[key] = {"first": violation, "hosts": []}
            order.append(key)
        group["hosts"].append(violation["host"])
    lines = []
    for key in order if limit is None else order[:limit]:
        group = groups[key]
        first = group["first"]
        hosts = group["hosts"]
        where = hosts[0] if len(hosts) == 1 else "%s (%s and %d more)" % (
            _plural(len(hosts), "host"), hosts[0], len(hosts) - 1)
        lines.append("%s in phase %s: %s [%s]" % (first["rule"], first["phase"], first["message"], where))
    if limit is not None and len(order) > limit:
        lines.append("... and %d more groups" % (len(order) - limit))
    return lines
