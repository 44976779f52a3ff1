"""Experiment (not part of the pipeline): how well can ANY function of the parameters predict VTracer's SSIM for one
fixed image, given many of that image's true labels? A ceiling on what a quality model can learn from the
parameters' effect, measured on a dense dataset (e.g. 40 val images x 400 Latin-hypercube parameter sets):

    vectune-dataset build --out DENSE --images 40 --params-per-image 400 --split val --seed 11
    vectune-dataset features --data DENSE
    .venv/bin/python experiments/dense_oracle.py DENSE MODELS_DIR

Within each image, 5-fold cross-validation of gradient boosting on the 8 raw parameters (an oracle that has
seen 80 % of this image's labels), with 24, 80 and all 320 training labels; and the same fitted to the shipped
model's residual (the model plus a per-image correction learned from the image's own labels).

Stop 16 (40 val images x 400 sets, seed 11; the shipped v14 + v15 ensemble): model 0.0339; per-image boosting
on 24 / 80 / 320 labels 0.0353 / 0.0131 / 0.0072; model + per-image correction on 24 / 320 labels 0.0261 /
0.0087; within-image SSIM std 0.0727 (2.5 min at one thread).
"""
import pathlib
import sys

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import KFold

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import data  # noqa: E402
import metrics  # noqa: E402
from export import session  # noqa: E402


def gbm():
    return HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=5,
                                         random_state=0)


def main():
    root, models = sys.argv[1], pathlib.Path(sys.argv[2])
    ds = data.load_dataset(root)
    rows_of = ds.rows_by_image()
    enc, head = session(models / "quality_encoder.onnx"), session(models / "quality_head.onnx")
    exact = data.ExactImages(ds)
    pred = np.zeros(len(ds.ssim), np.float32)
    for i in range(len(ds.image_ids)):
        emb = enc.run(None, {"image": exact[[i]], "stats": ds.stats[[i]]})[0]
        r = rows_of[i]
        pred[r] = head.run(None, {"embedding": emb, "params": ds.params[r].astype(np.float32)})[0][:, 0]
    rep = metrics.regression_report(pred, ds.ssim, ds.row_image)
    print(f"{len(ds.image_ids)} images, {len(ds.ssim)} labels; shipped model: MAE {rep['mae']:.4f} R2 {rep['r2']:.4f} "
          f"rho {rep['spearman_within_image_median']:.4f}")
    out = {k: [] for k in ("model", "sd", "oracle24", "oracle80", "oracle320", "model+corr24", "model+corr320")}
    per_image = []
    for i in range(len(ds.image_ids)):
        r = rows_of[i]
        x, y, p = ds.params_raw[r], ds.ssim[r].astype(np.float64), pred[r].astype(np.float64)
        err = {k: np.zeros(len(r)) for k in out}
        for tr, te in KFold(5, shuffle=True, random_state=0).split(x):
            for n in (24, 80, 320):
                t = tr[:n]
                err[f"oracle{n}"][te] = np.abs(np.clip(gbm().fit(x[t], y[t]).predict(x[te]), 0, 1) - y[te])
            for n in (24, 320):
                t = tr[:n]
                corr = gbm().fit(x[t], (y - p)[t]).predict(x[te])
                err[f"model+corr{n}"][te] = np.abs(np.clip(p[te] + corr, 0, 1) - y[te])
        err["model"] = np.abs(p - y)
        err["sd"] = np.full(len(r), y.std())
        for k in out:
            out[k].append(err[k])
        side = max(ds.width[i], ds.height[i])
        per_image.append((side, ds.source[i], y.std(), err["model"].mean(), err["oracle320"].mean()))
    for k, v in out.items():
        print(f"  {k:>14}: MAE {np.concatenate(v).mean():.4f}")
    print("  per image: longest side, source, SSIM std, model MAE, oracle320 MAE")
    for t in sorted(per_image):
        print(f"    {t[0]:5d} {t[1]:14s} {t[2]:.3f} {t[3]:.4f} {t[4]:.4f}")


if __name__ == "__main__":
    main()
