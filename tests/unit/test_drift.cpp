// tests/unit/test_drift.cpp — bin edges, binning, PSI and Jensen-Shannon, reference histograms.
#include <gtest/gtest.h>

#include <cmath>

#include "drift/histogram.h"
#include "drift/report.h"
#include "support.h"

namespace ldx {
namespace {

TEST(Drift, QuantileEdgesSplitMassEvenlyAndCollapseTies) {
    std::vector<double> v;
    for (int i = 0; i < 100; ++i) v.push_back(i);
    v.push_back(NAN);
    const auto e = quantile_edges(v, 4);
    EXPECT_EQ(e, (std::vector<double>{25, 50, 75}));
    std::vector<double> ties(90, 1.0);
    for (int i = 0; i < 10; ++i) ties.push_back(2.0 + i);
    const auto t = quantile_edges(ties, 10);
    EXPECT_EQ(t.front(), 2.0);  // the tied mass stays in one bin
    for (size_t i = 1; i < t.size(); ++i) EXPECT_GT(t[i], t[i - 1]);
}

TEST(Drift, BinningPutsEdgesRightAndNaNLast) {
    Histogram h = histogram_empty("x", {1, 2});
    EXPECT_EQ(histogram_bin(h, 0.5), 0u);
    EXPECT_EQ(histogram_bin(h, 1.0), 1u);
    EXPECT_EQ(histogram_bin(h, 5.0), 2u);
    EXPECT_EQ(histogram_bin(h, NAN), 3u);
    EXPECT_EQ(h.bins(), 4u);
}

TEST(Drift, PsiAndJensenShannon) {
    const std::vector<uint64_t> ref = {100, 100, 100, 100};
    EXPECT_NEAR(population_stability_index(ref, ref), 0.0, 1e-12);
    EXPECT_NEAR(jensen_shannon_distance(ref, ref), 0.0, 1e-12);
    const std::vector<uint64_t> shifted = {10, 40, 150, 200};
    const double psi = population_stability_index(ref, shifted);
    // By hand: sum (q - p) ln(q/p) with p = 0.25, q = (0.025, 0.1, 0.375, 0.5).
    const double expect = (0.025 - 0.25) * std::log(0.1) + (0.1 - 0.25) * std::log(0.4) +
                          (0.375 - 0.25) * std::log(1.5) + (0.5 - 0.25) * std::log(2.0);
    EXPECT_NEAR(psi, expect, 1e-3);
    EXPECT_GT(psi, 0.25);
    const std::vector<uint64_t> a = {1, 0}, b = {0, 1};
    EXPECT_NEAR(jensen_shannon_distance(a, b), 1.0, 1e-12);  // disjoint: the maximum
}

TEST(Drift, ReferenceHistogramsRoundTripAndCheckTheSchema) {
    const Schema s = test::task_schema("pbc-stage");
    const size_t nf = s.fields.size();
    std::vector<double> values;
    std::vector<double> probs;
    for (int r = 0; r < 50; ++r) {
        for (size_t f = 0; f < nf; ++f) values.push_back(r % 7 == 0 ? NAN : (s.fields[f].numeric() ? r : r % 2));
        for (int k = 0; k < 4; ++k) probs.push_back(k == r % 4 ? 0.7 : 0.1);
    }
    const Reference ref = reference_build(s, values, probs);
    EXPECT_EQ(ref.rows, 50u);
    ASSERT_EQ(ref.fields.size(), nf);
    uint64_t total = 0;
    for (auto c : ref.fields[0].counts) total += c;
    EXPECT_EQ(total, 50u);
    EXPECT_EQ(ref.fields[0].counts.back(), 8u);                // rows 0, 7, ..., 49 are missing
    EXPECT_EQ(ref.fields[1].edges, std::vector<double>{0.5});  // sex: two levels

    auto back = reference_from_json(reference_to_json(ref), s);
    ASSERT_TRUE(back.ok()) << back.error().describe();
    EXPECT_EQ(reference_to_json(*back), reference_to_json(ref));

    Json bad = reference_to_json(ref);
    bad["fields"][2]["counts"].push_back(1);
    EXPECT_EQ(reference_from_json(bad, s).error().code, "bad_reference");
    EXPECT_EQ(reference_from_json(Json{{"format", 2}}, s).error().code, "bad_reference");
    bad = reference_to_json(ref);
    bad["fields"].erase(0);
    EXPECT_NE(reference_from_json(bad, s).error().message.find("one histogram per schema field"), std::string::npos);
}

}  // namespace
}  // namespace ldx

namespace ldx {
namespace {
TEST(Drift, ThePerPatientBudgetOfAReportCountsEveryRandomizedHistogram) {
    const Schema s = test::task_schema("pima-diabetes");  // 8 fields, 2 classes, epsilon 1
    EXPECT_DOUBLE_EQ(report_epsilon_per_patient(s), (8 + 1 + 2) * s.privacy.epsilon);
}
}  // namespace
}  // namespace ldx
