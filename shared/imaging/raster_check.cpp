// shared/imaging/raster_check.cpp — see raster_check.h.
//
// Index of this file
//   [SECTION] The image size limit
//   [SECTION] The working memory limit
//   [SECTION] PNG
//   [SECTION] JPEG
//   [SECTION] Entry point
#include "imaging/raster_check.h"

#include <algorithm>
#include <array>

#include "imaging/image_input.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] The image size limit
//-----------------------------------------------------------------------------
std::optional<std::string> image_size_refusal(int64_t width, int64_t height) {
    if (width >= 1 && height >= 1 && width <= kMaxImageSide && height <= kMaxImageSide &&
        width * height <= kMaxImagePixels)
        return std::nullopt;
    return "the image is " + std::to_string(width) + " x " + std::to_string(height) + " pixels; images of 1 to " +
           std::to_string(kMaxImageSide) + " pixels per side, " + std::to_string(kMaxImagePixels) + " in all, are read";
}

//-----------------------------------------------------------------------------
// [SECTION] The working memory limit
//-----------------------------------------------------------------------------
int64_t image_working_bytes(const ImageFootprint& f) {
    const int64_t pixels = std::max<int64_t>(f.width, 0) * std::max<int64_t>(f.height, 0);
    return std::max<int64_t>(f.file_bytes, 0) + pixels * f.file_channels * f.sample_bytes +
           pixels * f.tensor_channels * int64_t{8};
}

namespace {
// Tenths of a gigabyte (10^9) as words: 26 -> "2.6 GB".
std::string gigabytes(int64_t tenths) {
    return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " GB";
}
}  // namespace

std::optional<Problem> image_memory_refusal(const ImageFootprint& f) {
    const int64_t need = image_working_bytes(f);
    if (need <= kImageWorkingBudget) return std::nullopt;
    // The size suggested: both sides halved until the image (its file shrinking with its area) fits;
    // none when even one pixel would not (the file's other bytes alone are over the limit).
    ImageFootprint smaller = f;
    while (image_working_bytes(smaller) > kImageWorkingBudget && (smaller.width > 1 || smaller.height > 1)) {
        smaller.width = (smaller.width + 1) / 2;
        smaller.height = (smaller.height + 1) / 2;
        smaller.file_bytes /= 4;
    }
    const std::string advice = image_working_bytes(smaller) <= kImageWorkingBudget
                                   ? "Export it at a smaller size (" + std::to_string(smaller.width) + " x " +
                                         std::to_string(smaller.height) + " pixels fits) and open it again."
                                   : "Export it again without the data other than its pixels, or at a smaller size.";
    // The need to the nearest tenth, the limit rounded down, and the need never shown at or under
    // the limit it is refused for.
    const int64_t limit_tenths = kImageWorkingBudget / 100'000'000;
    const int64_t need_tenths = std::max((need + 50'000'000) / 100'000'000, limit_tenths + 1);
    return problem("image_too_large",
                   "This image is too large to prepare on this device: " + std::to_string(f.width) + " x " +
                       std::to_string(f.height) + " pixels in " + (f.file_channels == 1 ? "grey" : "colour") +
                       " need about " + gigabytes(need_tenths) + " while it is prepared; the limit is " +
                       gigabytes(limit_tenths) + ". " + advice,
                   "image");
}

namespace {
Problem bad(std::string_view format, const std::string& why) {
    return problem("bad_image", "This " + std::string(format) + " file cannot be read: " + why + ".");
}

uint32_t big_endian(std::string_view b, size_t at, size_t n) {
    uint32_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
    return v;
}

//-----------------------------------------------------------------------------
// [SECTION] PNG
//-----------------------------------------------------------------------------
// CRC-32 of ISO 3309 (PNG's chunk checksum), over the chunk's type and data.
constexpr std::array<uint32_t, 256> kCrcTable = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t n = 0; n < 256; ++n) {
        uint32_t c = n;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        t[n] = c;
    }
    return t;
}();

uint32_t crc32(std::string_view b) {
    uint32_t c = 0xffffffffu;
    for (const char ch : b) c = kCrcTable[(c ^ static_cast<unsigned char>(ch)) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

std::optional<Problem> png_refusal(std::string_view b) {
    // Signature (8 bytes), then chunks: length (4), type (4), data, CRC (4).
    size_t at = 8;
    bool first = true;
    while (true) {
        if (at == b.size()) return bad("PNG", "it ends early (it has no IEND chunk)");
        if (b.size() - at < 12) return bad("PNG", "it ends early (its last chunk is cut off)");
        const uint32_t length = big_endian(b, at, 4);
        const std::string type(b.substr(at + 4, 4));
        if (length > b.size() - at - 12) return bad("PNG", "it ends early (its " + type + " chunk is cut off)");
        if (crc32(b.substr(at + 4, 4 + size_t{length})) != big_endian(b, at + 8 + length, 4))
            return bad("PNG", "its " + type + " chunk is damaged (its checksum is wrong)");
        if (first) {
            if (type != "IHDR" || length != 13) return bad("PNG", "it does not start with its header (IHDR)");
            if (auto size = image_size_refusal(big_endian(b, at + 8, 4), big_endian(b, at + 12, 4)))
                return bad("PNG", *size);
            if (static_cast<unsigned char>(b[at + 16]) == 16)
                return problem("unsupported_image",
                               "This PNG file has 16-bit samples, which a browser reads as 8-bit: save it as DICOM, "
                               "or as an 8-bit PNG.");
            first = false;
        }
        if (type == "IEND") return std::nullopt;
        at += 12 + size_t{length};
    }
}

//-----------------------------------------------------------------------------
// [SECTION] JPEG
//-----------------------------------------------------------------------------
std::optional<Problem> jpeg_refusal(std::string_view b) {
    const auto early = [] { return bad("JPEG", "it ends early (it has no end of image marker)"); };
    size_t at = 2;  // after SOI
    bool frame = false;
    while (true) {
        // A marker: FF (any number of fill bytes FF), then its code.
        if (at >= b.size() || static_cast<unsigned char>(b[at]) != 0xff) {
            if (at >= b.size()) return early();
            return bad("JPEG", "it is damaged (a segment does not start with a marker)");
        }
        while (at < b.size() && static_cast<unsigned char>(b[at]) == 0xff) ++at;
        if (at >= b.size()) return early();
        const unsigned code = static_cast<unsigned char>(b[at++]);
        if (code == 0xd9) return frame ? std::nullopt : std::optional(bad("JPEG", "it has no image (no frame header)"));
        if (code == 0x01 || (code >= 0xd0 && code <= 0xd7)) continue;  // TEM, RSTn: no length
        if (b.size() - at < 2) return early();
        const uint32_t length = big_endian(b, at, 2);
        if (length < 2) return bad("JPEG", "it is damaged (a segment's length is wrong)");
        if (length > b.size() - at) return early();
        const bool sof = code >= 0xc0 && code <= 0xcf && code != 0xc4 && code != 0xc8 && code != 0xcc;
        if (sof) {
            if (length < 8) return bad("JPEG", "it is damaged (its frame header is too short)");
            // Precision (1), height (2), width (2).
            if (auto size = image_size_refusal(big_endian(b, at + 5, 2), big_endian(b, at + 3, 2)))
                return bad("JPEG", *size);
            frame = true;
        }
        at += length;
        if (code != 0xda) continue;
        // Entropy-coded data after SOS: up to the next marker other than a stuffed FF 00 or RSTn.
        while (true) {
            while (at < b.size() && static_cast<unsigned char>(b[at]) != 0xff) ++at;
            if (b.size() - at < 2) return early();
            const unsigned next = static_cast<unsigned char>(b[at + 1]);
            if (next == 0x00 || (next >= 0xd0 && next <= 0xd7) || next == 0xff) {
                at += next == 0xff ? 1 : 2;
                continue;
            }
            break;
        }
    }
}
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] Entry point
//-----------------------------------------------------------------------------
std::optional<Problem> raster_file_refusal(std::string_view bytes) {
    switch (image_format_sniff(bytes)) {
        case ImageFormat::png:
            return png_refusal(bytes);
        case ImageFormat::jpeg:
            return jpeg_refusal(bytes);
        case ImageFormat::dicom:
            break;
    }
    return std::nullopt;
}

}  // namespace ldx
