// server/train/xgb.h — XGBoost through its C API (libxgboost-dev): training and reference output.
//
// Index of this file
//   [SECTION] Dense matrix
//   [SECTION] Booster (RAII over BoosterHandle)
//   [SECTION] Data in batches (external memory) and the collective (distributed training)
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
    // The same on XGBoost data already built (XgbData: in memory, or external memory in batches).
    static Result<XgbBooster> train(const class XgbData& train, const Params& params, int rounds,
                                    const class XgbData* eval = nullptr, const Progress& progress = {});
    static Result<XgbBooster> load_json(const std::string& json);

    std::string save_json() const;
    bool set_param(const std::string& key, const std::string& value);
    // type: 0 probabilities, 1 margin, 2 exact contributions (pred_contribs). iteration_end 0 = all.
    // Building the DMatrix is an allreduce when a collective is joined (XGBoost 1.7).
    std::vector<float> predict(const Matrix& x, int type, int iteration_end = 0) const;
    // Type 0 or 1 straight from the dense values (XGBoosterPredictFromDense): no DMatrix, so no
    // collective call; the same floats as predict.
    std::vector<float> predict_dense(const Matrix& x, int type, int iteration_end = 0) const;

private:
    std::shared_ptr<void> handle_;
};

//-----------------------------------------------------------------------------
// [SECTION] Data in batches and the collective
//-----------------------------------------------------------------------------
// Rows handed to XGBoost a batch at a time: reset() starts again at the first batch; next() fills
// the batch (features, labels, weights: empty for none) and returns false at the end.
class BatchSource {
public:
    virtual ~BatchSource() = default;
    virtual void reset() = 0;
    virtual Result<bool> next(Matrix& x, std::vector<float>& labels, std::vector<float>& weights) = 0;
};

// An XGBoost DMatrix. `external` builds it through XGDMatrixCreateFromCallback: XGBoost reads the
// batches (several passes) and keeps its own pages in files starting with `cache_prefix` (their
// folder must exist); they are deleted with the matrix.
class XgbData {
public:
    static Result<XgbData> in_memory(const Matrix& x, std::span<const float> labels, std::span<const float> weights);
    static Result<XgbData> external(BatchSource& source, const std::string& cache_prefix);
    // `quantile` builds it through XGQuantileDMatrixCreateFromCallback: XGBoost reads the batches
    // twice (a quantile sketch, then each row's histogram bins) and keeps only the bins (a byte a
    // feature at max_bin <= 256), never the values. `ref`, the training data, gives held-out data
    // the training data's bins; the booster's tree_method must be hist and its max_bin the same.
    static Result<XgbData> quantile(BatchSource& source, const XgbData* ref, int max_bin);
    void* handle() const { return handle_.get(); }
    static XgbData adopt(std::shared_ptr<void> handle) {  // a DMatrixHandle and how to free it
        XgbData d;
        d.handle_ = std::move(handle);
        return d;
    }

private:
    std::shared_ptr<void> handle_;
};

// XGBoost's collective communicator (Rabit in XGBoost 1.7): joined through a tracker (the one of
// python3-xgboost, xgboost.tracker.RabitTracker) at host:port as task `task`. Allreduce sums in
// place across every worker. Finalised when the last copy goes.
class XgbCollective {
public:
    static Result<XgbCollective> join(const std::string& host, int port, int task, int world);
    int rank() const;
    int world() const;
    Result<bool> sum(std::span<double> values) const;
    // The largest of every worker's `mine`.
    Result<size_t> most(size_t mine) const;

private:
    std::shared_ptr<void> token_;
};

}  // namespace ldx
