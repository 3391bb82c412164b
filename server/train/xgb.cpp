// server/train/xgb.cpp — see xgb.h.
#include "train/xgb.h"

#include <xgboost/c_api.h>

#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>

namespace ldx {

Matrix matrix_select_rows(const Matrix& m, std::span<const size_t> rows) {
    Matrix out{rows.size(), m.cols, {}};
    out.data.reserve(rows.size() * m.cols);
    for (size_t r : rows)
        out.data.insert(out.data.end(), m.data.begin() + static_cast<long>(r * m.cols),
                        m.data.begin() + static_cast<long>((r + 1) * m.cols));
    return out;
}

namespace {
std::string last_error() { return XGBGetLastError(); }

using DMatrix = std::unique_ptr<void, int (*)(DMatrixHandle)>;

Result<DMatrix> make_dmatrix(const Matrix& x, std::span<const float> labels, std::span<const float> weights) {
    DMatrixHandle h = nullptr;
    if (XGDMatrixCreateFromMat(x.data.data(), x.rows, x.cols, NAN, &h) != 0)
        return problem("xgboost", "cannot build a DMatrix: " + last_error());
    DMatrix d(h, XGDMatrixFree);
    if (!labels.empty() && XGDMatrixSetFloatInfo(h, "label", labels.data(), labels.size()) != 0)
        return problem("xgboost", "cannot set labels: " + last_error());
    if (!weights.empty() && XGDMatrixSetFloatInfo(h, "weight", weights.data(), weights.size()) != 0)
        return problem("xgboost", "cannot set weights: " + last_error());
    return d;
}

double parse_eval(const char* line) {
    // "[3]\ttrain-logloss:0.1\teval-logloss:0.2": the value after the last ':'
    std::string s(line);
    const auto p = s.rfind(':');
    return p == std::string::npos ? NAN : std::strtod(s.c_str() + p + 1, nullptr);
}
}  // namespace

Result<XgbBooster> XgbBooster::train(const Matrix& x, std::span<const float> labels, std::span<const float> weights,
                                     const Params& params, int rounds, const Matrix* eval_x,
                                     std::span<const float> eval_labels, const Progress& progress) {
    auto dtrain = make_dmatrix(x, labels, weights);
    if (!dtrain) return dtrain.problems();
    std::optional<DMatrix> deval;
    if (eval_x) {
        auto d = make_dmatrix(*eval_x, eval_labels, {});
        if (!d) return d.problems();
        deval.emplace(std::move(*d));
    }
    DMatrixHandle cache[] = {dtrain->get()};
    BoosterHandle b = nullptr;
    if (XGBoosterCreate(cache, 1, &b) != 0) return problem("xgboost", "cannot create a booster: " + last_error());
    XgbBooster out;
    out.handle_ = std::shared_ptr<void>(b, [](void* p) { XGBoosterFree(p); });
    for (const auto& [k, v] : params)
        if (XGBoosterSetParam(b, k.c_str(), v.c_str()) != 0)
            return problem("xgboost", "parameter " + k + "=" + v + ": " + last_error());
    for (int i = 0; i < rounds; ++i) {
        if (XGBoosterUpdateOneIter(b, i, dtrain->get()) != 0)
            return problem("xgboost", "training failed: " + last_error());
        if (deval && progress) {
            DMatrixHandle sets[] = {deval->get()};
            const char* names[] = {"eval"};
            const char* line = nullptr;
            if (XGBoosterEvalOneIter(b, i, sets, names, 1, &line) != 0)
                return problem("xgboost", "evaluation failed: " + last_error());
            if (!progress(i, parse_eval(line))) break;
        }
    }
    return out;
}

Result<XgbBooster> XgbBooster::load_json(const std::string& json) {
    BoosterHandle b = nullptr;
    if (XGBoosterCreate(nullptr, 0, &b) != 0) return problem("xgboost", "cannot create a booster: " + last_error());
    XgbBooster out;
    out.handle_ = std::shared_ptr<void>(b, [](void* p) { XGBoosterFree(p); });
    if (XGBoosterLoadModelFromBuffer(b, json.data(), json.size()) != 0)
        return problem("xgboost", "cannot load the model: " + last_error());
    return out;
}

bool XgbBooster::set_param(const std::string& key, const std::string& value) {
    return XGBoosterSetParam(handle_.get(), key.c_str(), value.c_str()) == 0;
}

std::string XgbBooster::save_json() const {
    bst_ulong len = 0;
    const char* data = nullptr;
    if (XGBoosterSaveModelToBuffer(handle_.get(), R"({"format": "json"})", &len, &data) != 0) return {};
    return std::string(data, len);
}

std::vector<float> XgbBooster::predict(const Matrix& x, int type, int iteration_end) const {
    auto d = make_dmatrix(x, {}, {});
    if (!d) return {};
    const std::string config = R"({"type": )" + std::to_string(type) +
                               R"(, "training": false, "iteration_begin": 0, "iteration_end": )" +
                               std::to_string(iteration_end) + R"(, "strict_shape": false})";
    const bst_ulong* shape = nullptr;
    bst_ulong dim = 0;
    const float* result = nullptr;
    if (XGBoosterPredictFromDMatrix(handle_.get(), d->get(), config.c_str(), &shape, &dim, &result) != 0) return {};
    size_t n = 1;
    for (bst_ulong i = 0; i < dim; ++i) n *= shape[i];
    return std::vector<float>(result, result + n);
}

}  // namespace ldx
