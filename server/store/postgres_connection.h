// server/store/postgres_connection.h — libpq for the PostgreSQL store: results, parameters,
// array literals, statements with a deadline of our own, and the connection pool with its
// settings (timeouts, keep-alives). Included by postgres_store.cpp only.
//
// Index of this file
//   [SECTION] libpq helpers (results, parameters, array literals)
//   [SECTION] Connections (a pool for readers, one writer)
#pragma once
#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "store/store.h"

namespace ldx::pg {

//-----------------------------------------------------------------------------
// [SECTION] libpq helpers
//-----------------------------------------------------------------------------
struct PgResult {
    PGresult* r = nullptr;
    std::string failed;  // no result: why (a deadline passed, the connection broke)
    explicit PgResult(PGresult* p) : r(p) {}
    PgResult(PGresult* p, std::string why) : r(p), failed(std::move(why)) {}
    ~PgResult() { PQclear(r); }
    PgResult(const PgResult&) = delete;
    PgResult& operator=(const PgResult&) = delete;
    PgResult(PgResult&& o) noexcept : r(o.r), failed(std::move(o.failed)) { o.r = nullptr; }
    bool ok() const {
        const auto s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
    }
    int rows() const { return PQntuples(r); }
    std::string text(int row, int col) const { return std::string(PQgetvalue(r, row, col), PQgetlength(r, row, col)); }
    int64_t integer(int row, int col) const { return std::strtoll(PQgetvalue(r, row, col), nullptr, 10); }
    bool null(int row, int col) const { return PQgetisnull(r, row, col); }
    std::string error() const { return r ? PQresultErrorMessage(r) : failed.empty() ? "out of memory" : failed; }
    std::string sqlstate() const {
        const char* s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
        return s ? s : "";
    }
};

struct Param {
    std::string value;
    bool binary = false;
};

// How long a statement's answer is waited for: PostgreSQL's own statement_timeout cannot help
// when the server itself hangs (stopped, a dead disk), so the client keeps a deadline too. Set
// once per store (postgres_store_open); a connection that passes it is dropped.
inline thread_local int g_statement_ms = 5000;

// Text parameters ($1, $2, ...); a binary one for bytea. Results in text unless binary_result.
// The answer is waited for at most g_statement_ms; past that the result is an error and the
// connection is left busy, so the pool closes it rather than reuse it.
inline PgResult query(PGconn* c, const char* sql, const std::vector<Param>& params = {}, bool binary_result = false) {
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
    for (const Param& p : params) {
        values.push_back(p.value.data());
        lengths.push_back(static_cast<int>(p.value.size()));
        formats.push_back(p.binary ? 1 : 0);
    }
    if (!PQsendQueryParams(c, sql, static_cast<int>(params.size()), nullptr, values.data(), lengths.data(),
                           formats.data(), binary_result ? 1 : 0))
        return PgResult(nullptr, std::string("cannot send the statement: ") + PQerrorMessage(c));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(g_statement_ms);
    auto wait_for = [&](short events) {
        for (;;) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
                    .count();
            if (left <= 0) return false;
            pollfd p{PQsocket(c), events, 0};
            const int r = ::poll(&p, 1, static_cast<int>(left));
            if (r > 0) return true;
            if (r < 0 && errno != EINTR) return false;
        }
    };
    const std::string late = "PostgreSQL did not answer within " + std::to_string(g_statement_ms / 1000) + " s";
    for (int flushed = PQflush(c); flushed != 0; flushed = PQflush(c)) {
        if (flushed < 0 || !wait_for(POLLOUT | POLLIN)) return PgResult(nullptr, late);
        if (!PQconsumeInput(c)) return PgResult(nullptr, PQerrorMessage(c));
    }
    PGresult* last = nullptr;
    for (;;) {
        while (PQisBusy(c)) {
            if (!wait_for(POLLIN)) {
                PQclear(last);
                return PgResult(nullptr, late);
            }
            if (!PQconsumeInput(c)) {
                PQclear(last);
                return PgResult(nullptr, PQerrorMessage(c));
            }
        }
        PGresult* r = PQgetResult(c);
        if (!r) break;
        PQclear(last);  // a statement has one result; keep the last (the error, if any)
        last = r;
    }
    return PgResult(last);
}

// A PostgreSQL array literal of text: {"a","b\"c"}.
inline std::string text_array(const std::vector<std::string>& items) {
    std::string out = "{";
    for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += ',';
        out += '"';
        for (char ch : items[i]) {
            if (ch == '"' || ch == '\\') out += '\\';
            out += ch;
        }
        out += '"';
    }
    return out + "}";
}
template <typename T>
std::string int_array(const std::vector<T>& items) {
    std::string out = "{";
    for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + std::to_string(items[i]);
    return out + "}";
}

// One column of rows as an array literal: get(row) for every row.
template <typename Rows, typename Get>
std::string text_column(const Rows& rows, Get get) {
    std::vector<std::string> v;
    for (const auto& r : rows) v.push_back(get(r));
    return text_array(v);
}
template <typename Rows, typename Get>
std::string int_column(const Rows& rows, Get get) {
    std::vector<decltype(get(rows.front()))> v;
    for (const auto& r : rows) v.push_back(get(r));
    return int_array(v);
}

//-----------------------------------------------------------------------------
// [SECTION] Connections
//-----------------------------------------------------------------------------
// Connections to one URI. lease() hands out an idle connection (or opens one, up to `size`);
// a connection that went bad is closed when it comes back, and the next lease opens a new one.
class Pool {
public:
    Pool(std::string uri, int size, int timeout_seconds)
        : uri_(std::move(uri)), size_(std::max(1, size)), timeout_seconds_(timeout_seconds) {}
    ~Pool() {
        for (PGconn* c : idle_) PQfinish(c);
    }
    class Lease {
    public:
        Lease(Pool* p, PGconn* c) : pool_(p), c_(c) {}
        ~Lease() {
            if (pool_) pool_->give_back(c_);
        }
        Lease(Lease&& o) noexcept : pool_(o.pool_), c_(o.c_) { o.pool_ = nullptr; }
        Lease(const Lease&) = delete;
        PGconn* get() const { return c_; }

    private:
        Pool* pool_;
        PGconn* c_;
    };
    // A connection within the timeout, or "io": every connection busy (a hung server holds them
    // until their statements' deadlines), or none can be opened.
    Result<Lease> lease() {
        g_statement_ms = timeout_seconds_ * 1000;
        std::unique_lock lock(mu_);
        if (!cv_.wait_for(lock, std::chrono::seconds(timeout_seconds_),
                          [&] { return !idle_.empty() || open_ < size_; }))
            return problem("io",
                           "no PostgreSQL connection became free within " + std::to_string(timeout_seconds_) + " s");
        if (!idle_.empty()) {
            PGconn* c = idle_.back();
            idle_.pop_back();
            return Lease(this, c);
        }
        ++open_;
        lock.unlock();
        PGconn* c = connect(uri_, timeout_seconds_);
        if (PQstatus(c) != CONNECTION_OK) {
            const std::string why = c ? PQerrorMessage(c) : "out of memory";
            PQfinish(c);
            lock.lock();
            --open_;
            cv_.notify_one();
            return problem("io", "cannot connect to PostgreSQL at " + store_uri_for_log(uri_) + ": " + why);
        }
        return Lease(this, c);
    }
    // Settings after the URI override the URI's own: a server that does not answer is given up
    // after the timeout (not the OS's minutes), statements are cancelled by the server after it,
    // and TCP keep-alives find a vanished peer.
    static PGconn* connect(const std::string& uri, int timeout_seconds) {
        const std::string timeout = std::to_string(timeout_seconds);
        const std::string options = "-c statement_timeout=" + std::to_string(timeout_seconds * 1000) +
                                    " -c idle_in_transaction_session_timeout=" + std::to_string(timeout_seconds * 4000);
        const char* keys[] = {"dbname",           "connect_timeout", "application_name",
                              "keepalives",       "keepalives_idle", "keepalives_interval",
                              "keepalives_count", "options",         nullptr};
        const char* values[] = {uri.c_str(), timeout.c_str(), "localdx-server", "1", "30", "10",
                                "3",         options.c_str(), nullptr};
        return PQconnectdbParams(keys, values, 1);
    }

private:
    void give_back(PGconn* c) {
        std::lock_guard lock(mu_);
        if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE) idle_.push_back(c);
        else {
            PQfinish(c);
            --open_;
        }
        cv_.notify_one();
    }
    std::string uri_;
    int size_;
    int timeout_seconds_;
    int open_ = 0;
    std::vector<PGconn*> idle_;
    std::mutex mu_;
    std::condition_variable cv_;
};

}  // namespace ldx::pg
