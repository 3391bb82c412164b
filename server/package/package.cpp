// server/package/package.cpp — see package.h.
#include "package/package.h"

#include <cmath>

#include "drift/histogram.h"
#include "explain/sampling_shapley.h"
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

// Reference histograms from rows; typical ranges the schema does not give come from the rows too.
Reference reference_from_rows(Schema& schema, const Dataset& data, std::span<const double> probabilities) {
    Schema with_ranges = schema;
    fill_typical_ranges(with_ranges, data.values);
    for (size_t f = 0; f < schema.fields.size(); ++f)
        if (!std::isfinite(schema.fields[f].typical_min) && !std::isfinite(schema.fields[f].typical_max)) {
            schema.fields[f].typical_min = with_ranges.fields[f].typical_min;
            schema.fields[f].typical_max = with_ranges.fields[f].typical_max;
        }
    return reference_build(schema, data.values, probabilities);
}

Result<Json> card_base(const PackageInput& in, const Schema& schema) {
    Json card = Json::object();
    if (in.card_json) {
        auto c = json_parse(*in.card_json, "model card", JsonLimits{4u << 20, 16});
        if (!c) return c.problems();
        if (!c->is_object()) return problem("wrong_type", "the model card must be a JSON object");
        card = std::move(*c);
    }
    if (!card.contains("title")) card["title"] = schema.title;
    return card;
}

//-----------------------------------------------------------------------------
// Non-tree ONNX models: ONNX Runtime runs them; the explainer samples Shapley values.
//-----------------------------------------------------------------------------
Result<Package> package_agnostic(const PackageInput& in, Schema schema, const OnnxInfo& info, const PackageLog& log) {
    const size_t width = schema.features.size();
    const int k = schema.num_classes();
    std::string ops;
    for (const auto& o : info.operators) ops += (ops.empty() ? "" : ", ") + o;
    if (info.inputs.size() != 1)
        return problem("unsupported_model", "the model has " + std::to_string(info.inputs.size()) +
                                                " inputs; LocalDx feeds one float tensor [N, features]");
    const OnnxTensor& input = info.inputs[0];
    if (!input.is_float || input.dims.size() != 2)
        return problem("unsupported_model",
                       "the model's input '" + input.name + "' must be a float tensor [N, features]");
    if (input.dims[1] != static_cast<int64_t>(width))
        return problem("schema_mismatch", "the model's input '" + input.name + "' takes " +
                                              std::to_string(input.dims[1]) +
                                              " features; the schema maps its fields to " + std::to_string(width));
    auto fits = [&](const OnnxTensor& t) {
        return t.is_float && t.dims.size() == 2 && (t.dims[1] == k || (k == 2 && t.dims[1] == 1));
    };
    const OnnxTensor* output = nullptr;
    for (const auto& o : info.outputs)
        if (o.name == "probabilities") output = &o;
    if (!output) {
        int candidates = 0;
        for (const auto& o : info.outputs)
            if (fits(o)) {
                output = &o;
                ++candidates;
            }
        if (candidates != 1) output = nullptr;
    }
    if (!output || !fits(*output)) {
        std::string names;
        for (const auto& o : info.outputs) names += (names.empty() ? "" : ", ") + o.name;
        return problem("unsupported_model",
                       "cannot tell which output holds the class probabilities (outputs: " + names +
                           "): name it 'probabilities', a float tensor [N, " + std::to_string(k) + "]");
    }
    for (const Field& f : schema.fields)
        if (!f.required && f.missing == MissingPolicy::model_missing && !info.handles_missing)
            return problem("schema_mismatch",
                           "field '" + f.name +
                               "' may be missing, but this model has no step that handles missing values "
                               "(IsNaN or Imputer): make the field required, or its missing policy 'error'",
                           f.name);
    if (in.permutations < 2 || in.permutations % 2)
        return problem("usage", "--permutations must be an even number, at least 2 (a permutation and its reverse)");
    if (in.background_rows < 1 || in.background_rows > 4096)
        return problem("usage", "--background must be between 1 and 4096 rows");

    if (!in.reference || looks_like_json(*in.reference))
        return problem("missing_reference",
                       "a non-tree model needs --reference as a CSV of rows: the explainer's background sample "
                       "and the drift histograms come from it");
    auto data = dataset_from_csv(schema, *in.reference, false);
    if (!data) return data.problems();
    if (data->probabilities.empty()) {
        std::string cols;
        for (const auto& c : schema.outputs.classes) cols += (cols.empty() ? "" : ", ") + ("p_" + c.name);
        return problem(
            "missing_reference",
            "the reference CSV needs the model's probabilities for each row in columns " + cols +
                ": LocalDx cannot run a non-tree ONNX model natively, and the browser checks them on every load");
    }
    const Reference reference = reference_from_rows(schema, *data, data->probabilities);
    SamplingShapley sampler =
        sampling_shapley_make(schema, data->x.data, data->probabilities, in.background_rows, in.permutations, 20221);
    if (auto why = sampling_shapley_size_refusal(sampler))
        return problem("usage", "--background and --permutations: " + *why);
    sampler.input = input.name;
    sampler.output = output->name;
    sampler.output_width = static_cast<int>(output->dims[1]);
    log("ONNX model (" + ops + "): model-agnostic explainer, " + std::to_string(sampler.background_rows()) +
        " background rows x " + std::to_string(sampler.permutations) +
        " permutations = " + std::to_string(sampling_shapley_rows(sampler)) + " model rows per explanation");

    auto card = card_base(in, schema);
    if (!card) return card.problems();
    (*card)["explainer"] = {
        {"kind", "sampling-shapley"},
        {"background_rows", sampler.background_rows()},
        {"permutations", sampler.permutations},
        {"note", "model-agnostic: Shapley values estimated by permutation sampling against " +
                     std::to_string(sampler.background_rows()) +
                     " background rows from the reference data, in probability points, with standard errors"}};
    Package p;
    p.manifest = in.manifest;
    p.manifest.explainer = "sampling-shapley";
    p.members["schema.json"] = json_canonical(schema_to_json(schema));
    p.members["model.onnx"] = in.model_bytes;
    p.members["explainer.json"] = json_canonical(sampling_shapley_to_json(sampler));
    p.members["reference.json"] = json_canonical(reference_to_json(reference));
    p.members["card.json"] = json_canonical(*card);
    return p;
}
}  // namespace

Result<Package> package_image(const PackageInput& in, Schema schema, const OnnxInfo& info, Json card,
                              const PackageLog& log);  // package_image.cpp

Result<Package> package_members(const PackageInput& in, const PackageLog& log) {
    auto schema_r = schema_parse(in.schema_json);
    if (!schema_r) return schema_r.problems();
    Schema schema = std::move(*schema_r);
    // The bundle's name is the task its schema describes: one name everywhere (index, card, reports).
    if (schema.task != in.manifest.name) {
        if (log && !schema.task.empty())
            log("the schema's task '" + schema.task + "' is named '" + in.manifest.name + "' in this bundle");
        schema.task = in.manifest.name;
    }
    const size_t width = schema.features.size();
    if (!schema.image && (in.calibration_labels || in.calibration_outputs))
        return problem("usage",
                       "--calibration-labels and --calibration-outputs are for imaging models (held-out calibration "
                       "images); a tabular model's prediction sets come from its training card",
                       "--calibration-labels");

    // 1. The model: trees we can explain exactly, and the ONNX bytes ONNX Runtime will run.
    Ensemble e;
    Bytes onnx;
    if (looks_like_json(in.model_bytes)) {
        if (schema.image)
            return problem("unsupported_model", "an imaging task needs an ONNX image classifier, not a tree model");
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
        if (schema.image) {
            auto card = card_base(in, schema);
            if (!card) return card.problems();
            return package_image(in, std::move(schema), *info, std::move(*card), log);
        }
        if (!info->tree_ensemble && schema.outputs.regression())
            return problem("unsupported_model",
                           "a regression task needs a tree model (an XGBoost JSON model, or an ONNX "
                           "TreeEnsembleRegressor): other ONNX models are explained as class probabilities only");
        if (!info->tree_ensemble) return package_agnostic(in, std::move(schema), *info, log);
        auto imported = onnx_import_trees(in.model_bytes);
        if (!imported) return imported.problems();
        e = std::move(*imported);
        onnx = in.model_bytes;
        log("ONNX tree ensemble: " + std::to_string(e.trees.size()) + " trees");
    }
    if (e.num_features != static_cast<int>(width))
        return problem("schema_mismatch", "the model takes " + std::to_string(e.num_features) +
                                              " features; the schema maps its fields to " + std::to_string(width));
    if ((e.link == Link::identity) != schema.outputs.regression())
        return problem("schema_mismatch", schema.outputs.regression()
                                              ? "the model predicts classes; the schema describes a regression task"
                                              : "the model predicts a value (a regressor); the schema lists classes");
    if (num_classes(e) != schema.num_classes())
        return problem("schema_mismatch", "the model predicts " + std::to_string(num_classes(e)) +
                                              " classes; the schema lists " + std::to_string(schema.num_classes()));

    // 2. Reference histograms (and covers, for ONNX trees, which carry none).
    if (!in.reference)
        return problem("missing_reference",
                       "--reference is required: the training data's histograms drive drift monitoring");
    Reference reference;
    if (looks_like_json(*in.reference)) {
        if (e.covers == "none")
            return problem("missing_reference",
                           "an ONNX tree model needs --reference as a CSV of rows to recount node covers");
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
        reference = reference_from_rows(schema, *data, probs);
    }

    // 3. The model card.
    auto card_r = card_base(in, schema);
    if (!card_r) return card_r.problems();
    Json card = std::move(*card_r);
    card["explainer"] = {{"kind", "treeshap"},
                         {"covers", e.covers},
                         {"note", e.covers == "training"
                                      ? "exact path-dependent TreeSHAP with the training node covers"
                                      : "exact path-dependent TreeSHAP with node covers counted from reference data (" +
                                            e.covers + ")"}};

    Package p;
    p.manifest = in.manifest;
    p.manifest.explainer = "treeshap";
    p.members["schema.json"] = json_canonical(schema_to_json(schema));
    p.members["model.onnx"] = std::move(onnx);
    p.members["trees.bin"] = ensemble_to_binary(e);
    p.members["reference.json"] = json_canonical(reference_to_json(reference));
    p.members["card.json"] = json_canonical(card);
    return p;
}

}  // namespace ldx
