// tests/bench/bench_browser.mjs BASE OUT.json CSV_DIR WEB_DIR [SWEEP_DIR] — the browser side of
// scripts/bench: the wasm core, ONNX Runtime Web and the whole page in headless Chromium, against
// the real server; with SWEEP_DIR, the size sweep's models (SWEEP_DIR/sweep-*/data.csv, published
// as bundles of the same names) alone.
import { readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { launch, csvRecords } from '../e2e/harness.mjs';
import { openForm, askAtForm, firstResult, typeWhileStarting, instrumentFeel, keystrokes, longestTask, quantile, afterRestart } from './first_result.mjs';

const [base, out, csvDir, webDir, sweepDir] = process.argv.slice(2);
const results = {};
const put = (name, value, unit) => { results[name] = { value, unit }; console.log(`  ${name.padEnd(52)} ${value.toFixed(3).padStart(10)} ${unit}`); };

// One visit, as a clinician makes it: the page opened, and the moment its form appears, typing into
// its first field with real key events (Playwright's keyboard: three times a number typed and
// erased, a key every 70 ms, about 3 s) while the start-up work still runs; meanwhile the first
// prediction, asked for by the page itself the moment the field appeared (first_result.mjs,
// askAtForm: window.localdx.predictShown, then a checked one). Page clock
// from navigation start (s): the form usable, the first result shown (a tree model's is shown
// while ONNX Runtime starts, "being checked") and checked by ONNX Runtime; each keystroke to its
// next painted frame (ms: the longest Event Timing entry of its interaction, keydown or keyup, as
// INP counts it; 16 for keys without an entry, painted sooner); each keydown to the canvas's frame
// that shows it, when the render worker draws (ms: to when the worker had committed the first
// frame the app posted after the key; none for a page that draws the canvas itself, whose frame
// the keystroke-to-paint figure includes); the longest main-thread task from the form's appearance
// to the checked result (ms, 0 when none was over 50 ms).
async function visit(page) {
  const field = await openForm(page, base);
  const first = firstResult(page);
  await typeWhileStarting(page, field);
  const { form, shown, checked } = await first;
  await page.waitForTimeout(300);  // the last keystroke's frame
  const { paint, committed } = await keystrokes(page);
  const longest = await longestTask(page, form, checked);
  return { form: form / 1000, shown: shown / 1000, checked: checked / 1000, keys: paint, keysToCanvas: committed, longest };
}

// `lines` (a CSV's header and rows) repeated to n rows.
function repeatCsv(text, n) {
  const lines = text.trim().split('\n');
  const out = [lines[0]];
  for (let i = 0; out.length <= n; i++) out.push(lines[1 + (i % (lines.length - 1))]);
  return out.join('\n') + '\n';
}

const browser = await launch();

// The size sweep: per model, the wasm core per patient (200 patients), the bundle verified from its
// bytes and loaded as the page loads it, and 10,000 patients through the batch view.
if (sweepDir) {
  const names = readdirSync(sweepDir).filter((n) => n.startsWith('sweep-') && existsSync(path.join(sweepDir, n, 'data.csv'))).sort();
  for (const name of names) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    await page.goto(`${base}/#model=${name}`);
    await page.evaluate(() => window.localdx.ready);
    await page.waitForFunction((n) => window.localdx.model() && window.localdx.model().name === n, name, { timeout: 120000 });
    // The batch worker and its helper prepare themselves once the model is ready (the bundle verified
    // again, ONNX Runtime's session): on two cores, timed only once they are done.
    await page.evaluate(() => window.localdx.batchReady());
    const text = readFileSync(path.join(sweepDir, name, 'data.csv'), 'utf8');
    const records = csvRecords(text, ['y']).slice(0, 200);
    await page.evaluate((rs) => window.localdx.timeCore(rs.slice(0, 20)), records);  // warm-up
    const core = await page.evaluate((rs) => window.localdx.timeCore(rs), records);
    put(`${name}.wasm.explain_one_p50`, quantile(core, 0.5), 'ms');
    put(`${name}.wasm.explain_one_p99`, quantile(core, 0.99), 'ms');
    const load = await page.evaluate(() => window.localdx.timeBundleLoad(5));
    put(`${name}.bundle_size`, load.bytes / (1024 * 1024), 'MiB');
    put(`${name}.page.bundle_verify_p50`, quantile(load.verify, 0.5), 'ms');
    put(`${name}.page.bundle_load`, load.load, 'ms');
    await page.evaluate(() => window.localdx.batchReady());
    const batch = await page.evaluate(async (t) => { const start = performance.now(); const r = await window.localdx.scoreCsv(t); return { ...r, ms: performance.now() - start }; }, repeatCsv(text, 10000));
    if (batch.rows !== 10000) throw new Error(`${name}: the batch scored ${batch.rows} rows`);
    put(`${name}.page.batch_10k_explained_page_clock`, batch.ms / 1000, 's');
    // Where the time went (ms): the file read by the core on each thread, each thread's parts,
    // the wait for the helper, the join, the worker's reply as the page saw it, the check by
    // ONNX Runtime (its runs alone, then with the core's comparison), the table handed to the app.
    for (const [k, v] of Object.entries(batch.timing || {})) if (k.endsWith('_ms')) put(`${name}.page.batch_10k.${k}`, v, 'ms');
    await ctx.close();
  }
  await browser.close();
  writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  process.exit(0);
}

// LOCALDX_BENCH_ONLY=start (scripts/bench): the start-up visits alone.
const startOnly = process.env.LOCALDX_BENCH_ONLY === 'start';
const models = startOnly ? {} : { 'pima-diabetes': [path.join(csvDir, 'pima-diabetes.csv'), 'diabetes'], 'synthetic-300x6': [path.join(csvDir, 'synthetic.csv'), 'y'] };
for (const [name, [csv, label]] of Object.entries(models)) {
  const bundleName = name === 'synthetic-300x6' ? 'synthetic' : name;
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  await page.goto(`${base}/#model=${bundleName}`);
  await page.evaluate(() => window.localdx.ready);
  await page.waitForFunction((n) => window.localdx.model() && window.localdx.model().name === n, bundleName);
  const text = readFileSync(csv, 'utf8');
  const records = csvRecords(text, [label]).slice(0, 300);
  await page.evaluate((rs) => window.localdx.timeCore(rs.slice(0, 50)), records);   // warm-up
  const core = await page.evaluate((rs) => window.localdx.timeCore(rs, 2), records);
  put(`${name}.wasm.explain_one_p50`, quantile(core, 0.5), 'ms');
  put(`${name}.wasm.explain_one_p99`, quantile(core, 0.99), 'ms');
  const full = await page.evaluate(async (rs) => { const ms = []; for (const r of rs) { const t = performance.now(); await window.localdx.predict(r); ms.push(performance.now() - t); } return ms; }, records);
  put(`${name}.page.validate_predict_explain_check_p50`, quantile(full, 0.5), 'ms');
  put(`${name}.page.validate_predict_explain_check_p99`, quantile(full, 0.99), 'ms');
  const ortT = await page.evaluate(() => window.localdx.timeOrt(200));
  put(`${name}.ort.session_create`, ortT.create, 'ms');
  put(`${name}.ort.run_one_p50`, quantile(ortT.run, 0.5), 'ms');
  // 10,000 patients through the batch path (core + one ONNX Runtime batch + cross-check + table).
  const big = repeatCsv(text, 10000);
  // The batch runs in a worker (and its helper, on the other core): the page's longest gap between
  // animation frames meanwhile shows whether the UI stayed responsive. The worker prepares itself
  // a moment after the model's first result is checked, while the clinician picks a file; the bench
  // waits for that here, and times a file dropped at the very start separately below.
  await page.evaluate(() => window.localdx.batchReady());
  const t0 = Date.now();
  const batch = await page.evaluate(async (t) => {
    let gap = 0, last = performance.now(), running = true;
    const tick = () => { const n = performance.now(); gap = Math.max(gap, n - last); last = n; if (running) requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
    const start = performance.now();
    const r = await window.localdx.scoreCsv(t);
    const ms = performance.now() - start;
    running = false;
    return { ...r, gap, ms };
  }, big);
  // Driver clock (it includes passing the 1.5 MB file to the page and the result back, 0.3-0.5 s
  // here), and the page's own clock: from the file's text to the table shown.
  put(`${name}.page.batch_10k_explained`, (Date.now() - t0) / 1000, 's');
  put(`${name}.page.batch_10k_explained_page_clock`, batch.ms / 1000, 's');
  put(`${name}.page.batch_10k_longest_frame_gap`, batch.gap, 'ms');
  if (batch.rows !== 10000) throw new Error('batch scored ' + batch.rows + ' rows');
  if (!/two threads/.test(batch.status)) console.log(`  (the batch ran on one thread: ${batch.status})`);
  // The same file the moment the model is ready: the worker, its helper and their ONNX Runtime
  // and model start first (a fresh page).
  const atOnce = await ctx.newPage();
  await atOnce.goto(`${base}/#model=${bundleName}`);
  await atOnce.evaluate(() => window.localdx.ready);
  await atOnce.waitForFunction((n) => window.localdx.model() && window.localdx.model().name === n, bundleName);
  const t1 = Date.now();
  const first = await atOnce.evaluate(async (t) => { const start = performance.now(); const r = await window.localdx.scoreCsv(t); return { ...r, ms: performance.now() - start }; }, big);
  put(`${name}.page.batch_10k_first_file_at_start`, (Date.now() - t1) / 1000, 's');
  put(`${name}.page.batch_10k_first_file_at_start_page_clock`, first.ms / 1000, 's');
  if (first.rows !== 10000) throw new Error('batch scored ' + first.rows + ' rows');
  await ctx.close();
}

// Cold start (fresh profile) and warm start (cached, then offline), each a visit as above (typing
// from the moment the form appears); three fresh profiles, the median of each kind of start
// (this machine is noisy), the keystrokes of the three taken together.
//
// Each new browser window first loads Chromium's own omnibox popup (a chrome:// page of about 160
// modules, traced: 1.2 s of its renderer's main thread and 1.0 s of its pool in the first 3 s), on
// the same two cores. A clinician opens the window and then types the address or picks a bookmark,
// so the page is opened once the window has settled; the same visit made the moment the window
// opens is measured separately (start.cold_first_prediction_window_just_opened).
const SETTLE_MS = 3000;
const said = (v) => `${v.form.toFixed(2)}/${v.shown.toFixed(2)}/${v.checked.toFixed(2)}; ${v.longest.toFixed(0)}; keys max ${Math.max(...v.keys).toFixed(0)}` +
  (v.keysToCanvas.length ? `, to canvas max ${Math.max(...v.keysToCanvas).toFixed(0)}` : '');
const starts = { cold: [], warm: [], repeat: [], offline: [], coldJustOpened: [] };
const STAY_MS = 5000;  // see below
for (let run = 0; run < 3; run++) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await ctx.addInitScript(instrumentFeel);
  await ctx.addInitScript(askAtForm);
  const page = await ctx.newPage();
  await page.waitForTimeout(SETTLE_MS);
  // Timed by the page's own clock, from navigation start to the first prediction's result (the
  // test driver's polling and round trips are not part of it; `ready` means the model is loaded).
  // After each visit the page stays open a few seconds, as a clinician reading the result would:
  // Chromium writes a wasm module's compiled code to its cache (the service worker's copy) in the
  // background a while after the code was compiled; leaving at once measures an interrupted write.
  const firstPrediction = async () => {
    const s = await visit(page);  // a real load each time (openForm: about:blank first)
    await page.waitForTimeout(STAY_MS);
    return s;
  };
  starts.cold.push(await firstPrediction());
  await page.evaluate(() => navigator.serviceWorker.ready);
  starts.warm.push(await firstPrediction());    // second visit: files from the service worker
  starts.repeat.push(await firstPrediction());  // third visit
  await ctx.setOffline(true);
  starts.offline.push(await firstPrediction());
  await ctx.close();
  const opened = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await opened.addInitScript(instrumentFeel);
  await opened.addInitScript(askAtForm);
  starts.coldJustOpened.push(await visit(await opened.newPage()));
  await opened.close();
  console.log('  start (s, form/shown/checked; longest task ms; keystroke to paint and to canvas frame ms) ' + Object.entries(starts).map(([k, v]) => `${k} ${said(v.at(-1))}`).join(', '));
}
// Warm start after the browser was closed and opened again (a profile on disk, a new browser
// process): what a clinician meets the next morning. Nothing compiled is left in memory then, so
// it shows what Chromium's code cache keeps (see README, "Benchmarks"). The page is opened once
// the browser's window has settled, as above.
starts.restart = [];
for (let run = 0; run < 3; run++) {
  starts.restart.push(await afterRestart([instrumentFeel, askAtForm], visit, { settleMs: SETTLE_MS, stayMs: STAY_MS }));
  console.log(`  start (s, form/shown/checked; longest task ms; keystroke ms) after a browser restart ${said(starts.restart.at(-1))}`);
}
// Medians of the form usable, the first result as shown and as checked by ONNX Runtime, and of
// the longest main-thread task until then (and the worst of the three); the keystrokes' time to
// the next painted frame, all visits of a kind together (p95, worst).
for (const [name, runs] of [['cold', starts.cold], ['cold_window_just_opened', starts.coldJustOpened], ['warm', starts.warm],
  ['repeat_visit', starts.repeat], ['offline', starts.offline], ['warm_after_browser_restart', starts.restart]]) {
  put(`start.${name}_form_usable`, quantile(runs.map((r) => r.form), 0.5), 's');
  put(`start.${name}_first_prediction`, quantile(runs.map((r) => r.shown), 0.5), 's');
  put(`start.${name}_first_prediction_checked`, quantile(runs.map((r) => r.checked), 0.5), 's');
  const keys = runs.flatMap((r) => r.keys);
  put(`start.${name}_keystroke_to_paint_p95`, quantile(keys, 0.95), 'ms');
  put(`start.${name}_keystroke_to_paint_max`, Math.max(...keys), 'ms');
  const toCanvas = runs.flatMap((r) => r.keysToCanvas);
  if (toCanvas.length > 0) {  // the render worker drew the canvas (web/render.js)
    put(`start.${name}_keystroke_to_canvas_frame_p95`, quantile(toCanvas, 0.95), 'ms');
    put(`start.${name}_keystroke_to_canvas_frame_max`, Math.max(...toCanvas), 'ms');
  }
  put(`start.${name}_longest_task_form_to_checked`, quantile(runs.map((r) => r.longest), 0.5), 'ms');
  put(`start.${name}_longest_task_form_to_checked_max`, Math.max(...runs.map((r) => r.longest)), 'ms');
}
await browser.close();

// Transfer sizes of what a first visit downloads (the page's script: its modules together; an
// older page, measured against this one, may lack some).
const PAGE_MODULES = ['page.js', 'render.js', 'early.js', 'page-state.js', 'answers.js', 'bundles.js', 'predict.js', 'batch.js', 'files.js', 'validate-images.js', 'reporting.js', 'host.js', 'compile.js'];
const assets = JSON.parse(readFileSync(path.join(webDir, 'assets.json'), 'utf8'));
for (const [name, file] of [['app_wasm', assets.app_wasm], ['app_js', assets.app_js], ['core_wasm', assets.core_wasm], ['batch_worker_js', assets.batch_worker], ['ort_wasm', assets.ort.replace('ort.wasm.min.mjs', 'ort-wasm-simd-threaded.wasm')], ['ort_js', assets.ort], ['page_js', PAGE_MODULES.filter((f) => existsSync(path.join(webDir, f)))]]) {
  const bytes = Buffer.concat([].concat(file).map((f) => readFileSync(path.join(webDir, f))));
  put(`size.${name}.raw`, bytes.length / 1024, 'KiB');
  put(`size.${name}.gzip`, gzipSync(bytes, { level: 9 }).length / 1024, 'KiB');
}
writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
