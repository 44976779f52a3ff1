#!/usr/bin/env python3
"""Trains the quality predictor, then the logo classifier, on one `vectune-dataset` directory.

    python train.py --data /path/to/dataset --out runs/NAME --epochs 30

Quality model: split=train only; the epoch is chosen on split=val; split=test is never read.
Each batch holds `--images-per-batch` images, each with `--params-per-image` of its labelled
parameter sets (0 = all of them), and runs the encoder ONCE per image: the cost of a step grows
with the images, not with the labels. Loss: Huber (or MSE) on SSIM + `--rank-weight` x a pairwise
logistic ranking loss between parameter sets of the same image.

Classifier: synthetic images only (their class is known, `class_inferred == false`), split=train
to fit, split=val (synthetic) for accuracy and the confusion matrix.

Writes to --out: `quality.pt` (best epoch), `classifier.pt` (best epoch), `log.json` (config,
per-epoch train/val curves, best epochs, confusion matrix, timings).
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # spinning OpenMP threads hurt on shared cores

import numpy as np
import torch
import torch.nn.functional as F
from torch.optim import swa_utils

import data
import metrics
from model import DEFAULT_WIDTHS, HEADS, STEMS, build_classifier, build_quality, count_params


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="dataset directory built by vectune-dataset")
    p.add_argument("--out", required=True, help="run directory (created)")
    p.add_argument("--epochs", type=int, default=30, help="quality model epochs")
    p.add_argument("--cls-epochs", type=int, default=None, help="classifier epochs (default: --epochs)")
    p.add_argument("--skip-classifier", action="store_true")
    p.add_argument("--images-per-batch", type=int, default=32)
    p.add_argument("--params-per-image", type=int, default=0, help="labels per image per step; 0 = all")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--loss", choices=["huber", "mse"], default="huber")
    p.add_argument("--huber-delta", type=float, default=0.05)
    p.add_argument("--rank-weight", type=float, default=0.005)
    p.add_argument("--rank-tau", type=float, default=0.01, help="SSIM difference scale of the ranking loss")
    p.add_argument("--select", choices=["loss", "mae", "spearman"], default="loss",
                   help="val metric that picks the best epoch")
    p.add_argument("--embed-dim", type=int, default=96)
    p.add_argument("--hidden", type=int, default=256, help="quality head width")
    p.add_argument("--head", choices=HEADS, default="spatial",
                   help="quality head (model.py): pooled (up to v3) or spatial (FiLM on a backbone map, v6)")
    p.add_argument("--map-channels", type=int, default=32, help="the spatial head's map channels (v6: 32)")
    p.add_argument("--map-layer", type=int, default=-3,
                   help="the backbone layer whose output the spatial head's map projects (-1: the last, 7x7; "
                        "-3: 14x14, v6)")
    p.add_argument("--param-bins", type=int, default=0,
                   help="the quality head also sees each parameter piecewise-linearly encoded in this many bins")
    p.add_argument("--ema", type=float, default=0.0,
                   help="keep an exponential moving average of the quality model's weights (and BatchNorm "
                        "statistics) with this decay per step (e.g. 0.998); val scores and checkpoints use the "
                        "average. 0 = off")
    p.add_argument("--film-embedding", action="store_true",
                   help="the spatial head's FiLM (the parameters' per-channel scale and shift of the map) also "
                        "sees the image embedding, so it can scale pixel parameters by the image's size")
    p.add_argument("--widths", type=lambda v: [int(x) for x in v.split(",")], default=list(DEFAULT_WIDTHS),
                   help="the backbone's five stage widths, comma-separated (default %(default)s)")
    p.add_argument("--stem", choices=STEMS, default="pool",
                   help="the backbone's first stage (model.STEMS): pool (up to v3) or conv6s4")
    p.add_argument("--no-flip", action="store_true", help="disable random horizontal flips (and --augment)")
    p.add_argument("--augment", choices=["hflip", "dihedral"], default="hflip",
                   help="quality model views: random horizontal flips, or all eight flips/rotations/transposes "
                        "(the transposed ones swap width and height in the stats); VTracer's SSIM changes by "
                        "~0.005 on average under any of them (experiments/dihedral_labels.py)")
    p.add_argument("--max-images", type=int, default=None, help="use only the first N complete images")
    p.add_argument("--train-fraction", type=float, default=1.0,
                   help="train on this random share of the train images (val unchanged): learning curves")
    p.add_argument("--max-steps", type=int, default=None, help="stop each epoch after N steps (smoke)")
    p.add_argument("--threads", type=int, default=0, help="torch threads; 0 = torch's default")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", default=None, help="cache root (default models/train/cache)")
    return p.parse_args(argv)


def rank_loss(pred, true, row_image, tau: float, min_diff: float = 1e-3):
    """Pairwise logistic loss over pairs of rows of the same image whose SSIMs differ."""
    dp = pred[:, None] - pred[None, :]
    dt = true[:, None] - true[None, :]
    valid = (row_image[:, None] == row_image[None, :]) & (dt.abs() > min_diff)
    if not valid.any():
        return pred.sum() * 0.0
    return F.softplus(-torch.sign(dt[valid]) * dp[valid] / tau).mean()


def point_loss(pred, true, args):
    if args.loss == "mse":
        return F.mse_loss(pred, true)
    return F.huber_loss(pred, true, delta=args.huber_delta)


def flip_some(images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    m = torch.rand(images.shape[0], generator=gen) < 0.5
    if m.any():
        images[m] = images[m].flip(-1)
    return images


#: stats columns that swap when an image is transposed (data.IMAGE_STATS layout: size_features (log2 w,
#: log2 h), then data.FEATURE_NAMES): the widths and the heights
_SIZE_COLUMNS = 2
TRANSPOSE_STATS = ([0, _SIZE_COLUMNS + data.FEATURE_NAMES.index("log2_width")],
                   [1, _SIZE_COLUMNS + data.FEATURE_NAMES.index("log2_height")])


def dihedral_some(images: torch.Tensor, stats: torch.Tensor, gen: torch.Generator):
    """Each image (and its stats) in one of the eight symmetries of the square, chosen at random."""
    images, stats = images.clone(), stats.clone()
    k = torch.randint(0, 8, (images.shape[0],), generator=gen)
    h, v, t = (k & 1).bool(), (k & 2).bool(), (k & 4).bool()
    if h.any():
        images[h] = images[h].flip(-1)
    if v.any():
        images[v] = images[v].flip(-2)
    if t.any():
        images[t] = images[t].transpose(-1, -2)
        a, b = TRANSPOSE_STATS
        st = stats[t]
        st[:, a + b] = st[:, b + a]
        stats[t] = st
    return images, stats


def cosine_lr(opt, base_lr, step, total, warmup):
    lr = base_lr * (step + 1) / warmup if step < warmup else \
        base_lr * 0.5 * (1 + np.cos(np.pi * (step - warmup) / max(1, total - warmup)))
    for g in opt.param_groups:
        g["lr"] = lr


def train_quality(args, ds, cache, log, out):
    rng = np.random.default_rng(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    train_imgs = ds.images_where("train")
    if args.train_fraction < 1.0:  # a learning-curve point: the same val images, fewer train images
        keep = np.random.default_rng(1000 + args.seed).permutation(len(train_imgs))
        train_imgs = np.sort(train_imgs[keep[:max(1, round(len(train_imgs) * args.train_fraction))]])
    val_imgs = ds.images_where("val")
    if len(train_imgs) == 0:
        raise SystemExit("no split=train images")
    train_rows = ds.rows_of_images(train_imgs)
    train_mean = float(ds.ssim[train_rows].mean())
    train_stats = ds.stats[train_imgs]
    cfg = {"embed_dim": args.embed_dim, "widths": args.widths, "hidden": args.hidden, "init_mean": train_mean,
           "stem": args.stem, "head": args.head, "param_bins": args.param_bins,
           "film_embedding": args.film_embedding,
           "map_channels": args.map_channels, "map_layer": args.map_layer,
           "stats_mean": train_stats.mean(axis=0).tolist(), "stats_std": train_stats.std(axis=0).tolist()}
    model = build_quality(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    if not 0.0 <= args.ema < 1.0:
        raise SystemExit(f"--ema {args.ema}: a decay in [0, 1)")
    # the model scored and saved: the weight average with --ema, else the model itself
    ema = (swa_utils.AveragedModel(model, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(args.ema), use_buffers=True)
           if args.ema else None)
    scored = ema.module if ema is not None else model
    rows_of = ds.rows_by_image()
    stats = torch.from_numpy(ds.stats)
    params = torch.from_numpy(ds.params)
    ssim = torch.from_numpy(ds.ssim)
    steps_per_epoch = int(np.ceil(len(train_imgs) / args.images_per_batch))
    if args.max_steps:
        steps_per_epoch = min(steps_per_epoch, args.max_steps)
    total = steps_per_epoch * args.epochs
    warmup = min(100, max(1, total // 20))
    print(f"quality: {len(train_imgs)} train images ({len(train_rows)} labels), {len(val_imgs)} val images, "
          f"{count_params(model)} parameters, train mean SSIM {train_mean:.4f}", flush=True)
    q = log["quality"] = {"config": cfg, "train_images": int(len(train_imgs)), "train_labels": int(len(train_rows)),
                          "val_images": int(len(val_imgs)), "train_mean": train_mean, "epochs": []}
    best, step = None, 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        order = rng.permutation(train_imgs)
        sums = {"loss": 0.0, "point": 0.0, "rank": 0.0, "abs": 0.0, "rows": 0}
        n_images = 0
        for s in range(steps_per_epoch):
            b = order[s * args.images_per_batch:(s + 1) * args.images_per_batch]
            rows, local = [], []
            for k, i in enumerate(b):
                r = rows_of[i]
                if args.params_per_image and len(r) > args.params_per_image:
                    r = rng.choice(r, args.params_per_image, replace=False)
                rows.append(r)
                local.append(np.full(len(r), k))
            rows = np.concatenate(rows)
            local = torch.from_numpy(np.concatenate(local))
            img, st = metrics.batch_images(cache, b), stats[b]
            if not args.no_flip and args.augment == "dihedral":
                img, st = dihedral_some(img, st, gen)
            elif not args.no_flip:
                img = flip_some(img, gen)
            cosine_lr(opt, args.lr, step, total, warmup)
            pred = model.forward_rows(img, st, params[rows], local)
            y = ssim[rows]
            lp = point_loss(pred, y, args)
            lr_ = rank_loss(pred, y, local, args.rank_tau)
            loss = lp + args.rank_weight * lr_
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if ema is not None:
                ema.update_parameters(model)
            step += 1
            n_images += len(b)
            sums["loss"] += loss.item() * len(rows)
            sums["point"] += lp.item() * len(rows)
            sums["rank"] += lr_.item() * len(rows)
            sums["abs"] += (pred - y).abs().sum().item()
            sums["rows"] += len(rows)
        train_s = time.perf_counter() - t0
        n = max(1, sums["rows"])
        rec = {"epoch": epoch, "train_loss": sums["loss"] / n, "train_point": sums["point"] / n,
               "train_rank": sums["rank"] / n, "train_mae": sums["abs"] / n,
               "train_seconds": train_s, "train_images": n_images, "train_labels": sums["rows"],
               "lr_end": opt.param_groups[0]["lr"]}
        if len(val_imgs):
            t1 = time.perf_counter()
            rows, pred = metrics.predict_quality(scored, ds, cache, val_imgs)
            y = ds.ssim[rows]
            pt, yt, li = torch.from_numpy(pred), torch.from_numpy(y), torch.from_numpy(ds.row_image[rows])
            vl = float(point_loss(pt, yt, args) + args.rank_weight * rank_loss(pt, yt, li, args.rank_tau))
            rep = metrics.regression_report(pred, y, ds.row_image[rows])
            rec.update({"val_loss": vl, "val_mae": rep["mae"], "val_r2": rep["r2"],
                        "val_spearman": rep["spearman_within_image_median"],
                        "val_seconds": time.perf_counter() - t1})
            key = {"loss": vl, "mae": rep["mae"], "spearman": -rep["spearman_within_image_median"]}[args.select]
            key = np.inf if np.isnan(key) else key
        else:
            key = rec["train_loss"]  # no val split: fall back to the last/lowest train loss (logged)
        q["epochs"].append(rec)
        improved = best is None or key < best
        if improved:
            best = key
            q["best_epoch"] = epoch
            torch.save({"kind": "quality", "config": cfg, "state_dict": scored.state_dict(), "epoch": epoch,
                        "train_mean": train_mean, "metrics": rec, "dataset": str(ds.root),
                        "param_encoding_version": data.ENCODING_VERSION, "cache_version": data.CACHE_VERSION,
                        "select": args.select if len(val_imgs) else "train_loss"}, out / "quality.pt")
        print(f"  epoch {epoch:3d}  train loss {rec['train_loss']:.5f} mae {rec['train_mae']:.4f}  "
              + (f"val loss {rec['val_loss']:.5f} mae {rec['val_mae']:.4f} r2 {rec['val_r2']:.3f} "
                 f"rho {rec['val_spearman']:.3f}  " if len(val_imgs) else "")
              + f"{train_s:.1f}s{'  *' if improved else ''}", flush=True)
        write_log(log, out)
    if not len(val_imgs):
        q["warning"] = "no split=val images: best epoch chosen on train loss"


def train_classifier(args, ds, cache, log, out):
    rng = np.random.default_rng(args.seed + 1)
    gen = torch.Generator().manual_seed(args.seed + 1)
    train_imgs = ds.images_where("train", synthetic_only=True)
    val_imgs = ds.images_where("val", synthetic_only=True)
    c = log["classifier"] = {"train_images": int(len(train_imgs)), "val_images": int(len(val_imgs)),
                             "labels": data.LOGO_CLASSES, "epochs": []}
    if len(train_imgs) == 0:
        c["skipped"] = "no synthetic split=train images"
        print("classifier: skipped (no synthetic train images)")
        return
    cfg = {"hidden": 64}
    model = build_classifier(cfg)
    epochs = args.cls_epochs if args.cls_epochs is not None else args.epochs
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    labels = torch.from_numpy(ds.cls)
    bsz = args.images_per_batch
    steps_per_epoch = int(np.ceil(len(train_imgs) / bsz))
    if args.max_steps:
        steps_per_epoch = min(steps_per_epoch, args.max_steps)
    total = steps_per_epoch * epochs
    warmup = min(100, max(1, total // 20))
    counts = np.bincount(ds.cls[train_imgs], minlength=len(data.LOGO_CLASSES))
    print(f"classifier: {len(train_imgs)} synthetic train images {counts.tolist()}, "
          f"{len(val_imgs)} synthetic val images, {count_params(model)} parameters", flush=True)
    best, step = None, 0
    for epoch in range(1, epochs + 1):
        model.train()
        t0 = time.perf_counter()
        order = rng.permutation(train_imgs)
        tot_loss, tot_ok, tot_n = 0.0, 0, 0
        for s in range(steps_per_epoch):
            b = order[s * bsz:(s + 1) * bsz]
            img = metrics.batch_images(cache, b)
            if not args.no_flip:
                img = flip_some(img, gen)
            cosine_lr(opt, args.lr, step, total, warmup)
            logits = model(img)
            y = labels[b]
            loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            tot_loss += loss.item() * len(b)
            tot_ok += int((logits.argmax(1) == y).sum())
            tot_n += len(b)
        rec = {"epoch": epoch, "train_loss": tot_loss / max(1, tot_n), "train_accuracy": tot_ok / max(1, tot_n),
               "train_seconds": time.perf_counter() - t0}
        if len(val_imgs):
            logits = metrics.predict_classes(model, cache, val_imgs)
            y = ds.cls[val_imgs]
            rec["val_loss"] = float(F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(y)))
            rec["val_accuracy"] = float((logits.argmax(1) == y).mean())
            key = (-rec["val_accuracy"], rec["val_loss"])
        else:
            key = (-rec["train_accuracy"], rec["train_loss"])
        c["epochs"].append(rec)
        improved = best is None or key < best
        if improved:
            best = key
            c["best_epoch"] = epoch
            if len(val_imgs):
                c["confusion_val"] = metrics.confusion(logits.argmax(1), y)
                c["val_accuracy"] = rec["val_accuracy"]
            torch.save({"kind": "classifier", "config": cfg, "state_dict": model.state_dict(), "epoch": epoch,
                        "labels": data.LOGO_CLASSES, "metrics": rec, "dataset": str(ds.root)},
                       out / "classifier.pt")
        print(f"  epoch {epoch:3d}  train loss {rec['train_loss']:.4f} acc {rec['train_accuracy']:.3f}  "
              + (f"val loss {rec['val_loss']:.4f} acc {rec['val_accuracy']:.3f}  " if len(val_imgs) else "")
              + f"{rec['train_seconds']:.1f}s{'  *' if improved else ''}", flush=True)
        write_log(log, out)


def write_log(log, out):
    tmp = out / "log.json.tmp"
    tmp.write_text(json.dumps(log, indent=1))
    tmp.replace(out / "log.json")


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    ds = data.load_dataset(args.data, max_images=args.max_images, splits=("train", "val"))
    cache = data.image_cache(ds, args.cache)
    log = {"args": vars(args), "dataset": str(ds.root), "images": len(ds.image_ids), "labels": int(len(ds.ssim)),
           "torch": torch.__version__, "threads": torch.get_num_threads(),
           "param_encoding_version": data.ENCODING_VERSION, "cache_version": data.CACHE_VERSION,
           "cache_seconds": time.perf_counter() - t0}
    print(f"{ds.root}: {len(ds.image_ids)} images, {len(ds.ssim)} labels; cache ready in "
          f"{log['cache_seconds']:.1f}s; {torch.get_num_threads()} torch threads", flush=True)
    train_quality(args, ds, cache, log, out)
    if not args.skip_classifier:
        train_classifier(args, ds, cache, log, out)
    log["total_seconds"] = time.perf_counter() - t0
    write_log(log, out)
    print(f"done in {log['total_seconds']:.1f}s -> {out}")


if __name__ == "__main__":
    main()
