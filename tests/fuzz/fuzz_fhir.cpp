// Fuzz target: FHIR R4 JSON (Bundle, single resource or NDJSON) read into records for a fixed
// schema with codes, units, a category named "sex" and an age field, then validated.
#include <cstdint>
#include <string_view>

#include "record/fhir.h"

namespace {
const ldx::Schema& schema() {
    static const ldx::Schema s = *ldx::schema_parse(R"({
      "task": "fuzz", "title": "Fuzz",
      "fields": [
        {"name": "glucose", "label": "G", "type": "number", "unit": "mg/dL", "min": 10, "max": 1000, "code": "LOINC:1518-0",
         "alt_units": [{"unit": "mmol/L", "factor": 18.0156}]},
        {"name": "pressure", "label": "P", "type": "number", "unit": "mm[Hg]", "min": 10, "max": 300, "code": "LOINC:8462-4"},
        {"name": "age", "label": "A", "type": "integer", "unit": "a", "min": 0, "max": 120, "code": "LOINC:30525-0"},
        {"name": "sex", "label": "S", "type": "category", "levels": [{"value": "f", "label": "F"}, {"value": "m", "label": "M"}]},
        {"name": "smoker", "label": "B", "type": "boolean", "code": "SNOMED:77176002"}
      ],
      "outputs": {"kind": "binary", "column": "y", "classes": [{"name": "n", "label": "N"}, {"name": "y", "label": "Y"}], "positive": "y"}
    })");
    return s;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)ldx::fhir_detect(text);
    auto r = ldx::fhir_records(schema(), text, 1795000000);
    if (!r.ok()) return 0;
    if (r->patients.size() != r->records.size()) __builtin_trap();
    for (const auto& rec : r->records) {
        auto p = ldx::record_prepare(schema(), rec);
        if (p.ok() && p->features.size() != schema().features.size()) __builtin_trap();
    }
    return 0;
}
