# signalfleet — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV ?= $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
RUN := $(UV) run --frozen --extra embedded
export UV_LINK_MODE ?= copy

.PHONY: help install run test lint typecheck migrate bench chaos services clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(UV):
	python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv

# Bytecode compiled at install: where PYTHONDONTWRITEBYTECODE is set (as on this project's
# machines), every process would otherwise compile SQLAlchemy, Celery and the rest from source
# at each start (about a second of CPU each: a CLI command, a worker, every test's process).
install: $(UV) ## Install the locked dependencies (and the embedded PostgreSQL/Redis) into .venv
	$(UV) sync --frozen --extra embedded --compile-bytecode
	$(RUN) python -m compileall -q domain persistence workers migrations tests >/dev/null

run: install ## Run signalfleet (embedded PostgreSQL/Redis unless URLs are set)
	$(RUN) fleet run

# Two pytest sessions side by side: the suites that run the pipeline's processes and time them
# (e2e, then chaos) in one, never two of them at once; everything else (unit, integration) in
# the other, done within the e2e tests' first minutes, its output printed when it ends. The
# first mostly waits on the processes it runs, so the two cores take both; either failing
# fails the target.
PROCESS_SUITES := tests/e2e tests/chaos

test: install lint typecheck ## Lint, type-check and run the test suite
	@rest=$$(mktemp); trap 'kill $$pid 2>/dev/null; rm -f $$rest' EXIT; \
	$(RUN) pytest tests $(PROCESS_SUITES:%=--ignore=%) >$$rest 2>&1 & pid=$$!; \
	$(RUN) pytest $(PROCESS_SUITES); processes=$$?; \
	wait $$pid; others=$$?; pid=; \
	echo "--- the other tests (unit, integration): pytest tests $(PROCESS_SUITES:%=--ignore=%)"; \
	cat $$rest; \
	exit $$(( processes || others ))

lint: install ## ruff and the import-linter layer contracts
	$(RUN) ruff check .
	$(RUN) lint-imports

# mypy's incremental cache lives outside the tree, so a fresh clone (CI's) re-checks only what
# changed since the last run on this machine (a cold run takes ~26 s, a warm one ~2 s).
export MYPY_CACHE_DIR ?= $(HOME)/.cache/signalfleet/mypy

typecheck: install ## mypy --strict on every source file (domain, persistence, workers)
	$(RUN) mypy

migrate: install ## Upgrade the database to the latest schema
	$(RUN) fleet db upgrade

bench: install ## Benchmarks (writes bench/results.json)
	$(RUN) pytest -m bench tests/bench -p no:cacheprovider -o addopts="" -s -q

chaos: install ## The long chaos runs
	$(RUN) pytest tests/chaos -o addopts="" -m "chaos_long or not chaos_long"

services: ## Start the machine's local PostgreSQL and Redis if they are installed and stopped
	@bash .ci/services.sh

clean: ## Remove caches (keeps var/, the embedded data)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis
