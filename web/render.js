// web/render.js — where the canvas's frames are drawn: in the render worker (web/render-worker.js),
// the canvas moved to it, when the browser offers WebGL2 on an OffscreenCanvas; otherwise on the
// page's thread, by the app itself (wasm/app/render_gl.cpp draws either way; this chooses, once per
// load: a tab whose render worker failed draws on the page from its next load on).
//
// Index of this file
//   [SECTION] The choice, and the canvas handed over
//   [SECTION] What the worker says
'use strict';

//-----------------------------------------------------------------------------
// [SECTION] The choice, and the canvas handed over
//-----------------------------------------------------------------------------
// Without a GPU, a WebGL canvas's frame is rasterised and read back while the thread that drew it
// waits (41-167 ms for a whole frame on the benchmark's machine): drawn by the worker, the page's
// thread never waits for it.
// (A browser may offer OffscreenCanvas with a 2D context only; the probe's context is let go at once.)
function offscreenWebgl2() {
  try {
    if (typeof OffscreenCanvas !== 'function' || !('transferControlToOffscreen' in HTMLCanvasElement.prototype)) return false;
    const probe = new OffscreenCanvas(1, 1).getContext('webgl2');
    if (probe === null) return false;
    probe.getExtension('WEBGL_lose_context')?.loseContext();
    return true;
  } catch {
    return false;
  }
}

// A tab whose render worker failed draws on the page from its next load on (sessionStorage: this
// tab, and a tab duplicated from it; the app's other tabs try the worker again).
const DRAW_ON_PAGE = 'ldx.draw-on-page';
// Remembers it; whether that held (false: the tab's storage refused, and its next load tries the
// worker again).
export function drawOnPageFromNowOn() {
  try { sessionStorage.setItem(DRAW_ON_PAGE, '1'); } catch { /* refused: read back below */ }
  return drawOnPageHere();
}
function drawOnPageHere() {
  try { return sessionStorage.getItem(DRAW_ON_PAGE) === '1'; } catch { return false; }
}

// The canvas moved to a new render worker: the worker, for the app's module (Module.ldxRenderWorker,
// which render_gl.cpp posts its frames to), or null (the app draws on the page as it always could).
// The canvas element keeps its place, events and CSS size; its width and height (which the page
// can no longer set once moved) become the size the app draws at, which Emscripten's GLFW sets and
// reads (the mouse's position in canvas pixels) and the worker applies with the next frame.
// `on`: restored() once a lost context is back, failed(reason) when the worker cannot draw (once:
// the worker is then ended).
export function startRenderWorker(canvas, url, on) {
  if (drawOnPageHere() || !offscreenWebgl2()) return null;
  const size = { width: canvas.width, height: canvas.height };
  const offscreen = canvas.transferControlToOffscreen();
  for (const k of ['width', 'height']) {
    Object.defineProperty(canvas, k, { configurable: true, get: () => size[k], set: (v) => { size[k] = Math.max(0, Math.floor(Number(v) || 0)); } });
  }
  const worker = new Worker(url);
  let ended = false;
  const told = { ...on, failed: (reason) => { if (ended) return; ended = true; worker.terminate(); on.failed(reason); } };
  worker.onmessage = (e) => heard(e.data, told, worker);
  worker.onerror = (e) => told.failed(e.message || 'the render worker stopped');
  worker.postMessage({ type: 'canvas', canvas: offscreen }, [offscreen]);
  return worker;
}

//-----------------------------------------------------------------------------
// [SECTION] What the worker says
//-----------------------------------------------------------------------------
// The canvas's last frames as committed by the worker (posted: when the app posted the frame;
// at: when the worker had committed it; both ms on the page's clock, performance.timeOrigin +
// performance.now()): for the benchmark (tests/bench/bench_browser.mjs) and the test hooks.
export const committed = [];
export const restoredTimes = { count: 0 };
const inspections = new Map();

// worker.inFlight: the frames the app posted (render_gl.cpp counts them up) not yet committed or
// dropped; the app posts no frame while two are in flight (gl_renderer_busy).
function heard(m, on, worker) {
  if (m.type === 'committed' || m.type === 'dropped') worker.inFlight = Math.max(0, (worker.inFlight | 0) - 1);
  if (m.type === 'committed') {
    committed.push({ posted: m.posted, at: m.at });
    if (committed.length > 2000) committed.splice(0, 1000);
  } else if (m.type === 'restored') {
    restoredTimes.count += 1;
    on.restored();
  } else if (m.type === 'failed') {
    on.failed(m.reason);
  } else if (m.type === 'inspected') {
    inspections.get(m.id)?.(m);
    inspections.delete(m.id);
  }
}

// The test hooks' questions to the worker's context (web/test-hooks.js): lose, restore, inspect.
export function askRenderWorker(worker, type) {
  if (type !== 'inspect') { worker.postMessage({ type }); return Promise.resolve(null); }
  const id = inspections.size + Math.random();
  return new Promise((resolve) => { inspections.set(id, resolve); worker.postMessage({ type, id }); });
}
