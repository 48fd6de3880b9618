# Tradewatch: `make demo` runs the main job on SQLite, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install demo run test lint bench load load-restart clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/tradewatch demo

run: install
	$(VENV)/bin/tradewatch serve

# Two workers (pytest-xdist), a test file per worker at a time: most of the suite waits on subprocesses and
# sockets, so two workers halve the time even on two cores. TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2

test: install
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile

lint: install
	$(VENV)/bin/ruff check bot commands db tests
	$(VENV)/bin/ruff format --check bot commands db tests
	$(VENV)/bin/mypy

bench: install
	$(PY) -m bench

# 1,000 slash commands and autocompletes from 50 users against one `tradewatch serve` (SQLite, then PostgreSQL).
load: install
	$(PY) -m tests.reliability.load_harness --commands 1000 --users 50

# A real PostgreSQL restart under load and during a sync (root; cuts every client of the local server).
load-restart: install
	$(PY) -m tests.reliability.pg_restart

clean:
	rm -rf $(VENV) var out
