// tests/unit/test_schema.cpp — the schema parser: the shipped schemas, and every bad path.
#include <gtest/gtest.h>

#include "schema/schema.h"
#include "support.h"

namespace ldx {
namespace {

const char* kGood = R"({
  "task": "demo", "title": "Demo",
  "fields": [
    {"name": "glucose", "label": "Glucose", "type": "number", "unit": "mg/dL", "min": 10, "max": 1000,
     "alt_units": [{"unit": "mmol/L", "factor": 18.0156}]},
    {"name": "age", "label": "Age", "type": "integer", "unit": "a", "min": 0, "max": 120, "required": true},
    {"name": "sex", "label": "Sex", "type": "category", "levels": [{"value": "f", "label": "Female"}, {"value": "m", "label": "Male"}]},
    {"name": "smoker", "label": "Smoker", "type": "boolean"}
  ],
  "outputs": {"kind": "binary", "column": "y", "classes": [{"name": "no", "label": "No"}, {"name": "yes", "label": "Yes"}],
              "positive": "yes", "threshold": 0.3}
})";

Json good() { return Json::parse(kGood); }

// Applies `edit` to the good schema and returns the first problem.
Problem first_problem(const std::function<void(Json&)>& edit) {
    Json j = good();
    edit(j);
    auto s = schema_from_json(j);
    EXPECT_FALSE(s.ok());
    return s.ok() ? Problem{} : s.error();
}

TEST(Schema, ShippedTaskSchemasParse) {
    for (const char* task : {"pbc-stage", "pima-diabetes", "wdbc"}) {
        auto s = schema_parse(test::read_file(test::source_path(std::string("models/") + task + "/schema.json")));
        ASSERT_TRUE(s.ok()) << task << ": " << s.error().describe();
        EXPECT_EQ(s->task, task);
    }
}

TEST(Schema, DerivesFeatureColumnsWithOneHotLevels) {
    auto s = schema_parse(kGood);
    ASSERT_TRUE(s.ok()) << s.error().describe();
    std::vector<std::string> names;
    for (const auto& c : s->features) names.push_back(c.name);
    EXPECT_EQ(names, (std::vector<std::string>{"glucose", "age", "sex=f", "sex=m", "smoker"}));
    EXPECT_EQ(s->fields[1].missing, MissingPolicy::error);  // required
    EXPECT_EQ(s->fields[0].missing, MissingPolicy::model_missing);
    EXPECT_DOUBLE_EQ(s->outputs.threshold, 0.3);
}

TEST(Schema, ExplicitFeatureOrderIsKept) {
    Json j = good();
    j["features"] = {"sex=m", "glucose"};
    auto s = schema_from_json(j);
    ASSERT_TRUE(s.ok()) << s.error().describe();
    ASSERT_EQ(s->features.size(), 2u);
    EXPECT_EQ(s->features[0].field, 2);
    EXPECT_EQ(s->features[0].level, 1);
}

TEST(Schema, RoundTripsThroughJson) {
    auto s = schema_parse(kGood);
    auto again = schema_from_json(schema_to_json(*s));
    ASSERT_TRUE(again.ok()) << again.error().describe();
    EXPECT_EQ(json_canonical(schema_to_json(*again)), json_canonical(schema_to_json(*s)));
}

TEST(Schema, BadPathsNameTheFieldAndReason) {
    struct Bad {
        std::function<void(Json&)> edit;
        std::string code, field;
    };
    const std::vector<Bad> cases = {
        {[](Json& j) { j["fields"][0].erase("unit"); }, "missing_key", "fields[0].unit"},
        {[](Json& j) { j["fields"][0]["type"] = "float"; }, "bad_value", "fields[0].type"},
        {[](Json& j) { j["fields"][0]["min"] = "low"; }, "wrong_type", "fields[0].min"},
        {[](Json& j) { j["fields"][0]["min"] = 2000; }, "bad_range", "fields[0].min"},
        {[](Json& j) { j["fields"][0]["typical_min"] = 5; }, "bad_range", "fields[0].typical_min"},
        {[](Json& j) { j["fields"][0]["alt_units"][0]["factor"] = 0; }, "bad_value", "fields[0].alt_units[0].factor"},
        {[](Json& j) { j["fields"][0]["alt_units"][0]["unit"] = "mg/dL"; }, "duplicate", "fields[0].alt_units[0].unit"},
        {[](Json& j) { j["fields"][1]["name"] = "glucose"; }, "duplicate", "fields[1].name"},
        {[](Json& j) { j["fields"][1]["name"] = "2age"; }, "bad_name", "fields[1].name"},
        {[](Json& j) { j["fields"][1]["missing"] = "model_missing"; }, "bad_value", "fields[1].missing"},
        {[](Json& j) { j["fields"][1]["missing"] = "impute"; }, "bad_value", "fields[1].missing"},
        {[](Json& j) { j["fields"][2].erase("levels"); }, "missing_key", "fields[2].levels"},
        {[](Json& j) { j["fields"][2]["levels"][1]["value"] = "f"; }, "duplicate", "fields[2].levels[1]"},
        {[](Json& j) { j["fields"][2]["encoding"] = "binary"; }, "bad_value", "fields[2].encoding"},
        {[](Json& j) { j["fields"][0]["colour"] = "red"; }, "unknown_key", "fields[0].colour"},
        {[](Json& j) { j["features"] = {"weight"}; }, "unknown_feature", "features[0]"},
        {[](Json& j) {
             j["features"] = {"age", "age"};
         },
         "duplicate", "features[1]"},
        {[](Json& j) { j["outputs"]["positive"] = "no"; }, "bad_value", "outputs.positive"},
        {[](Json& j) { j["outputs"]["threshold"] = 1.5; }, "bad_range", "outputs.threshold"},
        {[](Json& j) { j["outputs"]["kind"] = "survival"; }, "bad_value", "outputs.kind"},
        {[](Json& j) { j["outputs"]["column"] = "age"; }, "bad_value", "outputs.column"},
        {[](Json& j) {
             j["outputs"]["classes"] = Json::array({{{"name", "a"}, {"label", "A"}}});
         },
         "missing_key", "outputs.classes"},
        {[](Json& j) {
             j["privacy"] = {{"k_min", 3}};
         },
         "bad_range", "privacy.k_min"},
        {[](Json& j) { j["task"] = "Demo Task"; }, "bad_name", "task"},
        {[](Json& j) { j["fields"] = Json::array(); }, "missing_key", "fields"},
    };
    for (size_t i = 0; i < cases.size(); ++i) {
        const Problem p = first_problem(cases[i].edit);
        EXPECT_EQ(p.code, cases[i].code) << "case " << i << ": " << p.describe();
        EXPECT_EQ(p.field, cases[i].field) << "case " << i << ": " << p.describe();
        EXPECT_FALSE(p.message.empty());
    }
}

TEST(Schema, ReportsEveryProblemAtOnce) {
    Json j = good();
    j["fields"][0]["type"] = "float";
    j["fields"][2].erase("levels");
    auto s = schema_from_json(j);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(test::codes(s), "bad_value,missing_key");
}

// Long lists (levels, alt_units, features, minimum_information) are checked by lookup, not by a
// scan of the list per entry: 20,000 of each was some 10^9 string comparisons.
Json schema_with_long_lists(size_t n) {
    Json j = good();
    Json& levels = j["fields"][2]["levels"];
    Json& units = j["fields"][0]["alt_units"];
    for (size_t i = 0; i < n; ++i) {
        levels.push_back({{"value", "l" + std::to_string(i)}, {"label", "L" + std::to_string(i)}});
        units.push_back({{"unit", "u" + std::to_string(i)}, {"factor", 1.0 + static_cast<double>(i)}});
    }
    j["features"] = Json::array();
    for (size_t i = n; i-- > 0;) j["features"].push_back("sex=l" + std::to_string(i));
    j["features"].push_back("glucose");
    j["minimum_information"] = {{"fields", {"glucose", "age", "sex"}}, {"weights", {{"glucose", 1}, {"age", 1}}}};
    return j;
}

TEST(Schema, AKMinBeyond32BitsIsCheckedAsGivenNotAsItsWrappedValue) {
    // 2^32 + 10 once became the int 10 and passed the check.
    for (const int64_t k : {(int64_t{1} << 32) + 10, int64_t{-4294967286}, int64_t{9}}) {
        Json j = good();
        j["privacy"] = {{"k_min", k}};
        EXPECT_EQ(first_problem([&](Json& x) { x = j; }).field, "privacy.k_min") << k;
    }
    Json j = good();
    j["privacy"] = {{"k_min", 25}};
    auto s = schema_from_json(j);
    ASSERT_TRUE(s.ok()) << s.error().describe();
    EXPECT_EQ(s->privacy.k_min, 25);
}

TEST(Schema, LongListsOfLevelsUnitsAndFeaturesAreCheckedByLookup) {
    const size_t n = 20000;
    auto s = schema_from_json(schema_with_long_lists(n));
    ASSERT_TRUE(s.ok()) << s.error().describe();
    EXPECT_EQ(s->fields[2].levels.size(), n + 2);
    EXPECT_EQ(s->fields[0].alt_units.size(), n + 1);
    ASSERT_EQ(s->features.size(), n + 1);
    EXPECT_EQ(s->features[0].name, "sex=l" + std::to_string(n - 1));
    EXPECT_EQ(s->features[0].level, static_cast<int>(n + 1));  // f, m, then l0 ...
    EXPECT_EQ(s->features[n].field, 0);
    EXPECT_EQ(s->minimum_information->fields, (std::vector<std::string>{"glucose", "age", "sex"}));
    EXPECT_DOUBLE_EQ(s->minimum_information->weights[1], 0.5);

    // A repeat at the end of each list is still found, and named by its place.
    Json j = schema_with_long_lists(n);
    j["fields"][2]["levels"].push_back({{"value", "l7"}, {"label", "Again"}});
    j["fields"][0]["alt_units"].push_back({{"unit", "mg/dL"}, {"factor", 2}});
    j["features"].push_back("sex=l3");
    j["features"].push_back("sex=nope");
    j["minimum_information"]["fields"].push_back("age");
    j["minimum_information"]["weights"]["nope"] = 1;
    auto bad = schema_from_json(j);
    ASSERT_FALSE(bad.ok());
    std::vector<std::string> where;
    for (const Problem& p : bad.problems()) where.push_back(p.code + " " + p.field);
    EXPECT_EQ(where, (std::vector<std::string>{
                         "duplicate fields[0].alt_units[" + std::to_string(n + 1) + "].unit",
                         "duplicate fields[2].levels[" + std::to_string(n + 2) + "]",
                         "duplicate features[" + std::to_string(n + 1) + "]",
                         "unknown_feature features[" + std::to_string(n + 2) + "]",
                         "unknown_field minimum_information.weights.nope",
                         "duplicate minimum_information.fields[3]",
                     }));
}

TEST(Schema, ManyBadFieldsStopAtTheFirstHundredProblems) {
    // 300,000 empty fields once made 1.4 million problems (4 s, 650 MB); the first 100 are listed.
    Json j = good();
    for (int i = 0; i < 5000; ++i) j["fields"].push_back(Json::object());
    auto s = schema_from_json(j);
    ASSERT_FALSE(s.ok());
    ASSERT_EQ(s.problems().size(), 101u);
    EXPECT_EQ(s.problems()[0].field, "fields[4].name");
    EXPECT_EQ(s.problems()[0].code, "missing_key");
    EXPECT_EQ(s.problems()[100].code, "too_many_problems");
    EXPECT_NE(s.problems()[100].message.find("the first 100 are listed"), std::string::npos);
}

TEST(Schema, RejectsMalformedJsonDocuments) {
    EXPECT_EQ(test::codes(schema_parse("{")), "json_syntax");
    EXPECT_EQ(test::codes(schema_parse(R"({"task": "a", "task": "b"})")), "json_duplicate_key");
    EXPECT_EQ(test::codes(schema_parse("[]")), "wrong_type");
}

}  // namespace
}  // namespace ldx
