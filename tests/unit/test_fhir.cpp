// tests/unit/test_fhir.cpp — patient records from FHIR R4 JSON (Bundle and NDJSON), the same
// features as the equivalent CSV, and every bad path with its reason.
#include <gtest/gtest.h>

#include <cmath>

#include "conformal/conformal.h"
#include "csv/csv.h"
#include "record/fhir.h"
#include "record/record.h"
#include "support.h"

using namespace ldx;
using namespace ldx::test;

namespace {
const int64_t kNow = 1795000000;  // 2026-11-18

// Two patients of the Pima task: glucose in mmol/L (UCUM), diastolic pressure inside a
// blood-pressure panel, an older and a newer glucose, an entered-in-error value, an unrelated
// observation, a field without a LOINC code (urn:localdx:field), age from birthDate, and a
// subject given as the Patient's fullUrl.
const char* kBundle = R"({
  "resourceType": "Bundle", "type": "collection",
  "entry": [
    {"fullUrl": "urn:uuid:p-1", "resource": {"resourceType": "Patient", "id": "p-1", "gender": "female", "birthDate": "1976-05-20"}},
    {"resource": {"resourceType": "Observation", "id": "o1", "status": "final", "subject": {"reference": "Patient/p-1"},
      "code": {"coding": [{"system": "http://loinc.org", "code": "1518-0"}]}, "effectiveDateTime": "2026-01-10T08:00:00Z",
      "valueQuantity": {"value": 5.0, "unit": "mmol/l", "system": "http://unitsofmeasure.org", "code": "mmol/L"}}},
    {"resource": {"resourceType": "Observation", "id": "o2", "status": "final", "subject": {"reference": "Patient/p-1"},
      "code": {"coding": [{"system": "http://loinc.org", "code": "1518-0"}]}, "effectiveDateTime": "2026-03-02T09:30:00+01:00",
      "valueQuantity": {"value": 8.2, "unit": "mmol/l", "system": "http://unitsofmeasure.org", "code": "mmol/L"}}},
    {"resource": {"resourceType": "Observation", "id": "o3", "status": "entered-in-error", "subject": {"reference": "Patient/p-1"},
      "code": {"coding": [{"system": "http://loinc.org", "code": "1518-0"}]}, "effectiveDateTime": "2026-03-05",
      "valueQuantity": {"value": 30, "system": "http://unitsofmeasure.org", "code": "mmol/L"}}},
    {"resource": {"resourceType": "Observation", "id": "bp", "status": "final", "subject": {"reference": "Patient/p-1"},
      "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]}, "effectiveDateTime": "2026-03-02",
      "component": [
        {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}, "valueQuantity": {"value": 128, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
        {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]}, "valueQuantity": {"value": 72, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}]}},
    {"resource": {"resourceType": "Observation", "id": "bmi", "status": "final", "subject": {"reference": "Patient/p-1"},
      "code": {"coding": [{"system": "http://loinc.org", "code": "39156-5"}]}, "valueQuantity": {"value": 33.6, "system": "http://unitsofmeasure.org", "code": "kg/m2"}}},
    {"resource": {"resourceType": "Observation", "id": "preg", "status": "final", "subject": {"reference": "Patient/p-1"},
      "code": {"coding": [{"system": "http://loinc.org", "code": "11996-6"}]}, "valueInteger": 6}},
    {"resource": {"resourceType": "Observation", "id": "ped", "status": "final", "subject": {"reference": "Patient/p-1"},
      "code": {"coding": [{"system": "urn:localdx:field", "code": "pedigree"}]}, "valueQuantity": {"value": 0.627}}},
    {"resource": {"resourceType": "Observation", "id": "hr", "status": "final", "subject": {"reference": "Patient/p-1"},
      "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}, "valueQuantity": {"value": 80}}},
    {"resource": {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p-1"}}},
    {"resource": {"resourceType": "Observation", "id": "g2", "status": "final", "subject": {"reference": "urn:uuid:p-2"},
      "code": {"coding": [{"system": "http://loinc.org", "code": "1518-0"}]}, "effectiveDateTime": "2025-06-01",
      "valueQuantity": {"value": 89, "system": "http://unitsofmeasure.org", "code": "mg/dL"}}},
    {"fullUrl": "urn:uuid:p-2", "resource": {"resourceType": "Patient", "id": "p-2", "gender": "male", "birthDate": "2004-05-31"}}
  ]})";

PreparedRecord prepare(const Schema& s, const RawRecord& r) {
    auto p = record_prepare(s, r);
    if (!p) throw std::runtime_error(p.error().describe());
    return *p;
}
}  // namespace

TEST(Fhir, BundleGivesOneRecordPerPatientWithUnitsConvertedAndTheLatestValue) {
    const Schema s = task_schema("pima-diabetes");
    ASSERT_TRUE(fhir_detect(kBundle));
    auto r = fhir_records(s, kBundle, kNow);
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_TRUE(r->problems.empty()) << r->problems[0].describe();
    ASSERT_EQ(r->patients, (std::vector<std::string>{"p-1", "p-2"}));
    const PreparedRecord a = prepare(s, r->records[0]), b = prepare(s, r->records[1]);
    auto value = [&](const PreparedRecord& p, const char* f) { return p.values[static_cast<size_t>(s.find_field(f))]; };
    EXPECT_NEAR(value(a, "glucose"), 8.2 * 18.0156, 1e-9);  // the newer value, converted from mmol/L
    EXPECT_EQ(value(a, "pressure"), 72);                    // the diastolic component of the panel
    EXPECT_EQ(value(a, "mass"), 33.6);
    EXPECT_EQ(value(a, "pregnant"), 6);
    EXPECT_EQ(value(a, "pedigree"), 0.627);
    EXPECT_EQ(value(a, "age"), 49);  // born 1976-05-20, latest observation 2026-03-02
    EXPECT_TRUE(std::isnan(value(a, "insulin")));
    EXPECT_EQ(value(b, "glucose"), 89);
    EXPECT_EQ(value(b, "age"), 21);  // born 2004-05-31, observed 2025-06-01 (the day after turning 21)
}

TEST(Fhir, TheSamePatientsAsCsvGiveTheSameFeatures) {
    const Schema s = task_schema("pima-diabetes");
    auto fhir = fhir_records(s, kBundle, kNow);
    ASSERT_TRUE(fhir.ok());
    auto table =
        csv_parse("pregnant,glucose[mmol/L],pressure,triceps,insulin,mass,pedigree,age\n6,8.2,72,,,33.6,0.627,49\n");
    ASSERT_TRUE(table.ok());
    auto binding = csv_bind(s, table->header);
    ASSERT_TRUE(binding.ok());
    const PreparedRecord from_csv = prepare(s, record_from_csv_row(s, *binding, table->rows[0]));
    const PreparedRecord from_fhir = prepare(s, fhir->records[0]);
    ASSERT_EQ(from_csv.features.size(), from_fhir.features.size());
    for (size_t j = 0; j < from_csv.features.size(); ++j) {
        if (std::isnan(from_csv.features[j])) EXPECT_TRUE(std::isnan(from_fhir.features[j])) << j;
        else EXPECT_EQ(from_csv.features[j], from_fhir.features[j]) << j;
    }
}

TEST(Fhir, NdjsonAndSingleResourcesAreRead) {
    const Schema s = task_schema("pbc-stage");
    const std::string nd =
        R"({"resourceType": "Patient", "id": "a", "gender": "female", "birthDate": "1950-01-01"})"
        "\n"
        R"({"resourceType": "Observation", "status": "final", "subject": {"reference": "Patient/a"}, "effectiveDateTime": "2000-01-01", "code": {"coding": [{"system": "http://loinc.org", "code": "1975-2"}]}, "valueQuantity": {"value": 1.4, "system": "http://unitsofmeasure.org", "code": "mg/dL"}})"
        "\n\n"
        R"({"resourceType": "Observation", "status": "final", "subject": {"reference": "Patient/a"}, "code": {"coding": [{"system": "urn:localdx:field", "code": "hepato"}]}, "valueBoolean": true})"
        "\n";
    ASSERT_TRUE(fhir_detect(nd));
    auto r = fhir_records(s, nd, kNow);
    ASSERT_TRUE(r.ok()) << r.error().describe();
    ASSERT_EQ(r->records.size(), 1u);
    auto p = record_prepare(s, r->records[0]);
    // Not enough for a full PBC record (required fields), but what is there is read right.
    std::map<std::string, const RawValue*> got;
    for (const auto& e : r->records[0]) got[e.field] = &e.value;
    ASSERT_TRUE(got.count("bili") && got.count("hepato") && got.count("sex") && got.count("age"));
    EXPECT_EQ(got["bili"]->number, 1.4);
    EXPECT_TRUE(got["hepato"]->boolean);
    EXPECT_EQ(got["sex"]->text, "f");
    EXPECT_EQ(got["age"]->number, 50);  // at the observation, not today
    auto single = fhir_records(s, R"({"resourceType": "Patient", "id": "solo", "gender": "male"})", kNow);
    ASSERT_TRUE(single.ok());
    EXPECT_EQ(single->patients, std::vector<std::string>{"solo"});
}

TEST(Fhir, BadFilesAndBadResourcesSayWhy) {
    const Schema s = task_schema("pima-diabetes");
    EXPECT_EQ(codes(fhir_records(s, "{not json", kNow)), "json_syntax");
    EXPECT_EQ(codes(fhir_records(s, R"({"glucose": 5})", kNow)), "not_fhir");
    EXPECT_EQ(codes(fhir_records(s, R"({"resourceType": "Bundle", "entry": 5})", kNow)), "not_fhir");
    EXPECT_EQ(codes(fhir_records(s, "\n\n", kNow)), "not_fhir");
    EXPECT_FALSE(fhir_detect("glucose,age\n1,2\n"));
    EXPECT_EQ(codes(fhir_records(s, "{\"resourceType\": \"Patient\", \"id\": \"a\"}\n{broken\n", kNow)), "bad_json");

    auto one = [&](const std::string& observation) {
        const std::string text =
            R"({"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient", "id": "a"}}, {"resource": )" +
            observation + "}]}";
        auto r = fhir_records(s, text, kNow);
        if (!r) return "file: " + r.error().describe();
        return r->problems.empty() ? std::string("ok") : r->problems[0].describe();
    };
    const std::string code = R"("code": {"coding": [{"system": "http://loinc.org", "code": "1518-0"}]})";
    EXPECT_EQ(one(R"({"resourceType": "Observation", "status": "final", "subject": {"reference": "Patient/a"}, )" +
                  code + R"(, "valueQuantity": {"value": 99}})"),
              "ok");
    EXPECT_NE(one(R"({"resourceType": "Observation", "id": "x", )" + code + R"(, "valueQuantity": {"value": 99}})")
                  .find("row 2, field 'glucose': Observation 'x' has no subject"),
              std::string::npos);
    EXPECT_NE(one(R"({"resourceType": "Observation", "id": "x", "subject": {"reference": "Patient/a"}, )" + code +
                  R"(, "valueRange": {}})")
                  .find("valueRange cannot be a field's value"),
              std::string::npos);
    EXPECT_NE(one(R"({"resourceType": "Observation", "id": "x", "subject": {"reference": "Patient/a"}, )" + code +
                  R"(, "valueQuantity": {"value": "99"}})")
                  .find("valueQuantity has no numeric value"),
              std::string::npos);
    EXPECT_NE(
        one(R"({"resourceType": "Observation", "id": "x", "subject": {"reference": "Patient/a"}, "effectiveDateTime": "2026-13-01", )" +
            code + R"(, "valueQuantity": {"value": 99}})")
            .find("'2026-13-01' is not a FHIR date/time"),
        std::string::npos);
    EXPECT_NE(one(R"({"id": "x"})").find("without a resourceType"), std::string::npos);
    EXPECT_NE(one("7").find("without a resource object"), std::string::npos);
    // A unit the schema does not know is named by record_prepare, as for a CSV cell.
    auto r = fhir_records(
        s,
        R"({"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Observation", "subject": {"reference": "Patient/a"}, )" +
            code + R"(, "valueQuantity": {"value": 5, "system": "http://unitsofmeasure.org", "code": "g/L"}}}]})",
        kNow);
    ASSERT_TRUE(r.ok());
    auto p = record_prepare(s, r->records[0]);
    ASSERT_FALSE(p.ok());
    bool unit_named = false;
    for (const auto& pr : p.problems()) unit_named = unit_named || (pr.code == "unknown_unit" && pr.field == "glucose");
    EXPECT_TRUE(unit_named) << p.error().describe();
}

// The chart of the patient on screen (the SMART launch's prefill), through the same choice of
// values as a file: the newest Observation per field, converted to the field's unit, with the
// chart's own rules — final values only, possible values only, known units only, and a value
// older than the field's max_age_days shown but not used.
TEST(FhirChart, FillsTheFormFromTheNewestFinalValuesInTheFieldsUnits) {
    const Schema s = task_schema("pima-diabetes");
    auto chart = fhir_chart(s, kBundle, kNow);
    ASSERT_TRUE(chart.ok()) << chart.error().describe();
    EXPECT_EQ(chart->patient, "p-1");
    auto at = [&](const char* f) { return chart->fields[static_cast<size_t>(s.find_field(f))]; };
    const ChartValue glucose = at("glucose");
    EXPECT_EQ(glucose.state, ChartValue::State::used);
    EXPECT_NEAR(glucose.value, 8.2 * 18.0156, 1e-9);  // o2 (newer than o1; o3 entered in error), in mg/dL
    EXPECT_EQ(glucose.text, "147.728");
    EXPECT_EQ(glucose.date, "2026-03-02");
    EXPECT_EQ(glucose.date_text, "2 Mar 2026");
    EXPECT_EQ(glucose.source, "Observation/o2");
    EXPECT_EQ(at("pressure").text, "72");
    EXPECT_EQ(at("age").text, "50");  // born 1976-05-20: 50 today (2026-11-18), not at the last observation
    EXPECT_EQ(at("age").source, "Patient/p-1");
    EXPECT_EQ(at("age").date, "");
    EXPECT_EQ(at("insulin").state, ChartValue::State::none);
    // Undated values (the BMI, the pregnancies) wait for the clinician: "use it only if current".
    EXPECT_EQ(at("mass").state, ChartValue::State::too_old);
    EXPECT_NE(at("mass").reason.find("has no date"), std::string::npos) << at("mass").reason;
}

TEST(FhirChart, RefusesWhatCannotBeUsedWithTheReason) {
    Schema s = task_schema("pima-diabetes");
    const std::string obs = R"({"resourceType": "Observation", "status": "%s", "subject": {"reference": "Patient/p"},
      "code": {"coding": [{"system": "http://loinc.org", "code": "%s"}]}, "effectiveDateTime": "%s",
      "valueQuantity": {"value": %s, "system": "http://unitsofmeasure.org", "code": "%s"}, "id": "%s"})";
    auto o = [&](const char* status, const char* code, const char* when, const char* value, const char* unit,
                 const char* id) {
        char b[1024];
        std::snprintf(b, sizeof b, obs.c_str(), status, code, when, value, unit, id);
        return std::string(b);
    };
    const std::string bundle =
        std::string(R"({"resourceType": "Bundle", "type": "searchset", "entry": [)") +
        R"({"resource": {"resourceType": "Patient", "id": "p", "birthDate": "1990-01-01"}},)" +
        "{\"resource\": " + o("final", "1518-0", "2026-11-01", "7", "mg", "g1") + "}," +
        "{\"resource\": " + o("preliminary", "8462-4", "2026-11-01", "70", "mm[Hg]", "bp") + "}," +
        "{\"resource\": " + o("final", "1559-2", "2026-11-01", "90000", "u[IU]/mL", "ins") + "}," +
        "{\"resource\": " + o("final", "39106-0", "2023-11-01", "2.5", "cm", "tri") + "}," +
        "{\"resource\": " + o("final", "39156-5", "2026-10-30", "31.2", "kg/m2", "bmi") + "}]}";
    auto chart = fhir_chart(s, bundle, kNow);
    ASSERT_TRUE(chart.ok()) << chart.error().describe();
    auto at = [&](const char* f) { return chart->fields[static_cast<size_t>(s.find_field(f))]; };
    EXPECT_EQ(at("glucose").state, ChartValue::State::refused);
    EXPECT_EQ(at("glucose").reason,
              "Plasma glucose, 2 h after 75 g oral glucose (mg/dL): the chart's value is in 'mg', which cannot be "
              "converted to mg/dL");
    EXPECT_EQ(at("pressure").state, ChartValue::State::refused);
    EXPECT_NE(at("pressure").reason.find("preliminary, not final"), std::string::npos) << at("pressure").reason;
    EXPECT_EQ(at("insulin").state, ChartValue::State::refused);
    EXPECT_NE(at("insulin").reason.find("outside what is possible (1–2000)"), std::string::npos)
        << at("insulin").reason;
    // Three years old: shown (converted, 25 mm) but not used until accepted.
    EXPECT_EQ(at("triceps").state, ChartValue::State::too_old);
    EXPECT_EQ(at("triceps").text, "25");
    EXPECT_EQ(at("triceps").date, "2023-11-01");
    EXPECT_NE(at("triceps").reason.find("older than 365 days"), std::string::npos) << at("triceps").reason;
    EXPECT_EQ(at("mass").state, ChartValue::State::used);
    EXPECT_EQ(at("mass").text, "31.2");
    EXPECT_EQ(at("age").text, "36");
    // The schema decides how old is too old.
    s.fields[static_cast<size_t>(s.find_field("mass"))].max_age_days = 7;
    chart = fhir_chart(s, bundle, kNow);
    EXPECT_EQ(at("mass").state, ChartValue::State::too_old);
    EXPECT_EQ(codes(fhir_chart(s, R"({"resourceType": "Observation", "id": "x"})", kNow).problems()), "no_patient");
}

// "Save to chart": a classification result as a RiskAssessment, a regression score as an
// Observation, each with the model's identity, the basis, the words shown and the time.
TEST(FhirResult, AClassificationIsARiskAssessmentWithAProbabilityPerClass) {
    const Schema s = task_schema("pima-diabetes");
    ChartWrite w;
    w.patient = "pima-1";
    w.model_name = "pima-diabetes";
    w.model_version = 3;
    w.model_sha256 = std::string(64, 'a');
    w.basis = {"Observation/o2", "Observation/bmi"};
    w.summary = "31% probability of Diabetes.";
    w.now = kNow;
    const std::vector<double> p{0.69, 0.31};
    const Json r = fhir_result_resource(s, p, w);
    EXPECT_STREQ(fhir_result_type(s), "RiskAssessment");
    EXPECT_EQ(r["resourceType"], "RiskAssessment");
    EXPECT_EQ(r["status"], "final");
    EXPECT_EQ(r["subject"]["reference"], "Patient/pima-1");
    EXPECT_EQ(r["occurrenceDateTime"], "2026-11-18T11:06:40Z");
    ASSERT_EQ(r["prediction"].size(), 2u);
    EXPECT_EQ(r["prediction"][1]["outcome"]["text"], s.outputs.classes[1].label);
    EXPECT_EQ(r["prediction"][1]["probabilityDecimal"], 0.31);
    EXPECT_EQ(r["method"]["coding"][0]["code"], "pima-diabetes");
    EXPECT_EQ(r["method"]["coding"][0]["version"], "3");
    EXPECT_EQ(r["method"]["text"], "LocalDx pima-diabetes version 3, SHA-256 " + std::string(64, 'a'));
    EXPECT_EQ(r["basis"], Json::parse(R"([{"reference": "Observation/o2"}, {"reference": "Observation/bmi"}])"));
    EXPECT_EQ(r["note"][0]["text"], "31% probability of Diabetes.");
    EXPECT_FALSE(r.contains("valueQuantity"));
    // Nothing from the chart: no basis at all (FHIR has no empty arrays).
    w.basis.clear();
    EXPECT_FALSE(fhir_result_resource(s, p, w).contains("basis"));
}

TEST(FhirResult, ARegressionScoreIsAnObservationWithItsIntervalAsComponents) {
    Schema s = schema_from_json(Json::parse(read_file(source_path("models/diabetes-progression/schema.json")))).value();
    std::vector<double> predicted(19, 100), observed;
    for (int i = 1; i <= 19; ++i) observed.push_back(100 + (i % 2 ? i : -i));
    s.outputs.conformal = conformal_fit_intervals(predicted, observed, std::vector<double>{0.8, 0.9}, "test");
    ChartWrite w;
    w.patient = "dp-1";
    w.model_name = "diabetes-progression";
    w.model_version = 1;
    w.model_sha256 = std::string(64, 'b');
    w.basis = {"Observation/bmi"};
    w.summary = "Predicted disease progression 152 points.";
    w.now = kNow;
    const std::vector<double> value{151.64};
    const Json r = fhir_result_resource(s, value, w);
    EXPECT_STREQ(fhir_result_type(s), "Observation");
    EXPECT_EQ(r["resourceType"], "Observation");
    EXPECT_EQ(r["code"]["text"], s.outputs.label);
    EXPECT_EQ(r["effectiveDateTime"], "2026-11-18T11:06:40Z");
    // The value at the task's decimals (0), in its UCUM unit.
    EXPECT_EQ(
        r["valueQuantity"],
        Json::parse(R"({"value": 152.0, "unit": "points", "system": "http://unitsofmeasure.org", "code": "{score}"})"))
        << r["valueQuantity"].dump();
    // The band level's interval: 151.64 ± 18 at 90%.
    const Interval in = conformal_interval(s.outputs, conformal_band_index(s.outputs.conformal), 151.64);
    ASSERT_EQ(r["component"].size(), 2u);
    EXPECT_EQ(r["component"][0]["code"]["coding"][0]["code"], "low");
    EXPECT_EQ(r["component"][0]["code"]["text"],
              std::to_string(static_cast<int>(std::lround(in.level * 100))) + "% prediction interval, lower bound");
    EXPECT_EQ(r["component"][0]["valueQuantity"]["value"], std::round(in.low));
    EXPECT_EQ(r["component"][1]["valueQuantity"]["value"], std::round(in.high));
    EXPECT_EQ(r["derivedFrom"], Json::parse(R"([{"reference": "Observation/bmi"}])"));
    EXPECT_FALSE(r.contains("prediction"));
    EXPECT_FALSE(r.contains("basis"));
    // Without a calibrator: the value alone.
    s.outputs.conformal = {};
    EXPECT_FALSE(fhir_result_resource(s, value, w).contains("component"));
}
