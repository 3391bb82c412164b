// tests/unit/test_regression.cpp — regression tasks: the schema's outcome, the figures, conformal
// intervals (their fit, their range, and their coverage on the real diabetes data over 50
// retrained splits), the reference histogram of predicted values and the drift report.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>

#include "conformal/conformal.h"
#include "drift/report.h"
#include "metrics/evaluation.h"
#include "support.h"
#include "train/dataset.h"
#include "train/train.h"
#include "train/xgb.h"

namespace ldx {
namespace {

Json regression_schema_json() {
    return Json::parse(test::read_file(test::source_path("models/diabetes-progression/schema.json")));
}

//-----------------------------------------------------------------------------
// Schema
//-----------------------------------------------------------------------------
TEST(Regression, TheSchemaCarriesTheOutcomeAndRoundTrips) {
    auto s = schema_from_json(regression_schema_json());
    ASSERT_TRUE(s) << s.error().describe();
    EXPECT_TRUE(s->outputs.regression());
    EXPECT_EQ(s->num_classes(), 0);
    EXPECT_EQ(s->num_outputs(), 1);
    EXPECT_EQ(s->outputs.label, "Disease progression one year on");
    EXPECT_EQ(outcome_text(s->outputs, 151.4), "151 points");
    auto again = schema_from_json(schema_to_json(*s));
    ASSERT_TRUE(again);
    EXPECT_EQ(schema_to_json(*again), schema_to_json(*s));
}

TEST(Regression, BadOutcomesNameTheKeyAndReason) {
    struct Case {
        void (*edit)(Json&);
        const char* code;
        const char* field;
    };
    const Case cases[] = {
        {[](Json& j) { j["outputs"].erase("unit"); }, "missing_key", "outputs.unit"},
        {[](Json& j) { j["outputs"]["max"] = -5; }, "bad_range", "outputs.min"},
        {[](Json& j) { j["outputs"].erase("min"); }, "missing_key", "outputs.min"},
        {[](Json& j) { j["outputs"]["decimals"] = 9; }, "bad_range", "outputs.decimals"},
        {[](Json& j) { j["outputs"]["classes"] = Json::array(); }, "unknown_key", "outputs.classes"},
        {[](Json& j) { j["outputs"]["threshold"] = 0.5; }, "unknown_key", "outputs.threshold"},
        {[](Json& j) {
             j["outputs"]["conformal"] = {
                 {"rows", 10}, {"source", "x"}, {"levels", {{{"level", 0.9}, {"half_width", -1}}}}};
         },
         "bad_range", "outputs.conformal.levels[0].half_width"},
        {[](Json& j) {
             j["outputs"]["conformal"] = {
                 {"rows", 10},
                 {"source", "x"},
                 {"levels", {{{"level", 0.8}, {"half_width", 20}}, {{"level", 0.9}, {"half_width", 10}}}}};
         },
         "bad_value", "outputs.conformal.levels[1].half_width"},
        {[](Json& j) {
             j["outputs"]["conformal"] = {
                 {"rows", 10}, {"source", "x"}, {"levels", {{{"level", 0.9}, {"threshold", {0.5}}}}}};
         },
         "unknown_key", "outputs.conformal.levels[0].threshold"},
    };
    for (size_t i = 0; i < std::size(cases); ++i) {
        Json j = regression_schema_json();
        cases[i].edit(j);
        auto s = schema_from_json(j);
        ASSERT_FALSE(s) << "case " << i;
        EXPECT_EQ(s.error().code, cases[i].code) << "case " << i << ": " << s.error().describe();
        EXPECT_EQ(s.error().field, cases[i].field) << "case " << i << ": " << s.error().describe();
    }
}

//-----------------------------------------------------------------------------
// Figures
//-----------------------------------------------------------------------------
TEST(Regression, FiguresAreTheTextbookOnes) {
    const std::vector<double> y{1, 2, 3, 4}, q{1.5, 2, 2, 5};
    const auto f = regression_figures(y, q);
    auto get = [&](const std::string& name) -> double {
        for (const auto& [n, v] : f)
            if (n == name) return v;
        return NAN;
    };
    EXPECT_DOUBLE_EQ(get("mae"), (0.5 + 0 + 1 + 1) / 4);
    EXPECT_DOUBLE_EQ(get("rmse"), std::sqrt((0.25 + 0 + 1 + 1) / 4));
    EXPECT_DOUBLE_EQ(get("r2"), 1 - 2.25 / 5);  // total sum of squares about 2.5: 5
    EXPECT_DOUBLE_EQ(get("calibration.in_the_large"), 2.5 - 2.625);
    // Slope of y on q: cov(q, y) / var(q) with q mean 2.625.
    double sqq = 0, sqy = 0;
    for (size_t i = 0; i < 4; ++i) {
        sqq += (q[i] - 2.625) * (q[i] - 2.625);
        sqy += (q[i] - 2.625) * (y[i] - 2.5);
    }
    EXPECT_DOUBLE_EQ(get("calibration.slope"), sqy / sqq);
    // A perfect model.
    const auto perfect = regression_figures(y, y);
    EXPECT_DOUBLE_EQ(perfect[0].second, 0);
    EXPECT_DOUBLE_EQ(perfect[2].second, 1);
}

//-----------------------------------------------------------------------------
// Intervals
//-----------------------------------------------------------------------------
TEST(Regression, IntervalsUseTheConformalRankAndStayInTheOutcomesRange) {
    // Residuals 1..19: at 0.9 the rank is ceil(20 x 0.9) = 18, so the half-width is 18.
    std::vector<double> predicted(19, 100), observed;
    for (int i = 1; i <= 19; ++i) observed.push_back(100 + (i % 2 ? i : -i));
    const Conformal c = conformal_fit_intervals(predicted, observed, std::vector<double>{0.8, 0.9}, "test");
    ASSERT_EQ(c.levels.size(), 2u);
    EXPECT_TRUE(c.intervals);
    EXPECT_DOUBLE_EQ(c.levels[0].threshold[0], 16);  // ceil(20 x 0.8) = 16
    EXPECT_DOUBLE_EQ(c.levels[1].threshold[0], 18);
    Outputs o;
    o.kind = TaskKind::regression;
    o.min = 0;
    o.max = 110;
    o.unit = "mg/dL";
    o.decimals = 0;
    o.conformal = c;
    const Interval in = conformal_interval(o, 1, 100);
    EXPECT_DOUBLE_EQ(in.low, 82);
    EXPECT_DOUBLE_EQ(in.high, 110);  // cut at the plausible maximum
    // The calibrator round-trips through the schema's JSON.
    auto back = conformal_from_json(conformal_to_json(c), 0, "outputs.conformal");
    ASSERT_TRUE(back);
    EXPECT_TRUE(back->intervals);
    EXPECT_EQ(back->levels[1].threshold, c.levels[1].threshold);
    // Coverage: 100 +/- 18 misses only the residual 19; cut at 110, it also misses 111, 113, 115 and 117.
    EXPECT_DOUBLE_EQ(conformal_interval_coverage(o, predicted, observed)["levels"][1]["coverage"].get<double>(),
                     14.0 / 19);
    o.max = 1000;
    EXPECT_DOUBLE_EQ(conformal_interval_coverage(o, predicted, observed)["levels"][1]["coverage"].get<double>(),
                     18.0 / 19);
}

// The diabetes data (442 patients) split at random 50 times into training (40%), calibration (40%)
// and test (20%) rows: a model trained on the first, intervals fitted on the second, coverage
// counted on the third. The mean coverage must sit within 2 points of 80%, 90% and 95%.
TEST(Regression, RetrainedDiabetesIntervalsCoverAsNominalOverFiftySplits) {
    const Schema schema = test::task_schema("diabetes-progression");
    auto data = dataset_from_csv(schema, test::read_file(test::data_path("diabetes-progression")), true);
    ASSERT_TRUE(data) << data.error().describe();
    TrainConfig cfg;
    cfg.params = {{"max_depth", "2"}, {"eta", "0.1"}, {"subsample", "0.8"}, {"min_child_weight", "5"}};
    const auto params = task_params(schema, cfg);
    const std::vector<double> levels(std::begin(kConformalLevels), std::end(kConformalLevels));
    const size_t n = data->rows();
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(11);
    const int splits = 50;
    std::vector<double> mean(levels.size(), 0);
    auto values = [&](const XgbBooster& b, std::span<const size_t> rows) {
        const auto p = b.predict(matrix_select_rows(data->x, rows), 0);
        return std::vector<double>(p.begin(), p.end());
    };
    auto observed = [&](std::span<const size_t> rows) {
        std::vector<double> y;
        for (size_t i : rows) y.push_back(data->outcomes[i]);
        return y;
    };
    Outputs o = schema.outputs;
    for (int s = 0; s < splits; ++s) {
        std::shuffle(order.begin(), order.end(), rng);
        const std::span<const size_t> all(order);
        const size_t fifth = n / 5;
        const auto train = all.subspan(0, 2 * fifth), calibrate = all.subspan(2 * fifth, 2 * fifth),
                   test = all.subspan(4 * fifth);
        std::vector<float> y;
        for (size_t i : train) y.push_back(data->labels[i]);
        auto booster = XgbBooster::train(matrix_select_rows(data->x, train), y, {}, params, 100);
        ASSERT_TRUE(booster);
        o.conformal = conformal_fit_intervals(values(*booster, calibrate), observed(calibrate), levels, "split");
        const Json cov = conformal_interval_coverage(o, values(*booster, test), observed(test));
        for (size_t l = 0; l < levels.size(); ++l) mean[l] += cov["levels"][l]["coverage"].get<double>() / splits;
    }
    for (size_t l = 0; l < levels.size(); ++l) {
        std::printf("diabetes-progression, retrained: mean interval coverage at %.0f%% over %d splits: %.2f%%\n",
                    levels[l] * 100, splits, mean[l] * 100);
        EXPECT_NEAR(mean[l], levels[l], 0.02) << "at " << levels[l];
    }
}

//-----------------------------------------------------------------------------
// Drift
//-----------------------------------------------------------------------------
TEST(Regression, ReportsCarryTheHistogramOfPredictedValuesAndNoPredictedClass) {
    const Schema schema = test::task_schema("diabetes-progression");
    auto data = dataset_from_csv(schema, test::read_file(test::data_path("diabetes-progression")), true);
    ASSERT_TRUE(data);
    const std::vector<double> predicted(data->outcomes.begin(), data->outcomes.end());
    const Reference ref = reference_build(schema, data->values, predicted);
    ASSERT_EQ(ref.classes.size(), 1u);
    EXPECT_EQ(ref.classes[0].name, "progression");
    EXPECT_EQ(ref.classes[0].bins(), ref.fields[0].bins());  // quantile bins, as a numeric field's
    auto back = reference_from_json(reference_to_json(ref), schema);
    ASSERT_TRUE(back) << back.error().describe();
    EXPECT_EQ(report_histograms(schema), schema.fields.size() + 1);  // fields and the value: no class

    ReportBuilder b = report_builder(schema, ref, "diabetes-progression", 1, "2026-11-30");
    std::mt19937_64 rng(3);
    for (size_t i = 0; i < 40; ++i)
        report_add(b, std::span<const double>(data->values).subspan(i * schema.fields.size(), schema.fields.size()),
                   std::span<const double>(predicted).subspan(i, 1), 0, rng);
    EXPECT_TRUE(b.report.predicted.empty());
    const std::string body = report_to_json(b.report).dump();
    auto parsed = report_parse(body, schema, ref);
    ASSERT_TRUE(parsed) << parsed.error().describe();
    EXPECT_EQ(parsed->n, 40u);
    Json forged = Json::parse(body);
    forged["predicted"] = {40};
    auto refused = report_parse(forged.dump(), schema, ref);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().field, "predicted");
}

}  // namespace
}  // namespace ldx
