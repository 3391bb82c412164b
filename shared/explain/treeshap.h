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

#include "explain/linear_treeshap.h"
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
        return contributions[static_cast<size_t>(output) * static_cast<size_t>(num_features) +
                             static_cast<size_t>(feature)];
    }
    std::span<const double> output(int k) const {
        return std::span<const double>(contributions)
            .subspan(static_cast<size_t>(k) * static_cast<size_t>(num_features), static_cast<size_t>(num_features));
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
    std::vector<uint32_t> masks;     // Fast TreeSHAP v2: H at every node of one tree
    LinearTreeShapWorkspace linear;  // Linear TreeSHAP (trees without tables)
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
// the budget are explained by Linear TreeSHAP (linear_treeshap.h, O(L d) with no tables); a
// tree with an edge of zero cover, by the reference algorithm.
//
// One row of a large model: its tables do not stay in cache from one patient to the next (a few
// cache lines per leaf, read from main memory), while Linear TreeSHAP reads only the tree. So
// when the tables are over row_bytes (kRowTableBytes by default), every tree of one row that
// Linear TreeSHAP can explain takes it (TreeRef::row_linear); a batch reads every tree's tables,
// which stay in cache for a block of rows (with a batch's own budget, kBatchTableEntries). Measured
// on the size sweep (docs/benchmarks.md, 2026-12-05): keeping for one row the tables of the trees
// that save most per byte, up to 4 MiB, 1 MiB or 256 KiB, was no faster than Linear TreeSHAP for
// every such tree.
//
// Explaining a row walks no pointers: the splits are stored parents first (breadth-first), so
// one pass over them computes every node's H from its parent's with selects instead of
// branches, then one pass over the leaves (units) reads the tables (x's way at a split decides only
// which child gets which mask, never which code runs next).
struct TreeShapTables {
    struct Split {  // an internal node
        int32_t feature = 0;
        float threshold = 0;
        uint32_t slot = 0;             // this node's place in the tree's mask array
        uint32_t left = 0, right = 0;  // the children's places
        uint32_t keep = 0;             // bit of this feature among the path's unique features
        uint32_t set = 0;              // the same bit when the feature is new on the path, else 0
        uint8_t default_left = 1;
    };
    struct Leaf {
        uint32_t slot = 0;    // place in the tree's mask array
        uint32_t depth = 0;   // d: unique features on the path
        size_t features = 0;  // offset into leaf_features (d entries) and leaf_weights (2d entries)
        size_t table = 0;     // offset into tables (2^d entries)
    };
    // The leaves as the walks visit them: two sibling leaves together (a pair: the split above them
    // has no other child), then each leaf without a leaf sibling alone. Siblings have the same path
    // features, and their H differ at most in `bit` (their parent's feature), so a pair adds to each
    // of its d features the sum of its two leaves' terms, once (a batch's products hold that sum:
    // about half the additions to phi of the leaves one by one; docs/benchmarks.md, 2026-12-06,
    // leaves in pairs).
    struct Unit {
        uint32_t slot_a = 0, slot_b = 0;  // the leaves' places in the mask array (b == a: one leaf)
        uint32_t bit = 0;                 // the parent's feature among the path features (0: one leaf)
        uint32_t depth = 0;               // d, the same for both
        uint32_t leaf_a = 0, leaf_b = 0;  // indices among the tree's leaves
        size_t features = 0;              // offset into leaf_features (d entries, the same for both)
        // Its products (treeshap_products): 2^d * d entries, a pair's 2^(d+1) * d.
        size_t product_count() const { return (size_t{bit ? 2u : 1u} << depth) * depth; }
    };
    struct TreeRef {
        int output = 0;
        size_t tree = 0;          // index into the ensemble's trees
        bool fast = false;        // explained with the tables
        bool linear = false;      // else by Linear TreeSHAP; neither: by the reference algorithm
        bool row_linear = false;  // one row takes Linear TreeSHAP (a fast tree of tables over row_bytes)
        bool products = false;    // a batch reads its units' products (treeshap_products)
        size_t products_at = 0;   // offset into products of its first unit's; each unit's follow in order
        size_t splits = 0, split_count = 0;
        size_t leaves = 0, leaf_count = 0;
        size_t units = 0, unit_count = 0;
        size_t walk = 0, walk_count = 0;  // its splits in Linear TreeSHAP's form (linear or row_linear)
        int walk_depth = 0;               // their depth, as compiled (sizes the walk)
    };
    std::vector<TreeRef> trees;
    std::vector<Split> splits;
    std::vector<Leaf> leaves;
    std::vector<int32_t> leaf_features;
    std::vector<double> leaf_weights;  // per path feature: -1 (x does not follow it), (1 - z_i) / z_i (x does)
    std::vector<double> tables;        // K_l(T), value included
    std::vector<double> leaf_values;   // per leaf: its value (the margin of the leaf x reaches)
    std::vector<Unit> units;           // per tree with tables, its leaves in pairs and alone
    std::vector<double> products;    // per unit, per H: each path feature's term (a pair's: the sum of two), d entries
    std::vector<LinearSplit> walks;  // the splits of the trees Linear TreeSHAP explains, in its form
    std::vector<double> base;
    uint32_t max_slots = 0;  // the most nodes in one tree (size of the mask array)
    size_t budget = 0;       // max_entries they were built with
    size_t over_budget = 0;  // trees whose tables were left out only because they did not fit it

    size_t bytes() const;
    size_t fast_trees() const;        // how many trees use the tables
    size_t linear_trees() const;      // how many use Linear TreeSHAP
    size_t row_linear_trees() const;  // how many fast trees one row explains by Linear TreeSHAP
};

// max_entries bounds the table doubles (8 bytes each); the default is 4 Mi entries (32 MiB).
// row_bytes: one row uses the tables only when they are within it (about what stays in cache from
// one patient to the next; else its trees take Linear TreeSHAP). 8 MiB: 300 trees of depth 6 (6 MiB
// of tables) take 0.35 ms per patient in wasm by their tables against 0.54 ms by Linear TreeSHAP;
// 1000 trees of depth 6 (25 MiB) and depth 8 (34 MiB and more) stay with Linear TreeSHAP
// (docs/benchmarks.md, 2026-12-05, the slow sizes in wasm, the table of one patient).
constexpr size_t kRowTableBytes = size_t{8} << 20;
// A batch's budget (model_prepare_batch): one tree's tables stay in cache for a block of rows
// however many trees there are, so a batch gains from every tree's tables it can hold (measured on
// the size sweep, docs/benchmarks.md, 2026-12-05); 16 Mi entries (128 MiB) bounds the memory,
// tables and products (treeshap_products) together.
constexpr size_t kBatchTableEntries = size_t{1} << 24;
TreeShapTables treeshap_tables(const Ensemble& e, size_t max_entries = size_t{1} << 22,
                               size_t row_bytes = kRowTableBytes);
// A batch's products (model_prepare_batch): for every unit of every tree with tables and every H,
// each path feature's term of phi (weight times table entry, the very product the walk computes;
// for a pair, the sum of its two leaves' terms, as the walk sums them), 2^d * d entries per leaf
// (a pair's 2^(d+1) * d: some of them never read), when they all fit max_entries (else none).
// A batch of 32 rows or more whose every tree has tables walks 8 rows at once (wasm SIMD: f64x2
// adds and i32x4 masks, lane by lane the scalar arithmetic; natively scalar lanes), reading a
// tree's products when it has them, else computing its terms from the tables (f64x2 multiplies
// too): the same numbers bit for bit
// (tests/node/batch_parts.mjs); in wasm under Node, the core's parts for 2,000 patients of 300
// trees of depth 6 took 134-148 ms of CPU time against 330-380 ms, and 10,000 patients in the page
// 0.558 times the time (docs/benchmarks.md, 2026-12-06, the batch's products; of the CPU time's
// gain under Node, products alone gave 1.15 times, products and 2, 4 or 8 rows with scalar masks
// 1.35, 1.55, 1.7 times). Trees without products in lanes, and sibling leaves in pairs: the
// section "leaves in pairs" of 2026-12-06 there. Does nothing the second time.
void treeshap_products(TreeShapTables& tables, size_t max_entries);
// Same result as treeshap(e, x, ...) for the ensemble the tables were built from.
void treeshap(const Ensemble& e, const TreeShapTables& tables, std::span<const float> x, TreeShapWorkspace& ws,
              Explanation& out);
// Many rows (row-major, e.num_features wide), tree by tree over blocks of kBatchBlock rows, so
// one tree's tables stay in cache while the whole block reads them: one explanation per row,
// bit for bit those of treeshap() row by row when no tree is row_linear, else within rounding
// (the tables where one row takes Linear TreeSHAP; 1.3x faster natively for 300 trees of depth 6).
// Throws std::length_error when rows is not a whole number of rows.
// With `margins`: also each row's margins (row-major [row][output]), bit for bit ensemble_margin's:
// the walk of a tree with tables finds the leaf x reaches (the one leaf whose H holds every path
// feature), and the trees' values (a stump's: its one leaf's) are added in ensemble_margin's order.
// 512 rows: a batch part's 500 (core_api.h, kBatchPartRows) in one block, so each tree's tables
// are read once per part; against 128 rows, 1,000 patients of 500 x 8 x 200 in wasm took 10%
// less CPU time and natively the same (docs/benchmarks.md, 2026-12-05, the batch path in wasm).
constexpr size_t kBatchBlock = 512;
std::vector<Explanation> treeshap_batch(const Ensemble& e, const TreeShapTables& tables, std::span<const float> rows,
                                        TreeShapWorkspace& ws, std::vector<double>* margins = nullptr);

//-----------------------------------------------------------------------------
// [SECTION] Per-field sums
//-----------------------------------------------------------------------------
// Sums the contributions of the feature columns that come from one input field (the one-hot
// columns of a category), so the clinician sees one figure per field. Returns one value per
// schema field for output k.
std::vector<double> contributions_by_field(const Schema& schema, const Explanation& ex, int output);

}  // namespace ldx
