// tests/unit/test_conformal.cpp — prediction sets (shared/conformal): the quantile rule, the
// schema's copy of the calibrator, and the coverage promise on the three real demo data sets.
//
// Coverage: each demo bundle scores its data set; the rows are split at random 60 times into a
// calibration half and a test half; a calibrator fitted on one half covers the other. Calibration
// and test rows are exchangeable (the same model scored both), which is all split conformal needs,
// so the mean coverage must sit at the nominal level: within 2 points at 80%, 90% and 95%.
#include <gtest/gtest.h>

#include <cstdio>
#include <numeric>
#include <random>

#include "client/core_api.h"
#include "conformal/conformal.h"
#include "metrics/image_validation.h"
#include "metrics/validation.h"
#include "predict/predict.h"
#include "record/patients.h"
#include "support.h"

namespace ldx {
namespace {

TEST(Conformal, ThresholdIsTheFiniteSampleQuantilePerClass) {
    // Class 0: scores 1 - p0 = 0.1, 0.2, ..., 0.9 (9 rows); class 1: two rows.
    std::vector<double> p;
    std::vector<int> y;
    for (int i = 1; i <= 9; ++i) {
        p.insert(p.end(), {1 - i / 10.0, i / 10.0});
        y.push_back(0);
    }
    p.insert(p.end(), {0.3, 0.7, 0.4, 0.6});
    y.insert(y.end(), {1, 1});
    const double levels[] = {0.8, 0.9};
    const Conformal c = conformal_fit(p, y, 2, levels, "test");
    // 80%: rank ceil(10 * 0.8) = 8 of 9 -> 0.8; 90%: rank 9 -> 0.9. Class 1 (2 rows): rank 3 > 2 -> 1.
    EXPECT_NEAR(c.levels[0].threshold[0], 0.8, 1e-12);
    EXPECT_NEAR(c.levels[1].threshold[0], 0.9, 1e-12);
    EXPECT_EQ(c.levels[0].threshold[1], 1.0);
    EXPECT_EQ(conformal_set(c, 0, std::vector<double>{0.15, 0.85}), (std::vector<int>{1}));   // 1-0.15 > 0.8
    EXPECT_EQ(conformal_set(c, 0, std::vector<double>{0.5, 0.5}), (std::vector<int>{0, 1}));  // both stay
    // The band is read at 90%: class 0 leaves the set only when 1 - p0 > 0.9; class 1 never leaves it.
    EXPECT_EQ(conformal_band(c, std::vector<double>{0.15, 0.85}), Band::uncertain);
    EXPECT_EQ(conformal_band(c, std::vector<double>{0.05, 0.95}), Band::high);
}

TEST(Conformal, TheSchemaCarriesItAndRefusesAMalformedOne) {
    Conformal c;
    c.rows = 100;
    c.levels = {{0.8, {0.3, 0.4}}, {0.9, {0.5, 0.6}}};
    const Json j = conformal_to_json(c);
    auto back = conformal_from_json(j, 2, "outputs.conformal");
    ASSERT_TRUE(back);
    EXPECT_EQ(back->levels[1].threshold[1], 0.6);
    Json wrong = j;
    wrong["levels"][0]["threshold"] = Json::array({0.3});
    EXPECT_EQ(conformal_from_json(wrong, 2, "outputs.conformal").error().field,
              "outputs.conformal.levels[0].threshold");
    wrong = j;
    wrong["levels"][1]["level"] = 0.7;  // not ascending
    EXPECT_EQ(conformal_from_json(wrong, 2, "outputs.conformal").error().code, "bad_value");
    wrong = j;
    wrong["levels"][0]["threshold"][0] = 1.5;
    EXPECT_EQ(conformal_from_json(wrong, 2, "outputs.conformal").error().code, "bad_range");
}

class DemoCoverage : public ::testing::TestWithParam<const char*> {};

TEST_P(DemoCoverage, MeanCoverageOfRandomSplitsIsNominal) {
    const std::string task = GetParam(), demo = LOCALDX_DEMO_DIR;
    auto loaded = core_load_bundle(test::read_file(demo + "/bundles/" + task + "-1.ldxb"),
                                   test::read_file(demo + "/keys/trust.json"), 1800000000, "{}");
    ASSERT_TRUE(loaded.model) << json_dump(loaded.error);
    const Model& m = loaded.model->model;
    // The bundle carries the calibrator fitted on its out-of-fold predictions.
    ASSERT_EQ(m.schema.outputs.conformal.levels.size(), 3u);
    const std::string csv = test::read_file(std::string(LOCALDX_DATA_DIR) + "/" + task + ".csv");
    const PatientFile file = patients_read(m.schema, csv, PatientReadOptions{0, {}, m.schema.outputs.column});
    const RowLabels labels = validation_labels(m.schema, file);
    std::vector<PreparedRecord> rows;
    std::vector<int> y;
    for (size_t r = 0; r < file.rows.size(); ++r) {
        auto p = patient_prepare(m.schema, file, r);
        if (!p || labels.label[r] < 0) continue;
        rows.push_back(std::move(*p));
        y.push_back(labels.label[r]);
    }
    TreeShapWorkspace ws;
    std::vector<double> probs;
    for (const Prediction& p : model_predict_batch(m, std::move(rows), false, ws))
        probs.insert(probs.end(), p.probabilities.begin(), p.probabilities.end());
    const size_t n = y.size(), k = static_cast<size_t>(m.schema.num_classes());
    ASSERT_GT(n, 300u);
    std::vector<std::string> names;
    for (const auto& c : m.schema.outputs.classes) names.push_back(c.name);

    const std::vector<double> levels(std::begin(kConformalLevels), std::end(kConformalLevels));
    std::vector<double> mean(levels.size(), 0);
    const int splits = 60;
    std::mt19937_64 rng(5);
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    for (int s = 0; s < splits; ++s) {
        std::shuffle(order.begin(), order.end(), rng);
        std::vector<double> cp, tp;
        std::vector<int> cy, ty;
        for (size_t i = 0; i < n; ++i) {
            const bool calibrate = i < n / 2;
            auto& pp = calibrate ? cp : tp;
            (calibrate ? cy : ty).push_back(y[order[i]]);
            pp.insert(pp.end(), probs.begin() + static_cast<long>(order[i] * k),
                      probs.begin() + static_cast<long>((order[i] + 1) * k));
        }
        const Conformal c = conformal_fit(cp, cy, static_cast<int>(k), levels, "split");
        const Json cov = conformal_coverage(c, tp, ty, names);
        for (size_t l = 0; l < levels.size(); ++l) mean[l] += cov["levels"][l]["coverage"].get<double>() / splits;
    }
    for (size_t l = 0; l < levels.size(); ++l) {
        std::printf("%s: mean coverage at %.0f%% over %d splits: %.2f%%\n", task.c_str(), levels[l] * 100, splits,
                    mean[l] * 100);
        SCOPED_TRACE(task + " at " + std::to_string(levels[l]));
        EXPECT_NEAR(mean[l], levels[l], 0.02);
    }
}

INSTANTIATE_TEST_SUITE_P(RealData, DemoCoverage, ::testing::Values("pima-diabetes", "wdbc", "pbc-stage"),
                         [](const auto& info) { return test::test_name(info.param); });

// The multi-label demo bundle's signed calibrator: each finding's, equal to a fresh fit of the
// core's (conformal_fit_site, as a site's recalibration) on the calibration images' labels and
// PyTorch's outputs that make_cnn.py --multilabel wrote and `localdx bundle` fitted it on; and
// the bundle's own, so the result's words give each finding's band without "calibrated on this site's".
TEST(Conformal, TheMultilabelDemoBundleCarriesEachFindingsSetsFromAFreshFit) {
    const std::string demo = LOCALDX_DEMO_DIR;
    auto loaded = core_load_bundle(test::read_file(demo + "/bundles/multilabel-demo-1.ldxb"),
                                   test::read_file(demo + "/keys/trust.json"), 1800000000, "{}");
    ASSERT_TRUE(loaded.model) << json_dump(loaded.error);
    const Schema& s = loaded.model->model.schema;
    const Conformal& c = s.outputs.conformal;
    ASSERT_EQ(c.levels.size(), 3u);
    EXPECT_FALSE(c.local);
    const size_t k = s.outputs.classes.size();
    const std::string dir = demo + "/train/multilabel-demo/calibration/";
    const Json outputs = Json::parse(test::read_file(dir + "outputs.json"));
    const ImageLabels labels = image_labels_read(s, test::read_file(dir + "labels.csv"));
    ASSERT_TRUE(labels.problems.empty());
    ASSERT_EQ(labels.rows.size(), outputs["images"].size());
    std::vector<double> p;
    std::vector<int> y;
    for (size_t i = 0; i < labels.rows.size(); ++i) {
        ASSERT_EQ(labels.rows[i].image, outputs["images"][i]["image"]);
        for (size_t f = 0; f < k; ++f) p.push_back(outputs["images"][i]["probabilities"][f].get<double>());
        y.insert(y.end(), labels.rows[i].findings.begin(), labels.rows[i].findings.end());
    }
    const Conformal fresh = conformal_fit_site(s.outputs, p, y, {}, "");
    EXPECT_EQ(c.rows, labels.rows.size());
    for (size_t l = 0; l < fresh.levels.size(); ++l) {
        EXPECT_EQ(c.levels[l].level, fresh.levels[l].level);
        EXPECT_EQ(c.levels[l].threshold, fresh.levels[l].threshold) << "level " << c.levels[l].level;
    }
    const std::string words = conformal_words(s, std::span<const double>(p).first(k));
    EXPECT_EQ(words.rfind("Triage bands (90% confidence): Round opacity ", 0), 0u) << words;
    EXPECT_EQ(words.find("calibrated on this site's"), std::string::npos) << words;
}

}  // namespace
}  // namespace ldx
