#!/usr/bin/env bash
# Fuzzes every input surface with cargo-fuzz (libFuzzer, AddressSanitizer, the nightly toolchain):
# image bytes, parameters, the manifest, the correlation file, HTTP requests, the browser package's
# entry points (fuzz/fuzz_targets; what each does is in tests/fuzz/src/lib.rs).
#
# Usage: ./scripts/fuzz.sh [SECONDS] [TARGET...]
#   SECONDS  per target (default 600); each target starts from its committed corpus (fuzz/corpus/T)
#   TARGET   some of: image params manifest correlation http browser (default: all)
#   FUZZ_JOBS=N runs N targets at once (default 1; each uses one core)
#   FUZZ_MINIMISE=1 merges what was found back into a minimised fuzz/corpus/T (libFuzzer -merge=1)
#   FUZZ_LIGHT=1 leaves out the targets that need the server crate (`http`, the CLI form of `params`):
#     a build of about a minute instead of about eight
# A crash stops that target, leaves its input in target/fuzz/artifacts/T/ and fails the script;
# fix it and keep the input as fuzz/regressions/T/NAME (tests/fuzz/tests/corpus.rs replays it).
# The CI smoke run (scripts/test.sh): FUZZ_LIGHT=1 ./scripts/fuzz.sh 10
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-600}"
shift || true
targets=("$@")
features=()
if [ "${FUZZ_LIGHT:-0}" = 1 ]; then
    features=(--no-default-features)
    [ ${#targets[@]} -gt 0 ] || targets=(image params manifest correlation browser)
fi
[ ${#targets[@]} -gt 0 ] || targets=(image params manifest correlation http browser)
jobs="${FUZZ_JOBS:-1}"

if ! cargo +nightly fuzz --version 2>/dev/null | grep -q '0.13.1'; then
    echo "installing cargo-fuzz 0.13.1 (about 2 min)"
    cargo install cargo-fuzz --version 0.13.1 --locked
fi
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
# The fuzz build lives under target/ like every other build; artifacts too.
fuzz_target_dir="$PWD/target/fuzz"
artifacts="$fuzz_target_dir/artifacts"
mkdir -p "$artifacts"

step() { printf '\n== fuzz: %s (at %d s)\n' "$*" "$SECONDS"; }
step "build ${targets[*]}"
# one target per `cargo fuzz build`; the dependencies are built once
for t in "${targets[@]}"; do
    cargo +nightly fuzz build "${features[@]}" --fuzz-dir fuzz --target-dir "$fuzz_target_dir" "$t" 2>&1 | grep -v '^\s*Compiling' || true
done

run_one() {
    local t="$1" work="$fuzz_target_dir/corpus/$1" log="$fuzz_target_dir/$1.log"
    # Grows a scratch copy of the committed corpus (the committed one changes only by minimising).
    rm -rf "$work"
    mkdir -p "$work" "$artifacts/$t"
    cp fuzz/corpus/"$t"/* "$work"/
    local status=0
    cargo +nightly fuzz run "${features[@]}" --fuzz-dir fuzz --target-dir "$fuzz_target_dir" "$t" "$work" -- \
        -max_total_time="$seconds" -timeout=20 -rss_limit_mb=3072 -max_len=65536 \
        -artifact_prefix="$artifacts/$t/" -print_final_stats=1 > "$log" 2>&1 || status=$?
    local execs cov
    execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
    printf '%-12s %6d s  %10s runs  coverage %6s  corpus %4d files  %s\n' "$t" "$seconds" "${execs:-?}" \
        "${cov:-?}" "$(find "$work" -type f | wc -l)" "$([ "$status" = 0 ] && echo ok || echo "FAILED (see $log)")"
    if [ "$status" != 0 ]; then
        grep -E 'panicked at|ERROR: AddressSanitizer|SUMMARY|Test unit written' "$log" | head -5
        return 1
    fi
    if [ "${FUZZ_MINIMISE:-0}" = 1 ]; then
        local merged="$fuzz_target_dir/merged/$t"
        # the seeds stay, by name; what the fuzzer found is added where it adds coverage
        rm -rf "$merged" && mkdir -p "$merged"
        cp fuzz/corpus/"$t"/seed-* "$merged"/
        cargo +nightly fuzz run "${features[@]}" --fuzz-dir fuzz --target-dir "$fuzz_target_dir" "$t" "$merged" "$work" -- \
            -merge=1 -timeout=20 -rss_limit_mb=3072 -max_len=65536 > "$log.merge" 2>&1
        rm -rf fuzz/corpus/"$t" && mkdir -p fuzz/corpus/"$t"
        cp "$merged"/* fuzz/corpus/"$t"/
        echo "  fuzz/corpus/$t: $(find fuzz/corpus/"$t" -type f | wc -l) files after minimising"
    fi
}

step "run ${targets[*]} for $seconds s each, $jobs at a time"
failed=0
pids=()
for t in "${targets[@]}"; do
    run_one "$t" &
    pids+=($!)
    if [ ${#pids[@]} -ge "$jobs" ]; then
        wait "${pids[0]}" || failed=1
        pids=("${pids[@]:1}")
    fi
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
step "done"
exit "$failed"
