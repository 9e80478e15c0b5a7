"""The lab's command line: up, down, status, fault (run from the repository root, as root)."""

import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from lab import api, etcd, faults, image, inventory, lb, machines, mirror, net, pki, provision, state

DEFAULT_VERSION = "1.15.12"
REQUIRED_TOOLS = ("debootstrap", "systemd-nspawn", "ip", "mount", "ssh", "ssh-keygen", "etcdctl", "haproxy")


class LabError(Exception):
    pass


def log(msg):
    print(f"lab: {msg}", flush=True)


def lab_versions():
    from lab.facts.versions import LAB_VERSIONS  # pylint: disable=import-outside-toplevel
    return LAB_VERSIONS


def run_root():
    return machines.RUN_ROOT


def preflight():
    if os.geteuid() != 0:
        raise LabError("run as root: the lab mounts overlays, boots systemd-nspawn machines and creates a bridge")
    missing = [t for t in REQUIRED_TOOLS if shutil.which(t) is None]
    if missing:
        raise LabError(f"missing tools: {', '.join(missing)}; run scripts/setup.sh")


def ensure_ssh_key():
    if not os.path.exists(state.SSH_KEY):
        os.makedirs(state.INVENTORY_DIR, exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "clusterops-lab", "-f", state.SSH_KEY],
                       check=True)
    with open(state.SSH_PUB, encoding="ascii") as fh:
        return fh.read()


def controller_pki(ca):
    """The controller's admin and etcd client certs and the service-account key, made once per lab."""
    os.makedirs(state.PKI_DIR, exist_ok=True)
    wanted = {"admin": ("admin", ("system:masters",)), "etcd-client": ("etcd-client", ())}
    for name, (cn, orgs) in wanted.items():
        if not os.path.exists(os.path.join(state.PKI_DIR, f"{name}.crt")):
            key, crt = ca.issue(cn, orgs, client=True)
            pki.write_file(os.path.join(state.PKI_DIR, f"{name}.key"), key, 0o600)
            pki.write_file(os.path.join(state.PKI_DIR, f"{name}.crt"), crt)
    sa_key_path = os.path.join(state.PKI_DIR, "sa.key")
    if not os.path.exists(sa_key_path):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pki.write_file(sa_key_path, pki.key_pem(key), 0o600)
        pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
        pki.write_file(os.path.join(state.PKI_DIR, "sa.pub"), pub)
    with open(sa_key_path, "rb") as k, open(os.path.join(state.PKI_DIR, "sa.pub"), "rb") as p:
        return k.read(), p.read()


def lab_api():
    return api.Api(f"https://{net.HOST_IP}:{net.LB_PORT}", *state.controller_tls())


def members_of(topology):
    return [(n, ip) for n, r, ip in topology if r == "control-plane"]


def alive(st):
    """Names of the lab processes that are not running."""
    dead = [n for n, pid in st.get("machines", {}).items() if not machines.is_nspawn(pid, n)]
    for proc in ("mirror", "haproxy"):
        if not machines.pid_alive(st.get("pids", {}).get(proc)):
            dead.append(proc)
    return dead


def write_client_files(st):
    topology = [tuple(h) for h in st["topology"]]
    with open(state.HOSTS_YML, "w", encoding="utf-8") as fh:
        fh.write(inventory.hosts_yml(topology, st["version"], state.SSH_KEY, state.KUBECONFIG))
    ca, cert, key = state.controller_tls()
    with open(ca, "rb") as a, open(cert, "rb") as c, open(key, "rb") as k:
        text = inventory.admin_kubeconfig(f"https://{net.HOST_IP}:{net.LB_PORT}", a.read(), c.read(), k.read())
    pki.write_file(state.KUBECONFIG, text, 0o600)


def cmd_up(args):
    preflight()
    versions = lab_versions()
    version = args.version.lstrip("v")
    if version not in versions:
        raise LabError(f"version {version} is not built by the lab; choose one of: {', '.join(versions)}")
    topology = net.topology(args.control_plane, args.nodes)
    st = state.load()
    if st:
        same = st.get("version") == version and [tuple(h) for h in st.get("topology", [])] == topology
        dead = alive(st)
        if same and not dead and st.get("phase") == "up":
            write_client_files(st)
            log(f"already up ({len(topology)} hosts at v{version}); inventory rewritten: {state.HOSTS_YML}")
            return 0
        what = "a different topology or version" if not same else f"a broken lab (not running: {', '.join(dead) or 'setup unfinished'})"
        raise LabError(f"lab state in {state.STATE_DIR} describes {what}; run `python -m lab down` first")
    t0 = time.monotonic()
    st = {"version": version, "topology": [list(h) for h in topology], "run_root": run_root(), "machines": {},
          "pids": {}, "faults": [], "phase": "starting"}
    state.save(st)
    leftovers(quiet=True)

    img = image.ensure_image(log=log)
    log(f"image {os.path.dirname(img)} ready ({time.monotonic() - t0:.1f} s)")
    ca = pki.CA.load_or_create(state.PKI_DIR)
    sa_key, sa_pub = controller_pki(ca)
    pub = ensure_ssh_key()

    net.bridge_up()
    st["bridge"] = net.BRIDGE
    state.save(st)

    mirror_dir = os.path.join(run_root(), "mirror")
    mirror.build(mirror_dir)
    st["mirror_dir"] = mirror_dir
    st["pids"]["mirror"] = mirror.start(mirror_dir, os.path.join(run_root(), "mirror.log"))
    state.save(st)
    mirror.wait_up()
    wanted = set(provision.CONTROL_PLANE_COMPONENTS + provision.NODE_COMPONENTS + ("crictl",))
    artifacts = {name: mirror.fetch_verified(version, name) for name in sorted(wanted)}
    log(f"mirror {mirror.URL} serving {len(versions)} versions ({time.monotonic() - t0:.1f} s)")

    for name, role, ip in topology:
        root = machines.prepare(name, img)
        machines.base_files(root, name, ip, topology, pub)
        provision.write_pki(root, name, role, ip, topology, ca, sa_key, sa_pub)
        if role == "control-plane":
            provision.write_etcd(root, name, ip, topology)
        provision.write_kubeconfigs(root, role)
        provision.install_components(root, name, role, ip, topology, version, artifacts)

    cfg = os.path.join(state.STATE_DIR, "haproxy.cfg")
    with open(cfg, "w", encoding="utf-8") as fh:
        fh.write(lb.config(members_of(topology), os.path.join(state.STATE_DIR, "haproxy.pid"),
                           lb.health_path(version)))
    ok, err = lb.check_config(cfg)
    if not ok:
        raise LabError(f"haproxy rejected {cfg}: {err}")
    st["pids"]["haproxy"] = lb.start(cfg, os.path.join(run_root(), "haproxy.log"))
    state.save(st)

    for name, _role, _ip in topology:
        st["machines"][name] = machines.start(name)
    state.save(st)
    ready = machines.wait_ssh(state.SSH_KEY, [ip for _n, _r, ip in topology])
    log(f"{len(topology)} hosts answer SSH (slowest {max(ready.values()):.1f} s after boot; "
        f"{time.monotonic() - t0:.1f} s)")

    etcd.wait_healthy(members_of(topology), state.etcd_tls())
    log(f"etcd healthy on {len(members_of(topology))} members ({time.monotonic() - t0:.1f} s)")
    if args.hosts_only:
        st["phase"] = "up"
        state.save(st)
        write_client_files(st)
        log(f"up (hosts only) in {time.monotonic() - t0:.1f} s")
        return 0
    client = lab_api()
    ver = client.wait_ready(timeout=args.timeout)
    log(f"apiserver {ver.get('gitVersion')} answers through the LB ({time.monotonic() - t0:.1f} s)")
    nodes = [n for n, r, _ip in topology if r == "node"]
    if nodes:
        client.wait_nodes_ready(nodes, timeout=args.timeout)
        log(f"{len(nodes)} nodes Ready ({time.monotonic() - t0:.1f} s)")
    if not args.no_seed:
        from lab import seed  # pylint: disable=import-outside-toplevel
        counts = seed.seed(client, version)
        log(f"seeded {sum(counts.values())} objects ({time.monotonic() - t0:.1f} s)")
    st["phase"] = "up"
    state.save(st)
    write_client_files(st)
    log(f"up in {time.monotonic() - t0:.1f} s: inventory {os.path.relpath(state.HOSTS_YML)}, "
        f"kubeconfig {os.path.relpath(state.KUBECONFIG)}")
    return 0


def leftovers(quiet=False):
    """Machine dirs, mounts and nspawn processes under RUN_ROOT that no state file records."""
    base = os.path.join(run_root(), "machines")
    removed = []
    for name in sorted(os.listdir(base)) if os.path.isdir(base) else ():
        root = machines.root_of(name)
        for pid in nspawn_pids_for(root):
            machines.stop(name, pid)
        machines.remove(name)
        removed.append(name)
    if removed and not quiet:
        log(f"removed leftover machines: {', '.join(removed)}")
    return removed


def nspawn_pids_for(root):
    """PIDs of systemd-nspawn processes booting exactly ROOT (found through /proc, for a lost state file)."""
    return sorted(pid for pid, cmdline in machines.proc_read("cmdline").items() if machines.nspawn_with(cmdline, root))


def stop_pid(pid, expect):
    """Stop a lab helper process by PID if its command line still is what we started."""
    if not machines.pid_alive(pid):
        return
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmd = fh.read()
    except OSError:
        return
    if expect.encode() not in cmd:
        return
    os.kill(pid, 15)
    for _attempt in range(50):
        if not machines.pid_alive(pid):
            break
        time.sleep(0.1)
    if machines.pid_alive(pid):
        os.kill(pid, 9)


def cmd_down(_args):
    preflight()
    st = state.load() or {}
    names = list(st.get("machines", {}))
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda n: machines.stop(n, st["machines"][n]), names))
    for name in names:
        machines.remove(name)
    leftovers()
    stop_pid(st.get("pids", {}).get("haproxy"), "haproxy")
    stop_pid(st.get("pids", {}).get("mirror"), "http.server")
    net.bridge_down()
    for path in (state.HOSTS_YML, state.KUBECONFIG, state.SSH_KEY, state.SSH_PUB):
        if os.path.exists(path):
            os.unlink(path)
    shutil.rmtree(state.STATE_DIR, ignore_errors=True)
    shutil.rmtree(run_root(), ignore_errors=True)
    log("down: machines, bridge, mirror, haproxy, inventory, kubeconfig and state removed"
        f" (the image cache {image.CACHE_ROOT} is kept)")
    return 0


def host_report(ip, role):
    units = provision.CONTROL_PLANE_COMPONENTS + ("etcd",) if role == "control-plane" else provision.NODE_COMPONENTS
    script = ("for u in %s; do v=$(systemctl show -p ExecStart --value $u 2>/dev/null "
              "| sed -n 's/.*path=\\([^ ;]*\\).*/\\1/p'); "
              "[ $u = etcd ] && v=etcd-$(etcd --version | sed -n 's/^etcd Version: //p'); "
              "printf '%%s %%s %%s\\n' $u $(systemctl is-active $u) \"$v\"; done" % " ".join(units))
    try:
        proc = machines.ssh(state.SSH_KEY, ip, script, timeout=15, check=False)
    except subprocess.TimeoutExpired:
        return None
    if proc.returncode != 0:
        return None
    return parse_report(proc.stdout)


def parse_report(text):
    """[(unit, state, version)] from the lines `UNIT STATE EXEC-PATH-OR-VERSION` host_report prints."""
    rows = []
    for line in text.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3:
            m = re.search(r"/v(\d+\.\d+\.\d+)/", parts[2])
            rows.append((parts[0], parts[1], "v" + m.group(1) if m else parts[2] or "-"))
    return rows


def cmd_status(_args):
    st = state.load()
    if not st:
        print("lab: down (no state)")
        return 3
    print(f"lab: phase {st.get('phase')}, created at v{st['version']}, bridge {net.BRIDGE} {net.HOST_IP}/{net.PREFIX}")
    print(f"mirror {mirror.URL} pid {st['pids'].get('mirror')} {'running' if machines.pid_alive(st['pids'].get('mirror')) else 'DEAD'}; "
          f"haproxy {net.HOST_IP}:{net.LB_PORT} pid {st['pids'].get('haproxy')} "
          f"{'running' if machines.pid_alive(st['pids'].get('haproxy')) else 'DEAD'}")
    topology = [tuple(h) for h in st["topology"]]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        reports = list(pool.map(lambda h: host_report(h[2], h[1]), topology))
    rc = 0
    for (name, role, ip), rows in zip(topology, reports):
        pid = st["machines"].get(name)
        running = machines.is_nspawn(pid, name) if pid else False
        link = "on bridge" if running and net.is_attached(name) else "OFF bridge" if running else "-"
        print(f"{name:8} {role:13} {ip:15} {'running' if running else 'STOPPED'} pid {pid} {link}")
        if rows is None:
            print("    (no SSH)")
            rc = 1
            continue
        for unit, active, ver in rows:
            print(f"    {unit:26} {active:10} {ver}")
    for fault in st.get("faults", []):
        print(f"fault: {fault}")
    return rc


def cmd_fault(args):
    preflight()
    st = state.load()
    if not st or st.get("phase") != "up":
        raise LabError("no lab is up: run `python -m lab up` first")
    msg = faults.apply(st, args.fault, host=args.host, component=args.component, version=args.version,
                       restore=args.restore, only=args.only or ())
    state.save(st)
    log(msg)
    return 0


def parser():
    p = argparse.ArgumentParser(prog="python -m lab", description="The clusterops rehearsal lab (see lab/README.md).")
    sub = p.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="boot hosts, etcd, mirror, LB and the emulated components; seed; write inventory")
    up.add_argument("--control-plane", type=int, default=3, help="control-plane hosts (etcd + apiserver), default 3")
    up.add_argument("--nodes", type=int, default=3, help="worker nodes, default 3")
    up.add_argument("--version", default=DEFAULT_VERSION, help=f"Kubernetes version, default {DEFAULT_VERSION}")
    up.add_argument("--no-seed", action="store_true", help="skip the seeded workloads")
    up.add_argument("--hosts-only", action="store_true",
                    help="stop after hosts, etcd, mirror and LB (do not wait for the API, nodes or seed)")
    up.add_argument("--timeout", type=int, default=90, help="seconds to wait for the API and the nodes")
    sub.add_parser("down", help="remove every machine, bridge, process and file `up` made")
    sub.add_parser("status", help="hosts, units and versions")
    f = sub.add_parser("fault", help="switch a fault on (or off with --restore)")
    f.add_argument("fault", choices=faults.FAULTS + ("list",))
    f.add_argument("--host", help="lab host (cp1, node2, ...)")
    f.add_argument("--component", help="binary-exits: the component")
    f.add_argument("--version", help="binary-exits: the version in the mirror")
    f.add_argument("--only", action="append", metavar="WORD",
                   help="kubelet markers: limit the fault to this version/minor (v1.16) or checkpoint name; repeatable")
    f.add_argument("--restore", action="store_true", help="switch the fault off")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    handler = {"up": cmd_up, "down": cmd_down, "status": cmd_status, "fault": cmd_fault}[args.cmd]
    try:
        return handler(args)
    except (LabError, net.NetError, machines.MachineError, etcd.EtcdError, mirror.MirrorError, image.ImageError,
            faults.FaultError, api.ApiError) as exc:
        print(f"lab: error: {exc}", file=sys.stderr)
        if args.cmd == "up" and state.load():
            print("lab: what `up` made so far is recorded; `python -m lab down` removes it", file=sys.stderr)
        return 2
