// server/http/config.cpp — see config.h.
#include "http/config.h"

#include <cstdlib>
#include <map>
#include <set>

namespace ldx {

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

}  // namespace

Result<int64_t> to_int(const std::string& flag, const std::string& v, int64_t lo, int64_t hi) {
    char* end = nullptr;
    const long long x = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end || x < lo || x > hi)
        return problem("usage", flag + " must be a whole number from " + std::to_string(lo) + " to " +
                                    std::to_string(hi) + ", not '" + v + "'");
    return static_cast<int64_t>(x);
}
namespace {
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

}  // namespace ldx
