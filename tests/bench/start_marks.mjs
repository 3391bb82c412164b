// tests/bench/start_marks.mjs [RUNS] [TRACE_DIR] — where a visit's first checked result waits: the
// page's User Timing marks (localdx:*, set by web/early.js, page.js, bundles.js and predict.js) and
// when its files arrived (Resource and Navigation Timing) of a cold,
// second and third visit in one profile and of a visit after a browser restart, against the
// server at $BASE (pima-diabetes published), RUNS profiles (3 unless given); the medians of each
// mark, the first result shown and checked, ms on the page's clock from navigation start. With
// TRACE_DIR, Chromium's trace of each visit of the first profile (TRACE_DIR/<visit>.json); with
// MARKS_JSON=FILE in the environment, every visit's marks written there.
// Each visit asks for the first prediction as tests/bench/bench_browser.mjs does, without typing;
// with TYPING=1 in the environment, typing into the form from the moment it appears, as that bench's
// visits do (first_result.mjs, typeWhileStarting).
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { launch } from '../e2e/harness.mjs';
import { openForm, askAtForm, firstResult, typeWhileStarting, afterRestart, median } from './first_result.mjs';

const base = process.env.BASE;
const runs = Number(process.argv[2] || 3);
const traceDir = process.argv[3] || null;
const jsonOut = process.env.MARKS_JSON || null;  // every visit's marks, when set (a file name)
const CATEGORIES = ['devtools.timeline', 'blink.user_timing', 'v8.wasm', 'disabled-by-default-v8.wasm.detailed', 'v8', 'blink', 'ServiceWorker', 'loading'];

const typing = process.env.TYPING === '1';

async function visit(page) {
  const field = await openForm(page, base);
  const asked = firstResult(page);
  if (typing) await typeWhileStarting(page, field);
  const times = await asked;
  const r = await page.evaluate((t) => {
    for (const m of performance.getEntriesByType('mark')) if (m.name.startsWith('localdx:') && !(m.name.slice(8) in t)) t[m.name.slice(8)] = m.startTime;
    // The page's own files: when the navigation's service worker started (0: none controls the
    // page), when the page and the files the start waits for had arrived (responseEnd).
    const nav = performance.getEntriesByType('navigation')[0];
    if (nav) Object.assign(t, { 'sw-start': nav.workerStart, 'html-end': nav.responseEnd, 'dom-interactive': nav.domInteractive });
    const named = { 'assets.json': 'assets-end', '/api/v1/models': 'index-end', '/api/v1/bundles/': 'bundle-end' };
    for (const r of performance.getEntriesByType('resource')) {
      const u = new URL(r.name);
      const key = Object.keys(named).find((k) => u.pathname.endsWith(k) || u.pathname.startsWith(k))
        ?? (/^\/localdx_app\.[0-9a-f]+\.wasm$/.test(u.pathname) ? 'app-wasm-end' : /^\/localdx_app\.[0-9a-f]+\.js$/.test(u.pathname) ? 'app-js-end' : null);
      const name = key && (named[key] || key);
      if (name && !(name in t)) t[name] = r.responseEnd;
    }
    return t;
  }, times);
  await page.waitForTimeout(5000);  // as the bench: Chromium writes compiled code to its cache a while later
  return r;
}

const visits = { cold: [], warm: [], repeat: [], restart: [] };
const browser = await launch();
for (let run = 0; run < runs; run++) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await ctx.addInitScript(askAtForm);
  const page = await ctx.newPage();
  await page.waitForTimeout(3000);
  for (const name of ['cold', 'warm', 'repeat']) {
    const trace = traceDir && run === 0;
    if (trace) await browser.startTracing(page, { path: path.join(traceDir, `${name}.json`), categories: CATEGORIES });
    visits[name].push(await visit(page));
    if (trace) await browser.stopTracing();
    if (name === 'cold') await page.evaluate(() => navigator.serviceWorker.ready);
  }
  await ctx.close();
}
await browser.close();
for (let run = 0; run < runs; run++) visits.restart.push(await afterRestart([askAtForm], visit, { stayMs: 0 }));  // visit() stays itself
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(visits, null, 1));
for (const [name, rs] of Object.entries(visits)) {
  const keys = [...new Set(rs.flatMap((r) => Object.keys(r)))].filter((k) => rs.every((r) => k in r));
  const med = keys.map((k) => [k, median(rs.map((r) => r[k]))]).sort((a, b) => a[1] - b[1]);
  console.log(`${name.padEnd(8)} ${med.map(([k, v]) => `${k} ${Math.round(v)}`).join(', ')}`);
}
