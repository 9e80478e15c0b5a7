"""The emulated kube-apiserver over HTTPS against a real etcd: discovery, auth, CRUD, patches, lists, watch."""

import json
import threading
import time

import pytest


def deployment(name, ns='default', api='apps/v1', replicas=2, selector=True):
    d = {'apiVersion': api, 'kind': 'Deployment', 'metadata': {'name': name, 'namespace': ns, 'labels': {'app': name}},
         'spec': {'replicas': replicas,
                  'template': {'metadata': {'labels': {'app': name}},
                               'spec': {'containers': [{'name': 'c', 'image': 'nginx:1.25'}]}}}}
    if selector:
        d['spec']['selector'] = {'matchLabels': {'app': name}}
    return d


@pytest.fixture(scope='module')
def lab29(lab_factory):
    return lab_factory('1.29.15')


@pytest.fixture(scope='module')
def lab15(lab_factory):
    return lab_factory('1.15.12')


@pytest.fixture(scope='module')
def lab16(lab_factory):
    return lab_factory('1.16.15')


def test_version_and_health(lab29, lab15):
    code, v = lab29.call('GET', '/version', cert=None)
    assert code == 200 and v['gitVersion'] == 'v1.29.15' and (v['major'], v['minor']) == ('1', '29')
    assert v['platform'] == 'linux/amd64'
    for path in ('/healthz', '/livez', '/readyz'):
        assert lab29.raw('GET', path, cert=None) == (200, b'ok')
    code, body = lab29.raw('GET', '/readyz?verbose', cert=None)
    assert code == 200 and b'[+]etcd ok' in body and body.endswith(b'readyz check passed\n')
    # /readyz and /livez arrived in 1.16
    assert lab15.raw('GET', '/readyz', cert=None)[0] == 404
    assert lab15.raw('GET', '/healthz', cert=None) == (200, b'ok')


def test_readyz_follows_etcd(lab_factory, tmp_path):
    from labapi_support import Lab, Pki
    lab = Lab(str(tmp_path), '1.30.14', Pki(str(tmp_path)))
    try:
        lab.start_etcd()
        lab.start_apiserver()
        assert lab.raw('GET', '/readyz', cert=None)[0] == 200
        lab.etcd_proc.terminate()
        lab.etcd_proc.wait(10)
        code, body = lab.raw('GET', '/readyz', cert=None)
        assert code == 500 and b'[-]etcd failed' in body
        assert lab.raw('GET', '/livez', cert=None)[0] == 200
        assert lab.call('GET', '/api/v1/namespaces')[0] == 500
    finally:
        lab.stop()


def test_authentication_and_authorization(lab29):
    assert lab29.call('GET', '/api/v1/namespaces', cert=None)[0] == 401
    assert lab29.call('GET', '/api/v1/namespaces', cert=None,
                      headers={'Authorization': 'Bearer nope'})[0] == 401
    bob = lab29.pki.issue('bob', 'bob', orgs=['developers'])
    code, st = lab29.call('GET', '/api/v1/namespaces/default/pods', cert=bob)
    assert code == 403
    assert st['message'] == ('pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the '
                             'namespace "default"')
    node = lab29.pki.issue('node-n9', 'system:node:n9', orgs=['system:nodes'])
    assert lab29.call('GET', '/api/v1/pods', cert=node)[0] == 200
    assert lab29.call('POST', '/api/v1/namespaces', {'metadata': {'name': 'x'}}, cert=node)[0] == 403
    # SelfSubjectReview / SelfSubjectAccessReview answer for anyone authenticated
    code, ssar = lab29.call('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
                            {'spec': {'resourceAttributes': {'verb': 'list', 'resource': 'pods'}}}, cert=bob)
    assert code == 201 and ssar['status']['allowed'] is False


def test_discovery_1_15_and_1_16(lab15, lab16):
    code, groups = lab15.call('GET', '/apis')
    gvs = {v['groupVersion'] for g in groups['groups'] for v in g['versions']}
    assert {'extensions/v1beta1', 'apps/v1beta1', 'apps/v1beta2', 'apps/v1'} <= gvs
    assert 'networking.k8s.io/v1beta1' in gvs and 'policy/v1' not in gvs
    code, rl = lab15.call('GET', '/apis/extensions/v1beta1')
    names = {r['name'] for r in rl['resources']}
    assert {'deployments', 'deployments/scale', 'daemonsets', 'replicasets', 'ingresses', 'networkpolicies',
            'podsecuritypolicies'} <= names
    assert lab16.call('GET', '/apis/extensions/v1beta1')[1]['resources'][0]['name'] == 'ingresses'
    assert lab16.call('GET', '/apis/extensions/v1beta1/namespaces/default/deployments')[0] == 404
    assert lab16.call('GET', '/apis/apps/v1beta1')[0] == 404
    code, core = lab16.call('GET', '/api/v1')
    ev = [r for r in core['resources'] if r['name'] == 'pods/eviction'][0]
    assert (ev['group'], ev['version'], ev['kind'], ev['verbs']) == ('policy', 'v1beta1', 'Eviction', ['create'])
    pods = [r for r in core['resources'] if r['name'] == 'pods'][0]
    assert pods['shortNames'] == ['po'] and pods['namespaced'] and 'watch' in pods['verbs']


def test_extensions_deployment_on_1_15_is_apps_v1_and_stored_as_written(lab15):
    d = deployment('legacy', api='extensions/v1beta1', selector=False)
    code, created = lab15.call('POST', '/apis/extensions/v1beta1/namespaces/default/deployments', d)
    assert code == 201, created
    # extensions/v1beta1 defaults: selector from the template labels, old rollout defaults
    assert created['spec']['selector'] == {'matchLabels': {'app': 'legacy'}}
    assert created['spec']['revisionHistoryLimit'] == 2147483647
    code, as_apps = lab15.call('GET', '/apis/apps/v1/namespaces/default/deployments/legacy')
    assert code == 200 and as_apps['apiVersion'] == 'apps/v1' and as_apps['kind'] == 'Deployment'
    assert as_apps['metadata']['uid'] == created['metadata']['uid']
    kv = lab15.store.get('/registry/deployments/default/legacy')
    assert json.loads(kv.value)['apiVersion'] == 'extensions/v1beta1'
    assert str(kv.mod_revision) == as_apps['metadata']['resourceVersion']
    mf = as_apps['metadata']['managedFields']
    assert [(m['manager'], m['operation'], m['apiVersion']) for m in mf] == [
        ('Python-urllib', 'Update', 'extensions/v1beta1')]
    # apps/v1 requires a selector
    code, st = lab15.call('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('nosel', selector=False))
    assert code == 422 and st['reason'] == 'Invalid'
    assert st['details']['causes'][0]['field'] == 'spec.selector'
    # listed under every served version
    for gv in ('apps/v1', 'apps/v1beta2', 'apps/v1beta1', 'extensions/v1beta1'):
        code, lst = lab15.call('GET', '/apis/%s/deployments' % gv)
        assert code == 200 and lst['kind'] == 'DeploymentList' and lst['apiVersion'] == gv
        assert [i['metadata']['name'] for i in lst['items']] == ['legacy']
        assert all(i['apiVersion'] == gv for i in lst['items'])
    # a write through apps/v1 records the new version in etcd and in managedFields
    code, upd = lab15.call('PATCH', '/apis/apps/v1/namespaces/default/deployments/legacy?fieldManager=migrator',
                           {'metadata': {'labels': {'migrated': 'yes'}}}, ctype='application/merge-patch+json')
    assert code == 200
    assert json.loads(lab15.store.get('/registry/deployments/default/legacy').value)['apiVersion'] == 'apps/v1'
    assert {(m['manager'], m['apiVersion']) for m in upd['metadata']['managedFields']} == {
        ('Python-urllib', 'extensions/v1beta1'), ('migrator', 'apps/v1')}


def test_crud_conflict_generation(lab29):
    base = '/apis/apps/v1/namespaces/default/deployments'
    code, d = lab29.call('POST', base, deployment('crud'))
    assert code == 201 and d['metadata']['generation'] == 1 and d['metadata']['uid']
    assert lab29.call('POST', base, deployment('crud'))[1]['reason'] == 'AlreadyExists'
    rv = d['metadata']['resourceVersion']
    d['spec']['replicas'] = 5
    code, d2 = lab29.call('PUT', base + '/crud', d)
    assert code == 200 and d2['metadata']['generation'] == 2 and int(d2['metadata']['resourceVersion']) > int(rv)
    d['spec']['replicas'] = 6   # stale resourceVersion
    code, st = lab29.call('PUT', base + '/crud', d)
    assert code == 409 and st['reason'] == 'Conflict'
    # label change: no generation bump
    code, d3 = lab29.call('PATCH', base + '/crud', {'metadata': {'labels': {'x': 'y'}}},
                          ctype='application/merge-patch+json')
    assert d3['metadata']['generation'] == 2 and d3['metadata']['labels'] == {'app': 'crud', 'x': 'y'}
    # status subresource: main resource writes do not change status, status writes do not change spec
    code, s = lab29.call('PUT', base + '/crud/status', dict(d3, status={'replicas': 5, 'readyReplicas': 5},
                                                            spec=dict(d3['spec'], replicas=1)))
    assert code == 200 and s['status']['readyReplicas'] == 5 and s['spec']['replicas'] == 5
    code, m = lab29.call('PATCH', base + '/crud', {'status': {'readyReplicas': 0}}, ctype='application/merge-patch+json')
    assert m['status']['readyReplicas'] == 5
    # JSON patch, strategic merge with a merge key
    code, j = lab29.call('PATCH', base + '/crud', [{'op': 'replace', 'path': '/spec/replicas', 'value': 7}],
                         ctype='application/json-patch+json')
    assert code == 200 and j['spec']['replicas'] == 7
    smp = {'spec': {'template': {'spec': {'containers': [{'name': 'side', 'image': 'busybox'}]}}}}
    code, sm = lab29.call('PATCH', base + '/crud', smp, ctype='application/strategic-merge-patch+json')
    assert [c['name'] for c in sm['spec']['template']['spec']['containers']] == ['c', 'side']
    code, sc = lab29.call('PATCH', base + '/crud/scale', {'spec': {'replicas': 3}},
                          ctype='application/merge-patch+json')
    assert code == 200 and sc['kind'] == 'Scale' and sc['spec']['replicas'] == 3
    assert lab29.call('GET', base + '/crud')[1]['spec']['replicas'] == 3
    code, gone = lab29.call('DELETE', base + '/crud')
    assert code == 200
    assert lab29.call('GET', base + '/crud')[0] == 404
    code, st = lab29.call('GET', base + '/crud')
    assert st['message'] == 'deployments.apps "crud" not found'


def test_node_defaults_and_namespaces(lab29):
    code, n = lab29.call('POST', '/api/v1/nodes', {'metadata': {'name': 'bare'}})
    assert code == 201
    # Go serialises NodeSystemInfo strings without omitempty: clients (the Python client) require them
    assert set(n['status']['nodeInfo']) >= {'machineID', 'systemUUID', 'bootID', 'kernelVersion', 'osImage',
                                            'containerRuntimeVersion', 'kubeletVersion', 'kubeProxyVersion',
                                            'operatingSystem', 'architecture'}
    code, nss = lab29.call('GET', '/api/v1/namespaces')
    assert {'default', 'kube-system', 'kube-public', 'kube-node-lease'} <= {i['metadata']['name'] for i in nss['items']}
    code, st = lab29.call('POST', '/api/v1/namespaces/nope/configmaps', {'metadata': {'name': 'c'}})
    assert code == 404 and st['message'] == 'namespaces "nope" not found'


def test_list_selectors_limit_continue(lab29):
    lab29.call('POST', '/api/v1/namespaces', {'metadata': {'name': 'sel'}})
    for i in range(7):
        pod = {'metadata': {'name': 'p%d' % i, 'labels': {'tier': 'a' if i % 2 else 'b', 'i': str(i)}},
               'spec': {'nodeName': 'n%d' % (i % 3), 'containers': [{'name': 'c', 'image': 'x'}]}}
        assert lab29.call('POST', '/api/v1/namespaces/sel/pods', pod)[0] == 201
    names = []
    token = ''
    pages = 0
    while True:
        code, lst = lab29.call('GET', '/api/v1/namespaces/sel/pods?limit=3' + ('&continue=' + token if token else ''))
        assert code == 200
        names += [p['metadata']['name'] for p in lst['items']]
        pages += 1
        token = lst['metadata'].get('continue')
        if not token:
            break
    assert names == ['p%d' % i for i in range(7)] and pages == 3

    def q(s):
        return sorted(p['metadata']['name'] for p in lab29.call('GET', '/api/v1/namespaces/sel/pods?' + s)[1]['items'])
    assert q('labelSelector=tier%3Da') == ['p1', 'p3', 'p5']
    assert q('labelSelector=tier+in+(b),i!=0') == ['p2', 'p4', 'p6']
    assert q('fieldSelector=spec.nodeName%3Dn1') == ['p1', 'p4']
    assert q('fieldSelector=status.phase%3DPending,metadata.name%3Dp6') == ['p6']
    assert q('fieldSelector=spec.nodeName%3Dn1&limit=1') == ['p1']
    code, st = lab29.call('GET', '/api/v1/namespaces/sel/pods?fieldSelector=spec.bogus%3Dx')
    assert code == 400


def test_watch(lab29):
    import ssl
    import urllib.request
    lab29.call('POST', '/api/v1/namespaces', {'metadata': {'name': 'w'}})
    code, lst = lab29.call('GET', '/api/v1/namespaces/w/configmaps')
    rv = lst['metadata']['resourceVersion']
    events = []

    def reader():
        req = urllib.request.Request(lab29.url + '/api/v1/namespaces/w/configmaps?watch=1&timeoutSeconds=5'
                                     '&resourceVersion=' + rv)
        with urllib.request.urlopen(req, context=lab29.ssl_context()) as r:
            for line in r:
                events.append(json.loads(line))
    t = threading.Thread(target=reader)
    t.start()
    time.sleep(1)
    lab29.call('POST', '/api/v1/namespaces/w/configmaps', {'metadata': {'name': 'a'}, 'data': {'k': '1'}})
    lab29.call('PATCH', '/api/v1/namespaces/w/configmaps/a', {'data': {'k': '2'}}, ctype='application/merge-patch+json')
    lab29.call('DELETE', '/api/v1/namespaces/w/configmaps/a')
    t.join(15)
    seen = [(e['type'], e['object']['data']['k']) for e in events]
    assert seen == [('ADDED', '1'), ('MODIFIED', '2'), ('DELETED', '2')]
    assert all(e['object']['kind'] == 'ConfigMap' for e in events)


def test_eviction_honours_pdb(lab29):
    lab29.call('POST', '/api/v1/namespaces', {'metadata': {'name': 'ev'}})
    for i in range(2):
        pod = {'metadata': {'name': 'db%d' % i, 'labels': {'app': 'db'}},
               'spec': {'nodeName': 'n1', 'containers': [{'name': 'c', 'image': 'x'}]}}
        lab29.call('POST', '/api/v1/namespaces/ev/pods', pod)
        lab29.call('PATCH', '/api/v1/namespaces/ev/pods/db%d/status' % i,
                   {'status': {'phase': 'Running', 'conditions': [{'type': 'Ready', 'status': 'True'}]}},
                   ctype='application/merge-patch+json')
    pdb = {'apiVersion': 'policy/v1', 'kind': 'PodDisruptionBudget', 'metadata': {'name': 'db'},
           'spec': {'minAvailable': 1, 'selector': {'matchLabels': {'app': 'db'}}}}
    assert lab29.call('POST', '/apis/policy/v1/namespaces/ev/poddisruptionbudgets', pdb)[0] == 201
    code, got = lab29.call('GET', '/apis/policy/v1/namespaces/ev/poddisruptionbudgets/db')
    assert got['status']['disruptionsAllowed'] == 1 and got['status']['currentHealthy'] == 2
    ev = {'apiVersion': 'policy/v1', 'kind': 'Eviction', 'metadata': {'name': 'db0', 'namespace': 'ev'}}
    assert lab29.call('POST', '/api/v1/namespaces/ev/pods/db0/eviction', ev)[0] == 201
    # bound to a node: graceful, the pod is Terminating until its kubelet finishes it
    code, db0 = lab29.call('GET', '/api/v1/namespaces/ev/pods/db0')
    assert code == 200 and db0['metadata']['deletionGracePeriodSeconds'] == 30
    code, st = lab29.call('POST', '/api/v1/namespaces/ev/pods/db1/eviction', dict(ev, metadata={'name': 'db1'}))
    assert code == 429
    assert st['message'] == 'Cannot evict pod as it would violate the pod\'s disruption budget.'
    assert st['details']['causes'] == [{'reason': 'DisruptionBudget',
                                        'message': 'The disruption budget db needs 1 healthy pods and has 1 currently'}]
    assert lab29.call('GET', '/api/v1/namespaces/ev/pods/db1')[0] == 200
    # what the kubelet does once the containers stopped
    assert lab29.call('DELETE', '/api/v1/namespaces/ev/pods/db0',
                      {'gracePeriodSeconds': 0, 'preconditions': {'uid': db0['metadata']['uid']}})[0] == 200
    assert lab29.call('GET', '/api/v1/namespaces/ev/pods/db0')[0] == 404


def test_graceful_pod_deletion(lab29):
    lab29.call('POST', '/api/v1/namespaces', {'metadata': {'name': 'grace'}})
    pod = {'metadata': {'name': 'g'}, 'spec': {'containers': [{'name': 'c', 'image': 'x'}]}}
    assert lab29.call('POST', '/api/v1/namespaces/grace/pods', pod)[0] == 201
    assert lab29.call('DELETE', '/api/v1/namespaces/grace/pods/g')[0] == 200   # unscheduled: at once
    assert lab29.call('GET', '/api/v1/namespaces/grace/pods/g')[0] == 404
    pod['spec']['nodeName'] = 'n1'
    pod['spec']['terminationGracePeriodSeconds'] = 45
    assert lab29.call('POST', '/api/v1/namespaces/grace/pods', pod)[0] == 201
    code, p = lab29.call('DELETE', '/api/v1/namespaces/grace/pods/g')
    assert code == 200 and p['metadata']['deletionGracePeriodSeconds'] == 45 and p['metadata']['deletionTimestamp']
    code, p = lab29.call('DELETE', '/api/v1/namespaces/grace/pods/g', {'gracePeriodSeconds': 5})
    assert p['metadata']['deletionGracePeriodSeconds'] == 5          # shortened, never lengthened
    code, p = lab29.call('DELETE', '/api/v1/namespaces/grace/pods/g', {'gracePeriodSeconds': 60})
    assert p['metadata']['deletionGracePeriodSeconds'] == 5
    assert lab29.call('DELETE', '/api/v1/namespaces/grace/pods/g', {'gracePeriodSeconds': 0})[0] == 200
    assert lab29.call('GET', '/api/v1/namespaces/grace/pods/g')[0] == 404


def test_server_side_apply_and_managed_fields(lab29):
    body = ('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  namespace: default\n'
            'data:\n  a: "1"\n').encode()
    path = '/api/v1/namespaces/default/configmaps/ssa'
    assert lab29.call('PATCH', path, body, ctype='application/apply-patch+yaml')[0] == 400  # fieldManager required
    code, cm = lab29.call('PATCH', path + '?fieldManager=tool', body, ctype='application/apply-patch+yaml')
    assert code == 201 and cm['data'] == {'a': '1'}
    code, cm = lab29.call('PATCH', path + '?fieldManager=tool', body.replace(b'"1"', b'"2"'),
                          ctype='application/apply-patch+yaml')
    assert code == 200 and cm['data'] == {'a': '2'}
    assert [(m['manager'], m['operation']) for m in cm['metadata']['managedFields']] == [('tool', 'Apply')]
    assert cm['metadata']['managedFields'][0]['fieldsV1'] == {'f:data': {'f:a': {}}}


def test_custom_resources(lab29):
    crd = {'apiVersion': 'apiextensions.k8s.io/v1', 'kind': 'CustomResourceDefinition',
           'metadata': {'name': 'widgets.lab.example.com'},
           'spec': {'group': 'lab.example.com', 'scope': 'Namespaced',
                    'names': {'plural': 'widgets', 'singular': 'widget', 'kind': 'Widget', 'shortNames': ['wd']},
                    'versions': [{'name': 'v1', 'served': True, 'storage': True,
                                  'schema': {'openAPIV3Schema': {'type': 'object',
                                                                 'x-kubernetes-preserve-unknown-fields': True}}}]}}
    assert lab29.call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd)[0] == 201
    assert 'lab.example.com' in {g['name'] for g in lab29.call('GET', '/apis')[1]['groups']}
    w = {'apiVersion': 'lab.example.com/v1', 'kind': 'Widget', 'metadata': {'name': 'w1'}, 'spec': {'size': 3}}
    assert lab29.call('POST', '/apis/lab.example.com/v1/namespaces/default/widgets', w)[0] == 201
    code, lst = lab29.call('GET', '/apis/lab.example.com/v1/widgets')
    assert code == 200 and lst['items'][0]['spec'] == {'size': 3}
    assert lab29.store.get('/registry/lab.example.com/widgets/default/w1') is not None


def test_conversions_on_1_21(lab_factory):
    """Objects written in a version that is about to go are read back in the newer ones (1.21 serves both)."""
    lab = lab_factory('1.21.14')
    ing = {'apiVersion': 'extensions/v1beta1', 'kind': 'Ingress', 'metadata': {'name': 'old'},
           'spec': {'backend': {'serviceName': 'web', 'servicePort': 80},
                    'rules': [{'host': 'a.lab', 'http': {'paths': [{'path': '/', 'backend': {
                        'serviceName': 'web', 'servicePort': 'http'}}]}}]}}
    assert lab.call('POST', '/apis/extensions/v1beta1/namespaces/default/ingresses', ing)[0] == 201
    code, v1 = lab.call('GET', '/apis/networking.k8s.io/v1/namespaces/default/ingresses/old')
    assert code == 200 and v1['apiVersion'] == 'networking.k8s.io/v1'
    assert v1['spec']['defaultBackend'] == {'service': {'name': 'web', 'port': {'number': 80}}}
    path = v1['spec']['rules'][0]['http']['paths'][0]
    assert path['backend'] == {'service': {'name': 'web', 'port': {'name': 'http'}}}
    assert path['pathType'] == 'ImplementationSpecific'
    assert json.loads(lab.store.get('/registry/ingresses/default/old').value)['apiVersion'] == 'extensions/v1beta1'

    hpa = {'apiVersion': 'autoscaling/v1', 'kind': 'HorizontalPodAutoscaler', 'metadata': {'name': 'web'},
           'spec': {'scaleTargetRef': {'apiVersion': 'apps/v1', 'kind': 'Deployment', 'name': 'web'},
                    'minReplicas': 1, 'maxReplicas': 3, 'targetCPUUtilizationPercentage': 70}}
    assert lab.call('POST', '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers', hpa)[0] == 201
    v2b2 = lab.call('GET', '/apis/autoscaling/v2beta2/namespaces/default/horizontalpodautoscalers/web')[1]
    assert v2b2['spec']['metrics'] == [{'type': 'Resource', 'resource': {
        'name': 'cpu', 'target': {'type': 'Utilization', 'averageUtilization': 70}}}]
    v2b1 = lab.call('GET', '/apis/autoscaling/v2beta1/namespaces/default/horizontalpodautoscalers/web')[1]
    assert v2b1['spec']['metrics'][0]['resource'] == {'name': 'cpu', 'targetAverageUtilization': 70}

    cj = {'apiVersion': 'batch/v1beta1', 'kind': 'CronJob', 'metadata': {'name': 'tick'},
          'spec': {'schedule': '*/5 * * * *', 'jobTemplate': {'spec': {'template': {'spec': {
              'restartPolicy': 'OnFailure', 'containers': [{'name': 't', 'image': 'busybox'}]}}}}}}
    assert lab.call('POST', '/apis/batch/v1beta1/namespaces/default/cronjobs', cj)[0] == 201
    code, cj1 = lab.call('GET', '/apis/batch/v1/namespaces/default/cronjobs/tick')
    assert code == 200 and cj1['apiVersion'] == 'batch/v1' and cj1['spec']['schedule'] == '*/5 * * * *'

    crd = {'apiVersion': 'apiextensions.k8s.io/v1beta1', 'kind': 'CustomResourceDefinition',
           'metadata': {'name': 'gadgets.lab.example.com'},
           'spec': {'group': 'lab.example.com', 'version': 'v1', 'scope': 'Namespaced',
                    'names': {'plural': 'gadgets', 'kind': 'Gadget'},
                    'validation': {'openAPIV3Schema': {'type': 'object'}}}}
    assert lab.call('POST', '/apis/apiextensions.k8s.io/v1beta1/customresourcedefinitions', crd)[0] == 201
    v1crd = lab.call('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.lab.example.com')[1]
    assert v1crd['spec']['versions'][0]['name'] == 'v1'
    assert v1crd['spec']['versions'][0]['schema'] == {'openAPIV3Schema': {'type': 'object'}}
    time.sleep(2.1)  # the CRD cache refreshes
    assert lab.call('GET', '/apis/lab.example.com/v1/gadgets')[0] == 200
    # 1.21 evicts through policy/v1beta1
    code, core = lab.call('GET', '/api/v1')
    ev = [r for r in core['resources'] if r['name'] == 'pods/eviction'][0]
    assert (ev['group'], ev['version']) == ('policy', 'v1beta1')


def test_1_10_serves_its_own_set(lab_factory):
    lab = lab_factory('1.10.13')
    code, groups = lab.call('GET', '/apis')
    names = {g['name']: g['preferredVersion']['groupVersion'] for g in groups['groups']}
    assert names['apps'] == 'apps/v1' and names['extensions'] == 'extensions/v1beta1'
    assert 'coordination.k8s.io' not in names and 'scheduling.k8s.io' not in names
    assert lab.call('GET', '/apis/policy/v1')[0] == 404
    assert lab.call('GET', '/openapi/v3')[0] == 404
    d = deployment('tenten', api='apps/v1beta2')
    assert lab.call('POST', '/apis/apps/v1beta2/namespaces/default/deployments', d)[0] == 201
    assert lab.call('GET', '/apis/extensions/v1beta1/namespaces/default/deployments/tenten')[1]['apiVersion'] == \
        'extensions/v1beta1'


def test_rbac_for_other_users(lab29):
    lab29.call('POST', '/api/v1/namespaces', {'metadata': {'name': 'team'}})
    alice = lab29.pki.issue('alice', 'alice', orgs=['devs'])
    assert lab29.call('GET', '/api/v1/namespaces/team/pods', cert=alice)[0] == 403
    rb = {'apiVersion': 'rbac.authorization.k8s.io/v1', 'kind': 'RoleBinding', 'metadata': {'name': 'devs-view'},
          'roleRef': {'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'ClusterRole', 'name': 'view'},
          'subjects': [{'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'Group', 'name': 'devs'}]}
    assert lab29.call('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/team/rolebindings', rb)[0] == 201
    assert lab29.call('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/cluster-admin')[0] == 200
    time.sleep(2.1)  # the authorizer's cache
    assert lab29.call('GET', '/api/v1/namespaces/team/pods', cert=alice)[0] == 200
    assert lab29.call('GET', '/apis/apps/v1/namespaces/team/deployments', cert=alice)[0] == 200
    assert lab29.call('GET', '/api/v1/namespaces/default/pods', cert=alice)[0] == 403
    assert lab29.call('GET', '/api/v1/namespaces/team/secrets', cert=alice)[0] == 403
    code, st = lab29.call('POST', '/api/v1/namespaces/team/configmaps', {'metadata': {'name': 'x'}}, cert=alice)
    assert code == 403 and 'cannot create resource "configmaps"' in st['message']


def test_storage_version_migration_api_when_enabled(lab_factory, tmp_path):
    """1.30+ serves storagemigration.k8s.io/v1alpha1 only when --runtime-config enables it."""
    from labapi_support import Lab, Pki
    lab = Lab(str(tmp_path), '1.30.14', Pki(str(tmp_path)))
    flags = lab.apiserver_flags
    lab.apiserver_flags = lambda: flags() + ['--runtime-config=storagemigration.k8s.io/v1alpha1=true',
                                             '--feature-gates=StorageVersionMigrator=true']
    try:
        lab.start_etcd()
        lab.start_apiserver()
        rl = lab.call('GET', '/apis/storagemigration.k8s.io/v1alpha1')[1]
        assert [r['name'] for r in rl['resources']] == ['storageversionmigrations', 'storageversionmigrations/status']
        svm = {'apiVersion': 'storagemigration.k8s.io/v1alpha1', 'kind': 'StorageVersionMigration',
               'metadata': {'name': 'deployments'},
               'spec': {'resource': {'group': 'apps', 'version': 'v1', 'resource': 'deployments'}}}
        fs = {'apiVersion': 'flowcontrol.apiserver.k8s.io/v1beta3', 'kind': 'FlowSchema', 'metadata': {'name': 'old'},
              'spec': {'priorityLevelConfiguration': {'name': 'global-default'}, 'matchingPrecedence': 9000}}
        assert lab.call('POST', '/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas', fs)[0] == 201
        assert json.loads(lab.store.get('/registry/flowschemas/old').value)['apiVersion'].endswith('/v1beta3')
        svm['metadata']['name'] = 'flowschemas'
        svm['spec']['resource'] = {'group': 'flowcontrol.apiserver.k8s.io', 'version': 'v1', 'resource': 'flowschemas'}
        code, got = lab.call('POST', '/apis/storagemigration.k8s.io/v1alpha1/storageversionmigrations', svm)
        assert code == 201 and got['status'] == {}
        # the migrator (a kube-controller-manager controller upstream) works through the API
        from lab.emulator import api_svm
        from lab.emulator.client import Client
        client = Client.from_kubeconfig(lab.kubeconfig())
        assert api_svm.migrate_pending(client) == ['flowschemas']
        assert json.loads(lab.store.get('/registry/flowschemas/old').value)['apiVersion'] == \
            'flowcontrol.apiserver.k8s.io/v1'
        done = lab.call('GET', '/apis/storagemigration.k8s.io/v1alpha1/storageversionmigrations/flowschemas')[1]
        conditions = [(c['type'], c['status']) for c in done['status']['conditions']]
        assert conditions == [('Running', 'False'), ('Succeeded', 'True')]
        assert api_svm.migrate_pending(client) == []
    finally:
        lab.stop()
    assert 'storagemigration.k8s.io' not in {g['name'] for g in lab_factory('1.30.14').call('GET', '/apis')[1]['groups']}


def test_services_get_cluster_ips_and_node_ports(lab29):
    svc = {'metadata': {'name': 'np'}, 'spec': {'type': 'NodePort', 'selector': {'app': 'np'},
                                                'ports': [{'port': 80}, {'port': 443, 'nodePort': 30443}]}}
    code, s = lab29.call('POST', '/api/v1/namespaces/default/services', svc)
    assert code == 201
    ip = s['spec']['clusterIP']
    assert ip.startswith('10.') and ip != '10.96.0.1' and s['spec']['clusterIPs'] == [ip]
    assert [p['nodePort'] for p in s['spec']['ports']] == [30000, 30443]
    assert [p['targetPort'] for p in s['spec']['ports']] == [80, 443]
    code, s2 = lab29.call('POST', '/api/v1/namespaces/default/services',
                          {'metadata': {'name': 'np2'}, 'spec': {'type': 'NodePort', 'ports': [{'port': 80}]}})
    assert s2['spec']['ports'][0]['nodePort'] == 30001 and s2['spec']['clusterIP'] != ip
    ep = lab29.call('GET', '/api/v1/namespaces/default/endpoints/kubernetes')[1]
    assert ep['subsets'][0]['addresses'] == [{'ip': '127.0.0.1'}]


def test_mixed_versions_share_etcd(lab15, tmp_path):
    """Mid-upgrade: a 1.16 apiserver on the same etcd reads what 1.15 stored as extensions/v1beta1."""
    import subprocess
    import sys
    from labapi_support import ROOT, free_port
    code, _d = lab15.call('POST', '/apis/extensions/v1beta1/namespaces/default/deployments',
                          deployment('mixed', api='extensions/v1beta1', selector=False))
    assert code == 201
    port = free_port()
    flags = [f for f in lab15.apiserver_flags() if not f.startswith('--secure-port=')]
    log = open(str(tmp_path / 'apiserver-116.log'), 'wb')
    p = subprocess.Popen([sys.executable, '-m', 'lab.emulator', 'kube-apiserver', '--lab-version=1.16.15',
                          '--secure-port=%d' % port] + flags, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    url = lab15.url
    try:
        lab15.url = 'https://127.0.0.1:%d' % port
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if lab15.raw('GET', '/readyz', cert=None)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        assert lab15.call('GET', '/version')[1]['gitVersion'] == 'v1.16.15'
        assert lab15.call('GET', '/apis/extensions/v1beta1/namespaces/default/deployments/mixed')[0] == 404
        code, d = lab15.call('GET', '/apis/apps/v1/namespaces/default/deployments/mixed')
        assert code == 200 and d['spec']['selector'] == {'matchLabels': {'app': 'mixed'}}
        assert json.loads(lab15.store.get('/registry/deployments/default/mixed').value)['apiVersion'] == \
            'extensions/v1beta1'
        ep = lab15.call('GET', '/api/v1/namespaces/default/endpoints/kubernetes')[1]
        assert ep['subsets'][0]['addresses'] == [{'ip': '127.0.0.1'}]
    finally:
        lab15.url = url
        p.terminate()
        p.wait(10)


def test_event_ttl_and_compaction(lab29):
    """Events carry an etcd lease of --event-ttl (+ reuse window); the compactor compacts old revisions."""
    ev = {'metadata': {'name': 'e1'}, 'involvedObject': {'kind': 'Node', 'name': 'n1'}, 'reason': 'Test',
          'message': 'hello', 'type': 'Normal'}
    assert lab29.call('POST', '/api/v1/namespaces/default/events', ev)[0] == 201
    from lab.emulator.store import b64
    kv = lab29.store.call('/v3/kv/range', {'key': b64('/registry/events/default/e1')})['kvs'][0]
    lease = int(kv.get('lease', 0))
    assert lease
    ttl = lab29.store.call('/v3/kv/lease/timetolive', {'ID': str(lease)})
    assert 3600 < int(ttl['TTL']) <= 3660
    from lab.emulator import apiserver
    t, rev = apiserver.compact_once(lab29.store, 0, 0)
    assert t == 1 and rev > 0
    lab29.store.put('/registry/lab-test/x', '1')
    lab29.store.put('/registry/lab-test/x', '2')
    t, rev2 = apiserver.compact_once(lab29.store, t, rev)
    assert t == 2 and rev2 > rev
    with pytest.raises(Exception) as e:
        lab29.store.range('/registry/lab-test/x', revision=rev - 1)
    assert 'compacted' in str(e.value)
    lab29.store.delete('/registry/lab-test/x')


def test_insecure_port_before_1_24(tmp_path):
    """--insecure-port (gone in 1.24) serves plain HTTP without authentication, as those releases did."""
    import urllib.request
    from labapi_support import Lab, Pki, free_port
    lab = Lab(str(tmp_path), '1.15.12', Pki(str(tmp_path)))
    port = free_port()
    flags = lab.apiserver_flags
    lab.apiserver_flags = lambda: flags() + ['--insecure-port=%d' % port, '--insecure-bind-address=127.0.0.1']
    try:
        lab.start_etcd()
        lab.start_apiserver()
        with urllib.request.urlopen('http://127.0.0.1:%d/api/v1/namespaces/kube-system' % port, timeout=10) as r:
            assert json.loads(r.read())['metadata']['name'] == 'kube-system'
    finally:
        lab.stop()


def test_keep_alive_survives_early_errors(lab29):
    """An answer sent before the handler needed the body (404, 403) must not leave it in the connection."""
    import http.client
    c = http.client.HTTPSConnection('127.0.0.1', lab29.port, context=lab29.ssl_context(), timeout=10)
    body = json.dumps({'metadata': {'name': 'x'}})
    for path in ('/apis/bogus.example.com/v1/things', '/api/v1/namespaces/nope/configmaps'):
        c.request('POST', path, body=body, headers={'Content-Type': 'application/json'})
        r = c.getresponse()
        assert r.status == 404
        r.read()
    c.request('GET', '/api/v1/namespaces/default')
    r = c.getresponse()
    assert r.status == 200 and json.loads(r.read())['metadata']['name'] == 'default'
    c.close()
