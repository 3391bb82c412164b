// wasm/app/views/result_view.cpp — the Patient view's result: the verdict, the probabilities, the prediction set, the
// explanation, and the result's words for the live region, Copy and Print.
//
// Index of this file
//   [SECTION] Words of a result
//   [SECTION] The explanation
//   [SECTION] The result
//   [SECTION] The result as text (Copy, Print, the live region)
#include <algorithm>
#include <cmath>

#include "a11y.h"
#include "app.h"
#include "imgui.h"
#include "views.h"
#include "widgets.h"

namespace ldx::app {

//-----------------------------------------------------------------------------
// [SECTION] Words of a result
//-----------------------------------------------------------------------------
namespace {
// The heading of a result: the probability and the decision rule, never a bare class name
// ("72.0% probability of Diabetes — above the model's 50.0% threshold").
std::string verdict_text(const Schema& schema, const ResultView& r) {
    if (schema.outputs.regression())  // "Predicted disease progression one year on: 191 points"
        return "Predicted " + schema.outputs.label + ": " + outcome_text(schema.outputs, r.probabilities[0]);
    const auto& classes = schema.outputs.classes;
    const int pred = r.predicted;
    if (schema.outputs.kind == TaskKind::binary) {
        const double p = r.probabilities[1], t = schema.outputs.threshold;
        return pct(p) + " probability of " + classes[1].label + " — " + (p >= t ? "at or above" : "below") +
               " the model's " + pct(t) + " threshold";
    }
    const double p = r.probabilities[static_cast<size_t>(pred)];
    return std::string("Most probable ") + (schema.outputs.kind == TaskKind::ordinal ? "stage" : "class") + ": " +
           classes[static_cast<size_t>(pred)].label + " (" + pct(p) + ")";
}

// A signed horizontal bar centred on the axis; red raises the output, blue lowers it.
void signed_bar(double v, double max_abs, float width) {
    ImDrawList* dl = ImGui::GetWindowDrawList();
    const ImVec2 p = ImGui::GetCursorScreenPos();
    const float h = ImGui::GetTextLineHeight(), mid = p.x + width / 2;
    const float len = max_abs > 0 ? static_cast<float>(std::abs(v) / max_abs) * (width / 2 - 2) : 0;
    dl->AddLine(ImVec2(mid, p.y - 2), ImVec2(mid, p.y + h + 2), IM_COL32(120, 120, 120, 255), 1.0f * S());
    const ImU32 col = v >= 0 ? IM_COL32(200, 60, 50, 255) : IM_COL32(40, 100, 200, 255);
    if (v >= 0) dl->AddRectFilled(ImVec2(mid, p.y + 2), ImVec2(mid + len, p.y + h - 2), col);
    else dl->AddRectFilled(ImVec2(mid - len, p.y + 2), ImVec2(mid, p.y + h - 2), col);
    ImGui::Dummy(ImVec2(width, h));
}
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] The explanation
//-----------------------------------------------------------------------------
// The explanation in probability points (explain/points.h) when it can be expressed so with the
// signs of the exact values kept; else in the model's margin units, saying so. Every contribution
// is reachable: the top ones first, the rest behind "smaller effects". The raw margin-space values
// and the ONNX Runtime cross-check stay under "Technical details".
void draw_explanation(const AppState& s, const ResultView& r, int top) {
    const Schema& schema = *schema_of(s);
    const ResultView::Explanation& ex = *r.explanation;
    const ResultView::Points& pts = ex.points;
    const bool in_points = pts.ok && pts.fields.size() == schema.fields.size();
    const std::vector<double>& shown = in_points ? pts.fields : ex.fields;
    if (shown.size() != schema.fields.size() || r.values.size() != schema.fields.size()) {
        ImGui::TextColored(kRed, "The explanation does not fit this model.");
        return;
    }
    std::vector<std::pair<double, size_t>> order;
    for (size_t f = 0; f < schema.fields.size(); ++f) order.push_back({shown[f], f});
    std::stable_sort(order.begin(), order.end(), [](auto a, auto b) { return std::abs(a.first) > std::abs(b.first); });
    double max_abs = 0;
    for (const auto& o : order) max_abs = std::max(max_abs, std::abs(o.first));
    const bool sampled = ex.kind == "sampling-shapley";
    double margin_total = ex.base;  // base + the sum of the model-unit contributions
    for (double c : ex.fields) margin_total += c;
    const std::vector<double>& se = ex.standard_error;
    const bool regression = schema.outputs.regression();
    const std::string unit = unit_display(schema.outputs.unit);
    // The rows as shown add up to the headline as shown (explain/points.h, rounded_to_total): in
    // points to the shown probability's 0.1, a regression to its outcome's decimals, margins to 0.001.
    const int decimals = regression ? std::max(1, schema.outputs.decimals) : in_points ? 1 : 3;
    const double scale = in_points ? 100 : 1;
    auto at = [](double v, int d) { return std::round(v * std::pow(10.0, d)) / std::pow(10.0, d); };
    const double shown_total = regression
                                   ? at(margin_total, schema.outputs.decimals) - at(ex.base, schema.outputs.decimals)
                               : in_points ? at(100 * pts.probability, 1) - at(100 * pts.base, 1)
                                           : at(margin_total, 3) - at(ex.base, 3);
    std::vector<double> scaled(shown.size());
    for (size_t f = 0; f < shown.size(); ++f) scaled[f] = scale * shown[f];
    const std::vector<double> figures = rounded_to_total(scaled, decimals, shown_total);
    auto amount = [&](size_t f) {
        const std::string v = signed_figure(figures[f], decimals);
        if (regression) return v + (unit.empty() ? "" : " " + unit);
        return in_points ? v + " pts" : v;
    };
    const int out = std::clamp(ex.output, 0, std::max(0, schema.num_classes() - 1));
    const std::string of_class =
        regression ? std::string()
                   : "probability of " +
                         schema.outputs.classes[static_cast<size_t>(schema.num_classes() == 2 ? 1 : out)].label;
    if (regression)  // contributions in the outcome's own unit: base + sum = the predicted value
        ImGui::TextWrapped(
            "Why: how much each value moved the predicted %s, in %s. Starting from %s (the model's average "
            "patient), the values add up to %s.",
            schema.outputs.label.c_str(), unit.empty() ? "the outcome's units" : unit.c_str(),
            outcome_text(schema.outputs, ex.base).c_str(), outcome_text(schema.outputs, margin_total).c_str());
    else if (in_points)
        ImGui::TextWrapped(
            "Why: how much each value moved the %s, in percentage points. Starting from %s (the model's average "
            "patient), "
            "the values add up to %s.%s",
            of_class.c_str(), pct(pts.base).c_str(), pct(pts.probability).c_str(),
            sampled ? " Model-agnostic estimates; ± is each one's 95% margin." : "");
    else
        ImGui::TextWrapped(
            "Why: contribution of each value to the %s, in the model's own units (this result cannot be split into "
            "probability points without changing a sign). Starting from %s, the values add up to %s.",
            ex.of.c_str(), fmt(ex.base, "%.3f").c_str(), fmt(margin_total, "%.3f").c_str());
    auto rows = [&](int from, int to) {
        if (!ImGui::BeginTable("explain", 3, ImGuiTableFlags_SizingStretchProp | ImGuiTableFlags_RowBg)) return;
        ImGui::TableSetupColumn("Value", ImGuiTableColumnFlags_WidthStretch, 1.6f);
        ImGui::TableSetupColumn("Effect", ImGuiTableColumnFlags_WidthStretch, 1.0f);
        ImGui::TableSetupColumn("Contribution", ImGuiTableColumnFlags_WidthStretch, 0.6f);
        ImGui::TableHeadersRow();
        a11y::table_begin("##a11y-explain", "What moved this result", {"Value", "Effect", "Contribution"});
        for (int i = from; i < to && i < static_cast<int>(order.size()); ++i) {
            const auto [v, f] = order[static_cast<size_t>(i)];
            const Field& fd = schema.fields[f];
            std::string figure = amount(f);
            if (sampled && f < se.size()) figure += " ±" + fmt(100 * 1.96 * se[f], "%.1f");
            const char* effect = figures[f] > 0 ? "raises" : figures[f] < 0 ? "lowers" : "no effect";
            const std::string value = fd.label + " = " + value_text(fd, r.values[f]);
            ImGui::TableNextRow();
            a11y::table_row(value + ": " + figure + (figures[f] != 0 ? std::string(", ") + effect : ""));
            ImGui::TableNextColumn();
            ImGui::TextWrapped("%s", value.c_str());  // wrapped, never cut
            a11y::cell(value);
            ImGui::TableNextColumn();
            signed_bar(v, max_abs, ImGui::GetContentRegionAvail().x);
            a11y::cell(effect);
            ImGui::TableNextColumn();
            ImGui::TextColored(figures[f] > 0   ? kRed
                               : figures[f] < 0 ? ImVec4(0.15f, 0.35f, 0.75f, 1)
                                                : kGrey,
                               "%s", figure.c_str());
            a11y::cell(figure);
        }
        a11y::table_end();
        ImGui::EndTable();
    };
    ImGui::PushID("top");
    rows(0, top);
    ImGui::PopID();
    const int rest = static_cast<int>(order.size()) - top;
    if (rest > 0 && ImGui::TreeNode("smaller", "%d smaller effects", rest)) {
        rows(top, static_cast<int>(order.size()));
        ImGui::TreePop();
    }
    ImGui::TextColored(kGrey, regression ? "Red raises, blue lowers the predicted value."
                                         : "Red raises, blue lowers the probability.");
    if (ImGui::TreeNode("technical", "Technical details")) {
        if (!sampled) {
            ImGui::TextWrapped(
                "Exact TreeSHAP in the model's %s: base %s + sum of contributions = %s. Node covers from %s.",
                ex.unit.c_str(), fmt(ex.base, "%.4f").c_str(), fmt(margin_total, "%.4f").c_str(),
                s.info.value("covers", "") == "training"
                    ? "training"
                    : ("reference data (" + s.info.value("covers", "") + ")").c_str());
            for (size_t f = 0; f < schema.fields.size(); ++f)
                bullet("%s: %s", schema.fields[f].label.c_str(), fmt(ex.fields[f], "%+.4f").c_str());
        }
        if (r.check.ok)
            ImGui::TextWrapped(
                "Cross-checked: ONNX Runtime Web on this device agrees with this explanation (|difference| %s).",
                fmt(r.check.max_abs_diff, "%.1e").c_str());
        ImGui::TreePop();
    }
}

//-----------------------------------------------------------------------------
// [SECTION] The result
//-----------------------------------------------------------------------------
namespace {
void draw_explain_class_choice(AppState& s, int pred) {
    const Model& m = s.model->model;
    if (m.schema.outputs.kind == TaskKind::binary || m.schema.outputs.regression() || !m.ensemble) return;
    const int chosen = s.explain_class >= 0 ? s.explain_class : pred;
    ImGui::SetNextItemWidth(std::min(320 * S(), ImGui::GetContentRegionAvail().x * 0.6f));
    if (ImGui::BeginCombo("class explained", m.schema.outputs.classes[static_cast<size_t>(chosen)].label.c_str())) {
        for (int c = 0; c < m.schema.num_classes(); ++c)
            if (ImGui::Selectable(m.schema.outputs.classes[static_cast<size_t>(c)].label.c_str(), c == chosen))
                explain_class(s, c);
        ImGui::EndCombo();
    }
}
}  // namespace

void draw_result(AppState& s) {
    // The result's first words carry the skip link's target ("result").
    auto first_words = [](a11y::Role role, const std::string& words) {
        a11y::text("##a11y-result", role, words, 0, "result");
    };
    if (s.predicting) {
        ImGui::TextColored(kGrey, "Computing on this device…");
        first_words(a11y::Role::status, "Computing on this device…");
        return;
    }
    if (!s.result) {
        ImGui::TextColored(kGrey, "Enter the patient's values and press Predict.");
        first_words(a11y::Role::status, "Enter the patient's values and press Predict.");
        return;
    }
    // A new result is brought into view (on a phone or at 200% zoom it is below the form); the
    // keyboard focus stays in the field it was in.
    if (s.scroll_to_result) {
        ImGui::SetScrollHereY(0.0f);
        s.scroll_to_result = false;
    }
    const ResultView& r = *s.result;
    if (!r.ok && json_text_or(r.problems[0], "code") == "incomplete") {
        // Too little of the patient for a verdict (the model's minimum information): the core's words
        // name the fields to enter, and the form marks each of them.
        ImGui::PushStyleColor(ImGuiCol_Text, kAmber);
        ImGui::TextUnformatted("No result yet.");
        ImGui::PopStyleColor();
        ImGui::TextWrapped("%s", json_text_or(r.problems[0], "message").c_str());
        return;
    }
    if (!r.ok) {
        // The values, or the result: a result ONNX Runtime disagrees with is withheld, whatever the values.
        const bool withheld = json_text_or(r.problems[0], "code") == "check_failed";
        ImGui::TextColored(kRed, withheld ? "No result: it was withheld." : "The values could not be used:");
        std::string words = withheld ? "No result: it was withheld." : "The values could not be used:";
        for (const auto& p : r.problems) {
            const std::string t = schema_of(s) ? problem_text(*schema_of(s), p) : json_text_or(p, "message");
            bullet("%s", t.c_str());
            words += " " + t;
        }
        first_words(a11y::Role::alert, words);
        return;
    }
    const Schema& schema = *schema_of(s);
    const int k = static_cast<int>(r.probabilities.size());
    const int pred = r.predicted;
    const bool regression = schema.outputs.regression();
    if (k != schema.num_outputs()) {
        ImGui::TextColored(kRed, "The result does not fit this model.");
        return;
    }
    ImGui::Text("Result");
    said("##a11y-result-heading", a11y::Role::heading, "Result", 2);
    ImGui::Separator();
    if (s.result_stale) {
        ImGui::PushStyleColor(ImGuiCol_Text, kRed);
        ImGui::TextWrapped("Out of date: values changed after this result. Press Predict to update it.");
        said("##a11y-stale", a11y::Role::alert,
             "Out of date: values changed after this result. Press Predict to update it.");
        ImGui::PopStyleColor();
        ImGui::PushStyleVar(ImGuiStyleVar_Alpha, palette::kStaleAlpha);
    }
    ImGui::SetWindowFontScale(1.35f);
    ImGui::PushTextWrapPos(0.0f);
    ImGui::TextColored(ImVec4(0.1f, 0.2f, 0.45f, 1), "%s", verdict_text(schema, r).c_str());
    first_words(a11y::Role::text, verdict_text(schema, r));  // #live says the whole result
    ImGui::PopTextWrapPos();
    ImGui::SetWindowFontScale(1.0f);
    if (r.missing_share >= kMissingShareNotice) {
        ImGui::PushStyleColor(ImGuiCol_Text, kAmber);
        ImGui::TextWrapped(
            "Missing values carry %s of this explanation: the result rests largely on what was not measured. "
            "Enter more values for a result that rests on this patient.",
            pct(r.missing_share).c_str());
        said("##a11y-missing", a11y::Role::text,
             "Missing values carry " + pct(r.missing_share) +
                 " of this explanation: the result rests largely on what was not measured. Enter more values for a "
                 "result that rests on this patient.");
        ImGui::PopStyleColor();
    }
    // The classes by probability: every one for a few classes; for many, the top ones and the rest
    // behind "all N classes" (a severity scale keeps its order).
    std::vector<int> by_probability(static_cast<size_t>(regression ? 0 : k));
    for (int c = 0; c < k; ++c) by_probability[static_cast<size_t>(c)] = c;
    if (schema.outputs.kind == TaskKind::multiclass)
        std::stable_sort(by_probability.begin(), by_probability.end(), [&](int a, int b) {
            return r.probabilities[static_cast<size_t>(a)] > r.probabilities[static_cast<size_t>(b)];
        });
    auto bar = [&](int c) {
        const double p = r.probabilities[static_cast<size_t>(c)];
        ImGui::PushStyleColor(ImGuiCol_PlotHistogram,
                              c == pred ? ImVec4(0.2f, 0.4f, 0.75f, 1) : ImVec4(0.6f, 0.68f, 0.8f, 1));
        // Narrow: the bar gives the label beside it room to be read whole (wrapped, never cut).
        const float width = std::min(220 * S(), ImGui::GetContentRegionAvail().x * 0.5f);
        ImGui::ProgressBar(static_cast<float>(p), ImVec2(width, 0), pct(p).c_str());
        ImGui::PopStyleColor();
        ImGui::SameLine();
        ImGui::PushTextWrapPos(0.0f);
        ImGui::TextUnformatted(schema.outputs.classes[static_cast<size_t>(c)].label.c_str());
        ImGui::PopTextWrapPos();
        said("##a11y-class-" + std::to_string(c), a11y::Role::text,
             schema.outputs.classes[static_cast<size_t>(c)].label + ": " + pct(p));
    };
    const int classes = regression ? 0 : k;  // a regression shows its value in the heading, no bars
    const int shown =
        classes > kClassesShown + 1 && schema.outputs.kind == TaskKind::multiclass ? kClassesShown : classes;
    for (int i = 0; i < shown; ++i) bar(by_probability[static_cast<size_t>(i)]);
    if (shown < classes && ImGui::TreeNode("all classes", "all %d classes", classes)) {
        for (int i = shown; i < classes; ++i) bar(by_probability[static_cast<size_t>(i)]);
        ImGui::TreePop();
    }
    // Wrapped at the window's edge: on a phone the whole sentence is read.
    ImGui::PushStyleColor(ImGuiCol_Text, kGrey);
    if (schema.outputs.kind == TaskKind::binary)
        ImGui::TextWrapped("Decision threshold: %s probability of %s.", pct(schema.outputs.threshold).c_str(),
                           schema.outputs.classes[1].label.c_str());
    else if (regression)
        ImGui::TextWrapped("Plausible range of the outcome: %s to %s.",
                           outcome_text(schema.outputs, schema.outputs.min).c_str(),
                           outcome_text(schema.outputs, schema.outputs.max).c_str());
    else
        ImGui::TextWrapped("Most probable %s shown; every probability counts.",
                           schema.outputs.kind == TaskKind::ordinal ? "stage" : "class");
    ImGui::PopStyleColor();
    if (const std::string& words = r.conformal_words; !words.empty()) {
        // Wrapped short of the edge, so the "(?)" after it stays on screen.
        ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + ImGui::GetContentRegionAvail().x - 40 * S());
        ImGui::TextUnformatted(words.c_str());
        said("##a11y-conformal", a11y::Role::text, words);
        ImGui::PopTextWrapPos();
        const std::string miss = pct(1 - r.conformal_level);
        const std::string about =
            regression ? "Calibrated on patients the model did not train on: the patient's true value lies "
                         "outside this interval for at most " +
                             miss + " of patients like them. It is as wide for every patient."
            : schema.outputs.kind == TaskKind::binary
                ? "Calibrated on patients the model did not train on: of the patients who have the condition, "
                  "at most " +
                      miss + " are placed in the low band; of those who do not, at most " + miss +
                      " in the high band. Uncertain: at that confidence the model cannot rule either outcome "
                      "out."
                : "Calibrated on patients the model did not train on: the patient's true class is outside "
                  "this set for at most " +
                      miss + " of patients like them, whatever their class.";
        if (help_marker(s, "conformal", regression ? "the prediction interval" : "the prediction set", about))
            help_text("conformal", about);
    }
    if (r.check.ok) ImGui::TextColored(kGreen, "Computed and checked on this device.");
    else if (r.check.pending)
        ImGui::TextColored(kAmber, "Computed on this device; being checked by ONNX Runtime, which is still starting.");
    else if (!r.check.message.empty()) ImGui::TextColored(kRed, "%s", r.check.message.c_str());
    if (r.check.ok || r.check.pending || !r.check.message.empty())
        said("##a11y-check", a11y::Role::text,
             r.check.ok        ? "Computed and checked on this device."
             : r.check.pending ? "Computed on this device; being checked by ONNX Runtime, which is still starting."
                               : r.check.message);
    for (size_t wi = 0; wi < r.warnings.size(); ++wi) {
        const auto& w = r.warnings[wi];
        ImGui::PushStyleColor(ImGuiCol_Text, kAmber);
        const int fi = schema.find_field(w.field);
        const std::string field = fi >= 0 ? schema.fields[static_cast<size_t>(fi)].label : w.field;
        bullet("%s: %s", field.c_str(), w.message.c_str());
        said("##a11y-warning-" + std::to_string(wi), a11y::Role::text, "Warning: " + field + ": " + w.message);
        ImGui::PopStyleColor();
    }
    if (button("Copy result")) {
        host_copy(result_copy_text(s));
        s.copied_at = ImGui::GetTime();
    }
    ImGui::SameLine();
    if (button("Print")) host_print(result_copy_text(s));  // the browser prints a clean summary
    draw_save_to_chart(s);
    if (s.copied_at >= 0 && ImGui::GetTime() - s.copied_at < 3.0) {
        ImGui::SameLine();
        ImGui::TextColored(kGreen, "Copied: values, result, reasons, warnings and the model's identity.");
    }
    ImGui::Spacing();
    if (r.explanation) {
        draw_explain_class_choice(s, pred);
        draw_explanation(s, s.explain_class >= 0 && s.explained_as ? *s.explained_as : r, 12);
    }
    if (s.result_stale) ImGui::PopStyleVar();
}

//-----------------------------------------------------------------------------
// [SECTION] The result as text
//-----------------------------------------------------------------------------
std::string result_copy_text(const AppState& s) {
    if (!s.model || !s.result || !s.result->ok) return "No result.";
    const Model& m = s.model->model;
    const ResultView& r = *s.result;
    std::string signers;
    for (const auto& k : m.signers) signers += (signers.empty() ? "" : ", ") + k.substr(0, 16);
    // An out-of-date result says so first: the values below are the ones it was computed from, not
    // the form's.
    std::string t = s.result_stale ? "OUT OF DATE: the form's values changed after this result; it was computed "
                                     "from the values below. Press Predict for a result of the form's values.\n"
                                   : "";
    t += "LocalDx — " + m.schema.title + " (" + m.manifest.name + " v" + std::to_string(m.manifest.version) +
         ", signed by key " + signers + ", expires " + utc_format(m.manifest.expires).substr(0, 10) + ")\n";
    t += "Values:";
    for (size_t f = 0; f < m.schema.fields.size(); ++f)
        t += std::string(f ? ";" : "") + " " + m.schema.fields[f].label + " " +
             (f >= r.values.size() || std::isnan(r.values[f]) ? std::string("not given")
                                                              : value_text(m.schema.fields[f], r.values[f]));
    return t + "\n" + result_summary(s) + "\n";  // the summary says every warning
}

std::string result_summary(const AppState& s) {
    if (!s.model || !s.result || !s.result->ok) return "No result.";
    const ResultView& r = *s.result;
    const Schema& schema = *schema_of(s);
    std::string t = "Result: " + verdict_text(schema, r) + ".";
    if (r.missing_share >= kMissingShareNotice)
        t += " Missing values carry " + pct(r.missing_share) + " of the explanation.";
    for (size_t c = 0; c < r.probabilities.size() && c < schema.outputs.classes.size(); ++c)
        t += " " + schema.outputs.classes[c].label + " " + pct(r.probabilities[c]) + ".";  // none for regression
    if (!r.conformal_words.empty()) t += " " + r.conformal_words + ".";
    if (r.explanation && r.explanation->fields.size() == schema.fields.size() &&
        r.values.size() == schema.fields.size()) {
        std::vector<std::pair<double, size_t>> order;
        for (size_t f = 0; f < schema.fields.size(); ++f) order.push_back({r.explanation->fields[f], f});
        std::sort(order.begin(), order.end(), [](auto a, auto b) { return std::abs(a.first) > std::abs(b.first); });
        t += " Main factors:";
        for (size_t i = 0; i < 3 && i < order.size(); ++i) {
            const Field& f = schema.fields[order[i].second];
            t += std::string(i ? ";" : "") + " " + f.label + " " + value_text(f, r.values[order[i].second]) +
                 (order[i].first >= 0 ? " raises it" : " lowers it");
        }
        t += ".";
    }
    for (const auto& w : r.warnings) {  // in the words on screen, every one
        const int fi = schema.find_field(w.field);
        t += " Warning: " + (fi >= 0 ? schema.fields[static_cast<size_t>(fi)].label : w.field) + ": " + w.message + ".";
    }
    if (r.check.pending) t += " Being checked by ONNX Runtime, which is still starting.";
    return t + " Decision support, not a diagnosis.";
}

}  // namespace ldx::app
