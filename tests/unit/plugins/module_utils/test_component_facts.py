import glob
import os
import shutil
import subprocess

import pytest

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import component_facts as cf


def write(root, path, text, mode=0o644):
    full = root / path.lstrip("/")
    full.parent.mkdir(parents=True, exist_ok=True)
    full.write_text(text)
    full.chmod(mode)
    return full


def fake_binary(root, path, version, style="server"):
    """A stand-in binary: a shell script that prints its version as the real one does."""
    if style == "kubectl":
        body = ('if [ "$1 $2" = "version --client" ]; then echo "Client Version: v%s"; '
                'echo "Kustomize Version: v5.0.4"; else echo "error: unknown flag: $1" >&2; exit 1; fi\n' % version)
    elif style == "raw":
        body = 'echo \'Client Version: version.Info{Major:"1", Minor:"10", GitVersion:"v%s", GitCommit:"x"}\'\n' % version
    else:
        body = '[ "$1" = "--version" ] || exit 2\necho "Kubernetes v%s"\n' % version
    return write(root, path, "#!/bin/sh\n" + body, 0o755)


def run(argv):
    proc = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ, LC_ALL="C"), check=False)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def tree(tmp_path):
    """A host as the lab builds it, plus the two other ways operators write flags."""
    root = tmp_path / "root"
    for version in ("1.10.13", "1.14.10"):
        for name in ("kube-apiserver", "kube-scheduler", "kubelet"):
            fake_binary(root, "/opt/kubernetes/v%s/bin/%s" % (version, name), version)
    fake_binary(root, "/opt/kubernetes/v1.9.11/bin/kube-apiserver", "1.9.11")
    # 1) lab form: EnvironmentFile + $KUBE_APISERVER_ARGS
    write(root, "/etc/systemd/system/kube-apiserver.service",
          "[Unit]\nDescription=apiserver\n[Service]\nEnvironmentFile=/etc/kubernetes/kube-apiserver.env\n"
          "ExecStart=/opt/kubernetes/v1.10.13/bin/kube-apiserver $KUBE_APISERVER_ARGS\nRestart=always\n")
    write(root, "/etc/kubernetes/kube-apiserver.env",
          'KUBE_APISERVER_ARGS="--etcd-servers=https://10.0.0.1:2379 --v=2 --admission-control=NodeRestriction"\n')
    # 2) flags inline in ExecStart, with backslash continuations
    write(root, "/etc/systemd/system/kubelet.service",
          "[Service]\nExecStart=/opt/kubernetes/v1.14.10/bin/kubelet \\\n  --config=/etc/kubernetes/kubelet.yaml \\\n"
          "  --node-ip=10.0.0.21 \\\n  --v=3\n")
    # 3) a drop-in that replaces ExecStart and sets an environment variable used in it
    fake_binary(root, "/usr/local/bin/kube-proxy", "1.10.13")
    write(root, "/lib/systemd/system/kube-proxy.service", "[Service]\nExecStart=/usr/local/bin/kube-proxy --v=0\n")
    write(root, "/etc/systemd/system/kube-proxy.service.d/10-flags.conf",
          '[Service]\nEnvironment="PROXY_MODE=--proxy-mode=ipvs"\nExecStart=\n'
          "ExecStart=/usr/local/bin/kube-proxy --kubeconfig=/etc/kubernetes/proxy.kubeconfig $PROXY_MODE --v=4\n")
    # a unit whose binary is missing
    write(root, "/etc/systemd/system/kube-controller-manager.service",
          "[Service]\nExecStart=/opt/kubernetes/v1.14.10/bin/kube-controller-manager --v=2\n")
    fake_binary(root, "/usr/local/bin/kubectl", "1.10.13", style="kubectl")
    return root


def test_gather_reads_every_form_of_unit(tree):
    facts, notes = cf.gather(run, root=str(tree), systemctl=None)
    assert sorted(facts) == ["kube-apiserver", "kube-controller-manager", "kube-proxy", "kube-scheduler", "kubectl",
                             "kubelet"]
    api = facts["kube-apiserver"]
    assert api["path"] == "/opt/kubernetes/v1.10.13/bin/kube-apiserver"
    assert api["version"] == "1.10.13"
    assert api["sha256"] == cf.sha256_file(str(tree / "opt/kubernetes/v1.10.13/bin/kube-apiserver"))
    assert api["install_dir"] == "/opt/kubernetes/v1.10.13"
    assert api["installed_versions"] == ["1.9.11", "1.10.13", "1.14.10"]
    assert api["unit"] == "kube-apiserver.service"
    assert api["unit_file"] == "/etc/systemd/system/kube-apiserver.service"
    assert api["environment_files"] == ["/etc/kubernetes/kube-apiserver.env"]
    assert api["flags"] == {"etcd-servers": "https://10.0.0.1:2379", "v": "2", "admission-control": "NodeRestriction"}
    assert api["flag_files"] == ["/etc/kubernetes/kube-apiserver.env"]
    assert api["flag_list"][0] == {"name": "etcd-servers", "value": "https://10.0.0.1:2379",
                                   "file": "/etc/kubernetes/kube-apiserver.env", "origin": "$KUBE_APISERVER_ARGS"}
    assert api["verbosity"] == 2
    # every binary found, in version order of the install dirs; the one the unit runs marked
    assert [(b["path"], b["version"], b["in_unit"]) for b in api["binaries"]] == [
        ("/opt/kubernetes/v1.10.13/bin/kube-apiserver", "1.10.13", True),
        ("/opt/kubernetes/v1.9.11/bin/kube-apiserver", "1.9.11", False),
        ("/opt/kubernetes/v1.14.10/bin/kube-apiserver", "1.14.10", False),
    ]

    kubelet = facts["kubelet"]
    assert kubelet["version"] == "1.14.10" and kubelet["verbosity"] == 3
    assert kubelet["flags"] == {"config": "/etc/kubernetes/kubelet.yaml", "node-ip": "10.0.0.21", "v": "3"}
    assert kubelet["flag_files"] == ["/etc/systemd/system/kubelet.service"]

    proxy = facts["kube-proxy"]
    assert proxy["dropins"] == ["/etc/systemd/system/kube-proxy.service.d/10-flags.conf"]
    assert proxy["unit_file"] == "/lib/systemd/system/kube-proxy.service"
    assert proxy["flags"] == {"kubeconfig": "/etc/kubernetes/proxy.kubeconfig", "proxy-mode": "ipvs", "v": "4"}
    assert proxy["verbosity"] == 4 and proxy["install_dir"] is None and proxy["installed_versions"] == []

    # no unit: found on the search path only
    scheduler = facts["kube-scheduler"]
    assert scheduler["unit"] is None and scheduler["path"] == "/opt/kubernetes/v1.10.13/bin/kube-scheduler"
    assert facts["kubectl"]["version"] == "1.10.13" and facts["kubectl"]["unit"] is None

    cm = facts["kube-controller-manager"]
    assert cm["version"] is None and cm["binaries"] == [] and cm["verbosity"] == 2
    assert ("kube-controller-manager: kube-controller-manager.service runs "
            "/opt/kubernetes/v1.14.10/bin/kube-controller-manager, which does not exist or is not executable") in notes

    assert cf.skew_components(facts, "m1") == [
        {"component": c, "host": "m1", "version": facts[c]["version"]}
        for c in facts if c != "kube-controller-manager"]


def test_symlinked_binary_reports_its_install_dir(tree):
    link = tree / "usr/local/bin/kube-scheduler"
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink("/opt/kubernetes/v1.14.10/bin/kube-scheduler".replace("/opt", str(tree / "opt")), link)
    facts, _notes = cf.gather(run, components=["kube-scheduler"], search_paths=["/usr/local/bin"], root=str(tree),
                              systemctl=None)
    entry = facts["kube-scheduler"]
    assert entry["path"] == "/usr/local/bin/kube-scheduler"
    assert entry["realpath"] == "/opt/kubernetes/v1.14.10/bin/kube-scheduler"
    assert entry["install_dir"] == "/opt/kubernetes/v1.14.10" and entry["version"] == "1.14.10"
    assert entry["installed_versions"] == ["1.10.13", "1.14.10"]


def test_binary_that_prints_no_version(tree):
    write(tree, "/usr/bin/kube-scheduler", "#!/bin/sh\necho oops\nexit 3\n", 0o755)
    facts, notes = cf.gather(run, components=["kube-scheduler"], search_paths=["/usr/bin"], root=str(tree),
                             systemctl=None)
    assert facts["kube-scheduler"]["version"] is None
    assert any(n.startswith("kube-scheduler: ") and "--version printed no version (rc 3): oops" in n for n in notes)


def test_broken_unit_is_a_note(tree):
    write(tree, "/etc/systemd/system/kube-scheduler.service", "[Service]\nExecStart=/bin/a\nExecStart=/bin/b\n")
    facts, notes = cf.gather(run, components=["kube-scheduler"], root=str(tree), systemctl=None)
    assert facts["kube-scheduler"]["unit"] is None
    assert any("has 2 ExecStart= lines" in n for n in notes)


SHOW_OUTPUT = """Id=kube-apiserver.service
LoadState=loaded
ActiveState=active
SubState=running
UnitFileState=enabled
MainPID=4242
ExecMainStartTimestamp=Wed 2026-11-25 22:00:00 UTC
NeedDaemonReload=no

Id=kubelet.service
LoadState=loaded
ActiveState=failed
SubState=failed
UnitFileState=disabled
MainPID=0
ExecMainStartTimestamp=
NeedDaemonReload=yes
"""


def test_systemctl_show_argv_and_states(tree, tmp_path):
    argv_file = tmp_path / "argv"
    systemctl = write(tmp_path, "/bin/systemctl", "#!/bin/sh\necho \"$@\" > %s\ncat <<'EOF'\n%sEOF\n"
                      % (argv_file, SHOW_OUTPUT), 0o755)
    facts, _notes = cf.gather(run, components=["kube-apiserver", "kubelet"], root=str(tree), systemctl=str(systemctl))
    assert argv_file.read_text().split() == [
        "show", "kube-apiserver.service", "kubelet.service",
        "--property=Id,LoadState,ActiveState,SubState,UnitFileState,MainPID,ExecMainStartTimestamp,NeedDaemonReload"]
    assert facts["kube-apiserver"]["state"] == {
        "load": "loaded", "active": "active", "sub": "running", "enabled": "enabled", "main_pid": 4242,
        "started": "Wed 2026-11-25 22:00:00 UTC", "need_daemon_reload": False}
    assert facts["kubelet"]["state"] == {
        "load": "loaded", "active": "failed", "sub": "failed", "enabled": "disabled", "main_pid": None,
        "started": None, "need_daemon_reload": True}
    # another root than /: the running process is not looked up
    assert facts["kube-apiserver"]["running_path"] is None


def test_systemctl_failure_is_a_note(tree, tmp_path):
    systemctl = write(tmp_path, "/bin/systemctl", "#!/bin/sh\necho 'System has not been booted with systemd' >&2\n"
                      "exit 1\n", 0o755)
    facts, notes = cf.gather(run, components=["kubelet"], root=str(tree), systemctl=str(systemctl))
    assert facts["kubelet"]["state"] is None
    assert any("failed (rc 1): System has not been booted with systemd; unit states are unknown" in n for n in notes)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Kubernetes v1.14.10\n", "1.14.10"),
        ("Kubernetes v1.30.0-rc.1\n", "1.30.0-rc.1"),
        ("Client Version: v1.29.14\nKustomize Version: v5.0.4-0.20230601165947-6ce0bf390ce3\n", "1.29.14"),
        ('Client Version: version.Info{Major:"1", Minor:"10", GitVersion:"v1.10.13", GitCommit:"fc32d2f"}\n',
         "1.10.13"),
        ("Kustomize Version: v5.0.4\n", None),
        ("", None),
        ("Kubernetes vbanana\n", None),
    ],
)
def test_parse_version_output(text, expected):
    assert cf.parse_version_output(text) == expected


@pytest.mark.parametrize(
    "path, expected",
    [
        ("/opt/kubernetes/v1.14.10/bin/kubelet", ("/opt/kubernetes/v1.14.10", "1.14.10")),
        ("/opt/k8s/1.29.3/kubelet", ("/opt/k8s/1.29.3", "1.29.3")),
        ("/usr/local/bin/kubelet", (None, None)),
        ("/opt/kubernetes/current/bin/kubelet", (None, None)),
    ],
)
def test_install_dir_of(path, expected):
    assert cf.install_dir_of(path) == expected


@pytest.mark.parametrize(
    "component, argv",
    [("kubelet", ["/x/kubelet", "--version"]), ("kubectl", ["/x/kubectl", "version", "--client"])],
)
def test_version_argv(component, argv):
    assert cf.version_argv(component, "/x/" + component) == argv


def real_kubectls():
    """Real kubectl binaries: kubectl on PATH and the kubectl.1.NN beside it (Google Cloud SDK layout)."""
    found = shutil.which("kubectl")
    if not found:
        return []
    folder = os.path.dirname(os.path.realpath(found))
    return sorted(glob.glob(os.path.join(folder, "kubectl.1.*")))


@pytest.mark.skipif(not real_kubectls(), reason="no real kubectl.1.NN binaries on this machine")
def test_real_kubectl_versions():
    for path in real_kubectls():
        rc, out, err = run(cf.version_argv("kubectl", path))
        assert rc == 0, err
        version = cf.parse_version_output(out)
        assert version is not None and version.startswith(path.rsplit("kubectl.", 1)[1] + "."), (path, out)


def test_custom_unit_name(tree):
    os.rename(tree / "etc/systemd/system/kubelet.service", tree / "etc/systemd/system/kubelet-custom.service")
    facts, _notes = cf.gather(run, components=["kubelet"], units={"kubelet": "kubelet-custom.service"},
                              root=str(tree), systemctl=None)
    assert facts["kubelet"]["unit"] == "kubelet-custom.service" and facts["kubelet"]["verbosity"] == 3


@pytest.mark.parametrize("target, expected", [
    ("/opt/kubernetes/v1.14.10/bin/kubelet", "/opt/kubernetes/v1.14.10/bin/kubelet"),
    ("/opt/kubernetes/v1.10.13/bin/kubelet (deleted)", "/opt/kubernetes/v1.10.13/bin/kubelet (deleted)"),
    (None, None),
])
def test_running_path_from_proc(tmp_path, target, expected):
    (tmp_path / "4242").mkdir()
    if target:
        os.symlink(target, tmp_path / "4242" / "exe")
    assert cf.running_path(str(tmp_path), 4242) == expected


@pytest.mark.parametrize("cmdline, expected", [
    # A #! script runs as its interpreter: the script is what the service runs.
    (["/usr/bin/python3", "/opt/kubernetes/v1.16.15/bin/kube-apiserver", "--v=2"], "/opt/kubernetes/v1.16.15/bin/kube-apiserver"),
    (["/usr/bin/python3", "-I", "/opt/kubernetes/v1.16.15/bin/kubelet"], "/opt/kubernetes/v1.16.15/bin/kubelet"),
    (["/usr/bin/python3", "kubelet.py"], "/usr/bin/python3.11"),
])
def test_running_path_of_interpreted_service(tmp_path, cmdline, expected):
    (tmp_path / "4242").mkdir()
    os.symlink("/usr/bin/python3.11", tmp_path / "4242" / "exe")
    (tmp_path / "4242" / "cmdline").write_bytes(b"\0".join(arg.encode() for arg in cmdline) + b"\0")
    assert cf.running_path(str(tmp_path), 4242) == expected


@pytest.mark.parametrize("path, expected", [
    # a binary read from the unit or the search path: its own --version
    ("/usr/local/bin/kubelet", "1.31.14"),
    # the versioned install directory names it (the unit already names another release)
    ("/opt/kubernetes/v1.30.14/bin/kubelet", "1.30.14"),
    ("/opt/kubernetes/v1.30.14/bin/kubelet (deleted)", "1.30.14"),
    ("/srv/kubelet", None),
    (None, None),
])
def test_running_version(path, expected):
    binaries = [{"path": "/usr/local/bin/kubelet", "realpath": "/usr/local/bin/kubelet", "version": "1.31.14"}]
    assert cf.running_version(path, binaries) == expected
