#!/usr/bin/env bash
# Builds the browser package into web/pkg/ (git-ignored): the wasm32 release build of vectune-web
# (tract with +simd128, profile `wasm-release`), wasm-bindgen's `--target web` glue and types, and
# the hand-written ESM entry, its types and the Web Worker (web/js/); then the VTracer preview,
# vectune-trace, the same way into web/pkg/trace/ (a second module, imported only by
# `loadTracer()`). Prints each .wasm's size.
# Usage: ./scripts/build-web.sh     (installs wasm-bindgen-cli when the pinned version is missing)
set -euo pipefail
cd "$(dirname "$0")/.."

# The CLI must be exactly the wasm-bindgen version in Cargo.lock.
wbg_version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wbg_version" ]; then
    echo "installing wasm-bindgen-cli $wbg_version (about 5 min)"
    # --locked fails to resolve against this registry (docs/environment.md). Only the
    # `wasm-bindgen` binary, without TLS (only the test runner downloads): no ring, no rustls.
    cargo install wasm-bindgen-cli --version "$wbg_version" --no-default-features --bin wasm-bindgen
fi
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true

target_dir="${CARGO_TARGET_DIR:-target}"
# The .wasm of crate $1 (profile `wasm-release`; +simd128 comes from .cargo/config.toml).
build_wasm() {
    cargo build -p "$1" --target wasm32-unknown-unknown --profile wasm-release
    echo "$target_dir/wasm32-unknown-unknown/wasm-release/${1//-/_}.wasm"
}
print_size() {
    local raw gz
    raw=$(wc -c < "$1")
    gz=$(gzip -9 -c "$1" | wc -c)
    awk -v f="$1" -v raw="$raw" -v gz="$gz" 'BEGIN {
        printf "%s: %d bytes (%.2f MB), gzip -9: %d bytes (%.2f MB)\n", f, raw, raw / 1e6, gz, gz / 1e6 }'
}

wasm="$(build_wasm vectune-web)"
trace_wasm="$(build_wasm vectune-trace)"

rm -rf web/pkg
# The name section (function names, ~1.5 MB raw) only serves stack traces: dropped for size.
wasm-bindgen --target web --remove-name-section --out-dir web/pkg "$wasm"
wasm-bindgen --target web --remove-name-section --out-dir web/pkg/trace "$trace_wasm"
cp web/js/index.js web/js/index.d.ts web/js/worker.js web/pkg/

print_size web/pkg/vectune_web_bg.wasm
print_size web/pkg/trace/vectune_trace_bg.wasm
