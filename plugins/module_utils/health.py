# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where each component answers its health check, by release and by the flags it runs with."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.versions import parse_version

# component: (secure default port, insecure default port or None, minor from which insecure serving is off by default)
# Insecure serving of the scheduler and the controller-manager was disabled by default in 1.22
# (#96345, #96216) and its flags removed in 1.24; their secure ports are 10259 and 10257.
_PORTS = {
    "kube-apiserver": (6443, None, None),
    "kube-scheduler": (10259, 10251, 22),
    "kube-controller-manager": (10257, 10252, 22),
    "kubelet": (None, 10248, None),
    "kube-proxy": (None, 10256, None),
}

COMPONENTS = tuple(_PORTS)


def health_url(component, version, flags=None, host="127.0.0.1"):
    """The URL a careful operator probes to know `component` at `version` is healthy.

    `flags` (name -> value, as component_facts reports them) overrides the default ports.
    """
    if component not in _PORTS:
        raise ValueError("unknown component %r; expected one of %s" % (component, ", ".join(COMPONENTS)))
    flags = flags or {}
    parsed = parse_version(version, "version")
    secure, insecure, insecure_off_since = _PORTS[component]
    if component == "kube-apiserver":
        # /readyz appeared in 1.16; /healthz before.
        path = "/readyz" if (parsed.major, parsed.minor) >= (1, 16) else "/healthz"
        return "https://%s:%s%s" % (host, flags.get("secure-port", secure), path)
    if component == "kubelet":
        return "http://%s:%s/healthz" % (flags.get("healthz-bind-address", host) or host, flags.get("healthz-port", insecure))
    if component == "kube-proxy":
        bind = flags.get("healthz-bind-address") or "0.0.0.0:%d" % insecure
        return "http://%s:%s/healthz" % (host, bind.rsplit(":", 1)[-1])
    insecure_port = flags.get("port")
    if insecure_port is None and parsed.minor < insecure_off_since:
        insecure_port = str(insecure)
    if insecure_port not in (None, "0"):
        return "http://%s:%s/healthz" % (host, insecure_port)
    return "https://%s:%s/healthz" % (host, flags.get("secure-port", secure))
