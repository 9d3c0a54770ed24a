# Two entry points for a fresh machine: `make run` and `make test`.
# Each creates .venv at the repository root and installs what it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test test-all lint bench clean browser reliability

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## baseline Monte Carlo (1000 runs) with its summary table
	$(VENV)/bin/abm run configs/baseline_jan2020.yaml

test: $(STAMP)  ## lint + default test suite (slow tests excluded; the browser test is slow)
	$(VENV)/bin/ruff check abm tests benchmarks
	$(PY) -m pytest -q -m "not slow"

test-all: $(STAMP) browser  ## every test, slow ones included
	$(PY) -m pytest -q

reliability: $(STAMP)  ## the reliability tests (slow ones included, minutes), their tally pasted into docs/RELIABILITY.md
	$(PY) -m tests.reliability --run

bench: $(STAMP)  ## benchmark harness (installs the bench extra: EMA Workbench, pyinstrument)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(PY) -m benchmarks --quick

# Chromium and its driver for the browser test (tests/explore): installed with apt-get when missing and
# apt-get can run (as root, or with password-less sudo). Never fails: without them that test is skipped.
browser:
	@if command -v chromedriver >/dev/null 2>&1 && { command -v chromium || command -v chromium-browser; } >/dev/null 2>&1; then \
	  :; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
	  echo "make browser: no apt-get; the browser test will be skipped (install Chromium and chromedriver yourself)"; \
	else \
	  if [ "$$(id -u)" = 0 ]; then sudo=; elif sudo -n true >/dev/null 2>&1; then sudo="sudo -n"; else sudo=no; fi; \
	  if [ "$$sudo" = no ]; then \
	    echo "make browser: apt-get needs root; the browser test will be skipped (sudo apt-get install chromium chromium-driver)"; \
	  else \
	    echo "make browser: installing chromium and chromium-driver with apt-get (about a minute, once)"; \
	    { $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium chromium-driver; } \
	      >/dev/null 2>&1 || echo "make browser: apt-get could not install them; the browser test will be skipped"; \
	  fi; \
	fi

lint: $(STAMP)
	$(VENV)/bin/ruff check abm tests
	$(VENV)/bin/ruff format --check abm tests

clean:
	rm -rf $(VENV) .pytest_cache
