// tests/bench/first_result.mjs — a clinician's first prediction as the start-up benchmarks ask for
// it (bench_browser.mjs, bench_start_ab.mjs, start_marks.mjs): the page opened on pima-diabetes, and
// the moment its form's first field appears, one patient predicted at once, asked for by the page
// itself (askAtForm), so that the test driver's polling and round trips are not part of it.

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
