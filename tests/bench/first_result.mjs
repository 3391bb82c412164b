// tests/bench/first_result.mjs — a clinician's first prediction as the start-up benchmarks ask for
// it (bench_browser.mjs, bench_start_ab.mjs, start_marks.mjs, start_cpu.mjs, keys_running.mjs): the
// page opened on pima-diabetes, and the moment its form's first field appears, one patient
// predicted at once, asked for by the page itself (askAtForm), so that the test driver's polling
// and round trips are not part of it; what a person feels meanwhile (instrumentFeel, keystrokes,
// longestTask); a visit after a browser restart (afterRestart).
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { chromium, chromiumOptions, testHooks } from '../e2e/harness.mjs';

// The page opened at BASE (a fresh navigation: about:blank first, as the same URL again would only
// move to its #fragment); resolves with the form's first field once the test driver sees it.
export async function openForm(page, base) {
  await page.goto('about:blank');
  await page.goto(`${base}/#model=pima-diabetes`);
  return page.waitForSelector('#a11y input[type=text]', { timeout: 60000 });
}

// Installed in a context with addInitScript (it runs in the page from its first script): when the
// form's first field is added to the page (a MutationObserver: the accessible layer mirrors the
// app's first frame with a model, web/a11y.js), the first result is asked for there and then, as
// shown (a tree model's is shown while ONNX Runtime starts, "being checked") and as checked (ONNX
// Runtime's run and the model's load check). globalThis.__ldxFirst: { form, answer } (ms on the
// page's clock from navigation start; answer a promise of { ok, shown, checked } or { ok: false, why }).
export function askAtForm() {
  const patient = { glucose: 120, age: 40, mass: 30 };
  const first = globalThis.__ldxFirst = { form: null, answer: null };
  const ask = async () => {
    await window.localdx.ready;
    const early = await window.localdx.predictShown(patient);
    if (!early.ok) throw new Error('the first prediction failed');
    const shown = performance.now();
    const r = await window.localdx.predict(patient);
    if (!r.ok || !r.check.ok) throw new Error('the first prediction was not checked');
    return { ok: true, shown, checked: performance.now() };
  };
  new MutationObserver((_, observer) => {
    if (first.answer || !document.querySelector('#a11y input[type=text]')) return;
    observer.disconnect();
    first.form = performance.now();
    first.answer = ask().catch((e) => ({ ok: false, why: e.message }));
  }).observe(document, { subtree: true, childList: true });
}

// The first result of the page opened by openForm (its context has askAtForm): { form, shown,
// checked, driver } ms on the page's clock from navigation start; `driver`, when the test driver,
// having seen the field, could first ask the page (the round trip these figures leave out). Throws
// when either result fails.
export async function firstResult(page) {
  const r = await page.evaluate(async () => {
    const driver = performance.now();
    const first = globalThis.__ldxFirst;
    if (!first || !first.answer) return { ok: false, why: 'the form appeared before askAtForm could see it' };
    return { ...(await first.answer), form: first.form, driver };
  });
  if (!r.ok) throw new Error(r.why);
  return r;
}

// Typing into the form's first field `field` as a clinician would while the page still starts (the
// start-up benches' typed visits): three times a number typed and erased with real key events, a
// key every 70 ms, about 3 s.
export async function typeWhileStarting(page, field) {
  await field.click();
  for (let k = 0; k < 3; k++) {
    await page.keyboard.type('123.45', { delay: 70 });
    for (let i = 0; i < 6; i++) { await page.keyboard.press('Backspace'); await page.waitForTimeout(70); }
  }
}

// Installed in a context with addInitScript (before askAtForm): what a person feels while the page
// starts, recorded from its first script on. globalThis.__ldxFeel: the main thread's long tasks
// (Long Tasks API: [start, duration]), the key events' Event Timing entries (each from the key's
// timestamp to the next frame painted after its handlers; entries of 16 ms and more, as
// [interactionId, duration]), and each keydown's time (ms since the epoch: performance.timeOrigin +
// its timeStamp, to match with the canvas's frames when the render worker draws them, web/render.js:
// Event Timing, on the page's thread, does not include that frame). A task posted from an animation
// frame is no measure of the paint here: on a busy main thread Chromium runs frames before it,
// seconds late.
export function instrumentFeel() {
  const b = globalThis.__ldxFeel = { longtasks: [], events: [], keyAt: [] };
  try { new PerformanceObserver((l) => { for (const e of l.getEntries()) b.longtasks.push([e.startTime, e.duration]); }).observe({ type: 'longtask', buffered: true }); } catch { /* not offered */ }
  try { new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.name.startsWith('key') && e.interactionId) b.events.push([e.interactionId, e.duration]); }).observe({ type: 'event', durationThreshold: 16, buffered: true }); } catch { /* not offered */ }
  addEventListener('keydown', (e) => { b.keyAt.push(performance.timeOrigin + e.timeStamp); }, true);
}

// The keystrokes instrumentFeel recorded in `page` (since the page opened, or since
// forgetKeystrokes): { paint, posted, committed }, ms per key. `paint`: the keystroke to the next
// painted frame (the longest Event Timing entry of its interaction, keydown or keyup, as INP counts
// it; 16 for keys without an entry, painted sooner). `posted`: the keydown to the first frame the
// app posted after it (input read, the UI laid out, its vertices packed, on the page's thread);
// `committed`: to that frame committed by the render worker. Both empty for a page that draws the
// canvas itself, whose frames the `paint` figure includes.
export async function keystrokes(page) {
  const b = await page.evaluate(() => globalThis.__ldxFeel);
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

export async function forgetKeystrokes(page) {
  await page.evaluate(() => { globalThis.__ldxFeel.events = []; globalThis.__ldxFeel.keyAt = []; });
}

// The longest main-thread task instrumentFeel recorded in `page` between `from` and `until` (ms on
// the page's clock; 0 when none was over 50 ms).
export async function longestTask(page, from, until) {
  const tasks = await page.evaluate(() => globalThis.__ldxFeel.longtasks);
  return Math.max(0, ...tasks.filter(([t, d]) => t + d > from && t < until).map(([, d]) => d));
}

// The q-quantile of xs (the element at floor(q × (n − 1)) of the sorted values).
export function quantile(xs, q) {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(q * (s.length - 1))];
}

// The median of xs (the mean of the two middle values for an even count).
export function median(xs) {
  const s = [...xs].sort((x, y) => x - y), h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

// A visit after the browser was closed and opened again (a profile on disk, a new browser process:
// what a clinician meets the next morning): the profile's first visit made and the service worker
// ready, the browser closed, opened again, and `visit(page)` made; its result. Each time, the
// context gets the init scripts `inits` and the page is opened once the browser's window has
// settled (settleMs) and left `stayMs` after the visit (Chromium writes compiled code to its cache
// a while later).
export async function afterRestart(inits, visit, { settleMs = 3000, stayMs = 5000 } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ldx-bench-profile-'));
  try {
    let result = null;
    for (let time = 0; time < 2; time++) {
      const ctx = await testHooks(await chromium.launchPersistentContext(dir, { ...chromiumOptions, viewport: { width: 1280, height: 800 } }));
      try {
        for (const init of inits) await ctx.addInitScript(init);
        const page = ctx.pages()[0] || await ctx.newPage();
        await page.waitForTimeout(settleMs);
        result = await visit(page);
        if (time === 0) await page.evaluate(() => navigator.serviceWorker.ready);
        await page.waitForTimeout(stayMs);
      } finally {
        await ctx.close();
      }
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
