// web/early.js — what the page starts before any of its other modules runs: the app's file names
// (assets.json) and ONNX Runtime Web in its worker.
//
// page.js imports this module first, so it runs before the page's other modules are evaluated and
// before the app's script and wasm arrive: ONNX Runtime's worker downloads and compiles its 14 MB
// module meanwhile, instead of starting once the page's thread is free of the app's start-up.
'use strict';

// The app's files named by their content (scripts/assemble-web writes assets.json).
export const assetsReady = fetch('assets.json').then((r) => r.json());

// ONNX Runtime Web in its proxy mode: its wasm compiles, and every session is created and run, in a
// worker of its own; this page only posts inputs and reads outputs. Opening a one-node model at once
// makes that worker download and compile its module. Resolves to the module.
export const ortReady = assetsReady.then(async (assets) => {
  const ort = await import('./' + assets.ort);
  ort.env.wasm.numThreads = 1;  // one patient at a time: a thread pool only costs start-up (same run time, measured)
  ort.env.wasm.proxy = true;
  ort.InferenceSession.create(assets.ort_warmup, { executionProviders: ['wasm'] }).catch((e) => console.warn('ONNX Runtime warm-up:', e.message));
  return ort;
});
ortReady.catch(() => {});  // reported by the model's check (predict.js, startOnnxChecks)
