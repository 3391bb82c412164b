// tests/unit/test_patients.cpp — files of patients: one reader with one set of rules.
#include <gtest/gtest.h>

#include "record/patients.h"
#include "support.h"

namespace ldx {
namespace {

Schema demo() {
    auto s = schema_parse(R"({
      "task": "demo", "title": "Demo",
      "fields": [
        {"name": "glucose", "label": "Glucose", "type": "number", "unit": "mg/dL", "min": 10, "max": 1000},
        {"name": "age", "label": "Age", "type": "integer", "unit": "a", "min": 0, "max": 120, "required": true},
        {"name": "pedigree", "label": "Pedigree", "type": "number", "unit": "1", "min": 0, "max": 3}
      ],
      "outputs": {"kind": "binary", "column": "y", "classes": [{"name": "no", "label": "No"}, {"name": "yes", "label": "Yes"}],
                  "positive": "yes"}
    })");
    EXPECT_TRUE(s.ok()) << s.error().describe();
    return *s;
}

TEST(Patients, CsvCarriesIdsIgnoresUnknownColumnsAndRejectsOnlyBadRows) {
    const Schema s = demo();
    const std::string ignore[] = {"y"};
    const std::string csv =
        "patient_id,glucose,age,pedigree,ward,y\n"
        "P1,95,50,\"0,5\",A,no\n"    // decimal comma in a quoted cell
        "P2,abc,50,0.2,A,no\n"       // text value
        "P3,95,130,0.2,A,no\n"       // out of range
        "P4,95,,0.2,A,no\n"          // empty required field
        "P5,95,50\n"                 // short row
        "P6,95,50,\"1,234\",A,no\n"  // ambiguous number
        "P7,120,61,1.1,B,yes\n";
    const PatientFile f = patients_read(s, csv, PatientReadOptions{0, ignore, {}});
    ASSERT_TRUE(f.problems.empty()) << f.problems.front().describe();
    EXPECT_EQ(f.format, "csv");
    EXPECT_EQ(f.id_column, "patient_id");
    ASSERT_EQ(f.notices.size(), 1u);
    EXPECT_EQ(f.notices[0].code, "ignored_columns");
    EXPECT_NE(f.notices[0].message.find("'ward'"), std::string::npos);
    ASSERT_EQ(f.rows.size(), 7u);

    std::vector<std::string> scored, rejected;
    for (size_t i = 0; i < f.rows.size(); ++i) {
        const PatientRow& r = f.rows[i];
        auto p = patient_prepare(s, f, i);
        if (p) scored.push_back(r.id);
        else
            rejected.push_back(r.id + ":" + p.error().code + ":" + p.error().patient + ":" +
                               std::to_string(p.error().row));
    }
    EXPECT_EQ(scored, (std::vector<std::string>{"P1", "P7"}));
    EXPECT_EQ(rejected, (std::vector<std::string>{"P2:not_a_number:P2:2", "P3:out_of_range:P3:3", "P4:required:P4:4",
                                                  "P5:csv_columns:P5:5", "P6:ambiguous_number:P6:6"}));
    EXPECT_EQ(*patient_prepare(s, f, 0)->values.rbegin(), 0.5);
    EXPECT_EQ(patient_prepare(s, f, 2).error().describe(),
              "row 3 (patient P3), field 'age': 130 years is outside the possible range 0 to 120 years");
    // A row is named by its place in its file: one past the last is refused with the reason.
    EXPECT_EQ(patient_prepare(s, f, 7).error().code, "no_such_row");
    EXPECT_EQ(patient_prepare(s, f, 7).error().message, "the file has 7 rows; there is no row 8");
}

TEST(Patients, FileProblemsStopTheWholeFile) {
    const Schema s = demo();
    EXPECT_EQ(test::codes(patients_read(s, "glucose,pedigree\n95,0.2\n", {}).problems), "missing_column");
    EXPECT_EQ(test::codes(patients_read(s, "age,age\n1,2\n", {}).problems), "csv_header");
    EXPECT_TRUE(patients_read(s, "age,age\n1,2\n", {}).rows.empty());
}

TEST(Patients, JsonRecordsCarryTheirIds) {
    const Schema s = demo();
    const PatientFile f = patients_read(s, R"([{"id": "A", "age": 40}, 7, {"patient_id": 12, "age": "41"}])", {});
    EXPECT_EQ(f.format, "json");
    ASSERT_EQ(f.rows.size(), 3u);
    EXPECT_EQ(f.rows[0].id, "A");
    EXPECT_TRUE(patient_prepare(s, f, 0).ok());
    EXPECT_EQ(patient_prepare(s, f, 1).error().code, "wrong_type");
    EXPECT_EQ(f.rows[2].id, "12");
    EXPECT_TRUE(patient_prepare(s, f, 2).ok());
}

TEST(Patients, IdsAndHeadersNeverEchoControlBytes) {
    const Schema s = demo();
    const PatientFile f = patients_read(s, "id,age,\x1b[31mred\n\xff\x01,40,x\n", {});
    ASSERT_EQ(f.rows.size(), 1u);
    EXPECT_EQ(f.rows[0].id, "??");
    ASSERT_EQ(f.notices.size(), 1u);
    EXPECT_EQ(f.notices[0].message.find('\x1b'), std::string::npos);
}

TEST(Patients, TemplateReadsBackAsOneGoodRow) {
    const Schema s = demo();
    const std::string t = patients_template_csv(s);
    EXPECT_EQ(t.substr(0, t.find('\n')), "patient_id,glucose[mg/dL],age[a],pedigree");
    const PatientFile f = patients_read(s, t, {});
    ASSERT_EQ(f.rows.size(), 1u);
    EXPECT_TRUE(f.notices.empty());
    EXPECT_TRUE(patient_prepare(s, f, 0).ok());
}

}  // namespace
}  // namespace ldx
