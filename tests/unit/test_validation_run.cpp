// tests/unit/test_validation_run.cpp — one validation run (shared/metrics/validation.h,
// validation_run), as `localdx evaluate` and the browser's Validate view both call it, on the real
// demo bundles and the real data sets: the report it makes, the resamples it draws, and each
// refusal with its reason.
#include <gtest/gtest.h>

#include "client/core_api.h"
#include "metrics/validation.h"
#include "support.h"

namespace ldx {
namespace {

const std::string kDemo = LOCALDX_DEMO_DIR;  // scripts/demo-bundles output (ctest fixture)
const int64_t kNow = 1800000000;

std::shared_ptr<LoadedModel> load(const std::string& name) {
    auto r = core_load_bundle(test::read_file(kDemo + "/bundles/" + name + "-1.ldxb"),
                              test::read_file(kDemo + "/keys/trust.json"), kNow, "{}");
    EXPECT_TRUE(r.model) << json_dump(r.error);
    return r.model;
}

// The first `rows` patients of a data set, with its header.
std::string head(const std::string& text, size_t rows) {
    size_t at = 0;
    for (size_t i = 0; i <= rows && at != std::string::npos; ++i) at = text.find('\n', at + 1);
    return at == std::string::npos ? text : text.substr(0, at + 1);
}

TEST(ValidationRun, MakesTheReportOfItsStepsOnALabelledFile) {
    auto m = load("pima-diabetes");
    ASSERT_TRUE(m);
    const std::string text = head(test::read_file(test::data_path("pima-diabetes")), 200);
    const ValidationRun run = validation_run(m->model, text, "site.csv", ValidationRunOptions{kNow, 50, 7, 0});
    ASSERT_TRUE(run.refused.empty()) << run.refused[0].describe();
    EXPECT_EQ(run.bootstrap, 50);
    EXPECT_EQ(run.file.rows.size(), 200u);
    EXPECT_EQ(run.scored.labels.size() + run.scored.left_out.size(), 200u);
    EXPECT_EQ(run.report["data"]["file"], "site.csv");
    EXPECT_EQ(run.report["data"]["scored"], run.scored.labels.size());
    EXPECT_EQ(run.report["metrics"]["bootstrap_resamples"], 50);
    // The words the CLI, the view and the page's announcement share.
    const std::string counts = std::to_string(200) + " rows read, " + std::to_string(run.scored.labels.size()) +
                               " scored with a known outcome, " + std::to_string(run.scored.left_out.size()) +
                               " left out";
    EXPECT_EQ(validation_counts(run.report), counts);
    EXPECT_EQ(validation_headline("site.csv", run.report, run.refused),
              "Validation report for site.csv: " + counts + ".");
    // The same report as each step called by hand: read, score, document.
    const PatientFile file =
        patients_read(m->model.schema, text, PatientReadOptions{kNow, {}, m->model.schema.outputs.column});
    auto scored = validation_score(m->model, file);
    ASSERT_TRUE(scored);
    EXPECT_EQ(json_dump(run.report),
              json_dump(validation_document(m->model, file, "site.csv", sha256_hex(text), *scored, 50, 7)));
}

TEST(ValidationRun, DrawsFewerResamplesForALargeFileWhenAskedNeverFewerThan200) {
    auto m = load("pima-diabetes");
    ASSERT_TRUE(m);
    const std::string text = head(test::read_file(test::data_path("pima-diabetes")), 100);
    const ValidationRun all = validation_run(m->model, text, "a.csv", ValidationRunOptions{kNow, 1000, 1, 0});
    ASSERT_TRUE(all.refused.empty());
    const size_t rows = all.scored.labels.size();
    EXPECT_EQ(all.bootstrap, 1000);
    // Room for 300 resamples of these rows.
    const ValidationRun some = validation_run(m->model, text, "a.csv", ValidationRunOptions{kNow, 1000, 1, rows * 300});
    EXPECT_EQ(some.bootstrap, 300);
    EXPECT_EQ(some.report["metrics"]["bootstrap_resamples"], 300);
    const ValidationRun floor = validation_run(m->model, text, "a.csv", ValidationRunOptions{kNow, 1000, 1, 1});
    EXPECT_EQ(floor.bootstrap, 200);
    const ValidationRun few = validation_run(m->model, text, "a.csv", ValidationRunOptions{kNow, 50, 1, 1});
    EXPECT_EQ(few.bootstrap, 50);  // never more than asked
}

TEST(ValidationRun, RefusesWithTheReasonAndKeepsTheRowsLeftOut) {
    auto m = load("pima-diabetes");
    ASSERT_TRUE(m);
    const std::string data = test::read_file(test::data_path("pima-diabetes"));
    auto refusal = [&](const std::string& text) {
        const ValidationRun r = validation_run(m->model, text, "f.csv", ValidationRunOptions{kNow, 20, 1, 0});
        EXPECT_TRUE(r.report.is_null());
        return r.refused.empty() ? std::string("none") : r.refused[0].code;
    };
    EXPECT_EQ(refusal(std::string(kMaxPatientFileBytes + 1, 'x')), "too_large");
    EXPECT_EQ(refusal(""), validation_run(m->model, "", "f.csv", {}).file.problems.at(0).code);
    // No outcome column: the first eight columns only.
    std::string no_label;
    for (size_t at = 0; at < data.size();) {
        const size_t end = data.find('\n', at);
        const std::string line = data.substr(at, end - at);
        size_t cut = 0;
        for (int c = 0; c < 8 && cut != std::string::npos; ++c) cut = line.find(',', cut + (c ? 1 : 0));
        no_label += line.substr(0, cut) + "\n";
        if (end == std::string::npos) break;
        at = end + 1;
    }
    EXPECT_EQ(refusal(head(no_label, 50)), "missing_label_column");
    // Ten patients, one with an outcome that is not a class: too few rows, and that row listed.
    std::string ten = head(data, 10);
    const size_t last = ten.rfind(',', ten.size() - 2);
    ten = ten.substr(0, last + 1) + "maybe\n";
    const ValidationRun r = validation_run(m->model, ten, "f.csv", ValidationRunOptions{kNow, 20, 1, 0});
    ASSERT_FALSE(r.refused.empty());
    EXPECT_EQ(r.refused[0].code, "too_few_rows");
    EXPECT_EQ(validation_headline("f\x1b.csv", r.report, r.refused),
              "f?.csv could not be checked: " + r.refused[0].message + ".");
    EXPECT_EQ(validation_headline("f.csv", Json(nullptr), {}), "f.csv could not be checked: no patients.");
    ASSERT_EQ(r.scored.left_out.size(), 1u);
    EXPECT_EQ(r.scored.left_out[0].row, 10);
    // A model only ONNX Runtime runs cannot be scored here.
    auto mlp = load("wdbc-mlp");
    ASSERT_TRUE(mlp);
    const ValidationRun onnx = validation_run(mlp->model, head(test::read_file(test::data_path("wdbc")), 50), "w.csv",
                                              ValidationRunOptions{kNow, 20, 1, 0});
    ASSERT_FALSE(onnx.refused.empty());
    EXPECT_EQ(onnx.refused[0].code, "no_trees");
}

}  // namespace
}  // namespace ldx
