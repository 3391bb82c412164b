// web/reports.js — predictions added to the pending aggregate report, for the page (reporting.js) and
// the batch worker (batch-worker.js): one loop, the randomization itself done by the core.
//
// Each prediction's values, probabilities and class go into the core's reportAdd with a fresh
// random seed (randomized response happens there); the core says when the report is complete
// (k patients), and it is queued under a random Idempotency-Key. Nothing else about the patient is kept.
// 53 random bits: an integer a double holds exactly (the core seeds its generator with it).
export function randomSeed() {
  const a = new Uint32Array(2);
  crypto.getRandomValues(a);
  return (a[0] & 0x1fffff) * 4294967296 + a[1];
}

function newKey() {
  const id = new Uint8Array(16);
  crypto.getRandomValues(id);
  return hex(id);
}

export const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

// Returns { pending: report text or '' , queued: [{ key, report }] }; the core decides when a
// report is complete (k patients).
export function addToReports(model, pendingText, predictions, { day }) {
  const queued = [];
  let text = pendingText || '';
  for (const r of predictions) {
    const slim = JSON.stringify({ ok: true, values: r.values, probabilities: r.probabilities, predicted: r.predicted });
    const next = JSON.parse(model.reportAdd(text, slim, day, randomSeed()));
    for (const report of next.complete) queued.push({ key: newKey(), report });
    text = next.pending ? JSON.stringify(next.pending) : '';
  }
  return { pending: text, queued };
}

// A file's reports (batch-worker.js): each part's, made by the core from its predictions as it
// scored them (model.openBatch(...).table(i, n, day, seed)), joined with the pending report by
// the core (it decides what is complete).
export function mergePartReports(model, pendingText, partReports, { day }) {
  const r = JSON.parse(model.reportMerge(pendingText || '', JSON.stringify(partReports), day));
  return { pending: r.pending ? JSON.stringify(r.pending) : '', queued: r.complete.map((report) => ({ key: newKey(), report })) };
}
