"""Experiment (not part of the pipeline): a quality head that sees the CNN's 7x7 feature map, modulated
by the parameters (FiLM: per-channel scale and shift from the parameters, then global average + max
pooling), beside v3's pooled embedding: can the parameters' effect within an image, where v3's error is,
be read from *where* the detail is rather than from a pooled summary? Trained end to end with train.py's
recipe (the same loss, schedule and selection); val only.

    .venv/bin/python experiments/spatial_head.py --data DATA --out runs/spatial --epochs 36 --skip-classifier --threads 2

In the split form the embedding would be the pooled vector (96) ++ the projected map (64 x 7 x 7).

Stop 10 (all 6,431 train images, 36 epochs, 2 threads, 1,241 s of training; 329k parameters): val
0.0413 / 0.799 / 0.887 at epoch 24 (kept by val loss), 0.0396 / 0.811 / 0.887 at the last epoch; v3
0.0425 / 0.793 / 0.881 and 0.0413 / 0.799 / 0.882. The first change to beat v3 on all three; ~4 % MAE.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch import nn  # noqa: E402

import model as M  # noqa: E402
import train  # noqa: E402
from data import IMAGE_STATS, PARAM_COUNT  # noqa: E402


class SpatialQuality(nn.Module):
    def __init__(self, cfg: dict, map_channels: int = 64, hidden: int = 256):
        super().__init__()
        self.encoder = M.QualityEncoder(cfg.get("embed_dim", 96), stats_mean=cfg.get("stats_mean"),
                                        stats_std=cfg.get("stats_std"))
        width = M.DEFAULT_WIDTHS[-1]
        self.map = nn.Sequential(nn.Conv2d(width, map_channels, 1), nn.BatchNorm2d(map_channels))
        self.film = nn.Sequential(nn.Linear(PARAM_COUNT, 64), nn.ReLU(inplace=True),
                                  nn.Linear(64, 2 * map_channels))
        nn.init.zeros_(self.film[-1].weight)
        nn.init.zeros_(self.film[-1].bias)
        self.head = nn.Sequential(
            nn.Linear(cfg.get("embed_dim", 96) + 2 * map_channels + PARAM_COUNT, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden // 2), nn.ReLU(inplace=True), nn.Linear(hidden // 2, 1))
        init = min(max(cfg.get("init_mean", 0.9), 1e-3), 1 - 1e-3)
        with torch.no_grad():
            self.head[-1].bias.fill_(float(torch.logit(torch.tensor(init))))

    def forward_rows(self, image, stats, params, row_image):
        enc = self.encoder
        fmap = enc.backbone.features(image)  # [B, 128, 7, 7]
        pooled = torch.cat([fmap.mean(dim=(2, 3)), fmap.amax(dim=(2, 3))], dim=1)
        z = (stats - enc.stats_mean) * enc.stats_inv_std
        emb = enc.proj(torch.cat([pooled, enc.stats_mlp(z), z], dim=1))  # [B, 96]
        m = self.map(fmap)[row_image]  # [R, C, 7, 7]
        gamma, beta = self.film(params).chunk(2, dim=1)
        h = torch.relu(m * (1 + gamma[:, :, None, None]) + beta[:, :, None, None])
        hp = torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)
        return torch.sigmoid(self.head(torch.cat([emb[row_image], hp, params], dim=1)))[:, 0]


assert IMAGE_STATS == 11
train.build_quality = lambda cfg: SpatialQuality(cfg)
if __name__ == "__main__":
    train.main(sys.argv[1:])
