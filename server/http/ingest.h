// server/http/ingest.h — reports to the store in group commits: one writer thread, one transaction
// for everything queued, every waiter answered after the commit that holds its report.
#pragma once
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "bundle/crypto.h"
#include "io/files.h"
#include "store/store.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Report ingestion: group commit
//-----------------------------------------------------------------------------
// Handlers enqueue a checked report and wait; one writer thread commits everything queued in a
// single transaction (fsync'd), then answers every waiter. A report is acknowledged only after
// the commit that holds it, so a kill -9 loses nothing acknowledged.
class Ingest {
public:
    Ingest(Store& store, int retention_days, uint64_t source_day_max)
        : store_(store),
          retention_days_(retention_days),
          source_day_max_(source_day_max),
          writer_([this] { loop(); }) {}
    ~Ingest() { stop(); }

    std::future<Result<ReportOutcome>> submit(IncomingReport in) {
        std::lock_guard lock(mu_);
        queue_.push_back({std::move(in), {}});
        auto f = queue_.back().done.get_future();
        cv_.notify_one();
        return f;
    }
    // Commits everything still queued, then ends the writer.
    void stop() {
        {
            std::lock_guard lock(mu_);
            if (stopping_) return;
            stopping_ = true;
        }
        cv_.notify_one();
        if (writer_.joinable()) writer_.join();
    }
    uint64_t batches() const { return batches_; }

private:
    struct Pending {
        IncomingReport in;
        std::promise<Result<ReportOutcome>> done;
    };
    void loop() {
        for (;;) {
            std::deque<Pending> batch;
            {
                std::unique_lock lock(mu_);
                cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
                if (queue_.empty() && stopping_) return;
                const size_t n = std::min<size_t>(queue_.size(), 4096);
                for (size_t i = 0; i < n; ++i) {
                    batch.push_back(std::move(queue_.front()));
                    queue_.pop_front();
                }
            }
            std::vector<IncomingReport> items;
            items.reserve(batch.size());
            for (auto& p : batch) items.push_back(std::move(p.in));
            auto r = store_.add_reports(items, source_day_max_);
            ++batches_;
            for (size_t i = 0; i < batch.size(); ++i) {
                if (r) batch[i].done.set_value(r.value()[i]);
                else batch[i].done.set_value(r.problems());
            }
            // Retention, once an hour while reports arrive (after the answers: no waiter waits for it).
            const auto now = std::chrono::steady_clock::now();
            if (now - last_prune_ > std::chrono::hours(1)) {
                last_prune_ = now;
                (void)store_.prune(utc_day(unix_now() - int64_t{retention_days_} * 86400));  // again next hour
                (void)store_.forget_salts(salt_keep_from(unix_now()));
            }
        }
    }
    Store& store_;
    int retention_days_;
    uint64_t source_day_max_;
    std::chrono::steady_clock::time_point last_prune_ = std::chrono::steady_clock::now();
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Pending> queue_;
    bool stopping_ = false;
    std::atomic<uint64_t> batches_{0};
    std::thread writer_;
};

}  // namespace ldx
