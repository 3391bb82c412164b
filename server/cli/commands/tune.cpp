// server/cli/commands/tune.cpp — `localdx tune`: successive halving over XGBoost's parameters
// with nested cross-validation; writes the chosen train.json and the search (tuning.json).
#include <cstdio>
#include <string>
#include <vector>

#include "cli/args.h"
#include "io/files.h"
#include "train/dataset.h"
#include "train/stream.h"
#include "train/train.h"
#include "train/tune.h"

#include "cli/commands.h"

namespace ldx::cli {

const char* const kTuneHelp =
    R"(Usage: localdx tune --task DIR --data FILE.csv --out DIR2 [--budget N] [--outer-folds K]
                    [--seed S] [--workers N | --tracker HOST:PORT --rank R --world N [--stripe]]

Searches XGBoost's parameters for the task (DIR/schema.json, DIR/train.json) by successive halving:
N configurations (default 27; the task's own train.json is the first, the others drawn at random
from max_depth 2-6, eta 0.01-0.3, min_child_weight 1-10, subsample and colsample_bytree 0.5-1,
lambda 0.1-10, alpha 0-1) are scored by the task's own cross-validation (shuffled, grouped or
forward-chaining folds, as `localdx train`); the best third go on with three times the cap on
boosting rounds, until one is left at train.json's max_rounds. Early stopping chooses the rounds
within each cap. The search's winner is scored on the folds it was chosen on, so its figure is
optimistic: the search is also run inside the training rows of each of K outer folds (default 5),
and each outer winner checked on the held-out rows. That nested figure (AUC-ROC; macro AUC-ROC
for several classes; RMSE for regression) is printed with its 95% bootstrap interval.
Writes DIR2/train.json (DIR's train.json with the chosen parameters) and DIR2/tuning.json (the
nested figure and the search's table); DIR2 may be DIR itself. `localdx train` puts tuning.json on
the model card when it finds it beside a train.json whose parameters it chose.

  --workers N          the same search on N worker processes on this machine, joined by XGBoost's
                       collective (as `localdx train --workers`): each reads every Nth row of
                       FILE.csv, each configuration's folds are trained on all the workers' rows,
                       and worker 0 writes DIR2's files; a worker that fails stops the run, and
                       nothing is written
  --tracker HOST:PORT  one worker of several machines (with --rank R and --world N): FILE.csv is
                       this worker's own shard (--stripe: every worker reads the same file and
                       keeps every Nth row); worker 0 writes DIR2's files
Forward-chaining folds (a time column) need every row in one process: tune those in one process.
)";

namespace {
void print_tuning(const std::string& task, const Json& r, const std::string& out) {
    const Json& n = r["nested"];
    const std::string workers = r.contains("workers") ? ", " + json_dump(r["workers"]["count"]) + " workers" : "";
    std::printf("%s: nested cross-validation %s %s [%s, %s] (%s outer folds, %s rows%s)\n", task.c_str(),
                n["figure"].get<std::string>().c_str(), fmt(n["value"].get<double>(), "%.3f").c_str(),
                fmt(n["ci95"][0].get<double>(), "%.3f").c_str(), fmt(n["ci95"][1].get<double>(), "%.3f").c_str(),
                json_dump(n["outer_folds"]).c_str(), json_dump(n["rows"]).c_str(), workers.c_str());
    std::printf("  chosen: %s; %zu rounds at the last rung\n", json_dump(r["chosen"]["params"]).c_str(),
                r["chosen"]["rounds"].get<size_t>());
    std::printf("  its own cross-validated %s %s (on the folds it was chosen on: not an honest estimate)\n",
                r["chosen_own_cv"]["figure"].get<std::string>().c_str(),
                fmt(r["chosen_own_cv"]["value"].get<double>(), "%.3f").c_str());
    std::printf("wrote %s/train.json and %s/tuning.json (%zu evaluations in the table)\n", out.c_str(), out.c_str(),
                r["table"].size());
}
}  // namespace

std::optional<Json> tuning_for_card(const std::string& task_dir, const TrainConfig& cfg) {
    const std::string path = task_dir + "/tuning.json";
    if (!file_exists(path)) return std::nullopt;
    auto text = file_read(path);
    if (!text) return std::nullopt;
    auto j = json_parse(*text, "tuning.json");
    if (!j || !j->is_object() || !j->contains("chosen") || !(*j)["chosen"].contains("params")) return std::nullopt;
    Json mine = Json::object();
    for (const auto& [k, v] : cfg.params) mine[k] = v;
    if ((*j)["chosen"]["params"] != mine) {
        std::fprintf(stderr, "localdx train: note: %s chose other parameters than train.json's; not on the card\n",
                     path.c_str());
        return std::nullopt;
    }
    return *j;
}

int cmd_tune(const Args& a) {
    auto task = args_require(a, "--task");
    auto data_path = args_require(a, "--data");
    auto out = args_require(a, "--out");
    for (const auto* r : {&task, &data_path, &out})
        if (!*r) return fail("tune", r->problems());
    auto budget = positive_int(a, "--budget", 27);
    auto outer = positive_int(a, "--outer-folds", 5);
    auto seed = positive_int(a, "--seed", 1);
    for (const auto* r : {&budget, &outer, &seed})
        if (!*r) return fail("tune", r->problems());
    if (*budget > 500) return fail("tune", problem("usage", "--budget must be at most 500"));
    if (*outer < 2 || *outer > 20) return fail("tune", problem("usage", "--outer-folds must lie between 2 and 20"));
    auto schema_text = file_read(*task + "/schema.json");
    if (!schema_text) return fail("tune", schema_text.problems());
    auto schema = schema_parse(*schema_text);
    if (!schema) return fail("tune", schema.problems());
    TrainConfig cfg;
    if (file_exists(*task + "/train.json")) {
        auto text = file_read(*task + "/train.json");
        if (!text) return fail("tune", text.problems());
        auto c = train_config_parse(*text);
        if (!c) return fail("tune", c.problems());
        cfg = *c;
    }
    if (a.get("--workers")) {  // a tracker and N workers: this program again, with --tracker
        if (int rc = run_workers(a, "tune", *out); rc != 0) return rc;
        auto text = file_read(*out + "/tuning.json");
        if (!text) return fail("tune", text.problems());
        auto report = json_parse(*text, "tuning.json");
        if (!report) return fail("tune", report.problems());
        print_tuning(schema->task, *report, *out);
        return 0;
    }
    auto joined = join_workers(a, "tune");
    if (!joined) return fail("tune", joined.problems());
    const XgbCollective* c = joined->collective ? &*joined->collective : nullptr;
    Result<Dataset> data = problem("no_rows", "no rows");
    if (c) {  // this worker's rows: its own file, or (--stripe) every world-th row of the shared one
        CsvBatches rows(*schema, {*data_path}, static_cast<size_t>(1) << 40, cfg.group, joined->shard, joined->shards);
        auto batch = rows.next();
        if (!batch) return fail("tune", batch.problems());
        if (!*batch) return fail("tune", problem("no_rows", *data_path + " has no rows for this worker", "--data"));
        data = std::move(**batch);
    } else {
        auto csv = file_read(*data_path);
        if (!csv) return fail("tune", csv.problems());
        data = dataset_from_csv(*schema, *csv, true, 20, cfg.group, cfg.time);
    }
    if (!data) return fail("tune", data.problems());
    const std::string who = c ? "[worker " + std::to_string(joined->rank) + "] " : "";
    std::fprintf(stderr, "localdx tune: %s%zu rows; %lld configurations, %lld outer folds\n", who.c_str(), data->rows(),
                 static_cast<long long>(*budget), static_cast<long long>(*outer));
    TuneConfig tc;
    tc.budget = static_cast<int>(*budget);
    tc.outer_folds = static_cast<int>(*outer);
    tc.seed = static_cast<uint64_t>(*seed);
    tc.collective = c;
    auto result = tune(*schema, *data, cfg, tc, [&](const std::string& line) { progress(who + line); });
    if (!result) return fail("tune", result.problems());
    if (c && joined->rank != 0) {
        progress(who + "done; worker 0 writes the search");
        return 0;
    }

    if (auto ok = dir_create(*out); !ok) return fail("tune", ok.problems());
    const Json& r = result->report;
    const std::pair<std::string, std::string> files[] = {
        {"train.json", json_dump(train_config_to_json(result->chosen), 2) + "\n"},
        {"tuning.json", json_dump(r, 2) + "\n"}};
    if (auto ok = files_write_atomic(*out, files); !ok) return fail("tune", ok.problems());
    print_tuning(schema->task, r, *out);
    return 0;
}

}  // namespace ldx::cli
