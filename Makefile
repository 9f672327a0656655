# Two commands: `make demo` (set up + run the default job) and `make test` (set up + all checks).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Pure layers are type-checked strictly enough to catch unit and shape slips.
MYPY_PATHS := src/orbemu/time.py src/orbemu/units.py src/orbemu/constants.py \
              src/orbemu/errors.py src/orbemu/orbits src/orbemu/links src/orbemu/network \
              src/orbemu/spacecraft src/orbemu/engine src/orbemu/ground

.PHONY: demo test lint typecheck clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.demo: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[all]'
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.demo

# The default scenario (orbemu run): a run folder out/atacama-edge with its telemetry.sqlite.
# The passes/ephemeris tour stays available as `orbemu demo --out out`.
demo: $(VENV)/.demo
	rm -rf out/atacama-edge
	$(BIN)/orbemu run --out out/atacama-edge

lint: $(VENV)/.test
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/lint-imports

typecheck: $(VENV)/.test
	$(BIN)/mypy $(MYPY_PATHS)

test: lint typecheck
	$(BIN)/python -m pytest -q

bench: $(VENV)/.test
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
