"""Experiment (not part of the pipeline): quality heads retrained on a run's frozen encoder
embeddings, with the standardised image statistics as extra inputs; the val split only.

    .venv/bin/python experiments/frozen_heads.py DATA runs/v3

Stop 9, run v3 (val, 806 images; best epoch by val MAE, so slightly optimistic): v3's own head
0.0425 / 0.793 / 0.881; hidden 256 0.0410 (MAE); hidden 512 0.0403 / 0.806 / 0.876. Heads on the
embeddings alone (no statistics), 4 seeds averaged: 0.0414 / 0.798 / 0.877. The head is not the
bottleneck.
"""
import sys, time
import frozen
import numpy as np, torch, torch.nn as nn
import metrics, train
ds, model, emb = frozen.load(sys.argv[1], sys.argv[2])
S = ds.stats; S = (S - S[ds.images_where('train')].mean(0)) / (S[ds.images_where('train')].std(0) + 1e-6)
F = torch.from_numpy(np.concatenate([emb, S.astype(np.float32)], axis=1))
P = torch.from_numpy(ds.params); Y = torch.from_numpy(ds.ssim); RI = torch.from_numpy(ds.row_image)
args = train.parse_args(['--data', 'x', '--out', 'y'])
va = ds.rows_of_images(ds.images_where('val')); rows_of = ds.rows_by_image()
class Head(nn.Module):
    def __init__(s, d, h):
        super().__init__(); s.net = nn.Sequential(nn.Linear(d + 8, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, h // 2), nn.ReLU(), nn.Linear(h // 2, 1))
    def forward(s, f, p): return torch.sigmoid(s.net(torch.cat([f, p], 1)))[:, 0]
def rep(p): r = metrics.regression_report(p, ds.ssim[va], ds.row_image[va]); return round(r['mae'], 4), round(r['r2'], 4), round(r['spearman_within_image_median'], 4)
for h in (256, 512):
    torch.manual_seed(0); rng = np.random.default_rng(0); head = Head(F.shape[1], h)
    opt = torch.optim.AdamW(head.parameters(), lr=1e-3, weight_decay=1e-4)
    tr = ds.images_where('train'); steps = int(np.ceil(len(tr) / 64)); total = steps * 30; step = 0; best = 1
    t = time.time()
    for ep in range(30):
        order = rng.permutation(tr)
        for s in range(steps):
            b = order[s*64:(s+1)*64]; rows = np.concatenate([rows_of[i] for i in b])
            local = torch.from_numpy(np.concatenate([np.full(len(rows_of[i]), k) for k, i in enumerate(b)]))
            train.cosine_lr(opt, 1e-3, step, total, 50); step += 1
            pred = head(F[b][local], P[rows]); y = Y[rows]
            loss = train.point_loss(pred, y, args) + args.rank_weight * train.rank_loss(pred, y, local, args.rank_tau)
            opt.zero_grad(); loss.backward(); opt.step()
        with torch.no_grad(): r = rep(head(F[RI[va]], P[va]).numpy())
        best = min(best, r[0])
        if ep % 5 == 4 or ep == 29: print(h, ep + 1, r, round(time.time() - t), flush=True)
    print(h, 'best val MAE', best, flush=True)
