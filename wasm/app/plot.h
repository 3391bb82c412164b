// wasm/app/plot.h — small plots drawn with Dear ImGui's ImDrawList (no ImPlot in Debian or npm).
//
// A square plot with x and y over given ranges (0 to 1 for the unit square: rates,
// probabilities, thresholds; an outcome's plausible range for a regression), an optional dashed diagonal, lines and
// points, axis labels. The model card's and the Validate view's ROC, calibration and decision-curve plots use it.
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "imgui.h"

namespace ldx::app {

struct PlotSeries {
    std::vector<std::pair<double, double>> points;  // (x, y) in the axes' ranges
    ImU32 color = IM_COL32(40, 90, 180, 255);
    bool line = true;     // joined by a line; else drawn as dots
    bool dashed = false;  // a dashed line (references such as "alert everyone")
    double bar = 0;       // > 0: each point is a bar this wide (in x's units) from the axis up to y
    std::string legend;   // shown under the plot, in the series' color
};

struct PlotAxes {
    const char* x_label = "";
    const char* y_label = "";
    double y_min = 0, y_max = 1;
    bool diagonal = true;  // the dashed y = x line (when x and y share their range)
    double x_min = 0, x_max = 1;
    std::function<std::string(double)> x_text;  // the x ticks' words (a date...); empty: the number
};

// What a plot says in words, for those who cannot see it: `alt` gives its key figures in a sentence
// (an image in the accessible layer, "ROC curve, AUC 0.83 (95% CI 0.79–0.87)"); `title` names the
// disclosure "Data table for <title>" under the plot, which shows its points as a table.
struct PlotWords {
    std::string title, alt;
};

// Draws a square plot of side `size` pixels at the cursor and advances it; series points are
// clamped to the axes' ranges.
void plot_xy(const char* id, float size, const std::vector<PlotSeries>& series, const PlotAxes& axes,
             const PlotWords& words = {});
inline void plot_unit_square(const char* id, float size, const std::vector<PlotSeries>& series, const char* x_label,
                             const char* y_label, bool diagonal = true, const PlotWords& words = {}) {
    plot_xy(id, size, series, PlotAxes{x_label, y_label, 0, 1, diagonal}, words);
}

}  // namespace ldx::app
