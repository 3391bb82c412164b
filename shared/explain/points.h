// shared/explain/points.h — an explanation in probability points, from one in margin space.
//
// Index of this file
//   [SECTION] Points explanation
//
// Exact TreeSHAP explains a tree model's margin (log-odds for a binary model, one softmax margin
// per class otherwise): base + sum(phi) = margin. A clinician reads probabilities, so the view
// shows each field's share of the change from the baseline probability (the model's output at
// the base margins) to the shown probability, in percentage points:
//     psi_f = phi_f * (p - p0) / sum(phi)
// They add up exactly (p0 + sum(psi) = p) and keep the sign of every exact value, because the
// link is monotonic in the explained margin: p - p0 has the sign of sum(phi). For a softmax model
// the other classes' margins move too, so p - p0 can have the other sign than sum(phi); the
// explanation is then not expressible in points with the signs kept, and the view stays in margin
// units and says so. The raw margin-space values stay available under technical details.
#pragma once
#include <span>
#include <vector>

#include "trees/ensemble.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Points explanation
//-----------------------------------------------------------------------------
struct PointsExplanation {
    bool ok = false;             // false: kept in margin units (see above)
    double base = 0;             // baseline probability p0 of the explained class
    double probability = 0;      // the shown probability p
    std::vector<double> fields;  // per field, in probability (x100 for points): p0 + sum = p
};

// base_margins: every output's base value (binary: one); fields: the explained output's per-field
// contributions (binary: of the one log-odds output); klass: the class whose probability is shown
// (binary: 1, softmax: the explained output); probability: p.
PointsExplanation explanation_points(Link link, std::span<const double> base_margins, std::span<const double> fields,
                                     int klass, double probability);

// The probability of `klass` at the given margins (logistic: sigma of the one margin).
double probability_at(Link link, std::span<const double> margins, int klass);

}  // namespace ldx
