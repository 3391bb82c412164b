// tests/bench/keys_running.mjs WEB_A WEB_B [ROUNDS] — a keystroke's cost once the page runs, two
// builds of the page (assembled web folders: a reference and a change) side by side, their
// profiles alternating (side_by_side.mjs), ROUNDS each (3 unless given). Where bench_browser.mjs
// types while the page starts, this types once it has started: the form open, the first result
// checked, 3 s left for the page to settle, then twice what a start-up visit types
// (first_result.mjs, typeWhileStarting: 36 keys, a key every 70 ms).
//
// Per build, over every keystroke of its rounds (first_result.mjs, keystrokes): the keystroke to the
// next painted frame (Event Timing), the keydown to the first frame the app posted after it and to
// that frame committed by the render worker (web/render.js). p50 and p95, ms, and the ratio B / A.
//
// Environment as the browser tests' (tests/e2e/harness.mjs): LOCALDX_SOURCE_DIR,
// LOCALDX_SERVER_BIN, LOCALDX_DEMO_DIR (its bundles are published to both servers; each web folder
// assembled with its keys/trust.json), LOCALDX_E2E_WORK (the servers' folders).
import { openForm, firstResult, typeWhileStarting, keystrokes, forgetKeystrokes, quantile } from './first_result.mjs';
import { sideBySide } from './side_by_side.mjs';

const [webA, webB, roundsArg] = process.argv.slice(2);
if (!webA || !webB) throw new Error('usage: keys_running.mjs WEB_A WEB_B [ROUNDS]');
const ROUNDS = Number(roundsArg || 3);
const SETTLE_MS = 3000;

const keys = { A: { paint: [], posted: [], committed: [] }, B: { paint: [], posted: [], committed: [] } };
await sideBySide('keys-running', webA, webB, ROUNDS, async (ctx, base, name, round) => {
  const page = await ctx.newPage();
  const field = await openForm(page, base);
  await firstResult(page);
  await page.waitForTimeout(SETTLE_MS);
  await forgetKeystrokes(page);
  await typeWhileStarting(page, field);
  await typeWhileStarting(page, field);
  await page.waitForTimeout(300);  // the last keystroke's frame
  const r = await keystrokes(page);
  for (const k of Object.keys(r)) keys[name][k].push(...r[k]);
  console.log(`  round ${round + 1} ${name}: ${r.paint.length} keys, to paint p50 ${quantile(r.paint, 0.5)} ms, to the app's frame p50 ${quantile(r.posted, 0.5).toFixed(1)} ms`);
});
for (const k of ['paint', 'posted', 'committed']) {
  const [a, b] = [keys.A[k], keys.B[k]];
  if (!a.length || !b.length) { console.log(`${k}: no keystrokes measured`); continue; }
  const f = (xs) => `p50 ${quantile(xs, 0.5).toFixed(1)} / p95 ${quantile(xs, 0.95).toFixed(1)} ms (${xs.length} keys)`;
  console.log(`${k.padEnd(9)} A ${f(a)}; B ${f(b)}; B / A p50 ${(quantile(b, 0.5) / quantile(a, 0.5)).toFixed(2)}, p95 ${(quantile(b, 0.95) / quantile(a, 0.95)).toFixed(2)}`);
}
