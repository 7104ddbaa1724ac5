# paperbrief — every target sets up .venv first (idempotent: re-runs only when pyproject.toml changes).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
SHARED ?= ../shared
FILES  ?= $(SHARED)/seeds

.PHONY: setup run test test-fast lint typecheck check bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "Installing paperbrief and its dependencies (the first time compiles llama-cpp-python: ~8 min on 2 cores)…"
	$(BIN)/python -m pip install --quiet --progress-bar off -e '.[dev]'
	@touch $(STAMP)

BRIEF  ?= brief.md

## The main job: ingest FILES (default: the seed pages), then write the weekly brief of the
## newest listed week to BRIEF (default brief.md).
run: setup
	$(BIN)/paperbrief ingest $(FILES)
	$(BIN)/paperbrief brief --out $(BRIEF)
	@echo "wrote $(BRIEF)"

## The test suite, exactly as CI runs it.
test: setup
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy agent store evals

check: lint typecheck test

## Speed and quality measurements; writes BENCHMARKS.md.
bench: setup
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
