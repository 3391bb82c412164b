// server/train/train.cpp — see train.h.
//
// Index of this file
//   [SECTION] Configuration
//   [SECTION] Folds and weights
//   [SECTION] Cross-validation and final fit
#include "train/train.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "predict/predict.h"
#include "train/metrics.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Configuration
//-----------------------------------------------------------------------------
Result<TrainConfig> train_config_parse(std::string_view text) {
    auto j = json_parse(text, "training configuration", JsonLimits{1u << 16, 8});
    if (!j) return j.problems();
    if (auto p = json_check_keys(
            *j, {"folds", "max_rounds", "early_stopping_rounds", "class_weights", "seed", "bootstrap", "params"}, ""))
        return *p;
    TrainConfig c;
    auto int_key = [&](const char* key, auto& out, int64_t lo, int64_t hi) -> std::optional<Problem> {
        if (!j->contains(key)) return std::nullopt;
        auto v = json_integer(*j, key, "");
        if (!v) return v.error();
        if (*v < lo || *v > hi)
            return problem("bad_range", "must lie between " + std::to_string(lo) + " and " + std::to_string(hi), key);
        out = static_cast<std::remove_reference_t<decltype(out)>>(*v);
        return std::nullopt;
    };
    for (auto p : {int_key("folds", c.folds, 2, 20), int_key("max_rounds", c.max_rounds, 1, 10000),
                   int_key("early_stopping_rounds", c.early_stopping_rounds, 1, 10000),
                   int_key("seed", c.seed, 0, 1 << 30), int_key("bootstrap", c.bootstrap, 0, 100000)})
        if (p) return *p;
    if (j->contains("class_weights")) {
        auto b = json_bool(*j, "class_weights", "");
        if (!b) return b.problems();
        c.class_weights = *b;
    }
    if (j->contains("params")) {
        const Json& p = (*j)["params"];
        if (!p.is_object()) return problem("wrong_type", "params must be an object of XGBoost parameters", "params");
        for (auto it = p.begin(); it != p.end(); ++it) {
            if (it.key() == "objective" || it.key() == "num_class" || it.key() == "nthread")
                return problem("bad_value", "is set by LocalDx from the schema", "params." + it.key());
            c.params[it.key()] = it->is_string() ? it->get<std::string>() : it->dump();
        }
    }
    return c;
}

XgbBooster::Params task_params(const Schema& schema, const TrainConfig& cfg) {
    XgbBooster::Params p = cfg.params;
    const int k = schema.num_classes();
    if (k == 2) {
        p["objective"] = "binary:logistic";
        p["eval_metric"] = "logloss";
    } else {
        p["objective"] = "multi:softprob";
        p["num_class"] = std::to_string(k);
        p["eval_metric"] = "mlogloss";
    }
    p["nthread"] = "1";  // reproducible, and the CLI shares the machine with the clinician's server
    p["seed"] = std::to_string(cfg.seed);
    return p;
}

//-----------------------------------------------------------------------------
// [SECTION] Folds and weights
//-----------------------------------------------------------------------------
std::vector<float> class_weights(std::span<const float> labels, int k) {
    std::vector<double> count(static_cast<size_t>(k), 0);
    for (float y : labels) count[static_cast<size_t>(y)] += 1;
    std::vector<float> w(labels.size());
    for (size_t i = 0; i < labels.size(); ++i)
        w[i] = static_cast<float>(static_cast<double>(labels.size()) / (k * count[static_cast<size_t>(labels[i])]));
    return w;
}

namespace {
// Stratified: each class's rows are shuffled and dealt round-robin to the folds.
std::vector<int> stratified_folds(std::span<const float> labels, int k, int folds, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<int> fold(labels.size());
    int next = 0;
    for (int c = 0; c < k; ++c) {
        std::vector<size_t> idx;
        for (size_t i = 0; i < labels.size(); ++i)
            if (static_cast<int>(labels[i]) == c) idx.push_back(i);
        std::shuffle(idx.begin(), idx.end(), rng);
        for (size_t i : idx) fold[i] = next++ % folds;
    }
    return fold;
}
}  // namespace

void fill_typical_ranges(Schema& schema, std::span<const double> values) {
    const size_t nf = schema.fields.size(), n = values.size() / nf;
    for (size_t f = 0; f < nf; ++f) {
        Field& fd = schema.fields[f];
        if (!fd.numeric()) continue;
        std::vector<double> v;
        for (size_t i = 0; i < n; ++i)
            if (!std::isnan(values[i * nf + f])) v.push_back(values[i * nf + f]);
        if (v.size() < 20) continue;
        std::sort(v.begin(), v.end());
        auto q = [&](double p) { return v[static_cast<size_t>(std::round(p * static_cast<double>(v.size() - 1)))]; };
        fd.typical_min = std::max(fd.min, q(0.005));
        fd.typical_max = std::min(fd.max, q(0.995));
    }
}

//-----------------------------------------------------------------------------
// [SECTION] Cross-validation and final fit
//-----------------------------------------------------------------------------
Result<TrainResult> train_model(const Schema& schema, const Dataset& data, const TrainConfig& cfg,
                                const TrainLog& log) {
    const int k = schema.num_classes();
    const size_t n = data.rows();
    std::vector<size_t> per_class(static_cast<size_t>(k), 0);
    for (float y : data.labels) ++per_class[static_cast<size_t>(y)];
    for (int c = 0; c < k; ++c)
        if (per_class[static_cast<size_t>(c)] < static_cast<size_t>(cfg.folds))
            return problem("too_few_rows", "class '" + schema.outputs.classes[static_cast<size_t>(c)].name + "' has " +
                                               std::to_string(per_class[static_cast<size_t>(c)]) + " rows; " +
                                               std::to_string(cfg.folds) + "-fold cross-validation needs at least " +
                                               std::to_string(cfg.folds));
    const auto params = task_params(schema, cfg);
    const auto fold = stratified_folds(data.labels, k, cfg.folds, cfg.seed);

    // 1. Each fold trains with early stopping on its held-out rows; the eval curves are kept.
    std::vector<std::vector<double>> curves;
    std::vector<XgbBooster> boosters;
    std::vector<std::vector<size_t>> held_out(static_cast<size_t>(cfg.folds));
    for (int f = 0; f < cfg.folds; ++f) {
        std::vector<size_t> tr, te;
        for (size_t i = 0; i < n; ++i) (fold[i] == f ? te : tr).push_back(i);
        held_out[static_cast<size_t>(f)] = te;
        const Matrix xtr = matrix_select_rows(data.x, tr), xte = matrix_select_rows(data.x, te);
        std::vector<float> ytr, yte;
        for (size_t i : tr) ytr.push_back(data.labels[i]);
        for (size_t i : te) yte.push_back(data.labels[i]);
        const std::vector<float> w = cfg.class_weights ? class_weights(ytr, k) : std::vector<float>{};
        std::vector<double> curve;
        int best = 0;
        auto progress = [&](int round, double metric) {
            curve.push_back(metric);
            if (metric < curve[static_cast<size_t>(best)]) best = round;
            return round - best < cfg.early_stopping_rounds;
        };
        auto b = XgbBooster::train(xtr, ytr, w, params, cfg.max_rounds, &xte, yte, progress);
        if (!b) return b.problems();
        log("fold " + std::to_string(f + 1) + "/" + std::to_string(cfg.folds) + ": best round " +
            std::to_string(best + 1) + ", held-out log-loss " + std::to_string(curve[static_cast<size_t>(best)]));
        curves.push_back(std::move(curve));
        boosters.push_back(std::move(*b));
    }
    // 2. Rounds: the minimum of the mean held-out curve over the rounds every fold reached.
    size_t reach = curves[0].size();
    for (const auto& c : curves) reach = std::min(reach, c.size());
    size_t rounds = 1;
    double best_mean = INFINITY;
    for (size_t r = 0; r < reach; ++r) {
        double m = 0;
        for (const auto& c : curves) m += c[r] / static_cast<double>(curves.size());
        if (m < best_mean) {
            best_mean = m;
            rounds = r + 1;
        }
    }
    log("cross-validation chose " + std::to_string(rounds) + " rounds (mean held-out log-loss " +
        std::to_string(best_mean) + ")");

    // 3. Out-of-fold probabilities at that number of rounds.
    std::vector<double> oof(n * static_cast<size_t>(k));
    for (int f = 0; f < cfg.folds; ++f) {
        const auto& te = held_out[static_cast<size_t>(f)];
        const auto p =
            boosters[static_cast<size_t>(f)].predict(matrix_select_rows(data.x, te), 0, static_cast<int>(rounds));
        for (size_t j = 0; j < te.size(); ++j) {
            if (k == 2) {
                oof[te[j] * 2 + 1] = p[j];
                oof[te[j] * 2] = 1.0 - p[j];
            } else {
                for (int c = 0; c < k; ++c)
                    oof[te[j] * static_cast<size_t>(k) + static_cast<size_t>(c)] =
                        p[j * static_cast<size_t>(k) + static_cast<size_t>(c)];
            }
        }
    }
    TrainResult out;
    out.schema = schema;
    fill_typical_ranges(out.schema, data.values);
    std::vector<int> labels(data.labels.begin(), data.labels.end());
    log("evaluating out-of-fold predictions (" + std::to_string(cfg.bootstrap) + " bootstrap resamples)");
    out.metrics = evaluate(EvalInput{&schema, labels, oof, cfg.bootstrap, cfg.seed});
    out.metrics["subgroups"] = evaluate_subgroups(schema, labels, oof, data.values);
    out.metrics["method"] = std::to_string(cfg.folds) +
                            "-fold stratified cross-validation, out-of-fold predictions; "
                            "95% intervals from " +
                            std::to_string(cfg.bootstrap) + " bootstrap resamples";

    // 4. Final fit on every row.
    const std::vector<float> w = cfg.class_weights ? class_weights(data.labels, k) : std::vector<float>{};
    auto final_model = XgbBooster::train(data.x, data.labels, w, params, static_cast<int>(rounds));
    if (!final_model) return final_model.problems();
    out.xgboost_json = final_model->save_json();
    auto e = ensemble_from_xgboost_json(out.xgboost_json);
    if (!e) return e.problems();
    out.ensemble = std::move(*e);
    log("final model: " + std::to_string(out.ensemble.trees.size()) + " trees on " + std::to_string(n) + " rows");

    // 5. Reference histograms from the training rows and the final model's probabilities.
    std::vector<double> probs;
    for (size_t i = 0; i < n; ++i) {
        const auto m = ensemble_margin(out.ensemble, data.x.row(i));
        const auto p = probabilities_from_margin(out.ensemble.link, m);
        probs.insert(probs.end(), p.begin(), p.end());
    }
    out.reference = reference_build(out.schema, data.values, probs);

    Json params_json = Json::object();
    for (const auto& [key, v] : params) params_json[key] = v;
    out.training = {{"rows", n},
                    {"rounds", rounds},
                    {"folds", cfg.folds},
                    {"class_weights", cfg.class_weights},
                    {"xgboost_parameters", params_json},
                    {"missing_values", "left missing; XGBoost learns a default direction per split"}};
    return out;
}

}  // namespace ldx
