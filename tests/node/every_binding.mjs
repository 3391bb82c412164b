// tests/node/every_binding.mjs — every embind binding, core and app, answers hostile calls
// with a value or the one problem envelope, never a throw, and the heap stays intact.
//
// Usage: node --no-experimental-fetch every_binding.mjs SOURCE_DIR CORE.mjs APP.js TRUST.json BUNDLE.ldxb [IMAGING.ldxb]
//
// The list of bindings is read from the sources at test time (every .cpp and .h under wasm/), so a
// new binding cannot skip this test:
//   - each must be registered through wasm/core/boundary.h (boundary::function, boundary::Class
//     .method): a direct emscripten::function, class_ or .function( fails the test;
//   - the module's own table of guarded entry points (boundaryTable) must list exactly the bindings
//     read from its sources (the core module: wasm/core; the app module: wasm/core and wasm/app).
// Then each entry point is called, in each module, with hostile arguments: none at all, too many,
// each argument in turn and all at once replaced by undefined, null, objects, symbols, BigInts,
// functions, NaN, ±Infinity, huge numbers, empty and lone-surrogate strings, invalid UTF-8 bytes,
// detached and wrong typed arrays; methods also on a deleted handle and on a plain object. Each
// answer must come back (no throw); an envelope {ok: false, problems} (an object, or JSON text for
// an entry that answers text) must carry at least one problem with a code and a message; a call
// with no usable argument must be refused with one. The heap is intact when the same hostile round
// run again leaves the heap in use where it was, and a prediction made before the rounds comes out
// the same after. Prints "N passed, M failed" and exits non-zero on any failure.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

const [sourceDir, corePath, appPath, trustPath, bundlePath, imagingPath] = process.argv.slice(2);
let passed = 0, failed = 0;
const failures = new Map();  // one line per kind of failure, with a count
const check = (ok, what) => {
  if (ok) { passed++; return; }
  failed++;
  failures.set(what, (failures.get(what) || 0) + 1);
};

//-----------------------------------------------------------------------------
// The bindings, read from the sources
//-----------------------------------------------------------------------------
function sourcesUnder(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourcesUnder(p));
    else if (/\.(cpp|h)$/.test(name)) out.push(p);
  }
  return out;
}
const stripComments = (s) => s.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');

// "name" and "Class.method" registered through the guard in these files.
function bindingsIn(files) {
  const names = [];
  for (const file of files) {
    const text = stripComments(readFileSync(file, 'utf8'));
    if (path.basename(file) === 'boundary.h') continue;  // the guard itself registers with embind
    const rel = path.relative(sourceDir, file);
    for (const m of text.matchAll(/\bemscripten::function\s*\(|\bclass_\s*<|(?<![\w:])function\s*\(\s*"|\.function\s*\(|\bvalue_object\s*<|\bregister_vector\s*</g))
      check(false, `${rel}: a binding registered around the guard (${m[0]}): use boundary::function or boundary::Class`);
    for (const m of text.matchAll(/\bfunction\s*<[^;]*?>\s*\(\s*"(\w+)"\s*\)/g)) names.push(m[1]);
    for (const m of text.matchAll(/\bClass\s*<[^>]+>\s*\(\s*"(\w+)"\s*\)([^;]*);/g))
      for (const n of m[2].matchAll(/\.method\s*<[^;]*?>\s*\(\s*"(\w+)"\s*\)/g)) names.push(`${m[1]}.${n[1]}`);
  }
  return names;
}
const wasmDir = path.join(sourceDir, 'wasm');
const coreFiles = sourcesUnder(path.join(wasmDir, 'core'));
const appFiles = sourcesUnder(wasmDir);
const coreNames = bindingsIn(coreFiles);
const appNames = bindingsIn(appFiles.filter((f) => !coreFiles.includes(f)));
check(coreNames.includes('CoreModel.predict') && coreNames.includes('loadBundle'), 'the core bindings are read from wasm/core');
check(appNames.includes('appSetResult') && appNames.includes('a11yTree'), 'the app bindings are read from wasm/app');

//-----------------------------------------------------------------------------
// The modules
//-----------------------------------------------------------------------------
const require = createRequire(import.meta.url);
globalThis.__dirname = path.dirname(path.resolve(corePath));  // Emscripten 3.1.6's ES module output
globalThis.require = require;
const { default: createLocalDxCore } = await import(path.resolve(corePath));
const core = await createLocalDxCore({ wasmBinary: readFileSync(path.resolve(corePath).replace(/\.mjs$/, '.wasm')) });
// The app module is built for pages and workers: under Node it runs as a worker would (no canvas,
// so appStart is only given arguments it must refuse before GLFW starts).
globalThis.importScripts = () => {};
globalThis.self = { location: { href: 'file://' + path.dirname(path.resolve(appPath)) + '/' } };
vm.runInThisContext(readFileSync(appPath, 'utf8') + '\nglobalThis.createLocalDxApp = createLocalDxApp;');
const app = await globalThis.createLocalDxApp({ wasmBinary: readFileSync(path.resolve(appPath).replace(/\.js$/, '.wasm')) });

const trust = readFileSync(trustPath, 'utf8');
const now = Date.now() / 1000;
const bundle = new Uint8Array(readFileSync(bundlePath));
const imaging = imagingPath ? new Uint8Array(readFileSync(imagingPath)) : null;

const sameSet = (a, b) => a.length === b.length && a.every((x) => b.includes(x));
for (const [what, module, names] of [['core', core, coreNames], ['app', app, [...coreNames, ...appNames]]]) {
  const table = Object.keys(JSON.parse(module.boundaryTable()));
  const missing = names.filter((n) => !table.includes(n)), extra = table.filter((n) => !names.includes(n));
  check(sameSet(table, names), `the ${what} module guards exactly the bindings of its sources (not guarded: ${missing.join(', ') || 'none'}; not in the sources: ${extra.join(', ') || 'none'})`);
}

//-----------------------------------------------------------------------------
// Hostile arguments
//-----------------------------------------------------------------------------
function detached(T) {
  const a = new T(8);
  structuredClone(a.buffer, { transfer: [a.buffer] });
  return a;
}
// Values nothing can use, whatever it expects.
const unusable = () => [undefined, null, {}, { length: 1e12 }, Symbol('x'), () => 1, 10n, NaN, Infinity, -Infinity, 1e308, -(2 ** 60), new DataView(new ArrayBuffer(4))];
// Values of some kind, odd in content.
const odd = () => ['', '\uD800', '{"\uDC00": [}', 'x'.repeat(1 << 16), '[]', 'null', -1, 0, -0, 0.5, 2 ** 31, 2 ** 53, true, false, [],
  new Uint8Array([0xff, 0xfe, 0xc0, 0x80]), new Uint8Array(0), detached(Uint8Array), detached(Float32Array), new Float64Array([NaN, -Infinity]),
  new Float32Array(3), new Int8Array(5), [1, 'x', null]];

const isEnvelope = (x) => x !== null && typeof x === 'object' && x.ok === false && 'problems' in x;
function envelopeOf(answer, text) {
  if (!text) return isEnvelope(answer) ? answer : null;
  try { const j = JSON.parse(answer); return isEnvelope(j) ? j : null; } catch { return null; }
}
const isHandle = (x) => x !== null && typeof x === 'object' && typeof x.delete === 'function' && typeof x.isDeleted === 'function';

// One call: it answers (no throw), in the kind its table says, and an envelope says why.
function call(label, fn, self, args, { text, refused = false, badCall = false }) {
  let answer;
  try {
    answer = fn.apply(self, args);
  } catch (e) {
    check(false, `${label} threw ${String(e && e.message ? e.message : e).slice(0, 120)}`);
    return;
  }
  if (text) check(typeof answer === 'string', `${label} answers text`);
  const env = envelopeOf(answer, text);
  if (env) {
    check(Array.isArray(env.problems) && env.problems.length > 0 &&
          env.problems.every((p) => typeof p.code === 'string' && p.code && typeof p.message === 'string' && p.message),
          `${label}: its envelope carries problems, each with a code and a message`);
  }
  if (refused) check(env !== null, `${label} is refused with the problem envelope`);
  // "bad_call" is boundary.js catching a JavaScript throw: before C++ runs when the call itself is
  // wrong (arity, `this`, a class argument); anywhere else it crossed C++ mid-way (no destructors ran).
  if (env && !badCall) check(!env.problems.some((p) => p.code === 'bad_call'), `${label}: no JavaScript exception crosses C++ (${env.problems[0].message.slice(0, 100)})`);
  if (isHandle(answer)) answer.delete();
}

// Live objects for the methods, made afresh for each round (and deleted after it).
function instances(module) {
  const made = [];
  const keep = (x) => { if (isHandle(x)) made.push(x); return x; };
  const loaded = keep(module.loadBundle(bundle, trust, now, '{}'));
  const refusedLoad = keep(module.loadBundle(new Uint8Array([1, 2, 3]), trust, now, '{}'));
  const model = keep(loaded.model());
  const file = keep(model.openBatch('pregnancies,glucose\n1,100\n2,abc\n', now));
  const jobs = [keep(model.imageJob(new Uint8Array(16), 2, 2))];
  if (imaging) {
    const im = keep(module.loadBundle(imaging, trust, now, '{}'));
    const imModel = keep(im.model());
    const side = 64, rgba = new Uint8Array(side * side * 4).map((_, i) => (i * 7) & 255);
    jobs.push(keep(imModel.imageJob(rgba, side, side)));
  }
  return { made, byClass: { LoadOutcome: [loaded, refusedLoad], CoreModel: [model], CoreBatchFile: [file], CoreImageJob: jobs } };
}

function hostileRound(what, module) {
  const table = JSON.parse(module.boundaryTable());
  const live = instances(module);
  for (const [key, { answer, arity, class_arguments: classArgs }] of Object.entries(table)) {
    const text = answer === 'text';
    const [cls, method] = key.includes('.') ? key.split('.') : [null, key];
    const fn = cls ? module[cls].prototype[method] : module[key];
    const selves = cls ? live.byClass[cls] : [module];
    const canvasOnly = key === 'appStart';  // needs a canvas: only arguments it must refuse first
    for (const self of selves) {
      const label = (extra) => `${what}: ${key}(${extra})`;
      if (arity > 0) call(label('no arguments'), fn, self, [], { text, refused: true, badCall: true });
      if (!canvasOnly) call(label('too many arguments'), fn, self, new Array(arity + 2).fill(''), { text, badCall: true });
      for (const h of unusable()) {
        if (arity > 0) call(label(`all ${String(typeof h === 'symbol' ? 'a symbol' : h).slice(0, 20)}`), fn, self, new Array(arity).fill(h), { text, refused: true, badCall: classArgs.length > 0 });
        for (let i = 0; i < arity; i++)
          for (const base of ['', 0]) {
            const args = new Array(arity).fill(base);
            args[i] = h;
            call(label(`argument ${i + 1} unusable`), fn, self, args, { text, refused: true, badCall: classArgs.length > 0 });
          }
      }
      if (canvasOnly) continue;
      for (const h of odd()) {
        if (arity > 0) call(label('all odd'), fn, self, new Array(arity).fill(h), { text, badCall: classArgs.length > 0 });
        for (let i = 0; i < arity; i++)
          for (const base of ['{}', 1]) {
            const args = new Array(arity).fill(base);
            args[i] = h;
            call(label(`argument ${i + 1} odd`), fn, self, args, { text, badCall: classArgs.some((c) => c <= i) });
          }
      }
    }
    if (cls) {
      // A handle already deleted, and an object that is no handle at all, as `this`.
      const gone = live.byClass[cls][0].clone();
      gone.delete();
      call(`${what}: ${key} on a deleted handle`, fn, gone, new Array(arity).fill(''), { text, refused: true, badCall: true });
      call(`${what}: ${key} on a plain object`, fn, {}, new Array(arity).fill(''), { text, refused: true, badCall: true });
    }
  }
  // A class argument that is not its class (appSetModel takes a CoreModel).
  if (module.appSetModel) {
    call(`${what}: appSetModel(a LoadOutcome)`, module.appSetModel, module, [live.byClass.LoadOutcome[0], '{}'], { text: false, refused: true, badCall: true });
    call(`${what}: appSetModel(a plain object)`, module.appSetModel, module, [{}, '{}'], { text: false, refused: true, badCall: true });
  }
  for (const x of live.made.reverse()) if (!x.isDeleted()) x.delete();
}

//-----------------------------------------------------------------------------
// The rounds, and the heap
//-----------------------------------------------------------------------------
const record = '{"pregnancies": 2, "glucose": 148, "pressure": 72, "bmi": 33.6, "age": 50}';
for (const [what, module] of [['core', core], ['app', app]]) {
  const loaded = module.loadBundle(bundle, trust, now, '{}');
  const model = loaded.model();
  loaded.delete();
  if (module.appSetModel) module.appSetModel(model, '{}');  // the app's bindings with a model, as on the page
  const before = model.predict(record, true);
  hostileRound(what, module);  // the first round: whatever the core allocates once (caches) is made here
  const heap1 = module.heapInUse();
  hostileRound(what, module);
  hostileRound(what, module);
  const heap3 = module.heapInUse();
  check(heap3 <= heap1 + (64 << 10), `${what}: the heap in use after two more hostile rounds is ${heap3} bytes, after the first ${heap1}: it must not grow`);
  check(model.predict(record, true) === before, `${what}: a prediction after the hostile rounds is the one made before`);
  console.log(`# ${what}: heap in use ${(heap1 / 1e6).toFixed(2)} MB after one hostile round, ${(heap3 / 1e6).toFixed(2)} MB after three`);
  if (!module.appSetModel) model.delete();
}

for (const [what, n] of failures) console.error(`FAIL ${what}${n > 1 ? ` (${n} times)` : ''}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
