// shared/metrics/image_validation.h — an imaging model checked on a site's own labelled images:
// the CSV that names each image with its label (and, optionally, where the lesion is), the model's
// outputs for the images, the pointing game, and the report `localdx evaluate --images` prints and
// the browser's Validate view draws (the figures of tabular validation, metrics/validation.h).
//
// Index of this file
//   [SECTION] The labels CSV
//   [SECTION] The model's outputs for the images
//   [SECTION] Where the map points: the pointing game and the energy in the box
//   [SECTION] One imaging validation run
//   [SECTION] The bundle's calibrator and card figures, from held-out calibration images
//
// ONNX Runtime runs an imaging model in the browser only. The browser's Validate view scores the
// images there and hands their outputs here; `localdx evaluate --images` reads the same outputs
// from a file (the browser saves it, or a site's own pipeline writes it), so both make their report
// with this one implementation.
#pragma once
#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "metrics/validation.h"
#include "predict/predict.h"
#include "schema/schema.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] The labels CSV
//-----------------------------------------------------------------------------
// Columns: "image" (the file's name, as chosen or in the folder), the schema's label column (a
// class name or its label), and optionally a lesion box "x0", "y0", "x1", "y1" or a point "x", "y",
// in the image's pixel coordinates (x to the right, y down, from the top-left corner; a box holds
// its edges). A row may leave its box or point empty (a negative image has none).
// A multilabel task has one column per finding instead of the label column, named as the finding,
// each cell 1 (present) or 0 (absent); its box or point is not read (the pointing game is for one
// finding's map).
struct ImageLabelRow {
    long row = 0;  // the CSV's data row, 1-based (the header is row 0)
    std::string image;
    int label = -1;
    std::vector<int> findings;                   // multilabel: 1 or 0 per finding, in the schema's order
    std::optional<std::array<double, 4>> box;    // x0, y0, x1, y1
    std::optional<std::array<double, 2>> point;  // x, y
};
struct ImageLabels {
    std::vector<ImageLabelRow> rows;  // the usable rows
    std::vector<std::string> named;   // every image a row names, usable or not
    // Problems naming the row and the column: "missing_column", "missing_image_name",
    // "duplicate_image", "missing_label", "bad_label", "bad_box", "bad_point"; a row with one is
    // left out.
    std::vector<Problem> problems;
    bool readable = false;  // false: the file itself cannot be used (not CSV, no image or label column)
};
ImageLabels image_labels_read(const Schema& schema, std::string_view csv_text);

//-----------------------------------------------------------------------------
// [SECTION] The model's outputs for the images
//-----------------------------------------------------------------------------
// One image as the model saw it: its size in pixels, the class probabilities, and its heat map
// (imaging/image_model.h, HeatMap; or a raw class activation map: only its positive part counts),
// or the reasons it could not be scored.
struct ImageOutput {
    std::string image;
    int width = 0, height = 0;
    std::vector<double> probabilities;  // per class
    int map_height = 0, map_width = 0;
    std::vector<double> map;        // map_height x map_width, row by row
    std::vector<Problem> problems;  // not empty: refused (not decoded, out of scope)
};
// {"images": [{"image", "width", "height", "probabilities": [...], "map": {"height", "width",
// "values": [...]}} or {"image", "problems": [...]}]}: what the browser saves and
// `localdx evaluate --outputs` reads. Problems "bad_outputs" name the entry and the key.
Json image_outputs_to_json(std::span<const ImageOutput> outputs);
[[nodiscard]] Result<std::vector<ImageOutput>> image_outputs_from_json(const Json& j, size_t classes);

//-----------------------------------------------------------------------------
// [SECTION] Where the map points
//-----------------------------------------------------------------------------
// A point annotation is hit when the map's peak lies within this many image pixels of it (the
// pointing game's tolerance, Zhang et al. 2016).
inline constexpr double kPointTolerance = 15.0;
// Map cell (r, c) covers the image pixels x in [c W / w, (c + 1) W / w), y likewise: the map is
// over the whole image (the preprocessing resizes it, never crops). The peak is the cell of the
// largest value (the first, row by row); its centre is what is compared with the box or point.
struct Localization {
    bool hit = false;                   // the peak inside the box (or within kPointTolerance of the point)
    double energy = NAN;                // box: the share of the map's positive mass in cells whose centre is in the box
    double peak_x = NAN, peak_y = NAN;  // the peak cell's centre, in image pixels (NaN: an all-zero map)
};
Localization image_localize(const ImageOutput& out, const std::optional<std::array<double, 4>>& box,
                            const std::optional<std::array<double, 2>>& point);

//-----------------------------------------------------------------------------
// [SECTION] One imaging validation run
//-----------------------------------------------------------------------------
// The labels CSV against the images given: a row naming no given image is left out
// ("missing_image"), as is an image the model refused (its reasons), a box or point outside its
// image ("box_outside", "point_outside"); an image given but named by no row is listed
// ("unlabelled_image"). The scored images then make validation_report's figures (the same
// bootstrap, seed and resample cap as ValidationRunOptions says), and, for a binary task whose
// positive images have boxes or points, "localization": {"images", "hits", "pointing_game"
// (hits / images), "pointing_game_ci" (Wilson 95%), "boxes", "energy_in_box" (mean over the
// positive images with a box), "tolerance_pixels"}.
// A multilabel task's report has multilabel_report's metrics (metrics/multilabel.h: each finding
// as a binary task, and the macro mean), and needs kMinValidationPerClass images with and without
// each finding.
struct ImageValidationRun {
    ImageLabels labels;
    std::vector<Problem> refused;  // why there is no report (empty: `report` is its report)
    std::vector<Problem> left_out;
    std::vector<int> scored_labels;     // per scored image (multilabel: scored images x findings, 1 or 0)
    std::vector<double> probabilities;  // scored images x classes
    std::vector<std::string> scored_images;
    int bootstrap = 0;
    Json report;  // validation_document's shape, data.format "images"; null when refused
};
ImageValidationRun image_validation_run(const Model& model, std::string_view labels_csv, std::string_view labels_name,
                                        std::span<const ImageOutput> outputs, const ValidationRunOptions& options);

//-----------------------------------------------------------------------------
// [SECTION] The bundle's calibrator and card figures, from held-out calibration images
//-----------------------------------------------------------------------------
// The conformal calibrator `localdx bundle --calibration-labels --calibration-outputs` signs into an
// imaging bundle: the labels CSV (as image_labels_read reads it) joined with the model's outputs
// for the same held-out images (never images the model was trained on), then the same fit as a
// site's recalibration (conformal_fit_site: a multilabel task's per finding, as a binary task
// each), marked as the bundle's (not local), its source `source`. Strict, as a signed calibrator
// must be: a label row with a problem, a row without an output, a refused or unlabelled output, or
// fewer images than a validation needs (kMinValidationRows, kMinValidationPerClass with and without
// each finding) refuses the fit, naming the row and column.
[[nodiscard]] Result<Conformal> image_conformal_fit(const Schema& schema, std::string_view labels_csv,
                                                    std::span<const ImageOutput> outputs, std::string source);
// The model card's evaluation from the same images, joined as strictly: validation_report's figures
// (a multilabel task's multilabel_report: each finding as a binary task, with its reliability table
// of P(finding), metrics.findings.<name>.calibration), with "method" naming `source`. The drift
// report's estimated performance reads each reliability table (drift/estimate.h).
[[nodiscard]] Result<Json> image_card_metrics(const Schema& schema, std::string_view labels_csv,
                                              std::span<const ImageOutput> outputs, const std::string& source,
                                              int bootstrap, uint64_t seed);

// What a screen reader is told when an imaging run ends, in the core's words: "Validation report
// for labels.csv: 96 of 100 images scored with a known outcome, 4 left out; pointing game 48 of
// 50." or "labels.csv could not be checked: <the first reason>.".
std::string image_validation_headline(std::string_view labels_name, const Json& report,
                                      const std::vector<Problem>& refused);

}  // namespace ldx
