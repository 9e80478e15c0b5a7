"""Fault switches for rehearsals and tests (`python -m lab fault NAME [--restore]`).

- binary-exits --component C --version V: the mirror serves a build of C vV that exits 1 at start
  (its .sha256 updated, so checksum verification passes and the failure shows only when it runs).
- kubelet-never-ready --host H / kubelet-strict-checkpoints --host H [--only WORD ...]: marker files
  in /etc/kubernetes/lab-faults/ on H that the emulated kubelet reads; --only writes versions or
  minors ("v1.16") that limit the fault to kubelets of those (and, for strict checkpoints,
  checkpoint names), e.g. a kubelet that fails only after the upgrade, not after a rollback.
- host-offline --host H: H's veth leaves the bridge and goes down; H keeps running but nothing reaches it.
- etcd-refuse-snapshots --host H: H's etcd member is restarted with a client CRL (drop-in setting
  ETCD_CLIENT_CRL_FILE) that revokes the operators' etcd client certificates (/etc/etcd/pki/client.crt
  of every control-plane host, the inventory's etcd_cert). The member keeps serving the apiserver
  (its own certificate) and its gRPC gateway (the member's server certificate), and the other members
  accept the operator; `etcdctl snapshot save` with etcd_cert against H is refused at the TLS
  handshake ("bad certificate" in H's log), which etcdctl reports as "context deadline exceeded"
  once its --command-timeout runs out (3.4's `snapshot save` without that flag waits forever).
  Tried and dropped: an unreadable bbolt file (etcd 3.4 ignores the reopen error and loops) and
  --client-cert-allowed-hostname (it also breaks the member's own gRPC gateway).
"""

import os

from lab import etcd, machines, mirror, net, pki, provision, state

FAULTS = ("binary-exits", "kubelet-never-ready", "kubelet-strict-checkpoints", "host-offline", "etcd-refuse-snapshots")
MARKERS = {"kubelet-never-ready": "kubelet-never-ready", "kubelet-strict-checkpoints": "kubelet-strict-checkpoints"}


class FaultError(Exception):
    pass


def fault_id(name, host=None, component=None, version=None):
    if name == "binary-exits":
        return f"{name} {component} v{version}"
    return f"{name} {host}"


def _host(st, host, role=None):
    for name, hrole, ip in st["topology"]:
        if name == host:
            if role and hrole != role:
                raise FaultError(f"{host} is a {hrole} host; this fault needs a {role} host")
            return name, hrole, ip
    raise FaultError(f"no lab host {host!r}; hosts: {', '.join(h[0] for h in st['topology'])}")


def marker_path(host, marker):
    return os.path.join(machines.root_of(host), provision.FAULT_DIR.lstrip("/"), marker)


ETCD_FAULT_DROPIN = "/etc/systemd/system/etcd.service.d/lab-fault-refuse-snapshots.conf"
ETCD_FAULT_CRL = f"{etcd.PKI_DIR}/lab-fault-operators.crl"


def etcd_fault_dropin():
    # Environment= is read before the unit's EnvironmentFile, which does not set this variable.
    return ("# lab fault etcd-refuse-snapshots: the operators' etcd client certificates are revoked here\n"
            f"[Service]\nEnvironment=ETCD_CLIENT_CRL_FILE={ETCD_FAULT_CRL}\n")


def operator_crl(st):
    """A CRL (PEM) from the lab CA revoking /etc/etcd/pki/client.crt of every control-plane host."""
    ca = pki.CA.load_or_create(state.PKI_DIR)
    serials = []
    for name, role, _ip in st["topology"]:
        if role == "control-plane":
            with open(os.path.join(machines.root_of(name), etcd.PKI_DIR.lstrip("/"), "client.crt"), "rb") as fh:
                serials.append(pki.load_cert(fh.read()).serial_number)
    return pki.crl_pem(ca, serials)


def apply(st, name, host=None, component=None, version=None, restore=False, only=()):
    """Switch fault NAME on (or off); record it in the state dict; return a message."""
    active = st.setdefault("faults", [])
    if name == "list":
        return "active faults: " + (", ".join(active) if active else "none")
    if name == "binary-exits":
        if not component or not version:
            raise FaultError("binary-exits needs --component and --version")
        version = version.lstrip("v")
        if restore:
            mirror.restore_binary(st["mirror_dir"], version, component)
        else:
            mirror.replace_with_failing(st["mirror_dir"], version, component)
    else:
        if not host:
            raise FaultError(f"{name} needs --host")
        if name in MARKERS:
            _host(st, host, "node")
            path = marker_path(host, MARKERS[name])
            if restore:
                if os.path.exists(path):
                    os.unlink(path)
            else:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                # The kubelet reads the marker's words: versions/minors (and, for strict checkpoints,
                # checkpoint names) restrict the fault; an empty marker applies it to every kubelet.
                with open(path, "w", encoding="ascii") as fh:
                    fh.write("".join(f"{w}\n" for w in only))
        elif name == "host-offline":
            _host(st, host)
            if restore:
                net.attach(host)
            else:
                net.detach(host)
        elif name == "etcd-refuse-snapshots":
            ip = _host(st, host, "control-plane")[2]
            dropin = os.path.join(machines.root_of(host), ETCD_FAULT_DROPIN.lstrip("/"))
            if restore:
                for path in (dropin, os.path.join(machines.root_of(host), ETCD_FAULT_CRL.lstrip("/"))):
                    if os.path.exists(path):
                        os.unlink(path)
            else:
                root = machines.root_of(host)
                uid, gid = etcd.etcd_ids(root)
                os.chown(machines.put(root, ETCD_FAULT_CRL, operator_crl(st)), uid, gid)
                machines.put(root, ETCD_FAULT_DROPIN, etcd_fault_dropin())
            proc = machines.ssh(state.SSH_KEY, ip, "systemctl daemon-reload && systemctl restart etcd",
                                timeout=60, check=False)
            if proc.returncode != 0:
                raise FaultError(f"restarting etcd on {host} failed: {proc.stderr.strip()}")
        else:
            raise FaultError(f"unknown fault {name}")
    fid = fault_id(name, host, component, version)
    if restore:
        if fid in active:
            active.remove(fid)
        return f"fault off: {fid}"
    if fid not in active:
        active.append(fid)
    return f"fault on: {fid}"
