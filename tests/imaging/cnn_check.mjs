// tests/imaging/cnn_check.mjs LOCALDX CORE.mjs BUNDLE TRUST MODEL_DIR WORK — the imaging
// demonstration bundle under ONNX Runtime Web (the browser's runtime, here in Node) with the wasm
// core, against PyTorch, with its heat maps checked:
//   1. `localdx preprocess --bundle` of each held-out PNG equals PyTorch's input tensor (<= 1e-6);
//   2. the bundle's load check (its reference images against the author's probabilities) passes;
//   3. through the core's image job (the browser's path: pixels in, the runs it asks for, the
//      result out), ONNX Runtime Web's probability equals PyTorch's (<= 1e-5), and the raw class
//      activation map to 1e-4 (relative: float32 sums over 32 channels in another order);
//   4. pointing game: the core's map has its maximum inside a true lesion (its radius plus one map
//      cell) in >= 90% of the positive images;
//   5. deletion curve (the core's): masking the map's top-ranked cells lowers the probability
//      faster than masking them in a random order (mean area over the positive images);
//   6. the same network exported without its map output (model-nocam.onnx), bundled: LocalDx
//      explains it with an occlusion map (169 runs an image), which passes 4 and 5 too;
//   7. scope: none of the held-out images is called unlike the training images (by the core's
//      job nor by `localdx preprocess`), each with its brightness doubled is; pydicom's CT and MR
//      files are refused with the reason (the worker's wasm core and the CLI); `localdx bundle`
//      refuses an imaging schema without its lists or its training statistics;
//   8. a large colour DICOM file (8192 x 8192 RGB, 8 bits: 192 MiB of samples, made here) goes
//      through the wasm core's image job (the browser's path) without running out of its 2 GiB
//      and gives the tensor `localdx preprocess --bundle` gives, exactly; for a model of 3 channels
//      (the demonstration's network with its input declared 3 channels wide, bundled here), whose
//      planes would not fit, the wasm core refuses it before preparing it, with the words
//      `localdx preprocess` gives (imaging/raster_check.h, image_memory_refusal).
import { readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { ort, loadBundle, openDemo, runner, score as scoreWith, preprocess, peak, CELLS, plane } from './cnn_common.mjs';

const [cli, corePath, bundle, trust, modelDir, work] = process.argv.slice(2);
mkdirSync(work, { recursive: true });
const { core, model, im, ref, torchTensor, run, agree } = await openDemo(corePath, bundle, trust, modelDir, path.join(modelDir, 'test/tensors.f32'));
// 2. The load check, as the page makes it.
const fails = [];
if (!agree.ok) fails.push(`the bundle's load check failed: ${JSON.stringify(agree)}`);
const score = (rgba, m = model, runModel = run) => scoreWith(m, runModel, rgba);

// Pointing game for one result: the map's maximum inside a lesion (its radius plus one map cell).
function pointsAtLesion(r, meta) {
  const [py, px, cell] = peak(r.map);
  return meta.lesions.some(([ly, lx, rad]) => (py - ly) ** 2 + (px - lx) ** 2 <= (rad + cell) ** 2);
}

let worstTensor = 0, worstP = 0, worstCam = 0, hits = 0, positives = 0, areaMap = 0, areaRandom = 0;
let unlikeHeldOut = 0, unlikeDoubled = 0;
const positiveImages = [];
const codes = (r) => (r.warnings || []).map((w) => w.code);
// The CLI's exit status and what it printed to standard error.
const cliRun = (args) => spawnSync(cli, args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
for (let i = 0; i < ref.names.length; i++) {
  const name = ref.names[i], png = path.join(modelDir, 'test', name + '.png');
  const { tensor: mine, rgba, said } = preprocess(cli, bundle, trust, png, work, name);
  if (/unlike the/.test(said)) fails.push(`localdx preprocess calls held-out ${name} unlike the training images`);
  const theirs = torchTensor(i);
  for (let k = 0; k < plane; k++) worstTensor = Math.max(worstTensor, Math.abs(mine[k] - theirs[k]));
  const cam = (await run(mine)).cam.data;
  for (let k = 0; k < CELLS * CELLS; k++) worstCam = Math.max(worstCam, Math.abs(cam[k] - ref.cam[i][k]) / Math.max(1, Math.abs(ref.cam[i][k])));
  const r = await score(rgba);
  worstP = Math.max(worstP, Math.abs(r.probabilities[1] - ref.probability[i]));
  // 7. A PNG says nothing of what it shows: the clinician is asked to confirm it, always; held-out
  // images from the training generator are never unlike the training images, doubled ones are.
  if (!codes(r).includes('confirm_scope')) fails.push(`${name}: no confirm_scope warning for a PNG (${JSON.stringify(r.warnings)})`);
  if (codes(r).includes('unlike_training')) unlikeHeldOut++;
  const doubled = rgba.map((v, k) => (k % 4 === 3 ? v : Math.min(255, 2 * v)));
  if (codes(await score(doubled)).includes('unlike_training')) unlikeDoubled++;
  const meta = JSON.parse(readFileSync(path.join(modelDir, 'test', name + '.json'), 'utf8'));
  if (!meta.positive) continue;
  positives++;
  positiveImages.push({ rgba, meta });
  if (pointsAtLesion(r, meta)) hits++;
  areaMap += r.deletion.ranked_area;
  areaRandom += r.deletion.random_area;
}
areaMap /= positives;
areaRandom /= positives;
console.log(`load check: ${im.check.images} reference images, max difference ${agree.max_abs_diff}`);
console.log(`${ref.names.length} held-out images: tensor vs PyTorch ${worstTensor.toExponential(1)}, probability ${worstP.toExponential(1)}, map ${worstCam.toExponential(1)} (relative)`);
console.log(`pointing game ${hits}/${positives}; deletion area: map ${areaMap.toFixed(3)}, random ${areaRandom.toFixed(3)}`);
// 6. Without a map output: an occlusion bundle of the same network.
const nocam = path.join(work, 'nocam.ldxb');
execFileSync(cli, ['bundle', '--schema', path.join(modelDir, 'schema.json'), '--model', path.join(modelDir, 'model-nocam.onnx'),
  '--reference', path.join(modelDir, 'test/reference.csv'), '--name', 'opacity-demo', '--version', '1',
  '--key', path.join(path.dirname(trust), 'signing-key.json'), '--out', nocam], { stdio: ['ignore', 'ignore', 'pipe'] });
const occ = await loadBundle(corePath, nocam, trust);
const occSession = await ort.InferenceSession.create(path.join(modelDir, 'model-nocam.onnx'), { executionProviders: ['wasm'] });
const runOcc = runner(occSession);
if (occ.info.explainer !== 'occlusion') fails.push(`a model without a map output is explained by ${occ.info.explainer}, not occlusion`);
let occHits = 0, occShown = 0, occFlat = 0, occMap = 0, occRandom = 0;
for (const { rgba, meta } of positiveImages) {
  const r = await score(rgba, occ.model, runOcc);
  if (r.runs !== 1 + occ.info.imaging.occlusion_runs + occ.info.imaging.deletion_runs) fails.push(`an occlusion image took ${r.runs} runs`);
  // A flat map (every square masked alone leaves the probability at 1 in float32: two or three
  // lesions, each enough) points nowhere, and says so; the pointing game counts the others.
  if (r.map.peak === 0) { occFlat++; continue; }
  occShown++;
  if (pointsAtLesion(r, meta)) occHits++;
  occMap += r.deletion.ranked_area;
  occRandom += r.deletion.random_area;
}
occMap /= Math.max(1, occShown);  // the deletion curve of the maps shown (a flat map ranks nothing)
occRandom /= Math.max(1, occShown);
console.log(`occlusion map (${occ.info.imaging.occlusion_runs} runs an image): pointing game ${occHits}/${occShown} (${occFlat} flat: the probability stays at 1 whichever square is masked); deletion area: map ${occMap.toFixed(3)}, random ${occRandom.toFixed(3)}`);
if (occShown < 10 || occHits < 0.9 * occShown) fails.push(`occlusion pointing game ${occHits}/${occShown} is below 90% (or fewer than 10 maps)`);
if (!(occMap < occRandom)) fails.push(`the occlusion map's deletion curve (${occMap}) does not fall faster than a random one (${occRandom})`);
// 7. Scope.
console.log(`unlike the training images: ${unlikeHeldOut}/${ref.names.length} held-out, ${unlikeDoubled}/${ref.names.length} with their brightness doubled`);
if (unlikeHeldOut !== 0) fails.push(`${unlikeHeldOut} held-out images called unlike the training images`);
if (unlikeDoubled !== ref.names.length) fails.push(`only ${unlikeDoubled}/${ref.names.length} brightness-doubled images called unlike the training images`);
// A doubled PNG through the CLI: the same warning, printed.
{
  const src = path.join(modelDir, 'test', ref.names[0] + '.png'), bright = path.join(work, 'bright.png');
  execFileSync('/usr/bin/python3', ['-c', 'import sys, numpy as np\nfrom PIL import Image\na = np.asarray(Image.open(sys.argv[1])).astype(int)\nImage.fromarray(np.clip(2 * a, 0, 255).astype(np.uint8), "L").save(sys.argv[2])', src, bright]);
  const said = cliRun(['preprocess', '--bundle', bundle, '--trust', trust, '--image', bright, '--out', path.join(work, 'bright.npy')]);
  if (said.status !== 0 || !/warning: This image looks unlike the 1600 images the model was trained on \(brighter/.test(said.stderr)) fails.push(`localdx preprocess does not warn of a brightness-doubled image: ${said.stderr}`);
}
for (const [file, words] of [['CT_small', 'a CT scan (modality CT)'], ['MR_small', 'an MR image (modality MR)']]) {
  const dcm = `/usr/lib/python3/dist-packages/pydicom/data/test_files/${file}.dcm`;
  const job = model.imageJobDicom(new Uint8Array(readFileSync(dcm)), 0);
  const refused = job.ok() ? null : JSON.parse(job.error());
  job.delete();
  const p = refused?.problems?.[0];
  if (!p || p.code !== 'out_of_scope' || !p.message.startsWith(`This image is ${words}`)) fails.push(`${file}: the wasm core does not refuse it as out of scope: ${JSON.stringify(refused)}`);
  const pre = cliRun(['preprocess', '--bundle', bundle, '--trust', trust, '--image', dcm, '--out', path.join(work, file + '.npy')]);
  if (pre.status !== 1) fails.push(`${file}: localdx preprocess --bundle exits ${pre.status}`);
  const cliSaid = pre.stderr;
  if (!cliSaid.includes(`This image is ${words}; this model is made for synthetic radiograph`)) fails.push(`${file}: localdx preprocess says: ${cliSaid}`);
}
// `localdx bundle` refuses an imaging schema that does not say what its model was made for.
{
  const full = JSON.parse(readFileSync(path.join(modelDir, 'schema.json'), 'utf8'));
  const attempt = (schema) => {
    const file = path.join(work, 'scope-schema.json');
    writeFileSync(file, JSON.stringify(schema));
    const r = cliRun(['bundle', '--schema', file, '--model', path.join(modelDir, 'model.onnx'), '--reference', path.join(modelDir, 'test/reference.csv'),
      '--name', 'opacity-demo', '--version', '1', '--key', path.join(path.dirname(trust), 'signing-key.json'), '--out', path.join(work, 'scope.ldxb')]);
    return r.status === 0 ? null : r.stderr;
  };
  const noViews = structuredClone(full);
  delete noViews.image.views;
  const noTraining = structuredClone(full);
  delete noTraining.image.training;
  const noLists = structuredClone(noTraining);
  noLists.image.modalities = [];
  delete noLists.image.body_parts;
  noLists.image.views = [];
  for (const [what, schema, needles] of [['no views', noViews, ['image.views']], ['no training statistics', noTraining, ['image.training']],
    ['no lists', noLists, ['image.modalities', 'image.body_parts', 'image.views', 'image.training']]]) {
    const said = attempt(schema);
    if (said === null) fails.push(`localdx bundle accepts an imaging schema with ${what}`);
    else for (const n of needles) if (!said.includes(n)) fails.push(`localdx bundle (${what}) does not name ${n}: ${said}`);
  }
  if (attempt(full) !== null) fails.push('localdx bundle refuses the full demonstration schema');
}
// 8. A large colour DICOM file: its samples held as 4-byte floats (imaging/image_input.h), 768 MiB.
{
  const side = 8192;
  const el = (g, e, vr, value) => {
    const long = vr === 'OB' || vr === 'OW';
    const h = Buffer.alloc(long ? 12 : 8);
    h.writeUInt16LE(g, 0); h.writeUInt16LE(e, 2); h.write(vr, 4, 'latin1');
    if (long) h.writeUInt32LE(value.length, 8); else h.writeUInt16LE(value.length, 6);
    return Buffer.concat([h, value]);
  };
  const us = (v) => { const b = Buffer.alloc(2); b.writeUInt16LE(v); return b; };
  const cs = (t) => Buffer.from(t.length % 2 ? t + ' ' : t, 'latin1');
  const syntax = el(2, 0x10, 'UI', Buffer.from('1.2.840.10008.1.2.1\0', 'latin1'));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(syntax.length);
  const row = Buffer.alloc(3 * side);
  for (let i = 0; i < row.length; i++) row[i] = (i * 7) % 251;  // colour: the channels differ
  const samples = Buffer.alloc(3 * side * side);
  samples.fill(row);
  const bytes = Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), el(2, 0, 'UL', length), syntax,
    el(8, 0x60, 'CS', cs('OT')), el(0x18, 0x15, 'CS', cs('CHEST')), el(0x18, 0x5101, 'CS', cs('PA')),
    el(0x28, 2, 'US', us(3)), el(0x28, 4, 'CS', cs('RGB')), el(0x28, 6, 'US', us(0)), el(0x28, 0x10, 'US', us(side)),
    el(0x28, 0x11, 'US', us(side)), el(0x28, 0x100, 'US', us(8)), el(0x28, 0x101, 'US', us(8)), el(0x28, 0x102, 'US', us(7)),
    el(0x28, 0x103, 'US', us(0)), el(0x7fe0, 0x10, 'OB', samples)]);
  const file = path.join(work, 'large-rgb.dcm');
  writeFileSync(file, bytes);
  const job = model.imageJobDicom(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), 0);
  const mine = job.ok() ? job.inputs(1) : null;
  const refusal = job.ok() ? null : job.error();
  job.delete();
  const pre = cliRun(['preprocess', '--bundle', bundle, '--trust', trust, '--image', file, '--out', path.join(work, 'large-rgb.npy')]);
  if (pre.status !== 0) fails.push(`an 8192 x 8192 RGB DICOM file: localdx preprocess exits ${pre.status}: ${pre.stderr}`);
  else if (!mine) fails.push(`an 8192 x 8192 RGB DICOM file is refused by the wasm core: ${refusal}`);
  else {
    const b = readFileSync(path.join(work, 'large-rgb.npy'));
    const header = b.readUInt16LE(8);
    const theirs = new Float32Array(b.buffer.slice(b.byteOffset + 10 + header, b.byteOffset + b.length));
    if (theirs.length !== mine.length || theirs.some((v, i) => v !== mine[i])) fails.push('an 8192 x 8192 RGB DICOM file: the wasm core\'s tensor differs from localdx preprocess\'s');
    else console.log(`an 8192 x 8192 RGB DICOM file (${bytes.length} bytes): the wasm core's tensor equals localdx preprocess's (wasm heap ${(core.HEAP8.length / 2 ** 20).toFixed(1)} MiB)`);
  }
  // A 3-channel model: ONNX's input dimensions (N, 1, 224, 224) declared (N, 3, 224, 224) in place.
  const schema3 = JSON.parse(readFileSync(path.join(modelDir, 'schema.json'), 'utf8'));
  const pre3 = schema3.image.preprocess;
  schema3.image.tensor.channels = 3;
  [pre3.mean, pre3.std] = [[0, 0, 0].fill(pre3.mean[0]), [0, 0, 0].fill(pre3.std[0])];
  const onnx = readFileSync(path.join(modelDir, 'model.onnx'));
  const dims = Buffer.from('0a0208010a0308e0010a0308e001', 'hex'), at = onnx.indexOf(dims);
  const files3 = ['schema3.json', 'model3.onnx', 'rgb3.ldxb'].map((f) => path.join(work, f));
  if (at < 0) fails.push('the demonstration ONNX model has no (1, 224, 224) input dimensions to widen');
  else {
    onnx[at + 3] = 3;
    writeFileSync(files3[0], JSON.stringify(schema3));
    writeFileSync(files3[1], onnx);
    const made = cliRun(['bundle', '--schema', files3[0], '--model', files3[1], '--reference', path.join(modelDir, 'test/reference.csv'),
      '--name', 'rgb-demo', '--version', '1', '--key', path.join(path.dirname(trust), 'signing-key.json'), '--out', files3[2]]);
    const loaded = made.status === 0 ? core.loadBundle(new Uint8Array(readFileSync(files3[2])), readFileSync(trust, 'utf8'), Date.now() / 1000, '{}') : null;
    if (!loaded?.ok()) fails.push(`the 3-channel bundle: ${made.stderr}${loaded ? loaded.error() : ''}`);
    else {
      const model3 = loaded.model();
      const job3 = model3.imageJobDicom(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), 0);
      const said = job3.ok() ? null : JSON.parse(job3.error()).problems[0];
      job3.delete();
      const cli3 = cliRun(['preprocess', '--bundle', files3[2], '--trust', trust, '--image', file, '--out', path.join(work, 'large-rgb3.npy')]);
      if (!said || said.code !== 'image_too_large' || !said.message.includes('8192 x 8192 pixels in colour need about 2.6 GB'))
        fails.push(`an 8192 x 8192 RGB DICOM file for a 3-channel model: the wasm core says ${JSON.stringify(said)}`);
      else if (cli3.status !== 1 || !cli3.stderr.includes(said.message))
        fails.push(`an 8192 x 8192 RGB DICOM file for a 3-channel model: the wasm core says "${said.message}", localdx preprocess (exit ${cli3.status}) ${cli3.stderr}`);
      else console.log(`an 8192 x 8192 RGB DICOM file for a 3-channel model: refused alike by the wasm core and localdx preprocess: ${said.message}`);
      model3.delete?.();
    }
    loaded?.delete?.();
  }
  for (const f of files3) rmSync(f, { force: true });
  rmSync(file);
}
if (worstTensor > 1e-6) fails.push(`preprocessing differs from PyTorch's tensor by ${worstTensor}`);
if (worstP > 1e-5) fails.push(`ONNX Runtime Web's probability differs from PyTorch's by ${worstP}`);
// The map sums 32 float32 channels in another order than PyTorch: relative 1e-4.
if (worstCam > 1e-4) fails.push(`ONNX Runtime Web's map differs from PyTorch's by ${worstCam}`);
if (hits < 0.9 * positives) fails.push(`pointing game ${hits}/${positives} is below 90%`);
if (!(areaMap < areaRandom)) fails.push(`the deletion curve of the map (${areaMap}) does not fall faster than a random one (${areaRandom})`);
if (positives < 10) fails.push(`only ${positives} positive images`);
if (fails.length) { console.error('FAILED:\n  ' + fails.join('\n  ')); process.exit(1); }
