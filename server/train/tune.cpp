// server/train/tune.cpp — see tune.h.
//
// Index of this file
//   [SECTION] Search space
//   [SECTION] Successive halving
//   [SECTION] Nested cross-validation
#include "train/tune.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>

#include "metrics/evaluation.h"
#include "train/stream.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Search space
//-----------------------------------------------------------------------------
namespace {
std::string num(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.3g", v);
    return b;
}
const char* const kTuned[] = {"max_depth", "eta",  "min_child_weight", "subsample", "colsample_bytree",
                              "lambda",    "alpha"};

// XGBoost's parameters for the task; on several workers the tree method is hist unless train.json
// names another (as `localdx train --workers`: the exact method is for one process).
XgbBooster::Params params_for(const Schema& schema, const TrainConfig& cfg, const XgbCollective* c) {
    XgbBooster::Params p = task_params(schema, cfg);
    if (c && !p.count("tree_method")) p["tree_method"] = "hist";
    return p;
}

// Distributed with a group column: each patient's fold from a hash of its id (group_fold), the same
// on every worker whatever other patients it holds; `salt` sets an inner search's folds apart from
// the outer ones (0: the folds `localdx train --workers` draws).
std::optional<uint64_t> group_hash(const XgbCollective* c, const TrainConfig& cfg, uint64_t salt) {
    if (!c || cfg.group.empty()) return std::nullopt;
    return group_fold_seed(cfg.seed, salt);
}

// Distributed with hashed patient folds: the rows of each fold and class summed over the workers,
// checked by check_hashed_folds, so a fold without a class is refused on every worker together.
Result<bool> hashed_folds_ok(const XgbCollective* c, const Schema& schema, const Dataset& data, const TrainConfig& cfg,
                             const FoldPlan& plan) {
    if (!c || cfg.group.empty()) return true;
    const bool regression = schema.outputs.regression();
    const size_t k = regression ? 1 : static_cast<size_t>(schema.num_classes());
    std::vector<double> count(plan.folds() * k, 0.0);
    for (size_t f = 0; f < plan.folds(); ++f)
        for (size_t i : plan.validate[f]) count[f * k + (regression ? 0 : static_cast<size_t>(data.labels[i]))] += 1;
    if (auto ok = c->sum(count); !ok) return worker_lost(c, ok.problems());
    return check_hashed_folds(count, static_cast<int>(plan.folds()), schema, c->world(), cfg.group);
}

// Distributed: every worker must run as many folds (a class rarer than the folds on one worker's
// rows would give it fewer, and the workers would wait for each other's trainings for ever).
Result<bool> same_folds(const XgbCollective* c, size_t folds, const char* what) {
    if (!c) return true;
    // The sums of x and x² over the workers: world·Σx² == (Σx)² exactly when every x is the same
    // (Cauchy-Schwarz), so every worker refuses together.
    const double x = static_cast<double>(folds);
    std::vector<double> n{x, x * x};
    if (auto ok = c->sum(n); !ok) return worker_lost(c, ok.problems());
    if (static_cast<double>(c->world()) * n[1] != n[0] * n[0])
        return problem("uneven_workers", std::string("the workers' rows give different numbers of ") + what +
                                             " (this worker " + std::to_string(folds) +
                                             "): a class is rarer than the folds on some worker's rows; give each "
                                             "worker more rows of every class, or fewer folds");
    return true;
}
}  // namespace

uint64_t group_fold_seed(uint64_t seed, uint64_t salt) { return seed + salt * 0x9e3779b97f4a7c15ull; }

std::vector<XgbBooster::Params> tune_candidates(const TrainConfig& base, int budget, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0, 1);
    auto pick = [&](std::initializer_list<const char*> options) {
        return std::string(*(options.begin() + static_cast<long>(u(rng) * static_cast<double>(options.size()))));
    };
    auto log_uniform = [&](double lo, double hi) { return std::exp(std::log(lo) + u(rng) * std::log(hi / lo)); };
    std::vector<XgbBooster::Params> out{base.params};
    while (out.size() < static_cast<size_t>(std::max(budget, 1))) {
        XgbBooster::Params p = base.params;
        p["max_depth"] = pick({"2", "3", "4", "5", "6"});
        p["eta"] = num(log_uniform(0.01, 0.3));
        p["min_child_weight"] = pick({"1", "2", "5", "10"});
        p["subsample"] = num(0.5 + 0.5 * u(rng));
        p["colsample_bytree"] = num(0.5 + 0.5 * u(rng));
        p["lambda"] = num(log_uniform(0.1, 10));
        p["alpha"] = pick({"0", "0.01", "0.1", "1"});
        out.push_back(std::move(p));
    }
    return out;
}

//-----------------------------------------------------------------------------
// [SECTION] Successive halving
//-----------------------------------------------------------------------------
Result<SearchResult> successive_halving(const Schema& schema, const Dataset& data, const TrainConfig& base,
                                        const TuneConfig& tc, const TrainLog& log, uint64_t fold_salt) {
    const XgbCollective* c = tc.collective;
    auto scheme = plan_cross_validation(schema, data, base, false, group_hash(c, base, fold_salt));
    if (!scheme) return scheme.problems();
    if (auto ok = hashed_folds_ok(c, schema, data, base, scheme->plan); !ok) return ok.problems();
    if (auto ok = same_folds(c, scheme->plan.folds(), "folds"); !ok) return ok.problems();
    const auto candidates = tune_candidates(base, tc.budget, tc.seed);
    int rungs = 1;
    for (size_t alive = candidates.size(); alive > 1; ++rungs)
        alive = (alive + static_cast<size_t>(tc.halving) - 1) / static_cast<size_t>(tc.halving);
    std::vector<size_t> alive(candidates.size());
    std::iota(alive.begin(), alive.end(), 0);
    SearchResult out;
    out.table = Json::array();
    const TrainLog quiet = [](const std::string&) {};
    for (int rung = 0; rung < rungs; ++rung) {
        TrainConfig cfg = base;
        cfg.max_rounds = std::max(
            10, static_cast<int>(base.max_rounds / std::pow(static_cast<double>(tc.halving), rungs - 1 - rung)));
        std::vector<std::pair<double, size_t>> scored;
        std::vector<CvRun> runs;
        for (size_t i : alive) {
            cfg.params = candidates[i];
            auto cv = cross_validate(schema, data, cfg, params_for(schema, cfg, c), scheme->plan, false, quiet, c);
            if (!cv) return worker_lost(c, cv.problems());
            Json params = Json::object();
            for (const char* key : kTuned)
                if (candidates[i].count(key)) params[key] = candidates[i].at(key);
            out.table.push_back({{"candidate", i + 1},
                                 {"rung", rung + 1},
                                 {"max_rounds", cfg.max_rounds},
                                 {"loss", std::round(cv->loss * 1e6) / 1e6},
                                 {"rounds", cv->rounds},
                                 {"params", params}});
            scored.push_back({cv->loss, runs.size()});
            runs.push_back(std::move(*cv));
        }
        std::vector<size_t> order(scored.size());
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scored[a] < scored[b]; });
        log("rung " + std::to_string(rung + 1) + "/" + std::to_string(rungs) + ": " + std::to_string(alive.size()) +
            (alive.size() == 1 ? " configuration" : " configurations") + " up to " + std::to_string(cfg.max_rounds) +
            " rounds; best held-out loss " + std::to_string(scored[order[0]].first));
        if (rung == rungs - 1) {
            const CvRun& best = runs[order[0]];
            out.chosen = candidates[alive[order[0]]];
            out.rounds = best.rounds;
            out.loss = best.loss;
            std::vector<double> y;
            for (size_t i : best.validated) y.push_back(data.labels[i]);
            auto all_y = gather_workers(c, std::move(y));
            if (!all_y) return all_y.problems();
            auto all_oof = gather_workers(c, best.oof);
            if (!all_oof) return all_oof.problems();
            out.figure = headline_figure(schema, std::vector<float>(all_y->begin(), all_y->end()), *all_oof);
            break;
        }
        const size_t keep = (alive.size() + static_cast<size_t>(tc.halving) - 1) / static_cast<size_t>(tc.halving);
        std::vector<size_t> next;
        for (size_t j = 0; j < keep; ++j) next.push_back(alive[order[j]]);
        alive = std::move(next);
    }
    return out;
}

//-----------------------------------------------------------------------------
// [SECTION] Nested cross-validation
//-----------------------------------------------------------------------------
Result<TuneResult> tune(const Schema& schema, const Dataset& data, const TrainConfig& base, const TuneConfig& tc,
                        const TrainLog& log) {
    const bool regression = schema.outputs.regression();
    const XgbCollective* c = tc.collective;
    if (c && !base.time.empty())
        return problem("unsupported",
                       "forward-chaining folds need every row sorted by time, which workers holding their own rows "
                       "do not have: tune in one process, or leave \"time\" out of train.json",
                       "time");
    // 1. Outer folds: the task's own scheme with outer_folds folds; each searches its training rows.
    TrainConfig outer_cfg = base;
    outer_cfg.folds = tc.outer_folds;
    auto outer = plan_cross_validation(schema, data, outer_cfg, false, group_hash(c, base, 0));
    if (!outer) return outer.problems();
    if (auto ok = hashed_folds_ok(c, schema, data, base, outer->plan); !ok) return ok.problems();
    if (auto ok = same_folds(c, outer->plan.folds(), "outer folds"); !ok) return ok.problems();
    std::vector<size_t> rows;
    std::vector<double> oof;
    for (size_t f = 0; f < outer->plan.folds(); ++f) {
        log("outer fold " + std::to_string(f + 1) + "/" + std::to_string(outer->plan.folds()) + ": searching " +
            std::to_string(outer->plan.train[f].size()) + " training rows");
        const Dataset inner = dataset_rows(data, outer->plan.train[f]);
        auto found = successive_halving(
            schema, inner, base, tc, [&](const std::string& l) { log("  " + l); }, f + 1);
        if (!found) {
            std::vector<Problem> ps = found.problems();
            for (auto& p : ps) p.message = "outer fold " + std::to_string(f + 1) + ": " + p.message;
            return ps;
        }
        TrainConfig cfg = base;
        cfg.params = found->chosen;
        const auto params = params_for(schema, cfg, c);
        auto model = fit_rows(schema, inner, cfg, params, static_cast<int>(found->rounds), c);
        if (!model) return worker_lost(c, model.problems());
        const auto p = predict_rows(schema, *model, matrix_select_rows(data.x, outer->plan.validate[f]),
                                    static_cast<int>(found->rounds));
        oof.insert(oof.end(), p.begin(), p.end());
        rows.insert(rows.end(), outer->plan.validate[f].begin(), outer->plan.validate[f].end());
    }
    // 2. The outer held-out predictions of the fold winners (every worker's, gathered): the nested
    // figure and its interval, computed by rank 0.
    std::vector<double> my_labels, my_observed;
    for (size_t i : rows) {
        my_labels.push_back(data.labels[i]);
        if (regression) my_observed.push_back(data.outcomes[i]);
    }
    auto all_labels = gather_workers(c, std::move(my_labels));
    if (!all_labels) return all_labels.problems();
    auto all_observed = gather_workers(c, std::move(my_observed));
    if (!all_observed) return all_observed.problems();
    auto all_oof = gather_workers(c, std::move(oof));
    if (!all_oof) return all_oof.problems();
    const size_t nested_rows = all_labels->size();
    const bool writer = !c || c->rank() == 0;
    Json m = Json::object(), fig = Json::object();
    if (writer) {
        std::vector<int> labels(all_labels->begin(), all_labels->end());
        m = evaluate(EvalInput{&schema, regression ? std::vector<int>{} : labels, *all_oof, base.bootstrap, base.seed,
                               true, *all_observed});
        fig = regression                                ? m["rmse"]
              : schema.outputs.kind == TaskKind::binary ? m["class"][schema.outputs.classes[1].name]["auc_roc"]
                                                        : m["macro"]["auc_roc"];
        log("nested cross-validation " + headline_name(schema) + " " + json_dump(fig["value"]));
    }
    // 3. The search on every row: the configuration train.json gets.
    log("searching all " + std::to_string(data.rows()) + (c ? " rows of this worker" : " rows") +
        " for the configuration to keep");
    auto found = successive_halving(schema, data, base, tc, log);
    if (!found) return found.problems();
    TuneResult out;
    out.chosen = base;
    out.chosen.params = found->chosen;
    if (!writer) return out;
    Json chosen = Json::object();
    for (const auto& [k, v] : found->chosen) chosen[k] = v;
    out.report = {
        {"method", "successive halving of " + std::to_string(tc.budget) +
                       " configurations (the task's train.json first, the "
                       "others drawn at random), keeping the best 1/" +
                       std::to_string(tc.halving) + " at each rung while the cap on rounds grows " +
                       std::to_string(tc.halving) + "-fold up to max_rounds; each scored by the mean held-out " +
                       (regression ? "RMSE" : "log-loss") + " of the task's cross-validation (" +
                       (outer->time ? "forward-chaining" : "shuffled") +
                       " folds). Nested: the search repeated inside the training rows of each of " +
                       std::to_string(outer->plan.folds()) + " outer folds, its winner checked on the held-out rows"},
        {"budget", tc.budget},
        {"halving", tc.halving},
        {"seed", tc.seed},
        {"nested",
         {{"figure", headline_name(schema)},
          {"value", fig["value"]},
          {"ci95", fig["ci95"]},
          {"rows", nested_rows},
          {"outer_folds", outer->plan.folds()},
          {"interval", std::to_string(base.bootstrap) + " bootstrap resamples of the outer held-out rows"}}},
        {"chosen", {{"params", chosen}, {"rounds", found->rounds}, {"loss", std::round(found->loss * 1e6) / 1e6}}},
        {"chosen_own_cv",
         {{"figure", headline_name(schema)},
          {"value", std::round(found->figure * 1e6) / 1e6},
          {"note",
           "the winner's own cross-validated figure on all rows: optimistic, since it was "
           "chosen on these folds"}}},
        {"table", found->table}};
    if (c)
        out.report["workers"] = {
            {"count", c->world()},
            {"note", std::string(base.group.empty() ? "each worker drew its folds on its own rows"
                                                    : "each patient ('" + base.group +
                                                          "') in the fold a hash of its id picks, on every worker") +
                         "; XGBoost trained every fold on all the workers' rows "
                         "(tree_method " +
                         params_for(schema, out.chosen, c).at("tree_method") +
                         ") and summed the held-out loss over them; the held-out outputs were gathered on worker 0"}};
    return out;
}

}  // namespace ldx
