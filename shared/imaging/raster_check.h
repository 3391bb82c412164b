// shared/imaging/raster_check.h — a PNG or JPEG file's structure checked before any decoder reads it.
//
// Index of this file
//   [SECTION] The image size limit (every format)
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
