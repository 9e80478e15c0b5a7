"""Time etcd_snapshot's save+verify against a bare `etcdctl snapshot save` of the same database.

Builds a database of at least --size-mib MiB in a throwaway etcd on free loopback ports, then runs
both, alternating which goes first, for --rounds rounds, and prints every time, the medians and
their ratio (the target is at most 1.15), then the time of a restore drill of the last snapshot.
With --encrypt it also times the encrypted save. It prints figures; it does not assert.

    .venv/bin/python benchmarks/etcd_snapshot.py [--size-mib 256] [--rounds 5] [--encrypt]
"""

import argparse
import base64
import concurrent.futures
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
# tests/conftest.py makes ansible_collections.clusterops.k8s_upgrade importable from the checkout.
import conftest  # noqa: E402,F401 pylint: disable=unused-import,wrong-import-position

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import etcd_drill, etcd_snapshot  # noqa: E402

VALUE = 512 * 1024


def free_ports(count):
    socks = []
    for _i in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def run(argv):
    env = dict(os.environ, **etcd_snapshot.C_ENV)
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    return done.returncode, done.stdout, done.stderr


def start_etcd(etcd, work):
    client_port, peer_port = free_ports(2)
    client, peer = "http://127.0.0.1:%d" % client_port, "http://127.0.0.1:%d" % peer_port
    argv = [etcd, "--name=bench", "--data-dir=%s" % os.path.join(work, "data"),
            "--listen-client-urls=%s" % client, "--advertise-client-urls=%s" % client,
            "--listen-peer-urls=%s" % peer, "--initial-advertise-peer-urls=%s" % peer,
            "--initial-cluster=bench=%s" % peer, "--quota-backend-bytes=%d" % (8 * 1024 ** 3),
            "--snapshot-count=1000000"]
    log = open(os.path.join(work, "etcd.log"), "wb")
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith("ETCD"))
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                            start_new_session=True)
    log.close()
    return proc, client, client_port


def put(port, key, value):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    body = json.dumps({"key": base64.b64encode(key).decode(), "value": base64.b64encode(value).decode()})
    conn.request("POST", "/v3/kv/put", body, {"Content-Type": "application/json"})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    if resp.status != 200:
        raise RuntimeError("put %s: HTTP %d" % (key, resp.status))


def fill(port, size_mib):
    count = (size_mib * 1024 * 1024) // VALUE + 16
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: put(port, b"/registry/bench/%06d" % i, os.urandom(VALUE)), range(count)))
    return count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--encrypt", action="store_true", help="also time the encrypted save")
    parser.add_argument("--work-dir", help="where the database and snapshots go (default: a temp dir)")
    args = parser.parse_args()

    etcd, etcdctl = shutil.which("etcd"), shutil.which("etcdctl")
    if not (etcd and etcdctl):
        sys.exit("etcd and etcdctl are needed (Debian: etcd-server, etcd-client)")
    tools = etcd_snapshot.Tools(etcdctl=etcdctl, etcdutl=shutil.which("etcdutl"), etcd=etcd)
    work = tempfile.mkdtemp(prefix="etcd-snapshot-bench-", dir=args.work_dir)
    proc = None
    try:
        proc, client, port = start_etcd(etcd, work)
        conn = etcd_snapshot.Connection(client)
        for _i in range(100):
            if run(etcd_snapshot.endpoint_status_argv(tools, conn))[0] == 0:
                break
            time.sleep(0.1)
        t = time.monotonic()
        keys = fill(port, args.size_mib)
        status = etcd_snapshot.parse_endpoint_status(run(etcd_snapshot.endpoint_status_argv(tools, conn))[1])
        print("database: %d keys of %d KiB, db size %.1f MiB, filled in %.1f s; etcd %s, %s layout"
              % (keys, VALUE // 1024, status["db_size"] / 1048576.0, time.monotonic() - t, status["version"], tools.layout))

        dest = os.path.join(work, "snapshots")
        os.mkdir(dest)
        bare_times, module_times, enc_times = [], [], []
        last = None

        def bare():
            path = os.path.join(work, "bare.db")
            t0 = time.monotonic()
            rc, _out, err = run(etcd_snapshot.save_argv(tools, conn, path))
            elapsed = time.monotonic() - t0
            if rc != 0:
                raise RuntimeError(err)
            os.unlink(path)
            return elapsed

        def module():
            # keep=0: retention is not part of save+verify; like the bare file, the previous
            # snapshot is deleted outside the timing.
            for name in os.listdir(dest):
                os.unlink(os.path.join(dest, name))
            t0 = time.monotonic()
            result = etcd_snapshot.save(run, tools, conn, dest, "bench", keep=0)
            return time.monotonic() - t0, result

        for n in range(args.rounds):
            if n % 2 == 0:
                b = bare()
                m, last = module()
            else:
                m, last = module()
                b = bare()
            bare_times.append(b)
            module_times.append(m)
            line = "round %d: bare etcdctl save %.3f s, module save+verify %.3f s (ratio %.3f; %s)" % (
                n + 1, b, m, m / b, ", ".join("%s %.2f" % kv for kv in sorted(last["timings"].items())))
            if args.encrypt:
                t0 = time.monotonic()
                enc = etcd_snapshot.save(run, tools, conn, dest, "bench-encrypted", secret=b"benchmark passphrase")
                e = time.monotonic() - t0
                enc_times.append(e)
                os.unlink(enc["path"])
                os.unlink(enc["sha256_path"])
                line += ", encrypted %.3f s" % e
            print(line, flush=True)
            time.sleep(1.1)  # one snapshot name per second

        mb, mm = statistics.median(bare_times), statistics.median(module_times)
        print("snapshot: %s, %.1f MiB, revision %d, %d keys"
              % (os.path.basename(last["path"]), last["size"] / 1048576.0, last["revision"], last["key_count"]))
        print("median: bare %.3f s, module %.3f s, ratio %.3f (target <= 1.15); median of the per-round ratios %.3f"
              % (mb, mm, mm / mb, statistics.median(m / b for m, b in zip(module_times, bare_times))))
        if enc_times:
            me = statistics.median(enc_times)
            print("median encrypted: %.3f s, ratio to bare %.3f" % (me, me / mb))

        result = etcd_drill.drill(run, tools, last["path"], expected_sha256=last["sha256"],
                                  expected_revision=last["revision"], expected_key_count=last["key_count"],
                                  work_parent=work)
        print("restore drill: %.3f s (etcd up and keys read back %.3f s after the restore), %d keys at revision %d"
              % (result["seconds"], result["etcd_start_seconds"], result["key_count"], result["revision"]))
    finally:
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
