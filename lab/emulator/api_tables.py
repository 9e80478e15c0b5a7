"""Server-side printing (meta.k8s.io Table) for `kubectl get`, with the columns upstream prints."""

import datetime


def human_age(ts, now=None):
    """Go's duration.HumanDuration of the time since an RFC 3339 timestamp ('5s', '3m', '2d4h', ...)."""
    if not ts:
        return '<unknown>'
    try:
        t = datetime.datetime.strptime(ts, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return '<invalid>'
    now = now or datetime.datetime.now(datetime.timezone.utc)
    s = int((now - t).total_seconds())
    if s < 0:
        return '<invalid>'
    if s < 120:
        return '%ds' % s
    m = s // 60
    if m < 10:
        return '%dm%ds' % (m, s % 60) if s % 60 else '%dm' % m
    if m < 180:
        return '%dm' % m
    h = m // 60
    if h < 8:
        return '%dh%dm' % (h, m % 60) if m % 60 else '%dh' % h
    if h < 48:
        return '%dh' % h
    d = h // 24
    if h < 24 * 8:
        return '%dd%dh' % (d, h % 24) if h % 24 else '%dd' % d
    if d < 365 * 2:
        return '%dd' % d
    return '%dy%dd' % (d // 365, d % 365) if d % 365 else '%dy' % (d // 365)


def _col(name, typ='string', fmt='', priority=0, desc=''):
    return {'name': name, 'type': typ, 'format': fmt, 'description': desc or name, 'priority': priority}


def _node_row(o):
    md, spec, st = o.get('metadata') or {}, o.get('spec') or {}, o.get('status') or {}
    ready = [c for c in st.get('conditions') or [] if c.get('type') == 'Ready']
    status = 'Unknown' if not ready else ('Ready' if ready[0].get('status') == 'True' else 'NotReady')
    if spec.get('unschedulable'):
        status += ',SchedulingDisabled'
    roles = sorted(k.split('/', 1)[1] for k in (md.get('labels') or {}) if k.startswith('node-role.kubernetes.io/'))
    info = st.get('nodeInfo') or {}
    addrs = {a.get('type'): a.get('address') for a in st.get('addresses') or []}
    return [md.get('name'), status, ','.join(r for r in roles if r) or '<none>', human_age(md.get('creationTimestamp')),
            info.get('kubeletVersion', ''), addrs.get('InternalIP', '<none>'), addrs.get('ExternalIP', '<none>'),
            info.get('osImage') or '<unknown>', info.get('kernelVersion') or '<unknown>',
            info.get('containerRuntimeVersion') or '<unknown>']


def _pod_row(o):
    md, spec, st = o.get('metadata') or {}, o.get('spec') or {}, o.get('status') or {}
    cs = st.get('containerStatuses') or []
    total = len(spec.get('containers') or [])
    ready = sum(1 for c in cs if c.get('ready'))
    restarts = sum(int(c.get('restartCount') or 0) for c in cs)
    reason = st.get('reason') or st.get('phase') or 'Unknown'
    for c in cs:
        w = (c.get('state') or {}).get('waiting')
        if w and w.get('reason'):
            reason = w['reason']
    if md.get('deletionTimestamp'):
        reason = 'Terminating'
    return [md.get('name'), '%d/%d' % (ready, total), reason, restarts, human_age(md.get('creationTimestamp')),
            st.get('podIP') or '<none>', spec.get('nodeName') or '<none>', st.get('nominatedNodeName') or '<none>',
            '<none>']


def _workload_row(kind):
    def row(o):
        md, spec, st = o.get('metadata') or {}, o.get('spec') or {}, o.get('status') or {}
        age = human_age(md.get('creationTimestamp'))
        if kind == 'DaemonSet':
            sel = ','.join('%s=%s' % kv for kv in sorted((spec.get('template', {}).get('spec', {})
                                                          .get('nodeSelector') or {}).items())) or '<none>'
            return [md.get('name'), st.get('desiredNumberScheduled', 0), st.get('currentNumberScheduled', 0),
                    st.get('numberReady', 0), st.get('updatedNumberScheduled', 0), st.get('numberAvailable', 0),
                    sel, age]
        if kind == 'Deployment':
            return [md.get('name'), '%d/%d' % (st.get('readyReplicas', 0), spec.get('replicas', 0)),
                    st.get('updatedReplicas', 0), st.get('availableReplicas', 0), age]
        if kind == 'StatefulSet':
            return [md.get('name'), '%d/%d' % (st.get('readyReplicas', 0), spec.get('replicas', 0)), age]
        return [md.get('name'), spec.get('replicas', 0), st.get('replicas', 0), st.get('readyReplicas', 0), age]
    return row


TABLES = {
    'Node': ([_col('Name', fmt='name'), _col('Status'), _col('Roles'), _col('Age'), _col('Version'),
              _col('Internal-IP', priority=1), _col('External-IP', priority=1), _col('OS-Image', priority=1),
              _col('Kernel-Version', priority=1), _col('Container-Runtime', priority=1)], _node_row),
    'Pod': ([_col('Name', fmt='name'), _col('Ready'), _col('Status'), _col('Restarts', 'string'), _col('Age'),
             _col('IP', priority=1), _col('Node', priority=1), _col('Nominated Node', priority=1),
             _col('Readiness Gates', priority=1)], _pod_row),
    'Deployment': ([_col('Name', fmt='name'), _col('Ready'), _col('Up-to-date', 'integer'),
                    _col('Available', 'integer'), _col('Age')], _workload_row('Deployment')),
    'ReplicaSet': ([_col('Name', fmt='name'), _col('Desired', 'integer'), _col('Current', 'integer'),
                    _col('Ready', 'integer'), _col('Age')], _workload_row('ReplicaSet')),
    'StatefulSet': ([_col('Name', fmt='name'), _col('Ready'), _col('Age')], _workload_row('StatefulSet')),
    'DaemonSet': ([_col('Name', fmt='name'), _col('Desired', 'integer'), _col('Current', 'integer'),
                   _col('Ready', 'integer'), _col('Up-to-date', 'integer'), _col('Available', 'integer'),
                   _col('Node Selector'), _col('Age')], _workload_row('DaemonSet')),
    'Namespace': ([_col('Name', fmt='name'), _col('Status'), _col('Age')],
                  lambda o: [o['metadata'].get('name'), (o.get('status') or {}).get('phase', ''),
                             human_age(o['metadata'].get('creationTimestamp'))]),
    'PodDisruptionBudget': ([_col('Name', fmt='name'), _col('Min Available'), _col('Max Unavailable'),
                             _col('Allowed Disruptions', 'integer'), _col('Age')],
                            lambda o: [o['metadata'].get('name'), str((o.get('spec') or {}).get('minAvailable', 'N/A')),
                                       str((o.get('spec') or {}).get('maxUnavailable', 'N/A')),
                                       (o.get('status') or {}).get('disruptionsAllowed', 0),
                                       human_age(o['metadata'].get('creationTimestamp'))]),
}


def _service_row(o):
    spec = o.get('spec') or {}
    lb = [i.get('ip') or i.get('hostname') for i in ((o.get('status') or {}).get('loadBalancer') or {}).get('ingress') or []]
    ext = ','.join(lb + list(spec.get('externalIPs') or [])) or ('<pending>' if spec.get('type') == 'LoadBalancer'
                                                                 else '<none>')
    ports = ','.join('%s%s/%s' % (p.get('port'), ':%s' % p['nodePort'] if p.get('nodePort') else '',
                                  p.get('protocol', 'TCP')) for p in spec.get('ports') or []) or '<none>'
    return [o['metadata'].get('name'), spec.get('type', 'ClusterIP'), spec.get('clusterIP') or '<none>', ext, ports,
            human_age(o['metadata'].get('creationTimestamp'))]


def _endpoints_row(o):
    eps = ['%s:%s' % (a.get('ip'), p.get('port')) for s in o.get('subsets') or [] for a in s.get('addresses') or []
           for p in s.get('ports') or [{}]]
    text = ','.join(eps[:3]) + (' + %d more...' % (len(eps) - 3) if len(eps) > 3 else '')
    return [o['metadata'].get('name'), text or '<none>', human_age(o['metadata'].get('creationTimestamp'))]


def _cs_row(o):
    c = (o.get('conditions') or [{}])[0]
    return [o['metadata'].get('name'), 'Healthy' if c.get('status') == 'True' else 'Unhealthy',
            c.get('message', ''), c.get('error', '')]


def _event_row(o):
    md = o.get('metadata') or {}
    inv = o.get('involvedObject') or o.get('regarding') or {}
    last = o.get('lastTimestamp') or o.get('deprecatedLastTimestamp') or o.get('eventTime') or md.get('creationTimestamp')
    if isinstance(last, str) and '.' in last:
        last = last.split('.')[0] + 'Z'
    obj = '%s/%s' % ((inv.get('kind') or '').lower(), inv.get('name', ''))
    return [human_age(last), o.get('type', ''), o.get('reason', ''), obj, o.get('message') or o.get('note') or '']


def _job_row(o):
    done = (o.get('status') or {}).get('succeeded', 0)
    return [o['metadata'].get('name'), '%d/%d' % (done, (o.get('spec') or {}).get('completions', 1)),
            human_age(o['metadata'].get('creationTimestamp'))]


def _cronjob_row(o):
    spec, st = o.get('spec') or {}, o.get('status') or {}
    return [o['metadata'].get('name'), spec.get('schedule', ''), 'True' if spec.get('suspend') else 'False',
            len(st.get('active') or []), human_age(st.get('lastScheduleTime')) if st.get('lastScheduleTime')
            else '<none>', human_age(o['metadata'].get('creationTimestamp'))]


TABLES.update({
    'Event': ([_col('Last Seen'), _col('Type'), _col('Reason'), _col('Object'), _col('Message')], _event_row),
    'CronJob': ([_col('Name', fmt='name'), _col('Schedule'), _col('Suspend'), _col('Active', 'integer'),
                 _col('Last Schedule'), _col('Age')], _cronjob_row),
    'Job': ([_col('Name', fmt='name'), _col('Completions'), _col('Age')], _job_row),
    'Lease': ([_col('Name', fmt='name'), _col('Holder'), _col('Age')],
              lambda o: [o['metadata'].get('name'), (o.get('spec') or {}).get('holderIdentity', ''),
                         human_age(o['metadata'].get('creationTimestamp'))]),
    'ComponentStatus': ([_col('Name', fmt='name'), _col('Status'), _col('Message'), _col('Error')], _cs_row),
    'Service': ([_col('Name', fmt='name'), _col('Type'), _col('Cluster-IP'), _col('External-IP'), _col('Port(s)'),
                 _col('Age')], _service_row),
    'Endpoints': ([_col('Name', fmt='name'), _col('Endpoints'), _col('Age')], _endpoints_row),
    'ConfigMap': ([_col('Name', fmt='name'), _col('Data', 'integer'), _col('Age')],
                  lambda o: [o['metadata'].get('name'), len(o.get('data') or {}) + len(o.get('binaryData') or {}),
                             human_age(o['metadata'].get('creationTimestamp'))]),
    'Secret': ([_col('Name', fmt='name'), _col('Type'), _col('Data', 'integer'), _col('Age')],
               lambda o: [o['metadata'].get('name'), o.get('type', 'Opaque'), len(o.get('data') or {}),
                          human_age(o['metadata'].get('creationTimestamp'))]),
})
DEFAULT = ([_col('Name', fmt='name'), _col('Age')],
           lambda o: [o['metadata'].get('name'), human_age(o['metadata'].get('creationTimestamp'))])


def wants_table(accept):
    return 'as=Table' in (accept or '')


def to_table(kind, items, list_meta, include='Metadata'):
    cols, fn = TABLES.get(kind, DEFAULT)
    rows = []
    for o in items:
        row = {'cells': fn(o)}
        if include == 'Object':
            row['object'] = o
        elif include != 'None':
            row['object'] = {'kind': 'PartialObjectMetadata', 'apiVersion': 'meta.k8s.io/v1',
                             'metadata': o.get('metadata') or {}}
        rows.append(row)
    return {'kind': 'Table', 'apiVersion': 'meta.k8s.io/v1', 'metadata': list_meta, 'columnDefinitions': cols,
            'rows': rows}


# --- /openapi/v2 as protobuf (gnostic openapi_v2.Document), the little kubectl reads from it -------------
def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(num, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def openapi_v2_protobuf(version, resources):
    """A valid Document with one PATCH operation per resource: its x-kubernetes-group-version-kind and the
    fieldValidation/dryRun/fieldManager query parameters (what kubectl's QueryParamVerifier looks for).
    No definitions: kubectl then takes patch strategies from its compiled-in types."""
    paths = b''
    for r in resources:
        base = '/api/v1' if not r.group else '/apis/%s/%s' % (r.group, r.version)
        path = '%s/%s%s/{name}' % (base, 'namespaces/{namespace}/' if r.namespaced else '', r.plural)
        params = b''
        for name in ('dryRun', 'fieldManager', 'fieldValidation', 'force'):
            qp = _field(2, 'query') + _field(4, name) + _field(6, 'string')
            params += _field(8, _field(1, _field(2, _field(3, qp))))   # ParametersItem.parameter.non_body.query
        gvk = 'group: "%s"\nkind: %s\nversion: %s\n' % (r.group, r.kind, r.version)
        ext = _field(13, _field(1, 'x-kubernetes-group-version-kind') + _field(2, _field(2, gvk)))
        op = _field(5, 'patch%s%s' % (r.group.split('.')[0].capitalize(), r.kind)) + params + ext
        paths += _field(2, _field(1, path) + _field(2, _field(8, op)))
    doc = _field(1, '2.0') + _field(2, _field(1, 'Kubernetes') + _field(2, 'v' + version)) + _field(8, paths)
    return doc
