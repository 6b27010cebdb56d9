#!/usr/bin/env bash
# Lint template.yaml with cfn-lint and `sam validate --lint` from .venv.
# Offline; needs no AWS account (dummy credentials are set below).
# Exits non-zero if either check fails.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash infra/venv.sh

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
export SAM_CLI_TELEMETRY=0
unset AWS_PROFILE AWS_SESSION_TOKEN

status=0
echo "check-template: cfn-lint template.yaml"
.venv/bin/cfn-lint template.yaml || status=1
echo "check-template: sam validate --lint"
.venv/bin/sam validate --lint --template-file template.yaml --region us-east-1 || status=1

if [[ $status -ne 0 ]]; then
  echo "check-template: FAILED" >&2
else
  echo "check-template: OK"
fi
exit "$status"
