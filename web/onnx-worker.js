// web/onnx-worker.js — ONNX Runtime Web in a worker of its own, for the page's model check
// (predict.js, bundles.js, through early.js's client): one worker shared by the app's pages.
//
// Index of this file
//   [SECTION] Start: ONNX Runtime's module imported (its wasm with the first session); its
//             downloads watched, the worker closed when one stops arriving
//   [SECTION] Pages: each page's port and calls, its sessions released when the page goes (a Web
//             Lock); the worker closed when ONNX Runtime cannot run
//   [SECTION] Messages: create a session, run it, release it
//
// early.js starts this worker as the page's first module runs, as a shared worker where the browser
// has one (with an extended lifetime: it outlives its last page for a short while), else as the
// page's own. Everything ONNX Runtime needs — assets.json read, its module imported, and with the
// first session its 14 MB wasm fetched (from the service worker's cache after a first visit),
// compiled while it streams and instantiated, its runtime set up — happens here, once for every
// page of the app open at the time: a second tab, or the page reloaded or reopened while the worker
// lives, finds ONNX Runtime ready. The page posts a model's bytes only once the core has verified
// the bundle (bundles.js): nothing here reads a bundle. A page's sessions are its own.
'use strict';
import { watchFetches } from './downloads.js';

//-----------------------------------------------------------------------------
// [SECTION] Start
//-----------------------------------------------------------------------------
// A download of ONNX Runtime's files that stops arriving (web/downloads.js: nothing for 15 s, or no
// answer begun within 120 s) would keep every page's check waiting, and a page reloaded would join
// this worker again. So the worker tells its pages and closes (stop, [SECTION] Pages), and a page's
// next call starts a worker that fetches them afresh. Every fetch here is watched (assets.json and
// ONNX Runtime's wasm), and ONNX Runtime's two modules imported here.
const watchedImport = watchFetches(self, (e) => stop(e.message, true));

// ONNX Runtime's module (50 KB, and its glue, 24 KB) is imported at once; its 14 MB wasm is fetched, compiled and
// instantiated by the first session's creation, once the page has verified a bundle. Started
// sooner, on two cores it took them from the page's own start (the form later, the bundle's
// download later: docs/benchmarks.md).
async function start() {
  const assets = await (await fetch('assets.json')).json();
  // ONNX Runtime's own glue module, which it imports with its wasm, is imported here too (the
  // same address: ONNX Runtime then finds it loaded), so that its download is watched as well.
  const folder = assets.ort.slice(0, assets.ort.lastIndexOf('/') + 1);
  const [ort] = await watchedImport(Promise.all([import('./' + assets.ort), import('./' + folder + 'ort-wasm-simd-threaded.mjs')]));
  ort.env.wasm.numThreads = 1;  // one patient at a time: a thread pool only costs start-up (same run time, measured)
  ort.env.wasm.proxy = false;   // this is the worker
  return ort;
}
// Imported once per worker. A worker whose ONNX Runtime cannot run (its module or wasm not loaded:
// offline before a first visit's precache; its wasm aborted) tells every page why and closes, so that
// a page's next call starts a new worker (web/early.js) rather than every page meeting the same
// failure for as long as this worker would live.
const ortReady = start();
ortReady.catch((e) => stop(String((e && e.message) || e)));
const fatal = (why) => /no available backend|Aborted\(|RuntimeError/.test(why);

//-----------------------------------------------------------------------------
// [SECTION] Pages
//-----------------------------------------------------------------------------
// serve(port): one page's messages, answered on its port in the order they came, with the sessions
// it made. Session numbers are the worker's, never reused, so a page cannot reach another page's
// session; each page's calls wait only for its own.
// A port says nothing when its page goes, so each page holds a Web Lock for as long as it lives and
// names it here ({ type: 'page', lock }, web/early.js); the lock is granted to this worker when the
// page has gone (closed, navigated away, crashed), and the page's sessions are then released. The
// other way round, each page is told the worker's own lock, granted to the page if the worker stops.
let nextSession = 1;
const pages = new Set();  // { port, sessions: Map, turn: Promise, gone }, while the page is there
const inTurn = (page, work) => { page.turn = page.turn.then(work).catch(() => {}); };

// The worker's own Web Lock, held while it lives.
const workerLock = self.navigator.locks && self.crypto && crypto.randomUUID ? `localdx onnx worker ${crypto.randomUUID()}` : null;
const workerLockHeld = workerLock === null ? null
  : new Promise((held) => self.navigator.locks.request(workerLock, () => { held(); return new Promise(() => {}); }));

function serve(port) {
  const page = { port, sessions: new Map(), turn: Promise.resolve(), gone: false };
  pages.add(page);
  if (port !== self && workerLockHeld) workerLockHeld.then(() => port.postMessage({ type: 'worker', lock: workerLock }));
  ortReady.then(() => port.postMessage({ type: 'ready' }), (e) => port.postMessage({ type: 'ready', error: String((e && e.message) || e) }));
  port.onmessage = ({ data: m }) => {
    if (m.type === 'page') watchPage(m.lock, page);
    else inTurn(page, () => answer(page, m));
  };
}
function watchPage(lock, page) {
  if (typeof lock !== 'string' || !self.navigator.locks) return;
  self.navigator.locks.request(lock, () => inTurn(page, async () => {
    page.gone = true;
    pages.delete(page);
    for (const session of page.sessions.values()) await session.release().catch(() => {});
    page.sessions.clear();
  }));
}
// ONNX Runtime cannot run here any more, or its files stopped arriving (stalled): every page is
// told why (web/early.js fails its waiting calls with it), and the worker closes.
let stopping = false;
function stop(why, stalled = false) {
  if (stopping) return;
  stopping = true;
  for (const page of pages) page.port.postMessage({ type: 'stopping', why, stalled });
  self.close();
}
if (typeof SharedWorkerGlobalScope !== 'undefined' && self instanceof SharedWorkerGlobalScope) {
  self.onconnect = (e) => serve(e.ports[0]);
} else {
  serve(self);
}

//-----------------------------------------------------------------------------
// [SECTION] Messages
//-----------------------------------------------------------------------------
// { id, type: 'create', bytes } -> { id, session }; { id, type: 'run', session, feeds: {name:
// {type, data, dims}} } -> { id, outputs: {name: {type, data, dims}} }; { id, type: 'release',
// session } -> { id }; { id, type: 'sessions' } -> { id, sessions, all, pages, since } (how many
// sessions this page holds and all pages together, how many pages are connected, and when the
// worker started, on the clock of performance.timeOrigin: for the tests only). A failure answers
// { id, error } (ONNX Runtime's message).
// A typed array that fills its buffer whole: `a` itself, or a copy of it (as early.js's).
const wholeBuffer = (a) => (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : a.slice());

async function answer(page, m) {
  const { port, sessions } = page;
  try {
    const ort = await ortReady;
    if (m.type === 'create') {
      const id = nextSession++;
      const session = await ort.InferenceSession.create(m.bytes, { executionProviders: ['wasm'] });
      if (page.gone) { await session.release(); return; }  // its page went while it was made
      sessions.set(id, session);
      port.postMessage({ id: m.id, session: id });
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
      port.postMessage({ id: m.id, outputs }, transfer);
    } else if (m.type === 'sessions') {
      let all = 0;
      for (const other of pages) all += other.sessions.size;
      port.postMessage({ id: m.id, sessions: sessions.size, all, pages: pages.size, since: performance.timeOrigin });
    } else if (m.type === 'release') {
      const session = sessions.get(m.session);
      sessions.delete(m.session);
      if (session) await session.release();
      port.postMessage({ id: m.id });
    }
  } catch (e) {
    const why = String((e && e.message) || e);
    port.postMessage({ id: m.id, error: why });
    if (fatal(why)) stop(why);
  }
}
