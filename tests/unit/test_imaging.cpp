// tests/unit/test_imaging.cpp — the image input of a schema, preprocessing to the model's tensor
// (against values worked out by hand), the .npy writer, and DICOM decoding of damaged files.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "drift/image_descriptors.h"
#include "imaging/dicom.h"
#include "imaging/image_model.h"
#include "imaging/preprocess.h"
#include "imaging/raster_check.h"
#include "schema/schema.h"
#include "support.h"

using namespace ldx;

namespace {
const char* kImageSchema = R"({"task": "chest-demo", "title": "Opacity on a radiograph",
  "outputs": {"kind": "binary", "column": "y", "positive": "1",
              "classes": [{"name": "0", "label": "No opacity"}, {"name": "1", "label": "Opacity"}]},
  "image": {"label": "Chest radiograph", "modalities": ["DX", "CR"], "formats": ["dicom", "png"],
            "tensor": {"name": "image", "layout": "NCHW", "channels": 1, "height": 64, "width": 48},
            "preprocess": {"intensity": {"kind": "window", "center": 40, "width": 400, "from_file": false},
                           "resize": "area", "mean": [0.5], "std": [0.25]}}})";

Json image_schema() { return Json::parse(kImageSchema); }

std::string paths_of(const Result<Schema>& r) {
    std::string s;
    for (const Problem& p : r.problems()) s += p.field + " ";
    return s;
}

Pixels grey(int w, int h, std::vector<double> v) {
    Pixels p;
    p.width = w;
    p.height = h;
    p.values = Samples(std::move(v));
    return p;
}

ImageInput spec(int h, int w, ResizeFilter f = ResizeFilter::bilinear) {
    ImageInput im;
    im.formats = {ImageFormat::png};
    im.height = h;
    im.width = w;
    im.filter = f;
    im.intensity = IntensityKind::range;
    im.range_min = 0;
    im.range_max = 100;
    return im;
}
}  // namespace

TEST(Imaging, ASchemaWithAnImageAndNoFieldsParsesAndRoundTrips) {
    auto s = schema_from_json(image_schema());
    ASSERT_TRUE(s) << s.error().describe();
    ASSERT_TRUE(s->image);
    EXPECT_TRUE(s->fields.empty());
    EXPECT_EQ(s->image->height, 64);
    EXPECT_EQ(s->image->width, 48);
    EXPECT_EQ(s->image->filter, ResizeFilter::area);
    EXPECT_EQ(s->image->intensity, IntensityKind::window);
    EXPECT_FALSE(s->image->window_from_file);
    EXPECT_TRUE(s->image->accepts(ImageFormat::dicom));
    EXPECT_FALSE(s->image->accepts(ImageFormat::jpeg));
    auto again = schema_from_json(schema_to_json(*s));
    ASSERT_TRUE(again) << again.error().describe();
    EXPECT_EQ(schema_to_json(*again), schema_to_json(*s));
}

TEST(Imaging, EveryBadImageKeyIsNamedByItsPath) {
    Json j = image_schema();
    j["image"]["tensor"]["layout"] = "NHWC";
    j["image"]["tensor"]["channels"] = 2;
    j["image"]["preprocess"]["std"] = Json::array({0.0});
    j["image"]["preprocess"]["resize"] = "lanczos";
    j["image"]["formats"] = Json::array({"tiff"});
    j["image"]["colour"] = true;
    auto r = schema_from_json(j);
    ASSERT_FALSE(r);
    const std::string paths = paths_of(r);
    for (const char* p : {"image.tensor.layout", "image.tensor.channels", "image.preprocess.std",
                          "image.preprocess.resize", "image.formats[0]", "image"})
        EXPECT_NE(paths.find(p), std::string::npos) << p << " not named in: " << paths;
    Json k = image_schema();
    k["image"]["preprocess"]["intensity"] = {{"kind", "window"}, {"center", 40}, {"width", 0}};
    EXPECT_NE(paths_of(schema_from_json(k)).find("image.preprocess.intensity.width"), std::string::npos);
    Json m = image_schema();
    m["image"]["preprocess"]["mean"] = Json::array({0.5, 0.5, 0.5});  // three means for one channel
    EXPECT_NE(paths_of(schema_from_json(m)).find("image.preprocess.mean"), std::string::npos);
}

TEST(Imaging, AHugeChannelCountIsRefusedWithoutSizingAnythingFromIt) {
    // The fuzzer's case: a tensor of 2^28 channels once sized the mean and std arrays (2 GiB each).
    for (const int64_t channels : {int64_t{1} << 28, int64_t{4294967297}, int64_t{-3}}) {
        Json j = image_schema();
        j["image"]["tensor"]["channels"] = channels;
        j["image"]["tensor"]["height"] = int64_t{1} << 40;
        auto r = schema_from_json(j);
        ASSERT_FALSE(r) << channels;
        const std::string paths = paths_of(r);
        EXPECT_NE(paths.find("image.tensor.channels"), std::string::npos) << paths;
        EXPECT_NE(paths.find("image.tensor.height"), std::string::npos) << paths;
        EXPECT_LT(r.problems().size(), 8u) << paths;
    }
}

TEST(Imaging, ATaskWithoutAnImageStillNeedsFields) {
    Json j = image_schema();
    j.erase("image");
    auto r = schema_from_json(j);
    ASSERT_FALSE(r);
    EXPECT_NE(paths_of(r).find("fields"), std::string::npos);
}

// 2 x 2 -> 4 x 4 bilinear with half-pixel centres: output x = 0..3 samples input x = 0, 0.25,
// 0.75, 1 (the first clamped at 0), so a row 0, 100 (range 0-100 -> 0, 1) gives 0, .25, .75, 1.
TEST(Imaging, BilinearResizeUsesHalfPixelCentres) {
    auto t = image_tensor(spec(4, 4), grey(2, 2, {0, 100, 0, 100}));
    ASSERT_TRUE(t) << t.error().describe();
    EXPECT_EQ(t->shape, (std::array<int64_t, 4>{1, 1, 4, 4}));
    const float want[4] = {0, 0.25f, 0.75f, 1};
    for (int y = 0; y < 4; ++y)
        for (int x = 0; x < 4; ++x) EXPECT_FLOAT_EQ(t->data[static_cast<size_t>(4 * y + x)], want[x]) << y << "," << x;
}

// 4 x 2 -> 2 x 1 by area: each output averages a 2 x 2 block.
TEST(Imaging, AreaResizeAveragesTheCellsItCovers) {
    auto t = image_tensor(spec(2, 1, ResizeFilter::area), grey(2, 4, {0, 10, 20, 30, 40, 50, 60, 70}));
    ASSERT_TRUE(t) << t.error().describe();
    EXPECT_FLOAT_EQ(t->data[0], 0.15f);  // (0 + 10 + 20 + 30) / 4 / 100
    EXPECT_FLOAT_EQ(t->data[1], 0.55f);
    // 3 -> 2: cells [0, 2) and [1, 3) overlap in the middle one, as PyTorch's adaptive pooling.
    auto u = image_tensor(spec(1, 2, ResizeFilter::area), grey(3, 1, {0, 30, 90}));
    ASSERT_TRUE(u);
    EXPECT_FLOAT_EQ(u->data[0], 0.15f);
    EXPECT_FLOAT_EQ(u->data[1], 0.6f);
}

TEST(Imaging, RescaleWindowInversionAndNormalisationInOrder) {
    ImageInput im = spec(1, 2);
    im.intensity = IntensityKind::window;
    im.window_center = 40;
    im.window_width = 400;  // -160 .. 240
    im.mean = {0.5};
    im.std = {0.25};
    Pixels p = grey(2, 1, {1024, 1424});  // stored; Hounsfield = stored - 1024: 0 and 400
    p.intercept = -1024;
    auto t = image_tensor(im, p);
    ASSERT_TRUE(t);
    EXPECT_FLOAT_EQ(t->data[0], static_cast<float>((0.4 - 0.5) / 0.25));  // (0 + 160) / 400 = 0.4
    EXPECT_FLOAT_EQ(t->data[1], static_cast<float>((1.0 - 0.5) / 0.25));  // clamped at the top
    p.window = std::array<double, 2>{0, 100};                             // the file's own window
    im.window_from_file = true;
    p.monochrome1 = true;
    t = image_tensor(im, p);
    ASSERT_TRUE(t);
    EXPECT_FLOAT_EQ(t->data[0], static_cast<float>((0.5 - 0.5) / 0.25));  // 0.5, inverted: 0.5
    EXPECT_FLOAT_EQ(t->data[1], static_cast<float>((0.0 - 0.5) / 0.25));  // 1, inverted: 0
}

TEST(Imaging, ColourBecomesGreyWithTheStatedWeightsAndGreyBecomesThreeChannels) {
    Pixels rgb;
    rgb.width = 1;
    rgb.height = 1;
    rgb.channels = 3;
    rgb.values = Samples(std::vector<double>{100, 0, 0});
    auto t = image_tensor(spec(1, 1), rgb);
    ASSERT_TRUE(t);
    EXPECT_NEAR(t->data[0], 0.299, 1e-7);
    ImageInput three = spec(1, 1);
    three.channels = 3;
    three.mean = {0, 0.5, 0};
    three.std = {1, 1, 2};
    t = image_tensor(three, grey(1, 1, {50}));
    ASSERT_TRUE(t);
    EXPECT_EQ(t->shape, (std::array<int64_t, 4>{1, 3, 1, 1}));
    EXPECT_FLOAT_EQ(t->data[0], 0.5f);
    EXPECT_FLOAT_EQ(t->data[1], 0.0f);
    EXPECT_FLOAT_EQ(t->data[2], 0.25f);
}

TEST(Imaging, MinMaxOfAFlatImageIsZeroNotADivisionByZero) {
    ImageInput im = spec(2, 2);
    im.intensity = IntensityKind::min_max;
    auto t = image_tensor(im, grey(2, 2, {7, 7, 7, 7}));
    ASSERT_TRUE(t);
    for (const float v : t->data) EXPECT_EQ(v, 0.0f);
}

TEST(Imaging, PixelsThatDoNotMatchTheirSizeAreRefused) {
    EXPECT_FALSE(image_tensor(spec(2, 2), grey(2, 2, {1, 2, 3})));
    EXPECT_FALSE(image_tensor(spec(2, 2), grey(0, 2, {})));
    Pixels p = grey(1, 1, {1});
    p.channels = 2;
    p.values = Samples(std::vector<double>{1, 2});
    EXPECT_FALSE(image_tensor(spec(2, 2), p));
    Pixels huge = grey(kMaxImageSide + 1, 1, {});
    auto r = image_tensor(spec(2, 2), huge);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("per side"), std::string::npos);
    Pixels nan_slope = grey(1, 1, {1});
    nan_slope.slope = NAN;
    EXPECT_FALSE(image_tensor(spec(2, 2), nan_slope));
}

TEST(Imaging, NpyHeaderIsAlignedAndDescribesTheTensor) {
    Tensor t;
    t.shape = {1, 1, 2, 3};
    t.data = {0, 1, 2, 3, 4, -1.5f};
    const std::string npy = tensor_npy(t);
    ASSERT_GE(npy.size(), 10u);
    EXPECT_EQ(npy.substr(0, 6), "\x93NUMPY");
    const size_t header =
        static_cast<unsigned char>(npy[8]) | (static_cast<size_t>(static_cast<unsigned char>(npy[9])) << 8);
    EXPECT_EQ((10 + header) % 64, 0u);
    EXPECT_NE(npy.find("'shape': (1, 1, 2, 3)"), std::string::npos);
    EXPECT_NE(npy.find("'descr': '<f4'"), std::string::npos);
    ASSERT_EQ(npy.size(), 10 + header + 6 * sizeof(float));
    float last = 0;
    std::memcpy(&last, npy.data() + npy.size() - 4, 4);
    EXPECT_EQ(last, -1.5f);
}

// pydicom's files (python3-pydicom, installed by scripts/setup): every truncation of a real file
// and random damage give a reason, never a crash.
TEST(Imaging, DicomTruncatedOrDamagedIsRefusedWithAReason) {
    std::ifstream in("/usr/lib/python3/dist-packages/pydicom/data/test_files/MR_small.dcm", std::ios::binary);
    ASSERT_TRUE(in) << "python3-pydicom's test files are missing: run scripts/setup";
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string file = ss.str();
    auto whole = dicom_decode(file);
    ASSERT_TRUE(whole) << whole.error().describe();
    EXPECT_EQ(whole->width, 64);
    EXPECT_EQ(whole->modality, "MR");
    for (size_t cut = 0; cut < file.size(); cut += 97) {
        auto r = dicom_decode(std::string_view(file).substr(0, cut));
        if (r) continue;  // a cut inside trailing padding may still hold the whole image
        EXPECT_TRUE(r.error().code == "bad_dicom" || r.error().code == "unsupported_dicom") << r.error().code;
        EXPECT_NE(r.error().message.find("DICOM"), std::string::npos) << r.error().message;
    }
    std::mt19937 rng(5);
    for (int round = 0; round < 200; ++round) {
        std::string damaged = file;
        for (int k = 0; k < 8; ++k) damaged[rng() % damaged.size()] = static_cast<char>(rng());
        (void)dicom_decode(damaged);  // either reads or refuses; the sanitizers and fuzzer watch the rest
    }
    auto frame = dicom_decode(file, 3);
    ASSERT_FALSE(frame);
    EXPECT_NE(frame.error().message.find("frame"), std::string::npos);
}

// PNG and JPEG files are checked whole before any decoder reads them (imaging/raster_check.h), by
// the CLI and the browser alike: cut short, a chunk damaged (zlib's CRC-32 disagrees), a header
// claiming more pixels than are read, 16-bit samples; a DICOM header claiming too many pixels too.
TEST(ImageFiles, DamagedTruncatedOrHugePngAndJpegFilesAreRefusedWithTheirReason) {
    const std::string png = test::tiny_png(), jpeg = test::tiny_jpeg();
    EXPECT_FALSE(raster_file_refusal(png));
    EXPECT_FALSE(raster_file_refusal(jpeg));
    auto message = [](std::string_view b) {
        auto r = raster_file_refusal(b);
        return r ? r->message : std::string("(read)");
    };
    for (size_t cut = 8; cut < png.size(); ++cut) {
        auto r = raster_file_refusal(png.substr(0, cut));
        ASSERT_TRUE(r) << cut;
        EXPECT_EQ(r->code, "bad_image");
        EXPECT_EQ(r->message.rfind("This PNG file cannot be read: it ends early (", 0), 0) << r->message;
    }
    EXPECT_EQ(message(png.substr(0, 33)), "This PNG file cannot be read: it ends early (it has no IEND chunk).");
    EXPECT_EQ(message(png.substr(0, 50)), "This PNG file cannot be read: it ends early (its IDAT chunk is cut off).");
    std::string damaged = png;
    damaged[43] = static_cast<char>(damaged[43] ^ 1);  // a byte of the IDAT chunk's data
    EXPECT_EQ(message(damaged), "This PNG file cannot be read: its IDAT chunk is damaged (its checksum is wrong).");
    // A header of 20000 x 20000 pixels, 16-bit samples: each with its CRC made right by zlib.
    auto with_header = [&](uint32_t w, uint32_t h, char depth) {
        std::string b = png;
        for (int k = 0; k < 4; ++k) {
            b[16 + static_cast<size_t>(k)] = static_cast<char>(w >> (24 - 8 * k));
            b[20 + static_cast<size_t>(k)] = static_cast<char>(h >> (24 - 8 * k));
        }
        b[24] = depth;
        const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(b.data() + 12), 17);
        for (int k = 0; k < 4; ++k) b[29 + static_cast<size_t>(k)] = static_cast<char>(crc >> (24 - 8 * k));
        return b;
    };
    EXPECT_FALSE(raster_file_refusal(with_header(1, 1, 8)));
    EXPECT_EQ(message(with_header(20000, 20000, 8)),
              "This PNG file cannot be read: the image is 20000 x 20000 pixels; images of 1 to 16384 pixels per "
              "side, 67108864 in all, are read.");
    EXPECT_EQ(message(with_header(16384, 16384, 8)),
              "This PNG file cannot be read: the image is 16384 x 16384 pixels; images of 1 to 16384 pixels per "
              "side, 67108864 in all, are read.");
    EXPECT_EQ(raster_file_refusal(with_header(1, 1, 16))->code, "unsupported_image");
    // JPEG: cut anywhere after its first 3 bytes (FF D8 FF: what tells it from DICOM), it has no end of image marker,
    // or a segment is cut off.
    for (size_t cut = 3; cut < jpeg.size(); ++cut)
        EXPECT_EQ(message(jpeg.substr(0, cut)),
                  "This JPEG file cannot be read: it ends early (it has no end of image marker).")
            << cut;
    std::string huge = jpeg;
    huge[7] = huge[8] = huge[9] = huge[10] = static_cast<char>(0x7f);  // 32639 x 32639
    EXPECT_EQ(message(huge),
              "This JPEG file cannot be read: the image is 32639 x 32639 pixels; images of 1 to 16384 pixels per "
              "side, 67108864 in all, are read.");
    EXPECT_EQ(message(std::string(jpeg).insert(15, "\x12")),
              "This JPEG file cannot be read: it is damaged (a segment does not start with a marker).");
    EXPECT_FALSE(raster_file_refusal(std::string(128, '\0') + "DICM"));  // DICOM: not checked here
}

std::string pydicom_file(const std::string& name) {
    std::ifstream in("/usr/lib/python3/dist-packages/pydicom/data/test_files/" + name + ".dcm", std::ios::binary);
    EXPECT_TRUE(in) << "python3-pydicom's test files are missing: run scripts/setup";
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// JPEG 2000 (OpenJPEG on the fragments DCMTK reads): pydicom's MR file compressed losslessly
// decodes to the uncompressed file's very values; a damaged codestream is refused with the reason.
TEST(Imaging, DicomJpeg2000LosslessEqualsTheUncompressedFile) {
    auto plain = dicom_decode(pydicom_file("MR_small"));
    auto j2k = dicom_decode(pydicom_file("MR_small_jp2klossless"));
    ASSERT_TRUE(plain) << plain.error().describe();
    ASSERT_TRUE(j2k) << j2k.error().describe();
    EXPECT_EQ(j2k->width, 64);
    EXPECT_EQ(j2k->values.doubles(), plain->values.doubles());
    EXPECT_EQ(j2k->modality, "MR");
    // YBR_RCT (the reversible colour transform, undone by the decoder) comes out as RGB.
    auto colour = dicom_decode(pydicom_file("GDCMJ2K_TextGBR"));
    ASSERT_TRUE(colour) << colour.error().describe();
    EXPECT_EQ(colour->channels, 3);
    // A codestream whose image size (SIZ's Xsiz) is not the header's: refused before decoding.
    const std::string file = pydicom_file("MR_small_jp2klossless");
    const size_t soc = file.find("\xff\x4f\xff\x51");
    ASSERT_NE(soc, std::string::npos);
    std::string wider = file;
    wider[soc + 8] = static_cast<char>(wider[soc + 8] ^ 0x01);
    auto refused = dicom_decode(wider);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, "bad_dicom");
    EXPECT_NE(refused.error().message.find("JPEG 2000"), std::string::npos) << refused.error().message;
    // Damage inside the codestream either decodes (JPEG 2000 has no checksum) or is refused with
    // the reason; the sanitizers and the fuzzer watch the rest.
    std::mt19937 rng(7);
    for (int round = 0; round < 100; ++round) {
        std::string damaged = file;
        for (int k = 0; k < 4; ++k) damaged[soc + 2 + rng() % (file.size() - soc - 2)] = static_cast<char>(rng());
        auto r = dicom_decode(damaged);
        if (!r) { EXPECT_NE(r.error().message.find("DICOM"), std::string::npos) << r.error().message; }
    }
}

// Deflated files: the data set after the meta header is inflated (zlib, natively and in the
// browser alike); one that ends early, or would inflate past the limit, is refused with the reason.
// DCMTK's JPEG decoder walks the first fragment's markers for the precision and never moves past
// a TEM marker (FF 01): a crafted file would hang the page or the CLI. pydicom's baseline JPEG
// file decodes; the same file with its first marker after SOI turned into TEM is refused at once.
// A header whose frames x a frame's samples pass 2^32 (8192 x 8192 x 64 frames of 16 bits) over a
// few KB of pixel data: refused as short. Sizes are summed in 64 bits, so the browser's 32-bit
// wasm cannot wrap them past the length check and read beyond the pixel data.
TEST(Imaging, DicomFramesWhoseSizeWrapsPast32BitsAreRefusedAsShort) {
    std::ifstream in("/usr/lib/python3/dist-packages/pydicom/data/test_files/MR_small.dcm", std::ios::binary);
    ASSERT_TRUE(in) << "python3-pydicom's test files are missing: run scripts/setup";
    std::stringstream ss;
    ss << in.rdbuf();
    std::string file = ss.str();
    const std::string rows("\x28\x00\x10\x00US\x02\x00", 8), columns("\x28\x00\x11\x00US\x02\x00", 8);
    const size_t r = file.find(rows), c = file.find(columns);
    ASSERT_NE(r, std::string::npos);
    ASSERT_EQ(c, r + 10);
    for (size_t at : {r + 8, c + 8}) file.replace(at, 2, std::string("\x00\x20", 2));  // 8192
    file.insert(r, std::string("\x28\x00\x08\x00IS\x02\x00"
                               "64",
                               10));  // Number of Frames 64
    auto wrapped = dicom_decode(file);
    ASSERT_FALSE(wrapped);
    EXPECT_NE(wrapped.error().message.find("pixel data is shorter than its size says"), std::string::npos)
        << wrapped.error().message;
}

// A DICOM file of `samples` in `rows` rows (Bits Allocated = Bits Stored = `bits`): explicit VR
// little or big endian, its pixel data's VR OB or OW, the samples written in the transfer
// syntax's byte order (as pydicom writes and reads them; the meta header is always little endian).
std::string synthetic_dicom(bool big_endian, const char* pixel_vr, int bits, bool is_signed,
                            const std::vector<uint32_t>& samples, const std::string& photometric = "MONOCHROME2 ",
                            uint64_t rows = 1) {
    const uint64_t per_pixel = photometric.rfind("MONOCHROME", 0) == 0 ? 1 : 3;
    const auto number = [](bool big, uint64_t v, int width) {
        std::string out(static_cast<size_t>(width), '\0');
        for (int i = 0; i < width; ++i)
            out[static_cast<size_t>(big ? width - 1 - i : i)] = static_cast<char>((v >> (8 * i)) & 0xff);
        return out;
    };
    const auto element = [&](bool big, uint16_t group, uint16_t elem, const std::string& vr, const std::string& value) {
        std::string e = number(big, group, 2) + number(big, elem, 2) + vr;
        if (vr == "OB" || vr == "OW") return e + std::string(2, '\0') + number(big, value.size(), 4) + value;
        return e + number(big, value.size(), 2) + value;
    };
    const std::string syntax =
        big_endian ? std::string("1.2.840.10008.1.2.2", 20) : std::string("1.2.840.10008.1.2.1", 20);
    const std::string meta_syntax = element(false, 0x0002, 0x0010, "UI", syntax);
    std::string file = std::string(128, '\0') + "DICM" +
                       element(false, 0x0002, 0x0000, "UL", number(false, meta_syntax.size(), 4)) + meta_syntax;
    const bool be = big_endian;
    std::string pixels;
    for (uint32_t v : samples) pixels += number(be, v, bits / 8);
    file += element(be, 0x0008, 0x0060, "CS", "OT") + element(be, 0x0028, 0x0002, "US", number(be, per_pixel, 2)) +
            element(be, 0x0028, 0x0004, "CS", photometric) + element(be, 0x0028, 0x0010, "US", number(be, rows, 2)) +
            element(be, 0x0028, 0x0011, "US", number(be, samples.size() / per_pixel / rows, 2)) +
            element(be, 0x0028, 0x0100, "US", number(be, static_cast<uint64_t>(bits), 2)) +
            element(be, 0x0028, 0x0101, "US", number(be, static_cast<uint64_t>(bits), 2)) +
            element(be, 0x0028, 0x0102, "US", number(be, static_cast<uint64_t>(bits - 1), 2)) +
            element(be, 0x0028, 0x0103, "US", number(be, is_signed ? 1 : 0, 2)) +
            element(be, 0x7fe0, 0x0010, pixel_vr, pixels);
    return file;
}

// 32-bit samples are held exactly (as doubles: imaging/image_input.h, Samples), up to 2^32 - 1 unsigned and down
// to -2^31 signed, and stay distinct through the preprocessing: 2^24 + 1, which single precision
// would round to 2^24, maps to its own tensor value. pydicom's RGB file with values up to
// 2^32 - 1 is read (every value is checked against pydicom's by ctest -R imaging_dicom_parity).
TEST(Imaging, Dicom32BitSamplesAreReadExactlyThroughThePreprocessing) {
    const std::vector<uint32_t> samples{0xffffffffu, 0x01000001u, 0x01000000u, 0x80000000u, 0};
    auto unsigned_ = dicom_decode(synthetic_dicom(false, "OW", 32, false, samples));
    ASSERT_TRUE(unsigned_) << unsigned_.error().describe();
    EXPECT_TRUE(unsigned_->values.wide());
    EXPECT_EQ(unsigned_->values.doubles(),
              (std::vector<double>{4294967295.0, 16777217.0, 16777216.0, 2147483648.0, 0}));
    auto signed_ = dicom_decode(synthetic_dicom(false, "OW", 32, true, samples));
    ASSERT_TRUE(signed_) << signed_.error().describe();
    EXPECT_EQ(signed_->values.doubles(), (std::vector<double>{-1, 16777217.0, 16777216.0, -2147483648.0, 0}));

    ImageInput in = spec(1, 5, ResizeFilter::area);
    in.range_min = 16777216.0;
    in.range_max = 16777218.0;
    auto t = image_tensor(in, *unsigned_);
    ASSERT_TRUE(t) << t.error().describe();
    EXPECT_EQ(t->data, (std::vector<float>{1.0f, 0.5f, 0.0f, 1.0f, 0.0f}));

    auto rgb = dicom_decode(pydicom_file("SC_rgb_rle_32bit"));
    ASSERT_TRUE(rgb) << rgb.error().describe();
    EXPECT_EQ(rgb->channels, 3);
    const std::vector<double> all = rgb->values.doubles();
    EXPECT_EQ(*std::max_element(all.begin(), all.end()), 4294967295.0);
    const std::string npy = pixels_npy(*rgb);
    EXPECT_NE(npy.find("'descr': '<f8'"), std::string::npos);
    EXPECT_NE(npy.find("'shape': (1, 100, 100, 3)"), std::string::npos);
    double last = 0;
    std::memcpy(&last, npy.data() + npy.size() - 8, 8);
    EXPECT_EQ(last, all.back());
    // YBR_FULL is converted to RGB in single precision (finish_frame): at 32 bits, refused.
    auto ybr = dicom_decode(synthetic_dicom(false, "OW", 32, false, {1, 2, 3}, "YBR_FULL"));
    ASSERT_FALSE(ybr);
    EXPECT_EQ(ybr.error().message,
              "This DICOM image cannot be used here: its colour form YBR_FULL is read with 8 or 16 bits, not 32.");
    EXPECT_TRUE(dicom_decode(synthetic_dicom(false, "OW", 32, false, {1, 2, 3}, "RGB")));
}

// Decoded samples take 4 bytes each (single precision) whenever that holds them exactly: an 8-bit
// colour image (the PNG and JPEG decoders' path) and a 16-bit DICOM image, both large; 8 bytes
// (double precision) only beyond 24 bits stored. An 8192 x 8192 colour image is 768 MiB, within
// the browser's 2 GiB of wasm memory (1.5 GiB held as doubles).
TEST(Imaging, DecodedSamplesTakeFourBytesEachUnlessWiderThan24Bits) {
    const int side = 4096;
    const size_t n = size_t{side} * side;
    std::vector<uint8_t> rgb(3 * n);
    for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>(i * 7 % 251);
    auto colour = pixels_from_interleaved(rgb, side, side, 3);
    ASSERT_TRUE(colour) << colour.error().describe();
    EXPECT_EQ(colour->channels, 3);
    EXPECT_FALSE(colour->values.wide());
    EXPECT_EQ(colour->values.size(), 3 * n);
    EXPECT_EQ(colour->values.storage_bytes(), 4 * 3 * n);
    EXPECT_EQ(colour->values[3 * n - 1], static_cast<double>(rgb.back()));

    const int grey_side = 2048;
    const size_t grey_n = size_t{grey_side} * grey_side;
    std::vector<uint32_t> words(grey_n);
    for (size_t i = 0; i < grey_n; ++i) words[i] = static_cast<uint32_t>(i * 13 % 65536);
    auto grey16 = dicom_decode(synthetic_dicom(false, "OW", 16, false, words, "MONOCHROME2 ", grey_side));
    ASSERT_TRUE(grey16) << grey16.error().describe();
    EXPECT_EQ(grey16->width, grey_side);
    EXPECT_EQ(grey16->height, grey_side);
    EXPECT_FALSE(grey16->values.wide());
    EXPECT_EQ(grey16->values.storage_bytes(), 4 * grey_n);
    EXPECT_EQ(grey16->values[grey_n - 1], static_cast<double>(words.back()));
    auto t = image_tensor(spec(8, 8, ResizeFilter::area), *grey16);
    ASSERT_TRUE(t) << t.error().describe();

    auto grey32 = dicom_decode(synthetic_dicom(false, "OW", 32, false, {0x01000001u, 7}));
    ASSERT_TRUE(grey32) << grey32.error().describe();
    EXPECT_TRUE(grey32->values.wide());
    EXPECT_EQ(grey32->values.storage_bytes(), 8 * 2);
    EXPECT_EQ(grey32->values[0], 16777217.0);
}

// Explicit VR big endian: OW pixel data is a run of 16-bit words (DCMTK swaps each into this
// machine's order), OB a byte stream DCMTK never swaps. Either way a 16- or 32-bit sample's bytes
// come most significant first in the file, and are read so, as pydicom reads them (its
// pixel_array gives 0x1122, 0x3344 and 0x11223344, 0xfffffffe for these four files).
// The working memory check (imaging/raster_check.h) from the header's figures alone: an 8192 x
// 8192 colour DICOM file (8 bits, 192 MiB) fits for a 1-channel model and not for a 3-channel
// one, whose three planes of doubles alone are 1.5 GiB.
TEST(Imaging, AnImageTooLargeToPrepareIsRefusedFromItsHeaderWithItsSizeAndWhatToDo) {
    ImageFootprint f;
    f.width = f.height = 8192;
    f.file_channels = 3;
    f.sample_bytes = 4;
    f.file_bytes = int64_t{3} * 8192 * 8192 + 400;
    f.tensor_channels = 1;
    EXPECT_EQ(image_working_bytes(f), f.file_bytes + int64_t{8192} * 8192 * (12 + 8));
    EXPECT_LE(image_working_bytes(f), kImageWorkingBudget);
    EXPECT_FALSE(image_memory_refusal(f));
    f.tensor_channels = 3;
    const auto refused = image_memory_refusal(f);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->code, "image_too_large");
    EXPECT_EQ(refused->field, "image");
    EXPECT_EQ(refused->message,
              "This image is too large to prepare on this device: 8192 x 8192 pixels in colour need about 2.6 GB "
              "while it is prepared; the limit is 1.6 GB. Export it at a smaller size (4096 x 4096 pixels fits) "
              "and open it again.");
    // 32-bit grey samples take 8 bytes each: a 3-channel model's 8192 x 8192 grey image is refused too.
    f.file_channels = 1;
    f.sample_bytes = 8;
    f.file_bytes = int64_t{4} * 8192 * 8192;
    ASSERT_TRUE(image_memory_refusal(f));
    EXPECT_NE(image_memory_refusal(f)->message.find("8192 x 8192 pixels in grey need about 2.4 GB"), std::string::npos);
    // The suggested size fits.
    f.width = f.height = 4096;
    f.file_bytes /= 4;
    EXPECT_FALSE(image_memory_refusal(f));
}

// A DICOM header whose file, one frame's samples and one plane pass the limit is refused before
// any pixel is decompressed: pydicom's 64 x 64 JPEG 2000 file with its header saying 8192 x 8192
// RGB of 32 bits (1.5 GiB of samples in doubles, 0.5 GiB a plane). Said 16 bits (4-byte samples,
// 0.75 GiB), it goes on to the decoder, which finds the codestream smaller than the header.
TEST(Imaging, DicomTooLargeToDecodeIsRefusedFromItsHeaderBeforeAnyPixelIsDecoded) {
    const std::string file = pydicom_file("MR_small_jp2klossless");
    const auto set = [](std::string& f, uint16_t element, uint16_t value) {
        const std::string tag = std::string("\x28\x00", 2) + static_cast<char>(element & 0xff) +
                                static_cast<char>(element >> 8) + "US" + std::string("\x02\x00", 2);
        const size_t at = f.find(tag);
        ASSERT_NE(at, std::string::npos) << element;
        f[at + 8] = static_cast<char>(value & 0xff);
        f[at + 9] = static_cast<char>(value >> 8);
    };
    std::string huge = file;
    set(huge, 0x0002, 3);     // Samples per Pixel
    set(huge, 0x0010, 8192);  // Rows
    set(huge, 0x0011, 8192);  // Columns
    set(huge, 0x0100, 32);    // Bits Allocated
    set(huge, 0x0101, 32);    // Bits Stored
    set(huge, 0x0102, 31);    // High Bit
    auto refused = dicom_decode(huge);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, "image_too_large");
    EXPECT_NE(refused.error().message.find("8192 x 8192 pixels in colour need about 2.1 GB"), std::string::npos)
        << refused.error().message;
    std::string fits = huge;
    set(fits, 0x0100, 16);
    set(fits, 0x0101, 16);
    set(fits, 0x0102, 15);
    auto decoded = dicom_decode(fits);
    ASSERT_FALSE(decoded);
    EXPECT_NE(decoded.error().code, "image_too_large") << decoded.error().message;
}

TEST(Imaging, DicomBigEndianSamplesAreReadAlikeFromObAndOwPixelData) {
    for (const char* vr : {"OB", "OW"}) {
        auto words = dicom_decode(synthetic_dicom(true, vr, 16, false, {0x1122, 0x3344}));
        ASSERT_TRUE(words) << vr << ": " << words.error().describe();
        EXPECT_EQ(words->values.doubles(), (std::vector<double>{0x1122, 0x3344})) << vr;
        auto longs = dicom_decode(synthetic_dicom(true, vr, 32, false, {0x11223344u, 0xfffffffeu}));
        ASSERT_TRUE(longs) << vr << ": " << longs.error().describe();
        EXPECT_EQ(longs->values.doubles(), (std::vector<double>{0x11223344u, 0xfffffffeu})) << vr;
        // The same samples little endian: the same values.
        auto little = dicom_decode(synthetic_dicom(false, vr, 32, false, {0x11223344u, 0xfffffffeu}));
        ASSERT_TRUE(little) << vr << ": " << little.error().describe();
        EXPECT_EQ(little->values.doubles(), longs->values.doubles()) << vr;
    }
}

// A data set written with implicit VR under an explicit-VR transfer syntax (pydicom's
// SC_rgb_jpeg: JPEG baseline) is read again as implicit VR once the strict read fails, its pixel
// data decoded as the meta header's syntax says (pixels equal to pydicom's: ctest -R
// imaging_dicom_parity). The same file with its data set's first element given a VR is explicit
// after all: no second read, and it stays refused.
TEST(Imaging, DicomImplicitVrUnderAnExplicitSyntaxIsReadAsImplicit) {
    const std::string bytes = pydicom_file("SC_rgb_jpeg");
    auto p = dicom_decode(bytes);
    ASSERT_TRUE(p) << p.error().describe();
    EXPECT_EQ(p->width, 256);
    EXPECT_EQ(p->height, 256);
    EXPECT_EQ(p->channels, 3);
    EXPECT_EQ(p->values.size(), size_t{256} * 256 * 3);
    // An explicit-VR data set that ends early: no second read, the strict read's reason.
    const std::string cut = synthetic_dicom(false, "OW", 16, false, {1, 2, 3, 4});
    auto r = dicom_decode(std::string_view(cut).substr(0, cut.size() - 5));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("the file is damaged or ends early"), std::string::npos) << r.error().message;
}

TEST(Imaging, DicomJpegWithATemMarkerBeforeTheFrameIsRefusedNotAHang) {
    std::string bytes = pydicom_file("SC_rgb_jpeg_dcmtk");
    ASSERT_TRUE(dicom_decode(bytes).ok());
    const size_t soi = bytes.find("\xFF\xD8\xFF");
    ASSERT_NE(soi, std::string::npos);
    bytes[soi + 3] = '\x01';
    auto tem = dicom_decode(bytes);
    ASSERT_FALSE(tem.ok());
    EXPECT_NE(tem.error().message.find("TEM"), std::string::npos) << tem.error().message;
}

// DCMTK's decoders size every frame's decoded pixels from the header before reading the data: a
// small compressed file claiming a huge image (65535 x 65535, 8 GiB as 16 bits) or many large
// frames is refused from its header, before the decoder allocates anything.
TEST(Imaging, DicomCompressedHeaderClaimingHugePixelsIsRefusedBeforeDecoding) {
    const std::string rle = pydicom_file("MR_small_RLE");
    ASSERT_TRUE(dicom_decode(rle).ok());
    const std::string rows("\x28\x00\x10\x00US\x02\x00", 8);
    const size_t r = rle.find(rows);
    ASSERT_NE(r, std::string::npos);
    const auto sized = [&](const char side[2]) {
        std::string file = rle;
        for (size_t at : {r + 8, r + 18}) file.replace(at, 2, std::string(side, 2));
        return file;
    };
    auto huge = dicom_decode(sized("\xff\xff"));  // 65535 x 65535
    ASSERT_FALSE(huge);
    EXPECT_EQ(huge.error().code, "bad_dicom");
    EXPECT_NE(huge.error().message.find("65535 x 65535"), std::string::npos) << huge.error().message;

    // 4096 x 4096 16-bit (32 MB a frame) is a size that is read, but not 40 frames of it (1.25 GB):
    // 40 empty fragments and Number of Frames 40.
    std::string frames = sized("\x00\x10");
    const size_t end = frames.find(std::string("\xfe\xff\xdd\xe0\x00\x00\x00\x00", 8), r);
    ASSERT_NE(end, std::string::npos);
    for (int i = 0; i < 40; ++i) frames.insert(end, std::string("\xfe\xff\x00\xe0\x00\x00\x00\x00", 8));
    frames.insert(r, std::string("\x28\x00\x08\x00IS\x02\x00"
                                 "40",
                                 10));
    auto many = dicom_decode(frames);
    ASSERT_FALSE(many);
    EXPECT_EQ(many.error().code, "unsupported_dicom");
    EXPECT_NE(many.error().message.find("40 frame(s) of 4096 x 4096 pixels would decode to 1342 MB; at most 1073 MB"),
              std::string::npos)
        << many.error().message;

    // A US element of the header set to a value (its tag's 8 bytes, then its 2).
    const auto with_us = [](std::string file, const char tag[4], uint16_t value) {
        const size_t at = file.find(std::string(tag, 4) + std::string("US\x02\x00", 4));
        EXPECT_NE(at, std::string::npos);
        if (at != std::string::npos) file.replace(at + 8, 2, std::string{char(value & 0xff), char(value >> 8)});
        return file;
    };
    // 8-bit samples take a byte each, as DCMTK's decoders allocate them: 40 frames of 4096 x 4096
    // (671 MB) are within the limit, so the decoder is reached (and refuses the empty fragments).
    auto bytes8 = dicom_decode(with_us(frames, "\x28\x00\x00\x01", 8));
    ASSERT_FALSE(bytes8);
    EXPECT_EQ(bytes8.error().message.find("would decode"), std::string::npos) << bytes8.error().message;
    // Samples and bits that multiply past 64 bits with the frames are refused, not wrapped to 0.
    std::string wide = with_us(with_us(frames, "\x28\x00\x02\x00", 32768), "\x28\x00\x00\x01", 32768);
    auto wrapped = dicom_decode(wide);
    ASSERT_FALSE(wrapped);
    EXPECT_NE(wrapped.error().message.find("would decode to"), std::string::npos) << wrapped.error().message;
}

TEST(Imaging, DicomDeflatedIsInflatedOrRefusedWithAReason) {
    const std::string file = pydicom_file("image_dfl");
    auto whole = dicom_decode(file);
    ASSERT_TRUE(whole) << whole.error().describe();
    EXPECT_EQ(whole->width, 512);
    auto cut = dicom_decode(std::string_view(file).substr(0, file.size() - 200));
    ASSERT_FALSE(cut);
    EXPECT_NE(cut.error().message.find("deflated data set ends early"), std::string::npos) << cut.error().message;
    // The same meta header before 300 MB of zeros, deflated (a few hundred kB): refused.
    // The data set starts after the meta header: preamble and "DICM" (132 bytes), then the group
    // length element (12 bytes) whose value counts the rest of the meta header.
    ASSERT_EQ(file.substr(128, 4), "DICM");
    uint32_t group_length = 0;
    std::memcpy(&group_length, file.data() + 140, 4);
    std::string bomb = file.substr(0, 144 + group_length);
    z_stream z{};
    ASSERT_EQ(deflateInit2(&z, 9, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY), Z_OK);
    const std::string zeros(size_t{1} << 20, '\0');
    std::string out(size_t{1} << 20, '\0');
    for (int mb = 0; mb < 300; ++mb) {
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zeros.data()));
        z.avail_in = static_cast<uInt>(zeros.size());
        do {
            z.next_out = reinterpret_cast<Bytef*>(out.data());
            z.avail_out = static_cast<uInt>(out.size());
            deflate(&z, mb == 299 ? Z_FINISH : Z_NO_FLUSH);
            bomb.append(out.data(), out.size() - z.avail_out);
        } while (z.avail_out == 0);
    }
    deflateEnd(&z);
    ASSERT_LT(bomb.size(), size_t{1} << 20);
    auto refused = dicom_decode(bomb);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, "unsupported_dicom");
    EXPECT_NE(refused.error().message.find("inflates to more than 256 MB"), std::string::npos)
        << refused.error().message;
}

// What the model was made for (image_input.h, Scope): the schema's lists and training statistics,
// the header checked against them, and the tensor against the training images.
TEST(ImageScope, ListsAndTrainingStatisticsParseRoundTripAndBadOnesAreNamed) {
    Json j = image_schema();
    j["image"]["body_parts"] = Json::array({"CHEST"});
    j["image"]["views"] = Json::array({"PA", "AP"});
    j["image"]["training"] = {{"images", 1600},
                              {"mean", {{"min", -0.55}, {"max", -0.46}, {"mean", -0.52}, {"sd", 0.015}}},
                              {"std", {{"min", 0.47}, {"max", 0.62}, {"mean", 0.52}, {"sd", 0.025}}}};
    auto s = schema_from_json(j);
    ASSERT_TRUE(s) << s.error().describe();
    EXPECT_EQ(s->image->body_parts, std::vector<std::string>{"CHEST"});
    EXPECT_EQ(s->image->views, (std::vector<std::string>{"PA", "AP"}));
    ASSERT_TRUE(s->image->training);
    EXPECT_EQ(s->image->training->images, 1600);
    EXPECT_DOUBLE_EQ(s->image->training->std.sd, 0.025);
    auto again = schema_from_json(schema_to_json(*s));
    ASSERT_TRUE(again) << again.error().describe();
    EXPECT_EQ(schema_to_json(*again), schema_to_json(*s));

    Json bad = j;
    bad["image"]["views"] = Json::array({"PA", ""});
    bad["image"]["body_parts"] = "CHEST";
    bad["image"]["training"]["mean"]["min"] = 0.0;  // above its mean
    bad["image"]["training"]["std"].erase("sd");
    const std::string paths = paths_of(schema_from_json(bad));
    for (const char* p : {"image.views[1]", "image.body_parts", "image.training.mean", "image.training.std"})
        EXPECT_NE(paths.find(p), std::string::npos) << p << " not named in: " << paths;
}

namespace {
ImageInput demo_scope() {
    ImageInput im = spec(8, 8);
    im.label = "Synthetic radiograph";
    im.formats = {ImageFormat::png, ImageFormat::dicom};
    im.modalities = {"OT"};
    im.body_parts = {"CHEST"};
    im.views = {"PA"};
    return im;
}
Pixels with_header(std::string modality, std::string body_part, std::string view) {
    Pixels p = grey(2, 2, {0, 1, 2, 3});
    p.modality = std::move(modality);
    p.body_part = std::move(body_part);
    p.view = std::move(view);
    return p;
}
}  // namespace

TEST(ImageScope, ADicomOutsideTheListsIsRefusedNamingTheFieldAndWhatTheModelTakes) {
    const ImageInput im = demo_scope();
    const ImageScope ok = image_scope_check(im, ImageFormat::dicom, with_header("OT", "chest ", "PA"));
    EXPECT_TRUE(ok.refused.empty());
    EXPECT_TRUE(ok.warnings.empty());
    const ImageScope ct = image_scope_check(im, ImageFormat::dicom, with_header("CT", "CHEST", "PA"));
    ASSERT_EQ(ct.refused.size(), 1u);
    EXPECT_EQ(ct.refused[0].code, "out_of_scope");
    EXPECT_EQ(ct.refused[0].field, "modality");
    EXPECT_EQ(ct.refused[0].message,
              "This image is a CT scan (modality CT); this model is made for synthetic radiograph (modality OT; body "
              "part CHEST; view PA) only.");
    const ImageScope head = image_scope_check(im, ImageFormat::dicom, with_header("MR", "HEAD", "AP"));
    ASSERT_EQ(head.refused.size(), 3u);  // every reason at once
    EXPECT_EQ(head.refused[1].field, "body_part");
    EXPECT_NE(head.refused[1].message.find("body part is HEAD"), std::string::npos) << head.refused[1].message;
    EXPECT_EQ(head.refused[2].field, "view");
    // No modality: refused (a mandatory tag); no body part or view: accepted, the clinician asked.
    const ImageScope none = image_scope_check(im, ImageFormat::dicom, with_header("", "", ""));
    ASSERT_EQ(none.refused.size(), 1u);
    EXPECT_NE(none.refused[0].message.find("does not say its modality"), std::string::npos);
    const ImageScope empty = image_scope_check(im, ImageFormat::dicom, with_header("OT", "", ""));
    EXPECT_TRUE(empty.refused.empty());
    ASSERT_EQ(empty.warnings.size(), 2u);
    EXPECT_EQ(empty.warnings[0].code, "confirm_scope");
    EXPECT_NE(empty.warnings[0].message.find("does not say its body part"), std::string::npos);
}

TEST(ImageScope, APngIsAcceptedWithTheClinicianToConfirmItAndEmptyListsTakeAnything) {
    const ImageScope png = image_scope_check(demo_scope(), ImageFormat::png, grey(2, 2, {0, 1, 2, 3}));
    EXPECT_TRUE(png.refused.empty());
    ASSERT_EQ(png.warnings.size(), 1u);
    EXPECT_EQ(png.warnings[0].message,
              "A PNG or JPEG file does not say what it shows: use the result only if this image is synthetic "
              "radiograph (modality OT; body part CHEST; view PA).");
    const ImageScope any = image_scope_check(spec(8, 8), ImageFormat::dicom, with_header("CT", "", ""));
    EXPECT_TRUE(any.refused.empty());
    EXPECT_TRUE(any.warnings.empty());
    EXPECT_TRUE(image_scope_check(spec(8, 8), ImageFormat::png, grey(1, 1, {0})).warnings.empty());
}

TEST(ImageScope, ATensorOutsideTheTrainingRangeWidenedByItsMarginIsUnlikeTheTrainingImages) {
    ImageInput im = demo_scope();
    Tensor t;
    t.shape = {1, 1, 2, 2};
    t.data = {-1, -1, 1, 1};  // mean 0, standard deviation 1
    const TensorStatistics st = tensor_statistics(t);
    EXPECT_DOUBLE_EQ(st.mean, 0);
    EXPECT_DOUBLE_EQ(st.std, 1);
    EXPECT_FALSE(image_unlike_training(im, t)) << "no training statistics, no warning";
    im.training = ImageTraining{100, {-0.5, 0.5, 0, 0.1}, {0.8, 1.2, 1, 0.1}};
    EXPECT_FALSE(image_unlike_training(im, t));
    // Inside the margin (two standard deviations beyond the maximum): not flagged.
    for (float& v : t.data) v += 0.69f;
    EXPECT_FALSE(image_unlike_training(im, t));
    for (float& v : t.data) v += 0.02f;  // mean 0.71 > 0.5 + 2 x 0.1
    auto bright = image_unlike_training(im, t);
    ASSERT_TRUE(bright);
    EXPECT_EQ(bright->code, "unlike_training");
    EXPECT_NE(bright->message.find("unlike the 100 images the model was trained on (brighter"), std::string::npos)
        << bright->message;
    t.data = {0, 0, 0, 0};  // flat: mean in range, contrast far below
    auto flat = image_unlike_training(im, t);
    ASSERT_TRUE(flat);
    EXPECT_NE(flat->message.find("lower in contrast"), std::string::npos) << flat->message;
}

// The drift report's acquisition descriptors read from DICOM headers (drift/image_descriptors.h):
// pydicom's CT_small gives PixelSpacing 0.661468 mm and BitsStored 16, 128 x 128 pixels.
TEST(ImageDescriptors, ReadFromADicomHeaderAndNotGivenForPng) {
    std::ifstream in("/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm", std::ios::binary);
    ASSERT_TRUE(in) << "python3-pydicom's test files are missing: run scripts/setup";
    std::stringstream ss;
    ss << in.rdbuf();
    auto pixels = dicom_decode(ss.str());
    ASSERT_TRUE(pixels) << pixels.error().describe();
    EXPECT_NEAR(pixels->pixel_spacing, 0.661468, 1e-9);
    EXPECT_EQ(pixels->bits_stored, 16);
    ImageInput spec;
    spec.modalities = {"DX", "CT"};
    spec.body_parts = {"CHEST"};
    spec.intensity = IntensityKind::min_max;
    spec.height = spec.width = 32;
    auto tensor = image_tensor(spec, *pixels);
    ASSERT_TRUE(tensor) << tensor.error().describe();
    const ImageDescriptors d = image_descriptors(spec, *pixels, *tensor);
    EXPECT_EQ(d[0], 1.0);           // CT: the second listed modality
    EXPECT_TRUE(std::isnan(d[1]));  // no body part in the header: not given
    EXPECT_TRUE(std::isnan(d[2]));  // no view
    EXPECT_EQ(d[3], 128.0);
    EXPECT_NEAR(d[4], 0.661468, 1e-9);
    EXPECT_EQ(d[5], 16.0);
    EXPECT_NEAR(d[6], tensor_statistics(*tensor).mean, 1e-12);
    EXPECT_NEAR(d[7], tensor_statistics(*tensor).std, 1e-12);
    spec.modalities = {"DX"};
    EXPECT_EQ(image_descriptors(spec, *pixels, *tensor)[0], 1.0);  // CT, not listed: "other"
    // A PNG's pixels carry no header: the acquisition descriptors are not given, the size is.
    Pixels png;
    png.width = 300;
    png.height = 300;
    std::vector<float> levels;
    for (int i = 0; i < 300 * 300; ++i) levels.push_back(static_cast<float>(i % 256));
    png.values = Samples(std::move(levels));
    auto t2 = image_tensor(spec, png);
    ASSERT_TRUE(t2) << t2.error().describe();
    const ImageDescriptors p = image_descriptors(spec, png, *t2);
    for (size_t k : {0u, 1u, 2u, 4u, 5u}) EXPECT_TRUE(std::isnan(p[k])) << kImageDescriptorNames[k];
    EXPECT_EQ(p[3], 300.0);
}

// pydicom's CT and MR files against the demonstration's lists: refused with the reason.
TEST(ImageScope, PydicomsCtAndMrFilesAreRefusedByTheDemonstrationsLists) {
    std::ifstream f(LOCALDX_SOURCE_DIR "/models/opacity-demo/schema.json");
    std::stringstream schema_text;
    schema_text << f.rdbuf();
    auto schema = schema_parse(schema_text.str());
    ASSERT_TRUE(schema) << schema.error().describe();
    for (const auto& [name, words] :
         {std::pair{"CT_small", "a CT scan (modality CT)"}, std::pair{"MR_small", "an MR image (modality MR)"}}) {
        std::ifstream in(std::string("/usr/lib/python3/dist-packages/pydicom/data/test_files/") + name + ".dcm",
                         std::ios::binary);
        ASSERT_TRUE(in) << "python3-pydicom's test files are missing: run scripts/setup";
        std::stringstream ss;
        ss << in.rdbuf();
        auto pixels = dicom_decode(ss.str());
        ASSERT_TRUE(pixels) << pixels.error().describe();
        const ImageScope scope = image_scope_check(*schema->image, ImageFormat::dicom, *pixels);
        ASSERT_FALSE(scope.refused.empty()) << name;
        EXPECT_EQ(scope.refused[0].field, "modality");
        EXPECT_NE(scope.refused[0].message.find(std::string("This image is ") + words), std::string::npos)
            << scope.refused[0].message;
    }
}
