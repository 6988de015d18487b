# reporunner developer entry points. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.DEFAULT_GOAL := help
.PHONY: help install web run test lint format bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# CPU torch first (a bare `torch` from a resolver pulls a multi-GB CUDA build)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP) ## create .venv and install reporunner with its dev tools

# The web app (web/, Vite) is built into web/dist when its sources are newer than the last build
# (web/dist/index.html is the stamp); without Node >= 20 on PATH the API runs without it.
WEB_INDEX := web/dist/index.html
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) \
	$(wildcard web/package.json web/package-lock.json web/index.html web/vite.config.* web/tsconfig*.json)
NODE ?= node
NODE_OK := $(shell $(NODE) -e 'process.exit(parseInt(process.versions.node) >= 20 ? 0 : 1)' >/dev/null 2>&1 && echo yes)

web: ## build the web app into web/dist when its sources changed (needs Node >= 20)
ifeq ($(NODE_OK),yes)
	@if [ -f web/package.json ]; then $(MAKE) --no-print-directory $(WEB_INDEX); \
	else echo "web: no web/package.json, nothing to build"; fi
else
	@echo "web: Node >= 20 is not on PATH; skipping the web app build (the API runs without it)"
endif

$(WEB_INDEX): $(WEB_SOURCES)
	cd web && npm ci --no-audit --no-fund && npm run build
	touch $(WEB_INDEX)

run: $(STAMP) web ## install, build the web app, migrate and serve API + worker + app at /
	$(BIN)/reporunner migrate
	$(BIN)/reporunner serve

test: $(STAMP) web ## install and run the whole test suite against real Postgres and Redis
	$(BIN)/pytest

lint: $(STAMP) ## ruff + mypy (strict); ESLint and tsc --noEmit in web/ when Node is there
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
ifeq ($(NODE_OK),yes)
	@if [ -f web/package.json ]; then \
		[ -d web/node_modules ] || (cd web && npm ci --no-audit --no-fund); \
		cd web && npm run lint && npm run typecheck; \
	fi
else
	@echo "lint: Node >= 20 is not on PATH; skipping ESLint and tsc in web/"
endif

format: $(STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP) ## run every bench/ script in --quick mode (figures go to BENCHMARKS.md)
	@set -e; for script in bench/*.py; do \
		[ -e "$$script" ] || continue; \
		echo "== $$script --quick"; $(BIN)/python "$$script" --quick | tail -n 1; \
	done

clean: ## remove the virtualenv and caches (keeps .reporunner data)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
