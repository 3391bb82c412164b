#!/usr/bin/python3
"""tests/bench/torch_image.py MODEL_DIR OUT.json — scripts/bench's reference for one image: the
demonstration CNN in PyTorch (one thread, CPU) on a 224 x 224 PNG: read and preprocess it (Pillow,
numpy), its probability and class activation map (one forward pass), then the 22 masked images of
the deletion curve (one batched pass), as the browser's worker does. Median of 50 runs, in ms."""
import importlib.util
import json
import os
import sys
import time

import numpy as np
import torch
from PIL import Image

model_dir, out = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location("make_cnn", os.path.join(os.path.dirname(__file__), "../../models/opacity-demo/make_cnn.py"))
make_cnn = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_cnn)
torch.set_num_threads(1)
model = make_cnn.OpacityNet()
model.load_state_dict(torch.load(os.path.join(model_dir, "model.pt")))
model.eval()
png = os.path.join(model_dir, "test", "synthetic-001.png")
first, whole = [], []
with torch.no_grad():
    for _ in range(55):
        t0 = time.perf_counter()
        x = torch.from_numpy(make_cnn.tensor(np.asarray(Image.open(png), dtype=np.float64) / 255.0))
        p, cam = model(x)
        t1 = time.perf_counter()
        model(x.repeat(22, 1, 1, 1))
        t2 = time.perf_counter()
        first.append((t1 - t0) * 1000)
        whole.append((t2 - t0) * 1000)
first, whole = first[5:], whole[5:]
with open(out, "w") as f:
    json.dump({"torch.image_map_p50": {"value": float(np.median(first)), "unit": "ms"},
               "torch.image_map_deletion_p50": {"value": float(np.median(whole)), "unit": "ms"}}, f, indent=2)
print(f"  PyTorch (1 thread): image and map {np.median(first):.1f} ms, with the deletion curve {np.median(whole):.1f} ms")
