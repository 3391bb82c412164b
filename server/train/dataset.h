// server/train/dataset.h — a CSV of patients, read through the shared record pipeline.
//
// Training calls the same record_prepare as the browser, so the features a model learns from
// are computed by the code that will compute them at prediction time.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "schema/schema.h"
#include "train/xgb.h"

namespace ldx {

struct Dataset {
    Matrix x;                           // rows x schema.features
    std::vector<double> values;         // rows x schema.fields (record_prepare's values)
    std::vector<float> labels;          // class index per row (empty when the CSV has no label column);
                                        // regression: the outcome, as XGBoost takes it
    std::vector<double> outcomes;       // regression: the outcome per row, exactly as written
    std::vector<double> probabilities;  // rows x classes from columns p_<class>, when the CSV has them
    std::vector<std::string> groups;    // per row, the group column's value (a patient id), when asked for
    std::vector<double> times;          // per row, the time column's value (metrics/folds.h), when asked for
    bool time_dates = false;            // the times are dates (days since 1970-01-01)
    size_t rows() const { return x.rows; }
};

// Problems name the row and field; at most `max_problems` are collected before giving up.
// A row whose label is missing or unknown is a problem ("bad_label") when labels are required.
// Columns p_<class name> (all classes, or none) carry a model's probabilities for each row, as
// a non-tree model's author supplies them for the reference histograms.
// `group_column` (train.json "group"): read into `groups`, never a feature; a problem when the
// column is missing or a row has no value in it.
// `time_column` (train.json "time"): read into `times` (every row an ISO date, or every row a
// number); it may also be a field of the schema, and is then a feature as well.
Result<Dataset> dataset_from_csv(const Schema& schema, std::string_view csv_text, bool with_labels,
                                 size_t max_problems = 20, std::string_view group_column = {},
                                 std::string_view time_column = {});
// The rows `rows` of a data set (tuning's nested folds).
Dataset dataset_rows(const Dataset& d, std::span<const size_t> rows);

}  // namespace ldx
