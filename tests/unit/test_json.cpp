// tests/unit/test_json.cpp — strict JSON: size, depth, duplicate keys, syntax, typed access.
#include <gtest/gtest.h>

#include "base/json.h"
#include "support.h"

namespace ldx {
namespace {

TEST(Json, ParsesAWellFormedDocument) {
    auto j = json_parse(R"({"a": [1, 2, {"b": "c"}]})", "doc");
    ASSERT_TRUE(j.ok());
    EXPECT_EQ((*j)["a"][2]["b"], "c");
}

TEST(Json, RejectsDuplicateKeysNamingTheKey) {
    auto j = json_parse(R"({"a": 1, "b": {"x": 1, "x": 2}})", "doc");
    ASSERT_FALSE(j.ok());
    EXPECT_EQ(j.error().code, "json_duplicate_key");
    EXPECT_EQ(j.error().field, "x");
}

TEST(Json, SameKeyInSiblingObjectsIsFine) { EXPECT_TRUE(json_parse(R"([{"x": 1}, {"x": 2}])", "doc").ok()); }

TEST(Json, RejectsDeepNesting) {
    std::string deep(40, '[');
    deep += std::string(40, ']');
    auto j = json_parse(deep, "doc", JsonLimits{1000, 32});
    ASSERT_FALSE(j.ok());
    EXPECT_EQ(j.error().code, "json_too_deep");
}

TEST(Json, RejectsOversizedInputBeforeParsing) {
    auto j = json_parse(std::string(2000, ' '), "report", JsonLimits{1000, 8});
    ASSERT_FALSE(j.ok());
    EXPECT_EQ(j.error().code, "json_too_large");
    EXPECT_NE(j.error().message.find("report is 2000 bytes"), std::string::npos);
}

TEST(Json, RejectsSyntaxErrorsWithAReason) {
    auto j = json_parse(R"({"a": })", "doc");
    ASSERT_FALSE(j.ok());
    EXPECT_EQ(j.error().code, "json_syntax");
    EXPECT_NE(j.error().message.find("doc is not valid JSON"), std::string::npos);
}

TEST(Json, TypedAccessNamesThePath) {
    Json j = {{"min", "zero"}};
    auto r = json_number(j, "min", "fields[2]");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "wrong_type");
    EXPECT_EQ(r.error().field, "fields[2].min");
    auto m = json_string(j, "name", "fields[2]");
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error().code, "missing_key");
    EXPECT_EQ(m.error().field, "fields[2].name");
}

TEST(Json, CanonicalFormSortsKeysWithoutWhitespace) {
    auto j = json_parse(R"({ "b": 1, "a": [true, null] })", "doc");
    EXPECT_EQ(json_canonical(*j), R"({"a":[true,null],"b":1})");
}

}  // namespace
}  // namespace ldx
