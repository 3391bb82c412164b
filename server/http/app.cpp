// server/http/app.cpp — see app.h.
//
// Index of this file
//   [SECTION] Configuration
//   [SECTION] Request metrics (for /metrics)
//   [SECTION] Report ingestion: group commit
//   [SECTION] Rate limiting (salted, in memory, never stored)
//   [SECTION] State and model cache
//   [SECTION] Routes: health, static files, headers
//   [SECTION] Routes: models index and bundles
//   [SECTION] Routes: metrics reports, drift, Prometheus
//   [SECTION] Run and stop
#include "http/app.h"

#include <sys/socket.h>

#include <httplib.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "bundle/bundle.h"
#include "bundle/models_index.h"
#include "bundle/trust.h"
#include "drift/report.h"
#include "http/error_body.h"
#include "http/openapi.h"
#include "http/front.h"
#include "io/files.h"
#include "predict/predict.h"
#include "store/store.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Configuration
//-----------------------------------------------------------------------------
namespace {
const char* kServerHelp = R"(Usage: localdx-server [options]

Distributes signed model bundles and collects anonymous aggregate metrics. It never
receives patient data. Every option can also be set by an environment variable.

  --host ADDR            listen address (LOCALDX_HOST, default 127.0.0.1)
  --port N               port (LOCALDX_PORT, default 8080)
  --data DIR             SQLite database and bundle files (LOCALDX_DATA, default ./data)
  --store STORE          where bundles and reports are kept (LOCALDX_STORE): "sqlite" (the default:
                         SQLite under --data, one instance) or a PostgreSQL URI
                         ("postgresql://user@host:5432/localdx"), shared by any number of instances
  --store-readers N      pooled PostgreSQL connections for reads (default 8; one more writes)
  --poll-ms N            how often the store is read for bundles published through another
                         instance, and checked for /readyz (default 1000 ms)
  --web DIR              the PWA to serve at / (LOCALDX_WEB)
  --trust FILE           trust root; published bundles must verify against it (LOCALDX_TRUST, required)
  --token-file FILE      administrator bearer token for publishing (LOCALDX_TOKEN_FILE, required)
  --operator-token-file FILE
                         operator bearer tokens, one per line, for /metrics and /api/v1/drift
                         (LOCALDX_OPERATOR_TOKEN_FILE); without it nobody reads them. The
                         administrator's token reads them only if it is listed here too.
  --index-key FILE       signing key for the models index; must be in the trust root (LOCALDX_INDEX_KEY, required)
  --tls-cert FILE        with --tls-key: serve HTTPS (LOCALDX_TLS_CERT, LOCALDX_TLS_KEY)
  --tls-key FILE
  --threads N            worker threads (LOCALDX_THREADS, default 64); they run complete requests
                         only: connections waiting for a request hold none. At most 16 complete
                         requests per thread wait for one; beyond that the answer is 503
  --max-connections-per-source N
                         open connections from one network (an IPv4 address, an IPv6 /64), 0 = no cap
                         (LOCALDX_MAX_CONNECTIONS_PER_SOURCE, default 32); behind a reverse proxy every
                         client has the proxy's address, so set 0 there and let the proxy cap them
  --trusted-proxy ADDR   a reverse proxy's address (LOCALDX_TRUSTED_PROXY; repeat the option or
                         separate with commas): for requests from it, the client's address for rate
                         limits and report sources is its X-Real-IP header (deploy/nginx sets it)
  --header-timeout S     seconds for a request's line and headers to arrive, from its first byte (default 10)
  --idle-timeout S       seconds a connection may wait with no request in progress (default 5)
  --max-busy-per-source N
                         requests from one network (an IPv4 address, an IPv6 /64) answered at once
                         (default 8); the others wait their turn, so slow downloads from one network
                         cannot hold every worker
  --store-timeout S      seconds a PostgreSQL connection, statement or free pooled connection is
                         waited for before the request is answered 503 (default 5)
  --drain-timeout S      on SIGTERM, seconds requests being answered may take to finish before their
                         connections are cut (default 10); acknowledged reports are committed either way
  --index-ttl-hours N    lifetime of the signed models index (default 24)
  --rate-limit N         metrics reports per source per minute, 0 = off (LOCALDX_RATE_LIMIT, default 60)
  --drift-days N         window of the drift figures in days (default 7)
  --retention-days N     keep report aggregates and idempotency keys this many days (default 400;
                         deleted at start and hourly while reports arrive)
  --drift-min N          patients reported in the window before a drift figure is published
                         (default 20000; below it randomized response's noise alone looks like drift;
                         docs/security.md)
  --drift-min-sources N  distinct sources (an address on a day) needed before a drift figure is
                         published (default 5), so that a few forged sources cannot make one
  --source-day-max N     predictions one source may report per day, all models together
                         (default 50000; beyond: 429)
  --psi-warn X           PSI warning threshold (default 0.1)
  --psi-alert X          PSI alert threshold (default 0.25)
  --no-access-log        do not log requests (the log never holds addresses or bodies)

SIGTERM or SIGINT: stop accepting, finish in-flight requests, commit every pending report, exit.
)";

Result<int64_t> to_int(const std::string& flag, const std::string& v, int64_t lo, int64_t hi) {
    char* end = nullptr;
    const long long x = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end || x < lo || x > hi)
        return problem("usage", flag + " must be a whole number from " + std::to_string(lo) + " to " +
                                    std::to_string(hi) + ", not '" + v + "'");
    return static_cast<int64_t>(x);
}
Result<double> to_double(const std::string& flag, const std::string& v) {
    char* end = nullptr;
    const double x = std::strtod(v.c_str(), &end);
    if (v.empty() || *end || !(x > 0)) return problem("usage", flag + " must be a positive number, not '" + v + "'");
    return x;
}
}  // namespace

Result<ServerConfig> server_config_parse(const std::vector<std::string>& args, std::string& help) {
    ServerConfig c;
    std::map<std::string, std::string> v;
    const std::pair<const char*, const char*> env[] = {
        {"--host", "LOCALDX_HOST"},
        {"--port", "LOCALDX_PORT"},
        {"--data", "LOCALDX_DATA"},
        {"--store", "LOCALDX_STORE"},
        {"--web", "LOCALDX_WEB"},
        {"--trust", "LOCALDX_TRUST"},
        {"--token-file", "LOCALDX_TOKEN_FILE"},
        {"--index-key", "LOCALDX_INDEX_KEY"},
        {"--tls-cert", "LOCALDX_TLS_CERT"},
        {"--tls-key", "LOCALDX_TLS_KEY"},
        {"--threads", "LOCALDX_THREADS"},
        {"--max-connections-per-source", "LOCALDX_MAX_CONNECTIONS_PER_SOURCE"},
        {"--operator-token-file", "LOCALDX_OPERATOR_TOKEN_FILE"},
        {"--trusted-proxy", "LOCALDX_TRUSTED_PROXY"},
        {"--rate-limit", "LOCALDX_RATE_LIMIT"}};
    for (auto [flag, var] : env)
        if (const char* e = std::getenv(var)) v[flag] = e;
    const std::set<std::string> known = {"--host",
                                         "--port",
                                         "--data",
                                         "--store",
                                         "--store-readers",
                                         "--poll-ms",
                                         "--web",
                                         "--trust",
                                         "--token-file",
                                         "--operator-token-file",
                                         "--index-key",
                                         "--tls-cert",
                                         "--tls-key",
                                         "--threads",
                                         "--max-connections-per-source",
                                         "--trusted-proxy",
                                         "--header-timeout",
                                         "--idle-timeout",
                                         "--max-busy-per-source",
                                         "--store-timeout",
                                         "--drain-timeout",
                                         "--index-ttl-hours",
                                         "--rate-limit",
                                         "--drift-days",
                                         "--retention-days",
                                         "--drift-min",
                                         "--drift-min-sources",
                                         "--source-day-max",
                                         "--psi-warn",
                                         "--psi-alert"};
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--help" || args[i] == "-h") {
            help = kServerHelp;
            return c;
        }
        if (args[i] == "--no-access-log") {
            c.access_log = false;
            continue;
        }
        if (!known.count(args[i])) return problem("usage", "unknown option " + args[i] + " (see --help)");
        if (i + 1 >= args.size()) return problem("usage", args[i] + " needs a value");
        if (args[i] == "--trusted-proxy" && v.count(args[i]) && !v[args[i]].empty()) v[args[i]] += "," + args[i + 1];
        else v[args[i]] = args[i + 1];
        ++i;
    }
    auto get = [&](const char* f) { return v.count(f) ? v[f] : std::string(); };
    if (v.count("--host")) c.host = get("--host");
    if (v.count("--data")) c.data_dir = get("--data");
    c.store = get("--store");
    c.web_dir = get("--web");
    c.trust_path = get("--trust");
    c.token_path = get("--token-file");
    c.operator_token_path = get("--operator-token-file");
    c.index_key_path = get("--index-key");
    c.tls_cert = get("--tls-cert");
    c.tls_key = get("--tls-key");
    std::vector<Problem> ps;
    for (std::string_view rest = get("--trusted-proxy"); !rest.empty();) {
        const size_t comma = rest.find(',');
        const std::string addr(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        if (addr.empty() || addr.size() > 45 || addr.find_first_not_of("0123456789abcdefABCDEF.:") != std::string::npos)
            ps.push_back(problem("usage", "--trusted-proxy takes IP addresses, not '" + addr + "'"));
        else c.trusted_proxies.push_back(addr);
    }
    auto num = [&](const char* f, auto& out, int64_t lo, int64_t hi) {
        if (!v.count(f)) return;
        auto r = to_int(f, v[f], lo, hi);
        if (r) out = static_cast<std::remove_reference_t<decltype(out)>>(*r);
        else ps.push_back(r.error());
    };
    num("--port", c.port, 0, 65535);
    num("--threads", c.threads, 4, 1024);
    num("--store-readers", c.store_readers, 1, 256);
    num("--poll-ms", c.poll_ms, 50, 60000);
    num("--max-connections-per-source", c.max_connections_per_source, 0, 1000000);
    num("--header-timeout", c.header_timeout_seconds, 1, 3600);
    num("--idle-timeout", c.idle_timeout_seconds, 1, 3600);
    num("--max-busy-per-source", c.max_busy_per_source, 1, 1024);
    num("--store-timeout", c.store_timeout_seconds, 1, 600);
    num("--drain-timeout", c.drain_timeout_seconds, 0, 3600);
    num("--index-ttl-hours", c.index_ttl_hours, 1, 24 * 365);
    num("--rate-limit", c.rate_limit_per_minute, 0, 100000000);
    num("--drift-days", c.drift_days, 1, 3650);
    num("--retention-days", c.retention_days, 2, 36500);
    num("--drift-min", c.drift_min_predictions, 1, 1000000000);
    num("--drift-min-sources", c.drift_min_sources, 1, 1000000);
    num("--source-day-max", c.source_day_max, 1, 1000000000000);
    for (auto [f, out] : {std::pair{"--psi-warn", &c.psi_warn}, std::pair{"--psi-alert", &c.psi_alert}})
        if (v.count(f)) {
            auto r = to_double(f, v[f]);
            if (r) *out = *r;
            else ps.push_back(r.error());
        }
    for (auto [f, val] : {std::pair{"--trust", &c.trust_path}, std::pair{"--token-file", &c.token_path},
                          std::pair{"--index-key", &c.index_key_path}})
        if (val->empty()) ps.push_back(problem("usage", std::string(f) + " is required (see --help)"));
    if (c.tls_cert.empty() != c.tls_key.empty()) ps.push_back(problem("usage", "--tls-cert and --tls-key go together"));
    if (!(c.psi_warn < c.psi_alert)) ps.push_back(problem("usage", "--psi-warn must be below --psi-alert"));
    if (!ps.empty()) return ps;
    return c;
}

//-----------------------------------------------------------------------------
// [SECTION] Request metrics
//-----------------------------------------------------------------------------
namespace {
struct RequestMetrics {
    static constexpr double kBuckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
    struct Series {
        uint64_t count = 0;
        double sum = 0;
        uint64_t buckets[std::size(kBuckets)] = {};
    };
    std::mutex mu;
    std::map<std::pair<std::string, int>, uint64_t> requests;  // (route, status)
    std::map<std::string, Series> latency;                     // route
    std::map<std::string, uint64_t> rejected;                  // reason code
    std::map<std::string, uint64_t> downloads;                 // "name\tversion"

    void observe(const std::string& route, int status, double seconds) {
        std::lock_guard lock(mu);
        ++requests[{route, status}];
        Series& s = latency[route];
        ++s.count;
        s.sum += seconds;
        for (size_t i = 0; i < std::size(kBuckets); ++i)
            if (seconds <= kBuckets[i]) ++s.buckets[i];
    }
    void reject(const std::string& code) {
        std::lock_guard lock(mu);
        ++rejected[code];
    }
    void download(const std::string& name, int64_t version) {
        std::lock_guard lock(mu);
        ++downloads[name + "\t" + std::to_string(version)];
    }
};

// A route label that never carries a hash, a query or anything a client chose.
std::string route_of(const std::string& path) {
    if (path.rfind("/api/v1/bundles/", 0) == 0) return "/api/v1/bundles/:sha256";
    for (const char* r : {"/api/v1/models", "/api/v1/bundles", "/api/v1/metrics", "/api/v1/drift",
                          "/api/v1/openapi.json", "/metrics", "/healthz", "/readyz", "/api/v1/trust"})
        if (path == r) return r;
    return "static";
}

//-----------------------------------------------------------------------------
// [SECTION] Report ingestion: group commit
//-----------------------------------------------------------------------------
// Handlers enqueue a checked report and wait; one writer thread commits everything queued in a
// single transaction (fsync'd), then answers every waiter. A report is acknowledged only after
// the commit that holds it, so a kill -9 loses nothing acknowledged.
class Ingest {
public:
    Ingest(Store& store, int retention_days, uint64_t source_day_max)
        : store_(store),
          retention_days_(retention_days),
          source_day_max_(source_day_max),
          writer_([this] { loop(); }) {}
    ~Ingest() { stop(); }

    std::future<Result<ReportOutcome>> submit(IncomingReport in) {
        std::lock_guard lock(mu_);
        queue_.push_back({std::move(in), {}});
        auto f = queue_.back().done.get_future();
        cv_.notify_one();
        return f;
    }
    // Commits everything still queued, then ends the writer.
    void stop() {
        {
            std::lock_guard lock(mu_);
            if (stopping_) return;
            stopping_ = true;
        }
        cv_.notify_one();
        if (writer_.joinable()) writer_.join();
    }
    uint64_t batches() const { return batches_; }

private:
    struct Pending {
        IncomingReport in;
        std::promise<Result<ReportOutcome>> done;
    };
    void loop() {
        for (;;) {
            std::deque<Pending> batch;
            {
                std::unique_lock lock(mu_);
                cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
                if (queue_.empty() && stopping_) return;
                const size_t n = std::min<size_t>(queue_.size(), 4096);
                for (size_t i = 0; i < n; ++i) {
                    batch.push_back(std::move(queue_.front()));
                    queue_.pop_front();
                }
            }
            std::vector<IncomingReport> items;
            items.reserve(batch.size());
            for (auto& p : batch) items.push_back(std::move(p.in));
            auto r = store_.add_reports(items, source_day_max_);
            ++batches_;
            for (size_t i = 0; i < batch.size(); ++i) {
                if (r) batch[i].done.set_value(r.value()[i]);
                else batch[i].done.set_value(r.problems());
            }
            // Retention, once an hour while reports arrive (after the answers: no waiter waits for it).
            const auto now = std::chrono::steady_clock::now();
            if (now - last_prune_ > std::chrono::hours(1)) {
                last_prune_ = now;
                (void)store_.prune(utc_day(unix_now() - int64_t{retention_days_} * 86400));  // again next hour
                (void)store_.forget_salts(salt_keep_from(unix_now()));
            }
        }
    }
    Store& store_;
    int retention_days_;
    uint64_t source_day_max_;
    std::chrono::steady_clock::time_point last_prune_ = std::chrono::steady_clock::now();
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Pending> queue_;
    bool stopping_ = false;
    std::atomic<uint64_t> batches_{0};
    std::thread writer_;
};

//-----------------------------------------------------------------------------
// [SECTION] Rate limiting
//-----------------------------------------------------------------------------
// A token bucket per client network (network_key: an IPv4 address, an IPv6 /64), kept by this
// process: behind several instances each keeps its own (docs/operations.md gives the arithmetic).
// Buckets are keyed by the SHA-256 of a per-process random salt and the network: the address
// itself is never kept, logged or written anywhere, and the salt dies with the process.
// Memory is bounded without ever scanning the buckets: they live in two generations of at most
// kMaxBuckets each; every minute the older generation is dropped whole (a bucket unused for a
// minute has refilled, so forgetting it changes nothing). A network first seen while the current
// generation is full waits for the next minute.
class RateLimiter {
public:
    explicit RateLimiter(int per_minute) : per_minute_(per_minute), salt_(ed25519_keypair().public_key) {}
    bool allow(const std::string& network) {
        if (per_minute_ <= 0) return true;
        const std::string key = sha256(salt_ + network).substr(0, 16);
        const double now = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
        std::lock_guard lock(mu_);
        if (now - turned_ >= 60) {
            previous_.swap(current_);
            current_.clear();
            turned_ = now;
        }
        auto it = current_.find(key);
        if (it == current_.end()) {
            if (current_.size() >= kMaxBuckets) return false;
            Bucket b{static_cast<double>(per_minute_), now};
            if (auto old = previous_.find(key); old != previous_.end()) b = old->second;
            it = current_.emplace(key, b).first;
        }
        Bucket& b = it->second;
        b.tokens = std::min<double>(per_minute_, b.tokens + (now - b.at) * per_minute_ / 60.0);
        b.at = now;
        if (b.tokens < 1) return false;
        b.tokens -= 1;
        return true;
    }

private:
    struct Bucket {
        double tokens = 0, at = 0;
    };
    static constexpr size_t kMaxBuckets = 100000;
    int per_minute_;
    std::string salt_;
    std::mutex mu_;
    double turned_ = 0;
    std::unordered_map<std::string, Bucket> current_, previous_;
};

void send_json(httplib::Response& res, int status, const Json& j) {
    res.status = status;
    res.set_content(json_dump(j) + "\n", "application/json");
}
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] State and model cache
//-----------------------------------------------------------------------------
struct App::State {
    ServerConfig cfg;
    TrustRoot root;
    std::string trust_text;
    SigningKey index_key;
    std::string token;
    std::vector<std::string> operator_tokens;  // who may read /metrics and drift
    std::unique_ptr<Store> store;
    std::unique_ptr<Ingest> ingest;
    std::unique_ptr<RateLimiter> limiter;
    RequestMetrics metrics;
    std::unique_ptr<httplib::Server> http;
    FrontServer* front = nullptr;  // the same object as http when serving plain HTTP
    std::atomic<bool> ready{false};

    // The catalog: every published bundle's row, from memory, so that handlers never wait for the
    // store. It is read again every --poll-ms (bundles published through another instance, and
    // whether the store answers: /readyz), and at once when a request names a bundle it lacks.
    std::mutex cache_mu;
    std::vector<BundleRow> catalog;                                   // by name and version
    std::map<std::string, std::shared_ptr<const Model>> models;       // by sha256
    std::map<std::string, std::shared_ptr<const std::string>> bytes;  // by sha256
    std::map<std::string, std::string> salts;                         // day -> the store's salt for it
    std::atomic<bool> store_ok{true};
    std::mutex poll_mu;
    std::condition_variable poll_cv;
    bool stopping = false;
    std::thread poller;
    ~State() {
        {
            std::lock_guard lock(poll_mu);
            stopping = true;
        }
        poll_cv.notify_all();
        if (poller.joinable()) poller.join();
    }

    Result<Ok> refresh_catalog() {
        auto rows = store->bundles();
        if (!rows) return rows.problems();
        std::lock_guard lock(cache_mu);
        catalog = std::move(*rows);
        return Ok{};
    }
    void poll_loop() {
        std::unique_lock lock(poll_mu);
        while (!stopping) {
            poll_cv.wait_for(lock, std::chrono::milliseconds(cfg.poll_ms));
            if (stopping) break;
            lock.unlock();
            const bool ok = refresh_catalog().ok() && store->ping().ok();
            if (ok != store_ok.exchange(ok))
                std::fprintf(stderr, "localdx-server: the store %s\n", ok ? "answers again" : "does not answer");
            lock.lock();
        }
    }
    std::optional<BundleRow> find_in_catalog(const std::function<bool(const BundleRow&)>& match) {
        std::lock_guard lock(cache_mu);
        for (const auto& b : catalog)
            if (match(b)) return b;
        return std::nullopt;
    }
    // A bundle by hash or by name and version; a miss reads the store once more (published
    // through another instance since the last poll).
    // Misses read the store at most every 100 ms, so requests naming made-up bundles cannot
    // turn into a query each.
    std::atomic<int64_t> last_miss_refresh{0};
    std::optional<BundleRow> find(const std::function<bool(const BundleRow&)>& match) {
        if (auto b = find_in_catalog(match)) return b;
        const int64_t now =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
                .count();
        int64_t last = last_miss_refresh;
        if (now - last < 100 || !last_miss_refresh.compare_exchange_strong(last, now)) return std::nullopt;
        if (!refresh_catalog()) return std::nullopt;
        return find_in_catalog(match);
    }
    std::optional<BundleRow> find_bundle(const std::string& sha) {
        return find([&](const BundleRow& b) { return b.sha256 == sha; });
    }
    std::optional<BundleRow> find_version(const std::string& name, int64_t version) {
        return find([&](const BundleRow& b) { return b.name == name && b.version == version; });
    }
    // The highest version of each name (the catalog is sorted by name, then version).
    std::vector<BundleRow> latest_bundles() {
        std::lock_guard lock(cache_mu);
        std::vector<BundleRow> out;
        for (const auto& b : catalog) {
            if (!out.empty() && out.back().name == b.name) out.back() = b;
            else out.push_back(b);
        }
        return out;
    }
    void remember(const BundleRow& row) {
        std::lock_guard lock(cache_mu);
        auto at = std::find_if(catalog.begin(), catalog.end(), [&](const BundleRow& b) {
            return std::tie(b.name, b.version) >= std::tie(row.name, row.version);
        });
        if (at == catalog.end() || at->sha256 != row.sha256) catalog.insert(at, row);
    }
    // The pseudonymous source a report is kept under: the client's address on that day, hashed
    // with the day's salt from the store (the same for every instance, gone with the day).
    std::optional<std::string> source_id(const std::string& day, const std::string& client) {
        std::string salt;
        {
            std::lock_guard lock(cache_mu);
            if (auto it = salts.find(day); it != salts.end()) salt = it->second;
        }
        if (salt.empty()) {
            // A new day: the salts of days that can no longer be reported go, here and in the store.
            const std::string keep_from = salt_keep_from(unix_now());
            if (!store->forget_salts(keep_from)) return std::nullopt;
            auto fresh = store->day_salt(day);
            if (!fresh) return std::nullopt;
            salt = *fresh;
            std::lock_guard lock(cache_mu);
            std::erase_if(salts, [&](const auto& kv) { return kv.first < keep_from; });
            salts[day] = salt;
        }
        return sha256_hex(salt + "\n" + day + "\n" + client).substr(0, 16);
    }

    std::shared_ptr<const std::string> bundle_bytes(const std::string& sha) {
        {
            std::lock_guard lock(cache_mu);
            if (auto it = bytes.find(sha); it != bytes.end()) return it->second;
        }
        auto data = store->bundle_bytes(sha);
        if (!data) return nullptr;
        auto p = std::make_shared<const std::string>(std::move(*data));
        std::lock_guard lock(cache_mu);
        bytes[sha] = p;
        return p;
    }
    // The stored bundle is verified again when first used: the store is not trusted more than
    // the network.
    std::shared_ptr<const Model> model(const std::string& sha) {
        {
            std::lock_guard lock(cache_mu);
            if (auto it = models.find(sha); it != models.end()) return it->second;
        }
        auto data = bundle_bytes(sha);
        if (!data) return nullptr;
        auto v = bundle_verify(*data, root, VerifyPolicy{0, 0, {}});  // expiry is the client's concern here
        if (!v) return nullptr;
        auto m = model_from_bundle(*v);
        if (!m) return nullptr;
        auto p = std::make_shared<const Model>(std::move(*m));
        std::lock_guard lock(cache_mu);
        models[sha] = p;
        return p;
    }
};

Result<std::unique_ptr<App>> App::create(const ServerConfig& cfg) {
    std::unique_ptr<App> app(new App());  // private constructor
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
    return app;
}

App::~App() = default;

namespace {

//-----------------------------------------------------------------------------
// [SECTION] Routes: health, static files, headers
//-----------------------------------------------------------------------------
bool content_hashed(const std::string& path) {
    // "name.<hex>.ext" or a folder "name-<hex>/": the content decides the name, so it never changes.
    static const std::regex hashed(R"([.-][0-9a-f]{8,64}[./])");
    return std::regex_search(path, hashed);
}

void security_headers(const httplib::Request& req, httplib::Response& res) {
    res.set_header(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; img-src 'self' data: blob:; "
        "style-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'none'");
    res.set_header("Cross-Origin-Opener-Policy", "same-origin");
    res.set_header("Cross-Origin-Embedder-Policy", "require-corp");
    res.set_header("Cross-Origin-Resource-Policy", "same-origin");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
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
std::optional<uint64_t> resource_size(App::State& s, const std::string& path) {
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

void routes_health(App::State& s, httplib::Server& svr) {
    svr.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });
    svr.Get("/api/v1/openapi.json",
            [](const httplib::Request&, httplib::Response& res) { res.set_content(kOpenApiJson, "application/json"); });
    svr.Get("/readyz", [&s](const httplib::Request&, httplib::Response& res) {
        // Ready: listening, and the store answered at the last poll (--poll-ms).
        if (s.ready && s.store_ok) res.set_content("ready\n", "text/plain");
        else {
            res.status = 503;
            res.set_content(s.ready ? "store unavailable\n" : "starting\n", "text/plain");
        }
    });
    if (!s.cfg.web_dir.empty()) {
        svr.set_mount_point("/", s.cfg.web_dir);
        svr.set_file_extension_and_mimetype_mapping("mjs", "text/javascript");
        svr.set_file_extension_and_mimetype_mapping("js", "text/javascript");
        svr.set_file_extension_and_mimetype_mapping("wasm", "application/wasm");
        svr.set_file_extension_and_mimetype_mapping("webmanifest", "application/manifest+json");
        svr.set_file_extension_and_mimetype_mapping("json", "application/json");
    }
    // The trust root the app ships with (public keys only).
    svr.Get("/api/v1/trust", [&s](const httplib::Request&, httplib::Response& res) {
        res.set_content(s.trust_text, "application/json");
    });
}

//-----------------------------------------------------------------------------
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

void routes_bundles(App::State& s, httplib::Server& svr) {
    svr.Get("/api/v1/models", [&s](const httplib::Request&, httplib::Response& res) {
        const int64_t now = unix_now();
        Json models = Json::array();
        for (const auto& b : s.latest_bundles()) {
            const auto model = s.model(b.sha256);  // the title a clinician picks a model by
            models.push_back({{"name", b.name},
                              {"version", b.version},
                              {"sha256", b.sha256},
                              {"size", b.size},
                              {"expires", b.expires},
                              {"url", "/api/v1/bundles/" + b.sha256},
                              {"title", model ? model->schema.title : b.name}});
        }
        res.set_content(models_index_sign(models, now, int64_t{s.cfg.index_ttl_hours} * 3600, s.index_key),
                        "application/json");
    });

    svr.Get(R"(/api/v1/bundles/([0-9a-f]{64}))", [&s](const httplib::Request& req, httplib::Response& res) {
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

    svr.Post("/api/v1/bundles", [&s](const httplib::Request& req, httplib::Response& res) {
        // (The bearer token was checked before the body was read: see the pre-routing handler.)
        auto reject = [&](int status, const Problem& p) {
            s.metrics.reject(p.code);
            send_json(res, status, error_body(p.code, p.message, p.field));
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

// What a request may carry, checked on its headers before anything else is read. Only two routes
// take a body (publishing and reports); a body anywhere else is refused rather than read and
// thrown away. A chunked body is refused everywhere: every client of ours sends a length, and a
// chunked report would slip past the 64 KiB check on Content-Length.
inline constexpr size_t kMaxHeaders = 64, kMaxHeaderBytes = 16 * 1024;

std::optional<Refusal> refuse_before_body(const httplib::Request& req) {
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
    const bool takes_body = req.method == "POST" && (req.path == "/api/v1/metrics" || req.path == "/api/v1/bundles");
    const std::string len = req.get_header_value("Content-Length");
    if (!takes_body && !len.empty() && len != "0") return Refusal{413, "no_body", "this route takes no request body"};
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

void routes_metrics(App::State& s, httplib::Server& svr) {
    svr.Post("/api/v1/metrics", [&s](const httplib::Request& req, httplib::Response& res) {
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

    svr.Get("/api/v1/drift", [&s](const httplib::Request& req, httplib::Response& res) {
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

    svr.Get("/metrics", [&s](const httplib::Request&, httplib::Response& res) {
        std::ostringstream o;
        o.precision(10);
        // One metric family: its HELP and TYPE lines, then its samples.
        auto family = [&o](const char* name, const char* type, const char* help, const std::string& samples) {
            o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n" << samples;
        };
        std::ostringstream reports, psi, js, predictions, classes, sources, volume;
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

}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] Run and stop
//-----------------------------------------------------------------------------
Result<Ok> App::run() {
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
        if (auto refusal = refuse_before_body(req)) {
            s.metrics.reject(refusal->code);
            res.set_header("Connection", "close");
            send_json(res, refusal->status, error_body(refusal->code, refusal->message));
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
        if (req.method == "POST" && req.path == "/api/v1/metrics") {
            const uint64_t len = std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10);
            if (!req.has_header("Content-Length")) {
                send_json(res, 411, error_body("length_required", "a report needs a Content-Length"));
                front_close_after_response();
                return httplib::Server::HandlerResponse::Handled;
            }
            if (len > kMaxReportBytes) {
                s.metrics.reject("too_large");
                send_json(res, 413,
                          error_body("too_large", "a report is at most " + std::to_string(kMaxReportBytes) + " bytes"));
                front_close_after_response();
                return httplib::Server::HandlerResponse::Handled;
            }
        }
        if (req.path == "/metrics" || req.path == "/api/v1/drift") {
            // Operations data is for operators only: live drift figures and rejection counts would
            // tell a poisoner how their forged reports land.
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
        if (req.method == "POST" && req.path == "/api/v1/bundles") {
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
        return httplib::Server::HandlerResponse::Unhandled;
    });
    svr.set_post_routing_handler(
        [&s](const httplib::Request& req, httplib::Response& res) { security_headers(req, res); });
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

    routes_health(s, svr);
    routes_bundles(s, svr);
    routes_metrics(s, svr);

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

void App::stop() {
    if (s_ && s_->http) s_->http->stop();
}

}  // namespace ldx
