#!/usr/bin/env python3
"""Writes test/fixtures/image/jpeg-cases.json: small JPEGs saved by Pillow (libjpeg-turbo) with
every chroma subsampling Pillow writes, gray and colour, baseline, optimised and progressive, at
low and high quality and odd sizes, each with the pixels Pillow decodes it to (what torchvision
sees; for CMYK, its convert('RGB')); and the uint8 result of torchvision's Resize + CenterCrop on one of them.

Run with Debian's python3-pil and python3-torchvision (Pillow 9.4, libjpeg-turbo):
    python3 tools/gen-jpeg-fixtures.py
Not run by CI; the JSON it writes is committed.
"""
import base64
import io
import json
import os
import zlib

import numpy as np
from PIL import Image
from torchvision import transforms

rng = np.random.default_rng(20261207)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def z64(data: bytes) -> str:
    """Pixels, zlib-compressed (the tests inflate them with sepconv's own inflate) then base64."""
    return b64(zlib.compress(data, 9))


def picture(h, w):
    """Smooth colour gradients, a hard edge and some noise: every frequency band gets coefficients."""
    y, x = np.mgrid[0:h, 0:w]
    r = 128 + 100 * np.sin(x / 5.0) * np.cos(y / 7.0)
    g = (x * 255 / max(w - 1, 1))
    b = np.where((x - w / 2) ** 2 + (y - h / 2) ** 2 < (min(h, w) / 3) ** 2, 230, 20)
    img = np.stack([r, g, b], -1) + rng.normal(0, 4, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


cases = []


def add(name, img, **save):
    buf = io.BytesIO()
    img.save(buf, format="JPEG", **save)
    data = buf.getvalue()
    decoded = Image.open(io.BytesIO(data))
    decoded.load()
    cases.append({
        "name": name,
        "save": {k: v for k, v in save.items() if k != "qtables"},
        "jpeg": b64(data),
        "mode": decoded.mode,
        "size": list(decoded.size),
        "pixelsZlib": z64(np.asarray(decoded.convert("RGB") if decoded.mode == "CMYK" else decoded, dtype=np.uint8).tobytes()),
    })


rgb = Image.fromarray(picture(23, 29), "RGB")
add("444 q90", rgb, quality=90, subsampling=0)
add("422 q75", rgb, quality=75, subsampling=1)
add("420 q75", rgb, quality=75, subsampling=2)
add("420 q100", rgb, quality=100, subsampling=2)
add("420 q5", rgb, quality=5, subsampling=2)
add("420 optimized", rgb, quality=80, subsampling=2, optimize=True)
add("420 progressive", rgb, quality=80, subsampling=2, progressive=True)
add("444 progressive", rgb, quality=95, subsampling=0, progressive=True)
add("422 progressive q30", rgb, quality=30, subsampling=1, progressive=True)
gray = rgb.convert("L")
add("gray q85", gray, quality=85)
add("gray progressive", gray, quality=85, progressive=True)
add("1x1", Image.fromarray(picture(1, 1), "RGB"), quality=90)
add("3x17 420", Image.fromarray(picture(17, 3), "RGB"), quality=90, subsampling=2)
add("2x9 422", Image.fromarray(picture(9, 2), "RGB"), quality=90, subsampling=1)
add("56x40 420 progressive", Image.fromarray(picture(40, 56), "RGB"), quality=85, subsampling=2, progressive=True)
# CMYK (Pillow writes an Adobe marker and inverted samples); the pixels are what convert('RGB') gives.
cmyk = Image.fromarray(np.concatenate([picture(23, 29), picture(23, 29)[:, :, :1] // 2], -1), "CMYK")
add("cmyk", cmyk, quality=90)
# Quantisation values over 255 need 16-bit DQT tables.
add("16-bit tables", rgb, qtables=[[300] + [2] * 63, [400] + [3] * 63], subsampling=0)

source = Image.open(io.BytesIO(base64.b64decode(next(c["jpeg"] for c in cases if c["name"] == "56x40 420 progressive")))).convert("RGB")
out = np.asarray(transforms.CenterCrop(28)(transforms.Resize(31)(source)), dtype=np.uint8)

here = os.path.dirname(os.path.abspath(__file__))
path = os.path.join(here, "..", "test", "fixtures", "image", "jpeg-cases.json")
with open(path, "w") as f:
    json.dump({
        "generator": "tools/gen-jpeg-fixtures.py",
        "versions": {"pillow": Image.__version__, "torchvision": __import__("torchvision").__version__},
        "cases": cases,
        "transform": {"image": "56x40 420 progressive", "resize": 31, "centerCrop": 28, "shape": list(out.shape), "hwcZlib": z64(out.tobytes())},
    }, f, indent=1)
print(path, os.path.getsize(path), "bytes")
