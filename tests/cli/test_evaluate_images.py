#!/usr/bin/python3
"""tests/cli/test_evaluate_images.py — `localdx evaluate --images` on a labelled folder of 100
synthetic images (models/opacity-demo/make_validation_set.py), with PyTorch's outputs for them
standing in for a site's pipeline, against independent references; then each bad labels file.

Usage: test_evaluate_images.py LOCALDX SOURCE_DIR DEMO_DIR WORK_DIR

Checked: AUC-ROC, average precision and the Brier score by python3-sklearn, the confusion counts
by numpy (to 1e-9); the pointing game (the map's maximum inside the lesion box) and the energy in
the box recomputed in numpy from the same maps; the same figures on a second run (seeded); and
the refusals of a labels file, each naming its row and column.
"""
import csv
import json
import os
import shutil
import subprocess
import sys

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

ldx, src, demo, work = sys.argv[1:5]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
folder = os.path.join(work, "images")
subprocess.run(["/usr/bin/python3", os.path.join(src, "models/opacity-demo/make_validation_set.py"), folder,
                "--model", os.path.join(demo, "train/opacity-demo/model.pt")], check=True, stdout=subprocess.DEVNULL)
bundle = os.path.join(demo, "bundles/opacity-demo-1.ldxb")
trust = os.path.join(demo, "keys/trust.json")
failures = []


def evaluate(labels, outputs=None, extra=()):
    return subprocess.run([ldx, "evaluate", "--bundle", bundle, "--trust", trust, "--images", folder,
                           "--labels", labels, "--outputs", outputs or os.path.join(folder, "outputs.json"),
                           "--bootstrap", "200", "--format", "json", *extra], capture_output=True, text=True)


def check(name, got, want, tol=1e-9):
    if not (abs(got - want) <= tol):
        failures.append(f"{name}: localdx {got!r}, reference {want!r}")


r = evaluate(os.path.join(folder, "labels.csv"))
assert r.returncode == 0, r.stderr
report = json.loads(r.stdout)
m = report["metrics"]
rows = list(csv.DictReader(open(os.path.join(folder, "labels.csv"))))
outputs = {o["image"]: o for o in json.load(open(os.path.join(folder, "outputs.json")))["images"]}
y = np.array([int(row["opacity"]) for row in rows])
p = np.array([outputs[row["image"]]["probabilities"][1] for row in rows])
assert report["data"]["scored"] == 100 and report["data"]["format"] == "images", report["data"]
check("auc_roc", m["class"]["1"]["auc_roc"]["value"], roc_auc_score(y, p))
check("pr_auc", m["class"]["1"]["pr_auc"]["value"], average_precision_score(y, p))
check("brier", m["brier"]["value"], brier_score_loss(y, p))
threshold = m["threshold"]
tp = int(np.sum((p >= threshold) & (y == 1)))
fn = int(np.sum((p < threshold) & (y == 1)))
check("sensitivity", m["class"]["1"]["sensitivity"]["value"], tp / (tp + fn))
assert m["bootstrap_resamples"] == 200

# The pointing game and the energy in the box, from the maps (positive part) and the boxes.
hits, energies = 0, []
for row in rows:
    if row["opacity"] != "1":
        continue
    o = outputs[row["image"]]
    h, w = o["map"]["height"], o["map"]["width"]
    cam = np.maximum(np.array(o["map"]["values"]).reshape(h, w), 0)
    ys, xs = (np.arange(h) + 0.5) * o["height"] / h, (np.arange(w) + 0.5) * o["width"] / w
    x0, y0, x1, y1 = (float(row[k]) for k in ("x0", "y0", "x1", "y1"))
    inside = (ys[:, None] >= y0) & (ys[:, None] <= y1) & (xs[None, :] >= x0) & (xs[None, :] <= x1)
    peak = np.unravel_index(np.argmax(cam), cam.shape)
    hits += bool(inside[peak])
    energies.append(cam[inside].sum() / cam.sum())
loc = report["localization"]
assert loc["images"] == 50 and loc["boxes"] == 50, loc
assert loc["hits"] == hits, (loc["hits"], hits)
check("energy_in_box", loc["energy_in_box"], float(np.mean(energies)))
print(f"pointing game {hits}/50 = {hits / 50:.2f}, energy in the box {np.mean(energies):.3f}, "
      f"AUC {m['class']['1']['auc_roc']['value']:.4f}")
# The heat maps point at the lesions far more often than chance would (a box covers ~10% of the image).
assert hits >= 35, hits

# Seeded: a second run gives the same report.
again = json.loads(evaluate(os.path.join(folder, "labels.csv")).stdout)
assert again["metrics"] == report["metrics"]

# The text report says the pointing game in words.
text = subprocess.run([ldx, "evaluate", "--bundle", bundle, "--trust", trust, "--images", folder, "--labels",
                       os.path.join(folder, "labels.csv"), "--outputs", os.path.join(folder, "outputs.json"),
                       "--bootstrap", "50"], capture_output=True, text=True)
assert text.returncode == 0 and f"pointing game: {hits} of 50" in text.stdout, text.stdout + text.stderr

# Bad labels files: each problem names its row and column; the rows are left out (exit 0 when the
# rest still gives a report, 1 with --strict).
lines = open(os.path.join(folder, "labels.csv")).read().splitlines()
bad = lines[:]
bad[2] = "val-001.png,1,10,20,300,40"   # box past the image's right edge
bad[3] = "val-002.png,maybe,,,,"        # bad label
bad[4] = "val-001.png,0,,,,"            # duplicate
bad.append("val-999.png,1,,,,")         # no such file
path = os.path.join(work, "bad.csv")
open(path, "w").write("\n".join(bad) + "\n")
r = evaluate(path)
assert r.returncode == 0, r.stderr
for needle in ("row 2, field 'x1'", "224 x 224", "row 3, field 'opacity'", "row 4, field 'image'",
               "already named in row 2", "row 101, field 'image'", "val-999.png"):
    if needle not in r.stderr:
        failures.append(f"bad labels: '{needle}' not in: {r.stderr}")
assert json.loads(r.stdout)["data"]["scored"] == 97
assert evaluate(path, extra=("--strict",)).returncode == 1
# A file without the label column, and outputs that do not match the folder, are refused.
open(path, "w").write("image,label\nval-000.png,0\n")
r = evaluate(path)
assert r.returncode == 1 and "no 'opacity' column" in r.stderr, r.stderr
out = json.load(open(os.path.join(folder, "outputs.json")))
out["images"][0]["width"] = 300
open(os.path.join(work, "outputs.json"), "w").write(json.dumps(out))
r = evaluate(os.path.join(folder, "labels.csv"), os.path.join(work, "outputs.json"))
assert "outputs_mismatch" in r.stderr or "224 x 224 pixels, but its outputs are for an image of 300" in r.stderr, r.stderr

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("localdx evaluate --images: figures, pointing game and refusals as the references")
