"""Emulated kube-controller-manager.

Controllers: Deployment (ReplicaSets with pod-template-hash, RollingUpdate with maxSurge /
maxUnavailable, Recreate, status), ReplicaSet (pods, status), DaemonSet (one pod per eligible node,
node affinity on metadata.name from 1.12 or nodeName before, rolling update, status), StatefulSet
(ordered pods NAME-0..N-1, rolling update from the highest ordinal, status), node lifecycle (Ready
becomes Unknown and the node gets the unreachable taint when neither the node status nor its Lease
was renewed for --node-monitor-grace-period), "default" ServiceAccounts, and garbage collection of
pods and ReplicaSets whose owner is gone. Leader election as the release did (lab/emulator/leader.py).

The seed's incident (lab/facts/kubelet.py INCIDENT_FIELDS): a controller-manager of minor M computes
Deployment templates with the PodSpec fields that minors <= M added with a default, and records them in
the pod annotation lab.clusterops.io/defaulted-fields. A template that lacks such a field therefore
hashes differently under a newer controller-manager: the Deployment re-rolls to a new ReplicaSet. An
older kubelet fails the new pods (CreateContainerError) because it does not know the defaulted field.
Started only after every kubelet is upgraded, the same controller-manager re-rolls onto kubelets
that know the field, and the pods run.
"""

import copy
import json
import math
import threading
import time

from lab.emulator import client as api
from lab.emulator import health, klog
from lab.emulator.informer import Informer, node_ready, owner_of, path
from lab.emulator.leader import LeaderElector
from lab.emulator.scheduler import serve_health
from lab.facts import kubelet as kfacts

DEFAULTED_ANNOTATION = kfacts.DEFAULTED_ANNOTATION
ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"


# --- pure helpers (unit-tested) -------------------------------------------------------------------

def safe_encode(text):
    """k8s.io/apimachinery/pkg/util/rand.SafeEncodeString."""
    return "".join(ALPHANUMS[ord(ch) % len(ALPHANUMS)] for ch in text)


def template_hash(template, collision_count=0):
    """pod-template-hash: fnv32a over the template (lab: canonical JSON) + collisionCount."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        data += str(collision_count).encode()
    return safe_encode(str(kfacts.fnv32a(data)))


def apply_incident_defaults(template, minor):
    """The template as a controller-manager of 1.<minor> sees it (see module docstring)."""
    out = copy.deepcopy(template)
    spec = out.setdefault("spec", {})
    added = []
    for name, default, _since, _src in kfacts.incident_fields(minor):
        if name in spec:
            continue
        if default == "lab-default":
            labels = (out.get("metadata") or {}).get("labels") or {}
            default = [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
                        "labelSelector": {"matchLabels": dict(labels)}}]
        spec[name] = default
        added.append(name)
    if added:
        annotations = out.setdefault("metadata", {}).setdefault("annotations", {})
        annotations[DEFAULTED_ANNOTATION] = ",".join(added)
    return out


def resolve_int_or_percent(value, total, round_up):
    if value is None:
        value = "25%"
    if isinstance(value, str) and value.endswith("%"):
        raw = int(value[:-1]) * total / 100.0
        return int(math.ceil(raw)) if round_up else int(math.floor(raw))
    return int(value)


def scale_up_new(desired, new_replicas, old_replicas, max_surge, max_unavailable):
    """Replicas of the new ReplicaSet after one rolling-update step (never above desired + maxSurge in total)."""
    surge = resolve_int_or_percent(max_surge, desired, True)
    unavailable = resolve_int_or_percent(max_unavailable, desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    total = new_replicas + old_replicas
    if total >= desired + surge:
        return new_replicas
    return min(desired, new_replicas + (desired + surge - total))


def scale_down_old(desired, new_available, old, max_unavailable):
    """How far old ReplicaSets may shrink: unhealthy replicas first, then down to minAvailable."""
    unavailable = resolve_int_or_percent(max_unavailable, desired, False)
    min_available = desired - unavailable
    result = {}
    total_available = new_available + sum(a for _n, _r, a in old)
    budget = max(0, total_available - min_available)
    for name, replicas, available in old:
        target = replicas
        unhealthy = replicas - available
        if unhealthy > 0:
            target -= unhealthy  # unhealthy replicas cost no availability
        take = min(budget, target)
        target -= take
        budget -= take
        result[name] = max(0, target)
    return result


def heartbeat_age(node, lease, now):
    """Seconds since the node last reported (node Ready heartbeat or its Lease), or None if never."""
    times = []
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready" and cond.get("lastHeartbeatTime"):
            times.append(api.parse_time(cond["lastHeartbeatTime"]))
    if lease:
        renew = (lease.get("spec") or {}).get("renewTime")
        if renew:
            times.append(api.parse_time(renew))
    if not times:
        return None
    return now - max(times)


def pod_ready(pod):
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def pod_active(pod):
    return not (pod.get("metadata") or {}).get("deletionTimestamp") and \
        (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def random_suffix(n=5):
    import os
    return "".join(ALPHANUMS[b % len(ALPHANUMS)] for b in bytearray(os.urandom(n)))


def owner_ref(obj, kind, api_version):
    return {"apiVersion": api_version, "kind": kind, "name": obj["metadata"]["name"],
            "uid": obj["metadata"].get("uid", ""), "controller": True, "blockOwnerDeletion": True}


# --- the controller-manager -----------------------------------------------------------------------

class ControllerManager(object):
    def __init__(self, opts, cl=None):
        self.opts = opts
        self.minor = opts.minor
        self.client = cl or api.Client.from_kubeconfig(opts.get("kubeconfig"),
                                                       user_agent="kube-controller-manager/v%s" % opts.version)
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.grace = health.parse_duration(opts.get("node-monitor-grace-period"), 40.0)
        self.started = time.time()
        self.inf = {}
        self._by_owner = None  # (namespace, owner uid) -> pods; rebuilt after each pod write

    # writes that keep the local cache current
    def _create(self, informer, gv, resource, ns, obj):
        created = self.client.create(path(gv, resource, ns), obj)
        self.inf[informer].put(created)
        self._by_owner = None
        return created

    def _update(self, informer, gv, resource, obj, sub=None):
        meta = obj["metadata"]
        updated = self.client.update(path(gv, resource, meta.get("namespace"), meta["name"], sub), obj)
        self.inf[informer].put(updated)
        return updated

    def _delete_pod(self, pod):
        meta = pod["metadata"]
        self.client.delete(path("v1", "pods", meta.get("namespace"), meta["name"]))
        gone = copy.deepcopy(pod)
        gone["metadata"]["deletionTimestamp"] = api.now_rfc3339()
        self.inf["pods"].put(gone)
        self._by_owner = None

    def pods_of(self, owner):
        if self._by_owner is None:
            index = {}
            for pod in self.inf["pods"].list():
                ref = owner_of(pod)
                if ref:
                    index.setdefault((pod["metadata"].get("namespace"), ref.get("uid")), []).append(pod)
            self._by_owner = index
        return list(self._by_owner.get((owner["metadata"].get("namespace"), owner["metadata"].get("uid")), []))

    def _new_pod(self, owner, kind, api_version, template, name, extra_spec=None, extra_labels=None):
        meta = copy.deepcopy(template.get("metadata") or {})
        meta.pop("creationTimestamp", None)
        meta["name"] = name
        meta["namespace"] = owner["metadata"].get("namespace")
        meta["ownerReferences"] = [owner_ref(owner, kind, api_version)]
        if extra_labels:
            meta.setdefault("labels", {}).update(extra_labels)
        spec = copy.deepcopy(template.get("spec") or {})
        spec.update(extra_spec or {})
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}

    # ReplicaSets ---------------------------------------------------------------------------------
    def sync_replicaset(self, rs):
        desired = int((rs.get("spec") or {}).get("replicas", 1))
        pods = [p for p in self.pods_of(rs) if pod_active(p)]
        ns = rs["metadata"].get("namespace")
        if len(pods) < desired:
            for dummy in range(desired - len(pods)):
                pod = self._new_pod(rs, "ReplicaSet", "apps/v1", rs["spec"].get("template") or {},
                                    "%s-%s" % (rs["metadata"]["name"], random_suffix()))
                try:
                    self._create("pods", "v1", "pods", ns, pod)
                except api.ApiError as err:
                    klog.error("replicaset %s/%s: create pod: %s" % (ns, rs["metadata"]["name"], err))
                    break
        elif len(pods) > desired:
            # Delete the least useful first: unscheduled, not ready, newest.
            pods.sort(key=lambda p: (bool((p.get("spec") or {}).get("nodeName")), pod_ready(p),
                                     -api.parse_time(p["metadata"].get("creationTimestamp"))))
            for pod in pods[:len(pods) - desired]:
                self._delete_pod(pod)
        pods = [p for p in self.pods_of(rs) if pod_active(p)]
        ready = sum(1 for p in pods if pod_ready(p))
        status = {"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready,
                  "availableReplicas": ready, "observedGeneration": rs["metadata"].get("generation", 1)}
        self._set_status("replicasets", "apps/v1", "replicasets", rs, status)

    def _set_status(self, informer, gv, resource, obj, status):
        current = obj.get("status") or {}
        if all(current.get(k) == v for k, v in status.items()):
            return obj
        meta = obj["metadata"]
        try:
            patched = self.client.merge_patch(path(gv, resource, meta.get("namespace"), meta["name"], "status"),
                                              {"status": status})
            self.inf[informer].put(patched)
            return patched
        except api.ApiError as err:
            klog.v(2, "status %s %s: %s" % (resource, meta["name"], err))
            return obj

    # Deployments ---------------------------------------------------------------------------------
    def sync_deployment(self, dep):
        meta, spec = dep["metadata"], dep.get("spec") or {}
        ns = meta.get("namespace")
        desired = int(spec.get("replicas", 1))
        template = apply_incident_defaults(spec.get("template") or {}, self.minor)
        collision = int((dep.get("status") or {}).get("collisionCount") or 0)
        phash = template_hash(template, collision)
        owned = [r for r in self.inf["replicasets"].list()
                 if r["metadata"].get("namespace") == ns and (owner_of(r) or {}).get("uid") == meta.get("uid")]
        new = next((r for r in owned if (r["metadata"].get("labels") or {}).get("pod-template-hash") == phash), None)
        old = [r for r in owned if r is not new]
        revisions = [int((r["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", "0") or 0)
                     for r in owned]
        if new is None:
            revision = str(max(revisions + [0]) + 1)
            rs_template = copy.deepcopy(template)
            rs_template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = phash
            selector = copy.deepcopy(spec.get("selector") or {"matchLabels": dict((template.get("metadata") or {}).get("labels") or {})})
            selector.setdefault("matchLabels", {})["pod-template-hash"] = phash
            has_old = any(int((r.get("spec") or {}).get("replicas", 0)) > 0 for r in old)
            body = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": {"name": "%s-%s" % (meta["name"], phash), "namespace": ns,
                                 "labels": dict(rs_template["metadata"]["labels"]),
                                 "annotations": {"deployment.kubernetes.io/revision": revision,
                                                 "deployment.kubernetes.io/desired-replicas": str(desired),
                                                 "deployment.kubernetes.io/max-replicas": str(desired + 1)},
                                 "ownerReferences": [owner_ref(dep, "Deployment", "apps/v1")]},
                    "spec": {"replicas": 0 if has_old else desired, "selector": selector, "template": rs_template}}
            try:
                new = self._create("replicasets", "apps/v1", "replicasets", ns, body)
                klog.info('"Scaled up replica set" deployment="%s/%s" replicaSet="%s"' % (ns, meta["name"], body["metadata"]["name"]),
                          "event.go:294")
            except api.ApiError as err:
                klog.error("deployment %s/%s: create replicaset: %s" % (ns, meta["name"], err))
                return
        strategy = spec.get("strategy") or {}
        old_active = [r for r in old if int((r.get("spec") or {}).get("replicas", 0)) > 0]
        new_replicas = int((new.get("spec") or {}).get("replicas", 0))
        if strategy.get("type") == "Recreate":
            for r in old_active:
                self._scale(r, 0)
            if not any(self.pods_of(r) for r in old):
                self._scale(new, desired)
        else:
            ru = strategy.get("rollingUpdate") or {}
            old_tuples = [(r["metadata"]["name"], int(r["spec"].get("replicas", 0)),
                           int((r.get("status") or {}).get("availableReplicas", 0))) for r in old_active]
            target_new = scale_up_new(desired, new_replicas, sum(r for _n, r, _a in old_tuples),
                                      ru.get("maxSurge"), ru.get("maxUnavailable"))
            if not old_active:
                target_new = desired
            if target_new != new_replicas:
                new = self._scale(new, target_new)
            new_available = int((new.get("status") or {}).get("availableReplicas", 0))
            targets = scale_down_old(desired, new_available, old_tuples, ru.get("maxUnavailable"))
            for r in old_active:
                if targets.get(r["metadata"]["name"], 0) < int(r["spec"].get("replicas", 0)):
                    self._scale(r, targets[r["metadata"]["name"]])
        owned = [self.inf["replicasets"].get("%s/%s" % (ns, r["metadata"]["name"])) or r for r in owned + [new]]
        seen = {}
        for r in owned:
            seen[r["metadata"]["name"]] = r
        total = sum(int((r.get("status") or {}).get("replicas", 0)) for r in seen.values())
        available = sum(int((r.get("status") or {}).get("availableReplicas", 0)) for r in seen.values())
        ready = sum(int((r.get("status") or {}).get("readyReplicas", 0)) for r in seen.values())
        new_now = seen.get(new["metadata"]["name"], new)
        updated = int((new_now.get("status") or {}).get("replicas", 0))
        now = api.now_rfc3339()
        status = {"observedGeneration": meta.get("generation", 1), "replicas": total, "updatedReplicas": updated,
                  "readyReplicas": ready, "availableReplicas": available,
                  "unavailableReplicas": max(0, desired - available),
                  "conditions": [
                      {"type": "Available", "status": "True" if available >= desired - resolve_int_or_percent(
                          (strategy.get("rollingUpdate") or {}).get("maxUnavailable"), desired, False) else "False",
                       "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability.",
                       "lastUpdateTime": now, "lastTransitionTime": now},
                      {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable" if updated == desired
                       and available >= desired else "ReplicaSetUpdated",
                       "message": 'ReplicaSet "%s" is progressing.' % new["metadata"]["name"],
                       "lastUpdateTime": now, "lastTransitionTime": now}]}
        current = dep.get("status") or {}
        comparable = {k: v for k, v in status.items() if k != "conditions"}
        if any(current.get(k) != v for k, v in comparable.items()) or not current.get("conditions"):
            self._set_status("deployments", "apps/v1", "deployments", dep, status)
        revision = (new_now["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision")
        if revision and (meta.get("annotations") or {}).get("deployment.kubernetes.io/revision") != revision:
            try:
                patched = self.client.merge_patch(path("apps/v1", "deployments", ns, meta["name"]),
                                                  {"metadata": {"annotations": {"deployment.kubernetes.io/revision": revision}}})
                self.inf["deployments"].put(patched)
            except api.ApiError as err:
                klog.v(2, "annotate deployment: %s" % err)

    def _scale(self, rs, replicas):
        meta = rs["metadata"]
        try:
            patched = self.client.merge_patch(path("apps/v1", "replicasets", meta.get("namespace"), meta["name"]),
                                              {"spec": {"replicas": replicas}})
            self.inf["replicasets"].put(patched)
            klog.info('"Scaled replica set" replicaSet="%s/%s" replicas=%d' % (meta.get("namespace"), meta["name"], replicas),
                      "event.go:294")
            return patched
        except api.ApiError as err:
            klog.error("scale %s: %s" % (meta["name"], err))
            return rs

    # DaemonSets ----------------------------------------------------------------------------------
    def sync_daemonset(self, ds):
        meta, spec = ds["metadata"], ds.get("spec") or {}
        ns = meta.get("namespace")
        template = spec.get("template") or {}
        revision_hash = template_hash(template)[:10]
        from lab.emulator.scheduler import node_matches_affinity, tolerates
        nodes = self.inf["nodes"].list()
        probe = {"spec": copy.deepcopy(template.get("spec") or {})}
        # The DaemonSet controller adds these tolerations to every daemon pod.
        extra_tolerations = [{"key": k, "operator": "Exists", "effect": e} for k, e in (
            ("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
            ("node.kubernetes.io/disk-pressure", "NoSchedule"), ("node.kubernetes.io/memory-pressure", "NoSchedule"),
            ("node.kubernetes.io/unschedulable", "NoSchedule"))]
        probe["spec"]["tolerations"] = list(probe["spec"].get("tolerations") or []) + extra_tolerations
        eligible = []
        for node in nodes:
            if not node_matches_affinity(probe, node):
                continue
            taints = (node.get("spec") or {}).get("taints") or []
            if any(t.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(probe, t) for t in taints):
                continue
            eligible.append(node["metadata"]["name"])
        pods = [p for p in self.pods_of(ds) if pod_active(p)]
        by_node = {}
        for pod in pods:
            by_node.setdefault(self._daemon_node(pod), []).append(pod)
        for node_name in eligible:
            if node_name in by_node:
                continue
            pod_spec = {"tolerations": probe["spec"]["tolerations"]}
            if self.minor >= 12:
                pod_spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                            "values": [node_name]}]}]}}}
            else:
                pod_spec["nodeName"] = node_name
            pod = self._new_pod(ds, "DaemonSet", "apps/v1", template, "%s-%s" % (meta["name"], random_suffix()),
                                pod_spec, {"controller-revision-hash": revision_hash, "pod-template-generation":
                                           str(meta.get("generation", 1))})
            try:
                self._create("pods", "v1", "pods", ns, pod)
            except api.ApiError as err:
                klog.error("daemonset %s/%s: %s" % (ns, meta["name"], err))
        for node_name, node_pods in by_node.items():
            if node_name not in eligible:
                for pod in node_pods:
                    self._delete_pod(pod)
            else:
                for pod in node_pods[1:]:
                    self._delete_pod(pod)
        # Rolling update, one unavailable at a time: replace an outdated pod only when all are ready.
        pods = [p for p in self.pods_of(ds) if pod_active(p)]
        outdated = [p for p in pods if (p["metadata"].get("labels") or {}).get("controller-revision-hash") != revision_hash]
        if outdated and (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate":
            if all(pod_ready(p) for p in pods):
                self._delete_pod(outdated[0])
        pods = [p for p in self.pods_of(ds) if pod_active(p)]
        ready = sum(1 for p in pods if pod_ready(p))
        updated = sum(1 for p in pods if (p["metadata"].get("labels") or {}).get("controller-revision-hash") == revision_hash)
        status = {"desiredNumberScheduled": len(eligible), "currentNumberScheduled": len(pods),
                  "numberMisscheduled": 0, "numberReady": ready, "numberAvailable": ready,
                  "numberUnavailable": max(0, len(eligible) - ready), "updatedNumberScheduled": updated,
                  "observedGeneration": meta.get("generation", 1)}
        self._set_status("daemonsets", "apps/v1", "daemonsets", ds, status)

    @staticmethod
    def _daemon_node(pod):
        spec = pod.get("spec") or {}
        terms = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                 .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or []
        for term in terms:
            for field in term.get("matchFields") or []:
                if field.get("key") == "metadata.name" and field.get("values"):
                    return field["values"][0]
        return spec.get("nodeName")

    # StatefulSets --------------------------------------------------------------------------------
    def sync_statefulset(self, sts):
        meta, spec = sts["metadata"], sts.get("spec") or {}
        ns = meta.get("namespace")
        desired = int(spec.get("replicas", 1))
        template = spec.get("template") or {}
        revision = "%s-%s" % (meta["name"], template_hash(template)[:10])
        pods = {p["metadata"]["name"]: p for p in self.pods_of(sts) if pod_active(p)}
        parallel = spec.get("podManagementPolicy") == "Parallel"
        for ordinal in range(desired):
            name = "%s-%d" % (meta["name"], ordinal)
            if name in pods:
                if not parallel and not pod_ready(pods[name]):
                    break
                continue
            pod = self._new_pod(sts, "StatefulSet", "apps/v1", template, name,
                                {"hostname": name, "subdomain": spec.get("serviceName", "")},
                                {"controller-revision-hash": revision, "statefulset.kubernetes.io/pod-name": name})
            try:
                self._create("pods", "v1", "pods", ns, pod)
            except api.ApiError as err:
                klog.v(2, "statefulset %s: %s" % (name, err))
            if not parallel:
                break
        for name, pod in pods.items():
            try:
                ordinal = int(name.rsplit("-", 1)[1])
            except (ValueError, IndexError):
                continue
            if ordinal >= desired:
                self._delete_pod(pod)
        pods = {p["metadata"]["name"]: p for p in self.pods_of(sts) if pod_active(p)}
        if len(pods) == desired and all(pod_ready(p) for p in pods.values()):
            outdated = sorted((p for p in pods.values()
                               if (p["metadata"].get("labels") or {}).get("controller-revision-hash") != revision),
                              key=lambda p: -int(p["metadata"]["name"].rsplit("-", 1)[1]))
            if outdated and (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate":
                self._delete_pod(outdated[0])
        pods = [p for p in self.pods_of(sts) if pod_active(p)]
        ready = sum(1 for p in pods if pod_ready(p))
        updated = sum(1 for p in pods if (p["metadata"].get("labels") or {}).get("controller-revision-hash") == revision)
        status = {"observedGeneration": meta.get("generation", 1), "replicas": len(pods), "readyReplicas": ready,
                  "currentReplicas": updated, "updatedReplicas": updated, "currentRevision": revision,
                  "updateRevision": revision, "collisionCount": 0}
        if self.minor >= 22:
            status["availableReplicas"] = ready
        self._set_status("statefulsets", "apps/v1", "statefulsets", sts, status)

    # Nodes ---------------------------------------------------------------------------------------
    def sync_node(self, node, now):
        name = node["metadata"]["name"]
        lease = self.inf["leases"].get("kube-node-lease/%s" % name) if "leases" in self.inf else None
        age = heartbeat_age(node, lease, now)
        stale = (age is None or age > self.grace) and now - self.started > self.grace
        conditions = (node.get("status") or {}).get("conditions") or []
        ready = next((c for c in conditions if c.get("type") == "Ready"), None)
        taints = list((node.get("spec") or {}).get("taints") or [])
        has_taint = any(t.get("key") == UNREACHABLE_TAINT for t in taints)
        if stale and ready is not None and ready.get("status") != "Unknown":
            stamp = api.now_rfc3339()
            new_conditions = []
            for cond in conditions:
                cond = dict(cond)
                cond.update({"status": "Unknown", "reason": "NodeStatusUnknown",
                             "message": "Kubelet stopped posting node status.", "lastTransitionTime": stamp})
                new_conditions.append(cond)
            klog.info('"Node is NotReady" node="%s" heartbeatAge="%s"' % (name, age), "node_lifecycle_controller.go:1200")
            try:
                self.client.merge_patch(path("v1", "nodes", name=name, sub="status"), {"status": {"conditions": new_conditions}})
            except api.ApiError as err:
                klog.v(2, "node %s status: %s" % (name, err))
        if stale:
            self.mark_pods_not_ready(name)
        if stale and not has_taint and self.minor >= 12:
            taints.append({"key": UNREACHABLE_TAINT, "effect": "NoSchedule", "timeAdded": api.now_rfc3339()})
            self._patch_taints(name, taints)
        elif not stale and has_taint and node_ready(node):
            self._patch_taints(name, [t for t in taints if t.get("key") != UNREACHABLE_TAINT])

    def mark_pods_not_ready(self, node_name):
        """MarkPodsNotReady: the pods of an unreachable node stop counting as Ready."""
        for pod in self.inf["pods"].list():
            if (pod.get("spec") or {}).get("nodeName") != node_name or not pod_ready(pod):
                continue
            conditions = []
            for cond in (pod.get("status") or {}).get("conditions") or []:
                cond = dict(cond)
                if cond.get("type") == "Ready":
                    cond.update({"status": "False", "lastTransitionTime": api.now_rfc3339()})
                conditions.append(cond)
            meta = pod["metadata"]
            try:
                patched = self.client.merge_patch(path("v1", "pods", meta.get("namespace"), meta["name"], "status"),
                                                  {"status": {"conditions": conditions}})
                self.inf["pods"].put(patched)
            except api.ApiError as err:
                klog.v(2, "mark pod %s not ready: %s" % (meta["name"], err))

    def _patch_taints(self, name, taints):
        try:
            patched = self.client.merge_patch(path("v1", "nodes", name=name), {"spec": {"taints": taints or None}})
            self.inf["nodes"].put(patched)
        except api.ApiError as err:
            klog.v(2, "node %s taints: %s" % (name, err))

    # Misc ----------------------------------------------------------------------------------------
    def sync_service_accounts(self):
        have = {(sa["metadata"].get("namespace"), sa["metadata"]["name"]) for sa in self.inf["serviceaccounts"].list()}
        for ns in self.inf["namespaces"].list():
            name = ns["metadata"]["name"]
            if (ns.get("status") or {}).get("phase") == "Terminating" or (name, "default") in have:
                continue
            try:
                self._create("serviceaccounts", "v1", "serviceaccounts", name,
                             {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": name}})
            except api.ApiError as err:
                if err.status != 409:
                    klog.v(2, "serviceaccount %s/default: %s" % (name, err))

    def collect_garbage(self):
        owners = {}
        for informer, kind in (("replicasets", "ReplicaSet"), ("daemonsets", "DaemonSet"),
                               ("statefulsets", "StatefulSet"), ("deployments", "Deployment")):
            for obj in self.inf[informer].list():
                owners[obj["metadata"].get("uid")] = kind
        for pod in self.inf["pods"].list():
            ref = owner_of(pod)
            if ref and ref.get("kind") in ("ReplicaSet", "DaemonSet", "StatefulSet") and ref.get("uid") not in owners \
                    and pod_active(pod) and self._owner_gone(pod, ref):
                self._delete_pod(pod)
        for rs in self.inf["replicasets"].list():
            ref = owner_of(rs)
            if ref and ref.get("kind") == "Deployment" and ref.get("uid") not in owners and self._owner_gone(rs, ref):
                meta = rs["metadata"]
                self.client.delete(path("apps/v1", "replicasets", meta.get("namespace"), meta["name"]))

    def _owner_gone(self, obj, ref):
        """Ask the API, as the garbage collector does, before deleting a dependent: the cache may
        not have seen a new owner yet."""
        resource = {"ReplicaSet": "replicasets", "DaemonSet": "daemonsets", "StatefulSet": "statefulsets",
                    "Deployment": "deployments"}[ref["kind"]]
        owner = self.client.get_or_none(path("apps/v1", resource, obj["metadata"].get("namespace"), ref.get("name")))
        return owner is None or owner["metadata"].get("uid") != ref.get("uid")

    def sync_all(self):
        now = time.time()
        self._by_owner = None
        for name, fn in (("deployments", self.sync_deployment), ("replicasets", self.sync_replicaset),
                         ("daemonsets", self.sync_daemonset), ("statefulsets", self.sync_statefulset)):
            for obj in self.inf[name].list():
                if obj["metadata"].get("deletionTimestamp"):
                    continue
                try:
                    fn(obj)
                except (api.ApiError, OSError) as err:
                    klog.error("%s %s: %s" % (name, obj["metadata"].get("name"), err))
        for node in self.inf["nodes"].list():
            try:
                self.sync_node(node, now)
            except (api.ApiError, OSError) as err:
                klog.error("node lifecycle: %s" % err)
        try:
            self.sync_service_accounts()
            self.collect_garbage()
        except (api.ApiError, OSError) as err:
            klog.error("gc: %s" % err)

    def run(self):
        health.install_stop(self.stop)
        serve_health(self.opts, 10257, 10252)
        elector = None
        if self.opts.get_bool("leader-elect", True):
            elector = LeaderElector(self.client, "kube-controller-manager", self.minor)
            if not elector.run(self.stop):
                return 0
        self.started = time.time()

        def poke(_etype, _obj):
            self.wake.set()

        sources = {"pods": ("v1", "pods"), "nodes": ("v1", "nodes"), "namespaces": ("v1", "namespaces"),
                   "serviceaccounts": ("v1", "serviceaccounts"), "deployments": ("apps/v1", "deployments"),
                   "replicasets": ("apps/v1", "replicasets"), "daemonsets": ("apps/v1", "daemonsets"),
                   "statefulsets": ("apps/v1", "statefulsets")}
        if self.minor >= 14:
            sources["leases"] = ("coordination.k8s.io/v1", "leases")
        for name, (gv, resource) in sources.items():
            self.inf[name] = Informer(self.client, path(gv, resource), self.stop, poke).start()
        while not self.stop.is_set():
            if elector is not None and elector.lost.is_set():
                klog.error("leaderelection lost", "controllermanager.go:294")
                return 1
            self.wake.wait(1.0)
            self.wake.clear()
            if all(i.synced.is_set() for i in self.inf.values()):
                self.sync_all()
        return 0


def run(opts):
    if not opts.get("kubeconfig"):
        klog.error('"command failed" err="lab kube-controller-manager needs --kubeconfig"', "run.go:74")
        return 1
    return ControllerManager(opts).run()
