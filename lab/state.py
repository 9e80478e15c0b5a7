"""Where the lab keeps what it made, so `down` can remove exactly that.

lab/.state/ (gitignored): state.json (topology, version, PIDs, paths, active faults) and pki/ (the
CA key and the controller's client certificates). Machine roots, logs and the mirror tree live
under RUN_ROOT (/var/lib/clusterops-lab), the cached image under /var/cache/clusterops-lab.
"""

import json
import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATE_DIR = os.environ.get("LAB_STATE_DIR", os.path.join(REPO_ROOT, "lab", ".state"))
INVENTORY_DIR = os.path.join(REPO_ROOT, "inventories", "lab")
HOSTS_YML = os.path.join(INVENTORY_DIR, "hosts.yml")
KUBECONFIG = os.path.join(INVENTORY_DIR, "kubeconfig")
SSH_KEY = os.path.join(INVENTORY_DIR, "ssh.key")
SSH_PUB = SSH_KEY + ".pub"
STATE_FILE = os.path.join(STATE_DIR, "state.json")
PKI_DIR = os.path.join(STATE_DIR, "pki")


def load():
    try:
        with open(STATE_FILE, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        return None


def save(state):
    os.makedirs(STATE_DIR, exist_ok=True)
    tmp = STATE_FILE + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(state, fh, indent=1, sort_keys=True)
    os.replace(tmp, STATE_FILE)


def controller_tls():
    """(ca, cert, key) paths of the controller's admin client certificate."""
    return (os.path.join(PKI_DIR, "ca.crt"), os.path.join(PKI_DIR, "admin.crt"), os.path.join(PKI_DIR, "admin.key"))


def etcd_tls():
    return (os.path.join(PKI_DIR, "ca.crt"), os.path.join(PKI_DIR, "etcd-client.crt"),
            os.path.join(PKI_DIR, "etcd-client.key"))
