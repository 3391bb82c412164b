// shared/explain/points.cpp — see points.h.
#include "explain/points.h"

#include <algorithm>
#include <cmath>

namespace ldx {

double probability_at(Link link, std::span<const double> margins, int klass) {
    if (link == Link::identity) return margins[0];
    if (link == Link::logistic) {
        const double p1 = 1.0 / (1.0 + std::exp(-margins[0]));
        return klass == 1 ? p1 : 1.0 - p1;
    }
    const double top = *std::max_element(margins.begin(), margins.end());
    double sum = 0;
    for (double m : margins) sum += std::exp(m - top);
    return std::exp(margins[static_cast<size_t>(klass)] - top) / sum;
}

PointsExplanation explanation_points(Link link, std::span<const double> base_margins, std::span<const double> fields,
                                     int klass, double probability) {
    PointsExplanation out;
    out.base = probability_at(link, base_margins, klass);
    out.probability = probability;
    double sum = 0;
    for (double f : fields) sum += f;
    const double delta = probability - out.base;
    out.fields.assign(fields.size(), 0.0);
    if (link == Link::identity) {  // regression: contributions are in the outcome's unit already
        out.fields.assign(fields.begin(), fields.end());
        out.ok = true;
        return out;
    }
    if (sum == 0) {
        out.ok = std::abs(delta) < 1e-9;
        return out;
    }
    if (delta / sum < 0) return out;  // the signs cannot be kept: stay in margin units
    const double scale = delta / sum;
    for (size_t f = 0; f < fields.size(); ++f) out.fields[f] = fields[f] * scale;
    out.ok = true;
    return out;
}

}  // namespace ldx
