// server/train/xgb.h — XGBoost through its C API (libxgboost-dev): training and reference output.
//
// Index of this file
//   [SECTION] Dense matrix
//   [SECTION] Booster (RAII over BoosterHandle)
//
// Native only (the CLI and the tests). The browser never sees XGBoost: it gets the trees
// through shared/trees and the ONNX model through ONNX Runtime Web.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Dense matrix
//-----------------------------------------------------------------------------
struct Matrix {
    size_t rows = 0, cols = 0;
    std::vector<float> data;  // row-major; NaN = missing
    std::span<const float> row(size_t i) const { return std::span<const float>(data).subspan(i * cols, cols); }
};

Matrix matrix_select_rows(const Matrix& m, std::span<const size_t> rows);

//-----------------------------------------------------------------------------
// [SECTION] Booster
//-----------------------------------------------------------------------------
class XgbBooster {
public:
    using Params = std::map<std::string, std::string>;
    // Called after each round with the evaluation line ("[3]\ttrain-mlogloss:..\teval-mlogloss:..").
    using Progress = std::function<bool(int round, double eval_metric)>;  // false stops

    // Trains `rounds` rounds. With an eval set, `progress` receives the eval metric each round.
    static Result<XgbBooster> train(const Matrix& x, std::span<const float> labels, std::span<const float> weights,
                                    const Params& params, int rounds, const Matrix* eval_x = nullptr,
                                    std::span<const float> eval_labels = {}, const Progress& progress = {});
    static Result<XgbBooster> load_json(const std::string& json);

    std::string save_json() const;
    bool set_param(const std::string& key, const std::string& value);
    // type: 0 probabilities, 1 margin, 2 exact contributions (pred_contribs). iteration_end 0 = all.
    std::vector<float> predict(const Matrix& x, int type, int iteration_end = 0) const;

private:
    std::shared_ptr<void> handle_;
};

}  // namespace ldx
