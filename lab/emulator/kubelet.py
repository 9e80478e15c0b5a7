"""Emulated kubelet: registers its Node, heartbeats (node status and, from 1.14, a Lease in
kube-node-lease), watches the pods bound to it and "runs" their containers in the lab runtime
state (<root-dir>/lab-runtime/containers.json, read by the emulated crictl), labelling each with
io.kubernetes.container.hash computed by THIS release's rule (lab/facts/kubelet.py). On start it
recomputes every running container's hash and restarts (new ID, restartCount + 1) those whose hash
differs, as a real kubelet does after an in-place upgrade.

Fault markers (directory /etc/kubernetes/lab-faults, or $LAB_FAULTS_DIR):
- kubelet-never-ready: the Ready condition stays False (a marker that lists versions or minors,
  e.g. "1.31.14" or "v1.31", applies only to kubelets of those).
- kubelet-strict-checkpoints: refuse to start when a checkpoint (cpu_manager_state,
  memory_manager_state, device-plugins/kubelet_internal_checkpoint) was written by an older minor;
  checkpoint names in the marker limit it to those, versions to kubelets of those versions.
"""

import json
import os
import socket
import threading
import time
import uuid

from lab.emulator import client as api
from lab.emulator import health, klog
from lab.emulator import runtime_state as rs
from lab.facts import kubelet as kfacts

FAULTS_DIR = "/etc/kubernetes/lab-faults"
NEVER_READY = "kubelet-never-ready"
STRICT_CHECKPOINTS = "kubelet-strict-checkpoints"
TERMINATION_MESSAGE_PATH = "/dev/termination-log"


def faults_dir(env=None):
    return (env or os.environ).get("LAB_FAULTS_DIR", FAULTS_DIR)


def fault_words(name, env=None):
    """None when the marker is absent, else the words it holds (possibly none)."""
    path = os.path.join(faults_dir(env), name)
    if not os.path.exists(path):
        return None
    return _read(path).split()


def fault_on(name, env=None, version=None):
    """A marker switches the fault on; when it holds versions or minors ("1.31.14", "v1.31", one per
    word) it applies only to kubelets of those, so a switched-back kubelet is not affected. Other
    words (checkpoint names for kubelet-strict-checkpoints) do not restrict the version."""
    words = fault_words(name, env)
    if words is None:
        return False
    versions = [w.lstrip("v") for w in words if w.lstrip("v")[:1].isdigit()]
    if not versions or version is None:
        return True
    return any(version == w or version.startswith(w + ".") for w in versions)


def _read(path, default=""):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return default


def os_image():
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return "Linux"


def mem_kib():
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return 4 * 1024 * 1024


# --- checkpoints --------------------------------------------------------------------------------

def _checkpoint_body(name, version):
    if name == "cpu_manager_state":
        body = {"policyName": "none", "defaultCpuSet": "", "entries": {}}
    elif name == "memory_manager_state":
        body = {"policyName": "None", "machineState": {}, "entries": {}}
    else:
        body = {"Data": {"PodDeviceEntries": None, "RegisteredDevices": {}}}
    # The lab's versioned format: which kubelet wrote it (real checkpoints carry only a checksum).
    body["labKubeletVersion"] = version
    body["checksum"] = kfacts.fnv32a(json.dumps(body, sort_keys=True).encode())
    return body


def check_checkpoints(root_dir, version, minor, strict, only=None):
    """Returns an error message when strict and a checkpoint was written by an older minor (the
    first one, in the order the kubelet's managers start; `only` limits the check to those names)."""
    if not strict:
        return None
    for name in kfacts.CHECKPOINT_FILES:
        if only and name not in only and os.path.basename(name) not in only:
            continue
        path = os.path.join(root_dir, name)
        if not os.path.exists(path):
            continue
        try:
            with open(path) as handle:
                written = json.load(handle).get("labKubeletVersion", "")
            written_minor = int(written.split(".")[1])
        except (OSError, ValueError, IndexError, AttributeError):
            written, written_minor = "unknown", -1
        if written_minor < minor:
            return ('"Failed to start ContainerManager" err="could not restore state from checkpoint %s: '
                    'written by kubelet v%s, this kubelet v%s does not accept checkpoints of an older minor '
                    '(lab fault %s); move the file aside and restart the kubelet"'
                    % (path, written, version, STRICT_CHECKPOINTS))
    return None


def write_checkpoints(root_dir, version, minor):
    for name in kfacts.checkpoint_files(minor):
        path = os.path.join(root_dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "w") as handle:
            json.dump(_checkpoint_body(os.path.basename(name), version), handle)
        os.replace(tmp, path)


def status_digest(status):
    """The parts of a pod status the kubelet owns, without timestamps."""
    return json.dumps({
        "phase": status.get("phase"), "podIP": status.get("podIP"), "hostIP": status.get("hostIP"),
        "conditions": sorted((c.get("type"), c.get("status")) for c in status.get("conditions") or []),
        "containers": [(s.get("name"), s.get("ready"), s.get("restartCount"), s.get("containerID"),
                        sorted((s.get("state") or {}).keys()),
                        ((s.get("state") or {}).get("waiting") or {}).get("reason"))
                       for s in status.get("containerStatuses") or []],
    }, sort_keys=True)


# --- the kubelet ----------------------------------------------------------------------------------

class Kubelet(object):
    def __init__(self, opts, cl=None):
        self.opts = opts
        self.version = opts.version
        self.minor = opts.minor
        self.name = (opts.get("hostname-override") or socket.gethostname()).lower()
        self.node_ip = opts.get("node-ip") or opts.get("address") or "127.0.0.1"
        if self.node_ip == "0.0.0.0":
            self.node_ip = "127.0.0.1"
        self.root = opts.get("root-dir", "/var/lib/kubelet")
        self.status_every = health.parse_duration(opts.get("node-status-update-frequency"), 10.0)
        self.client = cl or api.Client.from_kubeconfig(opts.get("kubeconfig"), user_agent="kubelet/v%s" % self.version)
        self.stop = threading.Event()
        self.lock = threading.RLock()
        self.pods = {}
        self.dirty = threading.Event()
        self.state = rs.load(self.root)
        self.reported = {}
        self.pod_ip_seq = 1
        self.node_registered = False
        self.mutated = False
        self.failed_pods = set()  # pods whose CreateContainerError was logged (once each, not every sync)

    # Node ----------------------------------------------------------------------------------------
    def node_info(self):
        machine_id = _read("/etc/machine-id") or uuid.uuid5(uuid.NAMESPACE_DNS, self.name).hex
        system_uuid = _read("/sys/class/dmi/id/product_uuid") or str(uuid.uuid5(uuid.NAMESPACE_URL, self.name))
        return {
            "machineID": machine_id,
            "systemUUID": system_uuid,
            "bootID": _read("/proc/sys/kernel/random/boot_id") or str(uuid.uuid4()),
            "kernelVersion": os.uname().release,
            "osImage": os_image(),
            "containerRuntimeVersion": "containerd://%s" % rs.RUNTIME_VERSION,
            "kubeletVersion": "v%s" % self.version,
            "kubeProxyVersion": "v%s" % self.version,
            "operatingSystem": "linux",
            "architecture": "amd64",
        }

    def conditions(self):
        now = api.now_rfc3339()
        never_ready = fault_on(NEVER_READY, self.opts.env, self.version)
        previous = getattr(self, "_transitions", {})
        out = []
        for ctype, status, reason, message in (
                ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                ("Ready", "False" if never_ready else "True",
                 "KubeletNotReady" if never_ready else "KubeletReady",
                 "lab fault %s: container runtime network not ready" % NEVER_READY if never_ready
                 else "kubelet is posting ready status")):
            last = previous.get(ctype)
            transition = last[1] if last and last[0] == status else now
            previous[ctype] = (status, transition)
            out.append({"type": ctype, "status": status, "reason": reason, "message": message,
                        "lastHeartbeatTime": now, "lastTransitionTime": transition})
        self._transitions = previous
        return out

    def node_status(self):
        cpus = str(os.cpu_count() or 2)
        mem = "%dKi" % mem_kib()
        capacity = {"cpu": cpus, "memory": mem, "pods": "110", "ephemeral-storage": "20Gi",
                    "hugepages-2Mi": "0"}
        return {
            "capacity": capacity,
            "allocatable": dict(capacity),
            "conditions": self.conditions(),
            "addresses": [{"type": "InternalIP", "address": self.node_ip}, {"type": "Hostname", "address": self.name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.opts.get_int("port", 10250)}},
            "nodeInfo": self.node_info(),
            "images": [],
        }

    def node_labels(self):
        labels = {"kubernetes.io/hostname": self.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                  "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64"}
        for pair in (self.opts.get("node-labels") or "").split(","):
            if "=" in pair:
                key, value = pair.split("=", 1)
                labels[key.strip()] = value.strip()
        return labels

    def register(self):
        path = api.path_for("v1", "nodes")
        body = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": self.name, "labels": self.node_labels(),
                             "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                             "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
                "spec": {}, "status": self.node_status()}
        try:
            self.client.create(path, body)
            klog.info('"Successfully registered node" node="%s"' % self.name, "kubelet_node_status.go:76")
        except api.ApiError as err:
            if err.status != 409:
                raise
            self.client.merge_patch(api.path_for("v1", "nodes", name=self.name), {"metadata": {"labels": self.node_labels()}})
            self.update_node_status()
        self.node_registered = True

    def update_node_status(self):
        self.client.merge_patch(api.path_for("v1", "nodes", name=self.name, subresource="status"),
                                {"status": self.node_status()})

    def renew_lease(self):
        if self.minor < 14:
            return
        path = api.path_for("coordination.k8s.io/v1", "leases", "kube-node-lease", self.name)
        now = api.now_micro()
        lease = self.client.get_or_none(path)
        if lease is None:
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": self.name, "namespace": "kube-node-lease"},
                    "spec": {"holderIdentity": self.name, "leaseDurationSeconds": 40, "renewTime": now}}
            node = self.client.get_or_none(api.path_for("v1", "nodes", name=self.name))
            if node:
                body["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": self.name,
                                                        "uid": node["metadata"].get("uid", "")}]
            try:
                self.client.create(api.path_for("coordination.k8s.io/v1", "leases", "kube-node-lease"), body)
            except api.ApiError as err:
                if err.status == 404:
                    # The namespace is made by the apiserver; create it if this lab apiserver did not.
                    self.client.create(api.path_for("v1", "namespaces"), {
                        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-node-lease"}})
                elif err.status != 409:
                    raise
            return
        lease.setdefault("spec", {})
        lease["spec"].update({"holderIdentity": self.name, "leaseDurationSeconds": 40, "renewTime": now})
        self.client.update(path, lease)

    def heartbeat_loop(self):
        last_status = 0.0
        while not self.stop.is_set():
            try:
                if not self.node_registered:
                    self.register()
                    last_status = time.time()
                elif time.time() - last_status >= self.status_every:
                    self.update_node_status()
                    last_status = time.time()
                self.renew_lease()
            except (api.ApiError, OSError) as err:
                klog.error('"Error updating node status, will retry" err="%s"' % err, "kubelet_node_status.go:549")
            self.stop.wait(min(self.status_every, 10.0))

    # Pods ----------------------------------------------------------------------------------------
    def on_list(self, items):
        with self.lock:
            self.pods = {p["metadata"]["uid"]: p for p in items}
        self.dirty.set()

    def on_event(self, etype, pod):
        uid = pod["metadata"]["uid"]
        with self.lock:
            if etype == "DELETED":
                self.pods.pop(uid, None)
            else:
                self.pods[uid] = pod
        self.dirty.set()

    def pod_ip(self, pod):
        if (pod.get("spec") or {}).get("hostNetwork"):
            return self.node_ip
        sandbox = self.state["sandboxes"].get(pod["metadata"]["uid"])
        if sandbox:
            return sandbox["ip"]
        used = {s["ip"] for s in self.state["sandboxes"].values()}
        third = sum(bytearray(self.name.encode())) % 250 + 1
        while True:
            ip = "10.244.%d.%d" % (third, self.pod_ip_seq % 250 + 2)
            self.pod_ip_seq += 1
            if ip not in used:
                return ip

    def ensure_sandbox(self, pod):
        meta = pod["metadata"]
        uid = meta["uid"]
        sandbox = self.state["sandboxes"].get(uid)
        if sandbox is None:
            sandbox = {
                "id": rs.new_id("sandbox", uid), "uid": uid, "name": meta["name"], "namespace": meta.get("namespace", "default"),
                "createdAt": rs.now_ns(), "ip": self.pod_ip(pod), "labels": dict(meta.get("labels") or {}),
                "state": "SANDBOX_READY", "startTime": api.now_rfc3339(),
            }
            self.state["sandboxes"][uid] = sandbox
            self.mutated = True
        return sandbox

    def containers_of(self, uid):
        return [c for c in self.state["containers"].values() if c["podUid"] == uid]

    def start_container(self, pod, sandbox, container, expected_hash, attempt):
        self.mutated = True
        cid = rs.new_id("container", sandbox["uid"], container["name"], attempt)
        now = rs.now_ns()
        meta = pod["metadata"]
        self.state["containers"][cid] = {
            "id": cid, "podSandboxId": sandbox["id"], "podUid": sandbox["uid"], "name": container["name"],
            "attempt": attempt, "image": container.get("image", ""), "state": "CONTAINER_RUNNING",
            "createdAt": now, "startedAt": now, "finishedAt": 0, "exitCode": 0, "reason": "",
            "labels": {"io.kubernetes.container.name": container["name"], "io.kubernetes.pod.name": meta["name"],
                       "io.kubernetes.pod.namespace": meta.get("namespace", "default"),
                       "io.kubernetes.pod.uid": sandbox["uid"]},
            "annotations": {
                "io.kubernetes.container.hash": expected_hash,
                "io.kubernetes.container.restartCount": str(attempt),
                "io.kubernetes.container.terminationMessagePath":
                    container.get("terminationMessagePath", TERMINATION_MESSAGE_PATH),
                "io.kubernetes.container.terminationMessagePolicy": container.get("terminationMessagePolicy", "File"),
                "io.kubernetes.pod.terminationGracePeriod":
                    str((pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30)),
            },
            "kubeletVersion": self.version,
        }
        return self.state["containers"][cid]

    def stop_container(self, record, reason="Completed", exit_code=0):
        self.mutated = True
        record["state"] = "CONTAINER_EXITED"
        record["finishedAt"] = rs.now_ns()
        record["reason"] = reason
        record["exitCode"] = exit_code

    def sync_pod(self, pod):
        """Bring the runtime state of one pod in line with its spec; returns the pod status."""
        meta, spec = pod["metadata"], pod.get("spec") or {}
        uid = meta["uid"]
        sandbox = self.ensure_sandbox(pod)
        defaulted = ((meta.get("annotations") or {}).get(kfacts.DEFAULTED_ANNOTATION) or "").split(",")
        unknown = kfacts.unknown_incident_fields(spec, self.minor, defaulted)
        statuses = []
        for container in spec.get("containers") or []:
            name = container["name"]
            mine = sorted((c for c in self.containers_of(uid) if c["name"] == name), key=lambda c: c["attempt"])
            running = [c for c in mine if c["state"] == "CONTAINER_RUNNING"]
            if unknown:
                if uid not in self.failed_pods:
                    self.failed_pods.add(uid)
                    klog.error('"Error syncing pod, skipping" err="failed to \\"StartContainer\\" for \\"%s\\" with '
                               'CreateContainerError: PodSpec field(s) %s unknown to kubelet v%s" pod="%s/%s" podUID="%s"'
                               % (name, ", ".join(unknown), self.version, meta.get("namespace"), meta["name"], uid),
                               "pod_workers.go:1298")
                statuses.append({
                    "name": name, "ready": False, "restartCount": 0, "image": container.get("image", ""),
                    "imageID": "", "started": False, "lastState": {},
                    "state": {"waiting": {"reason": "CreateContainerError", "message": (
                        "kubelet v%s cannot run this pod: PodSpec field(s) %s unknown to this release "
                        "(lab incident rule, see lab/facts/kubelet.py INCIDENT_FIELDS)"
                        % (self.version, ", ".join(unknown)))}}})
                continue
            expected = kfacts.container_hash_hex(container, self.minor)
            current = running[-1] if running else None
            if current is not None and current["annotations"]["io.kubernetes.container.hash"] != expected:
                klog.info('"Container definition changed, will be restarted" pod="%s/%s" containerName="%s" '
                          'oldHash="%s" newHash="%s"' % (meta.get("namespace"), meta["name"], name,
                                                         current["annotations"]["io.kubernetes.container.hash"], expected),
                          "kuberuntime_manager.go:1001")
                self.stop_container(current, reason="Completed", exit_code=0)
                current = self.start_container(pod, sandbox, container, expected, current["attempt"] + 1)
            elif current is None:
                attempt = (mine[-1]["attempt"] + 1) if mine else 0
                current = self.start_container(pod, sandbox, container, expected, attempt)
            # Keep one exited predecessor per container, like the kubelet's container GC.
            exited = [c for c in mine if c["state"] != "CONTAINER_RUNNING" and c is not current]
            for old in exited[:-1]:
                self.state["containers"].pop(old["id"], None)
                self.mutated = True
            last_state = {}
            if exited:
                prev = exited[-1]
                last_state = {"terminated": {"exitCode": prev["exitCode"], "reason": prev["reason"],
                                             "startedAt": rs.rfc3339_from_ns(prev["startedAt"])[:19] + "Z",
                                             "finishedAt": rs.rfc3339_from_ns(prev["finishedAt"])[:19] + "Z",
                                             "containerID": "containerd://" + prev["id"]}}
            statuses.append({
                "name": name, "ready": True, "started": True, "restartCount": current["attempt"],
                "image": container.get("image", ""), "imageID": "docker.io/library/%s@%s" % (
                    container.get("image", "").split(":")[0], rs.image_ref(container.get("image", "")).replace("sha256:", "sha256:")),
                "containerID": "containerd://" + current["id"],
                "state": {"running": {"startedAt": rs.rfc3339_from_ns(current["startedAt"])[:19] + "Z"}},
                "lastState": last_state})
        all_ready = bool(statuses) and all(s["ready"] for s in statuses)
        start = sandbox["startTime"]

        def cond(ctype, ok):
            return {"type": ctype, "status": "True" if ok else "False", "lastProbeTime": None,
                    "lastTransitionTime": start}
        status = {
            "phase": "Pending" if unknown else "Running",
            "conditions": [cond("Initialized", True), cond("Ready", all_ready), cond("ContainersReady", all_ready),
                           cond("PodScheduled", True)],
            "hostIP": self.node_ip, "podIP": sandbox["ip"], "podIPs": [{"ip": sandbox["ip"]}],
            "startTime": start, "containerStatuses": statuses, "qosClass": "BestEffort",
        }
        if self.minor < 16:
            status.pop("podIPs")
        if spec.get("initContainers"):
            status["initContainerStatuses"] = [
                {"name": c["name"], "ready": True, "restartCount": 0, "image": c.get("image", ""), "imageID": "",
                 "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": start, "finishedAt": start}},
                 "lastState": {}} for c in spec["initContainers"]]
        return status

    def kill_pod(self, uid):
        for record in self.containers_of(uid):
            self.state["containers"].pop(record["id"], None)
        self.state["sandboxes"].pop(uid, None)

    def sync_all(self):
        with self.lock:
            pods = dict(self.pods)
        self.mutated = False
        changed = False
        for uid, pod in pods.items():
            meta = pod["metadata"]
            phase = (pod.get("status") or {}).get("phase")
            if meta.get("deletionTimestamp"):
                self.kill_pod(uid)
                changed = True
                try:
                    self.client.delete(api.path_for("v1", "pods", meta.get("namespace"), meta["name"]),
                                       {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
                                        "preconditions": {"uid": uid}})
                except api.ApiError as err:
                    klog.v(2, "delete pod %s: %s" % (meta["name"], err))
                self.reported.pop(uid, None)
                continue
            if phase in ("Succeeded", "Failed"):
                continue
            status = self.sync_pod(pod)
            # Report when the API's copy differs from what this kubelet sees (someone else, e.g. the
            # node lifecycle controller, may have changed it), but at most once per API version.
            signature = (status_digest(status), meta.get("resourceVersion"))
            if status_digest(pod.get("status") or {}) != signature[0] and self.reported.get(uid) != signature:
                try:
                    self.client.merge_patch(api.path_for("v1", "pods", meta.get("namespace"), meta["name"], "status"),
                                            {"status": status})
                    self.reported[uid] = signature
                except api.ApiError as err:
                    if err.status == 404:
                        with self.lock:
                            self.pods.pop(uid, None)
                    klog.v(2, "status of pod %s: %s" % (meta["name"], err))
        # Pods gone from the API: their containers go too.
        for uid in [u for u in self.state["sandboxes"] if u not in pods]:
            self.kill_pod(uid)
            self.reported.pop(uid, None)
            changed = True
        if changed or self.mutated or self.state.get("kubeletVersion") != self.version:
            self.state["kubeletVersion"] = self.version
            rs.save(self.root, self.state)

    def pod_loop(self, listed):
        while not self.stop.is_set():
            self.dirty.wait(2.0)
            self.dirty.clear()
            if not listed.is_set():
                continue
            try:
                self.sync_all()
            except (api.ApiError, OSError) as err:
                klog.error("sync pods: %s" % err, "kubelet.go:2040")

    def run(self):
        health.install_stop(self.stop)
        bind = self.opts.get("healthz-bind-address", "127.0.0.1")
        health.serve(bind, self.opts.get_int("healthz-port", 10248), {"/healthz": health.ok})
        write_checkpoints(self.root, self.version, self.minor)
        klog.info('"Starting kubelet" version="v%s" node="%s" rootDir="%s"' % (self.version, self.name, self.root),
                  "kubelet.go:1500")
        threading.Thread(target=self.heartbeat_loop, daemon=True).start()
        listed = threading.Event()

        def on_list(items):
            self.on_list(items)
            listed.set()

        threading.Thread(target=self.client.list_watch, daemon=True, kwargs={
            "path": api.path_for("v1", "pods"), "on_list": on_list, "on_event": self.on_event, "stop": self.stop,
            "timeout_seconds": 60, "fieldSelector": "spec.nodeName=%s" % self.name}).start()
        self.pod_loop(listed)
        klog.info("kubelet stopped", "kubelet.go:1600")
        return 0


def run(opts):
    root = opts.get("root-dir", "/var/lib/kubelet")
    words = fault_words(STRICT_CHECKPOINTS, opts.env) or []
    only = [w for w in words if not w.lstrip("v")[:1].isdigit()]
    error = check_checkpoints(root, opts.version, opts.minor, fault_on(STRICT_CHECKPOINTS, opts.env, opts.version),
                              only)
    if error:
        klog.error(error, "kubelet.go:1480")
        return 1
    if not opts.get("kubeconfig"):
        klog.error('"command failed" err="lab kubelet needs --kubeconfig (standalone mode is not emulated)"', "run.go:74")
        return 1
    os.makedirs(root, exist_ok=True)
    return Kubelet(opts).run()
