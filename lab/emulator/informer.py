"""A minimal shared informer: list + watch one resource into a dict keyed by namespace/name."""

import threading

from lab.emulator import client as api


def key_of(obj):
    meta = obj.get("metadata") or {}
    return "%s/%s" % (meta.get("namespace", ""), meta.get("name", ""))


class Informer(object):
    def __init__(self, cl, path, stop, on_change=None, **query):
        self.client = cl
        self.path = path
        self.stop = stop
        self.query = query
        self.items = {}
        self.lock = threading.RLock()
        self.synced = threading.Event()
        self.on_change = on_change

    def _on_list(self, items):
        with self.lock:
            self.items = {key_of(o): o for o in items}
        self.synced.set()
        if self.on_change:
            self.on_change("LIST", None)

    def _on_event(self, etype, obj):
        with self.lock:
            if etype == "DELETED":
                self.items.pop(key_of(obj), None)
            else:
                self.items[key_of(obj)] = obj
        if self.on_change:
            self.on_change(etype, obj)

    def start(self):
        threading.Thread(target=self.client.list_watch, daemon=True, kwargs=dict(
            path=self.path, on_list=self._on_list, on_event=self._on_event, stop=self.stop,
            timeout_seconds=60, **self.query)).start()
        return self

    def list(self):
        with self.lock:
            return list(self.items.values())

    def get(self, key):
        with self.lock:
            return self.items.get(key)

    def put(self, obj):
        """Record our own write at once (the watch event follows); never replaces a newer copy that
        the watch delivered meanwhile."""
        key = key_of(obj)
        with self.lock:
            current = self.items.get(key)
            if current is None or _rv(obj) >= _rv(current):
                self.items[key] = obj


def _rv(obj):
    try:
        return int((obj.get("metadata") or {}).get("resourceVersion") or 0)
    except ValueError:
        return 0


def node_ready(node):
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def owner_of(obj, kind=None):
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller") and (kind is None or ref.get("kind") == kind):
            return ref
    return None


def path(gv, resource, namespace=None, name=None, sub=None):
    return api.path_for(gv, resource, namespace, name, sub)
