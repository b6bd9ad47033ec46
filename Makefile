# Two commands do all the set-up on a fresh machine with only Python:
#   make demo   create .venv, install bprop, train on handwritten digits
#   make test   install the test tools, lint, and run the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint install clean

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
	$(BIN)/ruff check bprop tests bench examples
	$(BIN)/ruff format --check bprop tests bench examples

test: lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
