"""lab.machines.stop against real processes: a container manager that ignores SIGTERM and whose child
(the container's init) runs in a session of its own, as systemd-nspawn's does."""

import contextlib
import os
import signal
import subprocess
import sys
import textwrap

from lab import cli, machines, net

# Plays systemd-nspawn: starts an "init" in a new session, prints its PID, then ignores SIGTERM (a hung
# container manager) unless told to exit on it.
FAKE_NSPAWN = textwrap.dedent("""\
    import signal, subprocess, sys, time
    init = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
    if sys.argv[1] == "hang":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: (init.terminate(), init.wait(), sys.exit(0)))
    print(init.pid, flush=True)
    time.sleep(300)
""")


@contextlib.contextmanager
def fake_nspawn(tmp_path, name, mode):
    """(the fake manager's Popen, its init's PID); both are killed afterwards, whatever the test did."""
    script = tmp_path / "fake_nspawn.py"
    script.write_text(FAKE_NSPAWN)
    nspawn = tmp_path / "systemd-nspawn"  # is_nspawn looks at argv[0]
    if not nspawn.exists():
        nspawn.symlink_to(os.path.realpath(sys.executable))
    proc = subprocess.Popen([str(nspawn), str(script), mode, "-M", net.machine_name(name)],
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    init = int(proc.stdout.readline())
    try:
        yield proc, init
    finally:
        for pid in (proc.pid, init):
            if machines.pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        proc.wait()


def test_a_hung_container_manager_is_killed_with_the_containers_init(tmp_path):
    with fake_nspawn(tmp_path, "node1", "hang") as (proc, init):
        assert machines.is_nspawn(proc.pid, "node1")
        machines.stop("node1", proc.pid, timeout=1)
        proc.wait(timeout=5)
        # the init is reaped by whoever adopted it; gone or a zombie both count as stopped
        assert not machines.pid_alive(init)


def test_a_clean_stop_leaves_the_init_to_the_container_manager(tmp_path):
    with fake_nspawn(tmp_path, "node2", "clean") as (proc, init):
        machines.stop("node2", proc.pid, timeout=5)
        assert proc.wait(timeout=5) == 0
        assert not machines.pid_alive(init)


def test_a_process_that_is_not_this_machines_manager_is_left_alone(tmp_path):
    with fake_nspawn(tmp_path, "node3", "hang") as (proc, init):
        machines.stop("other", proc.pid, timeout=1)
        assert machines.pid_alive(proc.pid) and machines.pid_alive(init)


def test_a_lost_machines_manager_is_found_by_an_argument_of_its_command_line(tmp_path):
    with fake_nspawn(tmp_path, "node4", "hang") as (proc, init):
        assert cli.nspawn_pids_for(net.machine_name("node4")) == [proc.pid]
        assert cli.nspawn_pids_for(net.machine_name("node5")) == []
        assert init not in cli.nspawn_pids_for(net.machine_name("node4"))
