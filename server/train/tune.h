// server/train/tune.h — `localdx tune`: XGBoost's parameters searched by successive halving,
// with the search repeated inside each outer fold (nested cross-validation) for an honest figure.
//
// Index of this file
//   [SECTION] Search space and configuration
//   [SECTION] Successive halving
//   [SECTION] Nested cross-validation
//
// Successive halving (Jamieson & Talwalkar, 2016): `budget` configurations drawn at random (the
// task's own train.json is always the first), each scored by the task's cross-validation (the same
// folds as `localdx train`: stratified, grouped or forward-chaining) with a cap on the boosting
// rounds; the best third go on to a rung with three times the cap, until one is left at train.json's
// max_rounds. The score is the mean held-out log-loss (regression: RMSE) at the rounds early
// stopping chose. The winner's own score is optimistic (it was chosen on it), so the same search is
// run inside the training rows of each outer fold, the outer fold's winner is fitted on those rows
// and checked on the held-out ones: that figure, with its bootstrap interval, is the one reported.
//
// Distributed (TuneConfig::collective): every worker runs the same search together on its own rows.
// Each draws its folds on its rows (stratified; with a group column each patient's fold comes from
// a hash of its id, the same on every worker, as `localdx train --workers`; forward-chaining folds
// need every row sorted and are refused); XGBoost trains each fold on every worker's training rows
// and sums the held-out metric, so every worker scores each configuration alike and keeps the same
// ones; the held-out outputs are gathered for the figures, and rank 0 computes the nested interval.
#pragma once
#include <string>
#include <vector>

#include "base/json.h"
#include "train/dataset.h"
#include "train/train.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Search space and configuration
//-----------------------------------------------------------------------------
// max_depth 2..6, eta 0.01..0.3 (log), min_child_weight 1/2/5/10, subsample and colsample_bytree
// 0.5..1, lambda 0.1..10 (log), alpha 0/0.01/0.1/1; rounds grow rung by rung up to max_rounds.
struct TuneConfig {
    int budget = 27;      // configurations at the first rung
    int outer_folds = 5;  // nested cross-validation's outer folds (forward-chaining with a time column)
    int halving = 3;      // the share kept at each rung is 1 / halving; the rounds grow by it
    uint64_t seed = 1;
    const XgbCollective* collective = nullptr;  // distributed: the data given is this worker's rows
};
std::vector<XgbBooster::Params> tune_candidates(const TrainConfig& base, int budget, uint64_t seed);
// Distributed with a group column: the seed of group_fold for folds drawn with `salt` (0: the outer
// folds, the same as `localdx train --workers`; a nested search inside outer fold f: f + 1).
uint64_t group_fold_seed(uint64_t seed, uint64_t salt);

//-----------------------------------------------------------------------------
// [SECTION] Successive halving
//-----------------------------------------------------------------------------
struct SearchResult {
    XgbBooster::Params chosen;
    size_t rounds = 1;  // the rounds the winner's cross-validation chose at the last rung
    double loss = 0;    // its mean held-out loss there
    double figure = 0;  // its cross-validated headline figure (optimistic: it was chosen on it)
    Json table;         // per candidate and rung: {"candidate", "rung", "max_rounds", "loss", "rounds", "params"}
};
// `fold_salt`: distributed with a group column, mixed into the hash that picks each patient's fold
// (nested search inside outer fold f: f + 1, so its folds are not the outer ones).
Result<SearchResult> successive_halving(const Schema& schema, const Dataset& data, const TrainConfig& base,
                                        const TuneConfig& tc, const TrainLog& log, uint64_t fold_salt = 0);

//-----------------------------------------------------------------------------
// [SECTION] Nested cross-validation
//-----------------------------------------------------------------------------
struct TuneResult {
    TrainConfig chosen;  // the task's train.json with the winner's parameters
    Json report;         // tuning.json: method, nested figure with its interval, the search's table
                         // (distributed: on rank 0 only; the other workers get the chosen parameters)
};
Result<TuneResult> tune(const Schema& schema, const Dataset& data, const TrainConfig& base, const TuneConfig& tc,
                        const TrainLog& log);

}  // namespace ldx
