// tests/unit/test_image_validation.cpp — an imaging model checked on labelled images
// (metrics/image_validation.h): the labels CSV and each of its refusals, the model's outputs as
// JSON, the pointing game and the energy in the box on maps whose answer is known, and one run's
// report against tabular validation's figures on the same labels and probabilities; the prediction
// sets recalibrated on the labelled images.
#include <gtest/gtest.h>

#include <cmath>

#include "conformal/conformal.h"
#include "metrics/image_validation.h"
#include "schema/schema.h"
#include "support.h"

using namespace ldx;

namespace {
const char* kSchema = R"({"task": "square-demo", "title": "A bright square",
  "outputs": {"kind": "binary", "column": "opacity", "positive": "1",
              "classes": [{"name": "0", "label": "No opacity"}, {"name": "1", "label": "Opacity"}]},
  "image": {"label": "Test image", "formats": ["png"],
            "tensor": {"name": "image", "layout": "NCHW", "channels": 1, "height": 32, "width": 32},
            "preprocess": {"intensity": {"kind": "range", "min": 0, "max": 255}, "resize": "bilinear",
                           "mean": [0], "std": [1]}}})";

Schema schema() { return *schema_parse(kSchema); }

// A 4 x 4 map over a 200 x 100 image (cells of 50 x 25 pixels) with its peak in cell (row, col).
ImageOutput output(const std::string& name, double p, int row, int col) {
    ImageOutput o;
    o.image = name;
    o.width = 200;
    o.height = 100;
    o.probabilities = {1 - p, p};
    o.map_height = o.map_width = 4;
    o.map.assign(16, 0.0);
    o.map[static_cast<size_t>(row * 4 + col)] = 1.0;
    return o;
}
}  // namespace

TEST(ImageLabels, ReadsImagesLabelsBoxesAndPoints) {
    const auto l = image_labels_read(schema(),
                                     "image,opacity,x0,y0,x1,y1,x,y\n"
                                     "a.png,1,10,20,30,40,,\n"
                                     "b.png,No opacity,,,,,,\n"
                                     "c.png,opacity,,,,,5,6\n");
    ASSERT_TRUE(l.readable);
    EXPECT_TRUE(l.problems.empty()) << l.problems[0].describe();
    ASSERT_EQ(l.rows.size(), 3u);
    EXPECT_EQ(l.rows[0].image, "a.png");
    EXPECT_EQ(l.rows[0].label, 1);
    ASSERT_TRUE(l.rows[0].box);
    EXPECT_EQ((*l.rows[0].box)[3], 40);
    EXPECT_EQ(l.rows[1].label, 0);  // the class's label, as the clinician reads it
    EXPECT_FALSE(l.rows[1].box);
    EXPECT_EQ(l.rows[2].label, 1);
    ASSERT_TRUE(l.rows[2].point);
    EXPECT_EQ((*l.rows[2].point)[1], 6);
    EXPECT_EQ(l.rows[2].row, 3);
}

TEST(ImageLabels, NamesTheRowAndColumnOfEachBadRow) {
    const auto l = image_labels_read(schema(),
                                     "image,opacity,x0,y0,x1,y1\n"
                                     "a.png,1,10,20,30,40\n"
                                     "a.png,0,,,,\n"              // duplicate
                                     "b.png,maybe,,,,\n"          // bad label
                                     "c.png,,,,,\n"               // missing label
                                     ",1,,,,\n"                   // no image named
                                     "d.png,1,10,20,,40\n"        // partial box
                                     "e.png,1,10,twenty,30,40\n"  // not a number
                                     "f.png,1,30,20,10,40\n");    // x0 > x1
    ASSERT_TRUE(l.readable);
    EXPECT_EQ(l.rows.size(), 1u);
    ASSERT_EQ(test::codes(l.problems),
              "duplicate_image,bad_label,missing_label,missing_image_name,bad_box,bad_box,bad_box");
    EXPECT_EQ(l.problems[0].row, 2);
    EXPECT_EQ(l.problems[0].field, "image");
    EXPECT_NE(l.problems[0].message.find("row 1"), std::string::npos);
    EXPECT_EQ(l.problems[1].field, "opacity");
    EXPECT_EQ(l.problems[1].row, 3);
    EXPECT_EQ(l.problems[4].field, "x1");
    EXPECT_EQ(l.problems[5].field, "y0");
    EXPECT_EQ(l.problems[6].field, "x0");
    EXPECT_EQ(l.problems[6].row, 8);
}

TEST(ImageLabels, RefusesAFileWithoutItsColumns) {
    const auto l = image_labels_read(schema(), "file,label\na.png,1\n");
    EXPECT_FALSE(l.readable);
    EXPECT_EQ(test::codes(l.problems), "missing_column,missing_column");
    EXPECT_EQ(l.problems[0].field, "image");
    EXPECT_EQ(l.problems[1].field, "opacity");
}

TEST(ImageLocalize, PointingGameAndEnergyOnKnownMaps) {
    // Peak in cell (1, 2): its centre is x = 2.5 * 50 = 125, y = 1.5 * 25 = 37.5.
    const ImageOutput o = output("a.png", 0.9, 1, 2);
    const auto in = image_localize(o, std::array<double, 4>{100, 25, 150, 50}, std::nullopt);
    EXPECT_TRUE(in.hit);
    EXPECT_DOUBLE_EQ(in.peak_x, 125);
    EXPECT_DOUBLE_EQ(in.peak_y, 37.5);
    EXPECT_DOUBLE_EQ(in.energy, 1.0);
    const auto out = image_localize(o, std::array<double, 4>{0, 0, 100, 100}, std::nullopt);
    EXPECT_FALSE(out.hit);
    EXPECT_DOUBLE_EQ(out.energy, 0.0);
    // Half the positive mass inside: two equal cells, one in the box; negative values do not count.
    ImageOutput half = o;
    half.map[0] = 1.0;
    half.map[15] = -5.0;
    const auto h = image_localize(half, std::array<double, 4>{0, 0, 50, 25}, std::nullopt);
    EXPECT_DOUBLE_EQ(h.energy, 0.5);
    EXPECT_TRUE(h.hit);  // the first of two equal peaks, row by row
    // A point within 15 pixels of the peak's centre is hit; one farther is not.
    EXPECT_TRUE(image_localize(o, std::nullopt, std::array<double, 2>{135, 45}).hit);
    EXPECT_FALSE(image_localize(o, std::nullopt, std::array<double, 2>{125, 60}).hit);
    // An all-zero map has no peak: a miss.
    ImageOutput flat = o;
    flat.map.assign(16, 0.0);
    EXPECT_FALSE(image_localize(flat, std::array<double, 4>{0, 0, 200, 100}, std::nullopt).hit);
}

TEST(ImageOutputs, RoundTripAndRefuseMalformedEntries) {
    std::vector<ImageOutput> outs{output("a.png", 0.123456789012345678, 0, 0), ImageOutput{}};
    outs[1].image = "b.dcm";
    outs[1].problems = {problem("out_of_scope", "a CT scan")};
    const Json j = image_outputs_to_json(outs);
    auto back = image_outputs_from_json(*json_parse(json_dump(j), "outputs"), 2);
    ASSERT_TRUE(back) << back.problems()[0].describe();
    ASSERT_EQ(back->size(), 2u);
    EXPECT_EQ((*back)[0].probabilities[1], outs[0].probabilities[1]);  // every digit kept
    EXPECT_EQ((*back)[0].map, outs[0].map);
    EXPECT_EQ((*back)[1].problems[0].code, "out_of_scope");
    Json bad = j;
    bad["images"][0]["probabilities"] = {0.5};
    EXPECT_EQ(test::codes(image_outputs_from_json(bad, 2)), "bad_outputs");
    bad = j;
    bad["images"][0]["map"]["values"] = {1.0, 2.0};
    EXPECT_EQ(test::codes(image_outputs_from_json(bad, 2)), "bad_outputs");
}

TEST(ImageValidationRun, MakesTabularFiguresAndThePointingGame) {
    Model m;
    m.schema = schema();
    m.imaging = ImageModel{};
    m.manifest.name = "square-demo";
    std::string csv = "image,opacity,x0,y0,x1,y1\n";
    std::vector<ImageOutput> outs;
    std::vector<int> labels;
    std::vector<double> probabilities;
    for (int i = 0; i < 30; ++i) {
        const bool pos = i % 2 == 1;
        const std::string name = "img-" + std::to_string(i) + ".png";
        const double p = pos ? 0.55 + 0.01 * i : 0.6 - 0.015 * i;
        // Positives' boxes hold the top-left cell; the peak is there in 10 of the 15.
        const bool peak_in = pos && i < 20;
        outs.push_back(output(name, p, peak_in ? 0 : 3, peak_in ? 0 : 3));
        csv += name + "," + (pos ? "1,0,0,50,25\n" : "0,,,,\n");
        labels.push_back(pos);
        probabilities.insert(probabilities.end(), {1 - p, p});
    }
    csv += "missing.png,1,,,,\n";
    csv += "img-1.png,1,,,,\n";  // duplicate: left out with its row
    outs.push_back(output("extra.png", 0.5, 0, 0));
    const auto run = image_validation_run(m, csv, "labels.csv", outs, ValidationRunOptions{0, 200, 3, 0});
    ASSERT_TRUE(run.refused.empty()) << run.refused[0].describe();
    EXPECT_EQ(test::codes(run.left_out), "duplicate_image,missing_image,unlabelled_image");
    EXPECT_EQ(run.left_out[1].row, 31);
    EXPECT_EQ(run.report["data"]["scored"], 30);
    EXPECT_EQ(run.report["data"]["format"], "images");
    // The figures are tabular validation's, on the same labels and probabilities.
    const Json expected = validation_report(m.schema, labels, probabilities, {}, 200, 3);
    EXPECT_EQ(json_dump(run.report["metrics"]), json_dump(expected));
    const Json& loc = run.report["localization"];
    EXPECT_EQ(loc["images"], 15);
    EXPECT_EQ(loc["hits"], 10);
    EXPECT_DOUBLE_EQ(loc["pointing_game"].get<double>(), 10.0 / 15.0);
    EXPECT_DOUBLE_EQ(loc["energy_in_box"].get<double>(), 10.0 / 15.0);
    EXPECT_LT(loc["pointing_game_ci"][0].get<double>(), 10.0 / 15.0);
    EXPECT_GT(loc["pointing_game_ci"][1].get<double>(), 10.0 / 15.0);
    // What a screen reader hears: the counts of this run, in the core's words.
    EXPECT_EQ(image_validation_headline("labels.csv", run.report, run.refused),
              "Validation report for labels.csv: 30 of 31 images scored with a known outcome, 3 left out; "
              "pointing game 10 of 15.");
}

TEST(ImageValidationRun, RefusesBoxesOutsideTheImageAndTooFewImages) {
    Model m;
    m.schema = schema();
    m.imaging = ImageModel{};
    std::vector<ImageOutput> outs{output("a.png", 0.9, 0, 0), output("b.png", 0.1, 0, 0)};
    const auto run = image_validation_run(m, "image,opacity,x0,y0,x1,y1\na.png,1,0,0,250,10\nb.png,0,,,,\n",
                                          "labels.csv", outs, ValidationRunOptions{0, 100, 1, 0});
    ASSERT_EQ(test::codes(run.left_out), "box_outside");
    EXPECT_EQ(run.left_out[0].field, "x1");
    EXPECT_EQ(run.left_out[0].row, 1);
    EXPECT_NE(run.left_out[0].message.find("200 x 100"), std::string::npos);
    EXPECT_EQ(test::codes(run.refused), "too_few_rows");
    EXPECT_TRUE(run.report.is_null());
    EXPECT_EQ(image_validation_headline("labels.csv", run.report, run.refused),
              "labels.csv could not be checked: " + run.refused[0].message + ".");
}

// The Validate view's recalibration of an imaging model: the sets refitted on the run's scored
// images by the fit a file of patients gets (conformal_fit_site), kept as JSON on the device, read
// back and applied to a later image's probabilities, whose words say the images it came from.
TEST(ImageValidationRun, RecalibratesThePredictionSetsOnTheLabelledImages) {
    Model m;
    m.schema = schema();
    m.imaging = ImageModel{};
    std::string csv = "image,opacity\n";
    std::vector<ImageOutput> outs;
    for (int i = 0; i < 60; ++i) {
        const bool pos = i % 3 == 0;
        const std::string name = "img-" + std::to_string(i) + ".png";
        outs.push_back(output(name, pos ? 0.45 + 0.008 * i : 0.05 + 0.009 * i, 0, 0));
        csv += name + (pos ? ",1\n" : ",0\n");
    }
    const auto run = image_validation_run(m, csv, "labels.csv", outs, ValidationRunOptions{0, 50, 1, 0});
    ASSERT_TRUE(run.refused.empty()) << run.refused[0].describe();
    ASSERT_EQ(run.scored_labels.size(), 60u);
    const Conformal local = conformal_fit_site(m.schema.outputs, run.probabilities, run.scored_labels, {},
                                               "this site's images (labels.csv)");
    EXPECT_TRUE(local.local);
    EXPECT_EQ(local.rows, 60u);
    // The same calibrator as the class sets' own fit on the same rows.
    const Conformal direct = conformal_fit(run.probabilities, run.scored_labels, 2, kConformalLevels, "");
    ASSERT_EQ(local.levels.size(), direct.levels.size());
    for (size_t l = 0; l < local.levels.size(); ++l) EXPECT_EQ(local.levels[l].threshold, direct.levels[l].threshold);
    // On the images it was fitted on, every level is covered.
    const Json cov = conformal_site_coverage(m.schema.outputs, local, run.probabilities, run.scored_labels, {});
    for (const Json& l : cov["levels"]) EXPECT_GE(l["coverage"].get<double>(), l["level"].get<double>() - 1e-12);
    // Kept as JSON on the device and read back for this bundle: a later image gets its band.
    auto back = conformal_from_json(conformal_to_json(local), conformal_width(m.schema.outputs), "local calibrator");
    ASSERT_TRUE(back) << back.error().describe();
    back->local = true;
    Schema later = m.schema;
    later.outputs.conformal = *back;
    const std::vector<double> clear{0.99, 0.01}, clearly{0.01, 0.99};
    EXPECT_EQ(
        conformal_words(later, clear),
        "Triage band (90% confidence): low — Opacity ruled out (calibrated on this site's images, on this device)");
    EXPECT_EQ(conformal_words(later, clearly).rfind("Triage band (90% confidence): high — No opacity ruled out", 0),
              0u);
}
