// server/train/dataset.cpp — see dataset.h.
#include "train/dataset.h"

#include "csv/csv.h"
#include "record/record.h"

namespace ldx {

Result<Dataset> dataset_from_csv(const Schema& schema, std::string_view csv_text, bool with_labels, size_t max_problems) {
    auto table = csv_parse(csv_text);
    if (!table) return table.problems();
    const std::string label_col = schema.outputs.column;
    int label_index = -1;
    for (size_t c = 0; c < table->header.size(); ++c)
        if (table->header[c] == label_col) label_index = static_cast<int>(c);
    if (with_labels && label_index < 0)
        return problem("missing_column", "the label column '" + label_col + "' is missing", label_col, 0);
    const std::string ignore[] = {label_col};
    auto binding = csv_bind(schema, table->header, ignore);
    if (!binding) return binding.problems();

    Dataset d;
    d.x.cols = schema.features.size();
    std::vector<Problem> problems;
    for (size_t r = 0; r < table->rows.size() && problems.size() < max_problems; ++r) {
        const long row = static_cast<long>(r) + 1;
        const auto& cells = table->rows[r];
        auto prepared = record_prepare(schema, record_from_csv_row(schema, *binding, cells), row);
        if (!prepared) {
            problems.insert(problems.end(), prepared.problems().begin(), prepared.problems().end());
            continue;
        }
        if (with_labels) {
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
        d.x.data.insert(d.x.data.end(), prepared->features.begin(), prepared->features.end());
        d.values.insert(d.values.end(), prepared->values.begin(), prepared->values.end());
        ++d.x.rows;
    }
    if (!problems.empty()) return problems;
    if (d.x.rows == 0) return problem("csv_empty", "the file has no data rows");
    return d;
}

}  // namespace ldx
