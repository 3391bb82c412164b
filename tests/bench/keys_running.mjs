// tests/bench/keys_running.mjs WEB_A WEB_B [ROUNDS] — a keystroke's cost once the page runs, two
// builds of the page (assembled web folders: a reference and a change) side by side, their
// profiles alternating (A then B, then B then A in the next round, and so on), ROUNDS each (3
// unless given). Where bench_browser.mjs types while the page starts, this types once it has
// started: the form open, the first result checked, 3 s left for the page to settle, then twice
// what a start-up visit types (first_result.mjs, typeWhileStarting: 36 keys, a key every 70 ms).
//
// Per build, over every keystroke of its rounds: the keystroke to the next painted frame (Event
// Timing, as bench_browser.mjs counts it: the longest entry of its interaction; 16 ms for keys
// without an entry, painted sooner), the keydown to the first frame the app posted after it (the
// app's own frame on the page's thread: input read, the UI laid out, its vertices packed) and to
// that frame committed by the render worker (web/render.js). p50 and p95, ms, and the ratio B / A.
//
// Environment as the browser tests' (tests/e2e/harness.mjs): LOCALDX_SOURCE_DIR,
// LOCALDX_SERVER_BIN, LOCALDX_DEMO_DIR (its bundles are published to both servers; each web folder
// assembled with its keys/trust.json), LOCALDX_E2E_WORK (the servers' folders).
import { startServerWithDemo, launch } from '../e2e/harness.mjs';
import { openForm, askAtForm, firstResult, typeWhileStarting } from './first_result.mjs';

const [webA, webB, roundsArg] = process.argv.slice(2);
if (!webA || !webB) throw new Error('usage: keys_running.mjs WEB_A WEB_B [ROUNDS]');
const ROUNDS = Number(roundsArg || 3);
const SETTLE_MS = 3000;

const INSTRUMENT = () => {
  const b = globalThis.__ldxKeys = { events: [], keyAt: [] };
  try { new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.name.startsWith('key') && e.interactionId) b.events.push([e.interactionId, e.duration]); }).observe({ type: 'event', durationThreshold: 16, buffered: true }); } catch { /* not offered */ }
  addEventListener('keydown', (e) => { b.keyAt.push(performance.timeOrigin + e.timeStamp); }, true);
};

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };

// One profile's keystrokes: { paint, posted, committed } (ms per key).
async function typed(page, base) {
  const field = await openForm(page, base);
  await firstResult(page);
  await page.waitForTimeout(SETTLE_MS);
  await page.evaluate(() => { globalThis.__ldxKeys.events = []; globalThis.__ldxKeys.keyAt = []; });
  await typeWhileStarting(page, field);
  await typeWhileStarting(page, field);
  await page.waitForTimeout(300);  // the last keystroke's frame
  const b = await page.evaluate(() => globalThis.__ldxKeys);
  const frames = await page.evaluate(() => (window.localdx.display && window.localdx.display.offscreen() ? window.localdx.display.committed() : []));
  const interactions = new Map();
  for (const [id, d] of b.events) interactions.set(id, Math.max(d, interactions.get(id) || 0));
  const paint = [...interactions.values(), ...new Array(Math.max(0, b.keyAt.length - interactions.size)).fill(16)];
  const posted = [], committed = [];
  for (const k of b.keyAt) {
    const f = frames.find((x) => x.posted >= k);
    if (f) { posted.push(f.posted - k); committed.push(f.at - k); }
  }
  return { paint, posted, committed };
}

const servers = {};
const keys = { A: { paint: [], posted: [], committed: [] }, B: { paint: [], posted: [], committed: [] } };
let browser = null;
try {
  for (const [name, web] of [['A', webA], ['B', webB]]) {
    servers[name] = await startServerWithDemo(`keys-running-${name}`, web);
  }
  browser = await launch();
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of round % 2 ? ['B', 'A'] : ['A', 'B']) {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });  // the test hooks: launch()
      await ctx.addInitScript(INSTRUMENT);
      await ctx.addInitScript(askAtForm);
      const r = await typed(await ctx.newPage(), servers[name].base);
      for (const k of Object.keys(r)) keys[name][k].push(...r[k]);
      console.log(`  round ${round + 1} ${name}: ${r.paint.length} keys, to paint p50 ${pct(r.paint, 0.5)} ms, to the app's frame p50 ${pct(r.posted, 0.5).toFixed(1)} ms`);
      await ctx.close();
    }
  }
  for (const k of ['paint', 'posted', 'committed']) {
    const [a, b] = [keys.A[k], keys.B[k]];
    if (!a.length || !b.length) { console.log(`${k}: no keystrokes measured`); continue; }
    const f = (xs) => `p50 ${pct(xs, 0.5).toFixed(1)} / p95 ${pct(xs, 0.95).toFixed(1)} ms (${xs.length} keys)`;
    console.log(`${k.padEnd(9)} A ${f(a)}; B ${f(b)}; B / A p50 ${(pct(b, 0.5) / pct(a, 0.5)).toFixed(2)}, p95 ${(pct(b, 0.95) / pct(a, 0.95)).toFixed(2)}`);
  }
} finally {
  if (browser) await browser.close();
  for (const s of Object.values(servers)) s.stop();  // none left running when a visit fails
}
