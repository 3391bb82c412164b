// wasm/app/views/batch_view.cpp — the Batch view: a file of patients scored on this device, its table, a row's
// explanation, and the export.
//
// Index of this file
//   [SECTION] Rows as the view reads them
//   [SECTION] Export (the CLI's CSV)
//   [SECTION] The view
#include <algorithm>
#include <cmath>
#include <map>

#include "a11y.h"
#include "app.h"
#include "imgui.h"
#include "predict/results_csv.h"
#include "record/patients.h"
#include "views.h"
#include "widgets.h"

namespace ldx::app {

//-----------------------------------------------------------------------------
// [SECTION] Rows as the view reads them
//-----------------------------------------------------------------------------
namespace {
// What a row of a batch predicts, as a clinician reads it: the class, or the value with its unit.
std::string predicted_text(const Schema& schema, int predicted, double value) {
    return schema.outputs.regression() ? outcome_text(schema.outputs, value)
                                       : schema.outputs.classes[static_cast<size_t>(predicted)].label;
}

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

//-----------------------------------------------------------------------------
// [SECTION] Export
//-----------------------------------------------------------------------------
namespace {
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
}  // namespace

std::string batch_export_csv(const AppState& s) { return batch_csv(s); }

//-----------------------------------------------------------------------------
// [SECTION] The view
//-----------------------------------------------------------------------------
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
}  // namespace

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
    // Each column's title and widest words whole: when the columns' shares of the width cut some (a
    // phone, 200% zoom), each column takes what it needs and the table scrolls sideways within itself
    // (a data table may; the page does not).
    std::vector<std::string> titles{"Row", "Predicted", "Warnings"};
    for (const auto& c : schema.outputs.classes) titles.push_back("P(" + c.label + ")");
    const std::vector<float> weights = [&] {
        std::vector<float> w{0.7f, 1.8f, 0.8f};
        w.resize(titles.size(), 1.0f);
        return w;
    }();
    const ImGuiStyle& st = ImGui::GetStyle();
    std::vector<float> need(titles.size());
    for (size_t c = 0; c < titles.size(); ++c)  // the title and its sort arrow
        need[c] = ImGui::CalcTextSize(titles[c].c_str()).x + ImGui::GetFontSize() + st.ItemInnerSpacing.x;
    for (int i = 0; i < static_cast<int>(b.order.size()) && i < 200; ++i) {
        const int idx = b.order[static_cast<size_t>(i)];
        const std::string row = std::to_string(b.row_number(idx)) + "  " + b.patient(idx);
        need[0] = std::max(need[0], ImGui::CalcTextSize(row.c_str()).x);
        need[1] = std::max(
            need[1], ImGui::CalcTextSize(predicted_text(schema, b.predicted(idx), b.probability(idx, 0)).c_str()).x);
    }
    for (size_t c = 3; c < need.size(); ++c) need[c] = std::max(need[c], ImGui::CalcTextSize("100.0%").x);
    float total_weight = 0, total_need = 0;
    for (size_t c = 0; c < titles.size(); ++c) total_weight += weights[c], total_need += need[c] + 2 * st.CellPadding.x;
    const float avail = ImGui::GetContentRegionAvail().x - st.ScrollbarSize - 2 * st.CellPadding.x * titles.size();
    bool fits = true;
    for (size_t c = 0; c < titles.size(); ++c) fits = fits && avail * weights[c] / total_weight >= need[c];
    const ImGuiTableFlags flags = ImGuiTableFlags_Sortable | ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY |
                                  ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_Resizable |
                                  (fits ? ImGuiTableFlags_None : ImGuiTableFlags_ScrollX);
    if (ImGui::BeginTable("batch", 3 + k, flags, ImVec2(0, table_h), fits ? 0.0f : total_need)) {
        ImGui::TableSetupScrollFreeze(0, 1);
        auto column = [&](size_t c, ImGuiTableColumnFlags f) {
            if (fits) ImGui::TableSetupColumn(titles[c].c_str(), f | ImGuiTableColumnFlags_WidthStretch, weights[c]);
            else ImGui::TableSetupColumn(titles[c].c_str(), f | ImGuiTableColumnFlags_WidthFixed, need[c]);
        };
        column(0, ImGuiTableColumnFlags_DefaultSort);
        column(1, ImGuiTableColumnFlags_None);
        column(2, ImGuiTableColumnFlags_None);
        for (size_t c = 3; c < titles.size(); ++c) column(c, ImGuiTableColumnFlags_PreferSortDescending);
        ImGui::TableHeadersRow();
        a11y::table_begin("##a11y-batch", "Scored patients", titles, static_cast<int>(b.order.size()));
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
                a11y::table_row("", i);
                ImGui::TableNextColumn();
                a11y::cell_begin();  // the row's button is its first cell
                const std::string patient = b.patient(idx);
                const std::string name = std::to_string(b.row_number(idx)) + (patient.empty() ? "" : "  " + patient);
                {  // the row as a screen reader says it: a button that opens its explanation below
                    a11y::Node n;
                    n.role = a11y::Role::button;
                    n.name = "Row " + name + ": " + predicted_text(schema, b.predicted(idx), b.probability(idx, 0)) +
                             ", " + std::to_string(b.warnings(idx)) + (b.warnings(idx) == 1 ? " warning" : " warnings");
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

}  // namespace ldx::app
