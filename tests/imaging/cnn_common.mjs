// tests/imaging/cnn_common.mjs — what the demonstration CNN checks share (cnn_check.mjs for
// models/opacity-demo, multilabel_check.mjs for models/multilabel-demo): the bundle loaded in the
// wasm core beside an ONNX Runtime Web session of its model, PyTorch's side of the parity tests,
// one image through the core's image job as the page's worker runs it, and `localdx preprocess`.
//
// Index of this file
//   [SECTION] Opening a demonstration: bundle, session, load check, PyTorch's reference
//   [SECTION] One image through the core's job
//   [SECTION] `localdx preprocess --bundle`: the tensor and the decoded pixels
//   [SECTION] The map's peak
import { readFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { ort, loadBundle } from '../node/load_core.mjs';

export { ort, loadBundle };
export const S = 224, CELLS = 28, plane = S * S;

// A .npy file's data (format 1.0, little-endian): float32 (a tensor) or float64 (`--pixels`).
export function npy(file) {
  const b = readFileSync(file);
  const header = b.readUInt16LE(8);
  const data = b.buffer.slice(b.byteOffset + 10 + header, b.byteOffset + b.length);
  return b.toString('latin1', 10, 10 + header).includes("'descr': '<f8'") ? new Float64Array(data) : new Float32Array(data);
}

//-----------------------------------------------------------------------------
// [SECTION] Opening a demonstration
//-----------------------------------------------------------------------------
// The bundle in the core, its model.onnx under ONNX Runtime Web (run(x): x a batch of tensors),
// PyTorch's reference.json and its input tensors (TENSORS: float32, in order), and the bundle's
// load check as the page makes it ({ ok, max_abs_diff }).
export async function openDemo(corePath, bundle, trust, modelDir, tensors) {
  const { core, model, info } = await loadBundle(corePath, bundle, trust);
  const ref = JSON.parse(readFileSync(path.join(modelDir, 'test/reference.json'), 'utf8'));
  const raw = readFileSync(tensors);
  const torchTensor = (i) => new Float32Array(raw.buffer, raw.byteOffset + i * plane * 4, plane);
  const session = await ort.InferenceSession.create(path.join(modelDir, 'model.onnx'), { executionProviders: ['wasm'] });
  const run = runner(session);
  const im = info.imaging.model;
  const agree = JSON.parse(model.checkImages((await run(model.checkTensors()))[im.probabilities.output].data));
  return { core, model, info, im, ref, torchTensor, session, run, agree };
}

// run(x) for a session whose input is "image" [N, 1, 224, 224].
export const runner = (session) => (x) => session.run({ image: new ort.Tensor('float32', x, [x.length / plane, 1, S, S]) });

//-----------------------------------------------------------------------------
// [SECTION] One image through the core's job
//-----------------------------------------------------------------------------
// RGBA pixels (224 x 224) through the core's job, as web/batch-worker.js runs it: the runs the
// job asks for, the map output given with the first run only (a class activation map model).
export async function score(model, run, rgba) {
  const im = JSON.parse(model.info()).imaging.model;
  const job = model.imageJob(rgba, S, S);
  if (!job.ok()) throw new Error(job.error());
  let first = true;
  while (job.pending() > 0) {
    const out = await run(job.inputs(32));
    const map = first && im.map.kind === 'cam' ? out[im.map.output].data : new Float32Array(0);
    const given = JSON.parse(job.give(out[im.probabilities.output].data, map, -1));
    if (!given.ok) throw new Error(JSON.stringify(given));
    first = false;
  }
  const result = JSON.parse(job.result());
  job.delete();
  return result;
}

//-----------------------------------------------------------------------------
// [SECTION] `localdx preprocess --bundle`
//-----------------------------------------------------------------------------
// The image's tensor as `localdx preprocess --bundle` makes it (and what it printed to standard
// error), and its decoded grey pixels as RGBA (what the browser's decoder gives the core).
export function preprocess(cli, bundle, trust, image, work, name) {
  const out = path.join(work, name + '.npy'), pixels = path.join(work, name + '.pixels.npy');
  const args = ['preprocess', '--bundle', bundle, '--trust', trust, '--image', image];
  const made = spawnSync(cli, [...args, '--out', out], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (made.status !== 0) throw new Error(`localdx preprocess ${image}: ${made.stderr}`);
  execFileSync(cli, [...args, '--out', pixels, '--pixels'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const grey = npy(pixels), rgba = new Uint8Array(grey.length * 4);
  grey.forEach((v, k) => { rgba.fill(v, 4 * k, 4 * k + 3); rgba[4 * k + 3] = 255; });
  return { tensor: npy(out), rgba, said: made.stderr };
}

//-----------------------------------------------------------------------------
// [SECTION] The map's peak
//-----------------------------------------------------------------------------
// The centre, in the image's pixels (row, column), of the map's largest cell.
export function peak(map) {
  const cell = S / map.width;
  let best = 0;
  map.values.forEach((v, k) => { if (v > map.values[best]) best = k; });
  return [(Math.floor(best / map.width) + 0.5) * cell, ((best % map.width) + 0.5) * cell, cell];
}
