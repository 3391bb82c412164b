// shared/drift/histogram.h — reference histograms, binning and drift statistics.
//
// Index of this file
//   [SECTION] Histogram
//   [SECTION] Bin edges from training quantiles
//   [SECTION] Drift statistics (PSI, Jensen-Shannon distance)
//   [SECTION] Reference histograms of a model (bundle member "reference.json")
//
// The browser bins each prediction's values with the same edges the trainer computed, so the
// server can compare live counts with training counts bin by bin.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "schema/schema.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Histogram
//-----------------------------------------------------------------------------
// With edges e[0] < ... < e[k-1], bins are (-inf, e0), [e0, e1), ..., [e(k-1), +inf): k+1 bins,
// then one more bin for missing values. A category uses edges 0.5, 1.5, ... so level i is bin i.
struct Histogram {
    std::string name;  // field name, or "probability"
    std::vector<double> edges;
    std::vector<uint64_t> counts;  // edges.size() + 2 (the last is "missing")

    size_t bins() const { return edges.size() + 2; }
    size_t missing_bin() const { return edges.size() + 1; }
};

size_t histogram_bin(const Histogram& h, double v);
void histogram_add(Histogram& h, double v);
Histogram histogram_empty(std::string name, std::vector<double> edges);

//-----------------------------------------------------------------------------
// [SECTION] Bin edges from training quantiles
//-----------------------------------------------------------------------------
// Up to `bins` bins with equal training mass; repeated quantiles collapse (a value taken by many
// rows gets its own bin). NaNs are ignored.
std::vector<double> quantile_edges(std::span<const double> values, int bins);

//-----------------------------------------------------------------------------
// [SECTION] Drift statistics
//-----------------------------------------------------------------------------
// Both smooth empty bins with `epsilon` (proportion) so that they stay finite.
double population_stability_index(std::span<const uint64_t> reference, std::span<const uint64_t> live,
                                  double epsilon = 1e-4);
double jensen_shannon_distance(std::span<const uint64_t> reference,
                               std::span<const uint64_t> live);  // base 2, in [0, 1]

//-----------------------------------------------------------------------------
// [SECTION] Reference histograms of a model
//-----------------------------------------------------------------------------
struct Reference {
    std::vector<Histogram> fields;   // one per schema field, in schema order
    std::vector<Histogram> classes;  // one per class: P(class) in 10 equal bins [0.1, ..., 0.9];
                                     // regression: one, the predicted value in quantile bins of training
    // An imaging task: the descriptors of the training images (drift/image_descriptors.h), in the
    // order of kImageDescriptorNames; empty for a tabular task.
    std::vector<Histogram> image;
    uint64_t rows = 0;

    // The histograms a report counts per input: the schema's fields, then the image descriptors.
    size_t inputs() const { return fields.size() + image.size(); }
    const Histogram& input(size_t i) const { return i < fields.size() ? fields[i] : image[i - fields.size()]; }
};

// values: row-major rows x schema.fields (as record_prepare gives them); probabilities: row-major
// rows x classes (regression: one predicted value per row). A task without fields (an image
// alone) counts its rows from the probabilities.
Reference reference_build(const Schema& schema, std::span<const double> values, std::span<const double> probabilities,
                          int bins = 10);
// "image" (the descriptors' histograms) is written for an imaging task and required when reading
// one: a bundle built before image drift existed is refused with the advice to build it again.
Json reference_to_json(const Reference& r);
Result<Reference> reference_from_json(const Json& j, const Schema& schema);

}  // namespace ldx
