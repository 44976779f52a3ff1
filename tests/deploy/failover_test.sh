#!/usr/bin/env bash
# Three `vectune serve` replicas on loopback ports behind Debian's nginx (deploy/nginx/vectune.conf's
# upstream settings: consistent hashing, retries on errors and draining 503s); under load from oha,
# one replica is killed (SIGKILL) and another drained (SIGTERM). Passes when every request oha sent
# was answered 200: nothing failed beyond what nginx retried, and no accepted request was lost.
# Prints the figures. Installs nginx (Debian) and oha (crates.io) when missing.
# Usage: tests/deploy/failover_test.sh [path/to/vectune] [requests]    (scripts/test.sh runs it)
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${1:-target/debug/vectune}"
requests="${2:-20000}"
if ! command -v nginx >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null
fi
command -v oha >/dev/null || cargo install oha --version 1.16.0 --locked
work="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

ports=()
for i in 0 1 2; do
    "$bin" --models tests/fixtures/models --backend tract serve --addr 127.0.0.1:0 > "$work/out$i" 2>/dev/null &
    pids+=($!)
done
for i in 0 1 2; do
    for _ in $(seq 100); do grep -q '^listening on' "$work/out$i" && break; sleep 0.1; done
    ports+=("$(sed -n 's/^listening on http:\/\/127.0.0.1://p' "$work/out$i")")
done
for p in "${ports[@]}"; do
    for _ in $(seq 600); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p/v2/health/ready")" = 200 ] && break
        sleep 0.1
    done
done
front="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
mkdir -p "$work/tmp"
cat > "$work/nginx.conf" <<CONF
daemon on;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/tmp;
    proxy_temp_path $work/tmp;
    map \$http_x_vectune_image \$vectune_route { "" \$request_id; default \$http_x_vectune_image; }
    upstream vectune {
        hash \$vectune_route consistent;
        server 127.0.0.1:${ports[0]} max_fails=1 fail_timeout=5s;
        server 127.0.0.1:${ports[1]} max_fails=1 fail_timeout=5s;
        server 127.0.0.1:${ports[2]} max_fails=1 fail_timeout=5s;
        keepalive 32;
    }
    server {
        listen 127.0.0.1:$front;
        client_max_body_size 8m;
        location / {
            proxy_pass http://vectune;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_next_upstream error timeout http_503 non_idempotent;
            proxy_next_upstream_tries 3;
            proxy_read_timeout 65s;
        }
    }
}
CONF
nginx -c "$work/nginx.conf" -p "$work"
python3 - "$work/body.json" <<'PY'
import base64, json, pathlib, sys
image = base64.b64encode(pathlib.Path("tests/fixtures/golden/logo.png").read_bytes()).decode()
pathlib.Path(sys.argv[1]).write_text(json.dumps({"image": image, "params": {"color_precision": 4}}))
PY
# every request runs to its answer (-n, not a deadline that would cut the last ones off)
timeout 300 oha --no-tui -n "$requests" -c 16 -m POST -T application/json -D "$work/body.json" \
    --output-format json "http://127.0.0.1:$front/v1/predict" > "$work/oha.json" &
load=$!
sleep 1
kill -9 "${pids[0]}"
echo "killed replica 1 (SIGKILL) at 1 s" >&2
sleep 1
kill -TERM "${pids[1]}"
echo "drained replica 2 (SIGTERM) at 2 s" >&2
wait "$load"
drained_exit=0
wait "${pids[1]}" || drained_exit=$?
python3 - "$work/oha.json" "$drained_exit" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
codes = r.get("statusCodeDistribution", {})
errors = r.get("errorDistribution", {})
ok = codes.get("200", 0)
total = sum(codes.values()) + sum(errors.values())
p = r["latencyPercentiles"]
print(f"failover: {total} requests in {r['summary']['total']:.1f} s through nginx, {ok} answered 200, "
      f"statuses {codes}, errors {errors}; p50 {p['p50'] * 1e3:.1f} ms, p99 {p['p99'] * 1e3:.1f} ms; "
      f"the drained replica exited {sys.argv[2]}")
assert total > 0 and ok == total, "some requests failed"
assert r["summary"]["total"] > 2.0, "the load ended before the replicas were stopped"
assert sys.argv[2] == "0", "the drained replica did not exit cleanly"
print("failover: one replica killed, one drained, every request answered: ok")
PY
