# reporunner developer entry points. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.DEFAULT_GOAL := help
.PHONY: help install run test lint format bench clean

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

run: $(STAMP) ## install, migrate and serve API + worker on the embedded defaults
	$(BIN)/reporunner migrate
	$(BIN)/reporunner serve

test: $(STAMP) ## install and run the whole test suite against real Postgres and Redis
	$(BIN)/pytest

lint: $(STAMP) ## ruff + mypy (strict) + layer contracts (lint-imports) + no import cycles
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python scripts/import_cycles.py

format: $(STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP) ## run every bench/ script in --quick mode (figures go to BENCHMARKS.md)
	@set -e; for script in bench/*.py; do \
		[ -e "$$script" ] || continue; \
		echo "== $$script --quick"; $(BIN)/python "$$script" --quick | tail -n 1; \
	done

clean: ## remove the virtualenv and caches (keeps .reporunner data)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
