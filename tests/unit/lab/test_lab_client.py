"""The components' API client: kubeconfig forms, TLS verification, paths, time formats, watch."""

import base64
import datetime
import ipaddress
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from lab.emulator import client as api


def _cert(cn, issuer_key=None, issuer_name=None, ca=False, san=None):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name or name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    return key, cert, cert.public_bytes(serialization.Encoding.PEM), pem_key


@pytest.fixture(scope="module")
def pki():
    ca_key, ca_cert, ca_pem, _ca_key_pem = _cert("test-ca", ca=True)
    _k, _c, server_pem, server_key = _cert("server", ca_key, ca_cert.subject,
                                           san=[x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    _k, _c, client_pem, client_key = _cert("client", ca_key, ca_cert.subject)
    return {"ca": ca_pem, "server": (server_pem, server_key), "client": (client_pem, client_key)}


@pytest.fixture()
def server(pki, tmp_path):
    """An HTTPS server that answers GETs with a list and a watch stream, and echoes writes."""
    (tmp_path / "s.crt").write_bytes(pki["server"][0])
    (tmp_path / "s.key").write_bytes(pki["server"][1])
    (tmp_path / "ca.crt").write_bytes(pki["ca"])
    seen = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802
            seen.append(("GET", self.path, self.connection.getpeercert() is not None))
            if "watch=true" in self.path:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for event in ({"type": "ADDED", "object": {"metadata": {"name": "b", "resourceVersion": "8"}}},
                              {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "9"}}}):
                    line = (json.dumps(event) + "\n").encode()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.write(b"0\r\n\r\n")
            elif "/missing" in self.path:
                self._send(404, {"kind": "Status", "reason": "NotFound", "message": "not found"})
            elif "continue=" in self.path:
                self._send(200, {"items": [{"metadata": {"name": "a2"}}], "metadata": {"resourceVersion": "7"}})
            else:
                self._send(200, {"items": [{"metadata": {"name": "a1"}}], "metadata": {"continue": "x", "resourceVersion": "7"}})

        def do_PATCH(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(("PATCH", self.headers["Content-Type"], json.loads(body)))
            self._send(200, {"ok": True})

        def log_message(self, *args):
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(tmp_path / "s.crt"), str(tmp_path / "s.key"))
    ctx.load_verify_locations(str(tmp_path / "ca.crt"))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield "https://127.0.0.1:%d" % httpd.server_address[1], seen
    httpd.shutdown()


def _kubeconfig(tmp_path, server_url, pki, embedded):
    user = {}
    cluster = {"server": server_url}
    if embedded:
        cluster["certificate-authority-data"] = base64.b64encode(pki["ca"]).decode()
        user["client-certificate-data"] = base64.b64encode(pki["client"][0]).decode()
        user["client-key-data"] = base64.b64encode(pki["client"][1]).decode()
    else:
        (tmp_path / "ca.pem").write_bytes(pki["ca"])
        (tmp_path / "c.pem").write_bytes(pki["client"][0])
        (tmp_path / "k.pem").write_bytes(pki["client"][1])
        cluster["certificate-authority"] = "ca.pem"  # relative to the kubeconfig
        user["client-certificate"] = str(tmp_path / "c.pem")
        user["client-key"] = "k.pem"
    config = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
              "clusters": [{"name": "x", "cluster": cluster}], "users": [{"name": "u", "user": user}],
              "contexts": [{"name": "c", "context": {"cluster": "x", "user": "u"}}]}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.mark.parametrize("embedded", [True, False])
def test_kubeconfig_forms_and_verbs(server, pki, tmp_path, embedded):
    url, seen = server
    cl = api.Client.from_kubeconfig(_kubeconfig(tmp_path, url, pki, embedded))
    items, rv = cl.list("/api/v1/pods")
    assert [i["metadata"]["name"] for i in items] == ["a1", "a2"] and rv == "7"
    assert seen[0][2] is True  # the client certificate was presented
    assert cl.get_or_none("/api/v1/missing") is None
    with pytest.raises(api.ApiError) as err:
        cl.get("/api/v1/missing")
    assert err.value.status == 404 and err.value.reason == "NotFound"
    cl.strategic_patch("/api/v1/nodes/n", {"spec": {"unschedulable": True}})
    assert seen[-1] == ("PATCH", "application/strategic-merge-patch+json", {"spec": {"unschedulable": True}})
    events = list(cl.watch_once("/api/v1/pods", "7", timeout_seconds=5))
    assert [e[0] for e in events] == ["ADDED", "BOOKMARK"]


def test_tls_is_verified(server, tmp_path):
    url, _seen = server
    _k, _c, other_ca, _key = _cert("other-ca", ca=True)
    cl = api.Client(url, ca=other_ca)
    with pytest.raises(ssl.SSLError):
        cl.get("/api/v1/pods")


def test_paths_and_times():
    assert api.path_for("v1", "pods", "ns", "p", "status") == "/api/v1/namespaces/ns/pods/p/status"
    assert api.path_for("apps/v1", "deployments") == "/apis/apps/v1/deployments"
    assert api.parse_time("1970-01-01T00:01:00Z") == 60
    assert api.parse_time("1970-01-01T00:01:00.500000Z") == 60.5
    assert api.parse_time(api.now_micro()) > 0 and api.parse_time("") == 0
