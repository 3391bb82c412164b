// shared/imaging/image_model.h — an imaging bundle's model, and one image through it.
//
// Index of this file
//   [SECTION] The model's description (bundle member "imaging.json")
//   [SECTION] Pixels from 8-bit decoders (the browser's RGBA, libpng and libjpeg's RGB)
//   [SECTION] One image: the runs ONNX Runtime makes for it, and what comes of them
//
// ONNX Runtime runs the model (in the browser); everything around it is here, once: which
// outputs hold the class probabilities and the map, the occlusion inputs for models without a
// map output, the heat map, and its sanity figure (the deletion curve). The page only moves
// tensors between this and ONNX Runtime (web/batch-worker.js).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "imaging/image_input.h"
#include "schema/schema.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] The model's description
//-----------------------------------------------------------------------------
// cam: the model has a second output with its class activation map (no second pass; docs/imaging.md
// gives the PyTorch export recipe). occlusion: any other classifier; the map is how much the
// explained class's probability falls when a square of the image is masked, one run per square.
enum class MapKind { cam, occlusion };

struct ImageModel {
    std::string probabilities;  // output [N, K], or [N, 1] with P(positive) for a binary task
    int probability_width = 0;
    bool batch = true;  // the model takes N > 1 images per run (its first dimension is free)
    MapKind map = MapKind::cam;
    std::string map_output;  // cam: [N, h, w] (the positive class, or the only logit) or [N, K, h, w]
    int map_classes = 0;     // 0: one map; K: one per class
    int map_height = 0, map_width = 0;
    int patch = 0, stride = 0;  // occlusion: the masked square and its step, in tensor pixels
    float fill = 0;             // the tensor value of a masked pixel (0: the normalised mean)
    // What ONNX Runtime must reproduce on every load: the author's probabilities (check_images x
    // K) for the tensors in member "check.f32", which are the bundle's reference images through
    // this core's preprocessing.
    int check_images = 0;
    std::vector<double> check_probabilities;
};

Json image_model_to_json(const ImageModel& m);
Result<ImageModel> image_model_from_json(const Json& j, const Schema& schema);
// The runs an occlusion map costs (its stated budget): one per square position.
int occlusion_runs(const ImageModel& m, const ImageInput& in);
// Class probabilities from one row of the probability output (width 1: P(positive) of two classes).
std::vector<double> image_probabilities(const ImageModel& m, std::span<const float> row);

//-----------------------------------------------------------------------------
// [SECTION] Pixels from 8-bit decoders
//-----------------------------------------------------------------------------
// Interleaved RGB (components 3) or RGBA (4, alpha ignored) bytes: one grey channel when every
// pixel has R = G = B, as radiographs saved in colour do, else RGB.
Result<Pixels> pixels_from_interleaved(std::span<const uint8_t> bytes, int width, int height, int components);

//-----------------------------------------------------------------------------
// [SECTION] One image
//-----------------------------------------------------------------------------
// A heat map at the model's map resolution: values in [0, 1], 1 where the explained class's
// evidence is strongest (CAM: its positive part over its maximum; occlusion: the fall in
// log-odds over the largest fall). All zero when nothing raised the class.
struct HeatMap {
    int height = 0, width = 0;
    std::vector<float> values;
    double peak = 0;  // the raw maximum (CAM: logit units; occlusion: log-odds)
};

// The deletion curve: the explained class's probability as the top-ranked map cells are masked
// (0, 10, ..., 100 %), and the same for a fixed random order. Its area (mean over the steps)
// falls faster for a map that found what the model uses.
inline constexpr int kDeletionSteps = 10;
struct DeletionCurve {
    std::vector<double> ranked, random;  // kDeletionSteps + 1 each
    double ranked_area = 0, random_area = 0;
};

// The runs for one image, in stages: the image itself, then (occlusion) the masked squares, then
// the deletion curve's masked images. The caller asks for `inputs`, runs them, gives the outputs,
// until `done`.
struct ImageJob {
    enum class Stage { image, occlusion, deletion, done };
    Stage stage = Stage::image;
    Tensor tensor;                      // the preprocessed image (N = 1)
    std::vector<double> probabilities;  // per class, of the image itself
    int predicted = 0, explained = 0;   // the decided class; the class the map explains
    HeatMap map;
    // A multilabel model's map of every finding, in the schema's order (from a per-finding CAM,
    // [N, K, h, w], or from the same occlusion runs); empty otherwise. `map` is the explained one.
    std::vector<HeatMap> maps;
    DeletionCurve deletion;
    std::vector<double> staged;    // the explained class's probability from each run of the stage
    std::vector<double> occluded;  // multilabel: every finding's probability from each occlusion run
    size_t runs = 0;               // runs made, every stage
    // Shown above the result: the clinician to confirm what the image is, or an image unlike the
    // training images (image_input.h, Scope). Set by whoever starts the job.
    std::vector<Problem> warnings;
    // What the drift report counts of the image (drift/image_descriptors.h; NaN: not given). Set by
    // whoever starts the job.
    std::vector<double> descriptors;
};

// Starts a job for a preprocessed tensor (imaging/preprocess.h).
ImageJob image_job_start(Tensor tensor);
// Images the stage still needs, and `count` of them from the first not yet given, as one
// [count, C, H, W] buffer.
size_t image_job_pending(const ImageJob& job, const ImageModel& m, const ImageInput& in);
std::vector<float> image_job_inputs(const ImageJob& job, const ImageModel& m, const ImageInput& in, size_t count);
// The outputs for the images last asked for: `probabilities` (count x probability_width) and, in
// the image stage of a cam model, `map` (count x map values). `explained` (image stage): the class
// the map explains, or -1 for the decided class (binary: the positive class, whatever was
// decided). Problems: "model_output" when the
// sizes are not what the bundle says.
Result<Ok> image_job_give(ImageJob& job, const ImageModel& m, const Schema& schema, const ImageInput& in,
                          std::span<const float> probabilities, std::span<const float> map, int explained = -1);

}  // namespace ldx
