// web/page-state.js — what the page's modules share: the loaded core and ONNX Runtime, the model
// in use, the device's storage, and the few helpers every module uses.
//
// Index of this file
//   [SECTION] The page's state (one object, filled by page.js and bundles.js)
//   [SECTION] Storage, time, and the core's answers
//   [SECTION] Messages to the clinician (the live region, the app's error line)
//   [SECTION] The page's start: work that waits for the model's first check
'use strict';
import { problemIn, sentenceIn, failureOf } from './answers.js';

//-----------------------------------------------------------------------------
// [SECTION] The page's state
//-----------------------------------------------------------------------------
// M: the wasm module (core + Dear ImGui app); ort: ONNX Runtime Web as the page sees it (early.js's
// client of web/onnx-worker.js), and ortReady: the promise of it; trust: the trust root shipped with the app; current: { model: CoreModel, info, sessionReady: Promise<ONNX Runtime session>,
// session (once ready), name, bytes, loadCheck (its 64-row check passed: true/false, once done),
// loadCheckDone: Promise of that check, loadCheckWhy: the problem when it failed (predict.js) }; index: the verified models index; assets: assets.json;
// shownSeq: the prediction the app shows (its check may withdraw it).
export const page = { M: null, render: null, ort: null, ortReady: null, trust: '', current: null, index: null, assets: null, shownSeq: 0 };

export const $ = (id) => document.getElementById(id);
// Where an imaging model runs, as the address says (#runtime=wasm | webgpu; batch-worker.js).
export const runtimeWanted = new URLSearchParams(location.hash.slice(1)).get('runtime') || 'auto';

//-----------------------------------------------------------------------------
// [SECTION] Storage, time, and the core's answers
//-----------------------------------------------------------------------------
export const store = {
  get: (k, d) => { try { const v = localStorage.getItem('ldx.' + k); return v === null ? d : JSON.parse(v); } catch { return d; } },
  set: (k, v) => localStorage.setItem('ldx.' + k, JSON.stringify(v)),
};
export const now = () => Date.now() / 1000;
export const today = () => new Date().toISOString().slice(0, 10);
// A core or app call that failed as a call throws, in the core's words (web/answers.js).
export { answered, Refused, isRefusal } from './answers.js';

//-----------------------------------------------------------------------------
// [SECTION] Messages to the clinician
//-----------------------------------------------------------------------------
export function announce(text) { $('live').textContent = text; }

// The page writes no sentence of its own: what only it notices (ONNX Runtime failing, a file it
// cannot decode) is a problem the core words by id (shared/client/page_words.h), with the one
// detail that varies. The envelope {ok: false, problems: [one]}, as every other refusal.
export const pageProblem = (id, detail = '') => problemIn(page.M, id, detail);
// Its status lines (a model ready, a file's timing, the printed footer) are the core's too.
export const pageSentence = (id, details = {}) => sentenceIn(page.M, id, details);
// ONNX Runtime's worker failing a call because it stopped (web/early.js): a crash (error.workerStopped:
// the next call starts it again) or its files no longer arriving (error.stalled: a reload fetches
// them); null for any other failure.
export const onnxStopped = (e) => (e && e.workerStopped ? pageProblem('onnx_stopped') : e && e.stalled ? pageProblem('onnx_stalled') : null);
// An error met on the way, as the envelope (ONNX Runtime's worker stopping, onnxStopped; the core's
// own; or its "page_fault" problem).
export const pageFailure = (e) => onnxStopped(e) || failureOf(page.M, e);

export function showError(message) {
  if (page.M) page.M.appSetError(message);
  announce(message);
}

//-----------------------------------------------------------------------------
// [SECTION] The page's start
//-----------------------------------------------------------------------------
// Work of the page's start that waits for a model's first result to be checked (its load check
// against ONNX Runtime, predict.js) or `ms`, whichever comes first, so that it does not share a small
// machine's cores with ONNX Runtime's start. Resolves true when the check came first (passed or
// failed: a failed check is shown by predict.js; at once for no model, or a model with no check),
// false when the time ran out first.
export function afterFirstCheck(used, ms) {
  const checked = (used?.loadCheckDone || Promise.resolve()).then(() => true, () => true);
  let timer = 0;
  const waited = new Promise((resolve) => { timer = setTimeout(() => resolve(false), ms); });
  return Promise.race([checked, waited]).then((first) => { clearTimeout(timer); return first; });
}
