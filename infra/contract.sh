#!/usr/bin/env bash
# The API contract check: schemathesis generates requests from the committed
# docs/openapi.json and sends them to a running `hookline dev`, failing on any
# 5xx answer or any answer whose body does not match the document.
#
# Usage: infra/contract.sh   (needs AWS_ENDPOINT_URL, e.g. via infra/with-moto.sh)
#        CONTRACT_EXAMPLES=200 infra/contract.sh   for a longer run (default 15
#        examples per operation and phase, about a minute or two)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
: "${AWS_ENDPOINT_URL:?run under infra/with-moto.sh (or point AWS_ENDPOINT_URL at an emulator)}"
examples="${CONTRACT_EXAMPLES:-15}"

cargo build --quiet --bin hookline

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port="$(free_port)"
key="hk_contract_$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
api="http://127.0.0.1:$port"
log="$root/target/contract-dev.log"

HOOKLINE_PORT="$port" HOOKLINE_ADMIN_KEY="$key" HOOKLINE_LOCAL_STACK="contract$(date +%s)" \
  ./target/debug/hookline dev >"$log" 2>&1 &
dev_pid=$!
trap 'kill "$dev_pid" 2>/dev/null || true; wait "$dev_pid" 2>/dev/null || true' EXIT

for _ in $(seq 1 300); do
  if curl -fs "$api/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$dev_pid" 2>/dev/null; then echo "contract: hookline dev exited; see $log" >&2; exit 1; fi
  sleep 0.2
done
curl -fs "$api/health" >/dev/null || { echo "contract: hookline dev did not come up; see $log" >&2; exit 1; }

# Real resources, so generated requests get past "404 no such endpoint"
# (infra/schemathesis.toml hands these ids to the operations that take one).
post() { curl -fsS -X POST "$api$1" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -d "$2"; }
field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
endpoint='{"url": "https://hooks.example.com/contract", "event_types": ["*"]}'
CONTRACT_ENDPOINT="$(post /v1/endpoints "$endpoint" | field id)"
CONTRACT_DOOMED_ENDPOINT="$(post /v1/endpoints "$endpoint" | field id)"
CONTRACT_DELIVERY="$(post "/v1/endpoints/$CONTRACT_ENDPOINT/test" '{}' | field delivery_id)"
# The inbound route lands on `contract`; the source routes work on the other two.
for slug in contract contract-admin contract-doomed; do
  post /v1/sources "{\"slug\": \"$slug\", \"auth_type\": \"none\", \"event_type\": \"contract.received\"}" >/dev/null
done
CONTRACT_INBOUND="$(curl -fsS -X POST "$api/api/v1/webhooks/contract" -d '{"n": 1}' | field id)"
CONTRACT_API_KEY="$(post /v1/api-keys '{"name": "contract spare"}' | field id)"
export CONTRACT_ENDPOINT CONTRACT_DOOMED_ENDPOINT CONTRACT_DELIVERY CONTRACT_INBOUND CONTRACT_API_KEY

echo "contract: schemathesis against $api ($examples examples per operation)"
status=0
mkdir -p target/contract
.venv/bin/st --config-file infra/schemathesis.toml run docs/openapi.json \
  --url "$api" \
  --header "Authorization: Bearer $key" \
  --checks not_a_server_error,response_schema_conformance \
  --max-examples "$examples" \
  --phases examples,coverage,fuzzing \
  --workers 1 \
  --request-timeout 30 \
  --seed "${CONTRACT_SEED:-1}" \
  --no-color \
  --report junit --report-dir target/contract | tee target/contract/run.log || status=$?
if [[ $status -ne 0 ]]; then
  echo "contract: FAILED (the platform's log is $log)" >&2
  exit "$status"
fi
generated="$(grep -oE '[0-9]+ generated' target/contract/run.log | grep -oE '[0-9]+' | tail -1)"
echo "contract: ${generated:-0} passed, 0 failed"
