PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: console run test test-sqlite test-postgres lint bench clean messages

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(VENV)/bin/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(STAMP): $(VENV)/bin/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

console: $(VENV)/.installed
	$(BIN)/python -m bot console --offline

run: $(VENV)/.installed
	$(BIN)/python -m bot run

# The whole suite on SQLite, then again on a throwaway PostgreSQL server (needs PostgreSQL's
# binaries: Debian's `postgresql` package; .ci/run installs it when missing).
test: test-sqlite test-postgres

test-sqlite: $(STAMP)
	$(BIN)/python -m pytest

test-postgres: $(STAMP)
	TEST_DATABASE=postgres $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q tests/test_layers.py

bench: $(STAMP)
	for script in benchmarks/[!_]*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# After changing what the bot says: the template from the code, then the Chinese catalogue from it
# (new strings empty, changed ones marked fuzzy until a translator confirms them).
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ --add-location=file --sort-output --no-wrap \
		--project=paper-digest-bot -o bot/locales/messages.pot .
	$(BIN)/pybabel update -i bot/locales/messages.pot -d bot/locales -l zh --ignore-obsolete --no-wrap
