"""Check, from the hosts' journals, the order the control-plane upgrade promised.

Usage: check_order.py DIR, where DIR holds one `journalctl -o json` export per host, named HOST.json,
with the units kube-apiserver, kube-controller-manager (control-plane hosts) and kubelet (nodes).
Prints the events it used and exits 1 naming the first broken promise:
  1. every kube-controller-manager is stopped whenever an apiserver is stopped for its upgrade;
  2. at no moment are two apiservers down together (down: from "Stopping" until it serves again);
  3. no controller-manager runs when a kubelet restarts during the upgrade, and they start again
     after the last kubelet restart. (A failed run may start them again in between, at the release
     they had: the next run stops them again before it touches an apiserver.)
"""

import json
import os
import sys


def events(path, host):
    result = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            entry = json.loads(line)
            message = entry.get("MESSAGE")
            if isinstance(message, list):  # journald exports non-UTF-8 messages as byte lists
                message = bytes(message).decode("utf-8", "replace")
            message = message or ""
            when = int(entry["__REALTIME_TIMESTAMP"])
            unit = entry.get("UNIT") or entry.get("_SYSTEMD_UNIT") or ""
            if entry.get("_PID") == "1" and entry.get("UNIT"):
                for prefix, kind in (("Started ", "started"), ("Stopping ", "stopping"), ("Stopped ", "stopped")):
                    if message.startswith(prefix):
                        result.append((when, host, entry["UNIT"], kind))
            elif unit == "kube-apiserver.service" and "Serving securely" in message:
                result.append((when, host, unit, "serving"))
    return result


def main(folder):
    all_events = []
    for name in sorted(os.listdir(folder)):
        if name.endswith(".json"):
            all_events += events(os.path.join(folder, name), name[:-5])
    all_events.sort()
    for when, host, unit, kind in all_events:
        print("%d %-6s %-32s %s" % (when, host, unit, kind))
    cm_hosts = sorted(set(event[1] for event in all_events if event[2] == "kube-controller-manager.service"))
    if not cm_hosts:
        sys.exit("no kube-controller-manager events: the journals were not read")
    cm_running = dict((h, True) for h in cm_hosts)
    api_down = {}
    upgrade_started = None
    last_kubelet = None
    cm_starts = []
    for when, host, unit, kind in all_events:
        if unit == "kube-controller-manager.service":
            if kind == "started":
                cm_running[host] = True
                if upgrade_started is not None:
                    cm_starts.append((when, host))
            elif kind in ("stopping", "stopped"):
                cm_running[host] = False
        elif unit == "kube-apiserver.service":
            if kind == "stopping":
                upgrade_started = when if upgrade_started is None else upgrade_started
                running = [h for h, up in cm_running.items() if up]
                if running:
                    sys.exit("BROKEN: the apiserver of %s stopped at %d while the controller-manager of %s ran"
                             % (host, when, ", ".join(running)))
                api_down[host] = when
                if len(api_down) > 1:
                    sys.exit("BROKEN: apiservers of %s were down together at %d" % (", ".join(sorted(api_down)), when))
            elif kind == "serving":
                api_down.pop(host, None)
        elif unit == "kubelet.service" and kind == "started" and upgrade_started is not None:
            running = [h for h, up in cm_running.items() if up]
            if running:
                sys.exit("BROKEN: the kubelet of %s restarted at %d while the controller-manager of %s ran"
                         % (host, when, ", ".join(running)))
            last_kubelet = when
    if upgrade_started is None:
        sys.exit("no apiserver was restarted: nothing was upgraded")
    if last_kubelet is None:
        sys.exit("no kubelet was restarted during the upgrade")
    if not [w for w, _h in cm_starts if w > last_kubelet]:
        sys.exit("no controller-manager was started after the last kubelet restart at %d" % last_kubelet)
    print("OK: controller-managers stopped before the first apiserver restart, one apiserver down at a time, "
          "controller-managers started after the last kubelet (%d events)" % len(all_events))


if __name__ == "__main__":
    main(sys.argv[1])
