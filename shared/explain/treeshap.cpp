// shared/explain/treeshap.cpp — see treeshap.h.
//
// Index of this file
//   [SECTION] Path operations (extend, unwind, unwound sum)
//   [SECTION] Recursion over one tree
//   [SECTION] Ensemble entry points
//   [SECTION] Per-field sums
#include "explain/treeshap.h"

#include <algorithm>
#include <cmath>

namespace ldx {

namespace {
using PathElement = TreeShapWorkspace::PathElement;

//-----------------------------------------------------------------------------
// [SECTION] Path operations
//-----------------------------------------------------------------------------
// The "unique path" holds, for every feature split on the way to the current node, the fraction
// of training weight that flows through when the feature is unknown (zero_fraction) and whether
// x itself follows (one_fraction), plus the permutation weights of subsets of those features.
void extend_path(PathElement* path, int depth, double zero_fraction, double one_fraction, int feature) {
    path[depth] = {feature, zero_fraction, one_fraction, depth == 0 ? 1.0 : 0.0};
    for (int i = depth - 1; i >= 0; --i) {
        path[i + 1].weight += one_fraction * path[i].weight * (i + 1) / static_cast<double>(depth + 1);
        path[i].weight = zero_fraction * path[i].weight * (depth - i) / static_cast<double>(depth + 1);
    }
}

void unwind_path(PathElement* path, int depth, int index) {
    const double one = path[index].one_fraction;
    const double zero = path[index].zero_fraction;
    double next_one_portion = path[depth].weight;
    for (int i = depth - 1; i >= 0; --i) {
        if (one != 0) {
            const double tmp = path[i].weight;
            path[i].weight = next_one_portion * (depth + 1) / ((i + 1) * one);
            next_one_portion = tmp - path[i].weight * zero * (depth - i) / static_cast<double>(depth + 1);
        } else {
            path[i].weight = path[i].weight * (depth + 1) / (zero * (depth - i));
        }
    }
    for (int i = index; i < depth; ++i) {
        path[i].feature = path[i + 1].feature;
        path[i].zero_fraction = path[i + 1].zero_fraction;
        path[i].one_fraction = path[i + 1].one_fraction;
    }
}

// Total permutation weight with element `index` removed, without modifying the path.
double unwound_path_sum(const PathElement* path, int depth, int index) {
    const double one = path[index].one_fraction;
    const double zero = path[index].zero_fraction;
    double next_one_portion = path[depth].weight;
    double total = 0;
    for (int i = depth - 1; i >= 0; --i) {
        if (one != 0) {
            const double tmp = next_one_portion * (depth + 1) / ((i + 1) * one);
            total += tmp;
            next_one_portion = path[i].weight - tmp * zero * ((depth - i) / static_cast<double>(depth + 1));
        } else if (zero != 0) {
            total += (path[i].weight / zero) / ((depth - i) / static_cast<double>(depth + 1));
        }
    }
    return total;
}

//-----------------------------------------------------------------------------
// [SECTION] Recursion over one tree
//-----------------------------------------------------------------------------
// Recursion depth is bounded by the tree depth, which ensemble_check limits to 64.
void tree_shap(const Tree& t, std::span<const float> x, double* phi, int node, int depth, PathElement* parent_path,
               double parent_zero, double parent_one, int parent_feature) {
    const TreeNode& nd = t.nodes[static_cast<size_t>(node)];
    PathElement* path = parent_path + depth + 1;
    std::copy(parent_path, parent_path + depth + 1, path);
    extend_path(path, depth, parent_zero, parent_one, parent_feature);

    if (nd.leaf()) {
        for (int i = 1; i <= depth; ++i) {
            const double w = unwound_path_sum(path, depth, i);
            const PathElement& el = path[i];
            phi[el.feature] += w * (el.one_fraction - el.zero_fraction) * nd.value;
        }
        return;
    }
    const float v = x[static_cast<size_t>(nd.feature)];
    const int hot = std::isnan(v) ? (nd.default_left ? nd.left : nd.right) : (v < nd.threshold ? nd.left : nd.right);
    const int cold = hot == nd.left ? nd.right : nd.left;
    const double w = nd.cover;
    const double hot_zero = t.nodes[static_cast<size_t>(hot)].cover / w;
    const double cold_zero = t.nodes[static_cast<size_t>(cold)].cover / w;
    double incoming_zero = 1, incoming_one = 1;

    // A feature already on the path is undone here and redone with the combined fractions.
    int k = 0;
    for (; k <= depth; ++k)
        if (path[k].feature == nd.feature) break;
    if (k != depth + 1) {
        incoming_zero = path[k].zero_fraction;
        incoming_one = path[k].one_fraction;
        unwind_path(path, depth, k);
        depth -= 1;
    }
    tree_shap(t, x, phi, hot, depth + 1, path, hot_zero * incoming_zero, incoming_one, nd.feature);
    tree_shap(t, x, phi, cold, depth + 1, path, cold_zero * incoming_zero, 0, nd.feature);
}

}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] Ensemble entry points
//-----------------------------------------------------------------------------
std::vector<double> treeshap_base(const Ensemble& e) {
    std::vector<double> base = e.base_margin;
    for (const Tree& t : e.trees) base[static_cast<size_t>(t.output)] += t.mean[0];
    return base;
}

void treeshap(const Ensemble& e, std::span<const float> x, TreeShapWorkspace& ws, Explanation& out) {
    out.num_outputs = e.num_outputs;
    out.num_features = e.num_features;
    out.base = treeshap_base(e);
    out.contributions.assign(static_cast<size_t>(e.num_outputs) * static_cast<size_t>(e.num_features), 0.0);
    const size_t d = static_cast<size_t>(e.max_depth) + 2;
    ws.path.resize(d * (d + 1) / 2 + 1);
    for (const Tree& t : e.trees) {
        double* phi = out.contributions.data() + static_cast<size_t>(t.output) * static_cast<size_t>(e.num_features);
        if (t.nodes[0].leaf()) continue;  // a stump adds only to the base
        // The root is entered with a dummy feature -1 (as in the paper); it never receives credit
        // because attribution starts at path index 1.
        tree_shap(t, x, phi, 0, 0, ws.path.data(), 1.0, 1.0, -1);
    }
}

Explanation treeshap(const Ensemble& e, std::span<const float> x) {
    TreeShapWorkspace ws;
    Explanation ex;
    treeshap(e, x, ws, ex);
    return ex;
}

//-----------------------------------------------------------------------------
// [SECTION] Per-field sums
//-----------------------------------------------------------------------------
std::vector<double> contributions_by_field(const Schema& schema, const Explanation& ex, int output) {
    std::vector<double> by_field(schema.fields.size(), 0.0);
    const auto row = ex.output(output);
    for (size_t j = 0; j < schema.features.size() && j < row.size(); ++j)
        by_field[static_cast<size_t>(schema.features[j].field)] += row[j];
    return by_field;
}

}  // namespace ldx
