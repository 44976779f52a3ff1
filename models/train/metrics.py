"""Metrics shared by train.py and evaluate.py, and batched prediction over a dataset."""
from __future__ import annotations

import numpy as np
import torch
from scipy.stats import rankdata

from data import LOGO_CLASSES, Dataset


def mae(pred, true) -> float:
    return float(np.mean(np.abs(np.asarray(pred, np.float64) - np.asarray(true, np.float64))))


def r2(pred, true) -> float:
    p, t = np.asarray(pred, np.float64), np.asarray(true, np.float64)
    ss_tot = float(np.sum((t - t.mean()) ** 2))
    return float(1.0 - np.sum((p - t) ** 2) / ss_tot) if ss_tot > 0 else float("nan")


def spearman(a, b) -> float:
    """Spearman's rho with average ranks for ties; NaN when either side is constant."""
    ra, rb = rankdata(a), rankdata(b)
    if np.std(ra) == 0 or np.std(rb) == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def within_image_spearman(pred, true, row_image, min_labels: int = 3):
    """Spearman across the parameter sets of each image with >= min_labels labels.

    Returns (median, count of images with a defined rho). A constant prediction or constant truth
    within an image gives no rho: a model that cannot rank scores NaN there, and such images are
    left out of the median (the count says how many remained).
    """
    pred, true, row_image = np.asarray(pred), np.asarray(true), np.asarray(row_image)
    rhos = []
    for i in np.unique(row_image):
        m = row_image == i
        if m.sum() >= min_labels:
            rho = spearman(pred[m], true[m])
            if not np.isnan(rho):
                rhos.append(rho)
    return (float(np.median(rhos)) if rhos else float("nan")), len(rhos)


def regression_report(pred, true, row_image) -> dict:
    med, n = within_image_spearman(pred, true, row_image)
    return {"mae": mae(pred, true), "r2": r2(pred, true), "spearman_within_image_median": med,
            "spearman_images": n, "rows": int(len(true)), "images": int(len(np.unique(row_image)))}


def confusion(pred_cls, true_cls, n: int = len(LOGO_CLASSES)) -> list:
    cm = np.zeros((n, n), dtype=np.int64)
    for p, t in zip(pred_cls, true_cls):
        cm[t, p] += 1
    return cm.tolist()  # rows: true class, columns: predicted class


def batch_images(cache, idx) -> torch.Tensor:
    """float32 images for cache rows `idx` (read in sorted order: memmap locality)."""
    idx = np.asarray(idx)
    order = np.argsort(idx)
    out = np.empty((len(idx),) + cache.shape[1:], dtype=np.float32)
    out[order] = cache[idx[order]]
    return torch.from_numpy(out)


@torch.no_grad()
def predict_quality(model, ds: Dataset, cache, images, batch_images_n: int = 32):
    """Predicted SSIM for every label row of `images`: returns (rows, pred) with rows sorted."""
    model.eval()
    rows_of = ds.rows_by_image()
    stats = torch.from_numpy(ds.stats)
    params = torch.from_numpy(ds.params)
    all_rows, all_pred = [], []
    images = np.asarray(images)
    for s in range(0, len(images), batch_images_n):
        b = images[s:s + batch_images_n]
        rows = np.concatenate([rows_of[i] for i in b])
        local = np.concatenate([np.full(len(rows_of[i]), k) for k, i in enumerate(b)])
        p = model.forward_rows(batch_images(cache, b), stats[b], params[rows], torch.from_numpy(local))
        all_rows.append(rows)
        all_pred.append(p.numpy())
    rows = np.concatenate(all_rows)
    pred = np.concatenate(all_pred)
    order = np.argsort(rows)
    return rows[order], pred[order]


@torch.no_grad()
def predict_classes(model, cache, images, batch_images_n: int = 64):
    """Logits [len(images), 4]."""
    model.eval()
    out = []
    images = np.asarray(images)
    for s in range(0, len(images), batch_images_n):
        out.append(model(batch_images(cache, images[s:s + batch_images_n])).numpy())
    return np.concatenate(out) if out else np.zeros((0, len(LOGO_CLASSES)), np.float32)
