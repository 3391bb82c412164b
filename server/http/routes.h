// server/http/routes.h — localdx-server's routes, by room, and the helpers they share.
//
// Index of this file
//   [SECTION] Routes (each registers its handlers on the server)
//   [SECTION] Shared by the routes and the checks before routing
//
// Who may call what: docs/security.md ("Who is who"); the checks that come before any route
// (headers, body sizes, ranges, roles) are App::run's pre-routing handler (app.cpp).
#pragma once
#include <httplib.h>

#include <cstdint>
#include <optional>
#include <string>

#include "base/error.h"
#include "base/json.h"
#include "http/app.h"

namespace ldx {

struct Model;

//-----------------------------------------------------------------------------
// [SECTION] Routes
//-----------------------------------------------------------------------------
// GET /healthz, /readyz, /api/v1/openapi.json, /api/v1/trust; the PWA's static files (--web).
void routes_files(App::State& s, httplib::Server& svr);
// GET /api/v1/models (the signed index), GET /api/v1/bundles/{sha256}; POST /api/v1/bundles
// (administrator).
void routes_bundles(App::State& s, httplib::Server& svr);
// POST /api/v1/metrics (anonymous reports); GET /api/v1/drift (operator).
void routes_reports(App::State& s, httplib::Server& svr);
// GET /metrics (operator): Prometheus text format.
void routes_prometheus(App::State& s, httplib::Server& svr);

//-----------------------------------------------------------------------------
// [SECTION] Shared
//-----------------------------------------------------------------------------
// The headers every answer carries (CSP, cross-origin isolation, caching by status and path).
void security_headers(const httplib::Request& req, httplib::Response& res);
// The size of what a GET of `path` answers with when it is a fixed resource (a bundle, a static
// file); nullopt otherwise. For byte ranges, checked before the request is routed.
std::optional<uint64_t> resource_size(App::State& s, const std::string& path);
// The UTC day `days` before today ("YYYY-MM-DD"; negative: after).
std::string day_offset(int64_t days);
// Drift of one model version over the window, pooled robustly over sources.
Result<Json> drift_json(App::State& s, const std::string& name, int64_t version, const Model& m);

}  // namespace ldx
