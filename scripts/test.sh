#!/usr/bin/env bash
# The full test suite, including every setup step it needs on a fresh machine.
# Usage: ./scripts/test.sh        (CI runs exactly this through .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step's heading gives the seconds since the start (where CI's time goes).
step() { printf '\n== %s (at %d s)\n' "$*" "$SECONDS"; }
# Two shared cores: never more than two compile jobs.
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step "setup: Rust components and targets"
rustup component add rustfmt clippy
# thumbv7m-none-eabi has no std: building the core for it proves no_std (wasm32 has std).
rustup target add thumbv7m-none-eabi wasm32-unknown-unknown

step "setup: libtorch 2.13.0 for the torch backend (slim: the PyPI wheel without its CUDA stack)"
# tch 0.26.0 needs exactly torch 2.13.0; PyPI has no CPU-only wheel, so install the wheel alone plus the
# two CUDA runtime libraries libtorch links against (~35 s, 1.4 GB; docs/environment.md).
torch_venv="$PWD/target/libtorch-venv"
if ! compgen -G "$torch_venv/lib/python3*/site-packages/torch/lib/libtorch_cpu.so" > /dev/null; then
    python3 -m venv "$torch_venv"
    "$torch_venv/bin/pip" install -q --no-deps torch==2.13.0 nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85
fi
LIBTORCH="$(echo "$torch_venv"/lib/python3*/site-packages/torch)"
export LIBTORCH
# vectune-native's own binaries carry an rpath to it (native/build.rs); other crates' test binaries that
# link it (tests/) find it here.
export LD_LIBRARY_PATH="$LIBTORCH/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# Every cargo command below builds the native crate with its libtorch backend and the fault tests' fail
# points (one build, not two; the fail points act only when FAILPOINTS is set).
FEATURES=(--features vectune-native/torch,vectune-native/failpoints)

step "format"
cargo fmt --all --check

step "lint (host, wasm32, and the no_std core)"
cargo clippy --workspace --all-targets "${FEATURES[@]}" -- -D warnings
# wasm32: the core here; the browser crate's code is the same on the host (linted above) except one
# cfg(wasm32) block, and it is compiled for wasm32 by the browser step (a separate wasm32 clippy of it
# re-checks all of tract: ~5 min of CI for one block).
cargo clippy -p vectune-core --target wasm32-unknown-unknown -- -D warnings
# The VTracer module (web/trace) and the instrument it measures with, without the dataset builder.
cargo clippy -p vectune-trace --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p vectune-core --no-default-features --target thumbv7m-none-eabi -- -D warnings

step "no_std proof: vectune-core for thumbv7m-none-eabi"
cargo build -p vectune-core --no-default-features --target thumbv7m-none-eabi

step "wasm32 build: the core (the browser bindings are built in release by the browser step)"
cargo build -p vectune-core --target wasm32-unknown-unknown

step "tests: unit, property, golden, CLI end to end, cross-crate, doc tests"
log="$(mktemp)"
cargo test --workspace "${FEATURES[@]}" 2>&1 | tee "$log"

# Every fuzz target but `http` for a few seconds from its committed corpus (libFuzzer + AddressSanitizer
# on the nightly toolchain; installs cargo-fuzz when missing). `http` needs the whole server under
# AddressSanitizer (an eight-minute build): cargo test above replays its corpus instead
# (tests/fuzz/tests/corpus.rs), as it does every target's corpus and regressions.
step "fuzz: a short run of each target on its corpus"
FUZZ_LIGHT=1 ./scripts/fuzz.sh "${FUZZ_SECONDS:-10}" 2>&1 | tee -a "$log"

# The HTTP service through Triton's own client (the Open Inference Protocol v2 routes), against the
# debug binary cargo test built; the client is pinned in its own venv.
step "service: Open Inference Protocol v2 with tritonclient"
serve_venv="$PWD/target/serve-venv"
if [ ! -x "$serve_venv/bin/python" ]; then
    python3 -m venv "$serve_venv"
fi
"$serve_venv/bin/pip" install -q -r tests/serve/requirements.txt
"$serve_venv/bin/python" tests/serve/tritonclient_test.py target/debug/vectune 2>&1 | tee -a "$log"
step "service: schemathesis against /openapi.json"
tests/serve/schemathesis.sh "$serve_venv" target/debug/vectune 2>&1 | tail -n 12 | tee -a "$log"
# deploy/: Kustomize renders (kubectl), Kubernetes schemas (kubernetes-validate), probes on real routes,
# and `vectune export-triton`'s configs parsed into Triton's ModelConfig.
step "deploy: manifests and the Triton model repository"
"$serve_venv/bin/python" tests/deploy/deploy_test.py target/debug/vectune 2>&1 | tee -a "$log"
# Three replicas behind Debian's nginx (installed when missing) under oha (installed from crates.io when
# missing): one killed, one drained, every request answered.
step "deploy: failover of replicas behind nginx"
tests/deploy/failover_test.sh target/debug/vectune 2>&1 | grep -v '^tests/deploy/failover_test.sh: line' | tee -a "$log"

# The browser package: wasm32 release build + wasm-bindgen (installs wasm-bindgen-cli when the
# pinned version is missing), npm dependencies, Chromium (Debian's, when missing), then the Node
# tests: golden parity of the wasm build and parity with the native CLI (built by cargo test),
# errors, fallbacks, `npm pack` consumer, demo page.
step "browser package: build, Node tests, demo in headless Chromium"
web_start=$SECONDS
./scripts/build-web.sh
npm ci --no-audit --no-fund
if ! command -v chromium >/dev/null; then
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
fi
VECTUNE_REQUIRE_NATIVE=1 VECTUNE_REQUIRE_BROWSER=1 CHROMIUM="$(command -v chromium)" node --test tests/web/ 2>&1 | tee -a "$log"
printf 'browser step: %d s\n' "$((SECONDS - web_start))"

# One closing line over every test binary, doc-test run and Node test file above.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed;?$/) p += $(i-1); if ($(i) ~ /^failed;?$/) f += $(i-1) } }
     /^# (pass|fail) [0-9]+$/ { if ($2 == "pass") p += $3; else f += $3 }
     /^(tritonclient|schemathesis|deploy|failover): .*: ok$/ { p += 1 }
     END { printf "\ntests: %d passed, %d failed\n", p, f }' "$log"
rm -f "$log"
printf 'total: %d s\n' "$SECONDS"
