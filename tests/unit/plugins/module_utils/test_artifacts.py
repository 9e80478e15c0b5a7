import pytest

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.artifacts import (
    ArtifactError,
    DEFAULT_RELEASE_URL,
    install_dir,
    release_url,
)


@pytest.mark.parametrize(
    "template, version, name, arch, url",
    [
        (DEFAULT_RELEASE_URL, "v1.16.15", "kube-apiserver", "x86_64",
         "https://dl.k8s.io/release/v1.16.15/bin/linux/amd64/kube-apiserver"),
        ("http://10.0.0.1:8088/k8s/{version}/{name}", "1.14.10", "kubelet", "aarch64",
         "http://10.0.0.1:8088/k8s/1.14.10/kubelet"),
        ("file:///srv/mirror/v{version}/{arch}/{name}", "1.30.0-rc.1", "kube-proxy", "arm64",
         "file:///srv/mirror/v1.30.0-rc.1/arm64/kube-proxy"),
    ],
)
def test_release_url(template, version, name, arch, url):
    assert release_url(template, version, name, arch) == url


@pytest.mark.parametrize(
    "template, message",
    [
        ("https://mirror/v{{ version }}/{name}", "uses Jinja2 braces"),
        ("https://mirror/v{ver}/{name}", "unknown placeholder(s) {ver}"),
        ("https://mirror/{name}", "lacks {version}"),
        ("https://mirror/v{version}/bin", "lacks {name}"),
        ("https://mirror/v{version/{name}", "not a valid template"),
        ("mirror/v{version}/{name}", "not an http(s):// or file:// URL"),
        ("", "non-empty string"),
    ],
)
def test_bad_templates(template, message):
    with pytest.raises(ArtifactError, match=message.replace("(", r"\(").replace(")", r"\)")):
        release_url(template, "1.16.15", "kube-apiserver")


def test_install_dir():
    assert install_dir("/opt/kubernetes/", "1.14.10") == "/opt/kubernetes/v1.14.10/bin"
