"""The container hash rule of each release (lab/facts/kubelet.py) against the upstream vectors."""

import pytest

from lab.facts import kubelet as kfacts

# pkg/kubelet/container/container_hash_test.go (kubernetes/kubernetes): sampleContainer.
SAMPLE = {
    "name": "test_container",
    "image": "foo/image:v1",
    "command": ["/bin/testcmd"],
    "args": ["/bin/sh", "-c", "echo abc"],
    "ports": [{"containerPort": 8001}],
    "env": [{"name": "ENV_FOO", "value": "bar"},
            {"name": "ENV_BAR", "valueFrom": {"secretKeyRef": {"name": "foo", "key": "bar", "optional": True}}}],
    "resources": {"limits": {"foo": "1G"}, "requests": {"foo": "500M"}},
}
SAMPLE_V115_HASH = 0x311670a
SAMPLE_V131_HASH = 0x8e45cbd0


@pytest.mark.parametrize("minor", range(16, 31))
def test_json_rule_matches_upstream_vector(minor):
    assert kfacts.container_hash(SAMPLE, minor) == SAMPLE_V115_HASH


@pytest.mark.parametrize("minor", range(31, 34))
def test_picked_fields_rule_matches_upstream_vector(minor):
    assert kfacts.container_hash(SAMPLE, minor) == SAMPLE_V131_HASH
    assert kfacts.container_hash_hex(SAMPLE, minor) == "8e45cbd0"


def test_hex_is_lowercase_without_padding():
    assert kfacts.container_hash_hex(SAMPLE, 20) == "311670a"


def test_spew_and_fnv_primitives():
    assert kfacts.spew_bytes(b"{}") == b"([]uint8)[123 125]"
    assert kfacts.fnv32a(b"") == 0x811c9dc5
    assert kfacts.fnv32a(b"a") == 0xe40c292c


def test_go_json_escapes_html_characters():
    assert kfacts.go_json({"a": "<b>&"}) == b'{"a":"\\u003cb\\u003e\\u0026"}'


def test_go_json_field_order_and_omitempty():
    container = {"tty": False, "image": "x", "name": "n", "stdin": True, "workingDir": ""}
    assert kfacts.go_json(kfacts.go_value("Container", container, 20)) == \
        b'{"name":"n","image":"x","resources":{},"stdin":true}'


def test_field_unknown_to_a_release_is_dropped():
    container = {"name": "n", "image": "x", "resizePolicy": [{"resourceName": "cpu", "restartPolicy": "NotRequired"}]}
    plain = {"name": "n", "image": "x"}
    assert kfacts.container_hash(container, 26) == kfacts.container_hash(plain, 26)
    assert kfacts.container_hash(container, 27) != kfacts.container_hash(container, 26)


@pytest.mark.parametrize("old, new, restarts", [
    (30, 31, True),   # #129659: rule changed to {image, name}
    (31, 32, False),
    (32, 33, False),
    (29, 30, False),  # same JSON rule, no new field set on this container
    (16, 17, False),
    (15, 16, True),   # spew of the struct -> JSON of the struct
])
def test_upgrade_pairs(old, new, restarts):
    container = {"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80, "protocol": "TCP"}],
                 "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                 "imagePullPolicy": "IfNotPresent", "resources": {}}
    assert (kfacts.container_hash(container, old) != kfacts.container_hash(container, new)) is restarts


def test_pre_116_rule_sees_new_nested_fields_only_when_the_struct_is_set():
    plain = {"name": "n", "image": "x"}
    with_sc = {"name": "n", "image": "x", "securityContext": {"runAsUser": 1000}}
    assert kfacts.container_hash(plain, 11) == kfacts.container_hash(plain, 12)
    assert kfacts.container_hash(with_sc, 11) != kfacts.container_hash(with_sc, 12)  # procMount added in 1.12


def test_incident_fields():
    assert [f[0] for f in kfacts.incident_fields(15)] == ["enableServiceLinks"]
    assert kfacts.unknown_incident_fields({"enableServiceLinks": True, "topologySpreadConstraints": []}, 15) == \
        ["topologySpreadConstraints"]
    assert kfacts.unknown_incident_fields({"topologySpreadConstraints": []}, 16) == []
