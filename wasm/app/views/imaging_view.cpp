// wasm/app/views/imaging_view.cpp — the Image view of an imaging model: the images opened (one, or a
// batch with thumbnails), the selected one with its heat map, and the map's technical details.
//
// Index of this file
//   [SECTION] Results as the worker sends them
//   [SECTION] Textures (the image in grey, the heat map in colour with alpha)
//   [SECTION] The selected image and its heat map
//   [SECTION] The table of images, and its export
//   [SECTION] The view
//
// Nothing here computes a prediction or a map: web/batch-worker.js runs ONNX Runtime and the core
// (shared/imaging/image_model.h) turns its outputs into the result this view reads.

#include <algorithm>
#include <cmath>

#include "a11y.h"
#include "app.h"
#include "csv/csv.h"
#include "imgui.h"
#include "predict/findings.h"
#include "plot.h"
#include "widgets.h"

namespace ldx::app {

//-----------------------------------------------------------------------------
// [SECTION] Results as the worker sends them
//-----------------------------------------------------------------------------
ImageResult image_result_from_json(const std::string& file, const Json& j) {
    ImageResult r;
    r.file = file;
    if (!j.is_object() || !j.value("ok", false)) {
        // Every reason at once (an image outside the model's scope may be so in several ways).
        r.problems = problems_from_json(j);
        if (r.problems.empty()) r.problems.push_back(problem("bad_result", "the image could not be read"));
        return r;
    }
    try {
        r.probabilities = j.at("probabilities").get<std::vector<double>>();
        r.predicted = j.at("predicted").get<int>();
        r.explained = j.at("explained").get<int>();
        r.label = j.at("label").get<std::string>();
        r.explained_label = j.at("explained_label").get<std::string>();
        r.words = json_text_or(j, "words");
        const Json& m = j.at("map");
        r.map_kind = m.at("kind").get<std::string>();
        r.map_height = m.at("height").get<int>();
        r.map_width = m.at("width").get<int>();
        r.map_runs = m.value("runs", 0);
        r.map = m.at("values").get<std::vector<float>>();
        r.peak = m.value("peak", 0.0);
        const Json& d = j.at("deletion");
        r.ranked = d.at("ranked").get<std::vector<double>>();
        r.random = d.at("random").get<std::vector<double>>();
        r.ranked_area = d.value("ranked_area", 0.0);
        r.random_area = d.value("random_area", 0.0);
        r.ms = j.value("ms", 0.0);
        r.runtime = json_text_or(j, "runtime");
        if (j.contains("warnings") && j["warnings"].is_array())
            for (const Json& w : j["warnings"]) {
                if (json_text_or(w, "code") == "confirm_scope") {
                    r.to_confirm = true;
                    r.confirm_words += (r.confirm_words.empty() ? "" : " ") + json_text_or(w, "message");
                } else {
                    r.warnings.push_back(json_text_or(w, "message"));
                }
            }
        if (j.contains("header") && j["header"].is_object()) {
            r.modality = json_text_or(j["header"], "modality");
            r.body_part = json_text_or(j["header"], "body_part");
            r.view = json_text_or(j["header"], "view");
            r.frames = std::max(1, j["header"].value("frames", 1));
            r.frame = std::clamp(j["header"].value("frame", 0), 0, r.frames - 1);
        }
        if (r.map.size() != static_cast<size_t>(r.map_height) * static_cast<size_t>(r.map_width) || r.predicted < 0 ||
            static_cast<size_t>(r.predicted) >= r.probabilities.size())
            throw std::runtime_error("sizes");
        r.ok = true;
    } catch (const std::exception&) {
        r = ImageResult{};
        r.file = file;
        r.problems = {problem("bad_result", "the result for this image is malformed")};
    }
    return r;
}

std::string image_refusal(const ImageResult& r) {
    std::string words;
    for (const Problem& p : r.problems) words += (words.empty() ? "" : " ") + p.message;
    return words;
}

std::string image_summary(const ImageResult& r) {
    if (!r.ok) return r.file + ": not used: " + image_refusal(r);
    std::string warned;
    for (const std::string& w : r.warnings) warned += "Warning: " + w + " ";
    if (!image_shown(r))
        return r.file + ": " + warned + r.confirm_words + " Its result is shown once you confirm what the image is.";
    const std::string result =
        r.words.empty() ? r.label + ", probability " + pct(r.probabilities[static_cast<size_t>(r.predicted)]) + "."
                        : r.words;
    return r.file + ": " + warned + result + (r.conformal.empty() ? "" : " " + r.conformal + ".") +
           " The heat map shows where the model looked for \"" + r.explained_label + "\", not where disease is.";
}

namespace {
// What the list of images says a shown result is: the class with its probability, or a
// multi-label model's findings above their thresholds in the core's words (never its most
// probable finding as if it had been found).
std::string image_result_cell(const ImageResult& r) {
    if (!r.words.empty()) return r.words;
    return r.label + " (" + pct(r.probabilities[static_cast<size_t>(r.predicted)]) + ")";
}

// Whether the finding the map explains is above its own threshold (multi-label models only).
bool explained_is_found(const Schema& schema, const ImageResult& r) {
    const std::vector<int> above = findings_above(schema, r.probabilities);
    return std::find(above.begin(), above.end(), r.explained) != above.end();
}
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] Textures
//-----------------------------------------------------------------------------
namespace {
GlTexture texture_rgba(const std::vector<uint8_t>& rgba, int width, int height) {
    const GlTexture t{gl_texture_make(state().gl, rgba.data(), width, height, true), width, height};
    state().textures_made += 1;  // a texture name may be reused with other pixels: the next frame is rendered
    return t;
}

void texture_free(GlTexture& t) {
    gl_texture_free(state().gl, t.id);
    t = GlTexture{};
}

// The heat map's colours: dark purple through red to yellow (as "inferno"), transparent where the
// model found nothing, opaque where it found most.
ImU32 heat_colour(float v) {
    struct Stop {
        float at, r, g, b;
    };
    static constexpr Stop stops[] = {
        {0.0f, 40, 11, 84}, {0.35f, 140, 41, 129}, {0.65f, 230, 80, 40}, {1.0f, 252, 230, 60}};
    v = std::clamp(v, 0.0f, 1.0f);
    size_t i = 1;
    while (i + 1 < std::size(stops) && v > stops[i].at) ++i;
    const Stop &a = stops[i - 1], &b = stops[i];
    const float t = (v - a.at) / (b.at - a.at);
    auto mix = [&](float x, float y) { return static_cast<unsigned>(x + (y - x) * t); };
    return IM_COL32(mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b), static_cast<unsigned>(255 * std::min(1.0f, 1.4f * v)));
}

void ensure_textures(ImageResult& r) {
    if (!r.image.id && !r.grey.empty()) {
        std::vector<uint8_t> rgba(r.grey.size() * 4);
        for (size_t i = 0; i < r.grey.size(); ++i) {
            rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = r.grey[i];
            rgba[4 * i + 3] = 255;
        }
        r.image = texture_rgba(rgba, r.display_width, r.display_height);
    }
    if (!r.heat.id && r.ok && !r.map.empty()) {
        std::vector<uint8_t> rgba(r.map.size() * 4);
        for (size_t i = 0; i < r.map.size(); ++i) {
            const ImU32 c = heat_colour(r.map[i]);
            for (int k = 0; k < 4; ++k)
                rgba[4 * i + static_cast<size_t>(k)] = static_cast<uint8_t>((c >> (8 * k)) & 0xff);
        }
        r.heat = texture_rgba(rgba, r.map_width, r.map_height);
    }
}

ImTextureID tex(const GlTexture& t) { return reinterpret_cast<ImTextureID>(static_cast<intptr_t>(t.id)); }
}  // namespace

void images_free(ImageResult& r) {
    texture_free(r.image);
    texture_free(r.heat);
}

void image_confirm(AppState& s, int i) {
    if (i < 0 || i >= static_cast<int>(s.imaging.images.size())) return;
    ImageResult& r = s.imaging.images[static_cast<size_t>(i)];
    if (!r.ok || !r.to_confirm || r.confirmed) return;
    r.confirmed = true;
    host_announce(image_summary(r));
}

void images_clear(ImagingState& im) {
    for (ImageResult& r : im.images) images_free(r);
    im.images.clear();
    im.selected = -1;
}

//-----------------------------------------------------------------------------
// [SECTION] The selected image and its heat map
//-----------------------------------------------------------------------------
namespace {
std::string map_words(const ImageResult& r) {
    return r.map_kind == "cam" ? "class activation map (an output of the model itself, no second pass)"
                               : "occlusion map: the probability's fall when each square of the image is masked, " +
                                     std::to_string(r.map_runs) + " runs";
}

void draw_selected(AppState& s, ImageResult& r, float side) {
    ImagingState& im = s.imaging;
    const Schema& schema = s.model->model.schema;
    ImGui::Text("%s", r.file.c_str());
    if (!r.ok) {
        ImGui::PushStyleColor(ImGuiCol_Text, kRed);
        ImGui::TextWrapped("This image cannot be used: %s", image_refusal(r).c_str());
        a11y::text("##a11y-image", a11y::Role::alert, r.file + ": this image cannot be used: " + image_refusal(r));
        ImGui::PopStyleColor();
        return;
    }
    // Above the result, so that it is read first: what the clinician must confirm, or that the
    // image is unlike the ones the model learnt from.
    if (!r.warnings.empty()) {
        ImGui::PushStyleColor(ImGuiCol_Text, kAmber);
        std::string said;
        for (const std::string& w : r.warnings) {
            ImGui::TextWrapped("Warning: %s", w.c_str());
            said += (said.empty() ? "" : " ") + w;
        }
        ImGui::PopStyleColor();
        a11y::text("##a11y-image-warnings", a11y::Role::alert, r.file + ": warning: " + said);
    }
    ensure_textures(r);
    if (!image_shown(r)) {
        // Nothing of the result yet: the question, and the image itself to answer it by.
        ImGui::PushStyleColor(ImGuiCol_Text, kAmber);
        ImGui::TextWrapped("%s", r.confirm_words.c_str());
        ImGui::PopStyleColor();
        a11y::text("##a11y-image-confirm", a11y::Role::alert, r.file + ": " + r.confirm_words);
        if (ImGui::Button("Yes, it is: show the result")) image_confirm(s, im.selected);
        keep_item_rect(im.confirm_button);
        if (r.image.id) {
            side = std::max(128 * S(), std::min(side, ImGui::GetContentRegionAvail().y));
            const float k = side / static_cast<float>(std::max(r.display_width, r.display_height));
            ImGui::Image(tex(r.image), ImVec2(r.display_width * k, r.display_height * k));
        }
        return;
    }
    if (r.to_confirm) {
        ImGui::PushStyleColor(ImGuiCol_Text, kGrey);
        ImGui::TextWrapped("You confirmed that this image is what the model was made for.");
        ImGui::PopStyleColor();
    }
    if (!r.words.empty()) {  // a multi-label model: every finding against its own threshold
        ImGui::TextWrapped("%s", r.words.c_str());
    } else {
        ImGui::PushFont(nullptr);
        ImGui::TextColored(r.predicted == 1 && schema.outputs.kind == TaskKind::binary ? kAmber : kGreen, "%s",
                           r.label.c_str());
        ImGui::PopFont();
        ImGui::SameLine();
        ImGui::Text("(probability %s)", pct(r.probabilities[static_cast<size_t>(r.predicted)]).c_str());
    }
    if (!r.conformal.empty()) ImGui::TextWrapped("%s", r.conformal.c_str());
    if (!r.modality.empty() || !r.body_part.empty() || !r.view.empty())
        ImGui::TextColored(kGrey, "%s%s%s", r.modality.c_str(), r.body_part.empty() ? "" : (", " + r.body_part).c_str(),
                           r.view.empty() ? "" : (", view " + r.view).c_str());

    ensure_textures(r);
    // The image fits the height left, so that the warnings above it and the map's controls below
    // it (switch and opacity, legend, "Map of") are seen together with it.
    side =
        std::max(128 * S(), std::min(side, ImGui::GetContentRegionAvail().y - 3 * ImGui::GetFrameHeightWithSpacing()));
    if (r.image.id) {
        const float aspect = static_cast<float>(r.display_width) / static_cast<float>(std::max(1, r.display_height));
        const ImVec2 size = aspect >= 1 ? ImVec2(side, side / aspect) : ImVec2(side * aspect, side);
        const ImVec2 p0 = ImGui::GetCursorScreenPos();
        ImGui::Image(tex(r.image), size);
        a11y::text("##a11y-image", a11y::Role::image, image_summary(r));  // its text alternative
        const ImVec2 p1(p0.x + size.x, p0.y + size.y);
        keep_rect(im.image_rect, p0, p1);
        if (im.show_map && r.heat.id && im.opacity > 0)
            ImGui::GetWindowDrawList()->AddImage(tex(r.heat), p0, p1, ImVec2(0, 0), ImVec2(1, 1),
                                                 IM_COL32(255, 255, 255, static_cast<int>(255 * im.opacity)));
    }
    if (r.peak <= 0)
        ImGui::TextWrapped("The heat map is empty: %s",
                           r.map_kind == "occlusion"
                               ? "masking any one square of the image leaves the probability where it is, so no single "
                                 "region carries the result (there may be several, each enough)."
                               : "no region of the image raised this class.");
    ImGui::Checkbox("Heat map", &im.show_map);
    ImGui::SameLine();
    ImGui::SetNextItemWidth(std::min(180 * S(), ImGui::GetContentRegionAvail().x - ImGui::CalcTextSize("Opacity").x -
                                                    ImGui::GetStyle().ItemInnerSpacing.x));  // whole at 320 px
    a11y::slider("Opacity", "Heat map opacity", &im.opacity, 0.0f, 1.0f, 0.01f, fmt(im.opacity, "%.2f"));
    ImGui::SliderFloat("Opacity", &im.opacity, 0.0f, 1.0f, "%.2f");
    keep_item_rect(im.slider);
    // The legend: the colours from least to most.
    const ImVec2 l0 = ImGui::GetCursorScreenPos();
    const float lw = 160 * S(), lh = 10 * S();
    for (int i = 0; i < 32; ++i)
        ImGui::GetWindowDrawList()->AddRectFilled(ImVec2(l0.x + lw * i / 32, l0.y),
                                                  ImVec2(l0.x + lw * (i + 1) / 32, l0.y + lh),
                                                  heat_colour((i + 0.5f) / 32) | IM_COL32(0, 0, 0, 255));
    ImGui::Dummy(ImVec2(lw, lh));
    ImGui::SameLine();
    ImGui::TextColored(kGrey, "the model's attention to \"%s\": less to more", r.explained_label.c_str());
    // The map in figures, for those who cannot see its colours: one row per row of cells, 0 to 1.
    if (r.map_width > 0 && r.map_height > 0 && r.map.size() == static_cast<size_t>(r.map_width * r.map_height) &&
        r.map_width < 64 && ImGui::TreeNode("heat map data", "Data table for the heat map")) {
        ImGui::TextWrapped(
            "The model's attention to \"%s\" in each cell of a %d x %d grid over the image, from 0 "
            "(least) to 1 (most), top row first.",
            r.explained_label.c_str(), r.map_width, r.map_height);
        if (ImGui::BeginTable("cells", r.map_width + 1, ImGuiTableFlags_Borders | ImGuiTableFlags_SizingStretchSame)) {
            std::vector<std::string> headers{"Row"};
            ImGui::TableSetupColumn("Row");
            for (int x = 0; x < r.map_width; ++x) {
                headers.push_back("Column " + std::to_string(x + 1));
                ImGui::TableSetupColumn(std::to_string(x + 1).c_str());
            }
            ImGui::TableHeadersRow();
            a11y::table_begin("##a11y-heat", "Heat map, by cell", headers);
            for (int y = 0; y < r.map_height; ++y) {
                ImGui::TableNextRow();
                a11y::table_row();
                ImGui::TableNextColumn();
                ImGui::Text("%d", y + 1);
                a11y::cell(std::to_string(y + 1));
                for (int x = 0; x < r.map_width; ++x) {
                    const std::string v = fmt(r.map[static_cast<size_t>(y * r.map_width + x)], "%.2f");
                    ImGui::TableNextColumn();
                    ImGui::TextUnformatted(v.c_str());
                    a11y::cell(v);
                }
            }
            a11y::table_end();
            ImGui::EndTable();
        }
        ImGui::TreePop();
    }
    // The class the map explains: the positive class (binary) or the decided one at first.
    ImGui::SetNextItemWidth(240 * S());
    if (ImGui::BeginCombo("Map of", r.explained_label.c_str())) {
        for (size_t k = 0; k < schema.outputs.classes.size(); ++k)
            if (ImGui::Selectable(schema.outputs.classes[k].label.c_str(), static_cast<int>(k) == r.explained) &&
                static_cast<int>(k) != r.explained && !im.explaining) {
                im.explaining = true;
                host_explain_image(im.selected, static_cast<int>(k), r.frame);
            }
        ImGui::EndCombo();
    }
    // A multi-frame file: the frame scored (the first at first); another is scored on release, or
    // when the layer's range input (a screen reader, the keyboard) asks for it: once, after any
    // other map being made (kept until then), and not again on a failure.
    if (r.frames > 1) {
        const int asked = static_cast<int>(std::lround(im.frame_asked)) - 1;
        const bool asked_now = im.frame_asked_image == im.selected && im.frame_asked != im.frame_put &&
                               asked != r.frame && asked >= 0 && asked < r.frames;
        const bool keep = asked_now && im.explaining;
        if (asked_now && !keep) host_explain_image(im.selected, r.explained, asked);
        im.explaining = im.explaining || asked_now;
        if (!keep) im.frame_asked = im.frame_put = static_cast<float>(r.frame + 1);
        im.frame_asked_image = im.selected;
        a11y::slider("Frame", "Frame", &im.frame_asked, 1.0f, static_cast<float>(r.frames), 1.0f,
                     std::to_string(r.frame + 1) + " of " + std::to_string(r.frames));
        ImGui::SetNextItemWidth(240 * S());
        int shown = r.frame + 1;
        const std::string of = "%d of " + std::to_string(r.frames);
        ImGui::SliderInt("Frame", &shown, 1, r.frames, of.c_str(), ImGuiSliderFlags_AlwaysClamp);
        if (ImGui::IsItemDeactivatedAfterEdit() && shown - 1 != r.frame && !im.explaining) {
            im.explaining = true;
            host_explain_image(im.selected, r.explained, shown - 1);
        }
    }
    if (im.explaining) {
        ImGui::SameLine();
        ImGui::TextColored(kGrey, "making the map…");
    }
    ImGui::PushStyleColor(ImGuiCol_Text, kAmber);
    ImGui::TextWrapped(
        "The heat map shows where the model looked for \"%s\", not where disease is. Read the image yourself.",
        r.explained_label.c_str());
    if (s.model->model.schema.outputs.multilabel()) {
        if (!explained_is_found(s.model->model.schema, r))
            ImGui::TextWrapped(
                "\"%s\" is below its threshold: the map shows the places that weighed most towards it, and they "
                "were not enough. Its colours are relative to this image's strongest place, not a measure of how "
                "much there is.",
                r.explained_label.c_str());
    } else if (r.explained != r.predicted)
        ImGui::TextWrapped(
            "The result is \"%s\": the map shows the places that weighed most towards \"%s\", and they were not "
            "enough. Its colours are relative to this image's strongest place, not a measure of how much there is.",
            r.label.c_str(), r.explained_label.c_str());
    ImGui::PopStyleColor();

    if (ImGui::CollapsingHeader("Technical details")) {
        bullet("Map: %s, %d x %d cells, explaining \"%s\"; largest raw value %s.", map_words(r).c_str(), r.map_width,
               r.map_height, r.explained_label.c_str(), fmt(r.peak).c_str());
        if (r.ranked.empty()) {  // the image and its map are shown before the curve's runs
            bullet("Sanity check (deletion curve): being computed.");
        } else {
            bullet(
                "Sanity check (deletion curve): as the map's top-ranked cells are masked, the probability of \"%s\" "
                "falls; its area is %s for the map's order and %s for a random order%s.",
                r.explained_label.c_str(), fmt(r.ranked_area, "%.3f").c_str(), fmt(r.random_area, "%.3f").c_str(),
                r.ranked_area < r.random_area ? " (lower is better: the map found what the model uses)"
                                              : " (the map does no better than chance here: do not rely on it)");
            std::vector<PlotSeries> series(2);
            for (size_t i = 0; i < r.ranked.size(); ++i)
                series[0].points.push_back({static_cast<double>(i) / (r.ranked.size() - 1), r.ranked[i]});
            for (size_t i = 0; i < r.random.size(); ++i)
                series[1].points.push_back({static_cast<double>(i) / (r.random.size() - 1), r.random[i]});
            series[0].legend = "masked in the map's order";
            series[1].color = IM_COL32(150, 150, 150, 255);
            series[1].dashed = true;
            series[1].legend = "masked in a random order";
            plot_unit_square(
                "deletion", 220 * S(), series, "share of the image masked", "probability", false,
                PlotWords{"the deletion curve", "Deletion curve: area " + fmt(r.ranked_area, "%.3f") +
                                                    " when masked in the map's order, " + fmt(r.random_area, "%.3f") +
                                                    " in a random order (lower is better)"});
            bullet("Computed on this device by ONNX Runtime Web (%s) in %s ms, %s, every run included.",
                   r.runtime.empty() ? "wasm" : r.runtime.c_str(), fmt(r.ms, "%.0f").c_str(),
                   r.map_kind == "cam"
                       ? "one run for the image and its map, 22 for the deletion curve"
                       : (std::to_string(1 + r.map_runs) + " runs for the image and its map, 22 for the "
                                                           "deletion curve")
                             .c_str());
        }
        std::string probs;
        for (size_t k = 0; k < r.probabilities.size(); ++k)
            probs += (probs.empty() ? "" : ", ") + schema.outputs.classes[k].label + " " + pct(r.probabilities[k]);
        bullet("Probabilities: %s.", probs.c_str());
    }
}

//-----------------------------------------------------------------------------
// [SECTION] The table of images
//-----------------------------------------------------------------------------
void draw_table(AppState& s, float height) {
    ImagingState& im = s.imaging;
    const float thumb = 48 * S();
    // A file's name and its result whole: when half the width each would cut them (a phone, 200%
    // zoom), each column takes what it needs and the table scrolls sideways within itself.
    const ImGuiStyle& st = ImGui::GetStyle();
    float file_w = ImGui::CalcTextSize("File").x, result_w = ImGui::CalcTextSize("Result").x;
    for (const ImageResult& r : im.images) {
        file_w = std::max(file_w, ImGui::CalcTextSize(r.file.c_str()).x);
        if (r.ok && !r.probabilities.empty())
            result_w = std::max(result_w, ImGui::CalcTextSize((r.label + " (100.0%)").c_str()).x);
    }
    result_w = std::max(result_w, ImGui::CalcTextSize("warning: see the image").x);
    const float avail = ImGui::GetContentRegionAvail().x - st.ScrollbarSize - 6 * st.CellPadding.x - thumb;
    const bool fits = avail / 2 >= std::max(file_w, result_w);
    const float inner = thumb + file_w + result_w + 6 * st.CellPadding.x;
    if (!ImGui::BeginTable("images", 3,
                           ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_ScrollY |
                               (fits ? ImGuiTableFlags_None : ImGuiTableFlags_ScrollX),
                           ImVec2(0, height), fits ? 0.0f : inner))
        return;
    ImGui::TableSetupScrollFreeze(0, 1);
    ImGui::TableSetupColumn("Image", ImGuiTableColumnFlags_WidthFixed, thumb);
    ImGui::TableSetupColumn("File", fits ? ImGuiTableColumnFlags_WidthStretch : ImGuiTableColumnFlags_WidthFixed,
                            fits ? 1.0f : file_w);
    ImGui::TableSetupColumn("Result", fits ? ImGuiTableColumnFlags_WidthStretch : ImGuiTableColumnFlags_WidthFixed,
                            fits ? 1.0f : result_w);
    ImGui::TableHeadersRow();
    a11y::table_begin("##a11y-images", "Images", {"Image", "File", "Result"});
    for (size_t i = 0; i < im.images.size(); ++i) {
        ImageResult& r = im.images[i];
        ImGui::TableNextRow();
        a11y::table_row();
        ImGui::TableNextColumn();
        ensure_textures(r);
        if (r.image.id) {
            const float k = thumb / static_cast<float>(std::max(r.display_width, r.display_height));
            ImGui::Image(tex(r.image), ImVec2(r.display_width * k, r.display_height * k));
        }
        a11y::cell(r.image.id ? "thumbnail" : "");
        ImGui::TableNextColumn();
        a11y::cell_begin();  // the file's button opens the image
        ImGui::PushID(static_cast<int>(i));
        if (ImGui::Selectable(r.file.c_str(), im.selected == static_cast<int>(i), ImGuiSelectableFlags_SpanAllColumns,
                              ImVec2(0, thumb))) {
            im.selected = static_cast<int>(i);
            host_announce(image_summary(r));
        }
        ImGui::PopID();
        ImGui::TableNextColumn();
        // Wrapped in the column, never cut: the reason is what the clinician needs to read.
        if (r.ok && !image_shown(r)) {
            ImGui::PushStyleColor(ImGuiCol_Text, kAmber);
            ImGui::TextWrapped("confirm what it is to see the result");
            ImGui::PopStyleColor();
        } else if (r.ok) {
            ImGui::TextWrapped("%s", image_result_cell(r).c_str());
            if (!r.warnings.empty()) {
                ImGui::PushStyleColor(ImGuiCol_Text, kAmber);
                ImGui::TextWrapped("warning: see the image");
                ImGui::PopStyleColor();
            }
        } else {
            ImGui::PushStyleColor(ImGuiCol_Text, kRed);
            ImGui::TextWrapped("not used: %s", image_refusal(r).c_str());
            ImGui::PopStyleColor();
        }
        a11y::cell(!r.ok             ? "not used: " + image_refusal(r)
                   : !image_shown(r) ? std::string("confirm what it is to see the result")
                                     : image_result_cell(r) + (r.warnings.empty() ? "" : ", warning: see the image"));
    }
    a11y::table_end();
    ImGui::EndTable();
}
}  // namespace

std::string image_results_csv(const AppState& s) {
    std::vector<std::string> header{"file", "result"};
    const Schema& schema = s.model->model.schema;
    for (const auto& c : schema.outputs.classes) header.push_back("p_" + c.name);
    for (const char* h : {"map", "deletion_area_map", "deletion_area_random", "warnings", "problem"})
        header.push_back(h);
    std::string out = csv_line(header);
    // A result the clinician has not confirmed is not exported either: the reason stands in for it.
    for (const ImageResult& r : s.imaging.images) {
        const bool shown = image_shown(r);
        // A multi-label model's result: its findings above their thresholds ("; " between), or none.
        std::string result = r.label;
        if (schema.outputs.multilabel()) {
            result.clear();
            for (const int f : findings_above(schema, r.probabilities))
                result += (result.empty() ? "" : "; ") + schema.outputs.classes[static_cast<size_t>(f)].label;
            if (result.empty()) result = "no finding above its threshold";
        }
        std::vector<std::string> row{r.file, shown ? result : ""};
        for (size_t k = 0; k < schema.outputs.classes.size(); ++k)
            row.push_back(shown ? fmt(r.probabilities[k], "%.6f") : "");
        row.push_back(shown ? r.map_kind : "");
        const bool curve = shown && !r.ranked.empty();  // empty while its runs are made
        row.push_back(curve ? fmt(r.ranked_area, "%.4f") : "");
        row.push_back(curve ? fmt(r.random_area, "%.4f") : "");
        std::string warned;
        for (const std::string& w : r.warnings) warned += (warned.empty() ? "" : " ") + w;
        if (r.to_confirm && r.confirmed)
            warned += (warned.empty() ? "" : " ") + std::string("Confirmed by the clinician: ") + r.confirm_words;
        row.push_back(warned);
        row.push_back(r.ok && !shown ? "not confirmed: " + r.confirm_words : image_refusal(r));
        out += csv_line(row);
    }
    return out;
}

//-----------------------------------------------------------------------------
// [SECTION] The view
//-----------------------------------------------------------------------------
void draw_image_view(AppState& s) {
    ImagingState& im = s.imaging;
    const ImageInput& input = *s.model->model.schema.image;
    std::string formats;
    for (const ImageFormat f : input.formats) {
        const char* name = f == ImageFormat::dicom ? "DICOM" : f == ImageFormat::png ? "PNG" : "JPEG";
        formats += (formats.empty() ? "" : ", ") + std::string(name);
    }
    if (ImGui::Button("Open images…")) host_open_images();
    keep_item_rect(im.open_button);
    ImGui::SameLine();
    ImGui::PushStyleColor(ImGuiCol_Text, kGrey);
    ImGui::TextWrapped("%s (%s), one or several. Read and scored on this device; nothing is uploaded.",
                       input.label.c_str(), formats.c_str());
    ImGui::PopStyleColor();
    if (im.expected > 0) ImGui::TextColored(kGrey, "Scoring %d image(s)…", im.expected);
    if (im.images.empty()) return;
    if (im.images.size() > 1) {
        ImGui::Text("%zu images", im.images.size());
        ImGui::SameLine();
        if (ImGui::Button("Export results (CSV)")) host_download("localdx-images.csv", image_results_csv(s));
    }
    if (im.selected < 0 || im.selected >= static_cast<int>(im.images.size())) im.selected = 0;
    const float w = ImGui::GetContentRegionAvail().x;
    if (im.images.size() > 1) {
        // Narrower than the stacked layout (a phone, 200% zoom): the list above the image, full width,
        // so no file name is cut.
        const bool narrow = w < kStackBelow * S();
        const float rows = (48 * S() + 2 * ImGui::GetStyle().CellPadding.y) * 2.5f + ImGui::GetFrameHeight();
        ImGui::BeginChild("image-list",
                          narrow ? ImVec2(0, std::min(rows, ImGui::GetContentRegionAvail().y * 0.4f))
                                 : ImVec2(std::min(w * 0.35f, 360 * S()), 0),
                          true);
        draw_table(s, ImGui::GetContentRegionAvail().y);
        ImGui::EndChild();
        if (!narrow) ImGui::SameLine();
    }
    ImGui::BeginChild("image-selected", ImVec2(0, 0), true);
    const float side = std::min(ImGui::GetContentRegionAvail().x, 512 * S());
    draw_selected(s, im.images[static_cast<size_t>(im.selected)], side);
    ImGui::EndChild();
}

}  // namespace ldx::app
