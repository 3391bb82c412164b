// web/batch.js — the batch worker (web/batch-worker.js) driven from the page: files of patients
// and images scored off the page's thread, each table checked by this page's ONNX Runtime.
//
// Index of this file
//   [SECTION] The worker (started once the first model's first result is checked; one model load per model)
//   [SECTION] Files of patients (CSV or FHIR), and a row's explanation
//   [SECTION] Images (imaging models: DICOM, PNG or JPEG files)
'use strict';
import { page, runtimeWanted, store, now, today, Refused, pageProblem, pageSentence, pageFailure, afterFirstCheck } from './page-state.js';
import { checkTable, runOnnxInTurn } from './predict.js';
import { modelKey, reportingEnabled, fileSeenToday, saveReports, reportImage } from './reporting.js';

//-----------------------------------------------------------------------------
// [SECTION] The worker
//-----------------------------------------------------------------------------
// A CSV, or FHIR R4 JSON (Bundle or NDJSON): the batch worker (web/batch-worker.js) verifies the
// bundle again, scores every row with the core (or runs ONNX Runtime for models the core cannot
// walk), builds the aggregate reports, and returns one table of numbers: the page stays
// responsive however large the file. For tree models this page's ONNX Runtime session (already
// started for single patients) then checks every row, in slices (checkTable); a disagreement
// withholds the whole table, and its reports are not kept.
let worker = null, workerReady = null, workerModelLoad = null, workerSeq = 0, workerTimer = 0;
const workersEnded = new WeakMap();  // a worker ended (endWorker) -> why: the envelope its calls get
const workerCalls = new Map();

function startWorker(assets) {
  worker = new Worker(assets.batch_worker, { type: 'module' });
  worker.onmessage = ({ data }) => {
    if (data.type === 'stalled') { const { type, ...envelope } = data; endWorker(envelope); return; }
    const call = workerCalls.get(data.id);
    if (data.early) { if (call && call.early) call.early(data); return; }  // a first part; the reply follows
    workerCalls.delete(data.id);
    if (call) (data.ok ? call.resolve(data) : call.reject(new Refused(data)));  // a failure: the core's envelope
  };
  // A worker that could not start its core cannot word its failure: the page's core does, for every
  // call still waiting (batch-worker.js rethrows it, uncaught, to here).
  worker.onerror = (e) => {
    e.preventDefault();
    for (const call of workerCalls.values()) call.reject(new Refused(pageProblem('page_fault', e.message)));
    workerCalls.clear();
  };
  const url = (p) => new URL(p, location.href).href;
  workerReady = callWorker({ type: 'init', coreJs: url(assets.core_js), coreWasm: url(assets.core_wasm), ortUrl: url(assets.ort),
    ortWebGpuUrl: assets.ort_webgpu ? url(assets.ort_webgpu) : '',
    runtime: runtimeWanted });
}

// ONNX Runtime's files stopped arriving in the worker (web/batch-worker.js, watchOrtDownloads): the
// worker is ended, and what waits on it fails with `envelope` (the core's words), as does a call
// meant for it later (a row's explanation, the next image of a list: callWorker's `on`); the next
// model load (workerModel: a file or images opened) starts a new worker, which fetches them afresh.
function endWorker(envelope) {
  worker.terminate();
  workersEnded.set(worker, envelope);
  worker = null;
  workerReady = null;
  workerModelLoad = null;
  for (const call of workerCalls.values()) call.reject(new Refused(envelope));
  workerCalls.clear();
}

// `early(data)`: the worker's first part of its reply, when it sends one (an image and its map).
// `on`: the worker the call is meant for (the one workerModel loaded the model into); a call for a
// worker that has been ended since is refused with the reason, not sent to its successor, which
// may not hold the model yet.
export function callWorker(message, transfer = [], early = null, on = worker) {
  return new Promise((resolve, reject) => {
    if (!on || on !== worker) { reject(new Refused(workersEnded.get(on) || pageProblem('page_fault', 'the batch worker is not started'))); return; }
    const id = ++workerSeq;
    workerCalls.set(id, { resolve, reject, early });
    worker.postMessage({ ...message, id }, transfer);
  });
}

// The current model in the worker: one load per model, shared by every caller; resolves to the
// worker that holds it (callWorker's `on`). `fileWaiting`: a file waits for this load (the worker
// then skips its warm-up; the file goes first).
export function workerModel({ fileWaiting = false } = {}) {
  if (!worker) startWorker(page.assets);
  const sha = page.current.info.sha256;
  if (!workerModelLoad || workerModelLoad.sha !== sha) {
    const message = { type: 'model', sha, bytes: page.current.bytes, trust: page.trust, now: now(), floors: JSON.stringify(store.get('accepted', {})), warm: !fileWaiting };
    const on = worker;
    const promise = workerReady.then(() => callWorker(message, [], null, on)).then(() => on);
    workerModelLoad = { sha, promise };
    promise.catch(() => { if (workerModelLoad && workerModelLoad.promise === promise) workerModelLoad = null; });
  }
  return workerModelLoad.promise;
}

// A moment after a model's first result is checked (its load check against ONNX Runtime: predict.js,
// startOnnxChecks; or WORKER_WAIT_MS after the model is ready, whichever comes first:
// afterFirstCheck in page-state.js, as the service worker's registration waits; then 1.5 s and the
// page idle, 2 s at most), while the clinician reads or types, the worker starts (its ONNX Runtime
// compiles, it verifies the model) so that the first file opened is scored at once. Not sooner:
// on a small machine its compile and warm-up shared the cores with ONNX Runtime's start and the
// load check, and put the first checked result off (docs/benchmarks.md). A file opened before then
// starts it at once (workerModel).
const WORKER_WAIT_MS = 10000;
let workerAwaits = null;  // the model whose check prepareWorkerWhenIdle waits for
export function prepareWorkerWhenIdle() {
  clearTimeout(workerTimer);
  const used = workerAwaits = page.current;
  afterFirstCheck(used, WORKER_WAIT_MS).then(() => {
    if (workerAwaits !== used) return;  // a newer model is waited for
    workerTimer = setTimeout(() => {
      const load = () => { if (workerAwaits === used) workerModel().catch((e) => console.warn('batch worker:', e.message)); };
      if ('requestIdleCallback' in self) requestIdleCallback(load, { timeout: 2000 }); else load();
    }, 1500);
  });
}

//-----------------------------------------------------------------------------
// [SECTION] Files of patients (CSV or FHIR), and a row's explanation
//-----------------------------------------------------------------------------
// A tree model's parts are run by this page's ONNX Runtime as the worker and its helper score
// them (each posts a part's features on its own port): the check of the whole table at the end
// then only compares (checkTable, with these runs for the rows whose features they match).
function earlyRuns(used) {
  const runs = new Map();  // part index -> { features, out: a promise of ONNX Runtime's outputs }
  const channels = [new MessageChannel(), new MessageChannel()];
  let waiting = null;  // { n, resolve }: all() waits for n parts
  const ports = channels.map((c) => {
    c.port1.onmessage = ({ data }) => {
      const { index, features } = data;
      // A copy runs (ONNX Runtime's proxy takes its buffer): these stay to compare with the table's.
      const out = features.length ? runOnnxInTurn(used, features.slice()) : Promise.resolve(null);
      out.catch(() => {});  // checkTable runs those rows again
      runs.set(index, { features, out });
      if (waiting && runs.size >= waiting.n) waiting.resolve();
    };
    return c.port2;
  });
  // The worker's reply says how many parts were posted; messages on other ports may still be on
  // their way then (no order across ports): waited for, at most a second (the rows of any missing
  // are run then, by checkTable; the other parts' runs are still used).
  // Closed once the parts are in, or when the worker fails: nothing of this batch runs after it.
  const close = () => channels.forEach((c) => { c.port1.onmessage = null; c.port1.close(); });
  const all = async (n) => {
    if (runs.size < n) await new Promise((resolve) => { waiting = { n, resolve }; setTimeout(resolve, 1000); });
    close();
    return runs;
  };
  return { ports, all, close };
}

// The worker that scored the table shown: its rows are explained there (it keeps them), never by
// another; once it has ended, a row's explanation is refused with the reason it ended.
let tableWorker = null;
export async function scoreFile(name, text, { results = false } = {}) {
  if (!page.current) throw new Refused(pageProblem('no_model'));
  const used = page.current;
  const on = await workerModel({ fileWaiting: true });
  const key = modelKey(used);
  const pendingAll = store.get('pending', {});
  const reported = reportingEnabled() && !(await fileSeenToday(used, text));  // a file counts once a day
  const report = reported ? { pending: pendingAll[key] ? JSON.stringify(pendingAll[key]) : '', day: today() } : null;
  const asked = performance.now();
  const early = used.info.explainer === 'treeshap' ? earlyRuns(used) : null;
  let answer;
  try {
    answer = await callWorker({ type: 'score', text, now: now(), report, results, ports: early ? early.ports : undefined }, early ? early.ports : [], null, on);
  } finally {
    if (early && !answer) early.close();
  }
  let { meta, table, features, margins } = answer;
  const timing = { ...meta.timing, worker_ms: performance.now() - asked };
  const waited = performance.now();
  const runs = early ? await early.all(meta.parts_posted || 0) : null;
  timing.parts_wait_ms = performance.now() - waited;
  delete meta.parts_posted;
  if (features && meta.rows) {
    const t0 = performance.now();
    const { ok, worst, onnxMs, early: runEarly, late: runLate } = await checkTable(used, meta, table, features, margins, runs);
    Object.assign(timing, { check_ms: performance.now() - t0, check_onnx_ms: onnxMs, check_rows_run_early: runEarly, check_rows_run_late: runLate });
    await used.loadCheckDone;  // a model that fails its own load check is not used, whatever the file's rows say
    if (!ok || used.loadCheck === false) {
      meta = { ...meta, rows: 0, warnings: [], patients: null, results: [], report: null,
        status: (ok ? used.loadCheckWhy || pageProblem('model_not_used') : pageProblem('table_disagrees', worst)).problems[0].message };
      table = new Float64Array(0);
    } else {
      meta.status = pageSentence('batch_checked', { difference: worst, ms: performance.now() - t0, then: meta.status });
    }
  }
  if (meta.report) saveReports(key, meta.report.pending, meta.report.queued);  // only for results shown
  const forUi = { ...meta, results: undefined, report: undefined, timing: undefined, part_rows: undefined };
  const t1 = performance.now();
  page.M.appSetBatchTable(name, JSON.stringify(forUi), table);
  tableWorker = on;
  timing.shown_ms = performance.now() - t1;
  meta.timing = timing;
  return meta;
}

// A batch row's model-agnostic explanation, computed by the worker when the clinician asks.
export async function explainRow(index) {
  const { row } = await callWorker({ type: 'explain', index: Number(index) }, [], null, tableWorker);
  page.M.appSetBatchRow(Number(index), JSON.stringify(row));
  return row;
}

//-----------------------------------------------------------------------------
// [SECTION] Images
//-----------------------------------------------------------------------------
// Images chosen by the clinician (File objects): each is read and scored by the batch worker, one
// after another, and shown as it arrives. Nothing of them leaves the page.
let imageFiles = [];  // the files of the last opening, kept in this page for maps of other classes
let imagesWorker = null;  // the worker that holds their model: other maps and frames are its, as tableWorker
export async function scoreImages(files) {
  if (!page.current || !page.current.info.imaging) throw new Refused(pageProblem(page.current ? 'not_imaging' : 'no_model'));
  const used = page.current;  // the images' reports are this model's, whatever is chosen meanwhile
  imageFiles = files;
  imagesWorker = null;
  page.M.appImagesOpened(files.length);
  const on = await workerModel({ fileWaiting: true });
  imagesWorker = on;
  const results = [];
  for (const [i, f] of files.entries()) {
    const t0 = performance.now();
    const reply = await scoredImage(f, -1, i, {}, on);
    // Counted once into the drift report (its descriptors, class and probabilities; never pixels).
    // The file is read again only then: a read waits for the app's frames, the next image with it.
    if (reply.result && reply.result.ok && reportingEnabled()) await reportImage(used, reply.result, await f.arrayBuffer());
    // ms_shown: this page's time from asking to the image and its map handed to the app.
    results.push({ file: f.name, ...reply.result, ms_shown: reply.msShown || performance.now() - t0 });
  }
  return results;
}

function showImageResult(index, name, reply) {
  const d = reply.display || { grey: new Uint8Array(0), width: 0, height: 0 };
  page.M.appAddImageResult(index, name, JSON.stringify(reply.result), d.grey, d.width, d.height);
}

// Image file `f` scored by the worker and shown at `index` (-1: added; it becomes `at`): the image
// and its map as soon as the worker has them, its deletion curve when its runs are done.
// `on`: the worker that holds the model (callWorker).
async function scoredImage(f, index, at, options, on) {
  const t0 = performance.now();
  let shown = false, msShown = 0, reply;
  const early = (data) => { showImageResult(index, f.name, data); shown = true; msShown = performance.now() - t0; };
  try {
    reply = await callWorker({ type: 'image', blob: f, ...options, early: true }, [], early, on);
  } catch (e) {
    reply = { result: pageFailure(e) };
  }
  if (!shown) showImageResult(index, f.name, reply);
  else if (reply.result && reply.result.ok) page.M.appSetImageCurve(at, f.name, JSON.stringify(reply.result));
  else showImageResult(at, f.name, reply);  // the curve's runs failed: the reason replaces the result
  return { ...reply, msShown };
}

// Image `index` scored again: frame `frame` of a multi-frame DICOM file, the map of class `cls`
// (the view's "Frame" and "Map of" choices).
export async function explainImage(arg) {
  const { index, class: cls, frame = 0 } = JSON.parse(arg);
  const f = imageFiles[index];
  if (!f) return null;
  return (await scoredImage(f, index, index, { explained: cls, frame }, imagesWorker)).result;
}
