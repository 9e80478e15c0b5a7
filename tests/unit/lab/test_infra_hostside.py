"""Unit tests of the lab's host-side pure parts (image recipe, network plan, etcd/unit/inventory text)."""

import base64
import gzip
import json

import pytest
import yaml

from lab import etcd, image, inventory, lb, mirror, net, provision, seed


DEB822 = """Types: deb
# a comment
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm
Components: main
"""


@pytest.mark.parametrize("text, expected", [
    (DEB822, ("http://deb.debian.org/debian", "bookworm")),
    ("Types: deb\nURIs: http://mirror.example/debian/\nSuites: trixie-updates trixie\nComponents: main\n",
     ("http://mirror.example/debian", "trixie")),
])
def test_deb822_mirror(text, expected):
    assert image.pick_debian_mirror(image.parse_deb822_sources(text)) == expected


def test_one_line_sources():
    text = ("deb [signed-by=/k.gpg] http://security.debian.org/debian-security bookworm-security main\n"
            "# deb http://old.example/debian buster main\n"
            "deb http://ftp.example/debian bookworm main contrib\n")
    entries = image.parse_one_line_sources(text)
    assert entries[1] == ("http://ftp.example/debian", ["bookworm"], ["main", "contrib"])
    assert image.pick_debian_mirror(entries) == ("http://ftp.example/debian", "bookworm")


def test_no_mirror_is_an_error():
    with pytest.raises(image.ImageError, match="no Debian mirror"):
        image.pick_debian_mirror([("https://packages.example/apt", ["cloud-sdk"], ["main"])])


def test_image_key_depends_on_packages_not_order():
    a = image.image_key("bookworm", ("python3", "systemd"))
    assert a == image.image_key("bookworm", ("systemd", "python3"))
    assert a != image.image_key("bookworm", ("systemd", "python3", "etcd-server"))
    assert a != image.image_key("trixie", ("python3", "systemd"))


def test_debootstrap_argv_has_every_contract_package():
    argv = image.debootstrap_argv("bookworm", "/t", "http://m/debian")
    assert argv[:2] == ["debootstrap", "--variant=minbase"]
    assert argv[-3:] == ["bookworm", "/t", "http://m/debian"]
    included = argv[2].split("=", 1)[1].split(",")
    for pkg in ("systemd", "systemd-sysv", "dbus", "openssh-server", "python3", "python3-yaml", "etcd-server",
                "etcd-client", "iproute2", "procps", "ca-certificates"):
        assert pkg in included


@pytest.mark.parametrize("cp, nodes, expected", [
    (1, 1, [("cp1", "control-plane", "10.213.19.11"), ("node1", "node", "10.213.19.101")]),
    (3, 0, [("cp1", "control-plane", "10.213.19.11"), ("cp2", "control-plane", "10.213.19.12"),
            ("cp3", "control-plane", "10.213.19.13")]),
])
def test_topology(cp, nodes, expected):
    assert net.topology(cp, nodes) == expected


@pytest.mark.parametrize("cp, nodes", [(0, 1), (10, 1), (1, 100), (1, -1)])
def test_topology_limits(cp, nodes):
    with pytest.raises(net.NetError):
        net.topology(cp, nodes)


def test_veth_name():
    assert net.veth_name("node12") == "vb-node12"
    with pytest.raises(net.NetError):
        net.veth_name("a-very-long-machine")


def test_etcd_default_file():
    members = [("cp1", "10.213.19.11"), ("cp2", "10.213.19.12")]
    text = etcd.default_file("cp2", "10.213.19.12", members)
    env = dict(line.split("=", 1) for line in text.splitlines() if not line.startswith("#"))
    assert env["ETCD_NAME"] == '"cp2"'
    assert env["ETCD_INITIAL_CLUSTER"] == '"cp1=https://10.213.19.11:2380,cp2=https://10.213.19.12:2380"'
    assert env["ETCD_LISTEN_CLIENT_URLS"] == '"https://10.213.19.12:2379,https://127.0.0.1:2379"'
    assert env["ETCD_CLIENT_CERT_AUTH"] == env["ETCD_PEER_CLIENT_CERT_AUTH"] == '"true"'
    assert env["ETCD_CERT_FILE"] == '"/etc/etcd/pki/server.crt"'


def test_etcdctl_argv():
    argv = etcd.etcdctl_argv("https://a:2379", "ca", "c", "k", "endpoint", "health")
    assert argv == ["etcdctl", "--endpoints=https://a:2379", "--cacert=ca", "--cert=c", "--key=k",
                    "--command-timeout=5s", "endpoint", "health"]


@pytest.mark.parametrize("component, var", [
    ("kube-apiserver", "KUBE_APISERVER_ARGS"), ("kube-controller-manager", "KUBE_CONTROLLER_MANAGER_ARGS"),
    ("kubelet", "KUBELET_ARGS"), ("kube-proxy", "KUBE_PROXY_ARGS")])
def test_unit_and_env(component, var):
    unit = provision.unit_text(component, "1.15.12")
    assert f"ExecStart=/opt/kubernetes/v1.15.12/bin/{component} ${var}\n" in unit
    assert f"EnvironmentFile=/etc/kubernetes/{component}.env\n" in unit
    assert "Restart=always\n" in unit and "RestartSec=2\n" in unit
    assert provision.env_text(component, ["--a=1", '--b="x"']) == f'{var}="--a=1 --b=\\"x\\""\n'


def test_flag_context_names_every_etcd_member():
    topo = net.topology(3, 1)
    ctx = provision.flag_context("cp2", "10.213.19.12", topo)
    assert ctx["etcd_servers"] == "https://10.213.19.11:2379,https://10.213.19.12:2379,https://10.213.19.13:2379"
    assert ctx["apiserver_count"] == 3 and ctx["lb_ip"] == net.HOST_IP


def test_hosts_yml_groups_and_vars():
    topo = net.topology(3, 2)
    doc = yaml.safe_load(inventory.hosts_yml(topo, "1.15.12", "/k/ssh.key", "/k/kubeconfig"))
    children = doc["all"]["children"]
    assert sorted(children["etcd"]["hosts"]) == ["cp1", "cp2", "cp3"]
    assert sorted(children["kube_control_plane"]["hosts"]) == ["cp1", "cp2", "cp3"]
    assert children["kube_node"]["hosts"]["node2"]["ansible_host"] == "10.213.19.102"
    v = doc["all"]["vars"]
    assert v["ansible_user"] == "root" and v["ansible_ssh_private_key_file"] == "/k/ssh.key"
    assert v["k8s_release_url"] == "http://10.213.19.1:8088/release/v{version}/bin/linux/{arch}/{name}"
    assert len(v["etcd_endpoints"]) == 3 and v["k8s_apiserver_lb_url"] == "https://10.213.19.1:6443"


def test_every_inventory_var_is_documented():
    import os  # pylint: disable=import-outside-toplevel
    readme = open(os.path.join(os.path.dirname(inventory.__file__), "README.md"), encoding="utf-8").read()
    doc = yaml.safe_load(inventory.hosts_yml(net.topology(1, 1), "1.15.12", "/k", "/c"))
    names = set(doc["all"]["vars"])
    for group in doc["all"]["children"].values():
        for hostvars in group["hosts"].values():
            names.update(hostvars)
    missing = [n for n in sorted(names) if f"`{n}`" not in readme]
    assert not missing, f"not documented in lab/README.md: {missing}"


def test_admin_kubeconfig_embeds_credentials():
    doc = yaml.safe_load(inventory.admin_kubeconfig("https://lb:6443", b"CA", b"CERT", "KEY"))
    assert doc["clusters"][0]["cluster"]["server"] == "https://lb:6443"
    assert base64.b64decode(doc["clusters"][0]["cluster"]["certificate-authority-data"]) == b"CA"
    assert base64.b64decode(doc["users"][0]["user"]["client-key-data"]) == b"KEY"
    assert doc["current-context"] == doc["contexts"][0]["name"]


def test_haproxy_config_lists_every_apiserver():
    cfg = lb.config([("cp1", "10.213.19.11"), ("cp2", "10.213.19.12")], "/run/x.pid")
    assert "bind 10.213.19.1:6443" in cfg
    assert "server cp1 10.213.19.11:6443 check" in cfg and "server cp2 10.213.19.12:6443 check" in cfg
    assert "mode tcp" in cfg
    assert lb.argv("/c.cfg") == ["haproxy", "-f", "/c.cfg", "-db"]


def test_haproxy_takes_a_stopping_apiserver_out_and_retries_elsewhere():
    cfg = lb.config([("cp1", "10.213.19.11"), ("cp2", "10.213.19.12")], "/run/x.pid", lb.health_path("1.30.14"))
    assert "option httpchk GET /readyz" in cfg
    assert "server cp1 10.213.19.11:6443 check check-ssl verify none inter 1s fall 1 rise 2" in cfg
    assert "option redispatch 1" in cfg and "retries 3" in cfg
    assert lb.health_path("1.15.12") == "/healthz" and lb.health_path("v1.16.15") == "/readyz"


def test_mirror_layout():
    assert mirror.artifact_relpath("1.15.12", "kubelet") == "release/v1.15.12/bin/linux/amd64/kubelet"
    assert mirror.URL_TEMPLATE.format(version="1.16.15", arch="amd64", name="kube-proxy") == \
        "http://10.213.19.1:8088/release/v1.16.15/bin/linux/amd64/kube-proxy"


def test_helm_release_secret_round_trip():
    secret = seed.helm_release_secret("web", "shop", 3, "kind: X\n")
    assert secret["type"] == "helm.sh/release.v1"
    assert secret["metadata"]["name"] == "sh.helm.release.v1.web.v3"
    helm_payload = base64.b64decode(secret["data"]["release"])
    release = json.loads(gzip.decompress(base64.b64decode(helm_payload)))
    assert release["manifest"] == "kind: X\n" and release["version"] == 3


def test_seed_uses_deprecated_versions_only_where_served():
    old = seed.objects({"v1", "apps/v1", "extensions/v1beta1", "extensions/v1beta1/deployments",
                        "extensions/v1beta1/daemonsets", "apps/v1beta2", "apps/v1beta2/deployments", "apps/v1beta1",
                        "apps/v1beta1/deployments", "policy/v1beta1"})
    new = seed.objects({"v1", "apps/v1", "policy/v1"})
    # 1.16-1.21 still serve extensions/v1beta1 (Ingress), but no longer its workloads.
    between = seed.objects({"v1", "apps/v1", "extensions/v1beta1", "extensions/v1beta1/ingresses", "policy/v1beta1"})
    assert not [o for o in between if o["apiVersion"].startswith("extensions/")]
    old_gv = {(o["apiVersion"], o["kind"]) for o in old}
    new_gv = {(o["apiVersion"], o["kind"]) for o in new}
    assert ("extensions/v1beta1", "Deployment") in old_gv and ("policy/v1beta1", "PodDisruptionBudget") in old_gv
    assert ("extensions/v1beta1", "Deployment") not in new_gv
    assert {gv for gv, _k in new_gv} <= {"v1", "apps/v1", "policy/v1"}
    kinds = {k for _gv, k in new_gv}
    assert {"Namespace", "Deployment", "DaemonSet", "StatefulSet", "PodDisruptionBudget", "Service", "ConfigMap",
            "Secret"} <= kinds


def test_applied_annotation_is_the_object_itself():
    obj = seed.deployment("legacy", "x", "img", 1, "extensions/v1beta1")
    out = seed.applied(obj)
    assert json.loads(out["metadata"]["annotations"][seed.LAST_APPLIED]) == obj
    assert "annotations" not in obj["metadata"]


@pytest.mark.parametrize("obj, path", [
    ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}, "/api/v1/namespaces"),
    ({"apiVersion": "extensions/v1beta1", "kind": "Deployment", "metadata": {"name": "a", "namespace": "n"}},
     "/apis/extensions/v1beta1/namespaces/n/deployments"),
])
def test_seed_paths(obj, path):
    assert seed.path_for(obj) == path
