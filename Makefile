# `make demo` and `make test` create and fill .venv themselves when it is missing or stale.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export MUJOCO_GL ?= egl

# python3.12 may be a pyenv shim without a selected version: fall back to pyenv's install, then Debian's.
PYTHON312 := $(shell for p in python3.12 $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12.*/bin/python3.12 /usr/bin/python3.12; do \
	$$p -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1 && { echo $$p; break; }; done)

.PHONY: help setup test test-docs test-fast demo bench lint format clean

help:
	@echo "make demo    run the default policy on every task (installs .venv if needed)"
	@echo "make test    run the test suite (installs .venv if needed)"
	@echo "make test-docs  run every documented command at a tiny size"
	@echo "make setup   create/refresh .venv with the dev install"
	@echo "make bench   simulation speed figures"
	@echo "make lint    ruff"

$(STAMP): pyproject.toml plugins/lerobot_env_tabletop/pyproject.toml plugins/lerobot_policy_vla/pyproject.toml \
		plugins/lerobot_robot_tabletop_sim/pyproject.toml plugins/lerobot_teleoperator_tabletop/pyproject.toml \
		ros2_ws/src/vla_ros/setup.py
	@test -n "$(PYTHON312)" || { echo "Python 3.12 not found (tried python3.12, pyenv, /usr/bin)"; exit 1; }
	@test -x $(PY) || $(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]" -e plugins/lerobot_env_tabletop -e plugins/lerobot_policy_vla \
		-e plugins/lerobot_robot_tabletop_sim -e plugins/lerobot_teleoperator_tabletop -e ros2_ws/src/vla_ros
	@touch $(STAMP)

setup: $(STAMP)

# Two workers on two cores (most tests keep one core busy); a test module stays on one worker, so its
# module-scoped fixtures (a ROS node, an export) are built once.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(PY) -m pytest -m "not docs" -n $(TEST_WORKERS) --dist loadfile --durations=30

# Every command in README.md and the docs it links, run at a tiny size (~20 min on 2 cores).
test-docs: $(STAMP)
	$(PY) -m pytest -m docs

test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow"

demo: $(STAMP)
	$(VENV)/bin/vla demo

bench: $(STAMP)
	$(VENV)/bin/vla bench sim --compare-default

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache results
