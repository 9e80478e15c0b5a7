# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Move what still names a removed API version to its replacement, before the upgrade.

storage_migration rewrites the stored objects; what remains are the references that clients and
Helm keep: kubectl's last-applied annotation (what `kubectl apply set-last-applied` sets), the
apiVersion of managedFields entries, and the manifest of a Helm release's latest deployed
revision (what helm-mapkubeapis rewrites). Only conversions that need no judgement are made: the
kinds whose schema is the same in the replacement, and workloads, which only gain the selector
the old API defaulted from the pod template's labels. Anything else is reported for the operator.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy
import gzip
import json
import re

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.api_scan import (
    HELM_SECRET_TYPE,
    LAST_APPLIED,
    api_path,
    choose_list_version,
    decode_helm_release,
    families,
    latest_deployed,
    served_resources,
)

# Kinds whose replacement API has the same schema: the apiVersion is all that changes.
SAME_SCHEMA_KINDS = frozenset((
    "NetworkPolicy", "PodSecurityPolicy", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
    "PriorityClass", "Lease", "CSIDriver", "CSINode", "StorageClass", "VolumeAttachment", "CronJob",
    "PodDisruptionBudget", "RuntimeClass", "FlowSchema", "PriorityLevelConfiguration", "CSIStorageCapacity",
))
# Workloads: apps/v1 requires spec.selector, which the old APIs defaulted from the template labels,
# and no longer has rollbackTo (Deployment) or templateGeneration (DaemonSet).
WORKLOAD_KINDS = frozenset(("Deployment", "DaemonSet", "ReplicaSet", "StatefulSet"))
_WORKLOAD_DROPPED = ("rollbackTo", "templateGeneration")


class NotConvertible(Exception):
    pass


def convert(doc, replacement):
    """`doc` (a manifest dict) rewritten for `replacement`; raises NotConvertible with the reason."""
    kind = doc.get("kind")
    if not replacement:
        raise NotConvertible("%s %s has no replacement API" % (doc.get("apiVersion"), kind))
    if kind not in SAME_SCHEMA_KINDS and kind not in WORKLOAD_KINDS:
        raise NotConvertible("%s %s -> %s changes the schema; convert it by hand (kubectl convert) and re-apply"
                             % (doc.get("apiVersion"), kind, replacement))
    new = copy.deepcopy(doc)
    new["apiVersion"] = replacement
    if kind in WORKLOAD_KINDS:
        spec = new.setdefault("spec", {})
        for field in _WORKLOAD_DROPPED:
            spec.pop(field, None)
        if not spec.get("selector"):
            labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels")
            if not labels:
                raise NotConvertible("%s %s has neither spec.selector nor template labels to derive it from" % (doc.get("apiVersion"), kind))
            spec["selector"] = {"matchLabels": dict(labels)}
    return new


def plan_object(obj, kind, table):
    """The merge patch that moves one live object's references, and what it does.

    Returns (patch or None, changes, problems)."""
    meta = obj.get("metadata") or {}
    patch_meta = {}
    changes, problems = [], []
    applied = (meta.get("annotations") or {}).get(LAST_APPLIED)
    if applied:
        try:
            data = json.loads(applied)
        except ValueError:
            data = None
        if isinstance(data, dict):
            info = table.classify(data.get("apiVersion"), data.get("kind") or kind)
            if info and info["status"] == "removed":
                try:
                    new = convert(data, info["replacement"])
                    patch_meta["annotations"] = {LAST_APPLIED: json.dumps(new, separators=(",", ":")) + "\n"}
                    changes.append("last-applied %s -> %s" % (data.get("apiVersion"), info["replacement"]))
                except NotConvertible as exc:
                    problems.append(str(exc))
    entries = meta.get("managedFields") or []
    new_entries, moved = [], []
    for entry in entries:
        info = table.classify(entry.get("apiVersion"), kind)
        if info and info["status"] == "removed" and info["replacement"]:
            moved.append("%s (%s)" % (entry.get("manager"), entry.get("apiVersion")))
            entry = dict(entry, apiVersion=info["replacement"])
        new_entries.append(entry)
    if moved:
        # Field sets of these kinds are the same paths in the replacement API.
        patch_meta["managedFields"] = new_entries
        changes.append("managedFields of %s -> replacement" % ", ".join(moved))
    return ({"metadata": patch_meta} if patch_meta else None), changes, problems


_DOC_SPLIT = re.compile(r"(?m)^---[ \t]*$")
_API_LINE = re.compile(r"(?m)^(apiVersion:[ \t]*)([\"']?)([^\"'\s#]+)\2[ \t]*$")
_KIND_LINE = re.compile(r"(?m)^kind:[ \t]*[\"']?([A-Za-z0-9]+)")


def map_manifest(manifest, table):
    """A Helm manifest with the top-level apiVersion of each removed, convertible document replaced
    (as helm-mapkubeapis does); returns (new manifest, changes, problems)."""
    parts = _DOC_SPLIT.split(manifest)
    seps = _DOC_SPLIT.findall(manifest)
    changes, problems = [], []
    out = []
    for part in parts:
        api = _API_LINE.search(part)
        kind = _KIND_LINE.search(part)
        if api and kind:
            info = table.classify(api.group(3), kind.group(1))
            if info and info["status"] == "removed":
                if kind.group(1) in SAME_SCHEMA_KINDS or kind.group(1) in WORKLOAD_KINDS:
                    part = part[:api.start(3)] + info["replacement"] + part[api.end(3):]
                    changes.append("%s %s -> %s" % (api.group(3), kind.group(1), info["replacement"]))
                else:
                    problems.append("%s %s changes the schema in %s; upgrade the chart" % (api.group(3), kind.group(1), info["replacement"]))
        out.append(part)
    result = out[0]
    for sep, part in zip(seps, out[1:]):
        result += sep + part
    return result, changes, problems


def encode_helm_release(release, record_kind):
    """The `data.release` value of a record: base64(gzip(JSON)), base64'd once more in a Secret."""
    payload = base64.b64encode(gzip.compress(json.dumps(release, separators=(",", ":")).encode("utf-8")))
    if record_kind == "Secret":
        payload = base64.b64encode(payload)
    return payload.decode("ascii")


def migrate_cluster(api, table, check_mode, page_size=500):
    """Patch every live object whose references name a removed version; returns the per-object report."""
    report = []
    fams = families(table, select=lambda row: table.status(row) == "removed")
    served = served_resources(api, [c for f in fams for c in f["candidates"]])
    for fam in fams:
        version = choose_list_version(fam, served)
        if version is None:
            continue
        for obj in api.list_items(api_path(version, fam["resource"]), limit=page_size):
            patch, changes, problems = plan_object(obj, fam["kind"], table)
            if not patch and not problems:
                continue
            meta = obj.get("metadata") or {}
            entry = {"kind": fam["kind"], "namespace": meta.get("namespace"), "name": meta.get("name"),
                     "changes": changes, "problems": problems, "patched": False}
            if patch and not check_mode:
                path = api_path(version, fam["resource"])
                if meta.get("namespace"):
                    path = api_path(version) + "/namespaces/%s/%s" % (meta["namespace"], fam["resource"])
                api.request("PATCH", "%s/%s" % (path, meta.get("name")), body=patch,
                            content_type="application/merge-patch+json")
                entry["patched"] = True
            report.append(entry)
    return report


def migrate_helm(api, table, check_mode, page_size=500):
    """Rewrite the manifest of each release's latest deployed revision; returns the per-release report."""
    report = []
    records = []
    for path, kind in (("/api/v1/secrets", "Secret"), ("/api/v1/configmaps", "ConfigMap")):
        for obj in api.list_items(path, limit=page_size, query={"labelSelector": "owner=helm,status=deployed"}):
            if kind == "Secret" and obj.get("type") != HELM_SECRET_TYPE:
                continue
            obj.setdefault("kind", kind)
            records.append(obj)
    for (namespace, name), obj in sorted(latest_deployed(records).items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
        release = decode_helm_release((obj.get("data") or {}).get("release") or "")
        manifest, changes, problems = map_manifest(release.get("manifest") or "", table)
        if not changes and not problems:
            continue
        entry = {"release": "%s/%s" % (namespace, name), "revision": release.get("version"),
                 "record": "%s %s" % (obj["kind"], obj["metadata"]["name"]), "changes": changes,
                 "problems": problems, "patched": False}
        if changes and not check_mode:
            release["manifest"] = manifest
            kind = obj["kind"]
            resource = "secrets" if kind == "Secret" else "configmaps"
            api.request("PATCH", "/api/v1/namespaces/%s/%s/%s" % (namespace, resource, obj["metadata"]["name"]),
                        body={"data": {"release": encode_helm_release(release, kind)}},
                        content_type="application/merge-patch+json")
            entry["patched"] = True
        report.append(entry)
    return report
