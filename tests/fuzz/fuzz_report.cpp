// Fuzz target: the metrics report parser (the server's only anonymous input), against a fixed
// schema and reference: limits, exact keys, counts, sums, k.
#include <cstdint>
#include <string_view>

#include "drift/report.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const ldx::Schema s = *ldx::schema_parse(R"({"task": "fuzz", "title": "F",
      "fields": [{"name": "a", "label": "A", "type": "number", "unit": "1"}, {"name": "b", "label": "B", "type": "boolean"}],
      "outputs": {"kind": "binary", "column": "y", "classes": [{"name": "0", "label": "N"}, {"name": "1", "label": "Y"}], "positive": "1"}})");
    static const ldx::Reference ref = [] {
        std::vector<double> values{1, 0, 2, 1, 3, 0}, probs{0.9, 0.1, 0.2, 0.8, 0.5, 0.5};
        return ldx::reference_build(s, values, probs, 4);
    }();
    auto r = ldx::report_parse(std::string_view(reinterpret_cast<const char*>(data), size), s, ref);
    if (r.ok()) {
        // A report that parses must round-trip, and its debiased counts must be finite.
        auto again = ldx::report_parse(ldx::report_to_json(*r).dump(), s, ref);
        if (!again.ok()) __builtin_trap();
        for (const auto& f : r->fields)
            for (double x : ldx::randomized_response_debias(f, r->n, r->epsilon))
                if (!(x >= 0)) __builtin_trap();
    }
    return 0;
}
