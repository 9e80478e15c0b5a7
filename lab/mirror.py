"""The artifact mirror: release binaries in the upstream layout, served over HTTP on the bridge.

`release/vX.Y.Z/bin/linux/amd64/NAME` and `NAME.sha256` (hex digest only, like upstream), built by
lab.emulator.build.build_mirror and served by a small stdlib HTTP server that `up` starts in the
background and `down` stops by PID.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import time
import urllib.request

from lab import net

URL = f"http://{net.HOST_IP}:{net.MIRROR_PORT}"
# What the collection's artifact URL template looks like for this mirror.
URL_TEMPLATE = URL + "/release/v{version}/bin/linux/{arch}/{name}"
ARCH = "amd64"


class MirrorError(Exception):
    pass


def artifact_relpath(version, name, arch=ARCH):
    return f"release/v{version}/bin/linux/{arch}/{name}"


def artifact_url(version, name, arch=ARCH):
    return f"{URL}/{artifact_relpath(version, name, arch)}"


def build(dest, versions=None):
    """Build the mirror tree with COMPONENTS' builder; return its result."""
    from lab.emulator.build import build_mirror  # pylint: disable=import-outside-toplevel
    os.makedirs(dest, exist_ok=True)
    return build_mirror(dest, versions=versions)


def serve_argv(directory, bind=net.HOST_IP, port=net.MIRROR_PORT):
    return [sys.executable, "-m", "http.server", str(port), "--bind", bind, "--directory", directory]


def start(directory, log_path):
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(serve_argv(directory), stdin=subprocess.DEVNULL, stdout=log,  # pylint: disable=consider-using-with
                                stderr=subprocess.STDOUT, start_new_session=True)
    return proc.pid


def wait_up(timeout=15):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(URL + "/", timeout=2) as resp:
                resp.read()
                return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise MirrorError(f"mirror at {URL} not answering: {exc}") from exc
            time.sleep(0.2)


def fetch_verified(version, name, arch=ARCH):
    """Download NAME of VERSION from the mirror and check it against its .sha256; return the bytes."""
    url = artifact_url(version, name, arch)
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            data = resp.read()
        with urllib.request.urlopen(url + ".sha256", timeout=30) as resp:
            want = resp.read().decode().split()[0].strip()
    except OSError as exc:
        raise MirrorError(f"cannot fetch {url}: {exc}") from exc
    got = hashlib.sha256(data).hexdigest()
    if got != want:
        raise MirrorError(f"{url}: sha256 {got} does not match the published {want}")
    return data


def replace_with_failing(directory, version, name, arch=ARCH):
    """Fault: NAME of VERSION becomes a build that exits 1 at start (checksum updated, original kept)."""
    from lab.emulator.build import build_broken  # pylint: disable=import-outside-toplevel
    path = os.path.join(directory, artifact_relpath(version, name, arch))
    if not os.path.exists(path):
        raise MirrorError(f"{path} is not in the mirror")
    backup = path + ".lab-orig"
    if not os.path.exists(backup):
        shutil.copy2(path, backup)
        shutil.copy2(path + ".sha256", backup + ".sha256")
    build_broken(path, name, version)
    return path


def restore_binary(directory, version, name, arch=ARCH):
    path = os.path.join(directory, artifact_relpath(version, name, arch))
    backup = path + ".lab-orig"
    if os.path.exists(backup):
        os.replace(backup, path)
        os.replace(backup + ".sha256", path + ".sha256")
        return True
    return False


def faulted_binaries(directory):
    out = []
    for dirpath, _dirs, files in os.walk(directory):
        for f in files:
            if f.endswith(".lab-orig"):
                rel = os.path.relpath(os.path.join(dirpath, f[:-len(".lab-orig")]), directory)
                out.append(rel)
    return sorted(out)
