// server/http/routes_files.cpp — health, readiness, the OpenAPI description, the trust root, the PWA's static files and
// the security headers of every answer (see routes.h).
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
#include "base/text.h"
#include "http/state.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Routes: health, static files, headers
//-----------------------------------------------------------------------------
bool content_hashed(const std::string& path) {
    // "name.<hex>.ext" or a folder "name-<hex>/": the content decides the name, so it never changes.
    static const std::regex hashed(R"([.-][0-9a-f]{8,64}[./])");
    return std::regex_search(path, hashed);
}

void security_headers(const httplib::Request& req, httplib::Response& res,
                      const std::vector<std::string>& ehr_origins) {
    // The page talks to this server only, and to the EHRs the site allows (ehr.json): their FHIR
    // servers and authorization servers (connect-src), and their pages may frame it (frame-ancestors).
    std::string ehrs;
    for (const auto& o : ehr_origins) ehrs += " " + o;
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'" + ehrs +
                       "; img-src 'self' data: blob:; style-src 'self'; worker-src 'self' blob:; object-src 'none'; "
                       "base-uri 'none'; frame-ancestors " +
                       (ehrs.empty() ? std::string("'none'") : "'self'" + ehrs) + "; form-action 'none'");
    res.set_header("Cross-Origin-Opener-Policy", "same-origin");
    res.set_header("Cross-Origin-Embedder-Policy", "require-corp");
    res.set_header("Cross-Origin-Resource-Policy", "same-origin");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
    // A static text file may be sent compressed or not, by the request's Accept-Encoding: a shared
    // cache must keep the two apart.
    if (route_of(req.path) == "static" && !res.has_header("Vary")) res.set_header("Vary", "Accept-Encoding");
    // Only a successful answer may be kept: an error for an asset's address must not stick for a
    // year. A 304 carries no Cache-Control, so the stored answer keeps its own.
    const bool success = res.status >= 200 && res.status < 300;
    if (res.status == 304) return;
    if (!success) {
        if (res.has_header("Cache-Control")) res.headers.erase("Cache-Control");
        res.set_header("Cache-Control", "no-store");
    } else if (!res.has_header("Cache-Control")) {
        if (route_of(req.path) != "static") res.set_header("Cache-Control", "no-store");
        else if (content_hashed(req.path)) res.set_header("Cache-Control", "public, max-age=31536000, immutable");
        else res.set_header("Cache-Control", "no-cache");
    }
}

// A request path as a file inside the web folder, or nullopt: only plain names separated by
// single slashes ("/", "a/b.js"), nothing that could leave the folder ("..", an absolute or
// doubled slash, a backslash, a NUL), checked before any file-system call.
std::optional<std::filesystem::path> web_file(const std::string& web_dir, const std::string& path) {
    if (web_dir.empty() || path.empty() || path.front() != '/') return std::nullopt;
    const std::string rel = path == "/" ? std::string("index.html") : path.substr(1);
    if (rel.empty() || rel.front() == '/' || rel.find("//") != std::string::npos ||
        rel.find('\\') != std::string::npos || rel.find('\0') != std::string::npos)
        return std::nullopt;
    for (size_t at = 0; at <= rel.size();) {
        const size_t end = std::min(rel.find('/', at), rel.size());
        const std::string_view part = std::string_view(rel).substr(at, end - at);
        if (part.empty() || part == "." || part == "..") return std::nullopt;
        at = end + 1;
    }
    return std::filesystem::path(web_dir) / std::filesystem::path(rel);
}

// The size of what a GET of `path` answers with, when it is a fixed resource (a bundle, a static
// file); nullopt otherwise. For byte ranges, checked before the request is routed.
std::optional<uint64_t> resource_size(HttpServer::State& s, const std::string& path) {
    static const std::regex bundle(R"(/api/v1/bundles/([0-9a-f]{64}))");
    std::smatch m;
    if (std::regex_match(path, m, bundle)) {
        auto row = s.find_bundle(m[1]);
        return row ? std::optional<uint64_t>(static_cast<uint64_t>(row->size)) : std::nullopt;
    }
    const auto file = web_file(s.cfg.web_dir, path);
    if (!file) return std::nullopt;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(*file, ec)) return std::nullopt;
    const auto size = std::filesystem::file_size(*file, ec);
    return ec ? std::nullopt : std::optional<uint64_t>(size);
}

Result<std::vector<std::string>> ehr_origins_read(const std::string& web_dir) {
    std::vector<std::string> origins;
    if (web_dir.empty()) return origins;
    const std::string path = (std::filesystem::path(web_dir) / "ehr.json").string();
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return origins;
    auto text = file_read(path, 64 * 1024);
    if (!text) return text.problems();
    auto j = json_parse(*text, path, JsonLimits{64 * 1024, 4});
    if (!j) return j.problems();
    if (!j->is_object() || !j->contains("ehrs") || !(*j)["ehrs"].is_array())
        return problem("bad_ehr_list",
                       path + ": expected {\"ehrs\": [{\"iss\": \"https://…\", \"client_id\": \"…\"}]}");
    for (const Json& e : (*j)["ehrs"]) {
        const std::string iss =
            e.is_object() && e.contains("iss") && e["iss"].is_string() ? e["iss"].get<std::string>() : "";
        // scheme://host[:port], from an absolute http(s) address without spaces or quotes.
        const size_t scheme = iss.find("://");
        const std::string proto = scheme == std::string::npos ? "" : iss.substr(0, scheme);
        const size_t end = scheme == std::string::npos ? 0 : iss.find('/', scheme + 3);
        const std::string origin = iss.substr(0, end == std::string::npos ? iss.size() : end);
        if ((proto != "https" && proto != "http") || origin.size() <= scheme + 3 ||
            origin.find_first_of(" ;'\"\\,") != std::string::npos)
            return problem("bad_ehr_list", path + ": each EHR needs an \"iss\" that is an http(s) address, not '" +
                                               printable(iss) + "'");
        if (std::find(origins.begin(), origins.end(), origin) == origins.end()) origins.push_back(origin);
    }
    return origins;
}

void routes_files(HttpServer::State& s, RouteRegistrar& routes) {
    routes.add("GET", "/healthz",
               [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });
    routes.add("GET", "/api/v1/openapi.json", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(kOpenApiJson, "application/json");
    });
    routes.add("GET", "/readyz", [&s](const httplib::Request&, httplib::Response& res) {
        // Ready: listening, and the store answered at the last poll (--poll-ms).
        if (s.ready && s.store_ok) res.set_content("ready\n", "text/plain");
        else {
            res.status = 503;
            res.set_content(s.ready ? "store unavailable\n" : "starting\n", "text/plain");
        }
    });
    if (!s.cfg.web_dir.empty()) {
        routes.svr.set_mount_point("/", s.cfg.web_dir);
        for (const WebType& t : kWebTypes) routes.svr.set_file_extension_and_mimetype_mapping(t.extension, t.type);
    }
    // The trust root the app ships with (public keys only).
    routes.add("GET", "/api/v1/trust", [&s](const httplib::Request&, httplib::Response& res) {
        res.set_content(s.trust_text, "application/json");
    });
}

//-----------------------------------------------------------------------------

}  // namespace ldx
