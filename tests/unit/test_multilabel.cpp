// tests/unit/test_multilabel.cpp — multi-label models (outputs.kind "multilabel"): the schema's
// findings and their problems, the result's words, per-finding thresholds and figures, and a heat
// map per finding from a stand-in model that sees two squares, one per finding; prediction sets per finding;
// the card's per-finding reliability tables and each finding's performance estimated from them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "conformal/conformal.h"
#include "drift/estimate.h"
#include "drift/histogram.h"
#include "drift/report.h"
#include "imaging/image_model.h"
#include "metrics/evaluation.h"
#include "metrics/image_validation.h"
#include "metrics/multilabel.h"
#include "predict/findings.h"
#include "predict/predict.h"
#include "schema/schema.h"
#include "support.h"

using namespace ldx;

namespace {
const char* kSchema = R"({"task": "two-squares", "title": "Two squares",
  "outputs": {"kind": "multilabel", "findings": [
      {"name": "left", "label": "Left square", "threshold": 0.5},
      {"name": "right", "label": "Right square", "threshold": 0.25}]},
  "image": {"label": "Test image", "formats": ["png"],
            "tensor": {"name": "image", "layout": "NCHW", "channels": 1, "height": 32, "width": 32},
            "preprocess": {"intensity": {"kind": "range", "min": 0, "max": 255}, "resize": "bilinear",
                           "mean": [0], "std": [1]}}})";

Schema schema() { return *schema_parse(kSchema); }

// Parses the schema after `edit` and returns its problems' paths and messages, one string.
std::string problems_after(const std::function<void(Json&)>& edit) {
    Json j = Json::parse(kSchema);
    edit(j);
    auto s = schema_from_json(j);
    if (s) return "";
    std::string out;
    for (const Problem& p : s.problems()) out += p.field + ": " + p.message + "\n";
    return out;
}
}  // namespace

//-----------------------------------------------------------------------------
// The schema
//-----------------------------------------------------------------------------
TEST(Multilabel, SchemaReadsFindingsWithTheirThresholdsAndWritesThemBack) {
    const Schema s = schema();
    ASSERT_EQ(s.outputs.kind, TaskKind::multilabel);
    ASSERT_EQ(s.num_classes(), 2);
    EXPECT_EQ(s.outputs.classes[1].name, "right");
    EXPECT_EQ(s.outputs.classes[1].label, "Right square");
    EXPECT_EQ(s.outputs.thresholds, (std::vector<double>{0.5, 0.25}));
    const Json j = schema_to_json(s);
    EXPECT_EQ(j["outputs"]["kind"], "multilabel");
    EXPECT_FALSE(j["outputs"].contains("column"));
    auto again = schema_from_json(j);
    ASSERT_TRUE(again) << again.error().describe();
    EXPECT_EQ(again->outputs.thresholds, s.outputs.thresholds);
    // A threshold left out is 0.5.
    Json k = Json::parse(kSchema);
    k["outputs"]["findings"][1].erase("threshold");
    EXPECT_EQ(schema_from_json(k)->outputs.thresholds[1], 0.5);
}

TEST(Multilabel, SchemaProblemsNameTheFindingAndSayWhatToDo) {
    EXPECT_NE(problems_after([](Json& j) {
                  j["outputs"]["findings"].erase(1);
              }).find("outputs.findings: findings must list 2 to 64 findings"),
              std::string::npos);
    EXPECT_NE(problems_after([](Json& j) {
                  j["outputs"]["findings"][1]["name"] = "left";
              }).find("outputs.findings[1].name: finding 'left' is listed twice"),
              std::string::npos);
    EXPECT_NE(problems_after([](Json& j) {
                  j["outputs"]["findings"][0]["name"] = "x0";
              }).find("outputs.findings[0].name: 'x0' is a column a labels file already has"),
              std::string::npos);
    EXPECT_NE(problems_after([](Json& j) {
                  j["outputs"]["findings"][0]["name"] = "absent";
              }).find("outputs.findings[0].name: 'absent' names the other side of every finding"),
              std::string::npos);
    EXPECT_NE(
        problems_after([](Json& j) { j["outputs"]["findings"][0]["name"] = "left lung"; }).find("is not an identifier"),
        std::string::npos);
    EXPECT_NE(problems_after([](Json& j) {
                  j["outputs"]["findings"][1]["threshold"] = 1.0;
              }).find("outputs.findings[1].threshold: a finding's threshold must lie strictly between 0 and 1"),
              std::string::npos);
    EXPECT_NE(problems_after([](Json& j) {
                  j["outputs"]["column"] = "y";
              }).find("outputs.column: a multilabel task has no single label column"),
              std::string::npos);
    EXPECT_NE(problems_after([](Json& j) {
                  j["outputs"]["conformal"] = Json::object();
              }).find("outputs.conformal: a multilabel task's conformal calibrators are each finding's"),
              std::string::npos);
    EXPECT_NE(problems_after([](Json& j) { j.erase("image"); }).find("outputs.kind: a multilabel task reads an image"),
              std::string::npos);
    EXPECT_NE(problems_after([](Json& j) {
                  j["outputs"]["kind"] = "multi";
              }).find("kind must be binary, ordinal, multiclass, regression or multilabel, not 'multi'"),
              std::string::npos);
    EXPECT_NE(problems_after([](Json& j) { j["outputs"]["findings"][0]["colour"] = "red"; }).find("colour"),
              std::string::npos);
}

//-----------------------------------------------------------------------------
// The result's words
//-----------------------------------------------------------------------------
TEST(Multilabel, EachFindingIsCalledAgainstItsOwnThreshold) {
    const Schema s = schema();
    const std::vector<double> both{0.64, 0.71}, right{0.4, 0.3}, none{0.3, 0.1};
    EXPECT_EQ(findings_above(s, both), (std::vector<int>{1, 0}));  // the most probable first
    EXPECT_EQ(findings_words(s, both), "Findings above their thresholds: Right square 71%, Left square 64%.");
    // 0.4 is the more probable, but only the right square passes its own threshold (0.25).
    EXPECT_EQ(findings_above(s, right), (std::vector<int>{1}));
    EXPECT_EQ(findings_words(s, right), "Finding above its threshold: Right square 30%.");
    EXPECT_EQ(decide(s, right), 1);
    EXPECT_TRUE(findings_above(s, none).empty());
    EXPECT_EQ(findings_words(s, none),
              "No finding is above its threshold; the most probable is Left square at 30% (threshold 50%).");
    EXPECT_EQ(decide(s, none), 0);
    const Json j = findings_json(s, right);
    ASSERT_EQ(j.size(), 2u);
    EXPECT_EQ(j[0]["above"], false);
    EXPECT_EQ(j[1]["above"], true);
    EXPECT_EQ(j[1]["threshold"], 0.25);
    EXPECT_EQ(finding_percent(0.004), "<1%");
    EXPECT_EQ(finding_percent(0.996), ">99%");
    EXPECT_EQ(finding_percent(1.0), "100%");
}

//-----------------------------------------------------------------------------
// Thresholds and figures per finding
//-----------------------------------------------------------------------------
namespace {
// 40 rows: finding "left" present in rows 0..19 with scores that separate it perfectly above 0.6;
// "right" present in every third row with scores that rank the present rows first only half the time.
struct Rows {
    std::vector<double> p;
    std::vector<int> y;
};
Rows rows() {
    Rows r;
    for (int i = 0; i < 40; ++i) {
        const int left = i < 20, right = i % 3 == 0;
        r.y.push_back(left);
        r.y.push_back(right);
        r.p.push_back(left ? 0.6 + 0.01 * i : 0.5 - 0.01 * (i - 20));
        r.p.push_back(right ? (i % 2 ? 0.8 : 0.2) : 0.5);
    }
    return r;
}
// The rows as a validation's inputs: one scored 32 x 32 image per row (named PREFIX-i.png, a
// one-cell map) and the labels CSV naming each image with its findings.
struct ScoredImages {
    std::vector<ImageOutput> outputs;
    std::string labels_csv = "image,left,right\n";
};
ScoredImages scored_images(const Rows& r, const std::string& prefix) {
    ScoredImages out;
    for (size_t i = 0; i < r.y.size() / 2; ++i) {
        ImageOutput o;
        o.image = prefix + "-" + std::to_string(i) + ".png";
        o.width = o.height = 32;
        o.probabilities = {r.p[2 * i], r.p[2 * i + 1]};
        o.map_height = o.map_width = 1;
        o.map = {0.0};
        out.labels_csv += o.image + "," + std::to_string(r.y[2 * i]) + "," + std::to_string(r.y[2 * i + 1]) + "\n";
        out.outputs.push_back(std::move(o));
    }
    return out;
}
}  // namespace

TEST(Multilabel, ThresholdsAreChosenPerFindingByTheSamePolicies) {
    const Schema s = schema();
    const Rows r = rows();
    auto t = finding_thresholds(s, "youden", r.p, r.y);
    ASSERT_TRUE(t) << t.error().describe();
    ASSERT_EQ(t->size(), 2u);
    EXPECT_DOUBLE_EQ((*t)[0], 0.6);  // the lowest score of a present left square: all right, no false alarm
    auto fixed = finding_thresholds(s, "fixed:0.3", r.p, r.y);
    ASSERT_TRUE(fixed);
    EXPECT_EQ(*fixed, (std::vector<double>{0.3, 0.3}));
    auto bad = finding_thresholds(s, "npv>=0.99", r.p, r.y);  // the right square never reaches it
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, "unreachable");
    EXPECT_EQ(bad.error().field, "right");
    EXPECT_EQ(bad.error().message.rfind("right: ", 0), 0u) << bad.error().message;
    EXPECT_FALSE(finding_thresholds(s, "youden", r.p, std::vector<int>(3, 0)));
}

TEST(Multilabel, TheReportGivesEachFindingsBinaryFiguresAndTheirMacroMean) {
    const Schema s = schema();
    const Rows r = rows();
    const Json rep = multilabel_report(s, r.y, r.p, 50, 7);
    EXPECT_EQ(rep["kind"], "multilabel");
    EXPECT_EQ(rep["rows"], 40);
    const Json& left = rep["findings"]["left"];
    const Json& right = rep["findings"]["right"];
    EXPECT_DOUBLE_EQ(left["class"]["left"]["auc_roc"]["value"].get<double>(), 1.0);
    // Right square: 14 present rows (i % 3 == 0), 7 scored 0.8, 7 scored 0.2; 26 absent at 0.5.
    // AUC = (7 x 26 wins + 7 x 0 wins) / (14 x 26) = 0.5.
    EXPECT_DOUBLE_EQ(right["class"]["right"]["auc_roc"]["value"].get<double>(), 0.5);
    EXPECT_DOUBLE_EQ(right["prevalence"].get<double>(), 14.0 / 40);
    EXPECT_DOUBLE_EQ(right["threshold"].get<double>(), 0.25);
    // At 0.25 the right square alerts on the 7 rows at 0.8 and every absent row (0.5): sensitivity 0.5.
    EXPECT_DOUBLE_EQ(right["class"]["right"]["sensitivity"]["value"].get<double>(), 0.5);
    EXPECT_DOUBLE_EQ(right["class"]["right"]["specificity"]["value"].get<double>(), 0.0);
    EXPECT_DOUBLE_EQ(rep["macro"]["auc_roc"]["value"].get<double>(), 0.75);
    EXPECT_EQ(rep["macro"]["auc_roc"]["findings"], 2);
    EXPECT_TRUE(left["class"]["left"]["auc_roc"].contains("ci95"));
    EXPECT_TRUE(right.contains("decision_curve"));
}

//-----------------------------------------------------------------------------
// A heat map per finding
//-----------------------------------------------------------------------------
namespace {
// The stand-in sees two 8 x 8 squares: "left" at columns 4..11, "right" at 20..27, rows 8..15.
// Its probability per finding is the square's mean brightness; its CAM per finding is that
// square's brightness per 4 x 4 cell.
constexpr int kSide = 32;
constexpr int kLeft = 4, kRight = 20, kTop = 8;
float square(const float* image, int x0) {
    double s = 0;
    for (int y = kTop; y < kTop + 8; ++y)
        for (int x = x0; x < x0 + 8; ++x) s += image[y * kSide + x];
    return static_cast<float>(s / 64);
}
void add_cam(const float* image, int x0, std::vector<float>& cam) {
    std::vector<float> one(64, 0.0f);
    for (int y = kTop; y < kTop + 8; ++y)
        for (int x = x0; x < x0 + 8; ++x) one[static_cast<size_t>((y / 4) * 8 + x / 4)] += image[y * kSide + x] / 16;
    cam.insert(cam.end(), one.begin(), one.end());
}

ImageJob run_two_squares(const ImageModel& m, const Schema& s) {
    Tensor t;
    t.shape = {1, 1, kSide, kSide};
    t.data.assign(kSide * kSide, 0.0f);
    for (int y = kTop; y < kTop + 8; ++y)
        for (int x = 0; x < 8; ++x) {
            t.data[static_cast<size_t>(y * kSide + kLeft + x)] = 0.9f;
            t.data[static_cast<size_t>(y * kSide + kRight + x)] = 0.6f;
        }
    ImageJob job = image_job_start(t);
    const size_t size = kSide * kSide;
    while (image_job_pending(job, m, *s.image) > 0) {
        const bool first = job.stage == ImageJob::Stage::image;
        const std::vector<float> x = image_job_inputs(job, m, *s.image, 16);
        std::vector<float> p, cam;
        for (size_t n = 0; n < x.size() / size; ++n) {
            p.push_back(square(x.data() + n * size, kLeft));
            p.push_back(square(x.data() + n * size, kRight));
            if (first) {
                add_cam(x.data() + n * size, kLeft, cam);
                add_cam(x.data() + n * size, kRight, cam);
            }
        }
        EXPECT_TRUE(
            image_job_give(job, m, s, *s.image, p, first && m.map == MapKind::cam ? cam : std::vector<float>{}));
    }
    return job;
}

// The map cell (row, column) of a map's maximum.
std::pair<int, int> peak(const HeatMap& h) {
    const auto at = std::max_element(h.values.begin(), h.values.end()) - h.values.begin();
    return {static_cast<int>(at) / h.width, static_cast<int>(at) % h.width};
}

ImageModel two_square_model(MapKind kind) {
    ImageModel m;
    m.probabilities = "probabilities";
    m.probability_width = 2;
    m.map = kind;
    m.map_height = m.map_width = 8;
    if (kind == MapKind::cam) {
        m.map_output = "cam";
        m.map_classes = 2;
    } else {
        m.patch = 8;
        m.stride = 4;
    }
    return m;
}
}  // namespace

TEST(Multilabel, ACamModelGivesOneMapPerFindingAndExplainsTheFindingAboveFirst) {
    const Schema s = schema();
    const ImageJob job = run_two_squares(two_square_model(MapKind::cam), s);
    ASSERT_EQ(job.stage, ImageJob::Stage::done);
    EXPECT_NEAR(job.probabilities[0], 0.9, 1e-6);
    EXPECT_NEAR(job.probabilities[1], 0.6, 1e-6);
    EXPECT_EQ(job.explained, 0);  // both above; the left square is the more probable
    ASSERT_EQ(job.maps.size(), 2u);
    EXPECT_EQ(peak(job.maps[0]).second / 2, kLeft / 8);  // columns 4..11: cells 1..2
    EXPECT_GE(peak(job.maps[1]).second, kRight / 4);     // columns 20..27: cells 5..6
    EXPECT_EQ(job.maps[0].values, job.map.values);
    // Nothing of the right square is in the left square's map.
    for (int y = 0; y < 8; ++y) EXPECT_EQ(job.maps[0].values[static_cast<size_t>(y * 8 + 6)], 0.0f);
}

TEST(Multilabel, OcclusionGivesEveryFindingsMapFromTheSameRuns) {
    const Schema s = schema();
    const ImageModel m = two_square_model(MapKind::occlusion);
    const ImageJob job = run_two_squares(m, s);
    ASSERT_EQ(job.stage, ImageJob::Stage::done);
    ASSERT_EQ(job.maps.size(), 2u);
    EXPECT_EQ(job.runs, size_t{1 + 49 + 2 * (kDeletionSteps + 1)});  // no run more than one map costs
    const auto [ly, lx] = peak(job.maps[0]);
    const auto [ry, rx] = peak(job.maps[1]);
    EXPECT_TRUE(ly >= 2 && ly < 4 && lx >= 1 && lx < 3) << ly << ", " << lx;
    EXPECT_TRUE(ry >= 2 && ry < 4 && rx >= 5 && rx < 7) << ry << ", " << rx;
    EXPECT_EQ(job.maps[0].values, job.map.values);
}

TEST(Multilabel, TheModelDescriptionNeedsOneProbabilityPerFinding) {
    const Schema s = schema();
    Json j = image_model_to_json(two_square_model(MapKind::cam));
    j["check"] = {{"images", 1}, {"probabilities", {0.1, 0.2}}};
    EXPECT_TRUE(image_model_from_json(j, s));
    j["probabilities"]["width"] = 1;
    auto bad = image_model_from_json(j, s);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("the number of findings"), std::string::npos);
}

//-----------------------------------------------------------------------------
// Validation on labelled images: one column per finding
//-----------------------------------------------------------------------------
TEST(Multilabel, TheLabelsFileHasAColumnPerFindingOfOnesAndZeros) {
    const Schema s = schema();
    const auto l = image_labels_read(s,
                                     "image,left,right\n"
                                     "a.png,1,0\n"
                                     "b.png,0,1\n"
                                     "c.png,1,yes\n"  // not 1 or 0
                                     "d.png,,1\n");   // missing
    ASSERT_TRUE(l.readable);
    ASSERT_EQ(l.rows.size(), 2u);
    EXPECT_EQ(l.rows[0].findings, (std::vector<int>{1, 0}));
    EXPECT_EQ(l.rows[1].findings, (std::vector<int>{0, 1}));
    ASSERT_EQ(test::codes(l.problems), "bad_label,missing_label");
    EXPECT_EQ(l.problems[0].field, "right");
    EXPECT_EQ(l.problems[0].row, 3);
    EXPECT_EQ(l.problems[0].message, "'yes' in column 'right' is not 1 (Right square present) or 0 (absent)");
    EXPECT_EQ(l.problems[1].field, "left");
    const auto missing = image_labels_read(s, "image,left\na.png,1\n");
    EXPECT_FALSE(missing.readable);
    ASSERT_EQ(test::codes(missing.problems), "missing_column");
    EXPECT_EQ(missing.problems[0].field, "right");
    EXPECT_NE(missing.problems[0].message.find("shows Right square (1) or not (0)"), std::string::npos);
}

TEST(Multilabel, AValidationRunReportsEachFindingAsTheBinaryReportOfItsColumn) {
    Model m;
    m.schema = schema();
    m.imaging = ImageModel{};
    const Rows r = rows();
    const auto [outs, csv] = scored_images(r, "img");
    const auto run = image_validation_run(m, csv, "labels.csv", outs, ValidationRunOptions{0, 100, 5, 0});
    ASSERT_TRUE(run.refused.empty()) << run.refused[0].describe();
    EXPECT_EQ(run.report["data"]["scored"], 40);
    EXPECT_EQ(json_dump(run.report["metrics"]), json_dump(multilabel_report(m.schema, r.y, r.p, 100, 5)));
    // Each finding's figures are a binary validation's of its column.
    const Schema right = finding_schema(m.schema, 1);
    const Json expected = validation_report(right, finding_column(std::span<const int>(r.y), 2, 1),
                                            finding_probabilities(r.p, 2, 1), {}, 100, 5);
    Json got = run.report["metrics"]["findings"]["right"];
    got.erase("prevalence");
    EXPECT_EQ(json_dump(got), json_dump(expected));
    EXPECT_EQ(image_validation_headline("labels.csv", run.report, run.refused),
              "Validation report for labels.csv: 40 of 40 images scored with a known outcome, 0 left out.");

    // Fewer than 5 images without the left square: refused, naming the finding.
    std::string few = "image,left,right\n";
    for (size_t i = 0; i < 40; ++i) few += outs[i].image + "," + (i < 37 ? "1," : "0,") + (i % 2 ? "1\n" : "0\n");
    const auto refused = image_validation_run(m, few, "labels.csv", outs, ValidationRunOptions{0, 100, 5, 0});
    ASSERT_EQ(test::codes(refused.refused), "too_few_in_class");
    EXPECT_EQ(refused.refused[0].field, "left");
    EXPECT_NE(refused.refused[0].message.find("only 3 scored images lack Left square"), std::string::npos);
}

//-----------------------------------------------------------------------------
// Prediction sets per finding
//-----------------------------------------------------------------------------
// A site's recalibration of a multilabel model: each finding's calibrator is the binary one fitted
// on that finding's column, read back from JSON with two thresholds per finding, covering each
// finding on its rows, and the result's words give each finding's band.
TEST(Multilabel, EachFindingGetsItsOwnPredictionSetsFromTheSameFit) {
    Schema s = schema();
    const Rows r = rows();
    const Conformal c = conformal_fit_site(s.outputs, r.p, r.y, {}, "this site's images (labels.csv)");
    EXPECT_TRUE(c.local);
    EXPECT_EQ(c.rows, 40u);
    ASSERT_EQ(conformal_width(s.outputs), 4u);
    for (size_t f = 0; f < 2; ++f) {
        const Conformal one = conformal_fit(finding_probabilities(r.p, 2, f),
                                            finding_column(std::span<const int>(r.y), 2, f), 2, kConformalLevels, "");
        const Conformal mine = conformal_finding(c, f);
        ASSERT_EQ(mine.levels.size(), one.levels.size());
        for (size_t l = 0; l < one.levels.size(); ++l) EXPECT_EQ(mine.levels[l].threshold, one.levels[l].threshold);
    }
    const Json cov = conformal_site_coverage(s.outputs, c, r.p, r.y, {});
    for (const char* f : {"left", "right"})
        for (const Json& l : cov["findings"][f]["levels"])
            EXPECT_GE(l["coverage"].get<double>(), l["level"].get<double>() - 1e-12) << f;
    // Kept as JSON and read back (a schema's calibrator of a multilabel task has 2 per finding).
    auto back = conformal_from_json(conformal_to_json(c), conformal_width(s.outputs), "local calibrator");
    ASSERT_TRUE(back) << back.error().describe();
    EXPECT_FALSE(conformal_from_json(conformal_to_json(c), s.outputs.classes.size(), "local calibrator"));
    back->local = true;
    s.outputs.conformal = *back;
    // Left clearly present (its 90% band keeps only "present"), right at 0.5 (both of its classes).
    const std::vector<double> p{0.99, 0.5};
    EXPECT_EQ(conformal_words(s, p),
              "Triage bands (90% confidence): Left square high, Right square uncertain (calibrated on this site's "
              "images, on this device)");
    const Json j = conformal_prediction_json(s, p);
    EXPECT_EQ(j["bands"]["left"], "high");
    EXPECT_EQ(j["bands"]["right"], "uncertain");
}

// The bundle's calibrator of a multilabel model: fitted on held-out calibration images by the same
// fit as a site's recalibration (image_conformal_fit, as `localdx bundle --calibration-labels`
// does), written in the schema as one binary calibrator per finding, read back the same, its bands
// in the result's words without "calibrated on this site's"; a site's recalibration replaces it.
TEST(Multilabel, TheBundlesCalibratorIsEachFindingsFittedOnHeldOutImages) {
    Schema s = schema();
    const Rows r = rows();
    const auto [outs, csv] = scored_images(r, "cal");
    auto fitted = image_conformal_fit(s, csv, outs, "40 held-out images");
    ASSERT_TRUE(fitted) << fitted.error().describe();
    EXPECT_FALSE(fitted->local);
    EXPECT_EQ(fitted->rows, 40u);
    EXPECT_EQ(fitted->source, "40 held-out images");
    const Conformal fresh = conformal_fit_site(s.outputs, r.p, r.y, {}, "");
    ASSERT_EQ(fitted->levels.size(), fresh.levels.size());
    for (size_t l = 0; l < fresh.levels.size(); ++l) EXPECT_EQ(fitted->levels[l].threshold, fresh.levels[l].threshold);

    // In the schema: one binary calibrator per finding, read back to the same thresholds.
    s.outputs.conformal = *fitted;
    const Json j = schema_to_json(s);
    EXPECT_FALSE(j["outputs"].contains("conformal"));
    for (size_t f = 0; f < 2; ++f) {
        const Json& c = j["outputs"]["findings"][f]["conformal"];
        EXPECT_EQ(c["rows"], 40);
        EXPECT_EQ(c["levels"][1]["threshold"].size(), 2u);
        EXPECT_EQ(c["levels"][1]["threshold"][1].get<double>(), fresh.levels[1].threshold[2 * f + 1]);
    }
    auto back = schema_from_json(j);
    ASSERT_TRUE(back) << back.error().describe();
    EXPECT_FALSE(back->outputs.conformal.local);
    for (size_t l = 0; l < fresh.levels.size(); ++l)
        EXPECT_EQ(back->outputs.conformal.levels[l].threshold, fresh.levels[l].threshold);
    const std::vector<double> p{0.99, 0.5};
    EXPECT_EQ(conformal_words(*back, p), "Triage bands (90% confidence): Left square high, Right square uncertain");
    // A site's recalibration replaces it, and says so.
    back->outputs.conformal = conformal_fit_site(s.outputs, r.p, r.y, {}, "this site's images (labels.csv)");
    EXPECT_NE(conformal_words(*back, p).find("(calibrated on this site's images, on this device)"), std::string::npos);

    // Strict: an image without an output, or an output without a label row, refuses the fit.
    auto missing = image_conformal_fit(s, csv, std::span<const ImageOutput>(outs).first(39), "");
    ASSERT_EQ(test::codes(missing.problems()), "missing_image");
    EXPECT_EQ(missing.problems()[0].row, 40);
    std::vector<ImageOutput> extra = outs;
    extra.push_back(outs[0]);
    extra.back().image = "stray.png";
    EXPECT_EQ(test::codes(image_conformal_fit(s, csv, extra, "").problems()), "unlabelled_image");
    // An image scored twice is refused, naming the second entry (the fit would otherwise use one
    // and the drift reference both).
    std::vector<ImageOutput> twice = outs;
    twice.push_back(outs[3]);
    auto repeated = image_conformal_fit(s, csv, twice, "");
    ASSERT_EQ(test::codes(repeated.problems()), "duplicate_image");
    EXPECT_EQ(repeated.problems()[0].field, "images[40].image");
}

TEST(Multilabel, SchemaPerFindingCalibratorProblemsNameTheField) {
    const Rows r = rows();
    Schema s = schema();
    s.outputs.conformal = conformal_fit_site(s.outputs, r.p, r.y, {}, "40 held-out images");
    s.outputs.conformal.local = false;
    const Json good = schema_to_json(s);
    auto problems = [&](const std::function<void(Json&)>& edit) {
        Json j = good;
        edit(j);
        auto back = schema_from_json(j);
        if (back) return std::string();
        std::string out;
        for (const Problem& p : back.problems()) out += p.field + ": " + p.message + "\n";
        return out;
    };
    EXPECT_EQ(problems([](Json&) {}), "");
    EXPECT_NE(problems([](Json& j) {
                  j["outputs"]["findings"][1].erase("conformal");
              }).find("outputs.findings[1].conformal: every finding carries its conformal calibrator"),
              std::string::npos);
    EXPECT_NE(
        problems([](Json& j) {
            j["outputs"]["findings"][0]["conformal"]["levels"][1]["threshold"].push_back(0.5);
        }).find("outputs.findings[0].conformal.levels[1].threshold: threshold must hold one number per class (2)"),
        std::string::npos);
    EXPECT_NE(problems([](Json& j) {
                  j["outputs"]["findings"][1]["conformal"]["rows"] = 39;
              }).find("outputs.findings[1].conformal.rows: rows must be the same for every finding (40)"),
              std::string::npos);
    EXPECT_NE(problems([](Json& j) { j["outputs"]["findings"][1]["conformal"]["levels"][2]["level"] = 0.99; })
                  .find("outputs.findings[1].conformal.levels[2].level: every finding's calibrator must have the same "
                        "levels"),
              std::string::npos);
    EXPECT_NE(problems([](Json& j) {
                  j["outputs"]["findings"][0]["conformal"]["levels"][0]["threshold"][1] = 1.5;
              }).find("outputs.findings[0].conformal.levels[0].threshold: thresholds must lie in [0, 1]"),
              std::string::npos);
}

//-----------------------------------------------------------------------------
// The card's reliability table per finding, and each finding's estimated performance
//-----------------------------------------------------------------------------
// `localdx bundle --calibration-labels` writes the card's evaluation from the held-out calibration
// images (image_card_metrics): per finding a reliability table of P(finding) in the bins of that
// finding's reference histogram. The drift report reads each one (calibration_from_reliability) and
// estimates the finding's figures from its own randomized histogram with the binary estimator.
// Each finding is miscalibrated its own way (true log-odds a z + b of the model's z), so only its
// own table gets its figures right: a day of 40,000 patients (about 20,000 counted in each
// finding's histogram) holds each finding's true AUC and sensitivity in the interval.
TEST(Multilabel, TheCardsPerFindingReliabilityTablesEstimateEachFindingsPerformance) {
    const Schema s = schema();
    const size_t k = 2;
    std::mt19937_64 rng(17);
    std::uniform_real_distribution<double> u(0, 1);
    const double a[k] = {0.6, 1.5}, b[k] = {-0.4, 0.5};
    // One image: the model's probability of each finding, and whether the finding is there.
    auto image = [&](std::vector<double>& p, std::vector<int>& y) {
        for (size_t f = 0; f < k; ++f) {
            const double z = std::normal_distribution<double>(f == 0 ? -0.5 : -1.0, 1.3)(rng);
            p.push_back(1 / (1 + std::exp(-z)));
            y.push_back(u(rng) < 1 / (1 + std::exp(-(a[f] * z + b[f]))) ? 1 : 0);
        }
    };
    std::string csv = "image,left,right\n";
    std::vector<ImageOutput> outs;
    std::vector<double> held_p;
    std::vector<int> held_y;
    for (size_t i = 0; i < 2000; ++i) {
        ImageOutput o;
        o.image = "cal-" + std::to_string(i) + ".png";
        o.width = o.height = 32;
        image(o.probabilities, held_y);
        held_p.insert(held_p.end(), o.probabilities.begin(), o.probabilities.end());
        csv += o.image + "," + std::to_string(held_y[2 * i]) + "," + std::to_string(held_y[2 * i + 1]) + "\n";
        outs.push_back(std::move(o));
    }
    auto metrics = image_card_metrics(s, csv, outs, "2,000 held-out images", 0, 1);
    ASSERT_TRUE(metrics) << metrics.error().describe();
    EXPECT_EQ((*metrics)["kind"], "multilabel");
    EXPECT_NE((*metrics)["method"].get<std::string>().find("2,000 held-out images"), std::string::npos);
    const Reference ref = reference_build(s, {}, held_p);
    ASSERT_EQ(ref.classes.size(), k);
    std::vector<CalibrationByBin> tables;
    for (size_t f = 0; f < k; ++f) {
        const std::string& name = s.outputs.classes[f].name;
        const Json& m = (*metrics)["findings"][name];
        EXPECT_EQ(m["calibration"]["of"], "P(" + name + ")");
        auto t = calibration_from_reliability(m["calibration"]["reliability"], ref.classes[f]);
        ASSERT_TRUE(t) << name << ": " << t.error().describe();
        uint64_t rows = 0, positives = 0, present = 0;
        for (size_t bin = 0; bin < t->rows.size(); ++bin) rows += t->rows[bin], positives += t->positives[bin];
        for (size_t i = 0; i < 2000; ++i) present += held_y[2 * i + f];
        EXPECT_EQ(rows, 2000u) << name;
        EXPECT_EQ(positives, present) << name;
        tables.push_back(*t);
    }
    // The other finding's table is another calibration: it moves the estimate.
    EXPECT_NE(tables[0].positives, tables[1].positives);

    // A day of patients from the same images, randomized as the browser's report builder does.
    ReportBuilder rb = report_builder(s, ref, "two-squares", 1, "2026-12-05");
    const int patients = 40000;
    std::vector<double> day_p;
    std::vector<int> day_y;
    for (int i = 0; i < patients; ++i) {
        std::vector<double> p;
        image(p, day_y);
        day_p.insert(day_p.end(), p.begin(), p.end());
        report_add(rb, {}, p, 0, rng);
    }
    for (size_t f = 0; f < k; ++f) {
        const std::string& name = s.outputs.classes[f].name;
        const std::vector<double> score = finding_column(day_p, k, f);
        const std::vector<int> truth = finding_column(day_y, k, f);
        const double true_auc = auc_roc(score, truth, 1);
        const double true_sens = confusion_at(score, truth, s.outputs.thresholds[f]).sensitivity();
        uint64_t n = 0;
        for (uint64_t c : rb.report.probabilities[f]) n += c;
        const PerformanceEstimate e =
            performance_estimate(ref.classes[f], rb.report.probabilities[f], n, s.privacy.epsilon,
                                 s.outputs.thresholds[f], patients, 100 + f, 400, tables[f]);
        std::printf("%s: AUC %.3f [%.3f, %.3f] true %.3f; sensitivity %.3f [%.3f, %.3f] true %.3f\n", name.c_str(),
                    e.auc.value, e.auc.lo, e.auc.hi, true_auc, e.sensitivity.value, e.sensitivity.lo, e.sensitivity.hi,
                    true_sens);
        EXPECT_LE(e.auc.lo, true_auc) << name;
        EXPECT_GE(e.auc.hi, true_auc) << name;
        EXPECT_LE(e.sensitivity.lo, true_sens) << name;
        EXPECT_GE(e.sensitivity.hi, true_sens) << name;
        EXPECT_LT(e.auc.hi - e.auc.lo, 0.1) << name;  // an interval that says something
        // Estimated with the other finding's table, the sensitivity misses.
        const PerformanceEstimate other =
            performance_estimate(ref.classes[f], rb.report.probabilities[f], n, s.privacy.epsilon,
                                 s.outputs.thresholds[f], patients, 100 + f, 400, tables[1 - f]);
        EXPECT_TRUE(true_sens < other.sensitivity.lo || true_sens > other.sensitivity.hi) << name;
    }
}
