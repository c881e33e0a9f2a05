# Two commands on a fresh machine: `make run` (the whole pipeline) and `make test`.
# Each creates .venv and installs the pinned versions first if they are missing.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: run test install study clean-venv

run: $(STAMP)
	-python -m pokegan.plan   # what will run, and a time estimate measured on this machine (never blocks the run)
	dvc repro

test: $(STAMP)
	pytest

# The study's variants at the study's scale: the same stages on study/params.yaml, in a DVC
# project of its own (study/); ~19 hours on a 2-core CPU (docs/budgets.md), resumable (rerun to continue).
study: $(STAMP)
	-cd study && python -m pokegan.plan
	cd study && dvc repro

install: $(STAMP)

# Exact versions of every package, torch included, come from requirements.lock (pyproject.toml
# holds the ranges); the package itself is installed editable, without resolving again.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock  # compiles .pyc now: with PYTHONDONTWRITEBYTECODE set, imports would compile from source every time
	$(BIN)/python -m pip install -q --no-deps -e .
	@test -d .dvc || (echo "error: .dvc/ missing — run from the repository root of a git clone" && exit 1)
	touch $(STAMP)

clean-venv:
	rm -rf $(VENV)
