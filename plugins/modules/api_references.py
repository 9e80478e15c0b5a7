#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: api_references
short_description: Move kubectl and Helm references to removed API versions onto their replacements
description:
  - After M(clusterops.k8s_upgrade.storage_migration) has rewritten the stored objects, what still names an
    API version that O(target_version) removes are the references clients keep - kubectl's
    C(last-applied-configuration) annotation, the C(apiVersion) of C(managedFields) entries, and the manifest
    of each Helm 3 release's latest deployed revision. This module moves them to the replacement version,
    as C(kubectl apply set-last-applied) and helm-mapkubeapis would.
  - Converts only what needs no judgement - kinds whose replacement has the same schema, and workloads
    (Deployment, DaemonSet, ReplicaSet, StatefulSet), which get the C(spec.selector) the old API defaulted from
    the template labels. Everything else is listed in RV(problems) for the operator (and warned about).
  - Patches metadata only; the objects' specs are untouched. In check mode lists what it would change.
version_added: 0.1.0
author: clusterops maintainers (@clusterops)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  target_version:
    description: The Kubernetes release the cluster will be upgraded to, for example C(1.16.15).
    type: str
    required: true
  sources:
    description: Where references are moved - C(cluster) (annotations and managedFields of live objects), C(helm).
    type: list
    elements: str
    choices: [cluster, helm]
    default: [cluster, helm]
  page_size:
    description: Objects listed per request.
    type: int
    default: 500
attributes:
  check_mode:
    description: Lists what it would change and changes nothing.
    support: full
  diff_mode:
    description: Not supported; RV(objects) and RV(releases) say what changed.
    support: none
requirements:
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: Move last-applied, managedFields and Helm manifests off the APIs 1.16 removes
  clusterops.k8s_upgrade.api_references:
    target_version: 1.16.15
    kubeconfig: ~/.kube/config
  register: refs
"""

RETURN = r"""
objects:
  description: Live objects whose references were (or in check mode would be) moved.
  returned: success
  type: list
  elements: dict
  sample:
    - {kind: Deployment, namespace: legacy, name: old-web, changes: ["last-applied extensions/v1beta1 -> apps/v1"], problems: [], patched: true}
releases:
  description: Helm releases whose latest deployed manifest was (or would be) rewritten.
  returned: success
  type: list
  elements: dict
problems:
  description: What could not be converted automatically, one line each.
  returned: success
  type: list
  elements: str
"""

import copy

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import api_references as refs
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.api_scan import ApiTable, HelmDecodeError
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.k8s_api import (
    AUTH_ARG_SPEC,
    HAS_K8S,
    K8S_IMPORT_ERROR,
    KubeApi,
    KubeApiError,
)
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.versions import VersionError


def main():
    argument_spec = copy.deepcopy(AUTH_ARG_SPEC)
    argument_spec.update(
        target_version=dict(type="str", required=True),
        sources=dict(type="list", elements="str", choices=["cluster", "helm"], default=["cluster", "helm"]),
        page_size=dict(type="int", default=500),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_K8S:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=K8S_IMPORT_ERROR)
    if module.params["page_size"] < 1:
        module.fail_json(msg="page_size must be at least 1, got %d" % module.params["page_size"])
    try:
        table = ApiTable(module.params["target_version"])
    except VersionError as exc:
        module.fail_json(msg=str(exc))
    objects, releases = [], []
    try:
        api = KubeApi(module.params)
        if "cluster" in module.params["sources"]:
            objects = refs.migrate_cluster(api, table, module.check_mode, module.params["page_size"])
        if "helm" in module.params["sources"]:
            releases = refs.migrate_helm(api, table, module.check_mode, module.params["page_size"])
    except (KubeApiError, HelmDecodeError) as exc:
        module.fail_json(msg="moving the API references failed: %s" % exc, objects=objects, releases=releases)
    problems = []
    for item in objects:
        problems += ["%s %s/%s: %s" % (item["kind"], item["namespace"], item["name"], p) for p in item["problems"]]
    for item in releases:
        problems += ["helm release %s: %s" % (item["release"], p) for p in item["problems"]]
    for problem in problems:
        module.warn(problem)
    changed = any(item["changes"] for item in objects + releases)
    module.exit_json(changed=changed, objects=objects, releases=releases, problems=problems)


if __name__ == "__main__":
    main()
