"""The official Python client, kubernetes.core modules and the upstream schemas against the lab apiserver."""

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

kubernetes = pytest.importorskip('kubernetes')
kubernetes_validate = pytest.importorskip('kubernetes_validate')

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


@pytest.fixture(scope='module')
def lab(lab_factory):
    return lab_factory('1.31.14')


def client_for(lab):
    from kubernetes import client, config
    cfg = client.Configuration()
    config.load_kube_config(config_file=lab.kubeconfig(), client_configuration=cfg)
    return client.ApiClient(cfg)


def seed(lab, ns='apps'):
    """Objects of the kinds the collection reads, written the way kubectl and the components write them."""
    from labapi_support import make_node, running_pod
    lab.call('POST', '/api/v1/namespaces', {'metadata': {'name': ns}})
    make_node(lab, 'py1')
    ds = {'apiVersion': 'apps/v1', 'kind': 'DaemonSet', 'metadata': {'name': 'agent'},
          'spec': {'selector': {'matchLabels': {'app': 'agent'}},
                   'template': {'metadata': {'labels': {'app': 'agent'}},
                                'spec': {'containers': [{'name': 'a', 'image': 'agent:1'}]}}}}
    code, ds = lab.call('POST', '/apis/apps/v1/namespaces/%s/daemonsets' % ns, ds)
    assert code == 201
    running_pod(lab, ns, 'agent-py1', 'py1', {'app': 'agent'},
                {'apiVersion': 'apps/v1', 'kind': 'DaemonSet', 'name': 'agent', 'uid': ds['metadata']['uid'],
                 'controller': True})
    running_pod(lab, ns, 'web-1', 'py1', {'app': 'web'})
    objs = [
        ('/api/v1/namespaces/%s/services' % ns, {'metadata': {'name': 'web'},
                                                 'spec': {'selector': {'app': 'web'}, 'ports': [{'port': 80}]}}),
        ('/api/v1/namespaces/%s/configmaps' % ns, {'metadata': {'name': 'cfg'}, 'data': {'a': 'b'}}),
        ('/apis/policy/v1/namespaces/%s/poddisruptionbudgets' % ns,
         {'metadata': {'name': 'web'}, 'spec': {'maxUnavailable': 1, 'selector': {'matchLabels': {'app': 'web'}}}}),
        ('/apis/apps/v1/namespaces/%s/statefulsets' % ns,
         {'metadata': {'name': 'db'}, 'spec': {'serviceName': 'db', 'selector': {'matchLabels': {'app': 'db'}},
                                               'template': {'metadata': {'labels': {'app': 'db'}},
                                                            'spec': {'containers': [{'name': 'db', 'image': 'pg'}]}}}}),
        ('/apis/batch/v1/namespaces/%s/cronjobs' % ns,
         {'metadata': {'name': 'tick'}, 'spec': {'schedule': '* * * * *', 'jobTemplate': {'spec': {'template': {
             'spec': {'restartPolicy': 'OnFailure', 'containers': [{'name': 't', 'image': 'busybox'}]}}}}}}),
        ('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases',
         {'metadata': {'name': 'py1'}, 'spec': {'holderIdentity': 'py1', 'leaseDurationSeconds': 40}}),
        ('/apis/rbac.authorization.k8s.io/v1/clusterroles',
         {'metadata': {'name': 'lab-reader'}, 'rules': [{'apiGroups': [''], 'resources': ['pods'],
                                                         'verbs': ['get']}]}),
        ('/apis/networking.k8s.io/v1/namespaces/%s/ingresses' % ns,
         {'metadata': {'name': 'web'}, 'spec': {'rules': [{'host': 'web.lab', 'http': {'paths': [
             {'path': '/', 'pathType': 'Prefix', 'backend': {'service': {'name': 'web', 'port': {'number': 80}}}}]}}]}}),
        ('/apis/scheduling.k8s.io/v1/priorityclasses', {'metadata': {'name': 'lab-high'}, 'value': 1000}),
        ('/apis/storage.k8s.io/v1/storageclasses', {'metadata': {'name': 'lab-local'},
                                                    'provisioner': 'kubernetes.io/no-provisioner'}),
    ]
    for path, body in objs:
        code, got = lab.call('POST', path, body)
        assert code in (201, 409), got


@pytest.mark.parametrize('version', ['1.25.16', '1.31.14', '1.33.10'])
def test_served_objects_validate_against_the_release_schema(lab_factory, version):
    """Every object the lab serves, in every group/version it serves it, passes the strict upstream schema."""
    lab = lab_factory(version)
    seed(lab, 'schemas')
    from kubernetes_validate import validate
    checked = 0
    code, groups = lab.call('GET', '/apis')
    gvs = ['v1'] + [v['groupVersion'] for g in groups['groups'] for v in g['versions']]
    for gv in gvs:
        base = '/api/v1' if gv == 'v1' else '/apis/' + gv
        for r in lab.call('GET', base)[1]['resources']:
            if '/' in r['name'] or 'list' not in r['verbs']:
                continue
            code, lst = lab.call('GET', '%s/%s' % (base, r['name']))
            assert code == 200, (gv, r['name'], lst)
            for item in lst['items']:
                item.setdefault('apiVersion', gv)  # list items carry it (kind too)
                validate(item, '%s.0' % version.rsplit('.', 1)[0], strict=True)
                checked += 1
    assert checked >= 20


def test_python_client(lab):
    seed(lab, 'py')
    from kubernetes import client
    api = client_for(lab)
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    nodes = core.list_node()
    assert 'py1' in [n.metadata.name for n in nodes.items]
    node = core.read_node('py1')
    assert node.status.node_info.kubelet_version == 'v1.31.14'
    pods = core.list_namespaced_pod('py', field_selector='spec.nodeName=py1')
    assert sorted(p.metadata.name for p in pods.items) == ['agent-py1', 'web-1']
    page = core.list_pod_for_all_namespaces(limit=1)
    assert len(page.items) == 1 and page.metadata.var_continue
    dep = client.V1Deployment(
        metadata=client.V1ObjectMeta(name='pyweb', labels={'app': 'pyweb'}),
        spec=client.V1DeploymentSpec(
            replicas=2, selector=client.V1LabelSelector(match_labels={'app': 'pyweb'}),
            template=client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels={'app': 'pyweb'}),
                                              spec=client.V1PodSpec(containers=[client.V1Container(
                                                  name='c', image='nginx:1.27')]))))
    created = apps.create_namespaced_deployment('py', dep)
    assert created.metadata.generation == 1 and created.spec.strategy.type == 'RollingUpdate'
    patched = apps.patch_namespaced_deployment('pyweb', 'py', {'spec': {'replicas': 5}})
    assert patched.spec.replicas == 5 and patched.metadata.generation == 2
    scaled = apps.patch_namespaced_deployment_scale('pyweb', 'py', {'spec': {'replicas': 1}})
    assert scaled.spec.replicas == 1
    assert [d.metadata.name for d in apps.list_namespaced_deployment('py').items] == ['pyweb']
    pdbs = client.PolicyV1Api(api).list_namespaced_pod_disruption_budget('py')
    assert pdbs.items[0].status.disruptions_allowed == 1
    st = apps.read_namespaced_stateful_set('db', 'py')
    assert st.spec.update_strategy.type == 'RollingUpdate'
    with pytest.raises(client.exceptions.ApiException) as e:
        core.read_namespaced_pod('nope', 'py')
    assert e.value.status == 404


def test_python_client_watch(lab):
    from kubernetes import client, watch
    api = client_for(lab)
    core = client.CoreV1Api(api)
    lab.call('POST', '/api/v1/namespaces', {'metadata': {'name': 'pywatch'}})
    rv = core.list_namespaced_config_map('pywatch').metadata.resource_version
    lab.call('POST', '/api/v1/namespaces/pywatch/configmaps', {'metadata': {'name': 'c1'}})
    w = watch.Watch()
    got = []
    for ev in w.stream(core.list_namespaced_config_map, 'pywatch', resource_version=rv, timeout_seconds=3):
        got.append((ev['type'], ev['object'].metadata.name))
        w.stop()
    assert got == [('ADDED', 'c1')]


def run_playbook(lab, tmp_path, tasks):
    play = tmp_path / 'play.yml'
    play.write_text(textwrap.dedent('''\
        - hosts: localhost
          gather_facts: false
          module_defaults:
            group/kubernetes.core.k8s:
              kubeconfig: %s
          tasks:
        ''' % lab.kubeconfig()) + textwrap.indent(textwrap.dedent(tasks), '    '))
    exe = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_STDOUT_CALLBACK='json',
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING='false')
    p = subprocess.run([exe, '-i', 'localhost,', '-c', 'local', str(play)], capture_output=True, text=True, env=env,
                       cwd=ROOT, timeout=300, check=False)
    return p


def _task_results(p):
    out = json.loads(p.stdout[p.stdout.index('{'):])
    return {t['task']['name']: t['hosts']['localhost'] for play in out['plays'] for t in play['tasks']}


def test_kubernetes_core_k8s_info_and_k8s_drain(lab, tmp_path):
    from labapi_support import make_node, running_pod
    lab.call('POST', '/api/v1/namespaces', {'metadata': {'name': 'ans'}})
    make_node(lab, 'ans1')
    running_pod(lab, 'ans', 'free', 'ans1', {'app': 'free'})
    running_pod(lab, 'ans', 'guarded', 'ans1', {'app': 'guarded'})
    pdb = {'metadata': {'name': 'guarded'}, 'spec': {'minAvailable': 1, 'selector': {'matchLabels': {'app': 'guarded'}}}}
    assert lab.call('POST', '/apis/policy/v1/namespaces/ans/poddisruptionbudgets', pdb)[0] == 201
    p = run_playbook(lab, tmp_path, '''\
        - name: nodes
          kubernetes.core.k8s_info:
            kind: Node
            name: ans1
        - name: pods on the node
          kubernetes.core.k8s_info:
            kind: Pod
            namespace: ans
            field_selectors: ["spec.nodeName=ans1"]
        - name: deployments as apps/v1
          kubernetes.core.k8s_info:
            api_version: apps/v1
            kind: Deployment
        - name: drain blocked by the budget
          kubernetes.core.k8s_drain:
            name: ans1
            delete_options:
              ignore_daemonsets: true
              wait_timeout: 5
              force: true
          ignore_errors: true
        ''')
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    res = _task_results(p)
    assert res['nodes']['resources'][0]['metadata']['name'] == 'ans1'
    assert sorted(x['metadata']['name'] for x in res['pods on the node']['resources']) == ['free', 'guarded']
    assert res['drain blocked by the budget'].get('failed'), res['drain blocked by the budget']
    assert 'disruption budget' in json.dumps(res['drain blocked by the budget'])
    assert lab.call('GET', '/api/v1/nodes/ans1')[1]['spec']['unschedulable'] is True
    assert lab.call('GET', '/api/v1/namespaces/ans/pods/guarded')[0] == 200
    # without the budget the module drains the node
    assert lab.call('DELETE', '/apis/policy/v1/namespaces/ans/poddisruptionbudgets/guarded')[0] == 200
    p = run_playbook(lab, tmp_path, '''\
        - name: drain
          kubernetes.core.k8s_drain:
            name: ans1
            delete_options:
              ignore_daemonsets: true
              wait_timeout: 30
              force: true
        - name: uncordon
          kubernetes.core.k8s_drain:
            name: ans1
            state: uncordon
        ''')
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    res = _task_results(p)
    assert res['drain']['changed'] is True
    assert lab.call('GET', '/api/v1/namespaces/ans/pods')[1]['items'] == []
    assert not lab.call('GET', '/api/v1/nodes/ans1')[1]['spec'].get('unschedulable')


def test_list_10000_pods_in_pages_of_500_fast(lab_factory):
    lab = lab_factory('1.30.14')
    from lab.emulator.store import EtcdStore
    store = EtcdStore(lab.etcd_url, lab.pki.ca, *lab.etcd_client)
    lab.call('POST', '/api/v1/namespaces', {'metadata': {'name': 'bulk'}})
    tmpl = {'apiVersion': 'v1', 'kind': 'Pod',
            'metadata': {'namespace': 'bulk', 'labels': {'app': 'bulk'}, 'creationTimestamp': '2025-01-01T00:00:00Z'},
            'spec': {'nodeName': 'n1', 'containers': [{'name': 'c', 'image': 'busybox:1.36', 'resources': {}}]},
            'status': {'phase': 'Running'}}
    items = []
    for i in range(10000):
        pod = json.loads(json.dumps(tmpl))
        pod['metadata']['name'] = 'pod-%05d' % i
        pod['metadata']['uid'] = '00000000-0000-0000-0000-%012d' % i
        items.append(('/registry/pods/bulk/pod-%05d' % i, json.dumps(pod)))
    store.put_many(items)
    from kubernetes import client
    core = client.CoreV1Api(client_for(lab))
    start = time.time()
    names, token, pages = [], None, 0
    while True:
        page = core.list_namespaced_pod('bulk', limit=500, _continue=token) if token else \
            core.list_namespaced_pod('bulk', limit=500)
        names += [p.metadata.name for p in page.items]
        pages += 1
        token = page.metadata.var_continue
        if not token:
            break
    python_client = time.time() - start
    start = time.time()
    raw, token = 0, ''
    while True:
        code, lst = lab.call('GET', '/api/v1/namespaces/bulk/pods?limit=500' + ('&continue=' + token if token else ''))
        raw += len(lst['items'])
        token = lst['metadata'].get('continue')
        if not token:
            break
    plain = time.time() - start
    print('10000 pods in pages of 500: %.2f s with the Python client, %.2f s with plain JSON' % (python_client, plain))
    assert len(names) == 10000 and len(set(names)) == 10000 and pages == 20 and raw == 10000
    assert plain < 5.0
