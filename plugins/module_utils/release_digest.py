# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The "Action Required" digest of an upgrade: what the releases crossed remove, rename or change,
read from the release tables (release_data/) so that the operator sees it before anything changes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.api_scan import api_version_of
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.container_hash import hash_rule
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.flag_migration import digest_lines, hop_changes
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.release_data.apis import DEPRECATED_APIS
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.release_data.flags import COMPONENTS
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.release_data.kubelet import HASH_RULE_DESCRIPTIONS
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.versions import minor_steps, parse_known_version


def _in_hop(minor, current, target):
    """True when release `minor` (e.g. "1.16") is crossed going from current to target."""
    return minor is not None and minor in minor_steps(current, target)


def _api_entry(row, change):
    return dict(
        change=change,
        api_version=api_version_of(row),
        kind=row["kind"],
        minor=row["removed_in"] if change == "removed" else row["deprecated_in"],
        replacement=row["replacement"],
        replacement_available_in=row["replacement_available_in"],
    )


def digest(current_version, target_version, components=COMPONENTS, rows=DEPRECATED_APIS):
    """Everything the releases from current (exclusive) to target (inclusive) change that an
    operator must act on; returns a dict with the pieces and `lines` to print."""
    current = parse_known_version(current_version, "current_version")
    target = parse_known_version(target_version, "target_version")
    apis = [_api_entry(row, "removed") for row in rows if _in_hop(row["removed_in"], current, target)]
    apis += [_api_entry(row, "deprecated") for row in rows
             if _in_hop(row["deprecated_in"], current, target) and not _in_hop(row["removed_in"], current, target)]
    apis.sort(key=lambda e: (parse_known_version(e["minor"]).minor, e["change"], e["api_version"], e["kind"]))

    flags = []
    for component in components:
        flags.extend(hop_changes(component, str(current), str(target)))

    rule_now, rule_target = hash_rule(str(current)), hash_rule(str(target))
    kubelet = dict(
        hash_rule_current=rule_now,
        hash_rule_target=rule_target,
        restarts_every_container=rule_now != rule_target or (rule_now == "go-struct" and not current.same_minor(target)),
    )

    lines = ["Upgrade %s -> %s crosses %s" % (current, target, ", ".join(minor_steps(current, target)) or "no minor release")]
    for entry in apis:
        if entry["change"] == "removed":
            lines.append("%s API removed: %s %s; use %s (served since %s)" % (
                entry["minor"], entry["api_version"], entry["kind"], entry["replacement"] or "nothing (no replacement)",
                entry["replacement_available_in"] or "-"))
        else:
            lines.append("%s API deprecated: %s %s; move to %s" % (
                entry["minor"], entry["api_version"], entry["kind"], entry["replacement"] or "nothing (no replacement)"))
    lines.extend(digest_lines(flags))
    if kubelet["restarts_every_container"]:
        lines.append("kubelet: an in-place upgrade restarts every running container (the container hash covers %s "
                     "before and %s after); drain the nodes or accept one restart per container"
                     % (HASH_RULE_DESCRIPTIONS[rule_now], HASH_RULE_DESCRIPTIONS[rule_target]))
    return dict(
        current_version=str(current), target_version=str(target), minors=minor_steps(current, target),
        apis=apis, flags=flags, kubelet=kubelet, lines=lines,
    )
