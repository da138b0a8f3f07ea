# Everything installs into .venv; every target bootstraps it first (idempotently).
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check

.PHONY: demo test lint fmt typecheck chat clean venv bench lock

# The exact versions CI and the image use come from the lock files; pyproject.toml keeps the
# ranges a library user installs against.
$(STAMP): pyproject.toml requirements-dev.lock
	@test -n "$(PYTHON)" || { echo "OpsDrill needs Python 3.11 or newer on PATH"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -r requirements-dev.lock
	$(PIP) install --no-deps --no-build-isolation -e .
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/opsdrill demo

chat: $(STAMP)
	$(BIN)/opsdrill chat

# The suite runs in parallel (pytest-xdist): most of its time is spent waiting on real
# processes, sockets and databases. `make test TEST_WORKERS=0` runs it in one process.
TEST_WORKERS ?= 4
test: lint typecheck
	$(BIN)/pytest -n $(TEST_WORKERS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy bot adapters

# Benchmarks print numbers; they are not tests. PostgreSQL ones need the local service.
bench: $(STAMP)
	$(BIN)/python bench/slack_ack.py
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/grading_llm.py
	$(BIN)/python bench/fanout.py
	$(BIN)/python bench/leaderboard.py
	$(BIN)/python bench/grading.py

# Re-pin after changing dependencies in pyproject.toml: what is pinned stays unless it must move;
# `make lock LOCK_FLAGS=--upgrade` moves everything to the newest allowed versions.
LOCK := $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --quiet \
	--custom-compile-command "make lock" $(LOCK_FLAGS)
lock: $(STAMP)
	$(LOCK) -o requirements.lock
	$(LOCK) --extra dev -c requirements.lock -o requirements-dev.lock

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
