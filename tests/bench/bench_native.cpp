// tests/bench/bench_native.cpp — native speed of the core against XGBoost's own predict and
// pred_contribs (one thread), on the demo models and a large synthetic model, in one run.
//
// Usage: localdx_bench --demo DIR --data DIR --work DIR --out FILE.json [--only report|sweep]
//                      [--sweep all|TxDxF,...] [--quick 1] [--cpu-time 1] [--reuse 1]
// (--only report: just WORK/report-pima.json, the report the server benchmarks send;
//  --sweep: also models of growing size, T trees of depth D on F features, trained on
//  `localdx synth`'s generator, each against XGBoost's pred_contribs in the same run ("all": the
//  six sizes of the size sweep); --only sweep: the sweep alone; --quick 1: only per patient and
//  the core's own batches, no reference algorithm or XGBoost batch, for profiling; --cpu-time 1:
//  per-patient figures in process CPU time, for a shared machine; --reuse 1: the sweep's models
//  already in WORK read back, not trained again)
// Writes {"<name>": {"value", "unit", "reference", "ratio"}} (ratio = value / reference; for
// times, below 1 means the core is faster), and the synthetic and sweep models (model, schema, rows)
// for the browser benchmark.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ctime>
#include <random>
#include <stdexcept>

#include "drift/report.h"
#include "explain/treeshap.h"
#include "predict/predict.h"
#include "io/files.h"
#include "train/dataset.h"
#include "train/synth.h"
#include "train/xgb.h"
#include "trees/ensemble.h"

using namespace ldx;
using Clock = std::chrono::steady_clock;

namespace {
Json results = Json::object();
bool quick = false;  // --quick: per patient, and the core's batch alone (profiling)

void put(const std::string& name, double value, const std::string& unit, double reference = NAN) {
    Json e{{"value", value}, {"unit", unit}};
    if (!std::isnan(reference)) {
        e["reference"] = reference;
        e["ratio"] = value / reference;
    }
    results[name] = e;
    std::printf("  %-52s %10.4f %-6s", name.c_str(), value, unit.c_str());
    if (!std::isnan(reference)) std::printf(" ref %10.4f  ratio %.3f", reference, value / reference);
    std::printf("\n");
}

double percentile(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
}

// --cpu-time 1: the process's CPU time instead of the wall clock for the per-patient figures (on
// a machine shared with other work, where the wall clock counts their turns too).
bool cpu_time = false;
double cpu_ms() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// Seconds for the batch figures, by the same clock.
double seconds() {
    return cpu_time ? cpu_ms() / 1e3 : std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

template <class F>
std::vector<double> time_each(size_t n, F f) {
    std::vector<double> ms;
    for (size_t i = 0; i < n; ++i) {
        const auto t0 = Clock::now();
        const double c0 = cpu_time ? cpu_ms() : 0;
        f(i);
        ms.push_back(cpu_time ? cpu_ms() - c0 : std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    return ms;
}

Matrix repeat_rows(const Matrix& m, size_t n) {
    Matrix out{n, m.cols, {}};
    for (size_t i = 0; i < n; ++i) {
        const auto r = m.row(i % m.rows);
        out.data.insert(out.data.end(), r.begin(), r.end());
    }
    return out;
}

void bench_model(const std::string& name, const XgbBooster& booster, const Ensemble& e, const Matrix& rows,
                 size_t single_rows = 500, size_t batch_rows = 10000) {
    std::printf("%s: %zu trees, max depth %d, %d features\n", name.c_str(), e.trees.size(), e.max_depth,
                e.num_features);
    const size_t single = std::min<size_t>(single_rows, rows.rows);
    // One patient at a time, as a clinician uses it: XGBoost needs a DMatrix per call.
    auto xgb_contribs =
        time_each(single, [&](size_t i) { booster.predict(matrix_select_rows(rows, std::vector<size_t>{i}), 2); });
    auto xgb_predict =
        time_each(single, [&](size_t i) { booster.predict(matrix_select_rows(rows, std::vector<size_t>{i}), 0); });
    TreeShapWorkspace ws;
    Explanation ex;
    auto t_tables = Clock::now();
    const TreeShapTables tables = treeshap_tables(e);
    put(name + ".native.shap_tables_build", std::chrono::duration<double, std::milli>(Clock::now() - t_tables).count(),
        "ms");
    put(name + ".native.shap_tables_size", static_cast<double>(tables.bytes()) / (1024.0 * 1024.0), "MiB");
    put(name + ".native.shap_table_trees", static_cast<double>(tables.fast_trees()), "trees");
    put(name + ".native.shap_row_linear_trees", static_cast<double>(tables.row_linear_trees()), "trees");
    // The product's path (Fast TreeSHAP v2) and the reference algorithm (the one XGBoost uses).
    auto core_explain = time_each(single, [&](size_t i) {
        (void)ensemble_margin(e, rows.row(i));
        treeshap(e, tables, rows.row(i), ws, ex);
    });
    auto core_explain_v1 = time_each(quick ? 1 : single, [&](size_t i) {
        (void)ensemble_margin(e, rows.row(i));
        treeshap(e, rows.row(i), ws, ex);
    });
    auto core_predict = time_each(single, [&](size_t i) { (void)ensemble_margin(e, rows.row(i)); });
    // The two ways one row can take through every tree: all by the tables (however large), all
    // by Linear TreeSHAP (no tables); the product's per-tree choice above sits between them.
    {
        const TreeShapTables all_tables = treeshap_tables(e, size_t{1} << 22, SIZE_MAX);
        const TreeShapTables no_tables = treeshap_tables(e, 0);
        auto by_tables = time_each(single, [&](size_t i) {
            (void)ensemble_margin(e, rows.row(i));
            treeshap(e, all_tables, rows.row(i), ws, ex);
        });
        auto by_linear = time_each(single, [&](size_t i) {
            (void)ensemble_margin(e, rows.row(i));
            treeshap(e, no_tables, rows.row(i), ws, ex);
        });
        put(name + ".native.explain_one_all_tables_p50", percentile(by_tables, 0.5), "ms",
            percentile(xgb_contribs, 0.5));
        put(name + ".native.explain_one_all_linear_p50", percentile(by_linear, 0.5), "ms",
            percentile(xgb_contribs, 0.5));
    }
    put(name + ".native.explain_one_p50", percentile(core_explain, 0.5), "ms", percentile(xgb_contribs, 0.5));
    put(name + ".native.explain_one_p99", percentile(core_explain, 0.99), "ms", percentile(xgb_contribs, 0.99));
    put(name + ".native.explain_one_reference_algorithm_p50", percentile(core_explain_v1, 0.5), "ms",
        percentile(xgb_contribs, 0.5));
    put(name + ".native.predict_one_p50", percentile(core_predict, 0.5), "ms", percentile(xgb_predict, 0.5));
    // 10,000 patients in one batch (fewer for the largest sweep models: then per patient).
    const Matrix batch = repeat_rows(rows, batch_rows);
    double t0 = seconds();
    if (!quick) booster.predict(batch, 2);
    const double xgb_batch = quick ? NAN : seconds() - t0;
    // The product's batch path (model_prepare_batch): margins row by row, TreeSHAP tree by tree
    // over blocks of rows, with a batch's table budget when one row's left trees out; and the
    // same with one row's tables (what a batch read before it had its own budget).
    const auto time_batch = [&](const TreeShapTables& t) {
        const double b0 = seconds();
        for (size_t i = 0; i < batch.rows; ++i) (void)ensemble_margin(e, batch.row(i));
        const std::vector<Explanation> explained = treeshap_batch(e, t, batch.data, ws);
        if (explained.size() != batch.rows)
            throw std::runtime_error("treeshap_batch explained the wrong number of rows");
        return seconds() - b0;
    };
    const std::string batch_name = batch_rows == 10000 ? "explain_10k" : "explain_" + std::to_string(batch_rows);
    if (tables.over_budget > 0) {
        const double b0 = seconds();
        const TreeShapTables big = treeshap_tables(e, kBatchTableEntries);
        put(name + ".native.batch_tables_build", (seconds() - b0) * 1e3, "ms");
        put(name + ".native.batch_tables_size", static_cast<double>(big.bytes()) / (1024.0 * 1024.0), "MiB");
        put(name + ".native." + batch_name, time_batch(big), "s", xgb_batch);
        put(name + ".native." + batch_name + "_row_tables", time_batch(tables), "s", xgb_batch);
    } else {
        put(name + ".native." + batch_name, time_batch(tables), "s", xgb_batch);
    }
    if (quick) return;
    t0 = seconds();
    for (size_t i = 0; i < batch.rows; ++i) {
        (void)ensemble_margin(e, batch.row(i));
        treeshap(e, tables, batch.row(i), ws, ex);
    }
    put(name + ".native." + batch_name + "_row_by_row", seconds() - t0, "s", xgb_batch);
}

// The size sweep: T trees of depth D on F features ("300x6x30"), a binary task of `localdx
// synth`'s generator, 4,000 rows; timed on 200 patients one at a time and 2,000 in a batch (a
// 10,000-patient batch is 5 times that), the trees' JSON size standing in for the bundle's.
struct SweepSize {
    int trees = 0, depth = 0, features = 0;
};
std::vector<SweepSize> sweep_sizes(const std::string& spec) {
    if (spec == "all") return {{300, 6, 30}, {1000, 6, 30}, {300, 8, 30}, {500, 8, 200}, {300, 10, 50}, {2000, 8, 500}};
    std::vector<SweepSize> out;
    for (size_t at = 0; at < spec.size();) {
        const size_t comma = std::min(spec.find(',', at), spec.size());
        SweepSize z;
        if (std::sscanf(spec.substr(at, comma - at).c_str(), "%dx%dx%d", &z.trees, &z.depth, &z.features) != 3 ||
            z.trees < 1 || z.depth < 1 || z.features < 2)
            throw std::runtime_error("--sweep takes all or TREESxDEPTHxFEATURES,... (e.g. 300x6x30), not " + spec);
        out.push_back(z);
        at = comma + 1;
    }
    return out;
}
// A binary task of `localdx synth`'s generator (one implementation for the CLI and the
// benchmark), and XGBoost trained on it (subsampled rows and columns, as in practice).
struct SyntheticModel {
    SynthData data;
    Matrix x;
    Result<XgbBooster> booster;
    std::string json;
};
SyntheticModel train_synthetic(size_t rows, int fields, uint64_t seed, int trees, int depth, const char* eta,
                               const char* threads, XgbBooster::Params extra = {}) {
    SynthConfig cfg;
    cfg.rows = rows;
    cfg.fields = fields;
    cfg.classes = 2;
    cfg.rare = 0.35;
    cfg.seed = seed;
    SynthData d = synth_generate(cfg);
    auto schema = schema_from_json(d.schema);
    auto data = dataset_from_csv(*schema, d.csv, true);
    XgbBooster::Params p{{"objective", "binary:logistic"},
                         {"max_depth", std::to_string(depth)},
                         {"eta", eta},
                         {"nthread", threads},
                         {"seed", "1"},
                         {"subsample", "0.8"},
                         {"colsample_bytree", "0.8"}};
    p.insert(extra.begin(), extra.end());
    auto b = XgbBooster::train(data->x, data->labels, {}, p, trees);
    if (!b) throw std::runtime_error("training the synthetic model: " + b.error().message);
    b->set_param("nthread", "1");  // the reference runs on one thread, like the core
    std::string json = b->save_json();
    return SyntheticModel{std::move(d), data->x, std::move(b), std::move(json)};
}

// Writes a model, its schema and its first `rows` rows to DIR for the browser benchmark (scripts/bench
// bundles them with `localdx bundle`).
void write_for_browser(const std::string& dir, const SyntheticModel& m, size_t rows) {
    std::filesystem::create_directories(dir);
    (void)file_write_atomic(dir + "/model.xgb.json", m.json);
    (void)file_write_atomic(dir + "/schema.json", m.data.schema.dump(2));
    const std::string& csv = m.data.csv;
    size_t cut = 0;
    for (size_t lines = 0; lines <= rows && cut < csv.size(); ++lines) cut = csv.find('\n', cut) + 1;
    (void)file_write_atomic(dir + "/data.csv", csv.substr(0, cut));
}

// --reuse 1: a size whose model WORK/sweep-.../ holds already (model.xgb.json, schema.json and
// data.csv from an earlier run) is read back instead of trained again: the same trees and rows.
bool reuse = false;
std::optional<SyntheticModel> reused(const std::string& dir) {
    if (!reuse || !std::filesystem::exists(dir + "/model.xgb.json")) return std::nullopt;
    const std::string json = *file_read(dir + "/model.xgb.json");
    auto schema = schema_parse(*file_read(dir + "/schema.json"));
    if (!schema) throw std::runtime_error(dir + "/schema.json: " + schema.error().message);
    auto data = dataset_from_csv(*schema, *file_read(dir + "/data.csv"), true);
    if (!data) throw std::runtime_error(dir + "/data.csv: " + data.error().message);
    auto b = XgbBooster::load_json(json);
    if (!b) throw std::runtime_error(dir + "/model.xgb.json: " + b.error().message);
    b->set_param("nthread", "1");
    return SyntheticModel{{}, data->x, std::move(b), json};
}

void sweep(const std::string& spec, const std::string& work) {
    for (const SweepSize& z : sweep_sizes(spec)) {
        const std::string name =
            "sweep-" + std::to_string(z.trees) + "x" + std::to_string(z.depth) + "x" + std::to_string(z.features);
        std::optional<SyntheticModel> again = reused(work + "/" + name);
        const bool trained = !again;
        const SyntheticModel m =
            again ? std::move(*again)
                  : train_synthetic(4000, z.features, 7, z.trees, z.depth, "0.05", "2", {{"min_child_weight", "0"}});
        const auto& b = m.booster;
        const auto& data_x = m.x;
        auto e = ensemble_from_xgboost_json(m.json);
        if (!e) throw std::runtime_error("importing the sweep model: " + e.error().message);
        const std::string json = json_dump(ensemble_to_json(*e)), bin = ensemble_to_binary(*e);
        put(name + ".trees_json_size", static_cast<double>(json.size()) / (1024.0 * 1024.0), "MiB");
        put(name + ".trees_bin_size", static_cast<double>(bin.size()) / (1024.0 * 1024.0), "MiB");
        // Reading the trees member of a bundle: trees.bin against the JSON form it replaces.
        // With the limits the bundle reader gives trees.json (a 2,000-tree model's is over 16 MiB).
        const auto read_json = time_each(5, [&](size_t) {
            auto doc = json_parse(json, "trees", JsonLimits{256u << 20, 8});
            if (!doc) throw std::runtime_error("reading the trees back: " + doc.error().message);
            (void)ensemble_from_json(*doc);
        });
        const auto read_bin = time_each(5, [&](size_t) { (void)ensemble_from_binary(bin); });
        put(name + ".native.read_trees_bin_p50", percentile(read_bin, 0.5), "ms", percentile(read_json, 0.5));
        bench_model(name, *b, *e, data_x, 200, 2000);
        if (trained) write_for_browser(work + "/" + name, m, 4000);
        {  // the 200 patients' features as float32: the wasm core is timed on the same rows
            const size_t n = std::min<size_t>(200, data_x.rows) * data_x.cols;
            (void)file_write_atomic(work + "/" + name + "/rows.f32",
                                    std::string(reinterpret_cast<const char*>(data_x.data.data()), n * sizeof(float)));
        }
    }
}

// The spec's latency model size: 300 trees of depth 6 on 30 fields.
void synthetic(const std::string& work) {
    const SyntheticModel m = train_synthetic(20000, 30, 5, 300, 6, "0.1", "1");
    auto e = ensemble_from_xgboost_json(m.json);
    bench_model("synthetic-300x6", *m.booster, *e, m.x);
    write_for_browser(work + "/synthetic", m, 10000);
}
}  // namespace

int main(int argc, char** argv) {
    std::string demo, data, work, out, only, sweep_spec;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--demo") demo = argv[i + 1];
        else if (a == "--data") data = argv[i + 1];
        else if (a == "--work") work = argv[i + 1];
        else if (a == "--out") out = argv[i + 1];
        else if (a == "--only") only = argv[i + 1];
        else if (a == "--sweep") sweep_spec = argv[i + 1];
        else if (a == "--quick") quick = std::string(argv[i + 1]) == "1";
        else if (a == "--cpu-time") cpu_time = std::string(argv[i + 1]) == "1";
        else if (a == "--reuse") reuse = std::string(argv[i + 1]) == "1";
    }
    if (demo.empty() || data.empty() || work.empty() || out.empty()) {
        std::fprintf(stderr,
                     "usage: localdx_bench --demo DIR --data DIR --work DIR --out FILE.json [--only report|sweep] "
                     "[--sweep all|TxDxF,...] [--quick 1] [--cpu-time 1] [--reuse 1]\n");
        return 2;
    }
    if (!sweep_spec.empty()) sweep(sweep_spec, work);
    for (const std::string task : {"wdbc", "pima-diabetes", "pbc-stage"}) {
        if (!only.empty()) break;
        auto schema = schema_parse(*file_read(demo + "/train/" + task + "/schema.json"));
        auto ds = dataset_from_csv(*schema, *file_read(data + "/" + task + ".csv"), true);
        const std::string json = *file_read(demo + "/train/" + task + "/model.xgb.json");
        auto b = XgbBooster::load_json(json);
        b->set_param("nthread", "1");  // the reference runs on one thread, like the core
        auto e = ensemble_from_xgboost_json(json);
        bench_model(task, *b, *e, ds->x);
    }
    if (only.empty()) synthetic(work);
    if (only != "sweep") {
        // One valid aggregate report (20 real patients) for the server load benchmark.
        auto schema = schema_parse(*file_read(demo + "/train/pima-diabetes/schema.json"));
        auto ref = reference_from_json(Json::parse(*file_read(demo + "/train/pima-diabetes/reference.json")), *schema);
        auto ds = dataset_from_csv(*schema, *file_read(data + "/pima-diabetes.csv"), true);
        auto e = ensemble_from_xgboost_json(*file_read(demo + "/train/pima-diabetes/model.xgb.json"));
        const std::time_t now = std::time(nullptr);
        char day[16];
        std::strftime(day, sizeof day, "%Y-%m-%d", std::gmtime(&now));
        ReportBuilder rb = report_builder(*schema, *ref, "pima-diabetes", 1, day);
        std::mt19937_64 rng(3);
        const size_t nf = schema->fields.size();
        for (size_t i = 0; i < 20; ++i) {
            const auto p = probabilities_from_margin(e->link, ensemble_margin(*e, ds->x.row(i)));
            report_add(rb, std::span<const double>(ds->values).subspan(i * nf, nf), p, decide(*schema, p), rng);
        }
        (void)file_write_atomic(work + "/report-pima.json", report_to_json(rb.report).dump());
    }
    (void)file_write_atomic(out, results.dump(2) + "\n");
    return 0;
}
