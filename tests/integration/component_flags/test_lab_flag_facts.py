# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cross-check against the lab, which keeps its own flag facts (lab/facts/flags.py): the flags the
lab puts in a release's units, migrated by component_flags for a later release, must all be flags
that the lab's emulated binary of that release accepts. A wrong entry on either side fails here."""

import pytest

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import flag_migration as fm
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import systemd_unit as su
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.release_data.flags import COMPONENTS

units = pytest.importorskip("lab.emulator.units")
lab_flags = pytest.importorskip("lab.facts.flags")

CTX = dict(host_ip="10.0.0.11", hostname="cp-1", lb_ip="10.0.0.10", etcd_servers=["https://10.0.0.11:2379"])
HOPS = [(n, n + step) for n in range(10, 37) for step in (1, 2, 4) if n + step <= 37]


@pytest.mark.parametrize("component", COMPONENTS)
@pytest.mark.parametrize("current, target", HOPS, ids=["1.%d-1.%d" % hop for hop in HOPS])
def test_migrated_lab_flags_are_accepted_by_the_lab(component, current, target):
    args = units.default_flags(component, "1.%d.0" % current, CTX)
    flags = su.parse_flags(args)
    the_plan = fm.plan(flags, component, "1.%d.0" % target)  # default removed_flags=fail: nothing refused
    after = su.parse_flags(fm.planned_flags(flags, the_plan))
    known = lab_flags.known_flags(component, target)
    refused = [f.name for f in after if f.name is not None and f.key not in known and f.name not in lab_flags.SHORTHANDS]
    assert refused == [], "the lab's %s 1.%d would refuse %s" % (component, target, refused)
