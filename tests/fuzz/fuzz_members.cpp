// Fuzz target: the JSON members of a bundle that are parsed after verification: trees.json
// (ensemble_from_json, with its structure checks, then a walk and TreeSHAP) and reference.json.
#include <cmath>
#include <cstdint>
#include <string_view>
#include <vector>

#include "drift/histogram.h"
#include "explain/treeshap.h"
#include "trees/ensemble.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const ldx::Schema s = *ldx::schema_parse(R"({"task": "fuzz", "title": "F",
      "fields": [{"name": "a", "label": "A", "type": "number", "unit": "1"}, {"name": "b", "label": "B", "type": "boolean"}],
      "outputs": {"kind": "binary", "column": "y", "classes": [{"name": "0", "label": "N"}, {"name": "1", "label": "Y"}], "positive": "1"}})");
    auto j = ldx::json_parse(std::string_view(reinterpret_cast<const char*>(data), size), "member", ldx::JsonLimits{1u << 16, 8});
    if (!j.ok()) return 0;
    (void)ldx::reference_from_json(*j, s);
    auto e = ldx::ensemble_from_json(*j);
    if (!e.ok() || e->num_features > 64) return 0;
    std::vector<float> x(static_cast<size_t>(e->num_features), 0.5f);
    if (!x.empty()) x[0] = NAN;
    const auto m = ldx::ensemble_margin(*e, x);
    const auto ex = ldx::treeshap(*e, x);
    if (ex.contributions.size() != static_cast<size_t>(e->num_outputs * e->num_features)) __builtin_trap();
    (void)m;
    return 0;
}
