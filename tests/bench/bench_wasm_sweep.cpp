// tests/bench/bench_wasm_sweep.cpp — the size sweep's TreeSHAP in wasm under Node, on the models
// and rows localdx_bench wrote, against XGBoost as localdx_bench measured it in the same run.
//
// Index of this file
//   [SECTION] Clocks and files
//   [SECTION] One model: one patient at a time, and a batch by either table budget
//   [SECTION] Entry point
//
// Usage (scripts/bench, after localdx_bench --sweep ... --quick 1):
//   node build-wasm/wasm/localdx_bench_wasm.js NATIVE.json OUT.json [--cpu-time 1] DIR...
// Each DIR holds model.xgb.json and rows.f32 (200 patients' features, float32). Per patient: the
// margin and the explanation, five passes over the 200 rows, the best pass's mean and the p50 of
// all; batch: 2,000 patients (the 200 ten times) through treeshap_batch with the tables one row's
// budget builds (treeshap_tables' default) and with a batch's (kBatchTableEntries). The ratios are
// against XGBoost's pred_contribs from NATIVE.json, per patient and (without --quick) for the 2,000
// (same clock: --cpu-time 1 for both on a shared machine, process.cpuUsage() here). Writes {"<dir>.wasm_node.<name>":
// {"value", "unit", "reference", "ratio"}}. Built with `scripts/build-wasm --target localdx_bench_wasm`.
#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/json.h"
#include "explain/treeshap.h"
#include "trees/ensemble.h"

using namespace ldx;

namespace {
//-----------------------------------------------------------------------------
// [SECTION] Clocks and files
//-----------------------------------------------------------------------------
#ifdef __EMSCRIPTEN__
// clang-format off
EM_JS(double, node_cpu_ms, (), { const u = process.cpuUsage(); return (u.user + u.system) / 1000; });
// clang-format on
#else  // natively too (for perf on the same models and rows): the process's CPU time
double node_cpu_ms() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}
#endif

struct Clock {
    bool cpu = false;
    double ms() const {
        return cpu ? node_cpu_ms()
                   : std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch())
                         .count();
    }
};

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

struct Results {
    Json all = Json::object();
    void put(const std::string& name, double value, const std::string& unit, double reference = NAN) {
        Json e{{"value", value}, {"unit", unit}};
        if (!std::isnan(reference)) {
            e["reference"] = reference;
            e["ratio"] = value / reference;
        }
        all[name] = e;
        std::printf("  %-52s %10.4f %-6s", name.c_str(), value, unit.c_str());
        if (!std::isnan(reference)) std::printf(" ref %10.4f  ratio %.3f", reference, value / reference);
        std::printf("\n");
    }
};

//-----------------------------------------------------------------------------
// [SECTION] One model
//-----------------------------------------------------------------------------
void bench_dir(const std::string& dir, const Json& native, const Clock& clock, Results& out) {
    std::string name = dir;
    while (!name.empty() && name.back() == '/') name.pop_back();
    name = name.substr(name.find_last_of('/') + 1);
    auto e = ensemble_from_xgboost_json(read_file(dir + "/model.xgb.json"));
    if (!e) {
        std::printf("%s: %s\n", name.c_str(), e.error().message.c_str());
        return;
    }
    const std::string bytes = read_file(dir + "/rows.f32");
    const size_t width = static_cast<size_t>(e->num_features);
    std::vector<float> rows(bytes.size() / sizeof(float));
    std::memcpy(rows.data(), bytes.data(), rows.size() * sizeof(float));
    const size_t n = rows.size() / width;
    if (n == 0) return;
    std::printf("%s: %zu trees, %zu patients\n", name.c_str(), e->trees.size(), n);
    const auto reference = [&](const std::string& key) {
        return native.contains(key) && native[key].contains("reference") && native[key]["reference"].is_number()
                   ? native[key]["reference"].get<double>()
                   : NAN;
    };
    const double xgb = reference(name + ".native.explain_one_p50");

    const TreeShapTables tables = treeshap_tables(*e);
    TreeShapWorkspace ws;
    Explanation ex;
    std::vector<double> each;
    double best = INFINITY;
    for (int pass = 0; pass < 5; ++pass) {
        const double p0 = clock.ms();
        for (size_t i = 0; i < n; ++i) {
            const double t0 = clock.ms();
            const std::span<const float> x(rows.data() + i * width, width);
            (void)ensemble_margin(*e, x);
            treeshap(*e, tables, x, ws, ex);
            each.push_back(clock.ms() - t0);
        }
        best = std::min(best, (clock.ms() - p0) / static_cast<double>(n));
    }
    std::sort(each.begin(), each.end());
    out.put(name + ".wasm_node.explain_one_best_pass_mean", best, "ms", xgb);
    out.put(name + ".wasm_node.explain_one_p50", each[each.size() / 2], "ms", xgb);
    // The two ways one row can take through every tree, as localdx_bench times them natively.
    const auto p50_by = [&](const TreeShapTables& t) {
        std::vector<double> ms;
        for (int pass = 0; pass < 2; ++pass)
            for (size_t i = 0; i < n; ++i) {
                const double t0 = clock.ms();
                const std::span<const float> x(rows.data() + i * width, width);
                (void)ensemble_margin(*e, x);
                treeshap(*e, t, x, ws, ex);
                ms.push_back(clock.ms() - t0);
            }
        std::sort(ms.begin(), ms.end());
        return ms[ms.size() / 2];
    };
    out.put(name + ".wasm_node.explain_one_all_tables_p50", p50_by(treeshap_tables(*e, size_t{1} << 22, SIZE_MAX)),
            "ms", xgb);
    out.put(name + ".wasm_node.explain_one_all_linear_p50", p50_by(treeshap_tables(*e, 0)), "ms", xgb);

    // 2,000 patients: the 200 ten times.
    std::vector<float> batch;
    for (int k = 0; k < 10; ++k) batch.insert(batch.end(), rows.begin(), rows.end());
    const auto time_batch = [&](const TreeShapTables& t) {
        const double t0 = clock.ms();
        for (size_t i = 0; i < batch.size() / width; ++i)
            (void)ensemble_margin(*e, std::span<const float>(batch.data() + i * width, width));
        (void)treeshap_batch(*e, t, batch, ws);
        return (clock.ms() - t0) / 1e3;
    };
    const double xgb_batch = reference(name + ".native.explain_2000");  // NaN after --quick 1 (no XGBoost batch)
    out.put(name + ".wasm_node.explain_2000_row_tables", time_batch(tables), "s", xgb_batch);
    out.put(name + ".wasm_node.row_tables_size", static_cast<double>(tables.bytes()) / (1 << 20), "MiB");
    if (tables.over_budget > 0) {
        const double b0 = clock.ms();
        const TreeShapTables big = treeshap_tables(*e, kBatchTableEntries);
        out.put(name + ".wasm_node.batch_tables_build", clock.ms() - b0, "ms");
        out.put(name + ".wasm_node.batch_tables_size", static_cast<double>(big.bytes()) / (1 << 20), "MiB");
        out.put(name + ".wasm_node.explain_2000_batch_tables", time_batch(big), "s", xgb_batch);
    }
}
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] Entry point
//-----------------------------------------------------------------------------
int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: localdx_bench_wasm NATIVE.json OUT.json [--cpu-time 1] DIR...\n");
        return 2;
    }
    const std::string native_text = read_file(argv[1]);
    const Json native = native_text.empty() ? Json::object() : Json::parse(native_text, nullptr, false);
    Clock clock;
    Results out;
    for (int i = 3; i < argc; ++i) {
        if (std::string(argv[i]) == "--cpu-time" && i + 1 < argc) {
            clock.cpu = std::string(argv[++i]) == "1";
            continue;
        }
        bench_dir(argv[i], native.is_object() ? native : Json::object(), clock, out);
    }
    std::ofstream(argv[2]) << out.all.dump(2) << "\n";
    return 0;
}
