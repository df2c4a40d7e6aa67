# Two commands: `make run` starts the product on its embedded default; `make test` runs the suite.
# Both create .venv from pyproject.toml on a fresh clone (Python 3.11 and make are all they need).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000

.PHONY: run test venv bench judge-eval clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	PORT=$(PORT) $(PY) -m loreos.run

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m benchmarks.run

# The judge's face measure over every pair of the face corpus (docs/judge.md).
judge-eval: $(STAMP)
	$(PY) -m benchmarks.judge_eval

clean:
	rm -rf $(VENV) var test-artifacts
