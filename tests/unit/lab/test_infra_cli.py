"""The lab CLI's pure parts: argument defaults, the status report parser."""

import pytest

from lab import cli, faults


def test_up_defaults_match_the_documented_lab():
    args = cli.parser().parse_args(["up"])
    assert (args.control_plane, args.nodes, args.version) == (3, 3, "1.15.12")
    assert not args.no_seed and not args.hosts_only


@pytest.mark.parametrize("argv", [["fault", "no-such-fault"], ["sideways"], []])
def test_bad_commands_are_refused(argv):
    with pytest.raises(SystemExit) as exc:
        cli.parser().parse_args(argv)
    assert exc.value.code == 2


def test_every_fault_has_a_cli_choice():
    action = [a for a in cli.parser()._subparsers._group_actions[0].choices["fault"]._actions  # pylint: disable=protected-access
              if a.dest == "fault"][0]
    assert set(faults.FAULTS) | {"list"} == set(action.choices)


@pytest.mark.parametrize("text, expected", [
    ("kube-apiserver active /opt/kubernetes/v1.15.12/bin/kube-apiserver\n"
     "etcd active etcd-3.4.23\n"
     "kube-scheduler activating /opt/kubernetes/v1.16.15/bin/kube-scheduler\n",
     [("kube-apiserver", "active", "v1.15.12"), ("etcd", "active", "etcd-3.4.23"),
      ("kube-scheduler", "activating", "v1.16.15")]),
    ("kubelet inactive \n", [("kubelet", "inactive", "-")]),
    ("garbage\n", []),
])
def test_parse_report(text, expected):
    assert cli.parse_report(text) == expected


def test_up_refuses_unknown_version(monkeypatch, capsys):
    monkeypatch.setattr(cli, "preflight", lambda: None)
    assert cli.main(["up", "--version", "1.15.99"]) == 2
    assert "not built by the lab" in capsys.readouterr().err
