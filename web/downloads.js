// web/downloads.js — ONNX Runtime's downloads watched, in the workers that import it: ONNX Runtime's
// shared worker (web/onnx-worker.js) and the batch worker (web/batch-worker.js).
//
// Index of this file
//   [SECTION] Limits, and a promise watched
//   [SECTION] A worker's fetches watched
//
// A download that stops (a request never answered, a body that stops arriving: a network that
// hangs) would keep whatever waits for ONNX Runtime waiting for good, and ONNX Runtime keeps a failed
// start as its answer. So a worker that sees one tells its pages and closes, and the next call
// starts a worker that fetches the files afresh. A slow download that still arrives is not stopped.
'use strict';

//-----------------------------------------------------------------------------
// [SECTION] Limits, and a promise watched
//-----------------------------------------------------------------------------
// A body may pause for STALL_MS; an answer may take ANSWER_MS to begin (a proxy that scans a whole
// file before it answers), and a module imported (ONNX Runtime's own, 50 KB, and its glue, 24 KB;
// their WebGPU builds 66 and 53 KB) to arrive whole.
export const STALL_MS = 15000, ANSWER_MS = 120000;

// `promise`, or a rejection (error.stalled) once it has not settled for `ms`.
export function watched(promise, ms) {
  let timer = 0;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`ONNX Runtime's files stopped arriving: nothing came for ${ms / 1000} s`), { stalled: true })), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

//-----------------------------------------------------------------------------
// [SECTION] A worker's fetches watched
//-----------------------------------------------------------------------------
// Replaces scope.fetch (ONNX Runtime fetches its wasm with the worker's own fetch) by one that
// watches the fetches `isWatched(url)` picks: an answer must begin within ANSWER_MS, and its body
// must keep arriving, each pause at most STALL_MS. The caller gets the browser's own Response, not
// a copy of its body: so ONNX Runtime still compiles its wasm while it streams, and the browser
// can keep the compiled code for the next worker (it does so only for a Response of its own fetch,
// which carries its address). The watch reads a clone of the body (Response.clone: the same bytes,
// read here and dropped). On a stall, `onStall(error)` is called (error.stalled) and the fetch is
// aborted, so that what reads the body fails (ONNX Runtime then fetches the file once more, as an
// ArrayBuffer, watched the same way; failed at once instead, it would fetch it with a synchronous
// request that nothing watches). Other fetches are left as they are.
export function watchFetches(scope, onStall, isWatched = () => true) {
  const unwatchedFetch = scope.fetch.bind(scope);
  const stalled = (e) => {
    if (e && e.stalled) onStall(e);
    throw e;
  };
  scope.fetch = async (...args) => {
    const url = new URL(args[0] instanceof Request ? args[0].url : String(args[0]), scope.location.href).href;
    if (!isWatched(url)) return unwatchedFetch(...args);
    // The fetch's signal: ours, and the caller's own (given with the call, or the Request's).
    const abort = new AbortController();
    const asked = (args[1] && args[1].signal) || (args[0] instanceof Request ? args[0].signal : null);
    let signal = abort.signal;
    if (asked && AbortSignal.any) signal = AbortSignal.any([asked, abort.signal]);
    else if (asked && asked.aborted) abort.abort(asked.reason);
    else if (asked) asked.addEventListener('abort', () => abort.abort(asked.reason), { once: true });
    const stop = (e) => { abort.abort(e); return stalled(e); };
    const response = await watched(unwatchedFetch(args[0], { ...args[1], signal }), ANSWER_MS).catch(stop);
    if (!response.body) return response;
    const copy = response.clone().body.getReader();
    (async () => {
      for (;;) if ((await watched(copy.read(), STALL_MS)).done) return;
    })().catch((e) => {
      copy.cancel().catch(() => {});
      if (e && e.stalled) stop(e);
    }).catch(() => {});
    return response;
  };
  // A module imported (ONNX Runtime's, its glue), watched as a fetch's answer is.
  return (promise) => watched(promise, ANSWER_MS).catch(stalled);
}
