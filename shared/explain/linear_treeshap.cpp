// shared/explain/linear_treeshap.cpp — see linear_treeshap.h.
//
// Index of this file
//   [SECTION] Gauss-Legendre nodes on [0, 1], two at a time
//   [SECTION] The walk
//   [SECTION] Entry point
#include "explain/linear_treeshap.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

namespace ldx {

namespace {
//-----------------------------------------------------------------------------
// [SECTION] Gauss-Legendre nodes on [0, 1], two at a time
//-----------------------------------------------------------------------------
constexpr int kMaxNodes = 34;  // depth 64 (ensemble_check's limit) needs 32
constexpr int kMaxPairs = kMaxNodes / 2;

// Two quadrature nodes at a time, in GCC's and Clang's vector extension: SSE2 natively, wasm
// SIMD's f64x2 with -msimd128 (scalar pairs without it). Every lane is plain IEEE arithmetic in
// a fixed order (no fused operations, sums of the two lanes taken last), so every target gives
// the same bits. The walk's values live in the workspace's doubles, read and written through
// StoredPair (8-byte aligned).
typedef double Pair __attribute__((vector_size(16)));
typedef double StoredPair __attribute__((vector_size(16), aligned(8), may_alias));

// An odd rule is padded with a node of weight 0 (at t = 1/2, where every factor stays finite).
struct Quadrature {
    std::array<Pair, kMaxPairs> t{}, one_minus_t{};  // nodes in (0, 1)
    std::array<Pair, kMaxPairs> w{};                 // weights summing to 1
    std::array<Pair, kMaxPairs> w_cold{};            // w / (1 - t): for an edge x does not follow
};

// The n-point rule: the roots of the Legendre polynomial P_n by Newton's method from the usual
// first guesses, weights 2 / ((1 - x^2) P_n'(x)^2), both mapped from [-1, 1] to [0, 1].
Quadrature make_rule(int n) {
    std::array<double, 2 * kMaxPairs> t{}, w{};
    t.fill(0.5);
    for (int i = 0; i < n; ++i) {
        double x = std::cos(M_PI * (i + 0.75) / (n + 0.5)), dp = 1;
        for (int iter = 0; iter < 100; ++iter) {
            double p0 = 1, p1 = x;
            for (int k = 2; k <= n; ++k) {
                const double p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
                p0 = p1;
                p1 = p2;
            }
            // p1 = P_n(x), p0 = P_{n-1}(x)
            dp = n * (x * p1 - p0) / (x * x - 1);
            const double step = p1 / dp;
            x -= step;
            if (std::abs(step) < 1e-16) break;
        }
        t[static_cast<size_t>(i)] = (x + 1) / 2;
        w[static_cast<size_t>(i)] = 1 / ((1 - x * x) * dp * dp);  // 2 / (...) halved for [0, 1]
    }
    Quadrature q;
    for (size_t k = 0; k < kMaxPairs; ++k) {
        q.t[k] = Pair{t[2 * k], t[2 * k + 1]};
        q.one_minus_t[k] = 1 - q.t[k];
        q.w[k] = Pair{w[2 * k], w[2 * k + 1]};
        q.w_cold[k] = q.w[k] / q.one_minus_t[k];
    }
    return q;
}

// The rules for 1..kMaxNodes points, computed once (read-only afterwards).
const Quadrature& rule(int n) {
    static const std::array<Quadrature, kMaxNodes + 1> rules = [] {
        std::array<Quadrature, kMaxNodes + 1> r{};
        for (int n = 1; n <= kMaxNodes; ++n) r[static_cast<size_t>(n)] = make_rule(n);
        return r;
    }();
    return rules[static_cast<size_t>(n)];
}

//-----------------------------------------------------------------------------
// [SECTION] The walk
//-----------------------------------------------------------------------------
// Per level of the walk, three vectors of n values: the path polynomial G at the level's node,
// the sum S over the leaves below it of v * G, and the pending sum of S over the nodes below it
// whose edge is the next one on the feature of the edge into it.
//
// An edge on feature i changes f_i(t) = q (1 - t) + p t, with p either 1 or 0 (x follows every
// edge on i so far, or not). Most edges need no division: f is 1 before i's first edge, an edge
// x does not follow has f = q (1 - t), whose 1 / (1 - t) is folded into the weights, and its
// contribution (0 - q) * integral / q is the integral negated; at a leaf x follows, S / f_i is
// v * G / (i's factor before the edge), 1 on i's first edge. A child that is a leaf is summed
// where its parent is (no call). P > 0 is the number of pairs known when compiled (the loops
// unroll); P = 0 reads it from the walk.
template <int P>
struct Walk {
    const LinearSplit* splits;
    const float* x;
    double* p;  // the workspace's arrays, held here (a store through a pair may alias
    double* q;  // anything, so the vectors' own pointers would be read again after each)
    int* pending_on;
    StoredPair* values;
    double* phi;
    const Quadrature& rule;
    int pairs_read;

    int pairs() const { return P > 0 ? P : pairs_read; }

    static double total(Pair a) { return a[0] + a[1]; }

    // Fills s(level) for the subtree of split `node`, whose path polynomial is g(level).
    void visit(int node, int level) const {
        const int n = pairs();
        const Quadrature& qr = rule;
        StoredPair* const here = values + 3 * n * level;  // g, s, pending of this level
        StoredPair* const below = here + 3 * n;           // and of the next
        const LinearSplit& nd = splits[node];
        StoredPair* sum = here + n;
        const StoredPair* gp = here;
        const float v = x[nd.feature];
        const int hot = (std::isnan(v) ? nd.default_left != 0 : v < nd.threshold) ? 0 : 1;
        const size_t d = static_cast<size_t>(nd.feature);
        const double old_p = p[d], old_q = q[d];
        // 1 / f_i(t) before this edge: 1 on i's first edge (the usual case: no division).
        const bool first = old_p == 1 && old_q == 1;
        Pair inv_old[kMaxPairs];
        for (int k = 0; k < n; ++k)
            inv_old[k] = first || old_p == 0 ? Pair{1, 1} : 1 / (old_q * qr.one_minus_t[k] + qr.t[k]);
        for (int k = 0; k < n; ++k) sum[k] = Pair{0, 0};
        StoredPair* gc = below;
        StoredPair* sc = below + n;
        StoredPair* mine = below + 2 * n;
        for (int c = 0; c < 2; ++c) {
            const int child = c == 0 ? (nd.left_split ? node + 1 : -1) : nd.right;
            const double new_p = c == hot ? old_p : 0.0;
            const double new_q = old_q * nd.fraction[c];
            if (old_p == 0) {  // once x left i's path, f_new / f_old = new_q / old_q, the fraction
                const double r = nd.fraction[c];
                for (int k = 0; k < n; ++k) gc[k] = gp[k] * r;
            } else {
                for (int k = 0; k < n; ++k) gc[k] = gp[k] * (new_q * qr.one_minus_t[k] + new_p * qr.t[k]) * inv_old[k];
            }
            Pair acc{0, 0};
            const int outer = pending_on[d];
            if (child < 0) {  // a leaf: S = v * G, no pending sum
                const double value = nd.leaf[c];
                for (int k = 0; k < n; ++k) sc[k] = value * gc[k];
                if (new_p == 0) {
                    for (int k = 0; k < n; ++k) acc += qr.w_cold[k] * sc[k];
                } else {
                    for (int k = 0; k < n; ++k) acc += qr.w[k] * (value * gp[k] * inv_old[k]);
                }
            } else {
                p[d] = new_p;
                q[d] = new_q;
                pending_on[d] = level + 1;
                for (int k = 0; k < n; ++k) mine[k] = Pair{0, 0};
                visit(child, level + 1);
                if (new_p == 0) {
                    for (int k = 0; k < n; ++k) acc += qr.w_cold[k] * (sc[k] - mine[k]);
                } else {
                    for (int k = 0; k < n; ++k)
                        acc += qr.w[k] * (sc[k] - mine[k]) / (new_q * qr.one_minus_t[k] + qr.t[k]);
                }
                p[d] = old_p;
                q[d] = old_q;
                pending_on[d] = outer;
            }
            phi[d] += new_p == 0 ? -total(acc) : (1 - new_q) * total(acc);
            if (outer >= 0) {
                StoredPair* up = values + 3 * n * outer + 2 * n;
                for (int k = 0; k < n; ++k) up[k] += sc[k];
            }
            for (int k = 0; k < n; ++k) sum[k] += sc[k];
        }
    }
};

template <int P>
void walk_tree(const LinearSplit* splits, std::span<const float> x, LinearTreeShapWorkspace& ws, double* phi, int n) {
    const Walk<P> walk{splits,      x.data(),          ws.p.data(),
                       ws.q.data(), ws.pending.data(), reinterpret_cast<StoredPair*>(ws.values.data()),
                       phi,         rule(n),           (n + 1) / 2};
    for (int k = 0; k < walk.pairs(); ++k) walk.values[k] = Pair{1, 1};
    walk.visit(0, 0);
}
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] Entry point
//-----------------------------------------------------------------------------
bool linear_treeshap_applies(const Tree& t) {
    if (t.depth > 2 * (kMaxNodes - 1)) return false;
    for (const TreeNode& nd : t.nodes)
        if (!nd.leaf() && !(t.nodes[static_cast<size_t>(nd.left)].cover > 0 &&
                            t.nodes[static_cast<size_t>(nd.right)].cover > 0 && nd.cover > 0))
            return false;
    return true;
}

int linear_treeshap_compile(const Tree& t, std::vector<LinearSplit>& out) {
    if (t.nodes.empty() || t.nodes[0].leaf()) return 0;
    // Preorder over an explicit stack (left subtree first); each split's place is fixed when it is
    // taken from the stack, and its parent learns it then when it is a right child.
    struct Item {
        int32_t node;
        size_t parent;  // place of the parent when this is its right child, else SIZE_MAX
        int level;      // splits above it on its path
    };
    const size_t base = out.size();
    int depth = 0;  // the most splits on one path of what is written: the walk's levels
    std::vector<Item> stack{{0, SIZE_MAX, 0}};
    while (!stack.empty()) {
        const Item it = stack.back();
        stack.pop_back();
        const TreeNode& nd = t.nodes[static_cast<size_t>(it.node)];
        const size_t at = out.size();
        depth = std::max(depth, it.level + 1);
        if (it.parent != SIZE_MAX) out[it.parent].right = static_cast<int32_t>(at - base);
        LinearSplit s;
        s.feature = nd.feature;
        s.threshold = nd.threshold;
        s.default_left = nd.default_left;
        const TreeNode& left = t.nodes[static_cast<size_t>(nd.left)];
        const TreeNode& right = t.nodes[static_cast<size_t>(nd.right)];
        s.fraction[0] = left.cover / nd.cover;
        s.fraction[1] = right.cover / nd.cover;
        s.leaf[0] = left.leaf() ? left.value : 0.0;
        s.leaf[1] = right.leaf() ? right.value : 0.0;
        s.left_split = left.leaf() ? 0 : 1;
        out.push_back(s);
        if (!right.leaf()) stack.push_back({nd.right, at, it.level + 1});
        if (!left.leaf()) stack.push_back({nd.left, SIZE_MAX, it.level + 1});  // next: right after its parent
    }
    return depth;
}

void linear_treeshap_tree(std::span<const LinearSplit> splits, int depth, int num_features, std::span<const float> x,
                          LinearTreeShapWorkspace& ws, double* phi) {
    if (splits.empty()) return;  // a stump adds only to the base
    const size_t features = static_cast<size_t>(num_features);
    if (ws.p.size() != features) {  // the walk restores these, so they are set once per width
        ws.p.assign(features, 1.0);
        ws.q.assign(features, 1.0);
        ws.pending.assign(features, -1);
    }
    // The integrand has degree < depth (one factor per path feature but the one explained): the
    // n-point rule is exact up to degree 2n - 1, so n = ceil(depth / 2) nodes suffice.
    const int n = (depth + 1) / 2;
    const size_t need = static_cast<size_t>(3 * 2 * ((n + 1) / 2) * (depth + 2));
    if (ws.values.size() < need) ws.values.resize(need);
    switch ((n + 1) / 2) {  // the usual depths (up to 15) with the pairs fixed when compiled
        case 1:
            return walk_tree<1>(splits.data(), x, ws, phi, n);
        case 2:
            return walk_tree<2>(splits.data(), x, ws, phi, n);
        case 3:
            return walk_tree<3>(splits.data(), x, ws, phi, n);
        case 4:
            return walk_tree<4>(splits.data(), x, ws, phi, n);
        default:
            return walk_tree<0>(splits.data(), x, ws, phi, n);
    }
}

void linear_treeshap_tree(const Tree& t, int num_features, std::span<const float> x, LinearTreeShapWorkspace& ws,
                          double* phi) {
    ws.compiled.clear();
    const int depth = linear_treeshap_compile(t, ws.compiled);  // its own, not t.depth: what the walk visits
    linear_treeshap_tree(ws.compiled, depth, num_features, x, ws, phi);
}

}  // namespace ldx
