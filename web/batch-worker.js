// web/batch-worker.js — the batch view's work, off the UI thread (a module worker).
//
// Index of this file
//   [SECTION] Start-up (core wasm, ONNX Runtime Web), the model (verified again here), warm-up
//   [SECTION] The helper: a second copy of this worker (core only) scoring parts of each file
//   [SECTION] Scoring a file (CSV or FHIR): the core's table, with what the page's ONNX Runtime
//             checks (trees), or ONNX Runtime alone and the core's table from its outputs (other models)
//   [SECTION] One row's model-agnostic explanation, on demand
//   [SECTION] Images (imaging models): decoded here, preprocessed by the core, run in stages
//
// The page sends the bundle bytes it verified; this worker verifies them again with its own copy
// of the core (the same C++), runs the whole batch and returns numbers the UI draws directly, so
// a 10,000-patient file never blocks the page (for tree models the page's ONNX Runtime session
// then checks every row, in slices: predict.js, checkTable). While it does, the page's thread is
// idle: so a helper (this same script, without ONNX Runtime) scores parts of each file on the
// other core. Nothing here talks to the network.
'use strict';
import { mergePartReports, randomSeed } from './reports.js';
import { packFeatures, runOnnx as run } from './onnx.js';
import { compiledWasm } from './compile.js';
import { watchFetches } from './downloads.js';
// A core call that failed as a call throws, in the core's words, to the message's own failed reply:
// every failed reply is the core's envelope {ok: false, problems} (web/answers.js).
import { answered, Refused, failureOf, problemIn, sentenceIn } from './answers.js';

let core = null, ort = null, model = null, info = null, session = null, sha = '';
let retired = null;  // the model replaced last (freed when the next one replaces it)
// What only the worker notices, in the core's words (shared/client/page_words.h): the envelope.
const workerProblem = (id, detail = '') => problemIn(core, id, detail);
let sessionReady = Promise.resolve();  // resolves once ONNX Runtime holds the current model (models the core cannot walk)
let prepared = Promise.resolve();      // resolves once the current model's session and warm-up are done
let last = null;  // the last batch's rows (core JSON), for on-demand explanations
let helper = null;  // the helper worker (The helper, below): { call(message), useModel(message), sha } or null

//-----------------------------------------------------------------------------
// [SECTION] Start-up and the model
//-----------------------------------------------------------------------------
// The page's worker gets ortUrl; its helper does not (it only scores parts of files).
let ortUrl = '', ortWebGpuUrl = '', runtimeWanted = 'auto';
async function init(message) {
  const { coreJs, coreWasm } = message;
  ortUrl = message.ortUrl || '';
  ortWebGpuUrl = message.ortWebGpuUrl || '';
  runtimeWanted = message.runtime || 'auto';
  if (ortUrl) watchOrtDownloads();
  if (ortUrl && (self.navigator.hardwareConcurrency || 1) >= 2) helper = startHelper({ coreJs, coreWasm });
  const wasm = compiledWasm(coreWasm);  // compiles while the core's script loads
  const { default: createLocalDxCore } = await import(coreJs);
  core = await Promise.race([createLocalDxCore({ instantiateWasm: wasm.instantiateWasm }), wasm.failed]);
}

// ONNX Runtime's downloads (its modules and wasm, web/downloads.js), when it is started here. One of
// its wasm build that stops arriving is told to the page ({ type: 'stalled', ...the core's envelope
// }), which ends this worker and fails what waits on it in those words (batch.js); the next file or
// images opened start a worker that fetches them afresh (ONNX Runtime keeps a failed start as its
// answer, and a module whose download hung stays hung for this worker). Its WebGPU build (27 MB,
// optional, not precached) that stops arriving is given up for this worker's life: the images run
// on the wasm build (startOnnx). The core's own wasm is not ONNX Runtime's: its fetch is left as is.
// A stall while the model is a tree model (the clinician chose one meanwhile) is kept, not told:
// nothing of that model waits on ONNX Runtime, and its file must not be refused for it; it is told
// when a model that needs ONNX Runtime is loaded here again (useModel).
let watchedImport = (promise) => promise, watchedGpuImport = (promise) => promise;
let gpuStalled = false, ortStalled = false, stallTold = false;
const isGpuFile = (url) => /\/ort\.webgpu\.|\.asyncify\./.test(url);
const needsOrt = () => info && info.explainer !== 'treeshap';
function tellStalled() {
  if (!stallTold) self.postMessage({ type: 'stalled', ...workerProblem('files_stalled') });
  stallTold = true;
}
function watchOrtDownloads() {
  const folder = new URL('.', ortUrl).href;
  watchedImport = watchFetches(self, () => {
    ortStalled = true;
    if (needsOrt()) tellStalled();
  }, (url) => url.startsWith(folder) && !isGpuFile(url));
  watchedGpuImport = watchFetches(self, () => { gpuStalled = true; }, (url) => url.startsWith(folder) && isGpuFile(url));
}
// ONNX Runtime's glue module for a build (the same address ONNX Runtime imports it from: it then
// finds it loaded), imported with it so that its download is watched too.
const glueOf = (url, build) => new URL(build, url).href;

// ONNX Runtime is needed here only for models the core cannot walk (it runs them): a tree model's
// batch table is cross-checked by the page's own ONNX Runtime session, so this worker does not
// start ONNX Runtime's 14 MB for it. The session is created while the model is already usable.
// An imaging model runs on the GPU (ONNX Runtime's WebGPU build) when the browser offers a hardware
// WebGPU adapter and that build can be loaded; otherwise, and offline before it was ever loaded, on
// wasm. A software adapter (SwiftShader) is passed over: it was 20 times slower than wasm here.
// The page's address can choose (#runtime=wasm, or #runtime=webgpu for any adapter, software too).
let runtime = 'wasm';
async function startOnnx(onnx, imaging) {
  if (imaging && ortWebGpuUrl && self.navigator.gpu && runtimeWanted !== 'wasm' && !gpuStalled) {
    try {
      const adapter = await self.navigator.gpu.requestAdapter();
      const software = !adapter || (adapter.info && adapter.info.isFallbackAdapter);
      if (adapter && (!software || runtimeWanted === 'webgpu')) {
        const [gpu] = await watchedGpuImport(Promise.all([import(ortWebGpuUrl), import(glueOf(ortWebGpuUrl, 'ort-wasm-simd-threaded.asyncify.mjs'))]));
        const session = await gpu.InferenceSession.create(onnx, { executionProviders: ['webgpu', 'wasm'] });
        ortFor = gpu;
        runtime = 'webgpu';
        return session;
      }
    } catch (e) {
      console.warn('WebGPU unavailable, ONNX Runtime runs on wasm:', e.message);
    }
  }
  if (!ort) {
    [ort] = await watchedImport(Promise.all([import(ortUrl), import(glueOf(ortUrl, 'ort-wasm-simd-threaded.mjs'))]));
    // A CNN's convolutions split over threads when the page is cross-origin isolated (shared
    // memory): for images, up to 4; a tabular model's single rows gain nothing from them.
    ort.env.wasm.numThreads = imaging && self.crossOriginIsolated ? Math.min(4, self.navigator.hardwareConcurrency || 1) : 1;
  }
  ortFor = ort;
  runtime = 'wasm';
  return ort.InferenceSession.create(onnx, { executionProviders: ['wasm'] });
}
let ortFor = null;  // the ONNX Runtime build that holds the session

async function useModel({ bytes, trust, now, floors, warm = true }) {
  if (helper) await helper.started;
  const helped = helper ? helper.useModel({ sha: '', bytes, trust, now, floors, warm }) : null;  // verifies at the same time
  const checked = answered(core.loadBundle(bytes, trust, now, floors));
  if (!checked.ok()) { const why = JSON.parse(checked.error()).problems[0].message; checked.delete(); throw new Refused(workerProblem('worker_refused', why)); }
  // The model replaced last is freed now (as on the page): at most one retired model stays.
  if (retired) retired.delete();
  retired = model;
  model = answered(checked.model());
  checked.delete();
  info = JSON.parse(model.info());
  session = null;
  sha = info.sha256;
  const forSha = sha;
  if (ortStalled && needsOrt()) tellStalled();  // ends this worker (batch.js): the next one fetches afresh
  sessionReady = ortUrl && info.explainer !== 'treeshap' ? startOnnx(answered(model.onnx()), info.imaging !== null).then((s) => { if (sha === forSha) session = s; }) : Promise.resolve();
  sessionReady.catch(() => {});  // reported by whatever waits for it
  prepared = info.explainer !== 'treeshap' ? sessionReady.catch(() => {}) : warm ? pause().then(() => sha === forSha && warmUp(now)).catch(() => {}) : Promise.resolve();
  if (helped && (await helped) !== sha && helper) console.warn('batch helper: it holds another model; files are scored on one thread');
}

// Once a tree model is ready, while the clinician picks a file: a small made-up file (core:
// warmUpCsv) through the same path, so that V8 has optimized the batch code before the first
// real file (which was otherwise about a quarter slower than the next ones). In ten slices of 50
// rows (the core walks 32 rows or more 8 at a time, as it does a file's parts of 500): a
// real file that arrives meanwhile stops it. Nothing of it is kept or reported. When a file is
// already waiting for the model (the page says so: `warm` false), there is no warm-up: the file
// itself is the first work, and a slice in progress would only delay it.
const WARM_UP_ROWS = 500, WARM_UP_SLICES = 10;
let filesSeen = 0;  // files (or parts of files) asked for so far
const pause = () => new Promise((resolve) => setTimeout(resolve, 0));

// Runs fn(file) on the text read once by the core (model.openBatch), and frees it after.
// fn(file, ms): ms is the time the core took to read it.
async function withBatchFile(text, now, fn) {
  const t0 = performance.now();
  const file = answered(model.openBatch(text, now));
  try { return await fn(file, performance.now() - t0); } finally { file.delete(); }
}

function warmUp(now) {
  const seen = filesSeen;
  return withBatchFile(model.warmUpCsv(WARM_UP_ROWS), now, async (file) => {
    for (let i = 0; i < WARM_UP_SLICES && filesSeen === seen; i++) {
      answered(file.table(i, WARM_UP_SLICES, '', 0));  // not reported
      await pause();
    }
  });
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
  const call = (message, transfer = []) => new Promise((resolve, reject) => {
    const id = ++seq;
    calls.set(id, { resolve, reject });
    w.postMessage({ ...message, id }, transfer);
  });
  w.onmessage = ({ data }) => {
    const c = calls.get(data.id);
    calls.delete(data.id);
    if (c) (data.ok ? c.resolve(data) : c.reject(new Refused(data)));
  };
  const h = { call, sha: '', started: null };
  const giveUp = (e) => {
    console.warn('batch helper:', e.message || e);
    for (const c of calls.values()) c.reject(new Error('the batch helper stopped'));
    calls.clear();
    if (helper === h) helper = null;
  };
  w.onerror = (e) => { e.preventDefault(); giveUp(e); };
  // Its start needs this thread now and then (fetching its script): long synchronous work here
  // (verifying a bundle) waits for it, so that both verify at the same time.
  h.started = call({ type: 'init', coreJs, coreWasm }).catch(giveUp);
  // Resolves to the sha256 of the model the helper then holds ('' if it failed: it is dropped).
  // Posted at once: the helper takes it as soon as it has started, while this worker verifies.
  h.useModel = (message) => {
    h.sha = '';
    return call({ type: 'model', ...message }).then((d) => { h.sha = d.sha; return d.sha; }, (e) => { giveUp(e); return ''; });
  };
  return h;
}

// A file is scored in the parts the core counts (file.parts()). This worker and the helper take
// the next part from a shared counter (Atomics on a SharedArrayBuffer: the page is cross-origin
// isolated), so whichever thread is free scores it, and neither waits for the other at the end.
// Without shared memory the helper takes the second half. Each thread reads the file once
// (withBatchFile) and counts the same parts.
const partCount = (file) => answered(file.parts());

// The parts this thread scores: taken from `next`, or else the first half, the second or all.
// With `port` (the page's, for this thread): each part's features are posted there as soon as the
// part is scored, so that the page's ONNX Runtime runs them while the rest is being explained.
function takeParts(file, { next = null, half = 'all', reportDay = '', port = null }) {
  const count = partCount(file), mid = Math.ceil(count / 2);
  let [i, to] = half === 'first' ? [0, mid] : half === 'second' ? [mid, count] : [0, count];
  const claim = next ? () => Atomics.add(next, 0, 1) : () => (i < to ? i++ : count);
  const done = [];
  // Each part's predictions go into its own reports (reportDay set), randomized in the core from a fresh seed.
  for (let index = claim(); index < count; index = claim()) {
    const part = answered(file.table(index, count, reportDay, reportDay ? randomSeed() : 0));
    if (port) { const features = part.features.slice(); port.postMessage({ index, count, features }, [features.buffer]); }
    done.push({ index, part });
  }
  return done;
}

// The file's table, joined from the parts both threads scored; `threads` says how many did.
// `ports`: the page's two ports for parts' features as they are scored (this thread's, the helper's).
async function tableInParts(text, now, reportDay = '', ports = []) {
  const h = helper && helper.sha === sha ? helper : null;
  const next = h && typeof SharedArrayBuffer === 'function' ? new Int32Array(new SharedArrayBuffer(4)) : null;
  const [port = null, theirPort = null] = ports;
  const asked = h ? h.call({ type: 'parts', text, now, next, half: 'second', reportDay, port: theirPort }, theirPort ? [theirPort] : []) : null;
  const theirs = asked ? asked.then((d) => d.parts, () => []) : Promise.resolve([]);
  return withBatchFile(text, now, async (file, readMs) => {
    const timing = { read_ms: readMs };
    const t0 = performance.now();
    const parts = new Array(partCount(file));
    const mine = takeParts(file, { next, half: h ? 'first' : 'all', reportDay, port });
    for (const p of mine) parts[p.index] = p.part;
    const t1 = performance.now();
    const helped = await theirs;
    const t2 = performance.now();
    for (const p of helped) parts[p.index] = p.part;
    for (let i = 0; i < parts.length; i++) if (!parts[i]) parts[i] = answered(file.table(i, parts.length, reportDay, reportDay ? randomSeed() : 0));  // the helper stopped: its parts here
    // Joined in part order by the core (meta, warnings, patients, problems, tables; the parts' reports listed).
    const joined = answered(core.joinBatchParts(parts));
    const meta = JSON.parse(joined.meta);
    Object.assign(timing, { parts_ms: t1 - t0, parts: mine.length, helper_wait_ms: t2 - t1, join_ms: performance.now() - t2 });
    if (asked) Object.assign(timing, await asked.then((d) => d.timing, () => ({})));
    meta.timing = timing;
    // How many parts' features were posted to the page (the helper's before its reply): it waits for them.
    meta.parts_posted = (port ? mine.length : 0) + (theirPort ? helped.length : 0);
    return { meta, table: joined.table, features: joined.features, margins: joined.margins, threads: helped.length ? 2 : 1 };
  });
}

const runOnnx = async (x) => { await sessionReady; return run(ort, session, info, x); };

//-----------------------------------------------------------------------------
// [SECTION] Scoring a file
//-----------------------------------------------------------------------------
// Tree models: the core returns the table itself (no JSON per row), and the features and margins
// the page's ONNX Runtime checks every row against (predict.js, checkTable).
async function scoreTrees({ text, now, report, ports }) {
  const t0 = performance.now();
  const r = await tableInParts(text, now, report ? report.day : '', ports);
  const ms = performance.now() - t0;
  r.meta.status = r.meta.rows ? sentenceIn(core, r.threads === 2 ? 'batch_scored_two_threads' : 'batch_scored', { ms }) : '';
  return r;
}

// Models the core cannot walk: ONNX Runtime scores every row, the core fills the same table
// (explanations on demand, from the pending rows kept in `last`).
async function score({ text, now, report }) {
  const reportDay = report ? report.day : '';
  const t0 = performance.now();
  const b = JSON.parse(model.predictBatch(text, false, now));
  const x = packFeatures(b.rows, info.num_features);
  const r = answered(model.finishBatch(JSON.stringify(b.rows), (await runOnnx(x))[info.onnx.output].data, reportDay, reportDay ? randomSeed() : 0));
  const meta = JSON.parse(r.meta);
  if (meta.ok === false) return { meta: { ...meta, problems: [...b.problems, ...meta.problems], part_reports: [], status: workerProblem('batch_withheld', meta.problems[0].message).problems[0].message }, table: r.table };
  Object.assign(meta, { problems: b.problems, format: b.format, part_reports: meta.reports ? [meta.reports] : [] });
  delete meta.reports;
  last = b.rows;
  meta.status = sentenceIn(core, 'batch_scored_onnx', { ms: performance.now() - t0 });
  return { meta, table: r.table };
}

//-----------------------------------------------------------------------------
// [SECTION] One row's model-agnostic explanation
//-----------------------------------------------------------------------------
async function explainRow({ index }) {
  const row = last[index];
  const inputs = answered(model.onnxInputs(JSON.stringify(row.features), true));
  const out = await runOnnx(inputs);
  return JSON.parse(model.finish(JSON.stringify(row), out[info.onnx.output].data, true));
}

//-----------------------------------------------------------------------------
// [SECTION] Images
//-----------------------------------------------------------------------------
// A PNG or JPEG through the browser's own decoder, as stored (no colour management, alpha kept
// apart): RGBA bytes for the core. DICOM files go to the core's DICOM reader as bytes. No canvas
// round trip where the browser offers WebCodecs: a PNG is decoded by ImageDecoder straight to its
// 8-bit pixels; a JPEG by the browser's image decoder (libjpeg-turbo: ImageDecoder would give its
// YUV planes, whose conversion to RGB is not libjpeg-turbo's), its pixels read as a VideoFrame.
// Any other frame format (16-bit) goes through the canvas.
const EIGHT_BIT = { RGBA: [0, 1, 2, false], RGBX: [0, 1, 2, true], BGRA: [2, 1, 0, false], BGRX: [2, 1, 0, true] };
async function framePixels(frame) {
  const order = EIGHT_BIT[frame.format];
  if (!order) return null;
  const { width, height } = frame.visibleRect;  // what copyTo copies by default
  const raw = new Uint8Array(frame.allocationSize());
  const [{ offset, stride }] = await frame.copyTo(raw);
  // Already the core's order, rows packed: as it is (the core reads no alpha).
  if (order[0] === 0 && stride === width * 4) return { data: raw.subarray(offset, offset + width * height * 4), width, height };
  const data = new Uint8Array(width * height * 4);
  const [r, g, b, opaque] = order;
  for (let y = 0; y < height; y++) {
    for (let x = 0, i = offset + y * stride, o = y * width * 4; x < width; x++, i += 4, o += 4) {
      data[o] = raw[i + r]; data[o + 1] = raw[i + g]; data[o + 2] = raw[i + b]; data[o + 3] = opaque ? 255 : raw[i + 3];
    }
  }
  return { data, width, height };
}

async function decodePng(bytes) {
  if (typeof ImageDecoder !== 'function') return null;
  let decoder = null, frame = null;
  try {
    decoder = new ImageDecoder({ data: bytes, type: 'image/png', colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    ({ image: frame } = await decoder.decode({ frameIndex: 0 }));
    return await framePixels(frame);
  } catch {
    return null;  // the canvas decodes it, or says why not
  } finally {
    if (frame) frame.close();
    if (decoder) decoder.close();
  }
}

async function bitmapPixels(bitmap) {
  if (typeof VideoFrame !== 'function') return null;
  let frame = null;
  try {
    frame = new VideoFrame(bitmap, { timestamp: 0 });
    return await framePixels(frame);
  } catch {
    return null;
  } finally {
    if (frame) frame.close();
  }
}

async function decodeRaster(blob, bytes, format) {
  const png = format === 'png' ? await decodePng(bytes) : null;
  if (png) return png;
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  try {
    const read = format === 'jpeg' ? await bitmapPixels(bitmap) : null;  // opaque: nothing to premultiply
    if (read) return read;
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const g = canvas.getContext('2d', { willReadFrequently: true });
    g.drawImage(bitmap, 0, 0);
    return g.getImageData(0, 0, canvas.width, canvas.height);
  } finally {
    bitmap.close();
  }
}

// One image: decoded, preprocessed by the core, then the runs the core asks for (the image and
// its map, occlusion squares for models without a map output, the deletion curve), at most 32
// images per ONNX Runtime call. Returns the core's result and the grey image to show.
// The core's job for one file (null and the reason when the browser cannot decode it).
async function startImage(blob, frame = 0) {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  // The core tells the format from the first bytes and refuses one the model does not read, or a
  // PNG or JPEG file that is damaged, cut short or too large (the reason the CLI gives).
  const kind = JSON.parse(model.imageKind(bytes));
  if (!kind.ok) return { job: null, refused: kind };
  if (kind.format === 'dicom') return jobOrRefusal(model.imageJobDicom(bytes, frame));
  let image;
  try { image = await decodeRaster(blob, bytes, kind.format); } catch { return { job: null, refused: workerProblem('image_undecodable') }; }
  const { data } = image;
  return jobOrRefusal(model.imageJob(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), image.width, image.height));
}
// A job, or the envelope of a call that failed (wasm/core/boundary.h) as the file's refusal.
const jobOrRefusal = (job) => (job.ok === false ? { job: null, refused: job } : { job });

// The tensor the model sees for a file (for the preprocessing parity test), or the reason.
async function imageTensor({ blob }) {
  const { job, refused } = await startImage(blob);
  if (!job) return { result: refused };
  try {
    return job.ok() ? { tensor: answered(job.inputs(1)) } : { result: JSON.parse(job.error()) };
  } finally {
    job.delete();
  }
}

// One ONNX Runtime run at a time: an image's deletion curve may still be running when the next
// image (or a "Map of" choice) asks for its map.
let onnxTurn = Promise.resolve();
function runInTurn(feeds) {
  const run = onnxTurn.then(() => session.run(feeds));
  onnxTurn = run.catch(() => {});
  return run;
}

// `shown(result, display)`: called once the image and its map are known, before the deletion
// curve's runs (its result says "pending"), so that the page shows them at once.
async function scoreImage({ blob, explained = -1, frame = 0 }, shown = null) {
  await sessionReady;
  if (!session) throw new Refused(workerProblem('onnx_not_ready'));
  const t0 = performance.now();
  const { job, refused } = await startImage(blob, frame);
  if (!job) return { result: refused };
  const msRead = performance.now() - t0;  // decoded and preprocessed
  try {
    if (!job.ok()) return { result: JSON.parse(job.error()) };
    const { model: im } = info.imaging;
    const { name, channels, height, width } = info.schema.image.tensor;
    const per = im.batch ? 32 : 1;
    let first = true, msFirst = 0, shownEarly = false;
    while (answered(job.pending()) > 0) {
      const x = answered(job.inputs(per));
      const n = x.length / (channels * height * width);
      const out = await runInTurn({ [name]: new ortFor.Tensor('float32', x, [n, channels, height, width]) });
      const map = first && im.map.kind === 'cam' ? out[im.map.output].data : new Float32Array(0);
      const given = JSON.parse(job.give(out[im.probabilities.output].data, map, explained));
      if (!given.ok) return { result: given };
      if (first && im.map.kind === 'cam') msFirst = performance.now() - t0;
      first = false;
      const early = shown && given.pending > 0 ? JSON.parse(job.result()) : null;  // refused until the map is known
      if (early && early.ok) {
        const ms = performance.now() - t0;
        Object.assign(early, { ms, ms_map: ms, ms_read: msRead, runtime, header: JSON.parse(job.header()) });
        shown(early, answered(job.display()));
        shown = null;
        shownEarly = true;
      }
    }
    const result = JSON.parse(job.result());
    result.ms = performance.now() - t0;
    result.ms_map = msFirst || result.ms;  // the probability and its map (a cam model: one run)
    result.ms_read = msRead;
    result.runtime = runtime;
    result.header = JSON.parse(job.header());
    return { result, display: shownEarly ? null : answered(job.display()) };  // the page has it
  } finally {
    job.delete();
  }
}

let started = null;  // init: later messages (the helper gets its model at once) wait for it
self.onmessage = async ({ data }) => {
  const reply = (body, transfer = []) => self.postMessage({ id: data.id, ...body }, transfer);
  try {
    if (data.type === 'init') { started = init(data); await started; reply({ ok: true }); return; }
    await started;
    if (data.type === 'score' || data.type === 'parts') filesSeen++;
    if (data.type === 'model') { if (!data.sha || data.sha !== sha) await useModel(data); reply({ ok: true, sha }); }
    else if (data.type === 'ready') {  // prepared, here and in the helper
      await prepared;
      if (helper) await helper.call({ type: 'ready' }).catch(() => {});
      reply({ ok: true });
    }
    else if (data.type === 'parts') {
      const { parts, timing } = await withBatchFile(data.text, data.now, (file, readMs) => {
        const t0 = performance.now();
        const parts = takeParts(file, data);
        return { parts, timing: { helper_read_ms: readMs, helper_parts_ms: performance.now() - t0, helper_parts: parts.length } };
      });
      reply({ ok: true, parts, timing }, parts.flatMap(({ part }) => [part.table.buffer, part.features.buffer, part.margins.buffer]));
    } else if (data.type === 'score') {
      const { meta, table, features, margins } = info.explainer === 'treeshap' ? await scoreTrees(data) : await score(data);
      // The reports were made from the predictions as they were scored (the core's, per part): joined here.
      if (data.report) meta.report = mergePartReports(model, data.report.pending, meta.part_reports || [], data.report);
      delete meta.part_reports;
      if (data.results) meta.results = Array.from({ length: meta.rows }, (_, i) => ({
        row: table[i * meta.layout.stride + meta.layout.row], patient: meta.patients ? meta.patients[i] : undefined,
        probabilities: Array.from(table.subarray(i * meta.layout.stride + meta.layout.probability, i * meta.layout.stride + meta.layout.probability + meta.classes)) }));
      reply({ ok: true, meta, table, features, margins }, [table, features, margins].filter(Boolean).map((a) => a.buffer));
    } else if (data.type === 'explain') {
      reply({ ok: true, row: await explainRow(data) });
    } else if (data.type === 'imageTensor') {
      const { tensor, result } = await imageTensor(data);
      reply({ ok: true, tensor, result }, tensor ? [tensor.buffer] : []);
    } else if (data.type === 'image') {
      // With `early`: the image and its map first (a message of its own), the deletion curve after.
      const early = data.early ? (result, display) => reply({ ok: true, early: true, result, display }, [display.grey.buffer]) : null;
      const { result, display } = await scoreImage(data, early);
      reply({ ok: true, result, display }, display ? [display.grey.buffer] : []);
    }
  } catch (e) {
    // The core's envelope; without a core (it could not start) nothing here can word it: thrown
    // uncaught, it reaches the page's worker.onerror (batch.js), whose core does.
    if (core) reply(failureOf(core, e));
    else setTimeout(() => { throw e; });
  }
};
