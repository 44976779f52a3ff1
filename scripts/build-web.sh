#!/usr/bin/env bash
# Builds the browser package into web/pkg/ (git-ignored): the wasm32 release build of vectune-web
# (tract with +simd128, profile `wasm-release`), wasm-bindgen's `--target web` glue and types, and
# the hand-written ESM entry, its types and the Web Worker (web/js/). Prints the .wasm's size.
# Usage: ./scripts/build-web.sh     (installs wasm-bindgen-cli when the pinned version is missing)
set -euo pipefail
cd "$(dirname "$0")/.."

# The CLI must be exactly the wasm-bindgen version in Cargo.lock.
wbg_version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wbg_version" ]; then
    echo "installing wasm-bindgen-cli $wbg_version (about 5 min)"
    # --locked fails to resolve against this registry (shared/notes/environment.md). Only the
    # `wasm-bindgen` binary, without TLS (only the test runner downloads): no ring, no rustls.
    cargo install wasm-bindgen-cli --version "$wbg_version" --no-default-features --bin wasm-bindgen
fi
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true

cargo build -p vectune-web --target wasm32-unknown-unknown --profile wasm-release
target_dir="${CARGO_TARGET_DIR:-target}"
wasm="$target_dir/wasm32-unknown-unknown/wasm-release/vectune_web.wasm"

rm -rf web/pkg
# The name section (function names, ~1.5 MB raw) only serves stack traces: dropped for size.
wasm-bindgen --target web --remove-name-section --out-dir web/pkg "$wasm"
cp web/js/index.js web/js/index.d.ts web/js/worker.js web/pkg/

raw=$(wc -c < web/pkg/vectune_web_bg.wasm)
gz=$(gzip -9 -c web/pkg/vectune_web_bg.wasm | wc -c)
awk -v raw="$raw" -v gz="$gz" 'BEGIN {
    printf "web/pkg/vectune_web_bg.wasm: %d bytes (%.2f MB), gzip -9: %d bytes (%.2f MB)\n", raw, raw / 1e6, gz, gz / 1e6 }'
