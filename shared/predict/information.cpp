// shared/predict/information.cpp — see information.h.
//
// Index of this file
//   [SECTION] The check
//   [SECTION] The default, derived at training time
//   [SECTION] Words for the model card
#include "predict/information.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace ldx {

namespace {
std::string percent(double share) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%.0f%%", share * 100);
    return buf;
}
}  // namespace

std::string field_labels_list(const Schema& s, std::span<const int> fields) {
    std::string out;
    for (size_t i = 0; i < fields.size(); ++i) {
        if (i > 0) out += i + 1 == fields.size() ? " and " : ", ";
        out += s.fields[static_cast<size_t>(fields[i])].label;
    }
    return out;
}

//-----------------------------------------------------------------------------
// [SECTION] The check
//-----------------------------------------------------------------------------
namespace {
double weight(const MinimumInformation& mi, size_t f, size_t fields) {
    return mi.weights.size() == fields ? mi.weights[f] : 1.0 / static_cast<double>(fields);
}
}  // namespace

InformationCheck information_check(const Schema& s, std::span<const double> values) {
    InformationCheck c;
    if (!s.minimum_information || values.size() != s.fields.size()) return c;
    const MinimumInformation& rule = *s.minimum_information;
    const size_t nf = s.fields.size();
    std::vector<int> listed;  // listed fields that are not given
    for (const std::string& name : rule.fields)
        if (const int f = s.find_field(name); f >= 0 && std::isnan(values[static_cast<size_t>(f)])) listed.push_back(f);
    std::vector<int> others;  // other missing fields
    for (size_t f = 0; f < nf; ++f) {
        if (!std::isnan(values[f])) continue;
        c.missing_share += weight(rule, f, nf);
        if (std::find(listed.begin(), listed.end(), static_cast<int>(f)) == listed.end())
            others.push_back(static_cast<int>(f));
    }
    const bool share_exceeded = c.missing_share > rule.max_missing_share;
    c.enough = listed.empty() && !share_exceeded;
    if (c.enough) return c;
    // The listed fields, then the missing fields that weigh most until the rest is within the limit.
    c.to_enter = listed;
    double rest = 0;
    for (int f : others) rest += weight(rule, static_cast<size_t>(f), nf);
    std::stable_sort(others.begin(), others.end(), [&](int a, int b) {
        return weight(rule, static_cast<size_t>(a), nf) > weight(rule, static_cast<size_t>(b), nf);
    });
    for (int f : others) {
        if (rest <= rule.max_missing_share) break;
        c.to_enter.push_back(f);
        rest -= weight(rule, static_cast<size_t>(f), nf);
    }
    std::string why;
    if (!listed.empty()) why = "this model gives no result without " + field_labels_list(s, listed);
    if (share_exceeded)
        why += (why.empty() ? "" : ", and ") + std::string("the missing values would carry ") +
               percent(c.missing_share) + " of its explanation on average (a result allows at most " +
               percent(rule.max_missing_share) + ")";
    c.message = "Enter " + field_labels_list(s, c.to_enter) + " to get a result: " + why + ".";
    return c;
}

std::vector<Problem> information_problems(const Schema& s, const InformationCheck& c, long row) {
    if (c.enough) return {};
    std::vector<Problem> out{problem("incomplete", c.message, "", row)};
    for (int f : c.to_enter)
        out.push_back(problem("incomplete", "needed for a result", s.fields[static_cast<size_t>(f)].name, row));
    return out;
}

//-----------------------------------------------------------------------------
// [SECTION] The default, derived at training time
//-----------------------------------------------------------------------------
MinimumInformation information_derive(const Schema& s, std::span<const double> values, std::span<const double> oof,
                                      size_t rows) {
    const size_t nf = s.fields.size();
    MinimumInformation mi;
    if (nf == 0 || rows == 0 || values.size() != rows * nf || oof.size() != rows * nf) return mi;
    // Weights: each field's mean share of a row's explanation, out of fold.
    mi.weights.assign(nf, 0.0);
    std::vector<bool> always_given(nf, true);
    size_t explained = 0;
    for (size_t i = 0; i < rows; ++i) {
        double total = 0;
        for (size_t f = 0; f < nf; ++f) total += std::abs(oof[i * nf + f]);
        for (size_t f = 0; f < nf; ++f)
            if (std::isnan(values[i * nf + f])) always_given[f] = false;
        if (!(total > 0)) continue;
        ++explained;
        for (size_t f = 0; f < nf; ++f) mi.weights[f] += std::abs(oof[i * nf + f]) / total;
    }
    if (explained == 0) mi.weights.assign(nf, 1.0 / static_cast<double>(nf));
    else
        for (double& w : mi.weights) w /= static_cast<double>(explained);
    std::vector<int> order(nf);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        return mi.weights[static_cast<size_t>(a)] > mi.weights[static_cast<size_t>(b)];
    });
    double carried = 0;
    std::vector<int> chosen;
    for (int f : order) {
        if (carried >= 0.5 || chosen.size() >= kInformationMaxFields) break;
        carried += mi.weights[static_cast<size_t>(f)];
        if (!always_given[static_cast<size_t>(f)]) continue;
        chosen.push_back(f);
        mi.fields.push_back(s.fields[static_cast<size_t>(f)].name);
    }
    // The most any training row missed; the limit is the next 5% above it.
    double most = 0;
    for (size_t i = 0; i < rows; ++i) {
        double missed = 0;
        for (size_t f = 0; f < nf; ++f)
            if (std::isnan(values[i * nf + f])) missed += mi.weights[f];
        most = std::max(most, missed);
    }
    mi.max_missing_share = std::min(1.0, std::max(kMissingShareFloor, (std::floor(most * 20 + 1e-9) + 1) / 20));
    std::string weights;
    for (size_t k = 0; k < std::min<size_t>(3, nf); ++k)
        weights += (k ? ", " : "") + s.fields[static_cast<size_t>(order[k])].label + " " +
                   percent(mi.weights[static_cast<size_t>(order[k])]);
    mi.basis = "derived by localdx train from the out-of-fold explanations of its " + std::to_string(rows) +
               " training patients: each field weighs its mean share of them (" + weights + ", ...); " +
               (chosen.empty() ? std::string("no field given for every patient is among those that weigh half")
                               : field_labels_list(s, chosen) + (chosen.size() == 1 ? " is" : " are") +
                                     " among the fields that weigh half and " + (chosen.size() == 1 ? "was" : "were") +
                                     " given for every patient") +
               "; no training patient missed more than " + percent(most) + ", so the limit is " +
               percent(mi.max_missing_share) + " (never below " + percent(kMissingShareFloor) + ")";
    return mi;
}

//-----------------------------------------------------------------------------
// [SECTION] Words for the model card
//-----------------------------------------------------------------------------
std::string information_words(const Schema& s) {
    if (!s.minimum_information) return "This model states no minimum information: every record gets a result.";
    const MinimumInformation& mi = *s.minimum_information;
    std::vector<int> fields;
    for (const auto& n : mi.fields)
        if (int f = s.find_field(n); f >= 0) fields.push_back(f);
    if (fields.empty() && mi.max_missing_share >= 1) return "Every record gets a result.";
    std::string t = "No result";
    if (!fields.empty()) t += " without " + field_labels_list(s, fields);
    if (mi.max_missing_share < 1)
        t += std::string(fields.empty() ? "" : ", or") + " when the missing values would carry more than " +
             percent(mi.max_missing_share) + " of its explanation on average";
    t += ": the form lists the values to enter instead.";
    if (!mi.basis.empty()) t += " Rule " + mi.basis + ".";
    return t;
}

}  // namespace ldx
