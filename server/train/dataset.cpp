// server/train/dataset.cpp — see dataset.h.
#include "train/dataset.h"

#include <cmath>

#include "csv/csv.h"
#include "metrics/folds.h"
#include "record/patients.h"
#include "record/record.h"

namespace ldx {

Result<Dataset> dataset_from_csv(const Schema& schema, std::string_view csv_text, bool with_labels, size_t max_problems,
                                 std::string_view group_column, std::string_view time_column) {
    auto table = csv_parse(csv_text);
    if (!table) return table.problems();
    const std::string label_col = schema.outputs.column;
    int label_index = -1;
    for (size_t c = 0; c < table->header.size(); ++c)
        if (table->header[c] == label_col) label_index = static_cast<int>(c);
    if (with_labels && label_index < 0)
        return problem("missing_column", "the label column '" + label_col + "' is missing", label_col, 0);
    std::vector<std::string> ignore{label_col};
    int group_index = -1;
    if (!group_column.empty()) {
        for (size_t c = 0; c < table->header.size(); ++c)
            if (table->header[c] == group_column) group_index = static_cast<int>(c);
        if (group_index < 0)
            return problem("missing_column",
                           "the group column '" + std::string(group_column) + "' named in train.json is missing",
                           std::string(group_column), 0);
        ignore.push_back(std::string(group_column));
    }
    int time_index = -1;
    if (!time_column.empty()) {
        for (size_t c = 0; c < table->header.size(); ++c)
            if (table->header[c] == time_column) time_index = static_cast<int>(c);
        if (time_index < 0)
            return problem("missing_column",
                           "the time column '" + std::string(time_column) + "' named in train.json is missing",
                           std::string(time_column), 0);
        if (schema.find_field(time_column) < 0) ignore.push_back(std::string(time_column));
    }
    std::vector<int> prob_index;
    for (const auto& c : schema.outputs.classes) {
        const std::string name = "p_" + c.name;
        ignore.push_back(name);
        for (size_t h = 0; h < table->header.size(); ++h)
            if (table->header[h] == name) prob_index.push_back(static_cast<int>(h));
    }
    if (!prob_index.empty() && prob_index.size() != schema.outputs.classes.size()) {
        std::string list;
        for (const auto& c : schema.outputs.classes) list += (list.empty() ? "" : ", ") + ("p_" + c.name);
        return problem("missing_column", "probability columns must come for every class (" + list + ") or not at all",
                       "p_", 0);
    }
    auto binding = csv_bind(schema, table->header, ignore);
    if (!binding) return binding.problems();
    // Training data is the model's definition: a column the schema does not know is refused, not
    // ignored (it may be a misspelt field); id columns are accepted and never used as features.
    std::vector<Problem> unknown;
    for (const auto& name : binding->unused)
        if (!is_id_column(name))
            unknown.push_back(
                problem("unknown_column", "column '" + name + "' is not a field of this model's schema", name, 0));
    if (!unknown.empty()) return unknown;

    Dataset d;
    d.x.cols = schema.features.size();
    std::vector<Problem> problems;
    for (size_t r = 0; r < table->rows.size() && problems.size() < max_problems; ++r) {
        const long row = static_cast<long>(r) + 1;
        const auto& cells = table->rows[r];
        if (auto p = csv_row_problem(*table, r)) {
            problems.push_back(*p);
            continue;
        }
        auto prepared = record_prepare(schema, record_from_csv_row(schema, *binding, cells), row);
        if (!prepared) {
            problems.insert(problems.end(), prepared.problems().begin(), prepared.problems().end());
            continue;
        }
        if (with_labels && schema.outputs.regression()) {
            const std::string& y = cells[static_cast<size_t>(label_index)];
            const auto v = number_parse(y);
            const Outputs& o = schema.outputs;
            if (!v || !std::isfinite(*v)) {
                problems.push_back(problem(
                    y.empty() || y == "NA" ? "missing_label" : "bad_label",
                    y.empty() || y == "NA" ? "the outcome is missing" : "'" + y + "' is not a number", label_col, row));
                continue;
            }
            if (*v < o.min || *v > o.max) {
                problems.push_back(problem("bad_label",
                                           "outcome " + y + " lies outside the plausible range " +
                                               outcome_text(o, o.min) + " to " + outcome_text(o, o.max) +
                                               " (the schema's outputs.min and outputs.max)",
                                           label_col, row));
                continue;
            }
            d.labels.push_back(static_cast<float>(*v));
            d.outcomes.push_back(*v);
        } else if (with_labels) {
            const std::string& y = cells[static_cast<size_t>(label_index)];
            int k = -1;
            for (size_t c = 0; c < schema.outputs.classes.size(); ++c)
                if (schema.outputs.classes[c].name == y) k = static_cast<int>(c);
            if (k < 0) {
                std::string list;
                for (const auto& c : schema.outputs.classes) list += (list.empty() ? "" : ", ") + c.name;
                problems.push_back(problem("bad_label", "label '" + y + "' is not one of: " + list, label_col, row));
                continue;
            }
            d.labels.push_back(static_cast<float>(k));
        }
        if (group_index >= 0) {
            const std::string& g = cells[static_cast<size_t>(group_index)];
            if (g.empty() || g == "NA") {
                problems.push_back(problem("missing_group",
                                           "no patient id: every row needs one when folds keep "
                                           "each patient's rows together",
                                           std::string(group_column), row));
                continue;
            }
            d.groups.push_back(g);
        }
        if (time_index >= 0) {
            const std::string& cell = cells[static_cast<size_t>(time_index)];
            const auto t = time_parse(cell);
            const bool kind_ok = t && (d.times.empty() || t->date == d.time_dates);
            if (!kind_ok) {
                problems.push_back(problem("bad_time",
                                           "'" + cell + "' is not " +
                                               (d.times.empty() ? std::string("a date (YYYY-MM-DD) or a number")
                                                : d.time_dates  ? std::string("a date (YYYY-MM-DD) like the rows above")
                                                                : std::string("a number like the rows above")) +
                                               ": forward-chaining folds need every row's time",
                                           std::string(time_column), row));
                continue;
            }
            d.time_dates = t->date;
            d.times.push_back(t->value);
        }
        bool probs_ok = true;
        for (size_t c = 0; c < prob_index.size(); ++c) {
            const std::string& cell = cells[static_cast<size_t>(prob_index[c])];
            const auto parsed = number_parse(cell);
            const double p = parsed ? *parsed : kNaN;
            if (!(p >= 0 && p <= 1)) {
                problems.push_back(problem("not_a_probability", "'" + cell + "' is not a probability between 0 and 1",
                                           table->header[static_cast<size_t>(prob_index[c])], row));
                probs_ok = false;
                break;
            }
            d.probabilities.push_back(p);
        }
        if (!probs_ok) continue;
        d.x.data.insert(d.x.data.end(), prepared->features.begin(), prepared->features.end());
        d.values.insert(d.values.end(), prepared->values.begin(), prepared->values.end());
        ++d.x.rows;
    }
    if (!problems.empty()) return problems;
    if (d.x.rows == 0) return problem("csv_empty", "the file has no data rows");
    return d;
}

}  // namespace ldx

namespace ldx {

Dataset dataset_rows(const Dataset& d, std::span<const size_t> rows) {
    Dataset out;
    out.x = matrix_select_rows(d.x, rows);
    const size_t nf = d.rows() ? d.values.size() / d.rows() : 0, k = d.rows() ? d.probabilities.size() / d.rows() : 0;
    for (size_t i : rows) {
        out.values.insert(out.values.end(), d.values.begin() + static_cast<long>(i * nf),
                          d.values.begin() + static_cast<long>((i + 1) * nf));
        if (!d.labels.empty()) out.labels.push_back(d.labels[i]);
        if (!d.outcomes.empty()) out.outcomes.push_back(d.outcomes[i]);
        if (k)
            out.probabilities.insert(out.probabilities.end(), d.probabilities.begin() + static_cast<long>(i * k),
                                     d.probabilities.begin() + static_cast<long>((i + 1) * k));
        if (!d.groups.empty()) out.groups.push_back(d.groups[i]);
        if (!d.times.empty()) out.times.push_back(d.times[i]);
    }
    out.time_dates = d.time_dates;
    return out;
}

}  // namespace ldx
