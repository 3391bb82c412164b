// server/http/request_metrics.h — what /metrics counts about requests: per route and status, their
// latency, rejections by reason, bundle downloads. Routes are labelled without anything a client
// chose (route_of).
#pragma once
#include <cstdint>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Request metrics
//-----------------------------------------------------------------------------
struct RequestMetrics {
    static constexpr double kBuckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
    struct Series {
        uint64_t count = 0;
        double sum = 0;
        uint64_t buckets[std::size(kBuckets)] = {};
    };
    std::mutex mu;
    std::map<std::pair<std::string, int>, uint64_t> requests;  // (route, status)
    std::map<std::string, Series> latency;                     // route
    std::map<std::string, uint64_t> rejected;                  // reason code
    std::map<std::string, uint64_t> downloads;                 // "name\tversion"

    void observe(const std::string& route, int status, double seconds) {
        std::lock_guard lock(mu);
        ++requests[{route, status}];
        Series& s = latency[route];
        ++s.count;
        s.sum += seconds;
        for (size_t i = 0; i < std::size(kBuckets); ++i)
            if (seconds <= kBuckets[i]) ++s.buckets[i];
    }
    void reject(const std::string& code) {
        std::lock_guard lock(mu);
        ++rejected[code];
    }
    void download(const std::string& name, int64_t version) {
        std::lock_guard lock(mu);
        ++downloads[name + "\t" + std::to_string(version)];
    }
};

// A route label that never carries a hash, a query or anything a client chose.
inline std::string route_of(const std::string& path) {
    if (path.rfind("/api/v1/bundles/", 0) == 0) return "/api/v1/bundles/:sha256";
    for (const char* r : {"/api/v1/models", "/api/v1/bundles", "/api/v1/metrics", "/api/v1/drift",
                          "/api/v1/openapi.json", "/metrics", "/healthz", "/readyz", "/api/v1/trust"})
        if (path == r) return r;
    return "static";
}

}  // namespace ldx
