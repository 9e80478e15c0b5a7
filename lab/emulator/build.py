"""Build the emulated release artifacts: one python3 zipapp per component and version.

build_mirror(dest) writes, for each version, the upstream layout
  dest/release/vX.Y.Z/bin/linux/amd64/{kube-apiserver,kube-controller-manager,kube-scheduler,
                                        kubelet,kube-proxy,crictl}
plus NAME.sha256 (the hex digest only, like upstream). Each file is a zipapp of lab/emulator and
lab/facts with `#!/usr/bin/python3` and a __main__.py that bakes in the component, the version and
(for a fault variant) "broken", so every version differs in bytes and checksum. Zip entries carry a
fixed timestamp: the same source gives the same bytes.
"""

import hashlib
import io
import os
import zipfile

from lab.facts import versions as version_facts

LAB_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("emulator", "facts")
ARCH = "amd64"
SHEBANG = b"#!/usr/bin/python3\n"
_STAMP = (1980, 1, 1, 0, 0, 0)

MAIN_TEMPLATE = '''"""Emulated %(component)s v%(version)s (rehearsal lab build)."""
import sys

from lab.emulator.cli import main

sys.exit(main(sys.argv[1:], component=%(component)r, version=%(version)r, broken=%(broken)r))
'''


def _sources():
    """[(arcname, bytes)] of the packages the executables carry, sorted."""
    out = [("lab/__init__.py", b"")]
    for package in PACKAGES:
        root = os.path.join(LAB_DIR, package)
        for name in sorted(os.listdir(root)):
            if name.endswith(".py"):
                with open(os.path.join(root, name), "rb") as handle:
                    out.append(("lab/%s/%s" % (package, name), handle.read()))
    return out


def zipapp_bytes(component, version, broken=False, sources=None):
    """The bytes of one executable."""
    if component not in version_facts.COMPONENTS:
        raise ValueError("unknown component %r" % component)
    version = version_facts.normalize(version)
    buf = io.BytesIO()
    buf.write(SHEBANG)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for arcname, data in (sources if sources is not None else _sources()):
            info = zipfile.ZipInfo(arcname, _STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
        main = MAIN_TEMPLATE % {"component": component, "version": version, "broken": bool(broken)}
        info = zipfile.ZipInfo("__main__.py", _STAMP)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        archive.writestr(info, main.encode())
    return buf.getvalue()


def write_executable(path, data):
    """Write data to path (0755) and path.sha256; returns the hex digest."""
    digest = hashlib.sha256(data).hexdigest()
    tmp = path + ".tmp"
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, 0o755)
    os.replace(tmp, path)
    with open(path + ".sha256", "w") as handle:
        handle.write(digest)
    return digest


def release_dir(dest_dir, version):
    return os.path.join(dest_dir, "release", "v%s" % version_facts.normalize(version), "bin", "linux", ARCH)


def build_mirror(dest_dir, versions=None, broken=None, components=None):
    """Write the mirror tree. broken: a set of (component, version) to write as fault variants
    that exit 1 at start. Returns {version: {component: {"path": ..., "sha256": ...}}}."""
    versions = [version_facts.normalize(v) for v in (versions or version_facts.LAB_VERSIONS)]
    broken = {(c, version_facts.normalize(v)) for c, v in (broken or ())}
    components = components or version_facts.COMPONENTS
    sources = _sources()
    result = {}
    for version in versions:
        target = release_dir(dest_dir, version)
        os.makedirs(target, exist_ok=True)
        result[version] = {}
        for component in components:
            data = zipapp_bytes(component, version, (component, version) in broken, sources)
            path = os.path.join(target, component)
            result[version][component] = {"path": path, "sha256": write_executable(path, data)}
    return result


def build_broken(dest_path, component, version):
    """Write a single fault variant (exits 1 at start) to dest_path; returns its sha256."""
    return write_executable(dest_path, zipapp_bytes(component, version, broken=True))


if __name__ == "__main__":
    import sys

    print(build_mirror(sys.argv[1]) and "built %s" % sys.argv[1])
