// server/http/drift.cpp — drift of one model version over the window, pooled robustly over sources (see routes.h).
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <regex>
#include <sstream>

#include "bundle/crypto.h"
#include "bundle/models_index.h"
#include "drift/estimate.h"
#include "drift/report.h"
#include "http/error_body.h"
#include "http/openapi.h"
#include "http/request_head.h"
#include "http/routes.h"
#include "http/state.h"

namespace ldx {

// [SECTION] Routes: metrics reports, drift, Prometheus
//-----------------------------------------------------------------------------
std::string day_offset(int64_t days) { return utc_day(unix_now() - days * 86400); }

namespace {
// A seed for the intervals' resampling that depends only on what is estimated (so both stores,
// and every instance, give the same figures).
uint64_t seed_of(const std::string& text) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
    return h;
}

// One histogram of each source, as pool_sources takes it.
PooledCounts pooled_of(const std::vector<SourceAggregate>& sources, const std::string& hist, size_t bins) {
    std::vector<SourceCounts> per;
    for (const auto& src : sources) {
        // A histogram holds the source's patients counted in it: all of them, or about 1 in H
        // when each patient is counted in one histogram (schema.h, Privacy).
        SourceCounts c{0, std::vector<uint64_t>(bins, 0)};
        if (auto it = src.hist.find(hist); it != src.hist.end())
            for (size_t b = 0; b < bins && b < it->second.size(); ++b) c.n += (c.counts[b] = it->second[b]);
        per.push_back(std::move(c));
    }
    return pool_sources(per, bins);
}

const char* kEstimateNote =
    "estimated without labels from the debiased histogram of predicted probabilities (confidence-based "
    "performance estimation), the chance of a positive at each predicted probability taken from training's "
    "out-of-fold outcomes: it holds only while outcomes follow the probabilities as they did in training. It follows "
    "a change in who is scored (covariate shift); it cannot see a change in how outcomes follow from the inputs "
    "(concept shift), which only labelled data can show";

// A card's figure for the positive class ("auc_roc", "sensitivity"...), or null. `metrics`: a
// binary card's metrics, or one finding's of a multilabel card (metrics.findings.<name>).
Json card_figure(const Json& metrics, const std::string& positive, const char* key) {
    if (std::string_view(key) == "alert_rate") {
        if (!metrics.is_object() || !metrics.contains("alerts_per_100") || !metrics["alerts_per_100"].is_object())
            return nullptr;
        const Json& a = metrics["alerts_per_100"];
        if (!a.contains("value")) return nullptr;
        const Json& v = a["value"];
        return v.is_number() ? Json(std::round(v.get<double>() * 100) / 1e4) : Json();
    }
    if (!metrics.is_object() || !metrics.contains("class") || !metrics["class"].contains(positive)) return nullptr;
    const Json& c = metrics["class"][positive];
    if (!c.contains(key) || !c[key].is_object() || !c[key].contains("value") || !c[key]["value"].is_number())
        return nullptr;
    return std::round(c[key]["value"].get<double>() * 1e4) / 1e4;
}

// The lower end of a card figure's 95% interval (its bootstrap over the card's own patients or
// images), or the figure itself when the card gives no interval; null when the card has neither.
// A figure from a few hundred held-out images is itself uncertain, so an estimate is judged below
// the card only when it lies below this end. A perfect figure (1.000: no error among the card's
// n cases) has a bootstrap interval of [1, 1], which no estimate reaches (each bin keeps a prior
// worth one patient): its lower end is then the rule of three's, 1 - 3/n, with n the figure's
// own cases (positives for sensitivity, negatives for specificity, alerts for PPV, the smaller
// class for AUC).
Json card_figure_lower(const Json& metrics, const std::string& positive, const char* key, const Json& figure) {
    if (!figure.is_number() || std::string_view(key) == "alert_rate") return figure;
    const Json& c = metrics["class"][positive][key];  // there: `figure` was read from it
    double lower = figure.get<double>();
    if (c.contains("ci95") && c["ci95"].is_array() && c["ci95"].size() == 2 && c["ci95"][0].is_number())
        lower = std::min(lower, c["ci95"][0].get<double>());
    if (lower < 1) return std::round(lower * 1e4) / 1e4;
    double pos = 0, all = 0;
    for (const auto& [name, cls] : metrics["class"].items())
        if (cls.is_object() && cls.contains("support") && cls["support"].is_number()) {
            all += cls["support"].get<double>();
            if (name == positive) pos = cls["support"].get<double>();
        }
    const std::string_view k(key);
    const Json& alerts = metrics.contains("alerts_per_100") && metrics["alerts_per_100"].is_object() &&
                                 metrics["alerts_per_100"].contains("value")
                             ? metrics["alerts_per_100"]["value"]
                             : Json();
    const double n = k == "sensitivity"   ? pos
                     : k == "specificity" ? all - pos
                     : k == "precision"   ? (alerts.is_number() ? std::round(alerts.get<double>() * all / 100) : 0)
                                          : std::min(pos, all - pos);
    return n > 3 ? std::round((1 - 3 / n) * 1e4) / 1e4 : 0.0;
}

const char* kCoverageNote =
    "estimated without labels from the debiased histogram of predicted values and how often the bundle's "
    "prediction interval held the outcome in training, per predicted value (out-of-fold, cross-fitted): it holds "
    "only while the errors, given the prediction, stay as in training. It follows a change in who is scored "
    "(covariate shift); it cannot see a change in how outcomes follow from the inputs (concept shift), which only "
    "labelled data can show";

// Regression: the expected coverage of the bundle's prediction interval at each level, beside the
// card's cross-fitted coverage; below the card when even the upper end is under it.
Json coverage_json(const Model& m, const std::vector<SourceAggregate>& sources, uint64_t min_in_histogram,
                   uint64_t min_sources, const std::string& seed) {
    Json out{{"status", "insufficient"}, {"note", kCoverageNote}};
    const Histogram& ref = m.reference.classes[0];
    const Json& conformal =
        m.card.contains("metrics") && m.card["metrics"].is_object() && m.card["metrics"].contains("conformal")
            ? m.card["metrics"]["conformal"]
            : Json();
    auto by_bin = conformal.is_object() && conformal.contains("by_predicted_value")
                      ? coverage_by_bin_from_json(conformal["by_predicted_value"], ref.bins())
                      : Result<CoverageByBin>(problem("not_in_card",
                                                      "the model card has no interval coverage by "
                                                      "predicted value (train it again)"));
    if (!by_bin) {
        out["status"] = "not_estimated";
        out["reason"] = by_bin.error().message;
        return out;
    }
    const PooledCounts p = pooled_of(sources, "probability:0", ref.bins());
    out["predictions"] = p.n;
    if (p.n < min_in_histogram || p.sources < min_sources) return out;
    const uint64_t patients =
        m.schema.privacy.counting == Privacy::Counting::one_histogram ? p.n * report_histograms(m.schema) : p.n;
    bool below = false;
    Json levels = Json::array();
    for (const CoverageEstimate& e :
         coverage_estimate(*by_bin, p.counts, p.n, m.schema.privacy.epsilon, patients, seed_of(seed))) {
        Json f{{"level", e.level},
               {"value", std::round(e.coverage.value * 1e4) / 1e4},
               {"ci95",
                {std::round(std::clamp(e.coverage.lo, 0.0, 1.0) * 1e4) / 1e4,
                 std::round(std::clamp(e.coverage.hi, 0.0, 1.0) * 1e4) / 1e4}},
               {"card", nullptr}};
        if (conformal.contains("levels") && conformal["levels"].is_array())
            for (const auto& l : conformal["levels"])
                if (l.contains("level") && l["level"] == e.level && l.contains("coverage") && l["coverage"].is_number())
                    f["card"] = std::round(l["coverage"].get<double>() * 1e4) / 1e4;
        if (f["card"].is_number()) f["below_card"] = f["ci95"][1].get<double>() < f["card"].get<double>();
        below = below || (f.contains("below_card") && f["below_card"].get<bool>());
        levels.push_back(std::move(f));
    }
    out["status"] = below ? "below_card" : "ok";
    out["patients"] = patients;
    out["figures"] = Json{{"interval_coverage", levels}};
    return out;
}

// The card's outcomes per bin of the positive class's probability (its reliability table), or why
// not. `metrics` as card_figure's.
Result<CalibrationByBin> calibration_of(const Json& metrics, const std::string& positive, const Histogram& ref) {
    const Json& cal = metrics.is_object() && metrics.contains("calibration") ? metrics["calibration"] : Json();
    const std::string of = "P(" + positive + ")";
    if (!cal.is_object() || !cal.contains("reliability") || !cal.contains("of") || cal["of"] != of)
        return problem("not_in_card", "the model card has no reliability table of " + of);
    return calibration_from_reliability(cal["reliability"], ref);
}

// One binary question's estimate for a period: the probability histogram `hist` (bins of `ref`) of
// the class `positive`, called at `threshold`, against the card's `metrics` (card_figure's). The
// figures with intervals beside the card's.
Json binary_estimate(const Model& m, const Histogram& ref, const std::string& hist, const Json& metrics,
                     const std::string& positive, double threshold, const std::vector<SourceAggregate>& sources,
                     uint64_t min_in_histogram, uint64_t min_sources, const std::string& seed) {
    Json out{{"status", "insufficient"}};
    const auto calibration = calibration_of(metrics, positive, ref);
    if (!calibration) {
        out["status"] = "not_estimated";
        out["reason"] = calibration.error().message;
        return out;
    }
    const PooledCounts p = pooled_of(sources, hist, ref.bins());
    out["threshold"] = threshold;
    out["predictions"] = p.n;
    if (p.n < min_in_histogram || p.sources < min_sources) return out;
    // Every patient of the period, from the patients counted in this one histogram.
    const uint64_t patients =
        m.schema.privacy.counting == Privacy::Counting::one_histogram ? p.n * report_histograms(m.schema) : p.n;
    const PerformanceEstimate e = performance_estimate(ref, p.counts, p.n, m.schema.privacy.epsilon, threshold,
                                                       patients, seed_of(seed), 400, *calibration);
    Json figures = performance_estimate_json(e);
    const std::pair<const char*, const char*> keys[] = {{"auc", "auc_roc"},
                                                        {"sensitivity", "sensitivity"},
                                                        {"specificity", "specificity"},
                                                        {"ppv", "precision"},
                                                        {"alert_rate", "alert_rate"}};
    bool below = false;
    for (const auto& [key, card_key] : keys) {
        Json& f = figures[key];
        if (f.is_null()) continue;
        f["card"] = card_figure(metrics, positive, card_key);
        // Below the card by more than both intervals: even the estimate's upper end is under the
        // lower end of the card's own. (The alert rate is a workload, not a quality: not judged.)
        if (std::string_view(key) != "alert_rate" && f["card"].is_number()) {
            f["card_lower"] = card_figure_lower(metrics, positive, card_key, f["card"]);
            f["below_card"] = f["ci95"][1].get<double>() < f["card_lower"].get<double>();
        }
        below = below || (f.contains("below_card") && f["below_card"].get<bool>());
    }
    out["status"] = below ? "below_card" : "ok";
    out["patients"] = patients;
    out["figures"] = figures;
    return out;
}

// A multilabel model: each finding a binary question of its own (metrics/multilabel.h), estimated
// from its probability histogram and its reliability table in the card (metrics.findings.<name>).
// The status is the worst finding's: below_card when any is, ok when any is estimated.
Json findings_json(const Model& m, const std::vector<SourceAggregate>& sources, uint64_t min_in_histogram,
                   uint64_t min_sources, const std::string& seed) {
    const Json& metrics = m.card.contains("metrics") ? m.card["metrics"] : Json();
    const Json& per = metrics.is_object() && metrics.contains("findings") ? metrics["findings"] : Json();
    Json findings = Json::array();
    bool below = false, ok = false, insufficient = false;
    std::string reason;
    for (size_t f = 0; f < m.schema.outputs.classes.size() && f < m.reference.classes.size(); ++f) {
        const OutputClass& finding = m.schema.outputs.classes[f];
        Json one{{"finding", finding.name}, {"label", finding.label}};
        const Json e = binary_estimate(m, m.reference.classes[f], "probability:" + std::to_string(f),
                                       per.is_object() && per.contains(finding.name) ? per[finding.name] : Json(),
                                       finding.name, m.schema.outputs.thresholds.at(f), sources, min_in_histogram,
                                       min_sources, seed + "\t" + finding.name);
        one.update(e);
        const std::string status = e["status"].get<std::string>();
        below = below || status == "below_card";
        ok = ok || status == "ok";
        insufficient = insufficient || status == "insufficient";
        if (status == "not_estimated" && reason.empty())
            reason = finding.name + ": " + e["reason"].get<std::string>() +
                     " (`localdx bundle --calibration-labels --calibration-outputs` writes one per finding into a card "
                     "that brings no metrics of its own)";
        findings.push_back(std::move(one));
    }
    Json out{{"status", below          ? "below_card"
                        : ok           ? "ok"
                        : insufficient ? "insufficient"
                                       : "not_estimated"},
             {"note", kEstimateNote},
             {"findings", findings}};
    if (!below && !ok && !insufficient) out["reason"] = reason;
    return out;
}

// The performance estimate of a period from its sources: figures with intervals beside the card's.
Json performance_json(const Model& m, const std::vector<SourceAggregate>& sources, uint64_t min_in_histogram,
                      uint64_t min_sources, const std::string& seed) {
    if (m.schema.outputs.regression()) return coverage_json(m, sources, min_in_histogram, min_sources, seed);
    if (m.schema.outputs.multilabel()) return findings_json(m, sources, min_in_histogram, min_sources, seed);
    if (m.schema.outputs.kind != TaskKind::binary)
        return Json{{"status", "not_estimated"},
                    {"note", kEstimateNote},
                    {"reason", "estimated for binary, multilabel (per finding) and regression tasks only"}};
    const size_t positive = static_cast<size_t>(m.schema.outputs.positive);
    Json out{{"note", kEstimateNote}};
    out.update(binary_estimate(m, m.reference.classes[positive], "probability:" + std::to_string(positive),
                               m.card.contains("metrics") ? m.card["metrics"] : Json(),
                               m.schema.outputs.classes[positive].name, m.schema.outputs.threshold, sources,
                               min_in_histogram, min_sources, seed));
    return out;
}
}  // namespace

// Drift of one model version over the window, pooled robustly over sources (pool_sources): no
// figure until enough distinct sources and enough pooled predictions have reported.
Result<Json> drift_json(HttpServer::State& s, const std::string& name, int64_t version, const Model& m) {
    const std::string from = day_offset(s.cfg.drift_days - 1), to = day_offset(-1);
    const auto read_totals = s.store->totals(name, version, from, to);
    if (!read_totals) return read_totals.problems();
    const auto read_sources = s.store->sources(name, version, from, to);
    if (!read_sources) return read_sources.problems();
    const ReportTotals& totals = *read_totals;
    const std::vector<SourceAggregate>& sources = *read_sources;
    auto pooled = [&](const std::string& hist, size_t bins) { return pooled_of(sources, hist, bins); };
    const uint64_t min_sources = static_cast<uint64_t>(s.cfg.drift_min_sources);
    const uint64_t min_in_histogram = histogram_patients(m.schema, s.cfg.drift_min_predictions);
    double volume_ratio = 0;
    size_t source_count = 0;
    // One histogram against its reference: {"field" (or "output"), "status", "predictions", "psi"...}.
    auto compared = [&](const Histogram& ref, const std::string& hist, const char* key) {
        const PooledCounts p = pooled(hist, ref.bins());
        volume_ratio = std::max(volume_ratio, p.max_ratio);
        source_count = p.sources;
        FieldDrift d = drift_compare(ref.name, ref.counts, p.counts, p.n, m.schema.privacy.epsilon, min_in_histogram,
                                     s.cfg.psi_warn, s.cfg.psi_alert);
        if (p.sources < min_sources) d.status = "insufficient";
        Json x{{key, d.field}, {"status", d.status}, {"predictions", p.n}, {"reports", totals.reports}};
        if (d.status != "insufficient") {
            x["psi"] = d.psi;
            x["js_distance"] = d.js;
        }
        return x;
    };
    Json fields = Json::array();
    // The schema's fields, then an imaging model's image descriptors ("image.contrast"...).
    for (size_t f = 0; f < m.reference.inputs(); ++f)
        fields.push_back(compared(m.reference.input(f), "field:" + std::to_string(f), "field"));
    // The model's outputs: each class's probability, or a regression's predicted value.
    Json outputs = Json::array();
    for (size_t c = 0; c < m.reference.classes.size(); ++c)
        outputs.push_back(compared(m.reference.classes[c], "probability:" + std::to_string(c), "output"));
    Json classes = Json::array();
    const PooledCounts predicted = pooled("predicted", m.schema.num_classes());
    if (report_has_predicted(m.schema) && predicted.n >= min_in_histogram && predicted.sources >= min_sources) {
        const auto est = randomized_response_debias(predicted.counts, predicted.n, m.schema.privacy.epsilon);
        // Shares of the pooled estimate, scaled to every prediction reported.
        double total = 0;
        for (double e : est) total += e;
        for (size_t c = 0; c < est.size(); ++c)
            classes.push_back({{"class", m.schema.outputs.classes[c].name},
                               {"estimated_predictions",
                                total > 0 ? std::round(est[c] / total * static_cast<double>(totals.predictions)) : 0}});
    }
    return Json{{"model", name},
                {"version", version},
                {"window", {{"from", from}, {"to", to}, {"days", s.cfg.drift_days}}},
                {"thresholds",
                 {{"psi_warn", s.cfg.psi_warn},
                  {"psi_alert", s.cfg.psi_alert},
                  {"min_predictions", s.cfg.drift_min_predictions},
                  {"min_sources", s.cfg.drift_min_sources}}},
                {"privacy",
                 {{"mechanism", "randomized response per histogram"},
                  {"epsilon", m.schema.privacy.epsilon},
                  {"k_min", m.schema.privacy.k_min}}},
                {"pooling",
                 {{"method",
                   "per source (address and day): weight capped at the median source, each bin's share a "
                   "trimmed mean over sources"},
                  {"trim", kSourceTrim},
                  {"sources", source_count},
                  {"largest_source_over_median", volume_ratio}}},
                {"reports", totals.reports},
                {"predictions", totals.predictions},
                {"fields", fields},
                {"outputs", outputs},
                {"predicted_classes", classes},
                {"performance", performance_json(m, sources, min_in_histogram, min_sources,
                                                 name + "\t" + std::to_string(version) + "\t" + from + "\t" + to)}};
}

namespace {
// Monday of the ISO week of `day` ("YYYY-MM-DD"; 1970-01-01 was a Thursday).
std::string week_start(const std::string& day) {
    const int64_t t = *utc_parse(day + "T00:00:00Z");
    const int64_t days = t / 86400;
    return utc_day((days - ((days + 3) % 7)) * 86400);
}
}  // namespace

Result<Json> drift_history_json(HttpServer::State& s, const std::string& name, int64_t version, const Model& m,
                                const std::string& from, const std::string& to, bool weekly) {
    const uint64_t min_sources = static_cast<uint64_t>(s.cfg.drift_min_sources);
    const uint64_t min_in_histogram = histogram_patients(m.schema, s.cfg.drift_min_predictions);
    const double eps = m.schema.privacy.epsilon;
    const int64_t first = *utc_parse(from + "T00:00:00Z"), last = *utc_parse(to + "T00:00:00Z");
    Json periods = Json::array();
    for (int64_t t = weekly ? *utc_parse(week_start(from) + "T00:00:00Z") : first; t <= last;
         t += (weekly ? 7 : 1) * 86400) {
        // A week is clipped to the range asked for.
        const std::string a = utc_day(std::max(t, first)), b = utc_day(std::min(t + (weekly ? 6 : 0) * 86400, last));
        auto totals = s.store->totals(name, version, a, b);
        if (!totals) return totals.problems();
        if (totals->reports == 0) continue;
        auto read_sources = s.store->sources(name, version, a, b);
        if (!read_sources) return read_sources.problems();
        const std::vector<SourceAggregate>& sources = *read_sources;
        size_t source_count = 0;
        // One histogram: the debiased live shares and PSI and JS with their intervals.
        auto compared = [&](const Histogram& ref, const std::string& hist, const char* key) {
            const PooledCounts p = pooled_of(sources, hist, ref.bins());
            source_count = std::max(source_count, p.sources);
            FieldDrift d = drift_compare(ref.name, ref.counts, p.counts, p.n, eps, min_in_histogram, s.cfg.psi_warn,
                                         s.cfg.psi_alert);
            if (p.sources < min_sources) d.status = "insufficient";
            Json x{{key, ref.name}, {"status", d.status}, {"predictions", p.n}, {"sources", p.sources}};
            if (d.status == "insufficient") return x;
            Json live = Json::array();
            for (double v : debiased_shares(p.counts, p.n, eps)) live.push_back(std::round(v * 1e4) / 1e4);
            const DriftInterval ci =
                drift_interval(ref.counts, p.counts, p.n, eps, seed_of(a + "\t" + b + "\t" + hist));
            auto r4 = [](double v) { return std::round(v * 1e4) / 1e4; };
            x["live"] = live;
            x["psi"] = r4(d.psi);
            x["psi_ci95"] = {r4(ci.psi.lo), r4(ci.psi.hi)};
            x["js_distance"] = r4(d.js);
            x["js_distance_ci95"] = {r4(ci.js.lo), r4(ci.js.hi)};
            return x;
        };
        Json fields = Json::array(), outputs = Json::array();
        for (size_t f = 0; f < m.reference.inputs(); ++f)
            fields.push_back(compared(m.reference.input(f), "field:" + std::to_string(f), "field"));
        for (size_t c = 0; c < m.reference.classes.size(); ++c)
            outputs.push_back(compared(m.reference.classes[c], "probability:" + std::to_string(c), "output"));
        periods.push_back(
            {{"from", a},
             {"to", b},
             {"reports", totals->reports},
             {"predictions", totals->predictions},
             {"sources", source_count},
             {"fields", fields},
             {"outputs", outputs},
             {"performance", performance_json(m, sources, min_in_histogram, min_sources,
                                              name + "\t" + std::to_string(version) + "\t" + a + "\t" + b)}});
    }
    return Json{{"model", name},
                {"version", version},
                {"from", from},
                {"to", to},
                {"period", weekly ? "week" : "day"},
                {"thresholds",
                 {{"psi_warn", s.cfg.psi_warn},
                  {"psi_alert", s.cfg.psi_alert},
                  {"min_predictions", s.cfg.drift_min_predictions},
                  {"min_sources", s.cfg.drift_min_sources}}},
                {"privacy", {{"epsilon", eps}, {"k_min", m.schema.privacy.k_min}}},
                {"intervals",
                 "95%: the randomized counts redrawn from the debiased shares and debiased again (and, for the "
                 "performance estimate, the period's patients and their outcomes drawn from the probabilities)"},
                {"periods", periods}};
}

}  // namespace ldx
