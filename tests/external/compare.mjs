// tests/external/compare.mjs NATIVE.json REFERENCE.json SCHEMA.json MODE — `localdx predict
// --explain` output against python3-xgboost's own predict / pred_contribs on the same rows.
// MODE: "contribs" (probabilities and every contribution, <= 1e-5) or "probs" (probabilities only).
// Regression: the predicted value in place of the probabilities; XGBoost computes in float32, so
// differences are relative to max(1, |value|) of the row.
import { readFileSync } from 'node:fs';
const [nativePath, refPath, schemaPath, mode] = process.argv.slice(2);
const native = JSON.parse(readFileSync(nativePath, 'utf8'));
const ref = JSON.parse(readFileSync(refPath, 'utf8'));
const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
const regression = schema.outputs.kind === 'regression';
const classes = regression ? [] : schema.outputs.classes.map((c) => c.name);
const features = schema.features;
let dp = 0, dphi = 0;
native.forEach((row, i) => {
  if (row.classes.join() !== classes.join()) throw new Error('classes out of the schema\'s order');
  const p = ref.probabilities[i];
  const scale = regression ? Math.max(1, Math.abs(p)) : 1;
  if (regression) dp = Math.max(dp, Math.abs(row.value - p) / scale);
  else if (classes.length === 2) dp = Math.max(dp, Math.abs(row.probabilities[1] - p));
  else classes.forEach((c, k) => { dp = Math.max(dp, Math.abs(row.probabilities[k] - p[k])); });
  if (mode !== 'contribs') return;
  row.explanation.outputs.forEach((out, o) => {
    const r = classes.length === 2 || regression ? ref.contributions[i] : ref.contributions[i][o];
    features.forEach((f, j) => { dphi = Math.max(dphi, Math.abs(out.contributions[j] - r[j]) / scale); });
    dphi = Math.max(dphi, Math.abs(out.base - r[features.length]) / scale);
  });
});
console.log(`${nativePath}: ${native.length} rows, max |dp| ${dp.toExponential(2)}${mode === 'contribs' ? `, max |dphi| ${dphi.toExponential(2)}` : ''}`);
const missing = native.filter((row) => row.values.some((v) => v === null)).length;
if (regression) console.log(`  ${missing} rows with missing values`);
process.exit(native.length === ref.probabilities.length && dp <= 1e-5 && dphi <= 1e-5 && (!regression || missing > 0) ? 0 : 1);
