// server/imaging/raster.h — PNG and JPEG files as pixels, natively (libpng, libjpeg-turbo).
//
// The browser decodes these with its own decoders (which use the same libraries' algorithms);
// the CLI uses these, so that `localdx preprocess` sees what the page sees. 8-bit PNG (grey, RGB,
// palette; alpha ignored) and 8-bit JPEG (grey, YCbCr/RGB). An image whose three channels are
// equal everywhere is grey (one channel), as radiographs saved as RGB are.
#pragma once
#include <string_view>

#include "base/error.h"
#include "imaging/image_input.h"

namespace ldx {

Result<Pixels> png_decode(std::string_view bytes);
Result<Pixels> jpeg_decode(std::string_view bytes);

// Any of the three, told apart by image_format_sniff (imaging/image_input.h); `frame` (0-based) of a multi-frame DICOM.
Result<Pixels> image_file_decode(std::string_view bytes, int frame = 0);

}  // namespace ldx
