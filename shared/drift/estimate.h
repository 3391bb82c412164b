// shared/drift/estimate.h — performance estimated without labels from the randomized histogram of
// predicted probabilities (confidence-based performance estimation), and intervals for drift
// figures that account for the randomized-response noise.
//
// Index of this file
//   [SECTION] Randomized response as a distribution (resampling the observed counts)
//   [SECTION] Expected performance from a histogram of calibrated probabilities
//   [SECTION] Estimate with intervals (parametric bootstrap over the randomized counts)
//   [SECTION] Drift figures with intervals
//   [SECTION] Regression: expected coverage of the prediction interval
//
// A calibrated model's probability is the chance that the patient is positive; a model's
// probabilities as training's out-of-fold rows found them (CalibrationByBin) are its chances as
// measured. Given how many patients fall in each probability bin, the expected number of true
// positives above the threshold is the sum of their chances, false positives the sum of one minus
// them, and the expected AUC the chance that a positive (patients weighted by their chance) scores
// above a negative (weighted by one minus it). This holds only while outcomes follow the
// probabilities as they did in training: it follows a change in who is scored (covariate shift),
// never a change in how outcomes follow from the inputs (concept shift), which only labels can show.
//
// Within a bin the probabilities are taken as uniform between its edges (the first bin from 0,
// the last to 1), so a threshold inside a bin splits it, and pairs of patients in one bin are
// ranked as such a spread ranks them rather than counted as ties.
#pragma once
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "drift/histogram.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Randomized response as a distribution
//-----------------------------------------------------------------------------
// Counts a histogram of `n` patients would show after k-ary randomized response (report.h) when
// the true shares per bin are `shares` (summing to 1): one multinomial draw.
std::vector<uint64_t> randomized_response_draw(std::span<const double> shares, uint64_t n, double epsilon,
                                               std::mt19937_64& rng);
// The unbiased estimate of the true shares: (observed / n - q) / (p - q) per bin, which may be
// negative in a bin few patients are in (they sum to 1).
std::vector<double> unclipped_shares(std::span<const uint64_t> observed, uint64_t n, double epsilon);
// The debiased estimate (report.h, randomized_response_debias) as shares summing to 1 (all zero
// when nothing is left).
std::vector<double> debiased_shares(std::span<const uint64_t> observed, uint64_t n, double epsilon);

//-----------------------------------------------------------------------------
// [SECTION] Expected performance
//-----------------------------------------------------------------------------
// Binary task, probability of the positive class. `probability` is the reference histogram of that
// probability (its edges; its last bin, "missing", is ignored).
struct Performance {
    double auc = 0, sensitivity = 0, specificity = 0, ppv = 0, alert_rate = 0;
    double prevalence = 0;  // expected share of positives
};
struct CalibrationByBin;
// From the share of patients per bin (bins of `probability`), alerting when p >= threshold; with
// `calibration` (below) the chance of a positive per bin is the out-of-fold rows' one.
Performance performance_expected(const Histogram& probability, std::span<const double> shares, double threshold,
                                 const CalibrationByBin* calibration = nullptr);

//-----------------------------------------------------------------------------
// [SECTION] Estimate with intervals
//-----------------------------------------------------------------------------
// A figure and its 95% interval for one period's patients. The interval is predictive: where the
// figure computed from those patients' true labels should fall, accounting for the randomized
// response (the counts are redrawn from the debiased shares and debiased again), which patients
// landed in which bin, which of them turned out positive, and (with a CalibrationByBin) how well
// training's out-of-fold rows know the chance of a positive in each bin.
struct Estimated {
    double value = 0, lo = 0, hi = 0;
};
struct PerformanceEstimate {
    Estimated auc, sensitivity, specificity, ppv, alert_rate;
    uint64_t patients = 0;  // the period's patients the figures are about
};
// The model's calibration as training measured it: per bin of the probability's reference
// histogram (missing bin included), how many out-of-fold predictions fell there and how many of
// those patients were positive (the model card's reliability table, metrics.calibration.reliability). With it, the
// chance that a patient in bin b is positive is taken from the bin's rows, not from the probability: (positives + m) /
// (rows + 1), m the bin's mean probability (a prior worth one patient, so a bin with no rows keeps the probability),
// and each redraw of the interval draws it from Beta(positives + m, rows - positives + 1 - m), so the interval includes
// the doubt about the calibration the estimate rests on. Within a bin split by the threshold both parts move by the
// bin's shift in log-odds. Without it (empty), the probabilities are taken as calibrated and that doubt is left out.
struct CalibrationByBin {
    std::vector<uint64_t> rows, positives;
};
// From the card's reliability table of P(positive) (evaluation.h: [{"bin": [lower, upper], "count",
// "observed"}]), whose bins must be those of `reference` (the probability's histogram): an error
// naming the table when they are not.
[[nodiscard]] Result<CalibrationByBin> calibration_from_reliability(const Json& reliability,
                                                                    const Histogram& reference);
// observed: the randomized counts of the probability histogram, from `n` patients counted in it;
// patients: every patient of the period (n when each patient is counted in every histogram).
// Deterministic for a given seed.
PerformanceEstimate performance_estimate(const Histogram& probability, std::span<const uint64_t> observed, uint64_t n,
                                         double epsilon, double threshold, uint64_t patients, uint64_t seed,
                                         int resamples = 400, const CalibrationByBin& calibration = {});
// {"auc": {"value", "ci95": [lo, hi]}, ...}, rounded to 4 decimals.
Json performance_estimate_json(const PerformanceEstimate& e);

//-----------------------------------------------------------------------------
// [SECTION] Drift figures with intervals
//-----------------------------------------------------------------------------
// PSI and Jensen-Shannon distance of debiased live counts against the reference (as drift_compare
// computes them), with 95% intervals from redrawing the randomized counts of `n` patients from the
// debiased shares. Deterministic for a given seed.
struct DriftInterval {
    Estimated psi, js;
};
DriftInterval drift_interval(std::span<const uint64_t> reference, std::span<const uint64_t> live, uint64_t n,
                             double epsilon, uint64_t seed, int resamples = 200);

//-----------------------------------------------------------------------------
// [SECTION] Regression: expected coverage of the prediction interval
//-----------------------------------------------------------------------------
// The bundle's prediction interval has one width for every patient, so how often it holds the
// true value depends on where the patients' predictions fall: training's out-of-fold rows tell,
// per bin of the predicted value's reference histogram, how many rows fell there and how many of
// them the (cross-fitted) interval covered at each level. Spread over a period's debiased
// histogram of predicted values, that gives the coverage expected for its patients. Like the
// figures above it holds only while the residuals, given the prediction, behave as in training;
// and predictions beyond training's range all fall in its first or last bin, whose rows cannot
// tell how the errors go on beyond them.
struct CoverageByBin {
    std::vector<double> levels;                  // conformal levels, ascending
    std::vector<uint64_t> rows;                  // per bin of the reference histogram (missing bin included)
    std::vector<std::vector<uint64_t>> covered;  // per level, per bin
};
// predicted: out-of-fold predictions; covered_rows: per level, per row, 1 when covered.
CoverageByBin coverage_by_bin(const Histogram& reference, std::span<const double> levels,
                              std::span<const double> predicted, std::span<const std::vector<int>> covered_rows);
// {"levels", "rows", "covered"}; read back with its shape checked against the histogram's bins.
Json coverage_by_bin_to_json(const CoverageByBin& c);
[[nodiscard]] Result<CoverageByBin> coverage_by_bin_from_json(const Json& j, size_t bins);

struct CoverageEstimate {
    double level = 0;
    Estimated coverage;
};
// The expected share of the period's patients whose true value lies in the interval, per level,
// with a 95% predictive interval: the randomized counts redrawn (as performance_estimate), each
// bin's training coverage redrawn from its rows (a bin of 40 rows tells it only so well), and
// the period's patients covered or not. A bin with no training rows takes the overall coverage.
std::vector<CoverageEstimate> coverage_estimate(const CoverageByBin& c, std::span<const uint64_t> observed, uint64_t n,
                                                double epsilon, uint64_t patients, uint64_t seed, int resamples = 400);

}  // namespace ldx
