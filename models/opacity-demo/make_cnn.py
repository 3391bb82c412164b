#!/usr/bin/python3
"""models/opacity-demo/make_cnn.py OUT_DIR [--images N] [--epochs E] — the imaging demonstration:
a small CNN trained with PyTorch on SYNTHETIC radiograph-like images whose lesions are known.

Not a medical model and not for clinical use: the images are drawn here (a smooth body outline,
rib-like arcs, film grain) and half of them get one to three round opacities of random size and
contrast. The point is to exercise the pipeline end to end (preprocessing, ONNX Runtime Web, a
heat map whose correctness can be measured) on data whose answer is known.

Writes to OUT_DIR:
  model.onnx      input "image" [N, 1, 224, 224] (the schema's preprocessing already applied),
                  outputs "probability" [N, 1] (sigmoid) and "cam" [N, 28, 28]: the class
                  activation map (Zhou et al. 2016) of the last convolution, computed inside
                  the graph so that the heat map costs no second pass
  model-nocam.onnx  the same without "cam" (explained by an occlusion map instead)
  model.pt        PyTorch's weights (scripts/bench's reference)
  test/           40 held-out images as 8-bit PNG, each with NAME.json (positive, lesions:
                  centres and radii in pixels), and PyTorch's side of the parity tests:
                  tensors.f32 (the tensors, float32) and reference.json (probability, cam);
                  reference.csv (image, p_0, p_1), the reference images `localdx bundle` takes
  descriptors.csv the drift report's descriptors of each training image (drift/image_descriptors.h):
                  size and the 8-bit image's tensor mean and standard deviation; no header fields
                  (`localdx bundle --image-descriptors` bins them into the bundle's reference)
  drift/          400 further held-out images (PNG) for the drift simulation test
  schema.json     models/opacity-demo/schema.json with "image.training": the mean and standard
                  deviation of each training image's tensor, summarised (min, max, mean, sd) for
                  the core's out-of-distribution warning (docs/imaging.md)
Deterministic for a given seed (torch.manual_seed, numpy default_rng).

With --multilabel, the multi-label demonstration instead (models/multilabel-demo): three
independent lesion types, each present in half of the images whatever the others are (a round
opacity as above, a thin straight streak, a round dark spot), and the same network with batch
normalisation after each convolution and one sigmoid per finding. Its model.onnx has
"probabilities" [N, 3] and "cam" [N, 3, 28, 28] (one map per finding); test/ holds 40 held-out
PNGs with NAME.json (the findings present and their lesions),
reference.json (probabilities, cam), reference.csv (image, p_<finding>), labels.csv
(image, one 1/0 column per finding) and outputs.json (PyTorch's outputs in the form
`localdx evaluate --outputs` reads); tensors.f32 (beside test/) PyTorch's input tensors;
schema.json is models/multilabel-demo/schema.json with image.training; metrics.json each finding's
accuracy (at 0.5) and AUC-ROC on 200 held-out images; descriptors.csv and drift/ (400 PNGs) as
above; calibration/ labels.csv and outputs.json for 300 further held-out images (not kept), from
which `localdx bundle` fits the bundle's conformal calibrator per finding. No model-nocam.onnx.
"""
import argparse
import json
import os

import numpy as np
import torch
import torch.nn as nn

SIZE = 224
MEAN, STD = 0.5, 0.25
DRIFT_IMAGES = 400
CALIBRATION_IMAGES = 300


def draw(rng, positive):
    """One image in [0, 1] (float64) and its lesions [(row, col, radius)]."""
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    cy, cx = SIZE / 2 + rng.normal(0, 6), SIZE / 2 + rng.normal(0, 6)
    body = np.exp(-(((y - cy) / (0.55 * SIZE)) ** 2 + ((x - cx) / (0.42 * SIZE)) ** 2) ** 2)
    img = 0.15 + 0.35 * body
    # Ribs: arcs on both sides, brighter bands.
    for side in (-1, 1):
        for k in range(7):
            r0 = 30 + 22 * k + rng.normal(0, 2)
            arc = r0 + 0.004 * (x - cx - side * 45) ** 2
            band = np.exp(-((y - arc) / 3.5) ** 2) * ((side * (x - cx)) > 8) * body
            img += 0.12 * band
    img += rng.normal(0, 0.02, img.shape)                      # film grain
    img += 0.03 * np.sin(x / rng.uniform(9, 15) + rng.uniform(0, 6))  # texture
    lesions = []
    if positive:
        for _ in range(rng.integers(1, 4)):
            r = rng.uniform(6, 20)
            ly, lx = rng.uniform(0.25, 0.75) * SIZE, rng.uniform(0.22, 0.78) * SIZE
            contrast = rng.uniform(0.12, 0.35)
            img += contrast * np.exp(-(((y - ly) ** 2 + (x - lx) ** 2) / (r * r)) ** 1.5)
            lesions.append((float(ly), float(lx), float(r)))
    return np.clip(img, 0, 1), lesions


class OpacityNet(nn.Module):
    """Four convolutions (224 -> 28), global average pooling, one logit; forward returns the
    probability and the class activation map of the last convolution."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 5, stride=2, padding=2), nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, 32, 3, stride=1, padding=1), nn.ReLU())
        self.fc = nn.Linear(32, 1)

    def forward(self, x):
        f = self.features(x)                                   # N x 32 x 28 x 28
        logit = self.fc(f.mean(dim=(2, 3)))                    # N x 1
        cam = (f * self.fc.weight[0][None, :, None, None]).sum(dim=1)  # N x 28 x 28 (bias left out)
        return torch.sigmoid(logit), cam


FINDINGS = ["opacity", "streak", "dark_spot"]


def draw_findings(rng, present):
    """One image with the findings present ({name: bool}) drawn on the same synthetic background,
    and each finding's lesions [(row, col, radius)] (a streak: its midpoint and half its length)."""
    img, _ = draw(rng, False)
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    lesions = {f: [] for f in FINDINGS}
    if present["opacity"]:
        for _ in range(rng.integers(1, 3)):
            r = rng.uniform(8, 18)
            ly, lx = rng.uniform(0.25, 0.75) * SIZE, rng.uniform(0.22, 0.78) * SIZE
            img += rng.uniform(0.15, 0.35) * np.exp(-(((y - ly) ** 2 + (x - lx) ** 2) / (r * r)) ** 1.5)
            lesions["opacity"].append((float(ly), float(lx), float(r)))
    if present["streak"]:
        half = rng.uniform(35, 55)
        ly, lx, angle = rng.uniform(0.3, 0.7) * SIZE, rng.uniform(0.3, 0.7) * SIZE, rng.uniform(0, np.pi)
        along = (x - lx) * np.cos(angle) + (y - ly) * np.sin(angle)
        across = -(x - lx) * np.sin(angle) + (y - ly) * np.cos(angle)
        img += rng.uniform(0.35, 0.5) * np.exp(-(across / 3.0) ** 2) * (np.abs(along) <= half)
        lesions["streak"].append((float(ly), float(lx), float(half)))
    if present["dark_spot"]:
        r = rng.uniform(12, 20)
        ly, lx = rng.uniform(0.3, 0.7) * SIZE, rng.uniform(0.3, 0.7) * SIZE
        img -= rng.uniform(0.35, 0.45) * np.exp(-(((y - ly) ** 2 + (x - lx) ** 2) / (r * r)) ** 2)
        lesions["dark_spot"].append((float(ly), float(lx), float(r)))
    return np.clip(img, 0, 1), lesions


class FindingsNet(nn.Module):
    """OpacityNet's four convolutions, each followed by batch normalisation (without it the three
    findings are not learnt in a few epochs), and one logit per finding; forward returns the
    findings' probabilities (one sigmoid each) and every finding's class activation map
    [N, K, 28, 28]."""

    def __init__(self, findings):
        super().__init__()
        layers = []
        for c_in, c_out, k, stride in ((1, 8, 5, 2), (8, 16, 3, 2), (16, 32, 3, 2), (32, 32, 3, 1)):
            layers += [nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2), nn.BatchNorm2d(c_out), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(32, findings)

    def forward(self, x):
        f = self.features(x)
        logits = self.fc(f.mean(dim=(2, 3)))
        # Broadcast and sum (not einsum), so that ONNX's shape inference gives the map fixed sides.
        cam = (f[:, None] * self.fc.weight[None, :, :, None, None]).sum(dim=2)
        return torch.sigmoid(logits), cam


def descriptor(img):
    """The drift report's descriptors of a training image as a browser reads it (an 8-bit PNG, no
    DICOM header): its size and its tensor's mean and standard deviation."""
    t8 = tensor(np.clip(np.round(img * 255), 0, 255) / 255.0).astype(np.float64)
    return (SIZE, SIZE, float(t8.mean()), float(t8.std()))


def write_descriptors(path, descriptors):
    with open(path, "w") as f:
        f.write("modality,body_part,view,rows,columns,pixel_spacing,bits_stored,mean,std\n")
        for rows, cols, mean, std in descriptors:
            f.write(f",,,{rows},{cols},,,{mean!r},{std!r}\n")


def training_stats(xs):
    """The training images' tensor statistics the core's out-of-distribution check reads."""
    per_image = {"mean": xs.astype(np.float64).mean(axis=(1, 2, 3)), "std": xs.astype(np.float64).std(axis=(1, 2, 3))}
    training = {"images": int(len(xs))}
    for key, v in per_image.items():
        training[key] = {"min": float(v.min()), "max": float(v.max()), "mean": float(v.mean()), "sd": float(v.std())}
    return training


def fit(model, xs, ys, epochs):
    """Trains model (forward: probabilities, maps) on the tensors xs [N, 1, 224, 224] and the labels
    ys [N, outputs] (1/0 each): Adam at 2e-3, batches of 32, the binary cross-entropy of every output;
    returns it in evaluation mode."""
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = nn.BCELoss()
    x_all = torch.from_numpy(xs)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(x_all))
        total = 0.0
        for i in range(0, len(perm), 32):
            idx = perm[i:i + 32]
            p, _ = model(x_all[idx])
            loss = loss_fn(p, ys[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        print(f"epoch {epoch + 1}/{epochs}: loss {total / len(perm):.4f}")
    return model.eval()


def main_multilabel(a):
    here = os.path.dirname(os.path.abspath(__file__))
    torch.manual_seed(a.seed)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    rng = np.random.default_rng(a.seed)
    present = rng.integers(0, 2, (a.images, len(FINDINGS)))
    xs, descriptors = [], []
    for row in present:
        img = draw_findings(rng, dict(zip(FINDINGS, map(bool, row))))[0]
        xs.append(tensor(img))
        descriptors.append(descriptor(img))
    xs = np.concatenate(xs)
    write_descriptors(os.path.join(a.out, "descriptors.csv"), descriptors)
    with open(os.path.join(here, "..", "multilabel-demo", "schema.json")) as f:
        schema = json.load(f)
    schema["image"]["training"] = training_stats(xs)
    with open(os.path.join(a.out, "schema.json"), "w") as f:
        json.dump(schema, f, indent=2)
    model = fit(FindingsNet(len(FINDINGS)), xs, torch.tensor(present, dtype=torch.float32), a.epochs)
    torch.onnx.export(model, torch.zeros(1, 1, SIZE, SIZE), os.path.join(a.out, "model.onnx"),
                      input_names=["image"], output_names=["probabilities", "cam"], opset_version=17,
                      dynamic_axes={"image": {0: "n"}, "probabilities": {0: "n"}, "cam": {0: "n"}})
    # 200 held-out images (never seen in training); the first 40 saved as PNG with PyTorch's outputs.
    from PIL import Image
    test_rng = np.random.default_rng(a.seed + 1000)
    truth, probs, refs = [], [], {"tensor": [], "probabilities": [], "cam": [], "name": []}
    outputs, labels = [], ["image," + ",".join(FINDINGS)]
    for i in range(200):
        row = dict(zip(FINDINGS, map(bool, test_rng.integers(0, 2, len(FINDINGS)))))
        img, lesions = draw_findings(test_rng, row)
        png8 = np.round(img * 255).astype(np.uint8)
        t = tensor(png8 / 255.0)
        with torch.no_grad():
            p, c = model(torch.from_numpy(t))
        truth.append([row[f] for f in FINDINGS])
        probs.append(p[0].numpy().astype(np.float64))
        if i >= 40:
            continue
        name = f"synthetic-{i:03d}"
        Image.fromarray(png8, "L").save(os.path.join(a.out, "test", name + ".png"))
        with open(os.path.join(a.out, "test", name + ".json"), "w") as f:
            json.dump({"findings": row, "lesions": lesions}, f)
        refs["tensor"].append(t[0])
        refs["probabilities"].append([float(v) for v in p[0]])
        refs["cam"].append(c[0].numpy().astype(np.float64).ravel().tolist())
        refs["name"].append(name)
        top = int(np.argmax(p[0].numpy()))
        outputs.append({"image": name + ".png", "width": SIZE, "height": SIZE,
                        "probabilities": refs["probabilities"][-1],
                        "map": {"height": 28, "width": 28, "values": c[0, top].numpy().astype(np.float64).ravel().tolist()}})
        labels.append(name + ".png," + ",".join("1" if row[f] else "0" for f in FINDINGS))
    truth, probs = np.array(truth), np.array(probs)
    accuracy = {f: float(np.mean((probs[:, k] >= 0.5) == truth[:, k])) for k, f in enumerate(FINDINGS)}
    auc = {f: auc_roc(truth[:, k], probs[:, k]) for k, f in enumerate(FINDINGS)}
    print("held-out accuracy on 200 synthetic images: " + ", ".join(f"{f} {v:.3f}" for f, v in accuracy.items()))
    print("held-out AUC-ROC on 200 synthetic images: " + ", ".join(f"{f} {v:.3f}" for f, v in auc.items()))
    # Beside test/, not in it: test/ is the folder `localdx evaluate --images` reads.
    np.stack(refs["tensor"]).astype("<f4").tofile(os.path.join(a.out, "tensors.f32"))
    with open(os.path.join(a.out, "test", "reference.json"), "w") as f:
        json.dump({"names": refs["name"], "shape": [1, 1, SIZE, SIZE], "findings": FINDINGS,
                   "probabilities": refs["probabilities"], "cam": refs["cam"]}, f)
    with open(os.path.join(a.out, "test", "reference.csv"), "w") as f:
        f.write("image," + ",".join("p_" + x for x in FINDINGS) + "\n")
        for name, p in zip(refs["name"], refs["probabilities"]):
            f.write(f"{name}.png," + ",".join(repr(v) for v in p) + "\n")
    with open(os.path.join(a.out, "test", "labels.csv"), "w") as f:
        f.write("\n".join(labels) + "\n")
    with open(os.path.join(a.out, "test", "outputs.json"), "w") as f:
        json.dump({"images": outputs}, f)
    # Further held-out images for the bundle's conformal calibrator (`localdx bundle
    # --calibration-labels --calibration-outputs` fits it, per finding): their labels and PyTorch's
    # outputs in the form `localdx evaluate --outputs` reads (the top finding's map); the images
    # themselves are not kept.
    os.makedirs(os.path.join(a.out, "calibration"), exist_ok=True)
    cal_rng = np.random.default_rng(a.seed + 3000)
    cal_outputs, cal_labels = [], ["image," + ",".join(FINDINGS)]
    for i in range(CALIBRATION_IMAGES):
        row = dict(zip(FINDINGS, map(bool, cal_rng.integers(0, 2, len(FINDINGS)))))
        img, _ = draw_findings(cal_rng, row)
        with torch.no_grad():
            p, c = model(torch.from_numpy(tensor(np.round(img * 255) / 255.0)))
        probabilities = [float(v) for v in p[0]]
        top = int(np.argmax(probabilities))
        name = f"calibration-{i:03d}.png"
        cal_outputs.append({"image": name, "width": SIZE, "height": SIZE, "probabilities": probabilities,
                            "map": {"height": 28, "width": 28,
                                    "values": [round(float(v), 6) for v in c[0, top].numpy().ravel()]}})
        cal_labels.append(name + "," + ",".join("1" if row[f] else "0" for f in FINDINGS))
    with open(os.path.join(a.out, "calibration", "outputs.json"), "w") as f:
        json.dump({"images": cal_outputs}, f)
    with open(os.path.join(a.out, "calibration", "labels.csv"), "w") as f:
        f.write("\n".join(cal_labels) + "\n")
    # Held-out images for the drift simulation (tests/server/test_image_drift.cpp), as for opacity-demo.
    os.makedirs(os.path.join(a.out, "drift"), exist_ok=True)
    drift_rng = np.random.default_rng(a.seed + 2000)
    for i in range(DRIFT_IMAGES):
        img, _ = draw_findings(drift_rng, dict(zip(FINDINGS, map(bool, drift_rng.integers(0, 2, len(FINDINGS))))))
        png8 = np.clip(np.round(img * 255), 0, 255).astype(np.uint8)
        Image.fromarray(png8, "L").save(os.path.join(a.out, "drift", f"stream-{i:03d}.png"))
    torch.save(model.state_dict(), os.path.join(a.out, "model.pt"))
    with open(os.path.join(a.out, "metrics.json"), "w") as f:
        json.dump({"held_out_accuracy": accuracy, "held_out_auc_roc": auc, "images": a.images, "epochs": a.epochs}, f)


def auc_roc(truth, p):
    """The area under the ROC curve: the share of (with, without) pairs ranked right, ties half."""
    pos, neg = p[truth.astype(bool)], p[~truth.astype(bool)]
    return float(np.mean((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])))


def tensor(img):
    return ((img - MEAN) / STD).astype(np.float32)[None, None]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--images", type=int, default=None)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--multilabel", action="store_true")
    a = ap.parse_args()
    os.makedirs(os.path.join(a.out, "test"), exist_ok=True)
    if a.multilabel:
        a.images, a.epochs = a.images or 1200, a.epochs or 8
        return main_multilabel(a)
    a.images, a.epochs = a.images or 1600, a.epochs or 6
    torch.manual_seed(a.seed)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    rng = np.random.default_rng(a.seed)
    labels = rng.integers(0, 2, a.images)
    xs, descriptors = [], []
    for l in labels:
        img = draw(rng, bool(l))[0]
        xs.append(tensor(img))
        descriptors.append(descriptor(img))
    xs = np.concatenate(xs)
    write_descriptors(os.path.join(a.out, "descriptors.csv"), descriptors)
    # What the core compares an image with (imaging/image_input.h, Scope): per training image, the
    # mean and the standard deviation of its tensor, summarised over the training images.
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema.json")) as f:
        schema = json.load(f)
    schema["image"]["training"] = training_stats(xs)
    with open(os.path.join(a.out, "schema.json"), "w") as f:
        json.dump(schema, f, indent=2)
    model = fit(OpacityNet(), xs, torch.tensor(labels, dtype=torch.float32)[:, None], a.epochs)

    # Held-out images: 100 positives and 100 negatives, never seen in training.
    test_rng = np.random.default_rng(a.seed + 1000)
    test, correct = [], 0
    for i in range(200):
        img, lesions = draw(test_rng, i % 2 == 1)
        test.append((img, lesions))
    with torch.no_grad():
        probs, cams = model(torch.from_numpy(np.concatenate([tensor(im) for im, _ in test])))
    probs = probs[:, 0].numpy()
    accuracy = float(np.mean((probs >= 0.5) == np.array([len(l) > 0 for _, l in test])))
    print(f"held-out accuracy {accuracy:.3f} on 200 synthetic images")

    torch.onnx.export(model, torch.zeros(1, 1, SIZE, SIZE), os.path.join(a.out, "model.onnx"),
                      input_names=["image"], output_names=["probability", "cam"], opset_version=17,
                      dynamic_axes={"image": {0: "n"}, "probability": {0: "n"}, "cam": {0: "n"}})
    # The same network without its map output, as most classifiers are exported: LocalDx then
    # explains it with an occlusion map (the tests bundle it too).
    class ProbabilityOnly(nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net(x)[0]
    torch.onnx.export(ProbabilityOnly(model), torch.zeros(1, 1, SIZE, SIZE), os.path.join(a.out, "model-nocam.onnx"),
                      input_names=["image"], output_names=["probability"], opset_version=17,
                      dynamic_axes={"image": {0: "n"}, "probability": {0: "n"}})
    # Held-out images as 8-bit PNG files, what a browser reads.
    from PIL import Image
    refs = {"tensor": [], "probability": [], "cam": [], "name": []}
    for i, (img, lesions) in enumerate(test[:40]):
        name = f"synthetic-{i:03d}"
        png8 = np.round(img * 255).astype(np.uint8)
        Image.fromarray(png8, "L").save(os.path.join(a.out, "test", name + ".png"))
        t = tensor(png8 / 255.0)
        with torch.no_grad():
            p, c = model(torch.from_numpy(t))
        refs["tensor"].append(t[0])
        refs["probability"].append(float(p[0, 0]))
        refs["cam"].append(c[0].numpy())
        refs["name"].append(name)
        with open(os.path.join(a.out, "test", name + ".json"), "w") as f:
            json.dump({"positive": len(lesions) > 0, "lesions": lesions}, f)
    # PyTorch's side of the parity tests: the tensors (float32, in order) and the outputs.
    np.stack(refs["tensor"]).astype("<f4").tofile(os.path.join(a.out, "test", "tensors.f32"))
    with open(os.path.join(a.out, "test", "reference.json"), "w") as f:
        json.dump({"names": refs["name"], "shape": [1, 1, SIZE, SIZE], "probability": refs["probability"],
                   "cam": [c.astype(np.float64).ravel().tolist() for c in refs["cam"]]}, f)
    with open(os.path.join(a.out, "test", "reference.csv"), "w") as f:
        f.write("image,p_0,p_1\n")
        for name, p in zip(refs["name"], refs["probability"]):
            f.write(f"{name}.png,{1 - p!r},{p!r}\n")
    # Further held-out images for the drift simulation (tests/server/test_image_drift.cpp): a clean
    # stream drawn by the same generator, which the test also shifts in brightness, contrast and
    # pixel spacing.
    os.makedirs(os.path.join(a.out, "drift"), exist_ok=True)
    drift_rng = np.random.default_rng(a.seed + 2000)
    for i in range(DRIFT_IMAGES):
        img, _ = draw(drift_rng, i % 2 == 1)
        png8 = np.clip(np.round(img * 255), 0, 255).astype(np.uint8)
        Image.fromarray(png8, "L").save(os.path.join(a.out, "drift", f"stream-{i:03d}.png"))
    torch.save(model.state_dict(), os.path.join(a.out, "model.pt"))  # for scripts/bench's PyTorch reference
    with open(os.path.join(a.out, "metrics.json"), "w") as f:
        json.dump({"held_out_accuracy": accuracy, "images": a.images, "epochs": a.epochs}, f)


if __name__ == "__main__":
    main()
