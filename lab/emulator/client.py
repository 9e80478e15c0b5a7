"""A small Kubernetes API client for the emulated components (stdlib + PyYAML).

Kubeconfig with embedded (-data) or file certificates, TLS verified against the cluster CA, client
certificate or bearer token; get/list/create/update/merge-patch/strategic-patch/delete; watch
streams with reconnect (re-list on 410 Gone); a keep-alive connection per thread.
"""

import base64
import http.client
import json
import os
import ssl
import tempfile
import threading
import time
from urllib.parse import quote, urlencode, urlsplit

try:
    import yaml
except ImportError:  # pragma: no cover - the lab hosts have python3-yaml
    yaml = None

from lab.emulator import klog


class ApiError(Exception):
    def __init__(self, status, body, method="", path=""):
        self.status = status
        self.body = body if isinstance(body, dict) else {"message": str(body)}
        self.reason = self.body.get("reason", "")
        Exception.__init__(self, "%s %s: %s %s" % (method, path, status, self.body.get("message", body)))


class Gone(ApiError):
    """410: the resourceVersion is too old; re-list."""


def _read_data_or_file(entry, key, base_dir):
    if entry.get(key + "-data"):
        return base64.b64decode(entry[key + "-data"])
    if entry.get(key):
        path = entry[key]
        if not os.path.isabs(path):
            path = os.path.join(base_dir, path)
        with open(path, "rb") as handle:
            return handle.read()
    return None


def load_kubeconfig(path):
    """-> dict(server, ca (bytes|None), cert (bytes|None), key (bytes|None), token, insecure)."""
    with open(path) as handle:
        text = handle.read()
    config = yaml.safe_load(text) if yaml else json.loads(text)
    base_dir = os.path.dirname(os.path.abspath(path))
    contexts = {c["name"]: c["context"] for c in config.get("contexts") or []}
    context = contexts.get(config.get("current-context")) or (list(contexts.values()) or [{}])[0]
    clusters = {c["name"]: c["cluster"] for c in config.get("clusters") or []}
    users = {u["name"]: u.get("user") or {} for u in config.get("users") or []}
    cluster = clusters.get(context.get("cluster")) or list(clusters.values())[0]
    user = users.get(context.get("user")) or (list(users.values()) or [{}])[0]
    return {
        "server": cluster["server"],
        "ca": _read_data_or_file(cluster, "certificate-authority", base_dir),
        "insecure": bool(cluster.get("insecure-skip-tls-verify")),
        "cert": _read_data_or_file(user, "client-certificate", base_dir),
        "key": _read_data_or_file(user, "client-key", base_dir),
        "token": user.get("token"),
    }


def ssl_context(ca=None, cert=None, key=None, insecure=False):
    """Client SSL context from PEM bytes (written to a private temp dir only while loading)."""
    ctx = ssl.create_default_context()
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif ca:
        ctx = ssl.create_default_context(cadata=ca.decode("ascii"))
    if cert and key:
        with tempfile.TemporaryDirectory(prefix="lab-client-") as tmp:
            cert_path, key_path = os.path.join(tmp, "c.pem"), os.path.join(tmp, "k.pem")
            for path, data in ((cert_path, cert), (key_path, key)):
                with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as handle:
                    handle.write(data)
            ctx.load_cert_chain(cert_path, key_path)
    return ctx


def path_for(group_version, resource, namespace=None, name=None, subresource=None):
    """/api/v1/namespaces/NS/pods/NAME/status etc."""
    base = "/api/v1" if group_version == "v1" else "/apis/" + group_version
    parts = [base]
    if namespace:
        parts.append("namespaces/" + quote(namespace))
    parts.append(resource)
    if name:
        parts.append(quote(name))
    if subresource:
        parts.append(subresource)
    return "/".join(parts)


class Client(object):
    def __init__(self, server, ca=None, cert=None, key=None, token=None, insecure=False, user_agent="lab", timeout=30):
        split = urlsplit(server)
        self.scheme = split.scheme
        self.host = split.hostname
        self.port = split.port or (443 if split.scheme == "https" else 80)
        self.token = token
        self.timeout = timeout
        self.user_agent = user_agent
        self.ctx = ssl_context(ca, cert, key, insecure) if self.scheme == "https" else None
        self._local = threading.local()

    @classmethod
    def from_kubeconfig(cls, path, user_agent="lab", timeout=30):
        conf = load_kubeconfig(path)
        return cls(conf["server"], conf["ca"], conf["cert"], conf["key"], conf["token"], conf["insecure"],
                   user_agent=user_agent, timeout=timeout)

    def _connection(self, timeout=None):
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=timeout or self.timeout)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout or self.timeout)

    def _headers(self, content_type=None):
        headers = {"Accept": "application/json", "User-Agent": self.user_agent}
        if content_type:
            headers["Content-Type"] = content_type
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        return headers

    def request(self, method, path, body=None, query=None, content_type="application/json"):
        """One request; returns the decoded JSON body. Raises ApiError on >= 400."""
        if query:
            path = path + ("&" if "?" in path else "?") + urlencode(query)
        data = json.dumps(body).encode() if body is not None else None
        for attempt in (0, 1):
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = self._local.conn = self._connection()
            try:
                conn.request(method, path, body=data, headers=self._headers(content_type if data else None))
                resp = conn.getresponse()
                raw = resp.read()
                break
            except (http.client.HTTPException, OSError):
                conn.close()
                self._local.conn = None
                if attempt:
                    raise
        try:
            decoded = json.loads(raw.decode() or "{}")
        except ValueError:
            decoded = {"message": raw.decode(errors="replace")}
        if resp.status >= 400:
            cls = Gone if resp.status == 410 else ApiError
            raise cls(resp.status, decoded, method, path)
        return decoded

    # Verbs -------------------------------------------------------------------------------------
    def get(self, path, **query):
        return self.request("GET", path, query=query or None)

    def get_or_none(self, path):
        try:
            return self.get(path)
        except ApiError as err:
            if err.status == 404:
                return None
            raise

    def list(self, path, **query):
        """All items of a list, following `continue`; returns (items, resourceVersion)."""
        items, cont = [], None
        while True:
            q = dict(query)
            q.setdefault("limit", 500)
            if cont:
                q["continue"] = cont
            page = self.get(path, **q)
            items.extend(page.get("items") or [])
            meta = page.get("metadata") or {}
            cont = meta.get("continue")
            if not cont:
                return items, meta.get("resourceVersion", "")

    def create(self, path, obj):
        return self.request("POST", path, obj)

    def update(self, path, obj):
        return self.request("PUT", path, obj)

    def merge_patch(self, path, patch):
        return self.request("PATCH", path, patch, content_type="application/merge-patch+json")

    def strategic_patch(self, path, patch):
        return self.request("PATCH", path, patch, content_type="application/strategic-merge-patch+json")

    def delete(self, path, body=None):
        try:
            return self.request("DELETE", path, body)
        except ApiError as err:
            if err.status == 404:
                return None
            raise

    # Watch -------------------------------------------------------------------------------------
    def watch_once(self, path, resource_version, timeout_seconds=60, stop=None, **query):
        """Yield (type, object) from one watch request until it ends or stop is set."""
        q = dict(query)
        q.update({"watch": "true", "resourceVersion": resource_version, "timeoutSeconds": timeout_seconds,
                  "allowWatchBookmarks": "true"})
        conn = self._connection(timeout=timeout_seconds + 15)
        try:
            conn.request("GET", path + "?" + urlencode(q), headers=self._headers())
            resp = conn.getresponse()
            if resp.status >= 400:
                raw = resp.read()
                try:
                    body = json.loads(raw.decode() or "{}")
                except ValueError:
                    body = {"message": raw.decode(errors="replace")}
                raise (Gone if resp.status == 410 else ApiError)(resp.status, body, "WATCH", path)
            while not (stop and stop.is_set()):
                line = resp.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    continue
                event = json.loads(line.decode())
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    if status.get("code") == 410:
                        raise Gone(410, status, "WATCH", path)
                    raise ApiError(status.get("code", 500), status, "WATCH", path)
                yield event.get("type"), event.get("object") or {}
        finally:
            conn.close()

    def list_watch(self, path, on_list, on_event, stop, timeout_seconds=60, **query):
        """Informer loop: list (calls on_list(items)), then watch (on_event(type, obj)); reconnect and
        re-list on errors until stop is set."""
        rv = None
        while not stop.is_set():
            try:
                if rv is None:
                    items, rv = self.list(path, **query)
                    on_list(items)
                for etype, obj in self.watch_once(path, rv, timeout_seconds, stop, **query):
                    new_rv = (obj.get("metadata") or {}).get("resourceVersion")
                    if new_rv:
                        rv = new_rv
                    if etype != "BOOKMARK":
                        on_event(etype, obj)
            except Gone:
                rv = None
            except (ApiError, OSError, http.client.HTTPException, ValueError) as err:
                klog.v(2, "watch %s: %s; retrying" % (path, err), "reflector.go:138")
                rv = None
                stop.wait(1.0)


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def now_micro():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06dZ" % int((t % 1) * 1e6)


def parse_time(text):
    """RFC 3339 (with optional fraction) -> epoch seconds; 0 on nothing."""
    if not text:
        return 0.0
    import calendar
    main, dummy, frac = text.rstrip("Z").partition(".")
    base = calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S"))
    return base + (float("0." + frac) if frac else 0.0)
