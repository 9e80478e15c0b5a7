"""A lab apiserver per release for the API-scan tests (skipped when the lab is not in the checkout)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lab_server  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope="module")
def lab15(tmp_path_factory):
    try:
        with lab_server.running("1.15.12", str(tmp_path_factory.mktemp("apis-lab-1-15"))) as server:
            yield server
    except lab_server.LabUnavailable as exc:
        pytest.skip(str(exc))
