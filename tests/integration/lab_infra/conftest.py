"""One small lab (1 control plane + 1 node) for the whole session, brought up with the real CLI.

Needs root, systemd-nspawn and the other tools scripts/setup.sh installs; the first run also builds
the cached image (about a minute). The lab is always taken down at the end.
"""

import os
import shutil
import sys

import pytest

from labinfra_util import ROOT, VERSION, run_lab  # pylint: disable=import-error


@pytest.fixture(scope="session")
def lab_up():
    if os.geteuid() != 0 or shutil.which("systemd-nspawn") is None:
        pytest.skip("the lab needs root and systemd-nspawn")
    sys.path.insert(0, ROOT)
    from lab import state  # pylint: disable=import-outside-toplevel
    if state.load():
        pytest.fail(f"a lab is already up ({state.STATE_FILE}); run `python -m lab down` before these tests")
    proc = run_lab("up", "--control-plane", "1", "--nodes", "1", "--version", VERSION)
    try:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        yield {"state": state.load(), "up_output": proc.stdout}
    finally:
        run_lab("down")
