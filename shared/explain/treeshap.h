// shared/explain/treeshap.h — exact TreeSHAP for tree ensembles, in margin space.
//
// Index of this file
//   [SECTION] Explanation
//   [SECTION] Exact path-dependent TreeSHAP
//   [SECTION] Per-field sums
//
// Lundberg, Erion et al. 2020 ("From local explanations to global understanding with
// explainable AI for trees"), Algorithm 2, with the same conventions as XGBoost's
// pred_contribs: node covers weigh the paths not taken, a missing value follows the default
// direction, and the base value is the model's base margin plus each tree's cover-weighted mean.
// For every output k:  base[k] + sum_j contributions[k][j] == margin[k]  (local accuracy).
#pragma once
#include <span>
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
// [SECTION] Exact path-dependent TreeSHAP
//-----------------------------------------------------------------------------
// Scratch space reused across rows so that explaining a batch allocates nothing per row.
struct TreeShapWorkspace {
    struct PathElement {
        int feature;
        double zero_fraction, one_fraction, weight;
    };
    std::vector<PathElement> path;
};

void treeshap(const Ensemble& e, std::span<const float> x, TreeShapWorkspace& ws, Explanation& out);
Explanation treeshap(const Ensemble& e, std::span<const float> x);

// The base values alone (they do not depend on x).
std::vector<double> treeshap_base(const Ensemble& e);

//-----------------------------------------------------------------------------
// [SECTION] Per-field sums
//-----------------------------------------------------------------------------
// Sums the contributions of the feature columns that come from one input field (the one-hot
// columns of a category), so the clinician sees one figure per field. Returns one value per
// schema field for output k.
std::vector<double> contributions_by_field(const Schema& schema, const Explanation& ex, int output);

}  // namespace ldx
