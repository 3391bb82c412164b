// shared/record/record.cpp — see record.h.
//
// Index of this file
//   [SECTION] Number and token parsing
//   [SECTION] One value of one field
//   [SECTION] record_prepare, features_from_values
//   [SECTION] JSON and CSV readers
#include "record/record.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <set>

#include "base/text.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Number and token parsing
//-----------------------------------------------------------------------------
namespace {
bool digit(char c) { return c >= '0' && c <= '9'; }
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
// How one character of a typed number is read. Keyboards, phones, input methods and word
// processors put more than ASCII into numbers: the minus sign U+2212 and dashes, full-width
// digits, signs and separators (a Japanese or Chinese input method), Arabic-Indic digits, no-break
// and thin spaces, invisible marks around pasted text. Each is read as the ASCII character it
// stands for or named in the refusal: none is dropped.
struct NumberChar {
    enum class Kind { ascii, blank, invisible, grouping, other };
    Kind kind = Kind::other;
    char ascii = 0;  // Kind::ascii: '0'-'9', '+', '-', '.', ',', 'e'
};

NumberChar number_char(long cp) {
    using K = NumberChar::Kind;
    auto as = [](char c) { return NumberChar{K::ascii, c}; };
    if (cp >= '0' && cp <= '9') return as(static_cast<char>(cp));
    if (cp == '+' || cp == '-' || cp == '.' || cp == ',') return as(static_cast<char>(cp));
    if (cp == 'e' || cp == 'E') return as('e');
    if (cp >= 0xFF10 && cp <= 0xFF19) return as(static_cast<char>('0' + (cp - 0xFF10)));  // full-width digits
    if (cp >= 0x0660 && cp <= 0x0669) return as(static_cast<char>('0' + (cp - 0x0660)));  // Arabic-Indic
    if (cp >= 0x06F0 && cp <= 0x06F9) return as(static_cast<char>('0' + (cp - 0x06F0)));  // extended (Persian, Urdu)
    switch (cp) {
        case 0xFF0B:
            return as('+');  // full-width plus
        case 0x2212:         // minus sign
        case 0xFF0D:         // full-width hyphen-minus
        case 0xFE63:         // small hyphen-minus
        case 0x2010:         // hyphen
        case 0x2011:         // non-breaking hyphen
        case 0x2012:         // figure dash
        case 0x2013:
            return as('-');  // en dash, a word processor's minus
        case 0xFF0E:         // full-width full stop
        case 0x066B:
            return as('.');  // Arabic decimal separator
        case 0xFF0C:
            return as(',');  // full-width comma
        case 0xFF45:
        case 0xFF25:
            return as('e');  // full-width e, E
        case ' ':
        case '\t':
        case 0x00A0:  // no-break space
        case 0x202F:  // narrow no-break space
        case 0x205F:  // medium mathematical space
        case 0x3000:
            return {K::blank, 0};  // ideographic space
        case 0x00AD:               // soft hyphen
        case 0x061C:               // Arabic letter mark
        case 0x2060:               // word joiner
        case 0xFEFF:
            return {K::invisible, 0};  // zero-width no-break space, byte order mark
        case '\'':
        case 0x2019:  // right single quotation mark (Swiss 1'234)
        case 0x066C:
            return {K::grouping, 0};  // Arabic thousands separator
        default:
            break;
    }
    if (cp >= 0x2000 && cp <= 0x200A) return {K::blank, 0};  // en quad ... hair space, thin space
    if ((cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069))
        return {K::invisible, 0};  // zero-width spaces and joiners, direction marks and embeddings
    return {K::other, 0};
}

std::string code_point_name(long cp) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "U+%04lX", static_cast<unsigned long>(cp));
    return buf;
}

// The ASCII grammar: an optional sign, digits with at most one decimal separator, an optional
// exponent. `shown` is what the clinician typed, for the messages.
Result<double> number_parse_ascii(const std::string& s0, const std::string& shown) {
    auto refuse = [&](std::string why) { return problem("not_a_number", why); };
    std::string ascii;
    std::string_view s = s0;
    if (s.front() == '+' || s.front() == '-') {
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
    const bool has_point = s0.find('.') != std::string::npos, has_comma = s0.find(',') != std::string::npos;
    if (has_point && has_comma)
        return refuse(
            "'" + shown +
            "' has both a point and a comma: type the number with one decimal separator and no thousands separator");
    if (int_digits + frac_digits == 0) return refuse("'" + shown + "' is not a number");
    if (separator && frac_digits == 0 && (i == s.size() || s[i] == 'e'))
        return refuse("'" + shown + "' ends with a decimal separator: type the digits after it, or leave it out");
    if (i < s.size() && s[i] == 'e') {
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
        if ((s[i] == '-' || s[i] == '+') && i + 1 == s.size())
            return refuse("'" + shown +
                          "' has its sign after the digits: a sign goes before the number (−5 for minus five)");
        if (s[i] == '-' && i + 1 < s.size() && digit(s[i + 1]))
            return refuse("'" + shown + "' is a range or two numbers: type one number");
        return refuse("'" + shown + "' is not a number");
    }
    // "1,234" is 1234 where a comma groups thousands and 1.234 where it marks decimals: never guess.
    if (separator == ',' && frac_digits == 3 && int_digits >= 1 && int_digits <= 3 &&
        !(int_digits == 1 && s.front() == '0') && ascii.find('e') == std::string::npos)
        return problem("ambiguous_number", "'" + shown + "' could mean " + ascii.substr(0, ascii.find('.')) +
                                               ascii.substr(ascii.find('.') + 1) + " or " + ascii +
                                               ": type it without a thousands separator, with a point for decimals");
    char* end = nullptr;
    double out = std::strtod(ascii.c_str(), &end);
    if (end != ascii.c_str() + ascii.size()) return refuse("'" + shown + "' is not a number");
    if (!std::isfinite(out)) return refuse("'" + shown + "' is too large");
    if (out == 0) out = 0;  // "−0" is zero, never shown as "-0"
    return out;
}

// The common case, plain ASCII "[+-]digits[.digits]" with at most 15 significant digits and 22
// after the point: the digits as an integer (exact below 2^53) divided by a power of ten (exact up
// to 10^22). One correctly rounded division gives the nearest double, which is what strtod
// returns for the same text (Clinger's fast path), without its long-double arithmetic (soft
// floating point in wasm, where it was a fifth of a batch's validation). Anything else: false.
bool number_parse_plain(std::string_view s, double& out) {
    static constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    if (s.size() > 64) return false;  // refused as too long
    size_t i = 0;
    const bool negative = !s.empty() && s[0] == '-';
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) ++i;
    uint64_t mantissa = 0;
    size_t int_digits = 0, frac_digits = 0, significant = 0;
    for (; i < s.size() && digit(s[i]); ++i, ++int_digits) {
        mantissa = mantissa * 10 + static_cast<uint64_t>(s[i] - '0');
        if (mantissa) ++significant;
    }
    if (i < s.size() && s[i] == '.') {
        for (++i; i < s.size() && digit(s[i]); ++i, ++frac_digits) {
            mantissa = mantissa * 10 + static_cast<uint64_t>(s[i] - '0');
            if (mantissa) ++significant;
        }
        if (frac_digits == 0) return false;  // "5." is refused with its reason
    }
    if (i != s.size() || int_digits == 0 || significant > 15 || frac_digits > 22) return false;
    const double v = static_cast<double>(mantissa) / kPow10[frac_digits];
    out = negative && v != 0 ? -v : v;  // "−0" is zero, never shown as "-0"
    return true;
}
}  // namespace

Result<double> number_parse(std::string_view typed) {
    if (double plain = 0; number_parse_plain(typed, plain)) return plain;
    using K = NumberChar::Kind;
    auto refuse = [&](std::string why) { return problem("not_a_number", why); };
    struct Read {
        long cp;
        NumberChar c;
        size_t begin, end;  // bytes of `typed`
    };
    if (typed.size() > 1024) return refuse("'" + printable(typed.substr(0, 20)) + "…' is too long to be a number");
    std::vector<Read> chars;
    for (size_t i = 0; i < typed.size();) {
        const size_t begin = i;
        const long cp = utf8_next(typed, i);
        chars.push_back({cp, cp < 0 ? NumberChar{} : number_char(cp), begin, i});
    }
    // Blanks and invisible marks around a number are not part of it.
    size_t first = 0, last = chars.size();
    auto around = [](const Read& r) { return r.c.kind == K::blank || r.c.kind == K::invisible; };
    while (first < last && around(chars[first])) ++first;
    while (last > first && around(chars[last - 1])) --last;
    if (first == last) return refuse("no number was given");
    const std::string_view kept = typed.substr(chars[first].begin, chars[last - 1].end - chars[first].begin);
    const std::string shown = printable(kept);
    if (last - first > 64) return refuse("'" + printable(kept.substr(0, 20)) + "…' is too long to be a number");
    std::string ascii;
    for (size_t k = first; k < last; ++k) {
        const Read& r = chars[k];
        const std::string ch = printable(typed.substr(r.begin, r.end - r.begin));
        switch (r.c.kind) {
            case K::ascii:
                ascii += r.c.ascii;
                break;
            case K::blank:
                return refuse("'" + shown +
                              "' has a space inside: type the number without spaces or thousands separators");
            case K::invisible:
                return refuse("'" + shown + "' has an invisible character (" + code_point_name(r.cp) +
                              ") inside: type the number again");
            case K::grouping:
                return refuse("'" + shown + "' has a thousands separator ('" + ch +
                              "'): type the number without it, with a point for decimals");
            case K::other:
                if (r.cp < 0) return refuse("'" + shown + "' is not valid text: type the number again");
                if (r.cp < 0x80) return refuse("'" + shown + "' is not a number");
                return refuse("'" + shown + "' is not a number: '" + ch + "' (" + code_point_name(r.cp) +
                              ") is not a digit, sign or decimal separator");
        }
    }
    return number_parse_ascii(ascii, shown);
}

bool is_missing_token(std::string_view s) {
    s = trim_blanks(s);
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
            const std::string t = ascii_lower(trim_blanks(v.text));
            if (t == "1" || t == "true" || t == "yes" || t == "y") return 1.0;
            if (t == "0" || t == "false" || t == "no" || t == "n") return 0.0;
            return bad("not_boolean", "'" + printable(v.text) + "' is not yes/no");
        }
        case FieldType::category: {
            std::string t;
            if (v.kind == RawValue::Kind::text) t = std::string(trim_blanks(v.text));
            else if (v.kind == RawValue::Kind::number) t = fmt(v.number);
            else t = v.boolean ? "true" : "false";
            int l = f.find_level(t);
            for (size_t i = 0; l < 0 && i < f.levels.size(); ++i)
                if (ascii_lower(f.levels[i].label) == ascii_lower(t)) l = static_cast<int>(i);
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
    // A file's columns are mostly the schema's fields in its order: the field after the last one
    // found is tried first (names are unique in a schema), else every field is searched.
    size_t next = 0;
    for (const RawEntry& e : record) {
        const int i = next < schema.fields.size() && schema.fields[next].name == e.field ? static_cast<int>(next)
                                                                                         : schema.find_field(e.field);
        if (i >= 0) next = static_cast<size_t>(i) + 1;
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
        std::string name = std::string(trim_blanks(h)), unit;
        if (auto open = name.find('['); open != std::string::npos && !name.empty() && name.back() == ']') {
            unit = std::string(trim_blanks(std::string_view(name).substr(open + 1, name.size() - open - 2)));
            name = std::string(trim_blanks(std::string_view(name).substr(0, open)));
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
    r.reserve(std::min(cells.size(), binding.field.size()));
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
