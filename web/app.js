// web/app.js — the page glue: bundle lifecycle, ONNX Runtime Web, the test API, reporting.
//
// Index of this file
//   [SECTION] Start-up (assets, core + UI module, ONNX Runtime, service worker)
//   [SECTION] Bundle lifecycle (signed index, verify on every load, rollback floor, cache)
//   [SECTION] Prediction (core + ONNX Runtime cross-check) — one path for the UI and the tests
//   [SECTION] Batch (CSV or FHIR file picker, export)
//   [SECTION] Images (imaging models: DICOM, PNG or JPEG files, scored in the batch worker)
//   [SECTION] Reporting (aggregate, randomized, k-anonymous; queued while offline)
//   [SECTION] Host functions the UI calls, and window.localdx
//
// Everything about a patient stays in this page: the core (C++ compiled to wasm) validates,
// preprocesses, walks the trees and explains; ONNX Runtime Web runs the bundle's model from our
// own origin. The only requests are for the app's files, the signed models index, bundles and
// aggregate reports.
'use strict';
import { addToReports } from './reports.js';
import { packFeatures, runOnnx } from './onnx.js';
import { applyTree, startA11y } from './a11y.js';

const $ = (id) => document.getElementById(id);
const store = {
  get: (k, d) => { try { const v = localStorage.getItem('ldx.' + k); return v === null ? d : JSON.parse(v); } catch { return d; } },
  set: (k, v) => localStorage.setItem('ldx.' + k, JSON.stringify(v)),
};
const now = () => Date.now() / 1000;
// Where an imaging model runs, as the address says (#runtime=wasm | webgpu; batch-worker.js).
const runtimeWanted = new URLSearchParams(location.hash.slice(1)).get('runtime') || 'auto';
const today = () => new Date().toISOString().slice(0, 10);
// A core or app call that failed as a call (wasm/core/boundary.h: a handle or value was due, the
// envelope {ok: false, problems} came back) throws here, in the core's words, to the caller's own
// error path. (Calls that answer JSON text carry the same envelope; their callers read "ok".)
const answered = (x) => {
  if (x && x.ok === false && Array.isArray(x.problems)) throw new Error(x.problems.map((p) => p.message).join(' '));
  return x;
};

let M = null;          // the wasm module (core + Dear ImGui app)
let ort = null;        // ONNX Runtime Web
let trust = '';        // trust root shipped with the app
let current = null;    // { model: CoreModel, info, sessionReady: Promise<ONNX Runtime session>, session (once ready), name }
let index = null;      // verified models index
const pending = new Map();
let readyResolve, readyReject;
const ready = new Promise((res, rej) => { readyResolve = res; readyReject = rej; });

//-----------------------------------------------------------------------------
// [SECTION] Start-up
//-----------------------------------------------------------------------------
function fail(message) {
  $('splash').hidden = true;
  const p = $('fallback');
  p.textContent = message;
  p.hidden = false;
  announce(message);
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error('cannot load ' + src));
    document.head.appendChild(s);
  });
}

async function start() {
  // Everything the first prediction needs is requested at once: the models index and the bundle
  // it names download while the modules compile (the index is verified, and the bundle checked
  // against it, once the core is there).
  const wanted = new URLSearchParams(location.hash.slice(1)).get('model');
  const indexText = fetchIndexText();
  const bundle = prefetchBundle(indexText, wanted);
  const [assets, trustText] = await Promise.all([fetch('assets.json').then((r) => r.json()), fetch('trust.json').then((r) => r.text())]);
  trust = trustText;
  const fontBytes = fetch(assets.font).then((r) => r.arrayBuffer());
  ort = await import('./' + assets.ort);
  ort.env.wasm.numThreads = 1;  // one patient at a time: a thread pool only costs start-up (same run time, measured)
  // ONNX Runtime's 14 MB wasm is needed for the first prediction: opening a one-node model now
  // makes it download and compile while the app's own module loads, not after the bundle is verified.
  ort.InferenceSession.create(assets.ort_warmup, { executionProviders: ['wasm'] }).catch((e) => console.warn('ONNX Runtime warm-up:', e.message));
  workerAssets = assets;  // the batch worker starts once the first model is ready (prepareWorkerWhenIdle)
  await loadScript(assets.app_js);
  M = await createLocalDxApp({
    canvas: $('canvas'),
    locateFile: (path) => (path.endsWith('.wasm') ? assets.app_wasm : path),
  });
  const font = new Uint8Array(await fontBytes);
  startA11y(M);
  M.appStart(font);
  $('canvas').addEventListener('contextmenu', (e) => e.preventDefault());
  await loadIndexAndModel(wanted, indexText, bundle);
  // The service worker precaches everything (ONNX Runtime included) for offline use; registered
  // once the first model is ready, so its downloads do not compete with the first prediction.
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('sw.js?v=' + assets.version).catch((e) => console.warn('service worker:', e.message));
  }
  flushReports();
}

//-----------------------------------------------------------------------------
// [SECTION] Bundle lifecycle
//-----------------------------------------------------------------------------
// The index is signed by a key of the trust root and expires; the highest index version seen
// is remembered, so a replayed older index is refused. Offline, the service worker answers with
// the last index it saw; an expired one is still usable for its (still valid) bundles, with a
// warning.
async function loadIndexAndModel(wanted, indexText = fetchIndexText(), bundle = null) {
  const text = await indexText;
  if (text === null) throw new Error('The list of models cannot be reached, and none was saved for offline use.');
  const checked = JSON.parse(M.verifyIndex(text, trust, now(), store.get('indexVersion', 0)));
  if (!checked.ok) { showError('The list of models from the server was refused: ' + checked.message); throw new Error(checked.message); }
  store.set('indexVersion', checked.version);
  index = checked;
  keepForOffline('ldx-index', '/api/v1/models', text);
  if (!index.models.length) { showError('No model has been published yet.'); return; }
  const entry = chooseEntry(index.models, wanted);
  const early = await bundle;  // used only if the verified index names the same bundle
  return loadBundle(entry.url, { source: checked.stale ? 'offline (models list last checked ' + checked.expires.slice(0, 10) + ')' : 'from the server' },
    early && early.url === entry.url ? early.download : fetchBundle(entry.url));
}

// The models index as text, or null when neither the server nor the offline copy answers.
function fetchIndexText() {
  return fetch('/api/v1/models', { cache: 'no-store' }).then((res) => (res.ok ? res.text() : null)).catch(() => null);
}

// The model asked for in the address, else the last one used, else the index's first.
function chooseEntry(models, wanted) {
  const name = wanted || store.get('model', null) || models[0].name;
  return models.find((m) => m.name === name) || models[0];
}

// Starts downloading the bundle the index names, before the index is verified (that needs the
// core): nothing from it is used unless the verified index names the same URL, and the bundle
// is verified on its own anyway. Resolves to { url, download } or null.
async function prefetchBundle(indexText, wanted) {
  try {
    const models = JSON.parse(await indexText).signed.models;
    const { url } = chooseEntry(models, wanted);
    if (typeof url !== 'string' || !url.startsWith('/api/v1/bundles/')) return null;
    const download = fetchBundle(url);
    download.catch(() => {});  // a failure is met again, and reported, where it is used
    return { url, download };
  } catch {
    return null;
  }
}

// The first visit already leaves everything needed offline: the service worker precaches the
// app, and the page itself stores the index and the bundle it used (verified again on every load).
function keepForOffline(cacheName, url, body) {
  if (!('caches' in self)) return;
  caches.open(cacheName).then((c) => c.put(url, new Response(body))).catch(() => {});
}

function showError(message) {
  if (M) M.appSetError(message);
  announce(message);
}

// A bundle's bytes: { ok: true, bytes } or { ok: false, status } (HTTP status).
async function fetchBundle(url) {
  let res;
  try { res = await fetch(url); } catch { return { ok: false, offline: true }; }  // no network, and no copy on this device
  return res.ok ? { ok: true, bytes: new Uint8Array(await res.arrayBuffer()) } : { ok: false, status: res.status };
}

// Verifies the bundle in wasm against the trust root, with the highest version accepted before
// as the rollback floor. Nothing from a refused bundle reaches the UI.
async function loadBundle(url, status = {}, download = fetchBundle(url)) {
  const got = await download;
  if (!got.ok) {
    const m = got.offline ? 'This model has not been opened on this device yet, so it is not available offline. The current model stays selected.'
      : 'The model file could not be downloaded (HTTP ' + got.status + ').';
    showError(m);
    return { ok: false, error: m };
  }
  const bytes = got.bytes;
  const floors = store.get('accepted', {});   // highest version accepted per model name
  const checked = M.loadBundle(bytes, trust, now(), JSON.stringify(floors));
  if (checked.ok === false) return refuse(checked.problems[0]);
  if (!checked.ok()) { const error = JSON.parse(checked.error()); checked.delete(); return refuse(error); }
  keepForOffline('ldx-bundles', url, bytes);
  const model = answered(checked.model());
  checked.delete();
  const info = JSON.parse(model.info());
  floors[info.name] = Math.max(floors[info.name] || 0, info.version);
  store.set('accepted', floors);
  store.set('model', info.name);
  // ONNX Runtime's session: a tree model is used as soon as the core has verified it (its results
  // are shown "being checked" until ONNX Runtime is up: startOnnxChecks); any other model only
  // runs in ONNX Runtime, so it waits.
  const used = { model, info, name: info.name, bytes, session: null };
  used.sessionReady = ort.InferenceSession.create(answered(model.onnx()), { executionProviders: ['wasm'] })
    .then((session) => { used.session = session; return session; });
  if (info.background) {
    // A model the core cannot walk: on every load, ONNX Runtime must reproduce the probabilities
    // its author published for the background rows, or the bundle is not used.
    const out = await probabilitiesOnnx(used, Float32Array.from(info.background.features));
    const agree = JSON.parse(model.checkBackground(out));
    if (!agree.ok) return refuse(agree);
  }
  if (info.imaging) {
    // An imaging model: ONNX Runtime must give its author's probabilities for the bundle's
    // reference images (preprocessed by this core), or the bundle is not used.
    const agree = JSON.parse(model.checkImages(await checkImagesOnnx(used)));
    if (!agree.ok) return refuse(agree);
  }
  releasePatient();  // the patient seen with the model being replaced is reported with it
  retire(current);
  current = used;
  if (!info.background && !info.imaging) startOnnxChecks(used);
  const available = (index ? index.models : []).map((m) => ({ name: m.name, version: m.version, title: m.title || m.name }));
  M.appSetModel(model, JSON.stringify({ ...status, available }));
  // A site calibration of this bundle's prediction sets, made earlier on this device (Validate tab).
  const calibrator = store.get('calibrators', {})[info.sha256];
  if (calibrator) M.appSetLocalCalibrator(calibrator);
  announce(`Model ready: ${info.schema.title}, version ${info.version}. Signature verified.`);
  publishReporting();
  prepareWorkerWhenIdle();
  return { ok: true, name: info.name, version: info.version, sha256: info.sha256 };
}

// A replaced model is freed (its core handle and its ONNX Runtime session) when the next one
// replaces it: work still using it (a batch being checked) can finish, and switching models
// any number of times keeps at most one retired model in memory.
let retired = null;
function retire(old) {
  if (retired) {
    retired.model.delete();
    retired.sessionReady.then((session) => session.release()).catch(() => {});
  }
  retired = old;
}

// A refused bundle: the core's words for the clinician (the reason code for the administrator).
function refuse(error) {
  const message = `${error.shown || error.message} (${error.code})`;
  showError(message);
  return { ok: false, code: error.code, error: message };
}

//-----------------------------------------------------------------------------
// [SECTION] Prediction
//-----------------------------------------------------------------------------
// The core gives probabilities, the feature vector and exact TreeSHAP; ONNX Runtime runs the
// bundle's ONNX model on the same features, and the core decides whether they agree (its
// check/checkTable/checkBackground): otherwise the result is withheld and the disagreement shown.

// The page's ONNX Runtime calls run one at a time (a patient's prediction may come while a batch
// table is being checked), each once the model's session is up.
let ortTail = Promise.resolve();
function runOnnxInTurn(used, x) {
  const run = ortTail.then(async () => runOnnx(ort, await used.sessionReady, used.info, x));
  ortTail = run.catch(() => {});
  return run;
}

// Models the core cannot walk (explainer "sampling-shapley"): ONNX Runtime runs the rows the
// core lays out (the patient, then the explainer's sampled rows), and the core reads the outputs.
async function probabilitiesOnnx(used, x) {
  return (await runOnnxInTurn(used, x))[used.info.onnx.output].data;
}

async function finishOnnx(pending, explain) {
  const inputs = answered(current.model.onnxInputs(JSON.stringify(pending.features), explain));
  // The core adds "check" (base + contributions against the probability).
  return JSON.parse(current.model.finish(JSON.stringify(pending), await probabilitiesOnnx(current, inputs), explain));
}

// A tree model's result (the core's JSON) cross-checked by ONNX Runtime on the same features:
// the core decides whether they agree (its result with "check", or the problem that withholds it).
// The ONNX outputs the core compares with its own are named by the core's model info (onnx.output:
// the probabilities, or a regression's value; onnx.margin).
async function checkResult(used, r) {
  const out = await runOnnxInTurn(used, packFeatures([r], used.info.num_features));
  const { output, margin } = used.info.onnx;
  const K = r.probabilities.length, M = out[margin].dims[1];
  return JSON.parse(used.model.check(JSON.stringify(r), out[output].data.subarray(0, K), out[margin].data.subarray(0, M)));
}

// Tree models: once ONNX Runtime is up, it runs the model on rows spread over the training ranges
// of the bundle's reference (the core's warm-up rows) against the core's own table; a model whose
// ONNX file and trees disagree is not used, and a result shown meanwhile is withdrawn.
async function startOnnxChecks(used) {
  let ok = false, why = '';
  try {
    await used.sessionReady;
    const file = answered(used.model.openBatch(used.model.warmUpCsv(64), now()));
    const part = file.table(0, 1, '', 0);  // not reported
    file.delete();
    answered(part);
    const meta = JSON.parse(part.meta);
    const agree = await checkTable(used, meta, part.table, part.features, part.margins);
    ok = agree.ok && meta.rows > 0;
    why = `the model's ONNX file and its trees disagree (difference ${agree.worst.toExponential(2)})`;
  } catch (e) {
    why = 'ONNX Runtime could not run this model: ' + String(e.message || e);
  }
  used.loadCheck = ok;
  if (ok || current !== used) return;
  const text = `This model cannot be used: ${why}. Report this to your administrator.`;
  showError(text);
  M.appSetResultChecked(shownSeq, JSON.stringify({ ok: false, problems: [{ code: 'check_failed', message: text }] }));
}

let predictSeq = 0, shownSeq = 0;
// One patient: the core's result, cross-checked by ONNX Runtime. With `shown`, a tree model's
// result is handed to shown() at once while ONNX Runtime is still starting (marked "being
// checked"); the promise resolves to the checked result (or the problem that withdraws it).
async function predict(record, shown = null) {
  if (!current) throw new Error('no model loaded');
  const used = current;
  const r = JSON.parse(used.model.predict(JSON.stringify(record || {}), true));
  r.seq = ++predictSeq;
  if (!r.ok) return r;
  if (r.pending === 'onnx') {
    const done = await finishOnnx(r, true);
    if (done.ok) reportLater(done);
    return { ...done, seq: r.seq };
  }
  if (shown && !used.session) shown({ ...r, check: { ok: false, pending: true } });
  const checked = { ...(await checkResult(used, r)), seq: r.seq };
  if (checked.ok && used.loadCheck === false) return { ok: false, seq: r.seq, problems: [{ code: 'check_failed', text: 'This model failed its check against ONNX Runtime and is not used.' }] };
  if (checked.ok) reportLater(checked);
  return checked;
}

// What the test API returns: the core's result in the shape of the spec.
function publicResult(r) {
  if (!r.ok) return { ok: false, problems: r.problems };
  const ex = r.explanation;
  return {
    ok: true, probabilities: r.probabilities, classes: r.classes, predicted: r.predicted, label: r.label,
    margin: r.margin, base: ex.base, contributions: ex.contributions, fieldContributions: ex.fields,
    outputs: ex.outputs, warnings: r.warnings, features: r.features, check: r.check,
    explainer: ex.kind, unit: ex.unit, standardError: ex.standard_error,
    values: r.values, missingShare: r.missing_share, points: ex.points,
    value: r.value, conformal: r.conformal,  // regression: the predicted value; sets or intervals
  };
}

//-----------------------------------------------------------------------------
// [SECTION] Batch
//-----------------------------------------------------------------------------
// A CSV, or FHIR R4 JSON (Bundle or NDJSON): the batch worker (web/batch-worker.js) verifies the
// bundle again, scores every row with the core (or runs ONNX Runtime for models the core cannot
// walk), builds the aggregate reports, and returns one table of numbers: the page stays
// responsive however large the file. For tree models this page's ONNX Runtime session (already
// started for single patients) then checks every row, in slices (checkTable); a disagreement
// withholds the whole table, and its reports are not kept.
let worker = null, workerReady = null, workerModelLoad = null, workerSeq = 0, workerAssets = null, workerTimer = 0;
const workerCalls = new Map();

function startWorker(assets) {
  worker = new Worker(assets.batch_worker, { type: 'module' });
  worker.onmessage = ({ data }) => {
    const call = workerCalls.get(data.id);
    workerCalls.delete(data.id);
    if (call) (data.ok ? call.resolve(data) : call.reject(new Error(data.error)));
  };
  const url = (p) => new URL(p, location.href).href;
  workerReady = callWorker({ type: 'init', coreJs: url(assets.core_js), coreWasm: url(assets.core_wasm), ortUrl: url(assets.ort),
    ortWebGpuUrl: assets.ort_webgpu ? url(assets.ort_webgpu) : '',
    runtime: runtimeWanted });
}

function callWorker(message, transfer = []) {
  return new Promise((resolve, reject) => {
    const id = ++workerSeq;
    workerCalls.set(id, { resolve, reject });
    worker.postMessage({ ...message, id }, transfer);
  });
}

// The current model in the worker: one load per model, shared by every caller. `fileWaiting`:
// a file waits for this load (the worker then skips its warm-up; the file goes first).
function workerModel({ fileWaiting = false } = {}) {
  if (!worker) startWorker(workerAssets);
  const sha = current.info.sha256;
  if (!workerModelLoad || workerModelLoad.sha !== sha) {
    const message = { type: 'model', sha, bytes: current.bytes, trust, now: now(), floors: JSON.stringify(store.get('accepted', {})), warm: !fileWaiting };
    const promise = workerReady.then(() => callWorker(message));
    workerModelLoad = { sha, promise };
    promise.catch(() => { if (workerModelLoad && workerModelLoad.sha === sha) workerModelLoad = null; });
  }
  return workerModelLoad.promise;
}

// A moment after a model is ready, while the clinician reads or types, the worker starts (its
// ONNX Runtime compiles, it verifies the model) so that the first file opened is scored at once.
function prepareWorkerWhenIdle() {
  clearTimeout(workerTimer);
  workerTimer = setTimeout(() => {
    const load = () => workerModel().catch((e) => console.warn('batch worker:', e.message));
    if ('requestIdleCallback' in self) requestIdleCallback(load, { timeout: 2000 }); else load();
  }, 1500);
}

async function scoreFile(name, text, { results = false } = {}) {
  if (!current) throw new Error('no model loaded');
  const used = current;
  await workerModel({ fileWaiting: true });
  const key = modelKey(used);
  const pendingAll = store.get('pending', {});
  const reported = reportingEnabled() && !(await fileSeenToday(used, text));  // a file counts once a day
  const report = reported ? { pending: pendingAll[key] ? JSON.stringify(pendingAll[key]) : '', day: today() } : null;
  let { meta, table, features, margins } = await callWorker({ type: 'score', text, now: now(), report, results });
  if (features && meta.rows) {
    const t0 = performance.now();
    const { ok, worst } = await checkTable(used, meta, table, features, margins);
    if (!ok) {
      meta = { ...meta, rows: 0, warnings: [], patients: null, results: [], report: null,
        status: `Withheld: the explanations and ONNX Runtime disagree (difference ${worst.toExponential(2)}). Report this to your administrator.` };
      table = new Float64Array(0);
    } else {
      meta.status = `Cross-checked with ONNX Runtime (max difference ${worst.toExponential(1)}; ${Math.round(performance.now() - t0)} ms on this page); ${meta.status}.`;
    }
  }
  if (meta.report) saveReports(key, meta.report.pending, meta.report.queued);  // only for results shown
  const forUi = { ...meta, results: undefined, report: undefined };
  M.appSetBatchTable(name, JSON.stringify(forUi), table);
  return meta;
}

// A tree model's batch table against the page's ONNX Runtime session for that model, every row:
// the largest difference of the probabilities, and of the margins (base + sum of contributions).
// In slices of CHECK_ROWS rows (about 10 ms each here), yielding between them, so the page keeps
// drawing.
const CHECK_ROWS = 500;
// A task of its own (a message to itself): the page may draw in between, and unlike setTimeout
// there is no 4 ms clamp after a few in a row. (scheduler.yield resumed before frames: longer gaps.)
const yieldToPage = () => new Promise((resolve) => { const c = new MessageChannel(); c.port1.onmessage = () => resolve(); c.port2.postMessage(0); });
async function checkTable(used, meta, table, features, margins) {
  const F = used.info.num_features, O = meta.outputs, S = meta.layout.stride;
  let worst = 0, ok = true;
  for (let at = 0; at < meta.rows; at += CHECK_ROWS) {
    if (at) await yieldToPage();
    const n = Math.min(CHECK_ROWS, meta.rows - at);
    const out = await runOnnxInTurn(used, features.slice(at * F, (at + n) * F));
    const { output, margin } = used.info.onnx;
    const slice = JSON.parse(used.model.checkTable(table.subarray(at * S, (at + n) * S), margins.subarray(at * O, (at + n) * O),
      out[output].data, out[margin].data, out[margin].dims[1]));
    ok = ok && slice.ok;
    worst = slice.max_abs_diff === null ? Infinity : Math.max(worst, slice.max_abs_diff);
  }
  return { ok, worst };
}

// A batch row's model-agnostic explanation, computed by the worker when the clinician asks.
async function explainRow(index) {
  const { row } = await callWorker({ type: 'explain', index: Number(index) });
  M.appSetBatchRow(Number(index), JSON.stringify(row));
  return row;
}

function openCsv() {
  const input = $('csv-file');
  input.value = '';
  input.onchange = async () => {
    const f = input.files[0];
    // A file past the core's limit is read only that far: the core refuses it with its reason.
    if (f) await scoreFile(f.name, await f.slice(0, current.info.max_patient_file_bytes + 1).text());
  };
  input.click();
}

// The Validate view's file: read here, scored and evaluated by the app's core on this device.
function openLabelled() {
  const input = $('csv-file');
  input.value = '';
  input.onchange = async () => {
    const f = input.files[0];
    if (f) M.appValidate(f.name, await f.slice(0, current.info.max_patient_file_bytes + 1).text());
  };
  input.click();
}

//-----------------------------------------------------------------------------
// [SECTION] Images
//-----------------------------------------------------------------------------
// The bundle's reference images (tensors the core made) through this page's ONNX Runtime session:
// its probability output for all of them, in order.
async function checkImagesOnnx(used) {
  const session = await used.sessionReady;
  const { name, channels, height, width } = used.info.schema.image.tensor;
  const im = used.info.imaging.model, size = channels * height * width;
  const x = answered(used.model.checkTensors());
  const out = [];
  for (let i = 0; i < im.check.images; i += im.batch ? im.check.images : 1) {
    const n = im.batch ? im.check.images : 1;
    const r = await session.run({ [name]: new ort.Tensor('float32', x.slice(i * size, (i + n) * size), [n, channels, height, width]) });
    out.push(...r[im.probabilities.output].data);
  }
  return Float32Array.from(out);
}

// Images chosen by the clinician (File objects): each is read and scored by the batch worker, one
// after another, and shown as it arrives. Nothing of them leaves the page.
let imageFiles = [];  // the files of the last opening, kept in this page for maps of other classes
async function scoreImages(files) {
  if (!current || !current.info.imaging) throw new Error('this model does not read images');
  imageFiles = files;
  M.appImagesOpened(files.length);
  await workerModel({ fileWaiting: true });
  const results = [];
  for (const f of files) {
    let reply;
    try {
      reply = await callWorker({ type: 'image', blob: f });
    } catch (e) {
      reply = { result: { ok: false, problems: [{ code: 'internal', message: String(e.message || e) }] } };
    }
    showImageResult(-1, f.name, reply);
    results.push({ file: f.name, ...reply.result });
  }
  return results;
}

function showImageResult(index, name, reply) {
  const d = reply.display || { grey: new Uint8Array(0), width: 0, height: 0 };
  M.appAddImageResult(index, name, JSON.stringify(reply.result), d.grey, d.width, d.height);
}

// Image `index` scored again with its map of class `cls` (the view's "Map of" choice).
async function explainImage(arg) {
  const { index, class: cls } = JSON.parse(arg);
  const f = imageFiles[index];
  if (!f) return null;
  let reply;
  try {
    reply = await callWorker({ type: 'image', blob: f, explained: cls });
  } catch (e) {
    reply = { result: { ok: false, problems: [{ code: 'internal', message: String(e.message || e) }] } };
  }
  showImageResult(index, f.name, reply);
  return reply.result;
}

function openImages() {
  const input = $('image-file');
  input.value = '';
  input.onchange = () => { if (input.files.length) scoreImages([...input.files]).catch((e) => showError(String(e.message || e))); };
  input.click();
}

function download(arg) {
  const { name, text } = JSON.parse(arg);
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

//-----------------------------------------------------------------------------
// [SECTION] Reporting
//-----------------------------------------------------------------------------
// Each patient's last prediction is added, randomized in the core, to a pending report for its
// model version and day. At k patients the report is queued; a queued report is sent at a random
// moment 1 minute to 6 hours later (when online), so its arrival does not tell when a clinician
// worked. Only the randomized counts are stored (never values): localStorage 'ldx.pending' and
// 'ldx.queue'; reports older than yesterday are dropped (the server takes a report only within a
// day of its date).
//
// A patient counts once: what-if edits of the same patient (core samePatient: most values shared)
// replace the held prediction; it is reported when the form is cleared, another patient is
// entered, another model is chosen, the page is hidden, or the hold time (30 minutes) passes. The
// held prediction lives in memory only. A file of patients counts once a day per model: its
// SHA-256 is remembered for two days. The times are the core's (reportTiming: drift/report.h).
const reportTiming = () => JSON.parse(M.reportTiming(now()));
function reportingEnabled() { return store.get('reporting', true); }
const modelKey = (used) => used.info.name + '@' + used.info.version;

// The clinician's result comes first: its contribution is taken right after it is returned.
const reportLater = (r) => setTimeout(() => reportPrediction(r), 0);

let held = null;  // { used, result, values, since }
let heldTimer = 0;
function reportPrediction(r) {
  if (!reportingEnabled() || !current || !r.ok) return;
  const values = JSON.stringify({ values: r.values });
  if (held && held.used === current && Date.now() - held.since < current.info.privacy.hold_seconds * 1000 &&
      JSON.parse(current.model.samePatient(held.values, values)).same) {
    held.result = r;  // a what-if edit of the same patient: only the last prediction will count
    held.values = values;
    return;
  }
  releasePatient();
  held = { used: current, result: r, values, since: Date.now() };
  heldTimer = setTimeout(releasePatient, current.info.privacy.hold_seconds * 1000);
}
// The held patient's last prediction goes into the pending report (the model is still loaded:
// this runs before a model is replaced).
function releasePatient() {
  clearTimeout(heldTimer);
  if (!held) return;
  const { used, result } = held;
  held = null;
  if (reportingEnabled()) reportPredictions(used, [result]);
}
addEventListener('visibilitychange', () => { if (document.visibilityState === 'hidden') releasePatient(); });
addEventListener('pagehide', releasePatient);

// Adds predictions to the pending reports; storage is read and written once per call.
function reportPredictions(used, results) {
  const key = modelKey(used);
  const all = store.get('pending', {});
  const { pending, queued } = addToReports(used.model, all[key] ? JSON.stringify(all[key]) : '', results, { day: today() });
  saveReports(key, pending, queued);
}

// A file's reports are kept only the first time that file is scored that day with that model.
async function fileSeenToday(used, text) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  const id = modelKey(used) + ':' + Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  const seen = store.get('files', {});
  const yesterday = new Date(Date.now() - 86400e3).toISOString().slice(0, 10);
  for (const [k, day] of Object.entries(seen)) if (day < yesterday) delete seen[k];
  const again = seen[id] === today();
  seen[id] = today();
  store.set('files', seen);
  return again;
}

// The pending report for a model version and the queue of complete ones, stored once per call.
// Each queued report gets its random sending time.
function saveReports(key, pendingText, queued) {
  const all = store.get('pending', {});
  if (pendingText) all[key] = JSON.parse(pendingText); else delete all[key];
  store.set('pending', all);
  const [lo, hi] = reportTiming().send_after_seconds.map((s) => s * 1000);
  const due = (q) => ({ ...q, due: Date.now() + lo + (crypto.getRandomValues(new Uint32Array(1))[0] / 2 ** 32) * (hi - lo) });
  store.set('queue', store.get('queue', []).concat(queued.map(due)));
  publishReporting();
  scheduleFlush();
}

// Drops what the server would refuse anyway: reports dated before the oldest day it takes, queued or pending.
function expireReports() {
  if (!M) return;
  const oldest = reportTiming().oldest_day;
  const queue = store.get('queue', []), all = store.get('pending', {});
  const kept = queue.filter((q) => q.report.day >= oldest);
  if (kept.length !== queue.length) store.set('queue', kept);
  let changed = false;
  for (const [k, r] of Object.entries(all)) if (r.day < oldest) { delete all[k]; changed = true; }
  if (changed) store.set('pending', all);
}

let flushTimer = 0;
function scheduleFlush() {
  clearTimeout(flushTimer);
  const next = Math.min(...store.get('queue', []).map((q) => q.due || 0));
  if (Number.isFinite(next)) flushTimer = setTimeout(() => flushReports(), Math.min(Math.max(0, next - Date.now()), 2 ** 31 - 1));
}

// Sends the reports whose time has come (all of them with { all: true }: the test API). Sent
// reports leave the stored queue in one write per pass. A report sent twice counts once: the
// server keys on its Idempotency-Key.
let flushing = false;
async function flushReports({ all = false } = {}) {
  expireReports();
  if (flushing || !reportingEnabled() || !navigator.onLine) return;
  flushing = true;
  const done = new Set();  // sent, or refused for good (4xx)
  const forget = () => {
    if (done.size) store.set('queue', store.get('queue', []).filter((q) => !done.has(q.key)));
    done.clear();
  };
  try {
    for (let queue = store.get('queue', []).filter((q) => all || (q.due || 0) <= Date.now()); queue.length;
      queue = store.get('queue', []).filter((q) => !done.has(q.key) && (all || (q.due || 0) <= Date.now()))) {
      for (const item of queue) {
        let res;
        try {
          res = await fetch('/api/v1/metrics', { method: 'POST', headers: { 'Content-Type': 'application/json', 'Idempotency-Key': item.key }, body: JSON.stringify(item.report) });
        } catch { return; }  // offline: keep the rest for later
        if (res.status === 429 || res.status >= 500) return;
        done.add(item.key);
      }
      forget();
    }
  } finally {
    forget();
    flushing = false;
    publishReporting();
    scheduleFlush();
  }
}
addEventListener('online', () => flushReports());

function setReporting(onOff) {
  store.set('reporting', onOff === 'on');
  if (onOff !== 'on') { store.set('pending', {}); store.set('queue', []); }
  publishReporting();
}

function publishReporting() {
  if (M) M.appSetReporting(JSON.stringify({ enabled: reportingEnabled(), pending: store.get('pending', {}), queued: store.get('queue', []).map((q) => q.report) }));
}

//-----------------------------------------------------------------------------
// [SECTION] Host functions the UI calls, and window.localdx
//-----------------------------------------------------------------------------
function announce(text) { $('live').textContent = text; }

// The Operations view's request (wasm/app/operations_view.cpp): the drift history and the current
// drift of a model, read with the operator's token. The token is only in this call's arguments
// and the request's header: nothing here stores it (no localStorage, sessionStorage, IndexedDB,
// and the service worker does not cache /api/).
async function operationsFetch(arg) {
  const { model, token, from, to } = JSON.parse(arg);
  const init = { headers: { Authorization: 'Bearer ' + token }, cache: 'no-store' };
  const q = (p) => new URLSearchParams({ model, ...p }).toString();
  try {
    const [h, c] = await Promise.all([fetch('/api/v1/drift/history?' + q({ from, to }), init), fetch('/api/v1/drift?' + q({}), init)]);
    const [ht, ct] = await Promise.all([h.text(), c.text()]);
    M.appSetOperations(h.status !== 200 ? h.status : c.status, ht, ct);
  } catch (e) {
    M.appSetOperations(0, String(e.message || e), '');
  }
}

globalThis.localdxHost = {
  async predictFromApp(recordJson) {
    let early = null;
    try {
      const r = await predict(JSON.parse(recordJson), (first) => { early = first; shownSeq = first.seq; M.appSetResult(JSON.stringify(first)); });
      if (early) M.appSetResultChecked(early.seq, JSON.stringify(r));  // marks it checked, or withdraws it
      else { shownSeq = r.seq; M.appSetResult(JSON.stringify(r)); }
    } catch (e) {
      const failed = JSON.stringify({ ok: false, problems: [{ code: 'error', message: String(e.message || e) }] });
      if (early) M.appSetResultChecked(early.seq, failed);
      else M.appSetResult(failed);
    }
  },
  openCsv,
  operationsFetch,
  openLabelled,
  openImages,
  explainImage: (arg) => { explainImage(arg).catch((e) => showError(String(e.message || e))); },
  keepCalibrator: (arg) => {
    const { sha256, calibrator } = JSON.parse(arg);
    store.set('calibrators', { ...store.get('calibrators', {}), [sha256]: calibrator });
  },
  forgetCalibrator: (sha256) => {
    const all = store.get('calibrators', {});
    delete all[sha256];
    store.set('calibrators', all);
  },
  explainRow: (index) => explainRow(index).catch((e) => showError(String(e.message || e))),
  // The frame's accessible nodes, when they changed (web/a11y.js): mirrored once the frame is done.
  a11yTree: (json) => queueMicrotask(() => applyTree(json)),
  download,
  copy: (text) => navigator.clipboard.writeText(text).catch(() => announce('Copying needs clipboard permission.')),
  // The print view: the result's summary alone on the page (app.css hides everything else in print).
  print: (text) => {
    $('print').textContent = `${text}\nPrinted ${new Date().toLocaleString()}. Computed on this device by LocalDx; no patient data left it.`;
    window.print();
  },
  announce,
  setReporting,
  formCleared: releasePatient,
  chooseModel: (name) => {
    // The address names the model only once it is loaded: a model that cannot be had leaves the current one selected.
    loadIndexAndModel(name).then((r) => { if (r && r.ok) location.hash = 'model=' + name; }).catch((e) => showError(e.message));
  },
};

// The JavaScript test API: the same functions the UI uses.
globalThis.localdx = {
  ready,
  predict: async (record) => publicResult(await predict(record)),
  explain: async (record) => publicResult(await predict(record)),
  // As the Predict button: resolves with the result as first shown (a tree model's result "being
  // checked" while ONNX Runtime starts: check.pending), else with the checked one.
  predictShown: (record) => new Promise((resolve, reject) => {
    predict(record, (first) => resolve(publicResult(first))).then((r) => resolve(publicResult(r)), reject);
  }),
  loadBundle: (url) => loadBundle(url, { source: 'loaded by URL' }),
  scoreFile: async (name, text, { results = false } = {}) => {
    const m = await scoreFile(name, text, { results });
    return { rows: m.rows, problems: m.problems, status: m.status, format: m.format, results: m.results };
  },
  scoreCsv: async (text) => globalThis.localdx.scoreFile('patients.csv', text),
  // The Image view, as its Open button does: [{name, bytes (Uint8Array or base64)}] -> each image's result.
  scoreImages: (files) => scoreImages(files.map(({ name, bytes }) => new File([typeof bytes === 'string' ? Uint8Array.from(atob(bytes), (c) => c.charCodeAt(0)) : bytes], name))),
  imageResultsCsv: () => M.appImageResultsCsv(),
  selectImage: (i) => M.appSelectImage(i),  // as a click on the image's row
  confirmImage: (i) => M.appConfirmImage(i),  // as "Yes, it is: show the result" for image i
  explainImage: (index, cls) => explainImage(JSON.stringify({ index, class: cls })),  // as the "Map of" choice
  // The tensor the model sees for a file (base64 of float32, little-endian), for the parity test.
  imageTensor: async ({ name, bytes }) => {
    await workerModel();
    const file = new File([Uint8Array.from(atob(bytes), (c) => c.charCodeAt(0))], name);
    const { tensor, result } = await callWorker({ type: 'imageTensor', blob: file });
    if (!tensor) return { ok: false, result };
    const b = new Uint8Array(tensor.buffer);
    let s = '';
    for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
    return { ok: true, tensor: btoa(s) };
  },  // what the Image view's "Export results (CSV)" saves
  // The Validate view, as its Open button does: the report (or the reasons), computed in this page.
  validateFile: (name, text) => JSON.parse(M.appValidate(name, text)),
  recalibrate: () => M.appValidateRecalibrate(),
  explainBatchRow: async (i) => publicResult(await explainRow(i)),
  model: () => (current ? { name: current.info.name, version: current.info.version, sha256: current.info.sha256, schema: current.info.schema, explainer: current.info.explainer, privacy: current.info.privacy } : null),
  formRecord: () => JSON.parse(M.appFormRecord()),
  viewState: () => JSON.parse(M.appViewState()),
  a11yTree: () => JSON.parse(M.a11yTree()),  // the accessible nodes of the last frame
  batchCsv: () => M.appBatchCsv(),  // what "Export results (CSV)" saves
  // For screenshots: the form filled and predicted as if typed, and a tab brought forward (0 patient, 1 batch, 2 card, 3 reporting, 4 validate).
  fillAndPredict: (record) => M.appFillAndPredict(JSON.stringify(record)),
  // The SMART launch (smart.js): the patient's chart (a FHIR Bundle) fills the form through the core.
  prefillFromChart: (chartText) => JSON.parse(M.appPrefillFromChart(chartText)),
  chartStatus: (text) => M.appSetChartStatus(text),
  chartWrite: (types) => M.appSetChartWrite(String(types)),  // the FHIR types Save to chart may create, space-separated
  saveToChart: () => M.appSaveToChart(),  // as "Save to chart…" then "Send to the chart"; "" when not offered
  selectTab: (tab) => M.appSelectTab(tab),
  explainClass: (c) => M.appExplainClass(c),  // as the result's "class explained" choice (multi-class)
  printResult: () => M.appPrint(),  // as the result's Print button
  framesDrawn: () => M.appFramesDrawn(),
  reporting: () => ({ enabled: reportingEnabled(), pending: store.get('pending', {}), queue: store.get('queue', []) }),
  // Reporting, for the tests: send every queued report now (not at its random time), and report
  // the patient held for what-if edits now (as clearing the form does).
  flushReports: () => flushReports({ all: true }),
  releasePatient,
  // Resolves when the batch worker and its helper hold the current model and have warmed up, as
  // they have a moment after the model is ready. A file opened before then waits only for the
  // model to be verified there.
  batchReady: async () => { await workerModel(); await callWorker({ type: 'ready' }); return true; },
  // Benchmark hooks (scripts/bench): time the core alone and ONNX Runtime alone, in this page.
  timeCore: (records, repeats = 1) => {
    const ms = [];
    for (let k = 0; k < repeats; k++)
      for (const r of records) { const t0 = performance.now(); current.model.predict(JSON.stringify(r), true); ms.push(performance.now() - t0); }
    return ms;
  },
  // The current bundle verified again from its bytes (signature, hashes, trees read), and loaded
  // again as the page does (download from the server or its cache, verify, keep for offline).
  timeBundleLoad: async (repeats = 5) => {
    const verify = [];
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      const checked = M.loadBundle(current.bytes, trust, now(), '{}');
      if (answered(checked) && !checked.ok()) throw new Error('the bundle was refused: ' + checked.error());
      answered(checked.model()).delete();
      checked.delete();
      verify.push(performance.now() - t0);
    }
    const entry = index.models.find((m) => m.name === current.info.name);
    const t0 = performance.now();
    const loaded = await loadBundle(entry.url, { source: 'loaded again (benchmark)' });
    if (!loaded.ok) throw new Error('the bundle did not load again: ' + loaded.error);
    return { bytes: current.bytes.length, verify, load: performance.now() - t0 };
  },
  timeOrt: async (runs = 200) => {
    const t0 = performance.now();
    const session = await ort.InferenceSession.create(answered(current.model.onnx()), { executionProviders: ['wasm'] });
    const create = performance.now() - t0;
    const x = new Float32Array(current.info.num_features).fill(0.5);
    const ms = [];
    for (let i = 0; i < runs; i++) { const t = performance.now(); await session.run({ input: new ort.Tensor('float32', x, [1, x.length]) }); ms.push(performance.now() - t); }
    return { create, run: ms };
  },
};

start().then(() => readyResolve(true), (e) => { fail('LocalDx could not start: ' + e.message); readyReject(e); });
