// shared/explain/sampling_shapley.cpp — see sampling_shapley.h.
//
// Index of this file
//   [SECTION] Deterministic permutations
//   [SECTION] Settings and background
//   [SECTION] The rows the model must be evaluated on
//   [SECTION] Contributions from the model's outputs
#include "explain/sampling_shapley.h"

#include <algorithm>
#include <cmath>

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Deterministic permutations
//-----------------------------------------------------------------------------
// splitmix64 and a hand-written Fisher-Yates: the standard library's shuffle differs between
// libstdc++ (native) and libc++ (Emscripten), and the browser must draw the same permutations.
namespace {
uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void shuffle(std::vector<int>& v, uint64_t state) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[splitmix64(state) % i]);
}

// The fields that have feature columns, in schema order.
std::vector<int> active_groups(const SamplingShapley& s) {
    std::vector<int> g;
    for (size_t f = 0; f < s.groups.size(); ++f)
        if (!s.groups[f].empty()) g.push_back(static_cast<int>(f));
    return g;
}

// Chain c's order of the active groups: pairs (2i, 2i+1) are a permutation and its reverse.
void chain_order(const SamplingShapley& s, size_t groups, size_t chain, std::vector<int>& order) {
    order.resize(groups);
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    shuffle(order, s.seed ^ (static_cast<uint64_t>(chain / 2) * 0xD1B54A32D192ED03ull));
    if (chain % 2 == 1) std::reverse(order.begin(), order.end());
}

std::vector<std::vector<int>> groups_of(const Schema& schema) {
    std::vector<std::vector<int>> groups(schema.fields.size());
    for (size_t j = 0; j < schema.features.size(); ++j)
        groups[static_cast<size_t>(schema.features[j].field)].push_back(static_cast<int>(j));
    return groups;
}
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] Settings and background
//-----------------------------------------------------------------------------
SamplingShapley sampling_shapley_make(const Schema& schema, std::span<const float> features,
                                      std::span<const double> probabilities, size_t max_rows, int permutations,
                                      uint64_t seed) {
    SamplingShapley s;
    s.num_features = static_cast<int>(schema.features.size());
    s.permutations = permutations;
    s.seed = seed;
    s.groups = groups_of(schema);
    const size_t width = schema.features.size(), k = static_cast<size_t>(schema.num_classes());
    const size_t rows = width ? features.size() / width : 0;
    std::vector<int> pick(rows);
    for (size_t i = 0; i < rows; ++i) pick[i] = static_cast<int>(i);
    shuffle(pick, seed);
    pick.resize(std::min(rows, max_rows));
    std::sort(pick.begin(), pick.end());
    for (const int r : pick) {
        const auto row = features.subspan(static_cast<size_t>(r) * width, width);
        s.background.insert(s.background.end(), row.begin(), row.end());
        if (probabilities.size() >= (static_cast<size_t>(r) + 1) * k)
            for (size_t c = 0; c < k; ++c)
                s.background_probabilities.push_back(static_cast<float>(probabilities[static_cast<size_t>(r) * k + c]));
    }
    return s;
}

Json sampling_shapley_to_json(const SamplingShapley& s) {
    Json rows = Json::array(), probs = Json::array();
    const size_t w = static_cast<size_t>(s.num_features);
    for (size_t r = 0; r < s.background_rows(); ++r) {
        Json row = Json::array();
        for (size_t j = 0; j < w; ++j) {
            const float v = s.background[r * w + j];
            row.push_back(std::isnan(v) ? Json(nullptr) : Json(static_cast<double>(v)));
        }
        rows.push_back(std::move(row));
    }
    const size_t k = s.background_rows() ? s.background_probabilities.size() / s.background_rows() : 0;
    for (size_t r = 0; r < s.background_rows() && k; ++r)
        probs.push_back(std::vector<double>(s.background_probabilities.begin() + static_cast<long>(r * k),
                                            s.background_probabilities.begin() + static_cast<long>((r + 1) * k)));
    return Json{{"format", "localdx-sampling-shapley/1"},
                {"input", s.input},
                {"output", s.output},
                {"output_width", s.output_width},
                {"num_features", s.num_features},
                {"permutations", s.permutations},
                {"seed", s.seed},
                {"background", rows},
                {"background_probabilities", probs}};
}

Result<SamplingShapley> sampling_shapley_from_json(const Json& j, const Schema& schema) {
    auto bad = [](const std::string& key, const std::string& msg) {
        return problem("bad_explainer", key + ": " + msg, key);
    };
    if (!j.is_object()) return bad("explainer.json", "is not a JSON object");
    if (json_text_or(j, "format") != "localdx-sampling-shapley/1")
        return bad("format", "must be localdx-sampling-shapley/1");
    SamplingShapley s;
    s.input = json_text_or(j, "input");
    s.output = json_text_or(j, "output");
    if (s.input.empty() || s.output.empty())
        return bad(s.input.empty() ? "input" : "output", "must name an ONNX tensor");
    const int k = schema.num_classes();
    s.output_width = static_cast<int>(json_int_in(j, "output_width", 0, 1024).value_or(-1));
    if (s.output_width != k && !(k == 2 && s.output_width == 1))
        return bad("output_width", "must be the number of classes (or 1 for a binary model)");
    s.num_features = static_cast<int>(json_int_in(j, "num_features", 0, 1 << 20).value_or(-1));
    if (s.num_features != static_cast<int>(schema.features.size()))
        return bad("num_features", "does not match the schema's feature columns");
    s.permutations = static_cast<int>(json_int_in(j, "permutations", 0, 1 << 16).value_or(-1));
    if (s.permutations < 2 || s.permutations % 2) return bad("permutations", "must be an even number, at least 2");
    const Json& seed = json_member(j, "seed");
    if (!seed.is_number_unsigned()) return bad("seed", "must be a non-negative integer");
    s.seed = seed.get<uint64_t>();
    const Json& rows = json_member(j, "background");
    if (!rows.is_array() || rows.empty() || rows.size() > 4096) return bad("background", "must hold 1 to 4096 rows");
    for (size_t r = 0; r < rows.size(); ++r) {
        const Json& row = rows[r];
        if (!row.is_array() || row.size() != static_cast<size_t>(s.num_features))
            return bad("background",
                       "row " + std::to_string(r + 1) + " must hold " + std::to_string(s.num_features) + " values");
        for (const Json& v : row) {
            if (v.is_null()) s.background.push_back(NAN);
            else if (v.is_number() && std::isfinite(v.get<double>())) s.background.push_back(v.get<float>());
            else return bad("background", "row " + std::to_string(r + 1) + " holds a value that is not a number");
        }
    }
    const Json& probs = json_member(j, "background_probabilities");
    if (!probs.is_array() || probs.size() != rows.size())
        return bad("background_probabilities", "must hold one row per background row");
    for (size_t r = 0; r < probs.size(); ++r) {
        std::vector<double> p;
        if (!json_number_array(probs[r], p) || p.size() != static_cast<size_t>(k))
            return bad("background_probabilities",
                       "row " + std::to_string(r + 1) + " must hold " + std::to_string(k) + " probabilities");
        for (double v : p) {
            if (!(v >= 0 && v <= 1))
                return bad("background_probabilities",
                           "row " + std::to_string(r + 1) + " holds a value outside [0, 1]");
            s.background_probabilities.push_back(static_cast<float>(v));
        }
    }
    s.groups = groups_of(schema);
    if (auto why = sampling_shapley_size_refusal(s)) return bad("permutations", *why);
    return s;
}

std::optional<std::string> sampling_shapley_size_refusal(const SamplingShapley& s) {
    const size_t g = active_groups(s).size(), w = static_cast<size_t>(std::max(s.num_features, 1));
    const size_t limit = kMaxSamplingShapleyValues / w;  // rows; checked without overflow
    const size_t per_chain = g > 0 ? g - 1 : 0, fixed = 1 + s.background_rows();
    if (fixed <= limit && (per_chain == 0 || s.chains() <= (limit - fixed) / per_chain)) return std::nullopt;
    return std::to_string(s.background_rows()) + " background rows x " + std::to_string(s.permutations) +
           " permutations need more than " + std::to_string(limit) + " model rows per explanation (" +
           std::to_string(w) + " features each); use fewer";
}

//-----------------------------------------------------------------------------
// [SECTION] The rows the model must be evaluated on
//-----------------------------------------------------------------------------
size_t sampling_shapley_rows(const SamplingShapley& s) {
    const size_t g = active_groups(s).size();
    return 1 + s.background_rows() + s.chains() * (g > 0 ? g - 1 : 0);
}

void sampling_shapley_inputs(const SamplingShapley& s, std::span<const float> x, std::vector<float>& rows) {
    const size_t w = static_cast<size_t>(s.num_features);
    const std::vector<int> groups = active_groups(s);
    rows.clear();
    rows.reserve(sampling_shapley_rows(s) * w);
    rows.insert(rows.end(), x.begin(), x.end());
    rows.insert(rows.end(), s.background.begin(), s.background.end());
    std::vector<int> order;
    std::vector<float> current(w);
    for (size_t c = 0; c < s.chains(); ++c) {
        const size_t b = c / static_cast<size_t>(s.permutations);
        std::copy_n(s.background.begin() + static_cast<long>(b * w), w, current.begin());
        chain_order(s, groups.size(), c, order);
        for (size_t t = 0; t + 1 < order.size(); ++t) {
            for (const int col : s.groups[static_cast<size_t>(groups[static_cast<size_t>(order[t])])])
                current[static_cast<size_t>(col)] = x[static_cast<size_t>(col)];
            rows.insert(rows.end(), current.begin(), current.end());
        }
    }
}

//-----------------------------------------------------------------------------
// [SECTION] Contributions from the model's outputs
//-----------------------------------------------------------------------------
std::vector<double> probabilities_from_output(std::span<const float> row, int classes) {
    if (row.size() == 1 && classes == 2) return {1.0 - static_cast<double>(row[0]), static_cast<double>(row[0])};
    return std::vector<double>(row.begin(), row.end());
}

void sampling_shapley_explain(const SamplingShapley& s, const Schema& schema, std::span<const float> outputs,
                              Explanation& out, std::vector<double>& standard_error) {
    const int k = schema.num_classes();
    const size_t width = static_cast<size_t>(s.output_width);
    const std::vector<int> groups = active_groups(s);
    const size_t g = groups.size(), fields = schema.fields.size();
    const int explained = k == 2 ? 1 : k;
    auto cls = [&](int o) { return k == 2 ? 1 : o; };
    auto p = [&](size_t row, int o) {
        const auto r = outputs.subspan(row * width, width);
        return width == 1 ? (cls(o) == 1 ? static_cast<double>(r[0]) : 1.0 - r[0])
                          : static_cast<double>(r[static_cast<size_t>(cls(o))]);
    };
    out.num_outputs = explained;
    out.num_features = s.num_features;
    out.base.assign(static_cast<size_t>(explained), 0.0);
    out.contributions.assign(static_cast<size_t>(explained) * static_cast<size_t>(s.num_features), 0.0);
    standard_error.assign(static_cast<size_t>(explained) * fields, 0.0);
    const size_t bg = s.background_rows(), chains = s.chains();
    if (bg == 0 || chains == 0) return;
    for (int o = 0; o < explained; ++o)
        for (size_t b = 0; b < bg; ++b) out.base[static_cast<size_t>(o)] += p(1 + b, o) / static_cast<double>(bg);

    std::vector<double> sum(static_cast<size_t>(explained) * g, 0.0), sumsq(sum.size(), 0.0);
    std::vector<int> order;
    for (size_t c = 0; c < chains; ++c) {
        const size_t b = c / static_cast<size_t>(s.permutations);
        const size_t first = 1 + bg + c * (g - 1);
        chain_order(s, groups.size(), c, order);
        for (int o = 0; o < explained; ++o) {
            double prev = p(1 + b, o);
            for (size_t t = 0; t < g; ++t) {
                const double cur = t + 1 == g ? p(0, o) : p(first + t, o);
                const double d = cur - prev;
                const size_t at = static_cast<size_t>(o) * g + static_cast<size_t>(order[t]);
                sum[at] += d;
                sumsq[at] += d * d;
                prev = cur;
            }
        }
    }
    const double m = static_cast<double>(chains);
    for (int o = 0; o < explained; ++o)
        for (size_t i = 0; i < g; ++i) {
            const size_t at = static_cast<size_t>(o) * g + i;
            const size_t field = static_cast<size_t>(groups[i]);
            const double mean = sum[at] / m;
            out.contributions[static_cast<size_t>(o) * static_cast<size_t>(s.num_features) +
                              static_cast<size_t>(s.groups[field][0])] = mean;
            const double var = chains > 1 ? std::max(0.0, (sumsq[at] - m * mean * mean) / (m - 1)) : 0.0;
            standard_error[static_cast<size_t>(o) * fields + field] = std::sqrt(var / m);
        }
}

}  // namespace ldx
