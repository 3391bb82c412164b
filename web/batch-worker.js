// web/batch-worker.js — the batch view's work, off the UI thread (a module worker).
//
// Index of this file
//   [SECTION] Start-up (core wasm, ONNX Runtime Web) and the model (verified again here)
//   [SECTION] Scoring a file (CSV or FHIR): the core's table + ONNX Runtime cross-check (trees),
//             or ONNX Runtime alone and the core's table from its outputs (other models)
//   [SECTION] One row's model-agnostic explanation, on demand
//
// The page sends the bundle bytes it verified; this worker verifies them again with its own copy
// of the core (the same C++), runs the whole batch and returns numbers the UI draws directly, so
// a 10,000-patient file never blocks the page. Nothing here talks to the network.
'use strict';
import { addTableToReports } from './reports.js';
import { packFeatures, runOnnx as run } from './onnx.js';

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

const runOnnx = (x) => run(ort, session, info, x);

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

// Models the core cannot walk: ONNX Runtime scores every row, the core fills the same table
// (explanations on demand, from the pending rows kept in `last`).
async function score({ text, now }) {
  const t0 = performance.now();
  const b = JSON.parse(model.predictBatch(text, false, now));
  const x = packFeatures(b.rows, info.num_features);
  const r = model.finishBatch(JSON.stringify(b.rows), (await runOnnx(x))[info.onnx.output].data);
  const meta = JSON.parse(r.meta);
  Object.assign(meta, { problems: b.problems, format: b.format });
  if (meta.error) return { meta: { ...meta, status: 'Withheld: ' + meta.error }, table: r.table };
  last = b.rows;
  meta.status = `Scored by ONNX Runtime Web in ${Math.round(performance.now() - t0)} ms, off the page; select a row and press "Explain this row" for its model-agnostic explanation.`;
  return { meta, table: r.table };
}

//-----------------------------------------------------------------------------
// [SECTION] One row's model-agnostic explanation
//-----------------------------------------------------------------------------
async function explainRow({ index }) {
  const row = last[index];
  const inputs = model.onnxInputs(JSON.stringify(row.features), true);
  const out = await runOnnx(inputs);
  return JSON.parse(model.finish(JSON.stringify(row), out[info.onnx.output].data, true));
}

self.onmessage = async ({ data }) => {
  const reply = (body, transfer = []) => self.postMessage({ id: data.id, ...body }, transfer);
  try {
    if (data.type === 'init') { await init(data); reply({ ok: true }); }
    else if (data.type === 'model') { if (data.sha !== sha) await useModel(data); reply({ ok: true }); }
    else if (data.type === 'score') {
      const { meta, table } = info.explainer === 'treeshap' ? await scoreTrees(data) : await score(data);
      if (data.report) meta.report = addTableToReports(model, data.report.pending, table, meta.rows, data.report);
      if (data.results) meta.results = Array.from({ length: meta.rows }, (_, i) => ({
        row: table[i * meta.stride + meta.classes + 2 * meta.fields + 2], patient: meta.patients ? meta.patients[i] : undefined,
        probabilities: Array.from(table.subarray(i * meta.stride, i * meta.stride + meta.classes)) }));
      reply({ ok: true, meta, table }, [table.buffer]);
    } else if (data.type === 'explain') {
      reply({ ok: true, row: await explainRow(data) });
    }
  } catch (e) {
    reply({ ok: false, error: String(e.message || e) });
  }
};
