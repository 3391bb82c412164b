// shared/record/fhir.h — patient records from FHIR R4 JSON: a Bundle (collection, searchset,
// transaction...), one resource, or NDJSON (one resource per line, as FHIR bulk export writes).
//
// Index of this file
//   [SECTION] Records from FHIR resources
//   [SECTION] One patient's chart, field by field (the SMART launch's prefill)
//   [SECTION] A result for the chart ("Save to chart": RiskAssessment or Observation)
//
// Mapping (the schema says which code a field is):
//   - Observation.code.coding (and each Observation.component's code) is matched against the
//     fields' codes: system http://loinc.org -> "LOINC:<code>", http://snomed.info/sct ->
//     "SNOMED:<code>", and urn:localdx:field -> the field's name (for values without a standard
//     code). Observations with other codes are not for this model and are ignored.
//   - valueQuantity keeps its unit (the UCUM code when the system is http://unitsofmeasure.org,
//     else its unit text), so record_prepare converts it or names the unit it does not know;
//     valueInteger, valueBoolean, valueString, valueCodeableConcept (its first code) are used as
//     they are. The most recent observation (effectiveDateTime, else issued) per field wins.
//   - The outcome of a labelled file (for validation) is an Observation coded urn:localdx:field
//     with the schema's label column as code, its value the class name (valueString,
//     valueCodeableConcept's code, valueInteger or valueBoolean).
//   - Observations marked entered-in-error or cancelled are ignored.
//   - Age (LOINC 30525-0) without an Observation comes from Patient.birthDate, at the date of the
//     patient's latest observation (else `now`); a category field named "sex" or "gender" comes
//     from Patient.gender (level "female"/"male", or "f"/"m").
// Records are in the order patients first appear; each is then validated by record_prepare, like
// a CSV row, so a FHIR file and a CSV file of the same patients give the same predictions.
// A file and a chart read from the EHR (fhir_chart) go through one function that picks each
// field's value for a patient; the chart adds its stricter rules (see fhir_chart).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "record/record.h"
#include "schema/schema.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Records from FHIR resources
//-----------------------------------------------------------------------------
struct FhirRecords {
    std::vector<std::string> patients;  // Patient id (or the subject reference) per record
    std::vector<RawRecord> records;
    std::vector<std::string> labels;  // per record: the outcome's class name, or "" when none
    std::vector<Problem> problems;    // resources that could not be used (row = resource number)
};

// True when the text is JSON (or NDJSON) whose first object carries a "resourceType".
bool fhir_detect(std::string_view text);

// Problems (for the whole file): json_parse's (e.g. "json_syntax"), "bad_json" (an NDJSON line
// after the first that is not JSON, with its line as row), "not_fhir" (no resourceType, nothing
// in the file), "too_large".
// Per resource (in FhirRecords::problems, with the resource number as row): "fhir_resource".
Result<FhirRecords> fhir_records(const Schema& schema, std::string_view text, int64_t now);

//-----------------------------------------------------------------------------
// [SECTION] One patient's chart, field by field
//-----------------------------------------------------------------------------
// What the chart gives for one field of the form. Only `used` values go into the form; a
// `too_old` value waits for the clinician to accept it; a `refused` one says why in `reason`.
struct ChartValue {
    enum class State { none, used, too_old, refused };
    State state = State::none;
    std::string text;       // what the form gets: a number in the field's unit, a level, "yes"/"no"
    double value = 0;       // numeric fields: the value in the field's unit
    std::string date;       // "2026-11-02" (empty: undated, or from the Patient resource)
    std::string date_text;  // "2 Nov 2026", as the form shows it
    std::string source;     // "Observation/o2", "Patient/p-1"
    std::string reason;     // refused or too_old: why, naming the field by its label and unit
};
const char* chart_state_name(ChartValue::State s);  // "none", "used", "too_old", "refused"

struct FhirChart {
    std::string patient;             // the Patient's id
    std::vector<ChartValue> fields;  // one per schema field
};

// One patient's chart (a Bundle or resources as fhir_records reads them: the first Patient, and
// the Observations whose subject is that Patient) as values for the schema's fields: per field
// the newest Observation by its code (fhir_records' rule), then
//   - status final, amended or corrected only (else refused: "preliminary, not final");
//   - converted to the field's unit through the schema's units (else refused: the unit named);
//   - inside the field's possible range, whole for integer fields, a known level for categories
//     (else refused);
//   - older than the field's max_age_days at `now`: too_old (shown, used once accepted);
//   - age (LOINC 30525-0) from Patient.birthDate at `now`, sex/gender from Patient.gender.
// Problems: those of fhir_records for the text, and "no_patient" when it holds no Patient.
Result<FhirChart> fhir_chart(const Schema& schema, std::string_view text, int64_t now);

//-----------------------------------------------------------------------------
// [SECTION] A result for the chart
//-----------------------------------------------------------------------------
// What "Save to chart" writes besides the prediction itself: who it is about, what it was made
// from, and the words the clinician read.
struct ChartWrite {
    std::string patient;     // the launch's Patient id
    std::string model_name;  // the bundle's name, version and SHA-256
    int64_t model_version = 0;
    std::string model_sha256;
    std::vector<std::string> basis;  // "Observation/ID": the chart's values the form still holds
    std::string summary;             // the result in the words shown
    int64_t now = 0;                 // when (seconds since 1970 UTC)
};

// The FHIR R4 resource type a task's result is written as: "RiskAssessment" for classification
// (a probability per class), "Observation" for a regression score.
const char* fhir_result_type(const Schema& s);

// The result as that resource, about Patient/patient, made by the model (method: its name,
// version and SHA-256), with the Observations as basis (RiskAssessment.basis,
// Observation.derivedFrom) and the summary as its note:
//   - RiskAssessment: one prediction per class (its label and probabilityDecimal), the
//     conformal prediction set (when the bundle has one) in the note, occurrenceDateTime `now`;
//   - Observation: valueQuantity (the value rounded to the task's decimals, in its UCUM unit),
//     the conformal interval at the band level as two components (low, high), effectiveDateTime
//     and issued `now`.
// `probabilities` as the core's prediction gives them (regression: the value).
Json fhir_result_resource(const Schema& s, std::span<const double> probabilities, const ChartWrite& w);

}  // namespace ldx
