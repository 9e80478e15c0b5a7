# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rewrite stored objects before an upgrade stops decoding the version they were stored in.

Storage versions live only in etcd. A no-op update (GET, then PUT of the same object through the
newest served version) makes the apiserver re-encode an object in its current storage version;
from 1.30 a StorageVersionMigration (storagemigration.k8s.io) asks kube-controller-manager to do
the same server-side. CRDs record the versions their objects may be stored in under
status.storedVersions: a version may only be dropped once it is gone from that list.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import api_scan
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.k8s_api import KubeApiError
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.release_data.apis import STORAGE_MIGRATION_VERSIONS
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.versions import VersionError, parse_version

SVM_GROUP = "storagemigration.k8s.io"
CRD_VERSIONS = ("apiextensions.k8s.io/v1", "apiextensions.k8s.io/v1beta1")
MAX_NAMES = 20
CONFLICT_RETRIES = 3


class MigrationError(Exception):
    pass


def server_version(api):
    info = api.get("/version") or {}
    try:
        return parse_version(info.get("gitVersion") or "", "the server's /version gitVersion")
    except VersionError as exc:
        raise MigrationError(str(exc))


def removed_between(table, current):
    """A row selector: versions the upgrade from `current` to the table's target stops serving."""
    def select(row):
        if not row["removed_in"]:
            return False
        removed = parse_version(row["removed_in"])
        return (current.major, current.minor) < (removed.major, removed.minor) <= (table.target.major, table.target.minor)
    return select


def parse_resource(text):
    """'deployments.apps' -> ('apps', 'deployments'); 'configmaps' -> ('', 'configmaps')."""
    resource, dot, group = text.partition(".")
    if not resource:
        raise MigrationError("resource %r is not of the form RESOURCE or RESOURCE.GROUP (for example deployments.apps)" % text)
    return group, resource


def plan(api, table, current, resources=None):
    """The resources to migrate: {group, resource, kind, api_version (newest served), reason}.

    Without `resources`, the families in the release table that lose a version between `current`
    and the target; with it, exactly those RESOURCE.GROUP names, each through its preferred version.
    """
    planned = []
    if resources:
        groups = dict((g.get("name"), g) for g in (api.get("/apis") or {}).get("groups") or [])
        for text in resources:
            group, resource = parse_resource(text)
            if group:
                if group not in groups:
                    raise MigrationError("the cluster does not serve API group %r (asked for %s)" % (group, text))
                api_version = groups[group]["preferredVersion"]["groupVersion"]
            else:
                api_version = "v1"
            listing = api.get_or_none(api_scan.api_path(api_version)) or {}
            entry = [r for r in listing.get("resources") or [] if r.get("name") == resource]
            if not entry:
                raise MigrationError("%s does not serve resource %r (asked for %s)" % (api_version, resource, text))
            planned.append({"group": group, "resource": resource, "kind": entry[0].get("kind"),
                            "api_version": api_version, "reason": "requested"})
        return planned
    families = api_scan.families(table, removed_between(table, current))
    served = api_scan.served_resources(api, [c for f in families for c in f["candidates"]])
    for fam in families:
        api_version = api_scan.choose_list_version(fam, served)
        if api_version is None:
            continue  # nothing of this kind is served: nothing stored to rewrite
        dropped = sorted(set(api_scan.api_version_of(r) for r in fam["rows"] if removed_between(table, current)(r)))
        verbs = (served.get(api_version, {}).get(fam["resource"]) or {}).get("verbs") or ["get", "list", "update"]
        if "update" not in verbs:
            continue  # review kinds (TokenReview ...) are never stored
        planned.append({
            "group": fam["group"], "resource": fam["resource"], "kind": fam["kind"], "api_version": api_version,
            "reason": "%s %s not served by %s" % (", ".join(dropped), "is" if len(dropped) == 1 else "are", table.target),
        })
    return planned


def object_path(api_version, resource, obj):
    meta = obj.get("metadata") or {}
    group, version = api_scan.split_api_version(api_version)
    base = "/apis/%s/%s" % (group, version) if group else "/api/%s" % version
    if meta.get("namespace"):
        base += "/namespaces/%s" % meta["namespace"]
    return "%s/%s/%s" % (base, resource, meta.get("name"))


def _where(obj):
    meta = obj.get("metadata") or {}
    return "%s/%s" % (meta["namespace"], meta.get("name")) if meta.get("namespace") else meta.get("name")


def rewrite(api, item, page_size=500, check_mode=False):
    """No-op update of every object of one planned resource; returns counts and the first names."""
    path = api_scan.api_path(item["api_version"], item["resource"])
    result = {"objects": 0, "rewritten": 0, "gone": 0, "failed": [], "names": []}
    for page in api.list_pages(path, limit=page_size):
        for obj in page.get("items") or []:
            result["objects"] += 1
            if len(result["names"]) < MAX_NAMES:
                result["names"].append(_where(obj))
            if check_mode:
                continue
            status = _rewrite_one(api, object_path(item["api_version"], item["resource"], obj))
            if status == "rewritten":
                result["rewritten"] += 1
            elif status == "gone":
                result["gone"] += 1
            else:
                result["failed"].append("%s: %s" % (_where(obj), status))
    return result


def _rewrite_one(api, path):
    for attempt in range(CONFLICT_RETRIES):
        try:
            current = api.get(path)
        except KubeApiError as exc:
            if exc.status == 404:
                return "gone"
            return str(exc)
        try:
            api.request("PUT", path, body=current)
            return "rewritten"
        except KubeApiError as exc:
            if exc.status == 404:
                return "gone"
            if exc.status != 409 or attempt == CONFLICT_RETRIES - 1:
                return str(exc)  # 409: changed between GET and PUT; read it again
    return "conflict"


def svm_version(api):
    """The storagemigration.k8s.io version the server serves (newest first), or None."""
    for group in (api.get("/apis") or {}).get("groups") or []:
        if group.get("name") == SVM_GROUP:
            served = set(v.get("version") for v in group.get("versions") or [])
            for version, dummy in STORAGE_MIGRATION_VERSIONS:
                if version in served:
                    return version
    return None


def svm_body(version, item):
    resource = {"group": item["group"], "resource": item["resource"]}
    if version == "v1alpha1":  # v1alpha1 names the version too; v1beta1 and v1 do not
        resource["version"] = api_scan.split_api_version(item["api_version"])[1]
    name = ("clusterops-%s-%s" % (item["resource"], item["group"] or "core")).replace(".", "-")[:50]
    return {
        "apiVersion": "%s/%s" % (SVM_GROUP, version),
        "kind": "StorageVersionMigration",
        "metadata": {"generateName": name + "-"},
        "spec": {"resource": resource},
    }


def svm_state(obj):
    """'Succeeded', 'Failed' or None (still running) from a StorageVersionMigration's conditions."""
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("status") == "True" and condition.get("type") in ("Succeeded", "Failed"):
            return condition["type"]
    return None


def migrate_with_svm(api, version, item, timeout=300, poll=2.0, sleep=time.sleep, clock=time.monotonic):
    path = "/apis/%s/%s/storageversionmigrations" % (SVM_GROUP, version)
    created = api.request("POST", path, body=svm_body(version, item))
    name = created["metadata"]["name"]
    deadline = clock() + timeout
    while True:
        obj = api.get("%s/%s" % (path, name))
        state = svm_state(obj)
        if state:
            return name, state
        if clock() >= deadline:
            raise MigrationError(
                "StorageVersionMigration %s for %s.%s did not finish within %d s; it needs a running "
                "kube-controller-manager with the StorageVersionMigrator feature gate" % (
                    name, item["resource"], item["group"], timeout))
        sleep(poll)


def crd_report(crd):
    """storedVersions against the versions a CRD defines, serves and stores."""
    spec = crd.get("spec") or {}
    versions = spec.get("versions") or ([{"name": spec["version"], "served": True, "storage": True}] if spec.get("version") else [])
    storage = [v.get("name") for v in versions if v.get("storage")]
    served = [v.get("name") for v in versions if v.get("served")]
    defined = [v.get("name") for v in versions]
    stored = list((crd.get("status") or {}).get("storedVersions") or [])
    storage_version = storage[0] if storage else None
    return {
        "name": (crd.get("metadata") or {}).get("name"),
        "group": spec.get("group"),
        "plural": (spec.get("names") or {}).get("plural"),
        "storage_version": storage_version,
        "served_versions": served,
        "stored_versions": stored,
        "stale_versions": [v for v in stored if v != storage_version],
        "undefined_stored_versions": [v for v in stored if v not in defined],
        "unserved_stored_versions": [v for v in stored if v in defined and v not in served],
    }


def check_crds(api, page_size=500):
    """crd_report of every CRD, listed in pages; (apiVersion used, reports)."""
    groups = dict((g.get("name"), set(v.get("version") for v in g.get("versions") or []))
                  for g in (api.get("/apis") or {}).get("groups") or [])
    for api_version in CRD_VERSIONS:
        group, version = api_scan.split_api_version(api_version)
        if version in groups.get(group, ()):
            reports = [crd_report(crd) for crd in api.list_items(api_scan.api_path(api_version, "customresourcedefinitions"), page_size)]
            return api_version, reports
    return None, []
