# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The flag table is data: every entry must be well formed and within the known releases."""

import re

import pytest

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.release_data.flags import COMPONENTS, FLAGS
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.release_data.releases import KNOWN_MINORS
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.versions import parse_version

KEYS = {"deprecated", "removed", "renamed_to", "renamed_in", "inert_values", "value_rules", "note", "source"}
ENTRIES = [(component, name, entry) for component in sorted(FLAGS) for name, entry in sorted(FLAGS[component].items())]


def minor(text):
    return parse_version(text).minor


def test_components():
    assert set(FLAGS) == set(COMPONENTS)


@pytest.mark.parametrize("component, name, entry", ENTRIES, ids=["%s:%s" % (e[0], e[1]) for e in ENTRIES])
def test_entry_well_formed(component, name, entry):
    assert re.match(r"^[a-z0-9][a-z0-9-]*$", name), "flag names are stored without dashes, lower case"
    assert set(entry) <= KEYS, "unknown keys %s" % (set(entry) - KEYS)
    for key in ("deprecated", "removed", "renamed_in"):
        if entry.get(key) is not None:
            assert entry[key] in KNOWN_MINORS, "%s=%s is not a known minor" % (key, entry[key])
    assert entry.get("deprecated") or entry.get("removed") or entry.get("note"), "an entry must say something"
    if entry.get("deprecated") and entry.get("removed"):
        assert minor(entry["removed"]) > minor(entry["deprecated"])
    if entry.get("renamed_to"):
        assert entry.get("renamed_in"), "a rename says from which minor the new name exists"
        assert entry["renamed_to"] != name
        if entry.get("removed"):
            assert minor(entry["removed"]) > minor(entry["renamed_in"])
        new = FLAGS[component].get(entry["renamed_to"])
        assert new is None or not new.get("removed"), "a rename must not point at a removed flag"
    else:
        assert "renamed_in" not in entry
    assert isinstance(entry.get("inert_values", ()), tuple)
    for rule in entry.get("value_rules", ()):
        assert set(rule) in ({"minor", "only", "note", "source"}, {"minor", "refuse", "note", "source"})
        assert rule["minor"] in KNOWN_MINORS
        assert isinstance(rule.get("only", rule.get("refuse")), tuple)
        if entry.get("removed"):
            assert minor(rule["minor"]) < minor(entry["removed"]), "a value rule before the flag goes"
        assert re.search(r"CHANGELOG-1\.\d+\.md|#\d+", rule["source"])
    assert entry.get("note"), "say what the operator does"
    assert re.search(r"CHANGELOG-1\.\d+\.md|#\d+", entry.get("source", "")), "cite a CHANGELOG or a PR"


@pytest.mark.parametrize(
    "component, name, removed, renamed_to",
    [
        ("kube-apiserver", "insecure-port", "1.24", None),
        ("kube-apiserver", "insecure-bind-address", "1.24", None),
        ("kube-apiserver", "port", "1.24", None),
        ("kube-apiserver", "enable-swagger-ui", "1.24", None),
        ("kube-apiserver", "kubelet-https", "1.22", None),
        ("kube-apiserver", "target-ram-mb", "1.24", None),
        ("kube-apiserver", "service-account-api-audiences", "1.25", "api-audiences"),
        ("kube-apiserver", "experimental-encryption-provider-config", "1.24", "encryption-provider-config"),
        ("kube-apiserver", "repair-malformed-updates", "1.14", None),
        ("kube-apiserver", "deserialization-cache-size", "1.24", None),
        ("kubelet", "allow-privileged", "1.15", None),
        ("kubelet", "cadvisor-port", "1.12", None),
        ("kubelet", "network-plugin", "1.24", None),
        ("kubelet", "cni-bin-dir", "1.24", None),
        ("kubelet", "image-pull-progress-deadline", "1.24", None),
        ("kubelet", "seccomp-profile-root", "1.23", None),
        ("kubelet", "master-service-namespace", "1.27", None),
        ("kubelet", "experimental-check-node-capabilities-before-mount", "1.23", None),
        ("kube-controller-manager", "insecure-experimental-approve-all-kubelet-csrs-for-group", "1.13", None),
        ("kube-controller-manager", "port", "1.24", None),
        ("kube-controller-manager", "address", "1.24", None),
        ("kube-controller-manager", "horizontal-pod-autoscaler-use-rest-clients", "1.19", None),
        ("kube-controller-manager", "deleting-pods-qps", "1.25", None),
        ("kube-controller-manager", "deleting-pods-burst", "1.25", None),
        ("kube-controller-manager", "register-retry-count", "1.25", None),
        ("kube-controller-manager", "experimental-cluster-signing-duration", "1.25", "cluster-signing-duration"),
        ("kube-scheduler", "port", "1.24", None),
        ("kube-scheduler", "address", "1.24", None),
        ("kube-scheduler", "algorithm-provider", "1.22", None),
        ("kube-scheduler", "policy-config-file", "1.23", None),
        ("kube-scheduler", "use-legacy-policy-config", "1.23", None),
        ("kube-proxy", "resource-container", "1.16", None),
        ("kube-apiserver", "basic-auth-file", "1.19", None),
        ("kube-scheduler", "lock-object-name", "1.28", "leader-elect-resource-name"),
        ("kube-scheduler", "scheduler-name", "1.22", None),
        ("kubelet", "keep-terminated-pod-volumes", "1.31", None),
        ("kubelet", "dynamic-config-dir", "1.24", None),
        ("kubelet", "container-runtime", "1.27", None),
        ("kube-controller-manager", "enable-taint-manager", "1.27", None),
        ("kube-apiserver", "cloud-provider", "1.33", None),
        ("kubelet", "register-schedulable", "1.34", None),
        ("kubelet", "pod-infra-container-image", "1.35", None),
        ("kube-controller-manager", "pod-eviction-timeout", "1.27", None),
        ("kube-proxy", "logtostderr", "1.26", None),
    ],
)
def test_well_known_flags(component, name, removed, renamed_to):
    entry = FLAGS[component][name]
    assert entry["removed"] == removed
    assert entry.get("renamed_to") == renamed_to


def test_insecure_port_zero_is_inert():
    # what operators had: --insecure-port=0 must go away silently in 1.24, any other value must not
    assert FLAGS["kube-apiserver"]["insecure-port"]["inert_values"] == ("0",)
