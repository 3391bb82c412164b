// tests/unit/test_record.cpp — validation and preprocessing of one record; CSV reading.
#include <gtest/gtest.h>

#include <cmath>

#include "csv/csv.h"
#include "record/record.h"
#include "support.h"

namespace ldx {
namespace {

Schema demo() {
    auto s = schema_parse(R"({
      "task": "demo", "title": "Demo",
      "fields": [
        {"name": "glucose", "label": "Glucose", "type": "number", "unit": "mg/dL", "min": 10, "max": 1000,
         "typical_min": 50, "typical_max": 250, "alt_units": [{"unit": "mmol/L", "factor": 18.0156}]},
        {"name": "age", "label": "Age", "type": "integer", "unit": "a", "min": 0, "max": 120, "required": true},
        {"name": "sex", "label": "Sex", "type": "category", "required": true,
         "levels": [{"value": "f", "label": "Female"}, {"value": "m", "label": "Male"}]},
        {"name": "stage", "label": "Stage", "type": "category", "encoding": "ordinal",
         "levels": [{"value": "I", "label": "One"}, {"value": "II", "label": "Two"}, {"value": "III", "label": "Three"}]},
        {"name": "smoker", "label": "Smoker", "type": "boolean"}
      ],
      "outputs": {"kind": "binary", "column": "y", "classes": [{"name": "no", "label": "No"}, {"name": "yes", "label": "Yes"}],
                  "positive": "yes"}
    })");
    EXPECT_TRUE(s.ok()) << s.error().describe();
    return *s;
}

Result<PreparedRecord> prepare_json(const Schema& s, const char* json, long row = -1) {
    auto raw = record_from_json(Json::parse(json), row);
    if (!raw) return raw.problems();
    return record_prepare(s, *raw, row);
}

TEST(Record, BuildsTheFeatureVector) {
    const Schema s = demo();
    auto r = prepare_json(s, R"({"glucose": 148, "age": 50, "sex": "m", "stage": "II", "smoker": "yes"})");
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_EQ(r->features, (std::vector<float>{148, 50, 0, 1, 1, 1}));
    EXPECT_TRUE(r->warnings.empty());
}

TEST(Record, ConvertsAlternativeUnitsExactly) {
    const Schema s = demo();
    auto r = prepare_json(s, R"({"glucose": {"value": 8.2, "unit": "mmol/L"}, "age": 50, "sex": "f"})");
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_DOUBLE_EQ(r->values[0], 8.2 * 18.0156);
}

TEST(Record, MissingOptionalValuesBecomeNaNWithAWarning) {
    const Schema s = demo();
    auto r = prepare_json(s, R"({"age": 50, "sex": "f", "glucose": null})");
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_TRUE(std::isnan(r->features[0]));
    EXPECT_TRUE(std::isnan(r->features[4]));  // ordinal stage
    EXPECT_TRUE(std::isnan(r->features[5]));  // smoker
    ASSERT_EQ(r->warnings.size(), 3u);
    EXPECT_EQ(r->warnings[0].code, "missing_value");
    EXPECT_EQ(r->warnings[0].field, "glucose");
}

TEST(Record, OutsideTheTrainingRangeIsAcceptedWithAWarning) {
    const Schema s = demo();
    auto r = prepare_json(s, R"({"glucose": 400, "age": 50, "sex": "f"})");
    ASSERT_TRUE(r.ok());
    bool found = false;
    for (const auto& w : r->warnings)
        if (w.code == "outside_training_range" && w.field == "glucose") {
            found = true;
            EXPECT_NE(w.message.find("50 to 250 mg/dL"), std::string::npos) << w.message;
        }
    EXPECT_TRUE(found);
}

TEST(Record, EveryBadValueIsReportedWithFieldRowAndReason) {
    const Schema s = demo();
    struct Bad { const char* json; const char* code; const char* field; const char* text; };
    const Bad cases[] = {
        {R"({"glucose": 148, "sex": "f"})", "required", "age", "a value is required"},
        {R"({"age": "fifty", "sex": "f"})", "not_a_number", "age", "'fifty' is not a number"},
        {R"({"age": "1,5", "sex": "f"})", "not_a_number", "age", "not a number"},
        {R"({"age": "nan", "sex": "f"})", "not_a_number", "age", "not a number"},
        {R"({"age": 50.5, "sex": "f"})", "not_whole", "age", "50.5 is not a whole number"},
        {R"({"age": 130, "sex": "f"})", "out_of_range", "age", "130 a is outside the possible range 0 to 120 a"},
        {R"({"age": 50, "sex": "f", "glucose": {"value": 5, "unit": "g/L"}})", "unknown_unit", "glucose", "accepted: mg/dL, mmol/L"},
        {R"({"age": 50, "sex": "x"})", "unknown_level", "sex", "'x' is not one of: f, m"},
        {R"({"age": 50, "sex": "f", "smoker": "maybe"})", "not_boolean", "smoker", "'maybe' is not yes/no"},
        {R"({"age": 50, "sex": "f", "weight": 80})", "unknown_field", "weight", "not part of this model's schema"},
        {R"({"age": 50, "sex": "f", "glucose": [1]})", "wrong_type", "glucose", "expected a number"},
        {R"({"age": 50, "sex": "f", "glucose": {"value": 5, "units": "g/L"}})", "unknown_key", "glucose.units", "unknown key"},
    };
    for (const Bad& c : cases) {
        auto r = prepare_json(s, c.json, 7);
        ASSERT_FALSE(r.ok()) << c.json;
        EXPECT_EQ(r.error().code, c.code) << c.json;
        EXPECT_EQ(r.error().field, c.field) << c.json;
        EXPECT_EQ(r.error().row, 7) << c.json;
        EXPECT_NE(r.error().message.find(c.text), std::string::npos) << r.error().message;
    }
}

TEST(Record, CategoryLabelsAreAcceptedCaseInsensitively) {
    const Schema s = demo();
    auto r = prepare_json(s, R"({"age": 50, "sex": "female", "stage": "three"})");
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_EQ(r->features[2], 1.0f);
    EXPECT_EQ(r->features[4], 2.0f);
}

TEST(Record, ReportsAllProblemsOfARecord) {
    const Schema s = demo();
    auto r = prepare_json(s, R"({"age": -1, "sex": "x"})");
    EXPECT_EQ(test::codes(r), "out_of_range,unknown_level");
}

TEST(Record, ParseDecimalAcceptsOnlyPlainNumbers) {
    double v;
    EXPECT_TRUE(parse_decimal(" 12.5 ", v));
    EXPECT_EQ(v, 12.5);
    EXPECT_TRUE(parse_decimal("-3e2", v));
    EXPECT_EQ(v, -300);
    EXPECT_TRUE(parse_decimal(".5", v));
    for (const char* bad : {"", "1.2.3", "0x10", "inf", "NaN", "1e", "1,000", "12abc", "--1", "1e999"})
        EXPECT_FALSE(parse_decimal(bad, v)) << bad;
}

TEST(Csv, ReadsQuotedCellsAndCrlf) {
    auto t = csv_parse("a,b\r\n\"x, \"\"y\"\"\",2\r\n\r\n3,4");
    ASSERT_TRUE(t.ok()) << t.error().describe();
    EXPECT_EQ(t->header, (std::vector<std::string>{"a", "b"}));
    ASSERT_EQ(t->rows.size(), 2u);
    EXPECT_EQ(t->rows[0][0], "x, \"y\"");
    EXPECT_EQ(t->rows[1][1], "4");
}

TEST(Csv, BadFilesNameTheRow) {
    auto short_row = csv_parse("a,b\n1,2\n3\n");
    ASSERT_FALSE(short_row.ok());
    EXPECT_EQ(short_row.error().code, "csv_columns");
    EXPECT_EQ(short_row.error().row, 2);
    EXPECT_EQ(test::codes(csv_parse("a,b\n\"1,2\n")), "csv_quote");
    EXPECT_EQ(test::codes(csv_parse("a,b\n1\"x,2\n")), "csv_quote");
    EXPECT_EQ(test::codes(csv_parse("a,a\n1,2\n")), "csv_header");
    EXPECT_EQ(test::codes(csv_parse("")), "csv_empty");
    EXPECT_EQ(test::codes(csv_parse("a\n" + std::string(5000, 'x') + "\n")), "csv_cell");
    EXPECT_EQ(test::codes(csv_parse("a\n1\n", CsvLimits{3})), "csv_too_large");
}

TEST(Csv, WritingQuotesOnlyWhenNeeded) {
    EXPECT_EQ(csv_line({"a", "b,c", "d\"e"}), "a,\"b,c\",\"d\"\"e\"\n");
}

TEST(CsvBinding, HeaderUnitsAndUnknownColumns) {
    const Schema s = demo();
    auto b = csv_bind(s, {"age", "sex", "glucose [mmol/L]"});
    ASSERT_TRUE(b.ok()) << b.error().describe();
    auto t = csv_parse("age,sex,glucose [mmol/L]\n50,f,8.2\n");
    auto r = record_prepare(s, record_from_csv_row(s, *b, t->rows[0]), 1);
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_DOUBLE_EQ(r->values[0], 8.2 * 18.0156);

    auto unknown = csv_bind(s, {"age", "sex", "weight"});
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.error().code, "unknown_column");
    EXPECT_EQ(unknown.error().field, "weight");
    EXPECT_EQ(test::codes(csv_bind(s, {"sex"})), "missing_column");
    EXPECT_EQ(test::codes(csv_bind(s, {"age", "sex", "glucose[g]"})), "unknown_unit");
    const std::string ignore[] = {"y"};
    EXPECT_TRUE(csv_bind(s, {"age", "sex", "y"}, ignore).ok());
}

TEST(Record, CsvMissingTokensAreMissing) {
    const Schema s = demo();
    auto b = csv_bind(s, {"age", "sex", "glucose"});
    auto r = record_prepare(s, record_from_csv_row(s, *b, {"50", "f", "NA"}));
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(std::isnan(r->values[0]));
}

}  // namespace
}  // namespace ldx
