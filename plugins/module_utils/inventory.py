# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory checks that need no host: roles that contradict each other.

The groups are kubespray's: etcd, kube_control_plane and kube_node. One machine may hold several
roles (a control-plane host that is also an etcd member and runs a kubelet is listed, under ONE
name, in all three groups). What conflicts is one machine under two inventory names: the plays
then treat it as two hosts, so its units are staged, switched and restarted by two plays that do
not know about each other (a node batch can restart the kubelet of a machine whose apiserver the
control-plane play is upgrading), and the skew check counts its components twice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DEFAULT_SSH_PORT = 22


class InventoryError(ValueError):
    pass


def _machine(host):
    name = host.get("name")
    if not name:
        raise InventoryError("host %r has no name; expected a dict with name, address, port and groups" % (host,))
    address = (host.get("address") or name).strip().lower()
    try:
        port = int(host.get("port") or DEFAULT_SSH_PORT)
    except (TypeError, ValueError):
        raise InventoryError("host %s has port %r; expected a number" % (name, host.get("port")))
    return address, port


def inventory_conflicts(hosts):
    """Conflicting roles among `hosts`, each {name, address, port, groups}: one message per machine
    that appears under more than one inventory name. Returns [] when there is none."""
    machines = {}
    order = []
    for host in hosts or []:
        key = _machine(host)
        if key not in machines:
            machines[key] = []
            order.append(key)
        if host["name"] not in [h["name"] for h in machines[key]]:
            machines[key].append(host)
    messages = []
    for key in order:
        names = machines[key]
        if len(names) < 2:
            continue
        roles = "; ".join(
            "%s in %s" % (h["name"], ", ".join(sorted(h.get("groups") or [])) or "no group") for h in names
        )
        messages.append(
            "%s:%d is one machine under %d inventory names (%s): the upgrade would treat it as %d hosts and "
            "stage, switch and restart its components from plays that do not know of each other. List the "
            "machine once, under one name, in every group it belongs to (a control-plane host that runs a "
            "kubelet is listed in kube_control_plane and kube_node under the same name)"
            % (key[0], key[1], len(names), roles, len(names))
        )
    return messages
