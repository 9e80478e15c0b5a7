# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""flag_migration: the hop digest, the plan, and minimal in-place edits for each unit layout."""

import os

import pytest

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import flag_migration as fm
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import systemd_unit as su

UNIT = "etc/systemd/system/kube-apiserver.service"
ENV = "etc/kubernetes/kube-apiserver.env"
DROPIN = "etc/systemd/system/kube-apiserver.service.d/10-flags.conf"
BIN = "/opt/kubernetes/v1.15.12/bin/kube-apiserver"


def env_layout(args):
    return {
        UNIT: "[Unit]\nDescription=apiserver\n\n[Service]\nEnvironmentFile=/etc/kubernetes/kube-apiserver.env\n"
              "ExecStart=%s $KUBE_APISERVER_ARGS\nRestart=always\n" % BIN,
        ENV: "# managed by hand\nKUBE_APISERVER_ARGS=\"%s\"\n" % " ".join(args),
    }


def inline_layout(args):
    body = "".join(" \\\n  %s" % a for a in args)
    return {UNIT: "[Service]\nExecStart=%s%s\nRestart=always\n" % (BIN, body)}


def dropin_layout(args):
    return {
        "lib/systemd/system/kube-apiserver.service": "[Service]\nExecStart=/usr/bin/kube-apiserver\n",
        DROPIN: "[Service]\nExecStart=\nExecStart=%s %s\n" % (BIN, " ".join(args)),
    }


LAYOUTS = {"env": (env_layout, ENV), "inline": (inline_layout, UNIT), "dropin": (dropin_layout, DROPIN)}


def build(root, files):
    for rel, text in files.items():
        path = os.path.join(str(root), rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(text)


def migrate(root, target="1.24.0", **kwargs):
    service = su.read_service("kube-apiserver", root=str(root))
    the_plan = fm.plan(service.flags, "kube-apiserver", target, **kwargs)
    edits = fm.apply(service, the_plan)
    for path, fe in edits.items():
        with open(path, "w") as handle:
            handle.write(fe.after)
    return service, the_plan, edits


BEFORE = ["--insecure-port=0", "--experimental-encryption-provider-config=/etc/kubernetes/enc.yaml",
          "--etcd-servers=https://10.0.0.1:2379", "--enable-swagger-ui", "--v=2"]


@pytest.mark.parametrize(
    "kwargs, expected_args, renamed, dropped",
    [
        # rename + inert drops (default removed_flags=fail still drops --insecure-port=0)
        ({}, ["--encryption-provider-config=/etc/kubernetes/enc.yaml", "--etcd-servers=https://10.0.0.1:2379", "--v=2"],
         [("experimental-encryption-provider-config", "encryption-provider-config")],
         ["insecure-port", "enable-swagger-ui"]),
        # verbosity changes the existing --v in place
        ({"verbosity": 6}, ["--encryption-provider-config=/etc/kubernetes/enc.yaml",
                            "--etcd-servers=https://10.0.0.1:2379", "--v=6"],
         [("experimental-encryption-provider-config", "encryption-provider-config")],
         ["insecure-port", "enable-swagger-ui"]),
        # operator overrides: unset one, set one existing, add one
        ({"unset_flags": ["etcd-servers"], "set_flags": {"profiling": "false", "v": "3"}},
         ["--encryption-provider-config=/etc/kubernetes/enc.yaml", "--v=3", "--profiling=false"],
         [("experimental-encryption-provider-config", "encryption-provider-config")],
         ["insecure-port", "etcd-servers", "enable-swagger-ui"]),
    ],
    ids=["rename-and-inert-drop", "verbosity", "set-unset"],
)
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_layouts(tmp_path, layout, kwargs, expected_args, renamed, dropped):
    make, flag_file = LAYOUTS[layout]
    build(tmp_path, make(BEFORE))
    service, the_plan, edits = migrate(tmp_path, **kwargs)
    assert sorted(edits) == [os.path.join(str(tmp_path), flag_file)], "only the file holding the flags changes"
    assert fm.planned_flags(service.flags, the_plan) == expected_args
    assert [(r["old"], r["new"]) for r in the_plan.renamed] == renamed
    assert [d["flag"] for d in the_plan.dropped] == dropped
    # what systemd reads back is exactly the plan
    again = su.read_service("kube-apiserver", root=str(tmp_path))
    assert su.render_flags(again.flags) == expected_args
    assert again.binary == BIN
    # idempotent: a second run plans nothing and edits nothing
    second = fm.plan(again.flags, "kube-apiserver", "1.24.0", **kwargs)
    assert second.empty
    assert fm.apply(again, second) == {}


@pytest.mark.parametrize(
    "layout, args, kwargs, expected_text",
    [
        ("env", ["--insecure-port=0", "--a=1", "--v=2"], {},
         '# managed by hand\nKUBE_APISERVER_ARGS="--a=1 --v=2"\n'),
        ("env", ["--a=1", "--insecure-port=0"], {}, '# managed by hand\nKUBE_APISERVER_ARGS="--a=1"\n'),
        ("env", ["--insecure-port=0"], {"verbosity": 4}, '# managed by hand\nKUBE_APISERVER_ARGS="--v=4"\n'),
        ("env", [], {"verbosity": 4}, '# managed by hand\nKUBE_APISERVER_ARGS="--v=4"\n'),
        ("env", ["--a=1"], {"set_flags": {"b": "x y"}},
         "# managed by hand\nKUBE_APISERVER_ARGS=\"--a=1 '--b=x y'\"\n"),
        ("inline", ["--a=1", "--insecure-port=0", "--b 2"], {},
         "[Service]\nExecStart=%s \\\n  --a=1 \\\n  --b 2\nRestart=always\n" % BIN),
        ("inline", ["--a=1", "--insecure-port=0"], {"verbosity": 3},
         "[Service]\nExecStart=%s \\\n  --a=1 \\\n  --v=3\nRestart=always\n" % BIN),
        ("inline", ["--insecure-port=0", "--a=1"], {},
         "[Service]\nExecStart=%s \\\n  --a=1\nRestart=always\n" % BIN),
        ("inline", ["-v 2", "--a=1"], {"verbosity": 5},
         "[Service]\nExecStart=%s \\\n  -v 5 \\\n  --a=1\nRestart=always\n" % BIN),
        ("inline", ["--a=1"], {"set_flags": {"token-auth-file": "/etc/k 8s/t.csv"}},
         "[Service]\nExecStart=%s \\\n  --a=1 \\\n  \"--token-auth-file=/etc/k 8s/t.csv\"\nRestart=always\n" % BIN),
        ("dropin", ["--a=1", "--insecure-port=0", "--b=2"], {},
         "[Service]\nExecStart=\nExecStart=%s --a=1 --b=2\n" % BIN),
        ("dropin", ["--a=1", "--a=2"], {"set_flags": {"a": "3"}},
         "[Service]\nExecStart=\nExecStart=%s --a=3\n" % BIN),
        ("dropin", ["--enable-bootstrap-token-auth"], {"set_flags": {"enable-bootstrap-token-auth": "false"}},
         "[Service]\nExecStart=\nExecStart=%s --enable-bootstrap-token-auth=false\n" % BIN),
        ("dropin", ["--api-audiences=x"], {"target": "1.12.10"},
         "[Service]\nExecStart=\nExecStart=%s --service-account-api-audiences=x\n" % BIN),
    ],
    ids=["env-drop-first", "env-drop-last", "env-drop-only-add-v", "env-empty-add", "env-add-quoted",
         "inline-drop-middle", "inline-drop-last-add", "inline-drop-first", "inline-space-style-v",
         "inline-add-quoted", "dropin-drop", "dropin-collapse-repeated", "dropin-bool-set", "dropin-rename-back"],
)
def test_minimal_edits(tmp_path, layout, args, kwargs, expected_text):
    make, flag_file = LAYOUTS[layout]
    build(tmp_path, make(args))
    target = kwargs.pop("target", "1.24.0")
    migrate(tmp_path, target=target, **kwargs)
    with open(os.path.join(str(tmp_path), flag_file)) as handle:
        assert handle.read() == expected_text


def test_unit_file_untouched_in_env_layout(tmp_path):
    files = env_layout(["--insecure-port=0", "--a=1"])
    build(tmp_path, files)
    migrate(tmp_path, verbosity=2)
    with open(os.path.join(str(tmp_path), UNIT)) as handle:
        assert handle.read() == files[UNIT]


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        (["--kubelet-https=false"], {},
         r"--kubelet-https=false was removed in Kubernetes 1.22 without replacement \(CHANGELOG-1.22.md \(#101178\)"),
        (["--insecure-port=8080"], {}, r"--insecure-port=8080 was removed in Kubernetes 1.24.*removed_flags=drop"),
        (["--a=1"], {"set_flags": {"target-ram-mb": "100"}}, r"set_flags asks for --target-ram-mb, which Kubernetes 1.24 removed"),
    ],
)
def test_refused(tmp_path, args, kwargs, message):
    build(tmp_path, env_layout(args))
    with pytest.raises(fm.FlagMigrationError, match=message):
        migrate(tmp_path, **kwargs)


@pytest.mark.parametrize(
    "component, args, target, message",
    [
        ("kube-apiserver", ["--insecure-port=8080"], "1.20.0",
         r"--insecure-port=8080 is refused by Kubernetes 1.20: it only accepts '0'"),
        ("kube-proxy", ["--proxy-mode=userspace"], "1.26.0", r"no longer accepts 'userspace'.*#112133"),
        ("kubelet", ["--container-runtime=docker"], "1.24.0", r"only accepts 'remote'"),
    ],
)
def test_value_rules_refuse(component, args, target, message):
    with pytest.raises(fm.FlagMigrationError, match=message):
        fm.plan(su.parse_flags(args), component, target)


@pytest.mark.parametrize(
    "component, args, target",
    [
        ("kube-apiserver", ["--insecure-port=8080"], "1.19.16"),
        ("kube-apiserver", ["--insecure-port=0"], "1.22.0"),
        ("kube-proxy", ["--proxy-mode=iptables"], "1.26.0"),
        ("kube-proxy", ["--proxy-mode=userspace"], "1.25.0"),
    ],
)
def test_value_rules_accept(component, args, target):
    the_plan = fm.plan(su.parse_flags(args), component, target)
    assert the_plan.ops == [] and the_plan.errors == []


def test_set_flags_value_rule():
    with pytest.raises(fm.FlagMigrationError, match="set_flags asks for --proxy-mode=userspace"):
        fm.plan(su.parse_flags(["--v=2"]), "kube-proxy", "1.27.0", set_flags={"proxy-mode": "userspace"})


def test_refusal_lists_every_flag(tmp_path):
    build(tmp_path, env_layout(["--insecure-port=8080", "--kubelet-https=false"]))
    with pytest.raises(fm.FlagMigrationError) as info:
        migrate(tmp_path)
    assert "--insecure-port=8080" in str(info.value) and "--kubelet-https=false" in str(info.value)


def test_drop_mode(tmp_path):
    build(tmp_path, env_layout(["--insecure-port=8080", "--a=1"]))
    _service, the_plan, _edits = migrate(tmp_path, removed_flags="drop")
    assert the_plan.dropped == [dict(flag="insecure-port", value="8080", reason=the_plan.dropped[0]["reason"])]
    assert "without replacement" in the_plan.dropped[0]["reason"]


def test_deprecated_warned(tmp_path):
    build(tmp_path, env_layout(["--kubelet-https=true", "--admission-control=NamespaceLifecycle"]))
    _service, the_plan, edits = migrate(tmp_path, target="1.20.0")
    assert [w["flag"] for w in the_plan.warned] == ["kubelet-https", "admission-control"]
    assert "deprecated since 1.19 and removed in 1.22" in the_plan.warned[0]["message"]
    assert edits == {}


def test_rename_when_new_name_already_set(tmp_path):
    build(tmp_path, env_layout(["--service-account-api-audiences=a", "--api-audiences=b"]))
    _service, the_plan, _edits = migrate(tmp_path, target="1.25.0")
    assert the_plan.dropped[0]["flag"] == "service-account-api-audiences"
    assert su.flags_dict(su.read_service("kube-apiserver", root=str(tmp_path)).flags) == {"api-audiences": "b"}


def test_underscore_spelling_is_the_same_flag(tmp_path):
    build(tmp_path, env_layout(["--insecure_port=0", "--a=1"]))
    _service, the_plan, _edits = migrate(tmp_path)
    assert the_plan.dropped[0]["flag"] == "insecure-port"


def test_mixed_layout_edits_each_file_where_the_flag_is(tmp_path):
    build(tmp_path, {
        UNIT: "[Service]\nEnvironmentFile=/etc/kubernetes/kube-apiserver.env\n"
              "ExecStart=%s --insecure-port=0 $KUBE_APISERVER_ARGS --v=2\n" % BIN,
        ENV: 'KUBE_APISERVER_ARGS="--a=1 --enable-swagger-ui --b=2"\n',
    })
    _service, _plan, edits = migrate(tmp_path, verbosity=5, set_flags={"c": "3"})
    assert sorted(os.path.relpath(p, str(tmp_path)) for p in edits) == [ENV, UNIT]
    assert open(os.path.join(str(tmp_path), UNIT)).read().endswith(
        "ExecStart=%s $KUBE_APISERVER_ARGS --v=5\n" % BIN)
    # the new flag goes where most flags are: the environment file
    assert open(os.path.join(str(tmp_path), ENV)).read() == 'KUBE_APISERVER_ARGS="--a=1 --b=2 --c=3"\n'


NEW_BIN = "/opt/kubernetes/v1.24.17/bin/kube-apiserver"


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_switch_binary(tmp_path, layout):
    make, _flag_file = LAYOUTS[layout]
    build(tmp_path, make(["--insecure-port=0", "--a=1"]))
    service = su.read_service("kube-apiserver", root=str(tmp_path))
    edits = fm.apply(service, fm.plan(service.flags, "kube-apiserver", "1.24.17"), binary=NEW_BIN)
    exec_file = service.command.assignment.path
    assert exec_file in edits, "the executable is switched where ExecStart= is written"
    for path, fe in edits.items():
        with open(path, "w") as handle:
            handle.write(fe.after)
    again = su.read_service("kube-apiserver", root=str(tmp_path))
    assert again.binary == NEW_BIN and su.render_flags(again.flags) == ["--a=1"]
    # switching to the binary it already runs changes nothing
    assert fm.apply(again, fm.plan(again.flags, "kube-apiserver", "1.24.17"), binary=NEW_BIN) == {}


def test_switch_binary_keeps_prefix(tmp_path):
    build(tmp_path, {UNIT: "[Service]\nExecStart=-%s --a=1\n" % BIN})
    service = su.read_service("kube-apiserver", root=str(tmp_path))
    edits = fm.apply(service, fm.plan(service.flags, "kube-apiserver", "1.24.17"), binary=NEW_BIN)
    assert list(edits.values())[0].after == "[Service]\nExecStart=-%s --a=1\n" % NEW_BIN


def test_switch_binary_must_be_absolute(tmp_path):
    build(tmp_path, {UNIT: "[Service]\nExecStart=%s --a=1\n" % BIN})
    service = su.read_service("kube-apiserver", root=str(tmp_path))
    with pytest.raises(fm.FlagMigrationError, match="absolute path"):
        fm.apply(service, fm.plan(service.flags, "kube-apiserver", "1.24.17"), binary="kube-apiserver")


def test_braced_variable_not_editable(tmp_path):
    build(tmp_path, {UNIT: "[Service]\nEnvironment=P=0\nExecStart=%s --insecure-port=${P}\n" % BIN})
    with pytest.raises(fm.FlagMigrationError, match="cannot edit"):
        migrate(tmp_path)


def test_environment_setting_not_editable(tmp_path):
    build(tmp_path, {UNIT: '[Service]\nEnvironment="ARGS=--insecure-port=0 --a=1"\nExecStart=%s $ARGS\n' % BIN})
    with pytest.raises(fm.FlagMigrationError, match="comes from an Environment= setting"):
        migrate(tmp_path)


def test_variable_used_twice_is_refused(tmp_path):
    files = env_layout(["--insecure-port=0", "--a=1"])
    files[UNIT] = files[UNIT].replace("$KUBE_APISERVER_ARGS", "$KUBE_APISERVER_ARGS $KUBE_APISERVER_ARGS")
    build(tmp_path, files)
    with pytest.raises(fm.FlagMigrationError, match="KUBE_APISERVER_ARGS is used more than once"):
        migrate(tmp_path)
    # nothing to change: reading it is fine
    assert migrate(tmp_path, target="1.15.0")[2] == {}


def test_diff_text(tmp_path):
    build(tmp_path, env_layout(["--insecure-port=0", "--a=1"]))
    service = su.read_service("kube-apiserver", root=str(tmp_path))
    edits = fm.apply(service, fm.plan(service.flags, "kube-apiserver", "1.24.0"))
    path = os.path.join(str(tmp_path), ENV)
    assert fm.unified_diff(path, edits[path].before, edits[path].after) == (
        "--- %s (before)\n+++ %s (after)\n@@ -1,2 +1,2 @@\n # managed by hand\n"
        "-KUBE_APISERVER_ARGS=\"--insecure-port=0 --a=1\"\n+KUBE_APISERVER_ARGS=\"--a=1\"\n" % (path, path))


@pytest.mark.parametrize(
    "word, layer, expected",
    [
        ("--a=b", su.LAYER_EXEC, "--a=b"),
        ("--a=50%", su.LAYER_EXEC, "--a=50%%"),
        ("--a=$x", su.LAYER_EXEC, "--a=$$x"),
        ('--a=x "y"', su.LAYER_EXEC, '"--a=x \\"y\\""'),
        ("--a=b", su.LAYER_ENV_DQ, "--a=b"),
        ("--a=x y", su.LAYER_ENV_DQ, "'--a=x y'"),
        ('--a="x" $y', su.LAYER_ENV_DQ, "'--a=\\\"x\\\" \\$y'"),
    ],
)
def test_quote_word_round_trips(tmp_path, word, layer, expected):
    assert fm.quote_word(word, layer) == expected
    # and systemd reads it back as the same single word
    if layer == su.LAYER_EXEC:
        build(tmp_path, {UNIT: "[Service]\nExecStart=%s %s\n" % (BIN, expected)})
    else:
        build(tmp_path, env_layout([expected]))
    assert su.read_service("kube-apiserver", root=str(tmp_path)).command.args[1:] == [word]


@pytest.mark.parametrize("word, layer", [("it's", su.LAYER_ENV_DQ), ("a b", su.LAYER_ENV_BARE)])
def test_quote_word_refuses(word, layer):
    with pytest.raises(fm.FlagMigrationError):
        fm.quote_word(word, layer)


@pytest.mark.parametrize(
    "component, current, target, expected",
    [
        ("kube-apiserver", "1.15", "1.16", [("1.16", "basic-auth-file", "deprecated")]),
        ("kube-apiserver", "1.16", "1.17", []),
        ("kube-apiserver", "1.23", "1.24", [
            ("1.24", "address", "removed"), ("1.24", "deserialization-cache-size", "removed"),
            ("1.24", "enable-swagger-ui", "removed"), ("1.24", "experimental-encryption-provider-config", "removed"),
            ("1.24", "insecure-bind-address", "removed"), ("1.24", "insecure-port", "removed"),
            ("1.24", "port", "removed"), ("1.24", "target-ram-mb", "removed")]),
        ("kubelet", "1.10", "1.12", [("1.12", "cadvisor-port", "removed")]),
        ("kube-controller-manager", "1.18", "1.19", [
            ("1.19", "experimental-cluster-signing-duration", "renamed"),
            ("1.19", "horizontal-pod-autoscaler-use-rest-clients", "removed")]),
        ("kube-proxy", "1.15", "1.16", [("1.16", "resource-container", "removed")]),
        ("kube-proxy", "1.25", "1.26", [
            ("1.26", "add-dir-header", "removed"), ("1.26", "alsologtostderr", "removed"),
            ("1.26", "log-backtrace-at", "removed"), ("1.26", "log-dir", "removed"), ("1.26", "log-file", "removed"),
            ("1.26", "log-file-max-size", "removed"), ("1.26", "logtostderr", "removed"),
            ("1.26", "one-output", "removed"), ("1.26", "proxy-mode", "values"), ("1.26", "skip-headers", "removed"),
            ("1.26", "skip-log-headers", "removed"), ("1.26", "stderrthreshold", "removed")]),
        ("kube-apiserver", "1.19", "1.20", [("1.20", "insecure-port", "values"), ("1.20", "port", "values")]),
    ],
)
def test_hop_changes(component, current, target, expected):
    changes = fm.hop_changes(component, current, target)
    assert [(c["minor"], c["flag"], c["change"]) for c in changes] == expected


def test_digest_line_for_values():
    assert fm.digest_lines(fm.hop_changes("kube-apiserver", "1.19", "1.20"))[0] == (
        "1.20 kube-apiserver: --insecure-port values: only accepts '0': insecure serving is gone: only 0 is "
        "accepted [CHANGELOG-1.20.md Urgent Upgrade Notes (#95856)]")


def test_digest_lines():
    lines = fm.digest_lines(fm.hop_changes("kube-apiserver", "1.12", "1.13"))
    assert lines[0].startswith("1.13 kube-apiserver: --deserialization-cache-size deprecated: no-op since 1.13")
    assert any("--experimental-encryption-provider-config renamed to --encryption-provider-config" in line
               for line in lines)


@pytest.mark.parametrize(
    "component, target, message",
    [("kube-dns", "1.24", "unknown component 'kube-dns'"), ("kubelet", "1.9", "not a Kubernetes release this collection knows")],
)
def test_bad_input(component, target, message):
    with pytest.raises(ValueError, match=message):
        fm.plan([], component, target)
