#!/usr/bin/env bash
# Soak of `vectune serve` (a script, not a timed test): starts the release server on 127.0.0.1 with
# the packaged models and its default limits, and drives it with native/examples/soak.rs: a warm-up
# that feeds every input shape a client can cause, then 32 clients of mixed traffic on the committed
# evaluation logos at every size for MINUTES, sampling the server's RSS every 5 s. Writes soak.csv,
# soak.json (the figures) and soak.png (RSS and p99 over time) to OUT; fails on any error or an RSS
# growth of 5 % or more after the warm-up plateau. Bounded: the mixed phase stops after MINUTES and
# the whole run after MINUTES + 30 min.
#
# Usage: ./scripts/soak.sh                  (20 minutes, OUT=target/soak)
#        MINUTES=240 ./scripts/soak.sh      (longer)     OUT=docs/soak ./scripts/soak.sh
#        CLIENTS=64 SERVE_FLAGS='--backend tract' ./scripts/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/serve.sh
source scripts/lib/serve.sh
MINUTES="${MINUTES:-20}"
CLIENTS="${CLIENTS:-32}"
MODELS="${MODELS:-models}"
OUT="${OUT:-target/soak}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

step() { printf '\n== %s (at %d s)\n' "$*" "$SECONDS" >&2; }

step "building the release server and the soak client"
cargo build --release -p vectune-native --bin vectune --example soak
plot_venv="$PWD/target/plot-venv"
if [ ! -x "$plot_venv/bin/python" ]; then
    step "installing matplotlib for the plot"
    python3 -m venv "$plot_venv"
    "$plot_venv/bin/pip" install -q matplotlib==3.11.2
fi
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$OUT"

step "starting vectune serve"
# shellcheck disable=SC2086  # SERVE_FLAGS is a list of flags
start_server ${SERVE_FLAGS:-}
curl -s "$base/v1/models" | python3 -c 'import json,sys; m=json.load(sys.stdin); print("backend:", m["backend"], "| limits:", m["limits"])' >&2

step "soak: $CLIENTS clients, $MINUTES min after the warm-up"
status=0
timeout "$(( (${MINUTES%.*} + 30) * 60 ))" target/release/examples/soak --base "$base" --pid "$server" \
    --minutes "$MINUTES" --clients "$CLIENTS" --out "$OUT" || status=$?
"$plot_venv/bin/python" scripts/soak-plot.py "$OUT/soak.csv" "$OUT/soak.json" "$OUT/soak.png"
echo "soak: $OUT/soak.csv, $OUT/soak.json, $OUT/soak.png" >&2
# the server's own log: anything at warn or error level
grep -E '"level":"(WARN|ERROR)"' "$work/log" | head -20 >&2 || true
exit "$status"
