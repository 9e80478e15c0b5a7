import json

import pytest

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import container_hash as ch
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.release_data.kubelet import UPSTREAM_VECTORS

# The sample container of upstream's pkg/kubelet/container/container_hash_test.go, keys in the
# order json.Marshal writes v1.Container.
SAMPLE = json.loads(
    '{"name":"test_container","image":"foo/image:v1","command":["/bin/testcmd"],'
    '"args":["/bin/sh","-c","echo abc"],"ports":[{"containerPort":8001}],'
    '"env":[{"name":"ENV_FOO","value":"bar"},{"name":"ENV_BAR","valueFrom":{"secretKeyRef":'
    '{"name":"foo","key":"bar","optional":true}}}],'
    '"resources":{"limits":{"foo":"1G"},"requests":{"foo":"500M"}}}'
)


def test_upstream_vector_container_json():
    assert ch.container_hash(SAMPLE, "1.16.15") == UPSTREAM_VECTORS["container-json"] == 0x311670A
    assert ch.container_hash(SAMPLE, "1.30.14") == 0x311670A


def test_upstream_vector_name_image():
    assert ch.container_hash(SAMPLE, "1.31.0") == UPSTREAM_VECTORS["name-image"] == 0x8E45CBD0
    assert ch.container_hash(SAMPLE, "1.37.1") == 0x8E45CBD0


def test_go_struct_rule_is_not_recomputed():
    assert ch.container_hash(SAMPLE, "1.14.10") is None


@pytest.mark.parametrize(
    "version, rule",
    [("1.10.13", "go-struct"), ("1.15.12", "go-struct"), ("1.16.0", "container-json"),
     ("1.30.14", "container-json"), ("1.31.0", "name-image"), ("1.33.2", "name-image")],
)
def test_hash_rule(version, rule):
    assert ch.hash_rule(version) == rule


def test_go_json_escapes_like_go():
    assert ch.go_json({"a": "<&>"}) == b'{"a":"\\u003c\\u0026\\u003e"}'
    assert ch.go_json({"a": "é"}) == '{"a":"é"}'.encode("utf-8")


def test_fields_unknown_to_the_kubelet_are_dropped():
    spec = dict(SAMPLE, restartPolicy="Always")
    assert ch.container_hash(spec, "1.27.0") == 0x311670A  # 1.27's Container has no restartPolicy
    assert ch.container_hash(spec, "1.28.0") != 0x311670A


def test_resources_always_marshalled():
    bare = {"name": "c", "image": "i"}
    assert ch.container_hash(bare, "1.20.0") == ch.container_hash(dict(bare, resources={}), "1.20.0")


def test_format_hash_lowercase_unpadded():
    assert ch.format_hash(0x311670A) == "311670a"


@pytest.mark.parametrize(
    "current, target, running, will_restart, certain",
    [
        ("1.30.14", "1.31.0", "311670a", True, True),      # rule changes: every container restarts
        ("1.31.0", "1.32.1", "8e45cbd0", False, True),     # same rule, same name and image
        ("1.20.15", "1.21.14", "311670a", False, True),    # same JSON, model reproduces the running hash
        ("1.20.15", "1.21.14", "deadbeef", True, False),   # model does not reproduce the running hash
        ("1.15.12", "1.16.15", None, True, True),          # go-struct -> container-json
        ("1.10.13", "1.14.10", None, True, False),         # go-struct across minors: likely, not certain
        ("1.14.9", "1.14.10", None, False, False),         # go-struct patch upgrade
    ],
)
def test_forecast_container(current, target, running, will_restart, certain):
    result = ch.forecast_container(SAMPLE, running, current, target)
    assert (result["will_restart"], result["certain"]) == (will_restart, certain), result["reason"]


def test_forecast_node_matches_crictl_to_pods():
    crictl = {"containers": [
        {"id": "c1", "state": "CONTAINER_RUNNING", "metadata": {"name": "test_container"},
         "labels": {"io.kubernetes.container.name": "test_container", "io.kubernetes.pod.name": "p",
                    "io.kubernetes.pod.namespace": "ns", "io.kubernetes.pod.uid": "u1"},
         "annotations": {"io.kubernetes.container.hash": "8e45cbd0", "io.kubernetes.container.restartCount": "2"}},
        {"id": "c2", "state": "CONTAINER_EXITED", "labels": {}, "annotations": {}},
        {"id": "c3", "state": "CONTAINER_RUNNING",
         "labels": {"io.kubernetes.container.name": "gone", "io.kubernetes.pod.name": "q",
                    "io.kubernetes.pod.namespace": "ns", "io.kubernetes.pod.uid": "u2"},
         "annotations": {"io.kubernetes.container.hash": "1"}},
    ]}
    pods = [{"metadata": {"name": "p", "namespace": "ns", "uid": "u1"}, "spec": {"containers": [SAMPLE]}}]
    containers, totals = ch.forecast_node(crictl, pods, "1.31.0", "1.32.0")
    assert [c["container_id"] for c in containers] == ["c1", "c3"]
    assert containers[0]["will_restart"] is False and containers[0]["restart_count"] == 2
    assert containers[1]["will_restart"] is True and containers[1]["certain"] is False
    assert totals == {"containers": 2, "will_restart": 1, "uncertain": 1}
