import pytest

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import k8s_api


@pytest.mark.parametrize("status, words", [
    (401, ["401 Unauthorized", "k8s_kubeconfig", "admin kubeconfig of this cluster"]),
    (403, ["403 Forbidden", "cluster-admin", "k8s_kubeconfig"]),
])
def test_refused_credentials_say_what_to_do(status, words):
    hint = k8s_api.auth_hint(status)
    for word in words:
        assert word in hint


@pytest.mark.parametrize("status", [None, 200, 404, 409, 500])
def test_other_statuses_get_no_hint(status):
    assert k8s_api.auth_hint(status) == ""


def test_a_missing_kubeconfig_is_named(tmp_path):
    missing = str(tmp_path / "nope")
    with pytest.raises(k8s_api.KubeApiError, match="the kubeconfig %s does not exist on the controller; set k8s_kubeconfig" % missing):
        k8s_api.KubeApi({"kubeconfig": missing})
