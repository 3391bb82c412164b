// shared/record/record.cpp — see record.h.
//
// Index of this file
//   [SECTION] Number and token parsing
//   [SECTION] One value of one field
//   [SECTION] record_prepare, features_from_values
//   [SECTION] JSON and CSV readers
#include "record/record.h"

#include <cmath>
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
// "19 years", "500 mmHg", "5" (a count has no unit): the unit as a clinician reads it.
std::string amount(double v, std::string_view ucum) {
    const std::string u = unit_display(ucum);
    return u.empty() ? fmt(v) : fmt(v) + " " + u;
}
}  // namespace

namespace {
// The minus sign U+2212 and the non-breaking spaces a word processor puts into numbers.
constexpr std::string_view kMinusSign = "\xE2\x88\x92";
constexpr std::string_view kNoBreakSpace = "\xC2\xA0", kNarrowNoBreakSpace = "\xE2\x80\xAF";

std::string_view trim_number(std::string_view s) {
    for (bool again = true; again;) {
        again = false;
        s = trim(s);
        for (std::string_view sp : {kNoBreakSpace, kNarrowNoBreakSpace}) {
            if (s.substr(0, sp.size()) == sp) {
                s.remove_prefix(sp.size());
                again = true;
            }
            if (s.size() >= sp.size() && s.substr(s.size() - sp.size()) == sp) {
                s.remove_suffix(sp.size());
                again = true;
            }
        }
    }
    return s;
}
}  // namespace

Result<double> number_parse(std::string_view typed) {
    const std::string_view s0 = trim_number(typed);
    auto refuse = [&](std::string why) { return problem("not_a_number", why); };
    const std::string shown = printable(s0);
    if (s0.empty()) return refuse("no number was given");
    if (s0.size() > 64) return refuse("'" + shown.substr(0, 20) + "…' is too long to be a number");
    // Sign: '+', '-' or the typographic minus.
    std::string ascii;
    std::string_view s = s0;
    if (s.substr(0, kMinusSign.size()) == kMinusSign) {
        ascii += '-';
        s.remove_prefix(kMinusSign.size());
    } else if (s.front() == '+' || s.front() == '-') {
        ascii += s.front();
        s.remove_prefix(1);
    }
    size_t int_digits = 0, frac_digits = 0, i = 0;
    while (i < s.size() && digit(s[i])) ascii += s[i++], ++int_digits;
    char separator = 0;
    if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
        separator = s[i++];
        ascii += '.';
        while (i < s.size() && digit(s[i])) ascii += s[i++], ++frac_digits;
    }
    const bool has_point = s0.find('.') != std::string_view::npos, has_comma = s0.find(',') != std::string_view::npos;
    if (has_point && has_comma)
        return refuse(
            "'" + shown +
            "' has both a point and a comma: type the number with one decimal separator and no thousands separator");
    if (int_digits + frac_digits == 0) return refuse("'" + shown + "' is not a number");
    if (separator && frac_digits == 0 && (i == s.size() || s[i] == 'e' || s[i] == 'E'))
        return refuse("'" + shown + "' ends with a decimal separator: type the digits after it, or leave it out");
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ascii += s[i++];
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) ascii += s[i++];
        size_t exp_digits = 0;
        while (i < s.size() && digit(s[i])) ascii += s[i++], ++exp_digits;
        if (exp_digits == 0) return refuse("'" + shown + "' is not a number");
    }
    if (i != s.size()) {
        if (s[i] == ',' || s[i] == '.')
            return refuse("'" + shown +
                          "' has more than one decimal separator: type the number without thousands separators");
        return refuse("'" + shown + "' is not a number");
    }
    // "1,234" is 1234 where a comma groups thousands and 1.234 where it marks decimals: never guess.
    if (separator == ',' && frac_digits == 3 && int_digits >= 1 && int_digits <= 3 &&
        !(int_digits == 1 && s.front() == '0') && ascii.find_first_of("eE") == std::string::npos)
        return problem("ambiguous_number", "'" + shown + "' could mean " + ascii.substr(0, ascii.find('.')) +
                                               ascii.substr(ascii.find('.') + 1) + " or " + ascii +
                                               ": type it without a thousands separator, with a point for decimals");
    char* end = nullptr;
    const double out = std::strtod(ascii.c_str(), &end);
    if (end != ascii.c_str() + ascii.size()) return refuse("'" + shown + "' is not a number");
    if (!std::isfinite(out)) return refuse("'" + shown + "' is too large");
    return out;
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
    const bool missing =
        v.kind == RawValue::Kind::missing || (v.kind == RawValue::Kind::text && is_missing_token(v.text));
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
                auto parsed = number_parse(v.text);
                if (!parsed) return bad(parsed.error().code, parsed.error().message);
                x = *parsed;
            } else return bad("not_a_number", "expected a number, not true/false");
            if (!std::isfinite(x)) return bad("not_a_number", "expected a finite number");
            std::string unit = f.unit;
            if (!v.unit.empty() && v.unit != f.unit) {
                const UnitConversion* u = f.find_unit(v.unit);
                if (!u) {
                    std::string list = unit_display(f.unit);
                    for (const auto& a : f.alt_units) list += ", " + unit_display(a.unit);
                    return bad("unknown_unit",
                               "unit '" + printable(v.unit) + "' cannot be converted (accepted: " + list + ")");
                }
                x = u->factor * x + u->offset;
            }
            if (f.type == FieldType::integer && x != std::floor(x))
                return bad("not_whole", fmt(x) + " is not a whole number");
            if (x < f.min || x > f.max)
                return bad("out_of_range", amount(x, f.unit) + " is outside the possible range " + fmt(f.min) + " to " +
                                               amount(f.max, f.unit));
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
            return bad("not_boolean", "'" + printable(v.text) + "' is not yes/no");
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
                for (const auto& lv : f.levels) list += (list.empty() ? "" : ", ") + lv.label;
                return bad("unknown_level", "'" + printable(t) + "' is not one of: " + list);
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
                                           amount(*v, f.unit) + " is outside the range seen in training (" +
                                               fmt(f.typical_min) + " to " + amount(f.typical_max, f.unit) +
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
            if (auto p = json_check_keys(*v, {"value", "unit"}, e.field)) {
                problems.push_back(*p);
                continue;
            }
            auto unit = json_opt_string(*v, "unit", e.field);
            if (!unit) {
                problems.push_back(unit.error());
                continue;
            }
            e.value.unit = unit->value_or("");
            static const Json null_json;
            v = v->contains("value") ? &(*v)["value"] : &null_json;
        }
        if (v->is_null()) e.value.kind = RawValue::Kind::missing;
        else if (v->is_boolean()) {
            e.value.kind = RawValue::Kind::boolean;
            e.value.boolean = v->get<bool>();
        } else if (v->is_number()) {
            e.value.kind = RawValue::Kind::number;
            e.value.number = v->get<double>();
        } else if (v->is_string()) {
            e.value.kind = RawValue::Kind::text;
            e.value.text = v->get<std::string>();
        } else {
            problems.push_back(problem("wrong_type", "expected a number, text, true/false or null", e.field, row));
            continue;
        }
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
        if (auto open = name.find('['); open != std::string::npos && !name.empty() && name.back() == ']') {
            unit = std::string(trim(std::string_view(name).substr(open + 1, name.size() - open - 2)));
            name = std::string(trim(std::string_view(name).substr(0, open)));
        }
        bool ignored = false;
        for (const auto& g : ignore) ignored = ignored || g == name;
        const int f = ignored ? -1 : schema.find_field(name);
        if (!ignored && f < 0) {
            b.unused.push_back(printable(h));
        } else if (f >= 0 && seen[static_cast<size_t>(f)]) {
            problems.push_back(problem("duplicate_field", "field '" + name + "' has two columns", name, 0));
        } else if (f >= 0 && !unit.empty() && unit != schema.fields[f].unit && !schema.fields[f].find_unit(unit)) {
            problems.push_back(
                problem("unknown_unit",
                        "unit '" + printable(unit) + "' cannot be converted to " + unit_display(schema.fields[f].unit),
                        name, 0));
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
