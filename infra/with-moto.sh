#!/usr/bin/env bash
# Run a command with one moto_server for its whole life: starts it on a free
# loopback port, exports AWS_ENDPOINT_URL, stops it when the command ends.
# Usage: infra/with-moto.sh cargo test --workspace
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log="$root/target/moto.log"
mkdir -p "$root/target"
"$root/.venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true' EXIT

for _ in $(seq 1 300); do
  if curl -fs "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$moto_pid" 2>/dev/null; then echo "with-moto: moto_server exited; see $log" >&2; exit 1; fi
  sleep 0.1
done
echo "with-moto: moto_server on 127.0.0.1:$port"
export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
"$@"
