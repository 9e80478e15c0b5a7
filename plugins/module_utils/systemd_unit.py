# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a systemd service the way systemd does, and find where a Kubernetes component's flags live.

Pure Python, no Ansible imports. What is implemented (systemd.syntax(7), systemd.unit(5),
systemd.service(5), systemd.exec(5)):

- unit files: sections, `#`/`;` comments, backslash continuation (the backslash becomes a space;
  comment lines inside a continuation are skipped), drop-ins `NAME.d/*.conf` from every unit
  directory (a drop-in in a higher-priority directory hides one of the same name, then all are
  applied in file-name order), list settings reset by an empty assignment (`ExecStart=`);
- `Environment=` (quoted words, C escapes) and `EnvironmentFile=` (`-` prefix = optional; files
  applied in order and overriding `Environment=`), env files parsed with systemd's rules for
  unquoted, 'single' and "double" quoted values;
- `ExecStart=` split into words (quotes, C escapes, `-@:+!` prefixes, `%%`), then expanded at exec
  time: `${VAR}` anywhere in a word gives exactly one word, `$VAR` as a word of its own is split at
  whitespace (with quotes honoured), `$$` is a literal `$`;
- Kubernetes flags (`--flag=value`, `--flag value`, boolean `--flag`, `-v=2`, repeated flags):
  parsed with their order and spelling kept, so a rewrite can be a minimal diff.

Every word of the final command line remembers where it came from (file, character span and
quoting layer), which is what flag_migration needs to edit a file in place.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import os
import re

# Highest priority first (systemd-analyze unit-paths for the system manager).
UNIT_DIRS = (
    "etc/systemd/system",
    "run/systemd/system",
    "usr/local/lib/systemd/system",
    "lib/systemd/system",
    "usr/lib/systemd/system",
)

# Settings that are lists (an empty assignment resets them); the others are last-wins.
LIST_SETTINGS = frozenset(
    [
        "ExecStart", "ExecStartPre", "ExecStartPost", "ExecStop", "ExecStopPost", "ExecReload",
        "ExecCondition", "Environment", "EnvironmentFile", "PassEnvironment", "UnsetEnvironment",
    ]
)

_C_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
              "\\": "\\", '"': '"', "'": "'", "s": " ", " ": " "}
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
WHITESPACE = " \t\n\r"

# Layers: how a word is written in the file, which decides how a new word must be quoted.
LAYER_EXEC = "exec"  # a word of an ExecStart= line
LAYER_ENV_DQ = "env-dq"  # inside "..." of an environment file value
LAYER_ENV_SQ = "env-sq"  # inside '...' of an environment file value
LAYER_ENV_BARE = "env-bare"  # an unquoted environment file value
LAYER_ENVIRONMENT = "environment"  # inside an Environment= assignment (read only)


class UnitError(ValueError):
    """A unit that cannot be read or understood; the message says which file and why."""


# --------------------------------------------------------------------------------------------
# Unit files


class Assignment:
    """One `Key=value` of a unit file. `value` is decoded (continuations joined); `value_start`
    and `value_end` are offsets of the raw value in `text` of the file at `path`."""

    __slots__ = ("section", "key", "value", "path", "line", "start", "end", "value_start", "value_end")

    def __init__(self, section, key, value, path, line, start, end, value_start, value_end):
        self.section = section
        self.key = key
        self.value = value
        self.path = path
        self.line = line
        self.start = start
        self.end = end
        self.value_start = value_start
        self.value_end = value_end

    def __repr__(self):
        return "Assignment(%s.%s=%r @%s:%d)" % (self.section, self.key, self.value, self.path, self.line)


def _lines_with_offsets(text):
    offset = 0
    for line in text.splitlines(True):
        yield offset, line
        offset += len(line)


def parse_unit_text(text, path="<unit>"):
    """All assignments of a unit file, in order, as Assignment objects."""
    result = []
    section = None
    lines = list(_lines_with_offsets(text))
    index = 0
    while index < len(lines):
        offset, line = lines[index]
        lineno = index + 1
        index += 1
        body = line.rstrip("\r\n")
        stripped = body.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("["):
            if not stripped.endswith("]"):
                raise UnitError("%s:%d: bad section header %r" % (path, lineno, stripped))
            section = stripped[1:-1]
            continue
        if "=" not in stripped:
            raise UnitError("%s:%d: expected Key=value, found %r" % (path, lineno, stripped))
        if section is None:
            raise UnitError("%s:%d: assignment outside of a section" % (path, lineno))
        lead = len(body) - len(body.lstrip())
        eq = body.index("=")
        key = body[lead:eq].strip()
        value_start = offset + eq + 1
        parts = [body[eq + 1:]]
        end = offset + len(body)
        # Continuation: a line ending in a backslash goes on with the next non-comment line.
        while parts[-1].endswith("\\") and index < len(lines):
            parts[-1] = parts[-1][:-1] + " "
            noffset, nline = lines[index]
            index += 1
            nbody = nline.rstrip("\r\n")
            if nbody.strip()[:1] in ("#", ";"):
                parts.append("\\")  # a comment inside a continuation is skipped, the value goes on
                continue
            parts.append(nbody)
            end = noffset + len(nbody)
        if parts[-1].endswith("\\"):
            parts[-1] = parts[-1][:-1]
        value = "".join(parts).strip()
        raw = text[value_start:end]
        # value_start/value_end bracket the raw value without surrounding blanks.
        vstart = value_start + (len(raw) - len(raw.lstrip()))
        vend = value_start + len(raw.rstrip())
        result.append(Assignment(section, key, value, path, lineno, offset + lead, end, vstart, vend))
    return result


def mask_continuations(raw):
    """`raw` with backslash-newlines and comment lines inside a continuation blanked out, same length,
    so that word spans found in the result are spans in `raw`."""
    out = list(raw)
    pos = 0
    lines = raw.split("\n")
    for number, line in enumerate(lines):
        continued = number + 1 < len(lines)
        if number > 0 and line.strip()[:1] in ("#", ";"):
            for i in range(pos, pos + len(line)):
                out[i] = " "
        elif continued and line.rstrip("\r").endswith("\\"):
            out[pos + len(line.rstrip("\r")) - 1] = " "
        if continued:
            out[pos + len(line)] = " "
        pos += len(line) + 1
    return "".join(out)


def find_unit_files(name, root="/", unit_dirs=UNIT_DIRS):
    """The unit's fragment path and its drop-in paths, in the order systemd applies them."""
    fragment = None
    for directory in unit_dirs:
        candidate = os.path.join(root, directory, name)
        if os.path.exists(candidate):
            fragment = candidate
            break
    dropins = {}
    for directory in unit_dirs:
        ddir = os.path.join(root, directory, name + ".d")
        if not os.path.isdir(ddir):
            continue
        for entry in os.listdir(ddir):
            # a same-named drop-in in a higher-priority directory masks this one
            if entry.endswith(".conf") and entry not in dropins:
                dropins[entry] = os.path.join(ddir, entry)
    return fragment, [dropins[key] for key in sorted(dropins)]


class UnitConfig:
    """The merged settings of a unit: `settings[section][key]` is a list of Assignments in effect
    (for list settings after resets; for the others only the last one)."""

    def __init__(self, name, fragment, dropins, texts):
        self.name = name
        self.fragment = fragment
        self.dropins = list(dropins)
        self.texts = texts  # path -> file text
        self.settings = {}

    def get_all(self, key, section="Service"):
        return list(self.settings.get(section, {}).get(key, []))

    def get(self, key, section="Service", default=None):
        values = self.get_all(key, section)
        return values[-1].value if values else default

    @property
    def files(self):
        return ([self.fragment] if self.fragment else []) + self.dropins


def merge_assignments(config, assignments):
    for item in assignments:
        section = config.settings.setdefault(item.section, {})
        if item.key in LIST_SETTINGS:
            if item.value == "":
                section[item.key] = []  # `ExecStart=` clears what came before
            else:
                section.setdefault(item.key, []).append(item)
        else:
            section[item.key] = [item]
    return config


def load_unit(name, root="/", unit_dirs=UNIT_DIRS, read=None):
    """Read a unit and its drop-ins from the tree under `root` into a UnitConfig."""
    read = read or read_text
    fragment, dropins = find_unit_files(name, root, unit_dirs)
    if fragment is None and not dropins:
        raise UnitError(
            "unit %s not found in %s under %s" % (name, ", ".join("/" + d for d in unit_dirs), root)
        )
    texts = {}
    config = UnitConfig(name, fragment, dropins, texts)
    for path in config.files:
        if os.path.realpath(path) == "/dev/null":
            raise UnitError("unit %s is masked (%s is a link to /dev/null)" % (name, path))
        texts[path] = read(path)
        merge_assignments(config, parse_unit_text(texts[path], path))
    return config


def read_text(path):
    with open(path, "r") as handle:
        return handle.read()


# --------------------------------------------------------------------------------------------
# Words


class Word:
    """A word of a command line: its value, and where its raw text is (path, start, end, layer).
    `path` is None for words that exist only in memory."""

    __slots__ = ("value", "path", "start", "end", "layer", "origin")

    def __init__(self, value, path=None, start=None, end=None, layer=None, origin=None):
        self.value = value
        self.path = path
        self.start = start
        self.end = end
        self.layer = layer
        self.origin = origin  # e.g. "ExecStart", "$KUBE_APISERVER_ARGS"

    def __repr__(self):
        return "Word(%r, %s:%s-%s, %s)" % (self.value, self.path, self.start, self.end, self.layer)

    def __eq__(self, other):
        return isinstance(other, Word) and (self.value, self.path, self.start, self.end, self.layer) == (
            other.value, other.path, other.start, other.end, other.layer)

    def __hash__(self):
        return hash((self.value, self.path, self.start, self.end))


def _cunescape_at(text, i):
    """Decode the C escape whose backslash is at text[i]; return (string, next index)."""
    if i + 1 >= len(text):
        return "\\", i + 1
    char = text[i + 1]
    if char in _C_ESCAPES:
        return _C_ESCAPES[char], i + 2
    if char == "x" and re.match(r"[0-9a-fA-F]{2}", text[i + 2:i + 4]):
        return chr(int(text[i + 2:i + 4], 16)), i + 4
    if char in "01234567" and re.match(r"[0-7]{3}", text[i + 1:i + 4]):
        return chr(int(text[i + 1:i + 4], 8)), i + 4
    # unknown escape: systemd's relaxed mode keeps it as written
    return "\\" + char, i + 2


def split_words(text, cunescape=True, offset=0):
    """Split like systemd's extract_first_word(EXTRACT_UNQUOTE [| EXTRACT_CUNESCAPE]).

    Returns [(value, start, end)] with start/end offsets into `text` (plus `offset`). Quotes may
    open anywhere in a word; an unterminated quote runs to the end (relaxed)."""
    words = []
    i = 0
    length = len(text)
    while i < length:
        while i < length and text[i] in WHITESPACE:
            i += 1
        if i >= length:
            break
        start = i
        value = []
        quote = None
        while i < length:
            char = text[i]
            if quote is None and char in WHITESPACE:
                break
            if char == "\\":
                if cunescape:
                    decoded, i = _cunescape_at(text, i)
                    value.append(decoded)
                else:
                    if i + 1 < length:
                        value.append(text[i + 1])
                    i += 2
                continue
            if quote is None and char in "'\"":
                quote = char
            elif quote is not None and char == quote:
                quote = None
            else:
                value.append(char)
            i += 1
        words.append(("".join(value), offset + start, offset + min(i, length)))
    return words


# --------------------------------------------------------------------------------------------
# Environment


class EnvEntry:
    """One variable of an environment file or Environment= setting, with where its value is."""

    __slots__ = ("name", "value", "path", "line", "layer", "value_start", "value_end", "positions", "origin")

    def __init__(self, name, value, path, line, layer, value_start, value_end, positions, origin):
        self.name = name
        self.value = value
        self.path = path
        self.line = line
        self.layer = layer  # LAYER_ENV_DQ / _SQ / _BARE, LAYER_ENVIRONMENT, or None (mixed quoting)
        self.value_start = value_start  # raw span of the editable value text (inside the quotes)
        self.value_end = value_end
        self.positions = positions  # file offset of each character of `value` (None: unknown)
        self.origin = origin  # "EnvironmentFile" or "Environment"

    def __repr__(self):
        return "EnvEntry(%s=%r @%s:%d %s)" % (self.name, self.value, self.path, self.line, self.layer)


def parse_env_file(text, path="<env>"):
    """Parse an EnvironmentFile like systemd's load_env_file(): a list of EnvEntry in file order.

    KEY=value per line; blank, `#` and `;` lines ignored; whitespace around the key and an unquoted
    value trimmed; 'single quotes' are literal; in "double quotes" a backslash escapes only
    " \\ ` $ and newline (others are kept); unquoted, a backslash escapes any character and a
    backslash-newline continues the value. Lines without a valid name are skipped, as systemd does."""
    entries = []
    i = 0
    length = len(text)
    line = 1
    while i < length:
        # key
        while i < length and text[i] in " \t\r\n":
            if text[i] == "\n":
                line += 1
            i += 1
        if i >= length:
            break
        if text[i] in "#;":
            while i < length and text[i] != "\n":
                i += 1
            continue
        kstart = i
        while i < length and text[i] not in "=\n":
            i += 1
        if i >= length or text[i] == "\n":
            continue  # no '=': ignored
        name = text[kstart:i].strip()
        entry_line = line
        i += 1
        while i < length and text[i] in " \t":
            i += 1
        value, positions, layers = [], [], []
        spans = []
        trailing_ws = 0
        while i < length and text[i] != "\n":
            char = text[i]
            if char in "'\"":
                quote = char
                qstart = i + 1
                i += 1
                while i < length and text[i] != quote:
                    if quote == '"' and text[i] == "\\" and i + 1 < length:
                        nxt = text[i + 1]
                        if nxt == "\n":
                            line += 1
                            i += 2
                            continue
                        if nxt in '"\\`$':
                            value.append(nxt)
                            positions.append(i + 1)
                            i += 2
                            continue
                    if text[i] == "\n":
                        line += 1
                    value.append(text[i])
                    positions.append(i)
                    i += 1
                spans.append((qstart, i))
                layers.append(LAYER_ENV_DQ if quote == '"' else LAYER_ENV_SQ)
                i += 1  # closing quote
                trailing_ws = 0
                continue
            if char == "\\" and i + 1 < length:
                if text[i + 1] == "\n":
                    line += 1
                else:
                    value.append(text[i + 1])
                    positions.append(i + 1)
                spans.append((i, i + 2))
                layers.append(LAYER_ENV_BARE)
                i += 2
                trailing_ws = 0
                continue
            trailing_ws = trailing_ws + 1 if char in " \t\r" else 0
            value.append(char)
            positions.append(i)
            spans.append((i, i + 1))
            layers.append(LAYER_ENV_BARE)
            i += 1
        if trailing_ws:  # unquoted trailing whitespace is trimmed
            del value[-trailing_ws:]
            del positions[-trailing_ws:]
        if not _ENV_NAME_RE.match(name):
            continue
        distinct = set(layers)
        if len(distinct) == 1 and spans:
            layer = layers[0]
            vstart = spans[0][0]
            vend = spans[-1][1] if layer != LAYER_ENV_BARE else (positions[-1] + 1 if positions else vstart)
        elif not spans:
            layer, vstart, vend = LAYER_ENV_BARE, i, i
        else:
            layer, vstart, vend = None, None, None  # mixed quoting: readable, not editable in place
        entries.append(EnvEntry(name, "".join(value), path, entry_line, layer, vstart, vend, positions,
                                "EnvironmentFile"))
    return entries


def parse_environment_setting(assignment):
    """The variables of one Environment= assignment (quoted words with C escapes)."""
    entries = []
    for value, start, end in split_words(assignment.value):
        if "=" not in value:
            continue
        name, val = value.split("=", 1)
        if _ENV_NAME_RE.match(name):
            entries.append(EnvEntry(name, val, assignment.path, assignment.line, LAYER_ENVIRONMENT,
                                    None, None, None, "Environment"))
    return entries


def parse_environment_file_setting(value):
    """`-/etc/kubernetes/x.env` -> ('/etc/kubernetes/x.env', True)."""
    optional = value.startswith("-")
    return (value[1:] if optional else value), optional


def resolve_environment(config, root="/", read=None):
    """The environment systemd gives the service: (dict name -> EnvEntry, list of notes).

    Environment= first, then each EnvironmentFile= in order, later ones overriding. A missing
    optional file is skipped; a missing required one raises UnitError (systemd would refuse to start)."""
    read = read or read_text
    env = {}
    notes = []
    for item in config.get_all("Environment"):
        for entry in parse_environment_setting(item):
            env[entry.name] = entry
    for item in config.get_all("EnvironmentFile"):
        path, optional = parse_environment_file_setting(item.value)
        local = _under_root(root, path)
        matches = [local]
        if any(c in path for c in "*?["):
            directory = os.path.dirname(local)
            pattern = os.path.basename(local)
            names = sorted(os.listdir(directory)) if os.path.isdir(directory) else []
            matches = [os.path.join(directory, n) for n in names if fnmatch.fnmatch(n, pattern)]
        if not matches or not all(os.path.exists(m) for m in matches):
            if optional:
                notes.append("optional environment file %s is absent" % path)
                continue
            raise UnitError(
                "%s (EnvironmentFile= of %s in %s) does not exist; systemd would refuse to start the "
                "unit: create it or mark it optional with '-'" % (path, config.name, item.path)
            )
        for match in matches:
            text = read(match)
            config.texts[match] = text
            for entry in parse_env_file(text, match):
                env[entry.name] = entry
    return env, notes


def _under_root(root, path):
    if root in (None, "", "/"):
        return path
    return os.path.join(root, path.lstrip("/"))


# --------------------------------------------------------------------------------------------
# ExecStart


class ExecCommand:
    """One ExecStart= command: prefixes, the words as written, and the words after expansion."""

    def __init__(self, assignment, prefixes, words):
        self.assignment = assignment
        self.prefixes = prefixes
        self.words = words  # [Word] as written in the unit (before $VAR expansion)
        self.argv = []  # [Word] after expansion, filled by expand_command

    @property
    def path(self):
        return self.words[0].value if self.words else None

    @property
    def args(self):
        return [w.value for w in self.argv]


_SPECIFIERS_SAFE = {"%": "%"}


def _expand_specifiers(value, unit_name):
    prefix = unit_name.rsplit(".", 1)[0]
    table = dict(_SPECIFIERS_SAFE, n=unit_name, N=prefix, p=prefix.split("@")[0],
                 i=prefix.split("@", 1)[1] if "@" in prefix else "")
    return re.sub(r"%(.)", lambda m: table.get(m.group(1), m.group(0)), value)


def parse_exec(assignment, unit_name="unit.service", text=None):
    """Split one ExecStart= assignment into an ExecCommand (words with their spans in the file)."""
    raw = text[assignment.value_start:assignment.value_end] if text is not None else assignment.value
    masked = mask_continuations(raw) if text is not None else raw
    base = assignment.value_start if text is not None else None
    words = []
    for value, start, end in split_words(masked):
        words.append(Word(_expand_specifiers(value, unit_name), assignment.path,
                          (base + start) if base is not None else None,
                          (base + end) if base is not None else None, LAYER_EXEC, assignment.key))
    prefixes = ""
    if words:
        first = words[0]
        stripped = first.value.lstrip("-@:+!")
        prefixes = first.value[:len(first.value) - len(stripped)]
        first.value = stripped
        if first.start is not None:
            first.start += len(prefixes)
    # a lone ';' separates commands (oneshot); only the first command matters for a daemon
    for index, word in enumerate(words):
        if masked and word.value == ";" and word.start is not None and masked[word.start - base] == ";":
            words = words[:index]
            break
    return ExecCommand(assignment, prefixes, words)


_VAR_RE = re.compile(r"\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:[-+])([^}]*))?\})")


def _expand_braced(value, env_values):
    def replace(match):
        if match.group(1) == "$":
            return "$"
        name, op, alt = match.group(2), match.group(3), match.group(4)
        current = env_values.get(name)
        if op == ":-":
            return current if current else alt
        if op == ":+":
            return alt if current else ""
        return current or ""

    return _VAR_RE.sub(replace, value)


def expand_command(command, env):
    """Fill command.argv: `$VAR` words split, `${VAR}` substituted in place, `$$` -> `$`.

    Words that come from a variable point into the file that defined it (when known and editable)."""
    env_values = dict((k, v.value) for k, v in env.items())
    argv = []
    for index, word in enumerate(command.words):
        value = word.value
        match = re.match(r"^\$([A-Za-z_][A-Za-z0-9_]*)$", value)
        if index > 0 and match:
            entry = env.get(match.group(1))
            if entry is None:
                continue  # an unset variable vanishes
            for sub, start, end in split_words(entry.value, cunescape=False):
                path = entry.path if entry.layer not in (None, LAYER_ENVIRONMENT) else None
                fstart = fend = None
                if path is not None and entry.positions:
                    fstart = entry.positions[start]
                    fend = entry.positions[end - 1] + 1
                argv.append(Word(sub, path, fstart, fend, entry.layer if path else None,
                                 "$" + entry.name))
            continue
        if "$" in value and index > 0:
            argv.append(Word(_expand_braced(value, env_values), None, None, None, None, word.origin))
            continue
        argv.append(word)
    command.argv = argv
    return command


# --------------------------------------------------------------------------------------------
# Kubernetes flags


class FlagArg:
    """One argument of a Kubernetes command line: a flag, or a positional word (name None).

    style: "eq" (--name=value), "space" (--name value), "bool" (--name). `words` are the
    Word objects it was read from (one, or two for the space style)."""

    __slots__ = ("name", "value", "dashes", "style", "words")

    def __init__(self, name, value=None, dashes="--", style="eq", words=None):
        self.name = name
        self.value = value
        self.dashes = dashes
        self.style = style
        self.words = words or []

    @property
    def key(self):
        """The name as pflag compares it (Kubernetes normalises '_' to '-')."""
        return normalize_flag_name(self.name) if self.name is not None else None

    def render(self):
        """The argv words of this argument, in its own style."""
        if self.name is None:
            return [self.value]
        if self.style == "bool":
            return [self.dashes + self.name]
        if self.style == "space":
            return [self.dashes + self.name, self.value]
        return ["%s%s=%s" % (self.dashes, self.name, self.value)]

    def __repr__(self):
        return "FlagArg(%r, %r, %r, %r)" % (self.name, self.value, self.dashes, self.style)

    def __eq__(self, other):
        return isinstance(other, FlagArg) and (self.name, self.value, self.dashes, self.style) == (
            other.name, other.value, other.dashes, other.style)


def normalize_flag_name(name):
    return name.lstrip("-").replace("_", "-")


def parse_flags(words, bool_flags=()):
    """Parse argv words (strings or Word) into FlagArgs, keeping order and spelling.

    `--name value` is recognised when the next word does not start with '-' and `name` is not in
    `bool_flags` (Kubernetes components take no positional arguments, so such a word is a value)."""
    words = [w if isinstance(w, Word) else Word(w) for w in words]
    bools = set(normalize_flag_name(b) for b in bool_flags)
    result = []
    i = 0
    while i < len(words):
        word = words[i]
        text = word.value
        if text.startswith("-") and len(text) > 1 and text != "--":
            dashes = "--" if text.startswith("--") else "-"
            body = text[len(dashes):]
            if "=" in body:
                name, value = body.split("=", 1)
                result.append(FlagArg(name, value, dashes, "eq", [word]))
            elif (i + 1 < len(words) and not words[i + 1].value.startswith("-")
                  and normalize_flag_name(body) not in bools):
                result.append(FlagArg(body, words[i + 1].value, dashes, "space", [word, words[i + 1]]))
                i += 1
            else:
                result.append(FlagArg(body, None, dashes, "bool", [word]))
        else:
            result.append(FlagArg(None, text, "", "positional", [word]))
        i += 1
    return result


def render_flags(flags):
    """FlagArgs back to argv words."""
    out = []
    for flag in flags:
        out.extend(flag.render())
    return out


def flag_value(flag):
    """The effective value as pflag sees it: a bare boolean flag is "true"."""
    return "true" if flag.style == "bool" else flag.value


def flags_dict(flags):
    """name -> value, the last occurrence winning (as pflag does for scalar flags)."""
    result = {}
    for flag in flags:
        if flag.name is not None:
            result[flag.key] = flag_value(flag)
    return result


def flags_multi(flags):
    """name -> [values] for every occurrence, in order (repeated flags)."""
    result = {}
    for flag in flags:
        if flag.name is not None:
            result.setdefault(flag.key, []).append(flag_value(flag))
    return result


def verbosity(flags):
    """The --v / -v level as an int, or None when unset or not a number."""
    value = flags_dict(flags).get("v")
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------------------------
# Putting it together


class ServiceCommand:
    """What a unit runs: the merged unit, the environment, the ExecStart command and its flags."""

    def __init__(self, config, env, command, notes):
        self.config = config
        self.env = env
        self.command = command
        self.notes = notes
        self.flags = parse_flags(command.argv[1:]) if command else []

    @property
    def binary(self):
        return self.command.argv[0].value if self.command and self.command.argv else None

    def flag_files(self):
        """The files in which the flags are written, in order of first appearance."""
        seen = []
        for flag in self.flags:
            for word in flag.words:
                if word.path and word.path not in seen:
                    seen.append(word.path)
        return seen


def read_service(name, root="/", unit_dirs=UNIT_DIRS, read=None):
    """Load a unit, resolve its environment and expand its ExecStart: a ServiceCommand.

    Raises UnitError when the unit is missing, masked, has no ExecStart or more than one (a
    long-running service has exactly one; a drop-in that adds one must first reset with `ExecStart=`)."""
    if "." not in name:
        name += ".service"
    config = load_unit(name, root, unit_dirs, read)
    execs = config.get_all("ExecStart")
    if not execs:
        raise UnitError("unit %s has no ExecStart= (files: %s)" % (name, ", ".join(config.files)))
    if len(execs) > 1 and config.get("Type", default="simple") != "oneshot":
        raise UnitError(
            "unit %s has %d ExecStart= lines (%s); systemd refuses this for Type=%s: a drop-in that "
            "overrides ExecStart= must reset it first with an empty 'ExecStart='"
            % (name, len(execs), ", ".join("%s:%d" % (e.path, e.line) for e in execs),
               config.get("Type", default="simple"))
        )
    env, notes = resolve_environment(config, root, read)
    assignment = execs[-1]
    command = parse_exec(assignment, name, config.texts.get(assignment.path))
    expand_command(command, env)
    return ServiceCommand(config, env, command, notes)
