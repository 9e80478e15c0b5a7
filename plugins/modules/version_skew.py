#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: version_skew
short_description: Plan a Kubernetes upgrade and check the version skew policy at every step
description:
  - Runs on the controller. Builds the plan of the upgrade from the current component versions to
    O(target_version) in the play order of this collection, and checks the upstream version skew
    policy for every pair of components in every state the cluster can be in during each phase.
  - "Phases: C(preflight) (the cluster as it is); C(stop-controller-managers); C(apiserver HOST) for each
    kube-apiserver host, one at a time, restarting kube-apiserver, then kube-scheduler, then kubectl on
    that host; C(schedulers) (kube-schedulers on hosts without an apiserver); C(addons) (kubectl on
    every other host is upgraded here); C(kubelets) (the nodes, in batches); C(start-controller-managers)."
  - "The C(kubelets) phase stands for every node batch: there is no skew rule between two nodes, so
    each node is checked in the three states it can be in while some nodes are upgraded and others
    not (old kubelet and kube-proxy; new kubelet beside old kube-proxy; both new)."
  - A violation is a failure unless its rule id is listed in O(accept); accepted violations are
    returned with C(accepted=true) and reported as warnings.
  - Changes nothing; C(changed) is always false, in check mode too.
version_added: 0.1.0
author: clusterops maintainers (@clusterops)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  target_version:
    description:
      - The release to upgrade to, for example C(1.14.10). Must be a full release (with patch) of a
        minor this collection has data for, and not older than every kube-apiserver of the cluster.
    type: str
    required: true
  components:
    description:
      - The components of the cluster and their current versions, for example from
        M(clusterops.k8s_upgrade.component_facts) on every host.
      - When omitted, the module gathers them from the cluster with the authentication options
        (kube-apiserver from C(/version) of every O(apiserver_endpoints), kubelet and kube-proxy
        from each Node's C(status.nodeInfo)). kube-scheduler and kube-controller-manager cannot be
        read that way; pass them here to have them planned and checked.
      - C(status.nodeInfo.kubeProxyVersion) is written by the kubelet, not by kube-proxy, and is
        deprecated (KEP-4004); for an exact kube-proxy check pass the versions that
        M(clusterops.k8s_upgrade.component_facts) reads on the nodes.
      - An empty list is an error.
    type: list
    elements: dict
    suboptions:
      component:
        description: Which component.
        type: str
        required: true
        choices: [kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy, kubectl, etcd]
      host:
        description: The host (inventory name or node name) it runs on.
        type: str
        required: true
      version:
        description: Its version, for example C(1.10.13) or C(v1.10.13). etcd's version is passed through unchecked.
        type: str
        required: true
  apiserver_endpoints:
    description:
      - URLs of each kube-apiserver, for example C(https://10.0.0.11:6443), each asked for its C(/version)
        directly (not through a load balancer) with the same credentials and TLS settings.
      - Used only when O(components) is omitted. When empty, only the apiserver behind the configured
        host is asked and a warning says that HA skew cannot be checked.
    type: list
    elements: str
    default: []
  max_minor_jump:
    description:
      - The largest number of minor versions a kube-apiserver may advance in one step without
        violating C(apiserver-skip-minor). Upstream allows 1.
    type: int
    default: 1
  stepwise:
    description:
      - When true, the plan goes through the minors in steps of at most O(max_minor_jump) minors,
        one round of all phases per step (intermediate steps are minor versions such as C(1.12);
        the patch release is the role's choice). In a round before the last, a node is upgraded only
        when the next round's apiservers would leave it out of skew, so nodes are drained and restarted
        as few times as the policy allows. When false, every component goes straight to
        O(target_version) (the seed's practice) and a jump of more than O(max_minor_jump) minors is
        reported as C(apiserver-skip-minor).
    type: bool
    default: false
  node_drain:
    description:
      - Whether the nodes are drained before their kubelet is upgraded, as the C(kubelets) phase will do it.
      - C(always) drains every node; C(auto) drains a node when its kubelet changes minor version and
        upgrades patch releases in place; C(never) upgrades every kubelet in place, and each minor kubelet
        upgrade is then reported as C(kubelet-inplace-minor) (not supported upstream; accept it explicitly
        after reading the restart forecast of M(clusterops.k8s_upgrade.kubelet_restart_forecast)).
    type: str
    choices: [always, auto, never]
    default: auto
  control_plane_apiserver:
    description:
      - Which kube-apiserver a kube-scheduler or kube-controller-manager talks to. C(local) (kubeadm and
        kubespray practice) checks it against the apiserver on the same host (against all apiservers
        when its host has none); C(all) checks it against every apiserver (a load balancer in between).
    type: str
    choices: [local, all]
    default: local
  accept:
    description:
      - Rule ids whose violations become warnings instead of failures. They are still listed in
        RV(violations), with C(accepted=true).
    type: list
    elements: str
    default: []
    choices:
      - apiserver-skip-minor
      - apiserver-ha-skew
      - kubelet-newer-than-apiserver
      - kubelet-too-old
      - kube-proxy-skew
      - control-plane-newer-than-apiserver
      - control-plane-too-old
      - kubectl-skew
      - downgrade
      - kubelet-inplace-minor
attributes:
  check_mode:
    description: Reads only; check mode runs it as usual.
    support: full
  diff_mode:
    description: Edits nothing, so there is no diff.
    support: none
notes:
  - "Rules: C(apiserver-skip-minor), C(apiserver-ha-skew) (apiservers more than 1 minor apart),
    C(kubelet-newer-than-apiserver), C(kubelet-too-old) (more than 3 minors older, 2 for kubelet < 1.25),
    C(kube-proxy-skew) (same limits against the apiserver, and against the kubelet beside it either way),
    C(control-plane-newer-than-apiserver), C(control-plane-too-old) (more than 1 minor older),
    C(kubectl-skew) (more than 1 minor either way), C(downgrade), C(kubelet-inplace-minor)."
  - Skews are counted in minor versions, as the upstream policy does.
seealso:
  - name: Kubernetes version skew policy
    description: The policy the rules implement.
    link: https://kubernetes.io/releases/version-skew-policy/
requirements:
  - kubernetes >= 24.2.0 (only when O(components) is omitted)
"""

EXAMPLES = r"""
- name: Check the seed's jump, accepting the skipped minors on purpose
  clusterops.k8s_upgrade.version_skew:
    target_version: 1.14.10
    accept: [apiserver-skip-minor, apiserver-ha-skew, kubelet-too-old, kube-proxy-skew,
             control-plane-too-old, kubectl-skew]
    components:
      - {component: kube-apiserver, host: master1, version: 1.10.13}
      - {component: kube-scheduler, host: master1, version: 1.10.13}
      - {component: kube-controller-manager, host: master1, version: 1.10.13}
      - {component: kubelet, host: node1, version: 1.10.13}
      - {component: kube-proxy, host: node1, version: 1.10.13}
  register: skew

- name: Gather the versions from a live cluster and plan 1.29 -> 1.30
  clusterops.k8s_upgrade.version_skew:
    target_version: 1.30.14
    kubeconfig: /etc/kubernetes/admin.kubeconfig
    apiserver_endpoints:
      - https://10.0.0.11:6443
      - https://10.0.0.12:6443
      - https://10.0.0.13:6443

- name: In-place kubelet upgrades, acknowledged
  clusterops.k8s_upgrade.version_skew:
    target_version: 1.16.15
    components: "{{ gathered_components }}"
    node_drain: never
    accept: [kubelet-inplace-minor]
"""

RETURN = r"""
plan:
  description:
    - The phases in order. Each has C(name), C(kind) (preflight, stop-controller-managers, apiserver,
      schedulers, addons, kubelets, start-controller-managers), C(hop) (the version this round goes to),
      C(hosts) (hosts changed in the phase), C(during) (every version of each component that runs at
      some moment of the phase, C(stopped) included) and C(versions) (after the phase, component ->
      version -> hosts).
  returned: success or violation
  type: list
  elements: dict
  sample:
    - name: apiserver master1
      kind: apiserver
      hop: 1.14.10
      hosts: [master1]
      during: {kube-apiserver: [1.10.13, 1.14.10]}
      versions: {kube-apiserver: {1.14.10: [master1], 1.10.13: [master2, master3]}}
violations:
  description:
    - Every violation found, once per rule, component, host, version and the version it is checked
      against. C(phase) is the first phase it occurs in, C(phases) all of them. C(against) is the
      component, host and version it violates the policy against (for C(downgrade),
      C(apiserver-skip-minor) and C(kubelet-inplace-minor) the version it goes to).
  returned: success or violation
  type: list
  elements: dict
  sample:
    - rule: kubelet-too-old
      phase: apiserver master1
      phases: [apiserver master1, apiserver master2, apiserver master3, addons, kubelets]
      component: kubelet
      host: node1
      version: 1.10.13
      against: {component: kube-apiserver, host: master1, version: 1.14.10}
      message: kubelet 1.10.13 on node1 is 4 minors older than kube-apiserver 1.14.10 on master1 (at most 2 allowed for kubelet 1.10)
      accepted: true
hops:
  description: The minor versions the kube-apiservers cross, from the oldest one to the target.
  returned: success or violation
  type: list
  elements: str
  sample: ["1.11", "1.12", "1.13", "1.14"]
summary:
  description:
    - One line per group of violations (same rule, component, version and what it is checked against), with
      the number of hosts, accepted ones first. Short where RV(violations) is long (thousands of nodes).
  returned: success or violation
  type: list
  elements: str
  sample:
    - "accepted: kubelet-too-old in phase apiserver master1: kubelet 1.10.13 on node1 is 4 minors older than
      kube-apiserver 1.14.10 on master1 (at most 2 allowed for kubelet 1.10) [5000 hosts (node1 and 4999 more)]"
components:
  description: The components the plan started from (as given, or as gathered from the cluster).
  returned: success or violation
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.k8s_api import (
    AUTH_ARG_SPEC,
    HAS_K8S,
    K8S_IMPORT_ERROR,
    KubeApi,
    KubeApiError,
)
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.release_data.skew_policy import (
    COMPONENTS,
    RULE_IDS,
)
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.skew import (
    NODE_DRAIN_CHOICES,
    SkewInputError,
    components_from_cluster,
    plan_upgrade,
    summarize,
)


def gather(module):
    """Ask each apiserver for /version and list the nodes (paginated)."""
    if not HAS_K8S:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=K8S_IMPORT_ERROR)
    params = module.params
    endpoints = params["apiserver_endpoints"] or []
    versions = []
    try:
        api = KubeApi(params)
        if not endpoints:
            module.warn("apiserver_endpoints is empty: only the apiserver behind %s was asked for its version, "
                        "so skew between apiservers cannot be checked; list every control-plane endpoint" % api.host)
        for endpoint in endpoints or [api.host]:
            one = api if endpoint == api.host else KubeApi(dict(params, host=endpoint))
            versions.append((endpoint, one.get("/version")))
        nodes = api.list_items("/api/v1/nodes")
        components, notes = components_from_cluster(versions, nodes)
    except KubeApiError as exc:
        module.fail_json(msg="cannot gather the component versions: %s" % exc)
    except SkewInputError as exc:
        module.fail_json(msg=str(exc))
    for note in notes:
        module.warn(note)
    return components


def main():
    argument_spec = dict(
        target_version=dict(type="str", required=True),
        components=dict(
            type="list",
            elements="dict",
            options=dict(
                component=dict(type="str", required=True, choices=list(COMPONENTS)),
                host=dict(type="str", required=True),
                version=dict(type="str", required=True),
            ),
        ),
        apiserver_endpoints=dict(type="list", elements="str", default=[]),
        max_minor_jump=dict(type="int", default=1),
        stepwise=dict(type="bool", default=False),
        node_drain=dict(type="str", choices=list(NODE_DRAIN_CHOICES), default="auto"),
        control_plane_apiserver=dict(type="str", choices=["local", "all"], default="local"),
        accept=dict(type="list", elements="str", default=[], choices=list(RULE_IDS)),
    )
    argument_spec.update(AUTH_ARG_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params

    components = params["components"]
    if components is None:
        components = gather(module)

    try:
        result = plan_upgrade(
            components,
            params["target_version"],
            max_minor_jump=params["max_minor_jump"],
            accept=params["accept"],
            node_drain=params["node_drain"],
            control_plane_apiserver=params["control_plane_apiserver"],
            stepwise=params["stepwise"],
        )
    except SkewInputError as exc:
        module.fail_json(msg=str(exc), components=components)

    report = dict(
        changed=False,
        plan=result["plan"],
        violations=result["violations"],
        hops=result["hops"],
        components=components,
        summary=["accepted: " + line for line in summarize(result["accepted"], limit=None)]
        + ["not accepted: " + line for line in summarize(result["failed"], limit=None)],
    )
    # One warning per group of accepted violations: 5,000 nodes must not print 5,000 warnings.
    for line in summarize(result["accepted"], limit=None):
        module.warn("accepted: " + line)
    if result["failed"]:
        rules = sorted(set(v["rule"] for v in result["failed"]))
        module.fail_json(
            msg="%d version skew violation(s) not accepted (%s): %s. Fix the versions, choose a target_version "
                "within max_minor_jump of the oldest kube-apiserver (one minor per run), plan stepwise, or list "
                "the rule ids in accept (upgrade_accept in the inventory) to proceed knowingly"
                % (len(result["failed"]), ", ".join(rules), "; ".join(summarize(result["failed"], limit=None))),
            **report
        )
    module.exit_json(**report)


if __name__ == "__main__":
    main()
