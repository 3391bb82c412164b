// Fuzz target: the members of a bundle that are parsed after verification: trees.bin, trees.json
// (ensemble_from_json, with its structure checks, then a walk, TreeSHAP and Fast TreeSHAP v2
// which must agree), reference.json and explainer.json (sampling-shapley settings, then its rows
// and an explanation from made-up outputs).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <vector>

#include "drift/histogram.h"
#include "explain/sampling_shapley.h"
#include "explain/treeshap.h"
#include "trees/ensemble.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const ldx::Schema s = *ldx::schema_parse(R"({"task": "fuzz", "title": "F",
      "fields": [{"name": "a", "label": "A", "type": "number", "unit": "1"}, {"name": "b", "label": "B", "type": "boolean"}],
      "outputs": {"kind": "binary", "column": "y", "classes": [{"name": "0", "label": "N"}, {"name": "1", "label": "Y"}], "positive": "1"}})");
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    // trees.bin: any bytes are read without a crash; what reads back walks and explains.
    if (auto b = ldx::ensemble_from_binary(bytes); b.ok() && b->num_features <= 64) {
        std::vector<float> x(static_cast<size_t>(b->num_features), 0.25f);
        (void)ldx::treeshap(*b, x);
        if (ldx::ensemble_to_binary(*b) != bytes) __builtin_trap();  // the form round-trips
    }
    auto j = ldx::json_parse(bytes, "member", ldx::JsonLimits{1u << 16, 8});
    if (!j.ok()) return 0;
    (void)ldx::reference_from_json(*j, s);
    if (auto sampler = ldx::sampling_shapley_from_json(*j, s); sampler.ok() && sampler->chains() <= 4096) {
        const std::vector<float> x{0.5f, 1.0f};
        std::vector<float> rows;
        ldx::sampling_shapley_inputs(*sampler, x, rows);
        if (rows.size() != ldx::sampling_shapley_rows(*sampler) * 2) __builtin_trap();
        std::vector<float> outputs(ldx::sampling_shapley_rows(*sampler) * static_cast<size_t>(sampler->output_width),
                                   0.5f);
        ldx::Explanation ex;
        std::vector<double> se;
        ldx::sampling_shapley_explain(*sampler, s, outputs, ex, se);
    }
    auto e = ldx::ensemble_from_json(*j);
    if (!e.ok() || e->num_features > 64) return 0;
    std::vector<float> x(static_cast<size_t>(e->num_features), 0.5f);
    if (!x.empty()) x[0] = NAN;
    const auto m = ldx::ensemble_margin(*e, x);
    const auto ex = ldx::treeshap(*e, x);
    if (ex.contributions.size() != static_cast<size_t>(e->num_outputs * e->num_features)) __builtin_trap();
    const auto tables = ldx::treeshap_tables(*e, size_t{1} << 16);
    ldx::TreeShapWorkspace ws;
    ldx::Explanation fast;
    ldx::treeshap(*e, tables, x, ws, fast);
    ldx::Explanation linear;  // no tables: Linear TreeSHAP for every tree it applies to
    ldx::treeshap(*e, ldx::treeshap_tables(*e, 0), x, ws, linear);
    double scale = 1;  // rounding grows with the leaf values summed, not with the result
    for (const auto& t : e->trees)
        for (const auto& nd : t.nodes) scale += std::abs(nd.value);
    for (size_t i = 0; i < ex.contributions.size(); ++i) {
        const double a = ex.contributions[i];
        for (const double b : {fast.contributions[i], linear.contributions[i]})
            if (std::isfinite(a) && std::isfinite(b) && std::abs(a - b) > 1e-9 * std::max(scale, std::abs(a)))
                __builtin_trap();
    }
    (void)m;
    return 0;
}
