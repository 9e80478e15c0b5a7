# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The component_flags module run against unit trees in temporary directories."""

import glob
import json
import os

from unittest import mock

import pytest
from ansible.module_utils import _internal
from ansible.module_utils.testing import patch_module_args

from ansible_collections.clusterops.k8s_upgrade.plugins.modules import component_flags

UNIT = "etc/systemd/system/kube-apiserver.service"
ENV = "etc/kubernetes/kube-apiserver.env"
BIN = "/opt/kubernetes/v1.15.12/bin/kube-apiserver"
UNIT_TEXT = ("[Service]\nEnvironmentFile=/etc/kubernetes/kube-apiserver.env\n"
             "ExecStart=%s $KUBE_APISERVER_ARGS\n" % BIN)
ENV_TEXT = 'KUBE_APISERVER_ARGS="--insecure-port=0 --etcd-servers=http://127.0.0.1:2379 --v=2"\n'


def build(root, files):
    for rel, text in files.items():
        path = os.path.join(str(root), rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(text)


def read(root, rel):
    with open(os.path.join(str(root), rel)) as handle:
        return handle.read()


def run(capsys, args, check_mode=False, diff=False):
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    # Once any test imports controller code, module warnings go to the controller's display
    # instead of the result; a module run here is a target-side run.
    with patch_module_args(args), mock.patch.object(_internal, "is_controller", False):
        with pytest.raises(SystemExit) as info:
            component_flags.main()
    result = json.loads(capsys.readouterr().out)
    result["_rc"] = info.value.code
    return result


@pytest.fixture
def lab(tmp_path):
    build(tmp_path, {UNIT: UNIT_TEXT, ENV: ENV_TEXT})
    return tmp_path


def base(root, **extra):
    return dict(dict(component="kube-apiserver", target_version="1.24.17", current_version="1.23.17",
                     root=str(root)), **extra)


def test_rewrite_env_file(capsys, lab):
    result = run(capsys, base(lab, verbosity=4))
    env = os.path.join(str(lab), ENV)
    assert result["_rc"] == 0 and result["changed"] is True
    assert result["flags_before"] == ["--insecure-port=0", "--etcd-servers=http://127.0.0.1:2379", "--v=2"]
    assert result["flags_after"] == ["--etcd-servers=http://127.0.0.1:2379", "--v=4"]
    assert result["files"] == [env]
    assert result["needs_daemon_reload"] is False  # an environment file is read at start
    assert [d["flag"] for d in result["dropped"]] == ["insecure-port"]
    assert read(lab, ENV) == 'KUBE_APISERVER_ARGS="--etcd-servers=http://127.0.0.1:2379 --v=4"\n'
    assert read(lab, UNIT) == UNIT_TEXT
    backup = result["backup_files"][env]
    assert os.path.dirname(backup) == os.path.dirname(env) and os.path.basename(backup).startswith("kube-apiserver.env.")
    assert read(lab, os.path.relpath(backup, str(lab))) == ENV_TEXT
    assert any(c["flag"] == "insecure-port" and c["change"] == "removed" for c in result["hop_changes"])
    # idempotent
    again = run(capsys, base(lab, verbosity=4))
    assert again["changed"] is False and again["files"] == [] and again["backup_files"] == {}
    assert len(glob.glob(env + ".*~")) == 1


def test_check_and_diff_mode_write_nothing(capsys, lab):
    result = run(capsys, base(lab, verbosity=4), check_mode=True, diff=True)
    env = os.path.join(str(lab), ENV)
    assert result["changed"] is True and result["backup_files"] == {}
    assert result["diff"] == [dict(before_header=env, after_header=env, before=ENV_TEXT,
                                   after='KUBE_APISERVER_ARGS="--etcd-servers=http://127.0.0.1:2379 --v=4"\n')]
    assert read(lab, ENV) == ENV_TEXT
    assert glob.glob(env + ".*~") == []


def test_inline_unit_needs_daemon_reload(capsys, tmp_path):
    text = "[Service]\nExecStart=%s \\\n  --insecure-port=0 \\\n  --v=2\n" % BIN
    build(tmp_path, {UNIT: text})
    result = run(capsys, base(tmp_path))
    assert result["changed"] is True and result["needs_daemon_reload"] is True
    assert read(tmp_path, UNIT) == "[Service]\nExecStart=%s \\\n  --v=2\n" % BIN


def test_switch_binary(capsys, lab):
    new = "/opt/kubernetes/v1.24.17/bin/kube-apiserver"
    result = run(capsys, base(lab, binary=new))
    unit = os.path.join(str(lab), UNIT)
    assert result["changed"] is True and result["needs_daemon_reload"] is True
    assert result["binary_before"] == BIN and result["binary"] == new
    assert sorted(result["files"]) == sorted([unit, os.path.join(str(lab), ENV)])
    assert read(lab, UNIT) == UNIT_TEXT.replace(BIN, new)
    assert read(lab, os.path.relpath(result["backup_files"][unit], str(lab))) == UNIT_TEXT
    again = run(capsys, base(lab, binary=new))
    assert again["changed"] is False and again["needs_daemon_reload"] is False


def test_refuses_removed_flag_and_names_it(capsys, tmp_path):
    build(tmp_path, {UNIT: UNIT_TEXT, ENV: 'KUBE_APISERVER_ARGS="--insecure-port=8080 --v=2"\n'})
    result = run(capsys, base(tmp_path))
    assert result["_rc"] == 1 and result["failed"] is True
    assert "--insecure-port=8080 was removed in Kubernetes 1.24 without replacement" in result["msg"]
    assert "removed_flags=drop" in result["msg"]
    assert read(tmp_path, ENV) == 'KUBE_APISERVER_ARGS="--insecure-port=8080 --v=2"\n'


def test_drop_mode_and_no_backup(capsys, tmp_path):
    build(tmp_path, {UNIT: UNIT_TEXT, ENV: 'KUBE_APISERVER_ARGS="--insecure-port=8080 --v=2"\n'})
    result = run(capsys, base(tmp_path, removed_flags="drop", backup=False))
    assert result["changed"] is True and result["backup_files"] == {}
    assert read(tmp_path, ENV) == 'KUBE_APISERVER_ARGS="--v=2"\n'
    assert glob.glob(os.path.join(str(tmp_path), ENV) + ".*~") == []


def test_deprecated_flag_is_a_warning(capsys, tmp_path):
    build(tmp_path, {UNIT: UNIT_TEXT, ENV: 'KUBE_APISERVER_ARGS="--kubelet-https=true"\n'})
    result = run(capsys, base(tmp_path, target_version="1.20.15", current_version="1.19.16"))
    assert result["changed"] is False
    # core 2.19 wraps warnings as WarningSummary events
    assert [w["event"]["msg"] for w in result["warnings"]] == [result["warned"][0]["message"]]


@pytest.mark.parametrize(
    "files, extra, message",
    [
        ({}, {}, "kube-apiserver.service: unit kube-apiserver.service not found"),
        ({UNIT: UNIT_TEXT}, {}, "kube-apiserver.env (EnvironmentFile= of kube-apiserver.service"),
        ({UNIT: UNIT_TEXT, ENV: ENV_TEXT}, {"target_version": "2.0"}, "target_version 2.0 is not a Kubernetes release"),
    ],
)
def test_failures(capsys, tmp_path, files, extra, message):
    build(tmp_path, files)
    result = run(capsys, base(tmp_path, **extra))
    assert result["_rc"] == 1 and message in result["msg"]


def test_unit_option_and_kubelet(capsys, tmp_path):
    build(tmp_path, {"etc/systemd/system/k8s-node.service": "[Service]\nExecStart=/opt/k/kubelet --allow-privileged=true --v=1\n"})
    result = run(capsys, dict(component="kubelet", target_version="1.15.12", unit="k8s-node.service",
                              root=str(tmp_path)))
    assert result["flags_after"] == ["--v=1"]
    assert read(tmp_path, "etc/systemd/system/k8s-node.service") == "[Service]\nExecStart=/opt/k/kubelet --v=1\n"
