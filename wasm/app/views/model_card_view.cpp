// wasm/app/views/model_card_view.cpp — the Model card view: the signed card's words, its figures (figures.cpp), the
// thresholds a site may choose, and the prediction sets' coverage.
//
// Index of this file
//   [SECTION] Thresholds
//   [SECTION] Uncertainty: prediction sets and intervals
//   [SECTION] The view
#include <cmath>

#include "a11y.h"
#include "app.h"
#include "imgui.h"
#include "metrics/evaluation.h"
#include "metrics/multilabel.h"
#include "views.h"
#include "widgets.h"

namespace ldx::app {

//-----------------------------------------------------------------------------
// [SECTION] Thresholds
//-----------------------------------------------------------------------------
namespace {
// The card's table of thresholds a site can choose from (out-of-fold, like every figure above).
void draw_operating_points(const Schema& schema, const Json& mt) {
    const Json& points = json_member(mt, "operating_points");
    if (!points.is_array() || points.empty()) return;
    if (const std::string policy = json_text_or(mt, "threshold_policy"); !policy.empty())
        ImGui::TextWrapped("The model's threshold, %s, was chosen for %s on the out-of-fold predictions.",
                           pct(schema.outputs.threshold).c_str(), threshold_policy_words(policy).c_str());
    ImGui::TextWrapped("Other thresholds (each row alerts when the probability is at or above its threshold):");
    if (!ImGui::BeginTable("operating points", 7, ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingStretchProp)) return;
    const std::vector<std::string> headers{"Chosen for", "Threshold", "Sensitivity", "Specificity",
                                           "PPV",        "NPV",       "Alerts / 100"};
    for (const auto& h : headers) ImGui::TableSetupColumn(h.c_str());
    ImGui::TableHeadersRow();
    a11y::table_begin("##a11y-operating-points", "Other thresholds", headers);
    auto cell = [](const Json& v, const char* f) {
        ImGui::TableNextColumn();
        const std::string words = v.is_number() ? fmt(v.get<double>(), f) : "–";
        ImGui::TextUnformatted(words.c_str());
        a11y::cell(words);
    };
    for (const Json& p : points) {
        ImGui::TableNextRow();
        a11y::table_row();
        ImGui::TableNextColumn();
        const std::string policy = json_text_or(p, "policy");
        const bool current =
            json_member(p, "threshold").is_number() &&
            std::abs(p["threshold"].get<double>() - schema.outputs.threshold) < 1e-6;  // the card rounds to 6 decimals
        const std::string chosen = threshold_policy_words(policy) + (current ? " (this model)" : "");
        ImGui::TextUnformatted(chosen.c_str());
        a11y::cell(chosen);
        cell(json_member(p, "threshold"), "%.3f");
        for (const char* k : {"sensitivity", "specificity", "ppv", "npv"}) cell(json_member(p, k), "%.2f");
        cell(json_member(p, "alerts_per_100"), "%.1f");
    }
    a11y::table_end();
    ImGui::EndTable();
}
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] Uncertainty: prediction sets and intervals
//-----------------------------------------------------------------------------
namespace {
// How sure each prediction is: the prediction sets' cross-fitted coverage, per level, per class and
// per subgroup; for binary tasks, the triage bands with the share of patients in each and how
// often those patients had the condition.
void draw_conformal(const Schema& schema, const Json& mt) {
    const Json& c = json_member(mt, "conformal");
    const Json& levels = json_member(c, "levels");
    if (!levels.is_array() || levels.empty()) return;
    const bool binary = schema.outputs.kind == TaskKind::binary, regression = schema.outputs.regression();
    section(regression ? "Uncertainty: prediction intervals" : "Uncertainty: prediction sets");
    ImGui::TextWrapped(
        "%s", regression ? "Each result shows an interval around the predicted value. Coverage: how often the true "
                           "value lay in it, measured on patients the intervals were not fitted on; width: the "
                           "interval's mean width, in the outcome's unit."
              : binary ? "Each result shows a triage band: low (the condition ruled out at that confidence), high (its "
                         "absence ruled out) or uncertain. Coverage: how often the true outcome was not ruled out, "
                         "measured on patients the calibration did not see."
                       : "Each result shows the set of classes that cannot be ruled out at that confidence. Coverage: "
                         "how often the true class was in the set, measured on patients the calibration did not see.");
    const int cols = binary ? 6 : 3;
    if (!ImGui::BeginTable("conformal", cols, ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingStretchProp)) return;
    std::vector<std::string> headers{"Confidence", "Coverage",
                                     regression ? "Mean width"
                                     : binary   ? "Uncertain"
                                                : "Classes per set"};
    if (binary)
        for (const std::string h : {std::string("Low band"), "Low: had " + schema.outputs.classes[1].label,
                                    "High: had " + schema.outputs.classes[1].label})
            headers.push_back(h);
    for (const auto& h : headers) ImGui::TableSetupColumn(h.c_str());
    ImGui::TableHeadersRow();
    a11y::table_begin("##a11y-conformal", regression ? "Prediction intervals" : "Prediction sets", headers);
    auto cell = [](const Json& v, bool percent) {
        ImGui::TableNextColumn();
        const std::string words = !v.is_number() ? "–" : percent ? pct(v.get<double>()) : fmt(v.get<double>(), "%.2f");
        ImGui::TextUnformatted(words.c_str());
        a11y::cell(words);
    };
    for (const Json& l : levels) {
        ImGui::TableNextRow();
        a11y::table_row();
        cell(json_member(l, "level"), true);
        cell(json_member(l, "coverage"), true);
        if (!binary) {
            cell(json_member(l, regression ? "mean_width" : "mean_set_size"), false);
            continue;
        }
        const Json& bands = json_member(l, "bands");
        cell(json_member(json_member(bands, "uncertain"), "share"), true);
        cell(json_member(json_member(bands, "low"), "share"), true);
        cell(json_member(json_member(bands, "low"), "positive_rate"), true);
        cell(json_member(json_member(bands, "high"), "positive_rate"), true);
    }
    a11y::table_end();
    ImGui::EndTable();
    for (const Json& g : json_member(c, "subgroups")) {
        const Json& cov = json_member(g, "coverage");
        if (!cov.is_array() || cov.size() != levels.size()) continue;
        std::string line = json_text_or(g, "group") + ": coverage";
        for (size_t i = 0; i < cov.size(); ++i)
            if (cov[i].is_number() && json_member(levels[i], "level").is_number())
                line += (i ? ", " : " ") + pct(cov[i].get<double>()) + " at " + pct(levels[i]["level"].get<double>());
        ImGui::BulletText("%s", line.c_str());
    }
}
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] The view
//-----------------------------------------------------------------------------
void draw_card(AppState& s) {
    const Json& c = s.info.value("card", Json::object());
    const auto& m = s.model->model;
    ImGui::TextWrapped("%s", c.value("title", m.schema.title).c_str());
    ImGui::PushStyleColor(ImGuiCol_Text, kGrey);
    ImGui::TextWrapped("Bundle %s v%lld · sha256 %s · created %s · expires %s", m.manifest.name.c_str(),
                       static_cast<long long>(m.manifest.version), m.sha256.substr(0, 16).c_str(),
                       s.info.value("created", "").substr(0, 10).c_str(),
                       s.info.value("expires", "").substr(0, 10).c_str());
    ImGui::PopStyleColor();
    auto para = [&](const char* head, const char* key) {
        if (!c.contains(key)) return;
        section(head);
        // The card is signed but written by people: anything that is not text is skipped.
        if (c[key].is_array()) {
            for (const auto& x : c[key])
                if (x.is_string()) bullet("%s", x.get<std::string>().c_str());
        } else if (c[key].is_string()) {
            ImGui::TextWrapped("%s", c[key].get<std::string>().c_str());
        }
    };
    para("Intended use", "intended_use");
    para("Out of scope", "out_of_scope");
    section("Minimum information");
    ImGui::TextWrapped("%s", information_words(m.schema).c_str());
    para("Model", "model");
    para("Training data", "training_data");
    para("Caveats", "caveats");
    if (!c.contains("metrics")) para("Evaluation", "evaluation");
    if (c.contains("metrics")) {
        const Json& mt = c["metrics"];
        const bool binary = m.schema.outputs.kind == TaskKind::binary;
        section("Evaluation");
        ImGui::TextWrapped("%s", mt.value("method", "").c_str());
        // A multilabel card: each finding's figures and plots, as a binary task's.
        for (size_t f = 0; m.schema.outputs.multilabel() && f < m.schema.outputs.classes.size(); ++f) {
            const Schema one = finding_schema(m.schema, f);
            const Json& fm = json_member(json_member(mt, "findings"), m.schema.outputs.classes[f].name);
            if (!fm.is_object()) continue;
            ImGui::PushID(static_cast<int>(f));
            section(m.schema.outputs.classes[f].label.c_str());
            draw_figures(one, fm);
            draw_card_plots(one, fm, "held-out images");
            ImGui::PopID();
        }
        if (!m.schema.outputs.multilabel()) draw_figures(m.schema, mt);
        if (binary) draw_confusion(m.schema, mt);
        if (binary) draw_operating_points(m.schema, mt);
        if (!m.schema.outputs.multilabel()) draw_card_plots(m.schema, mt);
        if (mt.contains("subgroups") && !mt["subgroups"].empty() &&
            ImGui::BeginTable("subgroups", 3, ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingStretchProp)) {
            ImGui::TableSetupColumn("Subgroup", ImGuiTableColumnFlags_WidthStretch, 3.0f);
            ImGui::TableSetupColumn("Rows", ImGuiTableColumnFlags_WidthStretch, 1.0f);
            const bool regression = m.schema.outputs.regression();
            ImGui::TableSetupColumn(regression ? "MAE / R squared" : "Accuracy / AUC",
                                    ImGuiTableColumnFlags_WidthStretch, 1.6f);
            ImGui::TableHeadersRow();
            a11y::table_begin("##a11y-subgroups", "Subgroups",
                              {"Subgroup", "Rows", regression ? "MAE / R squared" : "Accuracy / AUC"});
            for (const auto& g : mt["subgroups"]) {
                ImGui::TableNextRow();
                a11y::table_row();
                ImGui::TableNextColumn();
                ImGui::TextUnformatted(g.value("group", "").c_str());
                a11y::cell(g.value("group", ""));
                ImGui::TableNextColumn();
                ImGui::Text("%d", g.value("rows", 0));
                a11y::cell(std::to_string(g.value("rows", 0)));
                ImGui::TableNextColumn();
                const char* a = regression ? "mae" : "accuracy";
                const char* b = regression ? "r2" : "macro.auc_roc";
                const std::string words =
                    (json_member(g, a).is_number() ? fmt(g[a].get<double>(), "%.3f") : std::string("–")) + " / " +
                    (json_member(g, b).is_number() ? fmt(g[b].get<double>(), "%.3f") : std::string("–"));
                ImGui::TextUnformatted(words.c_str());
                a11y::cell(words);
            }
            a11y::table_end();
            ImGui::EndTable();
        }
        draw_conformal(m.schema, mt);
    }
    para("Literature", "literature");
    if (c.contains("explainer") && c["explainer"].is_object()) {
        section("Explanation method");
        ImGui::TextWrapped("%s", json_text_or(c["explainer"], "note").c_str());
        if (m.imaging)
            ImGui::TextWrapped(
                "Shown as a heat map over the image, with its deletion curve under Technical details. It shows "
                "where the model looked, not where disease is.");
        else if (m.schema.outputs.regression())
            ImGui::TextWrapped(
                "Shown in the outcome's own unit: the model's average patient plus every value's exact "
                "contribution is the predicted value.");
        else
            ImGui::TextWrapped(
                "Shown in percentage points: each value's share of the change from the model's average patient to the "
                "shown "
                "probability, in proportion to its exact contribution and with the same sign; the values in the "
                "model's "
                "own "
                "units are under Technical details.");
    }
}

}  // namespace ldx::app
