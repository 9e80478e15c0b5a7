# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark the manifest scan of deprecated_apis, and the memory of a paginated live scan.

1. Writes a tree of OBJECTS Kubernetes objects (multi-document YAML files in nested directories,
   some List kinds and JSON files, a share of them in removed API versions) to a temp dir, then
   times, alternating over several rounds, the collection's scan against bare
   `yaml.load_all(..., Loader=yaml.CSafeLoader)` over the same files. Target: ratio <= 1.5.
2. Live scan: when a lab apiserver can be started (lab/emulator), stores LIVE_OBJECTS Deployments
   in it and measures the peak memory (tracemalloc and ru_maxrss growth) of a scan that lists them
   in pages. Target: < 200 MiB. Otherwise prints that it was skipped and why.

Prints figures; asserts nothing. Usage: python benchmarks/scan_manifests.py [--objects N] [--rounds R]
"""

import argparse
import gc
import json
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
# tests/conftest.py makes ansible_collections.clusterops.k8s_upgrade importable from the checkout.
import conftest  # noqa: E402,F401 pylint: disable=unused-import,wrong-import-position

import yaml  # noqa: E402

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import api_scan  # noqa: E402

KINDS = (
    ("apps/v1", "Deployment"), ("extensions/v1beta1", "Deployment"), ("v1", "Service"),
    ("v1", "ConfigMap"), ("networking.k8s.io/v1beta1", "Ingress"), ("batch/v1beta1", "CronJob"),
    ("rbac.authorization.k8s.io/v1", "Role"), ("apps/v1beta2", "StatefulSet"),
)


def make_object(i, rng):
    api_version, kind = rng.choice(KINDS)
    obj = {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": "obj-%d" % i, "namespace": "ns-%d" % (i % 37), "labels": {"app": "app-%d" % (i % 101), "tier": "web"}},
    }
    if kind in ("Deployment", "StatefulSet"):
        obj["spec"] = {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "app-%d" % i}},
            "template": {
                "metadata": {"labels": {"app": "app-%d" % i}},
                "spec": {"containers": [{
                    "name": "main", "image": "registry.example/app:%d" % i,
                    "ports": [{"containerPort": 8080, "name": "http"}],
                    "env": [{"name": "K%d" % k, "value": "v%d" % k} for k in range(4)],
                    "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
                }]},
            },
        }
    elif kind == "ConfigMap":
        obj["data"] = dict(("key%d" % k, "value %d" % k) for k in range(6))
    else:
        obj["spec"] = {"rules": [{"host": "h%d.example" % i, "port": 80}], "selector": {"app": "a"}}
    return obj


def generate_tree(base, objects, per_file=50, seed=7):
    rng = random.Random(seed)
    files = []
    i = 0
    n_file = 0
    while i < objects:
        count = min(per_file, objects - i)
        folder = os.path.join(base, "team-%02d" % (n_file % 20), "app-%03d" % (n_file // 20 % 50))
        os.makedirs(folder, exist_ok=True)
        docs = [make_object(i + k, rng) for k in range(count)]
        i += count
        if n_file % 10 == 9:  # some JSON List files
            path = os.path.join(folder, "list-%d.json" % n_file)
            with open(path, "w") as handle:
                json.dump({"apiVersion": "v1", "kind": "List", "items": docs}, handle, indent=2)
        else:
            path = os.path.join(folder, "objects-%d.yaml" % n_file)
            with open(path, "w") as handle:
                yaml.dump_all(docs, handle, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), default_flow_style=False)
        files.append(path)
        n_file += 1
    return files


def bare(files):
    count = 0
    for path in files:
        with open(path, "rb") as handle:
            for doc in yaml.load_all(handle, Loader=yaml.CSafeLoader):
                count += 1
    return count


def scan(base):
    sink = api_scan.Findings(api_scan.ApiTable("1.22"))
    api_scan.scan_paths([base], sink)
    return sink


def timed(func, *args):
    gc.collect()
    start = time.perf_counter()
    result = func(*args)
    return time.perf_counter() - start, result


def manifest_benchmark(objects, rounds):
    base = tempfile.mkdtemp(prefix="scan-bench-")
    try:
        start = time.perf_counter()
        files = generate_tree(base, objects)
        size = sum(os.path.getsize(f) for f in files)
        print("tree: %d objects in %d files, %.1f MiB (generated in %.1f s)" % (
            objects, len(files), size / 1048576.0, time.perf_counter() - start))
        print("libyaml (CSafeLoader) in use by the scan: %s" % (api_scan._Loader.__name__ == "CSafeLoader"))
        bare_times, scan_times = [], []
        sink = None
        for rnd in range(rounds):
            order = (("bare", bare, files), ("scan", scan, base))
            if rnd % 2:
                order = order[::-1]
            for name, func, arg in order:
                elapsed, result = timed(func, arg)
                (bare_times if name == "bare" else scan_times).append(elapsed)
                if name == "scan":
                    sink = result
            print("round %d: bare load_all %.2f s, scan %.2f s" % (rnd + 1, bare_times[-1], scan_times[-1]))
        summary = sink.summary()
        print("scan found %d findings (%s), %d documents, %d errors" % (
            summary["total"], summary["by_status"], summary["documents"], summary["errors"]))
        best_ratio = min(scan_times) / min(bare_times)
        median_ratio = statistics.median(scan_times) / statistics.median(bare_times)
        print("bare load_all: best %.2f s, median %.2f s" % (min(bare_times), statistics.median(bare_times)))
        print("scan:          best %.2f s, median %.2f s" % (min(scan_times), statistics.median(scan_times)))
        print("ratio scan/bare: best %.2f, median %.2f (target <= 1.5)" % (best_ratio, median_ratio))
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _lab_server():
    """tests/integration/apis/lab_server.py: starts the lab apiserver against a local etcd."""
    import importlib.util
    path = os.path.join(ROOT, "tests", "integration", "apis", "lab_server.py")
    spec = importlib.util.spec_from_file_location("apis_lab_server", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def live_child(kubeconfig, page_size):
    """Runs in a fresh process so its peak RSS is the scan's own."""
    from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.k8s_api import KubeApi
    rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    start = time.perf_counter()
    sink = api_scan.Findings(api_scan.ApiTable("1.16"))
    listed = api_scan.scan_cluster(KubeApi({"kubeconfig": kubeconfig}), sink, page_size=page_size)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(json.dumps({"elapsed": elapsed, "tracemalloc_peak": peak, "rss_start_kib": rss_start,
                      "rss_peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "objects": sum(entry["objects"] for entry in listed), "findings": sink.summary()["total"]}))


def live_benchmark(objects, page_size):
    import subprocess
    try:
        lab_server = _lab_server()
        with lab_server.running("1.15.12") as server:
            start = time.perf_counter()
            server.create_deployments(objects)
            print("live scan: lab apiserver %s, %d Deployments seeded in %.1f s" % (
                server.version, objects, time.perf_counter() - start))
            proc = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--live-child", server.kubeconfig(), "--page-size", str(page_size)],
                capture_output=True, text=True, timeout=3600, check=False)
            if proc.returncode != 0:
                raise RuntimeError("the scan process failed: %s" % proc.stderr[-2000:])
            out = json.loads(proc.stdout.strip().splitlines()[-1])
    except Exception as exc:  # a benchmark reports, it does not crash
        print("live scan: SKIPPED - the lab apiserver could not be used: %s" % exc)
        return
    print("live scan: %d objects listed in pages of %d in %.1f s; %d findings" % (
        out["objects"], page_size, out["elapsed"], out["findings"]))
    print("live scan peak RSS of the scanning process: %.1f MiB (%.1f MiB at start; target < 200 MiB)" % (
        out["rss_peak_kib"] / 1024.0, out["rss_start_kib"] / 1024.0))
    print("live scan peak Python heap (tracemalloc): %.1f MiB" % (out["tracemalloc_peak"] / 1048576.0))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--live-objects", type=int, default=50000)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--skip-live", action="store_true")
    parser.add_argument("--skip-manifests", action="store_true")
    parser.add_argument("--live-child", metavar="KUBECONFIG", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.live_child:
        live_child(args.live_child, args.page_size)
        return
    if not args.skip_manifests:
        manifest_benchmark(args.objects, args.rounds)
    if args.skip_live:
        print("live scan: SKIPPED (--skip-live)")
    else:
        live_benchmark(args.live_objects, args.page_size)


if __name__ == "__main__":
    main()
