#!/usr/bin/env bash
# Run Molecule scenarios, optionally in lanes side by side.
#
#   scripts/molecule.sh "default control_plane" "nodes seed_jump"   # two lanes
#   scripts/molecule.sh "default control_plane nodes"               # one lane, in this checkout
#
# Each argument is one lane: its scenarios run one after another. With one lane the scenarios run in
# this checkout with this shell's LAB_ID. With several, lane N runs in its own copy of the checkout
# under .build/lanes/laneN (the lab keeps its state and generated inventory in the checkout) with
# LAB_ID=N (its own bridge and subnet), so the labs never meet; MOLECULE_LAB_ID_BASE=B shifts them
# to B, B+1, ... when other labs already use the low ids. The upgrade runs spend most of their
# time waiting on restarts and readiness, which is why two lanes fit on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if [ $# -eq 0 ]; then
    echo "usage: $0 'SCENARIO...' ['SCENARIO...' ...]  (one quoted list per lane)" >&2
    exit 2
fi

run_lane() {  # run_lane DIR SCENARIO...
    local dir=$1
    shift
    (
        cd "$dir"
        export ANSIBLE_COLLECTIONS_PATH=$PWD/.build/collections ANSIBLE_CONFIG=$PWD/ansible.cfg
        for scenario in "$@"; do
            start=$(date +%s)
            echo "== molecule $scenario (LAB_ID=${LAB_ID:-0}) starts"
            if ! "$root/.venv/bin/molecule" test -s "$scenario"; then
                echo "== molecule $scenario FAILED after $(( $(date +%s) - start )) s"
                exit 1
            fi
            echo "== molecule $scenario passed in $(( $(date +%s) - start )) s"
        done
    )
}

if [ $# -eq 1 ]; then
    # shellcheck disable=SC2086  # the lane is a space-separated list of scenario names
    run_lane "$root" $1
    exit
fi

pids=()
logs=()
lane=0
base=${MOLECULE_LAB_ID_BASE:-1}
for scenarios in "$@"; do
    lane=$((lane + 1))
    dir=$root/.build/lanes/lane$lane
    mkdir -p "$dir"
    # A copy of the tracked and new files; never the venv, the build tree, lab state or reports.
    rsync -a --delete --exclude=/.git --exclude=/.venv --exclude=/.build --exclude=/lab/.state \
        --exclude=/reports --exclude='/inventories/lab/*.yml' --exclude=/inventories/lab/kubeconfig \
        --exclude='/inventories/lab/*.key*' --exclude=__pycache__ "$root/" "$dir/"
    ln -sfn "$root/.venv" "$dir/.venv"
    "$dir/scripts/dev-collection.sh"
    logs+=("$dir.log")
    # shellcheck disable=SC2086
    LAB_ID=$((base + lane - 1)) run_lane "$dir" $scenarios >"$dir.log" 2>&1 &
    pids+=($!)
    echo "== lane $lane (LAB_ID=$((base + lane - 1))): $scenarios; log $dir.log"
done

failed=0
for i in "${!pids[@]}"; do
    if wait "${pids[$i]}"; then
        grep '^== molecule' "${logs[$i]}"
    else
        failed=1
        echo "== lane $((i + 1)) failed; the end of ${logs[$i]}:"
        tail -n 150 "${logs[$i]}"
    fi
done
exit $failed
