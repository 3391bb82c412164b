// tests/external/mlp_check.mjs — a non-tree bundle (an sklearn MLP exported to ONNX by hand) run
// the way the browser runs it: the wasm core prepares the rows, ONNX Runtime Web evaluates them,
// the core turns the outputs into the result and the model-agnostic explanation.
//
// Usage: node mlp_check.mjs CORE.mjs BUNDLE TRUST INPUT.csv REFERENCE.json
//   REFERENCE.json: {"probabilities": [...]}, sklearn's predict_proba[:, 1] on every row.
// Checks: the bundle says sampling-shapley; ONNX Runtime on the stored background rows gives
// the probabilities the bundle carries (<= 1e-4, what the page checks on load); every row's
// probability equals sklearn's (<= 1e-5); explanations are labelled model-agnostic, carry
// standard errors, add up (base + sum = probability, <= 1e-5) and are the same when repeated.
import { readFileSync } from 'node:fs';
import { ort, loadBundle } from '../node/load_core.mjs';

const [corePath, bundlePath, trustPath, inputPath, refPath] = process.argv.slice(2);
const { model, info } = await loadBundle(corePath, bundlePath, trustPath);
const ref = JSON.parse(readFileSync(refPath, 'utf8'));
let passed = 0, failed = 0;
const check = (ok, what) => { if (ok) passed++; else { failed++; console.error('FAIL', what); } };

check(info.explainer === 'sampling-shapley' && info.card.explainer.kind === 'sampling-shapley', `explainer ${info.explainer}`);
const session = await ort.InferenceSession.create(new Uint8Array(model.onnx()), { executionProviders: ['wasm'] });
const F = info.num_features, W = info.onnx.output_width;
const run = async (x) => (await session.run({ [info.onnx.input]: new ort.Tensor('float32', x, [x.length / F, F]) }))[info.onnx.output].data;

// What the page checks on every load: the model reproduces the probabilities its author gave.
const bg = await run(Float32Array.from(info.background.features));
let maxBg = 0;
info.background.probabilities.forEach((p, i) => { maxBg = Math.max(maxBg, Math.abs(bg[Math.floor(i / 2) * W + (W === 1 ? 0 : i % 2)] - (W === 1 ? info.background.probabilities[Math.floor(i / 2) * 2 + 1] : p))); });
check(maxBg <= 1e-4, `background probabilities max |d| ${maxBg}`);

// The batch path: one ONNX Runtime row per patient.
const batch = JSON.parse(model.predictBatch(readFileSync(inputPath, 'utf8'), false, Date.now() / 1000));
check(batch.problems.length === 0 && batch.rows.every((r) => r.pending === 'onnx'), 'rows are pending for ONNX Runtime');
const x = new Float32Array(batch.rows.length * F);
batch.rows.forEach((r, i) => r.features.forEach((v, j) => { x[i * F + j] = v === null ? NaN : v; }));
const done = model.finishBatch(JSON.stringify(batch.rows), await run(x), '', 0);
const meta = JSON.parse(done.meta);
check(meta.ok !== false && meta.rows === ref.probabilities.length, `finished ${meta.rows} rows ${JSON.stringify(meta.problems)}`);
let maxP = 0;
for (let i = 0; i < meta.rows; i++) maxP = Math.max(maxP, Math.abs(done.table[i * meta.stride + 1] - ref.probabilities[i]));
check(maxP <= 1e-5, `probabilities vs sklearn max |d| ${maxP}`);

// One patient with the model-agnostic explanation.
let maxLocal = 0, rows = 0;
for (const i of [0, 1, 19, 100, 300]) {
  const pending = batch.rows[i];
  const inputs = model.onnxInputs(JSON.stringify(pending.features), true);
  check(inputs.length === info.onnx.rows_per_explanation * F, `explain rows ${inputs.length / F}`);
  const r = JSON.parse(model.finish(JSON.stringify(pending), await run(inputs), true));
  const again = JSON.parse(model.finish(JSON.stringify(pending), await run(model.onnxInputs(JSON.stringify(pending.features), true)), true));
  check(r.ok && r.explanation.kind === 'sampling-shapley' && r.explanation.unit === 'probability', `row ${i} explanation kind`);
  check(r.explanation.standard_error.length === info.schema.fields.length && r.explanation.standard_error.every((e) => e >= 0), `row ${i} standard errors`);
  check(JSON.stringify(r.explanation) === JSON.stringify(again.explanation), `row ${i} explanation is deterministic`);
  check(Math.abs(r.probabilities[1] - ref.probabilities[i]) <= 1e-5, `row ${i} probability`);
  maxLocal = Math.max(maxLocal, Math.abs(r.explanation.base + r.explanation.fields.reduce((a, b) => a + b, 0) - r.probabilities[1]));
  check(r.check && r.check.ok && r.check.kind === 'sampling-shapley' && r.check.max_abs_diff <= 1e-5, `row ${i} core's local-accuracy check`);
  rows++;
}
check(maxLocal <= 1e-5, `base + sum(contributions) vs probability max |d| ${maxLocal}`);
// Bad outputs are refused, not shown.
const bad = JSON.parse(model.finish(JSON.stringify(batch.rows[0]), new Float32Array([0.2, 0.2]), false));
check(!bad.ok && bad.problems[0].code === 'bad_output', 'outputs that are not probabilities are refused');
console.log(`${bundlePath}: ${meta.rows} rows, max |dp| vs sklearn ${maxP.toExponential(2)}, background ${maxBg.toExponential(2)}, ` +
            `${rows} explanations, local accuracy ${maxLocal.toExponential(2)}; ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
