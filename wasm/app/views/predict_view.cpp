// wasm/app/views/predict_view.cpp — the Patient view's form: one field per schema field, its unit, help and problem,
// and Predict.
//
// Index of this file
//   [SECTION] Accessible nodes of a field
//   [SECTION] The form
//   [SECTION] Predict
//
// The result beside the form is result_view.cpp; the chart's notes under the fields patient_chart.cpp.
#include <algorithm>
#include <cmath>

#include "a11y.h"
#include "app.h"
#include "imgui.h"
#include "misc/cpp/imgui_stdlib.h"
#include "views.h"
#include "widgets.h"

namespace ldx::app {

//-----------------------------------------------------------------------------
// [SECTION] Accessible nodes of a field
//-----------------------------------------------------------------------------
namespace {
// A form field as a real input element (web/a11y.js), named by its label and the unit its value is
// read in; its hint, help and problem with it. What is typed, pasted or composed there takes the
// path of keys typed on the canvas (form_edited); Escape puts back the text the edit began with.
void field_node(const Field& f, const FieldInput& in, size_t i, const std::string& hint, const std::string& help,
                const std::string& problem) {
    a11y::Node node;
    node.role = a11y::Role::textbox;
    node.name = field_name(f, in);
    node.value = in.text;
    node.placeholder = hint;
    node.inputmode = f.numeric() ? "decimal" : "text";
    node.description = problem.empty() ? help : problem + "\n" + help;
    if (f.required) node.state |= a11y::kRequired;
    if (!problem.empty()) node.state |= a11y::kInvalid;
    const size_t field = i;
    auto text = [field]() -> std::string* {
        AppState& st = state();
        return field < st.form.size() ? &st.form[field].text : nullptr;
    };
    a11y::Actions act;
    act.set_text = [text](const std::string& t) {
        std::string* now = text();
        if (!now || *now == t) return;
        *now = t;
        state().form_notice.clear();
        form_edited(state());
    };
    act.focus = [text, field]() {
        if (!text()) return;
        state().edit_start = *text();
        state().last_field = static_cast<int>(field);
        state().form_notice.clear();
    };
    act.revert = [text, label = f.label]() {
        AppState& st = state();
        if (!text()) return;
        *text() = st.edit_start;
        form_edited(st);
        st.form_notice = "Escape undid the edit of " + label + ": " +
                         (st.edit_start.empty() ? "it is empty again." : "it is back to " + st.edit_start + ".");
        host_announce(st.form_notice);
    };
    a11y::note(ImGui::GetID(("##" + f.name).c_str()), std::move(node), std::move(act));
}

// A category or yes/no field's list beside its text field: "(not given)" and the choices.
void choice_node(const Field& f, const FieldInput& in, size_t i,
                 const std::vector<std::pair<std::string, std::string>>& choices) {
    std::vector<std::string> options{"(not given)"};
    int chosen = in.text.empty() ? 0 : -1;
    for (const auto& c : choices) {
        if (in.text == c.first || in.text == c.second) chosen = static_cast<int>(options.size());
        options.push_back(c.second);
    }
    combo_node(("##pick-" + f.name).c_str(), f.label + ": choose", options, chosen, [i, options](int k) {
        AppState& st = state();
        if (i >= st.form.size() || k < 0 || k >= static_cast<int>(options.size())) return;
        st.form[i].text = k == 0 ? "" : options[static_cast<size_t>(k)];
        form_edited(st);
    });
}

// A numeric field's unit list.
void unit_node(const Field& f, const FieldInput& in, size_t i) {
    std::vector<std::string> units{unit_display(f.unit)};
    for (const auto& u : f.alt_units) units.push_back(unit_display(u.unit));
    const int count = static_cast<int>(units.size());
    combo_node("##unit", f.label + " unit", units, in.unit, [i, count](int k) {
        AppState& st = state();
        if (i >= st.form.size() || k < 0 || k >= count) return;
        st.form[i].unit = k;
        form_edited(st);
    });
}
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] The form
//-----------------------------------------------------------------------------
namespace {
std::string problem_for(const AppState& s, const std::string& field, const Json& problems) {
    for (const auto& p : problems)
        if (p.value("field", "") == field) return p.value("message", "");
    (void)s;
    return {};
}
}  // namespace

void draw_form(AppState& s) {
    const Schema& schema = *schema_of(s);
    const Json shown_problems = s.result && !s.result->ok ? s.result->problems : s.live_problems;
    bool changed = false;
    if (!s.chart_status.empty()) ImGui::TextWrapped("%s", s.chart_status.c_str());
    // Narrow (a phone, 320 CSS px, 200% zoom): each label on a row of its own, wrapped, never cut;
    // the field and its unit on the row below.
    const bool narrow = ImGui::GetContentRegionAvail().x / S() < kFormLabelsAbove;
    if (ImGui::BeginTable("form", narrow ? 2 : 3,
                          ImGuiTableFlags_SizingStretchProp | (narrow ? ImGuiTableFlags_NoClip : 0))) {
        if (!narrow) ImGui::TableSetupColumn("label", ImGuiTableColumnFlags_WidthStretch, 1.7f);
        ImGui::TableSetupColumn("value", ImGuiTableColumnFlags_WidthStretch, 0.9f);
        ImGui::TableSetupColumn("unit", ImGuiTableColumnFlags_WidthStretch, narrow ? 0.5f : 0.6f);
        for (size_t i = 0; i < schema.fields.size(); ++i) {
            const Field& f = schema.fields[i];
            FieldInput& in = s.form[i];
            ImGui::PushID(static_cast<int>(i));
            ImGui::TableNextRow();
            ImGui::TableNextColumn();
            ImGui::AlignTextToFramePadding();
            // Wrapped short of the "(?)" after it, so neither is ever cut.
            const float help_w = ImGui::CalcTextSize("(?)").x + ImGui::GetStyle().ItemSpacing.x;
            ImGui::PushTextWrapPos(narrow ? ImGui::GetWindowContentRegionMax().x - help_w
                                          : ImGui::GetCursorPosX() + ImGui::GetContentRegionAvail().x - help_w);
            ImGui::TextUnformatted((f.label + (f.required ? " *" : "")).c_str());
            ImGui::PopTextWrapPos();
            std::string tip = f.description;
            if (f.numeric()) {
                tip += "\nPossible range: " + fmt(f.min) + " to " + fmt(f.max) + " " + unit_display(f.unit);
                if (std::isfinite(f.typical_min))
                    tip += "\nSeen in training: " + fmt(f.typical_min) + " to " + fmt(f.typical_max) + " " +
                           unit_display(f.unit);
            }
            if (!f.code.empty()) tip += "\nCode: " + f.code;
            tip += f.required ? "\nRequired." : "\nOptional: the model can do without it.";
            const bool help_open = help_marker(s, "field-" + f.name, f.label, tip);
            if (narrow) ImGui::TableNextRow();
            ImGui::TableNextColumn();
            ImGui::SetNextItemWidth(-1);
            // Every field is a text field, so Tab reaches each of them in order and nothing typed is
            // filtered away: the core's parser reads it as meant or says why not ("0,5" is 0.5, a
            // category by its value or label). After Ctrl+Enter the field gets the focus back with
            // the caret at the end (focus given by code selects the whole text in Dear ImGui 1.86,
            // and the next key would replace it).
            auto text_field = [&](const std::string& hint) {
                field_node(f, in, i, hint, tip, problem_for(s, f.name, shown_problems));
                const bool refocus = s.refocus_field == static_cast<int>(i);
                if (refocus) ImGui::SetKeyboardFocusHere();
                auto caret_at_end = [](ImGuiInputTextCallbackData* d) {
                    d->SelectionStart = d->SelectionEnd = d->CursorPos = d->BufTextLen;
                    return 0;
                };
                changed |= ImGui::InputTextWithHint(("##" + f.name).c_str(), hint.c_str(), &in.text,
                                                    s.refocus_pending ? ImGuiInputTextFlags_CallbackAlways : 0,
                                                    s.refocus_pending ? +caret_at_end : nullptr);
                if (refocus) {
                    s.refocus_field = -1;
                    s.refocus_pending = true;
                } else if (s.refocus_pending && ImGui::IsItemActive()) {
                    s.refocus_pending = false;
                }
                if (ImGui::IsItemActivated()) {
                    s.edit_start = in.text;
                    s.form_notice.clear();
                }
                if (ImGui::IsItemActive() || ImGui::IsItemDeactivated()) s.last_field = static_cast<int>(i);
                // Escape ends the edit and puts back the text the field had when it began (Dear
                // ImGui's revert); said in words, so an edit is never lost silently.
                if (ImGui::IsItemDeactivated() && ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Escape))) {
                    s.form_notice =
                        "Escape undid the edit of " + f.label + ": " +
                        (s.edit_start.empty() ? "it is empty again." : "it is back to " + s.edit_start + ".");
                    host_announce(s.form_notice);
                }
            };
            if (f.numeric()) {
                std::string hint =
                    std::isfinite(f.typical_min) ? fmt(f.typical_min) + " – " + fmt(f.typical_max) : std::string();
                if (in.unit > 0 && std::isfinite(f.typical_min)) {
                    const auto& u = f.alt_units[static_cast<size_t>(in.unit - 1)];
                    hint =
                        fmt((f.typical_min - u.offset) / u.factor) + " – " + fmt((f.typical_max - u.offset) / u.factor);
                }
                text_field(hint);
            } else {
                // Typed (Tab reaches it; "f" or "Female") or picked from the list beside it.
                std::vector<std::pair<std::string, std::string>> choices;
                if (f.type == FieldType::boolean) choices = {{"yes", "Yes"}, {"no", "No"}};
                else
                    for (const auto& l : f.levels) choices.push_back({l.value, l.label});
                std::string hint;
                for (const auto& c : choices) hint += (hint.empty() ? "" : " / ") + c.second;
                ImGui::SetNextItemWidth(ImGui::GetContentRegionAvail().x - ImGui::GetFrameHeight() - 2 * S());
                text_field(hint);
                ImGui::SameLine(0, 2 * S());
                choice_node(f, in, i, choices);
                if (ImGui::BeginCombo(("##pick-" + f.name).c_str(), "", ImGuiComboFlags_NoPreview)) {
                    if (ImGui::Selectable("(not given)", in.text.empty())) {
                        in.text.clear();
                        changed = true;
                    }
                    for (const auto& c : choices)
                        if (ImGui::Selectable(c.second.c_str(), in.text == c.first || in.text == c.second)) {
                            in.text = c.second;
                            changed = true;
                        }
                    ImGui::EndCombo();
                }
            }
            ImGui::TableNextColumn();
            if (f.numeric()) {
                if (f.alt_units.empty()) {
                    ImGui::AlignTextToFramePadding();
                    ImGui::TextColored(kGrey, "%s", unit_display(f.unit).c_str());
                } else {
                    ImGui::SetNextItemWidth(-1);
                    const std::string cur =
                        unit_display(in.unit == 0 ? f.unit : f.alt_units[static_cast<size_t>(in.unit - 1)].unit);
                    unit_node(f, in, i);
                    if (ImGui::BeginCombo("##unit", cur.c_str())) {
                        if (ImGui::Selectable(unit_display(f.unit).c_str(), in.unit == 0)) {
                            in.unit = 0;
                            changed = true;
                        }
                        for (size_t u = 0; u < f.alt_units.size(); ++u)
                            if (ImGui::Selectable(unit_display(f.alt_units[u].unit).c_str(),
                                                  in.unit == static_cast<int>(u + 1))) {
                                in.unit = static_cast<int>(u + 1);
                                changed = true;
                            }
                        ImGui::EndCombo();
                    }
                }
            }
            if (help_open) {
                ImGui::TableNextRow();
                ImGui::TableNextColumn();
                if (!narrow) ImGui::TableNextColumn();
                help_text("field-" + f.name, tip, narrow);
            }
            changed |= draw_chart_note(s, i);
            const std::string p = problem_for(s, f.name, shown_problems);
            if (!p.empty()) {
                ImGui::TableNextRow();
                ImGui::TableNextColumn();
                if (!narrow) ImGui::TableNextColumn();
                ImGui::PushStyleColor(ImGuiCol_Text, kRed);
                ImGui::TextWrapped("%s", p.c_str());
                ImGui::PopStyleColor();
            }
            ImGui::PopID();
        }
        ImGui::EndTable();
    }
    if (changed) form_edited(s);
    if (!s.form_notice.empty()) {
        ImGui::TextColored(kGrey, "%s", s.form_notice.c_str());
        said("##a11y-form-notice", a11y::Role::status, s.form_notice);
    }
    ImGui::Spacing();
    ImGui::BeginDisabled(s.predicting);
    const bool ctrl_enter = ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Enter)) && ImGui::GetIO().KeyCtrl;
    if (button("Predict", ImVec2(140 * S(), 0)) || ctrl_enter) predict_form(s, ctrl_enter);
    ImGui::EndDisabled();
    ImGui::SameLine();
    if (button("Clear form")) {
        form_reset(s);
        host_form_cleared();
    }
    if (!narrow) ImGui::SameLine();  // narrow: on a line of its own, never cut
    // The legend only when a field carries the mark.
    const auto& fields = schema.fields;
    const bool any_required = std::any_of(fields.begin(), fields.end(), [](const Field& f) { return f.required; });
    ImGui::TextColored(kGrey, "%s", any_required ? "* required   (Ctrl+Enter predicts)" : "(Ctrl+Enter predicts)");
    said("##a11y-legend", a11y::Role::text, any_required ? "* required. Ctrl+Enter predicts." : "Ctrl+Enter predicts.");
}

//-----------------------------------------------------------------------------
// [SECTION] Predict
//-----------------------------------------------------------------------------
void predict_form(AppState& s, bool keep_focus) {
    if (!s.model || s.predicting) return;
    s.predicting = true;
    // Enter ends the text field's editing; Ctrl+Enter predicts without losing the clinician's place.
    if (keep_focus) s.refocus_field = s.last_field;
    host_predict(json_dump(form_record(s)));
}

}  // namespace ldx::app
