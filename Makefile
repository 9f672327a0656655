# Two commands: `make demo` (set up + run the default job) and `make test` (set up + all checks).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Pure layers are type-checked strictly enough to catch unit and shape slips.
MYPY_PATHS := src/orbemu/time.py src/orbemu/units.py src/orbemu/constants.py \
              src/orbemu/errors.py src/orbemu/orbits src/orbemu/links src/orbemu/network \
              src/orbemu/spacecraft src/orbemu/engine src/orbemu/ground src/orbemu/api

.PHONY: demo test lint typecheck clean bench serve

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

# The web console's browser tests drive Debian's chromium through Playwright (never a browser
# download); installed once, here, when missing. Without it (not root) those tests skip.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	-apt-get install -y -qq chromium >/dev/null 2>&1 || \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

test: lint typecheck $(CHROMIUM)
	$(BIN)/python -m pytest -q

# The web console over the run folders in out/ (after make demo): http://127.0.0.1:8321/
serve: $(VENV)/.demo
	$(BIN)/orbemu serve --runs out

bench: $(VENV)/.test
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
