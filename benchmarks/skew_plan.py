"""Plan the upgrade of a 5,000-node cluster (3 control-plane hosts) and print how long it takes.

Usage: python benchmarks/skew_plan.py [--nodes N] [--runs R]. Prints each run and the median;
exits 1 when the median is 1 s or more (the target of issue 2).
"""

import argparse
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
# tests/conftest.py makes ansible_collections.clusterops.k8s_upgrade importable from the checkout.
import conftest  # noqa: E402,F401 pylint: disable=unused-import,wrong-import-position

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.skew import plan_upgrade  # noqa: E402 pylint: disable=wrong-import-position

TARGET_SECONDS = 1.0


def cluster(nodes, current="1.29.4", kubelet="1.27.9"):
    components = []
    for index in range(1, 4):
        host = "master%d" % index
        for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kubelet",
                          "kube-proxy"):
            components.append({"component": component, "host": host, "version": current})
        components.append({"component": "etcd", "host": host, "version": "3.5.12"})
    for index in range(1, nodes + 1):
        host = "node%05d" % index
        components.append({"component": "kubelet", "host": host, "version": kubelet})
        components.append({"component": "kube-proxy", "host": host, "version": kubelet})
    return components


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    scenarios = [
        ("1.29.4 -> 1.30.14, kubelets 1.27 (passes)", cluster(args.nodes), "1.30.14", {}),
        ("1.10.13 -> 1.14.10 seed jump (every node violates)", cluster(args.nodes, "1.10.13", "1.10.13"), "1.14.10",
         {"accept": ["apiserver-skip-minor", "apiserver-ha-skew", "kubelet-too-old", "kube-proxy-skew",
                     "control-plane-too-old", "kubectl-skew"]}),
    ]
    worst = 0.0
    for title, components, target, kwargs in scenarios:
        times = []
        for _run in range(args.runs):
            start = time.perf_counter()
            result = plan_upgrade(components, target, **kwargs)
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        worst = max(worst, median)
        print("%s: %d nodes + 3 control-plane hosts, %d phases, %d violations" % (
            title, args.nodes, len(result["plan"]), len(result["violations"])))
        print("  runs: %s s" % ", ".join("%.3f" % t for t in times))
        print("  median: %.3f s (target < %.1f s)" % (median, TARGET_SECONDS))
    return 0 if worst < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
