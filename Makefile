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

.PHONY: help install run test lint fmt migrate seed bench soak

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: $(INSTALLED) ## Create .venv and install the project with its test and benchmark tools (the suite runs every bench section once)

run: $(INSTALLED) ## Start PostgreSQL, migrate, seed demo data and run every service (Ctrl-C stops)
	$(PY) -m devstack.stack run

test: $(INSTALLED) ## Lint, then the whole test suite against real PostgreSQL with coverage
	$(PY) -m ruff check .
	$(PY) -m pytest --cov --cov-report=term --cov-fail-under=80 $(PYTEST_ARGS)

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
