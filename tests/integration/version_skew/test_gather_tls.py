"""version_skew gathering from real HTTPS endpoints through the real KubeApi/kubernetes client.

Two small HTTPS servers stand in for two kube-apiservers (each its own /version) and serve the
Node list in pages of one (limit/continue), with a certificate from a throwaway CA. Nothing is
mocked between the module and the socket: TLS verification, the bearer token and pagination are
the client's own.
"""

import datetime
import http.server
import ipaddress
import json
import os
import ssl
import subprocess
import sys
import threading
from urllib.parse import parse_qs, urlparse

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible.module_utils.common import warnings as ansible_warnings
from ansible.module_utils.testing import patch_module_args

from ansible_collections.clusterops.k8s_upgrade.plugins.modules import version_skew as module

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TOKEN = "integration-token"


def _cert(subject, issuer_key, key, issuer=None, ca=False):
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer or name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(hours=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("test-ca", ca_key, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _cert("kube-apiserver", ca_key, key, issuer=ca.subject)
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "server.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return folder


NODES = [
    {"metadata": {"name": "n1"}, "status": {"nodeInfo": {"kubeletVersion": "v1.27.16", "kubeProxyVersion": "v1.27.16"}}},
    {"metadata": {"name": "n2"}, "status": {"nodeInfo": {"kubeletVersion": "v1.26.15", "kubeProxyVersion": "v1.26.15"}}},
    {"metadata": {"name": "n3"}, "status": {"nodeInfo": {"kubeletVersion": "v1.29.4", "kubeProxyVersion": ""}}},
]


def make_server(pki, version, log):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            url = urlparse(self.path)
            log.append((self.server.server_port, url.path, parse_qs(url.query), self.headers.get("Authorization")))
            if self.headers.get("Authorization") != "Bearer " + TOKEN:
                return self._send(401, {"kind": "Status", "code": 401})
            if url.path == "/version":
                return self._send(200, {"major": "1", "minor": version.split(".")[1], "gitVersion": "v" + version})
            # discovery, which the kubernetes client's dynamic client reads when it starts
            if url.path == "/api":
                return self._send(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
            if url.path == "/apis":
                return self._send(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": []})
            if url.path == "/api/v1/nodes":
                query = parse_qs(url.query)
                start = int(query.get("continue", ["0"])[0])
                limit = int(query.get("limit", ["500"])[0])
                page = NODES[start:start + min(limit, 1)]  # pages of one node, whatever the limit
                meta = {"continue": str(start + 1)} if start + 1 < len(NODES) else {}
                return self._send(200, {"kind": "NodeList", "apiVersion": "v1", "metadata": meta, "items": page})
            return self._send(404, {"kind": "Status", "code": 404})

        def _send(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(pki / "server.pem"), str(pki / "server.key"))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def apiservers(pki, request):
    log = []
    servers = [make_server(pki, "1.29.4", log), make_server(pki, "1.29.3", log)]

    def stop():
        for server, thread in servers:
            server.shutdown()
            server.server_close()
            thread.join(5)

    request.addfinalizer(stop)
    return ["https://127.0.0.1:%d" % server.server_port for server, _thread in servers], log


def run_in_process(capsys, monkeypatch, args):
    monkeypatch.setattr(ansible_warnings, "_global_warnings", {})
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


def test_gathers_over_tls_with_pagination(apiservers, pki, capsys, monkeypatch):
    endpoints, log = apiservers
    result = run_in_process(capsys, monkeypatch, dict(
        target_version="1.30.0", host=endpoints[0], api_key=TOKEN, ca_cert=str(pki / "ca.pem"),
        apiserver_endpoints=endpoints))
    ports = [int(e.rsplit(":", 1)[1]) for e in endpoints]
    assert [c for c in result["components"] if c["component"] == "kube-apiserver"] == [
        {"component": "kube-apiserver", "host": "127.0.0.1:%d" % ports[0], "version": "v1.29.4"},
        {"component": "kube-apiserver", "host": "127.0.0.1:%d" % ports[1], "version": "v1.29.3"},
    ]
    # each endpoint asked directly for its own /version, with the token
    version_calls = [(port, auth) for port, path, _q, auth in log if path == "/version"]
    assert set(version_calls) >= {(ports[0], "Bearer " + TOKEN), (ports[1], "Bearer " + TOKEN)}
    # the Node list followed every continue token
    node_pages = [q.get("continue", [None])[0] for _p, path, q, _a in log if path == "/api/v1/nodes"]
    assert node_pages == [None, "1", "2"]
    assert all(q.get("limit") == ["500"] for _p, path, q, _a in log if path == "/api/v1/nodes")
    # n2's kubelet 1.26 is 4 minors behind 1.30: the plan fails on it
    assert result["failed"]
    assert sorted(set(v["host"] for v in result["violations"])) == ["n2"]
    assert "kubelet-too-old" in result["msg"]
    warnings = [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]
    assert any("1 node reports no status.nodeInfo.kubeProxyVersion" in w for w in warnings)


def test_tls_verification_is_on_by_default(apiservers, capsys, monkeypatch):
    endpoints, _log = apiservers
    result = run_in_process(capsys, monkeypatch, dict(
        target_version="1.30.0", host=endpoints[0], api_key=TOKEN, apiserver_endpoints=endpoints))
    assert result["failed"]
    assert "cannot gather the component versions" in result["msg"] and "CERTIFICATE_VERIFY_FAILED" in result["msg"]


def test_in_a_playbook(apiservers, pki, tmp_path):
    """The module as Ansible runs it (AnsiballZ, module_utils shipped with it)."""
    endpoints, _log = apiservers
    playbook = tmp_path / "skew.yml"
    playbook.write_text(json.dumps([{
        "name": "Plan from the live cluster",
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [
            {"name": "Plan", "register": "skew", "clusterops.k8s_upgrade.version_skew": {
                "target_version": "1.30.0", "host": endpoints[0], "api_key": TOKEN,
                "ca_cert": str(pki / "ca.pem"), "apiserver_endpoints": endpoints,
                "accept": ["kubelet-too-old", "kube-proxy-skew"]}},
            {"name": "Check", "ansible.builtin.assert": {"that": [
                "skew is not changed",
                "skew.hops == ['1.30']",
                "skew.violations | map(attribute='rule') | unique | sort == ['kube-proxy-skew', 'kubelet-too-old']",
                "skew.violations | rejectattr('accepted') | list == []",
                "skew.plan | map(attribute='kind') | list == ['preflight', 'apiserver', 'apiserver', 'addons', 'kubelets']",
            ]}},
        ],
    }]))
    subprocess.run([os.path.join(ROOT, "scripts", "dev-collection.sh")], check=True)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                           "-c", "local", str(playbook)], capture_output=True, text=True, env=env, cwd=ROOT,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok=2" in proc.stdout
