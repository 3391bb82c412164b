// server/http/config.h — localdx-server's configuration: flags, environment variables, defaults.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"

namespace ldx {

struct ServerConfig {
    std::string host = "127.0.0.1";
    int port = 8080;
    std::string data_dir = "data";
    std::string store;       // "" or "sqlite": SQLite under data_dir; "postgresql://...": shared
    int store_readers = 8;   // PostgreSQL: pooled connections for reads
    int poll_ms = 1000;      // the store is read this often for other instances' bundles
    std::string web_dir;     // the PWA; empty: no static files
    std::string trust_path;  // trust root: bundles must verify against it
    std::string token_path;  // administrator bearer token (publish)
    std::string
        operator_token_path;        // operator bearer tokens, one per line (/metrics, drift); empty: nobody reads them
    std::string index_key_path;     // signing key for the models index (listed in the trust root)
    std::string tls_cert, tls_key;  // both set: HTTPS
    int threads = 64;               // worker threads (each may wait for a group commit)
    int max_connections_per_source = 32;       // open connections from one network (0: no cap)
    int max_busy_per_source = 8;               // requests from one network answered at once
    int store_timeout_seconds = 5;             // PostgreSQL: connect, statement and pool waits
    int drain_timeout_seconds = 10;            // SIGTERM: requests being answered may finish this long
    std::vector<std::string> trusted_proxies;  // peers whose X-Real-IP names the client (a reverse proxy)
    int header_timeout_seconds = 10;           // a request's line and headers must arrive within this
    int idle_timeout_seconds = 5;              // a connection with no request in progress is closed after this
    int index_ttl_hours = 24;                  // the signed index expires this long after it is issued
    int rate_limit_per_minute = 60;            // metrics reports per source per minute (0: off)
    int drift_days = 7;                        // window of the drift figures
    int retention_days = 400;                  // aggregates and idempotency keys older than this are deleted
    // Below this many patients in the window no drift figure is published: randomized response's
    // noise alone would look like drift (docs/security.md, measured).
    uint64_t drift_min_predictions = 20000;
    // Drift is pooled over sources (an address on a day); below this many no figure is published.
    int drift_min_sources = 5;
    uint64_t source_day_max = 50000;  // predictions one source may report per day (all models)
    double psi_warn = 0.1, psi_alert = 0.25;
    bool access_log = true;
};

// A whole number from lo to hi, or a problem naming the flag (or parameter) it was given for.
Result<int64_t> to_int(const std::string& flag, const std::string& v, int64_t lo, int64_t hi);

// Flags override environment variables (LOCALDX_PORT, ...), which override the defaults.
// Returns the help text in `help` when --help is given.
Result<ServerConfig> server_config_parse(const std::vector<std::string>& args, std::string& help);

}  // namespace ldx
