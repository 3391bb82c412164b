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

#include "bundle/models_index.h"
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

// Drift of one model version over the window, pooled robustly over sources (pool_sources): no
// figure until enough distinct sources and enough pooled predictions have reported.
Result<Json> drift_json(App::State& s, const std::string& name, int64_t version, const Model& m) {
    const std::string from = day_offset(s.cfg.drift_days - 1), to = day_offset(-1);
    const auto read_totals = s.store->totals(name, version, from, to);
    if (!read_totals) return read_totals.problems();
    const auto read_sources = s.store->sources(name, version, from, to);
    if (!read_sources) return read_sources.problems();
    const ReportTotals& totals = *read_totals;
    const std::vector<SourceAggregate>& sources = *read_sources;
    auto pooled = [&](const std::string& hist, size_t bins) {
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
    };
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
    for (size_t f = 0; f < m.schema.fields.size(); ++f)
        fields.push_back(compared(m.reference.fields[f], "field:" + std::to_string(f), "field"));
    // The model's outputs: each class's probability, or a regression's predicted value.
    Json outputs = Json::array();
    for (size_t c = 0; c < m.reference.classes.size(); ++c)
        outputs.push_back(compared(m.reference.classes[c], "probability:" + std::to_string(c), "output"));
    Json classes = Json::array();
    const PooledCounts predicted = pooled("predicted", m.schema.num_classes());
    if (!m.schema.outputs.regression() && predicted.n >= min_in_histogram && predicted.sources >= min_sources) {
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
                {"predicted_classes", classes}};
}

}  // namespace ldx
