// wasm/app/views/parts.cpp — the small pieces several views draw or say (views.h).
//
// Index of this file
//   [SECTION] Help: the "(?)" and its words
//   [SECTION] Words: values and problems as the reader reads them
//   [SECTION] Accessible nodes (a11y.h): what the hooks cannot know
#include <cmath>

#include "a11y.h"
#include "app.h"
#include "imgui.h"
#include "views.h"
#include "widgets.h"

namespace ldx::app {

//-----------------------------------------------------------------------------
// [SECTION] Help
//-----------------------------------------------------------------------------
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
void help_text(const std::string& key, const std::string& text, bool full_width) {
    ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
    ImGui::PushTextWrapPos(full_width ? ImGui::GetWindowContentRegionMax().x : 0.0f);
    ImGui::TextUnformatted(text.c_str());
    ImGui::PopTextWrapPos();
    ImGui::PopStyleColor();
    a11y::text(("##help-text-" + key).c_str(), a11y::Role::text, text);
}

//-----------------------------------------------------------------------------
// [SECTION] Words
//-----------------------------------------------------------------------------
// The schema of the model shown; none before a model is loaded.
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

//-----------------------------------------------------------------------------
// [SECTION] Accessible nodes
//-----------------------------------------------------------------------------
// Text just drawn, mirrored for screen readers with its role (a11y::text); `key` keeps its element.
void said(const std::string& key, a11y::Role role, const std::string& words, int level) {
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

}  // namespace ldx::app
