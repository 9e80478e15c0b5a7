"""Helpers of the lab_nodes tests: real etcd + the emulated kube-apiserver (the lab_api fixtures' Lab), and the emulated
node and control-plane components started through their real entry point
(`python -m lab.emulator NAME --lab-version=X.Y.Z ...`) on loopback, each with its own ports and
state directory, stopped by PID."""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _lab_api():
    """The lab_api tests' Lab/Pki helpers (one etcd + apiserver per release), loaded by path so that
    the two test folders' module names cannot clash."""
    path = os.path.join(ROOT, "tests", "integration", "lab_api", "labapi_support.py")
    spec = importlib.util.spec_from_file_location("lab_nodes_labapi_support", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LAB_API = _lab_api()
free_port = LAB_API.free_port


def wait_until(fn, timeout=30.0, interval=0.5, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %ss waiting for %s (last: %r)" % (timeout, what, last))


def serving_flags(version):
    """Health ports for a scheduler/controller-manager of that release: secure serving from 1.12,
    the insecure --port only before (and switched off while it still exists)."""
    minor = int(version.split(".")[1])
    if minor < 12:
        return ["--port=%d" % free_port(), "--address=127.0.0.1"]
    return ["--secure-port=%d" % free_port()] + (["--port=0"] if minor < 24 else [])


class Cluster(object):
    """An apiserver of one release plus any number of emulated components around it."""

    def __init__(self, tmp, api_version):
        self.dir = tmp
        self.lab = LAB_API.Lab(tmp, api_version, LAB_API.Pki(tmp))
        self.procs = {}
        self.faults = os.path.join(tmp, "faults")
        os.makedirs(self.faults, exist_ok=True)

    def start(self):
        self.lab.start_etcd()
        self.lab.start_apiserver()
        return self

    def kubeconfig(self, name, cn, orgs=()):
        return self.lab.kubeconfig(name, self.lab.pki.issue(name, cn, orgs))

    def run(self, key, component, version, args):
        env = dict(os.environ, PYTHONPATH=ROOT, LAB_FAULTS_DIR=self.faults)
        log = open(os.path.join(self.dir, "%s.log" % key), "ab")
        proc = subprocess.Popen([sys.executable, "-m", "lab.emulator", component, "--lab-version=" + version] + args,
                                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
        self.procs[key] = proc
        return proc

    def stop(self, key):
        proc = self.procs.pop(key, None)
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(5)

    def root_dir(self, node):
        return os.path.join(self.dir, "kubelet-" + node)

    def start_kubelet(self, node, version, extra=()):
        kubeconfig = self.kubeconfig("kubelet-" + node, "system:node:" + node, ["system:nodes"])
        return self.run("kubelet-" + node, "kubelet", version, [
            "--kubeconfig=" + kubeconfig, "--hostname-override=" + node, "--node-ip=127.0.0.1",
            "--root-dir=" + self.root_dir(node), "--healthz-port=%d" % free_port(),
            "--node-status-update-frequency=2s", "--v=2"] + list(extra))

    def start_scheduler(self, version, key="scheduler"):
        kubeconfig = self.kubeconfig(key, "system:kube-scheduler")
        return self.run(key, "kube-scheduler", version, ["--kubeconfig=" + kubeconfig, "--v=2"] + serving_flags(version))

    def start_controller_manager(self, version, key="kcm", extra=()):
        kubeconfig = self.kubeconfig(key, "system:kube-controller-manager")
        return self.run(key, "kube-controller-manager", version,
                        ["--kubeconfig=" + kubeconfig, "--v=2"] + serving_flags(version) + list(extra))

    def call(self, method, path, body=None):
        kw = {"ctype": "application/merge-patch+json"} if method == "PATCH" else {}
        code, data = self.lab.call(method, path, body, **kw)
        if code >= 400:
            raise AssertionError("%s %s -> %s %s" % (method, path, code, data))
        return data

    def crictl(self, node, *args):
        env = dict(os.environ, PYTHONPATH=ROOT, LAB_KUBELET_ROOT_DIR=self.root_dir(node))
        out = subprocess.run([sys.executable, "-m", "lab.emulator", "crictl", "--lab-version=1.30.0"] + list(args),
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True)
        return json.loads(out.stdout) if "-o" in args or "inspect" in args else out.stdout

    def log(self, key):
        with open(os.path.join(self.dir, "%s.log" % key)) as handle:
            return handle.read()

    def close(self):
        for key in list(self.procs):
            self.stop(key)
        self.lab.stop()
