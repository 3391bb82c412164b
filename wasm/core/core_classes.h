// wasm/core/core_classes.h — the C++ classes that embind exposes to JavaScript.
//
// CoreModel is a handle to one verified, parsed bundle; the page passes it to the app
// (appSetModel) so the page and the UI use the very same model object.
#pragma once
#include <emscripten/val.h>

#include <memory>
#include <string>

#include "core_api.h"

namespace ldx {

inline std::string bytes_from_js(const emscripten::val& u8) {
    const size_t n = u8["length"].as<size_t>();
    std::string bytes(n, '\0');
    emscripten::val view(emscripten::typed_memory_view(n, reinterpret_cast<unsigned char*>(bytes.data())));
    view.call<void>("set", u8);
    return bytes;
}

class CoreModel {
public:
    explicit CoreModel(std::shared_ptr<LoadedModel> m) : m_(std::move(m)) {}
    std::string info() const { return core_model_info(*m_).dump(); }
    std::string predict(const std::string& record_json, bool explain) { return core_predict(*m_, record_json, explain).dump(); }
    std::string predictCsv(const std::string& csv, bool explain) { return core_predict_csv(*m_, csv, explain).dump(); }
    emscripten::val onnx() const {
        return emscripten::val(emscripten::typed_memory_view(m_->model.onnx.size(), reinterpret_cast<const unsigned char*>(m_->model.onnx.data())));
    }
    std::string reportAdd(const std::string& pending, const std::string& prediction, const std::string& day, double seed) {
        return core_report_add(*m_, pending, prediction, day, static_cast<uint64_t>(seed)).dump();
    }
    const std::shared_ptr<LoadedModel>& shared() const { return m_; }

private:
    std::shared_ptr<LoadedModel> m_;
};

class LoadOutcome {
public:
    explicit LoadOutcome(LoadResult r) : r_(std::move(r)) {}
    bool ok() const { return r_.model != nullptr; }
    std::string error() const { return r_.error.dump(); }
    CoreModel model() const { return CoreModel(r_.model); }

private:
    LoadResult r_;
};

inline LoadOutcome load_bundle_js(const emscripten::val& u8, const std::string& trust_json, double now, const std::string& floors_json) {
    return LoadOutcome(core_load_bundle(bytes_from_js(u8), trust_json, static_cast<int64_t>(now), floors_json));
}

inline std::string verify_index_js(const std::string& index, const std::string& trust, double now, double min_version) {
    return core_verify_index(index, trust, static_cast<int64_t>(now), static_cast<int64_t>(min_version)).dump();
}

}  // namespace ldx
