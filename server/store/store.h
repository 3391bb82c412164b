// server/store/store.h — the server's state behind one interface, with two implementations:
// SQLite (embedded, one process: the default) and PostgreSQL (several instances share it).
//
// Index of this file
//   [SECTION] Rows and outcomes
//   [SECTION] The interface
//   [SECTION] Opening (which store, migrations)
//
// Semantics both stores keep (tests/server runs the same tests against each):
// - A report is acknowledged only after the COMMIT that holds it (add_reports returns after it).
// - Idempotency keys are unique across every instance that shares the store: a key seen by one
//   instance is a duplicate for all.
// - Publishing is atomic: a bundle is listed only once its bytes are stored and readable.
//   SQLite: the file is written atomically (temp, fsync, rename) before its row is inserted.
//   PostgreSQL: the bytes are a bytea column of the same row, committed in one transaction.
// - Each store has a versioned schema; start-up applies the missing migrations in order
//   (SQLite: PRAGMA user_version; PostgreSQL: table schema_version, under an advisory lock so
//   instances starting together migrate once).
// Every method is safe to call from any thread. Methods return problems with code "io" when the
// store cannot be reached (a PostgreSQL restart): the caller answers 503 and the client retries.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "drift/report.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Rows and outcomes
//-----------------------------------------------------------------------------
struct BundleRow {
    std::string sha256, name;
    int64_t version = 0, size = 0;
    std::string created, expires, published;
};

// A report to store. Reports are kept per source: a source is one client address on one day,
// pseudonymised by the server (a salted hash; see docs/security.md), so drift can be pooled robustly.
struct IncomingReport {
    MetricsReport report;
    std::string idempotency_key;  // empty: none
    std::string source;           // pseudonymous source id for the report's day
};
enum class ReportOutcome { stored, duplicate, over_daily_limit };

struct ReportTotals {
    uint64_t reports = 0, predictions = 0;
};

// One source's reports in a window, added up. hist: "field:<index>", "predicted",
// "probability:<class index>"; counts per bin.
struct SourceAggregate {
    uint64_t predictions = 0;
    std::map<std::string, std::vector<uint64_t>> hist;
};

//-----------------------------------------------------------------------------
// [SECTION] The interface
//-----------------------------------------------------------------------------
class Store {
public:
    virtual ~Store() = default;
    virtual const char* kind() const = 0;  // "sqlite" or "postgresql"

    // Stores the bytes and the row together. Problems: "version_exists" / "version_not_newer" (a
    // version that is not higher than the latest for that name), "io".
    virtual Result<BundleRow> put_bundle(const BundleRow& row, std::string_view bytes) = 0;
    virtual Result<std::vector<BundleRow>> bundles() const = 0;  // every stored bundle, by name and version
    // A stored bundle's bytes. Problems: "not_found", "io".
    virtual Result<std::string> bundle_bytes(const std::string& sha256) const = 0;

    // One transaction for the whole batch; per report whether it was new, a duplicate (its key
    // seen before, by any instance), or refused because its source would pass `source_day_max`
    // predictions that day (all models together).
    virtual Result<std::vector<ReportOutcome>> add_reports(const std::vector<IncomingReport>& batch,
                                                           uint64_t source_day_max) = 0;
    // Sums over the days in [from_day, to_day] (inclusive, "YYYY-MM-DD").
    virtual Result<ReportTotals> totals(const std::string& name, int64_t version, const std::string& from_day,
                                        const std::string& to_day) const = 0;
    virtual Result<std::vector<SourceAggregate>> sources(const std::string& name, int64_t version,
                                                         const std::string& from_day,
                                                         const std::string& to_day) const = 0;
    // Every (name, version) that has reports.
    virtual Result<std::vector<std::pair<std::string, int64_t>>> reported_versions() const = 0;
    // Retention: deletes the aggregates, idempotency keys and day salts of days before
    // `before_day` ("YYYY-MM-DD"); returns the rows deleted.
    virtual Result<uint64_t> prune(const std::string& before_day) = 0;

    // The secret that pseudonymises client addresses on `day`: made at random by the first
    // instance that asks, then the same for every instance sharing the store (so one client is
    // one source whichever instance it reaches).
    virtual Result<std::string> day_salt(const std::string& day) = 0;
    // Deletes the salts of days before `before_day` (the server passes salt_keep_from(now)): once
    // a day can no longer be reported, nothing can turn its sources back into addresses.
    virtual Result<uint64_t> forget_salts(const std::string& before_day) = 0;

    // A round trip to the store (readiness): ok, or why it cannot be reached.
    virtual Result<Ok> ping() const = 0;
    // The schema version the store is at (after open: the newest this build knows).
    virtual int schema_version() const = 0;
};

//-----------------------------------------------------------------------------
// [SECTION] Opening
//-----------------------------------------------------------------------------
inline constexpr int kSqliteSchemaVersion = 2;
inline constexpr int kPostgresSchemaVersion = 1;

// The first day whose salt is still needed at `now` (seconds since 1970): reports are accepted
// for yesterday, today and tomorrow (server's clock), so yesterday's salt is the oldest in use. A
// day's salt is therefore deleted at most 48 hours after the day began, 24 after it ended.
std::string salt_keep_from(int64_t now);

// What a failing store call is answered with: the stable code and a sentence for the client.
inline constexpr const char* kStorageUnavailable = "storage_unavailable";

// SQLite under data_dir (localdx.db and bundles/). One process only.
Result<std::unique_ptr<Store>> sqlite_store_open(const std::string& data_dir);
// PostgreSQL at a libpq connection URI ("postgresql://user@host:port/db?..."); `readers` pooled
// connections for reads, one more for the writer. Every wait is bounded by `timeout_seconds`:
// connecting (connect_timeout), a statement (statement_timeout on the server, and a deadline of
// our own on the answer, since a hung server enforces nothing), and a free pooled connection;
// connections use TCP keep-alives. Problems name the URI without its secrets.
Result<std::unique_ptr<Store>> postgres_store_open(const std::string& uri, int readers, int timeout_seconds = 5);
// `where` empty or "sqlite": SQLite under data_dir; "postgresql://…" or "postgres://…": PostgreSQL.
Result<std::unique_ptr<Store>> store_open(const std::string& where, const std::string& data_dir, int readers,
                                          int timeout_seconds = 5);

// The URI as it may be logged: the password in its user part and every secret query parameter
// (password, sslpassword, sslkey, passfile) replaced by "***".
std::string store_uri_for_log(std::string_view uri);

}  // namespace ldx
