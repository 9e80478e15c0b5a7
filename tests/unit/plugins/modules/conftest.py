"""Run a module's main() in-process with given arguments and return its JSON result."""

import json
from unittest import mock

import pytest

from ansible.module_utils import _internal
from ansible.module_utils.testing import patch_module_args


class ModuleRun:
    def __init__(self, capsys):
        self._capsys = capsys

    def __call__(self, module, args, check_mode=False):
        args = dict(args)
        if check_mode:
            args["_ansible_check_mode"] = True
        # A module runs target-side: once any test has imported controller code, warnings would
        # otherwise go to the controller's display instead of the result.
        with patch_module_args(args), mock.patch.object(_internal, "is_controller", False):
            with pytest.raises(SystemExit):
                module.main()
        out = self._capsys.readouterr().out
        return json.loads(out)


@pytest.fixture
def run_module(capsys):
    """run_module(module, args, check_mode=False) -> the module's result dict (failed=True on fail_json)."""
    return ModuleRun(capsys)
