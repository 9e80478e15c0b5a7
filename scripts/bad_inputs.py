"""The table of bad inputs (docs/bad-inputs.yml): run it on the lab, render it, check the README.

    python3 scripts/bad_inputs.py run --inventory inventories/lab/hosts.yml --kubeconfig inventories/lab/kubeconfig \
        --ca-dir lab/.state/pki --workdir DIR [--jobs 4] [--only ID ...]
        Runs every case against playbooks/preflight.yml and playbooks/upgrade.yml (and the unchanged base
        run against preflight.yml, which must pass): each case must exit non-zero with its `expect` fragment
        in stdout ~ stderr. Writes DIR/results.json; exits 1 naming every case that did not.
    python3 scripts/bad_inputs.py render [--faults molecule/faults/cases.yml] [--out docs/when-something-fails.md]
        Prints (or writes) the "When something fails" section from the table (and the fault cases, if that
        file exists).
    python3 scripts/bad_inputs.py check [--readme README.md] [--docs docs/when-something-fails.md]
        Exits 1 unless the docs file is what `render` gives and the README's "When something fails" section
        names every case id of both tables.

Standard library and PyYAML only.
"""

import argparse
import base64
import concurrent.futures
import copy
import json
import os
import re
import subprocess
import sys
import time

import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
TABLE = os.path.join(ROOT, "docs", "bad-inputs.yml")
FAULTS = os.path.join(ROOT, "molecule", "faults", "cases.yml")
DOCS = os.path.join(ROOT, "docs", "when-something-fails.md")
README = os.path.join(ROOT, "README.md")
PLAYBOOKS = ("playbooks/preflight.yml", "playbooks/upgrade.yml")
SECTION = "When something fails"
CASE_FIELDS = {"id", "input", "extra_vars", "inventory", "kubeconfig", "expect", "refused_by", "what_to_do"}
REQUIRED_FIELDS = ("id", "input", "expect", "refused_by", "what_to_do")
KUBECONFIGS = ("unauthorized", "forbidden", "missing")
ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class TableError(ValueError):
    pass


# ---- the table ------------------------------------------------------------------------------------

def validate(table, where="docs/bad-inputs.yml"):
    """Return the table if every case is complete and consistent, else raise TableError naming the problem."""
    if not isinstance(table, dict) or not isinstance(table.get("cases"), list) or not table["cases"]:
        raise TableError("%s: expected a mapping with a non-empty list 'cases'" % where)
    if not isinstance(table.get("base_vars", {}), dict):
        raise TableError("%s: base_vars must be a mapping" % where)
    seen = set()
    for index, case in enumerate(table["cases"]):
        label = "%s: case %d" % (where, index + 1)
        if not isinstance(case, dict):
            raise TableError("%s is not a mapping" % label)
        label = "%s (%s)" % (label, case.get("id"))
        unknown = sorted(set(case) - CASE_FIELDS)
        if unknown:
            raise TableError("%s has unknown field(s) %s; expected %s" % (label, ", ".join(unknown), ", ".join(sorted(CASE_FIELDS))))
        missing = [f for f in REQUIRED_FIELDS if not str(case.get(f) or "").strip()]
        if missing:
            raise TableError("%s lacks %s" % (label, ", ".join(missing)))
        if not ID_RE.match(str(case["id"])):
            raise TableError("%s: id must be kebab-case (a-z, 0-9, -)" % label)
        if case["id"] in seen:
            raise TableError("%s: id is used twice" % label)
        seen.add(case["id"])
        if not any(case.get(k) for k in ("extra_vars", "inventory", "kubeconfig")):
            raise TableError("%s changes nothing: give extra_vars, inventory or kubeconfig" % label)
        if "extra_vars" in case and not isinstance(case["extra_vars"], dict):
            raise TableError("%s: extra_vars must be a mapping" % label)
        if case.get("kubeconfig") is not None and case["kubeconfig"] not in KUBECONFIGS:
            raise TableError("%s: kubeconfig must be one of %s" % (label, ", ".join(KUBECONFIGS)))
        inventory = case.get("inventory")
        if inventory is not None:
            if not isinstance(inventory, dict) or len(inventory) != 1 or next(iter(inventory)) not in ("drop_group", "alias_host"):
                raise TableError("%s: inventory must be {drop_group: NAME} or {alias_host: {host, alias, group}}" % label)
            alias = inventory.get("alias_host")
            if alias is not None and (not isinstance(alias, dict) or set(alias) != {"host", "alias", "group"}):
                raise TableError("%s: alias_host needs exactly host, alias and group" % label)
    return table


def load_table(path=TABLE):
    with open(path, encoding="utf-8") as handle:
        return validate(yaml.safe_load(handle), os.path.relpath(path, ROOT))


def load_faults(path=FAULTS):
    """The fault cases of molecule/faults/cases.yml as [{id, text}], or [] when that file does not exist.
    Accepts a list of cases or a mapping with 'cases'; each case needs an id (or name)."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    cases = data.get("cases") if isinstance(data, dict) else data
    if not isinstance(cases, list):
        raise TableError("%s: expected a list of cases or a mapping with 'cases'" % path)
    result = []
    for case in cases:
        if not isinstance(case, dict) or not (case.get("id") or case.get("name")):
            raise TableError("%s: every case needs an id" % path)
        text = next((case[k] for k in ("title", "description", "fault", "what") if case.get(k)), "")
        todo = next((case[k] for k in ("what_to_do", "fix", "operator", "recovery") if case.get(k)), "")
        result.append({"id": str(case.get("id") or case.get("name")), "text": _one_line(text), "todo": _one_line(todo),
                       "expect": _one_line(case.get("expect", "")), "left": _one_line(case.get("end_state", "")),
                       "scenario": _one_line(case.get("scenario", "faults"))})
    return result


def _one_line(value):
    if isinstance(value, (list, dict)):
        value = json.dumps(value, sort_keys=True)
    return " ".join(str(value or "").split()).replace("|", "\\|")


# ---- one case, as an operator would run it ----------------------------------------------------------

def mutate_inventory(inventory, mutation):
    """A copy of a YAML inventory (all: {vars, children: {GROUP: {hosts: {...}}}}) with `mutation` applied."""
    result = copy.deepcopy(inventory)
    children = result["all"].setdefault("children", {})
    if not mutation:
        return result
    if "drop_group" in mutation:
        if mutation["drop_group"] not in children:
            raise TableError("the inventory has no group %s to drop" % mutation["drop_group"])
        del children[mutation["drop_group"]]
        return result
    alias = mutation["alias_host"]
    source = None
    for group in children.values():
        hosts = (group or {}).get("hosts") or {}
        if alias["host"] in hosts:
            source = dict(hosts[alias["host"]] or {})
            break
    if source is None or not source.get("ansible_host"):
        raise TableError("the inventory has no host %s with an ansible_host to alias" % alias["host"])
    group = children.setdefault(alias["group"], {})
    group.setdefault("hosts", {})
    group["hosts"] = dict(group["hosts"] or {})
    group["hosts"][alias["alias"]] = source
    return result


def case_vars(table, case, kubeconfigs, extra=None):
    """The extra vars of one run: base_vars, then the case's, then its kubeconfig, then `extra` (test plumbing)."""
    merged = dict(table.get("base_vars") or {})
    merged.update(case.get("extra_vars") or {})
    if case.get("kubeconfig"):
        merged["k8s_kubeconfig"] = kubeconfigs[case["kubeconfig"]]
    merged.update(extra or {})
    return merged


def normalise(text):
    return " ".join((text or "").split())


def judge(case, rc, output, expect_success=False):
    """'' when the run did what the table promises, else what went wrong."""
    if expect_success:
        return "" if rc == 0 else "the base run (no bad input) failed with rc %s" % rc
    if rc == 0:
        return "exited 0: the bad input was accepted"
    if normalise(case["expect"]) not in normalise(output):
        return "exited %s without %r in its output" % (rc, case["expect"])
    return ""


def error_lines(output, limit=3):
    """The [ERROR] lines of an ansible-playbook run, for the results file."""
    lines = [line.strip() for line in (output or "").splitlines() if line.startswith("[ERROR]")]
    return lines[:limit]


# ---- fixtures on the lab ------------------------------------------------------------------------------

def make_kubeconfigs(kubeconfig, ca_dir, workdir):
    """Kubeconfigs that the lab's apiserver refuses: a token it does not know (401), a certificate of its
    CA for a user without RBAC rights (403), and a path that does not exist."""
    with open(kubeconfig, encoding="utf-8") as handle:
        good = yaml.safe_load(handle)
    paths = {"missing": os.path.join(workdir, "no-such-kubeconfig")}

    unauthorized = copy.deepcopy(good)
    for user in unauthorized.get("users") or []:
        user["user"] = {"token": "bad-inputs-not-a-token"}
    paths["unauthorized"] = _write_yaml(os.path.join(workdir, "kubeconfig-unauthorized"), unauthorized)

    sys.path.insert(0, ROOT)
    from lab import pki  # pylint: disable=import-outside-toplevel  # the lab's own CA helpers

    ca = pki.CA.load_or_create(ca_dir)
    key_pem, cert_pem = ca.issue("bad-inputs-nobody", (), client=True)
    forbidden = copy.deepcopy(good)
    for user in forbidden.get("users") or []:
        user["user"] = {"client-certificate-data": base64.b64encode(cert_pem).decode("ascii"),
                        "client-key-data": base64.b64encode(key_pem).decode("ascii")}
    paths["forbidden"] = _write_yaml(os.path.join(workdir, "kubeconfig-forbidden"), forbidden)
    return paths


def _write_yaml(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle, default_flow_style=False)
    return path


def plan_runs(table, inventory_path, kubeconfigs, workdir, extra_vars=None, only=None):
    """Every run: (name, case, playbook, inventory file, vars file, expect_success)."""
    with open(inventory_path, encoding="utf-8") as handle:
        inventory = yaml.safe_load(handle)
    runs = []
    base = {"id": "base-run", "expect": "", "extra_vars": {}}
    vars_file = _write_json(os.path.join(workdir, "base-run.vars.json"), case_vars(table, base, kubeconfigs, extra_vars))
    runs.append(("base-run preflight", base, PLAYBOOKS[0], inventory_path, vars_file, True))
    for case in table["cases"]:
        if only and case["id"] not in only:
            continue
        inv = inventory_path
        if case.get("inventory"):
            inv = _write_yaml(os.path.join(workdir, "%s.hosts.yml" % case["id"]),
                              mutate_inventory(inventory, case["inventory"]))
        vars_file = _write_json(os.path.join(workdir, "%s.vars.json" % case["id"]),
                                case_vars(table, case, kubeconfigs, extra_vars))
        for playbook in PLAYBOOKS:
            name = "%s %s" % (case["id"], os.path.splitext(os.path.basename(playbook))[0])
            runs.append((name, case, playbook, inv, vars_file, False))
    return runs


def _write_json(path, data):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
    return path


def run_one(run, workdir, timeout):
    name, case, playbook, inventory, vars_file, expect_success = run
    binary = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    argv = [binary if os.path.exists(binary) else "ansible-playbook", "-i", inventory,
            os.path.join(ROOT, playbook), "-e", "@" + vars_file]
    env = dict(os.environ, CLUSTEROPS_REPORT_DIR=os.path.join(workdir, "reports"), ANSIBLE_NOCOLOR="1")
    started = time.time()
    try:
        proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        rc, output = proc.returncode, proc.stdout + "\n" + proc.stderr
    except subprocess.TimeoutExpired as exc:
        rc, output = "timeout", "%s%s" % (exc.stdout or "", exc.stderr or "")
    seconds = round(time.time() - started, 1)
    log = os.path.join(workdir, name.replace(" ", ".") + ".log")
    with open(log, "w", encoding="utf-8") as handle:
        handle.write("$ %s\n%s" % (" ".join(argv), output))
    if rc == "timeout":
        problem = "did not finish within %d s" % timeout
    else:
        problem = judge(case, rc, output, expect_success)
    return {"name": name, "id": case["id"], "playbook": playbook, "rc": rc, "seconds": seconds,
            "ok": not problem, "problem": problem, "errors": error_lines(output), "log": log}


def cmd_run(args):
    table = load_table(args.table)
    os.makedirs(args.workdir, exist_ok=True)
    kubeconfigs = make_kubeconfigs(args.kubeconfig, args.ca_dir, args.workdir)
    extra = {"etcd_backup_controller_dir": os.path.join(args.workdir, "etcd-backups")}
    runs = plan_runs(table, args.inventory, kubeconfigs, args.workdir, extra, args.only)
    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(lambda r: run_one(r, args.workdir, args.timeout), runs))
    summary = {"runs": len(results), "failed": [r["name"] for r in results if not r["ok"]],
               "cases": len({r["id"] for r in results if r["id"] != "base-run"}),
               "seconds": round(time.time() - started, 1), "results": results}
    _write_json(os.path.join(args.workdir, "results.json"), summary)
    for result in results:
        print("%-4s %-48s rc=%-7s %5.1fs %s" % ("ok" if result["ok"] else "FAIL", result["name"], result["rc"],
                                                result["seconds"], result["problem"]))
    print("%d runs (%d bad inputs x %d playbooks + the base run) in %.1f s; %d failed"
          % (len(results), summary["cases"], len(PLAYBOOKS), summary["seconds"], len(summary["failed"])))
    return 1 if summary["failed"] else 0


# ---- the docs -------------------------------------------------------------------------------------------

def render(table, faults=()):
    """The "When something fails" section, as Markdown."""
    lines = [
        "## %s" % SECTION,
        "",
        "Every run stops at the first problem and says what was wrong and what to do. Bad inputs are refused",
        "by the preflight, before anything changes on any host: no binary staged, no unit touched, no",
        "controller-manager stopped, no node cordoned, no etcd snapshot taken. Each row below is tested on",
        "the lab by `molecule test -s bad_inputs` (against `playbooks/preflight.yml` and",
        "`playbooks/upgrade.yml`), from the table in `docs/bad-inputs.yml`: %d bad inputs, %d runs that must"
        % (len(table["cases"]), len(table["cases"]) * len(PLAYBOOKS)),
        "fail with their message, one unchanged run that must pass, and every host compared before and after.",
        "",
        "| id | bad input | refused by | message contains | what to do |",
        "|---|---|---|---|---|",
    ]
    for case in table["cases"]:
        lines.append("| `%s` | %s | %s | `%s` | %s |" % (
            case["id"], _one_line(case["input"]), _one_line(case["refused_by"]),
            _one_line(case["expect"]).replace("`", "'"), _one_line(case["what_to_do"])))
    if faults:
        lines += [
            "",
            "Faults during the rollout: %d cases in `molecule/faults/cases.yml`, each proven on the lab by the"
            " Molecule scenario named, which checks the end state of every host and of the cluster:" % len(faults),
            "",
            "| id | fault | message contains | left behind | what to do | scenario |",
            "|---|---|---|---|---|---|",
        ]
        for fault in faults:
            lines.append("| `%s` | %s | `%s` | %s | %s | `%s` |" % (
                fault["id"], fault["text"], fault.get("expect", "").replace("`", "'"), fault.get("left", ""),
                fault["todo"], fault.get("scenario", "faults")))
    lines += [
        "",
        "After a failure during the rollout, fix the cause and run the same command again: hosts already at",
        "the target are skipped. `reports/latest/report.html` shows what ran, on which host, and where it stopped.",
    ]
    return "\n".join(lines) + "\n"


def section(markdown, title=SECTION):
    """The text of the section headed `title` (any level), up to the next heading of the same or a higher
    level, or None when there is no such section."""
    match = re.search(r"^(#{1,6})[ \t]+%s[ \t]*$" % re.escape(title), markdown, re.M)
    if not match:
        return None
    level = len(match.group(1))
    rest = markdown[match.end():]
    following = re.search(r"^#{1,%d}[ \t]" % level, rest, re.M)
    return rest[:following.start()] if following else rest


def missing_ids(markdown, ids, title=SECTION):
    """The ids the section does not name (each written as `id`); all of them when the section is absent."""
    text = section(markdown, title)
    if text is None:
        return list(ids)
    return [i for i in ids if "`%s`" % i not in text]


def check(table, faults, readme_text=None, docs_text=None):
    """Problems, as sentences: the docs file out of date, README ids missing."""
    problems = []
    ids = [c["id"] for c in table["cases"]] + [f["id"] for f in faults]
    if docs_text is not None and docs_text != render(table, faults):
        problems.append("docs/when-something-fails.md is out of date; run: python3 scripts/bad_inputs.py render "
                        "--out docs/when-something-fails.md")
    if readme_text is not None:
        if section(readme_text) is None:
            problems.append("README.md has no '%s' section; paste docs/when-something-fails.md there" % SECTION)
        else:
            missing = missing_ids(readme_text, ids)
            if missing:
                problems.append("README.md's '%s' section does not list %s; paste docs/when-something-fails.md "
                                "there again" % (SECTION, ", ".join(missing)))
    return problems


def cmd_render(args):
    text = render(load_table(args.table), load_faults(args.faults))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0


def cmd_check(args):
    table, faults = load_table(args.table), load_faults(args.faults)
    readme_text = docs_text = None
    if args.readme:
        with open(args.readme, encoding="utf-8") as handle:
            readme_text = handle.read()
    if args.docs:
        docs_text = open(args.docs, encoding="utf-8").read() if os.path.exists(args.docs) else ""
    problems = check(table, faults, readme_text, docs_text)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print("%d bad inputs and %d fault cases listed" % (len(table["cases"]), len(faults)))
    return 1 if problems else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--table", default=TABLE)
    parser.add_argument("--faults", default=FAULTS)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("--inventory", required=True)
    run.add_argument("--kubeconfig", required=True)
    run.add_argument("--ca-dir", required=True, help="the lab's CA (ca.crt, ca.key)")
    run.add_argument("--workdir", required=True)
    run.add_argument("--jobs", type=int, default=4)
    run.add_argument("--timeout", type=int, default=300)
    run.add_argument("--only", nargs="*")
    rend = sub.add_parser("render")
    rend.add_argument("--out")
    chk = sub.add_parser("check")
    chk.add_argument("--readme", default=None)
    chk.add_argument("--docs", default=None)
    args = parser.parse_args(argv)
    try:
        return {"run": cmd_run, "render": cmd_render, "check": cmd_check}[args.command](args)
    except (TableError, OSError, yaml.YAMLError) as exc:
        print("bad_inputs: %s" % exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
