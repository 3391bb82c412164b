#!/usr/bin/python3
"""tests/cli/evaluate_reference.py — `localdx evaluate` against independent references.

Usage: evaluate_reference.py SCHEMA.json DATA.csv PREDICTIONS.json REPORT.json

SCHEMA.json is the bundle's schema (its threshold decides the binary class).

PREDICTIONS.json is `localdx predict --format json` on DATA.csv (the bundle's probabilities);
REPORT.json is `localdx evaluate --format json` on the same file. Every point figure of the report
is recomputed here from the probabilities and the labels alone: AUC-ROC, average precision,
Brier score and quadratic weighted kappa by python3-sklearn, the calibration intercept and slope by
a logistic fit written in plain numpy (Newton-Raphson), the confusion counts by numpy. They must
agree to 1e-9.
"""
import csv
import json
import sys

import numpy as np
from sklearn.metrics import (average_precision_score, brier_score_loss, cohen_kappa_score,
                             roc_auc_score)

schema_path, data_path, predictions_path, report_path = sys.argv[1:5]
schema = json.load(open(schema_path))
classes = [c["name"] for c in schema["outputs"]["classes"]]
labels_by_name = {c["name"]: i for i, c in enumerate(schema["outputs"]["classes"])}
column = schema["outputs"]["column"]
kind = schema["outputs"]["kind"]
threshold = schema["outputs"].get("threshold", 0.5)

rows = list(csv.DictReader(open(data_path)))
predictions = json.load(open(predictions_path))
report = json.load(open(report_path))
metrics = report["metrics"]
assert len(predictions) == len(rows), (len(predictions), len(rows))
y = np.array([labels_by_name[r[column]] for r in rows])
p = np.array([[pr["probabilities"][pr["classes"].index(c)] for c in classes] for pr in predictions])
k = len(classes)
failures = []


def check(name, ours, reference, tol=1e-9):
    if ours is None and np.isnan(reference):
        return  # both say the figure does not exist on these rows
    if ours is None or abs(ours - reference) > tol:
        failures.append(f"{name}: localdx {ours!r}, reference {reference!r}")


def value(path):
    node = metrics
    for key in path.split("."):
        node = node[key]
    return node["value"]


if kind == "binary":
    decided = (p[:, 1] >= threshold).astype(int)
else:
    decided = p.argmax(axis=1)

check("accuracy", value("accuracy"), float(np.mean(decided == y)))
for c, name in enumerate(classes):
    positive = (y == c).astype(int)
    check(f"{name} AUC-ROC", value(f"class.{name}.auc_roc"), roc_auc_score(positive, p[:, c]))
    check(f"{name} PR-AUC", value(f"class.{name}.pr_auc"), average_precision_score(positive, p[:, c]))
    tp = np.sum((decided == c) & (y == c))
    fp = np.sum((decided == c) & (y != c))
    fn = np.sum((decided != c) & (y == c))
    tn = np.sum((decided != c) & (y != c))
    check(f"{name} sensitivity", value(f"class.{name}.sensitivity"), tp / (tp + fn))
    check(f"{name} specificity", value(f"class.{name}.specificity"), tn / (tn + fp))
    if tp + fp > 0:
        check(f"{name} PPV", value(f"class.{name}.precision"), tp / (tp + fp))
    if tn + fn > 0:
        check(f"{name} NPV", value(f"class.{name}.npv"), tn / (tn + fn))
    counts = metrics["confusion"]["counts"]
    for t in range(k):
        if counts[c][t] != int(np.sum((y == c) & (decided == t))):
            failures.append(f"confusion[{c}][{t}]: {counts[c][t]}")

if kind == "binary":
    check("Brier score", value("brier"), brier_score_loss(y, p[:, 1]))
    check("alerts per 100", value("alerts_per_100"), 100 * float(np.mean(decided)))
    # Logistic recalibration on logit(p), p clipped as localdx clips it; both fits must converge.
    q = np.clip(p[:, 1], 1e-15, 1 - 1e-15)
    x = np.log(q / (1 - q))

    def newton(free_slope):
        a, b = 0.0, 1.0
        for _ in range(100):
            m = 1 / (1 + np.exp(-(a + b * x)))
            r, w = y - m, m * (1 - m)
            if free_slope:
                g = np.array([r.sum(), (r * x).sum()])
                h = np.array([[w.sum(), (w * x).sum()], [(w * x).sum(), (w * x * x).sum()]])
                da, db = np.linalg.solve(h, g)
            else:
                da, db = r.sum() / w.sum(), 0.0
            a, b = a + da, b + db
            if abs(da) < 1e-13 * (1 + abs(a)) and abs(db) < 1e-13 * (1 + abs(b)):
                return a, b
        return np.nan, np.nan  # no maximum (the classes are separated): no calibration line

    check("calibration intercept", value("calibration.intercept"), newton(False)[0])
    check("calibration slope", value("calibration.slope"), newton(True)[1])
else:
    onehot = np.eye(k)[y]
    check("Brier score (multi-class)", value("brier"), float(np.mean(np.sum((p - onehot) ** 2, axis=1))))
if kind == "ordinal":
    check("quadratic weighted kappa", value("ordinal.quadratic_weighted_kappa"),
          cohen_kappa_score(y, decided, weights="quadratic"))
    check("within one", value("ordinal.within_one_accuracy"), float(np.mean(np.abs(decided - y) <= 1)))

# Each 95% interval holds its point estimate's neighbourhood: lower <= upper, both numbers.
for name in ["accuracy", "brier"]:
    lo, hi = metrics[name]["ci95"]
    if not (lo <= hi):
        failures.append(f"{name} interval [{lo}, {hi}]")

if failures:
    print("\n".join(failures))
    sys.exit(1)
print(f"{schema['task']}: every figure of localdx evaluate equals the reference to 1e-9 ({len(y)} patients)")
