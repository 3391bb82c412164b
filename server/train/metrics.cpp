// server/train/metrics.cpp — see metrics.h.
//
// Index of this file
//   [SECTION] Point metrics
//   [SECTION] Calibration
//   [SECTION] Report and bootstrap
//   [SECTION] Subgroups
#include "train/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "predict/predict.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Point metrics
//-----------------------------------------------------------------------------
double auc_roc(std::span<const double> score, std::span<const int> label, int positive) {
    std::vector<size_t> idx(score.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return score[a] < score[b]; });
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
    if (pos == 0 || neg == 0) return NAN;
    return (rank_sum - static_cast<double>(pos) * (static_cast<double>(pos) + 1) / 2) /
           (static_cast<double>(pos) * static_cast<double>(neg));
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

//-----------------------------------------------------------------------------
// [SECTION] Report and bootstrap
//-----------------------------------------------------------------------------
namespace {
// Every figure of one evaluation, flat, so bootstrap replicates can be summarised uniformly.
std::vector<std::pair<std::string, double>> figures(const Schema& s, std::span<const int> y,
                                                    std::span<const double> p) {
    const int k = s.num_classes();
    const size_t n = y.size();
    std::vector<int> pred(n);
    for (size_t i = 0; i < n; ++i) pred[i] = decide(s, p.subspan(i * static_cast<size_t>(k), static_cast<size_t>(k)));
    std::vector<std::pair<std::string, double>> f;
    size_t correct = 0, within_one = 0;
    for (size_t i = 0; i < n; ++i) {
        correct += pred[i] == y[i];
        within_one += std::abs(pred[i] - y[i]) <= 1;
    }
    f.push_back({"accuracy", static_cast<double>(correct) / static_cast<double>(n)});
    double macro_auc = 0, macro_f1 = 0, macro_sens = 0, macro_spec = 0;
    std::vector<double> score(n);
    for (int c = 0; c < k; ++c) {
        for (size_t i = 0; i < n; ++i) score[i] = p[i * static_cast<size_t>(k) + static_cast<size_t>(c)];
        double tp = 0, fp = 0, fn = 0, tn = 0;
        for (size_t i = 0; i < n; ++i) {
            const bool t = y[i] == c, q = pred[i] == c;
            tp += t && q;
            fp += !t && q;
            fn += t && !q;
            tn += !t && !q;
        }
        const std::string name = s.outputs.classes[static_cast<size_t>(c)].name;
        const double auc = auc_roc(score, y, c);
        const double sens = tp + fn > 0 ? tp / (tp + fn) : NAN, spec = tn + fp > 0 ? tn / (tn + fp) : NAN;
        const double prec = tp + fp > 0 ? tp / (tp + fp) : 0.0;
        const double f1 = prec + (std::isnan(sens) ? 0 : sens) > 0 ? 2 * prec * sens / (prec + sens) : 0.0;
        f.push_back({"class." + name + ".auc_roc", auc});
        f.push_back({"class." + name + ".sensitivity", sens});
        f.push_back({"class." + name + ".specificity", spec});
        f.push_back({"class." + name + ".precision", prec});
        f.push_back({"class." + name + ".f1", f1});
        macro_auc += auc / k;
        macro_f1 += f1 / k;
        macro_sens += sens / k;
        macro_spec += spec / k;
    }
    f.push_back({"macro.auc_roc", macro_auc});
    f.push_back({"macro.f1", macro_f1});
    f.push_back({"macro.sensitivity", macro_sens});
    f.push_back({"macro.specificity", macro_spec});
    if (s.outputs.kind == TaskKind::ordinal) {
        f.push_back({"ordinal.quadratic_weighted_kappa", quadratic_weighted_kappa(y, pred, k)});
        f.push_back({"ordinal.within_one_accuracy", static_cast<double>(within_one) / static_cast<double>(n)});
    }
    return f;
}

double percentile(std::vector<double> v, double q) {
    v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
    if (v.empty()) return NAN;
    std::sort(v.begin(), v.end());
    const double pos = q * static_cast<double>(v.size() - 1);
    const size_t lo = static_cast<size_t>(std::floor(pos)), hi = static_cast<size_t>(std::ceil(pos));
    return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

Json number_or_null(double x) { return std::isnan(x) ? Json(nullptr) : Json(std::round(x * 1e6) / 1e6); }

// Sets j["a"]["b"]["c"] from the dotted name "a.b.c".
void put_dotted(Json& j, const std::string& dotted, Json v) {
    Json* at = &j;
    size_t start = 0;
    for (size_t dot; (dot = dotted.find('.', start)) != std::string::npos; start = dot + 1)
        at = &(*at)[dotted.substr(start, dot - start)];
    (*at)[dotted.substr(start)] = std::move(v);
}
}  // namespace

Json roc_curve(std::span<const double> score, std::span<const int> positive, size_t max_points) {
    std::vector<size_t> order(score.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] > score[b]; });
    size_t pos = 0;
    for (int p : positive) pos += p != 0;
    const size_t neg = positive.size() - pos;
    Json points = Json::array({Json::array({0.0, 0.0})});
    if (pos == 0 || neg == 0) return points;
    size_t tp = 0, fp = 0;
    std::vector<std::pair<double, double>> all;
    for (size_t i = 0; i < order.size(); ++i) {
        (positive[order[i]] ? tp : fp) += 1;
        // One point per distinct score (ties move together), as (false positive rate, true positive rate).
        if (i + 1 == order.size() || score[order[i + 1]] != score[order[i]])
            all.push_back({static_cast<double>(fp) / static_cast<double>(neg),
                           static_cast<double>(tp) / static_cast<double>(pos)});
    }
    const size_t gaps = std::max<size_t>(1, max_points - 2), step = std::max<size_t>(1, (all.size() + gaps - 1) / gaps);
    for (size_t i = 0; i < all.size(); i += step) points.push_back({all[i].first, all[i].second});
    if (points.back() != Json::array({1.0, 1.0})) points.push_back({1.0, 1.0});
    return points;
}

Json evaluate(const EvalInput& in) {
    const Schema& s = *in.schema;
    const size_t n = in.labels.size(), k = static_cast<size_t>(s.num_classes());
    const auto point = figures(s, in.labels, in.probabilities);

    std::vector<std::vector<double>> reps(point.size());
    std::mt19937_64 rng(in.seed);
    std::uniform_int_distribution<size_t> pick(0, n - 1);
    std::vector<int> by(n);
    std::vector<double> bp(n * k);
    for (int b = 0; b < in.bootstrap; ++b) {
        for (size_t i = 0; i < n; ++i) {
            const size_t r = pick(rng);
            by[i] = in.labels[r];
            std::copy_n(in.probabilities.begin() + static_cast<long>(r * k), k, bp.begin() + static_cast<long>(i * k));
        }
        const auto f = figures(s, by, bp);
        for (size_t m = 0; m < f.size(); ++m) reps[m].push_back(f[m].second);
    }
    Json out = Json::object();
    for (size_t m = 0; m < point.size(); ++m)
        put_dotted(
            out, point[m].first,
            Json{{"value", number_or_null(point[m].second)},
                 {"ci95", {number_or_null(percentile(reps[m], 0.025)), number_or_null(percentile(reps[m], 0.975))}}});
    for (size_t c = 0; c < k; ++c) {
        size_t support = 0;
        for (int y : in.labels) support += y == static_cast<int>(c);
        out["class"][s.outputs.classes[c].name]["support"] = support;
    }

    // Calibration of P(positive) (binary) or of the predicted class's probability.
    std::vector<double> conf(n);
    std::vector<int> hit(n);
    for (size_t i = 0; i < n; ++i) {
        const auto p = std::span<const double>(in.probabilities).subspan(i * k, k);
        if (s.outputs.kind == TaskKind::binary) {
            conf[i] = p[1];
            hit[i] = in.labels[i] == 1;
        } else {
            const int c = decide(s, p);
            conf[i] = p[static_cast<size_t>(c)];
            hit[i] = in.labels[i] == c;
        }
    }
    const auto table = reliability(conf, hit);
    Json rel = Json::array();
    for (const auto& r : table)
        rel.push_back({{"bin", {r.lower, r.upper}},
                       {"count", r.count},
                       {"mean_predicted", number_or_null(r.count ? r.mean_predicted : NAN)},
                       {"observed", number_or_null(r.count ? r.observed : NAN)}});
    out["calibration"] = {
        {"of", s.outputs.kind == TaskKind::binary ? "P(" + s.outputs.classes[1].name + ")" : "P(predicted class)"},
        {"expected_calibration_error", number_or_null(expected_calibration_error(table))},
        {"reliability", rel}};
    // ROC curve per class (one against the rest), for the model card's plot: at most 101 points.
    for (size_t c = 0; c < k; ++c) {
        if (s.outputs.kind == TaskKind::binary && c == 0) continue;
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
    return out;
}

//-----------------------------------------------------------------------------
// [SECTION] Subgroups
//-----------------------------------------------------------------------------
Json evaluate_subgroups(const Schema& s, std::span<const int> labels, std::span<const double> p,
                        std::span<const double> values) {
    // Categories and booleans by level; numeric fields named "age" by the median split.
    Json out = Json::array();
    const size_t n = labels.size(), k = static_cast<size_t>(s.num_classes()), nf = s.fields.size();
    for (size_t f = 0; f < nf; ++f) {
        const Field& fd = s.fields[f];
        std::vector<std::pair<std::string, std::vector<size_t>>> groups;
        if (fd.type == FieldType::category) {
            for (size_t l = 0; l < fd.levels.size(); ++l) groups.push_back({fd.label + ": " + fd.levels[l].label, {}});
            for (size_t i = 0; i < n; ++i)
                if (!std::isnan(values[i * nf + f]))
                    groups[static_cast<size_t>(values[i * nf + f])].second.push_back(i);
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
                if (!std::isnan(values[i * nf + f])) groups[values[i * nf + f] < cut ? 0 : 1].second.push_back(i);
        } else {
            continue;
        }
        for (const auto& [name, rows] : groups) {
            if (rows.size() < 10) continue;
            std::vector<int> y;
            std::vector<double> q;
            for (size_t i : rows) {
                y.push_back(labels[i]);
                q.insert(q.end(), p.begin() + static_cast<long>(i * k), p.begin() + static_cast<long>((i + 1) * k));
            }
            const auto fig = figures(s, y, q);
            Json g{{"group", name}, {"rows", rows.size()}};
            for (const auto& [m, v] : fig)
                if (m == "accuracy" || m == "macro.auc_roc" ||
                    (k == 2 && m == "class." + s.outputs.classes[1].name + ".auc_roc"))
                    g[m] = number_or_null(v);
            out.push_back(g);
        }
    }
    return out;
}

}  // namespace ldx
