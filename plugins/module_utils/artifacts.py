# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a release binary comes from: the URL template and the versioned install path."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import string

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.versions import parse_version

# The upstream layout; operators point it at an internal mirror with the same placeholders.
DEFAULT_RELEASE_URL = "https://dl.k8s.io/release/v{version}/bin/linux/{arch}/{name}"
PLACEHOLDERS = ("version", "arch", "name")
REQUIRED_PLACEHOLDERS = ("version", "name")

# ansible_architecture -> the arch in Kubernetes release paths
ARCH_MAP = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
            "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}


class ArtifactError(ValueError):
    pass


def check_url_template(template):
    """Raise ArtifactError unless `template` is a str.format template using only the known
    placeholders, with {version} and {name} present."""
    if not isinstance(template, str) or not template.strip():
        raise ArtifactError("k8s_release_url must be a non-empty string such as %s" % DEFAULT_RELEASE_URL)
    if "{{" in template or "}}" in template:
        raise ArtifactError("k8s_release_url %r uses Jinja2 braces; its placeholders are single-brace {version}, "
                            "{arch} and {name}, filled per binary, e.g. %s" % (template, DEFAULT_RELEASE_URL))
    try:
        fields = [field for _text, field, _spec, _conv in string.Formatter().parse(template) if field is not None]
    except ValueError as exc:
        raise ArtifactError("k8s_release_url %r is not a valid template (%s); write placeholders as "
                            "{version}, {arch} and {name}, e.g. %s" % (template, exc, DEFAULT_RELEASE_URL))
    unknown = sorted(set(f for f in fields if f not in PLACEHOLDERS))
    if unknown:
        raise ArtifactError("k8s_release_url %r uses unknown placeholder(s) %s; only {version}, {arch} and {name} "
                            "exist (Jinja2 '{{ }}' is not needed here), e.g. %s"
                            % (template, ", ".join("{%s}" % u for u in unknown), DEFAULT_RELEASE_URL))
    missing = [p for p in REQUIRED_PLACEHOLDERS if p not in fields]
    if missing:
        raise ArtifactError("k8s_release_url %r lacks %s: every version and binary needs its own URL, e.g. %s"
                            % (template, " and ".join("{%s}" % m for m in missing), DEFAULT_RELEASE_URL))
    if not template.split("://", 1)[0] in ("http", "https", "file") or "://" not in template:
        raise ArtifactError("k8s_release_url %r is not an http(s):// or file:// URL" % template)


def release_url(template, version, name, arch="amd64"):
    """The download URL of binary `name` of release `version` (no leading v in {version})."""
    check_url_template(template)
    return template.format(version=str(parse_version(version, "version")), arch=ARCH_MAP.get(arch, arch), name=name)


def install_dir(root, version):
    """The versioned directory a release's binaries are installed into: ROOT/vX.Y.Z/bin."""
    return "%s/%s/bin" % (root.rstrip("/"), parse_version(version, "version").tag)
