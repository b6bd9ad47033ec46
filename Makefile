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

# one BLAS thread: the suite's matrices are small, and on a busy 2-core machine idle BLAS
# threads spinning against each other slow small products down many times over
test: lint
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
