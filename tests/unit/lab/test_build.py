"""build_mirror: upstream layout, checksums, versions differ, fault variants."""

import hashlib
import os
import subprocess

from lab.emulator import build
from lab.facts import versions as version_facts


def test_build_mirror_layout_and_checksums(tmp_path):
    result = build.build_mirror(str(tmp_path), versions=["1.30.14", "v1.31.14"], broken={("kubelet", "1.31.14")})
    assert sorted(result) == ["1.30.14", "1.31.14"]
    digests = set()
    for version in result:
        for component in version_facts.COMPONENTS:
            path = tmp_path / "release" / ("v" + version) / "bin" / "linux" / "amd64" / component
            data = path.read_bytes()
            assert data.startswith(b"#!/usr/bin/python3\n")
            assert os.access(str(path), os.X_OK)
            digest = (tmp_path / "release" / ("v" + version) / "bin" / "linux" / "amd64" / (component + ".sha256")).read_text()
            assert digest == hashlib.sha256(data).hexdigest() == result[version][component]["sha256"]
            digests.add(digest)
    assert len(digests) == 2 * len(version_facts.COMPONENTS)  # every file differs


def test_build_is_reproducible():
    assert build.zipapp_bytes("kubelet", "1.15.12") == build.zipapp_bytes("kubelet", "1.15.12")
    assert build.zipapp_bytes("kubelet", "1.15.12") != build.zipapp_bytes("kubelet", "1.15.11")


def test_executables_run(tmp_path):
    build.build_mirror(str(tmp_path), versions=["1.15.12"], broken={("kube-proxy", "1.15.12")})
    bindir = tmp_path / "release" / "v1.15.12" / "bin" / "linux" / "amd64"
    res = subprocess.run([str(bindir / "kubelet"), "--version"], capture_output=True, text=True, check=False)
    assert (res.returncode, res.stdout) == (0, "Kubernetes v1.15.12\n")
    res = subprocess.run([str(bindir / "kubelet"), "--allow-privileged=true"], capture_output=True, text=True, check=False)
    assert res.returncode == 255 and "unknown flag: --allow-privileged" in res.stderr
    res = subprocess.run([str(bindir / "kube-proxy"), "--version"], capture_output=True, text=True, check=False)
    assert (res.returncode, res.stdout) == (0, "Kubernetes v1.15.12\n")
    res = subprocess.run([str(bindir / "kube-proxy"), "--v=2"], capture_output=True, text=True, check=False)
    assert res.returncode == 1 and "broken on purpose" in res.stderr
