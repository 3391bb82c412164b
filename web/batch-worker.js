// web/batch-worker.js — the batch view's work, off the UI thread (a module worker).
//
// Index of this file
//   [SECTION] Start-up (core wasm, ONNX Runtime Web) and the model (verified again here)
//   [SECTION] The helper: a second copy of this worker (core only) scoring half of each file
//   [SECTION] Scoring a file (CSV or FHIR): the core's table + ONNX Runtime cross-check (trees),
//             or ONNX Runtime alone and the core's table from its outputs (other models)
//   [SECTION] One row's model-agnostic explanation, on demand
//
// The page sends the bundle bytes it verified; this worker verifies them again with its own copy
// of the core (the same C++), runs the whole batch and returns numbers the UI draws directly, so
// a 10,000-patient file never blocks the page. While it does, the page's thread is idle: so a
// helper (this same script, without ONNX Runtime) scores the second half of each file on the
// other core. Nothing here talks to the network.
'use strict';
import { addTableToReports } from './reports.js';
import { packFeatures, runOnnx as run } from './onnx.js';
import { joinBatchParts } from './batch-parts.js';

let core = null, ort = null, model = null, info = null, session = null, sha = '';
let last = null;  // the last batch's rows (core JSON), for on-demand explanations
let helper = null;  // the helper worker (The helper, below): { call(message), useModel(message), sha } or null
const TOLERANCE = 1e-4;

//-----------------------------------------------------------------------------
// [SECTION] Start-up and the model
//-----------------------------------------------------------------------------
// The page's worker gets ortUrl; its helper does not (it only scores parts of files).
async function init({ coreJs, coreWasm, ortUrl }) {
  if (ortUrl && (self.navigator.hardwareConcurrency || 1) >= 2) helper = startHelper({ coreJs, coreWasm });
  if (ortUrl) {
    ort = await import(ortUrl);
    ort.env.wasm.numThreads = 1;
  }
  const { default: createLocalDxCore } = await import(coreJs);
  core = await createLocalDxCore({ locateFile: () => coreWasm });
}

async function useModel({ bytes, trust, now, floors }) {
  const helped = helper ? helper.useModel({ sha: '', bytes, trust, now, floors }) : null;  // verifies at the same time
  const checked = core.loadBundle(bytes, trust, now, floors);
  if (!checked.ok()) throw new Error('the worker refused the bundle: ' + checked.error());
  model = checked.model();
  info = JSON.parse(model.info());
  if (ort) session = await ort.InferenceSession.create(model.onnx(), { executionProviders: ['wasm'] });
  sha = info.sha256;
  if (helped && (await helped) !== sha && helper) console.warn('batch helper: it holds another model; files are scored on one thread');
}

//-----------------------------------------------------------------------------
// [SECTION] The helper
//-----------------------------------------------------------------------------
// It verifies the bundle with its own core like this worker does. A file is split only when the
// helper holds the same model; if it fails, this worker scores the whole file itself.

function startHelper({ coreJs, coreWasm }) {
  const w = new Worker(self.location.href, { type: 'module' });
  const calls = new Map();
  let seq = 0;
  const call = (message) => new Promise((resolve, reject) => {
    const id = ++seq;
    calls.set(id, { resolve, reject });
    w.postMessage({ ...message, id });
  });
  w.onmessage = ({ data }) => {
    const c = calls.get(data.id);
    calls.delete(data.id);
    if (c) (data.ok ? c.resolve(data) : c.reject(new Error(data.error)));
  };
  const h = { call, sha: '' };
  const giveUp = (e) => {
    console.warn('batch helper:', e.message || e);
    for (const c of calls.values()) c.reject(new Error('the batch helper stopped'));
    calls.clear();
    if (helper === h) helper = null;
  };
  w.onerror = (e) => { e.preventDefault(); giveUp(e); };
  const ready = call({ type: 'init', coreJs, coreWasm });
  ready.catch(giveUp);
  // Resolves to the sha256 of the model the helper then holds ('' if it failed: it is dropped).
  h.useModel = (message) => {
    h.sha = '';
    return ready.then(() => call({ type: 'model', ...message })).then((d) => { h.sha = d.sha; return d.sha; }, (e) => { giveUp(e); return ''; });
  };
  return h;
}

// The file's table, in two parts at once when the helper is ready, else in one; `threads` says
// how many scored it.
async function tableInParts(text, now) {
  const h = helper && helper.sha === sha ? helper : null;
  if (!h) return { ...joinBatchParts([model.predictBatchTable(text, now, 0, 1)]), threads: 1 };
  let threads = 2;
  const theirs = h.call({ type: 'part', text, now, part: 1, parts: 2 })
    .then((d) => d.part, () => { threads = 1; return model.predictBatchTable(text, now, 1, 2); });
  const mine = model.predictBatchTable(text, now, 0, 2);
  const joined = joinBatchParts([mine, await theirs]);
  return { ...joined, threads };
}

const runOnnx = (x) => run(ort, session, info, x);

//-----------------------------------------------------------------------------
// [SECTION] Scoring a file
//-----------------------------------------------------------------------------
// Tree models: the core returns the table itself (no JSON per row) and the features and margins
// ONNX Runtime must agree with.
async function scoreTrees({ text, now }) {
  const t0 = performance.now();
  const r = await tableInParts(text, now);
  const meta = r.meta;
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
    meta.status = `Cross-checked with ONNX Runtime (max difference ${worst.toExponential(1)}); ${Math.round(performance.now() - t0)} ms, off the page` +
      (r.threads === 2 ? ', on two threads.' : '.');
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
    else if (data.type === 'model') { if (!data.sha || data.sha !== sha) await useModel(data); reply({ ok: true, sha }); }
    else if (data.type === 'part') {
      const part = model.predictBatchTable(data.text, data.now, data.part, data.parts);
      reply({ ok: true, part }, [part.table.buffer, part.features.buffer, part.margins.buffer]);
    } else if (data.type === 'score') {
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
