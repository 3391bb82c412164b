// shared/record/record.cpp — see record.h.
//
// Index of this file
//   [SECTION] Number and token parsing
//   [SECTION] One value of one field
//   [SECTION] record_prepare, features_from_values
//   [SECTION] JSON and CSV readers
#include "record/record.h"

#include <cstdlib>
#include <cstdio>
#include <set>

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Number and token parsing
//-----------------------------------------------------------------------------
namespace {
std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}
bool digit(char c) { return c >= '0' && c <= '9'; }
std::string lower(std::string_view s) {
    std::string r(s);
    for (char& c : r)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return r;
}
std::string fmt(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}
}  // namespace

bool parse_decimal(std::string_view s, double& out) {
    s = trim(s);
    if (s.empty() || s.size() > 64) return false;
    size_t i = 0;
    if (s[i] == '+' || s[i] == '-') ++i;
    size_t int_digits = 0, frac_digits = 0;
    while (i < s.size() && digit(s[i])) ++i, ++int_digits;
    if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && digit(s[i])) ++i, ++frac_digits;
    }
    if (int_digits + frac_digits == 0) return false;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
        size_t exp_digits = 0;
        while (i < s.size() && digit(s[i])) ++i, ++exp_digits;
        if (exp_digits == 0) return false;
    }
    if (i != s.size()) return false;
    const std::string buf(s);
    char* end = nullptr;
    out = std::strtod(buf.c_str(), &end);
    return end == buf.c_str() + buf.size() && std::isfinite(out);
}

bool is_missing_token(std::string_view s) {
    s = trim(s);
    return s.empty() || s == "NA" || s == "N/A" || s == "na" || s == "?";
}

//-----------------------------------------------------------------------------
// [SECTION] One value of one field
//-----------------------------------------------------------------------------
namespace {

// Returns the value in the field's unit (category: level index), NaN for missing, or a Problem.
Result<double> field_value(const Field& f, const RawValue& v, long row) {
    auto bad = [&](std::string code, std::string msg) { return problem(std::move(code), std::move(msg), f.name, row); };
    const bool missing = v.kind == RawValue::Kind::missing || (v.kind == RawValue::Kind::text && is_missing_token(v.text));
    if (missing) {
        if (f.missing == MissingPolicy::error) return bad("required", "a value is required");
        return kNaN;
    }
    switch (f.type) {
        case FieldType::number:
        case FieldType::integer: {
            double x = 0;
            if (v.kind == RawValue::Kind::number) x = v.number;
            else if (v.kind == RawValue::Kind::text) {
                if (!parse_decimal(v.text, x)) return bad("not_a_number", "'" + v.text + "' is not a number");
            } else return bad("not_a_number", "expected a number, not true/false");
            if (!std::isfinite(x)) return bad("not_a_number", "expected a finite number");
            std::string unit = f.unit;
            if (!v.unit.empty() && v.unit != f.unit) {
                const UnitConversion* u = f.find_unit(v.unit);
                if (!u) {
                    std::string list = f.unit;
                    for (const auto& a : f.alt_units) list += ", " + a.unit;
                    return bad("unknown_unit", "unit '" + v.unit + "' cannot be converted (accepted: " + list + ")");
                }
                x = u->factor * x + u->offset;
            }
            if (f.type == FieldType::integer && x != std::floor(x))
                return bad("not_whole", fmt(x) + " is not a whole number");
            if (x < f.min || x > f.max)
                return bad("out_of_range", fmt(x) + " " + f.unit + " is outside the possible range " + fmt(f.min) +
                                               " to " + fmt(f.max) + " " + f.unit);
            return x;
        }
        case FieldType::boolean: {
            if (v.kind == RawValue::Kind::boolean) return v.boolean ? 1.0 : 0.0;
            if (v.kind == RawValue::Kind::number) {
                if (v.number == 0 || v.number == 1) return v.number;
                return bad("not_boolean", fmt(v.number) + " is not yes/no (use 1 or 0)");
            }
            const std::string t = lower(trim(v.text));
            if (t == "1" || t == "true" || t == "yes" || t == "y") return 1.0;
            if (t == "0" || t == "false" || t == "no" || t == "n") return 0.0;
            return bad("not_boolean", "'" + v.text + "' is not yes/no");
        }
        case FieldType::category: {
            std::string t;
            if (v.kind == RawValue::Kind::text) t = std::string(trim(v.text));
            else if (v.kind == RawValue::Kind::number) t = fmt(v.number);
            else t = v.boolean ? "true" : "false";
            int l = f.find_level(t);
            for (size_t i = 0; l < 0 && i < f.levels.size(); ++i)
                if (lower(f.levels[i].label) == lower(t)) l = static_cast<int>(i);
            if (l < 0) {
                std::string list;
                for (const auto& lv : f.levels) list += (list.empty() ? "" : ", ") + lv.value;
                return bad("unknown_level", "'" + t + "' is not one of: " + list);
            }
            return static_cast<double>(l);
        }
    }
    return bad("internal", "unhandled field type");
}

}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] record_prepare, features_from_values
//-----------------------------------------------------------------------------
std::vector<float> features_from_values(const Schema& schema, std::span<const double> values) {
    std::vector<float> x(schema.features.size());
    for (size_t j = 0; j < schema.features.size(); ++j) {
        const FeatureColumn& c = schema.features[j];
        const double v = values[static_cast<size_t>(c.field)];
        if (std::isnan(v)) x[j] = NAN;
        else if (c.level >= 0) x[j] = (static_cast<int>(v) == c.level) ? 1.0f : 0.0f;
        else x[j] = static_cast<float>(v);
    }
    return x;
}

Result<PreparedRecord> record_prepare(const Schema& schema, const RawRecord& record, long row) {
    std::vector<Problem> problems;
    std::vector<const RawValue*> given(schema.fields.size(), nullptr);
    for (const RawEntry& e : record) {
        const int i = schema.find_field(e.field);
        if (i < 0) {
            problems.push_back(problem("unknown_field", "is not part of this model's schema", e.field, row));
            continue;
        }
        if (given[static_cast<size_t>(i)]) {
            problems.push_back(problem("duplicate_field", "is given twice", e.field, row));
            continue;
        }
        given[static_cast<size_t>(i)] = &e.value;
    }
    PreparedRecord out;
    out.values.assign(schema.fields.size(), kNaN);
    const RawValue absent;
    for (size_t i = 0; i < schema.fields.size(); ++i) {
        const Field& f = schema.fields[i];
        auto v = field_value(f, given[i] ? *given[i] : absent, row);
        if (!v) {
            problems.insert(problems.end(), v.problems().begin(), v.problems().end());
            continue;
        }
        out.values[i] = *v;
        if (std::isnan(*v)) {
            out.warnings.push_back(problem("missing_value", "not given; the model does without it", f.name, row));
        } else if (f.numeric() && (*v < f.typical_min || *v > f.typical_max)) {
            out.warnings.push_back(problem("outside_training_range",
                                           fmt(*v) + " " + f.unit + " is outside the range seen in training (" +
                                               fmt(f.typical_min) + " to " + fmt(f.typical_max) + " " + f.unit +
                                               "): the result is less reliable",
                                           f.name, row));
        }
    }
    if (!problems.empty()) return problems;
    out.features = features_from_values(schema, out.values);
    return out;
}

//-----------------------------------------------------------------------------
// [SECTION] JSON and CSV readers
//-----------------------------------------------------------------------------
Result<RawRecord> record_from_json(const Json& object, long row) {
    if (!object.is_object()) return problem("wrong_type", "a patient record is a JSON object of field: value", "", row);
    RawRecord r;
    std::vector<Problem> problems;
    for (auto it = object.begin(); it != object.end(); ++it) {
        RawEntry e;
        e.field = it.key();
        const Json* v = &it.value();
        if (v->is_object()) {
            if (auto p = json_check_keys(*v, {"value", "unit"}, e.field)) { problems.push_back(*p); continue; }
            auto unit = json_opt_string(*v, "unit", e.field);
            if (!unit) { problems.push_back(unit.error()); continue; }
            e.value.unit = unit->value_or("");
            static const Json null_json;
            v = v->contains("value") ? &(*v)["value"] : &null_json;
        }
        if (v->is_null()) e.value.kind = RawValue::Kind::missing;
        else if (v->is_boolean()) { e.value.kind = RawValue::Kind::boolean; e.value.boolean = v->get<bool>(); }
        else if (v->is_number()) { e.value.kind = RawValue::Kind::number; e.value.number = v->get<double>(); }
        else if (v->is_string()) { e.value.kind = RawValue::Kind::text; e.value.text = v->get<std::string>(); }
        else { problems.push_back(problem("wrong_type", "expected a number, text, true/false or null", e.field, row)); continue; }
        r.push_back(std::move(e));
    }
    for (auto& p : problems) p.row = row;
    if (!problems.empty()) return problems;
    return r;
}

Result<CsvBinding> csv_bind(const Schema& schema, const std::vector<std::string>& header,
                            std::span<const std::string> ignore) {
    CsvBinding b;
    std::vector<Problem> problems;
    std::vector<bool> seen(schema.fields.size(), false);
    for (const std::string& h : header) {
        std::string name = std::string(trim(h)), unit;
        if (auto open = name.find('['); open != std::string::npos && name.back() == ']') {
            unit = std::string(trim(std::string_view(name).substr(open + 1, name.size() - open - 2)));
            name = std::string(trim(std::string_view(name).substr(0, open)));
        }
        bool ignored = false;
        for (const auto& g : ignore) ignored = ignored || g == name;
        const int f = ignored ? -1 : schema.find_field(name);
        if (!ignored && f < 0) {
            problems.push_back(problem("unknown_column", "column '" + h + "' is not a field of this model's schema", h, 0));
        } else if (f >= 0 && seen[static_cast<size_t>(f)]) {
            problems.push_back(problem("duplicate_field", "field '" + name + "' has two columns", name, 0));
        } else if (f >= 0 && !unit.empty() && unit != schema.fields[f].unit && !schema.fields[f].find_unit(unit)) {
            problems.push_back(problem("unknown_unit", "unit '" + unit + "' cannot be converted to " + schema.fields[f].unit, name, 0));
        }
        if (f >= 0) seen[static_cast<size_t>(f)] = true;
        b.field.push_back(f);
        b.unit.push_back(unit);
    }
    for (size_t i = 0; i < schema.fields.size(); ++i)
        if (!seen[i] && schema.fields[i].missing == MissingPolicy::error)
            problems.push_back(problem("missing_column", "the required field has no column", schema.fields[i].name, 0));
    if (!problems.empty()) return problems;
    return b;
}

RawRecord record_from_csv_row(const Schema& schema, const CsvBinding& binding, const std::vector<std::string>& cells) {
    RawRecord r;
    for (size_t c = 0; c < cells.size() && c < binding.field.size(); ++c) {
        if (binding.field[c] < 0) continue;
        RawEntry e;
        e.field = schema.fields[static_cast<size_t>(binding.field[c])].name;
        e.value.kind = RawValue::Kind::text;
        e.value.text = cells[c];
        e.value.unit = binding.unit[c];
        r.push_back(std::move(e));
    }
    return r;
}

}  // namespace ldx
