"""Flag parsing and the unknown-flag refusal of the emulated components."""

import io
import os
import subprocess
import sys

import pytest

from lab.emulator import cli, units
from lab.facts import flags as flag_facts
from lab.facts import versions as version_facts

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


@pytest.mark.parametrize("argv, expected", [
    (["--secure-port=6443", "--bind-address", "0.0.0.0"], {"secure-port": "6443", "bind-address": "0.0.0.0"}),
    (["--allow-privileged"], {"allow-privileged": "true"}),
    (["--allow-privileged=false"], {"allow-privileged": "false"}),
    (["-v=4"], {"v": "4"}),
    (["-v", "3"], {"v": "3"}),
    (["-v5"], {"v": "5"}),
    (["--insecure_port=0"], {"insecure-port": "0"}),
    (["--v=1", "--v=2"], {"v": "2"}),
])
def test_parse_flags(argv, expected):
    flags, args = cli.parse_flags("kube-apiserver", 15, argv)
    assert flags == expected
    assert args == []


@pytest.mark.parametrize("component, minor, argv, message", [
    ("kube-apiserver", 24, ["--insecure-port=0"], "unknown flag: --insecure-port"),
    ("kube-apiserver", 24, ["--enable-swagger-ui=true"], "unknown flag: --enable-swagger-ui"),
    ("kube-apiserver", 15, ["--no-such-flag"], "unknown flag: --no-such-flag"),
    ("kubelet", 15, ["--allow-privileged=true"], "unknown flag: --allow-privileged"),
    ("kubelet", 12, ["--cadvisor-port=0"], "unknown flag: --cadvisor-port"),
    ("kube-scheduler", 24, ["--port=0"], "unknown flag: --port"),
    ("kube-apiserver", 15, ["--secure-port"], "flag needs an argument: --secure-port"),
    ("kube-apiserver", 15, ["-x"], "unknown shorthand flag: 'x' in -x"),
    ("kube-apiserver", 15, ["--profiling=maybe"], 'invalid argument "maybe" for "--profiling" flag'),
])
def test_parse_errors(component, minor, argv, message):
    with pytest.raises(cli.FlagError) as err:
        cli.parse_flags(component, minor, argv)
    assert message in str(err.value)


@pytest.mark.parametrize("component, minor, argv", [
    ("kube-apiserver", 23, ["--insecure-port=0"]),
    ("kube-apiserver", 23, ["--enable-swagger-ui=true"]),
    ("kubelet", 14, ["--allow-privileged=true"]),
    ("kubelet", 11, ["--cadvisor-port=0"]),
    ("kube-scheduler", 23, ["--port=0"]),
])
def test_flags_still_there_the_release_before(component, minor, argv):
    flags, dummy = cli.parse_flags(component, minor, argv)
    assert flags


@pytest.mark.parametrize("component, minor, first, last, code", [
    ("kube-apiserver", 15, "Error: unknown flag: --x", "--watch-cache", 1),
    ("kube-apiserver", 26, "Usage:", "Error: unknown flag: --x", 1),
    ("kube-apiserver", 24, "Usage:", 'run.go:74] "command failed" err="unknown flag: --x"', 1),
    ("kubelet", 30, "Usage:", "Error: failed to parse kubelet flag: unknown flag: --x", 1),
])
def test_report_flag_error_wording(component, minor, first, last, code):
    out = io.StringIO()
    assert cli.report_flag_error(component, minor, cli.FlagError("unknown flag: --x"), out) == code
    lines = out.getvalue().strip().splitlines()
    assert lines[0].startswith(first)
    assert lines[-1].strip().endswith(last)


def _run(args, env=None):
    full_env = dict(os.environ, PYTHONPATH=ROOT)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "lab.emulator"] + args, cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_version_and_refusal_end_to_end():
    res = _run(["kube-apiserver", "--lab-version=1.15.12", "--version"])
    assert (res.returncode, res.stdout) == (0, "Kubernetes v1.15.12\n")
    res = _run(["kubelet", "--version"], env={"LAB_K8S_VERSION": "v1.30.14"})
    assert (res.returncode, res.stdout) == (0, "Kubernetes v1.30.14\n")
    res = _run(["kube-apiserver", "--lab-version=1.22.17", "--kubelet-https", "--version"])
    assert res.returncode == 1
    assert res.stderr.startswith("Error: unknown flag: --kubelet-https\nUsage:\n  kube-apiserver [flags]")


def test_versions_cover_every_minor():
    minors = {version_facts.minor(v) for v in version_facts.LAB_VERSIONS}
    assert set(range(10, 34)) <= minors
    assert "1.15.12" in version_facts.LAB_VERSIONS and "1.30.14" in version_facts.LAB_VERSIONS


CTX = {"host_ip": "10.213.19.11", "hostname": "cp1", "lb_ip": "10.213.19.1",
       "etcd_servers": ["https://10.213.19.11:2379", "https://10.213.19.12:2379"]}


@pytest.mark.parametrize("version", version_facts.LAB_VERSIONS)
@pytest.mark.parametrize("component", list(units.ARGS_VARS))
def test_default_flags_are_accepted_by_that_release(component, version):
    argv = units.default_flags(component, version, CTX)
    flags, args = cli.parse_flags(component, version_facts.minor(version), argv)
    assert not args and "v" in flags


def test_default_flags_release_specific():
    assert "--insecure-port=0" in units.default_flags("kube-apiserver", "1.23.17", CTX)
    assert "--insecure-port=0" not in units.default_flags("kube-apiserver", "1.24.17", CTX)
    assert "--allow-privileged=true" in units.default_flags("kubelet", "1.14.10", CTX)
    assert "--allow-privileged=true" not in units.default_flags("kubelet", "1.15.12", CTX)
    assert units.env_line("kubelet", "1.30.14", CTX).startswith('KUBELET_ARGS="--kubeconfig=')
    assert units.args_var("kube-controller-manager") == "KUBE_CONTROLLER_MANAGER_ARGS"


def test_removed_in():
    assert "insecure-port" in flag_facts.removed_in("kube-apiserver", 24)
    assert "allow-privileged" in flag_facts.removed_in("kubelet", 15)


def test_shutdown_delay_only_behind_a_load_balancer_and_from_1_16():
    several = dict(CTX, apiserver_count=2)
    assert "--shutdown-delay-duration=5s" in units.default_flags("kube-apiserver", "1.30.14", several)
    assert not [f for f in units.default_flags("kube-apiserver", "1.15.12", several) if "shutdown-delay" in f]
    alone = dict(CTX, apiserver_count=1)
    assert not [f for f in units.default_flags("kube-apiserver", "1.30.14", alone) if "shutdown-delay" in f]
