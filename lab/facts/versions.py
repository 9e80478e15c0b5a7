"""Release versions the lab builds, with the lab's own release facts (never the collection's tables).

Patch numbers are real upstream releases. For 1.10 to 1.31 they are the last patch of the minor
(the minor is end of life). For 1.32 and 1.33 they are real patches that were released; later
patches of those minors may exist.
"""

LAST_PATCH = {
    (1, 10): 13, (1, 11): 10, (1, 12): 10, (1, 13): 12, (1, 14): 10, (1, 15): 12,
    (1, 16): 15, (1, 17): 17, (1, 18): 20, (1, 19): 16, (1, 20): 15, (1, 21): 14,
    (1, 22): 17, (1, 23): 17, (1, 24): 17, (1, 25): 16, (1, 26): 15, (1, 27): 16,
    (1, 28): 15, (1, 29): 15, (1, 30): 14, (1, 31): 14, (1, 32): 11, (1, 33): 10,
}

# A few more real patches: patch-level upgrades and the first release of a minor.
EXTRA_VERSIONS = ("1.14.0", "1.15.11", "1.16.0", "1.30.13", "1.31.0", "1.32.0")

LAB_VERSIONS = tuple(sorted(
    ["%d.%d.%d" % (mj, mn, p) for (mj, mn), p in LAST_PATCH.items()] + list(EXTRA_VERSIONS),
    key=lambda v: tuple(int(x) for x in v.split(".")),
))

# crictl (cri-tools) is released per Kubernetes minor; the lab ships crictl vX.Y.0 beside kubelet X.Y.
COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "crictl")


def parse(version):
    """'v1.15.12' or '1.15.12' -> (1, 15, 12). Raises ValueError on anything else."""
    text = str(version).strip()
    if text.startswith("v"):
        text = text[1:]
    parts = text.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError("not a Kubernetes version X.Y.Z: %r" % (version,))
    return tuple(int(p) for p in parts)


def minor(version):
    """'1.15.12' -> 15."""
    return parse(version)[1]


def normalize(version):
    """'v1.15.12' -> '1.15.12'."""
    return "%d.%d.%d" % parse(version)


def last_patch(minor_number):
    """Last lab version of 1.<minor_number>."""
    return "1.%d.%d" % (minor_number, LAST_PATCH[(1, minor_number)])
