// server/cli/commands/train.cpp — `localdx train`: XGBoost on a task's data, with cross-validation and calibration.
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/version.h"
#include "bundle/crypto.h"
#include "cli/args.h"
#include "io/files.h"
#include "metrics/evaluation.h"
#include "onnx/onnx_trees.h"
#include "train/dataset.h"
#include "train/train.h"

#include "cli/commands.h"

namespace ldx::cli {

const char* const kTrainHelp = R"(Usage: localdx train --task DIR --data FILE.csv --out DIR
       localdx train --task DIR --data FILE.csv [--data MORE.csv ...] --out DIR
                     [--external-memory CACHE_DIR] [--batch-rows N]
                     [--workers N | --tracker HOST:PORT --rank R --world N [--stripe]]

Trains XGBoost on FILE.csv with the task's schema (DIR/schema.json) and training configuration
(DIR/train.json, optional): stratified k-fold cross-validation chooses the number of rounds by
early stopping; class weights balance rare classes; out-of-fold predictions give the metrics
(the figures of `localdx evaluate`, with 95% bootstrap intervals, and a table of other thresholds)
and, for binary tasks, the threshold; then a final fit on all rows. train.json keys: folds,
max_rounds, early_stopping_rounds, class_weights, seed, bootstrap, params (XGBoost's), and
  threshold  how the binary threshold is chosen from the out-of-fold predictions: youden,
             sensitivity>=X, specificity>=X, ppv>=X, npv>=X, or fixed:X (default: the
             schema's outputs.threshold, 0.5 when it names none)
  group      a column holding a patient id: each patient's rows (repeated visits) stay in one
             fold, so no patient is both trained on and held out; the column is never a feature
  objective  regression tasks: reg:squarederror (the default) or reg:pseudohubererror
  time       a column holding each row's time (an ISO date YYYY-MM-DD, or a number such as a
             year): folds chain forward instead of shuffling. The rows sorted by time are cut
             into folds + 1 blocks; each later block is checked on a model trained only on rows
             at least `gap` earlier than all of it (and, with `group`, on none of its patients);
             the earliest block only trains. The column is a feature only if the schema has it.
  gap        time-aware folds: the gap, in days for dates, in the time's own unit otherwise (0)
  period     time-aware folds: the card's figures per year (default), quarter or month; numeric
             times are reported per whole number
With `time`, the card states the scheme, shows figures per period, and sets the forward-chaining
figure beside the one shuffled folds give on the same rows (both are printed).
When DIR/tuning.json (from `localdx tune`) chose this train.json's parameters, the card carries
its search table and nested cross-validation figure.
Regression tasks (schema outputs.kind "regression") stratify the folds by quintile of the outcome,
stop early on RMSE, report MAE, RMSE, R squared and calibration with intervals, and fit 80/90/95%
prediction intervals from the out-of-fold residuals.
Data larger than memory, or several processes or machines (see docs/training.md):
  --external-memory DIR  read the CSV file(s) a batch at a time into XGBoost's external memory,
                         its pages cached in DIR (the tree method is hist unless train.json's
                         params name another); several --data files are read as one extract
  --batch-rows N         rows per batch (100000); given alone, the same batched reading and
                         folds with XGBoost's data in memory (to compare with external memory)
  --workers N            N worker processes on this machine, joined by XGBoost's collective
                         through the tracker of python3-xgboost; each reads every Nth row
  --tracker HOST:PORT    one worker of several machines: the tracker's address (start it with
  --rank R --world N     the command in docs/training.md); R from 0 to N-1; each worker's --data
                         files are its own shard (--stripe: all workers read the same files,
                         each every Nth row). Worker 0 writes the outputs. On workers,
                         --external-memory needs each worker's rows in one batch (XGBoost 1.7
                         fails on several pages); --batch-rows alone works at any size.
  Folds are drawn while the rows are read (stratified runs of rows, or a patient id's hash with
  `group`); `time` is for in-memory training only. Held-out outputs of every row give the
  figures, threshold and calibration; subgroups, reference histograms, typical ranges and the
  minimum information use a uniform sample of 50000 rows, as the card says.
The card records the data file's name and SHA-256, the configuration and the LocalDx version.
Writes to the output folder:
  model.xgb.json   XGBoost's own model       model.onnx      the ONNX export (checked)
  schema.json      schema + typical ranges   reference.json  histograms for drift monitoring
  card.json        model card: DIR/card.json text + metrics + training details
)";

int cmd_train(const Args& a) {
    auto task = args_require(a, "--task");
    auto out = args_require(a, "--out");
    for (const auto* r : {&task, &out})
        if (!*r) return fail("train", r->problems());
    const std::vector<std::string> data_files = a.all("--data");
    if (data_files.empty()) return fail("train", problem("usage", "--data is required (see --help)"));
    auto schema_text = file_read(*task + "/schema.json");
    if (!schema_text) return fail("train", schema_text.problems());
    auto schema = schema_parse(*schema_text);
    if (!schema) {
        std::vector<Problem> ps = schema.problems();
        for (auto& p : ps) p.message = *task + "/schema.json: " + p.message;
        return fail("train", ps);
    }
    TrainConfig cfg;
    if (file_exists(*task + "/train.json")) {
        auto text = file_read(*task + "/train.json");
        if (!text) return fail("train", text.problems());
        auto c = train_config_parse(*text);
        if (!c) return fail("train", c.problems());
        cfg = *c;
    }
    if (a.get("--workers")) return train_workers(a, *out);
    if (a.get("--external-memory") || a.get("--batch-rows") || a.get("--tracker") || a.get("--rank") ||
        a.get("--world"))
        return train_streaming(a, *schema, cfg, *task, data_files, *out);
    if (data_files.size() > 1)
        return fail("train", problem("usage",
                                     "several --data files are read by --external-memory or --workers; "
                                     "in memory, give one file"));
    const std::string data_path = data_files[0];
    auto csv = file_read(data_path);
    if (!csv) return fail("train", csv.problems());
    std::fprintf(stderr, "localdx train: reading %s\n", data_path.c_str());
    auto data = dataset_from_csv(*schema, *csv, true, 20, cfg.group, cfg.time);
    if (!data) return fail("train", data.problems());
    if (!cfg.time.empty())
        std::fprintf(stderr, "localdx train: %zu rows; %d forward-chaining folds on '%s' (gap %g%s)\n", data->rows(),
                     cfg.folds, cfg.time.c_str(), cfg.gap, data->time_dates ? " days" : "");
    else if (schema->outputs.regression())
        std::fprintf(stderr, "localdx train: %zu rows, %zu features, regression of %s; %d-fold cross-validation\n",
                     data->rows(), data->x.cols, schema->outputs.column.c_str(), cfg.folds);
    else
        std::fprintf(stderr, "localdx train: %zu rows, %zu features, %d classes; %d-fold cross-validation\n",
                     data->rows(), data->x.cols, schema->num_classes(), cfg.folds);
    auto result = train_model(*schema, *data, cfg, progress);
    if (!result) return fail("train", result.problems());
    const Json data_record = {{"data_file", std::filesystem::path(data_path).filename().string()},
                              {"data_sha256", sha256_hex(*csv)}};
    return train_write(*task, *schema, cfg, *result, data_record, *out);
}

int train_write(const std::string& task, const Schema& schema, const TrainConfig& cfg, const TrainResult& result,
                const Json& data_record, const std::string& out) {
    auto onnx = onnx_export_trees(result.ensemble, schema.task);
    if (!onnx) return fail("train", onnx.problems());
    Json card = Json::object();
    if (file_exists(task + "/card.json")) {
        auto text = file_read(task + "/card.json");
        if (!text) return fail("train", text.problems());
        auto c = json_parse(*text, "model card text");
        if (!c || !c->is_object()) return fail("train", problem("bad_card", task + "/card.json is not a JSON object"));
        card = *c;
    }
    card["metrics"] = result.metrics;
    card["training"] = result.training;
    card["training"]["date"] = utc_day(unix_now());
    for (auto it = data_record.begin(); it != data_record.end(); ++it) card["training"][it.key()] = *it;
    card["training"]["localdx_version"] = kLocalDxVersion;
    if (auto tuning = tuning_for_card(task, cfg)) card["tuning"] = *tuning;

    if (auto ok = dir_create(out); !ok) return fail("train", ok.problems());
    const std::pair<std::string, std::string> files[] = {
        {"model.xgb.json", result.xgboost_json},
        {"model.onnx", *onnx},
        {"schema.json", schema_to_json(result.schema).dump(2) + "\n"},
        {"reference.json", json_canonical(reference_to_json(result.reference)) + "\n"},
        {"card.json", card.dump(2) + "\n"},
    };
    // LOCALDX_TEST_PAUSE_WRITING=SECONDS (for tests only: docs/training.md), a whole number from 1 to
    // 600 (any other value is ignored), stops for that long once the first output is written to its
    // temporary name, so a test can kill the writer mid-set.
    int pause = 0;
    if (const char* v = std::getenv("LOCALDX_TEST_PAUSE_WRITING")) {
        const std::string_view s(v);
        int n = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
        if (ec == std::errc() && end == s.data() + s.size() && n >= 1 && n <= 600) pause = n;
    }
    auto written = [&](const std::string& name) {
        if (pause == 0 || name != files[0].first) return;
        std::fprintf(stderr,
                     "localdx train: %s written to its temporary name in %s; pausing %d s "
                     "(LOCALDX_TEST_PAUSE_WRITING)\n",
                     name.c_str(), out.c_str(), pause);
        std::this_thread::sleep_for(std::chrono::seconds(pause));
    };
    if (auto ok = files_write_atomic(out, files, 0644, written); !ok) return fail("train", ok.problems());

    const Json& m = result.metrics;
    auto show = [](const Json& x) {  // with "bootstrap": 0 there is no interval
        if (!x["value"].is_number()) return std::string("-");
        if (!x.contains("ci95") || !x["ci95"].is_array() || !x["ci95"][0].is_number())
            return fmt(x["value"].get<double>());
        return fmt(x["value"].get<double>()) + " [" + fmt(x["ci95"][0].get<double>()) + ", " +
               fmt(x["ci95"][1].get<double>()) + "]";
    };
    std::printf("%s: %zu rows, %d rounds\n", schema.task.c_str(), result.training["rows"].get<size_t>(),
                result.training["rounds"].get<int>());
    if (m.contains("time_validation")) {
        auto num = [](const Json& v) { return v.is_number() ? fmt(v.get<double>(), "%.3f") : std::string("-"); };
        std::printf("  validation        %s\n", m["method"].get<std::string>().c_str());
        for (const Json& c : m["time_validation"]["comparison"])
            std::printf("  %s forward-chaining %s; shuffled cross-validation would report %s on the same rows\n",
                        c["figure"].get<std::string>().c_str(), num(c["forward_chaining"]).c_str(),
                        num(c["shuffled"]).c_str());
        std::fputs(periods_text(schema, m["periods"]).c_str(), stdout);
    }
    if (schema.outputs.regression()) {
        const std::string unit = unit_display(schema.outputs.unit);
        std::printf("  MAE               %s %s\n", show(m["mae"]).c_str(), unit.c_str());
        std::printf("  RMSE              %s %s\n", show(m["rmse"]).c_str(), unit.c_str());
        std::printf("  R squared         %s\n", show(m["r2"]).c_str());
        std::printf("  calibration slope %s\n", show(m["calibration"]["slope"]).c_str());
        for (const auto& l : m["conformal"]["levels"])
            std::printf("  %g%% interval      coverage %s, mean width %s %s (cross-fitted)\n",
                        l["level"].get<double>() * 100, fmt(l["coverage"].get<double>()).c_str(),
                        fmt(l["mean_width"].get<double>()).c_str(), unit.c_str());
        std::printf("wrote %s/{model.xgb.json, model.onnx, schema.json, reference.json, card.json}\n", out.c_str());
        return 0;
    }
    std::printf("  accuracy          %s\n", show(m["accuracy"]).c_str());
    std::printf("  macro AUC-ROC     %s\n", show(m["macro"]["auc_roc"]).c_str());
    if (schema.outputs.kind == TaskKind::binary) {
        const std::string pos = schema.outputs.classes[1].name;
        std::printf("  sensitivity (%s) %s\n", pos.c_str(), show(m["class"][pos]["sensitivity"]).c_str());
        std::printf("  specificity (%s) %s\n", pos.c_str(), show(m["class"][pos]["specificity"]).c_str());
    }
    if (m.contains("ordinal")) {
        std::printf("  weighted kappa    %s\n", show(m["ordinal"]["quadratic_weighted_kappa"]).c_str());
        std::printf("  within one stage  %s\n", show(m["ordinal"]["within_one_accuracy"]).c_str());
    }
    // No interval for the calibration error: resampling inflates it, so its bootstrap interval
    // need not even hold the estimate.
    std::printf("  calibration ECE   %s\n",
                fmt(m["calibration"]["expected_calibration_error"]["value"].get<double>()).c_str());
    if (schema.outputs.kind == TaskKind::binary)
        std::printf("  threshold         %s (%s)\n", fmt(result.schema.outputs.threshold).c_str(),
                    threshold_policy_words(result.training["threshold_policy"].get<std::string>()).c_str());
    std::printf("wrote %s/{model.xgb.json, model.onnx, schema.json, reference.json, card.json}\n", out.c_str());
    return 0;
}

}  // namespace ldx::cli
