// server/http/routes.h — localdx-server's routes, by room, and the helpers they share.
//
// Index of this file
//   [SECTION] The route table (method, path, role, body limit: the one list)
//   [SECTION] Routes (each room registers its handlers on the server)
//   [SECTION] Shared by the routes and the checks before routing
//
// The route table is the single source of what the server answers: the checks before routing
// (HttpServer::run's pre-routing handler: roles, body limits) read it, every handler is registered
// through route_register() against it, and a test compares it with the OpenAPI description
// (server/http/openapi.json) and the API table in docs/formats.md, both ways.
#pragma once
#include <httplib.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "http/server.h"

namespace ldx {

struct Model;

//-----------------------------------------------------------------------------
// [SECTION] The route table
//-----------------------------------------------------------------------------
enum class Role { anyone, operator_token, administrator };

struct Route {
    std::string_view method;  // "GET" (HEAD is answered as GET) or "POST"
    std::string_view path;    // as in the OpenAPI description: "/api/v1/bundles/{sha256}"
    Role role;                // who may call it (the bearer token it needs)
    uint64_t max_body;        // bytes a request body may have; 0: it takes none
};

// Every route the server answers besides the PWA's static files.
std::span<const Route> route_table();
// The route a request is for, or nullptr (a static file, or nothing). `path` as requested: a
// "{sha256}" segment matches 64 lowercase hex digits.
const Route* route_find(std::string_view method, std::string_view path);
// Registers handlers for the table's routes. A route missing from the table is kept as a problem,
// and HttpServer::run refuses to start with it: nothing is answered that the table does not list.
struct RouteRegistrar {
    httplib::Server& svr;
    std::vector<Problem> problems;
    void add(std::string_view method, std::string_view path, httplib::Server::Handler handler);
};
// A role as docs/formats.md names it: "anyone", "operator", "administrator".
std::string_view role_name(Role role);

//-----------------------------------------------------------------------------
// [SECTION] Routes
//-----------------------------------------------------------------------------
// GET /healthz, /readyz, /api/v1/openapi.json, /api/v1/trust; the PWA's static files (--web).
void routes_files(HttpServer::State& s, RouteRegistrar& routes);
// GET /api/v1/models (the signed index), GET /api/v1/bundles/{sha256}; POST /api/v1/bundles
// (administrator).
void routes_bundles(HttpServer::State& s, RouteRegistrar& routes);
// POST /api/v1/metrics (anonymous reports); GET /api/v1/drift and /api/v1/drift/history (operator).
void routes_reports(HttpServer::State& s, RouteRegistrar& routes);
// GET /metrics (operator): Prometheus text format.
void routes_prometheus(HttpServer::State& s, RouteRegistrar& routes);

//-----------------------------------------------------------------------------
// [SECTION] Shared
//-----------------------------------------------------------------------------
// The headers every answer carries (CSP, cross-origin isolation, caching by status and path). The
// CSP lets the page reach, and be framed by, the origins of the EHRs the site allows.
void security_headers(const httplib::Request& req, httplib::Response& res, const std::vector<std::string>& ehr_origins);
// The origins of the EHRs allowed to launch LocalDx, from the web folder's ehr.json (the list the
// page checks a launch's iss against): none when there is no such file; a problem naming the file
// and the entry when it is malformed (the server does not start).
Result<std::vector<std::string>> ehr_origins_read(const std::string& web_dir);
// A request path as a file inside the web folder, or nullopt when it could leave the folder.
std::optional<std::filesystem::path> web_file(const std::string& web_dir, const std::string& path);
// The size of what a GET of `path` answers with when it is a fixed resource (a bundle, a static
// file); nullopt otherwise. For byte ranges, checked before the request is routed.
std::optional<uint64_t> resource_size(HttpServer::State& s, const std::string& path);
// The UTC day `days` before today ("YYYY-MM-DD"; negative: after).
std::string day_offset(int64_t days);
// Drift of one model version over the window, pooled robustly over sources.
Result<Json> drift_json(HttpServer::State& s, const std::string& name, int64_t version, const Model& m);
// Drift per day (or per ISO week, clipped to the range) from `from` to `to` ("YYYY-MM-DD", valid,
// from <= to): per field and output the debiased live shares, PSI and JS with their intervals,
// predictions and sources; the performance estimated without labels beside the card's figures.
// Periods without reports are left out.
inline constexpr int kMaxHistoryDays = 366;
Result<Json> drift_history_json(HttpServer::State& s, const std::string& name, int64_t version, const Model& m,
                                const std::string& from, const std::string& to, bool weekly);

}  // namespace ldx
