#!/usr/bin/python3
"""tests/imaging/preprocess_parity.py LOCALDX WORKDIR — `localdx preprocess` against a reference
written with numpy and PyTorch (torch.nn.functional.interpolate), on real DICOM files (pydicom's),
a MONOCHROME1 file made from one of them, and PNG and JPEG files written here with Pillow.

For every image and every preprocessing variant (window from the file or fixed, range, min-max;
grey or three channels; bilinear or area; up- and downscaling; normalisation), the tensor LocalDx
writes must equal the reference within 1e-6. The reference decodes DICOM with pydicom and PNG/JPEG
with Pillow, so decoding is checked too (exactly for lossless files).
"""
import json
import os
import subprocess
import sys

import numpy as np
import pydicom
import torch
from pydicom.pixel_data_handlers.util import convert_color_space
import torch.nn.functional as F
from PIL import Image

DATA = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")


def schema(intensity, channels, size, resize, mean, std, formats=("dicom", "png", "jpeg")):
    return {"task": "preprocess-parity", "title": "Preprocessing parity",
            "outputs": {"kind": "binary", "column": "y", "positive": "1",
                        "classes": [{"name": "0", "label": "no"}, {"name": "1", "label": "yes"}]},
            "image": {"formats": list(formats),
                      "tensor": {"name": "image", "layout": "NCHW", "channels": channels, "height": size[0],
                                 "width": size[1]},
                      "preprocess": {"intensity": intensity, "resize": resize, "mean": mean, "std": std}}}


def decoded(path):
    """Stored values (H, W, C) float64, slope, intercept, window (center, width) or None, MONOCHROME1."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"\x89PNG") or head.startswith(b"\xff\xd8"):
        arr = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)
        if np.all(arr[..., 0] == arr[..., 1]) and np.all(arr[..., 0] == arr[..., 2]):
            arr = arr[..., :1]
        return arr, 1.0, 0.0, None, False
    ds = pydicom.dcmread(path)
    arr = ds.pixel_array
    if ds.PhotometricInterpretation in ("YBR_FULL", "YBR_FULL_422") and arr.ndim == 3:
        arr = convert_color_space(arr, "YBR_FULL", "RGB")  # LocalDx reads colour as RGB
    arr = arr.astype(np.float64)
    if arr.ndim == 2:
        arr = arr[..., None]
    window = None
    if "WindowCenter" in ds and "WindowWidth" in ds:
        c, w = ds.WindowCenter, ds.WindowWidth
        c = float(c[0] if isinstance(c, pydicom.multival.MultiValue) else c)
        w = float(w[0] if isinstance(w, pydicom.multival.MultiValue) else w)
        window = (c, w) if w > 0 else None
    return (arr, float(getattr(ds, "RescaleSlope", 1.0)), float(getattr(ds, "RescaleIntercept", 0.0)), window,
            ds.PhotometricInterpretation == "MONOCHROME1")


def reference(path, s):
    arr, slope, intercept, window, mono1 = decoded(path)
    im = s["image"]
    channels, (h, w) = im["tensor"]["channels"], (im["tensor"]["height"], im["tensor"]["width"])
    v = arr * slope + intercept
    if channels == 1:
        v = v[..., :1] if v.shape[-1] == 1 else 0.299 * v[..., 0:1] + 0.587 * v[..., 1:2] + 0.114 * v[..., 2:3]
    elif v.shape[-1] == 1:
        v = np.repeat(v, 3, axis=-1)
    p = im["preprocess"]["intensity"]
    if p["kind"] == "window":
        c, width = (window if (p.get("from_file", True) and window) else (p["center"], p["width"]))
        lo = c - width / 2
    elif p["kind"] == "range":
        lo, width = p["min"], p["max"] - p["min"]
    else:
        lo, width = v.min(), v.max() - v.min()
    v = np.clip((v - lo) / width, 0, 1) if width > 0 else np.zeros_like(v)
    if mono1:
        v = 1 - v
    t = torch.from_numpy(np.ascontiguousarray(v.transpose(2, 0, 1)[None]))  # 1 x C x H x W, float64
    if im["preprocess"]["resize"] == "bilinear":
        t = F.interpolate(t, size=(h, w), mode="bilinear", align_corners=False)
    else:
        t = F.adaptive_avg_pool2d(t, (h, w))
    mean = torch.tensor(im["preprocess"]["mean"], dtype=torch.float64).view(1, -1, 1, 1)
    std = torch.tensor(im["preprocess"]["std"], dtype=torch.float64).view(1, -1, 1, 1)
    return ((t - mean) / std).to(torch.float32).numpy()


def main():
    cli, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    # A MONOCHROME1 file: MR_small with its photometric interpretation turned over.
    ds = pydicom.dcmread(os.path.join(DATA, "MR_small.dcm"))
    ds.PhotometricInterpretation = "MONOCHROME1"
    ds.save_as(os.path.join(work, "MR_small_monochrome1.dcm"))
    # PNG and JPEG files: a grey radiograph-like gradient with a disc, and a colour image.
    yy, xx = np.mgrid[0:300, 0:220]
    grey = (40 + 0.5 * yy + 80 * np.exp(-((yy - 120) ** 2 + (xx - 90) ** 2) / 900.0)).clip(0, 255).astype(np.uint8)
    Image.fromarray(grey, "L").save(os.path.join(work, "grey.png"))
    Image.fromarray(grey, "L").save(os.path.join(work, "grey.jpg"), quality=90)
    colour = np.stack([grey, 255 - grey, (xx % 256).astype(np.uint8)], axis=-1)
    Image.fromarray(colour, "RGB").save(os.path.join(work, "colour.png"))
    Image.fromarray(colour, "RGB").save(os.path.join(work, "colour.jpg"), quality=85)

    images = [os.path.join(DATA, f) for f in ("CT_small.dcm", "MR_small.dcm", "MR_small_RLE.dcm", "SC_rgb_rle.dcm",
                                                 "JPGExtended.dcm", "SC_rgb_jpeg_dcmtk.dcm")]
    images += [os.path.join(work, f) for f in ("MR_small_monochrome1.dcm", "grey.png", "grey.jpg", "colour.png",
                                                 "colour.jpg")]
    variants = [
        schema({"kind": "window", "center": 40, "width": 400, "from_file": True}, 1, (224, 224), "bilinear", [0.5], [0.25]),
        schema({"kind": "window", "center": 100, "width": 300, "from_file": False}, 1, (37, 53), "area", [0.2], [0.7]),
        schema({"kind": "range", "min": 0, "max": 255}, 3, (64, 64), "bilinear", [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        schema({"kind": "min_max"}, 1, (50, 31), "area", [0], [1]),
        schema({"kind": "min_max"}, 3, (300, 17), "bilinear", [0.1, 0.2, 0.3], [1, 2, 3]),
    ]
    worst, checked = 0.0, 0
    for k, s in enumerate(variants):
        sp = os.path.join(work, f"schema-{k}.json")
        with open(sp, "w") as f:
            json.dump(s, f)
        for path in images:
            out = os.path.join(work, f"t-{k}-{os.path.basename(path)}.npy")
            r = subprocess.run([cli, "preprocess", "--schema", sp, "--image", path, "--out", out],
                               capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                sys.exit(f"localdx preprocess failed on {path}: {r.stderr}")
            mine, ref = np.load(out), reference(path, s)
            if mine.shape != ref.shape or mine.dtype != np.float32:
                sys.exit(f"{path}, variant {k}: tensor {mine.shape} {mine.dtype}, reference {ref.shape}")
            diff = float(np.max(np.abs(mine.astype(np.float64) - ref.astype(np.float64))))
            worst = max(worst, diff)
            checked += 1
            print(f"variant {k} {os.path.basename(path):28} {str(mine.shape):18} max |difference| {diff:.2e}")
            if diff > 1e-6:
                sys.exit(f"{path}, variant {k}: max |difference| {diff:g} > 1e-6")
    print(f"{checked} tensors equal the numpy + PyTorch reference: max |difference| {worst:.2e}")
    # Truncated and damaged files are refused with a reason, never scored as if whole (libjpeg
    # and libpng would fill a truncated image with grey).
    sp = os.path.join(work, "schema-0.json")
    for name in ("grey.jpg", "colour.jpg", "grey.png", "colour.png"):
        data = open(os.path.join(work, name), "rb").read()
        for cut in (len(data) // 3, len(data) // 2, len(data) - 20):
            bad = os.path.join(work, "cut-" + name)
            with open(bad, "wb") as f:
                f.write(data[:cut])
            r = subprocess.run([cli, "preprocess", "--schema", sp, "--image", bad, "--out", bad + ".npy"],
                               capture_output=True, text=True, timeout=60)
            if r.returncode != 1 or "cannot be read" not in r.stderr:
                sys.exit(f"{name} cut to {cut} bytes: exit {r.returncode}, not refused with a reason: {r.stderr}")
    print("truncated PNG and JPEG files are refused with a reason")


if __name__ == "__main__":
    main()
