// wasm/app/operations_json.cpp — the Operations view's reading of the server's answers
// (GET /api/v1/drift/history and /api/v1/drift) into OperationsData (app.h): strict JSON,
// problems as values naming what was wrong.
//
// Index of this file
//   [SECTION] Reading the server's answers
#include <cmath>

#include "app.h"
#include "widgets.h"

namespace ldx::app {

//-----------------------------------------------------------------------------
// [SECTION] Reading the server's answers
//-----------------------------------------------------------------------------
namespace {
// A number at `key`, NaN when absent or null (a histogram with too few patients has no figures).
Result<double> number_or_nan(const Json& obj, std::string_view key, const std::string& path) {
    if (!obj.contains(key) || obj[std::string(key)].is_null()) return NAN;
    return json_number(obj, key, path);
}

// [lo, hi] at `key`, or NaNs when absent.
Result<std::pair<double, double>> interval_or_nan(const Json& obj, std::string_view key, const std::string& path) {
    const Json& a = json_member(obj, key);
    if (a.is_null()) return std::pair<double, double>{NAN, NAN};
    std::vector<double> v;
    if (!json_number_array(a, v) || v.size() != 2)
        return problem("wrong_type", "expected [lower, upper]", path + "." + std::string(key));
    return std::pair{v[0], v[1]};
}

// An estimated figure {"value", "ci95", "card", "below_card"}; all NaN when `j` is not one.
Result<OperationsFigure> figure_of(const Json& j, const std::string& at) {
    OperationsFigure f;
    if (!j.is_object()) return f;  // not estimated this period
    auto v = json_number(j, "value", at);
    if (!v) return v.problems();
    auto ci = interval_or_nan(j, "ci95", at);
    if (!ci) return ci.problems();
    auto card = number_or_nan(j, "card", at);
    if (!card) return card.problems();
    f.value = *v;
    f.lo = ci->first;
    f.hi = ci->second;
    f.card = *card;
    f.below_card = json_member(j, "below_card") == true;
    return f;
}
Result<OperationsFigure> figure_from_json(const Json& figures, const char* key, const std::string& path) {
    return figure_of(json_member(figures, key), path + "." + key);
}

// One field's drift in words for the alerts list: "glucose: PSI 0.41, at or above the alert line 0.25".
std::string alert_words(const Json& x, const char* key, double warn, double alert) {
    const std::string status = json_text_or(x, "status");
    const double psi = json_member(x, "psi").is_number() ? json_member(x, "psi").get<double>() : NAN;
    return json_text_or(x, key) + ": PSI " + fmt(psi, "%.2f") +
           (status == "alert" ? ", at or above the alert line " + fmt(alert, "%.2f")
                              : ", at or above the warning line " + fmt(warn, "%.2f"));
}
}  // namespace

Result<OperationsData> operations_from_json(std::string_view history, std::string_view current) {
    auto h = json_parse(history, "drift history");
    if (!h) return h.problems();
    auto c = json_parse(current, "current drift");
    if (!c) return c.problems();
    const Json& hj = *h;
    if (!hj.is_object()) return problem("wrong_type", "the drift history is not an object");
    OperationsData d;
    auto model = json_string(hj, "model", "history");
    if (!model) return model.problems();
    d.model = *model;
    d.weekly = json_text_or(hj, "period") == "week";
    const Json& thresholds = json_member(hj, "thresholds");
    auto warn = json_number(thresholds, "psi_warn", "history.thresholds");
    if (!warn) return warn.problems();
    auto alert = json_number(thresholds, "psi_alert", "history.thresholds");
    if (!alert) return alert.problems();
    d.psi_warn = *warn;
    d.psi_alert = *alert;
    const Json& periods = json_member(hj, "periods");
    if (!periods.is_array()) return problem("wrong_type", "expected an array", "history.periods");
    for (size_t i = 0; i < periods.size(); ++i) {
        const Json& pj = periods[i];
        const std::string at = "history.periods[" + std::to_string(i) + "]";
        OperationsPeriod p;
        auto day = json_string(pj, "from", at);
        if (!day) return day.problems();
        p.day = *day;
        for (auto [key, out] : {std::pair{"reports", &p.reports}, std::pair{"predictions", &p.predictions},
                                std::pair{"sources", &p.sources}}) {
            const auto n = json_int_in(pj, key, 0, int64_t{1} << 53);
            if (!n) return problem("wrong_type", "expected a whole number", at + "." + key);
            *out = static_cast<uint64_t>(*n);
        }
        const Json& fields = json_member(pj, "fields");
        if (!fields.is_array()) return problem("wrong_type", "expected an array", at + ".fields");
        for (size_t f = 0; f < fields.size(); ++f) {
            const std::string fat = at + ".fields[" + std::to_string(f) + "]";
            auto name = json_string(fields[f], "field", fat);
            if (!name) return name.problems();
            if (i == 0) d.fields.push_back(*name);
            if (f >= d.fields.size() || d.fields[f] != *name)
                return problem("wrong_value", "the periods list different fields", fat + ".field");
            auto psi = number_or_nan(fields[f], "psi", fat);
            if (!psi) return psi.problems();
            auto ci = interval_or_nan(fields[f], "psi_ci95", fat);
            if (!ci) return ci.problems();
            std::vector<double> live;
            if (fields[f].contains("live") && !json_number_array(fields[f]["live"], live))
                return problem("wrong_type", "expected numbers", fat + ".live");
            p.psi.push_back(*psi);
            p.psi_lo.push_back(ci->first);
            p.psi_hi.push_back(ci->second);
            p.live.push_back(std::move(live));
        }
        if (p.psi.size() != d.fields.size()) return problem("wrong_value", "a field is missing", at + ".fields");
        const Json& perf = json_member(pj, "performance");
        p.performance = json_text_or(perf, "status", "not_estimated");
        if (d.note.empty()) d.note = json_text_or(perf, "note");
        const Json& figures = json_member(perf, "figures");
        auto auc = figure_from_json(figures, "auc", at + ".performance.figures");
        if (!auc) return auc.problems();
        auto sens = figure_from_json(figures, "sensitivity", at + ".performance.figures");
        if (!sens) return sens.problems();
        p.auc = *auc;
        p.sensitivity = *sens;
        // Multilabel: each finding's estimate, in the order the first period lists them.
        if (const Json& fs = json_member(perf, "findings"); fs.is_array()) {
            if (d.findings.empty())
                for (size_t k = 0; k < fs.size(); ++k) {
                    auto name = json_string(fs[k], "finding", at + ".performance.findings[" + std::to_string(k) + "]");
                    if (!name) return name.problems();
                    d.findings.push_back(*name);
                    d.finding_labels.push_back(json_text_or(fs[k], "label", *name));
                }
            if (fs.size() != d.findings.size())
                return problem("wrong_value", "the periods list different findings", at + ".performance.findings");
            for (size_t k = 0; k < fs.size(); ++k) {
                const std::string fat = at + ".performance.findings[" + std::to_string(k) + "]";
                if (json_text_or(fs[k], "finding") != d.findings[k])
                    return problem("wrong_value", "the periods list different findings", fat + ".finding");
                auto fa = figure_from_json(json_member(fs[k], "figures"), "auc", fat + ".figures");
                if (!fa) return fa.problems();
                auto fsens = figure_from_json(json_member(fs[k], "figures"), "sensitivity", fat + ".figures");
                if (!fsens) return fsens.problems();
                p.finding_auc.push_back(*fa);
                p.finding_sensitivity.push_back(*fsens);
            }
        }
        // Regression: the 90% interval's expected coverage (the level the result view reads).
        if (const Json& levels = json_member(figures, "interval_coverage"); levels.is_array())
            for (const Json& l : levels)
                if (json_member(l, "level") == 0.9) {
                    auto c = figure_of(l, at + ".performance.figures.interval_coverage");
                    if (!c) return c.problems();
                    p.coverage = *c;
                }
        d.periods.push_back(std::move(p));
    }
    // What is active now: every field and output at or above a line, and an estimate below the card.
    const Json& cj = *c;
    for (const auto& [list, key] : {std::pair{"fields", "field"}, std::pair{"outputs", "output"}}) {
        const Json& xs = json_member(cj, list);
        if (!xs.is_array()) continue;
        for (const Json& x : xs) {
            const std::string status = json_text_or(x, "status");
            if (status == "alert" || status == "warn") d.alerts.push_back(alert_words(x, key, d.psi_warn, d.psi_alert));
        }
    }
    const Json& perf = json_member(cj, "performance");
    if (json_text_or(perf, "status") == "below_card")
        for (const char* key : {"auc", "sensitivity", "specificity", "ppv"}) {
            auto f = figure_from_json(json_member(perf, "figures"), key, "current.performance.figures");
            if (f && f->below_card)
                d.alerts.push_back(std::string("estimated ") + key + " " + fmt(f->value, "%.2f") + " (95% " +
                                   fmt(f->lo, "%.2f") + " to " + fmt(f->hi, "%.2f") + ") is below the card's " +
                                   fmt(f->card, "%.2f"));
        }
    if (const Json& fs = json_member(perf, "findings"); fs.is_array() && json_text_or(perf, "status") == "below_card")
        for (const Json& one : fs)  // multilabel: per finding
            for (const char* key : {"auc", "sensitivity", "specificity", "ppv"}) {
                auto f = figure_from_json(json_member(one, "figures"), key, "current.performance.findings");
                if (f && f->below_card)
                    d.alerts.push_back(json_text_or(one, "label", json_text_or(one, "finding")) + ": estimated " + key +
                                       " " + fmt(f->value, "%.2f") + " (95% " + fmt(f->lo, "%.2f") + " to " +
                                       fmt(f->hi, "%.2f") + ") is below the card's " + fmt(f->card, "%.2f"));
            }
    if (const Json& cov = json_member(json_member(perf, "figures"), "interval_coverage"); cov.is_array())
        for (const Json& l : cov)  // regression: per level
            if (auto f = figure_of(l, "current.performance.figures.interval_coverage"); f && f->below_card) {
                const Json& lv = json_member(l, "level");
                d.alerts.push_back("estimated coverage of the " +
                                   (lv.is_number() ? fmt(lv.get<double>() * 100, "%g") + "% " : std::string()) +
                                   "prediction interval " + fmt(f->value, "%.2f") + " (95% " + fmt(f->lo, "%.2f") +
                                   " to " + fmt(f->hi, "%.2f") + ") is below the card's " + fmt(f->card, "%.2f"));
            }
    return d;
}

}  // namespace ldx::app
