// server/package/package.cpp — see package.h.
#include "package/package.h"

#include <cmath>

#include "drift/histogram.h"
#include "onnx/onnx_trees.h"
#include "schema/schema.h"
#include "train/dataset.h"
#include "train/train.h"
#include "trees/ensemble.h"

namespace ldx {

namespace {
bool looks_like_json(std::string_view s) {
    for (char c : s) {
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
        return c == '{';
    }
    return false;
}
}  // namespace

Result<Package> package_members(const PackageInput& in, const PackageLog& log) {
    auto schema_r = schema_parse(in.schema_json);
    if (!schema_r) return schema_r.problems();
    Schema schema = std::move(*schema_r);
    const size_t width = schema.features.size();

    // 1. The model: trees we can explain exactly, and the ONNX bytes ONNX Runtime will run.
    Ensemble e;
    Bytes onnx;
    if (looks_like_json(in.model_bytes)) {
        auto imported = ensemble_from_xgboost_json(in.model_bytes);
        if (!imported) return imported.problems();
        e = std::move(*imported);
        auto exported = onnx_export_trees(e, in.manifest.name);
        if (!exported) return exported.problems();
        onnx = std::move(*exported);
        log("XGBoost model: " + std::to_string(e.trees.size()) + " trees, exported to ONNX (checked)");
    } else {
        auto info = onnx_inspect(in.model_bytes);
        if (!info) return info.problems();
        if (!info->tree_ensemble) {
            std::string ops;
            for (const auto& o : info->operators) ops += (ops.empty() ? "" : ", ") + o;
            return problem("unsupported_model", "this ONNX model (" + ops + ") is not a tree ensemble; bundling models that need the "
                                                "model-agnostic explainer is not supported yet");
        }
        auto imported = onnx_import_trees(in.model_bytes);
        if (!imported) return imported.problems();
        e = std::move(*imported);
        onnx = in.model_bytes;
        log("ONNX tree ensemble: " + std::to_string(e.trees.size()) + " trees");
    }
    if (e.num_features != static_cast<int>(width))
        return problem("schema_mismatch", "the model takes " + std::to_string(e.num_features) + " features; the schema maps its fields to " +
                                              std::to_string(width));
    if (num_classes(e) != schema.num_classes())
        return problem("schema_mismatch", "the model predicts " + std::to_string(num_classes(e)) + " classes; the schema lists " +
                                              std::to_string(schema.num_classes()));

    // 2. Reference histograms (and covers, for ONNX trees, which carry none).
    if (!in.reference) return problem("missing_reference", "--reference is required: the training data's histograms drive drift monitoring");
    Reference reference;
    if (looks_like_json(*in.reference)) {
        if (e.covers == "none") return problem("missing_reference", "an ONNX tree model needs --reference as a CSV of rows to recount node covers");
        auto j = json_parse(*in.reference, "reference histograms", JsonLimits{64u << 20, 8});
        if (!j) return j.problems();
        auto r = reference_from_json(*j, schema);
        if (!r) return r.problems();
        reference = std::move(*r);
    } else {
        auto data = dataset_from_csv(schema, *in.reference, false);
        if (!data) return data.problems();
        if (e.covers == "none") {
            ensemble_recount_covers(e, data->x.data);
            log("node covers recounted from " + std::to_string(data->rows()) + " reference rows");
        }
        std::vector<double> probs;
        for (size_t i = 0; i < data->rows(); ++i) {
            const auto p = probabilities_from_margin(e.link, ensemble_margin(e, data->x.row(i)));
            probs.insert(probs.end(), p.begin(), p.end());
        }
        Schema with_ranges = schema;
        fill_typical_ranges(with_ranges, data->values);
        for (size_t f = 0; f < schema.fields.size(); ++f)
            if (!std::isfinite(schema.fields[f].typical_min) && !std::isfinite(schema.fields[f].typical_max)) {
                schema.fields[f].typical_min = with_ranges.fields[f].typical_min;
                schema.fields[f].typical_max = with_ranges.fields[f].typical_max;
            }
        reference = reference_build(schema, data->values, probs);
    }

    // 3. The model card.
    Json card = Json::object();
    if (in.card_json) {
        auto c = json_parse(*in.card_json, "model card", JsonLimits{4u << 20, 16});
        if (!c) return c.problems();
        if (!c->is_object()) return problem("wrong_type", "the model card must be a JSON object");
        card = std::move(*c);
    }
    if (!card.contains("title")) card["title"] = schema.title;
    card["explainer"] = {{"kind", "treeshap"},
                         {"covers", e.covers},
                         {"note", e.covers == "training" ? "exact path-dependent TreeSHAP with the training node covers"
                                                         : "exact path-dependent TreeSHAP with node covers counted from reference data (" + e.covers + ")"}};

    Package p;
    p.manifest = in.manifest;
    p.manifest.explainer = "treeshap";
    p.members["schema.json"] = json_canonical(schema_to_json(schema));
    p.members["model.onnx"] = std::move(onnx);
    p.members["trees.json"] = json_canonical(ensemble_to_json(e));
    p.members["reference.json"] = json_canonical(reference_to_json(reference));
    p.members["card.json"] = json_canonical(card);
    return p;
}

}  // namespace ldx
