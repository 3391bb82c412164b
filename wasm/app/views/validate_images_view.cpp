// wasm/app/views/validate_images_view.cpp — the Validate view's parts for an imaging model: what to
// open (images and a labels CSV together; web/validate-images.js scores them), where the heat maps
// point on the labelled lesions, and the images' outputs saved for `localdx evaluate --images`. The
// figures themselves are the tabular ones (validate_view.cpp).
//
// Index of this file
//   [SECTION] What to open
//   [SECTION] Where the heat maps point
#include <cmath>

#include "app.h"
#include "imgui.h"
#include "views.h"
#include "widgets.h"

namespace ldx::app {

//-----------------------------------------------------------------------------
// [SECTION] What to open
//-----------------------------------------------------------------------------
void draw_validate_images_intro(AppState& s) {
    const Schema& schema = s.model->model.schema;
    if (schema.outputs.multilabel()) {
        std::string findings;
        for (const auto& c : schema.outputs.classes) findings += (findings.empty() ? "'" : "', '") + c.name;
        ImGui::TextWrapped(
            "Check this model on your own labelled images before relying on it. Choose the images (DICOM, PNG or "
            "JPEG) together with one CSV file that names each image in the column 'image' and has one column per "
            "finding (%s'), 1 when the image shows it and 0 when not. Each finding is measured as a question of its "
            "own. Every image is scored on this device; nothing is sent.",
            findings.c_str());
        if (button("Open labelled images…")) host_open_labelled_images();
        return;
    }
    std::string classes;
    for (const auto& c : schema.outputs.classes) classes += (classes.empty() ? "" : ", ") + c.name + " or " + c.label;
    ImGui::TextWrapped(
        "Check this model on your own labelled images before relying on it. Choose the images (DICOM, PNG or "
        "JPEG) together with one CSV file that names each image in the column 'image' with its true outcome in "
        "the column '%s' (%s), and optionally where the lesion is: a box x0, y0, x1, y1 or a point x, y, in the "
        "image's pixels. Every image is scored on this device; nothing is sent.",
        schema.outputs.column.c_str(), classes.c_str());
    if (button("Open labelled images…")) host_open_labelled_images();
}

//-----------------------------------------------------------------------------
// [SECTION] Where the heat maps point
//-----------------------------------------------------------------------------
void draw_validate_images_report(AppState& s) {
    ValidateState& v = s.validate;
    const Json& l = json_member(v.report, "localization");
    section("Where the heat maps point");
    if (s.model->model.schema.outputs.multilabel()) {
        ImGui::TextWrapped(
            "The pointing game is made for a model of one finding; this model's maps are not scored here.");
    } else if (!l.is_object()) {
        ImGui::TextWrapped(
            "The labels file gives no lesion box or point for the positive images: add them to see whether "
            "the heat maps point at the lesions.");
    } else {
        const Json& ci = l["pointing_game_ci"];
        ImGui::TextWrapped(
            "Pointing game: on %zu of %zu positive images the heat map's maximum falls inside the lesion's box "
            "(or within %g pixels of its point): %s (95%% interval %s to %s).",
            l["hits"].get<size_t>(), l["images"].get<size_t>(), l["tolerance_pixels"].get<double>(),
            pct(l["pointing_game"].get<double>()).c_str(), pct(ci[0].get<double>()).c_str(),
            pct(ci[1].get<double>()).c_str());
        if (l["energy_in_box"].is_number())
            ImGui::TextWrapped(
                "Energy in the box: on average %s of the map's positive mass lies inside the box (%zu "
                "images with a box).",
                pct(l["energy_in_box"].get<double>()).c_str(), l["boxes"].get<size_t>());
        ImGui::TextColored(kGrey,
                           "A map that points at the lesion is no proof the model reasons well; one that points "
                           "elsewhere is a reason to look at the images it missed.");
    }
    if (small_button("Save the images' outputs (JSON)")) host_download("image-outputs.json", v.outputs);
    keep_item_rect(v.save_button);
    ImGui::SameLine();
    ImGui::TextColored(kGrey, "for `localdx evaluate --images`: the same figures from the same outputs.");
}

}  // namespace ldx::app
