// shared/record/fhir.cpp — see fhir.h.
//
// Index of this file
//   [SECTION] Dates (FHIR's partial dates and date-times)
//   [SECTION] Resources from the text (Bundle, one resource, NDJSON)
//   [SECTION] Observations to field values
//   [SECTION] Records (one patient's values per field: a file's and the chart's)
//   [SECTION] A result for the chart
#include "record/fhir.h"

#include "base/calendar.h"
#include "conformal/conformal.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace ldx {

namespace {
//-----------------------------------------------------------------------------
// [SECTION] Dates
//-----------------------------------------------------------------------------
struct Date {
    int y = 0, m = 1, d = 1;
    int64_t seconds = 0;  // for ordering (UTC, offset applied)
    bool ok = false;
};

Date civil_from_seconds(int64_t s) {
    int64_t y = 0;
    unsigned m = 1, d = 1;
    civil_from_days(s >= 0 ? s / 86400 : (s - 86399) / 86400, y, m, d);
    Date out;
    out.y = static_cast<int>(y);
    out.m = static_cast<int>(m);
    out.d = static_cast<int>(d);
    out.seconds = s;
    out.ok = true;
    return out;
}

bool digits(std::string_view s, size_t at, size_t n, int& out) {
    if (at + n > s.size()) return false;
    out = 0;
    for (size_t i = at; i < at + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        out = out * 10 + (s[i] - '0');
    }
    return true;
}

// YYYY, YYYY-MM, YYYY-MM-DD, or YYYY-MM-DDThh:mm[:ss[.f...]](Z|+hh:mm|-hh:mm).
Date parse_date(std::string_view s) {
    Date out;
    if (!digits(s, 0, 4, out.y)) return out;
    if (s.size() > 4 && (s[4] != '-' || !digits(s, 5, 2, out.m))) return out;
    if (s.size() > 7 && (s[7] != '-' || !digits(s, 8, 2, out.d))) return out;
    if (out.m < 1 || out.m > 12 || out.d < 1 || out.d > 31) return out;
    int hh = 0, mm = 0, ss = 0;
    int64_t offset = 0;
    if (s.size() > 10) {
        if (s[10] != 'T' || !digits(s, 11, 2, hh) || s.size() < 16 || s[13] != ':' || !digits(s, 14, 2, mm)) return out;
        size_t at = 16;
        if (at < s.size() && s[at] == ':') {
            if (!digits(s, at + 1, 2, ss)) return out;
            at += 3;
            if (at < s.size() && s[at] == '.')
                for (++at; at < s.size() && s[at] >= '0' && s[at] <= '9';) ++at;
        }
        if (at < s.size() && s[at] == 'Z') ++at;
        else if (at < s.size() && (s[at] == '+' || s[at] == '-')) {
            int oh = 0, om = 0;
            if (!digits(s, at + 1, 2, oh) || s.size() < at + 6 || s[at + 3] != ':' || !digits(s, at + 4, 2, om))
                return out;
            offset = (s[at] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
            at += 6;
        }
        if (at != s.size() || hh > 23 || mm > 59 || ss > 60) return out;
    }
    out.seconds = days_from_civil(out.y, static_cast<unsigned>(out.m), static_cast<unsigned>(out.d)) * 86400 +
                  hh * 3600 + mm * 60 + ss - offset;
    out.ok = true;
    return out;
}

int years_between(const Date& birth, const Date& at) {
    int years = at.y - birth.y;
    if (at.m < birth.m || (at.m == birth.m && at.d < birth.d)) --years;
    return years;
}

//-----------------------------------------------------------------------------
// [SECTION] Resources from the text
//-----------------------------------------------------------------------------
constexpr size_t kMaxResources = 2'000'000;

struct Resource {
    Json json;
    std::string full_url;
    long number = 0;  // 1-based position in the file, for messages
};

std::string_view skip_blanks(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\r' || s.front() == '\t'))
        s.remove_prefix(1);
    return s;
}

Result<std::vector<Resource>> read_resources(std::string_view text) {
    const JsonLimits limits{512u << 20, 48};
    std::vector<Resource> out;
    auto whole = json_parse(text, "FHIR file", limits);
    if (whole) {
        if (!whole->is_object() || !whole->contains("resourceType") || !(*whole)["resourceType"].is_string())
            return problem("not_fhir", "the file is JSON but not a FHIR resource: it has no resourceType");
        if (json_text_or(*whole, "resourceType") != "Bundle") {
            out.push_back({std::move(*whole), "", 1});
            return out;
        }
        const Json& entries = json_member(*whole, "entry");
        if (!entries.is_null() && !entries.is_array()) return problem("not_fhir", "Bundle.entry must be an array");
        if (entries.size() > kMaxResources) return problem("too_large", "the Bundle holds more than 2,000,000 entries");
        for (size_t i = 0; i < entries.size(); ++i) {
            const Json& e = entries[i];
            out.push_back({json_member(e, "resource"), json_text_or(e, "fullUrl"), static_cast<long>(i) + 1});
        }
        return out;
    }
    // NDJSON: one resource per line.
    long line_no = 0;
    for (size_t start = 0; start < text.size();) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view line = text.substr(start, end - start);
        start = end + 1;
        ++line_no;
        if (skip_blanks(line).empty()) continue;
        auto j = json_parse(line, "FHIR NDJSON line " + std::to_string(line_no), limits);
        if (!j) {
            if (line_no == 1) return whole.problems();  // not NDJSON either: report the JSON error
            return problem("bad_json",
                           "line " + std::to_string(line_no) + " is not a JSON resource: " + j.error().message, "",
                           line_no);
        }
        if (out.size() >= kMaxResources) return problem("too_large", "the file holds more than 2,000,000 resources");
        out.push_back({std::move(*j), "", line_no});
    }
    if (out.empty()) return problem("not_fhir", "the file holds no FHIR resources");
    return out;
}

//-----------------------------------------------------------------------------
// [SECTION] Observations to field values
//-----------------------------------------------------------------------------
// The schema field a CodeableConcept names, kLabelField for the outcome (urn:localdx:field with the
// schema's label column), or -1.
constexpr int kLabelField = -2;
int field_for(const Schema& schema, const Json& code_concept) {
    for (const Json& c : json_member(code_concept, "coding")) {
        const std::string system = json_text_or(c, "system"), code = json_text_or(c, "code");
        if (code.empty()) continue;
        std::string key;
        if (system == "http://loinc.org") key = "LOINC:" + code;
        else if (system == "http://snomed.info/sct") key = "SNOMED:" + code;
        else if (system == "urn:localdx:field") {
            const int f = schema.find_field(code);
            if (f >= 0) return f;
            if (!schema.outputs.column.empty() && code == schema.outputs.column) return kLabelField;
            continue;
        } else continue;
        for (size_t f = 0; f < schema.fields.size(); ++f)
            if (schema.fields[f].code == key) return static_cast<int>(f);
    }
    return -1;
}

// The value[x] of an Observation or a component. Returns false (and says why) for a type that
// cannot be a field's value; a missing value (dataAbsentReason) gives Kind::missing.
bool value_of(const Json& obj, RawValue& v, std::string& why) {
    if (const Json& q = json_member(obj, "valueQuantity"); !q.is_null()) {
        const Json& n = json_member(q, "value");
        if (!n.is_number()) {
            why = "valueQuantity has no numeric value";
            return false;
        }
        v.kind = RawValue::Kind::number;
        v.number = n.get<double>();
        const std::string system = json_text_or(q, "system"), code = json_text_or(q, "code");
        v.unit = system == "http://unitsofmeasure.org" && !code.empty() ? code : json_text_or(q, "unit");
        return true;
    }
    if (const Json& n = json_member(obj, "valueInteger"); !n.is_null()) {
        if (!n.is_number_integer()) {
            why = "valueInteger is not an integer";
            return false;
        }
        v.kind = RawValue::Kind::number;
        v.number = n.get<double>();
        return true;
    }
    if (const Json& b = json_member(obj, "valueBoolean"); !b.is_null()) {
        if (!b.is_boolean()) {
            why = "valueBoolean is not true or false";
            return false;
        }
        v.kind = RawValue::Kind::boolean;
        v.boolean = b.get<bool>();
        return true;
    }
    if (const Json& t = json_member(obj, "valueString"); !t.is_null()) {
        if (!t.is_string()) {
            why = "valueString is not text";
            return false;
        }
        v.kind = RawValue::Kind::text;
        v.text = t.get<std::string>();
        return true;
    }
    if (const Json& c = json_member(obj, "valueCodeableConcept"); !c.is_null()) {
        for (const Json& coding : json_member(c, "coding"))
            if (!json_text_or(coding, "code").empty()) {
                v.kind = RawValue::Kind::text;
                v.text = json_text_or(coding, "code");
                return true;
            }
        v.kind = RawValue::Kind::text;
        v.text = json_text_or(c, "text");
        if (!v.text.empty()) return true;
        why = "valueCodeableConcept has neither a code nor text";
        return false;
    }
    if (!json_member(obj, "dataAbsentReason").is_null()) {
        v.kind = RawValue::Kind::missing;
        return true;
    }
    for (const char* other :
         {"valueRange", "valueRatio", "valueSampledData", "valueTime", "valueDateTime", "valuePeriod"})
        if (!json_member(obj, other).is_null()) {
            why = std::string(other) + " cannot be a field's value";
            return false;
        }
    why = "it has no value";
    return false;
}

//-----------------------------------------------------------------------------
// [SECTION] Records
//-----------------------------------------------------------------------------
// An Observation's value for a field, as read (the newest per field is kept).
struct Candidate {
    RawValue value;
    Date when;  // !ok: undated
    std::string status, id;
    std::string why;  // the value could not be read (chart: refused with this reason)
    int64_t at() const { return when.ok ? when.seconds : INT64_MIN; }
};

struct PatientState {
    std::string id;
    std::string gender;
    Date birth;
    Date latest;                      // the latest observation date
    std::map<int, Candidate> values;  // field (or kLabelField) -> its newest value
};

// How the values are picked: a file of patients (record_prepare checks and converts them later,
// every reading is used) or the chart of the patient on screen (fhir_chart's rules).
enum class Pick { file, chart };

std::string iso_date(const Date& d) {
    char b[16];
    std::snprintf(b, sizeof b, "%04d-%02d-%02d", d.y, d.m, d.d);
    return b;
}

std::string readable_date(const Date& d) {
    static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    return std::to_string(d.d) + " " + months[d.m - 1] + " " + std::to_string(d.y);
}

// "148", "147.728", "0.627": a value in the field's unit as the form shows it.
std::string number_text(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.6g", v);
    return b;
}

// "Plasma glucose, 2 h after 75 g oral glucose (mg/dL)": the field as the clinician reads it.
std::string field_words(const Field& f) {
    const std::string u = unit_display(f.unit);
    return f.label + (u.empty() ? "" : " (" + u + ")");
}

// The one place a patient's value per field is chosen, for a file and for the chart.
std::vector<ChartValue> patient_values(const Schema& schema, const PatientState& p, int64_t now, Pick pick) {
    std::vector<ChartValue> out(schema.fields.size());
    const Date today = civil_from_seconds(now);
    for (size_t fi = 0; fi < schema.fields.size(); ++fi) {
        const Field& f = schema.fields[fi];
        ChartValue& cv = out[fi];
        auto refuse = [&](const std::string& why) {
            cv.state = ChartValue::State::refused;
            cv.reason = field_words(f) + ": " + why;
        };
        auto it = p.values.find(static_cast<int>(fi));
        if (it == p.values.end()) {
            // From the Patient resource: age from birthDate (a file: at the latest observation, as
            // the data were taken; the chart: today), sex from gender.
            if (f.code == "LOINC:30525-0" && p.birth.ok) {
                const int years = years_between(p.birth, pick == Pick::file && p.latest.ok ? p.latest : today);
                cv.value = years;
                cv.text = std::to_string(years);
                cv.source = "Patient/" + p.id;
                cv.state = ChartValue::State::used;
                if (pick == Pick::chart && (years < f.min || years > f.max))
                    refuse("the age from the birth date (" + std::to_string(years) + " years) is outside " +
                           number_text(f.min) + "–" + number_text(f.max));
            } else if (!p.gender.empty() && f.type == FieldType::category && (f.name == "sex" || f.name == "gender")) {
                for (const Level& l : f.levels)
                    if (l.value == p.gender || l.value == p.gender.substr(0, 1)) {
                        cv.text = l.value;
                        cv.source = "Patient/" + p.id;
                        cv.state = ChartValue::State::used;
                    }
                if (cv.state == ChartValue::State::none && pick == Pick::chart)
                    refuse("the chart's gender '" + p.gender + "' is not one of this model's levels");
            }
            continue;
        }
        const Candidate& c = it->second;
        cv.source = "Observation/" + c.id;
        if (c.when.ok) {
            cv.date = iso_date(c.when);
            cv.date_text = readable_date(c.when);
        }
        const RawValue& v = c.value;
        if (pick == Pick::file) {  // record_prepare checks and converts it with the rest of the row
            cv.state = ChartValue::State::used;
            continue;
        }
        if (!c.why.empty()) {
            refuse("the chart's Observation cannot be used: " + c.why);
            continue;
        }
        if (c.status != "final" && c.status != "amended" && c.status != "corrected") {
            refuse("the chart's value is " + (c.status.empty() ? std::string("without a status") : c.status) +
                   ", not final");
            continue;
        }
        if (v.kind == RawValue::Kind::missing) {
            refuse("the chart says the value is absent");
            continue;
        }
        if (f.numeric()) {
            if (v.kind != RawValue::Kind::number) {
                refuse("the chart's value is not a number");
                continue;
            }
            double x = v.number;
            if (!v.unit.empty() && v.unit != f.unit) {
                const UnitConversion* u = f.find_unit(v.unit);
                if (!u) {
                    refuse("the chart's value is in '" + v.unit + "', which cannot be converted to " +
                           unit_display(f.unit));
                    continue;
                }
                x = u->factor * x + u->offset;
            }
            if (!std::isfinite(x) || x < f.min || x > f.max) {
                refuse("the chart's value " + number_text(x) + " is outside what is possible (" + number_text(f.min) +
                       "–" + number_text(f.max) + ")");
                continue;
            }
            if (f.type == FieldType::integer && x != std::floor(x)) {
                refuse("the chart's value " + number_text(x) + " is not a whole number");
                continue;
            }
            cv.value = x;
            cv.text = number_text(x);
        } else if (f.type == FieldType::boolean) {
            if (v.kind != RawValue::Kind::boolean) {
                refuse("the chart's value is not yes or no");
                continue;
            }
            cv.text = v.boolean ? "yes" : "no";
        } else {
            if (v.kind != RawValue::Kind::text || f.find_level(v.text) < 0) {
                refuse("the chart's value '" + v.text + "' is not one of this model's levels");
                continue;
            }
            cv.text = v.text;
        }
        cv.state = ChartValue::State::used;
        if (!c.when.ok) {
            cv.state = ChartValue::State::too_old;
            cv.reason = field_words(f) + ": the chart's value has no date; use it only if it is current";
        } else if (now - c.when.seconds > static_cast<int64_t>(f.max_age_days * 86400.0)) {
            cv.state = ChartValue::State::too_old;
            cv.reason = field_words(f) + ": the chart's value is from " + readable_date(c.when) + ", older than " +
                        number_text(f.max_age_days) + " days; use it only if it still holds";
        }
    }
    return out;
}

struct Patients {
    std::vector<PatientState> list;
    std::vector<Problem> problems;
};

// Every Patient, and per patient each field's newest Observation.
Patients read_patients(const Schema& schema, const std::vector<Resource>& resources, Pick pick) {
    Patients out;
    std::vector<PatientState>& patients = out.list;
    std::map<std::string, size_t> by_ref;  // "Patient/<id>", fullUrl, subject reference -> patient
    auto patient_for = [&](const std::string& ref) -> PatientState& {
        auto it = by_ref.find(ref);
        if (it != by_ref.end()) return patients[it->second];
        patients.push_back({});
        const auto slash = ref.rfind('/');
        patients.back().id = slash == std::string::npos ? ref : ref.substr(slash + 1);
        by_ref[ref] = patients.size() - 1;
        return patients.back();
    };
    auto bad = [&](const Resource& r, const std::string& msg, const std::string& field = "") {
        out.problems.push_back(problem("fhir_resource", msg, field, r.number));
    };
    // Patients first, so an Observation listed before its Patient still finds it.
    for (const Resource& r : resources) {
        if (json_text_or(r.json, "resourceType") != "Patient") continue;
        const std::string id = json_text_or(r.json, "id");
        if (id.empty() && r.full_url.empty()) {
            bad(r, "a Patient without an id");
            continue;
        }
        PatientState& p = patient_for(id.empty() ? r.full_url : "Patient/" + id);
        if (!id.empty()) p.id = id;
        if (!r.full_url.empty()) by_ref[r.full_url] = static_cast<size_t>(&p - patients.data());
        p.gender = json_text_or(r.json, "gender");
        if (const std::string b = json_text_or(r.json, "birthDate"); !b.empty()) {
            p.birth = parse_date(b);
            if (!p.birth.ok) bad(r, "Patient '" + p.id + "': birthDate '" + b + "' is not a FHIR date");
        }
    }
    for (const Resource& r : resources) {
        if (!r.json.is_object()) {
            bad(r, "an entry without a resource object");
            continue;
        }
        const std::string type = json_text_or(r.json, "resourceType");
        if (type.empty()) {
            bad(r, "a resource without a resourceType");
            continue;
        }
        if (type != "Observation") continue;  // Patient done above; other resources are not inputs
        const std::string status = json_text_or(r.json, "status");
        if (status == "entered-in-error" || status == "cancelled") continue;
        const std::string id = json_text_or(r.json, "id", "(no id)");
        const std::string subject = json_text_or(json_member(r.json, "subject"), "reference");
        // Components (a blood-pressure panel's systolic and diastolic) count as observations.
        std::vector<const Json*> parts{&r.json};
        for (const Json& c : json_member(r.json, "component")) parts.push_back(&c);
        std::string when_text = json_text_or(r.json, "effectiveDateTime");
        if (when_text.empty()) when_text = json_text_or(json_member(r.json, "effectivePeriod"), "end");
        if (when_text.empty()) when_text = json_text_or(r.json, "issued");
        const Date when = when_text.empty() ? Date{} : parse_date(when_text);
        if (!when_text.empty() && !when.ok) {
            bad(r, "Observation '" + id + "': date '" + when_text + "' is not a FHIR date/time");
            continue;
        }
        for (const Json* part : parts) {
            const int f = field_for(schema, json_member(*part, "code"));
            if (f == -1) continue;  // not for this model
            const std::string& field =
                f == kLabelField ? schema.outputs.column : schema.fields[static_cast<size_t>(f)].name;
            if (subject.empty()) {
                bad(r, "Observation '" + id + "' has no subject (which patient?)", field);
                break;
            }
            Candidate c{{}, when, status, id, ""};
            if (!value_of(*part, c.value, c.why)) {
                bad(r, "Observation '" + id + "' for " + field + ": " + c.why, field);
                if (pick == Pick::file) continue;  // a file uses the newest readable value
            }
            PatientState& p = patient_for(subject);
            auto it = p.values.find(f);
            if (it == p.values.end() || c.at() >= it->second.at()) p.values[f] = c;
            if (when.ok && (!p.latest.ok || when.seconds > p.latest.seconds)) p.latest = when;
        }
    }
    return out;
}
}  // namespace

bool fhir_detect(std::string_view text) {
    text = skip_blanks(text);
    if (text.empty() || text.front() != '{') return false;
    const size_t window = std::min<size_t>(text.size(), 4096);
    return text.substr(0, window).find("\"resourceType\"") != std::string_view::npos;
}

Result<FhirRecords> fhir_records(const Schema& schema, std::string_view text, int64_t now) {
    auto resources = read_resources(text);
    if (!resources) return resources.problems();
    Patients patients = read_patients(schema, *resources, Pick::file);
    FhirRecords out;
    out.problems = std::move(patients.problems);
    for (const PatientState& p : patients.list) {
        RawRecord rec;
        std::string label;
        if (auto it = p.values.find(kLabelField); it != p.values.end()) {
            const RawValue& v = it->second.value;
            label = v.kind == RawValue::Kind::text      ? v.text
                    : v.kind == RawValue::Kind::number  ? json_dump(Json(v.number))
                    : v.kind == RawValue::Kind::boolean ? (v.boolean ? "true" : "false")
                                                        : "";
        }
        const std::vector<ChartValue> chosen = patient_values(schema, p, now, Pick::file);
        for (size_t f = 0; f < chosen.size(); ++f) {
            if (chosen[f].state != ChartValue::State::used) continue;
            auto it = p.values.find(static_cast<int>(f));
            RawValue v;
            if (it != p.values.end()) v = it->second.value;  // as read: record_prepare converts and checks it
            else if (schema.fields[f].numeric()) {           // age from the birth date
                v.kind = RawValue::Kind::number;
                v.number = chosen[f].value;
                v.unit = schema.fields[f].unit;
            } else {  // sex from the gender
                v.kind = RawValue::Kind::text;
                v.text = chosen[f].text;
            }
            rec.push_back({schema.fields[f].name, v});
        }
        out.patients.push_back(p.id);
        out.labels.push_back(std::move(label));
        out.records.push_back(std::move(rec));
    }
    return out;
}

const char* chart_state_name(ChartValue::State s) {
    switch (s) {
        case ChartValue::State::used:
            return "used";
        case ChartValue::State::too_old:
            return "too_old";
        case ChartValue::State::refused:
            return "refused";
        default:
            return "none";
    }
}

Result<FhirChart> fhir_chart(const Schema& schema, std::string_view text, int64_t now) {
    auto resources = read_resources(text);
    if (!resources) return resources.problems();
    // Only the first Patient's Observations: anything else in the text is not this patient's.
    std::vector<Resource> mine;
    std::string patient_id;
    for (const Resource& r : *resources)
        if (json_text_or(r.json, "resourceType") == "Patient") {
            patient_id = json_text_or(r.json, "id");
            if (!patient_id.empty()) {
                mine.push_back(r);
                break;
            }
        }
    if (patient_id.empty()) return problem("no_patient", "the chart holds no Patient with an id");
    for (const Resource& r : *resources)
        if (json_text_or(r.json, "resourceType") == "Observation" &&
            json_text_or(json_member(r.json, "subject"), "reference") == "Patient/" + patient_id)
            mine.push_back(r);
    Patients patients = read_patients(schema, mine, Pick::chart);
    FhirChart out;
    out.patient = patient_id;
    out.fields = patient_values(schema, patients.list.at(0), now, Pick::chart);
    return out;
}

//-----------------------------------------------------------------------------
// [SECTION] A result for the chart
//-----------------------------------------------------------------------------
namespace {
Json model_method(const ChartWrite& w) {
    const std::string version = std::to_string(w.model_version);
    return {{"coding", Json::array({{{"system", "urn:localdx:model"}, {"code", w.model_name}, {"version", version}}})},
            {"text", "LocalDx " + w.model_name + " version " + version + ", SHA-256 " + w.model_sha256}};
}

Json references(const std::vector<std::string>& ids) {
    Json out = Json::array();
    for (const std::string& id : ids) out.push_back({{"reference", id}});
    return out;
}

double rounded(const Outputs& o, double v) {
    const double scale = std::pow(10.0, o.decimals);
    return std::round(v * scale) / scale;
}

Json score_quantity(const Outputs& o, double v) {
    return {{"value", rounded(o, v)},
            {"unit", unit_display(o.unit)},
            {"system", "http://unitsofmeasure.org"},
            {"code", o.unit}};
}
}  // namespace

const char* fhir_result_type(const Schema& s) { return s.outputs.regression() ? "Observation" : "RiskAssessment"; }

Json fhir_result_resource(const Schema& s, std::span<const double> probabilities, const ChartWrite& w) {
    const Outputs& o = s.outputs;
    const std::string when = utc_format(w.now);
    Json r{{"resourceType", fhir_result_type(s)},
           {"status", "final"},
           {"subject", {{"reference", "Patient/" + w.patient}}},
           {"method", model_method(w)}};
    if (o.regression()) {
        const double value = probabilities.empty() ? 0.0 : probabilities[0];
        r["code"] = {{"coding", Json::array({{{"system", "urn:localdx:model"}, {"code", w.model_name}}})},
                     {"text", o.label.empty() ? s.title : o.label}};
        r["effectiveDateTime"] = when;
        r["issued"] = when;
        r["valueQuantity"] = score_quantity(o, value);
        if (!o.conformal.empty()) {
            const Interval in = conformal_interval(o, conformal_band_index(o.conformal), value);
            const std::string level = std::to_string(static_cast<int>(std::lround(in.level * 100))) + "%";
            r["component"] =
                Json::array({{{"code",
                               {{"coding", Json::array({{{"system", "urn:localdx:interval"}, {"code", "low"}}})},
                                {"text", level + " prediction interval, lower bound"}}},
                              {"valueQuantity", score_quantity(o, in.low)}},
                             {{"code",
                               {{"coding", Json::array({{{"system", "urn:localdx:interval"}, {"code", "high"}}})},
                                {"text", level + " prediction interval, upper bound"}}},
                              {"valueQuantity", score_quantity(o, in.high)}}});
        }
        if (!w.basis.empty()) r["derivedFrom"] = references(w.basis);
    } else {
        Json prediction = Json::array();
        for (size_t c = 0; c < probabilities.size() && c < o.classes.size(); ++c)
            prediction.push_back(
                {{"outcome", {{"text", o.classes[c].label}}}, {"probabilityDecimal", probabilities[c]}});
        r["code"] = {{"text", s.title}};
        r["occurrenceDateTime"] = when;
        r["prediction"] = prediction;
        if (!w.basis.empty()) r["basis"] = references(w.basis);
    }
    r["note"] = Json::array({{{"text", w.summary}}});
    return r;
}

}  // namespace ldx
