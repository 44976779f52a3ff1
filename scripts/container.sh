#!/usr/bin/env bash
# Builds the release server's container image from deploy/container/Containerfile with podman and
# runs it: ready on its own (ONNX Runtime and the models found from its install location), a real
# prediction over HTTP, the demo page, SIGTERM → exit 0. Not in CI (the image build compiles the
# release server and the browser package from scratch: about 30 min on 2 cores).
#
# The Containerfile starts from docker.io/library/rust:1.95-bookworm and debian:bookworm-slim. Where
# no image registry is reachable, BASE_IMAGES=local makes both here first, under those names, so
# the Containerfile runs unchanged: debian:bookworm-slim is Debian's bookworm (debootstrap
# --variant=minbase from the apt mirror), rust:1.95-bookworm is that plus Debian's build tools,
# this machine's Rust 1.95 toolchain (rustup's layout under /usr/local, as the official image) and
# its extra certificate authorities (/usr/local/share/ca-certificates: an egress proxy's).
#
# Usage: ./scripts/container.sh                   (pulls the base images when missing)
#        BASE_IMAGES=local ./scripts/container.sh (makes them here)
#        PORT=18080 TAG=vectune:0.1.0
set -euo pipefail
cd "$(dirname "$0")/.."
TAG="${TAG:-vectune:0.1.0}"
PORT="${PORT:-18080}"
RUST_IMAGE=docker.io/library/rust:1.95-bookworm
DEBIAN_IMAGE=docker.io/library/debian:bookworm-slim
work="$PWD/target/container"
mkdir -p "$work"

step() { printf '\n== %s (at %d s)\n' "$*" "$SECONDS" >&2; }

if ! command -v podman >/dev/null; then
    step "installing podman (Debian)"
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        podman runc debootstrap uidmap
fi

# This machine's podman: runc (crun refuses a cgroup v1 + v2 hybrid) and container limits below the
# shell's (podman's defaults exceed the hard limits, raising one is refused, and nproc above about
# 16,000 is refused whatever the shell's limit says); docs/environment.md.
nofile=$(( $(ulimit -Hn) / 2 ))
nproc=8192
if [ ! -f /etc/containers/containers.conf ]; then
    mkdir -p /etc/containers
    printf '[containers]\ndefault_ulimits = ["nofile=%d:%d", "nproc=%d:%d"]\n[engine]\nruntime = "runc"\n' \
        "$nofile" "$nofile" "$nproc" "$nproc" > /etc/containers/containers.conf
fi
# the same limits for the build's RUN steps (podman build does not read default_ulimits)
limits=(--ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")

if [ "${BASE_IMAGES:-pull}" = local ]; then
    if ! podman image exists "$DEBIAN_IMAGE"; then
        step "making $DEBIAN_IMAGE with debootstrap"
        rm -rf "$work/rootfs"
        debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian > "$work/debootstrap.log"
        tar -C "$work/rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$DEBIAN_IMAGE"
    fi
    if ! podman image exists "$RUST_IMAGE"; then
        step "making $RUST_IMAGE from it and this machine's Rust 1.95"
        toolchain="$(readlink -f "$(rustup run 1.95.0 rustc --print sysroot)")"
        rustup_bin="$(readlink -f "$(command -v rustup)")"
        cat > "$work/rust.Containerfile" <<EOF
FROM $DEBIAN_IMAGE
ENV RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential ca-certificates curl git pkg-config python3 \
    && rm -rf /var/lib/apt/lists/*
# this machine's extra certificate authorities (an egress proxy's), for crates.io and PyPI
RUN cp /host/ca/*.crt /usr/local/share/ca-certificates/ 2>/dev/null; update-ca-certificates
RUN mkdir -p /usr/local/rustup/toolchains /usr/local/cargo/bin \
    && cp -a /host/toolchain /usr/local/rustup/toolchains/1.95.0-x86_64-unknown-linux-gnu \
    && rm -rf /usr/local/rustup/toolchains/1.95.0-x86_64-unknown-linux-gnu/share/doc \
    && cp /host/rustup /usr/local/cargo/bin/rustup \
    && for p in cargo rustc rustdoc cargo-clippy clippy-driver rustfmt cargo-fmt; do ln -s rustup /usr/local/cargo/bin/\$p; done \
    && printf 'version = "12"\ndefault_toolchain = "1.95.0-x86_64-unknown-linux-gnu"\nprofile = "minimal"\nauto_self_update = "disable"\n' > /usr/local/rustup/settings.toml \
    && rustc --version && cargo --version
EOF
        podman build "${limits[@]}" --network host -v "$toolchain:/host/toolchain:ro" -v "$rustup_bin:/host/rustup:ro" \
            -v /usr/local/share/ca-certificates:/host/ca:ro \
            -f "$work/rust.Containerfile" -t "$RUST_IMAGE" "$work"
    fi
fi

step "building $TAG (the release server and the browser package, from scratch)"
podman build "${limits[@]}" --network host -f deploy/container/Containerfile -t "$TAG" .
podman image inspect "$TAG" --format 'image {{.Id}}: {{.Size}} bytes' >&2

step "running it on 127.0.0.1:$PORT"
name="vectune-smoke-$$"
podman run -d --name "$name" --network host "$TAG" serve --addr "127.0.0.1:$PORT" --log-json > /dev/null
trap 'podman rm -f "$name" >/dev/null 2>&1 || true' EXIT
base="http://127.0.0.1:$PORT"
for _ in $(seq 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/v2/health/ready")" = 200 ] && break
    sleep 0.2
done
curl -sf "$base/v2/health/ready" > /dev/null || { podman logs "$name" >&2; exit 1; }
curl -sf "$base/v1/models" | python3 -c '
import json, sys
m = json.load(sys.stdin)
print("backend:", m["backend"], "| reason:", m.get("backend_reason"), "| quality:", m["quality"],
      "| models ready:", sum(r["status"]["state"] == "ready" for r in m["models"]), "of", len(m["models"]),
      "(the rest other runtimes\x27 files)")
assert m["backend"] == "ort", "ONNX Runtime was not found inside the image"
assert m["quality"] != "heuristic", "no quality model loaded"
'
logo="models/data/eval/images/iconify_logos-safari-214.png"
python3 -c 'import base64, json, sys; print(json.dumps({"image": base64.b64encode(open(sys.argv[1], "rb").read()).decode(), "params": {"color_precision": 6}}))' "$logo" \
    | curl -sf -H 'content-type: application/json' --data-binary @- "$base/v1/predict" \
    | python3 -c 'import json, sys; p = json.load(sys.stdin); print("predict:", p["ssim"], p["source"], p["backend"]); assert p["source"] == "model"'
[ "$(curl -s -o /dev/null -w '%{http_code}' -L "$base/")" = 200 ] && echo "demo page: 200"
step "SIGTERM"
podman stop -t 30 "$name" > /dev/null
echo "exit code: $(podman inspect "$name" --format '{{.State.ExitCode}}')"
[ "$(podman inspect "$name" --format '{{.State.ExitCode}}')" = 0 ]
