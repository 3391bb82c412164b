// wasm/core/core_bindings.cpp — embind surface of the core (in localdx_core.mjs and the app).
//
// JS usage:
//   const r = core.loadBundle(bundleU8, trustText, Date.now() / 1000, minVersion);
//   if (!r.ok()) show(JSON.parse(r.error()));  else { const m = r.model(); m.predict('{"age": 50}', true); }
// Strings in, JSON strings out: the page parses them once.
#include <emscripten/bind.h>
#include <malloc.h>

#include "core_classes.h"

using namespace emscripten;

namespace {
// Bytes of the wasm heap in use (for the test that replaced models are freed, not kept).
double heap_in_use() { return static_cast<double>(mallinfo().uordblks); }
}  // namespace

EMSCRIPTEN_BINDINGS(localdx_core) {
    class_<ldx::CoreModel>("CoreModel")
        .function("info", &ldx::CoreModel::info)
        .function("predict", &ldx::CoreModel::predict)
        .function("predictBatch", &ldx::CoreModel::predictBatch)
        .function("openBatch", &ldx::CoreModel::openBatch)
        .function("warmUpCsv", &ldx::CoreModel::warmUpCsv)
        .function("reportMerge", &ldx::CoreModel::reportMerge)
        .function("onnx", &ldx::CoreModel::onnx)
        .function("onnxInputs", &ldx::CoreModel::onnxInputs)
        .function("finish", &ldx::CoreModel::finish)
        .function("finishBatch", &ldx::CoreModel::finishBatch)
        .function("check", &ldx::CoreModel::check)
        .function("checkTable", &ldx::CoreModel::checkTable)
        .function("checkBackground", &ldx::CoreModel::checkBackground)
        .function("reportAdd", &ldx::CoreModel::reportAdd)
        .function("samePatient", &ldx::CoreModel::samePatient)
        .function("imageJob", &ldx::CoreModel::imageJob)
        .function("imageJobDicom", &ldx::CoreModel::imageJobDicom)
        .function("checkTensors", &ldx::CoreModel::checkTensors)
        .function("checkImages", &ldx::CoreModel::checkImages);
    class_<ldx::CoreImageJob>("CoreImageJob")
        .function("ok", &ldx::CoreImageJob::ok)
        .function("error", &ldx::CoreImageJob::error)
        .function("header", &ldx::CoreImageJob::header)
        .function("pending", &ldx::CoreImageJob::pending)
        .function("inputs", &ldx::CoreImageJob::inputs)
        .function("give", &ldx::CoreImageJob::give)
        .function("result", &ldx::CoreImageJob::result)
        .function("display", &ldx::CoreImageJob::display);
    class_<ldx::CoreBatchFile>("CoreBatchFile")
        .function("rows", &ldx::CoreBatchFile::rows)
        .function("table", &ldx::CoreBatchFile::table);
    class_<ldx::LoadOutcome>("LoadOutcome")
        .function("ok", &ldx::LoadOutcome::ok)
        .function("error", &ldx::LoadOutcome::error)
        .function("model", &ldx::LoadOutcome::model);
    function("loadBundle", &ldx::load_bundle_js);
    function("verifyIndex", &ldx::verify_index_js);
    function("heapInUse", &heap_in_use);
    function("decodeDicom", &ldx::decode_dicom_js);
}
