// wasm/app/widgets.h — the small drawing helpers every view shares (colours, numbers for people,
// section titles, wrapped bullets).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "a11y.h"
#include "app.h"
#include "imgui.h"
#include "palette.h"

namespace ldx::app {

inline ImVec4 im(palette::Rgba c) { return ImVec4(c.r, c.g, c.b, c.a); }
// Not const: "more contrast" (use_more_contrast) swaps them for palette::more's.
inline ImVec4 kRed = im(palette::kRed), kAmber = im(palette::kAmber), kGreen = im(palette::kGreen),
              kGrey = im(palette::kGrey);

// Numbers for people: without a format, up to 4 significant digits and never an exponent in the
// range clinical values live in ("2010", not "2.01e+03").
inline std::string fmt(double v, const char* f = nullptr) {
    char b[48];
    if (!f) f = std::abs(v) >= 1000 && std::abs(v) < 1e12 ? "%.0f" : "%.4g";
    std::snprintf(b, sizeof b, f, v);
    return b;
}
inline std::string pct(double p) { return fmt(100 * p, "%.1f") + "%"; }

// A rectangle as x, y, width, height (device pixels): where a view keeps its controls' places for
// the browser tests (a slider, an Open button, an image); keep_item_rect: the last item's.
inline void keep_rect(float (&out)[4], ImVec2 a, ImVec2 b) {
    out[0] = a.x;
    out[1] = a.y;
    out[2] = b.x - a.x;
    out[3] = b.y - a.y;
}
inline void keep_item_rect(float (&out)[4]) { keep_rect(out, ImGui::GetItemRectMin(), ImGui::GetItemRectMax()); }
inline constexpr float kStackBelow = 1000;      // CSS pixels: narrower windows show the form and the result stacked
inline constexpr float kFormLabelsAbove = 520;  // CSS pixels: a narrower form puts each label above its field
inline constexpr int kClassesShown = 5;         // a result lists this many classes; the rest behind "all N classes"
inline float S() { return state().scale; }

// prefers-contrast: more (the page says when it changes): palette::more's darker colours, and a
// border on every field and button; or the usual palette again. The page says it before the app
// has started too: it is kept, and the style takes it once Dear ImGui's context exists (app_start).
inline void use_more_contrast(bool more) {
    state().contrast_more = more;
    kRed = im(more ? palette::more::kRed : palette::kRed);
    kAmber = im(more ? palette::more::kAmber : palette::kAmber);
    kGreen = im(more ? palette::more::kGreen : palette::kGreen);
    kGrey = im(more ? palette::more::kGrey : palette::kGrey);
    if (!ImGui::GetCurrentContext()) return;  // not started: no style to write to yet
    ImGuiStyle& st = ImGui::GetStyle();
    st.Colors[ImGuiCol_TextDisabled] = im(more ? palette::more::kTextDisabled : palette::kTextDisabled);
    st.Colors[ImGuiCol_NavHighlight] = im(more ? palette::more::kNavHighlight : palette::kNavHighlight);
    if (more) st.Colors[ImGuiCol_Border] = im(palette::more::kBorder);
    else st.Colors[ImGuiCol_Border] = ImVec4(0, 0, 0, 0.30f);  // Dear ImGui's light style
    st.FrameBorderSize = more ? std::max(1.0f, std::round(S())) : 0.0f;
}

inline void section(const char* title) {
    ImGui::Spacing();
    ImGui::TextColored(ImVec4(0.1f, 0.25f, 0.5f, 1), "%s", title);
    ImGui::LogText("%s", a11y::kHeadingMark);  // a view's text log only (a11y.h): nothing drawn
    ImGui::Separator();
}

// A bullet whose text wraps at the window's edge (ImGui::BulletText does not wrap: long lines were cut).
template <class... Args>
void bullet(const char* format, Args... args) {
    ImGui::Bullet();
    ImGui::SameLine();
    ImGui::TextWrapped(format, args...);
}

// Buttons named for the accessible layer before they are drawn: a button scrolled out of sight
// (a phone, 200% zoom) gets no label from Dear ImGui's hooks, yet Tab must still reach it (the
// layer's focus scrolls it into view, then Enter presses it).
inline void name_button(const char* label) {
    a11y::Node n;
    n.role = a11y::Role::button;
    const char* end = std::strstr(label, "##");
    n.name = end ? std::string(label, end) : std::string(label);
    a11y::note(ImGui::GetID(label), n);
}
inline bool button(const char* label, const ImVec2& size = ImVec2(0, 0)) {
    name_button(label);
    return ImGui::Button(label, size);
}
inline bool small_button(const char* label) {
    name_button(label);
    return ImGui::SmallButton(label);
}

}  // namespace ldx::app
