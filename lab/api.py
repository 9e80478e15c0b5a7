"""A minimal HTTPS client for the lab apiserver, used by `up` (readiness, seeding) and `status`.

Controller side only; authenticates with the lab's admin client certificate.
"""

import json
import ssl
import time
import urllib.error
import urllib.request


class ApiError(Exception):
    def __init__(self, status, message):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


class Api:
    def __init__(self, server, ca, cert, key, timeout=15):
        self.server = server.rstrip("/")
        self.timeout = timeout
        self.ctx = ssl.create_default_context(cafile=ca)
        self.ctx.load_cert_chain(cert, key)

    def request(self, method, path, body=None, content_type="application/json"):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise ApiError(exc.code, exc.read().decode(errors="replace")[:500]) from exc
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode(errors="replace")

    def get(self, path):
        return self.request("GET", path)

    def create(self, path, body):
        """POST; an object that already exists is fine (seeding twice is safe). Returns True if created."""
        try:
            self.request("POST", path, body)
            return True
        except ApiError as exc:
            if exc.status == 409:
                return False
            raise

    def wait_ready(self, timeout=90):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                return self.get("/version")
            except (OSError, ApiError, ssl.SSLError) as exc:
                last = exc
                time.sleep(0.5)
        raise ApiError(0, f"apiserver at {self.server} not answering /version after {timeout} s: {last}")

    def wait_nodes_ready(self, names, timeout=90):
        deadline = time.monotonic() + timeout
        ready = set()
        while time.monotonic() < deadline:
            try:
                items = self.get("/api/v1/nodes").get("items", [])
            except (OSError, ApiError, ssl.SSLError):
                items = []
            ready = {n["metadata"]["name"] for n in items
                     if any(c.get("type") == "Ready" and c.get("status") == "True"
                            for c in n.get("status", {}).get("conditions", []))}
            if set(names) <= ready:
                return ready
            time.sleep(1)
        raise ApiError(0, f"nodes not Ready after {timeout} s: missing {sorted(set(names) - ready)}")
