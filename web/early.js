// web/early.js — what the page starts before any of its other modules runs: the app's file names
// (assets.json, written into index.html), the signed models index and the bundle last used, and
// ONNX Runtime Web's worker (web/onnx-worker.js).
//
// index.html runs this module on its own, ahead of page.js (which imports it too), so the worker
// starts before the page's other modules have loaded: it reads assets.json and imports ONNX Runtime's
// module on its own thread; the model's session (its 14 MB wasm fetched, compiled and readied with
// it) is created there once the bundle is verified, with no message through the page on the way.
'use strict';

// The app's files named by their content (scripts/assemble-web writes assets.json, and the same
// text into index.html, `<script type="application/json" id="ldx-assets">`): read with the page
// itself, so that nothing waits for a request of its own (on a repeat visit served by the service
// worker, assets.json came 335-401 ms after the navigation; docs/benchmarks.md). A page without it
// (web/ as it is in the source tree) asks for assets.json.
function readAssets() {
  const inline = document.getElementById('ldx-assets');
  if (inline) {
    try { return Promise.resolve(JSON.parse(inline.textContent)); } catch { /* asked for below */ }
  }
  return fetch('assets.json').then((r) => r.json());
}
export const assetsReady = readAssets();

// The models index as text, or null when neither the server nor the offline copy (the service
// worker's) answers. The first is asked for here, as soon as the page runs (firstIndexText), rather
// than once page.js's modules have all loaded: the bundle it names, and so the model's
// verification and ONNX Runtime's session, wait for it (docs/benchmarks.md). bundles.js asks again
// when the clinician picks another model.
export function fetchIndexText() {
  return fetch('/api/v1/models', { cache: 'no-store' }).then((res) => (res.ok ? res.text() : null)).catch(() => null);
}
export const firstIndexText = fetchIndexText();

// The model the page opens, by name, or null (then the index's first): the one in the page's
// address (#model=), else the last one opened (`ldx.model`, which bundles.js keeps; also the one
// a SMART launch asked for, web/smart.js). The one place this rule is written: page.js opens it,
// and the bundle used last is asked for early only if it is this model (lastBundle below).
export function openingModel() {
  const inAddress = new URLSearchParams(location.hash.slice(1)).get('model');
  if (inAddress) return inAddress;
  try {
    const last = JSON.parse(localStorage.getItem('ldx.model'));
    return typeof last === 'string' && last ? last : null;
  } catch {
    return null;  // no storage in this page, or not a value of ours
  }
}

// The bundle this device used last (bundles.js keeps its address, `ldx.lastBundle`), asked for
// with the index rather than once the index has named it: { url, download: Promise<Response>,
// abort() } or null. bundles.js uses it only if the index, once verified, names the same address (a
// bundle's address is its content's SHA-256), and verifies it as any other; otherwise it aborts it.
// Asked for only if it is the model the page opens (openingModel).
function lastBundle() {
  try {
    const last = JSON.parse(localStorage.getItem('ldx.lastBundle'));
    const wanted = openingModel();
    if (!last || typeof last.url !== 'string' || !last.url.startsWith('/api/v1/bundles/') || (wanted && wanted !== last.name)) return null;
    const stop = new AbortController();
    const download = fetch(last.url, { signal: stop.signal });
    download.catch(() => {});  // met again where it is used
    return { url: last.url, download, abort: () => stop.abort() };
  } catch {
    return null;  // no storage in this page, or not a value of ours
  }
}
export const firstBundle = lastBundle();

// A typed array that fills its buffer whole: `a` itself, or a copy of it (what a message may move).
const wholeBuffer = (a) => (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : a.slice());

// The worker is shared by the app's pages where the browser offers shared workers (and Web Locks,
// by which it learns that a page has gone), and asked to outlive its last page for a while
// (extendedLifetime): a page reloaded or opened again meanwhile, or a second tab, finds ONNX Runtime
// started. Its name carries the build of the worker and of ONNX Runtime (scripts/assemble-web writes
// it), so a page never talks to the worker of an older build. Elsewhere the worker is the page's own.
const WORKER_BUILD = 'source';
const sharedWorkers = typeof SharedWorker === 'function' && !!navigator.locks && !!(self.crypto && crypto.randomUUID);

// One connection to the worker: { port, errors (where its load error is fired) }. A shared
// worker is told the name of a Web Lock this page holds while it lives (web/onnx-worker.js,
// [SECTION] Pages): granted to the worker when the page has gone, it releases the page's sessions.
function connect() {
  const name = `ONNX Runtime ${WORKER_BUILD}`;
  if (sharedWorkers) {
    try {
      const shared = new SharedWorker('onnx-worker.js', { type: 'module', name, extendedLifetime: true });
      shared.port.start();
      const lock = `localdx page ${crypto.randomUUID()}`;
      navigator.locks.request(lock, () => {
        shared.port.postMessage({ type: 'page', lock });
        return new Promise(() => {});  // held until the page goes
      }).catch(() => {});
      return { port: shared.port, errors: shared };
    } catch { /* refused (a sandboxed page): the page's own worker below */ }
  }
  const own = new Worker('onnx-worker.js', { type: 'module', name });
  return { port: own, errors: own };
}

// The page's side of the worker: the part of ONNX Runtime Web's API the page uses
// (InferenceSession.create from a model's bytes, session.run and release, Tensor), each call a
// message to the worker. Inputs' buffers move to the worker with a run (as ONNX Runtime's own proxy
// mode does); outputs come back as { type, data, dims }.
// A worker that stops (it tells its pages when ONNX Runtime can no longer run, web/onnx-worker.js;
// a shared worker's crash is seen by its Web Lock) fails the calls waiting on it with the reason; the
// next call connects again, and a session of the stopped worker is made again there from the
// model's bytes, which the client keeps for that.
function onnxClient() {
  let link = null;  // the current connection: { port, waiting: Map(id -> {resolve, reject}), failed }
  let nextId = 1;
  const open = () => {
    const { port, errors } = connect();
    const l = { port, waiting: new Map(), failed: null };  // failed: the Error its calls get
    // `stopped`: the worker stopped while ONNX Runtime could run (a crash): the next call starts it
    // again, so the page words it as such (host.js, predict.js: error.workerStopped). `stalled`:
    // ONNX Runtime's files stopped arriving (error.stalled: the page asks for a reload).
    const fail = (why, stopped = false, stalled = false) => {
      if (l.failed) return;
      l.failed = Object.assign(new Error(why), { workerStopped: stopped, stalled });
      for (const { reject } of l.waiting.values()) reject(l.failed);
      l.waiting.clear();
    };
    port.onmessage = ({ data }) => {
      if (data.type === 'worker') {  // a shared worker's own lock, granted here if it stops
        // A worker that closed itself told why first ('stopping'): that message and the lock come
        // by separate ways, so the lock waits a moment to let the reason come first.
        navigator.locks.request(data.lock, () => new Promise((r) => setTimeout(r, 200)).then(() => fail('ONNX Runtime\'s worker stopped', true))).catch(() => {});
        return;
      }
      if (data.type === 'stopping') { fail(data.why, false, data.stalled === true); return; }
      if (data.type === 'ready') {
        if (!data.error) performance.mark('localdx:ort-imported');
        return;
      }
      const w = l.waiting.get(data.id);
      if (!w) return;
      l.waiting.delete(data.id);
      if (data.error) w.reject(new Error(data.error));
      else w.resolve(data);
    };
    errors.onerror = (e) => { e.preventDefault(); fail(e.message || 'ONNX Runtime\'s worker could not start'); };
    port.onmessageerror = () => fail('an answer of ONNX Runtime\'s worker could not be read');
    return l;
  };
  const current = () => {
    if (!link || link.failed) link = open();
    return link;
  };
  const call = (l, message, transfer = []) => new Promise((resolve, reject) => {
    if (l.failed) { reject(l.failed); return; }
    const id = nextId++;
    l.waiting.set(id, { resolve, reject });
    try {
      l.port.postMessage({ ...message, id }, transfer);
    } catch (e) {
      l.waiting.delete(id);
      reject(e);
    }
  });
  class Tensor {
    constructor(type, data, dims) { Object.assign(this, { type, data, dims }); }
  }
  const InferenceSession = {
    // A copy of the bytes moves to the worker; the client keeps its own, to make the session
    // again should the worker stop. A worker that stops while it makes the session (a crash) is
    // no answer about the model: the session is made by the next run, in the worker started again.
    async create(bytes) {
      const kept = bytes.slice();
      const made = { link: null, session: null };  // the connection it was made on; the promise of its number
      const sessionIn = (l) => {
        if (made.link !== l) {
          const copy = kept.slice();
          made.link = l;
          made.session = call(l, { type: 'create', bytes: copy }, [copy.buffer]).then((answer) => answer.session);
        }
        return made.session;
      };
      try {
        await sessionIn(current());
      } catch (e) {
        if (!e.workerStopped) throw e;
      }
      return {
        run: async (feeds) => {
          const l = current();
          const session = await sessionIn(l);
          const plain = {}, transfer = [];
          for (const [name, t] of Object.entries(feeds)) {
            const whole = wholeBuffer(t.data);  // moves to the worker
            plain[name] = { type: t.type, data: whole, dims: t.dims };
            transfer.push(whole.buffer);
          }
          return (await call(l, { type: 'run', session, feeds: plain }, transfer)).outputs;
        },
        // Nothing to release in a worker that has stopped.
        release: async () => {
          const l = made.link;
          if (l && !l.failed) await call(l, { type: 'release', session: await made.session });
        },
      };
    },
  };
  // The worker's sessions and pages (web/onnx-worker.js, "sessions"): for the tests only
  // (test-hooks.js: a model replaced or refused is released; the worker shared by pages), here
  // because nothing else reaches the worker.
  const workerState = async () => { const { id, ...state } = await call(current(), { type: 'sessions' }); return state; };
  current();  // started at once
  return { Tensor, InferenceSession, workerState };
}

// Resolves at once to the client; a session created through it waits, in the worker, for ONNX
// Runtime's module, and a failure to start (its module not loaded, its wasm refused) is the answer
// to every call (reported by the model's check: predict.js, startOnnxChecks).
export const ortReady = Promise.resolve(onnxClient());
