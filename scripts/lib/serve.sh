# Sourced by scripts/load.sh and scripts/soak.sh: starts the release `vectune serve` on a free
# loopback port with the given flags and waits until it is ready (at most 60 s). Needs $work (a
# scratch directory: the server's stdout and log go there) and $MODELS; sets $server (its pid)
# and $base (its URL).
start_server() {
    target/release/vectune --models "$MODELS" serve --addr 127.0.0.1:0 "$@" > "$work/out" 2> "$work/log" &
    server=$!
    for _ in $(seq 100); do grep -q '^listening on' "$work/out" 2>/dev/null && break; sleep 0.1; done
    base="$(sed -n 's/^listening on //p' "$work/out")"
    [ -n "$base" ] || { cat "$work/log" >&2; exit 1; }
    for _ in $(seq 600); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/v2/health/ready")" = 200 ] && return 0
        sleep 0.1
    done
    echo "vectune serve at $base was not ready within 60 s" >&2
    cat "$work/log" >&2
    exit 1
}
