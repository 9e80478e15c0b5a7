"""Objects the emulated kubelet writes (Node, Pod status) validate against that release's upstream
schema (kubernetes-validate) and deserialise with the official Python client (FACTS.md 7)."""

import copy
import json

import kubernetes_validate
import pytest
from kubernetes import client

from lab.emulator import cli, kubelet
from lab.facts import versions as version_facts


class NoClient(object):
    def merge_patch(self, path, body):
        return body


def objects(version, tmp_path):
    opts = cli.Options("kubelet", version, {"root-dir": str(tmp_path), "hostname-override": "node1",
                                            "node-ip": "10.213.19.101"}, env={})
    kl = kubelet.Kubelet(opts, cl=NoClient())
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node1", "labels": kl.node_labels()},
            "spec": {}, "status": kl.node_status()}
    meta = {"name": "web", "namespace": "default", "uid": "1b4e28ba-2fa1-11d2-883f-0016d3cca427"}
    spec = {"containers": [{"name": "web", "image": "nginx:1.25"}], "initContainers": [{"name": "init", "image": "busybox"}]}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec,
           "status": kl.sync_pod({"metadata": meta, "spec": spec})}
    return node, pod


@pytest.mark.parametrize("version", [version_facts.last_patch(m) for m in range(25, 34)])
def test_node_and_pod_validate_against_the_release_schema(version, tmp_path):
    node, pod = objects(version, tmp_path)
    minor = version.rsplit(".", 1)[0]
    kubernetes_validate.validate(node, minor, strict=True)
    kubernetes_validate.validate(pod, minor, strict=True)


def test_official_client_deserialises_them(tmp_path):
    node, pod = objects("1.30.14", tmp_path)
    api = client.ApiClient()
    parsed = api.deserialize(json.dumps(node), "V1Node", "application/json")
    assert parsed.status.node_info.kubelet_version == "v1.30.14"
    parsed_pod = api.deserialize(json.dumps(pod), "V1Pod", "application/json")
    assert parsed_pod.status.container_statuses[0].ready is True
    broken = copy.deepcopy(node)
    del broken["status"]["nodeInfo"]["bootID"]
    with pytest.raises(Exception, match="bootID"):
        api.deserialize(json.dumps(broken), "V1Node", "application/json")


def test_schema_check_can_fail(tmp_path):
    node, _pod = objects("1.30.14", tmp_path)
    node["status"]["nodeInfo"]["notAField"] = "x"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(node, "1.30", strict=True)
