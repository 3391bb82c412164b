// shared/imaging/image_input.h — an imaging task's input: the files it takes, the tensor its model
// reads, and the preprocessing between them.
//
// Index of this file
//   [SECTION] Image input (schema key "image")
//   [SECTION] Decoded pixels
//   [SECTION] Tensor
//   [SECTION] Scope: what the model was made for (header lists, training statistics)
//
// The schema describes the preprocessing; imaging/preprocess.h implements it, once, for the CLI
// (`localdx preprocess`) and the browser. A data scientist checks it against their training
// pipeline with the tensor `localdx preprocess` writes.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "base/error.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Image input
//-----------------------------------------------------------------------------
enum class ImageFormat { dicom, png, jpeg };
// How stored values become [0, 1]: a window (center, width), a fixed range (min, max), or the
// image's own minimum and maximum. Values outside are clamped.
enum class IntensityKind { window, range, min_max };
// Resizing to the tensor's size: bilinear with half-pixel centres (PyTorch's interpolate with
// align_corners=False, no antialiasing), or area averaging (PyTorch's adaptive average pooling).
enum class ResizeFilter { bilinear, area };

// One statistic of the preprocessed tensor over the training images: its range and spread.
struct TrainingStatistic {
    double min = 0, max = 0, mean = 0, sd = 0;
};
// The preprocessed tensors of the training images (schema key "image.training"): per image, the
// mean and the standard deviation of all its tensor values (intensity and contrast).
struct ImageTraining {
    int64_t images = 0;
    TrainingStatistic mean, std;
};

struct ImageInput {
    std::string label = "Image";                  // what the clinician reads ("Chest radiograph")
    std::vector<std::string> modalities;          // DICOM Modality values accepted ("DX", "CR"); empty: any
    std::vector<std::string> body_parts;          // DICOM BodyPartExamined values ("CHEST"); empty: any
    std::vector<std::string> views;               // DICOM ViewPosition values ("PA", "AP"); empty: any
    std::optional<ImageTraining> training;        // for the out-of-distribution warning
    std::vector<ImageFormat> formats;             // at least one
    std::string tensor = "image";                 // the ONNX model's input name
    int channels = 1, height = 224, width = 224;  // NCHW float32, one image
    IntensityKind intensity = IntensityKind::range;
    double window_center = 0, window_width = 0;  // window: used when the file has none (or from_file is false)
    bool window_from_file = true;                // window: the DICOM file's first VOI window when it has one
    double range_min = 0, range_max = 255;       // range
    ResizeFilter filter = ResizeFilter::bilinear;
    std::vector<double> mean{0.0}, std{1.0};  // per tensor channel, applied to [0, 1] values

    bool accepts(ImageFormat f) const;
};

const char* image_format_name(ImageFormat f);

// The format a file's first bytes announce: PNG (its 8-byte signature), JPEG (FF D8 FF), else
// DICOM (which may have no preamble; its reader says when the file is not DICOM either). Used by
// the CLI, the packager and the browser (client/core_api.h, core_image_kind) alike. Reads at most
// the first kImageSniffBytes.
inline constexpr size_t kImageSniffBytes = 8;
ImageFormat image_format_sniff(std::string_view bytes);
// Nothing when `in` takes files of `format`; else the problem "unsupported_image" in the
// clinician's words: "This model reads DICOM files only; this file is a PNG image."
std::optional<Problem> image_format_refusal(const ImageInput& in, ImageFormat format);

//-----------------------------------------------------------------------------
// [SECTION] Decoded pixels
//-----------------------------------------------------------------------------
// An image's stored sample values, row by row, channels interleaved, each exactly: in single
// precision (4 bytes a sample) when the samples are at most kFloatExactBits wide (8-bit PNG and
// JPEG, DICOM up to 24 bits stored), in double precision (8 bytes) only when they are wider
// (DICOM's 25 to 32 bits, signed or not, up to 2^32 - 1). An 8192 x 8192 colour image is thus
// 768 MiB, not 1.5 GiB, within the browser's 2 GiB of wasm memory.
inline constexpr int kFloatExactBits = 24;
class Samples {
public:
    Samples() = default;
    // `count` zeros, held as wide as `bits`-bit samples need.
    Samples(size_t count, int bits);
    explicit Samples(std::vector<float> v) : v_(std::move(v)) {}
    explicit Samples(std::vector<double> v) : v_(std::move(v)) {}

    size_t size() const;
    bool wide() const { return v_.index() == 1; }  // held as doubles
    size_t storage_bytes() const;                  // what the samples occupy in memory
    double operator[](size_t i) const {
        const auto* f = std::get_if<std::vector<float>>(&v_);
        return f ? static_cast<double>((*f)[i]) : (*std::get_if<std::vector<double>>(&v_))[i];
    }
    // Sets sample i; `v` must be a value the samples' width holds exactly (what Samples(count, bits) chose).
    void set(size_t i, double v) {
        if (auto* f = std::get_if<std::vector<float>>(&v_)) (*f)[i] = static_cast<float>(v);
        else (*std::get_if<std::vector<double>>(&v_))[i] = v;
    }
    // Every sample as a double (tests and the parity checks; a copy).
    std::vector<double> doubles() const;
    // `f(const std::vector<float>&)` or `f(const std::vector<double>&)`, as they are held: a
    // loop over all samples without a branch per sample.
    template <class F>
    decltype(auto) visit(F&& f) const {
        return std::visit(std::forward<F>(f), v_);
    }
    template <class F>
    decltype(auto) visit(F&& f) {
        return std::visit(std::forward<F>(f), v_);
    }

private:
    std::variant<std::vector<float>, std::vector<double>> v_;
};

// One frame of an image as its file stores it. DICOM: stored values (BitsStored, sign applied),
// with the modality rescale kept beside them; PNG/JPEG: 0-255 (or 0-65535 for 16-bit PNG).
// imaging/preprocess.h turns them into the float32 tensor, once.
struct Pixels {
    int width = 0, height = 0;
    int channels = 1;                             // 1 (grey) or 3 (RGB)
    Samples values;                               // row by row, channels interleaved (height x width x channels)
    double slope = 1, intercept = 0;              // modality rescale: value = stored * slope + intercept
    bool monochrome1 = false;                     // MONOCHROME1: higher values are darker
    std::optional<std::array<double, 2>> window;  // the file's first VOI window (center, width)
    int frames = 1;                               // frames in the file; values hold the one chosen
    // What a clinician may see of the header: nothing that names or dates the patient.
    std::string modality, body_part, view;
    // Acquisition, for the drift report's coarse bins (drift/image_descriptors.h): the mean of the
    // row and column spacing in mm (PixelSpacing, else ImagerPixelSpacing) and BitsStored; 0 when
    // the file does not give them (PNG and JPEG never do).
    double pixel_spacing = 0;
    int bits_stored = 0;
};

// A DICOM decoder: frame `frame` (0-based) of the file in `bytes`. The core never calls a DICOM
// library itself: each program hands it one (imaging/dicom.h's dicom_decode, library
// localdx_dicom), or none, and the core refuses DICOM files with that reason.
using DicomDecoder = Result<Pixels> (*)(std::string_view bytes, int frame);

//-----------------------------------------------------------------------------
// [SECTION] Tensor
//-----------------------------------------------------------------------------
struct Tensor {
    std::array<int64_t, 4> shape{};  // N, C, H, W
    std::vector<float> data;         // row-major in that order
};

// The tensor as a NumPy .npy file (format 1.0, little-endian float32, C order).
std::string tensor_npy(const Tensor& t);
// The decoded pixels as a NumPy .npy file (format 1.0, little-endian float64, C order, shape
// 1 x height x width x channels): every stored value exactly (`localdx preprocess --pixels`).
std::string pixels_npy(const Pixels& p);

//-----------------------------------------------------------------------------
// [SECTION] Scope
//-----------------------------------------------------------------------------
// Implemented in imaging/scope.cpp, used by the browser (client/core_api.h) and the CLI
// (`localdx preprocess --bundle`) alike.
//
// The header against the schema's lists: a DICOM file whose Modality, BodyPartExamined or
// ViewPosition holds a value outside a non-empty list is refused ("out_of_scope", the field in
// the clinician's words). A DICOM file without a Modality is refused too (the tag is mandatory,
// and the model cannot be told what it is looking at); one without a body part or view, which
// many files leave empty, is accepted with a warning asking the clinician to confirm them. A PNG or
// JPEG file says nothing about what it shows: accepted with a warning that the clinician confirms
// it (`image_scope_words`). Empty lists accept anything (`localdx bundle` requires them).
// The refusals (code "out_of_scope") and the warnings (code "confirm_scope").
struct ImageScope {
    std::vector<Problem> refused, warnings;
};
ImageScope image_scope_check(const ImageInput& in, ImageFormat format, const Pixels& pixels);
// "synthetic radiographs (modality OT), body part CHEST, view PA": what the model takes.
std::string image_scope_words(const ImageInput& in);

// Per image: the mean and standard deviation of all the tensor's values.
struct TensorStatistics {
    double mean = 0, std = 0;
};
TensorStatistics tensor_statistics(const Tensor& t);
// How far outside the training range a statistic may fall before the image is called unlike the
// training images: this many standard deviations (over the training images) beyond their minimum
// or maximum.
inline constexpr double kTrainingMarginSd = 2.0;
// A warning ("unlike_training") when the tensor's mean or standard deviation falls outside the
// training range widened by kTrainingMarginSd; nothing when it does not or the schema has no
// training statistics.
std::optional<Problem> image_unlike_training(const ImageInput& in, const Tensor& t);

}  // namespace ldx
