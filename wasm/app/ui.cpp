// wasm/app/ui.cpp — everything the clinician sees, drawn from AppState each frame.
//
// Index of this file
//   [SECTION] Small helpers
//   [SECTION] Accessible nodes (a11y.h): what the hooks cannot know
//   [SECTION] Header: identity, notice, errors
//   [SECTION] Patient: the form
//   [SECTION] Patient: the result and its explanation
//   [SECTION] Batch view
//   [SECTION] Model card
//   [SECTION] Validate (a site's labelled patients, on this device)
//   [SECTION] Reporting (what leaves the browser)
//   [SECTION] Frame layout
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "a11y.h"
#include "app.h"
#include "csv/csv.h"
#include "drift/report.h"
#include "metrics/evaluation.h"
#include "predict/results_csv.h"
#include "record/fhir.h"
#include "record/patients.h"
#include "imgui.h"
#include "misc/cpp/imgui_stdlib.h"
#include "plot.h"
#include "widgets.h"

namespace ldx::app {

//-----------------------------------------------------------------------------
// [SECTION] Small helpers
//-----------------------------------------------------------------------------
namespace {
// A "(?)" that says more about `about`: its text shows on hover, and a click, a tap, Enter or
// Space opens it in the page (and closes it again), so a keyboard or a phone reaches it too. `key`
// names it (one is open at a time); returns whether it is open, for the caller to draw help_text
// where it belongs.
bool help_marker(AppState& s, const std::string& key, const std::string& about, const std::string& text) {
    ImGui::SameLine();
    const bool open = s.help_open == key;
    const std::string label = "(?)##help-" + key;
    a11y::Node node;
    node.role = a11y::Role::disclosure;
    node.name = "Help: " + about;
    node.state = open ? a11y::kExpanded : a11y::kCollapsed;
    a11y::note(ImGui::GetID(label.c_str()), node);
    ImGui::PushStyleColor(ImGuiCol_Button, ImVec4(0, 0, 0, 0));
    ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
    if (ImGui::SmallButton(label.c_str())) s.help_open = open ? "" : key;
    ImGui::PopStyleColor(2);
    if (ImGui::IsItemHovered() && !open) {
        ImGui::BeginTooltip();
        ImGui::PushTextWrapPos(ImGui::GetFontSize() * 30.0f);
        ImGui::TextUnformatted(text.c_str());
        ImGui::PopTextWrapPos();
        ImGui::EndTooltip();
    }
    return s.help_open == key;
}

// The open help's words, wrapped where the view puts them (`full_width`: at the window's edge, over
// the columns of a form that does not clip them), and read as one text.
void help_text(const std::string& key, const std::string& text, bool full_width = false) {
    ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
    ImGui::PushTextWrapPos(full_width ? ImGui::GetWindowContentRegionMax().x : 0.0f);
    ImGui::TextUnformatted(text.c_str());
    ImGui::PopTextWrapPos();
    ImGui::PopStyleColor();
    a11y::text(("##help-text-" + key).c_str(), a11y::Role::text, text);
}

const Schema* schema_of(const AppState& s) { return s.model ? &s.model->model.schema : nullptr; }

// Text of a field's value for the explanation ("148 mg/dL", "Female", "missing").
std::string value_text(const Field& f, double x) {
    if (std::isnan(x)) return "missing";
    if (f.type == FieldType::category) return f.levels[static_cast<size_t>(x)].label;
    if (f.type == FieldType::boolean) return x != 0 ? "yes" : "no";
    const std::string unit = unit_display(f.unit);
    return fmt(x, "%.4g") + (unit.empty() ? "" : " " + unit);
}

// A problem in the reader's words (schema.h, problem_words): the row and patient id, the field's label.
std::string problem_text(const Schema& schema, const Json& p) {
    Problem pr = problem(json_text_or(p, "code"), json_text_or(p, "message"), json_text_or(p, "field"),
                         json_int_in(p, "row", 1, INT32_MAX).value_or(-1));
    pr.patient = json_text_or(p, "patient");
    return problem_words(schema, pr);
}

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

// What a row of a batch predicts, as a clinician reads it: the class, or the value with its unit.
std::string predicted_text(const Schema& schema, int predicted, double value) {
    return schema.outputs.regression() ? outcome_text(schema.outputs, value)
                                       : schema.outputs.classes[static_cast<size_t>(predicted)].label;
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

//-----------------------------------------------------------------------------
// [SECTION] Accessible nodes
//-----------------------------------------------------------------------------
// Text just drawn, mirrored for screen readers with its role (a11y::text); `key` keeps its element.
void said(const std::string& key, a11y::Role role, const std::string& words, int level = 0) {
    a11y::text(key.c_str(), role, words, level);
}

// A combo as a list of options (the page offers it as a <select>, opened by a tap): call before
// BeginCombo with the same label, so the id is the combo's.
void combo_node(const char* label, const std::string& name, std::vector<std::string> options, int selected,
                std::function<void(int)> choose) {
    a11y::Node n;
    n.role = a11y::Role::combobox;
    n.name = name;
    n.value =
        selected >= 0 && selected < static_cast<int>(options.size()) ? options[static_cast<size_t>(selected)] : "";
    n.options = std::move(options);
    n.selected = selected;
    a11y::note(ImGui::GetID(label), std::move(n), a11y::Actions{.choose = std::move(choose)});
}

// A form field as a real input element (web/a11y.js), named by its label and the unit its value is
// read in; its hint, help and problem with it. What is typed, pasted or composed there takes the
// path of keys typed on the canvas (form_edited); Escape puts back the text the edit began with.
void field_node(const Field& f, const FieldInput& in, size_t i, const std::string& hint, const std::string& help,
                const std::string& problem) {
    a11y::Node node;
    node.role = a11y::Role::textbox;
    const std::string unit =
        f.numeric() ? unit_display(in.unit == 0 ? f.unit : f.alt_units[static_cast<size_t>(in.unit - 1)].unit)
                    : std::string();
    node.name = f.label + (unit.empty() ? "" : " (" + unit + ")");
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

// A tab of the view's tab bar, in the tablist `list`; selected when its content is drawn.
bool tab_item(const char* label, ImGuiTabItemFlags flags, ImGuiID list) {
    const ImGuiID id = ImGui::GetID(label);
    const bool open = ImGui::BeginTabItem(label, nullptr, flags);
    a11y::Node n;
    n.role = a11y::Role::tab;
    n.name = label;
    n.parent = list;
    if (open) n.state |= a11y::kSelected;
    a11y::note(id, std::move(n));
    return open;
}

//-----------------------------------------------------------------------------
// [SECTION] Header: identity, notice, errors
//-----------------------------------------------------------------------------
void draw_header(AppState& s) {
    ImGui::TextColored(ImVec4(0.1f, 0.25f, 0.5f, 1), "LocalDx");
    said("##a11y-title", a11y::Role::heading, "LocalDx", 1);
    ImGui::SameLine();
    const Json available = s.bundle_status.value("available", Json::array());
    if (!available.empty()) {
        const std::string current = s.model ? s.model->model.manifest.name : std::string("(none)");
        // Titles, as a clinician knows the models; the name tells apart two models of one task.
        auto label = [](const Json& a) {
            return json_text_or(a, "title", json_text_or(a, "name")) + "  (" + json_text_or(a, "name") + ")";
        };
        std::string preview = "choose a model";
        for (const auto& a : available)
            if (json_text_or(a, "name") == current) preview = json_text_or(a, "title", current);
        ImGui::SetNextItemWidth(std::min(540 * S(), ImGui::GetContentRegionAvail().x * 0.5f));
        std::vector<std::string> options, names;
        int chosen = -1;
        for (const auto& a : available) {
            if (json_text_or(a, "name") == current) chosen = static_cast<int>(options.size());
            options.push_back(label(a));
            names.push_back(json_text_or(a, "name"));
        }
        combo_node("##model", "Model", options, chosen, [names](int i) {
            if (i >= 0 && i < static_cast<int>(names.size())) host_choose_model(names[static_cast<size_t>(i)]);
        });
        if (ImGui::BeginCombo("##model", preview.c_str())) {
            for (const auto& a : available) {
                const std::string name = json_text_or(a, "name");
                if (ImGui::Selectable(label(a).c_str(), name == current)) host_choose_model(name);
            }
            ImGui::EndCombo();
        }
    }
    if (s.model) {
        if (ImGui::GetWindowWidth() / S() >= kStackBelow) ImGui::SameLine();  // narrow: on a line of its own
        const auto& m = s.model->model;
        std::string signers;
        for (const auto& k : m.signers) signers += (signers.empty() ? "" : ", ") + k.substr(0, 8);
        ImGui::PushStyleColor(ImGuiCol_Text, kGrey);
        const std::string identity =
            m.manifest.name + " v" + std::to_string(m.manifest.version) + " · signature verified (key " + signers +
            ") · expires " + s.info.value("expires", "").substr(0, 10) + " · " + s.bundle_status.value("source", "");
        ImGui::TextWrapped("%s", identity.c_str());
        said("##a11y-identity", a11y::Role::text, identity);
        ImGui::PopStyleColor();
    }
    ImGui::PushStyleColor(ImGuiCol_ChildBg, im(palette::kNoticeBg));
    const char* notice =
        "Decision support for health professionals — not a diagnosis. Patient data stays on this device.";
    const float notice_h = ImGui::CalcTextSize(notice, nullptr, false, ImGui::GetContentRegionAvail().x - 16 * S()).y;
    ImGui::BeginChild("notice", ImVec2(0, notice_h + 8 * S()), false);
    ImGui::SetCursorPos(ImVec2(8 * S(), 4 * S()));
    ImGui::PushStyleColor(ImGuiCol_Text, kAmber);
    ImGui::PushTextWrapPos(ImGui::GetWindowWidth() - 8 * S());
    ImGui::TextUnformatted(notice);
    said("##a11y-notice", a11y::Role::text, notice);
    ImGui::PopTextWrapPos();
    ImGui::PopStyleColor();
    ImGui::EndChild();
    ImGui::PopStyleColor();
    if (!s.error.empty()) {
        ImGui::PushStyleColor(ImGuiCol_Text, kRed);
        ImGui::TextWrapped("%s", s.error.c_str());
        said("##a11y-error", a11y::Role::alert, s.error);
        ImGui::PopStyleColor();
    }
}

//-----------------------------------------------------------------------------
// [SECTION] Patient: the form
//-----------------------------------------------------------------------------
std::string problem_for(const AppState& s, const std::string& field, const Json& problems) {
    for (const auto& p : problems)
        if (p.value("field", "") == field) return p.value("message", "");
    (void)s;
    return {};
}

}  // namespace

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

namespace {
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
// [SECTION] Patient: the result and its explanation
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
// [SECTION] Batch view
//-----------------------------------------------------------------------------
}  // namespace

namespace {
// The warning indices of batch row i (into meta.warning_kinds).
const std::vector<size_t>& row_warning_ids(const BatchState& b, int i) {
    static const std::vector<size_t> none;
    return i >= 0 && static_cast<size_t>(i) < b.meta.warnings.size() ? b.meta.warnings[static_cast<size_t>(i)] : none;
}

}  // namespace

size_t BatchState::warnings(int row) const { return row_warning_ids(*this, row).size(); }

std::string BatchState::patient(int row) const {
    return row >= 0 && static_cast<size_t>(row) < meta.patients.size() ? meta.patients[static_cast<size_t>(row)] : "";
}

ResultView batch_row(const AppState& s, int i) {
    const BatchState& b = s.batch;
    if (auto it = b.explained.find(i); it != b.explained.end()) return it->second;
    const Schema& schema = s.model->model.schema;
    const BatchLayout& l = b.layout;
    ResultView r;
    r.ok = true;
    r.row = b.row_number(i);
    r.patient = b.patient(i);
    r.predicted = b.predicted(i);
    for (size_t c = 0; c < l.classes; ++c) r.probabilities.push_back(b.at(i, l.probability(c)));
    r.label = predicted_text(schema, r.predicted, r.probabilities.empty() ? NAN : r.probabilities[0]);
    for (size_t f = 0; f < l.fields; ++f) r.values.push_back(b.at(i, l.value(f)));
    for (size_t id : row_warning_ids(b, i))
        r.warnings.push_back({b.meta.warning_kinds[id].field, b.meta.warning_kinds[id].message});
    if (b.at(i, l.explained()) == 1) {
        ResultView::Explanation e;
        e.output = explanation_output(s.model->model, r.predicted);
        e.base = b.at(i, l.base());
        for (size_t f = 0; f < l.fields; ++f) e.fields.push_back(b.at(i, l.contribution(f)));
        e.kind = b.meta.explanation_kind;
        e.unit = b.meta.explanation_unit;
        e.of = b.meta.explained_of.count(e.output) ? b.meta.explained_of.at(e.output) : std::string();
        const std::vector<double>& bases = b.meta.bases;
        if (s.model->model.ensemble && bases.size() == static_cast<size_t>(s.model->model.ensemble->num_outputs)) {
            const PointsExplanation pts =
                model_explanation_points(s.model->model, bases, e.fields, e.output, r.probabilities);
            e.points = ResultView::Points{pts.ok, pts.base, pts.probability, pts.fields};
        }
        r.explanation = std::move(e);
    }
    return r;
}

namespace {
void sort_batch(AppState& s) {
    auto& b = s.batch;
    auto key = [&](int i) -> double {
        if (b.sort_column == 0) return b.row_number(i);
        if (b.sort_column == 1)
            return s.model && s.model->model.schema.outputs.regression() ? b.probability(i, 0) : b.predicted(i);
        if (b.sort_column == 2) return static_cast<double>(b.warnings(i));
        return b.probability(i, b.sort_column - 3);
    };
    std::stable_sort(b.order.begin(), b.order.end(),
                     [&](int a, int c) { return b.sort_descending ? key(a) > key(c) : key(a) < key(c); });
}

// The batch's results file (predict/results_csv.h): the same bytes as `localdx predict --format
// csv` on the same file, apart from the line naming the tool.
std::string batch_csv(const AppState& s) {
    const Schema& schema = *schema_of(s);
    const BatchState& b = s.batch;
    std::vector<ResultsRow> rows;
    for (int i = 0; i < static_cast<int>(b.rows()); ++i) {
        ResultsRow r;
        r.row = b.row_number(i);
        r.patient = b.patient(i);
        const size_t outputs = schema.outputs.regression() ? 1 : b.layout.classes;
        for (size_t c = 0; c < outputs; ++c) r.probabilities.push_back(b.probability(i, static_cast<int>(c)));
        r.predicted = b.predicted(i);
        for (size_t id : row_warning_ids(b, i)) {
            const BatchMeta::Warning& x = b.meta.warning_kinds[id];
            r.warnings.push_back(problem("warning", x.message, x.field));
        }
        rows.push_back(std::move(r));
    }
    // A row's problems together, on its one line.
    std::map<long, size_t> refused;
    for (const auto& p : b.problems) {
        const long row = p.contains("row") && p["row"].is_number_integer() ? p["row"].get<long>() : 0;
        Problem pr = problem(json_text_or(p, "code"), json_text_or(p, "message"), json_text_or(p, "field"));
        auto [at, fresh] = refused.try_emplace(row, rows.size());
        if (fresh) {
            ResultsRow r;
            r.row = row;
            r.patient = json_text_or(p, "patient");
            rows.push_back(std::move(r));
        }
        rows[at->second].problems.push_back(std::move(pr));
    }
    const std::string model = s.info.value("name", "") + " v" + std::to_string(s.info.value("version", 0));
    return results_csv(schema, "LocalDx in the browser", model, rows);
}

void draw_batch(AppState& s) {
    auto& b = s.batch;
    if (button("Open patients (CSV or FHIR JSON)…")) host_open_csv();
    // Beside the button when a sentence fits there, else below it (a phone).
    if (ImGui::GetContentRegionAvail().x - ImGui::GetItemRectSize().x > 320 * S()) ImGui::SameLine();
    ImGui::PushStyleColor(ImGuiCol_Text, kGrey);
    ImGui::TextWrapped("Scored on this device; nothing is uploaded.");  // wrapped, never cut (320 px)
    ImGui::PopStyleColor();
    const Schema& schema = *schema_of(s);
    if (!b.loaded) {
        // What the reader expects, before any file: the columns, and a template to fill in.
        ImGui::Spacing();
        std::string columns = "patient_id (optional)";
        for (const auto& f : schema.fields)
            columns += ", " + f.name +
                       (f.numeric() && !unit_display(f.unit).empty() ? " [" + unit_display(f.unit) + "]" : "") +
                       (f.required ? " *" : "");
        const bool any_required =
            std::any_of(schema.fields.begin(), schema.fields.end(), [](const Field& f) { return f.required; });
        ImGui::TextWrapped(
            "A CSV file has one row per patient and these columns (%sa unit in the header, e.g. "
            "glucose[mmol/L], "
            "converts it): %s. Other columns are ignored. FHIR R4 JSON (a Bundle or NDJSON) works too.",
            any_required ? "* required; " : "", columns.c_str());
        if (button("Download a CSV template"))
            host_download(s.info.value("name", "model") + "-template.csv", patients_template_csv(schema));
        return;
    }
    ImGui::TextWrapped("%s: %zu patients scored, %zu rows could not be used.", b.file_name.c_str(), b.rows(),
                       b.problems.size());
    if (button("Export results (CSV)")) host_download("localdx-results.csv", batch_csv(s));
    ImGui::PushStyleColor(ImGuiCol_Text, kGrey);
    ImGui::TextWrapped("%s", b.status.c_str());
    for (const std::string& n : b.meta.notices) ImGui::TextWrapped("Note: %s", n.c_str());
    ImGui::PopStyleColor();
    if (!b.problems.empty()) {
        // Listed above the table, where they are seen: each with its row, id and reason in the form's words.
        ImGui::PushStyleColor(ImGuiCol_Text, kRed);
        ImGui::Text("Rows that could not be used:");
        ImGui::PopStyleColor();
        const float h =
            std::min(static_cast<float>(b.problems.size()), 5.0f) * ImGui::GetTextLineHeightWithSpacing() + 8 * S();
        ImGui::BeginChild("rejected", ImVec2(0, h), true);
        for (size_t i = 0; i < b.problems.size() && i < 1000; ++i)
            bullet("%s", problem_text(schema, b.problems[i]).c_str());
        ImGui::EndChild();
    }
    const int k = schema.num_classes();
    const float table_h = ImGui::GetContentRegionAvail().y * (b.selected >= 0 ? 0.45f : 0.95f);
    const ImGuiTableFlags flags = ImGuiTableFlags_Sortable | ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY |
                                  ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_Resizable;
    if (ImGui::BeginTable("batch", 3 + k, flags, ImVec2(0, table_h))) {
        ImGui::TableSetupScrollFreeze(0, 1);
        constexpr auto stretch = ImGuiTableColumnFlags_WidthStretch;  // the label gets the room it needs first
        ImGui::TableSetupColumn("Row", ImGuiTableColumnFlags_DefaultSort | stretch, 0.7f);
        ImGui::TableSetupColumn("Predicted", stretch, 1.8f);
        ImGui::TableSetupColumn("Warnings", stretch, 0.8f);
        for (const auto& c : schema.outputs.classes)
            ImGui::TableSetupColumn(("P(" + c.label + ")").c_str(),
                                    ImGuiTableColumnFlags_PreferSortDescending | stretch, 1.0f);
        ImGui::TableHeadersRow();
        {
            std::vector<std::string> headers{"Row", "Predicted", "Warnings"};
            for (const auto& c : schema.outputs.classes) headers.push_back("P(" + c.label + ")");
            a11y::table_begin("##a11y-batch", "Scored patients", headers);
        }
        if (ImGuiTableSortSpecs* spec = ImGui::TableGetSortSpecs(); spec && spec->SpecsDirty && spec->SpecsCount > 0) {
            b.sort_column = spec->Specs[0].ColumnIndex;
            b.sort_descending = spec->Specs[0].SortDirection == ImGuiSortDirection_Descending;
            sort_batch(s);
            spec->SpecsDirty = false;
        }
        ImGuiListClipper clip;
        clip.Begin(static_cast<int>(b.order.size()));
        while (clip.Step())
            for (int i = clip.DisplayStart; i < clip.DisplayEnd; ++i) {
                const int idx = b.order[static_cast<size_t>(i)];
                ImGui::TableNextRow();
                a11y::table_row();
                ImGui::TableNextColumn();
                a11y::cell_begin();  // the row's button is its first cell
                const std::string patient = b.patient(idx);
                const std::string name = std::to_string(b.row_number(idx)) + (patient.empty() ? "" : "  " + patient);
                {  // the row as a screen reader says it: a button that opens its explanation below
                    a11y::Node n;
                    n.role = a11y::Role::button;
                    n.name = "Row " + name + ": " + predicted_text(schema, b.predicted(idx), b.probability(idx, 0)) +
                             ", " + std::to_string(b.warnings(idx)) + " warnings";
                    for (int c = 0; c < k; ++c)
                        n.name += ", " + schema.outputs.classes[static_cast<size_t>(c)].label + " " +
                                  pct(b.probability(idx, c));
                    if (b.selected == idx) n.state |= a11y::kSelected;
                    a11y::note(ImGui::GetID(name.c_str()), std::move(n));
                }
                if (ImGui::Selectable(name.c_str(), b.selected == idx, ImGuiSelectableFlags_SpanAllColumns))
                    b.selected = idx;
                ImGui::TableNextColumn();
                const std::string predicted = predicted_text(schema, b.predicted(idx), b.probability(idx, 0));
                ImGui::TextUnformatted(predicted.c_str());  // a narrow column cuts it: the whole label on hover
                if (ImGui::IsItemHovered() && ImGui::CalcTextSize(predicted.c_str()).x > ImGui::GetColumnWidth())
                    ImGui::SetTooltip("%s", predicted.c_str());
                a11y::cell(predicted);
                ImGui::TableNextColumn();
                ImGui::Text("%zu", b.warnings(idx));
                a11y::cell(std::to_string(b.warnings(idx)));
                for (int c = 0; c < k; ++c) {
                    ImGui::TableNextColumn();
                    ImGui::TextUnformatted(pct(b.probability(idx, c)).c_str());
                    a11y::cell(pct(b.probability(idx, c)));
                }
            }
        a11y::table_end();
        ImGui::EndTable();
    }
    if (b.selected >= 0 && b.selected < static_cast<int>(b.rows())) {
        const ResultView r = batch_row(s, b.selected);
        ImGui::Text("Row %d%s: %s", r.row, r.patient.empty() ? "" : (" (patient " + r.patient + ")").c_str(),
                    r.label.c_str());
        if (r.explanation) draw_explanation(s, r, 8);
        else if (s.info.value("explainer", "") == "sampling-shapley" && button("Explain this row"))
            host_explain_row(b.selected);  // model-agnostic: ONNX Runtime runs the sampled rows for this patient only
    }
}

//-----------------------------------------------------------------------------
// [SECTION] Model card
//-----------------------------------------------------------------------------
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

// Binary models: the confusion matrix at the model's threshold, from the out-of-fold figures
// (counts = sensitivity x positives, specificity x negatives).
void draw_confusion(const Schema& schema, const Json& mt, const char* where = "in cross-validation") {
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

// A figure with its interval in words, for a plot's text alternative: "0.83 (95% CI 0.79–0.87)".
std::string figure_words(const Json& m) {
    if (!json_member(m, "value").is_number()) return "not available";
    std::string w = fmt(m["value"].get<double>(), "%.2f");
    const Json& ci = json_member(m, "ci95");
    if (ci.is_array() && ci.size() == 2 && ci[0].is_number() && ci[1].is_number())
        w += " (95% CI " + fmt(ci[0].get<double>(), "%.2f") + "–" + fmt(ci[1].get<double>(), "%.2f") + ")";
    return w;
}

// ROC curve(s) and the calibration (reliability) plot, side by side when there is room. `where`
// says whose figures they are ("cross-validation", "this file").
void draw_card_plots(const Schema& schema, const Json& mt, const char* where = "cross-validation") {
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
        draw_figures(m.schema, mt);
        if (binary) draw_confusion(m.schema, mt);
        if (binary) draw_operating_points(m.schema, mt);
        draw_card_plots(m.schema, mt);
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

//-----------------------------------------------------------------------------
// [SECTION] Validate
//-----------------------------------------------------------------------------
// Binary tasks: a threshold slider and what alerting at it would mean on this file's patients.
void draw_validation_threshold(AppState& s, const Schema& schema, const Json& mt) {
    ValidateState& v = s.validate;
    std::vector<double> score;
    std::vector<int> positive;
    double prevalence = 0;
    for (size_t i = 0; i < v.labels.size(); ++i) {
        score.push_back(v.probabilities[i * 2 + 1]);
        positive.push_back(v.labels[i] == 1);
        prevalence += (v.labels[i] == 1) / static_cast<double>(v.labels.size());
    }
    section("Choose a threshold for this site");
    ImGui::TextWrapped(
        "Drag to see what alerting at another threshold would mean for these %zu patients (%s have %s). "
        "The model's own threshold is %s.",
        v.labels.size(), pct(prevalence).c_str(), schema.outputs.classes[1].label.c_str(),
        pct(schema.outputs.threshold).c_str());
    ImGui::SetNextItemWidth(std::min(420 * S(), ImGui::GetContentRegionAvail().x));
    a11y::slider("threshold", "Threshold (probability of " + schema.outputs.classes[1].label + ")", &v.threshold, 0.01f,
                 0.99f, 0.001f, fmt(v.threshold, "%.3f"));
    ImGui::SliderFloat("threshold", &v.threshold, 0.01f, 0.99f, "%.3f", ImGuiSliderFlags_AlwaysClamp);
    const ImVec2 lo = ImGui::GetItemRectMin(), hi = ImGui::GetItemRectMax();
    v.slider[0] = lo.x;
    v.slider[1] = lo.y;
    v.slider[2] = hi.x - lo.x;
    v.slider[3] = hi.y - lo.y;
    ImGui::SameLine();
    if (small_button("Model's threshold")) v.threshold = static_cast<float>(schema.outputs.threshold);
    const Confusion c = confusion_at(score, positive, v.threshold);
    auto show = [](double x) { return std::isnan(x) ? std::string("–") : pct(x); };
    ImGui::Text("At %s: sensitivity %s · specificity %s · PPV %s · NPV %s · %s alerts per 100 patients",
                pct(v.threshold).c_str(), show(c.sensitivity()).c_str(), show(c.specificity()).c_str(),
                show(c.ppv()).c_str(), show(c.npv()).c_str(),
                std::isnan(c.alerts_per_100()) ? "–" : fmt(c.alerts_per_100(), "%.1f").c_str());
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
    marker.points = {{v.threshold, bottom}, {v.threshold, top * 1.1}};
    const float size = std::clamp(ImGui::GetContentRegionAvail().x * 0.5f - 60 * S(), 160 * S(), 320 * S());
    ImGui::Text("Decision curve (net benefit on this file)");
    // In words: the net benefit at the threshold chosen above, the model's and alerting everyone's.
    auto at = [&](const PlotSeries& sr) {
        if (sr.points.empty()) return std::string("–");
        auto near = std::min_element(sr.points.begin(), sr.points.end(), [&](const auto& a, const auto& b) {
            return std::abs(a.first - v.threshold) < std::abs(b.first - v.threshold);
        });
        return fmt(near->second, "%.3f");
    };
    plot_xy("decision", size, {everyone, m, marker},
            PlotAxes{"threshold probability", "y: net benefit (true alerts minus weighted false alarms, per patient)",
                     bottom, top * 1.1, false},
            PlotWords{"the decision curve", "Decision curve on this file: at the chosen threshold, " +
                                                pct(v.threshold) + ", net benefit " + at(m) + " for this model and " +
                                                at(everyone) + " for alerting everyone"});
}

// Prediction sets on this file: how often the true outcome was in the set, and recalibration.
void draw_validation_conformal(AppState& s, const Schema& schema) {
    ValidateState& v = s.validate;
    const Json& cov = json_member(v.report, "conformal");
    if (!cov.is_object() && !v.recalibrated) return;
    const bool regression = schema.outputs.regression();
    const char* what = regression ? "intervals" : "sets";
    section(regression ? "Prediction intervals on these patients" : "Prediction sets on these patients");
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
    if (cov.is_object()) {
        ImGui::TextWrapped(
            "The bundle's prediction %s (calibrated at training): coverage below the confidence "
            "means these patients differ from the training patients.",
            what);
        table("bundle coverage", cov);
    }
    if (v.recalibrated) {
        ImGui::TextColored(kAmber,
                           "Recalibrated on this file and kept on this device for this bundle: every result "
                           "now shows %s calibrated on this site's patients and says so.",
                           what);
        ImGui::TextWrapped("On the same patients, by construction, at or just above each level:");
        table("local coverage", v.local_coverage);
    } else if (!s.local_calibration && button(regression ? "Recalibrate the prediction intervals on this file"
                                                         : "Recalibrate the prediction sets on this file")) {
        validate_recalibrate(s);
    }
}

// A site calibration in force, from this session or kept from an earlier one: said, and undoable.
void draw_local_calibration(AppState& s) {
    if (!s.local_calibration && !s.validate.recalibrated) return;
    const Conformal& c = s.model->model.schema.outputs.conformal;
    ImGui::TextColored(kAmber, "Prediction %s: calibrated on %s (%zu patients), kept on this device.",
                       c.intervals ? "intervals" : "sets", c.source.c_str(), c.rows);
    ImGui::SameLine();
    if (small_button(c.intervals ? "Use the bundle's intervals again" : "Use the bundle's sets again")) {
        validate_forget_calibration(s);
        host_choose_model(s.model->model.manifest.name);  // reload the verified bundle as it was signed
    }
}

void draw_validate(AppState& s) {
    const Schema& schema = s.model->model.schema;
    ValidateState& v = s.validate;
    if (s.model->model.imaging) {
        ImGui::TextWrapped(
            "Validating an imaging model on this site's labelled images is not available in the browser yet. "
            "The model card states how it was evaluated.");
        return;
    }
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
    const ImVec2 lo = ImGui::GetItemRectMin(), hi = ImGui::GetItemRectMax();
    v.open_button[0] = lo.x;
    v.open_button[1] = lo.y;
    v.open_button[2] = hi.x - lo.x;
    v.open_button[3] = hi.y - lo.y;
    if (!s.model->model.ensemble)
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
    ImGui::TextWrapped("%zu rows read, %zu scored with a known outcome, %zu left out · file sha256 %s · %s v%lld",
                       json_member(d, "rows").get<size_t>(), json_member(d, "scored").get<size_t>(),
                       json_member(d, "left_out").size(), json_text_or(d, "sha256").substr(0, 16).c_str(),
                       s.model->model.manifest.name.c_str(), static_cast<long long>(s.model->model.manifest.version));
    ImGui::PopStyleColor();
    if (!json_member(d, "left_out").empty() &&
        ImGui::TreeNode("left out", "%zu rows left out, and why", json_member(d, "left_out").size())) {
        for (const auto& p : json_member(d, "left_out")) bullet("%s", problem_text(schema, p).c_str());
        ImGui::TreePop();
    }
    section("How the model does on these patients");
    ImGui::TextColored(kGrey, "95%% intervals from %d bootstrap resamples; the same figures as `localdx evaluate`.",
                       json_member(mt, "bootstrap_resamples").is_number() ? mt["bootstrap_resamples"].get<int>() : 0);
    draw_figures(schema, mt);
    if (schema.outputs.kind == TaskKind::binary) draw_confusion(schema, mt, "in this file");
    draw_card_plots(schema, mt, "this file");
    if (schema.outputs.kind == TaskKind::binary) draw_validation_threshold(s, schema, mt);
    draw_validation_conformal(s, schema);
}

//-----------------------------------------------------------------------------
// [SECTION] Reporting
//-----------------------------------------------------------------------------
void draw_reporting(AppState& s) {
    if (s.model->model.imaging) {
        ImGui::TextWrapped(
            "Nothing about the images read with this model leaves this device: no pixels, no header fields, and no "
            "aggregate reports (drift reports for imaging models are not collected yet).");
        return;
    }
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
    ImGui::TextWrapped(
        "Only counts leave this device: for each input field, how many patients fell in each range of the model's "
        "training data, and how many fell in each result class. No identifiers, no values, no free text and no time "
        "finer than the day. Each patient's values are randomized on this device before they are counted, and a report "
        "is sent only once it summarises at least %d patients.",
        privacy.k_min);
    ImGui::TextWrapped(
        "Each patient counts once: changing values to see what would change the result, then predicting again, "
        "counts as the same patient (the last prediction is the one counted), and a file counts once a day. %s",
        report_timing_words().c_str());
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

}  // namespace

std::string batch_export_csv(const AppState& s) { return batch_csv(s); }

void predict_form(AppState& s, bool keep_focus) {
    if (!s.model || s.predicting) return;
    s.predicting = true;
    // Enter ends the text field's editing; Ctrl+Enter predicts without losing the clinician's place.
    if (keep_focus) s.refocus_field = s.last_field;
    host_predict(json_dump(form_record(s)));
}

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

//-----------------------------------------------------------------------------
// [SECTION] Frame layout
//-----------------------------------------------------------------------------
void draw(AppState& s, float width, float height) {
    ImGui::SetNextWindowPos(ImVec2(0, 0));
    ImGui::SetNextWindowSize(ImVec2(width, height));
    ImGui::Begin("LocalDx", nullptr,
                 ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoBringToFrontOnFocus);
    draw_header(s);
    if (!s.model) {
        ImGui::TextColored(
            kGrey, "%s",
            s.error.empty() ? "Loading the model…" : "No model can be used until a valid bundle is available.");
        ImGui::End();
        return;
    }
    auto tab_flags = [&](int i) { return s.select_tab == i ? ImGuiTabItemFlags_SetSelected : ImGuiTabItemFlags_None; };
    const bool imaging = s.model->model.imaging.has_value();
    if (ImGui::BeginTabBar("tabs", ImGuiTabBarFlags_FittingPolicyScroll)) {  // titles whole at 320 px: the bar scrolls
        const ImGuiID tabs = ImGui::GetID("##a11y-tabs");
        a11y::Node list;
        list.role = a11y::Role::tablist;
        list.name = "Views";
        a11y::note(tabs, std::move(list));
        if (imaging && tab_item("Image", tab_flags(0), tabs)) {
            draw_image_view(s);
            ImGui::EndTabItem();
        }
        if (!imaging && tab_item("Patient", tab_flags(0), tabs)) {
            const float w = ImGui::GetContentRegionAvail().x;
            if (w / S() < kStackBelow) {
                // Narrow (half a laptop screen, a tablet): the form, then the result, in one scrolling column.
                ImGui::BeginChild("form", ImVec2(0, 0), true);
                draw_form(s);
                ImGui::Separator();
                draw_result(s);
                s.form_scroll = ImGui::GetScrollY();
                ImGui::EndChild();
            } else {
                ImGui::BeginChild("form", ImVec2(w * 0.48f, 0), true);
                draw_form(s);
                s.form_scroll = ImGui::GetScrollY();
                ImGui::EndChild();
                ImGui::SameLine();
                ImGui::BeginChild("result", ImVec2(0, 0), true);
                draw_result(s);
                ImGui::EndChild();
            }
            ImGui::EndTabItem();
        }
        if (!imaging && tab_item("Batch", tab_flags(1), tabs)) {
            draw_batch(s);
            ImGui::EndTabItem();
        }
        if (tab_item("Model card", tab_flags(2), tabs)) {
            ImGui::BeginChild("card");
            a11y::view_text_begin();
            draw_card(s);
            a11y::view_text_end("##a11y-card-text", "Model card, as text");
            ImGui::EndChild();
            ImGui::EndTabItem();
        }
        if (tab_item("Reporting", tab_flags(3), tabs)) {
            ImGui::BeginChild("rep");
            a11y::view_text_begin();
            draw_reporting(s);
            a11y::view_text_end("##a11y-reporting-text", "Reporting, as text");
            ImGui::EndChild();
            ImGui::EndTabItem();
        }
        if (tab_item("Operations", tab_flags(5), tabs)) {
            ImGui::BeginChild("operations");
            draw_operations(s);
            ImGui::EndChild();
            ImGui::EndTabItem();
        }
        if (tab_item("Validate", tab_flags(4), tabs)) {
            ImGui::BeginChild("validate");
            a11y::view_text_begin();
            draw_validate(s);
            a11y::view_text_end("##a11y-validate-text", "Validate, as text");
            ImGui::EndChild();
            ImGui::EndTabItem();
        }
        ImGui::EndTabBar();
        s.select_tab = -1;
    }
    ImGui::End();
}

}  // namespace ldx::app
