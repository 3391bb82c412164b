// server/cli/localdx.cpp — the administrator's command-line tool: which command, with which flags.
//
// Index of this file
//   [SECTION] Help
//   [SECTION] main: the commands and their flags
//
// Each command is one file in server/cli/commands/ (keygen, train, bundle, verify, predict,
// evaluate, tune, synth, publish, preprocess); what they share is in server/cli/common.cpp
// (server/cli/commands.h).
#include <cstdio>
#include <new>
#include <set>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"

using namespace ldx;
using namespace ldx::cli;

namespace {
//-----------------------------------------------------------------------------
// [SECTION] Help
//-----------------------------------------------------------------------------
const char* kHelp = R"(localdx — train, package, sign, verify and try LocalDx model bundles.

Usage: localdx COMMAND [options]     (localdx COMMAND --help for details)

Commands:
  keygen    make a signing key pair and a trust root that lists it
  train     train an XGBoost model on a task's CSV with cross-validation
  bundle    package a model, its schema, reference histograms and card; sign it
  verify    check a bundle against a trust root (exit 0 when valid)
  predict   score a CSV or JSON file of patients with a bundle, natively
  evaluate  check a bundle on labelled patients (metrics with intervals, comparison, gates)
  publish   upload a bundle to a LocalDx server
  preprocess  write the tensor an imaging model reads from a DICOM, PNG or JPEG file
  tune      search XGBoost's parameters (successive halving, nested cross-validation)
  synth     generate a synthetic task (schema + CSV) for scale tests and benchmarks
)";
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] main
//-----------------------------------------------------------------------------
int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        std::fputs(kHelp, args.empty() ? stderr : stdout);
        return args.empty() ? 2 : 0;
    }
    const std::string cmd = args[0];
    args.erase(args.begin());
    struct Command {
        const char* name;
        const char* help;
        std::set<std::string> with_value, bare;
        int (*run)(const Args&);
        std::set<std::string> repeatable = {};
    };
    const Command commands[] = {
        {"keygen", kKeygenHelp, {"--out", "--expires-days"}, {}, cmd_keygen},
        {"train",
         kTrainHelp,
         {"--task", "--out", "--external-memory", "--batch-rows", "--workers", "--tracker", "--rank", "--world"},
         {"--stripe"},
         cmd_train,
         {"--data"}},
        {"bundle",
         kBundleHelp,
         {"--schema", "--model", "--card", "--reference", "--name", "--version", "--key", "--out", "--expires-days",
          "--background", "--permutations", "--image-descriptors", "--calibration-labels", "--calibration-outputs",
          "--calibration-source"},
         {},
         cmd_bundle},
        {"verify", kVerifyHelp, {"--trust", "--min-version"}, {}, cmd_verify},
        {"predict",
         kPredictHelp,
         {"--bundle", "--trust", "--input", "--format", "--out"},
         {"--explain", "--strict", "--allow-incomplete"},
         cmd_predict},
        {"evaluate",
         kEvaluateHelp,
         {"--bundle", "--trust", "--data", "--compare", "--format", "--out", "--bootstrap", "--seed", "--per-period",
          "--period", "--images", "--labels", "--outputs"},
         {"--strict"},
         cmd_evaluate,
         {"--gate"}},
        {"publish", nullptr, {"--server", "--token-file"}, {}, cmd_publish},
        {"preprocess",
         nullptr,
         {"--bundle", "--trust", "--schema", "--image", "--out", "--frame"},
         {"--pixels"},
         cmd_preprocess},
        {"tune",
         kTuneHelp,
         {"--task", "--data", "--out", "--budget", "--outer-folds", "--seed", "--workers", "--tracker", "--rank",
          "--world"},
         {"--stripe"},
         cmd_tune},
        {"synth",
         kSynthHelp,
         {"--out", "--rows", "--fields", "--classes", "--rare", "--missing", "--seed", "--drift"},
         {},
         cmd_synth},
    };
    for (const Command& c : commands) {
        if (cmd != c.name) continue;
        if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
            if (c.help) std::fputs(c.help, stdout);
            else return c.run(Args{{}, {"--help"}, {}});
            return 0;
        }
        auto parsed = args_parse(args, c.with_value, c.bare, c.repeatable);
        if (!parsed) return fail(cmd, parsed.problems());
        try {
            return c.run(*parsed);
        } catch (const std::bad_alloc&) {  // files are written whole at the end: nothing half-written is left
            return fail(cmd, problem("out_of_memory",
                                     "this machine ran out of memory, and nothing was written; training reads "
                                     "the data a batch at a time with --external-memory DIR (docs/training.md)"));
        }
    }
    std::fprintf(stderr, "localdx: unknown command '%s'\n\n%s", cmd.c_str(), kHelp);
    return 2;
}
