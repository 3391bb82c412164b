// wasm/app/views/patient_chart.cpp — the patient's chart on the Patient view (SMART launch, web/smart.js): the note
// under each field the chart filled, and "Save to chart".
//
// Index of this file
//   [SECTION] The chart's values under the fields
//   [SECTION] Save to chart
#include <algorithm>

#include "app.h"
#include "imgui.h"
#include "record/fhir.h"
#include "views.h"
#include "widgets.h"

namespace ldx::app {

//-----------------------------------------------------------------------------
// [SECTION] The chart's values under the fields
//-----------------------------------------------------------------------------
// The chart's value for field i (SMART launch): where it came from, or why it is not used.
Json chart_note(const AppState& s, size_t i) {
    if (i >= s.chart.size() || i >= s.form.size() || !s.model) return {{"state", "none"}, {"note", ""}, {"text", ""}};
    const ChartValue& c = s.chart[i];
    const Field& f = s.model->model.schema.fields[i];
    const FieldInput& in = s.form[i];
    std::string state = chart_state_name(c.state), note;
    if (c.state == ChartValue::State::used) {
        if (in.text == c.text && in.unit == 0)
            note = c.date_text.empty() ? "From the chart (the patient's record)" : "From the chart, " + c.date_text;
        else state = "edited";  // the clinician's value now, not the chart's
    } else if (c.state == ChartValue::State::too_old) {
        note = c.reason + " (" + c.text + (f.unit.empty() ? "" : " " + unit_display(f.unit)) + ")";
    } else if (c.state == ChartValue::State::refused) {
        note = "Not used: " + c.reason;
    }
    return {{"state", state}, {"note", note}, {"text", c.text}, {"date", c.date}};
}

std::string chart_summary(const AppState& s) {
    size_t used = 0, waiting = 0, refused = 0;
    for (const ChartValue& c : s.chart) {
        used += c.state == ChartValue::State::used;
        waiting += c.state == ChartValue::State::too_old;
        refused += c.state == ChartValue::State::refused;
    }
    return "Filled " + std::to_string(used) + " fields from the chart; " + std::to_string(waiting) +
           " older values wait for you to accept them; " + std::to_string(refused) + " values were not used.";
}

bool save_to_chart_offered(const AppState& s) {
    if (s.chart_patient.empty() || !s.model || !s.result || !s.result->ok || s.result_stale || s.result->check.pending)
        return false;
    const std::string type = fhir_result_type(s.model->model.schema);
    return std::find(s.chart_write.begin(), s.chart_write.end(), type) != s.chart_write.end();
}

// Under a field: the chart's note, and for an old value the button that accepts it.
bool draw_chart_note(AppState& s, size_t i) {
    const Json n = chart_note(s, i);
    const std::string note = n["note"].get<std::string>();
    if (note.empty()) return false;
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    ImGui::TableNextColumn();
    const std::string state = n["state"].get<std::string>();
    ImGui::PushStyleColor(ImGuiCol_Text, state == "refused" ? kRed : state == "too_old" ? kAmber : kGreen);
    ImGui::TextWrapped("%s", note.c_str());
    ImGui::PopStyleColor();
    if (state == "too_old" && small_button("Use this value")) {
        s.chart[i].state = ChartValue::State::used;
        s.form[i].text = s.chart[i].text;
        s.form[i].unit = 0;
        return true;
    }
    return false;
}

//-----------------------------------------------------------------------------
// [SECTION] Save to chart
//-----------------------------------------------------------------------------
Json chart_resource(const AppState& s, int64_t now) {
    if (!save_to_chart_offered(s)) return Json::object();
    const Model& m = s.model->model;
    ChartWrite w;
    w.patient = s.chart_patient;
    w.model_name = m.manifest.name;
    w.model_version = m.manifest.version;
    w.model_sha256 = m.sha256;
    for (size_t i = 0; i < s.chart.size(); ++i)
        if (chart_note(s, i)["state"] == "used" && s.chart[i].source.rfind("Observation/", 0) == 0)
            w.basis.push_back(s.chart[i].source);
    w.summary = result_summary(s);
    w.now = now;
    return fhir_result_resource(m.schema, s.result->probabilities, w);
}

// "Save to chart…": first what would be sent, then only on "Send to the chart" (never automatic).
void draw_save_to_chart(AppState& s) {
    if (!save_to_chart_offered(s)) return;
    if (!s.save_preview) {
        ImGui::SameLine();
        if (button("Save to chart…")) s.save_preview = true;
        return;
    }
    const Json preview = chart_resource(s, 0);
    const Json& basis = json_member(preview, preview.contains("basis") ? "basis" : "derivedFrom");
    ImGui::TextWrapped("Save to the chart of patient %s, as %s: %s Model: %s. Basis: %zu Observations from the chart.",
                       s.chart_patient.c_str(), json_text_or(preview, "resourceType").c_str(),
                       preview["note"][0]["text"].get<std::string>().c_str(),
                       preview["method"]["text"].get<std::string>().c_str(), basis.is_array() ? basis.size() : 0);
    if (button("Send to the chart")) {
        host_save_to_chart(json_dump(chart_resource(s, host_now())));
        s.save_preview = false;
    }
    ImGui::SameLine();
    if (button("Cancel")) s.save_preview = false;
}

}  // namespace ldx::app
