// tests/fuzz/fuzz_schema_fixture.h — the schema the record and FHIR fuzz targets read patients
// into: every field type (number with an alternative unit and typical range, integer, category,
// ordinal category, boolean), LOINC/SNOMED codes for FHIR, a required field.
#pragma once
#include "schema/schema.h"

namespace ldx::fuzz {
inline const Schema& patient_schema() {
    static const Schema s = *schema_parse(R"({
      "task": "fuzz", "title": "Fuzz",
      "fields": [
        {"name": "glucose", "label": "G", "type": "number", "unit": "mg/dL", "min": 10, "max": 1000, "code": "LOINC:1518-0",
         "typical_min": 50, "typical_max": 250, "alt_units": [{"unit": "mmol/L", "factor": 18.0156}]},
        {"name": "pressure", "label": "P", "type": "number", "unit": "mm[Hg]", "min": 10, "max": 300, "code": "LOINC:8462-4"},
        {"name": "age", "label": "A", "type": "integer", "unit": "a", "min": 0, "max": 120, "code": "LOINC:30525-0", "required": true},
        {"name": "sex", "label": "S", "type": "category", "levels": [{"value": "f", "label": "F"}, {"value": "m", "label": "M"}]},
        {"name": "stage", "label": "T", "type": "category", "encoding": "ordinal", "levels": [{"value": "I", "label": "1"}, {"value": "II", "label": "2"}]},
        {"name": "smoker", "label": "B", "type": "boolean", "code": "SNOMED:77176002"}
      ],
      "outputs": {"kind": "binary", "column": "y", "classes": [{"name": "n", "label": "N"}, {"name": "y", "label": "Y"}], "positive": "y"}
    })");
    return s;
}
}  // namespace ldx::fuzz
