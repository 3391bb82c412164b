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
#include <set>
#include <tuple>

#include "conformal/conformal.h"
#include "drift/estimate.h"
#include "metrics/evaluation.h"
#include "predict/predict.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Configuration
//-----------------------------------------------------------------------------
Result<TrainConfig> train_config_parse(std::string_view text) {
    auto j = json_parse(text, "training configuration", JsonLimits{1u << 16, 8});
    if (!j) return j.problems();
    if (auto p = json_check_keys(*j,
                                 {"folds", "max_rounds", "early_stopping_rounds", "class_weights", "seed", "bootstrap",
                                  "threshold", "group", "time", "gap", "period", "objective", "params"},
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
    if (j->contains("time")) {
        auto t = json_string(*j, "time", "");
        if (!t) return t.problems();
        if (t->empty()) return problem("bad_value", "names no column", "time");
        c.time = *t;
    }
    if (j->contains("gap")) {
        if (!j->contains("time")) return problem("bad_value", "a gap needs a time column (\"time\")", "gap");
        const Json& g = (*j)["gap"];
        if (!g.is_number() || !(g.get<double>() >= 0) || g.get<double>() > 1e9)
            return problem("bad_value", "must be a number of at least 0 (days for dates, else the time's own unit)",
                           "gap");
        c.gap = g.get<double>();
    }
    if (j->contains("period")) {
        auto p = json_string(*j, "period", "");
        if (!p) return p.problems();
        if (!period_unit_known(*p))
            return problem("bad_value", "must be year, quarter or month, not '" + *p + "'", "period");
        c.period = *p;
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
    if (!c.time.empty()) {
        j["time"] = c.time;
        j["gap"] = c.gap;
        j["period"] = c.period;
    }
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
std::vector<float> class_weights(std::span<const float> labels, int k) {
    std::vector<double> count(static_cast<size_t>(k), 0);
    for (float y : labels) count[static_cast<size_t>(y)] += 1;
    std::vector<float> w(labels.size());
    for (size_t i = 0; i < labels.size(); ++i)
        w[i] = static_cast<float>(static_cast<double>(labels.size()) / (k * count[static_cast<size_t>(labels[i])]));
    return w;
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
// Regression: the boosting starts from the mean outcome of the rows it trains on (XGBoost 1.7
// starts from 0.5, far from an outcome in the hundreds, where the pseudo-Huber loss barely moves),
// unless train.json sets base_score. Each fold uses its own training rows' mean.
XgbBooster::Params with_base_score(XgbBooster::Params p, double mean) {
    if (!p["objective"].starts_with("reg:") || p.count("base_score") || !std::isfinite(mean)) return p;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", mean);
    p["base_score"] = buf;
    return p;
}

namespace {
// The training rows' class weights and starting point; with a collective, from every worker's rows
// (their class counts and outcome sums summed), so that every worker trains the same model.
struct RowsSetup {
    std::vector<float> weights;
    XgbBooster::Params params;
};
Result<RowsSetup> rows_setup(const Schema& schema, const TrainConfig& cfg, XgbBooster::Params params,
                             std::span<const float> labels, const XgbCollective* c) {
    const bool regression = schema.outputs.regression();
    const size_t k = static_cast<size_t>(regression ? 1 : schema.num_classes());
    std::vector<double> sums(k + 2, 0.0);  // class counts; the outcome sum and the rows
    for (float y : labels) {
        if (!regression) sums[static_cast<size_t>(y)] += 1;
        sums[k] += y;
    }
    sums[k + 1] = static_cast<double>(labels.size());
    if (c)
        if (auto ok = c->sum(sums); !ok) return ok.problems();
    RowsSetup out;
    if (cfg.class_weights && !regression)
        for (float y : labels)
            out.weights.push_back(
                static_cast<float>(sums[k + 1] / (static_cast<double>(k) * sums[static_cast<size_t>(y)])));
    out.params = sums[k + 1] > 0 ? ldx::with_base_score(std::move(params), sums[k] / sums[k + 1]) : std::move(params);
    return out;
}
}  // namespace

bool EarlyStopping::operator()(int round, double metric) {
    curve.push_back(metric);
    if (metric < curve[static_cast<size_t>(best)]) best = round;
    return round - best < patience;
}

std::string EarlyStopping::fold_line(size_t fold, size_t folds, bool regression) const {
    return "fold " + std::to_string(fold + 1) + "/" + std::to_string(folds) + ": best round " +
           std::to_string(best + 1) + ", held-out " + (regression ? "RMSE " : "log-loss ") +
           std::to_string(curve.empty() ? NAN : curve[static_cast<size_t>(best)]);
}

std::pair<size_t, double> rounds_from_curves(const std::vector<std::vector<double>>& curves) {
    size_t reach = curves.empty() ? 0 : curves[0].size();
    for (const auto& c : curves) reach = std::min(reach, c.size());
    std::pair<size_t, double> best{1, INFINITY};
    for (size_t r = 0; r < reach; ++r) {
        double m = 0;
        for (const auto& c : curves) m += c[r] / static_cast<double>(curves.size());
        if (m < best.second) best = {r + 1, m};
    }
    return best;
}

Result<CvScheme> plan_cross_validation(const Schema& schema, const Dataset& data, const TrainConfig& cfg, bool shuffled,
                                       std::optional<uint64_t> group_hash) {
    const bool regression = schema.outputs.regression();
    // Regression: folds are stratified by quintile of the outcome, as if quintiles were classes.
    const std::vector<float> strata = regression ? outcome_quintiles(data.outcomes) : data.labels;
    const int k = regression ? 5 : schema.num_classes();
    const size_t n = data.rows();
    const bool hashed = group_hash && !data.groups.empty() && (cfg.time.empty() || shuffled);
    if (regression && n < 20 && !hashed)
        return problem("too_few_rows", std::to_string(n) +
                                           " rows; a regression task needs at least 20 to be "
                                           "cross-validated");
    // Rare classes: a class needs a row in every fold. When the rarest class has fewer rows than
    // train.json's folds, cross-validation uses as many folds as it has rows (at least 2), and
    // the card says so; a class with no row, or one, cannot be cross-validated at all.
    std::vector<size_t> per_class(static_cast<size_t>(k), 0);
    for (float y : strata) ++per_class[static_cast<size_t>(y)];
    CvScheme out;
    int folds = cfg.folds;
    const bool time = !cfg.time.empty() && !shuffled;
    for (int c = 0; c < k && !regression && !hashed; ++c) {
        const size_t rows = per_class[static_cast<size_t>(c)];
        const std::string& name = schema.outputs.classes[static_cast<size_t>(c)].name;
        if (rows < 2)
            return problem("too_few_rows",
                           "class '" + name + "' has " + std::to_string(rows) + (rows == 1 ? " row" : " rows") +
                               "; cross-validation needs at least 2 of each class: add patients of "
                               "this class, or merge it with a neighbouring one in the schema",
                           schema.outputs.column);
        if (rows < static_cast<size_t>(folds) && !time) {
            folds = static_cast<int>(rows);
            out.fewer_folds = std::to_string(folds) + " folds instead of " + std::to_string(cfg.folds) + ": class '" +
                              name + "' has only " + std::to_string(rows) + " rows";
        }
    }
    if (!cfg.group.empty()) {
        if (data.groups.size() != n)
            return problem("missing_column", "the group column '" + cfg.group + "' (train.json) is not in the data",
                           cfg.group);
        const std::set<std::string> patients(data.groups.begin(), data.groups.end());
        if (patients.size() < static_cast<size_t>(folds) && !hashed)
            return problem("too_few_rows", std::to_string(patients.size()) + " patients (groups of '" + cfg.group +
                                               "'); " + std::to_string(folds) +
                                               "-fold cross-validation needs at least " + std::to_string(folds));
    }
    out.folds = folds;
    if (hashed) {
        std::vector<int> fold(n);
        for (size_t i = 0; i < n; ++i) fold[i] = group_fold(data.groups[i], folds, *group_hash);
        out.plan = fold_plan_from_assignment(fold, folds);
        return out;
    }
    if (!time) {
        out.plan = fold_plan_from_assignment(assign_folds(strata, k, data.groups, folds, cfg.seed), folds);
        return out;
    }
    if (data.times.size() != n)
        return problem("missing_column", "the time column '" + cfg.time + "' (train.json) is not in the data",
                       cfg.time);
    auto tf = forward_chaining_folds(data.times, data.time_dates, data.groups, folds, cfg.gap);
    if (!tf) return tf.problems();
    out.plan = std::move(tf->plan);
    out.time = true;
    out.time_folds = std::move(tf->describe);
    char gap[48];
    std::snprintf(gap, sizeof gap, "%g", cfg.gap);
    out.method = "forward-chaining validation on '" + cfg.time + "' in " + std::to_string(folds) +
                 " folds: the rows sorted by time and cut into " + std::to_string(folds + 1) +
                 " blocks; each later block checked on a model trained only on rows " +
                 (data.time_dates ? std::string("at least ") + gap + " days earlier than all of the block"
                                  : std::string("earlier than all of the block by at least ") + gap +
                                        " (in the time column's unit)") +
                 (cfg.group.empty() ? "" : ", leaving out the block's patients ('" + cfg.group + "')") +
                 "; the earliest block only trains";
    return out;
}

Result<bool> check_hashed_folds(std::span<const double> count, int folds, const Schema& schema, int world,
                                std::string_view group) {
    const bool regression = schema.outputs.regression();
    const size_t k = regression ? 1 : static_cast<size_t>(schema.num_classes());
    const std::string across = " across the " + std::to_string(world) + (world == 1 ? " worker" : " workers");
    const std::string fix = "; use fewer folds, or add patients";
    for (int f = 0; f < folds; ++f) {
        const auto row = count.subspan(static_cast<size_t>(f) * k, k);
        double rows = 0;
        for (double v : row) rows += v;
        const std::string fold = "fold " + std::to_string(f + 1) + " of " + std::to_string(folds);
        if (rows == 0)
            return problem("too_few_rows",
                           fold + " has no patient (groups of '" + std::string(group) + "')" + across + fix,
                           std::string(group));
        for (size_t c = 0; c < k && !regression; ++c)
            if (row[c] == 0)
                return problem(
                    "too_few_rows",
                    fold + " has no patient with outcome '" + schema.outputs.classes[c].name + "'" + across + fix,
                    schema.outputs.column);
    }
    return true;
}

Result<CvRun> cross_validate(const Schema& schema, const Dataset& data, const TrainConfig& cfg,
                             const XgbBooster::Params& params, const FoldPlan& plan, bool contributions,
                             const TrainLog& log, const XgbCollective* collective) {
    const bool regression = schema.outputs.regression();
    const int k = regression ? 5 : schema.num_classes();
    const size_t width = regression ? 1 : static_cast<size_t>(k);  // values per row of predictions
    const size_t folds = plan.folds();
    // 1. Each fold trains with early stopping on its held-out rows; the eval curves are kept.
    std::vector<std::vector<double>> curves;
    std::vector<XgbBooster> boosters;
    for (size_t f = 0; f < folds; ++f) {
        const auto& tr = plan.train[f];
        const auto& te = plan.validate[f];
        const Matrix xtr = matrix_select_rows(data.x, tr), xte = matrix_select_rows(data.x, te);
        std::vector<float> ytr, yte;
        for (size_t i : tr) ytr.push_back(data.labels[i]);
        for (size_t i : te) yte.push_back(data.labels[i]);
        auto setup = rows_setup(schema, cfg, params, ytr, collective);
        if (!setup) return setup.problems();
        EarlyStopping stop{cfg.early_stopping_rounds};
        auto b = XgbBooster::train(xtr, ytr, setup->weights, setup->params, cfg.max_rounds, &xte, yte, std::ref(stop));
        if (!b) return b.problems();
        log(stop.fold_line(f, folds, regression));
        curves.push_back(std::move(stop.curve));
        boosters.push_back(std::move(*b));
    }
    // 2. Rounds: the minimum of the mean held-out curve over the rounds every fold reached.
    CvRun out;
    std::tie(out.rounds, out.loss) = rounds_from_curves(curves);
    // 3. Held-out probabilities (regression: values) at that number of rounds, and their exact
    // contributions (pred_contribs) for the minimum-information rule.
    std::vector<long> position(data.rows(), -1);
    for (const auto& te : plan.validate)
        for (size_t i : te) position[i] = 0;
    for (size_t i = 0; i < data.rows(); ++i)
        if (position[i] == 0) {
            position[i] = static_cast<long>(out.validated.size());
            out.validated.push_back(i);
        }
    const size_t m = out.validated.size();
    out.oof.assign(m * width, 0.0);
    for (size_t f = 0; f < folds; ++f) {
        const auto& te = plan.validate[f];
        const Matrix xte = matrix_select_rows(data.x, te);
        const auto p = boosters[f].predict(xte, 0, static_cast<int>(out.rounds));
        if (contributions) {
            const auto phi = boosters[f].predict(xte, 2, static_cast<int>(out.rounds));
            const size_t per_row = te.empty() ? 0 : phi.size() / te.size();
            if (out.contribs.empty()) out.contribs.resize(m * per_row);
            for (size_t j = 0; j < te.size() && per_row * m == out.contribs.size(); ++j)
                std::copy_n(phi.begin() + static_cast<long>(j * per_row), per_row,
                            out.contribs.begin() + position[te[j]] * static_cast<long>(per_row));
        }
        for (size_t j = 0; j < te.size(); ++j) {
            const size_t at = static_cast<size_t>(position[te[j]]);
            if (regression) {
                out.oof[at] = p[j];
            } else if (k == 2) {
                out.oof[at * 2 + 1] = p[j];
                out.oof[at * 2] = 1.0 - p[j];
            } else {
                for (size_t c = 0; c < width; ++c) out.oof[at * width + c] = p[j * width + c];
            }
        }
    }
    return out;
}

Result<XgbBooster> fit_rows(const Schema& schema, const Dataset& data, const TrainConfig& cfg,
                            const XgbBooster::Params& params, int rounds, const XgbCollective* collective) {
    auto setup = rows_setup(schema, cfg, params, data.labels, collective);
    if (!setup) return setup.problems();
    return XgbBooster::train(data.x, data.labels, setup->weights, setup->params, rounds);
}

std::vector<double> predict_rows(const Schema& schema, const XgbBooster& model, const Matrix& x, int rounds) {
    const auto p = model.predict(x, 0, rounds);
    if (schema.outputs.regression() || schema.num_classes() > 2) return std::vector<double>(p.begin(), p.end());
    std::vector<double> out;
    for (float v : p) {
        out.push_back(1.0 - v);
        out.push_back(v);
    }
    return out;
}

std::string headline_name(const Schema& s) {
    if (s.outputs.regression()) return "RMSE";
    return s.outputs.kind == TaskKind::binary ? "AUC-ROC" : "macro AUC-ROC";
}

std::vector<std::pair<std::string, double>> held_out_figures(const Schema& s, std::span<const float> labels,
                                                             std::span<const double> outputs) {
    std::vector<std::pair<std::string, double>> out;
    if (s.outputs.regression()) {
        const std::vector<double> y(labels.begin(), labels.end());
        const auto f = regression_figures(y, outputs);
        for (const char* key : {"rmse", "mae"})
            for (const auto& [m, v] : f)
                if (m == key) out.push_back({m == "rmse" ? "RMSE" : "MAE", v});
        return out;
    }
    const std::vector<int> y(labels.begin(), labels.end());
    const std::string key =
        s.outputs.kind == TaskKind::binary ? "class." + s.outputs.classes[1].name + ".auc_roc" : "macro.auc_roc";
    const auto f = evaluation_figures(s, y, outputs);
    for (const std::string& want : {key, std::string("brier")})
        for (const auto& [m, v] : f)
            if (m == want) out.push_back({m == "brier" ? "Brier score" : headline_name(s), v});
    return out;
}

double headline_figure(const Schema& s, std::span<const float> labels, std::span<const double> outputs) {
    return held_out_figures(s, labels, outputs).at(0).second;
}

Result<TrainResult> train_model(const Schema& schema, const Dataset& data, const TrainConfig& cfg,
                                const TrainLog& log) {
    const bool regression = schema.outputs.regression();
    if (!cfg.objective.empty() && !regression)
        return problem("bad_value", "train.json's objective is for regression tasks only", "objective");
    const int width = regression ? 1 : schema.num_classes();  // values per row of predictions
    const size_t n = data.rows();
    auto scheme = plan_cross_validation(schema, data, cfg);
    if (!scheme) return scheme.problems();
    if (!scheme->fewer_folds.empty()) log("warning: " + scheme->fewer_folds);
    const auto params = task_params(schema, cfg);
    auto cv = cross_validate(schema, data, cfg, params, scheme->plan, true, log);
    if (!cv) return cv.problems();
    log("cross-validation chose " + std::to_string(cv->rounds) + " rounds (mean held-out " +
        (regression ? "RMSE " : "log-loss ") + std::to_string(cv->loss) + ")");

    // The validated rows (every row, unless forward chaining left the earliest block out).
    const size_t m = cv->validated.size();
    CardInput in;
    in.folds = scheme->folds;
    in.fewer_folds = scheme->fewer_folds;
    in.rows = n;
    if (scheme->time)
        in.method = scheme->method + " (" + std::to_string(m) + " of " + std::to_string(n) + " rows validated)";
    const size_t nf = schema.fields.size();
    std::vector<float> labels_f;
    for (size_t i : cv->validated) {
        in.labels.push_back(static_cast<int>(data.labels[i]));
        labels_f.push_back(data.labels[i]);
        if (regression) in.outcomes.push_back(data.outcomes[i]);
        in.s_values.insert(in.s_values.end(), data.values.begin() + static_cast<long>(i * nf),
                           data.values.begin() + static_cast<long>((i + 1) * nf));
    }
    in.oof = cv->oof;
    in.s_labels = in.labels;
    in.s_outcomes = in.outcomes;
    in.s_oof = cv->oof;
    in.s_contribs = std::move(cv->contribs);

    auto final_model = fit_rows(schema, data, cfg, params, static_cast<int>(cv->rounds));
    if (!final_model) return final_model.problems();
    auto result =
        card_from_held_out(schema, cfg, params, cv->rounds, *final_model, std::move(in), data.x, data.values, log);
    if (!result) return result.problems();
    TrainResult& out = *result;

    // Time-aware validation: figures per period, and what shuffled folds would have said.
    if (scheme->time) {
        std::vector<int> labels(labels_f.begin(), labels_f.end());
        std::vector<double> outcomes;
        for (size_t i : cv->validated)
            if (regression) outcomes.push_back(data.outcomes[i]);
        const std::vector<double>& oof = cv->oof;
        std::vector<std::string> periods;
        for (size_t i : cv->validated) periods.push_back(period_of(data.times[i], data.time_dates, cfg.period));
        out.metrics["periods"] = evaluate_periods(out.schema, labels, oof, outcomes, periods);
        log("for comparison: shuffled cross-validation of the same rows");
        auto shuffled = plan_cross_validation(schema, data, cfg, true);
        if (!shuffled) return shuffled.problems();
        auto other = cross_validate(schema, data, cfg, params, shuffled->plan, false, [](const std::string&) {});
        if (!other) return other.problems();
        std::vector<double> same_rows;  // shuffled CV validates every row, in row order
        for (size_t i : cv->validated)
            same_rows.insert(same_rows.end(), other->oof.begin() + static_cast<long>(i * static_cast<size_t>(width)),
                             other->oof.begin() + static_cast<long>((i + 1) * static_cast<size_t>(width)));
        const auto forward = held_out_figures(schema, labels_f, oof),
                   shuffled_figures = held_out_figures(schema, labels_f, same_rows);
        auto round6 = [](double v) { return std::isfinite(v) ? Json(std::round(v * 1e6) / 1e6) : Json(nullptr); };
        Json comparison = Json::array();
        for (size_t f = 0; f < forward.size() && f < shuffled_figures.size(); ++f) {
            log("forward-chaining " + forward[f].first + " " + std::to_string(forward[f].second) + "; shuffled " +
                std::to_string(shuffled->folds) + "-fold cross-validation " +
                std::to_string(shuffled_figures[f].second) + " on the same rows");
            comparison.push_back({{"figure", forward[f].first},
                                  {"forward_chaining", round6(forward[f].second)},
                                  {"shuffled", round6(shuffled_figures[f].second)}});
        }
        out.metrics["time_validation"] = {
            {"column", cfg.time},
            {"gap", cfg.gap},
            {"gap_unit", data.time_dates ? "days" : "the time column's own unit"},
            {"period", data.time_dates ? cfg.period : "whole number of the time"},
            {"rows_validated", m},
            {"rows_only_trained_on", n - m},
            {"folds", scheme->time_folds},
            {"comparison", comparison},
            {"shuffled_method", std::to_string(shuffled->folds) +
                                    "-fold shuffled stratified cross-validation of the same rows at the same "
                                    "parameters (its models train on rows later than those they check)"}};
    }
    return result;
}

}  // namespace ldx
