// shared/drift/histogram.cpp — see histogram.h.
#include "drift/histogram.h"

#include <algorithm>
#include <cmath>

#include "drift/image_descriptors.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Histogram
//-----------------------------------------------------------------------------
size_t histogram_bin(const Histogram& h, double v) {
    if (std::isnan(v)) return h.missing_bin();
    return static_cast<size_t>(std::upper_bound(h.edges.begin(), h.edges.end(), v) - h.edges.begin());
}

void histogram_add(Histogram& h, double v) { ++h.counts[histogram_bin(h, v)]; }

Histogram histogram_empty(std::string name, std::vector<double> edges) {
    Histogram h{std::move(name), std::move(edges), {}};
    h.counts.assign(h.bins(), 0);
    return h;
}

//-----------------------------------------------------------------------------
// [SECTION] Bin edges from training quantiles
//-----------------------------------------------------------------------------
std::vector<double> quantile_edges(std::span<const double> values, int bins) {
    std::vector<double> v;
    for (double x : values)
        if (!std::isnan(x)) v.push_back(x);
    std::sort(v.begin(), v.end());
    std::vector<double> edges;
    if (v.empty() || bins < 2) return edges;
    for (int i = 1; i < bins; ++i) {
        // Edge at the i/bins quantile; a value equal to the edge goes right, so edges sit on
        // observed values and ties stay together.
        const size_t idx =
            std::min(v.size() - 1, static_cast<size_t>(std::ceil(static_cast<double>(i) * v.size() / bins)));
        const double e = v[idx];
        if (e > v.front() && (edges.empty() || e > edges.back())) edges.push_back(e);
    }
    return edges;
}

//-----------------------------------------------------------------------------
// [SECTION] Drift statistics
//-----------------------------------------------------------------------------
namespace {
std::vector<double> proportions(std::span<const uint64_t> c, double epsilon) {
    double total = 0;
    for (uint64_t x : c) total += static_cast<double>(x);
    std::vector<double> p(c.size());
    for (size_t i = 0; i < c.size(); ++i) p[i] = total > 0 ? static_cast<double>(c[i]) / total : 0.0;
    if (epsilon > 0) {
        double s = 0;
        for (double& x : p) s += (x = std::max(x, epsilon));
        for (double& x : p) x /= s;
    }
    return p;
}
}  // namespace

double population_stability_index(std::span<const uint64_t> reference, std::span<const uint64_t> live, double epsilon) {
    const auto p = proportions(reference, epsilon), q = proportions(live, epsilon);
    double psi = 0;
    for (size_t i = 0; i < p.size() && i < q.size(); ++i) psi += (q[i] - p[i]) * std::log(q[i] / p[i]);
    return psi;
}

double jensen_shannon_distance(std::span<const uint64_t> reference, std::span<const uint64_t> live) {
    const auto p = proportions(reference, 0), q = proportions(live, 0);
    double js = 0;
    for (size_t i = 0; i < p.size() && i < q.size(); ++i) {
        const double m = 0.5 * (p[i] + q[i]);
        if (p[i] > 0) js += 0.5 * p[i] * std::log2(p[i] / m);
        if (q[i] > 0) js += 0.5 * q[i] * std::log2(q[i] / m);
    }
    return std::sqrt(std::max(0.0, js));
}

//-----------------------------------------------------------------------------
// [SECTION] Reference histograms of a model
//-----------------------------------------------------------------------------
namespace {
std::vector<double> field_edges(const Field& f, std::span<const double> column, int bins) {
    if (f.type == FieldType::category || f.type == FieldType::boolean) {
        const size_t levels = f.type == FieldType::boolean ? 2 : f.levels.size();
        std::vector<double> e;
        for (size_t i = 1; i < levels; ++i) e.push_back(static_cast<double>(i) - 0.5);
        return e;
    }
    return quantile_edges(column, bins);
}
std::vector<double> probability_edges() { return {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}; }
}  // namespace

Reference reference_build(const Schema& schema, std::span<const double> values, std::span<const double> probabilities,
                          int bins) {
    Reference r;
    const size_t nf = schema.fields.size(), k = static_cast<size_t>(schema.num_classes());
    r.rows = nf ? values.size() / nf : probabilities.size() / std::max<size_t>(1, schema.outputs.regression() ? 1 : k);
    std::vector<double> column(r.rows);
    for (size_t f = 0; f < nf; ++f) {
        for (size_t i = 0; i < r.rows; ++i) column[i] = values[i * nf + f];
        Histogram h = histogram_empty(schema.fields[f].name, field_edges(schema.fields[f], column, bins));
        for (double v : column) histogram_add(h, v);
        r.fields.push_back(std::move(h));
    }
    if (schema.outputs.regression()) {
        Histogram h = histogram_empty(schema.outputs.column, quantile_edges(probabilities.subspan(0, r.rows), bins));
        for (size_t i = 0; i < r.rows && i < probabilities.size(); ++i) histogram_add(h, probabilities[i]);
        r.classes.push_back(std::move(h));
        return r;
    }
    for (size_t c = 0; c < k; ++c) {
        Histogram h = histogram_empty(schema.outputs.classes[c].name, probability_edges());
        for (size_t i = 0; i < r.rows && i * k + c < probabilities.size(); ++i)
            histogram_add(h, probabilities[i * k + c]);
        r.classes.push_back(std::move(h));
    }
    return r;
}

Json reference_to_json(const Reference& r) {
    auto hist = [](const Histogram& h) { return Json{{"name", h.name}, {"edges", h.edges}, {"counts", h.counts}}; };
    Json fields = Json::array(), classes = Json::array();
    for (const auto& h : r.fields) fields.push_back(hist(h));
    for (const auto& h : r.classes) classes.push_back(hist(h));
    Json j{{"format", "localdx-reference/1"}, {"rows", r.rows}, {"fields", fields}, {"classes", classes}};
    if (!r.image.empty()) {
        Json image = Json::array();
        for (const auto& h : r.image) image.push_back(hist(h));
        j["image"] = image;
    }
    return j;
}

Result<Reference> reference_from_json(const Json& j, const Schema& schema) {
    auto bad = [](std::string m) { return problem("bad_reference", "reference histograms: " + m); };
    if (!j.is_object() || json_text_or(j, "format") != "localdx-reference/1")
        return bad("not a localdx-reference/1 document");
    Reference r;
    auto read = [&](const Json& x, Histogram& h) -> bool {
        if (!x.is_object() || !x.contains("name") || !x["name"].is_string() || !x.contains("edges") ||
            !x["edges"].is_array() || !x.contains("counts") || !x["counts"].is_array())
            return false;
        h.name = x["name"].get<std::string>();
        for (const Json& e : x["edges"]) {
            if (!e.is_number()) return false;
            h.edges.push_back(e.get<double>());
        }
        for (size_t i = 1; i < h.edges.size(); ++i)
            if (!(h.edges[i] > h.edges[i - 1])) return false;
        for (const Json& c : x["counts"]) {
            if (!c.is_number_unsigned()) return false;
            h.counts.push_back(c.get<uint64_t>());
        }
        return h.counts.size() == h.bins();
    };
    if (!j.contains("rows") || !j["rows"].is_number_unsigned()) return bad("rows is missing");
    r.rows = j["rows"].get<uint64_t>();
    if (!j.contains("fields") || !j["fields"].is_array() || j["fields"].size() != schema.fields.size())
        return bad("needs one histogram per schema field");
    for (size_t i = 0; i < schema.fields.size(); ++i) {
        Histogram h;
        if (!read(j["fields"][i], h) || h.name != schema.fields[i].name)
            return bad("the histogram of field '" + schema.fields[i].name + "' is malformed");
        r.fields.push_back(std::move(h));
    }
    if (!j.contains("classes") || !j["classes"].is_array() ||
        j["classes"].size() != static_cast<size_t>(schema.num_outputs()))
        return bad(schema.outputs.regression() ? "needs one histogram of the predicted value"
                                               : "needs one probability histogram per class");
    for (const Json& x : j["classes"]) {
        Histogram h;
        if (!read(x, h)) return bad("a class probability histogram is malformed");
        r.classes.push_back(std::move(h));
    }
    if (schema.image) {
        if (!j.contains("image") || !j["image"].is_array() || j["image"].size() != kImageDescriptors)
            return bad("an imaging model needs the histograms of its training images' descriptors (" +
                       std::to_string(kImageDescriptors) + "); build the bundle again with this version of localdx");
        for (size_t k = 0; k < kImageDescriptors; ++k) {
            Histogram h;
            if (!read(j["image"][k], h) || h.name != kImageDescriptorNames[k])
                return bad("the histogram of " + std::string(kImageDescriptorNames[k]) + " is malformed");
            r.image.push_back(std::move(h));
        }
    }
    return r;
}

}  // namespace ldx
