// tests/server/test_scale_out.cpp — several instances on one PostgreSQL store behind real nginx
// with TLS (deploy/nginx/localdx.conf, as shipped but for ports, certificate and the per-address
// report rate: here 64 clients share one address), under a burst of reports while an instance is
// killed, PostgreSQL stops and restarts, and the instances restart one by one.
//
// Index of this file
//   [SECTION] nginx in front of the instances
//   [SECTION] A burst of reports from many clients that retry as the page does
//   [SECTION] The test
//
// Clients send each report with its own Idempotency-Key and send it again, with the same key,
// after a 502 or 503 or a lost connection (web/reporting.js does the same): every report is then
// counted exactly once whatever fails underneath, which the test checks by count.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "bundle/models_index.h"
#include "fixture.h"

namespace ldx {
namespace {

//-----------------------------------------------------------------------------
// [SECTION] nginx in front of the instances
//-----------------------------------------------------------------------------
// The shipped site configuration with this test's ports, certificate and upstreams
// (tests/support/nginx-site.sh; every client here has the address 127.0.0.1, so the per-address
// limits are raised).
struct Nginx {
    std::string dir;
    int https = test::free_port(), http = test::free_port();
    std::unique_ptr<test::ServerProcess> proc;

    Nginx(const std::string& work, const std::vector<int>& upstreams) : dir(work + "/nginx") {
        std::filesystem::remove_all(dir);
        std::string cmd = std::string("bash ") + LOCALDX_SOURCE_DIR + "/tests/support/nginx-site.sh " +
                          LOCALDX_SOURCE_DIR + " " + dir + " " + std::to_string(https) + " " + std::to_string(http) +
                          " --shared-address";
        for (int port : upstreams) cmd += " " + std::to_string(port);
        EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
        const std::string global = "daemon off; pid " + dir + "/nginx.pid;" + (getuid() == 0 ? " user root;" : "");
        proc = std::make_unique<test::ServerProcess>(
            "/usr/sbin/nginx", std::vector<std::string>{"-p", dir, "-c", dir + "/nginx.conf", "-g", global});
    }
};

httplib::Client tls_client(int port) {
    httplib::Client c("https://127.0.0.1:" + std::to_string(port));
    c.enable_server_certificate_verification(false);  // the test's self-signed certificate
    c.set_connection_timeout(2, 0);
    c.set_read_timeout(15, 0);
    c.set_keep_alive(true);
    return c;
}

//-----------------------------------------------------------------------------
// [SECTION] A burst of reports
//-----------------------------------------------------------------------------
struct Burst {
    std::vector<std::string> bodies;  // report i is bodies[i % size] with its own key
    std::string key_prefix;           // 16 hex digits: this burst's keys
    int total = 0;
    std::atomic<int> next{0}, accepted{0}, duplicates{0}, retried{0}, unexpected{0};
    std::atomic<int> status_502{0}, status_503{0}, lost_connections{0};
    std::string first_unexpected;
    std::mutex mu;

    std::string key(int i) const {
        char tail[17];
        std::snprintf(tail, sizeof tail, "%016x", static_cast<unsigned>(i));
        return key_prefix + tail;
    }
    // One client: keeps its connection, takes the next report, sends it until it is accepted.
    void client(int port) {
        auto c = tls_client(port);
        for (int i = next++; i < total; i = next++) {
            const httplib::Headers headers{{"Idempotency-Key", key(i)}};
            for (int attempt = 0;; ++attempt) {
                auto r = c.Post("/api/v1/metrics", headers, bodies[static_cast<size_t>(i) % bodies.size()],
                                "application/json");
                if (r && r->status == 202) {
                    ++accepted;
                    if (r->body.find("\"duplicate\":true") != std::string::npos) ++duplicates;
                    break;
                }
                if (r && r->status != 502 && r->status != 503) {
                    ++unexpected;
                    std::lock_guard lock(mu);
                    if (first_unexpected.empty()) first_unexpected = std::to_string(r->status) + " " + r->body;
                    break;
                }
                (r ? (r->status == 502 ? status_502 : status_503) : lost_connections)++;
                ++retried;
                std::this_thread::sleep_for(std::chrono::milliseconds(std::min(1000, 50 << std::min(attempt, 4))));
            }
        }
    }
    // Runs `clients` clients to the end; `during` runs meanwhile (it may wait on accepted).
    double run(int port, int clients, const std::function<void()>& during) {
        const auto t0 = std::chrono::steady_clock::now();
        std::vector<std::thread> threads;
        for (int k = 0; k < clients; ++k) threads.emplace_back([this, port] { client(port); });
        during();
        for (auto& t : threads) t.join();
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    void wait_for(int count) const {
        while (accepted < count && next < total + 64) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
};

// Polls until pred() holds or `seconds` pass; returns how long it took (or -1).
double within(double seconds, const std::function<bool()>& pred) {
    const auto t0 = std::chrono::steady_clock::now();
    for (;;) {
        const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (pred()) return t;
        if (t > seconds) return -1;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

int readyz(const Server& s) {
    httplib::Client c("127.0.0.1", s.port);
    c.set_connection_timeout(1, 0);
    c.set_read_timeout(2, 0);
    auto r = c.Get("/readyz");
    return r ? r->status : 0;
}

//-----------------------------------------------------------------------------
// [SECTION] The test
//-----------------------------------------------------------------------------
TEST(ScaleOut, ThreeInstancesOnPostgresBehindNginxLoseAndDoubleNothingThroughKillsOutagesAndRestarts) {
    if (!test::on_postgres()) GTEST_SKIP() << "several instances share a PostgreSQL store";
    const std::string work = work_dir() + "/scale-out";
    std::filesystem::remove_all(work);
    // A PostgreSQL of its own: this test stops it, which must not fail the tests running beside it
    // on the shared one.
    const std::string pg = std::string(LOCALDX_SOURCE_DIR) + "/tests/support/postgres.sh ";
    const std::string pg_state = work + "/pg";
    ASSERT_EQ(std::system((pg + "start " + pg_state).c_str()), 0);
    struct Stop {
        std::string cmd;
        ~Stop() { [[maybe_unused]] int rc = std::system(cmd.c_str()); }
    } stop{pg + "stop " + pg_state};
    std::string store;
    std::getline(std::ifstream(pg_state + "/uri"), store);
    const std::vector<std::string> flags{"--rate-limit",
                                         "0",
                                         "--source-day-max",
                                         "1000000000000",
                                         "--trusted-proxy",
                                         "127.0.0.1",
                                         "--max-connections-per-source",
                                         "0",
                                         "--max-busy-per-source",  // 64 clients, all 127.0.0.1 to nginx
                                         "1024",
                                         "--drift-min-sources",
                                         "1",
                                         "--drift-min",
                                         "100",
                                         "--store",
                                         store};
    std::vector<std::unique_ptr<Server>> instances;
    for (int i = 0; i < 3; ++i) {
        instances.push_back(std::make_unique<Server>("scale-out-" + std::to_string(i), flags));
        ASSERT_TRUE(instances.back()->start()) << "instance " << i;
    }
    std::vector<int> ports;
    for (const auto& s : instances) ports.push_back(s->port);
    Nginx nginx(work, ports);
    ASSERT_TRUE(nginx.proc->start(nginx.https, "/readyz", true)) << test::read_file(nginx.dir + "/logs/error.log");

    // Publish through nginx; every instance lists it (its own index) and accepts its reports.
    const std::string bundle = demo_bundle("pima-diabetes");
    {
        auto c = tls_client(nginx.https);
        c.set_bearer_token_auth(kToken.c_str());
        auto r = c.Post("/api/v1/bundles", bundle, "application/octet-stream");
        ASSERT_TRUE(r);
        ASSERT_EQ(r->status, 201) << r->body;
    }
    const auto root = *trust_root_parse(test::read_file(kDemo + "/keys/trust.json"), std::time(nullptr));
    const Model m = demo_model("pima-diabetes");
    Burst burst;
    burst.bodies = make_reports(m, "pima-diabetes", 64, m.schema.privacy.k_min);
    burst.key_prefix = hex_encode(random_bytes(8));
    burst.total = 100000;
    for (size_t i = 0; i < instances.size(); ++i) {
        const double listed = within(5, [&] {
            auto index =
                models_index_verify(instances[i]->client().Get("/api/v1/models")->body, root, std::time(nullptr), 0);
            return index && index->models.size() == 1;
        });
        ASSERT_GE(listed, 0) << "instance " << i << " does not list the bundle";
        EXPECT_LT(listed, 2.0) << "instance " << i << " listed it after " << listed << " s (--poll-ms 1000)";
        // Its first report goes to this instance directly: one of the 100,000.
        const int k = burst.next++;
        auto r = instances[i]->client().Post("/api/v1/metrics", {{"Idempotency-Key", burst.key(k)}},
                                             burst.bodies[static_cast<size_t>(k)], "application/json");
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 202) << r->body;
        ++burst.accepted;
        std::printf("# instance %zu: lists the bundle %.3f s after publishing, accepts its reports\n", i, listed);
    }

    // 100,000 reports from 64 clients through nginx: instance 1 is killed (SIGKILL) and started
    // again; PostgreSQL stops (fast) and starts again.
    double outage_seen = -1, recovered = -1;
    const double seconds = burst.run(nginx.https, 64, [&] {
        burst.wait_for(20000);
        instances[1]->proc->kill9();
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        EXPECT_TRUE(instances[1]->proc->start(instances[1]->port)) << "instance 1 did not start again";
        burst.wait_for(50000);
        EXPECT_EQ(std::system((pg + "halt " + pg_state).c_str()), 0);
        outage_seen = within(10, [&] {
            for (const auto& s : instances)
                if (readyz(*s) != 503) return false;
            return true;
        });
        std::this_thread::sleep_for(std::chrono::seconds(1));
        EXPECT_EQ(std::system((pg + "resume " + pg_state).c_str()), 0);
        recovered = within(20, [&] {
            for (const auto& s : instances)
                if (readyz(*s) != 200) return false;
            return true;
        });
    });
    EXPECT_GE(outage_seen, 0) << "/readyz did not report the store's outage on every instance";
    EXPECT_GE(recovered, 0) << "/readyz did not recover on every instance";
    EXPECT_EQ(burst.unexpected.load(), 0) << burst.first_unexpected;
    EXPECT_EQ(burst.accepted.load(), 100000);
    std::printf(
        "# burst: 100000 reports in %.1f s (%.0f/s) through nginx; retried %d (502: %d, 503: %d, lost "
        "connections: %d), %d answered as duplicates; /readyz 503 on all %.2f s after PostgreSQL stopped, "
        "200 again %.2f s after it started\n",
        seconds, 100000 / seconds, burst.retried.load(), burst.status_502.load(), burst.status_503.load(),
        burst.lost_connections.load(), burst.duplicates.load(), outage_seen, recovered);

    // Exactly 100,000 counted, and the same drift figures from every instance.
    std::vector<std::string> drift;
    for (const auto& s : instances) {
        auto r = s->operator_client().Get("/api/v1/drift?model=pima-diabetes");
        ASSERT_TRUE(r);
        ASSERT_EQ(r->status, 200) << r->body;
        drift.push_back(r->body);
    }
    EXPECT_EQ(Json::parse(drift[0])["reports"].get<uint64_t>(), 100000u);
    EXPECT_EQ(drift[0], drift[1]);
    EXPECT_EQ(drift[0], drift[2]);

    // A rolling restart during a second burst: each instance in turn stops (SIGTERM: it finishes
    // what it holds) and starts again once the previous one is ready. Clients that retry on
    // 502/503 see nothing else, and nothing is lost.
    Burst rolling;
    rolling.bodies = burst.bodies;
    rolling.key_prefix = hex_encode(random_bytes(8));
    rolling.total = 20000;
    const double rolling_seconds = rolling.run(nginx.https, 64, [&] {
        for (size_t i = 0; i < instances.size(); ++i) {
            rolling.wait_for(static_cast<int>(2000 + 5000 * i));
            EXPECT_EQ(WEXITSTATUS(instances[i]->proc->terminate()), 0) << "instance " << i;
            EXPECT_TRUE(instances[i]->proc->start(instances[i]->port)) << "instance " << i << " did not start again";
        }
    });
    EXPECT_EQ(rolling.unexpected.load(), 0) << rolling.first_unexpected;
    EXPECT_EQ(rolling.accepted.load(), 20000);
    auto after = Json::parse(instances[0]->operator_client().Get("/api/v1/drift?model=pima-diabetes")->body);
    EXPECT_EQ(after["reports"].get<uint64_t>(), 120000u);
    std::printf("# rolling restart: 20000 reports in %.1f s; retried %d (502: %d, 503: %d, lost connections: %d)\n",
                rolling_seconds, rolling.retried.load(), rolling.status_502.load(), rolling.status_503.load(),
                rolling.lost_connections.load());
    nginx.proc->terminate();
}

}  // namespace
}  // namespace ldx
