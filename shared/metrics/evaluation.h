// shared/metrics/evaluation.h — how well a model's probabilities match labelled patients: the
// model card's figures at training time (out-of-fold), `localdx evaluate` on a site's own file,
// and the browser's Validate view all compute them here.
//
// Index of this file
//   [SECTION] Point metrics (AUC-ROC, PR-AUC, Brier score, kappa)
//   [SECTION] Calibration (reliability table, ECE, logistic intercept and slope)
//   [SECTION] At a threshold (confusion counts, threshold policies, operating points, net benefit)
//   [SECTION] The full report with bootstrap confidence intervals, and paired comparison
//   [SECTION] Subgroups
//   [SECTION] Regression (MAE, RMSE, R², calibration of predicted values)
//
// Conventions: probabilities are rows x classes, row-major; labels are class indices 0..k-1.
// Regression tasks have observed and predicted values instead (one per row, in the outcome's unit).
// A figure that cannot be computed on the rows given (AUC with one class present, PPV with no
// alert) is NaN, and null in JSON.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "schema/schema.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Point metrics
//-----------------------------------------------------------------------------
// One-vs-rest AUC-ROC of `score` for label == positive (Mann-Whitney U, ties count half).
double auc_roc(std::span<const double> score, std::span<const int> label, int positive);
// Average precision (area under the precision-recall curve, step-wise, as sklearn's
// average_precision_score): the sum over distinct scores, highest first, of the recall gained
// times the precision there.
double average_precision(std::span<const double> score, std::span<const int> label, int positive);
// Mean squared difference between each class's probability and the 0/1 outcome, summed over the
// classes for multi-class tasks (binary: the usual Brier score of P(positive)).
double brier_score(std::span<const double> probabilities, std::span<const int> labels, int k);
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

// Logistic recalibration of P(positive) against 0/1 outcomes, with L = logit(p) (p clipped to
// [1e-15, 1 - 1e-15]):
//   slope:     b of the maximum-likelihood fit  logit P(y=1) = a + b L   (1 when calibrated; < 1
//              means the predictions are too extreme)
//   intercept: a of the fit  logit P(y=1) = a + L  (calibration-in-the-large; 0 when calibrated,
//              > 0 when the model under-predicts)
// Newton-Raphson to convergence; NaN when the fit does not exist (one class only, separation).
struct CalibrationFit {
    double intercept = 0, slope = 0;
};
CalibrationFit calibration_fit(std::span<const double> p, std::span<const int> positive);

//-----------------------------------------------------------------------------
// [SECTION] At a threshold
//-----------------------------------------------------------------------------
// An alert is score >= threshold (the bundle's decision rule for binary tasks).
struct Confusion {
    double tp = 0, fp = 0, fn = 0, tn = 0;
    double n() const { return tp + fp + fn + tn; }
    double sensitivity() const;
    double specificity() const;
    double ppv() const;
    double npv() const;
    double alerts_per_100() const;
};
Confusion confusion_at(std::span<const double> score, std::span<const int> positive, double threshold);

// How a threshold is chosen from scored, labelled rows (out-of-fold predictions at training):
//   "youden"             the maximum of sensitivity + specificity - 1
//   "sensitivity>=X"     the highest threshold whose sensitivity is at least X (best specificity)
//   "specificity>=X"     the lowest threshold whose specificity is at least X (best sensitivity)
//   "ppv>=X"             the lowest threshold whose PPV is at least X
//   "npv>=X"             the highest threshold whose NPV is at least X
//   "fixed:X" or "X"     X itself (0 < X < 1)
// Candidate thresholds are the distinct scores. Problems: "bad_policy" (not one of these),
// "unreachable" (no threshold meets the target on these rows).
[[nodiscard]] Result<double> threshold_for(std::string_view policy, std::span<const double> score,
                                           std::span<const int> positive);

// The policy in a clinician's words: "youden" -> "best sensitivity + specificity",
// "sensitivity>=0.90" -> "sensitivity at least 90%", "fixed:0.5" -> "a fixed 50%".
std::string threshold_policy_words(std::string_view policy);

struct OperatingPoint {
    std::string policy;
    double threshold = 0;
    Confusion at;
};
// The standard table: youden, sensitivity >= 0.90 / 0.95, specificity >= 0.90 / 0.95, PPV >= 0.50,
// NPV >= 0.95, and 0.5; a policy no threshold meets is left out.
std::vector<OperatingPoint> operating_points(std::span<const double> score, std::span<const int> positive);
Json operating_points_json(const std::vector<OperatingPoint>& points);

// Decision curve: net benefit TP/n - FP/n * t/(1-t) of alerting at threshold t, for the model,
// for alerting on everyone and (0) on no one, at t = 0.01, 0.02, ..., 0.99.
Json decision_curve(std::span<const double> score, std::span<const int> positive);

//-----------------------------------------------------------------------------
// [SECTION] The full report
//-----------------------------------------------------------------------------
inline constexpr size_t kBootstrapRows = 1'000'000;
struct EvalInput {
    const Schema* schema = nullptr;     // classes, task kind and the binary threshold
    std::vector<int> labels;            // true class per row (regression: unused)
    std::vector<double> probabilities;  // rows x classes (regression: the predicted value per row)
    int bootstrap = 1000;
    uint64_t seed = 1;
    bool round = true;             // figures to 6 decimals (the model card); false keeps every digit
    std::vector<double> observed;  // regression: the true value per row
    // Rows drawn in each bootstrap resample: n, or at most this many when there are more (the
    // m-out-of-n bootstrap: each resample draws m rows with replacement and the percentile
    // interval's distances from the figure are scaled by sqrt(m / n)). It bounds a resample's memory
    // and time on millions of rows (the card of external-memory training).
    size_t bootstrap_rows = kBootstrapRows;
};
// Rows a bootstrap resample draws for `rows` rows (rows when there is no bootstrap).
size_t bootstrap_rows_drawn(size_t rows, const EvalInput& in);

// The ROC curve of `score` against `positive` (1/0), as [[false positive rate, true positive rate]]
// from [0, 0] to [1, 1], one point per distinct score, thinned to at most max_points (max_points >= 3).
Json roc_curve(std::span<const double> score, std::span<const int> positive, size_t max_points);

// Every figure with its 95% bootstrap interval (percentile method; each resample draws n rows
// with replacement, at most in.bootstrap_rows as EvalInput says), as {"value", "ci95": [lo, hi]}:
//   accuracy; per class (one against the rest, decided by the bundle's rule): auc_roc, pr_auc,
//   sensitivity, specificity, precision (PPV), npv, f1; macro averages; brier; calibration
//   (expected_calibration_error; binary: intercept, slope); alerts_per_100 (binary); ordinal:
//   quadratic_weighted_kappa, within_one_accuracy.
// Also: per-class support, the confusion matrix at the bundle's threshold (rows: truth, columns:
// decided class), the reliability table, ROC curves; binary: the operating points and the
// decision curve; "bootstrap_rows" when a resample drew fewer rows than there are. Returns the "metrics" object of the
// model card and of `localdx evaluate`. Regression tasks: evaluate_regression's figures.
Json evaluate(const EvalInput& in);

// Two models' probabilities for the same rows and labels (a.labels is used): each figure of
// both, and the difference b - a with a 95% paired-bootstrap interval (the same resampled rows
// for both). As {"figures": {"figure": {"a", "b", "difference", "ci95": [lo, hi]}} keyed by dotted
// name ("class.pos.auc_roc", "brier"...), "rows", "bootstrap_resamples", and "bootstrap_rows" when
// a resample drew fewer rows than there are (as evaluate says it)}.
Json compare(const EvalInput& a, const EvalInput& b);

// The flat figures of one evaluation ("accuracy", "class.pos.auc_roc", "calibration.slope"...),
// as evaluate computes them before the bootstrap.
std::vector<std::pair<std::string, double>> evaluation_figures(const Schema& s, std::span<const int> labels,
                                                               std::span<const double> probabilities);

//-----------------------------------------------------------------------------
// [SECTION] Subgroups
//-----------------------------------------------------------------------------
// The rows of each subgroup the model card reports: every level of each category field, and a
// numeric field named "age" split at its median (rounded to a whole number). values: rows x fields.
struct Subgroup {
    std::string name;  // "Sex: female", "Age under 45 years"
    std::vector<size_t> rows;
};
std::vector<Subgroup> subgroups_of(const Schema& schema, std::span<const double> values);

// Per-subgroup accuracy and AUC (positive class / macro), with counts (subgroups of 10 rows or more).
Json evaluate_subgroups(const Schema& schema, std::span<const int> labels, std::span<const double> probabilities,
                        std::span<const double> values);

// Per period of time (one name per row: "2019", "2019-Q1"; metrics/folds.h period_of), in time
// order: rows and accuracy and AUC as evaluate_subgroups; binary also the observed share of the
// positive class and the mean predicted probability of it, which part ways when the population
// drifts. Regression (outputs are predicted values): rows, MAE, RMSE, R squared, mean observed and
// mean predicted. Point figures, no intervals.
Json evaluate_periods(const Schema& schema, std::span<const int> labels, std::span<const double> outputs,
                      std::span<const double> observed, std::span<const std::string> periods);

//-----------------------------------------------------------------------------
// [SECTION] Regression
//-----------------------------------------------------------------------------
// "mae", "rmse", "r2" (1 - residual sum of squares / total sum of squares about the observed mean),
// "calibration.in_the_large" (mean observed - mean predicted: 0 when calibrated, > 0 when the
// model under-predicts), "calibration.slope" (least-squares slope of observed on predicted: 1 when
// calibrated, < 1 when the predictions are too spread out).
std::vector<std::pair<std::string, double>> regression_figures(std::span<const double> observed,
                                                               std::span<const double> predicted);
// Each figure with its 95% bootstrap interval (as evaluate), the calibration table by decile of
// the predicted value ("calibration.deciles": [{"mean_predicted", "mean_observed", "count"}]),
// "rows", "bootstrap_resamples" and the outcome's "unit".
Json evaluate_regression(const EvalInput& in);
// Per subgroup (as evaluate_subgroups): rows, MAE, RMSE and R².
Json evaluate_regression_subgroups(const Schema& schema, std::span<const double> observed,
                                   std::span<const double> predicted, std::span<const double> values);

}  // namespace ldx
