"""Pure object logic of the lab apiserver (lab/emulator/api_objects.py, api_proto.py, api_tables.py): data-driven."""

import datetime
import json

import pytest

from lab.emulator import api_objects as ob
from lab.emulator import api_proto, api_tables

POD = {'metadata': {'labels': {'app': 'web', 'tier': 'fe'}}, 'spec': {'nodeName': 'n1', 'hostNetwork': False},
       'status': {'phase': 'Running'}}


@pytest.mark.parametrize('selector,expected', [
    ('app=web', True), ('app==web', True), ('app!=web', False), ('app in (db,web)', True),
    ('app notin (web)', False), ('tier', True), ('!tier', False), ('missing', False), ('!missing', True),
    ('app=web,tier=fe', True), ('app=web,tier=be', False), ('app in (web), tier notin (x,y)', True),
    ('', True),
])
def test_label_selectors(selector, expected):
    assert ob.match_labels(ob.parse_label_selector(selector), POD['metadata']['labels']) is expected


@pytest.mark.parametrize('selector,expected', [
    ('spec.nodeName=n1', True), ('spec.nodeName==n1', True), ('spec.nodeName!=n1', False),
    ('status.phase=Running,spec.nodeName=n1', True), ('status.phase!=Succeeded,status.phase!=Failed', True),
    ('spec.nodeName=', False), ('spec.hostNetwork=false', True),
])
def test_field_selectors(selector, expected):
    assert ob.match_fields(ob.parse_field_selector(selector), POD) is expected


@pytest.mark.parametrize('bad', ['app=(x', 'a b c', '!a=b'])
def test_bad_label_selectors(bad):
    with pytest.raises(ob.BadRequest):
        ob.parse_label_selector(bad)


@pytest.mark.parametrize('target,patch,expected', [
    # kubectl cordon
    ({'spec': {}}, {'spec': {'unschedulable': True}}, {'spec': {'unschedulable': True}}),
    # null deletes
    ({'metadata': {'labels': {'a': '1', 'b': '2'}}}, {'metadata': {'labels': {'a': None}}},
     {'metadata': {'labels': {'b': '2'}}}),
    # containers merge by name
    ({'containers': [{'name': 'a', 'image': 'x:1'}, {'name': 'b', 'image': 'y:1'}]},
     {'containers': [{'name': 'b', 'image': 'y:2'}, {'name': 'c', 'image': 'z:1'}]},
     {'containers': [{'name': 'a', 'image': 'x:1'}, {'name': 'b', 'image': 'y:2'}, {'name': 'c', 'image': 'z:1'}]}),
    # $patch: delete of a list element, $setElementOrder ignored
    ({'containers': [{'name': 'a'}, {'name': 'b'}]},
     {'$setElementOrder/containers': [{'name': 'a'}], 'containers': [{'name': 'b', '$patch': 'delete'}]},
     {'containers': [{'name': 'a'}]}),
    # conditions merge by type (kubelet status patches)
    ({'conditions': [{'type': 'Ready', 'status': 'False'}, {'type': 'MemoryPressure', 'status': 'False'}]},
     {'conditions': [{'type': 'Ready', 'status': 'True'}]},
     {'conditions': [{'type': 'Ready', 'status': 'True'}, {'type': 'MemoryPressure', 'status': 'False'}]}),
    # container ports by containerPort, service ports by port
    ({'ports': [{'containerPort': 80, 'name': 'http'}]}, {'ports': [{'containerPort': 80, 'protocol': 'TCP'}]},
     {'ports': [{'containerPort': 80, 'name': 'http', 'protocol': 'TCP'}]}),
    ({'ports': [{'port': 80, 'name': 'a'}, {'port': 443}]}, {'ports': [{'port': 443, 'name': 'b'}]},
     {'ports': [{'port': 80, 'name': 'a'}, {'port': 443, 'name': 'b'}]}),
    # finalizers merge as a set; lists without a merge key are replaced
    ({'finalizers': ['a']}, {'finalizers': ['b', 'a']}, {'finalizers': ['a', 'b']}),
    ({'args': ['a', 'b']}, {'args': ['c']}, {'args': ['c']}),
    # $patch: replace on a map, $retainKeys
    ({'strategy': {'type': 'RollingUpdate', 'rollingUpdate': {'maxSurge': 1}}},
     {'strategy': {'$retainKeys': ['type'], 'type': 'Recreate'}}, {'strategy': {'type': 'Recreate'}}),
    ({'spec': {'a': 1, 'b': 2}}, {'spec': {'$patch': 'replace', 'c': 3}}, {'spec': {'c': 3}}),
])
def test_strategic_merge(target, patch, expected):
    assert ob.strategic_merge(target, patch) == expected


@pytest.mark.parametrize('ops,expected', [
    ([{'op': 'add', 'path': '/metadata/labels/x', 'value': '1'}], {'metadata': {'labels': {'a': 'b', 'x': '1'}}, 'l': [1, 2]}),
    ([{'op': 'remove', 'path': '/metadata/labels/a'}], {'metadata': {'labels': {}}, 'l': [1, 2]}),
    ([{'op': 'replace', 'path': '/l/0', 'value': 9}], {'metadata': {'labels': {'a': 'b'}}, 'l': [9, 2]}),
    ([{'op': 'add', 'path': '/l/-', 'value': 3}], {'metadata': {'labels': {'a': 'b'}}, 'l': [1, 2, 3]}),
    ([{'op': 'test', 'path': '/l/1', 'value': 2}, {'op': 'move', 'from': '/l', 'path': '/m'}],
     {'metadata': {'labels': {'a': 'b'}}, 'm': [1, 2]}),
    ([{'op': 'add', 'path': '/metadata/labels/k8s.io~1role', 'value': 'x'}],
     {'metadata': {'labels': {'a': 'b', 'k8s.io/role': 'x'}}, 'l': [1, 2]}),
])
def test_json_patch(ops, expected):
    assert ob.json_patch({'metadata': {'labels': {'a': 'b'}}, 'l': [1, 2]}, ops) == expected


@pytest.mark.parametrize('ops', [
    [{'op': 'remove', 'path': '/nope'}], [{'op': 'test', 'path': '/l/0', 'value': 5}],
    [{'op': 'replace', 'path': '/metadata/x', 'value': 1}], [{'op': 'frobnicate', 'path': '/l'}],
])
def test_json_patch_errors(ops):
    with pytest.raises(ob.BadRequest):
        ob.json_patch({'metadata': {}, 'l': [1]}, ops)


def test_merge_patch():
    assert ob.merge_patch({'a': {'b': 1, 'c': 2}, 'l': [1]}, {'a': {'b': None, 'd': 3}, 'l': [2]}) == \
        {'a': {'c': 2, 'd': 3}, 'l': [2]}


@pytest.mark.parametrize('api_version,defaults', [
    ('extensions/v1beta1', {'revisionHistoryLimit': 2147483647, 'progressDeadlineSeconds': 2147483647,
                            'maxUnavailable': 1, 'selector': {'matchLabels': {'app': 'x'}}}),
    ('apps/v1beta1', {'revisionHistoryLimit': 2, 'progressDeadlineSeconds': 600, 'maxUnavailable': '25%',
                      'selector': {'matchLabels': {'app': 'x'}}}),
    ('apps/v1', {'revisionHistoryLimit': 10, 'progressDeadlineSeconds': 600, 'maxUnavailable': '25%',
                 'selector': None}),
])
def test_deployment_defaults_per_version(api_version, defaults):
    d = {'apiVersion': api_version, 'kind': 'Deployment', 'metadata': {'name': 'x'},
         'spec': {'template': {'metadata': {'labels': {'app': 'x'}},
                               'spec': {'containers': [{'name': 'c', 'image': 'nginx'}]}}}}
    ob.default_object(d, 'Deployment', 15)
    spec = d['spec']
    assert spec['revisionHistoryLimit'] == defaults['revisionHistoryLimit']
    assert spec['progressDeadlineSeconds'] == defaults['progressDeadlineSeconds']
    assert spec['strategy']['rollingUpdate']['maxUnavailable'] == defaults['maxUnavailable']
    assert spec.get('selector') == defaults['selector']
    c = spec['template']['spec']['containers'][0]
    assert (c['imagePullPolicy'], c['terminationMessagePath']) == ('Always', '/dev/termination-log')


@pytest.mark.parametrize('image,policy', [('nginx', 'Always'), ('nginx:latest', 'Always'), ('nginx:1.25', 'IfNotPresent'),
                                          ('reg:5000/app', 'Always'), ('reg:5000/app:2', 'IfNotPresent'),
                                          ('app@sha256:00', 'IfNotPresent')])
def test_image_pull_policy_default(image, policy):
    c = {'name': 'c', 'image': image}
    ob.default_pod_spec({'containers': [c]}, 29)
    assert c['imagePullPolicy'] == policy


def test_conversion_keeps_the_object_and_drops_what_the_target_lacks():
    d = {'apiVersion': 'extensions/v1beta1', 'kind': 'Deployment', 'metadata': {'name': 'x'},
         'spec': {'rollbackTo': {'revision': 1}, 'replicas': 2}}
    v1 = ob.convert(d, 'Deployment', 'apps/v1')
    assert v1 == {'apiVersion': 'apps/v1', 'kind': 'Deployment', 'metadata': {'name': 'x'}, 'spec': {'replicas': 2}}
    assert d['apiVersion'] == 'extensions/v1beta1'   # a copy
    ev = ob.convert({'apiVersion': 'v1', 'kind': 'Event', 'involvedObject': {'kind': 'Pod'}, 'message': 'm',
                     'count': 3}, 'Event', 'events.k8s.io/v1')
    assert (ev['regarding'], ev['note'], ev['deprecatedCount']) == ({'kind': 'Pod'}, 'm', 3)


def test_validation_messages():
    with pytest.raises(ob.Invalid) as e:
        ob.validate({'metadata': {'name': 'Bad_Name'}, 'spec': {'containers': [{}]}}, 'Pod', '', 'v1')
    assert e.value.causes[0][0] == 'metadata.name'
    with pytest.raises(ob.Invalid) as e:
        ob.validate({'metadata': {'name': 'x'}, 'spec': {'selector': {'matchLabels': {'a': 'b'}}, 'template': {
            'metadata': {'labels': {'a': 'c'}}, 'spec': {'containers': [{}]}}}}, 'Deployment', 'apps', 'v1')
    assert e.value.causes[0][0] == 'spec.template.metadata.labels'


def test_managed_fields_keyed_like_upstream():
    obj = {'metadata': {'name': 'x', 'labels': {'a': 'b'}}, 'data': {'k': 'v'}}
    ob.record_managed_fields(obj, 'kubectl', 'Update', 'v1', 't1')
    ob.record_managed_fields(obj, 'kubectl', 'Update', 'v1', 't2')
    ob.record_managed_fields(obj, 'kubectl', 'Update', 'v1beta1', 't3')  # another apiVersion: another entry
    ob.record_managed_fields(obj, 'tool', 'Apply', 'v1', 't4')
    ob.record_managed_fields(obj, 'tool', 'Apply', 'v2', 't5')           # Apply: one entry per manager
    mf = obj['metadata']['managedFields']
    assert [(m['manager'], m['operation'], m['apiVersion'], m['time']) for m in mf] == [
        ('kubectl', 'Update', 'v1', 't2'), ('kubectl', 'Update', 'v1beta1', 't3'), ('tool', 'Apply', 'v2', 't5')]
    assert mf[0]['fieldsV1'] == {'f:metadata': {'f:labels': {'f:a': {}}}, 'f:data': {'f:k': {}}}


def _pb_field(num, payload):
    payload = payload.encode() if isinstance(payload, str) else payload
    return bytes([num << 3 | 2, len(payload)]) + payload


def test_protobuf_configmap_body():
    meta = _pb_field(1, 'cfg') + _pb_field(3, 'default') + _pb_field(11, _pb_field(1, 'app') + _pb_field(2, 'x'))
    raw = _pb_field(1, meta) + _pb_field(2, _pb_field(1, 'a') + _pb_field(2, 'b'))
    body = api_proto.MAGIC + _pb_field(1, _pb_field(1, 'v1') + _pb_field(2, 'ConfigMap')) + _pb_field(2, raw)
    assert api_proto.decode(body) == {'apiVersion': 'v1', 'kind': 'ConfigMap', 'data': {'a': 'b'},
                                      'metadata': {'name': 'cfg', 'namespace': 'default', 'labels': {'app': 'x'}}}
    with pytest.raises(api_proto.Unsupported):
        api_proto.decode(api_proto.MAGIC + _pb_field(1, _pb_field(1, 'apps/v1') + _pb_field(2, 'Deployment')))


@pytest.mark.parametrize('seconds,text', [(5, '5s'), (119, '119s'), (150, '2m30s'), (600, '10m'), (3 * 3600, '3h'),
                                          (9 * 3600, '9h'), (50 * 3600, '2d2h'), (10 * 86400, '10d'),
                                          (800 * 86400, '2y70d')])
def test_human_age(seconds, text):
    now = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
    ts = (now - datetime.timedelta(seconds=seconds)).strftime('%Y-%m-%dT%H:%M:%SZ')
    assert api_tables.human_age(ts, now) == text


@pytest.mark.parametrize('kind,obj,cells', [
    ('Node', {'metadata': {'name': 'n1', 'labels': {'node-role.kubernetes.io/control-plane': ''}},
              'spec': {'unschedulable': True},
              'status': {'conditions': [{'type': 'Ready', 'status': 'True'}], 'nodeInfo': {'kubeletVersion': 'v1.15.12'}}},
     ['n1', 'Ready,SchedulingDisabled', 'control-plane', 'v1.15.12']),
    ('Pod', {'metadata': {'name': 'p'}, 'spec': {'containers': [{}, {}]},
             'status': {'phase': 'Running', 'containerStatuses': [{'ready': True, 'restartCount': 2}, {'ready': False}]}},
     ['p', '1/2', 'Running', 2]),
    ('Event', {'metadata': {'name': 'e'}, 'type': 'Warning', 'reason': 'Failed',
               'involvedObject': {'kind': 'Pod', 'name': 'p'}, 'message': 'boom'},
     ['Warning', 'Failed', 'pod/p', 'boom']),
])
def test_table_rows(kind, obj, cells):
    row = api_tables.to_table(kind, [obj], {})['rows'][0]['cells']
    assert all(c in row for c in cells), row


def test_update_takes_over_only_the_fields_it_changed():
    obj = {'metadata': {'name': 'x'}, 'spec': {'replicas': 2, 'paused': False}}
    ob.record_managed_fields(obj, 'creator', 'Update', 'apps/v1', 't1')
    old = json.loads(json.dumps(obj))
    obj['spec']['replicas'] = 3
    obj['metadata']['labels'] = {'a': 'b'}
    ob.record_managed_fields(obj, 'editor', 'Update', 'apps/v1', 't2', old=old)
    mf = {m['manager']: m['fieldsV1'] for m in obj['metadata']['managedFields']}
    assert mf['editor'] == {'f:spec': {'f:replicas': {}}, 'f:metadata': {'f:labels': {'f:a': {}}}}
    assert mf['creator'] == {'f:spec': {'f:paused': {}}}
    conflicts = ob.apply_conflicts({'spec': {'replicas': 1, 'paused': False}}, obj, 'applier')
    assert conflicts == [('.spec.replicas', '"editor" using apps/v1')]
