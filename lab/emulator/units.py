"""The flags an operator would put in each component's unit for a given release.

INFRA writes /etc/kubernetes/NAME.env (ARGS_VAR="...") from default_flags(); only flags that
release has are used (checked against lab.facts.flags in the unit tests).

ctx keys (all optional except where noted):
  host_ip (required for kube-apiserver, kubelet, kube-proxy), hostname (required for kubelet,
  kube-proxy), lb_ip, etcd_servers (list or comma string; required for kube-apiserver),
  pki_dir (default /etc/kubernetes/pki), kube_dir (default /etc/kubernetes),
  sa_key / sa_pub (service-account signing key and its public half; default the apiserver key/cert),
  service_cidr (10.96.0.0/12), cluster_cidr (10.244.0.0/16), cluster_dns (10.96.0.10),
  root_dir (/var/lib/kubelet), verbosity (2).
"""

from lab.facts import versions as version_facts

ARGS_VARS = {
    "kube-apiserver": "KUBE_APISERVER_ARGS",
    "kube-controller-manager": "KUBE_CONTROLLER_MANAGER_ARGS",
    "kube-scheduler": "KUBE_SCHEDULER_ARGS",
    "kubelet": "KUBELET_ARGS",
    "kube-proxy": "KUBE_PROXY_ARGS",
}


def args_var(component):
    """KUBE_APISERVER_ARGS etc.: upper-cased name, dashes as underscores, plus _ARGS."""
    return component.upper().replace("-", "_") + "_ARGS"


def _etcd(ctx):
    servers = ctx.get("etcd_servers") or []
    if isinstance(servers, str):
        return servers
    return ",".join(servers)


def default_flags(component, version, ctx):
    """The argv (flags only) an operator would run `component` of `version` with."""
    minor = version_facts.minor(version)
    pki = ctx.get("pki_dir", "/etc/kubernetes/pki")
    kube = ctx.get("kube_dir", "/etc/kubernetes")
    v = "--v=%s" % ctx.get("verbosity", 2)
    service_cidr = ctx.get("service_cidr", "10.96.0.0/12")
    cluster_cidr = ctx.get("cluster_cidr", "10.244.0.0/16")
    sa_key = ctx.get("sa_key", "%s/apiserver.key" % pki)
    sa_pub = ctx.get("sa_pub", "%s/apiserver.crt" % pki)
    if component == "kube-apiserver":
        out = [
            "--advertise-address=%s" % ctx["host_ip"],
            "--bind-address=0.0.0.0",
            "--secure-port=6443",
            "--etcd-servers=%s" % _etcd(ctx),
            "--etcd-cafile=%s/ca.crt" % pki,
            "--etcd-certfile=%s/apiserver-etcd-client.crt" % pki,
            "--etcd-keyfile=%s/apiserver-etcd-client.key" % pki,
            "--tls-cert-file=%s/apiserver.crt" % pki,
            "--tls-private-key-file=%s/apiserver.key" % pki,
            "--client-ca-file=%s/ca.crt" % pki,
            "--kubelet-client-certificate=%s/apiserver.crt" % pki,
            "--kubelet-client-key=%s/apiserver.key" % pki,
            "--service-cluster-ip-range=%s" % service_cidr,
            "--service-account-key-file=%s" % sa_pub,
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",
            "--allow-privileged=true",
            "--apiserver-count=%s" % ctx.get("apiserver_count", 3),
        ]
        if minor < 24:
            out.append("--insecure-port=0")
        if minor >= 16 and int(ctx.get("apiserver_count", 3)) > 1:
            # Behind the load balancer: keep serving for a while after SIGTERM while /readyz fails, so
            # that the LB's health check takes this apiserver out before it stops listening.
            out.append("--shutdown-delay-duration=%s" % ctx.get("shutdown_delay", "5s"))
        if minor >= 20:
            # Required from 1.20 (bound service-account tokens).
            out.append("--service-account-issuer=https://kubernetes.default.svc.cluster.local")
            out.append("--service-account-signing-key-file=%s" % sa_key)
        out.append(v)
        return out
    if component in ("kube-controller-manager", "kube-scheduler"):
        out = ["--kubeconfig=%s/%s.kubeconfig" % (kube, component), "--leader-elect=true"]
        if minor >= 12:
            out += ["--bind-address=127.0.0.1",
                    "--tls-cert-file=%s/%s.crt" % (pki, component),
                    "--tls-private-key-file=%s/%s.key" % (pki, component)]
            if minor < 24:
                out.append("--port=0")  # no insecure serving (kubeadm did the same from 1.19)
        else:
            out.append("--address=127.0.0.1")
        if component == "kube-controller-manager":
            out += [
                "--root-ca-file=%s/ca.crt" % pki,
                "--service-account-private-key-file=%s" % sa_key,
                "--service-cluster-ip-range=%s" % service_cidr,
                "--cluster-cidr=%s" % cluster_cidr,
                "--use-service-account-credentials=true",
                "--node-monitor-grace-period=%s" % ctx.get("node_monitor_grace_period", "40s"),
            ]
        out.append(v)
        return out
    if component == "kubelet":
        out = [
            "--kubeconfig=%s/kubelet.kubeconfig" % kube,
            "--hostname-override=%s" % ctx["hostname"],
            "--node-ip=%s" % ctx["host_ip"],
            "--root-dir=%s" % ctx.get("root_dir", "/var/lib/kubelet"),
            "--client-ca-file=%s/ca.crt" % pki,
            "--anonymous-auth=false",
            "--cgroup-driver=systemd",
            "--fail-swap-on=false",
            "--cluster-dns=%s" % ctx.get("cluster_dns", "10.96.0.10"),
            "--cluster-domain=cluster.local",
            "--container-runtime-endpoint=unix:///run/containerd/containerd.sock",
        ]
        if minor < 15:
            out.append("--allow-privileged=true")
        if minor < 24:
            out.append("--network-plugin=cni")
        if minor < 27:
            out.append("--container-runtime=remote")
            out.append("--pod-infra-container-image=registry.k8s.io/pause:3.%d" % (1 if minor < 19 else 6))
        out.append(v)
        return out
    if component == "kube-proxy":
        return [
            "--kubeconfig=%s/kube-proxy.kubeconfig" % kube,
            "--hostname-override=%s" % ctx["hostname"],
            "--bind-address=%s" % ctx["host_ip"],
            "--cluster-cidr=%s" % cluster_cidr,
            "--proxy-mode=iptables",
            "--healthz-bind-address=0.0.0.0:10256",
            "--metrics-bind-address=127.0.0.1:10249",
            v,
        ]
    raise ValueError("no unit flags for component %r" % component)


def env_line(component, version, ctx):
    """The one line of /etc/kubernetes/NAME.env."""
    return '%s="%s"\n' % (args_var(component), " ".join(default_flags(component, version, ctx)))
