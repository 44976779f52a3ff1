"""Merges dataset directories built by `vectune-dataset` into one training set.

    python merge_datasets.py --out DIR SRC [SRC ...]

Writes DIR/labels.csv, DIR/features.csv and DIR/done.txt (the complete images of every SRC, in
order; an image id already taken from an earlier SRC is skipped) and links DIR/images/<id>.png to
the sources' images. Each SRC needs its `features.csv` (`vectune-dataset features --data SRC`).
Used to extend the training set with `vectune-dataset build --exclude-seen` (see reproduce.sh).
"""
import argparse
import csv
import os
import pathlib


def merge(out: pathlib.Path, sources: list) -> list:
    """Merges `sources` into `out`; returns (source, images taken, label rows) per source."""
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out}: exists and is not empty; merge into a new directory")
    (out / "images").mkdir(parents=True)
    seen, done_all, report = set(), [], []
    with open(out / "labels.csv", "w", newline="") as fl, open(out / "features.csv", "w", newline="") as ff:
        wl = wf = None
        for src in sources:
            for need in ("done.txt", "labels.csv", "features.csv"):
                if not (src / need).exists():
                    raise SystemExit(f"{src}: no {need}" + (" (run `vectune-dataset features --data "
                                                            f"{src}`)" if need == "features.csv" else ""))
            done = [l.strip() for l in (src / "done.txt").read_text().splitlines() if l.strip()]
            with open(src / "features.csv", newline="") as f:
                feats = {r["image_id"]: r for r in csv.DictReader(f)}
            take = [i for i in done if i not in seen and i in feats]
            taken, rows = set(take), 0
            with open(src / "labels.csv", newline="") as f:
                for r in csv.DictReader(f):
                    if r["image_id"] in taken:
                        if wl is None:
                            wl = csv.DictWriter(fl, fieldnames=list(r))
                            wl.writeheader()
                        elif list(r) != wl.fieldnames:
                            raise SystemExit(f"{src}/labels.csv: columns differ from the first source's")
                        wl.writerow(r)
                        rows += 1
            for i in take:
                if wf is None:
                    wf = csv.DictWriter(ff, fieldnames=list(feats[i]))
                    wf.writeheader()
                wf.writerow(feats[i])
                os.symlink(src.resolve() / "images" / f"{i}.png", out / "images" / f"{i}.png")
            seen |= taken
            done_all += take
            report.append((str(src), len(take), rows))
    (out / "done.txt").write_text("".join(f"{i}\n" for i in done_all))
    return report


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="the merged dataset directory (new)")
    p.add_argument("sources", nargs="+", help="dataset directories, in order")
    args = p.parse_args(argv)
    for src, images, rows in merge(pathlib.Path(args.out), [pathlib.Path(s) for s in args.sources]):
        print(f"{src}: {images} images, {rows} labels")


if __name__ == "__main__":
    main()
