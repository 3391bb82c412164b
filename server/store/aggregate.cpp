// server/store/aggregate.cpp — see aggregate.h.
#include "store/aggregate.h"

#include <map>
#include <tuple>

namespace ldx {

AggregateRows aggregate_rows(const std::vector<const IncomingReport*>& stored) {
    using CountKey = std::tuple<std::string, int64_t, std::string, std::string, std::string, int64_t>;
    using SourceKey = std::tuple<std::string, int64_t, std::string, std::string>;
    using DayKey = std::tuple<std::string, int64_t, std::string>;
    std::map<CountKey, uint64_t> counts;
    std::map<SourceKey, std::pair<uint64_t, uint64_t>> sources;
    std::map<DayKey, std::pair<uint64_t, uint64_t>> days;
    for (const IncomingReport* in : stored) {
        const MetricsReport& r = in->report;
        auto& d = days[{r.model, r.version, r.day}];
        d.first += 1;
        d.second += r.n;
        auto& s = sources[{r.model, r.version, r.day, in->source}];
        s.first += 1;
        s.second += r.n;
        auto add = [&](const std::string& hist, size_t bin, uint64_t count) {
            if (count) counts[{r.model, r.version, r.day, in->source, hist, static_cast<int64_t>(bin)}] += count;
        };
        for (size_t f = 0; f < r.fields.size(); ++f)
            for (size_t b = 0; b < r.fields[f].size(); ++b) add("field:" + std::to_string(f), b, r.fields[f][b]);
        for (size_t c = 0; c < r.predicted.size(); ++c) add("predicted", c, r.predicted[c]);
        for (size_t c = 0; c < r.probabilities.size(); ++c)
            for (size_t b = 0; b < r.probabilities[c].size(); ++b)
                add("probability:" + std::to_string(c), b, r.probabilities[c][b]);
    }
    AggregateRows out;
    for (const auto& [k, v] : counts)
        out.counts.push_back(
            {std::get<0>(k), std::get<1>(k), std::get<2>(k), std::get<3>(k), std::get<4>(k), std::get<5>(k), v});
    for (const auto& [k, v] : sources)
        out.sources.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), std::get<3>(k), v.first, v.second});
    for (const auto& [k, v] : days)
        out.days.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), v.first, v.second});
    return out;
}

}  // namespace ldx
