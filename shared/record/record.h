// shared/record/record.h — one patient record: validation and preprocessing.
//
// Index of this file
//   [SECTION] Raw records (what a form, a CSV row or a JSON object holds)
//   [SECTION] Prepared records (validated values and the model's feature vector)
//   [SECTION] Reading records from JSON and CSV
//
// Data flows one way: raw record -> record_prepare -> PreparedRecord (values, features,
// warnings) -> model. The CLI's training, `localdx predict` and the browser all call
// record_prepare, so there is one preprocessing and no training/serving skew.
#pragma once
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/text.h"
#include "csv/csv.h"
#include "schema/schema.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Raw records
//-----------------------------------------------------------------------------
struct RawValue {
    enum class Kind { missing, text, number, boolean };
    Kind kind = Kind::missing;
    std::string text;   // Kind::text: as typed ("148", "f", "yes")
    double number = 0;  // Kind::number
    bool boolean = false;
    std::string unit;  // empty: the field's own unit
};

struct RawEntry {
    std::string field;
    RawValue value;
};
using RawRecord = std::vector<RawEntry>;

//-----------------------------------------------------------------------------
// [SECTION] Prepared records
//-----------------------------------------------------------------------------
struct PreparedRecord {
    std::vector<double> values;     // per schema field, in the field's unit; category: level index; NaN = missing
    std::vector<float> features;    // the model's input, in schema.features order (NaN = missing)
    std::vector<Problem> warnings;  // "outside_training_range", "missing_value"
};

// Validates and converts. Problems (all of them, not just the first): "unknown_field",
// "duplicate_field", "required", "not_a_number", "not_whole", "out_of_range", "unknown_unit",
// "unknown_level", "not_boolean". `row` (1-based, -1 for none) is carried into every problem.
Result<PreparedRecord> record_prepare(const Schema& schema, const RawRecord& record, long row = -1);

// The feature vector for already-validated values (one place that knows the encoding).
std::vector<float> features_from_values(const Schema& schema, std::span<const double> values);

// Reads a number exactly as a clinician or a data file means it, or refuses it: an optional sign,
// digits with one decimal separator (point or comma: "0,5" is 0.5), an optional exponent ("1e3").
// Every character is read as what it stands for or named in the refusal, never dropped: the
// minus sign U+2212 and the dashes a word processor or keyboard puts for it (U+2010-2013, U+FE63,
// full-width U+FF0D) are a minus; full-width digits, plus, point and comma (U+FF10-FF19, U+FF0B,
// U+FF0E, U+FF0C) and Arabic-Indic digits (U+0660-0669, U+06F0-06F9, with the Arabic decimal
// separator U+066B) are the ASCII ones. Blanks (spaces, tabs, no-break, thin and ideographic
// spaces) and invisible marks (zero-width characters, direction marks, a byte order mark) around
// the number are not part of it. Refused with a message that quotes what was typed: letters or
// other characters ("12a", "∞", superscripts, other scripts' digits, named by code point),
// blanks or invisible marks inside ("1 234"), thousands separators ("1.234,5", "1'234"), a
// trailing separator ("5,") or sign ("5−"), ranges ("5–10"), "nan", "inf", hex; and, as
// "ambiguous_number", a comma followed by exactly three digits ("1,234": 1234 or 1.234?). "−0" is
// 0. The one parser of typed numbers: the form, files of patients and the CLI use it; the cases
// are listed in tests/corpus/numbers.tsv.
[[nodiscard]] Result<double> number_parse(std::string_view text);

//-----------------------------------------------------------------------------
// [SECTION] Reading records from JSON and CSV
//-----------------------------------------------------------------------------
// {"glucose": 148, "glucose": {"value": 8.2, "unit": "mmol/L"}, "sex": "f", "hepato": true,
//  "insulin": null}
Result<RawRecord> record_from_json(const Json& object, long row = -1);

// Columns are field names, optionally with a unit: "glucose[mmol/L]". Columns named in
// `ignore` (e.g. the label column when training) are skipped; other columns the schema does not
// know are listed in `unused` (the caller decides: a file of patients ignores them with a notice,
// training refuses them). Header problems: "duplicate_field", "unknown_unit", "missing_column"
// (a required field has no column).
struct CsvBinding {
    std::vector<int> field;           // per CSV column: schema field index, or -1 (ignored)
    std::vector<std::string> unit;    // per CSV column: unit from the header, or ""
    std::vector<std::string> unused;  // header names of columns that are not fields (printable)
};
Result<CsvBinding> csv_bind(const Schema& schema, const std::vector<std::string>& header,
                            std::span<const std::string> ignore = {});
RawRecord record_from_csv_row(const Schema& schema, const CsvBinding& binding, const std::vector<std::string>& cells);

// Cells that mean "not measured" in data files.
bool is_missing_token(std::string_view s);

}  // namespace ldx
