PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

export TF_CPP_MIN_LOG_LEVEL ?= 2
export KERAS_BACKEND := tensorflow

.PHONY: demo test test-slow bench mutate clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -q -m "not slow" tests

# The tests marked slow (worker processes, wheels, whole exports): CI runs them after `make test`.
test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow tests

# Corpora for the training benchmark: RNNZOO_DATA from the environment or `make bench RNNZOO_DATA=DIR`.
bench: $(STAMP)
	$(PY) benchmarks/run_all.py $(if $(RNNZOO_DATA),--data-dir "$(RNNZOO_DATA)") --out benchmarks/RESULTS.md

# Mutation testing of the core modules (about an hour on 2 cores; not part of `make test`).
mutate: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,mutate]'
	$(PY) benchmarks/mutate.py

clean:
	rm -rf $(VENV) build dist *.egg-info
