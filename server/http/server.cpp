// server/http/server.cpp — see server.h: the HTTP server's start (HttpServer::create), the checks every
// request passes before it is routed, and run/stop.
//
// Index of this file
//   [SECTION] Start
//   [SECTION] Checks before routing (headers, ranges, roles; the web folder's text files compressed)
//   [SECTION] Run and stop
//
// Where the rest lives: config.cpp (flags), state.h (what the process holds), ingest.h (group
// commit), rate_limit.h, request_metrics.h, routes_files.cpp, routes_bundles.cpp,
// routes_reports.cpp, drift.cpp, prometheus.cpp (routes.h lists them), front.cpp (connections),
// request_head.cpp (where a request ends).
#include "http/server.h"

#include <sys/socket.h>

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

//-----------------------------------------------------------------------------
// [SECTION] Start
//-----------------------------------------------------------------------------
Result<std::unique_ptr<HttpServer>> HttpServer::create(const ServerConfig& cfg) {
    std::unique_ptr<HttpServer> app(new HttpServer());  // private constructor
    app->s_ = std::make_unique<State>();
    State& s = *app->s_;
    s.cfg = cfg;
    auto trust = file_read(cfg.trust_path, 1u << 20);
    if (!trust) return trust.problems();
    auto root = trust_root_parse(*trust, unix_now());
    if (!root) return problem(root.error().code, cfg.trust_path + ": " + root.error().message);
    s.root = *root;
    s.trust_text = *trust;
    auto key_text = file_read(cfg.index_key_path, 1u << 16);
    if (!key_text) return key_text.problems();
    auto key = signing_key_parse(*key_text);
    if (!key) return problem(key.error().code, cfg.index_key_path + ": " + key.error().message);
    if (!s.root.find(key->keyid))
        return problem("bad_key", cfg.index_key_path + ": key " + key->keyid +
                                      " is not in the trust root, so clients could not verify the index");
    s.index_key = *key;
    auto token = file_read(cfg.token_path, 4096);
    if (!token) return token.problems();
    s.token = *token;
    while (!s.token.empty() && (s.token.back() == '\n' || s.token.back() == '\r' || s.token.back() == ' '))
        s.token.pop_back();
    if (s.token.size() < 16) return problem("bad_token", cfg.token_path + ": the token must be at least 16 characters");
    if (!cfg.operator_token_path.empty()) {
        auto ops = file_read(cfg.operator_token_path, 1u << 16);
        if (!ops) return ops.problems();
        std::string line;
        for (char c : *ops + "\n") {
            if (c != '\n') {
                if (c != '\r') line += c;
                continue;
            }
            while (!line.empty() && line.back() == ' ') line.pop_back();
            if (!line.empty() && line.size() < 16)
                return problem("bad_token",
                               cfg.operator_token_path + ": each operator token must be at least 16 characters");
            if (!line.empty()) s.operator_tokens.push_back(line);
            line.clear();
        }
        if (s.operator_tokens.empty())
            return problem("bad_token", cfg.operator_token_path + ": no operator token in the file");
    }
    auto store = store_open(cfg.store, cfg.data_dir, cfg.store_readers, cfg.store_timeout_seconds);
    if (!store) return store.problems();
    s.store = std::move(*store);
    if (auto ok = s.refresh_catalog(); !ok) return ok.problems();
    if (auto pruned = s.store->prune(utc_day(unix_now() - int64_t{cfg.retention_days} * 86400)); !pruned)
        return pruned.problems();  // retention, at start
    if (auto forgot = s.store->forget_salts(salt_keep_from(unix_now())); !forgot) return forgot.problems();
    s.poller = std::thread([&s] { s.poll_loop(); });
    s.ingest = std::make_unique<Ingest>(*s.store, cfg.retention_days, cfg.source_day_max);
    s.limiter = std::make_unique<RateLimiter>(cfg.rate_limit_per_minute);
    if (!cfg.web_dir.empty() && !std::filesystem::is_directory(cfg.web_dir))
        return problem("io", "--web " + cfg.web_dir + " is not a folder");
    auto ehrs = ehr_origins_read(cfg.web_dir);
    if (!ehrs) return ehrs.problems();
    s.ehr_origins = std::move(*ehrs);
    return app;
}

HttpServer::~HttpServer() = default;

namespace {

//-----------------------------------------------------------------------------
// [SECTION] Checks before routing
//-----------------------------------------------------------------------------
// What a request may carry, checked on its headers before anything else is read. Only two routes
// take a body (publishing and reports); a body anywhere else is refused rather than read and
// thrown away. A chunked body is refused everywhere: every client of ours sends a length, and a
// chunked report would slip past the 64 KiB check on Content-Length.
inline constexpr size_t kMaxHeaders = 64, kMaxHeaderBytes = 16 * 1024;

std::optional<Refusal> refuse_before_body(const httplib::Request& req, const Route* route) {
    if (req.path.find('\0') != std::string::npos) return Refusal{404, "http_404", "not found"};
    size_t header_bytes = 0;
    for (const auto& [k, v] : req.headers) header_bytes += k.size() + v.size() + 4;
    if (req.headers.size() > kMaxHeaders || header_bytes > kMaxHeaderBytes)
        return Refusal{431, "headers_too_large",
                       "at most " + std::to_string(kMaxHeaders) + " headers and " +
                           std::to_string(kMaxHeaderBytes / 1024) + " KiB of them"};
    const bool chunked = req.has_header("Transfer-Encoding");
    if (chunked && req.has_header("Content-Length"))
        return Refusal{400, "bad_framing", "a request has a Content-Length or a Transfer-Encoding, not both"};
    if (chunked) return Refusal{411, "length_required", "send the body with a Content-Length (no chunked encoding)"};
    // (The connection front refuses these from the head already; HTTPS served by the server itself
    // goes through cpp-httplib's own connection handling, so they are checked here too.)
    if (req.has_header("Content-Encoding"))
        return Refusal{415, "content_encoding", "request bodies are sent uncompressed (no Content-Encoding)"};
    // Bodies: only where the route table allows one, and no larger than it says.
    const uint64_t max_body = route ? route->max_body : 0;
    const std::string len = req.get_header_value("Content-Length");
    if (max_body == 0 && !len.empty() && len != "0") return Refusal{413, "no_body", "this route takes no request body"};
    if (max_body > 0 && !req.has_header("Content-Length"))
        return Refusal{411, "length_required", "a request to " + req.path + " needs a Content-Length"};
    if (max_body > 0 && std::strtoull(len.c_str(), nullptr, 10) > max_body)
        return Refusal{413, "too_large",
                       req.path == "/api/v1/metrics"
                           ? "a report is at most " + std::to_string(max_body) + " bytes"
                           : "a request to " + req.path + " is at most " + std::to_string(max_body) + " bytes"};
    if (req.method == "POST" && req.path == "/api/v1/metrics") {
        // Only JSON: a form or text/plain POST is a "simple" cross-site request any web page could
        // make its visitors' browsers send; application/json needs a CORS preflight we never grant.
        std::string type = req.get_header_value("Content-Type");
        type = type.substr(0, type.find(';'));
        for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        while (!type.empty() && type.back() == ' ') type.pop_back();
        if (type != "application/json")
            return Refusal{415, "unsupported_media_type", "a report is sent as application/json"};
        // A browser names the page that sends a report: only our own pages may.
        const std::string origin = req.get_header_value("Origin"), host = req.get_header_value("Host");
        if (!origin.empty() && origin != "http://" + host && origin != "https://" + host)
            return Refusal{403, "foreign_origin", "reports are accepted only from this server's own pages"};
    }
    return std::nullopt;
}

// A range as cpp-httplib parsed it ({first, last}, -1 for an open end; {-1, n}: the last n bytes)
// made concrete inside a resource of `size` bytes, or nullopt when no byte of it is there.
std::optional<std::pair<ssize_t, ssize_t>> clamp_range(std::pair<ssize_t, ssize_t> r, uint64_t size) {
    const auto n = static_cast<ssize_t>(size);
    if (r.first < 0) {  // suffix: the last r.second bytes
        if (r.second <= 0 || n == 0) return std::nullopt;
        return std::pair<ssize_t, ssize_t>{std::max<ssize_t>(0, n - r.second), n - 1};
    }
    if (r.first >= n) return std::nullopt;
    const ssize_t last = r.second < 0 || r.second >= n ? n - 1 : r.second;
    if (last < r.first) return std::nullopt;
    return std::pair<ssize_t, ssize_t>{r.first, last};
}

thread_local std::chrono::steady_clock::time_point request_start;

}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] Run and stop
//-----------------------------------------------------------------------------
Result<Ok> HttpServer::run() {
    State& s = *s_;
    if (!s.cfg.tls_cert.empty()) {
        s.http = std::make_unique<httplib::SSLServer>(s.cfg.tls_cert.c_str(), s.cfg.tls_key.c_str());
        const int threads = s.cfg.threads;
        s.http->new_task_queue = [threads] {
            return new httplib::ThreadPool(static_cast<size_t>(threads));
        };  // owned by httplib
    } else {
        FrontLimits limits;
        limits.workers = s.cfg.threads;
        limits.max_waiting = 16 * static_cast<size_t>(s.cfg.threads);  // beyond: 503, not an unbounded wait
        limits.max_per_source = static_cast<size_t>(s.cfg.max_connections_per_source);
        limits.max_busy_per_source = static_cast<size_t>(s.cfg.max_busy_per_source);
        limits.trusted_proxies = s.cfg.trusted_proxies;
        limits.head_timeout = std::chrono::seconds(s.cfg.header_timeout_seconds);
        limits.idle_timeout = std::chrono::seconds(s.cfg.idle_timeout_seconds);
        auto front = std::make_unique<FrontServer>(limits);
        s.front = front.get();
        s.http = std::move(front);
    }
    httplib::Server& svr = *s.http;
    if (!svr.is_valid()) return problem("tls", "cannot load the TLS certificate or key");

    // Limits set on purpose (cpp-httplib's defaults suit a toy, not a public server):
    // bundles are at most 256 MiB (the bundle reader's limit); reports are checked against 64 KiB
    // before their body is read; keep-alive serves many requests per connection (the default 5
    // would make load clients reconnect constantly); workers are many because each may wait on
    // a group commit (Debian's library fixes its default pool at build time).
    svr.set_payload_max_length(BundleLimits{}.max_bytes);
    svr.set_keep_alive_max_count(10000);
    // httplib writes headers and body separately: without TCP_NODELAY, Nagle's algorithm and the
    // peer's delayed ACK add ~40 ms to every response (measured: 44 ms p50 for /healthz).
    svr.set_tcp_nodelay(true);
    svr.set_read_timeout(30, 0);
    svr.set_write_timeout(30, 0);

    svr.set_pre_routing_handler([&s](const httplib::Request& req, httplib::Response& res) {
        request_start = std::chrono::steady_clock::now();
        // Refusals decided from the request line and headers alone, before any body is read
        // (cpp-httplib reads a body only after this handler declines).
        const Route* route = route_find(req.method, req.path);  // nullptr: a static file
        if (auto refusal = refuse_before_body(req, route)) {
            s.metrics.reject(refusal->problem.code);
            res.set_header("Connection", "close");
            send_json(res, refusal->status, error_body(*refusal));
            front_close_after_response();
            return httplib::Server::HandlerResponse::Handled;
        }
        // One byte range at most, inside the resource: cpp-httplib would build a multipart answer of
        // any number of (overlapping) ranges in memory, and does not clamp a range's end to the size.
        if (!req.ranges.empty()) {
            const std::optional<uint64_t> size = resource_size(s, req.path);
            if (req.ranges.size() > 1 || !size) {
                if (req.ranges.size() > 1) s.metrics.reject("multiple_ranges");
                // Served whole: a client that asks for several ranges, or a range of something with no fixed size, gets
                // it all.
                const_cast<httplib::Request&>(req)
                    .ranges.clear();  // the one request object of this exchange, ours to adjust here
            } else if (auto r = clamp_range(req.ranges[0], *size)) {
                const_cast<httplib::Request&>(req).ranges[0] = *r;
            } else {
                res.set_header("Content-Range", "bytes */" + std::to_string(*size));
                const_cast<httplib::Request&>(req).ranges.clear();
                send_json(res, 416,
                          error_body("range_not_satisfiable",
                                     "the range lies outside the " + std::to_string(*size) + " bytes"));
                front_close_after_response();
                return httplib::Server::HandlerResponse::Handled;
            }
        }
        // Roles, from the route table: operations data for operators only (live drift figures and
        // rejection counts would tell a poisoner how their forged reports land), publishing for
        // the administrator.
        if (route && route->role == Role::operator_token) {
            const std::string auth = req.get_header_value("Authorization");
            bool allowed = false;
            for (const auto& t : s.operator_tokens) allowed = constant_time_equal(auth, "Bearer " + t) || allowed;
            if (!allowed) {
                s.metrics.reject("unauthorized");
                res.set_header("WWW-Authenticate", "Bearer");
                send_json(res, 401,
                          error_body("unauthorized", s.operator_tokens.empty()
                                                         ? "this server has no operator token (--operator-token-file), "
                                                           "so nobody reads operations data"
                                                         : "reading operations data needs an operator's bearer token"));
                front_close_after_response();
                return httplib::Server::HandlerResponse::Handled;
            }
        }
        if (route && route->role == Role::administrator) {
            const std::string auth = req.get_header_value("Authorization");
            const std::string expect = "Bearer " + s.token;
            if (!constant_time_equal(auth, expect)) {
                s.metrics.reject("unauthorized");
                res.set_header("WWW-Authenticate", "Bearer");
                send_json(res, 401, error_body("unauthorized", "publishing needs the administrator's bearer token"));
                front_close_after_response();
                return httplib::Server::HandlerResponse::Handled;
            }
        }
        // The web folder's text files, compressed once and kept (compressed_files.h); any other
        // static file, a range, or a client without Brotli gets cpp-httplib's own handler, told
        // the client accepts no encoding: it would otherwise compress the file again on every
        // request at its slowest setting (a HEAD, "br;q=0", a range of a compressed whole).
        if (route) return httplib::Server::HandlerResponse::Unhandled;
        if ((req.method == "GET" || req.method == "HEAD") && req.ranges.empty() &&
            accepts_brotli(req.get_header_value("Accept-Encoding")))
            if (const auto file = web_file(s.cfg.web_dir, req.path))
                if (auto compressed = s.compressed.get(*file)) {
                    res.status = 200;
                    res.set_header("Content-Encoding", "br");
                    // A sized provider: cpp-httplib sends it as it is (it compresses only bodies and
                    // chunked providers).
                    std::shared_ptr<const std::string> body = std::move(compressed->body);
                    res.set_content_provider(body->size(), compressed->content_type,
                                             [body](size_t offset, size_t length, httplib::DataSink& sink) {
                                                 return sink.write(body->data() + offset, length);
                                             });
                    return httplib::Server::HandlerResponse::Handled;
                }
        const_cast<httplib::Request&>(req).headers.erase("Accept-Encoding");
        return httplib::Server::HandlerResponse::Unhandled;
    });
    svr.set_post_routing_handler(
        [&s](const httplib::Request& req, httplib::Response& res) { security_headers(req, res, s.ehr_origins); });
    svr.set_logger([&s](const httplib::Request& req, const httplib::Response& res) {
        // Latency from the end of the request headers (pre-routing, same thread) to the response
        // being written; the log holds no address, query or body.
        const std::string route = route_of(req.path);
        s.metrics.observe(route, res.status,
                          std::chrono::duration<double>(std::chrono::steady_clock::now() - request_start).count());
        if (s.cfg.access_log && route != "static")
            std::fprintf(stdout, "%s %s %s %d %zu\n", utc_format(unix_now()).c_str(), req.method.c_str(), route.c_str(),
                         res.status, res.body.size());
    });
    svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        // A bug, not the client's input: say so without the exception's text (internals).
        send_json(res, 500, error_body("internal", "the server could not handle this request"));
    });
    // Every answer of status 400 or more ends its connection (the front closes it and drops what the
    // client still sends: an unread body is never parsed as a request), and says so.
    svr.set_error_handler([](const httplib::Request&, httplib::Response& res) {
        if (!res.has_header("Connection")) res.set_header("Connection", "close");
        front_close_after_response();
        if (res.body.empty())
            send_json(
                res, res.status,
                error_body("http_" + std::to_string(res.status), res.status == 404 ? "not found" : "request failed"));
    });

    RouteRegistrar routes{svr, {}};
    routes_files(s, routes);
    routes_bundles(s, routes);
    routes_reports(s, routes);
    routes_prometheus(s, routes);
    if (!routes.problems.empty()) return routes.problems;

    // Debian's cpp-httplib listens with a backlog of 5 (fixed at its build): 64 clients connecting
    // at once overflowed it (nstat: ListenOverflows, SYN retransmits; requests stalled 1-1.7 s).
    // Linux lets listen() be called again on the bound socket to raise the backlog.
    socket_t listening = -1;
    // SO_REUSEADDR (restart at once after a stop, connections in TIME_WAIT) but not httplib's
    // default SO_REUSEPORT: with it a second server on the same port binds too, and the kernel
    // splits connections between them; an operator's mistake must fail at start instead.
    svr.set_socket_options([&listening](socket_t sock) {
        int yes = 1;
        ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        listening = sock;
    });
    if (!svr.bind_to_port(s.cfg.host.c_str(), s.cfg.port))
        return problem("io", "cannot listen on " + s.cfg.host + ":" + std::to_string(s.cfg.port));
    if (listening >= 0 && ::listen(listening, 1024) != 0)
        std::fprintf(stderr, "localdx-server: cannot raise the listen backlog: %s\n", std::strerror(errno));
    s.ready = true;
    const std::string where =
        std::string(s.store->kind()) == "sqlite" ? "sqlite, data " + s.cfg.data_dir : store_uri_for_log(s.cfg.store);
    std::fprintf(stdout, "localdx-server listening on %s://%s:%d (store %s)\n",
                 s.cfg.tls_cert.empty() ? "http" : "https", s.cfg.host.c_str(), s.cfg.port, where.c_str());
    std::fflush(stdout);
    svr.listen_after_bind();  // returns after stop()
    s.ready = false;
    if (s.front) s.front->drain(std::chrono::seconds(s.cfg.drain_timeout_seconds));  // then every connection closes
    s.ingest->stop();                                                                // commit everything still queued
    return Ok{};
}

void HttpServer::stop() {
    if (s_ && s_->http) s_->http->stop();
}

}  // namespace ldx
