// server/imaging/raster.cpp — see raster.h.
//
// Index of this file
//   [SECTION] Grey detection
//   [SECTION] PNG
//   [SECTION] JPEG
#include "imaging/raster.h"

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "imaging/dicom.h"
#include "imaging/image_model.h"

#include <jpeglib.h>
#include <png.h>

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Grey detection
//-----------------------------------------------------------------------------
namespace {
// Interleaved RGB bytes to Pixels (the browser's path does the same with RGBA).
Result<Pixels> from_rgb(const std::vector<unsigned char>& rgb, int width, int height) {
    return pixels_from_interleaved(rgb, width, height, 3);
}

Problem bad_image(const std::string& format, const std::string& why) {
    return problem("bad_image", "This " + format + " file cannot be read: " + why + ".");
}
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] PNG
//-----------------------------------------------------------------------------
Result<Pixels> png_decode(std::string_view bytes) {
    // IHDR is the first chunk: width, height, bit depth (byte 24), colour type (byte 25).
    if (bytes.size() < 33 || image_format_sniff(bytes) != ImageFormat::png)
        return bad_image("PNG", "it is not a PNG file");
    if (static_cast<unsigned char>(bytes[24]) == 16)
        return problem(
            "unsupported_image",
            "This PNG file has 16-bit samples, which a browser reads as 8-bit: save it as DICOM, or as an 8-bit PNG.");
    png_image image;
    std::memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()))
        return bad_image("PNG", std::string("it is damaged (") + image.message + ")");
    if (image.width < 1 || image.height < 1 || image.width > 16384 || image.height > 16384) {
        png_image_free(&image);
        return bad_image("PNG", "its size " + std::to_string(image.width) + " x " + std::to_string(image.height) +
                                    " is outside 1 to 16384 pixels per side");
    }
    image.format = PNG_FORMAT_RGB;  // 8-bit: the file's values as they are; alpha dropped
    std::vector<unsigned char> rgb(PNG_IMAGE_SIZE(image));
    const png_color black{0, 0, 0};
    if (!png_image_finish_read(&image, &black, rgb.data(), 0, nullptr)) {
        const std::string why = image.message;
        png_image_free(&image);
        return bad_image("PNG", "it is damaged or ends early (" + why + ")");
    }
    return from_rgb(rgb, static_cast<int>(image.width), static_cast<int>(image.height));
}

//-----------------------------------------------------------------------------
// [SECTION] JPEG
//-----------------------------------------------------------------------------
namespace {
struct JpegError {
    jpeg_error_mgr mgr;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

void jpeg_fail(j_common_ptr info) {
    auto* e = reinterpret_cast<JpegError*>(info->err);
    info->err->format_message(info, e->message);
    std::longjmp(e->jump, 1);
}

// Only plain data lives in this frame across setjmp: the caller owns the vector.
bool jpeg_read(std::string_view bytes, std::vector<unsigned char>& rgb, int& width, int& height, JpegError& err) {
    jpeg_decompress_struct info;
    info.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jpeg_fail;
    err.message[0] = 0;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&info);
        return false;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()));
    jpeg_read_header(&info, TRUE);
    info.out_color_space = JCS_RGB;
    jpeg_start_decompress(&info);
    if (info.output_width < 1 || info.output_height < 1 || info.output_width > 16384 || info.output_height > 16384 ||
        info.output_components != 3) {
        std::snprintf(err.message, sizeof err.message, "its size or colour form is not one this device reads");
        jpeg_destroy_decompress(&info);
        return false;
    }
    width = static_cast<int>(info.output_width);
    height = static_cast<int>(info.output_height);
    rgb.resize(static_cast<size_t>(width) * static_cast<size_t>(height) * 3);
    while (info.output_scanline < info.output_height) {
        unsigned char* row = rgb.data() + static_cast<size_t>(info.output_scanline) * static_cast<size_t>(width) * 3;
        jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);
    // libjpeg fills what a damaged or truncated file lacks with grey and only warns: such an image
    // is refused, never scored as if it were whole.
    const long warnings = info.err->num_warnings;
    jpeg_destroy_decompress(&info);
    if (warnings > 0) {
        std::snprintf(err.message, sizeof err.message, "it ends early or part of it is damaged");
        return false;
    }
    return true;
}
}  // namespace

Result<Pixels> jpeg_decode(std::string_view bytes) {
    if (image_format_sniff(bytes) != ImageFormat::jpeg) return bad_image("JPEG", "it is not a JPEG file");
    std::vector<unsigned char> rgb;
    int width = 0, height = 0;
    JpegError err;
    if (!jpeg_read(bytes, rgb, width, height, err))
        return bad_image("JPEG", std::string("it is damaged (") + err.message + ")");
    return from_rgb(rgb, width, height);
}

Result<Pixels> image_file_decode(std::string_view bytes, int frame) {
    switch (image_format_sniff(bytes)) {
        case ImageFormat::png:
            return png_decode(bytes);
        case ImageFormat::jpeg:
            return jpeg_decode(bytes);
        case ImageFormat::dicom:
            break;
    }
    return dicom_decode(bytes, frame);
}

}  // namespace ldx
