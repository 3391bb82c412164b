// shared/record/patients.cpp — see patients.h.
//
// Index of this file
//   [SECTION] Id columns
//   [SECTION] CSV, FHIR and JSON records
//   [SECTION] Validation of one row
//   [SECTION] Template
#include "record/patients.h"

#include <cmath>
#include <cstdio>

#include "csv/csv.h"
#include "record/fhir.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Id columns
//-----------------------------------------------------------------------------
bool is_id_column(std::string_view name) {
    std::string n;
    for (char c : name)
        if (c != ' ' && c != '\t') n += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return n == "id" || n == "patient_id" || n == "patientid" || n == "patient" || n == "mrn";
}

//-----------------------------------------------------------------------------
// [SECTION] CSV, FHIR and JSON records
//-----------------------------------------------------------------------------
namespace {
std::string list_names(const std::vector<std::string>& names) {
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "'" : ", '") + n + "'";
    return s;
}

void read_csv(const Schema& schema, std::string_view text, const PatientReadOptions& o, PatientFile& f) {
    auto table = csv_parse(text);
    if (!table) {
        f.problems = table.problems();
        return;
    }
    int id_col = -1, label_col = -1;
    std::vector<std::string> ignore(o.ignore.begin(), o.ignore.end());
    for (size_t c = 0; c < table->header.size() && !o.label_column.empty(); ++c)
        if (table->header[c] == o.label_column && label_col < 0) {
            label_col = static_cast<int>(c);
            f.has_labels = true;
            ignore.push_back(table->header[c]);
        }
    for (size_t c = 0; c < table->header.size(); ++c)
        if (id_col < 0 && is_id_column(table->header[c]) && schema.find_field(table->header[c]) < 0) {
            id_col = static_cast<int>(c);
            f.id_column = table->header[c];
            ignore.push_back(table->header[c]);
        }
    auto binding = csv_bind(schema, table->header, ignore);
    if (!binding) {
        f.problems = binding.problems();
        return;
    }
    if (!binding->unused.empty())
        f.notices.push_back(problem(
            "ignored_columns", std::to_string(binding->unused.size()) +
                                   (binding->unused.size() == 1 ? " column is" : " columns are") +
                                   " not used by this model and " + (binding->unused.size() == 1 ? "was" : "were") +
                                   " ignored: " + list_names(binding->unused)));
    f.rows.reserve(table->rows.size());
    for (size_t i = 0; i < table->rows.size(); ++i) {
        PatientRow r;
        r.row = static_cast<long>(i) + 1;
        auto& cells = table->rows[i];
        if (id_col >= 0 && static_cast<size_t>(id_col) < cells.size())
            r.id = printable(cells[static_cast<size_t>(id_col)]);
        if (label_col >= 0 && static_cast<size_t>(label_col) < cells.size())
            r.label = cells[static_cast<size_t>(label_col)];
        if (auto p = csv_row_problem(*table, i)) {
            p->patient = r.id;
            r.problems.push_back(*p);
        } else {
            r.cells = std::move(cells);
        }
        f.rows.push_back(std::move(r));
    }
    f.binding = std::move(*binding);
}

void read_fhir(const Schema& schema, std::string_view text, const PatientReadOptions& o, PatientFile& f) {
    auto fhir = fhir_records(schema, text, o.now);
    if (!fhir) {
        f.problems = fhir.problems();
        return;
    }
    // A resource that cannot be used is named, and the patients that could be read are scored;
    // a file in which no patient could be read is refused with those reasons.
    if (fhir->records.empty()) {
        f.problems = fhir->problems.empty() ? std::vector<Problem>{problem("no_patients", "the file holds no patients")}
                                            : fhir->problems;
        return;
    }
    f.notices = fhir->problems;
    for (size_t i = 0; i < fhir->records.size(); ++i) {
        PatientRow r;
        r.row = static_cast<long>(i) + 1;
        r.id = printable(fhir->patients[i]);
        r.record = std::move(fhir->records[i]);
        if (!o.label_column.empty()) {
            r.label = fhir->labels[i];
            f.has_labels = f.has_labels || !r.label.empty();
        }
        f.rows.push_back(std::move(r));
    }
}

void read_json(std::string_view text, const PatientReadOptions& o, PatientFile& f) {
    auto j = json_parse(text, "patients file", JsonLimits{256u << 20, 8});
    if (!j) {
        f.problems = j.problems();
        return;
    }
    const Json list = j->is_array() ? std::move(*j) : Json::array({std::move(*j)});
    for (size_t i = 0; i < list.size(); ++i) {
        PatientRow r;
        r.row = static_cast<long>(i) + 1;
        Json record = list[i];
        if (record.is_object()) {
            for (const char* key : {"id", "patient_id", "patient"})
                if (record.contains(key) && (record[key].is_string() || record[key].is_number_integer())) {
                    r.id = printable(record[key].is_string() ? record[key].get<std::string>() : record[key].dump());
                    record.erase(key);
                    break;
                }
            if (const std::string key(o.label_column); !key.empty() && record.contains(key)) {
                const Json& y = record[key];
                r.label = y.is_string() ? y.get<std::string>() : y.is_null() ? "" : y.dump();
                f.has_labels = true;
                record.erase(key);
            }
        }
        auto raw = record_from_json(record, r.row);
        if (raw) r.record = std::move(*raw);
        else r.problems = raw.problems();
        for (auto& p : r.problems) p.patient = r.id;
        f.rows.push_back(std::move(r));
    }
}

bool looks_like_json(std::string_view text) {
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    for (char c : text) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
        return c == '[' || c == '{';
    }
    return false;
}
}  // namespace

PatientFile patients_read(const Schema& schema, std::string_view text, const PatientReadOptions& options) {
    PatientFile f;
    if (text.size() > kMaxPatientFileBytes) {
        f.problems.push_back(problem("too_large", "the file is larger than " +
                                                      std::to_string(kMaxPatientFileBytes >> 20) +
                                                      " MB; split it into smaller files"));
        return f;
    }
    if (fhir_detect(text)) {
        f.format = "fhir";
        read_fhir(schema, text, options, f);
    } else if (looks_like_json(text)) {
        f.format = "json";
        read_json(text, options, f);
    } else {
        f.format = "csv";
        read_csv(schema, text, options, f);
    }
    if (!f.problems.empty()) f.rows.clear();
    return f;
}

//-----------------------------------------------------------------------------
// [SECTION] Validation of one row
//-----------------------------------------------------------------------------
Result<PreparedRecord> patient_prepare(const Schema& schema, const PatientFile& file, size_t index) {
    if (index >= file.rows.size())
        return problem("no_such_row", "the file has " + std::to_string(file.rows.size()) + " rows; there is no row " +
                                          std::to_string(index + 1));
    const PatientRow& row = file.rows[index];
    if (!row.problems.empty()) return row.problems;
    auto r = file.format == "csv"
                 ? record_prepare(schema, record_from_csv_row(schema, file.binding, row.cells), row.row)
                 : record_prepare(schema, row.record, row.row);
    if (r || row.id.empty()) return r;
    std::vector<Problem> ps = r.problems();
    for (auto& p : ps) p.patient = row.id;
    return ps;
}

//-----------------------------------------------------------------------------
// [SECTION] Template
//-----------------------------------------------------------------------------
std::string patients_template_csv(const Schema& schema) {
    std::vector<std::string> header{"patient_id"}, example{"example-1"};
    for (const Field& f : schema.fields) {
        header.push_back(f.numeric() && !f.unit.empty() && f.unit != "1" ? f.name + "[" + f.unit + "]" : f.name);
        std::string v;
        if (f.numeric()) {
            const double lo = std::isfinite(f.typical_min) ? f.typical_min : f.min,
                         hi = std::isfinite(f.typical_max) ? f.typical_max : f.max;
            double mid = std::isfinite(lo) && std::isfinite(hi) ? (lo + hi) / 2 : 0;
            if (f.type == FieldType::integer) mid = std::round(mid);
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.4g", mid);
            v = buf;
        } else if (f.type == FieldType::boolean) {
            v = "no";
        } else if (!f.levels.empty()) {
            v = f.levels.front().value;
        }
        example.push_back(v);
    }
    return csv_line(header) + csv_line(example);
}

}  // namespace ldx
