// server/http/prometheus.cpp — /metrics in the Prometheus text format, for operators (see routes.h).
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
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

std::string prom_escape(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

void routes_prometheus(HttpServer::State& s, RouteRegistrar& routes) {
    routes.add("GET", "/metrics", [&s](const httplib::Request&, httplib::Response& res) {
        std::ostringstream o;
        o.precision(10);
        // One metric family: its HELP and TYPE lines, then its samples.
        auto family = [&o](const char* name, const char* type, const char* help, const std::string& samples) {
            o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n" << samples;
        };
        std::ostringstream reports, psi, js, predictions, classes, sources, volume;
        // Performance estimated without labels (drift window): per figure the estimate, its 95%
        // interval's ends and the model card's figure.
        constexpr const char* kEstimated[] = {"auc", "sensitivity", "specificity", "ppv", "alert_rate"};
        std::map<std::string, std::ostringstream> estimated;
        // Regression: the expected coverage of the prediction interval, per level, and the card's.
        std::ostringstream coverage, coverage_lower, coverage_upper, coverage_card;
        coverage.precision(10);
        const auto reported = s.store->reported_versions();
        if (!reported) {
            res.set_header("Retry-After", "5");
            return send_json(res, 503, error_body("storage_unavailable", "the store cannot be read now; try again"));
        }
        for (const auto& [name, version] : *reported) {
            auto row = s.find_version(name, version);
            auto model = row ? s.model(row->sha256) : nullptr;
            if (!model) continue;
            const auto drift = drift_json(s, name, version, *model);
            if (!drift) continue;
            const Json& d = *drift;
            const std::string labels =
                "model=\"" + prom_escape(name) + "\",version=\"" + std::to_string(version) + "\"";
            reports << "localdx_reports{" << labels << "} " << d["reports"].get<uint64_t>() << "\n";
            sources << "localdx_report_sources{" << labels << "} " << d["pooling"]["sources"].get<uint64_t>() << "\n";
            volume << "localdx_source_volume_ratio{" << labels << "} "
                   << d["pooling"]["largest_source_over_median"].get<double>() << "\n";
            predictions << "localdx_report_predictions{" << labels << "} " << d["predictions"].get<uint64_t>() << "\n";
            for (const auto& f : d["fields"]) {
                if (!f.contains("psi")) continue;
                const std::string fl = labels + ",field=\"" + prom_escape(f["field"].get<std::string>()) + "\"";
                psi << "localdx_drift_psi{" << fl << "} " << f["psi"].get<double>() << "\n";
                js << "localdx_drift_js_distance{" << fl << "} " << f["js_distance"].get<double>() << "\n";
            }
            // A binary model's figures; a multilabel model's per finding, labelled finding="<name>".
            auto add_estimated = [&](const Json& figures, const std::string& l) {
                for (const char* key : kEstimated) {
                    const Json& f = figures[key];
                    if (!f.is_object()) continue;
                    const std::string k(key);
                    estimated[k] << "localdx_estimated_" << k << "{" << l << "} " << f["value"].get<double>() << "\n";
                    estimated[k + "_lower"] << "localdx_estimated_" << k << "_lower{" << l << "} "
                                            << f["ci95"][0].get<double>() << "\n";
                    estimated[k + "_upper"] << "localdx_estimated_" << k << "_upper{" << l << "} "
                                            << f["ci95"][1].get<double>() << "\n";
                    if (f["card"].is_number())
                        estimated["card_" + k] << "localdx_model_card_" << k << "{" << l << "} "
                                               << f["card"].get<double>() << "\n";
                    if (f.contains("card_lower") && f["card_lower"].is_number())
                        estimated["card_" + k + "_lower"] << "localdx_model_card_" << k << "_lower{" << l << "} "
                                                          << f["card_lower"].get<double>() << "\n";
                }
            };
            if (const Json& perf = d["performance"]; perf.contains("figures")) add_estimated(perf["figures"], labels);
            if (const Json& perf = d["performance"]; perf.contains("findings"))
                for (const auto& f : perf["findings"])
                    if (f.contains("figures"))
                        add_estimated(f["figures"],
                                      labels + ",finding=\"" + prom_escape(f["finding"].get<std::string>()) + "\"");
            // Regression: the expected coverage of the prediction interval, per level.
            if (const Json& perf = d["performance"];
                perf.contains("figures") && perf["figures"].contains("interval_coverage"))
                for (const auto& f : perf["figures"]["interval_coverage"]) {
                    char level[32];
                    std::snprintf(level, sizeof level, "%g", f["level"].get<double>());
                    const std::string ll = labels + ",level=\"" + level + "\"";
                    coverage << "localdx_estimated_interval_coverage{" << ll << "} " << f["value"].get<double>()
                             << "\n";
                    coverage_lower << "localdx_estimated_interval_coverage_lower{" << ll << "} "
                                   << f["ci95"][0].get<double>() << "\n";
                    coverage_upper << "localdx_estimated_interval_coverage_upper{" << ll << "} "
                                   << f["ci95"][1].get<double>() << "\n";
                    if (f["card"].is_number())
                        coverage_card << "localdx_model_card_interval_coverage{" << ll << "} "
                                      << f["card"].get<double>() << "\n";
                }
            for (const auto& c : d["predicted_classes"])
                classes << "localdx_predictions_estimated{" << labels << ",class=\""
                        << prom_escape(c["class"].get<std::string>()) << "\"} "
                        << c["estimated_predictions"].get<double>() << "\n";
        }
        family("localdx_reports", "gauge", "Metrics reports accepted, per model version (window: drift days).",
               reports.str());
        family("localdx_report_predictions", "gauge",
               "Predictions summarised by accepted reports (window: drift days).", predictions.str());
        family("localdx_report_sources", "gauge",
               "Sources (an address on a day) behind the drift figures (window: drift days).", sources.str());
        family("localdx_source_volume_ratio", "gauge",
               "Predictions of the largest source over the median source's (window: drift days); far above 1, one "
               "source reports far more than the others.",
               volume.str());
        family("localdx_predictions_estimated", "gauge", "Predictions per class, debiased from randomized response.",
               classes.str());
        family("localdx_drift_psi", "gauge", "Population stability index of a field against the bundle's reference.",
               psi.str());
        family("localdx_drift_js_distance", "gauge",
               "Jensen-Shannon distance of a field against the bundle's reference.", js.str());
        for (const char* key : kEstimated) {
            const std::string k(key), name = "localdx_estimated_" + k, card = "localdx_model_card_" + k;
            const std::string what = k == "auc" ? "AUC" : k == "ppv" ? "PPV" : k == "alert_rate" ? "alert rate" : k;
            family(name.c_str(), "gauge",
                   ("Estimated " + what +
                    " without labels from the probability histogram and training's out-of-fold outcomes per bin "
                    "(drift window; a multilabel model's per finding, label finding); holds only while outcomes "
                    "follow the probabilities as in training: a covariate shift, not a concept shift.")
                       .c_str(),
                   estimated[k].str());
            family((name + "_lower").c_str(), "gauge",
                   ("Lower end of the 95% interval of the estimated " + what + ".").c_str(),
                   estimated[k + "_lower"].str());
            family((name + "_upper").c_str(), "gauge",
                   ("Upper end of the 95% interval of the estimated " + what + ".").c_str(),
                   estimated[k + "_upper"].str());
            family(card.c_str(), "gauge",
                   ("The model card's " + what + " (out-of-fold at training; an imaging model's on held-out images).")
                       .c_str(),
                   estimated["card_" + k].str());
            family((card + "_lower").c_str(), "gauge",
                   ("Lower end of the 95% interval of the model card's " + what +
                    " (the figure itself when the card gives none): the estimate is below the card when its upper end "
                    "is under this.")
                       .c_str(),
                   estimated["card_" + k + "_lower"].str());
        }
        family("localdx_estimated_interval_coverage", "gauge",
               "Regression: estimated share of patients whose true value lies in the prediction interval at a "
               "level, without labels (drift window); holds only while the errors, given the prediction, stay as "
               "in training.",
               coverage.str());
        family("localdx_estimated_interval_coverage_lower", "gauge",
               "Lower end of the 95% interval of the estimated interval coverage.", coverage_lower.str());
        family("localdx_estimated_interval_coverage_upper", "gauge",
               "Upper end of the 95% interval of the estimated interval coverage.", coverage_upper.str());
        family("localdx_model_card_interval_coverage", "gauge",
               "The model card's interval coverage at a level (cross-fitted, at training).", coverage_card.str());
        std::ostringstream thresholds;
        thresholds.precision(10);
        thresholds << "localdx_drift_psi_threshold{level=\"warn\"} " << s.cfg.psi_warn
                   << "\nlocaldx_drift_psi_threshold{level=\"alert\"} " << s.cfg.psi_alert << "\n";
        family("localdx_drift_psi_threshold", "gauge", "PSI thresholds in force.", thresholds.str());
        {
            std::lock_guard lock(s.metrics.mu);
            std::ostringstream requests, latency, rejected, downloads;
            latency.precision(10);
            for (const auto& [k, v] : s.metrics.requests)
                requests << "localdx_http_requests_total{route=\"" << k.first << "\",status=\"" << k.second << "\"} "
                         << v << "\n";
            for (const auto& [route, ser] : s.metrics.latency) {
                for (size_t i = 0; i < std::size(RequestMetrics::kBuckets); ++i)
                    latency << "localdx_http_request_duration_seconds_bucket{route=\"" << route << "\",le=\""
                            << RequestMetrics::kBuckets[i] << "\"} " << ser.buckets[i] << "\n";
                latency << "localdx_http_request_duration_seconds_bucket{route=\"" << route << "\",le=\"+Inf\"} "
                        << ser.count << "\n";
                latency << "localdx_http_request_duration_seconds_sum{route=\"" << route << "\"} " << ser.sum << "\n";
                latency << "localdx_http_request_duration_seconds_count{route=\"" << route << "\"} " << ser.count
                        << "\n";
            }
            for (const auto& [code, v] : s.metrics.rejected)
                rejected << "localdx_reports_rejected_total{reason=\"" << code << "\"} " << v << "\n";
            for (const auto& [k, v] : s.metrics.downloads) {
                const auto tab = k.find('\t');
                downloads << "localdx_bundle_downloads_total{model=\"" << prom_escape(k.substr(0, tab))
                          << "\",version=\"" << k.substr(tab + 1) << "\"} " << v << "\n";
            }
            family("localdx_http_requests_total", "counter", "HTTP requests by route and status.", requests.str());
            family("localdx_http_request_duration_seconds", "histogram", "Request latency by route.", latency.str());
            family("localdx_reports_rejected_total", "counter", "Rejected reports and uploads by reason.",
                   rejected.str());
            family("localdx_bundle_downloads_total", "counter", "Bundle downloads.", downloads.str());
        }
        if (s.front) {
            const FrontCounts fc = s.front->counts();
            std::ostringstream refused;
            for (const auto& [reason, v] : fc.refused)
                refused << "localdx_connections_refused_total{reason=\"" << reason << "\"} " << v << "\n";
            family("localdx_connections_open", "gauge", "Client connections open now.",
                   "localdx_connections_open " + std::to_string(fc.open) + "\n");
            family("localdx_connections_accepted_total", "counter", "Client connections accepted.",
                   "localdx_connections_accepted_total " + std::to_string(fc.accepted) + "\n");
            family("localdx_connections_refused_total", "counter",
                   "Connections the server answered and closed before their request was processed (busy, too many, "
                   "too slow, too large).",
                   refused.str());
        }
        family("localdx_ingest_commits_total", "counter", "Group commits of metrics reports.",
               "localdx_ingest_commits_total " + std::to_string(s.ingest->batches()) + "\n");
        res.set_content(o.str(), "text/plain; version=0.0.4");
    });
}

}  // namespace ldx
