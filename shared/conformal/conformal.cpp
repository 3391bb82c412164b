// shared/conformal/conformal.cpp — see conformal.h.
//
// Index of this file
//   [SECTION] The calibrator
//   [SECTION] Fitting
//   [SECTION] Sets and bands
//   [SECTION] Coverage
//   [SECTION] For the result view and the CLI
//   [SECTION] A site's recalibration
#include "conformal/conformal.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>

#include "metrics/multilabel.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] The calibrator
//-----------------------------------------------------------------------------
Json conformal_to_json(const Conformal& c) {
    Json levels = Json::array();
    for (const auto& l : c.levels)
        levels.push_back(c.intervals ? Json{{"level", l.level}, {"half_width", l.threshold.at(0)}}
                                     : Json{{"level", l.level}, {"threshold", l.threshold}});
    return Json{{"rows", c.rows}, {"source", c.source}, {"levels", levels}};
}

Result<Conformal> conformal_from_json(const Json& j, size_t classes, const std::string& path) {
    if (auto p = json_check_keys(j, {"rows", "source", "levels"}, path)) return *p;
    Conformal c;
    const auto rows = json_int_in(j, "rows", 1, int64_t{1} << 40);
    if (!rows) return problem("bad_value", "rows must be a positive whole number", path + ".rows");
    c.rows = static_cast<size_t>(*rows);
    c.source = json_text_or(j, "source");
    const Json& levels = json_member(j, "levels");
    if (!levels.is_array() || levels.empty() || levels.size() > 16)
        return problem("bad_value", "levels must be a list of 1 to 16 levels", path + ".levels");
    for (size_t i = 0; i < levels.size(); ++i) {
        const std::string at = path + ".levels[" + std::to_string(i) + "]";
        if (auto p = json_check_keys(levels[i], {"level", classes == 0 ? "half_width" : "threshold"}, at)) return *p;
        ConformalLevel l;
        const Json& level = json_member(levels[i], "level");
        if (!level.is_number() || !(level.get<double>() > 0 && level.get<double>() < 1))
            return problem("bad_range", "level must lie strictly between 0 and 1", at + ".level");
        l.level = level.get<double>();
        if (!c.levels.empty() && !(l.level > c.levels.back().level))
            return problem("bad_value", "levels must be in ascending order", at + ".level");
        if (classes == 0) {
            const Json& w = json_member(levels[i], "half_width");
            if (!w.is_number() || !std::isfinite(w.get<double>()) || w.get<double>() < 0)
                return problem("bad_range", "half_width must be a number >= 0 in the outcome's unit",
                               at + ".half_width");
            if (!c.levels.empty() && w.get<double>() < c.levels.back().threshold[0])
                return problem("bad_value", "a higher level cannot have a narrower interval", at + ".half_width");
            l.threshold = {w.get<double>()};
            c.levels.push_back(std::move(l));
            continue;
        }
        if (!json_number_array(json_member(levels[i], "threshold"), l.threshold) || l.threshold.size() != classes)
            return problem("bad_value", "threshold must hold one number per class (" + std::to_string(classes) + ")",
                           at + ".threshold");
        for (double t : l.threshold)
            if (!(t >= 0 && t <= 1)) return problem("bad_range", "thresholds must lie in [0, 1]", at + ".threshold");
        c.levels.push_back(std::move(l));
    }
    c.intervals = classes == 0;
    return c;
}

//-----------------------------------------------------------------------------
// [SECTION] Fitting
//-----------------------------------------------------------------------------
namespace {
// The ceil((n + 1) level)-th smallest of sorted scores, or +infinity when that rank exceeds n.
// 1e-9 absorbs 0.9 * 101 = 90.90000000000001.
double conformal_quantile(std::span<const double> sorted, double level) {
    const size_t n = sorted.size();
    const double rank = std::ceil(static_cast<double>(n + 1) * level - 1e-9);
    return n > 0 && rank <= static_cast<double>(n) ? sorted[static_cast<size_t>(rank) - 1] : INFINITY;
}
}  // namespace

Conformal conformal_fit(std::span<const double> p, std::span<const int> labels, int k, std::span<const double> levels,
                        std::string source) {
    const size_t kk = static_cast<size_t>(k);
    std::vector<std::vector<double>> scores(kk);
    std::vector<size_t> count(kk, 0);  // reserved exactly: no doubling on millions of rows
    for (int y : labels) ++count[static_cast<size_t>(y)];
    for (size_t y = 0; y < kk; ++y) scores[y].reserve(count[y]);
    for (size_t i = 0; i < labels.size(); ++i) {
        const size_t y = static_cast<size_t>(labels[i]);
        scores[y].push_back(1 - p[i * kk + y]);
    }
    for (auto& s : scores) std::sort(s.begin(), s.end());
    Conformal c;
    c.rows = labels.size();
    c.source = std::move(source);
    for (double level : levels) {
        ConformalLevel l{level, std::vector<double>(kk, 1.0)};
        for (size_t y = 0; y < kk; ++y) {
            // The rank with a finite-sample guarantee (conformal_quantile).
            if (const double q = conformal_quantile(scores[y], level); std::isfinite(q)) l.threshold[y] = q;
        }
        c.levels.push_back(std::move(l));
    }
    return c;
}

Conformal conformal_fit_intervals(std::span<const double> predicted, std::span<const double> observed,
                                  std::span<const double> levels, std::string source) {
    std::vector<double> residual(observed.size());
    for (size_t i = 0; i < observed.size(); ++i) residual[i] = std::abs(observed[i] - predicted[i]);
    std::sort(residual.begin(), residual.end());
    Conformal c;
    c.intervals = true;
    c.rows = observed.size();
    c.source = std::move(source);
    for (double level : levels) {
        double w = conformal_quantile(residual, level);
        if (!std::isfinite(w)) w = residual.empty() ? 0 : residual.back() * 2;  // too few rows: wider than any seen
        c.levels.push_back({level, {w}});
    }
    return c;
}

//-----------------------------------------------------------------------------
// [SECTION] Sets and bands
//-----------------------------------------------------------------------------
std::vector<int> conformal_set(const Conformal& c, size_t index, std::span<const double> p) {
    std::vector<int> set;
    const auto& t = c.levels[index].threshold;
    for (size_t y = 0; y < t.size() && y < p.size(); ++y)
        if (1 - p[y] <= t[y]) set.push_back(static_cast<int>(y));
    return set;
}

size_t conformal_band_index(const Conformal& c) {
    for (size_t i = 0; i < c.levels.size(); ++i)
        if (std::abs(c.levels[i].level - 0.9) < 1e-9) return i;
    return c.levels.size() / 2;
}

Band conformal_band(const Conformal& c, std::span<const double> p) {
    const auto set = conformal_set(c, conformal_band_index(c), p);
    if (set.size() == 1) return set[0] == 1 ? Band::high : Band::low;
    return Band::uncertain;
}

Interval conformal_interval(const Outputs& o, size_t index, double value) {
    const ConformalLevel& l = o.conformal.levels[index];
    return {l.level, std::clamp(value - l.threshold[0], o.min, o.max),
            std::clamp(value + l.threshold[0], o.min, o.max)};
}

const char* band_name(Band b) {
    switch (b) {
        case Band::low:
            return "low";
        case Band::high:
            return "high";
        case Band::uncertain:
            break;
    }
    return "uncertain";
}

//-----------------------------------------------------------------------------
// [SECTION] Coverage
//-----------------------------------------------------------------------------
namespace {
// Each row's fold (0..folds-1): the rows shuffled with `seed`, dealt round-robin.
std::vector<int> random_folds(size_t n, int folds, uint64_t seed) {
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(seed);
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<int> fold(n);
    for (size_t i = 0; i < n; ++i) fold[order[i]] = static_cast<int>(i % static_cast<size_t>(folds));
    return fold;
}

// [{"group", "rows", "coverage": [per level]}] from covered[level][row] (subgroups of 10 rows or more).
Json subgroup_coverage(std::span<const Subgroup> subgroups, const std::vector<std::vector<int>>& covered) {
    Json groups = Json::array();
    for (const Subgroup& g : subgroups) {
        if (g.rows.size() < 10) continue;
        Json cov = Json::array();
        for (const auto& level : covered) {
            double c = 0;
            for (size_t i : g.rows) c += level[i];
            cov.push_back(c / static_cast<double>(g.rows.size()));
        }
        groups.push_back({{"group", g.name}, {"rows", g.rows.size()}, {"coverage", cov}});
    }
    return groups;
}

// Per level: covered and set-size sums, per class covered and counts; binary: per band n and positives.
struct Tally {
    std::vector<double> covered, size;
    std::vector<std::vector<double>> class_covered, class_n;
    std::vector<std::vector<double>> band_n, band_pos;  // [level][band]
    size_t n = 0;
    Tally(size_t levels, size_t k)
        : covered(levels, 0),
          size(levels, 0),
          class_covered(levels, std::vector<double>(k, 0)),
          class_n(levels, std::vector<double>(k, 0)),
          band_n(levels, std::vector<double>(3, 0)),
          band_pos(levels, std::vector<double>(3, 0)) {}
    void add(const Conformal& c, std::span<const double> p, int y) {
        ++n;
        for (size_t l = 0; l < c.levels.size(); ++l) {
            const auto set = conformal_set(c, l, p);
            const bool in = std::find(set.begin(), set.end(), y) != set.end();
            covered[l] += in;
            size[l] += static_cast<double>(set.size());
            class_covered[l][static_cast<size_t>(y)] += in;
            class_n[l][static_cast<size_t>(y)] += 1;
            const size_t b = set.size() == 1 ? (set[0] == 1 ? 2 : 0) : 1;
            band_n[l][b] += 1;
            band_pos[l][b] += y == 1;
        }
    }
    Json to_json(const Conformal& c, std::span<const std::string> names) const {
        Json levels = Json::array();
        const double total = static_cast<double>(n);
        for (size_t l = 0; l < c.levels.size(); ++l) {
            Json by_class = Json::object();
            for (size_t y = 0; y < names.size(); ++y)
                by_class[names[y]] = class_n[l][y] > 0 ? Json(class_covered[l][y] / class_n[l][y]) : Json(nullptr);
            Json one{{"level", c.levels[l].level},
                     {"coverage", total > 0 ? Json(covered[l] / total) : Json(nullptr)},
                     {"by_class", by_class},
                     {"mean_set_size", total > 0 ? Json(size[l] / total) : Json(nullptr)}};
            if (names.size() == 2) {
                Json bands = Json::object();
                for (size_t b = 0; b < 3; ++b)
                    bands[band_name(static_cast<Band>(b))] = {
                        {"share", total > 0 ? band_n[l][b] / total : 0.0},
                        {"positive_rate", band_n[l][b] > 0 ? Json(band_pos[l][b] / band_n[l][b]) : Json(nullptr)}};
                one["bands"] = bands;
            }
            levels.push_back(one);
        }
        return Json{{"rows", n}, {"levels", levels}};
    }
};
}  // namespace

Json conformal_coverage(const Conformal& c, std::span<const double> p, std::span<const int> labels,
                        std::span<const std::string> names) {
    Tally t(c.levels.size(), names.size());
    const size_t k = names.size();
    for (size_t i = 0; i < labels.size(); ++i) t.add(c, p.subspan(i * k, k), labels[i]);
    return t.to_json(c, names);
}

Json conformal_cross_coverage(std::span<const double> p, std::span<const int> labels, int k,
                              std::span<const double> levels, std::span<const std::string> names,
                              std::span<const Subgroup> subgroups, int folds, uint64_t seed) {
    const size_t n = labels.size(), kk = static_cast<size_t>(k);
    const std::vector<int> fold = random_folds(n, folds, seed);
    std::vector<std::vector<int>> sets_in(levels.size(), std::vector<int>(n, 0));  // row covered at level?
    Tally all(levels.size(), kk);
    for (int f = 0; f < folds; ++f) {
        std::vector<double> cp;
        std::vector<int> cy;
        for (size_t i = 0; i < n; ++i)
            if (fold[i] != f) {
                cp.insert(cp.end(), p.begin() + static_cast<long>(i * kk), p.begin() + static_cast<long>((i + 1) * kk));
                cy.push_back(labels[i]);
            }
        const Conformal c = conformal_fit(cp, cy, k, levels, "");
        for (size_t i = 0; i < n; ++i) {
            if (fold[i] != f) continue;
            const auto row = p.subspan(i * kk, kk);
            all.add(c, row, labels[i]);
            for (size_t l = 0; l < levels.size(); ++l) {
                const auto set = conformal_set(c, l, row);
                sets_in[l][i] = std::find(set.begin(), set.end(), labels[i]) != set.end();
            }
        }
    }
    Conformal shape;
    for (double l : levels) shape.levels.push_back({l, {}});
    Json out = all.to_json(shape, names);
    out["method"] =
        std::to_string(folds) + "-fold cross-fitted: each fold covered by a calibrator fitted on the others";
    out["subgroups"] = subgroup_coverage(subgroups, sets_in);
    return out;
}

Json conformal_interval_coverage(const Outputs& o, std::span<const double> predicted,
                                 std::span<const double> observed) {
    Json levels = Json::array();
    const size_t n = observed.size();
    for (size_t l = 0; l < o.conformal.levels.size(); ++l) {
        double covered = 0, width = 0;
        for (size_t i = 0; i < n; ++i) {
            const Interval in = conformal_interval(o, l, predicted[i]);
            covered += observed[i] >= in.low && observed[i] <= in.high;
            width += in.high - in.low;
        }
        const double rows = static_cast<double>(n);
        levels.push_back({{"level", o.conformal.levels[l].level},
                          {"coverage", n ? Json(covered / rows) : Json(nullptr)},
                          {"mean_width", n ? Json(width / rows) : Json(nullptr)}});
    }
    return Json{{"rows", n}, {"levels", levels}};
}

namespace {
// Per level and row, whether the row's observed value lies in the interval fitted on the other
// folds, and the summed widths per level.
struct CrossFitted {
    std::vector<std::vector<int>> in;
    std::vector<double> width;
};
CrossFitted cross_fitted_intervals(const Outputs& o, std::span<const double> predicted,
                                   std::span<const double> observed, std::span<const double> levels, int folds,
                                   uint64_t seed) {
    const size_t n = observed.size();
    const std::vector<int> fold = random_folds(n, folds, seed);
    CrossFitted out{std::vector<std::vector<int>>(levels.size(), std::vector<int>(n, 0)),
                    std::vector<double>(levels.size(), 0)};
    for (int f = 0; f < folds; ++f) {
        std::vector<double> cp, cy;
        for (size_t i = 0; i < n; ++i)
            if (fold[i] != f) {
                cp.push_back(predicted[i]);
                cy.push_back(observed[i]);
            }
        Outputs fitted = o;
        fitted.conformal = conformal_fit_intervals(cp, cy, levels, "");
        for (size_t i = 0; i < n; ++i) {
            if (fold[i] != f) continue;
            for (size_t l = 0; l < levels.size(); ++l) {
                const Interval iv = conformal_interval(fitted, l, predicted[i]);
                out.in[l][i] = observed[i] >= iv.low && observed[i] <= iv.high;
                out.width[l] += iv.high - iv.low;
            }
        }
    }
    return out;
}
}  // namespace

std::vector<std::vector<int>> conformal_interval_cross_covered(const Outputs& o, std::span<const double> predicted,
                                                               std::span<const double> observed,
                                                               std::span<const double> levels, int folds,
                                                               uint64_t seed) {
    return cross_fitted_intervals(o, predicted, observed, levels, folds, seed).in;
}

Json conformal_interval_cross_coverage(const Outputs& o, std::span<const double> predicted,
                                       std::span<const double> observed, std::span<const double> levels,
                                       std::span<const Subgroup> subgroups, int folds, uint64_t seed) {
    const size_t n = observed.size();
    const CrossFitted cf = cross_fitted_intervals(o, predicted, observed, levels, folds, seed);
    const std::vector<std::vector<int>>& in = cf.in;
    const std::vector<double>& width = cf.width;
    std::vector<double> covered(levels.size(), 0);
    for (size_t l = 0; l < levels.size(); ++l)
        for (size_t i = 0; i < n; ++i) covered[l] += in[l][i];
    Json out_levels = Json::array();
    for (size_t l = 0; l < levels.size(); ++l)
        out_levels.push_back({{"level", levels[l]},
                              {"coverage", n ? Json(covered[l] / static_cast<double>(n)) : Json(nullptr)},
                              {"mean_width", n ? Json(width[l] / static_cast<double>(n)) : Json(nullptr)}});
    return Json{
        {"rows", n},
        {"levels", out_levels},
        {"subgroups", subgroup_coverage(subgroups, in)},
        {"method", std::to_string(folds) + "-fold cross-fitted: each fold covered by intervals fitted on the others"}};
}

//-----------------------------------------------------------------------------
// [SECTION] For the result view and the CLI
//-----------------------------------------------------------------------------
Json conformal_prediction_json(const Schema& s, std::span<const double> p) {
    const Conformal& c = s.outputs.conformal;
    if (c.empty()) return Json(nullptr);
    Json levels = Json::array();
    if (s.outputs.regression()) {
        for (size_t l = 0; l < c.levels.size(); ++l) {
            const Interval in = conformal_interval(s.outputs, l, p[0]);
            levels.push_back({{"level", in.level}, {"low", in.low}, {"high", in.high}});
        }
        return Json{{"levels", levels}, {"band_level", c.levels[conformal_band_index(c)].level}, {"local", c.local}};
    }
    if (s.outputs.multilabel()) {  // each finding's band at the band level
        Json bands = Json::object();
        for (size_t f = 0; f < s.outputs.classes.size() && f < p.size(); ++f) {
            const double pf[2] = {1 - p[f], p[f]};
            bands[s.outputs.classes[f].name] = band_name(conformal_band(conformal_finding(c, f), pf));
        }
        return Json{{"bands", bands}, {"band_level", c.levels[conformal_band_index(c)].level}, {"local", c.local}};
    }
    for (size_t l = 0; l < c.levels.size(); ++l)
        levels.push_back({{"level", c.levels[l].level}, {"classes", conformal_set(c, l, p)}});
    Json out{{"levels", levels}, {"band_level", c.levels[conformal_band_index(c)].level}, {"local", c.local}};
    if (s.outputs.kind == TaskKind::binary) out["band"] = band_name(conformal_band(c, p));
    return out;
}

std::string conformal_words(const Schema& s, std::span<const double> p) {
    const Conformal& c = s.outputs.conformal;
    if (c.empty()) return "";
    const size_t index = conformal_band_index(c);
    char level[16];
    std::snprintf(level, sizeof level, "%g%%", std::round(c.levels[index].level * 1000) / 10);
    const auto& classes = s.outputs.classes;
    const std::string local =
        c.local ? std::string(" (calibrated on this site's ") + (s.image ? "images" : "patients") + ", on this device)"
                : "";
    if (s.outputs.multilabel()) {
        std::string list;
        for (size_t f = 0; f < classes.size() && f < p.size(); ++f) {
            const double pf[2] = {1 - p[f], p[f]};
            list +=
                (f == 0 ? "" : ", ") + classes[f].label + " " + band_name(conformal_band(conformal_finding(c, f), pf));
        }
        return std::string("Triage bands (") + level + " confidence): " + list + local;
    }
    if (s.outputs.regression()) {
        const Interval in = conformal_interval(s.outputs, index, p[0]);
        std::string low = outcome_text(s.outputs, in.low);
        if (const auto unit = unit_display(s.outputs.unit); !unit.empty()) low.resize(low.size() - unit.size() - 1);
        return std::string(level) + " prediction interval: " + low + " to " + outcome_text(s.outputs, in.high) + local;
    }
    if (s.outputs.kind == TaskKind::binary) {
        const Band b = conformal_band(c, p);
        const std::string head = std::string("Triage band (") + level + " confidence): ";
        if (b == Band::low) return head + "low — " + classes[1].label + " ruled out" + local;
        if (b == Band::high) return head + "high — " + classes[0].label + " ruled out" + local;
        if (conformal_set(c, index, p).empty())
            return head + "uncertain — unlike the patients it was calibrated on" + local;
        return head + "uncertain — neither outcome can be ruled out" + local;
    }
    const auto set = conformal_set(c, index, p);
    if (set.empty()) return std::string(level) + " prediction set: empty (the model is unsure of every class)" + local;
    std::string list;
    for (size_t i = 0; i < set.size(); ++i)
        list += (i == 0 ? "" : i + 1 == set.size() ? " or " : ", ") + classes[static_cast<size_t>(set[i])].label;
    return std::string(level) + " prediction set: " + list + local;
}

//-----------------------------------------------------------------------------
// [SECTION] A site's recalibration
//-----------------------------------------------------------------------------
size_t conformal_width(const Outputs& o) {
    if (o.regression()) return 0;
    return o.multilabel() ? 2 * o.classes.size() : o.classes.size();
}

Conformal conformal_finding(const Conformal& c, size_t f) {
    Conformal out;
    out.rows = c.rows;
    out.source = c.source;
    out.local = c.local;
    for (const ConformalLevel& l : c.levels)
        out.levels.push_back({l.level, {l.threshold.at(2 * f), l.threshold.at(2 * f + 1)}});
    return out;
}

Conformal conformal_fit_site(const Outputs& o, std::span<const double> probabilities, std::span<const int> labels,
                             std::span<const double> observed, std::string source) {
    Conformal c;
    if (o.regression()) {
        c = conformal_fit_intervals(probabilities, observed, kConformalLevels, std::move(source));
    } else if (o.multilabel()) {
        const size_t k = o.classes.size();
        c.rows = k > 0 ? labels.size() / k : 0;
        c.source = std::move(source);
        for (const double level : kConformalLevels) c.levels.push_back({level, {}});
        for (size_t f = 0; f < k; ++f) {
            const Conformal one = conformal_fit(finding_probabilities(probabilities, k, f),
                                                finding_column(labels, k, f), 2, kConformalLevels, "");
            for (size_t l = 0; l < c.levels.size(); ++l)
                c.levels[l].threshold.insert(c.levels[l].threshold.end(), one.levels[l].threshold.begin(),
                                             one.levels[l].threshold.end());
        }
    } else {
        c = conformal_fit(probabilities, labels, static_cast<int>(o.classes.size()), kConformalLevels,
                          std::move(source));
    }
    c.local = true;
    return c;
}

Json conformal_site_coverage(const Outputs& o, const Conformal& c, std::span<const double> probabilities,
                             std::span<const int> labels, std::span<const double> observed) {
    if (o.regression()) {
        Outputs fitted = o;
        fitted.conformal = c;
        return conformal_interval_coverage(fitted, probabilities, observed);
    }
    if (o.multilabel()) {
        const size_t k = o.classes.size();
        Json findings = Json::object();
        for (size_t f = 0; f < k; ++f) {
            const std::vector<std::string> names{"absent", o.classes[f].name};
            findings[o.classes[f].name] =
                conformal_coverage(conformal_finding(c, f), finding_probabilities(probabilities, k, f),
                                   finding_column(labels, k, f), names);
        }
        return Json{{"findings", findings}};
    }
    std::vector<std::string> names;
    for (const auto& cl : o.classes) names.push_back(cl.name);
    return conformal_coverage(c, probabilities, labels, names);
}

}  // namespace ldx
