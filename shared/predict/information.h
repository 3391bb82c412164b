// shared/predict/information.h — the minimum-information rule: when a model gives a verdict at all.
//
// Index of this file
//   [SECTION] The check (the page, the batch view, `localdx predict`)
//   [SECTION] The default, derived at training time
//   [SECTION] Words for the model card
//
// A threshold call, a prediction set or an interval computed from a near-empty form is a
// confident answer to a question nobody asked: the model's explanation then rests on values that
// were not measured. The schema's "minimum_information" (schema/schema.h) names the fields the
// model gives no verdict without, and the largest share of the explanation missing values may
// carry; below it every front end shows "Enter <labels> to get a result" instead of a result.
#pragma once
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "schema/schema.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] The check
//-----------------------------------------------------------------------------
struct InformationCheck {
    bool enough = true;
    std::vector<int> to_enter;  // schema field indices: the listed fields not given, then the missing
                                // fields that weigh most, until the rest is within the limit
    double missing_share = 0;   // the missing fields' share of the explanation (their weights' sum)
    std::string message;        // "Enter Plasma glucose and Body mass index to get a result: ..."
};

// `values`: the record's values per field (NaN = missing), as record_prepare gives them: the check
// needs no model output, so every front end makes it before scoring. A schema without a rule:
// always enough.
InformationCheck information_check(const Schema& s, std::span<const double> values);

// The check as problems: "incomplete" with the message (no field), then one "incomplete" per field
// to enter ("needed for a result"), so a form marks each field. `row` as in record_prepare.
std::vector<Problem> information_problems(const Schema& s, const InformationCheck& c, long row = -1);

//-----------------------------------------------------------------------------
// [SECTION] The default, derived at training time
//-----------------------------------------------------------------------------
// The rule `localdx train` writes into the trained schema when the task's schema gives none, from
// the out-of-fold explanations of the training rows (`oof`: rows x fields, per field, of the
// output each row's verdict shows), so that every patient as complete as those the model was
// validated on gets a result and none much less complete does:
//  - weights: each field's mean share of a row's explanation (|contribution| / sum of them);
//  - fields: the most important fields, taken until they weigh half, at most
//    kInformationMaxFields, among those given for every training row;
//  - max_missing_share: the most any training row missed (the weights of its missing fields),
//    rounded up to the next 5% above it, at least kMissingShareFloor.
inline constexpr size_t kInformationMaxFields = 3;
inline constexpr double kMissingShareFloor = 0.25;
MinimumInformation information_derive(const Schema& s, std::span<const double> values, std::span<const double> oof,
                                      size_t rows);

//-----------------------------------------------------------------------------
// [SECTION] Words for the model card
//-----------------------------------------------------------------------------
// "No result without Age, or when the missing values carry more than 40% of the explanation ...
// Rule <basis>." / "This model states no minimum information: every record gets a result."
std::string information_words(const Schema& s);

// "A", "A and B", "A, B and C": the fields' labels.
std::string field_labels_list(const Schema& s, std::span<const int> fields);

}  // namespace ldx
