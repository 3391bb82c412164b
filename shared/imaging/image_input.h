// shared/imaging/image_input.h — an imaging task's input: the files it takes, the tensor its model
// reads, and the preprocessing between them.
//
// Index of this file
//   [SECTION] Image input (schema key "image")
//   [SECTION] Decoded pixels
//   [SECTION] Tensor
//
// The schema describes the preprocessing; imaging/preprocess.h implements it, once, for the CLI
// (`localdx preprocess`) and the browser. A data scientist checks it against their training
// pipeline with the tensor `localdx preprocess` writes.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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

struct ImageInput {
    std::string label = "Image";                  // what the clinician reads ("Chest radiograph")
    std::vector<std::string> modalities;          // DICOM Modality values accepted ("DX", "CR"); empty: any
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

//-----------------------------------------------------------------------------
// [SECTION] Decoded pixels
//-----------------------------------------------------------------------------
// One frame of an image as its file stores it. DICOM: stored values (BitsStored, sign applied),
// with the modality rescale kept beside them; PNG/JPEG: 0-255 (or 0-65535 for 16-bit PNG).
struct Pixels {
    int width = 0, height = 0;
    int channels = 1;                             // 1 (grey) or 3 (RGB)
    std::vector<float> values;                    // row by row, channels interleaved (height x width x channels)
    double slope = 1, intercept = 0;              // modality rescale: value = stored * slope + intercept
    bool monochrome1 = false;                     // MONOCHROME1: higher values are darker
    std::optional<std::array<double, 2>> window;  // the file's first VOI window (center, width)
    int frames = 1;                               // frames in the file; values hold the one chosen
    // What a clinician may see of the header: nothing that names or dates the patient.
    std::string modality, body_part, view;
};

//-----------------------------------------------------------------------------
// [SECTION] Tensor
//-----------------------------------------------------------------------------
struct Tensor {
    std::array<int64_t, 4> shape{};  // N, C, H, W
    std::vector<float> data;         // row-major in that order
};

// The tensor as a NumPy .npy file (format 1.0, little-endian float32, C order).
std::string tensor_npy(const Tensor& t);

}  // namespace ldx
