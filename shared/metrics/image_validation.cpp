// shared/metrics/image_validation.cpp — see image_validation.h.
//
// Index of this file
//   [SECTION] The labels CSV
//   [SECTION] The model's outputs for the images
//   [SECTION] Where the map points
//   [SECTION] One imaging validation run
//   [SECTION] The bundle's calibrator and card figures, from held-out calibration images
#include "metrics/image_validation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "base/text.h"
#include "base/version.h"
#include "bundle/crypto.h"
#include "conformal/conformal.h"
#include "csv/csv.h"
#include "metrics/multilabel.h"
#include "record/patients.h"
#include "record/record.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] The labels CSV
//-----------------------------------------------------------------------------
namespace {
std::string trimmed(std::string_view s) { return std::string(trim_blanks(s)); }

// Pixels as written: "12", "12.5".
std::string fmt_number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

std::string class_list(const Schema& s) {
    std::string list;
    for (const auto& c : s.outputs.classes)
        list += (list.empty() ? "" : ", ") + c.name + (c.label != c.name ? " (" + c.label + ")" : "");
    return list;
}

// The class of a label cell: a class name, or its label without regard to case; -1 otherwise.
int class_of(const Schema& s, const std::string& y) {
    for (size_t c = 0; c < s.outputs.classes.size(); ++c)
        if (s.outputs.classes[c].name == y) return static_cast<int>(c);
    for (size_t c = 0; c < s.outputs.classes.size(); ++c)
        if (ascii_lower(s.outputs.classes[c].label) == ascii_lower(y)) return static_cast<int>(c);
    return -1;
}

// Optional coordinates (all empty: none), or the problem of the first unusable one.
template <size_t N>
Result<std::optional<std::array<double, N>>> coordinates(const std::vector<std::string>& cells,
                                                         const std::array<int, N>& at,
                                                         const std::array<const char*, N>& names, long row,
                                                         const char* code, const char* what) {
    size_t given = 0;
    for (int c : at) given += c >= 0 && !trimmed(cells[static_cast<size_t>(c)]).empty();
    if (given == 0) return std::optional<std::array<double, N>>{};
    std::array<double, N> v{};
    for (size_t i = 0; i < N; ++i) {
        const std::string cell = at[i] >= 0 ? trimmed(cells[static_cast<size_t>(at[i])]) : std::string();
        if (cell.empty())
            return problem(code, std::string(what) + " has no " + names[i] + " (give all of its coordinates, or none)",
                           names[i], row);
        const auto x = number_parse(cell);
        if (!x || !std::isfinite(*x))
            return problem(code, std::string(what) + " coordinate '" + printable(cell) + "' is not a number of pixels",
                           names[i], row);
        v[i] = *x;
    }
    return std::optional<std::array<double, N>>{v};
}
// A multilabel row's finding cells: 1 or 0 each, or the problem of the first that is not.
std::optional<Problem> finding_cells(const Schema& s, const std::vector<std::string>& cells,
                                     const std::vector<int>& columns, long row, std::vector<int>& out) {
    for (size_t f = 0; f < columns.size(); ++f) {
        const std::string& name = s.outputs.classes[f].name;
        const std::string y = trimmed(cells[static_cast<size_t>(columns[f])]);
        if (y.empty() || y == "NA")
            return problem("missing_label", "no outcome in column '" + name + "' (1 or 0); this image is left out",
                           name, row);
        if (y != "0" && y != "1")
            return problem("bad_label",
                           "'" + printable(y) + "' in column '" + name + "' is not 1 (" + s.outputs.classes[f].label +
                               " present) or 0 (absent)",
                           name, row);
        out.push_back(y == "1");
    }
    return std::nullopt;
}
}  // namespace

ImageLabels image_labels_read(const Schema& s, std::string_view text) {
    ImageLabels out;
    auto table = csv_parse(text);
    if (!table) {
        out.problems = table.problems();
        return out;
    }
    const auto column = [&](std::string_view name) {
        for (size_t i = 0; i < table->header.size(); ++i)
            if (trimmed(table->header[i]) == name) return static_cast<int>(i);
        return -1;
    };
    const bool multilabel = s.outputs.multilabel();
    const int image = column("image"), label = multilabel ? 0 : column(s.outputs.column);
    std::vector<int> finding_columns;
    if (image < 0)
        out.problems.push_back(
            problem("missing_column", "the labels file has no 'image' column naming each image file", "image"));
    for (size_t f = 0; multilabel && f < s.outputs.classes.size(); ++f) {
        const OutputClass& c = s.outputs.classes[f];
        finding_columns.push_back(column(c.name));
        if (finding_columns.back() < 0)
            out.problems.push_back(problem("missing_column",
                                           "the labels file has no '" + c.name +
                                               "' column saying whether each image "
                                               "shows " +
                                               c.label + " (1) or not (0)",
                                           c.name));
    }
    if (label < 0)
        out.problems.push_back(problem("missing_column",
                                       "the labels file has no '" + s.outputs.column +
                                           "' column with each image's true outcome (one of: " + class_list(s) + ")",
                                       s.outputs.column));
    if (!out.problems.empty()) return out;
    out.readable = true;
    const std::array<int, 4> box{column("x0"), column("y0"), column("x1"), column("y1")};
    const std::array<int, 2> point{column("x"), column("y")};
    std::map<std::string, long> seen;
    for (size_t r = 0; r < table->rows.size(); ++r) {
        const long row = static_cast<long>(r + 1);
        if (auto p = csv_row_problem(*table, r)) {
            out.problems.push_back(*p);
            continue;
        }
        const auto& cells = table->rows[r];
        ImageLabelRow lr;
        lr.row = row;
        lr.image = trimmed(cells[static_cast<size_t>(image)]);
        if (lr.image.empty()) {
            out.problems.push_back(
                problem("missing_image_name", "no image file is named; this row is left out", "image", row));
            continue;
        }
        out.named.push_back(lr.image);
        if (auto [it, fresh] = seen.emplace(lr.image, row); !fresh) {
            out.problems.push_back(problem("duplicate_image",
                                           "'" + printable(lr.image) + "' is already named in row " +
                                               std::to_string(it->second) + "; each image is labelled once",
                                           "image", row));
            continue;
        }
        if (multilabel) {
            if (auto p = finding_cells(s, cells, finding_columns, row, lr.findings)) {
                out.problems.push_back(*p);
                continue;
            }
            out.rows.push_back(std::move(lr));
            continue;
        }
        const std::string y = trimmed(cells[static_cast<size_t>(label)]);
        if (y.empty() || y == "NA") {
            out.problems.push_back(problem("missing_label",
                                           "no outcome in column '" + s.outputs.column + "'; this image is left out",
                                           s.outputs.column, row));
            continue;
        }
        lr.label = class_of(s, y);
        if (lr.label < 0) {
            out.problems.push_back(problem(
                "bad_label", "outcome '" + printable(y) + "' is not one of: " + class_list(s), s.outputs.column, row));
            continue;
        }
        auto b = coordinates<4>(cells, box, {"x0", "y0", "x1", "y1"}, row, "bad_box", "the lesion box");
        auto p = coordinates<2>(cells, point, {"x", "y"}, row, "bad_point", "the lesion point");
        if (!b) {
            out.problems.push_back(b.problems().front());
            continue;
        }
        if (!p) {
            out.problems.push_back(p.problems().front());
            continue;
        }
        lr.box = *b;
        lr.point = *p;
        if (lr.box && ((*lr.box)[0] > (*lr.box)[2] || (*lr.box)[1] > (*lr.box)[3])) {
            out.problems.push_back(problem("bad_box",
                                           "the lesion box's x0 and y0 (its left and top edges) must not exceed x1 "
                                           "and y1 (its right and bottom edges)",
                                           (*lr.box)[0] > (*lr.box)[2] ? "x0" : "y0", row));
            continue;
        }
        out.rows.push_back(std::move(lr));
    }
    return out;
}

//-----------------------------------------------------------------------------
// [SECTION] The model's outputs for the images
//-----------------------------------------------------------------------------
Json image_outputs_to_json(std::span<const ImageOutput> outputs) {
    Json images = Json::array();
    for (const ImageOutput& o : outputs) {
        if (!o.problems.empty()) {
            images.push_back(Json{{"image", o.image}, {"problems", problems_json(o.problems)}});
            continue;
        }
        images.push_back(Json{{"image", o.image},
                              {"width", o.width},
                              {"height", o.height},
                              {"probabilities", o.probabilities},
                              {"map", {{"height", o.map_height}, {"width", o.map_width}, {"values", o.map}}}});
    }
    return Json{{"images", images}};
}

Result<std::vector<ImageOutput>> image_outputs_from_json(const Json& j, size_t classes) {
    const Json& images = json_member(j, "images");
    if (!images.is_array()) return problem("bad_outputs", "the outputs have no list 'images'", "images");
    std::vector<ImageOutput> out;
    for (size_t i = 0; i < images.size(); ++i) {
        const Json& e = images[i];
        const std::string path = "images[" + std::to_string(i) + "]";
        auto bad = [&](const std::string& key, const std::string& what) {
            return problem("bad_outputs", path + "." + key + ": " + what, path + "." + key);
        };
        ImageOutput o;
        if (!e.is_object() || !json_member(e, "image").is_string())
            return bad("image", "the image's file name is missing");
        o.image = e["image"].get<std::string>();
        if (json_member(e, "problems").is_array()) {
            o.problems = problems_from_json(Json{{"ok", false}, {"problems", e["problems"]}});
            if (o.problems.empty()) return bad("problems", "a refused image says why");
            out.push_back(std::move(o));
            continue;
        }
        const auto side = [](const Json& v) {
            return v.is_number_integer() && v.get<int64_t>() >= 1 && v.get<int64_t>() <= 65535;
        };
        if (!side(json_member(e, "width")) || !side(json_member(e, "height")))
            return bad("width", "the image's width and height are whole numbers of pixels, 1 to 65535");
        o.width = e["width"].get<int>();
        o.height = e["height"].get<int>();
        if (!json_number_array(json_member(e, "probabilities"), o.probabilities) || o.probabilities.size() != classes)
            return bad("probabilities", "one probability per class (" + std::to_string(classes) + ") is expected");
        for (double p : o.probabilities)
            if (!(p >= 0 && p <= 1)) return bad("probabilities", "a probability lies outside 0 to 1");
        const Json& map = json_member(e, "map");
        if (!side(json_member(map, "width")) || !side(json_member(map, "height")) ||
            !json_number_array(json_member(map, "values"), o.map))
            return bad("map", "the heat map has a width, a height and its values row by row");
        o.map_height = map["height"].get<int>();
        o.map_width = map["width"].get<int>();
        if (o.map.size() != static_cast<size_t>(o.map_height) * static_cast<size_t>(o.map_width))
            return bad("map", "the heat map has " + std::to_string(o.map.size()) + " values, not height x width");
        for (double v : o.map)
            if (!std::isfinite(v)) return bad("map", "a heat map value is not a finite number");
        out.push_back(std::move(o));
    }
    return out;
}

//-----------------------------------------------------------------------------
// [SECTION] Where the map points
//-----------------------------------------------------------------------------
Localization image_localize(const ImageOutput& o, const std::optional<std::array<double, 4>>& box,
                            const std::optional<std::array<double, 2>>& point) {
    Localization l;
    if (o.map.empty() || o.map_height < 1 || o.map_width < 1) return l;
    const double sx = static_cast<double>(o.width) / o.map_width, sy = static_cast<double>(o.height) / o.map_height;
    size_t peak = 0;
    double total = 0, inside = 0;
    for (size_t i = 0; i < o.map.size(); ++i) {
        if (o.map[i] > o.map[peak]) peak = i;
        const double v = std::max(o.map[i], 0.0);
        total += v;
        if (box) {
            const double cx = (static_cast<double>(i % static_cast<size_t>(o.map_width)) + 0.5) * sx;
            const double cy = (static_cast<double>(i / static_cast<size_t>(o.map_width)) + 0.5) * sy;
            const auto& b = *box;
            if (cx >= b[0] && cx <= b[2] && cy >= b[1] && cy <= b[3]) inside += v;
        }
    }
    if (!(o.map[peak] > 0)) return l;  // nothing raised the class: no peak, a miss
    l.peak_x = (static_cast<double>(peak % static_cast<size_t>(o.map_width)) + 0.5) * sx;
    l.peak_y = (static_cast<double>(peak / static_cast<size_t>(o.map_width)) + 0.5) * sy;
    if (box) {
        const auto& b = *box;
        l.hit = l.peak_x >= b[0] && l.peak_x <= b[2] && l.peak_y >= b[1] && l.peak_y <= b[3];
        l.energy = inside / total;
    } else if (point) {
        l.hit = std::hypot(l.peak_x - (*point)[0], l.peak_y - (*point)[1]) <= kPointTolerance;
    }
    return l;
}

//-----------------------------------------------------------------------------
// [SECTION] One imaging validation run
//-----------------------------------------------------------------------------
namespace {
// A multilabel task's images: kMinValidationRows in all, kMinValidationPerClass with and without
// each finding.
std::optional<Problem> findings_check(const Schema& s, std::span<const int> labels) {
    const size_t k = s.outputs.classes.size(), n = labels.size() / k;
    if (n < kMinValidationRows)
        return problem("too_few_rows",
                       std::to_string(n) + " images could be scored with known findings; a validation needs at least " +
                           std::to_string(kMinValidationRows) + " (and many more for narrow intervals)");
    for (size_t f = 0; f < k; ++f) {
        size_t present = 0;
        for (size_t i = f; i < labels.size(); i += k) present += labels[i] == 1;
        if (std::min(present, n - present) < kMinValidationPerClass)
            return problem("too_few_in_class",
                           "only " + std::to_string(std::min(present, n - present)) + " scored images " +
                               (present < n - present ? "show " : "lack ") + s.outputs.classes[f].label +
                               "; at least " + std::to_string(kMinValidationPerClass) +
                               " with and without each finding are needed",
                           s.outputs.classes[f].name);
    }
    return std::nullopt;
}

// Whether the scored images' labels can give a report (validation_check's rules, said of images).
std::optional<Problem> images_check(const Schema& s, std::span<const int> labels) {
    if (s.outputs.multilabel()) return findings_check(s, labels);
    if (labels.size() < kMinValidationRows)
        return problem("too_few_rows",
                       std::to_string(labels.size()) +
                           " images could be scored with a known outcome; a validation needs at least " +
                           std::to_string(kMinValidationRows) + " (and many more for narrow intervals)");
    std::vector<size_t> count(s.outputs.classes.size(), 0);
    for (int y : labels) ++count[static_cast<size_t>(y)];
    if (std::count_if(count.begin(), count.end(), [](size_t c) { return c > 0; }) < 2)
        return problem("one_class", "every scored image has the same outcome ('" +
                                        s.outputs.classes[static_cast<size_t>(labels.front())].label +
                                        "'); add images with other outcomes to measure discrimination");
    if (s.outputs.kind == TaskKind::binary)
        for (size_t c = 0; c < count.size(); ++c)
            if (count[c] < kMinValidationPerClass)
                return problem("too_few_in_class", "only " + std::to_string(count[c]) + " scored images have '" +
                                                       s.outputs.classes[c].label + "'; at least " +
                                                       std::to_string(kMinValidationPerClass) +
                                                       " of each outcome are needed for confidence intervals");
    return std::nullopt;
}

// The Wilson score interval (95%) of k successes in n.
std::array<double, 2> wilson(double k, double n) {
    const double z = 1.959963984540054, p = k / n, z2n = z * z / n;
    const double centre = (p + z2n / 2) / (1 + z2n);
    const double half = z * std::sqrt(p * (1 - p) / n + z2n / (4 * n)) / (1 + z2n);
    return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}
}  // namespace

ImageValidationRun image_validation_run(const Model& m, std::string_view text, std::string_view name,
                                        std::span<const ImageOutput> outputs, const ValidationRunOptions& o) {
    ImageValidationRun run;
    const Schema& s = m.schema;
    if (!m.imaging || !s.image) {
        run.refused = {problem("not_imaging", "this model does not read images")};
        return run;
    }
    if (s.outputs.regression()) {
        run.refused = {problem("not_supported", "imaging validation covers models that give classes")};
        return run;
    }
    if (text.size() > kMaxPatientFileBytes) {
        run.refused = {problem("too_large",
                               "the labels file is larger than " + std::to_string(kMaxPatientFileBytes >> 20) + " MB")};
        return run;
    }
    run.labels = image_labels_read(s, text);
    if (!run.labels.readable) {
        run.refused = run.labels.problems;
        return run;
    }
    run.left_out = run.labels.problems;
    std::map<std::string, const ImageOutput*> by_name;
    for (const ImageOutput& out : outputs) by_name.emplace(out.image, &out);
    const bool binary = s.outputs.kind == TaskKind::binary;
    const int positive = binary ? 1 : -1;
    size_t pointed = 0, hits = 0, boxes = 0;
    double energy = 0;
    std::set<std::string> named(run.labels.named.begin(), run.labels.named.end());
    for (const ImageLabelRow& r : run.labels.rows) {
        const auto it = by_name.find(r.image);
        if (it == by_name.end()) {
            run.left_out.push_back(problem("missing_image",
                                           "'" + printable(r.image) +
                                               "' is not among the images given; this row is "
                                               "left out",
                                           "image", r.row));
            continue;
        }
        const ImageOutput& out = *it->second;
        if (!out.problems.empty()) {
            for (Problem p : out.problems) {
                p.row = r.row;
                p.message = "'" + printable(r.image) + "' was not scored: " + p.message;
                run.left_out.push_back(std::move(p));
            }
            continue;
        }
        if (r.box) {
            const auto& b = *r.box;
            const bool in = b[0] >= 0 && b[1] >= 0 && b[2] <= out.width && b[3] <= out.height;
            if (!in) {
                run.left_out.push_back(problem("box_outside",
                                               "the lesion box (" + fmt_number(b[0]) + ", " + fmt_number(b[1]) +
                                                   ") to (" + fmt_number(b[2]) + ", " + fmt_number(b[3]) +
                                                   ") lies outside the image, which is " + std::to_string(out.width) +
                                                   " x " + std::to_string(out.height) + " pixels",
                                               b[0] < 0           ? "x0"
                                               : b[1] < 0         ? "y0"
                                               : b[2] > out.width ? "x1"
                                                                  : "y1",
                                               r.row));
                continue;
            }
        }
        if (r.point) {
            const auto& p = *r.point;
            if (!(p[0] >= 0 && p[0] <= out.width && p[1] >= 0 && p[1] <= out.height)) {
                run.left_out.push_back(problem("point_outside",
                                               "the lesion point (" + fmt_number(p[0]) + ", " + fmt_number(p[1]) +
                                                   ") lies outside the image, which is " + std::to_string(out.width) +
                                                   " x " + std::to_string(out.height) + " pixels",
                                               p[0] < 0 || p[0] > out.width ? "x" : "y", r.row));
                continue;
            }
        }
        if (s.outputs.multilabel())
            run.scored_labels.insert(run.scored_labels.end(), r.findings.begin(), r.findings.end());
        else run.scored_labels.push_back(r.label);
        run.scored_images.push_back(r.image);
        run.probabilities.insert(run.probabilities.end(), out.probabilities.begin(), out.probabilities.end());
        if (!s.outputs.multilabel() && r.label == positive && (r.box || r.point)) {
            const Localization l = image_localize(out, r.box, r.point);
            ++pointed;
            hits += l.hit;
            if (r.box) {
                ++boxes;
                energy += std::isnan(l.energy) ? 0.0 : l.energy;  // an all-zero map put none of it in the box
            }
        }
    }
    for (const ImageOutput& out : outputs)
        if (!named.count(out.image))
            run.left_out.push_back(problem("unlabelled_image",
                                           "'" + printable(out.image) +
                                               "' is named in no row of the labels file; it "
                                               "is left out",
                                           "image"));
    if (auto p = images_check(s, run.scored_labels)) {
        run.refused = {*p};
        return run;
    }
    run.bootstrap = o.bootstrap;
    if (o.max_resample_rows > 0) {
        const size_t rows = std::max<size_t>(run.scored_images.size(), 1);
        const size_t most = static_cast<size_t>(std::max(o.bootstrap, 0));
        run.bootstrap =
            static_cast<int>(std::clamp<size_t>(o.max_resample_rows / rows, std::min<size_t>(200, most), most));
    }
    Json doc{{"localdx_version", kLocalDxVersion},
             {"bundle", {{"name", m.manifest.name}, {"version", m.manifest.version}, {"sha256", m.sha256}}}};
    doc["data"] = {{"file", std::string(name)},
                   {"sha256", sha256_hex(text)},
                   {"format", "images"},
                   {"rows", run.labels.rows.size() + run.labels.problems.size()},
                   {"images", outputs.size()},
                   {"scored", run.scored_images.size()},
                   {"left_out", problems_json(run.left_out)}};
    doc["metrics"] = s.outputs.multilabel()
                         ? multilabel_report(s, run.scored_labels, run.probabilities, run.bootstrap, o.seed)
                         : validation_report(s, run.scored_labels, run.probabilities, {}, run.bootstrap, o.seed);
    if (!s.outputs.conformal.empty())
        doc["conformal"] =
            conformal_site_coverage(s.outputs, s.outputs.conformal, run.probabilities, run.scored_labels, {});
    if (pointed > 0) {
        const auto ci = wilson(static_cast<double>(hits), static_cast<double>(pointed));
        doc["localization"] = {{"images", pointed},
                               {"hits", hits},
                               {"pointing_game", static_cast<double>(hits) / static_cast<double>(pointed)},
                               {"pointing_game_ci", {ci[0], ci[1]}},
                               {"boxes", boxes},
                               {"energy_in_box", boxes > 0 ? Json(energy / static_cast<double>(boxes)) : Json()},
                               {"tolerance_pixels", kPointTolerance}};
    }
    run.report = std::move(doc);
    return run;
}

//-----------------------------------------------------------------------------
// [SECTION] The bundle's calibrator and card figures, from held-out calibration images
//-----------------------------------------------------------------------------
namespace {
// The calibration images' labels joined with the model's outputs for them, strictly (see
// image_conformal_fit): rows x classes probabilities and a label per row (multilabel: rows x findings).
struct CalibrationRows {
    std::vector<int> labels;
    std::vector<double> probabilities;
};
Result<CalibrationRows> calibration_rows(const Schema& s, std::string_view text, std::span<const ImageOutput> outputs) {
    if (!s.image || s.outputs.regression())
        return problem("not_supported", "calibration images calibrate an imaging model that gives classes");
    ImageLabels labels = image_labels_read(s, text);
    if (!labels.problems.empty()) return labels.problems;
    std::map<std::string, const ImageOutput*> by_name;
    for (size_t i = 0; i < outputs.size(); ++i)
        if (!by_name.emplace(outputs[i].image, &outputs[i]).second)
            return problem("duplicate_image",
                           "'" + printable(outputs[i].image) +
                               "' is in the calibration outputs more than once: each image is scored once",
                           "images[" + std::to_string(i) + "].image");
    CalibrationRows out;
    std::vector<int>& scored = out.labels;
    std::vector<double>& probabilities = out.probabilities;
    std::set<std::string> named;
    for (const ImageLabelRow& r : labels.rows) {
        named.insert(r.image);
        const auto it = by_name.find(r.image);
        if (it == by_name.end())
            return problem("missing_image", "'" + printable(r.image) + "' has no entry in the calibration outputs",
                           "image", r.row);
        if (!it->second->problems.empty())
            return problem("not_scored",
                           "'" + printable(r.image) + "' was not scored: " + it->second->problems.front().message,
                           "image", r.row);
        if (s.outputs.multilabel()) scored.insert(scored.end(), r.findings.begin(), r.findings.end());
        else scored.push_back(r.label);
        probabilities.insert(probabilities.end(), it->second->probabilities.begin(), it->second->probabilities.end());
    }
    for (const ImageOutput& out_image : outputs)
        if (!named.count(out_image.image))
            return problem(
                "unlabelled_image",
                "'" + printable(out_image.image) + "' is in the calibration outputs but in no row of the labels",
                "image");
    if (auto p = images_check(s, scored)) return *p;
    return out;
}
}  // namespace

Result<Conformal> image_conformal_fit(const Schema& s, std::string_view text, std::span<const ImageOutput> outputs,
                                      std::string source) {
    auto rows = calibration_rows(s, text, outputs);
    if (!rows) return rows.problems();
    Conformal c = conformal_fit_site(s.outputs, rows->probabilities, rows->labels, {}, std::move(source));
    c.local = false;
    return c;
}

Result<Json> image_card_metrics(const Schema& s, std::string_view text, std::span<const ImageOutput> outputs,
                                const std::string& source, int bootstrap, uint64_t seed) {
    auto rows = calibration_rows(s, text, outputs);
    if (!rows) return rows.problems();
    Json m = s.outputs.multilabel() ? multilabel_report(s, rows->labels, rows->probabilities, bootstrap, seed)
                                    : validation_report(s, rows->labels, rows->probabilities, {}, bootstrap, seed);
    m["method"] = "Evaluated on " + source + ", never trained on (the images the bundle's calibrator is fitted on).";
    return m;
}

std::string image_validation_headline(std::string_view labels_name, const Json& report,
                                      const std::vector<Problem>& refused) {
    const std::string name = labels_name.empty() ? std::string("The images") : printable(labels_name);
    if (!refused.empty()) return name + " could not be checked: " + refused.front().message + ".";
    if (report.is_null() || !report.contains("data")) return name + " could not be checked: no images.";
    const Json& d = report["data"];
    std::string s = "Validation report for " + name + ": " + std::to_string(d["scored"].get<size_t>()) + " of " +
                    std::to_string(d["images"].get<size_t>()) + " images scored with a known outcome, " +
                    std::to_string(d["left_out"].size()) + " left out";
    if (report.contains("localization")) {
        const Json& l = report["localization"];
        s += "; pointing game " + std::to_string(l["hits"].get<long>()) + " of " +
             std::to_string(l["images"].get<long>());
    }
    return s + ".";
}

}  // namespace ldx
