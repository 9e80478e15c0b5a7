"""The lab CA issues what etcd, the apiserver and the clients need (checked with cryptography)."""

import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from lab import faults, mirror, pki


def _cert(pem):
    return x509.load_pem_x509_certificate(pem)


def test_ca_persists(tmp_path):
    ca = pki.CA.load_or_create(str(tmp_path))
    again = pki.CA.load_or_create(str(tmp_path))
    assert ca.cert_pem == again.cert_pem
    assert oct((tmp_path / "ca.key").stat().st_mode & 0o777) == "0o600"


def test_apiserver_cert_sans_and_chain(tmp_path):
    ca = pki.CA.load_or_create(str(tmp_path))
    dns, ips = pki.apiserver_sans("cp1", "10.213.19.11", "10.213.19.1")
    _key, crt = ca.issue("kube-apiserver", dns=dns, ips=ips, server=True)
    cert = _cert(crt)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) >= {"cp1", "localhost", "kubernetes.default.svc.cluster.local"}
    assert {str(i) for i in san.get_values_for_type(x509.IPAddress)} == {
        "10.213.19.11", "10.213.19.1", "127.0.0.1", "10.96.0.1"}
    assert ExtendedKeyUsageOID.SERVER_AUTH in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert cert.issuer == ca.cert.subject
    ca.cert.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
    assert ipaddress.ip_address("10.96.0.1") in san.get_values_for_type(x509.IPAddress)


def test_component_subjects():
    assert pki.component_subject("kubelet", "node2") == ("system:node:node2", ("system:nodes",))
    assert pki.component_subject("admin", "x") == ("admin", ("system:masters",))
    assert pki.component_subject("kube-scheduler", "cp1") == ("system:kube-scheduler", ())
    assert pki.component_subject("kube-proxy", "node1") == ("system:kube-proxy", ())


def test_client_cert_subject(tmp_path):
    ca = pki.CA.load_or_create(str(tmp_path))
    _key, crt = ca.issue("system:node:node1", ("system:nodes",), client=True)
    cert = _cert(crt)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "system:node:node1"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:nodes"


def test_fault_binary_swap_and_restore(tmp_path):
    rel = tmp_path / mirror.artifact_relpath("1.16.15", "kubelet")
    rel.parent.mkdir(parents=True)
    rel.write_bytes(b"good")
    (tmp_path / (mirror.artifact_relpath("1.16.15", "kubelet") + ".sha256")).write_text("abc")
    st = {"mirror_dir": str(tmp_path), "topology": [["node1", "node", "10.213.19.101"]], "faults": []}
    msg = faults.apply(st, "binary-exits", component="kubelet", version="v1.16.15")
    assert msg == "fault on: binary-exits kubelet v1.16.15" and st["faults"] == ["binary-exits kubelet v1.16.15"]
    assert rel.read_bytes() != b"good"
    assert mirror.faulted_binaries(str(tmp_path)) == [mirror.artifact_relpath("1.16.15", "kubelet")]
    faults.apply(st, "binary-exits", component="kubelet", version="1.16.15", restore=True)
    assert rel.read_bytes() == b"good" and st["faults"] == []


def test_fault_refuses_wrong_host_role():
    st = {"topology": [["node1", "node", "10.213.19.101"]], "faults": []}
    try:
        faults.apply(st, "etcd-refuse-snapshots", host="node1")
    except faults.FaultError as exc:
        assert "control-plane" in str(exc)
    else:
        raise AssertionError("a node has no etcd member")


def test_crl_revokes_exactly_the_given_serials(tmp_path):
    ca = pki.CA.load_or_create(str(tmp_path))
    revoked = _cert(ca.issue("etcd-client", client=True)[1])
    kept = _cert(ca.issue("kube-apiserver-etcd-client", client=True)[1])
    crl = x509.load_pem_x509_crl(pki.crl_pem(ca, [revoked.serial_number]))
    assert crl.is_signature_valid(ca.cert.public_key())
    assert crl.get_revoked_certificate_by_serial_number(revoked.serial_number) is not None
    assert crl.get_revoked_certificate_by_serial_number(kept.serial_number) is None


def test_etcd_fault_dropin_points_at_the_crl():
    text = faults.etcd_fault_dropin()
    assert "[Service]\nEnvironment=ETCD_CLIENT_CRL_FILE=/etc/etcd/pki/lab-fault-operators.crl\n" in text
