"""Decode the Kubernetes protobuf request bodies newer kubectl sends (application/vnd.kubernetes.protobuf).

kubectl 1.32+ `create namespace|configmap|secret|serviceaccount` and `auth can-i|whoami` send protobuf in the
runtime.Unknown envelope ("k8s\\0" + Unknown{typeMeta, raw}).  The lab decodes the handful of kinds those
commands create; anything else answers 415 like a server without that serializer would.
Field numbers follow k8s.io/api generated.proto.
"""

import base64
import datetime

MAGIC = b'k8s\x00'


class Unsupported(Exception):
    pass


def _varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7f) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def fields(buf):
    """[(number, value)] of one message; value is int for varints, bytes for length-delimited."""
    out, i = [], 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(buf, i)
        elif wt == 2:
            n, i = _varint(buf, i)
            v, i = bytes(buf[i:i + n]), i + n
        elif wt == 1:
            v, i = int.from_bytes(buf[i:i + 8], 'little'), i + 8
        elif wt == 5:
            v, i = int.from_bytes(buf[i:i + 4], 'little'), i + 4
        else:
            raise Unsupported('protobuf wire type %d' % wt)
        out.append((num, v))
    return out


def _str(v):
    return v.decode('utf-8')


def _map(entries, value=_str):
    out = {}
    for e in entries:
        f = dict(fields(e))
        out[_str(f.get(1, b''))] = value(f.get(2, b''))
    return out


def _time(v):
    f = dict(fields(v))
    t = datetime.datetime.fromtimestamp(f.get(1, 0), datetime.timezone.utc)
    return t.strftime('%Y-%m-%dT%H:%M:%SZ')


def _b64(v):
    return base64.b64encode(v).decode()


# message -> {field number: (json name, kind)}; kind: str, int, bool, bytes, time, msg:NAME, map, bmap, list:KIND
SCHEMAS = {
    'ObjectMeta': {1: ('name', 'str'), 2: ('generateName', 'str'), 3: ('namespace', 'str'), 5: ('uid', 'str'),
                   6: ('resourceVersion', 'str'), 7: ('generation', 'int'), 8: ('creationTimestamp', 'time'),
                   11: ('labels', 'map'), 12: ('annotations', 'map'), 13: ('ownerReferences', 'list:OwnerReference'),
                   14: ('finalizers', 'list:str')},
    'OwnerReference': {1: ('kind', 'str'), 3: ('name', 'str'), 4: ('uid', 'str'), 5: ('apiVersion', 'str'),
                       6: ('controller', 'bool'), 7: ('blockOwnerDeletion', 'bool')},
    'Namespace': {1: ('metadata', 'msg:ObjectMeta'), 2: ('spec', 'msg:NamespaceSpec'), 3: ('status', 'msg:Empty')},
    'NamespaceSpec': {1: ('finalizers', 'list:str')},
    'ConfigMap': {1: ('metadata', 'msg:ObjectMeta'), 2: ('data', 'map'), 3: ('binaryData', 'bmap'),
                  4: ('immutable', 'bool')},
    'Secret': {1: ('metadata', 'msg:ObjectMeta'), 2: ('data', 'bmap'), 3: ('type', 'str'), 4: ('stringData', 'map'),
               5: ('immutable', 'bool')},
    'ServiceAccount': {1: ('metadata', 'msg:ObjectMeta'), 2: ('secrets', 'list:ObjectReference'),
                       3: ('imagePullSecrets', 'list:LocalObjectReference'),
                       4: ('automountServiceAccountToken', 'bool')},
    'ObjectReference': {1: ('kind', 'str'), 2: ('namespace', 'str'), 3: ('name', 'str'), 4: ('uid', 'str'),
                        5: ('apiVersion', 'str'), 6: ('resourceVersion', 'str'), 7: ('fieldPath', 'str')},
    'LocalObjectReference': {1: ('name', 'str')},
    'SelfSubjectAccessReview': {1: ('metadata', 'msg:ObjectMeta'), 2: ('spec', 'msg:SelfSubjectAccessReviewSpec')},
    'SelfSubjectAccessReviewSpec': {1: ('resourceAttributes', 'msg:ResourceAttributes'),
                                    2: ('nonResourceAttributes', 'msg:NonResourceAttributes')},
    'ResourceAttributes': {1: ('namespace', 'str'), 2: ('verb', 'str'), 3: ('group', 'str'), 4: ('version', 'str'),
                           5: ('resource', 'str'), 6: ('subresource', 'str'), 7: ('name', 'str')},
    'NonResourceAttributes': {1: ('path', 'str'), 2: ('verb', 'str')},
    'SelfSubjectReview': {1: ('metadata', 'msg:ObjectMeta')},
    'Empty': {},
}


def _decode(name, buf):
    schema = SCHEMAS[name]
    out = {}
    maps = {}
    for num, v in fields(buf):
        if num not in schema:
            continue
        key, kind = schema[num]
        if kind in ('map', 'bmap'):
            maps.setdefault(key, (kind, []))[1].append(v)
        elif kind.startswith('list:'):
            sub = kind[5:]
            out.setdefault(key, []).append(_str(v) if sub == 'str' else _decode(sub, v))
        elif kind.startswith('msg:'):
            out[key] = _decode(kind[4:], v)
        elif kind == 'str':
            if v:  # gogo-proto writes empty strings; Go's JSON omits them (omitempty)
                out[key] = _str(v)
        elif kind == 'int':
            if v:
                out[key] = v
        elif kind == 'bool':
            out[key] = bool(v)
        elif kind == 'time':
            out[key] = _time(v)
    for key, (kind, entries) in maps.items():
        out[key] = _map(entries, _b64 if kind == 'bmap' else _str)
    return out


def decode(body):
    """Protobuf request body -> the object as a JSON-like dict. Raises Unsupported."""
    if not body.startswith(MAGIC):
        raise Unsupported('missing the k8s protobuf envelope')
    unknown = dict(fields(body[len(MAGIC):]))
    tm = dict(fields(unknown.get(1, b'')))
    api_version, kind = _str(tm.get(1, b'')), _str(tm.get(2, b''))
    if kind not in SCHEMAS or kind[0].islower() or kind in ('ObjectMeta', 'Empty') or kind.endswith('Spec'):
        raise Unsupported('the lab apiserver decodes no protobuf %s; send JSON' % (kind or 'object'))
    obj = {'apiVersion': api_version, 'kind': kind}
    obj.update(_decode(kind, unknown.get(2, b'')))
    return obj
