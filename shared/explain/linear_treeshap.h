// shared/explain/linear_treeshap.h — exact path-dependent TreeSHAP in O(nodes x depth) per tree,
// with no per-model tables: for deep trees whose Fast TreeSHAP v2 tables (2^depth per leaf) do
// not fit.
//
// Index of this file
//   [SECTION] The algorithm
//   [SECTION] The walk's own form of a tree
//   [SECTION] Entry point
//
// Yu, Bian et al. 2022 ("Linear TreeSHAP", NeurIPS), in this form. For a leaf l with value v,
// let F be the features on its path and, for each j in F, q_j the product of the cover fractions
// of j's edges and p_j the product of their indicators (1 when x follows the edge, a missing
// value following the default direction). With f_j(t) = q_j (1 - t) + p_j t, the Shapley weights
// |S|! (|F| - |S| - 1)! / |F|! are the integral over t in [0, 1] of t^|S| (1 - t)^(|F|-|S|-1), so
//     phi_i += v (p_i - q_i) * integral_0^1 prod_{j in F, j != i} f_j(t) dt.
// The integrand is a polynomial of degree < depth: it is kept as its values at the n Gauss-
// Legendre nodes (n = ceil(depth / 2) integrates it exactly), where products and quotients are
// pointwise. One depth-first walk sums the leaves' v * prod_j f_j(t) below every node; the edge
// into node c on feature i gets  (p_i - q_i) * integral (S_c - sum of S_m) / f_i,  the m being
// the next edges on i below c (their leaves are counted there, with i's later fractions).
// Results equal the reference algorithm up to rounding (tests: <= 1e-12 on random deep trees).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "trees/ensemble.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] The walk's own form of a tree
//-----------------------------------------------------------------------------
// A tree's splits in preorder (a split's left child, when it is a split, is the next one), each
// with its children's cover fractions and leaf values: the walk reads one compact array (48 bytes
// a split against 40 a node, and no leaves), divides no covers, and needs no call for a leaf.
struct LinearSplit {
    double fraction[2] = {0, 0};  // the left / right child's cover over this split's
    double leaf[2] = {0, 0};      // the value of a child that is a leaf (0 for a split)
    int32_t feature = 0;
    float threshold = 0;
    int32_t right = -1;        // the right child's index among the tree's splits, -1 for a leaf
    uint8_t left_split = 0;    // 1 when the left child is a split (then at this index + 1)
    uint8_t default_left = 1;  // where a missing value goes
};

// Appends tree t's splits to out (none for a stump) and returns their depth: the most splits on
// one path, the levels the walk visits (0 for a stump). t must pass linear_treeshap_applies.
int linear_treeshap_compile(const Tree& t, std::vector<LinearSplit>& out);

//-----------------------------------------------------------------------------
// [SECTION] Entry point
//-----------------------------------------------------------------------------
// Scratch space reused across rows and trees: nothing is allocated per row once it has grown.
struct LinearTreeShapWorkspace {
    std::vector<double> p, q;           // per feature: the path's products so far (1 when absent)
    std::vector<int> pending;           // per feature: the level whose edge on it is open, or -1
    std::vector<double> values;         // per level: the path polynomial, the subtree sum, the pending sum
    std::vector<LinearSplit> compiled;  // a Tree's splits in the walk's form (the Tree overload)
};

// Whether a tree can be explained so: every edge has a positive cover fraction.
bool linear_treeshap_applies(const Tree& t);

// Adds tree t's contributions for x to phi (num_features values). The tree must pass
// linear_treeshap_applies. `depth` is what linear_treeshap_compile returned for `splits` (the
// workspace and the quadrature rule are sized from it). The same bits either way: the Tree
// overload compiles the tree into the workspace and walks that, with the depth of what it walks.
void linear_treeshap_tree(std::span<const LinearSplit> splits, int depth, int num_features, std::span<const float> x,
                          LinearTreeShapWorkspace& ws, double* phi);
void linear_treeshap_tree(const Tree& t, int num_features, std::span<const float> x, LinearTreeShapWorkspace& ws,
                          double* phi);

}  // namespace ldx
