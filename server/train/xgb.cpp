// server/train/xgb.cpp — see xgb.h.
//
// Index of this file
//   [SECTION] Dense matrix
//   [SECTION] Data (in memory, external memory)
//   [SECTION] Booster
//   [SECTION] Collective
#include "train/xgb.h"

#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "base/json.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Dense matrix
//-----------------------------------------------------------------------------
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

std::optional<Problem> set_info(DMatrixHandle h, std::span<const float> labels, std::span<const float> weights) {
    if (!labels.empty() && XGDMatrixSetFloatInfo(h, "label", labels.data(), labels.size()) != 0)
        return problem("xgboost", "cannot set labels: " + last_error());
    if (!weights.empty() && XGDMatrixSetFloatInfo(h, "weight", weights.data(), weights.size()) != 0)
        return problem("xgboost", "cannot set weights: " + last_error());
    return std::nullopt;
}

double parse_eval(const char* line) {
    // "[3]\ttrain-logloss:0.1\teval-logloss:0.2": the value after the last ':'
    std::string s(line);
    const auto p = s.rfind(':');
    return p == std::string::npos ? NAN : std::strtod(s.c_str() + p + 1, nullptr);
}
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] Data
//-----------------------------------------------------------------------------
Result<XgbData> XgbData::in_memory(const Matrix& x, std::span<const float> labels, std::span<const float> weights) {
    DMatrixHandle h = nullptr;
    if (XGDMatrixCreateFromMat(x.data.data(), x.rows, x.cols, NAN, &h) != 0)
        return problem("xgboost", "cannot build a DMatrix: " + last_error());
    XgbData d;
    d.handle_ = std::shared_ptr<void>(h, [](void* p) { XGDMatrixFree(p); });
    if (auto p = set_info(h, labels, weights)) return *p;
    return d;
}

namespace {
// The iterator XGBoost calls back: the batch stays alive until the next call.
struct Feed {
    BatchSource* source = nullptr;
    DMatrixHandle proxy = nullptr;
    Matrix x;
    std::vector<float> labels, weights;
    std::optional<Problem> error;
};

void feed_reset(DataIterHandle h) { static_cast<Feed*>(h)->source->reset(); }

int feed_next(DataIterHandle h) {
    auto* f = static_cast<Feed*>(h);
    auto more = f->source->next(f->x, f->labels, f->weights);
    if (!more) {
        f->error = more.problems().front();
        return 0;
    }
    if (!*more) return 0;
    char iface[200];
    std::snprintf(iface, sizeof iface, R"({"data": [%llu, true], "shape": [%zu, %zu], "typestr": "<f4", "version": 3})",
                  static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(f->x.data.data())), f->x.rows, f->x.cols);
    if (XGProxyDMatrixSetDataDense(f->proxy, iface) != 0) {
        f->error = problem("xgboost", "cannot hand a batch to XGBoost: " + last_error());
        return 0;
    }
    if (auto p = set_info(f->proxy, f->labels, f->weights)) {
        f->error = *p;
        return 0;
    }
    return 1;
}

void remove_cache(const std::string& prefix) {
    namespace fs = std::filesystem;
    const fs::path p(prefix);
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(p.parent_path(), ec))
        if (e.path().filename().string().starts_with(p.filename().string())) fs::remove(e.path(), ec);
}
}  // namespace

namespace {
// A proxy for `feed`, and the handle of the matrix `create` builds from it, or the problem.
template <typename Create>
Result<XgbData> from_batches(BatchSource& source, Create create, const std::function<void()>& cleanup,
                             const std::string& what) {
    auto feed = std::make_shared<Feed>();
    feed->source = &source;
    if (XGProxyDMatrixCreate(&feed->proxy) != 0) return problem("xgboost", "cannot create a proxy: " + last_error());
    std::shared_ptr<void> proxy(feed->proxy, [](void* p) { XGDMatrixFree(p); });
    DMatrixHandle h = nullptr;
    const int rc = create(feed.get(), &h);
    if (feed->error) {
        if (rc == 0) XGDMatrixFree(h);
        cleanup();
        return *feed->error;
    }
    if (rc != 0) {
        cleanup();
        return problem("xgboost", "cannot build " + what + ": " + last_error());
    }
    return XgbData::adopt(std::shared_ptr<void>(h, [feed, proxy, cleanup](void* p) {
        XGDMatrixFree(p);
        cleanup();
    }));
}
}  // namespace

Result<XgbData> XgbData::external(BatchSource& source, const std::string& cache_prefix) {
    remove_cache(cache_prefix);
    // XGBoost's JSON reads NaN (nlohmann's would write null).
    const std::string config =
        R"({"missing": NaN, "nthread": 1, "cache_prefix": )" + json_dump(Json(cache_prefix)) + "}";
    return from_batches(
        source,
        [&](Feed* f, DMatrixHandle* h) {
            return XGDMatrixCreateFromCallback(f, f->proxy, feed_reset, feed_next, config.c_str(), h);
        },
        [cache_prefix] { remove_cache(cache_prefix); }, "the external-memory matrix in " + cache_prefix);
}

Result<XgbData> XgbData::quantile(BatchSource& source, const XgbData* ref, int max_bin) {
    const std::string config = R"({"missing": NaN, "nthread": 1, "max_bin": )" + std::to_string(max_bin) + "}";
    return from_batches(
        source,
        [&](Feed* f, DMatrixHandle* h) {
            return XGQuantileDMatrixCreateFromCallback(f, f->proxy, ref ? ref->handle() : nullptr, feed_reset,
                                                       feed_next, config.c_str(), h);
        },
        [] {}, "the quantised matrix");
}

//-----------------------------------------------------------------------------
// [SECTION] Booster
//-----------------------------------------------------------------------------

Result<XgbBooster> XgbBooster::train(const Matrix& x, std::span<const float> labels, std::span<const float> weights,
                                     const Params& params, int rounds, const Matrix* eval_x,
                                     std::span<const float> eval_labels, const Progress& progress) {
    auto dtrain = XgbData::in_memory(x, labels, weights);
    if (!dtrain) return dtrain.problems();
    std::optional<XgbData> deval;
    if (eval_x) {
        auto d = XgbData::in_memory(*eval_x, eval_labels, {});
        if (!d) return d.problems();
        deval.emplace(std::move(*d));
    }
    return train(*dtrain, params, rounds, deval ? &*deval : nullptr, progress);
}

Result<XgbBooster> XgbBooster::train(const XgbData& dtrain, const Params& params, int rounds, const XgbData* deval,
                                     const Progress& progress) {
    DMatrixHandle cache[] = {dtrain.handle()};
    BoosterHandle b = nullptr;
    if (XGBoosterCreate(cache, 1, &b) != 0) return problem("xgboost", "cannot create a booster: " + last_error());
    XgbBooster out;
    out.handle_ = std::shared_ptr<void>(b, [](void* p) { XGBoosterFree(p); });
    for (const auto& [k, v] : params)
        if (XGBoosterSetParam(b, k.c_str(), v.c_str()) != 0)
            return problem("xgboost", "parameter " + k + "=" + v + ": " + last_error());
    for (int i = 0; i < rounds; ++i) {
        if (XGBoosterUpdateOneIter(b, i, dtrain.handle()) != 0)
            return problem("xgboost", "training failed: " + last_error());
        if (deval && progress) {
            DMatrixHandle sets[] = {deval->handle()};
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
    auto d = XgbData::in_memory(x, {}, {});
    if (!d) return {};
    const std::string config = R"({"type": )" + std::to_string(type) +
                               R"(, "training": false, "iteration_begin": 0, "iteration_end": )" +
                               std::to_string(iteration_end) + R"(, "strict_shape": false})";
    const bst_ulong* shape = nullptr;
    bst_ulong dim = 0;
    const float* result = nullptr;
    if (XGBoosterPredictFromDMatrix(handle_.get(), d->handle(), config.c_str(), &shape, &dim, &result) != 0) return {};
    size_t n = 1;
    for (bst_ulong i = 0; i < dim; ++i) n *= shape[i];
    return std::vector<float>(result, result + n);
}

std::vector<float> XgbBooster::predict_dense(const Matrix& x, int type, int iteration_end) const {
    if (x.rows == 0) return {};
    const std::string values = R"({"data": [)" + std::to_string(reinterpret_cast<uintptr_t>(x.data.data())) +
                               R"(, true], "shape": [)" + std::to_string(x.rows) + ", " + std::to_string(x.cols) +
                               R"(], "typestr": "<f4", "version": 3})";
    const std::string config =
        R"({"type": )" + std::to_string(type) + R"(, "training": false, "iteration_begin": 0, "iteration_end": )" +
        std::to_string(iteration_end) + R"(, "strict_shape": false, "missing": NaN, "cache_id": 0})";
    const bst_ulong* shape = nullptr;
    bst_ulong dim = 0;
    const float* result = nullptr;
    if (XGBoosterPredictFromDense(handle_.get(), values.c_str(), config.c_str(), nullptr, &shape, &dim, &result) != 0)
        return {};
    size_t n = 1;
    for (bst_ulong i = 0; i < dim; ++i) n *= shape[i];
    return std::vector<float>(result, result + n);
}

//-----------------------------------------------------------------------------
// [SECTION] Collective
//-----------------------------------------------------------------------------
Result<XgbCollective> XgbCollective::join(const std::string& host, int port, int task, int world) {
    const Json config{{"xgboost_communicator", "rabit"},
                      {"DMLC_TRACKER_URI", host},
                      {"DMLC_TRACKER_PORT", port},
                      {"DMLC_TASK_ID", std::to_string(task)},
                      {"DMLC_NUM_WORKER", world}};
    if (XGCommunicatorInit(json_dump(config).c_str()) != 0)
        return problem("tracker",
                       "cannot join the tracker at " + host + ":" + std::to_string(port) + ": " + last_error());
    XgbCollective c;
    c.token_ = std::shared_ptr<void>(reinterpret_cast<void*>(1), [](void*) { XGCommunicatorFinalize(); });
    if (XGCommunicatorGetWorldSize() != world)
        return problem("tracker", "the tracker at " + host + ":" + std::to_string(port) + " joined " +
                                      std::to_string(XGCommunicatorGetWorldSize()) + " workers, not " +
                                      std::to_string(world));
    return c;
}

int XgbCollective::rank() const { return XGCommunicatorGetRank(); }
int XgbCollective::world() const { return XGCommunicatorGetWorldSize(); }

Result<bool> XgbCollective::sum(std::span<double> values) const {
    constexpr int kDouble = 7, kSum = 2;  // xgboost::collective::DataType, Operation (1.7)
    if (values.empty()) return true;
    if (XGCommunicatorAllreduce(values.data(), values.size(), kDouble, kSum) != 0)
        return problem("collective", "a worker stopped answering: " + last_error());
    return true;
}

Result<size_t> XgbCollective::most(size_t mine) const {
    std::vector<double> all(static_cast<size_t>(world()), 0.0);
    all[static_cast<size_t>(rank())] = static_cast<double>(mine);
    if (auto ok = sum(all); !ok) return ok.problems();
    return static_cast<size_t>(*std::max_element(all.begin(), all.end()));
}

}  // namespace ldx
