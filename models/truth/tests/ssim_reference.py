#!/usr/bin/env python3
"""Reference SSIM values from scikit-image for the instrument's test (tests/ssim_reference.rs).

Makes image pairs under fixtures/ssim/ (deterministic: seeded numpy, Pillow drawing, and one real
VTracer + resvg round trip), then writes fixtures/ssim/reference.json with
skimage.metrics.structural_similarity(luma_a, luma_b, gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=255) on BT.601 luma of each image composited on white.

    python3 -m venv venv && venv/bin/pip install -r ssim_requirements.txt && venv/bin/python ssim_reference.py
"""
import io
import json
import pathlib

import numpy as np
import skimage
from PIL import Image, ImageDraw, ImageFilter
from skimage.metrics import structural_similarity

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "fixtures" / "ssim"
GOLDEN = HERE.parents[2] / "tests" / "fixtures" / "golden" / "logo.png"


def luma(path):
    im = np.asarray(Image.open(path).convert("RGBA")).astype(np.float64)
    a = im[..., 3:4] / 255.0
    rgb = im[..., :3] * a + 255.0 * (1.0 - a)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def shapes(w, h, seed):
    rng = np.random.default_rng(seed)
    im = Image.new("RGBA", (w, h), (255, 255, 255, 255))
    d = ImageDraw.Draw(im)
    for _ in range(8):
        x0, y0 = rng.integers(0, w - 10), rng.integers(0, h - 10)
        x1, y1 = x0 + rng.integers(5, w // 2), y0 + rng.integers(5, h // 2)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3)) + (255,)
        (d.ellipse if rng.random() < 0.5 else d.rectangle)([x0, y0, x1, y1], fill=colour)
    return im


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    pairs = []

    logo = Image.open(GOLDEN).convert("RGBA")
    logo.save(OUT / "logo_a.png")
    logo.filter(ImageFilter.GaussianBlur(1.0)).save(OUT / "logo_b.png")
    pairs.append(("logo_a.png", "logo_b.png", "golden logo (with alpha) vs a Gaussian blur of it"))

    a = shapes(150, 100, 1)
    a.save(OUT / "noise_a.png")
    rng = np.random.default_rng(2)
    arr = np.asarray(a).astype(np.int16)
    arr[..., :3] += rng.integers(-40, 41, arr[..., :3].shape).astype(np.int16)
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGBA").save(OUT / "noise_b.png")
    pairs.append(("noise_a.png", "noise_b.png", "shapes vs shapes with uniform noise +-40"))

    s = shapes(200, 200, 3)
    s.save(OUT / "shift_a.png")
    q = Image.new("RGBA", s.size, (255, 255, 255, 255))
    q.paste(s.quantize(6).convert("RGBA"), (1, 0))
    q.save(OUT / "shift_b.png")
    pairs.append(("shift_a.png", "shift_b.png", "shapes vs 6-colour quantised copy shifted 1 px"))

    try:
        import resvg_py
        import vtracer

        # The golden logo at 3x, flattened onto white as the instrument does before VTracer.
        big = logo.resize((183, 111), Image.LANCZOS)
        src = Image.new("RGBA", big.size, (255, 255, 255, 255))
        src.alpha_composite(big)
        src.save(OUT / "vtracer_a.png")
        buf = io.BytesIO()
        src.save(buf, format="PNG")
        svg = vtracer.convert_raw_image_to_svg(
            buf.getvalue(), img_format="png", colormode="color", hierarchical="stacked", mode="spline",
            filter_speckle=4, color_precision=3, layer_difference=16, corner_threshold=60,
            length_threshold=4.0, max_iterations=10, splice_threshold=45, path_precision=2)
        png = bytes(resvg_py.svg_to_bytes(svg_string=svg, width=183, height=111, background="#ffffff",
                                          skip_system_fonts=True))
        Image.open(io.BytesIO(png)).convert("RGBA").save(OUT / "vtracer_b.png")
        pairs.append(("vtracer_a.png", "vtracer_b.png", "golden logo at 3x vs its VTracer SVG (color_precision 3, other defaults, path_precision 2) rendered by resvg"))
    except ImportError:
        print("vtracer/resvg_py not installed: skipping the VTracer pair")

    ref = []
    for fa, fb, what in pairs:
        v = structural_similarity(luma(OUT / fa), luma(OUT / fb), gaussian_weights=True, sigma=1.5,
                                  use_sample_covariance=False, data_range=255)
        ref.append({"a": fa, "b": fb, "what": what, "ssim": float(v)})
        if fa == "vtracer_a.png":
            ref[-1]["params"] = {"color_precision": 3, "path_precision": 2}
        print(f"{fa} ~ {fb}: {v:.6f}")
    doc = {"skimage": skimage.__version__, "tolerance": 1e-3, "pairs": ref}
    (OUT / "reference.json").write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
