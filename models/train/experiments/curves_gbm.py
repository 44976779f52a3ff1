"""Experiment (not part of the pipeline): native-resolution image curves shaped like VTracer's
parameters, as gradient-boosting inputs beside the parameters, statistics and a run's frozen embeddings;
the val split only.

    .venv/bin/python experiments/curves_gbm.py DATA runs/v3

Per image, at full resolution (30 numbers): colour-quantisation error at 1..8 bits and log2 distinct
colours at 2/4/6 bits (`color_precision`); the share of differing 4-neighbour pairs and the share of those
within 1..128 (`layer_difference`); the share of opaque pixels in equal-colour (6-bit) components smaller
than s^2 for s = 1..16, and log2 of the component count (`filter_speckle`); the share of pixels on a colour
boundary.

Stop 10, run v3 (val, 806 images, 2 threads): params + statistics + curves 0.0410 / 0.810 / 0.871 (without
curves 0.0456 / 0.761 / 0.867); + v3's embeddings 0.0375 / 0.831 / 0.877 (without curves 0.0382 / 0.826 /
0.876). The curves carry about what the CNN already sees: nothing near MAE 0.02.
"""
import os
import sys
import time
from multiprocessing import Pool

import numpy as np
import torch
from PIL import Image
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.ensemble import HistGradientBoostingRegressor

import frozen
import metrics

SPECKLE = [1, 2, 3, 4, 6, 8, 12, 16]
LAYER = [1, 2, 4, 8, 16, 32, 64, 128]

def curves(path):
    im = np.asarray(Image.open(path).convert('RGBA')).astype(np.int32)
    h, w = im.shape[:2]
    opaque = im[..., 3] >= 128
    out = []
    rgb = im[..., :3]
    # colour precision b: mean |pixel - pixel with the low 8-b bits cleared| over opaque pixels, and log2 distinct colours
    for b in range(1, 9):
        q = rgb & (0xFF << (8 - b)) & 0xFF
        out.append(float(np.abs(rgb - q)[opaque].mean() / 255.0) if opaque.any() else 0.0)
    for b in (2, 4, 6):
        q = (rgb >> (8 - b))
        key = (q[..., 0] << 16) | (q[..., 1] << 8) | q[..., 2]
        out.append(float(np.log2(1 + len(np.unique(key[opaque])))) if opaque.any() else 0.0)
    # layer difference: share of opaque 4-neighbour pairs with max channel diff in (0, t], among differing pairs
    dh = np.abs(rgb[:, 1:] - rgb[:, :-1]).max(-1)[opaque[:, 1:] & opaque[:, :-1]]
    dv = np.abs(rgb[1:] - rgb[:-1]).max(-1)[opaque[1:] & opaque[:-1]]
    d = np.concatenate([dh, dv]); dd = d[d > 0]
    out.append(float(len(dd) / max(len(d), 1)))
    for t in LAYER:
        out.append(float((dd <= t).mean()) if len(dd) else 1.0)
    # speckle: components of equal 6-bit colour (transparent pixels one colour), 4-connected
    q = rgb >> 2
    key = np.where(opaque, (q[..., 0] << 12) | (q[..., 1] << 6) | q[..., 2], -1)
    idx = np.arange(h * w).reshape(h, w)
    eh = key[:, 1:] == key[:, :-1]; ev = key[1:] == key[:-1]
    r = np.concatenate([idx[:, 1:][eh], idx[1:][ev]]); c = np.concatenate([idx[:, :-1][eh], idx[:-1][ev]])
    g = coo_matrix((np.ones(len(r), np.int8), (r, c)), shape=(h * w, h * w))
    ncomp, lab = connected_components(g, directed=False)
    area = np.bincount(lab)
    pa = area[lab].reshape(h, w)[opaque]
    for s in SPECKLE:
        out.append(float((pa < s * s).mean()) if len(pa) else 0.0)
    out.append(float(np.log2(1 + ncomp)))
    # native-resolution detail: share of opaque pixels with a differing 4-neighbour
    diff = np.zeros((h, w), bool)
    diff[:, 1:] |= key[:, 1:] != key[:, :-1]; diff[:, :-1] |= key[:, 1:] != key[:, :-1]
    diff[1:] |= key[1:] != key[:-1]; diff[:-1] |= key[1:] != key[:-1]
    out.append(float(diff[opaque].mean()) if opaque.any() else 0.0)
    return out


def _one(path):
    return curves(path)


if __name__ == "__main__":
    data_dir, run = sys.argv[1], sys.argv[2]
    ds, model, emb = frozen.load(data_dir, run)
    t = time.time()
    with Pool(2) as pool:
        C = np.array(pool.map(_one, [os.path.join(data_dir, "images", f"{i}.png") for i in ds.image_ids],
                              chunksize=16), np.float32)
    print(f"curves of {len(C)} images in {time.time() - t:.0f} s", flush=True)
    tr = ds.rows_of_images(ds.images_where('train')); va = ds.rows_of_images(ds.images_where('val'))
    def X(rows, with_curves, e):
        parts = [ds.params[rows], ds.stats[ds.row_image[rows]]]
        if with_curves: parts.append(C[ds.row_image[rows]])
        if e: parts.append(emb[ds.row_image[rows]])
        return np.concatenate(parts, axis=1)
    with torch.no_grad():
        cnn = model.head(torch.from_numpy(emb[ds.row_image[va]]), torch.from_numpy(ds.params[va]))[:, 0].numpy()
    for with_curves, e in [(True, False), (True, True)]:
        t = time.time()
        g = HistGradientBoostingRegressor(max_iter=600, learning_rate=0.08, max_leaf_nodes=63, random_state=0)
        g.fit(X(tr, with_curves, e), ds.ssim[tr])
        p = np.clip(g.predict(X(va, with_curves, e)), 0, 1)
        r = metrics.regression_report(p, ds.ssim[va], ds.row_image[va])
        print('curves', with_curves, 'emb', e, round(r['mae'], 4), round(r['r2'], 4), round(r['spearman_within_image_median'], 4), round(time.time() - t), flush=True)
        r = metrics.regression_report(0.5 * p + 0.5 * cnn, ds.ssim[va], ds.row_image[va])
        print('  blend 0.5', round(r['mae'], 4), round(r['r2'], 4), round(r['spearman_within_image_median'], 4), flush=True)
