# Two commands on a fresh machine with Python 3.11+, git and make: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	rm -rf patron-demo
	$(BIN)/patron demo --dir patron-demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports

test: $(STAMP) lint
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python bench/ingest_throughput.py
	$(BIN)/python bench/generate_scale.py
	$(BIN)/python bench/febrl.py
	$(BIN)/python bench/identity_scale.py
	$(BIN)/python bench/metrics_catalog.py
	$(BIN)/python bench/api_feedback.py
	$(BIN)/python bench/enrich_throughput.py
	$(BIN)/python bench/command_start.py

clean:
	rm -rf $(VENV) patron-demo bench/out .pytest_cache .ruff_cache
