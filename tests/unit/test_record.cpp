// tests/unit/test_record.cpp — validation and preprocessing of one record; CSV reading.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sstream>

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
    struct Bad {
        const char* json;
        const char* code;
        const char* field;
        const char* text;
    };
    const Bad cases[] = {
        {R"({"glucose": 148, "sex": "f"})", "required", "age", "a value is required"},
        {R"({"age": "fifty", "sex": "f"})", "not_a_number", "age", "'fifty' is not a number"},
        {R"({"age": "1,5", "sex": "f"})", "not_whole", "age", "1.5 is not a whole number"},
        {R"({"age": "nan", "sex": "f"})", "not_a_number", "age", "not a number"},
        {R"({"age": 50.5, "sex": "f"})", "not_whole", "age", "50.5 is not a whole number"},
        {R"({"age": 130, "sex": "f"})", "out_of_range", "age",
         "130 years is outside the possible range 0 to 120 years"},
        {R"({"age": 50, "sex": "f", "glucose": {"value": 5, "unit": "g/L"}})", "unknown_unit", "glucose",
         "accepted: mg/dL, mmol/L"},
        {R"({"age": 50, "sex": "x"})", "unknown_level", "sex", "'x' is not one of: Female, Male"},
        {R"({"age": 50, "sex": "f", "smoker": "maybe"})", "not_boolean", "smoker", "'maybe' is not yes/no"},
        {R"({"age": 50, "sex": "f", "weight": 80})", "unknown_field", "weight", "not part of this model's schema"},
        {R"({"age": 50, "sex": "f", "glucose": [1]})", "wrong_type", "glucose", "expected a number"},
        {R"({"age": 50, "sex": "f", "glucose": {"value": 5, "units": "g/L"}})", "unknown_key", "glucose.units",
         "unknown key"},
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

TEST(Number, ReadsWhatWasMeantOrRefuses) {
    // Each typed text is either read as exactly the intended value or refused: never another number.
    const std::pair<const char*, double> read[] = {{"0,5", 0.5},
                                                   {"0.5", 0.5},
                                                   {" 7 ", 7},
                                                   {"\xE2\x88\x92"
                                                    "3",
                                                    -3},
                                                   {"-3e2", -300},
                                                   {"1e3", 1000},
                                                   {",5", 0.5},
                                                   {".5", 0.5},
                                                   {"31,5", 31.5},
                                                   {"0,627", 0.627},
                                                   {"1234,5", 1234.5},
                                                   {"+2", 2},
                                                   {"\xC2\xA0"
                                                    "12.5\t",
                                                    12.5},
                                                   {"1234,567", 1234.567}};
    for (const auto& [text, value] : read) {
        auto r = number_parse(text);
        ASSERT_TRUE(r.ok()) << text << ": " << r.error().message;
        EXPECT_EQ(*r, value) << text;
    }
    const std::pair<const char*, const char*> refused[] = {{"1,234", "ambiguous_number"},
                                                           {"-12,345", "ambiguous_number"},
                                                           {"12a", "not_a_number"},
                                                           {"5,", "not_a_number"},
                                                           {"5.", "not_a_number"},
                                                           {"", "not_a_number"},
                                                           {"1.2.3", "not_a_number"},
                                                           {"1,2,3", "not_a_number"},
                                                           {"1.234,5", "not_a_number"},
                                                           {"0x10", "not_a_number"},
                                                           {"inf", "not_a_number"},
                                                           {"NaN", "not_a_number"},
                                                           {"1e", "not_a_number"},
                                                           {"--1", "not_a_number"},
                                                           {"1e999", "not_a_number"},
                                                           {"1 000", "not_a_number"},
                                                           {"\xFF"
                                                            "12",
                                                            "not_a_number"}};
    for (const auto& [text, code] : refused) {
        auto r = number_parse(text);
        ASSERT_FALSE(r.ok()) << text << " read as " << *r;
        EXPECT_EQ(r.error().code, code) << text;
    }
    // The message says what was typed and what it could mean; invalid UTF-8 is never echoed raw.
    EXPECT_NE(number_parse("1,234").error().message.find("1234 or 1.234"), std::string::npos);
    EXPECT_EQ(number_parse("\xFF"
                           "12")
                  .error()
                  .message.find('\xFF'),
              std::string::npos);
}

// tests/corpus/numbers.tsv: the strings a keyboard, a phone, an input method or a paste put into
// a number field. Each is read as the number it is or refused with a message that quotes it.
std::string corpus_unescape(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\' || i + 1 == s.size()) {
            out += s[i];
        } else if (s[i + 1] == 't') {
            out += '\t', ++i;
        } else if (s[i + 1] == '\\') {
            out += '\\', ++i;
        } else if (s[i + 1] == 'u' && i + 5 < s.size()) {
            const unsigned long cp = std::stoul(std::string(s.substr(i + 2, 4)), nullptr, 16);
            if (cp < 0x80) out += static_cast<char>(cp);
            else if (cp < 0x800)
                out += static_cast<char>(0xC0 | (cp >> 6)), out += static_cast<char>(0x80 | (cp & 0x3F));
            else
                out += static_cast<char>(0xE0 | (cp >> 12)), out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)),
                    out += static_cast<char>(0x80 | (cp & 0x3F));
            i += 5;
        } else {
            ADD_FAILURE() << "unknown escape in " << s;
        }
    }
    return out;
}

// Plain decimals take a short path (no long-double strtod): the same double as strtod, bit for
// bit, for every length of integer and fraction part, signs, leading and trailing zeros, and past
// the path's limits (16 significant digits, 23 decimals), where strtod itself reads them.
TEST(Number, PlainDecimalsReadAsStrtodDoes) {
    uint64_t state = 0x9e3779b97f4a7c15ull;
    auto next = [&] {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        return state;
    };
    for (int n = 0; n < 200000; ++n) {
        std::string text = n % 3 == 0 ? "-" : n % 7 == 0 ? "+" : "";
        const int int_digits = 1 + static_cast<int>(next() % 12), frac_digits = static_cast<int>(next() % 25);
        for (int i = 0; i < int_digits; ++i) text += static_cast<char>('0' + next() % (n % 5 == 0 && i < 3 ? 1 : 10));
        if (frac_digits) text += '.';
        for (int i = 0; i < frac_digits; ++i) text += static_cast<char>('0' + next() % 10);
        auto r = number_parse(text);
        ASSERT_TRUE(r.ok()) << text << ": " << r.error().message;
        double want = std::strtod(text.c_str(), nullptr);
        if (want == 0) want = 0;
        ASSERT_EQ(std::memcmp(&*r, &want, sizeof want), 0) << text;
    }
}

TEST(Record, NumberCorpusIsReadOrRefusedNeverDropped) {
    std::istringstream lines(test::read_file(test::source_path("tests/corpus/numbers.tsv")));
    std::string line;
    int read = 0, refused = 0;
    while (std::getline(lines, line)) {
        if (line.empty() || line[0] == '#') continue;
        const size_t t1 = line.find('\t'), t2 = line.find('\t', t1 + 1);
        ASSERT_NE(t2, std::string::npos) << line;
        const std::string input = corpus_unescape(std::string_view(line).substr(0, t1));
        const std::string expected = line.substr(t1 + 1, t2 - t1 - 1);
        auto r = number_parse(input);
        if (expected == "refused") {
            ++refused;
            ASSERT_FALSE(r.ok()) << line << " read as " << *r;
            EXPECT_TRUE(r.error().code == "not_a_number" || r.error().code == "ambiguous_number") << line;
            // The message quotes what was typed (or says that nothing was).
            if (r.error().message != "no number was given")
                EXPECT_NE(r.error().message.find("'" + printable(input) + "'"), std::string::npos)
                    << line << ": " << r.error().message;
        } else {
            ++read;
            ASSERT_TRUE(r.ok()) << line << ": " << r.error().message;
            EXPECT_EQ(*r, std::strtod(expected.c_str(), nullptr)) << line;
            if (*r == 0) EXPECT_FALSE(std::signbit(*r)) << line << ": a zero has no sign";
        }
    }
    EXPECT_GE(read + refused, 20);
    EXPECT_GE(refused, 10);
}

TEST(Record, NumberRefusalsSayWhy) {
    auto message = [](const char* text) { return number_parse(text).error().message; };
    EXPECT_EQ(message("5\xE2\x88\x92"),
              "'5\xE2\x88\x92' has its sign after the digits: a sign goes before the number (\xE2\x88\x92"
              "5 for minus five)");
    EXPECT_EQ(message("3\xE2\x80\x8B"
                      "3"),
              "'3\xE2\x80\x8B"
              "3' has an invisible character (U+200B) inside: type the number again");
    EXPECT_EQ(message("1\xE2\x80\x89"
                      "234"),
              "'1\xE2\x80\x89"
              "234' has a space inside: type the number without spaces or thousands separators");
    EXPECT_EQ(message("\xE2\x88\x9E"),
              "'\xE2\x88\x9E' is not a number: '\xE2\x88\x9E' (U+221E) is not a digit, sign or decimal separator");
    EXPECT_EQ(message("5\xE2\x80\x93"
                      "10"),
              "'5\xE2\x80\x93"
              "10' is a range or two numbers: type one number");
    EXPECT_EQ(message("\xEF\xBC\x91\xEF\xBC\x8C\xEF\xBC\x92\xEF\xBC\x93\xEF\xBC\x94"),
              "'\xEF\xBC\x91\xEF\xBC\x8C\xEF\xBC\x92\xEF\xBC\x93\xEF\xBC\x94' could mean 1234 or 1.234: type it "
              "without a thousands separator, with a point for decimals");
    EXPECT_EQ(message(""), "no number was given");
}

TEST(Record, TypedTextGoesThroughTheOneNumberParser) {
    const Schema s = demo();
    auto r = prepare_json(s, R"({"glucose": "95,5", "age": "50", "sex": "f"})");
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_EQ(r->values[0], 95.5);
    EXPECT_EQ(test::codes(prepare_json(s, R"({"glucose": "1,234", "age": 50, "sex": "f"})")), "ambiguous_number");
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
    // A short or long row is kept as read and named; the rows around it are not lost.
    auto short_row = csv_parse("a,b\n1,2\n3\n4,5,6\n7,8\n");
    ASSERT_TRUE(short_row.ok());
    ASSERT_EQ(short_row->rows.size(), 4u);
    EXPECT_FALSE(csv_row_problem(*short_row, 0));
    ASSERT_TRUE(csv_row_problem(*short_row, 1));
    EXPECT_EQ(csv_row_problem(*short_row, 1)->code, "csv_columns");
    EXPECT_EQ(csv_row_problem(*short_row, 1)->row, 2);
    EXPECT_EQ(csv_row_problem(*short_row, 2)->message, "the row has 3 cells where the header has 2 columns");
    EXPECT_FALSE(csv_row_problem(*short_row, 3));
    EXPECT_EQ(test::codes(csv_parse("a,b\n\"1,2\n")), "csv_quote");
    EXPECT_EQ(test::codes(csv_parse("a,b\n1\"x,2\n")), "csv_quote");
    EXPECT_EQ(test::codes(csv_parse("a,a\n1,2\n")), "csv_header");
    EXPECT_EQ(test::codes(csv_parse("")), "csv_empty");
    EXPECT_EQ(test::codes(csv_parse("a\n" + std::string(5000, 'x') + "\n")), "csv_cell");
    EXPECT_EQ(test::codes(csv_parse("a\n1\n", CsvLimits{3})), "csv_too_large");
}

TEST(Csv, UnquotedCellsEndAtCommaLineEndOrQuote) {
    // An unquoted cell is read up to the next comma, CR, LF or the end of the text, whatever its length.
    auto t = csv_parse("a,b\r12.5,-3\r,x y\n7,8");
    ASSERT_TRUE(t.ok()) << t.error().describe();
    ASSERT_EQ(t->rows.size(), 3u);
    EXPECT_EQ(t->rows[0], (std::vector<std::string>{"12.5", "-3"}));
    EXPECT_EQ(t->rows[1], (std::vector<std::string>{"", "x y"}));
    EXPECT_EQ(t->rows[2], (std::vector<std::string>{"7", "8"}));
    // The cell limit counts the whole cell, and the row that breaks it is named.
    EXPECT_TRUE(csv_parse("a\n1\n" + std::string(4096, 'x') + "\n").ok());
    auto long_cell = csv_parse("a\n1\n" + std::string(4097, 'x') + "\n");
    ASSERT_FALSE(long_cell.ok());
    EXPECT_EQ(long_cell.error().code, "csv_cell");
    EXPECT_EQ(long_cell.error().row, 2);
    auto quote = csv_parse("a\n1\nxy\"z\n");
    ASSERT_FALSE(quote.ok());
    EXPECT_EQ(quote.error().code, "csv_quote");
    EXPECT_EQ(quote.error().row, 2);
}

TEST(Csv, WritingQuotesOnlyWhenNeeded) { EXPECT_EQ(csv_line({"a", "b,c", "d\"e"}), "a,\"b,c\",\"d\"\"e\"\n"); }

TEST(CsvBinding, HeaderUnitsAndUnknownColumns) {
    const Schema s = demo();
    auto b = csv_bind(s, {"age", "sex", "glucose [mmol/L]"});
    ASSERT_TRUE(b.ok()) << b.error().describe();
    auto t = csv_parse("age,sex,glucose [mmol/L]\n50,f,8.2\n");
    auto r = record_prepare(s, record_from_csv_row(s, *b, t->rows[0]), 1);
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_DOUBLE_EQ(r->values[0], 8.2 * 18.0156);

    auto unknown = csv_bind(s, {"age", "sex", "weight"});
    ASSERT_TRUE(unknown.ok());
    EXPECT_EQ(unknown->unused, std::vector<std::string>{"weight"});
    EXPECT_EQ(unknown->field[2], -1);
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
