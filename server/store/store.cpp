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
        CREATE TABLE IF NOT EXISTS counts (
            name TEXT NOT NULL, version INTEGER NOT NULL, day TEXT NOT NULL, hist TEXT NOT NULL, bin INTEGER NOT NULL,
            count INTEGER NOT NULL, PRIMARY KEY (name, version, day, hist, bin)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS seen_reports (key TEXT PRIMARY KEY, day TEXT NOT NULL) WITHOUT ROWID;
    )sql";
    if (!exec(s->db_, schema, &err)) return problem("io", "cannot set up " + path + ": " + err);
    if (!exec(s->db_, "PRAGMA wal_autocheckpoint = 0", &err))
        return problem("io", "cannot configure " + path + ": " + err);
    if (sqlite3_open_v2(path.c_str(), &s->checkpoint_db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr) !=
        SQLITE_OK)
        return problem("io", "cannot open " + path + " for checkpoints");
    sqlite3_busy_timeout(s->checkpoint_db_, 5000);
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
    for (const char* sql : {"DELETE FROM seen_reports WHERE day < ?", "DELETE FROM counts WHERE day < ?",
                            "DELETE FROM totals WHERE day < ?"}) {
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
Result<std::vector<Store::Outcome>> Store::add_reports(const std::vector<Incoming>& batch) {
    std::lock_guard lock(mu_);
    std::string err;
    if (!exec(db_, "BEGIN IMMEDIATE", &err)) return problem("io", "cannot start a transaction: " + err);
    std::vector<Outcome> out;
    // Merge the batch in memory first: one upsert per distinct (model, version, day, hist, bin).
    struct Key {
        std::string name;
        int64_t version;
        std::string day, hist;
        int64_t bin;
        bool operator<(const Key& o) const {
            return std::tie(name, version, day, hist, bin) < std::tie(o.name, o.version, o.day, o.hist, o.bin);
        }
    };
    std::map<Key, uint64_t> sums;
    std::map<std::tuple<std::string, int64_t, std::string>, std::pair<uint64_t, uint64_t>> totals;
    Stmt seen(db_, "INSERT OR IGNORE INTO seen_reports (key, day) VALUES (?, ?)");
    for (const Incoming& in : batch) {
        const MetricsReport& r = in.report;
        if (!in.idempotency_key.empty()) {
            seen.bind(1, in.idempotency_key).bind(2, r.day);
            seen.step();
            const bool fresh = sqlite3_changes(db_) == 1;
            seen.reset();
            if (!fresh) {
                out.push_back(Outcome::duplicate);
                continue;
            }
        }
        out.push_back(Outcome::stored);
        auto& t = totals[{r.model, r.version, r.day}];
        t.first += 1;
        t.second += r.n;
        // Field histograms are keyed by position; the server knows the names from the bundle,
        // so store "field:<index>" to keep rows short.
        for (size_t f = 0; f < r.fields.size(); ++f)
            for (size_t b = 0; b < r.fields[f].size(); ++b)
                if (r.fields[f][b])
                    sums[{r.model, r.version, r.day, "field:" + std::to_string(f), static_cast<int64_t>(b)}] +=
                        r.fields[f][b];
        for (size_t c = 0; c < r.predicted.size(); ++c)
            if (r.predicted[c])
                sums[{r.model, r.version, r.day, "predicted", static_cast<int64_t>(c)}] += r.predicted[c];
        for (size_t c = 0; c < r.probabilities.size(); ++c)
            for (size_t b = 0; b < r.probabilities[c].size(); ++b)
                if (r.probabilities[c][b])
                    sums[{r.model, r.version, r.day, "probability:" + std::to_string(c), static_cast<int64_t>(b)}] +=
                        r.probabilities[c][b];
    }
    Stmt up(db_,
            "INSERT INTO counts (name, version, day, hist, bin, count) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (name, version, day, hist, bin) DO UPDATE SET count = count + excluded.count");
    for (const auto& [k, v] : sums) {
        up.bind(1, k.name)
            .bind(2, k.version)
            .bind(3, k.day)
            .bind(4, k.hist)
            .bind(5, k.bin)
            .bind(6, static_cast<int64_t>(v));
        if (up.step() != SQLITE_DONE) {
            exec(db_, "ROLLBACK");
            return problem("io", std::string("cannot store counts: ") + sqlite3_errmsg(db_));
        }
        up.reset();
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
        if (tot.step() != SQLITE_DONE) {
            exec(db_, "ROLLBACK");
            return problem("io", std::string("cannot store totals: ") + sqlite3_errmsg(db_));
        }
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

std::map<std::string, std::vector<uint64_t>> Store::counts(const std::string& name, int64_t version,
                                                           const std::string& from, const std::string& to) const {
    std::lock_guard lock(mu_);
    Stmt q(db_,
           "SELECT hist, bin, sum(count) FROM counts WHERE name = ? AND version = ? AND day BETWEEN ? AND ? GROUP BY "
           "hist, bin");
    q.bind(1, name).bind(2, version).bind(3, from).bind(4, to);
    std::map<std::string, std::vector<uint64_t>> out;
    while (q.step() == SQLITE_ROW) {
        auto& v = out[q.text(0)];
        const size_t bin = static_cast<size_t>(q.integer(1));
        if (v.size() <= bin) v.resize(bin + 1, 0);
        v[bin] = static_cast<uint64_t>(q.integer(2));
    }
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
