"""Fault switches for rehearsals and tests (`python -m lab fault NAME [--restore]`).

- binary-exits --component C --version V: the mirror serves a build of C vV that exits 1 at start
  (its .sha256 updated, so checksum verification passes and the failure shows only when it runs).
- kubelet-never-ready --host H / kubelet-strict-checkpoints --host H: marker files in
  /etc/kubernetes/lab-faults/ on H that the emulated kubelet reads.
- host-offline --host H: H's veth leaves the bridge and goes down; H keeps running but nothing reaches it.
- etcd-refuse-snapshots --host H: H's etcd member is restarted with
  --client-cert-allowed-hostname=kube-apiserver-etcd-client (a drop-in), so it accepts only the
  apiserver's etcd client certificate: the apiserver keeps reading and writing through it, while
  `etcdctl snapshot save` with the operator's certificate (inventory etcd_cert) is refused at the
  TLS handshake ("bad certificate"; etcdctl reports "context deadline exceeded" when its
  --command-timeout runs out, and 3.4's `snapshot save` without that flag waits forever). Any other etcdctl call to that member is refused too; the
  other members answer. (Making the database file unreadable, so that only the snapshot's second
  open fails, was tried: etcd 3.4 ignores that error and loops, so the snapshot hangs instead of failing.)
"""

import os

from lab import etcd, machines, mirror, net, provision, state

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


def etcd_fault_dropin():
    # Environment= is read before the unit's EnvironmentFile, which does not set this variable.
    return ("# lab fault etcd-refuse-snapshots: only the apiserver's etcd client certificate is accepted\n"
            f"[Service]\nEnvironment=ETCD_CLIENT_CERT_ALLOWED_HOSTNAME={etcd.APISERVER_CLIENT_NAME}\n")


def apply(st, name, host=None, component=None, version=None, restore=False):
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
                with open(path, "w", encoding="ascii") as fh:
                    fh.write("set by python -m lab fault\n")
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
                if os.path.exists(dropin):
                    os.unlink(dropin)
            else:
                machines.put(machines.root_of(host), ETCD_FAULT_DROPIN, etcd_fault_dropin())
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
