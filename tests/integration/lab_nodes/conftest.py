"""Fixtures of the lab_nodes tests (helpers in labnodes_support.py)."""

import pytest

from labnodes_support import Cluster


@pytest.fixture(scope="module")
def cluster_factory(tmp_path_factory):
    made = []

    def make(api_version):
        cluster = Cluster(str(tmp_path_factory.mktemp("lab-nodes-" + api_version.replace(".", "-"))), api_version)
        made.append(cluster)
        return cluster.start()
    try:
        yield make
    finally:
        for cluster in made:
            cluster.close()
