"""Start the lab's emulated kube-apiserver (lab/emulator) on loopback against a real etcd, for the
deprecated_apis and storage_migration integration tests and benchmarks/scan_manifests.py.

The etcd + apiserver plumbing is the lab's own (tests/integration/lab_api/conftest.py: Lab, Pki),
loaded from that file so there is one implementation; everything here is seeding and clients.
"""

import base64
import contextlib
import gzip
import importlib.util
import json
import os
import tempfile
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
LAB_FIXTURES = os.path.join(ROOT, "tests", "integration", "lab_api", "conftest.py")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


class LabUnavailable(Exception):
    pass


def _lab_classes():
    if not os.path.exists(LAB_FIXTURES) or not os.path.exists(os.path.join(ROOT, "lab", "emulator", "apiserver.py")):
        raise LabUnavailable("the lab apiserver (lab/emulator/apiserver.py, tests/integration/lab_api) is not in this checkout")
    import sys
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    spec = importlib.util.spec_from_file_location("lab_api_fixtures", LAB_FIXTURES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def deployment(name, namespace="default", api_version="apps/v1", applied=None):
    """A Deployment as a client would send it; `applied` adds kubectl's last-applied annotation."""
    body = {
        "apiVersion": api_version, "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "c", "image": "nginx:1.17"}]}}},
    }
    if applied:
        sent = json.loads(json.dumps(body))
        sent["apiVersion"] = applied
        body["metadata"]["annotations"] = {LAST_APPLIED: json.dumps(sent, separators=(",", ":")) + "\n"}
    return body


def helm_release_payload(name, namespace, revision, manifest):
    """Helm 3's encoding of a release: base64(gzip(JSON))."""
    release = {"name": name, "namespace": namespace, "version": revision, "info": {"status": "deployed"},
               "chart": {"metadata": {"name": name, "version": "0.1.0"}}, "manifest": manifest}
    return base64.b64encode(gzip.compress(json.dumps(release).encode())).decode()


def helm_secret(name, namespace, revision, manifest, status="deployed"):
    payload = helm_release_payload(name, namespace, revision, manifest)
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
        "metadata": {"name": "sh.helm.release.v1.%s.v%d" % (name, revision), "namespace": namespace,
                     "labels": {"owner": "helm", "name": name, "status": status, "version": str(revision)}},
        # Secret data is base64 of the bytes: Helm's base64 text gets a second layer.
        "data": {"release": base64.b64encode(payload.encode()).decode()},
    }


def helm_configmap(name, namespace, revision, manifest, status="deployed"):
    return {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "%s.v%d" % (name, revision), "namespace": namespace,
                     "labels": {"owner": "helm", "name": name, "status": status, "version": str(revision)}},
        "data": {"release": helm_release_payload(name, namespace, revision, manifest)},
    }


class LabServer(object):
    """One running release: its etcd, its apiserver, and helpers."""

    def __init__(self, lab):
        self.lab = lab
        self.version = lab.version
        self.url = lab.url

    def call(self, method, path, body=None):
        code, out = self.lab.call(method, path, body)
        if code >= 300:
            raise AssertionError("%s %s -> %s: %s" % (method, path, code, out))
        return out

    def create(self, body, plural):
        group_version = body["apiVersion"]
        base = "/apis/" + group_version if "/" in group_version else "/api/" + group_version
        namespace = body["metadata"].get("namespace")
        path = "%s/namespaces/%s/%s" % (base, namespace, plural) if namespace else "%s/%s" % (base, plural)
        return self.call("POST", path, body)

    def kubectl_apply(self, manifest):
        """`kubectl apply` with a real kubectl when the machine has one (it writes last-applied and a
        managedFields entry itself); returns False when there is none and nothing was done."""
        if self.lab.find_kubectl() is None:
            return False
        self.lab.kubectl("apply", "--validate=false", "-f", "-", input=manifest)
        return True

    def ensure_namespace(self, name):
        code, dummy = self.lab.call("GET", "/api/v1/namespaces/" + name)
        if code == 404:
            self.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def stored(self, key):
        """The object as etcd holds it (the apiserver stores the version it was last written with)."""
        kv = self.lab.store.get(key)
        return None if kv is None else json.loads(kv.value)

    def kubeconfig(self):
        return self.lab.kubeconfig()

    def kube_api(self):
        from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.k8s_api import KubeApi
        return KubeApi({"kubeconfig": self.kubeconfig()})

    def create_deployments(self, count, namespace="bench", batch=128):
        """Seed `count` Deployments straight into etcd, cloned from one created through the API
        (as objects an existing cluster already holds); half carry an extensions/v1beta1 last-applied."""
        self.ensure_namespace(namespace)
        template = self.create(deployment("seed-0", namespace, applied="extensions/v1beta1"), "deployments")
        raw = self.stored("/registry/deployments/%s/seed-0" % namespace)
        assert raw is not None, template
        items = []
        for i in range(1, count):
            obj = json.loads(json.dumps(raw))
            obj["metadata"]["name"] = "seed-%d" % i
            obj["metadata"]["uid"] = "00000000-0000-4000-8000-%012d" % i
            if i % 2:
                obj["metadata"].get("annotations", {}).pop(LAST_APPLIED, None)
            items.append(("/registry/deployments/%s/seed-%d" % (namespace, i), json.dumps(obj)))
            if len(items) >= 4096:
                self.lab.store.put_many(items, batch)
                items = []
        if items:
            self.lab.store.put_many(items, batch)


@contextlib.contextmanager
def running(version, directory=None):
    """A LabServer for `version`, stopped (by PID) and removed on exit."""
    fixtures = _lab_classes()
    base = directory or tempfile.mkdtemp(prefix="lab-apis-")
    lab = fixtures.Lab(base, version, fixtures.Pki(base))
    lab.find_kubectl = fixtures.find_kubectl
    try:
        lab.start_etcd()
        lab.start_apiserver()
        yield LabServer(lab)
    finally:
        lab.stop()
        if directory is None:
            shutil.rmtree(base, ignore_errors=True)
