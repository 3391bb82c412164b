// shared/metrics/folds.h — which rows each cross-validation fold trains on and validates on.
//
// Index of this file
//   [SECTION] Times and periods
//   [SECTION] Fold plans
//   [SECTION] Shuffled folds (stratified, grouped by patient)
//   [SECTION] Forward-chaining folds (time-aware, with a gap)
//
// Shuffled folds suit rows that are exchangeable. When rows are ordered in time (patient-years,
// admissions), a shuffled fold trains on rows later than the ones it is checked on: the model has
// seen the future, and its figure is optimistic when the population drifts. Forward-chaining folds
// sort the rows by time, cut them into blocks, and check each block on a model trained only on
// rows at least `gap` earlier than every row of the block; with a patient column, no patient of the
// block is trained on either.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/json.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Times and periods
//-----------------------------------------------------------------------------
// A time column's cell: an ISO date "YYYY-MM-DD" (anything after the tenth character, such as
// "T08:30", is ignored) as days since 1970-01-01, or a plain number (a year, a study day) as
// itself. A column holds one kind or the other; gaps are in days for dates, in the number's own
// unit otherwise.
struct TimeValue {
    double value = 0;
    bool date = false;
};
std::optional<TimeValue> time_parse(std::string_view cell);
// The words for a time: "2019-03-04", or the number ("2019").
std::string time_words(double value, bool date);

// The period a time falls in, the unit the card reports figures by: for dates "year" ("2019"),
// "quarter" ("2019-Q1") or "month" ("2019-03"); for numbers, the whole number below it ("2019",
// "7"), whatever the unit.
bool period_unit_known(std::string_view unit);
std::string period_of(double value, bool date, std::string_view unit);

//-----------------------------------------------------------------------------
// [SECTION] Fold plans
//-----------------------------------------------------------------------------
// Row indices each fold trains on and validates on. A row is validated by at most one fold;
// forward chaining leaves the earliest block unvalidated (nothing precedes it).
struct FoldPlan {
    std::vector<std::vector<size_t>> train, validate;
    size_t folds() const { return validate.size(); }
};
// The plan of a fold assignment (fold[i] in 0..folds-1): each fold validates its own rows and
// trains on all the others.
FoldPlan fold_plan_from_assignment(std::span<const int> fold, int folds);

//-----------------------------------------------------------------------------
// [SECTION] Shuffled folds (stratified, grouped by patient)
//-----------------------------------------------------------------------------
// Fold of each row: stratified by class (labels are class indices 0..k-1); with groups (one id per
// row, or empty), each group's rows in one fold, groups dealt so each fold gets about its share of
// every class.
std::vector<int> assign_folds(std::span<const float> labels, int k, std::span<const std::string> groups, int folds,
                              uint64_t seed);
// A patient's fold (0..folds-1) from a hash of its id and the seed alone: the same wherever its rows
// are (every worker of distributed training and tuning), whatever other patients those rows hold.
int group_fold(std::string_view group, int folds, uint64_t seed);
// Regression: each row's quintile of the outcome (0..4), the classes folds are stratified by.
std::vector<float> outcome_quintiles(std::span<const double> outcomes);

//-----------------------------------------------------------------------------
// [SECTION] Forward-chaining folds (time-aware, with a gap)
//-----------------------------------------------------------------------------
// The rows sorted by time and cut into folds + 1 blocks of about equal rows (rows of one time
// always in one block). Fold f (1..folds) validates block f and trains on every row whose time is
// at most the block's earliest time minus `gap`, leaving out rows of patients (groups, when given)
// who have a row in block f. So no fold trains on a row later than any of its validation rows
// minus the gap, nor on a patient it validates. Problems: "too_few_rows" when the times have fewer
// distinct values than blocks, or when the gap leaves a fold nothing to train on (naming the fold
// and its dates).
struct TimeFolds {
    FoldPlan plan;
    Json describe;  // per fold: {"fold", "train_rows", "train_until", "validate_rows", "validate_from", "validate_to"}
};
[[nodiscard]] Result<TimeFolds> forward_chaining_folds(std::span<const double> times, bool dates,
                                                       std::span<const std::string> groups, int folds, double gap);

}  // namespace ldx
