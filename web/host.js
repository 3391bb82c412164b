// web/host.js — the host bridge: the functions the wasm app (the Dear ImGui UI, wasm/app) calls in
// this page, to predict, open and save files, reach the network for the Operations view, print,
// announce, and keep the clinician's settings.
//
// Index of this file
//   [SECTION] The Operations view's request (the operator's token, never stored)
//   [SECTION] Host functions the UI calls
'use strict';
import { page, $, store, announce, showError, pageProblem, pageSentence, pageFailure } from './page-state.js';
import { applyTree } from './a11y.js';
import { loadIndexAndModel } from './bundles.js';
import { predict } from './predict.js';
import { explainImage, explainRow } from './batch.js';
import { openCsv, openLabelled, openImages, download } from './files.js';
import { openLabelledImages } from './validate-images.js';
import { releasePatient, setReporting } from './reporting.js';

//-----------------------------------------------------------------------------
// [SECTION] The Operations view's request
//-----------------------------------------------------------------------------
// The Operations view's request (wasm/app/views/operations_view.cpp): the drift history and the current
// drift of a model, read with the operator's token. The token is only in this call's arguments
// and the request's header: nothing here stores it (no localStorage, sessionStorage, IndexedDB,
// and the service worker does not cache /api/).
export async function operationsFetch(arg) {
  const { model, token, from, to, period } = JSON.parse(arg);
  const init = { headers: { Authorization: 'Bearer ' + token }, cache: 'no-store' };
  const q = (p) => new URLSearchParams({ model, ...p }).toString();
  try {
    const [h, c] = await Promise.all([fetch('/api/v1/drift/history?' + q({ from, to, period }), init), fetch('/api/v1/drift?' + q({}), init)]);
    const [ht, ct] = await Promise.all([h.text(), c.text()]);
    page.M.appSetOperations(h.status !== 200 ? h.status : c.status, ht, ct);
  } catch (e) {
    page.M.appSetOperations(0, String(e.message || e), '');
  }
}

//-----------------------------------------------------------------------------
// [SECTION] Host functions the UI calls
//-----------------------------------------------------------------------------
// What the app (wasm/app) calls back: page.js installs it as globalThis.localdxHost before the app
// starts (wasm/app reads it by that name; smart.js adds saveToChart to it).
export const host = {
  async predictFromApp(recordJson) {
    let early = null;
    try {
      const r = await predict(JSON.parse(recordJson), (first) => { early = first; page.shownSeq = first.seq; page.M.appSetResult(JSON.stringify(first)); });
      if (early) page.M.appSetResultChecked(early.seq, JSON.stringify(r));  // marks it checked, or withdraws it
      else { page.shownSeq = r.seq; page.M.appSetResult(JSON.stringify(r)); }
    } catch (e) {
      const failed = JSON.stringify(pageFailure(e));
      if (early) page.M.appSetResultChecked(early.seq, failed);
      else page.M.appSetResult(failed);
    }
  },
  openCsv,
  operationsFetch,
  openLabelled,
  openLabelledImages,
  openImages,
  explainImage: (arg) => { explainImage(arg).catch((e) => showError(String(e.message || e))); },
  keepCalibrator: (arg) => {
    const { sha256, calibrator } = JSON.parse(arg);
    store.set('calibrators', { ...store.get('calibrators', {}), [sha256]: calibrator });
  },
  forgetCalibrator: (sha256) => {
    const all = store.get('calibrators', {});
    delete all[sha256];
    store.set('calibrators', all);
  },
  explainRow: (index) => explainRow(index).catch((e) => showError(String(e.message || e))),
  // The frame's accessible nodes, when they changed (web/a11y.js): mirrored once the frame is done.
  a11yTree: (json) => queueMicrotask(() => applyTree(json)),
  download,
  copy: (text) => navigator.clipboard.writeText(text).catch(() => announce(pageProblem('clipboard_denied').problems[0].message)),
  // The print view: the result's summary alone on the page (app.css hides everything else in print).
  print: (text) => {
    $('print').textContent = `${text}\n${pageSentence('print_footer', { when: new Date().toLocaleString() })}`;
    window.print();
  },
  announce,
  // The canvas can no longer draw (wasm/app/frame_loop.cpp, display_restored; page.js when the
  // render worker cannot draw): its place is given to the page's fallback text, which says what to do.
  // `typed`: the form as typed (the app's appFormText), shown under the words to enter again.
  displayFailed: (message, typed = '') => {
    $('splash').hidden = true;
    $('canvas').hidden = true;
    $('a11y').hidden = true;  // nothing under it is drawn or answers
    const p = $('fallback');
    p.textContent = typed ? `${message}\n\n${pageSentence('form_as_typed', {})}\n${typed.trimEnd()}` : message;
    p.classList.toggle('with-form', !!typed);
    p.hidden = false;
    announce(p.textContent);
  },
  setReporting,
  formCleared: releasePatient,
  chooseModel: (name) => {
    // The address names the model only once it is loaded: a model that cannot be had leaves the current one selected.
    loadIndexAndModel(name).then((r) => { if (r && r.ok) location.hash = 'model=' + name; }).catch((e) => showError(e.message));
  },
};
