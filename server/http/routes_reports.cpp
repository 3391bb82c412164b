// server/http/routes_reports.cpp — metrics reports in, drift out (see routes.h).
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

// The client's network for rate limits and report sources (network_key: an IPv4 address, an
// IPv6 /64): of the peer, or, when the peer is a trusted reverse proxy, of the address it puts in
// X-Real-IP (a well-formed IP address only).
std::string client_network(const ServerConfig& cfg, const httplib::Request& req) {
    if (std::find(cfg.trusted_proxies.begin(), cfg.trusted_proxies.end(), req.remote_addr) == cfg.trusted_proxies.end())
        return network_key(req.remote_addr);
    const std::string real = req.get_header_value("X-Real-IP");
    if (real.empty() || real.size() > 45 || real.find_first_not_of("0123456789abcdefABCDEF.:") != std::string::npos)
        return network_key(req.remote_addr);
    return network_key(real);
}

void routes_reports(App::State& s, RouteRegistrar& routes) {
    routes.add("POST", "/api/v1/metrics", [&s](const httplib::Request& req, httplib::Response& res) {
        auto reject = [&](int status, const Problem& p) {
            s.metrics.reject(p.code);
            send_json(res, status, error_body(p.code, p.message, p.field));
        };
        const std::string client = client_network(s.cfg, req);
        if (!s.limiter->allow(client)) {
            res.set_header("Retry-After", "60");
            return reject(429, problem("rate_limited", "too many reports from this source; try again in a minute"));
        }
        // Model and version first (cheaply), then the strict check against that bundle's reference.
        auto head = json_parse(req.body, "report", JsonLimits{kMaxReportBytes, 4});
        if (!head) return reject(400, head.error());
        if (!head->is_object() || !(*head)["model"].is_string() || !(*head)["version"].is_number_integer())
            return reject(400, problem("bad_report", "a report needs model (text) and version (whole number)"));
        const std::string name = (*head)["model"].get<std::string>();
        const int64_t version = (*head)["version"].get<int64_t>();
        auto row = s.find_version(name, version);
        if (!row)
            return reject(
                404, problem("unknown_model", "no published bundle " + name + " v" + std::to_string(version), "model"));
        auto model = s.model(row->sha256);
        if (!model) {
            res.set_header("Retry-After", "5");
            return reject(503, problem("storage_unavailable", "the server cannot read that bundle now; try again"));
        }
        auto r = report_parse(req.body, model->schema, model->reference);
        if (!r) return reject(400, r.error());
        const std::string today = utc_day(unix_now()), yesterday = day_offset(1), tomorrow = day_offset(-1);
        if (r->day != today && r->day != yesterday && r->day != tomorrow)
            return reject(400,
                          problem("bad_report", "day must be within one day of the server's date " + today, "day"));
        std::string key = req.get_header_value("Idempotency-Key");
        if (!key.empty() && (key.size() != 32 || !hex_decode(key)))
            return reject(400,
                          problem("bad_report", "Idempotency-Key must be 32 lowercase hex digits (16 random bytes)"));
        const auto source = s.source_id(r->day, client);
        if (!source) {
            res.set_header("Retry-After", "5");
            return reject(503,
                          problem("storage_unavailable", "the server cannot store reports now; try again shortly"));
        }
        auto done = s.ingest->submit(IncomingReport{std::move(*r), key, *source});
        auto outcome = done.get();
        if (!outcome) {
            // The reason (PostgreSQL restarting, a full disk) is for the operator's log.
            std::fprintf(stderr, "localdx-server: cannot store reports: %s\n", outcome.error().message.c_str());
            res.set_header("Retry-After", "2");
            return reject(503,
                          problem("storage_unavailable", "the server cannot store reports now; try again shortly"));
        }
        if (*outcome == ReportOutcome::over_daily_limit) {
            res.set_header("Retry-After", "3600");
            return reject(429,
                          problem("daily_limit", "this source has reported " + std::to_string(s.cfg.source_day_max) +
                                                     " predictions today, the most one source may"));
        }
        send_json(res, 202, Json{{"accepted", true}, {"duplicate", *outcome == ReportOutcome::duplicate}});
    });

    routes.add("GET", "/api/v1/drift", [&s](const httplib::Request& req, httplib::Response& res) {
        const std::string name = req.get_param_value("model");
        if (name.empty())
            return send_json(res, 400, error_body("usage", "give ?model=NAME (and optionally &version=N)"));
        int64_t version = 0;
        if (req.has_param("version")) {
            auto v = to_int("version", req.get_param_value("version"), 1, INT64_MAX);
            if (!v) return send_json(res, 400, error_body("usage", v.error().message, "version"));
            version = *v;
        } else {
            for (const auto& b : s.latest_bundles())
                if (b.name == name) version = b.version;
        }
        auto row = version ? s.find_version(name, version) : std::nullopt;
        if (!row)
            return send_json(res, 404,
                             error_body("unknown_model", "no published bundle " + name +
                                                             (version ? " v" + std::to_string(version) : "")));
        auto model = s.model(row->sha256);
        if (!model) return send_json(res, 500, error_body("io", "the stored bundle cannot be read"));
        auto drift = drift_json(s, name, version, *model);
        if (!drift) {
            std::fprintf(stderr, "localdx-server: cannot read drift: %s\n", drift.error().message.c_str());
            res.set_header("Retry-After", "5");
            return send_json(res, 503, error_body("storage_unavailable", "the store cannot be read now; try again"));
        }
        send_json(res, 200, *drift);
    });
}

}  // namespace ldx
