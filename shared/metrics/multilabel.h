// shared/metrics/multilabel.h — a multi-label model's figures (outputs.kind "multilabel"): each
// finding is a binary question of its own, measured by the same code as a binary model
// (metrics/evaluation.h), and the macro average over the findings.
//
// Index of this file
//   [SECTION] One finding as a binary task
//   [SECTION] Per-finding thresholds
//   [SECTION] The report: per finding and macro
//
// Conventions: probabilities and labels are rows x findings, row-major; a label is 1 (present) or
// 0 (absent).
#pragma once
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "schema/schema.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] One finding as a binary task
//-----------------------------------------------------------------------------
// Finding f of a multilabel schema as a binary schema: classes "absent" ("No <label>") and the
// finding's name and label, positive the finding, its threshold; the same image input.
Schema finding_schema(const Schema& multilabel, size_t f);
// Column f of rows x findings values.
std::vector<double> finding_column(std::span<const double> values, size_t findings, size_t f);
std::vector<int> finding_column(std::span<const int> values, size_t findings, size_t f);
// Finding f's probabilities as a binary task's rows x 2 ([1 - p, p]).
std::vector<double> finding_probabilities(std::span<const double> probabilities, size_t findings, size_t f);

//-----------------------------------------------------------------------------
// [SECTION] Per-finding thresholds
//-----------------------------------------------------------------------------
// Each finding's threshold chosen by one policy (threshold_for: youden, sensitivity>=X, ...) on
// that finding's scores and labels. Problems name the finding: "bad_policy", "unreachable"
// ("effusion: no threshold reaches sensitivity>=0.99 on these rows"), "bad_labels" (sizes).
[[nodiscard]] Result<std::vector<double>> finding_thresholds(const Schema& schema, std::string_view policy,
                                                             std::span<const double> probabilities,
                                                             std::span<const int> labels);

//-----------------------------------------------------------------------------
// [SECTION] The report: per finding and macro
//-----------------------------------------------------------------------------
// {"kind": "multilabel", "rows", "findings": {name: evaluate() of the finding as a binary task
// (its AUC-ROC, PR-AUC, sensitivity, specificity, PPV, NPV at its threshold, Brier, calibration,
// with 95% bootstrap intervals; operating points, decision curve) plus "prevalence" and
// "threshold"}, "macro": {"auc_roc", "pr_auc", "sensitivity", "specificity", "brier"}: the mean
// over the findings of each point figure (a finding whose figure is not a number on these rows
// is left out of that mean; "findings" counts those averaged)}.
Json multilabel_report(const Schema& schema, std::span<const int> labels, std::span<const double> probabilities,
                       int bootstrap, uint64_t seed);

}  // namespace ldx
