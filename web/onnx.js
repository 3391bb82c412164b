// web/onnx.js — running a bundle's model in ONNX Runtime Web, for the page (predict.js) and the
// batch worker (batch-worker.js): the same input packing and call in both.
//
// The core gives feature vectors (null = missing); ONNX Runtime takes one float tensor
// [N, features] under the model's input name (info.onnx.input, from the core's model info).

// Rows of the core's JSON (each with "features") as one Float32Array, NaN for missing values.
export function packFeatures(rows, F) {
  const x = new Float32Array(rows.length * F);
  rows.forEach((r, i) => r.features.forEach((v, j) => { x[i * F + j] = v === null ? NaN : v; }));
  return x;
}

// Runs the model on x (rows x F floats); returns every output tensor by name.
export async function runOnnx(ort, session, info, x) {
  const F = info.num_features;
  return session.run({ [info.onnx.input]: new ort.Tensor('float32', x, [x.length / F, F]) });
}
