"""A real 3.4 etcd cluster with TLS on the control-plane hosts (Debian's etcd-server unit).

Configured the Debian way, through /etc/default/etcd (the unit's EnvironmentFile), with the
server, peer and client certificates under /etc/etcd/pki/. Every member listens for clients on
its bridge address and on 127.0.0.1, and checks client certificates.
"""

import json
import os
import shutil
import subprocess
import time

PKI_DIR = "/etc/etcd/pki"
DATA_DIR = "/var/lib/etcd/default"
CLIENT_PORT = 2379
PEER_PORT = 2380
TOKEN = "clusterops-lab"
# Where etcd 3.4 keeps its bbolt database inside the data dir.
DB_RELPATH = "member/snap/db"

# A drop-in: Debian's unit restarts only on-abnormal; a lab member that loses a race at boot
# (peers not up yet) should come back by itself.
DROPIN = "[Service]\nRestart=on-failure\nRestartSec=2s\n"


class EtcdError(Exception):
    pass


def client_url(ip):
    return f"https://{ip}:{CLIENT_PORT}"


def peer_url(ip):
    return f"https://{ip}:{PEER_PORT}"


def initial_cluster(members):
    """members: [(name, ip)] -> 'cp1=https://ip:2380,...'."""
    return ",".join(f"{name}={peer_url(ip)}" for name, ip in members)


def client_endpoints(members):
    return ",".join(client_url(ip) for _name, ip in members)


def default_file(name, ip, members):
    """The /etc/default/etcd of member NAME."""
    env = {
        "ETCD_NAME": name,
        "ETCD_DATA_DIR": DATA_DIR,
        "ETCD_LISTEN_PEER_URLS": peer_url(ip),
        "ETCD_LISTEN_CLIENT_URLS": f"{client_url(ip)},https://127.0.0.1:{CLIENT_PORT}",
        "ETCD_ADVERTISE_CLIENT_URLS": client_url(ip),
        "ETCD_INITIAL_ADVERTISE_PEER_URLS": peer_url(ip),
        "ETCD_INITIAL_CLUSTER": initial_cluster(members),
        "ETCD_INITIAL_CLUSTER_STATE": "new",
        "ETCD_INITIAL_CLUSTER_TOKEN": TOKEN,
        "ETCD_CERT_FILE": f"{PKI_DIR}/server.crt",
        "ETCD_KEY_FILE": f"{PKI_DIR}/server.key",
        "ETCD_TRUSTED_CA_FILE": f"{PKI_DIR}/ca.crt",
        "ETCD_CLIENT_CERT_AUTH": "true",
        "ETCD_PEER_CERT_FILE": f"{PKI_DIR}/peer.crt",
        "ETCD_PEER_KEY_FILE": f"{PKI_DIR}/peer.key",
        "ETCD_PEER_TRUSTED_CA_FILE": f"{PKI_DIR}/ca.crt",
        "ETCD_PEER_CLIENT_CERT_AUTH": "true",
        "ETCD_SNAPSHOT_COUNT": "10000",
    }
    lines = ["# Written by the clusterops lab (python -m lab up): member %s of a %d-member cluster." % (name, len(members))]
    lines += [f'{k}="{v}"' for k, v in env.items()]
    return "\n".join(lines) + "\n"


def etcd_ids(root):
    """(uid, gid) of the etcd user inside a machine root."""
    with open(os.path.join(root, "etc/passwd"), encoding="utf-8") as fh:
        for line in fh:
            parts = line.split(":")
            if parts[0] == "etcd":
                return int(parts[2]), int(parts[3])
    raise EtcdError("no etcd user in the image: is etcd-server installed?")


def etcdctl_argv(endpoints, cacert, cert, key, *args):
    return ["etcdctl", f"--endpoints={endpoints}", f"--cacert={cacert}", f"--cert={cert}", f"--key={key}",
            "--command-timeout=5s"] + list(args)


def etcdctl(endpoints, tls, *args, timeout=30):
    env = dict(os.environ, ETCDCTL_API="3")
    return subprocess.run(etcdctl_argv(endpoints, *tls, *args), capture_output=True, text=True, env=env,
                          timeout=timeout, check=False)


def health(members, tls):
    """{endpoint: bool} from `etcdctl endpoint health` run on the controller."""
    proc = etcdctl(client_endpoints(members), tls, "endpoint", "health", "-w", "json")
    out = {client_url(ip): False for _n, ip in members}
    try:
        for item in json.loads(proc.stdout or "[]"):
            out[item["endpoint"]] = bool(item.get("health"))
    except ValueError:
        pass
    return out


def wait_healthy(members, tls, timeout=90):
    deadline = time.monotonic() + timeout
    state = {}
    while time.monotonic() < deadline:
        state = health(members, tls)
        if state and all(state.values()):
            return state
        time.sleep(1)
    raise EtcdError(f"etcd not healthy after {timeout} s: {state}; see `journalctl -u etcd` on the hosts")


def have_etcdctl():
    return shutil.which("etcdctl") is not None
