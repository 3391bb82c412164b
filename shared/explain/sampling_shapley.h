// shared/explain/sampling_shapley.h — model-agnostic explanation for models the core cannot walk
// (an MLP, any ONNX graph): Shapley values estimated by permutation sampling against a background
// sample stored in the bundle, in probability space.
//
// Index of this file
//   [SECTION] Settings and background (bundle member "explainer.json")
//   [SECTION] The rows the model must be evaluated on
//   [SECTION] Contributions from the model's outputs
//
// The explained quantity is the model's probability of a class (binary: of the positive class).
// For background row z and a permutation of the fields, the fields are switched from z's values
// to the patient's one at a time; each switch's change of probability is credited to that field.
// Every background row gets the same number of permutations, in antithetic pairs (a permutation
// and its reverse), so for every class
//     base + sum_fields contributions == P(patient)        (exactly, up to rounding)
// with base = the mean probability over the background rows. The estimate's standard error per
// field is reported with it. Fields move as a whole (a category's one-hot columns together).
// ONNX Runtime evaluates the rows; the core builds them and reads the outputs, so the same code
// runs in the CLI's tests and in the browser. The permutations come from a fixed seed: the same
// patient always gets the same explanation.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "explain/treeshap.h"
#include "schema/schema.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Settings and background
//-----------------------------------------------------------------------------
struct SamplingShapley {
    std::string input = "input";           // the ONNX input that takes [N, num_features] floats
    std::string output = "probabilities";  // the ONNX output with the class probabilities
    int output_width = 0;                  // K (one column per class), or 1 (binary: P(positive))
    int num_features = 0;
    std::vector<float> background;                // rows x num_features
    std::vector<float> background_probabilities;  // rows x classes, as the model's author computed them
    int permutations = 4;                         // per background row; even (antithetic pairs)
    uint64_t seed = 1;
    std::vector<std::vector<int>> groups;  // feature columns per schema field (derived from the schema)

    size_t background_rows() const { return num_features ? background.size() / static_cast<size_t>(num_features) : 0; }
    size_t chains() const { return background_rows() * static_cast<size_t>(permutations); }
};

// Picks at most `max_rows` rows of `features` (row-major, schema.features wide) with a
// deterministic shuffle; `probabilities` (rows x classes) go along with their rows.
SamplingShapley sampling_shapley_make(const Schema& schema, std::span<const float> features,
                                      std::span<const double> probabilities, size_t max_rows, int permutations,
                                      uint64_t seed);
Json sampling_shapley_to_json(const SamplingShapley& s);
// Problems "bad_explainer" name the key that is wrong.
Result<SamplingShapley> sampling_shapley_from_json(const Json& j, const Schema& schema);

// One explanation evaluates the model on at most this many values (rows x feature columns, 256 MB
// of floats). Settings that ask for more (4096 background rows x 65536 permutations would be 2^28
// chains) are refused when a bundle is made and when it is read, before any row is built.
constexpr size_t kMaxSamplingShapleyValues = size_t{1} << 26;
// Why `s` asks for too many rows per explanation, if it does (groups must be set).
std::optional<std::string> sampling_shapley_size_refusal(const SamplingShapley& s);

//-----------------------------------------------------------------------------
// [SECTION] The rows the model must be evaluated on
//-----------------------------------------------------------------------------
// Layout: row 0 is the patient x; rows 1..B the background; then, per chain (background row b,
// permutation p), the G-1 rows between z_b and x (G = number of fields).
size_t sampling_shapley_rows(const SamplingShapley& s);
void sampling_shapley_inputs(const SamplingShapley& s, std::span<const float> x, std::vector<float>& rows);

//-----------------------------------------------------------------------------
// [SECTION] Contributions from the model's outputs
//-----------------------------------------------------------------------------
// The class probabilities in one output row (width 1: [1 - p, p]).
std::vector<double> probabilities_from_output(std::span<const float> row, int classes);

// outputs: sampling_shapley_rows(s) rows of output_width values. Fills `out` (one explained
// output for binary models — the positive class —, one per class otherwise; each field's
// contribution on its first feature column) and `standard_error` ([output][field]).
void sampling_shapley_explain(const SamplingShapley& s, const Schema& schema, std::span<const float> outputs,
                              Explanation& out, std::vector<double>& standard_error);

}  // namespace ldx
