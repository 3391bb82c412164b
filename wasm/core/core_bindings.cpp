// wasm/core/core_bindings.cpp — embind surface of the core (in localdx_core.mjs and the app).
//
// JS usage:
//   const r = core.loadBundle(bundleU8, trustText, Date.now() / 1000, floorsJson);  // {"name": version}
//   if (r.ok === false) show(r.problems);                     // the call itself failed (boundary.h)
//   else if (!r.ok()) show(JSON.parse(r.error()).problems);   // refused: the same envelope
//   else { const m = r.model(); m.predict('{"age": 50}', true); }
// Strings in, JSON strings out: the page parses them once. Every binding is registered through
// boundary.h (boundary::function, boundary::Class), never emscripten::function or class_ directly:
// tests/node/every_binding.mjs reads the bindings from this file and the app's, and calls each one.
#include <emscripten/bind.h>
#include <malloc.h>

#include "boundary.h"
#include "core_classes.h"

namespace {
// Bytes of the wasm heap in use (for the test that replaced models are freed, not kept).
double heap_in_use() { return static_cast<double>(mallinfo().uordblks); }
}  // namespace

EMSCRIPTEN_BINDINGS(localdx_core) {
    using namespace ldx;
    namespace b = ldx::boundary;
    b::Class<CoreModel>("CoreModel")
        .method<&CoreModel::info>("info")
        .method<&CoreModel::predict>("predict")
        .method<&CoreModel::predictBatch>("predictBatch")
        .method<&CoreModel::openBatch>("openBatch")
        .method<&CoreModel::warmUpCsv>("warmUpCsv")
        .method<&CoreModel::reportMerge>("reportMerge")
        .method<&CoreModel::onnx>("onnx")
        .method<&CoreModel::onnxInputs>("onnxInputs")
        .method<&CoreModel::finish>("finish")
        .method<&CoreModel::finishBatch>("finishBatch")
        .method<&CoreModel::check>("check")
        .method<&CoreModel::checkTable>("checkTable")
        .method<&CoreModel::checkBackground>("checkBackground")
        .method<&CoreModel::reportAdd>("reportAdd")
        .method<&CoreModel::samePatient>("samePatient")
        .method<&CoreModel::imageKind>("imageKind")
        .method<&CoreModel::imageJob>("imageJob")
        .method<&CoreModel::imageJobDicom>("imageJobDicom")
        .method<&CoreModel::checkTensors>("checkTensors")
        .method<&CoreModel::checkImages>("checkImages");
    b::Class<CoreImageJob>("CoreImageJob")
        .method<&CoreImageJob::ok>("ok")
        .method<&CoreImageJob::error>("error")
        .method<&CoreImageJob::header>("header")
        .method<&CoreImageJob::pending>("pending")
        .method<&CoreImageJob::inputs>("inputs")
        .method<&CoreImageJob::give>("give")
        .method<&CoreImageJob::result>("result")
        .method<&CoreImageJob::display>("display");
    b::Class<CoreBatchFile>("CoreBatchFile")
        .method<&CoreBatchFile::rows>("rows")
        .method<&CoreBatchFile::parts>("parts")
        .method<&CoreBatchFile::table>("table");
    b::Class<LoadOutcome>("LoadOutcome")
        .method<&LoadOutcome::ok>("ok")
        .method<&LoadOutcome::error>("error")
        .method<&LoadOutcome::model>("model");
    b::function<&load_bundle_js>("loadBundle");
    b::function<&verify_index_js>("verifyIndex");
    b::function<&page_problem_js>("pageProblem");
    b::function<&page_sentence_js>("pageSentence");
    b::function<&join_batch_parts_js>("joinBatchParts");
    b::function<&report_timing_js>("reportTiming");
    b::function<&heap_in_use>("heapInUse");
    b::function<&decode_dicom_js>("decodeDicom");
    b::function<&b::table_json>("boundaryTable");
}
