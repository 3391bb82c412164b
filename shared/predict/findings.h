// shared/predict/findings.h — a multi-label model's result (outputs.kind "multilabel": one
// independent probability per finding): which findings are above their thresholds, and the words
// a clinician reads, built here once for the browser and the CLI.
//
// Index of this file
//   [SECTION] Findings above their thresholds
//   [SECTION] The result's words
#pragma once
#include <span>
#include <string>
#include <vector>

#include "base/json.h"
#include "schema/schema.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Findings above their thresholds
//-----------------------------------------------------------------------------
// The findings whose probability is at least their own threshold, the most probable first (ties
// in the schema's order). Empty for a task that is not multilabel.
std::vector<int> findings_above(const Schema& schema, std::span<const double> probabilities);

//-----------------------------------------------------------------------------
// [SECTION] The result's words
//-----------------------------------------------------------------------------
// A probability as a result shows it: whole percent ("71%"), "<1%" and ">99%" at the ends, so
// that nothing uncertain reads as 0% or 100%.
std::string finding_percent(double p);

// "Findings above their thresholds: Pleural effusion 71%, Cardiomegaly 64%." or, when none is,
// "No finding is above its threshold; the most probable is Pleural effusion at 31% (threshold
// 50%)." Findings by their labels. Empty for a task that is not multilabel.
std::string findings_words(const Schema& schema, std::span<const double> probabilities);

// Per finding, in the schema's order: {"name", "label", "probability", "threshold", "above"}.
Json findings_json(const Schema& schema, std::span<const double> probabilities);

}  // namespace ldx
