# Two commands do all the set-up on a fresh machine with only Python:
#   make demo   create .venv, install bprop, train on handwritten digits
#   make test   install the test tools, lint, and run the test suite
#   make docs   build the documentation site into site/ (MkDocs, warnings are errors)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint install docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/python -m bprop.demo

lint: install
	$(BIN)/ruff check bprop tests bench examples docs
	$(BIN)/ruff format --check bprop tests bench examples docs

test: lint
	$(BIN)/python -m pytest

$(VENV)/.docs-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	touch $@

# the API reference is read from the docstrings; docs/hooks.py draws the guide's figures
docs: $(VENV)/.docs-installed
	$(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache site
