# The two commands a newcomer needs: `make plan` (offline plan of the dev stack) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV := .venv-checkov/bin/checkov
STACK ?= dev
SYSTEM_PACKAGES := postgresql-15 redis-server openssl nginx-light prometheus prometheus-redis-exporter \
	prometheus-postgres-exporter postgresql-15-pgaudit

.PHONY: setup system n8n plan policy test lint e2e bench dashboard docs mutate clean

$(PY): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(PY)

$(CHECKOV): requirements-checkov.txt
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet -r requirements-checkov.txt
	@touch $(CHECKOV)

# More of the one SYSTEM_PACKAGES list, apart from its first line so additions there merge cleanly (and before the
# rules that use these variables: make expands prerequisites as it reads them).
SYSTEM_PACKAGES += shellcheck  # actionlint checks the workflows' run: scripts with it
SYSTEM_PACKAGES += pgbouncer  # the e2e runs n8n through a real PgBouncer configured as the operator configures its pooler
ACTIONLINT_VERSION := v1.7.12
ACTIONLINT := $(VENV)/bin/actionlint

setup: $(PY) $(CHECKOV) $(ACTIONLINT)  ## Python virtualenvs (program + tests, and checkov apart), actionlint

system:  ## Debian packages the tests use (SYSTEM_PACKAGES, and npm unless one is on PATH); apt only when one is missing
	@missing="$$(for p in $(SYSTEM_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	  | grep -qx 'install ok installed' || echo $$p; done)"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" = 0 ]; then sudo=; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else \
	  echo "make system: missing Debian packages:" $$missing "- run 'sudo make system' (or make test as root)" >&2; \
	  exit 1; fi; \
	echo "make system: installing" $$missing; \
	$$sudo apt-get update -q && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing

$(ACTIONLINT): $(PY)  ## actionlint, built from its Go module (the PyPI wrapper downloads a binary at install time)
	@command -v go >/dev/null || { echo "building actionlint needs Go (https://go.dev/dl)" >&2; exit 1; }
	GOBIN=$(abspath $(VENV)/bin) go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

n8n: $(PY)  ## n8n for the end-to-end test (and the older one the upgrade test starts from), installed once under ~/.cache/n8n-e2e (3 + 8 minutes)
	PYTHONPATH=.:components $(PY) -m tools.testing.e2e.install
	PYTHONPATH=.:components $(PY) -m tools.testing.e2e.install --older

plan: $(PY)  ## Render a stack offline: make plan [STACK=prod]
	PYTHONPATH=.:components $(PY) -m tools.plan --stack $(STACK)

policy: $(PY)  ## The policy pack over the offline plan: make policy [STACK=prod]; exit 1 on a mandatory violation
	PYTHONPATH=.:components $(PY) -m tools.ci.policy_check --stack $(STACK)

test: system setup n8n  ## Every test (installs what they need first): settings, components, gates, policy, workflows, real servers and n8n
	PYTHONPATH=.:components $(PY) -m ruff check .
	PYTHONPATH=.:components $(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: $(PY)
	PYTHONPATH=.:components $(PY) -m ruff check .

e2e: $(PY)  ## Only the real-n8n end-to-end test
	PYTHONPATH=.:components $(PY) -m pytest tests/e2e -m e2e $(PYTEST_ARGS)

bench: $(PY)  ## Queue mode vs single-process n8n: executions/s and webhook latency
	PYTHONPATH=.:components $(PY) -m tools.testing.bench

dashboard: system $(PY) n8n  ## Redraw docs/dashboard.png: every dashboard panel under load and a Redis fault (real n8n, Prometheus); fails on an empty panel
	PYTHONPATH=.:components $(PY) -m tools.testing.e2e.dashboard_preview docs/dashboard.png

docs: $(PY)  ## Regenerate docs/configuration.md, docs/settings.schema.json, components/schema.json and the DR steps of docs/operations.md
	PYTHONPATH=.:components $(PY) -m tools.docs.config_reference > docs/configuration.md
	PYTHONPATH=.:components $(PY) -m tools.docs.settings_schema > docs/settings.schema.json
	PYTHONPATH=.:components $(PY) -m n8n_platform.provider > components/schema.json
	PYTHONPATH=.:components $(PY) -m n8n_platform.disaster_recovery --write docs/operations.md

mutate: $(PY)  ## Mutation testing of the pure builders (tens of minutes): make mutate [MODULE=components/n8n_platform/redis/conf.py]
	PYTHONPATH=.:components nice -n 15 $(PY) -m tools.testing.mutate $(MODULE) $(MUTATE_ARGS)

clean:
	rm -rf build

# The real engine (tools/testing/engine/, README "The real engine"): Pulumi CLI, Python language host, Kubernetes and
# random providers, etcd, Kubernetes control plane and kwok, all built from Go modules and cached by version.
.PHONY: engine engine-cluster engine-cluster-stop engine-test
ENGINE := PYTHONPATH=.:components $(PY) -m tools.testing.engine

engine: $(PY)  ## Build (or reuse) the engine and control-plane binaries under ~/.cache/n8n-engine
	$(ENGINE).build

engine-cluster: engine  ## Start the local control plane on 127.0.0.1 and apply the add-ons' CRDs
	$(ENGINE).cluster start
	$(ENGINE).crds

engine-cluster-stop:  ## Stop exactly the control-plane processes engine-cluster started
	$(ENGINE).cluster stop

engine-test: engine  ## Deploy the local stack through the real engine onto a fresh control plane, then destroy it
	cd tools/testing/engine/go/random && nice -n 10 go test ./...
	PYTHONPATH=.:components $(PY) -m pytest tests/engine -m engine -p no:xdist $(PYTEST_ARGS)
