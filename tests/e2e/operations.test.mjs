// tests/e2e/operations.test.mjs — the Operations view (wasm/app/views/operations_view.cpp) against the
// real server fed real randomized reports with a covariate shift on one field (node --test).
//
// Index of this file
//   [SECTION] Set-up: the server, and three days of reports built by the core
//   [SECTION] The view with the operator's token
//   [SECTION] A multilabel model: each finding's estimate, and its card's figures per finding
//
// The reports are what the browser sends: each patient (a real Pima row) is scored by the core
// (the page's own localdx_core module, under Node) and added with the core's reportAdd, which
// randomizes it, in reports of k patients. The server accepts reports dated yesterday, today or
// tomorrow only, so the simplest honest history is those three days sent through its public route
// (no writing into its store): yesterday and today as in the data, and tomorrow with every
// patient's glucose 40 mg/dL higher. Six sources (client networks, as nginx would report them
// through X-Real-IP with --trusted-proxy) report each day, 1,000 patients each; the server's
// thresholds for a figure are lowered to fit that volume.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { env, startServer, publish, operatorGet, launch, openApp, csvRecords, OPERATOR_TOKEN } from './harness.mjs';
import { loadBundle } from '../node/load_core.mjs';

const SHIFTED = 'glucose';
const day = (offset) => new Date(Date.now() + offset * 86400e3).toISOString().slice(0, 10);
const DAYS = [day(-1), day(0), day(1)];
const SHIFT_DAY = DAYS[2];
const SOURCES = 6, PER_SOURCE = 1000;
let server, browser;

//-----------------------------------------------------------------------------
// [SECTION] Set-up
//-----------------------------------------------------------------------------
// A seeded generator, so a failure can be run again as it was (the randomization's own seeds
// are the core's, drawn per patient as the page draws them).
function rng(seed) {
  let s = seed >>> 0;
  return () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
}

async function sendDay(model, fields, rows, d, shifted, random) {
  let sent = 0;
  for (let s = 0; s < SOURCES; s++) {
    let pending = '';
    const reports = [];
    for (let i = 0; i < PER_SOURCE; i++) {
      const row = rows[Math.floor(random() * rows.length)];
      const record = {};
      for (const f of fields) if (row[f] !== undefined) record[f] = row[f];
      if (shifted && record[SHIFTED] !== undefined) record[SHIFTED] = String(Number(record[SHIFTED]) + 40);
      const r = JSON.parse(model.predict(JSON.stringify(record), false));
      if (!r.ok) continue;
      const slim = JSON.stringify({ ok: true, values: r.values, probabilities: r.probabilities, predicted: r.predicted });
      const next = JSON.parse(model.reportAdd(pending, slim, d, Math.floor(random() * 2 ** 53)));
      reports.push(...next.complete);
      pending = next.pending ? JSON.stringify(next.pending) : '';
    }
    for (const report of reports) {
      const res = await fetch(server.base + '/api/v1/metrics', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Idempotency-Key': randomBytes(16).toString('hex'), 'X-Real-IP': `10.1.${s}.7` },
        body: JSON.stringify(report),
      });
      assert.equal(res.status, 202, `report of ${d} from source ${s}: ${await res.text()}`);
      sent++;
    }
  }
  return sent;
}

before(async () => {
  mkdirSync(env.shots, { recursive: true });
  server = await startServer('operations', { args: ['--trusted-proxy', '127.0.0.1', '--drift-min', '3000', '--drift-min-sources', '3'] });
  const bundle = path.join(env.demo, 'bundles', 'pima-diabetes-1.ldxb');
  assert.equal((await publish(server.base, bundle)).status, 201);
  const core = readdirSync(env.web).find((f) => /^localdx_core\..*\.mjs$/.test(f));
  const { model, info } = await loadBundle(path.join(env.web, core), bundle, path.join(env.demo, 'keys/trust.json'));
  const fields = info.schema.fields.map((f) => f.name);
  const rows = csvRecords(readFileSync(path.join(env.data, 'pima-diabetes.csv'), 'utf8'));
  const random = rng(37);
  for (const d of DAYS) assert.ok(await sendDay(model, fields, rows, d, d === SHIFT_DAY, random) > 0);
  browser = await launch();
});
after(async () => { await browser?.close(); server?.stop(); });

//-----------------------------------------------------------------------------
// [SECTION] The view with the operator's token
//-----------------------------------------------------------------------------
test('operations view: the shifted field ranked first, its PSI crossing the alert line on the day of the shift', async () => {
  // What the server itself says, for the view to be checked against.
  const history = await (await operatorGet(server.base, `/api/v1/drift/history?model=pima-diabetes&from=${DAYS[0]}&to=${DAYS[2]}`)).json();
  assert.deepEqual(history.periods.map((p) => p.from), DAYS);

  // Tall enough for every chart in one picture (docs/screenshots/operations.png).
  const context = await browser.newContext({ viewport: { width: 1280, height: 1500 } });
  const { ctx, page, errors } = await openApp(browser, server.base, { context });
  await page.evaluate(() => window.localdx.selectTab(5));
  await page.getByRole('tab', { name: 'Operations', selected: true }).waitFor();
  const token = page.locator('#a11y input[type=password]');
  assert.equal(await token.getAttribute('aria-label'), 'Operator token');

  // A wrong token first: refused, in words.
  await token.fill('not-the-operator-token');
  await page.getByRole('button', { name: 'Show drift' }).press('Enter');  // as a keyboard user presses it
  await page.waitForFunction(() => window.localdx.viewState().operations.status !== '' && !window.localdx.viewState().operations.loading);
  assert.equal((await page.evaluate(() => window.localdx.viewState().operations)).status, 'The operator token was refused.');

  await token.fill(OPERATOR_TOKEN);
  await page.getByRole('button', { name: 'Show drift' }).press('Enter');  // as a keyboard user presses it
  await page.waitForFunction(() => window.localdx.viewState().operations.loaded, null, { timeout: 30000 });
  const ops = await page.evaluate(() => window.localdx.viewState().operations);
  assert.deepEqual(ops.days.map((d) => d.day), DAYS);
  assert.ok(ops.days.every((d) => d.sources === SOURCES), JSON.stringify(ops.days));
  assert.equal(ops.thresholds.psi_alert, history.thresholds.psi_alert);

  // The shifted field first, chosen, and its PSI under the alert line until the day of the shift.
  assert.equal(ops.ranked[0].field, SHIFTED, JSON.stringify(ops.ranked));
  assert.equal(ops.field, SHIFTED);
  assert.ok(ops.psi[0] < ops.thresholds.psi_alert && ops.psi[1] < ops.thresholds.psi_alert, JSON.stringify(ops.psi));
  assert.ok(ops.psi[2] >= ops.thresholds.psi_alert, JSON.stringify(ops.psi));
  assert.equal(ops.first_alert_day, SHIFT_DAY);
  // The view's figures are the server's.
  const server_psi = history.periods.map((p) => p.fields.find((f) => f.field === SHIFTED).psi);
  assert.deepEqual(ops.psi, server_psi);

  // Every chart has its text alternative, as an image node a screen reader reads.
  const images = await page.locator('#a11y [role=img]').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')));
  const psiAlt = images.find((a) => a.startsWith(`PSI of ${SHIFTED}`));
  assert.ok(psiAlt, JSON.stringify(images));
  assert.match(psiAlt, new RegExp(`First at or above the alert line on ${SHIFT_DAY}\\.`));
  assert.ok(images.some((a) => a.startsWith(`${SHIFTED} on ${SHIFT_DAY}, share of patients per range`)), 'the histogram');
  assert.ok(images.some((a) => a.startsWith('Estimated AUC per day')), 'the AUC');
  assert.ok(images.some((a) => a.startsWith('Estimated sensitivity per day')), 'the sensitivity');
  // The ranking and the sources as tables.
  assert.equal(await page.locator('#a11y [role=table]').count(), 2);
  const caveat = await page.locator('#a11y').textContent();
  assert.match(caveat, /holds only while outcomes follow the probabilities as they did in training/);

  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(env.shots, 'operations.png') });

  // Per week: the same reports in ISO weeks (Monday to Sunday, clipped to the four weeks the view
  // asks for), as the server answers them.
  await page.getByRole('checkbox', { name: 'Per week' }).press('Space');  // as a keyboard user ticks it
  await page.waitForFunction(() => { const o = window.localdx.viewState().operations; return o.weekly && !o.loading; }, null, { timeout: 30000 });
  const weekly = await page.evaluate(() => window.localdx.viewState().operations);
  const weeks = await (await operatorGet(server.base, `/api/v1/drift/history?model=pima-diabetes&from=${day(-27)}&to=${day(1)}&period=week`)).json();
  assert.equal(weeks.period, 'week');
  assert.deepEqual(weekly.days.map((d) => d.day), weeks.periods.map((p) => p.from));
  assert.equal(weekly.days.reduce((n, d) => n + d.predictions, 0), ops.days.reduce((n, d) => n + d.predictions, 0));
  assert.match(weekly.alt.auc, /^Estimated AUC per week/);
  await page.getByRole('checkbox', { name: 'Per week' }).press('Space');  // as a keyboard user ticks it
  await page.waitForFunction(() => { const o = window.localdx.viewState().operations; return !o.weekly && o.loaded && !o.loading; }, null, { timeout: 30000 });
  // Back to days: the same field, and the latest day again (not the week's position as a day).
  const back = await page.evaluate(() => window.localdx.viewState().operations);
  assert.equal(back.field, SHIFTED);
  assert.ok(back.alt.histogram.startsWith(`${SHIFTED} on ${SHIFT_DAY}, share of patients per range`), back.alt.histogram);

  // The token is in the page's memory only: nowhere in its storage, and not in the DOM.
  const stored = await page.evaluate(async () => {
    const all = [];
    for (const s of [localStorage, sessionStorage]) for (let i = 0; i < s.length; i++) all.push(s.key(i), s.getItem(s.key(i)));
    for (const db of (await indexedDB.databases?.()) ?? []) all.push(db.name);
    for (const name of await caches.keys()) {
      all.push(name);
      const cache = await caches.open(name);
      for (const req of await cache.keys()) all.push(req.url, ...[...req.headers.values()]);
    }
    const attrs = [...document.querySelectorAll('*')].flatMap((e) => [...e.attributes].map((a) => a.value));
    return { all, attrs };
  });
  assert.ok(!stored.all.some((x) => String(x).includes(OPERATOR_TOKEN)), 'the token in storage');
  assert.ok(!stored.attrs.some((x) => x.includes(OPERATOR_TOKEN)), 'the token in an attribute');
  // IndexedDB's records: every database the page opened, every store, every value.
  const inDb = await page.evaluate(async (t) => {
    for (const { name } of (await indexedDB.databases?.()) ?? []) {
      const db = await new Promise((res, rej) => { const r = indexedDB.open(name); r.onsuccess = () => res(r.result); r.onerror = rej; });
      for (const store of db.objectStoreNames) {
        const values = await new Promise((res) => { const r = db.transaction(store).objectStore(store).getAll(); r.onsuccess = () => res(r.result); });
        if (JSON.stringify(values).includes(t)) return true;
      }
      db.close();
    }
    return false;
  }, OPERATOR_TOKEN);
  assert.equal(inDb, false);
  assert.deepEqual(errors, []);
  await ctx.close();
});

//-----------------------------------------------------------------------------
// [SECTION] A multilabel model
//-----------------------------------------------------------------------------
// The multi-label demo: each image (one of its 40 held-out test images, with the probabilities
// PyTorch gave them, test/reference.csv) added by the core's reportAdd as the Image view adds it
// (its descriptors not given here), from six sources today. The view draws each finding's
// estimated AUC and sensitivity, with text alternatives naming the finding; the Model card view
// shows each finding's figures (the card `localdx bundle` wrote from the calibration images).
test('operations view: a multilabel model\'s estimate per finding', async () => {
  const ml = await startServer('operations-ml', { args: ['--trusted-proxy', '127.0.0.1', '--drift-min', '3000', '--drift-min-sources', '3'] });
  try {
    const bundle = path.join(env.demo, 'bundles', 'multilabel-demo-1.ldxb');
    assert.equal((await publish(ml.base, bundle)).status, 201);
    const core = readdirSync(env.web).find((f) => /^localdx_core\..*\.mjs$/.test(f));
    const { model, info } = await loadBundle(path.join(env.web, core), bundle, path.join(env.demo, 'keys/trust.json'));
    const findings = info.schema.outputs.findings;
    const images = csvRecords(readFileSync(path.join(env.demo, 'train', 'multilabel-demo', 'test', 'reference.csv'), 'utf8'));
    const random = rng(41);
    for (let s = 0; s < SOURCES; s++) {
      let pending = '';
      const reports = [];
      for (let i = 0; i < PER_SOURCE; i++) {
        const im = images[Math.floor(random() * images.length)];
        const probabilities = findings.map((f) => Number(im[`p_${f.name}`]));
        const slim = JSON.stringify({ ok: true, values: [], probabilities, predicted: 0 });
        const next = JSON.parse(model.reportAdd(pending, slim, DAYS[1], Math.floor(random() * 2 ** 53)));
        reports.push(...next.complete);
        pending = next.pending ? JSON.stringify(next.pending) : '';
      }
      for (const report of reports) {
        const res = await fetch(ml.base + '/api/v1/metrics', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'Idempotency-Key': randomBytes(16).toString('hex'), 'X-Real-IP': `10.2.${s}.7` },
          body: JSON.stringify(report),
        });
        assert.equal(res.status, 202, await res.text());
      }
    }
    const history = await (await operatorGet(ml.base, `/api/v1/drift/history?model=multilabel-demo&from=${DAYS[1]}&to=${DAYS[1]}`)).json();
    const perf = history.periods[0].performance;
    assert.deepEqual(perf.findings.map((f) => f.finding), findings.map((f) => f.name));
    assert.ok(perf.findings.every((f) => f.figures?.auc), JSON.stringify(perf));

    // Tall enough for every finding's charts in one picture.
    const context = await browser.newContext({ viewport: { width: 1280, height: 2100 } });
    const { ctx, page, errors } = await openApp(browser, ml.base, { model: 'multilabel-demo', context });
    await page.evaluate(() => window.localdx.selectTab(5));
    await page.getByRole('tab', { name: 'Operations', selected: true }).waitFor();
    await page.locator('#a11y input[type=password]').fill(OPERATOR_TOKEN);
    await page.getByRole('button', { name: 'Show drift' }).press('Enter');
    await page.waitForFunction(() => window.localdx.viewState().operations.loaded, null, { timeout: 30000 });
    const ops = await page.evaluate(() => window.localdx.viewState().operations);
    assert.deepEqual(ops.alt.findings.map((f) => f.finding), findings.map((f) => f.name));
    await page.waitForTimeout(300);
    await page.screenshot({ path: path.join(env.shots, 'operations-multilabel.png') });
    const alts = await page.locator('#a11y [role=img]').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')));
    findings.forEach((f, k) => {
      const auc = perf.findings[k].figures.auc;
      const expected = `Estimated AUC of ${f.label} per day with its 95% interval, against the model card's ${auc.card.toFixed(2)}: ` +
        `${DAYS[1]} ${auc.value.toFixed(2)} (${auc.ci95[0].toFixed(2)} to ${auc.ci95[1].toFixed(2)}`;
      assert.ok(ops.alt.findings[k].auc.startsWith(expected), `${ops.alt.findings[k].auc} / ${expected}`);
      assert.ok(alts.some((a) => a.startsWith(`Estimated AUC of ${f.label} per day`)), JSON.stringify(alts));
      assert.ok(alts.some((a) => a.startsWith(`Estimated sensitivity of ${f.label} per day`)), JSON.stringify(alts));
    });
    // The Model card view: each finding's figures, from the card's per-finding evaluation.
    await page.evaluate(() => window.localdx.selectTab(2));
    await page.getByRole('tab', { name: 'Model card', selected: true }).waitFor();
    await page.waitForTimeout(300);
    await page.screenshot({ path: path.join(env.shots, 'model-card-multilabel.png') });
    const card = await page.locator('#a11y').textContent();
    for (const f of findings) assert.ok(card.includes(f.label), `${f.label} in the card view`);
    assert.match(card, /AUC-ROC/);
    assert.deepEqual(errors, []);
    await ctx.close();
  } finally {
    ml.stop();
  }
});
