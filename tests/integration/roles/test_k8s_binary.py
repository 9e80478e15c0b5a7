"""The binary staging role against a real HTTP server: verified or nothing."""

import hashlib
import os
import stat

import pytest

PLAY = """
- name: Stage
  hosts: all
  gather_facts: false
  roles:
    - role: clusterops.k8s_upgrade.k8s_binary
"""


def publish(root, version, name, content, digest=None):
    folder = root / ("v%s" % version) / "bin" / "linux" / "amd64"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    (folder / (name + ".sha256")).write_text(digest or hashlib.sha256(content).hexdigest())


def stage_vars(tmp_path, base, **extra):
    values = dict(
        k8s_binary_version="1.16.15",
        k8s_binary_names=["kube-apiserver", "kube-scheduler"],
        k8s_binary_install_root=str(tmp_path / "opt"),
        k8s_binary_release_url=base + "/v{version}/bin/linux/{arch}/{name}",
        k8s_binary_arch="x86_64",
    )
    values.update(extra)
    return values


def installed(tmp_path):
    folder = tmp_path / "opt" / "v1.16.15" / "bin"
    return sorted(os.listdir(folder)) if folder.exists() else []


def test_stages_verified_binaries_and_is_idempotent(tmp_path, http_dir, run_playbook):
    root, base = http_dir
    publish(root, "1.16.15", "kube-apiserver", b"apiserver-bytes")
    publish(root, "1.16.15", "kube-scheduler", b"scheduler-bytes")
    first = run_playbook(PLAY, stage_vars(tmp_path, base))
    assert first.returncode == 0, first.stdout + first.stderr
    assert installed(tmp_path) == ["kube-apiserver", "kube-scheduler"]
    mode = (tmp_path / "opt" / "v1.16.15" / "bin" / "kube-apiserver").stat().st_mode
    assert stat.S_IMODE(mode) == 0o755
    second = run_playbook(PLAY, stage_vars(tmp_path, base))
    assert second.returncode == 0 and "changed=0" in second.stdout, second.stdout


def test_check_mode_installs_nothing(tmp_path, http_dir, run_playbook):
    root, base = http_dir
    publish(root, "1.16.15", "kube-apiserver", b"a")
    publish(root, "1.16.15", "kube-scheduler", b"s")
    result = run_playbook(PLAY, stage_vars(tmp_path, base), check=True)
    assert result.returncode == 0, result.stdout
    assert installed(tmp_path) == []


def test_checksum_mismatch_installs_nothing(tmp_path, http_dir, run_playbook):
    root, base = http_dir
    publish(root, "1.16.15", "kube-apiserver", b"tampered", digest="0" * 64)
    publish(root, "1.16.15", "kube-scheduler", b"s")
    result = run_playbook(PLAY, stage_vars(tmp_path, base))
    assert result.returncode != 0
    assert "did not match" in result.stdout
    assert "kube-apiserver" not in installed(tmp_path)
    assert not (tmp_path / "opt" / "v1.16.15").exists(), "the install directory this run created is left behind"


def test_pinned_checksum_wins(tmp_path, http_dir, run_playbook):
    root, base = http_dir
    publish(root, "1.16.15", "kube-apiserver", b"a")
    publish(root, "1.16.15", "kube-scheduler", b"s")
    pins = {"1.16.15/kube-apiserver": hashlib.sha256(b"something else").hexdigest()}
    result = run_playbook(PLAY, stage_vars(tmp_path, base, k8s_binary_checksums=pins))
    assert result.returncode != 0 and "did not match" in result.stdout
    assert installed(tmp_path) == []
    assert not (tmp_path / "opt" / "v1.16.15").exists(), "the install directory this run created is left behind"


def test_unreachable_mirror_fails_cleanly(tmp_path, dead_url, run_playbook):
    result = run_playbook(PLAY, stage_vars(tmp_path, dead_url))
    assert result.returncode != 0
    assert "Connection refused" in result.stdout or "Request failed" in result.stdout, result.stdout
    assert installed(tmp_path) == []


@pytest.mark.parametrize(
    "template, message",
    [
        # Ansible itself templates Jinja2 braces first; its error names the variable and the value.
        ("{base}/v{{{{ version }}}}/{{name}}", "'version' is undefined"),
        ("{base}/v{{ver}}/{{name}}", "unknown placeholder(s) {ver}"),
        ("{base}/latest/{{name}}", "lacks {version}"),
    ],
)
def test_malformed_url_template(tmp_path, http_dir, run_playbook, template, message):
    _root, base = http_dir
    result = run_playbook(PLAY, stage_vars(tmp_path, base, k8s_binary_release_url=template.format(base=base)))
    assert result.returncode != 0 and message in result.stdout, result.stdout


def test_controller_source_verified(tmp_path, run_playbook):
    source = tmp_path / "artifacts" / "v1.16.15"
    source.mkdir(parents=True)
    (source / "kube-apiserver").write_bytes(b"a")
    (source / "kube-apiserver.sha256").write_text(hashlib.sha256(b"a").hexdigest() + "\n")
    (source / "kube-scheduler").write_bytes(b"s")
    (source / "kube-scheduler.sha256").write_text("f" * 64)
    values = stage_vars(tmp_path, "http://unused", k8s_binary_source="controller",
                        k8s_binary_controller_dir=str(tmp_path / "artifacts"))
    result = run_playbook(PLAY, values)
    assert result.returncode != 0 and "does not match its sha256" in result.stdout, result.stdout
    assert installed(tmp_path) == []
    (source / "kube-scheduler.sha256").write_text(hashlib.sha256(b"s").hexdigest())
    result = run_playbook(PLAY, values)
    assert result.returncode == 0, result.stdout
    assert installed(tmp_path) == ["kube-apiserver", "kube-scheduler"]
