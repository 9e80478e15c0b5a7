import pytest

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.versions import (
    Version,
    VersionError,
    minor_steps,
    minors_between,
    parse_known_version,
    parse_version,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1.14", (1, 14, None, None)),
        ("v1.14.10", (1, 14, 10, None)),
        ("1.30.0-rc.1", (1, 30, 0, "rc.1")),
        ("v1.29.3+k3s1", (1, 29, 3, None)),
        (" 1.10.13 ", (1, 10, 13, None)),
    ],
)
def test_parse(text, expected):
    v = parse_version(text)
    assert (v.major, v.minor, v.patch, v.pre) == expected


@pytest.mark.parametrize("text", ["", "1", "v1", "1.x", "1.14.", "01.14", "1.14.10.3", "latest", "1.14-"])
def test_parse_rejects(text):
    with pytest.raises(VersionError, match="expected a Kubernetes version such as 1.14"):
        parse_version(text)


def test_parse_rejects_non_string():
    with pytest.raises(VersionError, match="not a string"):
        parse_version(1.14)


@pytest.mark.parametrize(
    "older, newer",
    [
        ("1.14.9", "1.14.10"),
        ("1.30.0-alpha.1", "1.30.0-beta.0"),
        ("1.30.0-beta.0", "1.30.0-rc.1"),
        ("1.30.0-rc.1", "1.30.0-rc.2"),
        ("1.30.0-rc.2", "1.30.0-rc.10"),
        ("1.30.0-rc.1", "1.30.0"),
        ("1.9.11", "1.10.0"),
        ("1.14", "1.14.1"),
    ],
)
def test_ordering(older, newer):
    assert parse_version(older) < parse_version(newer)
    assert parse_version(newer) > parse_version(older)


def test_equality_ignores_v_prefix_and_build():
    assert parse_version("v1.14.10") == parse_version("1.14.10+build.7")
    assert len({parse_version("v1.14.10"), parse_version("1.14.10")}) == 1


def test_str_and_tag():
    v = parse_version("v1.30.0-rc.1")
    assert str(v) == "1.30.0-rc.1" and v.tag == "v1.30.0-rc.1" and v.minor_str == "1.30"
    assert str(Version(1, 14)) == "1.14"


@pytest.mark.parametrize(
    "older, newer, count",
    [("1.10.13", "1.14.10", 4), ("1.14", "1.14.2", 0), ("1.16", "1.15", -1), ("v1.29.0", "1.30.0-rc.1", 1)],
)
def test_minors_between(older, newer, count):
    assert minors_between(older, newer) == count


def test_minors_between_major():
    with pytest.raises(VersionError, match="across major"):
        minors_between("1.14", "2.0")


def test_minor_steps():
    assert minor_steps("1.10.13", "1.14.10") == ["1.11", "1.12", "1.13", "1.14"]
    assert minor_steps("1.14.1", "1.14.10") == []


@pytest.mark.parametrize("text", ["1.9.11", "1.99.0", "2.0.0"])
def test_unknown_release(text):
    with pytest.raises(VersionError, match="not a Kubernetes release this collection knows"):
        parse_known_version(text, "target_version")


def test_known_release():
    assert parse_known_version("1.37.0").minor == 37
