// web/bundles.js — a model's bundle, from the signed models index to the model in use: verified
// in the core on every load (signature, hashes, rollback floor), cross-checked by ONNX Runtime,
// and kept on this device for offline use.
//
// Index of this file
//   [SECTION] Bundle lifecycle (signed index, verify on every load, rollback floor, cache)
'use strict';
import { fetchIndexText, firstBundle } from './early.js';
import { page, store, now, answered, Refused, announce, showError, pageProblem, pageSentence, pageFailure } from './page-state.js';
import { probabilitiesOnnx, startOnnxChecks, checkImagesOnnx } from './predict.js';
import { releasePatient, publishReporting } from './reporting.js';
import { prepareWorkerWhenIdle } from './batch.js';

//-----------------------------------------------------------------------------
// [SECTION] Bundle lifecycle
//-----------------------------------------------------------------------------
// The index is signed by a key of the trust root and expires; the highest index version seen
// is remembered, so a replayed older index is refused. Offline, the service worker answers with
// the last index it saw; an expired one is still usable for its (still valid) bundles, with a
// warning.
export async function loadIndexAndModel(wanted, indexText = fetchIndexText(), bundle = null) {
  const text = await indexText;
  if (text === null) throw new Refused(pageProblem('index_unreachable'));
  const checked = JSON.parse(page.M.verifyIndex(text, page.trust, now(), store.get('indexVersion', 0)));
  if (!checked.ok) { const why = pageProblem('index_refused', checked.problems[0].message); showError(why.problems[0].message); throw new Refused(why); }
  store.set('indexVersion', checked.version);
  page.index = checked;
  keepForOffline('ldx-index', '/api/v1/models', text);
  if (!page.index.models.length) { showError(pageProblem('no_models').problems[0].message); return; }
  const entry = chooseEntry(page.index.models, wanted);
  const early = await bundle;  // used only if the verified index names the same bundle
  const source = checked.stale ? pageSentence('model_source_offline', { day: checked.expires.slice(0, 10) }) : pageSentence('model_source_server');
  return loadBundle(entry.url, { source },
    early && early.url === entry.url ? early.download : fetchBundle(entry.url));
}

// The model named `wanted` (the one the page opens, early.js's openingModel, or the one the
// clinician picked), else the index's first.
function chooseEntry(models, wanted) {
  return models.find((m) => m.name === wanted) || models[0];
}

// Starts downloading the bundle the index names, before the index is verified (that needs the
// core): nothing from it is used unless the verified index names the same URL, and the bundle
// is verified on its own anyway. The bundle this device used last was asked for already, with the
// index (early.js, firstBundle): that download is used when the index names it. Resolves to
// { url, download } or null.
export async function prefetchBundle(indexText, wanted) {
  let early = firstBundle;  // aborted below unless it is the one the index names
  try {
    const models = JSON.parse(await indexText).signed.models;
    const { url } = chooseEntry(models, wanted);
    if (typeof url !== 'string' || !url.startsWith('/api/v1/bundles/')) return null;
    const used = early && early.url === url;
    const download = used ? bundleBytes(early.download) : fetchBundle(url);
    if (used) early = null;
    download.catch(() => {});  // a failure is met again, and reported, where it is used
    return { url, download };
  } catch {
    return null;
  } finally {
    if (early) early.abort();  // not the bundle the index names, or no index: its bytes are not wanted
  }
}

// The first visit already leaves everything needed offline: the service worker precaches the
// app, and the page itself stores the index and the bundle it used (verified again on every load).
function keepForOffline(cacheName, url, body) {
  if (!('caches' in self)) return;
  caches.open(cacheName).then((c) => c.put(url, new Response(body))).catch(() => {});
}

// A bundle's bytes: { bytes }, or { bytes: null, status } (the HTTP status; 0: no network, and no
// copy on this device). Worded where it is used (the core may not be there yet).
function fetchBundle(url) {
  return bundleBytes(fetch(url));
}
async function bundleBytes(response) {
  let res;
  try { res = await response; } catch { return { bytes: null, status: 0 }; }
  return res.ok ? { bytes: new Uint8Array(await res.arrayBuffer()) } : { bytes: null, status: res.status };
}

// Verifies the bundle in wasm against the trust root, with the highest version accepted before
// as the rollback floor. Nothing from a refused bundle reaches the UI.
export async function loadBundle(url, status = {}, download = fetchBundle(url)) {
  const got = await download;
  if (!got.bytes) {
    const why = got.status ? pageProblem('bundle_download', got.status) : pageProblem('bundle_offline');
    showError(why.problems[0].message);
    return why;
  }
  const bytes = got.bytes;
  performance.mark('localdx:bundle-downloaded');
  const floors = store.get('accepted', {});   // highest version accepted per model name
  const checked = page.M.loadBundle(bytes, page.trust, now(), JSON.stringify(floors));
  if (checked.ok === false) return refuse(checked);
  if (!checked.ok()) { const refused = JSON.parse(checked.error()); checked.delete(); return refuse(refused); }
  const model = answered(checked.model());
  checked.delete();
  performance.mark('localdx:bundle-verified');
  const info = JSON.parse(model.info());
  // ONNX Runtime's session: a tree model is used as soon as the core has verified it (its results
  // are shown "being checked" until ONNX Runtime is up: startOnnxChecks); any other model only
  // runs in ONNX Runtime, so it waits.
  const used = { model, info, name: info.name, bytes, session: null };
  // (ONNX Runtime's worker takes the model's bytes: a copy, not the view of the core's memory;
  // the copy's buffer moves to the worker.)
  const onnxBytes = answered(model.onnx()).slice();
  used.sessionReady = page.ortReady.then((ort) => ort.InferenceSession.create(onnxBytes, { executionProviders: ['wasm'] }))
    .then((session) => { performance.mark('localdx:onnx-session'); used.session = session; return session; });
  if (info.background || info.imaging) {
    let agree;
    try {
      // A model the core cannot walk: on every load, ONNX Runtime must reproduce the
      // probabilities its author published for the background rows, or the bundle is not used.
      // An imaging model: ONNX Runtime must give its author's probabilities for the bundle's
      // reference images (preprocessed by this core), or the bundle is not used.
      agree = info.background
        ? JSON.parse(model.checkBackground(await probabilitiesOnnx(used, Float32Array.from(info.background.features))))
        : JSON.parse(model.checkImages(await checkImagesOnnx(used)));
    } catch (e) {
      discard(used);
      if (e && e.stalled) return refuse(pageFailure(e));  // ONNX Runtime's files stopped arriving: said in words
      throw e;
    }
    if (!agree.ok) { discard(used); return refuse(agree); }
  }
  // Accepted (only now: a bundle refused by ONNX Runtime's check above is not kept, does not raise
  // the rollback floor and is not asked for again): kept for offline use, its version the floor
  // for its name, its name the model to open next time.
  keepForOffline('ldx-bundles', url, bytes);
  floors[info.name] = Math.max(floors[info.name] || 0, info.version);
  store.set('accepted', floors);
  store.set('model', info.name);
  store.set('lastBundle', { name: info.name, url });  // asked for with the index next time (early.js)
  releasePatient();  // the patient seen with the model being replaced is reported with it
  retire(page.current);
  page.current = used;
  if (!info.background && !info.imaging) startOnnxChecks(used);
  const available = (page.index ? page.index.models : []).map((m) => ({ name: m.name, version: m.version, title: m.title || m.name }));
  page.M.appSetModel(model, JSON.stringify({ ...status, available }));
  performance.mark('localdx:model-set');
  // A site calibration of this bundle's prediction sets, made earlier on this device (Validate tab).
  const calibrator = store.get('calibrators', {})[info.sha256];
  if (calibrator) page.M.appSetLocalCalibrator(calibrator);
  announce(pageSentence('model_ready', { title: info.schema.title, version: info.version }));
  publishReporting();
  prepareWorkerWhenIdle();
  return { ok: true, name: info.name, version: info.version, sha256: info.sha256 };
}

// A replaced model is freed (its core handle and its ONNX Runtime session) when the next one
// replaces it: work still using it (a batch being checked) can finish, and switching models
// any number of times keeps at most one retired model in memory.
let retired = null;
function retire(old) {
  if (retired) discard(retired);
  retired = old;
}

// A model's core handle and its ONNX Runtime session (once made) freed: a retired model, or one
// whose bundle was refused after its session was asked for.
function discard(used) {
  used.model.delete();
  used.sessionReady.then((session) => session.release()).catch(() => {});
}

// A refused bundle: the core's envelope, returned as it came; its first problem shown in the
// clinician's words (the reason code for the administrator).
function refuse(refused) {
  const [first] = refused.problems;
  showError(`${first.message} (${first.code})`);
  return refused;
}
