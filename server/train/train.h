// server/train/train.h — `localdx train`: cross-validated XGBoost on a task's CSV.
//
// Index of this file
//   [SECTION] Configuration (models/<task>/train.json)
//   [SECTION] Result
//   [SECTION] Training
//
// Stratified k-fold cross-validation picks the number of rounds (early stopping on the mean
// held-out log-loss; regression: RMSE, folds stratified by quintile of the outcome). A class with fewer rows than folds
// lowers the number of folds to its row count (at least 2), and the card says so. With a group column (a patient id)
// every patient's rows stay in one fold, so repeated visits cannot leak between training and held-out rows. Class
// weights balance rare classes; out-of-fold predictions give honest metrics and the binary threshold (a named policy);
// a final fit on all rows gives the model. No step looks at the label to fill or transform a feature: missing values
// stay NaN and go to XGBoost's default directions.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "base/json.h"
#include "drift/histogram.h"
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
    std::string group;      // the column whose rows belong to one patient (folds keep them together)
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

// XGBoost parameters for a schema's task (objective, num_class, single thread, seed).
XgbBooster::Params task_params(const Schema& schema, const TrainConfig& cfg);
// Fold of each row: stratified by class; with groups (one id per row, or empty), each group's rows
// in one fold, groups dealt so each fold gets about its share of every class.
std::vector<int> assign_folds(std::span<const float> labels, int k, std::span<const std::string> groups, int folds,
                              uint64_t seed);
// Regression: each row's quintile of the outcome (0..4), the classes folds are stratified by.
std::vector<float> outcome_quintiles(std::span<const double> outcomes);
// Balanced class weights n / (k * n_c), one per row.
std::vector<float> class_weights(std::span<const float> labels, int k);
// Typical ranges: the 0.5th and 99.5th percentiles of each numeric field in training.
void fill_typical_ranges(Schema& schema, std::span<const double> values);

}  // namespace ldx
