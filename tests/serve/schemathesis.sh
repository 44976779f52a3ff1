#!/usr/bin/env bash
# `vectune serve` against its own OpenAPI document with schemathesis: requests generated from the
# document's schemas (a bounded number of examples per operation) must get no 5xx, only documented
# status codes and content types, and bodies that match the documented schemas.
# Usage: tests/serve/schemathesis.sh VENV [path/to/vectune]     (scripts/test.sh runs it)
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="$1"
bin="${2:-target/debug/vectune}"
out="$(mktemp)"
"$bin" --models tests/fixtures/models --backend tract serve --addr 127.0.0.1:0 > "$out" 2>/dev/null &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 100); do grep -q '^listening on' "$out" && break; sleep 0.1; done
base="$(sed -n 's/^listening on //p' "$out")"
for _ in $(seq 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/v2/health/ready")" = 200 ] && break
    sleep 0.1
done
"$venv/bin/st" run "$base/openapi.json" --url "$base" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples 25 --workers 1 --seed 1
echo "schemathesis: no 5xx, no schema violation: ok"
