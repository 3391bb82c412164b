// server/cli/commands/evaluate_images.cpp — `localdx evaluate --images DIR --labels LABELS.csv
// --outputs OUTPUTS.json`: an imaging bundle checked on a site's labelled images.
//
// Index of this file
//   [SECTION] The images of the folder, with the model's outputs for them
//   [SECTION] The command
//
// ONNX Runtime runs imaging models in the browser only, so the model's outputs come from a file
// (the browser's Validate view saves it; a site's pipeline may write it). What is checked here is
// everything else: each output against its image file in DIR (present, decodable, of the size the
// outputs say), then the one run the browser makes (metrics/image_validation.h).
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "imaging/preprocess.h"
#include "imaging/raster.h"
#include "io/files.h"
#include "metrics/image_validation.h"
#include "record/patients.h"

namespace ldx::cli {

//-----------------------------------------------------------------------------
// [SECTION] The images of the folder
//-----------------------------------------------------------------------------
namespace {
constexpr size_t kMaxOutputsBytes = size_t{256} << 20;

// Each output checked against its file in `dir`; a file of `dir` the outputs leave out is added
// as refused ("not_scored"), so that its label row says why it is not counted.
std::vector<ImageOutput> outputs_for_folder(const ImageInput& input, const std::string& dir,
                                            std::vector<ImageOutput> outputs) {
    std::map<std::string, bool> listed;
    for (ImageOutput& o : outputs) {
        listed[o.image] = true;
        if (!o.problems.empty()) continue;
        const std::string path = (std::filesystem::path(dir) / o.image).string();
        if (o.image.find("..") != std::string::npos || !file_exists(path)) {
            o.problems = {problem("missing_file", "no file " + o.image + " in " + dir, "image")};
            continue;
        }
        auto bytes = file_read(path, size_t{1} << 30);
        if (!bytes) {
            o.problems = bytes.problems();
            continue;
        }
        auto pixels = image_file_decode(*bytes, 0);
        if (!pixels) {
            o.problems = pixels.problems();
            continue;
        }
        // The browser prepares each image before scoring it: one it could not prepare is refused alike.
        if (auto large = image_memory_refusal(input, image_format_sniff(*bytes), *pixels, bytes->size())) {
            o.problems = {*large};
            continue;
        }
        if (pixels->width != o.width || pixels->height != o.height)
            o.problems = {problem("outputs_mismatch",
                                  "the file is " + std::to_string(pixels->width) + " x " +
                                      std::to_string(pixels->height) + " pixels, but its outputs are for an image of " +
                                      std::to_string(o.width) + " x " + std::to_string(o.height),
                                  "image")};
    }
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        if (!e.is_regular_file() || listed.count(name) || e.path().extension() == ".csv" ||
            e.path().extension() == ".json")
            continue;
        ImageOutput o;
        o.image = name;
        o.problems = {problem("not_scored", "the outputs file has no entry for it", "image")};
        outputs.push_back(std::move(o));
    }
    return outputs;
}

// A multilabel model's report: each finding's figures at its own threshold, then the macro means.
std::string findings_text(const Schema& s, const Json& r) {
    auto num = [](const Json& v, const char* f = "%.3f") { return v.is_number() ? fmt(v.get<double>(), f) : "–"; };
    auto fig = [&](const char* name, const Json& x) {
        const Json& ci = json_member(x, "ci95");
        const bool both = ci.is_array() && ci.size() == 2;
        char b[200];
        std::snprintf(b, sizeof b, "    %-24s %7s  [%s, %s]\n", name, num(json_member(x, "value")).c_str(),
                      both ? num(ci[0]).c_str() : "–", both ? num(ci[1]).c_str() : "–");
        return std::string(b);
    };
    const Json& b = r["bundle"];
    const Json& d = r["data"];
    const Json& m = r["metrics"];
    std::string out = "Bundle  " + b["name"].get<std::string>() + " v" + std::to_string(b["version"].get<int64_t>()) +
                      "  sha256 " + b["sha256"].get<std::string>() + "\n";
    out += "Data    " + d["file"].get<std::string>() + "  sha256 " + d["sha256"].get<std::string>() + "\n";
    out += "        " + validation_counts(r) + "\n";
    for (const OutputClass& c : s.outputs.classes) {
        const Json& f = json_member(json_member(m, "findings"), c.name);
        const Json& x = json_member(json_member(f, "class"), c.name);
        out += "\n" + c.label + " (" + c.name + "): present in " + num(json_member(f, "prevalence"), "%.3f") +
               " of the images; threshold " + num(json_member(f, "threshold"), "%.4g") + "; 95% CI from " +
               std::to_string(json_member(f, "bootstrap_resamples").get<int>()) + " bootstrap resamples\n";
        for (const auto& [label, key] : {std::pair{"AUC-ROC", "auc_roc"},
                                         {"PR-AUC", "pr_auc"},
                                         {"sensitivity", "sensitivity"},
                                         {"specificity", "specificity"},
                                         {"PPV", "precision"},
                                         {"NPV", "npv"}})
            out += fig(label, json_member(x, key));
        out += fig("Brier score", json_member(f, "brier"));
    }
    out += "\nMacro mean over the findings (no interval)\n";
    for (const auto& [label, key] : {std::pair{"AUC-ROC", "auc_roc"},
                                     {"PR-AUC", "pr_auc"},
                                     {"sensitivity", "sensitivity"},
                                     {"specificity", "specificity"},
                                     {"Brier score", "brier"}}) {
        char b[120];
        std::snprintf(b, sizeof b, "    %-24s %7s\n", label,
                      num(json_member(json_member(json_member(m, "macro"), key), "value")).c_str());
        out += b;
    }
    return out;
}

std::string localization_text(const Json& l) {
    if (!l.is_object()) return {};
    auto num = [](const Json& v) { return v.is_number() ? fmt(v.get<double>(), "%.3f") : std::string("–"); };
    std::string out = "\nWhere the heat map points (positive images with a lesion box or point)\n";
    out += "  pointing game: " + std::to_string(l["hits"].get<size_t>()) + " of " +
           std::to_string(l["images"].get<size_t>()) + " maps peak inside the box (or within " +
           fmt(l["tolerance_pixels"].get<double>(), "%g") + " pixels of the point): " + num(l["pointing_game"]) +
           "  [" + num(l["pointing_game_ci"][0]) + ", " + num(l["pointing_game_ci"][1]) + "] (Wilson 95%)\n";
    if (l["boxes"].get<size_t>() > 0)
        out += "  energy in the box: " + num(l["energy_in_box"]) + " of the map's positive mass, mean over " +
               std::to_string(l["boxes"].get<size_t>()) + " boxes\n";
    return out;
}
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] The command
//-----------------------------------------------------------------------------
int cmd_evaluate_images(const Args& a) {
    auto bundle = args_require(a, "--bundle");
    auto trust = args_require(a, "--trust");
    auto images = args_require(a, "--images");
    auto labels = args_require(a, "--labels");
    auto outputs_path = args_require(a, "--outputs");
    for (const auto* r : {&bundle, &trust, &images, &labels, &outputs_path})
        if (!*r) return fail("evaluate", r->problems());
    for (const char* flag : {"--data", "--compare", "--per-period", "--period"})
        if (a.get(flag)) return fail("evaluate", problem("usage", std::string(flag) + " is not used with --images"));
    if (!a.all("--gate").empty()) return fail("evaluate", problem("usage", "--gate is not used with --images"));
    auto options = evaluate_options(a);
    if (!options) return fail("evaluate", options.problems());
    const auto& [format, bootstrap, seed] = *options;
    if (!std::filesystem::is_directory(*images))
        return fail("evaluate", problem("usage", *images + " (--images) is not a folder"));

    auto model = load_model(*bundle, *trust, 0);
    if (!model) return fail("evaluate", model.problems());
    if (!model->imaging) return fail("evaluate", problem("not_imaging", *bundle + " does not read images: use --data"));
    auto text = file_read(*labels, kMaxPatientFileBytes);
    if (!text) return fail("evaluate", text.problems());
    auto outputs_text = file_read(*outputs_path, kMaxOutputsBytes);
    if (!outputs_text) return fail("evaluate", outputs_text.problems());
    auto outputs_json = json_parse(*outputs_text, "outputs", JsonLimits{kMaxOutputsBytes, 8});
    if (!outputs_json) return fail("evaluate", outputs_json.problems());
    auto outputs = image_outputs_from_json(*outputs_json, model->schema.outputs.classes.size());
    if (!outputs) return fail("evaluate", outputs.problems());
    const std::vector<ImageOutput> checked = outputs_for_folder(*model->schema.image, *images, std::move(*outputs));

    // The run the browser's Validate view makes; the rows left out are listed (or, with --strict,
    // fail the file) before a refusal of what remains.
    ImageValidationRun run =
        image_validation_run(*model, *text, *labels, checked, ValidationRunOptions{unix_now(), bootstrap, seed, 0});
    if (!run.labels.readable) return fail("evaluate", run.refused);
    if (!run.left_out.empty()) {
        if (a.has("--strict")) return fail("evaluate", run.left_out);
        fail("evaluate", run.left_out);
    }
    if (!run.refused.empty()) return fail("evaluate", run.refused);
    const std::string out =
        format == "json" ? json_dump(run.report, 2) + "\n"
        : model->schema.outputs.multilabel()
            ? findings_text(model->schema, run.report)
            : evaluate_text(model->schema, run.report) + localization_text(json_member(run.report, "localization"));
    if (auto path = a.get("--out")) {
        if (auto ok = file_write_atomic(*path, out); !ok) return fail("evaluate", ok.problems());
        std::fprintf(stderr, "localdx evaluate: %zu images -> %s\n", run.scored_images.size(), path->c_str());
    } else {
        std::fwrite(out.data(), 1, out.size(), stdout);
    }
    return 0;
}

}  // namespace ldx::cli
