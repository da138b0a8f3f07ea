# Everything installs into .venv; every target bootstraps it first (idempotently).
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint fmt typecheck chat clean venv bench

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "OpsDrill needs Python 3.11 or newer on PATH"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/opsdrill demo

chat: $(STAMP)
	$(BIN)/opsdrill chat

test: lint typecheck
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy bot adapters

# Benchmarks print numbers; they are not tests. PostgreSQL ones need the local service.
bench: $(STAMP)
	$(BIN)/python bench/slack_ack.py
	$(BIN)/python bench/grading_llm.py
	$(BIN)/python bench/fanout.py
	$(BIN)/python bench/leaderboard.py
	$(BIN)/python bench/grading.py

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
