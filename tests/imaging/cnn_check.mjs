// tests/imaging/cnn_check.mjs LOCALDX MODEL_DIR WORK — the imaging demonstration model under ONNX
// Runtime Web (the browser's runtime, here in Node), against PyTorch, with its heat maps checked:
//   1. `localdx preprocess` of each held-out PNG equals PyTorch's input tensor (<= 1e-6);
//   2. ONNX Runtime Web's probability and class activation map equal PyTorch's (<= 1e-5);
//   3. pointing game: the map's maximum falls inside a true lesion (its radius plus one map cell)
//      in >= 90% of the positive images;
//   4. deletion curve: masking the map's top-ranked cells lowers the probability faster than
//      masking cells in a random order (area under the curve, mean over positive images).
import { readFileSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ort } from '../node/load_core.mjs';

const [cli, modelDir, work] = process.argv.slice(2);
mkdirSync(work, { recursive: true });
const here = path.dirname(new URL(import.meta.url).pathname);
const schema = path.join(here, '../../models/opacity-demo/schema.json');
const ref = JSON.parse(readFileSync(path.join(modelDir, 'test/reference.json'), 'utf8'));
const raw = readFileSync(path.join(modelDir, 'test/tensors.f32'));
const S = 224, CELLS = 28, CELL = S / CELLS, plane = S * S;
const torchTensor = (i) => new Float32Array(raw.buffer, raw.byteOffset + i * plane * 4, plane);

// A .npy file's float32 data (format 1.0, little-endian).
function npy(file) {
  const b = readFileSync(file);
  const header = b.readUInt16LE(8);
  return new Float32Array(b.buffer.slice(b.byteOffset + 10 + header, b.byteOffset + b.length));
}

const session = await ort.InferenceSession.create(path.join(modelDir, 'model.onnx'), { executionProviders: ['wasm'] });
const run = async (x) => {
  const out = await session.run({ image: new ort.Tensor('float32', x, [1, 1, S, S]) });
  return { p: out.probability.data[0], cam: out.cam.data };
};

let worstTensor = 0, worstP = 0, worstCam = 0, hits = 0, positives = 0, aucMap = 0, aucRandom = 0;
let seed = 12345;
const random = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
for (let i = 0; i < ref.names.length; i++) {
  const name = ref.names[i];
  const out = path.join(work, name + '.npy');
  execFileSync(cli, ['preprocess', '--schema', schema, '--image', path.join(modelDir, 'test', name + '.png'), '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  const mine = npy(out), theirs = torchTensor(i);
  for (let k = 0; k < plane; k++) worstTensor = Math.max(worstTensor, Math.abs(mine[k] - theirs[k]));
  const r = await run(mine);
  worstP = Math.max(worstP, Math.abs(r.p - ref.probability[i]));
  for (let k = 0; k < CELLS * CELLS; k++) worstCam = Math.max(worstCam, Math.abs(r.cam[k] - ref.cam[i][k]) / Math.max(1, Math.abs(ref.cam[i][k])));
  const meta = JSON.parse(readFileSync(path.join(modelDir, 'test', name + '.json'), 'utf8'));
  if (!meta.positive) continue;
  positives++;
  let best = 0;
  for (let k = 1; k < CELLS * CELLS; k++) if (r.cam[k] > r.cam[best]) best = k;
  const py = (Math.floor(best / CELLS) + 0.5) * CELL, px = ((best % CELLS) + 0.5) * CELL;
  if (meta.lesions.some(([ly, lx, rad]) => (py - ly) ** 2 + (px - lx) ** 2 <= (rad + CELL) ** 2)) hits++;
  // Deletion: mask 0, 2, 4 ... 20% of the cells (to the tensor's value for black, -2), in the
  // map's order and in a random order; the area is the mean probability over the steps.
  const order = [...Array(CELLS * CELLS).keys()].sort((a, b) => r.cam[b] - r.cam[a]);
  const shuffled = [...order].sort(() => random() - 0.5);
  const area = async (cells) => {
    let sum = 0;
    const steps = 10;
    for (let s = 0; s <= steps; s++) {
      const x = Float32Array.from(mine);
      for (const c of cells.slice(0, Math.round((s / steps) * 0.2 * cells.length))) {
        const cy = Math.floor(c / CELLS) * CELL, cx = (c % CELLS) * CELL;
        for (let y = cy; y < cy + CELL; y++) for (let xx = cx; xx < cx + CELL; xx++) x[y * S + xx] = -2;
      }
      sum += (await run(x)).p;
    }
    return sum / (steps + 1);
  };
  aucMap += await area(order);
  aucRandom += await area(shuffled);
}
aucMap /= positives;
aucRandom /= positives;
console.log(`${ref.names.length} held-out images: tensor vs PyTorch ${worstTensor.toExponential(1)}, probability ${worstP.toExponential(1)}, map ${worstCam.toExponential(1)} (relative)`);
console.log(`pointing game ${hits}/${positives}; deletion area: map ${aucMap.toFixed(3)}, random ${aucRandom.toFixed(3)}`);
const fails = [];
if (worstTensor > 1e-6) fails.push(`preprocessing differs from PyTorch's tensor by ${worstTensor}`);
if (worstP > 1e-5) fails.push(`ONNX Runtime Web's probability differs from PyTorch's by ${worstP}`);
if (worstCam > 1e-5) fails.push(`ONNX Runtime Web's map differs from PyTorch's by ${worstCam}`);
if (hits < 0.9 * positives) fails.push(`pointing game ${hits}/${positives} is below 90%`);
if (!(aucMap < aucRandom)) fails.push(`the deletion curve of the map (${aucMap}) does not fall faster than a random one (${aucRandom})`);
if (positives < 10) fails.push(`only ${positives} positive images`);
if (fails.length) { console.error('FAILED:\n  ' + fails.join('\n  ')); process.exit(1); }
