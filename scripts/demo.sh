#!/usr/bin/env bash
# make demo: bring up a lab cluster at an old version and upgrade it with playbooks/upgrade.yml.
set -euo pipefail
cd "$(dirname "$0")/.."
from=${1:?from version} to=${2:?to version}
if [ ! -f lab/__main__.py ] || [ ! -f playbooks/upgrade.yml ]; then
  echo "demo: the rehearsal lab (lab/) or playbooks/upgrade.yml is not built yet; see the open issues." >&2
  echo "demo: nothing was started and nothing changed." >&2
  exit 2
fi
.venv/bin/python -m lab up --control-plane 3 --nodes 3 --version "$from"
.venv/bin/ansible-playbook -i inventories/lab/hosts.yml playbooks/upgrade.yml -e "target_version=$to"
