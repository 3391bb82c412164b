// shared/explain/treeshap.cpp — see treeshap.h.
//
// Index of this file
//   [SECTION] Path operations (extend, unwind, unwound sum)
//   [SECTION] Recursion over one tree
//   [SECTION] Ensemble entry points
//   [SECTION] Fast TreeSHAP v2: building the tables
//   [SECTION] Which way one row takes
//   [SECTION] Fast TreeSHAP v2: explaining one row, and a batch tree by tree
//   [SECTION] Per-field sums
#include "explain/treeshap.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

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
// [SECTION] Fast TreeSHAP v2: building the tables
//-----------------------------------------------------------------------------
namespace {
constexpr uint32_t kMaxTableDepth = 16;  // 2^16 entries for one leaf at most

struct PathFeature {
    int32_t feature;
    double zero_fraction;  // z_j: product of the cover fractions of j's edges on the path
};

struct LeafPath {
    int32_t node;
    std::vector<PathFeature> features;
};

struct SplitBit {
    uint8_t bit = 0;    // the feature's position among the unique features of the path
    uint8_t first = 0;  // 1 when the feature appears here for the first time on the path
};

// Collects every leaf's unique path features with their z_j, and each internal node's bit and
// first flag. Returns false when the tree cannot use tables (an edge with zero cover, a path
// with more than kMaxTableDepth unique features).
bool collect_paths(const Tree& t, std::vector<SplitBit>& bits, std::vector<LeafPath>& leaves) {
    struct Item {
        int32_t node;
        std::vector<PathFeature> path;
    };
    std::vector<Item> stack{{0, {}}};
    while (!stack.empty()) {
        Item it = std::move(stack.back());
        stack.pop_back();
        const TreeNode& nd = t.nodes[static_cast<size_t>(it.node)];
        if (nd.leaf()) {
            leaves.push_back({it.node, std::move(it.path)});
            continue;
        }
        if (!(nd.cover > 0)) return false;
        size_t pos = 0;
        while (pos < it.path.size() && it.path[pos].feature != nd.feature) ++pos;
        const bool first = pos == it.path.size();
        if (first && pos >= kMaxTableDepth) return false;
        bits[static_cast<size_t>(it.node)] = {static_cast<uint8_t>(pos), static_cast<uint8_t>(first ? 1 : 0)};
        for (const int32_t child : {nd.left, nd.right}) {
            const double fraction = t.nodes[static_cast<size_t>(child)].cover / nd.cover;
            if (!(fraction > 0) || !std::isfinite(fraction)) return false;
            Item next{child, it.path};
            if (first) next.path.push_back({nd.feature, fraction});
            else next.path[pos].zero_fraction *= fraction;
            stack.push_back(std::move(next));
        }
    }
    return true;
}

// Nodes in breadth-first order (every parent before its children): node id -> slot.
std::vector<uint32_t> breadth_first_slots(const Tree& t, std::vector<int32_t>& order) {
    std::vector<uint32_t> slot(t.nodes.size(), 0);
    order.assign(1, 0);
    for (size_t i = 0; i < order.size(); ++i) {
        const TreeNode& nd = t.nodes[static_cast<size_t>(order[i])];
        slot[static_cast<size_t>(order[i])] = static_cast<uint32_t>(i);
        if (!nd.leaf()) {
            order.push_back(nd.left);
            order.push_back(nd.right);
        }
    }
    return slot;
}

// K(T) for every subset T of the d path features (bit j = feature j), value included. Uses the
// elementary symmetric polynomials e_m(z_T), built subset by subset from T minus its lowest bit:
//     K(T) = v * prod_{j not in T} z_j * sum_{k=0}^{|T|} w(k, d) * e_{|T|-k}(z_T).
void leaf_table(std::span<const PathFeature> path, double value, std::vector<double>& poly, std::vector<double>& prod,
                double* table) {
    const uint32_t d = static_cast<uint32_t>(path.size());
    const uint32_t n = 1u << d, stride = d + 1;
    std::vector<double> w(d, 0.0);  // w(k, d) = k! (d-k-1)! / d!
    w[0] = 1.0 / d;
    for (uint32_t k = 1; k < d; ++k) w[k] = w[k - 1] * k / static_cast<double>(d - k);
    poly.assign(static_cast<size_t>(n) * stride, 0.0);
    prod.assign(n, 1.0);
    poly[0] = 1.0;
    for (uint32_t mask = 1; mask < n; ++mask) {
        const uint32_t j = static_cast<uint32_t>(std::countr_zero(mask));
        const uint32_t prev = mask & (mask - 1);
        const double z = path[j].zero_fraction;
        prod[mask] = prod[prev] * z;
        const double* pp = &poly[static_cast<size_t>(prev) * stride];
        double* pm = &poly[static_cast<size_t>(mask) * stride];
        const uint32_t size = static_cast<uint32_t>(std::popcount(mask));
        pm[0] = pp[0];
        for (uint32_t m = 1; m <= size; ++m) pm[m] = pp[m] + z * pp[m - 1];
    }
    for (uint32_t mask = 0; mask < n; ++mask) {
        const uint32_t size = static_cast<uint32_t>(std::popcount(mask));
        if (size == d) {
            table[mask] = 0;
            continue;
        }  // never read: T excludes the feature explained
        const double* pm = &poly[static_cast<size_t>(mask) * stride];
        double sum = 0;
        for (uint32_t k = 0; k <= size; ++k) sum += w[k] * pm[size - k];
        table[mask] = value * prod[(n - 1) ^ mask] * sum;
    }
}
}  // namespace

size_t TreeShapTables::bytes() const {
    return splits.size() * sizeof(Split) + leaves.size() * sizeof(Leaf) + leaf_features.size() * sizeof(int32_t) +
           leaf_weights.size() * sizeof(double) + tables.size() * sizeof(double) + leaf_values.size() * sizeof(double) +
           trees.size() * sizeof(TreeRef) + walks.size() * sizeof(LinearSplit) + products.size() * sizeof(double) +
           units.size() * sizeof(Unit);
}

size_t TreeShapTables::fast_trees() const {
    return static_cast<size_t>(std::count_if(trees.begin(), trees.end(), [](const TreeRef& r) { return r.fast; }));
}

size_t TreeShapTables::linear_trees() const {
    return static_cast<size_t>(std::count_if(trees.begin(), trees.end(), [](const TreeRef& r) { return r.linear; }));
}

size_t TreeShapTables::row_linear_trees() const {
    return static_cast<size_t>(
        std::count_if(trees.begin(), trees.end(), [](const TreeRef& r) { return r.row_linear; }));
}

namespace {
// A leaf's term of phi for its i-th path feature when H is m: (o_i - z_i) / z_i * K_l(H \ {i}),
// from the leaf's weights `w` (two per path feature) and its table `t`. Every scalar walk computes a
// term here, so that all do the same arithmetic (the wasm lanes do it two lanes at a time).
inline double term(const double* w, const double* t, uint32_t m, uint32_t i) noexcept {
    return w[2 * i + ((m >> i) & 1u)] * t[m & ~(1u << i)];
}
inline double leaf_term(const TreeShapTables& tables, const TreeShapTables::Leaf& leaf, uint32_t m,
                        uint32_t i) noexcept {
    return term(tables.leaf_weights.data() + 2 * leaf.features, tables.tables.data() + leaf.table, m, i);
}

// A tree's units (TreeShapTables::Unit): a split whose two children are leaves makes a pair, in the
// splits' order; then every other leaf alone, in the leaves' order.
void add_units(TreeShapTables& out, const TreeShapTables::TreeRef& ref, size_t nodes) {
    std::vector<int32_t> leaf_at(nodes, -1);  // slot -> index among the tree's leaves
    for (size_t l = 0; l < ref.leaf_count; ++l) leaf_at[out.leaves[ref.leaves + l].slot] = static_cast<int32_t>(l);
    std::vector<char> paired(ref.leaf_count, 0);
    for (size_t s = ref.splits; s < ref.splits + ref.split_count; ++s) {
        const TreeShapTables::Split& sp = out.splits[s];
        const int32_t a = leaf_at[sp.left], b = leaf_at[sp.right];
        if (a < 0 || b < 0) continue;
        paired[static_cast<size_t>(a)] = paired[static_cast<size_t>(b)] = 1;
        const TreeShapTables::Leaf& la = out.leaves[ref.leaves + static_cast<size_t>(a)];
        out.units.push_back(
            {la.slot, sp.right, sp.keep, la.depth, static_cast<uint32_t>(a), static_cast<uint32_t>(b), la.features});
    }
    for (size_t l = 0; l < ref.leaf_count; ++l) {
        if (paired[l]) continue;
        const TreeShapTables::Leaf& la = out.leaves[ref.leaves + l];
        out.units.push_back(
            {la.slot, la.slot, 0, la.depth, static_cast<uint32_t>(l), static_cast<uint32_t>(l), la.features});
    }
}
void choose_row_paths(const Ensemble& e, TreeShapTables& tables, size_t row_bytes);
void linear_walk(const Ensemble& e, const TreeShapTables& tables, const TreeShapTables::TreeRef& ref,
                 std::span<const float> x, TreeShapWorkspace& ws, double* phi);
}  // namespace

TreeShapTables treeshap_tables(const Ensemble& e, size_t max_entries, size_t row_bytes) {
    TreeShapTables out;
    out.base = treeshap_base(e);
    out.budget = max_entries;
    std::vector<SplitBit> bits;
    std::vector<LeafPath> paths;
    std::vector<int32_t> order;
    std::vector<double> poly, prod;
    // First which trees' tables fit, so that every array is allocated once at its final size (for
    // a 10 MB bundle, growing them as they fill cost more than filling them).
    std::vector<char> fits(e.trees.size(), 0);
    size_t entries = 0, splits = 0, leaves = 0, leaf_features = 0;
    for (size_t ti = 0; ti < e.trees.size(); ++ti) {
        const Tree& t = e.trees[ti];
        if (t.nodes.empty() || t.nodes[0].leaf()) continue;
        bits.assign(t.nodes.size(), {});
        paths.clear();
        if (!collect_paths(t, bits, paths)) continue;
        size_t tree_entries = 0, tree_features = 0;
        for (const LeafPath& lp : paths) {
            tree_entries += size_t{1} << lp.features.size();
            tree_features += lp.features.size();
        }
        if (entries + tree_entries > max_entries) {
            ++out.over_budget;
            continue;
        }
        fits[ti] = 1;
        entries += tree_entries;
        leaves += paths.size();
        splits += t.nodes.size() - paths.size();
        leaf_features += tree_features;
    }
    out.tables.reserve(entries);
    out.splits.reserve(splits);
    out.leaves.reserve(leaves);
    out.leaf_features.reserve(leaf_features);
    out.leaf_weights.reserve(2 * leaf_features);
    out.leaf_values.reserve(leaves);
    out.units.reserve(leaves);
    for (size_t ti = 0; ti < e.trees.size(); ++ti) {
        const Tree& t = e.trees[ti];
        TreeShapTables::TreeRef ref{t.output, ti};
        if (t.nodes.empty() || t.nodes[0].leaf()) continue;  // a stump adds only to the base
        if (fits[ti]) {
            bits.assign(t.nodes.size(), {});
            paths.clear();
            (void)collect_paths(t, bits, paths);
            const std::vector<uint32_t> slot = breadth_first_slots(t, order);
            ref.fast = true;
            ref.splits = out.splits.size();
            for (const int32_t id : order) {
                const TreeNode& nd = t.nodes[static_cast<size_t>(id)];
                if (nd.leaf()) continue;
                const uint32_t bit = 1u << bits[static_cast<size_t>(id)].bit;
                out.splits.push_back({nd.feature, nd.threshold, slot[static_cast<size_t>(id)],
                                      slot[static_cast<size_t>(nd.left)], slot[static_cast<size_t>(nd.right)], bit,
                                      bits[static_cast<size_t>(id)].first ? bit : 0u, nd.default_left});
            }
            ref.split_count = out.splits.size() - ref.splits;
            ref.leaves = out.leaves.size();
            for (const LeafPath& lp : paths) {
                TreeShapTables::Leaf leaf{slot[static_cast<size_t>(lp.node)], static_cast<uint32_t>(lp.features.size()),
                                          out.leaf_features.size(), out.tables.size()};
                for (const PathFeature& pf : lp.features) {
                    out.leaf_features.push_back(pf.feature);
                    out.leaf_weights.push_back(-1.0);
                    out.leaf_weights.push_back((1.0 - pf.zero_fraction) / pf.zero_fraction);
                }
                out.tables.resize(out.tables.size() + (size_t{1} << leaf.depth));
                leaf_table(lp.features, t.nodes[static_cast<size_t>(lp.node)].value, poly, prod,
                           out.tables.data() + leaf.table);
                out.leaves.push_back(leaf);
                out.leaf_values.push_back(t.nodes[static_cast<size_t>(lp.node)].value);
            }
            ref.leaf_count = out.leaves.size() - ref.leaves;
            ref.units = out.units.size();
            add_units(out, ref, t.nodes.size());
            ref.unit_count = out.units.size() - ref.units;
            out.max_slots = std::max(out.max_slots, static_cast<uint32_t>(t.nodes.size()));
        } else {
            ref.linear = linear_treeshap_applies(t);
        }
        out.trees.push_back(ref);
    }
    choose_row_paths(e, out, row_bytes);
    return out;
}

void treeshap_products(TreeShapTables& tables, size_t max_entries) {
    size_t entries = 0;
    for (const TreeShapTables::TreeRef& ref : tables.trees) {
        if (!ref.fast || ref.products) continue;
        for (size_t u = ref.units; u < ref.units + ref.unit_count; ++u) entries += tables.units[u].product_count();
    }
    if (entries > max_entries) return;
    tables.products.reserve(tables.products.size() + entries);
    for (TreeShapTables::TreeRef& ref : tables.trees) {
        if (!ref.fast || ref.products) continue;
        ref.products_at = tables.products.size();
        for (size_t u = ref.units; u < ref.units + ref.unit_count; ++u) {
            const TreeShapTables::Unit& unit = tables.units[u];
            const TreeShapTables::Leaf& a = tables.leaves[ref.leaves + unit.leaf_a];
            const TreeShapTables::Leaf& b = tables.leaves[ref.leaves + unit.leaf_b];
            // H of a pair's two leaves differ at most in `bit`: index m_a, and 2^d when b's H has the bit.
            const uint32_t d = unit.depth, all = (1u << d) - 1;
            for (uint32_t h = 0; h < (unit.bit ? 2u : 1u) << d; ++h) {
                const uint32_t ma = h & all, mb = (ma & ~unit.bit) | (h > all ? unit.bit : 0u);
                for (uint32_t i = 0; i < d; ++i)
                    tables.products.push_back(unit.bit ? leaf_term(tables, a, ma, i) + leaf_term(tables, b, mb, i)
                                                       : leaf_term(tables, a, ma, i));
            }
        }
        ref.products = true;
    }
}

//-----------------------------------------------------------------------------
// [SECTION] Which way one row takes
//-----------------------------------------------------------------------------
// Tables over row_bytes: one row explains every tree Linear TreeSHAP applies to by it (treeshap.h
// says why, and what a per-tree choice gave when measured).
namespace {
void choose_row_paths(const Ensemble& e, TreeShapTables& tables, size_t row_bytes) {
    if (tables.bytes() > row_bytes)
        for (TreeShapTables::TreeRef& ref : tables.trees)
            ref.row_linear = ref.fast && linear_treeshap_applies(e.trees[ref.tree]);
    // The trees Linear TreeSHAP explains, in its own form (sized first, then filled once).
    size_t splits = 0;
    for (const TreeShapTables::TreeRef& ref : tables.trees)
        if (ref.linear || ref.row_linear) splits += e.trees[ref.tree].nodes.size() / 2;
    tables.walks.reserve(splits);
    for (TreeShapTables::TreeRef& ref : tables.trees) {
        if (!ref.linear && !ref.row_linear) continue;
        ref.walk = tables.walks.size();
        ref.walk_depth = linear_treeshap_compile(e.trees[ref.tree], tables.walks);
        ref.walk_count = tables.walks.size() - ref.walk;
    }
}

void linear_walk(const Ensemble& e, const TreeShapTables& tables, const TreeShapTables::TreeRef& ref,
                 std::span<const float> x, TreeShapWorkspace& ws, double* phi) {
    linear_treeshap_tree(std::span<const LinearSplit>(tables.walks).subspan(ref.walk, ref.walk_count), ref.walk_depth,
                         e.num_features, x, ws.linear, phi);
}
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] Fast TreeSHAP v2: explaining one row, and a batch tree by tree
//-----------------------------------------------------------------------------
// One pass over a tree's splits carries the hot set H as a bit mask (bit = position of the
// feature among the path's unique features): the side x takes keeps the feature's bit (sets it
// when the feature is new on the path), the other side clears it. Then each leaf reads its table.
namespace {
// The pass over the splits: each node's H in mask, by the node's slot.
void walk_splits(const TreeShapTables& tables, const TreeShapTables::TreeRef& ref, std::span<const float> x,
                 uint32_t* mask) noexcept {
    mask[0] = 0;
    const TreeShapTables::Split* split = tables.splits.data() + ref.splits;
    for (size_t s = 0; s < ref.split_count; ++s) {
        const TreeShapTables::Split& nd = split[s];
        const uint32_t m = mask[nd.slot];
        const float v = x[static_cast<size_t>(nd.feature)];
        const bool left = (v < nd.threshold) | (std::isnan(v) & (nd.default_left != 0));
        const uint32_t hot = m | nd.set, cold = m & ~nd.keep;
        mask[nd.left] = left ? hot : cold;
        mask[nd.right] = left ? cold : hot;
    }
}

// Returns the value of the leaf x reaches (every bit of its path features set in H). A pair adds the
// sum of its two leaves' terms (as its products hold it).
double tree_shap_fast(const TreeShapTables& tables, const TreeShapTables::TreeRef& ref, std::span<const float> x,
                      uint32_t* mask, double* phi) noexcept {
    walk_splits(tables, ref, x, mask);
    const TreeShapTables::Leaf* leaf = tables.leaves.data() + ref.leaves;
    const TreeShapTables::Unit* unit = tables.units.data() + ref.units;
    size_t reached = 0;
    for (size_t u = 0; u < ref.unit_count; ++u) {
        const TreeShapTables::Unit& un = unit[u];
        const uint32_t ma = mask[un.slot_a], mb = mask[un.slot_b], all = (1u << un.depth) - 1;
        const int32_t* features = tables.leaf_features.data() + un.features;
        // leaf_term, with each leaf's weights and table found once.
        const double* wa = tables.leaf_weights.data() + 2 * leaf[un.leaf_a].features;
        const double* ta = tables.tables.data() + leaf[un.leaf_a].table;
        if (un.bit) {
            const double* wb = tables.leaf_weights.data() + 2 * leaf[un.leaf_b].features;
            const double* tb = tables.tables.data() + leaf[un.leaf_b].table;
            for (uint32_t i = 0; i < un.depth; ++i) phi[features[i]] += term(wa, ta, ma, i) + term(wb, tb, mb, i);
        } else {
            for (uint32_t i = 0; i < un.depth; ++i) phi[features[i]] += term(wa, ta, ma, i);
        }
        reached = ma == all ? un.leaf_a : mb == all ? un.leaf_b : reached;
    }
    return tables.leaf_values[ref.leaves + reached];
}

// A unit's products for the H of its leaves (a pair: 2^d more when b's H has the bit), from its first.
inline const double* unit_products(const double* products, const TreeShapTables::Unit& un, uint32_t ma,
                                   uint32_t mb) noexcept {
    return products + static_cast<size_t>(ma | ((mb & un.bit) ? 1u << un.depth : 0u)) * un.depth;
}

// The same walk with the units' products (TreeShapTables::products): d additions per unit.
double tree_shap_products(const TreeShapTables& tables, const TreeShapTables::TreeRef& ref, std::span<const float> x,
                          uint32_t* mask, double* phi) noexcept {
    walk_splits(tables, ref, x, mask);
    const TreeShapTables::Unit* unit = tables.units.data() + ref.units;
    const double* products = tables.products.data() + ref.products_at;  // stepped unit by unit
    size_t reached = 0;
    for (size_t u = 0; u < ref.unit_count; ++u) {
        const TreeShapTables::Unit& un = unit[u];
        const uint32_t ma = mask[un.slot_a], mb = mask[un.slot_b], all = (1u << un.depth) - 1;
        const int32_t* features = tables.leaf_features.data() + un.features;
        const double* c = unit_products(products, un, ma, mb);
        products += un.product_count();
        for (uint32_t i = 0; i < un.depth; ++i) phi[features[i]] += c[i];
        reached = ma == all ? un.leaf_a : mb == all ? un.leaf_b : reached;
    }
    return tables.leaf_values[ref.leaves + reached];
}

// kLanes rows through a tree with tables, at once: masks and phi interleaved per node and per
// feature ([row 0, row 1, ...]), each row's sums in the same order as tree_shap_products (f64x2
// lanes in wasm: an add per lane). The rows' chains of additions (the root's feature is in every
// leaf's path) overlap. `values`: the values of the leaves the rows reach.
// kProducts false: a tree without products, its units' terms computed from the tables as
// tree_shap_fast computes them (the same multiplications and additions, lane by lane).
// From kLanesFrom rows (the batch worker's warm-up scores slices of 50, so that V8 has optimized
// this walk before a file's first part: web/batch-worker.js).
constexpr size_t kLanes = 8, kLanesFrom = 4 * kLanes;
static_assert(kLanes % 4 == 0, "the masks are stepped four lanes at a time (i32x4), phi two (f64x2)");
template <bool kProducts>
void tree_shap_lanes(const TreeShapTables& tables, const TreeShapTables::TreeRef& ref, const float* const* x,
                     uint32_t* mask, double* phi, double* values) noexcept {
    for (size_t k = 0; k < kLanes; ++k) mask[k] = 0;
    const TreeShapTables::Split* split = tables.splits.data() + ref.splits;
    for (size_t s = 0; s < ref.split_count; ++s) {
        const TreeShapTables::Split& nd = split[s];
#if defined(__wasm_simd128__)
        const v128_t threshold = wasm_f32x4_splat(nd.threshold), set = wasm_i32x4_splat(static_cast<int32_t>(nd.set));
        const v128_t keep = wasm_i32x4_splat(static_cast<int32_t>(nd.keep));
        const v128_t default_left = wasm_i32x4_splat(nd.default_left ? -1 : 0);
        for (size_t k = 0; k < kLanes; k += 4) {
            const v128_t m = wasm_v128_load(mask + kLanes * nd.slot + k);
            const v128_t v =
                wasm_f32x4_make(x[k][nd.feature], x[k + 1][nd.feature], x[k + 2][nd.feature], x[k + 3][nd.feature]);
            const v128_t left =
                wasm_v128_or(wasm_f32x4_lt(v, threshold), wasm_v128_and(wasm_f32x4_ne(v, v), default_left));
            const v128_t hot = wasm_v128_or(m, set), cold = wasm_v128_andnot(m, keep);
            wasm_v128_store(mask + kLanes * nd.left + k, wasm_v128_bitselect(hot, cold, left));
            wasm_v128_store(mask + kLanes * nd.right + k, wasm_v128_bitselect(cold, hot, left));
        }
#else
        for (size_t k = 0; k < kLanes; ++k) {
            const uint32_t m = mask[kLanes * nd.slot + k];
            const float v = x[k][nd.feature];
            const bool left = (v < nd.threshold) | (std::isnan(v) & (nd.default_left != 0));
            const uint32_t hot = m | nd.set, cold = m & ~nd.keep;
            mask[kLanes * nd.left + k] = left ? hot : cold;
            mask[kLanes * nd.right + k] = left ? cold : hot;
        }
#endif
    }
    const TreeShapTables::Unit* unit = tables.units.data() + ref.units;
    const double* next_products = kProducts ? tables.products.data() + ref.products_at : nullptr;  // unit by unit
    size_t reached[kLanes] = {};
    for (size_t u = 0; u < ref.unit_count; ++u) {
        const TreeShapTables::Unit& un = unit[u];
        const uint32_t d = un.depth, all = (1u << d) - 1;
        const int32_t* features = tables.leaf_features.data() + un.features;
        uint32_t ma[kLanes], mb[kLanes];
        for (size_t k = 0; k < kLanes; ++k) {
            ma[k] = mask[kLanes * un.slot_a + k];
            mb[k] = mask[kLanes * un.slot_b + k];
            reached[k] = ma[k] == all ? un.leaf_a : mb[k] == all ? un.leaf_b : reached[k];
        }
        if constexpr (kProducts) {
            const double* c[kLanes];
            for (size_t k = 0; k < kLanes; ++k) c[k] = unit_products(next_products, un, ma[k], mb[k]);
            next_products += un.product_count();
            for (uint32_t i = 0; i < d; ++i) {
                double* p = phi + kLanes * static_cast<size_t>(features[i]);
                for (size_t k = 0; k < kLanes; k += 2) {
#if defined(__wasm_simd128__)
                    const v128_t v = wasm_v128_load64_lane(c[k + 1] + i, wasm_v128_load64_zero(c[k] + i), 1);
                    wasm_v128_store(p + k, wasm_f64x2_add(wasm_v128_load(p + k), v));
#else
                    p[k] += c[k][i];
                    p[k + 1] += c[k + 1][i];
#endif
                }
            }
        } else {
            const TreeShapTables::Leaf* leaf = tables.leaves.data() + ref.leaves;
            const double* wa = tables.leaf_weights.data() + 2 * leaf[un.leaf_a].features;
            const double* ta = tables.tables.data() + leaf[un.leaf_a].table;
            const double* wb = tables.leaf_weights.data() + 2 * leaf[un.leaf_b].features;
            const double* tb = tables.tables.data() + leaf[un.leaf_b].table;
            for (uint32_t i = 0; i < d; ++i) {
                double* p = phi + kLanes * static_cast<size_t>(features[i]);
                for (size_t k = 0; k < kLanes; k += 2) {
                    // lanes k and k + 1: each a's term (plus b's, for a pair), as tree_shap_fast computes it
#if defined(__wasm_simd128__)
                    // term's arithmetic, two lanes at a time
                    const uint32_t others = ~(1u << i);
                    const double* w0 = wa + 2 * i + ((ma[k] >> i) & 1u);
                    const double* w1 = wa + 2 * i + ((ma[k + 1] >> i) & 1u);
                    const double* t0 = ta + (ma[k] & others);
                    const double* t1 = ta + (ma[k + 1] & others);
                    v128_t v = wasm_f64x2_mul(wasm_v128_load64_lane(w1, wasm_v128_load64_zero(w0), 1),
                                              wasm_v128_load64_lane(t1, wasm_v128_load64_zero(t0), 1));
                    if (un.bit) {
                        const double* u0 = wb + 2 * i + ((mb[k] >> i) & 1u);
                        const double* u1 = wb + 2 * i + ((mb[k + 1] >> i) & 1u);
                        const v128_t vb =
                            wasm_f64x2_mul(wasm_v128_load64_lane(u1, wasm_v128_load64_zero(u0), 1),
                                           wasm_v128_load64_lane(tb + (mb[k + 1] & others),
                                                                 wasm_v128_load64_zero(tb + (mb[k] & others)), 1));
                        v = wasm_f64x2_add(v, vb);
                    }
                    wasm_v128_store(p + k, wasm_f64x2_add(wasm_v128_load(p + k), v));
#else
                    double v0 = term(wa, ta, ma[k], i), v1 = term(wa, ta, ma[k + 1], i);
                    if (un.bit) {
                        v0 = v0 + term(wb, tb, mb[k], i);
                        v1 = v1 + term(wb, tb, mb[k + 1], i);
                    }
                    p[k] += v0;
                    p[k + 1] += v1;
#endif
                }
            }
        }
    }
    for (size_t k = 0; k < kLanes; ++k) values[k] = tables.leaf_values[ref.leaves + reached[k]];
}

// The values of the stumps (trees of one leaf, which have no TreeRef) among trees [from, to), added
// to the margins of rows [first, last): called between the walked trees, so that each row's
// margin adds every tree's value in ensemble_margin's order.
void add_stumps(const Ensemble& e, size_t from, size_t to, size_t first, size_t last, double* margins) {
    if (!margins) return;
    const size_t outputs = static_cast<size_t>(e.num_outputs);
    for (size_t t = from; t < to; ++t) {
        if (e.trees[t].nodes.size() != 1) continue;  // only stumps lie between walked trees
        for (size_t r = first; r < last; ++r)
            margins[r * outputs + static_cast<size_t>(e.trees[t].output)] += e.trees[t].nodes[0].value;
    }
}

// A batch whose every tree has tables (and maybe products): rows kLanes at a time (tree_shap_lanes) over blocks of
// rows, their contributions interleaved in `lanes` until the block's last tree, then copied to
// their explanations (which start at 0, as these do: the same sums in the same order).
void batch_in_lanes(const Ensemble& e, const TreeShapTables& tables, std::span<const float> rows,
                    std::vector<Explanation>& out, double* margins) {
    const size_t width = static_cast<size_t>(e.num_features), outputs = static_cast<size_t>(e.num_outputs);
    const size_t stride = outputs * width;
    std::vector<uint32_t> mask(kLanes * static_cast<size_t>(tables.max_slots));
    std::vector<double> lanes;
    for (size_t first = 0; first < out.size(); first += kBatchBlock) {
        const size_t last = std::min(out.size(), first + kBatchBlock), groups = (last - first + kLanes - 1) / kLanes;
        lanes.assign(groups * stride * kLanes, 0.0);
        size_t next = 0;  // the next tree of the ensemble
        for (const TreeShapTables::TreeRef& ref : tables.trees) {
            add_stumps(e, next, ref.tree, first, last, margins);
            next = ref.tree + 1;
            const size_t at = static_cast<size_t>(ref.output) * width;
            for (size_t g = 0; g < groups; ++g) {
                const float* x[kLanes];
                size_t r[kLanes];
                for (size_t k = 0; k < kLanes; ++k) {
                    r[k] = std::min(first + g * kLanes + k, last - 1);  // the last row again past the end
                    x[k] = rows.data() + r[k] * width;
                }
                double values[kLanes];
                double* phi = lanes.data() + (g * stride + at) * kLanes;
                if (ref.products) tree_shap_lanes<true>(tables, ref, x, mask.data(), phi, values);
                else tree_shap_lanes<false>(tables, ref, x, mask.data(), phi, values);
                if (margins)
                    for (size_t k = 0; k < kLanes; ++k)
                        if (k == 0 || r[k] != r[k - 1])
                            margins[r[k] * outputs + static_cast<size_t>(ref.output)] += values[k];
            }
        }
        add_stumps(e, next, e.trees.size(), first, last, margins);
        for (size_t row = first; row < last; ++row) {
            const double* p = lanes.data() + ((row - first) / kLanes) * stride * kLanes + (row - first) % kLanes;
            double* c = out[row].contributions.data();
            for (size_t j = 0; j < stride; ++j) c[j] = p[kLanes * j];
        }
    }
}

void explain_tree(const Ensemble& e, const TreeShapTables& tables, const TreeShapTables::TreeRef& ref,
                  std::span<const float> x, TreeShapWorkspace& ws, double* phi) {
    if (ref.fast) {
        if (ws.masks.size() < tables.max_slots) ws.masks.resize(tables.max_slots);
        (void)tree_shap_fast(tables, ref, x, ws.masks.data(), phi);
        return;
    }
    if (ref.linear) return linear_walk(e, tables, ref, x, ws, phi);
    const size_t d = static_cast<size_t>(e.max_depth) + 2;
    ws.path.resize(d * (d + 1) / 2 + 1);
    tree_shap(e.trees[ref.tree], x, phi, 0, 0, ws.path.data(), 1.0, 1.0, -1);
}

void start_explanation(const Ensemble& e, const TreeShapTables& tables, Explanation& out) {
    out.num_outputs = e.num_outputs;
    out.num_features = e.num_features;
    out.base = tables.base;
    out.contributions.assign(static_cast<size_t>(e.num_outputs) * static_cast<size_t>(e.num_features), 0.0);
}
}  // namespace

void treeshap(const Ensemble& e, const TreeShapTables& tables, std::span<const float> x, TreeShapWorkspace& ws,
              Explanation& out) {
    start_explanation(e, tables, out);
    for (const TreeShapTables::TreeRef& ref : tables.trees) {
        double* phi = out.contributions.data() + static_cast<size_t>(ref.output) * static_cast<size_t>(e.num_features);
        if (ref.row_linear) linear_walk(e, tables, ref, x, ws, phi);
        else explain_tree(e, tables, ref, x, ws, phi);
    }
}

std::vector<Explanation> treeshap_batch(const Ensemble& e, const TreeShapTables& tables, std::span<const float> rows,
                                        TreeShapWorkspace& ws, std::vector<double>* margins) {
    const size_t width = static_cast<size_t>(e.num_features);
    if (width == 0 || rows.size() % width != 0)
        throw std::length_error("treeshap_batch: " + std::to_string(rows.size()) + " values are not rows of " +
                                std::to_string(width));
    std::vector<Explanation> out(rows.size() / width);
    for (Explanation& ex : out) start_explanation(e, tables, ex);
    // The workspace is sized once, so that a tree with tables is a call that cannot throw (in wasm
    // a call that may throw, from code that must clean up, goes through JavaScript and back).
    if (ws.masks.size() < tables.max_slots) ws.masks.resize(tables.max_slots);
    // The margins come from the walk when every tree of the ensemble is walked here or is a stump
    // (the trees in ensemble_margin's order), else from ensemble_margin.
    const size_t outputs = static_cast<size_t>(e.num_outputs);
    const size_t stumps = static_cast<size_t>(std::count_if(
        e.trees.begin(), e.trees.end(), [](const Tree& t) { return !t.nodes.empty() && t.nodes[0].leaf(); }));
    const bool walked = margins && tables.trees.size() + stumps == e.trees.size();
    if (margins) {
        margins->resize(out.size() * outputs);
        for (size_t r = 0; r < out.size(); ++r) {
            std::span<double> m(margins->data() + r * outputs, outputs);
            if (walked)
                std::copy(e.base_margin.begin(), e.base_margin.begin() + static_cast<ptrdiff_t>(outputs), m.begin());
            else ensemble_margin(e, rows.subspan(r * width, width), m);
        }
    }
    // In lanes from kLanesFrom rows (fewer would walk the last row again in most of the lanes).
    if (out.size() >= kLanesFrom && !tables.trees.empty() &&
        std::all_of(tables.trees.begin(), tables.trees.end(),
                    [](const TreeShapTables::TreeRef& r) { return r.fast; })) {
        batch_in_lanes(e, tables, rows, out, walked ? margins->data() : nullptr);
        return out;
    }
    for (size_t first = 0; first < out.size(); first += kBatchBlock) {
        const size_t last = std::min(out.size(), first + kBatchBlock);
        size_t next = 0;  // the next tree of the ensemble
        for (const TreeShapTables::TreeRef& ref : tables.trees) {
            add_stumps(e, next, ref.tree, first, last, walked ? margins->data() : nullptr);
            next = ref.tree + 1;
            const size_t at = static_cast<size_t>(ref.output) * width;
            double* margin = walked ? margins->data() + static_cast<size_t>(ref.output) : nullptr;
            if (ref.products) {
                for (size_t r = first; r < last; ++r) {
                    const double value = tree_shap_products(tables, ref, rows.subspan(r * width, width),
                                                            ws.masks.data(), out[r].contributions.data() + at);
                    if (margin) margin[r * outputs] += value;
                }
                continue;
            }
            if (ref.fast) {
                for (size_t r = first; r < last; ++r) {
                    const double value = tree_shap_fast(tables, ref, rows.subspan(r * width, width), ws.masks.data(),
                                                        out[r].contributions.data() + at);
                    if (margin) margin[r * outputs] += value;
                }
                continue;
            }
            const Tree& t = e.trees[ref.tree];
            for (size_t r = first; r < last; ++r) {
                explain_tree(e, tables, ref, rows.subspan(r * width, width), ws, out[r].contributions.data() + at);
                if (margin)
                    margin[r * outputs] +=
                        t.nodes[static_cast<size_t>(tree_leaf(t, rows.subspan(r * width, width)))].value;
            }
        }
        add_stumps(e, next, e.trees.size(), first, last, walked ? margins->data() : nullptr);
    }
    return out;
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
