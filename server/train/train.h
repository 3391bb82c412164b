// server/train/train.h — `localdx train`: cross-validated XGBoost on a task's CSV.
//
// Index of this file
//   [SECTION] Configuration (models/<task>/train.json)
//   [SECTION] Result
//   [SECTION] Training
//   [SECTION] The card from held-out predictions (train/card.cpp)
//
// Stratified k-fold cross-validation picks the number of rounds (early stopping on the mean
// held-out log-loss; regression: RMSE, folds stratified by quintile of the outcome). A class with fewer rows than folds
// lowers the number of folds to its row count (at least 2), and the card says so. With a group column (a patient id)
// every patient's rows stay in one fold, so repeated visits cannot leak between training and held-out rows. With a
// time column the folds chain forward in time with a gap (metrics/folds.h); the earliest block is never held out, so
// the card's figures are of the later rows, shown per period beside what shuffled folds would report. Class
// weights balance rare classes; out-of-fold predictions give honest metrics and the binary threshold (a named policy);
// a final fit on all rows gives the model. No step looks at the label to fill or transform a feature: missing values
// stay NaN and go to XGBoost's default directions.
#pragma once
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "drift/histogram.h"
#include "metrics/folds.h"
#include "schema/schema.h"
#include "train/dataset.h"
#include "train/xgb.h"
#include "trees/ensemble.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Configuration
//-----------------------------------------------------------------------------
struct TrainConfig {
    int folds = 5;
    int max_rounds = 1000;
    int early_stopping_rounds = 50;
    bool class_weights = true;
    uint64_t seed = 1;
    int bootstrap = 1000;
    // Binary tasks: how the bundle's threshold is chosen from the out-of-fold predictions
    // (threshold_for in metrics/evaluation.h); empty: the schema's own threshold, kept as it is.
    std::string threshold;
    std::string group;  // the column whose rows belong to one patient (folds keep them together)
    // Time-aware validation: the column holding each row's time (an ISO date or a number), the gap
    // (days for dates, the number's own unit otherwise) and the period the card reports figures by.
    std::string time;
    double gap = 0;
    std::string period = "year";
    std::string objective;  // regression: reg:squarederror (empty: the default) or reg:pseudohubererror
    XgbBooster::Params params{{"max_depth", "4"},          {"eta", "0.05"},           {"subsample", "0.8"},
                              {"colsample_bytree", "0.8"}, {"min_child_weight", "1"}, {"lambda", "1"}};
};
Result<TrainConfig> train_config_parse(std::string_view json_text);
Json train_config_to_json(const TrainConfig& c);

//-----------------------------------------------------------------------------
// [SECTION] Result
//-----------------------------------------------------------------------------
struct TrainResult {
    Schema schema;             // the task's schema with typical ranges filled from the training data
    std::string xgboost_json;  // XGBoost's own model file
    Ensemble ensemble;         // imported from it (what the bundle's trees.json holds)
    Reference reference;       // bin edges and training counts
    Json metrics;              // out-of-fold evaluation (model card)
    Json training;             // rows, rounds, folds, parameters
};

//-----------------------------------------------------------------------------
// [SECTION] Training
//-----------------------------------------------------------------------------
using TrainLog = std::function<void(const std::string&)>;
Result<TrainResult> train_model(const Schema& schema, const Dataset& data, const TrainConfig& cfg, const TrainLog& log);

// The folds of a task's cross-validation: forward chaining on train.json's time column (grouped
// by patient with a group column), else stratified shuffled folds (grouped by patient with a
// group column); `shuffled` forces the latter. Fewer folds when a class is rarer than the folds
// (and `fewer_folds` says why). Problems name what to change in the data or train.json.
struct CvScheme {
    FoldPlan plan;
    int folds = 0;
    bool time = false;        // forward chaining
    std::string fewer_folds;  // "", or why there are fewer folds than train.json asks for
    Json time_folds;          // forward chaining: folds.h's describe
    std::string method;       // the scheme in words, for the card
};
// With `group_hash` (workers each holding their own rows, and a group column), each patient's fold
// is group_fold(id, folds, *group_hash): the same on every worker, as `localdx train --workers`.
// The hashed folds are drawn on `cfg.folds` alone: no local check of classes or patients (a worker's
// own rows say nothing of the folds' content on every worker); check_hashed_folds does that on the
// workers' summed counts.
Result<CvScheme> plan_cross_validation(const Schema& schema, const Dataset& data, const TrainConfig& cfg,
                                       bool shuffled = false, std::optional<uint64_t> group_hash = std::nullopt);
// Hashed patient folds on `world` workers: `count[f * k + c]` is the rows of class c in fold f summed
// over the workers (k = the schema's classes; regression: k = 1, rows per fold). Every fold needs a
// row, and of a classification every fold a row of each class (so each fold's training rows hold
// one of each class on some worker); otherwise a problem naming the fold and class, which every
// worker, given the same sums, returns together.
Result<bool> check_hashed_folds(std::span<const double> count, int folds, const Schema& schema, int world,
                                std::string_view group);

// One cross-validation: each fold trained (up to max_rounds) with early stopping on its validation
// rows; the number of rounds is the minimum of the mean held-out curve over the rounds every fold
// reached (log-loss; regression: RMSE), and the validated rows' predictions are made at it.
// With a collective (distributed `localdx tune`), `data` is this worker's rows and `plan` its folds
// of them: every worker calls it together, XGBoost trains each fold on every worker's training rows
// and sums the held-out metric over the workers (so every worker gets the same rounds and loss),
// the class weights and regression's starting point come from every worker's rows, and the
// held-out outputs are of this worker's rows.
struct CvRun {
    size_t rounds = 1;
    double loss = 0;                // the mean held-out loss at `rounds`
    std::vector<size_t> validated;  // rows with a held-out prediction, ascending
    std::vector<double> oof;        // validated rows x width (probabilities; regression: the value)
    std::vector<float> contribs;    // validated rows x XGBoost's pred_contribs, when asked for
};
Result<CvRun> cross_validate(const Schema& schema, const Dataset& data, const TrainConfig& cfg,
                             const XgbBooster::Params& params, const FoldPlan& plan, bool contributions,
                             const TrainLog& log, const XgbCollective* collective = nullptr);

// A model on every row of `data` for `rounds` rounds (class weights as train.json says; regression
// boosting starts from the rows' mean outcome), and its outputs for `x` as rows x width
// (probabilities of every class; regression: the value). With a collective, on every worker's rows.
Result<XgbBooster> fit_rows(const Schema& schema, const Dataset& data, const TrainConfig& cfg,
                            const XgbBooster::Params& params, int rounds, const XgbCollective* collective = nullptr);
std::vector<double> predict_rows(const Schema& schema, const XgbBooster& model, const Matrix& x, int rounds);

// Figures of held-out predictions that a time-aware card sets beside shuffled CV's: AUC-ROC of
// the positive class (binary; macro AUC-ROC for other class tasks) and the Brier score; regression:
// RMSE and MAE. The first is the headline (tuning's figure), named by headline_name.
std::vector<std::pair<std::string, double>> held_out_figures(const Schema& schema, std::span<const float> labels,
                                                             std::span<const double> outputs);
double headline_figure(const Schema& schema, std::span<const float> labels, std::span<const double> outputs);
std::string headline_name(const Schema& schema);

// Early stopping on one fold's held-out rows (in memory and streamed alike): XgbBooster::train's
// progress callback keeps the curve of the held-out metric and stops `patience` rounds after its
// best round; `fold_line` is the log line of the fold once trained.
struct EarlyStopping {
    explicit EarlyStopping(int patience_rounds) : patience(patience_rounds) {}
    int patience = 0;
    std::vector<double> curve;
    int best = 0;  // 0-based round of the lowest metric so far
    bool operator()(int round, double metric);
    std::string fold_line(size_t fold, size_t folds, bool regression) const;
};

// The number of rounds cross-validation chooses: the minimum of the mean held-out curve over the
// rounds every fold reached; and the mean there.
std::pair<size_t, double> rounds_from_curves(const std::vector<std::vector<double>>& curves);
// Regression objectives start boosting from `mean` (the training rows' mean outcome) unless the
// parameters set base_score; other objectives are left as they are.
XgbBooster::Params with_base_score(XgbBooster::Params p, double mean);

// XGBoost parameters for a schema's task (objective, num_class, single thread, seed).
XgbBooster::Params task_params(const Schema& schema, const TrainConfig& cfg);
// Balanced class weights n / (k * n_c), one per row.
std::vector<float> class_weights(std::span<const float> labels, int k);
// Typical ranges: the 0.5th and 99.5th percentiles of each numeric field in training.
void fill_typical_ranges(Schema& schema, std::span<const double> values);

//-----------------------------------------------------------------------------
// [SECTION] The card from held-out predictions
//-----------------------------------------------------------------------------
// What the card is computed from. In memory every part sees every validated row; external-memory
// and distributed training (train/stream.h) keep every row's held-out outputs but only a uniform
// sample of rows' values for the parts that need them, and say so in `sample_note`.
struct CardInput {
    int folds = 0;
    std::string fewer_folds;  // "", or why there are fewer folds than train.json asks for
    std::string method;       // the validation scheme in words ("": stratified folds, worded here)
    size_t rows = 0;          // rows the final model was fitted on
    // Every validated row: class index (regression: unused), outcome (regression), held-out
    // outputs (rows x width): metrics with intervals, threshold, conformal calibration.
    std::vector<int> labels;
    std::vector<double> outcomes, oof;
    // Rows for subgroups, cross-fitted coverage and the minimum information: the same fields for
    // them, their values (rows x fields) and XGBoost's pred_contribs.
    std::vector<int> s_labels;
    std::vector<double> s_outcomes, s_oof, s_values;
    std::vector<float> s_contribs;
    std::string sample_note;  // "" (every validated row), or how the sample was drawn
};
// Threshold, evaluation, conformal calibration, reference histograms (of `reference_x` /
// `reference_values`, the training rows or a sample of them, through the final model), typical
// ranges, the minimum information and the training record.
Result<TrainResult> card_from_held_out(const Schema& schema, const TrainConfig& cfg, const XgbBooster::Params& params,
                                       size_t rounds, const XgbBooster& final_model, CardInput in,
                                       const Matrix& reference_x, std::span<const double> reference_values,
                                       const TrainLog& log);

}  // namespace ldx
