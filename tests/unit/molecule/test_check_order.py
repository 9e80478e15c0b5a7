"""molecule/control_plane/check_order.py on synthetic journal exports (the order the upgrade promises)."""

import importlib.util
import json
import os

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "molecule", "control_plane", "check_order.py")
SPEC = importlib.util.spec_from_file_location("check_order", SCRIPT)
check_order = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(check_order)

UNIT_MESSAGES = {"started": "Started {}.", "stopping": "Stopping {}...", "stopped": "Stopped {}."}


def write_journals(folder, steps):
    """STEPS: [(host, unit, kind)] in time order -> one journalctl -o json export per host."""
    lines = {}
    for tick, (host, unit, kind) in enumerate(steps, start=1):
        if kind == "serving":
            entry = {"_SYSTEMD_UNIT": unit, "MESSAGE": "Serving securely on [::]:6443"}
        else:
            entry = {"_PID": "1", "UNIT": unit, "MESSAGE": UNIT_MESSAGES[kind].format(unit)}
        entry["__REALTIME_TIMESTAMP"] = str(1_000_000 * tick)
        lines.setdefault(host, []).append(json.dumps(entry))
    for host, entries in lines.items():
        (folder / f"{host}.json").write_text("\n".join(entries) + "\n")


CM, API, KUBELET = "kube-controller-manager.service", "kube-apiserver.service", "kubelet.service"
STOP_CM = [("cp1", CM, "stopping"), ("cp1", CM, "stopped")]
UPGRADE_API = [("cp1", API, "stopping"), ("cp1", API, "stopped"), ("cp1", API, "started"), ("cp1", API, "serving")]
UPGRADE_KUBELET = [("node1", KUBELET, "stopping"), ("node1", KUBELET, "started")]
START_CM = [("cp1", CM, "started")]


@pytest.mark.parametrize("steps, broken", [
    # The seed order: stop, apiserver, kubelet, start.
    (STOP_CM + UPGRADE_API + UPGRADE_KUBELET + START_CM, None),
    # A failed run started the controller-manager again; the re-run stopped it first: still kept.
    (STOP_CM + UPGRADE_API + START_CM + STOP_CM + UPGRADE_API + UPGRADE_KUBELET + START_CM, None),
    # The upstream order: the controller-manager runs while the kubelet restarts.
    (STOP_CM + UPGRADE_API + START_CM + UPGRADE_KUBELET, "kubelet of node1 restarted"),
    # The apiserver restarted while the controller-manager ran.
    (UPGRADE_API + UPGRADE_KUBELET + START_CM, "apiserver of cp1 stopped"),
    # Never started again after the nodes.
    (STOP_CM + UPGRADE_API + UPGRADE_KUBELET, "no controller-manager was started after the last kubelet"),
])
def test_check_order(tmp_path, capsys, steps, broken):
    write_journals(tmp_path, [("cp1", CM, "started"), ("node1", KUBELET, "started")] + steps)
    if broken is None:
        check_order.main(str(tmp_path))
        assert capsys.readouterr().out.splitlines()[-1].startswith("OK:")
    else:
        with pytest.raises(SystemExit) as exc:
            check_order.main(str(tmp_path))
        assert broken in str(exc.value)
