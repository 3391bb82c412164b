// tests/node/boundary.mjs — the wasm boundary never throws, and replaced models are freed.
//
// Usage: node --no-experimental-fetch boundary.mjs CORE.mjs TRUST.json BUNDLE.ldxb [BUNDLE.ldxb ...]
// Feeds every embind entry point malformed input (invalid UTF-8 inside a bundle, lone surrogates,
// wrong JSON types, wrong array types) and checks each answers with the core's JSON (a reason a
// person can read), never an exception; then loads the bundles 50 times in turn, deleting each
// replaced handle as the page does, and checks the heap in use does not grow with the count.
// Prints "N passed, M failed" and exits non-zero on any failure.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const [corePath, trustPath, ...bundlePaths] = process.argv.slice(2);
const require = createRequire(import.meta.url);
globalThis.__dirname = path.dirname(path.resolve(corePath));
globalThis.require = require;
const { default: createLocalDxCore } = await import(path.resolve(corePath));
const core = await createLocalDxCore({ wasmBinary: readFileSync(path.resolve(corePath).replace(/\.mjs$/, '.wasm')) });
const trust = readFileSync(trustPath, 'utf8');
const now = Date.now() / 1000;
let passed = 0, failed = 0;
const check = (ok, what) => { if (ok) passed++; else { failed++; console.error('FAIL', what); } };

// An entry point answers: no exception, and JSON text (or a handle) that says what went wrong.
function answers(what, call, { json = true } = {}) {
  let out;
  // A C++ exception let through would reach here as WebAssembly's own exception (the core is built
  // with -fwasm-exceptions: shared/CMakeLists.txt).
  const cpp = (e) => typeof WebAssembly.Exception === 'function' && e instanceof WebAssembly.Exception;
  try { out = call(); } catch (e) { check(false, `${what} threw ${cpp(e) ? 'a C++ exception' : e}`); return null; }
  if (!json) { check(true, what); return out; }
  try { const j = JSON.parse(out); check(true, what); return j; } catch { check(false, `${what} gave text that is not JSON: ${String(out).slice(0, 80)}`); return null; }
}

const bytes = new Uint8Array(readFileSync(bundlePaths[0]));
const loaded = core.loadBundle(bytes, trust, now, '{}');
check(loaded.ok(), 'the demo bundle loads');
const model = loaded.model();
loaded.delete();

// Bundles: a byte of the manifest set to 0xFF (invalid UTF-8), truncated, and junk.
const at = new TextDecoder('latin1').decode(bytes).indexOf('"name"');
const bad = bytes.slice(); bad[at + 9] = 0xff;
for (const [what, b] of [['invalid UTF-8 in the manifest', bad], ['truncated', bytes.slice(0, 100)], ['junk', new Uint8Array([0xff, 0xfe, 0, 1])]]) {
  const r = answers(`loadBundle(${what})`, () => core.loadBundle(b, trust, now, '{}'), { json: false });
  if (!r) continue;
  check(!r.ok(), `loadBundle(${what}) refuses`);
  const e = answers(`loadBundle(${what}).error()`, () => r.error());
  check(e && e.ok === false && e.problems.length === 1 && typeof e.problems[0].code === 'string' && e.problems[0].message.length > 0,
        `loadBundle(${what}) says why, in the problem envelope: ${JSON.stringify(e)}`);
  r.delete();
}
answers('loadBundle with a lone surrogate in the trust root and floors', () => core.loadBundle(bytes, '\uD800', now, '{"\uDC00": 1}'), { json: false })?.delete();

// Strings with lone surrogates, invalid JSON and wrong JSON types, into every string entry point.
const texts = ['\uD800', '{"glucose": "\uDC00"}', '{"\uD800": 1}', '[]', '7', '{"glucose": {"value": []}}', '{"glucose": {"unit": 5}}', 'null', ''];
for (const t of texts) {
  const p = answers(`predict(${JSON.stringify(t)})`, () => model.predict(t, true));
  check(p && p.ok === false && Array.isArray(p.problems) && p.problems.length > 0, `predict(${JSON.stringify(t)}) refuses with problems`);
  answers(`predictBatch(${JSON.stringify(t)})`, () => model.predictBatch(t, true, now));
  answers(`verifyIndex(${JSON.stringify(t)})`, () => core.verifyIndex(t, trust, now, 0));
  answers(`verifyIndex with the trust root ${JSON.stringify(t)}`, () => core.verifyIndex('{}', t, now, 0));
  answers(`reportAdd(${JSON.stringify(t)})`, () => model.reportAdd(t, t, '2026-11-29', 1));
  answers(`reportAdd(pending, ${JSON.stringify(t)})`, () => model.reportAdd('', '{"ok": true, "values": ' + (t || '0') + ', "probabilities": "x", "predicted": []}', t, 1));
  const same = answers(`samePatient(${JSON.stringify(t)})`, () => model.samePatient(t, '{"values": [1, null]}'));
  check(same && same.same === false, `samePatient(${JSON.stringify(t)}) is not the same patient`);
  answers(`samePatient(values ${JSON.stringify(t)})`, () => model.samePatient('{"values": [' + t + ']}', '{"values": [' + t + ']}'));
  answers(`finish(${JSON.stringify(t)})`, () => model.finish(t, new Float32Array(2), true));
  answers(`check(${JSON.stringify(t)})`, () => model.check(t, new Float32Array(2), new Float32Array(1)));
  answers(`reportMerge(${JSON.stringify(t)})`, () => model.reportMerge(t, t, t));
  const f = answers(`openBatch(${JSON.stringify(t)})`, () => model.openBatch(t, now), { json: false });
  if (f) { answers(`openBatch(${JSON.stringify(t)}).table`, () => f.table(0, 1, t, 1), { json: false }); f.delete(); }
}
answers('checkTable with arrays of the wrong sizes', () => model.checkTable(new Float64Array(5), new Float64Array(2), new Float32Array(3), new Float32Array(1), 7));
const background = answers('checkBackground of a tree model', () => model.checkBackground(new Float32Array(4)));
check(background && background.ok === false && background.problems[0].code === 'bad_check', `checkBackground of a tree model says why: ${JSON.stringify(background)}`);
// What only the page notices, in the core's words (client/page_words.h), as the one envelope.
const decode = answers('pageProblem(image_undecodable)', () => core.pageProblem('image_undecodable', ''));
check(decode && decode.ok === false && decode.problems[0].code === 'bad_image', `pageProblem: ${JSON.stringify(decode)}`);
const unknown = answers('pageProblem(unknown)', () => core.pageProblem('\uD800', '\uDC00'));
check(unknown && unknown.ok === false && unknown.problems[0].code === 'internal', `pageProblem of an unknown id: ${JSON.stringify(unknown)}`);
// The page's status lines, in the core's words (page_sentence): the text, or the envelope for a fault.
const ready = answers('pageSentence(model_ready)', () => core.pageSentence('model_ready', JSON.stringify({ title: 'T', version: 2 })));
check(ready && ready.ok === true && ready.text === 'Model ready: T, version 2. Signature verified.', `pageSentence: ${JSON.stringify(ready)}`);
const missing = answers('pageSentence(model_ready, {})', () => core.pageSentence('model_ready', '{}'));
check(missing && missing.ok === false && missing.problems[0].code === 'internal', `pageSentence without its details: ${JSON.stringify(missing)}`);
answers('warmUpCsv(-1)', () => model.warmUpCsv(-1), { json: false });
// The page's clock has a fraction of a second: the report days are those of its whole second.
const timing = answers('reportTiming(now)', () => core.reportTiming(1800000000.75));
check(timing && timing.oldest_day === '2027-01-14' && timing.newest_day === '2027-01-16' && timing.send_after_seconds.length === 2,
      `reportTiming(1800000000.75): ${JSON.stringify(timing)}`);
// What-if edits are one patient; another patient is not (the rule itself: tests/unit/test_drift.cpp).
check(JSON.parse(model.samePatient('{"values": [2, 120, 70, null]}', '{"values": [2, 190, 70, null]}')).same === true, 'a what-if edit is the same patient');
check(JSON.parse(model.samePatient('{"values": [2, 120, 70, null]}', '{"values": [5, 95, 60, null]}')).same === false, 'another patient is not');
model.delete();

// Switching models 50 times, deleting each replaced handle: the heap in use stays bounded.
const all = bundlePaths.map((p) => new Uint8Array(readFileSync(p)));
let current = null, after10 = 0;
for (let i = 0; i < 50; i++) {
  const r = core.loadBundle(all[i % all.length], trust, now, '{}');
  const next = r.ok() ? r.model() : null;
  r.delete();
  if (next) JSON.parse(next.predict('{}', true));
  if (current) current.delete();
  current = next;
  if (i === 9) after10 = core.heapInUse();
}
const after50 = core.heapInUse();
check(after50 <= after10 * 1.05 + (1 << 20), `heap in use after 50 switches ${after50} bytes, after 10 ${after10}: it must not grow with the count`);
console.log(`# heap in use after 10 switches ${(after10 / 1e6).toFixed(1)} MB, after 50 ${(after50 / 1e6).toFixed(1)} MB`);
current?.delete();

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
