// Fuzz target: the schema parser (JSON limits, every field rule) and features derived from it.
#include <cstdint>
#include <string_view>

#include "schema/schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto s = ldx::schema_parse(std::string_view(reinterpret_cast<const char*>(data), size));
    if (s.ok()) {
        // A schema that parses must survive its own round trip.
        auto again = ldx::schema_from_json(ldx::schema_to_json(*s));
        if (!again.ok()) __builtin_trap();
    }
    return 0;
}
