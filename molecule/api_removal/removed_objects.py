"""What the api_removal scenario expects preflight to name, and what it checks after the upgrade.

The expectations come from the lab, never from the collection's release tables: the objects the lab
seeded (lab.seed, given what the live apiserver serves) and the Helm 3 release records found in the
live cluster, kept where their group/version is not served by the target release (lab.facts.apis).

  removed_objects.py expect KUBECONFIG TARGET_VERSION OUT.json
      writes [{kind, namespace, name, api_version, new_api_version, source}] and prints it
  removed_objects.py verify KUBECONFIG EXPECTED.json
      every expected object is readable at its new group/version (official Python client), the removed
      group/version is no longer served, and the latest Helm release manifests use the new versions;
      exits 1 naming what is not
"""

import base64
import gzip
import json
import sys

import yaml
from kubernetes import client, config

from lab import seed
from lab.facts import apis as lab_apis
from lab.facts import versions as lab_versions

KINDS_PLURAL = seed.PLURALS


def api_client(kubeconfig):
    return config.new_client_from_config(config_file=kubeconfig)


def get_json(api, path):
    """(status, decoded JSON body) of GET PATH with the kubeconfig's credentials."""
    resp = api.call_api("GET", api.configuration.host + path, header_params={"Accept": "application/json"})
    resp.read()
    return resp.status, json.loads(resp.data or b"null")


def served_now(api):
    """What the live apiserver serves, as lab.seed reads discovery ("group/version" and "group/version/plural")."""
    class Discovery:  # pylint: disable=too-few-public-methods
        @staticmethod
        def get(path):
            return get_json(api, path)[1]
    return seed.served_group_versions(Discovery())


def new_version(kind, target_minor):
    """The group/version that serves KIND in the target release: a GA one when there is one."""
    serving = [gv for gv, kinds in lab_apis.served(target_minor).items() if kind in kinds]
    serving.sort(key=lambda gv: ("alpha" in gv or "beta" in gv, gv))
    return serving[0] if serving else None


def removed(gv, kind, target_minor):
    return kind not in lab_apis.served(target_minor).get(gv, [])


def helm_releases(api):
    """{(namespace, name): (revision, release dict)} for the latest revision of each Helm 3 release."""
    core = client.CoreV1Api(api)
    latest = {}
    for secret in core.list_secret_for_all_namespaces(field_selector="type=helm.sh/release.v1").items:
        raw = base64.b64decode(base64.b64decode(secret.data["release"]))
        release = json.loads(gzip.decompress(raw))
        key = (release["namespace"], release["name"])
        if key not in latest or release["version"] > latest[key][0]:
            latest[key] = (release["version"], release)
    return latest


def expect(kubeconfig, target, out_path):
    api = api_client(kubeconfig)
    minor = lab_versions.minor(target)
    found = []
    for obj in seed.objects(served_now(api)):
        if removed(obj["apiVersion"], obj["kind"], minor):
            found.append({"kind": obj["kind"], "namespace": obj["metadata"].get("namespace", ""),
                          "name": obj["metadata"]["name"], "api_version": obj["apiVersion"],
                          "new_api_version": new_version(obj["kind"], minor), "source": "seed"})
    for (namespace, release_name), (_revision, release) in sorted(helm_releases(api).items()):
        for doc in yaml.safe_load_all(release["manifest"]):
            if doc and removed(doc["apiVersion"], doc["kind"], minor):
                found.append({"kind": doc["kind"], "namespace": namespace, "name": doc["metadata"]["name"],
                              "api_version": doc["apiVersion"], "new_api_version": new_version(doc["kind"], minor),
                              "source": "helm release %s/%s" % (namespace, release_name)})
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(found, handle, indent=1)
    print(json.dumps(found))


def verify(kubeconfig, expected_path):
    with open(expected_path, encoding="utf-8") as handle:
        expected = json.load(handle)
    if not expected:
        sys.exit("the expectation is empty: nothing used a removed API, the scenario proved nothing")
    api = api_client(kubeconfig)
    served = served_now(api)
    releases = helm_releases(api)
    problems, checked = [], []
    for item in expected:
        where = "%s %s/%s" % (item["kind"], item["namespace"], item["name"])
        still = item["api_version"] in served and item["kind"] in [
            r["kind"] for r in get_json(api, "/apis/" + item["api_version"])[1].get("resources", [])]
        if still:
            problems.append("%s: %s is still served" % (where, item["api_version"]))
        if item["source"] == "seed":
            path = "/apis/%s/namespaces/%s/%s/%s" % (
                item["new_api_version"], item["namespace"], KINDS_PLURAL[item["kind"]], item["name"])
            status, obj = get_json(api, path)
            if status != 200:
                problems.append("%s: GET %s answered %s" % (where, path, status))
                continue
            if obj.get("apiVersion") != item["new_api_version"] or obj.get("kind") != item["kind"]:
                problems.append("%s: GET %s returned %s %s" % (where, path, obj.get("apiVersion"), obj.get("kind")))
                continue
        else:
            revision, release = releases[(item["namespace"], item["source"].rsplit("/", 1)[-1])]
            docs = [d for d in yaml.safe_load_all(release["manifest"]) if d and d["kind"] == item["kind"]
                    and d["metadata"]["name"] == item["name"]]
            if not docs or docs[0]["apiVersion"] != item["new_api_version"]:
                problems.append("%s: Helm release revision %s still says %s" % (
                    where, revision, docs[0]["apiVersion"] if docs else "nothing"))
                continue
        checked.append("%s at %s" % (where, item["new_api_version"]))
    if problems:
        sys.exit("NOT MIGRATED: " + "; ".join(problems))
    print("OK: %d object(s) readable at their new API: %s" % (len(checked), "; ".join(checked)))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "expect":
        expect(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "verify":
        verify(*sys.argv[2:])
    else:
        sys.exit(__doc__)
