// web/compile.js — a wasm module compiled while it downloads, for Emscripten's instantiateWasm
// hook: the app's module on the page (page.js) and the core's in the batch worker (batch-worker.js).
//
// WebAssembly.compileStreaming compiles off the calling thread as the bytes arrive, so the module
// compiles while the app's script downloads, not after. A browser that keeps compiled wasm for the
// next visit keeps only a module compiled this way, from a Response of its own fetch (from its HTTP
// cache or the service worker's cache); docs/architecture.md says when Chromium does.
'use strict';

// Starts the download and compile of `url` at once; returns Emscripten's instantiateWasm hook,
// and `failed`, a promise that rejects if the module cannot be compiled or instantiated (the hook
// then never answers Emscripten, so its caller races the two).
export function compiledWasm(url) {
  const compiled = WebAssembly.compileStreaming(fetch(url));
  let fail;
  const failed = new Promise((_, reject) => { fail = reject; });
  compiled.catch(() => {});  // reported through `failed` once the hook is used
  const instantiateWasm = (imports, receive) => {
    compiled.then((module) => WebAssembly.instantiate(module, imports).then((instance) => receive(instance, module))).catch(fail);
    return {};  // Emscripten: the exports arrive later, through receive
  };
  return { instantiateWasm, failed, compiled };
}
