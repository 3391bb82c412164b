// server/cli/commands.h — what the commands of `localdx` share, and the commands themselves.
//
// Index of this file
//   [SECTION] Shared helpers (errors, numbers, trust root, bundle loading): server/cli/common.cpp
//   [SECTION] Commands: one file each in server/cli/commands/, dispatched by server/cli/localdx.cpp
//
// Every command prints problems as "localdx CMD: <row, field: reason>" on stderr and exits
// non-zero; outputs are written atomically, so a failed command leaves no file behind.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "bundle/bundle.h"
#include "bundle/trust.h"
#include "cli/args.h"
#include "io/files.h"
#include "predict/predict.h"
#include "train/train.h"

namespace ldx::cli {

//-----------------------------------------------------------------------------
// [SECTION] Shared helpers
//-----------------------------------------------------------------------------
// Prints up to `max` problems as "localdx CMD: ..." on stderr; returns the exit status 1.
int fail(const std::string& cmd, const std::vector<Problem>& problems, size_t max = 20);
int fail(const std::string& cmd, const Problem& p);
// A line of progress on stderr (standard output is the command's result).
void progress(const std::string& line);
// --flag N, a positive whole number, or `fallback` when the flag is not given.
Result<int64_t> positive_int(const Args& a, const std::string& flag, int64_t fallback);
std::string fmt(double v, const char* format = "%.9g");

// A table of evaluate_periods' figures (metrics/evaluation.h), indented for the text reports.
std::string periods_text(const Schema& schema, const Json& periods);
// The card's "tuning": DIR/tuning.json (`localdx tune`) when it chose the parameters of `cfg`,
// else nothing (a note on stderr when the file is there but stale).
std::optional<Json> tuning_for_card(const std::string& task_dir, const TrainConfig& cfg);

// The first bytes of a bundle file, checked before it is read whole.
inline constexpr FileStart kBundleStart{kBundleMagic, "a LocalDx bundle (it does not start with LDXBNDL1)",
                                        "bad_magic"};
Result<TrustRoot> load_trust(const std::string& path);
// A bundle verified against the trust root (and the rollback floor `min_version`), and read.
Result<Model> load_model(const std::string& bundle_path, const std::string& trust_path, int64_t min_version);

//-----------------------------------------------------------------------------
// [SECTION] Commands
//-----------------------------------------------------------------------------
// Each takes its parsed flags and returns the exit status; each help text is its --help.
int cmd_keygen(const Args& a);
int cmd_train(const Args& a);
int cmd_bundle(const Args& a);
int cmd_verify(const Args& a);
int cmd_predict(const Args& a);
int cmd_evaluate(const Args& a);
// `localdx evaluate --images`: an imaging bundle on labelled images (commands/evaluate_images.cpp).
int cmd_evaluate_images(const Args& a);
// The text report of a classification task's validation document (commands/evaluate.cpp).
std::string evaluate_text(const Schema& s, const Json& report);
// What `localdx evaluate` reads alike for a table and for images (commands/evaluate.cpp):
// --format text|json, --bootstrap N (resamples, at most 100000; 1000) and --seed N (1).
struct EvaluateOptions {
    std::string format;
    int bootstrap = 1000;
    uint64_t seed = 1;
};
Result<EvaluateOptions> evaluate_options(const Args& a);
int cmd_synth(const Args& a);
int cmd_tune(const Args& a);
int cmd_publish(const Args& a);     // prints its own --help
int cmd_preprocess(const Args& a);  // prints its own --help
// `localdx train`'s parts: the outputs (model, ONNX, schema, reference, card) written from a
// result; streaming training (--external-memory, or one worker of --tracker); and --workers N,
// which starts a tracker and N worker processes on this machine (server/cli/commands/train_scale.cpp).
int train_write(const std::string& task, const Schema& schema, const TrainConfig& cfg, const TrainResult& result,
                const Json& data_record, const std::string& out);
int train_streaming(const Args& a, const Schema& schema, const TrainConfig& cfg, const std::string& task,
                    const std::vector<std::string>& data_files, const std::string& out);
int train_workers(const Args& a, const std::string& out);
// --workers N for `localdx COMMAND` (train, tune): starts the tracker of python3-xgboost on
// loopback and N copies of this program as `COMMAND ... --tracker --rank R --world N --stripe
// --out OUT.partial-PID`; the first worker to fail stops the others and the run fails with its
// reason and nothing written; when all have finished, worker 0's files are renamed into OUT one by
// one. A temporary folder of an earlier run to OUT whose starter no longer runs (killed by SIGKILL)
// is removed first. Returns the exit status (0: OUT holds the outputs; nothing printed on stdout).
int run_workers(const Args& a, const std::string& command, const std::string& out);
// One worker of several (--tracker HOST:PORT --rank R --world N [--stripe]), joined to XGBoost's
// collective; without those flags, no collective (one process).
struct Joined {
    std::optional<XgbCollective> collective;
    int rank = 0, world = 1;
    int shard = 0, shards = 1;  // --stripe: this worker keeps the rows whose index is shard mod shards
};
Result<Joined> join_workers(const Args& a, const std::string& command);
extern const char* const kKeygenHelp;
extern const char* const kTrainHelp;
extern const char* const kBundleHelp;
extern const char* const kVerifyHelp;
extern const char* const kPredictHelp;
extern const char* const kEvaluateHelp;
extern const char* const kSynthHelp;
extern const char* const kTuneHelp;

}  // namespace ldx::cli
