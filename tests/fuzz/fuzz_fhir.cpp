// Fuzz target: FHIR R4 JSON (Bundle, single resource or NDJSON) read into records for a fixed
// schema (fuzz_schema_fixture.h: codes, units, a category named "sex", an age field), then validated.
#include <cstdint>
#include <string_view>

#include "record/fhir.h"
#include "fuzz_schema_fixture.h"

namespace {
const ldx::Schema& schema() { return ldx::fuzz::patient_schema(); }
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
