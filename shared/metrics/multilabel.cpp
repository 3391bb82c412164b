// shared/metrics/multilabel.cpp — see multilabel.h.
//
// Index of this file
//   [SECTION] One finding as a binary task
//   [SECTION] Per-finding thresholds
//   [SECTION] The report: per finding and macro
#include "metrics/multilabel.h"

#include <cmath>

#include "metrics/evaluation.h"
#include "metrics/validation.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] One finding as a binary task
//-----------------------------------------------------------------------------
Schema finding_schema(const Schema& m, size_t f) {
    Schema s;
    s.task = m.task;
    s.title = m.title;
    s.image = m.image;
    s.privacy = m.privacy;
    const OutputClass& finding = m.outputs.classes.at(f);
    s.outputs.kind = TaskKind::binary;
    s.outputs.column = finding.name;
    s.outputs.classes = {{"absent", "No " + finding.label}, finding};
    s.outputs.positive = 1;
    s.outputs.threshold = m.outputs.thresholds.at(f);
    return s;
}

std::vector<double> finding_column(std::span<const double> values, size_t findings, size_t f) {
    std::vector<double> out;
    for (size_t i = f; findings > 0 && i < values.size(); i += findings) out.push_back(values[i]);
    return out;
}

std::vector<int> finding_column(std::span<const int> values, size_t findings, size_t f) {
    std::vector<int> out;
    for (size_t i = f; findings > 0 && i < values.size(); i += findings) out.push_back(values[i]);
    return out;
}

std::vector<double> finding_probabilities(std::span<const double> probabilities, size_t findings, size_t f) {
    std::vector<double> out;
    for (const double p : finding_column(probabilities, findings, f)) {
        out.push_back(1 - p);
        out.push_back(p);
    }
    return out;
}

//-----------------------------------------------------------------------------
// [SECTION] Per-finding thresholds
//-----------------------------------------------------------------------------
Result<std::vector<double>> finding_thresholds(const Schema& s, std::string_view policy,
                                               std::span<const double> probabilities, std::span<const int> labels) {
    const size_t k = s.outputs.classes.size();
    if (!s.outputs.multilabel() || k == 0 || probabilities.size() != labels.size() || labels.size() % k)
        return problem("bad_labels",
                       "per-finding thresholds need a multilabel task and rows x findings "
                       "probabilities and labels of the same size");
    std::vector<double> out;
    std::vector<Problem> problems;
    for (size_t f = 0; f < k; ++f) {
        auto t = threshold_for(policy, finding_column(probabilities, k, f), finding_column(labels, k, f));
        if (t) {
            out.push_back(*t);
            continue;
        }
        for (Problem p : t.problems()) {
            p.message = s.outputs.classes[f].name + ": " + p.message;
            p.field = s.outputs.classes[f].name;
            problems.push_back(std::move(p));
        }
    }
    if (!problems.empty()) return problems;
    return out;
}

//-----------------------------------------------------------------------------
// [SECTION] The report: per finding and macro
//-----------------------------------------------------------------------------
Json multilabel_report(const Schema& s, std::span<const int> labels, std::span<const double> probabilities,
                       int bootstrap, uint64_t seed) {
    const size_t k = s.outputs.classes.size();
    Json findings = Json::object();
    struct Mean {
        double sum = 0;
        size_t n = 0;
    };
    const char* keys[] = {"auc_roc", "pr_auc", "sensitivity", "specificity"};
    Mean means[5];
    for (size_t f = 0; f < k; ++f) {
        const Schema b = finding_schema(s, f);
        const std::vector<int> y = finding_column(labels, k, f);
        Json r = validation_report(b, y, finding_probabilities(probabilities, k, f), {}, bootstrap, seed);
        size_t present = 0;
        for (int v : y) present += v == 1;
        r["prevalence"] = y.empty() ? Json() : Json(static_cast<double>(present) / static_cast<double>(y.size()));
        const Json& c = json_member(json_member(r, "class"), b.outputs.classes[1].name);
        for (size_t m = 0; m < 5; ++m) {
            const Json& v = json_member(m < 4 ? json_member(c, keys[m]) : json_member(r, "brier"), "value");
            if (v.is_number() && std::isfinite(v.get<double>())) {
                means[m].sum += v.get<double>();
                ++means[m].n;
            }
        }
        findings[s.outputs.classes[f].name] = std::move(r);
    }
    Json macro = Json::object();
    for (size_t m = 0; m < 5; ++m)
        macro[m < 4 ? keys[m] : "brier"] = {
            {"value", means[m].n ? Json(means[m].sum / static_cast<double>(means[m].n)) : Json()},
            {"findings", means[m].n}};
    return Json{{"kind", "multilabel"}, {"rows", k ? labels.size() / k : 0}, {"findings", findings}, {"macro", macro}};
}

}  // namespace ldx
