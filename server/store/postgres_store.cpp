// server/store/postgres_store.cpp — the shared store (store.h): PostgreSQL through libpq, so that
// several localdx-server instances serve the same bundles and count the same reports.
//
// Index of this file
//   (libpq helpers and the connection pool: postgres_connection.h)
//   [SECTION] The store
//   [SECTION] Opening, schema and migrations
//   [SECTION] Bundles
//   [SECTION] Aggregates
//
// Where things live: bundle bytes are a bytea column of the bundle's row, written in the same
// transaction as the row, so a bundle every instance can list is one every instance can read.
// Reports: the server's group commit (http/server.cpp) hands a batch to add_reports, which writes it in
// one transaction of a fixed number of statements (arrays unnested server-side), whatever the
// batch's size. Across instances: idempotency keys are a primary key (a key stored by another
// instance makes the report a duplicate); a source's daily budget is read under a transaction-
// scoped advisory lock on (day, source), so two instances cannot both spend its last predictions.
// A lost connection (PostgreSQL restarted) is dropped and opened again on the next call; the call
// that found it lost fails with "io", and the server answers 503 so that the client retries.
#include <libpq-fe.h>

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>

#include "bundle/crypto.h"
#include "store/aggregate.h"
#include "store/postgres_connection.h"
#include "store/store.h"

namespace ldx {

namespace {
using namespace pg;

//-----------------------------------------------------------------------------
// [SECTION] The store
//-----------------------------------------------------------------------------
class PostgresStore final : public Store {
public:
    PostgresStore(const std::string& uri, int readers, int timeout_seconds)
        : uri_(uri), readers_(uri, readers, timeout_seconds), writer_(uri, 1, timeout_seconds) {}
    const char* kind() const override { return "postgresql"; }
    Result<BundleRow> put_bundle(const BundleRow& row, std::string_view bytes) override;
    Result<std::vector<BundleRow>> bundles() const override;
    Result<std::string> bundle_bytes(const std::string& sha256) const override;
    Result<std::vector<ReportOutcome>> add_reports(const std::vector<IncomingReport>& batch,
                                                   uint64_t source_day_max) override;
    Result<ReportTotals> totals(const std::string& name, int64_t version, const std::string& from_day,
                                const std::string& to_day) const override;
    Result<std::vector<SourceAggregate>> sources(const std::string& name, int64_t version, const std::string& from_day,
                                                 const std::string& to_day) const override;
    Result<std::vector<std::pair<std::string, int64_t>>> reported_versions() const override;
    Result<uint64_t> prune(const std::string& before_day) override;
    Result<std::string> day_salt(const std::string& day) override;
    Result<uint64_t> forget_salts(const std::string& before_day) override;
    Result<Ok> ping() const override;
    int schema_version() const override { return version_; }

    Result<Ok> migrate();

private:
    Problem failure(const std::string& what, const PgResult& r) const {
        return Problem{"io", what + ": " + r.error(), "", -1, ""};
    }
    std::string uri_;
    mutable Pool readers_;
    Pool writer_;  // bundles, reports, salts, retention: one connection
    int version_ = 0;
};

//-----------------------------------------------------------------------------
// [SECTION] Opening, schema and migrations
//-----------------------------------------------------------------------------
// Migration i (1-based) takes the schema from version i - 1 to i; table schema_version holds it.
const char* const kMigrations[] = {
    // 1: bundles (with their bytes), per-day totals, per-source aggregates, idempotency keys, day salts.
    R"sql(
        CREATE TABLE bundles (
            sha256 TEXT PRIMARY KEY, name TEXT NOT NULL, version BIGINT NOT NULL, size BIGINT NOT NULL,
            created TEXT NOT NULL, expires TEXT NOT NULL, published TEXT NOT NULL, bytes BYTEA NOT NULL,
            UNIQUE (name, version));
        CREATE TABLE totals (
            name TEXT NOT NULL, version BIGINT NOT NULL, day TEXT NOT NULL,
            reports BIGINT NOT NULL, predictions BIGINT NOT NULL, PRIMARY KEY (name, version, day));
        CREATE TABLE source_totals (
            name TEXT NOT NULL, version BIGINT NOT NULL, day TEXT NOT NULL, source TEXT NOT NULL,
            reports BIGINT NOT NULL, predictions BIGINT NOT NULL, PRIMARY KEY (name, version, day, source));
        CREATE INDEX source_totals_by_source ON source_totals (day, source);
        CREATE TABLE source_counts (
            name TEXT NOT NULL, version BIGINT NOT NULL, day TEXT NOT NULL, source TEXT NOT NULL, hist TEXT NOT NULL,
            bin BIGINT NOT NULL, count BIGINT NOT NULL, PRIMARY KEY (name, version, day, source, hist, bin));
        CREATE TABLE seen_reports (key TEXT PRIMARY KEY, day TEXT NOT NULL);
        CREATE INDEX seen_reports_by_day ON seen_reports (day);
        CREATE TABLE day_salts (day TEXT PRIMARY KEY, salt TEXT NOT NULL);
    )sql",
};
static_assert(std::size(kMigrations) == kPostgresSchemaVersion);
constexpr const char* kMigrationLock = "SELECT pg_advisory_lock(7406931500)";  // one migrator at a time
constexpr const char* kMigrationUnlock = "SELECT pg_advisory_unlock(7406931500)";

Result<Ok> PostgresStore::migrate() {
    auto lease = writer_.lease();
    if (!lease) return lease.problems();
    PGconn* c = lease->get();
    if (auto r = query(c, kMigrationLock); !r.ok()) return failure("cannot lock the schema for migration", r);
    auto done = [&](Result<Ok> out) {
        query(c, kMigrationUnlock);
        return out;
    };
    if (auto r = query(c, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"); !r.ok())
        return done(failure("cannot create table schema_version", r));
    auto v = query(c, "SELECT coalesce(max(version), 0) FROM schema_version");
    if (!v.ok()) return done(failure("cannot read the schema version", v));
    version_ = static_cast<int>(v.integer(0, 0));
    if (version_ > kPostgresSchemaVersion)
        return done(problem("store_too_new", "the PostgreSQL store is at schema version " + std::to_string(version_) +
                                                 "; this server knows versions up to " +
                                                 std::to_string(kPostgresSchemaVersion) +
                                                 ": run a newer localdx-server"));
    for (int to = version_ + 1; to <= kPostgresSchemaVersion; ++to) {
        const std::string sql = std::string("BEGIN;") + kMigrations[to - 1] +
                                "DELETE FROM schema_version; INSERT INTO schema_version VALUES (" + std::to_string(to) +
                                "); COMMIT;";
        if (auto r = PgResult(PQexec(c, sql.c_str())); !r.ok()) {
            query(c, "ROLLBACK");
            return done(failure("cannot migrate the PostgreSQL store to schema version " + std::to_string(to), r));
        }
        version_ = to;
    }
    return done(Ok{});
}
}  // namespace

Result<std::unique_ptr<Store>> postgres_store_open(const std::string& uri, int readers, int timeout_seconds) {
    auto s = std::make_unique<PostgresStore>(uri, readers, timeout_seconds);
    if (auto ok = s->migrate(); !ok) return ok.problems();
    return std::unique_ptr<Store>(std::move(s));
}

Result<Ok> PostgresStore::ping() const {
    auto lease = readers_.lease();
    if (!lease) return lease.problems();
    if (auto r = query(lease->get(), "SELECT 1"); !r.ok()) return failure("PostgreSQL does not answer", r);
    return Ok{};
}

//-----------------------------------------------------------------------------
// [SECTION] Bundles
//-----------------------------------------------------------------------------
Result<BundleRow> PostgresStore::put_bundle(const BundleRow& row, std::string_view bytes) {
    auto lease = writer_.lease();
    if (!lease) return lease.problems();
    PGconn* c = lease->get();
    if (auto r = query(c, "BEGIN"); !r.ok()) return failure("cannot start a transaction", r);
    auto fail = [&](Problem p) -> Result<BundleRow> {
        query(c, "ROLLBACK");
        return p;
    };
    // One publisher per model name at a time, whichever instance it reached.
    if (auto r = query(c, "SELECT pg_advisory_xact_lock(hashtextextended('bundle:' || $1, 0))", {{row.name}}); !r.ok())
        return fail(failure("cannot lock the model's name", r));
    auto latest = query(c, "SELECT max(version) FROM bundles WHERE name = $1", {{row.name}});
    if (!latest.ok()) return fail(failure("cannot read the latest version", latest));
    if (!latest.null(0, 0) && latest.integer(0, 0) >= row.version)
        return fail(Problem{latest.integer(0, 0) == row.version ? "version_exists" : "version_not_newer",
                            row.name + " v" + std::to_string(latest.integer(0, 0)) +
                                " is already published; a new bundle needs a higher version",
                            "version", -1, ""});
    auto ins = query(c,
                     "INSERT INTO bundles (sha256, name, version, size, created, expires, published, bytes) "
                     "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                     {{row.sha256},
                      {row.name},
                      {std::to_string(row.version)},
                      {std::to_string(row.size)},
                      {row.created},
                      {row.expires},
                      {row.published},
                      {std::string(bytes), true}});
    if (!ins.ok()) return fail(failure("cannot record the bundle", ins));
    if (auto r = query(c, "COMMIT"); !r.ok()) return fail(failure("cannot commit the bundle", r));
    return row;
}

Result<std::vector<BundleRow>> PostgresStore::bundles() const {
    auto lease = readers_.lease();
    if (!lease) return lease.problems();
    auto r =
        query(lease->get(),
              "SELECT sha256, name, version, size, created, expires, published FROM bundles ORDER BY name, version");
    if (!r.ok()) return failure("cannot list the bundles", r);
    std::vector<BundleRow> out;
    for (int i = 0; i < r.rows(); ++i)
        out.push_back(BundleRow{r.text(i, 0), r.text(i, 1), r.integer(i, 2), r.integer(i, 3), r.text(i, 4),
                                r.text(i, 5), r.text(i, 6)});
    return out;
}

Result<std::string> PostgresStore::bundle_bytes(const std::string& sha256) const {
    auto lease = readers_.lease();
    if (!lease) return lease.problems();
    auto r = query(lease->get(), "SELECT bytes FROM bundles WHERE sha256 = $1", {{sha256}}, true);
    if (!r.ok()) return failure("cannot read the bundle", r);
    if (r.rows() == 0) return problem("not_found", "no bundle with that SHA-256");
    return r.text(0, 0);  // binary result: the bytes as stored
}

//-----------------------------------------------------------------------------
// [SECTION] Aggregates
//-----------------------------------------------------------------------------
Result<std::vector<ReportOutcome>> PostgresStore::add_reports(const std::vector<IncomingReport>& batch,
                                                              uint64_t source_day_max) {
    auto lease = writer_.lease();
    if (!lease) return lease.problems();
    PGconn* c = lease->get();
    if (auto r = query(c, "BEGIN"); !r.ok()) return failure("cannot start a transaction", r);
    auto fail = [&](const std::string& what, const PgResult& r) -> Result<std::vector<ReportOutcome>> {
        Problem p = failure("cannot store " + what, r);
        query(c, "ROLLBACK");
        return p;
    };
    // The batch's sources, each locked (in one order) before its budget is read.
    std::set<std::pair<std::string, std::string>> day_sources;
    std::vector<std::string> keys;
    for (const IncomingReport& in : batch) {
        day_sources.insert({in.report.day, in.source});
        if (!in.idempotency_key.empty()) keys.push_back(in.idempotency_key);
    }
    std::vector<std::string> lock_names, days, sources;
    for (const auto& [day, source] : day_sources) {
        lock_names.push_back("source:" + day + "|" + source);
        days.push_back(day);
        sources.push_back(source);
    }
    if (auto r = query(c, "SELECT pg_advisory_xact_lock(hashtextextended(x, 0)) FROM unnest($1::text[]) AS x",
                       {{text_array(lock_names)}});
        !r.ok())
        return fail("source locks", r);
    std::map<std::pair<std::string, std::string>, uint64_t> day_use;  // (day, source) -> predictions so far
    {
        auto r = query(c,
                       "SELECT t.day, t.source, coalesce(sum(t.predictions), 0) FROM source_totals t "
                       "JOIN unnest($1::text[], $2::text[]) AS u(day, source) ON t.day = u.day AND t.source = u.source "
                       "GROUP BY t.day, t.source",
                       {{text_array(days)}, {text_array(sources)}});
        if (!r.ok()) return fail("source budgets", r);
        for (int i = 0; i < r.rows(); ++i)
            day_use[{r.text(i, 0), r.text(i, 1)}] = static_cast<uint64_t>(r.integer(i, 2));
    }
    std::set<std::string> known;
    if (!keys.empty()) {
        auto r = query(c, "SELECT key FROM seen_reports WHERE key = ANY($1::text[])", {{text_array(keys)}});
        if (!r.ok()) return fail("idempotency keys", r);
        for (int i = 0; i < r.rows(); ++i) known.insert(r.text(i, 0));
    }
    // Decide each report in order, as the embedded store does.
    std::vector<ReportOutcome> out;
    std::vector<std::string> new_keys, new_key_days;
    for (const IncomingReport& in : batch) {
        const MetricsReport& r = in.report;
        if (!in.idempotency_key.empty() && known.count(in.idempotency_key)) {
            out.push_back(ReportOutcome::duplicate);
            continue;
        }
        uint64_t& use = day_use[{r.day, in.source}];
        if (use + r.n > source_day_max) {
            out.push_back(ReportOutcome::over_daily_limit);
            continue;
        }
        use += r.n;
        if (!in.idempotency_key.empty()) {
            known.insert(in.idempotency_key);  // the same key again in this batch is a duplicate
            new_keys.push_back(in.idempotency_key);
            new_key_days.push_back(r.day);
        }
        out.push_back(ReportOutcome::stored);
    }
    // A key another instance committed meanwhile is not inserted again: that report is a duplicate.
    if (!new_keys.empty()) {
        auto r = query(c,
                       "INSERT INTO seen_reports (key, day) SELECT * FROM unnest($1::text[], $2::text[]) "
                       "ON CONFLICT (key) DO NOTHING RETURNING key",
                       {{text_array(new_keys)}, {text_array(new_key_days)}});
        if (!r.ok()) return fail("idempotency keys", r);
        std::set<std::string> inserted;
        for (int i = 0; i < r.rows(); ++i) inserted.insert(r.text(i, 0));
        for (size_t i = 0; i < batch.size(); ++i)
            if (out[i] == ReportOutcome::stored && !batch[i].idempotency_key.empty() &&
                !inserted.count(batch[i].idempotency_key))
                out[i] = ReportOutcome::duplicate;
    }
    std::vector<const IncomingReport*> stored;
    for (size_t i = 0; i < batch.size(); ++i)
        if (out[i] == ReportOutcome::stored) stored.push_back(&batch[i]);
    const AggregateRows rows = aggregate_rows(stored);
    // One statement per table: each column sent as an array, unnested by the server.
    const auto name = [](const auto& r) { return r.name; };
    const auto version = [](const auto& r) { return r.version; };
    const auto day = [](const auto& r) { return r.day; };
    const auto source = [](const auto& r) { return r.source; };
    const auto reports = [](const auto& r) { return r.reports; };
    const auto predictions = [](const auto& r) { return r.predictions; };
    if (!rows.counts.empty()) {
        const auto& k = rows.counts;
        auto r = query(c,
                       "INSERT INTO source_counts (name, version, day, source, hist, bin, count) "
                       "SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], "
                       "$6::bigint[], $7::bigint[]) "
                       "ON CONFLICT (name, version, day, source, hist, bin) "
                       "DO UPDATE SET count = source_counts.count + excluded.count",
                       {{text_column(k, name)},
                        {int_column(k, version)},
                        {text_column(k, day)},
                        {text_column(k, source)},
                        {text_column(k, [](const auto& r) { return r.hist; })},
                        {int_column(k, [](const auto& r) { return r.bin; })},
                        {int_column(k, [](const auto& r) { return r.count; })}});
        if (!r.ok()) return fail("counts", r);
    }
    if (!rows.sources.empty()) {
        const auto& t = rows.sources;
        auto r = query(c,
                       "INSERT INTO source_totals (name, version, day, source, reports, predictions) "
                       "SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], "
                       "$6::bigint[]) ON CONFLICT (name, version, day, source) DO UPDATE SET "
                       "reports = source_totals.reports + excluded.reports, "
                       "predictions = source_totals.predictions + excluded.predictions",
                       {{text_column(t, name)},
                        {int_column(t, version)},
                        {text_column(t, day)},
                        {text_column(t, source)},
                        {int_column(t, reports)},
                        {int_column(t, predictions)}});
        if (!r.ok()) return fail("source totals", r);
    }
    if (!rows.days.empty()) {
        const auto& t = rows.days;
        auto r = query(c,
                       "INSERT INTO totals (name, version, day, reports, predictions) "
                       "SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[]) "
                       "ON CONFLICT (name, version, day) DO UPDATE SET reports = totals.reports + excluded.reports, "
                       "predictions = totals.predictions + excluded.predictions",
                       {{text_column(t, name)},
                        {int_column(t, version)},
                        {text_column(t, day)},
                        {int_column(t, reports)},
                        {int_column(t, predictions)}});
        if (!r.ok()) return fail("totals", r);
    }
    if (auto r = query(c, "COMMIT"); !r.ok()) return fail("the batch (commit)", r);
    return out;
}

Result<ReportTotals> PostgresStore::totals(const std::string& name, int64_t version, const std::string& from,
                                           const std::string& to) const {
    auto lease = readers_.lease();
    if (!lease) return lease.problems();
    auto r = query(lease->get(),
                   "SELECT coalesce(sum(reports), 0), coalesce(sum(predictions), 0) FROM totals "
                   "WHERE name = $1 AND version = $2 AND day BETWEEN $3 AND $4",
                   {{name}, {std::to_string(version)}, {from}, {to}});
    if (!r.ok() || r.rows() != 1) return failure("cannot read the totals", r);
    return ReportTotals{static_cast<uint64_t>(r.integer(0, 0)), static_cast<uint64_t>(r.integer(0, 1))};
}

Result<std::vector<SourceAggregate>> PostgresStore::sources(const std::string& name, int64_t version,
                                                            const std::string& from, const std::string& to) const {
    auto lease = readers_.lease();
    if (!lease) return lease.problems();
    PGconn* c = lease->get();
    // Both reads in one snapshot, so the totals and the counts agree.
    if (auto r = query(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !r.ok())
        return failure("cannot start a read", r);
    const std::vector<Param> params{{name}, {std::to_string(version)}, {from}, {to}};
    auto t = query(c,
                   "SELECT day, source, predictions FROM source_totals "
                   "WHERE name = $1 AND version = $2 AND day BETWEEN $3 AND $4",
                   params);
    auto q = query(c,
                   "SELECT day, source, hist, bin, count FROM source_counts "
                   "WHERE name = $1 AND version = $2 AND day BETWEEN $3 AND $4",
                   params);
    query(c, "COMMIT");
    if (!t.ok()) return failure("cannot read the source totals", t);
    if (!q.ok()) return failure("cannot read the counts", q);
    std::map<std::pair<std::string, std::string>, SourceAggregate> by;  // (day, source)
    for (int i = 0; i < t.rows(); ++i)
        by[{t.text(i, 0), t.text(i, 1)}].predictions = static_cast<uint64_t>(t.integer(i, 2));
    for (int i = 0; i < q.rows(); ++i) {
        auto& v = by[{q.text(i, 0), q.text(i, 1)}].hist[q.text(i, 2)];
        const size_t bin = static_cast<size_t>(q.integer(i, 3));
        if (v.size() <= bin) v.resize(bin + 1, 0);
        v[bin] = static_cast<uint64_t>(q.integer(i, 4));
    }
    std::vector<SourceAggregate> out;
    for (auto& [k, a] : by) out.push_back(std::move(a));
    return out;
}

Result<std::vector<std::pair<std::string, int64_t>>> PostgresStore::reported_versions() const {
    auto lease = readers_.lease();
    if (!lease) return lease.problems();
    auto r = query(lease->get(), "SELECT DISTINCT name, version FROM totals ORDER BY name, version");
    if (!r.ok()) return failure("cannot list the reported versions", r);
    std::vector<std::pair<std::string, int64_t>> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back({r.text(i, 0), r.integer(i, 1)});
    return out;
}

Result<uint64_t> PostgresStore::prune(const std::string& before_day) {
    auto lease = writer_.lease();
    if (!lease) return lease.problems();
    uint64_t deleted = 0;
    for (const char* sql : {"DELETE FROM seen_reports WHERE day < $1", "DELETE FROM source_counts WHERE day < $1",
                            "DELETE FROM source_totals WHERE day < $1", "DELETE FROM totals WHERE day < $1",
                            "DELETE FROM day_salts WHERE day < $1"}) {
        auto r = query(lease->get(), sql, {{before_day}});
        if (!r.ok()) return failure("cannot delete old rows", r);
        deleted += std::strtoull(PQcmdTuples(r.r), nullptr, 10);
    }
    return deleted;
}

Result<std::string> PostgresStore::day_salt(const std::string& day) {
    auto lease = writer_.lease();
    if (!lease) return lease.problems();
    // Whoever inserts first wins; everyone reads the winner's salt.
    auto ins = query(lease->get(), "INSERT INTO day_salts (day, salt) VALUES ($1, $2) ON CONFLICT (day) DO NOTHING",
                     {{day}, {hex_encode(random_bytes(32))}});
    if (!ins.ok()) return failure("cannot record the day's salt", ins);
    auto r = query(lease->get(), "SELECT salt FROM day_salts WHERE day = $1", {{day}});
    if (!r.ok() || r.rows() != 1) return failure("cannot read the day's salt", r);
    return r.text(0, 0);
}

Result<uint64_t> PostgresStore::forget_salts(const std::string& before_day) {
    auto lease = writer_.lease();
    if (!lease) return lease.problems();
    auto r = query(lease->get(), "DELETE FROM day_salts WHERE day < $1", {{before_day}});
    if (!r.ok()) return failure("cannot delete old salts", r);
    return static_cast<uint64_t>(std::strtoull(PQcmdTuples(r.r), nullptr, 10));
}

}  // namespace ldx
