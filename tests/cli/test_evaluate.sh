#!/usr/bin/env bash
# tests/cli/test_evaluate.sh — a site validator's checks through the real binary, on the demo
# bundles and the real data sets: `localdx evaluate` equals independent references
# (evaluate_reference.py: sklearn and numpy) on all three tasks; a labelled FHIR file gives the
# same report as the CSV it came from; bad files each get a clear reason; --compare and --gate
# tell a model trained on a tenth of the rows from the demo model.
#
# Usage: test_evaluate.sh LOCALDX SOURCE_DIR DATA_DIR DEMO_DIR WORK_DIR
set -uo pipefail
ldx=$1 src=$2 data=$3 demo=$4 work=$5
rm -rf "$work" && mkdir -p "$work" && cd "$work"
export NODE_OPTIONS=--no-experimental-fetch
trust=$demo/keys/trust.json
source "$src/tests/cli/checks.sh"  # ok, bad, expect_exit, checks_done
evaluate() { "$ldx" evaluate --trust "$trust" "$@"; }

#-- every figure equals the independent reference -----------------------------
for t in pima-diabetes pbc-stage wdbc; do
  b=$demo/bundles/$t-1.ldxb
  "$ldx" predict --bundle "$b" --trust "$trust" --input "$data/$t.csv" --out "$t.pred.json" 2>/dev/null || bad "predict $t"
  evaluate --bundle "$b" --data "$data/$t.csv" --format json --bootstrap 200 --out "$t.json" 2>/dev/null || bad "evaluate $t"
  /usr/bin/python3 "$src/tests/cli/evaluate_reference.py" "$demo/train/$t/schema.json" "$data/$t.csv" "$t.pred.json" "$t.json" \
    && ok || bad "evaluate $t differs from the reference"
  # Lineage: the data file's SHA-256, rows, the bundle's identity, the LocalDx version.
  /usr/bin/python3 - "$t.json" "$data/$t.csv" "$b" <<'EOF' && ok || bad "evaluate $t: lineage"
import hashlib, json, sys
r = json.load(open(sys.argv[1]))
assert r["data"]["sha256"] == hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest(), r["data"]
assert r["bundle"]["sha256"] == hashlib.sha256(open(sys.argv[3], "rb").read()).hexdigest(), r["bundle"]
assert r["data"]["rows"] == r["data"]["scored"] > 0 and r["localdx_version"], r["data"]
ci = r["metrics"]["accuracy"]["ci95"]
assert ci[0] <= r["metrics"]["accuracy"]["value"] <= ci[1], ci
EOF
done
# The text report a person reads: intervals, the confusion matrix, the other thresholds.
evaluate --bundle "$demo/bundles/pima-diabetes-1.ldxb" --data "$data/pima-diabetes.csv" --bootstrap 100 > pima.txt 2>&1 \
  && grep -q "AUC-ROC .*\[0\.[0-9]*, 0\.[0-9]*\]" pima.txt && grep -q "Confusion matrix" pima.txt \
  && grep -q "sensitivity at least 90%" pima.txt && ok || bad "text report: $(cat pima.txt)"

#-- a labelled FHIR file gives the same report as its CSV ---------------------
node "$src/tests/fhir/make_fhir.mjs" "$src/models/pima-diabetes/schema.json" "$data/pima-diabetes.csv" pima.fhir.json --labels >/dev/null
evaluate --bundle "$demo/bundles/pima-diabetes-1.ldxb" --data pima.fhir.json --format json --bootstrap 200 --out pima.fhir.report.json 2>/dev/null \
  || bad "evaluate FHIR"
/usr/bin/python3 - pima-diabetes.json pima.fhir.report.json <<'EOF' && ok || bad "FHIR and CSV reports differ"
import json, sys
a, b = (json.load(open(p))["metrics"] for p in sys.argv[1:3])
for key in ("accuracy", "brier"):
    assert abs(a[key]["value"] - b[key]["value"]) < 1e-12, (key, a[key], b[key])
assert a["confusion"] == b["confusion"], (a["confusion"], b["confusion"])
EOF

#-- bad files: each with its reason -------------------------------------------
b=$demo/bundles/pima-diabetes-1.ldxb
cut -d, -f1-8 "$data/pima-diabetes.csv" > no-label.csv
expect_exit "no label column" 1 "no 'diabetes' column with each patient's true outcome" evaluate --bundle "$b" --data no-label.csv
{ head -1 "$data/pima-diabetes.csv"; tail -n +2 "$data/pima-diabetes.csv" | head -60; } > unknown.csv
sed -i '3s/,pos$/,maybe/; 3s/,neg$/,maybe/' unknown.csv
expect_exit "unknown label: listed, left out" 0 "row 2, field 'diabetes': outcome 'maybe' is not one of: neg \(No diabetes\), pos \(Diabetes\)" \
  evaluate --bundle "$b" --data unknown.csv --bootstrap 50
expect_exit "unknown label with --strict" 1 "outcome 'maybe'" evaluate --bundle "$b" --data unknown.csv --strict
cp unknown.csv short.csv && printf '1,100,70,20,NA,30,0.5,40\n' >> short.csv
expect_exit "a short row is named as such" 0 "row 61: .*9" evaluate --bundle "$b" --data short.csv --bootstrap 20
{ head -1 "$data/pima-diabetes.csv"; grep ',neg$' "$data/pima-diabetes.csv" | head -50; } > one-class.csv
expect_exit "one class only" 1 "every scored patient has the same outcome \('No diabetes'\)" evaluate --bundle "$b" --data one-class.csv
head -11 "$data/pima-diabetes.csv" > ten.csv
expect_exit "too few rows" 1 "10 patients could be scored with a known outcome; a validation needs at least 20" \
  evaluate --bundle "$b" --data ten.csv
{ head -1 "$data/pima-diabetes.csv"; grep ',neg$' "$data/pima-diabetes.csv" | head -40; grep ',pos$' "$data/pima-diabetes.csv" | head -3; } > rare.csv
expect_exit "too few of a class" 1 "only 3 scored patients have 'Diabetes'; at least 5" evaluate --bundle "$b" --data rare.csv
expect_exit "bad gate" 1 "gate 'auc is high' is not" evaluate --bundle "$b" --data "$data/pima-diabetes.csv" --gate "auc is high"
expect_exit "unknown gate metric" 1 "'kappa' is not a figure of this binary task; use one of auc, pr_auc" \
  evaluate --bundle "$b" --data "$data/pima-diabetes.csv" --gate "kappa >= 0.5"
expect_exit "baseline without --compare" 1 "names the baseline: add --compare" \
  evaluate --bundle "$b" --data "$data/pima-diabetes.csv" --gate "auc >= baseline - 0.01"
expect_exit "other task" 1 "predicts other classes" \
  evaluate --bundle "$b" --compare "$demo/bundles/pbc-stage-1.ldxb" --data "$data/pima-diabetes.csv"
expect_exit "non-tree model" 1 "runs only in ONNX Runtime" evaluate --bundle "$demo/bundles/wdbc-mlp-1.ldxb" --data "$data/wdbc.csv"

#-- compare and gate: a model trained on a tenth of the rows ------------------
{ head -1 "$data/pima-diabetes.csv"; tail -n +2 "$data/pima-diabetes.csv" | awk 'NR % 10 == 1'; } > tenth.csv
"$ldx" train --task "$src/models/pima-diabetes" --data tenth.csv --out weak >/dev/null 2>&1 || bad "train on a tenth"
"$ldx" bundle --schema weak/schema.json --model weak/model.xgb.json --card weak/card.json --reference weak/reference.json \
  --name pima-diabetes --version 9 --key "$demo/keys/signing-key.json" --out weak.ldxb >/dev/null 2>&1 || bad "bundle the weak model"
gate=(--gate "auc >= baseline - 0.01" --gate "brier <= baseline + 0.01")
expect_exit "weak model fails the gate" 3 "FAIL  auc 0\.[0-9]+ >= 0\.[0-9]+ \(baseline 0\.[0-9]+ - 0\.01\): fails" \
  evaluate --bundle weak.ldxb --compare "$b" --data "$data/pima-diabetes.csv" --bootstrap 200 "${gate[@]}"
expect_exit "the demo model passes against itself" 0 "PASS  auc .*: passes" \
  evaluate --bundle "$b" --compare "$b" --data "$data/pima-diabetes.csv" --bootstrap 200 "${gate[@]}" --gate "calibration_slope in [0.5, 2]"
evaluate --bundle weak.ldxb --compare "$b" --data "$data/pima-diabetes.csv" --bootstrap 200 --format json --out compare.json "${gate[@]}" 2>/dev/null
/usr/bin/python3 - compare.json <<'EOF' && ok || bad "paired comparison"
import json, sys
r = json.load(open(sys.argv[1]))
d = r["compare"]["figures"]["class.pos.auc_roc"]
assert abs(d["difference"] - (d["b"] - d["a"])) < 1e-12, d
assert d["difference"] < 0 and d["ci95"][1] < 0, d  # the weak model is worse, and the paired interval says so
assert r["gates"][0]["pass"] is False and "baseline" in r["gates"][0]["reason"], r["gates"]
EOF

#-- grouped cross-validation on patient-year data ------------------------------
# 300 patients, 4 yearly visits each: the outcome follows a strong patient effect plus one
# measurement; three baseline values identify the patient but say nothing of the outcome. Row-wise
# folds let the trees recognise a patient from their other visits; grouped folds cannot.
mkdir -p py/rowwise py/grouped
/usr/bin/python3 - py <<'EOF'
import json, sys
import numpy as np
out = sys.argv[1]
rng = np.random.default_rng(11)
fields = [{"name": n, "label": l, "type": "number", "unit": "1", "min": -100, "max": 100}
          for n, l in [("x0", "Yearly measurement"), ("z1", "Baseline value 1"), ("z2", "Baseline value 2"),
                       ("z3", "Baseline value 3")]]
schema = {"task": "patient-years", "title": "Patient-year synthetic task", "fields": fields,
          "outputs": {"kind": "binary", "column": "y", "positive": "1",
                      "classes": [{"name": "0", "label": "No event"}, {"name": "1", "label": "Event"}]}}
rows = []
for i in range(300):
    u, z = rng.normal(0, 2.5), rng.normal(0, 1, 3)
    for year in range(4):
        x0 = rng.normal()
        y = int(rng.random() < 1 / (1 + np.exp(-(u + x0))))
        rows.append((f"P{i:03d}", x0, *z, y))
header = "patient_id,x0,z1,z2,z3,y\n"
line = lambda r: f"{r[0]},{r[1]:.5f},{r[2]:.5f},{r[3]:.5f},{r[4]:.5f},{r[5]}\n"
# The first 240 patients train; the last 60 are never seen: the honest answer.
open(f"{out}/train.csv", "w").write(header + "".join(line(r) for r in rows if int(r[0][1:]) < 240))
open(f"{out}/heldout.csv", "w").write(header + "".join(line(r) for r in rows if int(r[0][1:]) >= 240))
base = {"folds": 5, "bootstrap": 300, "params": {"max_depth": "4", "eta": "0.1"}}
for name, extra in [("rowwise", {}), ("grouped", {"group": "patient_id", "threshold": "youden"})]:
    json.dump(schema, open(f"{out}/{name}/schema.json", "w"))
    json.dump({**base, **extra}, open(f"{out}/{name}/train.json", "w"))
EOF
for mode in rowwise grouped; do
  "$ldx" train --task py/$mode --data py/train.csv --out py/$mode.out > py/$mode.log 2>&1 || bad "train $mode: $(tail -3 py/$mode.log)"
done
"$ldx" bundle --schema py/grouped.out/schema.json --model py/grouped.out/model.xgb.json --card py/grouped.out/card.json \
  --reference py/grouped.out/reference.json --name patient-years --version 1 --key "$demo/keys/signing-key.json" \
  --out py/grouped.ldxb >/dev/null 2>&1 || bad "bundle the grouped model"
evaluate --bundle py/grouped.ldxb --data py/heldout.csv --format json --bootstrap 300 --out py/heldout.json 2>/dev/null \
  || bad "evaluate on held-out patients"
/usr/bin/python3 - py <<'EOF' && ok || bad "grouped cross-validation"
import json, sys
d = sys.argv[1]
row = json.load(open(f"{d}/rowwise.out/card.json"))["metrics"]["class"]["1"]["auc_roc"]
grp_card = json.load(open(f"{d}/grouped.out/card.json"))
grp = grp_card["metrics"]["class"]["1"]["auc_roc"]
held = json.load(open(f"{d}/heldout.json"))["metrics"]["class"]["1"]["auc_roc"]
print(f"AUC: row-wise CV {row['value']:.3f} {row['ci95']}, grouped CV {grp['value']:.3f} {grp['ci95']}, "
      f"held-out patients {held['value']:.3f} {held['ci95']}")
assert grp["value"] < row["value"] - 0.02, "row-wise folds should overstate AUC here"
assert held["ci95"][0] <= grp["value"] <= held["ci95"][1], "grouped CV should match unseen patients"
assert not (held["ci95"][0] <= row["value"] <= held["ci95"][1]), "row-wise CV should not match unseen patients"
assert "each patient ('patient_id') in one fold" in grp_card["metrics"]["method"], grp_card["metrics"]["method"]
# The threshold policy: youden picks the threshold; the card names the policy and the table holds it.
schema = json.load(open(f"{d}/grouped.out/schema.json"))
points = {p["policy"]: p for p in grp_card["metrics"]["operating_points"]}
assert grp_card["metrics"]["threshold_policy"] == "youden"
assert abs(points["youden"]["threshold"] - schema["outputs"]["threshold"]) < 1e-6, (points["youden"], schema["outputs"])
assert grp_card["training"]["configuration"]["group"] == "patient_id"
EOF
grep -q "threshold .*(best sensitivity + specificity)" py/grouped.log && ok || bad "train did not print the threshold policy"
printf '{"threshold": "sensitivity=0.9"}' > py/rowwise/train.json
expect_exit "bad threshold policy" 1 "field 'threshold': the threshold policy 'sensitivity=0.9' is not one of: youden" \
  "$ldx" train --task py/rowwise --data py/train.csv --out py/never
printf '{"group": "visit_id"}' > py/rowwise/train.json
expect_exit "missing group column" 1 "the group column 'visit_id' named in train.json is missing" \
  "$ldx" train --task py/rowwise --data py/train.csv --out py/never

#-- many classes with a rare tail ----------------------------------------------
# 12 classes (multi-class), the rarest with a handful of rows: fewer folds instead of a refusal,
# every class's figures and the macro averages, prediction sets that never rule a rare class out
# on too little evidence.
"$ldx" synth --out many --rows 3000 --fields 10 --classes 12 --rare 0.005 --seed 3 >/dev/null || bad "synth 12 classes"
# The rarest class thinned to 3 patients: fewer than the 5 folds train.json asks for.
awk -F, 'NR == 1 || $NF != "11" || ++kept <= 3' many/data.csv > many/thin.csv && mv many/thin.csv many/data.csv
mkdir -p many/task
sed 's/"ordinal"/"multiclass"/' many/schema.json > many/task/schema.json
printf '{"folds": 5, "max_rounds": 150, "early_stopping_rounds": 20, "bootstrap": 200, "params": {"eta": "0.3", "max_depth": "3"}}' > many/task/train.json
rarest=$(tail -n +2 many/data.csv | awk -F, '{print $NF}' | sort | uniq -c | sort -n | head -1)
"$ldx" train --task many/task --data many/data.csv --out many/out > many/train.log 2>&1 || bad "train 12 classes: $(tail -3 many/train.log)"
"$ldx" bundle --schema many/out/schema.json --model many/out/model.xgb.json --card many/out/card.json \
  --reference many/out/reference.json --name synthetic --version 1 --key "$demo/keys/signing-key.json" \
  --out many.ldxb >/dev/null 2>&1 || bad "bundle 12 classes"
evaluate --bundle many.ldxb --data many/data.csv --format json --bootstrap 100 --out many.json 2>/dev/null || bad "evaluate 12 classes"
/usr/bin/python3 - many/out/card.json many.json "$rarest" <<'EOF' && ok || bad "12 classes: figures per class"
import json, sys
card, report, rarest = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3].split()[0])
m = card["metrics"]
assert rarest < 5, f"the synthetic tail should be rarer than the folds ({rarest})"
assert m["method"].startswith(f"{rarest}-fold") and "folds instead of 5" in m["method"], m["method"]
assert len(m["class"]) == 12 and all("auc_roc" in c and "f1" in c for c in m["class"].values())
assert m["macro"]["auc_roc"]["value"] > 0.6, m["macro"]["auc_roc"]
assert len(report["metrics"]["class"]) == 12 and report["metrics"]["macro"]["pr_auc"]["value"] is not None
# Mondrian sets: every class is covered at (or above) the level on its own patients, however rare.
for level in card["metrics"]["conformal"]["levels"]:
    assert abs(level["coverage"] - level["level"]) < 0.03, level
cov = report["conformal"]["levels"][1]
assert all(v is None or v >= 0.85 for v in cov["by_class"].values()), cov["by_class"]
EOF
"$ldx" predict --bundle many.ldxb --trust "$trust" --input many/data.csv --out many.pred.json 2>/dev/null
grep -q '"words": "90% prediction set: Class' many.pred.json && ok || bad "12 classes: no prediction set in the predictions"
{ head -1 many/data.csv; tail -n +2 many/data.csv | awk -F, '$NF != "11"'; tail -n +2 many/data.csv | awk -F, '$NF == "11"' | head -1; } > many/one.csv
expect_exit "a class with one row" 1 "class '11' has 1 row; cross-validation needs at least 2 of each class" \
  "$ldx" train --task many/task --data many/one.csv --out many/never

checks_done evaluate
