// shared/drift/report.h — the one thing that leaves the browser: an aggregate metrics report.
//
// Index of this file
//   [SECTION] Report
//   [SECTION] Building (browser): accumulate predictions, randomize, emit
//   [SECTION] Parsing and checking (server)
//   [SECTION] Debiasing and drift figures (server)
//   [SECTION] Pooling sources robustly (server)
//
// A report holds, for one model name and version, counts per bin of the bundle's reference
// histograms (every input field, missing values in the last bin), counts per predicted class,
// counts per bin of each class probability, and n, the number of predictions behind it. No
// identifiers, no raw values, no per-patient rows, no time finer than a day.
//
// Privacy: every patient's bin in every histogram goes through k-ary randomized response with
// the bundle's epsilon (keep the true bin with probability e^eps / (e^eps + B - 1), else a
// uniformly random other bin), so each histogram is eps-locally differentially private per
// patient; a report of H histograms composes to H * eps. The server debiases the sums.
#pragma once
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "drift/histogram.h"
#include "schema/schema.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Report
//-----------------------------------------------------------------------------
struct MetricsReport {
    std::string model;
    int64_t version = 0;
    std::string day;  // "YYYY-MM-DD"
    uint64_t n = 0;
    double epsilon = 0;
    std::vector<std::string> field_names;              // schema field names, in schema order
    std::vector<std::vector<uint64_t>> fields;         // per schema field: counts per bin
    std::vector<uint64_t> predicted;                   // per class
    std::vector<std::vector<uint64_t>> probabilities;  // per class: counts per probability bin
};

// A report holds H randomized histograms: every input field (an imaging task: each image
// descriptor, drift/image_descriptors.h), the predicted class, the probability of each class.
// In the JSON, an image's descriptors are entries of "fields" ("image.contrast": counts).
size_t report_histograms(const Schema& schema);  // H: fields (or descriptors) + predicted class + one per class
// Whether a report counts the predicted class: not for a regression (no classes) nor a multilabel
// task (each finding is its own question: its probability histogram holds the finding's bins, and
// an image is still counted once, in one histogram or in each as the privacy budget says).
bool report_has_predicted(const Schema& schema);
// What a patient counted in a report spends (schema.h, Privacy): epsilon when each patient is in
// one histogram, H x epsilon when in every one.
double report_epsilon_per_patient(const Schema& schema);
// How many of `patients` one histogram holds, about: patients / H when each is in one histogram.
uint64_t histogram_patients(const Schema& schema, uint64_t patients);

inline constexpr size_t kMaxReportBytes = 64 * 1024;
// n of one report at most: about one busy device's day. Reports are anonymous, so one forged
// report must not outweigh many honest ones; the browser splits a larger file into several reports.
inline constexpr uint64_t kMaxReportPredictions = 5000;

//-----------------------------------------------------------------------------
// [SECTION] Building
//-----------------------------------------------------------------------------
// The browser keeps one accumulator per model version; add() takes the validated values and
// probabilities of one prediction (already randomized inside, so the true bins are never stored).
// An imaging task's values are the image's descriptors (image_descriptors.h, NaN: not given).
struct ReportBuilder {
    MetricsReport report;
    const Reference* reference = nullptr;
    Privacy::Counting counting = Privacy::Counting::one_histogram;
};
ReportBuilder report_builder(const Schema& schema, const Reference& reference, std::string model, int64_t version,
                             std::string day);
// `rng` supplies the randomness (the browser seeds it from crypto.getRandomValues).
void report_add(ReportBuilder& b, std::span<const double> values, std::span<const double> probabilities, int predicted,
                std::mt19937_64& rng);
Json report_to_json(const MetricsReport& r);
// Adds `from` into `into`: predictions randomized one by one sum as they are. False (and `into`
// unchanged) unless both are of one model, version and day with histograms of the same shape.
bool report_merge(MetricsReport& into, const MetricsReport& from);

// A patient counts once. On the patient page, successive predictions are what-if edits of one
// patient while they share most of their values: same_patient() says whether `next` (validated
// values, NaN for missing) is still the patient of `previous`: at most half of the fields filled in
// either differ. The page reports only the last prediction of each patient (when the form is
// cleared, another patient is entered, the page is left, or 30 minutes pass: kPatientHoldSeconds).
bool same_patient(std::span<const double> previous, std::span<const double> next);
inline constexpr int kPatientHoldSeconds = 30 * 60;

// When a report travels, in one place for the page (when it sends and what it deletes), the
// app's words (the Reporting view) and the server (which days it takes): a complete report leaves
// the device at a random moment between send_after_min and send_after_max seconds after it is
// complete, so its arrival does not show when a clinician worked; a report is dated by the day
// of its predictions and is taken (and kept on the device) from keep_days before the server's
// day to the day after it (a device's clock may run ahead); older ones are deleted unsent.
struct ReportTiming {
    int64_t send_after_min_seconds = 60;
    int64_t send_after_max_seconds = 6 * 3600;
    int64_t hold_seconds = kPatientHoldSeconds;
    int64_t keep_days = 1;
};
inline constexpr ReportTiming kReportTiming{};
// The days a report may be dated at `now` (seconds since 1970, UTC): "YYYY-MM-DD" both.
struct ReportDays {
    std::string oldest, newest;
};
ReportDays report_days(int64_t now);
bool report_day_current(const std::string& day, int64_t now);
// {"send_after_seconds": [min, max], "hold_seconds", "keep_days"}, and with now >= 0 the days
// at that time, "oldest_day" and "newest_day" (the model info's "privacy" block has the first three).
Json report_timing_json(int64_t now = -1);
// What the clinician is told of it: "A complete report leaves at a random moment between 1 minute
// and 6 hours later, so its arrival does not show when you worked; reports not sent by the next
// day are deleted."
std::string report_timing_words();

//-----------------------------------------------------------------------------
// [SECTION] Parsing and checking
//-----------------------------------------------------------------------------
// Strict: the exact keys, integer counts >= 0, one histogram per field with the reference's
// number of bins, counts per histogram summing to n, n >= k_min, epsilon equal to the bundle's,
// a valid day. Problems name the key ("fields.glucose") and the reason.
Result<MetricsReport> report_parse(std::string_view body, const Schema& schema, const Reference& reference);

//-----------------------------------------------------------------------------
// [SECTION] Debiasing and drift figures
//-----------------------------------------------------------------------------
// Unbiased estimate of the true counts from randomized-response counts over `n` patients.
std::vector<double> randomized_response_debias(std::span<const uint64_t> observed, uint64_t n, double epsilon);

struct FieldDrift {
    std::string field;
    double psi = 0, js = 0;
    uint64_t predictions = 0;  // behind the figure
    std::string status;        // "ok", "warn", "alert", "insufficient"
};
// Compares debiased live counts with the reference; below `min_count` predictions the status is
// "insufficient" and no figure is published.
FieldDrift drift_compare(const std::string& field, std::span<const uint64_t> reference, std::span<const uint64_t> live,
                         uint64_t n, double epsilon, uint64_t min_count, double warn, double alert);

//-----------------------------------------------------------------------------
// [SECTION] Pooling sources robustly
//-----------------------------------------------------------------------------
// Reports are anonymous, so a forger can send as many as a source's budget allows, with counts of
// their choosing. Drift is therefore estimated from sources, not reports: a source is one client
// address on one day, and its reports of that day are added up.
//   1. No source weighs more than the median source: weight = min(n, median n).
//   2. Per bin, the sources' shares are averaged (by weight) after leaving out the `trim` fraction
//      of sources with the lowest and the highest share in that bin: a few sources with extreme
//      counts, whatever they chose, fall outside the average.
// The pooled counts are the averaged shares (renormalised) times the sum of the weights, so the
// debiasing and the drift figures read them as counts from that many predictions.
struct SourceCounts {
    uint64_t n = 0;                // predictions the source reported
    std::vector<uint64_t> counts;  // its randomized counts per bin
};
struct PooledCounts {
    std::vector<uint64_t> counts;
    uint64_t n = 0;        // sum of the weights: predictions the pooled counts stand for
    size_t sources = 0;    // sources with at least one prediction
    double max_ratio = 0;  // the largest source's n over the median source's n (volume anomaly)
};
inline constexpr double kSourceTrim = 0.2;
PooledCounts pool_sources(std::span<const SourceCounts> sources, size_t bins, double trim = kSourceTrim);

}  // namespace ldx
