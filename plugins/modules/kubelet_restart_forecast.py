#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kubelet_restart_forecast
short_description: Forecast which running containers an in-place kubelet upgrade restarts
description:
  - Runs on a node. Reads the running containers and their C(io.kubernetes.container.hash) through
    C(crictl ps -o json), recomputes the hash the target kubelet will compute from each pod's spec,
    and returns the containers whose hash changes, which the new kubelet restarts.
  - Exact for the 1.31+ rule (name and image) and for a change of rule (1.15 to 1.16, 1.30 to 1.31).
    For 1.16 to 1.30 it hashes the container spec as the API serves it and is C(certain) only when
    that reproduces the running hash. Before 1.16 the hash covers the Go type, which cannot be
    recomputed here; such forecasts are marked uncertain.
  - Changes nothing.
version_added: 0.1.0
author: clusterops maintainers (@clusterops)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  current_version:
    description: Version of the kubelet that runs the containers now.
    type: str
    required: true
  target_version:
    description: Version of the kubelet after the upgrade.
    type: str
    required: true
  pods:
    description:
      - The pods bound to this node as the API serves them (for example from M(kubernetes.core.k8s_info)).
      - When omitted, the module lists them itself with the authentication options and O(node_name).
    type: list
    elements: dict
  node_name:
    description: Name of the Node object; required when O(pods) is omitted.
    type: str
  crictl:
    description: The crictl executable.
    type: str
    default: crictl
  runtime_endpoint:
    description: CRI endpoint passed to crictl as C(--runtime-endpoint); crictl's own configuration when omitted.
    type: str
attributes:
  check_mode:
    description: Reads only; check mode runs it as usual.
    support: full
  diff_mode:
    description: Edits nothing, so there is no diff.
    support: none
requirements:
  - kubernetes >= 24.2.0 (only when O(pods) is omitted)
"""

EXAMPLES = r"""
- name: Forecast container restarts of the kubelet upgrade
  clusterops.k8s_upgrade.kubelet_restart_forecast:
    current_version: 1.30.14
    target_version: 1.31.14
    node_name: "{{ inventory_hostname }}"
    kubeconfig: /etc/kubernetes/admin.kubeconfig
  register: forecast
"""

RETURN = r"""
containers:
  description: Every running container with its forecast.
  returned: success
  type: list
  elements: dict
  sample:
    - container_id: 3f1c...
      pod: web-5d9c
      namespace: shop
      container: nginx
      running_hash: 311670a
      target_hash: 8e45cbd0
      will_restart: true
      certain: true
      reason: the hash rule changes from ... to ...
      restart_count: 0
restart_total:
  description: How many running containers the target kubelet restarts.
  returned: success
  type: int
uncertain_total:
  description: How many forecasts could not be made with certainty.
  returned: success
  type: int
total:
  description: Running containers on the node.
  returned: success
  type: int
rule_current:
  description: Hash rule of the current kubelet (go-struct, container-json, name-image).
  returned: success
  type: str
rule_target:
  description: Hash rule of the target kubelet.
  returned: success
  type: str
"""

import json

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.container_hash import (
    forecast_node,
    hash_rule,
)
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.k8s_api import (
    AUTH_ARG_SPEC,
    HAS_K8S,
    K8S_IMPORT_ERROR,
    KubeApi,
    KubeApiError,
)
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.versions import (
    VersionError,
    parse_version,
)

C_ENV = {"LANGUAGE": "C", "LC_ALL": "C"}


def read_crictl(module):
    argv = [module.get_bin_path(module.params["crictl"], required=True)]
    if module.params["runtime_endpoint"]:
        argv += ["--runtime-endpoint", module.params["runtime_endpoint"]]
    argv += ["ps", "-o", "json"]
    rc, out, err = module.run_command(argv, environ_update=C_ENV)
    if rc != 0:
        module.fail_json(msg="%s failed (rc %d): %s; check that the container runtime is up and crictl "
                         "can reach it (runtime_endpoint)" % (" ".join(argv), rc, err.strip()))
    try:
        return json.loads(out or "{}")
    except ValueError:
        module.fail_json(msg="%s did not print JSON: %s" % (" ".join(argv), out[:300]))


def list_pods(module):
    if not HAS_K8S:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=K8S_IMPORT_ERROR)
    if not module.params["node_name"]:
        module.fail_json(msg="node_name is required when pods is not given")
    try:
        api = KubeApi(module.params)
        return list(api.list_items("/api/v1/pods", query={"fieldSelector": "spec.nodeName=%s" % module.params["node_name"]}))
    except KubeApiError as exc:
        module.fail_json(msg="cannot list the pods of node %s: %s" % (module.params["node_name"], exc))


def main():
    argument_spec = dict(
        current_version=dict(type="str", required=True),
        target_version=dict(type="str", required=True),
        pods=dict(type="list", elements="dict"),
        node_name=dict(type="str"),
        crictl=dict(type="str", default="crictl"),
        runtime_endpoint=dict(type="str"),
    )
    argument_spec.update(AUTH_ARG_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    try:
        current = parse_version(params["current_version"], "current_version")
        target = parse_version(params["target_version"], "target_version")
    except VersionError as exc:
        module.fail_json(msg=str(exc))
    if target < current:
        module.fail_json(msg="target_version %s is older than current_version %s: a kubelet downgrade is not "
                         "forecast; check the versions" % (target, current))

    pods = params["pods"] if params["pods"] is not None else list_pods(module)
    containers, totals = forecast_node(read_crictl(module), pods, str(current), str(target))
    module.exit_json(
        changed=False,
        containers=containers,
        total=totals["containers"],
        restart_total=totals["will_restart"],
        uncertain_total=totals["uncertain"],
        rule_current=hash_rule(str(current)),
        rule_target=hash_rule(str(target)),
    )


if __name__ == "__main__":
    main()
