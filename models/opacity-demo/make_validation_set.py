#!/usr/bin/python3
"""models/opacity-demo/make_validation_set.py OUT_DIR [--images N] [--seed S] [--model model.pt]
— a labelled folder of SYNTHETIC images for checking the imaging demonstration on "a site's"
images (`localdx evaluate --images`, the browser's Validate view; docs/imaging.md).

Draws N images (default 100, half with opacities) with make_cnn.py's `draw`, from its own seed
(default 2024, never the training seed), and writes to OUT_DIR:
  val-NNN.png   8-bit PNG, 224 x 224
  labels.csv    image, opacity (0 or 1), x0, y0, x1, y1: for a positive image the box around all
                its lesions (each lesion's centre plus and minus its radius, in image pixels,
                clipped to the image); empty for a negative image
  outputs.json  with --model (make_cnn.py's model.pt): PyTorch's outputs for the images, in the
                shape `localdx evaluate --outputs` reads (probabilities, and the class activation
                map as the map), standing in for a site's own pipeline
Deterministic for a given seed.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_cnn import SIZE, draw, tensor  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--model", default="")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    from PIL import Image
    rng = np.random.default_rng(a.seed)
    rows, pngs = [], []
    for i in range(a.images):
        positive = i % 2 == 1
        img, lesions = draw(rng, positive)
        name = f"val-{i:03d}.png"
        png8 = np.round(img * 255).astype(np.uint8)
        Image.fromarray(png8, "L").save(os.path.join(a.out, name))
        pngs.append(png8)
        box = ["", "", "", ""]
        if lesions:
            x0 = max(0.0, min(lx - r for _, lx, r in lesions))
            y0 = max(0.0, min(ly - r for ly, _, r in lesions))
            x1 = min(float(SIZE), max(lx + r for _, lx, r in lesions))
            y1 = min(float(SIZE), max(ly + r for ly, _, r in lesions))
            box = [f"{v:.1f}" for v in (x0, y0, x1, y1)]
        rows.append([name, "1" if positive else "0"] + box)
    with open(os.path.join(a.out, "labels.csv"), "w") as f:
        f.write("image,opacity,x0,y0,x1,y1\n")
        for r in rows:
            f.write(",".join(r) + "\n")
    if a.model:
        import torch
        from make_cnn import OpacityNet
        net = OpacityNet()
        net.load_state_dict(torch.load(a.model))
        net.eval()
        x = torch.from_numpy(np.concatenate([tensor(p / 255.0) for p in pngs]))
        with torch.no_grad():
            probs, cams = net(x)
        images = []
        for name, p, cam in zip([r[0] for r in rows], probs[:, 0].numpy(), cams.numpy()):
            p = float(p)
            images.append({"image": name, "width": SIZE, "height": SIZE, "probabilities": [1 - p, p],
                           "map": {"height": int(cam.shape[0]), "width": int(cam.shape[1]),
                                   "values": cam.astype(np.float64).ravel().tolist()}})
        with open(os.path.join(a.out, "outputs.json"), "w") as f:
            json.dump({"images": images}, f)
    print(f"{a.images} images ({sum(r[1] == '1' for r in rows)} with opacities) in {a.out}")


if __name__ == "__main__":
    main()
