// wasm/app/views/frame.cpp — the frame's layout: the header above every view, and the tabs that hold the views.
//
// Index of this file
//   [SECTION] Header: identity, notice, errors
//   [SECTION] Frame layout: the tabs
#include <algorithm>

#include "a11y.h"
#include "app.h"
#include "imgui.h"
#include "views.h"
#include "widgets.h"

namespace ldx::app {

//-----------------------------------------------------------------------------
// [SECTION] Header: identity, notice, errors
//-----------------------------------------------------------------------------
namespace {
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
        // The title whole: in the picker when it fits, else (a phone, 200% zoom) the picker is its
        // arrow alone and the title wraps beside it (the picker's element still says the title).
        const float width = std::min(540 * S(), ImGui::GetContentRegionAvail().x * 0.5f);
        const ImGuiStyle& st = ImGui::GetStyle();
        const bool fits =
            ImGui::CalcTextSize(preview.c_str()).x + ImGui::GetFrameHeight() + 2 * st.FramePadding.x <= width;
        if (fits) ImGui::SetNextItemWidth(width);
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
        if (ImGui::BeginCombo("##model", preview.c_str(), fits ? ImGuiComboFlags_None : ImGuiComboFlags_NoPreview)) {
            for (const auto& a : available) {
                const std::string name = json_text_or(a, "name");
                if (ImGui::Selectable(label(a).c_str(), name == current)) host_choose_model(name);
            }
            ImGui::EndCombo();
        }
        if (!fits) {
            ImGui::SameLine();
            ImGui::AlignTextToFramePadding();
            ImGui::TextWrapped("%s", preview.c_str());
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
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] Frame layout: the tabs
//-----------------------------------------------------------------------------
namespace {
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
}  // namespace

void draw(AppState& s, float width, float height) {
    ImGui::SetNextWindowPos(ImVec2(0, 0));
    ImGui::SetNextWindowSize(ImVec2(width, height));
    // No background of its own: the frame loop clears the canvas to the same colour (kWindowBg),
    // and a blended rectangle the size of the canvas is the costliest thing a software-GL frame draws.
    ImGui::Begin("LocalDx", nullptr,
                 ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoBringToFrontOnFocus |
                     ImGuiWindowFlags_NoBackground);
    // Its border, which Dear ImGui draws only with the background: the same rectangle, as it draws it.
    if (const ImGuiStyle& st = ImGui::GetStyle(); st.WindowBorderSize > 0) {
        ImDrawList* list = ImGui::GetWindowDrawList();
        list->PushClipRect(ImVec2(0, 0), ImVec2(width, height), false);
        list->AddRect(ImVec2(0, 0), ImVec2(width, height), ImGui::GetColorU32(ImGuiCol_Border), st.WindowRounding, 0,
                      st.WindowBorderSize);
        list->PopClipRect();
    }
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
            ImGui::PushTextWrapPos(0.0f);  // every line of text wraps at the view's edge, never cut
            draw_image_view(s);
            ImGui::PopTextWrapPos();
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
            ImGui::PushTextWrapPos(0.0f);  // every line of text wraps at the view's edge, never cut
            draw_batch(s);
            ImGui::PopTextWrapPos();
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
            ImGui::PushTextWrapPos(0.0f);  // every line of text wraps at the view's edge, never cut
            draw_operations(s);
            ImGui::PopTextWrapPos();
            ImGui::EndChild();
            ImGui::EndTabItem();
        }
        if (tab_item("Validate", tab_flags(4), tabs)) {
            ImGui::BeginChild("validate");
            a11y::view_text_begin();
            ImGui::PushTextWrapPos(0.0f);  // every line of text wraps at the view's edge, never cut
            draw_validate(s);
            ImGui::PopTextWrapPos();
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
