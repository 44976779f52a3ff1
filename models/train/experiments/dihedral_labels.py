"""Experiment (not part of the pipeline): is VTracer's real SSIM the same for a logo and its flips and
rotations? If so, `train.py --augment dihedral` (all eight symmetries of the square) only adds views whose
labels are known. Re-measures labelled (image, parameter set) rows of random train-split images on four
transformed copies with the release CLI (`cargo build --release -p vectune-native`).

    .venv/bin/python experiments/dihedral_labels.py DATA IMAGES [SEED]

Stop 12 (DATA = the training set, 20 images x 2 labelled sets, seed 5): mean |dSSIM| against the label:
horizontal flip 0.0061 (median 0.0017), vertical flip 0.0074 (0.0019), transpose 0.0058 (0.0019), rotation
by 90 degrees 0.0052 (0.0012). One synthetic gradient logo moves 0.10 under each of them; the horizontal
flip that training always used is no more faithful than the other seven views.
"""
import collections
import csv
import json
import pathlib
import random
import statistics
import subprocess
import sys
import tempfile

from PIL import Image

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from data import PARAM_NAMES  # noqa: E402

CLI = str(pathlib.Path(__file__).resolve().parents[3] / "target/release/vectune")
VIEWS = {"hflip": Image.FLIP_LEFT_RIGHT, "vflip": Image.FLIP_TOP_BOTTOM, "transpose": Image.TRANSPOSE,
         "rot90": Image.ROTATE_90}


def measure(img, row):
    args = [CLI, "measure", "--json", "--backend", "tract", str(img)]
    for k in PARAM_NAMES:
        args += ["-p", f"{k}={row[k] if k == 'length_threshold' else int(float(row[k]))}"]
    return json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout)["ssim"]


def main():
    data, n_images = pathlib.Path(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 5)
    by = collections.defaultdict(list)
    for r in csv.DictReader(open(data / "labels.csv")):
        if r["split"] == "train" and r["ssim"]:
            by[r["image_id"]].append(r)
    ids = sorted(by)
    rng.shuffle(ids)
    diffs = collections.defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        for iid in ids[:n_images]:
            im = Image.open(data / "images" / f"{iid}.png")
            for name, op in VIEWS.items():
                path = pathlib.Path(tmp) / f"{name}.png"
                im.transpose(op).save(path)
                for row in by[iid][:2]:
                    diffs[name].append(abs(measure(path, row) - float(row["ssim"])))
            print(iid, {k: round(v[-1], 4) for k, v in diffs.items()}, flush=True)
    for k, v in diffs.items():
        v = sorted(v)
        print(f"{k:10s} n={len(v)} mean {sum(v) / len(v):.4f} median {statistics.median(v):.4f} "
              f"p90 {v[int(0.9 * len(v))]:.4f} max {v[-1]:.4f}")


if __name__ == "__main__":
    main()
