"""Lab hosts: systemd-nspawn machines booted from the cached image, one overlayfs per machine.

Each machine's root is an overlay (lower: the cached image, read-only and shared; upper: the
machine's own changes), so a host costs a mount and a few files instead of a copy. Everything a
host needs (address, keys, certificates, units) is written into its layer before it boots, so
its services come up with it.
"""

import os
import shutil
import signal
import subprocess
import time
import uuid

from lab import net

RUN_ROOT = os.environ.get("LAB_RUN_ROOT", "/var/lib/clusterops-lab" + (f"-{net.LAB_ID}" if net.LAB_ID else ""))
SSH_OPTS = ("-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
            "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=3")


class MachineError(Exception):
    pass


def machine_dir(name, run_root=None):
    return os.path.join(run_root or RUN_ROOT, "machines", name)


def root_of(name, run_root=None):
    return os.path.join(machine_dir(name, run_root), "root")


def is_mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mounts", encoding="utf-8") as fh:
        return any(line.split()[1] == path for line in fh)


def overlay_options(lower, upper, work):
    return f"lowerdir={lower},upperdir={upper},workdir={work}"


def prepare(name, image, run_root=None):
    """Mount NAME's overlay root over IMAGE and return its path (idempotent)."""
    base = machine_dir(name, run_root)
    upper, work, root = (os.path.join(base, d) for d in ("upper", "work", "root"))
    for d in (upper, work, root):
        os.makedirs(d, exist_ok=True)
    if not is_mounted(root):
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o", overlay_options(image, upper, work), root],
                       check=True, capture_output=True, text=True)
    return root


def put(root, relpath, data, mode=0o644):
    """Write a file inside a machine's root (before or while it runs: it is the same mount)."""
    path = os.path.join(root, relpath.lstrip("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    tmp = path + ".lab-tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    return path


def enable_unit(root, unit, target="multi-user.target"):
    """What `systemctl enable` does for a unit with WantedBy=TARGET: a symlink in TARGET.wants."""
    wants = os.path.join(root, "etc/systemd/system", target + ".wants")
    os.makedirs(wants, exist_ok=True)
    link = os.path.join(wants, unit)
    src = f"/etc/systemd/system/{unit}"
    if not os.path.exists(os.path.join(root, src.lstrip("/"))):
        src = f"/lib/systemd/system/{unit}"
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(src, link)


def network_file(ip):
    # Sorted before systemd's 80-container-host0.network, so the static address wins over DHCP.
    return (f"[Match]\nName=host0\n\n[Network]\nAddress={ip}/{net.PREFIX}\nLinkLocalAddressing=no\n"
            "IPv6AcceptRA=no\n")


def hosts_file(topology):
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback", f"{net.HOST_IP}\tlab-controller"]
    lines += [f"{ip}\t{name}" for name, _role, ip in topology]
    return "\n".join(lines) + "\n"


def host_keys(root):
    """A host key of this machine's own (the image's keys would be shared by every host)."""
    ssh_dir = os.path.join(root, "etc/ssh")
    for kind in ("rsa", "ecdsa", "ed25519"):
        for suffix in ("", ".pub"):
            path = os.path.join(ssh_dir, f"ssh_host_{kind}_key{suffix}")
            if os.path.lexists(path):
                os.unlink(path)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "root@lab",
                    "-f", os.path.join(ssh_dir, "ssh_host_ed25519_key")], check=True, capture_output=True)
    # sshd reads every HostKey it is told about; name only the one that exists.
    put(root, "etc/ssh/sshd_config.d/10-lab-hostkey.conf", "HostKey /etc/ssh/ssh_host_ed25519_key\n")


def base_files(root, name, ip, topology, authorized_key):
    put(root, "etc/hostname", name + "\n")
    put(root, "etc/machine-id", uuid.uuid4().hex + "\n", 0o444)
    put(root, "etc/systemd/network/10-host0.network", network_file(ip))
    put(root, "etc/hosts", hosts_file(topology))
    put(root, "root/.ssh/authorized_keys", authorized_key.strip() + "\n", 0o600)
    host_keys(root)
    os.chmod(os.path.join(root, "root/.ssh"), 0o700)


def nspawn_argv(name, root):
    return ["systemd-nspawn", "-D", root, "--boot", "-M", net.machine_name(name), "--register=no", "--keep-unit",
            f"--network-bridge={net.BRIDGE}", "--resolv-conf=off", "--timezone=off", "--link-journal=no",
            "--console=read-only"]


def start(name, run_root=None):
    """Boot NAME in the background; return the PID of its systemd-nspawn."""
    root = root_of(name, run_root)
    net.drop_stale_veth(name)
    log = open(os.path.join(machine_dir(name, run_root), "console.log"), "ab")  # pylint: disable=consider-using-with
    proc = subprocess.Popen(nspawn_argv(name, root), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    log.close()
    return proc.pid


def pid_alive(pid):
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def nspawn_with(cmdline, word):
    """Whether /proc's `cmdline` bytes are a systemd-nspawn run with `word` (a machine name or root) as an argument."""
    argv = cmdline.split(b"\0")
    return argv[0].endswith(b"systemd-nspawn") and word.encode() in argv


def is_nspawn(pid, name):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return nspawn_with(fh.read(), net.machine_name(name))
    except OSError:
        return False


def proc_read(name):
    """{pid: the bytes of /proc/PID/NAME} for every process that could be read (one may end meanwhile)."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/{name}", "rb") as fh:
                    found[int(entry)] = fh.read()
            except OSError:
                continue
    return found


def children(pid):
    """PIDs whose parent is PID (the container's init is systemd-nspawn's child)."""
    found = []
    for child, stat in proc_read("stat").items():
        try:
            if int(stat.split(b")")[-1].split()[1]) == pid:
                found.append(child)
        except (ValueError, IndexError):
            continue
    return found


def stop(name, pid, timeout=20):
    """Power NAME off (SIGTERM makes nspawn halt the container cleanly), then SIGKILL if it hangs.

    A SIGKILLed nspawn leaves the container's init running (it lives in a session and PID namespace of its
    own); that init keeps the machine's root and veth busy, and the next `up` of the same name cannot
    boot it. So when nspawn has to be killed, its init is killed too, which ends the whole container."""
    if pid and pid_alive(pid) and is_nspawn(pid, name):
        inits = children(pid)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and pid_alive(pid):
            time.sleep(0.2)
        if pid_alive(pid):
            os.killpg(pid, signal.SIGKILL)
            for init in inits:
                if pid_alive(init):
                    os.kill(init, signal.SIGKILL)
            time.sleep(0.5)
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def remove(name, run_root=None):
    base = machine_dir(name, run_root)
    root = os.path.join(base, "root")
    for _attempt in range(20):
        if not is_mounted(root):
            break
        subprocess.run(["umount", root], capture_output=True, check=False)
        if is_mounted(root):
            time.sleep(0.5)
    if is_mounted(root):
        subprocess.run(["umount", "-l", root], capture_output=True, check=False)
    shutil.rmtree(base, ignore_errors=True)


def ssh_argv(key, ip, command, user="root"):
    return ["ssh", "-i", key] + list(SSH_OPTS) + [f"{user}@{ip}", command]


def ssh(key, ip, command, timeout=60, check=True):
    proc = subprocess.run(ssh_argv(key, ip, command), capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise MachineError(f"ssh {ip} {command!r} failed (rc {proc.returncode}): {proc.stderr.strip()}")
    return proc


def wait_ssh(key, ips, timeout=90):
    """Wait until every IP answers `ssh true`; return {ip: seconds}."""
    started = time.monotonic()
    pending = set(ips)
    ready = {}
    while pending:
        for ip in sorted(pending):
            try:
                if ssh(key, ip, "true", timeout=8, check=False).returncode == 0:
                    ready[ip] = time.monotonic() - started
                    pending.discard(ip)
            except subprocess.TimeoutExpired:
                pass
        if pending:
            if time.monotonic() - started > timeout:
                raise MachineError(f"no SSH from {', '.join(sorted(pending))} after {timeout} s; "
                                   "see the console.log in each machine dir")
            time.sleep(0.5)
    return ready
