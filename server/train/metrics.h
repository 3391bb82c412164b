// server/train/metrics.h — evaluation of out-of-fold predictions for the model card.
//
// Index of this file
//   [SECTION] Point metrics (AUC, sensitivity, specificity, F1, accuracy, kappa)
//   [SECTION] Calibration (ECE and reliability table)
//   [SECTION] The full report with bootstrap confidence intervals
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/json.h"
#include "schema/schema.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Point metrics
//-----------------------------------------------------------------------------
// One-vs-rest AUC-ROC of `score` for label == positive (Mann-Whitney U, ties count half).
double auc_roc(std::span<const double> score, std::span<const int> label, int positive);
// Quadratic weighted kappa between ordered labels 0..k-1.
double quadratic_weighted_kappa(std::span<const int> truth, std::span<const int> predicted, int k);

//-----------------------------------------------------------------------------
// [SECTION] Calibration
//-----------------------------------------------------------------------------
struct ReliabilityBin {
    double lower = 0, upper = 0, mean_predicted = 0, observed = 0;
    size_t count = 0;
};
// Confidence = P(positive) for binary, P(predicted class) for multi-class; 10 equal-width bins.
std::vector<ReliabilityBin> reliability(std::span<const double> confidence, std::span<const int> correct,
                                        int bins = 10);
double expected_calibration_error(const std::vector<ReliabilityBin>& table);

//-----------------------------------------------------------------------------
// [SECTION] The full report
//-----------------------------------------------------------------------------
struct EvalInput {
    const Schema* schema = nullptr;
    std::vector<int> labels;            // true class per row
    std::vector<double> probabilities;  // rows x classes
    int bootstrap = 1000;
    uint64_t seed = 1;
};

// The ROC curve of `score` against `positive` (1/0), as [[false positive rate, true positive rate]]
// from [0, 0] to [1, 1], one point per distinct score, thinned to at most max_points (max_points >= 3).
Json roc_curve(std::span<const double> score, std::span<const int> positive, size_t max_points);

// Per class: AUC-ROC, sensitivity, specificity, F1, precision, support, ROC curve; overall accuracy;
// macro averages; 95% bootstrap intervals for each; calibration; ordinal metrics for ordinal
// tasks. Returns the "metrics" object of the model card.
Json evaluate(const EvalInput& in);

// Per-subgroup accuracy and AUC (positive class / macro), with counts.
Json evaluate_subgroups(const Schema& schema, std::span<const int> labels, std::span<const double> probabilities,
                        std::span<const double> values);

}  // namespace ldx
