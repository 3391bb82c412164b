// server/store/sqlite_store.cpp — the embedded store (store.h): SQLite (WAL) for the index and the
// aggregates, bundle files named by their SHA-256.
//
// Index of this file
//   [SECTION] SQLite helpers
//   [SECTION] The store
//   [SECTION] Opening, schema and migrations
//   [SECTION] Bundles
//   [SECTION] Aggregates
//   [SECTION] Opening either store
//
// Durability: synchronous=FULL in WAL mode, so a COMMIT has reached the disk before the server
// acknowledges anything it contains; bundle files are written atomically (temp, fsync, rename)
// before their row is inserted, so a row never points at a missing or partial file.
// One process per data folder; every method takes the store's mutex.
// Checkpoints: the writing connection never checkpoints (wal_autocheckpoint = 0), so a commit
// never waits for the database file to be written and fsync'd; a background thread with its own
// connection checkpoints the WAL (PASSIVE: it never blocks the writer) twice a second. Measured:
// without this, commits that hit SQLite's automatic checkpoint stalled report acknowledgements
// for up to 1.7 s (p99 450 ms at 64 connections).
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include <sqlite3.h>

#include "store/aggregate.h"
#include "store/store.h"

#include "bundle/crypto.h"
#include "io/files.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] SQLite helpers
//-----------------------------------------------------------------------------
namespace {
struct Stmt {
    sqlite3_stmt* s = nullptr;
    Stmt(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &s, nullptr); }
    ~Stmt() { sqlite3_finalize(s); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    Stmt& bind(int i, const std::string& v) {
        sqlite3_bind_text(s, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Stmt& bind(int i, int64_t v) {
        sqlite3_bind_int64(s, i, v);
        return *this;
    }
    int step() { return sqlite3_step(s); }
    void reset() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
    std::string text(int c) const {
        const unsigned char* t = sqlite3_column_text(s, c);
        return t ? reinterpret_cast<const char*>(t) : "";
    }
    int64_t integer(int c) const { return sqlite3_column_int64(s, c); }
};

bool exec(sqlite3* db, const char* sql, std::string* err = nullptr) {
    char* msg = nullptr;
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &msg);
    if (rc != SQLITE_OK && err) *err = msg ? msg : "sqlite error";
    sqlite3_free(msg);
    return rc == SQLITE_OK;
}

BundleRow bundle_row(const Stmt& q) {
    return BundleRow{q.text(0), q.text(1), q.integer(2), q.integer(3), q.text(4), q.text(5), q.text(6)};
}
constexpr const char* kBundleColumns = "sha256, name, version, size, created, expires, published";
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] The store
//-----------------------------------------------------------------------------
namespace {
class SqliteStore final : public Store {
public:
    ~SqliteStore() override;
    const char* kind() const override { return "sqlite"; }
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
    Result<Ok> ping() const override { return Ok{}; }
    int schema_version() const override { return version_; }

    Result<Ok> open(const std::string& data_dir);

private:
    void checkpoint_loop();
    std::string bundle_path(const std::string& sha256) const { return dir_ + "/bundles/" + sha256 + ".ldxb"; }
    Problem failure(const std::string& what) const {
        return Problem{"io", what + ": " + sqlite3_errmsg(db_), "", -1, ""};
    }
    std::string dir_;
    sqlite3* db_ = nullptr;
    int version_ = 0;
    mutable std::mutex mu_;
    sqlite3* checkpoint_db_ = nullptr;  // the checkpointer's own connection
    std::mutex checkpoint_mu_;
    std::condition_variable checkpoint_cv_;
    bool stopping_ = false;
    std::thread checkpointer_;
};

//-----------------------------------------------------------------------------
// [SECTION] Opening, schema and migrations
//-----------------------------------------------------------------------------
// Migration i (1-based) takes a store at schema version i - 1 to version i; PRAGMA user_version
// holds the version. Version 1 is the layout stores had before versions were numbered (its
// statements are idempotent, so such a store, at user_version 0, passes through it unchanged).
const char* const kMigrations[] = {
    // 1: bundles, per-day totals, per-source aggregates, idempotency keys.
    R"sql(
        CREATE TABLE IF NOT EXISTS bundles (
            sha256 TEXT PRIMARY KEY, name TEXT NOT NULL, version INTEGER NOT NULL, size INTEGER NOT NULL,
            created TEXT NOT NULL, expires TEXT NOT NULL, published TEXT NOT NULL, UNIQUE (name, version));
        CREATE TABLE IF NOT EXISTS totals (
            name TEXT NOT NULL, version INTEGER NOT NULL, day TEXT NOT NULL,
            reports INTEGER NOT NULL, predictions INTEGER NOT NULL, PRIMARY KEY (name, version, day)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS source_totals (
            name TEXT NOT NULL, version INTEGER NOT NULL, day TEXT NOT NULL, source TEXT NOT NULL,
            reports INTEGER NOT NULL, predictions INTEGER NOT NULL,
            PRIMARY KEY (name, version, day, source)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS source_totals_by_source ON source_totals (day, source);
        CREATE TABLE IF NOT EXISTS source_counts (
            name TEXT NOT NULL, version INTEGER NOT NULL, day TEXT NOT NULL, source TEXT NOT NULL, hist TEXT NOT NULL,
            bin INTEGER NOT NULL, count INTEGER NOT NULL,
            PRIMARY KEY (name, version, day, source, hist, bin)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS seen_reports (key TEXT PRIMARY KEY, day TEXT NOT NULL) WITHOUT ROWID;
    )sql",
    // 2: the day salts that pseudonymise sources (store.h, day_salt); retention finds old
    // idempotency keys by day without reading them all.
    R"sql(
        CREATE TABLE day_salts (day TEXT PRIMARY KEY, salt TEXT NOT NULL) WITHOUT ROWID;
        CREATE INDEX seen_reports_by_day ON seen_reports (day);
    )sql",
};
static_assert(std::size(kMigrations) == kSqliteSchemaVersion);

Result<Ok> SqliteStore::open(const std::string& data_dir) {
    if (auto ok = dir_create(data_dir + "/bundles"); !ok) return ok.problems();
    // A publish killed while writing leaves its temporary file (file_write_atomic's ".NAME.tmp-N"):
    // no row points at it, so it is removed here, at start, before anything else runs.
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(data_dir + "/bundles", ec)) {
        const std::string name = e.path().filename().string();
        if (name.size() > 1 && name[0] == '.' && name.find(".tmp-") != std::string::npos)
            std::filesystem::remove(e.path(), ec);
    }
    dir_ = data_dir;
    const std::string path = data_dir + "/localdx.db";
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK)
        return problem("io", "cannot open " + path + ": " + (db_ ? sqlite3_errmsg(db_) : "out of memory"));
    sqlite3_busy_timeout(db_, 5000);
    std::string err;
    if (!exec(db_, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;", &err))
        return problem("io", "cannot set up " + path + ": " + err);
    {
        Stmt q(db_, "PRAGMA user_version");
        version_ = q.step() == SQLITE_ROW ? static_cast<int>(q.integer(0)) : 0;
    }
    if (version_ > kSqliteSchemaVersion)
        return problem("store_too_new", path + " is at schema version " + std::to_string(version_) +
                                            "; this server knows versions up to " +
                                            std::to_string(kSqliteSchemaVersion) + ": run a newer localdx-server");
    for (int v = version_; v < kSqliteSchemaVersion; ++v) {
        const std::string sql = std::string("BEGIN IMMEDIATE;") + kMigrations[v] +
                                "PRAGMA user_version = " + std::to_string(v + 1) + "; COMMIT;";
        if (!exec(db_, sql.c_str(), &err)) {
            exec(db_, "ROLLBACK");
            return problem("io", "cannot migrate " + path + " to schema version " + std::to_string(v + 1) + ": " + err);
        }
        version_ = v + 1;
    }
    // A store written before reports were kept per source has one "counts" table: its days become
    // one source named "earlier" (one voice in the robust pooling), then the table goes.
    const char* per_source = R"sql(
        BEGIN IMMEDIATE;
        INSERT OR IGNORE INTO source_counts SELECT name, version, day, 'earlier', hist, bin, count FROM counts;
        INSERT OR IGNORE INTO source_totals SELECT name, version, day, 'earlier', reports, predictions FROM totals;
        DROP TABLE counts;
        COMMIT;
    )sql";
    bool old_layout = false;
    {
        Stmt q(db_, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'counts'");
        old_layout = q.step() == SQLITE_ROW;
    }
    if (old_layout && !exec(db_, per_source, &err)) {
        exec(db_, "ROLLBACK");
        return problem("io", "cannot move " + path + " to per-source aggregates: " + err);
    }
    if (!exec(db_, "PRAGMA wal_autocheckpoint = 0", &err))
        return problem("io", "cannot configure " + path + ": " + err);
    if (sqlite3_open_v2(path.c_str(), &checkpoint_db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr) !=
        SQLITE_OK)
        return problem("io", "cannot open " + path + " for checkpoints");
    sqlite3_busy_timeout(checkpoint_db_, 5000);
    // A publish killed after its bundle file was renamed into place but before its row was
    // committed leaves an orphan: a bundle file no row lists. Nobody can download it; it goes.
    auto rows = bundles();
    if (!rows) return rows.problems();
    std::set<std::string> listed;
    for (const auto& b : *rows) listed.insert(b.sha256 + ".ldxb");
    for (const auto& e : std::filesystem::directory_iterator(data_dir + "/bundles", ec)) {
        const std::string name = e.path().filename().string();
        if (name.size() == 64 + 5 && name.ends_with(".ldxb") && !listed.count(name))
            std::filesystem::remove(e.path(), ec);
    }
    checkpointer_ = std::thread([this] { checkpoint_loop(); });
    return Ok{};
}

void SqliteStore::checkpoint_loop() {
    std::unique_lock lock(checkpoint_mu_);
    while (!stopping_) {
        checkpoint_cv_.wait_for(lock, std::chrono::milliseconds(500));
        lock.unlock();
        sqlite3_wal_checkpoint_v2(checkpoint_db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        lock.lock();
    }
}

SqliteStore::~SqliteStore() {
    {
        std::lock_guard lock(checkpoint_mu_);
        stopping_ = true;
    }
    checkpoint_cv_.notify_all();
    if (checkpointer_.joinable()) checkpointer_.join();
    if (checkpoint_db_) {
        sqlite3_wal_checkpoint_v2(checkpoint_db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
        sqlite3_close(checkpoint_db_);
    }
    sqlite3_close(db_);
}
}  // namespace

Result<std::unique_ptr<Store>> sqlite_store_open(const std::string& data_dir) {
    auto s = std::make_unique<SqliteStore>();
    if (auto ok = s->open(data_dir); !ok) return ok.problems();
    return std::unique_ptr<Store>(std::move(s));
}

//-----------------------------------------------------------------------------
// [SECTION] Bundles
//-----------------------------------------------------------------------------
Result<BundleRow> SqliteStore::put_bundle(const BundleRow& row, std::string_view bytes) {
    std::lock_guard lock(mu_);
    {
        Stmt q(db_, "SELECT max(version) FROM bundles WHERE name = ?");
        q.bind(1, row.name);
        if (q.step() == SQLITE_ROW && sqlite3_column_type(q.s, 0) != SQLITE_NULL && q.integer(0) >= row.version)
            return problem(q.integer(0) == row.version ? "version_exists" : "version_not_newer",
                           row.name + " v" + std::to_string(q.integer(0)) +
                               " is already published; a new bundle needs a higher version",
                           "version");
    }
    if (auto ok = file_write_atomic(bundle_path(row.sha256), bytes); !ok) return ok.problems();
    Stmt ins(
        db_,
        "INSERT INTO bundles (sha256, name, version, size, created, expires, published) VALUES (?, ?, ?, ?, ?, ?, ?)");
    ins.bind(1, row.sha256)
        .bind(2, row.name)
        .bind(3, row.version)
        .bind(4, row.size)
        .bind(5, row.created)
        .bind(6, row.expires)
        .bind(7, row.published);
    if (ins.step() != SQLITE_DONE) return failure("cannot record the bundle");
    return row;
}

Result<std::vector<BundleRow>> SqliteStore::bundles() const {
    std::lock_guard lock(mu_);
    Stmt q(db_, (std::string("SELECT ") + kBundleColumns + " FROM bundles ORDER BY name, version").c_str());
    std::vector<BundleRow> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) out.push_back(bundle_row(q));
    if (rc != SQLITE_DONE) return failure("cannot list the bundles");
    return out;
}

Result<std::string> SqliteStore::bundle_bytes(const std::string& sha256) const {
    {
        std::lock_guard lock(mu_);
        Stmt q(db_, "SELECT 1 FROM bundles WHERE sha256 = ?");
        q.bind(1, sha256);
        if (q.step() != SQLITE_ROW) return problem("not_found", "no bundle with that SHA-256");
    }
    return file_read(bundle_path(sha256));
}

//-----------------------------------------------------------------------------
// [SECTION] Aggregates
//-----------------------------------------------------------------------------
Result<std::vector<ReportOutcome>> SqliteStore::add_reports(const std::vector<IncomingReport>& batch,
                                                            uint64_t source_day_max) {
    std::lock_guard lock(mu_);
    std::string err;
    if (!exec(db_, "BEGIN IMMEDIATE", &err)) return problem("io", "cannot start a transaction: " + err);
    auto fail = [&](const std::string& what) -> Result<std::vector<ReportOutcome>> {
        Problem p = failure("cannot store " + what);
        exec(db_, "ROLLBACK");
        return p;
    };
    std::vector<ReportOutcome> out;
    std::vector<const IncomingReport*> stored;
    std::map<std::pair<std::string, std::string>, uint64_t> day_use;  // (day, source) -> predictions so far
    Stmt known(db_, "SELECT 1 FROM seen_reports WHERE key = ?");
    Stmt seen(db_, "INSERT INTO seen_reports (key, day) VALUES (?, ?)");
    Stmt used(db_, "SELECT coalesce(sum(predictions), 0) FROM source_totals WHERE day = ? AND source = ?");
    for (const IncomingReport& in : batch) {
        const MetricsReport& r = in.report;
        if (!in.idempotency_key.empty()) {
            known.bind(1, in.idempotency_key);
            const int found = known.step();
            if (found != SQLITE_ROW && found != SQLITE_DONE) return fail("idempotency keys");
            const bool duplicate = found == SQLITE_ROW;
            known.reset();
            if (duplicate) {
                out.push_back(ReportOutcome::duplicate);
                continue;
            }
        }
        auto use = day_use.find({r.day, in.source});
        if (use == day_use.end()) {
            used.bind(1, r.day).bind(2, in.source);
            if (used.step() != SQLITE_ROW) return fail("a source's daily budget");  // never taken as 0
            const uint64_t before = static_cast<uint64_t>(used.integer(0));
            used.reset();
            use = day_use.emplace(std::pair{r.day, in.source}, before).first;
        }
        if (use->second + r.n > source_day_max) {
            out.push_back(ReportOutcome::over_daily_limit);
            continue;
        }
        use->second += r.n;
        if (!in.idempotency_key.empty()) {
            seen.bind(1, in.idempotency_key).bind(2, r.day);
            const int rc = seen.step();
            const int why = sqlite3_extended_errcode(db_);
            seen.reset();
            if (rc != SQLITE_DONE) {
                // Only a uniqueness conflict is the same key twice in one batch; any other failure
                // (a full disk, I/O) fails the batch, so that no report is acknowledged unstored.
                if (why != SQLITE_CONSTRAINT_PRIMARYKEY && why != SQLITE_CONSTRAINT_UNIQUE)
                    return fail("an idempotency key");
                out.push_back(ReportOutcome::duplicate);
                use->second -= r.n;
                continue;
            }
        }
        out.push_back(ReportOutcome::stored);
        stored.push_back(&in);
    }
    const AggregateRows rows = aggregate_rows(stored);
    Stmt up(db_,
            "INSERT INTO source_counts (name, version, day, source, hist, bin, count) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (name, version, day, source, hist, bin) DO UPDATE SET count = count + excluded.count");
    for (const auto& c : rows.counts) {
        up.bind(1, c.name)
            .bind(2, c.version)
            .bind(3, c.day)
            .bind(4, c.source)
            .bind(5, c.hist)
            .bind(6, c.bin)
            .bind(7, static_cast<int64_t>(c.count));
        if (up.step() != SQLITE_DONE) return fail("counts");
        up.reset();
    }
    Stmt src(db_,
             "INSERT INTO source_totals (name, version, day, source, reports, predictions) VALUES (?, ?, ?, ?, ?, ?) "
             "ON CONFLICT (name, version, day, source) DO UPDATE SET reports = reports + excluded.reports, "
             "predictions = predictions + excluded.predictions");
    for (const auto& t : rows.sources) {
        src.bind(1, t.name)
            .bind(2, t.version)
            .bind(3, t.day)
            .bind(4, t.source)
            .bind(5, static_cast<int64_t>(t.reports))
            .bind(6, static_cast<int64_t>(t.predictions));
        if (src.step() != SQLITE_DONE) return fail("source totals");
        src.reset();
    }
    Stmt tot(db_,
             "INSERT INTO totals (name, version, day, reports, predictions) VALUES (?, ?, ?, ?, ?) "
             "ON CONFLICT (name, version, day) DO UPDATE SET reports = reports + excluded.reports, predictions = "
             "predictions + excluded.predictions");
    for (const auto& t : rows.days) {
        tot.bind(1, t.name)
            .bind(2, t.version)
            .bind(3, t.day)
            .bind(4, static_cast<int64_t>(t.reports))
            .bind(5, static_cast<int64_t>(t.predictions));
        if (tot.step() != SQLITE_DONE) return fail("totals");
        tot.reset();
    }
    if (!exec(db_, "COMMIT", &err)) {
        exec(db_, "ROLLBACK");
        return problem("io", "cannot commit: " + err);
    }
    return out;
}

Result<ReportTotals> SqliteStore::totals(const std::string& name, int64_t version, const std::string& from,
                                         const std::string& to) const {
    std::lock_guard lock(mu_);
    Stmt q(db_,
           "SELECT coalesce(sum(reports), 0), coalesce(sum(predictions), 0) FROM totals WHERE name = ? AND version = ? "
           "AND day BETWEEN ? AND ?");
    q.bind(1, name).bind(2, version).bind(3, from).bind(4, to);
    if (q.step() != SQLITE_ROW) return failure("cannot read the totals");
    return ReportTotals{static_cast<uint64_t>(q.integer(0)), static_cast<uint64_t>(q.integer(1))};
}

Result<std::vector<SourceAggregate>> SqliteStore::sources(const std::string& name, int64_t version,
                                                          const std::string& from, const std::string& to) const {
    std::lock_guard lock(mu_);
    std::map<std::pair<std::string, std::string>, SourceAggregate> by;  // (day, source)
    Stmt t(db_,
           "SELECT day, source, predictions FROM source_totals WHERE name = ? AND version = ? AND day BETWEEN ? AND ?");
    t.bind(1, name).bind(2, version).bind(3, from).bind(4, to);
    int rc;
    while ((rc = t.step()) == SQLITE_ROW) by[{t.text(0), t.text(1)}].predictions = static_cast<uint64_t>(t.integer(2));
    if (rc != SQLITE_DONE) return failure("cannot read the source totals");
    Stmt q(db_,
           "SELECT day, source, hist, bin, count FROM source_counts WHERE name = ? AND version = ? AND day BETWEEN ? "
           "AND ?");
    q.bind(1, name).bind(2, version).bind(3, from).bind(4, to);
    while ((rc = q.step()) == SQLITE_ROW) {
        auto& v = by[{q.text(0), q.text(1)}].hist[q.text(2)];
        const size_t bin = static_cast<size_t>(q.integer(3));
        if (v.size() <= bin) v.resize(bin + 1, 0);
        v[bin] = static_cast<uint64_t>(q.integer(4));
    }
    if (rc != SQLITE_DONE) return failure("cannot read the counts");
    std::vector<SourceAggregate> out;
    for (auto& [k, a] : by) out.push_back(std::move(a));
    return out;
}

Result<std::vector<std::pair<std::string, int64_t>>> SqliteStore::reported_versions() const {
    std::lock_guard lock(mu_);
    Stmt q(db_, "SELECT DISTINCT name, version FROM totals ORDER BY name, version");
    std::vector<std::pair<std::string, int64_t>> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) out.push_back({q.text(0), q.integer(1)});
    if (rc != SQLITE_DONE) return failure("cannot list the reported versions");
    return out;
}

Result<uint64_t> SqliteStore::prune(const std::string& before_day) {
    std::lock_guard lock(mu_);
    uint64_t deleted = 0;
    for (const char* sql : {"DELETE FROM seen_reports WHERE day < ?", "DELETE FROM source_counts WHERE day < ?",
                            "DELETE FROM source_totals WHERE day < ?", "DELETE FROM totals WHERE day < ?",
                            "DELETE FROM day_salts WHERE day < ?"}) {
        Stmt q(db_, sql);
        q.bind(1, before_day);
        if (q.step() != SQLITE_DONE) return failure("cannot delete old rows");
        deleted += static_cast<uint64_t>(sqlite3_changes(db_));
    }
    return deleted;
}

Result<std::string> SqliteStore::day_salt(const std::string& day) {
    std::lock_guard lock(mu_);
    Stmt ins(db_, "INSERT OR IGNORE INTO day_salts (day, salt) VALUES (?, ?)");
    ins.bind(1, day).bind(2, hex_encode(random_bytes(32)));
    if (ins.step() != SQLITE_DONE) return failure("cannot record the day's salt");
    Stmt q(db_, "SELECT salt FROM day_salts WHERE day = ?");
    q.bind(1, day);
    if (q.step() != SQLITE_ROW) return failure("cannot read the day's salt");
    return q.text(0);
}

Result<uint64_t> SqliteStore::forget_salts(const std::string& before_day) {
    std::lock_guard lock(mu_);
    Stmt q(db_, "DELETE FROM day_salts WHERE day < ?");
    q.bind(1, before_day);
    if (q.step() != SQLITE_DONE) return failure("cannot delete old salts");
    return static_cast<uint64_t>(sqlite3_changes(db_));
}

//-----------------------------------------------------------------------------
// [SECTION] Opening either store
//-----------------------------------------------------------------------------
Result<std::unique_ptr<Store>> store_open(const std::string& where, const std::string& data_dir, int readers,
                                          int timeout_seconds) {
    if (where.empty() || where == "sqlite") return sqlite_store_open(data_dir);
    if (where.starts_with("postgresql://") || where.starts_with("postgres://"))
        return postgres_store_open(where, readers, timeout_seconds);
    return problem("usage", "--store must be sqlite or a postgresql:// URI, not '" + store_uri_for_log(where) + "'",
                   "store");
}

std::string salt_keep_from(int64_t now) { return utc_day(now - 86400); }

std::string store_uri_for_log(std::string_view uri) {
    std::string out(uri);
    // scheme://user:password@host...: the password goes.
    const size_t scheme = out.find("://");
    const size_t query = out.find('?');
    const size_t at = out.substr(0, query).rfind('@');
    if (scheme != std::string::npos && at != std::string::npos && at > scheme) {
        const size_t colon = out.find(':', scheme + 3);
        if (colon != std::string::npos && colon < at) out = out.substr(0, colon + 1) + "***" + out.substr(at);
    }
    // ?password=...&sslpassword=...: each secret parameter's value goes.
    for (size_t q = out.find('?'); q != std::string::npos && q < out.size();) {
        const size_t start = q + 1, amp = out.find('&', start);
        const size_t end = amp == std::string::npos ? out.size() : amp;
        const size_t eq = out.find('=', start);
        if (eq != std::string::npos && eq < end) {
            std::string key = out.substr(start, eq - start);
            for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            if (key == "password" || key == "sslpassword" || key == "sslkey" || key == "passfile") {
                out = out.substr(0, eq + 1) + "***" + out.substr(end);
                q = out.find('&', eq);
                continue;
            }
        }
        q = amp == std::string::npos ? std::string::npos : amp;
    }
    return out;
}

}  // namespace ldx
