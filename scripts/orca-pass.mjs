// scripts/orca-pass.mjs — the keyboard half of scripts/orca-pass: drives Chromium with real X key
// events (xdotool) while Orca listens, and writes what Orca said at each step.
//
// Index of this file
//   [SECTION] Set-up: arguments, the files a person opens, Chromium on the X display
//   [SECTION] Orca's speech: the "SPEECH OUTPUT" lines of its debug log since a step began
//   [SECTION] Steps: keys in, focus and speech out
//   [SECTION] The pass: address, skip link, model, every field, an invalid value, Predict,
//             the result in browse mode, back round to the skip link; Batch and Validate with
//             their file choosers; Model card and Reporting; the Image view (opacity-demo);
//             the form and the result at 200% zoom
//   [SECTION] The transcript
//
//   node scripts/orca-pass.mjs BASE_URL ORCA_DEBUG_LOG OUT_DIR PIMA_CSV
//   (ORCA_PASS_ONLY=views,card,image,zoom: only those parts; form is the first part; skip: only
//   the way back into the page from the toolbar; table: only a table read in browse mode)
//
// Playwright (playwright-core, as the e2e tests) only starts Chromium and reads which element has
// the focus, to say where each step landed; every key is a real X event from xdotool, so it goes
// through Chromium, the AT-SPI bus and Orca exactly as a person's keys do.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, openSync, readSync, fstatSync, closeSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const here = path.dirname(new URL(import.meta.url).pathname);
const require = createRequire(path.join(here, '..', 'web/'));
const { chromium } = require('playwright-core');

//-----------------------------------------------------------------------------
// [SECTION] Set-up
//-----------------------------------------------------------------------------
const [base, orcaLog, out, pimaCsv] = process.argv.slice(2);
if (!base || !orcaLog || !out || !pimaCsv) {
  console.error('usage: node scripts/orca-pass.mjs BASE_URL ORCA_DEBUG_LOG OUT_DIR PIMA_CSV');
  process.exit(2);
}
mkdirSync(out, { recursive: true });
// The files a clinician would open: 40 patients to score, 200 labelled patients to validate on.
const lines = readFileSync(pimaCsv, 'utf8').trim().split(/\r?\n/);
const patientsFile = path.join(out, 'patients.csv');
const labelledFile = path.join(out, 'labelled.csv');
writeFileSync(patientsFile, lines.slice(0, 41).join('\n') + '\n');
writeFileSync(labelledFile, lines.slice(0, 201).join('\n') + '\n');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const context = await chromium.launchPersistentContext(path.join(out, 'chromium-profile'), {
  executablePath: '/usr/bin/chromium',
  headless: false,
  viewport: null,
  ignoreDefaultArgs: ['--enable-automation'],
  args: ['--no-sandbox', '--disable-gpu', '--enable-unsafe-swiftshader', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--force-renderer-accessibility', '--window-position=0,0', '--window-size=1280,900'],
});
// The page's test hooks (window.localdx's functions, web/test-hooks.js) load only when this is set
// before its scripts run: the pass reads the form and, where the file chooser cannot be driven,
// gives a file through them.
await context.addInitScript(() => { globalThis.__localdxTestHooks = true; });
const page = context.pages()[0] || await context.newPage();

//-----------------------------------------------------------------------------
// [SECTION] Orca's speech
//-----------------------------------------------------------------------------
// Orca's debug log (--debug-file) holds one "HH:MM:SS.micro - SPEECH OUTPUT: '<words>'<voice>"
// entry per utterance it sends to the synthesizer, and its key echo ("tab ", "6 ") the same way.
let logOffset = 0;
function newLog() {
  const fd = openSync(orcaLog, 'r');
  const size = fstatSync(fd).size;
  const buf = Buffer.alloc(Math.max(0, size - logOffset));
  readSync(fd, buf, 0, buf.length, logOffset);
  closeSync(fd);
  logOffset = size;
  return buf.toString('utf8');
}
function speech(text) {
  const said = [];
  for (const entry of text.split(/^(?=\d\d:\d\d:\d\d\.\d+ - )/m)) {
    const m = entry.match(/SPEECH OUTPUT: '([\s\S]*)'(?: voice=\w+)?\s*[[{]/);
    if (m) said.push(m[1].replace(/\s+/g, ' ').trim());
  }
  return said;
}

//-----------------------------------------------------------------------------
// [SECTION] Steps
//-----------------------------------------------------------------------------
const xdo = (...args) => execFileSync('xdotool', args);
const press = (...keys) => { for (const k of keys) { xdo('key', k); } };
const type = (text) => xdo('type', '--delay', '60', text);
// Orca's own commands: the Orca key (Insert, desktop layout) held with another key.
const orcaKey = (k) => xdo('keydown', 'Insert', 'key', k, 'keyup', 'Insert');

async function focused() {
  return page.evaluate(() => {
    const a = document.activeElement;
    if (!a || a === document.body) return { role: 'page', name: '' };
    const role = a.getAttribute('role') || (a.tagName === 'INPUT' ? a.type : a.tagName.toLowerCase());
    const name = a.getAttribute('aria-label') || (a.textContent || '').trim().slice(0, 100);
    return { role, name, value: 'value' in a && typeof a.value === 'string' ? a.value : undefined };
  }).catch(() => ({ role: '?', name: '(page not reachable)' }));
}

// What the page shows after a step, for the transcript: the tables in the layer and the
// status region's words (to tell "Orca said nothing" from "nothing happened").
async function shown() {
  return page.evaluate(() => ({
    tables: [...document.querySelectorAll('#a11y [role=table]')].map((t) => `${t.querySelector(':scope > [role=caption]')?.textContent} (${t.querySelectorAll('[role=row]').length} rows)`),
    live: document.getElementById('live').textContent.slice(0, 160),
    file: [...(document.getElementById('csv-file').files || [])].map((f) => f.name).join(', '),
  })).catch(() => null);
}

const steps = [];
let mode = 'browse';  // Orca's mode on the page, as it last said it ("Browse mode" / "Focus mode")
async function step(title, keys, act, wait = 1800, { show = false, shot = '' } = {}) {
  newLog();
  await act();
  await sleep(wait);
  const said = speech(newLog());
  for (const w of said) if (w === 'Browse mode' || w === 'Focus mode') mode = w === 'Browse mode' ? 'browse' : 'focus';
  const focus = await focused();
  const page_ = show ? await shown() : undefined;
  if (shot) await page.screenshot({ path: path.join(out, shot) }).catch(() => {});
  steps.push({ n: steps.length + 1, title, keys, focus, said, ...(page_ ? { shown: page_ } : {}) });
  console.log(`${steps.length}. ${title} [${keys}] -> ${focus.role} "${focus.name}"\n    ${said.join(' | ')}`);
  return focus;
}

//-----------------------------------------------------------------------------
// [SECTION] The pass
//-----------------------------------------------------------------------------
const url = `${base}/#model=pima-diabetes`;
newLog();
await step('Open the address bar, type the page\'s address, Enter', `Ctrl+L, "${url}", Enter`, async () => {
  press('ctrl+l');
  await sleep(500);
  type(url);
  press('Return');
  await page.waitForURL(url, { timeout: 30000 });
  await page.evaluate(() => window.localdx.ready);
  await page.waitForFunction(() => window.localdx.model() !== null && document.querySelectorAll('#a11y input').length > 0, null, { timeout: 60000 });
}, 5000);

const schema = await page.evaluate(() => window.localdx.model().schema);
// The first patient of the Pima file (insulin missing); Insulin first gets "12a", refused.
const values = { pregnant: '6', glucose: '148', pressure: '72', triceps: '35', insulin: '', mass: '33.6', pedigree: '0.627', age: '50' };
// ORCA_PASS_ONLY=views,card,image,zoom: only those parts (all by default).
const parts = new Set((process.env.ORCA_PASS_ONLY || 'form,views,card,image,zoom').split(','));
let focus = { role: '', name: '' };
let filled = {};

// Tab through the form, typing each field's value (the insulin field first gets "12a", refused,
// when `invalid`), until Predict has the focus.
async function fillForm({ invalid }) {
  let f = 0;
  let sawUnitList = !invalid;
  focus = await step('Tab', 'Tab', () => press('Tab'));
  for (let i = 0; i < 60; i++) {
    if (focus.role === 'button' && focus.name === 'Predict') break;
    const field = schema.fields[f];
    if (field && focus.role === 'text' && focus.name.startsWith(field.label)) {
      if (field.name === 'insulin' && invalid) {
        await step(`Type "12a" in ${field.label}`, '"12a"', () => type('12a'));
        await step('Tab (leave the field)', 'Tab', () => press('Tab'));
        await step('Shift+Tab (back to the field)', 'Shift+Tab', () => press('shift+Tab'));
        await step('Select all, Backspace (empty it again: insulin is optional)', 'Ctrl+A, BackSpace', () => press('ctrl+a', 'BackSpace'));
      } else if (values[field.name]) {
        await step(`Type "${values[field.name]}" in ${field.label}`, `"${values[field.name]}"`, () => type(values[field.name]));
      }
      f++;
    } else if (!sawUnitList && focus.role === 'select' && focus.name.endsWith(' unit')) {
      sawUnitList = true;
      await step('Alt+Down (open the unit list)', 'Alt+Down', () => press('alt+Down'));
      await step('Escape (close it unchanged)', 'Escape', () => press('Escape'));
    }
    focus = await step('Tab', 'Tab', () => press('Tab'));
  }
}
async function predictAndRead(shot) {
  filled = await page.evaluate(() => window.localdx.formRecord());
  await step('Enter on Predict', 'Enter', async () => {
    press('Return');
    await page.waitForFunction(() => document.getElementById('live').textContent.startsWith('Result:'), null, { timeout: 20000 }).catch(() => {});
  }, 6000, { show: true, shot });
  // Reading the result as Orca users do: in browse mode (Orca+A if Orca is in focus mode), by
  // heading, by line and by table.
  if (mode === 'focus') await step('Orca+A (browse mode)', 'Insert+A', () => orcaKey('a'));
  await step('H (next heading)', 'H', () => press('h'), 2500);
  for (let i = 0; i < 12; i++) await step('Down (next line)', 'Down', () => press('Down'), 1500);
  await step('T (next table)', 'T', () => press('t'), 2500);
  for (let i = 0; i < 6; i++) await step('Down (next line)', 'Down', () => press('Down'), 1500);
}
// A new page load at this address, by the address bar.
async function load(address) {
  await step('Open the address bar, type the page\'s address, Enter', `Ctrl+L, "${address}", Enter`, async () => {
    press('ctrl+l');
    await sleep(500);
    type(address);
    press('Return');
    await page.waitForURL(address, { timeout: 30000 });
    await page.evaluate(() => window.localdx.ready);
    await page.waitForFunction(() => window.localdx.model() !== null && document.querySelectorAll('#a11y [role=tab]').length > 0, null, { timeout: 60000 });
  }, 5000);
}
// Back to the tab bar (Shift+Tab), then the arrows to the tab `name`.
async function toTab(name) {
  if (focus.role !== 'tab') focus = await step('Shift+Tab', 'Shift+Tab', () => press('shift+Tab'));
  for (let i = 0; i < 16 && focus.role !== 'tab'; i++) focus = await step('Shift+Tab', 'Shift+Tab', () => press('shift+Tab'));
  const order = await page.evaluate(() => [...document.querySelectorAll('#a11y [role=tab]')].map((t) => t.getAttribute('aria-label')));
  for (let i = 0; i < 8 && focus.role === 'tab' && focus.name !== name; i++) {
    const right = order.indexOf(name) > order.indexOf(focus.name);
    focus = await step(`${right ? 'Right' : 'Left'} (the ${right ? 'next' : 'previous'} view)`, right ? 'Right' : 'Left', () => press(right ? 'Right' : 'Left'), 2500);
  }
}
// Browse mode on the page: back into the page first if Tab left it for Chromium's toolbar.
async function browse() {
  for (let i = 0; i < 8 && focus.role === 'page'; i++) focus = await step('Shift+Tab (back into the page)', 'Shift+Tab', () => press('shift+Tab'));
  if (mode === 'focus') await step('Orca+A (browse mode)', 'Insert+A', () => orcaKey('a'));
}

if (parts.has('skip')) {
  // Only the way into the page from Chromium's toolbar: the skip link, Shift+Tab out, Tab back.
  focus = await step('Tab', 'Tab', () => press('Tab'));
  for (let i = 0; i < 3; i++) focus = await step('Shift+Tab', 'Shift+Tab', () => press('shift+Tab'));
  for (let i = 0; i < 6 && focus.name !== 'Skip to the result'; i++) focus = await step('Tab', 'Tab', () => press('Tab'));
}
if (parts.has('table')) {
  // Only a table read in browse mode: a result given by the page's hook, then T, and reading into
  // the table from the line above it.
  await step('NOT A KEY: a prediction by the page\'s hook fillAndPredict', '(none)', async () => {
    await page.evaluate((v) => window.localdx.fillAndPredict(v), values);
  }, 4000);
  await browse();
  await step('T (next table)', 'T', () => press('t'), 2500);
  for (let i = 0; i < 2; i++) await step('Up (previous line)', 'Up', () => press('Up'), 1500);
  for (let i = 0; i < 3; i++) await step('Down (next line)', 'Down', () => press('Down'), 1500);
}
if (parts.has('form')) {
  await fillForm({ invalid: true });
  await predictAndRead('result.png');
  // On past the page's last control, through Chromium's toolbar, round to the skip link.
  focus = await step('Tab', 'Tab', () => press('Tab'));
  for (let i = 0; i < 16 && focus.name !== 'Skip to the result'; i++) focus = await step('Tab', 'Tab', () => press('Tab'));
}
// On to the tabs: Tab until the open tab ("Patient") has the focus.
focus = await step('Tab', 'Tab', () => press('Tab'));
for (let i = 0; i < 40 && focus.role !== 'tab'; i++) focus = await step('Tab', 'Tab', () => press('Tab'));

// A file opened as a person does: Tab to the view's button, Enter, GTK's file chooser, Ctrl+L and
// the file's path. Under Xvfb (no window manager) the chooser may not take the typed path; then
// the file is given by the page's own hook (hook: the function the e2e tests use), and the
// transcript says so.
async function openFile(file, buttonPattern, waitFor, hook) {
  focus = await step('Tab', 'Tab', () => press('Tab'));
  for (let i = 0; i < 6 && !(focus.role === 'button' && buttonPattern.test(focus.name)); i++) {
    focus = await step('Tab', 'Tab', () => press('Tab'));
  }
  await step(`Enter on "${focus.name}" (the file chooser)`, 'Enter', () => press('Return'), 4000);
  await step('Ctrl+L (the location field)', 'Ctrl+L', () => press('ctrl+l'), 2000);
  const loaded = () => page.waitForFunction(waitFor, null, { timeout: 30000 }).then(() => true, () => false);
  let ok = false;
  await step(`Type the file's path, Enter`, `"${file}", Enter`, async () => {
    xdo('type', '--delay', '0', file);
    await sleep(2000);
    press('Return');
    ok = await loaded();
  }, 6000, { show: true, shot: `${path.basename(file, '.csv')}.png` });
  if (!ok) {
    await step('Escape (if the chooser is still open)', 'Escape', () => press('Escape'), 2000);
    await step(`NOT A KEY: the file given by the page's hook ${hook}, as the chooser did not take it`, '(none)', async () => {
      await page.evaluate(([h, name, text]) => window.localdx[h](name, text), [hook, path.basename(file), readFileSync(file, 'utf8')]);
      await loaded();
    }, 6000, { show: true, shot: `${path.basename(file, '.csv')}.png` });
  }
}
const tableShown = (name, rows) => ([...document.querySelectorAll('#a11y [role=caption]')]
  .find((c) => c.textContent === name)?.parentElement.querySelectorAll('[role=row]').length ?? 0) >= rows;
if (parts.has('views') && focus.role === 'tab') {
  await step('Right (the next view)', 'Right', () => press('Right'), 2500);
  await openFile(patientsFile, /^Open patients/,
    () => ([...document.querySelectorAll('#a11y [role=caption]')].find((c) => c.textContent === 'Scored patients')?.parentElement.querySelectorAll('[role=row]').length ?? 0) > 1, 'scoreFile');
  for (let i = 0; i < 6; i++) await step('Tab', 'Tab', () => press('Tab'));
  await browse();
  await step('T (next table: the scored patients)', 'T', () => press('t'), 2500);
  for (let i = 0; i < 3; i++) await step('Down (next line)', 'Down', () => press('Down'), 1500);
  // Back to the tabs, then right until Validate.
  await toTab('Validate');
  await openFile(labelledFile, /^Open a labelled file|^Open labelled|labelled/i,
    () => [...document.querySelectorAll('#a11y [role=caption]')].some((c) => c.textContent === 'Figures'), 'validateFile');
  for (let i = 0; i < 6; i++) await step('Tab', 'Tab', () => press('Tab'));
  // The report in browse mode: from the top, the first table (its figures), then the plots.
  await browse();
  await step('Ctrl+Home (top of the page)', 'Ctrl+Home', () => press('ctrl+Home'), 2500);
  await step('T (next table)', 'T', () => press('t'), 2500);
  for (let i = 0; i < 6; i++) await step('Down (next line)', 'Down', () => press('Down'), 1500);
  for (let i = 0; i < 3; i++) await step('G (next image)', 'G', () => press('g'), 2500);
}
if (parts.has('card')) {
  // The Model card and Reporting: their controls by Tab, then their words in browse mode.
  await toTab('Model card');
  for (let i = 0; i < 4; i++) focus = await step('Tab', 'Tab', () => press('Tab'));
  await browse();
  for (let i = 0; i < 3; i++) await step('H (next heading)', 'H', () => press('h'), 2500);
  await step('T (next table)', 'T', () => press('t'), 2500);
  for (let i = 0; i < 5; i++) await step('Down (next line)', 'Down', () => press('Down'), 1500);
  await step('G (next image)', 'G', () => press('g'), 2500);
  focus = await step('Tab', 'Tab', () => press('Tab'));
  await toTab('Reporting');
  for (let i = 0; i < 5; i++) focus = await step('Tab', 'Tab', () => press('Tab'));
  await browse();
  for (let i = 0; i < 2; i++) await step('H (next heading)', 'H', () => press('h'), 2500);
  for (let i = 0; i < 4; i++) await step('Down (next line)', 'Down', () => press('Down'), 1500);
}
if (parts.has('image')) {
  // The imaging demo: a new page load with opacity-demo; two images given by the page's hook (the
  // file chooser does not take a typed path under Xvfb); then keys only.
  const imageUrl = `${base}/?orca=image#model=opacity-demo`;
  await load(imageUrl);
  focus = await step('Tab', 'Tab', () => press('Tab'));
  for (let i = 0; i < 6 && focus.role !== 'tab'; i++) focus = await step('Tab', 'Tab', () => press('Tab'));
  await step('NOT A KEY: two images given by the page\'s hook scoreImages', '(none)', async () => {
    const dir = path.join(path.dirname(pimaCsv), '..', 'test-work', 'demo', 'train', 'opacity-demo', 'test');
    const files = ['synthetic-001.png', 'synthetic-003.png'].map((name) => ({ name, bytes: readFileSync(path.join(process.env.OPACITY_TEST || dir, name)).toString('base64') }));
    await page.evaluate((f) => window.localdx.scoreImages(f), files);
    await page.waitForFunction(() => window.localdx.viewState().imaging.images.length === 2, null, { timeout: 60000 }).catch(() => {});
  }, 6000, { show: true });
  for (let i = 0; i < 10 && !/^Yes/.test(focus.name); i++) focus = await step('Tab', 'Tab', () => press('Tab'));
  if (/^Yes/.test(focus.name)) await step(`Enter on "${focus.name}"`, 'Enter', () => press('Return'), 5000, { show: true, shot: 'image.png' });
  for (let i = 0; i < 3; i++) focus = await step('Tab', 'Tab', () => press('Tab'));
  await browse();
  await step('Ctrl+Home (top of the page)', 'Ctrl+Home', () => press('ctrl+Home'), 2500);
  await step('T (next table: the images)', 'T', () => press('t'), 2500);
  for (let i = 0; i < 4; i++) await step('Down (next line)', 'Down', () => press('Down'), 1500);
  for (let i = 0; i < 2; i++) await step('G (next image)', 'G', () => press('g'), 2500);
}
if (parts.has('zoom')) {
  // 200% zoom (Ctrl+plus five times: 110, 125, 150, 175, 200%), a new page, the form and the result.
  await load(`${base}/?orca=zoom#model=pima-diabetes`);
  for (let i = 0; i < 5; i++) await step('Ctrl+plus (zoom in)', 'Ctrl+plus', () => press('ctrl+plus'), 1200);
  await step('(the zoom, as the page sees it)', '(none)', async () => {}, 500);
  steps[steps.length - 1].zoom = await page.evaluate(() => `${window.devicePixelRatio * 100}% (${window.innerWidth}x${window.innerHeight} CSS px)`);
  await fillForm({ invalid: false });
  await predictAndRead('result-zoom200.png');
  await step('Ctrl+0 (zoom back to 100%)', 'Ctrl+0', () => press('ctrl+0'), 1200);
}

//-----------------------------------------------------------------------------
// [SECTION] The transcript
//-----------------------------------------------------------------------------
const versions = {
  chromium: context.browser()?.version() ?? '',
  orca: execFileSync('orca', ['--version']).toString().trim(),
};
let md = `# Orca pass over LocalDx\n\nOrca ${versions.orca}, Chromium ${versions.chromium}, ${new Date().toISOString()}  \n` +
  `Page: ${url}  \nForm after the Tab walk: ${JSON.stringify(filled)}\n\n` +
  'Each step: the keys pressed (real X key events), where the focus was after it, and each utterance Orca ' +
  'sent to speech in the meantime, in order (its key echo too: "tab", "6", "left shift").\n\n';
for (const s of steps) {
  md += `## ${s.n}. ${s.title}\n\nKeys: ${s.keys}  \nFocus: ${s.focus.role} "${s.focus.name}"` +
    (s.focus.value !== undefined ? ` value "${s.focus.value}"` : '') +
    (s.zoom ? `  \nZoom: ${s.zoom}` : '') +
    (s.shown ? `  \nOn the page: file chosen "${s.shown.file}"; tables ${JSON.stringify(s.shown.tables)}; #live "${s.shown.live}"` : '') + '\n\n' +
    (s.said.length ? s.said.map((w) => `> ${w}`).join('\n>\n') : '(Orca said nothing)') + '\n\n';
}
writeFileSync(path.join(out, 'transcript.md'), md);
writeFileSync(path.join(out, 'transcript.json'), JSON.stringify({ versions, url, filled, steps }, null, 2) + '\n');
console.log(`transcript: ${path.join(out, 'transcript.md')}`);
await context.close();
