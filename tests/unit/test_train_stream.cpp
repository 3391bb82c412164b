// tests/unit/test_train_stream.cpp — training over batches (train/stream.h): the CSV read in
// batches gives the rows and features of the whole file, shards partition it, problems name the
// file and its own row number, and XGBoost's external memory gives the model the same folds give
// in memory.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <unistd.h>

#include "train/dataset.h"
#include "train/stream.h"
#include "train/synth.h"
#include "train/train.h"
#include "train/tune.h"

namespace ldx {
namespace {

struct Task {
    Schema schema;
    std::string csv, path;
};

Task synthetic(size_t rows, const std::string& name) {
    SynthConfig c;
    c.rows = rows;
    c.fields = 8;
    c.seed = 4;
    const SynthData d = synth_generate(c);
    auto s = schema_from_json(d.schema);
    EXPECT_TRUE(s);
    const auto dir = std::filesystem::temp_directory_path() / ("ldx-stream-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    const std::string path = (dir / name).string();
    std::ofstream(path) << d.csv;
    return {*s, d.csv, path};
}

// Early stopping, as both trainings use it: the curve is every round's held-out metric, the best
// round the lowest, and training stops `patience` rounds after it.
TEST(TrainStream, EarlyStoppingStopsPatienceRoundsAfterTheBestRound) {
    EarlyStopping stop{2};
    const std::vector<double> metric{0.9, 0.7, 0.6, 0.65, 0.61, 0.62};
    std::vector<bool> going;
    for (size_t r = 0; r < metric.size(); ++r) going.push_back(stop(static_cast<int>(r), metric[r]));
    EXPECT_EQ(going, (std::vector<bool>{true, true, true, true, false, false}));
    EXPECT_EQ(stop.best, 2);
    EXPECT_EQ(stop.curve, metric);
    EXPECT_EQ(stop.fold_line(0, 5, false), "fold 1/5: best round 3, held-out log-loss 0.600000");
    EXPECT_EQ(EarlyStopping{3}.fold_line(1, 5, true), "fold 2/5: best round 1, held-out RMSE nan");
}

// Workers holding their own rows (here 3 shards by row index, as CsvBatches deals them) draw folds
// alone: with a group column and the hash (as `localdx tune --workers` and `localdx train
// --workers`), no patient is in two folds on different workers; the balanced assignment, which
// depends on the other patients a worker holds, does put patients in two folds. The nested searches'
// salted hash gives folds apart from the outer ones: every inner fold has rows.
TEST(TrainStream, HashedPatientFoldsAreTheSameOnEveryWorker) {
    const Task t = synthetic(1500, "groups.csv");
    auto whole = dataset_from_csv(t.schema, t.csv, true);
    ASSERT_TRUE(whole);
    for (size_t i = 0; i < whole->rows(); ++i) whole->groups.push_back("patient-" + std::to_string(i % 101));
    TrainConfig cfg;
    cfg.group = "patient";
    cfg.folds = 5;
    auto folds_across_workers = [&](std::optional<uint64_t> hash) {
        std::map<std::string, std::set<size_t>> fold_of;
        for (size_t shard = 0; shard < 3; ++shard) {
            std::vector<size_t> rows;
            for (size_t i = shard; i < whole->rows(); i += 3) rows.push_back(i);
            const Dataset mine = dataset_rows(*whole, rows);
            auto scheme = plan_cross_validation(t.schema, mine, cfg, false, hash);
            EXPECT_TRUE(scheme);
            if (!scheme) continue;
            EXPECT_EQ(scheme->plan.folds(), 5u);
            for (size_t f = 0; f < scheme->plan.folds(); ++f)
                for (size_t i : scheme->plan.validate[f]) fold_of[mine.groups[i]].insert(f);
        }
        size_t split = 0;
        for (const auto& [patient, folds] : fold_of) split += folds.size() > 1;
        return split;
    };
    EXPECT_EQ(folds_across_workers(cfg.seed), 0u) << "patients in two folds with the hash";
    EXPECT_GT(folds_across_workers(std::nullopt), 0u) << "the balanced assignment agreed across workers by chance";
    // Inner folds (tune's salted seed) inside each outer fold's training patients: none empty.
    std::set<std::string> patients(whole->groups.begin(), whole->groups.end());
    for (int outer = 0; outer < 5; ++outer) {
        std::vector<size_t> inner(5, 0);
        for (const auto& p : patients)
            if (group_fold(p, 5, group_fold_seed(cfg.seed, 0)) != outer)
                ++inner[static_cast<size_t>(group_fold(p, 5, group_fold_seed(cfg.seed, outer + 1)))];
        for (size_t n : inner) EXPECT_GT(n, 5u) << "outer fold " << outer;
    }
    // `localdx train --workers` (FoldDraw, any shard) puts each patient in tune's outer fold.
    for (int shard = 0; shard < 3; ++shard) {
        FoldDraw draw(5, t.schema.num_classes(), cfg.seed, shard);
        for (const auto& p : patients)
            EXPECT_EQ(draw.fold(0, &p), group_fold(p, 5, group_fold_seed(cfg.seed, 0))) << p << " shard " << shard;
    }
}

// Hashed patient folds on workers, decided on the rows per fold and class summed over the workers:
// a fold without a class (or without any row) is refused, naming the fold and the class.
TEST(TrainStream, HashedFoldsNeedEveryClassInEveryFoldAcrossTheWorkers) {
    const Task t = synthetic(50, "hashed-check.csv");
    ASSERT_EQ(t.schema.num_classes(), 2);
    const std::string second = t.schema.outputs.classes[1].name;
    // 3 folds x 2 classes.
    EXPECT_TRUE(check_hashed_folds(std::vector<double>{4, 1, 3, 2, 5, 1}, 3, t.schema, 3, "patient"));
    auto missing = check_hashed_folds(std::vector<double>{4, 1, 3, 0, 5, 1}, 3, t.schema, 3, "patient");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, "too_few_rows");
    EXPECT_NE(missing.error().message.find("fold 2 of 3 has no patient with outcome '" + second +
                                           "' across the 3 workers; use fewer folds"),
              std::string::npos)
        << missing.error().message;
    auto empty = check_hashed_folds(std::vector<double>{4, 1, 3, 2, 0, 0}, 3, t.schema, 2, "patient");
    ASSERT_FALSE(empty);
    EXPECT_NE(empty.error().message.find("fold 3 of 3 has no patient (groups of 'patient') across the 2 workers"),
              std::string::npos)
        << empty.error().message;
}

TEST(TrainStream, BatchesGiveEveryRowOnceAndShardsPartitionThem) {
    const Task t = synthetic(1000, "rows.csv");
    auto whole = dataset_from_csv(t.schema, t.csv, true);
    ASSERT_TRUE(whole);
    CsvBatches csv(t.schema, {t.path}, 77, "");
    std::vector<float> x, labels;
    size_t batches = 0;
    for (int pass = 0; pass < 2; ++pass) {  // reset() starts again at the first row
        csv.reset();
        x.clear();
        labels.clear();
        batches = 0;
        while (true) {
            auto b = csv.next();
            ASSERT_TRUE(b) << b.error().describe();
            if (!*b) break;
            ++batches;
            EXPECT_LE((*b)->rows(), 77u);
            x.insert(x.end(), (*b)->x.data.begin(), (*b)->x.data.end());
            labels.insert(labels.end(), (*b)->labels.begin(), (*b)->labels.end());
        }
        EXPECT_EQ(batches, 13u);  // ceil(1000 / 77)
        ASSERT_EQ(x.size(), whole->x.data.size());
        for (size_t i = 0; i < x.size(); ++i)
            ASSERT_TRUE(x[i] == whole->x.data[i] || (std::isnan(x[i]) && std::isnan(whole->x.data[i]))) << i;
        EXPECT_EQ(labels, whole->labels);
    }
    // Three shards: every row in exactly one, in the file's order.
    size_t total = 0;
    for (int shard = 0; shard < 3; ++shard) {
        CsvBatches part(t.schema, {t.path}, 100, "", shard, 3);
        size_t row = 0;
        while (true) {
            auto b = part.next();
            ASSERT_TRUE(b);
            if (!*b) break;
            for (size_t i = 0; i < (*b)->rows(); ++i, ++row)
                EXPECT_EQ((*b)->labels[i], whole->labels[row * 3 + static_cast<size_t>(shard)]);
        }
        total += row;
    }
    EXPECT_EQ(total, 1000u);
}

TEST(TrainStream, ProblemsNameTheFileAndItsOwnRow) {
    Task t = synthetic(50, "bad.csv");
    // Row 37 of the file (a data row) gets a label that is not a class.
    std::vector<std::string> lines;
    std::istringstream in(t.csv);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    lines[37] = lines[37].substr(0, lines[37].rfind(',')) + ",maybe";
    std::ofstream out(t.path);
    for (const auto& l : lines) out << l << "\n";
    out.close();
    CsvBatches csv(t.schema, {t.path}, 10, "");
    std::vector<Problem> problems;
    while (true) {
        auto b = csv.next();
        if (!b) {
            problems = b.problems();
            break;
        }
        if (!*b) break;
    }
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].row, 37);
    EXPECT_EQ(problems[0].code, "bad_label");
    EXPECT_NE(problems[0].message.find("bad.csv: "), std::string::npos) << problems[0].message;
}

TEST(TrainStream, ExternalMemoryGivesTheModelTheSameFoldsGiveInMemory) {
    const Task t = synthetic(3000, "train.csv");
    TrainConfig cfg;
    cfg.folds = 3;
    cfg.max_rounds = 25;
    cfg.bootstrap = 20;
    cfg.params["tree_method"] = "hist";
    StreamOptions o;
    o.files = {t.path};
    o.batch_rows = 700;
    auto quiet = [](const std::string&) {};
    auto in_memory = train_stream(t.schema, cfg, o, quiet);
    ASSERT_TRUE(in_memory) << in_memory.error().describe();
    ASSERT_TRUE(*in_memory);
    o.cache_dir = (std::filesystem::path(t.path).parent_path() / "cache").string();
    std::filesystem::create_directories(o.cache_dir);
    auto external = train_stream(t.schema, cfg, o, quiet);
    ASSERT_TRUE(external) << external.error().describe();
    ASSERT_TRUE(*external);
    const TrainResult &a = **in_memory, &b = **external;
    EXPECT_EQ(a.training["rounds"], b.training["rounds"]);
    EXPECT_EQ(a.training["rows"], 3000);
    const double auc_a = a.metrics["macro"]["auc_roc"]["value"].get<double>(),
                 auc_b = b.metrics["macro"]["auc_roc"]["value"].get<double>();
    EXPECT_GT(auc_a, 0.7);
    EXPECT_NEAR(auc_a, auc_b, 1e-6);
    auto whole = dataset_from_csv(t.schema, t.csv, true);
    ASSERT_TRUE(whole);
    auto ma = XgbBooster::load_json(a.xgboost_json), mb = XgbBooster::load_json(b.xgboost_json);
    ASSERT_TRUE(ma && mb);
    const auto pa = ma->predict(whole->x, 0), pb = mb->predict(whole->x, 0);
    ASSERT_EQ(pa.size(), 3000u);
    ASSERT_EQ(pa.size(), pb.size());
    for (size_t i = 0; i < pa.size(); ++i) ASSERT_NEAR(pa[i], pb[i], 1e-6) << "row " << i;
    // XGBoost's pages are gone with the matrices.
    EXPECT_TRUE(std::filesystem::is_empty(o.cache_dir));
    // Without external memory XGBoost's data is histogram bins, which only "hist" reads.
    cfg.params["tree_method"] = "exact";
    o.cache_dir.clear();
    auto exact = train_stream(t.schema, cfg, o, quiet);
    ASSERT_FALSE(exact);
    EXPECT_EQ(exact.error().field, "tree_method");
    // Forward-chaining folds are refused, naming train.json's key.
    cfg.time = "visit_date";
    auto refused = train_stream(t.schema, cfg, o, quiet);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().field, "time");
}

}  // namespace
}  // namespace ldx
