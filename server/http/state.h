// server/http/state.h — what one localdx-server process holds: its configuration, trust root and
// tokens, the store, the group commit, the rate limiter, request counts, and the catalog (every
// published bundle's row, the verified models and their bytes, the day salts), read from the store
// and kept in memory so that handlers never wait for it.
#pragma once
#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bundle/bundle.h"
#include "bundle/crypto.h"
#include "bundle/trust.h"
#include "http/server.h"
#include "http/compressed_files.h"
#include "http/front.h"
#include "http/ingest.h"
#include "http/rate_limit.h"
#include "http/request_metrics.h"
#include "io/files.h"
#include "predict/predict.h"
#include "store/store.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] State and model cache
//-----------------------------------------------------------------------------
struct HttpServer::State {
    ServerConfig cfg;
    TrustRoot root;
    std::string trust_text;
    SigningKey index_key;
    std::string token;
    std::vector<std::string> operator_tokens;  // who may read /metrics and drift
    std::vector<std::string> ehr_origins;      // EHRs allowed to launch the page (web folder's ehr.json)
    std::unique_ptr<Store> store;
    std::unique_ptr<Ingest> ingest;
    std::unique_ptr<RateLimiter> limiter;
    RequestMetrics metrics;
    CompressedFiles compressed;  // the web folder's text files, Brotli-compressed once
    std::unique_ptr<httplib::Server> http;
    FrontServer* front = nullptr;  // the same object as http when serving plain HTTP
    std::atomic<bool> ready{false};

    // The catalog: every published bundle's row, from memory, so that handlers never wait for the
    // store. It is read again every --poll-ms (bundles published through another instance, and
    // whether the store answers: /readyz), and at once when a request names a bundle it lacks.
    std::mutex cache_mu;
    std::vector<BundleRow> catalog;                                   // by name and version
    std::map<std::string, std::shared_ptr<const Model>> models;       // by sha256
    std::map<std::string, std::shared_ptr<const std::string>> bytes;  // by sha256
    std::map<std::string, std::string> salts;                         // day -> the store's salt for it
    std::atomic<bool> store_ok{true};
    std::mutex poll_mu;
    std::condition_variable poll_cv;
    bool stopping = false;
    std::thread poller;
    ~State() {
        {
            std::lock_guard lock(poll_mu);
            stopping = true;
        }
        poll_cv.notify_all();
        if (poller.joinable()) poller.join();
    }

    Result<Ok> refresh_catalog() {
        auto rows = store->bundles();
        if (!rows) return rows.problems();
        std::lock_guard lock(cache_mu);
        catalog = std::move(*rows);
        return Ok{};
    }
    void poll_loop() {
        std::unique_lock lock(poll_mu);
        while (!stopping) {
            poll_cv.wait_for(lock, std::chrono::milliseconds(cfg.poll_ms));
            if (stopping) break;
            lock.unlock();
            const bool ok = refresh_catalog().ok() && store->ping().ok();
            if (ok != store_ok.exchange(ok))
                std::fprintf(stderr, "localdx-server: the store %s\n", ok ? "answers again" : "does not answer");
            lock.lock();
        }
    }
    std::optional<BundleRow> find_in_catalog(const std::function<bool(const BundleRow&)>& match) {
        std::lock_guard lock(cache_mu);
        for (const auto& b : catalog)
            if (match(b)) return b;
        return std::nullopt;
    }
    // A bundle by hash or by name and version; a miss reads the store once more (published
    // through another instance since the last poll).
    // Misses read the store at most every 100 ms, so requests naming made-up bundles cannot
    // turn into a query each.
    std::atomic<int64_t> last_miss_refresh{0};
    std::optional<BundleRow> find(const std::function<bool(const BundleRow&)>& match) {
        if (auto b = find_in_catalog(match)) return b;
        const int64_t now =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
                .count();
        int64_t last = last_miss_refresh;
        if (now - last < 100 || !last_miss_refresh.compare_exchange_strong(last, now)) return std::nullopt;
        if (!refresh_catalog()) return std::nullopt;
        return find_in_catalog(match);
    }
    std::optional<BundleRow> find_bundle(const std::string& sha) {
        return find([&](const BundleRow& b) { return b.sha256 == sha; });
    }
    std::optional<BundleRow> find_version(const std::string& name, int64_t version) {
        return find([&](const BundleRow& b) { return b.name == name && b.version == version; });
    }
    // The highest version of each name (the catalog is sorted by name, then version).
    std::vector<BundleRow> latest_bundles() {
        std::lock_guard lock(cache_mu);
        std::vector<BundleRow> out;
        for (const auto& b : catalog) {
            if (!out.empty() && out.back().name == b.name) out.back() = b;
            else out.push_back(b);
        }
        return out;
    }
    void remember(const BundleRow& row) {
        std::lock_guard lock(cache_mu);
        auto at = std::find_if(catalog.begin(), catalog.end(), [&](const BundleRow& b) {
            return std::tie(b.name, b.version) >= std::tie(row.name, row.version);
        });
        if (at == catalog.end() || at->sha256 != row.sha256) catalog.insert(at, row);
    }
    // The pseudonymous source a report is kept under: the client's address on that day, hashed
    // with the day's salt from the store (the same for every instance, gone with the day).
    std::optional<std::string> source_id(const std::string& day, const std::string& client) {
        std::string salt;
        {
            std::lock_guard lock(cache_mu);
            if (auto it = salts.find(day); it != salts.end()) salt = it->second;
        }
        if (salt.empty()) {
            // A new day: the salts of days that can no longer be reported go, here and in the store.
            const std::string keep_from = salt_keep_from(unix_now());
            if (!store->forget_salts(keep_from)) return std::nullopt;
            auto fresh = store->day_salt(day);
            if (!fresh) return std::nullopt;
            salt = *fresh;
            std::lock_guard lock(cache_mu);
            std::erase_if(salts, [&](const auto& kv) { return kv.first < keep_from; });
            salts[day] = salt;
        }
        return sha256_hex(salt + "\n" + day + "\n" + client).substr(0, 16);
    }

    std::shared_ptr<const std::string> bundle_bytes(const std::string& sha) {
        {
            std::lock_guard lock(cache_mu);
            if (auto it = bytes.find(sha); it != bytes.end()) return it->second;
        }
        auto data = store->bundle_bytes(sha);
        if (!data) return nullptr;
        auto p = std::make_shared<const std::string>(std::move(*data));
        std::lock_guard lock(cache_mu);
        bytes[sha] = p;
        return p;
    }
    // The stored bundle is verified again when first used: the store is not trusted more than
    // the network.
    std::shared_ptr<const Model> model(const std::string& sha) {
        {
            std::lock_guard lock(cache_mu);
            if (auto it = models.find(sha); it != models.end()) return it->second;
        }
        auto data = bundle_bytes(sha);
        if (!data) return nullptr;
        auto v = bundle_verify(*data, root, VerifyPolicy{0, 0, {}});  // expiry is the client's concern here
        if (!v) return nullptr;
        auto m = model_from_bundle(*v);
        if (!m) return nullptr;
        auto p = std::make_shared<const Model>(std::move(*m));
        std::lock_guard lock(cache_mu);
        models[sha] = p;
        return p;
    }
};

inline void send_json(httplib::Response& res, int status, const Json& j) {
    res.status = status;
    res.set_content(json_dump(j) + "\n", "application/json");
}

}  // namespace ldx
