# paperbrief — every target sets up .venv first (idempotent: re-runs only when pyproject.toml changes).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
SHARED ?= ../shared
FILES  ?= $(SHARED)/seeds

.PHONY: setup run test test-fast lint typecheck check bench clean rebuild-llm doctor

## llama-cpp-python is always compiled here, with the CPU features chosen explicitly: an
## x86-64-v3 baseline (AVX2, FMA, F16C, BMI2) that runs on any AVX2 CPU and never uses
## AVX-512 or AMX (ggml's AMX kernels fault with SIGILL on some VMs). `NATIVE=1` opts into
## -march=native instead: faster on this CPU, but the venv may crash on any other one.
LLAMA_SPEC     ?= llama-cpp-python[server]>=0.3.7
LLAMA_PORTABLE  = -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
                  -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
ifeq ($(NATIVE),1)
LLAMA_CMAKE_ARGS = -DGGML_NATIVE=ON
else
LLAMA_CMAKE_ARGS = $(LLAMA_PORTABLE)
endif
## tests/test_portable_build.py reads this marker: a native build may report AVX-512.
LLAMA_MARK = $(if $(filter 1,$(NATIVE)),touch,rm -f) $(VENV)/.llama-native
## --no-binary: build from source so CMAKE_ARGS apply; --no-cache-dir: never reuse a wheel
## that pip cached from an earlier (possibly native) build.
LLAMA_PIP = CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" FORCE_CMAKE=1 $(BIN)/python -m pip install --quiet \
            --progress-bar off --no-cache-dir --no-binary llama-cpp-python

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "Installing llama-cpp-python (the first time compiles it: ~8 min on 2 cores)…"
	$(LLAMA_PIP) '$(LLAMA_SPEC)'
	@$(LLAMA_MARK)
	@echo "Installing paperbrief and its dependencies…"
	$(BIN)/python -m pip install --quiet --progress-bar off -e '.[dev]'
	@touch $(STAMP)

## Recompile llama-cpp-python (same version, portable flags; NATIVE=1 for -march=native).
rebuild-llm: setup
	@version=$$($(BIN)/python -c "import importlib.metadata as m; print(m.version('llama_cpp_python'))"); \
	echo "Recompiling llama-cpp-python $$version with CMAKE_ARGS=$(LLAMA_CMAKE_ARGS) (~8 min on 2 cores)…"; \
	$(LLAMA_PIP) --force-reinstall --no-deps "llama-cpp-python==$$version"
	@$(LLAMA_MARK)
	$(BIN)/python -c "import llama_cpp; print(llama_cpp.llama_print_system_info().decode())"

## Check the install, the model, the index and the endpoints; one line per check.
doctor: setup
	$(BIN)/paperbrief doctor

BRIEF  ?= brief.md

## The main job: ingest FILES (default: the seed pages), then write the weekly brief of the
## newest listed week to BRIEF (default brief.md).
run: setup
	$(BIN)/paperbrief ingest $(FILES) || { echo "ingest failed: run $(BIN)/paperbrief doctor to see what is wrong"; exit 1; }
	$(BIN)/paperbrief brief --out $(BRIEF) || { echo "brief failed: run $(BIN)/paperbrief doctor to see what is wrong"; exit 1; }
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
