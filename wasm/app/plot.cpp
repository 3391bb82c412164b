// wasm/app/plot.cpp — see plot.h.
#include "plot.h"

#include <algorithm>
#include <cmath>

namespace ldx::app {

void plot_unit_square(const char* id, float size, const std::vector<PlotSeries>& series, const char* x_label,
                      const char* y_label, bool diagonal) {
    ImGui::PushID(id);
    const float pad = ImGui::GetTextLineHeight() * 1.6f;  // room for the y label and the ticks
    const ImVec2 at = ImGui::GetCursorScreenPos();
    const ImVec2 lo(at.x + pad, at.y + size), hi(at.x + pad + size, at.y);  // data (0,0) and (1,1)
    ImDrawList* dl = ImGui::GetWindowDrawList();
    auto px = [&](double x, double y) {
        return ImVec2(lo.x + static_cast<float>(std::clamp(x, 0.0, 1.0)) * (hi.x - lo.x),
                      lo.y + static_cast<float>(std::clamp(y, 0.0, 1.0)) * (hi.y - lo.y));
    };
    const ImU32 grid = IM_COL32(200, 205, 212, 255), axis = IM_COL32(90, 95, 105, 255);
    dl->AddRectFilled(px(0, 1), px(1, 0), IM_COL32(255, 255, 255, 255));
    for (double t : {0.25, 0.5, 0.75}) {
        dl->AddLine(px(t, 0), px(t, 1), grid);
        dl->AddLine(px(0, t), px(1, t), grid);
    }
    dl->AddRect(px(0, 1), px(1, 0), axis);
    if (diagonal)
        for (int i = 0; i < 20; i += 2) dl->AddLine(px(i / 20.0, i / 20.0), px((i + 1) / 20.0, (i + 1) / 20.0), axis);
    const float thick = std::max(1.5f, size / 160.0f);
    for (const auto& s : series) {
        if (s.line) {
            std::vector<ImVec2> pts;
            for (const auto& [x, y] : s.points) pts.push_back(px(x, y));
            if (pts.size() >= 2)
                dl->AddPolyline(pts.data(), static_cast<int>(pts.size()), s.color, ImDrawFlags_None, thick);
        } else {
            for (const auto& [x, y] : s.points) dl->AddCircleFilled(px(x, y), thick * 2.2f, s.color);
        }
    }
    const ImU32 text = ImGui::GetColorU32(ImGuiCol_Text);
    for (double t : {0.0, 0.5, 1.0}) {
        char b[8];
        std::snprintf(b, sizeof b, "%g", t);
        const ImVec2 w = ImGui::CalcTextSize(b);
        dl->AddText(ImVec2(px(t, 0).x - w.x / 2, lo.y + 2), text, b);
        dl->AddText(ImVec2(lo.x - w.x - 4, px(0, t).y - w.y / 2), text, b);
    }
    const ImVec2 xw = ImGui::CalcTextSize(x_label);
    dl->AddText(ImVec2((lo.x + hi.x - xw.x) / 2, lo.y + ImGui::GetTextLineHeight() + 2), text, x_label);
    ImGui::Dummy(ImVec2(pad + size, size + ImGui::GetTextLineHeight() * 2.2f));
    ImGui::TextDisabled("%s", y_label);  // the y axis's name, under the plot (ImDrawList has no rotated text)
    for (const auto& s : series)
        if (!s.legend.empty()) {
            ImGui::SameLine();
            ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(s.color), "%s", s.legend.c_str());
        }
    ImGui::PopID();
}

}  // namespace ldx::app
