# The two set-up commands in the README are `make demo` and `make test`; every other target
# here is a step they depend on. Both work on a fresh machine with python3 (3.11+) and npm.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
AZURITE_VERSION := 3.35.0
AZURITE := .azurite/node_modules/.bin/azurite

.PHONY: demo test check lint typecheck pytest bench format clean

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

$(AZURITE):
	mkdir -p .azurite
	npm install --prefix .azurite --no-save --no-audit --no-fund --loglevel=error \
		azurite@$(AZURITE_VERSION)

demo: $(BIN)/.installed $(AZURITE)
	$(BIN)/dicomidx demo

test: check pytest

check: lint typecheck

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy

pytest: $(BIN)/.installed $(AZURITE)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(BIN)/.installed $(AZURITE)
	$(BIN)/python benchmarks/run.py

format: $(BIN)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .azurite .mypy_cache .ruff_cache .pytest_cache
