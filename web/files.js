// web/files.js — the clinician's files in and out: the file pickers of the Batch, Validate and
// Image views, and the downloads the views offer (results as CSV). Nothing read here leaves the page.
//
// Index of this file
//   [SECTION] Files opened (patients, a labelled file, images)
//   [SECTION] Files saved
'use strict';
import { page, $, announce, showError, pageFailure } from './page-state.js';
import { scoreFile, scoreImages } from './batch.js';

//-----------------------------------------------------------------------------
// [SECTION] Files opened
//-----------------------------------------------------------------------------
export function openCsv() {
  const input = $('csv-file');
  input.value = '';
  input.onchange = async () => {
    const f = input.files[0];
    // A file past the core's limit is read only that far: the core refuses it with its reason.
    // A file the worker could not score (ONNX Runtime's files stopped arriving in it) is said so.
    if (f) await scoreFile(f.name, await f.slice(0, page.current.info.max_patient_file_bytes + 1).text()).catch((e) => showError(pageFailure(e).problems[0].message));
  };
  input.click();
}

// The Validate view's file: read here, scored and evaluated by the app's core on this device.
export function openLabelled() {
  const input = $('csv-file');
  input.value = '';
  input.onchange = async () => {
    const f = input.files[0];
    if (f) validate(f.name, await f.slice(0, page.current.info.max_patient_file_bytes + 1).text());
  };
  input.click();
}
// The report (or the reasons), and its headline said to a screen reader as the report appears:
// the line the view shows above the figures, or the first reason the file was refused.
export function validate(name, text) {
  const r = JSON.parse(page.M.appValidate(name, text));
  announce(r.headline ?? r.problems[0].message);  // the core's words (validation_headline; the call's own refusal)
  return r;
}

export function openImages() {
  const input = $('image-file');
  input.value = '';
  input.onchange = () => { if (input.files.length) scoreImages([...input.files]).catch((e) => showError(String(e.message || e))); };
  input.click();
}

//-----------------------------------------------------------------------------
// [SECTION] Files saved
//-----------------------------------------------------------------------------
export function download(arg) {
  const { name, text } = JSON.parse(arg);
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
