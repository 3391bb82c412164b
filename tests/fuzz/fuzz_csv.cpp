// Fuzz target: the CSV reader and the header binding of a schema.
#include <cstdint>
#include <string_view>

#include "csv/csv.h"
#include "record/record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const ldx::Schema s = *ldx::schema_parse(R"({"task": "fuzz", "title": "F",
      "fields": [{"name": "a", "label": "A", "type": "number", "unit": "1", "alt_units": [{"unit": "k", "factor": 1000}]},
                 {"name": "b", "label": "B", "type": "boolean"}],
      "outputs": {"kind": "binary", "column": "y", "classes": [{"name": "0", "label": "N"}, {"name": "1", "label": "Y"}], "positive": "1"}})");
    auto t = ldx::csv_parse(std::string_view(reinterpret_cast<const char*>(data), size), ldx::CsvLimits{1u << 16, 64, 1000, 256});
    if (!t.ok()) return 0;
    for (const auto& row : t->rows)
        if (row.size() != t->header.size()) __builtin_trap();
    auto b = ldx::csv_bind(s, t->header);
    if (!b.ok()) return 0;
    for (const auto& row : t->rows) (void)ldx::record_prepare(s, ldx::record_from_csv_row(s, *b, row));
    return 0;
}
