"""What goes onto each lab host before it boots: certificates, etcd config, binaries, units.

Layout (the lab contract; the collection's roles manage these files later):
- /opt/kubernetes/vX.Y.Z/bin/NAME, fetched from the lab mirror and checked against its .sha256
- /etc/systemd/system/NAME.service running `/opt/kubernetes/vX.Y.Z/bin/NAME $NAME_ARGS`, with
  NAME_ARGS in /etc/kubernetes/NAME.env; Restart=always, RestartSec=2
- /etc/kubernetes/pki/ (ca.crt, apiserver, apiserver-etcd-client, per-component client certs),
  /etc/kubernetes/NAME.kubeconfig, /etc/etcd/pki/ and /etc/default/etcd on control-plane hosts
"""

import os

from lab import etcd, machines, net, pki

K8S_PKI = "/etc/kubernetes/pki"
INSTALL_ROOT = "/opt/kubernetes"
FAULT_DIR = "/etc/kubernetes/lab-faults"
CONTROL_PLANE_COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
NODE_COMPONENTS = ("kubelet", "kube-proxy")
SERVICE_CIDR = "10.96.0.0/12"
CLUSTER_CIDR = "10.244.0.0/16"


def args_var(component):
    """kube-apiserver -> KUBE_APISERVER_ARGS."""
    return component.upper().replace("-", "_") + "_ARGS"


def bin_path(version, component):
    return f"{INSTALL_ROOT}/v{version}/bin/{component}"


def unit_text(component, version):
    after = "network-online.target"
    if component == "kube-apiserver":
        after += " etcd.service"
    return f"""[Unit]
Description=Kubernetes {component} (clusterops lab, emulated)
Documentation=https://kubernetes.io/docs/reference/command-line-tools-reference/
After={after}
Wants=network-online.target
StartLimitIntervalSec=0

[Service]
EnvironmentFile=/etc/kubernetes/{component}.env
ExecStart={bin_path(version, component)} ${args_var(component)}
Restart=always
RestartSec=2

[Install]
WantedBy=multi-user.target
"""


def env_text(component, flags):
    quoted = " ".join(flags).replace("\\", "\\\\").replace('"', '\\"')
    return f'{args_var(component)}="{quoted}"\n'


def kubeconfig(server, ca_path, cert_path, key_path, user):
    """A kubeconfig that names the certificate files on the host."""
    return f"""apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster:
    server: {server}
    certificate-authority: {ca_path}
users:
- name: {user}
  user:
    client-certificate: {cert_path}
    client-key: {key_path}
contexts:
- name: {user}@lab
  context:
    cluster: lab
    user: {user}
current-context: {user}@lab
"""


def flag_context(name, ip, topology):
    """The ctx handed to lab.emulator.units.default_flags."""
    members = [(n, i) for n, r, i in topology if r == "control-plane"]
    return {
        "hostname": name,
        "host_ip": ip,
        "lb_ip": net.HOST_IP,
        "etcd_servers": etcd.client_endpoints(members),
        "apiserver_count": len(members),
        "pki_dir": K8S_PKI,
        "kube_dir": "/etc/kubernetes",
        "sa_key": f"{K8S_PKI}/sa.key",
        "sa_pub": f"{K8S_PKI}/sa.pub",
        "service_cidr": SERVICE_CIDR,
        "cluster_cidr": CLUSTER_CIDR,
        "root_dir": "/var/lib/kubelet",
    }


def default_flags(component, version, ctx):
    from lab.emulator.units import default_flags as components_flags  # pylint: disable=import-outside-toplevel
    return list(components_flags(component, version, ctx))


def components_of(role):
    return CONTROL_PLANE_COMPONENTS if role == "control-plane" else NODE_COMPONENTS


def write_pki(root, name, role, ip, topology, ca, sa_key_pem, sa_pub_pem):
    put = machines.put
    put(root, f"{K8S_PKI}/ca.crt", ca.cert_pem)
    if role == "control-plane":
        dns, ips = pki.apiserver_sans(name, ip, net.HOST_IP)
        key, crt = ca.issue("kube-apiserver", dns=dns, ips=ips, server=True, client=True)
        put(root, f"{K8S_PKI}/apiserver.key", key, 0o600)
        put(root, f"{K8S_PKI}/apiserver.crt", crt)
        for comp in ("apiserver-etcd-client", "apiserver-kubelet-client", "kube-controller-manager",
                     "kube-scheduler", "admin"):
            cn, orgs = pki.component_subject(comp, name)
            # Also a serving cert: controller-manager and scheduler serve HTTPS with it.
            key, crt = ca.issue(cn, orgs, dns=[name, "localhost"], ips=[ip, "127.0.0.1"], server=True, client=True)
            put(root, f"{K8S_PKI}/{comp}.key", key, 0o600)
            put(root, f"{K8S_PKI}/{comp}.crt", crt)
        put(root, f"{K8S_PKI}/sa.key", sa_key_pem, 0o600)
        put(root, f"{K8S_PKI}/sa.pub", sa_pub_pem)
        # etcd: server (also a client, for etcdctl on the host), peer and a plain client cert.
        uid, gid = etcd.etcd_ids(root)
        files = {"ca.crt": ca.cert_pem}
        key, crt = ca.issue(name, dns=[name, "localhost"], ips=[ip, "127.0.0.1"], server=True, client=True)
        files.update({"server.key": key, "server.crt": crt})
        key, crt = ca.issue(name, dns=[name, "localhost"], ips=[ip, "127.0.0.1"], server=True, client=True)
        files.update({"peer.key": key, "peer.crt": crt})
        key, crt = ca.issue("etcd-client", client=True)
        files.update({"client.key": key, "client.crt": crt})
        for fname, data in files.items():
            path = put(root, f"{etcd.PKI_DIR}/{fname}", data, 0o600 if fname.endswith(".key") else 0o644)
            os.chown(path, uid, gid)
        os.chown(os.path.join(root, etcd.PKI_DIR.lstrip("/")), uid, gid)
    else:
        for comp in ("kubelet", "kube-proxy"):
            cn, orgs = pki.component_subject(comp, name)
            key, crt = ca.issue(cn, orgs, client=True)
            put(root, f"{K8S_PKI}/{comp}.key", key, 0o600)
            put(root, f"{K8S_PKI}/{comp}.crt", crt)
        dns = [name, "localhost"]
        key, crt = ca.issue(f"system:node:{name}", ("system:nodes",), dns=dns, ips=[ip, "127.0.0.1"], server=True)
        put(root, f"{K8S_PKI}/kubelet-server.key", key, 0o600)
        put(root, f"{K8S_PKI}/kubelet-server.crt", crt)


def write_etcd(root, name, ip, topology):
    members = [(n, i) for n, r, i in topology if r == "control-plane"]
    machines.put(root, "etc/default/etcd", etcd.default_file(name, ip, members))
    machines.put(root, "etc/systemd/system/etcd.service.d/lab.conf", etcd.DROPIN)
    machines.enable_unit(root, "etcd.service")


def write_kubeconfigs(root, role):
    lb = f"https://{net.HOST_IP}:{net.LB_PORT}"
    local = f"https://127.0.0.1:{net.APISERVER_PORT}"
    ca = f"{K8S_PKI}/ca.crt"
    if role == "control-plane":
        targets = {"kube-controller-manager": local, "kube-scheduler": local, "admin": local}
    else:
        targets = {"kubelet": lb, "kube-proxy": lb}
    for comp, server in targets.items():
        machines.put(root, f"etc/kubernetes/{comp}.kubeconfig",
                     kubeconfig(server, ca, f"{K8S_PKI}/{comp}.crt", f"{K8S_PKI}/{comp}.key", comp), 0o600)


def install_components(root, name, role, ip, topology, version, artifacts):
    """Binaries (ARTIFACTS: {name: bytes} fetched from the mirror), env files and enabled units."""
    ctx = flag_context(name, ip, topology)
    for comp in components_of(role):
        machines.put(root, bin_path(version, comp), artifacts[comp], 0o755)
        machines.put(root, f"etc/kubernetes/{comp}.env", env_text(comp, default_flags(comp, version, ctx)))
        machines.put(root, f"etc/systemd/system/{comp}.service", unit_text(comp, version))
        machines.enable_unit(root, f"{comp}.service")
    if role != "control-plane":
        machines.put(root, bin_path(version, "crictl"), artifacts["crictl"], 0o755)
        link = os.path.join(root, "usr/local/bin/crictl")
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(bin_path(version, "crictl"), link)
        os.makedirs(os.path.join(root, "var/lib/kubelet"), exist_ok=True)
    os.makedirs(os.path.join(root, FAULT_DIR.lstrip("/")), exist_ok=True)
