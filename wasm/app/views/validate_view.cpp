// wasm/app/views/validate_view.cpp — the Validate view: a site's labelled patients, evaluated on this device (the run
// itself: wasm/app/validate.cpp), with a threshold to try and the prediction sets' coverage.
//
// Index of this file
//   [SECTION] A threshold for this site
//   [SECTION] Prediction sets on this file
//   [SECTION] The view
#include <algorithm>
#include <cmath>

#include "a11y.h"
#include "app.h"
#include "imgui.h"
#include "metrics/evaluation.h"
#include "metrics/multilabel.h"
#include "plot.h"
#include "views.h"
#include "widgets.h"

namespace ldx::app {

//-----------------------------------------------------------------------------
// [SECTION] A threshold for this site
//-----------------------------------------------------------------------------
namespace {
// Binary tasks (and each finding of a multilabel one): a threshold slider and what alerting at it
// would mean on this file's patients (or images). score: P(positive) per scored row; threshold: the slider's value.
void draw_validation_threshold(AppState& s, const Schema& schema, const Json& mt, const std::vector<double>& score,
                               const std::vector<int>& positive, float& threshold) {
    ValidateState& v = s.validate;
    const char* who = v.images ? "images" : "patients";
    double prevalence = 0;
    for (const int y : positive) prevalence += y / static_cast<double>(positive.size());
    section("Choose a threshold for this site");
    ImGui::TextWrapped(
        "Drag to see what alerting at another threshold would mean for these %zu %s (%s have %s). "
        "The model's own threshold is %s.",
        positive.size(), who, pct(prevalence).c_str(), schema.outputs.classes[1].label.c_str(),
        pct(schema.outputs.threshold).c_str());
    ImGui::SetNextItemWidth(std::min(420 * S(), ImGui::GetContentRegionAvail().x));
    a11y::slider("threshold", "Threshold (probability of " + schema.outputs.classes[1].label + ")", &threshold, 0.01f,
                 0.99f, 0.001f, pct(threshold));
    // Shown as a percentage, as every probability on the page is (the value itself stays 0.01-0.99).
    float percent = 100 * threshold;
    if (ImGui::SliderFloat("threshold", &percent, 1, 99, "%.1f%%", ImGuiSliderFlags_AlwaysClamp))
        threshold = percent / 100;
    keep_item_rect(v.slider);
    ImGui::SameLine();
    if (small_button("Model's threshold")) threshold = static_cast<float>(schema.outputs.threshold);
    const Confusion c = confusion_at(score, positive, threshold);
    auto show = [](double x) { return std::isnan(x) ? std::string("–") : pct(x); };
    ImGui::Text("At %s: sensitivity %s · specificity %s · PPV %s · NPV %s · %s alerts per 100 %s",
                pct(threshold).c_str(), show(c.sensitivity()).c_str(), show(c.specificity()).c_str(),
                show(c.ppv()).c_str(), show(c.npv()).c_str(),
                std::isnan(c.alerts_per_100()) ? "–" : fmt(c.alerts_per_100(), "%.1f").c_str(), who);
    ImGui::TextColored(kGrey, "%.0f found, %.0f missed, %.0f false alarms, %.0f correctly not alerted.", c.tp, c.fn,
                       c.fp, c.tn);
    // The decision curve: net benefit of alerting at each threshold, against alerting on everyone.
    const Json& dc = json_member(mt, "decision_curve");
    const Json &t = json_member(dc, "threshold"), &model = json_member(dc, "model"),
               &all = json_member(dc, "treat_all");
    if (!t.is_array() || t.size() != model.size() || t.size() != all.size()) return;
    PlotSeries m, everyone, marker;
    m.legend = "this model";
    everyone.color = IM_COL32(150, 150, 150, 255);
    everyone.legend = "alert everyone";
    marker.color = IM_COL32(200, 70, 50, 255);
    marker.legend = "chosen threshold";
    double top = 0.05;
    for (size_t i = 0; i < t.size(); ++i) {
        if (!t[i].is_number()) continue;
        if (model[i].is_number()) {
            m.points.push_back({t[i].get<double>(), model[i].get<double>()});
            top = std::max(top, model[i].get<double>());
        }
        if (all[i].is_number()) everyone.points.push_back({t[i].get<double>(), all[i].get<double>()});
    }
    const double bottom = -0.25 * top;
    marker.points = {{threshold, bottom}, {threshold, top * 1.1}};
    const float size = std::clamp(ImGui::GetContentRegionAvail().x * 0.5f - 60 * S(), 160 * S(), 320 * S());
    ImGui::Text("Decision curve (net benefit on this file)");
    // In words: the net benefit at the threshold chosen above, the model's and alerting everyone's.
    auto at = [&](const PlotSeries& sr) {
        if (sr.points.empty()) return std::string("–");
        auto near = std::min_element(sr.points.begin(), sr.points.end(), [&](const auto& a, const auto& b) {
            return std::abs(a.first - threshold) < std::abs(b.first - threshold);
        });
        return fmt(near->second, "%.3f");
    };
    plot_xy("decision", size, {everyone, m, marker},
            PlotAxes{"threshold probability",
                     v.images ? "y: net benefit (true alerts minus weighted false alarms, per image)"
                              : "y: net benefit (true alerts minus weighted false alarms, per patient)",
                     bottom, top * 1.1, false},
            PlotWords{"the decision curve", "Decision curve on this file: at the chosen threshold, " + pct(threshold) +
                                                ", net benefit " + at(m) + " for this model and " + at(everyone) +
                                                " for alerting everyone"});
}
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] Prediction sets on this file
//-----------------------------------------------------------------------------
namespace {
// Prediction sets on this file: how often the true outcome was in the set, and recalibration.
// schema: the model's, or one finding's as a binary task (a multilabel model: `cov` and `local` are
// that finding's coverage). Labelled images get the recalibration whether or not the bundle has sets.
void draw_validation_conformal(AppState& s, const Schema& schema, const Json& cov, const Json& local) {
    ValidateState& v = s.validate;
    if (!cov.is_object() && !v.recalibrated && (!v.images || s.local_calibration)) return;
    const bool regression = schema.outputs.regression();
    const char* what = regression ? "intervals" : "sets";
    const char* who = v.images ? "images" : "patients";
    section((std::string(regression ? "Prediction intervals on these " : "Prediction sets on these ") + who).c_str());
    auto table = [&](const char* id, const Json& c) {
        if (!ImGui::BeginTable(id, 3, ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingStretchProp)) return;
        ImGui::TableSetupColumn("Confidence");
        ImGui::TableSetupColumn("Coverage on this file");
        ImGui::TableSetupColumn(regression                                ? "Mean width"
                                : schema.outputs.kind == TaskKind::binary ? "Uncertain band"
                                                                          : "Classes per set");
        ImGui::TableHeadersRow();
        a11y::table_begin((std::string("##a11y-") + id).c_str(),
                          std::string(id == std::string("bundle coverage") ? "The bundle's" : "Recalibrated") +
                              " prediction " + what + " on this file",
                          {"Confidence", "Coverage on this file",
                           regression                                ? "Mean width"
                           : schema.outputs.kind == TaskKind::binary ? "Uncertain band"
                                                                     : "Classes per set"});
        for (const Json& l : json_member(c, "levels")) {
            ImGui::TableNextRow();
            a11y::table_row();
            for (const Json* x : {&json_member(l, "level"), &json_member(l, "coverage")}) {
                ImGui::TableNextColumn();
                const std::string words = x->is_number() ? pct(x->get<double>()) : "–";
                ImGui::TextUnformatted(words.c_str());
                a11y::cell(words);
            }
            ImGui::TableNextColumn();
            const Json& u = json_member(json_member(json_member(l, "bands"), "uncertain"), "share");
            const Json& size = json_member(l, regression ? "mean_width" : "mean_set_size");
            const std::string words = schema.outputs.kind == TaskKind::binary
                                          ? (u.is_number() ? pct(u.get<double>()) : std::string("–"))
                                          : (size.is_number() ? fmt(size.get<double>(), "%.2f") : std::string("–"));
            ImGui::TextUnformatted(words.c_str());
            a11y::cell(words);
        }
        a11y::table_end();
        ImGui::EndTable();
    };
    if (cov.is_object() && s.local_calibration && !v.recalibrated) {
        // The calibrator in force is the one kept on this device, not the bundle's.
        ImGui::TextWrapped(
            "The prediction %s calibrated earlier on this site's %s (kept on this device): coverage "
            "below the confidence means these %s differ from those.",
            what, who, who);
        table("kept coverage", cov);
    } else if (cov.is_object()) {
        ImGui::TextWrapped(
            "The bundle's prediction %s (calibrated at training): coverage below the confidence "
            "means these %s differ from the training %s.",
            what, who, who);
        table("bundle coverage", cov);
    }
    if (v.recalibrated) {
        ImGui::TextColored(kAmber,
                           "Recalibrated on this file and kept on this device for this bundle: every result "
                           "now shows %s calibrated on this site's %s and says so.",
                           what, who);
        ImGui::TextWrapped("On the same %s, by construction, at or just above each level:", who);
        table("local coverage", local);
    } else if (!s.local_calibration && button(regression ? "Recalibrate the prediction intervals on this file"
                                              : v.images ? "Recalibrate the prediction sets on these images"
                                                         : "Recalibrate the prediction sets on this file")) {
        validate_recalibrate(s);
    }
}

// A site calibration in force, from this session or kept from an earlier one: said, and undoable.
void draw_local_calibration(AppState& s) {
    if (!s.local_calibration && !s.validate.recalibrated) return;
    const Conformal& c = s.model->model.schema.outputs.conformal;
    ImGui::TextColored(kAmber, "Prediction %s: calibrated on %s (%zu %s), kept on this device.",
                       c.intervals ? "intervals" : "sets", c.source.c_str(), c.rows,
                       s.model->model.imaging ? "images" : "patients");
    ImGui::SameLine();
    if (small_button(c.intervals ? "Use the bundle's intervals again" : "Use the bundle's sets again")) {
        validate_forget_calibration(s);
        host_choose_model(s.model->model.manifest.name);  // reload the verified bundle as it was signed
    }
}
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] The view
//-----------------------------------------------------------------------------
namespace {
// What to open for a model of patients' values (an imaging model's: validate_images_view.cpp).
void draw_validate_file_intro(AppState& s) {
    const Schema& schema = s.model->model.schema;
    std::string classes;
    for (const auto& c : schema.outputs.classes) classes += (classes.empty() ? "" : ", ") + c.name + " or " + c.label;
    if (schema.outputs.regression()) {
        const std::string unit = unit_display(schema.outputs.unit);
        classes = schema.outputs.label + (unit.empty() ? "" : ", in " + unit);
    }
    ImGui::TextWrapped(
        "Check this model on your own labelled patients before relying on it. Open a CSV or FHIR file "
        "with each patient's values and true outcome in the column '%s' (%s). Everything is computed "
        "on this device; nothing is sent.",
        schema.outputs.column.c_str(), classes.c_str());
    draw_local_calibration(s);
    if (button("Open labelled file…")) host_open_labelled();
}

// A multilabel model's labelled images: each finding as a binary task of its own (the chosen one's
// figures, threshold and prediction sets), and the macro mean over the findings.
void draw_validate_findings(AppState& s, const Json& mt) {
    ValidateState& v = s.validate;
    const Schema& schema = s.model->model.schema;
    const size_t k = schema.outputs.classes.size();
    const Json& macro = json_member(mt, "macro");
    auto mean = [&](const char* key) {
        const Json& x = json_member(json_member(macro, key), "value");
        return x.is_number() ? fmt(x.get<double>(), "%.3f") : std::string("–");
    };
    ImGui::TextWrapped(
        "Mean over the %zu findings (macro): AUC-ROC %s · PR-AUC %s · sensitivity %s · specificity %s · "
        "Brier %s.",
        k, mean("auc_roc").c_str(), mean("pr_auc").c_str(), mean("sensitivity").c_str(), mean("specificity").c_str(),
        mean("brier").c_str());
    ImGui::TextUnformatted("Finding:");
    for (size_t f = 0; f < k; ++f) {
        ImGui::SameLine();
        const bool chosen = static_cast<size_t>(v.finding) == f;
        if (chosen) ImGui::PushStyleColor(ImGuiCol_Button, ImGui::GetStyleColorVec4(ImGuiCol_ButtonActive));
        if (small_button(
                (schema.outputs.classes[f].label + (chosen ? " (shown)" : "") + "##finding" + std::to_string(f))
                    .c_str()))
            v.finding = static_cast<int>(f);
        if (chosen) ImGui::PopStyleColor();
    }
    const size_t f = std::min(static_cast<size_t>(std::max(v.finding, 0)), k - 1);
    const Schema one = finding_schema(schema, f);
    const std::string& name = schema.outputs.classes[f].name;
    const Json& fm = json_member(json_member(mt, "findings"), name);
    section(("How the model does on " + schema.outputs.classes[f].label + " in these images").c_str());
    draw_figures(one, fm);
    draw_confusion(one, fm, "in this file");
    draw_card_plots(one, fm, "this file");
    if (v.thresholds.size() != k)
        v.thresholds.assign(schema.outputs.thresholds.begin(), schema.outputs.thresholds.end());
    const std::vector<double> score = finding_column(v.probabilities, k, f);
    const std::vector<int> positive = finding_column(v.labels, k, f);
    draw_validation_threshold(s, one, fm, score, positive, v.thresholds[f]);
    draw_validation_conformal(s, one, json_member(json_member(json_member(v.report, "conformal"), "findings"), name),
                              json_member(json_member(v.local_coverage, "findings"), name));
}
}  // namespace

void draw_validate(AppState& s) {
    const Schema& schema = s.model->model.schema;
    ValidateState& v = s.validate;
    if (s.model->model.imaging) {
        draw_validate_images_intro(s);
        draw_local_calibration(s);
    } else {
        draw_validate_file_intro(s);
    }
    keep_item_rect(v.open_button);
    if (!s.model->model.ensemble && !s.model->model.imaging)
        ImGui::TextColored(kAmber, "This model runs in ONNX Runtime only: it cannot be checked on a file here.");
    if (!v.loaded) return;
    ImGui::SameLine();
    ImGui::TextUnformatted(v.file_name.c_str());
    if (!v.problems.empty()) {
        ImGui::PushStyleColor(ImGuiCol_Text, kRed);
        for (const auto& p : v.problems) bullet("%s", problem_text(schema, p).c_str());
        ImGui::PopStyleColor();
        return;
    }
    const Json& d = json_member(v.report, "data");
    const Json& mt = json_member(v.report, "metrics");
    ImGui::PushStyleColor(ImGuiCol_Text, kGrey);
    ImGui::TextWrapped("%s · file sha256 %s · %s v%lld", validation_counts(v.report).c_str(),
                       json_text_or(d, "sha256").substr(0, 16).c_str(), s.model->model.manifest.name.c_str(),
                       static_cast<long long>(s.model->model.manifest.version));
    ImGui::PopStyleColor();
    if (!json_member(d, "left_out").empty() &&
        ImGui::TreeNode("left out", "%zu rows left out, and why", json_member(d, "left_out").size())) {
        for (const auto& p : json_member(d, "left_out")) bullet("%s", problem_text(schema, p).c_str());
        ImGui::TreePop();
    }
    section(v.images ? "How the model does on these images" : "How the model does on these patients");
    ImGui::PushStyleColor(ImGuiCol_Text, kGrey);  // wrapped, never cut (320 px)
    // A multilabel report's resamples are each finding's (the same for every finding).
    const Json& findings = json_member(mt, "findings");
    const Json& resamples =
        json_member(findings.is_object() && !findings.empty() ? findings.begin().value() : mt, "bootstrap_resamples");
    ImGui::TextWrapped("95%% intervals from %d bootstrap resamples; the same figures as `localdx evaluate`.",
                       resamples.is_number() ? resamples.get<int>() : 0);
    ImGui::PopStyleColor();
    if (schema.outputs.multilabel()) {
        draw_validate_findings(s, mt);
        if (v.images) draw_validate_images_report(s);
        return;
    }
    draw_figures(schema, mt);
    if (schema.outputs.kind == TaskKind::binary) draw_confusion(schema, mt, "in this file");
    draw_card_plots(schema, mt, "this file");
    if (schema.outputs.kind == TaskKind::binary) {
        std::vector<double> score;
        std::vector<int> positive;
        for (size_t i = 0; i < v.labels.size(); ++i) {
            score.push_back(v.probabilities[i * 2 + 1]);
            positive.push_back(v.labels[i] == 1);
        }
        draw_validation_threshold(s, schema, mt, score, positive, v.threshold);
    }
    if (v.images) draw_validate_images_report(s);  // where the maps point, then the prediction sets
    draw_validation_conformal(s, schema, json_member(v.report, "conformal"), v.local_coverage);
}

}  // namespace ldx::app
