// shared/predict/predict.h — a verified bundle turned into a model, and one prediction.
//
// Index of this file
//   [SECTION] Model (what a verified bundle contains, parsed)
//   [SECTION] Prediction (probabilities, decision, explanation, warnings)
//   [SECTION] Models that only ONNX Runtime runs (model-agnostic explanation)
//
// record -> record_prepare -> features -> margin -> probabilities and contributions. The browser
// and the tests call model_predict for one patient; the CLI's `predict` and the browser's batch
// worker call model_predict_batch (the same per row, with one TreeSHAP workspace). For other models (an MLP...)
// ONNX Runtime evaluates the rows model_onnx_inputs builds, and model_predict_from_onnx turns
// its outputs into the same Prediction.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "bundle/bundle.h"
#include "drift/histogram.h"
#include "explain/sampling_shapley.h"
#include "explain/points.h"
#include "explain/treeshap.h"
#include "imaging/image_model.h"
#include "predict/information.h"
#include "record/record.h"
#include "schema/schema.h"
#include "trees/ensemble.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Model
//-----------------------------------------------------------------------------
struct Model {
    Manifest manifest;
    std::vector<std::string> signers;
    std::string sha256;
    Schema schema;
    std::optional<Ensemble> ensemble;        // tree models: the core walks the trees and explains exactly
    TreeShapTables shap_tables;              // Fast TreeSHAP v2 tables, built once from the ensemble
    std::optional<SamplingShapley> sampler;  // other models: the model-agnostic explainer
    Reference reference;
    Json card;
    Bytes onnx;  // run by ONNX Runtime (browser) for every model
    // Imaging models (explainer "cam" or "occlusion"): the outputs, the map, and what ONNX
    // Runtime must reproduce on load (tensors check_images x C x H x W, float32).
    std::optional<ImageModel> imaging;
    std::vector<float> check_tensors;
};

// Members: "schema.json", "model.onnx", "reference.json", "card.json", and "trees.bin" (or, in
// bundles made before it, "trees.json") when the
// explainer is treeshap, "explainer.json" when it is sampling-shapley, "imaging.json" and
// "check.f32" when it is cam or occlusion. Problems "bad_member" name the member and what
// is wrong with it.
Result<Model> model_from_bundle(const VerifiedBundle& b);

//-----------------------------------------------------------------------------
// [SECTION] Prediction
//-----------------------------------------------------------------------------
struct Prediction {
    PreparedRecord prepared;
    std::vector<double> margin;          // per model output
    std::vector<double> probabilities;   // per class
    int predicted = 0;                   // class index
    Explanation explanation;             // empty when not asked for
    std::vector<double> standard_error;  // sampling-shapley: [output][field]; empty for exact TreeSHAP
};

// The decision rule: binary -> positive when P(positive) >= threshold; multilabel -> the most
// probable finding above its threshold, or the most probable finding when none is (the finding a
// heat map explains first; predict/findings.h gives every finding's call); otherwise the most
// probable class.
int decide(const Schema& schema, std::span<const double> probabilities);

// Tree models only (the native and wasm core walk the trees). Problems: those of record_prepare,
// and "no_trees" for models that only ONNX Runtime can run.
Result<Prediction> model_predict(const Model& m, const RawRecord& record, bool explain, long row = -1);
// The same from an already-built feature vector (batch paths that prepared the record already).
Prediction model_predict_features(const Model& m, PreparedRecord prepared, bool explain, TreeShapWorkspace& ws);
// Many records at once (the CLI's predict, the browser's batch view): the same predictions as
// model_predict_features one by one, explained tree by tree over blocks of rows (treeshap_batch).
std::vector<Prediction> model_predict_batch(const Model& m, std::vector<PreparedRecord> prepared, bool explain,
                                            TreeShapWorkspace& ws);
// Rebuilds m.shap_tables with a batch's budget (kBatchTableEntries) when the default budget left
// trees out: what explains a large model's batch fastest (explain/treeshap.h). One patient is
// explained as before (tables that large send every tree Linear TreeSHAP applies to it), the same
// explanations within rounding. Callers that explain many rows call it first (the browser's batch
// worker for a file of kBatchTablesFromRows rows or more, the CLI's predict); the page that
// explains one patient at a time, and the worker's warm-up, never do, so they never hold tables
// that large. The old tables are freed before the new ones are built. Then the leaves' (units') products
// (treeshap_products), within the same budget as the tables. Does nothing the second time.
void model_prepare_batch(Model& m);
// The file size from which the browser's batch worker rebuilds the tables (building 93 MiB of
// tables takes about as long as explaining 300 rows of the model that needs them).
inline constexpr size_t kBatchTablesFromRows = 1000;

// ONNX Runtime's cross-check: the page runs the bundle's ONNX model in ONNX Runtime Web on the
// same features, and a result is shown only when both agree, number by number (the probabilities,
// and each output's base + sum(contributions) against ONNX Runtime's margin), within kOnnxTolerance.
// Here once, so the page only moves numbers.
inline constexpr double kOnnxTolerance = 1e-4;
// A disagreement always says why: `why` is set exactly when !ok (code "check_failed": the counts
// differ, a number is not finite, or a difference is over the tolerance; or the reason a caller
// gave agreement_refused, when the numbers could not even be compared).
struct Agreement {
    bool ok = false;  // same count, all finite, every difference within kOnnxTolerance
    double max_abs_diff = 0;
    std::vector<Problem> why;  // one problem when !ok, none when ok
};
// relative (regression, whose values are in the outcome's unit, 152 say, where float32 has about
// 7 digits): each difference within kOnnxTolerance x max(1, |core value|).
Agreement onnx_agreement(std::span<const double> core, std::span<const double> onnx, bool relative = false);
// No comparison at all (the numbers given do not fit the model), with the reason.
Agreement agreement_refused(Problem why);

// The share (0..1) of an explanation's total absolute contribution that comes from fields whose
// value is missing (NaN in `values`): when it is large, the verdict rests on what was not measured,
// and the result says so. 0 when nothing contributes.
double missing_share(std::span<const double> values, std::span<const double> field_contributions);
inline constexpr double kMissingShareNotice = 0.25;  // from this share on, the result says so in words

// The explanation of output `out` in probability points of the class it shows (explain/points.h):
// for tree models from the margin-space values and every output's base value; a model-agnostic
// explanation is in probability already.
PointsExplanation model_explanation_points(const Model& m, std::span<const double> bases,
                                           std::span<const double> per_field, int out,
                                           std::span<const double> probabilities);

// Which model output an explanation shows for a class: binary has one output (the log-odds, or
// for model-agnostic explanations the probability, of the positive class); multiclass one per class.
int explanation_output(const Model& m, int klass);

//-----------------------------------------------------------------------------
// [SECTION] Models that only ONNX Runtime runs
//-----------------------------------------------------------------------------
// The rows (row-major, features wide) ONNX Runtime must evaluate: the patient first; with
// explain, the explainer's rows after it.
std::vector<float> model_onnx_inputs(const Model& m, std::span<const float> features, bool explain);
// The prediction from ONNX Runtime's outputs on those rows (rows x output_width values).
// Problems "bad_output": the wrong number of values, or values that are not class probabilities.
Result<Prediction> model_predict_from_onnx(const Model& m, PreparedRecord prepared, std::span<const float> outputs,
                                           bool explain);

}  // namespace ldx
