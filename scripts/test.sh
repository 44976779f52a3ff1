#!/usr/bin/env bash
# The full test suite, including every setup step it needs on a fresh machine.
# Usage: ./scripts/test.sh        (CI runs exactly this through .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }
# Two shared cores: never more than two compile jobs.
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step "setup: Rust components and targets"
rustup component add rustfmt clippy
# thumbv7m-none-eabi has no std: building the core for it proves no_std (wasm32 has std).
rustup target add thumbv7m-none-eabi wasm32-unknown-unknown

step "setup: libtorch 2.13.0 for the torch backend (slim: the PyPI wheel without its CUDA stack)"
# tch 0.26.0 needs exactly torch 2.13.0; PyPI has no CPU-only wheel, so install the wheel alone plus the
# two CUDA runtime libraries libtorch links against (~35 s, 1.4 GB; shared/notes/environment.md).
torch_venv="$PWD/target/libtorch-venv"
if ! compgen -G "$torch_venv/lib/python3*/site-packages/torch/lib/libtorch_cpu.so" > /dev/null; then
    python3 -m venv "$torch_venv"
    "$torch_venv/bin/pip" install -q --no-deps torch==2.13.0 nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85
fi
LIBTORCH="$(echo "$torch_venv"/lib/python3*/site-packages/torch)"
export LIBTORCH
# Every cargo command below builds the native crate with its libtorch backend (one build, not two).
TORCH=(--features vectune-native/torch)

step "format"
cargo fmt --all --check

step "lint (host, wasm32, and the no_std core)"
cargo clippy --workspace --all-targets "${TORCH[@]}" -- -D warnings
cargo clippy -p vectune-web --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p vectune-core --no-default-features --target thumbv7m-none-eabi -- -D warnings

step "no_std proof: vectune-core for thumbv7m-none-eabi"
cargo build -p vectune-core --no-default-features --target thumbv7m-none-eabi

step "wasm32 builds: the core and the browser bindings"
cargo build -p vectune-core --target wasm32-unknown-unknown
cargo build -p vectune-web --target wasm32-unknown-unknown

step "tests: unit, property, golden, CLI end to end, cross-crate, doc tests"
log="$(mktemp)"
cargo test --workspace "${TORCH[@]}" 2>&1 | tee "$log"

# One closing line over every test binary and doc-test run above.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed;?$/) p += $(i-1); if ($(i) ~ /^failed;?$/) f += $(i-1) } }
     END { printf "\ntests: %d passed, %d failed\n", p, f }' "$log"
rm -f "$log"
