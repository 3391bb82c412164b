// web/early.js — what the page starts before any of its other modules runs: the app's file names
// (assets.json) and ONNX Runtime Web's worker (web/onnx-worker.js).
//
// index.html runs this module on its own, ahead of page.js (which imports it too), so the worker
// starts before the page's other modules have loaded: it reads assets.json and imports ONNX Runtime's
// module on its own thread; the model's session (its 14 MB wasm fetched, compiled and readied with
// it) is created there once the bundle is verified, with no message through the page on the way.
'use strict';

// The app's files named by their content (scripts/assemble-web writes assets.json).
export const assetsReady = fetch('assets.json').then((r) => r.json());

// A typed array that fills its buffer whole: `a` itself, or a copy of it (what a message may move).
const wholeBuffer = (a) => (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : a.slice());

// The page's side of the worker: the part of ONNX Runtime Web's API the page uses
// (InferenceSession.create from a model's bytes, session.run and release, Tensor), each call a
// message to the worker. Inputs' buffers move to the worker with a run (as ONNX Runtime's own proxy
// mode does); outputs come back as { type, data, dims }.
// The worker is shared by the app's pages where the browser offers shared workers, and asked to
// outlive its last page for a while (extendedLifetime): a page reloaded or opened again meanwhile,
// or a second tab, finds ONNX Runtime started. Its name carries the build of the worker and of ONNX
// Runtime (scripts/assemble-web writes it), so a page never talks to the worker of an older build.
const WORKER_BUILD = 'source';
// The shared worker learns that this page has gone by a Web Lock the page holds while it lives
// (web/onnx-worker.js, [SECTION] Pages): named to the worker once held.
function holdPageLock(port) {
  if (!navigator.locks || !self.crypto || !crypto.randomUUID) return;
  const lock = `localdx page ${crypto.randomUUID()}`;
  navigator.locks.request(lock, () => {
    port.postMessage({ type: 'page', lock });
    return new Promise(() => {});  // held until the page goes
  }).catch(() => {});
}
function onnxWorker() {
  const name = `ONNX Runtime ${WORKER_BUILD}`;
  if (typeof SharedWorker === 'function') {
    try {
      const shared = new SharedWorker('onnx-worker.js', { type: 'module', name, extendedLifetime: true });
      shared.port.start();
      holdPageLock(shared.port);
      return { port: shared.port, errors: shared };
    } catch { /* refused (a sandboxed page): the page's own worker below */ }
  }
  const own = new Worker('onnx-worker.js', { type: 'module', name });
  return { port: own, errors: own };
}

function onnxClient() {
  const { port: worker, errors } = onnxWorker();
  const waiting = new Map();
  let nextId = 1, failed = null;
  const call = (message, transfer = []) => new Promise((resolve, reject) => {
    if (failed) { reject(new Error(failed)); return; }
    const id = nextId++;
    waiting.set(id, { resolve, reject });
    try {
      worker.postMessage({ ...message, id }, transfer);
    } catch (e) {
      waiting.delete(id);
      reject(e);
    }
  });
  const failAll = (why) => {
    failed = why;
    for (const { reject } of waiting.values()) reject(new Error(why));
    waiting.clear();
  };
  worker.onmessage = ({ data }) => {
    if (data.type === 'worker') {  // a shared worker's lock, granted here if it stops (web/onnx-worker.js)
      navigator.locks.request(data.lock, () => failAll('ONNX Runtime\'s worker stopped')).catch(() => {});
      return;
    }
    if (data.type === 'ready') {
      if (!data.error) performance.mark('localdx:ort-imported');
      return;
    }
    const w = waiting.get(data.id);
    if (!w) return;
    waiting.delete(data.id);
    if (data.error) w.reject(new Error(data.error));
    else w.resolve(data);
  };
  errors.onerror = (e) => { e.preventDefault(); failAll(e.message || 'ONNX Runtime\'s worker could not start'); };
  worker.onmessageerror = () => failAll('an answer of ONNX Runtime\'s worker could not be read');
  class Tensor {
    constructor(type, data, dims) { Object.assign(this, { type, data, dims }); }
  }
  const InferenceSession = {
    // The bytes' buffer moves to the worker when they fill it whole (the caller's own copy, as
    // bundles.js makes it: the caller cannot read them afterwards); a view of a larger buffer is
    // copied first.
    async create(bytes) {
      const whole = wholeBuffer(bytes);
      const { session } = await call({ type: 'create', bytes: whole }, [whole.buffer]);
      return {
        run: async (feeds) => {
          const plain = {}, transfer = [];
          for (const [name, t] of Object.entries(feeds)) {
            const whole = wholeBuffer(t.data);  // moves to the worker, as the model's bytes do
            plain[name] = { type: t.type, data: whole, dims: t.dims };
            transfer.push(whole.buffer);
          }
          return (await call({ type: 'run', session, feeds: plain }, transfer)).outputs;
        },
        release: () => call({ type: 'release', session }),
      };
    },
  };
  // The worker's sessions and pages (web/onnx-worker.js, "sessions"): for the tests only
  // (test-hooks.js: a model replaced or refused is released; the worker shared by pages), here
  // because nothing else reaches the worker.
  const workerState = async () => { const { sessions, all, pages, since } = await call({ type: 'sessions' }); return { sessions, all, pages, since }; };
  return { Tensor, InferenceSession, workerState };
}

// Resolves at once to the client; a session created through it waits, in the worker, for ONNX
// Runtime's module, and a failure to start (its module not loaded, its wasm refused) is the answer
// to every call (reported by the model's check: predict.js, startOnnxChecks).
export const ortReady = Promise.resolve(onnxClient());
