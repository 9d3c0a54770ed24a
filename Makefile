# Two entry points for a fresh machine: `make run` and `make test`.
# Each creates .venv at the repository root and installs what it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test test-all lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## baseline Monte Carlo (1000 runs) with its summary table
	$(VENV)/bin/abm run configs/baseline_jan2020.yaml

test: $(STAMP)  ## lint + default test suite (slow tests excluded)
	$(VENV)/bin/ruff check abm tests benchmarks
	$(PY) -m pytest -q -m "not slow"

test-all: $(STAMP)  ## every test, slow ones included
	$(PY) -m pytest -q

bench: $(STAMP)  ## benchmark harness (installs the bench extra: EMA Workbench, pyinstrument)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(PY) -m benchmarks --quick

lint: $(STAMP)
	$(VENV)/bin/ruff check abm tests
	$(VENV)/bin/ruff format --check abm tests

clean:
	rm -rf $(VENV) .pytest_cache
