// Fuzz target: the CSV reader, the header binding of a schema, and the reader of patient files
// built on them (record/patients.h), which must never throw and never lose track of a row.
#include <cstdint>
#include <string_view>

#include "csv/csv.h"
#include "record/patients.h"
#include "record/record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const ldx::Schema s = *ldx::schema_parse(R"({"task": "fuzz", "title": "F",
      "fields": [{"name": "a", "label": "A", "type": "number", "unit": "1", "alt_units": [{"unit": "k", "factor": 1000}]},
                 {"name": "b", "label": "B", "type": "boolean"}],
      "outputs": {"kind": "binary", "column": "y", "classes": [{"name": "0", "label": "N"}, {"name": "1", "label": "Y"}], "positive": "1"}})");
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto t = ldx::csv_parse(text, ldx::CsvLimits{1u << 16, 64, 1000, 256});
    if (t.ok()) {
        for (size_t i = 0; i < t->rows.size(); ++i)
            if ((t->rows[i].size() != t->header.size()) != ldx::csv_row_problem(*t, i).has_value()) __builtin_trap();
        auto b = ldx::csv_bind(s, t->header);
        if (b.ok())
            for (const auto& row : t->rows) (void)ldx::record_prepare(s, ldx::record_from_csv_row(s, *b, row));
    }
    if (size <= (1u << 16)) {
        const ldx::PatientFile f = ldx::patients_read(s, text, {});
        long last = 0;
        for (size_t i = 0; i < f.rows.size(); ++i) {
            if (f.rows[i].row != last + 1) __builtin_trap();  // every row is kept, in order, bad or not
            last = f.rows[i].row;
            (void)ldx::patient_prepare(s, f, i);
        }
        (void)ldx::number_parse(text.substr(0, 80));
    }
    return 0;
}
