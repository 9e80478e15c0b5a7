"""Fixtures of the lab apiserver tests (helpers in labapi_support.py).

tests/integration/apis/lab_server.py loads this file by path for Lab, Pki and find_kubectl: keep them here.
"""

import os
import sys

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from labapi_support import Lab, Pki, find_kubectl, free_port  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import


@pytest.fixture(scope='session')
def lab_factory(tmp_path_factory):
    labs = {}

    def make(version):
        if version not in labs:
            d = str(tmp_path_factory.mktemp('lab-api-' + version.replace('.', '-')))
            lab = Lab(d, version, Pki(d))
            labs[version] = lab
            lab.start_etcd()
            lab.start_apiserver()
        return labs[version]
    try:
        yield make
    finally:
        for lab in labs.values():
            lab.stop()
