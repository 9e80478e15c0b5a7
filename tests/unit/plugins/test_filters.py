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
