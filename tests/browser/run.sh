#!/usr/bin/env bash
# Browser test of the demo web app (web/): installs what it needs, then drives Debian's Chromium
# through the journeys against the local stack, which must already be running (`make up`).
#
#   tests/browser/run.sh                      # against http://127.0.0.1:3000
#   API_URL=http://127.0.0.1:3100 tests/browser/run.sh
#
# Screenshots of every step go to docs/screenshots/ (SCREENSHOTS_DIR to change).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

export API_URL="${API_URL:-http://127.0.0.1:3000}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

if [[ ! -x "$CHROMIUM" ]]; then
  if [[ "$CHROMIUM" != /usr/bin/chromium ]]; then
    echo "browser-test: CHROMIUM=$CHROMIUM is not an executable" >&2
    exit 1
  fi
  echo "browser-test: $CHROMIUM is missing; installing Debian's chromium package"
  SUDO=()
  if [[ "$(id -u)" -ne 0 ]]; then SUDO=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  # The package lists may be missing or old on a fresh machine.
  if ! apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    "${SUDO[@]}" apt-get update -qq
  fi
  "${SUDO[@]}" apt-get install -y -qq chromium >/dev/null
fi
"$CHROMIUM" --version 2>/dev/null | head -n 1 || true

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "browser-test: node (20+) and npm are required" >&2
  exit 1
fi
# playwright-core only: it never downloads a browser.
npm ci --no-audit --no-fund --loglevel=error

# The OpenID Connect client of the hosted sign-in scenario: registered on this stack once, the
# way an operator would (make oidc-client), with a loopback redirect URI (any port matches).
export OIDC_TEST_CLIENT_ID="${OIDC_TEST_CLIENT_ID:-browser-test}"
PY="${PYTHON:-../../.venv/bin/python}"
OIDC_CLIENT=(../../infra/ops/oidc_client.py --local)
if [[ -x "$PY" ]] && ! "$PY" "${OIDC_CLIENT[@]}" show "$OIDC_TEST_CLIENT_ID" >/dev/null 2>&1; then
  "$PY" "${OIDC_CLIENT[@]}" add --client-id "$OIDC_TEST_CLIENT_ID" --name "Browser test app" \
    --type public --redirect-uri http://127.0.0.1/callback --scope openid --scope profile >/dev/null \
    || echo "browser-test: could not register the OpenID Connect test client; its scenario will fail" >&2
fi

exec node --test --test-reporter=spec journey.test.mjs
