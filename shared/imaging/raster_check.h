// shared/imaging/raster_check.h — a PNG or JPEG file's structure checked before any decoder reads it.
//
// Index of this file
//   [SECTION] The image size limit (every format)
//   [SECTION] The working memory limit (every format, every program)
//   [SECTION] PNG and JPEG structure
//
// One check for the CLI (libpng, libjpeg) and the browser (its own image decoder), so that a
// damaged, truncated or huge file is refused with the same reason in both, before a decoder that
// would fill in what is missing (a browser shows a truncated image's first rows) reads it.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] The image size limit
//-----------------------------------------------------------------------------
// The largest image accepted, per side and in pixels (a 16k x 16k grey image is 1 GiB of 4-byte
// samples, 2 GiB where they are wider than 24 bits: imaging/image_input.h, Samples).
inline constexpr int kMaxImageSide = 16384;
inline constexpr int64_t kMaxImagePixels = int64_t{1} << 26;
// Nothing when a width x height image is within the limits; else the reason, in words
// ("the image is 20000 x 20000 pixels; images of 1 to 16384 pixels per side, 67108864 in all, are read").
std::optional<std::string> image_size_refusal(int64_t width, int64_t height);

//-----------------------------------------------------------------------------
// [SECTION] The working memory limit
//-----------------------------------------------------------------------------
// What preparing an image holds at its peak (imaging/preprocess.h, image_tensor and
// image_display): the file's bytes, the decoded samples (width x height x the file's channels x
// 4 bytes, 8 when wider than 24 bits: imaging/image_input.h, Samples) and one plane of doubles
// per tensor channel (width x height x 8 bytes each).
struct ImageFootprint {
    int64_t width = 0, height = 0;
    int file_channels = 1;    // 1 (grey) or 3 (colour)
    int sample_bytes = 4;     // 4, or 8 for samples wider than 24 bits
    int tensor_channels = 1;  // the model's (imaging/image_input.h, ImageInput::channels)
    int64_t file_bytes = 0;   // the file (or, in the browser, the page's RGBA pixels) held meanwhile
};
int64_t image_working_bytes(const ImageFootprint& f);
// The most an image may need while it is prepared: 1.5 GiB, which leaves a quarter of the
// browser's 2 GiB of wasm memory to the decoder's own copy of the pixels, the heap's gaps and
// the rest of the page's core. An 8192 x 8192 colour DICOM file (192 MiB) for a 1-channel model
// needs 1.44 GiB (accepted; its wasm heap ends at 1992.5 MiB); for a 3-channel model, 2.44 GiB.
inline constexpr int64_t kImageWorkingBudget = int64_t{3} << 29;
// Nothing when the image fits kImageWorkingBudget; else the problem "image_too_large" (field
// "image") in the clinician's words: "This image is too large to prepare on this device: 8192 x
// 8192 pixels in colour need about 2.6 GB while it is prepared; the limit is 1.6 GB. Export it at
// a smaller size (4096 x 4096 pixels fits) and open it again." The same words from the CLI and
// the browser.
std::optional<Problem> image_memory_refusal(const ImageFootprint& f);

//-----------------------------------------------------------------------------
// [SECTION] PNG and JPEG structure
//-----------------------------------------------------------------------------
// Nothing when the file's structure is whole; else the problem "bad_image" ("This PNG file cannot
// be read: it ends early (its IDAT chunk is cut off).") or "unsupported_image" (16-bit PNG).
// PNG: the IHDR chunk first (size limit, 16-bit samples refused), every chunk inside the file with
// its CRC right, and IEND. JPEG: every segment inside the file, the frame header's size within the
// limit, and the entropy-coded data ending with the EOI marker. DICOM files are not checked here
// (imaging/dicom.h reads them).
std::optional<Problem> raster_file_refusal(std::string_view bytes);

}  // namespace ldx
