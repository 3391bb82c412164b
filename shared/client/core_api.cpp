// shared/client/core_api.cpp — see core_api.h.
#include "client/core_api.h"

#include <algorithm>
#include <optional>
#include <cmath>
#include <functional>
#include <map>
#include <random>

#include "conformal/conformal.h"
#include "csv/csv.h"
#include "bundle/models_index.h"
#include "drift/image_descriptors.h"
#include "drift/report.h"
#include "explain/points.h"
#include "predict/findings.h"
#include "record/fhir.h"
#include "record/record.h"

namespace ldx {

namespace {
Json failed(const std::vector<Problem>& ps) { return problems_envelope(ps); }
}  // namespace

BatchLayout batch_layout(const Schema& schema) {
    return BatchLayout{static_cast<size_t>(schema.num_outputs()), schema.fields.size()};
}

Json batch_layout_json(const BatchLayout& l) {
    return Json{{"stride", l.stride()}, {"probability", l.probability(0)},
                {"value", l.value(0)},  {"contribution", l.contribution(0)},
                {"base", l.base()},     {"predicted", l.predicted()},
                {"row", l.row()},       {"explained", l.explained()}};
}

LoadResult core_load_bundle(std::string_view bundle, std::string_view trust_json, int64_t now,
                            std::string_view floors_json) {
    LoadResult out;
    auto fail = [&](Problem p) {
        // What the page shows the clinician (bundle_refusal_words), then the technical reason.
        p.message = bundle_refusal_words(p.code) + " (" + p.message + ")";
        out.error = failed({std::move(p)});
        return out;
    };
    auto root = trust_root_parse(trust_json, now);
    if (!root) return fail(root.error());
    int64_t min_version = 0;
    if (auto floors = json_parse(floors_json, "rollback floors", JsonLimits{1u << 20, 4});
        floors && floors->is_object()) {
        if (auto m = bundle_peek_manifest(bundle);
            m && floors->contains(m->name) && (*floors)[m->name].is_number_integer())
            min_version = (*floors)[m->name].get<int64_t>();
    }
    auto v = bundle_verify(bundle, *root, VerifyPolicy{now, min_version, {}});
    if (!v) return fail(v.error());
    auto m = model_from_bundle(*v);
    if (!m) return fail(m.error());
    out.model = std::make_shared<LoadedModel>();
    out.model->model = std::move(*m);
    return out;
}

Json core_onnx_names(const LoadedModel& lm) {
    const Model& m = lm.model;
    if (m.sampler)
        return Json{{"input", m.sampler->input},
                    {"output", m.sampler->output},
                    {"margin", nullptr},
                    {"output_width", m.sampler->output_width},
                    {"rows_per_explanation", sampling_shapley_rows(*m.sampler)}};
    if (!m.ensemble) return nullptr;  // an imaging model: its tensors are in "imaging"
    const TreeOnnxNames names = tree_onnx_names(m.ensemble->link);
    return Json{{"input", names.input},
                {"output", names.output},
                {"margin", names.margin},
                {"output_width", m.schema.num_outputs()},
                {"rows_per_explanation", 1}};
}

Json core_model_info(const LoadedModel& lm) {
    const Model& m = lm.model;
    return Json{{"name", m.manifest.name},
                {"version", m.manifest.version},
                {"created", utc_format(m.manifest.created)},
                {"expires", utc_format(m.manifest.expires)},
                {"expires_unix", m.manifest.expires},
                {"signers", m.signers},
                {"sha256", m.sha256},
                {"explainer", m.manifest.explainer},
                {"covers", m.ensemble ? m.ensemble->covers : "none"},
                {"onnx", core_onnx_names(lm)},
                {"background", m.sampler ? Json{{"rows", m.sampler->background_rows()},
                                                {"features", m.sampler->background},
                                                {"probabilities", m.sampler->background_probabilities}}
                                         : Json(nullptr)},
                {"num_features", m.schema.features.size()},
                {"max_patient_file_bytes", kMaxPatientFileBytes},
                {"privacy",
                 [&] {
                     Json p = report_timing_json();  // when reports are sent and how long they are kept
                     p.update(Json{{"epsilon", m.schema.privacy.epsilon},
                                   {"histograms", report_histograms(m.schema)},
                                   {"epsilon_per_patient", report_epsilon_per_patient(m.schema)},
                                   {"k_min", m.schema.privacy.k_min}});
                     return p;
                 }()},
                {"imaging", m.imaging ? Json{{"model", image_model_to_json(*m.imaging)},
                                             {"occlusion_runs", occlusion_runs(*m.imaging, *m.schema.image)},
                                             {"deletion_runs", 2 * (kDeletionSteps + 1)}}
                                      : Json(nullptr)},
                {"schema", schema_to_json(m.schema)},
                {"card", m.card}};
}

namespace {

// A tree model is answered at once; any other model waits for ONNX Runtime (core_finish). A
// record below the model's minimum information gets no verdict (predict/information.h).
Json predict_or_pending(LoadedModel& lm, PreparedRecord prepared, bool explain) {
    const Schema& s = lm.model.schema;
    if (auto c = information_check(s, prepared.values); !c.enough) return incomplete_json(s, c, prepared);
    if (!lm.model.ensemble) {
        Json j = prepared_json(prepared);
        j["pending"] = "onnx";
        return j;
    }
    return prediction_json(lm.model, model_predict_features(lm.model, std::move(prepared), explain, lm.workspace),
                           explain);
}

}  // namespace

BatchFile core_open_batch(const LoadedModel& lm, std::string_view text, int64_t now) {
    const std::string ignore[] = {lm.model.schema.outputs.column};
    return patients_read(lm.model.schema, text, PatientReadOptions{now, ignore, {}});
}

namespace {

// A row below the model's minimum information: listed with the file's problems (the message that
// names the fields to enter), not scored.
void add_incomplete(const Schema& s, const InformationCheck& c, long row, const std::string& patient, Json& problems) {
    Problem p = information_problems(s, c, row).front();
    p.patient = patient;
    problems.push_back(problems_json(s, {p})[0]);
}

// Data rows [first, last) of an opened file: every record that validates and has the model's
// minimum information goes to `add` (prepared, with its 1-based row and its id); every problem,
// with its row and id, is appended to `problems`.
using AddRecord = std::function<void(PreparedRecord, long row, const std::string& patient)>;
void read_rows(const Schema& schema, const BatchFile& f, size_t first, size_t last, const AddRecord& add,
               Json& problems) {
    for (size_t i = first; i < last && i < f.rows.size(); ++i) {
        const PatientRow& r = f.rows[i];
        auto prepared = patient_prepare(schema, f, i);
        if (!prepared) {
            for (const auto& p : problems_json(schema, prepared.problems())) problems.push_back(p);
            continue;
        }
        if (auto c = information_check(schema, prepared->values); !c.enough) {
            add_incomplete(schema, c, r.row, r.id, problems);
            continue;
        }
        add(std::move(*prepared), r.row, r.id);
    }
}

// A prepared record back from its JSON (the features and values the core itself wrote).
PreparedRecord prepared_from_json(const Json& j) {
    PreparedRecord r;
    for (const auto& v : json_member(j, "features")) r.features.push_back(v.is_number() ? v.get<float>() : NAN);
    for (const auto& v : json_member(j, "values")) r.values.push_back(v.is_number() ? v.get<double>() : kNaN);
    for (const auto& w : json_member(j, "warnings"))
        r.warnings.push_back(problem(json_text_or(w, "code"), json_text_or(w, "message"), json_text_or(w, "field")));
    return r;
}

// The batch table (core_api.h, BatchTable), one row per prediction, in one place for tree
// models (core_batch_table) and for models that only ONNX Runtime runs (core_finish_batch).
class TableWriter {
public:
    explicit TableWriter(const Model& m) : m_(m), l_(batch_layout(m.schema)) {}

    void add(const Prediction& p, bool explained, long row, const std::string& patient) {
        const size_t at = out_.table.size();
        out_.table.resize(at + l_.stride(), 0.0);
        double* r = out_.table.data() + at;
        for (size_t c = 0; c < l_.classes; ++c) r[l_.probability(c)] = p.probabilities[c];
        for (size_t f = 0; f < l_.fields; ++f) r[l_.value(f)] = p.prepared.values[f];
        if (explained) {
            const int o = explanation_output(m_, p.predicted);
            const auto fields = contributions_by_field(m_.schema, p.explanation, o);
            for (size_t f = 0; f < l_.fields; ++f) r[l_.contribution(f)] = fields[f];
            r[l_.base()] = p.explanation.base[static_cast<size_t>(o)];
            if (bases_.empty()) bases_ = p.explanation.base;  // the same for every row of a tree model
            if (!of_.contains(std::to_string(o))) of_[std::to_string(o)] = explanation_labels(m_, o)["of"];
            for (int q = 0; q < p.explanation.num_outputs; ++q) {  // what ONNX Runtime's margin must equal
                double sum = p.explanation.base[static_cast<size_t>(q)];
                for (double c : p.explanation.output(q)) sum += c;
                out_.margins.push_back(sum);
            }
        }
        r[l_.predicted()] = p.predicted;
        r[l_.row()] = static_cast<double>(row);
        r[l_.explained()] = explained ? 1 : 0;
        out_.features.insert(out_.features.end(), p.prepared.features.begin(), p.prepared.features.end());
        Json w = Json::array();
        for (const auto& pr : p.prepared.warnings) w.push_back(warning_kind(pr.field, pr.message));
        warnings_.push_back(std::move(w));
        patients_.push_back(patient);
        any_patient_ = any_patient_ || !patient.empty();
    }

    BatchTable finish(Json problems, const std::string& format) {
        Json labels = explanation_labels(m_, 0);
        out_.meta =
            Json{{"rows", out_.table.size() / l_.stride()},
                 {"classes", l_.classes},
                 {"fields", l_.fields},
                 {"stride", l_.stride()},
                 {"layout", batch_layout_json(l_)},
                 {"outputs", m_.ensemble ? m_.ensemble->num_outputs : 0},
                 {"warnings", std::move(warnings_)},
                 {"warning_kinds", std::move(kinds_)},
                 {"patients", any_patient_ ? std::move(patients_) : Json(nullptr)},
                 {"problems", std::move(problems)},
                 {"format", format},
                 {"explanation", {{"of", of_}, {"kind", labels["kind"]}, {"unit", labels["unit"]}, {"bases", bases_}}}};
        return std::move(out_);
    }

private:
    // Warnings repeat across rows ("not given; the model does without it"): each distinct one
    // is stored once in warning_kinds and rows hold indices (10,000 rows: 2.3 MB -> 70 KB).
    size_t warning_kind(const std::string& field, const std::string& message) {
        auto [it, added] = kind_index_.try_emplace(field + '\n' + message, kinds_.size());
        if (added) kinds_.push_back({{"field", field}, {"message", message}});
        return it->second;
    }

    const Model& m_;
    BatchLayout l_;
    BatchTable out_;
    Json warnings_ = Json::array(), kinds_ = Json::array(), patients_ = Json::array(), of_ = Json::object();
    std::map<std::string, size_t> kind_index_;
    std::vector<double> bases_;  // every output's base value (explain/points.h needs them all)
    bool any_patient_ = false;
};
}  // namespace

Json core_predict(LoadedModel& lm, std::string_view record_json, bool explain) {
    const Model& m = lm.model;
    auto doc = json_parse(record_json, "patient record", JsonLimits{1u << 20, 4});
    if (!doc) return Json{{"ok", false}, {"problems", problems_json(doc.problems())}};
    auto raw = record_from_json(*doc);
    if (!raw) return Json{{"ok", false}, {"problems", problems_json(m.schema, raw.problems())}};
    auto prepared = record_prepare(m.schema, *raw);
    if (!prepared) return Json{{"ok", false}, {"problems", problems_json(m.schema, prepared.problems())}};
    return predict_or_pending(lm, std::move(*prepared), explain);
}

Json core_predict_batch(LoadedModel& lm, std::string_view text, bool explain, int64_t now) {
    const BatchFile file = core_open_batch(lm, text, now);
    Json out{{"rows", Json::array()},
             {"problems", problems_json(file.problems)},
             {"notices", problems_json(file.notices)},
             {"format", file.format},
             {"id_column", file.id_column}};
    read_rows(
        lm.model.schema, file, 0, file.rows.size(),
        [&](PreparedRecord prepared, long row, const std::string& patient) {
            Json j = predict_or_pending(lm, std::move(prepared), explain);
            j["row"] = row;
            if (!patient.empty()) j["patient"] = patient;
            out["rows"].push_back(std::move(j));
        },
        out["problems"]);
    return out;
}

namespace {
// A part's reports, from its predictions as they are made (BatchReport in core_api.h).
class PartReports {
public:
    PartReports(const Model& m, const BatchReport& r) : m_(m), r_(r), b_(fresh()) {}
    void add(const Prediction& p) {
        if (r_.day.empty()) return;
        // One generator per row: seeded from the part's seed and the row (splitmix64 of both).
        uint64_t z = r_.seed + 0x9e3779b97f4a7c15ull * (++rows_);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        std::mt19937_64 rng(z ^ (z >> 31));
        report_add(b_, p.prepared.values, p.probabilities, p.predicted, rng);
        if (b_.report.n >= kMaxReportPredictions) {
            complete_.push_back(report_to_json(b_.report));
            b_ = fresh();
        }
    }
    void into(BatchTable& t) const {
        if (r_.day.empty()) return;
        t.meta["reports"] = {{"complete", complete_},
                             {"pending", b_.report.n ? report_to_json(b_.report) : Json(nullptr)}};
    }

private:
    ReportBuilder fresh() const {
        return report_builder(m_.schema, m_.reference, m_.manifest.name, m_.manifest.version, r_.day);
    }
    const Model& m_;
    BatchReport r_;
    ReportBuilder b_;
    uint64_t rows_ = 0;
    Json complete_ = Json::array();
};
}  // namespace

BatchTable core_batch_table(LoadedModel& lm, const BatchFile& file, BatchPart part, const BatchReport& report) {
    if (file.rows.size() >= kBatchTablesFromRows) model_prepare_batch(lm.model);  // a large file's own table budget
    const Model& m = lm.model;
    TableWriter writer(m);
    PartReports reports(m, report);
    Json problems = Json::array();
    if (part.count == 0 || part.count > kMaxBatchParts || part.index >= part.count) {
        problems = problems_json(
            {problem("bad_part",
                     "a file is scored in parts numbered 0 to count - 1 (whole numbers), count from 1 to " +
                         std::to_string(kMaxBatchParts),
                     "part")});
    } else if (!m.ensemble) {
        problems = problems_json({problem("no_trees", "this model runs only in ONNX Runtime")});
    } else {
        const size_t n = file.rows.size(), first = n * part.index / part.count,
                     last = n * (part.index + 1) / part.count;
        if (part.index == 0) problems = problems_json(file.problems);
        std::vector<PreparedRecord> records;
        std::vector<std::pair<long, std::string>> ids;
        read_rows(
            m.schema, file, first, last,
            [&](PreparedRecord prepared, long row, const std::string& patient) {
                records.push_back(std::move(prepared));
                ids.emplace_back(row, patient);
            },
            problems);
        auto predictions = model_predict_batch(m, std::move(records), true, lm.workspace);
        for (size_t i = 0; i < predictions.size(); ++i) {
            writer.add(predictions[i], true, ids[i].first, ids[i].second);
            reports.add(predictions[i]);
        }
    }
    BatchTable out = writer.finish(std::move(problems), file.format);
    reports.into(out);
    out.meta["part"] = {{"index", part.index}, {"count", part.count}, {"rows_in_file", file.rows.size()}};
    out.meta["notices"] = part.index == 0 ? problems_json(file.notices) : Json::array();
    out.meta["id_column"] = file.id_column;
    return out;
}

size_t core_batch_part_count(size_t rows) {
    return std::clamp<size_t>((rows + kBatchPartRows - 1) / kBatchPartRows, 1, kMaxBatchParts);
}

Result<Json> core_batch_join_meta(std::span<const Json> metas, std::span<const BatchPartSizes> sizes) {
    const auto out_of_order = [&](size_t i) {
        return problem("bad_part",
                       "batch part " + std::to_string(i) + " of " + std::to_string(metas.size()) +
                           " is missing or out of order: parts are joined in order, each once",
                       "part");
    };
    if (metas.empty() || metas.size() > kMaxBatchParts || sizes.size() != metas.size()) return out_of_order(0);
    std::optional<size_t> feature_width;  // the model's features per row: the same in every part
    for (size_t i = 0; i < metas.size(); ++i) {
        const Json& m = metas[i];
        const Json& part = json_member(m, "part");
        if (json_int_in(part, "index", 0, INT64_MAX) != static_cast<int64_t>(i) ||
            json_int_in(part, "count", 1, INT64_MAX) != static_cast<int64_t>(metas.size()) ||
            !json_member(m, "rows").is_number_unsigned() || !json_member(m, "warnings").is_array() ||
            !json_member(m, "warning_kinds").is_array() || !json_member(m, "problems").is_array())
            return out_of_order(i);
        // Its numbers are its rows' (BatchLayout's stride, the ensemble's outputs), not another part's.
        const size_t rows = m["rows"].get<size_t>();
        const auto stride = json_int_in(m, "stride", 1, 1 << 20), outputs = json_int_in(m, "outputs", 0, 1 << 20);
        if (rows == 0 && (sizes[i].table || sizes[i].features || sizes[i].margins)) return out_of_order(i);
        if (rows == 0) continue;
        if (!stride || !outputs || sizes[i].table != rows * static_cast<size_t>(*stride) ||
            sizes[i].margins != rows * static_cast<size_t>(*outputs) || sizes[i].features % rows != 0 ||
            (feature_width && sizes[i].features / rows != *feature_width))
            return out_of_order(i);
        feature_width = sizes[i].features / rows;
    }
    const Json& first = metas[0];
    Json out = first;
    Json warnings = Json::array(), kinds = Json::array(), problems = Json::array(), reports = Json::array();
    Json of = Json::object(), patients = Json::array();
    std::map<std::string, size_t> kind_index;  // as TableWriter stores them: each distinct one once
    const bool any_patients =
        std::any_of(metas.begin(), metas.end(), [](const Json& m) { return json_member(m, "patients").is_array(); });
    size_t rows = 0;
    Json part_rows = Json::array();  // each part's rows in the joined table, in part order
    for (const Json& m : metas) {
        std::vector<size_t> mine;  // this part's warning kinds in the joined list
        for (const Json& k : m["warning_kinds"]) {
            const std::string field = json_text_or(k, "field"), message = json_text_or(k, "message");
            auto [it, added] = kind_index.try_emplace(field + '\n' + message, kinds.size());
            if (added) kinds.push_back(k);
            mine.push_back(it->second);
        }
        for (const Json& w : m["warnings"]) {
            Json row = Json::array();
            for (const Json& k : w)
                if (k.is_number_unsigned() && k.get<size_t>() < mine.size()) row.push_back(mine[k.get<size_t>()]);
            warnings.push_back(std::move(row));
        }
        const size_t n = m["rows"].get<size_t>();
        if (any_patients) {
            const Json& ids = json_member(m, "patients");
            for (size_t i = 0; i < n; ++i) patients.push_back(ids.is_array() && i < ids.size() ? ids[i] : Json(""));
        }
        for (const Json& q : m["problems"]) problems.push_back(q);
        for (const auto& [o, text] : json_member(json_member(m, "explanation"), "of").items()) of[o] = text;
        // Every output's base values: the same in every part that has rows.
        if (const Json& bases = json_member(json_member(m, "explanation"), "bases"); bases.is_array() && !bases.empty())
            out["explanation"]["bases"] = bases;
        if (m.contains("reports")) reports.push_back(m["reports"]);
        part_rows.push_back(n);
        rows += n;
    }
    out["rows"] = rows;
    out["warnings"] = std::move(warnings);
    out["warning_kinds"] = std::move(kinds);
    out["patients"] = any_patients ? std::move(patients) : Json(nullptr);
    out["problems"] = std::move(problems);
    if (out["explanation"].is_object()) out["explanation"]["of"] = std::move(of);
    out["part"] = {{"index", 0}, {"count", 1}, {"rows_in_file", json_member(first["part"], "rows_in_file")}};
    out["part_rows"] = std::move(part_rows);
    out.erase("reports");
    out["part_reports"] = std::move(reports);
    return out;
}

Result<BatchTable> core_batch_join(std::span<const BatchTable> parts) {
    std::vector<Json> metas;
    std::vector<BatchPartSizes> sizes;
    for (const BatchTable& p : parts) {
        metas.push_back(p.meta);
        sizes.push_back({p.table.size(), p.features.size(), p.margins.size()});
    }
    auto meta = core_batch_join_meta(metas, sizes);
    if (!meta) return meta.problems();
    BatchTable out;
    out.meta = std::move(*meta);
    // The numbers end to end, each array allocated once at its whole size (a file's table is tens of MB).
    const auto total = [&](auto member) {
        size_t n = 0;
        for (const BatchTable& p : parts) n += (p.*member).size();
        return n;
    };
    out.table.reserve(total(&BatchTable::table));
    out.features.reserve(total(&BatchTable::features));
    out.margins.reserve(total(&BatchTable::margins));
    for (const BatchTable& p : parts) {
        out.table.insert(out.table.end(), p.table.begin(), p.table.end());
        out.features.insert(out.features.end(), p.features.begin(), p.features.end());
        out.margins.insert(out.margins.end(), p.margins.begin(), p.margins.end());
    }
    return out;
}

std::string core_warm_up_csv(const LoadedModel& lm, int64_t wanted) {
    const auto& fields = lm.model.schema.fields;
    std::string csv;
    for (size_t f = 0; f < fields.size(); ++f) csv += (f ? "," : "") + csv_escape(fields[f].name);
    csv += '\n';
    const size_t rows = wanted >= 0 && wanted <= kMaxWarmUpRows ? static_cast<size_t>(wanted) : 0;
    for (size_t r = 0; r < rows; ++r) {
        // Every fifth optional value missing, unless the row would fall below the model's minimum
        // information: the fields it asks for are given.
        std::vector<double> given(fields.size(), 0.0);
        for (size_t f = 0; f < fields.size(); ++f)
            if (!fields[f].required && (r + f) % 5 == 0) given[f] = kNaN;
        for (int f : information_check(lm.model.schema, given).to_enter) given[static_cast<size_t>(f)] = 0.0;
        for (size_t f = 0; f < fields.size(); ++f) {
            const Field& field = fields[f];
            if (f) csv += ',';
            if (std::isnan(given[f])) continue;  // missing
            if (field.type == FieldType::boolean) {
                csv += (r + f) % 2 ? "yes" : "no";
            } else if (field.type == FieldType::category) {
                if (!field.levels.empty()) csv += csv_escape(field.levels[(r + f) % field.levels.size()].value);
            } else {
                double lo = std::isfinite(field.typical_min) ? field.typical_min : field.min;
                double hi = std::isfinite(field.typical_max) ? field.typical_max : field.max;
                if (!std::isfinite(lo)) lo = std::isfinite(hi) ? hi - 1 : 0;
                if (!std::isfinite(hi)) hi = lo + 1;
                const double u = static_cast<double>((r * 7919 + f * 104729) % 1000) / 999.0;  // spread, not random
                double x = lo + u * (hi - lo);
                if (field.type == FieldType::integer)
                    x = std::clamp(std::round(x), std::ceil(field.min), std::floor(field.max));
                csv += Json(x).dump();
            }
        }
        csv += '\n';
    }
    return csv;
}

std::vector<float> core_onnx_inputs(const LoadedModel& lm, std::string_view features_json, bool explain) {
    auto j = json_parse(features_json, "features", JsonLimits{1u << 20, 2});
    if (!j || !j->is_array() || j->size() != lm.model.schema.features.size()) return {};
    std::vector<float> x;
    for (const auto& v : *j) x.push_back(v.is_number() ? v.get<float>() : NAN);
    return model_onnx_inputs(lm.model, x, explain);
}

Json core_finish(const LoadedModel& lm, std::string_view pending_json, std::span<const float> outputs, bool explain) {
    auto j = json_parse(pending_json, "pending result", JsonLimits{4u << 20, 6});
    if (!j || !j->is_object()) return failed({problem("bad_pending", "the pending result is not the core's JSON")});
    PreparedRecord prepared = prepared_from_json(*j);
    if (prepared.features.size() != lm.model.schema.features.size())
        return failed({problem("bad_pending", "the pending result has no features")});
    auto p = model_predict_from_onnx(lm.model, std::move(prepared), outputs, explain);
    if (!p) return failed(p.problems());
    Json out = std::move(*j);
    out.erase("pending");
    add_result(lm.model, *p, explain, out);
    if (explain && out.contains("explanation")) {
        // Local accuracy of the estimate: base + sum equals the explained probability.
        const Json& ex = out["explanation"];
        double total = ex["base"].get<double>();
        for (const auto& c : ex["fields"]) total += c.get<double>();
        const double prob =
            p->probabilities[static_cast<size_t>(lm.model.schema.num_classes() == 2 ? 1 : ex["output"].get<int>())];
        out["check"] = {{"ok", true}, {"kind", "sampling-shapley"}, {"max_abs_diff", std::abs(total - prob)}};
    }
    return out;
}

BatchTable core_finish_batch(const LoadedModel& lm, std::string_view rows_json, std::span<const float> outputs,
                             const BatchReport& report) {
    TableWriter writer(lm.model);
    PartReports reports(lm.model, report);
    auto refuse = [&](const std::vector<Problem>& ps) {
        BatchTable b = writer.finish(problems_json(ps), "");
        b.meta["ok"] = false;  // the envelope: {"ok": false, "problems": [...]} with no rows
        return b;
    };
    auto j = json_parse(rows_json, "batch rows", JsonLimits{512u << 20, 6});
    if (!j || !j->is_array()) return refuse({problem("bad_pending", "the batch rows are not the core's JSON")});
    const size_t width = lm.model.sampler ? static_cast<size_t>(lm.model.sampler->output_width)
                                          : static_cast<size_t>(lm.model.schema.num_outputs());
    if (outputs.size() != j->size() * width)
        return refuse({problem("bad_output", "ONNX Runtime returned " + std::to_string(outputs.size()) +
                                                 " values for " + std::to_string(j->size()) + " rows")});
    for (size_t i = 0; i < j->size(); ++i) {
        const Json& row = (*j)[i];
        auto p = model_predict_from_onnx(lm.model, prepared_from_json(row), outputs.subspan(i * width, width), false);
        if (!p) return refuse(p.problems());
        const long number = json_int_in(row, "row", 1, INT64_MAX).value_or(static_cast<int64_t>(i) + 1);
        writer.add(*p, false, number, json_text_or(row, "patient"));
        reports.add(*p);
    }
    BatchTable out = writer.finish(Json::array(), "");
    reports.into(out);
    return out;
}

Json core_verify_index(std::string_view index_json, std::string_view trust_json, int64_t now, int64_t min_version) {
    auto fail = [](const Problem& p) { return failed({p}); };
    auto root = trust_root_parse(trust_json, now);
    if (!root) return fail(root.error());
    auto index = models_index_verify(index_json, *root, now, min_version);
    if (!index) return fail(index.error());
    return Json{{"ok", true},
                {"version", index->version},
                {"expires", index->expires},
                {"stale", index->stale},
                {"models", index->models}};
}

namespace {
// The pending report (the browser's own, below k, already randomized) to continue; a damaged or
// outdated one (another model or day) is started afresh.
ReportBuilder pending_builder(const Model& m, std::string_view pending_json, std::string_view day) {
    ReportBuilder b = report_builder(m.schema, m.reference, m.manifest.name, m.manifest.version, std::string(day));
    if (pending_json.empty()) return b;
    auto j = json_parse(pending_json, "pending report");
    if (j && json_text_or(*j, "model") == m.manifest.name &&
        json_int_in(*j, "version", 1, INT64_MAX) == m.manifest.version && json_text_or(*j, "day") == day) {
        try {
            b.report.n = (*j)["n"].get<uint64_t>();
            for (size_t f = 0; f < b.report.fields.size(); ++f)
                b.report.fields[f] = (*j)["fields"][b.report.field_names[f]].get<std::vector<uint64_t>>();
            b.report.predicted = (*j)["predicted"].get<std::vector<uint64_t>>();
            b.report.probabilities = (*j)["probabilities"].get<std::vector<std::vector<uint64_t>>>();
        } catch (const Json::exception&) {
            b = report_builder(m.schema, m.reference, m.manifest.name, m.manifest.version, std::string(day));
        }
    }
    return b;
}
}  // namespace

Json core_report_add(LoadedModel& lm, std::string_view pending_json, std::string_view prediction_json,
                     std::string_view day, uint64_t seed) {
    const Model& m = lm.model;
    ReportBuilder b = pending_builder(m, pending_json, day);
    auto p = json_parse(prediction_json, "prediction");
    // A multi-label model's image is counted by its descriptors and each finding's probability
    // (its report has no predicted class: drift/report.h, report_has_predicted).
    if (p && json_member(*p, "ok").is_boolean() && json_member(*p, "ok").get<bool>()) {
        std::vector<double> values, probs;
        for (const auto& v : (*p)["values"]) values.push_back(v.is_null() ? kNaN : v.get<double>());
        for (const auto& v : (*p)["probabilities"]) probs.push_back(v.get<double>());
        std::mt19937_64 rng(seed);
        report_add(b, values, probs, (*p)["predicted"].get<int>(), rng);
    }
    // Complete at k patients: the page queues it and starts a new one.
    if (b.report.n >= static_cast<uint64_t>(m.schema.privacy.k_min))
        return Json{{"pending", nullptr}, {"complete", Json::array({report_to_json(b.report)})}};
    return Json{{"pending", b.report.n ? report_to_json(b.report) : Json(nullptr)}, {"complete", Json::array()}};
}

Json core_same_patient(std::string_view previous_json, std::string_view next_json) {
    auto values = [](std::string_view text) -> std::optional<std::vector<double>> {
        auto p = json_parse(text, "prediction");
        if (!p || !p->is_object() || !json_member(*p, "values").is_array()) return std::nullopt;
        std::vector<double> out;
        for (const auto& v : (*p)["values"]) {
            if (v.is_null()) out.push_back(kNaN);
            else if (v.is_number()) out.push_back(v.get<double>());
            else return std::nullopt;
        }
        return out;
    };
    const auto a = values(previous_json), b = values(next_json);
    return Json{{"ok", true}, {"same", a && b && same_patient(*a, *b)}};
}

Json core_report_merge(const LoadedModel& lm, std::string_view pending_json, std::string_view parts_json,
                       std::string_view day) {
    const Model& m = lm.model;
    const uint64_t k_min = static_cast<uint64_t>(m.schema.privacy.k_min);
    ReportBuilder pending = pending_builder(m, pending_json, day);
    Json complete = Json::array();
    auto parts = json_parse(parts_json, "part reports", JsonLimits{64u << 20, 8});
    // A part's report back from JSON (the core's own, passed through the page): its shape is
    // checked by the merge.
    const ReportBuilder empty =
        report_builder(m.schema, m.reference, m.manifest.name, m.manifest.version, std::string(day));
    auto read = [&](const Json& j) -> std::optional<MetricsReport> {
        if (!j.is_object()) return std::nullopt;
        ReportBuilder b = pending_builder(m, json_dump(j), day);
        MetricsReport checked = empty.report;  // this model's shape: a report of another is left out
        if (b.report.n == 0 || !report_merge(checked, b.report)) return std::nullopt;
        return checked;
    };
    if (parts && parts->is_array()) {
        for (const Json& part : *parts) {
            for (const Json& full : json_member(part, "complete"))
                if (auto r = read(full); r && r->n >= k_min) complete.push_back(report_to_json(*r));
            auto rest = read(json_member(part, "pending"));
            if (!rest) continue;
            if (pending.report.n + rest->n <= kMaxReportPredictions) {
                (void)report_merge(pending.report, *rest);  // the same shape: checked by read
            } else if (pending.report.n >= k_min) {
                complete.push_back(report_to_json(pending.report));
                pending.report = *rest;
            } else {
                complete.push_back(report_to_json(*rest));  // > kMax - k_min >= k_min predictions
            }
        }
    }
    // A batch is one report: complete once it summarises at least k predictions.
    if (pending.report.n >= k_min) {
        complete.push_back(report_to_json(pending.report));
        pending.report.n = 0;
    }
    return Json{{"pending", pending.report.n ? report_to_json(pending.report) : Json(nullptr)}, {"complete", complete}};
}

namespace {
// {"ok": true, "max_abs_diff"}, or the envelope {"ok": false, "problems": [why], "max_abs_diff"}.
Json agreement_json(const Agreement& a) {
    Json j{{"ok", a.ok}, {"max_abs_diff", std::isfinite(a.max_abs_diff) ? Json(a.max_abs_diff) : Json(nullptr)}};
    if (!a.ok) j["problems"] = problems_json(a.why);
    return j;
}
// A model whose ONNX file does not reproduce the probabilities its author published: refused, in
// the clinician's words (bundle_refusal_words), with the difference.
Json mismatch_json(const Agreement& a) {
    Json j = agreement_json(a);
    if (a.ok) return j;
    const std::string diff =
        std::isfinite(a.max_abs_diff) ? json_dump(Json(a.max_abs_diff)) : "a number that is not finite";
    j["problems"] = problems_json({problem("model_mismatch", bundle_refusal_words("model_mismatch") +
                                                                 " (ONNX Runtime differs from the published "
                                                                 "probabilities by " +
                                                                 diff + ")")});
    return j;
}
}  // namespace

Json core_check(const LoadedModel& lm, std::string_view result_json, std::span<const float> probabilities,
                std::span<const float> margin) {
    auto j = json_parse(result_json, "result", JsonLimits{4u << 20, 6});
    if (!j || !j->is_object()) return failed({problem("bad_result", "the result to check is not the core's JSON")});
    const size_t k = static_cast<size_t>(lm.model.schema.num_outputs());
    std::vector<double> core, onnx;
    if (!json_number_array(json_member(*j, "probabilities"), core) || core.size() != k || probabilities.size() < k)
        return failed({problem("bad_result", "the result to check has no probabilities")});
    onnx.assign(probabilities.begin(), probabilities.begin() + static_cast<long>(k));
    const Json& outputs = json_member(json_member(*j, "explanation"), "outputs");
    if (!outputs.is_array() || outputs.size() > margin.size())
        return failed({problem("bad_result", "the result to check has no explanation")});
    for (size_t o = 0; o < outputs.size(); ++o) {
        std::vector<double> c;
        double sum = json_member(outputs[o], "base").is_number() ? outputs[o]["base"].get<double>() : kNaN;
        if (!json_number_array(json_member(outputs[o], "contributions"), c)) sum = kNaN;
        for (double v : c) sum += v;
        core.push_back(sum);  // what the explanation says the margin is
        onnx.push_back(margin[o]);
    }
    const Agreement a = onnx_agreement(core, onnx, lm.model.schema.outputs.regression());
    if (!a.ok) {
        char diff[32];
        std::snprintf(diff, sizeof diff, "%.2e", a.max_abs_diff);
        return failed(
            {problem("check_failed", std::string("The explanation and ONNX Runtime disagree (difference ") + diff +
                                         "): the result is withheld. Report this to your administrator.")});
    }
    (*j)["check"] = agreement_json(a);
    return std::move(*j);
}

Json core_check_table(const LoadedModel& lm, std::span<const double> table, std::span<const double> margins,
                      std::span<const float> probabilities, std::span<const float> onnx_margins, size_t margin_width) {
    const BatchLayout l = batch_layout(lm.model.schema);
    const size_t outputs = lm.model.ensemble ? static_cast<size_t>(lm.model.ensemble->num_outputs) : 0;
    const size_t rows = table.size() / l.stride();
    if (table.size() % l.stride() || margins.size() != rows * outputs || probabilities.size() != rows * l.classes ||
        margin_width < outputs || onnx_margins.size() != rows * margin_width)
        return agreement_json(agreement_refused(
            problem("bad_check", "the batch table and ONNX Runtime's outputs to compare do not fit this model")));
    std::vector<double> core, onnx;
    core.reserve(rows * (l.classes + outputs));
    onnx.reserve(rows * (l.classes + outputs));
    for (size_t i = 0; i < rows; ++i) {
        for (size_t c = 0; c < l.classes; ++c) {
            core.push_back(table[i * l.stride() + l.probability(c)]);
            onnx.push_back(probabilities[i * l.classes + c]);
        }
        for (size_t o = 0; o < outputs; ++o) {
            core.push_back(margins[i * outputs + o]);
            onnx.push_back(onnx_margins[i * margin_width + o]);
        }
    }
    return agreement_json(onnx_agreement(core, onnx, lm.model.schema.outputs.regression()));
}

Json core_check_background(const LoadedModel& lm, std::span<const float> outputs) {
    const Model& m = lm.model;
    if (!m.sampler)
        return agreement_json(agreement_refused(problem("bad_check", "this model has no background rows to check")));
    const size_t k = static_cast<size_t>(m.schema.num_classes()), rows = m.sampler->background_rows();
    const size_t width = static_cast<size_t>(m.sampler->output_width);
    const auto& published = m.sampler->background_probabilities;
    if (outputs.size() != rows * width || published.size() != rows * k)
        return agreement_json(agreement_refused(
            problem("bad_check", "ONNX Runtime's outputs for the background rows do not fit this model")));
    std::vector<double> core, onnx;
    for (size_t i = 0; i < rows; ++i) {
        if (width == 1) {  // one output: the positive class's probability
            core.push_back(published[i * k + 1]);
            onnx.push_back(outputs[i]);
        } else {
            for (size_t c = 0; c < k; ++c) {
                core.push_back(published[i * k + c]);
                onnx.push_back(outputs[i * width + c]);
            }
        }
    }
    return mismatch_json(onnx_agreement(core, onnx));
}

//-----------------------------------------------------------------------------
// [SECTION] Imaging models
//-----------------------------------------------------------------------------
namespace {
ImageStart image_refused(const std::vector<Problem>& ps) {
    ImageStart s;
    s.error = Json{{"ok", false}, {"problems", problems_json(ps)}};
    return s;
}

// The header's refusals come before any work on the pixels; the warnings (the header's, then the
// tensor's against the training images) travel with the job to its result.
ImageStart image_start(const LoadedModel& lm, ImageFormat format, const Result<Pixels>& pixels, size_t file_bytes) {
    const Model& m = lm.model;
    if (!m.imaging || !m.schema.image)
        return image_refused({problem("not_imaging", "this model does not read images")});
    if (!pixels) return image_refused(pixels.problems());
    ImageScope scope = image_scope_check(*m.schema.image, format, *pixels);
    if (!scope.refused.empty()) {
        ImageStart s = image_refused(scope.refused);
        s.header = Json{{"modality", pixels->modality}, {"body_part", pixels->body_part}, {"view", pixels->view}};
        return s;
    }
    if (auto large = image_memory_refusal(*m.schema.image, format, *pixels, file_bytes)) return image_refused({*large});
    auto tensor = image_tensor(*m.schema.image, *pixels);
    if (!tensor) return image_refused(tensor.problems());
    if (auto unlike = image_unlike_training(*m.schema.image, *tensor)) scope.warnings.push_back(*unlike);
    auto display = image_display(*m.schema.image, *pixels);
    if (!display) return image_refused(display.problems());
    const ImageDescriptors descriptors = image_descriptors(*m.schema.image, *pixels, *tensor);
    ImageStart s;
    s.job = image_job_start(std::move(*tensor));
    s.job->warnings = std::move(scope.warnings);
    s.job->descriptors.assign(descriptors.begin(), descriptors.end());
    s.display = std::move(*display);
    s.header = Json{{"modality", pixels->modality}, {"body_part", pixels->body_part}, {"view", pixels->view},
                    {"frames", pixels->frames},     {"width", pixels->width},         {"height", pixels->height}};
    return s;
}
}  // namespace

Json core_image_kind(const LoadedModel& lm, std::string_view bytes) {
    const Model& m = lm.model;
    if (!m.imaging || !m.schema.image) return failed({problem("not_imaging", "this model does not read images")});
    const ImageFormat format = image_format_sniff(bytes);
    if (auto refused = image_format_refusal(*m.schema.image, format)) return failed({*refused});
    if (auto damaged = raster_file_refusal(bytes)) return failed({*damaged});
    return Json{{"ok", true}, {"format", image_format_name(format)}};
}

size_t core_image_kind_needs(std::string_view first_bytes) {
    return image_format_sniff(first_bytes.substr(0, kImageSniffBytes)) == ImageFormat::dicom ? kImageSniffBytes
                                                                                             : SIZE_MAX;
}

ImageStart core_image_start(const LoadedModel& m, std::span<const uint8_t> rgba, int64_t width, int64_t height) {
    if (auto size = image_size_refusal(width, height)) return image_refused({problem("bad_image", *size, "image")});
    // The browser decodes PNG and JPEG files only (DICOM comes as bytes, below); either says
    // nothing of what it shows, which is all the scope check needs to know of it.
    return image_start(m, ImageFormat::png,
                       pixels_from_interleaved(rgba, static_cast<int>(width), static_cast<int>(height), 4),
                       rgba.size());
}

ImageStart core_image_start_dicom(const LoadedModel& m, DicomDecoder decode, std::string_view bytes, int64_t frame) {
    if (frame < 0 || frame >= kMaxDicomFrames)
        return image_refused({problem("bad_frame",
                                      "frame " + std::to_string(frame) + " was asked for; frames are numbered 0 to " +
                                          std::to_string(kMaxDicomFrames - 1) + " at most",
                                      "frame")});
    if (m.model.schema.image)
        if (auto refused = image_format_refusal(*m.model.schema.image, ImageFormat::dicom))
            return image_refused({*refused});
    if (!decode)
        return image_refused(
            {problem("unsupported_dicom", "DICOM files are not read here: this program has no DICOM decoder")});
    ImageStart s = image_start(m, ImageFormat::dicom, decode(bytes, static_cast<int>(frame)), bytes.size());
    if (s.job) s.header["frame"] = frame;
    return s;
}

size_t core_image_pending(const LoadedModel& lm, const ImageJob& job) {
    const Model& m = lm.model;
    return m.imaging && m.schema.image ? image_job_pending(job, *m.imaging, *m.schema.image) : 0;
}

std::vector<float> core_image_inputs(const LoadedModel& lm, const ImageJob& job, int64_t max_count) {
    const Model& m = lm.model;
    if (!m.imaging || !m.schema.image) return {};
    const size_t n = max_count >= 1 && max_count <= kMaxImagesPerRun ? static_cast<size_t>(max_count) : 1;
    return image_job_inputs(job, *m.imaging, *m.schema.image, n);
}

Json core_image_give(const LoadedModel& lm, ImageJob& job, std::span<const float> probabilities,
                     std::span<const float> map, int explained) {
    const Model& m = lm.model;
    if (!m.imaging || !m.schema.image)
        return Json{{"ok", false},
                    {"problems", problems_json({problem("not_imaging", "this model does not read images")})}};
    auto given = image_job_give(job, *m.imaging, m.schema, *m.schema.image, probabilities, map, explained);
    if (!given) return Json{{"ok", false}, {"problems", problems_json(given.problems())}};
    return Json{{"ok", true}, {"pending", image_job_pending(job, *m.imaging, *m.schema.image)}};
}

Json core_image_result(const LoadedModel& lm, const ImageJob& job) {
    const Model& m = lm.model;
    // The map is known once the deletion curve's runs are all that is left: shown before them.
    const bool curve_done = job.stage == ImageJob::Stage::done;
    if (!m.imaging || (!curve_done && job.stage != ImageJob::Stage::deletion))
        return Json{{"ok", false},
                    {"problems", problems_json({problem("pending", "the image's runs are not finished")})}};
    const auto& classes = m.schema.outputs.classes;
    Json names = Json::array();
    for (const auto& c : classes) names.push_back(c.name);
    const auto label = [&](int k) { return classes[static_cast<size_t>(k)].label; };
    // The drift report's values of the image (its descriptors; null: not given), for core_report_add.
    Json values = Json::array();
    for (const double v : job.descriptors) values.push_back(std::isnan(v) ? Json(nullptr) : Json(v));
    Json out{{"ok", true},
             {"probabilities", job.probabilities},
             {"values", values},
             {"classes", names},
             {"predicted", job.predicted},
             {"label", label(job.predicted)},
             {"explained", job.explained},
             {"explained_label", label(job.explained)},
             {"map",
              {{"kind", m.imaging->map == MapKind::cam ? "cam" : "occlusion"},
               {"height", job.map.height},
               {"width", job.map.width},
               {"values", job.map.values},
               {"peak", job.map.peak},
               {"runs", occlusion_runs(*m.imaging, *m.schema.image)}}},
             {"deletion",
              {{"ranked", job.deletion.ranked},
               {"random", job.deletion.random},
               {"ranked_area", job.deletion.ranked_area},
               {"random_area", job.deletion.random_area},
               {"pending", !curve_done}}},
             {"runs", job.runs},
             {"warnings", problems_json(job.warnings)}};
    if (m.schema.outputs.multilabel()) {
        // Each finding against its own threshold, the words a clinician reads, and a map per finding.
        out["findings"] = findings_json(m.schema, job.probabilities);
        out["words"] = findings_words(m.schema, job.probabilities);
        Json maps = Json::array();
        for (size_t f = 0; f < job.maps.size(); ++f)
            maps.push_back({{"finding", classes[f].name},
                            {"label", classes[f].label},
                            {"height", job.maps[f].height},
                            {"width", job.maps[f].width},
                            {"values", job.maps[f].values},
                            {"peak", job.maps[f].peak}});
        out["maps"] = std::move(maps);
    }
    return out;
}

Json core_check_images(const LoadedModel& lm, std::span<const float> outputs) {
    const Model& m = lm.model;
    if (!m.imaging) return agreement_json(agreement_refused(problem("not_imaging", "this model reads no images")));
    const size_t width = static_cast<size_t>(m.imaging->probability_width);
    const size_t rows = static_cast<size_t>(m.imaging->check_images);
    if (outputs.size() != rows * width)
        return agreement_json(agreement_refused(
            problem("bad_check", "ONNX Runtime's outputs for the reference images do not fit this model")));
    std::vector<double> onnx;
    for (size_t i = 0; i < rows; ++i) {
        const auto p = image_probabilities(*m.imaging, outputs.subspan(i * width, width));
        onnx.insert(onnx.end(), p.begin(), p.end());
    }
    return mismatch_json(onnx_agreement(m.imaging->check_probabilities, onnx));
}

}  // namespace ldx
