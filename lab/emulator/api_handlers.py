"""HTTP side of the emulated kube-apiserver: routing, discovery, OpenAPI, and the REST verbs.

See lab/emulator/apiserver.py for what is served and why.  Stdlib + PyYAML only.
"""

import base64
import copy
import hashlib
import json
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from lab.emulator import api_objects as ob
from lab.emulator import api_proto
from lab.emulator import api_tables
from lab.emulator import klog
from lab.emulator.store import StoreError, Unavailable
from lab.facts import apis as api_facts

try:
    import yaml
except ImportError:  # pragma: no cover
    yaml = None

PUBLIC_PATHS = ('/healthz', '/livez', '/readyz', '/version')


def _apiserver():
    from lab.emulator import apiserver
    return apiserver


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'lab-kube-apiserver'
    sys_version = ''

    # --- plumbing -------------------------------------------------------------------------------------
    def setup(self):
        BaseHTTPRequestHandler.setup(self)
        self.connection.settimeout(60)
        if hasattr(self.connection, 'do_handshake'):
            self.connection.do_handshake()
        self.connection.settimeout(600)  # an idle keep-alive connection is closed after 10 minutes

    def log_message(self, fmt, *args):
        pass

    @property
    def api(self):
        return self.server.api

    @property
    def insecure(self):
        return self.server.insecure

    def send_json(self, code, obj, headers=None):
        body = json.dumps(obj, separators=(',', ':')).encode()
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Cache-Control', 'no-cache, private')
        self.send_warning()
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)
        self._status = code

    def send_warning(self):
        res = getattr(self, 'res', None)
        if res is not None and res.crd is None and self._status == 0:
            text = api_facts.deprecation_warning(self.api.minor, res.gv, res.kind)
            if text:
                self.send_header('Warning', '299 - "%s"' % text.replace('"', '\\"'))

    def send_text(self, code, text, ctype='text/plain; charset=utf-8'):
        body = text.encode()
        self.send_response(code)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        self.send_header('X-Content-Type-Options', 'nosniff')
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)
        self._status = code

    def read_body(self):
        """The request body (read once, at the start of dispatch, so an early error answer leaves the
        keep-alive connection clean)."""
        if self._body is None:
            self._body = self._read_body()
        return self._body

    def _read_body(self):
        n = int(self.headers.get('Content-Length') or 0)
        if n:
            return self.rfile.read(n)
        if self.headers.get('Transfer-Encoding', '').lower() == 'chunked':
            data = b''
            while True:
                size = int(self.rfile.readline().split(b';')[0].strip() or b'0', 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return b''

    def parse_body(self, raw, ctype=None):
        ctype = (ctype or self.headers.get('Content-Type') or 'application/json').split(';')[0].strip()
        if not raw.strip():
            return None
        if ctype == 'application/vnd.kubernetes.protobuf':
            try:
                return api_proto.decode(raw)
            except (api_proto.Unsupported, IndexError, UnicodeDecodeError) as e:
                raise _apiserver().APIError(415, 'UnsupportedMediaType', 'the body of the request was in an unknown '
                                            'format - accepted media types include: application/json, '
                                            'application/yaml (%s)' % e)
        try:
            if 'yaml' in ctype:
                if yaml is None:
                    raise ValueError('no YAML support')
                return yaml.safe_load(raw.decode())
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError) as e:
            if 'yaml' in ctype or yaml is None:
                raise ob.BadRequest('error decoding body: %s' % e)
            raise ob.BadRequest('couldn\'t get version/kind; json parse error: %s' % e)

    def do_GET(self):
        self.dispatch('GET')

    def do_HEAD(self):
        self.dispatch('GET')

    def do_POST(self):
        self.dispatch('POST')

    def do_PUT(self):
        self.dispatch('PUT')

    def do_PATCH(self):
        self.dispatch('PATCH')

    def do_DELETE(self):
        self.dispatch('DELETE')

    def dispatch(self, method):
        started = time.time()
        self._status = 0
        self.user = None
        self.res = None
        self._body = None
        self.read_body()
        url = urlsplit(self.path)
        path = url.path.rstrip('/') or '/'
        self.query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        try:
            if path in PUBLIC_PATHS or path.startswith(('/healthz/', '/livez/', '/readyz/')):
                self.user = self.api.authenticate(self)
                if self.user is None and self.headers.get('Authorization'):
                    raise _apiserver().APIError(401, 'Unauthorized', 'Unauthorized')
                self.handle_public(path)
                return
            self.user = self.api.authenticate(self)
            if self.user is None:
                raise _apiserver().APIError(401, 'Unauthorized', 'Unauthorized')
            self.route(method, path)
        except _apiserver().APIError as e:
            self.send_json(e.code, e.status())
        except ob.Invalid as e:
            self.send_invalid(e)
        except ob.BadRequest as e:
            klog.v(4, 'bad request %s %s (Content-Type %s): %s' % (method, self.path, self.headers.get('Content-Type'),
                                                                   e), 'handler.go:1')
            self.send_json(400, _apiserver().APIError(400, 'BadRequest', str(e)).status())
        except Unavailable as e:
            self.send_json(500, _apiserver().APIError(500, 'InternalError',
                                                      'Internal error occurred: etcd: %s' % e).status())
        except StoreError as e:
            self.send_json(500, _apiserver().APIError(500, 'InternalError',
                                                      'Internal error occurred: %s' % e).status())
        except (BrokenPipeError, ConnectionResetError):
            self._status = 499
        except Exception as e:  # noqa: BLE001 - a server answers 500 rather than dropping the connection
            klog.error('apiserver panic on %s %s: %r' % (method, self.path, e), 'runtime.go:76')
            import traceback
            traceback.print_exc()
            try:
                self.send_json(500, _apiserver().APIError(500, 'InternalError',
                                                          'Internal error occurred: %r' % e).status())
            except OSError:
                pass
        finally:
            # upstream logs every request at --v=3 (httplog), so the lab does too
            if klog.verbosity() >= 3 and not path.startswith(('/healthz', '/livez', '/readyz')):
                klog.v(3, 'HTTP verb="%s" URI="%s" latency="%.6fms" userAgent="%s" audit-ID="" srcIP="%s" '
                       'resp=%d' % (method, self.path, (time.time() - started) * 1000,
                                    self.headers.get('User-Agent', ''), self.client_address[0], self._status),
                       'httplog.go:132')

    def send_invalid(self, e):
        res_kind = e.kind
        group = getattr(e, 'group', '')
        qualified = '%s.%s' % (res_kind, group) if group else res_kind
        msg = '%s "%s" is invalid: %s' % (qualified, e.name, ', '.join('%s: %s' % (f, m) for f, m, _r in e.causes))
        st = {'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Failure', 'message': msg,
              'reason': 'Invalid', 'code': 422,
              'details': {'name': e.name, 'group': group, 'kind': res_kind,
                          'causes': [{'reason': r, 'message': m, 'field': f} for f, m, r in e.causes]}}
        self.send_json(422, st)

    # --- public endpoints -------------------------------------------------------------------------------
    def handle_public(self, path):
        api = self.api
        if path == '/version':
            parts = api.version.split('.')
            info = {'major': parts[0], 'minor': parts[1], 'gitVersion': 'v' + api.version,
                    'gitCommit': hashlib.sha1(('lab-kubernetes-v' + api.version).encode()).hexdigest(),
                    'gitTreeState': 'clean', 'buildDate': '2020-01-01T00:00:00Z',
                    'goVersion': _apiserver().GO_VERSIONS.get(api.minor, 'go1.22.0'), 'compiler': 'gc',
                    'platform': 'linux/amd64'}
            if api.minor >= 33:
                info['emulationMajor'], info['emulationMinor'] = parts[0], parts[1]
                info['minCompatibilityMajor'], info['minCompatibilityMinor'] = parts[0], str(api.minor - 1)
            self.send_json(200, info)
            return
        name = path.strip('/').split('/')[0]
        if name in ('livez', 'readyz') and api.minor < 16:
            # /livez and /readyz arrived in 1.16
            self.send_text(404, '404 page not found\n')
            return
        etcd_ok = api.ready.is_set() and api.store.healthy()
        checks = [('ping', True), ('log', True)]
        if name != 'livez' or api.minor < 26:
            checks.append(('etcd', etcd_ok))
        if name == 'readyz':
            checks.append(('informer-sync', api.ready.is_set()))
            if api.stopping.is_set() or api.shutdown_requested.is_set():
                checks.append(('shutdown', False))
        checks.append(('poststarthook/bootstrap-controller', api.ready.is_set()))
        sub = path.strip('/').split('/', 1)[1] if '/' in path.strip('/') else None
        if sub:
            found = [ok for n, ok in checks if n == sub]
            if not found:
                self.send_text(404, '404 page not found\n')
                return
            self.send_text(200 if found[0] else 500, 'ok' if found[0] else 'internal server error: %s failed' % sub)
            return
        ok = all(v for _n, v in checks)
        if 'verbose' in self.query or not ok:
            lines = ['[+]%s ok' % n if v else '[-]%s failed: reason withheld' % n for n, v in checks]
            lines.append('%s check %s' % (name, 'passed' if ok else 'failed'))
            self.send_text(200 if ok else 500, '\n'.join(lines) + '\n')
        else:
            self.send_text(200, 'ok')

    # --- discovery ------------------------------------------------------------------------------------
    def route(self, method, path):
        parts = [p for p in path.split('/') if p]
        accept = self.headers.get('Accept', '')
        if path == '/api':
            if method != 'GET':
                raise _apiserver().APIError(405, 'MethodNotAllowed', 'the server does not allow this method')
            self.send_json(200, {'kind': 'APIVersions', 'versions': ['v1'], 'serverAddressByClientCIDRs': [
                {'clientCIDR': '0.0.0.0/0', 'serverAddress': '%s:%s' % (
                    self.api.flags.get('advertise-address', '127.0.0.1'), self.api.flags.get('secure-port', 6443))}]})
            return
        if path == '/apis':
            self.send_json(200, self.group_list())
            return
        if parts[0] == 'openapi':
            self.openapi(parts[1:])
            return
        if parts[0] == 'api' and len(parts) >= 2:
            group, version, rest = '', parts[1], parts[2:]
            if version != 'v1':
                self.not_found_page()
                return
        elif parts[0] == 'apis' and len(parts) >= 2:
            group = parts[1]
            if len(parts) == 2:
                for g, versions in self.api.all_group_versions():
                    if g == group:
                        self.send_json(200, dict(self.group_entry(g, versions), kind='APIGroup', apiVersion='v1'))
                        return
                self.not_found_page()
                return
            version, rest = parts[2], parts[3:]
        else:
            self.not_found_page()
            return
        if not rest:
            self.resource_list(group, version)
            return
        self.resource_request(method, group, version, rest)

    def not_found_page(self):
        self.send_json(404, {'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Failure',
                             'message': 'the server could not find the requested resource', 'reason': 'NotFound',
                             'details': {}, 'code': 404})

    def group_entry(self, group, versions):
        vs = [{'groupVersion': '%s/%s' % (group, v), 'version': v} for v in versions]
        return {'name': group, 'versions': vs, 'preferredVersion': vs[0]}

    def group_list(self):
        groups = [self.group_entry(g, vs) for g, vs in self.api.all_group_versions() if g]
        return {'kind': 'APIGroupList', 'apiVersion': 'v1', 'groups': groups}

    def resource_list(self, group, version):
        gv = ob.join_gv(group, version)
        rows = self.api.discovery.get(gv)
        if rows is None:
            crds = [r for (g, v, _p), r in self.api.crd_resources().items() if g == group and v == version]
            if not crds:
                self.not_found_page()
                return
            rows = []
            for r in sorted(crds, key=lambda x: x.plural):
                row = {'name': r.plural, 'singularName': r.singular, 'namespaced': r.namespaced, 'kind': r.kind,
                       'verbs': list(r.verbs)}
                if r.short_names:
                    row['shortNames'] = r.short_names
                if r.categories:
                    row['categories'] = r.categories
                rows.append(row)
                for sub, srow in sorted(r.subresources.items()):
                    rows.append(dict(srow))
        self.send_json(200, {'kind': 'APIResourceList', 'apiVersion': 'v1', 'groupVersion': gv, 'resources': rows})

    # --- OpenAPI v3 (1.24+): enough for kubectl's validation and field-validation probe ---------------------
    def openapi(self, parts):
        api = self.api
        if parts == ['v2']:
            ress = [r for r in list(api.builtin.values()) + list(api.crd_resources().values())
                    if 'patch' in r.verbs]
            body = api_tables.openapi_v2_protobuf(api.version, ress)
            self.send_response(200)
            self.send_header('Content-Type', 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self._status = 200
            return
        if not parts or parts[0] != 'v3' or api.minor < 24:
            # /openapi/v3 arrived in 1.24 (beta, on by default)
            self.not_found_page()
            return
        gvs = ['api/v1'] + ['apis/%s/%s' % (g, v) for g, vs in api.all_group_versions() if g for v in vs]
        if len(parts) == 1:
            paths = {}
            for p in gvs:
                paths[p] = {'serverRelativeURL': '/openapi/v3/%s?hash=%s' % (p, self.openapi_hash(p))}
            self.send_json(200, {'paths': paths})
            return
        rel = '/'.join(parts[1:])
        if rel not in gvs:
            self.not_found_page()
            return
        headers = {'Cache-Control': 'public, immutable', 'Etag': '"%s"' % self.openapi_hash(rel)}
        self.send_json(200, self.openapi_doc(rel), headers=headers)

    def openapi_hash(self, rel):
        return hashlib.sha512(('%s %s %s' % (self.api.version, rel, len(self.api.crd_resources()))).encode()
                              ).hexdigest()[:128].upper()

    def openapi_doc(self, rel):
        api = self.api
        parts = rel.split('/')
        group, version = ('', 'v1') if parts[0] == 'api' else (parts[1], parts[2])
        ress = [r for (g, v, _p), r in list(api.builtin.items()) + list(api.crd_resources().items())
                if g == group and v == version]
        meta = 'io.k8s.apimachinery.pkg.apis.meta.v1.'
        any_object = {'type': 'object', 'x-kubernetes-preserve-unknown-fields': True}
        schemas = {
            meta + 'ObjectMeta': {'type': 'object', 'properties': {
                'name': {'type': 'string'}, 'namespace': {'type': 'string'}, 'generateName': {'type': 'string'},
                'labels': {'type': 'object', 'additionalProperties': {'type': 'string', 'default': ''}},
                'annotations': {'type': 'object', 'additionalProperties': {'type': 'string', 'default': ''}},
                'uid': {'type': 'string'}, 'resourceVersion': {'type': 'string'},
                'generation': {'type': 'integer', 'format': 'int64'},
                'creationTimestamp': {'type': 'string', 'format': 'date-time'},
                'deletionTimestamp': {'type': 'string', 'format': 'date-time'},
                'finalizers': {'type': 'array', 'items': {'type': 'string', 'default': ''},
                               'x-kubernetes-list-type': 'set', 'x-kubernetes-patch-strategy': 'merge'},
                'ownerReferences': {'type': 'array', 'items': any_object,
                                    'x-kubernetes-patch-merge-key': 'uid', 'x-kubernetes-patch-strategy': 'merge'},
                'managedFields': {'type': 'array', 'items': any_object}}},
            meta + 'Status': {'type': 'object', 'x-kubernetes-preserve-unknown-fields': True,
                              'x-kubernetes-group-version-kind': [{'group': '', 'kind': 'Status', 'version': 'v1'}]},
        }
        paths = {}
        base = '/api/v1' if not group else '/apis/%s/%s' % (group, version)
        params = [{'name': n, 'in': 'query', 'schema': {'type': 'string', 'uniqueItems': True}}
                  for n in ('dryRun', 'fieldManager', 'fieldValidation', 'pretty')]
        for r in ress:
            sname = 'io.k8s.lab.%s.%s.%s' % (group or 'core', version, r.kind)
            gvk = [{'group': group, 'kind': r.kind, 'version': version}]
            schemas[sname] = {'type': 'object', 'x-kubernetes-group-version-kind': gvk,
                              'properties': {'apiVersion': {'type': 'string'}, 'kind': {'type': 'string'},
                                             'metadata': {'allOf': [{'$ref': '#/components/schemas/%sObjectMeta'
                                                                     % meta}], 'default': {}},
                                             'spec': {'type': 'object', 'x-kubernetes-preserve-unknown-fields': True},
                                             'status': {'type': 'object',
                                                        'x-kubernetes-preserve-unknown-fields': True}},
                              'x-kubernetes-preserve-unknown-fields': True}
            ref = {'content': {'application/json': {'schema': {'$ref': '#/components/schemas/' + sname}}}}
            coll = '%s/%s%s' % (base, 'namespaces/{namespace}/' if r.namespaced else '', r.plural)
            # kubectl looks for fieldValidation among the PATCH operation's own parameters
            op = {'x-kubernetes-group-version-kind': gvk[0], 'responses': {'200': {'description': 'OK', **ref}},
                  'parameters': params}
            paths[coll] = {
                'get': dict(op, operationId='list' + r.kind, **{'x-kubernetes-action': 'list'}),
                'post': dict(op, operationId='create' + r.kind, requestBody=ref, **{'x-kubernetes-action': 'post'})}
            paths[coll + '/{name}'] = {
                'get': dict(op, operationId='read' + r.kind, **{'x-kubernetes-action': 'get'}),
                'put': dict(op, operationId='replace' + r.kind, requestBody=ref, **{'x-kubernetes-action': 'put'}),
                'patch': dict(op, operationId='patch' + r.kind, **{'x-kubernetes-action': 'patch'}),
                'delete': dict(op, operationId='delete' + r.kind, **{'x-kubernetes-action': 'delete'}),
                'parameters': [{'name': 'name', 'in': 'path', 'required': True,
                                'schema': {'type': 'string', 'uniqueItems': True}}]}
        return {'openapi': '3.0.0', 'info': {'title': 'Kubernetes', 'version': 'v' + api.version},
                'paths': paths, 'components': {'schemas': schemas}}

    # --- resources --------------------------------------------------------------------------------------
    def resource_request(self, method, group, version, rest):
        api = self.api
        watch_path = False
        if rest[0] == 'watch':
            watch_path, rest = True, rest[1:]
            if not rest:
                self.not_found_page()
                return
        ns = None
        if rest[0] == 'namespaces' and len(rest) >= 3:
            ns, rest = rest[1], rest[2:]
        plural = rest[0]
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if len(rest) > 3:
            self.not_found_page()
            return
        res = api.resolve(group, version, plural)
        if res is None or (ns is not None and not res.namespaced):
            self.not_found_page()
            return
        if sub is not None and sub not in res.subresources:
            self.not_found_page()
            return
        watch = watch_path or self.query.get('watch') in ('1', 'true', 'True')
        if method == 'GET':
            verb = 'watch' if watch else ('get' if name else 'list')
        elif method == 'POST':
            verb = 'create'
        elif method == 'PUT':
            verb = 'update'
        elif method == 'PATCH':
            verb = 'patch'
        elif method == 'DELETE':
            verb = 'delete' if name else 'deletecollection'
        else:
            raise _apiserver().APIError(405, 'MethodNotAllowed', 'the server does not allow this method on the '
                                        'requested resource')
        if sub is None and verb not in res.verbs and not (verb == 'create' and name is None and 'create' in res.verbs):
            raise _apiserver().APIError(405, 'MethodNotAllowed', 'the server does not allow this method on the '
                                        'requested resource')
        if sub is not None and verb not in res.subresources[sub]['verbs']:
            raise _apiserver().APIError(405, 'MethodNotAllowed', 'the server does not allow this method on the '
                                        'requested resource')
        if method == 'POST' and name is not None and sub is None:
            raise _apiserver().APIError(405, 'MethodNotAllowed', 'the server does not allow this method on the '
                                        'requested resource')
        self.res = res
        if not api.authorize(self.user, verb, res, sub, ns if res.namespaced else None, name):
            raise api.forbidden(self.user, verb, res, sub, ns if res.namespaced else None, name)
        if not api.ready.is_set() and not res.virtual:
            raise _apiserver().APIError(503, 'ServiceUnavailable', 'the apiserver is not ready: etcd does not answer')
        if res.namespaced and ns is None and verb not in ('list', 'watch', 'deletecollection'):
            if not (res.virtual and verb == 'create'):
                self.not_found_page()
                return
        self.res, self.ns, self.name, self.sub = res, ns, name, sub
        if res.virtual:
            self.virtual_create(res, ns)
        elif sub in ('status', 'approval', 'finalize') and verb in ('update', 'patch', 'get'):
            if verb == 'get':
                self.do_get(res, ns, name)
            else:
                self.do_write(verb, res, ns, name, subresource=sub)
        elif sub == 'scale':
            self.do_scale(verb, res, ns, name)
        elif sub == 'eviction':
            self.do_eviction(res, ns, name)
        elif sub == 'binding':
            self.do_binding(res, ns, name)
        elif sub == 'log':
            self.send_text(200, '')
        elif sub == 'token':
            self.do_token(res, ns, name)
        elif res.kind == 'ComponentStatus':
            items = self.api.component_statuses()
            if name:
                items = [i for i in items if i['metadata']['name'] == name]
                if not items:
                    raise _apiserver().not_found(res, name)
            if api_tables.wants_table(self.headers.get('Accept')):
                self.send_json(200, api_tables.to_table(res.kind, items, {}, self.query.get('includeObject',
                                                                                            'Metadata')))
            elif name:
                self.send_json(200, items[0])
            else:
                self.send_json(200, {'kind': 'ComponentStatusList', 'apiVersion': 'v1', 'metadata': {},
                                     'items': items})
        elif verb == 'get':
            self.do_get(res, ns, name)
        elif verb == 'list':
            self.do_list(res, ns)
        elif verb == 'watch':
            self.do_watch(res, ns, name)
        elif verb == 'create':
            self.do_create(res, ns)
        elif verb in ('update', 'patch'):
            self.do_write(verb, res, ns, name)
        elif verb == 'delete':
            self.do_delete(res, ns, name)
        elif verb == 'deletecollection':
            self.do_deletecollection(res, ns)

    # GET ------------------------------------------------------------------------------------------------------
    def do_get(self, res, ns, name):
        obj = self.api.get_obj(res, ns, name)[0]
        if res.kind == 'PodDisruptionBudget':
            self.api.with_pdb_status([obj])
        if api_tables.wants_table(self.headers.get('Accept')):
            self.send_json(200, api_tables.to_table(res.kind, [obj], {'resourceVersion': obj['metadata'].get(
                'resourceVersion')}, self.query.get('includeObject', 'Metadata')))
            return
        self.send_json(200, obj)

    def _selectors(self, res):
        labels = ob.parse_label_selector(self.query.get('labelSelector', ''))
        fields = ob.parse_field_selector(self.query.get('fieldSelector', ''))
        if res.crd is None:
            ob.check_field_selector(fields, res.kind)
        return labels, fields

    def _matches(self, obj, labels, fields):
        if labels and not ob.match_labels(labels, (obj.get('metadata') or {}).get('labels')):
            return False
        if fields and not ob.match_fields(fields, obj):
            return False
        return True

    def do_list(self, res, ns):
        api = self.api
        labels, fields = self._selectors(res)
        limit = int(self.query.get('limit') or 0)
        token = self.query.get('continue')
        prefix = res.list_prefix(ns)
        revision = 0
        start = None
        if token:
            try:
                c = json.loads(base64.urlsafe_b64decode(token + '=' * (-len(token) % 4)))
                revision = int(c['rv'])
                start = prefix + c['start']
                if not start.startswith(prefix):
                    raise ValueError
            except (ValueError, KeyError, TypeError):
                raise ob.BadRequest('continue key is not valid: incorrect encoded start resourceVersion '
                                    '(version meta.k8s.io/v1)')
        items = []
        more = False
        last_key = None
        remaining = 0
        try:
            while True:
                batch = max(limit - len(items), 0) if limit else 0
                if limit and (labels or fields):
                    batch = max(batch, 500)
                kvs, rev, more, count = api.store.list_prefix(prefix, start=start, limit=batch, revision=revision)
                if not revision:
                    revision = rev
                for i, kv in enumerate(kvs):
                    obj = api.decode(res, kv)
                    last_key = kv.key
                    if self._matches(obj, labels, fields):
                        items.append(obj)
                        if limit and len(items) >= limit:
                            more = more or i < len(kvs) - 1
                            break
                if not more or not kvs or (limit and len(items) >= limit):
                    if limit and len(items) >= limit and more:
                        remaining = max(0, count - len(kvs)) if not (labels or fields) else 0
                    break
                start = last_key + '\x00'
        except StoreError as e:
            if 'compact' in str(e) or 'required revision has been compacted' in str(e):
                raise _apiserver().APIError(410, 'Expired', 'The provided continue parameter is too old to display a '
                                            'consistent list result. You can start a new list without the continue '
                                            'parameter, or use the continue token in this response to retrieve the '
                                            'remainder of the results. Continuing with the provided token results in '
                                            'an inconsistent list - objects that were created, modified, or deleted '
                                            'between the time the first chunk was returned and now may show up in '
                                            'the list.')
            raise
        if res.kind == 'PodDisruptionBudget':
            api.with_pdb_status(items)
        meta = {'resourceVersion': str(revision)}
        if limit and more and last_key is not None:
            tok = json.dumps({'v': 'meta.k8s.io/v1', 'rv': revision, 'start': last_key[len(prefix):] + '\x00'},
                             separators=(',', ':'))
            meta['continue'] = base64.urlsafe_b64encode(tok.encode()).decode().rstrip('=')
            if remaining:
                meta['remainingItemCount'] = remaining
        if api_tables.wants_table(self.headers.get('Accept')):
            self.send_json(200, api_tables.to_table(res.kind, items, meta, self.query.get('includeObject', 'Metadata')))
            return
        self.send_json(200, {'kind': res.kind + 'List', 'apiVersion': res.gv, 'metadata': meta, 'items': items})

    # WATCH -------------------------------------------------------------------------------------------------------
    def _chunk(self, data):
        self.wfile.write(b'%x\r\n%s\r\n' % (len(data), data))
        self.wfile.flush()

    def do_watch(self, res, ns, name):
        api = self.api
        labels, fields = self._selectors(res)
        if name:
            fields = fields + [('metadata.name', False, name)]
        rv = self.query.get('resourceVersion') or ''
        timeout = int(self.query.get('timeoutSeconds') or 1800)
        prefix = res.list_prefix(ns)
        if name and not res.namespaced:
            prefix = res.key(None, name)
        elif name:
            prefix = res.key(ns, name)
        initial = []
        if rv in ('', '0'):
            kvs, rev = api.store.list_prefix(prefix)[:2]
            for kv in kvs:
                obj = api.decode(res, kv)
                if self._matches(obj, labels, fields):
                    initial.append(obj)
            start = rev + 1
        else:
            try:
                start = int(rv) + 1
            except ValueError:
                raise ob.BadRequest('invalid resource version: %s' % rv)
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Transfer-Encoding', 'chunked')
        self.send_warning()
        self.send_header('Cache-Control', 'no-cache, private')
        self.end_headers()
        self._status = 200
        self.connection.settimeout(5)
        table = api_tables.wants_table(self.headers.get('Accept'))
        include = self.query.get('includeObject', 'Metadata')

        def send(typ, obj):
            if table:  # kubectl get -w: each event carries a one-row Table
                obj = api_tables.to_table(res.kind, [obj], {'resourceVersion': obj['metadata'].get('resourceVersion')},
                                          include)
            self._chunk(json.dumps({'type': typ, 'object': obj}, separators=(',', ':')).encode() + b'\n')
        try:
            for obj in initial:
                send('ADDED', obj)
            try:
                for ev in api.store.watch(prefix, start, stop=api.stopping.is_set, timeout=timeout):
                    if ev is None:
                        continue
                    etype, kv, prev = ev
                    if name and kv.key != prefix:
                        continue
                    new = api.decode(res, kv) if etype == 'PUT' else None
                    old = api.decode(res, prev) if prev is not None else None
                    if etype == 'DELETE' and old is not None:
                        old['metadata']['resourceVersion'] = str(kv.mod_revision)
                    new_ok = new is not None and self._matches(new, labels, fields)
                    old_ok = old is not None and self._matches(old, labels, fields)
                    if new_ok:
                        typ = 'MODIFIED' if (old_ok and prev is not None) else 'ADDED'
                        obj = new
                    elif old_ok:
                        typ, obj = 'DELETED', old
                        if new is not None:
                            obj = new
                    else:
                        continue
                    if res.kind == 'PodDisruptionBudget' and typ != 'DELETED':
                        api.with_pdb_status([obj])
                    send(typ, obj)
            except StoreError as e:
                if 'compacted' in str(e):
                    st = _apiserver().APIError(410, 'Expired', 'too old resource version: %s (%s)' % (
                        rv, start)).status()
                    self._chunk(json.dumps({'type': 'ERROR', 'object': st}).encode() + b'\n')
                else:
                    raise
            self.wfile.write(b'0\r\n\r\n')
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    # CREATE ---------------------------------------------------------------------------------------------------
    def manager(self, default_op='Update'):
        fm = self.query.get('fieldManager')
        if fm:
            return fm
        ua = self.headers.get('User-Agent', '') or 'unknown'
        return ua.split('/')[0]

    def dry_run(self):
        return self.query.get('dryRun') == 'All'

    def check_body(self, res, obj, ns):
        if not isinstance(obj, dict):
            raise ob.BadRequest('the body of the request was in an unknown format - accepted media types include: '
                                'application/json, application/yaml')
        av, kind = obj.get('apiVersion'), obj.get('kind')
        if av and av != res.gv:
            raise ob.BadRequest('the API version in the data (%s) does not match the expected API version (%s)' % (
                av, res.gv))
        if kind and kind != res.kind:
            raise ob.BadRequest('the kind in the data (%s) does not match the expected kind (%s)' % (kind, res.kind))
        obj['apiVersion'], obj['kind'] = res.gv, res.kind
        md = obj.get('metadata')
        if md is None:
            md = obj['metadata'] = {}
        if res.namespaced and md.get('namespace') and ns and md['namespace'] != ns:
            raise ob.BadRequest('the namespace of the provided object does not match the namespace sent on the '
                                'request')
        return obj

    def validate(self, res, obj):
        try:
            if res.crd is None:
                ob.validate(obj, res.kind, res.group, res.version)
            if not (obj.get('metadata') or {}).get('name'):
                raise ob.Invalid(res.kind, '', [('metadata.name', 'Required value: name or generateName is required',
                                                'FieldValueRequired')])
        except ob.Invalid as e:
            e.group = res.group
            raise

    def do_create(self, res, ns):
        api = self.api
        obj = self.check_body(res, self.parse_body(self.read_body()), ns)
        if res.namespaced and ns and not api.namespace_exists(ns):
            raise _apiserver().APIError(404, 'NotFound', 'namespaces "%s" not found' % ns,
                                        {'name': ns, 'kind': 'namespaces'})
        now = _apiserver().now_rfc3339()
        api.prepare_create(res, obj, ns, self.manager(), now)
        self.validate(res, obj)
        ob.record_managed_fields(obj, self.manager(), 'Update', res.gv, now)
        name = obj['metadata']['name']
        if self.dry_run():
            self.send_json(201, obj)
            return
        rev = api.store.create(res.key(ns, name), api.encode(obj), lease=api.lease_for(res))
        if rev is None:
            d = {'name': name, 'kind': res.plural}
            if res.group:
                d['group'] = res.group
            raise _apiserver().APIError(409, 'AlreadyExists', '%s "%s" already exists' % (
                _apiserver()._qualified(res), name), d)
        if res.kind == 'CustomResourceDefinition':
            api.invalidate_crds()
        obj['metadata']['resourceVersion'] = str(rev)
        self.send_json(201, obj)

    # UPDATE / PATCH ---------------------------------------------------------------------------------------
    def apply_patch(self, current, raw, ctype):
        ctype = ctype.split(';')[0].strip()
        if ctype == 'application/json-patch+json':
            return ob.json_patch(current, self.parse_body(raw, 'application/json'))
        if ctype == 'application/merge-patch+json':
            return ob.merge_patch(current, self.parse_body(raw, 'application/json'))
        if ctype == 'application/strategic-merge-patch+json':
            if self.res.crd is not None:
                raise _apiserver().APIError(415, 'UnsupportedMediaType', 'the body of the request was in an unknown '
                                            'format - accepted media types include: application/json-patch+json, '
                                            'application/merge-patch+json, application/apply-patch+yaml')
            return ob.strategic_merge(current, self.parse_body(raw, 'application/json'))
        if ctype == 'application/apply-patch+yaml':
            return ob.strategic_merge(current, self.parse_body(raw, 'application/yaml'))
        raise _apiserver().APIError(415, 'UnsupportedMediaType', 'the body of the request was in an unknown format - '
                                    'accepted media types include: application/json-patch+json, '
                                    'application/merge-patch+json, application/apply-patch+yaml, '
                                    'application/strategic-merge-patch+json')

    def do_write(self, verb, res, ns, name, subresource=None):
        api = self.api
        raw = self.read_body()
        ctype = self.headers.get('Content-Type', 'application/json')
        apply = verb == 'patch' and ctype.startswith('application/apply-patch')
        if apply and not self.query.get('fieldManager'):
            raise ob.BadRequest('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required '
                                'for apply patch')
        body = None if verb == 'patch' else self.parse_body(raw)
        for attempt in range(10):
            kv = api.get_kv(res, ns, name)
            if kv is None:
                if apply and subresource is None:
                    applied = self.check_body(res, self.parse_body(raw, 'application/yaml'), ns)
                    applied.setdefault('metadata', {})['name'] = name
                    now = _apiserver().now_rfc3339()
                    obj = api.prepare_create(res, copy.deepcopy(applied), ns, self.query['fieldManager'], now)
                    self.validate(res, obj)
                    ob.record_managed_fields(obj, self.query['fieldManager'], 'Apply', res.gv, now, applied=applied)
                    if self.dry_run():
                        self.send_json(201, obj)
                        return
                    rev = api.store.create(res.key(ns, name), api.encode(obj))
                    if rev is None:
                        continue
                    obj['metadata']['resourceVersion'] = str(rev)
                    self.send_json(201, obj)
                    return
                raise _apiserver().not_found(res, name)
            current = api.decode(res, kv)
            if verb == 'patch':
                if apply:
                    applied = self.parse_body(raw, 'application/yaml')
                    self.check_body(res, applied, ns)
                    self.check_apply_conflicts(res, applied, current)
                new = self.apply_patch(current, raw, ctype)
                if not isinstance(new, dict):
                    raise ob.BadRequest('the patch did not produce an object')
                precondition = (new.get('metadata') or {}).get('resourceVersion')
                if precondition == current['metadata']['resourceVersion']:
                    precondition = None
            else:
                new = self.check_body(res, body, ns)
                precondition = (new.get('metadata') or {}).get('resourceVersion')
                if (new.get('metadata') or {}).get('name') not in (None, name):
                    raise ob.BadRequest('the name of the object (%s) does not match the name on the URL (%s)' % (
                        new['metadata']['name'], name))
            if precondition and str(precondition) != current['metadata']['resourceVersion']:
                raise _apiserver().conflict(res, name)
            new['apiVersion'], new['kind'] = res.gv, res.kind
            obj = self.merge_update(res, current, new, subresource)
            if res.kind == 'PodDisruptionBudget' and subresource != 'status':
                obj.pop('status', None)
            now = _apiserver().now_rfc3339()
            op = 'Apply' if apply else 'Update'
            ob.record_managed_fields(obj, self.query.get('fieldManager') or self.manager(), op, res.gv, now,
                                     subresource=subresource if subresource == 'status' else None,
                                     applied=applied if apply else None, old=current)
            if obj == current or (apply and _without_times(obj) == _without_times(current)):
                # Upstream writes nothing for a no-op: an apply that changes no field keeps the
                # resourceVersion and the managedFields times.
                self.send_json(200, current)
                return
            stored = obj
            if subresource is not None:
                # a status write keeps the group/version the object was stored with
                stored_gv = json.loads(kv.value).get('apiVersion', res.gv)
                if stored_gv != res.gv and res.crd is None:
                    stored = ob.convert(obj, res.kind, stored_gv)
            if self.dry_run():
                self.send_json(200, obj)
                return
            md = obj.get('metadata') or {}
            if md.get('deletionTimestamp') and not md.get('finalizers'):
                rev = api.store.delete(res.key(ns, name), kv.mod_revision)
                if rev is None:
                    continue
                self.send_json(200, obj)
                return
            rev = api.store.update(res.key(ns, name), api.encode(stored), kv.mod_revision, lease=api.lease_for(res))
            if rev is None:
                if verb == 'update' and precondition:
                    raise _apiserver().conflict(res, name)
                continue
            if res.kind == 'CustomResourceDefinition':
                api.invalidate_crds()
            obj['metadata']['resourceVersion'] = str(rev)
            self.send_json(200, obj)
            return
        raise _apiserver().conflict(res, name)

    def check_apply_conflicts(self, res, applied, current):
        """409 like upstream when an apply would change a field another manager owns, unless force=true;
        with force the other managers lose those fields."""
        manager = self.query.get('fieldManager')
        conflicts = ob.apply_conflicts(applied, current, manager)
        if not conflicts:
            return
        if self.query.get('force') in ('true', '1'):
            paths = set(ob._changed_paths(applied, current))  # pylint: disable=protected-access
            others = [e for e in current['metadata'].get('managedFields') or [] if e.get('manager') != manager]
            ob.drop_fields(others, paths)
            return
        causes = [{'reason': 'FieldManagerConflict', 'message': 'conflict with %s' % m, 'field': f}
                  for f, m in conflicts]
        lines = ['- %s' % c['message'] + ': ' + c['field'] for c in causes]
        if len(causes) == 1:
            msg = 'Apply failed with 1 conflict: %s: %s' % (causes[0]['message'], causes[0]['field'])
        else:
            msg = 'Apply failed with %d conflicts: %s' % (len(causes), '\n'.join(lines))
        d = {'name': current['metadata'].get('name'), 'kind': res.plural, 'causes': causes}
        if res.group:
            d['group'] = res.group
        raise _apiserver().APIError(409, 'Conflict', msg, d)

    def merge_update(self, res, current, new, subresource):
        """Keep what a write may not change; bump generation when the spec changed."""
        cur_md = current.get('metadata') or {}
        has_status = 'status' in res.subresources
        if subresource == 'status':
            obj = copy.deepcopy(current)
            obj['status'] = new.get('status')
            if obj['status'] is None:
                obj.pop('status')
            if res.kind == 'Node':
                ob.default_node_status(obj.setdefault('status', {}))
            return obj
        if subresource in ('approval', 'finalize'):
            obj = copy.deepcopy(current)
            obj['status' if subresource == 'approval' else 'spec'] = new.get(
                'status' if subresource == 'approval' else 'spec')
            return obj
        obj = copy.deepcopy(new)
        md = obj.setdefault('metadata', {})
        if md is None:
            md = obj['metadata'] = {}
        for k in ('uid', 'creationTimestamp', 'namespace', 'name', 'deletionTimestamp', 'deletionGracePeriodSeconds',
                  'generation'):
            if k in cur_md:
                md[k] = cur_md[k]
            else:
                md.pop(k, None)
        md['resourceVersion'] = cur_md.get('resourceVersion')
        if 'managedFields' not in md and 'managedFields' in cur_md:
            md['managedFields'] = cur_md['managedFields']
        if has_status:
            if 'status' in current:
                obj['status'] = current['status']
            else:
                obj.pop('status', None)
        if res.crd is None:
            ob.default_object(obj, res.kind, self.api.minor)
            if res.kind == 'Node':
                ob.default_node_status(obj.setdefault('status', {}))
            ob.immutable_check(current, obj, res.kind, res.group, res.version)
        self.validate(res, obj)
        if 'generation' in cur_md:
            def body(o):
                return {k: v for k, v in o.items() if k not in ('metadata', 'status')}
            if body(obj) != body(current):
                md['generation'] = int(cur_md['generation']) + 1
        return obj

    # SCALE ------------------------------------------------------------------------------------------------
    def scale_of(self, res, obj):
        md = obj['metadata']
        spec = obj.get('spec') or {}
        status = obj.get('status') or {}
        sub = res.subresources['scale']
        gv = ob.join_gv(sub.get('group', res.group), sub.get('version', res.version))
        sel = spec.get('selector') or {}
        scale = {'kind': 'Scale', 'apiVersion': gv,
                 'metadata': {'name': md['name'], 'namespace': md.get('namespace'), 'uid': md.get('uid'),
                              'resourceVersion': md.get('resourceVersion'),
                              'creationTimestamp': md.get('creationTimestamp')},
                 'spec': {'replicas': spec.get('replicas', 0)},
                 'status': {'replicas': status.get('replicas', 0)}}
        if isinstance(sel, dict) and res.kind != 'ReplicationController':
            scale['status']['selector'] = _apiserver().label_selector_string(sel)
        elif sel:
            scale['status']['selector'] = ','.join('%s=%s' % kv for kv in sorted(sel.items()))
        return scale

    def do_scale(self, verb, res, ns, name):
        api = self.api
        raw = self.read_body() if verb != 'get' else b''
        for attempt in range(10):
            obj, kv = api.get_obj(res, ns, name)
            scale = self.scale_of(res, obj)
            if verb == 'get':
                self.send_json(200, scale)
                return
            if verb == 'patch':
                new = self.apply_patch(scale, raw, self.headers.get('Content-Type', 'application/merge-patch+json'))
            else:
                new = self.parse_body(raw)
            pre = ((new or {}).get('metadata') or {}).get('resourceVersion')
            if verb == 'update' and pre and pre != obj['metadata']['resourceVersion']:
                raise _apiserver().conflict(res, name)
            replicas = ((new or {}).get('spec') or {}).get('replicas', 0)
            if not isinstance(replicas, int) or replicas < 0:
                raise ob.Invalid('Scale', name, [('spec.replicas', 'Invalid value: %s: must be greater than or equal '
                                                  'to 0' % replicas, 'FieldValueInvalid')])
            if obj.setdefault('spec', {}).get('replicas') != replicas:
                obj['spec']['replicas'] = replicas
                if 'generation' in obj['metadata']:
                    obj['metadata']['generation'] += 1
            # the scale writer takes .spec.replicas from whoever owned it
            ob.drop_fields(obj['metadata'].get('managedFields') or [], [('f:spec', 'f:replicas')])
            ob.record_managed_fields(obj, self.manager(), 'Update', res.gv, _apiserver().now_rfc3339(),
                                     subresource='scale', fields={'f:spec': {'f:replicas': {}}})
            rev = api.store.update(res.key(ns, name), api.encode(obj), kv.mod_revision)
            if rev is None:
                continue
            obj['metadata']['resourceVersion'] = str(rev)
            self.send_json(200, self.scale_of(res, obj))
            return
        raise _apiserver().conflict(res, name)

    # EVICTION ---------------------------------------------------------------------------------------------
    def do_eviction(self, res, ns, name):
        api = self.api
        body = self.parse_body(self.read_body()) or {}
        allowed = {api_facts.eviction_version(api.minor)}
        if api.minor >= 22:
            allowed.add('policy/v1beta1')
        if body.get('apiVersion') and body['apiVersion'] not in allowed:
            raise ob.BadRequest('no kind "Eviction" is registered for version "%s" in scheme '
                                '"k8s.io/kubernetes/pkg/api/legacyscheme/scheme.go:30"' % body['apiVersion'])
        if body.get('kind') not in (None, 'Eviction'):
            raise ob.BadRequest('no kind "%s" is registered for the eviction subresource' % body.get('kind'))
        if (body.get('metadata') or {}).get('name') not in (None, name):
            raise ob.BadRequest('name in URL does not match name in Eviction object')
        success = {'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Success', 'code': 201}
        with api._evict_lock:
            pod, kv = api.get_obj(res, ns, name)
            phase = (pod.get('status') or {}).get('phase')
            if (pod.get('metadata') or {}).get('deletionTimestamp') or phase in ('Succeeded', 'Failed', 'Pending'):
                self.delete_pod(res, ns, name, kv, body.get('deleteOptions'))
                self.send_json(201, success)
                return
            pdb_res = api.resolve('policy', 'v1', 'poddisruptionbudgets') or api.resolve(
                'policy', 'v1beta1', 'poddisruptionbudgets')
            pdbs = []
            if pdb_res is not None:
                kvs = api.store.items(pdb_res.list_prefix(ns))
                for pkv in kvs:
                    p = json.loads(pkv.value)
                    sel = (p.get('spec') or {}).get('selector')
                    if sel is not None and ob.match_label_selector_obj(sel, (pod.get('metadata') or {}).get('labels')):
                        pdbs.append(p)
            if len(pdbs) > 1:
                raise _apiserver().APIError(500, 'InternalError', 'This pod has more than one PodDisruptionBudget, '
                                            'which the eviction subresource does not support.')
            if pdbs:
                st = api.pdb_status(pdbs[0], api.pods_in(ns))
                if st['disruptionsAllowed'] <= 0:
                    msg = 'The disruption budget %s needs %d healthy pods and has %d currently' % (
                        pdbs[0]['metadata']['name'], st['desiredHealthy'], st['currentHealthy'])
                    err = _apiserver().APIError(429, 'TooManyRequests', 'Cannot evict pod as it would violate the '
                                                'pod\'s disruption budget.',
                                                {'causes': [{'reason': 'DisruptionBudget', 'message': msg}]})
                    self.send_json(429, err.status(), headers={'Retry-After': '10'} if api.minor < 0 else None)
                    return
            if self.dry_run():
                self.send_json(201, success)
                return
            self.delete_pod(res, ns, name, kv, body.get('deleteOptions'))
        self.send_json(201, success)

    def delete_pod(self, res, ns, name, kv, options=None):
        """Eviction deletes with the Eviction's deleteOptions (graceful when the pod runs on a node)."""
        if self.dry_run():
            return
        for _attempt in range(10):
            if kv is None or self.api.delete_pod(res.key(ns, name), kv, options)[2] is not None:
                return
            kv = self.api.get_kv(res, ns, name)

    # BINDING --------------------------------------------------------------------------------------------------
    def do_binding(self, res, ns, name):
        api = self.api
        body = self.parse_body(self.read_body()) or {}
        node = (body.get('target') or {}).get('name')
        if not node:
            raise ob.Invalid('Binding', name, [('target.name', 'Required value', 'FieldValueRequired')])
        for attempt in range(10):
            pod, kv = api.get_obj(res, ns, name)
            if (pod.get('spec') or {}).get('nodeName'):
                raise _apiserver().APIError(409, 'Conflict', 'Operation cannot be fulfilled on pods/binding "%s": pod '
                                            '%s is already assigned to node "%s"' % (name, name, pod['spec']['nodeName']),
                                            {'name': name, 'kind': 'pods/binding'})
            pod['spec']['nodeName'] = node
            conds = pod.setdefault('status', {}).setdefault('conditions', [])
            conds[:] = [c for c in conds if c.get('type') != 'PodScheduled']
            conds.append({'type': 'PodScheduled', 'status': 'True', 'lastProbeTime': None,
                          'lastTransitionTime': _apiserver().now_rfc3339()})
            if api.store.update(res.key(ns, name), api.encode(pod), kv.mod_revision) is not None:
                self.send_json(201, {'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Success',
                                     'code': 201})
                return
        raise _apiserver().conflict(res, name)

    def do_token(self, res, ns, name):
        self.api.get_obj(res, ns, name)
        body = self.parse_body(self.read_body()) or {}
        spec = dict(body.get('spec') or {})
        spec.setdefault('expirationSeconds', 3600)
        spec.setdefault('audiences', ['https://kubernetes.default.svc.cluster.local'])
        out = {'kind': 'TokenRequest', 'apiVersion': 'authentication.k8s.io/v1',
               'metadata': {'name': name, 'namespace': ns, 'creationTimestamp': None}, 'spec': spec,
               'status': {'token': 'lab-serviceaccount-token-not-valid-for-auth',
                          'expirationTimestamp': _apiserver().now_rfc3339()}}
        self.send_json(201, out)

    # VIRTUAL (reviews) -------------------------------------------------------------------------------------
    def virtual_create(self, res, ns):
        api = self.api
        body = self.parse_body(self.read_body()) or {}
        body['apiVersion'], body['kind'] = res.gv, res.kind
        body.setdefault('metadata', {})
        spec = body.get('spec') or {}
        if res.kind in ('SelfSubjectAccessReview', 'SubjectAccessReview', 'LocalSubjectAccessReview'):
            if res.kind == 'SelfSubjectAccessReview':
                user = self.user
            else:
                user = _apiserver().User(spec.get('user', ''), spec.get('groups') or [])
            ra = spec.get('resourceAttributes') or {}
            target = None
            for (g, v, p), r in api.builtin.items():
                if g == ra.get('group', '') and p == ra.get('resource'):
                    target = r
                    break
            ok = target is not None and api.authorize(user, ra.get('verb', ''), target, ra.get('subresource') or None,
                                                      ra.get('namespace') or None, ra.get('name') or None)
            if spec.get('nonResourceAttributes'):
                ok = 'system:masters' in user.groups or (spec['nonResourceAttributes'].get('path') in
                                                         ('/healthz', '/livez', '/readyz', '/version'))
            body['status'] = {'allowed': bool(ok)}
            if not ok:
                body['status']['reason'] = 'no RBAC policy matched'
        elif res.kind == 'SelfSubjectRulesReview':
            body['status'] = {'resourceRules': [], 'nonResourceRules': [], 'incomplete': True}
        elif res.kind == 'SelfSubjectReview':
            body['status'] = {'userInfo': {'username': self.user.name, 'groups': self.user.groups}}
        elif res.kind == 'TokenReview':
            user = api.tokens.get(spec.get('token', ''))
            body['status'] = {'authenticated': user is not None}
            if user is not None:
                body['status']['user'] = {'username': user.name, 'uid': user.uid, 'groups': user.groups}
        else:
            raise _apiserver().APIError(405, 'MethodNotAllowed', 'the server does not allow this method')
        self.send_json(201, body)

    # DELETE -----------------------------------------------------------------------------------------------
    def do_delete(self, res, ns, name):
        api = self.api
        opts = self.parse_body(self.read_body()) or {}
        pre = opts.get('preconditions') or {}
        propagation = opts.get('propagationPolicy') or self.query.get('propagationPolicy')
        if opts.get('orphanDependents') is True:
            propagation = 'Orphan'
        for attempt in range(10):
            obj, kv = api.get_obj(res, ns, name)
            md = obj['metadata']
            if pre.get('uid') and pre['uid'] != md.get('uid'):
                raise _apiserver().APIError(409, 'Conflict', 'Operation cannot be fulfilled on %s "%s": Precondition '
                                            'failed: UID in precondition: %s, UID in object meta: %s' % (
                                                _apiserver()._qualified(res), name, pre['uid'], md.get('uid')))
            if pre.get('resourceVersion') and pre['resourceVersion'] != md['resourceVersion']:
                raise _apiserver().conflict(res, name)
            if self.dry_run():
                self.send_json(200, obj)
                return
            if res.kind == 'Pod':
                deleted, _stored, rev = api.delete_pod(res.key(ns, name), kv, opts)
                if rev is None:
                    continue
                if not deleted:
                    obj = api.decode(res, api.get_kv(res, ns, name) or kv)
                self.send_json(200, obj)
                return
            if res.kind == 'Namespace':
                if name in _apiserver().SYSTEM_NAMESPACES:
                    raise _apiserver().APIError(403, 'Forbidden', 'namespaces "%s" is forbidden: this namespace may not '
                                                'be deleted' % name, {'name': name, 'kind': 'namespaces'})
                self.delete_namespace_content(name)
            if md.get('finalizers'):
                if not md.get('deletionTimestamp'):
                    md['deletionTimestamp'] = _apiserver().now_rfc3339()
                    md['deletionGracePeriodSeconds'] = 0
                    rev = api.store.update(res.key(ns, name), api.encode(obj), kv.mod_revision)
                    if rev is None:
                        continue
                    md['resourceVersion'] = str(rev)
                self.send_json(202 if res.kind != 'Namespace' else 200, obj)
                return
            rev = api.store.delete(res.key(ns, name), kv.mod_revision)
            if rev is None:
                continue
            if res.kind == 'CustomResourceDefinition':
                api.store.delete_prefix('/registry/%s/%s/' % ((obj.get('spec') or {}).get('group'),
                                                              ((obj.get('spec') or {}).get('names') or {}).get('plural')))
                api.invalidate_crds()
            default_orphan = res.group == 'extensions' or (res.group == 'apps' and res.version in ('v1beta1', 'v1beta2'))
            if propagation != 'Orphan' and not (propagation is None and default_orphan):
                self.delete_dependents(res.kind, md.get('uid'), ns)
            if res.kind == 'Namespace':
                md['deletionTimestamp'] = _apiserver().now_rfc3339()
                obj.setdefault('status', {})['phase'] = 'Terminating'
            self.send_json(200, obj)
            return
        raise _apiserver().conflict(res, name)

    def delete_dependents(self, kind, uid, ns, depth=0):
        """Background propagation (the garbage collector's job, done here so deletes cascade without it)."""
        api = self.api
        if not uid or depth > 3:
            return
        for plural in _apiserver().DEPENDENTS.get(kind, []):
            targets = [r for r in api.builtin.values() if r.plural == plural]
            if not targets:
                continue
            r = targets[0]
            kvs = api.store.items(r.list_prefix(ns))
            for kv in kvs:
                try:
                    o = json.loads(kv.value)
                except ValueError:
                    continue
                if any(ref.get('uid') == uid for ref in (o.get('metadata') or {}).get('ownerReferences') or []):
                    if r.kind == 'Pod':
                        api.delete_pod(kv.key, kv)
                    elif api.store.delete(kv.key, kv.mod_revision) is not None:
                        self.delete_dependents(r.kind, o['metadata'].get('uid'), ns, depth + 1)

    def delete_namespace_content(self, ns):
        api = self.api
        prefixes = {r.list_prefix(ns) for r in list(api.builtin.values()) + list(api.crd_resources().values())
                    if r.namespaced and not r.virtual}
        for p in prefixes:
            api.store.delete_prefix(p)

    def do_deletecollection(self, res, ns):
        api = self.api
        labels, fields = self._selectors(res)
        kvs = api.store.items(res.list_prefix(ns))
        items = []
        for kv in kvs:
            obj = api.decode(res, kv)
            if self._matches(obj, labels, fields):
                if not self.dry_run():
                    api.store.delete(kv.key, kv.mod_revision)
                items.append(obj)
        self.send_json(200, {'kind': res.kind + 'List', 'apiVersion': res.gv,
                             'metadata': {'resourceVersion': str(api.store.revision())}, 'items': items})


def _without_times(obj):
    """`obj` with the managedFields times left out (they change on every apply)."""
    obj = copy.deepcopy(obj)
    for entry in (obj.get('metadata') or {}).get('managedFields') or []:
        entry.pop('time', None)
    return obj
