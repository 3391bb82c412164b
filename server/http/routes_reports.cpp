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

#include "bundle/crypto.h"
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

void routes_reports(HttpServer::State& s, RouteRegistrar& routes) {
    routes.add("POST", "/api/v1/metrics", [&s](const httplib::Request& req, httplib::Response& res) {
        auto reject = [&](int status, const Problem& p) {
            s.metrics.reject(p.code);
            send_json(res, status, error_body(p));
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
        if (const int64_t t = unix_now(); !report_day_current(r->day, t))
            return reject(
                400, problem("bad_report", "day must be within one day of the server's date " + utc_day(t), "day"));
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

    // ?model=NAME[&version=N]: the version (the latest published when not given) and its model, or
    // the answer already sent (400, 404, 500).
    struct Asked {
        std::string name;
        int64_t version = 0;
        std::shared_ptr<const Model> model;
    };
    auto asked = [&s](const httplib::Request& req, httplib::Response& res) -> std::optional<Asked> {
        Asked a;
        a.name = req.get_param_value("model");
        if (a.name.empty()) {
            send_json(res, 400, error_body("usage", "give ?model=NAME (and optionally &version=N)"));
            return std::nullopt;
        }
        if (req.has_param("version")) {
            auto v = to_int("version", req.get_param_value("version"), 1, INT64_MAX);
            if (!v) {
                send_json(res, 400, error_body("usage", v.error().message, "version"));
                return std::nullopt;
            }
            a.version = *v;
        } else {
            for (const auto& b : s.latest_bundles())
                if (b.name == a.name) a.version = b.version;
        }
        auto row = a.version ? s.find_version(a.name, a.version) : std::nullopt;
        if (!row) {
            send_json(res, 404,
                      error_body("unknown_model", "no published bundle " + a.name +
                                                      (a.version ? " v" + std::to_string(a.version) : "")));
            return std::nullopt;
        }
        a.model = s.model(row->sha256);
        if (!a.model) {
            send_json(res, 500, error_body("io", "the stored bundle cannot be read"));
            return std::nullopt;
        }
        return a;
    };
    auto unavailable = [](httplib::Response& res, const Problem& p) {
        std::fprintf(stderr, "localdx-server: cannot read drift: %s\n", p.message.c_str());
        res.set_header("Retry-After", "5");
        send_json(res, 503, error_body("storage_unavailable", "the store cannot be read now; try again"));
    };

    routes.add("GET", "/api/v1/drift", [&s, asked, unavailable](const httplib::Request& req, httplib::Response& res) {
        const auto a = asked(req, res);
        if (!a) return;
        auto drift = drift_json(s, a->name, a->version, *a->model);
        if (!drift) return unavailable(res, drift.error());
        send_json(res, 200, *drift);
    });

    routes.add("GET", "/api/v1/drift/history",
               [&s, asked, unavailable](const httplib::Request& req, httplib::Response& res) {
                   // &from=YYYY-MM-DD&to=YYYY-MM-DD (default: the 30 days to tomorrow), &period=day|week.
                   const std::string to = req.has_param("to") ? req.get_param_value("to") : day_offset(-1);
                   const std::string from = req.has_param("from") ? req.get_param_value("from") : day_offset(28);
                   const std::string period = req.has_param("period") ? req.get_param_value("period") : "day";
                   const auto t_from = utc_parse(from + "T00:00:00Z"), t_to = utc_parse(to + "T00:00:00Z");
                   if (!t_from || from.size() != 10)
                       return send_json(res, 400, error_body("usage", "must be a day like 2026-11-22", "from"));
                   if (!t_to || to.size() != 10)
                       return send_json(res, 400, error_body("usage", "must be a day like 2026-11-22", "to"));
                   if (*t_to < *t_from)
                       return send_json(res, 400, error_body("usage", "must not be before from", "to"));
                   if (*t_to - *t_from > int64_t{kMaxHistoryDays - 1} * 86400)
                       return send_json(
                           res, 400,
                           error_body("usage", "at most " + std::to_string(kMaxHistoryDays) + " days at a time", "to"));
                   if (period != "day" && period != "week")
                       return send_json(res, 400, error_body("usage", "must be day or week", "period"));
                   const auto a = asked(req, res);
                   if (!a) return;
                   auto history = drift_history_json(s, a->name, a->version, *a->model, from, to, period == "week");
                   if (!history) return unavailable(res, history.error());
                   send_json(res, 200, *history);
               });
}

}  // namespace ldx
