#!/usr/bin/env python3
"""Evaluates a training run on one split of a dataset.

    python evaluate.py --run runs/NAME --data /path/to/dataset --split test

Quality metrics (MAE, R^2, median within-image Spearman across parameter sets, over images with >= 3
labels) for: the model; "always predict the training mean"; and the core heuristic when the CSV has
a `heuristic` column. Also per source and per class, and the classifier's agreement with the
dataset's classes (exact for synthetic images, inferred from the SVG for real ones).

Images are preprocessed in float32 exactly as the Rust core does (not through the float16 training
cache) unless --fp16-cache is given.

Writes to --out (default: RUN/eval-SPLIT): `metrics.json`, `calibration.png` (predicted vs true),
`curves.png` (the run's training curves).

`--tta hflip` scores the model as exported with `export.py --tta hflip`: the mean of its predictions for
the image and its mirror image (model.TTA_VIEWS); the choice is recorded in metrics.json.
`--ensemble RUN` (repeatable) scores the mean of --run's and RUN's predictions, and `--weights float16` the
weights as `export.py --weights float16` stores them; both are recorded in metrics.json too.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import pathlib

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

import data
import metrics
from model import TTA_VIEWS, WEIGHT_FORMATS, build_classifier, build_quality, ensemble, with_tta, with_weights


def clean(x):
    """NaN/inf -> None, numpy scalars -> Python, recursively (strict JSON)."""
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return None if math.isnan(x) or math.isinf(x) else x
    if isinstance(x, np.integer):
        return int(x)
    return x


def load_run(run: pathlib.Path):
    """The run's best quality checkpoint: (model, checkpoint)."""
    ck = torch.load(pathlib.Path(run) / "quality.pt", map_location="cpu", weights_only=False)
    if ck.get("param_encoding_version") != data.ENCODING_VERSION:
        raise SystemExit(f"{run}: trained on parameter encoding {ck.get('param_encoding_version')}, "
                         f"this code encodes {data.ENCODING_VERSION}")
    m = build_quality(ck["config"])
    m.load_state_dict(ck["state_dict"])
    return m.eval(), ck


def load_quality(run: pathlib.Path, tta: str = "none", members=(), weights: str = "float32"):
    """The run's best quality checkpoint, with test-time views `tta` (model.TTA_VIEWS), averaged with the runs
    `members` (model.ensemble; their checkpoints are listed in the checkpoint's "ensemble"), stored as `weights`
    (model.WEIGHT_FORMATS): (model, checkpoint)."""
    m, ck = load_run(run)
    if members:
        if tta != "none":
            raise SystemExit("--ensemble and --tta together are not supported")
        others = [load_run(r) for r in members]
        for r, (_, ock) in zip(members, others):
            if ock.get("dataset") != ck.get("dataset") or ock.get("train_mean") != ck.get("train_mean"):
                raise SystemExit(f"{r}: trained on {ock.get('dataset')!r}, {run} on {ck.get('dataset')!r}; "
                                 "an ensemble's members must share their training set")
        m = ensemble([m] + [o for o, _ in others])
        ck = dict(ck, ensemble=[{"run": pathlib.Path(r).name, "epoch": c["epoch"]}
                                for r, c in [(run, ck)] + [(r, o[1]) for r, o in zip(members, others)]])
    return with_weights(with_tta(m, tta), weights).eval(), ck


def ensemble_names(ck) -> list:
    """The runs an exported or evaluated model averages (one name for a single run)."""
    return [e["run"] for e in ck.get("ensemble", [])]


def load_classifier(run: pathlib.Path):
    p = run / "classifier.pt"
    if not p.exists():
        return None, None
    ck = torch.load(p, map_location="cpu", weights_only=False)
    m = build_classifier(ck["config"])
    m.load_state_dict(ck["state_dict"])
    return m.eval(), ck


def plot_calibration(pred, true, groups, path, title):
    fig, ax = plt.subplots(figsize=(6, 6))
    for g in sorted(set(groups)):
        m = groups == g
        ax.scatter(true[m], pred[m], s=6, alpha=0.5, label=f"{g} ({m.sum()})")
    lo = float(min(true.min(), pred.min(), 0.5))
    ax.plot([lo, 1], [lo, 1], "k--", lw=1, label="y = x")
    ax.set_xlim(lo, 1.0)
    ax.set_ylim(lo, 1.0)
    ax.set_xlabel("true SSIM")
    ax.set_ylabel("predicted SSIM")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_curves(log: dict, path):
    q = log.get("quality", {}).get("epochs", [])
    c = log.get("classifier", {}).get("epochs", [])
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    e = [r["epoch"] for r in q]
    if q:
        axes[0].plot(e, [r["train_loss"] for r in q], label="train loss")
        if "val_loss" in q[0]:
            axes[0].plot(e, [r["val_loss"] for r in q], label="val loss")
        axes[0].set_yscale("log")
        axes[1].plot(e, [r["train_mae"] for r in q], label="train MAE")
        if "val_mae" in q[0]:
            axes[1].plot(e, [r["val_mae"] for r in q], label="val MAE")
            ax2 = axes[1].twinx()
            ax2.plot(e, [r["val_spearman"] for r in q], "g:", label="val within-image rho")
            ax2.set_ylabel("rho")
            ax2.legend(loc="upper center", fontsize=8)
        best = log["quality"].get("best_epoch")
        for ax in axes[:2]:
            if best:
                ax.axvline(best, color="grey", ls="--", lw=1)
            ax.set_xlabel("epoch")
            ax.legend(fontsize=8)
    axes[0].set_title("quality: loss")
    axes[1].set_title("quality: MAE")
    if c:
        ec = [r["epoch"] for r in c]
        axes[2].plot(ec, [r["train_accuracy"] for r in c], label="train acc")
        if "val_accuracy" in c[0]:
            axes[2].plot(ec, [r["val_accuracy"] for r in c], label="val acc (synthetic)")
        axes[2].set_xlabel("epoch")
        axes[2].legend(fontsize=8)
    axes[2].set_title("classifier: accuracy")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def evaluate(run, data_dir, split, out=None, fp16_cache=False, cache_root=None, tta="none", members=(),
             weights="float32") -> dict:
    run = pathlib.Path(run)
    out = pathlib.Path(out) if out else run / f"eval-{split}"
    out.mkdir(parents=True, exist_ok=True)
    ds = data.load_dataset(data_dir)
    imgs = ds.images_where(split)
    if len(imgs) == 0:
        raise SystemExit(f"{data_dir}: no images in split {split!r}")
    images = data.image_cache(ds, cache_root) if fp16_cache else data.ExactImages(ds)
    model, ck = load_quality(run, tta, members, weights)
    rows, pred = metrics.predict_quality(model, ds, images, imgs)
    true = ds.ssim[rows]
    ri = ds.row_image[rows]
    res = {"dataset": str(ds.root), "split": split, "run": str(run), "checkpoint_epoch": ck["epoch"],
           "preprocessing": "float16 cache" if fp16_cache else "float32 exact (core)", "tta": tta,
           "ensemble": ensemble_names(ck), "weights": weights,
           "quality": {"model": metrics.regression_report(pred, true, ri),
                       "train_mean": metrics.regression_report(np.full_like(true, ck["train_mean"]), true, ri)}}
    res["quality"]["train_mean"]["value"] = ck["train_mean"]
    if ds.heuristic is not None:
        h = ds.heuristic[rows]
        ok = ~np.isnan(h)
        res["quality"]["heuristic"] = metrics.regression_report(h[ok], true[ok], ri[ok])
    else:
        res["quality"]["heuristic"] = None
        res["quality"]["heuristic_note"] = "labels.csv has no `heuristic` column"
    src = ds.source[ri]
    cls = ds.cls[ri]
    res["quality"]["by_source"] = {s: metrics.regression_report(pred[src == s], true[src == s], ri[src == s])
                                   for s in sorted(set(src))}
    res["quality"]["by_class"] = {data.LOGO_CLASSES[k]: metrics.regression_report(pred[cls == k], true[cls == k],
                                                                                  ri[cls == k])
                                  for k in sorted(set(cls))}
    clf, _ = load_classifier(run)
    if clf is not None:
        logits = metrics.predict_classes(clf, images, imgs)
        pc, yc = logits.argmax(1), ds.cls[imgs]
        synth = ~ds.class_inferred[imgs]
        res["classifier"] = {
            "labels": data.LOGO_CLASSES,
            "synthetic_images": int(synth.sum()),
            "synthetic_accuracy": float((pc[synth] == yc[synth]).mean()) if synth.any() else None,
            "synthetic_confusion": metrics.confusion(pc[synth], yc[synth]) if synth.any() else None,
            "inferred_images": int((~synth).sum()),
            "inferred_agreement": float((pc[~synth] == yc[~synth]).mean()) if (~synth).any() else None,
            "inferred_confusion": metrics.confusion(pc[~synth], yc[~synth]) if (~synth).any() else None,
            "note": "confusion rows = dataset class, columns = predicted; inferred classes come from SVG rules",
        }
    plot_calibration(pred, true, src, out / "calibration.png",
                     f"{split}: MAE {res['quality']['model']['mae']:.4f}, R2 {res['quality']['model']['r2']:.3f}")
    log_path = run / "log.json"
    if log_path.exists():
        plot_curves(json.loads(log_path.read_text()), out / "curves.png")
    res = clean(res)
    (out / "metrics.json").write_text(json.dumps(res, indent=1))
    return res


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, help="training run directory (quality.pt, classifier.pt, log.json)")
    p.add_argument("--data", required=True, help="dataset directory")
    p.add_argument("--split", default="val", help="train, val or test (test: final report only)")
    p.add_argument("--out", default=None)
    p.add_argument("--fp16-cache", action="store_true", help="use the float16 training cache (faster, approximate)")
    p.add_argument("--tta", choices=TTA_VIEWS, default="none",
                   help="test-time views: the mean over the image and its mirror image (as export.py --tta)")
    p.add_argument("--ensemble", action="append", default=[], metavar="RUN",
                   help="another run whose predictions are averaged with --run's (repeatable; as export.py)")
    p.add_argument("--weights", choices=WEIGHT_FORMATS, default="float32",
                   help="float16: BatchNorm folded and weights rounded to float16, as export.py --weights float16")
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    res = evaluate(args.run, args.data, args.split, args.out, args.fp16_cache, tta=args.tta,
                   members=args.ensemble, weights=args.weights)
    q = res["quality"]
    for k in ("model", "train_mean", "heuristic"):
        if q.get(k):
            r = q[k]
            print(f"{k:11s} MAE {r['mae']:.4f}  R2 {r['r2'] if r['r2'] is None else round(r['r2'], 4)}  "
                  f"within-image rho {r['spearman_within_image_median']}  ({r['spearman_images']} images)")
    if res.get("classifier"):
        c = res["classifier"]
        print(f"classifier  synthetic acc {c['synthetic_accuracy']}  agreement with inferred {c['inferred_agreement']}")
    print(f"wrote {args.out or pathlib.Path(args.run) / ('eval-' + args.split)}")


if __name__ == "__main__":
    main()
