// shared/metrics/evaluation.cpp — see evaluation.h.
//
// Index of this file
//   [SECTION] Point metrics
//   [SECTION] Calibration
//   [SECTION] At a threshold
//   [SECTION] Report and bootstrap
//   [SECTION] Subgroups
//   [SECTION] Regression
#include "metrics/evaluation.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <string>

#include "predict/predict.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Point metrics
//-----------------------------------------------------------------------------
namespace {
// The rows' order by score (descending when `descending`), as 4-byte row numbers while the rows
// fit them (half the memory of size_t: the card sorts millions of held-out outputs). Ties keep no
// particular order; every caller treats a tie as one step.
template <class Use>
auto with_order(std::span<const double> score, bool descending, Use use) {
    auto run = [&](auto zero) {
        using Index = decltype(zero);
        std::vector<Index> idx(score.size());
        std::iota(idx.begin(), idx.end(), Index{0});
        if (descending) std::sort(idx.begin(), idx.end(), [&](Index a, Index b) { return score[a] > score[b]; });
        else std::sort(idx.begin(), idx.end(), [&](Index a, Index b) { return score[a] < score[b]; });
        return use(std::span<const Index>(idx));
    };
    if (score.size() <= UINT32_MAX) return run(uint32_t{0});
    return run(size_t{0});
}
}  // namespace

double auc_roc(std::span<const double> score, std::span<const int> label, int positive) {
    return with_order(score, false, [&](auto idx) {
        double rank_sum = 0;
        size_t pos = 0;
        for (size_t i = 0; i < idx.size();) {
            size_t j = i;
            while (j < idx.size() && score[idx[j]] == score[idx[i]]) ++j;
            const double avg_rank = (static_cast<double>(i) + static_cast<double>(j) + 1) / 2.0;  // 1-based
            for (size_t t = i; t < j; ++t)
                if (label[idx[t]] == positive) {
                    rank_sum += avg_rank;
                    ++pos;
                }
            i = j;
        }
        const size_t neg = score.size() - pos;
        if (pos == 0 || neg == 0) return static_cast<double>(NAN);
        return (rank_sum - static_cast<double>(pos) * (static_cast<double>(pos) + 1) / 2) /
               (static_cast<double>(pos) * static_cast<double>(neg));
    });
}

double average_precision(std::span<const double> score, std::span<const int> label, int positive) {
    double pos = 0;
    for (int y : label) pos += y == positive;
    if (pos == 0) return NAN;
    return with_order(score, true, [&](auto idx) {
        double tp = 0, fp = 0, recall = 0, ap = 0;
        for (size_t i = 0; i < idx.size();) {
            size_t j = i;
            for (; j < idx.size() && score[idx[j]] == score[idx[i]]; ++j) (label[idx[j]] == positive ? tp : fp) += 1;
            const double r = tp / pos;
            ap += (r - recall) * (tp / (tp + fp));
            recall = r;
            i = j;
        }
        return ap;
    });
}

double brier_score(std::span<const double> p, std::span<const int> labels, int k) {
    if (labels.empty()) return NAN;
    double sum = 0;
    const size_t kk = static_cast<size_t>(k);
    for (size_t i = 0; i < labels.size(); ++i) {
        if (k == 2) {
            const double d = p[i * 2 + 1] - (labels[i] == 1);
            sum += d * d;
            continue;
        }
        for (size_t c = 0; c < kk; ++c) {
            const double d = p[i * kk + c] - (labels[i] == static_cast<int>(c));
            sum += d * d;
        }
    }
    return sum / static_cast<double>(labels.size());
}

double quadratic_weighted_kappa(std::span<const int> truth, std::span<const int> predicted, int k) {
    const size_t n = truth.size();
    std::vector<double> o(static_cast<size_t>(k * k), 0), rt(static_cast<size_t>(k), 0), rp(static_cast<size_t>(k), 0);
    for (size_t i = 0; i < n; ++i) {
        o[static_cast<size_t>(truth[i] * k + predicted[i])] += 1;
        rt[static_cast<size_t>(truth[i])] += 1;
        rp[static_cast<size_t>(predicted[i])] += 1;
    }
    double num = 0, den = 0;
    for (int i = 0; i < k; ++i)
        for (int j = 0; j < k; ++j) {
            const double w = static_cast<double>((i - j) * (i - j)) / ((k - 1) * (k - 1));
            num += w * o[static_cast<size_t>(i * k + j)];
            den += w * rt[static_cast<size_t>(i)] * rp[static_cast<size_t>(j)] / static_cast<double>(n);
        }
    return den > 0 ? 1 - num / den : NAN;
}

//-----------------------------------------------------------------------------
// [SECTION] Calibration
//-----------------------------------------------------------------------------
std::vector<ReliabilityBin> reliability(std::span<const double> confidence, std::span<const int> correct, int bins) {
    std::vector<ReliabilityBin> t(static_cast<size_t>(bins));
    for (int b = 0; b < bins; ++b) {
        t[static_cast<size_t>(b)].lower = static_cast<double>(b) / bins;
        t[static_cast<size_t>(b)].upper = static_cast<double>(b + 1) / bins;
    }
    for (size_t i = 0; i < confidence.size(); ++i) {
        const int b = std::min(bins - 1, static_cast<int>(confidence[i] * bins));
        auto& r = t[static_cast<size_t>(b)];
        r.mean_predicted += confidence[i];
        r.observed += correct[i];
        ++r.count;
    }
    for (auto& r : t)
        if (r.count) {
            r.mean_predicted /= static_cast<double>(r.count);
            r.observed /= static_cast<double>(r.count);
        }
    return t;
}

double expected_calibration_error(const std::vector<ReliabilityBin>& table) {
    double n = 0, e = 0;
    for (const auto& r : table) n += static_cast<double>(r.count);
    for (const auto& r : table) e += static_cast<double>(r.count) / n * std::abs(r.mean_predicted - r.observed);
    return e;
}

namespace {
double logit_clipped(double p) {
    const double q = std::clamp(p, 1e-15, 1 - 1e-15);
    return std::log(q / (1 - q));
}
}  // namespace

CalibrationFit calibration_fit(std::span<const double> p, std::span<const int> positive) {
    const size_t n = p.size();
    // The logit of each row is computed again in each step rather than kept (8 bytes a row).
    // Intercept with the slope fixed at 1 (one-parameter Newton), then intercept and slope together.
    auto fit = [&](bool free_slope) {
        double a = 0, b = 1;
        for (int it = 0; it < 100; ++it) {
            double ga = 0, gb = 0, haa = 0, hab = 0, hbb = 0;
            for (size_t i = 0; i < n; ++i) {
                const double x = logit_clipped(p[i]);
                const double m = 1 / (1 + std::exp(-(a + b * x))), r = positive[i] - m, w = m * (1 - m);
                ga += r;
                gb += r * x;
                haa += w;
                hab += w * x;
                hbb += w * x * x;
            }
            double da, db = 0;
            if (free_slope) {
                const double det = haa * hbb - hab * hab;
                if (!(det > 0)) return CalibrationFit{NAN, NAN};
                da = (hbb * ga - hab * gb) / det;
                db = (haa * gb - hab * ga) / det;
            } else {
                if (!(haa > 0)) return CalibrationFit{NAN, NAN};
                da = ga / haa;
            }
            a += da;
            b += db;
            if (!std::isfinite(a) || !std::isfinite(b) || std::abs(a) > 1e6 || std::abs(b) > 1e6)
                return CalibrationFit{NAN, NAN};
            if (std::abs(da) < 1e-13 * (1 + std::abs(a)) && std::abs(db) < 1e-13 * (1 + std::abs(b)))
                return CalibrationFit{a, b};
        }
        return CalibrationFit{NAN, NAN};
    };
    return CalibrationFit{fit(false).intercept, fit(true).slope};
}

//-----------------------------------------------------------------------------
// [SECTION] At a threshold
//-----------------------------------------------------------------------------
namespace {
double ratio(double a, double b) { return b > 0 ? a / b : NAN; }
}  // namespace

double Confusion::sensitivity() const { return ratio(tp, tp + fn); }
double Confusion::specificity() const { return ratio(tn, tn + fp); }
double Confusion::ppv() const { return ratio(tp, tp + fp); }
double Confusion::npv() const { return ratio(tn, tn + fn); }
double Confusion::alerts_per_100() const { return ratio(100 * (tp + fp), n()); }

Confusion confusion_at(std::span<const double> score, std::span<const int> positive, double threshold) {
    Confusion c;
    for (size_t i = 0; i < score.size(); ++i) {
        const bool alert = score[i] >= threshold, y = positive[i] != 0;
        (y ? (alert ? c.tp : c.fn) : (alert ? c.fp : c.tn)) += 1;
    }
    return c;
}

namespace {
// Every distinct score as a threshold, highest first, with the confusion counts of alerting at
// it: visit(threshold, counts) for each, until it returns false. Nothing is kept per threshold.
template <class Visit>
void threshold_sweep(std::span<const double> score, std::span<const int> positive, Visit visit) {
    Confusion c;
    for (int y : positive) (y ? c.fn : c.tn) += 1;
    with_order(score, true, [&](auto idx) {
        for (size_t i = 0; i < idx.size();) {
            size_t j = i;
            for (; j < idx.size() && score[idx[j]] == score[idx[i]]; ++j) {
                if (positive[idx[j]]) {
                    c.tp += 1;
                    c.fn -= 1;
                } else {
                    c.fp += 1;
                    c.tn -= 1;
                }
            }
            if (!visit(score[idx[i]], c)) return 0;
            i = j;
        }
        return 0;
    });
}

bool parse_fraction(std::string_view text, double& out) {
    if (text.empty() || text.size() > 32) return false;
    const std::string s(text);
    char* end = nullptr;
    out = std::strtod(s.c_str(), &end);
    return end == s.c_str() + s.size() && out > 0 && out < 1;
}
}  // namespace

Result<double> threshold_for(std::string_view policy, std::span<const double> score, std::span<const int> positive) {
    const std::string usage = "the threshold policy '" + std::string(policy) +
                              "' is not one of: youden, sensitivity>=X, specificity>=X, ppv>=X, npv>=X, fixed:X "
                              "(X between 0 and 1)";
    double x = 0;
    if (parse_fraction(policy, x)) return x;
    if (policy.starts_with("fixed:")) {
        if (parse_fraction(policy.substr(6), x)) return x;
        return problem("bad_policy", usage, "threshold");
    }
    if (score.empty())
        return problem("unreachable", "there are no scored rows to choose a threshold from", "threshold");
    if (policy == "youden") {
        double best = -INFINITY, t = NAN;
        threshold_sweep(score, positive, [&](double s, const Confusion& c) {
            if (std::isnan(t)) t = s;  // the highest score, when no threshold improves on -infinity
            if (const double j = c.sensitivity() + c.specificity() - 1; j > best) {
                best = j;
                t = s;
            }
            return true;
        });
        return t;
    }
    const size_t op = policy.find(">=");
    if (op == std::string_view::npos || !parse_fraction(policy.substr(op + 2), x))
        return problem("bad_policy", usage, "threshold");
    const std::string_view what = policy.substr(0, op);
    // Sensitivity and NPV fall as the threshold rises: the highest threshold that still meets the
    // target (the first met, highest first). Specificity and PPV rise with it: the lowest threshold
    // that meets it (the last met).
    auto meets = [&](const Confusion& c) {
        if (what == "sensitivity") return c.sensitivity() >= x;
        if (what == "npv") return c.npv() >= x;
        if (what == "specificity") return c.specificity() >= x;
        return c.ppv() >= x;
    };
    const bool first = what == "sensitivity" || what == "npv";
    if (!first && what != "specificity" && what != "ppv") return problem("bad_policy", usage, "threshold");
    std::optional<double> found;
    threshold_sweep(score, positive, [&](double s, const Confusion& c) {
        if (meets(c)) found = s;
        return !(first && found);
    });
    if (found) return *found;
    return problem("unreachable", "no threshold reaches " + std::string(policy) + " on these rows", "threshold");
}

std::string threshold_policy_words(std::string_view policy) {
    double x = 0;
    auto percent = [](double v) {
        char b[32];
        std::snprintf(b, sizeof b, "%g%%", std::round(v * 1000) / 10);
        return std::string(b);
    };
    if (policy == "youden") return "best sensitivity + specificity";
    if (parse_fraction(policy, x)) return "a fixed " + percent(x);
    if (policy.starts_with("fixed:") && parse_fraction(policy.substr(6), x)) return "a fixed " + percent(x);
    const size_t op = policy.find(">=");
    if (op != std::string_view::npos && parse_fraction(policy.substr(op + 2), x)) {
        std::string what(policy.substr(0, op));
        if (what == "ppv" || what == "npv")
            for (char& c : what) c = static_cast<char>(c - 'a' + 'A');
        return what + " at least " + percent(x);
    }
    return std::string(policy);
}

std::vector<OperatingPoint> operating_points(std::span<const double> score, std::span<const int> positive) {
    std::vector<OperatingPoint> out;
    for (const char* policy : {"youden", "sensitivity>=0.90", "sensitivity>=0.95", "specificity>=0.90",
                               "specificity>=0.95", "ppv>=0.50", "npv>=0.95", "fixed:0.5"}) {
        auto t = threshold_for(policy, score, positive);
        if (t) out.push_back({policy, *t, confusion_at(score, positive, *t)});
    }
    return out;
}

namespace {
Json number_or_null(double x, bool round = true) {
    if (std::isnan(x)) return Json(nullptr);
    return round ? Json(std::round(x * 1e6) / 1e6) : Json(x);
}
}  // namespace

Json operating_points_json(const std::vector<OperatingPoint>& points) {
    Json out = Json::array();
    for (const auto& p : points)
        out.push_back({{"policy", p.policy},
                       {"threshold", number_or_null(p.threshold)},
                       {"sensitivity", number_or_null(p.at.sensitivity())},
                       {"specificity", number_or_null(p.at.specificity())},
                       {"ppv", number_or_null(p.at.ppv())},
                       {"npv", number_or_null(p.at.npv())},
                       {"alerts_per_100", number_or_null(p.at.alerts_per_100())}});
    return out;
}

Json decision_curve(std::span<const double> score, std::span<const int> positive) {
    const double n = static_cast<double>(score.size());
    double prevalence = 0;
    for (int y : positive) prevalence += (y != 0) / n;
    Json t = Json::array(), model = Json::array(), all = Json::array();
    for (int i = 1; i <= 99; ++i) {
        const double pt = i / 100.0, w = pt / (1 - pt);
        const Confusion c = confusion_at(score, positive, pt);
        t.push_back(pt);
        model.push_back(number_or_null(c.tp / n - c.fp / n * w));
        all.push_back(number_or_null(prevalence - (1 - prevalence) * w));
    }
    return Json{{"threshold", t}, {"model", model}, {"treat_all", all}, {"treat_none", 0.0}};
}

//-----------------------------------------------------------------------------
// [SECTION] Report and bootstrap
//-----------------------------------------------------------------------------
std::vector<std::pair<std::string, double>> evaluation_figures(const Schema& s, std::span<const int> y,
                                                               std::span<const double> p) {
    const int k = s.num_classes();
    const size_t n = y.size(), kk = static_cast<size_t>(k);
    std::vector<int> pred(n);
    for (size_t i = 0; i < n; ++i) pred[i] = decide(s, p.subspan(i * kk, kk));
    std::vector<std::pair<std::string, double>> f;
    size_t correct = 0, within_one = 0;
    for (size_t i = 0; i < n; ++i) {
        correct += pred[i] == y[i];
        within_one += std::abs(pred[i] - y[i]) <= 1;
    }
    f.push_back({"accuracy", static_cast<double>(correct) / static_cast<double>(n)});
    double macro_auc = 0, macro_ap = 0, macro_f1 = 0, macro_sens = 0, macro_spec = 0;
    std::vector<double> score(n);
    for (int c = 0; c < k; ++c) {
        for (size_t i = 0; i < n; ++i) score[i] = p[i * kk + static_cast<size_t>(c)];
        Confusion m;
        for (size_t i = 0; i < n; ++i) {
            const bool t = y[i] == c, q = pred[i] == c;
            (t ? (q ? m.tp : m.fn) : (q ? m.fp : m.tn)) += 1;
        }
        const std::string name = "class." + s.outputs.classes[static_cast<size_t>(c)].name + ".";
        const double auc = auc_roc(score, y, c), ap = average_precision(score, y, c);
        const double sens = m.sensitivity(), spec = m.specificity();
        const double prec = std::isnan(m.ppv()) ? 0.0 : m.ppv();
        const double f1 = prec + (std::isnan(sens) ? 0 : sens) > 0 ? 2 * prec * sens / (prec + sens) : 0.0;
        f.push_back({name + "auc_roc", auc});
        f.push_back({name + "pr_auc", ap});
        f.push_back({name + "sensitivity", sens});
        f.push_back({name + "specificity", spec});
        f.push_back({name + "precision", prec});
        f.push_back({name + "npv", m.npv()});
        f.push_back({name + "f1", f1});
        macro_auc += auc / k;
        macro_ap += ap / k;
        macro_f1 += f1 / k;
        macro_sens += sens / k;
        macro_spec += spec / k;
    }
    f.push_back({"macro.auc_roc", macro_auc});
    f.push_back({"macro.pr_auc", macro_ap});
    f.push_back({"macro.f1", macro_f1});
    f.push_back({"macro.sensitivity", macro_sens});
    f.push_back({"macro.specificity", macro_spec});
    f.push_back({"brier", brier_score(p, y, k)});
    // Calibration of P(positive) (binary) or of the predicted class's probability, in the scores'
    // own vector (no second copy of a number a row).
    std::vector<double>& conf = score;
    std::vector<int> hit(n);
    for (size_t i = 0; i < n; ++i) {
        const size_t c = s.outputs.kind == TaskKind::binary ? 1 : static_cast<size_t>(pred[i]);
        conf[i] = p[i * kk + c];
        hit[i] = y[i] == static_cast<int>(c);
    }
    f.push_back({"calibration.expected_calibration_error", expected_calibration_error(reliability(conf, hit))});
    if (s.outputs.kind == TaskKind::binary) {
        const CalibrationFit fit = calibration_fit(conf, hit);
        f.push_back({"calibration.intercept", fit.intercept});
        f.push_back({"calibration.slope", fit.slope});
        f.push_back({"alerts_per_100", confusion_at(conf, hit, s.outputs.threshold).alerts_per_100()});
    }
    if (s.outputs.kind == TaskKind::ordinal) {
        f.push_back({"ordinal.quadratic_weighted_kappa", quadratic_weighted_kappa(y, pred, k)});
        f.push_back({"ordinal.within_one_accuracy", static_cast<double>(within_one) / static_cast<double>(n)});
    }
    return f;
}

namespace {
double percentile(std::vector<double> v, double q) {
    v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
    if (v.empty()) return NAN;
    std::sort(v.begin(), v.end());
    const double pos = q * static_cast<double>(v.size() - 1);
    const size_t lo = static_cast<size_t>(std::floor(pos)), hi = static_cast<size_t>(std::ceil(pos));
    return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

// Sets j["a"]["b"]["c"] from the dotted name "a.b.c".
void put_dotted(Json& j, const std::string& dotted, Json v) {
    Json* at = &j;
    size_t start = 0;
    for (size_t dot; (dot = dotted.find('.', start)) != std::string::npos; start = dot + 1)
        at = &(*at)[dotted.substr(start, dot - start)];
    (*at)[dotted.substr(start)] = std::move(v);
}

// The 95% interval of a figure from its replicates: their 2.5th and 97.5th percentiles; when
// each resample drew fewer rows than there are (shrink = sqrt(drawn / rows) < 1), the percentiles'
// distances from the point figure scaled by shrink (the m-out-of-n bootstrap).
Json interval(double point, const std::vector<double>& reps, double shrink, bool round) {
    double lo = percentile(reps, 0.025), hi = percentile(reps, 0.975);
    if (shrink < 1) {
        lo = point + shrink * (lo - point);
        hi = point + shrink * (hi - point);
    }
    return {number_or_null(lo, round), number_or_null(hi, round)};
}

// {"a": {"b": {"value", "ci95": [lo, hi]}}} from point figures and their bootstrap replicates.
Json figures_with_intervals(const std::vector<std::pair<std::string, double>>& point,
                            const std::vector<std::vector<double>>& reps, double shrink, bool round) {
    Json out = Json::object();
    for (size_t m = 0; m < point.size(); ++m)
        put_dotted(out, point[m].first,
                   Json{{"value", number_or_null(point[m].second, round)},
                        {"ci95", interval(point[m].second, reps[m], shrink, round)}});
    return out;
}

// {"figure": {"a", "b", "difference", "ci95"}} from two models' figures (the same names in the same
// order: figures of one task kind) and the bootstrap replicates of their differences.
Json paired_differences(const std::vector<std::pair<std::string, double>>& fa,
                        const std::vector<std::pair<std::string, double>>& fb,
                        const std::vector<std::vector<double>>& diffs, double shrink, bool round) {
    Json out = Json::object();
    for (size_t m = 0; m < fa.size() && m < fb.size(); ++m) {
        if (fa[m].first != fb[m].first) continue;
        out[fa[m].first] = {{"a", number_or_null(fa[m].second, round)},
                            {"b", number_or_null(fb[m].second, round)},
                            {"difference", number_or_null(fb[m].second - fa[m].second, round)},
                            {"ci95", interval(fb[m].second - fa[m].second, diffs[m], shrink, round)}};
    }
    return out;
}

// Calls each(labels, probabilities...) for `resamples` bootstrap resamples of the rows (n drawn
// with replacement; at most max_rows when there are more, the m-out-of-n bootstrap), the same rows
// for every probability set given. Returns the intervals' shrink: sqrt(drawn / n), 1 when every
// resample drew n rows.
template <class Each>
double bootstrap(std::span<const int> labels, std::span<const std::span<const double>> probs, size_t k, int resamples,
                 uint64_t seed, size_t max_rows, Each each) {
    const size_t n = labels.size();
    if (n == 0 || resamples <= 0) return 1;
    const size_t drawn = std::min(n, std::max<size_t>(1, max_rows));
    std::mt19937_64 rng(seed);
    // An unbiased draw of 0..n-1 written out (std::uniform_int_distribution differs between the
    // native and the wasm standard library), so the CLI and the browser give the same intervals.
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    auto pick = [&](std::mt19937_64& g) {
        uint64_t x;
        do x = g();
        while (x >= limit);
        return static_cast<size_t>(x % n);
    };
    std::vector<int> by(drawn);
    std::vector<std::vector<double>> bp(probs.size(), std::vector<double>(drawn * k));
    for (int b = 0; b < resamples; ++b) {
        for (size_t i = 0; i < drawn; ++i) {
            const size_t r = pick(rng);
            by[i] = labels[r];
            for (size_t m = 0; m < probs.size(); ++m)
                std::copy_n(probs[m].begin() + static_cast<long>(r * k), k, bp[m].begin() + static_cast<long>(i * k));
        }
        each(std::span<const int>(by), bp);
    }
    return drawn < n ? std::sqrt(static_cast<double>(drawn) / static_cast<double>(n)) : 1.0;
}
}  // namespace

Json roc_curve(std::span<const double> score, std::span<const int> positive, size_t max_points) {
    size_t pos = 0;
    for (int p : positive) pos += p != 0;
    const size_t neg = positive.size() - pos;
    Json points = Json::array({Json::array({0.0, 0.0})});
    if (pos == 0 || neg == 0) return points;
    with_order(score, true, [&](auto order) {
        // One point per distinct score (ties move together), as (false positive rate, true positive
        // rate), every step-th of them kept: counted first, so that no row's point is held.
        auto last_of_tie = [&](size_t i) { return i + 1 == order.size() || score[order[i + 1]] != score[order[i]]; };
        size_t distinct = 0;
        for (size_t i = 0; i < order.size(); ++i) distinct += last_of_tie(i);
        const size_t gaps = std::max<size_t>(1, max_points - 2),
                     step = std::max<size_t>(1, (distinct + gaps - 1) / gaps);
        size_t tp = 0, fp = 0, point = 0;
        for (size_t i = 0; i < order.size(); ++i) {
            (positive[order[i]] ? tp : fp) += 1;
            if (!last_of_tie(i)) continue;
            if (point++ % step == 0)
                points.push_back({static_cast<double>(fp) / static_cast<double>(neg),
                                  static_cast<double>(tp) / static_cast<double>(pos)});
        }
        return 0;
    });
    if (points.back() != Json::array({1.0, 1.0})) points.push_back({1.0, 1.0});
    return points;
}

size_t bootstrap_rows_drawn(size_t rows, const EvalInput& in) {
    return in.bootstrap > 0 ? std::min(rows, std::max<size_t>(1, in.bootstrap_rows)) : rows;
}

Json evaluate(const EvalInput& in) {
    if (in.schema->outputs.regression()) return evaluate_regression(in);
    const Schema& s = *in.schema;
    const size_t n = in.labels.size(), k = static_cast<size_t>(s.num_classes());
    const auto point = evaluation_figures(s, in.labels, in.probabilities);

    std::vector<std::vector<double>> reps(point.size());
    const std::span<const double> sets[] = {in.probabilities};
    const double shrink = bootstrap(in.labels, sets, k, in.bootstrap, in.seed, in.bootstrap_rows,
                                    [&](std::span<const int> by, const auto& bp) {
                                        const auto f = evaluation_figures(s, by, bp[0]);
                                        for (size_t m = 0; m < f.size(); ++m) reps[m].push_back(f[m].second);
                                    });
    Json out = figures_with_intervals(point, reps, shrink, in.round);
    // Confusion matrix at the bundle's decision rule: rows are the truth, columns the decision.
    Json matrix = Json::array();
    std::vector<std::vector<size_t>> counts(k, std::vector<size_t>(k, 0));
    for (size_t i = 0; i < n; ++i)
        ++counts[static_cast<size_t>(in.labels[i])]
                [static_cast<size_t>(decide(s, std::span<const double>(in.probabilities).subspan(i * k, k)))];
    for (const auto& row : counts) matrix.push_back(row);
    Json names = Json::array();
    for (const auto& c : s.outputs.classes) names.push_back(c.name);
    out["confusion"] = {
        {"classes", names}, {"rows_are", "true class"}, {"columns_are", "decided class"}, {"counts", matrix}};
    for (size_t c = 0; c < k; ++c) {
        size_t support = 0;
        for (int y : in.labels) support += y == static_cast<int>(c);
        out["class"][s.outputs.classes[c].name]["support"] = support;
    }

    // Reliability table of P(positive) (binary) or of the predicted class's probability.
    std::vector<double> conf(n);
    std::vector<int> hit(n);
    for (size_t i = 0; i < n; ++i) {
        const auto p = std::span<const double>(in.probabilities).subspan(i * k, k);
        const size_t c = s.outputs.kind == TaskKind::binary ? 1 : static_cast<size_t>(decide(s, p));
        conf[i] = p[c];
        hit[i] = in.labels[i] == static_cast<int>(c);
    }
    Json rel = Json::array();
    for (const auto& r : reliability(conf, hit))
        rel.push_back({{"bin", {r.lower, r.upper}},
                       {"count", r.count},
                       {"mean_predicted", number_or_null(r.count ? r.mean_predicted : NAN, in.round)},
                       {"observed", number_or_null(r.count ? r.observed : NAN, in.round)}});
    out["calibration"]["of"] =
        s.outputs.kind == TaskKind::binary ? "P(" + s.outputs.classes[1].name + ")" : "P(predicted class)";
    out["calibration"]["reliability"] = rel;
    if (s.outputs.kind == TaskKind::binary) {
        out["threshold"] = s.outputs.threshold;
        out["operating_points"] = operating_points_json(operating_points(conf, hit));
        out["decision_curve"] = decision_curve(conf, hit);
    }
    // ROC curve per class (one against the rest), for the model card's plot: at most 101 points.
    // Binary: the positive class's scores and outcomes are `conf` and `hit` already.
    if (s.outputs.kind == TaskKind::binary) out["class"][s.outputs.classes[1].name]["roc"] = roc_curve(conf, hit, 101);
    conf = {};
    hit = {};
    for (size_t c = 0; c < k; ++c) {
        if (s.outputs.kind == TaskKind::binary) break;
        std::vector<double> score(n);
        std::vector<int> positive(n);
        for (size_t i = 0; i < n; ++i) {
            score[i] = in.probabilities[i * k + c];
            positive[i] = in.labels[i] == static_cast<int>(c);
        }
        out["class"][s.outputs.classes[c].name]["roc"] = roc_curve(score, positive, 101);
    }
    out["rows"] = n;
    out["bootstrap_resamples"] = in.bootstrap;
    if (const size_t drawn = bootstrap_rows_drawn(n, in); drawn < n) out["bootstrap_rows"] = drawn;
    return out;
}

namespace {
Json compare_regression(const EvalInput& a, const EvalInput& b);
// compare's answer: the figures, the rows, the resamples, and the rows each resample drew when
// fewer than the rows (the m-out-of-n bootstrap), as evaluate reports them.
Json compared(Json figures, size_t rows, const EvalInput& a) {
    Json out{{"figures", std::move(figures)}, {"rows", rows}, {"bootstrap_resamples", a.bootstrap}};
    if (const size_t drawn = bootstrap_rows_drawn(rows, a); drawn < rows) out["bootstrap_rows"] = drawn;
    return out;
}
}  // namespace

Json compare(const EvalInput& a, const EvalInput& b) {
    if (a.schema->outputs.regression()) return compare_regression(a, b);
    const size_t k = static_cast<size_t>(a.schema->num_classes());
    const auto fa = evaluation_figures(*a.schema, a.labels, a.probabilities);
    const auto fb = evaluation_figures(*b.schema, a.labels, b.probabilities);
    std::vector<std::vector<double>> diffs(fa.size());
    const std::span<const double> sets[] = {a.probabilities, b.probabilities};
    const double shrink = bootstrap(
        a.labels, sets, k, a.bootstrap, a.seed, a.bootstrap_rows, [&](std::span<const int> by, const auto& bp) {
            const auto ra = evaluation_figures(*a.schema, by, bp[0]), rb = evaluation_figures(*b.schema, by, bp[1]);
            for (size_t m = 0; m < ra.size() && m < rb.size(); ++m) diffs[m].push_back(rb[m].second - ra[m].second);
        });
    return compared(paired_differences(fa, fb, diffs, shrink, a.round), a.labels.size(), a);
}

//-----------------------------------------------------------------------------
// [SECTION] Subgroups
//-----------------------------------------------------------------------------
std::vector<Subgroup> subgroups_of(const Schema& s, std::span<const double> values) {
    std::vector<Subgroup> out;
    const size_t nf = s.fields.size(), n = nf ? values.size() / nf : 0;
    for (size_t f = 0; f < nf; ++f) {
        const Field& fd = s.fields[f];
        std::vector<Subgroup> groups;
        if (fd.type == FieldType::category) {
            for (size_t l = 0; l < fd.levels.size(); ++l) groups.push_back({fd.label + ": " + fd.levels[l].label, {}});
            for (size_t i = 0; i < n; ++i)
                if (!std::isnan(values[i * nf + f])) groups[static_cast<size_t>(values[i * nf + f])].rows.push_back(i);
        } else if (fd.name == "age") {
            std::vector<double> a;
            for (size_t i = 0; i < n; ++i)
                if (!std::isnan(values[i * nf + f])) a.push_back(values[i * nf + f]);
            std::sort(a.begin(), a.end());
            if (a.empty()) continue;
            // The median, rounded to a whole number so the cut reads as a clinician would write it.
            const double cut = std::round(a[a.size() / 2]);
            char lo[128], hi[128];
            const std::string unit = unit_display(fd.unit);
            std::snprintf(lo, sizeof lo, "%s under %.0f %s", fd.label.c_str(), cut, unit.c_str());
            std::snprintf(hi, sizeof hi, "%s %.0f %s or over", fd.label.c_str(), cut, unit.c_str());
            groups = {{lo, {}}, {hi, {}}};
            for (size_t i = 0; i < n; ++i)
                if (!std::isnan(values[i * nf + f])) groups[values[i * nf + f] < cut ? 0 : 1].rows.push_back(i);
        }
        for (auto& g : groups) out.push_back(std::move(g));
    }
    return out;
}

Json evaluate_subgroups(const Schema& s, std::span<const int> labels, std::span<const double> p,
                        std::span<const double> values) {
    Json out = Json::array();
    const size_t k = static_cast<size_t>(s.num_classes());
    for (const Subgroup& g : subgroups_of(s, values)) {
        if (g.rows.size() < 10) continue;
        std::vector<int> y;
        std::vector<double> q;
        for (size_t i : g.rows) {
            y.push_back(labels[i]);
            q.insert(q.end(), p.begin() + static_cast<long>(i * k), p.begin() + static_cast<long>((i + 1) * k));
        }
        const auto fig = evaluation_figures(s, y, q);
        Json row{{"group", g.name}, {"rows", g.rows.size()}};
        for (const auto& [m, v] : fig)
            if (m == "accuracy" || m == "macro.auc_roc" ||
                (k == 2 && m == "class." + s.outputs.classes[1].name + ".auc_roc"))
                row[m] = number_or_null(v);
        out.push_back(row);
    }
    return out;
}

Json evaluate_periods(const Schema& s, std::span<const int> labels, std::span<const double> outputs,
                      std::span<const double> observed, std::span<const std::string> periods) {
    std::map<std::string, std::vector<size_t>> rows;
    for (size_t i = 0; i < periods.size(); ++i) rows[periods[i]].push_back(i);
    std::vector<std::string> names;
    for (const auto& [name, r] : rows) names.push_back(name);
    // "7" before "10"; dates' names ("2019-03") sort as text.
    std::stable_sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
        char *ea = nullptr, *eb = nullptr;
        const double x = std::strtod(a.c_str(), &ea), y = std::strtod(b.c_str(), &eb);
        if (*ea == 0 && *eb == 0 && !a.empty() && !b.empty()) return x < y;
        return a < b;
    });
    const bool regression = s.outputs.regression();
    const size_t k = regression ? 1 : static_cast<size_t>(s.num_classes());
    Json out = Json::array();
    for (const std::string& name : names) {
        const auto& r = rows[name];
        Json row{{"period", name}, {"rows", r.size()}};
        std::vector<double> q;
        for (size_t i : r)
            q.insert(q.end(), outputs.begin() + static_cast<long>(i * k),
                     outputs.begin() + static_cast<long>((i + 1) * k));
        if (regression) {
            std::vector<double> y;
            for (size_t i : r) y.push_back(observed[i]);
            for (const auto& [m, v] : regression_figures(y, q))
                if (m == "mae" || m == "rmse" || m == "r2") row[m] = number_or_null(v);
            row["mean_observed"] =
                number_or_null(std::accumulate(y.begin(), y.end(), 0.0) / static_cast<double>(r.size()));
            row["mean_predicted"] =
                number_or_null(std::accumulate(q.begin(), q.end(), 0.0) / static_cast<double>(r.size()));
        } else {
            std::vector<int> y;
            for (size_t i : r) y.push_back(labels[i]);
            for (const auto& [m, v] : evaluation_figures(s, y, q))
                if (m == "accuracy" || m == "macro.auc_roc" ||
                    (k == 2 && m == "class." + s.outputs.classes[1].name + ".auc_roc"))
                    row[m] = number_or_null(v);
            if (k == 2) {
                double pos = 0, mean = 0;
                for (size_t j = 0; j < r.size(); ++j) {
                    pos += y[j] == 1;
                    mean += q[j * 2 + 1];
                }
                row["observed_rate"] = number_or_null(pos / static_cast<double>(r.size()));
                row["mean_predicted"] = number_or_null(mean / static_cast<double>(r.size()));
            }
        }
        out.push_back(row);
    }
    return out;
}

//-----------------------------------------------------------------------------
// [SECTION] Regression
//-----------------------------------------------------------------------------
std::vector<std::pair<std::string, double>> regression_figures(std::span<const double> y, std::span<const double> q) {
    const size_t n = y.size();
    double abs_sum = 0, sq_sum = 0, mean_y = 0, mean_q = 0;
    for (size_t i = 0; i < n; ++i) {
        abs_sum += std::abs(y[i] - q[i]);
        sq_sum += (y[i] - q[i]) * (y[i] - q[i]);
        mean_y += y[i];
        mean_q += q[i];
    }
    const double rows = static_cast<double>(n);
    mean_y /= rows;
    mean_q /= rows;
    double tss = 0, sqq = 0, sqy = 0;
    for (size_t i = 0; i < n; ++i) {
        tss += (y[i] - mean_y) * (y[i] - mean_y);
        sqq += (q[i] - mean_q) * (q[i] - mean_q);
        sqy += (q[i] - mean_q) * (y[i] - mean_y);
    }
    return {{"mae", abs_sum / rows},
            {"rmse", std::sqrt(sq_sum / rows)},
            {"r2", tss > 0 ? 1 - sq_sum / tss : NAN},
            {"calibration.in_the_large", mean_y - mean_q},
            {"calibration.slope", sqq > 0 ? sqy / sqq : NAN}};
}

namespace {
// Both value sets resampled by the same bootstrap draws as the class tasks (labels unused).
template <class Each>
double bootstrap_values(std::span<const std::span<const double>> sets, int resamples, uint64_t seed, size_t max_rows,
                        Each each) {
    const std::vector<int> none(sets[0].size(), 0);
    return bootstrap(none, sets, 1, resamples, seed, max_rows, [&](std::span<const int>, const auto& bv) { each(bv); });
}
}  // namespace

Json evaluate_regression(const EvalInput& in) {
    const auto& y = in.observed;
    const auto& q = in.probabilities;
    const auto point = regression_figures(y, q);
    std::vector<std::vector<double>> reps(point.size());
    const std::span<const double> sets[] = {y, q};
    const double shrink = bootstrap_values(sets, in.bootstrap, in.seed, in.bootstrap_rows, [&](const auto& bv) {
        const auto f = regression_figures(bv[0], bv[1]);
        for (size_t m = 0; m < f.size(); ++m) reps[m].push_back(f[m].second);
    });
    Json out = figures_with_intervals(point, reps, shrink, in.round);
    // Calibration by decile of the predicted value.
    const size_t n = y.size();
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return q[a] < q[b]; });
    Json deciles = Json::array();
    for (size_t d = 0; d < 10 && n >= 10; ++d) {
        const size_t from = d * n / 10, to = (d + 1) * n / 10;
        double mp = 0, mo = 0;
        for (size_t i = from; i < to; ++i) {
            mp += q[order[i]];
            mo += y[order[i]];
        }
        const double c = static_cast<double>(to - from);
        deciles.push_back({{"mean_predicted", number_or_null(mp / c, in.round)},
                           {"mean_observed", number_or_null(mo / c, in.round)},
                           {"count", to - from}});
    }
    out["calibration"]["deciles"] = deciles;
    out["rows"] = n;
    out["bootstrap_resamples"] = in.bootstrap;
    if (const size_t drawn = bootstrap_rows_drawn(n, in); drawn < n) out["bootstrap_rows"] = drawn;
    out["unit"] = in.schema->outputs.unit;
    return out;
}

namespace {
Json compare_regression(const EvalInput& a, const EvalInput& b) {
    const auto fa = regression_figures(a.observed, a.probabilities),
               fb = regression_figures(a.observed, b.probabilities);
    std::vector<std::vector<double>> diffs(fa.size());
    const std::span<const double> sets[] = {a.observed, a.probabilities, b.probabilities};
    const double shrink = bootstrap_values(sets, a.bootstrap, a.seed, a.bootstrap_rows, [&](const auto& bv) {
        const auto ra = regression_figures(bv[0], bv[1]), rb = regression_figures(bv[0], bv[2]);
        for (size_t m = 0; m < ra.size(); ++m) diffs[m].push_back(rb[m].second - ra[m].second);
    });
    return compared(paired_differences(fa, fb, diffs, shrink, a.round), a.observed.size(), a);
}
}  // namespace

Json evaluate_regression_subgroups(const Schema& s, std::span<const double> observed, std::span<const double> predicted,
                                   std::span<const double> values) {
    Json out = Json::array();
    for (const Subgroup& g : subgroups_of(s, values)) {
        if (g.rows.size() < 10) continue;
        std::vector<double> y, q;
        for (size_t i : g.rows) {
            y.push_back(observed[i]);
            q.push_back(predicted[i]);
        }
        Json row{{"group", g.name}, {"rows", g.rows.size()}};
        for (const auto& [m, v] : regression_figures(y, q))
            if (m == "mae" || m == "rmse" || m == "r2") row[m] = number_or_null(v);
        out.push_back(row);
    }
    return out;
}

}  // namespace ldx
