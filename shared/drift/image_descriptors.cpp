// shared/drift/image_descriptors.cpp — see image_descriptors.h.
#include "drift/image_descriptors.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "csv/csv.h"
#include "record/record.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Descriptors of one image
//-----------------------------------------------------------------------------
namespace {
constexpr double kNotGiven = std::numeric_limits<double>::quiet_NaN();
}  // namespace

double image_category_value(const std::vector<std::string>& listed, std::string_view value) {
    if (value.empty()) return kNotGiven;
    const auto it = std::find(listed.begin(), listed.end(), value);
    return static_cast<double>(it - listed.begin());  // listed.size() for any other value
}

ImageDescriptors image_descriptors(const ImageInput& in, const Pixels& p, const Tensor& t) {
    const TensorStatistics s = tensor_statistics(t);
    return {image_category_value(in.modalities, p.modality),
            image_category_value(in.body_parts, p.body_part),
            image_category_value(in.views, p.view),
            std::sqrt(static_cast<double>(p.width) * static_cast<double>(p.height)),
            p.pixel_spacing > 0 ? p.pixel_spacing : kNotGiven,
            p.bits_stored > 0 ? static_cast<double>(p.bits_stored) : kNotGiven,
            s.mean,
            s.std};
}

//-----------------------------------------------------------------------------
// [SECTION] The training images' descriptors
//-----------------------------------------------------------------------------
Result<std::vector<double>> image_descriptors_from_csv(const ImageInput& in, std::string_view csv) {
    auto table = csv_parse(csv);
    if (!table) return table.problems();
    const std::array<const char*, 9> names{"modality",      "body_part",   "view", "rows", "columns",
                                           "pixel_spacing", "bits_stored", "mean", "std"};
    std::array<size_t, 9> col{};
    for (size_t k = 0; k < names.size(); ++k) {
        const auto it = std::find(table->header.begin(), table->header.end(), names[k]);
        if (it == table->header.end())
            return problem("bad_descriptors",
                           std::string("the image descriptors CSV needs the columns modality, body_part, view, rows, "
                                       "columns, pixel_spacing, bits_stored, mean, std; ") +
                               names[k] + " is missing",
                           names[k]);
        col[k] = static_cast<size_t>(it - table->header.begin());
    }
    std::vector<double> out;
    for (size_t i = 0; i < table->rows.size(); ++i) {
        if (auto p = csv_row_problem(*table, i)) return *p;
        const auto& cells = table->rows[i];
        const long row = static_cast<long>(i + 1);
        // A number, NaN for an empty cell (not given); a bad cell names its column and row.
        auto number = [&](size_t k) -> Result<double> {
            const std::string& cell = cells[col[k]];
            if (cell.empty()) return kNotGiven;
            auto v = number_parse(cell);
            const bool signed_ = k == 7;  // the tensor's mean may be below 0; sizes and spreads not
            if (!v || !std::isfinite(*v) || (!signed_ && *v < 0))
                return problem(
                    "bad_descriptors",
                    std::string(names[k]) + (signed_ ? " must be a number" : " must be a number of at least 0"),
                    names[k], row);
            return *v;
        };
        ImageDescriptors d{};
        d[0] = image_category_value(in.modalities, cells[col[0]]);
        d[1] = image_category_value(in.body_parts, cells[col[1]]);
        d[2] = image_category_value(in.views, cells[col[2]]);
        std::array<double, 6> v{};
        for (size_t k = 3; k < names.size(); ++k) {
            auto x = number(k);
            if (!x) return x.problems();
            if ((k == 3 || k == 4) && *x < 1)  // an image has a row and a column at least
                return problem("bad_descriptors", std::string(names[k]) + " must be at least 1 (or empty: not given)",
                               names[k], row);
            v[k - 3] = *x;
        }
        d[3] = std::sqrt(v[0] * v[1]);  // NaN when either side is not given
        d[4] = v[2] > 0 ? v[2] : kNotGiven;
        d[5] = v[3] > 0 ? v[3] : kNotGiven;
        d[6] = v[4];
        d[7] = v[5];
        out.insert(out.end(), d.begin(), d.end());
    }
    if (out.empty()) return problem("bad_descriptors", "the image descriptors CSV has no images");
    return out;
}

//-----------------------------------------------------------------------------
// [SECTION] Reference histograms
//-----------------------------------------------------------------------------
std::vector<Histogram> image_reference_histograms(const ImageInput& in, std::span<const double> rows) {
    const size_t n = rows.size() / kImageDescriptors;
    auto categories = [](size_t listed) {
        std::vector<double> e;
        for (size_t i = 0; i < listed; ++i) e.push_back(static_cast<double>(i) + 0.5);
        return e;  // listed values, then "other"
    };
    std::vector<double> column(n);
    auto column_of = [&](size_t k) {
        for (size_t i = 0; i < n; ++i) column[i] = rows[i * kImageDescriptors + k];
        return std::span<const double>(column);
    };
    const std::array<std::vector<double>, kImageDescriptors> edges{categories(in.modalities.size()),
                                                                   categories(in.body_parts.size()),
                                                                   categories(in.views.size()),
                                                                   std::vector<double>{256, 512, 1024, 2048},
                                                                   std::vector<double>{0.1, 0.15, 0.2, 0.3, 0.5},
                                                                   std::vector<double>{8.5, 10.5, 12.5, 14.5},
                                                                   quantile_edges(column_of(6), 5),
                                                                   quantile_edges(column_of(7), 5)};
    std::vector<Histogram> out;
    for (size_t k = 0; k < kImageDescriptors; ++k) {
        Histogram h = histogram_empty(std::string(kImageDescriptorNames[k]), edges[k]);
        for (double v : column_of(k)) histogram_add(h, v);
        out.push_back(std::move(h));
    }
    return out;
}

}  // namespace ldx
