"""Experiment (not part of the pipeline): is the shipped model's remaining error a smooth function of the
parameters within each image (which a better model could learn), or rough (which no image model reaches)?

    .venv/bin/python experiments/residuals.py DATA MODELS_DIR [--split val] [--images N] [--out F.npz]

Runs the shipped ONNX encoder + shared-embedding head (onnxruntime, exact float32 preprocessing) on every
labelled parameter set of the split's images, then, within each image (25 labels), leave-one-out:
* the residual's image mean (an oracle per-image offset),
* a ridge fit of the residual on the 8 encoded parameters (an oracle image-specific linear effect),
* the same on the parameters' piecewise-linear bins (the head's own basis, 72 columns),
and, without the model, the true SSIM of the nearest labelled parameter set of the same image (how
rough VTracer's response is at the labels' spacing).

Stop 16 (val images of a partial rebuild of the training set, its first 1,012 images: 102 images x 25; the shipped
v14 + v15 ensemble): model 0.0351 / R² 0.851 / rho 0.898; after an oracle offset 0.0321, an oracle linear effect
0.0305, the bins 0.0291; the nearest labelled set's SSIM 0.0666 (within-image std 0.0915).
"""
import argparse
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import data  # noqa: E402
from export import session  # noqa: E402  (one thread, CPU)
import metrics  # noqa: E402


def bins(p, k=8):
    return np.concatenate([p, np.clip(p[:, :, None] * k - np.arange(k), 0, 1).reshape(len(p), -1)], axis=1)


def loo_ridge(x, y, lam):
    """Leave-one-out predictions of a ridge fit (intercept unpenalised) of y on x, exactly (hat matrix)."""
    x = np.concatenate([np.ones((len(x), 1)), x], axis=1)
    pen = lam * np.eye(x.shape[1])
    pen[0, 0] = 0
    h = x @ np.linalg.solve(x.T @ x + pen, x.T)
    fit = h @ y
    return y - (y - fit) / np.clip(1 - np.diag(h), 1e-6, None)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("data")
    p.add_argument("models")
    p.add_argument("--split", default="val")
    p.add_argument("--images", type=int, default=0)
    p.add_argument("--out", default=None)
    a = p.parse_args()
    ds = data.load_dataset(a.data, splits=(a.split,))
    imgs = ds.images_where(a.split)
    if a.images:
        imgs = imgs[:a.images]
    rows_of = ds.rows_by_image()
    enc, head = session(pathlib.Path(a.models) / "quality_encoder.onnx"), session(pathlib.Path(a.models) / "quality_head.onnx")
    exact = data.ExactImages(ds)
    pred = np.full(len(ds.ssim), np.nan, np.float32)
    t = time.time()
    for n, i in enumerate(imgs):
        emb = enc.run(None, {"image": exact[[i]], "stats": ds.stats[[i]]})[0]
        r = rows_of[i]
        pred[r] = head.run(None, {"embedding": emb, "params": ds.params[r].astype(np.float32)})[0][:, 0]
        if n % 200 == 0:
            print(f"  {n}/{len(imgs)} images, {time.time() - t:.0f} s", flush=True)
    rows = ds.rows_of_images(imgs)
    rep = metrics.regression_report(pred[rows], ds.ssim[rows], ds.row_image[rows])
    print(f"{a.split}: {len(imgs)} images, {len(rows)} labels: model MAE {rep['mae']:.4f} R2 {rep['r2']:.4f} "
          f"rho {rep['spearman_within_image_median']:.4f}")
    res_off, res_lin, res_bin, nn1, sd = [], [], [], [], []
    for i in imgs:
        r = rows_of[i]
        y, e = ds.ssim[r].astype(np.float64), (ds.ssim[r] - pred[r]).astype(np.float64)
        x = ds.params[r].astype(np.float64)
        k = len(r)
        res_off.append(e - (e.sum() - e) / (k - 1))
        res_lin.append(e - loo_ridge(x, e, 0.1))
        res_bin.append(e - loo_ridge(bins(x), e, 1.0))
        d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
        np.fill_diagonal(d, np.inf)
        nn1.append(y - y[d.argmin(1)])
        sd.append(np.full(k, y.std()))
    cat = lambda v: np.abs(np.concatenate(v))  # noqa: E731
    print(f"  residual after an oracle per-image offset (leave-one-out):      MAE {cat(res_off).mean():.4f}")
    print(f"  after an oracle per-image linear effect of the parameters (LOO): MAE {cat(res_lin).mean():.4f}")
    print(f"  after the same on the parameters' 8 bins (LOO, ridge 1):         MAE {cat(res_bin).mean():.4f}")
    print(f"  no model: the true SSIM of the nearest labelled set, same image: MAE {cat(nn1).mean():.4f}")
    print(f"  within-image std of the true SSIM (mean over labels):           {np.concatenate(sd).mean():.4f}")
    side = np.maximum(ds.width, ds.height)[ds.row_image[rows]]
    err = np.abs(pred[rows] - ds.ssim[rows])
    for lo, hi in ((0, 128), (128, 224), (224, 400), (400, 700), (700, 99999)):
        m = (side >= lo) & (side < hi)
        print(f"  longest side {lo}-{hi}: {m.sum()} labels, MAE {err[m].mean():.4f}")
    if a.out:
        np.savez(a.out, pred=pred[rows], true=ds.ssim[rows], row_image=ds.row_image[rows], params=ds.params_raw[rows],
                 side=side)


if __name__ == "__main__":
    main()
