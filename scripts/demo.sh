#!/usr/bin/env bash
# make demo: bring up a lab cluster at an old release and upgrade it in place with playbooks/upgrade.yml,
# the way an operator would: preflight, a --check rehearsal, then the upgrade. The lab stays up
# afterwards for a look around (`make lab-status`, kubectl --kubeconfig inventories/lab/kubeconfig ...);
# `make lab-down` removes it.
set -euo pipefail
cd "$(dirname "$0")/.."
from=${1:?from version} to=${2:?to version}
playbook=(.venv/bin/ansible-playbook -i inventories/lab/hosts.yml)
# The seed practice: controller-managers stopped until the nodes are done, kubelets upgraded in place
# (a minor in-place kubelet upgrade is accepted explicitly, as every skew exception must be).
vars=(-e "k8s_target_version=$to" -e '{"upgrade_accept": ["kubelet-inplace-minor"]}')

echo "== demo: a fresh lab cluster at $from (3 control-plane hosts, 3 nodes)"
.venv/bin/python -m lab down >/dev/null 2>&1 || true
.venv/bin/python -m lab up --control-plane 3 --nodes 3 --version "$from"
echo "== demo: preflight (plan only)"
"${playbook[@]}" playbooks/preflight.yml "${vars[@]}"
echo "== demo: rehearsal (--check changes nothing)"
"${playbook[@]}" playbooks/upgrade.yml "${vars[@]}" --check
echo "== demo: the upgrade to $to"
"${playbook[@]}" playbooks/upgrade.yml "${vars[@]}"
echo
echo "== demo: done. The report: $(readlink -f reports/latest)/report.html"
echo "== demo: the lab is still up: make lab-status; kubectl --kubeconfig inventories/lab/kubeconfig get nodes; make lab-down"
