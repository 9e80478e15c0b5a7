"""Probe the apiservers through the load balancer every INTERVAL seconds and count failed requests.

  apiserver_probe.py start --kubeconfig KC --url URL --state DIR [--interval 0.1] [--timeout 2] [--max-seconds 3600]
      starts the probe in the background (detached) and prints its PID; it writes DIR/probe.pid
  apiserver_probe.py stop --state DIR
      stops it by that PID (SIGTERM), waits for DIR/probe.json and prints it

Each probe is one GET /api/v1/namespaces/kube-system on a NEW TCP+TLS connection (so every request goes
through the load balancer's choice of backend again), authenticated with the kubeconfig's client
certificate and checked against its CA. A request fails when it does not complete within TIMEOUT or
answers anything but 200; nothing is retried. probe.json: {url, interval, started, ended (epoch
seconds), requests, failures, failure_samples: [{at, error}], latency_ms: {p50, p99, max}}.
Standard library and PyYAML only.
"""

import argparse
import base64
import json
import os
import signal
import ssl
import sys
import tempfile
import time
import http.client
import urllib.parse

import yaml

PATH = "/api/v1/namespaces/kube-system"


def tls_context(kubeconfig, workdir):
    """An SSL context from the kubeconfig's current context (embedded or file credentials)."""
    with open(kubeconfig, encoding="utf-8") as handle:
        cfg = yaml.safe_load(handle)
    ctx_name = cfg.get("current-context")
    kctx = next(c["context"] for c in cfg["contexts"] if c["name"] == ctx_name)
    cluster = next(c["cluster"] for c in cfg["clusters"] if c["name"] == kctx["cluster"])
    user = next(u["user"] for u in cfg["users"] if u["name"] == kctx["user"])

    def material(entry, data_key, file_key, name):
        if entry.get(data_key):
            path = os.path.join(workdir, name)
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
                out.write(base64.b64decode(entry[data_key]))
            return path
        return entry[file_key]

    ctx = ssl.create_default_context(cafile=material(cluster, "certificate-authority-data", "certificate-authority", "ca.crt"))
    ctx.load_cert_chain(material(user, "client-certificate-data", "client-certificate", "client.crt"),
                        material(user, "client-key-data", "client-key", "client.key"))
    return ctx


def probe_once(host, port, ctx, timeout):
    conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=timeout)
    try:
        conn.request("GET", PATH, headers={"Accept": "application/json", "Connection": "close"})
        resp = conn.getresponse()
        resp.read()
        return None if resp.status == 200 else "HTTP %d" % resp.status
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        return "%s: %s" % (type(exc).__name__, exc)
    finally:
        conn.close()


def percentile(values, fraction):
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(fraction * len(values)))], 1)


def run(args):
    url = urllib.parse.urlsplit(args.url)
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))
    result = {"url": args.url, "path": PATH, "interval": args.interval, "started": time.time(),
              "requests": 0, "failures": 0, "failure_samples": []}
    latencies = []
    with tempfile.TemporaryDirectory(prefix="probe-") as workdir:
        ctx = tls_context(args.kubeconfig, workdir)
        deadline = time.monotonic() + args.max_seconds
        next_at = time.monotonic()
        while not stop["now"] and time.monotonic() < deadline:
            began = time.monotonic()
            error = probe_once(url.hostname, url.port or 443, ctx, args.timeout)
            latencies.append((time.monotonic() - began) * 1000)
            result["requests"] += 1
            if error:
                result["failures"] += 1
                if len(result["failure_samples"]) < 50:
                    result["failure_samples"].append({"at": time.time(), "error": error})
            next_at += args.interval
            time.sleep(max(0.0, next_at - time.monotonic()))
            if next_at < time.monotonic() - args.interval:  # fell behind (slow request): do not burst
                next_at = time.monotonic()
    result["ended"] = time.time()
    result["latency_ms"] = {"p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99),
                            "max": percentile(latencies, 1.0)}
    out = os.path.join(args.state, "probe.json")
    with open(out + ".part", "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)
    os.replace(out + ".part", out)


def start(args):
    os.makedirs(args.state, exist_ok=True)
    for name in ("probe.json", "probe.pid"):
        if os.path.exists(os.path.join(args.state, name)):
            os.unlink(os.path.join(args.state, name))
    pid = os.fork()
    if pid:
        for _attempt in range(100):  # the grandchild writes its PID
            if os.path.exists(os.path.join(args.state, "probe.pid")):
                break
            time.sleep(0.05)
        os.waitpid(pid, 0)
        with open(os.path.join(args.state, "probe.pid"), encoding="utf-8") as handle:
            print(handle.read().strip())
        return
    os.setsid()
    if os.fork():
        os._exit(0)  # pylint: disable=protected-access
    log = os.open(os.path.join(args.state, "probe.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    with open(os.path.join(args.state, "probe.pid.part"), "w", encoding="utf-8") as handle:
        handle.write(str(os.getpid()))
    os.replace(os.path.join(args.state, "probe.pid.part"), os.path.join(args.state, "probe.pid"))
    try:
        run(args)
    finally:
        os._exit(0)  # pylint: disable=protected-access


def stop(args):
    with open(os.path.join(args.state, "probe.pid"), encoding="utf-8") as handle:
        pid = int(handle.read().strip())
    out = os.path.join(args.state, "probe.json")
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass  # it ended on its own (max-seconds); its result is there
    for _attempt in range(200):
        if os.path.exists(out):
            break
        time.sleep(0.1)
    else:
        sys.exit("the probe (PID %d) left no %s; see probe.log beside it" % (pid, out))
    with open(out, encoding="utf-8") as handle:
        result = json.load(handle)
    print(json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--state", required=True, help="directory for probe.pid, probe.json and probe.log")
    parser.add_argument("--kubeconfig")
    parser.add_argument("--url", help="the load balancer, https://HOST:PORT")
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--max-seconds", type=float, default=3600.0, help="ends by itself after this long")
    args = parser.parse_args()
    if args.action == "start":
        if not args.kubeconfig or not args.url:
            parser.error("start needs --kubeconfig and --url")
        start(args)
    else:
        stop(args)


if __name__ == "__main__":
    main()
