// web/validate-images.js — the Validate view of an imaging model: images and their labels CSV
// chosen together, each image scored by the batch worker (ONNX Runtime, as the Image view scores
// it), and the report made by the app's core on this device (shared/metrics/image_validation.h,
// the run `localdx evaluate --images` makes on the same outputs). Nothing read here leaves the page.
//
// Index of this file
//   [SECTION] Files chosen (several images and one CSV)
//   [SECTION] The images scored, and the report
'use strict';
import { page, announce, showError, pageProblem, pageSentence, pageFailure, Refused } from './page-state.js';
import { callWorker, workerModel } from './batch.js';

//-----------------------------------------------------------------------------
// [SECTION] Files chosen
//-----------------------------------------------------------------------------
let chooser = null;
function chooserInput() {
  if (!chooser) {
    chooser = document.createElement('input');
    chooser.type = 'file';
    chooser.multiple = true;
    chooser.hidden = true;
    chooser.accept = '.csv,text/csv,.dcm,.dicom,application/dicom,.png,image/png,.jpg,.jpeg,image/jpeg';
    document.body.append(chooser);
  }
  return chooser;
}

export function openLabelledImages() {
  const input = chooserInput();
  input.value = '';
  input.onchange = () => {
    if (input.files.length) validateImages([...input.files]).catch((e) => showError(String(e.message || e)));
  };
  input.click();
}

//-----------------------------------------------------------------------------
// [SECTION] The images scored, and the report
//-----------------------------------------------------------------------------
// The last run: the report (or the reasons) and the outputs the core was given.
let last = null;
export const lastImageValidation = () => last;

// One image's outputs as the core reads them (image_outputs_from_json): its size, probabilities
// and heat map, or why it was not scored.
function outputOf(name, result) {
  if (!result || !result.ok) return { image: name, problems: result?.problems?.length ? result.problems : pageProblem('image_undecodable').problems };
  return { image: name, width: result.header.width, height: result.header.height, probabilities: result.probabilities,
    map: { height: result.map.height, width: result.map.width, values: result.map.values } };
}

export async function validateImages(files) {
  if (!page.current || !page.current.info.imaging) throw new Refused(pageProblem(page.current ? 'not_imaging' : 'no_model'));
  const csvs = files.filter((f) => /\.csv$/i.test(f.name));
  const images = files.filter((f) => !/\.csv$/i.test(f.name));
  const labels = csvs.length === 1 ? csvs[0] : null;  // none or several: the core says what to choose
  const text = labels ? await labels.slice(0, page.current.info.max_patient_file_bytes + 1).text() : '';
  const on = await workerModel({ fileWaiting: true });
  const outputs = [];
  for (const [i, f] of images.entries()) {
    if (i % 10 === 0) announce(pageSentence('images_scoring', { i: i + 1, n: images.length }));
    let reply;
    try {
      reply = await callWorker({ type: 'image', blob: f }, [], null, on);
    } catch (e) {
      reply = { result: pageFailure(e) };
    }
    outputs.push(outputOf(f.name, reply.result));
  }
  const outputsJson = JSON.stringify({ images: outputs });
  const r = JSON.parse(page.M.appValidateImages(labels ? labels.name : '', text, outputsJson));
  last = { ...r, outputs: outputsJson };
  announce(r.headline ?? r.problems[0].message);
  return r;
}
