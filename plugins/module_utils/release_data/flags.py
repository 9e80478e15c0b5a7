# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Command-line flags that Kubernetes releases deprecated, renamed or removed, per component.

Data only; plugins/module_utils/flag_migration.py reads it. Keys are flag names without dashes, as
pflag compares them ('_' normalised to '-'). Every entry has:

- deprecated: the minor that marked it deprecated (None: before 1.10, or not announced);
- removed: the minor whose binary refuses it ("unknown flag"), or None while it still parses;
- renamed_to / renamed_in: the new name and the minor where the new name first exists (the old
  name keeps working until `removed`);
- inert_values: values with which dropping the flag changes nothing (the flag had no effect, or
  the value is the only behaviour left), so it is dropped even with removed_flags=fail;
  ("*",) means any value;
- value_rules: values a release stopped accepting while the flag stayed: each rule has `minor`
  and either `only` (the values still accepted) or `refuse` (the values no longer accepted),
  with its own note and source;
- note: what an operator does about it (printed in the Action Required digest and errors);
- source: where the fact comes from: the upstream CHANGELOG/CHANGELOG-1.NN.md entry and the pull
  request (kubernetes/kubernetes#N) that made the change.

Adding a release: add entries here with their source; tests/unit check every entry's shape.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy")

# klog flags every component dropped together (KEP-2845): deprecated 1.23 by #105042, removed 1.26
# by #112120 (CHANGELOG-1.26.md, "logs: remove deprecated klog flags"). Output goes to stderr only.
_KLOG_NOTE = (
    "klog file and stderr options are gone: components log to stderr only; let systemd/journald "
    "capture the output (StandardOutput=/StandardError= in the unit) instead of --log-dir/--log-file"
)
_KLOG_SOURCE = "CHANGELOG-1.26.md (#112120, KEP-2845); deprecated in CHANGELOG-1.23.md (#105042)"
_KLOG = dict(
    (name, dict(deprecated="1.23", removed="1.26", note=_KLOG_NOTE, source=_KLOG_SOURCE, inert_values=inert))
    for name, inert in (
        ("log-dir", ()),
        ("log-file", ()),
        ("log-file-max-size", ("*",)),
        ("logtostderr", ("true",)),  # stderr is all that is left
        ("alsologtostderr", ("*",)),
        ("one-output", ("*",)),
        ("stderrthreshold", ("*",)),
        ("skip-log-headers", ("*",)),
        ("add-dir-header", ("*",)),
        ("skip-headers", ("*",)),
        ("log-backtrace-at", ("*",)),
    )
)

_INSECURE_SERVING_NOTE = (
    "insecure (HTTP) serving is gone; health checks and metrics use the secure port "
    "(--secure-port/--bind-address) with authentication"
)

FLAGS = {
    "kube-apiserver": dict(_KLOG, **{
        "insecure-port": dict(
            deprecated="1.10", removed="1.24", inert_values=("0",),
            value_rules=(dict(minor="1.20", only=("0",), note="insecure serving is gone: only 0 is accepted",
                              source="CHANGELOG-1.20.md Urgent Upgrade Notes (#95856)"),),
            note="the insecure port could only be 0 since 1.20; drop the flag (with 0 it is inert) "
                 "and point local clients at the secure port",
            source="CHANGELOG-1.20.md Urgent Upgrade Notes (#95856: may only be 0, removed in 1.24); "
                   "deprecated CHANGELOG-1.10.md (#59018)"),
        "port": dict(
            deprecated="1.10", removed="1.24", inert_values=("0",),
            value_rules=(dict(minor="1.20", only=("0",), note="insecure serving is gone: only 0 is accepted",
                              source="CHANGELOG-1.20.md Urgent Upgrade Notes (#95856)"),),
            note="alias of --insecure-port; only 0 was accepted since 1.20",
            source="CHANGELOG-1.20.md Urgent Upgrade Notes (#95856)"),
        "insecure-bind-address": dict(
            deprecated="1.10", removed="1.24", inert_values=("*",),
            note="no effect since 1.20 (insecure serving removed)",
            source="CHANGELOG-1.20.md Urgent Upgrade Notes (#95856); deprecated CHANGELOG-1.10.md (#59018)"),
        "address": dict(
            deprecated="1.10", removed="1.24", inert_values=("*",),
            note="alias of --insecure-bind-address; no effect since 1.20",
            source="CHANGELOG-1.20.md Urgent Upgrade Notes (#95856)"),
        "enable-swagger-ui": dict(
            deprecated="1.14", removed="1.24", inert_values=("*",),
            note="swagger 1.2 is gone since 1.14; the flag had no effect; use /openapi/v2",
            source="CHANGELOG-1.24.md (#105032); deprecated with swagger 1.2 removal (#72924, 1.14)"),
        "kubelet-https": dict(
            deprecated="1.19", removed="1.22", inert_values=("true",),
            note="apiserver->kubelet connections always use HTTPS",
            source="CHANGELOG-1.22.md (#101178); deprecated CHANGELOG-1.19.md (#91630)"),
        "basic-auth-file": dict(
            deprecated="1.16", removed="1.19",
            note="basic authentication is gone; give those users tokens (--token-auth-file) or client "
                 "certificates, or use an OIDC/webhook authenticator",
            source="CHANGELOG-1.19.md Action Required (#89069); deprecated CHANGELOG-1.16.md"),
        "cloud-provider": dict(
            deprecated="1.29", removed="1.33", inert_values=("external", ""),
            note="the apiserver needs no cloud provider (in-tree providers were removed in 1.31); "
                 "run the cloud's cloud-controller-manager",
            source="CHANGELOG-1.33.md (#130162); deprecated CHANGELOG-1.29.md (#120903)"),
        "cloud-config": dict(
            deprecated="1.29", removed="1.33", inert_values=("*",),
            note="only read by the in-tree cloud providers, removed in 1.31",
            source="CHANGELOG-1.33.md (#130162); deprecated CHANGELOG-1.29.md (#120903)"),
        "target-ram-mb": dict(
            deprecated="1.19", removed="1.24", inert_values=("*",),
            note="no-op since 1.19",
            source="CHANGELOG-1.24.md (#108457); deprecated 1.19 (#91818)"),
        "service-account-api-audiences": dict(
            deprecated="1.13", renamed_to="api-audiences", renamed_in="1.13", removed="1.25",
            note="same value under --api-audiences",
            source="CHANGELOG-1.25.md Action Required (#108624); renamed CHANGELOG-1.13.md (#70105)"),
        "experimental-encryption-provider-config": dict(
            deprecated="1.13", renamed_to="encryption-provider-config", renamed_in="1.13", removed="1.24",
            note="same file under --encryption-provider-config",
            source="CHANGELOG-1.24.md (#108423); renamed CHANGELOG-1.13.md Deprecations (#71206)"),
        "repair-malformed-updates": dict(
            deprecated=None, removed="1.14", inert_values=("*",),
            note="unused since 1.13; drop it",
            source="CHANGELOG-1.14.md (#73663)"),
        "deserialization-cache-size": dict(
            deprecated="1.13", removed="1.24", inert_values=("*",),
            note="no-op since 1.13",
            source="CHANGELOG-1.24.md (#108448); deprecated 1.13 (#69842)"),
        "storage-versions": dict(
            deprecated="1.12", removed=None,
            note="omit it so the default storage versions are used, else upgrades past 1.12 are unsafe",
            source="CHANGELOG-1.12.md Action Required (#68080)"),
        "master-service-namespace": dict(
            deprecated="1.26", removed="1.27", inert_values=("*",),
            note="unused since 1.6",
            source="CHANGELOG-1.27.md (#114446); deprecated CHANGELOG-1.26.md (#112797)"),
        "admission-control": dict(
            deprecated="1.10", removed=None,
            note="use --enable-admission-plugins/--disable-admission-plugins (not a plain rename: "
                 "--admission-control is the complete ordered list)",
            source="CHANGELOG-1.10.md (deprecated in favour of --enable-admission-plugins)"),
    }),
    "kube-controller-manager": dict(_KLOG, **{
        "port": dict(
            deprecated="1.10", removed="1.24", inert_values=("0",),
            note=_INSECURE_SERVING_NOTE,
            source="CHANGELOG-1.24.md (#106860); insecure serving disabled 1.22 (#96216); "
                   "deprecated 1.10 (#59582)"),
        "address": dict(
            deprecated="1.10", removed="1.24", inert_values=("*",),
            note=_INSECURE_SERVING_NOTE,
            source="CHANGELOG-1.24.md (#106860); deprecated 1.10 (#59582)"),
        "insecure-experimental-approve-all-kubelet-csrs-for-group": dict(
            deprecated=None, removed="1.13", inert_values=("*",),
            note="no effect since 1.7; the csrapproving controller approves by RBAC "
                 "(certificatesigningrequests/nodeclient)",
            source="CHANGELOG-1.13.md (#69209); dropped support CHANGELOG-1.7.md (#45619)"),
        "horizontal-pod-autoscaler-use-rest-clients": dict(
            deprecated="1.12", removed="1.19", inert_values=("true",),
            note="Heapster support is gone; the HPA reads the metrics APIs (run metrics-server)",
            source="CHANGELOG-1.19.md (#90368); deprecated CHANGELOG-1.12.md (#68089)"),
        "deleting-pods-qps": dict(
            deprecated="1.10", removed="1.25", inert_values=("*",),
            note="unused since 1.10",
            source="CHANGELOG-1.25.md (#109612)"),
        "deleting-pods-burst": dict(
            deprecated="1.10", removed="1.25", inert_values=("*",),
            note="unused since 1.10",
            source="CHANGELOG-1.25.md (#109612)"),
        "register-retry-count": dict(
            deprecated="1.10", removed="1.25", inert_values=("*",),
            note="unused since 1.10",
            source="CHANGELOG-1.25.md (#109612)"),
        "experimental-cluster-signing-duration": dict(
            deprecated="1.19", renamed_to="cluster-signing-duration", renamed_in="1.19", removed="1.25",
            note="same value under --cluster-signing-duration",
            source="CHANGELOG-1.25.md (#108476); renamed CHANGELOG-1.19.md (#91154)"),
        "enable-taint-manager": dict(
            deprecated="1.25", removed="1.27", inert_values=("true",),
            note="taint-based eviction is always on",
            source="CHANGELOG-1.27.md (#115840); deprecated CHANGELOG-1.25.md (#111411)"),
        "pod-eviction-timeout": dict(
            deprecated="1.26", removed="1.27",
            note="eviction follows the pods' NoExecute tolerations; set the defaults with kube-apiserver "
                 "--default-not-ready-toleration-seconds/--default-unreachable-toleration-seconds",
            source="CHANGELOG-1.27.md (#115840); deprecated CHANGELOG-1.26.md (#113710)"),
        "horizontal-pod-autoscaler-upscale-delay": dict(
            deprecated="1.12", removed="1.31", inert_values=("*",),
            note="non-functional since 1.12; tune HPA behavior in the HorizontalPodAutoscaler spec",
            source="CHANGELOG-1.31.md (#124948)"),
        "horizontal-pod-autoscaler-downscale-delay": dict(
            deprecated="1.12", removed="1.31", inert_values=("*",),
            note="non-functional since 1.12; use --horizontal-pod-autoscaler-downscale-stabilization",
            source="CHANGELOG-1.31.md (#124948)"),
        "volume-host-cidr-denylist": dict(
            deprecated=None, removed="1.31",
            note="went with the in-tree volume plugins",
            source="CHANGELOG-1.31.md (#124017)"),
        "volume-host-allow-local-loopback": dict(
            deprecated=None, removed="1.31",
            note="went with the in-tree volume plugins",
            source="CHANGELOG-1.31.md (#124017)"),
    }),
    "kube-scheduler": dict(_KLOG, **{
        "port": dict(
            deprecated="1.13", removed="1.24", inert_values=("0",),
            note=_INSECURE_SERVING_NOTE + " (10259)",
            source="insecure port removed for 1.24 (kubernetes/kubeadm#2207); disabled 1.22 (#96345); "
                   "deprecated CHANGELOG-1.13.md (#69663)"),
        "address": dict(
            deprecated="1.13", removed="1.24", inert_values=("*",),
            note=_INSECURE_SERVING_NOTE,
            source="as --port (kubernetes/kubeadm#2207, #96345, #69663)"),
        "algorithm-provider": dict(
            deprecated="1.17", removed="1.22",
            note="configure the enabled plugins in a KubeSchedulerConfiguration (--config)",
            source="CHANGELOG-1.22.md (#102239)"),
        "policy-config-file": dict(
            deprecated="1.11", removed="1.23",
            note="the legacy Policy API is gone: migrate to a KubeSchedulerConfiguration (--config)",
            source="CHANGELOG-1.23.md Urgent Upgrade Notes (#105424)"),
        "policy-configmap": dict(
            deprecated="1.11", removed="1.23",
            note="the legacy Policy API is gone: migrate to a KubeSchedulerConfiguration (--config)",
            source="CHANGELOG-1.23.md Urgent Upgrade Notes (#105424)"),
        "policy-configmap-namespace": dict(
            deprecated="1.11", removed="1.23", inert_values=("*",),
            note="only meaningful with --policy-configmap",
            source="CHANGELOG-1.23.md Urgent Upgrade Notes (#105424)"),
        "use-legacy-policy-config": dict(
            deprecated="1.11", removed="1.23", inert_values=("false",),
            note="the legacy Policy API is gone: migrate to a KubeSchedulerConfiguration (--config)",
            source="CHANGELOG-1.23.md Urgent Upgrade Notes (#105424)"),
        "hard-pod-affinity-symmetric-weight": dict(
            deprecated="1.18", removed="1.22",
            note="set hardPodAffinityWeight of the InterPodAffinity plugin in a KubeSchedulerConfiguration",
            source="CHANGELOG-1.22.md (#102805)"),
        "scheduler-name": dict(
            deprecated="1.18", removed="1.22",
            note="name the scheduler in a profile (schedulerName) of a KubeSchedulerConfiguration",
            source="CHANGELOG-1.22.md (#102805)"),
        "lock-object-namespace": dict(
            deprecated="1.18", renamed_to="leader-elect-resource-namespace", renamed_in="1.18", removed="1.28",
            note="same value under --leader-elect-resource-namespace",
            source="CHANGELOG-1.28.md (#119130)"),
        "lock-object-name": dict(
            deprecated="1.18", renamed_to="leader-elect-resource-name", renamed_in="1.18", removed="1.28",
            note="same value under --leader-elect-resource-name",
            source="CHANGELOG-1.28.md (#119130)"),
    }),
    "kubelet": dict(_KLOG, **{
        "allow-privileged": dict(
            deprecated="1.10", removed="1.15", inert_values=("true",),
            note="privileged pods are governed by admission (PodSecurityPolicy, later Pod Security); "
                 "the kubelet default was already true",
            source="CHANGELOG-1.15.md Action Required (#77820); deprecated 1.10 (#57851), "
                   "default true 1.11 (#63442)"),
        "cadvisor-port": dict(
            deprecated="1.10", removed="1.12", inert_values=("0",),
            note="the cAdvisor web UI is gone; run cAdvisor as a DaemonSet if you need it",
            source="CHANGELOG-1.12.md Action Required (#65707); deprecated 1.10 (#59827)"),
        "experimental-check-node-capabilities-before-mount": dict(
            deprecated="1.19", removed="1.23",
            note="use CSI drivers",
            source="CHANGELOG-1.23.md Action Required (#104732); deprecated 1.19 (#91373)"),
        "experimental-mounter-path": dict(
            deprecated="1.19", removed=None,
            note="use CSI drivers",
            source="CHANGELOG-1.19.md (#91373)"),
        "experimental-allocatable-ignore-eviction": dict(
            deprecated="1.19", removed=None,
            note="hard eviction thresholds count against allocatable",
            source="CHANGELOG-1.19.md (#91578)"),
        "seccomp-profile-root": dict(
            deprecated="1.19", removed="1.23",
            note="profiles live in <--root-dir>/seccomp",
            source="CHANGELOG-1.23.md (#103941); deprecated CHANGELOG-1.19.md (#91182)"),
        "keep-terminated-pod-volumes": dict(
            deprecated=None, removed="1.31", inert_values=("false",),
            note="deprecated since 1.8; terminated pods' volumes are always unmounted",
            source="CHANGELOG-1.31.md Urgent Upgrade Notes (#122082)"),
        "dynamic-config-dir": dict(
            deprecated="1.22", removed="1.24",
            note="Dynamic Kubelet Configuration is gone: distribute the --config file and restart the kubelet",
            source="DynamicKubeletConfig removed from the kubelet in 1.24 (KEP-281, kubernetes/website#31799)"),
        "register-schedulable": dict(
            deprecated=None, removed="1.34", inert_values=("true",),
            note="register tainted instead: --register-with-taints=...:NoSchedule",
            source="CHANGELOG-1.34.md (#122384); deprecated since 1.5 (#31647)"),
        "pod-infra-container-image": dict(
            deprecated="1.27", removed="1.35", inert_values=("*",),
            note="the container runtime owns the sandbox (pause) image and pins it: set it there "
                 "(containerd sandbox_image, CRI-O pause_image)",
            source="CHANGELOG-1.35.md Urgent Upgrade Notes (#133779)"),
        "master-service-namespace": dict(
            deprecated=None, removed="1.27", inert_values=("*",),
            note="unused",
            source="CHANGELOG-1.27.md (#116015)"),
        "container-runtime": dict(
            deprecated="1.24", removed="1.27", inert_values=("remote",),
            value_rules=(dict(minor="1.24", only=("remote",),
                              note="dockershim is gone: use a CRI runtime (cri-dockerd for Docker Engine)",
                              source="CHANGELOG-1.24.md (dockershim removed, #97252)"),),
            note="remote (CRI) is the only runtime; keep --container-runtime-endpoint",
            source="CHANGELOG-1.27.md (#114017)"),
        "experimental-dockershim-root-directory": dict(
            deprecated="1.20", removed="1.24", inert_values=("*",),
            note="dockershim is gone: use a CRI runtime (containerd, CRI-O or cri-dockerd) through "
                 "--container-runtime-endpoint",
            source="CHANGELOG-1.24.md (#106907); dockershim deprecated CHANGELOG-1.20.md (#94624)"),
        "docker-endpoint": dict(
            deprecated="1.20", removed="1.24",
            note="dockershim is gone: point --container-runtime-endpoint at a CRI runtime "
                 "(cri-dockerd for Docker Engine)",
            source="CHANGELOG-1.24.md (#106907)"),
        "image-pull-progress-deadline": dict(
            deprecated="1.20", removed="1.24", inert_values=("*",),
            note="dockershim-only; CRI runtimes have their own pull timeouts",
            source="CHANGELOG-1.24.md (#106907)"),
        # With a CRI runtime these were already ignored, and the runtimes' CNI defaults are the same
        # paths, so the default values are inert; anything else needs the runtime configured first.
        "network-plugin": dict(
            deprecated="1.20", removed="1.24", inert_values=("cni",),
            note="CNI is configured in the container runtime (containerd/CRI-O), not the kubelet; "
                 "check that the runtime has the CNI config before dropping it",
            source="CHANGELOG-1.24.md (#106907)"),
        "network-plugin-mtu": dict(
            deprecated="1.20", removed="1.24",
            note="set the MTU in the CNI configuration",
            source="CHANGELOG-1.24.md (#106907)"),
        "cni-conf-dir": dict(
            deprecated="1.20", removed="1.24", inert_values=("/etc/cni/net.d",),
            note="configure the CNI directories in the container runtime",
            source="CHANGELOG-1.24.md (#106907)"),
        "cni-bin-dir": dict(
            deprecated="1.20", removed="1.24", inert_values=("/opt/cni/bin",),
            note="configure the CNI directories in the container runtime",
            source="CHANGELOG-1.24.md (#106907)"),
        "cni-cache-dir": dict(
            deprecated="1.20", removed="1.24",
            note="configure the CNI directories in the container runtime",
            source="CHANGELOG-1.24.md (#106907)"),
    }),
    "kube-proxy": dict(_KLOG, **{
        "proxy-mode": dict(
            value_rules=(dict(minor="1.26", refuse=("userspace",),
                              note="the userspace proxier is gone: use iptables or ipvs (kernelspace on Windows)",
                              source="CHANGELOG-1.26.md (#112133); deprecated 1.23 (#104631)"),),
            note="the flag stays; some modes went away",
            source="CHANGELOG-1.26.md (#112133)"),
        "resource-container": dict(
            deprecated=None, removed="1.16", inert_values=("",),
            note="kube-proxy no longer moves itself into a cgroup; run it from systemd or a DaemonSet",
            source="CHANGELOG-1.16.md Action Required (#78294)"),
        # A removal landed in the 1.32 cycle (#126889) and was reverted and retried (#127930, #128303);
        # until a release notes it as removed, treat both as deprecated only.
        "healthz-port": dict(
            deprecated=None, removed=None,
            note="give the port in --healthz-bind-address=IP:PORT",
            source="deprecated by #88512; removal attempts #126889, #128303"),
        "metrics-port": dict(
            deprecated=None, removed=None,
            note="give the port in --metrics-bind-address=IP:PORT",
            source="deprecated by #88512; removal attempts #126889, #128303"),
    }),
}
