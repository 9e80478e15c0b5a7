"""A real etcd (Debian's etcd-server binary) started by the tests on free loopback ports.

Client traffic uses TLS with client certificates from a CA made here with `cryptography`; a
second, unrelated CA provides the "wrong certificates". Every etcd started is stopped by its PID
in a finalizer.
"""

import datetime
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
from ansible.module_utils.testing import patch_module_args
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BIN = os.path.dirname(sys.executable)
ETCD = shutil.which("etcd")
ETCDCTL = shutil.which("etcdctl")

pytestmark = pytest.mark.skipif(not (ETCD and ETCDCTL), reason="etcd and etcdctl (Debian etcd-server, etcd-client) are needed")


def free_ports(count):
    socks = []
    try:
        for _i in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


# ------------------------------------------------------------------------------------------ PKI

def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(key, path):
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _cert(subject_cn, key, issuer_cn, issuer_key, ca=False, server=False):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(_name(subject_cn)).issuer_name(_name(issuer_cn))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH] + ([ExtendedKeyUsageOID.SERVER_AUTH] if server else [])
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def make_pki(directory, prefix=""):
    """CA, server and client certificates; returns a dict of paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert(prefix + "etcd-ca", ca_key, prefix + "etcd-ca", ca_key, ca=True)
    paths["cacert"] = directory / (prefix + "ca.pem")
    paths["cacert"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for role, server in (("server", True), ("client", False)):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(prefix + role, key, prefix + "etcd-ca", ca_key, server=server)
        paths[role + "_cert"] = directory / ("%s%s.pem" % (prefix, role))
        paths[role + "_cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        paths[role + "_key"] = directory / ("%s%s-key.pem" % (prefix, role))
        _write_key(key, paths[role + "_key"])
    return dict((k, str(v)) for k, v in paths.items())


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    base = tmp_path_factory.mktemp("pki")
    good = make_pki(base)
    wrong = make_pki(base / "wrong", prefix="wrong-")
    good["wrong"] = wrong
    return good


# ------------------------------------------------------------------------------------------ etcd

class Member:
    def __init__(self, name, base, pki, client_port, peer_port):
        self.name = name
        self.pki = pki
        self.data_dir = str(base / ("%s.etcd" % name))
        self.client_port = client_port
        self.peer_port = peer_port
        self.endpoint = "https://127.0.0.1:%d" % client_port
        self.peer_url = "http://127.0.0.1:%d" % peer_port
        self.log = str(base / ("%s.log" % name))
        self.proc = None

    def argv(self, initial_cluster, token, state="new"):
        return [ETCD, "--name", self.name, "--data-dir", self.data_dir,
                "--listen-client-urls", self.endpoint, "--advertise-client-urls", self.endpoint,
                "--listen-peer-urls", self.peer_url, "--initial-advertise-peer-urls", self.peer_url,
                "--initial-cluster", initial_cluster, "--initial-cluster-token", token,
                "--initial-cluster-state", state,
                "--cert-file", self.pki["server_cert"], "--key-file", self.pki["server_key"],
                "--client-cert-auth", "--trusted-ca-file", self.pki["cacert"],
                "--quota-backend-bytes", str(2 * 1024 ** 3)]

    def start(self, initial_cluster, token):
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith("ETCD"))
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.argv(initial_cluster, token), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        return self.proc.pid

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


class Cluster:
    """One or more etcd members on loopback; `ctl(...)` runs etcdctl with the client certificate."""

    def __init__(self, base, pki, names):
        self.base = base
        self.pki = pki
        ports = free_ports(2 * len(names))
        self.members = [Member(n, base, pki, ports[2 * i], ports[2 * i + 1]) for i, n in enumerate(names)]
        self.token = "test-%d" % os.getpid()

    @property
    def initial_cluster(self):
        return ",".join("%s=%s" % (m.name, m.peer_url) for m in self.members)

    @property
    def endpoint(self):
        return self.members[0].endpoint

    def start(self):
        for m in self.members:
            m.start(self.initial_cluster, self.token)
        self.wait_healthy()

    def stop(self):
        for m in self.members:
            m.stop()

    def tls_args(self):
        return ["--cacert", self.pki["cacert"], "--cert", self.pki["client_cert"], "--key", self.pki["client_key"]]

    def ctl(self, *args, endpoint=None, check=True, input=None):
        argv = [ETCDCTL, "--endpoints", endpoint or self.endpoint] + self.tls_args() + list(args)
        return subprocess.run(argv, env=dict(os.environ, ETCDCTL_API="3"), capture_output=True, text=True,
                              check=check, input=input, timeout=120)

    def wait_healthy(self, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            ok = all(self.ctl("endpoint", "health", endpoint=m.endpoint, check=False).returncode == 0 for m in self.members)
            if ok:
                return
            if time.monotonic() > deadline:
                logs = {m.name: open(m.log).read()[-2000:] for m in self.members}
                raise AssertionError("etcd did not become healthy: %s" % logs)
            time.sleep(0.3)

    def put_keys(self, count, prefix="/registry/test/", value_size=16):
        """Writes `count` keys through etcdctl's stdin-free `put`, batched in transactions."""
        batch = 100
        for start in range(0, count, batch):
            ops = "".join('put %s%06d "%s"\n' % (prefix, i, "v%05d" % i + "x" * max(value_size - 6, 0))
                          for i in range(start, min(start + batch, count)))
            self.ctl("txn", input="\n" + ops + "\n\n")

    def revision_and_count(self):
        out = self.ctl("get", "", "--prefix", "--keys-only", "--limit=1", "-w", "json").stdout
        data = json.loads(out)
        return int(data["header"]["revision"]), int(data.get("count", 0))


@pytest.fixture
def etcd1(tmp_path, pki):
    cluster = Cluster(tmp_path / "etcd", pki, ["m1"])
    (tmp_path / "etcd").mkdir()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def etcd3(tmp_path, pki):
    cluster = Cluster(tmp_path / "etcd", pki, ["m1", "m2", "m3"])
    (tmp_path / "etcd").mkdir()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def _snapshot_args(cluster, dest, **extra):
    args = dict(endpoint=cluster.endpoint, cacert=cluster.pki["cacert"], cert=cluster.pki["client_cert"],
                key=cluster.pki["client_key"], dest=str(dest), cluster_name="itest")
    args.update(extra)
    return args


@pytest.fixture
def snapshot_args():
    """snapshot_args(cluster, dest, **extra) -> etcd_snapshot arguments for that cluster."""
    return _snapshot_args


@pytest.fixture
def run_module(capsys):
    """run_module(module, args, check_mode=False) -> the module's result dict, run in-process."""

    def run(module, args, check_mode=False):
        args = dict(args)
        if check_mode:
            args["_ansible_check_mode"] = True
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                module.main()
        return json.loads(capsys.readouterr().out)

    return run
