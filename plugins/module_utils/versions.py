# -*- coding: utf-8 -*-
# Copyright: clusterops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes version arithmetic: parse, compare, count minors.

Pure Python, no Ansible imports, so every module and the unit tests share one implementation.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import re

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.release_data.releases import (
    KNOWN_MINORS,
)

# v1.14, 1.14.10, v1.30.0-rc.1, 1.29.3+k3s1 (build metadata is ignored, as semver says).
_VERSION_RE = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)"
    r"(?:\.(?P<patch>0|[1-9]\d*))?"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)

EXPECTED_FORM = "a Kubernetes version such as 1.14, v1.14.10 or 1.30.0-rc.1"


class VersionError(ValueError):
    """A string that is not a Kubernetes version, or one this collection does not know."""


def _pre_key(pre):
    # semver 11.4: a release sorts after its pre-releases; numeric identifiers sort numerically
    # and before alphanumeric ones.
    if pre is None:
        return (1,)
    parts = []
    for ident in pre.split("."):
        parts.append((0, int(ident), "") if ident.isdigit() else (1, 0, ident))
    return (0, tuple(parts))


@functools.total_ordering
class Version:
    """One Kubernetes version. `patch` is None when only MAJOR.MINOR was given."""

    __slots__ = ("major", "minor", "patch", "pre")

    def __init__(self, major, minor, patch=None, pre=None):
        self.major = major
        self.minor = minor
        self.patch = patch
        self.pre = pre

    @property
    def minor_str(self):
        return "%d.%d" % (self.major, self.minor)

    def _key(self):
        return (self.major, self.minor, self.patch or 0, _pre_key(self.pre))

    def __eq__(self, other):
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other):
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __hash__(self):
        return hash(self._key())

    def __str__(self):
        text = self.minor_str
        if self.patch is not None:
            text += ".%d" % self.patch
        if self.pre:
            text += "-" + self.pre
        return text

    def __repr__(self):
        return "Version(%r)" % str(self)

    @property
    def tag(self):
        """The release tag, as in the upstream download layout: v1.14.10."""
        return "v" + str(self)

    def same_minor(self, other):
        return (self.major, self.minor) == (other.major, other.minor)


def parse_version(text, what="version"):
    """Parse `text` into a Version or raise VersionError naming `what` and the expected form."""
    if isinstance(text, Version):
        return text
    if not isinstance(text, str):
        raise VersionError("%s %r is not a string; expected %s" % (what, text, EXPECTED_FORM))
    match = _VERSION_RE.match(text.strip())
    if not match:
        raise VersionError("%s %r is not valid; expected %s" % (what, text, EXPECTED_FORM))
    patch = match.group("patch")
    return Version(
        int(match.group("major")),
        int(match.group("minor")),
        int(patch) if patch is not None else None,
        match.group("pre"),
    )


def parse_known_version(text, what="version"):
    """Parse and require a minor this collection has release data for."""
    version = parse_version(text, what)
    if version.minor_str not in KNOWN_MINORS:
        raise VersionError(
            "%s %s is not a Kubernetes release this collection knows (it knows %s to %s); "
            "check the version, or update plugins/module_utils/release_data/releases.py"
            % (what, text, KNOWN_MINORS[0], KNOWN_MINORS[-1])
        )
    return version


def minors_between(older, newer):
    """Signed count of minor releases from `older` to `newer` (1.10 -> 1.14 is 4)."""
    older, newer = parse_version(older), parse_version(newer)
    if older.major != newer.major:
        raise VersionError(
            "cannot count minors across major versions (%s -> %s)" % (older, newer)
        )
    return newer.minor - older.minor


def minor_steps(current, target):
    """The minor releases an upgrade crosses, excluding the start: 1.10 -> 1.13 gives 1.11, 1.12, 1.13."""
    current, target = parse_version(current), parse_version(target)
    return [
        "%d.%d" % (current.major, minor)
        for minor in range(current.minor + 1, target.minor + 1)
    ]
