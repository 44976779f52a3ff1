"""Experiment (not part of the pipeline): how far VTracer's real SSIM moves when one parameter takes
its smallest step (1 for integers and angles, 0.1 for `length_threshold`), from random parameter sets of
random val-split images. A check that the quality is smooth enough in the parameters for the accuracy
targets to be reachable at all. Needs the release CLI (`cargo build --release -p vectune-native`).

    python3 experiments/jitter.py DATA IMAGES [SEED]

Stop 10 (DATA = the training set, 40 images x 6 random sets x 8 parameters, seed 0): mean |dSSIM| per
step: color_precision 0.031 (p90 0.128; 23 % of steps move it more than 0.02), max_iterations 0.003,
corner_threshold 0.0013, filter_speckle 0.0012, splice_threshold 0.0007, path_precision 0.0003,
length_threshold 0.0002, layer_difference 0.0001; all 0.0047, median 0.0000. Only colour precision (an
integer of 8 values, which a model sees exactly) jumps: the function to learn is smooth, so the MAE 0.02
target is not ruled out by label noise.
"""
import json, random, subprocess, sys, csv, statistics
from concurrent.futures import ThreadPoolExecutor
import pathlib
CLI = str(pathlib.Path(__file__).resolve().parents[3] / 'target/release/vectune')
RANGES = {'color_precision': (1, 8, 1), 'corner_threshold': (0, 180, 1), 'length_threshold': (3.5, 10, 0.1),
          'max_iterations': (1, 20, 1), 'splice_threshold': (0, 180, 1), 'path_precision': (0, 8, 1),
          'layer_difference': (0, 255, 1), 'filter_speckle': (0, 16, 1)}
def measure(img, p):
    args = [CLI, 'measure', '--json', img] + sum([['-p', f'{k}={v}'] for k, v in p.items()], [])
    out = subprocess.run(args, capture_output=True, text=True, timeout=120)
    return json.loads(out.stdout)['ssim'] if out.returncode == 0 else None
data, n_images = sys.argv[1], int(sys.argv[2])
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
rows = list(csv.DictReader(open(f'{data}/labels.csv')))
ids = sorted({r['image_id'] for r in rows if r['split'] == 'val'})
imgs = rng.sample(ids, n_images)
def rand_params():
    p = {}
    for k, (lo, hi, st) in RANGES.items():
        v = lo + st * rng.randrange(int(round((hi - lo) / st)) + 1)
        p[k] = round(v, 1) if st < 1 else int(v)
    return p
jobs = []
for iid in imgs:
    for _ in range(6):
        p = rand_params()
        for k, (lo, hi, st) in RANGES.items():
            q = dict(p); v = p[k] + st if p[k] + st <= hi else p[k] - st
            q[k] = round(v, 1) if st < 1 else int(v)
            jobs.append((iid, p, k, q))
def run(j):
    iid, p, k, q = j
    img = f'{data}/images/{iid}.png'
    return iid, k, measure(img, p), measure(img, q)
with ThreadPoolExecutor(2) as ex:
    res = list(ex.map(run, jobs))
by = {}
for iid, k, a, b in res:
    if a is not None and b is not None: by.setdefault(k, []).append(abs(a - b))
allv = [v for vs in by.values() for v in vs]
print('images', len(imgs), 'pairs', len(allv))
for k, vs in by.items():
    vs.sort()
    print(f'{k:18s} mean {statistics.mean(vs):.4f} median {statistics.median(vs):.4f} p90 {vs[int(.9*len(vs))]:.4f} share>0.02 {sum(v > .02 for v in vs)/len(vs):.2f}')
print(f'all                mean {statistics.mean(allv):.4f} median {statistics.median(allv):.4f}')
