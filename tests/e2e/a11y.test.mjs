// tests/e2e/a11y.test.mjs — the accessible layer over the canvas (web/a11y.js, wasm/app/a11y.cpp),
// checked where assistive technology reads it: Chromium's own accessibility tree (DevTools
// Accessibility.getFullAXTree), axe-core's WCAG 2.1 A/AA rules, real taps on a phone-sized page,
// paste, input-method composition and the keyboard alone.
//
// Index of this file
//   [SECTION] Set-up: server, bundles, browser; reading the accessibility tree
//   [SECTION] Every control of the Patient view: role, name (label and unit), value
//   [SECTION] A phone (390x844, touch): each tap moves typing to the tapped field; a swipe scrolls
//   [SECTION] Reflow: 320 CSS px wide, and 200% zoom
//   [SECTION] Paste and input-method composition go through the app's parser
//   [SECTION] The numbers corpus typed, pasted and composed: every character read or refused
//   [SECTION] axe-core: no WCAG 2.1 A/AA violation, before and after a prediction
//   [SECTION] The keyboard alone: from page load to the result
//   [SECTION] Small things that turned a wrong input into an answer (help, copy, the result in view)
//   [SECTION] Every view of every demo model: golden trees, tables as tables, plots in words
//   [SECTION] Every view at 320 CSS px and at 200% zoom: screenshots, nothing cut sideways
//
// Golden files (tests/e2e/golden/) hold what a person reviewed; LOCALDX_UPDATE_GOLDEN=1 rewrites them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { env, startServer, publish, launch, openApp, csvRecords } from './harness.mjs';

const DEMO_MODELS = ['pima-diabetes', 'pbc-stage', 'wdbc', 'wdbc-mlp', 'diabetes-progression', 'opacity-demo'];
const bundlePath = (t, v = 1) => path.join(env.demo, 'bundles', `${t}-${v}.ldxb`);
const golden = (name) => path.join(env.source, 'tests/e2e/golden', name);
let server, browser;

//-----------------------------------------------------------------------------
// [SECTION] Set-up
//-----------------------------------------------------------------------------
before(async () => {
  mkdirSync(env.shots, { recursive: true });
  server = await startServer('a11y');
  for (const t of DEMO_MODELS) assert.equal((await publish(server.base, bundlePath(t))).status, 201);
  browser = await launch();
});
after(async () => { await browser?.close(); server?.stop(); });

// Chromium's accessibility tree as a screen reader gets it: the nodes that are not ignored, each
// with its role, name, value, description and states.
async function axTree(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Accessibility.enable');
  const { nodes } = await cdp.send('Accessibility.getFullAXTree');
  await cdp.detach();
  const prop = (n, name) => (n.properties || []).find((p) => p.name === name)?.value?.value;
  return nodes.filter((n) => !n.ignored).map((n) => ({
    role: n.role?.value, name: n.name?.value ?? '', value: n.value?.value ?? '',
    description: n.description?.value ?? '', focused: prop(n, 'focused') === true,
    invalid: prop(n, 'invalid'), required: prop(n, 'required') === true, expanded: prop(n, 'expanded'),
    selected: prop(n, 'selected') === true, disabled: prop(n, 'disabled') === true,
  }));
}
const CONTROLS = ['textbox', 'combobox', 'button', 'tab', 'checkbox', 'slider'];
const controls = (tree) => tree.filter((n) => CONTROLS.includes(n.role))
  .map(({ role, name, value, required, invalid, disabled, selected }) => ({ role, name, value, ...(required ? { required } : {}),
    ...(invalid && invalid !== 'false' ? { invalid } : {}), ...(disabled ? { disabled } : {}), ...(selected ? { selected } : {}) }));

function checkGolden(name, actual) {
  const file = golden(name);
  if (process.env.LOCALDX_UPDATE_GOLDEN === '1') {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(actual, null, 2) + '\n');
  }
  assert.deepEqual(actual, JSON.parse(readFileSync(file, 'utf8')), `${name}: the accessibility tree changed (review, then LOCALDX_UPDATE_GOLDEN=1)`);
}

// The layer's element for a field, found as assistive technology finds it: by role and name.
const field = (page, label) => page.getByRole('textbox', { name: new RegExp('^' + label.replace(/[()]/g, '\\$&')) });
// Until the layer mirrors what the last frame drew (the app sends its tree after each frame).
async function settled(page) {
  await page.waitForFunction(() => document.querySelectorAll('#a11y input').length > 0);
  await page.waitForTimeout(150);
}
async function waitResult(page) {
  await page.waitForFunction(() => document.getElementById('live').textContent.startsWith('Result:'), null, { timeout: 15000 });
  await page.waitForTimeout(200);
}

//-----------------------------------------------------------------------------
// [SECTION] Every control of the Patient view
//-----------------------------------------------------------------------------
test('Patient view: every control is in Chromium\'s accessibility tree with its role, name (label and unit) and value', async () => {
  const { ctx, page, errors } = await openApp(browser, server.base);
  await settled(page);
  const schema = await page.evaluate(() => window.localdx.model().schema);
  // Typed as a person types, into the fields the layer offers.
  const typed = { pregnant: '6', glucose: '148', pressure: '72', mass: '33,6', age: '50' };
  for (const f of schema.fields) {
    if (!(f.name in typed)) continue;
    await field(page, f.label).click();
    await page.keyboard.type(typed[f.name], { delay: 10 });
  }
  assert.deepEqual(await page.evaluate(() => window.localdx.formRecord()), typed, 'each value landed in its own field');
  await page.waitForTimeout(200);
  const tree = await axTree(page);
  // Every field: a text box named by its label and unit, holding what was typed; numeric fields
  // bring up a phone's number keyboard.
  for (const f of schema.fields) {
    const n = tree.find((x) => x.role === 'textbox' && x.name.startsWith(f.label));
    assert.ok(n, `${f.label} is in the tree as a text box`);
    assert.equal(n.value, typed[f.name] ?? '', `${f.label} holds what was typed`);
    assert.match(n.description, /Possible range/, `${f.label} describes its range (the (?) help, without hovering)`);
  }
  assert.ok(tree.some((x) => x.role === 'textbox' && x.name === 'Plasma glucose, 2 h after 75 g oral glucose (mg/dL)'), 'the name carries the unit');
  const modes = await page.evaluate(() => [...document.querySelectorAll('#a11y input[type=text]')].map((e) => e.inputMode));
  assert.ok(modes.length === schema.fields.length && modes.every((m) => m === 'decimal'), `numeric fields: inputmode=decimal (${modes})`);
  // The model picker, the unit pickers, the views and Predict.
  assert.ok(tree.some((x) => x.role === 'combobox' && x.name === 'Model' && /Diabetes/.test(x.value)), 'the model picker with the model chosen');
  assert.ok(tree.some((x) => x.role === 'combobox' && x.name === 'Plasma glucose, 2 h after 75 g oral glucose unit' && x.value === 'mg/dL'), 'the unit picker');
  assert.deepEqual(tree.filter((x) => x.role === 'tab').map((x) => [x.name, x.selected]),
    [['Patient', true], ['Batch', false], ['Model card', false], ['Reporting', false], ['Operations', false], ['Validate', false]]);
  assert.ok(tree.some((x) => x.role === 'button' && x.name === 'Predict'));
  // A unit chosen from the DOM's list: the app reads the value in it, and the name says so.
  await page.getByRole('combobox', { name: 'Plasma glucose, 2 h after 75 g oral glucose unit' }).selectOption('mmol/L');
  await page.waitForTimeout(200);
  assert.equal((await page.evaluate(() => window.localdx.formRecord())).glucose.unit, 'mmol/L');
  assert.ok((await axTree(page)).some((x) => x.role === 'textbox' && x.name === 'Plasma glucose, 2 h after 75 g oral glucose (mmol/L)'));
  await page.getByRole('combobox', { name: 'Plasma glucose, 2 h after 75 g oral glucose unit' }).selectOption('mg/dL');
  // Predict, pressed from the layer: the result is read from the tree in the words on screen.
  await page.getByRole('button', { name: 'Predict' }).press('Enter');
  await waitResult(page);
  const after = await axTree(page);
  const verdict = after.find((x) => /probability of Diabetes — (at or above|below) the model's/.test(x.name));
  assert.ok(verdict, 'the verdict is in the tree');
  assert.ok(after.some((x) => x.role === 'heading' && x.name === 'Result'));
  assert.ok(after.some((x) => /^Plasma glucose.* = 148 mg\/dL: [+−-]\d/.test(x.name)), 'the explanation rows are in the tree');
  checkGolden('patient-pima.json', controls(after));
  // An edit marks the result out of date, said as an alert.
  await field(page, 'Age').click();
  await page.keyboard.type('1');
  await page.waitForTimeout(200);
  const stale = await axTree(page);
  assert.ok(stale.some((x) => x.role === 'alert'), 'an alert region');
  assert.ok(stale.some((x) => x.role === 'StaticText' && /^Out of date: values changed after this result/.test(x.name)), 'saying the result is out of date');
  assert.match(await page.locator('#a11y [role=alert]').first().textContent(), /^Out of date/);
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('a refused form: every problem is announced, and each field it names is invalid with its reason', async () => {
  const { ctx, page, errors } = await openApp(browser, server.base);
  await settled(page);
  await page.evaluate(() => window.localdx.fillAndPredict({ glucose: '12a', pressure: '1,234', age: '50' }));
  await page.waitForFunction(() => /^The values could not be used:/.test(document.getElementById('live').textContent), null, { timeout: 15000 });
  await page.waitForTimeout(200);
  const live = await page.textContent('#live');
  const tree = await axTree(page);
  for (const label of ['Plasma glucose', 'Diastolic blood pressure']) {
    const n = tree.find((x) => x.role === 'textbox' && x.name.startsWith(label));
    assert.equal(n.invalid, 'true', `${label} is invalid`);
    // The reason comes first in the description, before the field's help.
    const reason = (await field(page, label).getAttribute('aria-description')).split('\n')[0];
    assert.ok(n.description.startsWith(reason), n.description);
    assert.ok(live.includes(reason), `the announcement says ${label}'s reason (${reason}): ${live}`);
  }
  assert.ok(tree.some((x) => x.role === 'alert'), 'the refusal is an alert in the result');
  assert.deepEqual(errors, []);
  await ctx.close();
});

//-----------------------------------------------------------------------------
// [SECTION] A phone
//-----------------------------------------------------------------------------
test('phone (390x844, touch): tap a field, type, tap another, type: each value lands in its own field; the unit picker is the tapped element', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, hasTouch: true, isMobile: true });
  const { ctx, page, errors } = await openApp(browser, server.base, { context });
  await settled(page);
  const tap = async (locator) => {
    const b = await locator.boundingBox();
    await page.touchscreen.tap(b.x + b.width / 2, b.y + b.height / 2);
    await page.waitForTimeout(100);
  };
  await tap(field(page, 'Age'));
  await page.keyboard.type('4');
  await tap(field(page, 'Number of pregnancies'));
  await page.keyboard.type('5');
  await tap(field(page, 'Plasma glucose'));
  await page.keyboard.type('148');
  await page.waitForTimeout(200);
  assert.deepEqual(await page.evaluate(() => window.localdx.formRecord()), { age: '4', pregnant: '5', glucose: '148' });
  const tree = await axTree(page);
  const value = (label) => tree.find((x) => x.role === 'textbox' && x.name.startsWith(label)).value;
  assert.deepEqual([value('Age'), value('Number of pregnancies'), value('Plasma glucose')], ['4', '5', '148']);
  assert.equal(await page.evaluate(() => document.activeElement.inputMode), 'decimal', 'a phone shows its number keyboard');
  // The unit picker: a tap lands on a real <select> (the phone's own list opens), never on the canvas.
  const unit = page.getByRole('combobox', { name: 'Diastolic blood pressure unit' });
  const b = await unit.boundingBox();
  assert.equal(await page.evaluate(([x, y]) => document.elementFromPoint(x, y).getAttribute('aria-label'), [b.x + b.width / 2, b.y + b.height / 2]),
    'Diastolic blood pressure unit');
  await tap(unit);
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Diastolic blood pressure unit');
  await page.screenshot({ path: path.join(env.shots, 'a11y-phone.png') });
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('phone: a swipe scrolls the form under the finger (on the canvas or on a field), a flick glides on and a touch stops it, sideways and a zoomed page stay the browser\'s, and a tap then reaches the field where it now is', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, hasTouch: true, isMobile: true });
  const { ctx, page, errors } = await openApp(browser, server.base, { context, model: 'wdbc' });
  const consoleErrors = [];  // e.g. Chromium's "Ignored attempt to cancel a touchmove event with cancelable=false"
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  await settled(page);
  const cdp = await page.context().newCDPSession(page);
  const top = async (label) => (await field(page, label).boundingBox()).y;
  const scroll = () => page.evaluate(() => window.localdx.viewState().form_scroll);
  const frames = () => page.evaluate(() => window.localdx.framesDrawn());
  // The form's scroll once it has stopped moving: a frame drawn since the finger lifted, and the
  // same scroll in two reads 250 ms apart (a glide moves it every frame); 15 s at most.
  const still = async (framesAtEnd) => {
    const deadline = Date.now() + 15000;
    let last = NaN;
    for (;;) {
      const now = await scroll();
      if (now === last && (await frames()) > framesAtEnd) return now;
      assert.ok(Date.now() < deadline, `the form stops moving (last scroll ${now})`);
      last = now;
      await page.waitForTimeout(250);
    }
  };
  // A finger from (x, y) moved by (dx, dy) in `steps` moves `ms` apart, held `hold` ms before it
  // lifts (0: lifted with its last move, a flick); `path` moves it through points instead.
  const touch = (type, points) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: points });
  const swipe = async (x, y, dx, dy, { steps = 10, ms = 30, hold = 150, path = null } = {}) => {
    const points = path || Array.from({ length: steps }, (_, i) => ({ x: x + (dx * (i + 1)) / steps, y: y + (dy * (i + 1)) / steps }));
    await touch('touchStart', [{ x, y }]);
    for (const [i, p] of points.entries()) {
      await touch('touchMove', [p]);
      if (hold > 0 || i < points.length - 1) await page.waitForTimeout(ms);
    }
    if (hold > 0) await page.waitForTimeout(hold);
    const framesAtEnd = await frames();
    await touch('touchEnd', []);
    return still(framesAtEnd);
  };
  const lastField = 'Fractal dimension, worst';
  const radius0 = await top('Radius, mean');
  assert.ok((await top(lastField)) > 844, 'the form is longer than the phone\'s screen');
  assert.equal(await scroll(), 0);
  // A slow swipe up by 200 CSS px on the canvas (right of the fields): the form follows the finger.
  const field0 = await field(page, 'Radius, mean').boundingBox();
  const right = field0.x + field0.width + 60;
  assert.equal(await page.evaluate(([x, y]) => document.elementFromPoint(x, y).id, [right, 700]), 'canvas');
  let s = await swipe(right, 700, 0, -200);
  assert.ok(Math.abs(s - 400) <= 4, `200 CSS px of finger scroll 400 device px (dpr 2): ${s}`);
  await page.waitForTimeout(200);
  assert.ok(Math.abs((await top('Radius, mean')) - (radius0 - 200)) <= 3, 'the field moved up with the finger');
  // The same swipe beginning on a field: the form scrolls, the field does not take the touch as a tap.
  const onField = (await field(page, 'Area, mean').boundingBox()).y + 10;
  assert.equal(await page.evaluate(([x, y]) => document.elementFromPoint(x, y).tagName, [field0.x + 40, onField]), 'INPUT');
  s = await swipe(field0.x + 40, onField, 0, -200);
  assert.ok(Math.abs(s - 800) <= 4, `and again from a field: ${s}`);
  assert.notEqual(await page.evaluate(() => document.activeElement.tagName), 'INPUT', 'a swipe is not a tap');
  // Sideways (120 across, 40 up: a text selection), and sideways first then up: the browser's, no scroll.
  s = await swipe(field0.x + 40, 500, 120, -40);
  assert.equal(s, 800, 'sideways does not scroll');
  s = await swipe(right, 600, 0, 0, { path: [{ x: right - 20, y: 600 }, { x: right - 40, y: 598 }, ...Array.from({ length: 8 }, (_, i) => ({ x: right - 40, y: 598 - 25 * (i + 1) }))] });
  assert.equal(s, 800, 'a move that began sideways stays the browser\'s when it turns up');
  // Zoomed in (the page at 2x, as by two fingers): one finger pans the zoomed page, not the form.
  await cdp.send('Emulation.setPageScaleFactor', { pageScaleFactor: 2 });
  await page.waitForFunction(() => window.visualViewport.scale > 1.5);
  s = await swipe(100, 300, 0, -150);
  assert.equal(s, 800, 'a zoomed page pans: the form does not scroll');
  await cdp.send('Emulation.setPageScaleFactor', { pageScaleFactor: 1 });
  await page.waitForFunction(() => window.visualViewport.scale < 1.01);
  // A flick (6 moves of 20 CSS px as fast as they come, lifted with its last move) glides on past
  // the finger (120 CSS px: 240 device pixels), then stops.
  s = await swipe(right, 650, 0, -120, { steps: 6, ms: 0, hold: 0 });
  const freeGlide = s - 800 - 240;
  assert.ok(freeGlide > 80, `a flick glides on beyond the finger: ${freeGlide} more`);
  // The same flick back down, and a touch 50 ms into its glide: its glide stops far short of the
  // free one, stays stopped, and the touch is no tap (the focus stays where it was).
  const focusBefore = await page.evaluate(() => document.activeElement.id || document.activeElement.tagName);
  const from = s;
  await touch('touchStart', [{ x: right, y: 530 }]);
  for (let i = 1; i <= 6; i++) await touch('touchMove', [{ x: right, y: 530 + 20 * i }]);
  await touch('touchEnd', []);
  await page.waitForTimeout(50);
  await page.touchscreen.tap(field0.x + 40, 400);
  const stopped = await still(await frames());
  const stoppedGlide = from - stopped - 240;
  assert.ok(stoppedGlide < 0.5 * freeGlide, `the touch stopped the glide: ${stoppedGlide} of a free ${freeGlide}`);
  await page.waitForTimeout(300);
  assert.equal(await scroll(), stopped, 'and it stays stopped');
  assert.equal(await page.evaluate(() => document.activeElement.id || document.activeElement.tagName), focusBefore, 'the touch that stopped it pressed nothing');
  // To the end, and a tap on the last field's help, where it now is, opens it (a tap on the canvas
  // focuses it: what the stopping touch did not do), even right after a flick at the end: a glide
  // whose view cannot move stops at once, and takes no tap.
  for (let i = 0; i < 6; i++) await swipe(right, 780, 0, -500, { steps: 10, ms: 20 });
  const end = await scroll();
  await touch('touchStart', [{ x: right, y: 600 }]);
  for (let i = 1; i <= 3; i++) await touch('touchMove', [{ x: right, y: 600 - 20 * i }]);
  await touch('touchEnd', []);
  await page.waitForTimeout(300);
  assert.equal(await scroll(), end, 'at its end the form does not move');
  const help = page.getByRole('button', { name: new RegExp('^Help: ' + lastField) });
  const h = await help.boundingBox();
  assert.ok(h.y > 0 && h.y + h.height < 844, `the last field's help is on the screen now: ${JSON.stringify(h)}`);
  await page.touchscreen.tap(h.x + h.width / 2, h.y + h.height / 2);
  await page.waitForFunction((l) => document.querySelector(`#a11y [aria-label^="Help: ${l}"]`)?.getAttribute('aria-expanded') === 'true', lastField, { timeout: 15000 });
  assert.equal(await page.evaluate(() => document.activeElement.id), 'canvas');
  // And down again past the top: the form stops at its start.
  for (let i = 0; i < 8; i++) await swipe(right, 300, 0, 500, { steps: 10, ms: 20 });
  assert.equal(await scroll(), 0, 'down past the top: the form stops at its start');
  await cdp.detach();
  await page.screenshot({ path: path.join(env.shots, 'a11y-phone-swipe.png') });
  assert.deepEqual(errors, []);
  assert.deepEqual(consoleErrors, []);
  await ctx.close();
});

test('phone: a finger dragged sideways on the heat map\'s opacity slider moves it to the finger, and a swipe up from it scrolls instead', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, hasTouch: true, isMobile: true });
  const { ctx, page, errors } = await openApp(browser, server.base, { context, model: 'opacity-demo' });
  const testDir = path.join(env.demo, 'train', 'opacity-demo', 'test');
  const files = ['synthetic-001.png'].map((name) => ({ name, bytes: readFileSync(path.join(testDir, name)).toString('base64') }));
  await page.evaluate((f) => window.localdx.scoreImages(f), files);
  await page.waitForFunction(() => window.localdx.viewState().imaging.images.length === 1, null, { timeout: 30000 });
  await page.evaluate(() => { window.localdx.selectImage(0); window.localdx.confirmImage(0); });
  const slider = page.getByRole('slider', { name: 'Heat map opacity' });
  await slider.waitFor({ state: 'attached', timeout: 15000 });
  const opacity = () => page.evaluate(() => window.localdx.viewState().imaging.opacity);
  const cdp = await page.context().newCDPSession(page);
  const touch = (type, points) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: points });
  const drag = async (from, to, steps = 8) => {
    await touch('touchStart', [from]);
    for (let i = 1; i <= steps; i++) {
      await touch('touchMove', [{ x: from.x + ((to.x - from.x) * i) / steps, y: from.y + ((to.y - from.y) * i) / steps }]);
      await page.waitForTimeout(30);
    }
    await touch('touchEnd', []);
    await page.waitForTimeout(300);
  };
  const b = await slider.boundingBox();
  assert.ok(b.y > 0 && b.y + b.height < 844, `the slider is on the screen: ${JSON.stringify(b)}`);
  const before = await opacity();
  const y = b.y + b.height / 2;
  await drag({ x: b.x + b.width * 0.2, y }, { x: b.x + b.width * 0.8, y });
  const after = await opacity();
  assert.ok(Math.abs(after - 0.8) <= 0.03, `the opacity follows the finger to 80% of the slider: ${before} -> ${after}`);
  await drag({ x: b.x + b.width * 0.8, y }, { x: b.x + b.width * 0.3, y });
  assert.ok(Math.abs((await opacity()) - 0.3) <= 0.03, `and back to 30%: ${await opacity()}`);
  // A drag ends on the value a tap at the same place gives (the app's own slider: its frame less
  // the grab's padding at each end), near the ends too; past an end, the end itself.
  for (const at of [0.06, 0.5, 0.94]) {
    await page.touchscreen.tap(b.x + b.width * at, y);
    await page.waitForTimeout(300);
    const tapped = await opacity();
    await drag({ x: b.x + b.width * (at < 0.5 ? 0.7 : 0.3), y }, { x: b.x + b.width * at, y });
    assert.ok(Math.abs((await opacity()) - tapped) <= 0.011, `at ${at * 100}% of the slider a drag gives ${await opacity()}, a tap ${tapped}`);
  }
  await drag({ x: b.x + b.width * 0.5, y }, { x: b.x + b.width + 40, y });
  assert.equal(await opacity(), 1, 'past the right end: 1');
  await drag({ x: b.x + b.width * 0.5, y }, { x: Math.max(1, b.x - 40), y });
  assert.equal(await opacity(), 0, 'past the left end: 0');
  // Up from the slider: its view scrolls (the slider moves up with the finger); the opacity stays.
  const o = await opacity(), at = (await slider.boundingBox()).y;
  await drag({ x: b.x + b.width * 0.5, y }, { x: b.x + b.width * 0.5 + 5, y: y - 150 });
  assert.equal(await opacity(), o, 'a swipe up that begins on the slider is not a drag of it');
  assert.ok((await slider.boundingBox()).y < at - 30, `it scrolls the view instead: ${at} -> ${(await slider.boundingBox()).y}`);
  await page.screenshot({ path: path.join(env.shots, 'a11y-phone-slider.png') });
  await cdp.detach();
  assert.deepEqual(errors, []);
  await ctx.close();
});

//-----------------------------------------------------------------------------
// [SECTION] Reflow: 320 CSS px wide, and 200% zoom
//-----------------------------------------------------------------------------
test('reflow: at 320 CSS px and at 200% zoom nothing scrolls sideways, every field is whole, and a field focused below the fold scrolls into view', async () => {
  // 200% zoom of a 1280x800 window is a 640x400 CSS-pixel page at twice the pixels.
  for (const [name, viewport, dpr] of [['320', { width: 320, height: 640 }, 1], ['zoom200', { width: 640, height: 400 }, 2]]) {
    const context = await browser.newContext({ viewport, deviceScaleFactor: dpr });
    const { ctx, page, errors } = await openApp(browser, server.base, { context });
    await settled(page);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), `${name}: no horizontal scrolling`);
    const nodes = await page.evaluate(() => window.localdx.a11yTree().nodes);
    for (const n of nodes.filter((x) => x.role === 'textbox' || x.role === 'combobox')) {
      assert.ok(n.rect[0] >= 0 && n.rect[0] + n.rect[2] <= viewport.width + 0.5, `${name}: ${n.name} is inside the page (${n.rect})`);
      assert.ok(Math.abs(n.clip[0] - n.rect[0]) < 1 && Math.abs(n.clip[2] - n.rect[2]) < 1 || n.clip[3] === 0, `${name}: ${n.name} is not cut sideways (${n.rect} / ${n.clip})`);
    }
    // The last field, reached by the keyboard, is scrolled into view whole.
    await field(page, 'Age').focus();
    await page.keyboard.type('50');
    await page.waitForTimeout(300);
    const age = (await page.evaluate(() => window.localdx.a11yTree().nodes)).find((x) => x.role === 'textbox' && x.name.startsWith('Age'));
    assert.ok(age.clip[3] >= age.rect[3] - 1 && age.rect[1] >= 0 && age.rect[1] + age.rect[3] <= viewport.height, `${name}: Age is in view (${age.rect} / ${age.clip})`);
    assert.equal((await page.evaluate(() => window.localdx.formRecord())).age, '50');
    await page.screenshot({ path: path.join(env.shots, `a11y-reflow-${name}.png`) });
    assert.deepEqual(errors, []);
    await ctx.close();
  }
});

//-----------------------------------------------------------------------------
// [SECTION] Paste and composition
//-----------------------------------------------------------------------------
test('paste and input-method composition reach the field, and the app reads them with its parser', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.base });
  const { ctx, page, errors } = await openApp(browser, server.base, { context });
  await settled(page);
  // Paste (Ctrl+V) into Body mass index: the field holds it, the app has it, and reads it as meant.
  await page.evaluate(() => navigator.clipboard.writeText('31,5'));
  await field(page, 'Body mass index').click();
  await page.keyboard.press('Control+V');
  await page.waitForTimeout(150);
  assert.equal(await field(page, 'Body mass index').inputValue(), '31,5');
  const form = await page.evaluate(() => window.localdx.formRecord());
  assert.equal(form.mass, '31,5');
  // With the values the model cannot give a verdict without (age, glucose), as the pasted one is read.
  const read = await page.evaluate((r) => window.localdx.predict(r), { ...form, age: '50', glucose: '148' });
  assert.equal(read.values[5], 31.5, JSON.stringify(read.problems));
  // A paste the parser refuses is refused next to the field (invalid, with the message), not dropped.
  await page.evaluate(() => navigator.clipboard.writeText('12a'));
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Control+V');
  // (The check reaches assistive technology once the typing pauses: web/a11y.js.)
  await page.waitForFunction(() => document.querySelector('#a11y input[aria-label^="Body mass index"]')?.getAttribute('aria-invalid') === 'true', null, { timeout: 5000 });
  const bmi = (await axTree(page)).find((x) => x.role === 'textbox' && x.name.startsWith('Body mass index'));
  assert.equal(bmi.value, '12a');
  assert.equal(bmi.invalid, 'true', 'the refused value is marked invalid');
  assert.ok(bmi.description.length > 0 && !/^Body mass index/.test(bmi.description), `the reason is its description: ${bmi.description}`);
  // Composition (an input method): nothing reaches the app until the text is committed.
  await field(page, 'Age').click();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Input.imeSetComposition', { text: '５', selectionStart: 1, selectionEnd: 1 });
  await page.waitForTimeout(100);
  assert.equal((await page.evaluate(() => window.localdx.formRecord())).age, undefined, 'uncommitted text is not the value');
  await cdp.send('Input.insertText', { text: '５０' });
  await page.waitForTimeout(150);
  assert.equal((await page.evaluate(() => window.localdx.formRecord())).age, '５０', 'the committed text, whole');
  await cdp.detach();
  assert.deepEqual(errors, []);
  await ctx.close();
});

//-----------------------------------------------------------------------------
// [SECTION] The numbers corpus
//-----------------------------------------------------------------------------
// tests/corpus/numbers.tsv, the native parser test's corpus: input, expected ("refused" or a number).
function numbersCorpus() {
  const unescape = (t) => t.replace(/\\u([0-9A-Fa-f]{4})|\\t|\\\\/g, (m, hex) => (hex ? String.fromCharCode(parseInt(hex, 16)) : m === '\\t' ? '\t' : '\\'));
  return readFileSync(path.join(env.source, 'tests/corpus/numbers.tsv'), 'utf8').split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => { const [input, expected, what] = l.split('\t'); return { input: unescape(input), expected, what }; });
}

test('the numbers corpus typed, pasted and composed into a field: the field holds every character, and the app reads each as the native parser does', async () => {
  const corpus = numbersCorpus();
  assert.ok(corpus.length >= 20, `${corpus.length} strings`);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.base });
  const { ctx, page, errors } = await openApp(browser, server.base, { context });
  await settled(page);
  const bmi = field(page, 'Body mass index');
  const cdp = await page.context().newCDPSession(page);
  const ways = {
    // Key by key (a tab would move focus, as it does for a person: those strings are pasted only).
    typed: async (text) => page.keyboard.type(text),
    pasted: async (text) => { await page.evaluate((t) => navigator.clipboard.writeText(t), text); await page.keyboard.press('Control+V'); },
    composed: async (text) => {
      await cdp.send('Input.imeSetComposition', { text, selectionStart: text.length, selectionEnd: text.length });
      await cdp.send('Input.insertText', { text });
    },
  };
  const lost = [];
  await bmi.click();
  for (const [way, put] of Object.entries(ways))
    for (const row of corpus) {
      if (way === 'typed' && row.input.includes('\t')) continue;
      await page.keyboard.press('Control+A');
      await page.keyboard.press('Delete');
      await put(row.input);
      // The app's form holds exactly what was put in the field: no character dropped or changed.
      const arrived = await page.waitForFunction((t) => window.localdx.formRecord().mass === t, row.input, { timeout: 3000, polling: 10 }).then(() => true, () => false);
      if (!arrived) lost.push(`${way} ${JSON.stringify(row.input)} (${row.what}): the form holds ${JSON.stringify(await page.evaluate(() => window.localdx.formRecord().mass))}`);
    }
  await cdp.detach();
  assert.deepEqual(lost, []);
  // The app's reading of each string, with the values the model cannot do without: the number the
  // native parser gives (used, or refused only as outside the field's possible range, with that
  // number), or refused quoting what was typed.
  const readings = await page.evaluate(async (rows) => Promise.all(rows.map(async (row) => {
    const r = await window.localdx.predict({ age: '50', glucose: '148', mass: row.input });
    const p = (r.problems || []).find((x) => x.field === 'mass');
    return { value: r.ok ? r.values[5] : null, code: p?.code ?? null, message: p?.message ?? '', all: JSON.stringify(r.problems || []) };
  })), corpus);
  corpus.forEach((row, i) => {
    const got = readings[i], name = `${JSON.stringify(row.input)} (${row.what})`;
    if (row.expected === 'refused') {
      assert.equal(got.value, null, `${name} was used as ${got.value}`);
      assert.notEqual(got.code, 'out_of_range', `${name}: refused as a number out of range, not as text that is no number`);
      assert.ok(got.code && got.message.length > 0, `${name}: refused without a reason`);
    } else if (got.value !== null) {
      assert.ok(Math.abs(got.value - Number(row.expected)) <= 1e-9 * Math.max(1, Math.abs(got.value)), `${name} read as ${got.value}`);
    } else {
      assert.equal(got.code, 'out_of_range', `${name}: ${got.all}`);
      const shown = parseFloat(got.message.replace(/^[^:]*:\s*/, ''));
      assert.ok(Math.abs(shown - Number(row.expected)) <= 1e-6 * Math.max(1, Math.abs(shown)), `${name}: read as ${shown} (${got.message})`);
    }
  });
  assert.deepEqual(errors, []);
  await ctx.close();
});

//-----------------------------------------------------------------------------
// [SECTION] axe-core
//-----------------------------------------------------------------------------
async function axe(page) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: path.join(env.source, 'web/node_modules/axe-core/axe.min.js') });
  const r = await page.evaluate(() => window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }));
  return r.violations.map((v) => ({ id: v.id, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ') + ': ' + n.failureSummary) }));
}

// axe-core over the page as it is, then narrow (390 CSS px: the form's one-column layout) and at
// 200% zoom (640x400 CSS px at twice the pixels), then wide again (DevTools' device metrics, so the
// view, its file and its result stay as they are).
const LAYOUTS = [['narrow', 390, 844, 1], ['200% zoom', 640, 400, 2]];
async function axeLayouts(page, what) {
  assert.deepEqual(await axe(page), [], `${what}, wide`);
  const cdp = await page.context().newCDPSession(page);
  for (const [name, width, height, deviceScaleFactor] of LAYOUTS) {
    await cdp.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor, mobile: false });
    await page.waitForFunction(([w, d]) => window.innerWidth === w && window.devicePixelRatio === d, [width, deviceScaleFactor]);
    await page.waitForTimeout(250);
    assert.deepEqual(await axe(page), [], `${what}, ${name}`);
  }
  await cdp.send('Emulation.clearDeviceMetricsOverride');
  await cdp.detach();
  // (Playwright sends its viewport again only when it changes.)
  await page.setViewportSize({ width: 1279, height: 800 });
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.waitForFunction(() => window.innerWidth === 1280 && window.innerHeight === 800 && window.devicePixelRatio === 1, null, { timeout: 5000 })
    .catch(async () => assert.fail(await page.evaluate(() => `${window.innerWidth}x${window.innerHeight} at ${window.devicePixelRatio}`)));
  await page.waitForTimeout(500);
  // A page the size of its screen (here, after a key: the page may ask for full screen) never puts
  // the canvas alone in full screen, which would hide the layer.
  assert.equal(await page.evaluate(() => document.fullscreenElement?.id ?? null), null, `${what}: nothing is full screen`);
}

// A view opened as a keyboard user opens it: its tab focused, Enter.
async function openView(page, name) {
  await page.getByRole('tab', { name }).focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction((n) => document.querySelector('#a11y [role=tab][aria-selected=true]')?.getAttribute('aria-label') === n, name);
  await page.waitForTimeout(150);
}

// (Every view of every demo model, with its file or its result, is checked wide, narrow and at 200%
// zoom in the golden test below; here the Operations view, and the Image view with its heat map.)
test('axe-core: no WCAG 2.1 A/AA violation on the Operations view (wide, on a phone, at 200% zoom) and the Image view with its heat map and data table', async () => {
  // 200% zoom of a 1280x800 window is a 640x400 CSS-pixel page at twice the pixels.
  for (const [viewport, dpr] of [[{ width: 1280, height: 800 }, 1], [{ width: 390, height: 844 }, 1], [{ width: 640, height: 400 }, 2]]) {
    // The app's CSP allows no inline script: axe is injected into a context that bypasses it.
    const context = await browser.newContext({ viewport, deviceScaleFactor: dpr, bypassCSP: true });
    const { ctx, page, errors } = await openApp(browser, server.base, { context });
    await settled(page);
    await openView(page, 'Operations');
    assert.deepEqual(await axe(page), [], `Operations at ${viewport.width}px`);
    await openView(page, 'Model card');
    // The card's words, scrolled out of sight or not, are one text a screen reader reads.
    const card = await page.locator('#a11y section[aria-label="Model card, as text"]').textContent();
    assert.match(card, /AUC-ROC/);
    assert.match(card, /Calibration slope/);
    // Its section titles are headings a screen reader jumps between (H), one level below the view's.
    const headings = await page.locator('#a11y section[aria-label="Model card, as text"] h3').allTextContents();
    for (const h of ['Minimum information', 'Evaluation', 'Explanation method']) assert.ok(headings.includes(h), `heading ${h} in ${JSON.stringify(headings)}`);
    assert.ok(!(await page.locator('#a11y section[aria-label="Model card, as text"]').textContent()).includes('\x1e'), 'no heading mark read out');
    assert.deepEqual(errors, []);
    await ctx.close();
  }
  // The Image view (the imaging demo model), two images scored, one shown with its heat map and
  // its data table open: wide and at 200% zoom.
  const testDir = path.join(env.demo, 'train', 'opacity-demo', 'test');
  const files = ['synthetic-001.png', 'synthetic-003.png'].map((name) => ({ name, bytes: readFileSync(path.join(testDir, name)).toString('base64') }));
  for (const [viewport, dpr] of [[{ width: 1280, height: 800 }, 1], [{ width: 640, height: 400 }, 2]]) {
    const context = await browser.newContext({ viewport, deviceScaleFactor: dpr, bypassCSP: true });
    const { ctx, page, errors } = await openApp(browser, server.base, { model: 'opacity-demo', context });
    await page.evaluate((f) => window.localdx.scoreImages(f), files);
    await page.waitForFunction(() => window.localdx.viewState().imaging.images.length === 2, null, { timeout: 30000 });
    await page.evaluate(() => { window.localdx.confirmImage(1); window.localdx.selectImage(0); window.localdx.confirmImage(0); });
    await page.waitForFunction(() => document.querySelector('#a11y [role=img]') !== null);
    await page.waitForTimeout(200);
    assert.deepEqual(await axe(page), [], `Image view at ${viewport.width}px`);
    await page.getByRole('button', { name: 'Data table for the heat map' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => [...document.querySelectorAll('#a11y [role=caption]')].some((c) => c.textContent === 'Heat map, by cell'));
    assert.deepEqual(await axe(page), [], `Image view, the heat map's data table open, at ${viewport.width}px`);
    assert.deepEqual(errors, []);
    await ctx.close();
  }
});

//-----------------------------------------------------------------------------
// [SECTION] More contrast, and whole tab titles at 320 px
//-----------------------------------------------------------------------------
// The canvas's mean luminance once its frames have stopped changing: screenshots 250 ms apart
// until two agree (the render worker draws a frame after the page's change; on a loaded machine
// later than a fixed wait), at most 8 s.
async function steadyLuminance(page) {
  let last = await meanLuminance(page);
  for (const until = Date.now() + 8000; Date.now() < until;) {
    await page.waitForTimeout(250);
    const now = await meanLuminance(page);
    if (Math.abs(now - last) < 0.0002) return now;
    last = now;
  }
  return last;
}

// The canvas's mean luminance (0 black, 1 white), from a screenshot decoded in the page.
async function meanLuminance(page) {
  const png = (await page.locator('#canvas').screenshot()).toString('base64');
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = 'data:image/png;base64,' + b64;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width; c.height = img.height;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let sum = 0;
    for (let i = 0; i < d.length; i += 4) sum += 0.2126 * d[i] + 0.7152 * d[i + 1] + 0.0722 * d[i + 2];
    return sum / (d.length / 4) / 255;
  }, png);
}

test('prefers-contrast: more: darker greys and bordered fields on the canvas and in the layer, back again when it is turned off, and from the start when the system asks before the page opens', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
  const { ctx, page, errors } = await openApp(browser, server.base, { context });
  await settled(page);
  const border = () => page.locator('#a11y .a11y-field').first().evaluate((e) => getComputedStyle(e).borderTopColor);
  const usual = await steadyLuminance(page);
  assert.equal(await border(), 'rgb(107, 114, 128)');
  // As the system setting does: the media feature changes under the running page.
  const cdp = await page.context().newCDPSession(page);
  const contrast = async (value) => {
    await cdp.send('Emulation.setEmulatedMedia', { features: [{ name: 'prefers-contrast', value }] });
    await page.waitForTimeout(400);
  };
  await contrast('more');
  assert.equal(await page.evaluate(() => matchMedia('(prefers-contrast: more)').matches), true);
  const more = await steadyLuminance(page);
  assert.ok(more < usual - 0.002, `the canvas is darker with more contrast (mean luminance ${more.toFixed(4)} vs ${usual.toFixed(4)})`);
  assert.equal(await border(), 'rgb(0, 0, 0)', 'the fields have a black border');
  assert.deepEqual(await axe(page), [], 'axe with more contrast');
  await page.screenshot({ path: path.join(env.shots, 'a11y-contrast-more.png') });
  await contrast('');
  const again = await steadyLuminance(page);
  assert.ok(Math.abs(again - usual) < 0.001, `the usual palette again (${again.toFixed(4)} vs ${usual.toFixed(4)})`);
  await cdp.detach();
  assert.deepEqual(errors, []);
  await ctx.close();
  // A system that asks for more contrast before the page opens: the page says so before the app
  // has started, and the app starts with the darker palette and the black borders.
  const moreContext = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true, contrast: 'more' });
  const opened = await openApp(browser, server.base, { context: moreContext });
  await settled(opened.page);
  const fromStart = await steadyLuminance(opened.page);
  assert.ok(Math.abs(fromStart - more) < 0.001, `more contrast from the start is the same palette (${fromStart.toFixed(4)} vs ${more.toFixed(4)})`);
  assert.equal(await opened.page.locator('#a11y .a11y-field').first().evaluate((e) => getComputedStyle(e).borderTopColor), 'rgb(0, 0, 0)');
  assert.deepEqual(opened.errors, []);
  await opened.ctx.close();
});

test('at 320 CSS px the tab titles are whole: the tab bar scrolls instead of cutting them, and the open tab is in view', async () => {
  const widths = async (page) => (await page.evaluate(() => window.localdx.a11yTree().nodes)).filter((n) => n.role === 'tab').map((n) => [n.name, n.rect[2]]);
  const { ctx: wideCtx, page: wide } = await openApp(browser, server.base);
  await settled(wide);
  const whole = await widths(wide);
  await wideCtx.close();
  const context = await browser.newContext({ viewport: { width: 320, height: 640 } });
  const { ctx, page, errors } = await openApp(browser, server.base, { context });
  await settled(page);
  const narrow = await widths(page);
  assert.deepEqual(narrow.map(([n]) => n), ['Patient', 'Batch', 'Model card', 'Reporting', 'Operations', 'Validate'], 'every tab, named in full');
  for (const [i, [name, w]] of narrow.entries()) assert.ok(Math.abs(w - whole[i][1]) < 1, `${name}: ${w} px wide at 320 px, ${whole[i][1]} px at 1280 px`);
  // The last tab, opened by the keyboard, scrolls into view whole.
  await openView(page, 'Validate');
  await page.waitForTimeout(300);
  const v = (await page.evaluate(() => window.localdx.a11yTree().nodes)).find((n) => n.role === 'tab' && n.name === 'Validate');
  // Left of the bar's scrolling arrows: two buttons (font size - 2 wide each, the font size being
  // the tab's height less its 2 x 5 px padding) at the right end of the bar (the window's 8 px in).
  const arrows = 2 * (v.rect[3] - 10 - 2) + 1;
  assert.ok(v.rect[0] >= 0 && v.rect[0] + v.rect[2] <= 320 - 8 - arrows + 0.5, `Validate is in view, left of the arrows (${v.rect})`);
  assert.ok((await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)), 'no horizontal scrolling');
  await page.screenshot({ path: path.join(env.shots, 'a11y-tabs-320px.png') });
  assert.deepEqual(errors, []);
  await ctx.close();
});

//-----------------------------------------------------------------------------
// [SECTION] The keyboard alone
//-----------------------------------------------------------------------------
test('keyboard only: from page load, with Tab, Shift+Tab, arrows, Enter: skip link, model, every field, Predict, the result and its explanation, Batch and Validate with their file choosers, and back', async () => {
  const { ctx, page, errors } = await openApp(browser, server.base);
  await settled(page);
  const focused = () => page.evaluate(() => {
    const a = document.activeElement;
    return a ? (a.getAttribute('aria-label') || a.textContent || a.tagName) : null;
  });
  const role = () => page.evaluate(() => document.activeElement?.getAttribute('role') || document.activeElement?.tagName.toLowerCase());
  const selectedTab = () => page.evaluate(() => document.querySelector('#a11y [role=tab][aria-selected=true]')?.getAttribute('aria-label'));
  const path_ = [];
  const key = async (k) => { await page.keyboard.press(k); await page.waitForTimeout(60); path_.push(await focused()); return path_.at(-1); };
  assert.equal(await key('Tab'), 'Skip to the result', 'the first Tab reaches the skip link');
  // The model, chosen with the arrows on its picker: the next model, then back to this one.
  assert.equal(await key('Tab'), 'Model', 'then the model picker');
  await key('ArrowDown');
  await page.waitForFunction(() => window.localdx.model() !== null && window.localdx.model().name !== 'pima-diabetes', null, { timeout: 30000 });
  const other = (await page.evaluate(() => window.localdx.model().name));
  assert.equal(await focused(), 'Model', 'the focus stays on the picker while the model changes');
  await key('ArrowUp');
  await page.waitForFunction(() => window.localdx.model()?.name === 'pima-diabetes' && document.querySelector('#a11y input[aria-label^="Number of pregnancies"]') !== null, null, { timeout: 30000 });
  await settled(page);
  assert.notEqual(other, 'pima-diabetes');
  assert.equal(await focused(), 'Model');
  const schema = await page.evaluate(() => window.localdx.model().schema);
  const values = ['6', '148', '72', '35', '', '33.6', '0.627', '50'];
  let f = 0;
  for (let i = 0; i < 40 && f < schema.fields.length; i++) {
    const now = await key('Tab');
    if (now && now.startsWith(schema.fields[f].label) && !now.endsWith(' unit')) {
      if (values[f]) await page.keyboard.type(values[f]);
      f++;
    }
  }
  assert.equal(f, schema.fields.length, `Tab reached every field: ${JSON.stringify(path_)}`);
  // The visual order: the tabs after the model picker, the fields after them, each unit picker
  // right after its field.
  const at = (name) => path_.findIndex((p) => p === name);
  assert.ok(at('Model') > 0 && at('Patient') > at('Model') && at('Patient') < at('Number of pregnancies'), JSON.stringify(path_));
  assert.equal(at('Plasma glucose, 2 h after 75 g oral glucose unit'), at('Plasma glucose, 2 h after 75 g oral glucose (mg/dL)') + 1);
  assert.ok(await page.evaluate(() => !document.getElementById('a11y-ring').hidden), 'the focus ring shows');
  assert.equal(await key('Tab'), 'Predict', 'the last field, then Predict');
  await key('Enter');
  await waitResult(page);
  assert.deepEqual(await page.evaluate(() => window.localdx.formRecord()),
    { pregnant: '6', glucose: '148', pressure: '72', triceps: '35', mass: '33.6', pedigree: '0.627', age: '50' });
  // Back up to the skip link (Shift+Tab through every stop), Enter: the focus is on the result.
  for (let i = 0; i < 40 && path_.at(-1) !== 'Skip to the result'; i++) await key('Shift+Tab');
  assert.equal(path_.at(-1), 'Skip to the result', `Shift+Tab goes back to the skip link: ${JSON.stringify(path_)}`);
  await key('Enter');
  await page.waitForTimeout(100);
  assert.match(await page.evaluate(() => document.activeElement.textContent), /probability of Diabetes/, 'the skip link reaches the result');
  // The result and its explanation, read from Chromium's tree.
  const nodes = await axNodes(page);
  assert.ok(nodes.some((n) => n.role?.value === 'heading' && n.name?.value === 'Result'));
  const explain = axTables(nodes).find((t) => t.name === 'What moved this result');
  assert.deepEqual(explain?.headers, ['Value', 'Effect', 'Contribution']);
  assert.ok(explain.rows.some((r) => /^Plasma glucose.* = 148 mg\/dL$/.test(r[0])), JSON.stringify(explain.rows));
  await page.screenshot({ path: path.join(env.shots, 'a11y-keyboard.png') });
  // The views: Shift+Tab back to the tabs (one Tab stop, the open one); the arrows open the next
  // view with the focus on its tab; Tab reaches its button, Enter opens the file chooser.
  for (let i = 0; i < 40 && (await role()) !== 'tab'; i++) await key('Shift+Tab');
  assert.equal(path_.at(-1), 'Patient', 'Shift+Tab reaches the open tab');
  const tabs = await page.evaluate(() => [...document.querySelectorAll('#a11y [role=tab]')].map((t) => t.getAttribute('aria-label')));
  assert.equal(await key('ArrowRight'), 'Batch', 'the right arrow moves the focus to the next tab');
  await page.waitForFunction(() => document.querySelector('#a11y [role=tab][aria-selected=true]')?.getAttribute('aria-label') === 'Batch');
  await page.waitForTimeout(150);
  assert.equal(await key('Tab'), 'Open patients (CSV or FHIR JSON)…');
  const chooser = async () => {
    // (Playwright intercepts file choosers once its listener is set up: given a moment first.)
    const chosen = page.waitForEvent('filechooser', { timeout: 8000 });
    await page.waitForTimeout(300);
    await key('Enter');
    assert.ok(await chosen, 'Enter on the button opens the file chooser');
  };
  await chooser();
  assert.equal(await key('Shift+Tab'), 'Batch');
  for (let i = tabs.indexOf('Batch') + 1; i <= tabs.indexOf('Validate'); i++) {
    assert.equal(await key('ArrowRight'), tabs[i], 'each right arrow, the next tab');
    await page.waitForFunction((n) => document.querySelector('#a11y [role=tab][aria-selected=true]')?.getAttribute('aria-label') === n, tabs[i]);
  }
  await page.waitForTimeout(150);
  for (let i = 0; i < 4 && !/^Open labelled file/.test(path_.at(-1)); i++) await key('Tab');
  assert.match(path_.at(-1), /^Open labelled file/, JSON.stringify(path_.slice(-6)));
  await chooser();
  for (let i = 0; i < 6 && (await role()) !== 'tab'; i++) await key('Shift+Tab');
  assert.equal(path_.at(-1), 'Validate');
  assert.equal(await key('ArrowLeft'), tabs[tabs.indexOf('Validate') - 1], 'the left arrow, the previous tab');
  assert.equal(await key('Home'), 'Patient', 'Home, the first tab');
  await page.waitForFunction(() => document.querySelector('#a11y [role=tab][aria-selected=true]')?.getAttribute('aria-label') === 'Patient');
  assert.equal(await selectedTab(), 'Patient');
  assert.equal(await key('ArrowLeft'), tabs.at(-1), 'the left arrow on the first tab wraps to the last');
  assert.equal(await key('End'), tabs.at(-1));
  assert.equal(await key('ArrowRight'), 'Patient', 'and the right arrow on the last wraps to the first');
  await page.waitForFunction(() => document.querySelector('#a11y [role=tab][aria-selected=true]')?.getAttribute('aria-label') === 'Patient');
  assert.equal((await page.evaluate(() => window.localdx.formRecord())).glucose, '148', 'the form is as it was left');
  assert.deepEqual(errors, []);
  await ctx.close();
});

//-----------------------------------------------------------------------------
// [SECTION] Small things
//-----------------------------------------------------------------------------
test('a button that goes away when pressed ("Yes, it is: show the result") leaves the focus on the next control, not on the page', async () => {
  const { ctx, page, errors } = await openApp(browser, server.base, { model: 'opacity-demo' });
  const testDir = path.join(env.demo, 'train', 'opacity-demo', 'test');
  const files = ['synthetic-001.png', 'synthetic-003.png'].map((name) => ({ name, bytes: readFileSync(path.join(testDir, name)).toString('base64') }));
  await page.evaluate((f) => window.localdx.scoreImages(f), files);
  await page.waitForFunction(() => window.localdx.viewState().imaging.images.length === 2, null, { timeout: 30000 });
  await page.evaluate(() => window.localdx.selectImage(0));
  const yes = page.getByRole('button', { name: 'Yes, it is: show the result' });
  await yes.waitFor();
  await yes.focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#a11y [role=img]') !== null);
  await page.waitForTimeout(200);
  const now = await page.evaluate(() => ({ inLayer: document.activeElement?.closest('#a11y') !== null, name: document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.tagName }));
  assert.ok(now.inLayer, `the focus stays in the page's controls: ${JSON.stringify(now)}`);
  await page.keyboard.press('Tab');
  assert.ok(await page.evaluate(() => document.activeElement?.closest('#a11y') !== null), 'and Tab goes on among them');
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('a field\'s help opens by keyboard, by a tap and by a finger held as on a phone (not only on hover), and is read by the screen reader', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, hasTouch: true, isMobile: true });
  const { ctx, page, errors } = await openApp(browser, server.base, { context });
  await settled(page);
  // Keyboard: Tab from the field reaches its help; Enter opens it, and its words are in the tree.
  const help = page.getByRole('button', { name: /^Help: Plasma glucose/ });
  await help.focus();
  assert.equal(await help.getAttribute('aria-expanded'), 'false');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#a11y [aria-label^="Help: Plasma glucose"]')?.getAttribute('aria-expanded') === 'true', null, { timeout: 5000 });
  const words = (await axTree(page)).filter((x) => x.name.includes('Possible range:')).map((x) => x.name);
  assert.ok(words.some((w) => w.includes('mg/dL')), `the help's words are read: ${JSON.stringify(words)}`);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#a11y [aria-label^="Help: Plasma glucose"]')?.getAttribute('aria-expanded') === 'false', null, { timeout: 5000 });
  // A tap on another field's "(?)": its help opens (a phone has no hover).
  const bmi = page.getByRole('button', { name: /^Help: Body mass index/ });
  const b = await bmi.boundingBox();
  await page.touchscreen.tap(b.x + b.width / 2, b.y + b.height / 2);
  await page.waitForFunction(() => document.querySelector('#a11y [aria-label^="Help: Body mass index"]')?.getAttribute('aria-expanded') === 'true', null, { timeout: 15000 });
  await page.screenshot({ path: path.join(env.shots, 'a11y-help-phone.png') });
  // A finger held as on a phone (120 ms) while the app draws frames (here: the Patient tab chosen
  // again, a message from the page), on one "(?)" and then on another, opens each in turn and closes
  // the other. Before the page kept touch events from GLFW, every such tap at a new place was lost:
  // GLFW pressed the mouse where the last tap was, and held it over the tap's own press.
  const cdp = await page.context().newCDPSession(page);
  const expanded = () => page.evaluate(() => [...document.querySelectorAll('#a11y [aria-expanded=true]')].map((e) => e.getAttribute('aria-label').split(':')[1].split(',')[0].trim()));
  for (const [label, name] of [['Plasma glucose', /^Help: Plasma glucose/], ['Body mass index', /^Help: Body mass index/], ['Plasma glucose', /^Help: Plasma glucose/]]) {
    const box = await page.getByRole('button', { name }).boundingBox();  // where it is now: an open help moves the fields below it
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x: box.x + box.width / 2, y: box.y + box.height / 2 }] });
    const framesBefore = await page.evaluate(() => window.localdx.framesDrawn());
    for (let i = 0; i < 4; i++) {
      await page.evaluate(() => window.localdx.selectTab(0));
      await page.waitForTimeout(30);
    }
    const framesHeld = (await page.evaluate(() => window.localdx.framesDrawn())) - framesBefore;
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    assert.ok(framesHeld > 0, 'the app drew frames while the finger was down');
    await page.waitForFunction((l) => document.querySelector(`#a11y [aria-label^="Help: ${l}"]`)?.getAttribute('aria-expanded') === 'true', label, { timeout: 15000 })
      .catch(() => {});
    assert.deepEqual(await expanded(), [label], `a held tap on the help of ${label} opens it, and only it`);
  }
  await cdp.detach();
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('at 200% zoom Ctrl+Enter brings the result into view; "Copy result" of an out-of-date result says so first', async () => {
  const context = await browser.newContext({ viewport: { width: 640, height: 400 }, deviceScaleFactor: 2 });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.base });
  const { ctx, page, errors } = await openApp(browser, server.base, { context });
  await settled(page);
  await field(page, 'Plasma glucose').fill('148');
  await field(page, 'Body mass index').fill('33.6');
  await field(page, 'Age').fill('50');
  await field(page, 'Age').press('Control+Enter');
  await waitResult(page);
  await page.waitForTimeout(300);
  const heading = (await page.evaluate(() => window.localdx.a11yTree().nodes)).find((x) => x.role === 'heading' && x.name === 'Result');
  assert.ok(heading && heading.clip[3] > 0 && heading.rect[1] >= 0 && heading.rect[1] + heading.rect[3] <= 400, `the result is in view (${heading && heading.rect} / ${heading && heading.clip})`);
  // Copy of a current result: no warning. Then an edit makes it out of date, and the copy says so.
  await page.getByRole('button', { name: 'Copy result' }).press('Enter');
  await page.waitForTimeout(200);
  assert.match(await page.evaluate(() => navigator.clipboard.readText()), /^LocalDx — /);
  await field(page, 'Age').fill('51');
  await page.waitForFunction(() => window.localdx.viewState().result === 'stale');
  await page.getByRole('button', { name: 'Copy result' }).press('Enter');
  await page.waitForTimeout(200);
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.match(copied, /^OUT OF DATE: the form's values changed after this result/);
  assert.match(copied, /Age 50 years/, 'the values it was computed from, not the form\'s');
  assert.deepEqual(errors, []);
  await ctx.close();
});

//-----------------------------------------------------------------------------
// [SECTION] Every view of every demo model
//-----------------------------------------------------------------------------
// Chromium's tree with its structure: each node's parent, for tables (table > row > cell).
async function axNodes(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Accessibility.enable');
  const { nodes } = await cdp.send('Accessibility.getFullAXTree');
  await cdp.detach();
  return nodes;
}
// Each table as a screen reader walks it: its name, its column headers, its rows of cells.
function axTables(nodes) {
  const byId = new Map(nodes.map((n) => [n.nodeId, n]));
  const kids = (n) => (n.childIds || []).map((id) => byId.get(id)).filter(Boolean);
  const under = (n, roles) => {
    const out = [];
    const walk = (x) => { for (const c of kids(x)) { if (roles.includes(c.role?.value)) out.push(c); else walk(c); } };
    walk(n);
    return out;
  };
  const text = (n) => n.name?.value ?? '';
  return nodes.filter((n) => n.role?.value === 'table' && !n.ignored).map((t) => {
    const rows = under(t, ['row']);
    return {
      name: text(t),
      headers: rows.flatMap((r) => under(r, ['columnheader']).map(text)),
      rows: rows.map((r) => under(r, ['cell']).map(text)).filter((c) => c.length > 0),
    };
  });
}
// What a person reviewed of a view (tests/e2e/golden/views/): every control (role, name, value,
// state), every table (name, column headers, rows shown) and every image (its text alternative),
// in reading order. Figures that come from training (probabilities, AUCs) are masked as #.
const mask = (t) => t.replace(/-?\d+\.\d+%?/g, '#');
function inReadingOrder(nodes) {
  const byId = new Map(nodes.map((n) => [n.nodeId, n]));
  const out = [];
  const walk = (n) => { out.push(n); for (const id of n.childIds || []) if (byId.has(id)) walk(byId.get(id)); };
  for (const n of nodes) if (!n.parentId || !byId.has(n.parentId)) walk(n);
  return out;
}
function reviewed(nodes) {
  const out = [];
  const tables = new Map(axTables(nodes).map((t) => [t.name, t]));
  for (const n of inReadingOrder(nodes)) {
    if (n.ignored) continue;
    const role = n.role?.value, name = n.name?.value ?? '', value = String(n.value?.value ?? '');
    if (CONTROLS.includes(role)) {
      const o = { role, name: mask(name) };
      if (value) o.value = mask(value);
      for (const p of n.properties || []) if (['disabled', 'selected', 'expanded'].includes(p.name) && p.value.value) o[p.name] = p.value.value;
      out.push(o);
    } else if (role === 'table') {
      const t = tables.get(name);
      out.push({ role, name, headers: t.headers, rows: t.rows.length });
    } else if (role === 'image') {
      out.push({ role, name: mask(name) });
    }
  }
  return out;
}
// Nothing a person cannot act on: no control without a name, no internal name (a field's column
// name where it has a label), no Dear ImGui id.
function checkNames(what, view, schema) {
  const internal = new Set((schema?.fields || []).filter((f) => f.name !== f.label).map((f) => f.name));
  for (const n of view) {
    if (!CONTROLS.includes(n.role)) continue;
    assert.ok(n.name.trim() !== '', `${what}: a ${n.role} without a name`);
    assert.ok(!internal.has(n.name) && !n.name.includes('##'), `${what}: ${n.role} "${n.name}" is an internal name`);
  }
}
async function waitFor(page, fn, arg) {
  await page.waitForFunction(fn, arg, { timeout: 30000 });
  await page.waitForTimeout(200);
}

test('every view of every demo model: the tree a screen reader gets is the one reviewed (golden); tables are tables; plots have words and data; axe-core finds no WCAG 2.1 A/AA violation wide, narrow and at 200% zoom', async () => {
  for (const model of DEMO_MODELS) {
    // (axe is injected into a context that bypasses the app's CSP.)
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
    const { ctx, page, errors } = await openApp(browser, server.base, { model, context });
    await waitFor(page, () => document.querySelectorAll('#a11y [role=tab]').length > 0);
    const schema = await page.evaluate(() => window.localdx.model().schema);
    // Each view: its tree against the reviewed one, then axe-core wide, narrow and at 200% zoom.
    const look = async (view) => {
      await waitFor(page, () => document.querySelectorAll('#a11y [role=tab]').length > 0);
      // (After a change of size Chromium's tree is a moment behind the page.)
      let nodes = await axNodes(page);
      for (let i = 0; i < 20 && !nodes.some((n) => n.role?.value === 'tab' && !n.ignored); i++) {
        await page.waitForTimeout(250);
        nodes = await axNodes(page);
      }
      const r = reviewed(nodes);
      checkNames(`${model} ${view}`, r, schema);
      checkGolden(`views/${model}-${view}.json`, r);
      await axeLayouts(page, `axe: ${model} ${view}`);
      return nodes;
    };
    if (model === 'opacity-demo') {
      // The Image view, an image opened and confirmed: its results as a table, the image with its words.
      const testDir = path.join(env.demo, 'train', 'opacity-demo', 'test');
      const files = ['synthetic-001.png', 'synthetic-003.png'].map((name) => ({ name, bytes: readFileSync(path.join(testDir, name)).toString('base64') }));
      await page.evaluate((f) => window.localdx.scoreImages(f), files);
      await waitFor(page, () => window.localdx.viewState().imaging.images.length === 2);
      await page.evaluate(() => { window.localdx.confirmImage(1); window.localdx.selectImage(0); window.localdx.confirmImage(0); });
      await waitFor(page, () => document.querySelector('#a11y [role=img]') !== null);
      const nodes = await look('image');
      const images = axTables(nodes).find((t) => t.name === 'Images');
      assert.deepEqual(images?.headers, ['Image', 'File', 'Result'], 'the image results are a table with its headers');
      assert.equal(images.rows.length, 2);
      assert.equal(images.rows[0][1], 'synthetic-001.png', 'the file cell holds its button');
      for (const r of images.rows) assert.match(r[2], /\(\d+\.\d%\)/, `the result cell: ${r}`);
      // The heat map in figures: a data table a screen reader opens, one row per row of cells.
      await page.getByRole('button', { name: 'Data table for the heat map' }).focus();
      await page.keyboard.press('Enter');
      await waitFor(page, () => [...document.querySelectorAll('#a11y [role=caption]')].some((c) => c.textContent === 'Heat map, by cell'));
      const heat = axTables(await axNodes(page)).find((t) => t.name === 'Heat map, by cell');
      assert.equal(heat.headers.length, 29);
      assert.ok(heat.rows.length >= 5 && heat.rows.every((r) => r.length === 29 && r.slice(1).every((v) => /^[01]\.\d\d$/.test(v))), JSON.stringify(heat.rows[0]));
      await page.keyboard.press('Enter');  // closed again
      for (const view of ['Model card', 'Reporting']) {
        await openView(page, view);
        await look(view.toLowerCase().replace(' ', '-'));
      }
      assert.deepEqual(errors, []);
      await ctx.close();
      continue;
    }
    const data = { 'pima-diabetes': 'pima-diabetes', 'pbc-stage': 'pbc-stage', wdbc: 'wdbc', 'wdbc-mlp': 'wdbc', 'diabetes-progression': 'diabetes-progression' }[model];
    const text = readFileSync(path.join(env.data, `${data}.csv`), 'utf8');
    const patient = csvRecords(text, [schema.outputs.column])[3];
    await look('patient');
    await page.evaluate((r) => window.localdx.fillAndPredict(r), patient);
    await waitResult(page);
    const after = await look('patient-result');
    // The explanation: a table with its headers, each row a value, its effect and its contribution.
    const explain = axTables(after).find((t) => t.name === 'What moved this result');
    assert.deepEqual(explain?.headers, ['Value', 'Effect', 'Contribution'], `${model}: the explanation is a table`);
    assert.ok(explain.rows.length >= 3 && explain.rows.every((r) => r.length === 3 && / = /.test(r[0])), `${model}: ${JSON.stringify(explain.rows)}`);
    // Batch: 40 patients scored; the table's rows are rows of cells under the columns' headers.
    const batch = text.trim().split(/\r?\n/).slice(0, 41).join('\n') + '\n';
    await openView(page, 'Batch');
    await page.evaluate((t) => window.localdx.scoreFile('patients.csv', t), batch);
    await waitFor(page, () => ([...document.querySelectorAll('#a11y [role=caption]')].find((c) => c.textContent === 'Scored patients')?.parentElement.querySelectorAll('[role=row]').length ?? 0) > 3);
    const b = axTables(await look('batch')).find((t) => t.name === 'Scored patients');
    assert.deepEqual(b.headers.slice(0, 3), ['Row', 'Predicted', 'Warnings']);
    assert.ok(b.rows.length >= 3 && b.rows.every((r) => r.length === b.headers.length), `${model}: batch rows ${JSON.stringify(b.rows.slice(0, 2))}`);
    assert.match(b.rows[0][0], /^Row 1/, 'the first cell holds the row\'s button');
    // All 40 rows are counted, drawn or not: the header row is row 1 of 41, the data rows 2 on; a
    // table's name is its caption alone (said once).
    const counted = await page.evaluate(() => {
      const t = [...document.querySelectorAll('#a11y [role=caption]')].find((c) => c.textContent === 'Scored patients').parentElement;
      return {
        rowcount: t.getAttribute('aria-rowcount'),
        rows: [...t.querySelectorAll('[role=row]')].map((r) => r.getAttribute('aria-rowindex')),
        named: [...document.querySelectorAll('#a11y [role=table]')].map((x) =>
          `${x.hasAttribute('aria-label')} ${document.getElementById(x.getAttribute('aria-labelledby'))?.parentElement === x}`),
      };
    });
    assert.equal(counted.rowcount, '41', `${model}: the batch table counts all its rows`);
    assert.deepEqual(counted.rows.slice(0, 3), ['1', '2', '3'], `${model}: the header row is row 1, the first patient row 2`);
    assert.deepEqual(counted.rows.map(Number), counted.rows.map((_, i) => i + 1), `${model}: the rows in view, in order`);
    assert.ok(counted.named.every((x) => x === 'false true'), `${model}: each table named by its caption only: ${counted.named}`);
    // Validate, after opening a labelled file: the figures as a table, each plot an image whose
    // words give its key figures, and a data table a screen reader can open.
    const rep = await page.evaluate((t) => window.localdx.validateFile('site-labelled.csv', t), text.trim().split(/\r?\n/).slice(0, 201).join('\n') + '\n');
    await openView(page, 'Validate');
    if (!rep.ok) {  // a model that runs in ONNX Runtime only says why it cannot be checked here
      assert.match(rep.problems[0].message, /cannot be checked on a file here/);
      await look('validate');
      for (const view of ['Model card', 'Reporting']) {
        await openView(page, view);
        await look(view.toLowerCase().replace(' ', '-'));
      }
      assert.deepEqual(errors, []);
      await ctx.close();
      continue;
    }    await waitFor(page, () => [...document.querySelectorAll('#a11y [role=caption]')].some((c) => c.textContent === 'Figures'));
    const v = await look('validate');
    const figures = axTables(v).find((t) => t.name === 'Figures');
    assert.deepEqual(figures.headers, ['Figure', 'Value', '95% CI']);
    const alts = v.filter((n) => n.role?.value === 'image').map((n) => n.name?.value);
    if (schema.outputs.kind === 'regression') {
      assert.ok(alts.some((a) => /^Calibration plot .*slope \d\.\d\d \(95% CI /.test(a)), `${model}: ${alts}`);
    } else {
      assert.ok(alts.some((a) => /^ROC curve \(this file\), .*AUC \d\.\d\d \(95% CI \d\.\d\d–\d\.\d\d\)/.test(a)), `${model}: ${alts}`);
      assert.ok(alts.some((a) => /^Calibration plot \(this file\): (slope \d|observed against predicted)/.test(a)), `${model}: ${alts}`);
    }
    if (schema.outputs.kind === 'binary') assert.ok(alts.some((a) => /^Decision curve on this file: at the chosen threshold, \d+\.\d%, net benefit /.test(a)), `${model}: ${alts}`);
    if (model === 'pima-diabetes') {
      // The ROC curve's data, opened by the keyboard.
      const open = page.getByRole('button', { name: 'Data table for the ROC curve' });
      await open.focus();
      await page.keyboard.press('Enter');
      await waitFor(page, () => [...document.querySelectorAll('#a11y [role=caption]')].some((c) => c.textContent === 'Data table for the ROC curve'));
      const roc = axTables(await axNodes(page)).find((t) => t.name === 'Data table for the ROC curve');
      assert.deepEqual(roc.headers, ['Series', 'false positive rate', 'true positive rate (sensitivity)']);
      assert.ok(roc.rows.length >= 5 && roc.rows.every((r) => r.length === 3 && r[0] === 'Diabetes'), JSON.stringify(roc.rows.slice(0, 3)));
      assert.deepEqual(roc.rows[0].slice(1), ['0', '0'], 'the curve starts at (0, 0)');
      assert.equal(await open.getAttribute('aria-expanded'), 'true');
    }
    for (const view of ['Model card', 'Reporting']) {
      await openView(page, view);
      await look(view.toLowerCase().replace(' ', '-'));
    }
    assert.deepEqual(errors, []);
    await ctx.close();
  }
});

//-----------------------------------------------------------------------------
// [SECTION] Every view at 320 CSS px and at 200% zoom
//-----------------------------------------------------------------------------
// Screenshots for docs/screenshots/a11y/ (copied from test-work/screenshots/a11y-views after a
// person looked at them), and what can be checked without eyes: no horizontal scrolling, and no
// control, tab or heading of the view sticking out of the page or cut at its sides.
test('every view at 320 CSS px and at 200% zoom: screenshots, nothing scrolls sideways and no control is cut', async () => {
  const dir = path.join(env.shots, 'a11y-views');
  mkdirSync(dir, { recursive: true });
  const text = readFileSync(path.join(env.data, 'pima-diabetes.csv'), 'utf8');
  const lines = text.trim().split(/\r?\n/);
  const testDir = path.join(env.demo, 'train', 'opacity-demo', 'test');
  const images = ['synthetic-001.png', 'synthetic-003.png'].map((name) => ({ name, bytes: readFileSync(path.join(testDir, name)).toString('base64') }));
  for (const [size, viewport, dpr] of [['320px', { width: 320, height: 640 }, 1], ['zoom200', { width: 640, height: 400 }, 2]]) {
    const check = async (page, what) => {
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), `${what} ${size}: no horizontal scrolling`);
      const all = (await page.evaluate(() => window.localdx.a11yTree().nodes));
      const byId = new Map(all.map((n) => [n.id, n]));
      const nodes = all
        .filter((n) => ['button', 'textbox', 'combobox', 'checkbox', 'slider', 'heading'].includes(n.role) || (n.role === 'tab' && (n.state & 2)))
        .filter((n) => n.clip[2] > 0 && n.clip[3] > 0);  // the tab bar scrolls: the open tab is whole, others may be scrolled away
      for (const n of nodes) {
        if (byId.get(n.parent)?.role === 'cell') {
          // A batch or image row's button spans its table, which scrolls sideways within itself
          // where its columns need more than the page: what shows of it is inside the page.
          assert.ok(n.clip[0] >= -0.5 && n.clip[0] + n.clip[2] <= viewport.width + 0.5, `${what} ${size}: ${n.role} "${n.name}" shows outside the page (${n.clip})`);
          continue;
        }
        assert.ok(n.rect[0] >= -0.5 && n.rect[0] + n.rect[2] <= viewport.width + 0.5, `${what} ${size}: ${n.role} "${n.name}" sticks out of the page (${n.rect})`);
        if (n.role !== 'tab') assert.ok(Math.abs(n.clip[0] - n.rect[0]) < 1 && Math.abs(n.clip[2] - n.rect[2]) < 1, `${what} ${size}: ${n.role} "${n.name}" is cut at its side (${n.rect} / ${n.clip})`);
      }
      await page.screenshot({ path: path.join(dir, `${what}-${size}.png`) });
    };
    {
      const context = await browser.newContext({ viewport, deviceScaleFactor: dpr });
      const { ctx, page, errors } = await openApp(browser, server.base, { context });
      await settled(page);
      await page.evaluate(() => window.localdx.fillAndPredict({ pregnant: '6', glucose: '148', pressure: '72', skin: '35', mass: '33.6', pedigree: '0.627', age: '50' }));
      await waitResult(page);
      await check(page, 'patient');
      await openView(page, 'Batch');
      await page.evaluate((t) => window.localdx.scoreFile('patients.csv', t), lines.slice(0, 41).join('\n') + '\n');
      await page.waitForFunction(() => ([...document.querySelectorAll('#a11y [role=caption]')].find((c) => c.textContent === 'Scored patients')?.parentElement.querySelectorAll('[role=row]').length ?? 0) > 1, null, { timeout: 30000 });
      await page.waitForTimeout(200);
      await check(page, 'batch');
      for (const view of ['Model card', 'Reporting']) {
        await openView(page, view);
        await check(page, view.toLowerCase().replace(' ', '-'));
      }
      await page.evaluate((t) => window.localdx.validateFile('site-labelled.csv', t), lines.slice(0, 201).join('\n') + '\n');
      await openView(page, 'Validate');
      await page.waitForFunction(() => [...document.querySelectorAll('#a11y [role=caption]')].some((c) => c.textContent === 'Figures'));
      await page.waitForTimeout(200);
      await check(page, 'validate');
      assert.deepEqual(errors, []);
      await ctx.close();
    }
    {
      const context = await browser.newContext({ viewport, deviceScaleFactor: dpr });
      const { ctx, page, errors } = await openApp(browser, server.base, { model: 'opacity-demo', context });
      await page.evaluate((f) => window.localdx.scoreImages(f), images);
      await page.waitForFunction(() => window.localdx.viewState().imaging.images.length === 2, null, { timeout: 30000 });
      await page.evaluate(() => { window.localdx.confirmImage(1); window.localdx.selectImage(0); window.localdx.confirmImage(0); });
      await page.waitForFunction(() => document.querySelector('#a11y [role=img]') !== null);
      await page.waitForTimeout(200);
      await check(page, 'image');
      assert.deepEqual(errors, []);
      await ctx.close();
    }
  }
});
