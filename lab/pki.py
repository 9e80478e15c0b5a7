"""The lab's certificate authority and every certificate the hosts and clients use.

One CA signs everything (etcd server/peer, apiserver serving, component and admin client certs);
its key stays on the controller in the lab state dir. Keys are EC P-256: fast to make, and accepted
by etcd, Go TLS, OpenSSL, kubectl and the Python client alike.
"""

import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Names every apiserver certificate carries, besides the host and LB addresses.
APISERVER_DNS = ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                 "kubernetes.default.svc.cluster.local")
APISERVER_IPS = ("127.0.0.1", "10.96.0.1")
VALID_DAYS = 3650


def _name(cn, orgs=()):
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def new_key():
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def load_key(pem):
    return serialization.load_pem_private_key(pem, password=None)


def load_cert(pem):
    return x509.load_pem_x509_certificate(pem)


class CA:
    def __init__(self, key, cert):
        self.key = key
        self.cert = cert

    @classmethod
    def create(cls, cn="clusterops-lab-ca"):
        key = new_key()
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder()
                .subject_name(_name(cn)).issuer_name(_name(cn))
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                             content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False,
                                             encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        return cls(key, cert)

    @classmethod
    def load_or_create(cls, directory):
        """The CA kept in DIRECTORY (ca.key 0600, ca.crt), created on first use."""
        key_path = os.path.join(directory, "ca.key")
        crt_path = os.path.join(directory, "ca.crt")
        if os.path.exists(key_path) and os.path.exists(crt_path):
            with open(key_path, "rb") as k, open(crt_path, "rb") as c:
                return cls(load_key(k.read()), load_cert(c.read()))
        ca = cls.create()
        os.makedirs(directory, exist_ok=True)
        write_file(key_path, key_pem(ca.key), 0o600)
        write_file(crt_path, cert_pem(ca.cert), 0o644)
        return ca

    @property
    def cert_pem(self):
        return cert_pem(self.cert)

    def issue(self, cn, orgs=(), dns=(), ips=(), server=False, client=False):
        """Return (key_pem, cert_pem) for a leaf certificate."""
        key = new_key()
        now = datetime.datetime.now(datetime.timezone.utc)
        usages = []
        if server:
            usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
        if client:
            usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
        builder = (x509.CertificateBuilder()
                   .subject_name(_name(cn, orgs)).issuer_name(self.cert.subject)
                   .public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True,
                                                content_commitment=False, data_encipherment=False,
                                                key_agreement=False, key_cert_sign=False, crl_sign=False,
                                                encipher_only=False, decipher_only=False), critical=True)
                   .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                                  critical=False))
        sans = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return key_pem(key), cert_pem(cert)


def crl_pem(ca, serials, days=VALID_DAYS):
    """A certificate revocation list signed by CA that revokes SERIALS."""
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca.cert.subject)
               .last_update(now - datetime.timedelta(minutes=5)).next_update(now + datetime.timedelta(days=days)))
    for serial in serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now - datetime.timedelta(minutes=5))
            .build())
    return builder.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def apiserver_sans(hostname, host_ip, lb_ip):
    dns = [hostname] + list(APISERVER_DNS)
    ips = [host_ip, lb_ip] + list(APISERVER_IPS)
    return dns, list(dict.fromkeys(ips))


def component_subject(component, hostname):
    """(CN, O) of the client certificate each component presents, as kubeadm issues them."""
    if component == "kubelet":
        return f"system:node:{hostname}", ("system:nodes",)
    if component == "admin":
        return "admin", ("system:masters",)
    if component == "apiserver-etcd-client":
        return "kube-apiserver-etcd-client", ()
    if component == "apiserver-kubelet-client":
        return "kube-apiserver-kubelet-client", ("system:masters",)
    return f"system:{component}", ()


def write_file(path, data, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, mode)
