// shared/predict/results_csv.h — a file of predictions as CSV: one writer for `localdx predict
// --format csv` and the browser's batch export, so the same patients give the same bytes.
//
// Index of this file
//   [SECTION] Rows
//   [SECTION] The file
//
// The file: a first line naming the tool ("# LocalDx results: localdx predict"), then the
// columns
//   row, patient, predicted, P(<class label>)... | <L>% interval low, <L>% interval high...,
//   warnings, problem, model
// one line per row of the input in its order: a scored row has its predicted class label (a
// regression: the value at the task's decimals, the column named "predicted <outcome> (<unit>)"),
// each class's probability with 6 decimals (a regression: each conformal level's interval at the
// task's decimals) and its warnings; a row that could not be used has only its problems, each in
// the reader's words ("Age: 12 years is outside the possible range…"), separated by "; ".
// Warnings name fields by their labels. `model` is "<name> v<version>" on every line, so the file
// stands on its own.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "schema/schema.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Rows
//-----------------------------------------------------------------------------
struct ResultsRow {
    int64_t row = 0;                    // the input's 1-based row
    std::string patient;                // its patient id ("" when the file has none)
    std::vector<double> probabilities;  // per class (a regression: the value); empty when not scored
    int predicted = -1;                 // the predicted class
    std::vector<Problem> warnings;      // field (name) and message; "incomplete" rows scored anyway too
    std::vector<Problem> problems;      // why the row could not be used (then nothing is scored)
    std::vector<std::string> extra;     // cells of the caller's own columns (after "model")
};

//-----------------------------------------------------------------------------
// [SECTION] The file
//-----------------------------------------------------------------------------
// The header line, the columns and the rows sorted by `row` (stable), as described above.
// `tool`: "localdx predict", "LocalDx in the browser"; `model`: "pima-diabetes v3";
// `extra_columns`: the caller's own columns after "model" (the CLI's explanations), each row's
// cells in ResultsRow::extra.
std::string results_csv(const Schema& s, std::string_view tool, std::string_view model,
                        std::span<const ResultsRow> rows, std::span<const std::string> extra_columns = {});

}  // namespace ldx
