// tests/node/load_core.mjs — the wasm core and ONNX Runtime Web under Node, with one bundle
// loaded and verified, for the Node tests (wasm_parity.mjs, external/mlp_check.mjs).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
export const ort = require(path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../web/node_modules/onnxruntime-web'));
ort.env.wasm.numThreads = 1;

// Returns { core, model, info } for BUNDLE verified against TRUST by the core at CORE.mjs; exits on refusal.
export async function loadBundle(corePath, bundlePath, trustPath) {
  // Emscripten 3.1.6's ES module output still reads __dirname and require() under Node.
  globalThis.__dirname = path.dirname(path.resolve(corePath));
  globalThis.require = require;
  const { default: createLocalDxCore } = await import(path.resolve(corePath));
  const core = await createLocalDxCore({ wasmBinary: readFileSync(path.resolve(corePath).replace(/\.mjs$/, '.wasm')) });
  const loaded = core.loadBundle(new Uint8Array(readFileSync(bundlePath)), readFileSync(trustPath, 'utf8'), Date.now() / 1000, '{}');
  if (!loaded.ok()) { console.error('load failed:', loaded.error()); process.exit(1); }
  const model = loaded.model();
  return { core, model, info: JSON.parse(model.info()) };
}
