#!/usr/bin/env bash
# Links the working tree in as the installed collection clusterops.k8s_upgrade, so ansible.cfg's
# collections_path finds it without a build/install cycle after every edit.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .build/collections/ansible_collections/clusterops
ln -sfn "$PWD" .build/collections/ansible_collections/clusterops/k8s_upgrade
