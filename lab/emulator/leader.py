"""Leader election for kube-controller-manager and kube-scheduler, with the lock each release used:
the `control-plane.alpha.kubernetes.io/leader` annotation on an Endpoints object before 1.20, both
Endpoints and a coordination.k8s.io Lease in 1.20-1.23 ("endpointsleases"), a Lease from 1.24
(kube-system/NAME). A record is free when its renewTime is older than leaseDurationSeconds."""

import json
import socket
import threading
import time
import uuid

from lab.emulator import client as api
from lab.emulator import klog

ANNOTATION = "control-plane.alpha.kubernetes.io/leader"


def lock_kinds(minor):
    if minor < 20:
        return ["endpoints"]
    if minor < 24:
        return ["endpoints", "lease"]
    return ["lease"]


class LeaderElector(object):
    def __init__(self, cl, name, minor, lease_duration=15, renew_deadline=10, retry_period=2, identity=None):
        self.client = cl
        self.name = name
        self.kinds = lock_kinds(minor)
        self.duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry = retry_period
        self.identity = identity or "%s_%s" % (socket.gethostname(), uuid.uuid4())
        self.leading = threading.Event()
        self.lost = threading.Event()

    def _path(self, kind, name=None):
        if kind == "lease":
            return api.path_for("coordination.k8s.io/v1", "leases", "kube-system", name)
        return api.path_for("v1", "endpoints", "kube-system", name)

    def _read(self, kind):
        obj = self.client.get_or_none(self._path(kind, self.name))
        if obj is None:
            return None, None
        if kind == "lease":
            spec = obj.get("spec") or {}
            record = {"holderIdentity": spec.get("holderIdentity", ""),
                      "leaseDurationSeconds": spec.get("leaseDurationSeconds", self.duration),
                      "renewTime": spec.get("renewTime", ""), "acquireTime": spec.get("acquireTime", ""),
                      "leaderTransitions": spec.get("leaseTransitions", 0)}
        else:
            text = ((obj.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION)
            record = json.loads(text) if text else {}
        return obj, record

    def _free_or_ours(self, record):
        if not record or not record.get("holderIdentity"):
            return True
        if record["holderIdentity"] == self.identity:
            return True
        renewed = api.parse_time(record.get("renewTime"))
        return time.time() > renewed + float(record.get("leaseDurationSeconds") or self.duration)

    def _write(self, kind, obj, record):
        now_micro = api.now_micro()
        if kind == "lease":
            spec = {"holderIdentity": self.identity, "leaseDurationSeconds": self.duration,
                    "acquireTime": record.get("acquireTime") or now_micro, "renewTime": now_micro,
                    "leaseTransitions": record.get("leaderTransitions", 0)}
            if obj is None:
                body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                        "metadata": {"name": self.name, "namespace": "kube-system"}, "spec": spec}
                self.client.create(self._path(kind), body)
            else:
                obj["spec"] = spec
                self.client.update(self._path(kind, self.name), obj)
            return
        now = api.now_rfc3339()
        value = json.dumps({"holderIdentity": self.identity, "leaseDurationSeconds": self.duration,
                            "acquireTime": record.get("acquireTime") or now, "renewTime": now,
                            "leaderTransitions": record.get("leaderTransitions", 0)})
        if obj is None:
            body = {"apiVersion": "v1", "kind": "Endpoints",
                    "metadata": {"name": self.name, "namespace": "kube-system", "annotations": {ANNOTATION: value}}}
            self.client.create(self._path(kind), body)
        else:
            obj.setdefault("metadata", {}).setdefault("annotations", {})[ANNOTATION] = value
            self.client.update(self._path(kind, self.name), obj)

    def try_acquire_or_renew(self):
        try:
            current = [(kind,) + self._read(kind) for kind in self.kinds]
            if not all(self._free_or_ours(record) for _kind, _obj, record in current):
                return False
            for kind, obj, record in current:
                record = dict(record or {})
                if record.get("holderIdentity") != self.identity:
                    record["acquireTime"] = ""
                    if record.get("holderIdentity"):
                        record["leaderTransitions"] = int(record.get("leaderTransitions") or 0) + 1
                self._write(kind, obj, record)
            return True
        except (api.ApiError, OSError) as err:
            klog.v(2, "error retrieving resource lock kube-system/%s: %s" % (self.name, err), "leaderelection.go:330")
            return False

    def run(self, stop):
        """Block until leading (returns True) or stop is set (False); then keep renewing in a thread."""
        klog.info("attempting to acquire leader lease kube-system/%s..." % self.name, "leaderelection.go:248")
        while not stop.is_set():
            if self.try_acquire_or_renew():
                klog.info("successfully acquired lease kube-system/%s" % self.name, "leaderelection.go:258")
                self.leading.set()
                threading.Thread(target=self._renew_loop, args=(stop,), daemon=True).start()
                return True
            stop.wait(self.retry)
        return False

    def _renew_loop(self, stop):
        last_ok = time.time()
        while not stop.is_set():
            stop.wait(self.retry)
            if self.try_acquire_or_renew():
                last_ok = time.time()
            elif time.time() - last_ok > self.renew_deadline:
                klog.error("leaderelection lost", "leaderelection.go:283")
                self.leading.clear()
                self.lost.set()
                return
