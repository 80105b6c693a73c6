# The two set-up commands of the README. Each creates .venv on first use, installs the package
# with the torch family pinned by constraints.txt, then runs. Nothing else needs to be installed.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTHON ?= python3

.PHONY: test demo lint install

LM_EVAL_VERSION ?= 0.4.13

$(STAMP): pyproject.toml constraints.txt requirements-test.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt -e ".[dev,trl]"
	# test-only: lm-eval's result schema + make_table check our results.json (see requirements-test.txt)
	$(PY) -m pip install -q -c constraints.txt --no-deps lm-eval==$(LM_EVAL_VERSION)
	$(PY) -m pip install -q -c constraints.txt -r requirements-test.txt
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(VENV)/bin/ruff check .
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q -m "not gpu" $(PYTEST_ARGS)

demo: $(STAMP)
	HF_HUB_OFFLINE=1 $(VENV)/bin/maple-bench demo $(DEMO_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy maple_bench evaluators annotation leaderboards
