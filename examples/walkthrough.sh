#!/usr/bin/env bash
# Every journey of the API against the running local stack (`make dev` or `make up`), with curl:
# register -> scan (played by the iProov sandbox) -> submit -> poll -> log in -> my account ->
# log out. Each step prints the call and the answer. Needs curl and python3 (for reading JSON).
#
#   examples/walkthrough.sh [username]
#
# API and SANDBOX override the addresses (defaults: the local stack's). Against a real iProov
# tenant there is no sandbox: a person scans with the SDK (the demo page) where this script
# calls the sandbox's control surface.
set -euo pipefail

API=${API:-http://127.0.0.1:3000}
SANDBOX=${SANDBOX:-http://127.0.0.1:4600}
USERNAME=${1:-walker-$RANDOM$RANDOM}
JSON='content-type: application/json'

# field NAME: one field of the JSON on stdin (dotted path), empty when absent.
field() {
  python3 -c 'import json, sys
value = json.load(sys.stdin)
for key in sys.argv[1].split("."):
    value = value.get(key, "") if isinstance(value, dict) else ""
print(value)' "$1"
}

step() { printf '\n== %s\n' "$*" >&2; }

# call METHOD PATH [curl args...]: prints the answer's body; fails on a status >= 400.
call() {
  local method=$1 path=$2; shift 2
  printf '%s %s\n' "$method" "$path" >&2
  local body status
  body=$(curl -sS -X "$method" "$API$path" -w '\n%{http_code}' "$@")
  status=${body##*$'\n'}; body=${body%$'\n'*}
  printf '%s %s\n' "$status" "$body" >&2
  [[ $status -lt 400 ]] || { echo "walkthrough: $method $path answered $status" >&2; exit 1; }
  printf '%s' "$body"
}

scan() { # the person in front of the camera, played by the sandbox
  curl -sS -X POST "$SANDBOX/sandbox/claims/$1/scan" -H "$JSON" -d '{"outcome":"passed"}' >/dev/null
}

step "0. the consent text to show, in the reader's language; the person ticks the box"
consent=$(call GET /v1/consent -H "Accept-Language: en")
version=$(field version <<<"$consent")

step "1. start a registration with the consent: an enrol token and a registration credential"
started=$(call POST /v1/users/registration -H "$JSON" \
  -d "{\"username\":\"$USERNAME\",\"display_name\":\"Walk Through\",\"consent\":{\"version\":\"$version\",\"accepted\":true}}")
token=$(field iproov.token <<<"$started")
registration=$(field session_token <<<"$started")

step "2. the app's SDK streams the face (here: the sandbox says the scan passed)"
scan "$token"

step "3. the app says the scan finished: queued for the validator"
call POST /v1/users -H "Authorization: Bearer $registration" >/dev/null

step "4. poll until the validator has decided"
for _ in $(seq 1 60); do
  state=$(call GET /v1/users/registration -H "Authorization: Bearer $registration")
  case $(field status <<<"$state") in
    completed) break ;;
    failed) echo "walkthrough: registration failed" >&2; exit 1 ;;
  esac
  sleep 0.5
done
[[ $(field status <<<"$state") == completed ]] || { echo "walkthrough: not completed in 30 s" >&2; exit 1; }

step "5. log in: a verify token for the username, the face again, then the session"
attempt=$(call POST /v1/verify-login -H "$JSON" -d "{\"username\":\"$USERNAME\"}")
scan "$(field iproov.token <<<"$attempt")"
session=$(call POST /v1/login -H "Authorization: Bearer $(field attempt_token <<<"$attempt")" \
  | field session_token)

step "6. my account, from the session alone"
call GET /v1/users -H "Authorization: Bearer $session" >/dev/null

step "7. log out: the session ends server-side"
call POST /v1/logout -H "Authorization: Bearer $session" >/dev/null

echo "walkthrough: $USERNAME registered, logged in, read the account and logged out" >&2
