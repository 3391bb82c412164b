// tests/server/test_front_door.cpp — what one anonymous client can write to the server, byte by
// byte from raw sockets, and what the server must do with it: refuse it from the head, answer
// exactly once, close, and not grow. Also where requests end (the front's head scanner against
// cpp-httplib's own parser), per-network controls, the store's deadlines and the day salts' life.
//
// Index of this file
//   [SECTION] Where a request ends (head_scan, cpp-httplib, networks)
//   [SECTION] Hostile requests from raw sockets
//   [SECTION] Slow readers, paths, caching, stopping
//   [SECTION] The store: salts and a hung PostgreSQL
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <zlib.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "base/json.h"
#include "base/text.h"
#include "bundle/crypto.h"
#include "fixture.h"
#include "http/compressed_files.h"
#include "http/request_head.h"
#include "io/files.h"
#include "raw_client.h"
#include "support/httplib_probe.h"

namespace ldx {
namespace {
using test::has_response;
using test::raw_status;
using test::RawClient;
using test::response_count;
using test::status_of;

// Tests of the connection front, which does not depend on the store: run once, on SQLite.
#define FRONT_ONLY() \
    if (test::on_postgres()) { GTEST_SKIP() << "the connection front does not depend on the store"; }

const std::string kHost = "Host: x\r\n";

//-----------------------------------------------------------------------------
// [SECTION] Where a request ends
//-----------------------------------------------------------------------------
TEST(RequestHead, RefusesEveryAmbiguousHeadWithItsReason) {
    FRONT_ONLY();
    const HeadLimits lim;
    struct Case {
        std::string bytes;
        int status;  // 0: complete; -1: incomplete
        std::string code;
    };
    const std::vector<Case> cases = {
        {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, ""},
        {"GET / HTTP/1.1\r\nHost: x\r\n", -1, ""},
        {"GET / HTTP/1.1\r\nHost: x\r\n\r", -1, ""},
        {"GET / HTTP/1.1\r\nHost: x\r\n\n", 400, "bare_lf"},
        {"GET / HTTP/1.1\nHost: x\r\n\r\n", 400, "bare_lf"},
        {"GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n", 400, "bare_cr"},
        {"GET / HTTP/1.1\r\nHost: \x01\r\n\r\n", 400, "bad_byte"},
        {std::string("GET / HTTP/1.1\r\nHost: \0\r\n\r\n", 25), 400, "bad_byte"},
        {"\r\nGET / HTTP/1.1\r\n\r\n", 400, "bad_request_line"},
        {"GET  / HTTP/1.1\r\n\r\n", 400, "bad_request_line"},
        {"GET / HTTP/2.0\r\n\r\n", 400, "bad_http_version"},
        {"BREW / HTTP/1.1\r\n\r\n", 400, "bad_method"},
        {"GET http://x/ HTTP/1.1\r\n\r\n", 400, "bad_request_line"},
        {"GET /a?b?c HTTP/1.1\r\n\r\n", 400, "bad_request_line"},
        {"GET / HTTP/1.1\r\n folded\r\n\r\n", 400, "bad_header"},
        {"GET / HTTP/1.1\r\nno colon\r\n\r\n", 400, "bad_header"},
        {"GET / HTTP/1.1\r\nContent-Length : 5\r\n\r\n", 400, "bad_header"},
        {"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 400, "bad_framing"},
        {"POST / HTTP/1.1\r\nContent-Length: %35\r\n\r\n", 400, "bad_framing"},
        {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "bad_framing"},
        {"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", 400, "bad_framing"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411, "length_required"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400, "bad_framing"},
        {"POST / HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\n", 415, "content_encoding"},
        {"POST / HTTP/1.1\r\ncontent-encoding: br\r\nContent-Length: 3\r\n\r\n", 415, "content_encoding"},
        {"POST / HTTP/1.1\r\nHost: x\r\n\r\n", 411, "length_required"},
        {"DELETE / HTTP/1.1\r\nHost: x\r\n\r\n", 411, "length_required"},
        {"GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\n", 413, "no_body"},
        {"GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 0, ""},
        {"POST / HTTP/1.1\r\nContent-Length: 268435457\r\n\r\n", 413, "too_large"},
        {"GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n", 414, "uri_too_long"},
        {"GET / HTTP/1.1\r\nX: " + std::string(9000, 'a') + "\r\n\r\n", 431, "headers_too_large"},
    };
    for (const Case& c : cases) {
        const HeadScan s = head_scan(c.bytes, lim);
        if (c.status == 0) {
            EXPECT_EQ(s.state, HeadState::complete) << printable(c.bytes) << " " << s.refusal.problem.message;
            EXPECT_EQ(s.head_bytes, c.bytes.size());
        } else if (c.status < 0) {
            EXPECT_EQ(s.state, HeadState::incomplete) << printable(c.bytes);
        } else {
            EXPECT_EQ(s.state, HeadState::refused) << printable(c.bytes);
            EXPECT_EQ(s.refusal.status, c.status) << printable(c.bytes);
            EXPECT_EQ(s.refusal.problem.code, c.code) << printable(c.bytes);
            EXPECT_FALSE(s.refusal.problem.message.empty());
        }
    }
    // Many headers; a head over the limit; a head arriving a byte at a time gives the same answer.
    std::string many = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 65; ++i) many += "X-" + std::to_string(i) + ": y\r\n";
    EXPECT_EQ(head_scan(many + "\r\n", lim).refusal.status, 431);
    std::string big = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 8; ++i) big += "X-" + std::to_string(i) + ": " + std::string(4000, 'y') + "\r\n";
    EXPECT_EQ(head_scan(big, lim).refusal.problem.code, "headers_too_large");
    const std::string post = "POST /api/v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n";
    HeadScan s;
    for (size_t n = 1; n <= post.size(); ++n) {
        s = head_scan(std::string_view(post).substr(0, n), lim, s.checked);
        if (n < post.size()) { ASSERT_EQ(s.state, HeadState::incomplete) << n; }
    }
    EXPECT_EQ(s.state, HeadState::complete);
    EXPECT_EQ(s.head_bytes, post.size());
    EXPECT_EQ(s.body_bytes, 12u);
    EXPECT_EQ(s.method, "POST");
}

// What the front accepts, cpp-httplib parses to the same request and ends at the same byte.
TEST(RequestHead, WhatTheFrontAcceptsCppHttplibParsesIdentically) {
    FRONT_ONLY();
    test::HttplibProbe probe;
    const std::string body = "{\"model\": \"x\"}";
    const std::vector<std::string> requests = {
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /healthz?x=1&y=%20 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n",
        "HEAD /api/v1/models HTTP/1.0\r\n\r\n",
        "OPTIONS /api/v1/metrics HTTP/1.1\r\nOrigin: https://a\r\n\r\n",
        "GET /page.js HTTP/1.1\r\nRange: bytes=0-10\r\nX-Empty:\r\n\r\n",
        "POST /api/v1/metrics HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: " +
            std::to_string(body.size()) + "\r\n\r\n" + body,
        "PUT /x HTTP/1.1\r\ncontent-length:3\r\n\r\nabc",
        "DELETE /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        "PATCH /x HTTP/1.1\r\nContent-Length: 2\t\r\n\r\nab",
        "GET /x HTTP/1.1\r\nX-Real-IP: 2001:db8::1\r\nExpect: 100-continue\r\n\r\n",
    };
    for (const std::string& r : requests) {
        // The request followed by another: both must end where the front says.
        const std::string bytes = r + "GET /next HTTP/1.1\r\n\r\n";
        const HeadScan s = head_scan(bytes, HeadLimits{});
        ASSERT_EQ(s.state, HeadState::complete) << printable(r) << ": " << s.refusal.problem.message;
        const test::HttplibParse p = probe.parse(bytes);
        EXPECT_TRUE(p.status == 200 || p.status == 206) << p.status << " " << printable(r);
        EXPECT_EQ(p.consumed, s.head_bytes + s.body_bytes) << printable(r);
        EXPECT_EQ(p.consumed, r.size()) << printable(r);
        EXPECT_EQ(p.method, s.method) << printable(r);
        EXPECT_EQ(p.body, s.body_bytes) << printable(r);
    }
    // cpp-httplib's own early error (a malformed Range: 416) on a head the front accepts: it reads
    // no further than the front's end, and the front closes the connection after the error.
    const std::string bad_range =
        "POST /x HTTP/1.1\r\nRange: bytes=5-1\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n";
    const HeadScan s = head_scan(bad_range, HeadLimits{});
    ASSERT_EQ(s.state, HeadState::complete);
    const test::HttplibParse p = probe.parse(bad_range);
    EXPECT_EQ(p.status, 416);
    EXPECT_LE(p.consumed, s.head_bytes + s.body_bytes);
}

TEST(RequestHead, PerAddressControlsCountANetwork) {
    FRONT_ONLY();
    EXPECT_EQ(network_key("192.0.2.7"), "192.0.2.7");
    EXPECT_EQ(network_key("::ffff:192.0.2.7"), "192.0.2.7");
    EXPECT_EQ(network_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
    EXPECT_EQ(network_key("2001:db8:1:2::1"), network_key("2001:DB8:1:2:ffff::9"));
    EXPECT_NE(network_key("2001:db8:1:2::1"), network_key("2001:db8:1:3::1"));
    EXPECT_EQ(network_key("::1"), "::/64");
    EXPECT_EQ(network_key("not an address"), "not an address");
}

//-----------------------------------------------------------------------------
// [SECTION] Hostile requests from raw sockets
//-----------------------------------------------------------------------------
// Sends `head` and then up to `megabytes` of `filler` until the server stops taking it; returns
// what the server answered.
std::string send_then_flood(int port, const std::string& from, const std::string& head, const std::string& filler,
                            int megabytes, size_t* sent = nullptr) {
    RawClient c(port, from);
    c.send(head);
    size_t total = 0;
    for (size_t limit = size_t(megabytes) << 20; total < limit && c.send(filler);) total += filler.size();
    if (sent) *sent = total;
    return c.receive(3000, has_response);
}

TEST(FrontDoor, BareLineFeedsAreRefusedFromTheHeadAndNothingGrows) {
    FRONT_ONLY();
    Server s("bare-lf");
    ASSERT_TRUE(s.start());
    const uint64_t rss0 = s.proc->rss();
    std::string lines;  // 8 KB header lines
    for (int i = 0; i < 64; ++i) lines += "X-" + std::to_string(i) + ": " + std::string(8000, 'y') + "\r\n";
    size_t sent = 0;
    const std::string got =
        send_then_flood(s.port, "127.0.0.2", "GET /healthz HTTP/1.1\r\nHost: a\r\n\n", lines, 200, &sent);
    EXPECT_EQ(status_of(got), 400) << got;
    EXPECT_NE(got.find("\"code\":\"bare_lf\""), std::string::npos) << got;
    EXPECT_NE(got.find("Connection: close"), std::string::npos) << got;
    EXPECT_EQ(response_count(got), 1);
    EXPECT_LT(sent, size_t(64) << 20) << "the server kept reading after refusing";
    // A bare LF anywhere in the head, and a head of bare-LF lines only.
    EXPECT_EQ(raw_status(s.port, "GET /healthz HTTP/1.1\nHost: a\n\n"), 400);
    EXPECT_EQ(raw_status(s.port, "GET /healthz HTTP/1.1\r\nHost: a\nX: y\r\n\r\n"), 400);
    const uint64_t rss1 = s.proc->rss();
    EXPECT_LT(rss1, rss0 + 20 * 1024 * 1024) << rss0 << " -> " << rss1;
    std::printf("bare LF head then %.1f MB of header lines: 400, RSS %.1f -> %.1f MB\n", sent / 1e6, rss0 / 1e6,
                rss1 / 1e6);
    EXPECT_EQ(s.client().Get("/healthz")->status, 200);
}

// `n` bytes of zeros compressed: "gzip" or "deflate" (zlib), as a client would send them.
std::string compressed(const std::string& encoding, size_t n) {
    const std::string zeros(n, '\0');
    z_stream z{};
    deflateInit2(&z, 9, Z_DEFLATED, encoding == "gzip" ? 31 : 15, 9, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&z, static_cast<uLong>(n)), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zeros.data()));
    z.avail_in = static_cast<uInt>(n);
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

TEST(FrontDoor, CompressedBodiesAreRefusedBeforeTheyAreRead) {
    FRONT_ONLY();
    Server s("compressed", {"--rate-limit", "0"});
    ASSERT_TRUE(s.start());
    ASSERT_EQ(s.publish(demo_bundle("pima-diabetes"))->status, 201);
    const uint64_t rss0 = s.proc->rss();
    // Eight bodies of about 63 KiB that inflate to 64 MiB each, sent at once.
    const std::map<std::string, std::string> bodies = {{"gzip", compressed("gzip", 64u << 20)},
                                                       {"deflate", compressed("deflate", 64u << 20)},
                                                       {"br", std::string(60000, 'x')}};
    std::vector<std::thread> senders;
    std::vector<std::string> answers(8);
    for (int i = 0; i < 8; ++i) {
        senders.emplace_back([&, i] {
            const std::string encoding = i % 3 == 0 ? "gzip" : i % 3 == 1 ? "deflate" : "br";
            const std::string& body = bodies.at(encoding);
            RawClient c(s.port, "127.0.0." + std::to_string(2 + i));
            c.send("POST /api/v1/metrics HTTP/1.1\r\n" + kHost +
                   "Content-Type: application/json\r\nContent-Encoding: " + encoding +
                   "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
            answers[static_cast<size_t>(i)] = c.receive(3000, has_response);
        });
    }
    for (auto& t : senders) t.join();
    for (const auto& got : answers) {
        EXPECT_EQ(status_of(got), 415) << got;
        EXPECT_NE(got.find("\"code\":\"content_encoding\""), std::string::npos) << got;
        EXPECT_EQ(response_count(got), 1);
    }
    const uint64_t rss1 = s.proc->rss();
    EXPECT_LT(rss1, rss0 + 20 * 1024 * 1024) << rss0 << " -> " << rss1;
    std::printf("8 compressed reports (64 MiB each inflated): 415, RSS %.1f -> %.1f MB\n", rss0 / 1e6, rss1 / 1e6);
}

// A request refused early (by cpp-httplib's own checks or ours) whose body holds another request:
// one answer, the connection closed, the smuggled request never answered.
TEST(FrontDoor, ABodyAfterAnEarlyErrorIsNeverParsedAsARequest) {
    FRONT_ONLY();
    Server s("smuggled", {"--rate-limit", "0"});
    ASSERT_TRUE(s.start());
    const std::string smuggled = "GET /api/v1/trust HTTP/1.1\r\n" + kHost + "\r\n";
    const std::string post = "POST /api/v1/metrics HTTP/1.1\r\n" + kHost + "Content-Type: application/json\r\n";
    struct Probe {
        std::string head;
        int status;
    };
    const std::vector<Probe> probes = {
        // cpp-httplib's 416 for a malformed Range, after the head was accepted.
        {post + "Range: bytes=5-1\r\nContent-Length: " + std::to_string(smuggled.size()) + "\r\n\r\n", 416},
        // A header line over 8 KiB (cpp-httplib's 400): refused by the front from the head.
        {post + "X-Long: " + std::string(9000, 'a') + "\r\nContent-Length: " + std::to_string(smuggled.size()) +
             "\r\n\r\n",
         431},
        // A request line over 8 KiB (cpp-httplib's 414).
        {"POST /api/v1/metrics?" + std::string(9000, 'a') + " HTTP/1.1\r\n" + kHost +
             "Content-Length: " + std::to_string(smuggled.size()) + "\r\n\r\n",
         414},
        // Our own refusals: a report that is not JSON, one without a length, a body on a GET.
        {"POST /api/v1/metrics HTTP/1.1\r\n" + kHost +
             "Content-Type: text/plain\r\nContent-Length: " + std::to_string(smuggled.size()) + "\r\n\r\n",
         415},
        {"GET /healthz HTTP/1.1\r\n" + kHost + "Content-Length: " + std::to_string(smuggled.size()) + "\r\n\r\n", 413},
        {"GET /nope HTTP/1.1\r\n" + kHost + "\r\n", 404},
    };
    for (const Probe& p : probes) {
        RawClient c(s.port, "127.0.0.2");
        c.send(p.head + smuggled);
        const std::string got = c.receive(2000);  // everything, until the server closes
        EXPECT_EQ(status_of(got), p.status) << printable(p.head.substr(0, 80)) << "\n" << got;
        EXPECT_EQ(response_count(got), 1) << printable(p.head.substr(0, 80)) << "\n" << got;
        EXPECT_EQ(got.find("\"keys\""), std::string::npos) << "the smuggled request was answered";
        EXPECT_TRUE(c.closed_within(500));
    }
    // A success keeps the connection, and a pipelined request is answered after it.
    RawClient keep(s.port, "127.0.0.3");
    keep.send("GET /healthz HTTP/1.1\r\n" + kHost + "\r\n" + smuggled);
    const std::string both = keep.receive(2000, [](const std::string& g) { return response_count(g) == 2; });
    EXPECT_EQ(response_count(both), 2) << both;
}

TEST(FrontDoor, ABodyWithoutALengthIsRefusedAtOnce) {
    FRONT_ONLY();
    Server s("no-length", {"--rate-limit", "0"});
    ASSERT_TRUE(s.start());
    const uint64_t rss0 = s.proc->rss();
    for (const char* method : {"POST /api/v1/metrics", "PUT /api/v1/metrics", "POST /api/v1/bundles"}) {
        size_t sent = 0;
        const auto t0 = std::chrono::steady_clock::now();
        const std::string got =
            send_then_flood(s.port, "127.0.0.2", std::string(method) + " HTTP/1.1\r\n" + kHost + "\r\n",
                            std::string(64 * 1024, '{'), 14, &sent);
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        EXPECT_EQ(status_of(got), 411) << method << "\n" << got;
        EXPECT_EQ(response_count(got), 1);
        EXPECT_LT(secs, 3.0) << method;
        EXPECT_LT(sent, size_t(14) << 20) << method << ": read until the client stopped";
    }
    EXPECT_LT(s.proc->rss(), rss0 + 20 * 1024 * 1024);
}

// One network counts once, whatever address in it a request comes from (here through a trusted
// proxy's X-Real-IP, as behind the shipped nginx site): its rate limit and its report source.
TEST(FrontDoor, OneIPv6NetworkIsOneSource) {
    FRONT_ONLY();
    Server s("ipv6", {"--rate-limit", "5", "--trusted-proxy", "127.0.0.1", "--drift-min-sources", "1"});
    ASSERT_TRUE(s.start());
    ASSERT_EQ(s.publish(demo_bundle("pima-diabetes"))->status, 201);
    const auto reports = make_reports(demo_model("pima-diabetes"), "pima-diabetes", 20, 20);
    auto c = s.client();
    int accepted = 0, limited = 0;
    char address[64];
    for (int i = 0; i < 1000; ++i) {
        std::snprintf(address, sizeof address, "2001:db8:7:7:%x:%x::%x", i / 7, i % 13, i + 1);
        auto r = c.Post("/api/v1/metrics", httplib::Headers{{"X-Real-IP", address}}, reports[size_t(i) % 20],
                        "application/json");
        ASSERT_TRUE(r);
        accepted += r->status == 202;
        limited += r->status == 429;
    }
    EXPECT_EQ(accepted, 5) << "1,000 addresses of one /64 share one rate limit";
    EXPECT_EQ(limited, 995);
    // Another /64 is another network; an IPv4-mapped address is its IPv4 address.
    EXPECT_EQ(
        c.Post("/api/v1/metrics", httplib::Headers{{"X-Real-IP", "2001:db8:7:8::1"}}, reports[0], "application/json")
            ->status,
        202);
    for (int i = 0; i < 5; ++i)
        c.Post("/api/v1/metrics", httplib::Headers{{"X-Real-IP", "192.0.2.50"}}, reports[1], "application/json");
    EXPECT_EQ(
        c.Post("/api/v1/metrics", httplib::Headers{{"X-Real-IP", "::ffff:192.0.2.50"}}, reports[2], "application/json")
            ->status,
        429);
    // The store's pseudonymous sources: the /64, the other /64, and 192.0.2.50.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2((s.dir + "/data/localdx.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* q = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(DISTINCT source) FROM source_totals", -1, &q, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(q, 0), 3);
    sqlite3_finalize(q);
    sqlite3_close(db);
}

// The body of a raw answer, read as the problem envelope: {"ok": false, "problems": [{"code",
// "message", "field"?, "row"?, "patient"?}]} and nothing else; returns the first problem's code.
std::string envelope_code(const std::string& answer) {
    const size_t at = answer.find("\r\n\r\n");
    if (at == std::string::npos) return "no body: " + answer;
    auto j = json_parse(answer.substr(at + 4), "error body");
    if (!j) return "not JSON: " + answer.substr(at + 4);
    EXPECT_EQ(j->size(), 2u) << j->dump();
    EXPECT_EQ(json_member(*j, "ok"), Json(false)) << j->dump();
    const Json& problems = json_member(*j, "problems");
    if (!problems.is_array() || problems.empty()) return "no problems: " + j->dump();
    for (const Json& p : problems) {
        if (!p.is_object()) return "not a problem: " + p.dump();
        for (auto it = p.begin(); it != p.end(); ++it)
            EXPECT_TRUE(it.key() == "code" || it.key() == "message" || it.key() == "field" || it.key() == "row" ||
                        it.key() == "patient")
                << it.key() << " in " << p.dump();
        EXPECT_FALSE(json_text_or(p, "message").empty()) << p.dump();
    }
    return json_text_or(problems[0], "code");
}

// Whichever layer refuses, the body is the one problem envelope: a route (a report that is not
// one), the checks made before a body is read (a report not sent as JSON), and the connection
// front (a head with a bare line feed, refused before the request reaches cpp-httplib).
TEST(FrontDoor, EveryLayerRefusesWithTheOneProblemEnvelope) {
    FRONT_ONLY();
    Server s("envelope", {"--rate-limit", "0"});
    ASSERT_TRUE(s.start());
    auto ask = [&](const std::string& request) {
        RawClient c(s.port, "127.0.0.3");
        c.send(request);
        return c.receive(3000, has_response);
    };
    const std::string route = ask("POST /api/v1/metrics HTTP/1.1\r\n" + kHost +
                                  "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
    EXPECT_EQ(status_of(route), 400) << route;
    EXPECT_FALSE(envelope_code(route).empty()) << route;
    const std::string before_body =
        ask("POST /api/v1/metrics HTTP/1.1\r\n" + kHost + "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}");
    EXPECT_EQ(status_of(before_body), 415) << before_body;
    EXPECT_EQ(envelope_code(before_body), "unsupported_media_type");
    const std::string front = ask("GET /healthz HTTP/1.1\r\nHost: a\r\n\n");
    EXPECT_EQ(status_of(front), 400) << front;
    EXPECT_EQ(envelope_code(front), "bare_lf");
    const std::string unknown = ask("GET /api/v1/nothing-here HTTP/1.1\r\n" + kHost + "\r\n");
    EXPECT_EQ(status_of(unknown), 404) << unknown;
    EXPECT_EQ(envelope_code(unknown), "http_404");
}

//-----------------------------------------------------------------------------
// [SECTION] Slow readers, paths, caching, stopping
//-----------------------------------------------------------------------------
int healthz_ms(int port, const std::string& from = "127.0.0.1") {
    const auto t0 = std::chrono::steady_clock::now();
    RawClient c(port, from);
    c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const std::string got = c.receive(3000, has_response);
    if (status_of(got) != 200) return -1;
    return static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
}

TEST(FrontDoor, SlowBundleReadersHoldAFewWorkersAndNoCopies) {
    FRONT_ONLY();
    Server s("slow-readers", {"--rate-limit", "0"});
    ASSERT_TRUE(s.start());
    const std::string bundle = demo_bundle("opacity-demo");
    ASSERT_EQ(s.publish(bundle)->status, 201);
    const std::string sha = sha256_hex(bundle);
    ASSERT_EQ(s.client().Get("/api/v1/bundles/" + sha)->body.size(), bundle.size());  // in the server's cache
    const uint64_t rss0 = s.proc->rss();
    // 64 readers on two addresses that ask for the bundle and never read: small receive buffers.
    std::vector<RawClient> readers;
    for (int i = 0; i < 64; ++i) {
        readers.emplace_back(s.port, i % 2 ? "127.0.0.2" : "127.0.0.3", 4096);
        ASSERT_TRUE(readers.back().send("GET /api/v1/bundles/" + sha + " HTTP/1.1\r\n" + kHost + "\r\n"));
    }
    int worst = 0;
    for (int i = 0; i < 8; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        const int ms = healthz_ms(s.port);
        ASSERT_GE(ms, 0) << "no answer to /healthz while 64 readers stall";
        worst = std::max(worst, ms);
    }
    EXPECT_LT(worst, 1000);
    const uint64_t rss1 = s.proc->rss();
    EXPECT_LT(rss1, rss0 + 20 * 1024 * 1024) << rss0 << " -> " << rss1;
    // The transfer rule cuts them: a reader that takes nothing is closed within seconds.
    int closed = 0;
    for (auto& r : readers) closed += r.closed_within(100) ? 1 : 0;
    std::printf(
        "64 stalled readers of a %.1f MB bundle: worst /healthz %d ms, RSS %.1f -> %.1f MB, %d closed after 4 s\n",
        bundle.size() / 1e6, worst, rss0 / 1e6, rss1 / 1e6, closed);
    EXPECT_GT(closed, 0);
    EXPECT_EQ(s.client().Get("/healthz")->status, 200);
}

TEST(FrontDoor, PathsStayInTheWebFolderAndErrorsAreNeverCachedAsImmutable) {
    FRONT_ONLY();
    const std::string web = work_dir() + "/paths-web";
    std::filesystem::create_directories(web + "/assets-0123456789abcdef");
    std::ofstream(web + "/index.html") << "<!doctype html><title>x</title>\n";
    std::ofstream(web + "/app.0123456789abcdef.js") << "export {};\n";
    Server s("paths", {"--web", web});
    ASSERT_TRUE(s.start());
    for (const char* path : {"//etc/passwd", "/%2Fetc/passwd", "/../../../../etc/passwd", "/..%2f..%2fetc%2fpasswd",
                             "/assets-0123456789abcdef/../../../etc/passwd", "/.%2e/.%2e/etc/passwd"}) {
        for (const char* range : {"", "Range: bytes=0-100\r\n", "Range: bytes=1000000-\r\n"}) {
            std::string got;
            raw_status(s.port, std::string("GET ") + path + " HTTP/1.1\r\n" + kHost + range + "\r\n", &got);
            EXPECT_EQ(got.find("root:"), std::string::npos) << path << " " << range;
            const int status = status_of(got);
            EXPECT_TRUE(status == 400 || status == 404 || status == 416) << path << " " << range << ": " << got;
        }
    }
    // A hashed asset is immutable when it is served, and never when it is an error.
    auto c = s.client();
    auto ok = c.Get("/app.0123456789abcdef.js");
    ASSERT_EQ(ok->status, 200);
    EXPECT_EQ(ok->get_header_value("Cache-Control"), "public, max-age=31536000, immutable");
    for (const char* missing : {"/app.fedcba9876543210.js", "/assets-0123456789abcdef/missing.js"}) {
        auto r = c.Get(missing);
        ASSERT_EQ(r->status, 404);
        EXPECT_EQ(r->get_header_value("Cache-Control"), "no-store") << missing;
    }
    auto bad_range = c.Get("/app.0123456789abcdef.js", httplib::Headers{{"Range", "bytes=9999-"}});
    EXPECT_EQ(bad_range->status, 416);
    EXPECT_EQ(bad_range->get_header_value("Cache-Control"), "no-store");
}

// The web folder's text files come Brotli-compressed to a client that accepts it (compressed once,
// again when the file changes) with the same headers as any static file; other files, and other
// clients, as before.
TEST(FrontDoor, TextFilesAreServedCompressedOnceAndFreshAfterAChange) {
    FRONT_ONLY();
    EXPECT_TRUE(accepts_brotli("gzip, deflate, br"));
    EXPECT_TRUE(accepts_brotli("BR;q=0.5"));
    EXPECT_FALSE(accepts_brotli("gzip, br;q=0"));
    EXPECT_FALSE(accepts_brotli("gzip, brotli"));
    EXPECT_FALSE(accepts_brotli(""));
    const std::string web = work_dir() + "/compressed-web";
    std::filesystem::remove_all(web);
    std::filesystem::create_directories(web);
    std::string script;
    for (int i = 0; i < 2000; ++i)
        script += "export const v" + std::to_string(i) + " = " + std::to_string(i * 7) + ";\n";
    std::ofstream(web + "/app.0123456789abcdef.js") << script;
    std::ofstream(web + "/data.bin") << script;
    Server s("compressed-served", {"--web", web});
    ASSERT_TRUE(s.start());
    auto raw = s.client();
    raw.set_decompress(false);
    const httplib::Headers br = {{"Accept-Encoding", "gzip, deflate, br"}};
    auto first = raw.Get("/app.0123456789abcdef.js", br);
    ASSERT_EQ(first->status, 200);
    EXPECT_EQ(first->get_header_value("Content-Encoding"), "br");
    EXPECT_EQ(first->get_header_value("Content-Type"), "text/javascript");
    EXPECT_EQ(first->get_header_value("Cache-Control"), "public, max-age=31536000, immutable");
    EXPECT_EQ(first->get_header_value("Cross-Origin-Embedder-Policy"), "require-corp");
    EXPECT_LT(first->body.size(), script.size() / 4);
    EXPECT_EQ(raw.Get("/app.0123456789abcdef.js", br)->body, first->body);
    auto c = s.client();
    auto decoded = c.Get("/app.0123456789abcdef.js", br);
    EXPECT_EQ(decoded->body, script);
    // A file that is not text, and a client without Brotli: cpp-httplib's handler, as before.
    EXPECT_EQ(raw.Get("/data.bin", br)->get_header_value("Content-Encoding"), "");
    auto plain = raw.Get("/app.0123456789abcdef.js", {{"Accept-Encoding", "identity"}});
    EXPECT_EQ(plain->get_header_value("Content-Encoding"), "");
    EXPECT_EQ(plain->body, script);
    EXPECT_EQ(first->get_header_value("Vary"), "Accept-Encoding");
    EXPECT_EQ(plain->get_header_value("Vary"), "Accept-Encoding");
    // A HEAD gets the kept answer's headers; a client whose "br" has no weight, or one that asks
    // for a range, gets the file as it is (never compressed again per request): the range's bytes
    // are the file's own.
    auto head = raw.Head("/app.0123456789abcdef.js", br);
    EXPECT_EQ(head->status, 200);
    EXPECT_EQ(head->get_header_value("Content-Encoding"), "br");
    EXPECT_EQ(head->get_header_value("Content-Length"), std::to_string(first->body.size()));
    EXPECT_TRUE(head->body.empty());
    auto refused = raw.Get("/app.0123456789abcdef.js", {{"Accept-Encoding", "gzip;q=0, br;q=0"}});
    EXPECT_EQ(refused->get_header_value("Content-Encoding"), "");
    EXPECT_EQ(refused->body, script);
    auto ranged = raw.Get("/app.0123456789abcdef.js", {{"Accept-Encoding", "gzip, br"}, {"Range", "bytes=10-99"}});
    EXPECT_EQ(ranged->status, 206);
    EXPECT_EQ(ranged->get_header_value("Content-Encoding"), "");
    EXPECT_EQ(ranged->body, script.substr(10, 90));
    // Kept in memory: a file of the same size and time is not read again.
    const std::string file = web + "/app.0123456789abcdef.js";
    const auto when = std::filesystem::last_write_time(file);
    std::ofstream(file) << "//" << script.substr(2);
    std::filesystem::last_write_time(file, when);
    EXPECT_EQ(c.Get("/app.0123456789abcdef.js", br)->body, script);
    // Changed on disk (another size): compressed again.
    std::ofstream(web + "/app.0123456789abcdef.js") << script << "export const changed = 1;\n";
    EXPECT_EQ(c.Get("/app.0123456789abcdef.js", br)->body, script + "export const changed = 1;\n");
    EXPECT_EQ(c.Get("/missing.js", br)->status, 404);
}

// The page may reach, and be framed by, the EHRs the site lists in its ehr.json (the list the page
// checks a SMART launch's iss against), and nothing else; a malformed list stops the server.
TEST(FrontDoor, TheCspAllowsTheSitesEhrsAndNothingElse) {
    FRONT_ONLY();
    const std::string web = work_dir() + "/csp-web";
    std::filesystem::remove_all(web);
    std::filesystem::create_directories(web);
    std::ofstream(web + "/index.html") << "<!doctype html><title>x</title>\n";
    {
        Server plain("csp-none", {"--web", web});
        ASSERT_TRUE(plain.start());
        const std::string csp = plain.client().Get("/")->get_header_value("Content-Security-Policy");
        EXPECT_NE(csp.find("connect-src 'self';"), std::string::npos) << csp;
        EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
    }
    std::ofstream(web + "/ehr.json") << R"({"ehrs": [{"iss": "https://ehr.example.org:8443/fhir/r4", "client_id": "a"},
                                                  {"iss": "http://127.0.0.1:9090/fhir", "client_id": "b"}]})";
    Server listed("csp-ehrs", {"--web", web});
    ASSERT_TRUE(listed.start());
    for (const char* path : {"/", "/healthz", "/nope"}) {
        const std::string csp = listed.client().Get(path)->get_header_value("Content-Security-Policy");
        EXPECT_NE(csp.find("connect-src 'self' https://ehr.example.org:8443 http://127.0.0.1:9090;"), std::string::npos)
            << csp;
        EXPECT_NE(csp.find("frame-ancestors 'self' https://ehr.example.org:8443 http://127.0.0.1:9090;"),
                  std::string::npos)
            << csp;
    }
    const std::vector<std::string> bad_lists = {"{\"ehrs\": [{\"iss\": \"javascript:alert(1)\"}]}",
                                                "{\"ehrs\": [{\"iss\": \"https://a b\"}]}", "{\"ehrs\": {}}",
                                                "not json"};
    for (const std::string& bad : bad_lists) {
        std::ofstream(web + "/ehr.json") << bad;
        Server refused("csp-bad", {"--web", web});
        EXPECT_FALSE(refused.proc->start(refused.port)) << bad;
        EXPECT_NE(test::read_file(refused.proc->log_path()).find("ehr.json"), std::string::npos) << bad;
    }
}

TEST(FrontDoor, SigtermStopsWithinTheDrainDeadlineAndKeepsAcknowledgedReports) {
    FRONT_ONLY();
    Server s("drain", {"--drain-timeout", "0", "--rate-limit", "0"});
    ASSERT_TRUE(s.start());
    const std::string bundle = demo_bundle("opacity-demo");
    ASSERT_EQ(s.publish(bundle)->status, 201);
    ASSERT_EQ(s.publish(demo_bundle("pima-diabetes"))->status, 201);
    const auto reports = make_reports(demo_model("pima-diabetes"), "pima-diabetes", 5, 20);
    for (const auto& r : reports) ASSERT_EQ(s.client().Post("/api/v1/metrics", r, "application/json")->status, 202);
    std::vector<RawClient> readers;
    for (int i = 0; i < 8; ++i) {
        readers.emplace_back(s.port, "127.0.0.2", 4096);
        readers.back().send("GET /api/v1/bundles/" + sha256_hex(bundle) + " HTTP/1.1\r\n" + kHost + "\r\n");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const auto t0 = std::chrono::steady_clock::now();
    const int status = s.proc->terminate();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    EXPECT_LT(secs, 2.0) << "stalled downloads held the stop past its deadline";
    ASSERT_TRUE(s.start());
    const Json drift = Json::parse(s.operator_client().Get("/api/v1/drift?model=pima-diabetes")->body);
    EXPECT_EQ(drift["reports"], 5);
}

//-----------------------------------------------------------------------------
// [SECTION] The store: salts and a hung PostgreSQL
//-----------------------------------------------------------------------------
// A day's salt outlives the day by the one day reports for it are still accepted, then goes: a
// copy of the store holds no salt that could turn a past day's sources back into addresses.
TEST(Store, ADaysSaltIsGoneFromTheStore48HoursAfterTheDayBegan) {
    const std::string dir = work_dir() + "/salts";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto store = test::open_test_store(dir, "salts");
    ASSERT_TRUE(store) << store.error().describe();
    const int64_t dec1 = 1796083200;  // 2026-12-01 00:00 UTC: the test's clock, not the machine's
    ASSERT_EQ(utc_day(dec1), "2026-12-01");
    std::map<std::string, std::string> salt;
    for (int d = -3; d <= 1; ++d) {
        const std::string day = utc_day(dec1 + d * 86400);
        auto s = (*store)->day_salt(day);
        ASSERT_TRUE(s) << s.error().describe();
        salt[day] = *s;
    }
    // A salt still there is read back unchanged; a deleted one would come back as a new random one.
    auto still_there = [&](const std::string& day) { return *(*store)->day_salt(day) == salt[day]; };
    // Noon on the 1st: reports for the 30th are still accepted, so its salt stays; older ones go.
    ASSERT_TRUE((*store)->forget_salts(salt_keep_from(dec1 + 12 * 3600)));
    EXPECT_TRUE(still_there("2026-11-30"));
    EXPECT_TRUE(still_there("2026-12-01"));
    EXPECT_TRUE(still_there("2026-12-02"));
    EXPECT_FALSE(still_there("2026-11-29"));
    EXPECT_FALSE(still_there("2026-11-28"));
    // One second before 48 hours after the 1st began, its salt is kept; at 48 hours it is gone.
    salt["2026-12-01"] = *(*store)->day_salt("2026-12-01");
    ASSERT_TRUE((*store)->forget_salts(salt_keep_from(dec1 + 48 * 3600 - 1)));
    EXPECT_TRUE(still_there("2026-12-01"));
    ASSERT_TRUE((*store)->forget_salts(salt_keep_from(dec1 + 48 * 3600)));
    EXPECT_FALSE(still_there("2026-12-01"));
}

TEST(Store, AStoreUriIsLoggedWithoutItsSecrets) {
    FRONT_ONLY();
    EXPECT_EQ(store_uri_for_log("postgresql://ldx:s3cret@db:5432/ldx"), "postgresql://ldx:***@db:5432/ldx");
    EXPECT_EQ(store_uri_for_log("postgresql://ldx@db/ldx?password=s3cret&sslmode=require"),
              "postgresql://ldx@db/ldx?password=***&sslmode=require");
    EXPECT_EQ(store_uri_for_log("postgres://db/ldx?sslmode=verify-full&sslpassword=k&PassFile=/p&user=a@b"),
              "postgres://db/ldx?sslmode=verify-full&sslpassword=***&PassFile=***&user=a@b");
    EXPECT_EQ(store_uri_for_log("postgresql://u:p@h/d?password=x"), "postgresql://u:***@h/d?password=***");
    for (const char* uri : {"postgresql://ldx:s3cret@db/ldx", "postgresql://db/ldx?password=s3cret"})
        EXPECT_EQ(store_uri_for_log(uri).find("s3cret"), std::string::npos) << uri;
}

// PostgreSQL hangs (SIGSTOP: its sockets accept, nothing answers). Reports get 503 within the
// store timeout while health checks and bundle downloads go on; once it runs again, reports are
// accepted again, and every report acknowledged before, during and after is counted once.
TEST(Store, AHungPostgresAnswers503InTimeWhileDownloadsGoOn) {
    if (!test::on_postgres()) GTEST_SKIP() << "PostgreSQL only";
    const std::string state = work_dir() + "/hung-pg";
    const std::string pg = std::string(LOCALDX_SOURCE_DIR) + "/tests/support/postgres.sh";
    ASSERT_EQ(std::system((pg + " start " + state).c_str()), 0);
    struct Stop {
        std::string cmd;
        ~Stop() { [[maybe_unused]] int rc = std::system(cmd.c_str()); }
    } stop{pg + " thaw " + state + "; " + pg + " stop " + state};
    std::string uri;
    std::getline(std::ifstream(state + "/uri"), uri);
    Server s("hung", {"--store", uri, "--store-timeout", "2", "--rate-limit", "0", "--poll-ms", "200"});
    ASSERT_TRUE(s.start());
    const std::string bundle = demo_bundle("pima-diabetes");
    ASSERT_EQ(s.publish(bundle)->status, 201);
    const auto reports = make_reports(demo_model("pima-diabetes"), "pima-diabetes", 10, 20);
    int acknowledged = 0;
    for (int i = 0; i < 3; ++i)
        acknowledged += s.client().Post("/api/v1/metrics", reports[size_t(i)], "application/json")->status == 202;
    ASSERT_EQ(acknowledged, 3);
    ASSERT_EQ(s.client().Get("/api/v1/bundles/" + sha256_hex(bundle))->status, 200);

    ASSERT_EQ(std::system((pg + " freeze " + state).c_str()), 0);
    const auto t0 = std::chrono::steady_clock::now();
    auto during = s.client().Post("/api/v1/metrics", reports[3], "application/json");
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(during);
    EXPECT_EQ(during->status, 503) << during->body;
    EXPECT_NE(during->body.find("storage_unavailable"), std::string::npos);
    EXPECT_FALSE(during->get_header_value("Retry-After").empty());
    EXPECT_LT(secs, 5.0) << "the report waited past the store timeout";
    EXPECT_GE(healthz_ms(s.port), 0);
    EXPECT_LT(healthz_ms(s.port), 1000);
    auto download = s.client().Get("/api/v1/bundles/" + sha256_hex(bundle));
    ASSERT_TRUE(download);
    EXPECT_EQ(download->status, 200);
    EXPECT_EQ(download->body, bundle);

    ASSERT_EQ(std::system((pg + " thaw " + state).c_str()), 0);
    for (size_t i = 4; i < 10; ++i) {
        int status = 0;
        for (int attempt = 0; attempt < 50 && status != 202; ++attempt) {
            auto r = s.client().Post("/api/v1/metrics", reports[i], "application/json");
            status = r ? r->status : 0;
            if (status != 202) std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        EXPECT_EQ(status, 202) << i;
        acknowledged += status == 202;
    }
    const Json drift = Json::parse(s.operator_client().Get("/api/v1/drift?model=pima-diabetes")->body);
    EXPECT_EQ(drift["reports"], acknowledged) << drift.dump();
}

}  // namespace
}  // namespace ldx
