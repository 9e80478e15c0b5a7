"""Emulated kube-proxy: watches Services and EndpointSlices/Endpoints (nothing is programmed), serves
/healthz on --healthz-bind-address (0.0.0.0:10256) and a minimal /metrics on --metrics-bind-address
(127.0.0.1:10249)."""

import json
import threading
import time

from lab.emulator import client as api
from lab.emulator import health, klog
from lab.emulator.informer import Informer, path


def run(opts):
    stop = threading.Event()
    health.install_stop(stop)
    started = time.time()
    state = {"last_sync": time.time(), "services": 0}

    def healthz():
        body = {"lastUpdated": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(state["last_sync"])),
                "currentTime": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime())}
        return 200, "application/json", json.dumps(body)

    def metrics():
        text = ("# HELP kubeproxy_sync_proxy_rules_last_timestamp_seconds The last time proxy rules were synced\n"
                "# TYPE kubeproxy_sync_proxy_rules_last_timestamp_seconds gauge\n"
                "kubeproxy_sync_proxy_rules_last_timestamp_seconds %.3f\n"
                "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n"
                "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %.3f\n"
                "lab_kube_proxy_services %d\n" % (state["last_sync"], started, state["services"]))
        return 200, "text/plain; version=0.0.4", text

    host, port = health.split_host_port(opts.get("healthz-bind-address"), "0.0.0.0", 10256)
    health.serve(host, port, {"/healthz": healthz, "/livez": healthz})
    mhost, mport = health.split_host_port(opts.get("metrics-bind-address"), "127.0.0.1", 10249)
    health.serve(mhost, mport, {"/metrics": metrics, "/healthz": health.ok})
    klog.info('"Using iptables Proxier"', "server_others.go:206")
    if opts.get("kubeconfig"):
        cl = api.Client.from_kubeconfig(opts.get("kubeconfig"), user_agent="kube-proxy/v%s" % opts.version)

        def on_change(_etype, _obj):
            state["last_sync"] = time.time()
            state["services"] = len(services.list())

        services = Informer(cl, path("v1", "services"), stop, on_change).start()
    while not stop.is_set():
        stop.wait(5.0)
        state["last_sync"] = time.time()
    return 0
