"""The emulated container runtime's state, shared by the kubelet (writer) and crictl (reader):
<root-dir>/lab-runtime/containers.json. Sandboxes (pods) and containers, with the labels and
annotations the real kubelet puts on them."""

import hashlib
import json
import os
import time

STATE_DIR = "lab-runtime"
STATE_FILE = "containers.json"
RUNTIME_VERSION = "1.7.24"  # containerd the lab claims to run


def state_path(root_dir):
    return os.path.join(root_dir, STATE_DIR, STATE_FILE)


def empty_state():
    return {"kubeletVersion": "", "sandboxes": {}, "containers": {}}


def load(root_dir):
    try:
        with open(state_path(root_dir)) as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return empty_state()
    for key, value in empty_state().items():
        data.setdefault(key, value)
    return data


def save(root_dir, state):
    path = state_path(root_dir)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(state, handle, indent=1, sort_keys=True)
    os.replace(tmp, path)


def new_id(*parts):
    seed = "|".join(str(p) for p in parts) + "|%r|%r" % (time.time(), os.urandom(8))
    return hashlib.sha256(seed.encode()).hexdigest()


def now_ns():
    return int(time.time() * 1e9)


def rfc3339_from_ns(ns):
    secs = ns // 1000000000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + ".%09dZ" % (ns % 1000000000)


def image_ref(image):
    return "sha256:" + hashlib.sha256(image.encode()).hexdigest()
