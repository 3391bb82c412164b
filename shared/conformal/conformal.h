// shared/conformal/conformal.h — calibrated uncertainty: split-conformal prediction sets.
//
// Index of this file
//   [SECTION] The calibrator (carried in the schema's outputs)
//   [SECTION] Fitting it from held-out predictions
//   [SECTION] Sets and bands for one patient
//   [SECTION] Coverage
//   [SECTION] For the result view and the CLI
//   [SECTION] A site's recalibration
//
// A prediction set at level 1 - a holds every class the model cannot rule out: on patients like
// the calibration patients, the true class is in the set at least 1 - a of the time. The score
// of a class is 1 - its probability; the set holds the classes whose score is at most the
// calibration quantile. Quantiles are per class (Mondrian): the guarantee holds for the patients
// of each true class separately, so a rare class is not sacrificed for the common ones.
// Calibration rows are the out-of-fold predictions of training (never rows the model saw), or a
// site's own labelled patients (recalibration on the device).
//
// A regression task gets an interval instead: at level 1 - a, the predicted value plus or minus
// the ceil((n + 1)(1 - a))-th smallest absolute out-of-fold residual, cut to the outcome's
// plausible range (which holds every true value, so cutting loses no coverage). The width is the
// same for every patient (absolute-residual split conformal).
//
// A multilabel task's calibrator is each finding's, as a binary task of its own (metrics/multilabel.h):
// per level, two thresholds per finding, [absent, present], findings in the schema's order. The
// schema carries it as one binary calibrator in each finding (outputs.findings[f].conformal), fitted
// on held-out calibration images by conformal_fit_site (metrics/image_validation.h,
// image_conformal_fit) when the bundle is made; a site's recalibration replaces it.
//
// Binary tasks read the set at one level as a triage band:
//   {negative}         "low": at most a of the patients who have the condition land here
//   {positive}         "high": at most a of the patients without it land here
//   both (or neither)  "uncertain": the model cannot tell at this level
#pragma once
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "conformal/calibrator.h"
#include "metrics/evaluation.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] The calibrator
//-----------------------------------------------------------------------------
// struct Conformal (plain data, held by the schema): conformal/calibrator.h.

// {"rows", "source", "levels": [{"level", "threshold": [per class]}]}; intervals: [{"level", "half_width"}].
Json conformal_to_json(const Conformal& c);
// Checked like the rest of a schema: levels in (0, 1) ascending, one threshold per class in [0, 1];
// classes == 0 (regression): one finite half_width >= 0 per level.
[[nodiscard]] Result<Conformal> conformal_from_json(const Json& j, size_t classes, const std::string& path);

//-----------------------------------------------------------------------------
// [SECTION] Fitting
//-----------------------------------------------------------------------------
// The levels LocalDx calibrates by default.
inline constexpr double kConformalLevels[] = {0.8, 0.9, 0.95};

// probabilities: rows x k; labels 0..k-1. For each level and class c with n_c calibration rows,
// the threshold is the ceil((n_c + 1)(level))-th smallest score 1 - p_c among them (1 when that
// rank exceeds n_c: the class is then never ruled out).
Conformal conformal_fit(std::span<const double> probabilities, std::span<const int> labels, int k,
                        std::span<const double> levels, std::string source);

// Regression: half-widths from the absolute residuals |observed - predicted|.
Conformal conformal_fit_intervals(std::span<const double> predicted, std::span<const double> observed,
                                  std::span<const double> levels, std::string source);

//-----------------------------------------------------------------------------
// [SECTION] Sets and bands
//-----------------------------------------------------------------------------
// The classes in the set at levels[index], in class order.
std::vector<int> conformal_set(const Conformal& c, size_t index, std::span<const double> probabilities);
// The level a binary band is read at: 0.9 when calibrated, else the middle level.
size_t conformal_band_index(const Conformal& c);
enum class Band { low, uncertain, high };
Band conformal_band(const Conformal& c, std::span<const double> probabilities);
const char* band_name(Band b);  // "low", "uncertain", "high"

// Regression: the interval at levels[index] around `value`, cut to the outcome's range.
struct Interval {
    double level = 0, low = 0, high = 0;
};
Interval conformal_interval(const Outputs& o, size_t index, double value);

//-----------------------------------------------------------------------------
// [SECTION] Coverage
//-----------------------------------------------------------------------------
// Empirical coverage on labelled rows: per level, the share of rows whose true class is in the
// set, the same per true class, and the mean set size; binary tasks also the share of each band
// and its observed positive rate. {"levels": [{"level", "coverage", "by_class": {...},
// "mean_set_size", "bands"?}], "rows"}.
Json conformal_coverage(const Conformal& c, std::span<const double> probabilities, std::span<const int> labels,
                        std::span<const std::string> class_names);

// Cross-fitted coverage of calibrators fitted on the same rows: the rows are split into `folds`;
// each fold is covered by a calibrator fitted on the others. An honest estimate of the coverage
// the training calibrator gives new patients; also per subgroup (Mondrian by class, so a subgroup
// is covered only on average). Adds "subgroups": [{"group", "rows", "coverage": [per level]}].
Json conformal_cross_coverage(std::span<const double> probabilities, std::span<const int> labels, int k,
                              std::span<const double> levels, std::span<const std::string> class_names,
                              std::span<const Subgroup> subgroups, int folds, uint64_t seed);

// Regression: per level the share of rows whose observed value lies in its interval and the mean
// width: {"rows", "levels": [{"level", "coverage", "mean_width"}]}.
Json conformal_interval_coverage(const Outputs& o, std::span<const double> predicted, std::span<const double> observed);
// Regression, cross-fitted as conformal_cross_coverage, with "subgroups" and "method".
// conformal_interval_cross_covered: the same rows' verdicts, per level and row (1: the observed
// value lies in the interval fitted on the other folds).
std::vector<std::vector<int>> conformal_interval_cross_covered(const Outputs& o, std::span<const double> predicted,
                                                               std::span<const double> observed,
                                                               std::span<const double> levels, int folds,
                                                               uint64_t seed);
Json conformal_interval_cross_coverage(const Outputs& o, std::span<const double> predicted,
                                       std::span<const double> observed, std::span<const double> levels,
                                       std::span<const Subgroup> subgroups, int folds, uint64_t seed);

//-----------------------------------------------------------------------------
// [SECTION] For the result view and the CLI
//-----------------------------------------------------------------------------
// {"levels": [{"level", "classes": [class indices]}], "band_level", "band" (binary)}; regression:
// {"levels": [{"level", "low", "high"}], "band_level"}; null when the schema carries no calibrator.
Json conformal_prediction_json(const Schema& s, std::span<const double> probabilities);
// What a clinician reads, or "" without a calibrator. Multi-class: "90% prediction set: Stage 2
// or Stage 3". Binary: "Triage band (90% confidence): low — Diabetes ruled out". Regression:
// "90% prediction interval: 96 to 247 points".
// Multilabel: "Triage bands (90% confidence): Effusion high, Cardiomegaly uncertain, Nodule low".
// A calibrator fitted on the device says so, naming images for an imaging model and patients otherwise.
std::string conformal_words(const Schema& s, std::span<const double> probabilities);

//-----------------------------------------------------------------------------
// [SECTION] A site's recalibration
//-----------------------------------------------------------------------------
// How many thresholds a calibrator of these outputs holds per level: 0 for a regression (one
// half-width), two per finding for a multilabel task, else one per class (conformal_from_json's `classes`).
size_t conformal_width(const Outputs& o);
// Finding f's calibrator within a multilabel task's: a binary calibrator ([absent, present] per level).
Conformal conformal_finding(const Conformal& c, size_t f);
// The calibrator refitted on a site's own labelled rows (the Validate view's recalibration, for a
// file of patients and for labelled images alike), marked local: class sets (conformal_fit), a
// regression's intervals (conformal_fit_intervals, from `observed`), or each finding's band fitted on
// that finding's rows as a binary task. probabilities: rows x classes (regression: the predicted
// values); labels: per row (multilabel: rows x findings, 1 or 0).
Conformal conformal_fit_site(const Outputs& o, std::span<const double> probabilities, std::span<const int> labels,
                             std::span<const double> observed, std::string source);
// A calibrator's coverage on labelled rows, for any outputs: conformal_coverage,
// conformal_interval_coverage (regression), or {"findings": {name: conformal_coverage of the
// finding as a binary task (classes "absent" and its name)}} (multilabel).
Json conformal_site_coverage(const Outputs& o, const Conformal& c, std::span<const double> probabilities,
                             std::span<const int> labels, std::span<const double> observed);

}  // namespace ldx
