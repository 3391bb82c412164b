// shared/predict/predict.cpp — see predict.h.
#include "predict/predict.h"

#include "predict/findings.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Model
//-----------------------------------------------------------------------------
Result<Model> model_from_bundle(const VerifiedBundle& b) {
    auto bad = [](const std::string& member, const std::string& msg) {
        return problem("bad_member", "member '" + member + "': " + msg, member);
    };
    auto get = [&](const char* name) -> const Bytes* {
        auto it = b.members.find(name);
        return it == b.members.end() ? nullptr : &it->second;
    };
    Model m;
    m.manifest = b.manifest;
    m.signers = b.signers;
    m.sha256 = b.sha256;
    for (const char* need : {"schema.json", "model.onnx", "reference.json", "card.json"})
        if (!get(need)) return bad(need, "is missing");

    auto schema = schema_parse(*get("schema.json"));
    if (!schema) return bad("schema.json", schema.error().describe());
    m.schema = std::move(*schema);
    if (m.schema.task != m.manifest.name)
        return bad("schema.json",
                   "its task '" + m.schema.task + "' is not the bundle's name '" + m.manifest.name + "'");

    auto ref = json_parse(*get("reference.json"), "reference.json");
    if (!ref) return bad("reference.json", ref.error().message);
    auto reference = reference_from_json(*ref, m.schema);
    if (!reference) return bad("reference.json", reference.error().message);
    m.reference = std::move(*reference);

    auto card = json_parse(*get("card.json"), "card.json");
    if (!card || !card->is_object()) return bad("card.json", "is not a JSON object");
    m.card = std::move(*card);
    m.onnx = *get("model.onnx");

    if (b.manifest.explainer == "treeshap") {
        // trees.bin (binary, read without parsing text), or trees.json in bundles made before it.
        const char* member = get("trees.bin") ? "trees.bin" : "trees.json";
        if (!get(member)) return bad("trees.bin", "is missing (the manifest says the explainer is treeshap)");
        Result<Ensemble> e = problem("bad_tree", "not read");
        if (get("trees.bin")) {
            e = ensemble_from_binary(*get("trees.bin"));
        } else {
            auto tj = json_parse(*get("trees.json"), "trees.json", JsonLimits{256u << 20, 8});
            if (!tj) return bad("trees.json", tj.error().message);
            e = ensemble_from_json(*tj);
        }
        if (!e) return bad(member, e.error().message);
        if (e->num_features != static_cast<int>(m.schema.features.size()))
            return bad(member, "the trees use " + std::to_string(e->num_features) + " features; the schema maps " +
                                   std::to_string(m.schema.features.size()));
        if ((e->link == Link::identity) != m.schema.outputs.regression())
            return bad(member, m.schema.outputs.regression()
                                   ? "the trees predict classes; the schema describes a regression task"
                                   : "the trees predict a value (regression); the schema lists classes");
        if (num_classes(*e) != m.schema.num_classes())
            return bad(member, "the trees predict " + std::to_string(num_classes(*e)) + " classes; the schema lists " +
                                   std::to_string(m.schema.num_classes()));
        m.ensemble = std::move(*e);
        m.shap_tables = treeshap_tables(*m.ensemble);
    } else if (b.manifest.explainer == "sampling-shapley") {
        if (!get("explainer.json"))
            return bad("explainer.json", "is missing (the manifest says the explainer is sampling-shapley)");
        auto ej = json_parse(*get("explainer.json"), "explainer.json", JsonLimits{64u << 20, 6});
        if (!ej) return bad("explainer.json", ej.error().message);
        auto sampler = sampling_shapley_from_json(*ej, m.schema);
        if (!sampler) return bad("explainer.json", sampler.error().message);
        m.sampler = std::move(*sampler);
    } else if (b.manifest.explainer == "cam" || b.manifest.explainer == "occlusion") {
        if (!m.schema.image) return bad("schema.json", "describes no image input (the explainer is an image map)");
        for (const char* need : {"imaging.json", "check.f32"})
            if (!get(need)) return bad(need, "is missing (the manifest says this is an imaging model)");
        auto ij = json_parse(*get("imaging.json"), "imaging.json");
        if (!ij) return bad("imaging.json", ij.error().message);
        auto im = image_model_from_json(*ij, m.schema);
        if (!im) return bad("imaging.json", im.error().message);
        if ((im->map == MapKind::cam) != (b.manifest.explainer == "cam"))
            return bad("imaging.json", "its map is not the manifest's explainer '" + b.manifest.explainer + "'");
        const ImageInput& in = *m.schema.image;
        const size_t floats = static_cast<size_t>(im->check_images) * static_cast<size_t>(in.channels) *
                              static_cast<size_t>(in.height) * static_cast<size_t>(in.width);
        const Bytes& check = *get("check.f32");
        if (check.size() != floats * 4)
            return bad("check.f32", "holds " + std::to_string(check.size()) + " bytes; " +
                                        std::to_string(im->check_images) + " tensors take " +
                                        std::to_string(floats * 4));
        m.check_tensors.resize(floats);
        for (size_t i = 0; i < floats; ++i) {  // little-endian float32, whatever the host
            uint32_t bits = 0;
            for (int k = 0; k < 4; ++k)
                bits |= uint32_t{static_cast<unsigned char>(check[4 * i + static_cast<size_t>(k)])} << (8 * k);
            std::memcpy(&m.check_tensors[i], &bits, 4);
        }
        m.imaging = std::move(*im);
    }
    return m;
}

//-----------------------------------------------------------------------------
// [SECTION] Prediction
//-----------------------------------------------------------------------------
int decide(const Schema& schema, std::span<const double> p) {
    if (schema.outputs.regression()) return 0;
    if (schema.outputs.kind == TaskKind::binary) return p[1] >= schema.outputs.threshold ? 1 : 0;
    if (schema.outputs.multilabel()) {
        const std::vector<int> above = findings_above(schema, p);
        if (!above.empty()) return above.front();
    }
    size_t best = 0;
    for (size_t k = 1; k < p.size(); ++k)
        if (p[k] > p[best]) best = k;
    return static_cast<int>(best);
}

int explanation_output(const Model& m, int klass) {
    if (m.ensemble) return m.ensemble->link == Link::logistic ? 0 : klass;
    return m.schema.num_classes() == 2 ? 0 : klass;
}

namespace {
Prediction predict_from_margin(const Model& m, PreparedRecord prepared, std::vector<double> margin) {
    Prediction p;
    p.margin = std::move(margin);
    p.probabilities = probabilities_from_margin(m.ensemble->link, p.margin);
    p.predicted = decide(m.schema, p.probabilities);
    p.prepared = std::move(prepared);
    return p;
}

Prediction predict_unexplained(const Model& m, PreparedRecord prepared) {
    std::vector<double> margin = ensemble_margin(*m.ensemble, prepared.features);
    return predict_from_margin(m, std::move(prepared), std::move(margin));
}
}  // namespace

Prediction model_predict_features(const Model& m, PreparedRecord prepared, bool explain, TreeShapWorkspace& ws) {
    Prediction p = predict_unexplained(m, std::move(prepared));
    if (explain) treeshap(*m.ensemble, m.shap_tables, p.prepared.features, ws, p.explanation);
    return p;
}

std::vector<Prediction> model_predict_batch(const Model& m, std::vector<PreparedRecord> prepared, bool explain,
                                            TreeShapWorkspace& ws) {
    std::vector<Prediction> out;
    out.reserve(prepared.size());
    if (!explain || prepared.empty()) {
        for (PreparedRecord& r : prepared) out.push_back(predict_unexplained(m, std::move(r)));
        return out;
    }
    // Explained: the margins come from TreeSHAP's walk of the trees (the same numbers as
    // ensemble_margin's, without walking every tree a second time).
    const size_t width = static_cast<size_t>(m.ensemble->num_features),
                 outputs = static_cast<size_t>(m.ensemble->num_outputs);
    std::vector<float> rows;
    rows.reserve(prepared.size() * width);
    for (const PreparedRecord& r : prepared) rows.insert(rows.end(), r.features.begin(), r.features.end());
    std::vector<double> margins;
    std::vector<Explanation> explained = treeshap_batch(*m.ensemble, m.shap_tables, rows, ws, &margins);
    for (size_t i = 0; i < prepared.size(); ++i) {
        const auto margin = margins.begin() + static_cast<ptrdiff_t>(i * outputs);
        out.push_back(predict_from_margin(m, std::move(prepared[i]),
                                          std::vector<double>(margin, margin + static_cast<ptrdiff_t>(outputs))));
        out.back().explanation = std::move(explained[i]);
    }
    return out;
}

void model_prepare_batch(Model& m) {
    if (!m.ensemble) return;
    if (m.shap_tables.over_budget != 0 && m.shap_tables.budget < kBatchTableEntries) {
        m.shap_tables = {};  // freed first: the old and the new tables are never held at once
        m.shap_tables = treeshap_tables(*m.ensemble, kBatchTableEntries);
    }
    // Within the batch's budget, the tables' entries and the products' together.
    treeshap_products(m.shap_tables, kBatchTableEntries - std::min(kBatchTableEntries, m.shap_tables.tables.size()));
}

Result<Prediction> model_predict(const Model& m, const RawRecord& record, bool explain, long row) {
    if (!m.ensemble)
        return problem("no_trees", "this model is not a tree ensemble (its explainer is " + m.manifest.explainer +
                                       "): only ONNX Runtime can run it, so it predicts in the browser client only");
    auto prepared = record_prepare(m.schema, record, row);
    if (!prepared) return prepared.problems();
    TreeShapWorkspace ws;
    return model_predict_features(m, std::move(*prepared), explain, ws);
}

//-----------------------------------------------------------------------------
// [SECTION] Models that only ONNX Runtime runs
//-----------------------------------------------------------------------------
std::vector<float> model_onnx_inputs(const Model& m, std::span<const float> features, bool explain) {
    std::vector<float> rows;
    if (explain && m.sampler) sampling_shapley_inputs(*m.sampler, features, rows);
    else rows.assign(features.begin(), features.end());
    return rows;
}

Result<Prediction> model_predict_from_onnx(const Model& m, PreparedRecord prepared, std::span<const float> outputs,
                                           bool explain) {
    const int k = m.schema.num_classes();
    const size_t width = m.sampler ? static_cast<size_t>(m.sampler->output_width) : static_cast<size_t>(k);
    const size_t rows = explain && m.sampler ? sampling_shapley_rows(*m.sampler) : 1;
    if (outputs.size() != rows * width)
        return problem("bad_output", "ONNX Runtime returned " + std::to_string(outputs.size()) + " values; " +
                                         std::to_string(rows) + " rows of " + std::to_string(width) + " were expected");
    for (size_t r = 0; r < rows; ++r) {
        const auto p = probabilities_from_output(outputs.subspan(r * width, width), k);
        double total = 0;
        for (double v : p) {
            if (!(v >= -1e-6 && v <= 1 + 1e-6))
                return problem("bad_output", "the model's output is not a probability (" + std::to_string(v) + ")");
            total += v;
        }
        if (std::abs(total - 1) > 1e-3)
            return problem("bad_output",
                           "the model's class probabilities add up to " + std::to_string(total) + ", not 1");
    }
    Prediction p;
    p.probabilities = probabilities_from_output(outputs.subspan(0, width), k);
    p.predicted = decide(m.schema, p.probabilities);
    if (explain && m.sampler) sampling_shapley_explain(*m.sampler, m.schema, outputs, p.explanation, p.standard_error);
    p.prepared = std::move(prepared);
    return p;
}

double missing_share(std::span<const double> values, std::span<const double> field_contributions) {
    double missing = 0, total = 0;
    for (size_t f = 0; f < field_contributions.size() && f < values.size(); ++f) {
        const double a = std::abs(field_contributions[f]);
        total += a;
        if (std::isnan(values[f])) missing += a;
    }
    return total > 0 ? missing / total : 0;
}

PointsExplanation model_explanation_points(const Model& m, std::span<const double> bases,
                                           std::span<const double> per_field, int out,
                                           std::span<const double> probabilities) {
    const int klass = m.schema.num_classes() == 2 ? 1 : out;
    const double p = probabilities[static_cast<size_t>(klass)];
    if (m.ensemble) return explanation_points(m.ensemble->link, bases, per_field, klass, p);
    PointsExplanation pts;
    pts.ok = true;
    pts.base = bases[static_cast<size_t>(out)];
    pts.probability = p;
    pts.fields.assign(per_field.begin(), per_field.end());
    return pts;
}

Agreement agreement_refused(Problem why) {
    Agreement a;
    a.max_abs_diff = std::numeric_limits<double>::infinity();
    a.why.push_back(std::move(why));
    return a;
}

Agreement onnx_agreement(std::span<const double> core, std::span<const double> onnx, bool relative) {
    Agreement a;
    if (core.size() != onnx.size() || core.empty())
        return agreement_refused(problem("check_failed", "ONNX Runtime gave " + std::to_string(onnx.size()) +
                                                             " numbers to compare with the core's " +
                                                             std::to_string(core.size())));
    bool finite = true, within = true;
    for (size_t i = 0; i < core.size(); ++i) {
        finite = finite && std::isfinite(core[i]) && std::isfinite(onnx[i]);
        const double diff = std::abs(core[i] - onnx[i]);
        a.max_abs_diff = std::max(a.max_abs_diff, diff);
        within = within && diff <= kOnnxTolerance * (relative ? std::max(1.0, std::abs(core[i])) : 1.0);
    }
    a.ok = finite && within;
    if (!finite) a.max_abs_diff = std::numeric_limits<double>::infinity();
    if (!finite) a.why.push_back(problem("check_failed", "a number from the core or ONNX Runtime is not finite"));
    if (finite && !within) {
        char diff[32];
        std::snprintf(diff, sizeof diff, "%.2e", a.max_abs_diff);
        a.why.push_back(problem(
            "check_failed", std::string("the core and ONNX Runtime differ by up to ") + diff + ", over the tolerance"));
    }
    return a;
}

}  // namespace ldx
