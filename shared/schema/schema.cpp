// shared/schema/schema.cpp — see schema.h.
//
// Index of this file
//   [SECTION] Small helpers
//   [SECTION] Field parsing
//   [SECTION] Outputs parsing
//   [SECTION] Image input parsing
//   [SECTION] Schema parsing
//   [SECTION] Serialisation
#include "schema/schema.h"

#include "base/text.h"
#include "conformal/conformal.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Small helpers
//-----------------------------------------------------------------------------
const char* field_type_name(FieldType t) {
    switch (t) {
        case FieldType::number:
            return "number";
        case FieldType::integer:
            return "integer";
        case FieldType::boolean:
            return "boolean";
        case FieldType::category:
            return "category";
    }
    return "?";
}

std::string unit_display(std::string_view u) {
    static const std::pair<std::string_view, std::string_view> table[] = {{"1", ""},
                                                                          {"{#}", ""},
                                                                          {"{score}", "points"},
                                                                          {"a", "years"},
                                                                          {"mo", "months"},
                                                                          {"d", "days"},
                                                                          {"h", "hours"},
                                                                          {"s", "s"},
                                                                          {"mm[Hg]", "mmHg"},
                                                                          {"u[IU]/mL", "\u00b5IU/mL"},
                                                                          {"m[IU]/L", "mIU/L"},
                                                                          {"ug/d", "\u00b5g/day"},
                                                                          {"umol/L", "\u00b5mol/L"},
                                                                          {"kg/m2", "kg/m\u00b2"},
                                                                          {"10*3/uL", "\u00d710\u00b3/\u00b5L"},
                                                                          {"10*9/L", "\u00d710\u2079/L"},
                                                                          {"[pixel]", "px"},
                                                                          {"[pixel]2", "px\u00b2"},
                                                                          {"Cel", "\u00b0C"},
                                                                          {"%", "%"}};
    for (const auto& [code, text] : table)
        if (code == u) return std::string(text);
    return std::string(u);
}

const char* task_kind_name(TaskKind k) {
    switch (k) {
        case TaskKind::binary:
            return "binary";
        case TaskKind::ordinal:
            return "ordinal";
        case TaskKind::multiclass:
            return "multiclass";
        case TaskKind::regression:
            return "regression";
        case TaskKind::multilabel:
            return "multilabel";
    }
    return "?";
}

std::string outcome_text(const Outputs& o, double value) {
    if (!std::isfinite(value)) return "not available";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", o.decimals, value);
    const std::string unit = unit_display(o.unit);
    return unit.empty() ? std::string(buf) : std::string(buf) + " " + unit;
}

const UnitConversion* Field::find_unit(std::string_view u) const {
    for (const auto& a : alt_units)
        if (a.unit == u) return &a;
    return nullptr;
}

int Field::find_level(std::string_view v) const {
    for (size_t i = 0; i < levels.size(); ++i)
        if (levels[i].value == v) return static_cast<int>(i);
    return -1;
}

int Schema::find_field(std::string_view name) const {
    for (size_t i = 0; i < fields.size(); ++i)
        if (fields[i].name == name) return static_cast<int>(i);
    return -1;
}

int Schema::find_feature(std::string_view name) const {
    for (size_t i = 0; i < features.size(); ++i)
        if (features[i].name == name) return static_cast<int>(i);
    return -1;
}

namespace {

bool is_identifier(std::string_view s) {
    if (s.empty() || s.size() > 64) return false;
    auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
    if (!alpha(s[0])) return false;
    for (char c : s)
        if (!alpha(c) && !(c >= '0' && c <= '9') && c != '.') return false;
    return true;
}

bool is_model_name(std::string_view s) {
    if (s.empty() || s.size() > 64) return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    return true;
}

std::string at(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

// Collects problems so the schema author sees them at once: the first kMaxProblems, after which
// the lists of fields, levels, units, features and classes are read no further (a schema of
// 300,000 empty fields made 1.4 million problems: 4 s and 650 MB).
constexpr size_t kMaxProblems = 100;
struct Checker {
    std::vector<Problem> problems;
    bool full() const { return problems.size() >= kMaxProblems; }
    void add(std::string code, std::string message, std::string path) {
        if (!full()) problems.push_back(problem(std::move(code), std::move(message), std::move(path)));
    }
    template <class T>
    bool take(Result<T> r, T& out) {
        if (!r) {
            for (const Problem& p : r.problems())
                if (!full()) problems.push_back(p);
            return false;
        }
        out = std::move(r.value());
        return true;
    }
    template <class T>
    void take_opt(Result<std::optional<T>> r, T& out) {
        std::optional<T> v;
        if (take(std::move(r), v) && v) out = *v;
    }
    void keys(const Json& obj, std::initializer_list<std::string_view> allowed, const std::string& path) {
        if (auto p = json_check_keys(obj, allowed, path); p && !full()) problems.push_back(*p);
    }
};

//-----------------------------------------------------------------------------
// [SECTION] Field parsing
//-----------------------------------------------------------------------------
void parse_field(Checker& c, const Json& j, const std::string& path, Field& f) {
    if (!j.is_object()) return c.add("wrong_type", "each field must be an object", path);
    c.keys(j,
           {"name", "label", "description", "code", "type", "unit", "alt_units", "min", "max", "typical_min",
            "typical_max", "required", "missing", "levels", "encoding", "max_age_days"},
           path);
    if (c.take(json_string(j, "name", path), f.name) && !is_identifier(f.name))
        c.add("bad_name", "'" + f.name + "' is not an identifier (letters, digits, '_' or '.', at most 64)",
              path + ".name");
    c.take(json_string(j, "label", path), f.label);
    c.take_opt(json_opt_string(j, "description", path), f.description);
    c.take_opt(json_opt_string(j, "code", path), f.code);
    std::string type;
    if (c.take(json_string(j, "type", path), type)) {
        if (type == "number") f.type = FieldType::number;
        else if (type == "integer") f.type = FieldType::integer;
        else if (type == "boolean") f.type = FieldType::boolean;
        else if (type == "category") f.type = FieldType::category;
        else
            c.add("bad_value", "type must be number, integer, boolean or category, not '" + type + "'", path + ".type");
    }
    c.take_opt(json_opt_string(j, "unit", path), f.unit);
    if (f.numeric() && f.unit.empty())
        c.add("missing_key", "a numeric field needs its UCUM unit (use \"1\" for unitless)", path + ".unit");

    if (j.contains("alt_units")) {
        const Json& alts = j["alt_units"];
        if (!alts.is_array() || !f.numeric()) {
            c.add("wrong_type", "alt_units must be an array, and only numeric fields have units", path + ".alt_units");
        } else {
            std::set<std::string> units{f.unit};  // a set: a long list is checked in n log n, not n^2
            for (size_t i = 0; i < alts.size() && !c.full(); ++i) {
                const std::string p = at(path + ".alt_units", i);
                UnitConversion u;
                c.keys(alts[i], {"unit", "factor", "offset"}, p);
                c.take(json_string(alts[i], "unit", p), u.unit);
                c.take(json_number(alts[i], "factor", p), u.factor);
                c.take_opt(json_opt_number(alts[i], "offset", p), u.offset);
                if (u.factor == 0 || !std::isfinite(u.factor))
                    c.add("bad_value", "factor must be a non-zero number", p + ".factor");
                if (!units.insert(u.unit).second)
                    c.add("duplicate", "unit '" + u.unit + "' is listed twice", p + ".unit");
                f.alt_units.push_back(u);
            }
        }
    }
    c.take_opt(json_opt_number(j, "min", path), f.min);
    c.take_opt(json_opt_number(j, "max", path), f.max);
    c.take_opt(json_opt_number(j, "typical_min", path), f.typical_min);
    c.take_opt(json_opt_number(j, "typical_max", path), f.typical_max);
    if (f.min > f.max) c.add("bad_range", "min is above max", path + ".min");
    if (f.typical_min > f.typical_max) c.add("bad_range", "typical_min is above typical_max", path + ".typical_min");
    if (std::isfinite(f.typical_min) && (f.typical_min < f.min || f.typical_min > f.max))
        c.add("bad_range", "typical_min lies outside [min, max]", path + ".typical_min");
    if (std::isfinite(f.typical_max) && (f.typical_max < f.min || f.typical_max > f.max))
        c.add("bad_range", "typical_max lies outside [min, max]", path + ".typical_max");

    c.take_opt(json_opt_bool(j, "required", path), f.required);
    c.take_opt(json_opt_number(j, "max_age_days", path), f.max_age_days);
    if (!(f.max_age_days > 0))
        c.add("bad_value", "max_age_days must be a positive number of days", path + ".max_age_days");
    f.missing = f.required ? MissingPolicy::error : MissingPolicy::model_missing;
    std::optional<std::string> missing;
    if (c.take(json_opt_string(j, "missing", path), missing) && missing) {
        if (*missing == "error") f.missing = MissingPolicy::error;
        else if (*missing == "model_missing") f.missing = MissingPolicy::model_missing;
        else c.add("bad_value", "missing must be error or model_missing, not '" + *missing + "'", path + ".missing");
        if (f.required && f.missing == MissingPolicy::model_missing)
            c.add("bad_value", "a required field cannot pass missing values to the model", path + ".missing");
    }

    if (f.type == FieldType::category) {
        if (!j.contains("levels") || !j["levels"].is_array() || j["levels"].empty()) {
            c.add("missing_key", "a category needs a non-empty array of levels", path + ".levels");
        } else {
            const Json& lv = j["levels"];
            std::set<std::string> values;  // a set: a long list is checked in n log n, not n^2
            for (size_t i = 0; i < lv.size() && !c.full(); ++i) {
                const std::string p = at(path + ".levels", i);
                Level l;
                c.keys(lv[i], {"value", "label"}, p);
                c.take(json_string(lv[i], "value", p), l.value);
                c.take(json_string(lv[i], "label", p), l.label);
                if (!values.insert(l.value).second) c.add("duplicate", "level '" + l.value + "' is listed twice", p);
                f.levels.push_back(l);
            }
        }
        std::optional<std::string> enc;
        if (c.take(json_opt_string(j, "encoding", path), enc) && enc) {
            if (*enc == "one_hot") f.encoding = Encoding::one_hot;
            else if (*enc == "ordinal") f.encoding = Encoding::ordinal;
            else c.add("bad_value", "encoding must be one_hot or ordinal, not '" + *enc + "'", path + ".encoding");
        }
    } else if (j.contains("levels") || j.contains("encoding")) {
        c.add("bad_value", "only category fields have levels and an encoding", path);
    }
}

//-----------------------------------------------------------------------------
// [SECTION] Outputs parsing
//-----------------------------------------------------------------------------
// A regression task's outcome: its label, unit, plausible range and decimals, and its intervals.
void parse_regression_outputs(Checker& c, const Json& j, Outputs& o) {
    const std::string path = "outputs";
    c.keys(j, {"kind", "column", "label", "unit", "min", "max", "decimals", "conformal"}, path);
    c.take(json_string(j, "label", path), o.label);
    c.take(json_string(j, "unit", path), o.unit);
    if (o.unit.empty())
        c.add("missing_key", "the outcome needs its UCUM unit (use \"1\" for unitless)", path + ".unit");
    c.take(json_number(j, "min", path), o.min);
    c.take(json_number(j, "max", path), o.max);
    if (!(std::isfinite(o.min) && std::isfinite(o.max) && o.min < o.max))
        c.add("bad_range", "min and max must be finite numbers with min < max (the plausible range of the outcome)",
              path + ".min");
    int64_t decimals = o.decimals;
    if (j.contains("decimals")) {
        auto d = json_integer(j, "decimals", path);
        if (!d || *d < 0 || *d > 6)
            c.add("bad_range", "decimals must be a whole number from 0 to 6", path + ".decimals");
        else decimals = *d;
    }
    o.decimals = static_cast<int>(decimals);
    if (j.contains("conformal")) c.take(conformal_from_json(j["conformal"], 0, path + ".conformal"), o.conformal);
}

// Each finding's own conformal calibrator ("conformal" in the finding: a binary task's, with the
// thresholds [absent, present] per level), all fitted on the same calibration images: every
// finding carries one or none does, with the same levels and rows. Joined into the outputs'
// calibrator, two thresholds per finding (conformal/conformal.h, conformal_finding).
void parse_findings_conformal(Checker& c, const Json& f, Outputs& o) {
    size_t given = 0;
    for (size_t i = 0; i < f.size(); ++i) given += f[i].is_object() && f[i].contains("conformal");
    if (given == 0) return;
    const std::string path = "outputs.findings";
    Conformal joined;
    for (size_t i = 0; i < f.size(); ++i) {
        const std::string p = at(path, i) + ".conformal";
        if (!f[i].is_object()) return;
        if (!f[i].contains("conformal"))
            return c.add("missing_key",
                         "every finding carries its conformal calibrator, fitted on the same images, or none does", p);
        Conformal one;
        if (!c.take(conformal_from_json(f[i]["conformal"], 2, p), one)) return;
        if (i == 0) {
            joined.rows = one.rows;
            joined.source = one.source;
            for (const ConformalLevel& l : one.levels) joined.levels.push_back({l.level, {}});
        } else if (one.rows != joined.rows) {
            return c.add("bad_value",
                         "rows must be the same for every finding (" + std::to_string(joined.rows) +
                             "): the findings are calibrated on the same images",
                         p + ".rows");
        } else if (one.levels.size() != joined.levels.size()) {
            return c.add("bad_value", "every finding's calibrator must have the same levels as the first finding's",
                         p + ".levels");
        }
        for (size_t l = 0; l < one.levels.size(); ++l) {
            if (one.levels[l].level != joined.levels[l].level)
                return c.add("bad_value", "every finding's calibrator must have the same levels as the first finding's",
                             p + ".levels[" + std::to_string(l) + "].level");
            joined.levels[l].threshold.insert(joined.levels[l].threshold.end(), one.levels[l].threshold.begin(),
                                              one.levels[l].threshold.end());
        }
    }
    o.conformal = std::move(joined);
}

// A multilabel task's findings: each a name (its column in labelled files), a label and its own
// threshold. The names may not be the columns a labels file already gives (image, a box, a point).
void parse_multilabel_outputs(Checker& c, const Json& j, Outputs& o) {
    const std::string path = "outputs";
    c.keys(j, {"kind", "findings"}, path);
    const Json& f = j.contains("findings") ? j["findings"] : Json();
    if (!f.is_array() || f.size() < 2 || f.size() > kMaxFindings)
        return c.add("missing_key",
                     "findings must list 2 to " + std::to_string(kMaxFindings) +
                         " findings, each {name, label, threshold} (one finding alone is a binary task)",
                     path + ".findings");
    std::set<std::string> seen;
    for (size_t i = 0; i < f.size(); ++i) {
        const std::string p = at(path + ".findings", i);
        if (!f[i].is_object()) {
            c.add("wrong_type", "each finding is an object {name, label, threshold}", p);
            continue;
        }
        c.keys(f[i], {"name", "label", "threshold", "conformal"}, p);
        OutputClass k;
        double threshold = 0.5;
        if (c.take(json_string(f[i], "name", p), k.name)) {
            static const std::set<std::string> taken = {"image", "x0", "y0", "x1", "y1", "x", "y"};
            if (!is_identifier(k.name))
                c.add("bad_name",
                      "'" + printable(k.name) +
                          "' is not an identifier (letters, digits, '_' or '.', at most 64): it names the "
                          "finding's column in labelled files",
                      p + ".name");
            else if (taken.count(k.name))
                c.add("bad_name", "'" + k.name + "' is a column a labels file already has; name the finding otherwise",
                      p + ".name");
            else if (k.name == "absent")
                c.add("bad_name",
                      "'absent' names the other side of every finding in its figures; name the finding otherwise",
                      p + ".name");
            else if (!seen.insert(k.name).second)
                c.add("duplicate", "finding '" + k.name + "' is listed twice", p + ".name");
        }
        c.take(json_string(f[i], "label", p), k.label);
        c.take_opt(json_opt_number(f[i], "threshold", p), threshold);
        if (!(threshold > 0 && threshold < 1))
            c.add("bad_range", "a finding's threshold must lie strictly between 0 and 1", p + ".threshold");
        o.classes.push_back(std::move(k));
        o.thresholds.push_back(threshold);
    }
    parse_findings_conformal(c, f, o);
}

void parse_outputs(Checker& c, const Json& j, Outputs& o) {
    const std::string path = "outputs";
    if (!j.is_object()) return c.add("missing_key", "outputs must be an object", path);
    std::string kind;
    if (c.take(json_string(j, "kind", path), kind)) {
        if (kind == "binary") o.kind = TaskKind::binary;
        else if (kind == "ordinal") o.kind = TaskKind::ordinal;
        else if (kind == "multiclass") o.kind = TaskKind::multiclass;
        else if (kind == "regression") o.kind = TaskKind::regression;
        else if (kind == "multilabel") o.kind = TaskKind::multilabel;
        else
            c.add("bad_value",
                  "kind must be binary, ordinal, multiclass, regression or multilabel, not '" + printable(kind) + "'",
                  path + ".kind");
    }
    if (o.multilabel()) {
        if (j.contains("column"))
            c.add("bad_value", "a multilabel task has no single label column: each finding's name is its column",
                  path + ".column");
        if (j.contains("conformal"))
            c.add("bad_value", "a multilabel task's conformal calibrators are each finding's: put one in every finding",
                  path + ".conformal");
        return parse_multilabel_outputs(c, j, o);
    }
    c.take(json_string(j, "column", path), o.column);
    if (o.regression()) return parse_regression_outputs(c, j, o);
    c.keys(j, {"kind", "column", "classes", "positive", "threshold", "conformal"}, path);
    if (!j.contains("classes") || !j["classes"].is_array() || j["classes"].size() < 2)
        return c.add("missing_key", "classes must list at least two classes", path + ".classes");
    std::set<std::string> seen;
    for (size_t i = 0; i < j["classes"].size() && !c.full(); ++i) {
        const std::string p = at(path + ".classes", i);
        OutputClass k;
        c.keys(j["classes"][i], {"name", "label"}, p);
        c.take(json_string(j["classes"][i], "name", p), k.name);
        c.take(json_string(j["classes"][i], "label", p), k.label);
        if (!seen.insert(k.name).second) c.add("duplicate", "class '" + k.name + "' is listed twice", p);
        o.classes.push_back(k);
    }
    if (o.kind == TaskKind::binary) {
        if (o.classes.size() != 2) c.add("bad_value", "a binary task has exactly two classes", path + ".classes");
        std::string pos;
        if (c.take(json_string(j, "positive", path), pos)) {
            o.positive = -1;
            for (size_t i = 0; i < o.classes.size(); ++i)
                if (o.classes[i].name == pos) o.positive = static_cast<int>(i);
            if (o.positive != 1)
                c.add("bad_value", "positive must name the second class (the model's class 1), not '" + pos + "'",
                      path + ".positive");
        }
        c.take_opt(json_opt_number(j, "threshold", path), o.threshold);
        if (!(o.threshold > 0 && o.threshold < 1))
            c.add("bad_range", "threshold must lie strictly between 0 and 1", path + ".threshold");
    } else if (j.contains("positive") || j.contains("threshold")) {
        c.add("bad_value", "positive and threshold belong to binary tasks only", path);
    }
    if (j.contains("conformal"))
        c.take(conformal_from_json(j["conformal"], o.classes.size(), path + ".conformal"), o.conformal);
}

//-----------------------------------------------------------------------------
// [SECTION] Image input parsing
//-----------------------------------------------------------------------------
void parse_image(Checker& c, const Json& j, ImageInput& im) {
    const std::string path = "image";
    if (!j.is_object()) return c.add("wrong_type", "image must be an object", path);
    c.keys(j, {"label", "modalities", "body_parts", "views", "formats", "tensor", "preprocess", "training"}, path);
    c.take_opt(json_opt_string(j, "label", path), im.label);
    // DICOM code strings (CS: at most 16 characters), compared without padding or case.
    const auto codes = [&](const char* key, const char* example, std::vector<std::string>& out) {
        if (!j.contains(key)) return;
        const Json& m = j[key];
        const std::string kp = path + "." + key;
        if (!m.is_array())
            return c.add("wrong_type", std::string(key) + " must be an array of DICOM values (" + example + ")", kp);
        for (size_t i = 0; i < m.size() && !c.full(); ++i) {
            if (m[i].is_string() && !m[i].get<std::string>().empty() && m[i].get<std::string>().size() <= 16 &&
                printable(m[i].get<std::string>()) == m[i].get<std::string>())
                out.push_back(m[i].get<std::string>());
            else c.add("bad_value", std::string("expected a DICOM value such as ") + example, at(kp, i));
        }
    };
    codes("modalities", "\"DX\"", im.modalities);
    codes("body_parts", "\"CHEST\"", im.body_parts);
    codes("views", "\"PA\"", im.views);
    if (j.contains("training")) {
        const std::string tp = path + ".training";
        const Json& t = j["training"];
        if (!t.is_object()) {
            c.add("wrong_type", "training must give the training images' tensor statistics: images, mean, std", tp);
        } else {
            c.keys(t, {"images", "mean", "std"}, tp);
            ImageTraining tr;
            if (c.take(json_integer(t, "images", tp), tr.images) && tr.images < 2)
                c.add("bad_range", "images must be the number of training images (at least 2)", tp + ".images");
            for (const char* key : {"mean", "std"}) {
                const std::string sp = tp + "." + key;
                TrainingStatistic& st = std::string(key) == "mean" ? tr.mean : tr.std;
                if (!t.contains(key) || !t[key].is_object()) {
                    c.add("missing_key", std::string(key) + " must be {min, max, mean, sd} over the training images",
                          sp);
                    continue;
                }
                c.keys(t[key], {"min", "max", "mean", "sd"}, sp);
                c.take(json_number(t[key], "min", sp), st.min);
                c.take(json_number(t[key], "max", sp), st.max);
                c.take(json_number(t[key], "mean", sp), st.mean);
                c.take(json_number(t[key], "sd", sp), st.sd);
                if (!(st.min <= st.mean && st.mean <= st.max) || !(st.sd >= 0) || !std::isfinite(st.max - st.min))
                    c.add("bad_range", "needs min <= mean <= max and sd >= 0", sp);
            }
            im.training = tr;
        }
    }
    im.formats.clear();
    if (!j.contains("formats") || !j["formats"].is_array() || j["formats"].empty()) {
        c.add("missing_key", "formats must list at least one of dicom, png, jpeg", path + ".formats");
    } else {
        for (size_t i = 0; i < j["formats"].size() && !c.full(); ++i) {
            const Json& f = j["formats"][i];
            const std::string name = f.is_string() ? f.get<std::string>() : "";
            if (name == "dicom") im.formats.push_back(ImageFormat::dicom);
            else if (name == "png") im.formats.push_back(ImageFormat::png);
            else if (name == "jpeg") im.formats.push_back(ImageFormat::jpeg);
            else c.add("bad_value", "a format is dicom, png or jpeg", at(path + ".formats", i));
        }
    }
    const std::string tp = path + ".tensor";
    if (!j.contains("tensor") || !j["tensor"].is_object()) {
        c.add("missing_key", "tensor must give the model's input: name, layout NCHW, channels, height, width", tp);
    } else {
        const Json& t = j["tensor"];
        c.keys(t, {"name", "layout", "channels", "height", "width"}, tp);
        c.take(json_string(t, "name", tp), im.tensor);
        std::string layout;
        if (c.take(json_string(t, "layout", tp), layout) && layout != "NCHW")
            c.add("bad_value", "layout must be NCHW (float32, one image), not '" + layout + "'", tp + ".layout");
        int64_t ch = 0, h = 0, w = 0;
        if (c.take(json_integer(t, "channels", tp), ch) && ch != 1 && ch != 3)
            c.add("bad_value", "channels must be 1 (grey) or 3 (RGB)", tp + ".channels");
        if (c.take(json_integer(t, "height", tp), h) && (h < 8 || h > 2048))
            c.add("bad_range", "height must lie in [8, 2048] pixels", tp + ".height");
        if (c.take(json_integer(t, "width", tp), w) && (w < 8 || w > 2048))
            c.add("bad_range", "width must lie in [8, 2048] pixels", tp + ".width");
        // Only a value that passed its check is kept: the preprocessing below sizes its arrays from it.
        im.channels = ch == 1 || ch == 3 ? static_cast<int>(ch) : 0;
        im.height = h >= 8 && h <= 2048 ? static_cast<int>(h) : 0;
        im.width = w >= 8 && w <= 2048 ? static_cast<int>(w) : 0;
    }
    const std::string pp = path + ".preprocess";
    if (!j.contains("preprocess") || !j["preprocess"].is_object())
        return c.add("missing_key", "preprocess must give intensity, resize, mean and std", pp);
    const Json& p = j["preprocess"];
    c.keys(p, {"intensity", "resize", "mean", "std"}, pp);
    const std::string ip = pp + ".intensity";
    if (!p.contains("intensity") || !p["intensity"].is_object()) {
        c.add("missing_key", "intensity must be {kind: window | range | min_max, ...}", ip);
    } else {
        const Json& in = p["intensity"];
        std::string kind;
        if (c.take(json_string(in, "kind", ip), kind)) {
            if (kind == "window") {
                im.intensity = IntensityKind::window;
                c.keys(in, {"kind", "center", "width", "from_file"}, ip);
                c.take(json_number(in, "center", ip), im.window_center);
                if (c.take(json_number(in, "width", ip), im.window_width) && !(im.window_width > 0))
                    c.add("bad_range", "the window's width must be above 0", ip + ".width");
                c.take_opt(json_opt_bool(in, "from_file", ip), im.window_from_file);
            } else if (kind == "range") {
                im.intensity = IntensityKind::range;
                c.keys(in, {"kind", "min", "max"}, ip);
                c.take(json_number(in, "min", ip), im.range_min);
                if (c.take(json_number(in, "max", ip), im.range_max) && !(im.range_max > im.range_min))
                    c.add("bad_range", "max must be above min", ip + ".max");
            } else if (kind == "min_max") {
                im.intensity = IntensityKind::min_max;
                c.keys(in, {"kind"}, ip);
            } else {
                c.add("bad_value", "kind must be window, range or min_max, not '" + kind + "'", ip + ".kind");
            }
        }
    }
    std::string resize;
    if (c.take(json_string(p, "resize", pp), resize)) {
        if (resize == "bilinear") im.filter = ResizeFilter::bilinear;
        else if (resize == "area") im.filter = ResizeFilter::area;
        else c.add("bad_value", "resize must be bilinear or area, not '" + resize + "'", pp + ".resize");
    }
    for (const char* key : {"mean", "std"}) {
        std::vector<double>& v = std::string(key) == "mean" ? im.mean : im.std;
        v.clear();
        const bool numbers = p.contains(key) && json_number_array(p[key], v);
        // A channel count already refused (0 here) gives no count to hold the numbers to.
        if (!numbers || (im.channels != 0 && static_cast<int>(v.size()) != im.channels)) {
            c.add("bad_value", std::string(key) + " must hold one number per channel", pp + "." + key);
            v.assign(static_cast<size_t>(std::max(im.channels, 1)), std::string(key) == "mean" ? 0.0 : 1.0);
        }
        for (const double x : v)
            if (!std::isfinite(x) || (std::string(key) == "std" && !(x > 0)))
                c.add("bad_value",
                      std::string(key) +
                          (std::string(key) == "std" ? " values must be above 0" : " values must be numbers"),
                      pp + "." + key);
    }
}

Json image_to_json(const ImageInput& im) {
    Json formats = Json::array();
    for (const ImageFormat f : im.formats) formats.push_back(image_format_name(f));
    Json intensity;
    if (im.intensity == IntensityKind::window)
        intensity = {{"kind", "window"},
                     {"center", im.window_center},
                     {"width", im.window_width},
                     {"from_file", im.window_from_file}};
    else if (im.intensity == IntensityKind::range)
        intensity = {{"kind", "range"}, {"min", im.range_min}, {"max", im.range_max}};
    else intensity = {{"kind", "min_max"}};
    Json j = {{"label", im.label},
              {"modalities", im.modalities},
              {"body_parts", im.body_parts},
              {"views", im.views},
              {"formats", formats},
              {"tensor",
               {{"name", im.tensor},
                {"layout", "NCHW"},
                {"channels", im.channels},
                {"height", im.height},
                {"width", im.width}}},
              {"preprocess",
               {{"intensity", intensity},
                {"resize", im.filter == ResizeFilter::bilinear ? "bilinear" : "area"},
                {"mean", im.mean},
                {"std", im.std}}}};
    if (im.training) {
        const auto stat = [](const TrainingStatistic& t) {
            return Json{{"min", t.min}, {"max", t.max}, {"mean", t.mean}, {"sd", t.sd}};
        };
        j["training"] = {
            {"images", im.training->images}, {"mean", stat(im.training->mean)}, {"std", stat(im.training->std)}};
    }
    return j;
}
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] Schema parsing
//-----------------------------------------------------------------------------
std::string problem_words(const Schema& s, const Problem& p) {
    std::string t;
    if (p.row > 0) t = "Row " + std::to_string(p.row);
    if (!p.patient.empty()) t += (t.empty() ? "Patient " : " (patient ") + p.patient + (t.empty() ? "" : ")");
    if (const int f = s.find_field(p.field); f >= 0)
        t += (t.empty() ? "" : ", ") + s.fields[static_cast<size_t>(f)].label;
    else if (!p.field.empty()) t += (t.empty() ? "" : ", ") + p.field;
    return t + (t.empty() ? "" : ": ") + p.message;
}

Json problems_json(const Schema& s, const std::vector<Problem>& ps) {
    Json a = problems_json(ps);
    for (size_t i = 0; i < ps.size(); ++i) {
        a[i]["text"] = problem_words(s, ps[i]);
        if (const int f = s.find_field(ps[i].field); f >= 0) a[i]["label"] = s.fields[static_cast<size_t>(f)].label;
    }
    return a;
}

std::vector<FeatureColumn> schema_default_features(const std::vector<Field>& fields) {
    std::vector<FeatureColumn> cols;
    for (size_t i = 0; i < fields.size(); ++i) {
        const Field& f = fields[i];
        if (f.type == FieldType::category && f.encoding == Encoding::one_hot) {
            for (size_t l = 0; l < f.levels.size(); ++l)
                cols.push_back({f.name + "=" + f.levels[l].value, static_cast<int>(i), static_cast<int>(l)});
        } else {
            cols.push_back({f.name, static_cast<int>(i), -1});
        }
    }
    return cols;
}

Result<Schema> schema_from_json(const Json& j) {
    Checker c;
    Schema s;
    if (!j.is_object()) return problem("wrong_type", "a schema is a JSON object");
    c.keys(j,
           {"task", "title", "description", "fields", "features", "outputs", "privacy", "image", "minimum_information"},
           "");
    if (c.take(json_string(j, "task", ""), s.task) && !is_model_name(s.task))
        c.add("bad_name", "task must be 1-64 of a-z, 0-9 and '-', not '" + s.task + "'", "task");
    c.take(json_string(j, "title", ""), s.title);
    c.take_opt(json_opt_string(j, "description", ""), s.description);

    if (j.contains("image")) {
        s.image.emplace();
        parse_image(c, j["image"], *s.image);
    }
    // An imaging task may take the image alone; any other takes at least one field.
    if (s.image && !j.contains("fields")) {
    } else if (!j.contains("fields") || !j["fields"].is_array() || (j["fields"].empty() && !s.image)) {
        c.add("missing_key", "fields must be a non-empty array", "fields");
    } else {
        std::set<std::string> names;
        for (size_t i = 0; i < j["fields"].size() && !c.full(); ++i) {
            Field f;
            const std::string p = at("fields", i);
            parse_field(c, j["fields"][i], p, f);
            if (!f.name.empty() && !names.insert(f.name).second)
                c.add("duplicate", "field '" + f.name + "' is defined twice", p + ".name");
            s.fields.push_back(std::move(f));
        }
    }

    const auto all = schema_default_features(s.fields);
    if (j.contains("features")) {
        const Json& fs = j["features"];
        if (!fs.is_array() || fs.empty()) {
            c.add("wrong_type", "features must be a non-empty array of column names", "features");
        } else {
            std::set<std::string> seen;
            std::map<std::string, size_t> column;  // name -> its column in `all` (the last of a name)
            for (size_t i = 0; i < all.size(); ++i) column[all[i].name] = i;
            for (size_t i = 0; i < fs.size() && !c.full(); ++i) {
                const std::string p = at("features", i);
                if (!fs[i].is_string()) {
                    c.add("wrong_type", "expected a column name", p);
                    continue;
                }
                const std::string name = fs[i].get<std::string>();
                const auto found = column.find(name);
                const FeatureColumn* col = found == column.end() ? nullptr : &all[found->second];
                if (!col)
                    c.add("unknown_feature", "'" + name + "' is not a field (or field=level of a one-hot category)", p);
                else if (!seen.insert(name).second) c.add("duplicate", "column '" + name + "' is listed twice", p);
                else s.features.push_back(*col);
            }
        }
    } else if (!s.image || !s.fields.empty()) {
        s.features = all;
    }

    parse_outputs(c, j.contains("outputs") ? j["outputs"] : Json(), s.outputs);
    if (s.outputs.multilabel() && !s.image)
        c.add("not_supported", "a multilabel task reads an image: give the schema's image input", "outputs.kind");
    if (s.find_field(s.outputs.column) >= 0)
        c.add("bad_value", "the label column '" + s.outputs.column + "' is also an input field", "outputs.column");

    if (j.contains("privacy")) {
        const Json& p = j["privacy"];
        c.keys(p, {"k_min", "epsilon", "epsilon_per_patient"}, "privacy");
        // Checked as given, then kept: k_min 2^32 + 10 is not 10.
        int64_t k = s.privacy.k_min;
        if (p.contains("k_min")) c.take(json_integer(p, "k_min", "privacy"), k);
        if (k >= 10 && k <= 1000000) s.privacy.k_min = static_cast<int>(k);
        if (p.contains("epsilon") && p.contains("epsilon_per_patient"))
            c.add("bad_schema",
                  "give epsilon_per_patient (each patient in one histogram) or epsilon (in every one), not both",
                  "privacy");
        if (p.contains("epsilon")) s.privacy.counting = Privacy::Counting::every_histogram;
        c.take_opt(json_opt_number(p, "epsilon", "privacy"), s.privacy.epsilon);
        c.take_opt(json_opt_number(p, "epsilon_per_patient", "privacy"), s.privacy.epsilon);
        if (k < 10 || k > 1000000)
            c.add("bad_range", "k_min must be at least 10 (a report summarises at least 10 predictions)",
                  "privacy.k_min");
        if (!(s.privacy.epsilon > 0 && s.privacy.epsilon <= 10))
            c.add("bad_range", "epsilon must lie in (0, 10]", "privacy.epsilon");
    }
    if (j.contains("minimum_information")) {
        const Json& m = j["minimum_information"];
        const std::string path = "minimum_information";
        MinimumInformation& mi = s.minimum_information.emplace();
        c.keys(m, {"fields", "weights", "max_missing_share", "basis"}, path);
        std::map<std::string, int> field_at;  // name -> its field (the first of a name), looked up per entry
        for (size_t f = 0; f < s.fields.size(); ++f) field_at.emplace(s.fields[f].name, static_cast<int>(f));
        const auto find_field = [&](const std::string& name) {
            const auto it = field_at.find(name);
            return it == field_at.end() ? -1 : it->second;
        };
        if (m.is_object() && m.contains("weights")) {
            const Json& w = m["weights"];
            if (!w.is_object()) c.add("wrong_type", "expected {\"field name\": weight}", path + ".weights");
            else {
                mi.weights.assign(s.fields.size(), 0.0);
                double total = 0;
                for (auto it = w.begin(); it != w.end() && !c.full(); ++it) {
                    const int f = find_field(it.key());
                    const std::string p = path + ".weights." + it.key();
                    if (f < 0) c.add("unknown_field", "'" + it.key() + "' is not one of the schema's fields", p);
                    else if (!it->is_number() || !(it->get<double>() >= 0) || !std::isfinite(it->get<double>()))
                        c.add("bad_range", "a weight is a number from 0 up", p);
                    else total += mi.weights[static_cast<size_t>(f)] = it->get<double>();
                }
                if (!(total > 0)) c.add("bad_range", "the weights must not all be 0", path + ".weights");
                else
                    for (double& x : mi.weights) x /= total;
            }
        }
        if (m.is_object() && m.contains("fields")) {
            if (!m["fields"].is_array()) c.add("wrong_type", "expected an array of field names", path + ".fields");
            else {
                std::set<std::string> listed;
                for (size_t i = 0; i < m["fields"].size() && !c.full(); ++i) {
                    const Json& f = m["fields"][i];
                    const std::string p = at(path + ".fields", i);
                    if (!f.is_string() || find_field(f.get<std::string>()) < 0)
                        c.add("unknown_field", "expected the name of one of the schema's fields", p);
                    else if (!listed.insert(f.get<std::string>()).second)
                        c.add("duplicate", "'" + f.get<std::string>() + "' is listed twice", p);
                    else mi.fields.push_back(f.get<std::string>());
                }
            }
        }
        if (m.is_object()) {
            c.take_opt(json_opt_number(m, "max_missing_share", path), mi.max_missing_share);
            c.take_opt(json_opt_string(m, "basis", path), mi.basis);
        }
        if (!(mi.max_missing_share > 0 && mi.max_missing_share <= 1))
            c.add("bad_range", "max_missing_share must lie in (0, 1] (1: no limit)", path + ".max_missing_share");
    }
    if (c.full())
        c.problems.push_back(problem("too_many_problems", "the schema has " + std::to_string(kMaxProblems) +
                                                              " problems or more; the first " +
                                                              std::to_string(kMaxProblems) + " are listed"));
    if (!c.problems.empty()) return c.problems;
    return s;
}

Result<Schema> schema_parse(std::string_view json_text) {
    auto j = json_parse(json_text, "schema", JsonLimits{1u << 20, 16});
    if (!j) return j.problems();
    return schema_from_json(*j);
}

//-----------------------------------------------------------------------------
// [SECTION] Serialisation
//-----------------------------------------------------------------------------
namespace {
Json outputs_to_json(const Outputs& out) {
    Json o;
    o["kind"] = task_kind_name(out.kind);
    if (out.multilabel()) {
        o["findings"] = Json::array();
        for (size_t k = 0; k < out.classes.size(); ++k)
            o["findings"].push_back(
                {{"name", out.classes[k].name}, {"label", out.classes[k].label}, {"threshold", out.thresholds[k]}});
        if (!out.conformal.empty())
            for (size_t k = 0; k < out.classes.size(); ++k)
                o["findings"][k]["conformal"] = conformal_to_json(conformal_finding(out.conformal, k));
        return o;
    }
    o["column"] = out.column;
    if (out.regression()) {
        o["label"] = out.label;
        o["unit"] = out.unit;
        o["min"] = out.min;
        o["max"] = out.max;
        o["decimals"] = out.decimals;
    } else {
        o["classes"] = Json::array();
        for (const auto& k : out.classes) o["classes"].push_back({{"name", k.name}, {"label", k.label}});
    }
    if (out.kind == TaskKind::binary) {
        o["positive"] = out.classes.at(static_cast<size_t>(out.positive)).name;
        o["threshold"] = out.threshold;
    }
    if (!out.conformal.empty()) o["conformal"] = conformal_to_json(out.conformal);
    return o;
}
}  // namespace

Json schema_to_json(const Schema& s) {
    Json j;
    j["task"] = s.task;
    j["title"] = s.title;
    if (!s.description.empty()) j["description"] = s.description;
    Json fields = Json::array();
    for (const Field& f : s.fields) {
        Json x;
        x["name"] = f.name;
        x["label"] = f.label;
        if (!f.description.empty()) x["description"] = f.description;
        if (!f.code.empty()) x["code"] = f.code;
        x["type"] = field_type_name(f.type);
        if (!f.unit.empty()) x["unit"] = f.unit;
        if (!f.alt_units.empty()) {
            x["alt_units"] = Json::array();
            for (const auto& u : f.alt_units)
                x["alt_units"].push_back({{"unit", u.unit}, {"factor", u.factor}, {"offset", u.offset}});
        }
        if (std::isfinite(f.min)) x["min"] = f.min;
        if (std::isfinite(f.max)) x["max"] = f.max;
        if (std::isfinite(f.typical_min)) x["typical_min"] = f.typical_min;
        if (std::isfinite(f.typical_max)) x["typical_max"] = f.typical_max;
        x["required"] = f.required;
        if (f.max_age_days != kDefaultMaxAgeDays) x["max_age_days"] = f.max_age_days;
        x["missing"] = f.missing == MissingPolicy::error ? "error" : "model_missing";
        if (f.type == FieldType::category) {
            x["levels"] = Json::array();
            for (const auto& l : f.levels) x["levels"].push_back({{"value", l.value}, {"label", l.label}});
            x["encoding"] = f.encoding == Encoding::one_hot ? "one_hot" : "ordinal";
        }
        fields.push_back(std::move(x));
    }
    j["fields"] = std::move(fields);
    if (!s.features.empty()) {  // an image-only task has none
        j["features"] = Json::array();
        for (const auto& c : s.features) j["features"].push_back(c.name);
    }
    j["outputs"] = outputs_to_json(s.outputs);
    if (s.image) j["image"] = image_to_json(*s.image);
    if (const auto& mi = s.minimum_information) {
        j["minimum_information"] = {{"fields", mi->fields}, {"max_missing_share", mi->max_missing_share}};
        if (mi->weights.size() == s.fields.size()) {
            Json w = Json::object();
            for (size_t f = 0; f < s.fields.size(); ++f) w[s.fields[f].name] = mi->weights[f];
            j["minimum_information"]["weights"] = w;
        }
        if (!mi->basis.empty()) j["minimum_information"]["basis"] = mi->basis;
    }
    j["privacy"] = {{"k_min", s.privacy.k_min},
                    {s.privacy.counting == Privacy::Counting::one_histogram ? "epsilon_per_patient" : "epsilon",
                     s.privacy.epsilon}};
    return j;
}

}  // namespace ldx
