// tests/bench/bench_batch_node.mjs — a file's batch path in the wasm core under Node, as the batch
// worker (web/batch-worker.js) calls it on one thread: model.openBatch, every part's file.table
// and core.joinBatchParts. Prints the CPU time of each step (process.cpuUsage), pass by pass.
//
// Usage: node --no-experimental-fetch bench_batch_node.mjs CORE.mjs BUNDLE TRUST CSV [ROWS] [PASSES]
//   ROWS: the CSV's data rows repeated or cut to this many (default 2,000); PASSES: default 2 (the
//   first builds the batch's tables when the file is large enough: core_api.h, kBatchTablesFromRows).
// Each pass also prints a hash (FNV-1a) of the joined table's and margins' bytes, so two builds of
// the core can be shown to give the same numbers bit for bit. Run it with `node --cpu-prof` for a
// profile of the same calls.
import { readFileSync } from 'node:fs';
import { loadBundle } from '../node/load_core.mjs';

const [corePath, bundlePath, trustPath, csvPath, rowsArg = '2000', passesArg = '2'] = process.argv.slice(2);
const { core, model } = await loadBundle(corePath, bundlePath, trustPath);
const lines = readFileSync(csvPath, 'utf8').trimEnd().split(/\r?\n/);
const [header, ...data] = lines;
const rows = [];
for (let i = 0; rows.length < Number(rowsArg); i++) rows.push(data[i % data.length]);
const text = [header, ...rows].join('\n') + '\n';
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const now = Date.now() / 1000;
const hash = (...arrays) => {
  let h = 0x811c9dc5;
  for (const a of arrays) for (const b of new Uint8Array(a.buffer, a.byteOffset, a.byteLength)) h = Math.imul(h ^ b, 16777619) >>> 0;
  return h.toString(16).padStart(8, '0');
};
for (let pass = 0; pass < Number(passesArg); pass++) {
  const t0 = cpu();
  const file = model.openBatch(text, now);
  const t1 = cpu();
  const count = file.parts();
  const parts = [];
  for (let i = 0; i < count; i++) {
    const part = file.table(i, count, '', 0);
    if (part.ok === false) throw new Error(JSON.stringify(part.problems));
    parts.push(part);
  }
  const t2 = cpu();
  const joined = core.joinBatchParts(parts);
  const meta = JSON.parse(joined.meta);
  const t3 = cpu();
  file.delete();
  console.log(JSON.stringify({ pass, rows: meta.rows, parts: count, read_ms: +(t1 - t0).toFixed(1), parts_ms: +(t2 - t1).toFixed(1), join_ms: +(t3 - t2).toFixed(1), hash: hash(joined.table, joined.margins) }));
}
