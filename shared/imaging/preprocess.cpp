// shared/imaging/preprocess.cpp — see preprocess.h.
//
// Index of this file
//   [SECTION] Checks
//   [SECTION] Intensity
//   [SECTION] Resizing
//   [SECTION] Entry point, .npy and samples
#include "imaging/preprocess.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <span>
#include <string_view>

namespace ldx {

namespace {
//-----------------------------------------------------------------------------
// [SECTION] Checks
//-----------------------------------------------------------------------------
std::optional<Problem> check_pixels(const Pixels& p) {
    if (auto size = image_size_refusal(p.width, p.height)) return problem("bad_image", *size);
    if (p.channels != 1 && p.channels != 3)
        return problem("bad_image",
                       "the image has " + std::to_string(p.channels) + " channels; 1 (grey) or 3 (RGB) are read");
    if (p.values.size() !=
        static_cast<size_t>(p.width) * static_cast<size_t>(p.height) * static_cast<size_t>(p.channels))
        return problem("bad_image", "the image's pixel data does not match its size");
    if (!std::isfinite(p.slope) || p.slope == 0 || !std::isfinite(p.intercept))
        return problem("bad_image", "the image's rescale slope or intercept is not a usable number");
    return std::nullopt;
}

//-----------------------------------------------------------------------------
// [SECTION] Intensity
//-----------------------------------------------------------------------------
// Steps 1-4 of preprocess.h: one plane per tensor channel, values in [0, 1].
std::vector<std::vector<double>> unit_planes(const ImageInput& spec, const Pixels& p) {
    const size_t n = static_cast<size_t>(p.width) * static_cast<size_t>(p.height);
    const size_t pc = static_cast<size_t>(p.channels);
    std::vector<std::vector<double>> planes(static_cast<size_t>(spec.channels), std::vector<double>(n));
    p.values.visit([&](const auto& values) {
        for (size_t i = 0; i < n; ++i) {
            const auto* px = values.data() + i * pc;
            auto at = [&](size_t c) { return static_cast<double>(px[c]) * p.slope + p.intercept; };
            if (spec.channels == 1) {
                planes[0][i] = pc == 1 ? at(0) : 0.299 * at(0) + 0.587 * at(1) + 0.114 * at(2);
            } else {
                for (size_t c = 0; c < 3; ++c) planes[c][i] = at(pc == 1 ? 0 : c);
            }
        }
    });
    double lo = 0, width = 1;
    if (spec.intensity == IntensityKind::window) {
        const bool from_file = spec.window_from_file && p.window && (*p.window)[1] > 0;
        const double center = from_file ? (*p.window)[0] : spec.window_center;
        width = from_file ? (*p.window)[1] : spec.window_width;
        lo = center - width / 2;
    } else if (spec.intensity == IntensityKind::range) {
        lo = spec.range_min;
        width = spec.range_max - spec.range_min;
    } else {
        double mn = INFINITY, mx = -INFINITY;
        for (const auto& plane : planes)
            for (const double v : plane) {
                mn = std::min(mn, v);
                mx = std::max(mx, v);
            }
        lo = mn;
        width = mx > mn ? mx - mn : 0;
    }
    for (auto& plane : planes)
        for (double& v : plane) {
            v = width > 0 ? std::clamp((v - lo) / width, 0.0, 1.0) : 0.0;
            if (p.monochrome1) v = 1 - v;
        }
    return planes;
}

//-----------------------------------------------------------------------------
// [SECTION] Resizing
//-----------------------------------------------------------------------------
// Bilinear, half-pixel centres: source coordinate (d + 0.5) * in / out - 0.5, below 0 taken as 0,
// the next sample clamped to the edge.
void resize_bilinear(const std::vector<double>& in, int iw, int ih, double* out, int ow, int oh) {
    const double sx = static_cast<double>(iw) / ow, sy = static_cast<double>(ih) / oh;
    for (int y = 0; y < oh; ++y) {
        const double fy = std::max(0.0, (y + 0.5) * sy - 0.5);
        const int y0 = std::min(static_cast<int>(fy), ih - 1), y1 = std::min(y0 + 1, ih - 1);
        const double ly = fy - y0;
        for (int x = 0; x < ow; ++x) {
            const double fx = std::max(0.0, (x + 0.5) * sx - 0.5);
            const int x0 = std::min(static_cast<int>(fx), iw - 1), x1 = std::min(x0 + 1, iw - 1);
            const double lx = fx - x0;
            auto v = [&](int yy, int xx) {
                return in[static_cast<size_t>(yy) * static_cast<size_t>(iw) + static_cast<size_t>(xx)];
            };
            out[static_cast<size_t>(y) * static_cast<size_t>(ow) + static_cast<size_t>(x)] =
                (1 - ly) * ((1 - lx) * v(y0, x0) + lx * v(y0, x1)) + ly * ((1 - lx) * v(y1, x0) + lx * v(y1, x1));
        }
    }
}

// Area: output cell d averages the input cells floor(d * in / out) to ceil((d + 1) * in / out) - 1.
void resize_area(const std::vector<double>& in, int iw, int ih, double* out, int ow, int oh) {
    auto start = [](int d, int n_in, int n_out) { return static_cast<int>((int64_t{d} * n_in) / n_out); };
    auto end = [](int d, int n_in, int n_out) { return static_cast<int>((int64_t{d + 1} * n_in + n_out - 1) / n_out); };
    for (int y = 0; y < oh; ++y) {
        const int y0 = start(y, ih, oh), y1 = end(y, ih, oh);
        for (int x = 0; x < ow; ++x) {
            const int x0 = start(x, iw, ow), x1 = end(x, iw, ow);
            double sum = 0;
            for (int yy = y0; yy < y1; ++yy)
                for (int xx = x0; xx < x1; ++xx)
                    sum += in[static_cast<size_t>(yy) * static_cast<size_t>(iw) + static_cast<size_t>(xx)];
            out[static_cast<size_t>(y) * static_cast<size_t>(ow) + static_cast<size_t>(x)] =
                sum / static_cast<double>((y1 - y0) * (x1 - x0));
        }
    }
}
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] Entry point, .npy and samples
//-----------------------------------------------------------------------------
Result<Tensor> image_tensor(const ImageInput& spec, const Pixels& pixels) {
    if (auto bad = check_pixels(pixels)) return *bad;
    const std::vector<std::vector<double>> planes = unit_planes(spec, pixels);
    const size_t plane = static_cast<size_t>(spec.height) * static_cast<size_t>(spec.width);
    std::vector<double> resized(plane);
    Tensor t;
    t.shape = {1, spec.channels, spec.height, spec.width};
    t.data.resize(plane * planes.size());
    for (size_t c = 0; c < planes.size(); ++c) {
        if (spec.filter == ResizeFilter::bilinear)
            resize_bilinear(planes[c], pixels.width, pixels.height, resized.data(), spec.width, spec.height);
        else resize_area(planes[c], pixels.width, pixels.height, resized.data(), spec.width, spec.height);
        const double mean = spec.mean[c], sd = spec.std[c];
        for (size_t i = 0; i < plane; ++i) t.data[c * plane + i] = static_cast<float>((resized[i] - mean) / sd);
    }
    return t;
}

std::optional<Problem> image_memory_refusal(const ImageInput& spec, ImageFormat format, const Pixels& pixels,
                                            size_t file_bytes) {
    ImageFootprint f;
    f.width = pixels.width;
    f.height = pixels.height;
    f.file_channels = pixels.channels;
    f.sample_bytes = pixels.values.wide() ? 8 : 4;
    f.tensor_channels = spec.channels;
    f.file_bytes = format == ImageFormat::dicom ? static_cast<int64_t>(file_bytes) : f.width * f.height * 4;
    return image_memory_refusal(f);
}

Result<DisplayImage> image_display(const ImageInput& spec, const Pixels& pixels, int max_side) {
    if (auto bad = check_pixels(pixels)) return *bad;
    const std::vector<std::vector<double>> planes = unit_planes(spec, pixels);
    int factor = 1;
    while ((pixels.width + factor - 1) / factor > max_side || (pixels.height + factor - 1) / factor > max_side)
        ++factor;
    DisplayImage d;
    d.width = (pixels.width + factor - 1) / factor;
    d.height = (pixels.height + factor - 1) / factor;
    d.grey.resize(static_cast<size_t>(d.width) * static_cast<size_t>(d.height));
    for (int y = 0; y < d.height; ++y)
        for (int x = 0; x < d.width; ++x) {
            double sum = 0;
            int n = 0;
            for (int yy = y * factor; yy < std::min(pixels.height, (y + 1) * factor); ++yy)
                for (int xx = x * factor; xx < std::min(pixels.width, (x + 1) * factor); ++xx)
                    for (const auto& plane : planes) {
                        sum += plane[static_cast<size_t>(yy) * static_cast<size_t>(pixels.width) +
                                     static_cast<size_t>(xx)];
                        ++n;
                    }
            d.grey[static_cast<size_t>(y) * static_cast<size_t>(d.width) + static_cast<size_t>(x)] =
                static_cast<uint8_t>(std::lround(255 * sum / n));
        }
    return d;
}

namespace {
// A .npy file (format 1.0, C order) of `count` little-endian values, whatever the host: float32
// ("<f4") or float64 ("<f8") as T is (each of `values` converted to T, exactly: T is as wide).
template <class T, class Bits, class From>
std::string npy_file(std::span<const int64_t> shape, const From* values, size_t count) {
    static_assert(sizeof(T) == sizeof(Bits));
    std::string dict =
        std::string("{'descr': '<f") + std::to_string(sizeof(T)) + "', 'fortran_order': False, 'shape': (";
    for (size_t i = 0; i < shape.size(); ++i) dict += std::to_string(shape[i]) + (i + 1 < shape.size() ? ", " : "");
    dict += "), }";
    const size_t unpadded = 10 + dict.size() + 1;  // magic, version, length, dict, newline
    dict.append((64 - unpadded % 64) % 64, ' ');
    dict += '\n';
    std::string out = "\x93NUMPY";
    out += '\x01';
    out += '\x00';
    out += static_cast<char>(dict.size() & 0xff);
    out += static_cast<char>(dict.size() >> 8);
    out += dict;
    const size_t at = out.size();
    out.resize(at + count * sizeof(T));
    for (size_t i = 0; i < count; ++i) {
        const T value = static_cast<T>(values[i]);
        Bits bits;
        std::memcpy(&bits, &value, sizeof bits);
        for (size_t b = 0; b < sizeof(T); ++b)
            out[at + sizeof(T) * i + b] = static_cast<char>((bits >> (8 * b)) & 0xff);
    }
    return out;
}
}  // namespace

std::string tensor_npy(const Tensor& t) { return npy_file<float, uint32_t>(t.shape, t.data.data(), t.data.size()); }

std::string pixels_npy(const Pixels& p) {
    const std::array<int64_t, 4> shape{1, p.height, p.width, p.channels};
    return p.values.visit(
        [&](const auto& values) { return npy_file<double, uint64_t>(shape, values.data(), values.size()); });
}

Samples::Samples(size_t count, int bits) {
    if (bits > kFloatExactBits) v_ = std::vector<double>(count);
    else v_ = std::vector<float>(count);
}

size_t Samples::size() const {
    return visit([](const auto& v) { return v.size(); });
}

size_t Samples::storage_bytes() const {
    return visit([](const auto& v) { return v.capacity() * sizeof(v[0]); });
}

std::vector<double> Samples::doubles() const {
    return visit([](const auto& v) { return std::vector<double>(v.begin(), v.end()); });
}

bool ImageInput::accepts(ImageFormat f) const { return std::find(formats.begin(), formats.end(), f) != formats.end(); }

ImageFormat image_format_sniff(std::string_view b) {
    if (b.size() >= 8 && b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) return ImageFormat::png;
    if (b.size() >= 3 && static_cast<unsigned char>(b[0]) == 0xff && static_cast<unsigned char>(b[1]) == 0xd8 &&
        static_cast<unsigned char>(b[2]) == 0xff)
        return ImageFormat::jpeg;
    return ImageFormat::dicom;
}

std::optional<Problem> image_format_refusal(const ImageInput& in, ImageFormat format) {
    if (in.accepts(format)) return std::nullopt;
    const auto words = [](ImageFormat f) -> std::string {
        return f == ImageFormat::dicom ? "DICOM" : f == ImageFormat::png ? "PNG" : "JPEG";
    };
    std::string takes;
    for (size_t i = 0; i < in.formats.size(); ++i)
        takes += (i == 0 ? "" : i + 1 == in.formats.size() ? " or " : ", ") + words(in.formats[i]);
    const std::string is = format == ImageFormat::dicom ? "is not a PNG or JPEG image (it may be a DICOM file)"
                                                        : "is a " + words(format) + " image";
    return problem("unsupported_image", "This model reads " + takes + " files only; this file " + is + ".", "image");
}

const char* image_format_name(ImageFormat f) {
    switch (f) {
        case ImageFormat::dicom:
            return "dicom";
        case ImageFormat::png:
            return "png";
        case ImageFormat::jpeg:
            return "jpeg";
    }
    return "?";
}

}  // namespace ldx
