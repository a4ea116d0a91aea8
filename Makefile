# Keepwell: `make run` runs the whole system locally on moto; `make test` runs every test.
# Both build their own virtualenvs from nothing (only python3.11 and make are needed).
PYTHON ?= python3.11
VENV := .venv
SAM_VENV := .venv-sam
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAM_STAMP := $(SAM_VENV)/.installed

CHROMIUM := /usr/bin/chromium

.PHONY: run test recalc lint gates typecheck sam-build clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip<26.3"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

# The SAM CLI pins boto3 and pydantic exactly, so it lives in its own environment.
$(SAM_STAMP):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade "pip<26.3"
	$(SAM_VENV)/bin/python -m pip install --quiet "aws-sam-cli==1.170.0"
	touch $@

# The console's browser tests drive the distribution's Chromium (Playwright cannot download its own here).
$(CHROMIUM):
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium

run: $(STAMP)
	$(BIN)/python -m infra.local run

recalc: $(STAMP)
	$(BIN)/python -m infra.local recalc

# Two pytest workers, one per core (pytest-xdist); --dist loadfile keeps each test file on one worker, so a
# module's local stack, seed or `sam build` is built once. Run one file serially with plain `pytest FILE`.
test: $(STAMP) $(SAM_STAMP) $(CHROMIUM) gates
	KEEPWELL_SAM=$(CURDIR)/$(SAM_VENV)/bin/sam $(BIN)/python -m pytest -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check functions shared infra tests bench
	$(BIN)/ruff format --check functions shared infra tests bench
	$(BIN)/mypy shared functions infra
	PYTHONPATH=. $(BIN)/lint-imports --no-cache

# What `make test` (so CI) checks before the suite, each failing with the tool's own message: lint and
# type errors, an import against .importlinter's contracts (cycles, layers, handlers), and a moto other
# than the one infra/moto_patches.py was written for.
gates: lint
	$(BIN)/python -m infra.moto_patches --check

sam-build: $(SAM_STAMP)
	$(SAM_VENV)/bin/sam build --template template.yaml

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .keepwell
