// wasm/core/core_classes.h — the C++ classes that embind exposes to JavaScript.
//
// CoreModel is a handle to one verified, parsed bundle; the page passes it to the app
// (appSetModel) so the page and the UI use the very same model object.
#pragma once
#include <emscripten/val.h>

#include <memory>
#include <string>
#include <vector>

#include "core_api.h"

namespace ldx {

inline std::string bytes_from_js(const emscripten::val& u8) {
    const size_t n = u8["length"].as<size_t>();
    std::string bytes(n, '\0');
    emscripten::val view(emscripten::typed_memory_view(n, reinterpret_cast<unsigned char*>(bytes.data())));
    view.call<void>("set", u8);
    return bytes;
}

inline std::vector<float> floats_from_js(const emscripten::val& f32) {
    const size_t n = f32["length"].as<size_t>();
    std::vector<float> out(n);
    emscripten::val view(emscripten::typed_memory_view(n, out.data()));
    view.call<void>("set", f32);
    return out;
}

// A Float32Array that owns a copy (the wasm memory may move when it grows).
inline emscripten::val floats_to_js(const std::vector<float>& v) {
    return emscripten::val::global("Float32Array").new_(emscripten::typed_memory_view(v.size(), v.data()));
}

inline std::vector<double> doubles_from_js(const emscripten::val& f64) {
    const size_t n = f64["length"].as<size_t>();
    std::vector<double> out(n);
    emscripten::val view(emscripten::typed_memory_view(n, out.data()));
    view.call<void>("set", f64);
    return out;
}

inline emscripten::val doubles_to_js(const std::vector<double>& v) {
    return emscripten::val::global("Float64Array").new_(emscripten::typed_memory_view(v.size(), v.data()));
}

class CoreModel {
public:
    explicit CoreModel(std::shared_ptr<LoadedModel> m) : m_(std::move(m)) {}
    std::string info() const { return core_model_info(*m_).dump(); }
    std::string predict(const std::string& record_json, bool explain) { return core_predict(*m_, record_json, explain).dump(); }
    std::string predictBatch(const std::string& text, bool explain, double now) {
        return core_predict_batch(*m_, text, explain, static_cast<int64_t>(now)).dump();
    }
    // The batch path without JSON per row: {meta (JSON text), table, features, margins}.
    emscripten::val predictBatchTable(const std::string& text, double now) {
        BatchTable b = core_predict_batch_table(*m_, text, static_cast<int64_t>(now));
        emscripten::val out = emscripten::val::object();
        out.set("meta", b.meta.dump());
        out.set("table", doubles_to_js(b.table));
        out.set("features", floats_to_js(b.features));
        out.set("margins", doubles_to_js(b.margins));
        return out;
    }
    std::string reportBatch(const std::string& pending, const emscripten::val& table, const emscripten::val& seeds, const std::string& day) const {
        return core_report_batch(*m_, pending, doubles_from_js(table), doubles_from_js(seeds), day).dump();
    }
    // Models that only ONNX Runtime runs: the rows to evaluate, and the result from its outputs.
    emscripten::val onnxInputs(const std::string& features_json, bool explain) const {
        return floats_to_js(core_onnx_inputs(*m_, features_json, explain));
    }
    std::string finish(const std::string& pending_json, const emscripten::val& outputs, bool explain) const {
        return core_finish(*m_, pending_json, floats_from_js(outputs), explain).dump();
    }
    std::string finishBatch(const std::string& rows_json, const emscripten::val& outputs) const {
        return core_finish_batch(*m_, rows_json, floats_from_js(outputs)).dump();
    }
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
