#!/usr/bin/env python3
"""Publishes an exported run into the shipped model directory (`models/`): copies the ONNX and
TorchScript files and `correlation_models.json`, and writes `models/manifest.json` from the export's
entries plus the suggester's entry, with sha256 and sizes recomputed from the copied files.

    .venv/bin/python publish.py --export runs/v1/export --correlation runs/v1/correlation_models.json \
        --dataset-summary runs/v1/dataset.json --run runs/v1 --out ..

Every entry's `training.data` is built here, never written by hand: the dataset's counts from
`--dataset-summary` (`vectune-dataset stats --json`), the quality model's from `--run`'s `log.json`
(images, best epoch, epochs, seconds, threads, torch) and the classifier's from `--classifier-run`'s
(default: the same run; a run trained with --skip-classifier ships an earlier run's classifier).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import pathlib
import shutil


def sha256(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_log(run: pathlib.Path) -> dict:
    path = run / "log.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise SystemExit(f"{path}: cannot read the run's training log ({e})")


def quality_log(run: pathlib.Path) -> tuple[dict, dict]:
    """The run's log.json and its finished quality model's part."""
    log = read_log(run)
    q = log.get("quality")
    if not q or "best_epoch" not in q:
        raise SystemExit(f"{run}/log.json: no finished quality model")
    return log, q


def quality_seconds(q: dict) -> float:
    """A quality model's training time: every epoch's training and validation."""
    return round(sum(e["train_seconds"] + e.get("val_seconds", 0.0) for e in q["epochs"]), 1)


def quality_summary(name: str, q: dict) -> dict:
    """One run's quality training (an ensemble member's entry)."""
    return {"run": name, "best_epoch": q["best_epoch"], "epochs": len(q["epochs"]),
            "training_seconds": quality_seconds(q), "train_images": q["train_images"]}


def training_summary(stats: dict, run: pathlib.Path, classifier_run: pathlib.Path, built_by: str | None = None,
                     members=()) -> dict:
    """The manifest's `training.data`: dataset counts, and what each model was trained on, from logs."""
    log, q = quality_log(run)
    clog = read_log(classifier_run)
    c = clog.get("classifier")
    if not c or "best_epoch" not in c:
        raise SystemExit(f"{classifier_run}/log.json: no finished classifier (train without --skip-classifier, "
                         "or name the run whose classifier ships with --classifier-run)")
    built_by = built_by or "vectune-dataset build --out DIR"
    return {"dataset": f"{built_by} ({stats['images']} images x "
                       f"{stats['labels'] // max(1, stats['images'])} parameter sets)",
            "dataset_labels": stats["labels"], "dataset_images": stats["images"],
            "images_by_source": stats["images_by_source"], "labels_by_split": stats["labels_by_split"],
            "quality_run": run.name,
            "quality_trained_on": {"train_images": q["train_images"], "train_labels": q["train_labels"],
                                   "val_images": q["val_images"], "note": "test images are never read"},
            "quality_best_epoch": q["best_epoch"], "quality_epochs": len(q["epochs"]),
            "quality_training_seconds": quality_seconds(q),
            "classifier_run": classifier_run.name,
            "classifier_trained_on": {"train_images": c["train_images"], "val_images": c["val_images"],
                                      "synthetic_only": True},
            "classifier_best_epoch": c["best_epoch"], "classifier_epochs": len(c["epochs"]),
            "classifier_training_seconds": round(sum(e["train_seconds"] for e in c["epochs"]), 1),
            "threads": log.get("threads"), "torch": log.get("torch"),
            # an ensemble (export.py --ensemble): every member's training; the figures above are --run's
            **({"quality_ensemble": [quality_summary(run.name, q)]
                                    + [quality_summary(r.name, quality_log(r)[1]) for r in members]}
               if members else {})}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--export", required=True, help="export directory (export.py's output)")
    p.add_argument("--correlation", required=True, help="correlation_models.json (fit_correlation.py)")
    p.add_argument("--dataset-summary", required=True, help="`vectune-dataset stats --json` of the training set")
    p.add_argument("--dataset-built-by", default=None,
                   help="how the training set was built, for the manifest (default: `vectune-dataset build --out DIR`)")
    p.add_argument("--run", required=True, help="the run directory whose log.json trained the quality model")
    p.add_argument("--ensemble-run", action="append", default=[], metavar="RUN",
                   help="the other runs of an ensemble (export.py --ensemble), whose training is summarised too")
    p.add_argument("--classifier-run", default=None, help="the run that trained the classifier (default: --run)")
    p.add_argument("--out", required=True, help="the model directory to write (models/)")
    args = p.parse_args(argv)

    export = pathlib.Path(args.export)
    out = pathlib.Path(args.out)
    manifest = json.loads((export / "manifest.json").read_text())
    run = pathlib.Path(args.run)
    ens = next((e["training"]["ensemble"] for e in manifest["models"] if (e.get("training") or {}).get("ensemble")),
               None)
    exported = [m["run"] for m in ens] if ens else [run.name]
    named = [run.name] + [pathlib.Path(r).name for r in args.ensemble_run]
    if exported != named:
        raise SystemExit(f"{export}: the export averages runs {exported}, --run/--ensemble-run name {named}")
    summary = training_summary(json.loads(pathlib.Path(args.dataset_summary).read_text()), run,
                               pathlib.Path(args.classifier_run) if args.classifier_run else run,
                               args.dataset_built_by, [pathlib.Path(r) for r in args.ensemble_run])
    for e in manifest["models"]:
        src = export / e["file"]
        shutil.copyfile(src, out / e["file"])
        e["sha256"] = sha256(out / e["file"])
        e["bytes"] = (out / e["file"]).stat().st_size
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
