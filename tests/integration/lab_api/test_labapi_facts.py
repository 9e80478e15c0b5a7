"""The lab's own release facts (lab/facts/apis.py) against the upstream deprecation guide and schemas."""

import os

import pytest

from lab.facts import apis

# (removed in minor, group/version, kind): rows of the upstream deprecation guide.
REMOVALS = [
    (16, 'extensions/v1beta1', 'NetworkPolicy'), (16, 'extensions/v1beta1', 'DaemonSet'),
    (16, 'apps/v1beta2', 'DaemonSet'), (16, 'extensions/v1beta1', 'Deployment'), (16, 'apps/v1beta1', 'Deployment'),
    (16, 'apps/v1beta2', 'Deployment'), (16, 'apps/v1beta1', 'StatefulSet'), (16, 'apps/v1beta2', 'StatefulSet'),
    (16, 'extensions/v1beta1', 'ReplicaSet'), (16, 'apps/v1beta2', 'ReplicaSet'),
    (16, 'extensions/v1beta1', 'PodSecurityPolicy'),
    (22, 'admissionregistration.k8s.io/v1beta1', 'MutatingWebhookConfiguration'),
    (22, 'apiextensions.k8s.io/v1beta1', 'CustomResourceDefinition'),
    (22, 'apiregistration.k8s.io/v1beta1', 'APIService'), (22, 'authentication.k8s.io/v1beta1', 'TokenReview'),
    (22, 'authorization.k8s.io/v1beta1', 'SubjectAccessReview'),
    (22, 'certificates.k8s.io/v1beta1', 'CertificateSigningRequest'), (22, 'coordination.k8s.io/v1beta1', 'Lease'),
    (22, 'extensions/v1beta1', 'Ingress'), (22, 'networking.k8s.io/v1beta1', 'Ingress'),
    (22, 'networking.k8s.io/v1beta1', 'IngressClass'), (22, 'rbac.authorization.k8s.io/v1beta1', 'ClusterRole'),
    (22, 'scheduling.k8s.io/v1beta1', 'PriorityClass'), (22, 'storage.k8s.io/v1beta1', 'StorageClass'),
    (22, 'storage.k8s.io/v1beta1', 'CSIDriver'),
    (25, 'batch/v1beta1', 'CronJob'), (25, 'discovery.k8s.io/v1beta1', 'EndpointSlice'),
    (25, 'events.k8s.io/v1beta1', 'Event'), (25, 'autoscaling/v2beta1', 'HorizontalPodAutoscaler'),
    (25, 'policy/v1beta1', 'PodDisruptionBudget'), (25, 'policy/v1beta1', 'PodSecurityPolicy'),
    (25, 'node.k8s.io/v1beta1', 'RuntimeClass'),
    (26, 'flowcontrol.apiserver.k8s.io/v1beta1', 'FlowSchema'), (26, 'autoscaling/v2beta2', 'HorizontalPodAutoscaler'),
    (27, 'storage.k8s.io/v1beta1', 'CSIStorageCapacity'),
    (29, 'flowcontrol.apiserver.k8s.io/v1beta2', 'PriorityLevelConfiguration'),
    (32, 'flowcontrol.apiserver.k8s.io/v1beta3', 'FlowSchema'),
    (33, 'authentication.k8s.io/v1beta1', 'SelfSubjectReview'),
]


@pytest.mark.parametrize('removed,gv,kind', REMOVALS)
def test_removed_versions_are_served_until_their_removal(removed, gv, kind):
    assert kind in apis.served(removed - 1).get(gv, []), 'should be served by 1.%d' % (removed - 1)
    assert kind not in apis.served(removed).get(gv, []), 'should be gone in 1.%d' % removed


@pytest.mark.parametrize('minor', range(10, 34))
def test_every_release_serves_core_and_apps_v1(minor):
    s = apis.served(minor)
    assert {'Pod', 'Node', 'Namespace', 'Service', 'ConfigMap', 'Secret'} <= set(s['v1'])
    assert {'Deployment', 'DaemonSet', 'StatefulSet', 'ReplicaSet'} <= set(s['apps/v1'])
    assert not [gv for gv in s if 'alpha' in gv]
    rows = apis.resources(minor)
    names = {r['name'] for r in rows['v1']}
    assert {'pods', 'pods/eviction', 'pods/status', 'nodes/status'} <= names
    evict = [r for r in rows['v1'] if r['name'] == 'pods/eviction'][0]
    assert (evict['group'], evict['version']) == ('policy', 'v1' if minor >= 22 else 'v1beta1')


def test_every_schema_kind_has_resource_facts():
    from lab.facts.apis_schema import SCHEMA_KINDS
    missing = {k for minor in range(25, 34) for gv, kinds in SCHEMA_KINDS[minor].items() for k in kinds
               if k not in apis.KINDS and 'alpha' not in gv}
    assert not missing


def _schema_dir(minor):
    kv = pytest.importorskip('kubernetes_validate')
    return os.path.join(os.path.dirname(kv.__file__), 'kubernetes-json-schema', 'v1.%d.0-local-strict' % minor)


@pytest.mark.parametrize('minor', range(25, 34))
def test_generated_data_matches_the_installed_schemas(minor):
    """apis_schema.py is regenerated from kubernetes-validate; a stale file fails here."""
    from lab.facts import gen_apis_schema
    from lab.facts.apis_schema import SCHEMA_KINDS
    assert gen_apis_schema.kinds_of(_schema_dir(minor)) == SCHEMA_KINDS[minor]


def test_old_table_agrees_with_schemas_at_the_boundary():
    """What 1.24 serves (hand table) minus the 1.25 removals is what the 1.25 schemas give, beta/GA alike."""
    removed_25 = {(gv, k) for m, gv, k in REMOVALS if m == 25}
    old = {(gv, k) for gv, ks in apis.served(24).items() for k in ks} - removed_25
    new = {(gv, k) for gv, ks in apis.served(25).items() for k in ks}
    # 1.25 added nothing served by default that 1.24 lacked, except the TokenRequest schema kind (a subresource)
    assert old - new == set()
    assert {k for _gv, k in new - old} <= {'TokenRequest', 'Eviction', 'Scale'}


def test_preferred_versions():
    assert apis.preferred_versions(15)['apps'] == 'apps/v1'
    assert apis.preferred_versions(15)['extensions'] == 'extensions/v1beta1'
    assert apis.preferred_versions(21)['policy'] == 'policy/v1'
    assert apis.group_versions(24)['autoscaling'] == ['v2', 'v1', 'v2beta2', 'v2beta1']
    assert 'extensions' not in apis.group_versions(22)


def test_deprecation_warnings():
    assert apis.deprecation_warning(18, 'extensions/v1beta1', 'Ingress') is None  # no warnings before 1.19
    assert apis.deprecation_warning(20, 'extensions/v1beta1', 'Ingress') == (
        'extensions/v1beta1 Ingress is deprecated in v1.14+, unavailable in v1.22+; use networking.k8s.io/v1 Ingress')
    assert apis.deprecation_warning(20, 'batch/v1beta1', 'CronJob') is None  # deprecated from 1.21
    assert apis.deprecation_warning(24, 'policy/v1beta1', 'PodSecurityPolicy') == (
        'policy/v1beta1 PodSecurityPolicy is deprecated in v1.21+, unavailable in v1.25+')
    # every deprecation with a removal agrees with the served table: served until, not from, its removal
    for gv, kinds, _dep, removed, _repl in apis.DEPRECATIONS:
        for kind in kinds:
            if removed:
                assert kind in apis.served(removed - 1).get(gv, []), (gv, kind)
                assert kind not in apis.served(removed).get(gv, []), (gv, kind)
