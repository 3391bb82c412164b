// wasm/app/views/reporting_view.cpp — the Reporting view: what leaves the browser (randomized aggregate counts), the
// switch, and what waits to be sent.
//
// Index of this file
//   [SECTION] The view
#include "a11y.h"
#include "app.h"
#include "drift/report.h"
#include "imgui.h"
#include "views.h"
#include "widgets.h"

namespace ldx::app {

//-----------------------------------------------------------------------------
// [SECTION] The view
//-----------------------------------------------------------------------------
void draw_reporting(AppState& s) {
    bool enabled = s.reporting.value("enabled", true);
    {  // its words wrapped beside it, never cut (320 px, 200% zoom): a Dear ImGui label does not wrap
        const char* words = "Send anonymous aggregate reports to help monitor this model";
        a11y::Node n;
        n.role = a11y::Role::checkbox;
        n.name = words;
        if (enabled) n.state |= a11y::kChecked;
        a11y::note(ImGui::GetID("##send reports"), std::move(n));
        if (ImGui::Checkbox("##send reports", &enabled)) host_set_reporting(enabled);
        ImGui::SameLine();
        ImGui::TextWrapped("%s", words);
    }
    const Schema& schema = s.model->model.schema;
    const auto& privacy = schema.privacy;
    const bool imaging = s.model->model.imaging.has_value();
    if (imaging) {
        ImGui::TextWrapped(
            "Only counts leave this device: for each image, which coarse range it fell in for its modality, body part, "
            "view, size, pixel spacing and bits stored (as its DICOM header gives them; not given for PNG and JPEG) "
            "and "
            "for its brightness and contrast after preprocessing, and which result class and probability range it got. "
            "No pixels, no identifiers, no header text and no time finer than the day. Each image is randomized on "
            "this device before it is counted, and a report is sent only once it summarises at least %d images.",
            privacy.k_min);
        ImGui::TextWrapped("Each image counts once: an image opened again the same day is not counted again. %s",
                           report_timing_words().c_str());
    } else {
        ImGui::TextWrapped(
            "Only counts leave this device: for each input field, how many patients fell in each range of the "
            "model's training data, and how many fell in each result class. No identifiers, no values, no free text "
            "and no time finer than the day. Each patient's values are randomized on this device before they are "
            "counted, and a report is sent only once it summarises at least %d patients.",
            privacy.k_min);
        ImGui::TextWrapped(
            "Each patient counts once: changing values to see what would change the result, then predicting again, "
            "counts as the same patient (the last prediction is the one counted), and a file counts once a day. %s",
            report_timing_words().c_str());
    }
    if (privacy.counting == Privacy::Counting::one_histogram)
        ImGui::TextWrapped(
            "Privacy budget: a patient counted in a report spends epsilon = %s of privacy in all: the patient is "
            "counted in one of the report's %zu histograms, chosen at random, randomized with epsilon %s.",
            fmt(report_epsilon_per_patient(schema), "%.3g").c_str(), report_histograms(schema),
            fmt(privacy.epsilon, "%.3g").c_str());
    else
        ImGui::TextWrapped(
            "Privacy budget: a patient counted in a report spends at most epsilon = %s of privacy (%zu randomized "
            "histograms, epsilon %s each).",
            fmt(report_epsilon_per_patient(schema), "%.3g").c_str(), report_histograms(schema),
            fmt(privacy.epsilon, "%.3g").c_str());
    section("Collected on this device");
    const Json& pending = s.reporting.value("pending", Json::object());
    bool any = false;
    for (const auto& [key, r] : pending.items()) {
        if (!r.is_object()) continue;
        any = true;
        const uint64_t n = r.value("n", uint64_t{0});
        bullet("%s v%lld, %s: %llu of %d patients collected; nothing is sent until %d.",
               json_text_or(r, "model").c_str(), static_cast<long long>(r.value("version", int64_t{0})),
               json_text_or(r, "day").c_str(), static_cast<unsigned long long>(n), privacy.k_min, privacy.k_min);
    }
    if (!any) ImGui::TextColored(kGrey, "Nothing collected yet.");
    section("Waiting to be sent");
    const Json& queued = s.reporting.value("queued", Json::array());
    if (queued.empty()) ImGui::TextColored(kGrey, "Nothing is waiting: every complete report has been sent.");
    for (const auto& r : queued)
        if (r.is_object())
            bullet("%s v%lld, %s: a report of %llu patients (sent at its random time, when the server can be reached).",
                   json_text_or(r, "model").c_str(), static_cast<long long>(r.value("version", int64_t{0})),
                   json_text_or(r, "day").c_str(), static_cast<unsigned long long>(r.value("n", uint64_t{0})));
    if (ImGui::TreeNode("exact", "The exact data (JSON)")) {
        ImGui::TextWrapped("Collecting: %s", json_dump(pending, 1).c_str());
        ImGui::TextWrapped("Waiting: %s", json_dump(queued, 1).c_str());
        ImGui::TreePop();
    }
}

}  // namespace ldx::app
