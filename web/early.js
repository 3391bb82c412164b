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
function onnxClient() {
  const worker = new Worker('onnx-worker.js', { type: 'module', name: 'ONNX Runtime' });
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
  worker.onerror = (e) => { e.preventDefault(); failAll(e.message || 'ONNX Runtime\'s worker could not start'); };
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
  // How many sessions the worker holds: for the tests only (test-hooks.js: a model replaced or
  // refused is released), here because nothing else reaches the worker.
  const sessionsHeld = async () => (await call({ type: 'sessions' })).sessions;
  return { Tensor, InferenceSession, sessionsHeld };
}

// Resolves at once to the client; a session created through it waits, in the worker, for ONNX
// Runtime's module, and a failure to start (its module not loaded, its wasm refused) is the answer
// to every call (reported by the model's check: predict.js, startOnnxChecks).
export const ortReady = Promise.resolve(onnxClient());
