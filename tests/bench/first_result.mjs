// tests/bench/first_result.mjs — a clinician's first prediction as the start-up benchmarks ask for
// it (bench_browser.mjs, bench_start_ab.mjs, start_marks.mjs): the page opened on pima-diabetes, and
// as soon as its form's first field appears, one patient predicted at once.

// The page opened at BASE (a fresh navigation: about:blank first, as the same URL again would only
// move to its #fragment); resolves with the form's first field once it is there.
export async function openForm(page, base) {
  await page.goto('about:blank');
  await page.goto(`${base}/#model=pima-diabetes`);
  return page.waitForSelector('#a11y input[type=text]', { timeout: 60000 });
}

// Run in the page (page.evaluate): the first result as shown (a tree model's, "being checked" while
// ONNX Runtime starts) and as checked (ONNX Runtime's run and the model's load check), ms on the
// page's clock from navigation start. Throws when either fails.
export async function firstResultInPage() {
  await window.localdx.ready;
  const early = await window.localdx.predictShown({ glucose: 120, age: 40, mass: 30 });
  if (!early.ok) throw new Error('the first prediction failed');
  const shown = performance.now();
  const r = await window.localdx.predict({ glucose: 120, age: 40, mass: 30 });
  if (!r.ok || !r.check.ok) throw new Error('the first prediction was not checked');
  return { shown, checked: performance.now() };
}
