// Fuzz target: a patient record (JSON) validated against a fixed schema (fuzz_schema_fixture.h), with every field type,
// unit conversion and missing-value policy.
#include <cstdint>
#include <string_view>

#include "record/record.h"
#include "fuzz_schema_fixture.h"

namespace {
const ldx::Schema& schema() { return ldx::fuzz::patient_schema(); }
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
