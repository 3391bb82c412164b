// web/predict.js — one patient's prediction, and the ONNX Runtime cross-check of everything the
// core computes: one path for the UI and the tests.
//
// Index of this file
//   [SECTION] Prediction (core + ONNX Runtime cross-check)
//   [SECTION] A batch table checked row by row (tree models)
//   [SECTION] An imaging model's reference images
'use strict';
import { packFeatures, runOnnx } from './onnx.js';
import { page, now, answered, Refused, showError, pageProblem, onnxStopped } from './page-state.js';
import { reportLater } from './reporting.js';

//-----------------------------------------------------------------------------
// [SECTION] Prediction
//-----------------------------------------------------------------------------
// The core gives probabilities, the feature vector and exact TreeSHAP; ONNX Runtime runs the
// bundle's ONNX model on the same features, and the core decides whether they agree (its
// check/checkTable/checkBackground): otherwise the result is withheld and the disagreement shown.

// The page's ONNX Runtime calls run one at a time (a patient's prediction may come while a batch
// table is being checked), each once the model's session is up.
let ortTail = Promise.resolve();
export function runOnnxInTurn(used, x) {
  const run = ortTail.then(async () => {
    const session = await used.sessionReady;
    return runOnnx(await page.ortReady, session, used.info, x);
  });
  ortTail = run.catch(() => {});
  return run;
}

// Models the core cannot walk (explainer "sampling-shapley"): ONNX Runtime runs the rows the
// core lays out (the patient, then the explainer's sampled rows), and the core reads the outputs.
export async function probabilitiesOnnx(used, x) {
  return (await runOnnxInTurn(used, x))[used.info.onnx.output].data;
}

async function finishOnnx(pending, explain) {
  const inputs = answered(page.current.model.onnxInputs(JSON.stringify(pending.features), explain));
  // The core adds "check" (base + contributions against the probability).
  return JSON.parse(page.current.model.finish(JSON.stringify(pending), await probabilitiesOnnx(page.current, inputs), explain));
}

// A tree model's result (the core's JSON) cross-checked by ONNX Runtime on the same features:
// the core decides whether they agree (its result with "check", or the problem that withholds it).
// The ONNX outputs the core compares with its own are named by the core's model info (onnx.output:
// the probabilities, or a regression's value; onnx.margin).
let checksMarked = false;  // the page's first patient check is marked (tests/bench/start_marks.mjs), not every keystroke's
async function checkResult(used, r) {
  const mark = !checksMarked;
  checksMarked = true;
  if (mark) performance.mark('localdx:patient-check-asked');
  const out = await runOnnxInTurn(used, packFeatures([r], used.info.num_features));
  if (mark) performance.mark('localdx:patient-check-run');
  const { output, margin } = used.info.onnx;
  const K = r.probabilities.length, M = out[margin].dims[1];
  return JSON.parse(used.model.check(JSON.stringify(r), out[output].data.subarray(0, K), out[margin].data.subarray(0, M)));
}

// Tree models: once ONNX Runtime is up, it runs the model on rows spread over the training ranges
// of the bundle's reference (the core's warm-up rows) against the core's own table; a model whose
// ONNX file and trees disagree is not used, and a result shown meanwhile is withdrawn.
// The core's table of those rows is made once the page has drawn the model's form (formDrawn), while
// ONNX Runtime starts, in CHECK_PARTS parts, the page drawing in between: made at once it was one
// main-thread task of about 60 ms here, while the clinician types; made as the model is set it put
// the form off. A patient's check asked for before the session was up runs first (the table's
// runs are queued once those have run): a result it confirms is withdrawn still if this check then
// fails.
const CHECK_PARTS = 4;
export function startOnnxChecks(used) {
  used.loadCheckDone = loadCheck(used);
}
// ONNX Runtime's worker stopping while it runs (a crash, not the model: early.js, workerStopped)
// does not make the model unusable: the check runs once more, in the worker started again.
async function loadCheck(used) {
  let ok = false, why = null;
  for (let tries = 2; tries > 0; tries--) {
    try {
      const rows = await loadCheckRows(used);
      ok = rows.ok;
      why = ok ? null : pageProblem('model_disagrees', rows.worst);
      break;
    } catch (e) {
      why = (e && e.stalled && onnxStopped(e)) || pageProblem('onnx_failed', (e && e.message) || String(e));
      if (!(e && e.workerStopped)) break;
    }
  }
  used.loadCheck = ok;
  used.loadCheckWhy = why;  // the reason a result of this model is withdrawn (predict, batch.js)
  performance.mark('localdx:load-check-done');
  if (ok || page.current !== used) return;
  showError(why.problems[0].message);
  page.M.appSetResultChecked(page.shownSeq, JSON.stringify(why));
}

// Resolves once the page has drawn two frames since (the first with a new model draws its form) and
// is then idle; after a second at most (a hidden tab draws no frames).
function formDrawn() {
  return new Promise((resolve) => {
    setTimeout(resolve, 1000);
    const idle = () => (self.requestIdleCallback ? requestIdleCallback(resolve, { timeout: 500 }) : setTimeout(resolve, 0));
    requestAnimationFrame(() => requestAnimationFrame(idle));
  });
}

// The 64 rows against ONNX Runtime: { ok: whether they agree, worst: the largest difference }. Every
// part's run is queued at once (runOnnxInTurn: back to back in ONNX Runtime's worker, no task of
// the page between them), and each part compared with its run as it comes (checkTable, the run as
// the part's early run). The mark localdx:load-check-start is set once the table is made and the
// session up: from it to localdx:load-check-done, the runs and the comparisons.
async function loadCheckRows(used) {
  used.sessionReady.catch(() => {});  // awaited once the table is made: a session that fails meanwhile is said there
  await formDrawn();
  const parts = [];
  const file = answered(used.model.openBatch(used.model.warmUpCsv(64), now()));
  try {
    for (let i = 0; i < CHECK_PARTS; i++) {
      if (i) await yieldToPage();
      const part = answered(file.table(i, CHECK_PARTS, '', 0));  // not reported
      parts.push({ ...part, meta: JSON.parse(part.meta) });
    }
  } finally {
    file.delete();
  }
  await used.sessionReady;
  await ortTail;
  performance.mark('localdx:load-check-start');
  // A copy runs (ONNX Runtime's proxy takes its buffer); a run that fails fails the check (below).
  const runs = parts.map((part) => runOnnxInTurn(used, part.features.slice()));
  runs.forEach((run) => run.catch(() => {}));
  let rows = 0, agree = true, worst = 0;
  for (const [i, part] of parts.entries()) {
    await runs[i];  // a run that fails fails the check, as when the parts ran one at a time (loadCheck: said in words, or once more in a new worker)
    const early = new Map([[0, { features: part.features, out: runs[i] }]]);
    const slice = await checkTable(used, part.meta, part.table, part.features, part.margins, early);
    rows += part.meta.rows;
    agree = agree && slice.ok;
    worst = Math.max(worst, slice.worst);
  }
  return { ok: agree && rows > 0, worst };
}

let predictSeq = 0;
// One patient: the core's result, cross-checked by ONNX Runtime. With `shown`, a tree model's
// result is handed to shown() at once while ONNX Runtime is still starting (marked "being
// checked"); the promise resolves to the checked result (or the problem that withdraws it).
export async function predict(record, shown = null) {
  if (!page.current) throw new Refused(pageProblem('no_model'));
  const used = page.current;
  const r = JSON.parse(used.model.predict(JSON.stringify(record || {}), true));
  r.seq = ++predictSeq;
  if (!r.ok) return r;
  if (r.pending === 'onnx') {
    const done = await finishOnnx(r, true);
    if (done.ok) reportLater(used, done);
    return { ...done, seq: r.seq };
  }
  // A model that failed its load check shows no result, not even "being checked" for a moment,
  // and is not run again (a model that stops ONNX Runtime's worker would stop it at every Predict).
  if (used.loadCheck === false) return { ...(used.loadCheckWhy || pageProblem('model_not_used')), seq: r.seq };
  if (shown && used.loadCheck === undefined) shown({ ...r, check: { ok: false, pending: true } });
  const checked = { ...(await checkResult(used, r)), seq: r.seq };
  // Checked only once the model has passed its load check too: until then the result stays "being
  // checked" (nothing to save to the chart or print as checked), and a model that fails it is not used.
  if (checked.ok) await used.loadCheckDone;
  if (checked.ok && used.loadCheck === false) return { ...(used.loadCheckWhy || pageProblem('model_not_used')), seq: r.seq };
  if (checked.ok) reportLater(used, checked);
  return checked;
}

// What the test API returns: the core's result in the shape of the spec.
export function publicResult(r) {
  if (!r.ok) {
    const { seq, ...refused } = r;  // the core's envelope, without the page's sequence number
    return refused;
  }
  const ex = r.explanation;
  return {
    ok: true, probabilities: r.probabilities, classes: r.classes, predicted: r.predicted, label: r.label,
    margin: r.margin, base: ex.base, contributions: ex.contributions, fieldContributions: ex.fields,
    outputs: ex.outputs, warnings: r.warnings, features: r.features, check: r.check,
    explainer: ex.kind, unit: ex.unit, standardError: ex.standard_error,
    values: r.values, missingShare: r.missing_share, points: ex.points,
    value: r.value, conformal: r.conformal,  // regression: the predicted value; sets or intervals
  };
}

//-----------------------------------------------------------------------------
// [SECTION] A batch table checked row by row
//-----------------------------------------------------------------------------
// A tree model's batch table against the page's ONNX Runtime session for that model, every row:
// the largest difference of the probabilities, and of the margins (base + sum of contributions).
// `early`: ONNX Runtime's runs of the parts as they were scored (batch.js, earlyRuns), by part
// index; a part's run is used for the part's rows (meta.part_rows, the core's join, counts each
// part's rows; a part starts after the earlier parts') when its features are bit for bit the
// table's there. The rows of a part that is missing or
// differs are run here, in slices of CHECK_ROWS rows (about 10 ms each here), yielding between
// them, so the page keeps drawing; the other parts still use their runs.
const CHECK_ROWS = 500;
// A task of its own (a message to itself): the page may draw in between, and unlike setTimeout
// there is no 4 ms clamp after a few in a row. (scheduler.yield resumed before frames: longer gaps.)
const yieldToPage = () => new Promise((resolve) => { const c = new MessageChannel(); c.port1.onmessage = () => resolve(); c.port2.postMessage(0); });
const sameFloats = (a, b) => {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length), y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
};
// Each part's rows, in part order: the join's count when it adds up to the table's rows, else
// the table as one part (no part's run is then used but part 0's, when it is the whole table).
const partRows = (meta) => {
  const n = meta.part_rows;
  const whole = Array.isArray(n) && n.every((r) => Number.isInteger(r) && r >= 0) && n.reduce((a, r) => a + r, 0) === meta.rows;
  return whole ? n : [meta.rows];
};
export async function checkTable(used, meta, table, features, margins, early = null) {
  const F = used.info.num_features, O = meta.outputs, S = meta.layout.stride;
  const { output, margin } = used.info.onnx;
  let worst = 0, ok = true, onnxMs = 0, runEarly = 0, runLate = 0;
  const compare = (at, n, out) => {
    const slice = JSON.parse(used.model.checkTable(table.subarray(at * S, (at + n) * S), margins.subarray(at * O, (at + n) * O),
      out[output].data, out[margin].data, out[margin].dims[1]));
    ok = ok && slice.ok;
    worst = slice.max_abs_diff === null ? Infinity : Math.max(worst, slice.max_abs_diff);
  };
  const left = [];  // [at, n]: rows no early run checked, adjacent ones as one
  const leave = (at, n) => {
    const last = left[left.length - 1];
    if (last && last[0] + last[1] === at) last[1] += n; else left.push([at, n]);
  };
  let at = 0, lastYield = performance.now();
  for (const [index, n] of partRows(meta).entries()) {
    const from = at;
    at += n;
    const run = early && early.get(index);
    if (run) early.delete(index);  // compared once; its copy of the features is not held longer
    if (!n) continue;
    if (run && sameFloats(run.features, features.subarray(from * F, (from + n) * F))) {
      if (performance.now() - lastYield > 8) { await yieldToPage(); lastYield = performance.now(); }
      const t0 = performance.now();
      const out = await run.out.catch(() => null);
      onnxMs += performance.now() - t0;  // what was left to wait for
      if (out) { compare(from, n, out); runEarly += n; continue; }
    }
    leave(from, n);
  }
  let first = true;
  for (const [from, rows] of left) {
    for (let at = from; at < from + rows; at += CHECK_ROWS) {
      if (!first) await yieldToPage();
      first = false;
      const n = Math.min(CHECK_ROWS, from + rows - at);
      const t0 = performance.now();
      const out = await runOnnxInTurn(used, features.slice(at * F, (at + n) * F));
      onnxMs += performance.now() - t0;
      compare(at, n, out);
      runLate += n;
    }
  }
  return { ok, worst, onnxMs, early: runEarly, late: runLate };
}

//-----------------------------------------------------------------------------
// [SECTION] An imaging model's reference images
//-----------------------------------------------------------------------------
// The bundle's reference images (tensors the core made) through this page's ONNX Runtime session:
// its probability output for all of them, in order.
export async function checkImagesOnnx(used) {
  const session = await used.sessionReady;
  const { name, channels, height, width } = used.info.schema.image.tensor;
  const im = used.info.imaging.model, size = channels * height * width;
  const x = answered(used.model.checkTensors());
  const out = [];
  for (let i = 0; i < im.check.images; i += im.batch ? im.check.images : 1) {
    const n = im.batch ? im.check.images : 1;
    const r = await session.run({ [name]: new page.ort.Tensor('float32', x.slice(i * size, (i + n) * size), [n, channels, height, width]) });
    out.push(...r[im.probabilities.output].data);
  }
  return Float32Array.from(out);
}
