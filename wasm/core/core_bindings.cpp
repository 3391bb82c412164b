// wasm/core/core_bindings.cpp — embind surface of the browser core (localdx_core.mjs).
//
// JS usage:
//   const core = await createLocalDxCore();
//   const r = core.loadBundle(bundleU8, trustText, Date.now() / 1000, minVersion);
//   if (!r.ok()) show(r.error());  else { const m = r.model(); m.predict('{"age": 50}', true); }
// Strings in, JSON strings out: the page parses them once.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include "core_api.h"

using namespace emscripten;

namespace {

std::string bytes_from(const val& u8) {
    const size_t n = u8["length"].as<size_t>();
    std::string bytes(n, '\0');
    val view(typed_memory_view(n, reinterpret_cast<unsigned char*>(bytes.data())));
    view.call<void>("set", u8);
    return bytes;
}

class CoreModel {
public:
    explicit CoreModel(std::shared_ptr<ldx::LoadedModel> m) : m_(std::move(m)) {}
    std::string info() const { return ldx::core_model_info(*m_).dump(); }
    std::string predict(const std::string& record_json, bool explain) { return ldx::core_predict(*m_, record_json, explain).dump(); }
    std::string predictCsv(const std::string& csv, bool explain) { return ldx::core_predict_csv(*m_, csv, explain).dump(); }
    val onnx() const { return val(typed_memory_view(m_->model.onnx.size(), reinterpret_cast<const unsigned char*>(m_->model.onnx.data()))); }

private:
    std::shared_ptr<ldx::LoadedModel> m_;
};

class LoadOutcome {
public:
    explicit LoadOutcome(ldx::LoadResult r) : r_(std::move(r)) {}
    bool ok() const { return r_.model != nullptr; }
    std::string error() const { return r_.error.dump(); }
    CoreModel model() const { return CoreModel(r_.model); }

private:
    ldx::LoadResult r_;
};

LoadOutcome load_bundle(const val& u8, const std::string& trust_json, double now, double min_version) {
    return LoadOutcome(ldx::core_load_bundle(bytes_from(u8), trust_json, static_cast<int64_t>(now), static_cast<int64_t>(min_version)));
}

}  // namespace

EMSCRIPTEN_BINDINGS(localdx_core) {
    class_<CoreModel>("CoreModel")
        .function("info", &CoreModel::info)
        .function("predict", &CoreModel::predict)
        .function("predictCsv", &CoreModel::predictCsv)
        .function("onnx", &CoreModel::onnx);
    class_<LoadOutcome>("LoadOutcome")
        .function("ok", &LoadOutcome::ok)
        .function("error", &LoadOutcome::error)
        .function("model", &LoadOutcome::model);
    function("loadBundle", &load_bundle);
}
