// shared/explain/points.h — an explanation in probability points, from one in margin space.
//
// Index of this file
//   [SECTION] Points explanation
//   [SECTION] Figures as shown: rounded to add up, no sign on a zero
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
#include <string>
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

//-----------------------------------------------------------------------------
// [SECTION] Figures as shown: rounded to add up, no sign on a zero
//-----------------------------------------------------------------------------
// The explanation's rows as shown, at `decimals` places: each value rounded, then the fewest of
// them moved by one step (those that rounding moved most the other way) so that they add up to
// `total` (the shown result minus the shown start, both as rounded on screen: 54.3% - 34.9%, not
// the exact difference); no value changes sign. Rows that add up to the headline to the last digit.
std::vector<double> rounded_to_total(std::span<const double> values, int decimals, double total);

// "+1.2", "-0.4", "0.0": a signed figure at `decimals` places, no
// sign on a figure that shows as zero.
std::string signed_figure(double value, int decimals);

}  // namespace ldx
