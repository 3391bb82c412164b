// server/store/store.cpp — see store.h.
//
// Index of this file
//   [SECTION] SQLite helpers
//   [SECTION] Opening and schema
//   [SECTION] Bundles
//   [SECTION] Aggregates
#include "store/store.h"

#include <chrono>
#include <filesystem>
#include <set>

#include <sqlite3.h>
#include <tuple>

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

Store::BundleRow bundle_row(const Stmt& q) {
    return Store::BundleRow{q.text(0), q.text(1), q.integer(2), q.integer(3), q.text(4), q.text(5), q.text(6)};
}
constexpr const char* kBundleColumns = "sha256, name, version, size, created, expires, published";
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] Opening and schema
//-----------------------------------------------------------------------------
Result<std::unique_ptr<Store>> Store::open(const std::string& data_dir) {
    if (auto ok = dir_create(data_dir + "/bundles"); !ok) return ok.problems();
    // A publish killed while writing leaves its temporary file (file_write_atomic's ".NAME.tmp-N"):
    // no row points at it, so it is removed here, at start, before anything else runs.
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(data_dir + "/bundles", ec)) {
        const std::string name = e.path().filename().string();
        if (name.size() > 1 && name[0] == '.' && name.find(".tmp-") != std::string::npos)
            std::filesystem::remove(e.path(), ec);
    }
    std::unique_ptr<Store> s(new Store());  // private constructor: make_unique cannot reach it
    s->dir_ = data_dir;
    const std::string path = data_dir + "/localdx.db";
    if (sqlite3_open_v2(path.c_str(), &s->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK)
        return problem("io", "cannot open " + path + ": " + (s->db_ ? sqlite3_errmsg(s->db_) : "out of memory"));
    sqlite3_busy_timeout(s->db_, 5000);
    std::string err;
    const char* schema = R"sql(
        PRAGMA journal_mode = WAL;
        PRAGMA synchronous = FULL;
        PRAGMA foreign_keys = ON;
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
    )sql";
    if (!exec(s->db_, schema, &err)) return problem("io", "cannot set up " + path + ": " + err);
    // A store written before reports were kept per source has one "counts" table: its days become
    // one source named "earlier" (one voice in the robust pooling), then the table goes.
    const char* migrate = R"sql(
        BEGIN IMMEDIATE;
        INSERT OR IGNORE INTO source_counts SELECT name, version, day, 'earlier', hist, bin, count FROM counts;
        INSERT OR IGNORE INTO source_totals SELECT name, version, day, 'earlier', reports, predictions FROM totals;
        DROP TABLE counts;
        COMMIT;
    )sql";
    bool old_layout = false;
    {
        Stmt q(s->db_, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'counts'");
        old_layout = q.step() == SQLITE_ROW;
    }
    {
        if (old_layout && !exec(s->db_, migrate, &err)) {
            exec(s->db_, "ROLLBACK");
            return problem("io", "cannot move " + path + " to per-source aggregates: " + err);
        }
    }
    if (!exec(s->db_, "PRAGMA wal_autocheckpoint = 0", &err))
        return problem("io", "cannot configure " + path + ": " + err);
    if (sqlite3_open_v2(path.c_str(), &s->checkpoint_db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr) !=
        SQLITE_OK)
        return problem("io", "cannot open " + path + " for checkpoints");
    sqlite3_busy_timeout(s->checkpoint_db_, 5000);
    // A publish killed after its bundle file was renamed into place but before its row was
    // committed leaves an orphan: a bundle file no row lists. Nobody can download it; it goes.
    std::set<std::string> listed;
    for (const auto& b : s->bundles()) listed.insert(b.sha256 + ".ldxb");
    for (const auto& e : std::filesystem::directory_iterator(data_dir + "/bundles", ec)) {
        const std::string name = e.path().filename().string();
        if (name.size() == 64 + 5 && name.ends_with(".ldxb") && !listed.count(name))
            std::filesystem::remove(e.path(), ec);
    }
    s->checkpointer_ = std::thread([p = s.get()] { p->checkpoint_loop(); });
    return s;
}

void Store::checkpoint_loop() {
    std::unique_lock lock(checkpoint_mu_);
    while (!stopping_) {
        checkpoint_cv_.wait_for(lock, std::chrono::milliseconds(500));
        lock.unlock();
        sqlite3_wal_checkpoint_v2(checkpoint_db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        lock.lock();
    }
}

Store::~Store() {
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

//-----------------------------------------------------------------------------
// [SECTION] Bundles
//-----------------------------------------------------------------------------
std::string Store::bundle_path(const std::string& sha256) const { return dir_ + "/bundles/" + sha256 + ".ldxb"; }

Result<Store::BundleRow> Store::put_bundle(const BundleRow& row, std::string_view bytes) {
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
    if (ins.step() != SQLITE_DONE)
        return problem("io", std::string("cannot record the bundle: ") + sqlite3_errmsg(db_));
    return row;
}

uint64_t Store::prune(const std::string& before_day) {
    std::lock_guard lock(mu_);
    uint64_t deleted = 0;
    for (const char* sql : {"DELETE FROM seen_reports WHERE day < ?", "DELETE FROM source_counts WHERE day < ?",
                            "DELETE FROM source_totals WHERE day < ?", "DELETE FROM totals WHERE day < ?"}) {
        Stmt q(db_, sql);
        q.bind(1, before_day);
        if (q.step() == SQLITE_DONE) deleted += static_cast<uint64_t>(sqlite3_changes(db_));
    }
    return deleted;
}

std::vector<Store::BundleRow> Store::bundles() const {
    std::lock_guard lock(mu_);
    Stmt q(db_, (std::string("SELECT ") + kBundleColumns + " FROM bundles ORDER BY name, version").c_str());
    std::vector<BundleRow> out;
    while (q.step() == SQLITE_ROW) out.push_back(bundle_row(q));
    return out;
}

std::vector<Store::BundleRow> Store::latest_bundles() const {
    std::lock_guard lock(mu_);
    Stmt q(db_, (std::string("SELECT ") + kBundleColumns +
                 " FROM bundles b WHERE version = (SELECT max(version) FROM bundles WHERE name = b.name) ORDER BY name")
                    .c_str());
    std::vector<BundleRow> out;
    while (q.step() == SQLITE_ROW) out.push_back(bundle_row(q));
    return out;
}

std::optional<Store::BundleRow> Store::find_bundle(const std::string& sha256) const {
    std::lock_guard lock(mu_);
    Stmt q(db_, (std::string("SELECT ") + kBundleColumns + " FROM bundles WHERE sha256 = ?").c_str());
    q.bind(1, sha256);
    if (q.step() == SQLITE_ROW) return bundle_row(q);
    return std::nullopt;
}

std::optional<Store::BundleRow> Store::find_version(const std::string& name, int64_t version) const {
    std::lock_guard lock(mu_);
    Stmt q(db_, (std::string("SELECT ") + kBundleColumns + " FROM bundles WHERE name = ? AND version = ?").c_str());
    q.bind(1, name).bind(2, version);
    if (q.step() == SQLITE_ROW) return bundle_row(q);
    return std::nullopt;
}

//-----------------------------------------------------------------------------
// [SECTION] Aggregates
//-----------------------------------------------------------------------------
Result<std::vector<Store::Outcome>> Store::add_reports(const std::vector<Incoming>& batch, uint64_t source_day_max) {
    std::lock_guard lock(mu_);
    std::string err;
    if (!exec(db_, "BEGIN IMMEDIATE", &err)) return problem("io", "cannot start a transaction: " + err);
    std::vector<Outcome> out;
    // Merge the batch in memory first: one upsert per distinct (model, version, day, source, hist, bin).
    struct Key {
        std::string name;
        int64_t version;
        std::string day, source, hist;
        int64_t bin;
        bool operator<(const Key& o) const {
            return std::tie(name, version, day, source, hist, bin) <
                   std::tie(o.name, o.version, o.day, o.source, o.hist, o.bin);
        }
    };
    std::map<Key, uint64_t> sums;
    using DayKey = std::tuple<std::string, int64_t, std::string>;  // model, version, day
    std::map<DayKey, std::pair<uint64_t, uint64_t>> totals;        // reports, predictions
    std::map<std::tuple<std::string, int64_t, std::string, std::string>, std::pair<uint64_t, uint64_t>> per_source;
    std::map<std::pair<std::string, std::string>, uint64_t> day_use;  // (day, source) -> predictions so far
    Stmt known(db_, "SELECT 1 FROM seen_reports WHERE key = ?");
    Stmt seen(db_, "INSERT INTO seen_reports (key, day) VALUES (?, ?)");
    Stmt used(db_, "SELECT coalesce(sum(predictions), 0) FROM source_totals WHERE day = ? AND source = ?");
    for (const Incoming& in : batch) {
        const MetricsReport& r = in.report;
        if (!in.idempotency_key.empty()) {
            known.bind(1, in.idempotency_key);
            const bool duplicate = known.step() == SQLITE_ROW;
            known.reset();
            if (duplicate) {
                out.push_back(Outcome::duplicate);
                continue;
            }
        }
        auto use = day_use.find({r.day, in.source});
        if (use == day_use.end()) {
            used.bind(1, r.day).bind(2, in.source);
            const uint64_t before = used.step() == SQLITE_ROW ? static_cast<uint64_t>(used.integer(0)) : 0;
            used.reset();
            use = day_use.emplace(std::pair{r.day, in.source}, before).first;
        }
        if (use->second + r.n > source_day_max) {
            out.push_back(Outcome::over_daily_limit);
            continue;
        }
        use->second += r.n;
        if (!in.idempotency_key.empty()) {
            seen.bind(1, in.idempotency_key).bind(2, r.day);
            const int rc = seen.step();
            seen.reset();
            if (rc != SQLITE_DONE) {  // the same key twice in one batch
                out.push_back(Outcome::duplicate);
                use->second -= r.n;
                continue;
            }
        }
        out.push_back(Outcome::stored);
        auto& t = totals[{r.model, r.version, r.day}];
        t.first += 1;
        t.second += r.n;
        auto& ts = per_source[{r.model, r.version, r.day, in.source}];
        ts.first += 1;
        ts.second += r.n;
        // Field histograms are keyed by position; the server knows the names from the bundle,
        // so store "field:<index>" to keep rows short.
        auto add = [&](const std::string& hist, size_t bin, uint64_t count) {
            if (count) sums[{r.model, r.version, r.day, in.source, hist, static_cast<int64_t>(bin)}] += count;
        };
        for (size_t f = 0; f < r.fields.size(); ++f)
            for (size_t b = 0; b < r.fields[f].size(); ++b) add("field:" + std::to_string(f), b, r.fields[f][b]);
        for (size_t c = 0; c < r.predicted.size(); ++c) add("predicted", c, r.predicted[c]);
        for (size_t c = 0; c < r.probabilities.size(); ++c)
            for (size_t b = 0; b < r.probabilities[c].size(); ++b)
                add("probability:" + std::to_string(c), b, r.probabilities[c][b]);
    }
    auto fail = [&](const char* what) -> Result<std::vector<Outcome>> {
        const std::string why = sqlite3_errmsg(db_);
        exec(db_, "ROLLBACK");
        return problem("io", std::string("cannot store ") + what + ": " + why);
    };
    Stmt up(db_,
            "INSERT INTO source_counts (name, version, day, source, hist, bin, count) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (name, version, day, source, hist, bin) DO UPDATE SET count = count + excluded.count");
    for (const auto& [k, v] : sums) {
        up.bind(1, k.name)
            .bind(2, k.version)
            .bind(3, k.day)
            .bind(4, k.source)
            .bind(5, k.hist)
            .bind(6, k.bin)
            .bind(7, static_cast<int64_t>(v));
        if (up.step() != SQLITE_DONE) return fail("counts");
        up.reset();
    }
    Stmt src(db_,
             "INSERT INTO source_totals (name, version, day, source, reports, predictions) VALUES (?, ?, ?, ?, ?, ?) "
             "ON CONFLICT (name, version, day, source) DO UPDATE SET reports = reports + excluded.reports, "
             "predictions = predictions + excluded.predictions");
    for (const auto& [k, v] : per_source) {
        src.bind(1, std::get<0>(k))
            .bind(2, std::get<1>(k))
            .bind(3, std::get<2>(k))
            .bind(4, std::get<3>(k))
            .bind(5, static_cast<int64_t>(v.first))
            .bind(6, static_cast<int64_t>(v.second));
        if (src.step() != SQLITE_DONE) return fail("source totals");
        src.reset();
    }
    Stmt tot(db_,
             "INSERT INTO totals (name, version, day, reports, predictions) VALUES (?, ?, ?, ?, ?) "
             "ON CONFLICT (name, version, day) DO UPDATE SET reports = reports + excluded.reports, predictions = "
             "predictions + excluded.predictions");
    for (const auto& [k, v] : totals) {
        tot.bind(1, std::get<0>(k))
            .bind(2, std::get<1>(k))
            .bind(3, std::get<2>(k))
            .bind(4, static_cast<int64_t>(v.first))
            .bind(5, static_cast<int64_t>(v.second));
        if (tot.step() != SQLITE_DONE) return fail("totals");
        tot.reset();
    }
    if (!exec(db_, "COMMIT", &err)) {
        exec(db_, "ROLLBACK");
        return problem("io", "cannot commit: " + err);
    }
    return out;
}

Store::Totals Store::totals(const std::string& name, int64_t version, const std::string& from,
                            const std::string& to) const {
    std::lock_guard lock(mu_);
    Stmt q(db_,
           "SELECT coalesce(sum(reports), 0), coalesce(sum(predictions), 0) FROM totals WHERE name = ? AND version = ? "
           "AND day BETWEEN ? AND ?");
    q.bind(1, name).bind(2, version).bind(3, from).bind(4, to);
    Totals t;
    if (q.step() == SQLITE_ROW) {
        t.reports = static_cast<uint64_t>(q.integer(0));
        t.predictions = static_cast<uint64_t>(q.integer(1));
    }
    return t;
}

std::vector<Store::SourceAggregate> Store::sources(const std::string& name, int64_t version, const std::string& from,
                                                   const std::string& to) const {
    std::lock_guard lock(mu_);
    std::map<std::pair<std::string, std::string>, SourceAggregate> by;  // (day, source)
    Stmt t(db_,
           "SELECT day, source, predictions FROM source_totals WHERE name = ? AND version = ? AND day BETWEEN ? AND ?");
    t.bind(1, name).bind(2, version).bind(3, from).bind(4, to);
    while (t.step() == SQLITE_ROW) by[{t.text(0), t.text(1)}].predictions = static_cast<uint64_t>(t.integer(2));
    Stmt q(db_,
           "SELECT day, source, hist, bin, count FROM source_counts WHERE name = ? AND version = ? AND day BETWEEN ? "
           "AND ?");
    q.bind(1, name).bind(2, version).bind(3, from).bind(4, to);
    while (q.step() == SQLITE_ROW) {
        auto& v = by[{q.text(0), q.text(1)}].hist[q.text(2)];
        const size_t bin = static_cast<size_t>(q.integer(3));
        if (v.size() <= bin) v.resize(bin + 1, 0);
        v[bin] = static_cast<uint64_t>(q.integer(4));
    }
    std::vector<SourceAggregate> out;
    for (auto& [k, a] : by) out.push_back(std::move(a));
    return out;
}

std::vector<std::pair<std::string, int64_t>> Store::reported_versions() const {
    std::lock_guard lock(mu_);
    Stmt q(db_, "SELECT DISTINCT name, version FROM totals ORDER BY name, version");
    std::vector<std::pair<std::string, int64_t>> out;
    while (q.step() == SQLITE_ROW) out.push_back({q.text(0), q.integer(1)});
    return out;
}

}  // namespace ldx
