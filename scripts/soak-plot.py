"""Plots a soak (scripts/soak.sh): the server's RSS and the p99 latency per sample over time, the
warm-up shaded, the plateau and the 5 % line marked. Usage: soak-plot.py SOAK.csv SOAK.json OUT.png"""
import csv
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

rows = list(csv.DictReader(open(sys.argv[1])))
figures = json.load(open(sys.argv[2])) if len(sys.argv) > 3 else {}
minutes = [float(r["seconds"]) / 60 for r in rows]
rss = [float(r["rss_mb"]) for r in rows]
p99 = [float(r["p99_ms"]) if r["p99_ms"] not in ("NaN", "nan") else None for r in rows]
warm = [r["phase"] == "mixed" for r in rows]
warm_end = next((m for m, w in zip(minutes, warm) if w), minutes[-1])

fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
for ax in (top, bottom):
    ax.axvspan(0, warm_end, color="0.9", label="warm-up (every shape, then settling)")
    ax.grid(alpha=0.3)
top.plot(minutes, rss, color="tab:blue", label="server RSS")
if "rss_plateau_mb" in figures:
    plateau = figures["rss_plateau_mb"]
    top.axhline(plateau, color="tab:green", ls="--", lw=1, label=f"plateau {plateau:.0f} MB")
    top.axhline(plateau * 1.05, color="tab:red", ls=":", lw=1, label="plateau + 5 %")
top.set_ylabel("RSS (MB)")
top.set_ylim(bottom=0)
top.legend(loc="lower right")
title = f"vectune serve soak: {figures.get('clients', '?')} clients"
if figures:
    title += (f", {figures['mixed_requests']:,} mixed requests in {figures['mixed_s'] / 60:.0f} min, "
              f"{figures['errors']} errors, RSS growth {figures['rss_growth_percent']:+.2f} %")
top.set_title(title, fontsize=10)
bottom.plot(minutes, [v if v is not None else float("nan") for v in p99], color="tab:orange",
            label="p99 per 5 s sample")
bottom.set_ylabel("p99 latency (ms)")
bottom.set_xlabel("minutes")
bottom.set_yscale("log")
bottom.legend(loc="upper right")
fig.tight_layout()
fig.savefig(sys.argv[3], dpi=110)
