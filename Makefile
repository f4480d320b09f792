# Two commands matter: `make demo` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
LOCALES := locales
DOMAIN  := messages

.PHONY: demo test lint install install-dev catalogs messages bench run clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(BIN)/python -c 'import bot.cli'
	@touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Compiled .mo catalogs are build output: never in git, always rebuilt here.
catalogs: $(VENV)/.installed
	$(BIN)/pybabel -q compile -d $(LOCALES) -D $(DOMAIN)

# For developers: re-extract the strings and merge them into both catalogs.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k __ -k N_ --no-location --sort-output \
		-o $(LOCALES)/$(DOMAIN).pot bot handlers services
	$(BIN)/pybabel update -i $(LOCALES)/$(DOMAIN).pot -d $(LOCALES) -D $(DOMAIN) --no-fuzzy-matching --ignore-obsolete

demo: catalogs
	$(BIN)/hoso demo $(DEMO_ARGS)

# The suite runs on every core (pytest-xdist); PYTEST_ARGS= runs it in one process.
PYTEST_ARGS ?= -n auto

# The house's rules (ARCHITECTURE.md): pyflakes, import order and complexity (ruff), types (mypy); the import
# contract is a test (tests/test_architecture.py).
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/mypy

test: install-dev catalogs lint
	$(BIN)/pytest --durations=20 $(PYTEST_ARGS)

bench: install-dev catalogs
	$(BIN)/python -m bench

run: catalogs
	$(BIN)/hoso run

clean:
	rm -rf $(VENV) .pytest_cache hoso-files
	find $(LOCALES) -name '*.mo' -delete
