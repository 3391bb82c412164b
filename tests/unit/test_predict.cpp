// tests/unit/test_predict.cpp — the rules around a prediction: when missing values carry the
// result, and when ONNX Runtime agrees with the core.
#include <gtest/gtest.h>

#include <limits>

#include "predict/predict.h"

namespace ldx {
namespace {

TEST(MissingShare, CountsTheAbsoluteContributionOfMissingFields) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const std::vector<double> values{1, nan, 3, nan};
    EXPECT_DOUBLE_EQ(missing_share(values, std::vector<double>{0.1, -0.3, 0.2, 0.4}), 0.7);
    EXPECT_DOUBLE_EQ(missing_share(values, std::vector<double>{0, 0, 0, 0}), 0.0);
    EXPECT_DOUBLE_EQ(missing_share(std::vector<double>{1, 2}, std::vector<double>{0.5, -0.5}), 0.0);
}

TEST(OnnxAgreement, EveryNumberWithinTheToleranceOrTheResultIsWithheld) {
    const std::vector<double> core{0.25, 0.75, -1.0986};
    EXPECT_TRUE(onnx_agreement(core, std::vector<double>{0.25, 0.75, -1.0986 + 0.9 * kOnnxTolerance}).ok);
    const Agreement off = onnx_agreement(core, std::vector<double>{0.25, 0.75 + 2 * kOnnxTolerance, -1.0986});
    EXPECT_FALSE(off.ok);
    EXPECT_NEAR(off.max_abs_diff, 2 * kOnnxTolerance, 1e-12);
    EXPECT_FALSE(onnx_agreement(core, std::vector<double>{0.25, 0.75}).ok);  // a missing number is no agreement
    EXPECT_FALSE(onnx_agreement({}, {}).ok);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    EXPECT_FALSE(onnx_agreement(core, std::vector<double>{0.25, nan, -1.0986}).ok);
    EXPECT_FALSE(onnx_agreement(std::vector<double>{nan}, std::vector<double>{nan}).ok);
}

}  // namespace
}  // namespace ldx

#include "metrics/evaluation.h"

namespace ldx {
namespace {
TEST(RocCurve, OnePointPerDistinctScoreFromZeroToOne) {
    const std::vector<double> score{0.9, 0.8, 0.7, 0.6};
    const std::vector<int> positive{1, 0, 1, 0};
    EXPECT_EQ(roc_curve(score, positive, 101), Json::parse("[[0,0],[0,0.5],[0.5,0.5],[0.5,1],[1,1]]"));
    // Ties move together: two cases with one score are one step.
    EXPECT_EQ(roc_curve(std::vector<double>{0.5, 0.5}, std::vector<int>{1, 0}, 101), Json::parse("[[0,0],[1,1]]"));
    EXPECT_EQ(roc_curve(std::vector<double>{0.5}, std::vector<int>{1}, 101), Json::parse("[[0,0]]"));  // one class only
    std::vector<double> many(1000);
    std::vector<int> labels(1000);
    for (size_t i = 0; i < many.size(); ++i) many[i] = static_cast<double>(i), labels[i] = static_cast<int>(i % 3 == 0);
    EXPECT_LE(roc_curve(many, labels, 101).size(), 101u);
}
}  // namespace
}  // namespace ldx
