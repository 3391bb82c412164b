// shared/record/patients.h — a file of many patients, read with one set of rules everywhere.
//
// Index of this file
//   [SECTION] What a file of patients holds
//   [SECTION] Reading it
//
// `localdx predict`, `localdx evaluate` and the browser's batch view all read files of patients
// here, so a file gives the same rows, ids and per-row reasons in every front end:
//   - CSV (a header of field names, optionally "name[unit]"), FHIR R4 JSON (record/fhir.h), or a
//     JSON array of records ({"glucose": 148, ...}; record_from_json).
//   - An id column ("id", "patient_id", "patient", "patient id", "mrn"; any case) is carried
//     through as each row's id and never used as a feature.
//   - Columns the model does not use are ignored, with one notice naming them.
//   - A row that cannot be read (wrong number of cells; a JSON record that is not an object) is
//     listed with its row number, id and reason; the other rows are still read. Values are
//     validated afterwards, per row, by record_prepare (row problems carry the row's id).
//   - What makes the whole file unusable (not CSV/JSON, no header, a required field with no
//     column, a column named twice) is a file problem: no rows then.
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
// [SECTION] What a file of patients holds
//-----------------------------------------------------------------------------
struct PatientRow {
    long row = 0;                    // 1-based data row (CSV row, FHIR patient, JSON array element)
    std::string id;                  // from the id column, the FHIR Patient, or "id" in a JSON record
    RawRecord record;                // FHIR and JSON records (a CSV row's is made from `cells` when prepared)
    std::vector<std::string> cells;  // CSV: the row's cells as read (made into a record by patient_prepare)
    std::string label;               // the outcome's class name, when a label column was asked for
    std::vector<Problem> problems;   // the row cannot be read at all (it is not scored)
};

struct PatientFile {
    std::string format = "csv";  // "csv" | "fhir" | "json"
    std::vector<PatientRow> rows;
    std::vector<Problem> notices;   // nothing lost, but worth saying ("ignored_columns")
    std::vector<Problem> problems;  // the file cannot be used at all (then rows is empty)
    std::string id_column;          // the CSV column the ids came from, or ""
    bool has_labels = false;        // the label column asked for is in the file
    CsvBinding binding;             // CSV: the header's columns as the schema's fields
};

//-----------------------------------------------------------------------------
// [SECTION] Reading it
//-----------------------------------------------------------------------------
struct PatientReadOptions {
    int64_t now = 0;                      // FHIR: age from birthDate when there is no observation
    std::span<const std::string> ignore;  // more columns to ignore silently
    // The outcome column of a labelled file (validation): read into each row's `label`, never a
    // feature. CSV: the column of that name; JSON records: the key; FHIR: see record/fhir.h.
    std::string_view label_column;
};

bool is_id_column(std::string_view name);

// The largest file of patients read at once (CLI and browser alike); a larger one is refused with
// a reason before it is parsed (the browser reads no more than this plus one byte of it).
inline constexpr size_t kMaxPatientFileBytes = size_t{256} << 20;

PatientFile patients_read(const Schema& schema, std::string_view text, const PatientReadOptions& options);

// Row `index` (0-based) of `file` validated: record_prepare with the row's number and id in every
// problem, and the row's own reading problems first. A CSV row's record is made from its cells only
// here, with the file's own binding of columns to fields (so a row is read only as its file's: it is
// named by its place in the file, never passed on its own), so a file read once and scored in parts
// (client/core_api.h) builds each row's record once, where its part is scored. An index past the
// file's rows is a problem ("no_such_row"), not a read outside them.
[[nodiscard]] Result<PreparedRecord> patient_prepare(const Schema& schema, const PatientFile& file, size_t index);

// A CSV template for this model: the header (id column, then every field with its unit) and one
// example row of typical values, so a site can fill in its patients in the shape the reader wants.
std::string patients_template_csv(const Schema& schema);

}  // namespace ldx
