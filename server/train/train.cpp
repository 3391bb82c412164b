// server/train/train.cpp — see train.h.
//
// Index of this file
//   [SECTION] Configuration
//   [SECTION] Folds and weights
//   [SECTION] Cross-validation and final fit
#include "train/train.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <map>
#include <set>
#include <random>

#include "conformal/conformal.h"
#include "drift/estimate.h"
#include "metrics/evaluation.h"
#include "predict/predict.h"
#include "metrics/evaluation.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Configuration
//-----------------------------------------------------------------------------
Result<TrainConfig> train_config_parse(std::string_view text) {
    auto j = json_parse(text, "training configuration", JsonLimits{1u << 16, 8});
    if (!j) return j.problems();
    if (auto p = json_check_keys(*j,
                                 {"folds", "max_rounds", "early_stopping_rounds", "class_weights", "seed", "bootstrap",
                                  "threshold", "group", "objective", "params"},
                                 ""))
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
    if (j->contains("threshold")) {
        auto t = json_string(*j, "threshold", "");
        if (!t) return t.problems();
        // Checked now, on two made-up rows, so a typo fails before hours of training.
        auto check = threshold_for(*t, std::vector<double>{0.2, 0.8}, std::vector<int>{0, 1});
        if (!check && check.error().code == "bad_policy") return check.problems();
        c.threshold = *t;
    }
    if (j->contains("group")) {
        auto g = json_string(*j, "group", "");
        if (!g) return g.problems();
        if (g->empty()) return problem("bad_value", "names no column", "group");
        c.group = *g;
    }
    if (j->contains("objective")) {
        auto o = json_string(*j, "objective", "");
        if (!o) return o.problems();
        if (*o != "reg:squarederror" && *o != "reg:pseudohubererror")
            return problem("bad_value",
                           "objective is chosen from the schema for class tasks; a regression task takes "
                           "reg:squarederror (the default) or reg:pseudohubererror, not '" +
                               *o + "'",
                           "objective");
        c.objective = *o;
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

Json train_config_to_json(const TrainConfig& c) {
    Json params = Json::object();
    for (const auto& [key, v] : c.params) params[key] = v;
    Json j{{"folds", c.folds},
           {"max_rounds", c.max_rounds},
           {"early_stopping_rounds", c.early_stopping_rounds},
           {"class_weights", c.class_weights},
           {"seed", c.seed},
           {"bootstrap", c.bootstrap},
           {"threshold", c.threshold},
           {"params", params}};
    if (!c.group.empty()) j["group"] = c.group;
    if (!c.objective.empty()) j["objective"] = c.objective;
    return j;
}

XgbBooster::Params task_params(const Schema& schema, const TrainConfig& cfg) {
    XgbBooster::Params p = cfg.params;
    const int k = schema.num_classes();
    if (schema.outputs.regression()) {
        p["objective"] = cfg.objective.empty() ? "reg:squarederror" : cfg.objective;
        p["eval_metric"] = "rmse";
    } else if (k == 2) {
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
std::vector<float> outcome_quintiles(std::span<const double> outcomes) {
    std::vector<size_t> order(outcomes.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return outcomes[a] < outcomes[b]; });
    std::vector<float> q(outcomes.size());
    for (size_t r = 0; r < order.size(); ++r) q[order[r]] = static_cast<float>(r * 5 / order.size());
    return q;
}

std::vector<float> class_weights(std::span<const float> labels, int k) {
    std::vector<double> count(static_cast<size_t>(k), 0);
    for (float y : labels) count[static_cast<size_t>(y)] += 1;
    std::vector<float> w(labels.size());
    for (size_t i = 0; i < labels.size(); ++i)
        w[i] = static_cast<float>(static_cast<double>(labels.size()) / (k * count[static_cast<size_t>(labels[i])]));
    return w;
}

std::vector<int> assign_folds(std::span<const float> labels, int k, std::span<const std::string> groups, int folds,
                              uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<int> fold(labels.size());
    if (groups.empty()) {
        // Each class's rows are shuffled and dealt round-robin to the folds.
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
    // Groups: their rows and class counts; shuffled, largest first, each to the fold that lacks
    // most of the group's classes (relative to an even share), ties to the fold with fewest rows.
    std::map<std::string, size_t> index;
    std::vector<std::vector<size_t>> rows;
    for (size_t i = 0; i < labels.size(); ++i) {
        auto [it, added] = index.try_emplace(groups[i], rows.size());
        if (added) rows.emplace_back();
        rows[it->second].push_back(i);
    }
    std::vector<size_t> order(rows.size());
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return rows[a].size() > rows[b].size(); });
    const size_t kk = static_cast<size_t>(k);
    std::vector<double> total(kk, 0);
    for (float y : labels) total[static_cast<size_t>(y)] += 1;
    std::vector<std::vector<double>> have(static_cast<size_t>(folds), std::vector<double>(kk, 0));
    std::vector<size_t> size(static_cast<size_t>(folds), 0);
    for (size_t g : order) {
        std::vector<double> count(kk, 0);
        for (size_t i : rows[g]) count[static_cast<size_t>(labels[i])] += 1;
        size_t best = 0;
        double best_cost = INFINITY;
        for (size_t f = 0; f < static_cast<size_t>(folds); ++f) {
            // How far past its share of each class the fold would go, in shares.
            double cost = 0;
            for (size_t c = 0; c < kk; ++c)
                if (count[c] > 0) cost += (have[f][c] + count[c]) / (total[c] / folds);
            if (cost < best_cost - 1e-12 || (std::abs(cost - best_cost) <= 1e-12 && size[f] < size[best])) {
                best_cost = cost;
                best = f;
            }
        }
        for (size_t c = 0; c < kk; ++c) have[best][c] += count[c];
        size[best] += rows[g].size();
        for (size_t i : rows[g]) fold[i] = static_cast<int>(best);
    }
    return fold;
}

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
namespace {
// Regression: the boosting starts from the mean outcome of the rows it trains on (XGBoost 1.7
// starts from 0.5, far from an outcome in the hundreds, where the pseudo-Huber loss barely moves),
// unless train.json sets base_score. Each fold uses its own training rows' mean.
XgbBooster::Params with_base_score(XgbBooster::Params p, std::span<const float> labels) {
    if (!p["objective"].starts_with("reg:") || p.count("base_score") || labels.empty()) return p;
    double sum = 0;
    for (float y : labels) sum += y;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", sum / static_cast<double>(labels.size()));
    p["base_score"] = buf;
    return p;
}
}  // namespace

namespace {
// XGBoost's pred_contribs (rows x outputs x (features + 1)) summed per field, of the output each
// row's verdict shows (the decided class of a multi-output model, from `probabilities`, rows x width).
std::vector<double> field_contributions(const Schema& s, std::span<const float> contribs,
                                        std::span<const double> probabilities, size_t rows, int width) {
    const size_t nf = s.fields.size(), nx = s.features.size() + 1;
    if (rows == 0 || contribs.size() % (rows * nx) != 0) return {};
    const size_t outputs = contribs.size() / (rows * nx);
    std::vector<double> out(rows * nf, 0.0);
    for (size_t i = 0; i < rows; ++i) {
        size_t o = 0;
        if (outputs > 1)
            o = static_cast<size_t>(
                decide(s, probabilities.subspan(i * static_cast<size_t>(width), static_cast<size_t>(width))));
        const float* row = contribs.data() + (i * outputs + o) * nx;
        for (size_t j = 0; j + 1 < nx; ++j) out[i * nf + static_cast<size_t>(s.features[j].field)] += row[j];
    }
    return out;
}
}  // namespace

Result<TrainResult> train_model(const Schema& schema, const Dataset& data, const TrainConfig& cfg,
                                const TrainLog& log) {
    const bool regression = schema.outputs.regression();
    if (!cfg.objective.empty() && !regression)
        return problem("bad_value", "train.json's objective is for regression tasks only", "objective");
    // Regression: folds are stratified by quintile of the outcome, as if quintiles were classes;
    // XGBoost is given the outcome itself.
    const std::vector<float> strata = regression ? outcome_quintiles(data.outcomes) : data.labels;
    const int k = regression ? 5 : schema.num_classes();
    const int width = regression ? 1 : k;  // values per row of predictions
    const size_t n = data.rows();
    if (regression && n < 20)
        return problem("too_few_rows", std::to_string(n) +
                                           " rows; a regression task needs at least 20 to be "
                                           "cross-validated");
    // Rare classes: a class needs a row in every fold. When the rarest class has fewer rows than
    // train.json's folds, cross-validation uses as many folds as it has rows (at least 2), and
    // the card says so; a class with no row, or one, cannot be cross-validated at all.
    std::vector<size_t> per_class(static_cast<size_t>(k), 0);
    for (float y : strata) ++per_class[static_cast<size_t>(y)];
    int folds = cfg.folds;
    std::string fewer_folds;
    for (int c = 0; c < k && !regression; ++c) {
        const size_t rows = per_class[static_cast<size_t>(c)];
        const std::string& name = schema.outputs.classes[static_cast<size_t>(c)].name;
        if (rows < 2)
            return problem("too_few_rows",
                           "class '" + name + "' has " + std::to_string(rows) + (rows == 1 ? " row" : " rows") +
                               "; cross-validation needs at least 2 of each class: add patients of "
                               "this class, or merge it with a neighbouring one in the schema",
                           schema.outputs.column);
        if (rows < static_cast<size_t>(folds)) {
            folds = static_cast<int>(rows);
            fewer_folds = std::to_string(folds) + " folds instead of " + std::to_string(cfg.folds) + ": class '" +
                          name + "' has only " + std::to_string(rows) + " rows";
        }
    }
    if (!fewer_folds.empty()) log("warning: " + fewer_folds);
    if (!cfg.group.empty()) {
        if (data.groups.size() != n)
            return problem("missing_column", "the group column '" + cfg.group + "' (train.json) is not in the data",
                           cfg.group);
        const std::set<std::string> patients(data.groups.begin(), data.groups.end());
        if (patients.size() < static_cast<size_t>(folds))
            return problem("too_few_rows", std::to_string(patients.size()) + " patients (groups of '" + cfg.group +
                                               "'); " + std::to_string(folds) +
                                               "-fold cross-validation needs at least " + std::to_string(folds));
    }
    const auto params = task_params(schema, cfg);
    const auto fold = assign_folds(strata, k, data.groups, folds, cfg.seed);

    // 1. Each fold trains with early stopping on its held-out rows; the eval curves are kept.
    std::vector<std::vector<double>> curves;
    std::vector<XgbBooster> boosters;
    std::vector<std::vector<size_t>> held_out(static_cast<size_t>(folds));
    for (int f = 0; f < folds; ++f) {
        std::vector<size_t> tr, te;
        for (size_t i = 0; i < n; ++i) (fold[i] == f ? te : tr).push_back(i);
        held_out[static_cast<size_t>(f)] = te;
        const Matrix xtr = matrix_select_rows(data.x, tr), xte = matrix_select_rows(data.x, te);
        std::vector<float> ytr, yte;
        for (size_t i : tr) ytr.push_back(data.labels[i]);
        for (size_t i : te) yte.push_back(data.labels[i]);
        const std::vector<float> w = cfg.class_weights && !regression ? class_weights(ytr, k) : std::vector<float>{};
        std::vector<double> curve;
        int best = 0;
        auto progress = [&](int round, double metric) {
            curve.push_back(metric);
            if (metric < curve[static_cast<size_t>(best)]) best = round;
            return round - best < cfg.early_stopping_rounds;
        };
        auto b = XgbBooster::train(xtr, ytr, w, with_base_score(params, ytr), cfg.max_rounds, &xte, yte, progress);
        if (!b) return b.problems();
        log("fold " + std::to_string(f + 1) + "/" + std::to_string(folds) + ": best round " + std::to_string(best + 1) +
            ", held-out " + (regression ? "RMSE " : "log-loss ") + std::to_string(curve[static_cast<size_t>(best)]));
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
    log("cross-validation chose " + std::to_string(rounds) + " rounds (mean held-out " +
        (regression ? "RMSE " : "log-loss ") + std::to_string(best_mean) + ")");

    // 3. Out-of-fold probabilities (regression: values) at that number of rounds, and their exact
    // contributions (pred_contribs) for the minimum-information rule.
    std::vector<double> oof(n * static_cast<size_t>(width));
    std::vector<float> oof_contribs;
    for (int f = 0; f < folds; ++f) {
        const auto& te = held_out[static_cast<size_t>(f)];
        const Matrix xte = matrix_select_rows(data.x, te);
        const auto p = boosters[static_cast<size_t>(f)].predict(xte, 0, static_cast<int>(rounds));
        const auto phi = boosters[static_cast<size_t>(f)].predict(xte, 2, static_cast<int>(rounds));
        const size_t per_row = te.empty() ? 0 : phi.size() / te.size();
        if (oof_contribs.empty()) oof_contribs.resize(n * per_row);
        for (size_t j = 0; j < te.size() && per_row * n == oof_contribs.size(); ++j)
            std::copy_n(phi.begin() + static_cast<long>(j * per_row), per_row,
                        oof_contribs.begin() + static_cast<long>(te[j] * per_row));
        for (size_t j = 0; j < te.size(); ++j) {
            if (regression) {
                oof[te[j]] = p[j];
            } else if (k == 2) {
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
    std::string threshold_note, policy;
    if (schema.outputs.kind == TaskKind::binary) {
        std::vector<double> score(n);
        for (size_t i = 0; i < n; ++i) score[i] = oof[i * 2 + 1];
        policy = cfg.threshold.empty() ? "fixed:" + json_dump(Json(schema.outputs.threshold)) : cfg.threshold;
        auto t = threshold_for(policy, score, labels);
        if (!t) return problem(t.error().code, "train.json threshold: " + t.error().message, "threshold");
        out.schema.outputs.threshold = *t;
        log("threshold " + std::to_string(*t) + " (" + threshold_policy_words(policy) + ")");
        if (!cfg.threshold.empty())
            threshold_note = "; the threshold (" + threshold_policy_words(policy) +
                             ") was chosen on the same out-of-fold predictions, so figures at it are slightly "
                             "optimistic";
    }
    log("evaluating out-of-fold predictions (" + std::to_string(cfg.bootstrap) + " bootstrap resamples)");
    if (regression) {
        out.metrics = evaluate(EvalInput{&out.schema, {}, oof, cfg.bootstrap, cfg.seed, true, data.outcomes});
        out.metrics["subgroups"] = evaluate_regression_subgroups(out.schema, data.outcomes, oof, data.values);
        // Prediction intervals: half-widths from the out-of-fold residuals; coverage cross-fitted.
        out.schema.outputs.conformal = conformal_fit_intervals(
            oof, data.outcomes, kConformalLevels, "out-of-fold residuals of " + std::to_string(n) + " rows");
        out.metrics["conformal"] =
            conformal_interval_cross_coverage(out.schema.outputs, oof, data.outcomes, kConformalLevels,
                                              subgroups_of(schema, data.values), folds, cfg.seed);
        out.metrics["method"] = std::to_string(folds) + "-fold cross-validation stratified by quintile of the outcome" +
                                (cfg.group.empty() ? "" : ", each patient ('" + cfg.group + "') in one fold") +
                                ", out-of-fold predictions; 95% intervals from " + std::to_string(cfg.bootstrap) +
                                " bootstrap resamples";
    } else {
        out.metrics = evaluate(EvalInput{&out.schema, labels, oof, cfg.bootstrap, cfg.seed, true, {}});
        out.metrics["subgroups"] = evaluate_subgroups(out.schema, labels, oof, data.values);
        if (schema.outputs.kind == TaskKind::binary) out.metrics["threshold_policy"] = policy;
        // Prediction sets: calibrated on the out-of-fold predictions; their coverage cross-fitted.
        std::vector<std::string> class_names;
        for (const auto& c : schema.outputs.classes) class_names.push_back(c.name);
        out.schema.outputs.conformal = conformal_fit(oof, labels, k, kConformalLevels,
                                                     "out-of-fold predictions of " + std::to_string(n) + " rows");
        out.metrics["conformal"] = conformal_cross_coverage(oof, labels, k, kConformalLevels, class_names,
                                                            subgroups_of(schema, data.values), folds, cfg.seed);
        out.metrics["method"] = std::to_string(folds) + "-fold stratified cross-validation" +
                                (fewer_folds.empty() ? "" : " (" + fewer_folds + ")") +
                                (cfg.group.empty() ? "" : ", each patient ('" + cfg.group + "') in one fold") +
                                ", out-of-fold predictions; 95% intervals from " + std::to_string(cfg.bootstrap) +
                                " bootstrap resamples" + (cfg.group.empty() ? "" : " of rows") + threshold_note;
    }

    // 4. Final fit on every row.
    const std::vector<float> w =
        cfg.class_weights && !regression ? class_weights(data.labels, k) : std::vector<float>{};
    auto final_model =
        XgbBooster::train(data.x, data.labels, w, with_base_score(params, data.labels), static_cast<int>(rounds));
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
    // Regression: how often the cross-fitted interval held the outcome, per bin of the predicted
    // value's reference histogram (the server estimates the coverage of new patients from it).
    if (regression)
        out.metrics["conformal"]["by_predicted_value"] = coverage_by_bin_to_json(
            coverage_by_bin(out.reference.classes[0], kConformalLevels, oof,
                            conformal_interval_cross_covered(out.schema.outputs, oof, data.outcomes, kConformalLevels,
                                                             folds, cfg.seed)));

    // 6. The minimum information (predict/information.h): the task's own rule, or one derived from
    // the out-of-fold explanations.
    if (schema.minimum_information) {
        if (out.schema.minimum_information->basis.empty())
            out.schema.minimum_information->basis = "set by the task's schema";
    } else {
        out.schema.minimum_information = information_derive(
            out.schema, data.values, field_contributions(out.schema, oof_contribs, oof, n, width), n);
    }
    log("minimum information: " + information_words(out.schema));

    Json params_json = Json::object();
    for (const auto& [key, v] : params) params_json[key] = v;
    out.training = {{"rows", n},
                    {"rounds", rounds},
                    {"folds", folds},
                    {"configuration", train_config_to_json(cfg)},
                    {"threshold_policy", policy},
                    {"class_weights", cfg.class_weights && !regression},
                    {"xgboost_parameters", params_json},
                    {"missing_values", "left missing; XGBoost learns a default direction per split"}};
    return out;
}

}  // namespace ldx
