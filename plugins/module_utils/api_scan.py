# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find objects written in deprecated or removed API versions.

Pure Python (PyYAML, json, gzip), no Ansible imports. Sources:
  manifests     files and directories (YAML, JSON, multi-document, List kinds expanded)
  helm          Helm 3 release records (Secrets type helm.sh/release.v1, ConfigMaps owner=helm)
  live objects  kubectl.kubernetes.io/last-applied-configuration, metadata.managedFields, and the
                group/version an object can only be reached through ("served")

The apiserver converts on read, so the version an object was authored in shows only in those
records. Findings are merged per object (apiVersion, kind, namespace, name) with every source kept,
because stale annotations are the commonest false positive and the operator must see where each
finding came from.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import gzip
import json
import os
import re
import zlib

try:
    import yaml
    from yaml.nodes import MappingNode, ScalarNode, SequenceNode

    try:  # libyaml: the parser and composer in C, about ten times faster
        from yaml import CSafeLoader as _Loader
    except ImportError:
        from yaml import SafeLoader as _Loader
    HAS_YAML = True
except ImportError:  # the module reports missing_required_lib
    HAS_YAML = False
    yaml = None
    _Loader = None

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.release_data.apis import DEPRECATED_APIS
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.versions import parse_known_version, parse_version

SOURCES = ("manifest", "helm", "last-applied", "managed-fields", "served")
STATUSES = ("removed", "deprecated")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
HELM_SECRET_TYPE = "helm.sh/release.v1"

_NULL_TAG = "tag:yaml.org,2002:null"
_DOC_SEPARATOR = re.compile(r"^(?:---|\.\.\.)(?:[ \t].*)?$", re.M)
_HELM_SOURCE = re.compile(r"^# Source: (.+)$", re.M)


def api_version_of(row):
    return "%s/%s" % (row["group"], row["version"]) if row["group"] else row["version"]


def split_api_version(api_version):
    """'apps/v1' -> ('apps', 'v1'); 'v1' -> ('', 'v1')."""
    if "/" in api_version:
        group, version = api_version.split("/", 1)
        return group, version
    return "", api_version


class ApiTable:
    """The release table indexed for one target version."""

    def __init__(self, target, rows=DEPRECATED_APIS):
        self.target = parse_known_version(target, "target_version")
        self.rows = rows
        self.by_key = dict(((api_version_of(r), r["kind"]), r) for r in rows)
        # Only the rows that matter at this target: a dict lookup per document keeps scans fast.
        self.flagged = {}
        for key, row in self.by_key.items():
            status = self.status(row)
            if status:
                self.flagged[key] = (row, status)

    def status(self, row):
        """'removed', 'deprecated' or None for `row` at the target version."""
        if row["removed_in"] and self.target >= parse_version(row["removed_in"]):
            return "removed"
        if self.target >= parse_version(row["deprecated_in"]):
            return "deprecated"
        return None

    def replacement(self, row):
        """The replacement apiVersion and its first release, following the chain while the
        replacement is itself removed at the target (flowcontrol v1beta1 -> v1beta2 -> v1)."""
        seen = set()
        replacement, available = row["replacement"], row["replacement_available_in"]
        while replacement and (replacement, row["kind"]) not in seen:
            seen.add((replacement, row["kind"]))
            nxt = self.by_key.get((replacement, row["kind"]))
            if nxt is None or self.status(nxt) != "removed":
                break
            replacement, available = nxt["replacement"], nxt["replacement_available_in"]
        return replacement, available

    def classify(self, api_version, kind):
        """The finding fields for an apiVersion/kind at the target, or None when it is fine."""
        hit = self.flagged.get((api_version, kind))
        if hit is None:
            return None
        row, status = hit
        replacement, available = self.replacement(row)
        return {
            "status": status,
            "deprecated_in": row["deprecated_in"],
            "removed_in": row["removed_in"],
            "replacement": replacement,
            "replacement_available_in": available,
        }

    def namespaced(self, api_version, kind):
        row = self.by_key.get((api_version, kind))
        return None if row is None else row["namespaced"]


class Findings:
    """Findings merged per object, each with all its sources, plus scan statistics."""

    def __init__(self, table):
        self.table = table
        self._items = {}
        self.errors = []
        self.stats = {
            "files": 0,
            "documents": 0,
            "ignored_documents": 0,
            "templated_documents": 0,
            "helm_releases": 0,
            "live_objects": 0,
        }

    def add(self, api_version, kind, name, namespace, source, location):
        """Record one sighting; returns True when the apiVersion/kind is deprecated or removed."""
        info = self.table.classify(api_version, kind)
        if info is None:
            return False
        if self.table.namespaced(api_version, kind) is False:
            namespace = None  # cluster-scoped: a stray namespace must not split the finding
        key = (api_version, kind, namespace or "", name or "")
        finding = self._items.get(key)
        if finding is None:
            finding = dict(info, kind=kind, api_version=api_version, name=name, namespace=namespace, sources=[])
            self._items[key] = finding
        entry = {"source": source, "location": location}
        if entry not in finding["sources"]:
            finding["sources"].append(entry)
        return True

    def error(self, path, line, message):
        self.errors.append({"path": path, "line": line, "message": message})

    def findings(self):
        order = dict((s, i) for i, s in enumerate(SOURCES))
        result = []
        for finding in self._items.values():
            finding = dict(finding)
            finding["sources"] = sorted(finding["sources"], key=lambda e: (order[e["source"]], e["location"]))
            finding["source"] = finding["sources"][0]["source"]
            finding["location"] = finding["sources"][0]["location"]
            result.append(finding)
        result.sort(key=lambda f: (f["status"] != "removed", f["api_version"], f["kind"], f["namespace"] or "", f["name"] or ""))
        return result

    def summary(self, findings=None):
        findings = self.findings() if findings is None else findings
        by_status = dict((s, 0) for s in STATUSES)
        by_source = dict((s, 0) for s in SOURCES)
        for finding in findings:
            by_status[finding["status"]] += 1
            for source in set(e["source"] for e in finding["sources"]):
                by_source[source] += 1
        summary = {"total": len(findings), "by_status": by_status, "by_source": by_source, "errors": len(self.errors)}
        summary.update(self.stats)
        return summary


def exit_code(findings):
    """pluto's convention: 3 when something is removed at the target, 2 when deprecated, else 0."""
    statuses = set(f["status"] for f in findings)
    return 3 if "removed" in statuses else 2 if "deprecated" in statuses else 0


# ---------------------------------------------------------------- manifests


def _scalar(node):
    if isinstance(node, ScalarNode) and node.tag != _NULL_TAG:
        return node.value
    return None


def _mapping_get(node, wanted):
    """The value nodes of `wanted` keys in a mapping node, without constructing the rest."""
    found = {}
    for key, value in node.value:
        if isinstance(key, ScalarNode):
            if key.value in wanted:
                found[key.value] = value
            elif key.value == "<<":
                return None  # merge keys: let the constructor resolve them
    return found


class _Doc:
    __slots__ = ("api_version", "kind", "name", "namespace", "line", "items", "templated")

    def __init__(self, api_version, kind, name, namespace, line, items=None, templated=False):
        self.api_version = api_version
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.line = line
        self.items = items
        self.templated = templated


def _doc_from_data(data, line):
    """Fallback for documents the node walk cannot read (merge keys, JSON fallback)."""
    if not isinstance(data, dict):
        return None
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    items = None
    if isinstance(data.get("items"), list):
        items = [_doc_from_data(i, line) for i in data["items"]]
    api, kind = data.get("apiVersion"), data.get("kind")
    name, namespace = meta.get("name"), meta.get("namespace")
    templated = any(v is not None and not isinstance(v, str) for v in (name, namespace))
    return _Doc(
        api if isinstance(api, str) else None,
        kind if isinstance(kind, str) else None,
        name if isinstance(name, str) else None,
        namespace if isinstance(namespace, str) else None,
        line,
        items,
        templated,
    )


def _doc_from_node(loader, node, line_offset):
    line = node.start_mark.line + 1 + line_offset
    if not isinstance(node, MappingNode):
        return None
    fields = _mapping_get(node, ("apiVersion", "kind", "metadata", "items"))
    if fields is None:
        return _doc_from_data(loader.construct_document(node), line)
    name = namespace = None
    templated = False
    meta = fields.get("metadata")
    if isinstance(meta, MappingNode):
        meta_fields = _mapping_get(meta, ("name", "namespace"))
        if meta_fields is None:
            return _doc_from_data(loader.construct_document(node), line)
        for attr in ("name", "namespace"):
            value = meta_fields.get(attr)
            if value is not None and not isinstance(value, ScalarNode):
                templated = True  # name: {{ .Release.Name }} composes as a flow mapping
        name, namespace = _scalar(meta_fields.get("name")), _scalar(meta_fields.get("namespace"))
    items = None
    if isinstance(fields.get("items"), SequenceNode):
        items = [_doc_from_node(loader, item, line_offset) for item in fields["items"].value]
    api, kind = fields.get("apiVersion"), fields.get("kind")
    if (api is not None and not isinstance(api, ScalarNode)) or (kind is not None and not isinstance(kind, ScalarNode)):
        templated = True
    return _Doc(_scalar(api), _scalar(kind), name, namespace, line, items, templated)


def _iter_docs(stream, line_offset=0):
    """Yield a _Doc (or None for an empty or non-mapping document) per YAML document."""
    loader = _Loader(stream)
    try:
        while loader.check_node():
            yield _doc_from_node(loader, loader.get_node(), line_offset)
    finally:
        loader.dispose()


def _error_line(exc, line_offset=0):
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return (mark.line + 1 + line_offset) if mark is not None else (line_offset + 1)


def _split_documents(text):
    """(first line number, text) of each document: a new one starts at each '---' or '...' line."""
    chunks = []
    start, line = 0, 1
    for match in _DOC_SEPARATOR.finditer(text):
        if match.start() > start:
            chunk = text[start:match.start()]
            chunks.append((line, chunk))
            line += chunk.count("\n")
            start = match.start()
    chunks.append((line, text[start:]))
    return chunks


def _parse_text(text, where, sink):
    """Documents of `text`, tolerating bad documents: split on separators and parse each alone.

    Used when the fast path failed or the text has Helm template braces. A document that does not
    parse is reported with its line (unless it is a Helm template), and the scan goes on.
    """
    docs = []
    for first_line, chunk in _split_documents(text):
        if not chunk.strip():
            continue
        templated = "{{" in chunk
        try:
            for doc in _iter_docs(chunk, first_line - 1):
                if doc is not None and templated and (doc.templated or doc.name is None):
                    doc.templated = True
                docs.append(doc)
        except yaml.YAMLError as exc:
            if templated:
                docs.append(_Doc(None, None, None, None, first_line, templated=True))
            else:
                sink.error(where, _error_line(exc, first_line - 1), "YAML does not parse (document starting at line %d): %s"
                           % (first_line, _yaml_problem(exc)))
    return docs


def parse_manifest_bytes(data, where, sink, is_json=False):
    """All _Doc of one file's bytes; errors go to sink.error.

    The fast path hands the whole file to libyaml and reads only the few nodes a scan needs;
    files with Helm template braces or a parse error take the document-by-document path.
    """
    if b"{{" not in data:
        try:
            return list(_iter_docs(data))
        except yaml.YAMLError:
            if is_json:
                try:
                    return [_doc_from_data(json.loads(data), 1)]
                except ValueError:
                    pass
    return _parse_text(data.decode("utf-8", "replace"), where, sink)


def _yaml_problem(exc):
    """The problem of a YAML error without its marks (they count lines from the document, not the file)."""
    parts = [getattr(exc, "problem", None), getattr(exc, "context", None)]
    text = "; ".join(p for p in parts if p)
    return text or " ".join(str(exc).split())


def _expand(doc):
    """The objects of a document: itself, or its items when it is a List kind."""
    if doc.items is not None and doc.kind and doc.kind.endswith("List"):
        for item in doc.items:
            if item is None:
                continue
            if item.kind is None and doc.kind != "List":
                item.kind, item.api_version = doc.kind[:-4], item.api_version or doc.api_version
            yield item
    else:
        yield doc


def record_documents(docs, sink, source, location_of, default_namespace=None):
    """Classify each object of `docs` and record the flagged ones."""
    for doc in docs:
        sink.stats["documents"] += 1
        if doc is None:
            sink.stats["ignored_documents"] += 1
            continue
        if doc.templated:
            sink.stats["templated_documents"] += 1
            continue
        for obj in _expand(doc):
            if obj.templated:
                sink.stats["templated_documents"] += 1
                continue
            if not obj.api_version or not obj.kind:
                sink.stats["ignored_documents"] += 1  # not a Kubernetes object (values.yaml, playbooks)
                continue
            namespace = obj.namespace
            if namespace is None and default_namespace and sink.table.namespaced(obj.api_version, obj.kind):
                namespace = default_namespace
            sink.add(obj.api_version, obj.kind, obj.name, namespace, source, location_of(obj))


def iter_manifest_files(path, on_error=None):
    """Files under `path` (a file is yielded as is); hidden directories are skipped.

    A directory that cannot be listed goes to on_error(OSError) and the walk goes on.
    """
    if not os.path.isdir(path):
        yield path
        return
    for root, dirs, files in os.walk(path, onerror=on_error):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.lower().endswith(MANIFEST_SUFFIXES):
                yield os.path.join(root, name)


def check_paths(paths):
    """A message per path that does not exist or cannot be read (the module fails on these)."""
    problems = []
    for path in paths:
        if not os.path.exists(path):
            problems.append("%s does not exist" % path)
        elif not os.access(path, os.R_OK | (os.X_OK if os.path.isdir(path) else 0)):
            problems.append("%s is not readable" % path)
    return problems


def scan_paths(paths, sink):
    """Scan manifest files and directories into `sink`."""
    for top in paths:
        def walk_error(exc, top=top):
            sink.error(getattr(exc, "filename", None) or top, None, "cannot read directory: %s" % exc)

        for path in iter_manifest_files(top, walk_error):
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except (IOError, OSError) as exc:
                sink.error(path, None, "cannot read file: %s" % exc)
                continue
            sink.stats["files"] += 1
            docs = parse_manifest_bytes(data, path, sink, is_json=path.lower().endswith(".json"))
            record_documents(docs, sink, "manifest", lambda obj, p=path: "%s:%d" % (p, obj.line))


# ---------------------------------------------------------------- Helm 3 release records


class HelmDecodeError(ValueError):
    pass


def decode_helm_release(value):
    """The release dict of a Helm 3 record's `release` value.

    Helm stores base64(gzip(JSON)); a Secret's data adds Kubernetes' own base64 on top, a
    ConfigMap does not. Peel base64 layers until gzip or JSON shows, so both (and an
    uncompressed record from an old Helm 3) decode.
    """
    if isinstance(value, str):
        value = value.encode("ascii", "replace")
    data = value.strip()
    for dummy in range(4):
        if data[:2] == b"\x1f\x8b":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError, zlib.error) as exc:
                raise HelmDecodeError("gzip: %s" % exc)
            continue
        if data[:1] in (b"{", b"["):
            try:
                release = json.loads(data.decode("utf-8"))
            except ValueError as exc:
                raise HelmDecodeError("JSON: %s" % exc)
            if not isinstance(release, dict):
                raise HelmDecodeError("the record is not a JSON object")
            return release
        try:
            data = base64.b64decode(data + b"=" * (-len(data) % 4), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise HelmDecodeError("base64: %s" % exc)
    raise HelmDecodeError("no JSON after %d layers" % 4)


def helm_record_labels(obj):
    """(release name, revision, status) from a record's labels; revision is an int or None."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    try:
        revision = int(labels.get("version"))
    except (TypeError, ValueError):
        revision = None
    return labels.get("name"), revision, labels.get("status")


def latest_deployed(records):
    """Keep, per (namespace, release), the deployed record with the highest revision."""
    best = {}
    for obj in records:
        name, revision, status = helm_record_labels(obj)
        if status != "deployed" or name is None:
            continue
        key = ((obj.get("metadata") or {}).get("namespace"), name)
        if key not in best or (revision or 0) > (helm_record_labels(best[key])[1] or 0):
            best[key] = obj
    return best


def scan_helm_release(release, sink, record_kind="Secret", record_namespace=None):
    """Scan the manifest of one decoded release into `sink`."""
    name = release.get("name")
    namespace = release.get("namespace") or record_namespace
    revision = release.get("version")
    manifest = release.get("manifest") or ""
    sink.stats["helm_releases"] += 1
    where = "helm release %s/%s revision %s" % (namespace, name, revision)
    sources = [(m.start(), m.group(1).strip()) for m in _HELM_SOURCE.finditer(manifest)]
    line_starts = None
    if sources:
        # Line of each '# Source:' comment, to name the template a document came from.
        line_starts = []
        for offset, template in sources:
            line_starts.append((manifest.count("\n", 0, offset) + 1, template))

    def location(obj):
        template = None
        for line, tpl in line_starts or ():
            if line <= obj.line:
                template = tpl
            else:
                break
        suffix = " (%s, manifest line %d)" % (template, obj.line) if template else " (manifest line %d)" % obj.line
        return where + suffix

    docs = parse_manifest_bytes(manifest.encode("utf-8"), "%s (%s)" % (where, record_kind), sink)
    record_documents(docs, sink, "helm", location, default_namespace=namespace)


def scan_helm_records(records, sink):
    """Decode the latest deployed record of each release among `records` and scan it."""
    for (namespace, release_name), obj in sorted(latest_deployed(records).items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
        value = (obj.get("data") or {}).get("release")
        record = "%s %s/%s" % (obj.get("kind") or "record", namespace, (obj.get("metadata") or {}).get("name"))
        if not value:
            sink.error(record, None, "Helm release record has no data.release")
            continue
        try:
            release = decode_helm_release(value)
        except HelmDecodeError as exc:
            sink.error(record, None, "cannot decode the Helm release record: %s" % exc)
            continue
        scan_helm_release(release, sink, obj.get("kind") or "Secret", namespace)


# ---------------------------------------------------------------- live objects


def families(table, select=None):
    """The resources worth listing at this target, one per kind and final replacement group.

    `select(row)` picks the rows that make a family worth listing; by default those deprecated or
    removed at the target.
    Each is {kind, resource, candidates}: group/versions that can serve the objects, the newest
    (the final replacement) first, so the scan reads each object once through the best one served.
    """
    grouped = {}
    for row in table.rows:
        final = row
        seen = set()
        while final["replacement"] and (final["replacement"], final["kind"]) in table.by_key:
            key = (final["replacement"], final["kind"])
            if key in seen:
                break
            seen.add(key)
            final = table.by_key[key]
        group_final = split_api_version(final["replacement"])[0] if final["replacement"] else final["group"]
        fam = grouped.setdefault((group_final, row["kind"]), {
            "kind": row["kind"], "resource": row["resource"], "rows": [], "final": final["replacement"],
        })
        fam["rows"].append(row)
    result = []
    for key in sorted(grouped):
        fam = grouped[key]
        if not any((select or table.status)(r) for r in fam["rows"]):
            continue
        rows = sorted(fam["rows"], key=lambda r: (parse_version(r["removed_in"] or "1.999"), parse_version(r["deprecated_in"])),
                      reverse=True)
        candidates = ([fam["final"]] if fam["final"] else []) + [api_version_of(r) for r in rows]
        seen_c = []
        for candidate in candidates:
            if candidate not in seen_c:
                seen_c.append(candidate)
        result.append({
            "kind": fam["kind"], "resource": fam["resource"], "candidates": seen_c,
            "group": split_api_version(seen_c[0])[0], "rows": rows,
        })
    return result


def api_path(api_version, resource=None):
    group, version = split_api_version(api_version)
    base = "/apis/%s/%s" % (group, version) if group else "/api/%s" % version
    return base + ("/" + resource if resource else "")


def served_resources(api, api_versions):
    """{apiVersion: {resource name: discovery entry}} for those of `api_versions` the server serves."""
    served = {}
    groups = {}
    group_list = api.get("/apis") or {}
    for group in group_list.get("groups") or []:
        groups[group.get("name")] = set(v.get("version") for v in group.get("versions") or [])
    for api_version in sorted(set(api_versions)):
        group, version = split_api_version(api_version)
        if group and version not in groups.get(group, ()):
            continue
        listing = api.get_or_none(api_path(api_version))
        if not listing:
            continue
        served[api_version] = dict(
            (r.get("name"), r) for r in listing.get("resources") or [] if "/" not in (r.get("name") or "")
        )
    return served


def choose_list_version(family, served):
    """The first candidate group/version that serves the family's resource with the list verb."""
    for candidate in family["candidates"]:
        entry = (served.get(candidate) or {}).get(family["resource"])
        if entry is not None and "list" in (entry.get("verbs") or ["list"]):
            return candidate
    return None


def record_live_object(obj, list_version, kind, sink):
    """Record the deprecated versions one live object shows: served, last-applied, managedFields."""
    meta = obj.get("metadata") or {}
    name, namespace = meta.get("name"), meta.get("namespace")
    where = "%s/%s" % (namespace, name) if namespace else name
    sink.stats["live_objects"] += 1
    sink.add(list_version, kind, name, namespace, "served", "%s (listed as %s)" % (where, list_version))
    applied = (meta.get("annotations") or {}).get(LAST_APPLIED)
    if applied:
        try:
            data = json.loads(applied)
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("apiVersion"), str):
            sink.add(data["apiVersion"], data.get("kind") or kind, name, namespace, "last-applied",
                     "%s (annotation %s)" % (where, LAST_APPLIED))
    for entry in meta.get("managedFields") or []:
        version = entry.get("apiVersion")
        if isinstance(version, str):
            sink.add(version, kind, name, namespace, "managed-fields", "%s (manager %s, operation %s)" % (
                where, entry.get("manager"), entry.get("operation")))


def scan_cluster(api, sink, page_size=500):
    """List, in pages, every resource that can carry a flagged version; returns what was listed."""
    fams = families(sink.table)
    served = served_resources(api, [c for f in fams for c in f["candidates"]])
    listed = []
    for fam in fams:
        version = choose_list_version(fam, served)
        if version is None:
            continue
        count = 0
        for page in api.list_pages(api_path(version, fam["resource"]), limit=page_size):
            for obj in page.get("items") or []:
                record_live_object(obj, version, fam["kind"], sink)
                count += 1
        listed.append({"api_version": version, "resource": fam["resource"], "kind": fam["kind"], "objects": count})
    return listed


def scan_helm_cluster(api, sink, page_size=500):
    """Find Helm 3 release records (Secrets and ConfigMaps) in pages; scan the latest deployed."""
    records = []
    queries = (
        ("/api/v1/secrets", {"labelSelector": "owner=helm,status=deployed", "fieldSelector": "type=" + HELM_SECRET_TYPE}, "Secret"),
        ("/api/v1/configmaps", {"labelSelector": "owner=helm,status=deployed"}, "ConfigMap"),
    )
    for path, query, kind in queries:
        for page in api.list_pages(path, limit=page_size, query=query):
            for obj in page.get("items") or []:
                if kind == "Secret" and obj.get("type") not in (None, HELM_SECRET_TYPE):
                    continue
                # Keep the record only: its payload is decoded once the latest revision is known.
                obj.setdefault("kind", kind)
                records.append(_slim_record(obj, kind))
    scan_helm_records(records, sink)


def _slim_record(obj, kind):
    meta = obj.get("metadata") or {}
    return {
        "kind": kind,
        "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace"), "labels": meta.get("labels") or {}},
        "data": {"release": (obj.get("data") or {}).get("release")},
    }
