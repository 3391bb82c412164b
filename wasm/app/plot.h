// wasm/app/plot.h — small plots drawn with Dear ImGui's ImDrawList (no ImPlot in Debian or npm).
//
// One unit square (both axes 0 to 1: rates and probabilities), a dashed diagonal for reference,
// lines and points in it, axis labels. The model card's ROC and calibration plots use it; other
// views (validation) can too.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "imgui.h"

namespace ldx::app {

struct PlotSeries {
    std::vector<std::pair<double, double>> points;  // (x, y), both in [0, 1]
    ImU32 color = IM_COL32(40, 90, 180, 255);
    bool line = true;    // joined by a line; else drawn as dots
    std::string legend;  // shown under the plot, in the series' color
};

// Draws a square plot of side `size` pixels at the cursor and advances it.
void plot_unit_square(const char* id, float size, const std::vector<PlotSeries>& series, const char* x_label,
                      const char* y_label, bool diagonal = true);

}  // namespace ldx::app
