// tests/unit/test_image_model.cpp — an imaging bundle's model description, pixels from 8-bit
// decoders, and one image's runs (imaging/image_model.h) against a stand-in model whose evidence
// is known: it "sees" one bright square, so its map, occlusion map and deletion curve are known.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "imaging/image_model.h"
#include "imaging/preprocess.h"
#include "schema/schema.h"

using namespace ldx;

namespace {
const char* kSchema = R"({"task": "square-demo", "title": "A bright square",
  "outputs": {"kind": "binary", "column": "y", "positive": "1",
              "classes": [{"name": "0", "label": "No square"}, {"name": "1", "label": "Square"}]},
  "image": {"label": "Test image", "formats": ["png"],
            "tensor": {"name": "image", "layout": "NCHW", "channels": 1, "height": 32, "width": 32},
            "preprocess": {"intensity": {"kind": "range", "min": 0, "max": 255}, "resize": "bilinear",
                           "mean": [0], "std": [1]}}})";

Schema schema() { return *schema_parse(kSchema); }

ImageModel cam_model() {
    ImageModel m;
    m.probabilities = "probability";
    m.probability_width = 1;
    m.map_output = "cam";
    m.map_height = m.map_width = 8;
    m.check_images = 1;
    m.check_probabilities = {0.25, 0.75};
    return m;
}

// The stand-in: P(square) = mean brightness of rows and columns 8..15 (a 8 x 8 block), and a
// CAM that is that block's brightness per 4 x 4 cell.
constexpr int kSide = 32, kLo = 8, kHi = 16;
float stand_in(const float* image) {
    double s = 0;
    for (int y = kLo; y < kHi; ++y)
        for (int x = kLo; x < kHi; ++x) s += image[y * kSide + x];
    return static_cast<float>(s / ((kHi - kLo) * (kHi - kLo)));
}
std::vector<float> stand_in_cam(const float* image) {
    std::vector<float> cam(64, 0.0f);
    for (int y = kLo; y < kHi; ++y)
        for (int x = kLo; x < kHi; ++x) cam[static_cast<size_t>((y / 4) * 8 + x / 4)] += image[y * kSide + x] / 16;
    return cam;
}

Tensor square_tensor() {
    Tensor t;
    t.shape = {1, 1, kSide, kSide};
    t.data.assign(kSide * kSide, 0.1f);
    for (int y = kLo; y < kHi; ++y)
        for (int x = kLo; x < kHi; ++x) t.data[static_cast<size_t>(y * kSide + x)] = 0.9f;
    return t;
}

// Runs the job to its end with the stand-in, `batch` images per run.
ImageJob run(const ImageModel& m, const Schema& s, size_t batch) {
    ImageJob job = image_job_start(square_tensor());
    const size_t size = kSide * kSide;
    while (image_job_pending(job, m, *s.image) > 0) {
        const bool first = job.stage == ImageJob::Stage::image;
        const std::vector<float> x = image_job_inputs(job, m, *s.image, batch);
        std::vector<float> p, cam;
        for (size_t n = 0; n < x.size() / size; ++n) {
            p.push_back(stand_in(x.data() + n * size));
            if (first) cam = stand_in_cam(x.data() + n * size);
        }
        EXPECT_TRUE(
            image_job_give(job, m, s, *s.image, p, first && m.map == MapKind::cam ? cam : std::vector<float>{}));
    }
    return job;
}
}  // namespace

TEST(ImageModel, DescriptionRoundTripsAndBadOnesAreRefusedWithAReason) {
    const Schema s = schema();
    auto back = image_model_from_json(image_model_to_json(cam_model()), s);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->map_output, "cam");
    EXPECT_EQ(back->check_probabilities, (std::vector<double>{0.25, 0.75}));
    Json j = image_model_to_json(cam_model());
    j["map"]["height"] = 64;  // larger than the tensor
    EXPECT_FALSE(image_model_from_json(j, s));
    j = image_model_to_json(cam_model());
    j["check"]["probabilities"] = {0.5};  // one image of two classes needs two
    EXPECT_FALSE(image_model_from_json(j, s));
    ImageModel occ = cam_model();
    occ.map = MapKind::occlusion;
    occ.patch = 6;
    occ.stride = 4;  // does not divide the patch
    EXPECT_FALSE(image_model_from_json(image_model_to_json(occ), s));
}

TEST(ImageModel, EightBitPixelsAreGreyOnlyWhenEveryPixelIsGrey) {
    const std::vector<uint8_t> grey{10, 10, 10, 255, 20, 20, 20, 0};
    auto g = pixels_from_interleaved(grey, 2, 1, 4);
    ASSERT_TRUE(g);
    EXPECT_EQ(g->channels, 1);
    EXPECT_EQ(g->values.doubles(), (std::vector<double>{10, 20}));
    const std::vector<uint8_t> colour{10, 10, 10, 20, 21, 20};
    auto c = pixels_from_interleaved(colour, 2, 1, 3);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->channels, 3);
    EXPECT_EQ(c->values.doubles(), (std::vector<double>{10, 10, 10, 20, 21, 20}));
    EXPECT_FALSE(pixels_from_interleaved(colour, 3, 1, 3));  // fewer bytes than the size says
}

TEST(ImageModel, CamMapPeaksOnTheEvidenceAndDeletionFallsFasterThanRandom) {
    const Schema s = schema();
    const ImageModel m = cam_model();
    const ImageJob job = run(m, s, 5);
    ASSERT_EQ(job.stage, ImageJob::Stage::done);
    EXPECT_NEAR(job.probabilities[1], 0.9, 1e-6);
    EXPECT_EQ(job.predicted, 1);
    EXPECT_EQ(job.explained, 1);
    // The four cells over the square (rows and columns 2..3 of the 8 x 8 map) hold the whole map.
    for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 8; ++x)
            EXPECT_FLOAT_EQ(job.map.values[static_cast<size_t>(y * 8 + x)],
                            (y >= 2 && y < 4 && x >= 2 && x < 4) ? 1.0f : 0.0f);
    ASSERT_EQ(job.deletion.ranked.size(), size_t{kDeletionSteps + 1});
    EXPECT_NEAR(job.deletion.ranked[0], 0.9, 1e-6);
    EXPECT_NEAR(job.deletion.ranked[1], 0.0, 1e-6);  // the top 10% (6 cells) cover the 4 that matter
    EXPECT_NEAR(job.deletion.ranked.back(), 0.0, 1e-6);
    EXPECT_LT(job.deletion.ranked_area, job.deletion.random_area);
    EXPECT_EQ(job.runs, size_t{1 + 2 * (kDeletionSteps + 1)});
}

TEST(ImageModel, OcclusionMapFindsTheSquareWithoutAMapOutput) {
    const Schema s = schema();
    ImageModel m = cam_model();
    m.map = MapKind::occlusion;
    m.map_output.clear();
    m.stride = 4;
    m.patch = 8;
    EXPECT_EQ(occlusion_runs(m, *s.image), 7 * 7);
    const ImageJob job = run(m, s, 16);
    ASSERT_EQ(job.stage, ImageJob::Stage::done);
    const auto peak = std::max_element(job.map.values.begin(), job.map.values.end()) - job.map.values.begin();
    const int py = static_cast<int>(peak) / 8, px = static_cast<int>(peak) % 8;
    EXPECT_TRUE(py >= 2 && py < 4 && px >= 2 && px < 4) << py << ", " << px;
    for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 8; ++x)
            if (y < 1 || y > 4 || x < 1 || x > 4) EXPECT_EQ(job.map.values[static_cast<size_t>(y * 8 + x)], 0.0f);
    EXPECT_LT(job.deletion.ranked_area, job.deletion.random_area);
    EXPECT_EQ(job.runs, size_t{1 + 49 + 2 * (kDeletionSteps + 1)});
}

TEST(ImageModel, OutputsOfTheWrongSizeAreRefused) {
    const Schema s = schema();
    const ImageModel m = cam_model();
    ImageJob job = image_job_start(square_tensor());
    const std::vector<float> p{0.5f}, small_cam(10, 0.0f);
    auto r = image_job_give(job, m, s, *s.image, p, small_cam);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, "model_output");
    const std::vector<float> outside{1.5f}, cam(64, 0.0f);
    EXPECT_FALSE(image_job_give(job, m, s, *s.image, outside, cam));
    EXPECT_EQ(job.stage, ImageJob::Stage::image);
}

TEST(ImageModel, TheDisplayImageIsTheIntensityMappingReducedByWholePixels) {
    const Schema s = schema();
    Pixels p;
    p.width = 4;
    p.height = 2;
    p.values = Samples(std::vector<double>{0, 255, 0, 255, 255, 0, 255, 0});
    auto d = image_display(*s.image, p, 2);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->width, 2);
    EXPECT_EQ(d->height, 1);
    EXPECT_EQ(d->grey, (std::vector<uint8_t>{128, 128}));
}
