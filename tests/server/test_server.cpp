// tests/server/test_server.cpp — integration tests over real HTTP on loopback, against the real
// localdx-server binary, with the demo bundles trained on real data (ctest fixture). ctest runs
// every test twice, on each store: "sqlite.*" and "postgresql.*" (stores.h).
//
// Index of this file (the fixture, a server on a free port with a fresh store, is fixture.h)
//   [SECTION] Publishing (good and bad bundles)
//   [SECTION] Models index and downloads (signature, ETag, Range)
//   [SECTION] Metrics reports (good and malformed) and drift
//   [SECTION] Connections: slow, idle, many, pipelined
//   [SECTION] Persistence: restart, and kill -9 during a burst
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/stat.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <utility>
#include <filesystem>
#include <mutex>
#include <random>
#include <regex>
#include <set>

#include "base/text.h"
#include "bundle/bundle.h"
#include "bundle/models_index.h"
#include "bundle/trust.h"
#include "drift/report.h"
#include "predict/predict.h"
#include "fixture.h"
#include "http/routes.h"
#include "raw_client.h"
#include "io/files.h"

namespace ldx {
namespace {
using test::has_response;
using test::raw_status;
using test::RawClient;
using test::status_of;

//-----------------------------------------------------------------------------
// [SECTION] Publishing
//-----------------------------------------------------------------------------
TEST(Server, PublishAcceptsSignedBundlesAndRefusesEverythingElse) {
    Server s("publish");
    // What a publish killed mid-write leaves behind is removed at start (SQLite's bundle files).
    std::filesystem::create_directories(s.dir + "/data/bundles");
    const std::string leftover = s.dir + "/data/bundles/." + std::string(64, 'a') + ".tmp-1234";
    std::ofstream(leftover) << "half a bundle";
    ASSERT_TRUE(s.start());
    if (!test::on_postgres()) EXPECT_FALSE(std::filesystem::exists(leftover));
    const std::string good = demo_bundle("pima-diabetes");
    auto r = s.publish(good);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 201) << r->body;
    EXPECT_NE(r->body.find(sha256_hex(good)), std::string::npos);

    auto code = [](const httplib::Result& res) {
        if (!res) return std::string("no answer");
        const std::vector<Problem> ps = problems_from_json(Json::parse(res->body, nullptr, false));
        return ps.empty() ? "not the problem envelope: " + res->body : ps[0].code;
    };
    auto again = s.publish(good);  // the identical bytes again: already there, not an error
    EXPECT_EQ(again->status, 200);
    EXPECT_TRUE(Json::parse(again->body).value("already_published", false)) << again->body;

    auto bad_token = s.publish(demo_bundle("wdbc"), "wrong-token-0123456789");
    EXPECT_EQ(bad_token->status, 401);
    EXPECT_EQ(code(bad_token), "unauthorized");
    auto truncated = s.publish(good.substr(0, good.size() / 2));
    EXPECT_EQ(truncated->status, 422);
    EXPECT_EQ(code(truncated), "truncated");
    {
        // `localdx publish` says the server's reason, read from its error body.
        const std::string file = s.dir + "/truncated.ldxb";
        std::ofstream(file, std::ios::binary) << good.substr(0, good.size() / 2);
        const std::string cmd = std::string(LOCALDX_CLI_BIN) +
                                " publish --server http://127.0.0.1:" + std::to_string(s.port) + " --token-file " +
                                s.dir + "/token " + file + " 2>&1";
        std::string said;
        if (FILE* out = popen(cmd.c_str(), "r")) {
            char buf[4096];
            for (size_t n; (n = std::fread(buf, 1, sizeof buf, out)) > 0;) said.append(buf, n);
            EXPECT_NE(pclose(out), 0) << said;
        }
        const std::vector<Problem> why = problems_from_json(Json::parse(truncated->body, nullptr, false));
        ASSERT_FALSE(why.empty()) << truncated->body;
        EXPECT_NE(said.find("the server refused the bundle (HTTP 422): " + why[0].describe()), std::string::npos)
            << said;
    }
    std::string tampered = good;
    tampered[tampered.size() - 10] ^= 0x5a;
    auto t = s.publish(tampered);
    EXPECT_EQ(t->status, 422);
    EXPECT_EQ(code(t), "member_hash");
    // Signed by a key the server does not trust.
    const SigningKey stranger = signing_key_from_pair(ed25519_keypair());
    auto peek = bundle_peek_manifest(good);
    auto root = trust_root_parse(test::read_file(kDemo + "/keys/trust.json"), std::time(nullptr));
    auto v = bundle_verify(good, *root, VerifyPolicy{std::time(nullptr), 0, {}});
    Manifest m = *peek;
    m.version = 5;
    auto foreign = bundle_write(m, v->members, {stranger});
    auto f = s.publish(*foreign);
    EXPECT_EQ(f->status, 422);
    EXPECT_EQ(code(f), "unknown_key");
    auto junk = s.publish("not a bundle at all");
    EXPECT_EQ(junk->status, 422);
    EXPECT_EQ(code(junk), "bad_magic");
    // Nothing of the refused uploads was stored.
    auto c = s.client();
    auto index = c.Get("/api/v1/models");
    EXPECT_EQ(Json::parse(index->body)["signed"]["models"].size(), 1u);
    EXPECT_EQ(c.Get("/healthz")->status, 200);
}

//-----------------------------------------------------------------------------
// [SECTION] Models index and downloads
//-----------------------------------------------------------------------------
// A bundle's name is its schema's task: a validly signed bundle whose manifest names another task
// is refused when its model is read (browser and CLI alike), with both names.
TEST(Bundle, ANameThatIsNotTheSchemasTaskIsRefused) {
    auto root = trust_root_parse(test::read_file(kDemo + "/keys/trust.json"), 1800000000);
    auto v = bundle_verify(demo_bundle("pima-diabetes"), *root, VerifyPolicy{1800000000, 0, {}});
    ASSERT_TRUE(v.ok());
    Manifest renamed = v->manifest;
    renamed.name = "wdbc";
    auto key = signing_key_parse(test::read_file(kDemo + "/keys/signing-key.json"));
    ASSERT_TRUE(key.ok());
    auto bytes = bundle_write(renamed, v->members, {*key});
    ASSERT_TRUE(bytes.ok());
    auto again = bundle_verify(*bytes, *root, VerifyPolicy{1800000000, 0, {}});
    ASSERT_TRUE(again.ok()) << "the signature itself is valid";
    auto m = model_from_bundle(*again);
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.error().message.find("task 'pima-diabetes' is not the bundle's name 'wdbc'"), std::string::npos)
        << m.error().message;
}

TEST(Server, SignedIndexEtagAndRange) {
    Server s("download");
    ASSERT_TRUE(s.start());
    const std::string good = demo_bundle("wdbc");
    ASSERT_EQ(s.publish(good)->status, 201);
    auto c = s.client();
    auto index = c.Get("/api/v1/models");
    ASSERT_EQ(index->status, 200);
    EXPECT_EQ(index->get_header_value("Cache-Control"), "no-store");
    std::string signed_bytes;
    std::vector<SignatureEntry> sigs;
    auto signed_part = signed_document_parse(index->body, "index", signed_bytes, sigs);
    ASSERT_TRUE(signed_part.ok());
    auto root = trust_root_parse(test::read_file(kDemo + "/keys/trust.json"), std::time(nullptr));
    EXPECT_TRUE(signatures_check(kModelsIndexDomain, signed_bytes, sigs, *root, "index").ok());
    EXPECT_GT(*utc_parse((*signed_part)["expires"].get<std::string>()), std::time(nullptr));
    const std::string sha = (*signed_part)["models"][0]["sha256"];
    EXPECT_EQ(sha, sha256_hex(good));
    // The kind says what "Save to chart" writes (a SMART launch asks for that scope only).
    EXPECT_EQ((*signed_part)["models"][0]["kind"], "binary");

    auto full = c.Get("/api/v1/bundles/" + sha);
    ASSERT_EQ(full->status, 200);
    EXPECT_EQ(full->body, good);
    EXPECT_EQ(full->get_header_value("ETag"), "\"" + sha + "\"");
    EXPECT_EQ(full->get_header_value("Content-Type"), "application/octet-stream");
    EXPECT_EQ(full->get_header_value("Cross-Origin-Embedder-Policy"), "require-corp");
    auto cached = c.Get("/api/v1/bundles/" + sha, {{"If-None-Match", "\"" + sha + "\""}});
    EXPECT_EQ(cached->status, 304);
    auto range = c.Get("/api/v1/bundles/" + sha, {{"Range", "bytes=8-19"}});
    EXPECT_EQ(range->status, 206);
    EXPECT_EQ(range->body, good.substr(8, 12));
    // Entity tags as browsers and proxies send them: weak, in lists, or "*".
    for (const std::string& tag : {"W/\"" + sha + "\"", "\"x\", \"" + sha + "\"", std::string("*")})
        EXPECT_EQ(c.Get("/api/v1/bundles/" + sha, {{"If-None-Match", tag}})->status, 304) << tag;
    EXPECT_EQ(c.Get("/api/v1/bundles/" + sha, {{"If-None-Match", "\"other\""}})->status, 200);
    // Ranges: an end past the size is clamped, the last bytes, a start past the end is 416 with the
    // size, and many (overlapping) ranges are not multiplied: the bundle is served once, whole.
    const std::string n = std::to_string(good.size());
    auto past = c.Get("/api/v1/bundles/" + sha, {{"Range", "bytes=0-99999999999"}});
    EXPECT_EQ(past->status, 206);
    EXPECT_EQ(past->get_header_value("Content-Range"), "bytes 0-" + std::to_string(good.size() - 1) + "/" + n);
    EXPECT_EQ(past->body, good);
    auto tail = c.Get("/api/v1/bundles/" + sha, {{"Range", "bytes=-10"}});
    EXPECT_EQ(tail->status, 206);
    EXPECT_EQ(tail->body, good.substr(good.size() - 10));
    auto beyond = c.Get("/api/v1/bundles/" + sha, {{"Range", "bytes=" + n + "-"}});
    EXPECT_EQ(beyond->status, 416);
    EXPECT_EQ(beyond->get_header_value("Content-Range"), "bytes */" + n);
    std::string many = "bytes=0-";
    for (int i = 0; i < 1000; ++i) many += ",0-";
    auto multi = c.Get("/api/v1/bundles/" + sha, {{"Range", many}});
    EXPECT_EQ(multi->status, 200);
    EXPECT_EQ(multi->body.size(), good.size());
    EXPECT_EQ(c.Get("/api/v1/bundles/" + std::string(64, 'a'))->status, 404);
}

//-----------------------------------------------------------------------------
// [SECTION] Metrics reports and drift
//-----------------------------------------------------------------------------
TEST(Server, MalformedReportsGetA4xxWithAReasonAndTheServerKeepsServing) {
    Server s("reports", {"--rate-limit", "0"});
    ASSERT_TRUE(s.start());
    ASSERT_EQ(s.publish(demo_bundle("pima-diabetes"))->status, 201);
    const Model m = demo_model("pima-diabetes");
    const std::string good = make_reports(m, "pima-diabetes", 1, 25)[0];
    auto c = s.client();
    auto post = [&](const std::string& body) { return c.Post("/api/v1/metrics", body, "application/json"); };
    auto ok = post(good);
    ASSERT_EQ(ok->status, 202) << ok->body;

    Json base = Json::parse(good);
    struct Bad {
        std::function<std::string()> body;
        int status;
        std::string needle;
    };
    const std::vector<Bad> cases = {
        {[&] {
             Json j = base;
             j["model"] = "nope";
             return j.dump();
         },
         404, "no published bundle nope v1"},
        {[&] {
             Json j = base;
             j["version"] = 9;
             return j.dump();
         },
         404, "no published bundle"},
        {[&] {
             Json j = base;
             j["fields"]["glucose"].push_back(0);
             return j.dump();
         },
         400, "bins"},
        {[&] {
             Json j = base;
             j["fields"]["glucose"][0] = -1;
             return j.dump();
         },
         400, "non-negative whole numbers"},
        {[&] {
             Json j = base;
             j["fields"]["glucose"][0] = 1.5;
             return j.dump();
         },
         400, "non-negative whole numbers"},
        {[&] {
             Json j = base;
             j["n"] = 5;
             return j.dump();
         },
         400, "at least k = 20"},
        {[&] {
             Json j = base;
             j["n"] = 26;
             return j.dump();
         },
         400, "sum to"},
        {[&] {
             Json j = base;
             j["fields"].erase("age");
             return j.dump();
         },
         400, "fields"},
        {[&] {
             Json j = base;
             j["patient"] = "x";
             return j.dump();
         },
         400, "unknown key 'patient'"},
        {[&] {
             Json j = base;
             j["epsilon"] = 5.0;
             return j.dump();
         },
         400, "epsilon"},
        {[&] {
             Json j = base;
             j["day"] = "2020-01-01";
             return j.dump();
         },
         400, "within one day"},
        {[&] { return good.substr(0, good.size() - 1) + ",\"n\":25}"; }, 400, "twice"},
        {[&] { return std::string(40, '[') + std::string(40, ']'); }, 400, "deeper"},
        {[&] { return std::string("{\"model\": "); }, 400, "not valid JSON"},
        {[&] { return std::string(70000, ' '); }, 413, "at most 65536 bytes"},
    };
    for (size_t i = 0; i < cases.size(); ++i) {
        auto r = post(cases[i].body());
        ASSERT_TRUE(r) << "case " << i;
        EXPECT_EQ(r->status, cases[i].status) << "case " << i << ": " << r->body;
        EXPECT_NE(r->body.find(cases[i].needle), std::string::npos) << "case " << i << ": " << r->body;
    }
    EXPECT_EQ(c.Get("/healthz")->status, 200);
    auto drift = Json::parse(s.operator_client().Get("/api/v1/drift?model=pima-diabetes")->body);
    EXPECT_EQ(drift["reports"], 1);  // only the good one counted
}

std::string c_index(const Server& s) {
    auto r = s.client().Get("/api/v1/models");
    return r ? r->body : "{}";  // no answer: an empty document, which the caller's checks refuse
}

TEST(Server, HostileRequestsAreRefusedFromTheirHeadersAndNothingLeaks) {
    Server s("hostile", {"--rate-limit", "0"});
    ASSERT_TRUE(s.start());
    ASSERT_EQ(s.publish(demo_bundle("pima-diabetes"))->status, 201);
    const std::string good = make_reports(demo_model("pima-diabetes"), "pima-diabetes", 1, 25)[0];
    const std::string host = "Host: 127.0.0.1:" + std::to_string(s.port) + "\r\n";
    // A 100 MiB body announced on routes that take none: refused before it is read (nothing sent).
    for (const char* line : {"POST /nope", "POST /api/v1/drift", "PUT /api/v1/metrics", "GET /healthz"})
        EXPECT_EQ(raw_status(s.port, std::string(line) + " HTTP/1.1\r\n" + host + "Content-Length: 104857600\r\n\r\n"),
                  413)
            << line;
    // Memory: bodies sent anyway, a thousand ranges, megabytes of headers. None is read into memory.
    const uint64_t rss_before = s.proc->rss();
    ASSERT_GT(rss_before, 0u);
    const std::string mib(1 << 20, 'x');
    for (const char* line : {"POST /nope", "POST /api/v1/drift", "PUT /api/v1/metrics", "POST /api/v1/bundles"}) {
        RawClient c(s.port, "127.0.0.2");
        c.send(std::string(line) + " HTTP/1.1\r\n" + host + "Content-Length: 209715200\r\n\r\n");
        for (int i = 0; i < 64 && c.send(mib); ++i) {}
    }
    const std::string sha = Json::parse(c_index(s))["signed"]["models"][0]["sha256"].get<std::string>();
    std::string ranges = "bytes=0-";
    for (int i = 0; i < 1000; ++i) ranges += ",0-";
    std::string answer;
    EXPECT_EQ(
        raw_status(s.port, "GET /api/v1/bundles/" + sha + " HTTP/1.1\r\n" + host + "Range: " + ranges + "\r\n\r\n",
                   &answer),
        200);
    for (int flood = 0; flood < 2; ++flood) {
        RawClient c(s.port, "127.0.0.2");
        c.send("GET /healthz HTTP/1.1\r\n" + host);
        std::string headers;
        if (flood == 0)
            for (int i = 0; i < 300000; ++i) headers += "X-" + std::to_string(i) + ": y\r\n";  // 3.8 MB
        else
            for (int i = 0; i < 1000; ++i) headers += "X-" + std::to_string(i) + ": " + std::string(8000, 'y') + "\r\n";
        c.send(headers + "\r\n");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const uint64_t rss_after = s.proc->rss();
    EXPECT_LT(rss_after, rss_before + 20 * 1024 * 1024) << rss_before << " -> " << rss_after;
    std::printf("hostile bodies, ranges and header floods: RSS %.1f -> %.1f MB\n", rss_before / 1e6, rss_after / 1e6);
    EXPECT_EQ(s.client().Get("/healthz")->status, 200);
    // Chunked bodies, alone or with a Content-Length.
    EXPECT_EQ(raw_status(s.port, "POST /api/v1/metrics HTTP/1.1\r\n" + host +
                                     "Content-Type: application/json\r\n"
                                     "Transfer-Encoding: chunked\r\n\r\n"),
              411);
    EXPECT_EQ(raw_status(s.port, "POST /api/v1/metrics HTTP/1.1\r\n" + host +
                                     "Content-Type: application/json\r\n"
                                     "Transfer-Encoding: chunked\r\nContent-Length: 10\r\n\r\n"),
              400);
    // Header floods.
    std::string many = "GET /healthz HTTP/1.1\r\n" + host;
    for (int i = 0; i < 1000; ++i) many += "X-" + std::to_string(i) + ": y\r\n";
    EXPECT_EQ(raw_status(s.port, many + "\r\n"), 431);
    // A NUL in the path is not a file name.
    EXPECT_EQ(raw_status(s.port, "GET /page.js%00.html HTTP/1.1\r\n" + host + "\r\n"), 404);
    // Reports: JSON only, from our own origin only (no cross-site simple POST).
    auto c = s.client();
    EXPECT_EQ(c.Post("/api/v1/metrics", good, "text/plain")->status, 415);
    httplib::Headers foreign{{"Origin", "https://evil.example"}};
    EXPECT_EQ(c.Post("/api/v1/metrics", foreign, good, "application/json")->status, 403);
    httplib::Headers own{{"Origin", "http://127.0.0.1:" + std::to_string(s.port)}};
    EXPECT_EQ(c.Post("/api/v1/metrics", own, good, "application/json")->status, 202);
    // One report cannot outweigh a device's day: n is bounded.
    Json huge = Json::parse(good);
    huge["n"] = kMaxReportPredictions + 1;
    auto r = c.Post("/api/v1/metrics", huge.dump(), "application/json");
    EXPECT_EQ(r->status, 400);
    EXPECT_NE(r->body.find("more than 5000 predictions"), std::string::npos) << r->body;
    // Invalid UTF-8 in a report, a key, or a query: a 4xx with a clean JSON body, never a 500
    // carrying the exception's text.
    for (const std::string& body :
         {std::string("{\"model\": \"\xff\"}"), std::string("{\"\xff\": 1}"), std::string("\xff")}) {
        auto bad = c.Post("/api/v1/metrics", body, "application/json");
        ASSERT_TRUE(bad);
        EXPECT_GE(bad->status, 400);
        EXPECT_LT(bad->status, 500) << bad->body;
        EXPECT_FALSE(bad->has_header("EXCEPTION_WHAT"));
        EXPECT_TRUE(Json::accept(bad->body)) << bad->body;
    }
    // A bundle whose manifest names a member with a 0xFF byte: refused with a clean JSON reason
    // that carries no raw byte.
    std::string odd = demo_bundle("pima-diabetes");
    const size_t member = odd.find("\"schema.json\"");
    ASSERT_NE(member, std::string::npos);
    odd[member + 1] = '\xff';
    auto refused = s.publish(odd);
    ASSERT_TRUE(refused);
    EXPECT_GE(refused->status, 400);
    EXPECT_LT(refused->status, 500) << refused->body;
    EXPECT_TRUE(Json::accept(refused->body)) << refused->body;
    EXPECT_EQ(refused->body.find('\xff'), std::string::npos);
    auto q = s.operator_client().Get("/api/v1/drift?model=%FF");
    ASSERT_TRUE(q);
    EXPECT_EQ(q->status, 404);
    EXPECT_TRUE(Json::accept(q->body)) << q->body;
    EXPECT_EQ(c.Get("/healthz")->status, 200);
}

// The OpenAPI description served at /api/v1/openapi.json names every route the server registers
// (read from its source), and every operation in it answers as described: its success status
// and content type with the right credentials, 401 without them where it needs them, and the
// documented error for a bad request.
TEST(Server, TheOpenApiDescriptionCoversEveryRouteAndEachAnswersAsDescribed) {
    Server s("openapi", {"--rate-limit", "0"});
    ASSERT_TRUE(s.start());
    auto res = s.client().Get("/api/v1/openapi.json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    // Read with at(): a document without a key fails the test with the key's name (a missing key
    // read through const operator[] is undefined behaviour).
    const Json spec = Json::parse(res->body);
    ASSERT_TRUE(spec.is_object() && spec.contains("paths") && spec.contains("components")) << res->body.substr(0, 200);
    EXPECT_EQ(spec.at("openapi"), "3.0.3");
    const Json& paths = spec.at("paths");

    // The route table (server/http/routes.cpp) is the one list: every route in it is described in
    // the OpenAPI document and in docs/formats.md's API table with its role, and nothing is
    // described that the table lacks. (The server registers handlers only through the table, and
    // refuses to start with a handler for a route it does not list.)
    std::set<std::string> in_table, in_openapi, in_docs;
    std::map<std::string, std::string> table_role, docs_role;
    for (const Route& r : route_table()) {
        std::string method(r.method);
        for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const std::string key = method + " " + std::string(r.path);
        in_table.insert(key);
        table_role[key] = std::string(role_name(r.role));
    }
    for (const auto& [path, ops] : paths.items())
        for (const auto& [method, op] : ops.items()) in_openapi.insert(method + " " + path);
    // docs/formats.md: rows "| `GET /api/v1/bundles/SHA256` | operator (...) | ..." (a query after '?' dropped).
    const std::string docs = test::read_file(std::string(LOCALDX_SOURCE_DIR) + "/docs/formats.md");
    const std::regex row(R"(\n\| `(GET|POST) (/[^`? ]*)[^`]*` \| (anyone|operator|administrator))");
    for (auto it = std::sregex_iterator(docs.begin(), docs.end(), row); it != std::sregex_iterator(); ++it) {
        std::string method = (*it)[1], path = (*it)[2];
        for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        path = std::regex_replace(path, std::regex("SHA256"), "{sha256}");
        in_docs.insert(method + " " + path);
        docs_role[method + " " + path] = (*it)[3];
    }
    EXPECT_EQ(in_table, in_openapi) << "the route table and the OpenAPI description differ";
    EXPECT_EQ(in_table, in_docs) << "the route table and docs/formats.md differ";
    EXPECT_EQ(table_role, docs_role) << "a route's role differs between the table and docs/formats.md";
    EXPECT_EQ(in_table.size(), 11u);

    // Every described operation answers as described.
    auto published = s.publish(demo_bundle("pima-diabetes"));
    ASSERT_TRUE(published) << httplib::to_string(published.error());
    ASSERT_EQ(published->status, 201);
    const std::string report = make_reports(demo_model("pima-diabetes"), "pima-diabetes", 1, 20)[0];
    const std::string sha = Json::parse(c_index(s))["signed"]["models"][0]["sha256"].get<std::string>();
    struct Call {
        std::string target, body, type;  // request target, body and its type (empty: GET)
        std::string bad_target, bad_body;
        int bad_status;
    };
    const std::map<std::string, Call> calls = {
        {"get /healthz", {"/healthz", "", "", "", "", 0}},
        {"get /readyz", {"/readyz", "", "", "", "", 0}},
        {"get /api/v1/openapi.json", {"/api/v1/openapi.json", "", "", "", "", 0}},
        {"get /api/v1/trust", {"/api/v1/trust", "", "", "", "", 0}},
        {"get /api/v1/models", {"/api/v1/models", "", "", "", "", 0}},
        {"get /api/v1/bundles/{sha256}",
         {"/api/v1/bundles/" + sha, "", "", "/api/v1/bundles/" + std::string(64, '0'), "", 404}},
        {"post /api/v1/bundles",
         {"/api/v1/bundles", "", "application/octet-stream", "/api/v1/bundles", "not a bundle", 422}},
        {"post /api/v1/metrics", {"/api/v1/metrics", report, "application/json", "/api/v1/metrics", "{}", 400}},
        {"get /api/v1/drift", {"/api/v1/drift?model=pima-diabetes", "", "", "/api/v1/drift?model=nope", "", 404}},
        {"get /api/v1/drift/history",
         {"/api/v1/drift/history?model=pima-diabetes", "", "", "/api/v1/drift/history?model=pima-diabetes&from=x", "",
          400}},
        {"get /metrics", {"/metrics", "", "", "", "", 0}},
    };
    size_t checked = 0;
    for (const auto& [path, ops] : paths.items())
        for (const auto& [method, op] : ops.items()) {
            const std::string key = method + " " + path;
            ASSERT_TRUE(calls.count(key)) << key << " is described but this test has no call for it";
            const Call& call = calls.at(key);
            std::string token;
            if (op.contains("security")) token = op.at("security").at(0).contains("operator") ? kOperatorToken : kToken;
            // A request whose connection failed (a loaded machine) is sent once more; a request with
            // no answer at all fails the test with the client's reason.
            auto send = [&](const std::string& target, const std::string& body, const std::string& with) {
                for (int attempt = 0;; ++attempt) {
                    auto c = s.client();
                    if (!with.empty()) c.set_bearer_token_auth(with.c_str());
                    auto r = method == "get" ? c.Get(target) : c.Post(target, body, call.type);
                    if (r || attempt == 1) return r;
                }
            };
            const Json& responses = op.at("responses");
            auto described = [&](const httplib::Result& r) {
                if (!r) {
                    ADD_FAILURE() << key << ": no answer (" << httplib::to_string(r.error()) << ")";
                    return;
                }
                const std::string status = std::to_string(r->status);
                EXPECT_TRUE(responses.contains(status)) << key << " answered " << status << ", not described";
                if (!responses.contains(status)) return;
                Json d = responses.at(status);
                if (d.contains("$ref")) {  // "#/components/responses/NAME"
                    const std::string ref = d["$ref"].get<std::string>();
                    d = spec.at("components").at("responses").at(ref.substr(ref.rfind('/') + 1));
                }
                if (!d.contains("content")) return;
                const std::string type = r->get_header_value("Content-Type");
                EXPECT_TRUE(d["content"].contains(type.substr(0, type.find(';'))))
                    << key << " " << status << " answered " << type;
                if (r->status < 400) return;
                // An error's body has what the described schema requires (the problem envelope),
                // and each problem what the Problem schema requires.
                const Json& schemas = spec.at("components").at("schemas");
                const Json body = Json::parse(r->body, nullptr, false);
                for (const auto& k : schemas.at("Error").at("required"))
                    EXPECT_TRUE(body.is_object() && body.contains(k.get<std::string>())) << key << ": " << r->body;
                EXPECT_EQ(json_member(body, "ok"), Json(false)) << key << ": " << r->body;
                const Json& problems = json_member(body, "problems");
                EXPECT_TRUE(problems.is_array() && !problems.empty()) << key << ": " << r->body;
                if (problems.is_array())
                    for (const Json& p : problems)
                        for (const auto& k : schemas.at("Problem").at("required"))
                            EXPECT_TRUE(p.contains(k.get<std::string>())) << key << ": " << r->body;
            };
            if (key == "post /api/v1/bundles") {
                // Success: the same bytes again (200, described); a new version is covered by the publishing test.
                auto ok = send(call.target, demo_bundle("pima-diabetes"), token);
                described(ok);
                if (ok) EXPECT_EQ(ok->status, 200) << ok->body;
            } else {
                auto ok = send(call.target, call.body, token);
                described(ok);
                if (ok) EXPECT_LT(ok->status, 300) << key << ": " << ok->body;
            }
            if (!token.empty()) {
                auto anonymous = send(call.target, call.body.empty() ? "x" : call.body, "");
                described(anonymous);
                if (anonymous) EXPECT_EQ(anonymous->status, 401) << key;
            }
            if (call.bad_status) {
                auto bad = send(call.bad_target, call.bad_body, token);
                described(bad);
                if (bad) EXPECT_EQ(bad->status, call.bad_status) << key << ": " << bad->body;
            }
            ++checked;
        }
    EXPECT_EQ(checked, calls.size());
}

TEST(Server, OperationsDataIsForOperatorsOnly) {
    Server s("roles");
    ASSERT_TRUE(s.start());
    auto anonymous = s.client();
    for (const char* path : {"/metrics", "/api/v1/drift?model=pima-diabetes"}) {
        auto r = anonymous.Get(path);
        EXPECT_EQ(r->status, 401) << path;
        EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer");
        auto admin = s.client();
        admin.set_bearer_token_auth(kToken.c_str());  // the administrator publishes; it does not read operations data
        EXPECT_EQ(admin.Get(path)->status, 401) << path;
        EXPECT_NE(s.operator_client().Get(path)->status, 401) << path;
    }
    EXPECT_EQ(s.operator_client().Get("/metrics")->status, 200);
    EXPECT_EQ(anonymous.Get("/healthz")->status, 200);
    EXPECT_EQ(anonymous.Get("/api/v1/models")->status, 200);
}

TEST(Store, RetentionDeletesAggregatesAndKeysOfOldDays) {
    const std::string dir = work_dir() + "/retention";
    std::filesystem::remove_all(dir);
    auto store = test::open_test_store(dir, "retention");
    ASSERT_TRUE(store.ok()) << store.error().describe();
    const Model m = demo_model("pima-diabetes");
    auto parsed = report_parse(make_reports(m, "pima-diabetes", 1, 20)[0], m.schema, m.reference);
    ASSERT_TRUE(parsed.ok()) << parsed.error().describe();
    std::vector<IncomingReport> batch;
    for (const char* day : {"2020-01-01", "2026-11-01"}) {
        MetricsReport r = *parsed;
        r.day = day;
        batch.push_back({r, std::string(32, day[3]), "source-a"});
    }
    ASSERT_TRUE((*store)->add_reports(batch, 50000).ok());
    EXPECT_EQ((*store)->totals("pima-diabetes", 1, "2000-01-01", "2100-01-01")->reports, 2u);
    EXPECT_GT(*(*store)->prune("2025-01-01"), 0u);
    EXPECT_EQ((*store)->totals("pima-diabetes", 1, "2000-01-01", "2100-01-01")->reports, 1u);  // the newer day stays
    EXPECT_EQ((*store)->sources("pima-diabetes", 1, "2000-01-01", "2024-12-31")->size(), 0u);
    EXPECT_EQ((*store)->sources("pima-diabetes", 1, "2000-01-01", "2100-01-01")->size(), 1u);
    // The old report's idempotency key is gone with it: sent again, it counts again.
    auto again = (*store)->add_reports({batch[0]}, 50000);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again.value()[0], ReportOutcome::stored);
}

TEST(Store, OrphanAndTemporaryBundleFilesAreRemovedAtOpenListedOnesKept) {
    if (test::on_postgres()) GTEST_SKIP() << "SQLite's bundle files; PostgreSQL keeps bundle bytes in their row";
    const std::string dir = work_dir() + "/orphans";
    std::filesystem::remove_all(dir);
    std::string listed;
    {
        auto store = sqlite_store_open(dir);
        ASSERT_TRUE(store.ok()) << store.error().describe();
        const std::string bytes = demo_bundle("pima-diabetes");
        listed = sha256_hex(bytes);
        ASSERT_TRUE(
            (*store)
                ->put_bundle({listed, "pima-diabetes", 1, static_cast<int64_t>(bytes.size()), "a", "b", "c"}, bytes)
                .ok());
    }
    const std::string orphan = dir + "/bundles/" + std::string(64, 'a') + ".ldxb";
    const std::string temporary = dir + "/bundles/." + std::string(64, 'b') + ".ldxb.tmp-7";
    std::ofstream(orphan) << "killed after the rename, before the commit";
    std::ofstream(temporary) << "killed while writing";
    auto store = sqlite_store_open(dir);
    ASSERT_TRUE(store.ok());
    EXPECT_FALSE(std::filesystem::exists(orphan));
    EXPECT_FALSE(std::filesystem::exists(temporary));
    EXPECT_TRUE(std::filesystem::exists(dir + "/bundles/" + listed + ".ldxb"));
}

TEST(Store, EachSourceHasADailyBudgetAndItsOwnAggregates) {
    const std::string dir = work_dir() + "/source-budget";
    std::filesystem::remove_all(dir);
    auto store = test::open_test_store(dir, "source_budget");
    ASSERT_TRUE(store.ok()) << store.error().describe();
    const Model m = demo_model("pima-diabetes");
    MetricsReport r = *report_parse(make_reports(m, "pima-diabetes", 1, 20)[0], m.schema, m.reference);
    r.day = "2026-11-01";
    // 20 predictions per report, 50 a day per source: two fit, the third does not; another
    // source and another day have their own budget; a duplicate stays a duplicate.
    std::vector<IncomingReport> batch = {{r, "", "a"}, {r, "", "a"}, {r, "", "a"}, {r, "", "b"}};
    auto out = (*store)->add_reports(batch, 50);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out.value(), (std::vector<ReportOutcome>{ReportOutcome::stored, ReportOutcome::stored,
                                                       ReportOutcome::over_daily_limit, ReportOutcome::stored}));
    MetricsReport next = r;
    next.day = "2026-11-02";
    out = (*store)->add_reports({{r, std::string(32, '1'), "a"}, {next, std::string(32, '2'), "a"}}, 50);
    EXPECT_EQ(out.value(), (std::vector<ReportOutcome>{ReportOutcome::over_daily_limit, ReportOutcome::stored}));
    out = (*store)->add_reports({{next, std::string(32, '2'), "a"}}, 50);
    EXPECT_EQ(out.value()[0], ReportOutcome::duplicate);
    const auto sources = *(*store)->sources("pima-diabetes", 1, "2026-11-01", "2026-11-02");
    ASSERT_EQ(sources.size(), 3u);  // a on the 1st, b on the 1st, a on the 2nd
    uint64_t predictions = 0;
    for (const auto& src : sources) predictions += src.predictions;
    EXPECT_EQ(predictions, 80u);
    EXPECT_EQ((*store)->totals("pima-diabetes", 1, "2026-11-01", "2026-11-02")->predictions, 80u);
}

TEST(Store, AStoreWithoutPerSourceAggregatesIsMovedToThemAtOpen) {
    if (test::on_postgres()) GTEST_SKIP() << "a layout only SQLite stores had";
    const std::string dir = work_dir() + "/old-layout";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir + "/localdx.db").c_str(), &db), SQLITE_OK);
    const char* old = R"sql(
        CREATE TABLE totals (name TEXT NOT NULL, version INTEGER NOT NULL, day TEXT NOT NULL, reports INTEGER NOT NULL,
            predictions INTEGER NOT NULL, PRIMARY KEY (name, version, day)) WITHOUT ROWID;
        CREATE TABLE counts (name TEXT NOT NULL, version INTEGER NOT NULL, day TEXT NOT NULL, hist TEXT NOT NULL,
            bin INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (name, version, day, hist, bin)) WITHOUT ROWID;
        INSERT INTO totals VALUES ('pima-diabetes', 1, '2026-11-01', 3, 60);
        INSERT INTO counts VALUES ('pima-diabetes', 1, '2026-11-01', 'field:0', 2, 17);
    )sql";
    ASSERT_EQ(sqlite3_exec(db, old, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    auto store = sqlite_store_open(dir);
    ASSERT_TRUE(store.ok()) << store.error().describe();
    const auto sources = *(*store)->sources("pima-diabetes", 1, "2026-11-01", "2026-11-01");
    ASSERT_EQ(sources.size(), 1u);
    EXPECT_EQ(sources[0].predictions, 60u);
    EXPECT_EQ(sources[0].hist.at("field:0"), (std::vector<uint64_t>{0, 0, 17}));
    EXPECT_EQ((*store)->totals("pima-diabetes", 1, "2026-11-01", "2026-11-01")->reports, 3u);
    store->reset();
    EXPECT_TRUE(sqlite_store_open(dir).ok());  // opening again changes nothing
}

TEST(Files, AnAtomicWriteReplacesFilesOnlyNeverADeviceAFolderOrAPipe) {
    const std::string dir = work_dir() + "/atomic";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir + "/folder");
    ASSERT_EQ(::mkfifo((dir + "/pipe").c_str(), 0600), 0);
    for (const std::string target : {dir + "/folder", dir + "/pipe"}) {
        auto w = file_write_atomic(target, "bytes");
        ASSERT_FALSE(w.ok()) << target;
        EXPECT_NE(w.error().message.find("not a regular file"), std::string::npos) << w.error().message;
    }
    EXPECT_TRUE(std::filesystem::is_directory(dir + "/folder"));
    EXPECT_TRUE(std::filesystem::is_fifo(dir + "/pipe"));
    ASSERT_TRUE(file_write_atomic(dir + "/file", "one").ok());
    ASSERT_TRUE(file_write_atomic(dir + "/file", "two").ok());  // a file is replaced
    EXPECT_EQ(test::read_file(dir + "/file"), "two");
}

// A set of files (localdx train's model and card) is written in full before any is renamed into
// place: when one cannot be written, none of the old files is replaced and no temporary file stays.
TEST(Files, ASetOfFilesReplacesAllOrNone) {
    const std::string dir = work_dir() + "/atomic-set";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir + "/card.json");  // a folder where a file should go
    ASSERT_TRUE(file_write_atomic(dir + "/model.json", "old model").ok());
    const std::vector<std::pair<std::string, std::string>> set{{"model.json", "new model"}, {"card.json", "card"}};
    auto w = files_write_atomic(dir, set);
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(test::read_file(dir + "/model.json"), "old model");
    auto names = [&] {
        std::vector<std::string> out;
        for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
        std::sort(out.begin(), out.end());
        return out;
    };
    EXPECT_EQ(names(), (std::vector<std::string>{"card.json", "model.json"}));
    std::filesystem::remove(dir + "/card.json");
    ASSERT_TRUE(files_write_atomic(dir, set).ok());
    EXPECT_EQ(test::read_file(dir + "/model.json"), "new model");
    EXPECT_EQ(test::read_file(dir + "/card.json"), "card");
    EXPECT_EQ(names(), (std::vector<std::string>{"card.json", "model.json"}));
}

TEST(Store, AStoreOfThePreviousSchemaVersionIsMigratedAtOpenWithItsRows) {
    const std::string dir = work_dir() + "/migrate";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const Model m = demo_model("pima-diabetes");
    MetricsReport r = *report_parse(make_reports(m, "pima-diabetes", 1, 20)[0], m.schema, m.reference);
    r.day = "2026-11-01";
    if (test::on_postgres()) {
        // The previous version of a PostgreSQL store is an empty database (version 0).
        auto store = test::open_test_store(dir, "migrate");
        ASSERT_TRUE(store.ok()) << store.error().describe();
        EXPECT_EQ((*store)->schema_version(), kPostgresSchemaVersion);
        ASSERT_TRUE((*store)->add_reports({{r, std::string(32, 'a'), "a"}}, 50000).ok());
        auto again = postgres_store_open(test::pg_uri(test::pg_database_name("migrate")), 1);  // opened again
        ASSERT_TRUE(again.ok()) << again.error().describe();
        EXPECT_EQ((*again)->totals("pima-diabetes", 1, "2026-11-01", "2026-11-01")->reports, 1u);
        return;
    }
    // A store at schema version 1 (before day salts), with a report in it.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir + "/localdx.db").c_str(), &db), SQLITE_OK);
    const char* v1 = R"sql(
        CREATE TABLE bundles (sha256 TEXT PRIMARY KEY, name TEXT NOT NULL, version INTEGER NOT NULL,
            size INTEGER NOT NULL, created TEXT NOT NULL, expires TEXT NOT NULL, published TEXT NOT NULL,
            UNIQUE (name, version));
        CREATE TABLE totals (name TEXT NOT NULL, version INTEGER NOT NULL, day TEXT NOT NULL, reports INTEGER NOT NULL,
            predictions INTEGER NOT NULL, PRIMARY KEY (name, version, day)) WITHOUT ROWID;
        CREATE TABLE source_totals (name TEXT NOT NULL, version INTEGER NOT NULL, day TEXT NOT NULL,
            source TEXT NOT NULL, reports INTEGER NOT NULL, predictions INTEGER NOT NULL,
            PRIMARY KEY (name, version, day, source)) WITHOUT ROWID;
        CREATE INDEX source_totals_by_source ON source_totals (day, source);
        CREATE TABLE source_counts (name TEXT NOT NULL, version INTEGER NOT NULL, day TEXT NOT NULL,
            source TEXT NOT NULL, hist TEXT NOT NULL, bin INTEGER NOT NULL, count INTEGER NOT NULL,
            PRIMARY KEY (name, version, day, source, hist, bin)) WITHOUT ROWID;
        CREATE TABLE seen_reports (key TEXT PRIMARY KEY, day TEXT NOT NULL) WITHOUT ROWID;
        INSERT INTO totals VALUES ('pima-diabetes', 1, '2026-11-01', 1, 20);
        INSERT INTO source_totals VALUES ('pima-diabetes', 1, '2026-11-01', 'a', 1, 20);
        INSERT INTO seen_reports VALUES ('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', '2026-11-01');
        PRAGMA user_version = 1;
    )sql";
    ASSERT_EQ(sqlite3_exec(db, v1, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    {
        auto store = sqlite_store_open(dir);
        ASSERT_TRUE(store.ok()) << store.error().describe();
        EXPECT_EQ((*store)->schema_version(), kSqliteSchemaVersion);
        EXPECT_EQ((*store)->totals("pima-diabetes", 1, "2026-11-01", "2026-11-01")->predictions, 20u);
        auto dup = (*store)->add_reports({{r, std::string(32, 'a'), "a"}}, 50000);  // its key is still known
        ASSERT_TRUE(dup.ok()) << dup.error().describe();
        EXPECT_EQ(dup.value()[0], ReportOutcome::duplicate);
        auto salt = (*store)->day_salt("2026-11-01");  // the new table
        ASSERT_TRUE(salt.ok()) << salt.error().describe();
        EXPECT_EQ(*(*store)->day_salt("2026-11-01"), *salt);
        EXPECT_EQ(salt->size(), 64u);
    }
    // A store newer than this server is refused with the reason, not opened.
    ASSERT_EQ(sqlite3_open((dir + "/localdx.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    auto newer = sqlite_store_open(dir);
    ASSERT_FALSE(newer.ok());
    EXPECT_EQ(newer.error().code, "store_too_new");
}

// Several instances on one PostgreSQL store: what one publishes the others serve within a poll,
// a report's idempotency key holds across them, and they give the same drift figures.
TEST(Server, InstancesSharingAStoreServeTheSameBundlesAndCountEachReportOnce) {
    if (!test::on_postgres()) GTEST_SKIP() << "one SQLite store belongs to one process";
    const std::vector<std::string> flags{"--rate-limit", "0",   "--drift-min-sources", "1",
                                         "--drift-min",  "100", "--poll-ms",           "200"};
    Server a("instance-a", flags);
    std::vector<std::string> shared = flags;
    shared.insert(shared.end(),
                  {"--store", a.args[std::find(a.args.begin(), a.args.end(), "--store") - a.args.begin() + 1]});
    Server b("instance-b", shared);  // its own --store first, then a's: the last one counts
    ASSERT_TRUE(a.start());
    ASSERT_TRUE(b.start());
    const auto root = *trust_root_parse(test::read_file(kDemo + "/keys/trust.json"), std::time(nullptr));
    auto models = [&](const Server& s) {
        auto index = models_index_verify(s.client().Get("/api/v1/models")->body, root, std::time(nullptr), 0);
        return index ? index->models : Json();  // null: not a valid signed index
    };
    ASSERT_TRUE(models(b).is_array());
    EXPECT_EQ(models(b).size(), 0u);
    ASSERT_EQ(a.publish(demo_bundle("pima-diabetes"))->status, 201);
    const auto published = std::chrono::steady_clock::now();
    while (models(b).empty() && std::chrono::steady_clock::now() - published < std::chrono::seconds(5))
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - published).count();
    ASSERT_EQ(models(b).size(), 1u) << "instance b does not list the bundle published through a";
    EXPECT_LT(seconds, 1.0) << "listed by b after " << seconds << " s";
    std::printf("# listed by the second instance %.3f s after publishing\n", seconds);
    const std::string sha = sha256_hex(demo_bundle("pima-diabetes"));
    auto got = b.client().Get("/api/v1/bundles/" + sha);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->status, 200);
    EXPECT_EQ(got->body, demo_bundle("pima-diabetes"));  // the bytes, from the shared store

    const Model m = demo_model("pima-diabetes");
    const auto reports = make_reports(m, "pima-diabetes", 12, 20);
    for (size_t i = 0; i < reports.size(); ++i) {
        const std::string key = hex_encode(std::string(16, static_cast<char>(i + 1)));
        auto first = (i % 2 ? a : b)
                         .client()
                         .Post("/api/v1/metrics", {{"Idempotency-Key", key}}, reports[i], "application/json");
        ASSERT_TRUE(first);
        ASSERT_EQ(first->status, 202) << first->body;
        EXPECT_FALSE(Json::parse(first->body)["duplicate"].get<bool>());
        // The same report again, through the other instance: a duplicate, counted once.
        auto second = (i % 2 ? b : a)
                          .client()
                          .Post("/api/v1/metrics", {{"Idempotency-Key", key}}, reports[i], "application/json");
        ASSERT_TRUE(second);
        ASSERT_EQ(second->status, 202) << second->body;
        EXPECT_TRUE(Json::parse(second->body)["duplicate"].get<bool>());
    }
    auto da = Json::parse(a.operator_client().Get("/api/v1/drift?model=pima-diabetes")->body);
    auto db = Json::parse(b.operator_client().Get("/api/v1/drift?model=pima-diabetes")->body);
    EXPECT_EQ(da["reports"].get<uint64_t>(), 12u);
    EXPECT_EQ(da["predictions"].get<uint64_t>(), 240u);
    EXPECT_EQ(da["pooling"]["sources"].get<uint64_t>(), 1u);  // one client, one source, whichever instance
    EXPECT_EQ(da.dump(), db.dump());
}

TEST(Server, RateLimitPerSource) {
    Server s("ratelimit", {"--rate-limit", "5"});
    ASSERT_TRUE(s.start());
    ASSERT_EQ(s.publish(demo_bundle("pima-diabetes"))->status, 201);
    const auto reports = make_reports(demo_model("pima-diabetes"), "pima-diabetes", 8, 20);
    auto c = s.client();
    int accepted = 0, limited = 0;
    for (const auto& r : reports) {
        auto res = c.Post("/api/v1/metrics", r, "application/json");
        (res->status == 202 ? accepted : limited) += 1;
        if (res->status == 429) EXPECT_EQ(res->get_header_value("Retry-After"), "60");
    }
    EXPECT_EQ(accepted, 5);
    EXPECT_EQ(limited, 3);
}

TEST(Server, BehindATrustedProxyEachClientAddressHasItsOwnLimitAndAnyOtherPeerCannotClaimOne) {
    // The proxy (this test, on 127.0.0.1) names each client in X-Real-IP.
    const auto post = [](Server& s, const std::string& body, const char* client) {
        auto c = s.client();
        return c.Post("/api/v1/metrics", httplib::Headers{{"X-Real-IP", client}}, body, "application/json")->status;
    };
    Server proxied("proxied", {"--rate-limit", "2", "--trusted-proxy", "127.0.0.1"});
    ASSERT_TRUE(proxied.start());
    ASSERT_EQ(proxied.publish(demo_bundle("pima-diabetes"))->status, 201);
    const auto reports = make_reports(demo_model("pima-diabetes"), "pima-diabetes", 7, 20);
    EXPECT_EQ(post(proxied, reports[0], "192.0.2.1"), 202);
    EXPECT_EQ(post(proxied, reports[1], "192.0.2.1"), 202);
    EXPECT_EQ(post(proxied, reports[2], "192.0.2.1"), 429);
    EXPECT_EQ(post(proxied, reports[3], "192.0.2.2"), 202);  // another client, its own limit
    // Not an IP address: the request counts as the peer's (the proxy's own limit).
    EXPECT_EQ(post(proxied, reports[4], "not an address"), 202);
    EXPECT_EQ(post(proxied, reports[5], "127.0.0.1; 192.0.2.9"), 202);
    EXPECT_EQ(post(proxied, reports[6], "x"), 429);
    // Without --trusted-proxy the header is ignored: every request is the peer's.
    Server direct("direct", {"--rate-limit", "2"});
    ASSERT_TRUE(direct.start());
    ASSERT_EQ(direct.publish(demo_bundle("pima-diabetes"))->status, 201);
    EXPECT_EQ(post(direct, reports[0], "192.0.2.1"), 202);
    EXPECT_EQ(post(direct, reports[1], "192.0.2.2"), 202);
    EXPECT_EQ(post(direct, reports[2], "192.0.2.3"), 429);
}

TEST(Server, DriftFlagsADeliberatelyShiftedFieldAndPersistsAcrossRestart) {
    // All reports come from one address here: one source (multi-source pooling has its own test).
    Server s("drift", {"--rate-limit", "0", "--drift-min-sources", "1", "--source-day-max", "1000000"});
    ASSERT_TRUE(s.start());
    ASSERT_EQ(s.publish(demo_bundle("pima-diabetes"))->status, 201);
    const Model m = demo_model("pima-diabetes");
    auto c = s.client();
    // 3000 reports of 20 patients drawn from the real data, glucose raised by 60 mg/dL in every
    // one. Randomized response (epsilon 1 per histogram) needs tens of thousands of predictions
    // before PSI noise falls well under the 0.1 warning line: this is what k-ary randomized
    // response costs, and why the default minimum is 20000 predictions.
    const auto reports = make_reports(m, "pima-diabetes", 3000, 20, "glucose", 60.0, 7);
    std::atomic<int> accepted{0};
    std::vector<std::thread> senders;
    for (int t = 0; t < 8; ++t)
        senders.emplace_back([&, t] {
            auto cc = s.client();
            for (size_t i = static_cast<size_t>(t); i < reports.size(); i += 8)
                if (auto r = cc.Post("/api/v1/metrics", reports[i], "application/json"); r && r->status == 202)
                    ++accepted;
        });
    for (auto& t : senders) t.join();
    ASSERT_EQ(accepted, 3000);
    auto d = Json::parse(s.operator_client().Get("/api/v1/drift?model=pima-diabetes&version=1")->body);
    EXPECT_EQ(d["reports"], 3000);
    EXPECT_EQ(d["predictions"], 60000);
    EXPECT_EQ(d["thresholds"]["psi_alert"], 0.25);
    std::map<std::string, Json> by;
    for (const auto& f : d["fields"]) by[f["field"]] = f;
    EXPECT_EQ(by["glucose"]["status"], "alert") << d.dump();
    EXPECT_GT(by["glucose"]["psi"].get<double>(), 0.25);
    EXPECT_EQ(by["pedigree"]["status"], "ok") << by["pedigree"].dump();
    EXPECT_LT(by["pedigree"]["psi"].get<double>(), 0.1);
    std::printf("drift: glucose PSI %.3f (%s), pedigree PSI %.3f (%s) over %d predictions\n",
                by["glucose"]["psi"].get<double>(), by["glucose"]["status"].get<std::string>().c_str(),
                by["pedigree"]["psi"].get<double>(), by["pedigree"]["status"].get<std::string>().c_str(),
                d["predictions"].get<int>());
    EXPECT_EQ(by["glucose"]["reports"], 3000);
    auto prom = s.operator_client().Get("/metrics")->body;
    EXPECT_NE(prom.find("localdx_drift_psi{model=\"pima-diabetes\",version=\"1\",field=\"glucose\"}"),
              std::string::npos);
    EXPECT_NE(prom.find("localdx_reports{model=\"pima-diabetes\",version=\"1\"} 3000"), std::string::npos);
    EXPECT_NE(prom.find("localdx_http_request_duration_seconds_bucket{route=\"/api/v1/metrics\""), std::string::npos);

    // Below the minimum count, no figure is published.
    Server few("drift-few", {"--rate-limit", "0"});
    ASSERT_TRUE(few.start());
    ASSERT_EQ(few.publish(demo_bundle("pima-diabetes"))->status, 201);
    ASSERT_EQ(
        few.client().Post("/api/v1/metrics", make_reports(m, "pima-diabetes", 1, 20)[0], "application/json")->status,
        202);
    auto fd = Json::parse(few.operator_client().Get("/api/v1/drift?model=pima-diabetes")->body);
    EXPECT_EQ(fd["fields"][0]["status"], "insufficient");
    EXPECT_FALSE(fd["fields"][0].contains("psi"));

    // Graceful stop and restart: everything is still there.
    EXPECT_EQ(WEXITSTATUS(s.proc->terminate()), 0);
    ASSERT_TRUE(s.start());
    auto again = Json::parse(s.operator_client().Get("/api/v1/drift?model=pima-diabetes")->body);
    EXPECT_EQ(again["reports"], 3000);
    EXPECT_EQ(again["fields"], d["fields"]);
}

TEST(Server, RealPrometheusScrapesTheServerAndTheShippedDriftAlertFires) {
    Server s("prometheus", {"--rate-limit", "0", "--drift-min-sources", "1"});
    ASSERT_TRUE(s.start());
    ASSERT_EQ(s.publish(demo_bundle("pima-diabetes"))->status, 201);
    const Model m = demo_model("pima-diabetes");
    const auto reports = make_reports(m, "pima-diabetes", 1500, 20, "glucose", 60.0, 11);
    std::vector<std::thread> senders;
    for (int t = 0; t < 8; ++t)
        senders.emplace_back([&, t] {
            auto cc = s.client();
            for (size_t i = static_cast<size_t>(t); i < reports.size(); i += 8)
                cc.Post("/api/v1/metrics", reports[i], "application/json");
        });
    for (auto& t : senders) t.join();

    // The exposition itself passes Prometheus's own linter.
    const std::string exposition = s.dir + "/metrics.txt";
    std::ofstream(exposition) << s.operator_client().Get("/metrics")->body;
    EXPECT_EQ(std::system(("promtool check metrics < " + exposition + " > " + exposition + ".check 2>&1").c_str()), 0)
        << test::read_file(exposition + ".check");

    const int prom_port = test::free_port();
    const std::string dir = s.dir + "/prometheus";
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/prometheus.yml")
        << "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        << "rule_files: ['" << LOCALDX_SOURCE_DIR << "/server/prometheus/alerts.yml']\n"
        << "scrape_configs:\n  - job_name: localdx\n    authorization: {credentials_file: '" << s.dir
        << "/operator-tokens'}\n    static_configs: [{targets: ['127.0.0.1:" << s.port << "']}]\n";
    test::ServerProcess prom("/usr/bin/prometheus",
                             {"--config.file=" + dir + "/prometheus.yml", "--storage.tsdb.path=" + dir + "/tsdb",
                              "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)});
    ASSERT_TRUE(prom.start(prom_port, "/-/ready")) << "prometheus did not start; see " << prom.log_path();
    httplib::Client pc("127.0.0.1", prom_port);
    bool fired = false;
    Json alerts;
    for (int i = 0; i < 120 && !fired; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        auto r = pc.Get("/api/v1/alerts");
        if (!r || r->status != 200) continue;
        alerts = Json::parse(r->body)["data"]["alerts"];
        for (const auto& a : alerts)
            fired = fired || (a["labels"]["alertname"] == "LocalDxInputDrift" && a["labels"]["field"] == "glucose" &&
                              a["state"] == "firing");
    }
    EXPECT_TRUE(fired) << alerts.dump();
    for (const auto& a : alerts)  // only the shifted field
        if (a["labels"]["alertname"] == "LocalDxInputDrift") EXPECT_EQ(a["labels"]["field"], "glucose") << a.dump();
    prom.terminate();
}

TEST(Server, ServesHttpsWithTheGivenCertificate) {
    const std::string dir = work_dir() + "/tls-cert";
    std::filesystem::create_directories(dir);
    ASSERT_EQ(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -keyout " + dir +
                           "/key.pem -out " + dir + "/cert.pem > /dev/null 2>&1")
                              .c_str()),
              0);
    Server s("tls", {"--tls-cert", dir + "/cert.pem", "--tls-key", dir + "/key.pem"});
    ASSERT_TRUE(s.proc->start(s.port, "/readyz", true)) << "see " << s.proc->log_path();
    httplib::Client c("https://127.0.0.1:" + std::to_string(s.port));
    c.enable_server_certificate_verification(false);
    auto r = c.Get("/api/v1/models");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    httplib::Client plain("127.0.0.1", s.port);  // plain HTTP to the TLS port gets no answer
    plain.set_read_timeout(2, 0);
    auto p = plain.Get("/healthz");
    EXPECT_TRUE(!p || p->status != 200);
}

// Posts a report on a fresh connection from address `from`; returns the status.
int post_report_from(int port, const std::string& from, const std::string& body) {
    RawClient c(port, from);
    c.send(
        "POST /api/v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body);
    return status_of(c.receive(5000, has_response));
}

TEST(Server, DriftIsPooledOverSourcesAndOneForgingSourceCannotMoveIt) {
    Server s("sources", {"--rate-limit", "0", "--drift-min", "10000"});
    ASSERT_TRUE(s.start());
    ASSERT_EQ(s.publish(demo_bundle("pima-diabetes"))->status, 201);
    const Model m = demo_model("pima-diabetes");
    auto drift = [&] { return Json::parse(s.operator_client().Get("/api/v1/drift?model=pima-diabetes")->body); };
    auto statuses = [](const Json& d) {
        std::vector<std::string> out;
        for (const auto& f : d["fields"]) out.push_back(f["status"].get<std::string>());
        return out;
    };
    // Six honest sources (an address each), 4,000 clean predictions each, randomized as the
    // browser randomizes them.
    for (int source = 0; source < 6; ++source) {
        const std::string from = "127.0.0." + std::to_string(10 + source);
        for (const auto& r : make_reports(m, "pima-diabetes", 200, 20, "", 0, 100 + static_cast<uint64_t>(source)))
            ASSERT_EQ(post_report_from(s.port, from, r), 202);
        if (source == 3) {  // four sources: 16,000 predictions, but fewer sources than the minimum of 5
            const Json d = drift();
            EXPECT_EQ(d["pooling"]["sources"], 4);
            for (const auto& st : statuses(d)) EXPECT_EQ(st, "insufficient");
        }
    }
    const Json honest = drift();
    EXPECT_EQ(honest["pooling"]["sources"], 6);
    for (const auto& st : statuses(honest)) EXPECT_NE(st, "insufficient");
    // One forging address uses its whole day: ten reports of 5,000 with every count in the first
    // bin (a fake shift of every field); the eleventh passes the daily budget.
    // Each patient is counted in one of the 11 histograms: 5,000 patients spread over them (455 each,
    // the first histogram takes the remainder), piled in each histogram's first bin.
    Json forged = Json::parse(make_reports(m, "pima-diabetes", 1, 20)[0]);
    forged["n"] = 5000;
    uint64_t share = 5000 / 11 + 5000 % 11;
    auto pile = [&share](Json& counts) {
        for (auto& c : counts) c = 0;
        counts[0] = share;
        share = 5000 / 11;
    };
    for (auto& [name, counts] : forged["fields"].items()) pile(counts);
    pile(forged["predicted"]);
    for (auto& counts : forged["probabilities"]) pile(counts);
    for (int i = 0; i < 10; ++i) ASSERT_EQ(post_report_from(s.port, "127.0.0.66", forged.dump()), 202) << i;
    EXPECT_EQ(post_report_from(s.port, "127.0.0.66", forged.dump()), 429);
    const Json attacked = drift();
    EXPECT_EQ(attacked["predictions"], 6 * 4000 + 50000);
    EXPECT_EQ(statuses(attacked), statuses(honest)) << attacked.dump();
    EXPECT_GT(attacked["pooling"]["largest_source_over_median"].get<double>(), 10);
    const std::string prom = s.operator_client().Get("/metrics")->body;
    EXPECT_NE(prom.find("localdx_report_sources{model=\"pima-diabetes\",version=\"1\"} 7\n"), std::string::npos)
        << prom;
    const std::string ratio_line = "localdx_source_volume_ratio{model=\"pima-diabetes\",version=\"1\"} ";
    const size_t at = prom.find(ratio_line);
    ASSERT_NE(at, std::string::npos);
    EXPECT_GT(std::strtod(prom.c_str() + at + ratio_line.size(), nullptr), 10);  // 50,000 against 4,000 each
}

//-----------------------------------------------------------------------------
// [SECTION] Connections: slow, idle, many, pipelined
//-----------------------------------------------------------------------------
// Milliseconds for GET /healthz on a fresh connection from 127.0.0.1, or -1 without a 200 in 3 s.
int healthz_ms(int port) {
    const auto t0 = std::chrono::steady_clock::now();
    RawClient c(port, "127.0.0.1");
    c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const std::string got = c.receive(3000, has_response);
    if (status_of(got) != 200) return -1;
    return static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
}

TEST(Server, SlowHeadersAndIdleConnectionsHoldNoThread) {
    // Four workers only: 70 clients sending their headers a byte a second and 200 idle keep-alive
    // connections would stop a thread-per-connection server many times over.
    Server s("slow-floods", {"--threads", "4", "--idle-timeout", "60", "--max-connections-per-source", "128"});
    ASSERT_TRUE(s.start());
    const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    std::vector<RawClient> slow, idle;
    for (int i = 0; i < 70; ++i) slow.emplace_back(s.port, "127.0.0.2");
    for (int i = 0; i < 200; ++i) {
        idle.emplace_back(s.port, i % 2 ? "127.0.0.3" : "127.0.0.4");
        ASSERT_TRUE(idle.back().send(request));
        ASSERT_EQ(status_of(idle.back().receive(3000, has_response)), 200);  // then stays open, idle
    }
    int worst = 0;
    for (size_t byte = 0; byte < 4; ++byte) {
        for (auto& c : slow) ASSERT_TRUE(c.send(request.substr(byte, 1)));
        const int ms = healthz_ms(s.port);
        ASSERT_GE(ms, 0) << "no answer to /healthz during the floods";
        worst = std::max(worst, ms);
        std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    EXPECT_LT(worst, 1000) << "/healthz took " << worst << " ms during the floods";
    std::printf("slow headers (70) and idle keep-alive (200) with 4 workers: worst /healthz %d ms\n", worst);
    // None of them was dropped: an idle connection (within its idle timeout) serves its next request at once.
    ASSERT_TRUE(idle.front().send(request));
    EXPECT_EQ(status_of(idle.front().receive(1000, has_response)), 200);
}

TEST(Server, DeadlinesCloseTricklingAndIdleConnections) {
    Server s("deadlines", {"--header-timeout", "2", "--idle-timeout", "1"});
    ASSERT_TRUE(s.start());
    // Headers trickled a byte every 300 ms: the whole head has 2 s, not 2 s per byte.
    RawClient trickle(s.port, "127.0.0.2");
    const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    const auto t0 = std::chrono::steady_clock::now();
    std::string got;
    for (char ch : request) {
        if (!trickle.send(std::string(1, ch))) break;
        got += trickle.receive(300);
        if (!got.empty()) break;
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(status_of(got), 408) << got;
    EXPECT_NE(got.find("\"code\":\"request_timeout\""), std::string::npos) << got;
    EXPECT_LT(secs, 3.5);
    EXPECT_TRUE(trickle.closed_within(500));
    // A connection that never sends a byte is closed quietly after the header timeout.
    RawClient silent(s.port, "127.0.0.3");
    EXPECT_FALSE(silent.closed_within(1500));
    EXPECT_TRUE(silent.closed_within(1500));
    // A keep-alive connection idle after its response is closed after the idle timeout.
    RawClient kept(s.port, "127.0.0.4");
    ASSERT_TRUE(kept.send(request));
    ASSERT_EQ(status_of(kept.receive(2000, has_response)), 200);
    EXPECT_TRUE(kept.closed_within(2000));
}

TEST(Server, TooManyConnectionsFromOneAddressAndAFullPoolAreAnswered503) {
    Server s("crowds", {"--threads", "4", "--max-connections-per-source", "10", "--rate-limit", "0"});
    ASSERT_TRUE(s.start());
    std::vector<RawClient> mine;
    for (int i = 0; i < 10; ++i) mine.emplace_back(s.port, "127.0.0.5");
    RawClient eleventh(s.port, "127.0.0.5");
    std::string got = eleventh.receive(1000, has_response);
    EXPECT_EQ(status_of(got), 503) << got;
    EXPECT_NE(got.find("\"code\":\"too_many_connections\""), std::string::npos) << got;
    EXPECT_NE(got.find("Retry-After: 5"), std::string::npos) << got;
    EXPECT_GE(healthz_ms(s.port), 0);  // other addresses are served
    mine.clear();

    // Four slow report bodies hold the four workers (a body has 3 s before the minimum rate
    // applies); 16 × 4 complete requests may wait for them; the rest are told 503 at once.
    const std::string head =
        "POST /api/v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 60000\r\n\r\n{";
    std::vector<RawClient> bodies;
    for (int i = 0; i < 4; ++i) {
        bodies.emplace_back(s.port, "127.0.0.6");
        ASSERT_TRUE(bodies.back().send(head));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::vector<RawClient> waiting;
    for (int i = 0; i < 80; ++i) {
        waiting.emplace_back(s.port, "127.0.1." + std::to_string(1 + i / 10));
        ASSERT_TRUE(waiting.back().send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    }
    int busy = 0;
    std::vector<size_t> queued;
    std::this_thread::sleep_for(std::chrono::milliseconds(700));  // the refusals are written at once
    for (size_t i = 0; i < waiting.size(); ++i) {
        const std::string answer = waiting[i].receive(5, has_response);
        if (status_of(answer) == 503) {
            ++busy;
            EXPECT_NE(answer.find("\"code\":\"busy\""), std::string::npos) << answer;
        } else {
            EXPECT_EQ(answer, "") << "answered while every worker was held";
            queued.push_back(i);
        }
    }
    EXPECT_EQ(busy, 80 - 64);
    // The slow bodies are cut when they fall below the minimum rate; the waiting requests are
    // then answered in full.
    for (size_t i : queued) EXPECT_EQ(status_of(waiting[i].receive(15000, has_response)), 200) << i;
    for (auto& b : bodies) EXPECT_TRUE(b.closed_within(2000));
    const std::string metrics = s.operator_client().Get("/metrics")->body;
    EXPECT_NE(metrics.find("localdx_connections_refused_total{reason=\"busy\"} 16\n"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("localdx_connections_refused_total{reason=\"too_many_connections\"} 1\n"),
              std::string::npos);
}

// The whole request path (front, cpp-httplib's parser, our refusals, the routes) fed mutated
// requests: byte flips, insertions, truncations and splices of real ones, each on its own
// connection. Nothing may answer 5xx or stop the server. A short run; scripts/fuzz runs it long.
TEST(Server, MutatedRequestsNeverGetA5xx) {
    Server s("mutated", {"--rate-limit", "0", "--header-timeout", "1"});
    ASSERT_TRUE(s.start());
    ASSERT_EQ(s.publish(demo_bundle("pima-diabetes"))->status, 201);
    const std::string report = make_reports(demo_model("pima-diabetes"), "pima-diabetes", 1, 5)[0];
    const std::string sha = Json::parse(c_index(s))["signed"]["models"][0]["sha256"].get<std::string>();
    const std::vector<std::string> seeds = {
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /api/v1/models HTTP/1.1\r\nHost: x\r\nIf-None-Match: W/\"a\", *\r\n\r\n",
        "GET /api/v1/bundles/" + sha + " HTTP/1.1\r\nHost: x\r\nRange: bytes=10-20\r\n\r\n",
        "GET /api/v1/drift?model=pima-diabetes&version=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
            kOperatorToken + "\r\n\r\n",
        "POST /api/v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
            std::to_string(report.size()) + "\r\n\r\n" + report,
        "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"};
    const int runs = std::getenv("LOCALDX_FUZZ_REQUESTS") ? std::atoi(std::getenv("LOCALDX_FUZZ_REQUESTS")) : 1500;
    std::mt19937_64 rng(std::getenv("LOCALDX_FUZZ_SEED") ? std::strtoull(std::getenv("LOCALDX_FUZZ_SEED"), nullptr, 10)
                                                         : 7);
    std::map<int, int> statuses;
    for (int run = 0; run < runs; ++run) {
        std::string r = seeds[rng() % seeds.size()];
        for (int edits = 1 + static_cast<int>(rng() % 4); edits-- > 0 && !r.empty();) {
            const size_t at = rng() % r.size();
            switch (rng() % 5) {
                case 0:
                    r[at] = static_cast<char>(rng());
                    break;  // flip a byte (0xFF, NUL, controls included)
                case 1:
                    r.insert(at, std::string(1 + rng() % 8, static_cast<char>(rng())));
                    break;
                case 2:
                    r.erase(at, 1 + rng() % 16);
                    break;
                case 3:
                    r.resize(at);
                    break;  // truncated
                default:
                    r.insert(at, seeds[rng() % seeds.size()].substr(0, rng() % 40));
                    break;  // spliced
            }
        }
        RawClient c(s.port, "127.0.0." + std::to_string(2 + run % 50));
        c.send(r);
        ::shutdown(c.fd, SHUT_WR);
        const std::string got =
            c.receive(3000, [](const std::string& g) { return g.find("\r\n\r\n") != std::string::npos; });
        const int status = status_of(got);
        ++statuses[status];
        ASSERT_TRUE(status == 0 || (status >= 200 && status < 500)) << status << " for " << printable(r) << "\n" << got;
        ASSERT_EQ(got.find("EXCEPTION_WHAT"), std::string::npos);
    }
    std::string summary;
    for (auto [status, n] : statuses) summary += " " + std::to_string(status) + "×" + std::to_string(n);
    std::printf("%d mutated requests, statuses:%s\n", runs, summary.c_str());
    EXPECT_GE(healthz_ms(s.port), 0);
}

// Pipelined requests are answered in order, each once; an error answer ends the connection, so
// what was sent after it is never answered (it could be the unread rest of the failed request).
TEST(Server, PipelinedRequestsAreAnsweredInOrderUntilAnError) {
    Server s("pipelined");
    ASSERT_TRUE(s.start());
    auto statuses_of = [](const std::string& got) {
        std::vector<int> out;
        for (size_t at = got.find("HTTP/1.1 "); at != std::string::npos; at = got.find("HTTP/1.1 ", at + 1))
            out.push_back(std::atoi(got.c_str() + at + 9));
        return out;
    };
    RawClient c(s.port, "127.0.0.2");
    std::string burst;
    for (int i = 0; i < 51; ++i)
        burst += i % 2 ? "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n" : "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_TRUE(c.send(burst));
    const std::string got =
        c.receive(5000, [&](const std::string& g) { return statuses_of(g).size() == 51 && g.back() == '\n'; });
    const std::vector<int> statuses = statuses_of(got);
    ASSERT_EQ(statuses.size(), 51u);
    for (size_t i = 0; i < statuses.size(); ++i) EXPECT_EQ(statuses[i], 200) << i;
    EXPECT_NE(got.find("ready\n"), std::string::npos);
    EXPECT_NE(got.find("ok\n"), std::string::npos);
    // The third of five is an error: two answers, the error, and the connection closed.
    RawClient d(s.port, "127.0.0.2");
    std::string mixed;
    for (const char* path : {"/healthz", "/healthz", "/nope", "/healthz", "/healthz"})
        mixed += std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_TRUE(d.send(mixed));
    const std::vector<int> answered = statuses_of(d.receive(3000));
    EXPECT_EQ(answered, (std::vector<int>{200, 200, 404}));
}

//-----------------------------------------------------------------------------
// [SECTION] Persistence: kill -9 during a burst
//-----------------------------------------------------------------------------
TEST(Server, BurstWithKill9LosesNothingAcknowledgedAndCountsNothingTwice) {
    // 64 clients on one address, as behind a NAT: no per-network caps on connections or workers.
    Server s("burst", {"--rate-limit", "0", "--source-day-max", "1000000000", "--max-connections-per-source", "0",
                       "--max-busy-per-source", "1024"});
    ASSERT_TRUE(s.start());
    ASSERT_EQ(s.publish(demo_bundle("pima-diabetes"))->status, 201);
    const Model m = demo_model("pima-diabetes");
    // 64 distinct report bodies reused; every report has its own idempotency key.
    const auto bodies = make_reports(m, "pima-diabetes", 64, 20);
    constexpr int kReports = 100000, kClients = 64;
    std::vector<std::string> keys(kReports);
    std::mt19937_64 rng(99);
    for (auto& k : keys)
        k = hex_encode(std::string(reinterpret_cast<const char*>(std::array<uint64_t, 2>{rng(), rng()}.data()), 16));

    std::vector<std::atomic<uint8_t>> acked(kReports);  // 0 pending, 1 acknowledged
    std::atomic<int> next{0}, acked_count{0};
    std::atomic<bool> killed{false};
    auto worker = [&](int id) {
        httplib::Client c("127.0.0.1", s.port);
        c.set_tcp_nodelay(true);
        c.set_connection_timeout(1, 0);
        c.set_read_timeout(10, 0);
        for (int i; (i = next.fetch_add(1)) < kReports;) {
            for (int attempt = 0; attempt < 2000; ++attempt) {
                auto r = c.Post("/api/v1/metrics", {{"Idempotency-Key", keys[static_cast<size_t>(i)]}},
                                bodies[static_cast<size_t>(i + id) % bodies.size()], "application/json");
                if (r && r->status == 202) {
                    acked[static_cast<size_t>(i)] = 1;
                    acked_count.fetch_add(1);
                    break;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(20));  // server down: retry, same key
            }
        }
    };
    std::vector<std::thread> clients;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kClients; ++i) clients.emplace_back(worker, i);
    while (acked_count < kReports / 2) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const int acked_before_kill = acked_count.load();
    s.proc->kill9();
    killed = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ASSERT_TRUE(s.start());  // same data folder, same port
    for (auto& t : clients) t.join();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    ASSERT_EQ(acked_count.load(), kReports);
    auto d = Json::parse(s.operator_client().Get("/api/v1/drift?model=pima-diabetes")->body);
    EXPECT_EQ(d["reports"].get<int>(), kReports) << "acknowledged before the kill: " << acked_before_kill;
    EXPECT_EQ(d["predictions"].get<int64_t>(), int64_t{kReports} * 20);
    std::printf("burst: %d reports from %d clients in %.1f s (%.0f/s, kill -9 after %d acknowledged)\n", kReports,
                kClients, secs, kReports / secs, acked_before_kill);
}

}  // namespace
}  // namespace ldx
