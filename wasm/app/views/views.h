// wasm/app/views/views.h — what each view draws, and the pieces several views share (for the
// files of this folder; the page's calls and the state are app.h).
//
// Index of this file
//   [SECTION] The views, one file each
//   [SECTION] Pieces of the Patient view drawn by another file
//   [SECTION] Figures shared by the model card and the Validate view (figures.cpp)
//   [SECTION] Help, words and accessible nodes (parts.cpp)
//
// One view, one file: frame.cpp lays out the header and the tabs and calls the view of each tab;
// predict_view.cpp (the form), result_view.cpp (the result and its explanation) and
// patient_chart.cpp (the chart's values, "Save to chart") make the Patient view; batch_view.cpp,
// model_card_view.cpp, validate_view.cpp, reporting_view.cpp, imaging_view.cpp and
// operations_view.cpp one tab each.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "a11y.h"
#include "app.h"

namespace ldx::app {

//-----------------------------------------------------------------------------
// [SECTION] The views, one file each
//-----------------------------------------------------------------------------
void draw_form(AppState& s);                    // predict_view.cpp
void draw_result(AppState& s);                  // result_view.cpp
void draw_batch(AppState& s);                   // batch_view.cpp
void draw_card(AppState& s);                    // model_card_view.cpp
void draw_validate(AppState& s);                // validate_view.cpp
void draw_validate_images_intro(AppState& s);   // validate_images_view.cpp: an imaging model's
void draw_validate_images_report(AppState& s);  // open button, and where its heat maps point
void draw_reporting(AppState& s);               // reporting_view.cpp

//-----------------------------------------------------------------------------
// [SECTION] Pieces of the Patient view drawn by another file
//-----------------------------------------------------------------------------
// A result's explanation, its `top` contributions first (result_view.cpp; the Batch view shows a
// row's with it).
void draw_explanation(const AppState& s, const ResultView& r, int top);
// "Save to chart…" beside the result's buttons (patient_chart.cpp).
void draw_save_to_chart(AppState& s);
// Under field i of the form: the chart's note; true when its old value was just accepted.
bool draw_chart_note(AppState& s, size_t i);

//-----------------------------------------------------------------------------
// [SECTION] Figures shared by the model card and the Validate view
//-----------------------------------------------------------------------------
void draw_figures(const Schema& schema, const Json& mt);
void draw_confusion(const Schema& schema, const Json& mt, const char* where = "in cross-validation");
void draw_card_plots(const Schema& schema, const Json& mt, const char* where = "cross-validation");

//-----------------------------------------------------------------------------
// [SECTION] Help, words and accessible nodes
//-----------------------------------------------------------------------------
bool help_marker(AppState& s, const std::string& key, const std::string& about, const std::string& text);
void help_text(const std::string& key, const std::string& text, bool full_width = false);
const Schema* schema_of(const AppState& s);
std::string value_text(const Field& f, double x);
std::string problem_text(const Schema& schema, const Json& p);
void said(const std::string& key, a11y::Role role, const std::string& words, int level = 0);
void combo_node(const char* label, const std::string& name, std::vector<std::string> options, int selected,
                std::function<void(int)> choose);

}  // namespace ldx::app
