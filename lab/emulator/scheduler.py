"""Emulated kube-scheduler: binds pending pods (spec.schedulerName default-scheduler, no nodeName)
to Ready, schedulable nodes that satisfy nodeSelector, required node affinity (incl. the
metadata.name matchFields the DaemonSet controller sets) and NoSchedule/NoExecute taints; spreads
by the number of pods per node. Leader election so that several can run; /healthz on the secure
port (HTTPS with --tls-cert-file) or, on releases that have it, the insecure --port."""

import threading

from lab.emulator import client as api
from lab.emulator import health, klog
from lab.emulator.informer import Informer, node_ready, path
from lab.emulator.leader import LeaderElector


def _match_expression(expr, value_of):
    key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
    value = value_of(key)
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt"):
        try:
            return value is not None and (int(value) > int(values[0]) if op == "Gt" else int(value) < int(values[0]))
        except (ValueError, IndexError):
            return False
    return False


def node_matches_affinity(pod, node):
    labels = (node.get("metadata") or {}).get("labels") or {}
    for key, value in ((pod.get("spec") or {}).get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    affinity = ((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {}
    required = affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or {}
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        return True
    fields = {"metadata.name": node["metadata"]["name"]}
    for term in terms:
        ok = all(_match_expression(e, labels.get) for e in term.get("matchExpressions") or [])
        ok = ok and all(_match_expression(e, fields.get) for e in term.get("matchFields") or [])
        if ok and (term.get("matchExpressions") or term.get("matchFields")):
            return True
    return False


def tolerates(pod, taint):
    for tol in (pod.get("spec") or {}).get("tolerations") or []:
        if tol.get("effect") and tol.get("effect") != taint.get("effect"):
            continue
        if tol.get("operator") == "Exists":
            if not tol.get("key") or tol.get("key") == taint.get("key"):
                return True
        elif tol.get("key") == taint.get("key") and tol.get("value", "") == taint.get("value", ""):
            return True
    return False


def feasible(pod, node):
    if not node_ready(node):
        return False
    spec = node.get("spec") or {}
    taints = list(spec.get("taints") or [])
    if spec.get("unschedulable"):
        taints.append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"})
    for taint in taints:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(pod, taint):
            return False
    return node_matches_affinity(pod, node)


def needs_scheduling(pod):
    spec = pod.get("spec") or {}
    meta = pod.get("metadata") or {}
    return (not spec.get("nodeName") and not meta.get("deletionTimestamp")
            and spec.get("schedulerName", "default-scheduler") == "default-scheduler"
            and (pod.get("status") or {}).get("phase", "Pending") == "Pending")


class Scheduler(object):
    def __init__(self, opts, cl=None):
        self.opts = opts
        self.client = cl or api.Client.from_kubeconfig(opts.get("kubeconfig"), user_agent="kube-scheduler/v%s" % opts.version)
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.reported_unschedulable = set()

    def schedule_once(self, pods, nodes):
        counts = {}
        for pod in pods.list():
            name = (pod.get("spec") or {}).get("nodeName")
            if name:
                counts[name] = counts.get(name, 0) + 1
        all_nodes = nodes.list()
        bound = 0
        for pod in pods.list():
            if not needs_scheduling(pod):
                continue
            meta = pod["metadata"]
            candidates = [n for n in all_nodes if feasible(pod, n)]
            if not candidates:
                if meta.get("uid") in self.reported_unschedulable:
                    continue
                self.reported_unschedulable.add(meta.get("uid"))
                klog.v(2, '"Unable to schedule pod; no fit" pod="%s/%s"' % (meta.get("namespace"), meta["name"]),
                       "schedule_one.go:890")
                continue
            node = min(candidates, key=lambda n: (counts.get(n["metadata"]["name"], 0), n["metadata"]["name"]))
            target = node["metadata"]["name"]
            binding = {"apiVersion": "v1", "kind": "Binding",
                       "metadata": {"name": meta["name"], "namespace": meta.get("namespace"), "uid": meta.get("uid")},
                       "target": {"apiVersion": "v1", "kind": "Node", "name": target}}
            try:
                self.client.create(path("v1", "pods", meta.get("namespace"), meta["name"], "binding"), binding)
            except api.ApiError as err:
                klog.v(2, "bind %s: %s" % (meta["name"], err))
                continue
            pod.setdefault("spec", {})["nodeName"] = target
            counts[target] = counts.get(target, 0) + 1
            bound += 1
            klog.info('"Successfully bound pod to node" pod="%s/%s" node="%s"' % (meta.get("namespace"), meta["name"], target),
                      "schedule_one.go:252")
        return bound

    def run(self):
        health.install_stop(self.stop)
        serve_health(self.opts, 10259, 10251)
        if self.opts.get_bool("leader-elect", True):
            elector = LeaderElector(self.client, "kube-scheduler", self.opts.minor)
            if not elector.run(self.stop):
                return 0
        else:
            elector = None

        def poke(_etype, _obj):
            self.wake.set()

        pods = Informer(self.client, path("v1", "pods"), self.stop, poke).start()
        nodes = Informer(self.client, path("v1", "nodes"), self.stop, poke).start()
        while not self.stop.is_set():
            if elector is not None and elector.lost.is_set():
                klog.error("leaderelection lost", "server.go:240")
                return 1
            self.wake.wait(2.0)
            self.wake.clear()
            if pods.synced.is_set() and nodes.synced.is_set():
                try:
                    self.schedule_once(pods, nodes)
                except (api.ApiError, OSError) as err:
                    klog.error("scheduling: %s" % err)
        return 0


def serve_health(opts, secure_default, insecure_default):
    """/healthz on the secure port (HTTPS when a cert is given), or the insecure --port where set."""
    routes = {"/healthz": health.ok, "/livez": health.ok, "/readyz": health.ok,
              "/metrics": lambda: (200, "text/plain", "# lab component metrics\n")}
    bind = opts.get("bind-address") or "127.0.0.1"
    if bind == "0.0.0.0":
        bind = "0.0.0.0"
    port = opts.get_int("secure-port", secure_default if opts.minor >= 12 else 0)
    if port:
        health.serve(bind, port, routes, opts.get("tls-cert-file"), opts.get("tls-private-key-file"))
    insecure = opts.get_int("port", insecure_default if opts.minor < 24 else 0)
    if insecure:
        health.serve(opts.get("address") or "127.0.0.1", insecure, routes)


def run(opts):
    if not opts.get("kubeconfig"):
        klog.error('"command failed" err="lab kube-scheduler needs --kubeconfig"', "run.go:74")
        return 1
    return Scheduler(opts).run()
