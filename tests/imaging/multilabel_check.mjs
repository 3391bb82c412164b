// tests/imaging/multilabel_check.mjs LOCALDX CORE.mjs BUNDLE TRUST MODEL_DIR WORK — the multi-label
// demonstration bundle (models/multilabel-demo: three independent findings, one sigmoid and one
// class activation map each) under ONNX Runtime Web (the browser's runtime, here in Node) with the
// wasm core, against PyTorch:
//   1. the bundle verifies; its load check (reference images against the author's probabilities) passes;
//   2. `localdx preprocess --bundle` of each held-out PNG equals PyTorch's input tensor (<= 1e-6);
//   3. through the core's image job (the browser's path), ONNX Runtime Web's probability of every
//      finding equals PyTorch's (<= 1e-5), the raw maps of every finding to 1e-4 (relative), the
//      result's words are the core's, and there is one map per finding;
//   4. each finding's map points at that finding's lesion (its radius plus one map cell; a streak:
//      within half its length of its midpoint) in >= 80% of the images that show it;
//   5. `localdx evaluate --images` of PyTorch's outputs reports every finding's AUC-ROC equal to a
//      Mann-Whitney count here (1e-12), and the macro mean of them; of the core's outputs (ONNX
//      Runtime Web's, saved as the browser saves them), every finding's AUC-ROC equal to a
//      Mann-Whitney count of the core's probabilities, and its sensitivity and specificity at its
//      threshold equal to the share of images the core called above it (1e-12).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { openDemo, score, preprocess, peak, S, CELLS, plane } from './cnn_common.mjs';

const [cli, corePath, bundle, trust, modelDir, work] = process.argv.slice(2);
mkdirSync(work, { recursive: true });
const fails = [];
const verify = spawnSync(cli, ['verify', '--trust', trust, bundle], { encoding: 'utf8' });
if (verify.status !== 0) fails.push(`localdx verify: ${verify.stdout}${verify.stderr}`);
const { model, im, ref, torchTensor, run, agree } = await openDemo(corePath, bundle, trust, modelDir, path.join(modelDir, 'tensors.f32'));
const K = ref.findings.length;
// 1. The load check, as the page makes it.
if (!agree.ok) fails.push(`the bundle's load check failed: ${JSON.stringify(agree)}`);

let worstTensor = 0, worstP = 0, worstCam = 0;
const coreOutputs = [], coreAbove = [];  // the core's results, as the browser saves them for `localdx evaluate`
const shown = new Array(K).fill(0), hits = new Array(K).fill(0);
for (let i = 0; i < ref.names.length; i++) {
  const name = ref.names[i], png = path.join(modelDir, 'test', name + '.png');
  const { tensor: mine, rgba } = preprocess(cli, bundle, trust, png, work, name);
  const theirs = torchTensor(i);
  for (let k = 0; k < plane; k++) worstTensor = Math.max(worstTensor, Math.abs(mine[k] - theirs[k]));
  const cam = (await run(mine)).cam.data;
  for (let k = 0; k < K * CELLS * CELLS; k++) worstCam = Math.max(worstCam, Math.abs(cam[k] - ref.cam[i][k]) / Math.max(1, Math.abs(ref.cam[i][k])));
  const r = await score(model, run, rgba);
  for (let f = 0; f < K; f++) worstP = Math.max(worstP, Math.abs(r.probabilities[f] - ref.probabilities[i][f]));
  if (!Array.isArray(r.maps) || r.maps.length !== K) { fails.push(`${name}: ${r.maps?.length} maps, not one per finding`); continue; }
  const above = r.findings.filter((f) => f.above);
  const top = r.probabilities.indexOf(Math.max(...r.probabilities));
  coreOutputs.push({ image: name + '.png', width: S, height: S, probabilities: r.probabilities,
    map: { height: r.maps[top].height, width: r.maps[top].width, values: r.maps[top].values } });
  coreAbove.push(r.findings.map((f) => f.above));
  if (!(above.length ? r.words.startsWith(above.length === 1 ? 'Finding above its threshold: ' : 'Findings above their thresholds: ')
    : r.words.startsWith('No finding is above its threshold'))) fails.push(`${name}: words "${r.words}" for ${above.length} findings above`);
  const meta = JSON.parse(readFileSync(path.join(modelDir, 'test', name + '.json'), 'utf8'));
  ref.findings.forEach((finding, f) => {
    if (!meta.findings[finding]) return;
    shown[f]++;
    const [py, px, cell] = peak(r.maps[f]);
    if (meta.lesions[finding].some(([ly, lx, rad]) => (py - ly) ** 2 + (px - lx) ** 2 <= (rad + cell) ** 2)) hits[f]++;
  });
}
console.log(`load check: ${im.check.images} reference images, max difference ${agree.max_abs_diff}`);
console.log(`${ref.names.length} held-out images: tensor vs PyTorch ${worstTensor.toExponential(1)}, probabilities ${worstP.toExponential(1)}, maps ${worstCam.toExponential(1)} (relative)`);
console.log('pointing game per finding: ' + ref.findings.map((f, k) => `${f} ${hits[k]}/${shown[k]}`).join(', '));
if (worstTensor > 1e-6) fails.push(`tensor differs from PyTorch's by ${worstTensor}`);
if (worstP > 1e-5) fails.push(`probability differs from PyTorch's by ${worstP} (limit 1e-5)`);
if (worstCam > 1e-4) fails.push(`map differs from PyTorch's by ${worstCam} (relative, limit 1e-4)`);
ref.findings.forEach((f, k) => { if (shown[k] < 5 || hits[k] < 0.8 * shown[k]) fails.push(`${f}: pointing game ${hits[k]}/${shown[k]} is below 80%`); });

// 5. `localdx evaluate --images` per finding, of PyTorch's outputs and of the core's, against counts here.
const test = path.join(modelDir, 'test');
const labels = readFileSync(path.join(test, 'labels.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
const byName = new Map(labels.map((cells) => [cells[0], cells.slice(1).map(Number)]));
const mannWhitney = (outputs, k) => {
  const pos = [], neg = [];
  for (const o of outputs) (byName.get(o.image)[k] === 1 ? pos : neg).push(o.probabilities[k]);
  let wins = 0;
  for (const p of pos) for (const n of neg) wins += p > n ? 1 : p === n ? 0.5 : 0;
  return { auc: wins / (pos.length * neg.length), positives: pos.length };
};
function evaluate(outputsFile) {
  const ev = spawnSync(cli, ['evaluate', '--bundle', bundle, '--trust', trust, '--images', test, '--labels', path.join(test, 'labels.csv'),
    '--outputs', outputsFile, '--format', 'json', '--bootstrap', '200'], { encoding: 'utf8' });
  if (ev.status !== 0) { fails.push(`localdx evaluate --images --outputs ${outputsFile}: ${ev.stderr}`); return null; }
  return JSON.parse(ev.stdout).metrics;
}
const torchOutputs = JSON.parse(readFileSync(path.join(test, 'outputs.json'), 'utf8')).images;
const torchReport = evaluate(path.join(test, 'outputs.json'));
if (torchReport) {
  let macro = 0;
  ref.findings.forEach((f, k) => {
    const { auc, positives } = mannWhitney(torchOutputs, k);
    macro += auc / K;
    const got = torchReport.findings[f].class[f].auc_roc.value;
    console.log(`localdx evaluate --images (PyTorch's outputs): ${f} AUC-ROC ${got.toFixed(4)} (${positives} of ${torchOutputs.length} images show it)`);
    if (Math.abs(got - auc) > 1e-12) fails.push(`${f}: localdx evaluate AUC ${got}, Mann-Whitney ${auc}`);
  });
  const gotMacro = torchReport.macro.auc_roc.value;
  console.log(`macro AUC-ROC ${gotMacro.toFixed(4)}`);
  if (Math.abs(gotMacro - macro) > 1e-12) fails.push(`macro AUC ${gotMacro}, expected ${macro}`);
}
const coreFile = path.join(work, 'core-outputs.json');
writeFileSync(coreFile, JSON.stringify({ images: coreOutputs }));
const coreReport = evaluate(coreFile);
if (coreReport) {
  ref.findings.forEach((f, k) => {
    const { auc } = mannWhitney(coreOutputs, k);
    const c = coreReport.findings[f].class[f];
    let tp = 0, pos = 0, tn = 0, neg = 0;
    coreOutputs.forEach((o, i) => {
      if (byName.get(o.image)[k] === 1) { pos++; tp += coreAbove[i][k]; } else { neg++; tn += !coreAbove[i][k]; }
    });
    console.log(`localdx evaluate --images (the core's outputs): ${f} AUC-ROC ${c.auc_roc.value.toFixed(4)}, sensitivity ${c.sensitivity.value.toFixed(3)} (${tp}/${pos} called by the core), specificity ${c.specificity.value.toFixed(3)} (${tn}/${neg})`);
    if (Math.abs(c.auc_roc.value - auc) > 1e-12) fails.push(`${f}: localdx evaluate AUC of the core's outputs ${c.auc_roc.value}, Mann-Whitney ${auc}`);
    if (Math.abs(c.sensitivity.value - tp / pos) > 1e-12) fails.push(`${f}: localdx evaluate sensitivity ${c.sensitivity.value}, the core called ${tp}/${pos}`);
    if (Math.abs(c.specificity.value - tn / neg) > 1e-12) fails.push(`${f}: localdx evaluate specificity ${c.specificity.value}, the core called ${tn}/${neg}`);
  });
}
if (fails.length) { for (const f of fails) console.error('FAIL', f); process.exit(1); }
console.log('multilabel-demo: ok');
