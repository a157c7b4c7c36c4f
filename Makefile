# The two commands: `make demo` runs the lesson, `make test` runs lint, types, the import
# contracts (pyproject.toml's [tool.importlinter]) and tests.
# Each sets itself up in .venv on first use (and again when pyproject.toml changes).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Extras installed for each target; tests need the dev tools.
DEMO_EXTRAS ?=
TEST_EXTRAS ?= [dev,aeon]

.PHONY: demo test bench fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch's CPU build is pinned and installed first: a loose `torch` requirement would otherwise
# pull a CUDA build of several GB.
$(VENV)/.torch: | $(BIN)/python
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q torch==2.13.0
	touch $@

$(VENV)/.demo: pyproject.toml $(VENV)/.torch
	$(BIN)/python -m pip install -q -e ".$(DEMO_EXTRAS)"
	touch $@

# pygiftparser (the tests' GIFT reader) without its dependencies: its MarkdownSuperscript pins
# Markdown<3.1, which imports the pkg_resources that setuptools no longer ships and so would
# break tensorboard's and anki's Markdown; the parser itself only needs yattag (in [dev]).
$(VENV)/.test: pyproject.toml $(VENV)/.torch
	$(BIN)/python -m pip install -q -e ".$(TEST_EXTRAS)"
	$(BIN)/python -m pip install -q --no-deps pygiftparser==1.1
	touch $@

demo: $(VENV)/.demo
	$(BIN)/rnntrace demo $(ARGS)

test: $(VENV)/.test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(VENV)/.test
	$(BIN)/python benchmarks/run.py $(ARGS)

# Thousands of edited files of every format and run directories: a table of outcomes per format.
fuzz: $(VENV)/.test
	$(BIN)/python benchmarks/fuzz.py $(ARGS)

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache
