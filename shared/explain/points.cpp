// shared/explain/points.cpp — see points.h.
#include "explain/points.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

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

std::vector<double> rounded_to_total(std::span<const double> values, int decimals, double total) {
    const double scale = std::pow(10.0, decimals);
    std::vector<long long> steps(values.size());
    long long sum = 0;
    for (size_t i = 0; i < values.size(); ++i) sum += steps[i] = std::llround(values[i] * scale);
    long long left = std::llround(total * scale) - sum;
    // One step at a time to the value whose rounding lost the most in that direction.
    while (left != 0) {
        const int dir = left > 0 ? 1 : -1;
        size_t best = values.size();
        double most = -INFINITY;
        for (size_t i = 0; i < values.size(); ++i) {
            const long long moved = steps[i] + dir;
            if ((values[i] > 0 && moved < 0) || (values[i] < 0 && moved > 0) || values[i] == 0) continue;
            const double lost = (values[i] * scale - static_cast<double>(steps[i])) * dir;
            if (lost > most) most = lost, best = i;
        }
        if (best == values.size()) break;  // nothing can move without changing a sign
        steps[best] += dir;
        left -= dir;
    }
    std::vector<double> out(values.size());
    for (size_t i = 0; i < values.size(); ++i) out[i] = static_cast<double>(steps[i]) / scale;
    return out;
}

std::string signed_figure(double value, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, std::abs(value));
    const bool zero = std::llround(std::abs(value) * std::pow(10.0, decimals)) == 0;
    if (zero) return buf;
    return (value > 0 ? "+" : "-") + std::string(buf);
}

}  // namespace ldx
