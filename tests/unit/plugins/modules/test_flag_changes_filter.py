# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The flag_changes filter: the hop digest on the controller."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.clusterops.k8s_upgrade.plugins.filter.flag_changes import FilterModule

FLAG_CHANGES = FilterModule().filters()["flag_changes"]


def test_dicts():
    changes = FLAG_CHANGES("kubelet", "1.11.10", "1.12.10")
    assert [(c["minor"], c["flag"], c["change"]) for c in changes] == [("1.12", "cadvisor-port", "removed")]


def test_lines():
    lines = FLAG_CHANGES("kube-proxy", "1.15.12", "1.16.15", lines=True)
    assert lines == ["1.16 kube-proxy: --resource-container removed without replacement: kube-proxy no longer moves "
                     "itself into a cgroup; run it from systemd or a DaemonSet [CHANGELOG-1.16.md Action Required (#78294)]"]


@pytest.mark.parametrize("component, current, target, message", [
    ("kube-dns", "1.15", "1.16", "unknown component"),
    ("kubelet", "1.15", "banana", "target_version 'banana' is not valid"),
])
def test_errors(component, current, target, message):
    with pytest.raises(AnsibleFilterError, match=message):
        FLAG_CHANGES(component, current, target)
