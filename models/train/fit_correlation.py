#!/usr/bin/env python3
"""Fits `correlation_models.json`, the suggester's starting point (core/src/suggest.rs), from a
dataset built by `vectune-dataset` and its image features (`vectune-dataset features --data DIR`).

* Target per image (train split): among its labelled parameter sets, those whose SSIM is within
  `--tol` (0.01) of the image's best; of these the one with the smallest SVG. That is what the
  suggester looks for: a faithful but small SVG.
* Starting parameters: per logo class (and pooled), a ridge regression from the standardised
  features to the target's encoded parameters ([0, 1], `Params::encode`).
* Size model: a ridge regression from `size_inputs` (encoded parameters e, features f, e², and every
  e[i]·f[j]; core/src/suggest.rs) to log2(SVG bytes), over every train label.
* Reported on the val split: how much SSIM the target-finding rule gives up, the size model's R²,
  and the start's SSIM regret against the image's best *labelled* set (the nearest labelled set to
  the start, by encoded distance).

    .venv/bin/python fit_correlation.py --data DATA --out ../correlation_models.json
"""
from __future__ import annotations

import argparse
import csv
import json
import pathlib
from collections import defaultdict

import numpy as np

import data

#: core/src/suggest.rs FEATURE_NAMES
FEATURE_NAMES = ["log2_width", "log2_height", "log2_unique_colors", "color_entropy", "edge_density",
                 "gradient_strength", "corner_density", "transparency", "complexity"]
SCHEMA_VERSION = 1


def size_inputs(e: np.ndarray, f: np.ndarray) -> np.ndarray:
    """core/src/suggest.rs `size_inputs`: e (8), f (9), e² (8), outer(e, f) row-major (72)."""
    return np.concatenate([e, f, e * e, np.outer(e, f).ravel()])


def ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Standardises x, fits y = b + W z with an L2 penalty on W; returns mean, scale, b, W."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    yb = y.mean(axis=0)
    a = z.T @ z + alpha * np.eye(z.shape[1])
    w = np.linalg.solve(a, z.T @ (y - yb))  # [F, K]
    return mean, scale, yb, w.T


def linear_map(mean, scale, b, w) -> dict:
    return {"mean": mean.tolist(), "scale": scale.tolist(), "intercept": np.atleast_1d(b).tolist(),
            "coef": np.atleast_2d(w).tolist()}


def apply(m: dict, x: np.ndarray) -> np.ndarray:
    z = (x - np.array(m["mean"])) / np.array(m["scale"])
    return np.array(m["intercept"]) + z @ np.array(m["coef"]).T


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="dataset directory (labels.csv, done.txt, features.csv)")
    p.add_argument("--features", default=None, help="features CSV (default DATA/features.csv)")
    p.add_argument("--out", required=True, help="correlation_models.json to write")
    p.add_argument("--tol", type=float, default=0.01, help="SSIM within the image's best that counts as best")
    p.add_argument("--alpha", type=float, default=10.0, help="ridge penalty")
    args = p.parse_args()

    root = pathlib.Path(args.data)
    feats = {}
    with open(args.features or root / "features.csv") as f:
        for r in csv.DictReader(f):
            feats[r["image_id"]] = np.array([float(r[n]) for n in FEATURE_NAMES])
    done = {l.strip() for l in (root / "done.txt").read_text().splitlines() if l.strip()}
    by_image = defaultdict(list)
    meta = {}
    with open(root / "labels.csv") as f:
        for r in csv.DictReader(f):
            iid = r["image_id"]
            if iid not in done or iid not in feats or r["split"] not in ("train", "val"):
                continue
            by_image[iid].append(([float(r[n]) for n in data.PARAM_NAMES], float(r["ssim"]),
                                  float(r["svg_bytes"])))
            meta[iid] = (r["split"], r["class"])

    def target(rows):
        best = max(s for _, s, _ in rows)
        ok = [r for r in rows if r[1] >= best - args.tol]
        return min(ok, key=lambda r: r[2])

    x_start, y_start, cls_start, split_start, give_up = [], [], [], [], []
    x_size, y_size, split_size = [], [], []
    for iid, rows in by_image.items():
        split, cls = meta[iid]
        t = target(rows)
        x_start.append(feats[iid])
        y_start.append(data.encode_params([t[0]])[0])
        cls_start.append(cls)
        split_start.append(split)
        give_up.append(max(s for _, s, _ in rows) - t[1])
        for params, _, b in rows:
            x_size.append(size_inputs(data.encode_params([params])[0].astype(np.float64), feats[iid]))
            y_size.append(np.log2(max(b, 1.0)))
            split_size.append(split)
    x_start, y_start = np.array(x_start), np.array(y_start, dtype=np.float64)
    cls_start, split_start = np.array(cls_start), np.array(split_start)
    x_size, y_size, split_size = np.array(x_size), np.array(y_size), np.array(split_size)

    train = split_start == "train"
    classes = {}
    for c in data.LOGO_CLASSES:
        sel = train & (cls_start == c)
        if sel.sum() >= 30:
            classes[c] = linear_map(*ridge(x_start[sel], y_start[sel], args.alpha))
    pooled = linear_map(*ridge(x_start[train], y_start[train], args.alpha))
    strain = split_size == "train"
    size = linear_map(*ridge(x_size[strain], y_size[strain, None], args.alpha))

    # Val figures.
    sval = split_size == "val"
    pred = apply(size, x_size[sval])[:, 0]
    size_r2 = 1 - ((pred - y_size[sval]) ** 2).sum() / ((y_size[sval] - y_size[sval].mean()) ** 2).sum()
    val = ~train
    start_err = []
    for i in np.flatnonzero(val):
        m = classes.get(cls_start[i], pooled)
        start_err.append(np.abs(np.clip(apply(m, x_start[i][None])[0], 0, 1) - y_start[i]).mean())
    fitted_on = {
        "dataset": root.name,
        "train_images": int(train.sum()),
        "val_images": int(val.sum()),
        "train_labels": int(strain.sum()),
        "tolerance": args.tol,
        "ridge_alpha": args.alpha,
        "target_rule": "per image: the smallest SVG among labelled sets within tolerance of the best SSIM",
        "val_target_ssim_given_up_mean": float(np.mean(np.array(give_up)[val])),
        "val_size_model_r2_log2_bytes": float(size_r2),
        "val_start_mean_abs_error_encoded": float(np.mean(start_err)),
    }
    out = {
        "schema_version": SCHEMA_VERSION,
        "features": FEATURE_NAMES,
        "param_encoding_version": data.ENCODING_VERSION,
        "classes": classes,
        "pooled": pooled,
        "size": size,
        "fitted_on": fitted_on,
    }
    pathlib.Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(fitted_on, indent=1))


if __name__ == "__main__":
    main()
