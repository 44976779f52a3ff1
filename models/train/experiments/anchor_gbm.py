"""Experiment (not part of the pipeline): what one real VTracer run per image would buy. Every image of
the dataset has a label at VTracer's defaults; gradient boosting gets that true SSIM (the "anchor") beside
the parameters and statistics (and a run's frozen embeddings), scored on the val split's other rows.

    .venv/bin/python experiments/anchor_gbm.py DATA runs/v3

Stop 10, run v3 (val, 806 images; the 19,222 rows whose SSIM differs from the anchor): v3's CNN 0.0433 / 0.792 / 0.877;
params + statistics + anchor 0.0414 / 0.807 / 0.861; + v3's embeddings 0.0358 / 0.854 / 0.868. Knowing
the real SSIM at the defaults still leaves the parameters' effect within the image: MAE 0.036, not 0.02.
"""
import sys
import time
import frozen, numpy as np, pandas as pd, torch, metrics  # noqa: E401
from sklearn.ensemble import HistGradientBoostingRegressor
ds, model, emb = frozen.load(sys.argv[1], sys.argv[2])
lab = pd.read_csv(f'{sys.argv[1]}/labels.csv')
d = lab[(lab.color_precision == 6) & (lab.corner_threshold == 60) & (lab.length_threshold == 4.0) & (lab.max_iterations == 10)
        & (lab.splice_threshold == 45) & (lab.path_precision == 2) & (lab.layer_difference == 16) & (lab.filter_speckle == 4)]
anchor = d.drop_duplicates('image_id').set_index('image_id').ssim
print('images with a defaults row', len(anchor), 'of', len(ds.image_ids))
A = np.array([anchor.get(i, np.nan) for i in ds.image_ids], np.float32)
tr = ds.rows_of_images(ds.images_where('train')); va = ds.rows_of_images(ds.images_where('val'))
# leave the anchor rows themselves out of the scoring (they would be trivially exact)
def not_anchor(rows):
    return rows[np.abs(ds.ssim[rows] - A[ds.row_image[rows]]) > 0]  # approx: drops rows equal to the anchor
va2 = not_anchor(va)
with torch.no_grad():
    cnn = model.head(torch.from_numpy(emb[ds.row_image[va2]]), torch.from_numpy(ds.params[va2]))[:, 0].numpy()
r = metrics.regression_report(cnn, ds.ssim[va2], ds.row_image[va2]); print('v3 CNN on the same rows', round(r['mae'], 4), round(r['r2'], 4), round(r['spearman_within_image_median'], 4))
for name, parts in [('params+stats+anchor', lambda rows: [ds.params[rows], ds.stats[ds.row_image[rows]], A[ds.row_image[rows]][:, None]]),
                    ('params+stats+emb+anchor', lambda rows: [ds.params[rows], ds.stats[ds.row_image[rows]], emb[ds.row_image[rows]], A[ds.row_image[rows]][:, None]])]:
    t = time.time()
    g = HistGradientBoostingRegressor(max_iter=600, learning_rate=0.08, max_leaf_nodes=63, random_state=0)
    g.fit(np.concatenate(parts(tr), axis=1), ds.ssim[tr])
    p = np.clip(g.predict(np.concatenate(parts(va2), axis=1)), 0, 1)
    r = metrics.regression_report(p, ds.ssim[va2], ds.row_image[va2])
    print(name, round(r['mae'], 4), round(r['r2'], 4), round(r['spearman_within_image_median'], 4), round(time.time() - t), flush=True)
