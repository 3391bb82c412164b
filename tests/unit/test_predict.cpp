// tests/unit/test_predict.cpp — the rules around a prediction: when missing values carry the
// result, when there is too little of the patient for a verdict, and when ONNX Runtime agrees with
// the core.
#include <gtest/gtest.h>

#include <limits>

#include "conformal/conformal.h"
#include "predict/predict.h"
#include "predict/prediction_json.h"
#include "predict/results_csv.h"
#include "support.h"

namespace ldx {
namespace {

TEST(MissingShare, CountsTheAbsoluteContributionOfMissingFields) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const std::vector<double> values{1, nan, 3, nan};
    EXPECT_DOUBLE_EQ(missing_share(values, std::vector<double>{0.1, -0.3, 0.2, 0.4}), 0.7);
    EXPECT_DOUBLE_EQ(missing_share(values, std::vector<double>{0, 0, 0, 0}), 0.0);
    EXPECT_DOUBLE_EQ(missing_share(std::vector<double>{1, 2}, std::vector<double>{0.5, -0.5}), 0.0);
}

Schema information_schema(const char* rule) {
    auto s = schema_parse(std::string(R"({
      "task": "demo", "title": "Demo",
      "fields": [
        {"name": "glucose", "label": "Plasma glucose", "type": "number", "unit": "mg/dL", "min": 10, "max": 1000},
        {"name": "mass", "label": "Body mass index", "type": "number", "unit": "kg/m2", "min": 10, "max": 80},
        {"name": "age", "label": "Age", "type": "integer", "unit": "a", "min": 0, "max": 120},
        {"name": "insulin", "label": "Serum insulin", "type": "number", "unit": "u[IU]/mL", "min": 0, "max": 1000}
      ],
      "outputs": {"kind": "binary", "column": "y", "classes": [{"name": "no", "label": "No"}, {"name": "yes", "label": "Yes"}],
                  "positive": "yes"})") +
                          rule + "}");
    EXPECT_TRUE(s.ok()) << s.error().describe();
    return *s;
}

TEST(MinimumInformation, NoVerdictWithoutEnoughOfThePatientNamedByLabels) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const Schema s = information_schema(R"(, "minimum_information": {"fields": ["age"], "max_missing_share": 0.4,
        "weights": {"glucose": 0.45, "mass": 0.2, "age": 0.15, "insulin": 0.2}})");
    // Only the age: 85% of the explanation is missing; glucose, then BMI (the heaviest) bring it to 20%.
    const std::vector<double> age_only{nan, nan, 45, nan};
    InformationCheck c = information_check(s, age_only);
    EXPECT_FALSE(c.enough);
    EXPECT_NEAR(c.missing_share, 0.85, 1e-12);
    EXPECT_EQ(c.to_enter, (std::vector<int>{0, 1}));
    EXPECT_EQ(c.message,
              "Enter Plasma glucose and Body mass index to get a result: the missing values would carry 85% "
              "of its explanation on average (a result allows at most 40%).");
    // As problems: the message, then each field to enter (the form marks them).
    const auto ps = information_problems(s, c, 7);
    ASSERT_EQ(ps.size(), 3u);
    EXPECT_EQ(ps[0].code, "incomplete");
    EXPECT_EQ(ps[0].message, c.message);
    EXPECT_EQ(ps[0].field, "");
    EXPECT_EQ(ps[0].row, 7);
    EXPECT_EQ(ps[1].field, "glucose");
    EXPECT_EQ(ps[2].field, "mass");
    EXPECT_EQ(ps[2].message, "needed for a result");
    // A listed field is asked for first, whatever its weight.
    c = information_check(s, std::vector<double>{120, 30, nan, nan});
    EXPECT_FALSE(c.enough);
    EXPECT_EQ(c.to_enter, (std::vector<int>{2}));
    EXPECT_EQ(c.message, "Enter Age to get a result: this model gives no result without Age.");
    // Both: the listed field, then the heaviest missing ones.
    c = information_check(s, std::vector<double>{nan, 30, nan, 80});
    EXPECT_EQ(c.to_enter, (std::vector<int>{2, 0}));
    EXPECT_EQ(c.message,
              "Enter Age and Plasma glucose to get a result: this model gives no result without Age, and "
              "the missing values would carry 60% of its explanation on average (a result allows at most "
              "40%).");
    // Enough: the listed field given, 40% missing (the limit itself is allowed).
    c = information_check(s, std::vector<double>{120, nan, 45, nan});
    EXPECT_TRUE(c.enough);
    EXPECT_NEAR(c.missing_share, 0.4, 1e-12);
    EXPECT_TRUE(c.message.empty());
    EXPECT_TRUE(information_problems(s, c).empty());
    // Without weights every field weighs the same: two of four missing is 50%.
    const Schema equal = information_schema(R"(, "minimum_information": {"max_missing_share": 0.4})");
    EXPECT_FALSE(information_check(equal, std::vector<double>{120, nan, 45, nan}).enough);
    EXPECT_TRUE(information_check(equal, std::vector<double>{120, 30, 45, nan}).enough);
    // A schema without the rule gives a verdict on anything.
    const Schema none = information_schema("");
    EXPECT_TRUE(information_check(none, std::vector<double>{nan, nan, nan, nan}).enough);
    EXPECT_EQ(information_words(none), "This model states no minimum information: every record gets a result.");
}

TEST(ProblemWords, TheFieldByItsLabelWithRowAndPatient) {
    const Schema s = information_schema("");
    Problem p = problem("out_of_range", "12 years is outside the possible range 21 to 120 years", "age", 3);
    EXPECT_EQ(problem_words(s, p), "Row 3, Age: 12 years is outside the possible range 21 to 120 years");
    p.patient = "P-17";
    EXPECT_EQ(problem_words(s, p), "Row 3 (patient P-17), Age: 12 years is outside the possible range 21 to 120 years");
    EXPECT_EQ(problem_words(s, problem("required", "a value is required", "glucose")),
              "Plasma glucose: a value is required");
    EXPECT_EQ(problem_words(s, problem("incomplete", "Enter Age to get a result.")), "Enter Age to get a result.");
    const Json j = problems_json(s, {problem("required", "a value is required", "mass", 2)});
    EXPECT_EQ(j[0]["text"], "Row 2, Body mass index: a value is required");
    EXPECT_EQ(j[0]["label"], "Body mass index");
    EXPECT_EQ(j[0]["field"], "mass");
}

TEST(MinimumInformation, TheSchemaStatesItAndRefusesWhatCannotBeARule) {
    const Schema s = information_schema(
        R"(, "minimum_information": {"fields": ["age"], "max_missing_share": 0.35, "basis": "set by hand",
             "weights": {"glucose": 2, "mass": 1, "age": 1}})");
    ASSERT_TRUE(s.minimum_information);
    auto again = schema_from_json(schema_to_json(s));
    ASSERT_TRUE(again.ok()) << again.error().describe();
    ASSERT_TRUE(again->minimum_information);
    EXPECT_EQ(again->minimum_information->fields, std::vector<std::string>{"age"});
    EXPECT_EQ(again->minimum_information->max_missing_share, 0.35);
    EXPECT_EQ(again->minimum_information->weights, (std::vector<double>{0.5, 0.25, 0.25, 0}));  // normalised
    EXPECT_EQ(information_words(s),
              "No result without Age, or when the missing values would carry more than 35% of its explanation on "
              "average: the form lists the values to enter instead. Rule set by hand.");
    for (const char* bad :
         {R"(, "minimum_information": {"fields": ["weight"]})",
          R"(, "minimum_information": {"fields": ["age", "age"]})",
          R"(, "minimum_information": {"max_missing_share": 0})",
          R"(, "minimum_information": {"max_missing_share": 1.5})", R"(, "minimum_information": {"fields": "age"})",
          R"(, "minimum_information": {"needs": ["age"]})"}) {
        auto r =
            schema_parse(std::string(R"({"task": "demo", "title": "Demo", "fields": [{"name": "age", "label": "Age",
          "type": "integer", "unit": "a", "min": 0, "max": 120}], "outputs": {"kind": "binary", "column": "y",
          "classes": [{"name": "no", "label": "No"}, {"name": "yes", "label": "Yes"}], "positive": "yes"})") +
                         bad + "}");
        EXPECT_FALSE(r.ok()) << bad;
        if (!r.ok()) EXPECT_EQ(r.error().field.substr(0, 19), "minimum_information") << bad;
    }
}

TEST(MinimumInformation, TheDefaultComesFromTheOutOfFoldExplanations) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const Schema s = information_schema("");
    // Four training rows: glucose carries most of every explanation but is missing once; BMI and age
    // are always given; insulin is often missing.
    const std::vector<double> values{120, 30, 40, nan,  //
                                     nan, 25, 50, 80,   //
                                     140, 35, 60, nan,  //
                                     100, 28, 30, 90};
    const std::vector<double> oof{0.6,  0.3, 0.05, 0.05,  //
                                  0.6,  0.3, 0.05, 0.05,  //
                                  -0.6, 0.2, 0.1,  0.1,   //
                                  0.5,  0.3, -0.1, 0.1};
    const MinimumInformation mi = information_derive(s, values, oof, 4);
    ASSERT_EQ(mi.weights.size(), 4u);
    EXPECT_NEAR(mi.weights[0], 0.575, 1e-12);
    EXPECT_NEAR(mi.weights[1], 0.275, 1e-12);
    EXPECT_NEAR(mi.weights[0] + mi.weights[1] + mi.weights[2] + mi.weights[3], 1.0, 1e-12);
    // Glucose alone weighs half but was not given for every row: no field is required on its own.
    EXPECT_TRUE(mi.fields.empty());
    // The second row missed the most (glucose, 57.5%): the limit is the next 5% above it.
    EXPECT_DOUBLE_EQ(mi.max_missing_share, 0.6);
    EXPECT_NE(mi.basis.find("4 training patients"), std::string::npos) << mi.basis;
    EXPECT_NE(mi.basis.find("each field weighs its mean share of them (Plasma glucose 5"), std::string::npos)
        << mi.basis;
    EXPECT_NE(mi.basis.find(", so the limit is 60% (never below 25%)"), std::string::npos) << mi.basis;
    // Every training row passes its own rule; a row with only the age does not.
    Schema ruled = s;
    ruled.minimum_information = mi;
    for (size_t i = 0; i < 4; ++i)
        EXPECT_TRUE(information_check(ruled, std::span(values).subspan(i * 4, 4)).enough) << i;
    const InformationCheck age_only = information_check(ruled, std::vector<double>{nan, nan, 45, nan});
    EXPECT_FALSE(age_only.enough);
    EXPECT_EQ(age_only.to_enter, (std::vector<int>{0}));
    // With glucose always given it is required; nothing much missing gives the floor.
    std::vector<double> complete = values;
    complete[4] = 110;
    const MinimumInformation mc = information_derive(s, complete, oof, 4);
    EXPECT_EQ(mc.fields, std::vector<std::string>{"glucose"});
    EXPECT_DOUBLE_EQ(mc.max_missing_share, kMissingShareFloor);
    // Without explanations there is nothing to derive from.
    EXPECT_TRUE(information_derive(s, values, {}, 4).weights.empty());
}

TEST(ShownFigures, ExplanationRowsAddUpToTheHeadlineAndAZeroHasNoSign) {
    // Three fields of 18.14, 18.14 and 18.04 points from 0: the headline shows 54.3, the rows rounded
    // one by one 54.2; one row takes the step its rounding lost.
    const std::vector<double> rows{18.14, 18.14, 18.04};
    const auto shown = rounded_to_total(rows, 1, 54.3);
    double sum = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
        EXPECT_LE(std::abs(shown[i] - rows[i]), 0.1 + 1e-12) << i;
        sum += shown[i];
    }
    EXPECT_NEAR(sum, 54.3, 1e-9);
    EXPECT_EQ(shown, (std::vector<double>{18.2, 18.1, 18.0}));
    // No row changes sign to make the sum: the step goes to the positive one.
    EXPECT_EQ(rounded_to_total(std::vector<double>{0.04, -0.04}, 1, 0.1), (std::vector<double>{0.1, 0.0}));
    // Already adding up: nothing moves.
    EXPECT_EQ(rounded_to_total(std::vector<double>{12.34, 4.96, -2.14}, 1, 15.2),
              (std::vector<double>{12.3, 5.0, -2.1}));
    EXPECT_EQ(signed_figure(2.34, 1), "+2.3");
    EXPECT_EQ(signed_figure(-0.4, 1), "-0.4");
    EXPECT_EQ(signed_figure(-0.04, 1), "0.0");  // never "-0.0", drawn as a decrease
    EXPECT_EQ(signed_figure(0.0, 3), "0.000");
    EXPECT_EQ(signed_figure(-12.0, 0), "-12");
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

// A disagreement carries its reason (one Problem), an agreement none.
TEST(OnnxAgreement, ADisagreementAlwaysSaysWhy) {
    const std::vector<double> core{0.25, 0.75};
    const double nan = std::numeric_limits<double>::quiet_NaN();
    EXPECT_TRUE(onnx_agreement(core, core).why.empty());
    for (const Agreement& a :
         {onnx_agreement(core, std::vector<double>{0.25, 0.76}), onnx_agreement(core, std::vector<double>{0.25}),
          onnx_agreement({}, {}), onnx_agreement(core, std::vector<double>{0.25, nan})}) {
        EXPECT_FALSE(a.ok);
        ASSERT_EQ(a.why.size(), 1u);
        EXPECT_EQ(a.why[0].code, "check_failed");
        EXPECT_FALSE(a.why[0].message.empty());
    }
    EXPECT_NE(onnx_agreement(core, std::vector<double>{0.25, 0.76}).why[0].message.find("1.00e-02"), std::string::npos);
    const Agreement refused = agreement_refused(problem("bad_check", "the table has the wrong size"));
    EXPECT_FALSE(refused.ok);
    ASSERT_EQ(refused.why.size(), 1u);
    EXPECT_EQ(refused.why[0].code, "bad_check");
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

namespace ldx {
// The one results file (predict/results_csv.h) the CLI and the browser's batch export write.
TEST(ResultsCsv, ScoredAndRefusedRowsInTheirOrderWithLabelsAndTheModel) {
    const Schema s = test::task_schema("pima-diabetes");
    std::vector<ResultsRow> rows(3);
    rows[0].row = 3;
    rows[0].patient = "P3";
    rows[0].problems = {problem("not_a_number", "'abc' is not a number", "glucose", 3),
                        problem("out_of_range", "130 years is outside the possible range 21 to 120 years", "age", 3)};
    rows[1].row = 1;
    rows[1].patient = "P1";
    rows[1].probabilities = {0.9123454, 0.0876546};
    rows[1].predicted = 0;
    rows[1].warnings = {problem("outside_training_range", "is outside the range seen in training", "mass")};
    rows[2].row = 2;
    rows[2].probabilities = {0.25, 0.75};
    rows[2].predicted = 1;
    const std::string csv = results_csv(s, "localdx predict", "pima-diabetes v1", rows);
    EXPECT_EQ(
        csv,
        "# LocalDx results: localdx predict\n"
        "row,patient,predicted,P(No diabetes),P(Diabetes),warnings,problem,model\n"
        "1,P1,No diabetes,0.912345,0.087655,Body mass index: is outside the range seen in training,,pima-diabetes v1\n"
        "2,,Diabetes,0.250000,0.750000,,,pima-diabetes v1\n"
        "3,P3,,,,,\"Plasma glucose, 2 h after 75 g oral glucose: 'abc' is not a number; Age: 130 years is outside "
        "the possible range 21 to 120 years\",pima-diabetes v1\n");
}

TEST(ResultsCsv, ARegressionHasItsValueAndEachIntervalAtTheTasksDecimals) {
    Schema s =
        schema_from_json(Json::parse(test::read_file(test::source_path("models/diabetes-progression/schema.json"))))
            .value();
    std::vector<double> predicted(19, 100), observed;
    for (int i = 1; i <= 19; ++i) observed.push_back(100 + (i % 2 ? i : -i));
    s.outputs.conformal = conformal_fit_intervals(predicted, observed, std::vector<double>{0.8, 0.9}, "test");
    std::vector<ResultsRow> rows(1);
    rows[0].row = 1;
    rows[0].probabilities = {151.6};
    rows[0].extra = {"x"};
    const std::string extra[] = {"base"};
    const std::string csv = results_csv(s, "LocalDx in the browser", "diabetes-progression v2", rows, extra);
    EXPECT_EQ(csv,
              "# LocalDx results: LocalDx in the browser\n"
              "row,patient,predicted Disease progression one year on (points),80% interval low,80% interval high,"
              "90% interval low,90% interval high,warnings,problem,model,base\n"
              "1,,152,136,168,134,170,,,diabetes-progression v2,x\n");
}

}  // namespace ldx
