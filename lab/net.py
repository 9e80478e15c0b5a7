"""The lab's private network: one bridge, one /24 that only lab hosts use.

Controller side of the bridge: 10.213.19.1 (artifact mirror on :8088, haproxy LB on :6443).
Control-plane hosts cp1.. at .11, .12, ...; nodes node1.. at .101, .102, ...

LAB_ID=N (0 by default) gives a second, independent lab on the same machine: bridge clabN,
subnet 10.213.(19+N).0/24, and machine names with an -N suffix (the veth names must not collide).
"""

import ipaddress
import os
import subprocess

LAB_ID = int(os.environ.get("LAB_ID", "0") or 0)
if not 0 <= LAB_ID <= 9:
    raise ValueError(f"LAB_ID must be 0..9, got {LAB_ID}")
BRIDGE = f"clab{LAB_ID}"
SUBNET = ipaddress.ip_network(f"10.213.{19 + LAB_ID}.0/24")
HOST_IP = str(SUBNET.network_address + 1)
PREFIX = SUBNET.prefixlen
MIRROR_PORT = 8088
LB_PORT = 6443
APISERVER_PORT = 6443
MAX_CONTROL_PLANE = 9   # .11-.19
MAX_NODES = 99          # .101-.199


class NetError(Exception):
    pass


def topology(control_plane, nodes):
    """[(name, role, ip)] for a lab of CONTROL_PLANE apiserver/etcd hosts and NODES worker hosts."""
    if not 1 <= control_plane <= MAX_CONTROL_PLANE:
        raise NetError(f"--control-plane must be 1..{MAX_CONTROL_PLANE}, got {control_plane}")
    if not 0 <= nodes <= MAX_NODES:
        raise NetError(f"--nodes must be 0..{MAX_NODES}, got {nodes}")
    base = int(SUBNET.network_address)
    hosts = [(f"cp{i}", "control-plane", str(ipaddress.ip_address(base + 10 + i))) for i in range(1, control_plane + 1)]
    hosts += [(f"node{i}", "node", str(ipaddress.ip_address(base + 100 + i))) for i in range(1, nodes + 1)]
    return hosts


def machine_name(host):
    """The systemd-nspawn machine name of lab host HOST (unique across labs; the hostname stays HOST)."""
    return host if LAB_ID == 0 else f"{host}-{LAB_ID}"


def veth_name(machine):
    """The host side of the veth systemd-nspawn --network-bridge creates ("vb-" + name, 15 chars max)."""
    name = "vb-" + machine_name(machine)
    if len(name) > 15:
        raise NetError(f"machine name {machine!r} too long for a predictable veth name")
    return name


def _ip(*argv, check=True):
    return subprocess.run(["ip"] + list(argv), capture_output=True, text=True, check=check)


def link_exists(name):
    return _ip("link", "show", "dev", name, check=False).returncode == 0


def drop_stale_veth(machine):
    """Delete the host veth an earlier machine of this name left behind (a container that went down
    uncleanly, or one still going down): nspawn fails with "File exists" otherwise."""
    name = veth_name(machine)
    if link_exists(name):
        _ip("link", "del", name, check=False)


def bridge_up():
    """Create the bridge with the controller address (idempotent)."""
    if not link_exists(BRIDGE):
        _ip("link", "add", BRIDGE, "type", "bridge")
    addrs = _ip("-o", "addr", "show", "dev", BRIDGE).stdout
    if f"{HOST_IP}/{PREFIX}" not in addrs:
        _ip("addr", "add", f"{HOST_IP}/{PREFIX}", "dev", BRIDGE)
    _ip("link", "set", BRIDGE, "up")


def bridge_down():
    if link_exists(BRIDGE):
        _ip("link", "del", BRIDGE)


def detach(machine):
    """Drop a host off the bridge: its veth leaves the bridge and goes down (packets vanish)."""
    veth = veth_name(machine)
    if not link_exists(veth):
        raise NetError(f"{veth} does not exist: is {machine} running?")
    _ip("link", "set", "dev", veth, "nomaster")
    _ip("link", "set", "dev", veth, "down")


def attach(machine):
    veth = veth_name(machine)
    if not link_exists(veth):
        raise NetError(f"{veth} does not exist: is {machine} running?")
    _ip("link", "set", "dev", veth, "master", BRIDGE)
    _ip("link", "set", "dev", veth, "up")


def is_attached(machine):
    veth = veth_name(machine)
    out = _ip("-o", "link", "show", "dev", veth, check=False).stdout
    return f"master {BRIDGE}" in out and "state DOWN" not in out and ",UP" in out
