# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Readiness of Nodes and Pods as the API returns them (k8s_info resources), for the node batches."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def _condition(obj, kind):
    for condition in ((obj or {}).get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return condition.get("status")
    return None


def ready_nodes(nodes, names, version=None):
    """The names in `names` (in that order) whose Node is Ready and, with `version`, reports that kubelet version."""
    want = None if version is None else "v" + str(version).lstrip("v")
    found = {}
    for node in nodes or []:
        name = (node.get("metadata") or {}).get("name")
        kubelet = ((node.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion")
        if _condition(node, "Ready") == "True" and (want is None or kubelet == want):
            found[name] = True
    return [name for name in names or [] if name in found]


def pods_not_ready(pods, uids=None):
    """The pods among `uids` (all of `pods` when None) that are listed but not Running with Ready=True
    (a pod gone is not waited for)."""
    wanted = None if uids is None else set(uids)
    return [pod for pod in pods or [] if (wanted is None or (pod.get("metadata") or {}).get("uid") in wanted)
            and ((pod.get("status") or {}).get("phase") != "Running" or _condition(pod, "Ready") != "True")]


def container_id(status):
    """A containerStatuses entry's ID as crictl shows it (the runtime prefix dropped)."""
    value = (status or {}).get("containerID") or ""
    return value.split("://", 1)[-1]


def batch_outcome(nodes, pods_before, pods_after, names, version, forecasts=None):
    """What a node batch's waits found, once for all its nodes.

    `names`: the batch's switched nodes; `pods_before`: the pods listed before the switch (those that
    were Running on a node are waited for); `nodes`, `pods_after`: the last reads of the waits;
    `forecasts`: {node: the containers kubelet_restart_forecast listed (container_id, pod_uid)}.
    Returns {ready: [node names Ready at `version`], pods_not_ready: {node: [pod names]},
    container_ids: {node: [IDs its pods report now]}, restarted: {node: [forecast container IDs
    of pods that were running before and no longer report that ID: the kubelet restarted them]}}."""
    ready = ready_nodes(nodes, names, version)
    running_before = {}
    for pod in pods_before or []:
        node = (pod.get("spec") or {}).get("nodeName")
        if node in names and (pod.get("status") or {}).get("phase") == "Running":
            running_before[(pod.get("metadata") or {}).get("uid")] = node
    outcome = {"ready": ready, "pods_not_ready": dict((n, []) for n in names), "container_ids": dict((n, []) for n in names)}
    for pod in pods_not_ready(pods_after, running_before):
        outcome["pods_not_ready"][running_before[pod["metadata"]["uid"]]].append(pod["metadata"].get("name"))
    for pod in pods_after or []:
        node = running_before.get((pod.get("metadata") or {}).get("uid"))
        if node:
            outcome["container_ids"][node].extend(container_id(s) for s in (pod.get("status") or {}).get("containerStatuses") or [])
    outcome["restarted"] = dict((n, []) for n in names)
    for node, containers in (forecasts or {}).items():
        if node not in outcome["restarted"]:
            continue
        now = set(outcome["container_ids"][node])
        outcome["restarted"][node] = [c.get("container_id") for c in containers or []
                                      if running_before.get(c.get("pod_uid")) == node and c.get("container_id") not in now]
    return outcome


def _batch_size(value, host_count):
    """One entry of a play's `serial` as Ansible reads it (ansible.utils.helpers.pct_to_int)."""
    if isinstance(value, str) and value.strip().endswith("%"):
        return int(int(value.strip()[:-1]) / 100.0 * host_count) or 1
    return int(value)


def serial_batches(hosts, serial):
    """The batches Ansible makes of a play's `hosts` for its `serial`: a size, "N%" or a list of them
    (the last one repeats); empty, 0 or less is one batch of every host (as PlaybookExecutor does)."""
    sizes = list(serial) if isinstance(serial, (list, tuple)) else [serial]
    if not sizes or sizes == [None] or sizes == [""]:
        sizes = [0]
    left, batches, index = list(hosts or []), [], 0
    while left:
        size = _batch_size(sizes[index], len(hosts))
        if size <= 0:
            batches.append(left)
            break
        batches.append(left[:size])
        left = left[size:]
        index = min(index + 1, len(sizes) - 1)
    return batches


def next_batch(hosts, serial, current=None):
    """The hosts of the batch after the one that holds current[0] (the first batch without `current`);
    [] after the last batch or when current[0] is in none of them."""
    batches = serial_batches(hosts, serial)
    if not current:
        return batches[0] if batches else []
    for index, batch in enumerate(batches):
        if current[0] in batch:
            return batches[index + 1] if index + 1 < len(batches) else []
    return []


def restarts_by_host(outcome, hosts, names):
    """The upgrade report's `restarts` of a batch, per inventory host (the fact
    upgrade_report_restarts_by_host): {host: {restarted: N, containers: [container IDs]}}, from
    batch_outcome's per-node `restarted`; `hosts` and their node `names` in the same order."""
    restarted = (outcome or {}).get("restarted") or {}
    return dict((host, {"restarted": len(restarted.get(name) or []), "containers": list(restarted.get(name) or [])})
                for host, name in zip(hosts or [], names or []))
