# reviewapp: `make run` to try it with demo data, `make test` to run the suite.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
FLASK = $(BIN)/flask --app app
SECRET = instance/secret_key
HOST ?= 127.0.0.1
PORT ?= 5000
# pip's progress, one line per package it fetches, and its errors; not the warnings that a
# pip config naming an absent index folder repeats once per package.
PIP_SHOWN = ^(Collecting|Installing collected|Successfully installed|ERROR)

.PHONY: install run test bench lint e2e db-check check

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@echo "Installing into $(VENV) (about a minute and a half the first time)..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --quiet --upgrade pip
	@{ $(BIN)/pip install -e ".[dev]" 2>&1; echo $$? > $(VENV)/.pip-status; } \
		| grep -E --line-buffered '$(PIP_SHOWN)' | sed -u 's/^/  /' || true
	@exit $$(cat $(VENV)/.pip-status)
	touch $@
	@echo "Installed."

$(SECRET):
	mkdir -p instance
	$(PYTHON) -c 'import secrets; print(secrets.token_hex(32))' > $@

run: install $(SECRET)
	REVIEWAPP_SECRET_KEY=$$(cat $(SECRET)) $(FLASK) db upgrade
	REVIEWAPP_SECRET_KEY=$$(cat $(SECRET)) $(FLASK) demo --url http://$(HOST):$(PORT)
	@# The job worker runs beside the server; Ctrl+C (or the server's exit) stops both.
	@REVIEWAPP_SECRET_KEY=$$(cat $(SECRET)) $(FLASK) worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	REVIEWAPP_SECRET_KEY=$$(cat $(SECRET)) $(FLASK) run --host $(HOST) --port $(PORT)

test: install
	$(BIN)/pytest

e2e: install
	$(BIN)/pytest tests/e2e

bench: install
	$(BIN)/python bench/run.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Migrations build the whole schema on an empty database and match the models.
db-check: install
	rm -f /tmp/reviewapp-db-check.db
	REVIEWAPP_SECRET_KEY=check REVIEWAPP_DATABASE_URL=sqlite:////tmp/reviewapp-db-check.db $(FLASK) db upgrade
	REVIEWAPP_SECRET_KEY=check REVIEWAPP_DATABASE_URL=sqlite:////tmp/reviewapp-db-check.db $(FLASK) db check

# Before pushing: lint, migrations, then the whole suite.
check: lint db-check test
