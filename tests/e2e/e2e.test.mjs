// tests/e2e/e2e.test.mjs — the browser client end to end (node --test), against the real server
// serving the real built page and the real demo bundles, in headless Chromium.
//
// Index of this file
//   [SECTION] Set-up: server, bundles, browser
//   [SECTION] Parity with `localdx predict --explain`
//   [SECTION] The ImGui UI: typing, Predict, ARIA mirror, screenshots (DPR 1 and 2)
//   [SECTION] Batch view
//   [SECTION] Validate view: a site's labelled patients, on the device
//   [SECTION] A non-tree model (sklearn MLP imported as ONNX): model-agnostic explanation
//   [SECTION] Offline
//   [SECTION] Privacy audit
//   [SECTION] Refusals: tampered bundle, rollback
//   [SECTION] Headers of the served app
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync, rmSync, cpSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { env, startServer, publish, operatorGet, launch, openApp, csvRecords, cliPredict, chooseFileWith, keepTestHooksOffline, ownOnnxWorker, stallingProxy, batchWorkerEndingAfter, servedRewritten } from './harness.mjs';

const TASKS = { 'pima-diabetes': 'diabetes', wdbc: 'diagnosis', 'pbc-stage': 'stage' };
const bundlePath = (t, v = 1) => path.join(env.demo, 'bundles', `${t}-${v}.ldxb`);
let server, browser;

//-----------------------------------------------------------------------------
// [SECTION] Set-up
//-----------------------------------------------------------------------------
before(async () => {
  mkdirSync(env.shots, { recursive: true });
  server = await startServer('e2e');
  for (const t of [...Object.keys(TASKS), 'wdbc-mlp', 'diabetes-progression']) assert.equal((await publish(server.base, bundlePath(t))).status, 201);
  browser = await launch();
});
after(async () => { await browser?.close(); server?.stop(); });

//-----------------------------------------------------------------------------
// [SECTION] Parity
//-----------------------------------------------------------------------------
for (const [task, label] of Object.entries(TASKS)) {
  test(`${task}: probabilities and contributions in the browser equal localdx predict --explain (<= 1e-5)`, async () => {
    const csv = path.join(env.data, `${task}.csv`);
    const native = cliPredict(bundlePath(task), csv, path.join(server.dir, `${task}.native.json`));
    const records = csvRecords(readFileSync(csv, 'utf8'), [label]).slice(0, 150);
    const { ctx, page, errors } = await openApp(browser, server.base, { model: task });
    const results = await page.evaluate(async (rs) => { const out = []; for (const r of rs) out.push(await window.localdx.predict(r)); return out; }, records);
    const schema = await page.evaluate(() => window.localdx.model().schema);
    let dp = 0, dphi = 0, dpts = 0;
    results.forEach((r, i) => {
      assert.equal(r.ok, true, JSON.stringify(r.problems));
      assert.equal(r.check.ok, true);
      // The explanation in probability points adds up to the shown probability, with the signs of the exact values.
      assert.equal(r.points.ok, true, `row ${i}: explanation not expressible in points`);
      const shown = r.probabilities.length === 2 ? 1 : r.predicted;
      dpts = Math.max(dpts, Math.abs(r.points.fields.reduce((a, b) => a + b, r.points.base) - r.probabilities[shown]));
      r.points.fields.forEach((v, f) => assert.ok(v * r.fieldContributions[f] >= 0, `row ${i} field ${f}: the sign changed`));
      const n = native[i];
      // The CLI writes the browser core's JSON: the same order of classes and features.
      assert.deepEqual(n.classes, schema.outputs.classes.map((c) => c.name));
      schema.outputs.classes.forEach((c, k) => { dp = Math.max(dp, Math.abs(r.probabilities[k] - n.probabilities[k])); });
      n.explanation.outputs.forEach((o, j) => {
        dphi = Math.max(dphi, Math.abs(r.outputs[j].base - o.base));
        schema.features.forEach((f, m) => { dphi = Math.max(dphi, Math.abs(r.outputs[j].contributions[m] - o.contributions[m])); });
      });
    });
    assert.ok(dp <= 1e-5, `probabilities differ by ${dp}`);
    assert.ok(dphi <= 1e-5, `contributions differ by ${dphi}`);
    assert.ok(dpts <= 0.0005, `points add up to the shown probability within ${dpts} (goal 0.05 points)`);
    assert.deepEqual(errors, []);
    console.log(`# ${task}: ${results.length} rows, max |dp| ${dp.toExponential(2)}, max |dphi| ${dphi.toExponential(2)}`);
    await ctx.close();
  });
}

//-----------------------------------------------------------------------------
// [SECTION] The ImGui UI
//-----------------------------------------------------------------------------
// The form's first input sits at a known place in the 1280x800 layout (a real input element of the
// accessible layer over the canvas, web/a11y.js); Tab then walks the editable fields in schema
// order, as a keyboard user would, past the unit and choice lists between them. Dear ImGui 1.86
// samples mouse buttons and keys once per frame, so presses are held for a few frames, as a person would.
async function press(page, key) {
  await page.keyboard.down(key);
  await page.waitForTimeout(60);
  await page.keyboard.up(key);
  await page.waitForTimeout(40);
}
async function tabToField(page, back = false) {
  for (let i = 0; i < 6; i++) {
    if (back) await page.keyboard.down('Shift');
    await press(page, 'Tab');
    if (back) await page.keyboard.up('Shift');
    if (await page.evaluate(() => document.activeElement?.matches('#a11y input[type=text]'))) return;
  }
  throw new Error('Tab reached no next field');
}
async function typePatient(page, dpr, values) {
  await page.waitForSelector('#a11y input[type=text]');
  await page.waitForTimeout(300);
  await page.mouse.click(400, 137, { delay: 80 });
  await page.waitForTimeout(100);
  for (const [i, v] of values.entries()) {
    if (i > 0) await tabToField(page);
    if (v !== '') await page.keyboard.type(v, { delay: 20 });
  }
  await page.keyboard.down('Control');
  await press(page, 'Enter');
  await page.keyboard.up('Control');
}

for (const dpr of [1, 2]) {
  test(`typing into the ImGui form and pressing Predict shows the result (devicePixelRatio ${dpr})`, async () => {
    const { ctx, page, errors } = await openApp(browser, server.base, { dpr });
    // pregnant, glucose, pressure, triceps, insulin (left empty), mass, pedigree, age
    await typePatient(page, dpr, ['6', '148', '72', '35', '', '33.6', '0.627', '50']);
    await page.waitForFunction(() => document.getElementById('live').textContent.startsWith('Result:'), null, { timeout: 15000 });
    const form = await page.evaluate(() => window.localdx.formRecord());
    assert.deepEqual(form, { pregnant: '6', glucose: '148', pressure: '72', triceps: '35', mass: '33.6', pedigree: '0.627', age: '50' });
    const live = await page.textContent('#live');
    const api = await page.evaluate((r) => window.localdx.predict(r), form);
    assert.match(live, new RegExp(`Diabetes ${(100 * api.probabilities[1]).toFixed(1)}%`));
    assert.match(live, /Main factors: .*Plasma glucose/);
    assert.match(live, /not a diagnosis/);
    const size = await page.evaluate(() => { const c = document.getElementById('canvas'); return [c.width, c.clientWidth, window.devicePixelRatio]; });
    assert.equal(size[0], Math.round(size[1] * dpr), 'the canvas is sized in device pixels');
    await page.waitForTimeout(300);
    await page.screenshot({ path: path.join(env.shots, `patient-dpr${dpr}.png`) });
    assert.deepEqual(errors, []);
    await ctx.close();
  });
}

// Types text as key events. A character no US key produces (a Unicode minus, as a keyboard layout
// or an input method gives it) arrives as the text an input method inserts into the field.
async function typeChars(page, text) {
  for (const ch of text) {
    if (ch.charCodeAt(0) < 128) await page.keyboard.type(ch, { delay: 20 });
    else await page.keyboard.insertText(ch);
  }
}

test('typed numbers are read exactly as meant or refused next to the field; an edit marks the result out of date', async () => {
  const { ctx, page, errors } = await openApp(browser, server.base);
  // Body mass index (the 6th field): every awkward text is read as the intended value or refused
  // with a visible message, never read as another number. Real key events into the canvas.
  const intended = { '0,5': 0.5, '0.5': 0.5, ' 7 ': 7, '1,234': null, '12a': null, '1e3': 1000, ',5': 0.5, '5,': null, '31,5': 31.5, '−3': null };
  await typePatient(page, 1, ['6', '148', '72', '35', '', '33.6', '0.627', '50']);
  await page.waitForFunction(() => document.getElementById('live').textContent.startsWith('Result:'), null, { timeout: 15000 });
  assert.equal((await page.evaluate(() => window.localdx.viewState())).result, 'current');
  // Focus survives Ctrl+Enter: the next key goes on in the field that had the focus (the last one
  // typed into), after what it holds, never replacing it.
  const before = await page.evaluate(() => window.localdx.formRecord());
  await page.waitForTimeout(200);
  await page.keyboard.type('9', { delay: 20 });
  await page.waitForTimeout(150);
  const after = await page.evaluate(() => window.localdx.formRecord());
  const edited = Object.keys(after).filter((k) => after[k] !== before[k]);
  assert.equal(edited.length, 1, `one field took the key (${JSON.stringify(after)})`);
  assert.equal(after[edited[0]], before[edited[0]] + '9', 'the key was added to the value, not put in its place');
  assert.equal((await page.evaluate(() => window.localdx.viewState())).result, 'stale');
  await press(page, 'Backspace');
  await page.waitForTimeout(100);
  assert.deepEqual(await page.evaluate(() => window.localdx.formRecord()), before, 'Backspace takes the key back');
  const schema = await page.evaluate(() => window.localdx.model().schema);
  const mass = schema.fields.findIndex((f) => f.name === 'mass');
  await page.mouse.click(400, 137, { delay: 80 });
  for (let i = 0; i < mass; i++) await tabToField(page);
  for (const [text, value] of Object.entries(intended)) {
    await page.keyboard.down('Control'); await press(page, 'a'); await page.keyboard.up('Control');
    await typeChars(page, text);
    await page.waitForTimeout(150);
    const state = await page.evaluate(() => window.localdx.viewState());
    const form = await page.evaluate(() => window.localdx.formRecord());
    assert.equal(form.mass, text, `the field holds what was typed (${JSON.stringify(text)})`);
    const shown = state.problems.filter((p) => p.field === 'mass');
    const read = await page.evaluate((r) => window.localdx.predict(r), form);
    assert.ok(read.ok || read.problems.every((p) => p.field === 'mass'), `only the typed field is refused: ${JSON.stringify(read.problems)}`);
    if (shown.length) {
      assert.equal(read.ok, false, `${JSON.stringify(text)} is refused in the view, so the core must refuse it too`);
      if (text === '1,234') assert.match(shown[0].message, /could mean 1234 or 1\.234/);
      // A Unicode minus is a minus: −3 is refused for its range, not as "not a number".
      if (text === '−3') assert.match(shown[0].message, /-3\b.*range|range.*-3\b/);
    } else {
      assert.notEqual(value, null, `${JSON.stringify(text)} must be refused, not read`);
      assert.equal(read.values[mass], value, `${JSON.stringify(text)} read as ${read.values[mass]}, meant ${value}`);
    }
    assert.equal(state.result, 'stale', 'the earlier result is marked out of date once a value changes');
  }
  // Escape puts back what the field held when its edit began, and says so.
  await page.keyboard.down('Control'); await press(page, 'a'); await page.keyboard.up('Control');
  await typeChars(page, '31.5');
  await tabToField(page);
  await tabToField(page, true);
  await typeChars(page, '99');
  await page.waitForTimeout(100);
  assert.equal((await page.evaluate(() => window.localdx.formRecord())).mass, '99');
  await press(page, 'Escape');
  await page.waitForTimeout(150);
  assert.equal((await page.evaluate(() => window.localdx.formRecord())).mass, '31.5', 'Escape restores the value before the edit');
  assert.match(await page.evaluate(() => document.getElementById('live').textContent), /Escape undid the edit of .*: it is back to 31\.5/);
  await page.screenshot({ path: path.join(env.shots, 'patient-stale.png') });
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('print: the Print button gives the browser a clean summary of the result for the chart, and only that', async () => {
  const { ctx, page, errors } = await openApp(browser, server.base);
  await page.evaluate(() => { window.printed = 0; window.print = () => { window.printed++; }; });
  await page.evaluate(() => window.localdx.fillAndPredict({ glucose: '148', mass: '33,6', age: '50', pedigree: '0.627' }));
  await page.waitForFunction(() => document.getElementById('live').textContent.startsWith('Result:'), null, { timeout: 15000 });
  await page.evaluate(() => window.localdx.printResult());
  assert.equal(await page.evaluate(() => window.printed), 1, 'the browser was asked to print');
  const text = await page.evaluate(() => document.getElementById('print').textContent);
  assert.match(text, /pima-diabetes v1/);
  assert.match(text, /Body mass index 33\.6 kg\/m²; Diabetes pedigree function 0\.627; Age 50 years/);
  assert.match(text, /probability/i);
  assert.match(text, /no patient data left it/);
  await page.emulateMedia({ media: 'print' });
  const shown = await page.evaluate(() => ['print', 'canvas', 'live'].map((id) => getComputedStyle(document.getElementById(id)).display));
  assert.deepEqual(shown, ['block', 'none', 'none'], 'in print only the summary is shown');
  await page.pdf({ path: path.join(env.shots, 'print.pdf') });
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('Tab reaches every field in order, the yes/no and category fields too, and a typed label is read as its level', async () => {
  const { ctx, page, errors } = await openApp(browser, server.base, { model: 'pbc-stage' });
  // age, sex, ascites, hepato, spiders, edema, bili, chol, albumin, copper, alk_phos, ast, trig, platelet, protime
  const typed = ['58,5', 'female', 'No', 'yes', 'no', 'None', '1,4', '260', '3,5', '50', '1200', '110', '120', '250', '10,6'];
  await typePatient(page, 1, typed);
  await page.waitForFunction(() => document.getElementById('live').textContent.startsWith('Result:'), null, { timeout: 15000 });
  const schema = await page.evaluate(() => window.localdx.model().schema);
  const form = await page.evaluate(() => window.localdx.formRecord());
  assert.deepEqual(schema.fields.map((f) => form[f.name]), typed, 'each typed value landed in its own field, in order');
  const r = await page.evaluate((rec) => window.localdx.predict(rec), form);
  assert.equal(r.ok, true, JSON.stringify(r.problems));
  assert.equal(r.values[0], 58.5);
  assert.equal(r.values[1], 0, 'female is the first level');
  assert.deepEqual(r.values.slice(2, 5), [0, 1, 0]);
  assert.equal(r.values[14], 10.6);
  await page.screenshot({ path: path.join(env.shots, 'patient-pbc.png') });
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('the mouse wheel scrolls the 30-field wdbc form down to Predict, and back', async () => {
  const { ctx, page, errors } = await openApp(browser, server.base, { model: 'wdbc' });
  await page.mouse.move(300, 400);
  await page.waitForTimeout(200);
  assert.equal((await page.evaluate(() => window.localdx.viewState())).form_scroll, 0);
  for (let i = 0; i < 10; i++) { await page.mouse.wheel(0, 100); await page.waitForTimeout(60); }
  await page.waitForTimeout(200);
  const down = (await page.evaluate(() => window.localdx.viewState())).form_scroll;
  assert.ok(down > 200, `ten notches down scrolled the form ${down} px`);
  await page.screenshot({ path: path.join(env.shots, 'patient-wdbc-scrolled.png') });
  for (let i = 0; i < 20; i++) { await page.mouse.wheel(0, -100); await page.waitForTimeout(60); }
  await page.waitForTimeout(200);
  assert.equal((await page.evaluate(() => window.localdx.viewState())).form_scroll, 0, 'and back up to the top');
  assert.deepEqual(errors, []);
  await ctx.close();
});

// localdx predict on a file whose rows may all be refused (exit status 2: no row scored, the
// reasons written all the same).
function cliPredictRefused(bundle, csv, out) {
  try {
    return cliPredict(bundle, csv, out);
  } catch (e) {
    assert.equal(e.status, 2, `localdx predict: ${e.stderr}`);
    return JSON.parse(readFileSync(out, 'utf8'));
  }
}

test('a patient with most values missing gets no verdict but the values to enter (the model\'s minimum information), as localdx predict says', async () => {
  // Pima with only the age, typed as a clinician types it.
  const { ctx, page } = await openApp(browser, server.base);
  await typePatient(page, 1, ['', '', '', '', '', '', '', '50']);
  await page.waitForFunction(() => document.getElementById('live').textContent.startsWith('No result yet.'), null, { timeout: 15000 });
  const live = await page.textContent('#live');
  assert.match(live, /Enter Plasma glucose[^.]* to get a result/);
  assert.doesNotMatch(live, /threshold|probability of Diabetes|Triage band/);
  const view = await page.evaluate(() => window.localdx.viewState());
  assert.notEqual(view.result, 'current', 'no result is on screen');
  const r = await page.evaluate(() => window.localdx.predict(window.localdx.formRecord()));
  assert.equal(r.ok, false);
  assert.equal(r.problems[0].code, 'incomplete');
  assert.equal(r.probabilities, undefined);
  // Pima marks its required field (age), so the form's legend explains the mark.
  const legend = (page) => page.evaluate(() => window.localdx.a11yTree().nodes.find((n) => /Ctrl\+Enter predicts/.test(n.name))?.name);
  assert.equal(await legend(page), '* required. Ctrl+Enter predicts.');
  // The CLI refuses the same row with the same words.
  const csv = path.join(server.dir, 'age-only.csv');
  writeFileSync(csv, 'age\n50\n');
  const native = cliPredictRefused(bundlePath('pima-diabetes'), csv, path.join(server.dir, 'age-only.json'))[0];
  assert.equal(native.ok, false);
  assert.equal(native.problems[0].code, 'incomplete');
  assert.equal(native.problems[0].message, r.problems[0].message);
  await ctx.close();
  // diabetes-progression with nothing typed: Predict gives no value and no interval.
  const dp = await openApp(browser, server.base, { model: 'diabetes-progression' });
  await dp.page.waitForSelector('#a11y input[type=text]');
  await dp.page.waitForTimeout(300);
  await dp.page.mouse.click(400, 137, { delay: 80 });
  await dp.page.keyboard.down('Control');
  await press(dp.page, 'Enter');
  await dp.page.keyboard.up('Control');
  await dp.page.waitForFunction(() => document.getElementById('live').textContent.startsWith('No result yet.'), null, { timeout: 15000 });
  assert.doesNotMatch(await dp.page.textContent('#live'), /Predicted|interval|points/);
  // No field of this model is required: no "* required" in the legend. A category's choices are
  // the schema's labels for its levels.
  assert.equal(await legend(dp.page), 'Ctrl+Enter predicts.');
  const dpSchema = await dp.page.evaluate(() => window.localdx.model().schema);
  const sexField = dpSchema.fields.find((f) => f.name === 'sex');
  const sexPicker = await dp.page.evaluate((label) => window.localdx.a11yTree().nodes.find((n) => n.role === 'combobox' && n.name.startsWith(label)), sexField.label);
  assert.ok(sexPicker, 'the Sex picker is in the layer');
  for (const level of sexField.levels) assert.ok(sexPicker.options.includes(level.label), `${level.label} in ${JSON.stringify(sexPicker.options)}`);
  const empty = await dp.page.evaluate(() => window.localdx.predict({}));
  assert.equal(empty.ok, false);
  assert.equal(empty.problems[0].code, 'incomplete');
  assert.equal(empty.value, undefined);
  const emptyCsv = path.join(server.dir, 'dp-empty.csv');
  writeFileSync(emptyCsv, 'age,bmi\n,\n');
  const nativeEmpty = cliPredictRefused(bundlePath('diabetes-progression'), emptyCsv, path.join(server.dir, 'dp-empty.json'))[0];
  assert.equal(nativeEmpty.ok, false);
  assert.equal(nativeEmpty.problems[0].message, empty.problems[0].message);
  await dp.ctx.close();
});

test('invalid values are shown next to the field, and no result is given', async () => {
  const { ctx, page } = await openApp(browser, server.base);
  await typePatient(page, 1, ['6', '1500', '', '', '', '', '', '']);
  await page.waitForFunction(() => document.getElementById('live').textContent.startsWith('The values could not be used'), null, { timeout: 15000 });
  assert.match(await page.textContent('#live'), /1500 mg\/dL is outside the possible range 10 to 1000 mg\/dL|a value is required/);
  await page.screenshot({ path: path.join(env.shots, 'patient-invalid.png') });
  await ctx.close();
});

test('when the list of models cannot be reached on a first visit, the page says so in words, above the canvas', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  await page.route('**/api/v1/models', (route) => route.abort());
  await page.goto(`${server.base}/#model=pima-diabetes`);
  await page.waitForFunction(() => !document.getElementById('fallback').hidden, null, { timeout: 15000 });
  const seen = await page.evaluate(() => {
    const top = (id) => { const r = document.getElementById(id).getBoundingClientRect(); return document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2); };
    return { text: document.getElementById('fallback').textContent, onTop: top('fallback').id, splash: document.getElementById('splash').hidden };
  });
  assert.match(seen.text, /LocalDx could not start: The list of models cannot be reached/);
  assert.equal(seen.onTop, 'fallback', 'the message is not hidden under the canvas');
  assert.equal(seen.splash, true, 'the loading line is gone');
  await ctx.close();
});

test('the bundle requested while the page starts is used only if the verified list of models names it', async () => {
  // The page asks for the bundle its models list names before the core can verify that list.
  // Here the list's signed entry for pima-diabetes is changed to point at another bundle: the
  // page requests that one early, then refuses the list (its signature no longer matches) and
  // loads nothing.
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  const index = await (await fetch(server.base + '/api/v1/models')).json();
  const pima = index.signed.models.find((m) => m.name === 'pima-diabetes');
  const other = index.signed.models.find((m) => m.name !== 'pima-diabetes');
  pima.url = other.url;
  await page.route('**/api/v1/models', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(index) }));
  const bundles = [];
  page.on('request', (r) => { if (r.url().includes('/api/v1/bundles/')) bundles.push(r.url()); });
  await page.goto(`${server.base}/#model=pima-diabetes`);
  await page.waitForFunction(() => !document.getElementById('fallback').hidden, null, { timeout: 15000 });
  assert.match(await page.textContent('#fallback'), /LocalDx could not start: .*signature/i);
  assert.ok(bundles.some((u) => u.endsWith(other.url)), 'the named bundle was requested early');
  assert.equal(await page.evaluate(() => window.localdx.model()), null, 'nothing from the refused list was loaded');
  await ctx.close();
});

test('the bundle used last is asked for with the models list, and used only if the verified list names it', async () => {
  // The page's own requests (no service worker between: the routes below see each of them).
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, serviceWorkers: 'block' });
  const page = await ctx.newPage();
  const index = await (await fetch(server.base + '/api/v1/models')).json();
  const pima = index.signed.models.find((m) => m.name === 'pima-diabetes');
  const other = index.signed.models.find((m) => m.name !== 'pima-diabetes');
  const sent = [];  // the paths of the page's API requests, in order
  page.on('request', (r) => { const u = new URL(r.url()); if (u.pathname.startsWith('/api/v1/')) sent.push(u.pathname); });
  await page.goto(`${server.base}/#model=pima-diabetes`);
  await page.waitForFunction(() => window.localdx.model() !== null);
  assert.deepEqual(await page.evaluate(() => JSON.parse(localStorage.getItem('ldx.lastBundle'))), { name: 'pima-diabetes', url: pima.url });
  // Opened again: the bundle is asked for before the list has come (with it), and the model loads.
  sent.length = 0;
  let releaseIndex;
  const indexHeld = new Promise((r) => { releaseIndex = r; });
  await page.route('**/api/v1/models', async (route) => { await indexHeld; await route.continue(); });
  await page.goto('about:blank');
  const opened = page.goto(`${server.base}/#model=pima-diabetes`);
  await page.waitForFunction(() => performance.getEntriesByType('resource').some((r) => r.name.includes('/api/v1/bundles/')), null, { timeout: 15000 });
  assert.ok(sent.includes(pima.url), 'the bundle used last was asked for while the list was held: ' + sent.join(' '));
  releaseIndex();
  await opened;
  await page.waitForFunction(() => window.localdx.model() !== null);
  assert.equal(await page.evaluate(() => window.localdx.model().sha256), pima.url.split('/').pop());
  assert.equal(sent.filter((p) => p === pima.url).length, 1, 'that download was the one used: ' + sent.join(' '));
  // The list of the app's files came with the page (index.html), not by a request of the page's.
  assert.equal(await page.evaluate(() => performance.getEntriesByType('resource').some((r) => new URL(r.name).pathname === '/assets.json')), false);
  // Another model asked for in the address: the bundle used last is not asked for.
  sent.length = 0;
  await page.goto('about:blank');
  await page.goto(`${server.base}/#model=${other.name}`);
  await page.waitForFunction((name) => window.localdx.model()?.name === name, other.name);
  assert.deepEqual(sent.filter((p) => p.startsWith('/api/v1/bundles/')), [other.url]);
  // The address kept names another model's bundle (as if pima-diabetes had a new version): that
  // download is not used; the bundle the verified list names is asked for and loaded.
  await page.unroute('**/api/v1/models');
  await page.evaluate((url) => localStorage.setItem('ldx.lastBundle', JSON.stringify({ name: 'pima-diabetes', url })), other.url);
  sent.length = 0;
  await page.goto('about:blank');
  await page.goto(`${server.base}/#model=pima-diabetes`);
  await page.waitForFunction(() => window.localdx.model() !== null);
  const model = await page.evaluate(() => window.localdx.model());
  assert.equal(model.name, 'pima-diabetes');
  assert.equal(model.sha256, pima.url.split('/').pop());
  assert.ok(sent.includes(other.url) && sent.includes(pima.url), 'both were asked for: ' + sent.join(' '));
  assert.deepEqual(await page.evaluate(() => JSON.parse(localStorage.getItem('ldx.lastBundle'))), { name: 'pima-diabetes', url: pima.url });
  await ctx.close();
});

test('the list of the app\'s files is read with the page: index.html carries assets.json as served', async () => {
  const html = await (await fetch(server.base + '/')).text();
  const inline = html.match(/<script type="application\/json" id="ldx-assets">([^<]*)<\/script>/);
  assert.ok(inline, 'index.html carries the list');
  assert.deepEqual(JSON.parse(inline[1]), await (await fetch(server.base + '/assets.json')).json());
  assert.ok(!html.includes('href="assets.json"'), 'and does not ask for it again');
});

test('a clinician\'s page does not load the test hooks: window.localdx is what smart.js reads, and test-hooks.js is never requested', async () => {
  const ctx = await browser.newContextWithoutHooks({ viewport: { width: 1280, height: 800 } });
  const requested = [];
  ctx.on('request', (req) => requested.push(new URL(req.url()).pathname));
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.base}/#model=pima-diabetes`);
  await page.evaluate(() => window.localdx.ready);
  await page.waitForFunction(() => window.localdx.model() !== null);
  assert.deepEqual(await page.evaluate(() => Object.keys(window.localdx).sort()), ['chartStatus', 'chartWrite', 'model', 'prefillFromChart', 'ready']);
  // The batch worker starts a moment after the model's first check (web/batch.js, prepareWorkerWhenIdle),
  // unasked: what the page loads by itself is all requested by then.
  for (let i = 0; i < 300 && !requested.includes('/batch-worker.js'); i++) await page.waitForTimeout(100);
  assert.ok(requested.includes('/batch-worker.js'), 'the batch worker was started: ' + requested.join(' '));
  await page.waitForTimeout(1000);
  assert.ok(requested.includes('/page.js'), 'the page\'s script was loaded');
  assert.ok(!requested.some((p) => p.endsWith('test-hooks.js')), 'test-hooks.js was requested: ' + requested.join(' '));
  const precache = JSON.parse(await (await fetch(server.base + '/assets.json')).text()).precache;
  assert.ok(!precache.includes('test-hooks.js') && precache.includes('page.js'));
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('the UI draws on demand: nothing before the model, an idle page redraws at most twice a second, and input wakes it', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.base}/#model=pima-diabetes`, { waitUntil: 'commit' });
  await page.waitForFunction(() => window.localdx);  // page.js has run; the model takes seconds more
  // Until the model is ready the page's own text shows through the (still transparent) canvas.
  // (Counted by the app when the model arrives: the page may be ready before this test looks.)
  const atReady = await page.evaluate(async () => {
    await window.localdx.ready;
    return { frames: window.localdx.viewState().frames_before_model, splash: document.getElementById('splash').textContent };
  });
  assert.equal(atReady.frames, 0, 'no frame is drawn before the model is ready');
  assert.match(atReady.splash, /Loading LocalDx/);
  const drawn = () => page.evaluate(() => window.localdx.framesDrawn());
  await page.waitForFunction(() => window.localdx.framesDrawn() >= 1, null, { timeout: 5000 });  // the model's form
  await page.waitForTimeout(500);  // the frames after loading the model
  const idle0 = await drawn();
  await page.waitForTimeout(3000);
  const idle = (await drawn()) - idle0;
  assert.ok(idle <= 8, `${idle} frames drawn in 3 s of idling (60 per second would be 180)`);
  const before = await drawn();
  const rendered = () => page.evaluate(() => window.localdx.framesRendered());
  const renderedBefore = await rendered();
  await page.mouse.move(300, 300);
  await page.mouse.move(320, 310);
  await page.waitForFunction((n) => window.localdx.framesDrawn() > n + 2, before, { timeout: 5000 });
  await page.waitForTimeout(500);  // the woken frames drawn
  // The frames woken by the pointer draw what the first of them drew: they are not rendered again.
  const woken = (await drawn()) - before, renderedWoken = (await rendered()) - renderedBefore;
  assert.ok(renderedWoken < woken, `${renderedWoken} of ${woken} frames woken by the pointer were rendered (the same frame again is not)`);
  assert.deepEqual(errors, []);
  await ctx.close();
});

// Where the canvas's frames are drawn (web/render.js): by the render worker (this Chromium offers
// WebGL2 on an OffscreenCanvas), or by the page itself, as in a browser without it (the page's
// OffscreenCanvas taken away before its scripts run).
const DRAWN_BY = {
  worker: async () => browser.newContext({ viewport: { width: 1280, height: 800 } }),
  page: async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await ctx.addInitScript(() => { delete globalThis.OffscreenCanvas; });
    return ctx;
  },
};

// The page can make a frame every 16 ms and the worker may take 40-170 ms to draw one without a
// GPU: wheel notches as fast as the browser delivers them never leave more than two frames waiting
// for the worker (render_gl.h, gl_renderer_busy), and the form still ends where the wheel took it.
test('fast wheel scrolling never queues more than two frames for the render worker', async () => {
  const { ctx, page, errors } = await openApp(browser, server.base, { model: 'wdbc' });
  assert.equal(await page.evaluate(() => window.localdx.display.offscreen()), true);
  await page.waitForSelector('#a11y input[type=text]');
  await page.evaluate(() => {
    globalThis.__mostInFlight = 0;
    const watch = () => { globalThis.__mostInFlight = Math.max(globalThis.__mostInFlight, window.localdx.display.inFlight()); setTimeout(watch, 1); };
    watch();
  });
  await page.mouse.move(300, 400);
  await page.waitForTimeout(200);
  const committed = (await page.evaluate(() => window.localdx.display.committed())).length;
  for (let i = 0; i < 50; i++) await page.mouse.wheel(0, i % 20 < 10 ? 100 : -100);  // down, up, down, up, down
  await page.waitForTimeout(1500);
  const scrolled = (await page.evaluate(() => window.localdx.viewState())).form_scroll;
  assert.ok(scrolled > 200, `the last ten notches down scrolled the form ${scrolled} px`);
  const most = await page.evaluate(() => globalThis.__mostInFlight);
  assert.ok(most <= 2, `${most} frames were waiting for the render worker at once`);
  assert.ok((await page.evaluate(() => window.localdx.display.committed())).length > committed, 'the scrolled form was never drawn');
  assert.equal(await page.evaluate(() => window.localdx.display.inFlight()), 0, 'frames were left waiting once scrolling stopped');
  assert.deepEqual(errors, []);
  await ctx.close();
});

// A render worker whose WebGL2 refuses to draw (its context or its shaders), or that stops drawing
// later: the canvas's place is given to the core's words, which say to reload (the accessible layer
// goes too), with what was typed on the form listed under them; the tab remembers it
// (web/render.js), and the reloaded page draws on its own thread.
const RENDER_WORKER_FAILED = "This browser's WebGL2 stopped drawing LocalDx in its render worker, so nothing more can be shown. " +
  'Reload the page: LocalDx then draws without the render worker (what is on the form will need to be entered again; after a ' +
  'launch from the EHR, launch it again from there).';
// `typed`: the form's values as the page lists them under the words (web/host.js, displayFailed).
async function saysRenderWorkerFailed(page, typed = '') {
  await page.waitForFunction(() => !document.getElementById('fallback').hidden, null, { timeout: 15000 });
  const onTop = await page.evaluate(() => {
    const r = document.getElementById('fallback').getBoundingClientRect();
    return document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2).id;
  });
  assert.equal(await page.textContent('#fallback'), typed ? `${RENDER_WORKER_FAILED}\n\nWhat was on the form, to enter again:\n${typed}` : RENDER_WORKER_FAILED);
  assert.equal(onTop, 'fallback', 'the message is not hidden under the canvas');
  assert.equal(await page.isHidden('#a11y'), true, 'no form answers where nothing is drawn');
  assert.equal(await page.isHidden('#canvas'), true, 'the last frame drawn is not left under the words');
  // The words and the values typed fit the window, or scroll within it.
  const box = await page.evaluate(() => {
    const p = document.getElementById('fallback'), r = p.getBoundingClientRect();
    return { bottom: r.bottom, height: innerHeight, overflow: getComputedStyle(p).overflowY };
  });
  assert.ok(box.bottom <= box.height, `the words end at ${box.bottom} px, below the window's ${box.height} px`);
  if (typed) assert.equal(box.overflow, 'auto');
  assert.equal(await page.isHidden('#splash'), true);
}
async function reloadsDrawingOnThePage(page) {
  await page.reload();
  await page.evaluate(() => window.localdx.ready);
  await page.waitForFunction(() => window.localdx.model() !== null);
  assert.equal(await page.evaluate(() => window.localdx.display.offscreen()), false, 'the reloaded page draws on its own thread');
  await typePatient(page, 1, ['6', '148', '72', '35', '', '33.6', '0.627', '50']);
  await page.waitForFunction(() => document.getElementById('live').textContent.startsWith('Result:'), null, { timeout: 15000 });
}

test('a render worker that cannot draw is said in words in the canvas\'s place, and the reloaded tab draws on the page', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await ctx.route('**/render-worker.js', (route) => route.fulfill({ contentType: 'text/javascript', body: "onmessage = () => postMessage({ type: 'failed', reason: 'refused by the test' });" }));
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.base}/#model=pima-diabetes`);
  await saysRenderWorkerFailed(page);
  await reloadsDrawingOnThePage(page);
  // Another tab tries the render worker again.
  await ctx.unroute('**/render-worker.js');
  const other = await ctx.newPage();
  other.on('pageerror', (e) => errors.push(e.message));
  await other.goto(`${server.base}/#model=pima-diabetes`);
  await other.evaluate(() => window.localdx.ready);
  assert.equal(await other.evaluate(() => window.localdx.display.offscreen()), true, 'another tab draws in a render worker');
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('a render worker that stops drawing after the clinician typed is said in words, and the reloaded tab draws on the page', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // The worker as served, made to fail on the test hooks' 'lose'.
  await servedRewritten(ctx, '**/render-worker.js', (text) => `${text}\n{ const served = onmessage; onmessage = (e) => (e.data.type === 'lose' ? postMessage({ type: 'failed', reason: 'stopped by the test' }) : served(e)); }`);
  const { page, errors } = await openApp(browser, server.base, { context: ctx });
  assert.equal(await page.evaluate(() => window.localdx.display.offscreen()), true, 'drawn by the worker');
  await typePatient(page, 1, ['6', '148,5']);
  await page.evaluate(() => window.localdx.display.lose());
  // What was typed is listed as typed (labels and units as the form shows them), nothing kept elsewhere.
  await saysRenderWorkerFailed(page, 'Number of pregnancies: 6\nPlasma glucose, 2 h after 75 g oral glucose (mg/dL): 148,5');
  await page.screenshot({ path: path.join(env.shots, 'render-worker-failed.png') });
  await reloadsDrawingOnThePage(page);
  assert.deepEqual(errors, []);
  await ctx.close();
});

// The render worker replays the app's frame with the same GL calls: the same form and result
// drawn by the worker and by the page are the same pixels.
test('the canvas drawn by the render worker shows the same pixels as drawn by the page', async () => {
  const shots = {};
  for (const [drawnBy, context] of Object.entries(DRAWN_BY)) {
    const { ctx, page, errors } = await openApp(browser, server.base, { context: await context() });
    await typePatient(page, 1, ['6', '148', '72', '35', '', '33.6', '0.627', '50']);
    await page.waitForFunction(() => document.getElementById('live').textContent.startsWith('Result:'), null, { timeout: 15000 });
    await page.waitForFunction(() => !window.localdx.viewState().being_checked, null, { timeout: 30000 });
    await page.mouse.click(1270, 790);  // off the form: no caret blinking
    await page.waitForTimeout(700);
    shots[drawnBy] = (await page.locator('#canvas').screenshot({ animations: 'disabled', caret: 'initial' })).toString('base64');
    assert.deepEqual(errors, []);
    await ctx.close();
  }
  assert.ok(shots.worker === shots.page, 'the worker drew other pixels than the page');
});

for (const [drawnBy, context] of Object.entries(DRAWN_BY)) {
// A frame that differs from the last one draws again only where its triangles differ (the canvas
// keeps its drawing buffer: wasm/app/render_gl.h, redrawn_since). What the canvas shows after
// typing, a result and more typing must be what a whole frame draws: the window resized away and
// back makes the app draw the same frame whole (a new framebuffer size), and the two are compared
// pixel for pixel.
test(`a frame drawn only where it changed shows the same pixels as the frame drawn whole (drawn by the ${drawnBy})`, async () => {
  const { ctx, page, errors } = await openApp(browser, server.base, { context: await context() });
  assert.equal(await page.evaluate(() => window.localdx.display.offscreen()), drawnBy === 'worker');
  await typePatient(page, 1, ['6', '148', '72', '35', '', '33.6', '0.627', '50']);
  await page.waitForFunction(() => document.getElementById('live').textContent.startsWith('Result:'), null, { timeout: 15000 });
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.type('12', { delay: 80 });  // the form changes under the shown result
  await page.keyboard.press('Backspace');
  await page.mouse.click(1270, 790);  // off the form: no caret blinking in either picture
  await page.waitForTimeout(700);
  const shot = async () => (await page.locator('#canvas').screenshot({ animations: 'disabled', caret: 'initial' })).toString('base64');
  const partial = await shot();
  await page.setViewportSize({ width: 1100, height: 800 });
  await page.waitForTimeout(500);
  const rendered = await page.evaluate(() => window.localdx.framesRendered());
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.waitForFunction((n) => window.localdx.framesRendered() > n, rendered, { timeout: 5000 });
  await page.waitForTimeout(700);
  const whole = await shot();
  assert.ok(partial === whole, 'the canvas drawn in parts differs from the same frame drawn whole');
  assert.deepEqual(errors, []);
  await ctx.close();
});

// A lost WebGL context (a GPU process restart, a driver reset) takes the renderer's program,
// buffers and font texture with it; once restored, the app makes them again
// (wasm/app/frame_loop.cpp, display_restored; the render worker its own state first): the form
// draws without a GL error and takes typing.
test(`after the WebGL context is lost and restored, the form draws again and takes typing (drawn by the ${drawnBy})`, async () => {
  const { ctx, page, errors } = await openApp(browser, server.base, { context: await context() });
  assert.equal(await page.evaluate(() => window.localdx.display.offscreen()), drawnBy === 'worker');
  await page.waitForSelector('#a11y input[type=text]');
  await page.waitForTimeout(300);
  await page.evaluate(() => window.localdx.display.lose());
  assert.equal((await page.evaluate(() => window.localdx.display.inspect())).lost, true);
  const rendered = await page.evaluate(() => window.localdx.framesRendered());
  await page.evaluate(() => window.localdx.display.restore());
  // A frame posted after the restore reaches the worker after the app's renderer and font (one
  // port, in order), so inspect() asks a context the app has made again.
  await page.waitForFunction((n) => window.localdx.framesRendered() > n, rendered, { timeout: 5000 });
  await page.waitForTimeout(100);  // the page's own context: the frame drawn
  const gl = await page.evaluate(() => window.localdx.display.inspect());
  assert.deepEqual(gl, { lost: false, program: true, error: 0 }, 'the renderer was made again and its frame drew without a GL error');
  await typePatient(page, 1, ['6', '148', '72', '35', '', '33.6', '0.627', '50']);
  await page.waitForFunction(() => document.getElementById('live').textContent.startsWith('Result:'), null, { timeout: 15000 });
  assert.deepEqual(await page.evaluate(() => window.localdx.formRecord()),
    { pregnant: '6', glucose: '148', pressure: '72', triceps: '35', mass: '33.6', pedigree: '0.627', age: '50' });
  assert.deepEqual(await page.evaluate(() => window.localdx.display.inspect()), { lost: false, program: true, error: 0 });
  assert.equal(await page.isHidden('#fallback'), true);
  assert.deepEqual(errors, []);
  await ctx.close();
});
}

// Every view of every demo model at 1280x800, 800x900 (stacked layout) and devicePixelRatio 2:
// a patient from the data set filled in and predicted, a batch of 40 of them, the model card, the
// reporting tab. test-work/screenshots/gallery (JPEG; copied to docs/screenshots/gallery, indexed by
// docs/screenshots/gallery.md).
test('screenshots of every view of every demo model, wide, narrow and at DPR 2', async () => {
  const models = { 'pima-diabetes': 'pima-diabetes', wdbc: 'wdbc', 'pbc-stage': 'pbc-stage', 'wdbc-mlp': 'wdbc', 'diabetes-progression': 'diabetes-progression' };
  const sizes = [{ tag: '1280x800', width: 1280, height: 800, dpr: 1 }, { tag: '800x900', width: 800, height: 900, dpr: 1 },
    { tag: 'dpr2', width: 1280, height: 800, dpr: 2 }];
  mkdirSync(path.join(env.shots, 'gallery'), { recursive: true });
  for (const [model, data] of Object.entries(models)) {
    const text = readFileSync(path.join(env.data, `${data}.csv`), 'utf8');
    const label = { 'pima-diabetes': 'diabetes', wdbc: 'diagnosis', 'pbc-stage': 'stage', 'diabetes-progression': 'progression' }[data];
    const patient = csvRecords(text, [label])[3];
    const batch = text.trim().split(/\r?\n/).slice(0, 41).join('\n') + '\n';
    for (const size of sizes) {
      const ctx = await browser.newContext({ viewport: { width: size.width, height: size.height }, deviceScaleFactor: size.dpr });
      const { page, errors } = await openApp(browser, server.base, { model, context: ctx });
      await page.evaluate((r) => window.localdx.fillAndPredict(r), patient);
      await page.waitForFunction(() => document.getElementById('live').textContent.startsWith('Result:'), null, { timeout: 20000 });
      await page.waitForTimeout(300);
      await page.screenshot({ path: path.join(env.shots, 'gallery', `${model}-patient-${size.tag}.jpg`), type: 'jpeg', quality: 75 });
      await page.evaluate((t) => window.localdx.scoreFile('patients.csv', t), batch);
      for (const [tab, name] of [[1, 'batch'], [2, 'card'], [3, 'reporting']]) {
        await page.evaluate((i) => window.localdx.selectTab(i), tab);
        await page.waitForTimeout(300);
        await page.screenshot({ path: path.join(env.shots, 'gallery', `${model}-${name}-${size.tag}.jpg`), type: 'jpeg', quality: 75 });
      }
      assert.deepEqual(errors, []);
      await ctx.close();
    }
  }
});

//-----------------------------------------------------------------------------
// [SECTION] Batch view
//-----------------------------------------------------------------------------
// The server's count of predictions behind the reports it accepted for pima-diabetes v1.
async function reportedPredictions() {
  const d = await (await operatorGet(server.base, '/api/v1/drift?model=pima-diabetes')).json();
  return d.predictions || 0;
}

test('batch view: a CSV of 768 patients is scored in the worker, cross-checked, shown and reported in aggregate', async () => {
  const { ctx, page } = await openApp(browser, server.base);
  const text = readFileSync(path.join(env.data, 'pima-diabetes.csv'), 'utf8');
  const before = await reportedPredictions();
  const r = await page.evaluate((t) => window.localdx.scoreCsv(t), text);
  assert.equal(r.rows, 768);
  assert.equal(r.problems.length, 0);
  assert.match(r.status, /Cross-checked with ONNX Runtime .*off the page/);
  // With two cores the worker's helper scored half of the file (the core joins them: joinBatchParts).
  if (await page.evaluate(() => navigator.hardwareConcurrency >= 2)) assert.match(r.status, /on two threads/);
  // ONNX Runtime ran every part as the worker and its helper scored it (their features bit for bit
  // the table's): the check of the joined table only compared.
  assert.equal(r.timing.check_rows_run_early, 768);
  assert.equal(r.timing.check_rows_run_late, 0);
  // The worker built the aggregate report: the whole batch (768 >= k predictions, nothing pending
  // in this fresh profile) is one report, and it reaches the server.
  await page.evaluate(() => window.localdx.flushReports());
  await page.waitForFunction(() => window.localdx.reporting().queue.length === 0, null, { timeout: 15000 });
  assert.equal(await page.evaluate(() => Object.keys(window.localdx.reporting().pending).length), 0);
  assert.equal((await reportedPredictions()) - before, 768, 'the server counted the batch\'s 768 predictions');
  // The same file scored again the same day counts once: nothing more is collected.
  await page.evaluate((t) => window.localdx.scoreCsv(t), text);
  const again = await page.evaluate(() => window.localdx.reporting());
  assert.deepEqual([Object.keys(again.pending).length, again.queue.length], [0, 0], 'a file scored twice is reported once');
  assert.match(await page.textContent('#live'), /768 patients scored/);
  await page.waitForTimeout(300);
  await page.mouse.click(60, 214, { delay: 80 });   // select the first row: its explanation opens below the table
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(env.shots, 'batch.png') });
  await ctx.close();
});

test('batch view: without cross-origin isolation (no shared memory) the worker and helper split the file in halves, with the same results', async () => {
  // Every response served without COOP/COEP: the page, its worker and the helper have no
  // SharedArrayBuffer, so the helper takes the second half of the parts (web/batch-worker.js).
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // A request still on its way when the test closes its context is dropped with it (as
  // servedRewritten does: harness.mjs).
  await ctx.route('**/*', async (route) => {
    try {
      const res = await route.fetch();
      const headers = { ...res.headers() };
      delete headers['cross-origin-opener-policy'];
      delete headers['cross-origin-embedder-policy'];
      await route.fulfill({ response: res, headers });
    } catch (e) {
      if (!/has been disposed|has been closed/.test(e.message)) throw e;
    }
  });
  const { page, errors } = await openApp(browser, server.base, { context: ctx });
  assert.equal(await page.evaluate(() => self.crossOriginIsolated || typeof SharedArrayBuffer !== 'undefined'), false);
  const text = readFileSync(path.join(env.data, 'pima-diabetes.csv'), 'utf8');
  const r = await page.evaluate((t) => window.localdx.scoreFile('patients.csv', t, { results: true }), text);
  assert.equal(r.rows, 768);
  assert.match(r.status, /Cross-checked with ONNX Runtime .*off the page/);
  if (await page.evaluate(() => navigator.hardwareConcurrency >= 2)) assert.match(r.status, /on two threads/);
  // The same patients one by one through the page's predict: the same probabilities.
  const records = csvRecords(text, ['diabetes']).slice(0, 768);
  const one = await page.evaluate(async (rs) => { const out = []; for (const rec of rs) out.push((await window.localdx.predict(rec)).probabilities); return out; }, records);
  let dp = 0;
  r.results.forEach((row, i) => row.probabilities.forEach((p, k) => { dp = Math.max(dp, Math.abs(p - one[i][k])); }));
  assert.equal(dp, 0, `batch and one-by-one probabilities differ by ${dp}`);
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('batch: ids, an unknown column, a decimal comma and five bad rows give the same rows, ids and reasons as localdx predict', async () => {
  const lines = ['patient_id,pregnant,glucose,pressure,triceps,insulin,mass,pedigree,age,ward'];
  for (let i = 1; i <= 20; i++) lines.push(`P${i},${i % 5},${90 + 3 * i},70,,,${25 + i / 10},0.${100 + i},${25 + i},A`);
  lines[1] = 'P1,1,95,70,,,31,"0,5",30,A';       // a quoted decimal comma: 0.5
  lines[3] = 'P3,1,abc,70,,,31,0.5,30,A';        // text value
  lines[5] = 'P5,1,95,70,,,31,0.5,130,A';        // out of range
  lines[7] = 'P7,1,95,70,,,31,0.5,,A';           // empty required field
  lines[9] = 'P9,1,95,70';                       // short row
  lines[11] = 'P11,1,95,70,,,31,"1,234",30,A';   // ambiguous number
  const csv = lines.join('\n') + '\n';
  const file = path.join(server.dir, 'mixed.csv');
  writeFileSync(file, csv);
  let cli;
  try { cli = cliPredict(bundlePath('pima-diabetes'), file, path.join(server.dir, 'mixed.native.json')); } catch (e) {
    assert.equal(e.status, 2, 'bad rows: exit 2 with the good rows scored');
    cli = JSON.parse(readFileSync(path.join(server.dir, 'mixed.native.json'), 'utf8'));
  }
  const { ctx, page, errors } = await openApp(browser, server.base);
  const r = await page.evaluate((t) => window.localdx.scoreFile('mixed.csv', t, { results: true }), csv);
  assert.equal(r.rows, 15);
  const scored = cli.filter((x) => x.ok);
  assert.deepEqual(r.results.map((x) => [x.row, x.patient]), scored.map((x) => [x.row, x.patient]));
  r.results.forEach((x, i) => assert.ok(Math.abs(x.probabilities[1] - scored[i].probabilities[1]) <= 1e-9));
  assert.ok(Math.abs(r.results[0].probabilities[1] - scored[0].probabilities[1]) <= 1e-9, 'P1 read 0,5 as 0.5 in both');
  const rejected = cli.filter((x) => !x.ok).map((x) => [x.row, x.patient, x.problems[0].code]);
  assert.deepEqual(rejected, [[3, 'P3', 'not_a_number'], [5, 'P5', 'out_of_range'], [7, 'P7', 'required'], [9, 'P9', 'csv_columns'], [11, 'P11', 'ambiguous_number']]);
  assert.deepEqual(r.problems.map((p) => [p.row, p.patient, p.code]), rejected);
  // The browser's export and `localdx predict --format csv` of the same file: the same bytes but
  // the first line, which names the tool.
  const exported = await page.evaluate(() => window.localdx.batchCsv());
  const cliCsvFile = path.join(server.dir, 'mixed.native.csv');
  try {
    execFileSync(env.cli, ['predict', '--bundle', bundlePath('pima-diabetes'), '--trust', path.join(env.demo, 'keys/trust.json'),
      '--input', file, '--format', 'csv', '--out', cliCsvFile], { stdio: 'pipe' });
  } catch (e) { assert.equal(e.status, 2, String(e.stderr)); }
  const cliCsv = readFileSync(cliCsvFile, 'utf8');
  assert.equal(exported.split('\n')[0], '# LocalDx results: LocalDx in the browser');
  assert.equal(cliCsv.split('\n')[0], '# LocalDx results: localdx predict');
  assert.equal(exported.slice(exported.indexOf('\n')), cliCsv.slice(cliCsv.indexOf('\n')));
  assert.equal(exported.trimEnd().split('\n').length, 22, 'a line per input row, the tool and the columns');
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(env.shots, 'batch-rejected.png') });
  assert.deepEqual(errors, []);
  await ctx.close();
});

// ONNX Runtime's 14 MB module held back until the test calls release(): the first result must not
// wait for it. ONNX Runtime runs in the page's own worker here (harness.mjs, ownOnnxWorker), where
// the route reaches its requests.
async function holdOnnxRuntime(ctx) {
  await ownOnnxWorker(ctx);
  let release;
  const released = new Promise((r) => { release = r; });
  await ctx.route('**/ort-wasm-simd-threaded.wasm', async (route) => {
    await released;
    await route.continue();
  });
  return release;
}

// web/onnx.js's text with the outputs of some runs nudged by 0.01: those for which `when` (a
// JavaScript condition on x, the run's input; F, the number of features; info, the model's info)
// holds, at `at` (an element of the run's outputs, out). Read before the run: the input's buffer
// moves to ONNX Runtime's worker with it. The same text when onnx.js no longer has the line.
const ONNX_RUN = "return session.run({ [info.onnx.input]: new ort.Tensor('float32', x, [x.length / F, F]) });";
const nudgeOnnxRuns = (text, when, at) => text.replace(ONNX_RUN,
  `const nudge = ${when}; const out = await session.run({ [info.onnx.input]: new ort.Tensor('float32', x, [x.length / F, F]) }); if (nudge) ${at} += 0.01; return out;`);

test('the first result is shown before ONNX Runtime has started, marked "being checked", then checked', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const release = await holdOnnxRuntime(ctx);
  const { page, errors } = await openApp(browser, server.base, { context: ctx });
  const t0 = Date.now();
  await typePatient(page, 1, ['6', '148', '72', '35', '', '33.6', '0.627', '50']);
  await page.waitForFunction(() => document.getElementById('live').textContent.startsWith('Result:'), null, { timeout: 15000 });
  const early = await page.evaluate(() => window.localdx.viewState());
  const live = await page.textContent('#live');
  assert.equal(early.result, 'current');
  assert.equal(early.being_checked, true, 'the first result was not shown before ONNX Runtime started');
  assert.match(live, /Being checked by ONNX Runtime/);
  await page.screenshot({ path: path.join(env.shots, 'being-checked.png') });
  const shownAfter = Date.now() - t0;
  release();
  await page.waitForFunction(() => !window.localdx.viewState().being_checked, null, { timeout: 30000 });
  const later = await page.evaluate(() => window.localdx.viewState());
  assert.equal(later.result, 'current');
  const checkedLive = await page.textContent('#live');  // the result again, no longer "being checked"
  assert.match(checkedLive, /^Result:/);
  assert.doesNotMatch(checkedLive, /Being checked/);
  // The same patient through the test API: checked, the same probabilities as the shown ones.
  const api = await page.evaluate(() => window.localdx.predict(window.localdx.formRecord()));
  assert.ok(api.check.ok);
  assert.match(live, new RegExp(`Diabetes ${(100 * api.probabilities[1]).toFixed(1)}%`));
  console.log(`# shown ${shownAfter} ms after typing began, ONNX Runtime held back; checked once it started`);
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('ONNX Runtime that cannot be imported is said in words, not as a page error', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await ownOnnxWorker(ctx);  // where the route reaches it
  await ctx.route(/\/ort[^/]*\.mjs$/, (r) => r.abort());  // its module blocked (offline without it, a blocked import)
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.base}/#model=pima-diabetes`);
  await page.waitForFunction(() => /ONNX Runtime could not run this model/.test(document.getElementById('live').textContent), null, { timeout: 20000 });
  await page.waitForTimeout(200);
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('a result shown before ONNX Runtime started is withdrawn, with the reason, when ONNX Runtime disagrees; nothing is reported', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // One patient's run comes back with its margin nudged by 0.01 (the 64 rows checked at load do not).
  const release = await holdOnnxRuntime(ctx);
  const nudged = await servedRewritten(ctx, '**/onnx.js', (text) => nudgeOnnxRuns(text, 'x.length === F', 'out.margin.data[0]'));
  const { page, errors } = await openApp(browser, server.base, { context: ctx });
  await typePatient(page, 1, ['6', '148', '72', '35', '', '33.6', '0.627', '50']);
  await page.waitForFunction(() => window.localdx.viewState().being_checked, null, { timeout: 15000 });
  assert.ok(nudged(), 'onnx.js was served nudged');
  release();
  await page.waitForFunction(() => window.localdx.viewState().result === 'refused', null, { timeout: 30000 });
  assert.match(await page.textContent('#live'), /^The result was withdrawn: .*ONNX Runtime/);
  await page.screenshot({ path: path.join(env.shots, 'withdrawn.png') });
  const rep = await page.evaluate(() => window.localdx.reporting());
  assert.deepEqual([Object.keys(rep.pending).length, rep.queue.length], [0, 0], 'a withdrawn result is not reported');
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('a result ONNX Runtime confirmed is withdrawn when the model then fails its load check; it is not reported', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // The load check's runs (the core's 64-row table, in parts of more than one row) come back with
  // their margins nudged by 0.01; one patient's run does not. The patient's check, asked for while
  // ONNX Runtime was held back, runs first and agrees; the load check then fails.
  const release = await holdOnnxRuntime(ctx);
  const nudged = await servedRewritten(ctx, '**/onnx.js', (text) => nudgeOnnxRuns(text, 'x.length > F', 'out.margin.data[0]'));
  const { page, errors } = await openApp(browser, server.base, { context: ctx });
  await typePatient(page, 1, ['6', '148', '72', '35', '', '33.6', '0.627', '50']);
  await page.waitForFunction(() => window.localdx.viewState().being_checked, null, { timeout: 15000 });
  assert.ok(nudged(), 'onnx.js was served nudged');
  release();
  await page.waitForFunction(() => window.localdx.viewState().result === 'refused', null, { timeout: 30000 });
  assert.match(await page.textContent('#live'), /^The result was withdrawn: .*ONNX file and its trees disagree \(difference 1\.00e-02\)/);
  // As the page being left does: the held patient would go into the pending report now.
  await page.evaluate(() => dispatchEvent(new Event('pagehide')));
  const rep = await page.evaluate(() => window.localdx.reporting());
  assert.deepEqual([Object.keys(rep.pending).length, rep.queue.length], [0, 0], 'a withdrawn result is not reported');
  const api = await page.evaluate(() => window.localdx.predict(window.localdx.formRecord()));
  assert.equal(api.ok, false, 'a model that failed its load check gives no result');
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('batch view: a table that disagrees with ONNX Runtime is withheld whole, and none of it is reported', async () => {
  // The batch worker's script is served with one margin nudged by 0.01 after the parts are
  // joined: the page's ONNX Runtime check must catch it (a fresh profile: no service worker yet).
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const nudged = await servedRewritten(ctx, '**/batch-worker.js',
    (text) => text.replace('const joined = answered(core.joinBatchParts(parts));', 'const joined = answered(core.joinBatchParts(parts)); joined.margins[0] += 0.01;'));
  const { page, errors } = await openApp(browser, server.base, { context: ctx });
  const r = await page.evaluate((t) => window.localdx.scoreCsv(t), readFileSync(path.join(env.data, 'pima-diabetes.csv'), 'utf8'));
  assert.ok(nudged(), 'the worker script was served nudged');
  assert.equal(r.rows, 0);
  assert.match(r.status, /^Withheld: the explanations and ONNX Runtime disagree \(difference 1\.00e-02\)/);
  const rep = await page.evaluate(() => window.localdx.reporting());
  assert.deepEqual([Object.keys(rep.pending).length, rep.queue.length], [0, 0], 'nothing of the withheld batch is reported');
  assert.match(await page.textContent('#live'), /Withheld/);
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('batch view: parts whose early runs are missing or whose features changed are run again by the check, every row', async () => {
  // The worker's script (or the page's batch.js) served changed (fresh profiles: no service worker
  // yet): posting no part to the page (the check runs those rows itself and passes), the page
  // dropping part 0's run (its rows are run again, the other parts' runs are used), and changing
  // a feature of the joined table after the parts were posted (that part's rows are run again, and
  // the table, whose explanation is of the other value, is withheld).
  const text = readFileSync(path.join(env.data, 'pima-diabetes.csv'), 'utf8');
  const served = async (from, to, script = 'batch-worker.js') => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const changed = await servedRewritten(ctx, `**/${script}`, (text) => text.replace(from, to));
    const { page, errors } = await openApp(browser, server.base, { context: ctx });
    const r = await page.evaluate((t) => window.localdx.scoreCsv(t), text);
    assert.ok(changed(), `${script} was served with ${to}`);
    assert.deepEqual(errors, []);
    await ctx.close();
    return r;
  };
  const unposted = await served('port.postMessage({ index, count, features }, [features.buffer]);', '');
  assert.equal(unposted.rows, 768);
  assert.match(unposted.status, /Cross-checked with ONNX Runtime/);
  // The worker's helper may be given the script from the browser's cache, unchanged: the part it
  // claimed first may have been posted, the worker's never.
  assert.ok(unposted.timing.check_rows_run_early < 768, `${unposted.timing.check_rows_run_early} rows used early runs`);
  assert.equal(unposted.timing.check_rows_run_early + unposted.timing.check_rows_run_late, 768, 'every row is checked once');
  // Each part's rows as the core joined them: 768 rows in 2 parts.
  assert.equal(unposted.part_rows.length, 2);
  assert.equal(unposted.part_rows[0] + unposted.part_rows[1], 768);
  const [first] = unposted.part_rows;
  const dropped = await served('const { index, features } = data;', 'const { index, features } = data; if (index === 0) return;', 'batch.js');
  assert.equal(dropped.rows, 768);
  assert.match(dropped.status, /Cross-checked with ONNX Runtime/);
  assert.equal(dropped.timing.check_rows_run_early, 768 - first);
  assert.equal(dropped.timing.check_rows_run_late, first, "part 0's rows are run by the check");
  const changedFeature = await served('const joined = answered(core.joinBatchParts(parts));',
    'const joined = answered(core.joinBatchParts(parts)); joined.features.fill(1000, 0, 4);');
  assert.equal(changedFeature.rows, 0);
  assert.match(changedFeature.status, /^Withheld: the explanations and ONNX Runtime disagree/);
  assert.equal(changedFeature.timing.check_rows_run_early, 768 - first);
  assert.equal(changedFeature.timing.check_rows_run_late, first);
});

test('batch view: the same patients as FHIR R4 (a Bundle of Patients and Observations) score exactly as the CSV', async () => {
  const { ctx, page, errors } = await openApp(browser, server.base);
  const csv = readFileSync(path.join(env.data, 'pima-diabetes.csv'), 'utf8');
  const fhirPath = path.join(server.dir, 'pima.fhir.json');
  execFileSync('node', [path.join(env.source, 'tests/fhir/make_fhir.mjs'), path.join(env.source, 'models/pima-diabetes/schema.json'),
    path.join(env.data, 'pima-diabetes.csv'), fhirPath]);
  const fromCsv = await page.evaluate((t) => window.localdx.scoreFile('patients.csv', t, { results: true }), csv);
  const fromFhir = await page.evaluate((t) => window.localdx.scoreFile('patients.fhir.json', t, { results: true }), readFileSync(fhirPath, 'utf8'));
  assert.equal(fromFhir.format, 'fhir');
  assert.equal(fromFhir.rows, 768);
  assert.deepEqual(fromFhir.problems, []);
  assert.equal(fromFhir.results[0].patient, 'pt-1');
  let dp = 0;
  fromFhir.results.forEach((r, i) => r.probabilities.forEach((p, k) => { dp = Math.max(dp, Math.abs(p - fromCsv.results[i].probabilities[k])); }));
  assert.equal(dp, 0, `FHIR and CSV probabilities differ by ${dp}`);
  await page.waitForTimeout(300);
  await page.mouse.click(60, 214, { delay: 80 });
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(env.shots, 'batch-fhir.png') });
  assert.deepEqual(errors, []);
  await ctx.close();
});

//-----------------------------------------------------------------------------
// [SECTION] Validate view
//-----------------------------------------------------------------------------
// The CLI's report for the same file, as a site validator would run it.
function cliEvaluate(task, file, out) {
  execFileSync(env.cli, ['evaluate', '--bundle', bundlePath(task), '--trust', path.join(env.demo, 'keys/trust.json'),
    '--data', file, '--format', 'json', '--out', out]);
  return JSON.parse(readFileSync(out, 'utf8'));
}

// Every {value, ci95} of a report, by dotted name.
function figures(node, prefix = '', out = {}) {
  if (node && typeof node === 'object' && 'value' in node && 'ci95' in node) { out[prefix] = node; return out; }
  if (node && typeof node === 'object' && !Array.isArray(node))
    for (const [k, v] of Object.entries(node)) figures(v, prefix ? `${prefix}.${k}` : k, out);
  return out;
}

test('validate view: a labelled file opened with the button gives the figures of localdx evaluate; the slider moves them; nothing leaves', async () => {
  const { ctx, page, errors } = await openApp(browser, server.base);
  const requests = [];
  ctx.on('request', (req) => requests.push({ url: req.url(), body: req.postData() || '' }));
  // A site's file: the data set with a marker glucose value no request may carry.
  const csvPath = path.join(server.dir, 'site-labelled.csv');
  const text = readFileSync(path.join(env.data, 'pima-diabetes.csv'), 'utf8').replace(/^(\d+),148,/m, '$1,147.123,');
  writeFileSync(csvPath, text);
  await page.evaluate(() => window.localdx.selectTab(4));
  await page.waitForTimeout(300);
  const before = requests.length;
  const chooser = await chooseFileWith(page, ['validate', 'open_button']);
  await chooser.setFiles(csvPath);
  await page.waitForFunction(() => window.localdx.viewState().validate.loaded, null, { timeout: 20000 });
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(env.shots, 'validate.png') });

  // The same report as the CLI's: every figure and its interval.
  const report = await page.evaluate((t) => window.localdx.validateFile('site-labelled.csv', t), text);
  assert.ok(report.ok, JSON.stringify(report.problems));
  const cli = cliEvaluate('pima-diabetes', csvPath, path.join(server.dir, 'site-labelled.eval.json'));
  assert.equal(report.report.data.sha256, cli.data.sha256);
  const ours = figures(report.report.metrics), theirs = figures(cli.metrics);
  assert.ok(Object.keys(theirs).length > 20);
  assert.deepEqual(Object.keys(ours).sort(), Object.keys(theirs).sort());
  for (const [name, f] of Object.entries(theirs)) {
    for (const [a, b] of [[ours[name].value, f.value], [ours[name].ci95[0], f.ci95[0]], [ours[name].ci95[1], f.ci95[1]]]) {
      if (a === null || b === null) { assert.equal(a, b, name); continue; }
      assert.ok(Math.abs(a - b) <= 1e-9, `${name}: browser ${a}, CLI ${b}`);
    }
  }
  assert.deepEqual(report.report.metrics.confusion, cli.metrics.confusion);

  // The slider, dragged with the mouse: the figures at the new threshold are those of the file.
  const v0 = (await page.evaluate(() => window.localdx.viewState())).validate;
  for (let i = 0; i < 12 && !(await page.evaluate(() => window.localdx.viewState())).validate.slider[2]; i++) {
    await page.mouse.move(640, 500);
    await page.mouse.wheel(0, 400);
    await page.waitForTimeout(150);
  }
  // Scroll until the slider is on screen, then drag its handle to three quarters of its width.
  for (let i = 0; i < 12; i++) {
    const r = (await page.evaluate(() => window.localdx.viewState())).validate.slider;
    if (r[1] > 100 && r[1] + r[3] < 790) break;
    await page.mouse.move(640, 500);
    await page.mouse.wheel(0, 300);
    await page.waitForTimeout(150);
  }
  const r = (await page.evaluate(() => window.localdx.viewState())).validate.slider;
  await page.mouse.click(r[0] + r[2] * 0.75, r[1] + r[3] / 2);
  await page.waitForTimeout(200);
  const v1 = (await page.evaluate(() => window.localdx.viewState())).validate;
  assert.ok(v1.threshold > 0.6 && v1.threshold < 0.9, `threshold after the drag: ${v1.threshold}`);
  assert.ok(v1.at.sensitivity < v0.at.sensitivity && v1.at.specificity > v0.at.specificity, JSON.stringify([v0.at, v1.at]));
  // Independently: the CLI's probabilities of the same file at that threshold.
  const native = cliPredict(bundlePath('pima-diabetes'), csvPath, path.join(server.dir, 'site-labelled.pred.json'));
  const truth = csvRecords(text, []).map((row) => row.diabetes === 'pos');
  let tp = 0, fn = 0, fp = 0, tn = 0;
  native.forEach((p, i) => {
    const alert = p.probabilities[p.classes.indexOf('pos')] >= v1.threshold;
    if (truth[i]) alert ? tp++ : fn++; else alert ? fp++ : tn++;
  });
  assert.ok(Math.abs(v1.at.sensitivity - tp / (tp + fn)) < 1e-12 && Math.abs(v1.at.specificity - tn / (tn + fp)) < 1e-12);
  assert.ok(Math.abs(v1.at.alerts_per_100 - 100 * (tp + fp) / truth.length) < 1e-9);
  await page.screenshot({ path: path.join(env.shots, 'validate-threshold.png') });

  // Recalibrated on the site's file: later results say their band comes from the site's patients.
  await page.evaluate(() => window.localdx.recalibrate());
  await page.evaluate(() => window.localdx.selectTab(0));
  await page.evaluate((rec) => window.localdx.fillAndPredict(rec), { glucose: '148', age: '50', mass: '33.6' });
  await page.waitForFunction(() => document.getElementById('live').textContent.includes('Triage band'), null, { timeout: 15000 });
  assert.match(await page.textContent('#live'), /Triage band \(90% confidence\): \w+ .*\(calibrated on this site's patients, on this device\)/);
  // Kept on this device for this bundle: after a reload the results still say so.
  await page.reload();
  await page.evaluate(() => window.localdx.ready);
  await page.waitForFunction(() => window.localdx.model() !== null);
  assert.equal((await page.evaluate(() => window.localdx.viewState())).validate.local_calibration, true);
  await page.evaluate((rec) => window.localdx.fillAndPredict(rec), { glucose: '148', age: '50', mass: '33.6' });
  await page.waitForFunction(() => document.getElementById('live').textContent.includes('Triage band'), null, { timeout: 15000 });
  assert.match(await page.textContent('#live'), /calibrated on this site's patients, on this device/);

  // Nothing of the file left the page: no request with a body or a report since it was opened
  // (the page only fetched its own scripts: the service worker's, sw.js?v=VERSION, too, which the
  // page registers once the model's load check has run), and no request at all carries its
  // marker value.
  const ownServiceWorker = (url) => new URL(url).pathname === '/sw.js' && /^\?v=[0-9a-f]+$/.test(new URL(url).search);
  assert.deepEqual(requests.slice(before).filter((q) => q.body !== '' || q.url.includes('/api/v1/metrics') || (q.url.includes('?') && !ownServiceWorker(q.url))), []);
  assert.ok(requests.every((q) => !q.url.includes('147.123') && !q.body.includes('147.123')));
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('validate view: a FHIR file with outcomes gives the CSV file\'s figures; a file without outcomes is refused with the reason', async () => {
  const { ctx, page, errors } = await openApp(browser, server.base);
  const fhirPath = path.join(server.dir, 'site-labelled.fhir.json');
  execFileSync('node', [path.join(env.source, 'tests/fhir/make_fhir.mjs'), path.join(env.source, 'models/pima-diabetes/schema.json'),
    path.join(env.data, 'pima-diabetes.csv'), fhirPath, '--labels']);
  const csv = readFileSync(path.join(env.data, 'pima-diabetes.csv'), 'utf8');
  const fromCsv = await page.evaluate((t) => window.localdx.validateFile('p.csv', t), csv);
  const fromFhir = await page.evaluate((t) => window.localdx.validateFile('p.fhir.json', t), readFileSync(fhirPath, 'utf8'));
  assert.ok(fromFhir.ok, JSON.stringify(fromFhir.problems));
  assert.equal(fromFhir.report.data.format, 'fhir');
  assert.deepEqual(fromFhir.report.metrics.confusion, fromCsv.report.metrics.confusion);
  assert.ok(Math.abs(fromFhir.report.metrics.class.pos.auc_roc.value - fromCsv.report.metrics.class.pos.auc_roc.value) < 1e-12);
  const unlabelled = csv.split('\n').map((l) => l.split(',').slice(0, 8).join(',')).join('\n');
  const refused = await page.evaluate((t) => window.localdx.validateFile('no-outcome.csv', t), unlabelled);
  assert.equal(refused.ok, false);
  assert.match(refused.problems[0].message, /no 'diabetes' column with each patient's true outcome/);
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(env.shots, 'validate-refused.png') });
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('many classes: a 12-class model lists the top classes, explains any class the clinician chooses, and shows its prediction set', async () => {
  // A synthetic 12-class task trained and signed here (its rarest class has 3 patients).
  const dir = path.join(server.dir, 'many');
  mkdirSync(path.join(dir, 'task'), { recursive: true });
  execFileSync(env.cli, ['synth', '--out', dir, '--rows', '2000', '--fields', '8', '--classes', '12', '--rare', '0.01', '--seed', '5']);
  writeFileSync(path.join(dir, 'task/schema.json'), readFileSync(path.join(dir, 'schema.json'), 'utf8').replace('"ordinal"', '"multiclass"'));
  writeFileSync(path.join(dir, 'task/train.json'), JSON.stringify({ folds: 3, max_rounds: 60, early_stopping_rounds: 10, bootstrap: 50, params: { eta: '0.3', max_depth: '3' } }));
  execFileSync(env.cli, ['train', '--task', path.join(dir, 'task'), '--data', path.join(dir, 'data.csv'), '--out', path.join(dir, 'out')], { stdio: 'ignore' });
  const out = path.join(dir, 'out'), bundle = path.join(dir, 'synthetic-12.ldxb');
  execFileSync(env.cli, ['bundle', '--schema', `${out}/schema.json`, '--model', `${out}/model.xgb.json`, '--card', `${out}/card.json`,
    '--reference', `${out}/reference.json`, '--name', 'synthetic-12', '--version', '1', '--key', path.join(env.demo, 'keys/signing-key.json'), '--out', bundle]);
  assert.equal((await publish(server.base, bundle)).status, 201);

  const { ctx, page, errors } = await openApp(browser, server.base, { model: 'synthetic-12' });
  const patient = csvRecords(readFileSync(path.join(dir, 'data.csv'), 'utf8'), ['y'])[7];
  await page.evaluate((r) => window.localdx.fillAndPredict(r), patient);
  await page.waitForFunction(() => document.getElementById('live').textContent.startsWith('Result:'), null, { timeout: 20000 });
  assert.match(await page.textContent('#live'), /90% prediction set: Class \d+/);
  const result = await page.evaluate((r) => window.localdx.predict(r), patient);
  const pred = result.probabilities.indexOf(Math.max(...result.probabilities));
  const sum = (pts) => pts.base + pts.fields.reduce((a, b) => a + b, 0);
  let view = await page.evaluate(() => window.localdx.viewState());
  assert.equal(view.explanation.output, pred);
  assert.ok(Math.abs(sum(view.explanation.points) - result.probabilities[pred]) < 1e-9);
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(env.shots, 'patient-12-classes.png') });
  // Another class chosen: its explanation adds up to its own probability.
  const other = (pred + 3) % 12;
  await page.evaluate((c) => window.localdx.explainClass(c), other);
  view = await page.evaluate(() => window.localdx.viewState());
  assert.equal(view.explanation.output, other);
  assert.ok(view.explanation.points.ok);
  assert.ok(Math.abs(sum(view.explanation.points) - result.probabilities[other]) < 1e-9,
    `${sum(view.explanation.points)} vs ${result.probabilities[other]}`);
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(env.shots, 'patient-12-classes-other.png') });
  assert.deepEqual(errors, []);
  await ctx.close();
});

// A regression task (the diabetes data): the value with its unit and interval, an explanation in
// the outcome's unit that adds up to it, and a batch that scores, exports and reports.
test('regression: a typed patient gets the value, its unit, its interval and an explanation in points of the outcome; a batch scores, exports and reports; a labelled file validates', async () => {
  const { ctx, page, errors } = await openApp(browser, server.base, { model: 'diabetes-progression' });
  await page.waitForFunction(() => window.localdx.framesDrawn() >= 2, null, { timeout: 15000 });  // its form is on screen
  // age, sex (the study's code), BMI, mean arterial pressure, total cholesterol, LDL, HDL, ratio, triglycerides, glucose
  await typePatient(page, 1, ['59', '2', '32.1', '101', '157', '93.2', '38', '4', '129', '87']);
  await page.waitForFunction(() => document.getElementById('live').textContent.startsWith('Result:'), null, { timeout: 30000 });
  const form = await page.evaluate(() => window.localdx.formRecord());
  assert.deepEqual(form, { age: '59', sex: '2', bmi: '32.1', map: '101', tc: '157', ldl: '93.2', hdl: '38', tc_hdl: '4', triglycerides: '129', glucose: '87' });
  const api = await page.evaluate((r) => window.localdx.predict(r), form);
  assert.equal(api.ok, true);
  assert.equal(api.check.ok, true, 'ONNX Runtime Web checked the value');
  const live = await page.textContent('#live');
  assert.match(live, new RegExp(`Predicted Disease progression one year on: ${Math.round(api.value)} points`));
  const ninety = api.conformal.levels.find((l) => l.level === 0.9);
  assert.ok(ninety.low < api.value && api.value < ninety.high);
  assert.match(live, new RegExp(`90% prediction interval: ${Math.round(ninety.low)} to ${Math.round(ninety.high)} points`));
  assert.match(live, /Main factors: /);
  // The explanation on screen is in points of the outcome and adds up to the value.
  const view = await page.evaluate(() => window.localdx.viewState());
  assert.equal(view.explanation.points.ok, true);
  const total = view.explanation.points.fields.reduce((a, b) => a + b, view.explanation.points.base);
  assert.ok(Math.abs(total - api.value) < 1e-9, `${total} vs ${api.value}`);
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(env.shots, 'patient-regression.png') });

  // A batch of the 442 patients (their outcome column is not a field: ignored with a notice).
  const csv = path.join(env.data, 'diabetes-progression.csv');
  const drift = async () => (await (await operatorGet(server.base, '/api/v1/drift?model=diabetes-progression')).json());
  const before = (await drift()).predictions || 0;
  const r = await page.evaluate((t) => window.localdx.scoreCsv(t), readFileSync(csv, 'utf8'));
  assert.equal(r.rows, 442);
  assert.equal(r.problems.length, 0);
  assert.match(r.status, /Cross-checked with ONNX Runtime/);
  const exportedText = await page.evaluate(() => window.localdx.batchCsv());
  const exported = csvRecords(exportedText.slice(exportedText.indexOf('\n') + 1), []);  // after the line naming the tool
  assert.equal(exported.length, 442);
  const native = cliPredict(bundlePath('diabetes-progression'), csv, path.join(server.dir, 'diabetes-progression.native.json'));
  const column = 'predicted Disease progression one year on (points)';
  exported.forEach((row, i) => {
    assert.equal(row[column], native[i].value.toFixed(0), `row ${i + 1}`);
    const iv = native[i].conformal.levels.find((l) => l.level === 0.9);
    assert.deepEqual([row['90% interval low'], row['90% interval high']], [iv.low.toFixed(0), iv.high.toFixed(0)]);
  });
  // Reported in aggregate: the predicted values' histogram, no class.
  await page.evaluate(() => window.localdx.flushReports());
  await page.waitForFunction(() => window.localdx.reporting().queue.length === 0, null, { timeout: 15000 });
  const after = await drift();
  const reported = after.predictions - before;  // the typed patient may join the batch's report
  assert.ok(reported === 442 || reported === 443, `${reported} predictions reported`);
  assert.deepEqual(after.outputs.map((o) => o.output), ['progression']);
  assert.deepEqual(after.predicted_classes, []);
  await page.waitForTimeout(300);
  await page.mouse.click(60, 214, { delay: 80 });
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(env.shots, 'batch-regression.png') });

  // Validate on the labelled file: the figures of `localdx evaluate`, then intervals recalibrated
  // on the site's patients, which later results say.
  const v = await page.evaluate((t) => window.localdx.validateFile('site.csv', t), readFileSync(csv, 'utf8'));
  assert.equal(v.ok, true, JSON.stringify(v.problems));
  const cli = JSON.parse(execFileSync(env.cli, ['evaluate', '--bundle', bundlePath('diabetes-progression'), '--trust',
    path.join(env.demo, 'keys/trust.json'), '--data', csv, '--format', 'json'], { encoding: 'utf8' }));
  for (const f of ['mae', 'rmse', 'r2']) {
    assert.ok(Math.abs(v.report.metrics[f].value - cli.metrics[f].value) < 1e-9, f);
    v.report.metrics[f].ci95.forEach((x, j) => assert.ok(Math.abs(x - cli.metrics[f].ci95[j]) < 1e-9, `${f} interval`));
  }
  assert.equal(v.report.conformal.levels.length, 3);
  await page.evaluate(() => window.localdx.selectTab(4));
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(env.shots, 'validate-regression.png') });
  await page.evaluate(() => window.localdx.recalibrate());
  await page.evaluate(() => window.localdx.selectTab(0));
  await page.evaluate((rec) => window.localdx.fillAndPredict(rec), form);
  await page.waitForFunction(() => /interval.*calibrated on this site's patients/.test(document.getElementById('live').textContent), null, { timeout: 15000 });
  assert.deepEqual(errors, []);
  await ctx.close();
});

//-----------------------------------------------------------------------------
// [SECTION] A non-tree model
//-----------------------------------------------------------------------------
// wdbc-mlp: an sklearn MLP exported to ONNX by hand (models/wdbc-mlp/make_mlp.py). Its reference
// CSV carries sklearn's own probabilities (p_malignant) for every row.
test('an sklearn MLP imported as ONNX: ONNX Runtime Web predicts as sklearn does, and the explanation is model-agnostic and says so', async () => {
  const refCsv = readFileSync(path.join(env.demo, 'train', 'wdbc-mlp', 'reference.csv'), 'utf8');
  const lines = refCsv.trim().split(/\r?\n/);
  const pCol = lines[0].split(',').indexOf('p_malignant');
  const sklearn = lines.slice(1).map((l) => Number(l.split(',')[pCol]));
  const records = csvRecords(refCsv, ['diagnosis', 'p_benign', 'p_malignant']).slice(0, 40);
  const { ctx, page, errors } = await openApp(browser, server.base, { model: 'wdbc-mlp' });
  assert.equal(await page.evaluate(() => window.localdx.model().explainer), 'sampling-shapley');
  const results = await page.evaluate(async (rs) => { const out = []; for (const r of rs) out.push(await window.localdx.predict(r)); return out; }, records);
  const fields = (await page.evaluate(() => window.localdx.model().schema)).fields.length;
  let dp = 0, local = 0;
  results.forEach((r, i) => {
    assert.equal(r.ok, true, JSON.stringify(r.problems));
    assert.equal(r.explainer, 'sampling-shapley');
    assert.equal(r.unit, 'probability');
    assert.equal(r.check.kind, 'sampling-shapley');
    assert.equal(r.standardError.length, fields);
    dp = Math.max(dp, Math.abs(r.probabilities[1] - sklearn[i]));
    local = Math.max(local, Math.abs(r.base + r.fieldContributions.reduce((a, b) => a + b, 0) - r.probabilities[1]));
    assert.equal(r.points.ok, true);  // in probability already: the same numbers, shown in points
    local = Math.max(local, Math.abs(r.points.fields.reduce((a, b) => a + b, r.points.base) - r.probabilities[1]));
  });
  assert.ok(dp <= 1e-5, `probabilities differ from sklearn's by ${dp}`);
  assert.ok(local <= 1e-5, `base + contributions differ from the probability by ${local}`);
  // The UI shows it labelled as an estimate with its margin.
  await page.evaluate((r) => globalThis.localdxHost.predictFromApp(JSON.stringify(r)), records[0]);
  await page.waitForFunction(() => document.getElementById('live').textContent.startsWith('Result:'), null, { timeout: 15000 });
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(env.shots, 'patient-mlp.png') });
  // Batch: every row scored by ONNX Runtime; a row's explanation computed when asked for.
  const b = await page.evaluate((t) => window.localdx.scoreCsv(t), readFileSync(path.join(env.data, 'wdbc.csv'), 'utf8'));
  assert.equal(b.rows, 569);
  assert.match(b.status, /Scored by ONNX Runtime Web/);
  await page.waitForTimeout(300);
  await page.mouse.click(60, 214, { delay: 80 });
  const row = await page.evaluate(() => window.localdx.explainBatchRow(0));
  assert.equal(row.explainer, 'sampling-shapley');
  assert.ok(Math.abs(row.probabilities[1] - sklearn[0]) <= 1e-5);
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(env.shots, 'batch-mlp.png') });
  assert.deepEqual(errors, []);
  console.log(`# wdbc-mlp: ${results.length} rows, max |dp| vs sklearn ${dp.toExponential(2)}, local accuracy ${local.toExponential(2)}`);
  await ctx.close();
});

test('a bundle refused once its ONNX Runtime session was made leaves no session behind: the model in use holds the only one', async () => {
  // onnx.js is served with the probabilities of a model's background rows nudged by 0.01: the MLP's
  // bundle then fails its load check (ONNX Runtime against the probabilities its author published),
  // after its session was made.
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const nudged = await servedRewritten(ctx, '**/onnx.js', (text) => nudgeOnnxRuns(text, '!!info.background', 'out[info.onnx.output].data[1]'));
  const { page, errors } = await openApp(browser, server.base, { context: ctx });
  const first = await page.evaluate(() => window.localdx.predict({ glucose: 120, age: 40, mass: 30 }));
  assert.equal(first.ok && first.check.ok, true, 'pima-diabetes gave a checked result');
  const held = () => page.evaluate(() => window.localdx.onnxSessionsHeld());
  assert.equal(await held(), 1);
  const mlp = '/api/v1/bundles/' + execFileSync('sha256sum', [bundlePath('wdbc-mlp')]).toString().slice(0, 64);
  const refused = await page.evaluate((u) => window.localdx.loadBundle(u), mlp);
  assert.ok(nudged(), 'onnx.js was served nudged');
  assert.equal(refused.ok, false, 'the MLP whose ONNX Runtime probabilities were nudged is refused');
  assert.equal(await page.evaluate(() => window.localdx.model().name), 'pima-diabetes', 'the model in use stays');
  // Nothing of the refused bundle is kept: not its rollback floor, not as the model to open next
  // time, not in the offline copies.
  const kept = await page.evaluate(async (u) => ({
    accepted: JSON.parse(localStorage.getItem('ldx.accepted') || '{}'),
    model: JSON.parse(localStorage.getItem('ldx.model') || 'null'),
    cached: !!(await (await caches.open('ldx-bundles')).match(u)),
  }), mlp);
  assert.deepEqual(kept, { accepted: { 'pima-diabetes': 1 }, model: 'pima-diabetes', cached: false });
  let sessions = await held();
  for (let i = 0; i < 50 && sessions !== 1; i++) { await page.waitForTimeout(100); sessions = await held(); }
  assert.equal(sessions, 1, "the refused bundle's session is released");
  assert.deepEqual(errors, []);
  await ctx.close();
});

// DevTools' targets of the app's shared ONNX Runtime workers (of any build: "ONNX Runtime <build>")
// in the page's browser context; `cdp`, a browser session of DevTools'.
async function onnxWorkerTargets(cdp, page) {
  const own = await page.context().newCDPSession(page);
  const { targetInfo } = await own.send('Target.getTargetInfo');
  await own.detach();
  return (await cdp.send('Target.getTargets')).targetInfos
    .filter((t) => t.type === 'shared_worker' && t.browserContextId === targetInfo.browserContextId && /^ONNX Runtime /.test(t.title));
}

// The app's shared ONNX Runtime worker of this build, in the page's browser context, closed through
// DevTools as a crash would end it; resolves once DevTools no longer lists it.
async function closeOnnxWorker(page) {
  const cdp = await browser.newBrowserCDPSession();
  const workers = await onnxWorkerTargets(cdp, page);
  const ours = workers.filter((t) => /^ONNX Runtime [0-9a-f]{16}$/.test(t.title));
  assert.equal(ours.length, 1, `one worker of this build: ${workers.map((t) => t.title)}`);
  await cdp.send('Target.closeTarget', { targetId: ours[0].targetId });
  const alive = async () => (await cdp.send('Target.getTargets')).targetInfos.some((t) => t.targetId === ours[0].targetId);
  for (let i = 0; i < 100 && await alive(); i++) await page.waitForTimeout(50);
  assert.equal(await alive(), false, 'the worker was closed');
  await cdp.detach();
}

test("ONNX Runtime's worker is shared by the app's pages: a reload, a second tab and a page reopened find it started; each page's sessions are its own and go with it; another build's page has its own; a page learns when it stops, and starts it again", async () => {
  const { ctx, page, errors } = await openApp(browser, server.base);
  const worker = (p) => p.evaluate(() => window.localdx.onnxWorker());
  // A page of the app opened (or reloaded) in this context, its model ready.
  const opened = async (p, { reload = false } = {}) => {
    await (reload ? p.reload() : p.goto(`${server.base}/#model=pima-diabetes`));
    await p.evaluate(() => window.localdx.ready);
    await p.waitForFunction(() => window.localdx.model() !== null);
  };
  const checked = async (p) => {
    const r = await p.evaluate(() => window.localdx.predict({ glucose: 120, age: 40, mass: 30 }));
    assert.equal(r.ok && r.check.ok, true, 'a result checked by ONNX Runtime');
    return r.probabilities;
  };
  // Until the worker's count is as wanted: a page gone is seen by the worker when it is granted the
  // page's Web Lock (web/onnx-worker.js).
  const settles = async (p, want) => {
    let w = await worker(p);
    for (let i = 0; i < 50 && (w.pages !== want.pages || w.all !== want.all); i++) { await p.waitForTimeout(100); w = await worker(p); }
    return w;
  };
  const probabilities = await checked(page);
  const first = await worker(page);
  assert.deepEqual({ ...first, since: 0 }, { sessions: 1, all: 1, pages: 1, since: 0 });
  // Reloaded: the same worker (its start before the new page's), the old page's session released.
  await opened(page, { reload: true });
  assert.deepEqual(await checked(page), probabilities);
  const reloaded = await settles(page, { pages: 1, all: 1 });
  assert.equal(reloaded.since, first.since, 'the reloaded page joined the worker already started');
  assert.ok(reloaded.since < await page.evaluate(() => performance.timeOrigin), 'the worker started before the reloaded page');
  assert.deepEqual({ ...reloaded, since: 0 }, { sessions: 1, all: 1, pages: 1, since: 0 }, "the page before the reload no longer holds a session");
  // A second tab: the same worker; each page holds its own session; closing it releases its own.
  const second = await ctx.newPage();
  second.on('pageerror', (e) => errors.push(e.message));
  await opened(second);
  assert.deepEqual(await checked(second), probabilities);
  const two = await worker(second);
  assert.deepEqual(two, { sessions: 1, all: 2, pages: 2, since: first.since }, 'the second tab joined the same worker with a session of its own');
  await second.close();
  assert.deepEqual(await settles(page, { pages: 1, all: 1 }), { sessions: 1, all: 1, pages: 1, since: first.since }, "the closed tab's session is released");
  // Every page closed, then one opened again at once: the worker has outlived its last page.
  await page.close();
  const reopened = await ctx.newPage();
  reopened.on('pageerror', (e) => errors.push(e.message));
  await opened(reopened);
  assert.deepEqual(await checked(reopened), probabilities);
  assert.deepEqual(await settles(reopened, { pages: 1, all: 1 }), { sessions: 1, all: 1, pages: 1, since: first.since },
    "the page opened again joined the worker that outlived the last page, which released the closed page's session");
  // A page reaches only its own sessions: a port of its own to the same worker, asking to run
  // another page's session (its number is the worker's, 1 for the first page's first model), is told
  // it was released, and the session's page still checks.
  const reached = await reopened.evaluate(async () => {
    const early = await (await fetch('early.js')).text();
    const name = `ONNX Runtime ${early.match(/^const WORKER_BUILD = '([0-9a-f]{16})';$/m)[1]}`;
    const port = new SharedWorker('onnx-worker.js', { type: 'module', name, extendedLifetime: true }).port;
    const answers = [];
    port.onmessage = ({ data }) => { if (data.id) answers.push(data); };
    for (let session = 1; session <= 8; session++) {
      port.postMessage({ id: session, type: 'run', session, feeds: { input: { type: 'float32', data: new Float32Array(8), dims: [1, 8] } } });
    }
    for (let i = 0; i < 100 && answers.length < 8; i++) await new Promise((r) => setTimeout(r, 50));
    port.close();
    return answers.map((a) => a.error || 'ran');
  });
  assert.deepEqual(reached, Array(8).fill('the session was released'));
  assert.deepEqual(await checked(reopened), probabilities);
  // A page of another build (its worker's name, web/early.js) does not join this build's worker. Its
  // early.js comes from the network (the route): the service worker, which would serve this build's,
  // is unregistered first.
  await reopened.evaluate(async () => { for (const r of await navigator.serviceWorker.getRegistrations()) await r.unregister(); });
  const other = await ctx.newPage();
  other.on('pageerror', (e) => errors.push(e.message));
  const renamed = await servedRewritten(other, '**/early.js',
    (text) => text.replace(/^const WORKER_BUILD = '[0-9a-f]{16}';$/m, "const WORKER_BUILD = 'another build';"));
  await opened(other);
  assert.ok(renamed(), "early.js carries its worker's build");
  assert.deepEqual(await checked(other), probabilities);
  const apart = await worker(other);
  assert.notEqual(apart.since, first.since, "another build's page has a worker of its own");
  assert.deepEqual({ ...apart, since: 0 }, { sessions: 1, all: 1, pages: 1, since: 0 });
  // This build's worker stopped (closed through DevTools, as a crash would end it): the page's next
  // Predict is not left waiting. Its call either went to the stopped worker, and is withheld in the
  // clinician's words as soon as the worker's Web Lock is granted to the page, or came after that
  // and is checked by a new worker (which of the two depends on when the page learns of the stop).
  // The check after it is made in a new worker; the other build's page still checks.
  await closeOnnxWorker(reopened);
  await reopened.evaluate(() => { document.getElementById('live').textContent = ''; });
  await reopened.evaluate(() => { globalThis.localdxHost.predictFromApp(JSON.stringify({ glucose: 130, age: 40, mass: 30 })); });
  let said = '';
  for (let i = 0; i < 100 && !said; i++) { await reopened.waitForTimeout(100); said = await reopened.textContent('#live'); }
  const withheld = 'No result, it was withheld: ONNX Runtime stopped before it checked this result. Press Predict again: ' +
    'ONNX Runtime starts again and checks it.';
  assert.ok(said === withheld || said.startsWith('Result: '), `Predict after the stop: ${said || 'still waiting after 10 s'}`);
  // The next check connects again: a new worker, where the page's session is made again from the
  // model's bytes.
  assert.deepEqual(await checked(reopened), probabilities);
  const restarted = await worker(reopened);
  assert.notEqual(restarted.since, first.since, 'a new worker');
  assert.deepEqual({ ...restarted, since: 0 }, { sessions: 1, all: 1, pages: 1, since: 0 });
  assert.deepEqual(await checked(other), probabilities);
  assert.deepEqual(errors, []);
  await ctx.close();
});

test("a shared ONNX Runtime worker that could not load its wasm closes: the page says so, and once the file is there again a reload checks its result", async () => {
  // The app served without ONNX Runtime's wasm (a download that failed), from a copy of the web folder.
  const web = path.join(env.work, 'web-without-ort-wasm');
  rmSync(web, { recursive: true, force: true });
  const isOrtWasm = (f) => /\/ort-[0-9a-f]+\/ort-wasm-simd-threaded\.wasm$/.test(f);
  cpSync(env.web, web, { recursive: true, filter: (f) => !isOrtWasm(f) });
  const site = await startServer('e2e-without-ort-wasm', { web });
  try {
    assert.equal((await publish(site.base, bundlePath('pima-diabetes'))).status, 201);
    const { ctx, page, errors } = await openApp(browser, site.base);
    await page.waitForFunction(() => /ONNX Runtime could not run this model/.test(document.getElementById('live').textContent), null, { timeout: 30000 });
    const refused = await page.evaluate(() => window.localdx.predict({ glucose: 120, age: 40, mass: 30 }).then((r) => (r.ok && r.check.ok ? 'checked' : 'not checked'), (e) => e.message));
    assert.notEqual(refused, 'checked');
    // The file restored: the reloaded page's ONNX Runtime starts in a new worker, not the failed one.
    const ortDir = readdirSync(env.web).find((f) => /^ort-[0-9a-f]+$/.test(f));
    cpSync(path.join(env.web, ortDir, 'ort-wasm-simd-threaded.wasm'), path.join(web, ortDir, 'ort-wasm-simd-threaded.wasm'));
    await page.reload();
    await page.evaluate(() => window.localdx.ready);
    await page.waitForFunction(() => window.localdx.model() !== null);
    const r = await page.evaluate(() => window.localdx.predict({ glucose: 120, age: 40, mass: 30 }));
    assert.equal(r.ok && r.check.ok, true, 'the reloaded page checks its result');
    assert.deepEqual(errors, []);
    await ctx.close();
  } finally {
    site.stop();
  }
});

// ONNX Runtime's wasm as a hanging network serves it: its first 64 KB, then nothing
// (harness.mjs, stallingProxy; the shared worker's requests are out of Playwright's routes' reach).
const isOrtWasmPath = (p) => /\/ort-[0-9a-f]+\/ort-wasm-simd-threaded\.wasm$/.test(p);

test("ONNX Runtime's files that stop arriving close its shared worker: the result shown meanwhile is withdrawn in words that say to reload, and once they arrive the reloaded page checks in a new worker", async () => {
  // Only the worker's request stalls: the service worker's precache, registered 10 s on (web/page.js),
  // gets the file.
  let asked = 0;
  const proxy = await stallingProxy(server.base, (p) => isOrtWasmPath(p) && asked++ === 0);
  try {
    const { ctx, page, errors } = await openApp(browser, proxy.base);
    const cdp = await browser.newBrowserCDPSession();
    const stalledWorker = (await onnxWorkerTargets(cdp, page)).map((t) => t.targetId);
    assert.equal(stalledWorker.length, 1);
    await page.evaluate(() => { globalThis.localdxHost.predictFromApp(JSON.stringify({ glucose: 130, age: 40, mass: 30 })); });
    await page.waitForFunction(() => window.localdx.viewState().being_checked, null, { timeout: 15000 });
    for (let i = 0; i < 100 && proxy.stalled() === 0; i++) await page.waitForTimeout(100);
    assert.equal(proxy.stalled(), 1, "ONNX Runtime's wasm was asked for, and is held");
    // The worker gives up after 15 s with nothing arriving (web/downloads.js, STALL_MS).
    const words = "ONNX Runtime's files stopped arriving over the network, so no result can be checked. Check the connection, then reload the page.";
    await page.waitForFunction(() => window.localdx.viewState().result === 'refused', null, { timeout: 40000 });
    assert.equal(await page.textContent('#live'), `The result was withdrawn: ${words}`);
    // Predict pressed again: withheld in the same words, at once.
    await page.evaluate(() => { document.getElementById('live').textContent = ''; globalThis.localdxHost.predictFromApp(JSON.stringify({ glucose: 120, age: 40, mass: 30 })); });
    await page.waitForFunction(() => document.getElementById('live').textContent !== '', null, { timeout: 5000 });
    assert.equal(await page.textContent('#live'), `No result, it was withheld: ${words}`);
    await page.screenshot({ path: path.join(env.shots, 'onnx-stalled.png') });
    assert.deepEqual((await onnxWorkerTargets(cdp, page)).map((t) => t.targetId), [], 'the stalled worker closed');
    // The network works again: the reloaded page does not join the stalled worker, which has closed.
    await page.reload();
    await page.evaluate(() => window.localdx.ready);
    await page.waitForFunction(() => window.localdx.model() !== null);
    const again = await page.evaluate(() => window.localdx.predict({ glucose: 120, age: 40, mass: 30 }));
    assert.equal(again.ok && again.check.ok, true, 'the reloaded page checks its result');
    const now = (await onnxWorkerTargets(cdp, page)).map((t) => t.targetId);
    assert.equal(now.length, 1, 'one worker');
    assert.notEqual(now[0], stalledWorker[0], 'a new worker');
    await cdp.detach();
    assert.deepEqual(errors, []);
    await ctx.close();
  } finally {
    proxy.close();
  }
});

test("ONNX Runtime's wasm that is slow to come is waited for: answered 20 s late (a proxy that scans the whole file first), the result shown meanwhile is then checked", async () => {
  let asked = 0;
  const proxy = await stallingProxy(server.base, (p) => (isOrtWasmPath(p) && asked++ === 0 ? 20000 : false));
  try {
    const { ctx, page, errors } = await openApp(browser, proxy.base);
    await page.evaluate(() => { globalThis.localdxHost.predictFromApp(JSON.stringify({ glucose: 130, age: 40, mass: 30 })); });
    await page.waitForFunction(() => window.localdx.viewState().being_checked, null, { timeout: 15000 });
    assert.equal(proxy.delayed(), 0, 'being checked while the answer is held back');
    await page.waitForFunction(() => !window.localdx.viewState().being_checked, null, { timeout: 60000 });
    assert.equal(await page.evaluate(() => window.localdx.viewState().result), 'current', await page.textContent('#live'));
    assert.match(await page.textContent('#live'), /^Result: /);
    assert.equal(proxy.delayed(), 1, 'checked once the late answer came');
    assert.deepEqual(errors, []);
    await ctx.close();
  } finally {
    proxy.close();
  }
});

test("ONNX Runtime's files that stop arriving in the batch worker end that worker: the file opened is refused in words that say to open it again, and opened again it is scored by a new worker that fetches them afresh", async () => {
  // The MLP runs in ONNX Runtime alone: the page's shared worker asks for ONNX Runtime's wasm first
  // (the model's background check), the batch worker second, and that request is held. No service
  // worker: its precache would ask for the wasm too. (The 14 MB is not kept in the context's memory
  // cache between the two: were it, the second request would not reach the proxy and the test fail.)
  let asked = 0;
  const proxy = await stallingProxy(server.base, (p) => isOrtWasmPath(p) && ++asked === 2);
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, serviceWorkers: 'block' });
    const { ctx, page, errors } = await openApp(browser, proxy.base, { model: 'wdbc-mlp', context });
    const csv = readFileSync(path.join(env.data, 'wdbc.csv'), 'utf8').trim().split(/\r?\n/).slice(0, 21).join('\n') + '\n';
    // Opened as the clinician opens it (the batch view's Open button, its file input).
    await page.evaluate(() => { document.getElementById('live').textContent = ''; globalThis.localdxHost.openCsv(); });
    await page.setInputFiles('#csv-file', { name: 'patients.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    for (let i = 0; i < 200 && proxy.stalled() === 0; i++) await page.waitForTimeout(100);
    assert.equal(proxy.stalled(), 1, "the batch worker's ONNX Runtime wasm was asked for, and is held");
    // The worker gives up after 15 s with nothing arriving (web/downloads.js, STALL_MS).
    const words = "ONNX Runtime's files stopped arriving over the network, so nothing was scored. Check the connection, then open the file or images again.";
    await page.waitForFunction(() => document.getElementById('live').textContent !== '', null, { timeout: 40000 });
    assert.equal(await page.textContent('#live'), words);
    // The network works again: the same file opened again is scored, by ONNX Runtime in a new worker.
    proxy.pass();
    const again = await page.evaluate((t) => window.localdx.scoreCsv(t), csv);
    assert.equal(again.rows, 20);
    assert.match(again.status, /Scored by ONNX Runtime Web/);
    assert.deepEqual(errors, []);
    await ctx.close();
  } finally {
    proxy.close();
  }
});

test("a batch worker that has ended answers no more: a row of the table it scored is not explained by another worker, but refused with the reason it ended", async () => {
  // The worker's script served so that, once it has replied with a file's table, it tells the page
  // its ONNX Runtime files stopped arriving: the page ends it.
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const changed = await batchWorkerEndingAfter(ctx, 'reply({ ok: true, meta, table, features, margins }, [table, features, margins].filter(Boolean).map((a) => a.buffer));');
  const { page, errors } = await openApp(browser, server.base, { model: 'wdbc-mlp', context: ctx });
  const csv = readFileSync(path.join(env.data, 'wdbc.csv'), 'utf8').trim().split(/\r?\n/).slice(0, 21).join('\n') + '\n';
  const scored = await page.evaluate((t) => window.localdx.scoreCsv(t), csv);
  assert.ok(changed(), 'the worker script was served changed');
  assert.equal(scored.rows, 20);
  const words = "ONNX Runtime's files stopped arriving over the network, so nothing was scored. Check the connection, then open the file or images again.";
  const explained = (i) => page.evaluate((k) => window.localdx.explainBatchRow(k).then(() => 'explained', (e) => e.message), i);
  assert.equal(await explained(0), words);
  // A new worker started (as a file or images opened would start it) holds none of the table's rows:
  // the row is still refused with the first worker's reason, not asked of it.
  assert.equal(await page.evaluate(() => window.localdx.batchReady()), true);
  assert.equal(await explained(0), words);
  // A file opened again starts a new worker (which scores it, and is itself ended once it replies):
  // the table's rows are still not asked of any other worker.
  const again = await page.evaluate((t) => window.localdx.scoreCsv(t), csv);
  assert.equal(again.rows, 20);
  assert.equal(await explained(1), words);
  assert.deepEqual(errors, []);
  await ctx.close();
});

test("ONNX Runtime's worker stopped while it made the model's session: the page makes the session again in a new worker, and the model's load check and results are checked", async () => {
  const proxy = await stallingProxy(server.base, isOrtWasmPath);
  try {
    const { ctx, page, errors } = await openApp(browser, proxy.base);
    // The session's making waits for ONNX Runtime's wasm, held; the worker is closed meanwhile.
    for (let i = 0; i < 100 && proxy.stalled() === 0; i++) await page.waitForTimeout(100);
    assert.equal(proxy.stalled(), 1, "ONNX Runtime's wasm was asked for, and is held");
    proxy.pass();
    await closeOnnxWorker(page);
    const r = await page.evaluate(() => window.localdx.predict({ glucose: 120, age: 40, mass: 30 }));
    assert.equal(r.ok && r.check.ok, true, `checked after the stop: ${JSON.stringify(r.problems || r.check)}`);
    await page.waitForFunction(() => performance.getEntriesByName('localdx:load-check-done').length > 0, null, { timeout: 30000 });
    const again = await page.evaluate(() => window.localdx.predict({ glucose: 150, age: 45, mass: 31 }));
    assert.equal(again.ok && again.check.ok, true, 'the load check passed: the model is still used');
    assert.deepEqual(errors, []);
    await ctx.close();
  } finally {
    proxy.close();
  }
});

//-----------------------------------------------------------------------------
// [SECTION] Offline
//-----------------------------------------------------------------------------
test('offline: after one visit the page reloads and predicts with the network off', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const { page } = await openApp(browser, server.base, { context: ctx });
  await page.evaluate(async () => {
    const reg = await navigator.serviceWorker.ready;   // installed: the app shell and ONNX Runtime are precached
    return reg.active.state;
  });
  // Registered only once the tree model's load check has run: the precache's downloads do not
  // share the cores with ONNX Runtime's start (web/page.js, registerServiceWorker).
  const marks = await page.evaluate(() => Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, m.startTime])));
  const [done, registered] = [marks['localdx:load-check-done'], marks['localdx:service-worker-registered']];
  assert.ok(done !== undefined, 'the load check was done');
  assert.equal(marks['localdx:service-worker-waited'], undefined, 'registered on the load check, not after waiting 10 s');
  assert.ok(done <= registered && registered - done < 1000,
    `the service worker was registered at ${registered} ms, the load check was done at ${done} ms`);
  await keepTestHooksOffline(page);
  await ctx.setOffline(true);
  await page.reload();
  await page.evaluate(() => window.localdx.ready);
  await page.waitForFunction(() => window.localdx.model() !== null);
  const r = await page.evaluate(() => window.localdx.predict({ glucose: 150, age: 45, mass: 31 }));
  assert.equal(r.ok, true, JSON.stringify(r.problems));
  assert.equal(r.check.ok, true);
  // The reloaded page found ONNX Runtime's shared worker still started (web/early.js): a page whose
  // ONNX Runtime starts afresh, offline, has its files from the service worker's precache.
  const fresh = await ownOnnxWorker(await ctx.newPage());
  await fresh.goto(`${server.base}/#model=pima-diabetes`);
  await fresh.evaluate(() => window.localdx.ready);
  await fresh.waitForFunction(() => window.localdx.model() !== null);
  const again = await fresh.evaluate(() => window.localdx.predict({ glucose: 150, age: 45, mass: 31 }));
  assert.equal(again.ok && again.check.ok, true, JSON.stringify(again.problems));
  assert.deepEqual(again.probabilities, r.probabilities);
  await fresh.close();
  // A model never opened on this device cannot be had offline: the page says so in words, and the
  // current model stays selected (also in the address).
  await page.evaluate(() => globalThis.localdxHost.chooseModel('pbc-stage'));
  await page.waitForFunction(() => document.getElementById('live').textContent.includes('not available offline'), null, { timeout: 15000 });
  assert.equal(await page.evaluate(() => window.localdx.model().name), 'pima-diabetes');
  assert.doesNotMatch(await page.evaluate(() => location.hash), /pbc-stage/);
  await ctx.close();
});

test("service worker: a page of its own build has the files it precached from its cache, a page of another build has them from the network, and the site's EHR list always comes from the network", async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // What this build's service worker asked of the network (Chromium reports a service worker's
  // requests to the context): another version's worker, installing, would ask for every file.
  const fromNetwork = [];
  let version = null;
  ctx.on('request', (req) => {
    const sw = req.serviceWorker();
    if (sw && version && sw.url().endsWith(`sw.js?v=${version}`)) fromNetwork.push(new URL(req.url()).pathname);
  });
  const { page } = await openApp(browser, server.base, { context: ctx });
  version = await page.evaluate(() => JSON.parse(document.getElementById('ldx-assets').textContent).version);
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  const modules = ['/early.js', '/page.js', '/page-state.js', '/bundles.js', '/a11y.js', '/render.js', '/smart.js', '/app.css', '/trust.json'];
  const fetchedAgain = () => modules.filter((p) => fromNetwork.includes(p));
  // A repeat visit: the page as served names this worker's version; its files come from the cache.
  fromNetwork.length = 0;
  await page.reload();
  await page.evaluate(() => window.localdx.ready);
  await page.waitForFunction(() => window.localdx.model() !== null);
  assert.ok(fromNetwork.includes('/'), 'the page itself is asked of the network: ' + fromNetwork.join(' '));
  assert.deepEqual(fetchedAgain(), [], 'the page of this build had its files from the cache');
  const served = await page.evaluate(() => performance.getEntriesByType('resource').filter((r) => /\/(page|early)\.js$/.test(r.name)).map((r) => r.workerStart > 0));
  assert.ok(served.length >= 2 && served.every((w) => w), 'through the service worker: ' + served);
  // The site's EHR list (ehr.json, which the administrator edits) is never precached: it comes
  // from the network every time.
  fromNetwork.length = 0;
  for (let i = 0; i < 2; i++) assert.equal(await page.evaluate(() => fetch('ehr.json').then((r) => r.status)), 200);
  assert.equal(fromNetwork.filter((p) => p === '/ehr.json').length, 2, 'ehr.json from the network both times');
  // A page of another build (a newer one, served before its service worker takes over): its
  // files come from the network, not from this build's cache.
  // (Its service worker is not installed here: its download would ask for the same files.)
  await ctx.route('**/sw.js*', (route) => route.fulfill({ status: 404, body: '' }));
  const rebuilt = await servedRewritten(ctx, (url) => url.pathname === '/', (text) => text.replace(/("version":\s*")[0-9a-f]+"/, '$1aaaaaaaaaaaa"'));
  fromNetwork.length = 0;
  await page.reload();
  await page.evaluate(() => window.localdx.ready);
  await page.waitForFunction(() => window.localdx.model() !== null);
  assert.ok(rebuilt(), 'the page was served naming another version');
  assert.deepEqual(fetchedAgain(), modules, 'the page of another build had its files from the network');
  assert.deepEqual(await page.evaluate(async () => {
    const r = await navigator.serviceWorker.getRegistration();
    return [r.installing, r.waiting].map((w) => w && w.scriptURL);
  }), [null, null], 'no other service worker was installed meanwhile');
  await ctx.close();
});

test("service worker: an install that finds another version on the server (a deploy meanwhile) keeps nothing and is tried again", async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // The server as it would be mid-deploy: its list of files names another version than the page.
  const changed = await servedRewritten(ctx, '**/assets.json', (text) => text.replace(/("version":\s*")[0-9a-f]+"/, '$1bbbbbbbbbbb"'));
  const { page, errors } = await openApp(browser, server.base, { context: ctx });
  for (let waited = 0; !changed() && waited < 30000; waited += 100) await page.waitForTimeout(100);
  assert.ok(changed(), "the service worker's install was served another version's list");
  // A first install that fails leaves no registration, and no cache of this version.
  await page.waitForFunction(async () => !(await navigator.serviceWorker.getRegistration()), null, { timeout: 30000, polling: 200 });
  assert.deepEqual(await page.evaluate(async () => (await caches.keys()).filter((k) => k.startsWith('ldx-shell-'))), []);
  // Once the server holds the page's version, the next visit installs it.
  await ctx.unroute('**/assets.json');
  await page.reload();
  await page.evaluate(() => window.localdx.ready);
  assert.match(await page.evaluate(async () => (await navigator.serviceWorker.ready).active.state), /^activat(ing|ed)$/);
  assert.equal((await page.evaluate(async () => (await caches.keys()).filter((k) => k.startsWith('ldx-shell-')))).length, 1);
  assert.deepEqual(errors, []);
  await ctx.close();
});

//-----------------------------------------------------------------------------
// [SECTION] Privacy audit
//-----------------------------------------------------------------------------
test('privacy: no entered value appears in any request, and no request leaves the origin', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const requests = [];
  ctx.on('request', (req) => requests.push({ url: req.url(), method: req.method(), headers: req.headers(), body: req.postData() || '', at: Date.now() }));
  const { page } = await openApp(browser, server.base, { context: ctx });
  const pending = () => page.evaluate(() => Object.values(window.localdx.reporting().pending).map((r) => r.n));
  // One patient with marker values, typed into the UI, then predicted 100 times with small
  // what-if edits: the patient counts once.
  await typePatient(page, 1, ['13', '187.654321', '', '', '', '41.23456', '1.987654', '77']);
  await page.waitForFunction(() => document.getElementById('live').textContent.startsWith('Result:'), null, { timeout: 15000 });
  for (let i = 0; i < 99; i++)
    await page.evaluate((i) => window.localdx.predict({ glucose: 187.654321 + (i % 7), mass: 41.23456, pedigree: 1.987654, age: 77, pregnant: 13 }), i);
  assert.deepEqual(await pending(), [], 'nothing is counted while the patient is being edited');
  await page.evaluate(() => window.localdx.releasePatient());  // as "Clear form" does
  assert.deepEqual(await pending(), [1], 'one patient edited 100 times counts once');
  // 19 other patients (k = 20): each new patient ends the previous one; the report completes.
  for (let i = 0; i < 19; i++)
    await page.evaluate((i) => window.localdx.predict({ glucose: 80 + 5 * i, mass: 20 + i, pedigree: 0.1 + i / 50, age: 22 + 2 * i, pregnant: i % 6 }), i);
  await page.evaluate(() => window.localdx.releasePatient());
  const rep = await page.evaluate(() => window.localdx.reporting());
  assert.equal(rep.queue.length, 1, 'a complete report of 20 patients is queued');
  assert.equal(rep.queue[0].report.n, 20);
  const wait = rep.queue[0].due - Date.now();
  assert.ok(wait >= 55e3 && wait <= 6 * 3600e3, `a report leaves at a random moment 1 minute to 6 hours later (due in ${wait} ms)`);
  await page.waitForTimeout(1500);
  assert.equal(requests.filter((r) => r.url.endsWith('/api/v1/metrics')).length, 0, 'no report is sent within a second of scoring');
  // The budget a patient spends, as the core computes it for the Reporting tab: each patient is
  // counted in one of 11 randomized histograms (8 fields, the predicted class, 2 class
  // probabilities) at epsilon 2.
  assert.deepEqual(await page.evaluate(() => { const p = window.localdx.model().privacy; return [p.histograms, p.epsilon_per_patient]; }), [11, 2]);
  await page.evaluate(() => window.localdx.flushReports());  // the test API sends it now
  await page.waitForFunction(() => window.localdx.reporting().queue.length === 0, null, { timeout: 15000 });
  const sent = requests.filter((r) => r.url.endsWith('/api/v1/metrics'));
  assert.equal(sent.length, 1, 'the aggregate report was sent, so the audit covers it');
  const markers = ['187.654321', '187.65', '41.23456', '1.987654'];
  for (const r of requests) {
    assert.equal(new URL(r.url).origin, server.base, `request to another origin: ${r.url}`);
    const all = r.url + JSON.stringify(r.headers) + r.body;
    for (const m of markers) assert.ok(!all.includes(m), `marker ${m} in ${r.method} ${r.url}`);
  }
  const report = JSON.parse(sent[0].body);
  assert.deepEqual(Object.keys(report).sort(), ['day', 'epsilon', 'fields', 'model', 'n', 'predicted', 'probabilities', 'version']);
  assert.equal(report.n, 20);
  console.log(`# privacy: ${requests.length} requests audited, ${sent.length} report(s) sent`);
  await ctx.close();
});

//-----------------------------------------------------------------------------
// [SECTION] Refusals
//-----------------------------------------------------------------------------
test('a tampered bundle and a rolled-back version are refused with a visible message', async () => {
  // v2 of the same model, signed with the same key, published after v1.
  const v2 = path.join(server.dir, 'pima-diabetes-2.ldxb');
  const train = path.join(env.demo, 'train/pima-diabetes');
  execFileSync(env.cli, ['bundle', '--schema', `${train}/schema.json`, '--model', `${train}/model.xgb.json`, '--card', `${train}/card.json`,
    '--reference', `${train}/reference.json`, '--name', 'pima-diabetes', '--version', '2', '--key', path.join(env.demo, 'keys/signing-key.json'), '--out', v2]);
  const pub = await publish(server.base, v2);
  assert.equal(pub.status, 201);
  // Requests a service worker answers cannot be intercepted by the test, so this context has none.
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, serviceWorkers: 'block' });
  const { ctx, page } = await openApp(browser, server.base, { context });
  assert.equal((await page.evaluate(() => window.localdx.model())).version, 2);

  // Rollback: v1 is still on the server, but v2 was accepted on this device.
  const v1url = '/api/v1/bundles/' + execFileSync('sha256sum', [bundlePath('pima-diabetes')]).toString().slice(0, 64);
  const rolled = await page.evaluate((u) => window.localdx.loadBundle(u), v1url);
  assert.equal(rolled.ok, false);
  assert.equal(rolled.problems[0].code, 'rollback');
  assert.match(await page.textContent('#live'), /older than one already used on this device/);
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(env.shots, 'refused-rollback.png') });

  // Tampered: one byte of the bundle changed in transit.
  await page.route('**/tampered.ldxb', async (route) => {
    const bytes = readFileSync(v2);
    bytes[bytes.length - 50] ^= 0x01;
    await route.fulfill({ status: 200, body: bytes, headers: { 'Content-Type': 'application/octet-stream' } });
  });
  const tampered = await page.evaluate(() => window.localdx.loadBundle('/tampered.ldxb'));
  assert.equal(tampered.ok, false);
  assert.match(tampered.problems[0].code, /member_hash|member_length|malformed/);
  assert.match(await page.textContent('#live'), /changed after it was signed|cannot be used/);
  // The model in use is still the verified v2.
  assert.equal((await page.evaluate(() => window.localdx.model())).version, 2);
  await ctx.close();
});

//-----------------------------------------------------------------------------
// [SECTION] Headers
//-----------------------------------------------------------------------------
test('the app is served with a strict CSP, cross-origin isolation and correct types', async () => {
  const page = await fetch(server.base + '/');
  const csp = page.headers.get('content-security-policy');
  assert.match(csp, /connect-src 'self'/);
  assert.doesNotMatch(csp, /https?:/);
  assert.equal(page.headers.get('cross-origin-opener-policy'), 'same-origin');
  assert.equal(page.headers.get('cross-origin-embedder-policy'), 'require-corp');
  assert.equal(page.headers.get('cache-control'), 'no-cache');
  const assets = await (await fetch(server.base + '/assets.json')).json();
  const wasm = await fetch(server.base + '/' + assets.app_wasm);
  assert.equal(wasm.headers.get('content-type'), 'application/wasm');
  assert.match(wasm.headers.get('cache-control'), /immutable/);
  const ortWasm = await fetch(server.base + '/' + assets.ort.replace('ort.wasm.min.mjs', 'ort-wasm-simd-threaded.wasm'));
  assert.equal(ortWasm.headers.get('content-type'), 'application/wasm');
  assert.ok(Number(ortWasm.headers.get('content-length')) > 2 * 1024 * 1024, 'ONNX Runtime wasm is over 2 MB (and precached anyway)');
  const manifest = await (await fetch(server.base + '/manifest.webmanifest')).json();
  assert.equal(manifest.display, 'standalone');
  assert.deepEqual(manifest.icons.map((i) => i.sizes), ['192x192', '512x512']);
});
