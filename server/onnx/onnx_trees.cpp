// server/onnx/onnx_trees.cpp — see onnx_trees.h.
//
// Index of this file
//   [SECTION] Helpers (attributes)
//   [SECTION] Export
//   [SECTION] Import
//   [SECTION] Inspection
#include "onnx/onnx_trees.h"

#include "base/text.h"

#include <onnx/checker.h>
#include <onnx/onnx-ml.pb.h>

#include <cmath>
#include <map>
#include <set>

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Helpers
//-----------------------------------------------------------------------------
namespace {
void attr_ints(onnx::NodeProto& n, const char* name, const std::vector<int64_t>& v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (auto x : v) a->add_ints(x);
}
void attr_floats(onnx::NodeProto& n, const char* name, const std::vector<float>& v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOATS);
    for (auto x : v) a->add_floats(x);
}
void attr_strings(onnx::NodeProto& n, const char* name, const std::vector<std::string>& v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRINGS);
    for (const auto& x : v) a->add_strings(x);
}
void attr_string(onnx::NodeProto& n, const char* name, const std::string& v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(v);
}
void attr_int(onnx::NodeProto& n, const char* name, int64_t v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
}
void tensor_value(onnx::ValueInfoProto* v, const std::string& name, int elem, std::vector<int64_t> dims) {
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(elem);
    auto* shape = t->mutable_shape();
    for (auto d : dims) {
        auto* dim = shape->add_dim();
        if (d < 0) dim->set_dim_param("N");
        else dim->set_dim_value(d);
    }
}
Result<onnx::ModelProto> parse_model(std::string_view bytes) {
    onnx::ModelProto m;
    if (bytes.size() > (512u << 20) || !m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
        return problem("bad_onnx", "the file is not an ONNX model (protobuf parsing failed)");
    if (!m.has_graph()) return problem("bad_onnx", "the ONNX model has no graph");
    // Names reach JSON, messages and ONNX Runtime Web's bindings: they must be text.
    auto names_ok = [](const auto& values) {
        for (const auto& v : values)
            if (!utf8_valid(v.name())) return false;
        return true;
    };
    const auto& g = m.graph();
    bool ok = names_ok(g.input()) && names_ok(g.output()) && names_ok(g.node()) && names_ok(g.initializer());
    for (const auto& n : g.node()) {
        for (const auto& x : n.input()) ok = ok && utf8_valid(x);
        for (const auto& x : n.output()) ok = ok && utf8_valid(x);
    }
    if (!ok)
        return problem("bad_onnx", "the ONNX model has an input, output or node name that is not valid UTF-8 text");
    return m;
}
Result<Ok> check(const onnx::ModelProto& m) {
    try {
        onnx::checker::check_model(m);
    } catch (const std::exception& ex) {
        return problem("onnx_check", std::string("the ONNX checker rejects the model: ") + ex.what());
    }
    return Ok{};
}
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] Export
//-----------------------------------------------------------------------------
namespace {
onnx::TensorProto float_scalar(const std::string& name, float v) {
    onnx::TensorProto t;
    t.set_name(name);
    t.set_data_type(onnx::TensorProto::FLOAT);
    t.add_float_data(v);
    return t;
}

onnx::TensorProto int64_vector(const std::string& name, int64_t v) {
    onnx::TensorProto t;
    t.set_name(name);
    t.set_data_type(onnx::TensorProto::INT64);
    t.add_dims(1);
    t.add_int64_data(v);
    return t;
}
}  // namespace

namespace {
// The node and leaf-weight attributes of a tree ensemble operator: every node (BRANCH_LT with
// XGBoost's missing-value direction, or LEAF) and one weight per leaf, under `prefix` ("class_"
// for TreeEnsembleClassifier, "target_" for TreeEnsembleRegressor). A leaf's id is its tree's
// output for softmax models, 0 otherwise (binary: ONNX Runtime's one-column "binary case").
void add_tree_attributes(onnx::NodeProto& n, const Ensemble& e, const std::string& prefix) {
    std::vector<int64_t> tree_ids, node_ids, feature_ids, true_ids, false_ids, missing_true, w_tree, w_node, w_ids;
    std::vector<float> values, weights;
    std::vector<std::string> modes;
    for (size_t t = 0; t < e.trees.size(); ++t)
        for (size_t i = 0; i < e.trees[t].nodes.size(); ++i) {
            const TreeNode& nd = e.trees[t].nodes[i];
            tree_ids.push_back(static_cast<int64_t>(t));
            node_ids.push_back(static_cast<int64_t>(i));
            modes.push_back(nd.leaf() ? "LEAF" : "BRANCH_LT");
            feature_ids.push_back(nd.leaf() ? 0 : nd.feature);
            values.push_back(nd.leaf() ? 0.0f : nd.threshold);
            true_ids.push_back(nd.leaf() ? 0 : nd.left);
            false_ids.push_back(nd.leaf() ? 0 : nd.right);
            missing_true.push_back(!nd.leaf() && nd.default_left ? 1 : 0);
            if (!nd.leaf()) continue;
            w_tree.push_back(static_cast<int64_t>(t));
            w_node.push_back(static_cast<int64_t>(i));
            w_ids.push_back(e.link == Link::softmax ? e.trees[t].output : 0);
            weights.push_back(static_cast<float>(nd.value));
        }
    attr_ints(n, "nodes_treeids", tree_ids);
    attr_ints(n, "nodes_nodeids", node_ids);
    attr_ints(n, "nodes_featureids", feature_ids);
    attr_floats(n, "nodes_values", values);
    attr_strings(n, "nodes_modes", modes);
    attr_ints(n, "nodes_truenodeids", true_ids);
    attr_ints(n, "nodes_falsenodeids", false_ids);
    attr_ints(n, "nodes_missing_value_tracks_true", missing_true);
    attr_ints(n, (prefix + "treeids").c_str(), w_tree);
    attr_ints(n, (prefix + "nodeids").c_str(), w_node);
    attr_ints(n, (prefix + "ids").c_str(), w_ids);
    attr_floats(n, (prefix + "weights").c_str(), weights);
}

// Regression: input[N,F] -> TreeEnsembleRegressor(SUM, NONE) -> margin[N,1] -> Identity -> value[N,1].
void add_regressor(onnx::GraphProto& g, const Ensemble& e) {
    const TreeOnnxNames names = tree_onnx_names(e.link);
    auto* n = g.add_node();
    n->set_op_type("TreeEnsembleRegressor");
    n->set_domain("ai.onnx.ml");
    n->set_name("trees");
    n->add_input(names.input);
    n->add_output(names.margin);
    attr_int(*n, "n_targets", 1);
    add_tree_attributes(*n, e, "target_");
    attr_floats(*n, "base_values", {static_cast<float>(e.base_margin[0])});
    attr_string(*n, "aggregate_function", "SUM");
    attr_string(*n, "post_transform", "NONE");
    auto* id = g.add_node();
    id->set_op_type("Identity");
    id->set_name("value");
    id->add_input(names.margin);
    id->add_output(names.output);
}
}  // namespace

Result<Bytes> onnx_export_trees(const Ensemble& e, std::string_view model_name) {
    const int k = num_classes(e);
    onnx::ModelProto m;
    m.set_ir_version(8);
    m.set_producer_name("localdx");
    m.set_producer_version("1");
    m.set_model_version(1);
    m.set_doc_string("LocalDx tree ensemble: " + std::string(model_name));
    auto* op = m.add_opset_import();
    op->set_domain("");
    op->set_version(15);
    op = m.add_opset_import();
    op->set_domain("ai.onnx.ml");
    op->set_version(3);  // ONNX Runtime Web accepts ml opsets 1-4

    const TreeOnnxNames names = tree_onnx_names(e.link);  // what the page runs (model info, "onnx")
    auto* g = m.mutable_graph();
    g->set_name(std::string(model_name));
    tensor_value(g->add_input(), names.input, onnx::TensorProto::FLOAT, {-1, e.num_features});
    tensor_value(g->add_output(), names.margin, onnx::TensorProto::FLOAT, {-1, e.num_outputs});
    if (e.link == Link::identity) {
        tensor_value(g->add_output(), names.output, onnx::TensorProto::FLOAT, {-1, 1});
        add_regressor(*g, e);
        if (auto ok = check(m); !ok) return ok.problems();
        Bytes out;
        m.SerializeToString(&out);
        return out;
    }
    tensor_value(g->add_output(), names.output, onnx::TensorProto::FLOAT, {-1, k});

    // A TreeEnsembleClassifier without post-transform: its scores are the raw margins. Multi-class:
    // one column per class (weights by the tree's class, base margin per class). Binary: every
    // weight under one class id and one base value, ONNX Runtime's "binary case", whose column 1
    // is the margin (column 0 is -m, or 1 - m when every leaf weight is positive: not used).
    auto* n = g->add_node();
    n->set_op_type("TreeEnsembleClassifier");
    n->set_domain("ai.onnx.ml");
    n->set_name("trees");
    n->add_input(names.input);
    n->add_output("label");
    n->add_output("scores");
    const bool binary = e.link == Link::logistic;
    std::vector<float> base;
    for (double b : e.base_margin) base.push_back(static_cast<float>(b));
    std::vector<int64_t> labels;
    for (int c = 0; c < k; ++c) labels.push_back(c);
    attr_ints(*n, "classlabels_int64s", labels);
    add_tree_attributes(*n, e, "class_");
    attr_floats(*n, "base_values", base);
    attr_string(*n, "post_transform", "NONE");

    // margin: the positive class's column (binary) or every column (multi-class).
    if (binary) {
        *g->add_initializer() = int64_vector("col_start", 1);
        *g->add_initializer() = int64_vector("col_end", 2);
        *g->add_initializer() = int64_vector("col_axis", 1);
        auto* sl = g->add_node();
        sl->set_op_type("Slice");
        sl->set_name("margin");
        for (const char* in : {"scores", "col_start", "col_end", "col_axis"}) sl->add_input(in);
        sl->add_output(names.margin);
    } else {
        auto* id = g->add_node();
        id->set_op_type("Identity");
        id->set_name("margin");
        id->add_input("scores");
        id->add_output(names.margin);
    }

    if (e.link == Link::softmax) {
        auto* sm = g->add_node();
        sm->set_op_type("Softmax");
        sm->set_name("softmax");
        sm->add_input(names.margin);
        sm->add_output(names.output);
        attr_int(*sm, "axis", 1);
    } else {
        // probabilities = [1 - sigmoid(m), sigmoid(m)]
        *g->add_initializer() = float_scalar("one", 1.0f);
        auto* sg = g->add_node();
        sg->set_op_type("Sigmoid");
        sg->set_name("sigmoid");
        sg->add_input(names.margin);
        sg->add_output("p_positive");
        auto* sub = g->add_node();
        sub->set_op_type("Sub");
        sub->set_name("complement");
        sub->add_input("one");
        sub->add_input("p_positive");
        sub->add_output("p_negative");
        auto* cat = g->add_node();
        cat->set_op_type("Concat");
        cat->set_name("probabilities");
        cat->add_input("p_negative");
        cat->add_input("p_positive");
        cat->add_output(names.output);
        attr_int(*cat, "axis", 1);
    }

    if (auto ok = check(m); !ok) return ok.problems();
    Bytes out;
    m.SerializeToString(&out);
    return out;
}

//-----------------------------------------------------------------------------
// [SECTION] Import
//-----------------------------------------------------------------------------
Result<Ensemble> onnx_import_trees(std::string_view onnx_bytes) {
    auto parsed = parse_model(onnx_bytes);
    if (!parsed) return parsed.problems();
    const onnx::GraphProto& g = parsed->graph();
    auto bad = [](std::string m) { return problem("bad_onnx", std::move(m)); };
    const onnx::NodeProto* tree_node = nullptr;
    for (const auto& n : g.node())
        if (n.domain() == "ai.onnx.ml" &&
            (n.op_type() == "TreeEnsembleClassifier" || n.op_type() == "TreeEnsembleRegressor")) {
            if (tree_node) return bad("the graph has more than one tree ensemble");
            tree_node = &n;
        }
    if (!tree_node) return bad("the graph has no ai.onnx.ml TreeEnsembleClassifier or TreeEnsembleRegressor");
    const bool classifier = tree_node->op_type() == "TreeEnsembleClassifier";
    std::map<std::string, const onnx::AttributeProto*> a;
    for (const auto& at : tree_node->attribute()) a[at.name()] = &at;
    auto ints = [&](const char* name) {
        std::vector<int64_t> v;
        if (a.count(name)) v.assign(a[name]->ints().begin(), a[name]->ints().end());
        return v;
    };
    auto floats = [&](const char* name) {
        std::vector<float> v;
        if (a.count(name)) v.assign(a[name]->floats().begin(), a[name]->floats().end());
        return v;
    };
    if (a.count("nodes_values_as_tensor") || a.count("class_weights_as_tensor") || a.count("target_weights_as_tensor"))
        return bad("tensor-valued tree attributes (double precision) are not supported");
    const auto tree_ids = ints("nodes_treeids"), node_ids = ints("nodes_nodeids"),
               feature_ids = ints("nodes_featureids");
    const auto true_ids = ints("nodes_truenodeids"), false_ids = ints("nodes_falsenodeids");
    auto missing_true = ints("nodes_missing_value_tracks_true");
    const auto values = floats("nodes_values");
    std::vector<std::string> modes;
    if (a.count("nodes_modes")) modes.assign(a["nodes_modes"]->strings().begin(), a["nodes_modes"]->strings().end());
    const char* prefix = classifier ? "class_" : "target_";
    const auto w_tree = ints((std::string(prefix) + "treeids").c_str());
    const auto w_node = ints((std::string(prefix) + "nodeids").c_str());
    const auto w_id = ints((std::string(prefix) + "ids").c_str());
    const auto w_val = floats((std::string(prefix) + "weights").c_str());
    const size_t n = tree_ids.size();
    if (n == 0 || node_ids.size() != n || feature_ids.size() != n || true_ids.size() != n || false_ids.size() != n ||
        values.size() != n || modes.size() != n)
        return bad("the node attribute arrays are missing or differ in length");
    if (missing_true.empty()) missing_true.assign(n, 0);
    if (missing_true.size() != n) return bad("nodes_missing_value_tracks_true has the wrong length");
    if (w_tree.size() != w_node.size() || w_id.size() != w_tree.size() || w_val.size() != w_tree.size())
        return bad("the leaf weight arrays differ in length");
    std::string post = "NONE";
    if (a.count("post_transform")) post = a["post_transform"]->s();

    // Tree ids -> our trees; node ids -> indices within a tree.
    std::map<int64_t, std::map<int64_t, size_t>> index;  // tree -> node id -> position
    for (size_t i = 0; i < n; ++i) {
        if (index[tree_ids[i]].count(node_ids[i]))
            return bad("node " + std::to_string(node_ids[i]) + " of tree " + std::to_string(tree_ids[i]) +
                       " is defined twice");
        index[tree_ids[i]][node_ids[i]] = 0;
    }
    std::set<int64_t> classes(w_id.begin(), w_id.end());
    int64_t num_labels = classifier
                             ? (a.count("classlabels_int64s") ? a["classlabels_int64s"]->ints_size() : 0) +
                                   (a.count("classlabels_strings") ? a["classlabels_strings"]->strings_size() : 0)
                             : (a.count("n_targets") ? a["n_targets"]->i() : 1);
    Ensemble e;
    int64_t max_feature = 0;
    for (auto f : feature_ids) max_feature = std::max(max_feature, f);
    e.num_features = static_cast<int>(max_feature + 1);
    if (!g.input().empty() && g.input(0).type().tensor_type().shape().dim_size() == 2 &&
        g.input(0).type().tensor_type().shape().dim(1).has_dim_value())
        e.num_features = static_cast<int>(g.input(0).type().tensor_type().shape().dim(1).dim_value());
    const auto base_values = floats("base_values");
    // Which margin each weight adds to, and the link.
    if (!classifier && num_labels == 1 && post == "NONE") {  // a regressor: the value itself
        e.link = Link::identity;
        e.num_outputs = 1;
        e.base_margin = {base_values.empty() ? 0.0 : static_cast<double>(base_values[0])};
    } else if ((classifier && num_labels == 2 && classes.size() == 1) || (!classifier && num_labels == 1)) {
        if (post != "LOGISTIC" && post != "NONE")
            return bad("a binary tree model needs post_transform LOGISTIC (found " + post + ")");
        e.link = Link::logistic;
        e.num_outputs = 1;
        e.base_margin = {base_values.empty() ? 0.0 : static_cast<double>(base_values.back())};
    } else if (num_labels >= 2) {
        if (post != "SOFTMAX" && post != "NONE")
            return bad("post_transform " + post + " is not supported for multi-class trees");
        e.link = Link::softmax;
        e.num_outputs = static_cast<int>(num_labels);
        e.base_margin.assign(static_cast<size_t>(num_labels), 0.0);
        for (size_t i = 0; i < base_values.size() && i < e.base_margin.size(); ++i) e.base_margin[i] = base_values[i];
    } else {
        return bad("this tree ensemble's outputs are not supported (" + std::to_string(num_labels) + " targets)");
    }

    for (auto& [tid, nodes] : index) {
        Tree t;
        size_t pos = 0;
        for (auto& [nid, p] : nodes) p = pos++;
        t.nodes.resize(nodes.size());
        e.trees.push_back(std::move(t));
    }
    std::map<int64_t, size_t> tree_pos;
    {
        size_t p = 0;
        for (auto& [tid, nodes] : index) tree_pos[tid] = p++;
    }
    for (size_t i = 0; i < n; ++i) {
        Tree& t = e.trees[tree_pos[tree_ids[i]]];
        auto& ix = index[tree_ids[i]];
        TreeNode& nd = t.nodes[ix[node_ids[i]]];
        if (modes[i] == "LEAF") continue;
        if (modes[i] != "BRANCH_LT")
            return bad(modes[i] + " splits are not supported (only BRANCH_LT, XGBoost's x < threshold)");
        if (!ix.count(true_ids[i]) || !ix.count(false_ids[i])) return bad("a node's child is not defined");
        nd.left = static_cast<int32_t>(ix[true_ids[i]]);
        nd.right = static_cast<int32_t>(ix[false_ids[i]]);
        nd.feature = static_cast<int32_t>(feature_ids[i]);
        nd.threshold = values[i];
        nd.default_left = missing_true[i] != 0;
    }
    // Leaf weights; a tree's output is the class of its (first) weight.
    std::vector<bool> output_set(e.trees.size(), false);
    for (size_t i = 0; i < w_tree.size(); ++i) {
        if (!tree_pos.count(w_tree[i]) || !index[w_tree[i]].count(w_node[i]))
            return bad("a leaf weight names an unknown node");
        Tree& t = e.trees[tree_pos[w_tree[i]]];
        TreeNode& nd = t.nodes[index[w_tree[i]][w_node[i]]];
        if (!nd.leaf()) return bad("a weight is attached to a branch node");
        double w = w_val[i];
        int out = 0;
        if (e.link == Link::softmax) out = static_cast<int>(w_id[i]);
        if (out < 0 || out >= e.num_outputs) return bad("a leaf weight names class " + std::to_string(w_id[i]));
        if (output_set[tree_pos[w_tree[i]]] && t.output != out)
            return bad("a tree adds to more than one class, which the explainer does not support");
        t.output = out;
        output_set[tree_pos[w_tree[i]]] = true;
        nd.value += w;
    }
    // A regressor's aggregate: SUM as XGBoost, or AVERAGE (a random forest): each leaf divided by the
    // number of trees gives the same sum.
    if (!classifier && a.count("aggregate_function")) {
        const std::string agg = a["aggregate_function"]->s();
        if (agg == "AVERAGE") {
            for (Tree& t : e.trees)
                for (TreeNode& nd : t.nodes)
                    if (nd.leaf()) nd.value /= static_cast<double>(e.trees.size());
        } else if (agg != "SUM") {
            return bad("aggregate_function " + agg + " is not supported (SUM or AVERAGE)");
        }
    }
    // Node 0 must be the root: the parentless node.
    for (size_t ti = 0; ti < e.trees.size(); ++ti) {
        Tree& t = e.trees[ti];
        std::vector<bool> has_parent(t.nodes.size(), false);
        for (const auto& nd : t.nodes)
            if (!nd.leaf()) {
                has_parent[static_cast<size_t>(nd.left)] = true;
                has_parent[static_cast<size_t>(nd.right)] = true;
            }
        if (has_parent[0]) return bad("tree " + std::to_string(ti) + ": the first node is not the root");
        for (auto& nd : t.nodes) nd.cover = 1;  // placeholder until recounted from reference data
    }
    e.covers = "none";
    if (auto ok = ensemble_check(e); !ok) return ok.problems();
    ensemble_prepare(e);
    return e;
}

//-----------------------------------------------------------------------------
// [SECTION] Inspection
//-----------------------------------------------------------------------------
Result<OnnxInfo> onnx_inspect(std::string_view onnx_bytes) {
    auto m = parse_model(onnx_bytes);
    if (!m) return m.problems();
    if (auto ok = check(*m); !ok) return ok.problems();
    for (const auto& o : m->opset_import())
        if (o.domain() == "ai.onnx.ml" && o.version() > 4)
            return problem("unsupported_operator", "the model imports ai.onnx.ml opset " + std::to_string(o.version()) +
                                                       "; ONNX Runtime Web runs ml opsets 1 to 4");
    OnnxInfo info;
    std::set<std::string> initializers;
    for (const auto& t : m->graph().initializer()) initializers.insert(t.name());
    for (const auto& n : m->graph().node()) {
        if (!n.domain().empty() && n.domain() != "ai.onnx" && n.domain() != "ai.onnx.ml")
            return problem(
                "unsupported_operator",
                "operator " + n.domain() + ":" + n.op_type() + (n.name().empty() ? "" : " (node '" + n.name() + "')") +
                    " is outside the standard ONNX domains (ai.onnx, ai.onnx.ml); ONNX Runtime Web cannot run it");
        const std::string op =
            n.domain().empty() || n.domain() == "ai.onnx" ? n.op_type() : n.domain() + ":" + n.op_type();
        if (std::find(info.operators.begin(), info.operators.end(), op) == info.operators.end())
            info.operators.push_back(op);
        if (n.domain() == "ai.onnx.ml" &&
            (n.op_type() == "TreeEnsembleClassifier" || n.op_type() == "TreeEnsembleRegressor"))
            info.tree_ensemble = true;
        if (n.op_type() == "IsNaN" || (n.domain() == "ai.onnx.ml" && n.op_type() == "Imputer"))
            info.handles_missing = true;
    }
    auto tensor = [](const onnx::ValueInfoProto& v) {
        OnnxTensor t;
        t.name = v.name();
        t.is_float = v.type().tensor_type().elem_type() == onnx::TensorProto::FLOAT;
        for (const auto& d : v.type().tensor_type().shape().dim())
            t.dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
        return t;
    };
    for (const auto& i : m->graph().input())
        if (!initializers.count(i.name())) info.inputs.push_back(tensor(i));
    for (const auto& o : m->graph().output()) info.outputs.push_back(tensor(o));
    return info;
}

}  // namespace ldx
