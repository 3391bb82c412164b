// shared/trees/ensemble.h — gradient-boosted tree ensembles: layout, walk, import, checks.
//
// Index of this file
//   [SECTION] Layout (flat node arrays per tree)
//   [SECTION] Prediction: margin and probabilities
//   [SECTION] Structure checks
//   [SECTION] Import from XGBoost's JSON model, (de)serialisation for bundles (JSON and binary)
//   [SECTION] Covers recounted from reference data (for models that carry none)
//
// Semantics are XGBoost's: a node sends x left when float(x) < threshold, and a missing (NaN)
// value follows the node's default direction. Tree t adds its leaf value to output tree.output.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/json.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Layout
//-----------------------------------------------------------------------------
struct TreeNode {
    int32_t left = -1;  // -1 at a leaf
    int32_t right = -1;
    int32_t feature = 0;
    float threshold = 0;
    uint8_t default_left = 1;
    double value = 0;  // leaf value (learning rate applied); unused at internal nodes
    double cover = 0;  // training weight reaching this node (XGBoost's sum_hessian)

    bool leaf() const { return left < 0; }
};

struct Tree {
    std::vector<TreeNode> nodes;  // node 0 is the root
    int output = 0;               // which margin this tree adds to (class for multiclass)
    // Derived by ensemble_prepare():
    std::vector<double> mean;  // cover-weighted mean leaf value below each node (TreeSHAP's expectation)
    int depth = 0;             // longest root-to-leaf path, in edges
};

// logistic: one output, P(positive) = 1 / (1 + exp(-margin)); softmax: one output per class;
// identity: one output, the predicted value itself (regression).
enum class Link { logistic, softmax, identity };

struct Ensemble {
    int num_features = 0;
    int num_outputs = 1;  // 1 for binary (logistic), K for multiclass (softmax)
    Link link = Link::logistic;
    std::vector<double> base_margin;  // per output
    std::vector<Tree> trees;
    std::string covers = "training";  // where node covers come from: "training" or "reference:<rows>"
    int max_depth = 0;                // derived
};

// Computes the derived data (means, depths). Call after building or changing an ensemble.
void ensemble_prepare(Ensemble& e);

// The tensors of the ONNX graph an ensemble is exported to (server/onnx/onnx_trees.cpp), which
// ONNX Runtime runs beside the core: the features [N, F] in `input`, the margins [N, O] in
// `margin`, and in `output` the class probabilities [N, K] or, for a regression (identity link),
// the predicted value [N, 1]. The model info names them to the page (client/core_api.h).
struct TreeOnnxNames {
    const char* input;
    const char* margin;
    const char* output;
};
constexpr TreeOnnxNames tree_onnx_names(Link link) {
    return {"input", "margin", link == Link::identity ? "value" : "probabilities"};
}

//-----------------------------------------------------------------------------
// [SECTION] Prediction
//-----------------------------------------------------------------------------
// Index of the leaf that x reaches in tree t.
int tree_leaf(const Tree& t, std::span<const float> x);
// Margins (num_outputs values) for one feature vector.
void ensemble_margin(const Ensemble& e, std::span<const float> x, std::span<double> margin);
std::vector<double> ensemble_margin(const Ensemble& e, std::span<const float> x);
// Class probabilities from margins: logistic gives [1-p, p]; softmax gives K values; identity
// gives the one predicted value.
std::vector<double> probabilities_from_margin(Link link, std::span<const double> margin);
int num_classes(const Ensemble& e);

//-----------------------------------------------------------------------------
// [SECTION] Structure checks
//-----------------------------------------------------------------------------
// Problems "bad_tree": child index out of range, a node reached twice (a cycle or shared
// subtree), feature index beyond num_features, non-finite thresholds/values, negative covers,
// depth over 64, a tree output beyond num_outputs.
Result<Ok> ensemble_check(const Ensemble& e);

//-----------------------------------------------------------------------------
// [SECTION] Import and (de)serialisation
//-----------------------------------------------------------------------------
// XGBoost's own JSON model (Booster.save_model("m.json"), 1.6-2.x): binary:logistic,
// binary:logitraw, multi:softprob, multi:softmax, and the regressions reg:squarederror,
// reg:pseudohubererror, reg:absoluteerror (identity link). Problems "bad_model" name what is missing.
Result<Ensemble> ensemble_from_xgboost_json(std::string_view json_text);

// Our bundle member "trees.json" (bundles made before the binary member; still read).
Json ensemble_to_json(const Ensemble& e);
Result<Ensemble> ensemble_from_json(const Json& j);

// Our bundle member "trees.bin": the same ensemble in a versioned binary form that is read without
// parsing text (a 10 MB model loads in milliseconds). Little-endian throughout:
//   "LDXT", u32 version (1), u32 num_features, u32 num_outputs, u8 link (0 logistic, 1 softmax,
//   2 identity), u8[3] zero, u32 covers length + its bytes, f64 base_margin[num_outputs],
//   u32 tree count, then per tree: u32 output, u32 node count n, i32 left[n], i32 right[n],
//   i32 feature[n], f32 threshold[n], u8 default_left[n], f64 value[n], f64 cover[n].
// Every count and length is checked against the bytes left before anything is read, then the
// structure as ensemble_check does. Problems "bad_tree" say what is wrong and where.
std::string ensemble_to_binary(const Ensemble& e);
Result<Ensemble> ensemble_from_binary(std::string_view bytes);

//-----------------------------------------------------------------------------
// [SECTION] Covers recounted from reference data
//-----------------------------------------------------------------------------
// Sets each node's cover to the number of `rows` (row-major, num_features each) that reach it,
// plus 0.5 per leaf so that no node has zero weight. Marks covers = "reference:<rows>".
void ensemble_recount_covers(Ensemble& e, std::span<const float> rows);

}  // namespace ldx
