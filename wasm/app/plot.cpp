// wasm/app/plot.cpp — see plot.h.
#include "plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "a11y.h"

namespace ldx::app {

namespace {
// The plot's points as a table, behind a disclosure: a screen reader reaches every figure, and a
// person who sees can read them too. A long curve is thinned to about 25 rows (its ends kept).
void data_table(const std::string& title, const std::vector<PlotSeries>& series, const PlotAxes& axes) {
    if (!ImGui::TreeNode("data", "Data table for %s", title.c_str())) return;
    std::string y = axes.y_label;
    if (y.rfind("y: ", 0) == 0) y = y.substr(3);
    if (ImGui::BeginTable("points", 3, ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingStretchProp)) {
        ImGui::TableSetupColumn("Series");
        ImGui::TableSetupColumn(axes.x_label);
        ImGui::TableSetupColumn(y.c_str());
        ImGui::TableHeadersRow();
        a11y::table_begin("##a11y-points", "Data table for " + title, {"Series", axes.x_label, y});
        auto number = [](double v) {
            char b[32];
            std::snprintf(b, sizeof b, "%.3g", std::abs(v) < 1e-12 ? 0.0 : v);
            return std::string(b);
        };
        for (const auto& s : series) {
            const size_t n = s.points.size(), stride = std::max<size_t>(1, n / 25);
            std::vector<size_t> rows;
            for (size_t i = 0; i < n; i += stride) rows.push_back(i);
            if (n > 0 && rows.back() != n - 1) rows.push_back(n - 1);
            for (size_t i : rows) {
                const std::string words[] = {s.legend,
                                             axes.x_text ? axes.x_text(s.points[i].first) : number(s.points[i].first),
                                             number(s.points[i].second)};
                ImGui::TableNextRow();
                a11y::table_row();
                for (const auto& w : words) {
                    ImGui::TableNextColumn();
                    ImGui::TextUnformatted(w.c_str());
                    a11y::cell(w);
                }
            }
        }
        a11y::table_end();
        ImGui::EndTable();
    }
    ImGui::TreePop();
}
}  // namespace

void plot_xy(const char* id, float size, const std::vector<PlotSeries>& series, const PlotAxes& axes,
             const PlotWords& words) {
    const double y0 = axes.y_min, y1 = axes.y_max > axes.y_min ? axes.y_max : axes.y_min + 1;
    const double x0 = axes.x_min, x1 = axes.x_max > axes.x_min ? axes.x_max : axes.x_min + 1;
    // Tick labels: as they are on the unit square, whole numbers on a wide range, else 2 decimals.
    auto tick = [](double lo, double hi) { return lo == 0 && hi == 1 ? "%g" : hi - lo >= 10 ? "%.0f" : "%.2f"; };
    ImGui::PushID(id);
    const float pad = ImGui::CalcTextSize("-0.25").x + 8;  // room for the y ticks
    const ImVec2 at = ImGui::GetCursorScreenPos();
    const ImVec2 lo(at.x + pad, at.y + size), hi(at.x + pad + size, at.y);  // data (0,0) and (1,1)
    ImDrawList* dl = ImGui::GetWindowDrawList();
    auto px = [&](double x, double y) {
        return ImVec2(lo.x + static_cast<float>((std::clamp(x, x0, x1) - x0) / (x1 - x0)) * (hi.x - lo.x),
                      lo.y + static_cast<float>((std::clamp(y, y0, y1) - y0) / (y1 - y0)) * (hi.y - lo.y));
    };
    const ImU32 grid = IM_COL32(200, 205, 212, 255), axis = IM_COL32(90, 95, 105, 255);
    auto at_x = [&](double t) { return x0 + t * (x1 - x0); };  // t: 0..1 across the plot
    dl->AddRectFilled(px(x0, y1), px(x1, y0), IM_COL32(255, 255, 255, 255));
    for (double t : {0.25, 0.5, 0.75}) {
        dl->AddLine(px(at_x(t), y0), px(at_x(t), y1), grid);
        dl->AddLine(px(x0, y0 + t * (y1 - y0)), px(x1, y0 + t * (y1 - y0)), grid);
    }
    if (y0 < 0 && y1 > 0) dl->AddLine(px(x0, 0), px(x1, 0), axis);  // the zero line
    dl->AddRect(px(x0, y1), px(x1, y0), axis);
    if (axes.diagonal && y0 == x0 && y1 == x1)
        for (int i = 0; i < 20; i += 2)
            dl->AddLine(px(at_x(i / 20.0), at_x(i / 20.0)), px(at_x((i + 1) / 20.0), at_x((i + 1) / 20.0)), axis);
    const float thick = std::max(1.5f, size / 160.0f);
    for (const auto& s : series) {
        if (s.bar > 0) {
            for (const auto& [x, y] : s.points) {
                const ImVec2 a = px(x - s.bar / 2, std::max(y0, 0.0)), b = px(x + s.bar / 2, y);
                dl->AddRectFilled(ImVec2(std::min(a.x, b.x), std::min(a.y, b.y)),
                                  ImVec2(std::max(a.x, b.x), std::max(a.y, b.y)), s.color);
            }
        } else if (s.line && s.dashed) {
            for (size_t i = 0; i + 1 < s.points.size(); i += 2)
                dl->AddLine(px(s.points[i].first, s.points[i].second),
                            px(s.points[i + 1].first, s.points[i + 1].second), s.color, thick);
        } else if (s.line) {
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
        char b[16];
        std::snprintf(b, sizeof b, tick(x0, x1), at_x(t));
        const std::string xt = axes.x_text ? axes.x_text(at_x(t)) : std::string(b);
        ImVec2 w = ImGui::CalcTextSize(xt.c_str());
        dl->AddText(ImVec2(px(at_x(t), y0).x - w.x / 2, lo.y + 2), text, xt.c_str());
        const double y = y0 + t * (y1 - y0);
        std::snprintf(b, sizeof b, tick(y0, y1), std::abs(y) < 1e-12 ? 0.0 : y);
        w = ImGui::CalcTextSize(b);
        dl->AddText(ImVec2(lo.x - w.x - 4, px(x0, y).y - w.y / 2), text, b);
    }
    const ImVec2 xw = ImGui::CalcTextSize(axes.x_label);
    dl->AddText(ImVec2((lo.x + hi.x - xw.x) / 2, lo.y + ImGui::GetTextLineHeight() + 2), text, axes.x_label);
    ImGui::Dummy(ImVec2(pad + size, size + ImGui::GetTextLineHeight() * 2.2f));
    if (!words.alt.empty()) a11y::text("##a11y-plot", a11y::Role::image, words.alt);
    ImGui::TextDisabled("%s", axes.y_label);  // the y axis's name, under the plot (ImDrawList has no rotated text)
    for (const auto& s : series)
        if (!s.legend.empty()) {
            ImGui::SameLine();
            ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(s.color), "%s", s.legend.c_str());
        }
    if (!words.title.empty()) data_table(words.title, series, axes);
    ImGui::PopID();
}

}  // namespace ldx::app
