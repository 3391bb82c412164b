// tests/e2e/imaging.test.mjs — the imaging model end to end (node --test), against the real
// server serving the real built page and the signed demo CNN bundle, in headless Chromium.
//
// Index of this file
//   [SECTION] Set-up: server, bundles, browser, test images (PNG, JPEG, DICOM)
//   [SECTION] Opening images with the button: result, heat map, opacity, batch table, export
//   [SECTION] Scope: images the model was not made for refused, unlike ones warned; damaged, truncated and
//             huge files refused with the CLI's reason; the Image tab
//   [SECTION] Preprocessing parity: the browser's tensor and `localdx preprocess --bundle`
//   [SECTION] Validation on labelled images: the figures of `localdx evaluate --images`, the pointing game
//   [SECTION] Privacy audit and offline
//   [SECTION] WebGPU (Chromium's software adapter): chosen only when the address asks for it
//   [SECTION] The Validate view at 1280 x 800: the mouse wheel, and a site recalibration kept on the device
//   (and a multi-label model validated per finding)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync, readdirSync, copyFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { env, startServer, publish, launch, openApp, chooseFileWith, chromium, chromiumOptions, withTestHooks, keepTestHooksOffline, batchWorkerEndingAfter } from './harness.mjs';

const bundle = path.join(env.demo, 'bundles', 'opacity-demo-1.ldxb');
const trust = path.join(env.demo, 'keys', 'trust.json');
const testDir = path.join(env.demo, 'train', 'opacity-demo', 'test');
const work = path.join(env.work, 'imaging-files');
// An image's refusal as the view words it: each problem's message, in order (image_refusal).
const words = (r) => (r.problems || []).map((p) => p.message).join(' ');
const reference = JSON.parse(readFileSync(path.join(testDir, 'reference.json'), 'utf8'));
let server, browser;

// DICOM header values that must never leave the page (written into the test DICOM file).
const MARKERS = ['SYNTHETIC^MARKERPATIENT', 'MRN-7731-4419', '19230817'];
const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files';

//-----------------------------------------------------------------------------
// [SECTION] Set-up
//-----------------------------------------------------------------------------
before(async () => {
  mkdirSync(work, { recursive: true });
  mkdirSync(env.shots, { recursive: true });
  // JPEG copies of three test images (Pillow, quality 92) and a DICOM file of one (pydicom:
  // 8-bit MONOCHROME2 with a patient's name, id and birth date that must stay on the device).
  execFileSync('/usr/bin/python3', ['-c', `
import sys, numpy as np, datetime
from PIL import Image
import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid, SecondaryCaptureImageStorage
src, out = sys.argv[1], sys.argv[2]
for n in (3, 4, 7):
    Image.open(f"{src}/synthetic-{n:03d}.png").save(f"{out}/synthetic-{n:03d}.jpg", quality=92)
px = np.array(Image.open(f"{src}/synthetic-001.png"))
meta = FileMetaDataset()
meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
meta.MediaStorageSOPInstanceUID = generate_uid()
meta.TransferSyntaxUID = ExplicitVRLittleEndian
ds = FileDataset(f"{out}/synthetic-001.dcm", {}, file_meta=meta, preamble=b"\\0" * 128)
ds.SOPClassUID = SecondaryCaptureImageStorage
ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
ds.PatientName = "${MARKERS[0]}"; ds.PatientID = "${MARKERS[1]}"; ds.PatientBirthDate = "${MARKERS[2]}"
ds.Modality = "OT"; ds.BodyPartExamined = "CHEST"; ds.ViewPosition = "PA"
ds.Rows, ds.Columns = px.shape; ds.SamplesPerPixel = 1; ds.PhotometricInterpretation = "MONOCHROME2"
ds.BitsAllocated = 8; ds.BitsStored = 8; ds.HighBit = 7; ds.PixelRepresentation = 0
ds.PixelData = px.tobytes()
ds.is_little_endian = True; ds.is_implicit_VR = False
ds.save_as(f"{out}/synthetic-001.dcm", write_like_original=False)
# Three test images (PyTorch's probabilities 1.0, 0.039, 0.051) as the frames of one file, compressed as JPEG 2000 (lossless, by GDCM).
import gdcm
frames = [np.array(Image.open(f"{src}/synthetic-{n:03d}.png")) for n in (1, 4, 8)]
ds.NumberOfFrames = 3
ds.PixelData = np.stack(frames).tobytes()
ds.save_as(f"{out}/frames-raw.dcm", write_like_original=False)
r = gdcm.ImageReader(); r.SetFileName(f"{out}/frames-raw.dcm"); assert r.Read()
c = gdcm.ImageChangeTransferSyntax(); c.SetTransferSyntax(gdcm.TransferSyntax(gdcm.TransferSyntax.JPEG2000Lossless))
c.SetInput(r.GetImage()); assert c.Change()
w = gdcm.ImageWriter(); w.SetFileName(f"{out}/frames-j2k.dcm"); w.SetFile(r.GetFile()); w.SetImage(c.GetOutput()); assert w.Write()
# A held-out image with its brightness doubled (clipped at 255): unlike the training images.
a = np.asarray(Image.open(f"{src}/synthetic-002.png")).astype(int)
Image.fromarray(np.clip(2 * a, 0, 255).astype(np.uint8), "L").save(f"{out}/bright-002.png")
`, testDir, work]);
  // pydicom's CT and MR files (python3-pydicom): not what the demonstration was made for.
  for (const f of ['CT_small.dcm', 'MR_small.dcm']) copyFileSync(path.join(PYDICOM, f), path.join(work, f));
  server = await startServer('imaging');
  assert.equal((await publish(server.base, bundle)).status, 201);
  assert.equal((await publish(server.base, path.join(env.demo, 'bundles', 'pima-diabetes-1.ldxb'))).status, 201);
  browser = await launch();
});
after(async () => { await browser?.close(); server?.stop(); });

const imageFile = (name) => (existsSync(path.join(work, name)) ? path.join(work, name) : path.join(testDir, name));
const lesionsOf = (name) => JSON.parse(readFileSync(path.join(testDir, name.replace(/\.(png|jpg|dcm)$/, '.json')), 'utf8'));

//-----------------------------------------------------------------------------
// [SECTION] Opening images with the button
//-----------------------------------------------------------------------------
test('imaging: PNG, JPEG and DICOM opened with the button are scored on the device, with a heat map whose opacity the slider changes', async () => {
  const { page, errors } = await openApp(browser, server.base, { model: 'opacity-demo' });
  const files = ['synthetic-001.png', 'synthetic-003.png', 'synthetic-003.jpg', 'synthetic-001.dcm'];
  const chooser = await chooseFileWith(page, ['imaging', 'open_button']);
  await chooser.setFiles(files.map(imageFile));
  // Each image is shown with its map first, its deletion curve once its runs are made.
  await page.waitForFunction((n) => { const { images } = window.localdx.viewState().imaging; return images.length === n && images.every((r) => !r.deletion.pending); }, files.length, { timeout: 60000 });
  const view = await page.evaluate(() => window.localdx.viewState().imaging);
  const byName = Object.fromEntries(view.images.map((r) => [r.file, r]));
  for (const f of ['synthetic-001.png', 'synthetic-003.png']) {
    const r = byName[f];
    assert.equal(r.ok, true, `${f}: ${words(r)}`);
    const i = reference.names.indexOf(f.replace('.png', ''));
    // ONNX Runtime Web in the page against PyTorch on the same image.
    assert.ok(Math.abs(r.probabilities[1] - reference.probability[i]) <= 1e-5, `${f}: ${r.probabilities[1]} vs PyTorch ${reference.probability[i]}`);
    assert.equal(r.map_kind, 'cam');
    assert.deepEqual(r.map_size, [28, 28]);
    assert.ok(r.deletion.ranked_area < r.deletion.random_area || !lesionsOf(f).positive, `${f}: deletion ${JSON.stringify(r.deletion)}`);
    const meta = lesionsOf(f);
    if (meta.positive) {
      // Pointing game: the map's maximum falls inside a true lesion (its radius plus one cell).
      let best = 0;
      r.map.forEach((v, k) => { if (v > r.map[best]) best = k; });
      const y = (Math.floor(best / 28) + 0.5) * 8, x = ((best % 28) + 0.5) * 8;
      assert.ok(meta.lesions.some(([ly, lx, rad]) => (y - ly) ** 2 + (x - lx) ** 2 <= (rad + 8) ** 2), `${f}: map maximum at ${y},${x}`);
    }
  }
  // The JPEG copy: the browser's decoder, lossy: its result is close to the PNG's.
  assert.equal(byName['synthetic-003.jpg'].ok, true, words(byName['synthetic-003.jpg']));
  assert.ok(Math.abs(byName['synthetic-003.jpg'].probabilities[1] - byName['synthetic-003.png'].probabilities[1]) < 0.1);
  // The DICOM file holds the first PNG's pixels: DCMTK in the worker reads it to the same result,
  // and the view has its modality, body part and view (nothing that names the patient).
  const dicom = byName['synthetic-001.dcm'];
  assert.equal(dicom.ok, true, words(dicom));
  assert.ok(Math.abs(dicom.probabilities[1] - byName['synthetic-001.png'].probabilities[1]) <= 1e-6);
  assert.deepEqual(dicom.map, byName['synthetic-001.png'].map);
  assert.deepEqual(dicom.header, { modality: 'OT', body_part: 'CHEST', view: 'PA', frames: 1, frame: 0 });

  // A PNG or JPEG file does not say what it shows: its result is shown once the clinician confirms
  // what it is (the button, pressed with the mouse for the first image); the DICOM file says.
  for (const f of ['synthetic-001.png', 'synthetic-003.png', 'synthetic-003.jpg'])
    assert.deepEqual([byName[f].to_confirm, byName[f].confirmed], [true, false], f);
  assert.equal(dicom.to_confirm, false);
  await page.evaluate(() => window.localdx.selectImage(0));
  await page.waitForTimeout(300);
  const [cx, cy, cw, ch] = await page.evaluate(() => window.localdx.viewState().imaging.confirm_button);
  await page.mouse.click(cx + cw / 2, cy + ch / 2);
  await page.waitForFunction(() => window.localdx.viewState().imaging.images[0].confirmed, null, { timeout: 5000 });
  await page.evaluate(() => { window.localdx.confirmImage(1); window.localdx.confirmImage(2); });

  // The heat map is drawn over the image: the selected image's area has the map's warm colours,
  // and none once the opacity slider is dragged to 0.
  const warmShare = async () => {
    const rect = await page.evaluate(() => window.localdx.viewState().imaging.image_rect);
    const png = await page.screenshot({ clip: { x: rect[0], y: rect[1], width: rect[2], height: rect[3] } });
    writeFileSync(path.join(work, 'shown.png'), png);
    return Number(execFileSync('/usr/bin/python3', ['-c', `
import numpy as np, sys
from PIL import Image
a = np.asarray(Image.open(sys.argv[1]).convert("RGB")).astype(int)
print(np.mean((a[..., 0] - a[..., 2]) > 40))`, path.join(work, 'shown.png')]).toString());
  };
  await page.evaluate(() => window.localdx.selectImage(0));
  await page.waitForTimeout(300);
  const before = await warmShare();
  assert.ok(before > 0.01, `the heat map colours part of the image (${before})`);
  // The slider (x, y, width, height), dragged past its left end and then to its right end.
  const [sx, sy, sw, sh] = await page.evaluate(() => window.localdx.viewState().imaging.slider);
  await page.mouse.move(sx + sw * 0.5, sy + sh / 2);
  await page.mouse.down();
  await page.mouse.move(sx - 20, sy + sh / 2, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction(() => window.localdx.viewState().imaging.opacity === 0, null, { timeout: 5000 });
  await page.waitForTimeout(300);
  const after = await warmShare();
  assert.ok(after < before / 10, `opacity 0 leaves the image without the map (${after} vs ${before})`);
  await page.mouse.move(sx + sw * 0.1, sy + sh / 2);
  await page.mouse.down();
  await page.mouse.move(sx + sw + 20, sy + sh / 2, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction(() => window.localdx.viewState().imaging.opacity > 0.9, null, { timeout: 5000 });
  // The words the clinician reads, through the ARIA live region.
  assert.match(await page.evaluate(() => document.getElementById('live').textContent), /shows where the model looked for "Opacity", not where disease is/);
  // Export: one row per image, the DICOM's refusal reason included when it has one.
  const csv = await page.evaluate(() => window.localdx.imageResultsCsv());
  const lines = csv.trim().split('\n');
  assert.equal(lines[0], 'file,result,p_0,p_1,map,deletion_area_map,deletion_area_random,warnings,problem');
  assert.equal(lines.length, 1 + files.length);
  // The map of the other class ("Map of"): made again in the worker, in place, with its own curve.
  const other = await page.evaluate(() => window.localdx.explainImage(0, 0));
  assert.equal(other.ok, true, JSON.stringify(other.problems));
  assert.equal(other.explained_label, 'No opacity');
  await page.waitForFunction(() => window.localdx.viewState().imaging.images[0].explained === 0);
  assert.equal(await page.evaluate(() => window.localdx.viewState().imaging.images.length), files.length);
  await page.evaluate(() => window.localdx.explainImage(0, 1));
  await page.waitForFunction(() => window.localdx.viewState().imaging.images[0].explained === 1);
  await page.screenshot({ path: path.join(env.shots, 'imaging.png') });
  assert.deepEqual(errors, []);
  await page.context().close();
});

// A multi-frame JPEG 2000 file (three test images as its frames): OpenJPEG in the worker decodes
// the first frame, then the one the view's Frame choice asks for; each scores as its PNG does.
test('imaging: a multi-frame JPEG 2000 DICOM file is scored on its first frame, and on another when the view asks for it', async () => {
  const { page, errors } = await openApp(browser, server.base, { model: 'opacity-demo' });
  const name = 'frames-j2k.dcm';
  const [first] = await page.evaluate((f) => window.localdx.scoreImages([f]), { name, bytes: readFileSync(imageFile(name)).toString('base64') });
  assert.equal(first.ok, true, JSON.stringify(first.problems));
  assert.deepEqual([first.header.frames, first.header.frame], [3, 0]);
  const probabilityOf = (stem) => reference.probability[reference.names.indexOf(stem)];
  assert.ok(Math.abs(first.probabilities[1] - probabilityOf('synthetic-001')) <= 1e-5, `${first.probabilities[1]}`);
  const third = await page.evaluate(() => window.localdx.explainImage(0, 1, 2));
  assert.equal(third.ok, true, JSON.stringify(third.problems));
  assert.equal(third.header.frame, 2);
  assert.ok(Math.abs(third.probabilities[1] - probabilityOf('synthetic-008')) <= 1e-5, `${third.probabilities[1]}`);
  await page.waitForFunction(() => window.localdx.viewState().imaging.images[0].header.frame === 2);
  const shown = await page.evaluate(() => window.localdx.viewState().imaging.images[0].header);
  assert.deepEqual([shown.frames, shown.frame], [3, 2]);
  // The keyboard and a screen reader reach the frame too: the result's Frame slider is a range input
  // in the layer ("N of 3"); an arrow asks for the next or the previous frame, which is scored as
  // the slider's release is.
  await page.evaluate(() => { window.localdx.selectImage(0); window.localdx.confirmImage(0); });
  const frame = page.getByRole('slider', { name: 'Frame' });
  await frame.waitFor({ state: 'attached', timeout: 15000 });
  const frameNow = () => page.evaluate(() => window.localdx.viewState().imaging.images[0].header.frame);
  await page.waitForTimeout(1000);  // the confirmed image's result in
  const was = await frameNow();
  await page.waitForFunction((f) => document.querySelector('#a11y [aria-label="Frame"]')?.getAttribute('aria-valuetext') === `${f + 1} of 3`, was, { timeout: 15000 });
  const target = was === 0 ? 1 : was - 1;
  await frame.focus();
  await page.keyboard.press(was === 0 ? 'ArrowRight' : 'ArrowLeft');
  await page.waitForFunction((t) => window.localdx.viewState().imaging.images[0].header.frame === t, target, { timeout: 30000 });
  await page.waitForFunction((t) => document.querySelector('#a11y [aria-label="Frame"]')?.getAttribute('aria-valuetext') === `${t + 1} of 3`, target, { timeout: 15000 });
  const stem = ['synthetic-001', 'synthetic-004', 'synthetic-008'][target];  // the file's frames
  const scored = await page.evaluate(() => window.localdx.viewState().imaging.images[0]);
  assert.ok(Math.abs(scored.probabilities[1] - probabilityOf(stem)) <= 1e-5, `frame ${target + 1} scores as ${stem}.png: ${scored.probabilities[1]}`);
  const past = await page.evaluate(() => window.localdx.explainImage(0, 1, 3));
  assert.equal(past.ok, false);
  assert.match(past.problems[0].message, /it has 3 frame\(s\); frame 4 was asked for/);
  assert.deepEqual(errors, []);
  await page.context().close();
});

// The multi-label demonstration (models/multilabel-demo: three independent synthetic findings):
// the result's words list the findings above their thresholds and each finding's triage band from
// the bundle, and "Map of" draws each finding's own map (ONNX Runtime Web in the page against PyTorch).
test('imaging multi-label: a PNG opened with the button lists its findings above their thresholds and each finding\'s band from the bundle, with a map per finding through "Map of"', async () => {
  const mlDir = path.join(env.demo, 'train', 'multilabel-demo', 'test');
  const ml = JSON.parse(readFileSync(path.join(mlDir, 'reference.json'), 'utf8'));
  const schema = JSON.parse(readFileSync(path.join(env.demo, 'train', 'multilabel-demo', 'schema.json'), 'utf8'));
  const findings = schema.outputs.findings, K = findings.length;
  assert.equal((await publish(server.base, path.join(env.demo, 'bundles', 'multilabel-demo-1.ldxb'))).status, 201);
  // A held-out image that PyTorch finds two findings in (or more), so that the words list several.
  const i = ml.probabilities.findIndex((p) => p.filter((v, k) => v >= findings[k].threshold).length >= 2);
  assert.ok(i >= 0, 'a held-out image with two findings above their thresholds');
  const name = ml.names[i] + '.png';
  const { page, errors } = await openApp(browser, server.base, { model: 'multilabel-demo' });
  const chooser = await chooseFileWith(page, ['imaging', 'open_button']);
  await chooser.setFiles([path.join(mlDir, name)]);
  await page.waitForFunction(() => window.localdx.viewState().imaging.images.length === 1, null, { timeout: 60000 });
  await page.evaluate(() => { window.localdx.selectImage(0); window.localdx.confirmImage(0); });
  const r = await page.evaluate(() => window.localdx.viewState().imaging.images[0]);
  assert.equal(r.ok, true, words(r));
  for (let k = 0; k < K; k++)
    assert.ok(Math.abs(r.probabilities[k] - ml.probabilities[i][k]) <= 1e-5, `${findings[k].name}: ${r.probabilities[k]} vs PyTorch ${ml.probabilities[i][k]}`);
  // The words: every finding above its threshold, the most probable first, and none below.
  const above = findings.map((f, k) => ({ ...f, p: ml.probabilities[i][k] })).filter((f) => f.p >= f.threshold).sort((a, b) => b.p - a.p);
  const csv = (await page.evaluate(() => window.localdx.imageResultsCsv())).trim().split('\n');
  assert.equal(csv[0], 'file,result,' + findings.map((f) => 'p_' + f.name).join(',') + ',map,deletion_area_map,deletion_area_random,warnings,problem');
  assert.equal(csv[1].split(',')[1], above.map((f) => f.label).join('; '));
  await page.waitForFunction(() => /Findings above their thresholds/.test(document.getElementById('live').textContent), null, { timeout: 5000 });
  const live = await page.evaluate(() => document.getElementById('live').textContent);
  const said = live.slice(live.indexOf('Findings above their thresholds: '));
  // The core's percent (predict/findings.h): rounded, never 100% below 1.
  const percent = (p) => (Math.round(100 * p) >= 100 && p < 1 ? '>99%' : `${Math.round(100 * p)}%`);
  assert.ok(said.startsWith('Findings above their thresholds: ' + above.map((f) => `${f.label} ${percent(f.p)}`).join(', ') + '.'), said);
  for (const f of findings.filter((g) => !above.some((a) => a.name === g.name))) assert.ok(!said.split('.')[0].includes(f.label), `${f.label} is below its threshold: ${said}`);
  // Each finding's triage band from the bundle's signed calibrator (fitted by localdx bundle on
  // 300 held-out calibration images): read at 90%, a class stays in the finding's set when
  // 1 - its probability <= its threshold; not a site's calibration, so not said to be one.
  const signed = (await page.evaluate(() => window.localdx.model().schema)).outputs.findings;
  const bands = signed.map((f, k) => {
    assert.ok(f.conformal, `${f.name}: the bundle carries its calibrator`);
    assert.equal(f.conformal.rows, 300);
    const t = f.conformal.levels.find((l) => l.level === 0.9).threshold;
    const absent = r.probabilities[k] <= t[0], present = 1 - r.probabilities[k] <= t[1];
    return `${f.label} ${present && !absent ? 'high' : absent && !present ? 'low' : 'uncertain'}`;
  });
  assert.ok(live.includes(`Triage bands (90% confidence): ${bands.join(', ')}.`), live);
  assert.doesNotMatch(live, /calibrated on this site's/);
  // "Map of": each finding's own map, its peak where PyTorch's map of that finding peaks.
  const argmax = (v) => v.reduce((b, x, k) => (x > v[b] ? k : b), 0);
  const peaks = [];
  for (let k = 0; k < K; k++) {
    const made = await page.evaluate((k) => window.localdx.explainImage(0, k), k);
    assert.equal(made.ok, true, JSON.stringify(made.problems));
    assert.equal(made.explained_label, findings[k].label);
    await page.waitForFunction((k) => window.localdx.viewState().imaging.images[0].explained === k, k, { timeout: 30000 });
    const shown = await page.evaluate(() => window.localdx.viewState().imaging.images[0]);
    assert.equal(shown.map_kind, 'cam');
    assert.deepEqual(shown.map_size, [28, 28]);
    const torchMap = ml.cam[i].slice(k * 784, (k + 1) * 784);
    assert.equal(argmax(shown.map), argmax(torchMap), `${findings[k].name}: the map's peak is PyTorch's`);
    peaks.push(argmax(shown.map));
  }
  assert.ok(new Set(peaks).size > 1, `the findings' maps are not one map (${peaks})`);
  await page.screenshot({ path: path.join(env.shots, 'imaging-multilabel.png') });
  assert.deepEqual(errors, []);
  await page.context().close();
});

//-----------------------------------------------------------------------------
// [SECTION] Scope
//-----------------------------------------------------------------------------
test('imaging scope: pydicom\'s CT and MR files are refused with the reason, a synthetic image is accepted, one with its brightness doubled is warned as unlike the training images', async () => {
  const { page, errors } = await openApp(browser, server.base, { model: 'opacity-demo' });
  const files = ['CT_small.dcm', 'MR_small.dcm', 'synthetic-002.png', 'bright-002.png', 'synthetic-001.dcm'];
  const chooser = await chooseFileWith(page, ['imaging', 'open_button']);
  await chooser.setFiles(files.map(imageFile));
  await page.waitForFunction((n) => window.localdx.viewState().imaging.images.length === n, files.length, { timeout: 60000 });
  const byName = Object.fromEntries((await page.evaluate(() => window.localdx.viewState().imaging.images)).map((r) => [r.file, r]));
  const madeFor = 'this model is made for synthetic radiograph (modality OT; body part CHEST; view PA) only.';
  assert.equal(byName['CT_small.dcm'].ok, false);
  assert.equal(words(byName['CT_small.dcm']), `This image is a CT scan (modality CT); ${madeFor}`);
  assert.equal(byName['MR_small.dcm'].ok, false);
  assert.match(words(byName['MR_small.dcm']), new RegExp(`^This image is an MR image \\(modality MR\\); ${madeFor.replace(/[().;]/g, '\\$&')}`));
  // A synthetic image from the training generator: scored; the PNG says nothing of what it shows,
  // so the clinician is asked to confirm it; nothing says it is unlike the training images.
  const confirmWords = 'A PNG or JPEG file does not say what it shows: use the result only if this image is synthetic radiograph (modality OT; body part CHEST; view PA).';
  const ok = byName['synthetic-002.png'];
  assert.equal(ok.ok, true, words(ok));
  assert.deepEqual(ok.warnings, []);
  assert.deepEqual([ok.to_confirm, ok.confirmed, ok.confirm_words], [true, false, confirmWords]);
  const bright = byName['bright-002.png'];
  assert.equal(bright.ok, true, words(bright));
  assert.equal(bright.warnings.length, 1);
  assert.match(bright.warnings[0], /^This image looks unlike the 1600 images the model was trained on \(brighter/);
  // The demonstration's own DICOM file (modality OT, CHEST, PA): scored with no warning at all.
  assert.equal(byName['synthetic-001.dcm'].ok, true, words(byName['synthetic-001.dcm']));
  assert.deepEqual(byName['synthetic-001.dcm'].warnings, []);
  assert.equal(byName['synthetic-001.dcm'].to_confirm, false);
  // Until the clinician confirms what a PNG is, its result is neither said nor exported.
  const brightAt = files.indexOf('bright-002.png');
  await page.evaluate((i) => window.localdx.selectImage(i), brightAt);
  await page.waitForFunction(() => document.getElementById('live').textContent.startsWith('bright-002.png: Warning: '), null, { timeout: 5000 });
  const asking = await page.evaluate(() => document.getElementById('live').textContent);
  assert.ok(asking.includes(confirmWords) && asking.endsWith('Its result is shown once you confirm what the image is.'), asking);
  assert.doesNotMatch(asking, /probability/);
  assert.match(await page.evaluate(() => window.localdx.imageResultsCsv()), /\nsynthetic-002\.png,,,,,,,,"?not confirmed: A PNG or JPEG file does not say what it shows/);
  // Confirmed with the accessible layer's button: the warning is drawn above the result, is an
  // alert in the layer, and is said before the result.
  await page.getByRole('button', { name: 'Yes, it is: show the result' }).press('Enter');
  await page.waitForFunction((i) => window.localdx.viewState().imaging.images[i].confirmed, brightAt, { timeout: 5000 });
  await page.waitForFunction(() => /probability/.test(document.getElementById('live').textContent), null, { timeout: 5000 });
  assert.match(await page.evaluate(() => document.getElementById('live').textContent), /^bright-002\.png: Warning: This image looks unlike the 1600 images.*\. (Opacity|No opacity), probability/);
  await page.waitForFunction(() => [...document.querySelectorAll('#a11y [role=alert]')].some((e) => /looks unlike the 1600 images/.test(e.textContent)), null, { timeout: 5000 });
  await page.screenshot({ path: path.join(env.shots, 'imaging-scope-warning.png') });
  // The refusal: said in full in the layer, and in the exported table.
  await page.evaluate(() => window.localdx.selectImage(0));
  await page.waitForFunction(() => [...document.querySelectorAll('#a11y [role=alert]')].some((e) => e.textContent.includes('This image is a CT scan (modality CT); this model is made for')), null, { timeout: 5000 });
  await page.screenshot({ path: path.join(env.shots, 'imaging-scope-refused.png') });
  const csv = await page.evaluate(() => window.localdx.imageResultsCsv());
  assert.match(csv, /CT_small\.dcm,,,,,,,,"?This image is a CT scan \(modality CT\); this model is made for/);
  assert.deepEqual(errors, []);
  await page.context().close();
});

// Damaged, truncated and huge files, made here from the test images: the page refuses each with
// the very reason `localdx preprocess` gives for the same bytes (one check in the core for PNG and
// JPEG, imaging/raster_check.h; DICOM through the core's DCMTK reader in both), says it as an alert,
// sends nothing, and scores a good image opened afterwards.
test('imaging: damaged, truncated and huge PNG, JPEG and DICOM files are refused in the page with the reason `localdx preprocess` gives; nothing crashes or is sent, and a good image is scored afterwards', async () => {
  const bad = path.join(work, 'bad');
  mkdirSync(bad, { recursive: true });
  execFileSync('/usr/bin/python3', ['-c', `
import sys, io, struct, zlib
import pydicom
png_in, jpg_in, dcm_in, out = sys.argv[1:5]
png, jpg, dcm = (open(f, "rb").read() for f in (png_in, jpg_in, dcm_in))
open(f"{out}/cut.png", "wb").write(png[: len(png) // 2])
i = png.index(b"IDAT") + 104  # a byte of the first IDAT chunk's data; its CRC left as it was
open(f"{out}/damaged-chunk.png", "wb").write(png[:i] + bytes([png[i] ^ 0xFF]) + png[i + 1:])
ihdr = b"IHDR" + struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)  # its CRC made right
open(f"{out}/huge.png", "wb").write(png[:8] + struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + png[33:])
open(f"{out}/cut.jpg", "wb").write(jpg[: len(jpg) // 2])
ds = pydicom.dcmread(io.BytesIO(dcm))
n = len(ds.PixelData)
open(f"{out}/cut-in-pixels.dcm", "wb").write(dcm[: len(dcm) - n // 2])
at = dcm.rindex(b"\\xe0\\x7f\\x10\\x00")  # (7FE0,0010), explicit VR: tag, VR, 2 reserved, 4-byte length
assert dcm[at + 4: at + 6] in (b"OB", b"OW")
open(f"{out}/element-longer-than-file.dcm", "wb").write(dcm[:at + 8] + struct.pack("<I", n + (1 << 20)) + dcm[at + 12:])
ds.Rows, ds.Columns = 60000, 60000
ds.save_as(f"{out}/huge.dcm", write_like_original=False)
`, path.join(testDir, 'synthetic-001.png'), imageFile('synthetic-003.jpg'), imageFile('synthetic-001.dcm'), bad]);
  const files = ['cut.png', 'damaged-chunk.png', 'huge.png', 'cut.jpg', 'cut-in-pixels.dcm', 'element-longer-than-file.dcm', 'huge.dcm'];
  // The CLI's reason: what it prints after "localdx preprocess: ", one line per problem.
  const cliReason = {};
  for (const f of files) {
    let stderr = '';
    try {
      execFileSync(env.cli, ['preprocess', '--bundle', bundle, '--trust', trust, '--image', path.join(bad, f), '--out', path.join(bad, 'tensor.npy')], { stdio: ['ignore', 'ignore', 'pipe'] });
      assert.fail(`localdx preprocess read ${f}`);
    } catch (e) {
      if (e.code === 'ERR_ASSERTION') throw e;
      stderr = e.stderr.toString();
    }
    const lines = stderr.trim().split('\n');
    assert.ok(lines.every((l) => l.startsWith('localdx preprocess: ')), stderr);
    cliReason[f] = lines.map((l) => l.slice('localdx preprocess: '.length)).join(' ');
    assert.doesNotMatch(cliReason[f], /bad_image|bad_dicom|unsupported_|internal/, `${f}: an internal code in ${cliReason[f]}`);
  }
  assert.match(cliReason['damaged-chunk.png'], /IDAT chunk is damaged/);
  for (const f of ['huge.png', 'huge.dcm']) assert.match(cliReason[f], /^This (PNG|DICOM) file cannot be read: the image is (20000 x 20000|60000 x 60000) pixels; images of 1 to 16384 pixels per side/);

  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const requests = [];
  ctx.on('request', (req) => requests.push({ url: req.url(), method: req.method(), body: req.postDataBuffer() || Buffer.alloc(0) }));
  const { page, errors } = await openApp(browser, server.base, { model: 'opacity-demo', context: ctx });
  const before = requests.length;
  const chooser = await chooseFileWith(page, ['imaging', 'open_button']);
  await chooser.setFiles(files.map((f) => path.join(bad, f)));
  await page.waitForFunction((n) => window.localdx.viewState().imaging.images.length === n, files.length, { timeout: 30000 });
  const view = await page.evaluate(() => window.localdx.viewState().imaging.images);
  for (const f of files) {
    const r = view.find((x) => x.file === f);
    assert.equal(r.ok, false, f);
    assert.equal(words(r), cliReason[f], f);
    // The accessible layer says the same reason as an alert when the image is chosen.
    await page.evaluate((k) => window.localdx.selectImage(k), view.indexOf(r));
    await page.waitForFunction((reason) => [...document.querySelectorAll('#a11y [role=alert]')].some((e) => e.textContent.includes(reason)), cliReason[f], { timeout: 5000 })
      .catch(async () => assert.fail(`${f}: no alert says "${cliReason[f]}"; alerts: ${JSON.stringify(await page.evaluate(() => [...document.querySelectorAll('#a11y [role=alert]')].map((e) => e.textContent)))}`));
  }
  // Still usable: a good image opened afterwards is scored.
  const again = await chooseFileWith(page, ['imaging', 'open_button']);
  await again.setFiles([imageFile('synthetic-001.dcm')]);
  await page.waitForFunction(() => window.localdx.viewState().imaging.images.some((r) => r.file === 'synthetic-001.dcm' && 'ok' in r), null, { timeout: 60000 });
  const good = (await page.evaluate(() => window.localdx.viewState().imaging.images)).find((r) => r.file === 'synthetic-001.dcm');
  assert.equal(good.ok, true, words(good));
  assert.ok(good.probabilities[1] >= 0 && good.probabilities[1] <= 1);
  // Nothing sent: no request but GETs of the page's own files while the files were opened.
  const during = requests.slice(before);
  assert.deepEqual(during.filter((r) => r.method !== 'GET' || new URL(r.url).origin !== server.base).map((r) => r.method + ' ' + r.url), []);
  assert.deepEqual(errors, []);
  console.log(`# damaged and huge files: ${files.length} refused in the page with the CLI's reason; ${during.length} requests while opening them, all GETs of the page's files`);
  await ctx.close();
});

test('imaging: another map of an image whose worker has ended is refused with the reason it ended, not asked of another worker', async () => {
  // The batch worker's script served so that, once it has replied with an image (and its curve), it
  // tells the page its ONNX Runtime files stopped arriving: the page ends it. A map of another class
  // for that image is then refused with that reason.
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const changed = await batchWorkerEndingAfter(ctx, 'reply({ ok: true, result, display }, display ? [display.grey.buffer] : []);');
  const { page, errors } = await openApp(browser, server.base, { model: 'opacity-demo', context: ctx });
  const name = 'synthetic-001.png';
  const [first] = await page.evaluate((f) => window.localdx.scoreImages([f]), { name, bytes: readFileSync(imageFile(name)).toString('base64') });
  assert.ok(changed(), 'the worker script was served changed');
  assert.equal(first.ok, true, words(first));
  const ended = "ONNX Runtime's files stopped arriving over the network, so nothing was scored. Check the connection, then open the file or images again.";
  const other = await page.evaluate(() => window.localdx.explainImage(0, 0));
  assert.equal(other.ok, false);
  assert.equal(words(other), ended);
  // A new worker started meanwhile (as the next file opened would start it) is not asked either.
  assert.equal(await page.evaluate(() => window.localdx.batchReady()), true);
  assert.equal(words(await page.evaluate(() => window.localdx.explainImage(0, 0))), ended);
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('imaging: from the Batch tab of a tabular model to the imaging model, the Image tab opens (and Patient on the way back)', async () => {
  const { page, errors } = await openApp(browser, server.base, { model: 'pima-diabetes' });
  const selectedTab = () => page.evaluate(() => document.querySelector('#a11y [role=tab][aria-selected=true]')?.getAttribute('aria-label'));
  await page.evaluate(() => window.localdx.selectTab(1));
  await page.waitForFunction(() => document.querySelector('#a11y [role=tab][aria-selected=true]')?.getAttribute('aria-label') === 'Batch');
  await page.evaluate(() => globalThis.localdxHost.chooseModel('opacity-demo'));
  await page.waitForFunction(() => window.localdx.model()?.name === 'opacity-demo', null, { timeout: 30000 });
  await page.waitForFunction(() => document.querySelector('#a11y [role=tab][aria-selected=true]')?.getAttribute('aria-label') === 'Image', null, { timeout: 5000 })
    .catch(async () => assert.fail(`the tab open is ${await selectedTab()}, not Image`));
  await page.evaluate(() => globalThis.localdxHost.chooseModel('pima-diabetes'));
  await page.waitForFunction(() => window.localdx.model()?.name === 'pima-diabetes', null, { timeout: 30000 });
  await page.waitForFunction(() => document.querySelector('#a11y [role=tab][aria-selected=true]')?.getAttribute('aria-label') === 'Patient', null, { timeout: 5000 })
    .catch(async () => assert.fail(`the tab open is ${await selectedTab()}, not Patient`));
  assert.deepEqual(errors, []);
  await page.context().close();
});

//-----------------------------------------------------------------------------
// [SECTION] Preprocessing parity
//-----------------------------------------------------------------------------
// A .npy file's float32 data (format 1.0, little-endian).
function npy(file) {
  const b = readFileSync(file);
  const header = b.readUInt16LE(8);
  return new Float32Array(b.buffer.slice(b.byteOffset + 10 + header, b.byteOffset + b.length));
}

test('imaging: the browser\'s tensor equals `localdx preprocess --bundle` for every test image (PNG, JPEG, DICOM), and PyTorch\'s for the PNGs', async () => {
  const { page } = await openApp(browser, server.base, { model: 'opacity-demo' });
  const torch = readFileSync(path.join(testDir, 'tensors.f32'));
  const plane = 224 * 224;
  const names = [...reference.names.map((n) => n + '.png'), ...readdirSync(work).filter((f) => /^synthetic-.*\.(jpg|dcm)$/.test(f))];
  let worstCli = 0, worstTorch = 0;
  for (const name of names) {
    const out = path.join(work, name + '.npy');
    execFileSync(env.cli, ['preprocess', '--bundle', bundle, '--trust', trust, '--image', imageFile(name), '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    const cli = npy(out);
    const r = await page.evaluate((f) => window.localdx.imageTensor(f), { name, bytes: readFileSync(imageFile(name)).toString('base64') });
    assert.equal(r.ok, true, `${name}: ${JSON.stringify(r.problems)}`);
    const mine = new Float32Array(Uint8Array.from(Buffer.from(r.tensor, 'base64')).buffer);
    assert.equal(mine.length, cli.length);
    for (let k = 0; k < plane; k++) worstCli = Math.max(worstCli, Math.abs(mine[k] - cli[k]));
    const i = reference.names.indexOf(name.replace('.png', ''));
    if (name.endsWith('.png') && i >= 0) {
      const theirs = new Float32Array(torch.buffer, torch.byteOffset + i * plane * 4, plane);
      for (let k = 0; k < plane; k++) worstTorch = Math.max(worstTorch, Math.abs(mine[k] - theirs[k]));
    }
  }
  console.log(`# preprocessing parity: ${names.length} images (PNG, JPEG, DICOM), browser vs localdx preprocess ${worstCli}, vs PyTorch ${worstTorch}`);
  assert.ok(worstCli <= 1e-6, `browser vs CLI ${worstCli}`);
  assert.ok(worstTorch <= 1e-6, `browser vs PyTorch ${worstTorch}`);
  await page.context().close();
});

//-----------------------------------------------------------------------------
// [SECTION] Validation on labelled images
//-----------------------------------------------------------------------------
// Every number of `a` within 1e-9 of the same place in `b`; everything else equal.
function sameFigures(a, b, at = 'report') {
  if (typeof a === 'number' && typeof b === 'number') {
    assert.ok(Math.abs(a - b) <= 1e-9, `${at}: browser ${a}, CLI ${b}`);
    return 1;
  }
  if (a === null || typeof a !== 'object' || b === null || typeof b !== 'object') { assert.deepEqual(a, b, at); return 0; }
  assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), at);
  let n = 0;
  for (const k of Object.keys(a)) n += sameFigures(a[k], b[k], `${at}.${k}`);
  return n;
}

// A labelled folder (its PNGs and labels.csv) opened in the Validate view of `model` at 1280 x
// `height`, through the real file chooser; every request of the context recorded.
async function validateInPage(model, folder, height) {
  const files = readdirSync(folder).filter((f) => f.endsWith('.png') || f === 'labels.csv').map((f) => path.join(folder, f));
  const ctx = await browser.newContext({ viewport: { width: 1280, height } });
  const requests = [];
  ctx.on('request', (req) => requests.push({ url: req.url(), method: req.method(), headers: req.headers(), body: req.postDataBuffer() || Buffer.alloc(0) }));
  const { page } = await openApp(browser, server.base, { model, context: ctx });
  await page.evaluate(() => window.localdx.selectTab(4));
  await page.waitForTimeout(300);
  const before = requests.length;
  const chooser = await chooseFileWith(page, ['validate', 'open_button']);
  await chooser.setFiles(files);
  await page.waitForFunction(() => window.localdx.imageValidation() !== null, null, { timeout: 300000 });
  const run = await page.evaluate(() => window.localdx.imageValidation());
  assert.equal(run.ok, true, JSON.stringify(run.problems));
  return { ctx, page, requests, before, run, files };
}
// What was asked of other than the page's own files with a GET.
const notOwnGets = (requests) => requests.map((r) => r.method + ' ' + r.url).filter((r) => !r.startsWith('GET ' + server.base));

test('imaging validation: 100 labelled synthetic images opened in the Validate view give the figures of `localdx evaluate --images` to 1e-9 and the pointing game; nothing is uploaded', async () => {
  const folder = path.join(work, 'validation');
  execFileSync('/usr/bin/python3', [path.join(env.source, 'models/opacity-demo/make_validation_set.py'), folder, '--images', '100', '--seed', '2024',
    '--model', path.join(env.demo, 'train', 'opacity-demo', 'model.pt')]);
  const { ctx, page, requests, before, run, files } = await validateInPage('opacity-demo', folder, 1400);
  assert.equal(files.length, 101);
  const view = (await page.evaluate(() => window.localdx.viewState())).validate;
  assert.equal(view.loaded, true);
  assert.equal(view.images, true);
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(env.shots, 'validate-images.png') });
  const during = requests.slice(before);

  // The view's "Save the images' outputs (JSON)", clicked once scrolled into view: what the page
  // gave the core, every number as it was.
  let save = view.save_button;
  for (let i = 0; i < 30 && !(save[2] > 0 && save[1] > 100 && save[1] + save[3] < 1380); i++) {
    await page.mouse.move(640, 500);
    await page.mouse.wheel(0, save[1] > 1380 ? 300 : -300);
    await page.waitForTimeout(150);
    save = (await page.evaluate(() => window.localdx.viewState())).validate.save_button;
  }
  let download = null;
  for (let i = 0; i < 4 && !download; i++) {  // as chooseFileWith: a click may land between frames
    [download] = await Promise.all([page.waitForEvent('download', { timeout: 8000 }).catch(() => null),
      page.mouse.click(save[0] + save[2] / 2, save[1] + save[3] / 2)]);
  }
  assert.ok(download, `no download from the button at ${JSON.stringify(save)}`);
  assert.equal(download.suggestedFilename(), 'image-outputs.json');
  await download.saveAs(path.join(work, 'validation-outputs.json'));
  assert.deepEqual(JSON.parse(readFileSync(path.join(work, 'validation-outputs.json'), 'utf8')), JSON.parse(run.outputs));

  // The saved outputs through the CLI: the same report, every figure and interval to 1e-9.
  const cli = JSON.parse(execFileSync(env.cli, ['evaluate', '--bundle', bundle, '--trust', trust, '--images', folder,
    '--labels', path.join(folder, 'labels.csv'), '--outputs', path.join(work, 'validation-outputs.json'), '--format', 'json'], { encoding: 'utf8' }));
  assert.equal(run.report.data.scored, 100);
  assert.equal(run.report.data.sha256, cli.data.sha256);
  assert.deepEqual(run.report.data.left_out, cli.data.left_out);
  const n = sameFigures(run.report.metrics, cli.metrics, 'metrics');
  assert.ok(n > 100, `${n} figures compared`);
  sameFigures(run.report.localization, cli.localization, 'localization');
  // The pointing game: 50 positive images with boxes; the maps point at the lesions far more often than chance.
  const l = run.report.localization;
  assert.equal(l.images, 50);
  assert.ok(l.hits >= 35, `pointing game ${l.hits} of 50`);
  assert.deepEqual(view.localization, l);
  // ONNX Runtime Web in the page against PyTorch on the same images (the folder's outputs.json).
  const torch = Object.fromEntries(JSON.parse(readFileSync(path.join(folder, 'outputs.json'), 'utf8')).images.map((o) => [o.image, o]));
  const ours = JSON.parse(run.outputs).images;
  assert.equal(ours.length, 100);
  for (const o of ours) assert.ok(Math.abs(o.probabilities[1] - torch[o.image].probabilities[1]) <= 1e-5, `${o.image}: ${o.probabilities[1]} vs PyTorch ${torch[o.image].probabilities[1]}`);
  const auc = run.report.metrics.class['1'].auc_roc.value;
  console.log(`# imaging validation: ${n} figures equal to the CLI's; AUC ${auc.toFixed(4)}; pointing game ${l.hits}/${l.images}; energy in the box ${l.energy_in_box.toFixed(3)}; ${during.length} requests while scoring`);

  // The request audit: nothing but GETs of the app's own files while the images were scored, and
  // no request anywhere carries the labels file or an image's pixels.
  assert.deepEqual(during.filter((r) => r.method !== 'GET').map((r) => r.method + ' ' + r.url), [], 'no request but GETs of the app\'s own files');
  const labels = readFileSync(path.join(folder, 'labels.csv'), 'latin1').split('\n')[2];
  const png = readFileSync(path.join(folder, 'val-001.png'));
  const pixels = png.subarray(png.length - 300, png.length - 44).toString('latin1');
  for (const r of requests) {
    assert.equal(new URL(r.url).origin, server.base, `request to another origin: ${r.url}`);
    const all = r.url + JSON.stringify(r.headers) + r.body.toString('latin1');
    assert.ok(!all.includes(labels), `the labels file in ${r.method} ${r.url}`);
    assert.ok(!all.includes(pixels), `image data in ${r.method} ${r.url}`);
  }
  await ctx.close();
});

//-----------------------------------------------------------------------------
// [SECTION] Privacy audit and offline
//-----------------------------------------------------------------------------
test('imaging privacy: scoring images sends nothing: no request carries pixels or header values, none leaves the origin', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const requests = [];
  ctx.on('request', (req) => requests.push({ url: req.url(), method: req.method(), headers: req.headers(), body: req.postDataBuffer() || Buffer.alloc(0) }));
  const { page } = await openApp(browser, server.base, { model: 'opacity-demo', context: ctx });
  const before = requests.length;
  const files = ['synthetic-001.dcm', 'synthetic-004.png', 'synthetic-004.jpg'];
  const chooser = await chooseFileWith(page, ['imaging', 'open_button']);
  await chooser.setFiles(files.map(imageFile));
  await page.waitForFunction((n) => window.localdx.viewState().imaging.images.length === n, files.length, { timeout: 60000 });
  await page.waitForTimeout(1000);
  const during = requests.slice(before);
  assert.deepEqual(during.filter((r) => r.method !== 'GET').map((r) => r.method + ' ' + r.url), [], 'no request but GETs of the app\'s own files');
  const dicom = readFileSync(imageFile('synthetic-001.dcm'));
  const pixels = dicom.subarray(dicom.length - 4096).toString('latin1');  // the file's last 4 KiB: pixel data
  for (const r of requests) {
    assert.equal(new URL(r.url).origin, server.base, `request to another origin: ${r.url}`);
    const all = r.url + JSON.stringify(r.headers) + r.body.toString('latin1');
    for (const m of MARKERS) assert.ok(!all.includes(m), `header value ${m} in ${r.method} ${r.url}`);
    assert.ok(!all.includes(pixels.slice(0, 256)), `pixel data in ${r.method} ${r.url}`);
  }
  // The view shows the header fields a clinician may need and nothing that names the patient.
  const shown = JSON.stringify(await page.evaluate(() => window.localdx.viewState().imaging));
  for (const m of MARKERS) assert.ok(!shown.includes(m), `${m} reached the view`);
  console.log(`# imaging privacy: ${requests.length} requests audited, ${during.length} while scoring ${files.length} images`);
  await ctx.close();
});

test('imaging drift report: 13 images scored are counted once each (two opened again are not) into reports of their descriptors that the server takes; no pixels, no header values leave', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const requests = [];
  ctx.on('request', (req) => requests.push({ url: req.url(), method: req.method(), headers: req.headers(), body: req.postDataBuffer() || Buffer.alloc(0) }));
  const { page } = await openApp(browser, server.base, { model: 'opacity-demo', context: ctx });
  // k = 10: thirteen images make a complete report and 3 pending; the first two opened again are not counted again.
  const files = [...Array.from({ length: 12 }, (_, i) => `synthetic-${String(i).padStart(3, '0')}.png`), 'synthetic-001.dcm'];
  let chooser = await chooseFileWith(page, ['imaging', 'open_button']);
  await chooser.setFiles(files.map(imageFile));
  await page.waitForFunction((n) => window.localdx.viewState().imaging.images.length === n, files.length, { timeout: 120000 });
  chooser = await chooseFileWith(page, ['imaging', 'open_button']);
  await chooser.setFiles(files.slice(0, 2).map(imageFile));
  await page.waitForFunction(() => window.localdx.viewState().imaging.images.length === 2, null, { timeout: 60000 });
  await page.waitForTimeout(500);
  const rep = await page.evaluate(() => window.localdx.reporting());
  assert.equal(rep.queue.length, 1, 'a complete report of the first 10 images is queued');
  assert.equal(rep.queue[0].report.n, 10);
  const pending = Object.values(rep.pending);
  assert.equal(pending.length, 1);
  assert.equal(pending[0].n, 3, 'the other 3 images wait; the 2 opened again are not counted twice');
  assert.equal(requests.filter((r) => r.url.endsWith('/api/v1/metrics')).length, 0, 'nothing is sent before its random time');
  assert.deepEqual(await page.evaluate(() => { const p = window.localdx.model().privacy; return [p.histograms, p.epsilon_per_patient]; }), [11, 2]);
  await page.evaluate(() => window.localdx.flushReports());
  await page.waitForFunction(() => window.localdx.reporting().queue.length === 0, null, { timeout: 15000 });
  const sent = requests.filter((r) => r.url.endsWith('/api/v1/metrics'));
  assert.equal(sent.length, 1, 'the report was sent (and taken: the queue is empty only after a 2xx)');
  const report = JSON.parse(sent[0].body.toString('utf8'));
  assert.deepEqual(Object.keys(report).sort(), ['day', 'epsilon', 'fields', 'model', 'n', 'predicted', 'probabilities', 'version']);
  assert.deepEqual(Object.keys(report.fields).sort(), ['image.bits_stored', 'image.body_part', 'image.contrast', 'image.mean_intensity', 'image.modality', 'image.pixel_spacing', 'image.size', 'image.view']);
  const counts = [...Object.values(report.fields), report.predicted, ...report.probabilities].flat();
  assert.ok(counts.every((c) => Number.isInteger(c) && c >= 0), 'only whole counts');
  assert.equal(counts.reduce((a, b) => a + b, 0), 10, 'each image counted once, in one histogram');
  const dicom = readFileSync(imageFile('synthetic-001.dcm'));
  const pixels = dicom.subarray(dicom.length - 4096).toString('latin1');
  for (const r of requests) {
    assert.equal(new URL(r.url).origin, server.base, `request to another origin: ${r.url}`);
    const all = r.url + JSON.stringify(r.headers) + r.body.toString('latin1');
    for (const m of MARKERS) assert.ok(!all.includes(m), `header value ${m} in ${r.method} ${r.url}`);
    assert.ok(!all.includes(pixels.slice(0, 256)), `pixel data in ${r.method} ${r.url}`);
  }
  assert.ok(sent[0].body.length < 2048, `the report is ${sent[0].body.length} bytes: counts only`);
  console.log(`# imaging drift report: ${requests.length} requests audited; the report sent: ${sent[0].body.length} bytes, n = ${report.n}`);
  await ctx.close();
});

test('imaging offline: after one visit the page reloads with the network off and scores an image', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const { page } = await openApp(browser, server.base, { model: 'opacity-demo', context: ctx });
  await page.evaluate(async () => (await navigator.serviceWorker.ready).active.state);
  await page.evaluate(() => window.localdx.batchReady());
  await keepTestHooksOffline(page);
  await ctx.setOffline(true);
  await page.reload();
  await page.evaluate(() => window.localdx.ready);
  await page.waitForFunction(() => window.localdx.model() !== null);
  assert.equal(await page.evaluate(() => window.localdx.model().name), 'opacity-demo');
  const name = 'synthetic-005.png';
  const [r] = await page.evaluate((f) => window.localdx.scoreImages([f]), { name, bytes: readFileSync(imageFile(name)).toString('base64') });
  assert.equal(r.ok, true, JSON.stringify(r.problems));
  const i = reference.names.indexOf('synthetic-005');
  assert.ok(Math.abs(r.probabilities[1] - reference.probability[i]) <= 1e-5);
  await ctx.close();
});

//-----------------------------------------------------------------------------
// [SECTION] WebGPU
//-----------------------------------------------------------------------------
test('imaging on WebGPU: with an adapter ONNX Runtime\'s WebGPU build gives PyTorch\'s probability; a software adapter is passed over unless the address asks for it', async () => {
  // Chromium's software WebGPU adapter (SwiftShader), the only one this machine has.
  const gpuBrowser = await withTestHooks(await chromium.launch({ ...chromiumOptions, args: [...chromiumOptions.args.filter((a) => a !== '--disable-gpu'), '--enable-unsafe-webgpu'] }));
  try {
    const name = 'synthetic-000.png', i = reference.names.indexOf('synthetic-000');  // p = 0.03: not saturated
    const file = { name, bytes: readFileSync(imageFile(name)).toString('base64') };
    for (const [hash, runtime] of [['model=opacity-demo', 'wasm'], ['model=opacity-demo&runtime=webgpu', 'webgpu']]) {
      const ctx = await gpuBrowser.newContext();
      const page = await ctx.newPage();
      await page.goto(`${server.base}/#${hash}`);
      await page.evaluate(() => window.localdx.ready);
      await page.waitForFunction(() => window.localdx.model() && window.localdx.model().name === 'opacity-demo');
      const [r] = await page.evaluate((f) => window.localdx.scoreImages([f]), file);
      assert.equal(r.ok, true, JSON.stringify(r.problems));
      assert.equal(r.runtime, runtime, hash);
      assert.ok(Math.abs(r.probabilities[1] - reference.probability[i]) <= 1e-5, `${runtime}: ${r.probabilities[1]} vs PyTorch ${reference.probability[i]}`);
      console.log(`# ${hash}: ${r.runtime}, probability ${r.probabilities[1]} (PyTorch ${reference.probability[i]}), ${Math.round(r.ms)} ms`);
      await ctx.close();
    }
  } finally {
    await gpuBrowser.close();
  }
});

//-----------------------------------------------------------------------------
// [SECTION] The Validate view at 1280 x 800: the mouse wheel, and a site recalibration kept on the device
//-----------------------------------------------------------------------------
test('imaging validation at 1280 x 800: the mouse wheel scrolls the Validate view; prediction sets recalibrated on the labelled images are kept on the device and given with a later image\'s result', async () => {
  const folder = path.join(work, 'validation-40');
  execFileSync('/usr/bin/python3', [path.join(env.source, 'models/opacity-demo/make_validation_set.py'), folder, '--images', '40', '--seed', '7']);
  const { ctx, page, requests, run } = await validateInPage('opacity-demo', folder, 800);
  assert.equal(run.report.data.scored, 40);
  // The wheel over the view scrolls it: the save button (below the figures) moves up, then back.
  const saveAt = async () => (await page.evaluate(() => window.localdx.viewState())).validate.save_button;
  await page.waitForTimeout(300);
  const top = await saveAt();
  await page.mouse.move(640, 500);
  for (let i = 0; i < 3; i++) {
    await page.mouse.wheel(0, 300);
    await page.waitForTimeout(150);
  }
  const down = await saveAt();
  assert.ok(down[1] < top[1] - 100, `the wheel did not scroll the view: the save button at y ${top[1]}, then ${down[1]}`);
  for (let i = 0; i < 3; i++) {
    await page.mouse.wheel(0, -300);
    await page.waitForTimeout(150);
  }
  assert.ok((await saveAt())[1] > down[1] + 100, 'the wheel did not scroll the view back up');
  await page.screenshot({ path: path.join(env.shots, 'validate-images-1280x800.png') });

  // Recalibrated on these images: the sets are kept on this device and a later image's result gives its band.
  const before = requests.length;
  await page.evaluate(() => window.localdx.recalibrate());
  const v = (await page.evaluate(() => window.localdx.viewState())).validate;
  assert.equal(v.recalibrated, true);
  const dicom = { name: 'synthetic-001.dcm', bytes: readFileSync(imageFile('synthetic-001.dcm')).toString('base64') };
  const band = /Triage band \(90% confidence\): (low|high|uncertain) — .*\(calibrated on this site's images, on this device\)\./;
  await page.evaluate((f) => window.localdx.scoreImages([f]), dicom);
  await page.waitForFunction(() => document.getElementById('live').textContent.includes('Triage band'), null, { timeout: 15000 });
  assert.match(await page.textContent('#live'), band);
  // Kept for this bundle: after a reload the calibration is still in force and said.
  await page.reload();
  await page.evaluate(() => window.localdx.ready);
  await page.waitForFunction(() => window.localdx.model() !== null);
  assert.equal((await page.evaluate(() => window.localdx.viewState())).validate.local_calibration, true);
  await page.evaluate((f) => window.localdx.scoreImages([f]), dicom);
  await page.waitForFunction(() => document.getElementById('live').textContent.includes('Triage band'), null, { timeout: 15000 });
  assert.match(await page.textContent('#live'), band);
  // Nothing of the calibration (or the labels) was sent: no request but GETs of the page's own files.
  assert.deepEqual(notOwnGets(requests.slice(before)), []);
  await ctx.close();
});

test('imaging multi-label validation: the demo\'s 40 labelled test images give each finding\'s figures and the macro mean of `localdx evaluate --images` to 1e-9; the finding chooser shows each one', async () => {
  const dir = path.join(env.demo, 'train', 'multilabel-demo');
  const mlBundle = path.join(env.demo, 'bundles', 'multilabel-demo-1.ldxb');
  const findings = JSON.parse(readFileSync(path.join(dir, 'schema.json'), 'utf8')).outputs.findings;
  assert.ok([200, 201].includes((await publish(server.base, mlBundle)).status));  // 200: published by an earlier test
  const folder = path.join(dir, 'test');
  const { ctx, page, requests, before, run } = await validateInPage('multilabel-demo', folder, 1400);
  assert.equal(run.report.metrics.kind, 'multilabel');
  assert.deepEqual(Object.keys(run.report.metrics.findings).sort(), findings.map((f) => f.name).sort());
  // The page's outputs through the CLI: every finding's figures and intervals, and the macro mean.
  writeFileSync(path.join(work, 'multilabel-outputs.json'), run.outputs);
  const cli = JSON.parse(execFileSync(env.cli, ['evaluate', '--bundle', mlBundle, '--trust', trust, '--images', folder,
    '--labels', path.join(folder, 'labels.csv'), '--outputs', path.join(work, 'multilabel-outputs.json'), '--format', 'json'], { encoding: 'utf8' }));
  assert.equal(run.report.data.scored, cli.data.scored);
  const n = sameFigures(run.report.metrics, cli.metrics, 'metrics');
  assert.ok(n > 100 * findings.length, `${n} figures compared`);
  // The bundle's own prediction sets per finding, covered on these images, as the CLI counts them.
  assert.deepEqual(Object.keys(run.report.conformal.findings).sort(), findings.map((f) => f.name).sort());
  assert.ok(sameFigures(run.report.conformal, cli.conformal, 'conformal') > 0);
  // The finding chooser (a button per finding in the accessibility tree): each finding's figures in turn.
  for (let k = findings.length - 1; k >= 0; k--) {
    await page.getByRole('button', { name: findings[k].label, exact: true }).press('Enter');
    await page.waitForFunction((k) => window.localdx.viewState().validate.finding === k, k, { timeout: 10000 });
    await page.waitForFunction((label) => document.getElementById('a11y').textContent.includes('How the model does on ' + label), findings[k].label, { timeout: 10000 });
  }
  await page.screenshot({ path: path.join(env.shots, 'validate-multilabel.png') });
  assert.deepEqual(notOwnGets(requests.slice(before)), [], 'nothing but GETs of the page\'s own files');
  const macro = run.report.metrics.macro.auc_roc.value;
  console.log(`# multi-label validation: ${n} figures equal to the CLI's; macro AUC ${macro.toFixed(4)}`);
  await ctx.close();
});
