// server/http/routes_bundles.cpp — the signed models index, bundle downloads (ETag, one Range) and publishing (see
// routes.h).
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

// [SECTION] Routes: models index and bundles
//-----------------------------------------------------------------------------
// If-None-Match: "*", or a list of entity tags, weak ("W/...") or strong; a bundle's tag is its
// SHA-256 (weak comparison, as RFC 9110 asks for If-None-Match).
bool etag_matches(std::string_view header, std::string_view sha) {
    while (!header.empty()) {
        const size_t comma = header.find(',');
        std::string_view tag = header.substr(0, comma);
        header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
        while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
        while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
        if (tag == "*") return true;
        if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
        if (tag.size() == sha.size() + 2 && tag.front() == '"' && tag.back() == '"' && tag.substr(1, sha.size()) == sha)
            return true;
    }
    return false;
}

void routes_bundles(HttpServer::State& s, RouteRegistrar& routes) {
    routes.add("GET", "/api/v1/models", [&s](const httplib::Request&, httplib::Response& res) {
        const int64_t now = unix_now();
        Json models = Json::array();
        for (const auto& b : s.latest_bundles()) {
            // The title a clinician picks a model by; its kind, which says what "Save to chart"
            // writes (so that a SMART launch asks for that scope only).
            const auto model = s.model(b.sha256);
            Json entry{{"name", b.name},
                       {"version", b.version},
                       {"sha256", b.sha256},
                       {"size", b.size},
                       {"expires", b.expires},
                       {"url", "/api/v1/bundles/" + b.sha256},
                       {"title", model ? model->schema.title : b.name}};
            if (model) entry["kind"] = task_kind_name(model->schema.outputs.kind);
            models.push_back(std::move(entry));
        }
        res.set_content(models_index_sign(models, now, int64_t{s.cfg.index_ttl_hours} * 3600, s.index_key),
                        "application/json");
    });

    routes.add("GET", "/api/v1/bundles/{sha256}", [&s](const httplib::Request& req, httplib::Response& res) {
        const std::string sha = req.matches[1];
        auto row = s.find_bundle(sha);
        auto data = row ? s.bundle_bytes(sha) : nullptr;
        if (!data) return send_json(res, 404, error_body("not_found", "no bundle with that SHA-256"));
        const std::string etag = "\"" + sha + "\"";
        res.set_header("ETag", etag);
        if (etag_matches(req.get_header_value("If-None-Match"), sha)) {
            res.status = 304;
            return;
        }
        res.set_header("Cache-Control", "public, max-age=31536000, immutable");
        s.metrics.download(row->name, row->version);
        // Served from the one copy this process keeps of the bundle, never copied per connection
        // (httplib answers a Range request by asking for that range).
        res.set_content_provider(data->size(), "application/octet-stream",
                                 [data](size_t offset, size_t length, httplib::DataSink& sink) {
                                     constexpr size_t kPiece = 64 * 1024;
                                     return sink.write(data->data() + offset, std::min(length, kPiece));
                                 });
    });

    routes.add("POST", "/api/v1/bundles", [&s](const httplib::Request& req, httplib::Response& res) {
        // (The bearer token was checked before the body was read: see the pre-routing handler.)
        auto reject = [&](int status, const Problem& p) {
            s.metrics.reject(p.code);
            send_json(res, status, error_body(p));
        };
        const std::string_view body = req.body;
        auto manifest = bundle_peek_manifest(body);
        if (!manifest) return reject(422, manifest.error());
        // The identical bytes again (a restarted deployment script): nothing to do, and not an error.
        if (auto same = s.find_version(manifest->name, manifest->version); same && same->sha256 == sha256_hex(body)) {
            return send_json(res, 200,
                             Json{{"name", same->name},
                                  {"version", same->version},
                                  {"sha256", same->sha256},
                                  {"size", same->size},
                                  {"url", "/api/v1/bundles/" + same->sha256},
                                  {"already_published", true}});
        }
        int64_t latest = 0;
        for (const auto& b : s.latest_bundles())
            if (b.name == manifest->name) latest = b.version;
        auto v = bundle_verify(body, s.root, VerifyPolicy{unix_now(), latest, {}});
        if (!v) return reject(422, v.error());
        if (v->manifest.version <= latest)
            return reject(409, problem("version_not_newer",
                                       v->manifest.name + " v" + std::to_string(latest) +
                                           " is already published; a new bundle needs a higher version",
                                       "version"));
        auto m = model_from_bundle(*v);
        if (!m) return reject(422, m.error());
        BundleRow row{v->sha256,
                      v->manifest.name,
                      v->manifest.version,
                      static_cast<int64_t>(body.size()),
                      utc_format(v->manifest.created),
                      utc_format(v->manifest.expires),
                      utc_format(unix_now())};
        auto stored = s.store->put_bundle(row, body);
        if (!stored && stored.error().code == "io") {
            // The reason (a full disk, a path) is for the operator's log, not for the client.
            std::fprintf(stderr, "localdx-server: cannot store a bundle: %s\n", stored.error().message.c_str());
            res.set_header("Retry-After", "60");
            return reject(
                503, problem("storage_unavailable",
                             "the server cannot store the bundle now; its operator can see why in the server's log"));
        }
        if (!stored) return reject(409, stored.error());
        s.remember(row);
        send_json(res, 201,
                  Json{{"name", row.name},
                       {"version", row.version},
                       {"sha256", row.sha256},
                       {"size", row.size},
                       {"url", "/api/v1/bundles/" + row.sha256}});
    });
}

//-----------------------------------------------------------------------------

}  // namespace ldx
