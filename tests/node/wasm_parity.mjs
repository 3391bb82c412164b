// tests/node/wasm_parity.mjs — the wasm core and ONNX Runtime Web against the native core.
//
// Usage: node --no-experimental-fetch wasm_parity.mjs CORE.mjs BUNDLE TRUST INPUT.csv NATIVE.json
//   NATIVE.json: `localdx predict --explain --format json` on INPUT.csv (the native build).
// Checks, for every row:
//   - wasm probabilities and every TreeSHAP contribution equal the native ones (<= 1e-6);
//   - ONNX Runtime Web, running the bundle's model.onnx on the wasm core's feature vector,
//     gives the same probabilities (<= 1e-5), and base + sum(phi) equals ORT's own margin (<= 1e-4).
//   Regression: the one predicted value in place of the probabilities, ONNX Runtime's output
//   "value"; ONNX Runtime computes in float32, so its differences are relative to max(1, |value|).
//   The tensors are the ones the core's model info names (onnx.input, .output, .margin): the
//   session's own input and output names must be those.
// The batch table in parts: tests/node/batch_parts.mjs.
// Prints "N passed, M failed" and exits non-zero on any failure.
import { readFileSync } from 'node:fs';
import { ort, loadBundle } from './load_core.mjs';

const [corePath, bundlePath, trustPath, inputPath, nativePath] = process.argv.slice(2);
const { model, info } = await loadBundle(corePath, bundlePath, trustPath);
const wasm = JSON.parse(model.predictBatch(readFileSync(inputPath, 'utf8'), true, Date.now() / 1000));
const native = JSON.parse(readFileSync(nativePath, 'utf8'));
let passed = 0, failed = 0;
const check = (ok, what) => { if (ok) passed++; else { failed++; console.error('FAIL', what); } };

check(wasm.problems.length === 0, `no problems reading ${inputPath}: ${JSON.stringify(wasm.problems.slice(0, 3))}`);
check(wasm.rows.length === native.length, `row count wasm ${wasm.rows.length} native ${native.length}`);
const regression = info.schema.outputs.kind === 'regression';
const classes = regression ? [] : info.schema.outputs.classes.map(c => c.name);
const K = regression ? 1 : classes.length;  // values per row the model gives
const features = info.schema.features;
let maxP = 0, maxPhi = 0;
for (let i = 0; i < Math.min(wasm.rows.length, native.length); i++) {
  const w = wasm.rows[i], n = native[i];
  check(n.classes.join() === classes.join(), 'native classes in the schema\'s order');
  for (let k = 0; k < K; k++) maxP = Math.max(maxP, Math.abs(w.probabilities[k] - n.probabilities[k]));
  if (regression) check(w.value === n.value && w.label === n.label && w.unit === n.unit, `row ${i}: value and its words`);
  n.explanation.outputs.forEach((out, o) => {
    maxPhi = Math.max(maxPhi, Math.abs(w.explanation.outputs[o].base - out.base));
    features.forEach((f, j) => { maxPhi = Math.max(maxPhi, Math.abs(w.explanation.outputs[o].contributions[j] - out.contributions[j])); });
  });
}
check(maxP <= 1e-6, `wasm vs native probabilities max |d| ${maxP}`);
check(maxPhi <= 1e-6, `wasm vs native contributions max |d| ${maxPhi}`);

// ONNX Runtime Web on the same feature vectors, one batch.
const session = await ort.InferenceSession.create(new Uint8Array(model.onnx()), { executionProviders: ['wasm'] });
const n = wasm.rows.length, F = features.length;
const x = new Float32Array(n * F);
wasm.rows.forEach((r, i) => r.features.forEach((v, j) => { x[i * F + j] = v === null ? NaN : v; }));
check(session.inputNames.join() === info.onnx.input, `the model info's ONNX input "${info.onnx.input}" is the session's (${session.inputNames})`);
check(session.outputNames.includes(info.onnx.output) && session.outputNames.includes(info.onnx.margin),
      `the model info's ONNX outputs "${info.onnx.output}", "${info.onnx.margin}" are the session's (${session.outputNames})`);
check(info.onnx.output === (regression ? 'value' : 'probabilities'), `a ${info.schema.outputs.kind} model's output is "${info.onnx.output}"`);
const out = await session.run({ [info.onnx.input]: new ort.Tensor('float32', x, [n, F]) });
const ortValues = out[info.onnx.output].data;
const scale = (v) => (regression ? Math.max(1, Math.abs(v)) : 1);
let maxOrtP = 0, maxMargin = 0;
for (let i = 0; i < n; i++) {
  const r = wasm.rows[i];
  for (let k = 0; k < K; k++) maxOrtP = Math.max(maxOrtP, Math.abs(ortValues[i * K + k] - r.probabilities[k]) / scale(r.probabilities[k]));
  const m = out[info.onnx.margin].data;
  const M = out[info.onnx.margin].dims[1];
  const ortMargins = Array.from(m.slice(i * M, (i + 1) * M));
  r.explanation.outputs.forEach((e, o) => {
    const sum = e.base + e.contributions.reduce((a, b) => a + b, 0);
    maxMargin = Math.max(maxMargin, Math.abs(sum - ortMargins[o]) / scale(sum));
  });
}
check(maxOrtP <= 1e-5, `ONNX Runtime Web vs core probabilities max |d| ${maxOrtP}`);
check(maxMargin <= 1e-4, `base + sum(phi) vs ONNX Runtime margin max |d| ${maxMargin}`);
console.log(`${info.name}: ${n} rows; wasm-native |dp| ${maxP.toExponential(2)} |dphi| ${maxPhi.toExponential(2)}; ` +
            `ORT |dp| ${maxOrtP.toExponential(2)}; ORT margin vs base+sum(phi) ${maxMargin.toExponential(2)}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
