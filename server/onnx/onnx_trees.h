// server/onnx/onnx_trees.h — ONNX for tree ensembles: export, import, and the ONNX checker.
//
// Index of this file
//   [SECTION] Export (ai.onnx.ml TreeEnsembleClassifier without post-transform, ml opset 3)
//   [SECTION] Import (TreeEnsembleClassifier/Regressor made anywhere)
//   [SECTION] Inspection (what kind of model an ONNX file is)
//
// Our exported graph:  input[N,F] -> TreeEnsembleClassifier(post_transform NONE) -> scores[N,K]
//   multi-class: margin = scores;       margin[N,K] -> Softmax(axis 1)                    -> probabilities[N,K]
//   binary:      margin = scores[:, 1]; margin[N,1] -> Concat(1 - Sigmoid(m), Sigmoid(m)) -> probabilities[N,2]
// (binary: one weight column and one base value, ONNX Runtime's "binary case", which writes the
// margin in score column 1), so ONNX Runtime reports the raw margin itself and the browser checks
// base + sum(phi) against it.
//   regression:  input[N,F] -> TreeEnsembleRegressor(SUM, post_transform NONE) -> margin[N,1] -> Identity -> value[N,1]
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "bundle/crypto.h"
#include "trees/ensemble.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Export
//-----------------------------------------------------------------------------
// Runs the ONNX checker on the result; a failure is a Problem "onnx_check".
Result<Bytes> onnx_export_trees(const Ensemble& e, std::string_view model_name);

//-----------------------------------------------------------------------------
// [SECTION] Import
//-----------------------------------------------------------------------------
// Reads the one TreeEnsembleClassifier or TreeEnsembleRegressor of a graph. A regressor with one
// target is a regression model (identity link) when its post_transform is NONE, and a logistic
// binary model when it is LOGISTIC. Node covers are not in ONNX: the caller recounts
// them (ensemble_recount_covers) from reference data. Problems "bad_onnx" say what is wrong or
// unsupported (e.g. "BRANCH_LEQ splits are not supported").
Result<Ensemble> onnx_import_trees(std::string_view onnx_bytes);

//-----------------------------------------------------------------------------
// [SECTION] Inspection
//-----------------------------------------------------------------------------
struct OnnxTensor {
    std::string name;
    bool is_float = false;      // element type float32
    std::vector<int64_t> dims;  // -1 where the dimension is not fixed (the batch)
};
struct OnnxInfo {
    std::vector<std::string> operators;       // "ai.onnx.ml:TreeEnsembleClassifier", "Gemm", ...
    std::vector<OnnxTensor> inputs, outputs;  // graph inputs that are not initializers; outputs
    bool tree_ensemble = false;
    bool handles_missing = false;  // has a step that replaces NaN (IsNaN, ai.onnx.ml:Imputer)
};
// Parses and runs the ONNX checker. Problems: "bad_onnx" (not an ONNX model), "onnx_check",
// "unsupported_operator" (an operator outside the standard domains ai.onnx and ai.onnx.ml, which
// ONNX Runtime Web does not have, or ai.onnx.ml opset 5 and later, which it rejects).
Result<OnnxInfo> onnx_inspect(std::string_view onnx_bytes);

}  // namespace ldx
