"""The cached Debian root filesystem every lab host boots from.

Built once with debootstrap and kept outside the checkout, keyed by what goes into it (suite,
variant, package list, recipe version), so a second `up` reuses it. The Debian mirror is the one
this machine's apt sources name, read at run time: the lab hosts have no route out, so every
package they need must already be in the image.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import time

CACHE_ROOT = os.environ.get("LAB_IMAGE_CACHE", "/var/cache/clusterops-lab/images")

PACKAGES = (
    "systemd", "systemd-sysv", "dbus", "openssh-server", "python3", "python3-yaml",
    "etcd-server", "etcd-client", "iproute2", "procps", "ca-certificates",
)
VARIANT = "minbase"
# Bump when the customisation below changes, so old images are not reused.
RECIPE = 2

# Units the image ships but a lab host does not want running at boot (slow boots, no network out).
DISABLED_UNITS = ("etcd.service", "apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_all.timer",
                  "fstrim.timer", "dpkg-db-backup.timer")


class ImageError(Exception):
    pass


def parse_deb822_sources(text):
    """Return [(uri, suites, components)] for the `Types: deb` stanzas of a deb822 .sources file."""
    out = []
    for stanza in re.split(r"\n\s*\n", text):
        fields = {}
        key = None
        for line in stanza.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line[0] in " \t" and key:
                fields[key] += " " + line.strip()
                continue
            if ":" in line:
                key, _sep, value = line.partition(":")
                key = key.strip().lower()
                fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            out.append((uri, fields.get("suites", "").split(), fields.get("components", "").split()))
    return out


def parse_one_line_sources(text):
    """Return [(uri, [suite], components)] for `deb URI SUITE COMP...` lines (options in [] skipped)."""
    out = []
    for line in text.splitlines():
        line = re.sub(r"\[[^\]]*\]", " ", line.split("#", 1)[0]).split()
        if len(line) >= 3 and line[0] == "deb":
            out.append((line[1], [line[2]], line[3:]))
    return out


def pick_debian_mirror(entries):
    """The first entry that carries a plain Debian suite (not -security/-updates/-backports)."""
    for uri, suites, _components in entries:
        for suite in suites:
            if suite and not re.search(r"[-/](security|updates|backports|proposed-updates)$", suite):
                if "debian" in uri and "security" not in uri:
                    return uri.rstrip("/"), suite
    raise ImageError("no Debian mirror found in the apt sources; add a `deb` entry for the Debian suite")


def host_apt_mirror(etc="/etc/apt"):
    entries = []
    paths = []
    if os.path.exists(os.path.join(etc, "sources.list")):
        paths.append(os.path.join(etc, "sources.list"))
    d = os.path.join(etc, "sources.list.d")
    if os.path.isdir(d):
        paths += [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith((".list", ".sources"))]
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        entries += parse_deb822_sources(text) if path.endswith(".sources") else parse_one_line_sources(text)
    return pick_debian_mirror(entries)


def image_key(suite, packages=PACKAGES, variant=VARIANT, recipe=RECIPE):
    blob = json.dumps({"suite": suite, "variant": variant, "packages": sorted(packages), "recipe": recipe},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def debootstrap_argv(suite, target, mirror, packages=PACKAGES, variant=VARIANT):
    return ["debootstrap", "--variant=" + variant, "--include=" + ",".join(packages), suite, target, mirror]


def customise(root):
    """Make the rootfs a lab host image: networkd on, units that only slow a boot off, no etcd by default."""
    def chroot(*argv):
        subprocess.run(["chroot", root] + list(argv), check=True, capture_output=True)

    chroot("systemctl", "enable", "systemd-networkd.service")
    for unit in DISABLED_UNITS:
        subprocess.run(["chroot", root, "systemctl", "disable", unit], capture_output=True, check=False)
    # Every machine gets its own machine-id in its own layer.
    with open(os.path.join(root, "etc/machine-id"), "w", encoding="ascii"):
        pass
    # etcd runs only where the lab configures it (control-plane hosts), with its own data dir.
    shutil.rmtree(os.path.join(root, "var/lib/etcd/default"), ignore_errors=True)
    os.makedirs(os.path.join(root, "root/.ssh"), mode=0o700, exist_ok=True)
    for sub in ("var/cache/apt/archives",):
        path = os.path.join(root, sub)
        for name in os.listdir(path) if os.path.isdir(path) else ():
            if name.endswith(".deb"):
                os.unlink(os.path.join(path, name))


def ensure_image(log=print, cache_root=None):
    """Return the path of the cached rootfs, building it first if it is not there."""
    cache_root = cache_root or CACHE_ROOT
    mirror, suite = host_apt_mirror()
    key = image_key(suite)
    final = os.path.join(cache_root, f"{suite}-{key}")
    if os.path.isfile(os.path.join(final, ".lab-image-ok")):
        return os.path.join(final, "rootfs")
    os.makedirs(cache_root, exist_ok=True)
    tmp = final + ".building"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    rootfs = os.path.join(tmp, "rootfs")
    log(f"image: debootstrap {suite} from {mirror} into {final} (about a minute, once)")
    started = time.monotonic()
    proc = subprocess.run(debootstrap_argv(suite, rootfs, mirror), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-15:])
        raise ImageError(f"debootstrap failed (rc {proc.returncode}); see {rootfs}/debootstrap/debootstrap.log\n{tail}")
    customise(rootfs)
    with open(os.path.join(tmp, "manifest.json"), "w", encoding="utf-8") as fh:
        json.dump({"suite": suite, "mirror": mirror, "packages": list(PACKAGES), "variant": VARIANT,
                   "recipe": RECIPE}, fh, indent=1)
    open(os.path.join(tmp, ".lab-image-ok"), "w", encoding="ascii").close()
    shutil.rmtree(final, ignore_errors=True)
    os.rename(tmp, final)
    log(f"image: built in {time.monotonic() - started:.0f} s")
    return os.path.join(final, "rootfs")
