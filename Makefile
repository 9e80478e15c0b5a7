# Entry points. `make test` and `make demo` install what they need first (scripts/setup.sh).
SHELL := /bin/bash
VENV  := .venv
BIN   := $(VENV)/bin
PY    := $(BIN)/python
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# Every tool (ansible-lint, molecule, ansible-playbook) sees the working tree as the collection, never
# a stale copy installed elsewhere (the collections bundled in the venv are found on sys.path).
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.build/collections

# Molecule scenarios run by `make test`: one quoted list per lane; the lanes run side by side, each
# with its own lab (scripts/molecule.sh), the scenarios of a lane one after another. One scenario:
# `make molecule MOLECULE_LANES=nodes`.
MOLECULE_LANES ?= "nodes cm_order default bad_inputs" "control_plane seed_jump" "modern api_removal faults"
# The demo: a lab at DEMO_FROM upgraded to DEMO_TO.
DEMO_FROM ?= 1.14.10
DEMO_TO   ?= 1.15.12

.PHONY: help setup lint sanity unit integration molecule bench-rollout test-fast test demo lab-up lab-down lab-status build bench clean

help:
	@echo "make test       set up, then lint, sanity, unit, integration and Molecule (what CI runs)"
	@echo "make test-fast  lint, sanity and unit tests only"
	@echo "make molecule   the Molecule scenarios on the lab (MOLECULE_LANES=NAME for one)"
	@echo "make demo       bring up a lab cluster at $(DEMO_FROM) and upgrade it to $(DEMO_TO)"
	@echo "make lab-up / lab-down / lab-status"

setup:
	scripts/setup.sh

lint: setup
	$(BIN)/ansible-lint --profile production --offline
	$(PY) scripts/bad_inputs.py check --readme README.md --docs docs/when-something-fails.md

sanity: setup
	scripts/sanity.sh

unit: setup
	$(BIN)/pytest -q tests/unit

integration: setup
	$(BIN)/pytest -q tests/integration

molecule: setup
	scripts/molecule.sh $(MOLECULE_LANES)

# Build the collection tarball and prove it installs offline (kubernetes.core comes from the venv).
build: setup
	rm -rf .build/dist .build/install && mkdir -p .build/dist .build/install
	$(BIN)/ansible-galaxy collection build --output-path .build/dist --force .
	ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/.build/install $(BIN)/ansible-galaxy collection install --offline -p .build/install .build/dist/clusterops-k8s_upgrade-*.tar.gz
	test -f .build/install/ansible_collections/clusterops/k8s_upgrade/plugins/modules/version_skew.py

# Node batch overhead on a 1 + 12 lab (root; brings its own lab up and down, about 12 minutes).
# The node rollout before component_switch and the prepare play (the baseline the figures are compared with).
ROLLOUT_BASELINE ?= 9182ede
# More options for benchmarks/rollout.py, e.g. --repeat 2 or --serial 10.
ROLLOUT_ARGS ?=
bench-rollout: setup
	$(PY) benchmarks/rollout.py --baseline $(ROLLOUT_BASELINE) $(ROLLOUT_ARGS)

bench: setup
	$(PY) benchmarks/skew_plan.py
	$(PY) benchmarks/etcd_snapshot.py
	$(PY) benchmarks/scan_manifests.py

test-fast: lint sanity unit

test: lint sanity unit build integration molecule

demo: setup
	scripts/demo.sh $(DEMO_FROM) $(DEMO_TO)

lab-up: setup
	$(PY) -m lab up

lab-down: setup
	$(PY) -m lab down

lab-status: setup
	$(PY) -m lab status

clean:
	-$(PY) -m lab down
	rm -rf .build tests/output
