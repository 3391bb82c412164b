// tests/server/fixture.h — the server tests' fixture: the real localdx-server on a free port with
// a fresh store (SQLite or PostgreSQL, stores.h), the demo bundles, and reports built by the
// shared report builder from real rows.
//
// Index of this file
//   [SECTION] Fixture
#pragma once
#include <execinfo.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "bundle/bundle.h"
#include "bundle/trust.h"
#include "drift/report.h"
#include "predict/predict.h"
#include "server_process.h"
#include "store/store.h"
#include "stores.h"
#include "support.h"
#include "train/dataset.h"

namespace ldx {
namespace {

//-----------------------------------------------------------------------------
// [SECTION] Fixture
//-----------------------------------------------------------------------------
// A test process that crashes prints where (functions named: linked with -rdynamic), then dies
// of the same signal, so ctest still reports the crash.
extern "C" inline void print_crash_trace(int sig) {
    void* frames[64];
    const int n = backtrace(frames, 64);
    const char head[] = "\n*** test process crashed; backtrace:\n";
    (void)!write(2, head, sizeof head - 1);
    backtrace_symbols_fd(frames, n, 2);
    signal(sig, SIG_DFL);
    raise(sig);
}
inline const bool kCrashTrace = [] {
    for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL}) signal(sig, print_crash_trace);
    return true;
}();

const std::string kDemo = LOCALDX_DEMO_DIR;  // scripts/demo-bundles output (ctest fixture)
// Each store's run of the tests has its own folder (ctest may run sqlite.X and postgresql.X at once).
std::string work_dir() { return std::string(LOCALDX_WORK_DIR) + "/" + test::store_kind(); }
const std::string kToken = "test-token-0123456789abcdef";
const std::string kOperatorToken = "operator-token-0123456789abcdef";

struct Server {
    int port = test::free_port();
    std::string dir;
    std::unique_ptr<test::ServerProcess> proc;
    std::vector<std::string> args;  // args[1] is the port
    explicit Server(const std::string& name, std::vector<std::string> extra = {}) {
        dir = work_dir() + "/" + name;
        std::filesystem::remove_all(dir);
        std::filesystem::create_directories(dir);
        std::ofstream(dir + "/token") << kToken << "\n";
        std::ofstream(dir + "/operator-tokens") << kOperatorToken << "\n";
        args = {"--port",
                std::to_string(port),
                "--data",
                dir + "/data",
                "--trust",
                kDemo + "/keys/trust.json",
                "--index-key",
                kDemo + "/keys/signing-key.json",
                "--token-file",
                dir + "/token",
                "--operator-token-file",
                dir + "/operator-tokens",
                "--no-access-log"};
        if (test::on_postgres()) {
            args.push_back("--store");
            args.push_back(test::fresh_store(test_name() + "_" + name));
        }
        args.insert(args.end(), extra.begin(), extra.end());
        proc = std::make_unique<test::ServerProcess>(LOCALDX_SERVER_BIN, args);
    }
    static std::string test_name() {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        return info ? info->name() : "";
    }
    // Starts the server; when its port was taken by another process between choosing and
    // binding it (tests run in parallel), again on another port.
    bool start() {
        for (int attempt = 0; attempt < 5; ++attempt) {
            if (proc->start(port)) return true;
            proc->kill9();
            port = test::free_port();
            args[1] = std::to_string(port);
            proc = std::make_unique<test::ServerProcess>(LOCALDX_SERVER_BIN, args);
        }
        return false;
    }
    // An anonymous client (the page, a report sender).
    httplib::Client client() const {
        httplib::Client c("127.0.0.1", port);
        c.set_read_timeout(30, 0);
        c.set_tcp_nodelay(true);
        return c;
    }
    // An operator's client: reads /metrics and /api/v1/drift.
    httplib::Client operator_client() const {
        httplib::Client c = client();
        c.set_bearer_token_auth(kOperatorToken.c_str());
        return c;
    }
    httplib::Result publish(const std::string& bytes, const std::string& token = kToken) const {
        auto c = client();
        c.set_bearer_token_auth(token.c_str());
        return c.Post("/api/v1/bundles", bytes, "application/octet-stream");
    }
};

std::string demo_bundle(const std::string& task) { return test::read_file(kDemo + "/bundles/" + task + "-1.ldxb"); }

// The demo bundle as a model; a bundle that cannot be read is a test failure with the reason
// (thrown, so gtest reports it), never a dereferenced error.
Model demo_model(const std::string& task) {
    auto root = trust_root_parse(test::read_file(kDemo + "/keys/trust.json"), 1800000000);
    if (!root) throw std::runtime_error("demo trust root: " + root.error().describe());
    auto v = bundle_verify(demo_bundle(task), *root, VerifyPolicy{1800000000, 0, {}});
    if (!v) throw std::runtime_error("demo bundle " + task + ": " + v.error().describe());
    auto m = model_from_bundle(*v);
    if (!m) throw std::runtime_error("demo bundle " + task + ": " + m.error().describe());
    return std::move(*m);
}

// Reports built by the shared report builder (what the browser runs) from real rows.
// `shift` adds to field `field` of every row before binning (a deliberate drift).
std::vector<std::string> make_reports(const Model& m, const std::string& task, int reports, int per_report,
                                      const std::string& field = "", double shift = 0, uint64_t seed = 1) {
    auto data = dataset_from_csv(m.schema, test::read_file(test::data_path(task)), true);
    std::mt19937_64 rng(seed);
    const size_t nf = m.schema.fields.size();
    const int fi = field.empty() ? -1 : m.schema.find_field(field);
    std::vector<std::string> out;
    for (int r = 0; r < reports; ++r) {
        ReportBuilder b =
            report_builder(m.schema, m.reference, m.manifest.name, m.manifest.version, utc_day(std::time(nullptr)));
        for (int i = 0; i < per_report; ++i) {
            const size_t row = rng() % data->rows();
            std::vector<double> values(data->values.begin() + static_cast<long>(row * nf),
                                       data->values.begin() + static_cast<long>((row + 1) * nf));
            if (fi >= 0 && !std::isnan(values[static_cast<size_t>(fi)])) values[static_cast<size_t>(fi)] += shift;
            auto features = features_from_values(m.schema, values);
            const auto p = probabilities_from_margin(m.ensemble->link, ensemble_margin(*m.ensemble, features));
            report_add(b, values, p, decide(m.schema, p), rng);
        }
        out.push_back(report_to_json(b.report).dump());
    }
    return out;
}

}  // namespace
}  // namespace ldx
