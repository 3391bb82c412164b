// shared/metrics/validation.h — a model checked on a site's own labelled patients, before go-live:
// the labels of a file of patients, the report `localdx evaluate` prints and the browser's
// Validate view draws, and the promotion gates a retrained model must pass.
//
// Index of this file
//   [SECTION] Labels of a file of patients
//   [SECTION] Scoring a labelled file
//   [SECTION] The validation report
//   [SECTION] One validation run
//   [SECTION] Gates
#pragma once
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "metrics/evaluation.h"
#include "predict/predict.h"
#include "record/patients.h"
#include "schema/schema.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Labels of a file of patients
//-----------------------------------------------------------------------------
// The smallest file a report is computed from, and the fewest patients of each class a binary
// task needs for its intervals to mean anything.
inline constexpr size_t kMinValidationRows = 20;
inline constexpr size_t kMinValidationPerClass = 5;

// The class index of each row's label (a class name of the schema, or its label as the clinician
// reads it), or -1 with a problem naming the row ("missing_label", "bad_label", or the row's own
// reading problem when it cannot be read at all).
struct RowLabels {
    std::vector<int> label;        // per file row (regression: 0 when the row has a usable outcome)
    std::vector<double> observed;  // regression: the outcome per file row (NaN when unusable)
    std::vector<Problem> problems;
};
RowLabels validation_labels(const Schema& schema, const PatientFile& file);

// Whether labels of the scored rows can give a report: "missing_label_column" (the file has none),
// "too_few_rows", "one_class" (every patient has the same outcome), "too_few_in_class" (binary:
// fewer than kMinValidationPerClass of a class). Each says what to add.
[[nodiscard]] Result<Ok> validation_check(const Schema& schema, const PatientFile& file, std::span<const int> labels);

//-----------------------------------------------------------------------------
// [SECTION] Scoring a labelled file
//-----------------------------------------------------------------------------
// A tree model's probabilities for the rows of a file whose outcome is known and whose values
// could be used, with every other row and its reason.
struct ScoredFile {
    std::vector<int> labels;
    std::vector<double> probabilities;  // rows x classes (regression: the predicted value per row)
    std::vector<double> observed;       // regression: the true value per row
    std::vector<double> values;         // rows x fields (record_prepare's values), for subgroups
    std::vector<size_t> rows;           // each scored row's index in the file's rows
    std::vector<Problem> left_out;
};
// Problem "no_trees": a model only ONNX Runtime runs cannot be scored here.
[[nodiscard]] Result<ScoredFile> validation_score(const Model& model, const PatientFile& file);

//-----------------------------------------------------------------------------
// [SECTION] The validation report
//-----------------------------------------------------------------------------
// evaluate() of the scored rows (unrounded) plus per-subgroup figures as in the model card.
// `values` are the rows' prepared values (rows x fields), for the subgroups.
// Regression: evaluate_regression of `observed` against the predicted values in `probabilities`.
Json validation_report(const Schema& schema, std::span<const int> labels, std::span<const double> probabilities,
                       std::span<const double> values, int bootstrap, uint64_t seed,
                       std::span<const double> observed = {});

// What `localdx evaluate` and the browser's Validate view report for one file, in one shape:
// {"localdx_version", "bundle": {name, version, sha256}, "data": {file, sha256, format, rows,
//  scored, left_out: [problems]}, "metrics": validation_report, "conformal": coverage of the
//  bundle's prediction sets on this file (when it has them)}.
Json validation_document(const Model& model, const PatientFile& file, std::string_view file_name,
                         std::string_view file_sha256, const ScoredFile& scored, int bootstrap, uint64_t seed);

//-----------------------------------------------------------------------------
// [SECTION] One validation run
//-----------------------------------------------------------------------------
// What `localdx evaluate` and the browser's Validate view both do with a labelled file: read it
// (the schema's label column), score it, check its labels can give a report, and make the report.
struct ValidationRunOptions {
    int64_t now = 0;       // the reading's clock (FHIR: age from birthDate)
    int bootstrap = 1000;  // resamples for the 95% intervals
    uint64_t seed = 1;
    // > 0: at most this many rows x resamples, so a page is not held long: a large file gets fewer
    // resamples, never fewer than 200 (or `bootstrap`, when smaller).
    size_t max_resample_rows = 0;
};
struct ValidationRun {
    PatientFile file;              // as read, notices included
    ScoredFile scored;             // the scored rows; left_out: every other row, with its reason
    std::vector<Problem> refused;  // why the file gives no report (empty: `report` is its report)
    int bootstrap = 0;             // the resamples drawn
    Json report;                   // validation_document; null when refused
};
// Refusals: "too_large" (over kMaxPatientFileBytes), the file's reading problems, those of
// validation_check (no label column, too few rows, one class, too few of a class) and of
// validation_score (a model only ONNX Runtime runs).
ValidationRun validation_run(const Model& model, std::string_view text, std::string_view file_name,
                             const ValidationRunOptions& options);
// The counts of a report (validation_document), as `localdx evaluate` and the Validate view show
// them: "N rows read, M scored with a known outcome, K left out".
std::string validation_counts(const Json& document);
// What a screen reader is told when a run ends: "Validation report for NAME: <counts>." or, for
// a file refused, "NAME could not be checked: <the first reason>." (the page says it as it is).
std::string validation_headline(std::string_view file_name, const Json& document, const std::vector<Problem>& refused);

//-----------------------------------------------------------------------------
// [SECTION] Gates
//-----------------------------------------------------------------------------
// A promotion rule on one figure of the report:
//   METRIC >= X, METRIC <= X, METRIC > X, METRIC < X, METRIC in [A, B]
// where X, A and B are numbers or "baseline", "baseline + d", "baseline - d" (the same figure of
// the model compared against, `--compare`). METRIC is a figure's dotted name
// ("class.pos.auc_roc") or one of: auc, pr_auc, sensitivity, specificity, ppv, npv, f1 (binary:
// of the positive class; otherwise the macro average, ppv/npv binary only), accuracy, brier, ece,
// calibration_slope, calibration_intercept, alerts_per_100, qwk, within_one; regression: mae, rmse,
// r2, calibration_slope, calibration_in_the_large.
struct GateRule {
    enum class Op { ge, le, gt, lt, in };
    struct Bound {
        bool baseline = false;
        double offset = 0;  // the number itself, or what is added to the baseline
    };
    std::string text, metric;
    Op op = Op::ge;
    Bound lo, hi;  // lo for the comparisons; lo and hi for "in"
};
[[nodiscard]] Result<GateRule> gate_parse(std::string_view text);

using Figures = std::vector<std::pair<std::string, double>>;  // evaluation_figures()
// The figures gates read: evaluation_figures, or regression_figures of observed and predicted values.
Figures validation_figures(const Schema& schema, std::span<const int> labels, std::span<const double> outputs,
                           std::span<const double> observed);

// The figure's dotted name for a gate's metric on this task, or a problem naming the known ones.
[[nodiscard]] Result<std::string> gate_figure(const Schema& schema, std::string_view metric);

struct GateOutcome {
    std::string rule;
    bool pass = false;
    std::string reason;  // "auc 0.812 >= 0.83 (baseline 0.84 - 0.01): fails"
};
// A baseline is needed when the rule names one (a problem otherwise); a figure that is not a
// number on these rows fails the gate with that reason.
[[nodiscard]] Result<GateOutcome> gate_check(const Schema& schema, const GateRule& rule, const Figures& current,
                                             const Figures* baseline);

}  // namespace ldx
