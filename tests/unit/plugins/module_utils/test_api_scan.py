"""api_scan: classification, the manifest corpus built from the release table, Helm records,
live objects (last-applied, managedFields, served, paging) and merging of duplicates."""

import base64
import gzip
import json
import os

import pytest

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import api_scan
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.release_data.apis import DEPRECATED_APIS
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.versions import VersionError


def api_version(row):
    return "%s/%s" % (row["group"], row["version"]) if row["group"] else row["version"]


def scan(paths, target):
    sink = api_scan.Findings(api_scan.ApiTable(target))
    api_scan.scan_paths([str(p) for p in paths], sink)
    return sink


# ---------------------------------------------------------------- classification

@pytest.mark.parametrize("api_version_,kind,target,expected", [
    ("extensions/v1beta1", "Deployment", "1.7", None),
    ("extensions/v1beta1", "Deployment", "1.15", ("deprecated", "apps/v1", "1.9")),
    ("extensions/v1beta1", "Deployment", "1.16", ("removed", "apps/v1", "1.9")),
    ("extensions/v1beta1", "Deployment", "v1.37.2", ("removed", "apps/v1", "1.9")),
    ("apps/v1", "Deployment", "1.37", None),
    ("extensions/v1beta1", "Ingress", "1.13", None),
    ("extensions/v1beta1", "Ingress", "1.14", ("deprecated", "networking.k8s.io/v1", "1.19")),
    ("networking.k8s.io/v1beta1", "Ingress", "1.18", None),
    ("networking.k8s.io/v1beta1", "Ingress", "1.21", ("deprecated", "networking.k8s.io/v1", "1.19")),
    ("networking.k8s.io/v1beta1", "Ingress", "1.22", ("removed", "networking.k8s.io/v1", "1.19")),
    # The replacement chain is followed while the replacement is itself gone at the target.
    ("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema", "1.26", ("removed", "flowcontrol.apiserver.k8s.io/v1beta2", "1.23")),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema", "1.30", ("removed", "flowcontrol.apiserver.k8s.io/v1", "1.29")),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfiguration", "1.31", ("deprecated", "flowcontrol.apiserver.k8s.io/v1", "1.29")),
    ("extensions/v1beta1", "PodSecurityPolicy", "1.25", ("removed", None, None)),
    ("policy/v1beta1", "PodSecurityPolicy", "1.24", ("deprecated", None, None)),
    ("batch/v1beta1", "CronJob", "1.25.0", ("removed", "batch/v1", "1.21")),
    ("storage.k8s.io/v1beta1", "VolumeAttributesClass", "1.36", ("deprecated", "storage.k8s.io/v1", "1.34")),
    ("storage.k8s.io/v1beta1", "VolumeAttributesClass", "1.37", ("removed", "storage.k8s.io/v1", "1.34")),
    ("resource.k8s.io/v1beta1", "ResourceClaim", "1.37", ("deprecated", "resource.k8s.io/v1", "1.34")),
    ("apps/v1beta1", "Deployment", "1.12", ("deprecated", "apps/v1", "1.9")),
    ("example.com/v1alpha1", "Widget", "1.37", None),
    ("extensions/v1beta1", "Widget", "1.37", None),
])
def test_classify(api_version_, kind, target, expected):
    if target == "1.7":
        with pytest.raises(VersionError):
            api_scan.ApiTable(target)
        return
    got = api_scan.ApiTable(target).classify(api_version_, kind)
    if expected is None:
        assert got is None
    else:
        assert (got["status"], got["replacement"], got["replacement_available_in"]) == expected


@pytest.mark.parametrize("target,message", [
    ("1.9", "1.10 to 1.37"),
    ("1.38", "1.10 to 1.37"),
    ("one.sixteen", "not valid"),
    ("", "not valid"),
])
def test_unknown_target_is_a_clear_error(target, message):
    with pytest.raises(VersionError, match=message):
        api_scan.ApiTable(target)


@pytest.mark.parametrize("statuses,rc", [((), 0), (("deprecated",), 2), (("deprecated", "removed"), 3), (("removed",), 3)])
def test_exit_code(statuses, rc):
    assert api_scan.exit_code([{"status": s} for s in statuses]) == rc


# ---------------------------------------------------------------- the manifest corpus

def manifest_doc(row, name, namespace="corpus"):
    meta = {"name": name}
    if row["namespaced"]:
        meta["namespace"] = namespace
    return {"apiVersion": api_version(row), "kind": row["kind"], "metadata": meta, "spec": {"x": [1, 2]}}


def corpus_name(tag, row):
    return "%s-%s-%s-%s" % (tag, row["kind"].lower(), row["group"].replace(".", "-") or "core", row["version"])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Every row of the table, written several ways; returns (root, {(file tag, row key): line})."""
    import yaml
    root = tmp_path_factory.mktemp("corpus")
    lines = {}
    # One multi-document YAML file per removal release, in nested directories.
    for release in sorted(set(r["removed_in"] or "none" for r in DEPRECATED_APIS)):
        folder = root / "by-release" / release.replace(".", "_")
        folder.mkdir(parents=True)
        rows = [r for r in DEPRECATED_APIS if (r["removed_in"] or "none") == release]
        text, line = "# generated from the release table\n", 2
        for row in rows:
            text += "---\n"
            line += 1
            lines[("multi", api_version(row), row["kind"])] = line
            body = yaml.safe_dump(manifest_doc(row, corpus_name("multi", row)), default_flow_style=False)
            text += body
            line += body.count("\n")
        (folder / "objects.yaml").write_text(text)
    # A v1 List and a JSON List with every row as items; a typed DeploymentList.
    (root / "lists").mkdir()
    (root / "lists" / "all.yml").write_text(yaml.safe_dump(
        {"apiVersion": "v1", "kind": "List", "items": [manifest_doc(r, corpus_name("list", r)) for r in DEPRECATED_APIS]}))
    (root / "lists" / "all.json").write_text(json.dumps(
        {"apiVersion": "v1", "kind": "List", "items": [manifest_doc(r, corpus_name("json", r)) for r in DEPRECATED_APIS]}, indent=1))
    (root / "lists" / "typed.yaml").write_text(
        "apiVersion: extensions/v1beta1\nkind: DeploymentList\nitems:\n- metadata: {name: typed, namespace: corpus}\n")
    # Helm-templated leftovers, non-Kubernetes YAML, a broken document between two good ones.
    (root / "chart" / "templates").mkdir(parents=True)
    (root / "chart" / "templates" / "deployment.yaml").write_text(
        "{{- if .Values.enabled }}\napiVersion: extensions/v1beta1\nkind: Deployment\nmetadata:\n"
        "  name: {{ include \"x.fullname\" . }}\n{{- end }}\n---\napiVersion: apps/v1beta2\nkind: StatefulSet\n"
        "metadata:\n  name: {{ .Release.Name }}\n")
    (root / "chart" / "values.yaml").write_text("replicaCount: 1\nimage:\n  repository: nginx\n")
    (root / "playbook.yml").write_text("- hosts: all\n  tasks:\n    - name: ping\n      ansible.builtin.ping:\n")
    (root / "compose.yaml").write_text("version: '3'\nservices:\n  web:\n    image: nginx\n")
    (root / "notes.txt").write_text("apiVersion: extensions/v1beta1\nkind: Deployment\n")  # not a manifest suffix
    (root / ".git").mkdir()
    (root / ".git" / "old.yaml").write_text("apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: hidden}\n")
    (root / "broken.yaml").write_text(
        "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata:\n  name: before\n  namespace: corpus\n"
        "---\napiVersion: v1\nkind: ConfigMap\ndata: [unclosed\n"
        "---\napiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: after\n  namespace: corpus\n")
    return root, lines


def test_corpus_every_row_found_in_every_form(corpus):
    root, lines = corpus
    sink = scan([root], "1.37")
    findings = sink.findings()
    by_name = dict((f["name"], f) for f in findings)
    for row in DEPRECATED_APIS:
        expected = "removed" if row["removed_in"] else "deprecated"
        for tag in ("multi", "list", "json"):
            finding = by_name[corpus_name(tag, row)]
            assert (finding["api_version"], finding["kind"], finding["status"]) == (api_version(row), row["kind"], expected)
            assert finding["namespace"] == ("corpus" if row["namespaced"] else None)
            assert finding["source"] == "manifest"
            assert finding["deprecated_in"] == row["deprecated_in"] and finding["removed_in"] == row["removed_in"]
        # file:line of each document of the multi-document files
        location = by_name[corpus_name("multi", row)]["location"]
        assert location.endswith("objects.yaml:%d" % lines[("multi", api_version(row), row["kind"])])
        assert os.sep + "by-release" + os.sep in location
    assert by_name["typed"]["api_version"] == "extensions/v1beta1" and by_name["typed"]["kind"] == "Deployment"
    assert by_name["before"]["location"].endswith("broken.yaml:1")
    assert by_name["after"]["location"].endswith("broken.yaml:11")
    assert "hidden" not in by_name  # hidden directories are skipped
    assert len(findings) == 3 * len(DEPRECATED_APIS) + 3
    summary = sink.summary()
    assert summary["by_status"] == {"removed": 3 * sum(1 for r in DEPRECATED_APIS if r["removed_in"]) + 3,
                                    "deprecated": 3 * sum(1 for r in DEPRECATED_APIS if not r["removed_in"])}
    assert summary["by_source"]["manifest"] == len(findings)
    assert summary["templated_documents"] == 2
    assert summary["ignored_documents"] >= 3  # values.yaml, playbook, compose
    assert sink.errors == [{"path": str(root / "broken.yaml"), "line": 10,
                            "message": sink.errors[0]["message"]}]
    assert "document starting at line 6" in sink.errors[0]["message"]


@pytest.mark.parametrize("release", sorted(set(r["removed_in"] for r in DEPRECATED_APIS if r["removed_in"])))
def test_corpus_at_each_removal_release(corpus, release):
    """At each release that removes something, exactly its rows and the earlier ones are 'removed'."""
    root, dummy = corpus
    by_name = dict((f["name"], f) for f in scan([root / "by-release"], release).findings())
    for row in DEPRECATED_APIS:
        finding = by_name.get(corpus_name("multi", row))
        if row["removed_in"] and api_scan.parse_version(row["removed_in"]) <= api_scan.parse_version(release):
            assert finding["status"] == "removed"
        elif api_scan.parse_version(row["deprecated_in"]) <= api_scan.parse_version(release):
            assert finding["status"] == "deprecated"
        else:
            assert finding is None


def test_single_file_and_json_fallback(tmp_path):
    path = tmp_path / "one.manifest"
    path.write_text('{"apiVersion": "extensions/v1beta1",\t"kind": "Ingress", "metadata": {"name": "i", "namespace": "n"}}')
    findings = scan([path], "1.22").findings()
    assert [(f["name"], f["status"], f["location"]) for f in findings] == [("i", "removed", "%s:1" % path)]


def test_merge_keys_and_anchors(tmp_path):
    path = tmp_path / "anchors.yaml"
    path.write_text("base: &meta {name: anchored, namespace: n}\n---\napiVersion: batch/v1beta1\nkind: CronJob\n"
                    "metadata:\n  <<: {name: merged, namespace: n}\n")
    findings = scan([path], "1.25").findings()
    assert [(f["name"], f["namespace"], f["location"]) for f in findings] == [("merged", "n", "%s:3" % path)]


def test_unreadable_and_missing_paths(tmp_path):
    assert api_scan.check_paths([str(tmp_path / "nope")]) == ["%s does not exist" % (tmp_path / "nope")]
    sink = api_scan.Findings(api_scan.ApiTable("1.16"))
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "gone.yaml").symlink_to(tmp_path / "missing-target.yaml")
    api_scan.scan_paths([str(folder)], sink)
    assert len(sink.errors) == 1 and sink.errors[0]["path"].endswith("gone.yaml")
    assert "cannot read file" in sink.errors[0]["message"]


# ---------------------------------------------------------------- Helm 3 records

HELM_MANIFEST = """---
# Source: web/templates/deployment.yaml
apiVersion: extensions/v1beta1
kind: Deployment
metadata:
  name: web
---
# Source: web/templates/ingress.yaml
apiVersion: networking.k8s.io/v1beta1
kind: Ingress
metadata:
  name: web
  namespace: other
---
# Source: web/templates/svc.yaml
apiVersion: v1
kind: Service
metadata:
  name: web
"""


def helm_payload(release):
    """What Helm 3 writes: base64(gzip(JSON))."""
    return base64.b64encode(gzip.compress(json.dumps(release).encode()))


def helm_record(kind, name, revision, status, manifest=HELM_MANIFEST, namespace="shop"):
    release = {"name": name, "namespace": namespace, "version": revision, "info": {"status": status}, "manifest": manifest}
    payload = helm_payload(release)
    data = base64.b64encode(payload).decode() if kind == "Secret" else payload.decode()  # Secrets add their own base64
    return {
        "kind": kind,
        "type": "helm.sh/release.v1" if kind == "Secret" else None,
        "metadata": {"name": "sh.helm.release.v1.%s.v%d" % (name, revision), "namespace": namespace,
                     "labels": {"owner": "helm", "name": name, "version": str(revision), "status": status}},
        "data": {"release": data},
    }


@pytest.mark.parametrize("layers", ["secret", "configmap", "plain-json", "gzip-only"])
def test_decode_helm_release(layers):
    release = {"name": "r", "version": 3, "manifest": "x"}
    raw = json.dumps(release).encode()
    value = {
        "secret": base64.b64encode(helm_payload(release)),
        "configmap": helm_payload(release),
        "plain-json": base64.b64encode(raw),
        "gzip-only": base64.b64encode(gzip.compress(raw)),
    }[layers]
    assert api_scan.decode_helm_release(value.decode()) == release


@pytest.mark.parametrize("value,message", [
    ("not base64 !!", "base64"),
    (base64.b64encode(b"\x1f\x8bbroken").decode(), "gzip"),
    (base64.b64encode(b"{broken").decode(), "JSON"),
    (base64.b64encode(b"[1, 2]").decode(), "JSON"),
])
def test_decode_helm_release_errors(value, message):
    with pytest.raises(api_scan.HelmDecodeError, match=message):
        api_scan.decode_helm_release(value)


def test_helm_latest_deployed_revision_only():
    records = [
        helm_record("Secret", "web", 1, "superseded", manifest="apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: old}\n"),
        helm_record("Secret", "web", 2, "deployed"),
        helm_record("Secret", "web", 3, "failed", manifest="apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: failed}\n"),
        helm_record("ConfigMap", "db", 4, "deployed", manifest="apiVersion: apps/v1beta1\nkind: StatefulSet\nmetadata: {name: db}\n"),
        helm_record("ConfigMap", "db", 7, "deployed", manifest="apiVersion: apps/v1beta2\nkind: StatefulSet\nmetadata: {name: db}\n"),
    ]
    corrupt = helm_record("Secret", "bad", 1, "deployed")
    corrupt["data"]["release"] = "%%%"
    sink = api_scan.Findings(api_scan.ApiTable("1.22"))
    api_scan.scan_helm_records(records + [corrupt], sink)
    found = sorted((f["api_version"], f["kind"], f["namespace"], f["name"], f["location"]) for f in sink.findings())
    assert found == [
        ("apps/v1beta2", "StatefulSet", "shop", "db", "helm release shop/db revision 7 (manifest line 1)"),
        ("extensions/v1beta1", "Deployment", "shop", "web",
         "helm release shop/web revision 2 (web/templates/deployment.yaml, manifest line 3)"),
        ("networking.k8s.io/v1beta1", "Ingress", "other", "web",
         "helm release shop/web revision 2 (web/templates/ingress.yaml, manifest line 9)"),
    ]
    assert sink.stats["helm_releases"] == 2
    assert [e["path"] for e in sink.errors] == ["Secret shop/sh.helm.release.v1.bad.v1"]


# ---------------------------------------------------------------- live objects and merging

def live_deployment(name, namespace="shop", applied="extensions/v1beta1", managed=("extensions/v1beta1",)):
    meta = {"name": name, "namespace": namespace, "annotations": {}, "managedFields": []}
    if applied:
        meta["annotations"][api_scan.LAST_APPLIED] = json.dumps({"apiVersion": applied, "kind": "Deployment", "metadata": {"name": name}})
    for version in managed:
        meta["managedFields"].append({"manager": "kubectl", "operation": "Update", "apiVersion": version})
    return {"metadata": meta}


class FakeApi:
    """Discovery and paginated lists from a dict; records every list request (pure-logic stand-in)."""

    def __init__(self, groups, resources, objects):
        self.groups, self.resources, self.objects = groups, resources, objects
        self.requests = []

    def get(self, path, query=None):
        if path == "/apis":
            return {"groups": [{"name": g, "versions": [{"version": v} for v in vs]} for g, vs in self.groups.items()]}
        raise AssertionError(path)

    def get_or_none(self, path, query=None):
        api_version = path[len("/apis/"):]
        if api_version not in self.resources:
            return None
        return {"resources": [{"name": r, "verbs": ["list", "get", "update"]} for r in self.resources[api_version]]}

    def list_pages(self, path, limit=500, query=None):
        items = self.objects.get(path, [])
        for start in range(0, max(len(items), 1), limit):
            self.requests.append((path, limit, start))
            yield {"items": items[start:start + limit], "metadata": {"continue": "t" if start + limit < len(items) else ""}}


def test_live_scan_pages_and_sources():
    deployments = [live_deployment("d%d" % i, applied="apps/v1", managed=("apps/v1",)) for i in range(7)]
    deployments[3] = live_deployment("d3")  # authored as extensions/v1beta1
    deployments[5] = live_deployment("d5", applied=None, managed=("apps/v1", "apps/v1beta2"))
    api = FakeApi(
        groups={"apps": ["v1", "v1beta1", "v1beta2"], "extensions": ["v1beta1"], "batch": ["v1beta1", "v1"]},
        resources={"apps/v1": ["deployments", "daemonsets"], "extensions/v1beta1": ["deployments", "ingresses"],
                   "batch/v1beta1": ["cronjobs"], "batch/v1": ["jobs"]},
        objects={"/apis/apps/v1/deployments": deployments,
                 "/apis/batch/v1beta1/cronjobs": [{"metadata": {"name": "c", "namespace": "shop"}}]},
    )
    sink = api_scan.Findings(api_scan.ApiTable("1.16"))
    listed = api_scan.scan_cluster(api, sink, page_size=2)
    assert [r for r in api.requests if r[0] == "/apis/apps/v1/deployments"] == [
        ("/apis/apps/v1/deployments", 2, 0), ("/apis/apps/v1/deployments", 2, 2),
        ("/apis/apps/v1/deployments", 2, 4), ("/apis/apps/v1/deployments", 2, 6)]
    assert {"api_version": "apps/v1", "resource": "deployments", "kind": "Deployment", "objects": 7} in listed
    # Deployments are listed through apps/v1 (newest served), never through extensions too.
    assert not any(r[0].startswith("/apis/extensions/v1beta1/deployments") for r in api.requests)
    found = dict(((f["name"], f["api_version"]), f) for f in sink.findings())
    assert sorted(found) == [("d3", "extensions/v1beta1"), ("d5", "apps/v1beta2")]
    assert [s["source"] for s in found[("d3", "extensions/v1beta1")]["sources"]] == ["last-applied", "managed-fields"]
    assert found[("d5", "apps/v1beta2")]["location"] == "shop/d5 (manager kubectl, operation Update)"
    # CronJob at 1.16 is not deprecated yet (1.21): batch/v1beta1 listed only when it matters.
    assert not any(r[0].startswith("/apis/batch") for r in api.requests)
    sink25 = api_scan.Findings(api_scan.ApiTable("1.25"))
    api_scan.scan_cluster(api, sink25, page_size=2)
    served = [f for f in sink25.findings() if f["kind"] == "CronJob"]
    assert [(f["name"], f["source"], f["status"]) for f in served] == [("c", "served", "removed")]


def test_duplicates_from_several_sources_are_one_finding(tmp_path):
    (tmp_path / "web.yaml").write_text("apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n")
    sink = api_scan.Findings(api_scan.ApiTable("1.16"))
    api_scan.scan_paths([str(tmp_path)], sink)
    api_scan.scan_helm_records([helm_record("Secret", "web", 2, "deployed")], sink)
    api_scan.record_live_object(live_deployment("web"), "apps/v1", "Deployment", sink)
    api_scan.record_live_object(live_deployment("web"), "apps/v1", "Deployment", sink)  # listed twice: no duplicate source
    findings = [f for f in sink.findings() if f["kind"] == "Deployment"]
    assert len(findings) == 1
    assert [s["source"] for s in findings[0]["sources"]] == ["manifest", "helm", "last-applied", "managed-fields"]
    assert findings[0]["source"] == "manifest" and findings[0]["location"] == "%s:1" % (tmp_path / "web.yaml")
    summary = sink.summary()
    # The release's networking.k8s.io/v1beta1 Ingress is fine at 1.16 (deprecated in 1.19).
    assert summary["by_source"] == {"manifest": 1, "helm": 1, "last-applied": 1, "managed-fields": 1, "served": 0}
    assert summary["by_status"] == {"removed": 1, "deprecated": 0}


def test_cluster_scoped_kinds_ignore_a_stray_namespace(tmp_path):
    (tmp_path / "a.yaml").write_text("apiVersion: rbac.authorization.k8s.io/v1beta1\nkind: ClusterRole\nmetadata: {name: r, namespace: x}\n")
    (tmp_path / "b.yaml").write_text("apiVersion: rbac.authorization.k8s.io/v1beta1\nkind: ClusterRole\nmetadata: {name: r}\n")
    findings = scan([tmp_path], "1.22").findings()
    assert len(findings) == 1 and findings[0]["namespace"] is None and len(findings[0]["sources"]) == 2
