# CR Assistant platform — `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

$(INSTALLED): pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python >= 3.11 is needed"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,test,bench]'
	@touch $(INSTALLED)

.PHONY: help install run test test-tools lint fmt migrate seed bench soak

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: $(INSTALLED) ## Create .venv and install the project with its test and benchmark tools (the suite runs every bench section once)

run: $(INSTALLED) ## Start PostgreSQL, migrate, seed demo data and run every service (Ctrl-C stops)
	$(PY) -m devstack.stack run

# The suite's files are spread over one pytest worker per core (pytest-xdist; a file's tests stay
# on one worker, so its module fixtures start once); each worker starts its own PostgreSQL and
# platform processes on free ports. TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= auto

test: $(INSTALLED) test-tools ## Lint, then the whole test suite against real PostgreSQL with coverage (and its 15 slowest tests)
	$(PY) -m ruff check .
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --cov --cov-report=term --cov-fail-under=80 --durations=15 $(PYTEST_ARGS)

# What the suite needs beyond Python (the README's "Running the tests" lists each with its install
# command; .ci/run installs them on a fresh machine): say what is missing before a 20-minute run
# fails on it, and bring the test OpenID provider's npm packages.
test-tools: ## Check Chromium, redis-server and Node.js for the tests; install the test OpenID provider
	@missing=""; \
	command -v chromium >/dev/null || command -v chromium-browser >/dev/null || missing="$$missing chromium"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v node >/dev/null && command -v npm >/dev/null || missing="$$missing nodejs(>=20.19)+npm"; \
	if [ -n "$$missing" ]; then echo "make test needs:$$missing (README.md, Running the tests)"; exit 1; fi
	@test -d tests/oidc_provider/node_modules || npm ci --prefix tests/oidc_provider --no-audit --no-fund --loglevel=error

lint: $(INSTALLED) ## ruff lint and format check
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

fmt: $(INSTALLED) ## Format the code with ruff
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

migrate: $(INSTALLED) ## Apply pending migrations (DATABASE_URL, or the running embedded server)
	$(PY) -m devstack.stack migrate

seed: $(INSTALLED) ## Load synthetic analyses through the import path (SIZE=small|medium|large; works beside make run)
	$(PY) -m flask --app persistence_svc seed --size $(or $(SIZE),small)

bench: $(INSTALLED) ## Run the benchmarks and write docs/benchmarks.md
	$(PY) -m bench.run $(BENCH_ARGS)

soak: $(INSTALLED) ## 2 minutes of mixed traffic at 200 req/s (docs/benchmarks.md), property tests at 10x examples
	$(PY) -m bench.soak $(SOAK_ARGS)
	HYPOTHESIS_PROFILE=soak $(PY) -m pytest tests/properties
