// tests/server/stores.h — which store the server tests run against (ctest runs them twice: once
// on SQLite, once on PostgreSQL), and a fresh PostgreSQL database per test.
//
// LOCALDX_TEST_STORE: "sqlite" (default) or "postgresql"; for PostgreSQL, LOCALDX_PG_STATE (set at
// build time) is the folder tests/support/postgres.sh wrote the server's URI into (ctest fixture
// "postgres").
#pragma once
#include <libpq-fe.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "store/store.h"

namespace ldx::test {

inline std::string store_kind() {
    const char* e = std::getenv("LOCALDX_TEST_STORE");
    return e && *e ? e : "sqlite";
}
inline bool on_postgres() { return store_kind() == "postgresql"; }

// The test server's URI with database `db` (the fixture's URI names "postgres").
inline std::string pg_uri(const std::string& db) {
    std::ifstream f(std::string(LOCALDX_PG_STATE) + "/uri");
    std::string uri;
    std::getline(f, uri);
    const size_t at = uri.find("/postgres?");
    return at == std::string::npos ? uri : uri.substr(0, at) + "/" + db + uri.substr(at + 9);
}

// A database name PostgreSQL accepts (at most 63 bytes), one per name: a readable start and a
// hash of the whole name, so that long names that share a start do not share a database.
inline std::string pg_database_name(const std::string& name) {
    std::string db = "t_";
    for (char c : name.substr(0, 32))
        db += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_';
    return db + "_" + std::to_string(std::hash<std::string>{}(name) % 1000000007u);
}

// Drops and creates database `db`; "" when done, else why not.
inline std::string pg_fresh_database(const std::string& db) {
    PGconn* c = PQconnectdb(pg_uri("postgres").c_str());
    std::string why;
    if (PQstatus(c) != CONNECTION_OK) why = PQerrorMessage(c);
    for (const std::string sql : {"DROP DATABASE IF EXISTS " + db + " WITH (FORCE)", "CREATE DATABASE " + db}) {
        if (!why.empty()) break;
        PGresult* r = PQexec(c, sql.c_str());
        if (PQresultStatus(r) != PGRES_COMMAND_OK) why = PQresultErrorMessage(r);
        PQclear(r);
    }
    PQfinish(c);
    return why;
}

// The --store value for a test server named `name`: "" (SQLite under its data folder), or the
// URI of a fresh PostgreSQL database.
inline std::string fresh_store(const std::string& name) {
    if (!on_postgres()) return "";
    const std::string db = pg_database_name(name);
    if (const std::string why = pg_fresh_database(db); !why.empty()) return "cannot-create-database:" + why;
    return pg_uri(db);
}

// The store a Store test works on: SQLite in `dir`, or a fresh PostgreSQL database named after it.
inline Result<std::unique_ptr<Store>> open_test_store(const std::string& dir, const std::string& name) {
    if (!on_postgres()) return sqlite_store_open(dir);
    return postgres_store_open(fresh_store(name), 2);
}

}  // namespace ldx::test
