// Fuzz target: a patient record (JSON) validated against a fixed schema, with every field type,
// unit conversion and missing-value policy.
#include <cstdint>
#include <string_view>

#include "record/record.h"

namespace {
const ldx::Schema& schema() {
    static const ldx::Schema s = *ldx::schema_parse(R"({
      "task": "fuzz", "title": "Fuzz",
      "fields": [
        {"name": "glucose", "label": "G", "type": "number", "unit": "mg/dL", "min": 10, "max": 1000,
         "typical_min": 50, "typical_max": 250, "alt_units": [{"unit": "mmol/L", "factor": 18.0156}]},
        {"name": "age", "label": "A", "type": "integer", "unit": "a", "min": 0, "max": 120, "required": true},
        {"name": "sex", "label": "S", "type": "category", "levels": [{"value": "f", "label": "F"}, {"value": "m", "label": "M"}]},
        {"name": "stage", "label": "T", "type": "category", "encoding": "ordinal", "levels": [{"value": "I", "label": "1"}, {"value": "II", "label": "2"}]},
        {"name": "smoker", "label": "B", "type": "boolean"}
      ],
      "outputs": {"kind": "binary", "column": "y", "classes": [{"name": "n", "label": "N"}, {"name": "y", "label": "Y"}], "positive": "y"}
    })");
    return s;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto j = ldx::json_parse(text, "record", ldx::JsonLimits{1u << 16, 4});
    if (!j.ok()) return 0;
    auto raw = ldx::record_from_json(*j);
    if (!raw.ok()) return 0;
    auto r = ldx::record_prepare(schema(), *raw);
    if (r.ok() && r->features.size() != schema().features.size()) __builtin_trap();
    return 0;
}
