// server/http/rate_limit.h — reports per client network per minute (salted, in memory, never stored).
#pragma once
#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

#include "bundle/crypto.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Rate limiting
//-----------------------------------------------------------------------------
// A token bucket per client network (network_key: an IPv4 address, an IPv6 /64), kept by this
// process: behind several instances each keeps its own (docs/operations.md gives the arithmetic).
// Buckets are keyed by the SHA-256 of a per-process random salt and the network: the address
// itself is never kept, logged or written anywhere, and the salt dies with the process.
// Memory is bounded without ever scanning the buckets: they live in two generations of at most
// kMaxBuckets each; every minute the older generation is dropped whole (a bucket unused for a
// minute has refilled, so forgetting it changes nothing). A network first seen while the current
// generation is full waits for the next minute.
class RateLimiter {
public:
    explicit RateLimiter(int per_minute) : per_minute_(per_minute), salt_(ed25519_keypair().public_key) {}
    bool allow(const std::string& network) {
        if (per_minute_ <= 0) return true;
        const std::string key = sha256(salt_ + network).substr(0, 16);
        const double now = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
        std::lock_guard lock(mu_);
        if (now - turned_ >= 60) {
            previous_.swap(current_);
            current_.clear();
            turned_ = now;
        }
        auto it = current_.find(key);
        if (it == current_.end()) {
            if (current_.size() >= kMaxBuckets) return false;
            Bucket b{static_cast<double>(per_minute_), now};
            if (auto old = previous_.find(key); old != previous_.end()) b = old->second;
            it = current_.emplace(key, b).first;
        }
        Bucket& b = it->second;
        b.tokens = std::min<double>(per_minute_, b.tokens + (now - b.at) * per_minute_ / 60.0);
        b.at = now;
        if (b.tokens < 1) return false;
        b.tokens -= 1;
        return true;
    }

private:
    struct Bucket {
        double tokens = 0, at = 0;
    };
    static constexpr size_t kMaxBuckets = 100000;
    int per_minute_;
    std::string salt_;
    std::mutex mu_;
    double turned_ = 0;
    std::unordered_map<std::string, Bucket> current_, previous_;
};

}  // namespace ldx
