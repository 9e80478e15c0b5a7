"""etcd v3 access through etcd's gRPC JSON gateway (POST /v3/kv/range|put|deleterange|txn, /v3/watch).

Stdlib only: it runs inside the lab hosts.  Keys and values travel base64-encoded; int64 fields come
back as JSON strings and zero values are omitted (proto3 JSON), so every read uses .get(..., default).
TLS with a client certificate when the endpoint is https.  Several endpoints: the first that answers
is used and a failing one is skipped on the next call (like the real apiserver's etcd client).
"""

import base64
import http.client
import json
import socket
import ssl
import threading
import time
from urllib.parse import urlsplit


class StoreError(Exception):
    """etcd could not be reached or refused the request."""


class Unavailable(StoreError):
    pass


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode('ascii')


def unb64(text):
    return base64.b64decode(text) if text else b''


def prefix_end(prefix):
    """The smallest key greater than every key starting with prefix (etcd's range_end for a prefix)."""
    if isinstance(prefix, str):
        prefix = prefix.encode()
    b = bytearray(prefix)
    for i in range(len(b) - 1, -1, -1):
        if b[i] < 0xff:
            b[i] += 1
            return bytes(b[:i + 1])
    return b'\0'


class KV(object):
    __slots__ = ('key', 'value', 'create_revision', 'mod_revision', 'version')

    def __init__(self, d):
        self.key = unb64(d.get('key')).decode()
        self.value = unb64(d.get('value'))
        self.create_revision = int(d.get('create_revision', 0))
        self.mod_revision = int(d.get('mod_revision', 0))
        self.version = int(d.get('version', 0))


class EtcdStore(object):
    def __init__(self, endpoints, cafile=None, certfile=None, keyfile=None, timeout=10.0):
        if isinstance(endpoints, str):
            endpoints = [e for e in endpoints.split(',') if e]
        if not endpoints:
            raise ValueError('no etcd endpoint given')
        self.endpoints = [urlsplit(e) for e in endpoints]
        self.timeout = timeout
        self._ctx = None
        if any(e.scheme == 'https' for e in self.endpoints):
            ctx = ssl.create_default_context(cafile=cafile)
            if certfile:
                ctx.load_cert_chain(certfile, keyfile)
            self._ctx = ctx
        self._local = threading.local()
        self._good = 0

    # --- plumbing -------------------------------------------------------------------------------------
    def _connect(self, ep, timeout):
        host, port = ep.hostname, ep.port or (2379)
        if ep.scheme == 'https':
            return http.client.HTTPSConnection(host, port, timeout=timeout, context=self._ctx)
        return http.client.HTTPConnection(host, port, timeout=timeout)

    def _conn(self, idx):
        conns = getattr(self._local, 'conns', None)
        if conns is None:
            conns = self._local.conns = {}
        c = conns.get(idx)
        if c is None:
            c = conns[idx] = self._connect(self.endpoints[idx], self.timeout)
        return c

    def _drop(self, idx):
        conns = getattr(self._local, 'conns', {})
        c = conns.pop(idx, None)
        if c is not None:
            c.close()

    def call(self, path, body):
        """POST one gateway request; tries each endpoint once, starting with the last good one."""
        data = json.dumps(body).encode()
        n = len(self.endpoints)
        last = None
        for attempt in range(n * 2):
            idx = (self._good + attempt) % n
            try:
                c = self._conn(idx)
                c.request('POST', path, body=data, headers={'Content-Type': 'application/json'})
                resp = c.getresponse()
                raw = resp.read()
            except (OSError, http.client.HTTPException, ssl.SSLError) as e:
                self._drop(idx)
                last = e
                continue
            self._good = idx
            try:
                out = json.loads(raw or b'{}')
            except ValueError:
                raise StoreError('etcd answered %s with non-JSON: %r' % (path, raw[:200]))
            if resp.status != 200:
                raise StoreError('etcd %s: HTTP %d: %s' % (path, resp.status, out.get('error') or out.get('message')))
            return out
        raise Unavailable('no etcd endpoint answered (%s): %s' % (
            ', '.join(e.geturl() for e in self.endpoints), last))

    # --- KV -------------------------------------------------------------------------------------------
    def range(self, key, range_end=None, limit=0, revision=0, keys_only=False, count_only=False):
        """Returns (list of KV, header revision, more, count)."""
        body = {'key': b64(key)}
        if range_end is not None:
            body['range_end'] = b64(range_end)
        if limit:
            body['limit'] = int(limit)
        if revision:
            body['revision'] = int(revision)
        if keys_only:
            body['keys_only'] = True
        if count_only:
            body['count_only'] = True
        out = self.call('/v3/kv/range', body)
        kvs = [KV(d) for d in out.get('kvs', [])]
        return kvs, int(out['header'].get('revision', 0)), bool(out.get('more')), int(out.get('count', 0))

    def get(self, key):
        kvs = self.range(key)[0]
        return kvs[0] if kvs else None

    def list_prefix(self, prefix, start=None, limit=0, revision=0):
        """Keys under prefix, from start (inclusive) on; returns (kvs, revision, more, count)."""
        return self.range(start or prefix, prefix_end(prefix), limit=limit, revision=revision)

    def items(self, prefix):
        """Every KV under prefix (one range request)."""
        return self.list_prefix(prefix)[0]

    def revision(self):
        return self.range('/', count_only=True)[1]

    def put(self, key, value):
        out = self.call('/v3/kv/put', {'key': b64(key), 'value': b64(value)})
        return int(out['header'].get('revision', 0))

    def txn(self, compare, success, failure=()):
        out = self.call('/v3/kv/txn', {'compare': list(compare), 'success': list(success), 'failure': list(failure)})
        return bool(out.get('succeeded')), out

    def create(self, key, value, lease=0):
        """Put only if the key does not exist. Returns the new revision, or None if it existed."""
        put = {'key': b64(key), 'value': b64(value)}
        if lease:
            put['lease'] = str(lease)
        ok, out = self.txn([{'key': b64(key), 'target': 'CREATE', 'result': 'EQUAL', 'create_revision': '0'}],
                           [{'request_put': put}])
        return int(out['header'].get('revision', 0)) if ok else None

    def grant_lease(self, ttl):
        """A new etcd lease of ttl seconds; returns its ID."""
        return int(self.call('/v3/lease/grant', {'TTL': int(ttl)}).get('ID', 0))

    def compact(self, revision):
        """Compact the key history up to revision (what the apiserver's compactor does)."""
        self.call('/v3/kv/compaction', {'revision': int(revision)})

    def update(self, key, value, mod_revision, lease=0):
        """Put only if the key's mod_revision is still mod_revision. Returns the new revision or None."""
        put = {'key': b64(key), 'value': b64(value)}
        if lease:
            put['lease'] = str(lease)
        ok, out = self.txn([{'key': b64(key), 'target': 'MOD', 'result': 'EQUAL', 'mod_revision': str(mod_revision)}],
                           [{'request_put': put}])
        return int(out['header'].get('revision', 0)) if ok else None

    def put_many(self, items, max_ops=128):
        """Unconditional puts of (key, value) pairs in transactions of max_ops (etcd's default limit)."""
        rev = 0
        items = list(items)
        for i in range(0, len(items), max_ops):
            ops = [{'request_put': {'key': b64(k), 'value': b64(v)}} for k, v in items[i:i + max_ops]]
            out = self.txn([], ops)[1]
            rev = int(out['header'].get('revision', 0))
        return rev

    def delete(self, key, mod_revision=None):
        """Delete key (only if unchanged since mod_revision when given). Returns the revision or None."""
        if mod_revision is None:
            out = self.call('/v3/kv/deleterange', {'key': b64(key)})
            return int(out['header'].get('revision', 0)) if int(out.get('deleted', 0)) else None
        ok, out = self.txn([{'key': b64(key), 'target': 'MOD', 'result': 'EQUAL', 'mod_revision': str(mod_revision)}],
                           [{'request_delete_range': {'key': b64(key)}}])
        return int(out['header'].get('revision', 0)) if ok else None

    def delete_prefix(self, prefix):
        out = self.call('/v3/kv/deleterange', {'key': b64(prefix), 'range_end': b64(prefix_end(prefix))})
        return int(out.get('deleted', 0))

    def healthy(self):
        try:
            self.range('/registry/health-probe', count_only=True)
            return True
        except StoreError:
            return False

    # --- watch ---------------------------------------------------------------------------------------
    def _open_stream(self, ep, path, body):
        host, port = ep.hostname, ep.port or 2379
        sock = socket.create_connection((host, port), timeout=self.timeout)
        if ep.scheme == 'https':
            sock = self._ctx.wrap_socket(sock, server_hostname=host)
        data = json.dumps(body).encode()
        sock.sendall(('POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n'
                      'Content-Length: %d\r\n\r\n' % (path, host, port, len(data))).encode() + data)
        return sock

    def watch(self, prefix, start_revision, stop=None, timeout=None):
        """Yield (type, KV, prev KV or None) for changes under prefix from start_revision on.

        type is 'PUT' or 'DELETE'.  Yields None after each second of silence so the caller can notice
        its client going away.  Ends when stop() is true or timeout seconds passed; raises
        StoreError('compacted') when start_revision is gone.
        """
        body = {'create_request': {'key': b64(prefix), 'range_end': b64(prefix_end(prefix)),
                                   'start_revision': int(start_revision), 'prev_kv': True}}
        deadline = time.time() + timeout if timeout else None
        last = None
        for attempt in range(len(self.endpoints)):
            idx = (self._good + attempt) % len(self.endpoints)
            try:
                sock = self._open_stream(self.endpoints[idx], '/v3/watch', body)
            except OSError as e:
                last = e
                continue
            break
        else:
            raise Unavailable('no etcd endpoint answered the watch: %s' % last)
        sock.settimeout(1.0)
        raw = b''       # bytes from the socket not yet de-chunked
        body_buf = b''  # de-chunked body not yet parsed as JSON
        headers_done = False
        decoder = json.JSONDecoder()
        try:
            while True:
                if stop is not None and stop():
                    return
                if deadline is not None and time.time() > deadline:
                    return
                try:
                    chunk = sock.recv(65536)
                except socket.timeout:
                    yield None
                    continue
                except OSError as e:
                    raise Unavailable('etcd watch broke: %s' % e)
                if not chunk:
                    raise Unavailable('etcd closed the watch')
                raw += chunk
                if not headers_done:
                    if b'\r\n\r\n' not in raw:
                        continue
                    head, raw = raw.split(b'\r\n\r\n', 1)
                    status = head.split(b'\r\n', 1)[0].split()
                    if len(status) < 2 or status[1] != b'200':
                        raise StoreError('etcd watch: %s' % head.split(b'\r\n', 1)[0].decode('latin-1'))
                    headers_done = True
                # de-chunk (the gateway always answers chunked)
                while True:
                    nl = raw.find(b'\r\n')
                    if nl < 0:
                        break
                    size = int(raw[:nl].split(b';')[0] or b'0', 16)
                    if len(raw) < nl + 2 + size + 2:
                        break
                    if size == 0:
                        raise Unavailable('etcd ended the watch')
                    body_buf += raw[nl + 2:nl + 2 + size]
                    raw = raw[nl + 2 + size + 2:]
                while True:
                    text = body_buf.lstrip()
                    if not text:
                        body_buf = b''
                        break
                    try:
                        msg, end = decoder.raw_decode(text.decode('utf-8'))
                    except ValueError:
                        body_buf = text
                        break
                    body_buf = text[len(text.decode('utf-8')[:end].encode('utf-8')):]
                    if 'error' in msg:
                        raise StoreError('etcd watch: %s' % msg['error'])
                    res = msg.get('result', msg)
                    if int(res.get('compact_revision', 0)):
                        raise StoreError('compacted')
                    for ev in res.get('events', []):
                        prev = KV(ev['prev_kv']) if ev.get('prev_kv') else None
                        yield (ev.get('type', 'PUT'), KV(ev['kv']), prev)
        finally:
            sock.close()
