"""Workloads `up` seeds into a fresh lab, so upgrades and scanners have something real to act on.

Several namespaces with Deployments, DaemonSets, StatefulSets, PodDisruptionBudgets, Services,
ConfigMaps and a Helm 3 release record (Secret of type helm.sh/release.v1: base64 of gzip of the
release JSON with its `manifest`). Where the live apiserver serves them, some objects are written
with deprecated group/versions (e.g. extensions/v1beta1 Deployments on 1.15) and carry the
kubectl.kubernetes.io/last-applied-configuration annotation `kubectl apply` would leave.
Which group/versions are used is read from the server's discovery, not from a table.
"""

import base64
import copy
import gzip
import json

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
NAMESPACES = ("shop", "payments", "monitoring", "legacy")
PLURALS = {"Deployment": "deployments", "DaemonSet": "daemonsets", "StatefulSet": "statefulsets",
           "PodDisruptionBudget": "poddisruptionbudgets", "Service": "services", "ConfigMap": "configmaps",
           "Secret": "secrets", "Namespace": "namespaces", "Ingress": "ingresses", "CronJob": "cronjobs",
           "ReplicaSet": "replicasets"}


def served_group_versions(client):
    """{"group/version", "group/version/plural", ...}: what discovery says the server serves."""
    out = {"v1"}
    for group in (client.get("/apis") or {}).get("groups", []):
        for ver in group.get("versions", []):
            gv = ver["groupVersion"]
            out.add(gv)
            # extensions/v1beta1 outlived its workloads (served until 1.22 for Ingress): ask per resource.
            for res in (client.get(f"/apis/{gv}") or {}).get("resources", []):
                out.add(f"{gv}/{res['name']}")
    return out


def path_for(obj):
    gv = obj["apiVersion"]
    base = "/api/v1" if gv == "v1" else f"/apis/{gv}"
    plural = PLURALS[obj["kind"]]
    ns = obj["metadata"].get("namespace")
    return f"{base}/namespaces/{ns}/{plural}" if ns else f"{base}/{plural}"


def applied(obj):
    """OBJ as `kubectl apply` would write it: with its own last-applied-configuration annotation."""
    out = copy.deepcopy(obj)
    text = json.dumps(obj, separators=(",", ":"), sort_keys=True) + "\n"
    out["metadata"].setdefault("annotations", {})[LAST_APPLIED] = text
    return out


def _labels(app, tier=None):
    labels = {"app": app}
    if tier:
        labels["tier"] = tier
    return labels


def pod_template(app, image, port=None):
    container = {"name": app, "image": image, "imagePullPolicy": "IfNotPresent",
                 "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}
    if port:
        container["ports"] = [{"containerPort": port, "protocol": "TCP"}]
    return {"metadata": {"labels": _labels(app)}, "spec": {"containers": [container]}}


def deployment(ns, name, image, replicas, api_version="apps/v1", port=None):
    return {"apiVersion": api_version, "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": _labels(name)},
            "spec": {"replicas": replicas, "selector": {"matchLabels": _labels(name)},
                     "template": pod_template(name, image, port)}}


def daemonset(ns, name, image, api_version="apps/v1"):
    return {"apiVersion": api_version, "kind": "DaemonSet",
            "metadata": {"name": name, "namespace": ns, "labels": _labels(name)},
            "spec": {"selector": {"matchLabels": _labels(name)}, "template": pod_template(name, image)}}


def statefulset(ns, name, image, replicas, service):
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": name, "namespace": ns, "labels": _labels(name)},
            "spec": {"replicas": replicas, "serviceName": service, "selector": {"matchLabels": _labels(name)},
                     "template": pod_template(name, image, 5432)}}


def service(ns, name, port, headless=False):
    spec = {"selector": _labels(name), "ports": [{"name": "main", "port": port, "targetPort": port, "protocol": "TCP"}]}
    if headless:
        spec["clusterIP"] = "None"
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns, "labels": _labels(name)},
            "spec": spec}


def pdb(ns, name, api_version, min_available=1):
    return {"apiVersion": api_version, "kind": "PodDisruptionBudget", "metadata": {"name": name, "namespace": ns},
            "spec": {"minAvailable": min_available, "selector": {"matchLabels": _labels(name)}}}


def configmap(ns, name, data):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data}


HELM_MANIFEST = """---
# Source: web/templates/deployment.yaml
apiVersion: extensions/v1beta1
kind: Deployment
metadata:
  name: web-frontend
  labels:
    app: web-frontend
spec:
  replicas: 2
  template:
    metadata:
      labels:
        app: web-frontend
    spec:
      containers:
      - name: web-frontend
        image: registry.example/web-frontend:2.4.1
---
# Source: web/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: web-frontend
spec:
  selector:
    app: web-frontend
  ports:
  - port: 80
"""


def helm_release_payload(name, namespace, revision, manifest, chart="web", chart_version="2.4.1"):
    """What Helm 3 stores in the Secret's `release` key: base64(gzip(JSON))."""
    release = {
        "name": name, "namespace": namespace, "version": revision,
        "info": {"status": "deployed", "description": "Install complete",
                 "first_deployed": "2020-05-04T10:00:00Z", "last_deployed": "2020-05-04T10:00:00Z"},
        "chart": {"metadata": {"name": chart, "version": chart_version, "apiVersion": "v2", "appVersion": chart_version}},
        "config": {}, "manifest": manifest,
    }
    return base64.b64encode(gzip.compress(json.dumps(release).encode())).decode()


def helm_release_secret(name, namespace, revision, manifest):
    payload = helm_release_payload(name, namespace, revision, manifest)
    return {"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
            "metadata": {"name": f"sh.helm.release.v1.{name}.v{revision}", "namespace": namespace,
                         "labels": {"owner": "helm", "name": name, "status": "deployed", "version": str(revision)}},
            # Secret data is base64 of the value: Helm's base64 string, encoded once more.
            "data": {"release": base64.b64encode(payload.encode()).decode()}}


def objects(served):
    """Every object to seed, given the set of served group/versions."""
    objs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {"lab.clusterops/seed": "true"}}}
            for ns in NAMESPACES]
    objs += [
        configmap("shop", "web-config", {"LISTEN": ":8080", "FEATURES": "cart,search"}),
        configmap("payments", "api-config", {"PROVIDER": "sandbox"}),
        configmap("monitoring", "exporter-config", {"interval": "30s"}),
        applied(deployment("shop", "web", "registry.example/web:1.8.2", 3, port=8080)),
        applied(service("shop", "web", 8080)),
        deployment("shop", "cart", "registry.example/cart:0.9.0", 2, port=9000),
        service("shop", "cart", 9000),
        applied(deployment("payments", "api", "registry.example/payments-api:3.1.0", 2, port=8443)),
        service("payments", "api", 8443),
        statefulset("payments", "db", "registry.example/postgres:11.7", 2, "db"),
        service("payments", "db", 5432, headless=True),
        applied(daemonset("monitoring", "node-exporter", "registry.example/node-exporter:0.18.1")),
        helm_release_secret("web-frontend", "shop", 1, HELM_MANIFEST),
    ]
    pdb_gv = "policy/v1" if "policy/v1" in served else "policy/v1beta1"
    objs += [pdb("shop", "web", pdb_gv, 2), pdb("payments", "db", pdb_gv, 1), pdb("payments", "api", pdb_gv, 1)]
    # Deprecated group/versions, where this release still serves them (written as kubectl apply would).
    if "extensions/v1beta1/deployments" in served:
        objs.append(applied(deployment("legacy", "old-web", "registry.example/old-web:0.3", 2, "extensions/v1beta1")))
    if "extensions/v1beta1/daemonsets" in served:
        objs.append(applied(daemonset("legacy", "old-agent", "registry.example/old-agent:1.0", "extensions/v1beta1")))
    if "apps/v1beta2/deployments" in served:
        objs.append(applied(deployment("legacy", "reporting", "registry.example/reporting:5.2", 1, "apps/v1beta2")))
    if "apps/v1beta1/deployments" in served:
        objs.append(applied(deployment("legacy", "batch-ui", "registry.example/batch-ui:1.1", 1, "apps/v1beta1")))
    return objs


def seed(client, version=None):
    """Create every seed object through the API (existing ones are left alone); return {kind: created}."""
    del version  # what is written depends on what the live server serves
    served = served_group_versions(client)
    counts = {}
    for obj in objects(served):
        if client.create(path_for(obj), obj):
            counts[obj["kind"]] = counts.get(obj["kind"], 0) + 1
    return counts
