// shared/drift/report.cpp — see report.h.
#include "drift/report.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "bundle/crypto.h"
#include "drift/image_descriptors.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Building
//-----------------------------------------------------------------------------
namespace {
size_t randomize(size_t true_bin, size_t bins, double epsilon, std::mt19937_64& rng) {
    if (bins < 2) return true_bin;
    const double keep = std::exp(epsilon) / (std::exp(epsilon) + static_cast<double>(bins) - 1);
    if (std::uniform_real_distribution<double>(0, 1)(rng) < keep) return true_bin;
    size_t other = std::uniform_int_distribution<size_t>(0, bins - 2)(rng);
    return other >= true_bin ? other + 1 : other;
}
}  // namespace

ReportBuilder report_builder(const Schema& schema, const Reference& reference, std::string model, int64_t version,
                             std::string day) {
    ReportBuilder b;
    b.reference = &reference;
    b.report.model = std::move(model);
    b.report.version = version;
    b.report.day = std::move(day);
    b.report.epsilon = schema.privacy.epsilon;
    b.counting = schema.privacy.counting;
    for (size_t i = 0; i < reference.inputs(); ++i) {  // the schema's fields, then an image's descriptors
        b.report.field_names.push_back(reference.input(i).name);
        b.report.fields.emplace_back(reference.input(i).bins(), 0);
    }
    // Regression has no predicted class (its value histogram is the output's), nor has a
    // multilabel task (each finding's probability histogram is its own).
    b.report.predicted.assign(report_has_predicted(schema) ? reference.classes.size() : 0, 0);
    for (const auto& h : reference.classes) b.report.probabilities.emplace_back(h.bins(), 0);
    return b;
}

void report_add(ReportBuilder& b, std::span<const double> values, std::span<const double> probabilities, int predicted,
                std::mt19937_64& rng) {
    const Reference& ref = *b.reference;
    const double eps = b.report.epsilon;
    const size_t nf = ref.inputs(), nc = ref.classes.size(), np = b.report.predicted.empty() ? 0 : 1;
    const size_t histograms = nf + np + nc;
    // Histogram j: a field or an image descriptor (j < nf; a value not given is missing), the
    // predicted class (j == nf, not for regression), a class's probability or the predicted value.
    auto count = [&](size_t j) {
        if (j < nf) {
            const Histogram& h = ref.input(j);
            const double v = j < values.size() ? values[j] : std::numeric_limits<double>::quiet_NaN();
            ++b.report.fields[j][randomize(histogram_bin(h, v), h.bins(), eps, rng)];
        } else if (j < nf + np) {
            ++b.report.predicted[randomize(static_cast<size_t>(predicted), nc, eps, rng)];
        } else {
            const Histogram& h = ref.classes[j - nf - np];
            ++b.report.probabilities[j - nf - np]
                                    [randomize(histogram_bin(h, probabilities[j - nf - np]), h.bins(), eps, rng)];
        }
    };
    if (b.counting == Privacy::Counting::one_histogram)
        count(std::uniform_int_distribution<size_t>(0, histograms - 1)(rng));
    else
        for (size_t j = 0; j < histograms; ++j) count(j);
    ++b.report.n;
}

ReportDays report_days(int64_t now) {
    return ReportDays{utc_day(now - kReportTiming.keep_days * 86400), utc_day(now + 86400)};
}

bool report_day_current(const std::string& day, int64_t now) {
    const ReportDays d = report_days(now);
    return utc_parse(day + "T00:00:00Z").has_value() && day >= d.oldest && day <= d.newest;
}

Json report_timing_json(int64_t now) {
    Json j{{"send_after_seconds", {kReportTiming.send_after_min_seconds, kReportTiming.send_after_max_seconds}},
           {"hold_seconds", kReportTiming.hold_seconds},
           {"keep_days", kReportTiming.keep_days}};
    if (now >= 0) {
        const ReportDays d = report_days(now);
        j["oldest_day"] = d.oldest;
        j["newest_day"] = d.newest;
    }
    return j;
}

namespace {
// 60 -> "1 minute", 21600 -> "6 hours", 90 -> "90 seconds".
std::string duration_words(int64_t s) {
    const auto unit = [](int64_t n, const char* one) { return std::to_string(n) + " " + one + (n == 1 ? "" : "s"); };
    if (s % 3600 == 0) return unit(s / 3600, "hour");
    if (s % 60 == 0) return unit(s / 60, "minute");
    return unit(s, "second");
}
}  // namespace

std::string report_timing_words() {
    const std::string kept =
        kReportTiming.keep_days == 1 ? "the next day" : std::to_string(kReportTiming.keep_days) + " days later";
    return "A complete report leaves at a random moment between " +
           duration_words(kReportTiming.send_after_min_seconds) + " and " +
           duration_words(kReportTiming.send_after_max_seconds) +
           " later, so its arrival does not show when you worked; reports not sent by " + kept + " are deleted.";
}

bool same_patient(std::span<const double> previous, std::span<const double> next) {
    if (previous.size() != next.size()) return false;
    size_t filled = 0, differ = 0;
    for (size_t i = 0; i < next.size(); ++i) {
        const bool a = !std::isnan(previous[i]), b = !std::isnan(next[i]);
        if (!a && !b) continue;
        ++filled;
        if (a != b || previous[i] != next[i]) ++differ;
    }
    return 2 * differ <= filled;
}

bool report_merge(MetricsReport& into, const MetricsReport& from) {
    auto same_shape = [](const auto& a, const auto& b) {
        if (a.size() != b.size()) return false;
        for (size_t i = 0; i < a.size(); ++i)
            if (a[i].size() != b[i].size()) return false;
        return true;
    };
    if (into.model != from.model || into.version != from.version || into.day != from.day ||
        into.field_names != from.field_names || !same_shape(into.fields, from.fields) ||
        into.predicted.size() != from.predicted.size() || !same_shape(into.probabilities, from.probabilities))
        return false;
    auto add = [](std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
        for (size_t i = 0; i < a.size(); ++i) a[i] += b[i];
    };
    for (size_t f = 0; f < into.fields.size(); ++f) add(into.fields[f], from.fields[f]);
    add(into.predicted, from.predicted);
    for (size_t c = 0; c < into.probabilities.size(); ++c) add(into.probabilities[c], from.probabilities[c]);
    into.n += from.n;
    return true;
}

Json report_to_json(const MetricsReport& r) {
    Json fields = Json::object();
    for (size_t f = 0; f < r.fields.size(); ++f) fields[r.field_names[f]] = r.fields[f];
    return Json{{"model", r.model},
                {"version", r.version},
                {"day", r.day},
                {"n", r.n},
                {"epsilon", r.epsilon},
                {"fields", fields},
                {"predicted", r.predicted},
                {"probabilities", r.probabilities}};
}

//-----------------------------------------------------------------------------
// [SECTION] Parsing and checking
//-----------------------------------------------------------------------------
namespace {
// A histogram's counts: each patient of the report is in it (every_histogram: the sum is n), or
// in one histogram of the report (one_histogram: the sum is at most n; all sums add up to n).
Result<std::vector<uint64_t>> counts(const Json& j, size_t bins, uint64_t n, bool every, uint64_t& total,
                                     const std::string& where) {
    if (!j.is_array()) return problem("bad_report", "must be an array of counts", where);
    if (j.size() != bins)
        return problem("bad_report",
                       "has " + std::to_string(j.size()) + " bins; the bundle's reference has " + std::to_string(bins),
                       where);
    std::vector<uint64_t> c;
    uint64_t sum = 0;
    for (const Json& x : j) {
        if (!x.is_number_integer() || (x.is_number_integer() && !x.is_number_unsigned() && x.get<int64_t>() < 0))
            return problem("bad_report", "counts must be non-negative whole numbers", where);
        const uint64_t v = x.get<uint64_t>();
        if (v > n) return problem("bad_report", "a count exceeds n", where);
        c.push_back(v);
        sum += v;
    }
    if (every ? sum != n : sum > n)
        return problem(
            "bad_report",
            "counts sum to " + std::to_string(sum) + ", " + (every ? "not" : "more than") + " n = " + std::to_string(n),
            where);
    total += sum;
    return c;
}
}  // namespace

Result<MetricsReport> report_parse(std::string_view body, const Schema& schema, const Reference& reference) {
    auto j = json_parse(body, "report", JsonLimits{kMaxReportBytes, 4});
    if (!j) return j.problems();
    if (auto p = json_check_keys(
            *j, {"model", "version", "day", "n", "epsilon", "fields", "predicted", "probabilities"}, ""))
        return problem("bad_report", p->message, p->field);
    MetricsReport r;
    auto model = json_string(*j, "model", "");
    auto version = json_integer(*j, "version", "");
    auto day = json_string(*j, "day", "");
    auto n = json_integer(*j, "n", "");
    auto eps = json_number(*j, "epsilon", "");
    for (const Problem* p : {model ? nullptr : &model.error(), version ? nullptr : &version.error(),
                             day ? nullptr : &day.error(), n ? nullptr : &n.error(), eps ? nullptr : &eps.error()})
        if (p) return problem("bad_report", p->message, p->field);
    r.model = *model;
    r.version = *version;
    r.day = *day;
    if (!utc_parse(r.day + "T00:00:00Z")) return problem("bad_report", "must be a date like 2026-11-22", "day");
    if (*n < schema.privacy.k_min)
        return problem("bad_report",
                       "a report must summarise at least k = " + std::to_string(schema.privacy.k_min) + " predictions",
                       "n");
    if (static_cast<uint64_t>(*n) > kMaxReportPredictions)
        return problem("bad_report",
                       "more than " + std::to_string(kMaxReportPredictions) + " predictions in one report", "n");
    r.n = static_cast<uint64_t>(*n);
    if (std::abs(*eps - schema.privacy.epsilon) > 1e-12)
        return problem("bad_report", "must be the bundle's epsilon " + std::to_string(schema.privacy.epsilon),
                       "epsilon");
    r.epsilon = *eps;

    const bool every = schema.privacy.counting == Privacy::Counting::every_histogram;
    uint64_t total = 0;
    const Json& fields = (*j).contains("fields") ? (*j)["fields"] : Json();
    if (!fields.is_object()) return problem("bad_report", "must be an object of field: counts", "fields");
    // The schema's fields, then an imaging task's descriptors (reference.inputs()).
    if (fields.size() != reference.inputs())
        return problem("bad_report",
                       schema.image
                           ? "must hold exactly the " + std::to_string(reference.inputs()) + " image descriptors"
                           : "must hold exactly the schema's " + std::to_string(schema.fields.size()) + " fields",
                       "fields");
    for (size_t f = 0; f < reference.inputs(); ++f) {
        const std::string& name = reference.input(f).name;
        if (!fields.contains(name)) return problem("bad_report", "is missing", "fields." + name);
        auto c = counts(fields[name], reference.input(f).bins(), r.n, every, total, "fields." + name);
        if (!c) return c.problems();
        r.field_names.push_back(name);
        r.fields.push_back(std::move(*c));
    }
    if (!report_has_predicted(schema)) {  // no predicted class: an empty histogram
        if (!(*j).contains("predicted") || !(*j)["predicted"].is_array() || !(*j)["predicted"].empty())
            return problem("bad_report",
                           schema.outputs.regression()
                               ? "must be [] for a regression task (it has no classes)"
                               : "must be [] for a multilabel task (each finding has its probability histogram)",
                           "predicted");
    } else {
        auto pred = counts((*j).contains("predicted") ? (*j)["predicted"] : Json(), reference.classes.size(), r.n,
                           every, total, "predicted");
        if (!pred) return pred.problems();
        r.predicted = std::move(*pred);
    }
    const Json& probs = (*j).contains("probabilities") ? (*j)["probabilities"] : Json();
    if (!probs.is_array() || probs.size() != reference.classes.size())
        return problem("bad_report",
                       schema.outputs.regression() ? "must hold one histogram of the predicted value"
                                                   : "must hold one histogram per class",
                       "probabilities");
    for (size_t c = 0; c < reference.classes.size(); ++c) {
        auto h = counts(probs[c], reference.classes[c].bins(), r.n, every, total,
                        "probabilities[" + std::to_string(c) + "]");
        if (!h) return h.problems();
        r.probabilities.push_back(std::move(*h));
    }
    if (!every && total != r.n)
        return problem("bad_report",
                       "each patient is counted in one histogram, so all counts sum to n = " + std::to_string(r.n) +
                           ", not " + std::to_string(total),
                       "n");
    return r;
}

//-----------------------------------------------------------------------------
// [SECTION] Debiasing and drift figures
//-----------------------------------------------------------------------------
std::vector<double> randomized_response_debias(std::span<const uint64_t> observed, uint64_t n, double epsilon) {
    const double bins = static_cast<double>(observed.size());
    const double e = std::exp(epsilon);
    const double p = e / (e + bins - 1), q = 1 / (e + bins - 1);
    std::vector<double> est(observed.size());
    for (size_t i = 0; i < observed.size(); ++i)
        est[i] = std::max(0.0, (static_cast<double>(observed[i]) - static_cast<double>(n) * q) / (p - q));
    return est;
}

FieldDrift drift_compare(const std::string& field, std::span<const uint64_t> reference, std::span<const uint64_t> live,
                         uint64_t n, double epsilon, uint64_t min_count, double warn, double alert) {
    FieldDrift d;
    d.field = field;
    d.predictions = n;
    if (n < min_count) {
        d.status = "insufficient";
        return d;
    }
    const auto est = randomized_response_debias(live, n, epsilon);
    // PSI and JS take counts; scale the estimate to integers with enough resolution.
    std::vector<uint64_t> scaled(est.size());
    for (size_t i = 0; i < est.size(); ++i) scaled[i] = static_cast<uint64_t>(std::llround(est[i] * 1000.0));
    // A share below the debiased estimate's standard error cannot be told from zero: both sides are
    // floored there. Without it, a bin the reference never saw (often "missing") turns the noise of
    // randomized response into PSI (clean data reached 0.18 at 24,000 predictions).
    const double bins = static_cast<double>(live.size()), e = std::exp(epsilon);
    const double keep = e / (e + bins - 1), other = 1 / (e + bins - 1);
    const double standard_error = std::sqrt(other * (1 - other) / static_cast<double>(n)) / (keep - other);
    d.psi = population_stability_index(reference, scaled, std::max(1e-4, standard_error));
    d.js = jensen_shannon_distance(reference, scaled);
    d.status = d.psi >= alert ? "alert" : d.psi >= warn ? "warn" : "ok";
    return d;
}

bool report_has_predicted(const Schema& schema) { return !schema.outputs.regression() && !schema.outputs.multilabel(); }

size_t report_histograms(const Schema& schema) {
    return schema.fields.size() + (schema.image ? kImageDescriptors : 0) + (report_has_predicted(schema) ? 1 : 0) +
           static_cast<size_t>(schema.num_outputs());
}

double report_epsilon_per_patient(const Schema& schema) {
    return schema.privacy.counting == Privacy::Counting::one_histogram
               ? schema.privacy.epsilon
               : static_cast<double>(report_histograms(schema)) * schema.privacy.epsilon;
}

uint64_t histogram_patients(const Schema& schema, uint64_t patients) {
    return schema.privacy.counting == Privacy::Counting::one_histogram ? patients / report_histograms(schema)
                                                                       : patients;
}

//-----------------------------------------------------------------------------
// [SECTION] Pooling sources robustly
//-----------------------------------------------------------------------------
PooledCounts pool_sources(std::span<const SourceCounts> sources, size_t bins, double trim) {
    PooledCounts out;
    out.counts.assign(bins, 0);
    std::vector<const SourceCounts*> live;
    for (const auto& s : sources)
        if (s.n > 0) live.push_back(&s);
    out.sources = live.size();
    if (live.empty()) return out;
    std::vector<uint64_t> volumes;
    for (const auto* s : live) volumes.push_back(s->n);
    std::sort(volumes.begin(), volumes.end());
    const double median =
        volumes.size() % 2 ? static_cast<double>(volumes[volumes.size() / 2])
                           : 0.5 * static_cast<double>(volumes[volumes.size() / 2 - 1] + volumes[volumes.size() / 2]);
    out.max_ratio = static_cast<double>(volumes.back()) / median;
    double total_weight = 0;
    std::vector<double> weight(live.size());
    for (size_t i = 0; i < live.size(); ++i) {
        weight[i] = std::min(static_cast<double>(live[i]->n), median);
        total_weight += weight[i];
    }
    const size_t cut = static_cast<size_t>(std::floor(trim * static_cast<double>(live.size())));
    std::vector<double> share(bins, 0);
    std::vector<std::pair<double, double>> column(live.size());  // (share, weight)
    for (size_t b = 0; b < bins; ++b) {
        for (size_t i = 0; i < live.size(); ++i) {
            const uint64_t c = b < live[i]->counts.size() ? live[i]->counts[b] : 0;
            column[i] = {static_cast<double>(c) / static_cast<double>(live[i]->n), weight[i]};
        }
        std::sort(column.begin(), column.end());
        double sum = 0, w = 0;
        for (size_t i = cut; i + cut < column.size(); ++i) {
            sum += column[i].first * column[i].second;
            w += column[i].second;
        }
        share[b] = w > 0 ? sum / w : 0;
    }
    const double total_share = std::accumulate(share.begin(), share.end(), 0.0);
    out.n = static_cast<uint64_t>(std::llround(total_weight));
    if (total_share > 0)
        for (size_t b = 0; b < bins; ++b)
            out.counts[b] = static_cast<uint64_t>(std::llround(share[b] / total_share * total_weight));
    return out;
}

}  // namespace ldx
