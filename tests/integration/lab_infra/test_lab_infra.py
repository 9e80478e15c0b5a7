"""The lab's host side, end to end: hosts, SSH, units, etcd over TLS, mirror, clients, faults, down."""

import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml

from labinfra_util import ROOT, VERSION, find_kubectl, run_lab  # pylint: disable=import-error

sys.path.insert(0, ROOT)
from lab import etcd, machines, mirror, net, state  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = pytest.mark.usefixtures("lab_up")


def hosts():
    return [tuple(h) for h in state.load()["topology"]]


def ssh(ip, cmd, **kw):
    return machines.ssh(state.SSH_KEY, ip, cmd, **kw)


def cp_ip():
    return next(ip for _n, r, ip in hosts() if r == "control-plane")


def node_ip():
    return next(ip for _n, r, ip in hosts() if r == "node")


def test_every_host_answers_ssh_with_its_name():
    assert len(hosts()) == 2
    for name, _role, ip in hosts():
        assert ssh(ip, "hostname").stdout.strip() == name


def test_units_active_at_the_version():
    want = {"control-plane": ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"),
            "node": ("kubelet", "kube-proxy")}
    for _name, role, ip in hosts():
        for unit in want[role]:
            assert ssh(ip, f"systemctl is-active {unit}", check=False).stdout.strip() == "active", unit
            if unit != "etcd":
                exec_start = ssh(ip, f"systemctl show -p ExecStart --value {unit}").stdout
                assert f"/opt/kubernetes/v{VERSION}/bin/{unit}" in exec_start
                out = ssh(ip, f"/opt/kubernetes/v{VERSION}/bin/{unit} --version").stdout
                assert VERSION in out
    assert ssh(node_ip(), "readlink -f /usr/local/bin/crictl").stdout.strip() == f"/opt/kubernetes/v{VERSION}/bin/crictl"


def test_etcd_healthy_with_tls_and_refuses_clients_without_a_cert():
    members = [(n, ip) for n, r, ip in hosts() if r == "control-plane"]
    assert all(etcd.health(members, state.etcd_tls()).values())
    env = dict(os.environ, ETCDCTL_API="3")
    bare = subprocess.run(["etcdctl", f"--endpoints={etcd.client_url(members[0][1])}",
                           f"--cacert={state.etcd_tls()[0]}", "--dial-timeout=2s", "--command-timeout=3s",
                           "endpoint", "health"], capture_output=True, text=True, env=env, check=False)
    assert bare.returncode != 0
    # On the host, with the inventory's etcd client certificate, as the collection will.
    inv = yaml.safe_load(open(state.HOSTS_YML, encoding="utf-8"))["all"]["vars"]
    out = ssh(cp_ip(), f"ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert={inv['etcd_cacert']} "
                       f"--cert={inv['etcd_cert']} --key={inv['etcd_key']} get /registry --prefix --keys-only "
                       "| grep -c /registry/namespaces/").stdout
    assert int(out.strip()) >= 4  # the seeded namespaces are stored in the real etcd


@pytest.mark.parametrize("version", [VERSION, "1.10.13", "1.33.10"])
def test_mirror_serves_checksummed_artifacts(version):
    for name in ("kube-apiserver", "kubelet", "crictl"):
        url = mirror.artifact_url(version, name)
        with urllib.request.urlopen(url, timeout=10) as resp:
            data = resp.read()
        with urllib.request.urlopen(url + ".sha256", timeout=10) as resp:
            digest = resp.read().decode().strip()
        assert hashlib.sha256(data).hexdigest() == digest


def test_installed_binary_is_the_mirrored_one():
    got = ssh(node_ip(), f"sha256sum /opt/kubernetes/v{VERSION}/bin/kubelet").stdout.split()[0]
    with urllib.request.urlopen(mirror.artifact_url(VERSION, "kubelet") + ".sha256", timeout=10) as resp:
        assert resp.read().decode().strip() == got


def test_real_kubectl_get_nodes_and_version():
    kubectl = find_kubectl()
    if not kubectl:
        pytest.skip("no kubectl found")
    base = [kubectl, "--kubeconfig", state.KUBECONFIG]
    out = subprocess.run(base + ["get", "nodes", "-o", "json"], capture_output=True, text=True, check=True).stdout
    nodes = {n["metadata"]["name"]: n for n in json.loads(out)["items"]}
    assert "node1" in nodes
    ready = [c for c in nodes["node1"]["status"]["conditions"] if c["type"] == "Ready"]
    assert ready and ready[0]["status"] == "True"
    out = subprocess.run(base + ["version", "-o", "json"], capture_output=True, text=True, check=True).stdout
    assert json.loads(out)["serverVersion"]["gitVersion"] == f"v{VERSION}"


def test_python_client_and_seeded_objects():
    from kubernetes import client, config  # pylint: disable=import-outside-toplevel
    api_client = config.new_client_from_config(config_file=state.KUBECONFIG)
    core = client.CoreV1Api(api_client)
    names = {n.metadata.name for n in core.list_node().items}
    assert "node1" in names
    namespaces = {n.metadata.name for n in core.list_namespace().items}
    assert {"shop", "payments", "monitoring", "legacy"} <= namespaces
    helm = core.list_namespaced_secret("shop", field_selector="type=helm.sh/release.v1").items
    assert [s.metadata.name for s in helm] == ["sh.helm.release.v1.web-frontend.v1"]
    deployments = client.AppsV1Api(api_client).list_deployment_for_all_namespaces().items
    legacy = [d for d in deployments if d.metadata.namespace == "legacy" and d.metadata.name == "old-web"]
    assert legacy
    applied = json.loads(legacy[0].metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"])
    assert applied["apiVersion"] == "extensions/v1beta1"


def test_inventory_reaches_every_host_with_ansible():
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible"), "all", "-i", state.HOSTS_YML,
                           "-m", "ansible.builtin.ping", "-o"], capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("SUCCESS") == len(hosts())


def test_up_twice_is_safe():
    started = time.monotonic()
    proc = run_lab("up", "--control-plane", "1", "--nodes", "1", "--version", VERSION)
    assert proc.returncode == 0, proc.stderr
    assert "already up" in proc.stdout and time.monotonic() - started < 20
    proc = run_lab("up", "--control-plane", "2", "--nodes", "1", "--version", VERSION)
    assert proc.returncode == 2 and "down" in proc.stderr


def test_fault_host_offline_and_back():
    name = next(n for n, r, _ip in hosts() if r == "node")
    assert run_lab("fault", "host-offline", "--host", name).returncode == 0
    try:
        assert not net.is_attached(name)
        assert ssh(node_ip(), "true", check=False, timeout=15).returncode != 0
    finally:
        assert run_lab("fault", "host-offline", "--host", name, "--restore").returncode == 0
    assert machines.wait_ssh(state.SSH_KEY, [node_ip()], timeout=30)


def test_fault_etcd_refuses_snapshots_and_back():
    name = next(n for n, r, _ip in hosts() if r == "control-plane")
    inv = yaml.safe_load(open(state.HOSTS_YML, encoding="utf-8"))["all"]["vars"]
    snap = (f"ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert={inv['etcd_cacert']} "
            f"--cert={inv['etcd_cert']} --key={inv['etcd_key']} --command-timeout=10s snapshot save /root/s.db")
    assert run_lab("fault", "etcd-refuse-snapshots", "--host", name).returncode == 0
    try:
        refused = ssh(cp_ip(), snap, check=False, timeout=60)
        assert refused.returncode != 0 and "deadline exceeded" in refused.stderr
        # The apiserver still reads and writes through this member.
        from kubernetes import client, config  # pylint: disable=import-outside-toplevel
        core = client.CoreV1Api(config.new_client_from_config(config_file=state.KUBECONFIG))
        core.create_namespace({"metadata": {"name": "fault-probe"}})
    finally:
        assert run_lab("fault", "etcd-refuse-snapshots", "--host", name, "--restore").returncode == 0
    members = [(n, ip) for n, r, ip in hosts() if r == "control-plane"]
    etcd.wait_healthy(members, state.etcd_tls(), timeout=30)
    assert ssh(cp_ip(), snap, check=False, timeout=60).returncode == 0


def test_fault_binary_exits_keeps_checksum_consistent():
    url = mirror.artifact_url("1.16.15", "kubelet")
    fetch = f"python3 -c \"import urllib.request as u; open('/root/k','wb').write(u.urlopen('{url}').read())\" && chmod +x /root/k"
    with urllib.request.urlopen(url + ".sha256", timeout=10) as resp:
        good = resp.read().decode().strip()
    assert run_lab("fault", "binary-exits", "--component", "kubelet", "--version", "1.16.15").returncode == 0
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            data = resp.read()
        with urllib.request.urlopen(url + ".sha256", timeout=10) as resp:
            published = resp.read().decode().strip()
        assert hashlib.sha256(data).hexdigest() == published != good
        ssh(node_ip(), fetch)
        # Like the good build it answers --version; started, it exits 1.
        assert ssh(node_ip(), "/root/k --version").stdout.strip() == "Kubernetes v1.16.15"
        started = ssh(node_ip(), "timeout 20 /root/k --v=2", check=False)
        assert started.returncode == 1 and "exits at start" in started.stderr
    finally:
        assert run_lab("fault", "binary-exits", "--component", "kubelet", "--version", "1.16.15",
                       "--restore").returncode == 0
    ssh(node_ip(), fetch)
    assert ssh(node_ip(), "sha256sum /root/k").stdout.split()[0] == good


def test_fault_markers_on_the_node():
    name = next(n for n, r, _ip in hosts() if r == "node")
    for fault in ("kubelet-never-ready", "kubelet-strict-checkpoints"):
        assert run_lab("fault", fault, "--host", name, "--only", "v1.16").returncode == 0
        assert ssh(node_ip(), f"cat /etc/kubernetes/lab-faults/{fault}").stdout == "v1.16\n"
        assert run_lab("fault", fault, "--host", name, "--restore").returncode == 0
        assert ssh(node_ip(), f"test -e /etc/kubernetes/lab-faults/{fault}", check=False).returncode == 1


def test_fault_kubelet_never_ready_makes_the_node_not_ready():
    from kubernetes import client, config  # pylint: disable=import-outside-toplevel
    core = client.CoreV1Api(config.new_client_from_config(config_file=state.KUBECONFIG))
    name = next(n for n, r, _ip in hosts() if r == "node")

    def ready():
        conds = core.read_node(name).status.conditions or []
        return [c.status for c in conds if c.type == "Ready"] == ["True"]

    def wait(want, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready() == want:
                return True
            time.sleep(1)
        return False

    assert run_lab("fault", "kubelet-never-ready", "--host", name).returncode == 0
    try:
        ssh(node_ip(), "systemctl restart kubelet")
        assert wait(False), "the node stayed Ready with the kubelet-never-ready marker"
    finally:
        assert run_lab("fault", "kubelet-never-ready", "--host", name, "--restore").returncode == 0
        ssh(node_ip(), "systemctl restart kubelet")
    assert wait(True), "the node did not come back Ready"


def test_status_reports_hosts_and_units():
    proc = run_lab("status")
    assert proc.returncode == 0, proc.stdout
    assert "node1" in proc.stdout and f"kubelet                    active     v{VERSION}" in proc.stdout


def test_zz_down_leaves_nothing_behind():
    st = state.load()
    pids = list(st["machines"].values()) + list(st["pids"].values())
    proc = run_lab("down")
    assert proc.returncode == 0, proc.stderr
    assert not net.link_exists(net.BRIDGE)
    assert not any(net.link_exists(net.veth_name(n)) for n, _r, _ip in hosts_of(st))
    assert not any(machines.pid_alive(p) for p in pids)
    with open("/proc/self/mounts", encoding="utf-8") as fh:
        assert st["run_root"] not in fh.read()
    for path in (state.STATE_DIR, state.HOSTS_YML, state.KUBECONFIG, state.SSH_KEY, st["run_root"]):
        assert not os.path.exists(path), path


def hosts_of(st):
    return [tuple(h) for h in st["topology"]]
