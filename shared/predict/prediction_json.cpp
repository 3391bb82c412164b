// shared/predict/prediction_json.cpp — see prediction_json.h.
#include "predict/prediction_json.h"

#include <cmath>

#include "conformal/conformal.h"

namespace ldx {

namespace {
Json number_or_null(double v) { return std::isnan(v) ? Json(nullptr) : Json(v); }
}  // namespace

// What the core knows before any model runs: the prepared record.
Json prepared_json(const PreparedRecord& r) {
    Json j{{"ok", true}};
    Json fj = Json::array(), vj = Json::array();
    for (float f : r.features) fj.push_back(number_or_null(f));
    for (double v : r.values) vj.push_back(number_or_null(v));
    j["features"] = fj;
    j["values"] = vj;
    j["warnings"] = problems_json(r.warnings);
    return j;
}

// What an explanation of output `out` is: {"kind", "unit", "of"} (the text the UI shows).
Json explanation_labels(const Model& m, int out) {
    const Schema& s = m.schema;
    if (s.outputs.regression()) {
        const std::string unit = unit_display(s.outputs.unit);
        return Json{{"kind", "treeshap"}, {"unit", unit.empty() ? "outcome units" : unit}, {"of", s.outputs.label}};
    }
    const std::string& explained = s.outputs.classes[static_cast<size_t>(s.num_classes() == 2 ? 1 : out)].label;
    if (m.ensemble) {
        const bool logistic = m.ensemble->link == Link::logistic;
        return Json{{"kind", "treeshap"},
                    {"unit", logistic ? "log-odds" : "margin"},
                    {"of", (logistic ? "log-odds of " : "margin of ") + explained}};
    }
    return Json{{"kind", "sampling-shapley"}, {"unit", "probability"}, {"of", "probability of " + explained}};
}

// Adds the model's answer (and explanation) to a prepared record's JSON.
void add_result(const Model& m, const Prediction& p, bool explain, Json& j) {
    const Schema& s = m.schema;
    j["probabilities"] = p.probabilities;
    Json classes = Json::array();
    for (const auto& c : s.outputs.classes) classes.push_back(c.name);
    j["classes"] = classes;
    j["predicted"] = p.predicted;
    if (s.outputs.regression()) {  // the value, as the clinician reads it
        j["value"] = p.probabilities[0];
        j["label"] = outcome_text(s.outputs, p.probabilities[0]);
        j["outcome"] = s.outputs.label;
        j["unit"] = unit_display(s.outputs.unit);
    } else {
        j["label"] = s.outputs.classes[static_cast<size_t>(p.predicted)].label;
    }
    j["margin"] = p.margin;
    if (!s.outputs.conformal.empty()) {
        j["conformal"] = conformal_prediction_json(s, p.probabilities);
        j["conformal"]["words"] = conformal_words(s, p.probabilities);
    }
    if (!explain) return;
    const int out = explanation_output(m, p.predicted);
    const auto per_field = contributions_by_field(s, p.explanation, out);
    const auto row = p.explanation.output(out);
    Json ex{{"output", out},
            {"base", p.explanation.base[static_cast<size_t>(out)]},
            {"contributions", std::vector<double>(row.begin(), row.end())},
            {"fields", per_field}};
    ex.update(explanation_labels(m, out));
    j["missing_share"] = missing_share(p.prepared.values, per_field);
    ex["points"] = points_json(model_explanation_points(m, p.explanation.base, per_field, out, p.probabilities));
    if (!m.ensemble) {
        const size_t nf = s.fields.size();
        ex["standard_error"] =
            std::vector<double>(p.standard_error.begin() + static_cast<long>(static_cast<size_t>(out) * nf),
                                p.standard_error.begin() + static_cast<long>(static_cast<size_t>(out + 1) * nf));
    }
    // All outputs, for multi-class consumers (tests compare every one).
    Json all = Json::array();
    for (int o = 0; o < p.explanation.num_outputs; ++o) {
        const auto r = p.explanation.output(o);
        all.push_back({{"base", p.explanation.base[static_cast<size_t>(o)]},
                       {"contributions", std::vector<double>(r.begin(), r.end())}});
    }
    ex["outputs"] = all;
    j["explanation"] = std::move(ex);
}

Json prediction_json(const Model& m, const Prediction& p, bool explain) {
    Json j = prepared_json(p.prepared);
    add_result(m, p, explain, j);
    return j;
}

Json incomplete_json(const Schema& s, const InformationCheck& c, const PreparedRecord& r, long row) {
    Json j = prepared_json(r);
    j.erase("features");
    j["ok"] = false;
    j["problems"] = problems_json(s, information_problems(s, c, row));
    Json names = Json::array(), labels = Json::array();
    for (int f : c.to_enter) {
        names.push_back(s.fields[static_cast<size_t>(f)].name);
        labels.push_back(s.fields[static_cast<size_t>(f)].label);
    }
    j["incomplete"] = {{"message", c.message},
                       {"fields", names},
                       {"labels", labels},
                       {"missing_share", c.missing_share},
                       {"max_missing_share", s.minimum_information ? s.minimum_information->max_missing_share : 1.0}};
    return j;
}

Json points_json(const PointsExplanation& pts) {
    return Json{{"ok", pts.ok}, {"base", pts.base}, {"probability", pts.probability}, {"fields", pts.fields}};
}

}  // namespace ldx
