#!/usr/bin/env bash
# tests/cli/test_cli.sh — the administrator's whole job, end to end, through the real binary:
# keygen, train on the three real data sets, bundle, verify, predict; models made elsewhere
# (python3-xgboost, python3-onnx, an sklearn MLP run by ONNX Runtime Web under Node); and every
# bad input the administrator may give. The browser core's own Node tests are ctest entries
# node_* (tests/node).
#
# Usage: test_cli.sh LOCALDX SOURCE_DIR DATA_DIR WASM_DIR WORK_DIR
set -uo pipefail
ldx=$1 src=$2 data=$3 wasm=$4 work=$5
rm -rf "$work" && mkdir -p "$work" && cd "$work"
export NODE_OPTIONS=--no-experimental-fetch
source "$src/tests/cli/checks.sh"  # ok, bad, expect_fail, expect_ok, no_file, checks_done

#-- keygen --------------------------------------------------------------------
expect_ok "keygen" "$ldx" keygen --out keys
[ "$(stat -c %a keys/signing-key.json)" = 600 ] && ok || bad "secret key mode is not 0600"
expect_fail "keygen refuses to overwrite" "refusing to overwrite" "$ldx" keygen --out keys
expect_ok "second key" "$ldx" keygen --out other

#-- train and bundle the four real tasks --------------------------------------
for t in wdbc pima-diabetes pbc-stage diabetes-progression; do
  expect_ok "train $t" "$ldx" train --task "$src/models/$t" --data "$data/$t.csv" --out "train/$t"
  for f in model.xgb.json model.onnx schema.json reference.json card.json; do
    [ -s "train/$t/$f" ] && ok || bad "train $t wrote no $f"
  done
  # The exported model is an ai.onnx.ml TreeEnsembleClassifier (a regression: TreeEnsembleRegressor)
  # with an ml opset ONNX Runtime Web runs.
  op=TreeEnsembleClassifier other=TreeEnsembleRegressor
  [ $t = diabetes-progression ] && op=TreeEnsembleRegressor other=TreeEnsembleClassifier
  /usr/bin/python3 -c "
import onnx, sys
m = onnx.load(sys.argv[1]); onnx.checker.check_model(m)
ops = {n.op_type for n in m.graph.node}
ml = [o.version for o in m.opset_import if o.domain == 'ai.onnx.ml']
assert sys.argv[2] in ops and sys.argv[3] not in ops, ops
assert ml and ml[0] <= 4, ml" "train/$t/model.onnx" $op $other && ok || bad "train $t: model.onnx is not a $op with ml opset <= 4"
  expect_ok "bundle $t" "$ldx" bundle --schema "train/$t/schema.json" --model "train/$t/model.xgb.json" \
    --card "train/$t/card.json" --reference "train/$t/reference.json" --name "$t" --version 2 \
    --key keys/signing-key.json --out "$t.ldxb"
  out=$("$ldx" verify --trust keys/trust.json "$t.ldxb") && grep -q "^valid: $t v2" <<<"$out" && ok || bad "verify $t: $out"
  expect_ok "predict $t" "$ldx" predict --bundle "$t.ldxb" --trust keys/trust.json --input "$data/$t.csv" --explain --out "$t.native.json"
done

# Model-card metrics against the literature figures (TOOLCHAIN.md): AUC at or above them.
metric() { node -e "const c=require('./train/$1/card.json'); console.log($2)"; }
awk "BEGIN{exit !($(metric wdbc 'c.metrics.macro.auc_roc.value') >= 0.985)}" && ok || bad "wdbc AUC below 0.985"
awk "BEGIN{exit !($(metric pima-diabetes 'c.metrics.macro.auc_roc.value') >= 0.82)}" && ok || bad "pima AUC below 0.82"
awk "BEGIN{exit !($(metric pbc-stage 'c.metrics.ordinal.within_one_accuracy.value') >= 0.8)}" && ok || bad "pbc within-one below 0.8"
# The pseudo-Huber loss on the same task (train.json "objective"): boosting starts from the mean
# outcome, so it learns as the squared error does.
mkdir -p huber && cp "$src/models/diabetes-progression/schema.json" huber/
echo '{"objective": "reg:pseudohubererror", "bootstrap": 50, "params": {"huber_slope": "30", "max_depth": "2", "eta": "0.05"}}' > huber/train.json
expect_ok "train pseudo-huber" "$ldx" train --task huber --data "$data/diabetes-progression.csv" --out train/huber
awk "BEGIN{exit !($(metric huber 'c.metrics.r2.value') >= 0.4)}" && ok || bad "pseudo-Huber regression R squared below 0.4"
node -e "process.exit(require('./train/huber/card.json').training.xgboost_parameters.objective === 'reg:pseudohubererror' ? 0 : 1)" && ok || bad "the card does not name the pseudo-Huber objective"
mkdir -p huber-class && cp "$src/models/wdbc/schema.json" huber-class/ && echo '{"objective": "reg:squarederror"}' > huber-class/train.json
expect_fail "objective for a class task" "objective is for regression tasks only" "$ldx" train --task huber-class --data "$data/wdbc.csv" --out train/huber-class
# diabetes-progression against least squares on the same data, computed here with numpy: in-sample
# (Efron et al. 2004 report R squared 0.518) and 5-fold cross-validated, as the model card's figures are.
ols=$(/usr/bin/python3 - "$data/diabetes-progression.csv" <<'PY'
import csv, sys
import numpy as np
rows = list(csv.DictReader(open(sys.argv[1])))
cols = [c for c in rows[0] if c != 'progression']
X = np.array([[float(r[c]) for c in cols] for r in rows]); y = np.array([float(r['progression']) for r in rows])
X[:, cols.index('triglycerides')] = np.log(X[:, cols.index('triglycerides')])  # the study's own scale
A = np.c_[np.ones(len(y)), X]
tss = ((y - y.mean()) ** 2).sum()
res = y - A @ np.linalg.lstsq(A, y, rcond=None)[0]
fold = np.empty(len(y), int); fold[np.random.default_rng(1).permutation(len(y))] = np.arange(len(y)) % 5
pred = np.zeros(len(y))
for k in range(5):
    pred[fold == k] = A[fold == k] @ np.linalg.lstsq(A[fold != k], y[fold != k], rcond=None)[0]
print(f'{1 - (res ** 2).sum() / tss:.4f} {1 - ((y - pred) ** 2).sum() / tss:.4f} {np.sqrt(((y - pred) ** 2).mean()):.3f}')
PY
)
read -r ols_in ols_cv ols_rmse <<<"$ols"
r2=$(metric diabetes-progression 'c.metrics.r2.value') rmse=$(metric diabetes-progression 'c.metrics.rmse.value')
echo "diabetes-progression: cross-validated R squared $r2, RMSE $rmse; least squares: in-sample R squared $ols_in, cross-validated $ols_cv, RMSE $ols_rmse"
awk "BEGIN{exit !($ols_in > 0.517 && $ols_in < 0.519)}" && ok || bad "least squares in-sample R squared $ols_in is not Efron et al.'s 0.518"
awk "BEGIN{exit !($r2 >= $ols_cv - 0.05 && $rmse <= $ols_rmse + 3)}" && ok || bad "diabetes-progression R squared $r2 / RMSE $rmse well below least squares ($ols_cv / $ols_rmse)"

#-- predict output formats ----------------------------------------------------
head -4 "$data/pima-diabetes.csv" > three.csv
out=$("$ldx" predict --bundle pima-diabetes.ldxb --trust keys/trust.json --input three.csv --format csv --explain)
[ "$(wc -l <<<"$out")" = 5 ] && head -1 <<<"$out" | grep -qx '# LocalDx results: localdx predict' \
  && grep -q '^row,patient,predicted,P(No diabetes),P(Diabetes),warnings,problem,model,base,phi_pregnant' <<<"$out" && ok || bad "csv output: $out"
echo '{"pregnant": 2, "glucose": {"value": 8.2, "unit": "mmol/L"}, "mass": 30, "age": 40}' > one.json
out=$("$ldx" predict --bundle pima-diabetes.ldxb --trust keys/trust.json --input one.json --explain)
grep -q '"missing_value"' <<<"$out" && grep -q '"log-odds of Diabetes"' <<<"$out" && ok || bad "json output: $out"

#-- bad input: training data --------------------------------------------------
printf 'pregnant,glucose,pressure,triceps,insulin,mass,pedigree,age,diabetes\n1,"85,66,29,NA,26.6,0.351,31,neg\n' > badquote.csv
expect_fail "malformed csv" "row 1: a quoted cell is never closed" "$ldx" train --task "$src/models/pima-diabetes" --data badquote.csv --out t1
no_file t1 "malformed csv"
printf 'pregnant,glucose,weight,age,diabetes\n1,85,70,31,neg\n' > unknown.csv
expect_fail "unknown column" "field 'weight': column 'weight' is not a field" "$ldx" train --task "$src/models/pima-diabetes" --data unknown.csv --out t2
printf 'pregnant,glucose,age,diabetes\n1,85,31,neg\n2,abc,31,pos\n3,90,300,neg\n' > values.csv
out=$("$ldx" train --task "$src/models/pima-diabetes" --data values.csv --out t3 2>&1); rc=$?
[ $rc -ne 0 ] && grep -q "row 2, field 'glucose': 'abc' is not a number" <<<"$out" \
  && grep -q "row 3, field 'age': 300 years is outside the possible range 21 to 120 years" <<<"$out" && ok || bad "bad values: $out"
no_file t3 "bad values"
printf 'pregnant,glucose,age\n1,85,31\n' > nolabel.csv
expect_fail "missing label column" "the label column 'diabetes' is missing" "$ldx" train --task "$src/models/pima-diabetes" --data nolabel.csv --out t4
printf 'pregnant,glucose,age,diabetes\n1,85,31,maybe\n' > badlabel.csv
expect_fail "unknown label" "row 1, field 'diabetes': label 'maybe' is not one of: neg, pos" "$ldx" train --task "$src/models/pima-diabetes" --data badlabel.csv --out t5
printf 'pregnant,glucose,pressure,triceps,insulin,mass,pedigree,diabetes\n1,85,66,29,NA,26.6,0.351,neg\n' > noage.csv
expect_fail "missing required column" "field 'age': the required field has no column" "$ldx" train --task "$src/models/pima-diabetes" --data noage.csv --out t6

#-- bad input: bundle ---------------------------------------------------------
b() { "$ldx" bundle --schema train/wdbc/schema.json --model train/wdbc/model.xgb.json --reference train/wdbc/reference.json --name wdbc --version 3 "$@"; }
echo '{"type": "localdx-signing-key", "keyid": "00", "secret_key": "zz"}' > badkey.json
expect_fail "corrupt key" "badkey.json: secret_key is not 64 bytes of hex" b --key badkey.json --out k1.ldxb
no_file k1.ldxb "corrupt key"
expect_fail "missing key" "cannot read nokey.json" b --key nokey.json --out k2.ldxb
head -c 300 train/wdbc/model.onnx > broken.onnx
expect_fail "unreadable onnx" "not an ONNX model" "$ldx" bundle --schema train/wdbc/schema.json --model broken.onnx --reference "$data/wdbc.csv" --name wdbc --version 3 --key keys/signing-key.json --out k3.ldxb
no_file k3.ldxb "unreadable onnx"
expect_fail "schema mismatch" "the model takes 8 features; the schema maps its fields to 30" "$ldx" bundle --schema train/wdbc/schema.json --model train/pima-diabetes/model.xgb.json --reference train/wdbc/reference.json --name wdbc --version 3 --key keys/signing-key.json --out k4.ldxb
expect_fail "onnx needs reference rows" "needs --reference as a CSV" "$ldx" bundle --schema train/wdbc/schema.json --model train/wdbc/model.onnx --reference train/wdbc/reference.json --name wdbc --version 3 --key keys/signing-key.json --out k5.ldxb
expect_fail "bad version" "--version must be a positive whole number" "$ldx" bundle --schema train/wdbc/schema.json --model train/wdbc/model.xgb.json --reference train/wdbc/reference.json --name wdbc --version 0 --key keys/signing-key.json --out k6.ldxb
expect_fail "bad name" "name 'Wdbc!' is not 1-64" "$ldx" bundle --schema train/wdbc/schema.json --model train/wdbc/model.xgb.json --reference train/wdbc/reference.json --name 'Wdbc!' --version 3 --key keys/signing-key.json --out k7.ldxb
printf 'image,label\n' > cal-labels.csv; printf '{"images": []}' > cal-outputs.json
expect_fail "calibration images for a tabular model" "--calibration-labels and --calibration-outputs are for imaging models" "$ldx" bundle --schema train/wdbc/schema.json --model train/wdbc/model.xgb.json --reference train/wdbc/reference.json --name wdbc --version 3 --key keys/signing-key.json --out k8.ldxb --calibration-labels cal-labels.csv --calibration-outputs cal-outputs.json
no_file k8.ldxb "calibration images for a tabular model"

# An ONNX tree model made elsewhere (here: our own export) with covers from reference rows.
expect_ok "bundle onnx" "$ldx" bundle --schema train/wdbc/schema.json --model train/wdbc/model.onnx --reference "$data/wdbc.csv" --name wdbc-onnx --version 1 --key keys/signing-key.json --out wdbc-onnx.ldxb
expect_ok "predict onnx bundle" "$ldx" predict --bundle wdbc-onnx.ldxb --trust keys/trust.json --input "$data/wdbc.csv" --explain --out wdbc-onnx.native.json
node -e "
const a = require('./wdbc.native.json'), b = require('./wdbc-onnx.native.json');
const k = a[0].classes.indexOf('malignant');
let m = 0; a.forEach((r, i) => m = Math.max(m, Math.abs(r.probabilities[k] - b[i].probabilities[k])));
const ex = b[0].explanation;
const sum = ex.base + ex.contributions.reduce((x, y) => x + y, 0);
if (m > 1e-6 || Math.abs(sum - b[0].margin[ex.output]) > 1e-9) { console.error('onnx bundle differs', m, sum, b[0].margin); process.exit(1); }
" && ok || bad "onnx-imported bundle: probabilities or local accuracy"

#-- models made outside LocalDx (python3-xgboost, python3-onnx) -----------------
mkdir -p ext
if /usr/bin/python3 "$src/tests/external/make_models.py" "$data" ext > ext/log.txt 2>&1; then ok; else bad "external models: $(cat ext/log.txt)"; fi
for m in "wdbc wdbc" "pbc pbc-stage" "dprog diabetes-progression ext/dprog.csv"; do
  set -- $m; name=$1 task=$2 rows_csv=${3:-$data/$task.csv}
  # XGBoost's own JSON: exact TreeSHAP with XGBoost's covers -> contributions equal pred_contribs.
  expect_ok "bundle external $name json" "$ldx" bundle --schema "$src/models/$task/schema.json" --model "ext/$name.xgb.json" \
    --reference "$rows_csv" --name "ext-$name" --version 1 --key keys/signing-key.json --out "ext/$name-json.ldxb"
  expect_ok "predict external $name json" "$ldx" predict --bundle "ext/$name-json.ldxb" --trust keys/trust.json --input "$rows_csv" --explain --out "ext/$name-json.out.json"
  if node "$src/tests/external/compare.mjs" "ext/$name-json.out.json" "ext/$name.reference.json" "train/$task/schema.json" contribs; then ok; else bad "external $name json vs pred_contribs"; fi
  # The same model converted to ONNX by hand: probabilities equal XGBoost's; covers from reference rows.
  expect_ok "bundle external $name onnx" "$ldx" bundle --schema "$src/models/$task/schema.json" --model "ext/$name.onnx" \
    --reference "$rows_csv" --name "ext-$name-onnx" --version 1 --key keys/signing-key.json --out "ext/$name-onnx.ldxb"
  expect_ok "predict external $name onnx" "$ldx" predict --bundle "ext/$name-onnx.ldxb" --trust keys/trust.json --input "$rows_csv" --explain --out "ext/$name-onnx.out.json"
  if node "$src/tests/external/compare.mjs" "ext/$name-onnx.out.json" "ext/$name.reference.json" "train/$task/schema.json" probs; then ok; else bad "external $name onnx probabilities"; fi
  # The bundle (model card and trees) says where its node covers come from.
  rows=$(($(wc -l < "$rows_csv") - 1))
  grep -aq "node covers counted from reference data (reference:$rows)" "ext/$name-onnx.ldxb" && ok || bad "onnx bundle does not say its covers come from $rows reference rows"
done
# A non-tree model made outside LocalDx: an sklearn MLP exported to ONNX by hand. Bundled with the
# model-agnostic explainer; run the browser's way (wasm core + ONNX Runtime Web under Node).
mlp_common=(bundle --schema "$src/models/wdbc/schema.json" --name ext-mlp --version 1 --key keys/signing-key.json)
mlp=("${mlp_common[@]}" --model ext/wdbc-mlp.onnx)
expect_ok "bundle external mlp" "$ldx" "${mlp[@]}" --reference ext/wdbc-mlp.reference.csv --out ext/mlp.ldxb
expect_ok "verify external mlp" "$ldx" verify --trust keys/trust.json ext/mlp.ldxb
"$ldx" verify --trust keys/trust.json ext/mlp.ldxb | grep -q "explainer sampling-shapley" && ok || bad "mlp bundle does not say sampling-shapley"
if node "$src/tests/external/mlp_check.mjs" "$wasm/localdx_core.mjs" ext/mlp.ldxb keys/trust.json "$data/wdbc.csv" ext/wdbc-mlp.reference.json > ext/mlp.txt 2>&1; then ok; else bad "mlp in ONNX Runtime Web: $(cat ext/mlp.txt)"; fi
expect_fail "predict mlp is browser-only" "explainer is sampling-shapley: it runs only in the browser" "$ldx" predict --bundle ext/mlp.ldxb --trust keys/trust.json --input "$data/wdbc.csv" --out ext/mlp.out.json
no_file ext/mlp.out.json "predict mlp"
expect_fail "custom operator" "operator com.example:FancyRelu is outside the standard ONNX domains" "$ldx" "${mlp_common[@]}" --model ext/wdbc-mlp-custom.onnx --reference ext/wdbc-mlp.reference.csv --out ext/bad1.ldxb
no_file ext/bad1.ldxb "custom operator"
expect_fail "mlp without reference probabilities" "needs the model's probabilities for each row in columns p_benign, p_malignant" "$ldx" "${mlp[@]}" --reference "$data/wdbc.csv" --out ext/bad2.ldxb
expect_fail "mlp with histogram reference" "a non-tree model needs --reference as a CSV of rows" "$ldx" "${mlp[@]}" --reference train/wdbc/reference.json --out ext/bad3.ldxb
expect_fail "mlp odd permutations" "--permutations must be an even number" "$ldx" "${mlp[@]}" --reference ext/wdbc-mlp.reference.csv --permutations 3 --out ext/bad4.ldxb
awk -F, 'NR==4 {$NF="1.7"} {print}' OFS=, ext/wdbc-mlp.reference.csv > ext/badprob.csv
expect_fail "mlp bad reference probability" "row 3, field 'p_malignant': '1.7' is not a probability" "$ldx" "${mlp[@]}" --reference ext/badprob.csv --out ext/bad5.ldxb
expect_fail "mlp schema mismatch" "the model's input 'input' takes 30 features; the schema maps its fields to 8" "$ldx" bundle --schema "$src/models/pima-diabetes/schema.json" --model ext/wdbc-mlp.onnx --reference ext/wdbc-mlp.reference.csv --name m --version 1 --key keys/signing-key.json --out ext/bad6.ldxb
for f in bad2 bad3 bad4 bad5 bad6; do no_file "ext/$f.ldxb" "mlp $f"; done
# Graphs LocalDx cannot use as they are: NaN reaching a model without an imputer; no output that
# is clearly the class probabilities.
/usr/bin/python3 - ext <<'PY'
import sys, numpy as np, onnx
from onnx import helper, TensorProto, numpy_helper
def save(n_in, outs, path):
    W = numpy_helper.from_array(np.ones((n_in, 2), dtype=np.float32), 'W'); B = numpy_helper.from_array(np.zeros(2, dtype=np.float32), 'B')
    nodes = [helper.make_node('Gemm', ['input', 'W', 'B'], ['z'])] + [helper.make_node('Softmax', ['z'], [o], axis=1) for o in outs]
    g = helper.make_graph(nodes, 'mlp', [helper.make_tensor_value_info('input', TensorProto.FLOAT, [None, n_in])],
                          [helper.make_tensor_value_info(o, TensorProto.FLOAT, [None, 2]) for o in outs], [W, B])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 15)]); m.ir_version = 8; onnx.checker.check_model(m); onnx.save(m, path)
save(8, ['probabilities'], sys.argv[1] + '/pima-linear.onnx')
save(30, ['a', 'b'], sys.argv[1] + '/two-outputs.onnx')
PY
expect_fail "mlp and missing values" "field '[a-z_]+' may be missing, but this model has no step that handles missing values" "$ldx" bundle --schema "$src/models/pima-diabetes/schema.json" --model ext/pima-linear.onnx --reference "$data/pima-diabetes.csv" --name m --version 1 --key keys/signing-key.json --out ext/bad7.ldxb
expect_fail "ambiguous output" "cannot tell which output holds the class probabilities \(outputs: a, b\)" "$ldx" "${mlp_common[@]}" --model ext/two-outputs.onnx --reference ext/wdbc-mlp.reference.csv --out ext/bad8.ldxb
no_file ext/bad7.ldxb "mlp and missing values"

#-- FHIR R4 input: the same patients as FHIR (Bundle, NDJSON) predict exactly as from the CSV ----
node "$src/tests/fhir/make_fhir.mjs" "$src/models/pima-diabetes/schema.json" "$data/pima-diabetes.csv" pima.fhir.json > /dev/null
node "$src/tests/fhir/make_fhir.mjs" "$src/models/pbc-stage/schema.json" "$data/pbc-stage.csv" pbc.ndjson --ndjson > /dev/null
expect_ok "predict fhir bundle" "$ldx" predict --bundle pima-diabetes.ldxb --trust keys/trust.json --input pima.fhir.json --explain --out pima.fhir.out.json
expect_ok "predict fhir ndjson" "$ldx" predict --bundle pbc-stage.ldxb --trust keys/trust.json --input pbc.ndjson --explain --out pbc.fhir.out.json
expect_ok "predict csv pima" "$ldx" predict --bundle pima-diabetes.ldxb --trust keys/trust.json --input "$data/pima-diabetes.csv" --explain --out pima.csv.out.json
expect_ok "predict csv pbc" "$ldx" predict --bundle pbc-stage.ldxb --trust keys/trust.json --input "$data/pbc-stage.csv" --explain --out pbc.csv.out.json
node -e "
for (const t of ['pima', 'pbc']) {
  const f = require('./' + t + '.fhir.out.json'), c = require('./' + t + '.csv.out.json');
  if (f.length !== c.length || f[0].patient !== 'pt-1') { console.error(t, 'rows', f.length, c.length); process.exit(1); }
  f.forEach((r, i) => { delete r.patient; if (JSON.stringify(r) !== JSON.stringify(c[i])) { console.error(t, 'row', i + 1, 'differs'); process.exit(1); } });
}" && ok || bad "FHIR input does not predict exactly as the CSV"
printf '{"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Observation", "id": "g", "code": {"coding": [{"system": "http://loinc.org", "code": "1518-0"}]}, "valueQuantity": {"value": 90}}}]}' > nosubject.fhir.json
expect_fail "fhir without subject" "row 1, field 'glucose': Observation 'g' has no subject" "$ldx" predict --bundle pima-diabetes.ldxb --trust keys/trust.json --input nosubject.fhir.json --out nosubject.out.json
no_file nosubject.out.json "fhir without subject"
printf '{"resourceType": "Patient", "id": "a", "birthDate": "1980-01-01"}\n{"resourceType": "Observation", "subject": {"reference": "Patient/a"}, "code": {"coding": [{"system": "http://loinc.org", "code": "1518-0"}]}, "valueQuantity": {"value": 5, "system": "http://unitsofmeasure.org", "code": "g/L"}}\n' > badunit.ndjson
expect_fail "fhir unknown unit" "field 'glucose'.*g/L" "$ldx" predict --bundle pima-diabetes.ldxb --trust keys/trust.json --input badunit.ndjson

#-- bad input: verify and predict ---------------------------------------------
cp wdbc.ldxb tampered.ldxb
python3 -c "import sys; b=bytearray(open(sys.argv[1],'rb').read()); b[-100]^=0xff; open(sys.argv[1],'wb').write(b)" tampered.ldxb  # one byte changed
expect_fail "tampered" "^rejected \((member_hash|member_length|malformed)\)" "$ldx" verify --trust keys/trust.json tampered.ldxb
head -c 5000 wdbc.ldxb > truncated.ldxb
expect_fail "truncated" "^rejected \(truncated\)" "$ldx" verify --trust keys/trust.json truncated.ldxb
expect_fail "wrong trust root" "^rejected \(unknown_key\)" "$ldx" verify --trust other/trust.json wdbc.ldxb
expect_fail "rollback" "^rejected \(rollback\).*older than v5" "$ldx" verify --trust keys/trust.json --min-version 5 wdbc.ldxb
expect_fail "predict tampered" "does not match its signed SHA-256|malformed|member_length" "$ldx" predict --bundle tampered.ldxb --trust keys/trust.json --input three.csv --out p1.json
no_file p1.json "predict tampered"
# Hostile files: a device that never ends, a file past the size limit (sparse, no disk used), an
# ONNX model whose names are not text, a CSV header carrying a terminal escape. Each is a clear
# error in bounded memory, never a crash or raw bytes on the terminal.
out=$(/usr/bin/time -f "peak %M" "$ldx" verify --trust keys/trust.json /dev/zero 2>&1) && bad "verify /dev/zero exited 0" || {
  grep -q "is not a LocalDx bundle" <<<"$out" && [ "$(awk '/^peak/ {print $2}' <<<"$out")" -lt 65536 ] && ok || bad "verify /dev/zero: $out"; }
truncate -s 300M huge.csv
out=$(/usr/bin/time -f "peak %M" "$ldx" predict --bundle pima-diabetes.ldxb --trust keys/trust.json --input huge.csv 2>&1) && bad "predict huge.csv exited 0" || {
  grep -q "huge.csv is larger than 256 MB" <<<"$out" && [ "$(awk '/^peak/ {print $2}' <<<"$out")" -lt 65536 ] && ok || bad "predict huge.csv: $out"; }
rm -f huge.csv
python3 -c "import sys; b=open(sys.argv[1],'rb').read(); open(sys.argv[2],'wb').write(b.replace(b'input', b'\xffnput'))" train/wdbc/model.onnx ff.onnx
expect_fail "onnx names not UTF-8" "name that is not valid UTF-8" "$ldx" bundle --schema train/wdbc/schema.json --model ff.onnx --reference "$data/wdbc.csv" --name wdbc-ff --version 1 --key keys/signing-key.json --out ff.ldxb
no_file ff.ldxb "onnx names not UTF-8"
# Invalid UTF-8 and a lone surrogate (CESU bytes) in every kind of input the CLI reads: a clear
# error or a refused row, never a crash (an exit status above 2).
printf 'pregnant,glucose,age\n1,\xff85,31\n2,90,31\n' > utf8-cell.csv
printf '[{"glucose": "\xed\xa0\x80", "age": 40}]\n' > utf8-cell.json
printf '{"version": 1, "threshold": 1, "keys": [{"keyid": "\xff", "public_key": "00"}]}\n' > utf8-trust.json
printf '{"task": "\xff", "title": "x"}\n' > utf8-schema.json
for cmd in "predict --bundle pima-diabetes.ldxb --trust keys/trust.json --input utf8-cell.csv --out u1.json" \
           "predict --bundle pima-diabetes.ldxb --trust keys/trust.json --input utf8-cell.json --out u2.json" \
           "verify --trust utf8-trust.json pima-diabetes.ldxb" \
           "bundle --schema utf8-schema.json --model train/wdbc/model.xgb.json --reference train/wdbc/reference.json --name u --version 1 --key keys/signing-key.json --out u.ldxb"; do
  out=$("$ldx" $cmd 2>&1); rc=$?
  if [ $rc -gt 2 ] || { [ $rc -eq 0 ] && [[ $cmd != predict* ]]; }; then bad "invalid UTF-8 ($cmd): exit $rc: $out"
  elif grep -q $'\xff' <<<"$out"; then bad "invalid UTF-8 echoed raw ($cmd)"; else ok; fi
done
printf 'glu\x1b[31mcose,age\n1,40\n' > escape.csv
out=$("$ldx" predict --bundle pima-diabetes.ldxb --trust keys/trust.json --input escape.csv --out esc.json 2>&1 || true)
if grep -q $'\x1b' <<<"$out"; then bad "a terminal escape from a CSV header reached the terminal"; else grep -q "glu?\[31mcose" <<<"$out" && ok || bad "escape.csv: $out"; fi
printf 'pregnant,glucose,mass,age\n1,85,30,31\n2,90,30,31\n3,80,30,12\n' > pbad.csv
# One bad row: the others are scored, the bad one is listed with its reason (exit 2); --strict refuses the file.
out=$("$ldx" predict --bundle pima-diabetes.ldxb --trust keys/trust.json --input pbad.csv --out p2.json 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q "row 3, field 'age': 12 years is outside the possible range 21 to 120 years" <<<"$out" \
   && grep -q "2 of 3 rows scored" <<<"$out"; then ok; else bad "predict bad values: $out"; fi
python3 -c "import json,sys; r=json.load(open('p2.json')); sys.exit(not ([x['problems'][0]['code'] if not x['ok'] else None for x in r]==[None,None,'out_of_range'] and 'probabilities' in r[0]))" \
  && ok || bad "predict output lacks the scored or the rejected rows: $(cat p2.json)"
out=$("$ldx" predict --bundle pima-diabetes.ldxb --trust keys/trust.json --input pbad.csv --out p3.json --strict 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "12 years is outside" <<<"$out" && ok || bad "predict --strict: $out"
no_file p3.json "predict --strict bad values"
# The minimum information (the trained schema's, on the model card): a near-empty row gets no verdict
# but the fields to enter, as in the browser; --allow-incomplete scores it and says so.
node -e "const s=require('./train/pima-diabetes/schema.json').minimum_information; process.exit(s && s.max_missing_share > 0.25 && s.max_missing_share < 1 && /out-of-fold/.test(s.basis) ? 0 : 1)" \
  && ok || bad "the trained pima schema has no minimum information derived from the out-of-fold explanations"
printf 'age,glucose,mass\n45,,\n45,148,33.6\n' > sparse.csv
out=$("$ldx" predict --bundle pima-diabetes.ldxb --trust keys/trust.json --input sparse.csv --out sp1.json 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q "row 1: Enter Plasma glucose.* and Body mass index to get a result" <<<"$out" \
   && grep -q "1 of 2 rows scored" <<<"$out"; then ok; else bad "predict a near-empty row: $out"; fi
python3 -c "import json,sys; r=json.load(open('sp1.json')); sys.exit(not (r[0]['ok'] is False and r[0]['problems'][0]['code']=='incomplete' and 'probabilities' not in r[0] and 'probabilities' in r[1]))" \
  && ok || bad "predict output for a near-empty row: $(cat sp1.json)"
out=$("$ldx" predict --bundle pima-diabetes.ldxb --trust keys/trust.json --input sparse.csv --allow-incomplete --out sp2.json 2>&1); rc=$?
[ $rc -eq 0 ] && python3 -c "import json,sys; r=json.load(open('sp2.json')); sys.exit(not (r[0]['incomplete']['fields']==['glucose','mass'] and 'probabilities' in r[0] and 'incomplete' not in r[1]))" \
  && ok || bad "predict --allow-incomplete: $out $(cat sp2.json)"
out=$("$ldx" predict --bundle pima-diabetes.ldxb --trust keys/trust.json --input sparse.csv --allow-incomplete --format csv 2>&1)
grep -q '^1,,[A-Za-z ]*,.*incomplete: Enter Plasma glucose' <<<"$out" && ok || bad "predict --allow-incomplete csv: $out"
echo '{}' > empty.json
expect_fail "diabetes-progression, nothing given" "row 1: Enter .*Body mass index.* to get a result" "$ldx" predict --bundle diabetes-progression.ldxb --trust keys/trust.json --input empty.json
# Ids carried through, unknown columns ignored with one notice, a quoted decimal comma read as meant.
printf 'patient_id,pregnant,glucose,weight,pedigree,age\nA-1,1,85,70,"0,5",31\nA-2,1,85,70,0.5,31\n' > ids.csv
out=$("$ldx" predict --bundle pima-diabetes.ldxb --trust keys/trust.json --input ids.csv --format csv 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "note: 1 column is not used by this model and was ignored: 'weight'" <<<"$out" \
  && [ "$(grep -c '^[12],A-[12],No diabetes,' <<<"$out")" = 2 ] \
  && [ "$(grep '^1,A-1' <<<"$out" | cut -d, -f4)" = "$(grep '^2,A-2' <<<"$out" | cut -d, -f4)" ] && ok || bad "predict ids/unknown column/decimal comma: $out"
expect_fail "unknown option" "unknown option --explian" "$ldx" predict --bundle pima-diabetes.ldxb --trust keys/trust.json --input three.csv --explian
expect_fail "bad format" "--format must be csv or json" "$ldx" predict --bundle pima-diabetes.ldxb --trust keys/trust.json --input three.csv --format xml
#-- synthetic tasks (scale tests and benchmarks) --------------------------------
expect_ok "synth" "$ldx" synth --out syn --rows 800 --fields 12 --classes 3 --rare 0.08 --seed 4
[ "$(wc -l < syn/data.csv)" = 801 ] && head -1 syn/data.csv | grep -q '^x0,x1,.*,x11,y$' && ok || bad "synth wrote the wrong CSV"
mkdir -p syn/task && cp syn/schema.json syn/task/
expect_ok "train synth" "$ldx" train --task syn/task --data syn/data.csv --out syn/out
grep -q '"quadratic_weighted_kappa"' syn/out/card.json && ok || bad "synthetic ordinal task lacks ordinal metrics"
"$ldx" synth --out syn2 --rows 50 --seed 4 >/dev/null && "$ldx" synth --out syn3 --rows 50 --seed 4 >/dev/null && cmp -s syn2/data.csv syn3/data.csv && ok || bad "synth is not deterministic for a seed"
expect_fail "synth bad fields" "--fields must be a number from 6 to 1000, not '2'" "$ldx" synth --out syn4 --fields 2
no_file syn4 "synth bad fields"

for c in keygen train bundle verify predict evaluate publish synth tune; do
  # Read whole before matching: grep -q stops at the first line, and a long help then ends in SIGPIPE.
  help=$("$ldx" "$c" --help) && grep -q "^Usage: localdx $c" <<<"$help" && ok || bad "$c --help"
done

checks_done cli
