# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Data-driven tests of systemd_unit: unit parsing, drop-ins, environment files, ExecStart, flags."""

import os

import pytest

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import systemd_unit as su


def write(root, rel, text):
    path = os.path.join(str(root), rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)
    return path


# ------------------------------------------------------------------ unit file syntax
@pytest.mark.parametrize(
    "text, expected",
    [
        ("[Service]\nExecStart=/bin/x --a=b\n", [("Service", "ExecStart", "/bin/x --a=b")]),
        ("[Unit]\n# c\n; c\nDescription = hi there \n", [("Unit", "Description", "hi there")]),
        ("[Service]\nExecStart=/bin/x \\\n  --a=b \\\n  --c=d\n",
         [("Service", "ExecStart", "/bin/x     --a=b     --c=d")]),
        # a comment line inside a continuation is skipped, the value goes on
        ("[Service]\nExecStart=/bin/x \\\n# --old=1 \\\n  --c=d\n", [("Service", "ExecStart", "/bin/x     --c=d")]),
        ("[Service]\nExecStart=\nExecStart=/bin/y\n", [("Service", "ExecStart", ""), ("Service", "ExecStart", "/bin/y")]),
    ],
)
def test_parse_unit_text(text, expected):
    # continuations leave runs of blanks; systemd splits words on them anyway
    got = [(a.section, a.key, " ".join(a.value.split())) for a in su.parse_unit_text(text)]
    assert got == [(s, k, " ".join(v.split())) for s, k, v in expected]


@pytest.mark.parametrize(
    "text, message",
    [
        ("ExecStart=/bin/x\n", "outside of a section"),
        ("[Service\n", "bad section header"),
        ("[Service]\nnonsense\n", "expected Key=value"),
    ],
)
def test_parse_unit_text_errors(text, message):
    with pytest.raises(su.UnitError, match=message):
        su.parse_unit_text(text, "x.service")


def test_value_span_points_at_raw_value():
    text = "[Service]\nExecStart=  /bin/x \\\n  --a=b\n"
    (item,) = su.parse_unit_text(text)
    assert text[item.value_start:item.value_end] == "/bin/x \\\n  --a=b"
    assert item.line == 2


# ------------------------------------------------------------------ words
@pytest.mark.parametrize(
    "text, expected",
    [
        ("a b  c", ["a", "b", "c"]),
        ('"a b" c', ["a b", "c"]),
        ("--x='a b'c", ["--x=a bc"]),
        (r'a\tb "q\"x"', ["a\tb", 'q"x']),
        (r"a\x41 \101", ["aA", "A"]),
        (r"\y", ["\\y"]),  # unknown escapes are kept
        ('"unterminated here', ["unterminated here"]),
        ("", []),
    ],
)
def test_split_words(text, expected):
    assert [w for w, _s, _e in su.split_words(text)] == expected


def test_split_words_spans():
    text = ' --a=b  "--c=d e" '
    assert [(text[s:e]) for _w, s, e in su.split_words(text)] == ["--a=b", '"--c=d e"']


# ------------------------------------------------------------------ environment files
@pytest.mark.parametrize(
    "text, expected",
    [
        ('KUBE_APISERVER_ARGS="--a=b --c=d"\n', {"KUBE_APISERVER_ARGS": ("--a=b --c=d", su.LAYER_ENV_DQ)}),
        ("A='x $y \\z'\n", {"A": ("x $y \\z", su.LAYER_ENV_SQ)}),
        ('A="x \\"q\\" \\$y \\n"\n', {"A": ('x "q" $y \\n', su.LAYER_ENV_DQ)}),
        ("  A =  bare value  \n# c\n; c\nB=\n", {"A": ("bare value", su.LAYER_ENV_BARE), "B": ("", su.LAYER_ENV_BARE)}),
        ("A=one\\\ntwo\n", {"A": ("onetwo", su.LAYER_ENV_BARE)}),
        ('A="multi\nline"\n', {"A": ("multi\nline", su.LAYER_ENV_DQ)}),
        ("A='x'\"y\"\n", {"A": ("xy", None)}),
        ("1BAD=x\nnoequals\nOK=1\n", {"OK": ("1", su.LAYER_ENV_BARE)}),
        ("A=1\nA=2\n", {"A": ("2", su.LAYER_ENV_BARE)}),
    ],
)
def test_parse_env_file(text, expected):
    got = dict((e.name, (e.value, e.layer)) for e in su.parse_env_file(text))
    assert got == expected


def test_env_positions_map_to_file():
    text = 'X=1\nKUBE_ARGS="--a=b \\"q\\""\n'
    entry = su.parse_env_file(text)[1]
    assert entry.line == 2
    assert "".join(text[p] for p in entry.positions) == entry.value
    assert text[entry.value_start:entry.value_end] == '--a=b \\"q\\"'


@pytest.mark.parametrize(
    "value, expected",
    [("/etc/kubernetes/a.env", ("/etc/kubernetes/a.env", False)), ("-/etc/x", ("/etc/x", True))],
)
def test_environment_file_setting(value, expected):
    assert su.parse_environment_file_setting(value) == expected


# ------------------------------------------------------------------ flags
@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--a=b", "--c", "d", "--e", "-v=2"],
         [("a", "b", "--", "eq"), ("c", "d", "--", "space"), ("e", None, "--", "bool"), ("v", "2", "-", "eq")]),
        (["--x", "--y=1"], [("x", None, "--", "bool"), ("y", "1", "--", "eq")]),
        (["--flag=a=b"], [("flag", "a=b", "--", "eq")]),
        (["--v", "4"], [("v", "4", "--", "space")]),
        (["--e", "x"], [("e", "x", "--", "space")]),
        (["pos"], [(None, "pos", "", "positional")]),
        (["--a=1", "--a=2"], [("a", "1", "--", "eq"), ("a", "2", "--", "eq")]),
    ],
)
def test_parse_flags(argv, expected):
    flags = su.parse_flags(argv)
    assert [(f.name, f.value, f.dashes, f.style) for f in flags] == expected
    assert su.render_flags(flags) == argv  # round trip keeps the spelling


def test_parse_flags_known_bool():
    flags = su.parse_flags(["--e", "x"], bool_flags=["e"])
    assert [(f.name, f.style) for f in flags] == [("e", "bool"), (None, "positional")]


def test_flags_dict_and_verbosity():
    flags = su.parse_flags(["--a=1", "--insecure_port=0", "--a=2", "--b", "-v=3"])
    assert su.flags_dict(flags) == {"a": "2", "insecure-port": "0", "b": "true", "v": "3"}
    assert su.flags_multi(flags)["a"] == ["1", "2"]
    assert su.verbosity(flags) == 3
    assert su.verbosity(su.parse_flags(["--v=x"])) is None


# ------------------------------------------------------------------ whole services, three layouts
ENV_LAYOUT = {
    "etc/systemd/system/kube-apiserver.service": (
        "[Unit]\nDescription=apiserver\n[Service]\n"
        "EnvironmentFile=/etc/kubernetes/kube-apiserver.env\n"
        "ExecStart=/opt/kubernetes/v1.15.12/bin/kube-apiserver $KUBE_APISERVER_ARGS\n"
        "Restart=always\n"
    ),
    "etc/kubernetes/kube-apiserver.env": 'KUBE_APISERVER_ARGS="--insecure-port=0 --etcd-servers=http://127.0.0.1:2379 --v=2"\n',
}
INLINE_LAYOUT = {
    "etc/systemd/system/kube-apiserver.service": (
        "[Service]\nExecStart=/opt/kubernetes/v1.15.12/bin/kube-apiserver \\\n"
        "  --insecure-port=0 \\\n  --etcd-servers http://127.0.0.1:2379 \\\n  --v=2\n"
    ),
}
DROPIN_LAYOUT = {
    "lib/systemd/system/kube-apiserver.service": "[Service]\nExecStart=/usr/bin/kube-apiserver --old=1\n",
    "etc/systemd/system/kube-apiserver.service.d/10-flags.conf": (
        "[Service]\nExecStart=\nExecStart=/opt/kubernetes/v1.15.12/bin/kube-apiserver --insecure-port=0 "
        "--etcd-servers=http://127.0.0.1:2379 -v=2\n"
    ),
}
EXPECTED_FLAGS = {"insecure-port": "0", "etcd-servers": "http://127.0.0.1:2379", "v": "2"}


@pytest.mark.parametrize(
    "layout, flag_file, layer",
    [
        (ENV_LAYOUT, "etc/kubernetes/kube-apiserver.env", su.LAYER_ENV_DQ),
        (INLINE_LAYOUT, "etc/systemd/system/kube-apiserver.service", su.LAYER_EXEC),
        (DROPIN_LAYOUT, "etc/systemd/system/kube-apiserver.service.d/10-flags.conf", su.LAYER_EXEC),
    ],
)
def test_read_service_layouts(tmp_path, layout, flag_file, layer):
    for rel, text in layout.items():
        write(tmp_path, rel, text)
    service = su.read_service("kube-apiserver", root=str(tmp_path))
    assert service.binary == "/opt/kubernetes/v1.15.12/bin/kube-apiserver"
    assert su.flags_dict(service.flags) == EXPECTED_FLAGS
    assert service.flag_files() == [os.path.join(str(tmp_path), flag_file)]
    for flag in service.flags:
        for word in flag.words:
            assert word.layer == layer
            # every word points at its own text in the file
            text = service.config.texts[word.path]
            assert word.value in text[word.start:word.end]


def test_dropin_without_reset_is_refused(tmp_path):
    write(tmp_path, "etc/systemd/system/k.service", "[Service]\nExecStart=/bin/k --a=1\n")
    write(tmp_path, "etc/systemd/system/k.service.d/x.conf", "[Service]\nExecStart=/bin/k --a=2\n")
    with pytest.raises(su.UnitError, match="must reset it first with an empty 'ExecStart='"):
        su.read_service("k.service", root=str(tmp_path))


def test_dropin_order_and_masking(tmp_path):
    write(tmp_path, "lib/systemd/system/k.service", "[Service]\nExecStart=/bin/k --a=1\n")
    write(tmp_path, "lib/systemd/system/k.service.d/20-b.conf", "[Service]\nExecStart=\nExecStart=/bin/k --a=lib20\n")
    write(tmp_path, "etc/systemd/system/k.service.d/20-b.conf", "[Service]\nExecStart=\nExecStart=/bin/k --a=etc20\n")
    write(tmp_path, "run/systemd/system/k.service.d/10-a.conf", "[Service]\nExecStart=\nExecStart=/bin/k --a=run10\n")
    fragment, dropins = su.find_unit_files("k.service", str(tmp_path))
    assert fragment.endswith("lib/systemd/system/k.service")
    assert [os.path.relpath(d, str(tmp_path)) for d in dropins] == [
        "run/systemd/system/k.service.d/10-a.conf", "etc/systemd/system/k.service.d/20-b.conf"]
    assert su.flags_dict(su.read_service("k", root=str(tmp_path)).flags) == {"a": "etc20"}


@pytest.mark.parametrize(
    "unit, env, expected_argv",
    [
        # $VAR as its own word is split (quotes honoured); ${VAR} is exactly one word
        ("ExecStart=/bin/k $A", 'A="--x=1 --y=\'a b\'"', ["/bin/k", "--x=1", "--y=a b"]),
        ("ExecStart=/bin/k ${A}", 'A="--x=1 --y=2"', ["/bin/k", "--x=1 --y=2"]),
        ("ExecStart=/bin/k --p=${A}/z $$HOME", "A=/etc", ["/bin/k", "--p=/etc/z", "$HOME"]),
        ("ExecStart=/bin/k $UNSET --a", "A=1", ["/bin/k", "--a"]),
        ("ExecStart=/bin/k ${UNSET:-dflt} ${A:+yes}", "A=1", ["/bin/k", "dflt", "yes"]),
        ("ExecStart=-/bin/k %%n %n", "", ["/bin/k", "%n", "k.service"]),
        ('Environment="A=--e=1 --f=2" B=x\nExecStart=/bin/k $A', "", ["/bin/k", "--e=1", "--f=2"]),
        # EnvironmentFile= overrides Environment=
        ('Environment="A=--from-environment"\nExecStart=/bin/k $A', "A=--from-file", ["/bin/k", "--from-file"]),
    ],
)
def test_exec_expansion(tmp_path, unit, env, expected_argv):
    write(tmp_path, "etc/k.env", env + "\n")
    write(tmp_path, "etc/systemd/system/k.service",
          "[Service]\nEnvironmentFile=/etc/k.env\n" + unit + "\n")
    service = su.read_service("k.service", root=str(tmp_path))
    assert service.command.args == expected_argv


def test_environment_file_optional_and_missing(tmp_path):
    write(tmp_path, "etc/systemd/system/k.service",
          "[Service]\nEnvironmentFile=-/etc/none.env\nExecStart=/bin/k --a\n")
    service = su.read_service("k", root=str(tmp_path))
    assert service.notes == ["optional environment file /etc/none.env is absent"]
    write(tmp_path, "etc/systemd/system/k.service",
          "[Service]\nEnvironmentFile=/etc/none.env\nExecStart=/bin/k --a\n")
    with pytest.raises(su.UnitError, match="does not exist; systemd would refuse"):
        su.read_service("k", root=str(tmp_path))


def test_environment_file_reset(tmp_path):
    write(tmp_path, "etc/a.env", "A=--from-a\n")
    write(tmp_path, "etc/systemd/system/k.service",
          "[Service]\nEnvironmentFile=/etc/a.env\nExecStart=/bin/k $A\n")
    write(tmp_path, "etc/systemd/system/k.service.d/x.conf", "[Service]\nEnvironmentFile=\n")
    assert su.read_service("k", root=str(tmp_path)).command.args == ["/bin/k"]


@pytest.mark.parametrize(
    "files, message",
    [
        ({}, "unit k.service not found"),
        ({"etc/systemd/system/k.service": "[Service]\nType=simple\n"}, "has no ExecStart"),
    ],
)
def test_read_service_errors(tmp_path, files, message):
    for rel, text in files.items():
        write(tmp_path, rel, text)
    with pytest.raises(su.UnitError, match=message):
        su.read_service("k.service", root=str(tmp_path))


def test_masked_unit(tmp_path):
    os.makedirs(os.path.join(str(tmp_path), "etc/systemd/system"))
    os.symlink("/dev/null", os.path.join(str(tmp_path), "etc/systemd/system/k.service"))
    with pytest.raises(su.UnitError, match="masked"):
        su.read_service("k", root=str(tmp_path))


def test_continuation_spans_and_comment(tmp_path):
    text = "[Service]\nExecStart=/bin/k \\\n  --a=1 \\\n# --gone=1 \\\n  --b 2\n"
    write(tmp_path, "etc/systemd/system/k.service", text)
    service = su.read_service("k", root=str(tmp_path))
    assert su.flags_dict(service.flags) == {"a": "1", "b": "2"}
    assert [text[w.start:w.end] for w in service.command.argv] == ["/bin/k", "--a=1", "--b", "2"]
