"""scripts/bad_inputs.py: the table of bad inputs, its runner's pure parts, and the README check."""

import copy
import importlib.util
import os

import pytest
import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SPEC = importlib.util.spec_from_file_location("bad_inputs", os.path.join(ROOT, "scripts", "bad_inputs.py"))
bad_inputs = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(bad_inputs)

ISSUE_ROWS = {  # issue 9: each kind of bad input has at least one row
    "unknown target version": ["unknown-target-version"],
    "downgrade": ["downgrade"],
    "jump beyond max_minor_jump": ["minor-jump-not-accepted"],
    "inventory missing a group": ["inventory-missing-group"],
    "host in two conflicting roles": ["one-machine-two-roles"],
    "kubeconfig without access": ["kubeconfig-unauthorized", "kubeconfig-forbidden"],
    "malformed release URL template": ["release-url-unknown-placeholder", "release-url-without-version"],
    "conflicting drain options": ["drain-conflicts-with-order"],
}

INVENTORY = {"all": {"vars": {"ansible_user": "root"}, "children": {
    "etcd": {"hosts": {"cp1": {"ansible_host": "10.0.0.11"}}},
    "kube_control_plane": {"hosts": {"cp1": {"ansible_host": "10.0.0.11", "lab_role": "control-plane"}}},
    "kube_node": {"hosts": {"node1": {"ansible_host": "10.0.1.21"}}},
}}}


@pytest.fixture(name="table")
def fixture_table():
    return bad_inputs.load_table()


def test_the_table_covers_the_issue(table):
    ids = [case["id"] for case in table["cases"]]
    for kind, rows in ISSUE_ROWS.items():
        for row in rows:
            assert row in ids, "no row for %s" % kind


def test_every_message_fragment_is_in_the_code_that_raises_it(table):
    """A fragment that no source contains could never match: catch the typo here, not on the lab."""
    sources = ""
    for folder in ("plugins", "roles"):
        for dirpath, _dirs, files in os.walk(os.path.join(ROOT, folder)):
            for name in files:
                if name.endswith((".py", ".yml")):
                    with open(os.path.join(dirpath, name), encoding="utf-8") as handle:
                        sources += " ".join(handle.read().split())
    for case in table["cases"]:
        words = [w for w in bad_inputs.normalise(case["expect"]).replace("'", " ").split() if w.isalpha() and len(w) > 3]
        assert all(w in sources for w in words), case["id"]


@pytest.mark.parametrize("change, message", [
    (lambda t: t.update(cases=[]), "non-empty list 'cases'"),
    (lambda t: t["cases"][0].pop("expect"), "lacks expect"),
    (lambda t: t["cases"][0].update(typo=1), "unknown field(s) typo"),
    (lambda t: t["cases"][1].update(id=t["cases"][0]["id"]), "id is used twice"),
    (lambda t: t["cases"][0].update(id="Not Kebab"), "kebab-case"),
    (lambda t: t["cases"][0].pop("extra_vars"), "changes nothing"),
    (lambda t: t["cases"][0].update(kubeconfig="stolen"), "kubeconfig must be one of"),
    (lambda t: t["cases"][0].update(inventory={"drop_host": "x"}), "inventory must be"),
    (lambda t: t["cases"][0].update(inventory={"alias_host": {"host": "cp1"}}), "exactly host, alias and group"),
])
def test_validate_refuses_a_broken_table(table, change, message):
    broken = copy.deepcopy(table)
    change(broken)
    with pytest.raises(bad_inputs.TableError, match=message.replace("(", r"\(").replace(")", r"\)")):
        bad_inputs.validate(broken)


def test_drop_group_leaves_the_original_alone():
    mutated = bad_inputs.mutate_inventory(INVENTORY, {"drop_group": "kube_node"})
    assert list(mutated["all"]["children"]) == ["etcd", "kube_control_plane"]
    assert "kube_node" in INVENTORY["all"]["children"]
    with pytest.raises(bad_inputs.TableError, match="no group nope"):
        bad_inputs.mutate_inventory(INVENTORY, {"drop_group": "nope"})


def test_alias_host_adds_the_same_machine_under_another_name():
    mutated = bad_inputs.mutate_inventory(
        INVENTORY, {"alias_host": {"host": "cp1", "alias": "cp1-alias", "group": "kube_node"}})
    assert mutated["all"]["children"]["kube_node"]["hosts"] == {
        "node1": {"ansible_host": "10.0.1.21"}, "cp1-alias": {"ansible_host": "10.0.0.11"}}
    assert "cp1-alias" not in INVENTORY["all"]["children"]["kube_node"]["hosts"]
    with pytest.raises(bad_inputs.TableError, match="no host ghost"):
        bad_inputs.mutate_inventory(INVENTORY, {"alias_host": {"host": "ghost", "alias": "g", "group": "etcd"}})


def test_case_vars_layer_base_case_kubeconfig_and_plumbing(table):
    case = {"id": "x", "extra_vars": {"k8s_target_version": "1.99.0"}, "kubeconfig": "forbidden"}
    merged = bad_inputs.case_vars(table, case, {"forbidden": "/k/forbidden"}, {"etcd_backup_controller_dir": "/b"})
    assert merged["k8s_target_version"] == "1.99.0"
    assert merged["upgrade_api_fail_on"] == table["base_vars"]["upgrade_api_fail_on"]
    assert merged["k8s_kubeconfig"] == "/k/forbidden"
    assert merged["etcd_backup_controller_dir"] == "/b"


@pytest.mark.parametrize("rc, output, success, problem", [
    (2, "[ERROR]: Task failed: target_version 1.99.0 is\n  not known", False, ""),
    (0, "target_version 1.99.0 is not known", False, "exited 0"),
    (2, "something else", False, "without 'target_version 1.99.0 is not known'"),
    (0, "", True, ""),
    (2, "", True, "the base run (no bad input) failed"),
])
def test_judge(rc, output, success, problem):
    result = bad_inputs.judge({"expect": "target_version 1.99.0 is not known"}, rc, output, success)
    assert (result == "") if not problem else (problem in result)


def test_plan_runs_each_case_against_both_playbooks(table, tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump(INVENTORY))
    kubeconfigs = dict((k, str(tmp_path / k)) for k in bad_inputs.KUBECONFIGS)
    runs = bad_inputs.plan_runs(table, str(inventory), kubeconfigs, str(tmp_path))
    assert len(runs) == 2 * len(table["cases"]) + 1
    assert runs[0][0] == "base-run preflight" and runs[0][5] is True
    by_name = dict((run[0], run) for run in runs)
    missing = by_name["inventory-missing-group upgrade"]
    assert "kube_node" not in yaml.safe_load(open(missing[3]))["all"]["children"]
    assert by_name["downgrade preflight"][3] == str(inventory)
    assert yaml.safe_load(open(by_name["kubeconfig-forbidden upgrade"][4]))["k8s_kubeconfig"] == kubeconfigs["forbidden"]
    assert len(bad_inputs.plan_runs(table, str(inventory), kubeconfigs, str(tmp_path), only=["downgrade"])) == 3


def test_render_lists_every_case_and_the_faults(table):
    faults = [{"id": "etcd-refuses-snapshot", "text": "an etcd member refuses the snapshot", "todo": "fix etcd",
               "expect": "No healthy etcd member", "left": "nothing changed", "scenario": "faults"}]
    text = bad_inputs.render(table, faults)
    assert text.startswith("## When something fails\n")
    for case in table["cases"]:
        assert "| `%s` |" % case["id"] in text
    assert ("| `etcd-refuses-snapshot` | an etcd member refuses the snapshot | `No healthy etcd member` | nothing changed"
            " | fix etcd | `faults` |") in text
    assert "molecule/faults/cases.yml" not in bad_inputs.render(table, [])


def test_the_docs_file_is_current(table):
    with open(bad_inputs.DOCS, encoding="utf-8") as handle:
        assert handle.read() == bad_inputs.render(table, bad_inputs.load_faults()), \
            "run: python3 scripts/bad_inputs.py render --out docs/when-something-fails.md"


def test_check_finds_a_missing_section_and_missing_ids(table):
    ids = [case["id"] for case in table["cases"]]
    good = "# X\n\nintro\n\n" + bad_inputs.render(table) + "\n## Next\n\n`%s`\n" % ids[0]
    assert bad_inputs.check(table, [], good, bad_inputs.render(table)) == []
    assert "has no 'When something fails' section" in bad_inputs.check(table, [], "# X\n\n## Other\n")[0]
    # an id listed only after the section ends does not count
    cut = good.replace("| `%s` |" % ids[0], "| gone |")
    (problem,) = bad_inputs.check(table, [], cut)
    assert "does not list %s;" % ids[0] in problem
    (problem,) = bad_inputs.check(table, [{"id": "host-drops-off", "text": "", "todo": ""}], good)
    assert "does not list host-drops-off" in problem
    assert "out of date" in bad_inputs.check(table, [], None, "stale")[0]


def test_section_levels():
    text = "## When something fails\n\na\n### Detail\n\nb\n## Next\n\nc\n"
    assert bad_inputs.section(text) == "\n\na\n### Detail\n\nb\n"
    assert bad_inputs.section("### When something fails\nx") == "\nx"
    assert bad_inputs.section("no heading") is None


def test_faults_file_is_optional_and_read_in_either_shape(tmp_path):
    assert bad_inputs.load_faults(str(tmp_path / "absent.yml")) == []
    listed = tmp_path / "list.yml"
    listed.write_text(yaml.safe_dump([{"id": "disk-full", "description": "staging dir full", "expect": "No space"}]))
    assert bad_inputs.load_faults(str(listed)) == [
        {"id": "disk-full", "text": "staging dir full", "todo": "", "expect": "No space", "left": "", "scenario": "faults"}]
    mapped = tmp_path / "map.yml"
    mapped.write_text(yaml.safe_dump({"cases": [{"name": "sigint", "title": "killed | re-run"}]}))
    assert bad_inputs.load_faults(str(mapped)) == [
        {"id": "sigint", "text": "killed \\| re-run", "todo": "", "expect": "", "left": "", "scenario": "faults"}]
    broken = tmp_path / "broken.yml"
    broken.write_text(yaml.safe_dump({"cases": [{"title": "no id"}]}))
    with pytest.raises(bad_inputs.TableError, match="needs an id"):
        bad_inputs.load_faults(str(broken))


def test_cli_render_and_check(tmp_path, capsys):
    out = tmp_path / "when.md"
    assert bad_inputs.main(["--faults", str(tmp_path / "none.yml"), "render", "--out", str(out)]) == 0
    readme = tmp_path / "README.md"
    readme.write_text("# C\n\n" + out.read_text())
    assert bad_inputs.main(["--faults", str(tmp_path / "none.yml"), "check", "--readme", str(readme), "--docs", str(out)]) == 0
    readme.write_text("# C\n")
    assert bad_inputs.main(["--faults", str(tmp_path / "none.yml"), "check", "--readme", str(readme)]) == 1
    assert "no 'When something fails' section" in capsys.readouterr().err
