"""Tiny HTTP(S) endpoints for the components: /healthz, /livez, /readyz, /metrics, in a thread."""

import signal
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve(bind, port, routes, certfile=None, keyfile=None):
    """Serve routes {path: callable() -> (status, content_type, body str)}; returns the server."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            handler = routes.get(self.path.split("?", 1)[0])
            if handler is None:
                status, ctype, body = 404, "text/plain", "404 page not found\n"
            else:
                status, ctype, body = handler()
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            return

    server = ThreadingHTTPServer((bind, int(port)), Handler)
    server.daemon_threads = True
    if certfile and keyfile:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certfile, keyfile)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def ok():
    return 200, "text/plain; charset=utf-8", "ok"


def split_host_port(value, default_host, default_port):
    """'0.0.0.0:10256' -> ('0.0.0.0', 10256); '' -> defaults; '10.0.0.1' -> (that, default_port)."""
    if not value:
        return default_host, default_port
    if value.count(":") == 1:
        host, port = value.split(":")
        return host or default_host, int(port or default_port)
    return value, default_port


def parse_duration(text, default):
    """Go durations the lab uses: '40s', '1m', '500ms', '1m30s', '2h' -> seconds (float)."""
    if not text:
        return default
    total, num = 0.0, ""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isdigit() or ch == ".":
            num += ch
            i += 1
            continue
        unit = "ms" if text[i:i + 2] == "ms" else ch
        i += len(unit)
        if unit not in units or not num:
            return default
        total += float(num) * units[unit]
        num = ""
    if num:
        total += float(num)
    return total


def install_stop(stop):
    """SIGTERM/SIGINT set the stop event (graceful shutdown, exit 0)."""
    def handler(_signum, _frame):
        stop.set()
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
