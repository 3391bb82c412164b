// web/test-hooks.js — the test and benchmark hooks: window.localdx's functions for the browser
// tests (tests/e2e/) and scripts/bench (tests/bench/). Not part of a clinician's page.
//
// Loaded by page.js only when globalThis.__localdxTestHooks === true before the page's scripts
// run, which Playwright's addInitScript does for the tests and the benchmark (tests/e2e/harness.mjs:
// launch() and testHooks()). No address, setting or stored value of the page sets it, and the
// service worker does not precache this file. page.js resolves window.localdx.ready only once
// these are on window.localdx.
//
// Index of this file
//   [SECTION] The test API (the same functions the UI uses)
//   [SECTION] Benchmark hooks (scripts/bench): the core alone, a bundle's load, ONNX Runtime alone
'use strict';
import { page, store, now, answered } from './page-state.js';
import { loadBundle } from './bundles.js';
import { predict, publicResult } from './predict.js';
import { callWorker, workerModel, scoreFile, scoreImages, explainImage, explainRow } from './batch.js';
import { reportingEnabled, flushReports, releasePatient } from './reporting.js';
import { validate } from './files.js';
import { lastImageValidation } from './validate-images.js';
import { committed, restoredTimes, askRenderWorker } from './render.js';

//-----------------------------------------------------------------------------
// [SECTION] The test API
//-----------------------------------------------------------------------------
// The page's own canvas context's WEBGL_lose_context (when the page draws: render.js), kept: it
// is not to be had from a lost context.
let pageLoser = null;
function pageGl() {
  pageLoser = pageLoser || document.getElementById('canvas').getContext('webgl2').getExtension('WEBGL_lose_context');
  return pageLoser;
}

Object.assign(globalThis.localdx, {
  predict: async (record) => publicResult(await predict(record)),
  explain: async (record) => publicResult(await predict(record)),
  // As the Predict button: resolves with the result as first shown (a tree model's result "being
  // checked" while ONNX Runtime starts: check.pending), else with the checked one.
  predictShown: (record) => new Promise((resolve, reject) => {
    predict(record, (first) => resolve(publicResult(first))).then((r) => resolve(publicResult(r)), reject);
  }),
  loadBundle: (url) => loadBundle(url, { source: 'loaded by URL' }),
  onnxSessionsHeld: async () => (await (await page.ortReady).workerState()).sessions,  // this page's, in ONNX Runtime's worker
  // ONNX Runtime's worker: { sessions (this page's), all (every page's), pages, since (its start) }.
  onnxWorker: async () => (await page.ortReady).workerState(),
  scoreFile: async (name, text, { results = false } = {}) => {
    const m = await scoreFile(name, text, { results });
    return { rows: m.rows, problems: m.problems, status: m.status, format: m.format, results: m.results, timing: m.timing, part_rows: m.part_rows };
  },
  scoreCsv: async (text) => globalThis.localdx.scoreFile('patients.csv', text),
  // The Image view, as its Open button does: [{name, bytes (Uint8Array or base64)}] -> each image's result.
  scoreImages: (files) => scoreImages(files.map(({ name, bytes }) => new File([typeof bytes === 'string' ? Uint8Array.from(atob(bytes), (c) => c.charCodeAt(0)) : bytes], name))),
  imageResultsCsv: () => page.M.appImageResultsCsv(),  // what the Image view's "Export results (CSV)" saves
  selectImage: (i) => page.M.appSelectImage(i),  // as a click on the image's row
  confirmImage: (i) => page.M.appConfirmImage(i),  // as "Yes, it is: show the result" for image i
  explainImage: (index, cls, frame = 0) => explainImage(JSON.stringify({ index, class: cls, frame })),  // as the "Map of" and "Frame" choices
  // The tensor the model sees for a file (base64 of float32, little-endian), for the parity test.
  imageTensor: async ({ name, bytes }) => {
    await workerModel();
    const file = new File([Uint8Array.from(atob(bytes), (c) => c.charCodeAt(0))], name);
    const { tensor, result } = await callWorker({ type: 'imageTensor', blob: file });
    if (!tensor) return result;  // the core's envelope: why the file was refused
    const b = new Uint8Array(tensor.buffer);
    let s = '';
    for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
    return { ok: true, tensor: btoa(s) };
  },
  // The Validate view, as its Open button does: the report (or the reasons), computed in this page.
  validateFile: (name, text) => validate(name, text),
  recalibrate: () => page.M.appValidateRecalibrate(),
  // An imaging model's Validate view, after its Open button: {ok, report | problems, outputs} of the last run.
  imageValidation: () => lastImageValidation(),
  explainBatchRow: async (i) => publicResult(await explainRow(i)),
  formRecord: () => JSON.parse(page.M.appFormRecord()),
  viewState: () => JSON.parse(page.M.appViewState()),
  a11yTree: () => JSON.parse(page.M.a11yTree()),  // the accessible nodes of the last frame
  batchCsv: () => page.M.appBatchCsv(),  // what "Export results (CSV)" saves
  // For screenshots: the form filled and predicted as if typed, and a tab brought forward (0 patient, 1 batch, 2 card, 3 reporting, 4 validate).
  fillAndPredict: (record) => page.M.appFillAndPredict(JSON.stringify(record)),
  saveToChart: () => page.M.appSaveToChart(),  // as "Save to chart…" then "Send to the chart"; "" when not offered
  selectTab: (tab) => page.M.appSelectTab(tab),
  explainClass: (c) => page.M.appExplainClass(c),  // as the result's "class explained" choice (multi-class)
  printResult: () => page.M.appPrint(),  // as the result's Print button
  framesDrawn: () => page.M.appFramesDrawn(),
  framesRendered: () => page.M.appFramesRendered(),  // of those, the frames that drew into the canvas
  // The canvas's WebGL context wherever it draws (web/render.js): in the render worker, or the
  // page's own. lose() and restore() as a GPU process restart does (WEBGL_lose_context); restore()
  // resolves once the app was told (frame_loop.cpp, display_restored). inspect(): whether it is
  // lost, has a program in use, and its GL error.
  display: {
    offscreen: () => page.render !== null,
    lose: () => (page.render ? askRenderWorker(page.render, 'lose') : pageGl().loseContext()),
    restore: async () => {
      if (page.render) {
        const seen = restoredTimes.count;
        await askRenderWorker(page.render, 'restore');
        while (restoredTimes.count === seen) await new Promise((r) => setTimeout(r, 10));
        return;
      }
      const canvas = document.getElementById('canvas');
      await new Promise((resolve) => {
        canvas.addEventListener('webglcontextrestored', () => setTimeout(resolve, 0), { once: true });
        pageGl().restoreContext();
      });
    },
    inspect: () => {
      if (page.render) return askRenderWorker(page.render, 'inspect').then(({ lost, program, error }) => ({ lost, program, error }));
      const c = document.getElementById('canvas').getContext('webgl2');
      return { lost: c.isContextLost(), program: c.getParameter(c.CURRENT_PROGRAM) !== null, error: c.getError() };
    },
    // When the worker committed each of the canvas's last frames (render.js); [] when the page draws.
    committed: () => committed.slice(),
    // The frames posted to the worker and not yet committed or dropped (0 when the page draws).
    inFlight: () => (page.render ? page.render.inFlight | 0 : 0),
  },
  reporting: () => ({ enabled: reportingEnabled(), pending: store.get('pending', {}), queue: store.get('queue', []) }),
  // Reporting, for the tests: send every queued report now (not at its random time), and report
  // the patient held for what-if edits now (as clearing the form does).
  flushReports: () => flushReports({ all: true }),
  releasePatient,
  // Resolves when the batch worker and its helper hold the current model and have warmed up, as
  // they have a moment after the model's first result is checked (batch.js, prepareWorkerWhenIdle);
  // asked for sooner, it starts them. A file opened before then waits only for the model to be
  // verified there.
  batchReady: async () => { await workerModel(); await callWorker({ type: 'ready' }); return true; },
});

//-----------------------------------------------------------------------------
// [SECTION] Benchmark hooks (scripts/bench)
//-----------------------------------------------------------------------------
Object.assign(globalThis.localdx, {
  // The core alone: each record's prediction with its explanation, in ms.
  timeCore: (records, repeats = 1) => {
    const ms = [];
    for (let k = 0; k < repeats; k++)
      for (const r of records) { const t0 = performance.now(); page.current.model.predict(JSON.stringify(r), true); ms.push(performance.now() - t0); }
    return ms;
  },
  // The current bundle verified again from its bytes (signature, hashes, trees read), and loaded
  // again as the page does (download from the server or its cache, verify, keep for offline).
  timeBundleLoad: async (repeats = 5) => {
    const verify = [];
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      const checked = page.M.loadBundle(page.current.bytes, page.trust, now(), '{}');
      if (answered(checked) && !checked.ok()) throw new Error('the bundle was refused: ' + checked.error());
      answered(checked.model()).delete();
      checked.delete();
      verify.push(performance.now() - t0);
    }
    const entry = page.index.models.find((m) => m.name === page.current.info.name);
    const t0 = performance.now();
    const loaded = await loadBundle(entry.url, { source: 'loaded again (benchmark)' });
    if (!loaded.ok) throw new Error('the bundle did not load again: ' + loaded.problems[0].message);
    return { bytes: page.current.bytes.length, verify, load: performance.now() - t0 };
  },
  // ONNX Runtime alone: a session of the model created, and one row run `runs` times, in ms.
  timeOrt: async (runs = 200) => {
    const ort = await page.ortReady;
    const t0 = performance.now();
    const session = await ort.InferenceSession.create(answered(page.current.model.onnx()).slice(), { executionProviders: ['wasm'] });
    const create = performance.now() - t0;
    const ms = [];
    // Each run's input is handed to ONNX Runtime's worker (its buffer moves there): a fresh one each time.
    for (let i = 0; i < runs; i++) {
      const x = new Float32Array(page.current.info.num_features).fill(0.5);
      const t = performance.now();
      await session.run({ input: new ort.Tensor('float32', x, [1, x.length]) });
      ms.push(performance.now() - t);
    }
    return { create, run: ms };
  },
});
