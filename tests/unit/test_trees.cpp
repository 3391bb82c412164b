// tests/unit/test_trees.cpp — tree layout, walk semantics, structure checks, TreeSHAP properties.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>

#include "explain/linear_treeshap.h"
#include "explain/treeshap.h"
#include "predict/predict.h"
#include "support.h"
#include "trees/ensemble.h"

namespace ldx {
namespace {

// x0 < 1 ? (x1 < 0 ? 1 : 2) : 3, missing x0 goes right, missing x1 goes left. Covers 10 = 6 + 4.
Ensemble small() {
    Ensemble e;
    e.num_features = 2;
    e.base_margin = {0.5};
    Tree t;
    t.nodes.resize(5);
    t.nodes[0] = {1, 2, 0, 1.0f, 0, 0, 10};
    t.nodes[1] = {3, 4, 1, 0.0f, 1, 0, 6};
    t.nodes[2] = {-1, -1, 0, 0, 1, 3.0, 4};
    t.nodes[3] = {-1, -1, 0, 0, 1, 1.0, 2};
    t.nodes[4] = {-1, -1, 0, 0, 1, 2.0, 4};
    e.trees.push_back(t);
    ensemble_prepare(e);
    return e;
}

// An empty three-class softmax ensemble over `num_features` fields; the tests add the trees.
Ensemble three_class_softmax(int num_features) {
    Ensemble e;
    e.num_features = num_features;
    e.num_outputs = 3;
    e.link = Link::softmax;
    e.base_margin = {0.1, -0.2, 0.3};
    return e;
}

TEST(Trees, WalkFollowsXgboostSemantics) {
    const Ensemble e = small();
    const float nan = NAN;
    EXPECT_EQ(ensemble_margin(e, std::vector<float>{0.5f, -1})[0], 1.5);
    EXPECT_EQ(ensemble_margin(e, std::vector<float>{1.0f, -1})[0], 3.5);   // equal to threshold goes right
    EXPECT_EQ(ensemble_margin(e, std::vector<float>{nan, -1})[0], 3.5);    // default right
    EXPECT_EQ(ensemble_margin(e, std::vector<float>{0.0f, nan})[0], 1.5);  // default left
}

TEST(Trees, TreeShapMatchesTheDefinitionOnASmallTree) {
    const Ensemble e = small();
    // E[f] = (2*1 + 4*2 + 4*3)/10 = 2.2; base = 0.5 + 2.2.
    const auto ex = treeshap(e, std::vector<float>{0.5f, -1});
    EXPECT_NEAR(ex.base[0], 2.7, 1e-12);
    // Shapley values by hand: v({}) = 2.2, v({0}) = E[f | x0 left] = (2*1+4*2)/6, v({1}) = 0.6*1 + 0.4*3 = 1.8,
    // v({0,1}) = 1.
    const double v0 = 10.0 / 6, v1 = 1.8, v01 = 1.0, ve = 2.2;
    EXPECT_NEAR(ex.contribution(0, 0), 0.5 * (v0 - ve) + 0.5 * (v01 - v1), 1e-12);
    EXPECT_NEAR(ex.contribution(0, 1), 0.5 * (v1 - ve) + 0.5 * (v01 - v0), 1e-12);
}

TEST(Trees, LocalAccuracyHoldsOnRandomEnsembles) {
    std::mt19937 rng(11);
    for (int trial = 0; trial < 20; ++trial) {
        Ensemble e = three_class_softmax(6);
        for (int t = 0; t < 12; ++t) {
            Tree tree;
            tree.output = t % 3;
            // A random full tree of depth 4, features may repeat along a path.
            const int depth = 4, internal = (1 << depth) - 1;
            tree.nodes.resize((1 << (depth + 1)) - 1);
            for (int i = 0; i < static_cast<int>(tree.nodes.size()); ++i) {
                TreeNode& nd = tree.nodes[static_cast<size_t>(i)];
                if (i < internal) {
                    nd.left = 2 * i + 1;
                    nd.right = 2 * i + 2;
                    nd.feature = static_cast<int>(rng() % 6);
                    nd.threshold = std::uniform_real_distribution<float>(-1, 1)(rng);
                    nd.default_left = rng() % 2;
                } else {
                    nd.value = std::uniform_real_distribution<double>(-1, 1)(rng);
                    nd.cover = 1 + rng() % 20;
                }
            }
            for (int i = internal - 1; i >= 0; --i)
                tree.nodes[static_cast<size_t>(i)].cover =
                    tree.nodes[static_cast<size_t>(2 * i + 1)].cover + tree.nodes[static_cast<size_t>(2 * i + 2)].cover;
            e.trees.push_back(tree);
        }
        ASSERT_TRUE(ensemble_check(e).ok());
        ensemble_prepare(e);
        std::vector<float> x(6);
        for (float& v : x) v = rng() % 5 == 0 ? NAN : std::uniform_real_distribution<float>(-1.5, 1.5)(rng);
        const auto m = ensemble_margin(e, x);
        const auto ex = treeshap(e, x);
        for (int k = 0; k < 3; ++k) {
            double s = ex.base[static_cast<size_t>(k)];
            for (int j = 0; j < 6; ++j) s += ex.contribution(k, j);
            EXPECT_NEAR(s, m[static_cast<size_t>(k)], 1e-9);
        }
    }
}

// A random tree grown node by node (unbalanced, depths 1..max_depth), features repeating along
// paths, covers summing up from the leaves.
static Tree random_tree(std::mt19937& rng, int num_features, int max_depth, int output) {
    Tree tree;
    tree.output = output;
    struct Pending {
        int node, depth;
    };
    tree.nodes.emplace_back();
    std::vector<Pending> todo{{0, 0}};
    while (!todo.empty()) {
        const Pending p = todo.back();
        todo.pop_back();
        const bool split = p.depth == 0 || (p.depth < max_depth && rng() % 4 != 0);
        if (!split) {
            tree.nodes[static_cast<size_t>(p.node)].value = std::uniform_real_distribution<double>(-1, 1)(rng);
            tree.nodes[static_cast<size_t>(p.node)].cover = 1 + rng() % 50;
            continue;
        }
        const int l = static_cast<int>(tree.nodes.size()), r = l + 1;
        tree.nodes.resize(tree.nodes.size() + 2);
        TreeNode& nd = tree.nodes[static_cast<size_t>(p.node)];
        nd.left = l;
        nd.right = r;
        nd.feature = static_cast<int>(rng() % static_cast<unsigned>(num_features));
        nd.threshold = std::uniform_real_distribution<float>(-1, 1)(rng);
        nd.default_left = rng() % 2;
        todo.push_back({l, p.depth + 1});
        todo.push_back({r, p.depth + 1});
    }
    for (int i = static_cast<int>(tree.nodes.size()) - 1; i >= 0; --i) {  // children come after parents
        TreeNode& nd = tree.nodes[static_cast<size_t>(i)];
        if (!nd.leaf())
            nd.cover = tree.nodes[static_cast<size_t>(nd.left)].cover + tree.nodes[static_cast<size_t>(nd.right)].cover;
    }
    return tree;
}

static double max_difference(const Explanation& a, const Explanation& b) {
    double m = 0;
    for (size_t i = 0; i < a.contributions.size(); ++i)
        m = std::max(m, std::abs(a.contributions[i] - b.contributions[i]));
    for (size_t i = 0; i < a.base.size(); ++i) m = std::max(m, std::abs(a.base[i] - b.base[i]));
    return m;
}

TEST(Trees, FastTreeShapEqualsTheReferenceAlgorithm) {
    std::mt19937 rng(23);
    for (int trial = 0; trial < 40; ++trial) {
        Ensemble e;
        e.num_features = 3 + trial % 8;  // few features: many repeats along paths
        e.num_outputs = trial % 2 ? 3 : 1;
        e.link = e.num_outputs == 1 ? Link::logistic : Link::softmax;
        e.base_margin.assign(static_cast<size_t>(e.num_outputs), 0.25);
        for (int t = 0; t < 15; ++t)
            e.trees.push_back(random_tree(rng, e.num_features, 1 + trial % 9, t % e.num_outputs));
        ASSERT_TRUE(ensemble_check(e).ok());
        ensemble_prepare(e);
        const TreeShapTables tables = treeshap_tables(e);
        EXPECT_EQ(tables.fast_trees(), e.trees.size());
        TreeShapWorkspace ws;
        Explanation fast;
        for (int row = 0; row < 30; ++row) {
            std::vector<float> x(static_cast<size_t>(e.num_features));
            for (float& v : x) v = rng() % 5 == 0 ? NAN : std::uniform_real_distribution<float>(-1.5, 1.5)(rng);
            treeshap(e, tables, x, ws, fast);
            const Explanation reference = treeshap(e, x);
            ASSERT_LE(max_difference(fast, reference), 1e-12) << "trial " << trial << " row " << row;
        }
    }
}

// Linear TreeSHAP (the trees whose v2 tables do not fit) against the reference algorithm on
// random ensembles up to depth 12, with few features (many repeats along paths), missing values,
// and covers from 1 to 50 per leaf.
TEST(Trees, LinearTreeShapEqualsTheReferenceAlgorithmOnDeepTrees) {
    std::mt19937 rng(29);
    double worst = 0;
    for (int trial = 0; trial < 48; ++trial) {
        Ensemble e;
        e.num_features = 2 + trial % 9;
        e.num_outputs = trial % 3 == 0 ? 3 : 1;
        e.link = e.num_outputs == 1 ? Link::logistic : Link::softmax;
        e.base_margin.assign(static_cast<size_t>(e.num_outputs), -0.5);
        // Depths 1 to 12, then 14 to 20: rules of 8 to 11 nodes (the walk's loops sized when run).
        const int depth = trial < 44 ? 1 + trial % 12 : 14 + 2 * (trial - 44);
        for (int t = 0; t < 12; ++t) e.trees.push_back(random_tree(rng, e.num_features, depth, t % e.num_outputs));
        ASSERT_TRUE(ensemble_check(e).ok());
        ensemble_prepare(e);
        const TreeShapTables tables = treeshap_tables(e, 0);  // no table fits: every tree goes linear
        size_t splits = 0;
        for (const Tree& t : e.trees) splits += !t.nodes[0].leaf();
        ASSERT_EQ(tables.linear_trees(), splits);
        TreeShapWorkspace ws;
        Explanation linear;
        for (int row = 0; row < 25; ++row) {
            std::vector<float> x(static_cast<size_t>(e.num_features));
            for (float& v : x) v = rng() % 5 == 0 ? NAN : std::uniform_real_distribution<float>(-1.5, 1.5)(rng);
            treeshap(e, tables, x, ws, linear);
            const Explanation reference = treeshap(e, x);
            const double diff = max_difference(linear, reference);
            worst = std::max(worst, diff);
            ASSERT_LE(diff, 1e-12) << "trial " << trial << " (depth " << e.max_depth << ") row " << row;
        }
    }
    std::printf("Linear TreeSHAP vs reference, depths 1-20: max |delta| %.2e\n", worst);
}

// The walk's workspace and quadrature rule are sized from the form it walks (the depth
// linear_treeshap_compile returns), not from Tree::depth: a tree grown after ensemble_prepare (its
// depth field left at 1 while it is 10 deep) is still explained exactly, without writing past the
// workspace. Sized from the field (depth + 2 = 3 levels), one quadrature node integrated degree-9 weights
// (and the walk wrote through level 10, eight levels past the three it had).
TEST(Trees, LinearTreeShapSizesItsWalkFromTheCompiledTree) {
    std::mt19937 rng(41);
    Ensemble e;
    e.num_features = 6;
    e.base_margin = {0.0};
    do {  // a tree that reaches depth 10
        e.trees.assign(1, random_tree(rng, e.num_features, 10, 0));
        ensemble_prepare(e);
    } while (e.trees[0].depth != 10);
    ASSERT_TRUE(ensemble_check(e).ok());
    std::vector<LinearSplit> compiled;
    EXPECT_EQ(linear_treeshap_compile(e.trees[0], compiled), 10);
    Tree stale = e.trees[0];
    stale.depth = 1;
    LinearTreeShapWorkspace ws;
    for (int row = 0; row < 20; ++row) {
        std::vector<float> x(6);
        for (float& v : x) v = rng() % 5 == 0 ? NAN : std::uniform_real_distribution<float>(-1.5, 1.5)(rng);
        std::vector<double> phi(6, 0.0);
        linear_treeshap_tree(stale, e.num_features, x, ws, phi.data());
        const Explanation reference = treeshap(e, x);
        for (size_t i = 0; i < phi.size(); ++i) ASSERT_NEAR(phi[i], reference.contributions[i], 1e-12) << "row " << row;
    }
    // Levels 0 to 10 visited, each with three vectors of 5 nodes (3 pairs).
    EXPECT_GE(ws.values.size(), size_t{3 * 2 * 3 * 11});
}

// trees.bin: every link round-trips node for node and explains the same; every truncation, a
// byte changed in the header, a node written in another form and trailing bytes are refused.
TEST(Trees, BinaryTreesRoundTripAndRefuseDamage) {
    std::mt19937 rng(31);
    for (const Link link : {Link::logistic, Link::softmax, Link::identity}) {
        Ensemble e;
        e.num_features = 5;
        e.num_outputs = link == Link::softmax ? 3 : 1;
        e.link = link;
        e.base_margin.assign(static_cast<size_t>(e.num_outputs), link == Link::identity ? 152.5 : -0.25);
        e.covers = "reference:100";
        for (int t = 0; t < 9; ++t) e.trees.push_back(random_tree(rng, e.num_features, 2 + t % 6, t % e.num_outputs));
        ensemble_prepare(e);
        const std::string bin = ensemble_to_binary(e);
        auto back = ensemble_from_binary(bin);
        ASSERT_TRUE(back) << back.error().describe();
        EXPECT_EQ(ensemble_to_binary(*back), bin);
        EXPECT_EQ(json_dump(ensemble_to_json(*back)), json_dump(ensemble_to_json(e)));
        const std::vector<float> x{0.3f, NAN, -0.7f, 1.2f, 0.0f};
        EXPECT_EQ(treeshap(*back, x).contributions, treeshap(e, x).contributions);
        for (size_t cut = 0; cut < bin.size(); ++cut) {
            auto r = ensemble_from_binary(std::string_view(bin).substr(0, cut));
            ASSERT_FALSE(r) << "cut at " << cut;
            EXPECT_EQ(r.error().code, "bad_tree");
        }
        EXPECT_FALSE(ensemble_from_binary(bin + "x"));
        std::string version = bin;
        version[4] = 2;
        EXPECT_NE(ensemble_from_binary(version).error().message.find("version 2"), std::string::npos);
        std::string huge = bin;
        huge[11] = '\x7f';  // num_features (little-endian) far beyond the limit
        EXPECT_FALSE(ensemble_from_binary(huge));
    }
    // A tree count the bytes cannot hold (each tree takes 41 bytes at least) is refused before it
    // sizes the list of trees: 2 trees in 82 bytes may fit; 3 cannot.
    {
        const Ensemble one = small();
        std::string bin = ensemble_to_binary(one);
        const size_t count_at = 4 + 4 * 3 + 4 + 4 + one.covers.size() + 8 * static_cast<size_t>(one.num_outputs);
        ASSERT_EQ(static_cast<unsigned char>(bin[count_at]), one.trees.size());
        bin.resize(count_at + 4 + 82);
        bin[count_at] = 2;
        EXPECT_EQ(ensemble_from_binary(bin).error().message.find("tree count"), std::string::npos);
        bin[count_at] = 3;
        EXPECT_NE(ensemble_from_binary(bin).error().message.find("the tree count does not fit the file"),
                  std::string::npos);
    }
    // A leaf given a threshold: the one form is required, so signed bytes read back as written.
    const Ensemble e = small();
    std::string bin = ensemble_to_binary(e);
    auto back = ensemble_from_binary(bin);
    ASSERT_TRUE(back);
    const Tree& t0 = back->trees[0];
    size_t leaf = 0;
    while (!t0.nodes[leaf].leaf()) ++leaf;
    // The first tree's thresholds start after its header, 3 arrays of int32 in.
    const size_t header = 4 + 4 * 3 + 4 + 4 + back->covers.size() + 8 * static_cast<size_t>(back->num_outputs) + 4;
    const size_t thresholds = header + 8 + 3 * 4 * t0.nodes.size();
    bin[thresholds + 4 * leaf] = 1;
    auto refused = ensemble_from_binary(bin);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("one form"), std::string::npos) << refused.error().message;
}

// The same tree with its nodes renumbered at random (the root stays node 0): imported models need
// not number parents before children.
static Tree shuffled_ids(const Tree& t, std::mt19937& rng) {
    std::vector<int32_t> id(t.nodes.size());
    for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<int32_t>(i);
    std::shuffle(id.begin() + 1, id.end(), rng);
    Tree out = t;
    for (size_t i = 0; i < t.nodes.size(); ++i) {
        TreeNode nd = t.nodes[i];
        if (!nd.leaf()) {
            nd.left = id[static_cast<size_t>(nd.left)];
            nd.right = id[static_cast<size_t>(nd.right)];
        }
        out.nodes[static_cast<size_t>(id[i])] = nd;
    }
    return out;
}

TEST(Trees, BatchTreeShapEqualsRowByRowExactly) {
    std::mt19937 rng(41);
    Ensemble e = three_class_softmax(7);
    for (int t = 0; t < 24; ++t) {
        Tree tree = random_tree(rng, e.num_features, 2 + t % 7, t % 3);
        e.trees.push_back(t % 2 ? shuffled_ids(tree, rng) : tree);
    }
    ASSERT_TRUE(ensemble_check(e).ok());
    ensemble_prepare(e);
    for (const size_t budget :
         {size_t{1} << 22, size_t{300}}) {  // all trees with tables; some by the reference algorithm
        const TreeShapTables tables = treeshap_tables(e, budget);
        ASSERT_GT(tables.fast_trees(), 0u);
        // Every leaf of a tree with tables is in one unit; a pair's two leaves are the children of
        // one split (its feature's bit), with the same path features.
        size_t pairs = 0;
        for (const TreeShapTables::TreeRef& ref : tables.trees) {
            if (!ref.fast) continue;
            std::vector<int> seen(ref.leaf_count, 0);
            for (size_t u = ref.units; u < ref.units + ref.unit_count; ++u) {
                const TreeShapTables::Unit& un = tables.units[u];
                const TreeShapTables::Leaf& a = tables.leaves[ref.leaves + un.leaf_a];
                const TreeShapTables::Leaf& b = tables.leaves[ref.leaves + un.leaf_b];
                ASSERT_EQ(a.slot, un.slot_a);
                ASSERT_EQ(b.slot, un.slot_b);
                ASSERT_EQ(a.depth, un.depth);
                ASSERT_EQ(b.depth, un.depth);
                ++seen[un.leaf_a];
                if (!un.bit) {
                    ASSERT_EQ(un.leaf_a, un.leaf_b);
                    continue;
                }
                ++pairs;
                ++seen[un.leaf_b];
                const auto split =
                    std::find_if(tables.splits.begin() + static_cast<ptrdiff_t>(ref.splits),
                                 tables.splits.begin() + static_cast<ptrdiff_t>(ref.splits + ref.split_count),
                                 [&](const TreeShapTables::Split& sp) { return sp.left == a.slot; });
                ASSERT_NE(split, tables.splits.begin() + static_cast<ptrdiff_t>(ref.splits + ref.split_count));
                ASSERT_EQ(split->right, b.slot);
                ASSERT_EQ(split->keep, un.bit);
                for (uint32_t i = 0; i < un.depth; ++i)
                    ASSERT_EQ(tables.leaf_features[a.features + i], tables.leaf_features[b.features + i]);
            }
            for (size_t l = 0; l < ref.leaf_count; ++l) ASSERT_EQ(seen[l], 1) << "tree " << ref.tree << ", leaf " << l;
        }
        EXPECT_GT(pairs, 0u);
        const size_t n = 2 * kBatchBlock + 37;  // blocks, and a partial one
        std::vector<float> rows(n * 7);
        for (float& v : rows) v = rng() % 5 == 0 ? NAN : std::uniform_real_distribution<float>(-1.5, 1.5)(rng);
        TreeShapWorkspace ws;
        const std::vector<Explanation> batch = treeshap_batch(e, tables, rows, ws);
        ASSERT_EQ(batch.size(), n);
        for (size_t r = 0; r < n; ++r) {
            const std::span<const float> x(rows.data() + r * 7, 7);
            Explanation one;
            treeshap(e, tables, x, ws, one);
            ASSERT_EQ(batch[r].contributions, one.contributions)
                << "row " << r;  // bit for bit: the same sums in the same order
            ASSERT_EQ(batch[r].base, one.base);
            ASSERT_LE(max_difference(one, treeshap(e, x)), 1e-12) << "row " << r;
        }
        // With margins: the same explanations, and ensemble_margin's margins bit for bit (from the
        // walk; with a stump among the trees, from ensemble_margin).
        Ensemble with_stump = e;
        Tree stump;
        stump.output = 1;
        stump.nodes.push_back(TreeNode{.value = 0.3125, .cover = 10});
        with_stump.trees.insert(with_stump.trees.begin() + 5, stump);
        ensemble_prepare(with_stump);
        for (const Ensemble* x : {&e, &with_stump}) {
            const TreeShapTables t = x == &e ? tables : treeshap_tables(*x, budget);
            std::vector<double> margins;
            const std::vector<Explanation> walked = treeshap_batch(*x, t, rows, ws, &margins);
            ASSERT_EQ(margins.size(), n * 3);
            for (size_t r = 0; r < n; ++r) {
                const std::span<const float> row(rows.data() + r * 7, 7);
                ASSERT_EQ(std::vector<double>(margins.begin() + r * 3, margins.begin() + r * 3 + 3),
                          ensemble_margin(*x, row))
                    << "row " << r;
                if (x == &e) ASSERT_EQ(walked[r].contributions, batch[r].contributions) << "row " << r;
            }
        }
        // With products (all budget: every tree with tables has them; some trees by the reference
        // algorithm with the small one): rows in lanes when every tree has them, the same
        // explanations and margins bit for bit, with and without a stump.
        for (const Ensemble* x : {&e, &with_stump}) {
            TreeShapTables t = treeshap_tables(*x, budget);
            TreeShapTables none = t;
            treeshap_products(none, 10);  // too few entries: none at all
            EXPECT_TRUE(none.products.empty());
            treeshap_products(t, SIZE_MAX);
            ASSERT_FALSE(t.products.empty());
            // Every tree with tables has its products; with the full budget that is every tree
            // (the rows go in lanes), with the small one not (tree by tree).
            for (const TreeShapTables::TreeRef& ref : t.trees) ASSERT_EQ(ref.products, ref.fast) << "tree " << ref.tree;
            const bool lanes = std::all_of(t.trees.begin(), t.trees.end(), [](const auto& r) { return r.products; });
            ASSERT_EQ(lanes, budget == size_t{1} << 22);
            std::vector<double> margins;
            const std::vector<Explanation> laned = treeshap_batch(*x, t, rows, ws, &margins);
            ASSERT_EQ(laned.size(), n);
            for (size_t r = 0; r < n; ++r) {
                const std::span<const float> row(rows.data() + r * 7, 7);
                ASSERT_EQ(std::vector<double>(margins.begin() + r * 3, margins.begin() + r * 3 + 3),
                          ensemble_margin(*x, row))
                    << "row " << r;
                ASSERT_EQ(laned[r].contributions, batch[r].contributions) << "row " << r;  // a stump adds none
            }
        }
        TreeShapWorkspace ws2;
        EXPECT_THROW(treeshap_batch(e, tables, std::span<const float>(rows).first(rows.size() - 3), ws2),
                     std::length_error);
    }
}

// Tables over the row budget: one row explains every tree by Linear TreeSHAP, a batch by the
// tables; with a budget that holds them, one row takes the tables too. Every way equals the
// reference algorithm, and each is the path it names, bit for bit.
TEST(Trees, OneRowOfALargeModelTakesLinearTreeShapTreeByTree) {
    std::mt19937 rng(43);
    Ensemble e;
    e.num_features = 40;
    e.base_margin = {0.25};
    for (int t = 0; t < 60; ++t) e.trees.push_back(random_tree(rng, e.num_features, 10, 0));
    ASSERT_TRUE(ensemble_check(e).ok());
    ensemble_prepare(e);
    const TreeShapTables tables = treeshap_tables(e);
    ASSERT_GT(tables.bytes(), kRowTableBytes);
    ASSERT_GT(tables.fast_trees(), 0u);
    EXPECT_EQ(tables.row_linear_trees(), tables.fast_trees());  // every tree with tables, for one row
    const TreeShapTables table_rows = treeshap_tables(e, size_t{1} << 22, SIZE_MAX);
    EXPECT_EQ(table_rows.row_linear_trees(), 0u);
    EXPECT_EQ(table_rows.fast_trees(), tables.fast_trees());

    const size_t n = kBatchBlock + 9;
    std::vector<float> rows(n * 40);
    for (float& v : rows) v = rng() % 5 == 0 ? NAN : std::uniform_real_distribution<float>(-1.5, 1.5)(rng);
    TreeShapWorkspace ws;
    const std::vector<Explanation> batch = treeshap_batch(e, tables, rows, ws);
    size_t differs = 0;
    for (size_t r = 0; r < n; r += 7) {
        const std::span<const float> x(rows.data() + r * 40, 40);
        Explanation one, by_tables;
        treeshap(e, tables, x, ws, one);
        treeshap(e, table_rows, x, ws, by_tables);
        const Explanation reference = treeshap(e, x);
        ASSERT_LE(max_difference(one, reference), 1e-12) << "row " << r;
        ASSERT_LE(max_difference(by_tables, reference), 1e-12) << "row " << r;
        ASSERT_LE(max_difference(batch[r], one), 1e-12) << "row " << r;
        // The path taken for the one row: Linear TreeSHAP over every tree in the tables' order, bit
        // for bit; with the tables within the budget, the batch's path, bit for bit.
        std::vector<double> linear(one.contributions.size(), 0.0);
        LinearTreeShapWorkspace lw;
        for (const TreeShapTables::TreeRef& ref : tables.trees)
            linear_treeshap_tree(e.trees[ref.tree], e.num_features, x, lw,
                                 linear.data() + static_cast<size_t>(ref.output) * 40);
        ASSERT_EQ(one.contributions, linear) << "row " << r;
        ASSERT_EQ(by_tables.contributions, batch[r].contributions) << "row " << r;
        differs += batch[r].contributions != linear;
    }
    EXPECT_GT(differs, 0u);  // and the batch took the tables: its rounding shows somewhere
}

TEST(Trees, FastTreeShapFallsBackForTreesWithoutTables) {
    std::mt19937 rng(5);
    Ensemble e;
    e.num_features = 8;
    e.base_margin = {0};
    for (int t = 0; t < 10; ++t) e.trees.push_back(random_tree(rng, 8, 6, 0));
    // A zero-cover edge (an imported model with an empty branch): K_l would divide by zero.
    Tree& z = e.trees[3];
    for (TreeNode& nd : z.nodes)
        if (!nd.leaf() && z.nodes[static_cast<size_t>(nd.left)].leaf()) {
            z.nodes[static_cast<size_t>(nd.left)].cover = 0;
            break;
        }
    for (int i = static_cast<int>(z.nodes.size()) - 1; i >= 0; --i) {
        TreeNode& nd = z.nodes[static_cast<size_t>(i)];
        if (!nd.leaf())
            nd.cover = z.nodes[static_cast<size_t>(nd.left)].cover + z.nodes[static_cast<size_t>(nd.right)].cover;
    }
    ASSERT_TRUE(ensemble_check(e).ok());
    ensemble_prepare(e);
    const TreeShapTables all = treeshap_tables(e);
    EXPECT_EQ(all.fast_trees(), e.trees.size() - 1);       // only the zero-cover tree falls back
    const TreeShapTables tight = treeshap_tables(e, 200);  // a budget that holds only a few trees
    EXPECT_GT(tight.fast_trees(), 0u);
    EXPECT_LT(tight.fast_trees(), all.fast_trees());
    EXPECT_LE(tight.tables.size(), 200u);
    EXPECT_EQ(all.over_budget, 0u);  // what a larger budget would add (model_prepare_batch reads it)
    EXPECT_EQ(tight.over_budget, all.fast_trees() - tight.fast_trees());
    TreeShapWorkspace ws;
    Explanation a, b;
    for (int row = 0; row < 50; ++row) {
        std::vector<float> x(8);
        for (float& v : x) v = rng() % 6 == 0 ? NAN : std::uniform_real_distribution<float>(-1.5, 1.5)(rng);
        const Explanation reference = treeshap(e, x);
        treeshap(e, all, x, ws, a);
        treeshap(e, tight, x, ws, b);
        ASSERT_LE(max_difference(a, reference), 1e-12);
        ASSERT_LE(max_difference(b, reference), 1e-12);
    }
}

// A batch's budget: the tables rebuilt once with every tree the default budget left out, and one
// row explained as before (a model whose tables are that large sends its trees to Linear TreeSHAP).
TEST(Trees, ABatchRebuildsTheTablesWithItsOwnBudgetOnce) {
    std::mt19937 rng(17);
    Model m;
    m.ensemble = three_class_softmax(9);
    for (int t = 0; t < 40; ++t) m.ensemble->trees.push_back(random_tree(rng, 9, 7 + t % 3, t % 3));
    ASSERT_TRUE(ensemble_check(*m.ensemble).ok());
    ensemble_prepare(*m.ensemble);
    m.shap_tables = treeshap_tables(*m.ensemble, 3000);  // a default budget that leaves trees out
    ASSERT_GT(m.shap_tables.over_budget, 0u);
    const size_t before = m.shap_tables.fast_trees();
    model_prepare_batch(m);
    EXPECT_EQ(m.shap_tables.budget, kBatchTableEntries);
    EXPECT_EQ(m.shap_tables.over_budget, 0u);
    EXPECT_EQ(m.shap_tables.fast_trees(), before + treeshap_tables(*m.ensemble, 3000).over_budget);
    const size_t entries = m.shap_tables.tables.size();
    model_prepare_batch(m);  // the second time: nothing rebuilt
    EXPECT_EQ(m.shap_tables.tables.size(), entries);
    std::vector<float> rows(70 * 9);
    for (float& v : rows) v = rng() % 5 == 0 ? NAN : std::uniform_real_distribution<float>(-1.5, 1.5)(rng);
    TreeShapWorkspace ws;
    const std::vector<Explanation> batch = treeshap_batch(*m.ensemble, m.shap_tables, rows, ws);
    Explanation one;
    for (size_t r = 0; r < 70; ++r) {
        const std::span<const float> x = std::span<const float>(rows).subspan(r * 9, 9);
        const Explanation reference = treeshap(*m.ensemble, x);
        treeshap(*m.ensemble, m.shap_tables, x, ws, one);
        ASSERT_LE(max_difference(batch[r], reference), 1e-12) << "row " << r;
        ASSERT_LE(max_difference(one, reference), 1e-12) << "row " << r;
    }
}

TEST(Trees, StructureChecksRejectBadTrees) {
    auto reason = [](const std::function<void(Ensemble&)>& edit) {
        Ensemble e = small();
        edit(e);
        auto r = ensemble_check(e);
        return r.ok() ? std::string("ok") : r.error().message;
    };
    EXPECT_EQ(reason([](Ensemble&) {}), "ok");
    EXPECT_NE(reason([](Ensemble& e) { e.trees[0].nodes[1].left = 9; }).find("child out of range"), std::string::npos);
    EXPECT_NE(reason([](Ensemble& e) { e.trees[0].nodes[1].left = 2; }).find("reached twice"), std::string::npos);
    EXPECT_NE(reason([](Ensemble& e) { e.trees[0].nodes[1].left = 0; }).find("child out of range"), std::string::npos);
    EXPECT_NE(reason([](Ensemble& e) { e.trees[0].nodes[0].feature = 7; }).find("beyond the model's 2"),
              std::string::npos);
    EXPECT_NE(reason([](Ensemble& e) { e.trees[0].nodes[2].value = NAN; }).find("non-finite"), std::string::npos);
    EXPECT_NE(reason([](Ensemble& e) { e.trees[0].nodes[2].cover = -1; }).find("bad cover"), std::string::npos);
    EXPECT_NE(reason([](Ensemble& e) { e.trees[0].output = 1; }).find("output"), std::string::npos);
    EXPECT_NE(reason([](Ensemble& e) { e.trees.clear(); }).find("no trees"), std::string::npos);
    EXPECT_NE(reason([](Ensemble& e) { e.trees[0].nodes.push_back({}); }).find("not reachable"), std::string::npos);
}

TEST(Trees, BundleJsonRoundTripKeepsPredictions) {
    const Ensemble e = small();
    auto back = ensemble_from_json(ensemble_to_json(e));
    ASSERT_TRUE(back.ok()) << back.error().describe();
    EXPECT_EQ(json_canonical(ensemble_to_json(*back)), json_canonical(ensemble_to_json(e)));
    Json broken = ensemble_to_json(e);
    broken["trees"][0]["left"][1] = 4;
    EXPECT_EQ(ensemble_from_json(broken).error().code, "bad_tree");
    broken = ensemble_to_json(e);
    broken["trees"][0]["value"].erase(0);
    EXPECT_NE(ensemble_from_json(broken).error().message.find("differ in length"), std::string::npos);
}

TEST(Trees, WrongTypesAnywhereAreProblemsNotExceptions) {
    // Found by fuzz_members: a number where text was expected used to throw out of the parser.
    const char* crash =
        R"({"base_margij":[0.1],"covers":"training","format":2,"num_outputs":1,"trees":[{"cover":[1,-1,3,-1,-1],"output":0,"right":[2,-1,4,-1,-1],"threshold":[0.0]}]})";
    EXPECT_EQ(ensemble_from_json(Json::parse(crash)).error().code, "bad_tree");
    Json big = ensemble_to_json(small());
    big["num_features"] = 1e300;
    EXPECT_EQ(ensemble_from_json(big).error().code, "bad_tree");
    big = ensemble_to_json(small());
    big["trees"][0]["left"][0] = 1.5;
    EXPECT_EQ(ensemble_from_json(big).error().code, "bad_tree");
    EXPECT_EQ(
        ensemble_from_xgboost_json(
            R"({"learner": {"objective": 5, "gradient_booster": [], "learner_model_param": {"base_score": "0.5", "num_class": "0", "num_feature": "2"}}})")
            .error()
            .code,
        "bad_model");
    EXPECT_EQ(
        ensemble_from_xgboost_json(
            R"({"learner": {"learner_model_param": {"base_score": "0.5", "num_class": "0", "num_feature": "1e300"}}})")
            .error()
            .code,
        "bad_model");
}

TEST(Trees, XgboostImportRejectsWhatItCannotRepresent) {
    EXPECT_EQ(ensemble_from_xgboost_json("{}").error().code, "bad_model");
    EXPECT_EQ(ensemble_from_xgboost_json("[1,2").error().code, "json_syntax");
    const char* linear =
        R"({"learner": {"learner_model_param": {"base_score": "5E-1", "num_class": "0", "num_feature": "2"},
        "objective": {"name": "binary:logistic"}, "gradient_booster": {"name": "gblinear"}}})";
    EXPECT_NE(ensemble_from_xgboost_json(linear).error().message.find("gbtree"), std::string::npos);
    const char* reg =
        R"({"learner": {"learner_model_param": {"base_score": "5E-1", "num_class": "0", "num_feature": "2"},
        "objective": {"name": "reg:tweedie"}, "gradient_booster": {"name": "gbtree", "model": {"trees": []}}}})";
    EXPECT_NE(ensemble_from_xgboost_json(reg).error().message.find("not supported"), std::string::npos);
}

TEST(Trees, ReferenceCoversCountRowsAndKeepLocalAccuracy) {
    Ensemble e = small();
    const std::vector<float> rows = {0.5f, -1, 0.5f, 1, 2, 0, 2, 0, 2, 0};  // 5 rows x 2
    ensemble_recount_covers(e, rows);
    EXPECT_EQ(e.covers, "reference:5");
    EXPECT_DOUBLE_EQ(e.trees[0].nodes[3].cover, 1.5);
    EXPECT_DOUBLE_EQ(e.trees[0].nodes[2].cover, 3.5);
    EXPECT_DOUBLE_EQ(e.trees[0].nodes[0].cover, 6.5);
    const std::vector<float> x = {0.5f, 1};
    const auto ex = treeshap(e, x);
    EXPECT_NEAR(ex.base[0] + ex.contribution(0, 0) + ex.contribution(0, 1), ensemble_margin(e, x)[0], 1e-12);
}

}  // namespace
}  // namespace ldx
