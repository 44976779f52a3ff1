#!/usr/bin/env python3
"""One-at-a-time sensitivity study of VTracer parameters vs SSIM (luma BT.601).

Usage: python study.py  -> writes images/ (inputs) and results.csv
"""
import csv, io, json, math, os, random, re, sys, time
import multiprocessing as mp
import numpy as np
from PIL import Image, ImageDraw, ImageFont

HERE = os.path.dirname(os.path.abspath(__file__))
LONG = 256
TIMEOUT = 10.0

DEFAULTS = dict(color_precision=6, corner_threshold=60, length_threshold=4.0,
                max_iterations=10, splice_threshold=45, path_precision=2,
                layer_difference=16, filter_speckle=4)
GRID = dict(
    color_precision=[1, 2, 3, 4, 5, 6, 7, 8],
    corner_threshold=[0, 30, 60, 90, 120, 150, 180],
    length_threshold=[3.5, 4.0, 5.0, 6.0, 7.0, 8.5, 10.0],
    max_iterations=[1, 2, 5, 10, 15, 20],
    splice_threshold=[0, 30, 45, 60, 90, 135, 180],
    path_precision=[0, 1, 2, 3, 4, 6, 8],
    layer_difference=[0, 1, 8, 16, 32, 64, 128, 255],
    filter_speckle=[0, 1, 2, 4, 8, 12, 16],
)


# ---------------------------------------------------------------- rendering
def render_svg(svg, w=None, h=None):
    import resvg_py
    kw = dict(svg_string=svg, background="#ffffff", skip_system_fonts=True)
    if w: kw["width"] = int(w)
    if h: kw["height"] = int(h)
    png = resvg_py.svg_to_bytes(**kw)
    if not isinstance(png, (bytes, bytearray)):
        png = bytes(png)
    im = Image.open(io.BytesIO(png))
    return flatten(im)


def flatten(im):
    im = im.convert("RGBA")
    bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
    bg.alpha_composite(im)
    return bg.convert("RGB")


def fit(w, h):
    s = LONG / max(w, h)
    return max(1, round(w * s)), max(1, round(h * s))


# ---------------------------------------------------------------- image set
def iconify_images(n=15, n_grad=6, seed=1):
    d = json.load(open(os.path.join(HERE, "iconify-json-logos-1.2.19/package/icons.json")))
    W0, H0 = d.get("width", 256), d.get("height", 256)
    names = sorted(d["icons"])
    rng = random.Random(seed)
    grad = [k for k in names if "Gradient" in d["icons"][k]["body"]]
    flat = [k for k in names if "Gradient" not in d["icons"][k]["body"]]
    pick = [(k, "gradient") for k in rng.sample(grad, n_grad)] + \
           [(k, "flat") for k in rng.sample(flat, n - n_grad)]
    out = []
    for k, kind in pick:
        ic = d["icons"][k]
        l, t = ic.get("left", 0), ic.get("top", 0)
        w, h = ic.get("width", W0), ic.get("height", H0)
        svg = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
               f'viewBox="{l} {t} {w} {h}">{ic["body"]}</svg>')
        pw, ph = fit(w, h)
        out.append(("iconify:" + k, kind, render_svg(svg, pw, ph)))
    return out


def simpleicons_images(n=15, seed=2):
    base = os.path.join(HERE, "simple-icons-16.37.0/package")
    data = json.load(open(os.path.join(base, "data/simple-icons.json")))
    rng = random.Random(seed)
    data = [e for e in data if os.path.exists(os.path.join(base, "icons", e["slug"] + ".svg"))]
    out = []
    for e in rng.sample(data, n):
        svg = open(os.path.join(base, "icons", e["slug"] + ".svg")).read()
        svg = svg.replace("<svg ", f'<svg fill="#{e["hex"]}" ', 1)
        out.append(("simple:" + e["slug"], "mono", render_svg(svg, LONG, LONG)))
    return out


def synthetic_images():
    out = []
    def font(sz):
        try:
            return ImageFont.load_default(size=sz)
        except TypeError:
            return ImageFont.load_default()
    # 1 circle + square
    im = Image.new("RGB", (256, 256), "white"); d = ImageDraw.Draw(im)
    d.ellipse((30, 30, 226, 226), fill=(220, 40, 40)); d.rectangle((90, 90, 166, 166), fill=(255, 255, 255))
    out.append(("syn:circle_square", "synthetic", im))
    # 2 text logo
    im = Image.new("RGB", (256, 128), "white"); d = ImageDraw.Draw(im)
    d.rounded_rectangle((4, 4, 252, 124), 20, fill=(20, 60, 160)); d.text((24, 30), "ACME", fill="white", font=font(56))
    out.append(("syn:text_badge", "synthetic", im))
    # 3 linear gradient rectangle
    x = np.linspace(0, 1, 256)[None, :, None]
    a = np.array([255, 120, 0]); b = np.array([60, 0, 200])
    g = (a * (1 - x) + b * x) * np.ones((160, 1, 1))
    im = Image.fromarray(g.astype(np.uint8)).convert("RGB")
    canvas = Image.new("RGB", (256, 256), "white"); canvas.paste(im, (0, 48))
    out.append(("syn:lin_gradient", "gradient", canvas))
    # 4 gradient circle with text
    yy, xx = np.mgrid[0:256, 0:256]
    t = (xx + yy) / 510.0
    col = (np.array([0, 200, 120]) * (1 - t[..., None]) + np.array([0, 40, 120]) * t[..., None])
    mask = (xx - 128) ** 2 + (yy - 128) ** 2 < 110 ** 2
    arr = np.where(mask[..., None], col, 255).astype(np.uint8)
    im = Image.fromarray(arr); d = ImageDraw.Draw(im); d.text((70, 100), "GO", fill="white", font=font(64))
    out.append(("syn:grad_circle_text", "gradient", im))
    # 5 triangles multicolour
    im = Image.new("RGB", (256, 256), "white"); d = ImageDraw.Draw(im)
    d.polygon([(128, 10), (246, 230), (10, 230)], fill=(250, 200, 0))
    d.polygon([(128, 80), (196, 200), (60, 200)], fill=(30, 30, 30))
    out.append(("syn:triangles", "synthetic", im))
    # 6 thin lines / stripes
    im = Image.new("RGB", (256, 256), "white"); d = ImageDraw.Draw(im)
    for i in range(8):
        d.line((10, 20 + i * 28, 246, 20 + i * 28 + 10), fill=(0, 100 + i * 15, 200), width=1 + i)
    out.append(("syn:stripes", "synthetic", im))
    # 7 rings
    im = Image.new("RGB", (256, 256), "white"); d = ImageDraw.Draw(im)
    for i, c in enumerate([(0, 120, 255), (255, 255, 255), (255, 60, 0), (255, 255, 255), (0, 160, 60)]):
        r = 120 - i * 22; d.ellipse((128 - r, 128 - r, 128 + r, 128 + r), fill=c)
    out.append(("syn:rings", "synthetic", im))
    # 8 wide text wordmark
    im = Image.new("RGB", (256, 80), "white"); d = ImageDraw.Draw(im)
    d.text((6, 10), "vectune", fill=(40, 40, 40), font=font(50))
    out.append(("syn:wordmark", "synthetic", im))
    # 9 checker + star
    im = Image.new("RGB", (256, 256), "white"); d = ImageDraw.Draw(im)
    for i in range(8):
        for j in range(8):
            if (i + j) % 2: d.rectangle((i * 32, j * 32, i * 32 + 31, j * 32 + 31), fill=(200, 200, 230))
    pts = [(128 + (100 if k % 2 == 0 else 40) * math.cos(math.pi * k / 5 - math.pi / 2),
            128 + (100 if k % 2 == 0 else 40) * math.sin(math.pi * k / 5 - math.pi / 2)) for k in range(10)]
    d.polygon(pts, fill=(230, 30, 120))
    out.append(("syn:checker_star", "synthetic", im))
    # 10 radial gradient button with text
    r = np.sqrt((xx - 128) ** 2 + (yy - 128) ** 2) / 128.0
    col = np.array([255, 230, 120]) * (1 - np.clip(r, 0, 1)[..., None]) + np.array([200, 60, 0]) * np.clip(r, 0, 1)[..., None]
    arr = np.where((r < 0.95)[..., None], col, 255).astype(np.uint8)
    im = Image.fromarray(arr); d = ImageDraw.Draw(im); d.text((60, 105), "SALE", fill=(80, 0, 0), font=font(44))
    out.append(("syn:radial_button", "gradient", im))
    return out


# ---------------------------------------------------------------- metric
def luma(im):
    a = np.asarray(im.convert("RGB"), dtype=np.float64)
    return 0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]


def ssim(a, b):
    from skimage.metrics import structural_similarity
    return structural_similarity(luma(a), luma(b), gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False, data_range=255)


# ---------------------------------------------------------------- worker (for hang detection)
def worker(conn):
    import vtracer
    while True:
        msg = conn.recv()
        if msg is None:
            return
        png, params = msg
        t0 = time.perf_counter()
        try:
            svg = vtracer.convert_raw_image_to_svg(png, img_format="png", colormode="color",
                                                   hierarchical="stacked", mode="spline", **params)
            err = ""
        except BaseException as e:  # noqa
            svg, err = "", repr(e)
        conn.send((svg, err, (time.perf_counter() - t0) * 1000))


class Converter:
    def __init__(self):
        self.start()

    def start(self):
        self.conn, child = mp.Pipe()
        self.p = mp.Process(target=worker, args=(child,), daemon=True)
        self.p.start()

    def __call__(self, png, params):
        if not self.p.is_alive():
            self.start()
            return "", "worker died", float("nan"), "crash"
        self.conn.send((png, params))
        if self.conn.poll(TIMEOUT):
            try:
                svg, err, ms = self.conn.recv()
            except EOFError:
                self.start(); return "", "worker died (EOF)", float("nan"), "crash"
            return svg, err, ms, ("error" if err else "ok")
        self.p.kill(); self.p.join(); self.start()
        return "", "timeout", TIMEOUT * 1000, "hang"


def main():
    os.makedirs(os.path.join(HERE, "images"), exist_ok=True)
    imgs = iconify_images() + simpleicons_images() + synthetic_images()
    for name, kind, im in imgs:
        im.save(os.path.join(HERE, "images", re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".png"))
    print(f"{len(imgs)} images", flush=True)
    conv = Converter()
    fields = ["image", "kind", "w", "h", "param", "value", "status", "err", "conv_ms", "svg_bytes",
              "n_paths", "n_colors", "render_unique_colors", "ssim"]
    f = open(os.path.join(HERE, "results.csv"), "w", newline="")
    wr = csv.DictWriter(f, fieldnames=fields); wr.writeheader()
    t_start = time.time()
    for ii, (name, kind, im) in enumerate(imgs):
        buf = io.BytesIO(); im.save(buf, format="PNG"); png = buf.getvalue()
        cache = {}
        for param, values in GRID.items():
            for v in values:
                params = dict(DEFAULTS); params[param] = v
                key = tuple(sorted(params.items()))
                if key in cache:
                    row = dict(cache[key]); row.update(param=param, value=v); wr.writerow(row); continue
                svg, err, ms, status = conv(png, params)
                row = dict(image=name, kind=kind, w=im.width, h=im.height, param=param, value=v,
                           status=status, err=err, conv_ms=round(ms, 2), svg_bytes=len(svg.encode()),
                           n_paths=svg.count("<path"),
                           n_colors=len(set(re.findall(r'fill="(#[0-9A-Fa-f]{6})"', svg))),
                           render_unique_colors="", ssim="")
                if status == "ok":
                    try:
                        out = render_svg(svg)
                        if out.size != im.size:
                            out = out.resize(im.size, Image.BILINEAR)
                        row["render_unique_colors"] = len(np.unique(np.asarray(out).reshape(-1, 3), axis=0))
                        row["ssim"] = round(ssim(im, out), 6)
                    except Exception as e:  # empty svg etc.
                        row["status"] = "render_error"; row["err"] = repr(e)[:200]
                cache[key] = row
                wr.writerow(row)
        f.flush()
        print(f"[{ii+1}/{len(imgs)}] {name} done, {time.time()-t_start:.0f}s", flush=True)
    conv.conn.send(None)
    f.close()


if __name__ == "__main__":
    main()
