import pytest

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.health import health_url


@pytest.mark.parametrize(
    "component, version, flags, url",
    [
        ("kube-apiserver", "1.15.12", None, "https://127.0.0.1:6443/healthz"),
        ("kube-apiserver", "1.16.15", {"secure-port": "8443"}, "https://127.0.0.1:8443/readyz"),
        ("kube-scheduler", "1.14.10", None, "http://127.0.0.1:10251/healthz"),
        ("kube-scheduler", "1.14.10", {"port": "0"}, "https://127.0.0.1:10259/healthz"),
        ("kube-scheduler", "1.22.17", None, "https://127.0.0.1:10259/healthz"),
        ("kube-controller-manager", "1.21.14", None, "http://127.0.0.1:10252/healthz"),
        ("kube-controller-manager", "1.30.2", {"secure-port": "10999"}, "https://127.0.0.1:10999/healthz"),
        ("kubelet", "1.31.0", None, "http://127.0.0.1:10248/healthz"),
        ("kubelet", "1.31.0", {"healthz-port": "20248"}, "http://127.0.0.1:20248/healthz"),
        ("kube-proxy", "1.31.0", {"healthz-bind-address": "0.0.0.0:10266"}, "http://127.0.0.1:10266/healthz"),
        ("kube-proxy", "1.10.13", None, "http://127.0.0.1:10256/healthz"),
    ],
)
def test_health_url(component, version, flags, url):
    assert health_url(component, version, flags) == url


def test_unknown_component():
    with pytest.raises(ValueError, match="unknown component 'etcd'"):
        health_url("etcd", "1.14")
