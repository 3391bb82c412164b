// shared/trees/ensemble.cpp — see ensemble.h.
//
// Index of this file
//   [SECTION] Derived data
//   [SECTION] Prediction
//   [SECTION] Structure checks
//   [SECTION] XGBoost JSON import
//   [SECTION] Bundle (de)serialisation
//   [SECTION] Binary form
//   [SECTION] Reference covers
#include "trees/ensemble.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Derived data
//-----------------------------------------------------------------------------
namespace {
// Post-order over an explicit stack: trees from files are untrusted, so no recursion depth
// depends on input (ensemble_check bounds depth before this runs in verified paths).
void tree_prepare(Tree& t) {
    const size_t n = t.nodes.size();
    t.mean.assign(n, 0.0);
    t.depth = 0;
    if (n == 0) return;
    std::vector<int> depth(n, 0);
    std::vector<int> order;  // pre-order
    order.reserve(n);
    std::vector<int> stack{0};
    while (!stack.empty()) {
        int i = stack.back();
        stack.pop_back();
        order.push_back(i);
        const TreeNode& nd = t.nodes[static_cast<size_t>(i)];
        if (!nd.leaf()) {
            depth[static_cast<size_t>(nd.left)] = depth[static_cast<size_t>(nd.right)] =
                depth[static_cast<size_t>(i)] + 1;
            stack.push_back(nd.right);
            stack.push_back(nd.left);
        } else {
            t.depth = std::max(t.depth, depth[static_cast<size_t>(i)]);
        }
    }
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        const TreeNode& nd = t.nodes[static_cast<size_t>(*it)];
        if (nd.leaf()) {
            t.mean[static_cast<size_t>(*it)] = nd.value;
        } else {
            const TreeNode& l = t.nodes[static_cast<size_t>(nd.left)];
            const TreeNode& r = t.nodes[static_cast<size_t>(nd.right)];
            // XGBoost's FillNodeMeanValue: weighted by the children's covers over the node's cover.
            t.mean[static_cast<size_t>(*it)] = nd.cover > 0 ? (t.mean[static_cast<size_t>(nd.left)] * l.cover +
                                                               t.mean[static_cast<size_t>(nd.right)] * r.cover) /
                                                                  nd.cover
                                                            : 0.0;
        }
    }
}
}  // namespace

void ensemble_prepare(Ensemble& e) {
    e.max_depth = 0;
    for (Tree& t : e.trees) {
        tree_prepare(t);
        e.max_depth = std::max(e.max_depth, t.depth);
    }
}

//-----------------------------------------------------------------------------
// [SECTION] Prediction
//-----------------------------------------------------------------------------
int tree_leaf(const Tree& t, std::span<const float> x) {
    int i = 0;
    const TreeNode* nodes = t.nodes.data();
    while (nodes[i].left >= 0) {
        const TreeNode& nd = nodes[i];
        const float v = x[static_cast<size_t>(nd.feature)];
        if (std::isnan(v)) i = nd.default_left ? nd.left : nd.right;
        else i = v < nd.threshold ? nd.left : nd.right;
    }
    return i;
}

void ensemble_margin(const Ensemble& e, std::span<const float> x, std::span<double> margin) {
    for (int k = 0; k < e.num_outputs; ++k) margin[static_cast<size_t>(k)] = e.base_margin[static_cast<size_t>(k)];
    for (const Tree& t : e.trees)
        margin[static_cast<size_t>(t.output)] += t.nodes[static_cast<size_t>(tree_leaf(t, x))].value;
}

std::vector<double> ensemble_margin(const Ensemble& e, std::span<const float> x) {
    std::vector<double> m(static_cast<size_t>(e.num_outputs));
    ensemble_margin(e, x, m);
    return m;
}

std::vector<double> probabilities_from_margin(Link link, std::span<const double> margin) {
    if (link == Link::identity) return {margin[0]};
    if (link == Link::logistic) {
        const double p = 1.0 / (1.0 + std::exp(-margin[0]));
        return {1.0 - p, p};
    }
    double mx = -INFINITY;
    for (double m : margin) mx = std::max(mx, m);
    std::vector<double> p(margin.size());
    double sum = 0;
    for (size_t k = 0; k < margin.size(); ++k) sum += (p[k] = std::exp(margin[k] - mx));
    for (double& v : p) v /= sum;
    return p;
}

int num_classes(const Ensemble& e) {
    return e.link == Link::logistic ? 2 : e.link == Link::identity ? 0 : e.num_outputs;
}

//-----------------------------------------------------------------------------
// [SECTION] Structure checks
//-----------------------------------------------------------------------------
Result<Ok> ensemble_check(const Ensemble& e) {
    auto bad = [](size_t t, std::string msg) { return problem("bad_tree", "tree " + std::to_string(t) + ": " + msg); };
    if (e.num_features <= 0 || e.num_features > 100000)
        return problem("bad_tree", "the number of features is not plausible");
    if (e.num_outputs <= 0 || e.num_outputs > 1000)
        return problem("bad_tree", "the number of outputs is not plausible");
    if (e.link != Link::softmax && e.num_outputs != 1)
        return problem("bad_tree", "a logistic or regression model has one output");
    if (e.link == Link::softmax && e.num_outputs < 2)
        return problem("bad_tree", "a softmax model has at least two outputs");
    if (e.base_margin.size() != static_cast<size_t>(e.num_outputs))
        return problem("bad_tree", "base margin has the wrong length");
    for (double b : e.base_margin)
        if (!std::isfinite(b)) return problem("bad_tree", "base margin is not finite");
    if (e.trees.empty()) return problem("bad_tree", "the model has no trees");
    for (size_t ti = 0; ti < e.trees.size(); ++ti) {
        const Tree& t = e.trees[ti];
        const size_t n = t.nodes.size();
        if (n == 0 || n > (1u << 20)) return bad(ti, "has no nodes or too many");
        if (t.output < 0 || t.output >= e.num_outputs) return bad(ti, "adds to an output the model does not have");
        std::vector<uint8_t> reached(n, 0);
        std::vector<std::pair<int, int>> stack{{0, 0}};
        reached[0] = 1;
        size_t count = 0;
        while (!stack.empty()) {
            auto [i, d] = stack.back();
            stack.pop_back();
            ++count;
            const TreeNode& nd = t.nodes[static_cast<size_t>(i)];
            if (!(nd.cover >= 0) || !std::isfinite(nd.cover))
                return bad(ti, "node " + std::to_string(i) + " has a bad cover");
            if (nd.leaf()) {
                if (!std::isfinite(nd.value)) return bad(ti, "leaf " + std::to_string(i) + " has a non-finite value");
                continue;
            }
            if (d >= 64) return bad(ti, "is deeper than 64");
            if (nd.feature < 0 || nd.feature >= e.num_features)
                return bad(ti, "node " + std::to_string(i) + " splits on feature " + std::to_string(nd.feature) +
                                   ", beyond the model's " + std::to_string(e.num_features));
            if (std::isnan(nd.threshold)) return bad(ti, "node " + std::to_string(i) + " has a NaN threshold");
            for (int c : {nd.left, nd.right}) {
                if (c <= 0 || static_cast<size_t>(c) >= n)
                    return bad(ti, "node " + std::to_string(i) + " has a child out of range");
                if (reached[static_cast<size_t>(c)]) return bad(ti, "node " + std::to_string(c) + " is reached twice");
                reached[static_cast<size_t>(c)] = 1;
                stack.push_back({c, d + 1});
            }
        }
        if (count != n) return bad(ti, std::to_string(n - count) + " nodes are not reachable from the root");
    }
    return Ok{};
}

//-----------------------------------------------------------------------------
// [SECTION] XGBoost JSON import
//-----------------------------------------------------------------------------
namespace {
Result<double> number_in_string(const Json& obj, const char* key, const std::string& path) {
    if (!obj.is_object() || !obj.contains(key)) return problem("bad_model", "missing " + path + "." + key);
    const Json& v = obj[key];
    if (v.is_number()) return v.get<double>();
    if (v.is_string()) {
        const std::string s = v.get<std::string>();
        char* end = nullptr;
        const double x = std::strtod(s.c_str(), &end);
        if (end != s.c_str() && *end == 0) return x;
    }
    return problem("bad_model", path + "." + key + " is not a number");
}
bool array_of(const Json& tree, const char* key, size_t n, std::vector<int>& out) {
    return json_int_array(json_member(tree, key), out, -1, 1 << 30) && out.size() == n;
}
bool array_of(const Json& tree, const char* key, size_t n, std::vector<double>& out) {
    return json_number_array(json_member(tree, key), out) && out.size() == n;
}
}  // namespace

Result<Ensemble> ensemble_from_xgboost_json(std::string_view json_text) {
    auto doc = json_parse(json_text, "XGBoost model", JsonLimits{512u << 20, 64});
    if (!doc) return doc.problems();
    const Json& j = *doc;
    auto bad = [](std::string msg) { return problem("bad_model", std::move(msg)); };
    const Json& learner = json_member(j, "learner");
    if (!learner.is_object()) return bad("not an XGBoost JSON model: no 'learner'");
    const Json& mp = json_member(learner, "learner_model_param");
    auto base = number_in_string(mp, "base_score", "learner_model_param");
    auto ncls = number_in_string(mp, "num_class", "learner_model_param");
    auto nfeat = number_in_string(mp, "num_feature", "learner_model_param");
    if (!base || !ncls || !nfeat) return bad("learner_model_param lacks base_score, num_class or num_feature");
    if (!(*nfeat >= 1 && *nfeat <= 100000) || !(*ncls >= 0 && *ncls <= 1000) || !std::isfinite(*base))
        return bad("learner_model_param holds implausible num_feature, num_class or base_score");
    const std::string objective = json_text_or(json_member(learner, "objective"), "name");
    const Json& gb = json_member(learner, "gradient_booster");
    if (json_text_or(gb, "name") != "gbtree")
        return bad("only gbtree boosters are supported (found '" + json_text_or(gb, "name") + "')");
    const Json& model = json_member(gb, "model");
    if (!json_member(model, "trees").is_array()) return bad("gradient_booster.model.trees is missing");

    Ensemble e;
    e.num_features = static_cast<int>(*nfeat);
    const int k = static_cast<int>(*ncls);
    if (objective == "binary:logistic" || objective == "binary:logitraw") {
        e.link = Link::logistic;
        e.num_outputs = 1;
        const double b = *base;
        if (objective == "binary:logistic") {
            if (!(b > 0 && b < 1)) return bad("base_score of a binary:logistic model must lie in (0, 1)");
            e.base_margin = {-std::log(1.0 / b - 1.0)};
        } else {
            e.base_margin = {b};
        }
    } else if (objective == "multi:softprob" || objective == "multi:softmax") {
        if (k < 2) return bad("a multi-class model needs num_class >= 2");
        e.link = Link::softmax;
        e.num_outputs = k;
        e.base_margin.assign(static_cast<size_t>(k), *base);
    } else if (objective == "reg:squarederror" || objective == "reg:pseudohubererror" ||
               objective == "reg:absoluteerror" || objective == "reg:linear") {
        e.link = Link::identity;
        e.num_outputs = 1;
        e.base_margin = {*base};
    } else {
        return bad("objective '" + objective +
                   "' is not supported (binary:logistic, binary:logitraw, multi:softprob, multi:softmax, "
                   "reg:squarederror, reg:pseudohubererror, reg:absoluteerror)");
    }

    const Json& trees = json_member(model, "trees");
    std::vector<int> tree_info;
    if (!json_int_array(json_member(model, "tree_info"), tree_info, 0, std::max(0, k - 1)) ||
        tree_info.size() != trees.size())
        return bad("tree_info does not list one class (0 to " + std::to_string(std::max(0, k - 1)) + ") per tree");
    for (size_t ti = 0; ti < trees.size(); ++ti) {
        const Json& t = trees[ti];
        const std::string where = "tree " + std::to_string(ti) + ": ";
        auto nn = number_in_string(json_member(t, "tree_param"), "num_nodes", "tree_param");
        if (!nn || *nn < 1 || *nn > (1 << 20)) return bad(where + "tree_param.num_nodes is missing or implausible");
        const size_t n = static_cast<size_t>(*nn);
        std::vector<int> left, right, split_index, default_left, split_type;
        std::vector<double> cond, hess;
        if (!array_of(t, "left_children", n, left) || !array_of(t, "right_children", n, right) ||
            !array_of(t, "split_indices", n, split_index) || !array_of(t, "split_conditions", n, cond) ||
            !array_of(t, "default_left", n, default_left) || !array_of(t, "sum_hessian", n, hess))
            return bad(where + "a node array is missing or has the wrong length");
        if (array_of(t, "split_type", n, split_type))
            for (int s : split_type)
                if (s != 0) return bad(where + "categorical splits are not supported");
        Tree tree;
        tree.output = e.link == Link::softmax ? tree_info[ti] : 0;
        tree.nodes.resize(n);
        for (size_t i = 0; i < n; ++i) {
            TreeNode& nd = tree.nodes[i];
            nd.left = left[i];
            nd.right = right[i];
            nd.cover = hess[i];
            if (nd.left < 0) {
                nd.left = nd.right = -1;
                nd.value = static_cast<double>(static_cast<float>(cond[i]));
            } else {
                nd.feature = split_index[i];
                nd.threshold = static_cast<float>(cond[i]);
                nd.default_left = default_left[i] != 0;
            }
        }
        e.trees.push_back(std::move(tree));
    }
    if (auto ok = ensemble_check(e); !ok) return ok.problems();
    ensemble_prepare(e);
    return e;
}

//-----------------------------------------------------------------------------
// [SECTION] Bundle (de)serialisation
//-----------------------------------------------------------------------------
// Column arrays per tree keep the member compact and quick to parse in the browser.
Json ensemble_to_json(const Ensemble& e) {
    Json j;
    j["format"] = "localdx-trees/1";
    j["num_features"] = e.num_features;
    j["num_outputs"] = e.num_outputs;
    j["link"] = e.link == Link::logistic ? "logistic" : e.link == Link::softmax ? "softmax" : "identity";
    j["base_margin"] = e.base_margin;
    j["covers"] = e.covers;
    Json trees = Json::array();
    for (const Tree& t : e.trees) {
        Json x;
        x["output"] = t.output;
        std::vector<int> left, right, feature, dl;
        std::vector<double> thr, value, cover;
        for (const TreeNode& nd : t.nodes) {
            left.push_back(nd.left);
            right.push_back(nd.right);
            feature.push_back(nd.leaf() ? -1 : nd.feature);
            thr.push_back(nd.leaf() ? 0.0 : static_cast<double>(nd.threshold));
            dl.push_back(nd.default_left);
            value.push_back(nd.leaf() ? nd.value : 0.0);
            cover.push_back(nd.cover);
        }
        x["left"] = left;
        x["right"] = right;
        x["feature"] = feature;
        x["threshold"] = thr;
        x["default_left"] = dl;
        x["value"] = value;
        x["cover"] = cover;
        trees.push_back(std::move(x));
    }
    j["trees"] = std::move(trees);
    return j;
}

Result<Ensemble> ensemble_from_json(const Json& j) {
    auto bad = [](std::string msg) { return problem("bad_tree", std::move(msg)); };
    if (!j.is_object() || json_text_or(j, "format") != "localdx-trees/1") return bad("not a localdx-trees/1 document");
    Ensemble e;
    try {
        const auto nf = json_int_in(j, "num_features", 1, 100000), no = json_int_in(j, "num_outputs", 1, 1000);
        if (!nf || !no) return bad("num_features and num_outputs must be plausible whole numbers");
        e.num_features = static_cast<int>(*nf);
        e.num_outputs = static_cast<int>(*no);
        const std::string link = j.at("link").get<std::string>();
        if (link != "logistic" && link != "softmax" && link != "identity")
            return bad("link must be logistic, softmax or identity");
        e.link = link == "logistic" ? Link::logistic : link == "softmax" ? Link::softmax : Link::identity;
        if (!json_number_array(json_member(j, "base_margin"), e.base_margin))
            return bad("base_margin must be an array of numbers");
        e.covers = j.at("covers").get<std::string>();
        if (!json_member(j, "trees").is_array()) return bad("trees must be an array");
        for (const Json& x : j.at("trees")) {
            Tree t;
            const auto out = json_int_in(x, "output", 0, 999);
            if (!out) return bad("tree " + std::to_string(e.trees.size()) + ": output must be a class index");
            t.output = static_cast<int>(*out);
            std::vector<int> left, right, feature, dl;
            std::vector<double> thr, value, cover;
            if (!json_int_array(json_member(x, "left"), left, -1, 1 << 20) ||
                !json_int_array(json_member(x, "right"), right, -1, 1 << 20) ||
                !json_int_array(json_member(x, "feature"), feature, -1, 100000) ||
                !json_int_array(json_member(x, "default_left"), dl, 0, 1) ||
                !json_number_array(json_member(x, "threshold"), thr) ||
                !json_number_array(json_member(x, "value"), value) ||
                !json_number_array(json_member(x, "cover"), cover))
                return bad("tree " + std::to_string(e.trees.size()) +
                           ": node arrays must be arrays of numbers in range");
            const size_t n = left.size();
            if (right.size() != n || feature.size() != n || thr.size() != n || dl.size() != n || value.size() != n ||
                cover.size() != n)
                return bad("tree " + std::to_string(e.trees.size()) + ": node arrays differ in length");
            t.nodes.resize(n);
            for (size_t i = 0; i < n; ++i) {
                TreeNode& nd = t.nodes[i];
                nd.left = left[i] < 0 ? -1 : left[i];
                nd.right = left[i] < 0 ? -1 : right[i];
                nd.feature = left[i] < 0 ? 0 : feature[i];
                nd.threshold = static_cast<float>(thr[i]);
                nd.default_left = dl[i] != 0;
                nd.value = value[i];
                nd.cover = cover[i];
            }
            e.trees.push_back(std::move(t));
        }
    } catch (const Json::exception& ex) { return bad(std::string("malformed trees document: ") + ex.what()); }
    if (auto ok = ensemble_check(e); !ok) return ok.problems();
    ensemble_prepare(e);
    return e;
}

//-----------------------------------------------------------------------------
// [SECTION] Binary form
//-----------------------------------------------------------------------------
namespace {
constexpr uint32_t kTreesBinaryVersion = 1;

template <class T>
void put(std::string& out, T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));  // little-endian hosts only (x86-64, wasm32): checked below
    out.append(b, sizeof(T));
}

// Reads from the front of `bytes`, refusing to read past its end.
struct Reader {
    std::string_view bytes;
    bool ok = true;
    template <class T>
    T get() {
        T v{};
        if (bytes.size() < sizeof(T)) {
            ok = false;
            return v;
        }
        std::memcpy(&v, bytes.data(), sizeof(T));
        bytes.remove_prefix(sizeof(T));
        return v;
    }
    // n values of T into out, when n of them fit in what is left.
    template <class T>
    bool array(size_t n, std::vector<T>& out) {
        if (!ok || n > bytes.size() / sizeof(T)) return ok = false;
        out.resize(n);
        if (n) std::memcpy(out.data(), bytes.data(), n * sizeof(T));
        bytes.remove_prefix(n * sizeof(T));
        return true;
    }
};
static_assert(std::endian::native == std::endian::little, "trees.bin is little-endian");

// The bits of a number (Emscripten 3.1.6's library has no std::bit_cast): +0.0 is all zeros.
template <class U, class T>
U bits_of(T v) {
    U u;
    std::memcpy(&u, &v, sizeof u);
    return u;
}
}  // namespace

std::string ensemble_to_binary(const Ensemble& e) {
    std::string out = "LDXT";
    put<uint32_t>(out, kTreesBinaryVersion);
    put<uint32_t>(out, static_cast<uint32_t>(e.num_features));
    put<uint32_t>(out, static_cast<uint32_t>(e.num_outputs));
    put<uint8_t>(out, e.link == Link::logistic ? 0 : e.link == Link::softmax ? 1 : 2);
    out.append(3, '\0');
    put<uint32_t>(out, static_cast<uint32_t>(e.covers.size()));
    out += e.covers;
    for (double b : e.base_margin) put<double>(out, b);
    put<uint32_t>(out, static_cast<uint32_t>(e.trees.size()));
    for (const Tree& t : e.trees) {
        put<uint32_t>(out, static_cast<uint32_t>(t.output));
        put<uint32_t>(out, static_cast<uint32_t>(t.nodes.size()));
        for (const TreeNode& nd : t.nodes) put<int32_t>(out, nd.leaf() ? -1 : nd.left);
        for (const TreeNode& nd : t.nodes) put<int32_t>(out, nd.leaf() ? -1 : nd.right);
        for (const TreeNode& nd : t.nodes) put<int32_t>(out, nd.leaf() ? 0 : nd.feature);
        for (const TreeNode& nd : t.nodes) put<float>(out, nd.leaf() ? 0.0f : nd.threshold);
        for (const TreeNode& nd : t.nodes) put<uint8_t>(out, nd.default_left ? 1 : 0);
        for (const TreeNode& nd : t.nodes) put<double>(out, nd.leaf() ? nd.value : 0.0);
        for (const TreeNode& nd : t.nodes) put<double>(out, nd.cover);
    }
    return out;
}

Result<Ensemble> ensemble_from_binary(std::string_view bytes) {
    auto bad = [](std::string msg) { return problem("bad_tree", "trees.bin: " + std::move(msg)); };
    if (bytes.size() < 8 || bytes.substr(0, 4) != "LDXT") return bad("not a LocalDx trees file");
    Reader r{bytes.substr(4)};
    const uint32_t version = r.get<uint32_t>();
    if (version != kTreesBinaryVersion)
        return bad("version " + std::to_string(version) + " is not one this LocalDx reads (1); update LocalDx");
    Ensemble e;
    const uint32_t features = r.get<uint32_t>(), outputs = r.get<uint32_t>();
    const uint8_t link = r.get<uint8_t>();
    const uint8_t pad = r.get<uint8_t>() | r.get<uint8_t>() | r.get<uint8_t>();
    const uint32_t covers_length = r.get<uint32_t>();
    if (!r.ok) return bad("the header is cut short");
    if (features < 1 || features > 100000 || outputs < 1 || outputs > 1000 || link > 2 || pad != 0)
        return bad("the header holds an implausible number of features or outputs, or an unknown link");
    if (covers_length > 256 || covers_length > r.bytes.size()) return bad("the covers note is too long");
    e.num_features = static_cast<int>(features);
    e.num_outputs = static_cast<int>(outputs);
    e.link = link == 0 ? Link::logistic : link == 1 ? Link::softmax : Link::identity;
    e.covers = std::string(r.bytes.substr(0, covers_length));
    r.bytes.remove_prefix(covers_length);
    if (!r.array(outputs, e.base_margin)) return bad("the base margins are cut short");
    const uint32_t trees = r.get<uint32_t>();
    // A tree takes at least its output, its node count and one node (4 + 4 + 4 + 4 + 1 + 8 + 8
    // bytes): the count is checked against that before it sizes anything.
    constexpr size_t kMinTreeBytes = 4 + 4 + 33;
    if (!r.ok || trees > r.bytes.size() / kMinTreeBytes) return bad("the tree count does not fit the file");
    e.trees.reserve(trees);
    std::vector<int32_t> left, right, feature;
    std::vector<float> threshold;
    std::vector<uint8_t> default_left;
    std::vector<double> value, cover;
    for (uint32_t ti = 0; ti < trees; ++ti) {
        const std::string where = "tree " + std::to_string(ti) + ": ";
        Tree t;
        t.output = static_cast<int>(r.get<uint32_t>());
        const uint32_t n = r.get<uint32_t>();
        if (!r.ok || n < 1 || n > (1u << 20)) return bad(where + "the node count is cut short or implausible");
        if (!r.array(n, left) || !r.array(n, right) || !r.array(n, feature) || !r.array(n, threshold) ||
            !r.array(n, default_left) || !r.array(n, value) || !r.array(n, cover))
            return bad(where + "the node arrays are cut short");
        t.nodes.resize(n);
        for (size_t i = 0; i < n; ++i) {
            TreeNode& nd = t.nodes[i];
            const bool leaf = left[i] < 0;
            // One way to write each node: a leaf has no split (-1, 0, +0.0), a split no value (+0.0).
            if (default_left[i] > 1 ||
                (leaf &&
                 (left[i] != -1 || right[i] != -1 || feature[i] != 0 || bits_of<uint32_t>(threshold[i]) != 0)) ||
                (!leaf && bits_of<uint64_t>(value[i]) != 0))
                return bad(where + "node " + std::to_string(i) + " is not written in the one form trees.bin allows");
            nd.left = leaf ? -1 : left[i];
            nd.right = leaf ? -1 : right[i];
            nd.feature = leaf ? 0 : feature[i];
            nd.threshold = threshold[i];
            nd.default_left = default_left[i] != 0;
            nd.value = value[i];
            nd.cover = cover[i];
        }
        e.trees.push_back(std::move(t));
    }
    if (!r.bytes.empty()) return bad(std::to_string(r.bytes.size()) + " bytes follow the last tree");
    if (auto ok = ensemble_check(e); !ok) return ok.problems();
    ensemble_prepare(e);
    return e;
}

//-----------------------------------------------------------------------------
// [SECTION] Reference covers
//-----------------------------------------------------------------------------
void ensemble_recount_covers(Ensemble& e, std::span<const float> rows) {
    const size_t f = static_cast<size_t>(e.num_features);
    const size_t n = f ? rows.size() / f : 0;
    for (Tree& t : e.trees) {
        for (TreeNode& nd : t.nodes) nd.cover = nd.leaf() ? 0.5 : 0.0;
        for (size_t r = 0; r < n; ++r) t.nodes[static_cast<size_t>(tree_leaf(t, rows.subspan(r * f, f)))].cover += 1.0;
        // Internal covers are the sums of their children's (processed children-first).
        std::vector<int> order{0};
        for (size_t i = 0; i < order.size(); ++i) {
            const TreeNode& nd = t.nodes[static_cast<size_t>(order[i])];
            if (!nd.leaf()) {
                order.push_back(nd.left);
                order.push_back(nd.right);
            }
        }
        for (auto it = order.rbegin(); it != order.rend(); ++it) {
            TreeNode& nd = t.nodes[static_cast<size_t>(*it)];
            if (!nd.leaf())
                nd.cover = t.nodes[static_cast<size_t>(nd.left)].cover + t.nodes[static_cast<size_t>(nd.right)].cover;
        }
    }
    e.covers = "reference:" + std::to_string(n);
    ensemble_prepare(e);
}

}  // namespace ldx
