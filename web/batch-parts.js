// web/batch-parts.js — one batch table from the parts of a file scored on several threads.
//
// The core scores part i of n of a file (core_api.h, BatchFile and BatchPart; in JavaScript
// model.openBatch(text, now).table(i, n)): part i is its own consecutive share of the file's
// data rows, with those rows' problems (part 0 also has the file's own). Joined in order, the
// parts are exactly the table of the whole file (tested bit for bit in
// tests/node/batch_parts.mjs). Used by the batch worker and by that test.
'use strict';

function concat(Type, arrays) {
  const out = new Type(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) { out.set(a, at); at += a.length; }
  return out;
}

// parts: [{meta (JSON text), table, features, margins}] in part order. Returns the same shape
// with meta parsed: rows, warnings (indices into one warning_kinds list), patients, problems, the
// explained outputs' texts and the reports ("part_reports", in part order) of every part.
export function joinBatchParts(parts) {
  const metas = parts.map((p) => JSON.parse(p.meta));
  const meta = { ...metas[0], rows: 0, warnings: [], warning_kinds: [], patients: null, problems: [], explanation: { ...metas[0].explanation, of: {} } };
  const kindIndex = new Map();
  const anyPatients = metas.some((m) => m.patients);
  if (anyPatients) meta.patients = [];
  metas.forEach((m, i) => {
    if (!m.part || m.part.index !== i || m.part.count !== parts.length) throw new Error(`batch part ${i} of ${parts.length} is missing or out of order`);
    const kinds = m.warning_kinds.map((k) => {
      const key = k.field + '\n' + k.message;
      if (!kindIndex.has(key)) { kindIndex.set(key, meta.warning_kinds.length); meta.warning_kinds.push(k); }
      return kindIndex.get(key);
    });
    for (const w of m.warnings) meta.warnings.push(w.map((k) => kinds[k]));
    if (anyPatients) meta.patients.push(...(m.patients || new Array(m.rows).fill('')));
    meta.problems.push(...m.problems);
    Object.assign(meta.explanation.of, m.explanation.of);
    if (m.explanation.bases?.length) meta.explanation.bases = m.explanation.bases;  // the same in every part that has rows
    meta.rows += m.rows;
  });
  meta.part = { index: 0, count: 1, rows_in_file: metas[0].part.rows_in_file };
  // Each part's reports, made by the core from its predictions (joined by the core: reportMerge).
  delete meta.reports;
  meta.part_reports = metas.filter((m) => m.reports).map((m) => m.reports);
  return {
    meta,
    table: concat(Float64Array, parts.map((p) => p.table)),
    features: concat(Float32Array, parts.map((p) => p.features)),
    margins: concat(Float64Array, parts.map((p) => p.margins)),
  };
}
