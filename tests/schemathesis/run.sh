#!/usr/bin/env bash
# Property-based API testing with schemathesis against the running local stack, driven by
# docs/openapi.yaml: every check (server errors, status codes, content types, response schemas,
# negative-data rejection, ignored auth, use after free) must pass; tests/schemathesis/
# schemathesis.toml turns them all on and says the one exception.
#
# schemathesis lives in its own virtualenv (.venv-schemathesis): its pins differ from moto's.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
VENV=.venv-schemathesis
REQ=tests/schemathesis/requirements.txt
CONS=tests/schemathesis/constraints.txt
bash infra/local/pyenv.sh "$VENV" "$REQ" "$CONS" schemathesis
# `--install-only`: the virtualenv, nothing run (make test prepares it while Rust compiles).
if [[ "${1:-}" == --install-only ]]; then exit 0; fi
API_URL="${API_URL:-http://127.0.0.1:3000}"
export API_URL
# hooks.py obtains real credentials (registration, login attempt, login session) for the
# authenticated routes, so they are exercised beyond the 401 of a made-up credential.
export PYTHONPATH="tests/schemathesis${PYTHONPATH:+:$PYTHONPATH}"
export SCHEMATHESIS_HOOKS=hooks
# Every generated request comes from its own documentation-range address (the gateway honours
# X-Forwarded-For in test mode), so per-IP rate limits answer 429 only where a real client would.
exec "$VENV/bin/schemathesis" --config-file tests/schemathesis/schemathesis.toml run docs/openapi.yaml \
  --url "$API_URL" \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-40}" \
  --seed "${SCHEMATHESIS_SEED:-20261125}" \
  --workers 1 \
  --request-timeout 30 \
  --header "X-Forwarded-For: 203.0.113.77" \
  --report junit --report-dir "${SCHEMATHESIS_REPORT_DIR:-tests/artifacts/schemathesis}" \
  "$@"
