"""Support for the lab apiserver tests: a real etcd with TLS on free loopback ports and the emulated kube-apiserver in front of it.

Each release under test gets its own etcd (objects of one release must not leak into another) and
its own apiserver process, started through the components' real entry point
(`python -m lab.emulator kube-apiserver --lab-version=X.Y.Z ...`) and stopped by PID.
"""

import datetime
import glob
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


# --- certificates --------------------------------------------------------------------------------------------
def _name(cn, orgs=()):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
                     + [x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


class Pki(object):
    """A throwaway CA in directory d; issue() writes NAME.crt/NAME.key and returns their paths."""

    def __init__(self, d):
        self.dir = d
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(_name('lab-test-ca')).issuer_name(_name('lab-test-ca'))
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(minutes=5))
                     .not_valid_after(now + datetime.timedelta(days=2))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.ca = os.path.join(d, 'ca.crt')
        with open(self.ca, 'wb') as f:
            f.write(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, name, cn, orgs=(), ips=(), dns=(), server=False):
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH] + ([ExtendedKeyUsageOID.SERVER_AUTH] if server else [])
        b = (x509.CertificateBuilder().subject_name(_name(cn, orgs)).issuer_name(self.cert.subject)
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
             .add_extension(x509.ExtendedKeyUsage(usages), critical=False))
        sans = [x509.DNSName(x) for x in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = b.sign(self.key, hashes.SHA256())
        crt, kp = os.path.join(self.dir, name + '.crt'), os.path.join(self.dir, name + '.key')
        with open(crt, 'wb') as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(kp, 'wb') as f:
            f.write(_pem_key(key))
        os.chmod(kp, 0o600)
        return crt, kp


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _stop(proc):
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)


# --- clients ---------------------------------------------------------------------------------------------------
def find_kubectl(minor=None):
    """A real kubectl: kubectl.1.NN beside the kubectl on PATH (the Google Cloud SDK layout), or kubectl."""
    names = ['kubectl.1.%d' % minor] if minor else []
    for n in names:
        p = shutil.which(n)
        if p:
            return p
    dirs = []
    for tool in ('kubectl', 'gcloud'):
        p = shutil.which(tool)
        if p:
            dirs.append(os.path.dirname(os.path.realpath(p)))
    for d in dirs:
        if minor:
            cands = glob.glob(os.path.join(d, 'kubectl.1.%d' % minor))
        else:
            cands = sorted(glob.glob(os.path.join(d, 'kubectl.1.*')), key=lambda x: int(x.rsplit('.', 1)[1]))
        if cands:
            return cands[-1]
    return shutil.which('kubectl') if not minor else None


class Lab(object):
    """One release's etcd + apiserver; client helpers for the tests."""

    def __init__(self, tmp, version, pki):
        self.version, self.pki, self.dir = version, pki, tmp
        self.minor = int(version.split('.')[1])
        self.procs = []
        self.etcd_cert = pki.issue('etcd-server', 'etcd', ips=['127.0.0.1'], dns=['localhost'], server=True)
        self.etcd_client = pki.issue('apiserver-etcd-client', 'kube-apiserver-etcd-client')
        self.serving = pki.issue('apiserver', 'kube-apiserver', ips=['127.0.0.1', '10.96.0.1'],
                                 dns=['localhost', 'kubernetes', 'kubernetes.default'], server=True)
        self.admin = pki.issue('admin', 'admin', orgs=['system:masters'])
        self.etcd_port, self.peer_port, self.port = free_port(), free_port(), free_port()
        self.url = 'https://127.0.0.1:%d' % self.port
        self.etcd_url = 'https://127.0.0.1:%d' % self.etcd_port

    def start_etcd(self):
        data = os.path.join(self.dir, 'etcd-data')
        log = open(os.path.join(self.dir, 'etcd.log'), 'wb')
        p = subprocess.Popen(['etcd', '--name', 'lab-test', '--data-dir', data,
                              '--listen-client-urls', self.etcd_url, '--advertise-client-urls', self.etcd_url,
                              '--listen-peer-urls', 'http://127.0.0.1:%d' % self.peer_port,
                              '--initial-advertise-peer-urls', 'http://127.0.0.1:%d' % self.peer_port,
                              '--initial-cluster', 'lab-test=http://127.0.0.1:%d' % self.peer_port,
                              '--cert-file', self.etcd_cert[0], '--key-file', self.etcd_cert[1],
                              '--client-cert-auth', '--trusted-ca-file', self.pki.ca,
                              '--quota-backend-bytes', str(2 * 1024 ** 3)],
                             stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(p)
        self.etcd_proc = p
        from lab.emulator.store import EtcdStore
        self.store = EtcdStore(self.etcd_url, self.pki.ca, *self.etcd_client)
        deadline = time.time() + 20
        while not self.store.healthy():
            if p.poll() is not None or time.time() > deadline:
                raise RuntimeError('etcd did not start: see %s' % log.name)
            time.sleep(0.2)

    def apiserver_flags(self):
        return ['--advertise-address=127.0.0.1', '--bind-address=127.0.0.1', '--secure-port=%d' % self.port,
                '--etcd-servers=%s' % self.etcd_url, '--etcd-cafile=%s' % self.pki.ca,
                '--etcd-certfile=%s' % self.etcd_client[0], '--etcd-keyfile=%s' % self.etcd_client[1],
                '--tls-cert-file=%s' % self.serving[0], '--tls-private-key-file=%s' % self.serving[1],
                '--client-ca-file=%s' % self.pki.ca, '--service-cluster-ip-range=10.96.0.0/12',
                '--authorization-mode=Node,RBAC', '--v=3']

    def start_apiserver(self):
        log = open(os.path.join(self.dir, 'apiserver.log'), 'wb')
        env = dict(os.environ, PYTHONPATH=ROOT)
        p = subprocess.Popen([sys.executable, '-m', 'lab.emulator', 'kube-apiserver', '--lab-version=' + self.version]
                             + self.apiserver_flags(), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
        self.procs.append(p)
        self.api_proc = p
        deadline = time.time() + 30
        while True:
            try:
                code, body = self.raw('GET', '/healthz', cert=None)
                if code == 200:
                    break
            except OSError:
                pass
            if p.poll() is not None or time.time() > deadline:
                raise RuntimeError('apiserver did not start:\n%s' % open(log.name).read()[-3000:])
            time.sleep(0.2)

    def stop(self):
        for p in reversed(self.procs):
            _stop(p)

    def ssl_context(self, cert='admin'):
        ctx = ssl.create_default_context(cafile=self.pki.ca)
        if cert == 'admin':
            ctx.load_cert_chain(*self.admin)
        elif cert:
            ctx.load_cert_chain(*cert)
        return ctx

    def raw(self, method, path, body=None, cert='admin', ctype='application/json', headers=None):
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header('Content-Type', ctype)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, context=self.ssl_context(cert), timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def call(self, method, path, body=None, **kw):
        code, raw = self.raw(method, path, body, **kw)
        try:
            return code, json.loads(raw) if raw else None
        except ValueError:
            return code, raw.decode()

    def kubeconfig(self, name='admin', cert=None):
        cert = cert or self.admin
        path = os.path.join(self.dir, name + '.kubeconfig')
        cfg = {'apiVersion': 'v1', 'kind': 'Config', 'current-context': 'lab',
               'clusters': [{'name': 'lab', 'cluster': {'server': self.url, 'certificate-authority': self.pki.ca}}],
               'users': [{'name': name, 'user': {'client-certificate': cert[0], 'client-key': cert[1]}}],
               'contexts': [{'name': 'lab', 'context': {'cluster': 'lab', 'user': name}}]}
        with open(path, 'w') as f:
            json.dump(cfg, f)
        return path

    def kubectl(self, *args, minor=None, check=True, input=None, timeout=120):
        exe = find_kubectl(minor)
        if exe is None:
            pytest.skip('no kubectl%s on this machine' % (' 1.%d' % minor if minor else ''))
        env = dict(os.environ, KUBECONFIG=self.kubeconfig(), HOME=self.dir)
        p = subprocess.run([exe] + list(args), capture_output=True, text=True, env=env, input=input, timeout=timeout,
                           check=False)
        if check and p.returncode != 0:
            raise AssertionError('kubectl %s failed (%d):\n%s\n%s' % (' '.join(args), p.returncode, p.stdout, p.stderr))
        return p


DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata: {name: NAME, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: NAME}}
  template:
    metadata: {labels: {app: NAME}}
    spec: {containers: [{name: c, image: "nginx:1.25"}]}
"""


def running_pod(lab, ns, name, node, labels=None, owner=None):
    """A pod as a kubelet reports it Running and Ready. No kubelet runs here to finish a graceful
    deletion, so its grace period is 0: eviction removes it at once."""
    pod = {'metadata': {'name': name, 'labels': labels or {}},
           'spec': {'nodeName': node, 'terminationGracePeriodSeconds': 0,
                    'containers': [{'name': 'c', 'image': 'busybox:1.36'}]}}
    if owner:
        pod['metadata']['ownerReferences'] = [owner]
    code, body = lab.call('POST', '/api/v1/namespaces/%s/pods' % ns, pod)
    assert code == 201, body
    code, body = lab.call('PATCH', '/api/v1/namespaces/%s/pods/%s/status' % (ns, name),
                          {'status': {'phase': 'Running', 'conditions': [{'type': 'Ready', 'status': 'True'}]}},
                          ctype='application/merge-patch+json')
    assert code == 200, body


def make_node(lab, name):
    node = {'apiVersion': 'v1', 'kind': 'Node', 'metadata': {'name': name, 'labels': {'kubernetes.io/hostname': name}},
            'status': {'conditions': [{'type': 'Ready', 'status': 'True', 'reason': 'KubeletReady'}],
                       'nodeInfo': {'kubeletVersion': 'v' + lab.version, 'kubeProxyVersion': 'v' + lab.version,
                                    'operatingSystem': 'linux', 'architecture': 'amd64'}}}
    code, body = lab.call('POST', '/api/v1/nodes', node)
    assert code in (201, 409), body
