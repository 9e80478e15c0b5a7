"""Make `ansible_collections.clusterops.k8s_upgrade` importable from the working tree in tests.

The working tree is linked in as the collection by scripts/dev-collection.sh; Ansible's own
collection finder then resolves it together with the collections bundled in the venv.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")


def _install_collection_finder():
    link = os.path.join(COLLECTIONS, "ansible_collections", "clusterops", "k8s_upgrade")
    if not os.path.islink(link) and not os.path.isdir(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(ROOT, link)
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    paths = [COLLECTIONS] + [p for p in sys.path if os.path.isdir(os.path.join(p, "ansible_collections"))]
    _AnsibleCollectionFinder(paths=paths)._install()


_install_collection_finder()
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)  # the lab package, benchmarks
