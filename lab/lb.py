"""haproxy on the bridge address, balancing TCP across the apiservers (the lab's LB).

Debian's haproxy binary run by the lab with its own config and PID (never the system service).
"""

import subprocess

from lab import net


def health_path(version):
    """What the LB asks each apiserver: /readyz from 1.16 (it fails as soon as a shutdown starts,
    while --shutdown-delay-duration keeps the apiserver serving), /healthz before."""
    minor = int(str(version).lstrip("v").split(".")[1])
    return "/readyz" if minor >= 16 else "/healthz"


def config(control_plane, pidfile, check_path="/healthz"):
    """haproxy.cfg for [(name, ip)] apiservers, health-checked over HTTPS at CHECK_PATH.

    A member is taken out after one failed check (every second) and put back after two good ones, so
    that a restarting apiserver gets no request before it is ready; a connection refused by a member
    that just went away is retried on another one (redispatch) instead of failing the client.
    """
    servers = "\n".join(f"    server {name} {ip}:{net.APISERVER_PORT} check check-ssl verify none inter 1s fall 1 rise 2"
                        for name, ip in control_plane)
    return f"""# Written by the clusterops lab (python -m lab up). TCP pass-through: TLS ends at the apiservers.
global
    maxconn 4000
    pidfile {pidfile}

defaults
    mode tcp
    timeout connect 3s
    timeout client 1h
    timeout server 1h
    timeout check 2s
    retries 3
    option redispatch 1

frontend kube-apiserver
    bind {net.HOST_IP}:{net.LB_PORT}
    default_backend kube-apiservers

backend kube-apiservers
    balance roundrobin
    option httpchk GET {check_path}
    http-check expect status 200
{servers}
"""


def argv(cfg_path):
    # -db: stay in the foreground (the lab keeps the PID and stops it).
    return ["haproxy", "-f", cfg_path, "-db"]


def check_config(cfg_path):
    proc = subprocess.run(["haproxy", "-c", "-q", "-f", cfg_path], capture_output=True, text=True, check=False)
    return proc.returncode == 0, proc.stderr.strip()


def start(cfg_path, log_path):
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv(cfg_path), stdin=subprocess.DEVNULL, stdout=log,  # pylint: disable=consider-using-with
                                stderr=subprocess.STDOUT, start_new_session=True)
    return proc.pid
