// wasm/core/core_classes.h — the C++ classes that embind exposes to JavaScript.
//
// CoreModel is a handle to one verified, parsed bundle; the page passes it to the app
// (appSetModel) so the page and the UI use the very same model object. CoreBatchFile is one
// file of patients read once, scored in parts by the batch worker and its helper.
#pragma once
#include <emscripten/val.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "client/core_api.h"
#include "client/page_words.h"
#include "boundary.h"
#include "drift/report.h"
#include "imaging/dicom.h"

namespace ldx {

// The DICOM decoder this module hands the core: DCMTK's (library localdx_dicom) in the batch
// worker's module, none in the page's own, which never decodes images (the core then refuses a
// DICOM file with the reason). Chosen where each module is linked (wasm/CMakeLists.txt).
#ifdef LOCALDX_WITH_DICOM
inline constexpr DicomDecoder kDicomDecoder = &dicom_decode;
#else
inline constexpr DicomDecoder kDicomDecoder = nullptr;
#endif

using boundary::array_from_js;
using boundary::bytes_from_js;

template <class T>
emscripten::val array_to_js(const std::vector<T>& v) {
    const char* type = sizeof(T) == 4 ? "Float32Array" : "Float64Array";
    return emscripten::val::global(type).new_(emscripten::typed_memory_view(v.size(), v.data()));
}

inline emscripten::val table_to_js(BatchTable b) {
    emscripten::val out = emscripten::val::object();
    out.set("meta", json_dump(b.meta));
    out.set("table", array_to_js(b.table));
    out.set("features", array_to_js(b.features));
    out.set("margins", array_to_js(b.margins));
    return out;
}

// A random seed from JavaScript (53 bits from crypto.getRandomValues); anything else is 0.
inline uint64_t seed_from_js(double seed) {
    return seed >= 0 && seed < 9007199254740992.0 && seed == std::floor(seed) ? static_cast<uint64_t>(seed) : 0;
}

// Part numbers from JavaScript: anything but whole numbers in range becomes {0, 0}, which the
// core refuses with the problem "bad_part".
inline BatchPart batch_part_from_js(double part, double parts) {
    const bool whole = part >= 0 && parts >= 1 && parts <= static_cast<double>(kMaxBatchParts) &&
                       part == std::floor(part) && parts == std::floor(parts);
    return whole ? BatchPart{static_cast<size_t>(part), static_cast<size_t>(parts)} : BatchPart{0, 0};
}

// A file of patients read once by one thread (core_api.h, BatchFile), scored part by part.
class CoreBatchFile {
public:
    CoreBatchFile(std::shared_ptr<LoadedModel> m, BatchFile f) : m_(std::move(m)), f_(std::move(f)) {}
    double rows() const { return static_cast<double>(f_.rows.size()); }
    // How many parts to score it in (core_batch_part_count).
    double parts() const { return static_cast<double>(core_batch_part_count(f_.rows.size())); }
    // report_day "" : no reports; else the part's reports, seeded from report_seed (a 53-bit integer).
    emscripten::val table(double part, double parts, const std::string& report_day, double report_seed) {
        return table_to_js(core_batch_table(*m_, f_, batch_part_from_js(part, parts),
                                            BatchReport{report_day, seed_from_js(report_seed)}));
    }

private:
    std::shared_ptr<LoadedModel> m_;
    BatchFile f_;
};

// One image through an imaging model (core_api.h, Imaging models): the page asks for inputs,
// runs them in ONNX Runtime, gives the outputs back, until pending() is 0; then result().
class CoreImageJob {
public:
    CoreImageJob(std::shared_ptr<LoadedModel> m, ImageStart s) : m_(std::move(m)), s_(std::move(s)) {}
    bool ok() const { return s_.job.has_value(); }
    std::string error() const { return json_dump(s_.error); }
    std::string header() const { return json_dump(s_.header); }
    double pending() const { return s_.job ? static_cast<double>(core_image_pending(*m_, *s_.job)) : 0; }
    // Up to max_count images of the stage, as one Float32Array [count, C, H, W].
    emscripten::val inputs(double max_count) const {
        if (!s_.job) return array_to_js(std::vector<float>{});
        return array_to_js(core_image_inputs(*m_, *s_.job, boundary::whole_or(max_count, 0)));
    }
    std::string give(const emscripten::val& probabilities, const emscripten::val& map, double explained) {
        if (!s_.job) return error();
        const int e = explained >= 0 && explained < 1000 ? static_cast<int>(explained) : -1;
        return json_dump(
            core_image_give(*m_, *s_.job, array_from_js<float>(probabilities), array_from_js<float>(map), e));
    }
    std::string result() const { return s_.job ? json_dump(core_image_result(*m_, *s_.job)) : error(); }
    // What the clinician is shown: {width, height, grey: Uint8Array} (a copy).
    emscripten::val display() const {
        emscripten::val out = emscripten::val::object();
        out.set("width", s_.display.width);
        out.set("height", s_.display.height);
        out.set("grey", emscripten::val::global("Uint8Array")
                            .new_(emscripten::typed_memory_view(s_.display.grey.size(), s_.display.grey.data())));
        return out;
    }

private:
    std::shared_ptr<LoadedModel> m_;
    ImageStart s_;
};

class CoreModel {
public:
    explicit CoreModel(std::shared_ptr<LoadedModel> m) : m_(std::move(m)) {}
    std::string info() const { return json_dump(core_model_info(*m_)); }
    std::string predict(const std::string& record_json, bool explain) {
        return json_dump(core_predict(*m_, record_json, explain));
    }
    std::string predictBatch(const std::string& text, bool explain, double now) {
        return json_dump(core_predict_batch(*m_, text, explain, static_cast<int64_t>(now)));
    }
    // The batch path without JSON per row: the file read once, then scored in parts, each
    // {meta (JSON text), table, features, margins} (CoreBatchFile above; free it with .delete()).
    CoreBatchFile openBatch(const std::string& text, double now) const {
        return CoreBatchFile(m_, core_open_batch(*m_, text, static_cast<int64_t>(now)));
    }
    std::string warmUpCsv(double rows) const { return core_warm_up_csv(*m_, boundary::whole_or(rows, -1)); }
    // A file's part reports (each part's meta "reports", as a JSON array) joined with the pending one.
    std::string reportMerge(const std::string& pending, const std::string& parts_json, const std::string& day) const {
        return json_dump(core_report_merge(*m_, pending, parts_json, day));
    }
    // Models that only ONNX Runtime runs: the rows to evaluate, and the result from its outputs.
    emscripten::val onnxInputs(const std::string& features_json, bool explain) const {
        return array_to_js(core_onnx_inputs(*m_, features_json, explain));
    }
    std::string finish(const std::string& pending_json, const emscripten::val& outputs, bool explain) const {
        return json_dump(core_finish(*m_, pending_json, array_from_js<float>(outputs), explain));
    }
    // report_day "" : no reports; else the rows' reports, seeded from report_seed (a 53-bit integer).
    emscripten::val finishBatch(const std::string& rows_json, const emscripten::val& outputs,
                                const std::string& report_day, double report_seed) const {
        return table_to_js(core_finish_batch(*m_, rows_json, array_from_js<float>(outputs),
                                             BatchReport{report_day, seed_from_js(report_seed)}));
    }
    emscripten::val onnx() const {
        return emscripten::val(emscripten::typed_memory_view(
            m_->model.onnx.size(), reinterpret_cast<const unsigned char*>(m_->model.onnx.data())));
    }
    // ONNX Runtime's cross-check (core_api.h): the page passes ONNX Runtime's numbers, the core decides.
    std::string check(const std::string& result_json, const emscripten::val& probabilities,
                      const emscripten::val& margin) const {
        return json_dump(
            core_check(*m_, result_json, array_from_js<float>(probabilities), array_from_js<float>(margin)));
    }
    std::string checkTable(const emscripten::val& table, const emscripten::val& margins,
                           const emscripten::val& probabilities, const emscripten::val& onnx_margins,
                           double margin_width) const {
        return json_dump(
            core_check_table(*m_, array_from_js<double>(table), array_from_js<double>(margins),
                             array_from_js<float>(probabilities), array_from_js<float>(onnx_margins),
                             margin_width >= 0 && margin_width < 1e6 ? static_cast<size_t>(margin_width) : 0));
    }
    std::string checkBackground(const emscripten::val& outputs) const {
        return json_dump(core_check_background(*m_, array_from_js<float>(outputs)));
    }
    std::string reportAdd(const std::string& pending, const std::string& prediction, const std::string& day,
                          double seed) {
        return json_dump(core_report_add(*m_, pending, prediction, day, static_cast<uint64_t>(seed)));
    }
    // Whether two predictions' values are the same patient (what-if edits count once; report.h).
    std::string samePatient(const std::string& previous, const std::string& next) const {
        return json_dump(core_same_patient(previous, next));
    }
    // Imaging models: which decoder a file goes to (its first bytes), or why the model refuses it
    // (a PNG or JPEG file is checked whole: give all of its bytes). Only the bytes the check reads
    // are copied into wasm (core_image_kind_needs): a DICOM file's first few, not the whole file.
    std::string imageKind(const emscripten::val& bytes) const {
        const size_t needs = core_image_kind_needs(bytes_from_js(bytes, kImageSniffBytes));
        return json_dump(core_image_kind(*m_, bytes_from_js(bytes, needs)));
    }
    // An image the browser decoded (RGBA), or a DICOM file's bytes.
    CoreImageJob imageJob(const emscripten::val& rgba, double width, double height) const {
        const std::string bytes = bytes_from_js(rgba);
        return CoreImageJob(m_, core_image_start(*m_, {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()},
                                                 boundary::whole_or(width, 0), boundary::whole_or(height, 0)));
    }
    CoreImageJob imageJobDicom(const emscripten::val& file, double frame) const {
        return CoreImageJob(
            m_, core_image_start_dicom(*m_, kDicomDecoder, bytes_from_js(file), boundary::whole_or(frame, -1)));
    }
    // The bundle's check images (Float32Array) and ONNX Runtime's probabilities for them.
    emscripten::val checkTensors() const { return array_to_js(m_->model.check_tensors); }
    std::string checkImages(const emscripten::val& outputs) const {
        return json_dump(core_check_images(*m_, array_from_js<float>(outputs)));
    }
    const std::shared_ptr<LoadedModel>& shared() const { return m_; }

private:
    std::shared_ptr<LoadedModel> m_;
};

class LoadOutcome {
public:
    explicit LoadOutcome(LoadResult r) : r_(std::move(r)) {}
    bool ok() const { return r_.model != nullptr; }
    std::string error() const { return json_dump(r_.error); }
    CoreModel model() const { return CoreModel(r_.model); }

private:
    LoadResult r_;
};

inline LoadOutcome load_bundle_js(const emscripten::val& u8, const std::string& trust_json, double now,
                                  const std::string& floors_json) {
    return LoadOutcome(core_load_bundle(bytes_from_js(u8), trust_json, static_cast<int64_t>(now), floors_json));
}

// A DICOM file's stored values as the core decodes them (for the wasm-against-native parity test):
// {ok, width, height, channels, frames, values: Float64Array} or {ok: false, problems: [...]}.
inline emscripten::val decode_dicom_js(const emscripten::val& file, double frame) {
    emscripten::val out = emscripten::val::object();
    if (!kDicomDecoder)
        return boundary::failure<emscripten::val>(
            {problem("unsupported_dicom", "DICOM files are not read here: this module has no DICOM decoder")});
    const int64_t f = boundary::whole_or(frame, 0);
    auto p = kDicomDecoder(bytes_from_js(file), f >= 0 && f < kMaxDicomFrames ? static_cast<int>(f) : 0);
    if (!p) return boundary::failure<emscripten::val>(p.problems());
    out.set("ok", true);
    out.set("width", p->width);
    out.set("height", p->height);
    out.set("channels", p->channels);
    out.set("frames", p->frames);
    // Always a Float64Array: samples held in single precision (imaging/image_input.h, Samples)
    // are widened by JavaScript, outside the wasm memory.
    out.set("values", p->values.visit([](const auto& v) {
        return emscripten::val::global("Float64Array").new_(emscripten::typed_memory_view(v.size(), v.data()));
    }));
    return out;
}

// A file's parts as the batch worker holds them ([{meta (JSON text), table, features, margins}],
// in part order), joined by the core (core_batch_join_meta): one {meta, table, features, margins}.
// The numbers go end to end from the parts' arrays straight into the joined ones, in JavaScript:
// tens of MB that a copy into the wasm heap and back out would only move twice more.
inline emscripten::val join_batch_parts_js(const emscripten::val& parts) {
    if (!parts.isArray() || parts["length"].as<size_t>() > kMaxBatchParts)
        throw boundary::BadArgument("expected a file's parts (an array of at most " + std::to_string(kMaxBatchParts) +
                                    ")");
    const size_t n = parts["length"].as<size_t>();
    static constexpr const char* kArrays[3][2] = {
        {"table", "Float64Array"}, {"features", "Float32Array"}, {"margins", "Float64Array"}};
    std::vector<Json> metas(n);
    std::vector<BatchPartSizes> sizes(n);
    for (size_t i = 0; i < n; ++i) {
        const emscripten::val p = parts[i];
        if (p.isNull() || p.isUndefined()) throw boundary::BadArgument("part " + std::to_string(i) + " is missing");
        const std::string meta = boundary::from_js<std::string>(p["meta"], 0);
        auto parsed = json_parse(meta, "batch part", JsonLimits{512u << 20, 8});
        metas[i] = parsed ? std::move(*parsed) : Json(nullptr);  // refused by the join, as any bad part
        size_t* size[3] = {&sizes[i].table, &sizes[i].features, &sizes[i].margins};
        for (size_t a = 0; a < 3; ++a) {
            const emscripten::val array = p[kArrays[a][0]];
            if (!array.instanceof (emscripten::val::global(kArrays[a][1])))
                throw boundary::BadArgument("part " + std::to_string(i) + "'s " + kArrays[a][0] + " is not a " +
                                            kArrays[a][1]);
            *size[a] = array["length"].as<size_t>();
        }
    }
    auto meta = core_batch_join_meta(metas, sizes);
    if (!meta) return boundary::failure<emscripten::val>(meta.problems());
    emscripten::val out = emscripten::val::object();
    out.set("meta", json_dump(*meta));
    for (size_t a = 0; a < 3; ++a) {
        size_t total = 0;
        for (const BatchPartSizes& s : sizes) total += a == 0 ? s.table : a == 1 ? s.features : s.margins;
        emscripten::val joined = emscripten::val::global(kArrays[a][1]).new_(total);
        size_t at = 0;
        for (size_t i = 0; i < n; ++i) {
            const emscripten::val array = parts[i][kArrays[a][0]];
            joined.call<void>("set", array, at);
            at += array["length"].as<size_t>();
        }
        out.set(kArrays[a][0], joined);
    }
    return out;
}

// When reports are sent and which days are kept at `now` (drift/report.h, report_timing_json),
// in seconds as the page counts them (Date.now() / 1000: with a fraction).
inline std::string report_timing_js(double now) {
    return json_dump(report_timing_json(std::max<int64_t>(0, boundary::whole_or(std::floor(now), 0))));
}

// What the page shows for what only it notices (client/page_words.h), by id: the envelope
// {"ok": false, "problems": [one]} as JSON text.
inline std::string page_problem_js(const std::string& id, const std::string& detail) {
    return json_dump(problems_envelope({page_problem(id, detail)}));
}

// A status line the page shows (client/page_words.h, page_sentence), by id with its details as
// JSON text: {"ok": true, "text": ...}, or the envelope (a fault of the page's).
inline std::string page_sentence_js(const std::string& id, const std::string& details) {
    auto parsed = json_parse(details, "the page's details", JsonLimits{64u << 10, 4});
    if (!parsed) return json_dump(problems_envelope(parsed.problems()));
    auto said = page_sentence(id, *parsed);
    if (!said) return json_dump(problems_envelope(said.problems()));
    return json_dump(Json{{"ok", true}, {"text", *said}});
}

inline std::string verify_index_js(const std::string& index, const std::string& trust, double now, double min_version) {
    return json_dump(core_verify_index(index, trust, static_cast<int64_t>(now), static_cast<int64_t>(min_version)));
}

}  // namespace ldx
