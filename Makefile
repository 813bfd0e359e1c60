# contract-operator — developer entry points. `make demo` and `make test` are all a new user needs.
SHELL := bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
PYTEST_ARGS ?=

.PHONY: help install test unit integration lint typecheck demo demo-down testbed-up testbed-down bench image mutate

help:
	@echo "make demo        bring up the local testbed, run the operator, apply examples, show kubectl get nc"
	@echo "make test        install into $(VENV), bring up the real testbed, run every test"
	@echo "make unit        fast unit tests only (no testbed)"
	@echo "make lint        ruff + mypy"
	@echo "make bench       operator benchmark (prints figures)"
	@echo "make mutate      mutation testing of core/, model/, adapters/ against the unit suite"
	@echo "make image       build the operator image (docker, or podman with a local Debian base)"
	@echo "make demo-down   stop the demo operator and the testbed"
	@echo "make graph-picture  redraw docs/demo-graph.svg/.png from the running demo (needs Graphviz)"

# Idempotent: re-installs only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e '.[test,dev]'
	@touch $@

install: $(VENV)/.installed

# The testbed builds (Kubernetes, etcd, Kafka; first run only, ~8 min) and the image (first run
# ~5 min) happen here, visibly, not inside a test timeout.
# pytest exit code 5 ("no tests collected", e.g. with a -k filter) is not a failure.
test: install
	hack/testbed.sh build
	hack/image.sh build >/dev/null
	$(VENV)/bin/pytest $(PYTEST_ARGS); rc=$$?; [ $$rc -eq 5 ] && rc=0; exit $$rc

unit: install
	$(VENV)/bin/pytest -m "not integration" $(PYTEST_ARGS); rc=$$?; [ $$rc -eq 5 ] && rc=0; exit $$rc

integration: install
	hack/testbed.sh build
	hack/image.sh build >/dev/null
	$(VENV)/bin/pytest -m integration $(PYTEST_ARGS); rc=$$?; [ $$rc -eq 5 ] && rc=0; exit $$rc

lint: install
	$(VENV)/bin/ruff check operator tests
	$(VENV)/bin/ruff format --check operator tests
	$(VENV)/bin/mypy

demo: install
	hack/demo.sh up

demo-down:
	hack/demo.sh down

# The README's picture of the demo fleet. Needs `make demo` running and Graphviz (`dot`, Debian
# package graphviz). Provisions the router's old contract first, so the topic it left behind
# is on the broker (idempotent), then draws the cluster's NodeContracts in namespace demo.
.PHONY: graph-picture
graph-picture: install
	@command -v dot >/dev/null || { echo "graph-picture needs Graphviz: apt-get install graphviz" >&2; exit 1; }
	eval "$$(hack/testbed.sh env)" && \
	  $(VENV)/bin/contract-operator provision docs/demo/old-router.yaml >/dev/null && \
	  $(VENV)/bin/contract-operator graph -n demo --format dot -o docs/demo-graph.dot
	dot -Tsvg docs/demo-graph.dot -o docs/demo-graph.svg
	dot -Tpng -Gdpi=110 docs/demo-graph.dot -o docs/demo-graph.png

testbed-up: install
	@hack/testbed.sh up

testbed-down:
	hack/testbed.sh down

bench: install
	hack/testbed.sh build
	$(PY) hack/bench.py
	$(PY) hack/bench_rules.py
	$(PY) hack/bench_admission.py
	$(PY) hack/bench_pod.py

image:
	hack/image.sh build

# Mutation testing (mutmut) against the unit suite; prints the figures and surviving mutants.
# MUTATE_PACKAGES="core" narrows it (the whole run takes long on few CPUs).
MUTATE_PACKAGES ?=
mutate: install
	hack/mutate.sh $(MUTATE_PACKAGES)
