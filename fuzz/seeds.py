#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (fuzz/corpus/TARGET/seed-*) from real files of the repository.

Usage: python3 fuzz/seeds.py   (Pillow, when installed, adds JPEG versions of two logos)

The seeds are what a user, a client library or a deploy hands vectune: real logos (PNG of several sizes,
RGBA and palette, JPEG), the CLI's and the HTTP API's parameter forms, the shipped and fixture manifests,
the shipped correlation file, and one real request per route in the `http` target's framing
(`METHOD PATH [CONTENT-TYPE]` on the first line, the body after it). scripts/fuzz.sh grows the corpora
from them and minimises what it keeps; both are committed.
"""

import base64
import io
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"

# Small real logos from the committed eval set (every size band under 200 px; under 1.5 kB each).
LOGOS = [
    "tests/fixtures/golden/logo.png",
    "models/data/eval/images/iconify_logos-deepgram-dark-122.png",
    "models/data/eval/images/simple_icons-telegraph-92.png",
    "models/data/eval/images/iconify_logos-refactor-73.png",
    "models/data/eval/images/simple_icons-g2g-124.png",
    "models/data/eval/images/iconify_logos-opencode-icon-143.png",
    "models/data/eval/images/simple_icons-opentui-156.png",
    "models/data/eval/images/devicon-astro-plain-67.png",
]

PARAMS_WORDS = [
    "color_precision=6 filter_speckle=4",
    "color_precision=8 corner_threshold=60 length_threshold=4.0 max_iterations=10 "
    "splice_threshold=45 path_precision=8 layer_difference=16 filter_speckle=4",
    "length_threshold=3.5 path_precision=1",
    "layer_difference=64",
]
PARAMS_JSON = [
    {},
    {"color_precision": 6, "filter_speckle": 4},
    {"color_precision": 1, "corner_threshold": 0, "length_threshold": 3.5, "max_iterations": 1,
     "splice_threshold": 0, "path_precision": 0, "layer_difference": 1, "filter_speckle": 0},
    [{"color_precision": 4}, {"length_threshold": 10.0, "path_precision": 8}],
]


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / f"seed-{name}").write_bytes(data if isinstance(data, bytes) else data.encode())


def jpegs():
    try:
        from PIL import Image
    except ImportError:
        return []
    out = []
    for rel in LOGOS[:2]:
        img = Image.open(ROOT / rel).convert("RGBA")
        flat = Image.new("RGB", img.size, (255, 255, 255))
        flat.paste(img, mask=img.getchannel("A"))
        buf = io.BytesIO()
        flat.save(buf, format="JPEG", quality=85)
        out.append((pathlib.Path(rel).stem + ".jpg", buf.getvalue()))
    return out


def main():
    logos = [(pathlib.Path(p).name, (ROOT / p).read_bytes()) for p in LOGOS] + jpegs()
    for name, data in logos:
        write("image", name, data)
    for i, words in enumerate(PARAMS_WORDS):
        write("params", f"words-{i}", words)
    for i, obj in enumerate(PARAMS_JSON):
        write("params", f"json-{i}.json", json.dumps(obj))
    manifests = [
        ("fixture-manifest.json", ROOT / "tests/fixtures/models/manifest.json"),
        ("shipped-manifest.json", ROOT / "models/manifest.json"),
    ]
    for name, path in manifests:
        write("manifest", name, path.read_bytes())
    correlation = (ROOT / "models/correlation_models.json").read_bytes()
    write("correlation", "shipped.json", correlation)

    logo = (ROOT / LOGOS[0]).read_bytes()
    b64 = base64.b64encode(logo).decode()
    small = base64.b64encode((ROOT / LOGOS[1]).read_bytes()).decode()
    boundary = "vectune-fuzz"
    multipart = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"logo.png\"\r\n"
        "Content-Type: image/png\r\n\r\n"
    ).encode() + logo + (
        f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"params\"\r\n\r\n"
        "{\"color_precision\": 6}\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    requests = {
        "images": ("POST /v1/images application/json", json.dumps({"image": small})),
        "images-multipart": (f"POST /v1/images multipart/form-data;boundary={boundary}", multipart),
        "predict": ("POST /v1/predict application/json",
                    json.dumps({"image": small, "params": {"color_precision": 6}})),
        "predict-many": ("POST /v1/predict application/json",
                         json.dumps({"image": small, "params": PARAMS_JSON[3]})),
        "predict-multipart": (f"POST /v1/predict multipart/form-data; boundary={boundary}", multipart),
        "batch": ("POST /v1/predict/batch application/json",
                  json.dumps({"items": [{"image": small, "params": {}},
                                        {"image": b64, "params": [{"filter_speckle": 8}]}]})),
        "classify": ("POST /v1/classify application/json", json.dumps({"image": small})),
        "suggest": ("POST /v1/suggest application/json",
                    json.dumps({"image": small, "target": 0.9, "margin": 0.02})),
        "suggest-verify": ("POST /v1/suggest application/json",
                           json.dumps({"image": small, "target": 0.95, "verify": True})),
        "measure": ("POST /v1/measure application/json",
                    json.dumps({"image": small, "params": {"color_precision": 4}})),
        "params": ("GET /v1/params", ""),
        "models": ("GET /v1/models", ""),
        "reload": ("POST /v1/models/quality_head/reload", ""),
        "oip-meta": ("GET /v2/models/quality_head", ""),
        "oip-ready": ("GET /v2/health/ready", ""),
        "oip-infer": ("POST /v2/models/quality_head/infer application/json",
                      json.dumps({"id": "t1", "inputs": [
                          {"name": "embedding", "shape": [2, 96], "datatype": "FP32", "data": [0.5] * 192},
                          {"name": "params", "shape": [2, 8], "datatype": "FP32", "data": [[0.5] * 8, [0.1] * 8]},
                      ]})),
        "oip-infer-predictor": ("POST /v2/models/logo_classifier/infer application/json",
                                json.dumps({"inputs": [
                                    {"name": "image", "shape": [1, 3, 2, 2], "datatype": "FP32",
                                     "data": [0.0] * 12}]})),
    }
    for name, (head, body) in requests.items():
        write("http", name, head.encode() + b"\n" + (body if isinstance(body, bytes) else body.encode()))

    # browser: the first byte picks the entry point (see tests/fuzz/src/lib.rs, `browser`)
    for name, data in logos[:4]:
        write("browser", f"decode-{name}", b"\x00" + data)
    for i, obj in enumerate(PARAMS_JSON[:3]):
        write("browser", f"params-{i}.json", b"\x01" + json.dumps(obj).encode())
    write("browser", "manifest.json", b"\x02" + manifests[0][1].read_bytes())
    # raw pixels: width, height (u16 little-endian), RGBA
    for w, h in [(1, 1), (3, 2), (16, 9)]:
        rgba = bytes((x * 37 + y * 11 + c * 5) % 256 for y in range(h) for x in range(w) for c in range(4))
        write("browser", f"pixels-{w}x{h}", b"\x03" + w.to_bytes(2, "little") + h.to_bytes(2, "little") + rgba)


if __name__ == "__main__":
    main()
