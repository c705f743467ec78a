#!/usr/bin/env bash
# pyenv.sh DIR REQUIREMENTS CONSTRAINTS [LABEL]
#
# Creates (or refreshes) the project virtualenv DIR with exactly the pinned REQUIREMENTS and
# CONSTRAINTS, and does nothing when they have not changed since (DIR/.requirements.sha256
# holds their hash). Every virtualenv of the project is made here: .venv (make venv), .venv-sam
# and .venv-checkov (infra/lint/lint-template.sh), .venv-schemathesis (tests/schemathesis).
#
# Why uv: the four installs took 2 min 33 s of a clean-clone `make test` with pip (measured
# 2026-12-02: 46 + 48 + 43 + 16 s), mostly resolving and unpacking one wheel after another;
# uv installs the same pinned versions in parallel. uv itself is pinned (UV_VERSION) and lives
# in .venv-uv, installed once with the interpreter's own pip. When uv cannot be installed
# (an index that lacks its wheel for this platform), pip does the work as before.
set -euo pipefail

dir="$1" req="$2" cons="$3" label="${4:-$(basename "$1")}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
UV_VERSION=0.13.9
UV_VENV="$ROOT/.venv-uv"

want="$(cat "$req" "$cons" | sha256sum | cut -d' ' -f1)"
stamp="$dir/.requirements.sha256"
up_to_date() { [[ -x "$dir/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; }
up_to_date && exit 0
# Two callers at once (make e2e starts two schemathesis runs together) take turns: the second
# finds the first one's install done, and neither sees a half-made virtualenv.
exec 9>"$dir.lock"
flock 9
up_to_date && exit 0
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
  { echo "$label: python 3.11+ is required (found $("$PYTHON" --version 2>&1))" >&2; exit 1; }
echo "$label: installing $(basename "$req") into $(basename "$dir")"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
fail() { cat "$log" >&2; echo "$label: could not install $req into $dir" >&2; exit 1; }

# uv, once per machine-checkout; a failure here only means pip below.
if [[ ! -x "$UV_VENV/bin/uv" || "$("$UV_VENV/bin/uv" --version 2>/dev/null)" != "uv $UV_VERSION"* ]]; then
  { [[ -x "$UV_VENV/bin/python" ]] || "$PYTHON" -m venv "$UV_VENV"; } >>"$log" 2>&1 &&
    "$UV_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION" >>"$log" 2>&1 ||
    echo "$label: uv $UV_VERSION could not be installed; installing with pip (slower)" >&2
fi

# The venv itself from the standard library (with pip, as before), so tools that expect pip in
# it still find it.
{ [[ -x "$dir/bin/python" ]] || "$PYTHON" -m venv "$dir"; } >>"$log" 2>&1 || fail
if [[ -x "$UV_VENV/bin/uv" ]]; then
  UV_NO_PROGRESS=1 "$UV_VENV/bin/uv" pip install --quiet --python "$dir/bin/python" \
    -r "$req" -c "$cons" >>"$log" 2>&1 || fail
else
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "$req" -c "$cons" >>"$log" 2>&1 || fail
fi
echo "$want" >"$stamp"
