// server/package/package_image.cpp — `localdx bundle` for an imaging model (see package.h).
//
// Index of this file
//   [SECTION] The model's tensors (input, probabilities, map)
//   [SECTION] Reference images (drift histograms, the load-time check, image descriptors)
//   [SECTION] Packaging
//
// The ONNX model takes the schema's tensor [N, C, H, W]; its probabilities are an output
// [N, K] (or [N, 1] for a binary task); a second output [N, h, w] or [N, K, h, w] is its class
// activation map, and without one the browser computes an occlusion map. The reference CSV names
// image files (column "image", relative to the CSV) with the author's probabilities (p_<class>):
// the first images, preprocessed by this core, go into the bundle, and every browser checks on
// load that ONNX Runtime gives the author's probabilities for them.
#include <cmath>
#include <filesystem>
#include <tuple>

#include "csv/csv.h"
#include "drift/histogram.h"
#include "drift/image_descriptors.h"
#include "imaging/image_model.h"
#include "imaging/preprocess.h"
#include "imaging/raster.h"
#include "io/files.h"
#include "metrics/image_validation.h"
#include "onnx/onnx_trees.h"
#include "package/package.h"
#include "record/record.h"
#include "schema/schema.h"

namespace ldx {

namespace {
//-----------------------------------------------------------------------------
// [SECTION] The model's tensors
//-----------------------------------------------------------------------------
std::string dims_text(const std::vector<int64_t>& dims) {
    std::string s;
    for (const int64_t d : dims) s += (s.empty() ? "" : ", ") + (d < 0 ? std::string("N") : std::to_string(d));
    return "[" + s + "]";
}

Result<ImageModel> image_model_from_onnx(const Schema& schema, const OnnxInfo& info) {
    const ImageInput& in = *schema.image;
    const int64_t k = schema.num_classes();
    if (info.inputs.size() != 1)
        return problem("unsupported_model", "the model has " + std::to_string(info.inputs.size()) +
                                                " inputs; an imaging model takes one image tensor");
    const OnnxTensor& input = info.inputs[0];
    const std::vector<int64_t> want{-1, in.channels, in.height, in.width};
    if (!input.is_float || input.dims.size() != 4 || input.dims[1] != want[1] || input.dims[2] != want[2] ||
        input.dims[3] != want[3] || (input.dims[0] != -1 && input.dims[0] != 1))
        return problem("schema_mismatch", "the model's input '" + input.name + "' is " + dims_text(input.dims) +
                                              "; the schema's tensor is float " + dims_text(want) + " (NCHW)");
    if (input.name != in.tensor)
        return problem("schema_mismatch",
                       "the model's input is named '" + input.name + "'; the schema's tensor is '" + in.tensor + "'");
    ImageModel m;
    m.batch = input.dims[0] == -1;
    const OnnxTensor* probs = nullptr;
    const OnnxTensor* map = nullptr;
    for (const OnnxTensor& o : info.outputs) {
        if (!o.is_float) continue;
        const bool named = o.name == "probabilities" || o.name == "probability";
        const bool one = k == 2 && !schema.outputs.multilabel() && o.dims.size() == 2 && o.dims[1] == 1;
        if (o.dims.size() == 2 && (o.dims[1] == k || one) && (named || !probs)) probs = &o;
        if ((o.dims.size() == 3 || (o.dims.size() == 4 && o.dims[1] == k)) && !map) map = &o;
    }
    if (!probs) {
        std::string names;
        for (const auto& o : info.outputs) names += (names.empty() ? "" : ", ") + o.name + " " + dims_text(o.dims);
        return problem("unsupported_model", "no output holds the class probabilities (outputs: " + names +
                                                "): it must be float [N, " + std::to_string(k) + "]" +
                                                (k == 2 ? " or [N, 1] with P(positive)" : ""));
    }
    m.probabilities = probs->name;
    m.probability_width = static_cast<int>(probs->dims[1]);
    if (map) {
        const size_t hi = map->dims.size() - 2;
        if (map->dims[hi] < 1 || map->dims[hi + 1] < 1 || map->dims[hi] > in.height || map->dims[hi + 1] > in.width)
            return problem("unsupported_model", "the map output '" + map->name + "' is " + dims_text(map->dims) +
                                                    ": its height and width must be fixed and at most the image's");
        m.map = MapKind::cam;
        m.map_output = map->name;
        m.map_classes = map->dims.size() == 4 ? static_cast<int>(k) : 0;
        m.map_height = static_cast<int>(map->dims[hi]);
        m.map_width = static_cast<int>(map->dims[hi + 1]);
    } else {
        // Occlusion: a square of a seventh of the image, moved by half its side (169 runs at 224 x 224).
        m.map = MapKind::occlusion;
        m.stride = std::max(1, std::min(in.height, in.width) / 14);
        m.patch = 2 * m.stride;
        m.map_height = (in.height + m.stride - 1) / m.stride;
        m.map_width = (in.width + m.stride - 1) / m.stride;
    }
    return m;
}

//-----------------------------------------------------------------------------
// [SECTION] Reference images
//-----------------------------------------------------------------------------
struct ReferenceImages {
    std::vector<double> probabilities;  // rows x K, the author's
    std::vector<float> check;           // the first images' tensors
    int check_images = 0;
    std::vector<double> descriptors;  // describe: every image's (rows x kImageDescriptors)
};

constexpr int kCheckImages = 4;

// describe: every image is decoded for its descriptors (no --image-descriptors CSV of the training
// images was given), not only the check images.
Result<ReferenceImages> reference_images(const PackageInput& in, const Schema& schema, bool describe) {
    auto table = csv_parse(*in.reference);
    if (!table) return table.problems();
    const auto column = [&](const std::string& name) -> int {
        for (size_t c = 0; c < table->header.size(); ++c)
            if (table->header[c] == name) return static_cast<int>(c);
        return -1;
    };
    const int image_col = column("image");
    std::vector<int> p_cols;
    std::string wanted;
    for (const auto& c : schema.outputs.classes) {
        p_cols.push_back(column("p_" + c.name));
        wanted += (wanted.empty() ? "" : ", ") + ("p_" + c.name);
    }
    if (image_col < 0 || std::find(p_cols.begin(), p_cols.end(), -1) != p_cols.end())
        return problem("missing_reference",
                       "the reference CSV of an imaging model needs the columns image (a file, relative to the CSV) "
                       "and " +
                           wanted + " (your model's probabilities for it)");
    if (table->rows.empty()) return problem("missing_reference", "the reference CSV has no images");
    ReferenceImages r;
    const ImageInput& im = *schema.image;
    for (size_t i = 0; i < table->rows.size(); ++i) {
        const long row = static_cast<long>(i + 1);
        if (auto p = csv_row_problem(*table, i)) return *p;
        const auto& cells = table->rows[i];
        const std::string name = cells[static_cast<size_t>(image_col)];
        double sum = 0;
        for (const int c : p_cols) {
            const auto v = number_parse(cells[static_cast<size_t>(c)]);
            if (!v || *v < 0 || *v > 1)
                return problem("bad_value",
                               "row " + std::to_string(row) + ": " + table->header[static_cast<size_t>(c)] +
                                   " must be a probability from 0 to 1",
                               table->header[static_cast<size_t>(c)], row);
            r.probabilities.push_back(*v);
            sum += *v;
        }
        if (!schema.outputs.multilabel() && std::abs(sum - 1) > 1e-3)  // a finding's sigmoid is its own
            return problem(
                "bad_value",
                "row " + std::to_string(row) + ": the probabilities add up to " + std::to_string(sum) + ", not 1", "p_",
                row);
        if (r.check_images >= kCheckImages && !describe) continue;
        const std::string path = (std::filesystem::path(in.reference_dir) / name).string();
        auto bytes = file_read(path, size_t{1} << 30);
        if (!bytes) return bytes.problems();
        const ImageFormat format = image_format_sniff(*bytes);
        if (auto refused = image_format_refusal(im, format))
            return problem("unsupported_image", "row " + std::to_string(row) + ": " + name + ": " + refused->message,
                           "image", row);
        auto pixels = image_file_decode(*bytes);
        if (!pixels) return problem(pixels.error().code, name + ": " + pixels.error().message, "image", row);
        auto tensor = image_tensor(im, *pixels);
        if (!tensor) return problem(tensor.error().code, name + ": " + tensor.error().message, "image", row);
        if (describe) {
            const ImageDescriptors d = image_descriptors(im, *pixels, *tensor);
            r.descriptors.insert(r.descriptors.end(), d.begin(), d.end());
        }
        if (r.check_images >= kCheckImages) continue;
        r.check.insert(r.check.end(), tensor->data.begin(), tensor->data.end());
        ++r.check_images;
    }
    return r;
}

Bytes floats_le(const std::vector<float>& v) {
    Bytes b(v.size() * 4, '\0');
    for (size_t i = 0; i < v.size(); ++i) {
        uint32_t bits;
        std::memcpy(&bits, &v[i], 4);
        for (int k = 0; k < 4; ++k) b[4 * i + static_cast<size_t>(k)] = static_cast<char>((bits >> (8 * k)) & 0xff);
    }
    return b;
}
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] Packaging
//-----------------------------------------------------------------------------
Result<Package> package_image(const PackageInput& in, Schema schema, const OnnxInfo& info, Json card,
                              const PackageLog& log) {
    if (schema.outputs.regression())
        return problem("unsupported_model",
                       "an imaging model predicts classes; the schema describes a regression task");
    if (!schema.fields.empty())
        return problem("unsupported_model",
                       "an imaging model takes the image alone; this schema also has fields (not supported yet)");
    // What the model was made for (imaging/image_input.h, Scope): the browser refuses images
    // outside these lists and warns when one is unlike the training images, so both must be said.
    const ImageInput& scope = *schema.image;
    std::vector<Problem> unsaid;
    for (const auto& [list, key, example] : {std::tuple{&scope.modalities, "modalities", "[\"DX\", \"CR\"]"},
                                             std::tuple{&scope.body_parts, "body_parts", "[\"CHEST\"]"},
                                             std::tuple{&scope.views, "views", "[\"PA\", \"AP\"]"}})
        if (list->empty())
            unsaid.push_back(problem("missing_scope",
                                     std::string("an imaging schema must list the DICOM values its model was made for: "
                                                 "image.") +
                                         key + " is missing or empty (e.g. " + example +
                                         "); images with other values are refused",
                                     std::string("image.") + key));
    if (!scope.training)
        unsaid.push_back(problem("missing_scope",
                                 "an imaging schema must carry image.training: the mean and standard deviation of each "
                                 "preprocessed training "
                                 "image, summarised as {images, mean: {min, max, mean, sd}, std: {min, max, mean, sd}} "
                                 "(docs/imaging.md); without it images unlike the training images cannot be flagged",
                                 "image.training"));
    if (!unsaid.empty()) return unsaid;
    auto model = image_model_from_onnx(schema, info);
    if (!model) return model.problems();
    if (in.calibration_labels.has_value() != in.calibration_outputs.has_value())
        return problem("usage", "calibration images need both their labels and the model's outputs for them");
    std::vector<double> calibration_probabilities;  // the calibration images' outputs, for the drift reference
    if (in.calibration_labels) {
        auto outputs_json =
            json_parse(*in.calibration_outputs, "calibration outputs", JsonLimits{in.calibration_outputs->size(), 8});
        if (!outputs_json) return outputs_json.problems();
        auto outputs = image_outputs_from_json(*outputs_json, schema.outputs.classes.size());
        if (!outputs) return outputs.problems();
        for (const ImageOutput& o : *outputs)
            calibration_probabilities.insert(calibration_probabilities.end(), o.probabilities.begin(),
                                             o.probabilities.end());
        auto fitted = image_conformal_fit(schema, *in.calibration_labels, *outputs, in.calibration_source);
        if (!fitted) return fitted.problems();
        if (fitted->source.empty()) fitted->source = std::to_string(fitted->rows) + " held-out calibration images";
        // The card's evaluation from the same held-out images, unless the card brings its own: the
        // figures the drift report's estimated performance is set beside, and the reliability table
        // (per finding for a multilabel model) it estimates from.
        if (!card.contains("metrics")) {
            auto metrics = image_card_metrics(schema, *in.calibration_labels, *outputs, fitted->source, 1000, 1);
            if (!metrics) return metrics.problems();
            card["metrics"] = std::move(*metrics);
            log("model card figures from the " + std::to_string(fitted->rows) + " held-out calibration images");
        }
        schema.outputs.conformal = std::move(*fitted);
        log("conformal calibrator fitted on " + std::to_string(schema.outputs.conformal.rows) +
            " held-out calibration images");
    }
    if (!in.reference || in.reference->empty())
        return problem("missing_reference",
                       "--reference is required: a CSV of image files with your model's probabilities for them");
    auto refs = reference_images(in, schema, !in.image_descriptors);
    if (!refs) return refs.problems();
    model->check_images = refs->check_images;
    model->check_probabilities.assign(refs->probabilities.begin(),
                                      refs->probabilities.begin() + refs->check_images * schema.num_classes());
    // The drift report's reference histograms of the outputs: the reference images' probabilities
    // and the calibration images' (held out alike; a few dozen reference images alone leave bins
    // whose noise raised alerts on clean streams: docs/imaging.md, Drift).
    std::vector<double> output_reference = refs->probabilities;
    output_reference.insert(output_reference.end(), calibration_probabilities.begin(), calibration_probabilities.end());
    Reference reference = reference_build(schema, {}, output_reference);
    const ImageInput& im = *schema.image;
    // The drift report's image descriptors: the training images' (the model build's CSV), else the
    // reference images'.
    if (in.image_descriptors) {
        auto rows = image_descriptors_from_csv(im, *in.image_descriptors);
        if (!rows) return rows.problems();
        reference.image = image_reference_histograms(im, *rows);
        log("image descriptors of " + std::to_string(rows->size() / kImageDescriptors) + " training images");
    } else {
        reference.image = image_reference_histograms(im, refs->descriptors);
        log("image descriptors of the " + std::to_string(refs->probabilities.size() / schema.num_classes()) +
            " reference images (no --image-descriptors of the training images given)");
    }
    if (model->map == MapKind::cam)
        log("imaging model: class activation map from output '" + model->map_output + "' (" +
            std::to_string(model->map_height) + " x " + std::to_string(model->map_width) + ")");
    else
        log("imaging model without a map output: occlusion map, " + std::to_string(occlusion_runs(*model, im)) +
            " runs per image (a " + std::to_string(model->patch) + "-pixel square, step " +
            std::to_string(model->stride) + ")");
    log(std::to_string(refs->probabilities.size() / schema.num_classes()) + " reference images; the first " +
        std::to_string(refs->check_images) + " are checked against ONNX Runtime on every load");
    if (!calibration_probabilities.empty())
        log("the outputs' drift reference: the reference and the calibration images' probabilities (" +
            std::to_string(reference.rows) + " images)");
    card["explainer"] =
        model->map == MapKind::cam
            ? Json{{"kind", "cam"},
                   {"note",
                    "class activation map: the model's last feature maps weighted for the explained class, "
                    "an output of the model itself (no second pass)"}}
            : Json{{"kind", "occlusion"},
                   {"runs", occlusion_runs(*model, im)},
                   {"note",
                    "occlusion map: how much the explained class's probability falls when a square of the "
                    "image is masked, " +
                        std::to_string(occlusion_runs(*model, im)) + " runs per image"}};
    Package p;
    p.manifest = in.manifest;
    p.manifest.explainer = model->map == MapKind::cam ? "cam" : "occlusion";
    p.members["schema.json"] = json_canonical(schema_to_json(schema));
    p.members["model.onnx"] = in.model_bytes;
    p.members["imaging.json"] = json_canonical(image_model_to_json(*model));
    p.members["check.f32"] = floats_le(refs->check);
    p.members["reference.json"] = json_canonical(reference_to_json(reference));
    p.members["card.json"] = json_canonical(card);
    return p;
}

}  // namespace ldx
