# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Recompute the kubelet's container hash and forecast which containers an in-place kubelet
upgrade restarts. Pure Python; the rules and field lists are data in release_data/kubelet.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.release_data.kubelet import (
    CONTAINER_FIELDS,
    HASH_RULES,
    HASH_RULE_DESCRIPTIONS,
)
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.versions import parse_version

HASH_LABEL = "io.kubernetes.container.hash"

_FNV32_OFFSET = 0x811C9DC5
_FNV32_PRIME = 0x01000193


def fnv32a(data):
    value = _FNV32_OFFSET
    for byte in bytearray(data):
        value = ((value ^ byte) * _FNV32_PRIME) & 0xFFFFFFFF
    return value


def go_json(value):
    """json.Marshal's bytes for decoded JSON: compact, and <, >, & and U+2028/9 escaped as Go does."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text.encode("utf-8")


def spew_hash_of_bytes(data):
    """hashutil.DeepHashObject of a []byte: fnv32a over spew's "%#v" form ([]uint8)[b0 b1 ...]."""
    return fnv32a(("([]uint8)[" + " ".join(str(b) for b in bytearray(data)) + "]").encode("ascii"))


def _minor_tuple(text):
    version = parse_version(text)
    return (version.major, version.minor)


def hash_rule(version):
    """The hash rule id of the kubelet release `version`."""
    key = _minor_tuple(version)
    rule = HASH_RULES[0][1]
    for since, rule_id in HASH_RULES:
        if key >= _minor_tuple(since):
            rule = rule_id
    return rule


def container_fields(version):
    key = _minor_tuple(version)
    return [name for name, since in CONTAINER_FIELDS if _minor_tuple(since) <= key]


def container_hash(container, version):
    """The hash the kubelet of `version` computes for `container` (a dict as the API serves it,
    keys in the server's order), or None under the go-struct rule, which cannot be recomputed
    outside Go."""
    rule = hash_rule(version)
    if rule == "name-image":
        picked = {"image": container.get("image", ""), "name": container.get("name", "")}
        return spew_hash_of_bytes(go_json(dict(sorted(picked.items()))))
    if rule == "container-json":
        known = container_fields(version)
        # The API serves fields in Go struct order; keep it, drop what this kubelet's type lacks.
        # resources is a struct without omitempty semantics: json.Marshal always writes it.
        picked = dict((k, v) for k, v in container.items() if k in known)
        if "resources" not in picked:
            picked["resources"] = {}
        ordered = dict((k, picked[k]) for k in known if k in picked)
        return spew_hash_of_bytes(go_json(ordered))
    return None


def format_hash(value):
    """The label's spelling: lowercase hex without padding (strconv.FormatUint(hash, 16))."""
    return "%x" % value


def forecast_container(container_spec, running_hash, current_version, target_version):
    """Will the target kubelet restart this running container? Returns a dict with
    will_restart, certain, target_hash and reason."""
    rule_now, rule_target = hash_rule(current_version), hash_rule(target_version)
    target = container_hash(container_spec, target_version) if container_spec is not None else None
    result = {
        "rule_current": rule_now,
        "rule_target": rule_target,
        "target_hash": format_hash(target) if target is not None else None,
    }
    if container_spec is None:
        result.update(will_restart=True, certain=False,
                      reason="no pod spec found for this container; assuming it restarts")
        return result
    if rule_now != rule_target:
        result.update(will_restart=True, certain=True,
                      reason="the hash rule changes from %s to %s"
                      % (HASH_RULE_DESCRIPTIONS[rule_now], HASH_RULE_DESCRIPTIONS[rule_target]))
        return result
    if rule_target == "go-struct":
        same_minor = _minor_tuple(current_version) == _minor_tuple(target_version)
        result.update(
            will_restart=not same_minor, certain=False,
            reason="the pre-1.16 hash covers the Go type of v1.Container, which cannot be recomputed here; "
            + ("a patch upgrade keeps the type" if same_minor else "the type changes between minors"))
        return result
    # Same rule on both sides: the model is trusted only if it reproduces the running hash.
    now = container_hash(container_spec, current_version)
    if running_hash is None:
        result.update(will_restart=target != now, certain=False,
                      reason="the running container has no %s label" % HASH_LABEL)
        return result
    model_ok = format_hash(now) == running_hash.lower()
    will = format_hash(target) != running_hash.lower()
    if model_ok:
        reason = "the target kubelet computes %s, the running container has %s" % (format_hash(target), running_hash)
    else:
        reason = ("the pod spec as served now hashes to %s under the current kubelet, not to the running %s "
                  "(the spec or its defaults changed since the container started); forecast from the served spec"
                  % (format_hash(now), running_hash))
    result.update(will_restart=will, certain=model_ok, reason=reason)
    return result


def running_containers(crictl_ps):
    """The running containers of `crictl ps -o json` output (a dict), as flat dicts."""
    result = []
    for item in (crictl_ps or {}).get("containers") or []:
        if item.get("state", "CONTAINER_RUNNING") != "CONTAINER_RUNNING":
            continue
        labels = item.get("labels") or {}
        annotations = item.get("annotations") or {}
        result.append({
            "container_id": item.get("id"),
            "container": labels.get("io.kubernetes.container.name") or (item.get("metadata") or {}).get("name"),
            "pod": labels.get("io.kubernetes.pod.name"),
            "namespace": labels.get("io.kubernetes.pod.namespace"),
            "pod_uid": labels.get("io.kubernetes.pod.uid"),
            # The kubelet writes the hash as a CRI annotation; some runtimes surface it as a label.
            "running_hash": annotations.get(HASH_LABEL) or labels.get(HASH_LABEL),
            "restart_count": int(annotations.get("io.kubernetes.container.restartCount") or 0),
        })
    return result


def _spec_index(pods):
    index = {}
    for pod in pods or []:
        meta = pod.get("metadata") or {}
        spec = pod.get("spec") or {}
        for group in ("initContainers", "containers"):
            for container in spec.get(group) or []:
                key = (meta.get("namespace"), meta.get("name"), container.get("name"))
                index[key] = container
                if meta.get("uid"):
                    index[(meta.get("uid"), container.get("name"))] = container
    return index


def forecast_node(crictl_ps, pods, current_version, target_version):
    """Forecast every running container of a node; returns (containers, totals)."""
    index = _spec_index(pods)
    containers = []
    for running in running_containers(crictl_ps):
        spec = index.get((running["pod_uid"], running["container"])) or index.get(
            (running["namespace"], running["pod"], running["container"]))
        entry = dict(running)
        entry.update(forecast_container(spec, running["running_hash"], current_version, target_version))
        containers.append(entry)
    totals = {
        "containers": len(containers),
        "will_restart": sum(1 for c in containers if c["will_restart"]),
        "uncertain": sum(1 for c in containers if not c["certain"]),
    }
    return containers, totals
