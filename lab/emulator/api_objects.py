"""Object semantics of the emulated kube-apiserver: defaulting, conversion between served versions,
label and field selectors, patches (JSON, merge, strategic merge, apply) and managedFields.

Pure functions on JSON-like dicts; stdlib only.
"""

import copy
import json
import re

MAXINT32 = 2147483647


class Invalid(Exception):
    """422 Unprocessable Entity: causes is a list of (field, message, reason)."""

    def __init__(self, kind, name, causes):
        self.kind, self.name, self.causes = kind, name, causes
        msg = '; '.join('%s: %s' % (f, m) for f, m, _r in causes)
        super(Invalid, self).__init__('%s "%s" is invalid: %s' % (kind, name, msg))


class BadRequest(Exception):
    pass


def gv_of(api_version):
    if '/' in (api_version or ''):
        return tuple(api_version.split('/', 1))
    return '', api_version or 'v1'


def join_gv(group, version):
    return '%s/%s' % (group, version) if group else version


# --- defaulting (applied at write time in the version the client wrote) ------------------------------
def _default_container(c, minor):
    c.setdefault('terminationMessagePath', '/dev/termination-log')
    c.setdefault('terminationMessagePolicy', 'File')
    image = c.get('image', '')
    if 'imagePullPolicy' not in c:
        tag = image.rsplit('/', 1)[-1]
        latest = '@' not in tag and (':' not in tag or tag.endswith(':latest'))
        c['imagePullPolicy'] = 'Always' if latest else 'IfNotPresent'
    c.setdefault('resources', {})
    for p in c.get('ports') or []:
        p.setdefault('protocol', 'TCP')
    for probe in ('livenessProbe', 'readinessProbe', 'startupProbe'):
        pr = c.get(probe)
        if isinstance(pr, dict):
            pr.setdefault('timeoutSeconds', 1)
            pr.setdefault('periodSeconds', 10)
            pr.setdefault('successThreshold', 1)
            pr.setdefault('failureThreshold', 3)


def default_pod_spec(spec, minor):
    if not isinstance(spec, dict):
        return
    for key in ('containers', 'initContainers'):
        for c in spec.get(key) or []:
            if isinstance(c, dict):
                _default_container(c, minor)
    spec.setdefault('restartPolicy', 'Always')
    spec.setdefault('terminationGracePeriodSeconds', 30)
    spec.setdefault('dnsPolicy', 'ClusterFirst')
    spec.setdefault('securityContext', {})
    spec.setdefault('schedulerName', 'default-scheduler')
    if minor >= 13:
        spec.setdefault('enableServiceLinks', True)
    if minor >= 19:
        spec.setdefault('preemptionPolicy', 'PreemptLowerPriority')
    if 'serviceAccountName' in spec:
        spec.setdefault('serviceAccount', spec['serviceAccountName'])
    for v in spec.get('volumes') or []:
        if isinstance(v, dict):
            for src in ('configMap', 'secret'):
                if isinstance(v.get(src), dict):
                    v[src].setdefault('defaultMode', 420)
            if 'emptyDir' in v and v['emptyDir'] is None:
                v['emptyDir'] = {}


def _default_template(spec, minor):
    tpl = spec.get('template')
    if isinstance(tpl, dict):
        tpl.setdefault('metadata', {})
        if tpl['metadata'] is None:
            tpl['metadata'] = {}
        tpl['metadata'].setdefault('creationTimestamp', None)
        default_pod_spec(tpl.get('spec'), minor)


def _selector_from_template(spec):
    if 'selector' not in spec or spec['selector'] is None:
        labels = ((spec.get('template') or {}).get('metadata') or {}).get('labels')
        if labels:
            spec['selector'] = {'matchLabels': dict(labels)}


def default_object(obj, kind, minor):
    """Fill the defaults the release's registry adds for the version obj is written in."""
    group, version = gv_of(obj.get('apiVersion'))
    spec = obj.get('spec')
    if kind == 'Pod':
        default_pod_spec(spec, minor)
        if isinstance(spec, dict) and spec.get('priority') is None:
            spec.setdefault('priority', 0)
    elif kind in ('Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet', 'ReplicationController'):
        if not isinstance(spec, dict):
            return
        old = group == 'extensions' or version in ('v1beta1', 'v1beta2')
        if group == 'extensions' or (group == 'apps' and version == 'v1beta1'):
            _selector_from_template(spec)
        if kind == 'ReplicationController':
            if 'selector' not in spec:
                spec['selector'] = dict(((spec.get('template') or {}).get('metadata') or {}).get('labels') or {})
        if kind != 'DaemonSet':
            spec.setdefault('replicas', 1)
        _default_template(spec, minor)
        if kind == 'Deployment':
            if group == 'extensions':
                spec.setdefault('revisionHistoryLimit', MAXINT32)
                spec.setdefault('progressDeadlineSeconds', MAXINT32)
                ru_default = 1
            elif version == 'v1beta1':
                spec.setdefault('revisionHistoryLimit', 2)
                spec.setdefault('progressDeadlineSeconds', 600)
                ru_default = '25%'
            else:
                spec.setdefault('revisionHistoryLimit', 10)
                spec.setdefault('progressDeadlineSeconds', 600)
                ru_default = '25%'
            st = spec.setdefault('strategy', {})
            st.setdefault('type', 'RollingUpdate')
            if st['type'] == 'RollingUpdate':
                ru = st.setdefault('rollingUpdate', {})
                ru.setdefault('maxUnavailable', ru_default)
                ru.setdefault('maxSurge', ru_default)
        elif kind == 'DaemonSet':
            spec.setdefault('revisionHistoryLimit', 10)
            st = spec.setdefault('updateStrategy', {})
            st.setdefault('type', 'OnDelete' if group == 'extensions' else 'RollingUpdate')
            if st['type'] == 'RollingUpdate':
                st.setdefault('rollingUpdate', {}).setdefault('maxUnavailable', 1)
                if minor >= 21:
                    st['rollingUpdate'].setdefault('maxSurge', 0)
            if group == 'extensions':
                spec.setdefault('templateGeneration', 1)
        elif kind == 'StatefulSet':
            spec.setdefault('podManagementPolicy', 'OrderedReady')
            spec.setdefault('revisionHistoryLimit', 10)
            st = spec.setdefault('updateStrategy', {})
            st.setdefault('type', 'OnDelete' if version == 'v1beta1' else 'RollingUpdate')
            if st['type'] == 'RollingUpdate':
                st.setdefault('rollingUpdate', {}).setdefault('partition', 0)
        del old
    elif kind == 'Job':
        if isinstance(spec, dict):
            spec.setdefault('parallelism', 1)
            spec.setdefault('completions', 1)
            spec.setdefault('backoffLimit', 6)
            _default_template(spec, minor)
    elif kind == 'CronJob':
        if isinstance(spec, dict):
            spec.setdefault('concurrencyPolicy', 'Allow')
            spec.setdefault('suspend', False)
            spec.setdefault('successfulJobsHistoryLimit', 3)
            spec.setdefault('failedJobsHistoryLimit', 1)
            jt = (spec.get('jobTemplate') or {}).get('spec')
            if isinstance(jt, dict):
                _default_template(jt, minor)
    elif kind == 'Service':
        if isinstance(spec, dict):
            spec.setdefault('type', 'ClusterIP')
            spec.setdefault('sessionAffinity', 'None')
            for p in spec.get('ports') or []:
                p.setdefault('protocol', 'TCP')
                if 'targetPort' not in p and 'port' in p:
                    p['targetPort'] = p['port']
    elif kind == 'Namespace':
        obj.setdefault('spec', {}).setdefault('finalizers', ['kubernetes'])
        obj.setdefault('status', {}).setdefault('phase', 'Active')
    elif kind == 'Node':
        st = obj.setdefault('status', {})
        default_node_status(st)
    elif kind == 'Secret':
        obj.setdefault('type', 'Opaque')
    elif kind == 'PriorityClass':
        if minor >= 19:
            obj.setdefault('preemptionPolicy', 'PreemptLowerPriority')
    elif kind == 'StorageClass':
        obj.setdefault('reclaimPolicy', 'Delete')
        obj.setdefault('volumeBindingMode', 'Immediate')
    elif kind == 'Ingress':
        if group == 'networking.k8s.io' and version == 'v1':
            for rule in (spec or {}).get('rules') or []:
                for path in ((rule.get('http') or {}).get('paths')) or []:
                    path.setdefault('pathType', 'ImplementationSpecific')


# Status fields Go serialises without omitempty (required by the upstream schemas and the Python client).
REQUIRED_STATUS = {
    'DaemonSet': ('currentNumberScheduled', 'numberMisscheduled', 'desiredNumberScheduled', 'numberReady'),
    'ReplicaSet': ('replicas',), 'StatefulSet': ('replicas',), 'ReplicationController': ('replicas',),
    'HorizontalPodAutoscaler': ('currentReplicas', 'desiredReplicas'),
}


# Go's encoding/json prints struct fields even when empty ("omitempty" does not apply to structs):
# these kinds always carry "spec": {} and/or "status": {} (clients such as kubernetes.core read them).
SPEC_AND_STATUS = {'Pod', 'Node', 'Namespace', 'Service', 'PersistentVolume', 'PersistentVolumeClaim',
                   'ReplicationController', 'ResourceQuota', 'Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet',
                   'Job', 'CronJob', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Ingress',
                   'CustomResourceDefinition', 'APIService', 'CertificateSigningRequest', 'FlowSchema',
                   'PriorityLevelConfiguration', 'VolumeAttachment', 'StorageVersionMigration'}
SPEC_ONLY = {'Lease', 'LimitRange', 'IngressClass', 'CSIDriver', 'CSINode', 'NetworkPolicy', 'PodSecurityPolicy'}


def fill_status(obj, kind):
    """Add the empty structs and zero values Go would print for what nobody has written yet."""
    if kind in SPEC_AND_STATUS or kind in SPEC_ONLY:
        if not isinstance(obj.get('spec'), dict):
            obj['spec'] = {}
    if kind in SPEC_AND_STATUS:
        if not isinstance(obj.get('status'), dict):
            obj['status'] = {}
        if kind in ('Service', 'Ingress'):
            obj['status'].setdefault('loadBalancer', {})
    keys = REQUIRED_STATUS.get(kind)
    if kind == 'Node':
        default_node_status(obj.setdefault('status', {}))
    elif keys:
        st = obj.get('status')
        if not isinstance(st, dict):
            st = obj['status'] = {}
        for k in keys:
            if k == 'currentReplicas' and obj.get('apiVersion') != 'autoscaling/v1':
                continue
            if st.get(k) is None:
                st[k] = 0


NODE_INFO_KEYS = ('architecture', 'bootID', 'containerRuntimeVersion', 'kernelVersion', 'kubeProxyVersion',
                  'kubeletVersion', 'machineID', 'operatingSystem', 'osImage', 'systemUUID')


def default_node_status(st):
    """Go serialises NodeSystemInfo's strings without omitempty: they are always present."""
    info = st.get('nodeInfo')
    if not isinstance(info, dict):
        info = st['nodeInfo'] = {}
    for k in NODE_INFO_KEYS:
        if info.get(k) is None:
            info[k] = ''
    de = st.get('daemonEndpoints')
    if not isinstance(de, dict):
        de = st['daemonEndpoints'] = {}
    ke = de.get('kubeletEndpoint')
    if not isinstance(ke, dict):
        ke = de['kubeletEndpoint'] = {}
    ke.setdefault('Port', 0)


# --- validation (only what clients observe and the lab relies on) ------------------------------------
NAME_RE = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')


def validate(obj, kind, group, version):
    causes = []
    name = (obj.get('metadata') or {}).get('name') or ''
    if name and (len(name) > 253 or not NAME_RE.match(name)) and kind not in ('Event',):
        if ':' not in name or kind not in ('ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'):
            causes.append(('metadata.name', 'Invalid value: "%s": a lowercase RFC 1123 subdomain must consist of '
                           'lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an '
                           'alphanumeric character' % name, 'FieldValueInvalid'))
    spec = obj.get('spec')
    if kind in ('Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet') and isinstance(spec, dict):
        if not spec.get('selector'):
            causes.append(('spec.selector', 'Required value', 'FieldValueRequired'))
        else:
            sel = spec['selector']
            labels = ((spec.get('template') or {}).get('metadata') or {}).get('labels') or {}
            if not match_label_selector_obj(sel, labels):
                causes.append(('spec.template.metadata.labels', 'Invalid value: %s: `selector` does not match '
                               'template `labels`' % json.dumps(labels, sort_keys=True), 'FieldValueInvalid'))
        if not ((spec.get('template') or {}).get('spec') or {}).get('containers'):
            causes.append(('spec.template.spec.containers', 'Required value', 'FieldValueRequired'))
    if kind == 'Pod' and isinstance(spec, dict) and not spec.get('containers'):
        causes.append(('spec.containers', 'Required value', 'FieldValueRequired'))
    if kind == 'Pod' and not isinstance(spec, dict):
        causes.append(('spec.containers', 'Required value', 'FieldValueRequired'))
    if kind == 'PodDisruptionBudget' and isinstance(spec, dict):
        if 'minAvailable' in spec and 'maxUnavailable' in spec:
            causes.append(('spec', 'Invalid value: minAvailable and maxUnavailable cannot be both set',
                           'FieldValueInvalid'))
    if causes:
        raise Invalid(kind, name, causes)


def immutable_check(old, new, kind, group, version):
    causes = []
    if kind in ('Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet') and (group, version) == ('apps', 'v1'):
        if (old.get('spec') or {}).get('selector') != (new.get('spec') or {}).get('selector'):
            causes.append(('spec.selector', 'Invalid value: %s: field is immutable'
                           % json.dumps((new.get('spec') or {}).get('selector')), 'FieldValueInvalid'))
    if causes:
        raise Invalid(kind, (new.get('metadata') or {}).get('name', ''), causes)


# --- conversion between the versions one release serves for a kind ----------------------------------
def _ingress_backend_to_v1(b):
    if not isinstance(b, dict):
        return b
    out = {k: v for k, v in b.items() if k not in ('serviceName', 'servicePort')}
    if 'serviceName' in b:
        port = b.get('servicePort')
        out['service'] = {'name': b['serviceName'],
                          'port': {'name': port} if isinstance(port, str) else {'number': port}}
    return out


def _ingress_backend_from_v1(b):
    if not isinstance(b, dict):
        return b
    out = {k: v for k, v in b.items() if k != 'service'}
    svc = b.get('service')
    if isinstance(svc, dict):
        out['serviceName'] = svc.get('name')
        port = svc.get('port') or {}
        out['servicePort'] = port.get('name') if port.get('name') else port.get('number')
    return out


def _convert_ingress(obj, to_v1):
    spec = obj.get('spec')
    if not isinstance(spec, dict):
        return
    fn = _ingress_backend_to_v1 if to_v1 else _ingress_backend_from_v1
    if to_v1 and 'backend' in spec:
        spec['defaultBackend'] = fn(spec.pop('backend'))
    elif not to_v1 and 'defaultBackend' in spec:
        spec['backend'] = fn(spec.pop('defaultBackend'))
    for rule in spec.get('rules') or []:
        for path in ((rule.get('http') or {}).get('paths')) or []:
            if 'backend' in path:
                path['backend'] = fn(path['backend'])
            if to_v1:
                path.setdefault('pathType', 'ImplementationSpecific')


def _hpa_to_v1(obj, from_version):
    spec = obj.get('spec') or {}
    metrics = spec.pop('metrics', None) or []
    spec.pop('behavior', None)
    for m in metrics:
        if m.get('type') == 'Resource' and (m.get('resource') or {}).get('name') == 'cpu':
            r = m['resource']
            util = r.get('targetAverageUtilization')
            if util is None:
                util = (r.get('target') or {}).get('averageUtilization')
            if util is not None:
                spec['targetCPUUtilizationPercentage'] = util
    st = obj.get('status')
    if isinstance(st, dict):
        st.pop('currentMetrics', None)
        st.pop('conditions', None)


def _hpa_from_v1(obj, to_version):
    spec = obj.get('spec') or {}
    util = spec.pop('targetCPUUtilizationPercentage', None)
    if util is not None:
        if to_version == 'v2beta1':
            res = {'name': 'cpu', 'targetAverageUtilization': util}
        else:
            res = {'name': 'cpu', 'target': {'type': 'Utilization', 'averageUtilization': util}}
        spec['metrics'] = [{'type': 'Resource', 'resource': res}]
    st = obj.get('status')
    if isinstance(st, dict):
        st.pop('currentCPUUtilizationPercentage', None)


def _hpa_v2_metric_style(obj, to_version):
    """v2beta1 writes targetAverageUtilization; v2beta2/v2 write target{type,averageUtilization}."""
    for m in (obj.get('spec') or {}).get('metrics') or []:
        r = m.get('resource')
        if not isinstance(r, dict):
            continue
        if to_version == 'v2beta1' and 'target' in r:
            t = r.pop('target') or {}
            if 'averageUtilization' in t:
                r['targetAverageUtilization'] = t['averageUtilization']
            if 'averageValue' in t:
                r['targetAverageValue'] = t['averageValue']
        elif to_version != 'v2beta1' and ('targetAverageUtilization' in r or 'targetAverageValue' in r):
            if 'targetAverageUtilization' in r:
                r['target'] = {'type': 'Utilization', 'averageUtilization': r.pop('targetAverageUtilization')}
            else:
                r['target'] = {'type': 'AverageValue', 'averageValue': r.pop('targetAverageValue')}


EVENT_CORE_TO_NEW = [('involvedObject', 'regarding'), ('message', 'note'), ('firstTimestamp', 'deprecatedFirstTimestamp'),
                     ('lastTimestamp', 'deprecatedLastTimestamp'), ('count', 'deprecatedCount'),
                     ('source', 'deprecatedSource'), ('reportingComponent', 'reportingController'),
                     ('related', 'related')]


def _convert_event(obj, to_core):
    pairs = EVENT_CORE_TO_NEW if not to_core else [(b, a) for a, b in EVENT_CORE_TO_NEW]
    for a, b in pairs:
        if a in obj:
            obj[b] = obj.pop(a)
    if to_core:
        obj.setdefault('involvedObject', {})
        if obj.get('reportingController') is not None:
            obj['reportingComponent'] = obj.pop('reportingController')
    elif 'eventTime' not in obj:
        obj['eventTime'] = None


def _crd_to_v1(obj):
    spec = obj.get('spec') or {}
    versions = spec.get('versions') or [{'name': spec.get('version'), 'served': True, 'storage': True}]
    validation = spec.pop('validation', None)
    subresources = spec.pop('subresources', None)
    columns = spec.pop('additionalPrinterColumns', None)
    spec.pop('version', None)
    out = []
    for v in versions:
        v = dict(v)
        if validation and 'schema' not in v:
            v['schema'] = validation
        if subresources and 'subresources' not in v:
            v['subresources'] = subresources
        if columns and 'additionalPrinterColumns' not in v:
            v['additionalPrinterColumns'] = [{('jsonPath' if k == 'JSONPath' else k): x for k, x in c.items()}
                                             for c in columns]
        v.setdefault('schema', {'openAPIV3Schema': {'type': 'object', 'x-kubernetes-preserve-unknown-fields': True}})
        out.append(v)
    spec['versions'] = out
    if spec.get('preserveUnknownFields') is None:
        spec['preserveUnknownFields'] = False
    spec.setdefault('conversion', {'strategy': 'None'})


def _crd_from_v1(obj):
    spec = obj.get('spec') or {}
    versions = spec.get('versions') or []
    if versions:
        spec['version'] = versions[0].get('name')
        schemas = [v.get('schema') for v in versions]
        if schemas and all(s == schemas[0] for s in schemas) and schemas[0]:
            spec['validation'] = schemas[0]
            versions = [{k: x for k, x in v.items() if k != 'schema'} for v in versions]
        spec['versions'] = versions


def convert(obj, kind, to_gv, in_place=False):
    """Return obj as it reads in group/version to_gv (a deep copy unless in_place)."""
    if not in_place:
        obj = copy.deepcopy(obj)
    from_group, from_version = gv_of(obj.get('apiVersion'))
    to_group, to_version = gv_of(to_gv)
    obj['apiVersion'] = to_gv
    obj['kind'] = kind
    if (from_group, from_version) == (to_group, to_version):
        return obj
    spec = obj.get('spec')
    if kind in ('Deployment', 'DaemonSet', 'ReplicaSet', 'StatefulSet') and isinstance(spec, dict):
        if to_group != 'extensions' and not (to_group == 'apps' and to_version == 'v1beta1'):
            spec.pop('rollbackTo', None)
        if to_group != 'extensions':
            spec.pop('templateGeneration', None)
    elif kind == 'Ingress':
        new_from = (from_group, from_version) == ('networking.k8s.io', 'v1')
        new_to = (to_group, to_version) == ('networking.k8s.io', 'v1')
        if new_from != new_to:
            _convert_ingress(obj, to_v1=new_to)
    elif kind == 'HorizontalPodAutoscaler':
        if from_version == 'v1' and to_version != 'v1':
            _hpa_from_v1(obj, to_version)
        elif to_version == 'v1' and from_version != 'v1':
            _hpa_to_v1(obj, from_version)
        else:
            _hpa_v2_metric_style(obj, to_version)
    elif kind == 'Event':
        if (from_group == '') != (to_group == ''):
            _convert_event(obj, to_core=(to_group == ''))
    elif kind == 'CustomResourceDefinition':
        if from_version == 'v1beta1' and to_version == 'v1':
            _crd_to_v1(obj)
        elif from_version == 'v1' and to_version == 'v1beta1':
            _crd_from_v1(obj)
    return obj


# --- selectors -------------------------------------------------------------------------------------------
_SEL_RE = re.compile(r'^\s*(!?)\s*([A-Za-z0-9./_-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9._-]*)|\s+(in|notin)\s*\(([^)]*)\))?\s*$')


def _split_top(text):
    parts, depth, cur = [], 0, ''
    for ch in text:
        if ch == '(':
            depth += 1
        elif ch == ')':
            depth -= 1
        if ch == ',' and depth == 0:
            parts.append(cur)
            cur = ''
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


def parse_label_selector(text):
    """'a=b,c!=d,e in (x,y),f notin (z),g,!h' -> list of (key, op, values)."""
    reqs = []
    if not text:
        return reqs
    for part in _split_top(text):
        m = _SEL_RE.match(part)
        if not m:
            raise BadRequest('unable to parse requirement: %s' % part.strip())
        neg, key, op, val, setop, setvals = m.groups()
        if neg:
            if op or setop:
                raise BadRequest('unable to parse requirement: %s' % part.strip())
            reqs.append((key, '!', ()))
        elif op:
            reqs.append((key, '!=' if op == '!=' else '=', (val,)))
        elif setop:
            reqs.append((key, setop, tuple(v.strip() for v in setvals.split(',') if v.strip())))
        else:
            reqs.append((key, 'exists', ()))
    return reqs


def match_labels(reqs, labels):
    labels = labels or {}
    for key, op, vals in reqs:
        has = key in labels
        v = labels.get(key)
        if op == '=' and (not has or v != vals[0]):
            return False
        if op == '!=' and has and v == vals[0]:
            return False
        if op == 'in' and (not has or v not in vals):
            return False
        if op == 'notin' and has and v in vals:
            return False
        if op == 'exists' and not has:
            return False
        if op == '!' and has:
            return False
    return True


def match_label_selector_obj(sel, labels):
    """metav1.LabelSelector (matchLabels + matchExpressions) against labels; an empty selector matches all."""
    labels = labels or {}
    if not isinstance(sel, dict):
        return False
    for k, v in (sel.get('matchLabels') or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get('matchExpressions') or []:
        key, op, vals = e.get('key'), e.get('operator'), e.get('values') or []
        if op == 'In' and labels.get(key) not in vals:
            return False
        if op == 'NotIn' and key in labels and labels[key] in vals:
            return False
        if op == 'Exists' and key not in labels:
            return False
        if op == 'DoesNotExist' and key in labels:
            return False
    return True


def parse_field_selector(text):
    reqs = []
    if not text:
        return reqs
    for part in text.split(','):
        part = part.strip()
        if not part:
            continue
        m = re.match(r'^([A-Za-z0-9._]+)\s*(==|=|!=)\s*(.*)$', part)
        if not m:
            raise BadRequest('invalid selector: \'%s\'; can\'t understand \'%s\'' % (text, part))
        reqs.append((m.group(1), m.group(2) == '!=', m.group(3)))
    return reqs


# Field selectors each kind supports upstream (besides metadata.name and metadata.namespace).
FIELD_LABELS = {
    'Pod': {'spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.phase',
            'status.podIP', 'status.nominatedNodeName', 'spec.hostNetwork'},
    'Node': {'spec.unschedulable'},
    'Event': {'involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid',
              'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason',
              'reportingComponent', 'source', 'type'},
    'Secret': {'type'},
    'Namespace': {'status.phase'},
    'ReplicaSet': {'status.replicas'},
    'ReplicationController': {'status.replicas'},
    'Job': {'status.successful'},
    'CertificateSigningRequest': {'spec.signerName'},
}


def field_value(obj, path):
    cur = obj
    for part in path.split('.'):
        if not isinstance(cur, dict):
            return ''
        cur = cur.get(part)
    if cur is None:
        return ''
    if isinstance(cur, bool):
        return 'true' if cur else 'false'
    return str(cur)


def check_field_selector(reqs, kind):
    allowed = {'metadata.name', 'metadata.namespace'} | FIELD_LABELS.get(kind, set())
    for path, _neg, _val in reqs:
        if path not in allowed:
            raise BadRequest('"%s" is not a known field selector: only "%s"' % (
                path, '", "'.join(sorted(allowed))))


def match_fields(reqs, obj):
    for path, negate, value in reqs:
        if (field_value(obj, path) == value) == negate:
            return False
    return True


# --- patches -----------------------------------------------------------------------------------------------
def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def _ptr(path):
    if path == '':
        return []
    if not path.startswith('/'):
        raise BadRequest('invalid JSON pointer: %s' % path)
    return [p.replace('~1', '/').replace('~0', '~') for p in path[1:].split('/')]


def _walk(doc, parts):
    cur = doc
    for p in parts:
        if isinstance(cur, list):
            cur = cur[int(p)]
        elif isinstance(cur, dict):
            cur = cur[p]
        else:
            raise KeyError(p)
    return cur


def json_patch(doc, ops):
    """RFC 6902 JSON patch."""
    doc = copy.deepcopy(doc)
    if not isinstance(ops, list):
        raise BadRequest('json patch must be a list of operations')
    for op in ops:
        try:
            kind = op['op']
            parts = _ptr(op['path'])
            if kind == 'test':
                if _walk(doc, parts) != op.get('value'):
                    raise BadRequest('testing value %s failed' % op['path'])
                continue
            if kind in ('move', 'copy'):
                value = copy.deepcopy(_walk(doc, _ptr(op['from'])))
                if kind == 'move':
                    doc = json_patch(doc, [{'op': 'remove', 'path': op['from']}])
                doc = json_patch(doc, [{'op': 'add', 'path': op['path'], 'value': value}])
                continue
            if not parts:
                if kind in ('add', 'replace'):
                    doc = copy.deepcopy(op['value'])
                    continue
                raise BadRequest('cannot remove the root')
            parent = _walk(doc, parts[:-1])
            last = parts[-1]
            if kind == 'add':
                if isinstance(parent, list):
                    if last == '-':
                        parent.append(copy.deepcopy(op['value']))
                    else:
                        parent.insert(int(last), copy.deepcopy(op['value']))
                else:
                    parent[last] = copy.deepcopy(op['value'])
            elif kind == 'remove':
                if isinstance(parent, list):
                    del parent[int(last)]
                else:
                    del parent[last]
            elif kind == 'replace':
                if isinstance(parent, list):
                    parent[int(last)] = copy.deepcopy(op['value'])
                else:
                    if last not in parent:
                        raise KeyError(last)
                    parent[last] = copy.deepcopy(op['value'])
            else:
                raise BadRequest('unknown JSON patch op %r' % kind)
        except (KeyError, IndexError, ValueError, TypeError) as e:
            raise BadRequest('the server rejected our request due to an error in our request: '
                             'doc is missing path: "%s": %s' % (op.get('path') if isinstance(op, dict) else op, e))
    return doc


# patchMergeKey of upstream's types, by field name (ports depend on where they are).
MERGE_KEYS = {
    'containers': 'name', 'initContainers': 'name', 'ephemeralContainers': 'name', 'volumes': 'name',
    'env': 'name', 'volumeMounts': 'mountPath', 'volumeDevices': 'devicePath', 'imagePullSecrets': 'name',
    'conditions': 'type', 'taints': 'key', 'ownerReferences': 'uid', 'hostAliases': 'ip', 'addresses': 'type',
    'topologySpreadConstraints': 'topologyKey', 'resourceClaims': 'name', 'schedulingGates': 'name',
    'secrets': 'name', 'subsets': None,
}
# Lists of scalars merged as sets (patchStrategy: merge).
MERGE_SCALAR_LISTS = {'finalizers'}


def _merge_key(field, items):
    if field == 'ports':
        for it in items:
            if isinstance(it, dict):
                return 'containerPort' if 'containerPort' in it else 'port'
        return 'port'
    return MERGE_KEYS.get(field)


def strategic_merge(target, patch, field=None):
    """Strategic merge patch as kubectl and the kubelet send it (merge keys of upstream's types)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get('$patch') == 'replace':
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != '$patch'}
    if patch.get('$patch') == 'delete':
        return None
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    retain = patch.get('$retainKeys')
    for k, v in patch.items():
        if k.startswith('$setElementOrder/') or k in ('$retainKeys', '$patch'):
            continue
        if k.startswith('$deleteFromPrimitiveList/'):
            name = k.split('/', 1)[1]
            out[name] = [x for x in out.get(name) or [] if x not in (v or [])]
            continue
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict):
            merged = strategic_merge(out.get(k), v, k)
            if merged is None:
                out.pop(k, None)
            else:
                out[k] = merged
        elif isinstance(v, list):
            out[k] = _merge_list(out.get(k), v, k)
        else:
            out[k] = v
    if retain is not None:
        for k in list(out):
            if k not in retain and k not in patch:
                del out[k]
    return out


def _merge_list(cur, patch, field):
    cur = cur if isinstance(cur, list) else []
    if field in MERGE_SCALAR_LISTS:
        out = list(cur)
        for x in patch:
            if x not in out:
                out.append(x)
        return out
    key = _merge_key(field, patch + cur)
    if not key or not all(isinstance(x, dict) for x in patch):
        if any(isinstance(x, dict) and x.get('$patch') == 'replace' for x in patch):
            return [x for x in patch if not (isinstance(x, dict) and x.get('$patch'))]
        return copy.deepcopy(patch)
    if any(isinstance(x, dict) and x.get('$patch') == 'replace' for x in patch):
        return [copy.deepcopy(x) for x in patch if x.get('$patch') != 'replace']
    out = copy.deepcopy(cur)
    for item in patch:
        kv = item.get(key)
        idx = next((i for i, x in enumerate(out) if isinstance(x, dict) and x.get(key) == kv), None)
        if item.get('$patch') == 'delete':
            if idx is not None:
                del out[idx]
            continue
        if idx is None:
            out.append(strategic_merge({}, item, field))
        else:
            out[idx] = strategic_merge(out[idx], item, field)
    return out


def fields_v1(obj, skip_top=('apiVersion', 'kind', 'status')):
    """A FieldsV1 set (the f:/k: trie) covering every leaf of obj, as managedFields records them."""
    def walk(value, field=None):
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                out['f:' + k] = walk(v, k)
            return out
        if isinstance(value, list):
            key = _merge_key(field, value) if field else None
            out = {}
            for item in value:
                if isinstance(item, dict) and key and key in item:
                    out['k:' + json.dumps({key: item[key]}, separators=(',', ':'))] = dict(walk(item), **{'.': {}})
                elif not isinstance(item, (dict, list)):
                    out['v:' + json.dumps(item)] = {}
            return out
        return {}
    top = {}
    for k, v in obj.items():
        if k in skip_top:
            continue
        if k == 'metadata':
            md = {}
            for mk in ('labels', 'annotations', 'ownerReferences', 'finalizers'):
                if mk in (v or {}):
                    md['f:' + mk] = walk(v[mk], mk)
            if md:
                top['f:metadata'] = md
            continue
        top['f:' + k] = walk(v, k)
    return top


def record_managed_fields(new, manager, operation, api_version, now, subresource=None, applied=None, fields=None,
                          old=None):
    """Add or refresh the managedFields entry for this write.

    Updates are keyed by manager+operation+apiVersion(+subresource), applies by manager(+subresource),
    as upstream's fieldmanager does.  An Update of an existing object (old given) takes over the fields it
    changed (other managers lose them) and keeps what that manager owned before.
    """
    md = new.setdefault('metadata', {})
    entries = [e for e in md.get('managedFields') or [] if isinstance(e, dict)]
    source = applied if applied is not None else new
    if fields is None and old is not None and operation == 'Update' and not subresource:
        paths = _diff_paths(new, old)
        drop_fields([e for e in entries if (e.get('manager'), e.get('operation'), e.get('apiVersion')) !=
                     (manager, operation, api_version)], paths)
        fields = {}
        for e in entries:
            if (e.get('manager'), e.get('operation'), e.get('apiVersion'), e.get('subresource')) == \
                    (manager, operation, api_version, None):
                fields = json.loads(json.dumps(e.get('fieldsV1') or {}))
        for path in paths:
            node = fields
            for p in path:
                node = node.setdefault(p, {})
    if fields is not None:
        pass
    elif subresource == 'status':
        fields = {'f:status': fields_v1({'s': (source.get('status') or {})}, ())['f:s']} if source.get('status') else {}
    else:
        fields = fields_v1(source)
    entry = {'manager': manager or 'unknown', 'operation': operation, 'apiVersion': api_version, 'time': now,
             'fieldsType': 'FieldsV1', 'fieldsV1': fields}
    if subresource:
        entry['subresource'] = subresource

    def ident(e):
        return (e.get('manager'), e.get('operation'), e.get('subresource'),
                None if e.get('operation') == 'Apply' else e.get('apiVersion'))
    entries = [e for e in entries if ident(e) != ident(entry)]
    entries.append(entry)
    md['managedFields'] = entries


def _diff_paths(new, old, path=()):
    """FieldsV1 paths of the leaves new sets that old did not have with that value (metadata: labels and
    annotations only; status never)."""
    out = []
    if not isinstance(new, dict):
        return out
    for k, v in new.items():
        if path == () and k in ('apiVersion', 'kind', 'status'):
            continue
        o = old.get(k) if isinstance(old, dict) else None
        if path == () and k == 'metadata':
            for mk in ('labels', 'annotations'):
                for lk, lv in ((v or {}).get(mk) or {}).items():
                    if ((o or {}).get(mk) or {}).get(lk) != lv:
                        out.append(('f:metadata', 'f:' + mk, 'f:' + lk))
            continue
        if isinstance(v, dict) and v:
            out += _diff_paths(v, o, path + ('f:' + k,))
        elif v != o:
            out.append(path + ('f:' + k,))
    return out


# --- server-side apply conflicts -----------------------------------------------------------------------------
def _trie_get(trie, path):
    cur = trie
    for p in path:
        if not isinstance(cur, dict) or p not in cur:
            return None
        cur = cur[p]
    return cur


def _changed_paths(applied, current, path=(), field=None):
    """Paths (FieldsV1 keys) of the leaves whose applied value differs from the live object's."""
    out = []
    if isinstance(applied, dict):
        for k, v in applied.items():
            if path == () and k in ('apiVersion', 'kind', 'status'):
                continue
            if path == () and k == 'metadata':
                for mk in ('labels', 'annotations'):
                    for lk, lv in ((v or {}).get(mk) or {}).items():
                        if ((current.get('metadata') or {}).get(mk) or {}).get(lk) != lv:
                            out.append(('f:metadata', 'f:' + mk, 'f:' + lk))
                continue
            cur = current.get(k) if isinstance(current, dict) else None
            out += _changed_paths(v, cur, path + ('f:' + k,), k)
        return out
    if isinstance(applied, list):
        key = _merge_key(field, applied) if field else None
        if key and all(isinstance(x, dict) and key in x for x in applied):
            cur_items = current if isinstance(current, list) else []
            for item in applied:
                match = next((c for c in cur_items if isinstance(c, dict) and c.get(key) == item[key]), None)
                kp = 'k:' + json.dumps({key: item[key]}, separators=(',', ':'))
                if match is None:
                    continue  # a new element: nobody owns it yet
                out += _changed_paths(item, match, path + (kp,), None)
            return out
    if applied != current and current is not None:
        out.append(path)
    return out


def apply_conflicts(applied, current, manager):
    """[(field path '.spec.replicas', other manager, its apiVersion)] where applying would take a value
    another manager set (upstream answers 409 unless force=true)."""
    entries = [e for e in (current.get('metadata') or {}).get('managedFields') or []
               if not (e.get('manager') == manager and e.get('operation') == 'Apply' and not e.get('subresource'))]
    out = []
    for path in _changed_paths(applied, current):
        for e in entries:
            if _trie_get(e.get('fieldsV1') or {}, path) is not None:
                text = ''.join('.' + p[2:] if p.startswith('f:') else '[%s]' % p[2:] for p in path)
                out.append((text, manager_text(e)))
    return out


def manager_text(e):
    """How upstream's conflict message names a managedFields entry."""
    text = '"%s"' % e.get('manager')
    if e.get('subresource'):
        text += ' with subresource "%s"' % e['subresource']
    if e.get('operation') == 'Update':
        text += ' using %s' % e.get('apiVersion')
    return text


def drop_fields(entries, paths):
    """Remove the given FieldsV1 paths from other managers' entries (ownership moved by a forced apply)."""
    for e in entries:
        for path in paths:
            node = e.get('fieldsV1') or {}
            for p in path[:-1]:
                node = node.get(p) if isinstance(node, dict) else None
                if node is None:
                    break
            if isinstance(node, dict):
                node.pop(path[-1], None)
