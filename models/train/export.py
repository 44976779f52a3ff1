#!/usr/bin/env python3
"""Exports a training run to ONNX and TorchScript, and verifies the exports.

    python export.py --run runs/NAME [--out runs/NAME/export] [--data DATASET] [--metrics eval/metrics.json]

Files (all fp32, opset 17, dynamic batch named "N"):

* `quality_predictor.onnx`  image [N,3,224,224], params [N,8], stats [N,11] -> ssim [N,1]
* `quality_encoder.onnx`    image, stats -> embedding [N,D]
* `quality_head.onnx`       embedding [1,D] (one image, for all its parameter sets; [N,D] with --tta), params [N,8]
                            -> ssim [N,1]
* `logo_classifier.onnx`    image -> logits [N,4]
* `quality_predictor.torchscript`, `logo_classifier.torchscript` (traced; for libtorch / tch)
* `export.json`: sha256, bytes, shapes, the parity checks; `manifest.json`: the entries in the
  schema of `core/src/manifest.rs` (the lead merges them into models/manifest.json).

`--tta hflip` exports the mean of the model's predictions for the image and its mirror image
(model.TTA_VIEWS): the encoder runs on both as one batch, its embedding holds both (D doubles), the head
scores each half and averages; `--metrics` files must come from `evaluate.py` with the same `--tta`.

`--ensemble RUN` (repeatable) exports the mean of --run's and RUN's predictions (model.ensemble): the
encoder holds every member's encoder and emits their embeddings side by side, the head runs each member's
head on its columns and averages. `--weights float16` folds each BatchNorm into its conv and rounds every
weight to float16 (model.with_weights) before exporting; the ONNX files then store those weights as float16
initializers, each cast to float32 once when the graph loads (`half_initializers`): half the bytes, the same
float32 arithmetic, and TorchScript and ONNX hold the same values. `--metrics` files must come from
`evaluate.py` with the same `--ensemble` and `--weights`.

Verification with onnxruntime, on random inputs and (with --data) real preprocessed images and their
labelled parameter sets: ONNX == PyTorch, combined == head(encoder), TorchScript == PyTorch, each
within --tol (1e-5; the classifier's logits: 1e-5 of their largest magnitude), at batch sizes 1 and
several. The script exits non-zero if any check fails.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import pathlib
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

import data
from evaluate import clean, ensemble_names, load_classifier, load_quality
from model import TTA_VIEWS, WEIGHT_FORMATS

OPSET = 17
MAX_ONNX_BYTES = 2 * 1024 * 1024


class EncoderOnly(nn.Module):
    def __init__(self, enc):
        super().__init__()
        self.enc = enc

    def forward(self, image, stats):
        return self.enc(image, stats)


def export_onnx(module, args, path, input_names, output_names, fixed=()):
    """`fixed`: inputs whose first dimension is not the dynamic batch (the shared head's embedding, [1, D])."""
    torch.onnx.export(
        module, args, str(path), input_names=input_names, output_names=output_names,
        dynamic_axes={n: {0: "N"} for n in input_names + output_names if n not in fixed},
        opset_version=OPSET, do_constant_folding=True, dynamo=False,
    )
    onnx.checker.check_model(onnx.load(str(path)))


def half_initializers(path, min_elements=64):
    """Stores each float32 initializer of the ONNX file at `path` (with at least `min_elements` values) that
    float16 represents exactly as a float16 initializer, cast back to float32 by a Cast node at the head of the
    graph: the graph computes what it did, from half the bytes. Returns the number of initializers stored so."""
    m = onnx.load(str(path))
    g = m.graph
    from onnx import TensorProto, helper, numpy_helper
    keep, casts, n = [], [], 0
    for init in g.initializer:
        a = numpy_helper.to_array(init)
        if init.data_type == TensorProto.FLOAT and a.size >= min_elements:
            h = a.astype(np.float16)
            if np.array_equal(h.astype(np.float32), a):
                keep.append(numpy_helper.from_array(h, init.name + "_f16"))
                casts.append(helper.make_node("Cast", [init.name + "_f16"], [init.name], to=TensorProto.FLOAT,
                                              name=init.name + "_cast"))
                n += 1
                continue
        keep.append(init)
    del g.initializer[:]
    g.initializer.extend(keep)
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(m)
    onnx.save(m, str(path))
    return n


def session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def sha256(path) -> str:
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def graph_io(path):
    m = onnx.load(str(path))
    init = {i.name for i in m.graph.initializer}

    def spec(v):
        dims = [d.dim_param if d.dim_param else d.dim_value for d in v.type.tensor_type.shape.dim]
        return {"name": v.name, "shape": dims}

    return ([spec(v) for v in m.graph.input if v.name not in init], [spec(v) for v in m.graph.output])


def real_inputs(data_dir, n_images=6):
    """Exact fp32 images of the first images of a dataset, with each image's labelled params."""
    ds = data.load_dataset(data_dir, max_images=n_images)
    rows_of = ds.rows_by_image()
    imgs, params, stats = [], [], []
    exact = data.ExactImages(ds)
    for i in range(len(ds.image_ids)):
        t = exact[[i]][0]
        for r in rows_of[i]:
            imgs.append(t)
            params.append(ds.params[r])
            stats.append(ds.stats[i])
    return np.stack(imgs), np.stack(params), np.stack(stats)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True)
    p.add_argument("--out", default=None, help="default RUN/export")
    p.add_argument("--data", default=None, help="dataset for real-input checks (any split; only reads images)")
    p.add_argument("--metrics", action="append", default=[],
                   help="[PREFIX=]metrics.json from evaluate.py, recorded in the manifest as PREFIX_mae, "
                        "PREFIX_r2, PREFIX_spearman_within_image (PREFIX defaults to the split); repeatable")
    p.add_argument("--tol", type=float, default=1e-5)
    p.add_argument("--tta", choices=TTA_VIEWS, default="none",
                   help="test-time views: the mean over the image and its mirror image, inside the graphs")
    p.add_argument("--ensemble", action="append", default=[], metavar="RUN",
                   help="another run whose predictions are averaged with --run's, inside the graphs (repeatable)")
    p.add_argument("--weights", choices=WEIGHT_FORMATS, default="float32",
                   help="float16: BatchNorm folded, weights rounded to float16 and stored so in the ONNX files")
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    run = pathlib.Path(args.run)
    out = pathlib.Path(args.out) if args.out else run / "export"
    out.mkdir(parents=True, exist_ok=True)

    quality, qck = load_quality(run, args.tta, args.ensemble, args.weights)
    clf, cck = load_classifier(run)
    D = quality.encoder.out_dim
    S = data.INPUT_SIZE
    g = torch.Generator().manual_seed(0)
    ex_img = torch.randn(2, 3, S, S, generator=g)
    ex_par = torch.rand(2, 8, generator=g)
    # plausible statistics: the encoder standardises them with the training mean/std
    ex_size = quality.encoder.stats_mean + torch.randn(2, data.IMAGE_STATS, generator=g) / quality.encoder.stats_inv_std

    files = {}
    export_onnx(quality, (ex_img, ex_par, ex_size), out / "quality_predictor.onnx",
                ["image", "params", "stats"], ["ssim"])
    # a fresh wrapper is in training mode, and the exporter restores that mode recursively afterwards:
    # put it in eval mode first, and re-assert eval mode on everything after exporting
    export_onnx(EncoderOnly(quality.encoder).eval(), (ex_img, ex_size), out / "quality_encoder.onnx",
                ["image", "stats"], ["embedding"])
    # a head that shares one embedding row over its parameter sets takes it as [1, D] (the manifest says so)
    shared = quality.head.shares_embedding
    export_onnx(quality.head, (torch.randn(1 if shared else 2, D, generator=g), ex_par), out / "quality_head.onnx",
                ["embedding", "params"], ["ssim"], fixed=("embedding",) if shared else ())
    if args.weights == "float16":
        for f in ("quality_predictor.onnx", "quality_encoder.onnx", "quality_head.onnx"):
            print(f"  {f}: {half_initializers(out / f)} initializers stored as float16")
    quality.eval()
    with torch.no_grad():
        torch.jit.trace(quality, (ex_img, ex_par, ex_size)).save(str(out / "quality_predictor.torchscript"))
    if clf is not None:
        export_onnx(clf, (ex_img,), out / "logo_classifier.onnx", ["image"], ["logits"])
        clf.eval()
        with torch.no_grad():
            torch.jit.trace(clf, (ex_img,)).save(str(out / "logo_classifier.torchscript"))

    # --- verification ---
    quality.eval()
    assert not any(m.training for m in quality.modules())
    cases = {}
    for n in (1, 7):
        cases[f"random_n{n}"] = (
            # within the range the core's preprocessing can produce
            (torch.rand(n, 3, S, S, generator=g) * 4.4 - 2.1).numpy(),
            torch.rand(n, 8, generator=g).numpy(),
            (quality.encoder.stats_mean + torch.randn(n, data.IMAGE_STATS, generator=g)
             / quality.encoder.stats_inv_std).numpy(),
        )
    if args.data:
        cases["real"] = real_inputs(args.data)
    sq, se, sh = (session(out / f) for f in ("quality_predictor.onnx", "quality_encoder.onnx", "quality_head.onnx"))
    tq = torch.jit.load(str(out / "quality_predictor.torchscript"))
    sc = session(out / "logo_classifier.onnx") if clf is not None else None
    tc = torch.jit.load(str(out / "logo_classifier.torchscript")) if clf is not None else None
    checks, ok = [], True

    def check(name, a, b, relative=False):
        """max |a - b| <= tol; with `relative`, tol x max(1, max |b|): unbounded outputs (logits) carry
        float32's relative rounding, ~1e-6 of their size after a CNN's long sums."""
        nonlocal ok
        b = np.asarray(b, np.float64)
        err = float(np.max(np.abs(np.asarray(a, np.float64) - b)))
        passed = err <= args.tol * (max(1.0, float(np.max(np.abs(b)))) if relative else 1.0)
        ok &= passed
        checks.append({"check": name, "max_abs_diff": err, "pass": passed})

    with torch.no_grad():
        for cname, (img, par, size) in cases.items():
            ti, tp, ts = map(torch.from_numpy, (img, par, size))
            ref = quality(ti, tp, ts).numpy()
            ref_emb = quality.encoder(ti, ts).numpy()
            combined = sq.run(["ssim"], {"image": img, "params": par, "stats": size})[0]
            emb = se.run(["embedding"], {"image": img, "stats": size})[0]
            if shared:  # one embedding row per run of the head
                split = np.concatenate([sh.run(["ssim"], {"embedding": emb[r:r + 1], "params": par[r:r + 1]})[0]
                                        for r in range(len(par))])
                # one image's embedding for all the parameter sets at once == the combined model on each
                one = sh.run(["ssim"], {"embedding": emb[:1], "params": par})[0]
                n = len(par)
                check(f"{cname}: quality_head.onnx, one embedding for {n} parameter sets == quality_predictor.onnx",
                      one, sq.run(["ssim"], {"image": np.repeat(img[:1], n, 0), "params": par,
                                             "stats": np.repeat(size[:1], n, 0)})[0])
            else:
                split = sh.run(["ssim"], {"embedding": emb, "params": par})[0]
            check(f"{cname}: quality_predictor.onnx == torch", combined, ref)
            check(f"{cname}: quality_encoder.onnx == torch", emb, ref_emb)
            check(f"{cname}: head(encoder) onnx == quality_predictor.onnx", split, combined)
            check(f"{cname}: quality_predictor.torchscript == torch", tq(ti, tp, ts).numpy(), ref)
            if clf is not None:
                lref = clf(ti).numpy()
                check(f"{cname}: logo_classifier.onnx == torch (relative)", sc.run(["logits"], {"image": img})[0],
                      lref, relative=True)
                check(f"{cname}: logo_classifier.torchscript == torch (relative)", tc(ti).numpy(), lref,
                      relative=True)

    names = ["quality_predictor.onnx", "quality_encoder.onnx", "quality_head.onnx", "logo_classifier.onnx",
             "quality_predictor.torchscript", "logo_classifier.torchscript"]
    for f in names:
        if (out / f).exists():
            files[f] = {"bytes": (out / f).stat().st_size, "sha256": sha256(out / f)}
            if f.endswith(".onnx"):
                files[f]["inputs"], files[f]["outputs"] = graph_io(out / f)
                if files[f]["bytes"] > MAX_ONNX_BYTES:
                    ok = False
                    checks.append({"check": f"{f} <= 2 MiB", "bytes": files[f]["bytes"], "pass": False})

    manifest = build_manifest(files, qck, cck, D, args.metrics, args.tta, args.weights, shared)
    report = {"run": str(run), "opset": OPSET, "torch": torch.__version__, "onnxruntime": ort.__version__,
              "tolerance": args.tol, "embedding_dim": D, "quality_epoch": qck["epoch"],
              "classifier_epoch": cck["epoch"] if cck else None, "files": files, "checks": checks, "all_pass": ok}
    (out / "export.json").write_text(json.dumps(clean(report), indent=1))
    (out / "manifest.json").write_text(json.dumps(clean(manifest), indent=1))
    for c in checks:
        print(f"  {'ok  ' if c['pass'] else 'FAIL'} {c['check']}: {c.get('max_abs_diff', c.get('bytes'))}")
    for f, v in files.items():
        print(f"  {f:32s} {v['bytes']:9d} bytes  sha256 {v['sha256'][:16]}...")
    print(("all checks pass" if ok else "SOME CHECKS FAILED") + f" -> {out}")
    return 0 if ok else 1


PREPROCESSING = {"size": data.INPUT_SIZE, "resize": "area", "letterbox": True, "background": "white",
                 "mean": [float(f"{v:.6g}") for v in data.IMAGENET_MEAN],
                 "std": [float(f"{v:.6g}") for v in data.IMAGENET_STD], "layout": "CHW"}


def build_manifest(files, qck, cck, D, metrics_args, tta="none", weights="float32", shared=False):
    """Entries in the schema of core/src/manifest.rs (schema_version 1)."""
    qmetrics, cmetrics = {}, {}
    for arg in metrics_args:
        prefix, _, path = arg.rpartition("=")
        m = json.loads(pathlib.Path(path).read_text())
        if m.get("tta", "none") != tta:
            raise SystemExit(f"{path}: scored with tta {m.get('tta', 'none')!r}, this export has {tta!r}")
        if m.get("ensemble", []) != ensemble_names(qck) or m.get("weights", "float32") != weights:
            raise SystemExit(f"{path}: scored with ensemble {m.get('ensemble', [])} and {m.get('weights', 'float32')} "
                             f"weights, this export has {ensemble_names(qck)} and {weights}")
        sp = prefix or m.get("split", "eval")
        r = m["quality"]["model"]
        qmetrics.update({f"{sp}_mae": r["mae"], f"{sp}_r2": r["r2"],
                         f"{sp}_spearman_within_image": r["spearman_within_image_median"]})
        c = m.get("classifier") or {}
        if c.get("inferred_agreement") is not None:
            cmetrics[f"{sp}_agreement_with_inferred_class"] = c["inferred_agreement"]
    if cck and cck["metrics"].get("val_accuracy") is not None:
        cmetrics["synthetic_val_accuracy"] = cck["metrics"]["val_accuracy"]
    img = {"name": "image", "shape": ["N", 3, data.INPUT_SIZE, data.INPUT_SIZE]}
    par = {"name": "params", "shape": ["N", data.PARAM_COUNT]}
    size = {"name": "stats", "shape": ["N", data.IMAGE_STATS]}
    emb = {"name": "embedding", "shape": ["N", D]}
    # the head takes one image's embedding once for all its parameter sets (ModelEntry::shares_embedding)
    head_emb = {"name": "embedding", "shape": [1 if shared else "N", D]}
    ssim = {"name": "ssim", "shape": ["N", 1]}
    training = {"dataset": qck.get("dataset"), "epoch": qck["epoch"], "train_mean": qck["train_mean"],
                "test_time_views": tta, "weights": weights,
                **({"ensemble": qck["ensemble"]} if qck.get("ensemble") else {}),
                "stats_input": "stats = vectune_core::preprocess::image_stats: [log2(width)/10, "
                               "log2(height)/10] ++ Features::vector (" + ", ".join(data.FEATURE_NAMES) + ")"}

    def entry(name, task, fmt, inputs, outputs, params=False, image=True, **extra):
        f = files.get(name + ("." + fmt))
        if f is None:
            return None
        e = {"name": name if fmt == "onnx" else f"{name}_torchscript", "task": task, "file": name + "." + fmt,
             "format": fmt, "sha256": f["sha256"], "bytes": f["bytes"], "inputs": inputs, "outputs": outputs}
        if image:
            e["preprocessing"] = PREPROCESSING
        if params:
            e["param_encoding_version"] = data.ENCODING_VERSION
        e.update(extra)
        return e

    entries = [
        entry("quality_predictor", "quality", "onnx", [img, par, size], [ssim], params=True,
              metrics=qmetrics, training=training),
        entry("quality_encoder", "quality_encoder", "onnx", [img, size], [emb]),
        entry("quality_head", "quality_head", "onnx", [head_emb, par], [ssim], params=True, image=False),
        entry("logo_classifier", "classifier", "onnx", [img], [{"name": "logits", "shape": ["N", 4]}],
              labels=data.LOGO_CLASSES, metrics=cmetrics),
        entry("quality_predictor", "quality", "torchscript", [img, par, size], [ssim], params=True,
              metrics=qmetrics),
        entry("logo_classifier", "classifier", "torchscript", [img], [{"name": "logits", "shape": ["N", 4]}],
              labels=data.LOGO_CLASSES, metrics=cmetrics),
    ]
    return {"schema_version": 1, "models": [e for e in entries if e]}


if __name__ == "__main__":
    sys.exit(main())
