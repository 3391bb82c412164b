// web/page.js — the page's script: start-up (assets, the core + UI module, the service worker;
// ONNX Runtime's worker is started by early.js), the host bridge installed for the app, and window.localdx (what
// smart.js reads).
//
// Index of this file
//   [SECTION] Start-up (assets, core + UI module, ONNX Runtime, service worker)
//   [SECTION] window.localdx, and the test hooks (loaded only when a test asks)
//
// Everything about a patient stays in this page: the core (C++ compiled to wasm) validates,
// preprocesses, walks the trees and explains; ONNX Runtime Web runs the bundle's model from our
// own origin. The only requests are for the app's files, the signed models index, bundles and
// aggregate reports. The page's other modules, by concern:
//   early.js       assets.json and ONNX Runtime's worker (onnx-worker.js), started before everything else
//   page-state.js  what they share (the core, ONNX Runtime, the model in use, storage)
//   answers.js     the core's failure envelope and words (shared with the workers and launch.html)
//   bundles.js     the signed models index and a bundle's verification, rollback floor, offline copy
//   predict.js     one patient's prediction and the ONNX Runtime cross-check
//   batch.js       the batch worker: files of patients and images
//   files.js       file pickers and downloads
//   reporting.js   aggregate reports, queued and sent
//   host.js        the functions the wasm app calls (globalThis.localdxHost)
//   render.js      the canvas moved to the render worker (render-worker.js), where the browser can
//                  draw WebGL2 on an OffscreenCanvas
'use strict';
import { assetsReady, ortReady, firstIndexText, openingModel } from './early.js';  // first: it starts ONNX Runtime's worker (early.js)
import { page, $, announce, pageProblem, afterFirstCheck } from './page-state.js';
import { startA11y } from './a11y.js';
import { loadIndexAndModel, prefetchBundle } from './bundles.js';
import { flushReports } from './reporting.js';
import { host } from './host.js';
import { compiledWasm } from './compile.js';
import { answered } from './answers.js';
import { startRenderWorker, drawOnPageFromNowOn } from './render.js';

globalThis.localdxHost = host;

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

// The app (page.M) started: what waits for its words.
let appIsUp;
const appStarted = new Promise((resolve) => { appIsUp = resolve; });

async function start() {
  // Everything the first prediction needs is requested at once: the models index (asked for by
  // early.js) and the bundle it names download while the modules compile (the index is verified,
  // and the bundle checked against it, once the core is there).
  const wanted = openingModel();  // the address's, else the last opened (early.js)
  const indexText = firstIndexText;
  const bundle = prefetchBundle(indexText, wanted);
  const trustText = fetch('trust.json').then((r) => r.text());  // needed once the app is up
  trustText.catch(() => {});  // met where it is awaited
  const assets = await assetsReady;
  const fontBytes = fetch(assets.font).then((r) => r.arrayBuffer());
  page.assets = assets;  // the batch worker starts once the first model is ready (batch.js, prepareWorkerWhenIdle)
  // The app's wasm compiles while its script downloads; ONNX Runtime is already starting in its
  // own worker (early.js, onnx-worker.js), and nothing here waits for it. (Started here, once the
  // page's modules have loaded, not by early.js as the page opens: on two cores that earlier start
  // shared them with a new ONNX Runtime worker's and put the form off; docs/benchmarks.md.)
  const app = compiledWasm(assets.app_wasm);
  const script = loadScript(assets.app_js);
  app.compiled.then(() => performance.mark('localdx:app-compiled'), () => {});
  page.ortReady = ortReady.then((ort) => { page.ort = ort; return ort; });
  page.ortReady.catch(() => {});  // reported by the model's check (predict.js, startOnnxChecks)
  await script;
  performance.mark('localdx:app-script-loaded');
  // The canvas's frames are drawn by the render worker where the browser can (render.js); the app
  // posts them to it (Module.ldxRenderWorker) from its first frame.
  page.render = startRenderWorker($('canvas'), assets.render_worker, {
    restored: () => page.M?.appDisplayRestored(),  // before the app: its start makes the renderer
    // The worker cannot draw: this tab draws on the page from its next load on, and the canvas's
    // place is given to words that say to reload (in the core's words, once the app is there),
    // with what was typed on the form, so that nothing typed is lost (it is kept nowhere else).
    failed: (reason) => {
      console.warn('render worker:', reason);
      const id = drawOnPageFromNowOn() ? 'render_worker_failed' : 'render_worker_refused';
      appStarted.then(() => host.displayFailed(pageProblem(id).problems[0].message, page.M.appFormText()));
    },
  });
  page.M = await Promise.race([createLocalDxApp({ canvas: $('canvas'), instantiateWasm: app.instantiateWasm, ldxRenderWorker: page.render }), app.failed]);
  performance.mark('localdx:app-instantiated');
  appIsUp();
  const font = new Uint8Array(await fontBytes);
  startA11y(page.M);
  answered(page.M.appStart(font));  // refused: no WebGL2 renderer, the fallback text says so
  performance.mark('localdx:app-started');
  $('canvas').addEventListener('contextmenu', (e) => e.preventDefault());
  page.trust = await trustText;
  try {
    await loadIndexAndModel(wanted, indexText, bundle);
  } finally {
    registerServiceWorker(assets.version);  // a page whose model could not be loaded works offline too
  }
  flushReports();
}

// The service worker precaches everything (ONNX Runtime's 14 MB wasm included) for offline use.
// It is registered once the first model is ready and, for a tree model, once ONNX Runtime has
// started and run the model's load check (or after SW_WAIT_MS: afterFirstCheck, as the batch
// worker's start waits): on a first visit its downloads and cache writes would otherwise share the
// two cores of a small machine with ONNX Runtime's start and put the first checked result off
// (docs/benchmarks.md).
// Marked (the offline test checks the order): localdx:service-worker-registered, and
// localdx:service-worker-waited when SW_WAIT_MS ran out before the check.
const SW_WAIT_MS = 10000;
function registerServiceWorker(version) {
  if (!('serviceWorker' in navigator)) return;
  afterFirstCheck(page.current, SW_WAIT_MS)
    .then((checked) => {
      if (!checked) performance.mark('localdx:service-worker-waited');
      performance.mark('localdx:service-worker-registered');
      return navigator.serviceWorker.register('sw.js?v=' + version);
    })
    .catch((e) => console.warn('service worker:', (e && e.message) || e));
}

//-----------------------------------------------------------------------------
// [SECTION] window.localdx, and the test hooks
//-----------------------------------------------------------------------------
// The test and benchmark hooks (web/test-hooks.js, which adds to window.localdx) are loaded only
// when the page's first script finds globalThis.__localdxTestHooks === true: a value a test or
// scripts/bench sets with Playwright's addInitScript before the page loads (tests/e2e/harness.mjs).
// Nothing in the page, its address or its storage sets it: a clinician's page never loads them.
const hooks = globalThis.__localdxTestHooks === true ? import('./test-hooks.js') : null;

let readyResolve, readyReject;
const ready = new Promise((res, rej) => { readyResolve = res; readyReject = rej; });

// What the SMART launch (smart.js) reads: the page is ready, the model in use, and the chart's
// way into the app.
globalThis.localdx = {
  ready,
  model: () => (page.current ? { name: page.current.info.name, version: page.current.info.version, sha256: page.current.info.sha256, schema: page.current.info.schema, explainer: page.current.info.explainer, privacy: page.current.info.privacy } : null),
  // The SMART launch (smart.js): the patient's chart (a FHIR Bundle) fills the form through the core.
  prefillFromChart: (chartText) => JSON.parse(page.M.appPrefillFromChart(chartText)),
  chartStatus: (text) => page.M.appSetChartStatus(text),
  chartWrite: (types) => page.M.appSetChartWrite(String(types)),  // the FHIR types Save to chart may create, space-separated
};

// Ready once started, and once the test hooks (when asked for) are on window.localdx.
Promise.all([start(), hooks]).then(() => readyResolve(true), (e) => { fail('LocalDx could not start: ' + e.message); readyReject(e); });
