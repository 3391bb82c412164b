// tests/bench/bench_imaging.mjs BASE OUT.json MODEL_DIR — scripts/bench's imaging part: the demo
// CNN bundle (opacity-demo) in headless Chromium against the real server. One 224 x 224 PNG at a
// time through the page's Image view path (decoded by the browser, preprocessed by the core,
// ONNX Runtime Web in the worker): the worker's time to read it (decode and preprocess), to the
// probability and its map, and to the
// whole result with the deletion curve (22 more images); the page's time to the image and its map
// handed to the app (shown before the deletion curve's runs) and for the whole image; and the
// bundle verified and loaded again. Medians (p50) of 30 images after 5 warm-up images, each asked
// for once the page has settled from the last (its frames drawn: as one image opened).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { launch } from '../e2e/harness.mjs';

const [base, out, modelDir] = process.argv.slice(2);
const results = {};
const pct = (a, q) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(q * (s.length - 1))]; };
const put = (name, value, unit) => { results[name] = { value, unit }; console.log(`  ${name.padEnd(52)} ${value.toFixed(3).padStart(10)} ${unit}`); };

const browser = await launch();
const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await ctx.newPage();
const t0 = Date.now();
await page.goto(`${base}/#model=opacity-demo`);
await page.evaluate(() => window.localdx.ready);
await page.waitForFunction(() => window.localdx.model() && window.localdx.model().name === 'opacity-demo', null, { timeout: 120000 });
put('imaging.page_ready', (Date.now() - t0) / 1000, 's');
await page.evaluate(() => window.localdx.batchReady());
const images = Array.from({ length: 35 }, (_, i) => {
  const name = `synthetic-${String(i % 40).padStart(3, '0')}.png`;
  return { name, bytes: readFileSync(path.join(modelDir, 'test', name)).toString('base64') };
});
const timed = await page.evaluate(async (files) => {
  const out = [];
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  for (const f of files) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    await frame();
    const t = performance.now();
    const [r] = await window.localdx.scoreImages([f]);
    if (!r.ok) throw new Error(f.name + ': ' + JSON.stringify(r.problems));
    const page = performance.now() - t;  // a page that shows the image only with its curve: shown at the end
    out.push({ page, shown: r.ms_shown === undefined ? page : r.ms_shown, read: r.ms_read, map: r.ms_map, whole: r.ms, runtime: r.runtime });
  }
  return out;
}, images);
const runs = timed.slice(5);
put('imaging.image_read_p50', pct(runs.map((r) => r.read), 0.5), 'ms');
put('imaging.image_map_p50', pct(runs.map((r) => r.map), 0.5), 'ms');
put('imaging.image_map_deletion_p50', pct(runs.map((r) => r.whole), 0.5), 'ms');
put('imaging.image_shown_page_p50', pct(runs.map((r) => r.shown), 0.5), 'ms');
put('imaging.image_page_p50', pct(runs.map((r) => r.page), 0.5), 'ms');
console.log(`  ONNX Runtime ran on ${runs[0].runtime}`);
const load = await page.evaluate(() => window.localdx.timeBundleLoad(5));
put('imaging.bundle_verify_p50', pct(load.verify, 0.5), 'ms');
put('imaging.bundle_load', load.load, 'ms');
put('imaging.bundle_size', load.bytes / 1024, 'KiB');
await browser.close();
writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
