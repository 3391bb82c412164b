// shared/explain/linear_treeshap.cpp — see linear_treeshap.h.
//
// Index of this file
//   [SECTION] Gauss-Legendre nodes on [0, 1]
//   [SECTION] The walk
//   [SECTION] Entry point
#include "explain/linear_treeshap.h"

#include <array>
#include <cmath>

namespace ldx {

namespace {
//-----------------------------------------------------------------------------
// [SECTION] Gauss-Legendre nodes on [0, 1]
//-----------------------------------------------------------------------------
constexpr int kMaxNodes = 34;  // depth 64 (ensemble_check's limit) needs 33

struct Quadrature {
    std::array<double, kMaxNodes> t{}, w{};  // nodes in (0, 1) and weights summing to 1
    std::array<double, kMaxNodes> w_cold{};  // w / (1 - t): for an edge x does not follow
};

// The n-point rule: the roots of the Legendre polynomial P_n by Newton's method from the usual
// first guesses, weights 2 / ((1 - x^2) P_n'(x)^2), both mapped from [-1, 1] to [0, 1].
Quadrature make_rule(int n) {
    Quadrature q;
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
        q.t[static_cast<size_t>(i)] = (x + 1) / 2;
        q.w[static_cast<size_t>(i)] = 1 / ((1 - x * x) * dp * dp);  // 2 / (...) halved for [0, 1]
        q.w_cold[static_cast<size_t>(i)] = q.w[static_cast<size_t>(i)] / (1 - q.t[static_cast<size_t>(i)]);
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
// edge on i so far, or not). Most edges need no division: f is 1 before i's first edge, and an
// edge x does not follow has f = q (1 - t), whose 1 / (1 - t) is folded into the weights.
// N > 0 is n known when compiled (the loops unroll); N = 0 reads it from the walk.
template <int N>
struct Walk {
    const Tree& t;
    std::span<const float> x;
    LinearTreeShapWorkspace& ws;
    double* phi;
    const Quadrature& q;
    int n_read;

    int count() const { return N > 0 ? N : n_read; }
    double* g(int level) { return ws.values.data() + static_cast<size_t>(3 * count() * level); }
    double* s(int level) { return g(level) + count(); }
    double* pending(int level) { return g(level) + 2 * count(); }

    void visit(int node, int level) {
        const int n = count();
        const TreeNode& nd = t.nodes[static_cast<size_t>(node)];
        double* sum = s(level);
        const double* gp = g(level);
        if (nd.leaf()) {
            for (int k = 0; k < n; ++k) sum[k] = nd.value * gp[k];
            return;
        }
        const float v = x[static_cast<size_t>(nd.feature)];
        const int hot =
            std::isnan(v) ? (nd.default_left ? nd.left : nd.right) : (v < nd.threshold ? nd.left : nd.right);
        const size_t d = static_cast<size_t>(nd.feature);
        const double old_p = ws.p[d], old_q = ws.q[d];
        // 1 / f_i(t) before this edge: 1 on i's first edge (the usual case: no division).
        const bool first = old_p == 1 && old_q == 1;
        double inv_old[kMaxNodes];
        for (int k = 0; k < n; ++k)
            inv_old[k] =
                first || old_p == 0 ? 1 : 1 / (old_q * (1 - q.t[static_cast<size_t>(k)]) + q.t[static_cast<size_t>(k)]);
        for (int k = 0; k < n; ++k) sum[k] = 0;
        for (const int child : {nd.left, nd.right}) {
            const double new_p = child == hot ? old_p : 0.0;
            const double new_q = old_q * t.nodes[static_cast<size_t>(child)].cover / nd.cover;
            double* gc = g(level + 1);
            if (old_p == 0) {  // once x left i's path, f_new / f_old = new_q / old_q
                const double r = new_q / old_q;
                for (int k = 0; k < n; ++k) gc[k] = gp[k] * r;
            } else {
                for (int k = 0; k < n; ++k) {
                    const double tk = q.t[static_cast<size_t>(k)];
                    gc[k] = gp[k] * (new_q * (1 - tk) + new_p * tk) * inv_old[k];
                }
            }
            ws.p[d] = new_p;
            ws.q[d] = new_q;
            const int outer = ws.pending[d];
            ws.pending[d] = level + 1;
            double* mine = pending(level + 1);
            for (int k = 0; k < n; ++k) mine[k] = 0;
            visit(child, level + 1);
            const double* sc = s(level + 1);
            double integral = 0;
            if (new_p == 0) {
                for (int k = 0; k < n; ++k) integral += q.w_cold[static_cast<size_t>(k)] * (sc[k] - mine[k]);
                integral /= new_q;
            } else {
                for (int k = 0; k < n; ++k) {
                    const double tk = q.t[static_cast<size_t>(k)];
                    integral += q.w[static_cast<size_t>(k)] * (sc[k] - mine[k]) / (new_q * (1 - tk) + tk);
                }
            }
            phi[d] += (new_p - new_q) * integral;
            ws.p[d] = old_p;
            ws.q[d] = old_q;
            ws.pending[d] = outer;
            if (outer >= 0) {
                double* up = pending(outer);
                for (int k = 0; k < n; ++k) up[k] += sc[k];
            }
            for (int k = 0; k < n; ++k) sum[k] += sc[k];
        }
    }
};

template <int N>
void walk_tree(const Tree& t, std::span<const float> x, LinearTreeShapWorkspace& ws, double* phi, int n) {
    Walk<N> walk{t, x, ws, phi, rule(n), n};
    for (int k = 0; k < n; ++k) walk.g(0)[k] = 1;
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

void linear_treeshap_tree(const Tree& t, int num_features, std::span<const float> x, LinearTreeShapWorkspace& ws,
                          double* phi) {
    if (t.nodes.empty() || t.nodes[0].leaf()) return;  // a stump adds only to the base
    const size_t features = static_cast<size_t>(num_features);
    if (ws.p.size() != features) {  // the walk restores these, so they are set once per width
        ws.p.assign(features, 1.0);
        ws.q.assign(features, 1.0);
        ws.pending.assign(features, -1);
    }
    const int n = t.depth / 2 + 1;
    const size_t need = static_cast<size_t>(3 * n * (t.depth + 2));
    if (ws.values.size() < need) ws.values.resize(need);
    switch (n) {  // the usual depths (up to 15) with n fixed when compiled
        case 1:
            return walk_tree<1>(t, x, ws, phi, n);
        case 2:
            return walk_tree<2>(t, x, ws, phi, n);
        case 3:
            return walk_tree<3>(t, x, ws, phi, n);
        case 4:
            return walk_tree<4>(t, x, ws, phi, n);
        case 5:
            return walk_tree<5>(t, x, ws, phi, n);
        case 6:
            return walk_tree<6>(t, x, ws, phi, n);
        case 7:
            return walk_tree<7>(t, x, ws, phi, n);
        case 8:
            return walk_tree<8>(t, x, ws, phi, n);
        default:
            return walk_tree<0>(t, x, ws, phi, n);
    }
}

}  // namespace ldx
