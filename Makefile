# kafkalab's tasks. `make` alone lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The local test images stand in for the public ones: see tests/bed/images.env.
WITH_BED_IMAGES := set -a && . tests/bed/images.env && set +a &&

.PHONY: help venv node bed registry images up status down test unit lint docs bench clean

help: ## List the tasks
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(BIN)/kafkalab: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	@# Bytecode now: with PYTHONDONTWRITEBYTECODE set, every run would compile kafkalab again.
	$(BIN)/python -m compileall -q kafkalab
	@touch $@

venv: $(BIN)/kafkalab ## Create .venv with kafkalab and its dev tools

# The Node.js clients of the e2e tests (kafkajs, @kafkajs/confluent-schema-registry), exactly as the lock file has them.
tests/node/node_modules/.package-lock.json: tests/node/package.json tests/node/package-lock.json
	npm ci --prefix tests/node --no-audit --no-fund --ignore-scripts
	@touch $@

node: tests/node/node_modules/.package-lock.json ## Install the Node.js clients the e2e tests run (npm ci)

bed: ## Make Docker Engine, Compose v2 and the local registries answer (as root; does nothing when they do)
	tests/bed/provision

registry: ## Only the local registries: 127.0.0.1:5555 open, :5556 with auth (see tests/bed/registry.env)
	tests/bed/registry

images: bed ## Build the local test images and push them into the local registries (unchanged ones are kept)
	tests/bed/build-images
	tests/bed/push-images

up: venv images ## Start the lab on the local images and wait until it is ready
	$(WITH_BED_IMAGES) $(BIN)/kafkalab up

status: venv ## Show the lab's health
	$(WITH_BED_IMAGES) $(BIN)/kafkalab status

down: venv ## Stop the lab and delete its data
	$(WITH_BED_IMAGES) $(BIN)/kafkalab down --volumes --yes

lint: venv ## ruff and mypy --strict
	$(BIN)/ruff check kafkalab tests bench docs
	$(BIN)/mypy

docs: venv ## Write docs/commands.md from the commands' own help (a unit test fails while it is stale)
	$(BIN)/python docs/generate.py

unit: venv ## Only the unit tests (no Docker)
	$(BIN)/pytest -m "not e2e and not bed"

test: venv node images lint ## Every test: unit, test bed and end to end, on the real bed
	$(WITH_BED_IMAGES) $(BIN)/pytest

bench: venv images ## The benchmarks in bench/ (figures, not tests)
	$(WITH_BED_IMAGES) for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean: ## Remove the venv and caches
	rm -rf $(VENV) dist build .mypy_cache .ruff_cache
