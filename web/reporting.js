// web/reporting.js — the page's aggregate reporting: each patient's last prediction, randomized
// by the core, in a pending report per model version and day; complete reports queued on this
// device and sent at a random later moment. (web/reports.js holds the add-to-report loop that
// the batch worker shares.)
//
// Index of this file
//   [SECTION] Reporting (aggregate, randomized, k-anonymous; queued while offline)
'use strict';
import { addToReports } from './reports.js';
import { page, store, now, today } from './page-state.js';

//-----------------------------------------------------------------------------
// [SECTION] Reporting
//-----------------------------------------------------------------------------
// Each patient's last prediction is added, randomized in the core, to a pending report for its
// model version and day. At k patients the report is queued; a queued report is sent at a random
// moment 1 minute to 6 hours later (when online), so its arrival does not tell when a clinician
// worked. Only the randomized counts are stored (never values): localStorage 'ldx.pending' and
// 'ldx.queue'; reports older than yesterday are dropped (the server takes a report only within a
// day of its date).
//
// A patient counts once: what-if edits of the same patient (core samePatient: most values shared)
// replace the held prediction; it is reported when the form is cleared, another patient is
// entered, another model is chosen, the page is hidden, or the hold time (30 minutes) passes. The
// held prediction lives in memory only. A file of patients counts once a day per model: its
// SHA-256 is remembered for two days. The times are the core's (reportTiming: drift/report.h).
const reportTiming = () => JSON.parse(page.M.reportTiming(now()));
export function reportingEnabled() { return store.get('reporting', true); }
export const modelKey = (used) => used.info.name + '@' + used.info.version;

// The clinician's result comes first: its contribution is taken right after it is returned.
// `used`: the model that made the result; a result of a model no longer in use is not reported
// (its held patient was released when it was replaced), never filed under the model now chosen.
export const reportLater = (used, r) => setTimeout(() => reportPrediction(used, r), 0);

let held = null;  // { used, result, values, since }
let heldTimer = 0;
function reportPrediction(used, r) {
  if (!reportingEnabled() || used !== page.current || !r.ok) return;
  const values = JSON.stringify({ values: r.values });
  if (held && held.used === used && Date.now() - held.since < used.info.privacy.hold_seconds * 1000 &&
      JSON.parse(used.model.samePatient(held.values, values)).same) {
    held.result = r;  // a what-if edit of the same patient: only the last prediction will count
    held.values = values;
    return;
  }
  releasePatient();
  held = { used, result: r, values, since: Date.now() };
  heldTimer = setTimeout(releasePatient, used.info.privacy.hold_seconds * 1000);
}
// The held patient's last prediction goes into the pending report (the model is still loaded:
// this runs before a model is replaced).
export function releasePatient() {
  clearTimeout(heldTimer);
  if (!held) return;
  const { used, result } = held;
  held = null;
  if (reportingEnabled()) reportPredictions(used, [result]);
}
addEventListener('visibilitychange', () => { if (document.visibilityState === 'hidden') releasePatient(); });
addEventListener('pagehide', releasePatient);

// Adds predictions to the pending reports; storage is read and written once per call.
function reportPredictions(used, results) {
  const key = modelKey(used);
  const all = store.get('pending', {});
  const { pending, queued } = addToReports(used.model, all[key] ? JSON.stringify(all[key]) : '', results, { day: today() });
  saveReports(key, pending, queued);
}

// An imaging model's images: each image is counted once (its descriptors, predicted class and
// probabilities: the result's "values", "predicted", "probabilities"), never its pixels; an image
// opened again the same day is not counted again (fileSeenToday on its bytes).
export async function reportImage(used, result, bytes) {
  if (!reportingEnabled() || !result.ok || (await fileSeenToday(used, bytes))) return;
  reportPredictions(used, [result]);
}

// A file's reports are kept only the first time that file is scored that day with that model
// (text, or an image's bytes as an ArrayBuffer).
export async function fileSeenToday(used, text) {
  const data = typeof text === 'string' ? new TextEncoder().encode(text) : new Uint8Array(text);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
  const id = modelKey(used) + ':' + Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  const seen = store.get('files', {});
  const yesterday = new Date(Date.now() - 86400e3).toISOString().slice(0, 10);
  for (const [k, day] of Object.entries(seen)) if (day < yesterday) delete seen[k];
  const again = seen[id] === today();
  seen[id] = today();
  store.set('files', seen);
  return again;
}

// The pending report for a model version and the queue of complete ones, stored once per call.
// Each queued report gets its random sending time.
export function saveReports(key, pendingText, queued) {
  const all = store.get('pending', {});
  if (pendingText) all[key] = JSON.parse(pendingText); else delete all[key];
  store.set('pending', all);
  const [lo, hi] = reportTiming().send_after_seconds.map((s) => s * 1000);
  const due = (q) => ({ ...q, due: Date.now() + lo + (crypto.getRandomValues(new Uint32Array(1))[0] / 2 ** 32) * (hi - lo) });
  store.set('queue', store.get('queue', []).concat(queued.map(due)));
  publishReporting();
  scheduleFlush();
}

// Drops what the server would refuse anyway: reports dated before the oldest day it takes, queued or pending.
function expireReports() {
  if (!page.M) return;
  const oldest = reportTiming().oldest_day;
  const queue = store.get('queue', []), all = store.get('pending', {});
  const kept = queue.filter((q) => q.report.day >= oldest);
  if (kept.length !== queue.length) store.set('queue', kept);
  let changed = false;
  for (const [k, r] of Object.entries(all)) if (r.day < oldest) { delete all[k]; changed = true; }
  if (changed) store.set('pending', all);
}

let flushTimer = 0;
function scheduleFlush() {
  clearTimeout(flushTimer);
  const next = Math.min(...store.get('queue', []).map((q) => q.due || 0));
  if (Number.isFinite(next)) flushTimer = setTimeout(() => flushReports(), Math.min(Math.max(0, next - Date.now()), 2 ** 31 - 1));
}

// Sends the reports whose time has come (all of them with { all: true }: the test API). Sent
// reports leave the stored queue in one write per pass. A report sent twice counts once: the
// server keys on its Idempotency-Key.
let flushing = false;
export async function flushReports({ all = false } = {}) {
  expireReports();
  if (flushing || !reportingEnabled() || !navigator.onLine) return;
  flushing = true;
  const done = new Set();  // sent, or refused for good (4xx)
  const forget = () => {
    if (done.size) store.set('queue', store.get('queue', []).filter((q) => !done.has(q.key)));
    done.clear();
  };
  try {
    for (let queue = store.get('queue', []).filter((q) => all || (q.due || 0) <= Date.now()); queue.length;
      queue = store.get('queue', []).filter((q) => !done.has(q.key) && (all || (q.due || 0) <= Date.now()))) {
      for (const item of queue) {
        let res;
        try {
          res = await fetch('/api/v1/metrics', { method: 'POST', headers: { 'Content-Type': 'application/json', 'Idempotency-Key': item.key }, body: JSON.stringify(item.report) });
        } catch { return; }  // offline: keep the rest for later
        if (res.status === 429 || res.status >= 500) return;
        done.add(item.key);
      }
      forget();
    }
  } finally {
    forget();
    flushing = false;
    publishReporting();
    scheduleFlush();
  }
}
addEventListener('online', () => flushReports());

export function setReporting(onOff) {
  store.set('reporting', onOff === 'on');
  if (onOff !== 'on') { store.set('pending', {}); store.set('queue', []); }
  publishReporting();
}

export function publishReporting() {
  if (page.M) page.M.appSetReporting(JSON.stringify({ enabled: reportingEnabled(), pending: store.get('pending', {}), queued: store.get('queue', []).map((q) => q.report) }));
}
