#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: deprecated_apis
short_description: Find objects that use API versions deprecated or removed by a target Kubernetes release
description:
  - Scans a live cluster, its Helm 3 releases and manifest files for objects written in group/versions
    that O(target_version) deprecates or no longer serves, and says where each came from and what to use instead.
  - The apiserver converts objects on read, so the version an object was authored in is read from the
    C(kubectl.kubernetes.io/last-applied-configuration) annotation, from C(metadata.managedFields) and from
    Helm release records. Objects that can only be listed through a deprecated group/version are reported as C(served).
  - Every resource is listed in pages (C(limit) and C(continue)), never all at once.
  - Duplicates of one object found by several sources are one finding that lists all its sources.
  - The release data lives in C(plugins/module_utils/release_data/apis.py).
version_added: 0.1.0
author: clusterops maintainers (@clusterops)
options:
  target_version:
    description:
      - The Kubernetes release to check against, for example C(1.16) or C(v1.22.17).
      - Must be a release the collection has data for (1.10 to 1.37).
    type: str
    required: true
  sources:
    description:
      - Where to look. C(cluster) lists live objects; C(helm) decodes the latest deployed revision of every
        Helm 3 release (Secrets of type C(helm.sh/release.v1) and ConfigMaps labelled C(owner=helm));
        C(paths) scans O(paths).
      - Defaults to C(cluster) and C(helm), plus C(paths) when O(paths) is given.
    type: list
    elements: str
    choices: [cluster, helm, paths]
  paths:
    description:
      - Manifest files and directories to scan. Directories are walked recursively for C(.yaml), C(.yml)
        and C(.json) files; hidden directories are skipped. Multi-document files and C(List) kinds are read.
      - Documents with Helm template syntax and YAML that is not a Kubernetes object are skipped and counted.
      - A document that does not parse is reported in RV(errors) with its file and line; the scan goes on.
    type: list
    elements: path
    default: []
  fail_on:
    description:
      - C(removed) fails when an object uses a version the target no longer serves; C(deprecated) also
        fails on deprecated ones; C(none) never fails on findings.
    type: str
    choices: [removed, deprecated, none]
    default: removed
  page_size:
    description: Objects per list request (C(limit)) when reading the cluster.
    type: int
    default: 500
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
requirements:
  - PyYAML (libyaml bindings recommended)
  - kubernetes (for the C(cluster) and C(helm) sources)
notes:
  - Supports check mode; the module never changes anything.
  - Stale annotations and managedFields entries are the most common false positives; judge a finding by its sources.
seealso:
  - module: clusterops.k8s_upgrade.storage_migration
"""

EXAMPLES = r"""
- name: Refuse to upgrade to 1.16 while anything still uses a removed API
  clusterops.k8s_upgrade.deprecated_apis:
    target_version: "1.16"
    kubeconfig: /etc/kubernetes/admin.conf

- name: Scan rendered addon manifests only, report deprecated ones without failing
  clusterops.k8s_upgrade.deprecated_apis:
    target_version: "1.22"
    sources: [paths]
    paths:
      - /srv/addons/rendered
    fail_on: none
  register: scan

- name: Show what must change
  ansible.builtin.debug:
    msg: "{{ scan.findings | map(attribute='location') | list }}"
"""

RETURN = r"""
findings:
  description: One entry per object using a deprecated or removed version at the target.
  returned: always
  type: list
  elements: dict
  contains:
    kind: {description: Object kind., type: str, sample: Deployment}
    api_version: {description: The deprecated apiVersion the object uses., type: str, sample: extensions/v1beta1}
    name: {description: "Object name; null when the manifest has none.", type: str, sample: web}
    namespace: {description: "Namespace; null for cluster-scoped objects or manifests without one.", type: str, sample: prod}
    source:
      description: The first of RV(findings[].sources), one of C(manifest), C(helm), C(last-applied), C(managed-fields), C(served).
      type: str
      sample: last-applied
    location:
      description: Where the first source saw it (C(file:line), C(helm release NS/NAME revision N ...), C(namespace/name ...)).
      type: str
      sample: prod/web (annotation kubectl.kubernetes.io/last-applied-configuration)
    sources:
      description: Every source and location that reported this object.
      type: list
      elements: dict
    status: {description: C(removed) or C(deprecated) at the target., type: str, sample: removed}
    deprecated_in: {description: Release that deprecated the version., type: str, sample: "1.8"}
    removed_in: {description: "Release that stopped serving it; null if still served in 1.37.", type: str, sample: "1.16"}
    replacement: {description: "apiVersion to use instead; null when there is none.", type: str, sample: apps/v1}
    replacement_available_in: {description: First release serving the replacement., type: str, sample: "1.9"}
summary:
  description: Counts by status and source, and what was scanned.
  returned: always
  type: dict
  sample:
    total: 2
    by_status: {removed: 1, deprecated: 1}
    by_source: {manifest: 1, helm: 0, last-applied: 1, managed-fields: 1, served: 0}
    files: 12
    documents: 40
    ignored_documents: 3
    templated_documents: 2
    helm_releases: 4
    live_objects: 310
    errors: 0
rc:
  description: Exit code in pluto's convention, for scripts. 3 when something is removed at the target, 2 when deprecated, else 0.
  returned: always
  type: int
  sample: 3
errors:
  description: Files, documents and Helm records that could not be read, with the line where known. The scan went on.
  returned: always
  type: list
  elements: dict
  sample: [{path: /srv/addons/broken.yaml, line: 7, message: "YAML does not parse ..."}]
listed:
  description: The resources read from the cluster, through which group/version, and how many objects.
  returned: when the cluster source ran
  type: list
  elements: dict
  sample: [{api_version: apps/v1, resource: deployments, kind: Deployment, objects: 120}]
"""

import copy
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils import api_scan
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.k8s_api import (
    AUTH_ARG_SPEC,
    HAS_K8S,
    K8S_IMPORT_ERROR,
    KubeApi,
    KubeApiError,
)
from ansible_collections.clusterops.k8s_upgrade.plugins.module_utils.versions import VersionError

MAX_NAMED = 20


def describe(finding):
    where = "%s/%s" % (finding["namespace"], finding["name"]) if finding["namespace"] else finding["name"]
    return "%s %s %s (%s, %s; use %s)" % (
        finding["status"], finding["api_version"], finding["kind"], where, finding["location"],
        finding["replacement"] or "no replacement",
    )


def main():
    argument_spec = copy.deepcopy(AUTH_ARG_SPEC)
    argument_spec.update(
        target_version=dict(type="str", required=True),
        sources=dict(type="list", elements="str", choices=["cluster", "helm", "paths"]),
        paths=dict(type="list", elements="path", default=[]),
        fail_on=dict(type="str", choices=["removed", "deprecated", "none"], default="removed"),
        page_size=dict(type="int", default=500),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    sources = params["sources"]
    if sources is None:
        sources = ["cluster", "helm"] + (["paths"] if params["paths"] else [])
    if not api_scan.HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"))
    if ("cluster" in sources or "helm" in sources) and not HAS_K8S:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=K8S_IMPORT_ERROR)
    if "paths" in sources and not params["paths"]:
        module.fail_json(msg="sources includes 'paths' but no paths were given; set paths or drop 'paths' from sources")
    if params["page_size"] < 1:
        module.fail_json(msg="page_size must be at least 1, got %d" % params["page_size"])

    try:
        table = api_scan.ApiTable(params["target_version"])
    except VersionError as exc:
        module.fail_json(msg=str(exc))
    sink = api_scan.Findings(table)

    if "paths" in sources:
        problems = api_scan.check_paths(params["paths"])
        if problems:
            module.fail_json(msg="cannot scan paths: %s; fix or remove them from paths" % "; ".join(problems))
        api_scan.scan_paths(params["paths"], sink)

    listed = None
    if "cluster" in sources or "helm" in sources:
        try:
            api = KubeApi(params)
            if "cluster" in sources:
                listed = api_scan.scan_cluster(api, sink, params["page_size"])
            if "helm" in sources:
                api_scan.scan_helm_cluster(api, sink, params["page_size"])
        except KubeApiError as exc:
            module.fail_json(msg="cannot scan the cluster: %s" % exc, errors=sink.errors)
        except Exception as exc:  # keep a clear message instead of a traceback
            module.fail_json(msg="the cluster scan failed: %s" % exc, exception=traceback.format_exc())

    findings = sink.findings()
    result = dict(
        changed=False,
        findings=findings,
        summary=sink.summary(findings),
        rc=api_scan.exit_code(findings),
        errors=sink.errors,
        target_version=str(table.target),
    )
    if listed is not None:
        result["listed"] = listed
    for error in sink.errors[:MAX_NAMED]:
        module.warn("%s%s: %s" % (error["path"], ":%s" % error["line"] if error["line"] else "", error["message"]))

    failing = [f for f in findings if params["fail_on"] == "deprecated" or (params["fail_on"] == "removed" and f["status"] == "removed")]
    if failing:
        named = "; ".join(describe(f) for f in failing[:MAX_NAMED])
        more = " and %d more" % (len(failing) - MAX_NAMED) if len(failing) > MAX_NAMED else ""
        module.fail_json(
            msg="%d object(s) use API versions %s by %s: %s%s. Rewrite them with the replacement apiVersion "
            "(and re-apply, so last-applied is updated) or set fail_on to accept them"
            % (len(failing), "removed" if params["fail_on"] == "removed" else "deprecated or removed",
               table.target, named, more),
            **result
        )
    # rc is informational; without failed=False Ansible would treat a non-zero rc as a failure.
    module.exit_json(failed=False, **result)


if __name__ == "__main__":
    main()
