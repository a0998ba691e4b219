#!/usr/bin/env python3
"""Writes test/fixtures/image/pil-cases.json: small PNGs saved by Pillow in every mode it writes,
what Pillow decodes them to, and what torchvision's Resize (bilinear and bicubic) + CenterCrop make of them (uint8, HWC,
before ToTensor), for sizes that exercise upscaling, strong downscaling, [h, w] resizes, crops
larger than the image (zero padding) and Python's round-half-even crop offsets.

Run with Debian's python3-pil and python3-torchvision (torchvision 0.14, Pillow 9.4):
    python3 tools/gen-image-fixtures.py
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
from torchvision.transforms import InterpolationMode

rng = np.random.default_rng(20261206)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def z64(data: bytes) -> str:
    """Pixels, zlib-compressed (the tests inflate them with sepconv's own inflate) then base64."""
    return b64(zlib.compress(data, 9))


def smooth(h, w, c):
    """A gradient with noise: both smooth areas and edges, so rounding differences would show."""
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([(x * 255 / max(w - 1, 1)), (y * 255 / max(h - 1, 1)), ((x + y) * 7) % 256][:c], -1)
    noise = rng.integers(-6, 7, size=(h, w, c))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def png_bytes(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", **kw)
    return buf.getvalue()


images = {}
rgb = Image.fromarray(smooth(30, 40, 3), "RGB")
images["rgb40x30"] = (rgb, {})
images["gray23x41"] = (Image.fromarray(smooth(41, 23, 1)[:, :, 0], "L"), {})
rgba = Image.fromarray(np.concatenate([smooth(20, 31, 3), rng.integers(0, 256, (20, 31, 1), dtype=np.uint8)], -1), "RGBA")
images["rgba31x20"] = (rgba, {})
la = Image.fromarray(np.concatenate([smooth(17, 9, 1), rng.integers(0, 256, (17, 9, 1), dtype=np.uint8)], -1), "LA")
images["la9x17"] = (la, {})
pal = rgb.quantize(colors=13)
images["palette40x30"] = (pal, {"transparency": 3})
pal4 = rgb.resize((11, 7)).quantize(colors=5)
images["palette4bit11x7"] = (pal4, {"bits": 4})
one = Image.fromarray((smooth(9, 13, 1)[:, :, 0] > 128).astype(np.uint8) * 255, "L").convert("1")
images["bilevel13x9"] = (one, {})
# No 16-bit gray: Pillow opens it as mode "I" and convert('RGB') clips values above 255 instead of
# scaling them; sepconv keeps the high byte (as Pillow does for 16-bit RGB), so they differ on purpose.
big = Image.fromarray(smooth(36, 48, 3), "RGB")
images["rgb48x36"] = (big, {})
images["rgb1x1"] = (Image.fromarray(np.array([[[200, 10, 77]]], dtype=np.uint8), "RGB"), {})
images["rgb9x3"] = (Image.fromarray(smooth(3, 9, 3), "RGB"), {"optimize": True})

cases = []
for name, (img, save) in images.items():
    data = png_bytes(img, **save)
    decoded = Image.open(io.BytesIO(data))
    decoded.load()
    cases.append({
        "name": name,
        "png": b64(data),
        "mode": decoded.mode,
        "size": list(decoded.size),
        # The decoded samples in Pillow's own mode (palette and bilevel images as RGB(A)/L).
        "pixelsZlib": z64(np.asarray(decoded.convert({"P": "RGBA" if "transparency" in decoded.info else "RGB", "1": "L"}.get(decoded.mode, decoded.mode)), dtype=np.uint8).tobytes()),
    })

# (image, Resize argument, CenterCrop argument)
transforms_cases = [
    ("rgb40x30", 17, 15),
    ("rgb40x30", 36, 32),       # upscale
    ("rgb40x30", 25, 22),       # crop offset (25-22)/2 = 1.5 -> 2 (round half even)
    ("rgb40x30", 23, 22),       # (23-22)/2 = 0.5 -> 0
    ("gray23x41", 50, [48, 30]),
    ("rgba31x20", [13, 29], 31),  # crop larger than the image: zero padding on every side
    ("la9x17", 12, [20, 9]),
    ("palette40x30", 21, 20),
    ("rgb48x36", 3, 3),         # downscale by 12: wide antialiasing support
    ("rgb48x36", 33, 30),       # downscale by a little
    ("rgb1x1", 5, 3),
    ("rgb9x3", 10, [10, 33]),
    ("bilevel13x9", 30, 30),
    ("rgb40x30", 17, 15, "bicubic"),   # bicubic: negative lobes, clipping
    ("rgb40x30", 36, 32, "bicubic"),
    ("gray23x41", 9, [9, 5], "bicubic"),
]
resized = []
for name, size, crop, *rest in transforms_cases:
    interpolation = rest[0] if rest else "bilinear"
    mode = {"bilinear": InterpolationMode.BILINEAR, "bicubic": InterpolationMode.BICUBIC}[interpolation]
    img, _ = images[name]
    source = Image.open(io.BytesIO(base64.b64decode(next(c["png"] for c in cases if c["name"] == name)))).convert("RGB")
    out = transforms.CenterCrop(crop)(transforms.Resize(size, interpolation=mode)(source))
    arr = np.asarray(out, dtype=np.uint8)
    resized.append({"image": name, "resize": size, "centerCrop": crop, "interpolation": interpolation, "shape": list(arr.shape), "hwcZlib": z64(arr.tobytes())})

here = os.path.dirname(os.path.abspath(__file__))
path = os.path.join(here, "..", "test", "fixtures", "image", "pil-cases.json")
with open(path, "w") as f:
    json.dump({
        "generator": "tools/gen-image-fixtures.py",
        "versions": {"pillow": Image.__version__, "torchvision": __import__("torchvision").__version__},
        "images": cases,
        "transforms": resized,
    }, f, indent=1)
print(path, os.path.getsize(path), "bytes")
