// tests/bench/bench_start_ab.mjs WEB_A WEB_B [ROUNDS] — two builds of the page (assembled web
// folders: a reference and a change) started side by side, their visits alternating
// (side_by_side.mjs), so that a change in start-up is measured against its reference in the same
// minutes.
//
// In each round's fresh profile for each page: a cold visit (the page opened once the window has
// settled, as bench_browser.mjs's cold visit), then a warm and a repeat visit: the first result
// asked for by the page the moment the form's first field appears (first_result.mjs, askAtForm), as
// shown and as checked (ONNX Runtime's run and the model's load check), page clock from navigation
// start, how long after the field the test driver could first have asked (the round trip left
// out), and the longest main-thread task from the form's first field to the checked result (Long
// Tasks, 0 when none was over 50 ms); and a last visit in a tab of its own whose ONNX Runtime worker
// is new ("fresh-worker": shared workers hidden from the page, web/early.js), as a warm visit is
// once the app's shared worker has ended. With TYPING=1 in the environment, each visit types into
// the form from the moment it appears, as bench_browser.mjs's visits do (first_result.mjs,
// typeWhileStarting), and per kind the keystrokes of its visits taken together are given too, as
// bench_browser.mjs gives them: each keystroke to the next painted frame (Event Timing,
// first_result.mjs, keystrokes), p50 and p95. Prints each visit, then per kind the medians, the
// ratio B / A of the checked result's median and, with TYPING=1, of the keystrokes' p95.
//
// Environment as the browser tests' (tests/e2e/harness.mjs): LOCALDX_SOURCE_DIR,
// LOCALDX_SERVER_BIN, LOCALDX_DEMO_DIR (its bundles are published to both servers),
// LOCALDX_E2E_WORK (the servers' folders).
import { openForm, firstResult, longestTask, typeWhileStarting, keystrokes, median, quantile } from './first_result.mjs';
import { sideBySide } from './side_by_side.mjs';

const [webA, webB, roundsArg] = process.argv.slice(2);
if (!webA || !webB) throw new Error('usage: bench_start_ab.mjs WEB_A WEB_B [ROUNDS]');
const ROUNDS = Number(roundsArg || 5);
const SETTLE_MS = 3000, STAY_MS = 4000;  // as bench_browser.mjs: the window settled; the code cache's write

const typing = process.env.TYPING === '1';

async function visit(page, base) {
  const field = await openForm(page, base);
  const first = firstResult(page);
  if (typing) await typeWhileStarting(page, field);
  const { form, shown, checked, driver } = await first;
  let keys = [];
  if (typing) {
    await page.waitForTimeout(300);  // the last keystroke's frame
    keys = (await keystrokes(page)).paint;
  }
  return { form, shown, checked, driver, longest: await longestTask(page, form, checked), keys };
}

const KINDS = ['cold', 'warm', 'repeat', 'fresh-worker'];
const runs = Object.fromEntries(['A', 'B'].map((name) => [name, Object.fromEntries(KINDS.map((k) => [k, []]))]));
await sideBySide('start-ab', webA, webB, ROUNDS, async (ctx, base, name, round) => {
  const page = await ctx.newPage();
  await page.waitForTimeout(SETTLE_MS);
  for (const kind of KINDS) {
    const tab = kind === 'fresh-worker' ? await ctx.newPage() : page;
    if (tab !== page) await tab.addInitScript(() => { delete globalThis.SharedWorker; });
    const v = await visit(tab, base);
    if (kind === 'cold') await page.evaluate(() => navigator.serviceWorker.ready);
    await page.waitForTimeout(STAY_MS);
    runs[name][kind].push(v);
    const keys = typing ? `, keys to paint p95 ${quantile(v.keys, 0.95).toFixed(0)} ms` : '';
    console.log(`  round ${round + 1} ${name} ${kind.padEnd(6)} form ${v.form.toFixed(0)} ms, shown ${v.shown.toFixed(0)} ms, checked ${v.checked.toFixed(0)} ms, longest task ${v.longest.toFixed(0)} ms, the driver could ask ${(v.driver - v.form).toFixed(0)} ms after the form${keys}`);
  }
});

for (const kind of KINDS) {
  const m = {};
  for (const name of ['A', 'B']) {
    const r = runs[name][kind];
    const keys = r.flatMap((v) => v.keys);
    m[name] = { form: median(r.map((v) => v.form)), shown: median(r.map((v) => v.shown)), checked: median(r.map((v) => v.checked)), longest: median(r.map((v) => v.longest)), lag: median(r.map((v) => v.driver - v.form)),
      keys50: keys.length ? quantile(keys, 0.5) : 0, keys95: keys.length ? quantile(keys, 0.95) : 0 };
    const said = keys.length ? `; keys to paint p50 ${m[name].keys50.toFixed(0)} / p95 ${m[name].keys95.toFixed(0)} ms (${keys.length} keys)` : '';
    console.log(`${kind.padEnd(6)} ${name} (${r.length} visits, medians): form ${m[name].form.toFixed(0)} ms, shown ${m[name].shown.toFixed(0)} ms, checked ${m[name].checked.toFixed(0)} ms, longest task ${m[name].longest.toFixed(0)} ms, the driver could ask ${m[name].lag.toFixed(0)} ms after the form${said}`);
  }
  const keysRatio = typing && m.A.keys95 ? `; keys to paint p95, B / A: ${(m.B.keys95 / m.A.keys95).toFixed(3)}` : '';
  console.log(`${kind.padEnd(6)} checked, B / A: ${(m.B.checked / m.A.checked).toFixed(3)}${keysRatio}`);
}
