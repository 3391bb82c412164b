// shared/explain/treeshap.h — exact TreeSHAP for tree ensembles, in margin space.
//
// Index of this file
//   [SECTION] Explanation
//   [SECTION] Exact path-dependent TreeSHAP (the reference algorithm)
//   [SECTION] Fast TreeSHAP v2 (per-leaf tables built once per model)
//   [SECTION] Per-field sums
//
// Lundberg, Erion et al. 2020 ("From local explanations to global understanding with
// explainable AI for trees"), Algorithm 2, with the same conventions as XGBoost's
// pred_contribs: node covers weigh the paths not taken, a missing value follows the default
// direction, and the base value is the model's base margin plus each tree's cover-weighted mean.
// For every output k:  base[k] + sum_j contributions[k][j] == margin[k]  (local accuracy).
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "schema/schema.h"
#include "trees/ensemble.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Explanation
//-----------------------------------------------------------------------------
struct Explanation {
    int num_outputs = 0;
    int num_features = 0;
    std::vector<double> base;           // per output
    std::vector<double> contributions;  // row-major [output][feature]

    double contribution(int output, int feature) const {
        return contributions[static_cast<size_t>(output) * static_cast<size_t>(num_features) + static_cast<size_t>(feature)];
    }
    std::span<const double> output(int k) const {
        return std::span<const double>(contributions).subspan(static_cast<size_t>(k) * static_cast<size_t>(num_features),
                                                              static_cast<size_t>(num_features));
    }
};

//-----------------------------------------------------------------------------
// [SECTION] Exact path-dependent TreeSHAP (the reference algorithm)
//-----------------------------------------------------------------------------
// Scratch space reused across rows so that explaining a batch allocates nothing per row.
struct TreeShapWorkspace {
    struct PathElement {
        int feature;
        double zero_fraction, one_fraction, weight;
    };
    std::vector<PathElement> path;
    std::vector<std::pair<int32_t, uint32_t>> stack;  // Fast TreeSHAP v2: (node, hot mask)
};

void treeshap(const Ensemble& e, std::span<const float> x, TreeShapWorkspace& ws, Explanation& out);
Explanation treeshap(const Ensemble& e, std::span<const float> x);

// The base values alone (they do not depend on x).
std::vector<double> treeshap_base(const Ensemble& e);

//-----------------------------------------------------------------------------
// [SECTION] Fast TreeSHAP v2
//-----------------------------------------------------------------------------
// Yang 2022 ("Fast TreeSHAP: accelerating SHAP value computation for trees"), algorithm v2, in
// this form: for a leaf l with value v, unique path features D (d of them), z_j the product of
// the cover fractions of j's edges on the path and H the features whose every split x follows,
//     phi_i += (o_i - z_i) / z_i * K_l(H \ {i}),   o_i = [i in H],
//     K_l(T) = v * sum_{S subset of T} |S|! (d-|S|-1)! / d! * prod_{j in D \ S} z_j.
// K_l depends on x only through the subset T, so all 2^d values are computed once per model;
// explaining a row is then one walk of each tree plus d table reads per leaf (O(L d) per tree,
// against O(L d^2) for the reference algorithm). The results are the same numbers up to
// rounding (the tests hold both to XGBoost's pred_contribs). Trees whose tables would not fit
// the budget, or that have an edge with zero cover, are explained by the reference algorithm.
struct TreeShapTables {
    struct Node {
        int32_t left = -1, right = -1;  // -1 at a leaf
        int32_t feature = 0;            // at a leaf: index into leaves
        float threshold = 0;
        uint8_t default_left = 1;
        uint8_t bit = 0;    // this feature's position among the unique features of the path
        uint8_t first = 0;  // 1 when the feature appears here for the first time on the path
    };
    struct Leaf {
        uint32_t depth = 0;   // d: unique features on the path
        size_t features = 0;  // offset into leaf_features / leaf_hot (d entries)
        size_t table = 0;     // offset into tables (2^d entries)
    };
    struct TreeRef {
        int output = 0;
        int32_t root = -1;  // offset into nodes; -1: explained by the reference algorithm
        size_t tree = 0;    // index into the ensemble's trees
    };
    std::vector<TreeRef> trees;
    std::vector<Node> nodes;
    std::vector<Leaf> leaves;
    std::vector<int32_t> leaf_features;
    std::vector<double> leaf_hot;  // (1 - z_i) / z_i
    std::vector<double> tables;    // K_l(T), value included
    std::vector<double> base;

    size_t bytes() const;
    size_t fast_trees() const;  // how many trees use the tables
};

// max_entries bounds the table doubles (8 bytes each); the default is 4 Mi entries (32 MiB).
TreeShapTables treeshap_tables(const Ensemble& e, size_t max_entries = size_t{1} << 22);
// Same result as treeshap(e, x, ...) for the ensemble the tables were built from.
void treeshap(const Ensemble& e, const TreeShapTables& tables, std::span<const float> x, TreeShapWorkspace& ws,
              Explanation& out);

//-----------------------------------------------------------------------------
// [SECTION] Per-field sums
//-----------------------------------------------------------------------------
// Sums the contributions of the feature columns that come from one input field (the one-hot
// columns of a category), so the clinician sees one figure per field. Returns one value per
// schema field for output k.
std::vector<double> contributions_by_field(const Schema& schema, const Explanation& ex, int output);

}  // namespace ldx
