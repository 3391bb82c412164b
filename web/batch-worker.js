// web/batch-worker.js — the batch view's work, off the UI thread (a module worker).
//
// Index of this file
//   [SECTION] Start-up (core wasm, ONNX Runtime Web) and the model (verified again here)
//   [SECTION] Scoring a file (CSV or FHIR): the core's table + ONNX Runtime cross-check (trees),
//             or ONNX Runtime alone (other models)
//   [SECTION] The compact result for other models (the same Float64Array layout as the core's)
//   [SECTION] One row's model-agnostic explanation, on demand
//
// The page sends the bundle bytes it verified; this worker verifies them again with its own copy
// of the core (the same C++), runs the whole batch and returns numbers the UI draws directly, so
// a 10,000-patient file never blocks the page. Nothing here talks to the network.
'use strict';
import { addToReports, addTableToReports } from './reports.js';

let core = null, ort = null, model = null, info = null, session = null, sha = '';
let last = null;  // the last batch's rows (core JSON), for on-demand explanations
const TOLERANCE = 1e-4;

//-----------------------------------------------------------------------------
// [SECTION] Start-up and the model
//-----------------------------------------------------------------------------
async function init({ coreJs, coreWasm, ortUrl }) {
  ort = await import(ortUrl);
  ort.env.wasm.numThreads = 1;
  const { default: createLocalDxCore } = await import(coreJs);
  core = await createLocalDxCore({ locateFile: () => coreWasm });
}

async function useModel({ bytes, trust, now, floors }) {
  const checked = core.loadBundle(bytes, trust, now, floors);
  if (!checked.ok()) throw new Error('the worker refused the bundle: ' + checked.error());
  model = checked.model();
  info = JSON.parse(model.info());
  session = await ort.InferenceSession.create(model.onnx(), { executionProviders: ['wasm'] });
  sha = info.sha256;
}

async function runOnnx(x) {
  const F = info.num_features;
  const out = await session.run({ [info.onnx.input]: new ort.Tensor('float32', x, [x.length / F, F]) });
  return out;
}

function features(rows) {
  const F = info.num_features, x = new Float32Array(rows.length * F);
  rows.forEach((r, i) => r.features.forEach((v, j) => { x[i * F + j] = v === null ? NaN : v; }));
  return x;
}

//-----------------------------------------------------------------------------
// [SECTION] Scoring a file
//-----------------------------------------------------------------------------
// Tree models: the core returns the table itself (no JSON per row) and the features and margins
// ONNX Runtime must agree with.
async function scoreTrees({ text, now }) {
  const t0 = performance.now();
  const r = model.predictBatchTable(text, now);
  const meta = JSON.parse(r.meta);
  meta.status = '';
  if (meta.rows) {
    const out = await runOnnx(r.features);
    const K = meta.classes, O = meta.outputs, S = meta.stride, M = out.margin.dims[1];
    const p = out.probabilities.data, m = out.margin.data;
    let worst = 0;
    for (let i = 0; i < meta.rows; i++) {
      for (let k = 0; k < K; k++) worst = Math.max(worst, Math.abs(p[i * K + k] - r.table[i * S + k]));
      for (let o = 0; o < O; o++) worst = Math.max(worst, Math.abs(m[i * M + o] - r.margins[i * O + o]));
    }
    if (!(worst <= TOLERANCE)) {
      return { meta: { ...meta, rows: 0, warnings: [], patients: null, status: `Withheld: the explanation and ONNX Runtime disagree (difference ${worst.toExponential(2)}).` }, table: new Float64Array(0) };
    }
    meta.status = `Cross-checked with ONNX Runtime (max difference ${worst.toExponential(1)}); ${Math.round(performance.now() - t0)} ms, off the page.`;
  }
  return { meta, table: r.table };
}

// Models the core cannot walk: ONNX Runtime scores every row (explanations on demand).
async function score({ text, now }) {
  const t0 = performance.now();
  const b = JSON.parse(model.predictBatch(text, false, now));
  const CHUNK = 4096, rows = [];
  for (let i = 0; i < b.rows.length; i += CHUNK) {
    const part = b.rows.slice(i, i + CHUNK);
    const out = await runOnnx(features(part));
    const done = JSON.parse(model.finishBatch(JSON.stringify(part), out[info.onnx.output].data));
    if (!done.ok) return { rows: [], problems: b.problems, format: b.format, status: 'Withheld: ' + done.problems[0].text };
    rows.push(...done.rows);
  }
  last = rows;
  const status = `Scored by ONNX Runtime Web in ${Math.round(performance.now() - t0)} ms, off the page; select a row and press "Explain this row" for its model-agnostic explanation.`;
  return { rows, problems: b.problems, format: b.format, status };
}

//-----------------------------------------------------------------------------
// [SECTION] The compact result
//-----------------------------------------------------------------------------
// Per row, stride = K + 2 * NF + 4 doubles: probabilities (K), values (NF, NaN = missing),
// per-field contributions of the explained output (NF), base, predicted, row number,
// explained (1 when contributions are present). Strings go in the small meta object.
function compact(result) {
  const K = info.schema.outputs.classes.length, NF = info.schema.fields.length, stride = K + 2 * NF + 4;
  const table = new Float64Array(result.rows.length * stride);
  const warnings = [], patients = [], of = {};
  let kind = '', unit = '';
  result.rows.forEach((r, i) => {
    const at = i * stride;
    r.probabilities.forEach((p, k) => { table[at + k] = p; });
    r.values.forEach((v, f) => { table[at + K + f] = v === null ? NaN : v; });
    const e = r.explanation;
    if (e) {
      e.fields.forEach((c, f) => { table[at + K + NF + f] = c; });
      table[at + K + 2 * NF] = e.base;
      of[e.output] = e.of;
      kind = e.kind; unit = e.unit;
    }
    table[at + K + 2 * NF + 1] = r.predicted;
    table[at + K + 2 * NF + 2] = r.row;
    table[at + K + 2 * NF + 3] = e ? 1 : 0;
    warnings.push(r.warnings.map((w) => ({ field: w.field, message: w.message })));
    patients.push(r.patient || '');
  });
  const meta = { status: result.status, format: result.format, problems: result.problems, rows: result.rows.length, classes: K,
                 fields: NF, stride, warnings, patients: patients.some((p) => p) ? patients : null, explanation: { of, kind, unit } };
  return { meta, table };
}

//-----------------------------------------------------------------------------
// [SECTION] One row's model-agnostic explanation
//-----------------------------------------------------------------------------
async function explainRow({ index }) {
  const row = last[index];
  const inputs = model.onnxInputs(JSON.stringify(row.features), true);
  const out = await runOnnx(inputs);
  const r = JSON.parse(model.finish(JSON.stringify(row), out[info.onnx.output].data, true));
  if (r.ok && r.explanation) {
    const e = r.explanation, p = r.probabilities[r.probabilities.length === 2 ? 1 : e.output];
    r.check = { ok: true, kind: 'sampling-shapley', max_abs_diff: Math.abs(e.base + e.fields.reduce((a, c) => a + c, 0) - p) };
  }
  return r;
}

self.onmessage = async ({ data }) => {
  const reply = (body, transfer = []) => self.postMessage({ id: data.id, ...body }, transfer);
  try {
    if (data.type === 'init') { await init(data); reply({ ok: true }); }
    else if (data.type === 'model') { if (data.sha !== sha) await useModel(data); reply({ ok: true }); }
    else if (data.type === 'score' && info.explainer === 'treeshap') {
      const { meta, table } = await scoreTrees(data);
      if (data.report) meta.report = addTableToReports(model, data.report.pending, table, meta.rows, data.report);
      if (data.results) meta.results = Array.from({ length: meta.rows }, (_, i) => ({
        row: table[i * meta.stride + meta.classes + 2 * meta.fields + 2], patient: meta.patients ? meta.patients[i] : undefined,
        probabilities: Array.from(table.subarray(i * meta.stride, i * meta.stride + meta.classes)) }));
      reply({ ok: true, meta, table }, [table.buffer]);
    } else if (data.type === 'score') {
      const result = await score(data);
      const { meta, table } = compact(result);
      if (data.report) meta.report = addToReports(model, data.report.pending, result.rows, data.report);
      if (data.results) meta.results = result.rows.map((r) => ({ row: r.row, patient: r.patient, probabilities: r.probabilities }));
      reply({ ok: true, meta, table }, [table.buffer]);
    } else if (data.type === 'explain') {
      reply({ ok: true, row: await explainRow(data) });
    }
  } catch (e) {
    reply({ ok: false, error: String(e.message || e) });
  }
};
