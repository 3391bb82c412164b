// shared/imaging/preprocess.h — decoded pixels to the tensor an imaging model reads.
//
// One implementation for the CLI (`localdx preprocess`) and the browser. In order:
//   1. modality rescale: value = stored * slope + intercept (DICOM; 1 and 0 otherwise);
//   2. channels: RGB to grey as 0.299 R + 0.587 G + 0.114 B, grey to RGB by repeating it;
//   3. intensity to [0, 1], clamped: window (v - (center - width / 2)) / width, range
//      (v - min) / (max - min), or the image's own minimum and maximum;
//   4. MONOCHROME1 inverted (1 - v), so that dense tissue is bright in every tensor;
//   5. resize to the tensor's height and width (imaging/image_input.h, ResizeFilter);
//   6. normalise each channel: (v - mean) / std.
// Computed in double, stored as float32 (NCHW, N = 1).
#pragma once
#include "base/error.h"
#include "imaging/image_input.h"
#include "imaging/raster_check.h"  // kMaxImageSide, kMaxImagePixels

namespace ldx {

Result<Tensor> image_tensor(const ImageInput& spec, const Pixels& pixels);

// The working memory check (imaging/raster_check.h, image_memory_refusal) for a decoded image,
// before image_tensor and image_display: the file held meanwhile counts as its size for DICOM
// (`file_bytes`) and as 4 bytes a pixel for PNG and JPEG (the browser's RGBA, which it holds in
// the file's stead), so the CLI and the browser give the same figures for the same file.
std::optional<Problem> image_memory_refusal(const ImageInput& spec, ImageFormat format, const Pixels& pixels,
                                            size_t file_bytes);

// What the clinician is shown: steps 1-4 (the image as the model's intensity mapping sees it,
// before resizing), as 8-bit grey, reduced by whole-pixel averaging until each side is at most
// max_side.
struct DisplayImage {
    int width = 0, height = 0;
    std::vector<uint8_t> grey;
};
Result<DisplayImage> image_display(const ImageInput& spec, const Pixels& pixels, int max_side = 1024);

}  // namespace ldx
