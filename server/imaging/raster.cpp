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
#include "imaging/raster_check.h"

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
    if (image_format_sniff(bytes) != ImageFormat::png) return bad_image("PNG", "it is not a PNG file");
    // The browser's check (chunks, CRCs, IEND, size, 16-bit samples): the same reason in both.
    if (auto refused = raster_file_refusal(bytes)) return *refused;
    png_image image;
    std::memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()))
        return bad_image("PNG", std::string("it is damaged (") + image.message + ")");
    if (auto size = image_size_refusal(image.width, image.height)) {
        png_image_free(&image);
        return bad_image("PNG", *size);
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
    err.mgr.output_message = [](j_common_ptr) {};  // warnings are counted below, not printed
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
    if (image_size_refusal(info.output_width, info.output_height) || info.output_components != 3) {
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
    if (auto refused = raster_file_refusal(bytes)) return *refused;
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
