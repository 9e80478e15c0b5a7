#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: storage_migration
short_description: Rewrite stored Kubernetes objects before an upgrade stops serving their version
description:
  - For every resource that loses a group/version between the cluster's current release and
    O(target_version) (or the resources named in O(resources)), rewrites every object in its newest served
    version so that etcd holds it in the current storage version.
  - O(method=auto) creates a C(StorageVersionMigration) (C(storagemigration.k8s.io)) where the cluster serves
    that API and waits for it; elsewhere it reads each object and writes it back unchanged (GET then PUT),
    retrying on conflicts. Objects are listed in pages.
  - Checks every CustomResourceDefinition's C(status.storedVersions) against the versions it defines and serves,
    and against O(crd_drop_versions).
  - In check mode lists what would be rewritten and writes nothing.
version_added: 0.1.0
author: clusterops maintainers (@clusterops)
options:
  target_version:
    description: The Kubernetes release the cluster will be upgraded to (1.10 to 1.37), for example C(1.16).
    type: str
    required: true
  resources:
    description:
      - Resources to rewrite instead of the ones computed from the release table, as C(RESOURCE.GROUP)
        (C(deployments.apps), C(widgets.example.com)) or C(RESOURCE) for the core group.
      - Each is read and written through the version its group prefers.
    type: list
    elements: str
  method:
    description:
      - C(auto) uses a StorageVersionMigration when the cluster serves C(storagemigration.k8s.io), else C(rewrite).
      - C(rewrite) always does the no-op GET and PUT from this module; C(storage_version_migration) requires the API.
    type: str
    choices: [auto, rewrite, storage_version_migration]
    default: auto
  wait_timeout:
    description: Seconds to wait for each StorageVersionMigration to succeed.
    type: int
    default: 300
  page_size:
    description: Objects per list request (C(limit)).
    type: int
    default: 500
  crd_drop_versions:
    description:
      - CRD versions, as C(GROUP/VERSION), that are about to be removed from their CRDs. The module fails when
        a CRD still lists one of them in C(status.storedVersions), unless O(migrate_crds) clears it.
    type: list
    elements: str
    default: []
  migrate_crds:
    description:
      - Rewrite the objects of every CRD whose C(status.storedVersions) holds more than its storage version,
        then set C(status.storedVersions) to the storage version alone.
    type: bool
    default: false
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
requirements:
  - kubernetes
notes:
  - Supports check mode.
  - A StorageVersionMigration is carried out by kube-controller-manager; run this before stopping it.
seealso:
  - module: clusterops.k8s_upgrade.deprecated_apis
"""

EXAMPLES = r"""
- name: Rewrite everything that 1.16 can no longer decode
  clusterops.k8s_upgrade.storage_migration:
    target_version: "1.16"
    kubeconfig: /etc/kubernetes/admin.conf

- name: Show what would be rewritten
  clusterops.k8s_upgrade.storage_migration:
    target_version: "1.22"
  check_mode: true
  register: plan

- name: Migrate a CRD's objects before dropping v1alpha1 from it
  clusterops.k8s_upgrade.storage_migration:
    target_version: "1.29"
    resources: [widgets.example.com]
    crd_drop_versions: [example.com/v1alpha1]
    migrate_crds: true
"""

RETURN = r"""
current_version:
  description: The version the cluster reported at /version.
  returned: always
  type: str
  sample: 1.15.12
resources:
  description: One entry per resource migrated (or that would be, in check mode).
  returned: always
  type: list
  elements: dict
  sample:
    - group: apps
      resource: deployments
      kind: Deployment
      api_version: apps/v1
      reason: apps/v1beta1, apps/v1beta2, extensions/v1beta1 are not served by 1.16
      method: rewrite
      objects: 12
      rewritten: 12
      gone: 0
      failed: []
      names: [default/web]
crds:
  description: Every CRD whose storedVersions need attention (more than the storage version, or versions no longer defined or served).
  returned: always
  type: list
  elements: dict
  sample:
    - name: widgets.example.com
      storage_version: v1
      stored_versions: [v1alpha1, v1]
      stale_versions: [v1alpha1]
      undefined_stored_versions: []
      unserved_stored_versions: []
"""

import copy

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import api_scan
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import storage_migration as sm
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.k8s_api import (
    AUTH_ARG_SPEC,
    HAS_K8S,
    K8S_IMPORT_ERROR,
    KubeApi,
    KubeApiError,
)
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.versions import VersionError


def run(module, api, table):
    params = module.params
    result = {"changed": False, "resources": [], "crds": []}
    current = sm.server_version(api)
    result["current_version"] = str(current)
    planned = sm.plan(api, table, current, params["resources"])

    svm = None
    if params["method"] != "rewrite":
        svm = sm.svm_version(api)
        if svm is None and params["method"] == "storage_version_migration":
            raise sm.MigrationError(
                "method is storage_version_migration but the cluster does not serve %s; use method auto or rewrite" % sm.SVM_GROUP)

    failed = []
    for item in planned:
        entry = dict(item, method="storage_version_migration" if svm else "rewrite")
        if svm:
            # Count (and name) what the migration covers; the controller does the writes.
            counted = sm.rewrite(api, item, params["page_size"], check_mode=True)
            entry.update(objects=counted["objects"], names=counted["names"], rewritten=0, gone=0, failed=[])
            if not module.check_mode and counted["objects"]:
                name, state = sm.migrate_with_svm(api, svm, item, timeout=params["wait_timeout"])
                entry["migration"] = name
                if state == "Succeeded":
                    entry["rewritten"] = counted["objects"]
                else:
                    entry["failed"] = ["StorageVersionMigration %s failed" % name]
        else:
            entry.update(sm.rewrite(api, item, params["page_size"], check_mode=module.check_mode))
        if entry["objects"] and (module.check_mode or entry["rewritten"]):
            result["changed"] = True
        failed.extend("%s.%s %s" % (item["resource"], item["group"], f) for f in entry["failed"])
        result["resources"].append(entry)

    crd_api_version, reports = sm.check_crds(api, params["page_size"])
    drop = set(params["crd_drop_versions"])
    blocking = []
    for report in reports:
        if not (report["stale_versions"] or report["undefined_stored_versions"] or report["unserved_stored_versions"]):
            continue
        if params["migrate_crds"] and report["stale_versions"] and report["storage_version"]:
            item = {"group": report["group"], "resource": report["plural"], "kind": None,
                    "api_version": "%s/%s" % (report["group"], report["storage_version"]), "reason": "CRD storedVersions"}
            done = sm.rewrite(api, item, params["page_size"], check_mode=module.check_mode)
            report["rewritten"] = done["rewritten"]
            report["objects"] = done["objects"]
            failed.extend("%s %s" % (report["name"], f) for f in done["failed"])
            result["changed"] = True
            if not module.check_mode and not done["failed"]:
                path = "%s/%s/status" % (api_scan.api_path(crd_api_version, "customresourcedefinitions"), report["name"])
                crd = api.get(path)
                crd.setdefault("status", {})["storedVersions"] = [report["storage_version"]]
                api.request("PUT", path, body=crd)
                report["stored_versions"] = [report["storage_version"]]
                report["stale_versions"] = []
        for version in report["stored_versions"]:
            if "%s/%s" % (report["group"], version) in drop:
                blocking.append("%s stores objects in %s/%s" % (report["name"], report["group"], version))
        result["crds"].append(report)

    if failed:
        module.fail_json(msg="could not rewrite %d object(s): %s" % (len(failed), "; ".join(failed[:20])), **result)
    if blocking and not module.check_mode:
        module.fail_json(
            msg="CRD versions listed in crd_drop_versions still hold stored objects: %s; run with migrate_crds=true "
            "(or rewrite the objects and update status.storedVersions) before dropping them" % "; ".join(blocking),
            **result)
    if blocking:
        module.warn("in check mode: %s" % "; ".join(blocking))
    return result


def main():
    argument_spec = copy.deepcopy(AUTH_ARG_SPEC)
    argument_spec.update(
        target_version=dict(type="str", required=True),
        resources=dict(type="list", elements="str"),
        method=dict(type="str", choices=["auto", "rewrite", "storage_version_migration"], default="auto"),
        wait_timeout=dict(type="int", default=300),
        page_size=dict(type="int", default=500),
        crd_drop_versions=dict(type="list", elements="str", default=[]),
        migrate_crds=dict(type="bool", default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_K8S:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=K8S_IMPORT_ERROR)
    if module.params["page_size"] < 1:
        module.fail_json(msg="page_size must be at least 1, got %d" % module.params["page_size"])
    try:
        table = api_scan.ApiTable(module.params["target_version"])
    except VersionError as exc:
        module.fail_json(msg=str(exc))
    try:
        api = KubeApi(module.params)
        result = run(module, api, table)
    except (KubeApiError, sm.MigrationError) as exc:
        module.fail_json(msg="storage migration failed: %s" % exc)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
