"""Experiment (not part of the pipeline): how much a gradient-boosted model explains from the
parameters + image statistics, and from those + a run's frozen encoder embeddings; the val split only.

    .venv/bin/python experiments/gbm_embeddings.py DATA runs/v3

Stop 9, run v3, 2 threads (val, 806 images): params+stats MAE 0.0456 / R^2 0.761 / rho 0.867;
+ embeddings 0.0382 / 0.826 / 0.876; 50/50 blend with the CNN 0.0388 / 0.823 / 0.886.
"""
import sys, time
import frozen
import numpy as np, torch
import metrics
from sklearn.ensemble import HistGradientBoostingRegressor
ds, model, emb = frozen.load(sys.argv[1], sys.argv[2])
tr = ds.rows_of_images(ds.images_where('train')); va = ds.rows_of_images(ds.images_where('val'))
def X(rows, with_emb=True):
    parts = [ds.params[rows], ds.stats[ds.row_image[rows]]]
    if with_emb: parts.append(emb[ds.row_image[rows]])
    return np.concatenate(parts, axis=1)
for with_emb in (False, True):
    t = time.time()
    g = HistGradientBoostingRegressor(max_iter=600, learning_rate=0.08, max_leaf_nodes=63, random_state=0)
    g.fit(X(tr, with_emb), ds.ssim[tr])
    p = np.clip(g.predict(X(va, with_emb)), 0, 1)
    r = metrics.regression_report(p, ds.ssim[va], ds.row_image[va])
    print('embeddings' if with_emb else 'params+stats', round(r['mae'], 4), round(r['r2'], 4), round(r['spearman_within_image_median'], 4), round(time.time() - t), flush=True)
    if with_emb:
        with torch.no_grad():
            cnn = model.head(torch.from_numpy(emb[ds.row_image[va]]), torch.from_numpy(ds.params[va]))[:, 0].numpy()
        for w in (0.3, 0.5):
            r = metrics.regression_report(w * p + (1 - w) * cnn, ds.ssim[va], ds.row_image[va])
            print('blend', w, round(r['mae'], 4), round(r['r2'], 4), round(r['spearman_within_image_median'], 4), flush=True)
