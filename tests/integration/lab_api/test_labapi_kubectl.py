"""Real, unmodified kubectl (1.27 to 1.33, whichever this machine has) against the emulated apiserver."""

import json
import os

import pytest

from labapi_support import DEPLOY, find_kubectl, make_node, running_pod

KUBECTL_MINORS = [m for m in range(27, 34) if find_kubectl(m)]


@pytest.mark.skipif(not KUBECTL_MINORS, reason='no kubectl 1.27-1.33 on this machine')
@pytest.mark.parametrize('minor', KUBECTL_MINORS)
def test_kubectl_version_and_get_nodes(lab_factory, minor):
    """Each kubectl against an apiserver of its own minor."""
    from lab.facts.versions import last_patch
    lab = lab_factory(last_patch(minor))
    make_node(lab, 'k%d' % minor)
    out = json.loads(lab.kubectl('version', '-o', 'json', minor=minor).stdout)
    assert out['serverVersion']['gitVersion'] == 'v' + lab.version
    p = lab.kubectl('get', 'nodes', minor=minor)
    assert 'k%d' % minor in p.stdout and 'Ready' in p.stdout
    p = lab.kubectl('get', 'nodes', '-o', 'json', minor=minor)
    assert 'k%d' % minor in [n['metadata']['name'] for n in json.loads(p.stdout)['items']]
    assert lab.kubectl('api-resources', minor=minor).returncode == 0


@pytest.mark.skipif(not KUBECTL_MINORS, reason='no kubectl 1.27-1.33 on this machine')
@pytest.mark.parametrize('minor', sorted({KUBECTL_MINORS[0], KUBECTL_MINORS[-1]}))
def test_kubectl_cordon_drain_apply(lab_factory, minor):
    from lab.facts.versions import last_patch
    lab = lab_factory(last_patch(minor))
    k = lab.kubectl
    node = 'w%d' % minor
    make_node(lab, node)
    assert 'cordoned' in k('cordon', node, minor=minor).stdout
    assert lab.call('GET', '/api/v1/nodes/' + node)[1]['spec']['unschedulable'] is True

    # client-side apply, then a change (3-way strategic merge patch), then server-side apply
    name = 'app%d' % minor
    assert 'created' in k('apply', '-f', '-', minor=minor, input=DEPLOY.replace('NAME', name)).stdout
    assert 'configured' in k('apply', '-f', '-', minor=minor,
                             input=DEPLOY.replace('NAME', name).replace('replicas: 2', 'replicas: 4')).stdout
    d = lab.call('GET', '/apis/apps/v1/namespaces/default/deployments/' + name)[1]
    assert d['spec']['replicas'] == 4 and d['metadata']['generation'] == 2
    assert 'kubectl.kubernetes.io/last-applied-configuration' in d['metadata']['annotations']
    managers = {m['manager'] for m in d['metadata']['managedFields']}
    assert 'kubectl-client-side-apply' in managers
    ssa = 'ssa%d' % minor
    assert 'serverside-applied' in k('apply', '--server-side', '-f', '-', minor=minor,
                                     input=DEPLOY.replace('NAME', ssa)).stdout
    d = lab.call('GET', '/apis/apps/v1/namespaces/default/deployments/' + ssa)[1]
    assert [(m['manager'], m['operation']) for m in d['metadata']['managedFields']] == [('kubectl', 'Apply')]
    assert 'scaled' in k('scale', 'deployment/' + ssa, '--replicas=1', minor=minor).stdout
    assert 'annotate' in k('annotate', 'node', node, 'lab/x=y', minor=minor).stdout
    assert lab.call('GET', '/api/v1/nodes/' + node)[1]['metadata']['annotations'] == {'lab/x': 'y'}

    # drain: a DaemonSet pod stays, a plain pod is evicted, a PDB-protected pod blocks
    ns = 'drain%d' % minor
    k('create', 'namespace', ns, minor=minor)
    ds = {'apiVersion': 'apps/v1', 'kind': 'DaemonSet', 'metadata': {'name': 'agent'},
          'spec': {'selector': {'matchLabels': {'app': 'agent'}},
                   'template': {'metadata': {'labels': {'app': 'agent'}},
                                'spec': {'containers': [{'name': 'a', 'image': 'agent:1'}]}}}}
    code, ds = lab.call('POST', '/apis/apps/v1/namespaces/%s/daemonsets' % ns, ds)
    assert code == 201
    owner = {'apiVersion': 'apps/v1', 'kind': 'DaemonSet', 'name': 'agent', 'uid': ds['metadata']['uid'],
             'controller': True, 'blockOwnerDeletion': True}
    rs = {'apiVersion': 'apps/v1', 'kind': 'ReplicaSet', 'metadata': {'name': 'web'},
          'spec': {'replicas': 1, 'selector': {'matchLabels': {'app': 'web'}},
                   'template': {'metadata': {'labels': {'app': 'web'}},
                                'spec': {'containers': [{'name': 'w', 'image': 'web:1'}]}}}}
    code, rs = lab.call('POST', '/apis/apps/v1/namespaces/%s/replicasets' % ns, rs)
    rs_owner = {'apiVersion': 'apps/v1', 'kind': 'ReplicaSet', 'name': 'web', 'uid': rs['metadata']['uid'],
                'controller': True, 'blockOwnerDeletion': True}
    running_pod(lab, ns, 'agent-1', node, {'app': 'agent'}, owner)
    running_pod(lab, ns, 'web-1', node, {'app': 'web'}, rs_owner)
    running_pod(lab, ns, 'db-1', node, {'app': 'db'}, rs_owner)
    pdb = {'apiVersion': 'policy/v1', 'kind': 'PodDisruptionBudget', 'metadata': {'name': 'db'},
           'spec': {'minAvailable': 1, 'selector': {'matchLabels': {'app': 'db'}}}}
    assert lab.call('POST', '/apis/policy/v1/namespaces/%s/poddisruptionbudgets' % ns, pdb)[0] == 201
    p = k('drain', node, '--ignore-daemonsets', '--timeout=6s', minor=minor, check=False)
    assert p.returncode != 0
    assert 'Cannot evict pod as it would violate the pod\'s disruption budget' in p.stderr
    pods = {i['metadata']['name'] for i in lab.call('GET', '/api/v1/namespaces/%s/pods' % ns)[1]['items']}
    assert pods == {'agent-1', 'db-1'}
    # without the budget the drain completes; the DaemonSet pod stays
    k('delete', 'pdb', 'db', '-n', ns, minor=minor)
    p = k('drain', node, '--ignore-daemonsets', '--timeout=20s', minor=minor)
    assert 'drained' in p.stdout
    pods = {i['metadata']['name'] for i in lab.call('GET', '/api/v1/namespaces/%s/pods' % ns)[1]['items']}
    assert pods == {'agent-1'}
    assert 'uncordoned' in k('uncordon', node, minor=minor).stdout


@pytest.mark.skipif(not KUBECTL_MINORS, reason='no kubectl 1.27-1.33 on this machine')
def test_kubectl_drain_evicts_through_policy_v1beta1_on_1_21(lab_factory):
    """kubectl reads pods/eviction's group/version from discovery: 1.21 only has policy/v1beta1 Eviction."""
    lab = lab_factory('1.21.14')
    minor = KUBECTL_MINORS[0]
    make_node(lab, 'old1')
    lab.call('POST', '/api/v1/namespaces', {'metadata': {'name': 'old'}})
    running_pod(lab, 'old', 'solo', 'old1', {'app': 'solo'})
    running_pod(lab, 'old', 'held', 'old1', {'app': 'held'})
    pdb = {'apiVersion': 'policy/v1beta1', 'kind': 'PodDisruptionBudget', 'metadata': {'name': 'held'},
           'spec': {'maxUnavailable': 0, 'selector': {'matchLabels': {'app': 'held'}}}}
    assert lab.call('POST', '/apis/policy/v1beta1/namespaces/old/poddisruptionbudgets', pdb)[0] == 201
    p = lab.kubectl('drain', 'old1', '--force', '--timeout=5s', minor=minor, check=False)
    assert p.returncode != 0 and 'disruption budget' in p.stderr
    assert [i['metadata']['name'] for i in lab.call('GET', '/api/v1/namespaces/old/pods')[1]['items']] == ['held']
    log = open(lab.dir + '/apiserver.log').read()
    assert 'pods/solo/eviction' in log


@pytest.mark.skipif(not KUBECTL_MINORS, reason='no kubectl 1.27-1.33 on this machine')
def test_kubectl_everyday_commands(lab_factory):
    """What an operator types while rehearsing, with the newest kubectl (it sends protobuf for `create`)."""
    from lab.facts.versions import last_patch
    minor = KUBECTL_MINORS[-1]
    lab = lab_factory(last_patch(minor))

    def k(*args, **kw):
        return lab.kubectl(*args, minor=minor, **kw).stdout
    k('create', 'namespace', 'daily')
    k('create', 'configmap', 'cfg', '-n', 'daily', '--from-literal=a=b')
    k('create', 'secret', 'generic', 'pw', '-n', 'daily', '--from-literal=p=q')
    k('create', 'serviceaccount', 'robot', '-n', 'daily')
    assert json.loads(k('get', 'cm', 'cfg', '-n', 'daily', '-o', 'json'))['data'] == {'a': 'b'}
    assert json.loads(k('get', 'secret', 'pw', '-n', 'daily', '-o', 'json'))['data'] == {'p': 'cQ=='}
    assert k('auth', 'can-i', 'delete', 'nodes').strip() == 'yes'
    if minor >= 28:
        assert 'system:masters' in k('auth', 'whoami')
    manifest = DEPLOY.replace('NAME', 'web').replace('namespace: default', 'namespace: daily')
    k('apply', '-n', 'daily', '-f', '-', input=manifest)
    k('rollout', 'restart', 'deployment/web', '-n', 'daily')
    k('set', 'image', 'deployment/web', 'c=nginx:1.27', '-n', 'daily')
    d = json.loads(k('get', 'deployment', 'web', '-n', 'daily', '-o', 'json'))
    assert d['spec']['template']['spec']['containers'][0]['image'] == 'nginx:1.27'
    assert 'kubectl.kubernetes.io/restartedAt' in d['spec']['template']['metadata']['annotations']
    assert d['metadata']['generation'] == 3
    out = k('get', 'svc,ep', '-n', 'default')
    assert '10.96.0.1' in out and '443/TCP' in out
    make_node(lab, 'desc1')
    running_pod(lab, 'daily', 'p1', 'desc1', {'app': 'p'})
    assert 'QoS Class:       BestEffort' in k('describe', 'pod', 'p1', '-n', 'daily')
    assert 'Non-terminated Pods:' in k('describe', 'node', 'desc1')
    k('delete', 'namespace', 'daily')
    assert lab.call('GET', '/api/v1/namespaces/daily')[0] == 404
    assert lab.call('GET', '/api/v1/namespaces/daily/pods')[1]['items'] == []


@pytest.mark.skipif(not KUBECTL_MINORS, reason='no kubectl 1.27-1.33 on this machine')
def test_deprecation_warnings_and_componentstatuses(lab_factory):
    """1.19+ warn on a deprecated version (Warning header, printed by kubectl); 1.15 does not."""
    lab = lab_factory('1.21.14')
    minor = KUBECTL_MINORS[0]
    pdb = {'metadata': {'name': 'w'}, 'spec': {'minAvailable': 1, 'selector': {'matchLabels': {'a': 'b'}}}}
    assert lab.call('POST', '/apis/policy/v1beta1/namespaces/default/poddisruptionbudgets', pdb)[0] == 201
    p = lab.kubectl('get', 'poddisruptionbudgets.v1beta1.policy', 'w', minor=minor)
    assert ('Warning: policy/v1beta1 PodDisruptionBudget is deprecated in v1.21+, unavailable in v1.25+; '
            'use policy/v1 PodDisruptionBudget') in p.stderr
    assert 'Warning' not in lab.kubectl('get', 'poddisruptionbudgets.v1.policy', 'w', minor=minor).stderr
    p = lab.kubectl('get', 'componentstatuses', minor=minor)
    assert 'Warning: v1 ComponentStatus is deprecated in v1.19+' in p.stderr
    assert 'etcd-0' in p.stdout and 'Healthy' in p.stdout
    old = lab_factory('1.15.12')
    code, raw = old.raw('GET', '/apis/extensions/v1beta1/namespaces/default/deployments')
    assert code == 200
    import urllib.request
    req = urllib.request.Request(old.url + '/apis/extensions/v1beta1/namespaces/default/deployments')
    with urllib.request.urlopen(req, context=old.ssl_context()) as r:
        assert r.headers.get('Warning') is None


@pytest.mark.skipif(not KUBECTL_MINORS, reason='no kubectl 1.27-1.33 on this machine')
def test_server_side_apply_conflicts_after_client_side_apply(lab_factory):
    """Moving a workload from client-side to server-side apply: a changed field owned by another manager
    conflicts (409) until --force-conflicts, as upstream."""
    from lab.facts.versions import last_patch
    minor = KUBECTL_MINORS[-1]
    lab = lab_factory(last_patch(minor))
    manifest = DEPLOY.replace('NAME', 'mover')
    lab.kubectl('apply', '-f', '-', minor=minor, input=manifest)
    lab.kubectl('scale', 'deployment/mover', '--replicas=5', minor=minor)   # another manager takes .spec.replicas
    p = lab.kubectl('apply', '--server-side', '-f', '-', minor=minor, input=manifest, check=False)
    assert p.returncode != 0
    # kubectl scale sends no fieldManager: the manager is its User-Agent's program name, as upstream derives it
    scaler = os.path.basename(find_kubectl(minor))
    assert ('Apply failed with 1 conflict: conflict with "%s" with subresource "scale" using apps/v1: '
            '.spec.replicas' % scaler) in p.stderr, p.stderr
    # unchanged fields do not conflict: same manifest with the live replica count
    same = manifest.replace('replicas: 2', 'replicas: 5')
    assert 'serverside-applied' in lab.kubectl('apply', '--server-side', '-f', '-', minor=minor, input=same).stdout
    p = lab.kubectl('apply', '--server-side', '--force-conflicts', '-f', '-', minor=minor, input=manifest)
    assert 'serverside-applied' in p.stdout
    d = lab.call('GET', '/apis/apps/v1/namespaces/default/deployments/mover')[1]
    assert d['spec']['replicas'] == 2
