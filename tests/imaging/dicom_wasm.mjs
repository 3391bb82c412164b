// tests/imaging/dicom_wasm.mjs LOCALDX CORE.mjs WORK — the browser's DICOM decoder (DCMTK compiled
// to wasm, in the worker's core) against the native one (`localdx preprocess --pixels`, Debian's
// DCMTK, OpenJPEG and zlib) on every file of python3-pydicom's test set, every frame: the same
// stored values to the bit, or both refuse it with the same reason. The native decoder is checked
// against pydicom by dicom_parity.py; so this carries that parity into the browser (JPEG 2000 and
// deflated files included).
import { readFileSync, readdirSync, mkdirSync, existsSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const [cli, corePath, work] = process.argv.slice(2);
mkdirSync(work, { recursive: true });
const data = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
if (!existsSync(data)) { console.error(`${data} is missing: install python3-pydicom (scripts/setup does)`); process.exit(1); }
globalThis.__dirname = path.dirname(path.resolve(corePath));
globalThis.require = createRequire(import.meta.url);
const { default: createLocalDxCore } = await import(path.resolve(corePath));
const core = await createLocalDxCore({ wasmBinary: readFileSync(path.resolve(corePath).replace(/\.mjs$/, '.wasm')) });
const schema = path.join(work, 'schema.json');
writeFileSync(schema, JSON.stringify({ task: 'dicom-wasm', title: 'DICOM in wasm', outputs: { kind: 'binary', column: 'y', positive: '1', classes: [{ name: '0', label: 'no' }, { name: '1', label: 'yes' }] },
  image: { formats: ['dicom'], tensor: { name: 'image', layout: 'NCHW', channels: 1, height: 8, width: 8 }, preprocess: { intensity: { kind: 'min_max' }, resize: 'area', mean: [0], std: [1] } } }));

// `localdx preprocess --pixels`'s .npy file: float64, every 32-bit stored value exactly.
function npy(file) {
  const b = readFileSync(file);
  const header = b.readUInt16LE(8);
  if (!b.toString('latin1', 10, 10 + header).includes("'descr': '<f8'")) throw new Error(`${file}: not float64 pixels`);
  return new Float64Array(b.buffer.slice(b.byteOffset + 10 + header, b.byteOffset + b.length));
}

const files = readdirSync(data).filter((f) => f.endsWith('.dcm')).sort();
let same = 0, refused = 0, frames = 0;
const fails = [];
for (const f of files) {
  const bytes = new Uint8Array(readFileSync(path.join(data, f)));
  for (let frame = 0; frame < 64; frame++) {
    const out = path.join(work, `${f}.${frame}.npy`);
    const n = spawnSync(cli, ['preprocess', '--schema', schema, '--image', path.join(data, f), '--out', out, '--pixels', '--frame', String(frame + 1)], { encoding: 'utf8' });
    const w = core.decodeDicom(bytes, frame);
    if (n.status !== 0) {
      if (frame > 0) break;  // past the last frame, or refused as a whole
      if (w.ok) fails.push(`${f}: the browser reads it, localdx preprocess refuses it: ${n.stderr.trim()}`);
      else if (!n.stderr.includes(w.problems[0].message)) fails.push(`${f}: refused for another reason in the browser (${w.problems[0].message}) than natively (${n.stderr.trim()})`);
      else refused++;
      break;
    }
    if (!w.ok) { fails.push(`${f} frame ${frame + 1}: refused in the browser: ${JSON.stringify(w.problems)}`); break; }
    const mine = w.values, theirs = npy(out);
    if (!(mine instanceof Float64Array)) { fails.push(`${f}: decodeDicom's values are not a Float64Array`); break; }
    if (mine.length !== theirs.length) fails.push(`${f} frame ${frame + 1}: ${mine.length} values in the browser, ${theirs.length} natively`);
    else if (mine.some((v, i) => v !== theirs[i] && !(Number.isNaN(v) && Number.isNaN(theirs[i])))) fails.push(`${f} frame ${frame + 1}: the values differ`);
    else frames++;
    if (frame === 0) same++;
    if (frame + 1 >= w.frames) break;
  }
}
console.log(`${files.length} DICOM files: ${same} read identically in the browser and natively (${frames} frames), ${refused} refused by both with the same reason`);
if (same < 49) fails.push(`only ${same} files read`);
if (fails.length) { console.error('FAILED:\n  ' + fails.join('\n  ')); process.exit(1); }
