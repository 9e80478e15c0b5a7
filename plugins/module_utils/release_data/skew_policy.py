# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes version skew policy, as numbers.

Data only; plugins/module_utils/skew.py reads it. Source: kubernetes/website
content/en/releases/version-skew-policy.md (the "Supported version skew" section). All skews
are counted in minor versions.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# The components the policy (and the version_skew module) knows. etcd is listed so that an
# inventory can pass it through, but the policy has no rule about it.
COMPONENTS = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kubectl",
    "etcd",
)

# Components whose version is a Kubernetes version (etcd's is not).
KUBE_COMPONENTS = COMPONENTS[:-1]

# HA clusters: newest and oldest kube-apiserver within this many minors.
APISERVER_HA_MAX_SKEW = 1

# "kube-apiserver must not skip minor versions", even in single-instance clusters.
APISERVER_MAX_MINOR_STEP = 1

# kubelet: never newer than any kube-apiserver; at most this many minors older than the newest.
# The allowance depends on the kubelet's own minor: (first minor it applies to, max minors older).
KUBELET_MAX_OLDER = ((25, 3), (0, 2))

# kube-proxy: the same as the kubelet against kube-apiserver, and within this many minors (older
# or newer) of the kubelet on the same host; again by kube-proxy's own minor.
KUBE_PROXY_MAX_OLDER = ((25, 3), (0, 2))
KUBE_PROXY_MAX_KUBELET_SKEW = ((25, 3), (0, 2))

# kube-controller-manager, kube-scheduler (and cloud-controller-manager): never newer than an
# apiserver they talk to; at most this many minors older.
CONTROL_PLANE_MAX_OLDER = 1
CONTROL_PLANE = ("kube-controller-manager", "kube-scheduler")

# kubectl: within this many minors, older or newer, of kube-apiserver.
KUBECTL_MAX_SKEW = 1

# Rule ids the version_skew module reports, with what each means (used in messages and docs).
RULES = {
    "apiserver-skip-minor": "kube-apiserver must not skip minor versions, even in single-instance clusters",
    "apiserver-ha-skew": "the newest and oldest kube-apiserver must be within 1 minor version",
    "kubelet-newer-than-apiserver": "kubelet must not be newer than kube-apiserver",
    "kubelet-too-old": "kubelet may be at most 3 minor versions older than kube-apiserver (2 for kubelet < 1.25)",
    "kube-proxy-skew": (
        "kube-proxy must not be newer than kube-apiserver, may be at most 3 minors older than it, and within "
        "3 minors of the kubelet beside it (2 for kube-proxy < 1.25)"
    ),
    "control-plane-newer-than-apiserver": (
        "kube-controller-manager and kube-scheduler must not be newer than the kube-apiserver they talk to"
    ),
    "control-plane-too-old": (
        "kube-controller-manager and kube-scheduler may be at most 1 minor version older than kube-apiserver"
    ),
    "kubectl-skew": "kubectl must be within 1 minor version (older or newer) of kube-apiserver",
    "downgrade": "the target version is older than the component's current version",
    "kubelet-inplace-minor": (
        "a minor kubelet upgrade without draining the node first is not supported upstream "
        "(drain pods from the node before a minor kubelet upgrade)"
    ),
}

RULE_IDS = tuple(sorted(RULES))
