// wasm/app/state.cpp — the app's one state and what changes it outside drawing: the form and its record, a multi-class
// result's explanation of another class, and the page's messages read once.
//
// Index of this file
//   [SECTION] State and form helpers
//   [SECTION] Explanations of another class
//   [SECTION] Results, read once
#include "app.h"

#include <algorithm>

#include "record/fhir.h"
#include "record/record.h"

namespace ldx::app {

//-----------------------------------------------------------------------------
// [SECTION] State and form helpers
//-----------------------------------------------------------------------------
AppState& state() {
    static AppState s;  // the UI's one state; immediate-mode widgets read and edit it
    return s;
}

void form_reset(AppState& s) {
    s.form.assign(s.model ? s.model->model.schema.fields.size() : 0, FieldInput{});
    s.result.reset();
    s.result_stale = false;
    s.live_problems = Json::array();
    s.chart.clear();
    s.save_preview = false;
}

Json form_from_chart(AppState& s, const std::string& chart_text, int64_t now) {
    if (!s.model)
        return {{"ok", false}, {"problems", Json::array({{{"code", "no_model"}, {"message", "no model is loaded"}}})}};
    const Schema& schema = s.model->model.schema;
    auto chart = fhir_chart(schema, chart_text, now);
    if (!chart) return {{"ok", false}, {"problems", problems_json(chart.problems())}};
    form_reset(s);
    Json fields = Json::array();
    for (size_t i = 0; i < schema.fields.size(); ++i) {
        const ChartValue& c = chart->fields[i];
        if (c.state == ChartValue::State::used) s.form[i].text = c.text;
        fields.push_back({{"field", schema.fields[i].name},
                          {"state", chart_state_name(c.state)},
                          {"text", c.text},
                          {"date", c.date},
                          {"date_text", c.date_text},
                          {"source", c.source},
                          {"reason", c.reason}});
    }
    s.chart = chart->fields;
    s.chart_patient = chart->patient;
    form_validate(s);
    return {{"ok", true}, {"patient", chart->patient}, {"fields", fields}};
}

Json form_record(const AppState& s) {
    Json r = Json::object();
    if (!s.model) return r;
    const Schema& schema = s.model->model.schema;
    for (size_t i = 0; i < schema.fields.size() && i < s.form.size(); ++i) {
        const Field& f = schema.fields[i];
        const FieldInput& in = s.form[i];
        if (in.text.empty()) continue;
        if (f.numeric() && in.unit > 0)
            r[f.name] = {{"value", in.text}, {"unit", f.alt_units[static_cast<size_t>(in.unit - 1)].unit}};
        else r[f.name] = in.text;
    }
    return r;
}

std::string field_name(const Field& f, const FieldInput& in) {
    const std::string unit =
        f.numeric() && in.unit >= 0 && static_cast<size_t>(in.unit) <= f.alt_units.size()
            ? unit_display(in.unit == 0 ? f.unit : f.alt_units[static_cast<size_t>(in.unit - 1)].unit)
            : std::string();
    return f.label + (unit.empty() ? "" : " (" + unit + ")");
}

std::string form_text(const AppState& s) {
    if (!s.model) return "";
    const Schema& schema = s.model->model.schema;
    std::string t;
    for (size_t i = 0; i < schema.fields.size() && i < s.form.size(); ++i)
        if (!s.form[i].text.empty()) t += field_name(schema.fields[i], s.form[i]) + ": " + s.form[i].text + "\n";
    return t;
}

void form_validate(AppState& s) {
    s.live_problems = Json::array();
    if (!s.model) return;
    auto raw = record_from_json(form_record(s));
    if (!raw) {
        s.live_problems = problems_json(raw.problems());
        return;
    }
    auto r = record_prepare(s.model->model.schema, *raw);
    if (!r) {
        // "required" is shown only once the clinician tries to predict; while typing, only real errors.
        for (const auto& p : problems_json(r.problems()))
            if (p["code"] != "required") s.live_problems.push_back(p);
    }
}

void form_edited(AppState& s) {
    form_validate(s);
    if (s.result && !s.result->ok) s.result.reset();
    if (s.result) s.result_stale = true;  // the shown result no longer matches the form
}

//-----------------------------------------------------------------------------
// [SECTION] Explanations of another class
//-----------------------------------------------------------------------------
// Multi-class tree models: which class's probability the explanation shows (the predicted one
// unless the clinician chooses another). The other classes' explanations come from the same
// exact contributions the core returned for every output.
std::optional<ResultView> explanation_for_class(const Model& m, const ResultView& r, int c) {
    const int k = m.schema.num_classes();
    if (!r.explanation || static_cast<int>(r.explanation->outputs.size()) != k || c < 0 || c >= k) return std::nullopt;
    Explanation ex;
    ex.num_outputs = k;
    ex.num_features = static_cast<int>(m.schema.features.size());
    for (const ResultView::Output& o : r.explanation->outputs) {
        if (o.contributions.size() != m.schema.features.size()) return std::nullopt;
        ex.base.push_back(o.base);
        ex.contributions.insert(ex.contributions.end(), o.contributions.begin(), o.contributions.end());
    }
    const auto per_field = contributions_by_field(m.schema, ex, c);
    ResultView out = r;
    ResultView::Explanation& e = *out.explanation;
    e.output = c;
    e.base = ex.base[static_cast<size_t>(c)];
    e.fields = per_field;
    e.of = "margin of " + m.schema.outputs.classes[static_cast<size_t>(c)].label;
    const PointsExplanation pts = model_explanation_points(m, ex.base, per_field, c, r.probabilities);
    e.points = ResultView::Points{pts.ok, pts.base, pts.probability, pts.fields};
    return out;
}

void explain_class(AppState& s, int c) {
    s.explain_class = -1;
    s.explained_as.reset();
    if (!s.model || !s.result || !s.result->ok || c < 0 || c >= s.model->model.schema.num_classes()) return;
    if (s.result->predicted == c) return;
    s.explained_as = explanation_for_class(s.model->model, *s.result, c);
    if (s.explained_as) s.explain_class = c;
}

//-----------------------------------------------------------------------------
// [SECTION] Results, read once
//-----------------------------------------------------------------------------
ResultView result_from_json(const Json& j) {
    ResultView r;
    auto refused = [&](std::string text) {
        ResultView bad;
        bad.problems = Json::array({{{"code", "bad_result"}, {"message", std::move(text)}}});
        bad.seq = r.seq;
        return bad;
    };
    if (!j.is_object()) return refused("The result could not be read.");
    if (const Json& seq = json_member(j, "seq"); seq.is_number()) r.seq = seq.get<double>();
    r.ok = json_member(j, "ok") == Json(true);
    if (!r.ok) {
        r.problems = json_member(j, "problems").is_array() && !j["problems"].empty() ? j["problems"] : Json::array();
        if (r.problems.empty()) r.problems.push_back({{"code", "error"}, {"message", "No result."}});
        return r;
    }
    auto numbers = [](const Json& a, bool null_is_nan) {
        std::vector<double> out;
        if (!a.is_array()) return out;
        for (const Json& v : a) out.push_back(v.is_number() ? v.get<double>() : null_is_nan ? kNaN : 0.0);
        return out;
    };
    r.probabilities = numbers(json_member(j, "probabilities"), false);
    r.values = numbers(json_member(j, "values"), true);
    if (r.probabilities.empty()) return refused("The result has no probabilities.");
    r.predicted = json_int_in(j, "predicted", 0, static_cast<int64_t>(r.probabilities.size()) - 1).value_or(-1);
    if (r.predicted < 0) return refused("The result has no predicted class.");
    r.label = json_text_or(j, "label");
    for (const Json& w : json_member(j, "warnings"))
        r.warnings.push_back({json_text_or(w, "field"), json_text_or(w, "message")});
    if (const Json& m = json_member(j, "missing_share"); m.is_number()) r.missing_share = m.get<double>();
    const Json& conformal = json_member(j, "conformal");
    r.conformal_words = json_text_or(conformal, "words");
    if (const Json& level = json_member(conformal, "band_level"); level.is_number())
        r.conformal_level = level.get<double>();
    const Json& check = json_member(j, "check");
    r.check.ok = json_member(check, "ok") == Json(true);
    r.check.pending = json_member(check, "pending") == Json(true);
    if (const Json& d = json_member(check, "max_abs_diff"); d.is_number()) r.check.max_abs_diff = d.get<double>();
    r.check.message = json_text_or(check, "message");
    r.row = static_cast<int>(json_int_in(j, "row", 0, INT32_MAX).value_or(0));
    r.patient = json_text_or(j, "patient");
    if (const Json& ex = json_member(j, "explanation"); ex.is_object()) {
        ResultView::Explanation e;
        e.output = static_cast<int>(json_int_in(ex, "output", 0, 100000).value_or(0));
        if (const Json& base = json_member(ex, "base"); base.is_number()) e.base = base.get<double>();
        e.fields = numbers(json_member(ex, "fields"), false);
        e.kind = json_text_or(ex, "kind");
        e.unit = json_text_or(ex, "unit");
        e.of = json_text_or(ex, "of");
        const Json& pts = json_member(ex, "points");
        e.points.ok = json_member(pts, "ok") == Json(true);
        if (json_member(pts, "base").is_number()) e.points.base = pts["base"].get<double>();
        if (json_member(pts, "probability").is_number()) e.points.probability = pts["probability"].get<double>();
        e.points.fields = numbers(json_member(pts, "fields"), false);
        e.standard_error = numbers(json_member(ex, "standard_error"), false);
        for (const Json& o : json_member(ex, "outputs"))
            e.outputs.push_back({json_member(o, "base").is_number() ? o["base"].get<double>() : 0.0,
                                 numbers(json_member(o, "contributions"), false)});
        r.explanation = std::move(e);
    }
    return r;
}

Json points_json(const ResultView::Points& p) {
    return Json{{"ok", p.ok}, {"base", p.base}, {"probability", p.probability}, {"fields", p.fields}};
}

BatchMeta batch_meta_from_json(const Json& meta) {
    BatchMeta m;
    for (const Json& k : json_member(meta, "warning_kinds"))
        m.warning_kinds.push_back({json_text_or(k, "field"), json_text_or(k, "message")});
    for (const Json& row : json_member(meta, "warnings")) {
        std::vector<size_t> ids;
        for (const Json& id : row)
            if (id.is_number_unsigned() && id.get<size_t>() < m.warning_kinds.size()) ids.push_back(id.get<size_t>());
        m.warnings.push_back(std::move(ids));
    }
    for (const Json& p : json_member(meta, "patients")) m.patients.push_back(p.is_string() ? p.get<std::string>() : "");
    const Json& ex = json_member(meta, "explanation");
    m.explanation_kind = json_text_or(ex, "kind");
    m.explanation_unit = json_text_or(ex, "unit");
    if (const Json& of = json_member(ex, "of"); of.is_object())
        for (const auto& [out, text] : of.items())
            if (text.is_string() && !out.empty() && out.size() < 6 &&
                out.find_first_not_of("0123456789") == std::string::npos)
                m.explained_of[std::stoi(out)] = text.get<std::string>();
    json_number_array(json_member(ex, "bases"), m.bases);
    for (const Json& n : json_member(meta, "notices")) m.notices.push_back(json_text_or(n, "message"));
    return m;
}

}  // namespace ldx::app
