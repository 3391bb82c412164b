// tests/parity/test_xgboost_parity.cpp — the core against XGBoost itself, on the real data sets.
//
// For every row of each data set (missing values included), with the v2 tables and with Linear
// TreeSHAP alone: the core's probabilities (regression:
// values, relative to their size) equal XGBoost's predict, its TreeSHAP contributions equal XGBoost's pred_contribs
// (max |delta| <= 1e-5), and base + sum(contributions) equals the margin.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "explain/points.h"
#include "explain/treeshap.h"
#include "support.h"
#include "train/dataset.h"
#include "train/xgb.h"
#include "trees/ensemble.h"

namespace ldx {
namespace {

struct Case {
    const char* task;
    int depth;
    int rounds;
    double missing = 0;  // share of cells blanked (a data set without missing values)
};

class XgboostParity : public ::testing::TestWithParam<Case> {};

TEST_P(XgboostParity, ProbabilitiesAndTreeShapMatchPredContribs) {
    const Case c = GetParam();
    const Schema schema = test::task_schema(c.task);
    auto data = dataset_from_csv(schema, test::read_file(test::data_path(c.task)), true);
    ASSERT_TRUE(data.ok()) << data.error().describe();
    // Blank a share of the cells (a fixed pattern): missing values must follow the default directions.
    for (size_t i = 0; i < data->x.data.size(); ++i)
        if (c.missing > 0 && (i * 2654435761u) % 1000 < static_cast<size_t>(c.missing * 1000)) data->x.data[i] = NAN;
    const int k = schema.num_classes();
    const bool regression = schema.outputs.regression();
    XgbBooster::Params params{{"max_depth", std::to_string(c.depth)},
                              {"eta", "0.1"},
                              {"nthread", "1"},
                              {"subsample", "0.8"},
                              {"colsample_bytree", "0.8"},
                              {"seed", "7"}};
    if (regression) params["objective"] = "reg:squarederror";
    else if (k == 2) params["objective"] = "binary:logistic";
    else {
        params["objective"] = "multi:softprob";
        params["num_class"] = std::to_string(k);
    }
    auto booster = XgbBooster::train(data->x, data->labels, {}, params, c.rounds);
    ASSERT_TRUE(booster.ok()) << booster.error().describe();

    auto e = ensemble_from_xgboost_json(booster->save_json());
    ASSERT_TRUE(e.ok()) << e.error().describe();
    ASSERT_EQ(e->num_features, static_cast<int>(schema.features.size()));

    const auto probs = booster->predict(data->x, 0);
    const auto contribs = booster->predict(data->x, 2);
    const size_t n = data->rows(), f = data->x.cols, outs = static_cast<size_t>(e->num_outputs);
    ASSERT_EQ(contribs.size(), n * outs * (f + 1));

    size_t rows_with_missing = 0;
    double max_dp = 0, max_dphi = 0, max_local = 0;
    TreeShapWorkspace ws;
    Explanation ex, fast, linear;
    const TreeShapTables tables = treeshap_tables(*e);
    const TreeShapTables no_tables = treeshap_tables(*e, 0);  // every tree by Linear TreeSHAP
    ASSERT_EQ(tables.fast_trees(), e->trees.size() - std::count_if(e->trees.begin(), e->trees.end(),
                                                                   [](const Tree& t) { return t.nodes[0].leaf(); }));
    double max_fast = 0, max_linear = 0, max_points = 0;
    size_t not_in_points = 0, sign_flips = 0;
    for (size_t r = 0; r < n; ++r) {
        const auto x = data->x.row(r);
        bool missing = false;
        for (float v : x) missing = missing || std::isnan(v);
        rows_with_missing += missing;

        const auto margin = ensemble_margin(*e, x);
        const auto p = probabilities_from_margin(e->link, margin);
        // Regression: XGBoost's float32 value against the core's double, relative to its size.
        if (regression) max_dp = std::max(max_dp, std::abs(p[0] - probs[r]) / std::max(1.0, std::abs(p[0])));
        else if (k == 2) max_dp = std::max(max_dp, std::abs(p[1] - probs[r]));
        else
            for (int c2 = 0; c2 < k; ++c2) max_dp = std::max(max_dp, std::abs(p[c2] - probs[r * k + c2]));

        treeshap(*e, x, ws, ex);
        treeshap(*e, tables, x, ws, fast);
        treeshap(*e, no_tables, x, ws, linear);
        for (size_t i = 0; i < ex.contributions.size(); ++i) {
            max_fast = std::max(max_fast, std::abs(fast.contributions[i] - ex.contributions[i]));
            max_linear = std::max(max_linear, std::abs(linear.contributions[i] - ex.contributions[i]));
        }
        for (size_t o = 0; o < outs; ++o) {
            const float* ref = contribs.data() + (r * outs + o) * (f + 1);
            double sum = ex.base[o];
            // Regression: XGBoost sums contributions in float32, so in outcome units (152, say) they are
            // compared relative to the row's value; class tasks in margin units, absolutely.
            const double scale = regression ? std::max(1.0, std::abs(margin[o])) : 1.0;
            for (size_t j = 0; j < f; ++j) {
                max_dphi = std::max(
                    max_dphi, std::abs(ex.contribution(static_cast<int>(o), static_cast<int>(j)) - ref[j]) / scale);
                sum += ex.contribution(static_cast<int>(o), static_cast<int>(j));
            }
            max_dphi = std::max(max_dphi, std::abs(ex.base[o] - ref[f]) / scale);
            max_local = std::max(max_local, std::abs(sum - margin[o]));
        }
        // The explanation in probability points of the class shown: adds up from the baseline
        // probability to the shown one, and keeps the sign of every exact value.
        const int shown = k == 2 ? 1 : static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
        const auto phi = ex.output(k == 2 ? 0 : shown);
        const PointsExplanation pts = explanation_points(e->link, ex.base, phi, shown, p[static_cast<size_t>(shown)]);
        if (!pts.ok) {
            ++not_in_points;
            continue;
        }
        double total = pts.base;
        for (size_t j = 0; j < f; ++j) {
            total += pts.fields[j];
            if (pts.fields[j] * phi[j] < 0) ++sign_flips;
        }
        max_points = std::max(max_points, std::abs(total - p[static_cast<size_t>(shown)]));
    }
    EXPECT_LE(max_points, 1e-12) << c.task << ": points do not add up to the shown probability";
    EXPECT_EQ(sign_flips, 0u) << c.task;
    if (k == 2 || regression)
        EXPECT_EQ(not_in_points, 0u) << c.task << ": a binary or regression explanation is always expressible";
    else EXPECT_LE(not_in_points, n / 20) << c.task;
    std::printf("%s: points add up within %.1e; %zu of %zu rows stay in margin units\n", c.task, max_points,
                not_in_points, n);
    EXPECT_LE(max_dp, 1e-5) << c.task;
    EXPECT_LE(max_dphi, 1e-5) << c.task;
    EXPECT_LE(max_local, 1e-9) << c.task;
    EXPECT_LE(max_fast, 1e-9) << c.task << ": Fast TreeSHAP v2 against the reference algorithm";
    EXPECT_LE(max_linear, 1e-9) << c.task << ": Linear TreeSHAP against the reference algorithm";
    if (std::string(c.task) != "wdbc")
        EXPECT_GT(rows_with_missing, 0u) << "the data set should exercise missing values";
    std::printf(
        "%s: %zu rows (%zu with missing values), max|dp| %.2e, max|dphi| %.2e, local accuracy %.2e, fast v2 vs "
        "reference %.2e, linear vs reference %.2e\n",
        c.task, n, rows_with_missing, max_dp, max_dphi, max_local, max_fast, max_linear);
}

INSTANTIATE_TEST_SUITE_P(RealData, XgboostParity,
                         ::testing::Values(Case{"wdbc", 4, 200}, Case{"pima-diabetes", 6, 300},
                                           Case{"pbc-stage", 6, 150}, Case{"diabetes-progression", 6, 300, 0.1}),
                         [](const auto& info) { return test::test_name(info.param.task); });

}  // namespace
}  // namespace ldx
