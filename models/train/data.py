"""Datasets built by `vectune-dataset`, read the way the Rust core reads images and parameters.

Everything a model sees must be computed exactly as `vectune-core` computes it at inference time:

* `preprocess(rgba)` is `core/src/preprocess.rs`: composite on white, letterbox with floor offsets,
  exact area (box) resampling to 224x224, ImageNet mean/std, CHW. It is the algorithm of
  `tests/fixtures/golden/make_golden.py`, vectorised (one weight matrix per axis, one matmul per
  axis for all three channels) and checked against `tests/fixtures/golden/preprocess.json`
  (`test_pipeline.py`).
* `encode_params(values)` is `Params::encode` (`core/src/params.rs`, encoding version 1): each of the
  eight parameters min-max normalised by its `SCHEMA` range, in schema order. `test_pipeline.py`
  checks these ranges against the Rust source.
* `size_features(w, h)` = `[log2(w) / 10, log2(h) / 10]`: the original size, which preprocessing
  throws away but VTracer's pixel-valued parameters depend on. The quality models take it as the
  input `size` [N, 2].

Preprocessed images are cached as float16 in memory-mapped `.npy` shards (under
`models/train/cache/<dataset>-<hash of its path and CACHE_VERSION>/`), so epochs do not redo the
resampling and a dataset that is still growing only adds its new images. float16 keeps ~3
significant digits (abs error <= 2e-3 on values in [-2.2, 2.7]): a training-time approximation
only; evaluation defaults to exact float32 and exported models take float32.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import pathlib
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import sparse

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent

# --- constants, each mirrored from the Rust core (source cited) --------------------------------

#: core/src/preprocess.rs INPUT_SIZE
INPUT_SIZE = 224
#: core/src/preprocess.rs IMAGENET_MEAN / IMAGENET_STD (torchvision's ImageNet statistics)
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)

#: core/src/params.rs SCHEMA: (name, min, max), in encoding order (ENCODING_VERSION 1).
PARAM_SCHEMA = [
    ("color_precision", 1.0, 8.0),
    ("corner_threshold", 0.0, 180.0),
    ("length_threshold", 3.5, 10.0),
    ("max_iterations", 1.0, 20.0),
    ("splice_threshold", 0.0, 180.0),
    ("path_precision", 0.0, 8.0),
    ("layer_difference", 0.0, 255.0),
    ("filter_speckle", 0.0, 16.0),
]
PARAM_NAMES = [n for n, _, _ in PARAM_SCHEMA]
PARAM_COUNT = len(PARAM_SCHEMA)
ENCODING_VERSION = 1

#: core/src/manifest.rs LOGO_CLASSES, in classifier output order.
LOGO_CLASSES = ["simple_geometric", "text_based", "gradient", "complex"]

#: core/src/features.rs VECTOR_NAMES: `Features::vector`, computed by the Rust core
#: (`vectune-dataset features --data DIR` writes DIR/features.csv).
FEATURE_NAMES = ["log2_width", "log2_height", "log2_unique_colors", "color_entropy", "edge_density",
                 "gradient_strength", "corner_density", "transparency", "complexity"]
#: core/src/preprocess.rs IMAGE_STATS: size_features (2) ++ the feature vector (9).
IMAGE_STATS = 2 + len(FEATURE_NAMES)

#: Bump when preprocessing or the cache layout changes: old caches are then ignored.
CACHE_VERSION = "pre-v1-area224-imagenet-f16"


# --- parameters -----------------------------------------------------------------------------------

def encode_params(values) -> np.ndarray:
    """`Params::encode` for a batch: values [N, 8] in schema order -> float32 [N, 8] in [0, 1].

    Like the Rust code, the arithmetic is f64 and the result is rounded to f32 once.
    """
    v = np.asarray(values, dtype=np.float64)
    lo = np.array([s[1] for s in PARAM_SCHEMA])
    hi = np.array([s[2] for s in PARAM_SCHEMA])
    return ((v - lo) / (hi - lo)).astype(np.float32)


def size_features(width, height) -> np.ndarray:
    """`vectune_core::preprocess::size_features`: [log2(width) / 10, log2(height) / 10] in float32.

    Like the Rust code (`libm::log2f(w.max(1) as f32) / 10.0`) the arithmetic is f32. Returns
    [N, 2] for arrays, [2] for scalars.
    """
    w = np.maximum(np.asarray(width), 1).astype(np.float32)
    h = np.maximum(np.asarray(height), 1).astype(np.float32)
    ten = np.float32(10.0)
    return np.stack([np.log2(w) / ten, np.log2(h) / ten], axis=-1).astype(np.float32)


# --- preprocessing --------------------------------------------------------------------------------

def area_weights(n_out: int, padded: int, offset: int, length: int):
    """Box-filter weights of one axis (vectorised `AxisWeights::new`).

    Output pixel i covers [i*s, (i+1)*s) of the padded axis, s = padded / n_out; each padded pixel j
    contributes its overlap / s. Returns (W [n_out, length] for the image's pixels, white [n_out]
    for the padding).
    """
    scale = padded / n_out
    lo = np.arange(n_out, dtype=np.float64)[:, None] * scale
    hi = lo + scale
    j = np.arange(padded, dtype=np.float64)[None, :]
    overlap = np.clip(np.minimum(hi, j + 1.0) - np.maximum(lo, j), 0.0, None) / scale
    inside = overlap[:, offset:offset + length]
    # the padding on both sides, summed like Rust's `w_white`
    white = overlap[:, :offset].sum(axis=1) + overlap[:, offset + length:].sum(axis=1)
    return inside, white


def preprocess(rgba: np.ndarray) -> np.ndarray:
    """RGBA8 [H, W, 4] -> float32 [3, 224, 224], exactly `vectune_core::preprocess::preprocess`."""
    rgba = np.asarray(rgba)
    if rgba.dtype != np.uint8 or rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"expected RGBA8 [H, W, 4] uint8, got {rgba.dtype} {rgba.shape}")
    h, w, _ = rgba.shape
    a = rgba[..., 3:4].astype(np.float64) / 255.0
    comp = rgba[..., :3].astype(np.float64) * a + 255.0 * (1.0 - a)  # [h, w, 3]
    side = max(w, h)
    ox, oy = (side - w) // 2, (side - h) // 2
    wx, wx_white = area_weights(INPUT_SIZE, side, ox, w)
    wy, wy_white = area_weights(INPUT_SIZE, side, oy, h)
    # The weight matrices are banded (each output pixel touches about side/224 + 1 source pixels):
    # sparse products make a 1024 px image ~50x cheaper than dense matmuls, with the same sums in f64.
    # rows: [224, w*3]; columns: [224 (x), 224 (y) * 3]; white enters wherever a box leaves the image.
    rows = np.asarray(sparse.csr_matrix(wy) @ comp.reshape(h, w * 3)).reshape(INPUT_SIZE, w, 3)
    rows += (wy_white * 255.0)[:, None, None]
    cols = np.asarray(sparse.csr_matrix(wx) @ rows.transpose(1, 0, 2).reshape(w, INPUT_SIZE * 3))
    v = cols.reshape(INPUT_SIZE, INPUT_SIZE, 3).transpose(2, 1, 0) + (wx_white * 255.0)[None, None, :]
    v = np.clip(v, 0.0, 255.0)
    mean = IMAGENET_MEAN.astype(np.float64)[:, None, None]
    std = IMAGENET_STD.astype(np.float64)[:, None, None]
    return ((v / 255.0 - mean) / std).astype(np.float32)


def load_rgba(path) -> np.ndarray:
    """Decodes an image file to RGBA8 (PNG/JPEG, like the native CLI)."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGBA"))


def preprocess_file(path) -> np.ndarray:
    return preprocess(load_rgba(path))


# --- datasets -------------------------------------------------------------------------------------

@dataclass
class Dataset:
    """One dataset directory, as arrays; rows are labels, `image_ids` are the distinct images.

    Attributes: `root`, `image_ids` [I], per image `width`, `height`, `source`, `cls` (class
    index), `class_inferred`, `split`; per row `row_image` (index into images), `params_raw`
    [R, 8], `params` [R, 8] (encoded), `ssim` [R], and `heuristic` [R] or None.
    """

    root: pathlib.Path
    image_ids: list
    width: np.ndarray
    height: np.ndarray
    source: np.ndarray
    cls: np.ndarray
    class_inferred: np.ndarray
    split: np.ndarray
    row_image: np.ndarray
    params_raw: np.ndarray
    params: np.ndarray
    ssim: np.ndarray
    heuristic: np.ndarray | None
    features: np.ndarray | None = None

    @property
    def size(self) -> np.ndarray:
        return size_features(self.width, self.height)

    @property
    def stats(self) -> np.ndarray:
        """`vectune_core::preprocess::image_stats` per image: [I, 11] float32."""
        if self.features is None:
            raise ValueError(f"{self.root}: no features.csv; run "
                             f"`vectune-dataset features --data {self.root}` first")
        return np.concatenate([self.size, self.features], axis=1).astype(np.float32)

    def images_where(self, split=None, synthetic_only=False) -> np.ndarray:
        keep = np.ones(len(self.image_ids), dtype=bool)
        if split is not None:
            keep &= self.split == split
        if synthetic_only:
            keep &= ~self.class_inferred
        return np.flatnonzero(keep)

    def rows_of_images(self, images) -> np.ndarray:
        mask = np.zeros(len(self.image_ids), dtype=bool)
        mask[np.asarray(images, dtype=np.int64)] = True
        return np.flatnonzero(mask[self.row_image])

    def rows_by_image(self) -> list:
        """rows_by_image()[i] = the label rows of image i."""
        order = np.argsort(self.row_image, kind="stable")
        bounds = np.searchsorted(self.row_image[order], np.arange(len(self.image_ids) + 1))
        return [order[bounds[i]:bounds[i + 1]] for i in range(len(self.image_ids))]


def _truthy(s: str) -> bool:
    return s.strip().lower() in ("true", "1", "yes")


def load_dataset(root, max_images: int | None = None, only_done: bool = True, splits=None) -> Dataset:
    """Reads `labels.csv` (+ `done.txt`: only images listed there are complete while a build runs).

    `max_images` keeps the first N complete images in file order (for smoke runs); `splits` keeps
    only images of those splits (training passes ("train", "val"): test images are never read).
    """
    root = pathlib.Path(root).resolve()
    done = None
    if only_done and (root / "done.txt").exists():
        done = {l.strip() for l in (root / "done.txt").read_text().splitlines() if l.strip()}
    table = read_feature_table(root / "features.csv")
    skipped = set()
    ids, index = [], {}
    img = {k: [] for k in ("width", "height", "source", "cls", "class_inferred", "split")}
    row_image, params_raw, ssim, heur = [], [], [], []
    has_heur = False
    with open(root / "labels.csv", newline="") as f:
        reader = csv.DictReader(f)
        has_heur = "heuristic" in (reader.fieldnames or [])
        for r in reader:
            iid = r["image_id"]
            if done is not None and iid not in done:
                continue
            if splits is not None and r["split"] not in splits:
                continue
            if table is not None and iid not in table:
                skipped.add(iid)  # labelled after features.csv was written (a build in progress)
                continue
            if iid not in index:
                if max_images is not None and len(ids) >= max_images:
                    continue
                index[iid] = len(ids)
                ids.append(iid)
                img["width"].append(int(r["width"]))
                img["height"].append(int(r["height"]))
                img["source"].append(r["source"])
                img["cls"].append(LOGO_CLASSES.index(r["class"]))
                img["class_inferred"].append(_truthy(r["class_inferred"]))
                img["split"].append(r["split"])
            row_image.append(index[iid])
            params_raw.append([float(r[n]) for n in PARAM_NAMES])
            ssim.append(float(r["ssim"]))
            if has_heur:
                heur.append(float(r["heuristic"]) if r["heuristic"] != "" else np.nan)
    if not ids:
        raise ValueError(f"{root}: no complete images in labels.csv")
    if skipped:
        print(f"{root}: {len(skipped)} complete images have no row in features.csv and are left out",
              flush=True)
    params_raw = np.asarray(params_raw, dtype=np.float64)
    features = None if table is None else np.asarray([table[i] for i in ids], dtype=np.float32)
    return Dataset(
        root=root,
        image_ids=ids,
        width=np.asarray(img["width"]),
        height=np.asarray(img["height"]),
        source=np.asarray(img["source"]),
        cls=np.asarray(img["cls"], dtype=np.int64),
        class_inferred=np.asarray(img["class_inferred"], dtype=bool),
        split=np.asarray(img["split"]),
        row_image=np.asarray(row_image, dtype=np.int64),
        params_raw=params_raw,
        params=encode_params(params_raw),
        ssim=np.asarray(ssim, dtype=np.float32),
        heuristic=np.asarray(heur, dtype=np.float32) if has_heur else None,
        features=features,
    )


def read_feature_table(path) -> dict | None:
    """`features.csv` (written by `vectune-dataset features`) as {image_id: [9 floats]}, or None."""
    path = pathlib.Path(path)
    if not path.exists():
        return None
    table = {}
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames[1:] != FEATURE_NAMES:
            raise ValueError(f"{path}: columns {reader.fieldnames[1:]} are not {FEATURE_NAMES}")
        for r in reader:
            table[r["image_id"]] = [float(r[n]) for n in FEATURE_NAMES]
    return table


# --- the preprocessed-image cache -----------------------------------------------------------------

def cache_dir_for(root, cache_root=None) -> pathlib.Path:
    """One cache directory per dataset path and CACHE_VERSION."""
    root = pathlib.Path(root).resolve()
    key = hashlib.sha256(json.dumps([str(root), CACHE_VERSION]).encode()).hexdigest()[:16]
    return pathlib.Path(cache_root or HERE / "cache") / f"{root.name}-{key}"


class ImageCache:
    """float16 [I, 3, 224, 224] images of a dataset, indexable like an array by dataset image index.

    Stored as shards (`shard-NNNN/images.npy`, memory-mapped, with `ids.json` and `done.npy`), so a
    dataset that grows while it is built (or a subset of it) reuses what is cached and only
    preprocesses the new images. Building is resumable and guarded by a file lock.
    """

    def __init__(self, ds: Dataset, cache_root=None, progress: bool = True):
        import fcntl

        self.dir = cache_dir_for(ds.root, cache_root)
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / "lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            (self.dir / "meta.json").write_text(json.dumps({"dataset": str(ds.root), "version": CACHE_VERSION}))
            for sd in self._shard_dirs():  # finish a shard an interrupted run left incomplete
                self._fill(ds, sd, progress)
            where = self._index()
            missing = [i for i in ds.image_ids if i not in where]
            if missing:
                sd = self.dir / f"shard-{len(self._shard_dirs()):04d}"
                sd.mkdir()
                np.lib.format.open_memmap(sd / "images.npy", mode="w+", dtype=np.float16,
                                          shape=(len(missing), 3, INPUT_SIZE, INPUT_SIZE)).flush()
                np.save(sd / "done.npy", np.zeros(len(missing), dtype=bool))
                (sd / "ids.json").write_text(json.dumps(missing))  # written last: marks the shard valid
                self._fill(ds, sd, progress)
                where = self._index()
        self.shards = [np.load(sd / "images.npy", mmap_mode="r") for sd in self._shard_dirs()]
        self.shard_of = np.array([where[i][0] for i in ds.image_ids], dtype=np.int64)
        self.row_of = np.array([where[i][1] for i in ds.image_ids], dtype=np.int64)
        self.shape = (len(ds.image_ids), 3, INPUT_SIZE, INPUT_SIZE)
        self.dtype = np.float16

    def _shard_dirs(self):
        return sorted(d for d in self.dir.glob("shard-*") if (d / "ids.json").exists())

    def _index(self) -> dict:
        where = {}
        for k, sd in enumerate(self._shard_dirs()):
            done = np.load(sd / "done.npy")
            for r, iid in enumerate(json.loads((sd / "ids.json").read_text())):
                if done[r]:
                    where[iid] = (k, r)
        return where

    def _fill(self, ds: Dataset, sd: pathlib.Path, progress: bool):
        done = np.load(sd / "done.npy")
        if done.all():
            return
        ids = json.loads((sd / "ids.json").read_text())
        arr = np.lib.format.open_memmap(sd / "images.npy", mode="r+")
        todo = np.flatnonzero(~done)
        for k, r in enumerate(todo):
            arr[r] = preprocess_file(ds.root / "images" / f"{ids[r]}.png").astype(np.float16)
            done[r] = True
            if (k + 1) % 200 == 0 or k + 1 == len(todo):
                arr.flush()
                np.save(sd / "done.npy", done)
                if progress:
                    print(f"  cache {self.dir.name}/{sd.name}: {k + 1}/{len(todo)} images preprocessed", flush=True)
        del arr

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, idx):
        idx = np.atleast_1d(np.asarray(idx))
        out = np.empty((len(idx),) + self.shape[1:], dtype=np.float16)
        shard, row = self.shard_of[idx], self.row_of[idx]
        for s in np.unique(shard):
            m = shard == s
            out[m] = self.shards[s][row[m]]
        return out


def image_cache(ds: Dataset, cache_root=None, progress: bool = True) -> ImageCache:
    """The float16 preprocessed images of every image of `ds` (built on first use)."""
    return ImageCache(ds, cache_root, progress)


class ExactImages:
    """Array-like over a dataset's images, preprocessed in float32 on access (no float16 cache).

    `ExactImages(ds)[idx]` -> float32 [len(idx), 3, 224, 224]: the exact tensors the Rust core
    feeds a model, for final evaluation and export checks.
    """

    def __init__(self, ds: Dataset):
        self.ds = ds
        self.shape = (len(ds.image_ids), 3, INPUT_SIZE, INPUT_SIZE)

    def __getitem__(self, idx):
        idx = np.atleast_1d(np.asarray(idx))
        return np.stack([preprocess_file(self.ds.root / "images" / f"{self.ds.image_ids[i]}.png") for i in idx])
