# The two commands a newcomer needs: `make plan` (offline plan of the dev stack) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV := .venv-checkov/bin/checkov
STACK ?= dev
SYSTEM_PACKAGES := postgresql-15 redis-server openssl

.PHONY: setup system plan test lint e2e bench docs clean

$(PY): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(PY)

$(CHECKOV): requirements-checkov.txt
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet -r requirements-checkov.txt
	@touch $(CHECKOV)

setup: $(PY) $(CHECKOV)  ## Python virtualenvs (program + tests, and checkov apart)

system:  ## Debian packages the real-server tests use (PostgreSQL 15, Redis 7, openssl); needs root
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(SYSTEM_PACKAGES)

plan: $(PY)  ## Render a stack offline: make plan [STACK=prod]
	PYTHONPATH=.:components $(PY) -m tools.plan --stack $(STACK)

test: setup  ## Every test: settings, components, gates (kubernetes-validate, checkov), real servers, real n8n
	PYTHONPATH=.:components $(PY) -m ruff check .
	PYTHONPATH=.:components $(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: $(PY)
	PYTHONPATH=.:components $(PY) -m ruff check .

e2e: $(PY)  ## Only the real-n8n end-to-end test
	PYTHONPATH=.:components $(PY) -m pytest tests/e2e -m e2e $(PYTEST_ARGS)

bench: $(PY)  ## Queue mode vs single-process n8n: executions/s and webhook latency
	PYTHONPATH=.:components $(PY) -m tools.bench

docs: $(PY)  ## Regenerate docs/configuration.md from the settings model
	PYTHONPATH=.:components $(PY) -m tools.config_reference > docs/configuration.md

clean:
	rm -rf build

# The real engine (tools/engine/, README "The real engine"): Pulumi CLI, Python language host, Kubernetes and random
# providers, etcd, Kubernetes control plane and kwok, all built from Go modules and cached by version.
.PHONY: engine engine-cluster engine-cluster-stop engine-test
ENGINE := PYTHONPATH=.:components $(PY) -m tools.engine

engine: $(PY)  ## Build (or reuse) the engine and control-plane binaries under ~/.cache/n8n-engine
	$(ENGINE).build

engine-cluster: engine  ## Start the local control plane on 127.0.0.1 and apply the add-ons' CRDs
	$(ENGINE).cluster start
	$(ENGINE).crds

engine-cluster-stop:  ## Stop exactly the control-plane processes engine-cluster started
	$(ENGINE).cluster stop

engine-test: engine  ## Deploy the local stack through the real engine onto a fresh control plane, then destroy it
	cd tools/engine/go/random && nice -n 10 go test ./...
	PYTHONPATH=.:components $(PY) -m pytest tests/engine -m engine -p no:xdist $(PYTEST_ARGS)
