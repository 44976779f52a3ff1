"""Experiment helper (not part of the pipeline): two views of one dataset for the labels-per-image comparison
of stop 16 (models/README.md): the first K labels of every image (the defaults, the four prior starts, then
the image's Latin-hypercube sets in order), and the first M images with all their labels. Images are
symlinked, `features.csv` and `done.txt` cut to match.

    python experiments/label_subsets.py DENSE OUT_FIRST_K_LABELS OUT_FIRST_M_IMAGES [K=25] [M=150]

Stop 16: a 614 x 100 training set -> 614 x 25 (run A25) and 150 x 100 (not trained to the end).
"""
import csv
import os
import pathlib
import shutil
import sys


def make(src: pathlib.Path, dst: pathlib.Path, keep_labels=None, keep_images=None):
    dst.mkdir(parents=True, exist_ok=True)
    if not (dst / "images").exists():
        os.symlink(src / "images", dst / "images")
    done = [line.strip() for line in (src / "done.txt").read_text().splitlines() if line.strip()]
    if keep_images:
        done = done[:keep_images]
    keep = set(done)
    (dst / "done.txt").write_text("\n".join(done) + "\n")
    shutil.copy(src / "build.json", dst / "build.json")
    with open(src / "features.csv") as f, open(dst / "features.csv", "w") as g:
        for i, line in enumerate(f):
            if i == 0 or line.split(",", 1)[0] in keep:
                g.write(line)
    seen, n = {}, 0
    with open(src / "labels.csv", newline="") as f, open(dst / "labels.csv", "w", newline="") as g:
        reader = csv.DictReader(f)
        writer = csv.DictWriter(g, reader.fieldnames)
        writer.writeheader()
        for row in reader:
            i = row["image_id"]
            if i not in keep:
                continue
            seen[i] = seen.get(i, 0) + 1
            if keep_labels and seen[i] > keep_labels:
                continue
            writer.writerow(row)
            n += 1
    print(f"{dst}: {len(keep)} images, {n} labels")


if __name__ == "__main__":
    src = pathlib.Path(sys.argv[1]).resolve()
    k = int(sys.argv[4]) if len(sys.argv) > 4 else 25
    m = int(sys.argv[5]) if len(sys.argv) > 5 else 150
    make(src, pathlib.Path(sys.argv[2]), keep_labels=k)
    make(src, pathlib.Path(sys.argv[3]), keep_images=m)
