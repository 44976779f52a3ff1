#!/usr/bin/env bash
# Load test of `vectune serve` (a script, not a timed test): starts the release server on 127.0.0.1
# with the packaged models and drives it with a real load generator, `oha` (installed from
# crates.io when missing): `POST /v1/predict` on a real logo of the committed evaluation set at 1,
# 10 and 64 concurrent clients, then a mixed level (predict, predict with 64 parameter sets,
# classify, suggest, 16 clients each, at once). Prints throughput, p50, p99 and non-200 answers per
# level, and the service's RSS before and after. Bounded: REQUESTS per level (default 2000) and
# at most 150 s per oha run.
#
# Usage: ./scripts/load.sh            REQUESTS=500 ./scripts/load.sh      MODELS=dir ./scripts/load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/serve.sh
source scripts/lib/serve.sh
REQUESTS="${REQUESTS:-2000}"
MODELS="${MODELS:-models}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

step() { printf '\n== %s (at %d s)\n' "$*" "$SECONDS" >&2; }

if ! command -v oha >/dev/null; then
    step "installing oha 1.16.0 from crates.io"
    # --locked: without oha's own lock file a newer dependency needs a newer rustc than this one
    cargo install oha --version 1.16.0 --locked
fi
step "building the release server"
cargo build --release -p vectune-native
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

step "starting vectune serve"
# shellcheck disable=SC2086  # SERVE_FLAGS is a list of flags
start_server --max-concurrent-requests 256 ${SERVE_FLAGS:-}
rss() { curl -s "$base/v1/models" | python3 -c 'import json,sys; print(json.load(sys.stdin)["memory"]["rss_bytes"])'; }

# Request bodies: a real 256 px-class logo of the evaluation set (the largest file), as base64.
logo="$(ls -S models/data/eval/images/*.png | sed -n 1p)"
python3 - "$logo" "$work" <<'PY'
import base64, json, pathlib, sys
logo, work = sys.argv[1], pathlib.Path(sys.argv[2])
image = base64.b64encode(pathlib.Path(logo).read_bytes()).decode()
many = [{"color_precision": 1 + i % 8, "filter_speckle": i % 16, "layer_difference": 4 + i} for i in range(64)]
(work / "predict.json").write_text(json.dumps({"image": image, "params": {"color_precision": 4}}))
(work / "many.json").write_text(json.dumps({"image": image, "params": many}))
(work / "classify.json").write_text(json.dumps({"image": image}))
(work / "suggest.json").write_text(json.dumps({"image": image, "target": 0.95}))
PY
echo "logo: $logo ($(wc -c < "$logo") bytes), models: $MODELS, $REQUESTS requests per level" >&2
rss_before="$(rss)"

# oha -n N -c C on one body; its JSON summary to $work/$name.json
run() {
    local name="$1" body="$2" clients="$3" n="$4"
    timeout 150 oha --no-tui -n "$n" -c "$clients" -m POST -T application/json -D "$work/$body.json" \
        --output-format json "$base/v1/${5:-predict}" > "$work/$name.json"
}
summary() {
    python3 - "$@" <<'PY'
import json, sys
for label, path in zip(sys.argv[1::2], sys.argv[2::2]):
    r = json.load(open(path))
    codes = r.get("statusCodeDistribution", {})
    ok = codes.get("200", 0)
    total = sum(codes.values()) + sum(r.get("errorDistribution", {}).values())
    p = r["latencyPercentiles"]
    print(f"| {label} | {r['summary']['requestsPerSec']:.0f} | {p['p50'] * 1e3:.1f} | {p['p99'] * 1e3:.1f} | "
          f"{p['p99'] / p['p50']:.1f} | {total - ok} of {total} |")
PY
}

echo "| level | requests/s | p50 ms | p99 ms | p99/p50 | not 200 |"
echo "|---|---|---|---|---|---|"
for c in 1 10 64; do
    step "predict at $c clients"
    run "predict-$c" predict "$c" "$REQUESTS"
    summary "predict, $c clients" "$work/predict-$c.json"
done
step "mixed: predict, predict-many (64 sets), classify, suggest, 16 clients each"
quarter=$((REQUESTS / 4))
pids=()
run mixed-predict predict 16 "$quarter" predict & pids+=($!)
run mixed-many many 16 "$quarter" predict & pids+=($!)
run mixed-classify classify 16 "$quarter" classify & pids+=($!)
run mixed-suggest suggest 16 "$((quarter / 4))" suggest & pids+=($!)
wait "${pids[@]}"
summary "mixed: predict" "$work/mixed-predict.json" "mixed: predict-many (64 sets)" "$work/mixed-many.json" \
    "mixed: classify" "$work/mixed-classify.json" "mixed: suggest" "$work/mixed-suggest.json"
rss_after="$(rss)"
python3 -c "import sys; b, a = int(sys.argv[1]), int(sys.argv[2]); print(f'\nRSS: {b / 2**20:.1f} MB before, {a / 2**20:.1f} MB after')" \
    "$rss_before" "$rss_after"
