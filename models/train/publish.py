#!/usr/bin/env python3
"""Publishes an exported run into the shipped model directory (`models/`): copies the ONNX and
TorchScript files and `correlation_models.json`, and writes `models/manifest.json` from the export's
entries plus the suggester's entry, with sha256 and sizes recomputed from the copied files.

    .venv/bin/python publish.py --export runs/v1/export --correlation runs/v1/correlation_models.json \
        --dataset-summary runs/v1/dataset.json --out ..
"""
from __future__ import annotations

import argparse
import hashlib
import json
import pathlib
import shutil


def sha256(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--export", required=True, help="export directory (export.py's output)")
    p.add_argument("--correlation", required=True, help="correlation_models.json (fit_correlation.py)")
    p.add_argument("--dataset-summary", default=None, help="JSON recorded as every entry's training.data")
    p.add_argument("--out", required=True, help="the model directory to write (models/)")
    args = p.parse_args(argv)

    export = pathlib.Path(args.export)
    out = pathlib.Path(args.out)
    manifest = json.loads((export / "manifest.json").read_text())
    summary = json.loads(pathlib.Path(args.dataset_summary).read_text()) if args.dataset_summary else None
    for e in manifest["models"]:
        src = export / e["file"]
        shutil.copyfile(src, out / e["file"])
        e["sha256"] = sha256(out / e["file"])
        e["bytes"] = (out / e["file"]).stat().st_size
        if summary is not None:
            e.setdefault("training", {})["data"] = summary
    corr = pathlib.Path(args.correlation)
    shutil.copyfile(corr, out / "correlation_models.json")
    fitted = json.loads(corr.read_text()).get("fitted_on", {})
    manifest["models"].append({
        "name": "correlation_models", "task": "suggester", "file": "correlation_models.json", "format": "json",
        "sha256": sha256(out / "correlation_models.json"), "bytes": (out / "correlation_models.json").stat().st_size,
        "metrics": {k: v for k, v in fitted.items() if isinstance(v, (int, float)) and not isinstance(v, bool)},
    })
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    for e in manifest["models"]:
        print(f"{e['file']:<34} {e['bytes']:>9} bytes  sha256 {e['sha256'][:16]}...")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
