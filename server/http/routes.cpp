// server/http/routes.cpp — the route table (see routes.h).
#include "http/routes.h"

#include <array>
#include <string>

#include "bundle/bundle.h"
#include "drift/report.h"

namespace ldx {

std::span<const Route> route_table() {
    static const std::array<Route, 11> kRoutes{{
        {"GET", "/healthz", Role::anyone, 0},
        {"GET", "/readyz", Role::anyone, 0},
        {"GET", "/api/v1/openapi.json", Role::anyone, 0},
        {"GET", "/api/v1/trust", Role::anyone, 0},
        {"GET", "/api/v1/models", Role::anyone, 0},
        {"GET", "/api/v1/bundles/{sha256}", Role::anyone, 0},
        {"POST", "/api/v1/bundles", Role::administrator, BundleLimits{}.max_bytes},
        {"POST", "/api/v1/metrics", Role::anyone, kMaxReportBytes},
        {"GET", "/api/v1/drift", Role::operator_token, 0},
        {"GET", "/api/v1/drift/history", Role::operator_token, 0},
        {"GET", "/metrics", Role::operator_token, 0},
    }};
    return kRoutes;
}

namespace {
// A request path against a table path: literal segments equal, "{sha256}" 64 lowercase hex digits.
bool path_matches(std::string_view pattern, std::string_view path) {
    constexpr std::string_view kSha = "{sha256}";
    const size_t at = pattern.find(kSha);
    if (at == std::string_view::npos) return pattern == path;
    if (path.size() != pattern.size() - kSha.size() + 64 || path.substr(0, at) != pattern.substr(0, at)) return false;
    for (char c : path.substr(at, 64))
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return path.substr(at + 64) == pattern.substr(at + kSha.size());
}
}  // namespace

const Route* route_find(std::string_view method, std::string_view path) {
    if (method == "HEAD") method = "GET";
    for (const Route& r : route_table())
        if (r.method == method && path_matches(r.path, path)) return &r;
    return nullptr;
}

void RouteRegistrar::add(std::string_view method, std::string_view path, httplib::Server::Handler handler) {
    const Route* route = nullptr;
    for (const Route& r : route_table())
        if (r.method == method && r.path == path) route = &r;
    if (!route) {
        problems.push_back(
            problem("internal", std::string(method) + " " + std::string(path) +
                                    " is registered but not in the route table (server/http/routes.cpp)"));
        return;
    }
    std::string pattern(path);
    if (const size_t at = pattern.find("{sha256}"); at != std::string::npos) pattern.replace(at, 8, "([0-9a-f]{64})");
    if (method == "GET") svr.Get(pattern, std::move(handler));
    else svr.Post(pattern, std::move(handler));
}

std::string_view role_name(Role role) {
    switch (role) {
        case Role::anyone:
            return "anyone";
        case Role::operator_token:
            return "operator";
        case Role::administrator:
            return "administrator";
    }
    return "anyone";
}

}  // namespace ldx
