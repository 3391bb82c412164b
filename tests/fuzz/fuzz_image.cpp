// Fuzz target: the image header path — any bytes checked as a PNG or JPEG file's structure
// (raster_file_refusal, before any decoder) and read as a DICOM file (DCMTK's parser and decoders
// behind dicom_decode), and what decodes taken on through preprocessing to a tensor.
#include <cmath>
#include <cstdint>
#include <string_view>

#include "imaging/dicom.h"
#include "imaging/preprocess.h"
#include "imaging/raster_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const ldx::ImageInput spec = [] {
        ldx::ImageInput im;
        im.formats = {ldx::ImageFormat::dicom};
        im.height = 16;
        im.width = 16;
        im.intensity = ldx::IntensityKind::window;
        im.window_center = 40;
        im.window_width = 400;
        return im;
    }();
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    if (auto refused = ldx::raster_file_refusal(bytes); refused && refused->message.empty()) __builtin_trap();
    auto pixels = ldx::dicom_decode(bytes, 0);
    if (!pixels) {
        if (pixels.error().message.empty()) __builtin_trap();  // every refusal says why
        return 0;
    }
    auto t = ldx::image_tensor(spec, *pixels);
    if (t)
        for (const float v : t->data)
            if (!std::isfinite(v)) __builtin_trap();  // a tensor is finite, whatever the file says
    return 0;
}
