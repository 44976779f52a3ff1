"""Tests of the training tooling: `.venv/bin/python -m pytest -q test_pipeline.py` (about a minute, 1 thread).

1. Preprocessing equals the core's: the golden fixture (tests/fixtures/golden/preprocess.json) within
   1e-4 per value, and the reference loop implementation (make_golden.py) on awkward sizes.
2. Parameter encoding equals `Params::encode`: the schema ranges parsed from core/src/params.rs, the
   values the Rust unit tests assert, and rows of a real labels.csv.
3. End to end on a tiny generated dataset: train 1 epoch (quality + classifier), evaluate, export,
   ONNX/TorchScript parity within 1e-5.
"""
import csv
import importlib.util
import json
import os
import pathlib
import re
import shutil
import subprocess

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pytest
from PIL import Image, ImageDraw

import data

GOLDEN = data.REPO / "tests" / "fixtures" / "golden"


def _make_golden_module():
    spec = importlib.util.spec_from_file_location("make_golden", GOLDEN / "make_golden.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# --- 1. preprocessing -------------------------------------------------------------------------------

def test_preprocess_matches_golden_fixture():
    g = json.loads((GOLDEN / "preprocess.json").read_text())
    rgba = data.load_rgba(GOLDEN / g["image"])
    assert rgba.shape == (g["height"], g["width"], 4)
    t = data.preprocess(rgba)
    assert t.shape == tuple(g["shape"]) and t.dtype == np.float32
    flat = t.reshape(-1).astype(np.float64)
    tol = g["tolerance"]["value"]
    assert max(abs(flat[i] - v) for i, v in g["samples"]) <= tol
    assert abs(flat.min() - g["min"]) <= tol and abs(flat.max() - g["max"]) <= tol
    for c in range(3):
        assert abs(t[c].mean() - g["channel_mean"][c]) <= tol
    rel = g["tolerance"]["sum_relative"]
    assert abs(flat.sum() - g["sum"]) <= rel * abs(g["sum"])
    assert abs(np.abs(flat).sum() - g["sum_abs"]) <= rel * g["sum_abs"]
    assert abs((flat ** 2).sum() - g["sum_sq"]) <= rel * g["sum_sq"]


@pytest.mark.parametrize("w,h", [(1, 1), (1, 5), (7, 300), (300, 7), (61, 37), (224, 224), (225, 223), (517, 1024)])
def test_preprocess_matches_reference_loop(w, h):
    mg = _make_golden_module()
    rng = np.random.default_rng(w * 1000 + h)
    rgba = rng.integers(0, 256, size=(h, w, 4), dtype=np.uint8)
    rgba[..., 3][rng.random((h, w)) < 0.3] = 0
    assert np.abs(data.preprocess(rgba) - mg.preprocess(rgba)).max() <= 1e-5


def test_transparent_is_white():
    t = data.preprocess(np.zeros((9, 13, 4), np.uint8))
    white = (1.0 - data.IMAGENET_MEAN) / data.IMAGENET_STD
    assert np.abs(t - white[:, None, None]).max() < 1e-5


# --- 2. parameter encoding -----------------------------------------------------------------------

def _rust_schema():
    """(name, min, max) of each SCHEMA row of core/src/params.rs, in order."""
    src = (data.REPO / "core" / "src" / "params.rs").read_text()
    table = src[src.index("pub const SCHEMA"):]
    table = table[:table.index("];")]
    rows = re.findall(r'name:\s*"(\w+)".*?min:\s*([-\d.]+),\s*max:\s*([-\d.]+),', table, re.S)
    return [(n, float(lo), float(hi)) for n, lo, hi in rows]


def test_schema_matches_rust_source():
    assert _rust_schema() == data.PARAM_SCHEMA
    src = (data.REPO / "core" / "src" / "params.rs").read_text()
    assert re.search(r"pub const ENCODING_VERSION: u32 = (\d+);", src).group(1) == str(data.ENCODING_VERSION)
    man = (data.REPO / "core" / "src" / "manifest.rs").read_text()
    classes = re.search(r"LOGO_CLASSES: \[&str; 4\] = \[(.*?)\];", man).group(1)
    assert re.findall(r'"(\w+)"', classes) == data.LOGO_CLASSES


def test_schema_matches_cli_if_built():
    exe = data.REPO / "target" / "release" / "vectune"
    if not exe.exists():
        pytest.skip("target/release/vectune not built")
    rows = json.loads(subprocess.run([str(exe), "params", "--json"], check=True, capture_output=True).stdout)
    assert [(r["name"], r["min"], r["max"]) for r in rows] == data.PARAM_SCHEMA


def test_encode_params_matches_core():
    # Params::default().encode(): the values core's `encode_is_normalised_in_order` asserts
    defaults = [6, 60, 4.0, 10, 45, 2, 16, 4]
    e = data.encode_params([defaults])[0]
    assert e.dtype == np.float32
    assert e[0] == np.float32((6.0 - 1.0) / 7.0) and e[7] == np.float32(4.0 / 16.0)
    assert e[2] == np.float32((4.0 - 3.5) / 6.5)
    lo = data.encode_params([[s[1] for s in data.PARAM_SCHEMA]])[0]
    hi = data.encode_params([[s[2] for s in data.PARAM_SCHEMA]])[0]
    assert (lo == 0).all() and (hi == 1).all()


def test_encode_params_on_dataset_rows():
    root = data.REPO / "models" / "data" / "eval"
    with open(root / "labels.csv", newline="") as f:
        rows = [r for _, r in zip(range(20), csv.DictReader(f))]
    raw = [[float(r[n]) for n in data.PARAM_NAMES] for r in rows]
    enc = data.encode_params(raw)
    for r, e in zip(raw, enc):
        for k, (name, lo, hi) in enumerate(data.PARAM_SCHEMA):
            assert e[k] == np.float32((r[k] - lo) / (hi - lo)), name  # f64 arithmetic, one f32 rounding
            assert 0.0 <= e[k] <= 1.0
    ds = data.load_dataset(root, max_images=3)
    np.testing.assert_array_equal(ds.params[: len(enc)], enc[: len(ds.params)])


def test_size_features():
    # the values core's `size_features_are_log_scaled` asserts (f32)
    assert data.size_features(1024, 64).tolist() == np.array([1.0, 0.6], np.float32).tolist()
    assert data.size_features(0, 1).tolist() == [0.0, 0.0]
    assert data.size_features(np.array([2, 4]), np.array([8, 16])).shape == (2, 2)


# --- 3. end to end ---------------------------------------------------------------------------------

HEADER = ("image_id,source,class,class_inferred,brand,split,width,height,transparent," + ",".join(data.PARAM_NAMES)
          + ",ssim,svg_bytes,path_count,vectorize_ms").split(",")


def _tiny_dataset(root: pathlib.Path, n_images=12, labels_per_image=5):
    """A dataset in vectune-dataset's layout with drawn images and made-up (but learnable) labels."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    rows, done = [], []
    for i in range(n_images):
        cls = data.LOGO_CLASSES[i % 4]
        w, h = int(rng.integers(40, 200)), int(rng.integers(40, 200))
        im = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        d = ImageDraw.Draw(im)
        for _ in range(1 + i % 5):
            x0, y0 = int(rng.integers(0, w // 2)), int(rng.integers(0, h // 2))
            d.ellipse([x0, y0, x0 + w // 3, y0 + h // 3], fill=tuple(int(v) for v in rng.integers(0, 256, 3)) + (255,))
        iid = f"synthetic-{cls}-{i}"
        im.save(root / "images" / f"{iid}.png")
        split = "val" if i % 4 == 3 and i >= 8 else "train"
        for _ in range(labels_per_image):
            vals = [lo + rng.random() * (hi - lo) for _, lo, hi in data.PARAM_SCHEMA]
            vals = [v if n == "length_threshold" else round(v) for (n, _, _), v in zip(data.PARAM_SCHEMA, vals)]
            enc = data.encode_params([vals])[0]
            ssim = 0.6 + 0.35 * enc[0] - 0.1 * enc[7] + 0.02 * (i % 3)
            rows.append([iid, "synthetic", cls, "false", "", split, w, h, "true", *vals, ssim, 1000, 5, 1.0])
        done.append(iid)
    with open(root / "labels.csv", "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(HEADER)
        wr.writerows(rows)
    (root / "done.txt").write_text("\n".join(done) + "\n")
    # image statistics as `vectune-dataset features` writes them (values: plausible, seeded)
    frng = np.random.default_rng(1)
    with open(root / "features.csv", "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["image_id", *data.FEATURE_NAMES])
        for iid in done:
            wr.writerow([iid, *np.round(frng.uniform(0, 8, len(data.FEATURE_NAMES)), 4)])
    return root


def test_merge_datasets_takes_each_image_once_and_loads_as_one(tmp_path):
    import merge_datasets
    a = _tiny_dataset(tmp_path / "a", n_images=6)
    b = _tiny_dataset(tmp_path / "b", n_images=9)  # its first 6 ids are a's: taken once, from a
    report = merge_datasets.merge(tmp_path / "m", [a, b])
    assert report == [(str(a), 6, 30), (str(b), 3, 15)]
    merged = data.load_dataset(tmp_path / "m")
    assert len(merged.image_ids) == 9 and len(merged.ssim) == 45
    da, db = data.load_dataset(a), data.load_dataset(b)
    assert np.array_equal(merged.ssim[:30], da.ssim)
    assert np.array_equal(merged.ssim[30:], db.ssim[db.row_image >= 6])
    assert np.array_equal(merged.stats[6:], db.stats[6:])
    assert (tmp_path / "m" / "images" / "synthetic-complex-7.png").resolve() == \
        (b / "images" / "synthetic-complex-7.png").resolve()
    with pytest.raises(SystemExit, match="not empty"):
        merge_datasets.merge(tmp_path / "m", [a])
    (b / "features.csv").unlink()
    with pytest.raises(SystemExit, match="no features.csv"):
        merge_datasets.merge(tmp_path / "m2", [a, b])


def test_image_cache_grows_by_shards(tmp_path):
    ds_dir = _tiny_dataset(tmp_path / "ds")
    small = data.load_dataset(ds_dir, max_images=5)
    c1 = data.image_cache(small, tmp_path / "cache", progress=False)
    full = data.load_dataset(ds_dir)
    c2 = data.image_cache(full, tmp_path / "cache", progress=False)
    shards = sorted(p.name for p in c2.dir.glob("shard-*"))
    assert shards == ["shard-0000", "shard-0001"] and c2.shape[0] == 12
    idx = np.array([0, 4, 7, 11])
    exact = data.ExactImages(full)[idx]
    assert np.abs(c2[idx].astype(np.float32) - exact).max() <= 2e-3
    np.testing.assert_array_equal(c1[np.arange(5)], c2[np.arange(5)])


def test_conv6s4_stem_contains_the_pool_stem():
    """model.STEMS: a 2x2 average pool + a 3x3 stride-2 conv (padding 1) is the 6x6 stride-4 conv
    (padding 2) whose weights repeat each 3x3 tap over a 2x2 block, divided by 4: the conv6s4 stem can
    represent every pool-stem backbone exactly, and both reach the same 56 px map."""
    import torch

    from model import Backbone

    torch.manual_seed(0)
    pool = Backbone(stem="pool").eval()
    conv = Backbone(stem="conv6s4").eval()
    for m in pool.modules():  # trained-looking BatchNorm statistics, not the identity
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
    state = pool.state_dict()
    w3 = state.pop("features.1.0.weight")  # [16, 3, 3, 3]
    # the pool stem's layers (AvgPool2d, conv_block, ...) are the conv stem's shifted by one
    shifted = {}
    for k, v in state.items():
        i, rest = k.split(".", 2)[1], k.split(".", 2)[2]
        shifted[f"features.{int(i) - 1}.{rest}"] = v
    shifted["features.0.0.weight"] = w3.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3) / 4
    conv.load_state_dict(shifted)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        assert conv.features[0](x).shape == (2, 16, 56, 56)
        assert torch.allclose(pool(x), conv(x), atol=1e-5)
    with pytest.raises(ValueError, match="unknown stem"):
        Backbone(stem="nope")


@pytest.mark.parametrize("map_layer,side", [(-1, 7), (-3, 14)])
def test_spatial_head_is_one_function_split_or_not(map_layer, side):
    """model.HEADS "spatial": the embedding is the pooled vector ++ the flattened map (D = 96 + channels x side²; the last 7x7 map or the 14x14 one);
    head(encoder) is the combined model, forward_rows (one encoder pass per image, rows gathered) gives the
    same answers, the head reads the map back in the encoder's layout, and the FiLM starts as the identity
    (gamma = beta = 0), so a fresh spatial head sees the map as the encoder made it."""
    import torch

    from model import build_quality

    torch.manual_seed(0)
    m = build_quality({"head": "spatial", "map_channels": 8, "map_layer": map_layer}).eval()
    assert m.encoder.out_dim == 96 + 8 * side * side
    img, stats = torch.randn(3, 3, 224, 224), torch.randn(3, 11)
    params = torch.rand(5, 8)
    rows = torch.tensor([0, 2, 2, 1, 0])
    with torch.no_grad():
        emb = m.encoder(img, stats)
        assert emb.shape == (3, m.encoder.out_dim)
        fmap = m.encoder.backbone.features[:m.encoder.map_index + 1](img)
        assert torch.equal(emb[:, 96:].reshape(3, 8, side, side), m.encoder.map(fmap))
        combined = m(img[rows], params, stats[rows])[:, 0]
        assert torch.allclose(m.forward_rows(img, stats, params, rows), combined, atol=1e-6)
        assert torch.allclose(m.head(emb[rows], params)[:, 0], combined, atol=1e-6)
        gamma_beta = m.head.film(params)
        assert torch.count_nonzero(gamma_beta) == 0
    # the parameters change the answer through both paths once the FiLM has weights
    with torch.no_grad():
        m.head.film[-1].weight.normal_()
        a = m.head(emb[:1].repeat(2, 1), torch.stack([params[0], params[1]]))
    assert not torch.allclose(a[0], a[1])
    assert build_quality({}).encoder.map is None  # the pooled head (up to v3) is unchanged


def test_param_bins_encode_each_parameter_piecewise_linearly():
    """`param_bins` K: the head sees each parameter x and clamp(x K - k, 0, 1) for k < K, which sum back to
    x K: a piecewise-linear basis with knots at k / K. A checkpoint without the key has no bins and the
    same state_dict keys as before (the bin starts are not saved)."""
    import torch

    from model import build_quality

    m = build_quality({"head": "spatial", "map_channels": 4, "map_layer": -3, "param_bins": 4}).eval()
    p = torch.tensor([[0.0, 0.1, 0.25, 0.3, 0.5, 0.8, 0.99, 1.0]])
    e = m.head.encode_params(p)
    assert e.shape == (1, 8 * 5)
    assert torch.equal(e[:, :8], p)
    bins = e[0, 8:].reshape(8, 4)
    assert torch.allclose(bins.sum(1), p[0] * 4)
    assert bins[2].tolist() == [1.0, 0.0, 0.0, 0.0]  # 0.25: the first bin full, the rest empty
    assert torch.allclose(bins[3], torch.tensor([1.0, 0.2, 0.0, 0.0]))
    with torch.no_grad():
        img, stats = torch.randn(2, 3, 224, 224), torch.randn(2, 11)
        params = torch.rand(2, 8)
        assert torch.allclose(m.head(m.encoder(img, stats), params), m(img, params, stats), atol=1e-6)
    plain = build_quality({"head": "spatial", "map_channels": 4, "map_layer": -3})
    assert plain.head.encode_params(p) is p
    assert not any("bin_starts" in k for k in plain.state_dict())


def test_tta_hflip_is_the_mean_of_the_image_and_its_mirror_split_or_not():
    """`with_tta(model, "hflip")` (export.py/evaluate.py --tta hflip): the prediction is the mean of the plain
    model's for the image and for its mirror image; the encoder's embedding holds both views side by side,
    and the head on it equals the combined model. The FiLM may also see the embedding (`film_embedding`)."""
    import copy

    import torch

    from model import build_quality, with_tta

    for cfg in ({"head": "spatial", "map_channels": 4, "map_layer": -3, "param_bins": 4},
                {"head": "spatial", "map_channels": 4, "map_layer": -3, "film_embedding": True},
                {"head": "pooled"}):
        torch.manual_seed(0)
        plain = build_quality(cfg).eval()
        # a trained model's FiLM is not zero: make the parameters matter
        with torch.no_grad():
            for prm in plain.head.parameters():
                prm.add_(0.1 * torch.randn_like(prm))
        tta = with_tta(copy.deepcopy(plain), "hflip").eval()
        img, stats, params = torch.randn(3, 3, 224, 224), torch.randn(3, 11), torch.rand(3, 8)
        with torch.no_grad():
            want = (plain(img, params, stats) + plain(img.flip(3), params, stats)) / 2
            got = tta(img, params, stats)
            emb = tta.encoder(img, stats)
            assert emb.shape == (3, 2 * plain.encoder.out_dim)
            assert torch.allclose(emb[:, :plain.encoder.out_dim], plain.encoder(img, stats), atol=1e-6)
            assert torch.allclose(got, want, atol=1e-6)
            assert torch.allclose(tta.head(emb, params), got, atol=1e-6)
            assert (got - plain(img, params, stats)).abs().max() > 1e-5  # the mirror counts
    with pytest.raises(ValueError, match="tta"):
        with_tta(build_quality({"head": "pooled"}), "vflip")


def test_ensemble_is_the_mean_of_its_members_split_or_not():
    """`ensemble([a, b])` (export.py/evaluate.py --ensemble): the prediction is the mean of the members'; the
    encoder's embedding holds theirs side by side, and the head on it equals the combined model."""
    import copy

    import torch

    from model import build_quality, ensemble

    cfg = {"head": "spatial", "map_channels": 4, "map_layer": -3, "param_bins": 4}
    members = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        m = build_quality(cfg).eval()
        with torch.no_grad():
            for prm in m.head.parameters():
                prm.add_(0.1 * torch.randn_like(prm))
        members.append(m)
    a, b = (copy.deepcopy(m) for m in members)
    ens = ensemble(members).eval()
    img, stats, params = torch.randn(3, 3, 224, 224), torch.randn(3, 11), torch.rand(3, 8)
    with torch.no_grad():
        want = (a(img, params, stats) + b(img, params, stats)) / 2
        got = ens(img, params, stats)
        emb = ens.encoder(img, stats)
        assert emb.shape == (3, 2 * a.encoder.out_dim)
        assert torch.allclose(emb[:, a.encoder.out_dim:], b.encoder(img, stats), atol=1e-6)
        assert torch.allclose(got, want, atol=1e-6)
        assert torch.allclose(ens.head(emb, params), got, atol=1e-6)
        assert (got - a(img, params, stats)).abs().max() > 1e-5  # the second member counts
    assert ensemble([a]) is a


def test_float16_weights_fold_batchnorm_and_are_exact_in_half_precision(tmp_path):
    """with_weights(model, "float16") folds every BatchNorm into its conv and rounds the weights to float16
    (the function barely moves); export.half_initializers then stores them as float16 in the ONNX file, which
    computes exactly what the float32 file did, from fewer bytes."""
    import torch
    from torch import nn

    import export
    from model import build_quality, with_weights

    torch.manual_seed(0)
    m = build_quality({"head": "spatial", "map_channels": 4, "map_layer": -3, "param_bins": 4}).eval()
    with torch.no_grad():  # BatchNorm statistics a trained model would have
        for bn in [x for x in m.modules() if isinstance(x, nn.BatchNorm2d)]:
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
    img, stats, params = torch.randn(2, 3, 224, 224), torch.randn(2, 11), torch.rand(2, 8)
    with torch.no_grad():
        before = m(img, params, stats)
        with_weights(m, "float16")
        after = m(img, params, stats)
    assert not any(isinstance(x, nn.BatchNorm2d) for x in m.modules())
    assert (after - before).abs().max() < 1e-2
    for p in m.parameters():
        assert torch.equal(p.half().float(), p)
    path = tmp_path / "q.onnx"
    export.export_onnx(m, (img, params, stats), path, ["image", "params", "stats"], ["ssim"])
    full = path.stat().st_size
    want = export.session(path).run(None, {"image": img.numpy(), "params": params.numpy(), "stats": stats.numpy()})[0]
    assert export.half_initializers(path) > 0
    assert path.stat().st_size < 0.7 * full
    got = export.session(path).run(None, {"image": img.numpy(), "params": params.numpy(), "stats": stats.numpy()})[0]
    assert np.array_equal(got, want)
    with pytest.raises(ValueError, match="weights"):
        with_weights(m, "int8")


def test_dihedral_views_move_images_and_stats_together():
    """train.py --augment dihedral: every image becomes one of its 8 flips/rotations; a transposed one also
    swaps width and height in its statistics (both size columns and both feature columns)."""
    import torch

    import train

    g = torch.Generator().manual_seed(0)
    img = torch.arange(64 * 3 * 5 * 5, dtype=torch.float32).reshape(64, 3, 5, 5)
    stats = torch.arange(64 * 11, dtype=torch.float32).reshape(64, 11)
    out, st = train.dihedral_some(img, stats, g)
    views = set()
    for i in range(64):
        x = img[i]
        cands = {}
        for t in (False, True):
            for v in (False, True):
                for h in (False, True):
                    y = x.flip(-1) if h else x
                    y = y.flip(-2) if v else y
                    cands[(h, v, t)] = y.transpose(-1, -2) if t else y
        key = next(k for k, y in cands.items() if torch.equal(y, out[i]))
        views.add(key)
        swapped = stats[i].clone()
        if key[2]:
            swapped[[0, 1, 2, 3]] = stats[i][[1, 0, 3, 2]]
        assert torch.equal(st[i], swapped)
    assert len(views) == 8
    assert torch.equal(img, torch.arange(64 * 3 * 5 * 5, dtype=torch.float32).reshape(64, 3, 5, 5))  # not in place


def test_publish_takes_training_facts_from_the_logs(tmp_path):
    """publish.py writes training.data from the runs' logs (never a hand-written summary): the quality run's
    best epoch, epochs, images and seconds, the classifier run's, and the dataset's counts; a run without a
    finished classifier is refused unless another run is named."""
    import publish

    stats = {"labels": 50, "images": 2, "images_by_source": {"synthetic": 2}, "labels_by_split": {"train": 50}}
    q = {"train_images": 2, "train_labels": 50, "val_images": 0, "best_epoch": 2,
         "epochs": [{"train_seconds": 1.0, "val_seconds": 0.5}, {"train_seconds": 2.0, "val_seconds": 0.5}]}
    c = {"train_images": 1, "val_images": 0, "best_epoch": 1, "epochs": [{"train_seconds": 3.0}]}
    qrun, crun = tmp_path / "q", tmp_path / "c"
    qrun.mkdir()
    crun.mkdir()
    (qrun / "log.json").write_text(json.dumps({"quality": q, "threads": 2, "torch": "x"}))
    (crun / "log.json").write_text(json.dumps({"quality": q, "classifier": c}))
    out = publish.training_summary(stats, qrun, crun)
    assert out["dataset"] == "vectune-dataset build --out DIR (2 images x 25 parameter sets)"
    built_by = "merge_datasets.py (build + build --exclude-seen)"
    assert publish.training_summary(stats, qrun, crun, built_by)["dataset"].startswith(built_by + " (2 images")
    assert (out["quality_run"], out["quality_best_epoch"], out["quality_epochs"]) == ("q", 2, 2)
    assert out["quality_training_seconds"] == 4.0
    assert (out["classifier_run"], out["classifier_best_epoch"], out["classifier_training_seconds"]) == ("c", 1, 3.0)
    assert out["dataset_labels"] == 50 and out["threads"] == 2
    with pytest.raises(SystemExit, match="no finished classifier"):
        publish.training_summary(stats, qrun, qrun)


def test_end_to_end_smoke(tmp_path):
    import torch

    torch.set_num_threads(1)
    import evaluate
    import export
    import train

    ds_dir = _tiny_dataset(tmp_path / "ds")
    run = tmp_path / "run"
    train.main(["--data", str(ds_dir), "--out", str(run), "--epochs", "1", "--images-per-batch", "4",
                "--threads", "1", "--cache", str(tmp_path / "cache")])
    log = json.loads((run / "log.json").read_text())
    assert log["quality"]["best_epoch"] == 1 and log["classifier"]["best_epoch"] == 1
    assert np.isfinite(log["quality"]["epochs"][0]["val_mae"])
    assert (run / "quality.pt").exists() and (run / "classifier.pt").exists()
    assert len(log["classifier"]["confusion_val"]) == 4

    res = evaluate.evaluate(run, ds_dir, "val", tmp_path / "eval")
    assert res["quality"]["model"]["rows"] > 0 and res["quality"]["heuristic"] is None
    assert (tmp_path / "eval" / "calibration.png").exists() and (tmp_path / "eval" / "curves.png").exists()

    out = tmp_path / "export"
    assert export.main(["--run", str(run), "--out", str(out), "--data", str(ds_dir),
                        "--metrics", str(tmp_path / "eval" / "metrics.json")]) == 0
    rep = json.loads((out / "export.json").read_text())
    assert rep["all_pass"] and all(c["pass"] for c in rep["checks"])
    ds = data.load_dataset(ds_dir)
    assert ds.stats.shape == (12, data.IMAGE_STATS)
    np.testing.assert_array_equal(ds.stats[:, :2], ds.size)
    assert any(c["check"].startswith("real:") for c in rep["checks"])
    for f in ("quality_predictor.onnx", "quality_encoder.onnx", "quality_head.onnx", "logo_classifier.onnx"):
        assert rep["files"][f]["bytes"] <= 2 * 1024 * 1024
    io = rep["files"]["quality_predictor.onnx"]
    assert io["inputs"] == [{"name": "image", "shape": ["N", 3, 224, 224]}, {"name": "params", "shape": ["N", 8]},
                            {"name": "stats", "shape": ["N", 11]}]
    assert io["outputs"] == [{"name": "ssim", "shape": ["N", 1]}]
    man = json.loads((out / "manifest.json").read_text())
    assert man["schema_version"] == 1 and {m["name"] for m in man["models"]} >= {
        "quality_predictor", "quality_encoder", "quality_head", "logo_classifier"}
    shutil.rmtree(tmp_path / "cache")


def test_ema_training_and_tta_export(tmp_path):
    """train.py --ema saves the weight average (not the last weights); evaluate/export --tta hflip score and
    export the flip-averaged model, its embedding twice as wide; metrics scored without the views are refused."""
    import torch

    torch.set_num_threads(1)
    import evaluate
    import export
    import train

    ds_dir = _tiny_dataset(tmp_path / "ds")
    runs = {}
    for name, extra in (("plain", []), ("ema", ["--ema", "0.9"])):
        runs[name] = tmp_path / name
        train.main(["--data", str(ds_dir), "--out", str(runs[name]), "--epochs", "1", "--images-per-batch", "4",
                    "--threads", "1", "--cache", str(tmp_path / "cache"), "--skip-classifier", "--head", "spatial",
                    "--map-channels", "4", "--map-layer", "-3", "--seed", "3"] + extra)
    sd = {k: torch.load(r / "quality.pt", weights_only=False)["state_dict"] for k, r in runs.items()}
    assert sd["plain"].keys() == sd["ema"].keys()
    assert any(not torch.equal(sd["plain"][k], sd["ema"][k]) for k in sd["plain"])

    run = runs["ema"]
    res = evaluate.evaluate(run, ds_dir, "val", tmp_path / "eval-tta", tta="hflip")
    assert res["tta"] == "hflip" and res["quality"]["model"]["rows"] > 0
    evaluate.evaluate(run, ds_dir, "val", tmp_path / "eval-plain")
    out = tmp_path / "export"
    assert export.main(["--run", str(run), "--out", str(out), "--data", str(ds_dir), "--tta", "hflip",
                        "--metrics", str(tmp_path / "eval-tta" / "metrics.json")]) == 0
    rep = json.loads((out / "export.json").read_text())
    plain_dim = evaluate.load_quality(run)[0].encoder.out_dim
    assert rep["all_pass"] and rep["embedding_dim"] == 2 * plain_dim
    man = json.loads((out / "manifest.json").read_text())
    head = next(m for m in man["models"] if m["name"] == "quality_head")
    assert head["inputs"][0]["shape"] == ["N", 2 * plain_dim]
    pred = next(m for m in man["models"] if m["name"] == "quality_predictor")
    assert pred["training"]["test_time_views"] == "hflip"
    with pytest.raises(SystemExit, match="tta"):
        export.main(["--run", str(run), "--out", str(tmp_path / "export2"), "--tta", "hflip",
                     "--metrics", str(tmp_path / "eval-plain" / "metrics.json")])

    # an ensemble of the two runs, its weights in float16: scored, exported, published
    res = evaluate.evaluate(runs["plain"], ds_dir, "val", tmp_path / "eval-ens", members=[run], weights="float16")
    assert res["ensemble"] == ["plain", "ema"] and res["weights"] == "float16"
    out = tmp_path / "export-ens"
    assert export.main(["--run", str(runs["plain"]), "--ensemble", str(run), "--weights", "float16", "--out", str(out),
                        "--data", str(ds_dir), "--metrics", str(tmp_path / "eval-ens" / "metrics.json")]) == 0
    rep = json.loads((out / "export.json").read_text())
    assert rep["all_pass"] and rep["embedding_dim"] == 2 * plain_dim
    man = json.loads((out / "manifest.json").read_text())
    pred = next(m for m in man["models"] if m["name"] == "quality_predictor")
    assert [e["run"] for e in pred["training"]["ensemble"]] == ["plain", "ema"]
    head = next(m for m in man["models"] if m["name"] == "quality_head")
    # one image's embedding, once, for all its parameter sets (the export checked it against the combined model)
    assert head["inputs"][0]["shape"] == [1, 2 * plain_dim] and head["inputs"][1]["shape"] == ["N", 8]
    assert any("one embedding for" in c["check"] and c["pass"] for c in rep["checks"])
    assert pred["training"]["weights"] == "float16"
    with pytest.raises(SystemExit, match="ensemble"):  # metrics of one member are not the ensemble's
        export.main(["--run", str(runs["plain"]), "--ensemble", str(run), "--weights", "float16",
                     "--out", str(tmp_path / "export3"), "--metrics", str(tmp_path / "eval-plain" / "metrics.json")])
