// tests/node/wasm_parity.mjs — the wasm core and ONNX Runtime Web against the native core.
//
// Usage: node --no-experimental-fetch wasm_parity.mjs CORE.mjs BUNDLE TRUST INPUT.csv NATIVE.json
//   NATIVE.json: `localdx predict --explain --format json` on INPUT.csv (the native build).
// Checks, for every row:
//   - wasm probabilities and every TreeSHAP contribution equal the native ones (<= 1e-6);
//   - ONNX Runtime Web, running the bundle's model.onnx on the wasm core's feature vector,
//     gives the same probabilities (<= 1e-5), and base + sum(phi) equals ORT's own margin (<= 1e-4);
//   - the batch table scored in 2 or 3 parts (as the batch worker and its helper do), joined by
//     web/batch-parts.js, equals the whole file's table bit for bit; a part out of range is refused.
// Prints "N passed, M failed" and exits non-zero on any failure.
import { readFileSync } from 'node:fs';
import { ort, loadBundle } from './load_core.mjs';
import { joinBatchParts } from '../../web/batch-parts.js';

const [corePath, bundlePath, trustPath, inputPath, nativePath] = process.argv.slice(2);
const { model, info } = await loadBundle(corePath, bundlePath, trustPath);
const wasm = JSON.parse(model.predictBatch(readFileSync(inputPath, 'utf8'), true, Date.now() / 1000));
const native = JSON.parse(readFileSync(nativePath, 'utf8'));
let passed = 0, failed = 0;
const check = (ok, what) => { if (ok) passed++; else { failed++; console.error('FAIL', what); } };

check(wasm.problems.length === 0, `no problems reading ${inputPath}: ${JSON.stringify(wasm.problems.slice(0, 3))}`);
check(wasm.rows.length === native.length, `row count wasm ${wasm.rows.length} native ${native.length}`);
const classes = info.schema.outputs.classes.map(c => c.name);
const features = info.schema.features;
let maxP = 0, maxPhi = 0;
for (let i = 0; i < Math.min(wasm.rows.length, native.length); i++) {
  const w = wasm.rows[i], n = native[i];
  classes.forEach((c, k) => { maxP = Math.max(maxP, Math.abs(w.probabilities[k] - n.probabilities[c])); });
  n.explanation.forEach((out, o) => {
    maxPhi = Math.max(maxPhi, Math.abs(w.explanation.outputs[o].base - out.base));
    features.forEach((f, j) => { maxPhi = Math.max(maxPhi, Math.abs(w.explanation.outputs[o].contributions[j] - out.features[f])); });
  });
}
check(maxP <= 1e-6, `wasm vs native probabilities max |d| ${maxP}`);
check(maxPhi <= 1e-6, `wasm vs native contributions max |d| ${maxPhi}`);

// ONNX Runtime Web on the same feature vectors, one batch.
const session = await ort.InferenceSession.create(new Uint8Array(model.onnx()), { executionProviders: ['wasm'] });
const n = wasm.rows.length, F = features.length;
const x = new Float32Array(n * F);
wasm.rows.forEach((r, i) => r.features.forEach((v, j) => { x[i * F + j] = v === null ? NaN : v; }));
const out = await session.run({ input: new ort.Tensor('float32', x, [n, F]) });
const K = classes.length;
let maxOrtP = 0, maxMargin = 0;
for (let i = 0; i < n; i++) {
  const r = wasm.rows[i];
  for (let k = 0; k < K; k++) maxOrtP = Math.max(maxOrtP, Math.abs(out.probabilities.data[i * K + k] - r.probabilities[k]));
  const m = out.margin.data;
  const M = out.margin.dims[1];
  const ortMargins = Array.from(m.slice(i * M, (i + 1) * M));
  r.explanation.outputs.forEach((e, o) => {
    const sum = e.base + e.contributions.reduce((a, b) => a + b, 0);
    maxMargin = Math.max(maxMargin, Math.abs(sum - ortMargins[o]));
  });
}
check(maxOrtP <= 1e-5, `ONNX Runtime Web vs core probabilities max |d| ${maxOrtP}`);
check(maxMargin <= 1e-4, `base + sum(phi) vs ONNX Runtime margin max |d| ${maxMargin}`);
// The batch table in parts, joined, is the whole file's table.
const text = readFileSync(inputPath, 'utf8'), now = Date.now() / 1000;
const whole = joinBatchParts([model.predictBatchTable(text, now, 0, 1)]);
const same = (a, b) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
check(whole.meta.rows === n && whole.table.length === n * whole.meta.stride, `batch table has ${whole.meta.rows} rows, want ${n}`);
for (const parts of [2, 3]) {
  const pieces = Array.from({ length: parts }, (_, i) => model.predictBatchTable(text, now, i, parts));
  check(pieces.every((p, i) => JSON.parse(p.meta).rows > 0 || i === 0), `every one of ${parts} parts scores some rows`);
  const joined = joinBatchParts(pieces);
  check(same(joined.table, whole.table) && same(joined.features, whole.features) && same(joined.margins, whole.margins),
        `${parts} parts joined: table, features and margins equal the whole file's bit for bit`);
  check(JSON.stringify(joined.meta) === JSON.stringify(whole.meta), `${parts} parts joined: meta equals the whole file's`);
}
for (const [part, parts] of [[2, 2], [0, 0], [0.5, 2], [-1, 2], [0, 2048]]) {
  const bad = JSON.parse(model.predictBatchTable(text, now, part, parts).meta);
  check(bad.rows === 0 && bad.problems.length === 1 && bad.problems[0].code === 'bad_part', `part ${part} of ${parts} is refused: ${JSON.stringify(bad.problems)}`);
}
let outOfOrder = '';
try { joinBatchParts([model.predictBatchTable(text, now, 1, 2), model.predictBatchTable(text, now, 0, 2)]); } catch (e) { outOfOrder = e.message; }
check(/out of order/.test(outOfOrder), `parts joined out of order are refused (${outOfOrder})`);

console.log(`${info.name}: ${n} rows; wasm-native |dp| ${maxP.toExponential(2)} |dphi| ${maxPhi.toExponential(2)}; ` +
            `ORT |dp| ${maxOrtP.toExponential(2)}; ORT margin vs base+sum(phi) ${maxMargin.toExponential(2)}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
