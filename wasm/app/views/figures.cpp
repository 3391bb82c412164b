// wasm/app/views/figures.cpp — an evaluation's figures as the model card and the Validate view both show them: the
// table with intervals, the confusion matrix, the ROC and calibration plots.
//
// Index of this file
//   [SECTION] The table of figures
//   [SECTION] The confusion matrix
//   [SECTION] Plots
#include <algorithm>
#include <cmath>

#include "a11y.h"
#include "app.h"
#include "imgui.h"
#include "plot.h"
#include "views.h"
#include "widgets.h"

namespace ldx::app {

//-----------------------------------------------------------------------------
// [SECTION] The table of figures
//-----------------------------------------------------------------------------
namespace {
void metric_row(const char* name, const Json& m) {
    if (!m.is_object() || m["value"].is_null()) return;
    ImGui::TableNextRow();
    a11y::table_row();
    // Cells wrap inside their column (a phone), never cut.
    ImGui::TableNextColumn();
    ImGui::TextWrapped("%s", name);
    a11y::cell(name);
    ImGui::TableNextColumn();
    ImGui::TextWrapped("%s", fmt(m["value"].get<double>(), "%.3f").c_str());
    a11y::cell(fmt(m["value"].get<double>(), "%.3f"));
    ImGui::TableNextColumn();
    const std::string ci = m["ci95"][0].is_number() ? "[" + fmt(m["ci95"][0].get<double>(), "%.3f") + ", " +
                                                          fmt(m["ci95"][1].get<double>(), "%.3f") + "]"
                                                    : std::string();
    ImGui::TextWrapped("%s", ci.c_str());
    a11y::cell(ci);
}
}  // namespace

// The figures of an evaluation with their intervals: the model card's (out-of-fold) and the
// Validate view's (a site's own patients). Older cards lack some figures: their rows are skipped.
void draw_figures(const Schema& schema, const Json& mt) {
    if (!ImGui::BeginTable("figures", 3, ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingStretchProp)) return;
    ImGui::TableSetupColumn("Figure", ImGuiTableColumnFlags_WidthStretch, 3.0f);
    ImGui::TableSetupColumn("Value", ImGuiTableColumnFlags_WidthStretch, 1.0f);
    ImGui::TableSetupColumn("95% CI", ImGuiTableColumnFlags_WidthStretch, 1.6f);
    ImGui::TableHeadersRow();
    a11y::table_begin("##a11y-figures", "Figures", {"Figure", "Value", "95% CI"});
    const auto& classes = schema.outputs.classes;
    if (schema.outputs.regression()) {
        const std::string unit = unit_display(schema.outputs.unit), in = unit.empty() ? "" : " (" + unit + ")";
        metric_row(("Mean absolute error" + in).c_str(), json_member(mt, "mae"));
        metric_row(("Root mean squared error" + in).c_str(), json_member(mt, "rmse"));
        metric_row("R squared (1 is ideal)", json_member(mt, "r2"));
        metric_row("Calibration in the large (0 is ideal)",
                   json_member(json_member(mt, "calibration"), "in_the_large"));
        metric_row("Calibration slope (1 is ideal)", json_member(json_member(mt, "calibration"), "slope"));
        a11y::table_end();
        ImGui::EndTable();
        return;
    }
    if (schema.outputs.kind == TaskKind::binary) {
        const Json& pos = json_member(json_member(mt, "class"), classes[1].name);
        metric_row("AUC-ROC", json_member(pos, "auc_roc"));
        metric_row("Area under the precision-recall curve", json_member(pos, "pr_auc"));
        metric_row("Sensitivity (at the model's threshold)", json_member(pos, "sensitivity"));
        metric_row("Specificity", json_member(pos, "specificity"));
        metric_row("Positive predictive value (PPV)", json_member(pos, "precision"));
        const Json& npv = json_member(pos, "npv");
        metric_row(
            "Negative predictive value (NPV)",
            npv.is_object() ? npv : json_member(json_member(json_member(mt, "class"), classes[0].name), "precision"));
        metric_row("F1", json_member(pos, "f1"));
        metric_row("Alerts per 100 patients", json_member(mt, "alerts_per_100"));
        metric_row("Calibration slope (1 is ideal)", json_member(json_member(mt, "calibration"), "slope"));
        metric_row("Calibration intercept (0 is ideal)", json_member(json_member(mt, "calibration"), "intercept"));
    } else {
        metric_row("AUC-ROC (macro)", json_member(json_member(mt, "macro"), "auc_roc"));
        for (const auto& cls : classes) {
            const Json& x = json_member(json_member(mt, "class"), cls.name);
            metric_row((cls.label + ": AUC-ROC").c_str(), json_member(x, "auc_roc"));
            metric_row((cls.label + ": sensitivity").c_str(), json_member(x, "sensitivity"));
            metric_row((cls.label + ": specificity").c_str(), json_member(x, "specificity"));
        }
        if (mt.contains("ordinal")) {
            metric_row("Quadratic weighted kappa", mt["ordinal"]["quadratic_weighted_kappa"]);
            metric_row("Within one stage", mt["ordinal"]["within_one_accuracy"]);
        }
    }
    metric_row("Accuracy", json_member(mt, "accuracy"));
    metric_row("Brier score (0 is ideal)", json_member(mt, "brier"));
    a11y::table_end();
    ImGui::EndTable();
    // Older cards hold the calibration error as a bare number, newer ones with its interval.
    const Json& e = json_member(json_member(mt, "calibration"), "expected_calibration_error");
    const Json& ece = e.is_object() ? json_member(e, "value") : e;
    if (ece.is_number())
        ImGui::Text("Expected calibration error: %s (no interval: resampling inflates it)",
                    fmt(ece.get<double>(), "%.3f").c_str());
}

//-----------------------------------------------------------------------------
// [SECTION] The confusion matrix
//-----------------------------------------------------------------------------
// Binary models: the confusion matrix at the model's threshold, from the out-of-fold figures
// (counts = sensitivity x positives, specificity x negatives).
void draw_confusion(const Schema& schema, const Json& mt, const char* where) {
    const auto& classes = schema.outputs.classes;
    const Json& pos = json_member(json_member(mt, "class"), classes[1].name);
    const Json& neg = json_member(json_member(mt, "class"), classes[0].name);
    const Json& sens = json_member(json_member(pos, "sensitivity"), "value");
    const Json& spec = json_member(json_member(pos, "specificity"), "value");
    if (!sens.is_number() || !spec.is_number() || !json_member(pos, "support").is_number() ||
        !json_member(neg, "support").is_number())
        return;
    const double p = pos["support"].get<double>(), n = neg["support"].get<double>();
    const long tp = std::lround(sens.get<double>() * p), tn = std::lround(spec.get<double>() * n);
    const long fn = std::lround(p) - tp, fp = std::lround(n) - tn;
    ImGui::TextWrapped("At the model's threshold (%s probability of %s), out of %ld patients %s:",
                       pct(schema.outputs.threshold).c_str(), classes[1].label.c_str(), std::lround(p + n), where);
    if (ImGui::BeginTable("confusion", 3, ImGuiTableFlags_Borders | ImGuiTableFlags_SizingStretchSame)) {
        ImGui::TableSetupColumn("");
        ImGui::TableSetupColumn(("Predicted " + classes[1].label).c_str());
        ImGui::TableSetupColumn(("Predicted " + classes[0].label).c_str());
        ImGui::TableHeadersRow();
        a11y::table_begin("##a11y-confusion", "Confusion matrix",
                          {"Actual outcome", "Predicted " + classes[1].label, "Predicted " + classes[0].label});
        const std::pair<std::string, std::pair<long, long>> rows[] = {{"Has " + classes[1].label, {tp, fn}},
                                                                      {"Has " + classes[0].label, {fp, tn}}};
        for (const auto& [name, counts] : rows) {
            ImGui::TableNextRow();
            a11y::table_row();
            ImGui::TableNextColumn();
            ImGui::TextUnformatted(name.c_str());
            a11y::cell(name);
            ImGui::TableNextColumn();
            ImGui::Text("%ld", counts.first);
            a11y::cell(std::to_string(counts.first));
            ImGui::TableNextColumn();
            ImGui::Text("%ld", counts.second);
            a11y::cell(std::to_string(counts.second));
        }
        a11y::table_end();
        ImGui::EndTable();
    }
}

//-----------------------------------------------------------------------------
// [SECTION] Plots
//-----------------------------------------------------------------------------
namespace {
// A figure with its interval in words, for a plot's text alternative: "0.83 (95% CI 0.79–0.87)".
std::string figure_words(const Json& m) {
    if (!json_member(m, "value").is_number()) return "not available";
    std::string w = fmt(m["value"].get<double>(), "%.2f");
    const Json& ci = json_member(m, "ci95");
    if (ci.is_array() && ci.size() == 2 && ci[0].is_number() && ci[1].is_number())
        w += " (95% CI " + fmt(ci[0].get<double>(), "%.2f") + "–" + fmt(ci[1].get<double>(), "%.2f") + ")";
    return w;
}
}  // namespace

// ROC curve(s) and the calibration (reliability) plot, side by side when there is room. `where`
// says whose figures they are ("cross-validation", "this file").
void draw_card_plots(const Schema& schema, const Json& mt, const char* where) {
    static const ImU32 colors[] = {IM_COL32(40, 90, 180, 255),  IM_COL32(200, 70, 50, 255),
                                   IM_COL32(40, 140, 70, 255),  IM_COL32(150, 80, 170, 255),
                                   IM_COL32(200, 140, 20, 255), IM_COL32(20, 150, 160, 255)};
    std::vector<PlotSeries> roc;
    std::string roc_alt;  // each curve's AUC with its interval
    const auto& classes = schema.outputs.classes;
    for (size_t c = 0; c < classes.size(); ++c) {
        const Json& pts = json_member(json_member(json_member(mt, "class"), classes[c].name), "roc");
        if (!pts.is_array() || pts.empty()) continue;
        PlotSeries sr;
        for (const auto& p : pts)
            if (p.is_array() && p.size() == 2 && p[0].is_number() && p[1].is_number())
                sr.points.push_back({p[0].get<double>(), p[1].get<double>()});
        sr.color = colors[roc.size() % std::size(colors)];
        sr.legend = classes[c].label;
        roc.push_back(std::move(sr));
        roc_alt += std::string(roc_alt.empty() ? "" : "; ") + classes[c].label + ": AUC " +
                   figure_words(json_member(json_member(json_member(mt, "class"), classes[c].name), "auc_roc"));
    }
    const Json& calibration = json_member(mt, "calibration");
    std::string cal_alt = "observed against predicted, in groups (the data table lists them)";
    if (json_member(json_member(calibration, "slope"), "value").is_number())
        cal_alt = "slope " + figure_words(json_member(calibration, "slope")) +
                  (json_member(json_member(calibration, "intercept"), "value").is_number()
                       ? ", intercept " + figure_words(json_member(calibration, "intercept")) +
                             " (a slope of 1 and an intercept of 0 are ideal)"
                       : " (1 is ideal)");
    PlotSeries cal;
    cal.line = true;
    if (schema.outputs.regression()) {  // by decile of the predicted value, over the outcome's plausible range
        for (const auto& d : json_member(json_member(mt, "calibration"), "deciles"))
            if (json_member(d, "mean_predicted").is_number() && json_member(d, "mean_observed").is_number())
                cal.points.push_back({d["mean_predicted"].get<double>(), d["mean_observed"].get<double>()});
        if (cal.points.empty()) return;
        cal.legend = "mean observed vs mean predicted, by decile";
        const std::string unit = unit_display(schema.outputs.unit), x = "predicted, " + unit,
                          y = "y: observed, " + unit;
        ImGui::Text("Calibration of the predicted %s (%s)", schema.outputs.label.c_str(), where);
        plot_xy("calibration", std::clamp(ImGui::GetContentRegionAvail().x * 0.5f, 160 * S(), 320 * S()), {cal},
                PlotAxes{x.c_str(), y.c_str(), schema.outputs.min, schema.outputs.max, true, schema.outputs.min,
                         schema.outputs.max},
                PlotWords{"the calibration plot", "Calibration plot of the predicted " + schema.outputs.label + " (" +
                                                      where + "), by decile: " + cal_alt});
        return;
    }
    for (const auto& b : json_member(json_member(mt, "calibration"), "reliability"))
        if (json_member(b, "mean_predicted").is_number() && json_member(b, "observed").is_number())
            cal.points.push_back({b["mean_predicted"].get<double>(), b["observed"].get<double>()});
    cal.legend = "observed vs predicted";
    if (roc.empty() && cal.points.empty()) return;
    const float size = std::clamp(ImGui::GetContentRegionAvail().x * 0.5f - 60 * S(), 160 * S(), 320 * S());
    const bool side_by_side = ImGui::GetContentRegionAvail().x > 2 * size + 120 * S();
    ImGui::BeginGroup();
    ImGui::Text("ROC curve (%s)", where);
    plot_unit_square("roc", size, roc, "false positive rate", "y: true positive rate (sensitivity)", true,
                     PlotWords{"the ROC curve", "ROC curve (" + std::string(where) + "), " + roc_alt});
    ImGui::EndGroup();
    if (side_by_side) ImGui::SameLine(0, 40 * S());
    ImGui::BeginGroup();
    ImGui::Text("Calibration of %s", schema.outputs.kind == TaskKind::binary
                                         ? ("the probability of " + classes[1].label).c_str()
                                         : "the predicted class's probability");
    plot_unit_square("calibration", size, {cal}, "predicted probability", "y: observed frequency", true,
                     PlotWords{"the calibration plot", "Calibration plot (" + std::string(where) + "): " + cal_alt});
    ImGui::EndGroup();
}

}  // namespace ldx::app
