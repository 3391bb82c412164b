// shared/metrics/validation.cpp — see validation.h.
//
// Index of this file
//   [SECTION] Labels of a file of patients
//   [SECTION] Scoring a labelled file
//   [SECTION] The validation report
//   [SECTION] One validation run
//   [SECTION] Gates
#include "metrics/validation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "base/text.h"
#include "base/version.h"
#include "bundle/crypto.h"
#include "conformal/conformal.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Labels of a file of patients
//-----------------------------------------------------------------------------
namespace {
std::string trimmed(std::string_view s) { return std::string(trim_blanks(s)); }

std::string class_list(const Schema& s) {
    std::string list;
    for (const auto& c : s.outputs.classes)
        list += (list.empty() ? "" : ", ") + c.name + (c.label != c.name ? " (" + c.label + ")" : "");
    return list;
}
}  // namespace

RowLabels validation_labels(const Schema& s, const PatientFile& file) {
    RowLabels out;
    out.label.assign(file.rows.size(), -1);
    out.observed.assign(file.rows.size(), NAN);
    const std::string& column = s.outputs.column;
    for (size_t r = 0; r < file.rows.size(); ++r) {
        const PatientRow& row = file.rows[r];
        if (!row.problems.empty()) {  // a row that cannot be read at all: its own reason, not its outcome's
            out.problems.insert(out.problems.end(), row.problems.begin(), row.problems.end());
            continue;
        }
        const std::string y = trimmed(row.label);
        if (y.empty() || y == "NA") {
            Problem p = problem("missing_label", "no outcome in column '" + column + "'; this patient is left out",
                                column, row.row);
            p.patient = row.id;
            out.problems.push_back(std::move(p));
            continue;
        }
        if (s.outputs.regression()) {  // a number in the outcome's unit, within its plausible range
            double v = NAN;
            const auto parsed = number_parse(y);
            if (parsed) v = *parsed;
            const Outputs& o = s.outputs;
            if (!std::isfinite(v) || v < o.min || v > o.max) {
                Problem p =
                    problem("bad_label",
                            std::isfinite(v) ? "outcome " + printable(y) + " lies outside the plausible range " +
                                                   outcome_text(o, o.min) + " to " + outcome_text(o, o.max)
                                             : "outcome '" + printable(y) + "' is not a number",
                            column, row.row);
                p.patient = row.id;
                out.problems.push_back(std::move(p));
                continue;
            }
            out.label[r] = 0;
            out.observed[r] = v;
            continue;
        }
        int k = -1;
        for (size_t c = 0; c < s.outputs.classes.size() && k < 0; ++c)
            if (s.outputs.classes[c].name == y) k = static_cast<int>(c);
        for (size_t c = 0; c < s.outputs.classes.size() && k < 0; ++c)
            if (ascii_lower(s.outputs.classes[c].label) == ascii_lower(y)) k = static_cast<int>(c);
        if (k < 0) {
            Problem p =
                problem("bad_label", "outcome '" + printable(y) + "' is not one of: " + class_list(s), column, row.row);
            p.patient = row.id;
            out.problems.push_back(std::move(p));
            continue;
        }
        out.label[r] = k;
    }
    return out;
}

Result<Ok> validation_check(const Schema& s, const PatientFile& file, std::span<const int> labels) {
    if (!file.has_labels)
        return problem("missing_label_column",
                       "the file has no '" + s.outputs.column + "' column with each patient's true outcome (" +
                           (s.outputs.regression() ? s.outputs.label + ", in " + unit_display(s.outputs.unit)
                                                   : "one of: " + class_list(s)) +
                           "), so the model cannot be checked against it",
                       s.outputs.column);
    if (s.outputs.regression()) {
        if (labels.size() < kMinValidationRows)
            return problem("too_few_rows", std::to_string(labels.size()) +
                                               " patients could be scored with a known outcome; a validation needs at "
                                               "least " +
                                               std::to_string(kMinValidationRows));
        return Ok{};
    }
    if (labels.size() < kMinValidationRows)
        return problem("too_few_rows", std::to_string(labels.size()) +
                                           " patients could be scored with a known outcome; a validation needs at "
                                           "least " +
                                           std::to_string(kMinValidationRows) +
                                           " (and many more for narrow intervals)");
    std::vector<size_t> count(s.outputs.classes.size(), 0);
    for (int y : labels) ++count[static_cast<size_t>(y)];
    size_t present = 0;
    for (size_t c : count) present += c > 0;
    if (present < 2)
        return problem("one_class", "every scored patient has the same outcome ('" +
                                        s.outputs.classes[static_cast<size_t>(labels.front())].label +
                                        "'); add patients with other outcomes to measure discrimination");
    if (s.outputs.kind == TaskKind::binary)
        for (size_t c = 0; c < count.size(); ++c)
            if (count[c] < kMinValidationPerClass)
                return problem("too_few_in_class", "only " + std::to_string(count[c]) + " scored patients have '" +
                                                       s.outputs.classes[c].label + "'; at least " +
                                                       std::to_string(kMinValidationPerClass) +
                                                       " of each outcome are needed for confidence intervals");
    return Ok{};
}

//-----------------------------------------------------------------------------
// [SECTION] Scoring a labelled file
//-----------------------------------------------------------------------------
Result<ScoredFile> validation_score(const Model& m, const PatientFile& file) {
    if (!m.ensemble)
        return problem("no_trees", "this model's explainer is " + m.manifest.explainer +
                                       ": it runs only in ONNX Runtime, so it cannot be checked on a file here");
    const RowLabels labels = validation_labels(m.schema, file);
    ScoredFile out;
    out.left_out = labels.problems;
    std::vector<PreparedRecord> prepared;
    for (size_t r = 0; r < file.rows.size(); ++r) {
        if (labels.label[r] < 0) continue;
        auto p = patient_prepare(m.schema, file, r);
        if (!p) {
            out.left_out.insert(out.left_out.end(), p.problems().begin(), p.problems().end());
            continue;
        }
        out.labels.push_back(labels.label[r]);
        out.rows.push_back(r);
        if (m.schema.outputs.regression()) out.observed.push_back(labels.observed[r]);
        out.values.insert(out.values.end(), p->values.begin(), p->values.end());
        prepared.push_back(std::move(*p));
    }
    TreeShapWorkspace ws;
    for (const Prediction& p : model_predict_batch(m, std::move(prepared), false, ws))
        out.probabilities.insert(out.probabilities.end(), p.probabilities.begin(), p.probabilities.end());
    return out;
}

//-----------------------------------------------------------------------------
// [SECTION] The validation report
//-----------------------------------------------------------------------------
Json validation_document(const Model& m, const PatientFile& file, std::string_view file_name,
                         std::string_view file_sha256, const ScoredFile& scored, int bootstrap, uint64_t seed) {
    Json doc{{"localdx_version", kLocalDxVersion},
             {"bundle", {{"name", m.manifest.name}, {"version", m.manifest.version}, {"sha256", m.sha256}}}};
    doc["data"] = {{"file", std::string(file_name)}, {"sha256", std::string(file_sha256)},
                   {"format", file.format},          {"rows", file.rows.size()},
                   {"scored", scored.labels.size()}, {"left_out", problems_json(scored.left_out)}};
    doc["metrics"] = validation_report(m.schema, scored.labels, scored.probabilities, scored.values, bootstrap, seed,
                                       scored.observed);
    if (m.schema.outputs.regression()) {
        if (!m.schema.outputs.conformal.empty())
            doc["conformal"] = conformal_interval_coverage(m.schema.outputs, scored.probabilities, scored.observed);
    } else if (!m.schema.outputs.conformal.empty()) {
        std::vector<std::string> names;
        for (const auto& c : m.schema.outputs.classes) names.push_back(c.name);
        doc["conformal"] = conformal_coverage(m.schema.outputs.conformal, scored.probabilities, scored.labels, names);
    }
    return doc;
}
Json validation_report(const Schema& s, std::span<const int> labels, std::span<const double> probabilities,
                       std::span<const double> values, int bootstrap, uint64_t seed, std::span<const double> observed) {
    if (s.outputs.regression()) {
        EvalInput in{&s,
                     {},
                     std::vector<double>(probabilities.begin(), probabilities.end()),
                     bootstrap,
                     seed,
                     false,
                     std::vector<double>(observed.begin(), observed.end())};
        Json out = evaluate(in);
        out["subgroups"] = evaluate_regression_subgroups(s, observed, probabilities, values);
        return out;
    }
    EvalInput in{&s,
                 std::vector<int>(labels.begin(), labels.end()),
                 std::vector<double>(probabilities.begin(), probabilities.end()),
                 bootstrap,
                 seed,
                 false,
                 {}};
    Json out = evaluate(in);
    out["subgroups"] = evaluate_subgroups(s, labels, probabilities, values);
    return out;
}

//-----------------------------------------------------------------------------
// [SECTION] One validation run
//-----------------------------------------------------------------------------
std::string validation_counts(const Json& document) {
    const Json& d = json_member(document, "data");
    auto count = [&](const char* key) {
        const Json& v = json_member(d, key);
        return std::to_string(v.is_array() ? v.size() : v.is_number_unsigned() ? v.get<size_t>() : 0);
    };
    return count("rows") + " rows read, " + count("scored") + " scored with a known outcome, " + count("left_out") +
           " left out";
}

std::string validation_headline(std::string_view file_name, const Json& document, const std::vector<Problem>& refused) {
    const std::string name = printable(file_name);
    if (!refused.empty()) return name + " could not be checked: " + refused.front().message + ".";
    if (document.is_null()) return name + " could not be checked: no patients.";
    return "Validation report for " + name + ": " + validation_counts(document) + ".";
}

ValidationRun validation_run(const Model& m, std::string_view text, std::string_view file_name,
                             const ValidationRunOptions& o) {
    ValidationRun run;
    if (text.size() > kMaxPatientFileBytes) {
        run.refused = {problem("too_large", "the file is larger than " + std::to_string(kMaxPatientFileBytes >> 20) +
                                                " MB; split it into smaller files")};
        return run;
    }
    run.file = patients_read(m.schema, text, PatientReadOptions{o.now, {}, m.schema.outputs.column});
    if (!run.file.problems.empty()) {
        run.refused = run.file.problems;
        return run;
    }
    if (!run.file.has_labels) {
        run.refused = validation_check(m.schema, run.file, {}).problems();
        return run;
    }
    auto scored = validation_score(m, run.file);
    if (!scored) {
        run.refused = scored.problems();
        return run;
    }
    run.scored = std::move(*scored);
    if (auto ok = validation_check(m.schema, run.file, run.scored.labels); !ok) {
        run.refused = ok.problems();
        return run;
    }
    run.bootstrap = o.bootstrap;
    if (o.max_resample_rows > 0) {
        const size_t rows = std::max<size_t>(run.scored.labels.size(), 1);
        const size_t most = static_cast<size_t>(std::max(o.bootstrap, 0));
        run.bootstrap =
            static_cast<int>(std::clamp<size_t>(o.max_resample_rows / rows, std::min<size_t>(200, most), most));
    }
    run.report = validation_document(m, run.file, file_name, sha256_hex(text), run.scored, run.bootstrap, o.seed);
    return run;
}

//-----------------------------------------------------------------------------
// [SECTION] Gates
//-----------------------------------------------------------------------------
namespace {
std::string_view skip_spaces(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
}

bool parse_number(std::string_view text, double& out) {
    const std::string s(skip_spaces(text));
    if (s.empty() || s.size() > 40) return false;
    char* end = nullptr;
    out = std::strtod(s.c_str(), &end);
    return end == s.c_str() + s.size() && std::isfinite(out);
}

bool parse_bound(std::string_view text, GateRule::Bound& b) {
    text = skip_spaces(text);
    if (text.starts_with("baseline")) {
        b.baseline = true;
        text = skip_spaces(text.substr(8));
        if (text.empty()) return true;
        const char sign = text.front();
        if (sign != '+' && sign != '-') return false;
        if (!parse_number(text.substr(1), b.offset)) return false;
        if (sign == '-') b.offset = -b.offset;
        return true;
    }
    return parse_number(text, b.offset);
}

std::string number(double x) {
    char b[32];
    std::snprintf(b, sizeof b, "%.4g", x);
    return b;
}
}  // namespace

Result<GateRule> gate_parse(std::string_view text) {
    const std::string usage = "gate '" + printable(text) +
                              "' is not 'METRIC >= X', 'METRIC <= X', 'METRIC > X', 'METRIC < X' or 'METRIC in [A, B]' "
                              "(X may be a number, baseline, or baseline +/- a number)";
    GateRule r;
    r.text = std::string(skip_spaces(text));
    const std::string_view t = r.text;
    struct OpText {
        const char* text;
        GateRule::Op op;
    };
    for (const OpText o : {OpText{">=", GateRule::Op::ge}, OpText{"<=", GateRule::Op::le},
                           OpText{">", GateRule::Op::gt}, OpText{"<", GateRule::Op::lt}}) {
        const size_t at = t.find(o.text);
        if (at == std::string_view::npos) continue;
        r.metric = std::string(skip_spaces(t.substr(0, at)));
        r.op = o.op;
        if (r.metric.empty() || !parse_bound(t.substr(at + std::string_view(o.text).size()), r.lo))
            return problem("bad_gate", usage, "--gate");
        return r;
    }
    const size_t in = t.find(" in ");
    if (in != std::string_view::npos) {
        r.metric = std::string(skip_spaces(t.substr(0, in)));
        r.op = GateRule::Op::in;
        std::string_view range = skip_spaces(t.substr(in + 4));
        const size_t comma = range.find(',');
        if (r.metric.empty() || range.size() < 5 || range.front() != '[' || range.back() != ']' ||
            comma == std::string_view::npos || !parse_bound(range.substr(1, comma - 1), r.lo) ||
            !parse_bound(range.substr(comma + 1, range.size() - comma - 2), r.hi))
            return problem("bad_gate", usage, "--gate");
        return r;
    }
    return problem("bad_gate", usage, "--gate");
}

Figures validation_figures(const Schema& s, std::span<const int> labels, std::span<const double> outputs,
                           std::span<const double> observed) {
    return s.outputs.regression() ? regression_figures(observed, outputs) : evaluation_figures(s, labels, outputs);
}

Result<std::string> gate_figure(const Schema& s, std::string_view metric) {
    if (s.outputs.regression()) {
        for (const auto& [alias, figure] : {std::pair{"mae", "mae"},
                                            {"rmse", "rmse"},
                                            {"r2", "r2"},
                                            {"calibration_slope", "calibration.slope"},
                                            {"calibration_in_the_large", "calibration.in_the_large"}})
            if (metric == alias) return std::string(figure);
        if (metric.find('.') != std::string_view::npos) return std::string(metric);
        return problem("bad_gate",
                       "'" + printable(metric) +
                           "' is not a figure of this regression task; use one of mae, rmse, r2, calibration_slope, "
                           "calibration_in_the_large, or a dotted name from the JSON report",
                       "--gate");
    }
    const bool binary = s.outputs.kind == TaskKind::binary;
    const std::string pos = binary ? "class." + s.outputs.classes[1].name + "." : "macro.";
    const std::pair<const char*, std::string> aliases[] = {
        {"auc", pos + "auc_roc"},
        {"pr_auc", pos + "pr_auc"},
        {"sensitivity", pos + "sensitivity"},
        {"specificity", pos + "specificity"},
        {"f1", pos + "f1"},
        {"ppv", binary ? pos + "precision" : ""},
        {"npv", binary ? pos + "npv" : ""},
        {"accuracy", "accuracy"},
        {"brier", "brier"},
        {"ece", "calibration.expected_calibration_error"},
        {"calibration_slope", binary ? "calibration.slope" : ""},
        {"calibration_intercept", binary ? "calibration.intercept" : ""},
        {"alerts_per_100", binary ? "alerts_per_100" : ""},
        {"qwk", s.outputs.kind == TaskKind::ordinal ? "ordinal.quadratic_weighted_kappa" : ""},
        {"within_one", s.outputs.kind == TaskKind::ordinal ? "ordinal.within_one_accuracy" : ""},
    };
    std::string known;
    for (const auto& [alias, figure] : aliases) {
        if (figure.empty()) continue;
        if (metric == alias) return figure;
        known += (known.empty() ? "" : ", ") + std::string(alias);
    }
    if (metric.find('.') != std::string_view::npos) return std::string(metric);  // checked against the figures
    return problem("bad_gate",
                   "'" + printable(metric) + "' is not a figure of this " + task_kind_name(s.outputs.kind) +
                       " task; use one of " + known + ", or a dotted name from the JSON report",
                   "--gate");
}

Result<GateOutcome> gate_check(const Schema& s, const GateRule& rule, const Figures& current, const Figures* baseline) {
    auto name = gate_figure(s, rule.metric);
    if (!name) return name.problems();
    auto find = [&](const Figures& f) -> const double* {
        for (const auto& [n, v] : f)
            if (n == *name) return &v;
        return nullptr;
    };
    const double* value = find(current);
    if (!value) return problem("bad_gate", "'" + *name + "' is not a figure of this report", "--gate");
    const bool needs_baseline = rule.lo.baseline || (rule.op == GateRule::Op::in && rule.hi.baseline);
    const double* base = baseline ? find(*baseline) : nullptr;
    if (needs_baseline && !baseline)
        return problem("bad_gate",
                       "gate '" + rule.text + "' names the baseline: give the model to compare with (--compare)",
                       "--gate");
    GateOutcome out{rule.text, false, ""};
    auto resolve = [&](const GateRule::Bound& b, std::string& how) {
        if (!b.baseline) return b.offset;
        how = " (baseline " + (base ? number(*base) : "not a number") +
              (b.offset != 0 ? (b.offset > 0 ? " + " : " - ") + number(std::abs(b.offset)) : "") + ")";
        return base ? *base + b.offset : NAN;
    };
    std::string how_lo, how_hi;
    const double lo = resolve(rule.lo, how_lo), hi = rule.op == GateRule::Op::in ? resolve(rule.hi, how_hi) : NAN;
    const std::string shown =
        rule.metric + " " + (std::isnan(*value) ? "(not a number on these rows)" : number(*value));
    if (std::isnan(*value) || std::isnan(lo) || (rule.op == GateRule::Op::in && std::isnan(hi))) {
        out.reason = shown + ": cannot be checked, so the gate fails";
        return out;
    }
    switch (rule.op) {
        case GateRule::Op::ge:
            out.pass = *value >= lo;
            break;
        case GateRule::Op::le:
            out.pass = *value <= lo;
            break;
        case GateRule::Op::gt:
            out.pass = *value > lo;
            break;
        case GateRule::Op::lt:
            out.pass = *value < lo;
            break;
        case GateRule::Op::in:
            out.pass = *value >= lo && *value <= hi;
            break;
    }
    const char* op_text[] = {">=", "<=", ">", "<", "in"};
    out.reason = shown + " " + op_text[static_cast<int>(rule.op)] + " " +
                 (rule.op == GateRule::Op::in ? "[" + number(lo) + how_lo + ", " + number(hi) + how_hi + "]"
                                              : number(lo) + how_lo) +
                 (out.pass ? ": passes" : ": fails");
    return out;
}

}  // namespace ldx
