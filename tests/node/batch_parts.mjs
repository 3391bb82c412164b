// tests/node/batch_parts.mjs — a file scored in parts, as the batch worker and its helper do,
// joined by the core (joinBatchParts: core_batch_join_meta, the numbers set end to end), is exactly
// the whole file's table.
//
// Usage: node --no-experimental-fetch batch_parts.mjs CORE.mjs BUNDLE TRUST INPUT...
//   INPUT: CSV or FHIR R4 (Bundle or NDJSON) files of patients for BUNDLE's model.
// For every input, and for a CSV input also with some rows made invalid:
//   - two threads' copies of the file (model.openBatch, read once each) score parts in
//     interleaved, out-of-order turns; joined in part order, for 2, 3, 7 and 1024 parts (more
//     parts than rows: empty parts), the table, features and margins equal the whole file's bit
//     for bit, and the meta (rows, warnings, patients, problems in row order) is the same;
//   - a part out of range is refused with the problem "bad_part"; parts joined out of order,
//     a part missing, or a part whose table is cut short, are refused with it too; numbers that
//     are not a typed array of the right kind are refused;
//   - the part count the worker uses (file.parts(): core_batch_part_count) covers the file;
// and the batch worker's warm-up file (model.warmUpCsv) validates and scores every row; and a CSV
// input's rows repeated to a file of 1,537 rows (1,000 or more: the batch's own tables and
// products, 8 rows at a time with wasm SIMD, shared/explain/treeshap.cpp) give the table, features
// and margins of the same rows scored in files of 500 (a row's own tables, 8 rows at a time
// without products) and in a file of 24 (fewer than 32 rows: one row at a time) bit for bit.
// Prints "N passed, M failed" and exits non-zero on any failure.
import { readFileSync } from 'node:fs';
import { loadBundle } from './load_core.mjs';

const [corePath, bundlePath, trustPath, ...inputs] = process.argv.slice(2);
const { core, model, info } = await loadBundle(corePath, bundlePath, trustPath);
// The core's join, its meta parsed (as the batch worker reads it); its refusal thrown.
function joinBatchParts(parts) {
  const joined = core.joinBatchParts(parts);
  if (joined.ok === false) throw new Error(joined.problems.map((p) => `${p.code}: ${p.message}`).join(' '));
  return { ...joined, meta: JSON.parse(joined.meta) };
}
let passed = 0, failed = 0;
const check = (ok, what) => { if (ok) passed++; else { failed++; console.error('FAIL', what); } };
const same = (a, b) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
const now = Date.now() / 1000;

// Rows 2, 5 and the last but one of a CSV get a value that is not a number in their first field
// column: three problems, in three different parts of 3 or 7.
function withBadRows(text) {
  const lines = text.trimEnd().split(/\r?\n/);
  const column = lines[0].split(',').findIndex((h) => info.schema.fields.some((f) => f.name === h.split('[')[0]));
  for (const row of [2, 5, lines.length - 2]) {
    const cells = lines[row].split(',');
    cells[column] = 'not-a-number';
    lines[row] = cells.join(',');
  }
  return lines.join('\n') + '\n';
}

// The whole file as one part (the table a single thread makes).
function wholeTable(text) {
  const file = model.openBatch(text, now);
  try { return joinBatchParts([file.table(0, 1, '', 0)]); } finally { file.delete(); }
}

function checkFile(name, text, wantProblems) {
  const whole = wholeTable(text);
  check(whole.meta.rows > 0 && whole.table.length === whole.meta.rows * whole.meta.stride, `${name}: the whole file scores ${whole.meta.rows} rows`);
  check(whole.meta.problems.length === wantProblems, `${name}: ${whole.meta.problems.length} problems, want ${wantProblems}`);
  const threads = [model.openBatch(text, now), model.openBatch(text, now)];
  check(threads[0].rows() === whole.meta.part.rows_in_file, `${name}: the opened file has ${threads[0].rows()} data rows, the whole table says ${whole.meta.part.rows_in_file}`);
  for (const count of [2, 3, 7, 1024]) {
    const pieces = new Array(count);
    // Thread 0 takes parts from the end, thread 1 from the start, in turns.
    for (let lo = 0, hi = count - 1, turn = 0; lo <= hi; turn++) {
      const i = turn % 2 ? lo++ : hi--;
      pieces[i] = threads[turn % 2].table(i, count, '', 0);
    }
    const joined = joinBatchParts(pieces);
    check(same(joined.table, whole.table) && same(joined.features, whole.features) && same(joined.margins, whole.margins),
          `${name}, ${count} parts joined: table, features and margins equal the whole file's bit for bit`);
    // Everything but each part's rows (part_rows: the whole file's one part has them all).
    const rowsOf = pieces.map((p) => JSON.parse(p.meta).rows);
    check(JSON.stringify(joined.meta.part_rows) === JSON.stringify(rowsOf) && JSON.stringify(whole.meta.part_rows) === JSON.stringify([whole.meta.rows]),
          `${name}, ${count} parts joined: part_rows ${JSON.stringify(joined.meta.part_rows).slice(0, 80)} are the parts' rows`);
    const { part_rows: a, ...joinedRest } = joined.meta, { part_rows: b, ...wholeRest } = whole.meta;
    check(JSON.stringify(joinedRest) === JSON.stringify(wholeRest), `${name}, ${count} parts joined: meta equals the whole file's`);
  }
  for (const [part, parts] of [[2, 2], [0, 0], [0.5, 2], [-1, 2], [0, 2048]]) {
    const bad = JSON.parse(threads[0].table(part, parts, '', 0).meta);
    check(bad.rows === 0 && bad.problems.length === 1 && bad.problems[0].code === 'bad_part' && bad.problems[0].field === 'part',
          `${name}: part ${part} of ${parts} is refused: ${JSON.stringify(bad.problems)}`);
  }
  let outOfOrder = '', missing = '';
  try { joinBatchParts([threads[1].table(1, 2, '', 0), threads[0].table(0, 2, '', 0)]); } catch (e) { outOfOrder = e.message; }
  check(/^bad_part: .*out of order/.test(outOfOrder), `${name}: parts joined out of order are refused (${outOfOrder})`);
  try { joinBatchParts([threads[0].table(0, 2, '', 0)]); } catch (e) { missing = e.message; }
  check(/^bad_part: /.test(missing), `${name}: a part missing is refused (${missing})`);
  // A part whose numbers are not its rows' (a row's table cut short) is refused; numbers of
  // another type are refused in the boundary's words.
  const two = [threads[0].table(0, 2, '', 0), threads[1].table(1, 2, '', 0)];
  if (JSON.parse(two[1].meta).rows > 0) {
    let cut = '';
    try { joinBatchParts([two[0], { ...two[1], table: two[1].table.subarray(1) }]); } catch (e) { cut = e.message; }
    check(/^bad_part: .*part 1 of 2/.test(cut), `${name}: a part's table cut short is refused (${cut})`);
  }
  let typed = '';
  try { joinBatchParts([{ ...two[0], margins: Array.from(two[0].margins) }, two[1]]); } catch (e) { typed = e.message; }
  check(/margins is not a Float64Array/.test(typed), `${name}: margins that are not a Float64Array are refused (${typed})`);
  const count = threads[0].parts(), rows = threads[0].rows();
  check(count === Math.max(1, Math.min(1024, Math.ceil(rows / 500))), `${name}: ${rows} rows are scored in ${count} parts`);
  threads.forEach((f) => f.delete());
}

// 1,537 rows (not a multiple of 8: a last block of 1 row) from the file's rows, repeated; scored in
// pieces of 500 first (the model keeps the batch's tables once a large file has made them).
function checkLanes(name, text) {
  const [header, ...rows] = text.trimEnd().split(/\r?\n/);
  const big = Array.from({ length: 1537 }, (_, i) => rows[i % rows.length]);
  const csv = (lines) => [header, ...lines].join('\n') + '\n';
  const pieces = [];
  for (let at = 0; at < big.length; at += 500) pieces.push(wholeTable(csv(big.slice(at, at + 500))));
  const whole = wholeTable(csv(big));
  check(whole.meta.rows === big.length && whole.meta.problems.length === 0, `${name}, ${big.length} rows: all scored (${whole.meta.rows})`);
  // A piece's rows are numbered from its own first row (the table's "row" column): renumbered as
  // the one file's before they are compared.
  const { stride, row } = whole.meta.layout;
  pieces.forEach((p, i) => { for (let r = 0; r < p.meta.rows; r++) p.table[r * stride + row] += i * 500; });
  for (const k of ['table', 'features', 'margins']) {
    const joined = pieces.flatMap((p) => Array.from(p[k]));
    check(same(Array.from(whole[k]), joined), `${name}, ${big.length} rows in one file (the batch's products, 8 rows at once): ${k} equal the same rows' in files of 500 bit for bit`);
  }
  // Fewer than 32 rows are explained one at a time (the walk one patient takes).
  const few = wholeTable(csv(big.slice(0, 24)));
  check(few.meta.rows === 24, `${name}, 24 rows: all scored (${few.meta.rows})`);
  for (const k of ['table', 'features', 'margins']) {
    const n = few[k].length;
    check(n > 0 && same(Array.from(whole[k].subarray(0, n)), Array.from(few[k])), `${name}, 24 rows one at a time: ${k} equal the same rows' in the file of ${big.length} bit for bit`);
  }
}

// The worker's warm-up file (made up from the schema): every row validates and is scored.
const warmMeta = wholeTable(model.warmUpCsv(300)).meta;
check(warmMeta.rows === 300 && warmMeta.problems.length === 0, `warm-up file: ${warmMeta.rows} of 300 rows scored, problems ${JSON.stringify(warmMeta.problems.slice(0, 2))}`);
check(model.warmUpCsv(-1).trim().split('\n').length === 1, 'warm-up file of -1 rows: the header only');

for (const input of inputs) {
  const text = readFileSync(input, 'utf8');
  checkFile(input, text, 0);
  if (/\.csv$/.test(input)) checkFile(input + ' with 3 invalid rows', withBadRows(text), 3);
}
for (const input of inputs.filter((f) => /\.csv$/.test(f))) checkLanes(input, readFileSync(input, 'utf8'));
console.log(`${info.name}: ${inputs.length} inputs in parts; ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
