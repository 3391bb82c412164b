// shared/predict/prediction_json.h — a prediction as JSON: one shape for the browser's core
// (shared/client), the CLI's `localdx predict --format json` and the tests.
//
// Index of this file
//   [SECTION] Prediction JSON
//
// {"ok": true, "features": [...], "values": [...] (null = missing), "warnings": [problems],
//  "probabilities": [K], "classes": [K names], "predicted": class index, "label": its label,
//  "margin": [O], "conformal": {..., "words"} (when the bundle has prediction sets),
//  "missing_share", "explanation": {"output", "base", "contributions": [features],
//  "fields": [fields], "kind", "unit", "of", "points", "outputs": [{"base", "contributions"}]
//  (every output), "standard_error" (model-agnostic)}}.
// Probabilities, contributions and fields are in the schema's order (classes, features, fields).
// Regression: "probabilities" holds the one predicted value, "classes" is empty, and "value",
// "label" (the value as read: "152 points"), "outcome" (its label) and "unit" say what it is; the
// explanation is in the outcome's unit (base + sum of fields = the value).
#pragma once
#include "base/json.h"
#include "explain/points.h"
#include "predict/predict.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Prediction JSON
//-----------------------------------------------------------------------------
// What the core knows before any model runs: the prepared record.
Json prepared_json(const PreparedRecord& r);
// What an explanation of output `out` is: {"kind", "unit", "of"} (the text the UI shows).
Json explanation_labels(const Model& m, int out);
// Adds the model's answer (and, with explain, its explanation) to a prepared record's JSON.
void add_result(const Model& m, const Prediction& p, bool explain, Json& j);
// prepared_json + add_result.
Json prediction_json(const Model& m, const Prediction& p, bool explain);
// A record below the model's minimum information (predict/information.h): no verdict, but
// {"ok": false, "problems": [information_problems], "incomplete": {"message", "fields": [names],
// "labels": [labels], "missing_share", "max_missing_share"}, "values", "warnings"}.
Json incomplete_json(const Schema& s, const InformationCheck& c, const PreparedRecord& r, long row = -1);
// {"ok", "base", "probability", "fields"}: an explanation in probability (predict.h).
Json points_json(const PointsExplanation& pts);

}  // namespace ldx
