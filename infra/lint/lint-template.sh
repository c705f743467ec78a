#!/usr/bin/env bash
# Lints template.yaml with no network and no AWS account:
#   1. cfn-lint template.yaml
#   2. sam validate --lint
#   3. checkov (CloudFormation framework, --skip-download), full and --compact
#   4. cfn-lint and checkov of infra/edge/waf.yaml (the edge's web ACL), without an argument
# Tools live in two project-local virtualenvs, created on first run and reused after:
#   .venv-sam      aws-sam-cli + cfn-lint   (pins boto3 1.43.x)
#   .venv-checkov  checkov                  (pins boto3 1.35.x, so it cannot share .venv-sam)
# Installing needs the package index once; linting itself never touches the network.
# Usage: infra/lint/lint-template.sh [template]   (default: template.yaml at the repo root)
set -euo pipefail

LINT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$LINT_DIR/../.." && pwd)"
cd "$ROOT"
TEMPLATE="${1:-template.yaml}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"

# ensure_venv DIR REQUIREMENTS CONSTRAINTS: (re)install only when the pinned files changed
# (infra/local/pyenv.sh, which every virtualenv of the project goes through).
ensure_venv() {
  PYTHON="$PYTHON" bash "$ROOT/infra/local/pyenv.sh" "$1" "$2" "$3" lint >&2
}

ensure_venv "$ROOT/.venv-sam" "$LINT_DIR/requirements.txt" "$LINT_DIR/constraints-sam.txt"
ensure_venv "$ROOT/.venv-checkov" "$LINT_DIR/requirements-checkov.txt" "$LINT_DIR/constraints-checkov.txt"

# Offline and deterministic: no credentials lookup, no instance metadata, no telemetry.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-eu-west-1}"
export AWS_REGION="$AWS_DEFAULT_REGION"
export AWS_ACCESS_KEY_ID="lint-offline" AWS_SECRET_ACCESS_KEY="lint-offline"
unset AWS_SESSION_TOKEN AWS_PROFILE
export AWS_EC2_METADATA_DISABLED=true
export SAM_CLI_TELEMETRY=0
export BC_SKIP_MAPPING=TRUE CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false
export PYTHONWARNINGS=ignore

status=0
step() {
  local name="$1"
  shift
  echo "== $name"
  if "$@"; then
    echo "   ok"
  else
    echo "   FAILED: $name" >&2
    status=1
  fi
}

step "cfn-lint $TEMPLATE" "$ROOT/.venv-sam/bin/cfn-lint" "$TEMPLATE"
step "sam validate --lint" "$ROOT/.venv-sam/bin/sam" validate --lint --template-file "$TEMPLATE" \
  --region "$AWS_DEFAULT_REGION"
step "checkov" "$ROOT/.venv-checkov/bin/checkov" -f "$TEMPLATE" --framework cloudformation \
  --skip-download --quiet --compact
# The edge's web ACL, a stack of its own in us-east-1 (infra/edge/waf.yaml).
if [[ $# -eq 0 ]]; then
  step "cfn-lint infra/edge/waf.yaml" "$ROOT/.venv-sam/bin/cfn-lint" infra/edge/waf.yaml
  step "checkov infra/edge/waf.yaml" "$ROOT/.venv-checkov/bin/checkov" -f infra/edge/waf.yaml \
    --framework cloudformation --skip-download --quiet --compact
fi

exit "$status"
