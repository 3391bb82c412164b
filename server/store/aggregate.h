// server/store/aggregate.h — what a batch of accepted reports adds to the aggregate tables, the
// same for both stores (store.h): merged in memory first, so each store writes one upsert per
// distinct row.
//
// Index of this file
//   [SECTION] Rows to add
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "store/store.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Rows to add
//-----------------------------------------------------------------------------
struct AggregateRows {
    struct Count {  // source_counts: one histogram bin of one source on one day
        std::string name;
        int64_t version = 0;
        std::string day, source, hist;
        int64_t bin = 0;
        uint64_t count = 0;
    };
    struct SourceTotal {  // source_totals
        std::string name;
        int64_t version = 0;
        std::string day, source;
        uint64_t reports = 0, predictions = 0;
    };
    struct DayTotal {  // totals
        std::string name;
        int64_t version = 0;
        std::string day;
        uint64_t reports = 0, predictions = 0;
    };
    std::vector<Count> counts;  // distinct keys, in key order (so concurrent writers lock rows in one order)
    std::vector<SourceTotal> sources;
    std::vector<DayTotal> days;
};

// The rows the stored reports add. Field histograms are keyed by position ("field:<index>"; the
// server knows the names from the bundle), class probabilities by "probability:<class index>".
AggregateRows aggregate_rows(const std::vector<const IncomingReport*>& stored);

}  // namespace ldx
