"""The lab's facts about the kubelet: the container hash rule of each release, the v1.Container
type per minor (Go field order, JSON names, omitempty), and the PodSpec fields behind the
controller-manager incident.

Hash rules (kubernetes/kubernetes pkg/kubelet/container/helpers.go, HashContainer; #63814,
#124220, #129659):
- 1.31+: fnv32a over spew("%#v") of json.Marshal({"image": ..., "name": ...}) (a Go map: keys sorted).
- 1.16-1.30: fnv32a over spew("%#v") of json.Marshal(container): the kubelet decodes the pod into
  ITS release's v1.Container (fields it does not know are dropped), then marshals it in Go struct
  order with omitempty honoured (non-pointer structs such as `resources` are never omitted).
- 1.10-1.15: fnv32a over spew("%#v") of the Go struct itself (DeepHashObject(hash, *container)):
  every field of that release's type is printed, nil or not, so any field added to the type (or to a
  non-nil nested struct) changes the hash. The lab renders a spew-like text of the struct from the
  type table below: the exact bytes differ from upstream's spew output (upstream vectors exist only
  for the JSON rules), but it changes exactly when the set of printed fields or their values change.
The spew form of a []byte is "([]uint8)[b0 b1 ...]" (decimal, space-separated); Go's json escapes
< > & as \\u003c \\u003e \\u0026 (and U+2028/U+2029).
Checked against the upstream vectors: sampleV115HashValue 0x311670a, sampleV131HashValue 0x8e45cbd0.
"""

import json

JSON_RULE_SINCE = 16
PICKED_FIELDS_SINCE = 31

# Types: name -> [(json name, since minor, kind, subtype)], in Go struct order.
# kinds: str, int, bool (omitempty zero values dropped); req_str, req_int (no omitempty);
# ptr (pointer: omitted only when null; subtype names the struct or a scalar "str"/"int"/"bool");
# struct (non-pointer struct: never omitted); list (omitempty slice of subtype);
# map (omitempty map, values kept as given); quantity (non-pointer resource.Quantity: never
# omitted, "0" when unset); intorstr (IntOrString, never omitted).
TYPES = {
    "Container": [
        ("name", 10, "req_str", None),
        ("image", 10, "str", None),
        ("command", 10, "list", "str"),
        ("args", 10, "list", "str"),
        ("workingDir", 10, "str", None),
        ("ports", 10, "list", "ContainerPort"),
        ("envFrom", 10, "list", "EnvFromSource"),
        ("env", 10, "list", "EnvVar"),
        ("resources", 10, "struct", "ResourceRequirements"),
        ("resizePolicy", 27, "list", "ContainerResizePolicy"),
        ("restartPolicy", 28, "ptr", "str"),
        ("volumeMounts", 10, "list", "VolumeMount"),
        ("volumeDevices", 10, "list", "VolumeDevice"),
        ("livenessProbe", 10, "ptr", "Probe"),
        ("readinessProbe", 10, "ptr", "Probe"),
        ("startupProbe", 16, "ptr", "Probe"),
        ("lifecycle", 10, "ptr", "Lifecycle"),
        ("terminationMessagePath", 10, "str", None),
        ("terminationMessagePolicy", 10, "str", None),
        ("imagePullPolicy", 10, "str", None),
        ("securityContext", 10, "ptr", "SecurityContext"),
        ("stdin", 10, "bool", None),
        ("stdinOnce", 10, "bool", None),
        ("tty", 10, "bool", None),
    ],
    "ContainerPort": [
        ("name", 10, "str", None), ("hostPort", 10, "int", None), ("containerPort", 10, "req_int", None),
        ("protocol", 10, "str", None), ("hostIP", 10, "str", None),
    ],
    "EnvFromSource": [
        ("prefix", 10, "str", None), ("configMapRef", 10, "ptr", "LocalRefOptional"),
        ("secretRef", 10, "ptr", "LocalRefOptional"),
    ],
    "LocalRefOptional": [("name", 10, "str", None), ("optional", 10, "ptr", "bool")],
    "EnvVar": [("name", 10, "req_str", None), ("value", 10, "str", None), ("valueFrom", 10, "ptr", "EnvVarSource")],
    "EnvVarSource": [
        ("fieldRef", 10, "ptr", "ObjectFieldSelector"), ("resourceFieldRef", 10, "ptr", "ResourceFieldSelector"),
        ("configMapKeyRef", 10, "ptr", "KeySelector"), ("secretKeyRef", 10, "ptr", "KeySelector"),
    ],
    "ObjectFieldSelector": [("apiVersion", 10, "str", None), ("fieldPath", 10, "req_str", None)],
    "ResourceFieldSelector": [
        ("containerName", 10, "str", None), ("resource", 10, "req_str", None), ("divisor", 10, "quantity", None),
    ],
    "KeySelector": [("name", 10, "str", None), ("key", 10, "req_str", None), ("optional", 10, "ptr", "bool")],
    "ResourceRequirements": [
        ("limits", 10, "map", None), ("requests", 10, "map", None), ("claims", 26, "list", "ResourceClaim"),
    ],
    "ResourceClaim": [("name", 26, "req_str", None), ("request", 31, "str", None)],
    "ContainerResizePolicy": [("resourceName", 27, "req_str", None), ("restartPolicy", 27, "req_str", None)],
    "VolumeMount": [
        ("name", 10, "req_str", None), ("readOnly", 10, "bool", None), ("recursiveReadOnly", 30, "ptr", "str"),
        ("mountPath", 10, "req_str", None), ("subPath", 10, "str", None), ("mountPropagation", 10, "ptr", "str"),
        ("subPathExpr", 14, "str", None),
    ],
    "VolumeDevice": [("name", 10, "req_str", None), ("devicePath", 10, "req_str", None)],
    "Probe": [
        ("exec", 10, "ptr", "ExecAction"), ("httpGet", 10, "ptr", "HTTPGetAction"),
        ("tcpSocket", 10, "ptr", "TCPSocketAction"), ("grpc", 24, "ptr", "GRPCAction"),
        ("initialDelaySeconds", 10, "int", None), ("timeoutSeconds", 10, "int", None),
        ("periodSeconds", 10, "int", None), ("successThreshold", 10, "int", None),
        ("failureThreshold", 10, "int", None), ("terminationGracePeriodSeconds", 21, "ptr", "int"),
    ],
    "ExecAction": [("command", 10, "list", "str")],
    "HTTPGetAction": [
        ("path", 10, "str", None), ("port", 10, "intorstr", None), ("host", 10, "str", None),
        ("scheme", 10, "str", None), ("httpHeaders", 10, "list", "HTTPHeader"),
    ],
    "HTTPHeader": [("name", 10, "req_str", None), ("value", 10, "req_str", None)],
    "TCPSocketAction": [("port", 10, "intorstr", None), ("host", 10, "str", None)],
    "GRPCAction": [("port", 24, "req_int", None), ("service", 24, "ptr", "str")],
    "Lifecycle": [
        ("postStart", 10, "ptr", "LifecycleHandler"), ("preStop", 10, "ptr", "LifecycleHandler"),
        ("stopSignal", 33, "ptr", "str"),
    ],
    "LifecycleHandler": [
        ("exec", 10, "ptr", "ExecAction"), ("httpGet", 10, "ptr", "HTTPGetAction"),
        ("tcpSocket", 10, "ptr", "TCPSocketAction"), ("sleep", 29, "ptr", "SleepAction"),
    ],
    "SleepAction": [("seconds", 29, "req_int", None)],
    "SecurityContext": [
        ("capabilities", 10, "ptr", "Capabilities"), ("privileged", 10, "ptr", "bool"),
        ("seLinuxOptions", 10, "ptr", "SELinuxOptions"), ("windowsOptions", 14, "ptr", "WindowsOptions"),
        ("runAsUser", 10, "ptr", "int"), ("runAsGroup", 10, "ptr", "int"), ("runAsNonRoot", 10, "ptr", "bool"),
        ("readOnlyRootFilesystem", 10, "ptr", "bool"), ("allowPrivilegeEscalation", 10, "ptr", "bool"),
        ("procMount", 12, "ptr", "str"), ("seccompProfile", 19, "ptr", "SeccompProfile"),
        ("appArmorProfile", 30, "ptr", "AppArmorProfile"),
    ],
    "Capabilities": [("add", 10, "list", "str"), ("drop", 10, "list", "str")],
    "SELinuxOptions": [("user", 10, "str", None), ("role", 10, "str", None), ("type", 10, "str", None),
                       ("level", 10, "str", None)],
    "WindowsOptions": [("gmsaCredentialSpecName", 14, "ptr", "str"), ("gmsaCredentialSpec", 14, "ptr", "str"),
                       ("runAsUserName", 16, "ptr", "str"), ("hostProcess", 22, "ptr", "bool")],
    "SeccompProfile": [("type", 19, "req_str", None), ("localhostProfile", 19, "ptr", "str")],
    "AppArmorProfile": [("type", 30, "req_str", None), ("localhostProfile", 30, "ptr", "str")],
}

# The controller-manager incident (issue 3): PodSpec fields a release added with a default.
# A controller-manager of minor >= since defaults the field into Deployment pod templates that lack
# it, which changes the pod-template-hash and re-rolls the Deployment (the #63814 mechanism applied to
# the template hash); the lab's kubelets older than `since` fail pods that carry the field
# (CreateContainerError) instead of silently dropping it.
#   (json path in PodSpec, default value, since minor, provenance)
INCIDENT_FIELDS = (
    ("enableServiceLinks", True, 13, "upstream: PodSpec.enableServiceLinks added in 1.13, defaulted true"),
    ("topologySpreadConstraints", "lab-default", 16,
     "lab: PodSpec.topologySpreadConstraints was added in 1.16 (alpha, not defaulted upstream); the lab's "
     "1.16+ controller-manager defaults a soft (ScheduleAnyway) hostname spread so that the 1.15 -> 1.16 "
     "rehearsal reproduces the incident"),
    ("preemptionPolicy", "PreemptLowerPriority", 19,
     "upstream: PodSpec.preemptionPolicy defaulted to PreemptLowerPriority once NonPreemptingPriority "
     "went beta (on) in 1.19"),
)


# Pod annotation in which the lab's controller-manager records the fields it defaulted; the lab's
# kubelets fail only those (an apiserver that defaults a field on its own does not trip them).
DEFAULTED_ANNOTATION = "lab.clusterops.io/defaulted-fields"


def incident_fields(minor):
    """The incident fields a controller-manager of 1.<minor> defaults into templates."""
    return [f for f in INCIDENT_FIELDS if f[2] <= minor]


def unknown_incident_fields(pod_spec, minor, defaulted=None):
    """Names of incident fields set in pod_spec that a kubelet of 1.<minor> does not know; with
    defaulted (the names from DEFAULTED_ANNOTATION), only those."""
    return [name for name, _default, since, _src in INCIDENT_FIELDS
            if since > minor and name in pod_spec and (defaulted is None or name in defaulted)]


# --- Go json.Marshal of the release's type ------------------------------------------------------

def _is_zero(kind, value):
    if value is None:
        return True
    if kind in ("str",):
        return value == ""
    if kind in ("int",):
        return value == 0
    if kind in ("bool",):
        return value is False
    if kind in ("list", "map"):
        return len(value) == 0
    return False


def _scalar(subtype, value):
    return value


def go_value(type_name, value, minor):
    """Decode value into the release's Go type and return what json.Marshal would emit, as an
    ordered structure (dict keys in Go order). Unknown fields are dropped."""
    out = {}
    value = value or {}
    for name, since, kind, subtype in TYPES[type_name]:
        if since > minor:
            continue
        present = name in value and value[name] is not None
        item = value.get(name)
        if kind in ("req_str",):
            out[name] = item if present else ""
        elif kind == "req_int":
            out[name] = item if present else 0
        elif kind in ("str", "int", "bool"):
            if present and not _is_zero(kind, item):
                out[name] = item
        elif kind == "ptr":
            if present:
                out[name] = go_value(subtype, item, minor) if subtype in TYPES else _scalar(subtype, item)
        elif kind == "struct":
            out[name] = go_value(subtype, item if present else {}, minor)
        elif kind == "list":
            if present and len(item) > 0:
                out[name] = [go_value(subtype, x, minor) if subtype in TYPES else x for x in item]
        elif kind == "map":
            if present and len(item) > 0:
                out[name] = dict(sorted(item.items()))
        elif kind == "quantity":
            out[name] = item if present else "0"
        elif kind == "intorstr":
            out[name] = item if present else 0
    return out


def go_json(obj):
    """json.Marshal bytes: compact, keys in the given order, < > & and U+2028/9 escaped."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    for raw, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                     ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, esc)
    return text.encode("utf-8")


def spew_bytes(data):
    """spew %#v of a []byte."""
    return ("([]uint8)[" + " ".join(str(b) for b in bytearray(data)) + "]").encode("ascii")


def fnv32a(data):
    value = 0x811c9dc5
    for byte in bytearray(data):
        value ^= byte
        value = (value * 0x01000193) & 0xffffffff
    return value


# --- pre-1.16: spew of the struct (lab rendering) --------------------------------------------------

_GO_NAMES = {"tty": "TTY", "hostIP": "HostIP", "seLinuxOptions": "SELinuxOptions", "httpGet": "HTTPGet",
             "tcpSocket": "TCPSocket", "grpc": "GRPC"}


def _go_name(json_name):
    return _GO_NAMES.get(json_name, json_name[:1].upper() + json_name[1:])


def _spew_scalar(subtype, value, pointer):
    goty = {"str": "string", "int": "int64", "bool": "bool"}.get(subtype, subtype)
    if value is None:
        return "(%s%s)<nil>" % ("*" if pointer else "", goty)
    return "(%s%s)%s" % ("*" if pointer else "", goty, json.dumps(value))


def spew_struct(type_name, value, minor):
    """A spew-like %#v rendering of the release's Go struct, every field printed."""
    parts = []
    value = value or {}
    for name, since, kind, subtype in TYPES[type_name]:
        if since > minor:
            continue
        item = value.get(name)
        if kind in ("str", "req_str"):
            text = _spew_scalar("str", item if item is not None else "", False)
        elif kind in ("int", "req_int"):
            text = _spew_scalar("int", item if item is not None else 0, False)
        elif kind == "bool":
            text = _spew_scalar("bool", bool(item), False)
        elif kind == "ptr":
            if subtype in TYPES:
                text = "(*v1.%s)<nil>" % subtype if item is None else "(*v1.%s)%s" % (
                    subtype, spew_struct(subtype, item, minor))
            else:
                text = _spew_scalar(subtype, item, True)
        elif kind == "struct":
            text = "(v1.%s)%s" % (subtype, spew_struct(subtype, item or {}, minor))
        elif kind == "list":
            if not item:
                text = "([]%s)<nil>" % subtype
            elif subtype in TYPES:
                text = "([]v1.%s)[%s]" % (subtype, ",".join(spew_struct(subtype, x, minor) for x in item))
            else:
                text = "([]string)[%s]" % ",".join(json.dumps(x) for x in item)
        elif kind == "map":
            text = "(v1.ResourceList)<nil>" if not item else "(v1.ResourceList)[%s]" % ",".join(
                "%s:%s" % (k, json.dumps(item[k])) for k in sorted(item))
        else:
            text = "(%s)%s" % (kind, json.dumps(item if item is not None else 0))
        parts.append("%s:%s" % (_go_name(name), text))
    return "{" + " ".join(parts) + "}"


# --- the rule of each release ----------------------------------------------------------------------

def hash_rule(minor):
    if minor >= PICKED_FIELDS_SINCE:
        return "picked-fields"
    if minor >= JSON_RULE_SINCE:
        return "json"
    return "spew-struct"


def container_hash(container, minor):
    """The io.kubernetes.container.hash a kubelet of 1.<minor> computes for container (a dict as the
    API serves it). Returns an int."""
    rule = hash_rule(minor)
    if rule == "picked-fields":
        data = go_json({"image": container.get("image", ""), "name": container.get("name", "")})
        return fnv32a(spew_bytes(data))
    if rule == "json":
        return fnv32a(spew_bytes(go_json(go_value("Container", container, minor))))
    return fnv32a(("(v1.Container)" + spew_struct("Container", container, minor)).encode("utf-8"))


def container_hash_hex(container, minor):
    """Lowercase hex without padding, as the label carries it."""
    return "%x" % container_hash(container, minor)


# --- kubelet checkpoints ---------------------------------------------------------------------------

CHECKPOINT_FILES = ("cpu_manager_state", "memory_manager_state", "device-plugins/kubelet_internal_checkpoint")


def checkpoint_files(minor):
    """State files the kubelet of 1.<minor> writes under its root dir (memory manager from 1.21)."""
    return [f for f in CHECKPOINT_FILES if f != "memory_manager_state" or minor >= 21]
