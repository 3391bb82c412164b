// server/train/card.cpp — the model card's figures from held-out predictions (train.h's CardInput).
//
// Index of this file
//   [SECTION] Contributions per field
//   [SECTION] The card
//
// One implementation for every way of training: in memory the value-dependent parts see every
// validated row; external-memory and distributed training hand in a uniform sample for them.
#include <algorithm>
#include <cmath>

#include "conformal/conformal.h"
#include "drift/estimate.h"
#include "metrics/evaluation.h"
#include "predict/predict.h"
#include "train/train.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Contributions per field
//-----------------------------------------------------------------------------
namespace {
// XGBoost's pred_contribs (rows x outputs x (features + 1)) summed per field, of the output each
// row's verdict shows (the decided class of a multi-output model, from `probabilities`, rows x width).
std::vector<double> field_contributions(const Schema& s, std::span<const float> contribs,
                                        std::span<const double> probabilities, size_t rows, int width) {
    const size_t nf = s.fields.size(), nx = s.features.size() + 1;
    if (rows == 0 || contribs.size() % (rows * nx) != 0) return {};
    const size_t outputs = contribs.size() / (rows * nx);
    std::vector<double> out(rows * nf, 0.0);
    for (size_t i = 0; i < rows; ++i) {
        size_t o = 0;
        if (outputs > 1)
            o = static_cast<size_t>(
                decide(s, probabilities.subspan(i * static_cast<size_t>(width), static_cast<size_t>(width))));
        const float* row = contribs.data() + (i * outputs + o) * nx;
        for (size_t j = 0; j + 1 < nx; ++j) out[i * nf + static_cast<size_t>(s.features[j].field)] += row[j];
    }
    return out;
}
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] The card
//-----------------------------------------------------------------------------
Result<TrainResult> card_from_held_out(const Schema& schema, const TrainConfig& cfg, const XgbBooster::Params& params,
                                       size_t rounds, const XgbBooster& final_model, CardInput in,
                                       const Matrix& reference_x, std::span<const double> reference_values,
                                       const TrainLog& log) {
    const bool regression = schema.outputs.regression();
    const int k = regression ? 5 : schema.num_classes();
    const int width = regression ? 1 : k;
    const size_t m = in.oof.size() / static_cast<size_t>(width), ms = in.s_oof.size() / static_cast<size_t>(width);
    const int folds = in.folds;
    const std::string& fewer_folds = in.fewer_folds;
    std::vector<double>& oof = in.oof;
    const std::string sample =
        in.sample_note.empty() ? "" : "; subgroups, their coverage and the minimum information on " + in.sample_note;
    TrainResult out;
    out.schema = schema;
    fill_typical_ranges(out.schema, reference_values);
    // The evaluation takes the held-out outputs and labels (moved in and back: millions of rows
    // are not copied), each bootstrap resample at most kBootstrapRows rows.
    auto evaluate_held_out = [&](std::vector<int>& labels, std::vector<double>& observed) {
        EvalInput e{&out.schema, std::move(labels), std::move(oof), cfg.bootstrap, cfg.seed, true, std::move(observed)};
        Json metrics = evaluate(e);
        labels = std::move(e.labels);
        oof = std::move(e.probabilities);
        observed = std::move(e.observed);
        return metrics;
    };
    EvalInput sizes;
    sizes.bootstrap = cfg.bootstrap;
    const size_t drawn = bootstrap_rows_drawn(m, sizes);
    const std::string resamples =
        "95% intervals from " + std::to_string(cfg.bootstrap) + " bootstrap resamples" +
        (regression || cfg.group.empty() ? "" : " of rows") +
        (drawn < m ? " (" + std::to_string(drawn) + " rows each, their widths scaled by the square root of " +
                         std::to_string(drawn) + "/" + std::to_string(m) + ": m-out-of-n bootstrap)"
                   : "");
    std::string threshold_note, policy;
    if (schema.outputs.kind == TaskKind::binary) {
        std::vector<double> score(m);
        for (size_t i = 0; i < m; ++i) score[i] = oof[i * 2 + 1];
        policy = cfg.threshold.empty() ? "fixed:" + json_dump(Json(schema.outputs.threshold)) : cfg.threshold;
        auto t = threshold_for(policy, score, in.labels);
        if (!t) return problem(t.error().code, "train.json threshold: " + t.error().message, "threshold");
        out.schema.outputs.threshold = *t;
        log("threshold " + std::to_string(*t) + " (" + threshold_policy_words(policy) + ")");
        if (!cfg.threshold.empty())
            threshold_note = "; the threshold (" + threshold_policy_words(policy) +
                             ") was chosen on the same out-of-fold predictions, so figures at it are slightly "
                             "optimistic";
    }
    log("evaluating out-of-fold predictions (" + std::to_string(cfg.bootstrap) + " bootstrap resamples)");
    const std::string& scheme_words = in.method;
    if (regression) {
        std::vector<int> none;
        out.metrics = evaluate_held_out(none, in.outcomes);
        out.metrics["subgroups"] = evaluate_regression_subgroups(out.schema, in.s_outcomes, in.s_oof, in.s_values);
        // Prediction intervals: half-widths from the out-of-fold residuals; coverage cross-fitted.
        out.schema.outputs.conformal = conformal_fit_intervals(
            oof, in.outcomes, kConformalLevels, "out-of-fold residuals of " + std::to_string(m) + " rows");
        out.metrics["conformal"] =
            conformal_interval_cross_coverage(out.schema.outputs, in.s_oof, in.s_outcomes, kConformalLevels,
                                              subgroups_of(schema, in.s_values), folds, cfg.seed);
        out.metrics["method"] =
            (!scheme_words.empty()
                 ? scheme_words
                 : std::to_string(folds) + "-fold cross-validation stratified by quintile of the outcome" +
                       (cfg.group.empty() ? "" : ", each patient ('" + cfg.group + "') in one fold")) +
            ", out-of-fold predictions; " + resamples + sample;
    } else {
        std::vector<double> none;
        out.metrics = evaluate_held_out(in.labels, none);
        out.metrics["subgroups"] = evaluate_subgroups(out.schema, in.s_labels, in.s_oof, in.s_values);
        if (schema.outputs.kind == TaskKind::binary) out.metrics["threshold_policy"] = policy;
        // Prediction sets: calibrated on the out-of-fold predictions; their coverage cross-fitted.
        std::vector<std::string> class_names;
        for (const auto& c : schema.outputs.classes) class_names.push_back(c.name);
        out.schema.outputs.conformal = conformal_fit(oof, in.labels, k, kConformalLevels,
                                                     "out-of-fold predictions of " + std::to_string(m) + " rows");
        out.metrics["conformal"] = conformal_cross_coverage(in.s_oof, in.s_labels, k, kConformalLevels, class_names,
                                                            subgroups_of(schema, in.s_values), folds, cfg.seed);
        out.metrics["method"] =
            (!scheme_words.empty()
                 ? scheme_words
                 : std::to_string(folds) + "-fold stratified cross-validation" +
                       (fewer_folds.empty() ? "" : " (" + fewer_folds + ")") +
                       (cfg.group.empty() ? "" : ", each patient ('" + cfg.group + "') in one fold")) +
            ", out-of-fold predictions; " + resamples + threshold_note + sample;
    }

    // The final model (fitted on every row by the caller).
    out.xgboost_json = final_model.save_json();
    auto e = ensemble_from_xgboost_json(out.xgboost_json);
    if (!e) return e.problems();
    out.ensemble = std::move(*e);
    log("final model: " + std::to_string(out.ensemble.trees.size()) + " trees on " + std::to_string(in.rows) + " rows");

    // Reference histograms from the training rows and the final model's probabilities.
    std::vector<double> probs;
    for (size_t i = 0; i < reference_x.rows; ++i) {
        const auto mg = ensemble_margin(out.ensemble, reference_x.row(i));
        const auto p = probabilities_from_margin(out.ensemble.link, mg);
        probs.insert(probs.end(), p.begin(), p.end());
    }
    out.reference = reference_build(out.schema, reference_values, probs);
    // Regression: how often the cross-fitted interval held the outcome, per bin of the predicted
    // value's reference histogram (the server estimates the coverage of new patients from it).
    if (regression)
        out.metrics["conformal"]["by_predicted_value"] = coverage_by_bin_to_json(
            coverage_by_bin(out.reference.classes[0], kConformalLevels, in.s_oof,
                            conformal_interval_cross_covered(out.schema.outputs, in.s_oof, in.s_outcomes,
                                                             kConformalLevels, folds, cfg.seed)));

    // The minimum information (predict/information.h): the task's own rule, or one derived from
    // the out-of-fold explanations.
    if (schema.minimum_information) {
        if (out.schema.minimum_information->basis.empty())
            out.schema.minimum_information->basis = "set by the task's schema";
    } else {
        out.schema.minimum_information = information_derive(
            out.schema, in.s_values, field_contributions(out.schema, in.s_contribs, in.s_oof, ms, width), ms);
    }
    log("minimum information: " + information_words(out.schema));

    Json params_json = Json::object();
    for (const auto& [key, v] : params) params_json[key] = v;
    out.training = {{"rows", in.rows},
                    {"rounds", rounds},
                    {"folds", folds},
                    {"configuration", train_config_to_json(cfg)},
                    {"threshold_policy", policy},
                    {"class_weights", cfg.class_weights && !regression},
                    {"xgboost_parameters", params_json},
                    {"missing_values", "left missing; XGBoost learns a default direction per split"}};
    return out;
}

}  // namespace ldx
