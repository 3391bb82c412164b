// shared/metrics/folds.cpp — see folds.h.
//
// Index of this file
//   [SECTION] Times and periods
//   [SECTION] Fold plans
//   [SECTION] Shuffled folds
//   [SECTION] Forward-chaining folds
#include "metrics/folds.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "base/calendar.h"
#include "record/record.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Times and periods
//-----------------------------------------------------------------------------
std::optional<TimeValue> time_parse(std::string_view cell) {
    auto digits = [&](size_t from, size_t count) {
        int v = 0;
        for (size_t i = from; i < from + count; ++i) {
            if (cell[i] < '0' || cell[i] > '9') return -1;
            v = v * 10 + (cell[i] - '0');
        }
        return v;
    };
    if (cell.size() >= 10 && cell[4] == '-' && cell[7] == '-') {
        const int y = digits(0, 4), m = digits(5, 2), d = digits(8, 2);
        if (y < 0 || m < 1 || m > 12 || d < 1 || d > 31) return std::nullopt;
        const int64_t day = days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
        int64_t yy;
        unsigned mm, dd;
        civil_from_days(day, yy, mm, dd);  // 2019-02-30 is not a date
        if (yy != y || mm != static_cast<unsigned>(m) || dd != static_cast<unsigned>(d)) return std::nullopt;
        return TimeValue{static_cast<double>(day), true};
    }
    auto v = number_parse(cell);
    if (!v || !std::isfinite(*v)) return std::nullopt;
    return TimeValue{*v, false};
}

std::string time_words(double value, bool date) {
    char b[40];
    if (date) {
        int64_t y;
        unsigned m, d;
        civil_from_days(static_cast<int64_t>(std::floor(value)), y, m, d);
        std::snprintf(b, sizeof b, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
    } else {
        std::snprintf(b, sizeof b, "%.10g", value);
    }
    return b;
}

bool period_unit_known(std::string_view unit) { return unit == "year" || unit == "quarter" || unit == "month"; }

std::string period_of(double value, bool date, std::string_view unit) {
    char b[40];
    if (!date) {
        std::snprintf(b, sizeof b, "%.0f", std::floor(value));
        return b;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(static_cast<int64_t>(std::floor(value)), y, m, d);
    if (unit == "month") std::snprintf(b, sizeof b, "%04lld-%02u", static_cast<long long>(y), m);
    else if (unit == "quarter") std::snprintf(b, sizeof b, "%04lld-Q%u", static_cast<long long>(y), (m - 1) / 3 + 1);
    else std::snprintf(b, sizeof b, "%04lld", static_cast<long long>(y));
    return b;
}

//-----------------------------------------------------------------------------
// [SECTION] Fold plans
//-----------------------------------------------------------------------------
FoldPlan fold_plan_from_assignment(std::span<const int> fold, int folds) {
    FoldPlan p;
    p.train.resize(static_cast<size_t>(folds));
    p.validate.resize(static_cast<size_t>(folds));
    for (size_t i = 0; i < fold.size(); ++i)
        for (int f = 0; f < folds; ++f) (fold[i] == f ? p.validate : p.train)[static_cast<size_t>(f)].push_back(i);
    return p;
}

//-----------------------------------------------------------------------------
// [SECTION] Shuffled folds
//-----------------------------------------------------------------------------
std::vector<float> outcome_quintiles(std::span<const double> outcomes) {
    std::vector<size_t> order(outcomes.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return outcomes[a] < outcomes[b]; });
    std::vector<float> q(outcomes.size());
    for (size_t r = 0; r < order.size(); ++r) q[order[r]] = static_cast<float>(r * 5 / order.size());
    return q;
}

std::vector<int> assign_folds(std::span<const float> labels, int k, std::span<const std::string> groups, int folds,
                              uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<int> fold(labels.size());
    if (groups.empty()) {
        // Each class's rows are shuffled and dealt round-robin to the folds.
        int next = 0;
        for (int c = 0; c < k; ++c) {
            std::vector<size_t> idx;
            for (size_t i = 0; i < labels.size(); ++i)
                if (static_cast<int>(labels[i]) == c) idx.push_back(i);
            std::shuffle(idx.begin(), idx.end(), rng);
            for (size_t i : idx) fold[i] = next++ % folds;
        }
        return fold;
    }
    // Groups: their rows and class counts; shuffled, largest first, each to the fold that lacks
    // most of the group's classes (relative to an even share), ties to the fold with fewest rows.
    std::map<std::string, size_t> index;
    std::vector<std::vector<size_t>> rows;
    for (size_t i = 0; i < labels.size(); ++i) {
        auto [it, added] = index.try_emplace(groups[i], rows.size());
        if (added) rows.emplace_back();
        rows[it->second].push_back(i);
    }
    std::vector<size_t> order(rows.size());
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return rows[a].size() > rows[b].size(); });
    const size_t kk = static_cast<size_t>(k);
    std::vector<double> total(kk, 0);
    for (float y : labels) total[static_cast<size_t>(y)] += 1;
    std::vector<std::vector<double>> have(static_cast<size_t>(folds), std::vector<double>(kk, 0));
    std::vector<size_t> size(static_cast<size_t>(folds), 0);
    for (size_t g : order) {
        std::vector<double> count(kk, 0);
        for (size_t i : rows[g]) count[static_cast<size_t>(labels[i])] += 1;
        size_t best = 0;
        double best_cost = INFINITY;
        for (size_t f = 0; f < static_cast<size_t>(folds); ++f) {
            // How far past its share of each class the fold would go, in shares.
            double cost = 0;
            for (size_t c = 0; c < kk; ++c)
                if (count[c] > 0) cost += (have[f][c] + count[c]) / (total[c] / folds);
            if (cost < best_cost - 1e-12 || (std::abs(cost - best_cost) <= 1e-12 && size[f] < size[best])) {
                best_cost = cost;
                best = f;
            }
        }
        for (size_t c = 0; c < kk; ++c) have[best][c] += count[c];
        size[best] += rows[g].size();
        for (size_t i : rows[g]) fold[i] = static_cast<int>(best);
    }
    return fold;
}

int group_fold(std::string_view group, int folds, uint64_t seed) {
    uint64_t h = 1469598103934665603ull ^ seed;  // FNV-1a of the id
    for (unsigned char c : group) h = (h ^ c) * 1099511628211ull;
    // splitmix64's finaliser: every bit of the id and the seed reaches the low bits the modulo keeps.
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    h ^= h >> 31;
    return static_cast<int>(h % static_cast<uint64_t>(folds));
}

//-----------------------------------------------------------------------------
// [SECTION] Forward-chaining folds
//-----------------------------------------------------------------------------
Result<TimeFolds> forward_chaining_folds(std::span<const double> times, bool dates, std::span<const std::string> groups,
                                         int folds, double gap) {
    const size_t n = times.size(), blocks = static_cast<size_t>(folds) + 1;
    if (folds < 1 || !(gap >= 0)) return problem("bad_value", "forward chaining needs at least 1 fold and a gap >= 0");
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return times[a] < times[b]; });
    // Each run of equal times goes to the block its first row's position falls in.
    std::vector<size_t> block(n);
    for (size_t r = 0; r < n; ++r) {
        const bool same = r > 0 && times[order[r]] == times[order[r - 1]];
        block[order[r]] = same ? block[order[r - 1]] : std::min(blocks - 1, r * blocks / n);
    }
    std::vector<std::vector<size_t>> rows(blocks);
    for (size_t r = 0; r < n; ++r) rows[block[order[r]]].push_back(order[r]);
    for (size_t b = 0; b < blocks; ++b)
        if (rows[b].empty())
            return problem("too_few_rows", "the time column's values cannot be cut into " + std::to_string(blocks) +
                                               " periods of rows (" + std::to_string(folds) +
                                               " forward-chaining folds and the earliest rows, which only train): "
                                               "lower folds in train.json, or add rows at more distinct times");
    TimeFolds out;
    out.describe = Json::array();
    for (size_t f = 1; f < blocks; ++f) {
        const auto& val = rows[f];
        double first = INFINITY, last = -INFINITY;
        std::set<std::string_view> patients;
        for (size_t i : val) {
            first = std::min(first, times[i]);
            last = std::max(last, times[i]);
            if (!groups.empty()) patients.insert(groups[i]);
        }
        const double until = first - gap;
        std::vector<size_t> train;
        double latest = -INFINITY;
        for (size_t b = 0; b < f; ++b)
            for (size_t i : rows[b])
                if (times[i] <= until && (groups.empty() || !patients.count(groups[i]))) {
                    train.push_back(i);
                    latest = std::max(latest, times[i]);
                }
        if (train.empty())
            return problem("too_few_rows", "forward-chaining fold " + std::to_string(f) + " validates rows from " +
                                               time_words(first, dates) +
                                               ", and the gap leaves it no earlier row "
                                               "to train on: lower the gap or the folds in train.json");
        std::sort(train.begin(), train.end());
        std::vector<size_t> v = val;
        std::sort(v.begin(), v.end());
        out.describe.push_back({{"fold", f},
                                {"train_rows", train.size()},
                                {"train_until", time_words(latest, dates)},
                                {"validate_rows", v.size()},
                                {"validate_from", time_words(first, dates)},
                                {"validate_to", time_words(last, dates)}});
        out.plan.train.push_back(std::move(train));
        out.plan.validate.push_back(std::move(v));
    }
    return out;
}

}  // namespace ldx
