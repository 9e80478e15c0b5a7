import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.clusterops.k8s_upgrade.plugins.filter.k8s_versions import newest_version, oldest_version


def test_oldest_and_newest_compare_as_releases():
    versions = ["1.10.13", "1.9.11", "v1.10.2", "1.10.0-rc.1"]
    assert oldest_version(versions) == "1.9.11"
    assert newest_version(versions) == "1.10.13"


@pytest.mark.parametrize("versions, message", [([], "no versions"), (["1.x"], "is not valid")])
def test_errors(versions, message):
    with pytest.raises(AnsibleFilterError, match=message):
        oldest_version(versions)


@pytest.mark.parametrize(
    "version, image",
    [
        ("1.14.10", "k8s.gcr.io/coredns:1.3.1"),
        ("1.16.15", "k8s.gcr.io/coredns:1.6.2"),
        ("1.21.14", "k8s.gcr.io/coredns/coredns:v1.8.0"),
        ("1.31.2", "registry.k8s.io/coredns/coredns:v1.11.3"),
    ],
)
def test_coredns_image(version, image):
    from ansible_collections.clusterops.k8s_upgrade.plugins.filter.addon_image import addon_image

    assert addon_image("coredns", version) == image


def test_coredns_image_unknown():
    from ansible_collections.clusterops.k8s_upgrade.plugins.filter.addon_image import addon_image

    with pytest.raises(AnsibleFilterError, match="set addon_upgrade_coredns_image"):
        addon_image("coredns", "1.37.0")
