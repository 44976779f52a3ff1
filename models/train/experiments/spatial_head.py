"""The spatial FiLM quality head's experiment, now model.py's `head="spatial"` (`train.py --head spatial`,
the default from v5), and the conversion of the experiment's checkpoint to the pipeline's layout.

Stop 10 trained it here as a separate module (`SpatialQuality`: encoder.*, map.*, film.*, head.*) with
train.py's recipe (all 6,431 train images, 36 epochs, 2 threads, 1,241 s; 329k parameters): val
0.0413 / 0.799 / 0.887 at epoch 24 (kept by val loss), 0.0396 / 0.811 / 0.887 at the last epoch; v3
0.0425 / 0.793 / 0.881 and 0.0413 / 0.799 / 0.882. The first change to beat v3 on all three; ~4 % MAE.

Stop 11 moved the module into model.py (the map projection into QualityEncoder, the FiLM into QualityHead,
so the split form's embedding is the pooled vector (96) ++ the flattened map (64 x 7 x 7)) and converted
that checkpoint rather than training it again (the same weights under the new names; evaluate.py gives
the same val figures):

    .venv/bin/python experiments/spatial_head.py runs/spatial runs/v5
"""
import pathlib
import sys

import torch

RENAMES = (("map.", "encoder.map."), ("film.", "head.film."), ("head.", "head.net."))


def convert(src: pathlib.Path, dst: pathlib.Path) -> None:
    ck = torch.load(src / "quality.pt", map_location="cpu", weights_only=False)
    state = {}
    for k, v in ck["state_dict"].items():
        for old, new in RENAMES:
            if k.startswith(old):
                k = new + k[len(old):]
                break
        state[k] = v
    ck["state_dict"] = state
    ck["config"] = dict(ck["config"], head="spatial", map_channels=64)
    ck["converted_from"] = str(src / "quality.pt")
    dst.mkdir(parents=True, exist_ok=True)
    torch.save(ck, dst / "quality.pt")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    convert(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]))
