"""The storage version migrator (upstream: a kube-controller-manager controller, 1.30+, alpha).

For each StorageVersionMigration (storagemigration.k8s.io/v1alpha1) that has not finished, rewrite every
object of spec.resource through the API with a no-op update in that group/version, which makes the lab
apiserver store it in that version, then mark the migration Succeeded (or Failed).  It talks to the
apiserver only through the API, so it works from the emulated kube-controller-manager: call
migrate_pending(client) from its loop.  `client` is a lab.emulator.client.Client (get/list/update/request).
Stdlib only.
"""

import datetime

SVM_PATH = '/apis/storagemigration.k8s.io/v1alpha1/storageversionmigrations'


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def _finished(svm):
    return any(c.get('type') in ('Succeeded', 'Failed') and c.get('status') == 'True'
               for c in (svm.get('status') or {}).get('conditions') or [])


def _collection_path(group, version, resource, namespace=None):
    base = '/api/v1' if not group else '/apis/%s/%s' % (group, version)
    return '%s/%s%s' % (base, 'namespaces/%s/' % namespace if namespace else '', resource)


def migrate_one(client, svm):
    """Rewrite every object of svm's resource; returns (migrated count, error text or None)."""
    res = (svm.get('spec') or {}).get('resource') or {}
    group, version, resource = res.get('group', ''), res.get('version', 'v1'), res.get('resource')
    if not resource:
        return 0, 'spec.resource.resource is empty'
    try:
        items, _rv = client.list(_collection_path(group, version, resource))
    except Exception as err:  # noqa: BLE001 - the condition reports it
        return 0, 'listing %s: %s' % (resource, err)
    done = 0
    for item in items:
        md = item.get('metadata') or {}
        path = '%s/%s' % (_collection_path(group, version, resource, md.get('namespace')), md.get('name'))
        for _attempt in range(5):
            try:
                client.update(path, item)
                done += 1
                break
            except Exception as err:  # noqa: BLE001
                if getattr(err, 'status', None) == 404:
                    break
                if getattr(err, 'status', None) != 409:
                    return done, 'updating %s: %s' % (path, err)
                item = client.get(path)
    return done, None


def migrate_pending(client):
    """One pass over the StorageVersionMigrations; returns the names it finished. No-op if the API is off."""
    try:
        svms = client.get(SVM_PATH).get('items') or []
    except Exception:  # noqa: BLE001 - the API is not enabled (not found)
        return []
    finished = []
    for svm in svms:
        if _finished(svm):
            continue
        name = svm['metadata']['name']
        count, error = migrate_one(client, svm)
        cond = {'type': 'Failed' if error else 'Succeeded', 'status': 'True', 'lastUpdateTime': _now(),
                'reason': 'StorageVersionMigrationFailed' if error else 'StorageVersionMigrationSucceeded',
                'message': error or 'migrated %d objects' % count}
        svm['status'] = {'conditions': [{'type': 'Running', 'status': 'False', 'lastUpdateTime': _now(),
                                         'reason': 'StorageVersionMigrationInProgress', 'message': ''}, cond]}
        client.update('%s/%s/status' % (SVM_PATH, name), svm)
        finished.append(name)
    return finished
