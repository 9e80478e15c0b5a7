"""The emulated kube-apiserver of the rehearsal lab.

Serves, over HTTPS with client-certificate (and optional --token-auth-file) authentication, what the
release it claims to be serves where clients can observe it:
- /healthz, /livez and /readyz (the last two from 1.16; healthz and readyz fail while etcd does not
  answer), /version (gitVersion vX.Y.Z, goVersion of that release);
- discovery of exactly that release's group/versions and resources (lab.facts.apis), 404 for others;
  plain APIVersions/APIGroupList (clients fall back from aggregated discovery); /openapi/v3 (1.24+)
  and /openapi/v2 (protobuf) documents minimal but enough for kubectl's apply and field validation;
- objects in the real etcd (store.py, the gRPC JSON gateway) as JSON under
  /registry/<plural>/<namespace>/<name> (group-qualified for apiextensions, apiregistration and custom
  resources), each stored in the group/version it was last written with (a status write keeps it) and
  converted on read (apps/v1 <-> extensions/v1beta1, Ingress, HPA, Event, CRD v1beta1 <-> v1 ...), with
  the defaults of the version written (api_objects.py);
- list (labelSelector, fieldSelector, limit/continue on etcd revisions), watch (JSON event stream,
  Table rows for kubectl get -w), get, create, update (409 on a stale resourceVersion), patch (JSON,
  merge, strategic merge, server-side apply), delete (background propagation to owned objects,
  finalizers honoured), deletecollection, status/scale/binding subresources, eviction honouring
  PodDisruptionBudgets (429 with upstream's message), managedFields per manager and apiVersion,
  server-side printing (Table) for kubectl get, deprecation Warning headers (1.19+);
- authorization: system:masters, the node and component identities by fixed rules, everyone else by
  the stored RBAC objects (bootstrap cluster-admin/admin/edit/view); AlwaysAllow without the flag.

Entry points: run(opts) (lab.emulator.cli Options) and main(version, flags) with flags a dict of
the real kube-apiserver's flags (names without dashes: {'secure-port': '6443', ...}). Flags used:
bind-address, secure-port, advertise-address, tls-cert-file, tls-private-key-file, client-ca-file,
token-auth-file, etcd-servers, etcd-cafile, etcd-certfile, etcd-keyfile, etcd-prefix (/registry only),
service-cluster-ip-range, service-node-port-range, authorization-mode, runtime-config
(storagemigration.k8s.io/v1alpha1 on 1.30+), insecure-port/insecure-bind-address (before 1.24), v
(every request is logged at 3, like upstream's httplog). Others are accepted and ignored.
Stdlib + PyYAML only: it runs inside the lab hosts.

Deviations a client could notice (kept on purpose, small):
- a client certificate from another CA fails the TLS handshake (upstream completes it and answers 401);
- JSON only, except the protobuf bodies newer kubectl sends for `create` of a few kinds (api_proto.py);
- a pod bound to a node is deleted gracefully (deletionTimestamp, the kubelet finishes it); other
  objects go at once (finalizers honoured), dependents are deleted in the background by the apiserver
  itself (upstream's garbage collector lives in kube-controller-manager);
- no field validation against the schemas (fieldValidation=Strict is accepted, unknown fields kept).
"""

import datetime
import ipaddress
import json
import math
import random
import signal
import socket
import ssl
import sys
import threading
import time
import uuid
from http.server import ThreadingHTTPServer

from lab.emulator import api_objects as ob
from lab.emulator import klog
from lab.emulator.store import EtcdStore, StoreError
from lab.facts import apis as api_facts

# Go versions upstream built each minor with (as /version reports goVersion).
GO_VERSIONS = {10: 'go1.9.3', 11: 'go1.10.8', 12: 'go1.10.8', 13: 'go1.11.13', 14: 'go1.12.12', 15: 'go1.12.17',
               16: 'go1.13.15', 17: 'go1.13.15', 18: 'go1.13.15', 19: 'go1.15.15', 20: 'go1.15.15',
               21: 'go1.16.15', 22: 'go1.16.15', 23: 'go1.17.13', 24: 'go1.19.12', 25: 'go1.20.10',
               26: 'go1.21.9', 27: 'go1.22.7', 28: 'go1.22.8', 29: 'go1.22.8', 30: 'go1.23.6',
               31: 'go1.23.10', 32: 'go1.23.10', 33: 'go1.24.4'}

SYSTEM_NAMESPACES = ('default', 'kube-system', 'kube-public', 'kube-node-lease')
# Kinds whose metadata.generation tracks spec changes.
GENERATION_KINDS = {'Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet', 'ReplicationController', 'Job',
                    'CronJob', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'CustomResourceDefinition',
                    'Ingress', 'NetworkPolicy', 'FlowSchema', 'PriorityLevelConfiguration', 'IngressClass',
                    'StorageVersionMigration', 'ValidatingAdmissionPolicy', 'EndpointSlice'}
# Kinds whose status the registry resets on create (a controller fills it).
STATUS_RESET_KINDS = {'Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet', 'Job', 'CronJob',
                      'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'ReplicationController'}
# Owner kind -> dependents deleted with it (background propagation, the garbage collector's job).
DEPENDENTS = {'Deployment': ['replicasets'], 'ReplicaSet': ['pods'], 'DaemonSet': ['pods', 'controllerrevisions'],
              'StatefulSet': ['pods', 'controllerrevisions'], 'Job': ['pods'], 'CronJob': ['jobs'],
              'ReplicationController': ['pods']}
POD_GROUP_PREFIX = 'system:serviceaccount'

# Authorization: system:masters, the node and component identities by fixed rules (upstream's Node
# authorizer and bootstrap bindings, simplified); everyone else by the stored RBAC objects.
READ_VERBS = {'get', 'list', 'watch'}
_READ = ['get', 'list', 'watch']
_WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update']
_WORKLOADS = ['pods', 'services', 'configmaps', 'secrets', 'persistentvolumeclaims', 'deployments', 'replicasets',
              'statefulsets', 'daemonsets', 'jobs', 'cronjobs', 'horizontalpodautoscalers', 'ingresses',
              'networkpolicies', 'poddisruptionbudgets', 'endpoints', 'serviceaccounts', 'events', 'pods/log',
              'deployments/scale', 'replicasets/scale', 'statefulsets/scale', 'pods/eviction']
_GROUPS = ['', 'apps', 'batch', 'autoscaling', 'extensions', 'networking.k8s.io', 'policy']
BOOTSTRAP_RBAC = [
    ('clusterroles', 'ClusterRole', {'metadata': {'name': 'cluster-admin'},
                                     'rules': [{'apiGroups': ['*'], 'resources': ['*'], 'verbs': ['*']},
                                               {'nonResourceURLs': ['*'], 'verbs': ['*']}]}),
    ('clusterroles', 'ClusterRole', {'metadata': {'name': 'admin'}, 'rules': [
        {'apiGroups': _GROUPS + ['rbac.authorization.k8s.io'], 'resources': _WORKLOADS + ['roles', 'rolebindings'],
         'verbs': _READ + _WRITE}]}),
    ('clusterroles', 'ClusterRole', {'metadata': {'name': 'edit'}, 'rules': [
        {'apiGroups': _GROUPS, 'resources': _WORKLOADS, 'verbs': _READ + _WRITE}]}),
    ('clusterroles', 'ClusterRole', {'metadata': {'name': 'view'}, 'rules': [
        {'apiGroups': _GROUPS, 'resources': [r for r in _WORKLOADS if r not in ('secrets', 'pods/eviction')],
         'verbs': _READ}]}),
    ('clusterrolebindings', 'ClusterRoleBinding', {
        'metadata': {'name': 'cluster-admin'},
        'roleRef': {'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'ClusterRole', 'name': 'cluster-admin'},
        'subjects': [{'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'Group', 'name': 'system:masters'}]}),
]


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


class APIError(Exception):
    def __init__(self, code, reason, message, details=None):
        super(APIError, self).__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self):
        st = {'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Failure', 'message': self.message,
              'reason': self.reason, 'code': self.code}
        if self.details is not None:
            st['details'] = self.details
        return st


def _qualified(res):
    return res.plural if not res.group else '%s.%s' % (res.plural, res.group)


def not_found(res, name):
    d = {'name': name, 'kind': res.plural}
    if res.group:
        d['group'] = res.group
    return APIError(404, 'NotFound', '%s "%s" not found' % (_qualified(res), name), d)


def conflict(res, name):
    d = {'name': name, 'kind': res.plural}
    if res.group:
        d['group'] = res.group
    return APIError(409, 'Conflict', 'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                    'please apply your changes to the latest version and try again' % (_qualified(res), name), d)


class Resource(object):
    """One (group, version, plural) this server serves."""

    def __init__(self, group, version, plural, kind, namespaced, verbs, subresources, crd=None):
        self.group, self.version, self.plural, self.kind = group, version, plural, kind
        self.namespaced, self.verbs, self.subresources = namespaced, verbs, subresources
        self.crd = crd
        if crd is not None or group in api_facts.GROUP_QUALIFIED_STORAGE:
            self.prefix = '/registry/%s/%s/' % (group, plural)
        else:
            self.prefix = '/registry/%s/' % plural
        self.virtual = kind in api_facts.VIRTUAL

    @property
    def gv(self):
        return ob.join_gv(self.group, self.version)

    def key(self, ns, name):
        return '%s%s/%s' % (self.prefix, ns, name) if self.namespaced else self.prefix + name

    def list_prefix(self, ns):
        return '%s%s/' % (self.prefix, ns) if (self.namespaced and ns) else self.prefix


class User(object):
    def __init__(self, name, groups, uid=''):
        self.name, self.groups, self.uid = name, list(groups), uid
        if name != 'system:anonymous' and 'system:authenticated' not in self.groups:
            self.groups.append('system:authenticated')


class APIServer(object):
    def __init__(self, version, flags, store=None):
        self.version = version.lstrip('v')
        self.minor = int(self.version.split('.')[1])
        self.flags = dict(flags)
        self.extras = []
        if self.flag_bool('lab-storage-migration', False) or 'storagemigration.k8s.io/v1alpha1' in \
                self.flags.get('runtime-config', ''):
            self.extras.append(('storagemigration.k8s.io/v1alpha1', 'StorageVersionMigration'))
        self.store = store or EtcdStore(self.flags.get('etcd-servers', 'http://127.0.0.1:2379'),
                                        cafile=self.flags.get('etcd-cafile') or None,
                                        certfile=self.flags.get('etcd-certfile') or None,
                                        keyfile=self.flags.get('etcd-keyfile') or None)
        prefix = self.flags.get('etcd-prefix', '/registry').rstrip('/')
        if prefix != '/registry':
            raise ValueError('the lab apiserver stores under /registry only')
        self.tokens = self._load_tokens(self.flags.get('token-auth-file'))
        self.builtin = {}   # (group, version, plural) -> Resource
        self.by_kind = {}   # (group, kind) -> [Resource]
        self.storage_versions = {}  # prefix -> [gv served for it]
        for gv, rows in api_facts.resources(self.minor, self.extras).items():
            group, version = api_facts.split_gv(gv)
            for row in rows:
                if '/' in row['name']:
                    continue
                subs = {r['name'].split('/', 1)[1]: r for r in rows if r['name'].startswith(row['name'] + '/')}
                res = Resource(group, version, row['name'], row['kind'], row['namespaced'], row['verbs'], subs)
                self.builtin[(group, version, row['name'])] = res
                self.by_kind.setdefault((group, row['kind']), []).append(res)
        self.discovery = api_facts.resources(self.minor, self.extras)
        self.preferred = api_facts.preferred_versions(self.minor, self.extras)
        self.group_versions = api_facts.group_versions(self.minor, self.extras)
        self.group_order = api_facts.ordered_groups(self.minor, self.extras)
        self._crd_cache = (0.0, {})
        self._crd_lock = threading.Lock()
        self._evict_lock = threading.Lock()
        self._ip_lock = threading.Lock()
        self.ready = threading.Event()
        self.stopping = threading.Event()
        self.shutdown_requested = threading.Event()  # SIGTERM seen, still serving (--shutdown-delay-duration)
        self.service_net = ipaddress.ip_network(self.flags.get('service-cluster-ip-range', '10.96.0.0/12'),
                                                strict=False)

    # --- flags ----------------------------------------------------------------------------------------
    def flag_bool(self, name, default):
        v = self.flags.get(name)
        if v is None:
            return default
        return str(v).lower() in ('1', 't', 'true')

    @staticmethod
    def _load_tokens(path):
        tokens = {}
        if not path:
            return tokens
        import csv
        with open(path) as f:
            for row in csv.reader(f):
                if len(row) >= 3 and not row[0].startswith('#'):
                    groups = [g for g in row[3].split(',') if g] if len(row) > 3 else []
                    tokens[row[0].strip()] = User(row[1].strip(), groups, row[2].strip())
        return tokens

    # --- authentication and authorization -------------------------------------------------------------
    def authenticate(self, handler):
        auth = handler.headers.get('Authorization', '')
        if auth.lower().startswith('bearer '):
            user = self.tokens.get(auth[7:].strip())
            if user is None:
                raise APIError(401, 'Unauthorized', 'Unauthorized')
            return user
        cert = None
        try:
            cert = handler.connection.getpeercert()
        except (AttributeError, ValueError):
            cert = None
        if cert:
            cn, orgs = None, []
            for rdn in cert.get('subject', ()):
                for k, v in rdn:
                    if k == 'commonName':
                        cn = v
                    elif k == 'organizationName':
                        orgs.append(v)
            if cn:
                return User(cn, orgs)
        if getattr(handler, 'insecure', False):
            return User('system:unsecured', ['system:masters'])
        return None

    def authorize(self, user, verb, res, sub, ns, name):
        g = set(user.groups)
        if 'system:masters' in g or user.name == 'system:kube-controller-manager':
            return True
        plural = res.plural if res else ''
        if user.name == 'system:unsecured':
            return True
        if 'system:nodes' in g and user.name.startswith('system:node:'):
            if verb in READ_VERBS:
                return True
            if plural in ('nodes', 'pods', 'events', 'leases', 'csinodes', 'certificatesigningrequests'):
                return True
            if plural == 'serviceaccounts' and sub == 'token':
                return True
            return False
        if user.name == 'system:kube-scheduler':
            if verb in READ_VERBS:
                return True
            if plural == 'pods' and sub in ('binding', 'status'):
                return True
            return plural in ('bindings', 'events', 'leases', 'endpoints', 'configmaps')
        if user.name == 'system:kube-proxy' or 'system:node-proxier' in g:
            if verb in READ_VERBS and plural in ('services', 'endpoints', 'endpointslices', 'nodes'):
                return True
            return plural == 'events' and verb in ('create', 'patch', 'update')
        if res is not None and res.kind in ('SelfSubjectAccessReview', 'SelfSubjectRulesReview',
                                            'SelfSubjectReview'):
            return True
        modes = [m.strip() for m in self.flags.get('authorization-mode', 'AlwaysAllow').split(',')]
        if 'AlwaysAllow' in modes:
            return True
        if 'RBAC' in modes and res is not None:
            return self.rbac_allows(user, verb, res, sub, ns, name)
        return False

    # --- RBAC: the stored Roles/ClusterRoles and their bindings (cached for 2 s) --------------------------
    def _rbac_objects(self):
        t, cached = getattr(self, '_rbac_cache', (0.0, None))
        if cached is not None and time.time() - t < 2.0:
            return cached
        out = {}
        for plural in ('clusterroles', 'clusterrolebindings', 'roles', 'rolebindings'):
            out[plural] = [json.loads(kv.value) for kv in self.store.items('/registry/%s/' % plural)]
        self._rbac_cache = (time.time(), out)
        return out

    def rbac_allows(self, user, verb, res, sub, ns, name):
        objs = self._rbac_objects()
        roles = {('', r['metadata']['name']): r for r in objs['clusterroles']}
        roles.update({(r['metadata'].get('namespace'), r['metadata']['name']): r for r in objs['roles']})
        resource = res.plural + ('/' + sub if sub else '')

        def bound(binding):
            for s in binding.get('subjects') or []:
                if s.get('kind') == 'User' and s.get('name') == user.name:
                    return True
                if s.get('kind') == 'Group' and s.get('name') in user.groups:
                    return True
            return False

        def rule_ok(rule):
            return ((set(rule.get('verbs') or []) & {verb, '*'})
                    and (set(rule.get('apiGroups') or []) & {res.group, '*'})
                    and (set(rule.get('resources') or []) & {resource, '*', res.plural + '/*' if sub else resource})
                    and (not rule.get('resourceNames') or name in rule['resourceNames']))

        candidates = [(b, '') for b in objs['clusterrolebindings']]
        candidates += [(b, b['metadata'].get('namespace')) for b in objs['rolebindings']
                       if ns and b['metadata'].get('namespace') == ns]
        for binding, bns in candidates:
            if not bound(binding):
                continue
            ref = binding.get('roleRef') or {}
            role = roles.get(('' if ref.get('kind') == 'ClusterRole' else bns, ref.get('name')))
            if role and any(rule_ok(r) for r in role.get('rules') or []):
                return True
        return False

    def forbidden(self, user, verb, res, sub, ns, name):
        resource = res.plural + ('/' + sub if sub else '')
        where = 'in the namespace "%s"' % ns if ns else 'at the cluster scope'
        msg = '%s is forbidden: User "%s" cannot %s resource "%s" in API group "%s" %s' % (
            ('%s "%s"' % (_qualified(res), name)) if name else _qualified(res), user.name, verb, resource,
            res.group, where)
        return APIError(403, 'Forbidden', msg, {'name': name, 'kind': res.plural, 'group': res.group}
                        if name else {'kind': res.plural, 'group': res.group})

    # --- CRDs (custom resources) ----------------------------------------------------------------------
    def crd_resources(self):
        """(group, version, plural) -> Resource for every served version of every established CRD."""
        if not any(k[0] == 'apiextensions.k8s.io' for k in self.by_kind):
            return {}
        t, cached = self._crd_cache
        if time.time() - t < 2.0:
            return cached
        with self._crd_lock:
            out = {}
            try:
                kvs = self.store.items('/registry/apiextensions.k8s.io/customresourcedefinitions/')
            except StoreError:
                return cached
            for kv in kvs:
                try:
                    crd = json.loads(kv.value)
                except ValueError:
                    continue
                crd = ob.convert(crd, 'CustomResourceDefinition', 'apiextensions.k8s.io/v1')
                spec = crd.get('spec') or {}
                names = spec.get('names') or {}
                namespaced = spec.get('scope', 'Namespaced') == 'Namespaced'
                for v in spec.get('versions') or []:
                    if not v.get('served', True):
                        continue
                    subs = {}
                    sr = v.get('subresources') or {}
                    if 'status' in sr:
                        subs['status'] = {'name': names.get('plural', '') + '/status', 'kind': names.get('kind'),
                                          'verbs': api_facts.STATUS_VERBS, 'namespaced': namespaced,
                                          'singularName': ''}
                    if 'scale' in sr:
                        subs['scale'] = {'name': names.get('plural', '') + '/scale', 'kind': 'Scale',
                                         'group': 'autoscaling', 'version': 'v1', 'verbs': api_facts.STATUS_VERBS,
                                         'namespaced': namespaced, 'singularName': ''}
                    res = Resource(spec.get('group'), v.get('name'), names.get('plural'), names.get('kind'),
                                   namespaced, api_facts.CRUD, subs, crd=crd)
                    res.short_names = names.get('shortNames') or []
                    res.categories = names.get('categories') or []
                    res.singular = names.get('singular') or names.get('kind', '').lower()
                    out[(res.group, res.version, res.plural)] = res
            self._crd_cache = (time.time(), out)
            return out

    def invalidate_crds(self):
        self._crd_cache = (0.0, {})

    def resolve(self, group, version, plural):
        res = self.builtin.get((group, version, plural))
        if res is None:
            res = self.crd_resources().get((group, version, plural))
        return res

    def all_group_versions(self):
        """[(group, [versions preferred first])] in upstream's order, CRD groups last."""
        out = [(g, self.group_versions[g]) for g in self.group_order]
        crd_groups = {}
        for (g, v, _p), res in sorted(self.crd_resources().items()):
            if g not in self.group_versions:
                crd_groups.setdefault(g, [])
                if v not in crd_groups[g]:
                    crd_groups[g].append(v)
        for g in sorted(crd_groups):
            out.append((g, sorted(crd_groups[g], key=api_facts.version_priority)))
        return out

    def kind_versions(self, res):
        """Group/versions this release serves for the object stored under res.prefix."""
        gvs = []
        for r in list(self.builtin.values()) + list(self.crd_resources().values()):
            if r.prefix == res.prefix and r.gv not in gvs:
                gvs.append(r.gv)
        return gvs

    # --- object I/O -----------------------------------------------------------------------------------
    def decode(self, res, kv):
        obj = json.loads(kv.value)
        md = obj.setdefault('metadata', {})
        md['resourceVersion'] = str(kv.mod_revision)
        if res.crd is None:
            obj = ob.convert(obj, res.kind, res.gv, in_place=True)  # freshly parsed: nobody else holds it
            ob.fill_status(obj, res.kind)
        else:
            obj['apiVersion'] = res.gv
        return obj

    def encode(self, obj):
        obj = dict(obj)
        md = dict(obj.get('metadata') or {})
        md.pop('resourceVersion', None)
        obj['metadata'] = md
        return json.dumps(obj, separators=(',', ':'), sort_keys=False)

    def get_kv(self, res, ns, name):
        return self.store.get(res.key(ns, name))

    def get_obj(self, res, ns, name):
        kv = self.get_kv(res, ns, name)
        if kv is None:
            raise not_found(res, name)
        return self.decode(res, kv), kv

    def lease_for(self, res):
        """Events live --event-ttl (default 1h): an etcd lease, shared by the events of one minute."""
        if res.kind != 'Event' or res.crd is not None:
            return 0
        ttl = parse_duration(self.flags.get('event-ttl'), 3600)
        with self._ip_lock:
            lease_id, granted = getattr(self, '_event_lease', (0, 0.0))
            if not lease_id or time.time() - granted > 60:
                lease_id, granted = self.store.grant_lease(int(ttl) + 60), time.time()
                self._event_lease = (lease_id, granted)
            return lease_id

    def namespace_exists(self, ns):
        return self.store.get('/registry/namespaces/' + ns) is not None

    def bootstrap(self):
        """Create the system namespaces, the default service and the bootstrap RBAC roles once etcd answers."""
        res = self.builtin[('', 'v1', 'namespaces')]
        for ns in SYSTEM_NAMESPACES:
            obj = {'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': ns}}
            self.prepare_create(res, obj, '', 'kube-apiserver', now_rfc3339())
            self.store.create(res.key('', ns), self.encode(obj))
        for plural, kind, obj in BOOTSTRAP_RBAC:
            rres = self.builtin[('rbac.authorization.k8s.io', 'v1', plural)]
            obj = dict(obj, apiVersion='rbac.authorization.k8s.io/v1', kind=kind,
                       metadata=dict(obj['metadata'], labels={'kubernetes.io/bootstrapping': 'rbac-defaults'},
                                     annotations={'rbac.authorization.kubernetes.io/autoupdate': 'true'}))
            self.prepare_create(rres, obj, '', 'kube-apiserver', now_rfc3339())
            self.store.create(rres.key('', obj['metadata']['name']), self.encode(obj))
        self.reconcile_endpoints()
        svc = self.builtin[('', 'v1', 'services')]
        if self.store.get(svc.key('default', 'kubernetes')) is None:
            obj = {'apiVersion': 'v1', 'kind': 'Service',
                   'metadata': {'name': 'kubernetes', 'namespace': 'default',
                                'labels': {'component': 'apiserver', 'provider': 'kubernetes'}},
                   'spec': {'ports': [{'name': 'https', 'port': 443, 'protocol': 'TCP',
                                       'targetPort': int(self.flags.get('secure-port', 6443))}],
                            'clusterIP': str(self.service_net.network_address + 1)}}
            self.prepare_create(svc, obj, 'default', 'kube-apiserver', now_rfc3339())
            self.store.create(svc.key('default', 'kubernetes'), self.encode(obj))

    def reconcile_endpoints(self):
        """Add this apiserver's address to the default/kubernetes Endpoints (the endpoint reconciler)."""
        ep = self.builtin[('', 'v1', 'endpoints')]
        ip = self.flags.get('advertise-address') or self.flags.get('bind-address') or '127.0.0.1'
        if ip in ('0.0.0.0', '::'):
            return
        port = int(self.flags.get('secure-port', 6443))
        for _attempt in range(5):
            kv = self.store.get(ep.key('default', 'kubernetes'))
            if kv is None:
                obj = {'apiVersion': 'v1', 'kind': 'Endpoints',
                       'metadata': {'name': 'kubernetes', 'namespace': 'default',
                                    'labels': {'endpointslice.kubernetes.io/skip-mirror': 'true'}},
                       'subsets': [{'addresses': [{'ip': ip}],
                                    'ports': [{'name': 'https', 'port': port, 'protocol': 'TCP'}]}]}
                self.prepare_create(ep, obj, 'default', 'kube-apiserver', now_rfc3339())
                if self.store.create(ep.key('default', 'kubernetes'), self.encode(obj)) is not None:
                    return
                continue
            obj = json.loads(kv.value)
            subsets = obj.setdefault('subsets', [{'addresses': [], 'ports': [
                {'name': 'https', 'port': port, 'protocol': 'TCP'}]}]) or [{'addresses': [], 'ports': []}]
            addrs = subsets[0].setdefault('addresses', [])
            if any(a.get('ip') == ip for a in addrs):
                return
            addrs.append({'ip': ip})
            addrs.sort(key=lambda a: a.get('ip'))
            obj['subsets'] = subsets
            if self.store.update(kv.key, self.encode(obj), kv.mod_revision) is not None:
                return

    def allocate_cluster_ip(self):
        with self._ip_lock:
            svc = self.builtin[('', 'v1', 'services')]
            used = set()
            kvs = self.store.items(svc.prefix)
            for kv in kvs:
                try:
                    used.add((json.loads(kv.value).get('spec') or {}).get('clusterIP'))
                except ValueError:
                    pass
            for i, ip in enumerate(self.service_net.hosts()):
                if i > 4096:
                    break
                if str(ip) not in used:
                    return str(ip)
        raise APIError(500, 'InternalError', 'Internal error occurred: failed to allocate a serviceIP: range is full')

    def prepare_create(self, res, obj, ns, manager, now, subresource=None):
        md = obj.setdefault('metadata', {})
        if md is None:
            md = obj['metadata'] = {}
        if res.namespaced:
            md['namespace'] = ns
        else:
            md.pop('namespace', None)
        if not md.get('name') and md.get('generateName'):
            md['name'] = md['generateName'] + ''.join(random.choice('bcdfghjklmnpqrstvwxz2456789') for _i in range(5))
        md['uid'] = str(uuid.uuid4())
        md['creationTimestamp'] = now
        for k in ('resourceVersion', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink'):
            md.pop(k, None)
        if res.kind in GENERATION_KINDS or res.crd is not None:
            md['generation'] = 1
        if res.kind in STATUS_RESET_KINDS:
            obj['status'] = {}
        if res.crd is None:
            ob.default_object(obj, res.kind, self.minor)
        if res.kind == 'Pod':
            obj['status'] = {'phase': 'Pending', 'qosClass': qos_class(obj.get('spec') or {})}
        if res.crd is None:
            ob.fill_status(obj, res.kind)
        if res.kind == 'Service':
            spec = obj.setdefault('spec', {})
            if spec.get('type', 'ClusterIP') != 'ExternalName' and not spec.get('clusterIP'):
                spec['clusterIP'] = self.allocate_cluster_ip()
            if spec.get('clusterIP') and spec.get('clusterIP') != 'None' and self.minor >= 20:
                spec.setdefault('clusterIPs', [spec['clusterIP']])
                spec.setdefault('ipFamilies', ['IPv4'])
                spec.setdefault('ipFamilyPolicy', 'SingleStack')
            if self.minor >= 22 and spec.get('type', 'ClusterIP') != 'ExternalName':
                spec.setdefault('internalTrafficPolicy', 'Cluster')
            if spec.get('type') in ('NodePort', 'LoadBalancer'):
                spec.setdefault('externalTrafficPolicy', 'Cluster')
                for port in spec.get('ports') or []:
                    if not port.get('nodePort'):
                        port['nodePort'] = self.allocate_node_port()
            obj.setdefault('status', {'loadBalancer': {}})
        return obj

    def allocate_node_port(self):
        """The next free port of --service-node-port-range (default 30000-32767)."""
        low, high = (int(x) for x in self.flags.get('service-node-port-range', '30000-32767').split('-'))
        with self._ip_lock:
            used = set()
            for kv in self.store.items('/registry/services/'):
                for p in ((json.loads(kv.value).get('spec') or {}).get('ports') or []):
                    used.add(p.get('nodePort'))
            for port in range(low, high + 1):
                if port not in used:
                    return port
        raise APIError(500, 'InternalError', 'Internal error occurred: failed to allocate a nodePort: range is full')

    # --- graceful pod deletion (the kubelet finishes it with gracePeriodSeconds=0) ---------------------
    def delete_pod(self, key, kv, options=None):
        """Delete a pod the way upstream's registry does. Returns (deleted, object, revision); revision is
        None when the pod changed meanwhile (retry)."""
        stored = json.loads(kv.value)
        md, spec = stored.setdefault('metadata', {}), stored.get('spec') or {}
        grace = (options or {}).get('gracePeriodSeconds')
        if grace is None:
            grace = spec.get('terminationGracePeriodSeconds', 30)
        grace = max(int(grace), 0) if int(grace) >= 0 else 1
        phase = (stored.get('status') or {}).get('phase')
        if not spec.get('nodeName') or phase in ('Succeeded', 'Failed'):
            grace = 0  # nothing runs it: no kubelet has to stop anything
        if grace == 0 and not md.get('finalizers'):
            return True, stored, self.store.delete(key, kv.mod_revision)
        now = datetime.datetime.now(datetime.timezone.utc)
        deadline = (now + datetime.timedelta(seconds=grace)).strftime('%Y-%m-%dT%H:%M:%SZ')
        if md.get('deletionTimestamp') and md['deletionTimestamp'] <= deadline:
            return False, stored, kv.mod_revision  # already terminating, no sooner than asked
        md['deletionTimestamp'] = deadline
        md['deletionGracePeriodSeconds'] = grace
        return False, stored, self.store.update(key, self.encode(stored), kv.mod_revision)

    # --- componentstatuses (kubectl get cs): probes like upstream's, deprecated since 1.19 ----------------
    def component_statuses(self):
        def entry(name, ok, message, error=''):
            cond = {'type': 'Healthy', 'status': 'True' if ok else 'False', 'message': message}
            if error:
                cond['error'] = error
            return {'kind': 'ComponentStatus', 'apiVersion': 'v1', 'metadata': {'name': name}, 'conditions': [cond]}
        out = []
        # the scheduler and controller-manager are probed on this host (insecure ports before 1.17's secure ones)
        for name, insecure, secure in (('scheduler', 10251, 10259), ('controller-manager', 10252, 10257)):
            ok, err = probe_healthz(insecure if self.minor < 17 else secure, tls=self.minor >= 17)
            out.append(entry(name, ok, 'ok' if ok else '', err))
        for i, ep in enumerate(self.store.endpoints):
            single = EtcdStore(ep.geturl(), cafile=self.flags.get('etcd-cafile') or None,
                               certfile=self.flags.get('etcd-certfile') or None,
                               keyfile=self.flags.get('etcd-keyfile') or None, timeout=2)
            ok = single.healthy()
            out.append(entry('etcd-%d' % i, ok, '{"health":"true"}' if ok else '',
                             '' if ok else 'Get "%s/health": connection refused' % ep.geturl()))
        return out

    # --- PodDisruptionBudgets ---------------------------------------------------------------------------
    def pdb_status(self, pdb, pods):
        spec = pdb.get('spec') or {}
        sel = spec.get('selector')
        matching = [p for p in pods if sel is not None and ob.match_label_selector_obj(
            sel, (p.get('metadata') or {}).get('labels')) and not (p.get('metadata') or {}).get('deletionTimestamp')]
        expected = len(matching)
        healthy = sum(1 for p in matching if pod_ready(p))
        if 'minAvailable' in spec:
            desired = scaled(spec['minAvailable'], expected)
        elif 'maxUnavailable' in spec:
            desired = max(0, expected - scaled(spec['maxUnavailable'], expected))
        else:
            desired = expected if self.minor < 0 else 0
        allowed = max(0, healthy - desired)
        st = {'observedGeneration': (pdb.get('metadata') or {}).get('generation', 1),
              'disruptionsAllowed': allowed, 'currentHealthy': healthy, 'desiredHealthy': desired,
              'expectedPods': expected}
        if self.minor >= 21:
            st['conditions'] = [{'type': 'DisruptionAllowed', 'status': 'True' if allowed > 0 else 'False',
                                 'reason': 'SufficientPods' if allowed > 0 else 'InsufficientPods',
                                 'message': '', 'observedGeneration': st['observedGeneration'],
                                 'lastTransitionTime': (pdb.get('metadata') or {}).get('creationTimestamp')}]
        return st

    def pods_in(self, ns):
        res = self.builtin[('', 'v1', 'pods')]
        kvs = self.store.items(res.list_prefix(ns))
        return [json.loads(kv.value) for kv in kvs]

    def with_pdb_status(self, objs, ns_pods=None):
        cache = {}
        for o in objs:
            ns = (o.get('metadata') or {}).get('namespace')
            if ns not in cache:
                cache[ns] = self.pods_in(ns)
            o['status'] = self.pdb_status(o, cache[ns])
        return objs


def probe_healthz(port, tls):
    """(ok, error) of GET /healthz on 127.0.0.1:port (certificate not verified, as upstream's probe)."""
    import http.client
    try:
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection('127.0.0.1', port, timeout=2, context=ctx)
        else:
            conn = http.client.HTTPConnection('127.0.0.1', port, timeout=2)
        conn.request('GET', '/healthz')
        resp = conn.getresponse()
        body = resp.read().decode(errors='replace')
        conn.close()
        if resp.status == 200 and body.strip() == 'ok':
            return True, ''
        return False, 'Get "%s://127.0.0.1:%d/healthz": HTTP %d' % ('https' if tls else 'http', port, resp.status)
    except (OSError, http.client.HTTPException) as e:
        return False, 'Get "%s://127.0.0.1:%d/healthz": dial tcp 127.0.0.1:%d: connect: %s' % (
            'https' if tls else 'http', port, port, getattr(e, 'strerror', None) or e)


def qos_class(spec):
    cs = list(spec.get('containers') or []) + list(spec.get('initContainers') or [])
    requests = limits = False
    guaranteed = bool(cs)
    for c in cs:
        r = c.get('resources') or {}
        req, lim = r.get('requests') or {}, r.get('limits') or {}
        requests = requests or bool(req)
        limits = limits or bool(lim)
        for res_name in ('cpu', 'memory'):
            if res_name not in lim or (res_name in req and req[res_name] != lim[res_name]):
                guaranteed = False
    if not requests and not limits:
        return 'BestEffort'
    return 'Guaranteed' if guaranteed else 'Burstable'


def pod_ready(p):
    st = p.get('status') or {}
    if st.get('phase') != 'Running':
        return False
    return any(c.get('type') == 'Ready' and c.get('status') == 'True' for c in st.get('conditions') or [])


def scaled(value, total):
    if isinstance(value, str) and value.endswith('%'):
        return int(math.ceil(int(value[:-1]) * total / 100.0))
    return int(value)


def label_selector_string(sel):
    parts = ['%s=%s' % kv for kv in sorted((sel.get('matchLabels') or {}).items())]
    for e in sel.get('matchExpressions') or []:
        op = e.get('operator')
        if op in ('In', 'NotIn'):
            parts.append('%s %s (%s)' % (e['key'], op.lower(), ','.join(e.get('values') or [])))
        elif op == 'Exists':
            parts.append(e['key'])
        elif op == 'DoesNotExist':
            parts.append('!' + e['key'])
    return ','.join(parts)


from lab.emulator.api_handlers import Handler  # noqa: E402  (the HTTP side, split for size)


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, addr, handler, api, ctx, insecure=False):
        self.api, self.ctx, self.insecure = api, ctx, insecure
        if ':' in addr[0]:
            self.address_family = socket.AF_INET6
        ThreadingHTTPServer.__init__(self, addr, handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.ctx is not None:
            # handshake in the handler's thread, so one slow client cannot stall accept()
            sock = self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ssl.SSLError, ConnectionError, socket.timeout, BrokenPipeError)):
            klog.v(4, 'connection from %s: %s' % (client_address[0], exc), 'server.go:3183')
            return
        klog.error('http: panic serving %s: %r' % (client_address[0], exc), 'server.go:3183')


def server_context(flags):
    cert, key = flags.get('tls-cert-file'), flags.get('tls-private-key-file')
    if not cert or not key:
        raise SystemExit('the lab apiserver needs --tls-cert-file and --tls-private-key-file')
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    if flags.get('client-ca-file'):
        ctx.load_verify_locations(flags['client-ca-file'])
        ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(['http/1.1'])
    return ctx


def serve(api, ready_callback=None):
    """Start listening; returns (servers, threads). The caller stops them with shutdown()."""
    flags = api.flags
    ctx = server_context(flags)
    bind = flags.get('bind-address', '0.0.0.0')
    port = int(flags.get('secure-port', 6443))
    servers = [_TLSServer((bind, port), Handler, api, ctx)]
    insecure = int(flags.get('insecure-port', 0) or 0)
    if insecure and api.minor < 24:
        servers.append(_TLSServer((flags.get('insecure-bind-address', '127.0.0.1'), insecure), Handler, api, None,
                                  insecure=True))
    threads = []
    for s in servers:
        t = threading.Thread(target=s.serve_forever, kwargs={'poll_interval': 0.2}, daemon=True)
        t.start()
        threads.append(t)
    klog.info('Serving securely on %s:%d' % (bind, servers[0].server_address[1]), 'secure_serving.go:210')
    return servers, threads


def parse_duration(text, default):
    """Go duration ('5m0s', '1h', '300s', '0') -> seconds."""
    import re
    if text is None or text == '':
        return default
    total = 0.0
    for num, unit in re.findall(r'([0-9.]+)(h|ms|m|s)?', str(text)):
        total += float(num) * {'h': 3600, 'm': 60, 's': 1, 'ms': 0.001, '': 1}[unit or '']
    return total


COMPACT_REV_KEY = 'compact_rev_key'


def compact_once(store, last_time, last_rev):
    """One step of upstream's compactor (several apiservers agree through compact_rev_key's version):
    record the current revision; compact to the one recorded an interval ago."""
    from lab.emulator.store import b64
    ok, out = store.txn([{'key': b64(COMPACT_REV_KEY), 'target': 'VERSION', 'result': 'EQUAL',
                          'version': str(last_time)}],
                        [{'request_put': {'key': b64(COMPACT_REV_KEY), 'value': ''}}],
                        [{'request_range': {'key': b64(COMPACT_REV_KEY)}}])
    cur_rev = int(out['header'].get('revision', 0))
    if not ok:
        kvs = ((out.get('responses') or [{}])[0].get('response_range') or {}).get('kvs') or [{}]
        return int(kvs[0].get('version', 0)), cur_rev
    if last_rev:
        try:
            store.compact(last_rev)
            klog.v(4, 'etcd: compacted rev (%d), endpoints (%s)' % (last_rev, ','.join(
                e.geturl() for e in store.endpoints)), 'compact.go:141')
        except StoreError as e:
            if 'compacted' not in str(e):
                raise
    return last_time + 1, cur_rev


def compactor(api):
    interval = parse_duration(api.flags.get('etcd-compaction-interval'), 300)
    if interval <= 0:
        return
    last_time, last_rev = 0, 0
    while not api.stopping.wait(interval):
        try:
            last_time, last_rev = compact_once(api.store, last_time, last_rev)
        except StoreError as e:
            klog.warning('etcd compaction failed: %s' % e, 'compact.go:124')


def wait_for_etcd(api):
    """Mark ready once etcd answers, then bootstrap; keeps probing (readyz follows etcd)."""
    while not api.stopping.is_set():
        try:
            api.bootstrap()
            api.ready.set()
            klog.info('etcd answers: bootstrap done, ready', 'storage_factory.go:285')
            return
        except (StoreError, OSError) as e:
            klog.warning('etcd not ready: %s' % e, 'storage_factory.go:285')
            api.stopping.wait(1.0)


def main(version, flags, stop_event=None):
    """Run until SIGTERM/SIGINT (or stop_event is set). Returns the exit code."""
    klog.set_verbosity(flags.get('v', 0))
    for name in sorted(flags):  # upstream prints every flag it was given at --v=1
        klog.v(1, 'FLAG: --%s="%s"' % (name, flags[name]), 'flags.go:64')
    api = APIServer(version, flags)
    servers = serve(api)[0]
    t = threading.Thread(target=wait_for_etcd, args=(api,), daemon=True)
    t.start()
    threading.Thread(target=compactor, args=(api,), daemon=True).start()
    stop = stop_event or threading.Event()

    def on_signal(signum, frame):
        stop.set()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    stop.wait()
    # Upstream (1.16+): --shutdown-delay-duration keeps serving after SIGTERM while /readyz fails, so
    # that load balancers take this apiserver out before it stops listening.
    delay = parse_duration(api.flags.get('shutdown-delay-duration'), 0) if api.minor >= 16 else 0
    if delay > 0:
        api.shutdown_requested.set()
        klog.info('[graceful-termination] shutdown delay of %gs: /readyz fails, requests are still served' % delay,
                  'genericapiserver.go:545')
        time.sleep(delay)
    klog.info('[graceful-termination] shutting down', 'genericapiserver.go:545')
    api.stopping.set()
    for s in servers:
        s.shutdown()
        s.server_close()
    return 0


def run(opts):
    """lab.emulator.cli entry: opts.version, opts.flags."""
    return main(opts.version, opts.flags)


if __name__ == '__main__':  # a tiny private runner: python -m lab.emulator.apiserver 1.29.15 --flag=value ...
    argv = sys.argv[1:]
    fl = {}
    for a in argv[1:]:
        if a.startswith('--') and '=' in a:
            k, v = a[2:].split('=', 1)
            fl[k] = v
    sys.exit(main(argv[0], fl))
