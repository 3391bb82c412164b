// tests/unit/test_json.cpp — strict JSON: size, depth, duplicate keys, syntax, typed access; Result.
#include <gtest/gtest.h>

#include "base/error.h"
#include "base/json.h"
#include "base/text.h"
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

TEST(Json, DepthLimitCountsEveryOpenObjectAndArray) {
    for (const int depth : {1, 2, 16}) {
        std::string at_limit = (depth - 1) % 2 ? "[]" : "{}";  // the innermost, empty
        for (int i = depth - 1; i-- > 0;) at_limit = i % 2 ? "[" + at_limit + "]" : "{\"k\":" + at_limit + "}";
        const std::string over = "[" + at_limit + "]";
        EXPECT_TRUE(json_parse(at_limit, "doc", JsonLimits{1000, depth}).ok()) << at_limit;
        auto j = json_parse(over, "doc", JsonLimits{1000, depth});
        ASSERT_FALSE(j.ok()) << over;
        EXPECT_EQ(j.error().code, "json_too_deep");
        EXPECT_NE(j.error().message.find("nests deeper than " + std::to_string(depth)), std::string::npos);
    }
}

// An array of many objects is parsed in one pass: nlohmann's callback parser, once used here,
// scanned the whole array each time one of its objects ended (50,000 objects: 10^9 steps).
TEST(Json, ArraysOfManyObjectsParseInOnePass) {
    const size_t n = 50000;
    std::string text = "[";
    for (size_t i = 0; i < n; ++i) text += (i ? ",{\"x\":" : "{\"x\":") + std::to_string(i) + ",\"y\":[{}]}";
    auto j = json_parse(text + "]", "doc", JsonLimits{64u << 20, 4});
    ASSERT_TRUE(j.ok()) << j.error().describe();
    ASSERT_EQ(j->size(), n);
    EXPECT_EQ((*j)[n - 1]["x"], n - 1);
    EXPECT_EQ((*j)[n - 1]["y"][0], Json::object());
    // The checks still hold at the end of a long array: a repeated key, a fourth level.
    auto twice = json_parse(text + R"(,{"z":1,"z":2}])", "doc", JsonLimits{64u << 20, 4});
    ASSERT_FALSE(twice.ok());
    EXPECT_EQ(twice.error().code, "json_duplicate_key");
    EXPECT_EQ(twice.error().field, "z");
    auto deep = json_parse(text + R"(,{"y":[{"w":[]}]}])", "doc", JsonLimits{64u << 20, 4});
    ASSERT_FALSE(deep.ok());
    EXPECT_EQ(deep.error().code, "json_too_deep");
    auto cut = json_parse(text + ",{", "doc", JsonLimits{64u << 20, 4});
    ASSERT_FALSE(cut.ok());
    EXPECT_EQ(cut.error().code, "json_syntax");
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

TEST(Result, NeverHoldsAnEmptyProblemList) {
    Result<int> r{std::vector<Problem>{}};
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.problems().size(), 1u);
    EXPECT_EQ(r.error().code, "internal");
    EXPECT_FALSE(r.error().message.empty());
    Result<int> two{std::vector<Problem>{problem("a", "first"), problem("b", "second")}};
    ASSERT_EQ(two.problems().size(), 2u);  // given problems are kept as they are
    EXPECT_EQ(two.problems()[1].code, "b");
}

TEST(Problems, TheEnvelopeReadsBackAsWritten) {
    Problem p = problem("out_of_range", "12 is below 21", "age", 3);
    p.patient = "P-17";
    const std::vector<Problem> written{p, problem("busy", "the server is busy")};
    const Json envelope = problems_envelope(written);
    EXPECT_EQ(envelope, (Json{{"ok", false}, {"problems", problems_json(written)}}));
    // An envelope is never empty: no problems at all is the fault that says so (as Result).
    const Json none = problems_envelope({});
    ASSERT_EQ(none["problems"].size(), 1u);
    EXPECT_EQ(none["problems"][0]["code"], "internal");
    EXPECT_FALSE(problems_json(written)[0].contains("text"));  // one shape: code, message, field?, row?, patient?
    EXPECT_FALSE(problems_json(written)[1].contains("field"));
    const std::vector<Problem> read = problems_from_json(envelope);
    ASSERT_EQ(read.size(), 2u);
    EXPECT_EQ(read[0].describe(), p.describe());
    EXPECT_EQ(read[0].code, "out_of_range");
    EXPECT_EQ(read[1].describe(), "the server is busy");
    EXPECT_EQ(read[1].row, -1);
    // Not an envelope, or entries that are not problems: nothing is made up.
    EXPECT_TRUE(problems_from_json(Json{{"ok", true}, {"problems", problems_json(written)}}).empty());
    EXPECT_TRUE(problems_from_json(Json::array()).empty());
    EXPECT_TRUE(problems_from_json(Json{{"ok", false}, {"problems", Json::array({1, Json{{"code", "x"}}})}}).empty());
}

// Names a person types (a class label, a level, a CSV cell) are compared without case and without
// the blanks around them, a Windows line end included; letters beyond ASCII are left as they are.
TEST(Text, NamesComparedWithoutCaseOrBlanks) {
    EXPECT_EQ(ascii_lower("Yes NO \xc3\x89"), "yes no \xc3\x89");
    EXPECT_EQ(trim_blanks(" \t Positive \t\r"), "Positive");
    EXPECT_EQ(trim_blanks("\ra b"), "\ra b");  // a CR only at the end
    EXPECT_EQ(trim_blanks("  "), "");
}

// Header names and tokens: equal without ASCII case, and nothing else (sizes, letters beyond ASCII).
TEST(Text, HeaderNamesComparedWithoutAsciiCase) {
    EXPECT_TRUE(equal_ignoring_case("Content-Length", "content-LENGTH"));
    EXPECT_TRUE(equal_ignoring_case("", ""));
    EXPECT_FALSE(equal_ignoring_case("br", "brotli"));
    EXPECT_FALSE(equal_ignoring_case("Content-Length", "Content_Length"));
    EXPECT_FALSE(equal_ignoring_case("\xc3\x89", "\xc3\xa9"));  // É and é: not ASCII letters
    EXPECT_FALSE(equal_ignoring_case("@", "`"));                // 0x40 and 0x60 differ by the case bit
}

TEST(Text, PrintableAndValidUtf8) {
    EXPECT_EQ(printable("glu\x1b[31mcose"), "glu?[31mcose");  // a terminal escape
    EXPECT_EQ(printable("\xff"
                        "abc"),
              "?abc");
    EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x88\x92"
                        "5"),
              "caf\xc3\xa9 \xe2\x88\x92"
              "5");                               // é and U+2212 kept
    EXPECT_EQ(printable("\xed\xa0\x80"), "???");  // a lone surrogate
    EXPECT_TRUE(utf8_valid("caf\xc3\xa9\n"));     // controls are valid text
    EXPECT_TRUE(utf8_valid(""));
    EXPECT_FALSE(utf8_valid("\xffnput"));
    EXPECT_FALSE(utf8_valid("\xc0\xaf"));          // overlong
    EXPECT_FALSE(utf8_valid("\xed\xa0\x80"));      // surrogate
    EXPECT_FALSE(utf8_valid("\xf4\x90\x80\x80"));  // past U+10FFFF
    EXPECT_FALSE(utf8_valid("\xe2\x88"));          // cut short
}
}  // namespace
}  // namespace ldx
