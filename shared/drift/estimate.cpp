// shared/drift/estimate.cpp — see estimate.h.
#include "drift/estimate.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "drift/report.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Randomized response as a distribution
//-----------------------------------------------------------------------------
namespace {
// One multinomial draw of `n` over `p` (need not sum to 1: normalised), by successive binomials.
std::vector<uint64_t> multinomial(std::span<const double> p, uint64_t n, std::mt19937_64& rng) {
    std::vector<uint64_t> out(p.size(), 0);
    double left = std::accumulate(p.begin(), p.end(), 0.0);
    uint64_t remaining = n;
    for (size_t i = 0; i < p.size() && remaining > 0; ++i) {
        if (i + 1 == p.size() || left <= 0) {
            out[i] = remaining;
            break;
        }
        const double q = std::clamp(std::max(0.0, p[i]) / left, 0.0, 1.0);
        const uint64_t k = std::binomial_distribution<uint64_t>(remaining, q)(rng);
        out[i] = k;
        remaining -= k;
        left -= std::max(0.0, p[i]);
    }
    return out;
}
}  // namespace

std::vector<uint64_t> randomized_response_draw(std::span<const double> shares, uint64_t n, double epsilon,
                                               std::mt19937_64& rng) {
    const size_t bins = shares.size();
    if (bins < 2) return multinomial(shares, n, rng);
    const double e = std::exp(epsilon);
    const double keep = e / (e + static_cast<double>(bins) - 1), other = 1 / (e + static_cast<double>(bins) - 1);
    // What one patient shows: its true bin with probability keep, any other with `other` each.
    std::vector<double> shown(bins);
    for (size_t b = 0; b < bins; ++b) shown[b] = std::max(0.0, shares[b] * keep + (1 - shares[b]) * other);
    return multinomial(shown, n, rng);
}

std::vector<double> unclipped_shares(std::span<const uint64_t> observed, uint64_t n, double epsilon) {
    const double bins = static_cast<double>(observed.size());
    const double e = std::exp(epsilon);
    const double keep = e / (e + bins - 1), other = 1 / (e + bins - 1);
    std::vector<double> est(observed.size(), 0.0);
    if (n == 0) return est;
    for (size_t i = 0; i < observed.size(); ++i)
        est[i] = (static_cast<double>(observed[i]) / static_cast<double>(n) - other) / (keep - other);
    return est;
}

std::vector<double> debiased_shares(std::span<const uint64_t> observed, uint64_t n, double epsilon) {
    std::vector<double> est = randomized_response_debias(observed, n, epsilon);
    const double total = std::accumulate(est.begin(), est.end(), 0.0);
    for (double& x : est) x = total > 0 ? x / total : 0;
    return est;
}

//-----------------------------------------------------------------------------
// [SECTION] Expected performance
//-----------------------------------------------------------------------------
namespace {
// A stretch of probability [lo, hi] holding `share` of the patients, uniformly spread; wholly on
// one side of the threshold.
struct Segment {
    double lo = 0, hi = 0, share = 0;
    bool alert = false;
    size_t bin = 0;
    double mean() const { return (lo + hi) / 2; }
    // The chance that, of two patients drawn from the segment, one positive and one negative
    // (weighted by p and by 1 - p), the positive scores higher: E[x (1-y) 1{x > y}] / E[x (1-y)].
    double ranked() const {
        const double m = mean();
        if (hi - lo < 1e-12 || m <= 0 || m >= 1) return 0.5;
        const double a = lo;
        auto f = [a](double x) { return x * x * x / 3 - a * x * x / 2 - x * x * x * x / 8 + a * a * x * x / 4; };
        return (f(hi) - f(lo)) / ((hi - lo) * (hi - lo)) / (m * (1 - m));
    }
};

// The probability histogram's bins (missing left out) as segments, split at the threshold.
std::vector<Segment> segments(const Histogram& h, std::span<const double> shares, double threshold) {
    std::vector<Segment> out;
    const size_t k = h.edges.size();
    for (size_t b = 0; b <= k && b < shares.size(); ++b) {
        const double lo = std::clamp(b == 0 ? 0.0 : h.edges[b - 1], 0.0, 1.0);
        const double hi = std::clamp(b == k ? 1.0 : h.edges[b], 0.0, 1.0);
        if (threshold > lo && threshold < hi) {
            const double below = (threshold - lo) / (hi - lo);
            out.push_back({lo, threshold, shares[b] * below, false, b});
            out.push_back({threshold, hi, shares[b] * (1 - below), true, b});
        } else {
            out.push_back({lo, hi, shares[b], lo >= threshold, b});
        }
    }
    return out;
}

// The figures from positives and negatives per segment (expected or counted).
Performance figures(const std::vector<Segment>& seg, std::span<const double> pos, std::span<const double> neg) {
    Performance p;
    double P = 0, N = 0, tp = 0, fp = 0, pairs = 0, below_neg = 0;
    for (size_t i = 0; i < seg.size(); ++i) {  // segments run from low to high probability
        pairs += pos[i] * below_neg + pos[i] * neg[i] * seg[i].ranked();
        below_neg += neg[i];
        P += pos[i];
        N += neg[i];
        if (seg[i].alert) {
            tp += pos[i];
            fp += neg[i];
        }
    }
    p.prevalence = P + N > 0 ? P / (P + N) : NAN;
    p.auc = P > 0 && N > 0 ? pairs / (P * N) : NAN;
    p.sensitivity = P > 0 ? tp / P : NAN;
    p.specificity = N > 0 ? (N - fp) / N : NAN;
    p.ppv = tp + fp > 0 ? tp / (tp + fp) : NAN;
    p.alert_rate = P + N > 0 ? (tp + fp) / (P + N) : NAN;
    return p;
}

double logit(double p) {
    const double q = std::clamp(p, 1e-6, 1 - 1e-6);
    return std::log(q / (1 - q));
}
double logistic(double x) { return 1 / (1 + std::exp(-x)); }

// A bin's mean probability (uniform between its edges, the first from 0, the last to 1); only for
// the bins of probabilities (b <= edges.size()), not the "missing" bin.
double bin_mean(const Histogram& h, size_t b) {
    const size_t k = h.edges.size();
    const double lo = std::clamp(b == 0 ? 0.0 : h.edges[std::min(b, k) - 1], 0.0, 1.0);
    const double hi = std::clamp(b >= k ? 1.0 : h.edges[b], 0.0, 1.0);
    return std::clamp((lo + hi) / 2, 1e-6, 1 - 1e-6);
}

// Per bin, the shift in log-odds from the bin's mean probability to the chance of a positive:
// the out-of-fold rows' posterior mean, or (draw) a draw from its Beta; zero without calibration.
std::vector<double> calibration_shift(const Histogram& h, const CalibrationByBin* c, std::mt19937_64* draw) {
    std::vector<double> shift(h.bins(), 0.0);
    if (!c || c->rows.size() != h.bins() || c->positives.size() != h.bins()) return shift;
    // The "missing" bin holds no probability: no shift, and no draw (the draws after it would
    // otherwise depend on it, and every server instance must give the same interval).
    for (size_t b = 0; b < h.missing_bin(); ++b) {
        const double m = bin_mean(h, b), k = static_cast<double>(c->positives[b]), n = static_cast<double>(c->rows[b]);
        const double alpha = k + m, beta = n - k + 1 - m;
        double rate = alpha / (alpha + beta);
        if (draw) {
            const double x = std::gamma_distribution<double>(alpha, 1)(*draw),
                         y = std::gamma_distribution<double>(beta, 1)(*draw);
            rate = x + y > 0 ? x / (x + y) : rate;
        }
        shift[b] = logit(rate) - logit(m);
    }
    return shift;
}

// The chance that a patient of the segment is positive.
double positive_rate(const Segment& s, std::span<const double> shift) {
    const double m = std::clamp(s.mean(), 0.0, 1.0);
    return s.bin < shift.size() && shift[s.bin] != 0 ? logistic(logit(m) + shift[s.bin]) : m;
}
}  // namespace

Performance performance_expected(const Histogram& probability, std::span<const double> shares, double threshold,
                                 const CalibrationByBin* calibration) {
    const auto seg = segments(probability, shares, threshold);
    const std::vector<double> shift = calibration_shift(probability, calibration, nullptr);
    std::vector<double> pos(seg.size()), neg(seg.size());
    for (size_t i = 0; i < seg.size(); ++i) {
        const double r = positive_rate(seg[i], shift);
        pos[i] = seg[i].share * r;
        neg[i] = seg[i].share * (1 - r);
    }
    return figures(seg, pos, neg);
}

Result<CalibrationByBin> calibration_from_reliability(const Json& reliability, const Histogram& reference) {
    auto bad = [](const std::string& what) {
        return problem("bad_card", "the card's reliability table of the predicted probability: " + what,
                       "metrics.calibration.reliability");
    };
    const size_t bins = reference.bins();
    if (!reliability.is_array() || reliability.size() + 1 != bins)
        return bad("it needs one row per bin of the probability's training histogram");
    CalibrationByBin c{std::vector<uint64_t>(bins, 0), std::vector<uint64_t>(bins, 0)};
    for (size_t b = 0; b + 1 < bins; ++b) {
        const Json& r = reliability[b];
        if (!r.is_object() || !r.contains("bin") || !r["bin"].is_array() || r["bin"].size() != 2 ||
            !r["bin"][0].is_number() || !r["bin"][1].is_number() || !r.contains("count") ||
            !r["count"].is_number_integer() || r["count"].get<int64_t>() < 0)
            return bad("a row lacks its bin or count");
        // Its edges must be the histogram's (the first bin from 0, the last to 1).
        const double lo = b == 0 ? 0.0 : reference.edges[b - 1], hi = b + 2 == bins ? 1.0 : reference.edges[b];
        if (std::abs(r["bin"][0].get<double>() - lo) > 1e-9 || std::abs(r["bin"][1].get<double>() - hi) > 1e-9)
            return bad("its bins are not those of the probability's training histogram");
        c.rows[b] = r["count"].get<uint64_t>();
        if (c.rows[b] == 0) continue;
        if (!r.contains("observed") || !r["observed"].is_number()) return bad("a row lacks its observed share");
        const double positives = std::round(r["observed"].get<double>() * static_cast<double>(c.rows[b]));
        if (positives < 0 || positives > static_cast<double>(c.rows[b]))
            return bad("an observed share is not in [0, 1]");
        c.positives[b] = static_cast<uint64_t>(positives);
    }
    return c;
}

//-----------------------------------------------------------------------------
// [SECTION] Estimate with intervals
//-----------------------------------------------------------------------------
namespace {
// The value with the replicates' spread about their median on each side (so the interval sits on
// the estimate even where the redrawn figures are biased or skewed).
Estimated interval(double value, std::vector<double> reps) {
    std::erase_if(reps, [](double x) { return std::isnan(x); });
    if (reps.empty() || std::isnan(value)) return {value, value, value};
    std::sort(reps.begin(), reps.end());
    auto at = [&reps](double q) {
        const double pos = q * static_cast<double>(reps.size() - 1);
        const size_t i = static_cast<size_t>(pos);
        const double f = pos - static_cast<double>(i);
        return i + 1 < reps.size() ? reps[i] * (1 - f) + reps[i + 1] * f : reps[i];
    };
    const double median = at(0.5);
    return {value, value - (median - at(0.025)), value + (at(0.975) - median)};
}
}  // namespace

PerformanceEstimate performance_estimate(const Histogram& probability, std::span<const uint64_t> observed, uint64_t n,
                                         double epsilon, double threshold, uint64_t patients, uint64_t seed,
                                         int resamples, const CalibrationByBin& calibration) {
    PerformanceEstimate out;
    out.patients = patients;
    const CalibrationByBin* table = calibration.rows.empty() ? nullptr : &calibration;
    // The figures come from the debiased shares clipped at zero (the more accurate estimate), the
    // interval's spread from redraws of the unclipped ones: redrawn from clipped shares, a bin few
    // patients are in (at the top, where sensitivity is decided) can only gain, and the replicates
    // would vary less than the estimate does (in a labelled simulation, 92% coverage instead of 95%).
    const std::vector<double> shares = unclipped_shares(observed, n, epsilon);
    const Performance point =
        performance_expected(probability, debiased_shares(observed, n, epsilon), threshold, table);
    std::mt19937_64 rng(seed);
    std::vector<double> auc, sens, spec, ppv, alerts;
    const double count = static_cast<double>(patients);
    for (int r = 0; r < resamples; ++r) {
        // The randomized counts again, debiased again: the noise of randomized response and of
        // which of the period's patients were counted in this histogram.
        const auto drawn = unclipped_shares(randomized_response_draw(shares, n, epsilon, rng), n, epsilon);
        // The chance of a positive per bin as training's out-of-fold rows know it.
        const std::vector<double> shift = calibration_shift(probability, table, &rng);
        // The period's patients so spread, each positive with that chance (the binomial's normal
        // approximation, as the counts may be fractional).
        const auto seg = segments(probability, drawn, threshold);
        std::vector<double> pos(seg.size()), neg(seg.size());
        for (size_t i = 0; i < seg.size(); ++i) {
            const double c = seg[i].share * count, m = positive_rate(seg[i], shift);
            pos[i] = c * m + std::normal_distribution<double>(0, std::sqrt(std::abs(c) * m * (1 - m)))(rng);
            neg[i] = c - pos[i];
        }
        const Performance p = figures(seg, pos, neg);
        auc.push_back(p.auc);
        sens.push_back(p.sensitivity);
        spec.push_back(p.specificity);
        ppv.push_back(p.ppv);
        alerts.push_back(p.alert_rate);
    }
    out.auc = interval(point.auc, auc);
    out.sensitivity = interval(point.sensitivity, sens);
    out.specificity = interval(point.specificity, spec);
    out.ppv = interval(point.ppv, ppv);
    out.alert_rate = interval(point.alert_rate, alerts);
    return out;
}

namespace {
double round4(double x) { return std::round(x * 1e4) / 1e4; }
Json estimated_json(const Estimated& e) {
    if (std::isnan(e.value)) return nullptr;
    return Json{{"value", round4(e.value)},
                {"ci95", {round4(std::clamp(e.lo, 0.0, 1.0)), round4(std::clamp(e.hi, 0.0, 1.0))}}};
}
}  // namespace

Json performance_estimate_json(const PerformanceEstimate& e) {
    return Json{{"auc", estimated_json(e.auc)},
                {"sensitivity", estimated_json(e.sensitivity)},
                {"specificity", estimated_json(e.specificity)},
                {"ppv", estimated_json(e.ppv)},
                {"alert_rate", estimated_json(e.alert_rate)}};
}

//-----------------------------------------------------------------------------
// [SECTION] Drift figures with intervals
//-----------------------------------------------------------------------------
DriftInterval drift_interval(std::span<const uint64_t> reference, std::span<const uint64_t> live, uint64_t n,
                             double epsilon, uint64_t seed, int resamples) {
    DriftInterval out;
    if (n == 0) return out;
    const FieldDrift point = drift_compare("", reference, live, n, epsilon, 0, 1, 1);
    const std::vector<double> shares = debiased_shares(live, n, epsilon);
    std::mt19937_64 rng(seed);
    std::vector<double> psi, js;
    for (int r = 0; r < resamples; ++r) {
        const FieldDrift d =
            drift_compare("", reference, randomized_response_draw(shares, n, epsilon, rng), n, epsilon, 0, 1, 1);
        psi.push_back(d.psi);
        js.push_back(d.js);
    }
    out.psi = interval(point.psi, psi);
    out.js = interval(point.js, js);
    out.psi.lo = std::max(0.0, out.psi.lo);
    out.js.lo = std::max(0.0, out.js.lo);
    return out;
}

//-----------------------------------------------------------------------------
// [SECTION] Regression: expected coverage of the prediction interval
//-----------------------------------------------------------------------------
CoverageByBin coverage_by_bin(const Histogram& reference, std::span<const double> levels,
                              std::span<const double> predicted, std::span<const std::vector<int>> covered_rows) {
    CoverageByBin c{{levels.begin(), levels.end()},
                    std::vector<uint64_t>(reference.bins(), 0),
                    std::vector<std::vector<uint64_t>>(levels.size(), std::vector<uint64_t>(reference.bins(), 0))};
    for (size_t i = 0; i < predicted.size(); ++i) {
        const size_t b = histogram_bin(reference, predicted[i]);
        ++c.rows[b];
        for (size_t l = 0; l < levels.size() && l < covered_rows.size(); ++l)
            c.covered[l][b] += i < covered_rows[l].size() && covered_rows[l][i] ? 1 : 0;
    }
    return c;
}

Json coverage_by_bin_to_json(const CoverageByBin& c) {
    return Json{{"levels", c.levels}, {"rows", c.rows}, {"covered", c.covered}};
}

Result<CoverageByBin> coverage_by_bin_from_json(const Json& j, size_t bins) {
    auto bad = [](const std::string& what) {
        return problem("bad_card", "the card's interval coverage by predicted value: " + what,
                       "metrics.conformal.by_predicted_value");
    };
    if (!j.is_object() || !j.contains("levels") || !j.contains("rows") || !j.contains("covered") ||
        !j["levels"].is_array() || !j["rows"].is_array() || !j["covered"].is_array())
        return bad("levels, rows and covered are required");
    CoverageByBin c;
    for (const auto& l : j["levels"]) {
        if (!l.is_number() || l.get<double>() <= 0 || l.get<double>() >= 1) return bad("a level is not in (0, 1)");
        c.levels.push_back(l.get<double>());
    }
    auto counts = [&](const Json& a, std::vector<uint64_t>& out) {
        if (!a.is_array() || a.size() != bins) return false;
        for (const auto& x : a) {
            if (!x.is_number_unsigned() && !(x.is_number_integer() && x.get<int64_t>() >= 0)) return false;
            out.push_back(x.get<uint64_t>());
        }
        return true;
    };
    if (!counts(j["rows"], c.rows)) return bad("rows needs one count per bin of the predicted value");
    if (j["covered"].size() != c.levels.size()) return bad("covered needs one list per level");
    for (const auto& per_level : j["covered"]) {
        c.covered.emplace_back();
        if (!counts(per_level, c.covered.back())) return bad("covered needs one count per bin of the predicted value");
        for (size_t b = 0; b < bins; ++b)
            if (c.covered.back()[b] > c.rows[b]) return bad("more rows covered than in the bin");
    }
    return c;
}

std::vector<CoverageEstimate> coverage_estimate(const CoverageByBin& c, std::span<const uint64_t> observed, uint64_t n,
                                                double epsilon, uint64_t patients, uint64_t seed, int resamples) {
    const size_t bins = c.rows.size();
    std::vector<CoverageEstimate> out;
    if (observed.size() != bins || n == 0) return out;
    const uint64_t all_rows = std::accumulate(c.rows.begin(), c.rows.end(), uint64_t{0});
    // Each bin's training coverage at level l (the overall one where training had no rows).
    auto rates = [&](size_t l) {
        const double overall =
            all_rows ? static_cast<double>(std::accumulate(c.covered[l].begin(), c.covered[l].end(), uint64_t{0})) /
                           static_cast<double>(all_rows)
                     : c.levels[l];
        std::vector<double> r(bins, overall);
        for (size_t b = 0; b < bins; ++b)
            if (c.rows[b]) r[b] = static_cast<double>(c.covered[l][b]) / static_cast<double>(c.rows[b]);
        return r;
    };
    // The share of patients covered, from shares per bin (negative shares allowed) and rates.
    auto expected = [](std::span<const double> shares, std::span<const double> r) {
        double covered = 0, total = 0;
        for (size_t b = 0; b < shares.size(); ++b) {
            covered += shares[b] * r[b];
            total += shares[b];
        }
        return total > 0 ? covered / total : NAN;
    };
    const std::vector<double> point_shares = debiased_shares(observed, n, epsilon);
    const std::vector<double> shares = unclipped_shares(observed, n, epsilon);
    const double count = static_cast<double>(patients);
    for (size_t l = 0; l < c.levels.size() && l < c.covered.size(); ++l) {
        const std::vector<double> r = rates(l);
        std::mt19937_64 rng(seed + l);
        std::vector<double> reps;
        for (int k = 0; k < resamples; ++k) {
            const auto drawn = unclipped_shares(randomized_response_draw(shares, n, epsilon, rng), n, epsilon);
            std::vector<double> rr(bins);
            for (size_t b = 0; b < bins; ++b)
                rr[b] = c.rows[b] ? static_cast<double>(std::binomial_distribution<uint64_t>(c.rows[b], r[b])(rng)) /
                                        static_cast<double>(c.rows[b])
                                  : r[b];
            const double e = expected(drawn, rr);
            // The period's patients, each covered with that chance (the binomial's normal approximation).
            const double q = std::isnan(e) ? 0 : std::clamp(e, 0.0, 1.0);
            const double sd = count > 0 ? std::sqrt(q * (1 - q) / count) : 0;
            reps.push_back(sd > 0 ? e + std::normal_distribution<double>(0, sd)(rng) : e);
        }
        out.push_back({c.levels[l], interval(expected(point_shares, r), reps)});
    }
    return out;
}

}  // namespace ldx
