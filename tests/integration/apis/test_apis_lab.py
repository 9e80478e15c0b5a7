"""deprecated_apis and storage_migration against the lab's emulated kube-apiserver 1.15 (real etcd).

An extensions/v1beta1 Deployment written with kubectl's last-applied annotation is found through
last-applied and managedFields, Helm 3 release records (Secret and ConfigMap) are found, lists go in
pages, and storage_migration re-stores the Deployment as apps/v1 in etcd (check mode writes nothing).
"""

import json
import os
import subprocess
import sys

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import k8s_api
from ansible_collections.clusterops.k8s_upgrade.plugins.modules import deprecated_apis, storage_migration

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lab_server  # noqa: E402  pylint: disable=wrong-import-position

ROOT = lab_server.ROOT
HELM_MANIFEST = """---
# Source: db/templates/statefulset.yaml
apiVersion: apps/v1beta2
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
---
# Source: db/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: db
"""


def run(module, args, check_mode=False, capsys=None):
    args = dict(args)
    if check_mode:
        args["_ansible_check_mode"] = True
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def seeded(lab15):
    lab15.ensure_namespace("shop")
    web = lab_server.deployment("web", "shop", api_version="extensions/v1beta1")
    del web["spec"]["selector"]  # extensions/v1beta1 defaults it from the template labels
    if not lab15.kubectl_apply(json.dumps(web)):
        # No kubectl here: send what `kubectl apply` sends, annotation included.
        lab15.create(lab_server.deployment("web", "shop", api_version="extensions/v1beta1", applied="extensions/v1beta1"),
                     "deployments")
    for i in range(4):
        lab15.create(lab_server.deployment("modern-%d" % i, "shop", applied="apps/v1"), "deployments")
    lab15.create(lab_server.helm_secret("db", "shop", 1, HELM_MANIFEST.replace("apps/v1beta2", "apps/v1"), "superseded"), "secrets")
    lab15.create(lab_server.helm_secret("db", "shop", 2, HELM_MANIFEST), "secrets")
    lab15.create(lab_server.helm_configmap("cache", "shop", 3, HELM_MANIFEST.replace("name: db", "name: cache")), "configmaps")
    lab15.create({"apiVersion": "batch/v1beta1", "kind": "CronJob", "metadata": {"name": "nightly", "namespace": "shop"},
                  "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
                      "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}}}}, "cronjobs")
    return lab15


@pytest.fixture
def list_spy(monkeypatch):
    """Records every list request the module makes (the real requests still go to the lab)."""
    calls = []
    original = k8s_api.KubeApi.get

    def get(self, path, query=None):
        calls.append((path, dict(query or {})))
        return original(self, path, query)

    monkeypatch.setattr(k8s_api.KubeApi, "get", get)
    return calls


def test_scan_finds_last_applied_managed_fields_and_helm_in_pages(seeded, capsys, list_spy):
    stored = seeded.stored("/registry/deployments/shop/web")
    assert stored["apiVersion"] == "extensions/v1beta1"  # the lab keeps the version it was written with
    result = run(deprecated_apis, {"target_version": "1.16", "kubeconfig": seeded.kubeconfig(), "page_size": 2,
                                   "fail_on": "none"}, capsys=capsys)
    assert result["failed"] is False and result["rc"] == 3
    by_name = dict(((f["kind"], f["namespace"], f["name"]), f) for f in result["findings"])
    web = by_name[("Deployment", "shop", "web")]
    assert (web["api_version"], web["status"], web["replacement"]) == ("extensions/v1beta1", "removed", "apps/v1")
    assert [s["source"] for s in web["sources"]] == ["last-applied", "managed-fields"]
    assert web["location"] == "shop/web (annotation kubectl.kubernetes.io/last-applied-configuration)"
    db = by_name[("StatefulSet", "shop", "db")]
    assert (db["api_version"], db["source"]) == ("apps/v1beta2", "helm")
    assert db["location"] == "helm release shop/db revision 2 (db/templates/statefulset.yaml, manifest line 3)"
    cache = by_name[("StatefulSet", "shop", "cache")]
    assert cache["location"].startswith("helm release shop/cache revision 3")
    assert not [k for k in by_name if k[2].startswith("modern-")]
    assert result["summary"]["by_source"]["helm"] == 2 and result["summary"]["by_status"]["removed"] == 3
    # Deployments were listed through apps/v1 in pages of 2 following continue tokens.
    pages = [q for p, q in list_spy if p == "/apis/apps/v1/deployments"]
    assert len(pages) == 3 and all(q["limit"] == 2 for q in pages)
    assert "continue" not in pages[0] and all(q.get("continue") for q in pages[1:])
    assert {"api_version": "apps/v1", "resource": "deployments", "kind": "Deployment", "objects": 5} in result["listed"]
    assert all("limit" in q for p, q in list_spy if p.count("/") >= 4 and not p.startswith("/apis/apps/v1/namespaces"))


def test_scan_fails_on_removed_naming_the_objects(seeded, capsys):
    result = run(deprecated_apis, {"target_version": "1.16", "kubeconfig": seeded.kubeconfig()}, capsys=capsys)
    assert result["failed"] is True and result["rc"] == 3
    assert "removed extensions/v1beta1 Deployment (shop/web" in result["msg"]
    assert "helm release shop/db revision 2" in result["msg"]


def test_storage_migration_check_mode_then_rewrite(seeded, capsys):
    key = "/registry/deployments/shop/web"
    before = seeded.stored(key)
    result = run(storage_migration, {"target_version": "1.16", "kubeconfig": seeded.kubeconfig(), "page_size": 2},
                 check_mode=True, capsys=capsys)
    assert result["changed"] is True and result["current_version"] == "1.15.12"
    deployments = [r for r in result["resources"] if r["resource"] == "deployments"][0]
    assert (deployments["api_version"], deployments["method"], deployments["objects"], deployments["rewritten"]) == (
        "apps/v1", "rewrite", 5, 0)
    assert "shop/web" in deployments["names"]
    assert seeded.stored(key) == before  # check mode wrote nothing

    result = run(storage_migration, {"target_version": "1.16", "kubeconfig": seeded.kubeconfig(), "page_size": 2},
                 capsys=capsys)
    assert result["changed"] is True
    deployments = [r for r in result["resources"] if r["resource"] == "deployments"][0]
    assert (deployments["objects"], deployments["rewritten"], deployments["failed"]) == (5, 5, [])
    after = seeded.stored(key)
    assert after["apiVersion"] == "apps/v1"  # re-stored in the version the target still decodes
    assert after["spec"]["template"] == before["spec"]["template"] or after["spec"]["replicas"] == before["spec"]["replicas"]
    # The authored version still shows in last-applied: the scan keeps reporting it until re-applied.
    again = run(deprecated_apis, {"target_version": "1.16", "kubeconfig": seeded.kubeconfig(), "sources": ["cluster"],
                                  "fail_on": "none"}, capsys=capsys)
    assert [f["name"] for f in again["findings"] if f["kind"] == "Deployment"] == ["web"]


def test_served_only_through_a_removed_version(seeded, capsys):
    """1.15 serves CronJobs only as batch/v1beta1 (batch/v1 came in 1.21): every CronJob is a finding at 1.25."""
    result = run(deprecated_apis, {"target_version": "1.25", "kubeconfig": seeded.kubeconfig(), "sources": ["cluster"],
                                   "fail_on": "none"}, capsys=capsys)
    cron = [f for f in result["findings"] if f["kind"] == "CronJob"]
    assert [(f["name"], f["api_version"], f["status"], f["replacement"]) for f in cron] == [
        ("nightly", "batch/v1beta1", "removed", "batch/v1")]
    assert [e["source"] for e in cron[0]["sources"]] == ["managed-fields", "served"]
    assert cron[0]["sources"][1]["location"] == "shop/nightly (listed as batch/v1beta1)"


def test_playbook_reports_rc_without_failing(seeded, tmp_path):
    """Through ansible-playbook: fail_on none with removed findings is rc 3 but not a failed task."""
    playbook = tmp_path / "scan.yml"
    out = tmp_path / "result.json"
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - name: Scan\n      clusterops.k8s_upgrade.deprecated_apis:\n"
        "        target_version: '1.16'\n        kubeconfig: %s\n        fail_on: none\n        sources: [cluster]\n"
        "      register: scan\n"
        "    - name: Save\n      ansible.builtin.copy:\n        content: '{{ scan | to_json }}'\n        dest: %s\n        mode: '0600'\n"
        % (seeded.kubeconfig(), out))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    bindir = os.path.dirname(sys.executable)
    proc = subprocess.run([os.path.join(bindir, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=%s" % sys.executable, str(playbook)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    assert result["rc"] == 3 and result["failed"] is False
    assert any(f["name"] == "web" for f in result["findings"])


def test_crd_stored_versions_checked_and_migrated(lab15, capsys):
    """A CRD whose storedVersions still lists v1alpha1: refused while it is to be dropped, then migrated."""
    crd = {"apiVersion": "apiextensions.k8s.io/v1beta1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com"},
           "spec": {"group": "example.com", "scope": "Namespaced",
                    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                    "versions": [{"name": "v1", "served": True, "storage": True},
                                 {"name": "v1alpha1", "served": True, "storage": False}]}}
    path = "/apis/apiextensions.k8s.io/v1beta1/customresourcedefinitions/widgets.example.com"
    lab15.call("POST", "/apis/apiextensions.k8s.io/v1beta1/customresourcedefinitions", crd)
    lab15.ensure_namespace("shop")
    lab15.call("POST", "/apis/example.com/v1alpha1/namespaces/shop/widgets",
               {"apiVersion": "example.com/v1alpha1", "kind": "Widget", "metadata": {"name": "w1", "namespace": "shop"}})
    current = lab15.call("GET", path)
    current.setdefault("status", {})["storedVersions"] = ["v1alpha1", "v1"]
    lab15.call("PUT", path + "/status", current)
    args = {"target_version": "1.15", "kubeconfig": lab15.kubeconfig(), "resources": ["widgets.example.com"],
            "crd_drop_versions": ["example.com/v1alpha1"]}

    refused = run(storage_migration, dict(args, method="rewrite", resources=["configmaps"]), capsys=capsys)
    assert refused["failed"] is True
    assert "widgets.example.com stores objects in example.com/v1alpha1" in refused["msg"]
    report = [c for c in refused["crds"] if c["name"] == "widgets.example.com"][0]
    assert (report["storage_version"], report["stale_versions"]) == ("v1", ["v1alpha1"])

    done = run(storage_migration, dict(args, migrate_crds=True), capsys=capsys)
    assert not done.get("failed") and done["changed"] is True
    report = [c for c in done["crds"] if c["name"] == "widgets.example.com"][0]
    assert (report["objects"], report["rewritten"], report["stored_versions"]) == (1, 1, ["v1"])
    assert lab15.call("GET", path)["status"]["storedVersions"] == ["v1"]
    assert lab15.stored("/registry/example.com/widgets/shop/w1")["apiVersion"] == "example.com/v1"
