// tests/unit/test_metrics.cpp — shared/metrics: figures, calibration, thresholds, labels, gates;
// and the coverage of conformal prediction sets with models retrained on random splits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <random>

#include "conformal/conformal.h"
#include "metrics/evaluation.h"
#include "metrics/validation.h"
#include "support.h"
#include "train/dataset.h"
#include "train/train.h"

using namespace ldx;

namespace {
Schema binary_schema() {
    Schema s;
    s.task = "t";
    s.outputs.kind = TaskKind::binary;
    s.outputs.column = "outcome";
    s.outputs.classes = {{"neg", "No disease"}, {"pos", "Disease"}};
    return s;
}

// n patients whose outcome is drawn with probability true_p; the model says model_p.
void simulate(size_t n, double sharpen, std::vector<double>& p, std::vector<int>& y) {
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> u(0.02, 0.98), draw(0.0, 1.0);
    for (size_t i = 0; i < n; ++i) {
        const double truth = u(rng);
        y.push_back(draw(rng) < truth ? 1 : 0);
        const double l = std::log(truth / (1 - truth)) * sharpen;
        p.push_back(1 / (1 + std::exp(-l)));
    }
}
}  // namespace

TEST(AveragePrecision, StepwiseAreaAsSklearnDefinesIt) {
    // Scores 0.9 (pos), 0.8 (neg), 0.7 (pos), 0.1 (neg): recall 1/2 at precision 1, then 1 at 2/3.
    const std::vector<double> s{0.9, 0.8, 0.7, 0.1};
    const std::vector<int> y{1, 0, 1, 0};
    EXPECT_NEAR(average_precision(s, y, 1), 0.5 * 1.0 + 0.5 * (2.0 / 3.0), 1e-15);
    // Ties move together: one threshold, precision 1/2 at recall 1.
    EXPECT_NEAR(average_precision(std::vector<double>{0.5, 0.5}, std::vector<int>{1, 0}, 1), 0.5, 1e-15);
    EXPECT_TRUE(std::isnan(average_precision(s, std::vector<int>{0, 0, 0, 0}, 1)));
}

TEST(Brier, BinaryUsesThePositiveClassMultiClassSumsOverClasses) {
    const std::vector<double> p2{0.2, 0.8, 0.6, 0.4};
    EXPECT_NEAR(brier_score(p2, std::vector<int>{1, 1}, 2), (0.04 + 0.36) / 2, 1e-15);
    const std::vector<double> p3{0.5, 0.3, 0.2};
    EXPECT_NEAR(brier_score(p3, std::vector<int>{0}, 3), 0.25 + 0.09 + 0.04, 1e-15);
}

TEST(Calibration, SlopeOneForCalibratedBelowOneForOverconfident) {
    std::vector<double> p, q;
    std::vector<int> y, z;
    simulate(20000, 1.0, p, y);
    const CalibrationFit good = calibration_fit(p, y);
    EXPECT_NEAR(good.slope, 1.0, 0.06);
    EXPECT_NEAR(good.intercept, 0.0, 0.05);
    simulate(20000, 2.0, q, z);  // logits doubled: too extreme, the slope halves
    EXPECT_NEAR(calibration_fit(q, z).slope, 0.5, 0.04);
    // Perfectly separated outcomes have no calibration line.
    EXPECT_TRUE(
        std::isnan(calibration_fit(std::vector<double>{0.1, 0.2, 0.8, 0.9}, std::vector<int>{0, 0, 1, 1}).slope));
}

TEST(Thresholds, EachPolicyPicksTheThresholdItPromises) {
    const std::vector<double> s{0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1};
    const std::vector<int> y{1, 1, 0, 1, 1, 0, 0, 1, 0, 0};
    // Sensitivity >= 0.8 (4 of 5 positives): the highest threshold reaching it is 0.6.
    EXPECT_EQ(*threshold_for("sensitivity>=0.8", s, y), 0.6);
    // Specificity >= 0.6 (at most 2 of 5 negatives alerted): the lowest such threshold is 0.5.
    EXPECT_EQ(*threshold_for("specificity>=0.6", s, y), 0.5);
    EXPECT_EQ(*threshold_for("ppv>=0.99", s, y), 0.9);
    EXPECT_EQ(*threshold_for("fixed:0.25", s, y), 0.25);
    EXPECT_EQ(*threshold_for("0.4", s, y), 0.4);
    const auto youden = *threshold_for("youden", s, y);
    const Confusion c = confusion_at(s, y, youden);
    for (double t : s) {
        const Confusion o = confusion_at(s, y, t);
        EXPECT_LE(o.sensitivity() + o.specificity(), c.sensitivity() + c.specificity() + 1e-12);
    }
    EXPECT_EQ(threshold_for("sensitivity>0.8", s, y).error().code, "bad_policy");
    EXPECT_EQ(threshold_for("fixed:1.5", s, y).error().code, "bad_policy");
    EXPECT_EQ(threshold_for("ppv>=0.999", std::vector<double>{0.5, 0.5}, std::vector<int>{1, 0}).error().code,
              "unreachable");
    EXPECT_EQ(threshold_policy_words("sensitivity>=0.90"), "sensitivity at least 90%");
    EXPECT_EQ(threshold_policy_words("ppv>=0.5"), "PPV at least 50%");
}

// Every policy's threshold (found in one sweep over the sorted scores) against every candidate
// tried one by one with confusion_at, on scores with many ties.
TEST(Thresholds, OneSweepFindsWhatTryingEveryCandidateFinds) {
    std::mt19937_64 rng(3);
    std::vector<double> s;
    std::vector<int> y;
    for (int i = 0; i < 3000; ++i) {
        const double score = static_cast<double>(rng() % 200) / 200.0;  // 200 distinct values
        s.push_back(score);
        y.push_back(static_cast<double>(rng() % 1000) / 1000.0 < score ? 1 : 0);
    }
    std::vector<double> candidates(s);
    std::sort(candidates.begin(), candidates.end(), std::greater<>());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    for (const char* policy :
         {"youden", "sensitivity>=0.9", "sensitivity>=0.95", "specificity>=0.9", "ppv>=0.7", "npv>=0.9"}) {
        const std::string p(policy);
        std::optional<double> expected;
        double best = -INFINITY;
        for (double t : candidates) {  // highest first
            const Confusion c = confusion_at(s, y, t);
            if (p == "youden") {
                if (c.sensitivity() + c.specificity() - 1 > best) {
                    best = c.sensitivity() + c.specificity() - 1;
                    expected = t;
                }
            } else if (p.starts_with("sensitivity")) {
                if (!expected && c.sensitivity() >= std::stod(p.substr(13))) expected = t;
            } else if (p.starts_with("npv")) {
                if (!expected && c.npv() >= std::stod(p.substr(5))) expected = t;
            } else if (p.starts_with("specificity")) {
                if (c.specificity() >= std::stod(p.substr(13))) expected = t;  // the lowest that meets it
            } else if (c.ppv() >= std::stod(p.substr(5))) {
                expected = t;
            }
        }
        ASSERT_TRUE(expected) << policy;
        const auto got = threshold_for(policy, s, y);
        ASSERT_TRUE(got) << policy;
        EXPECT_EQ(*got, *expected) << policy;
    }
}

// Each bootstrap resample draws at most bootstrap_rows rows (m-out-of-n, widths scaled by
// sqrt(m / n)): the intervals keep about the width of the full bootstrap's; with bootstrap_rows at
// or above the rows every figure is exactly the full bootstrap's.
TEST(Evaluate, ResamplesOfFewerRowsGiveIntervalsOfTheFullWidth) {
    const Schema s = binary_schema();
    std::vector<double> p1;
    std::vector<int> y;
    simulate(10000, 1.0, p1, y);
    std::vector<double> probs;
    for (double p : p1) {
        probs.push_back(1 - p);
        probs.push_back(p);
    }
    EvalInput quick{&s, y, probs, 20, 1, false, {}}, same = quick;
    same.bootstrap_rows = 10000;
    const Json q = evaluate(quick);
    EXPECT_EQ(q, evaluate(same));
    EXPECT_FALSE(q.contains("bootstrap_rows"));
    EvalInput full{&s, y, probs, 150, 1, false, {}}, fewer = full;
    fewer.bootstrap_rows = 1000;
    const Json a = evaluate(full), c = evaluate(fewer);
    EXPECT_EQ(c["bootstrap_rows"], 1000);
    for (const char* figure : {"auc_roc", "pr_auc", "sensitivity"}) {
        const Json& fa = a["class"]["pos"][figure];
        const Json& fc = c["class"]["pos"][figure];
        EXPECT_EQ(fa["value"], fc["value"]) << figure;
        const double wa = fa["ci95"][1].get<double>() - fa["ci95"][0].get<double>(),
                     wc = fc["ci95"][1].get<double>() - fc["ci95"][0].get<double>();
        EXPECT_GT(wa, 0) << figure;
        EXPECT_NEAR(wc / wa, 1.0, 0.3) << figure;
        EXPECT_LT(fc["ci95"][0].get<double>(), fc["value"].get<double>()) << figure;
        EXPECT_GT(fc["ci95"][1].get<double>(), fc["value"].get<double>()) << figure;
    }
    // Without the scaling, 1,000-row resamples would give intervals about sqrt(10) times wider.
    const double wb = a["brier"]["ci95"][1].get<double>() - a["brier"]["ci95"][0].get<double>(),
                 wcb = c["brier"]["ci95"][1].get<double>() - c["brier"]["ci95"][0].get<double>();
    EXPECT_NEAR(wcb / wb, 1.0, 0.3);
}

// compare() draws its paired resamples as evaluate does, and says so the same way: bootstrap_rows
// when a resample drew fewer rows than there are, with the differences' intervals scaled alike.
TEST(Evaluate, CompareReportsTheRowsEachResampleDrew) {
    const Schema s = binary_schema();
    std::vector<double> p1, p2;
    std::vector<int> y;
    simulate(10000, 1.0, p1, y);
    std::vector<double> a, b;
    for (size_t i = 0; i < p1.size(); ++i) {
        a.insert(a.end(), {1 - p1[i], p1[i]});
        const double q = std::clamp(p1[i] + (i % 3 == 0 ? 0.1 : -0.05), 0.001, 0.999);
        b.insert(b.end(), {1 - q, q});
    }
    EvalInput fa{&s, y, a, 150, 1, false, {}}, fb{&s, y, b, 150, 1, false, {}};
    const Json whole = compare(fa, fb);
    EXPECT_EQ(whole["rows"], 10000);
    EXPECT_EQ(whole["bootstrap_resamples"], 150);
    EXPECT_FALSE(whole.contains("bootstrap_rows"));
    fa.bootstrap_rows = 1000;
    const Json fewer = compare(fa, fb);
    EXPECT_EQ(fewer["bootstrap_rows"], 1000);
    const Json& dw = whole["figures"]["brier"];
    const Json& df = fewer["figures"]["brier"];
    EXPECT_EQ(dw["difference"], df["difference"]);
    const double ww = dw["ci95"][1].get<double>() - dw["ci95"][0].get<double>(),
                 wf = df["ci95"][1].get<double>() - df["ci95"][0].get<double>();
    EXPECT_GT(ww, 0);
    EXPECT_NEAR(wf / ww, 1.0, 0.3);
}

TEST(Evaluate, FiguresCarryIntervalsAndTheConfusionMatrixAddsUp) {
    const Schema s = binary_schema();
    std::vector<double> p1;
    std::vector<int> y;
    simulate(400, 1.0, p1, y);
    std::vector<double> probs;
    for (double p : p1) {
        probs.push_back(1 - p);
        probs.push_back(p);
    }
    const Json r = evaluate(EvalInput{&s, y, probs, 200, 1, false, {}});
    const Json& auc = r["class"]["pos"]["auc_roc"];
    EXPECT_LT(auc["ci95"][0].get<double>(), auc["value"].get<double>());
    EXPECT_GT(auc["ci95"][1].get<double>(), auc["value"].get<double>());
    size_t total = 0;
    for (const auto& row : r["confusion"]["counts"])
        for (const auto& c : row) total += c.get<size_t>();
    EXPECT_EQ(total, 400u);
    EXPECT_EQ(r["decision_curve"]["threshold"].size(), 99u);
    EXPECT_FALSE(r["operating_points"].empty());
    // A model compared with itself differs by exactly zero.
    const Json same = compare(EvalInput{&s, y, probs, 50, 1, false, {}}, EvalInput{&s, y, probs, 50, 1, false, {}});
    EXPECT_EQ(same["figures"]["brier"]["difference"].get<double>(), 0.0);
    EXPECT_EQ(same["figures"]["brier"]["ci95"][1].get<double>(), 0.0);
    EXPECT_EQ(same["rows"].get<size_t>(), 400u);
    EXPECT_FALSE(same.contains("bootstrap_rows"));  // every resample drew all 400 rows
}

TEST(ValidationLabels, ClassNamesOrLabelsAndEachBadRowNamed) {
    const Schema s = binary_schema();
    PatientFile f;
    f.has_labels = true;
    for (const char* y : {"pos", "No disease", " disease ", "", "maybe"}) {
        PatientRow r;
        r.row = static_cast<long>(f.rows.size()) + 1;
        r.id = "P" + std::to_string(r.row);
        r.label = y;
        f.rows.push_back(r);
    }
    const RowLabels l = validation_labels(s, f);
    EXPECT_EQ(l.label, (std::vector<int>{1, 0, 1, -1, -1}));
    ASSERT_EQ(l.problems.size(), 2u);
    EXPECT_EQ(l.problems[0].code, "missing_label");
    EXPECT_EQ(l.problems[0].row, 4);
    EXPECT_EQ(l.problems[1].describe(),
              "row 5 (patient P5), field 'outcome': outcome 'maybe' is not one of: neg (No disease), pos (Disease)");
}

TEST(ValidationCheck, RefusesWhatCannotGiveAReport) {
    const Schema s = binary_schema();
    PatientFile f;
    EXPECT_EQ(validation_check(s, f, {}).error().code, "missing_label_column");
    f.has_labels = true;
    EXPECT_EQ(validation_check(s, f, std::vector<int>(10, 1)).error().code, "too_few_rows");
    EXPECT_EQ(validation_check(s, f, std::vector<int>(30, 1)).error().code, "one_class");
    std::vector<int> rare(30, 0);
    rare[0] = rare[1] = 1;
    EXPECT_EQ(validation_check(s, f, rare).error().code, "too_few_in_class");
    for (int i = 0; i < 10; ++i) rare[static_cast<size_t>(i)] = 1;
    EXPECT_TRUE(validation_check(s, f, rare));
}

TEST(Gates, ParseAndCheckAgainstNumbersAndTheBaseline) {
    const Schema s = binary_schema();
    const Figures now{{"class.pos.auc_roc", 0.80}, {"calibration.slope", 1.3}, {"brier", NAN}};
    const Figures base{{"class.pos.auc_roc", 0.82}, {"calibration.slope", 1.0}, {"brier", 0.1}};
    auto check = [&](const char* text, const Figures* b) {
        auto rule = gate_parse(text);
        EXPECT_TRUE(rule) << text;
        auto out = gate_check(s, *rule, now, b);
        EXPECT_TRUE(out) << text;
        return *out;
    };
    EXPECT_TRUE(check("auc >= 0.8", nullptr).pass);
    EXPECT_FALSE(check("auc > 0.8", nullptr).pass);
    EXPECT_TRUE(check("auc >= baseline - 0.03", &base).pass);
    const GateOutcome fail = check("auc >= baseline - 0.01", &base);
    EXPECT_FALSE(fail.pass);
    EXPECT_EQ(fail.reason, "auc 0.8 >= 0.81 (baseline 0.82 - 0.01): fails");
    EXPECT_FALSE(check("calibration_slope in [0.8, 1.2]", nullptr).pass);
    EXPECT_TRUE(check("calibration_slope in [0.8, baseline + 0.5]", &base).pass);
    EXPECT_FALSE(check("brier <= 1", nullptr).pass);  // not a number on these rows: fails, saying so
    EXPECT_EQ(gate_parse("auc is good").error().code, "bad_gate");
    EXPECT_EQ(gate_parse("auc >= baseline * 2").error().code, "bad_gate");
    EXPECT_EQ(gate_parse("slope in [0.8 1.2]").error().code, "bad_gate");
    EXPECT_EQ(gate_figure(s, "qwk").error().code, "bad_gate");  // ordinal only
    EXPECT_EQ(gate_check(s, *gate_parse("auc >= baseline"), now, nullptr).error().code, "bad_gate");
}

//-----------------------------------------------------------------------------
// Conformal coverage with the model retrained on every split: each demo data set is split at
// random 50 times into training (40%), calibration (40%) and test (20%) rows; a model trained on
// the first, a calibrator fitted on the second, coverage counted on the third. The mean coverage
// must sit within 2 points of 80%, 90% and 95%. (Class-conditional sets are conservative by about
// 1/(n+1) per class of n calibration patients: pbc-stage's smallest stage has 21 patients in all.)
//-----------------------------------------------------------------------------
namespace {

class RetrainedCoverage : public ::testing::TestWithParam<const char*> {};

TEST_P(RetrainedCoverage, MeanCoverageOfTrainCalibrationTestSplitsIsNominal) {
    const std::string task = GetParam();
    const Schema schema = test::task_schema(task);
    auto data = dataset_from_csv(schema, test::read_file(test::data_path(task)), true);
    ASSERT_TRUE(data);
    const int k = schema.num_classes();
    const size_t n = data->rows(), kk = static_cast<size_t>(k);
    TrainConfig cfg;
    cfg.params = {{"max_depth", "3"}, {"eta", "0.1"}, {"subsample", "0.8"}, {"min_child_weight", "2"}};
    const auto params = task_params(schema, cfg);
    const std::vector<double> levels(std::begin(kConformalLevels), std::end(kConformalLevels));
    std::vector<std::string> names;
    for (const auto& c : schema.outputs.classes) names.push_back(c.name);
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(11);
    const int splits = 50;
    std::vector<double> mean(levels.size(), 0);
    auto probabilities = [&](const XgbBooster& b, std::span<const size_t> rows) {
        const auto p = b.predict(matrix_select_rows(data->x, rows), 0);
        std::vector<double> out;
        for (size_t i = 0; i < rows.size(); ++i)
            if (k == 2) out.insert(out.end(), {1.0 - p[i], static_cast<double>(p[i])});
            else
                out.insert(out.end(), p.begin() + static_cast<long>(i * kk),
                           p.begin() + static_cast<long>((i + 1) * kk));
        return out;
    };
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
        std::vector<int> cy, ty;
        for (size_t i : calibrate) cy.push_back(static_cast<int>(data->labels[i]));
        for (size_t i : test) ty.push_back(static_cast<int>(data->labels[i]));
        const Conformal c = conformal_fit(probabilities(*booster, calibrate), cy, k, levels, "split");
        const Json cov = conformal_coverage(c, probabilities(*booster, test), ty, names);
        for (size_t l = 0; l < levels.size(); ++l) mean[l] += cov["levels"][l]["coverage"].get<double>() / splits;
    }
    for (size_t l = 0; l < levels.size(); ++l) {
        std::printf("%s, retrained: mean coverage at %.0f%% over %d splits: %.2f%%\n", task.c_str(), levels[l] * 100,
                    splits, mean[l] * 100);
        EXPECT_NEAR(mean[l], levels[l], 0.02) << task << " at " << levels[l];
    }
}

INSTANTIATE_TEST_SUITE_P(RealData, RetrainedCoverage, ::testing::Values("pima-diabetes", "wdbc", "pbc-stage"),
                         [](const auto& info) { return test::test_name(info.param); });

}  // namespace
