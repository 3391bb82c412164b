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
// is passed on as it arrives (so the wasm is still compiled while it streams), each pause at most
// STALL_MS. On a stall, `onStall(error)` is called before the fetch or its body fails with the error
// (error.stalled). Other fetches are left as they are.
export function watchFetches(scope, onStall, isWatched = () => true) {
  const unwatchedFetch = scope.fetch.bind(scope);
  const stalled = (e) => {
    if (e && e.stalled) onStall(e);
    throw e;
  };
  scope.fetch = async (...args) => {
    const url = new URL(args[0] instanceof Request ? args[0].url : String(args[0]), scope.location.href).href;
    if (!isWatched(url)) return unwatchedFetch(...args);
    const response = await watched(unwatchedFetch(...args), ANSWER_MS).catch(stalled);
    if (!response.body) return response;
    const reader = response.body.getReader();
    const body = new ReadableStream({
      async pull(controller) {
        const { done, value } = await watched(reader.read(), STALL_MS).catch((e) => { reader.cancel().catch(() => {}); return stalled(e); });
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (why) => reader.cancel(why),
    }, { highWaterMark: 0 });
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
  // A module imported (ONNX Runtime's, its glue), watched as a fetch's answer is.
  return (promise) => watched(promise, ANSWER_MS).catch(stalled);
}
