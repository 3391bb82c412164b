// shared/predict/findings.cpp — see findings.h.
//
// Index of this file
//   [SECTION] Findings above their thresholds
//   [SECTION] The result's words
#include "predict/findings.h"

#include <algorithm>
#include <cmath>

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Findings above their thresholds
//-----------------------------------------------------------------------------
std::vector<int> findings_above(const Schema& s, std::span<const double> p) {
    std::vector<int> above;
    if (!s.outputs.multilabel()) return above;
    const size_t k = std::min({p.size(), s.outputs.classes.size(), s.outputs.thresholds.size()});
    for (size_t i = 0; i < k; ++i)
        if (p[i] >= s.outputs.thresholds[i]) above.push_back(static_cast<int>(i));
    std::stable_sort(above.begin(), above.end(),
                     [&](int a, int b) { return p[static_cast<size_t>(a)] > p[static_cast<size_t>(b)]; });
    return above;
}

//-----------------------------------------------------------------------------
// [SECTION] The result's words
//-----------------------------------------------------------------------------
std::string finding_percent(double p) {
    if (!std::isfinite(p)) return "not available";
    const long v = std::lround(p * 100);
    if (v <= 0 && p > 0) return "<1%";
    if (v >= 100 && p < 1) return ">99%";
    return std::to_string(v) + "%";
}

std::string findings_words(const Schema& s, std::span<const double> p) {
    if (!s.outputs.multilabel() || p.size() < s.outputs.classes.size()) return "";
    const std::vector<int> above = findings_above(s, p);
    if (!above.empty()) {
        std::string words = above.size() == 1 ? "Finding above its threshold: " : "Findings above their thresholds: ";
        for (size_t i = 0; i < above.size(); ++i) {
            const size_t f = static_cast<size_t>(above[i]);
            words += (i ? ", " : "") + s.outputs.classes[f].label + " " + finding_percent(p[f]);
        }
        return words + ".";
    }
    size_t top = 0;
    for (size_t i = 1; i < s.outputs.classes.size(); ++i)
        if (p[i] > p[top]) top = i;
    return "No finding is above its threshold; the most probable is " + s.outputs.classes[top].label + " at " +
           finding_percent(p[top]) + " (threshold " + finding_percent(s.outputs.thresholds[top]) + ").";
}

Json findings_json(const Schema& s, std::span<const double> p) {
    Json out = Json::array();
    if (!s.outputs.multilabel()) return out;
    for (size_t i = 0; i < s.outputs.classes.size() && i < p.size(); ++i)
        out.push_back({{"name", s.outputs.classes[i].name},
                       {"label", s.outputs.classes[i].label},
                       {"probability", p[i]},
                       {"threshold", s.outputs.thresholds[i]},
                       {"above", p[i] >= s.outputs.thresholds[i]}});
    return out;
}

}  // namespace ldx
