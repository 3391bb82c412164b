// web/onnx-worker.js — ONNX Runtime Web in a worker of its own, for the page's model check
// (predict.js, bundles.js, through early.js's client).
//
// Index of this file
//   [SECTION] Start: ONNX Runtime's module imported (its wasm with the first session)
//   [SECTION] Messages: create a session, run it, release it
//
// early.js starts this worker as the page's first module runs. Everything ONNX Runtime needs —
// assets.json read, its module imported, and with the first session its 14 MB wasm fetched (from the
// service worker's cache after a first visit), compiled while it streams and instantiated, its
// runtime set up — happens here, with no message through the page's thread on the way. The page
// posts a model's bytes only once the core has verified the bundle (bundles.js): nothing here reads
// a bundle.
'use strict';

//-----------------------------------------------------------------------------
// [SECTION] Start
//-----------------------------------------------------------------------------
// ONNX Runtime's module (50 KB) is imported at once; its 14 MB wasm is fetched, compiled and
// instantiated by the first session's creation, once the page has verified a bundle. Started
// sooner, on two cores it took them from the page's own start (the form later, the bundle's
// download later: docs/benchmarks.md).
async function start() {
  const assets = await (await fetch('assets.json')).json();
  const ort = await import('./' + assets.ort);
  ort.env.wasm.numThreads = 1;  // one patient at a time: a thread pool only costs start-up (same run time, measured)
  ort.env.wasm.proxy = false;   // this is the worker
  return ort;
}
const ortReady = start();
ortReady.then(() => postMessage({ type: 'ready' }), (e) => postMessage({ type: 'ready', error: String((e && e.message) || e) }));

//-----------------------------------------------------------------------------
// [SECTION] Messages
//-----------------------------------------------------------------------------
// { id, type: 'create', bytes } -> { id, session }; { id, type: 'run', session, feeds: {name:
// {type, data, dims}} } -> { id, outputs: {name: {type, data, dims}} }; { id, type: 'release',
// session } -> { id }; { id, type: 'sessions' } -> { id, sessions } (how many are held: for the
// tests' check that a model's session is released only). A failure answers { id, error } (ONNX Runtime's
// message).
const sessions = new Map();
let nextSession = 1;
// A typed array that fills its buffer whole: `a` itself, or a copy of it (as early.js's).
const wholeBuffer = (a) => (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : a.slice());

self.onmessage = async ({ data: m }) => {
  try {
    const ort = await ortReady;
    if (m.type === 'create') {
      const id = nextSession++;
      sessions.set(id, await ort.InferenceSession.create(m.bytes, { executionProviders: ['wasm'] }));
      postMessage({ id: m.id, session: id });
    } else if (m.type === 'run') {
      const session = sessions.get(m.session);
      if (!session) throw new Error('the session was released');
      const feeds = {};
      for (const [name, t] of Object.entries(m.feeds)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
      const out = await session.run(feeds);
      const outputs = {}, transfer = [];
      for (const [name, t] of Object.entries(out)) {
        const data = ArrayBuffer.isView(t.data) ? wholeBuffer(t.data) : t.data;
        outputs[name] = { type: t.type, data, dims: t.dims };
        if (ArrayBuffer.isView(data)) transfer.push(data.buffer);
      }
      postMessage({ id: m.id, outputs }, transfer);
    } else if (m.type === 'sessions') {
      postMessage({ id: m.id, sessions: sessions.size });
    } else if (m.type === 'release') {
      const session = sessions.get(m.session);
      sessions.delete(m.session);
      if (session) await session.release();
      postMessage({ id: m.id });
    }
  } catch (e) {
    postMessage({ id: m.id, error: String((e && e.message) || e) });
  }
};
