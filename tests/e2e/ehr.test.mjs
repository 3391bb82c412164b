// tests/e2e/ehr.test.mjs — SMART App Launch against a test EHR made of real parts (tests/ehr/ehr.mjs:
// oidc-provider and a FHIR R4 server over Pima fixtures) on its own origin, LocalDx served by the
// real localdx-server with the site's list of EHRs (ehr.json, from which the server's CSP lets the
// page reach them and be framed by them), in headless Chromium.
//
// Index of this file
//   [SECTION] Set-up: the test EHR, the site's list of EHRs, LocalDx, the browser
//   [SECTION] EHR launch (the chart's window goes to LocalDx), with the request audit and parity with localdx predict
//   [SECTION] Standalone launch, inside the EHR's iframe, in a new window
//   [SECTION] Refusals, each with its reason and no token kept
//   [SECTION] Save to chart (write-back): only with the write scope, one RiskAssessment (or a score's Observation) as shown
//   [SECTION] SMART v1 scopes for an EHR without permission-v2
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { env, startServer, publish, launch, cliPredict, freePort } from './harness.mjs';
import { startEhr, pimaChart, pimaRows, progressionChart, csvRows } from '../ehr/ehr.mjs';

const bundle = path.join(env.demo, 'bundles', 'pima-diabetes-1.ldxb');
const progression = path.join(env.demo, 'bundles', 'diabetes-progression-1.ldxb');
const PROGRESSION = ['age', 'sex', 'bmi', 'map', 'tc', 'ldl', 'hdl', 'tc_hdl', 'triglycerides', 'glucose'];
let server, site, ehr, browser, rows, dpRows;

//-----------------------------------------------------------------------------
// [SECTION] Set-up
//-----------------------------------------------------------------------------
// The site: the assembled PWA with the administrator's list of EHRs allowed to launch LocalDx
// (ehr.json); localdx-server reads the list at start and adds those EHRs' origins, and nothing else,
// to its CSP's connect-src and frame-ancestors. The page reads the list (write-back allowed or not)
// at each launch, so a test may change it.
function siteWeb(dir, ehrs) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(env.web))
    if (name !== 'ehr.json') symlinkSync(path.join(env.web, name), path.join(dir, name));
  const site = { dir, ehrs, write: () => writeFileSync(path.join(dir, 'ehr.json'), JSON.stringify({ ehrs: site.ehrs })) };
  site.write();
  return site;
}

before(async () => {
  rows = pimaRows(path.join(env.data, 'pima-diabetes.csv'), 2);
  dpRows = csvRows(path.join(env.data, 'diabetes-progression.csv'), PROGRESSION, 1);
  const port = await freePort();
  ehr = await startEhr({ appUrl: `http://127.0.0.1:${port}/`,
    resources: [...pimaChart('pima-1', rows[0]), ...pimaChart('pima-2', rows[1], { old: true }), ...progressionChart('dp-1', dpRows[0])],
    options: { standalonePatient: 'pima-1' } });
  site = siteWeb(path.join(env.work, 'ehr-web'), [{ iss: ehr.fhirBase, client_id: 'localdx' }]);
  server = await startServer('ehr', { port, web: site.dir });
  assert.equal((await publish(server.base, bundle)).status, 201);
  assert.equal((await publish(server.base, progression)).status, 201);
  const csp = (await fetch(server.base + '/')).headers.get('content-security-policy');
  assert.ok(csp.includes(`connect-src 'self' ${ehr.origin};`) && csp.includes(`frame-ancestors 'self' ${ehr.origin};`), csp);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ehr?.stop();
  if (!server) return;
  // The server ends on SIGTERM once its connections are done; one still open would keep this
  // process alive: after 5 s it is killed.
  const exited = new Promise((r) => server.proc.once('exit', r));
  server.stop();
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())]);
  if (server.proc.exitCode === null && server.proc.signalCode === null) server.proc.kill('SIGKILL');
});

// A fresh browser profile per launch, every request it makes recorded (with the token response).
async function session() {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const requests = [], tokens = [];
  ctx.on('request', (r) => requests.push({ url: r.url(), body: r.postData() || '', headers: r.headers() }));
  ctx.on('response', async (r) => {
    if (r.url() === ehr.origin + '/token' && r.status() === 200) tokens.push((await r.json()).access_token);
  });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { ctx, page, requests, tokens, errors };
}

// The status the app shows about the chart, once there is one.
async function chartStatus(frame) {
  await frame.waitForFunction(() => {
    try { return window.localdx.viewState().chart_status !== ''; } catch { return false; }  // the app is still loading
  }, null, { timeout: 60000 });
  return frame.evaluate(() => window.localdx.viewState());
}

// Everything the app's origin keeps in the browser: localStorage, sessionStorage, IndexedDB, Cache Storage.
async function stored(frame) {
  return frame.evaluate(async () => {
    const out = { local: JSON.stringify({ ...localStorage }), session: JSON.stringify({ ...sessionStorage }), idb: [], caches: [] };
    for (const d of (await indexedDB.databases?.()) || []) out.idb.push(d.name);
    for (const name of await caches.keys()) {
      const c = await caches.open(name);
      for (const req of await c.keys()) {
        const res = await c.match(req);
        const type = res.headers.get('content-type') || '';
        out.caches.push(req.url + ' ' + (/json|text|javascript/.test(type) ? await res.text() : ''));
      }
    }
    return out;
  });
}

const expectedForm = (row) => {
  const [pregnant, glucose, pressure, triceps, insulin, mass, pedigree, age] = row;
  const r = { pregnant: String(pregnant), glucose: String(Number(((Math.round((glucose / 18.0156) * 10) / 10) * 18.0156).toPrecision(6))),
    pressure: String(pressure), triceps: String(triceps), mass: String(mass), pedigree: String(pedigree), age: String(age) };
  if (insulin !== null) r.insulin = String(insulin);
  return r;
};

//-----------------------------------------------------------------------------
// [SECTION] EHR launch
//-----------------------------------------------------------------------------
test('EHR launch: the Pima form filled from the chart in the fields\' units, each value dated; Predict equals localdx predict; nothing leaves but requests to the EHR', async () => {
  const { ctx, page, requests, tokens, errors } = await session();
  await page.goto(`${ehr.origin}/ehr/launch?patient=pima-1&model=pima-diabetes`);
  const view = await chartStatus(page);
  assert.match(view.chart_status, /^From the EHR's chart \(patient pima-1\)/);
  const form = await page.evaluate(() => window.localdx.formRecord());
  assert.deepEqual(form, expectedForm(rows[0]));  // glucose from mmol/L to mg/dL, age from the birth date
  const when = new Date(Date.now() - 2 * 86400e3);
  const dateText = `${when.getUTCDate()} ${when.toLocaleString('en', { month: 'short', timeZone: 'UTC' })} ${when.getUTCFullYear()}`;
  for (const f of ['pregnant', 'glucose', 'pressure', 'triceps', 'mass', 'pedigree'])
    assert.equal(view.chart[f].note, `From the chart, ${dateText}`, f);
  assert.equal(view.chart.age.note, "From the chart (the patient's record)");
  // Predict on the filled form: the same result as the CLI on the same values.
  const result = await page.evaluate(() => window.localdx.predict(window.localdx.formRecord()));
  assert.equal(result.ok, true, JSON.stringify(result.problems));
  const csv = path.join(server.dir, 'chart.csv');
  writeFileSync(csv, Object.keys(form).join(',') + '\n' + Object.values(form).join(',') + '\n');
  const native = cliPredict(bundle, csv, path.join(server.dir, 'chart.native.json'))[0];
  native.probabilities.forEach((p, k) => assert.ok(Math.abs(p - result.probabilities[k]) <= 1e-6, `class ${k}: ${p} vs ${result.probabilities[k]}`));
  // The audit: every request to the app's origin or the EHR's; none to the app's own server with the
  // token or a value from the chart; nothing of either kept in the browser.
  assert.equal(tokens.length, 1);
  const token = tokens[0];
  const secrets = [token, 'pima-1', form.glucose, form.pedigree];
  for (const r of requests) {
    const origin = new URL(r.url).origin;
    assert.ok(origin === server.base || origin === ehr.origin, `a request to ${r.url}`);
    if (origin === server.base)
      for (const s of secrets) assert.ok(!(r.url + r.body + JSON.stringify(r.headers)).includes(s), `${s} sent to the app's server in ${r.url}`);
  }
  assert.ok(requests.some((r) => r.url.startsWith(ehr.fhirBase + '/Observation') && r.headers.authorization === `Bearer ${token}`));
  const kept = await stored(page);
  for (const s of [token, form.glucose, form.pedigree]) {
    assert.ok(!kept.local.includes(s) && !kept.session.includes(s), `${s} kept in local/sessionStorage`);
    assert.ok(!kept.caches.some((c) => c.includes(s)), `${s} in Cache Storage`);
  }
  assert.deepEqual(kept.idb, []);
  assert.deepEqual(errors, []);
  await ctx.close();
});

//-----------------------------------------------------------------------------
// [SECTION] Standalone launch, inside the EHR's iframe, in a new window
//-----------------------------------------------------------------------------
test('standalone launch (launch/patient): the EHR picks the patient, the form is filled', async () => {
  const { ctx, page } = await session();
  await page.goto(`${server.base}/launch.html?iss=${encodeURIComponent(ehr.fhirBase)}&model=pima-diabetes`);
  const view = await chartStatus(page);
  assert.match(view.chart_status, /^From the EHR's chart \(patient pima-1\)/);
  assert.deepEqual(await page.evaluate(() => window.localdx.formRecord()), expectedForm(rows[0]));
  await ctx.close();
});

test('EHR launch inside the EHR\'s iframe: the same form, the app framed by the EHR\'s page', async () => {
  const { ctx, page } = await session();
  await page.goto(`${ehr.origin}/ehr/launch?patient=pima-1&mode=iframe&model=pima-diabetes`);
  const frame = await (await page.waitForSelector('#app')).contentFrame();
  await frame.waitForURL((u) => u.origin === server.base && !u.pathname.endsWith('launch.html'), { timeout: 60000 });
  const view = await chartStatus(frame);
  assert.match(view.chart_status, /^From the EHR's chart \(patient pima-1\)/);
  assert.deepEqual(await frame.evaluate(() => window.localdx.formRecord()), expectedForm(rows[0]));
  await ctx.close();
});

test('EHR launch in a new window opened from the chart: the same form in that window', async () => {
  const { ctx, page } = await session();
  await page.goto(`${ehr.origin}/ehr/launch?patient=pima-1&mode=link&model=pima-diabetes`);
  const [popup] = await Promise.all([ctx.waitForEvent('page'), page.click('#open')]);
  const view = await chartStatus(popup);
  assert.match(view.chart_status, /^From the EHR's chart \(patient pima-1\)/);
  assert.deepEqual(await popup.evaluate(() => window.localdx.formRecord()), expectedForm(rows[0]));
  await ctx.close();
});

//-----------------------------------------------------------------------------
// [SECTION] Refusals
//-----------------------------------------------------------------------------
test('a chart value in a unit no one can convert, and one three years old: refused and waiting, with the reasons', async () => {
  const { ctx, page } = await session();
  await page.goto(`${ehr.origin}/ehr/launch?patient=pima-2&model=pima-diabetes`);
  const view = await chartStatus(page);
  const form = await page.evaluate(() => window.localdx.formRecord());
  assert.equal(form.glucose, undefined);
  assert.equal(form.triceps, undefined);
  assert.equal(view.chart.glucose.state, 'refused');
  assert.equal(view.chart.glucose.note, "Not used: Plasma glucose, 2 h after 75 g oral glucose (mg/dL): the chart's value is in 'mg', which cannot be converted to mg/dL");
  assert.equal(view.chart.triceps.state, 'too_old');
  assert.match(view.chart.triceps.note, /the chart's value is from .* older than 365 days; use it only if it still holds \(\d+ mm\)/);
  assert.equal(form.pressure, String(rows[1][2]));
  await ctx.close();
});

// onLaunch: refused on launch.html, before any authorization; else on the app's page, after it.
async function refused(url, { expect, onLaunch = false }) {
  const { ctx, page, tokens, requests } = await session();
  await page.goto(url);
  let text;
  if (onLaunch) {
    await page.waitForFunction(() => !/Connecting/.test(document.getElementById('launch-status')?.textContent || 'Connecting'), null, { timeout: 30000 });
    text = await page.textContent('#launch-status');
  } else {
    text = (await chartStatus(page)).chart_status;
    assert.deepEqual(await page.evaluate(() => window.localdx.formRecord()), {});
  }
  assert.match(text, expect);
  const kept = await stored(page);
  assert.ok(!kept.session.includes('access_token') && !kept.local.includes('access_token'), kept.session);
  for (const t of tokens) assert.ok(!kept.session.includes(t) && !kept.local.includes(t));
  await ctx.close();
  return requests;
}

test('refused: an iss not on the site\'s list (and nothing is asked of it)', async () => {
  const requests = await refused(`${server.base}/launch.html?iss=${encodeURIComponent('http://127.0.0.1:9/fhir')}&launch=x`, { expect: /not on this site's list of EHRs/, onLaunch: true });
  assert.deepEqual(requests.filter((r) => new URL(r.url).origin !== server.base), []);
});

test('refused: a server that does not offer PKCE S256', async () => {
  ehr.options.noS256 = true;
  try { await refused(`${ehr.origin}/ehr/launch?patient=pima-1`, { expect: /does not offer PKCE with S256/, onLaunch: true }); } finally { ehr.options.noS256 = false; }
});

test('refused: a wrong state on the way back', async () => {
  await refused(`${server.base}/?code=forged&state=${'0'.repeat(32)}`, { expect: /launch from the EHR failed/ });
});

test('refused: an aud that is not the EHR\'s FHIR server (the authorization server says why)', async () => {
  const audience = ehr.audience;
  ehr.audience = 'http://127.0.0.1:9/other-fhir';
  try { await refused(`${ehr.origin}/ehr/launch?patient=pima-1`, { expect: /aud must be this EHR's FHIR server/ }); } finally { ehr.audience = audience; }
});

test('refused: a denied scope (no Observations)', async () => {
  ehr.options.deny = ['patient/Observation.rs'];
  try { await refused(`${ehr.origin}/ehr/launch?patient=pima-1`, { expect: /did not grant reading Observation/ }); } finally { ehr.options.deny = []; }
});

test('refused: a token that expired before the chart was read', async () => {
  // A one-second token and an EHR that answers FHIR requests after 2.5 s: the EHR finds it expired.
  Object.assign(ehr.options, { tokenSeconds: 1, delayMs: 2500 });
  try { await refused(`${ehr.origin}/ehr/launch?patient=pima-1`, { expect: /refused the access token/ }); } finally { Object.assign(ehr.options, { tokenSeconds: 3600, delayMs: 0 }); }
});

//-----------------------------------------------------------------------------
// [SECTION] Save to chart
//-----------------------------------------------------------------------------
// A mouse click where the canvas draws the button the accessible layer names (the layer lets the
// pointer through to the canvas), the button held for a few frames as a person would.
async function clickOnCanvas(page, name) {
  const button = page.getByRole('button', { name });
  await button.waitFor({ timeout: 10000 });
  const box = await button.boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.waitForTimeout(60);
  await page.mouse.up();
}

// Predict as the clinician does (Ctrl+Enter in a field of the form, keys held for a few frames as a
// person would). The field is focused first, as after typing: Ctrl+Enter is then the accessible
// layer's (a11y.js), not Dear ImGui's, whose key state a loaded machine can miss between frames.
async function predictOnForm(page) {
  await page.focus('#a11y input[type=text]');
  await page.keyboard.down('Control');
  await page.keyboard.down('Enter');
  await page.waitForTimeout(60);
  await page.keyboard.up('Enter');
  await page.keyboard.up('Control');
  await page.waitForFunction(() => { const v = window.localdx.viewState(); return v.result === 'current' && !v.being_checked; }, null, { timeout: 60000 });
}

test('Save to chart: with the write scope, one RiskAssessment on the EHR with the shown result, the model and the basis', async () => {
  site.ehrs[0].write_back = true;
  site.write();
  const before = ehr.created.length;
  const { ctx, page } = await session();
  try {
    await page.goto(`${ehr.origin}/ehr/launch?patient=pima-1&model=pima-diabetes`);
    await chartStatus(page);
    // The launch asked for the one write scope this model's result needs.
    assert.ok(ehr.asked.at(-1).includes('patient/RiskAssessment.c') && !ehr.asked.at(-1).includes('patient/Observation.c'), ehr.asked.at(-1).join(' '));
    await predictOnForm(page);
    assert.equal((await page.evaluate(() => window.localdx.viewState())).save_to_chart, true);
    const shown = await page.evaluate(() => window.localdx.predict(window.localdx.formRecord()));
    const model = await page.evaluate(() => window.localdx.model());
    // As the clinician does it: "Save to chart…" shows what would be sent; nothing is sent until
    // "Send to the chart".
    await clickOnCanvas(page, 'Save to chart…');
    await page.getByRole('button', { name: 'Send to the chart' }).waitFor({ timeout: 10000 });
    assert.equal(ehr.created.length, before);
    await page.getByRole('button', { name: 'Send to the chart' }).press('Enter');  // by keyboard
    await page.waitForFunction(() => /^Saved to the chart as RiskAssessment\//.test(window.localdx.viewState().chart_status), null, { timeout: 30000 });
    assert.equal(ehr.created.length, before + 1);
    const ra = ehr.created.at(-1);
    assert.equal(ra.resourceType, 'RiskAssessment');
    assert.equal(ra.subject.reference, 'Patient/pima-1');
    assert.deepEqual(ra.prediction.map((p) => p.probabilityDecimal), shown.probabilities);
    assert.deepEqual(ra.prediction.map((p) => p.outcome.text), model.schema.outputs.classes.map((c) => c.label));
    assert.ok(Math.abs(Date.parse(ra.occurrenceDateTime) - Date.now()) < 600e3, ra.occurrenceDateTime);
    assert.equal(ra.method.coding[0].code, model.name);
    assert.ok(ra.method.text.includes(model.sha256));
    assert.deepEqual(ra.basis.map((b) => b.reference).sort(),
      ['pima-1-bmi', 'pima-1-bp', 'pima-1-glu', 'pima-1-ped', 'pima-1-preg', 'pima-1-tri'].map((id) => `Observation/${id}`));
  } finally { site.ehrs[0].write_back = false;
    site.write(); await ctx.close(); }
});

test('Save to chart: without the write scope the button is absent and nothing is written', async () => {
  site.ehrs[0].write_back = true;
  site.write();
  ehr.options.deny = ['patient/RiskAssessment.c'];
  const before = ehr.created.length;
  const { ctx, page } = await session();
  try {
    await page.goto(`${ehr.origin}/ehr/launch?patient=pima-1&model=pima-diabetes`);
    await chartStatus(page);
    await predictOnForm(page);
    assert.equal((await page.evaluate(() => window.localdx.viewState())).save_to_chart, false);
    assert.equal(await page.evaluate(() => window.localdx.saveToChart()), '');
    assert.equal(ehr.created.length, before);
  } finally { site.ehrs[0].write_back = false;
    site.write(); ehr.options.deny = []; await ctx.close(); }
});

test('Save to chart: a regression score goes to the chart as an Observation with its interval, from diabetes-progression', async () => {
  site.ehrs[0].write_back = true;
  site.write();
  const before = ehr.created.length;
  const { ctx, page } = await session();
  try {
    await page.goto(`${ehr.origin}/ehr/launch?patient=dp-1&model=diabetes-progression`);
    const view = await chartStatus(page);
    assert.match(view.chart_status, /^From the EHR's chart \(patient dp-1\)/);
    assert.ok(ehr.asked.at(-1).includes('patient/Observation.c') && !ehr.asked.at(-1).includes('patient/RiskAssessment.c'), ehr.asked.at(-1).join(' '));
    const form = await page.evaluate(() => window.localdx.formRecord());
    assert.deepEqual(Object.keys(form).sort(), [...PROGRESSION].sort());
    await predictOnForm(page);
    const shown = await page.evaluate(() => window.localdx.predict(window.localdx.formRecord()));
    assert.equal(shown.ok, true, JSON.stringify(shown.problems));
    // The same value as localdx predict on the chart's values.
    const csv = path.join(server.dir, 'chart-dp.csv');
    writeFileSync(csv, Object.keys(form).join(',') + '\n' + Object.values(form).join(',') + '\n');
    const native = cliPredict(progression, csv, path.join(server.dir, 'chart-dp.native.json'))[0];
    assert.ok(Math.abs(native.value - shown.value) <= 1e-6, `${native.value} vs ${shown.value}`);
    await page.getByRole('button', { name: 'Save to chart…' }).press('Enter');
    await clickOnCanvas(page, 'Send to the chart');
    await page.waitForFunction(() => /^Saved to the chart as Observation\//.test(window.localdx.viewState().chart_status), null, { timeout: 30000 });
    assert.equal(ehr.created.length, before + 1);
    const obs = ehr.created.at(-1);
    assert.equal(obs.resourceType, 'Observation');
    assert.equal(obs.subject.reference, 'Patient/dp-1');
    assert.equal(obs.valueQuantity.value, Math.round(shown.value));  // the task reads whole points
    assert.equal(obs.valueQuantity.code, '{score}');
    const band = shown.conformal.levels.find((l) => l.level === shown.conformal.band_level);
    assert.deepEqual(obs.component.map((c) => [c.code.coding[0].code, c.valueQuantity.value]),
      [['low', Math.round(band.low)], ['high', Math.round(band.high)]]);
    assert.ok(obs.method.text.includes((await page.evaluate(() => window.localdx.model())).sha256));
    assert.deepEqual(obs.derivedFrom.map((b) => b.reference).sort(),
      ['bmi', 'glu', 'hdl', 'ldl', 'map', 'sex', 'tc', 'tchdl', 'tg'].map((k) => `Observation/dp-1-${k}`).sort());
  } finally { site.ehrs[0].write_back = false;
    site.write(); await ctx.close(); }
});

//-----------------------------------------------------------------------------
// [SECTION] SMART v1 scopes
//-----------------------------------------------------------------------------
test('an EHR without permission-v2 is asked for SMART v1 scopes (.read), and the form is filled', async () => {
  ehr.options.v1Only = true;
  const { ctx, page } = await session();
  try {
    await page.goto(`${ehr.origin}/ehr/launch?patient=pima-1&model=pima-diabetes`);
    const view = await chartStatus(page);
    assert.match(view.chart_status, /^From the EHR's chart \(patient pima-1\)/);
    const asked = ehr.asked.at(-1);
    for (const s of ['patient/Patient.read', 'patient/Observation.read']) assert.ok(asked.includes(s), asked.join(' '));
    assert.ok(!asked.some((s) => /\.(rs|c)$/.test(s)), asked.join(' '));
    assert.deepEqual(await page.evaluate(() => window.localdx.formRecord()), expectedForm(rows[0]));
  } finally { ehr.options.v1Only = false; await ctx.close(); }
});
