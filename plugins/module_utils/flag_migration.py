# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rewrite a Kubernetes component's flags for a target release, in place and minimally.

Pure Python, no Ansible imports. Three steps, each usable alone:

1. `hop_changes(component, current, target)`: the flag part of the release notes' "Action
   Required" for a hop (what preflight prints).
2. `plan(flags, component, target, ...)`: what to do with the flags a unit has today: rename,
   drop, refuse, warn, set, unset, verbosity.
3. `apply(service, plan)`: the edits to the files that hold those flags (ExecStart= of the unit or
   a drop-in, or an EnvironmentFile), keeping every untouched byte as it was.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import systemd_unit as su
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.release_data.flags import (
    COMPONENTS,
    FLAGS,
)
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.versions import (
    parse_known_version,
    parse_version,
)

REMOVED_FLAGS_CHOICES = ("fail", "drop")


class FlagMigrationError(ValueError):
    """A migration that cannot be done as asked; the message says which flag and what to do."""


def _minor(text):
    return parse_version(text).minor if text else None


def _table(component, table=None):
    table = FLAGS if table is None else table
    if component not in table:
        raise FlagMigrationError(
            "unknown component %r; expected one of %s" % (component, ", ".join(COMPONENTS))
        )
    return table[component]


def _rename_map(entries):
    """new name -> old name, for renames (to undo them when going back below renamed_in)."""
    return dict((e["renamed_to"], name) for name, e in entries.items() if e.get("renamed_to"))


# --------------------------------------------------------------------------------------------
# 1. The digest of a hop


def hop_changes(component, current, target, table=None):
    """Flag changes between `current` (exclusive) and `target` (inclusive), oldest first.

    Each is a dict: flag, change ('removed' | 'renamed' | 'deprecated'), minor, replacement,
    inert_values, note, source. 'renamed' means the new name exists from `minor` on."""
    entries = _table(component, table)
    low = parse_known_version(current, "current_version").minor
    high = parse_known_version(target, "target_version").minor
    if high < low:
        low, high = high, low
    out = []
    for name, entry in sorted(entries.items()):
        events = []
        if entry.get("deprecated") and not entry.get("renamed_to"):
            events.append(("deprecated", entry["deprecated"]))
        if entry.get("renamed_to"):
            events.append(("renamed", entry.get("renamed_in") or entry.get("deprecated")))
        if entry.get("removed"):
            events.append(("removed", entry["removed"]))
        for change, minor in events:
            if minor and low < _minor(minor) <= high:
                out.append(dict(
                    component=component, flag=name, change=change, minor=minor,
                    replacement=entry.get("renamed_to"), inert_values=list(entry.get("inert_values", ())),
                    note=entry.get("note", ""), source=entry.get("source", ""),
                ))
        for rule in entry.get("value_rules", ()):
            if low < _minor(rule["minor"]) <= high:
                out.append(dict(
                    component=component, flag=name, change="values", minor=rule["minor"], replacement=None,
                    inert_values=[], note=_rule_text(rule), source=rule.get("source", ""),
                ))
    out.sort(key=lambda c: (_minor(c["minor"]), c["flag"], c["change"]))
    return out


def _rule_text(rule):
    if "only" in rule:
        limit = "only accepts %s" % ", ".join(repr(v) for v in rule["only"])
    else:
        limit = "no longer accepts %s" % ", ".join(repr(v) for v in rule["refuse"])
    return "%s: %s" % (limit, rule.get("note", ""))


def value_refused(entry, value, tminor):
    """The first value rule of `entry` in force at 1.<tminor> that refuses `value`, or None."""
    for rule in (entry or {}).get("value_rules", ()):
        if tminor < _minor(rule["minor"]):
            continue
        if ("only" in rule and value not in rule["only"]) or ("refuse" in rule and value in rule["refuse"]):
            return rule
    return None


def digest_lines(changes):
    """One line per change, for an operator to read."""
    lines = []
    for change in changes:
        if change["change"] == "values":
            what = "values"
        elif change["change"] == "removed":
            what = "removed" + (" (use --%s)" % change["replacement"] if change["replacement"] else
                                " without replacement")
        elif change["change"] == "renamed":
            what = "renamed to --%s" % change["replacement"]
        else:
            what = "deprecated"
        lines.append("%s %s: --%s %s: %s [%s]" % (
            change["minor"], change["component"], change["flag"], what, change["note"], change["source"]))
    return lines


# --------------------------------------------------------------------------------------------
# 2. The plan


class Plan:
    """What happens to each flag. `ops` is a list of dicts with op in
    rename/drop/set/add, applied in order by `apply`; the lists are what the module reports."""

    def __init__(self):
        self.ops = []
        self.renamed = []
        self.dropped = []
        self.warned = []
        self.added = []
        self.changed_values = []
        self.errors = []

    @property
    def empty(self):
        return not self.ops


def _inert(entry, value):
    inert = entry.get("inert_values", ())
    return "*" in inert or value in inert


def plan(flags, component, target, removed_flags="fail", set_flags=None, unset_flags=None,
         verbosity=None, table=None):
    """Decide what to do with `flags` (FlagArgs from systemd_unit) for a `target` binary.

    Raises FlagMigrationError listing every flag that cannot be migrated (refused removals,
    explicit settings of flags the target no longer has)."""
    if removed_flags not in REMOVED_FLAGS_CHOICES:
        raise FlagMigrationError("removed_flags must be one of %s" % ", ".join(REMOVED_FLAGS_CHOICES))
    entries = _table(component, table)
    target_v = parse_known_version(target, "target_version")
    tminor = target_v.minor
    back_renames = _rename_map(entries)
    set_flags = dict((su.normalize_flag_name(k), v) for k, v in (set_flags or {}).items())
    unset = set(su.normalize_flag_name(k) for k in (unset_flags or []))
    if verbosity is not None:
        set_flags["v"] = str(int(verbosity))
    result = Plan()

    def removed_at_target(name):
        entry = entries.get(name)
        return entry is not None and entry.get("removed") and tminor >= _minor(entry["removed"])

    for key, value in sorted(set_flags.items()):
        if removed_at_target(key):
            entry = entries[key]
            hint = (" use --%s" % entry["renamed_to"]) if entry.get("renamed_to") else ""
            result.errors.append(
                "set_flags asks for --%s, which Kubernetes %s removed (%s);%s %s"
                % (key, entry["removed"], entry.get("source", ""), hint, entry.get("note", "")))
    present = [f for f in flags if f.name is not None]
    names_present = set(f.key for f in present)
    seen_set = set()
    for flag in present:
        key = flag.key
        value = su.flag_value(flag)
        entry = entries.get(key)
        if key in unset:
            result.ops.append(dict(op="drop", flag=flag))
            result.dropped.append(dict(flag=key, value=value, reason="unset_flags"))
            continue
        if key in set_flags:
            if key in seen_set:  # a repeated flag collapses to the one value asked for
                result.ops.append(dict(op="drop", flag=flag))
                result.dropped.append(dict(flag=key, value=value, reason="repeated; set_flags gives one value"))
                continue
            seen_set.add(key)
            wanted = None if set_flags[key] is None else str(set_flags[key])
            rule = value_refused(entry, wanted, tminor) if wanted is not None else None
            if rule is not None:
                result.errors.append("set_flags asks for --%s=%s, but from Kubernetes %s it %s (%s)" % (
                    key, wanted, rule["minor"], _rule_text(rule), rule.get("source", "")))
                continue
            if wanted is not None and wanted != value:
                result.ops.append(dict(op="set", flag=flag, value=wanted))
                result.changed_values.append(dict(flag=key, before=value, after=wanted))
            continue
        if entry is not None and entry.get("renamed_to") and (
                removed_at_target(key) or tminor >= _minor(entry.get("renamed_in") or entry["removed"])):
            new = entry["renamed_to"]
            if new in names_present or new in set_flags:
                result.ops.append(dict(op="drop", flag=flag))
                result.dropped.append(dict(flag=key, value=value,
                                           reason="renamed to --%s, which is already set" % new))
            else:
                result.ops.append(dict(op="rename", flag=flag, new=new))
                result.renamed.append(dict(old=key, new=new, value=value,
                                           reason="renamed in %s (%s)" % (entry.get("renamed_in"), entry.get("source", ""))))
            continue
        if key in back_renames and entries[back_renames[key]].get("renamed_in") and \
                tminor < _minor(entries[back_renames[key]]["renamed_in"]):
            old = back_renames[key]  # going back below the rename: the old spelling is the only one
            result.ops.append(dict(op="rename", flag=flag, new=old))
            result.renamed.append(dict(old=key, new=old, value=value,
                                       reason="--%s only exists from %s" % (key, entries[old]["renamed_in"])))
            continue
        if removed_at_target(key):
            if _inert(entry, value):
                result.ops.append(dict(op="drop", flag=flag))
                result.dropped.append(dict(flag=key, value=value, reason="removed in %s; with this value it "
                                           "had no effect (%s)" % (entry["removed"], entry.get("note", ""))))
            elif removed_flags == "drop":
                result.ops.append(dict(op="drop", flag=flag))
                result.dropped.append(dict(flag=key, value=value, reason="removed in %s without replacement: %s"
                                           % (entry["removed"], entry.get("note", ""))))
            else:
                result.errors.append(
                    "--%s=%s was removed in Kubernetes %s without replacement (%s): %s; remove it from the "
                    "unit, or run with removed_flags=drop to drop it" % (
                        key, value, entry["removed"], entry.get("source", ""), entry.get("note", "")))
            continue
        rule = value_refused(entry, value, tminor)
        if rule is not None:
            result.errors.append(
                "--%s=%s is refused by Kubernetes %s: it %s (%s); change the value with set_flags or in the unit"
                % (key, value, rule["minor"], _rule_text(rule), rule.get("source", "")))
            continue
        if entry is not None and "deprecated" in entry and (
                entry["deprecated"] is None or tminor >= _minor(entry["deprecated"])):
            when = entry.get("removed")
            result.warned.append(dict(
                flag=key, value=value,
                message="--%s is deprecated%s%s: %s" % (
                    key, (" since %s" % entry["deprecated"]) if entry.get("deprecated") else "",
                    (" and removed in %s" % when) if when else "", entry.get("note", ""))))
    for key, value in sorted(set_flags.items()):
        rule = value_refused(entries.get(key), str(value), tminor) if value is not None else None
        if key not in names_present and rule is not None:
            result.errors.append("set_flags asks for --%s=%s, but from Kubernetes %s it %s (%s)" % (
                key, value, rule["minor"], _rule_text(rule), rule.get("source", "")))
            continue
        if key not in names_present and value is not None:
            result.ops.append(dict(op="add", name=key, value=str(value)))
            result.added.append(dict(flag=key, value=str(value)))
    if result.errors:
        raise FlagMigrationError("; ".join(result.errors))
    return result


def planned_flags(flags, the_plan):
    """The argv after the plan, as strings (what the target binary will be given)."""
    out = []
    by_flag = dict((id(op["flag"]), op) for op in the_plan.ops if "flag" in op)
    for flag in flags:
        op = by_flag.get(id(flag))
        if op is None:
            out.extend(flag.render())
        elif op["op"] == "rename":
            out.extend(su.FlagArg(op["new"], flag.value, flag.dashes, flag.style).render())
        elif op["op"] == "set":
            style = "eq" if flag.style == "bool" else flag.style
            out.extend(su.FlagArg(flag.name, op["value"], flag.dashes, style).render())
    for op in the_plan.ops:
        if op["op"] == "add":
            out.append("--%s=%s" % (op["name"], op["value"]))
    return out


# --------------------------------------------------------------------------------------------
# 3. Editing the files

_SAFE_WORD = re.compile(r"^[A-Za-z0-9_@+=:,./\-]+$")


def quote_word(word, layer):
    """How `word` must be written in a file at `layer` so that systemd gives back exactly `word`."""
    if layer == su.LAYER_EXEC:
        text = word.replace("%", "%%").replace("$", "$$")
        if word and _SAFE_WORD.match(word.replace("%", "x").replace("$", "x")):
            return text
        return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')
    if layer in (su.LAYER_ENV_DQ, su.LAYER_ENV_SQ, su.LAYER_ENV_BARE):
        if word and _SAFE_WORD.match(word):
            return word
        if "'" in word or "\\" in word or "\n" in word:
            raise FlagMigrationError(
                "cannot write %r into an environment file value (quote or backslash inside); "
                "edit the file by hand" % word)
        split_quoted = "'%s'" % word  # $VAR splitting honours quotes
        if layer == su.LAYER_ENV_DQ:
            return re.sub(r'(["`$\\])', r"\\\1", split_quoted)
        raise FlagMigrationError(
            "cannot write %r (needs quotes) into a %s environment value; quote the value in the file "
            "with double quotes" % (word, "single-quoted" if layer == su.LAYER_ENV_SQ else "unquoted"))
    raise FlagMigrationError("cannot edit a word at layer %r" % layer)


class FileEdit:
    """Edits to one file: `edits` are (start, end, replacement) on `before`."""

    def __init__(self, path, before):
        self.path = path
        self.before = before
        self.edits = []

    @property
    def after(self):
        text = self.before
        for start, end, repl in sorted(self.edits, key=lambda e: (e[0], e[1]), reverse=True):
            text = text[:start] + repl + text[end:]
        return text


def _region_key(word):
    return (word.path, word.origin)


def _editable(word, what):
    if word.path is None or word.start is None or word.layer in (None, su.LAYER_ENVIRONMENT):
        raise FlagMigrationError(
            "%s comes from %s, which this module cannot edit (only ExecStart= lines of the unit or its "
            "drop-ins and EnvironmentFile= files are edited); move the flags there or edit by hand"
            % (what, "an Environment= setting or ${VAR} inside a word" if word.origin else "memory"))


def _line_indent(text, pos):
    line_start = text.rfind("\n", 0, pos) + 1
    prefix = text[line_start:pos]
    return prefix if not prefix.strip() else None


def apply(service, the_plan, binary=None):
    """Turn the plan into FileEdits on the files of `service` (a systemd_unit.ServiceCommand).

    `binary`, when given, becomes the executable of ExecStart= (the switch to another release's
    directory), edited where ExecStart= is written. Returns {path: FileEdit} for files that change."""
    argv = service.command.argv
    # Every word of the command, grouped by the region (file + setting) it was written in.
    regions = {}
    order = []
    seen = set()
    for word in argv:
        if word.path is None or word.start is None:
            continue
        if (word.path, word.start) in seen and not the_plan.empty:
            raise FlagMigrationError(
                "%s is used more than once in ExecStart= of %s; edit it by hand" % (word.origin, service.config.name))
        seen.add((word.path, word.start))
        key = _region_key(word)
        if key not in regions:
            regions[key] = []
            order.append(key)
        regions[key].append(word)
    actions = {}  # id(word) -> ("delete",) | ("replace", text)
    for op in the_plan.ops:
        if op["op"] == "add":
            continue
        flag = op["flag"]
        for word in flag.words:
            _editable(word, "--%s" % flag.name)
        first = flag.words[0]
        if op["op"] == "drop":
            for word in flag.words:
                actions[id(word)] = ("delete",)
        elif op["op"] == "rename":
            if flag.style == "eq":
                new_word = "%s%s=%s" % (flag.dashes, op["new"], flag.value)
            else:
                new_word = flag.dashes + op["new"]
            actions[id(first)] = ("replace", quote_word(new_word, first.layer))
        elif op["op"] == "set":
            if flag.style == "space":
                actions[id(flag.words[1])] = ("replace", quote_word(op["value"], flag.words[1].layer))
            else:
                actions[id(first)] = ("replace", quote_word(
                    "%s%s=%s" % (flag.dashes, flag.name, op["value"]), first.layer))
    if binary is not None and argv and binary != argv[0].value:
        exe = service.command.words[0]
        _editable(exe, "the executable")
        if not binary.startswith("/"):
            raise FlagMigrationError("binary must be an absolute path, got %r" % binary)
        actions[id(exe)] = ("replace", quote_word(binary, su.LAYER_EXEC))
    adds = ["--%s=%s" % (op["name"], op["value"]) for op in the_plan.ops if op["op"] == "add"]
    files = {}

    def file_edit(path):
        if path not in files:
            files[path] = FileEdit(path, service.config.texts[path])
        return files[path]

    # Where new flags go: the region holding most flags (the env file in the lab's layout), else
    # the ExecStart line itself; an empty `$VAR` value is filled in its file.
    target_region = None
    if adds:
        counts = {}
        for flag in service.flags:
            for word in flag.words:
                if word.path is not None and word.start is not None and word.layer not in (None, su.LAYER_ENVIRONMENT):
                    counts[_region_key(word)] = counts.get(_region_key(word), 0) + 1
        if counts:
            target_region = max(order, key=lambda k: (counts.get(k, 0), -order.index(k)))
        else:
            target_region = _empty_var_region(service)
            if target_region is None:
                binary = argv[0] if argv else None
                if binary is None or binary.path is None:
                    raise FlagMigrationError("cannot find where to add flags in %s" % service.config.name)
                target_region = _region_key(binary)
                regions.setdefault(target_region, [binary])
    for key in order + ([target_region] if target_region not in order and target_region else []):
        words = regions.get(key, [])
        path = key[0]
        text = service.config.texts[path]
        fe = None
        # replacements
        for word in words:
            act = actions.get(id(word))
            if act and act[0] == "replace":
                fe = fe or file_edit(path)
                fe.edits.append((word.start, word.end, act[1]))
        # deletions: each run of consecutive deleted words goes with the blanks before it (after the
        # last kept word), or, at the start of a region, with the blanks after it.
        i = 0
        while i < len(words):
            if actions.get(id(words[i]), ("keep",))[0] != "delete":
                i += 1
                continue
            j = i
            while j + 1 < len(words) and actions.get(id(words[j + 1]), ("keep",))[0] == "delete":
                j += 1
            fe = fe or file_edit(path)
            if i > 0:
                fe.edits.append((words[i - 1].end, words[j].end, ""))
            elif j + 1 < len(words):
                fe.edits.append((words[i].start, words[j + 1].start, ""))
            else:
                fe.edits.append((words[i].start, words[j].end, ""))
            i = j + 1
        if key == target_region and adds:
            fe = fe or file_edit(path)
            layer = words[-1].layer if words else key[2] if len(key) > 2 else su.LAYER_ENV_DQ
            kept = [w for w in words if actions.get(id(w), ("keep",))[0] != "delete"]
            quoted = [quote_word(a, layer if not kept else kept[-1].layer) for a in adds]
            if kept:
                anchor = kept[-1]
                indent = _line_indent(text, anchor.start)
                continued = layer == su.LAYER_EXEC and indent is not None and "\\\n" in text[words[0].start:anchor.start]
                sep = (" \\\n" + indent) if continued else " "
                fe.edits.append((anchor.end, anchor.end, sep + sep.join(quoted)))
            else:
                entry = _empty_var_entry(service)
                pos = entry.value_start if entry is not None else words[0].start
                fe.edits.append((pos, pos, " ".join(quoted)))
    return dict((p, fe) for p, fe in files.items() if fe.after != fe.before)


def _empty_var_entry(service):
    """The environment file entry of a `$VAR` word of ExecStart whose value has no words."""
    for word in service.command.words[1:]:
        match = re.match(r"^\$([A-Za-z_][A-Za-z0-9_]*)$", word.value)
        if not match:
            continue
        entry = service.env.get(match.group(1))
        if entry is not None and entry.layer not in (None, su.LAYER_ENVIRONMENT) and not entry.value.strip():
            return entry
    return None


def _empty_var_region(service):
    entry = _empty_var_entry(service)
    if entry is None:
        return None
    return (entry.path, "$" + entry.name, entry.layer)


def unified_diff(path, before, after):
    import difflib

    return "".join(difflib.unified_diff(
        before.splitlines(True), after.splitlines(True), fromfile=path + " (before)", tofile=path + " (after)"))
