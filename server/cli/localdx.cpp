// server/cli/localdx.cpp — the administrator's command-line tool.
//
// Index of this file
//   [SECTION] Help texts
//   [SECTION] Shared helpers (errors, trust root, bundle loading)
//   [SECTION] keygen
//   [SECTION] train
//   [SECTION] bundle
//   [SECTION] verify
//   [SECTION] predict
//   [SECTION] evaluate
//   [SECTION] synth
//   [SECTION] main
//
// Every command prints problems as "localdx CMD: <row, field: reason>" on stderr and exits
// non-zero; outputs are written atomically, so a failed command leaves no file behind.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "base/version.h"
#include "bundle/bundle.h"
#include "bundle/crypto.h"
#include "bundle/trust.h"
#include "cli/args.h"
#include "conformal/conformal.h"
#include "csv/csv.h"
#include "io/files.h"
#include "metrics/validation.h"
#include "onnx/onnx_trees.h"
#include "package/package.h"
#include "predict/predict.h"
#include "predict/prediction_json.h"
#include "record/fhir.h"
#include "record/patients.h"
#include "record/record.h"
#include "train/dataset.h"
#include "train/synth.h"
#include "train/train.h"

using namespace ldx;

// Loading a verified model, shared with server/cli/preprocess.cpp.
constexpr FileStart kBundleStart{kBundleMagic, "a LocalDx bundle (it does not start with LDXBNDL1)", "bad_magic"};

Result<TrustRoot> load_trust(const std::string& path) {
    auto text = file_read(path, 1u << 20);
    if (!text) return text.problems();
    auto r = trust_root_parse(*text, unix_now());
    if (!r) return problem(r.error().code, "trust root " + path + ": " + r.error().message);
    return r;
}

Result<Model> load_model(const std::string& bundle_path, const std::string& trust_path, int64_t min_version) {
    auto root = load_trust(trust_path);
    if (!root) return root.problems();
    auto bytes = file_read(bundle_path, BundleLimits{}.max_bytes, kBundleStart);
    if (!bytes) return bytes.problems();
    auto v = bundle_verify(*bytes, *root, VerifyPolicy{unix_now(), min_version, {}});
    if (!v) return v.problems();
    return model_from_bundle(*v);
}

namespace {

//-----------------------------------------------------------------------------
// [SECTION] Help texts
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
  synth     generate a synthetic task (schema + CSV) for scale tests and benchmarks
)";

const char* kSynthHelp = R"(Usage: localdx synth --out DIR [--rows N] [--fields F] [--classes K] [--rare X]
                     [--missing X] [--seed S]

Writes DIR/schema.json and DIR/data.csv: N rows (default 10000) of F numeric fields (default 30,
at least 6), K ordered classes (default 2) whose rarest has about X of the rows (default 0.05),
X of the cells missing (default 0.1). The label follows a nonlinear truth of the first six
fields plus noise; the other fields are noise. Deterministic for a seed.
)";

const char* kKeygenHelp = R"(Usage: localdx keygen --out DIR [--expires-days N]

Writes DIR/signing-key.json (the secret key, file mode 0600) and DIR/trust.json, a trust root
(threshold 1) that lists its public key, signed by it, expiring in N days (default 730).
Refuses to overwrite an existing key.
)";

const char* kTrainHelp = R"(Usage: localdx train --task DIR --data FILE.csv --out DIR

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
Regression tasks (schema outputs.kind "regression") stratify the folds by quintile of the outcome,
stop early on RMSE, report MAE, RMSE, R squared and calibration with intervals, and fit 80/90/95%
prediction intervals from the out-of-fold residuals.
The card records the data file's name and SHA-256, the configuration and the LocalDx version.
Writes to the output folder:
  model.xgb.json   XGBoost's own model       model.onnx      the ONNX export (checked)
  schema.json      schema + typical ranges   reference.json  histograms for drift monitoring
  card.json        model card: DIR/card.json text + metrics + training details
)";

const char* kBundleHelp = R"(Usage: localdx bundle --schema FILE --model FILE --reference FILE --name NAME
                      --version N --key KEYFILE --out FILE.ldxb [--card FILE] [--expires-days N]

--model     XGBoost JSON model (save_model("m.json")): exact TreeSHAP with XGBoost's covers,
            exported to ONNX by LocalDx; or an ONNX TreeEnsembleClassifier made anywhere
            (node covers recounted from the reference rows); or any other ONNX classifier
            (e.g. an MLP: Gemm/Relu/Softmax) with one float input [N, features] and an output
            'probabilities' [N, classes]: explained model-agnostically (sampling Shapley values
            in probability points, with standard errors), run by ONNX Runtime in the browser.
            With a schema that has an "image" input: an ONNX image classifier taking the
            schema's tensor [N, C, H, W] with an output of class probabilities [N, classes]
            (or [N, 1] with P(positive)), and optionally its class activation map [N, h, w] or
            [N, classes, h, w] as a second output; without one the browser computes an
            occlusion map (docs/imaging.md).
--reference reference.json from `localdx train`, or a CSV of representative rows (required for
            ONNX models: covers and drift histograms come from it). For a non-tree model the
            CSV also needs the model's probabilities in columns p_<class> (the browser checks
            them against ONNX Runtime on every load), and the explainer's background sample
            is drawn from its rows. For an imaging model: a CSV with a column image (files,
            named from the CSV's folder) and p_<class>; the first 4 images, preprocessed by
            LocalDx, are checked against ONNX Runtime in every browser that loads the bundle.
--background N    non-tree models: background rows kept for the explainer (default 32).
--permutations N  non-tree models: permutations per background row, even (default 4).
--expires-days  default 365.
)";

const char* kVerifyHelp = R"(Usage: localdx verify --trust trust.json [--min-version N] FILE.ldxb

Exit 0 and one line "valid: NAME vN ..." when the bundle verifies; otherwise exit 1 and one line
that says why (bad or missing signature, unknown key, below threshold, expired, rollback below
--min-version, member hash/length mismatch, unlisted member, truncated, malformed).
)";

const char* kPredictHelp = R"(Usage: localdx predict --bundle FILE.ldxb --trust trust.json --input FILE.csv|FILE.json
                       [--explain] [--format csv|json] [--out FILE] [--strict] [--allow-incomplete]

Input: a CSV (columns are field names, optionally "field[unit]"), JSON records (one object or an
array), or FHIR R4 JSON (a Bundle, one resource, or NDJSON): Observations are matched to fields
by their LOINC/SNOMED codes (or system urn:localdx:field), quantities keep their UCUM units, the
latest value per field wins, age comes from Patient.birthDate; one row per patient ("patient").
The same reader as the browser's batch view: an id column (id, patient_id, patient, mrn) is
carried through as each row's "patient"; columns the model does not use are ignored with a
notice; numbers may use a decimal comma ("0,5"), an ambiguous "1,234" is refused.

A row that cannot be used is listed with its row, id and reason (standard error, and in the
output: JSON "ok": false with "problems", CSV a row with the reason in "problem") and the other
rows are scored;
the exit status is then 2. With --strict, any bad row fails the whole file (exit 1, no output).

A row below the model's minimum information (the schema's "minimum_information": the fields it
gives no result without, the largest share of the explanation missing values may carry; on the
model card) is such a row, with the reason "Enter <fields> to get a result: ...", as in the
browser. With --allow-incomplete it is scored and says so: JSON "incomplete": {"message",
"fields", "labels", "missing_share", "max_missing_share"}, CSV the message in "warnings".

Verifies the bundle, then scores every patient with the same core the browser runs, and writes
for each row what the browser's core gives (docs/formats.md, "Predictions"): "probabilities"
(in the order of "classes"), "predicted" (a class index) and its "label", prediction sets,
warnings; with --explain "explanation": the contribution of every model feature and the sum per
input field in the model's raw margin (log-odds) space, base + sum(contributions) = margin, for
the predicted class ("outputs": every output), and the same in probability points. CSV output
has one column per class (p_NAME) and, with --explain, per feature. Regression tasks: "value"
(also the one number in "probabilities"), its "label" with the unit, its prediction intervals,
and the explanation in the outcome's unit; CSV: "predicted" is the value, then low_80, high_80,
low_90, high_90, low_95, high_95. JSON input: one record object or an array of them. Writes to --out atomically (default: standard output). Default
format: json.
)";

const char* kEvaluateHelp = R"(Usage: localdx evaluate --bundle FILE.ldxb --trust trust.json --data FILE
                        [--compare OTHER.ldxb] [--gate RULE]... [--format text|json] [--out FILE]
                        [--bootstrap N] [--seed N] [--strict]

Checks a bundle on labelled patients (a site's own, before go-live): a CSV, JSON records or FHIR
file read like `localdx predict` reads it, with each patient's true outcome in the schema's label
column (CSV column / JSON key; FHIR: an Observation coded urn:localdx:field|<column>), given as a
class name or as its label. The same core as the browser scores every patient.

Reports, each with a 95% bootstrap interval (--bootstrap resamples, default 1000; --seed 1):
AUC-ROC and PR-AUC per class and macro, sensitivity, specificity, PPV, NPV and F1 at the bundle's
own threshold, accuracy, the Brier score, calibration (expected calibration error; binary: the
logistic calibration intercept with the slope fixed at 1, and the slope), alerts per 100
patients; the confusion matrix; the reliability table; binary: a table of other thresholds
(Youden, sensitivity >= 0.90/0.95, specificity >= 0.90/0.95, PPV >= 0.50, NPV >= 0.95) and the
decision curve (net benefit at thresholds 1%..99%); ordinal: quadratic weighted kappa and
within-one accuracy; per subgroup as in the model card. Regression tasks (the outcome a number
in its unit): MAE, RMSE, R squared, calibration in the large and slope, calibration by decile,
and the coverage of the bundle's intervals. The lineage: both files' SHA-256, the
rows read and scored, the LocalDx version.

--compare OTHER  a second bundle (the one in use, say) scored on the same rows: each figure of both
                 and the difference (this bundle minus OTHER) with a paired-bootstrap interval.
--gate RULE      a promotion rule, repeatable; exit 3 with the reason when one fails:
                   METRIC >= X | <= X | > X | < X | METRIC in [A, B]
                 X, A, B: a number, or baseline [+|- d] (OTHER's figure). METRIC: auc, pr_auc,
                 sensitivity, specificity, ppv, npv, f1, accuracy, brier, ece, calibration_slope,
                 calibration_intercept, alerts_per_100, qwk, within_one (regression: mae, rmse, r2,
                 calibration_slope, calibration_in_the_large), or a dotted name from the JSON report. Gates compare point estimates. Example:
                   --gate "auc >= baseline - 0.01" --gate "calibration_slope in [0.8, 1.2]"

Rows without a usable outcome or values are listed (row, patient, reason) and left out; with
--strict any such row fails the file. Exit 0: report written and every gate passed; 1: the
report could not be made; 3: a gate failed. Writes to --out atomically (default: standard output).
)";

//-----------------------------------------------------------------------------
// [SECTION] Shared helpers
//-----------------------------------------------------------------------------
int fail(const std::string& cmd, const std::vector<Problem>& problems, size_t max = 20) {
    for (size_t i = 0; i < problems.size() && i < max; ++i)
        std::fprintf(stderr, "localdx %s: %s\n", cmd.c_str(), problems[i].describe().c_str());
    if (problems.size() > max)
        std::fprintf(stderr, "localdx %s: ... and %zu more problems\n", cmd.c_str(), problems.size() - max);
    return 1;
}
int fail(const std::string& cmd, const Problem& p) { return fail(cmd, std::vector<Problem>{p}); }

void progress(const std::string& line) { std::fprintf(stderr, "  %s\n", line.c_str()); }

constexpr FileStart kBundleStart{kBundleMagic, "a LocalDx bundle (it does not start with LDXBNDL1)", "bad_magic"};

Result<int64_t> positive_int(const Args& a, const std::string& flag, int64_t fallback) {
    auto v = a.get(flag);
    if (!v) return fallback;
    char* end = nullptr;
    const long long x = std::strtoll(v->c_str(), &end, 10);
    if (v->empty() || *end || x < 1)
        return problem("usage", flag + " must be a positive whole number, not '" + *v + "'");
    return static_cast<int64_t>(x);
}

std::string fmt(double v, const char* format = "%.9g") {
    char buf[40];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

//-----------------------------------------------------------------------------
// [SECTION] keygen
//-----------------------------------------------------------------------------
int cmd_keygen(const Args& a) {
    auto out = args_require(a, "--out");
    auto days = positive_int(a, "--expires-days", 730);
    if (!out) return fail("keygen", out.problems());
    if (!days) return fail("keygen", days.problems());
    const std::string key_path = *out + "/signing-key.json", trust_path = *out + "/trust.json";
    if (file_exists(key_path))
        return fail("keygen", problem("exists", key_path + " already exists; refusing to overwrite a key"));
    if (auto ok = dir_create(*out); !ok) return fail("keygen", ok.problems());
    const SigningKey key = signing_key_from_pair(ed25519_keypair());
    TrustRoot root;
    root.version = 1;
    root.threshold = 1;
    root.expires = unix_now() + *days * 86400;
    root.keys.push_back({key.keyid, key.public_key()});
    if (auto ok = file_write_atomic(key_path, signing_key_to_json(key), 0600); !ok)
        return fail("keygen", ok.problems());
    if (auto ok = file_write_atomic(trust_path, trust_root_create(root, {key})); !ok)
        return fail("keygen", ok.problems());
    std::printf(
        "key %s\n  secret key: %s (mode 0600: keep it off shared disks)\n  trust root: %s (ship this with the app and "
        "the server)\n",
        key.keyid.c_str(), key_path.c_str(), trust_path.c_str());
    return 0;
}

//-----------------------------------------------------------------------------
// [SECTION] train
//-----------------------------------------------------------------------------
int cmd_train(const Args& a) {
    auto task = args_require(a, "--task");
    auto data_path = args_require(a, "--data");
    auto out = args_require(a, "--out");
    for (const auto* r : {&task, &data_path, &out})
        if (!*r) return fail("train", r->problems());
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
    auto csv = file_read(*data_path);
    if (!csv) return fail("train", csv.problems());
    std::fprintf(stderr, "localdx train: reading %s\n", data_path->c_str());
    auto data = dataset_from_csv(*schema, *csv, true, 20, cfg.group);
    if (!data) return fail("train", data.problems());
    if (schema->outputs.regression())
        std::fprintf(stderr, "localdx train: %zu rows, %zu features, regression of %s; %d-fold cross-validation\n",
                     data->rows(), data->x.cols, schema->outputs.column.c_str(), cfg.folds);
    else
        std::fprintf(stderr, "localdx train: %zu rows, %zu features, %d classes; %d-fold cross-validation\n",
                     data->rows(), data->x.cols, schema->num_classes(), cfg.folds);
    auto result = train_model(*schema, *data, cfg, progress);
    if (!result) return fail("train", result.problems());

    auto onnx = onnx_export_trees(result->ensemble, schema->task);
    if (!onnx) return fail("train", onnx.problems());
    Json card = Json::object();
    if (file_exists(*task + "/card.json")) {
        auto text = file_read(*task + "/card.json");
        if (!text) return fail("train", text.problems());
        auto c = json_parse(*text, "model card text");
        if (!c || !c->is_object()) return fail("train", problem("bad_card", *task + "/card.json is not a JSON object"));
        card = *c;
    }
    card["metrics"] = result->metrics;
    card["training"] = result->training;
    card["training"]["date"] = utc_day(unix_now());
    card["training"]["data_file"] = std::filesystem::path(*data_path).filename().string();
    card["training"]["data_sha256"] = sha256_hex(*csv);
    card["training"]["localdx_version"] = kLocalDxVersion;

    if (auto ok = dir_create(*out); !ok) return fail("train", ok.problems());
    const std::pair<std::string, std::string> files[] = {
        {"model.xgb.json", result->xgboost_json},
        {"model.onnx", *onnx},
        {"schema.json", schema_to_json(result->schema).dump(2) + "\n"},
        {"reference.json", json_canonical(reference_to_json(result->reference)) + "\n"},
        {"card.json", card.dump(2) + "\n"},
    };
    for (const auto& [name, bytes] : files)
        if (auto ok = file_write_atomic(*out + "/" + name, bytes); !ok) return fail("train", ok.problems());

    const Json& m = result->metrics;
    auto show = [](const Json& x) {
        return fmt(x["value"].get<double>()) + " [" + fmt(x["ci95"][0].get<double>()) + ", " +
               fmt(x["ci95"][1].get<double>()) + "]";
    };
    std::printf("%s: %zu rows, %d rounds\n", schema->task.c_str(), data->rows(), result->training["rounds"].get<int>());
    if (schema->outputs.regression()) {
        const std::string unit = unit_display(schema->outputs.unit);
        std::printf("  MAE               %s %s\n", show(m["mae"]).c_str(), unit.c_str());
        std::printf("  RMSE              %s %s\n", show(m["rmse"]).c_str(), unit.c_str());
        std::printf("  R squared         %s\n", show(m["r2"]).c_str());
        std::printf("  calibration slope %s\n", show(m["calibration"]["slope"]).c_str());
        for (const auto& l : m["conformal"]["levels"])
            std::printf("  %g%% interval      coverage %s, mean width %s %s (cross-fitted)\n",
                        l["level"].get<double>() * 100, fmt(l["coverage"].get<double>()).c_str(),
                        fmt(l["mean_width"].get<double>()).c_str(), unit.c_str());
        std::printf("wrote %s/{model.xgb.json, model.onnx, schema.json, reference.json, card.json}\n", out->c_str());
        return 0;
    }
    std::printf("  accuracy          %s\n", show(m["accuracy"]).c_str());
    std::printf("  macro AUC-ROC     %s\n", show(m["macro"]["auc_roc"]).c_str());
    if (schema->outputs.kind == TaskKind::binary) {
        const std::string pos = schema->outputs.classes[1].name;
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
    if (schema->outputs.kind == TaskKind::binary)
        std::printf("  threshold         %s (%s)\n", fmt(result->schema.outputs.threshold).c_str(),
                    threshold_policy_words(result->training["threshold_policy"].get<std::string>()).c_str());
    std::printf("wrote %s/{model.xgb.json, model.onnx, schema.json, reference.json, card.json}\n", out->c_str());
    return 0;
}

//-----------------------------------------------------------------------------
// [SECTION] bundle
//-----------------------------------------------------------------------------
int cmd_bundle(const Args& a) {
    std::vector<Problem> usage;
    auto need = [&](const char* f) {
        auto v = args_require(a, f);
        if (!v) usage.push_back(v.error());
        return v ? *v : std::string();
    };
    const std::string schema_path = need("--schema"), model_path = need("--model"), name = need("--name"),
                      key_path = need("--key"), out = need("--out"), reference_path = need("--reference");
    auto version = positive_int(a, "--version", 0);
    auto days = positive_int(a, "--expires-days", 365);
    if (!a.get("--version")) usage.push_back(problem("usage", "--version is required (see --help)"));
    if (!version) usage.push_back(version.error());
    if (!days) usage.push_back(days.error());
    if (!usage.empty()) return fail("bundle", usage);

    auto key_text = file_read(key_path, 1u << 16);
    if (!key_text) return fail("bundle", key_text.problems());
    auto key = signing_key_parse(*key_text);
    if (!key) return fail("bundle", problem(key.error().code, key_path + ": " + key.error().message));

    PackageInput in;
    for (auto [path, dest] : {std::pair{&schema_path, &in.schema_json}, std::pair{&model_path, &in.model_bytes}}) {
        auto t = file_read(*path);
        if (!t) return fail("bundle", t.problems());
        *dest = std::move(*t);
    }
    auto ref = file_read(reference_path);
    if (!ref) return fail("bundle", ref.problems());
    in.reference = std::move(*ref);
    in.reference_dir = std::filesystem::path(reference_path).parent_path().string();
    if (auto card = a.get("--card")) {
        auto t = file_read(*card);
        if (!t) return fail("bundle", t.problems());
        in.card_json = std::move(*t);
    }
    auto background = positive_int(a, "--background", 32);
    auto permutations = positive_int(a, "--permutations", 4);
    if (!background) return fail("bundle", background.problems());
    if (!permutations) return fail("bundle", permutations.problems());
    in.background_rows = static_cast<size_t>(*background);
    in.permutations = static_cast<int>(std::min<int64_t>(*permutations, 1 << 16));
    in.manifest.name = name;
    in.manifest.version = *version;
    in.manifest.created = unix_now();
    in.manifest.expires = in.manifest.created + *days * 86400;

    auto pkg = package_members(in, progress);
    if (!pkg) return fail("bundle", pkg.problems());
    auto bytes = bundle_write(pkg->manifest, pkg->members, {*key});
    if (!bytes) return fail("bundle", bytes.problems());
    if (auto ok = file_write_atomic(out, *bytes); !ok) return fail("bundle", ok.problems());
    std::printf("%s: %s v%lld, %zu bytes, sha256 %s, signed by %s, expires %s\n", out.c_str(), name.c_str(),
                static_cast<long long>(*version), bytes->size(), sha256_hex(*bytes).c_str(), key->keyid.c_str(),
                utc_format(pkg->manifest.expires).c_str());
    return 0;
}

//-----------------------------------------------------------------------------
// [SECTION] verify
//-----------------------------------------------------------------------------
int cmd_verify(const Args& a) {
    auto trust = args_require(a, "--trust");
    if (!trust) return fail("verify", trust.problems());
    if (a.positional.size() != 1) return fail("verify", problem("usage", "give exactly one bundle file (see --help)"));
    auto min_version = positive_int(a, "--min-version", 1);
    if (!min_version) return fail("verify", min_version.problems());
    auto root = load_trust(*trust);
    if (!root) return fail("verify", root.problems());
    auto bytes = file_read(a.positional[0], BundleLimits{}.max_bytes, kBundleStart);
    if (!bytes) return fail("verify", bytes.problems());
    auto v = bundle_verify(*bytes, *root, VerifyPolicy{unix_now(), *min_version, {}});
    if (!v) {
        std::printf("rejected (%s): %s\n", v.error().code.c_str(), v.error().message.c_str());
        return 1;
    }
    auto model = model_from_bundle(*v);
    if (!model) {
        std::printf("rejected (%s): %s\n", model.error().code.c_str(), model.error().message.c_str());
        return 1;
    }
    std::string signers;
    for (const auto& s : v->signers) signers += (signers.empty() ? "" : ",") + s;
    std::printf("valid: %s v%lld, explainer %s, signed by %s, expires %s, sha256 %s\n", v->manifest.name.c_str(),
                static_cast<long long>(v->manifest.version), v->manifest.explainer.c_str(), signers.c_str(),
                utc_format(v->manifest.expires).c_str(), v->sha256.c_str());
    return 0;
}

//-----------------------------------------------------------------------------
// [SECTION] predict
//-----------------------------------------------------------------------------
int cmd_predict(const Args& a) {
    auto bundle = args_require(a, "--bundle");
    auto trust = args_require(a, "--trust");
    auto input = args_require(a, "--input");
    for (const auto* r : {&bundle, &trust, &input})
        if (!*r) return fail("predict", r->problems());
    const std::string format = a.get("--format").value_or("json");
    if (format != "json" && format != "csv")
        return fail("predict", problem("usage", "--format must be csv or json, not '" + format + "'"));
    const bool explain = a.has("--explain");

    auto model = load_model(*bundle, *trust, 0);
    if (!model) return fail("predict", model.problems());
    if (!model->ensemble)
        return fail("predict", problem("no_trees", "this model's explainer is " + model->manifest.explainer +
                                                       ": it runs only in the browser (ONNX Runtime Web)"));
    auto text = file_read(*input, kMaxPatientFileBytes);
    if (!text) return fail("predict", text.problems());
    const Schema& s = model->schema;
    const std::string ignore[] = {s.outputs.column};
    const PatientFile file = patients_read(s, *text, PatientReadOptions{unix_now(), ignore, {}});
    if (!file.problems.empty()) return fail("predict", file.problems);
    for (const auto& n : file.notices) std::fprintf(stderr, "localdx predict: note: %s\n", n.describe().c_str());
    struct Scored {
        const PatientRow* row;
        std::vector<Problem> problems;
    };  // problems: not scored
    std::vector<Scored> order;
    std::vector<PreparedRecord> prepared_rows;
    std::vector<Problem> problems;
    // A row below the model's minimum information (predict/information.h) is not scored, as in the
    // browser; with --allow-incomplete it is, and says so.
    const bool allow_incomplete = a.has("--allow-incomplete");
    std::vector<InformationCheck> incomplete;  // per scored row
    for (const PatientRow& r : file.rows) {
        auto prepared = patient_prepare(s, r);
        if (!prepared) {
            problems.insert(problems.end(), prepared.problems().begin(), prepared.problems().end());
            order.push_back({&r, prepared.problems()});
            continue;
        }
        InformationCheck info = information_check(s, prepared->values);
        if (!info.enough && !allow_incomplete) {
            Problem p = information_problems(s, info, r.row).front();  // its message names every field to enter
            p.patient = r.id;
            problems.push_back(p);
            order.push_back({&r, {p}});
            continue;
        }
        order.push_back({&r, {}});
        prepared_rows.push_back(std::move(*prepared));
        incomplete.push_back(std::move(info));
    }
    const bool strict = a.has("--strict");
    if (!problems.empty() && strict) return fail("predict", problems);
    if (!problems.empty()) fail("predict", problems);
    TreeShapWorkspace ws;
    const std::vector<Prediction> preds = model_predict_batch(*model, std::move(prepared_rows), explain, ws);

    std::string out;
    if (format == "json") {
        Json all = Json::array();
        size_t i = 0;
        for (const Scored& sc : order) {
            Json j;
            j["row"] = sc.row->row;
            if (!sc.row->id.empty()) j["patient"] = sc.row->id;
            if (!sc.problems.empty()) {
                j["ok"] = false;
                j["problems"] = problems_json(sc.problems);
                all.push_back(std::move(j));
                continue;
            }
            // The browser core's own JSON for the prediction (shared/predict/prediction_json.h).
            j.update(prediction_json(*model, preds[i], explain));
            if (!incomplete[i].enough)
                j["incomplete"] = incomplete_json(s, incomplete[i], preds[i].prepared)["incomplete"];
            ++i;
            all.push_back(std::move(j));
        }
        out = json_dump(all, 2) + "\n";
    } else {
        // Regression: the predicted value, then each level's interval (low_90, high_90...).
        const bool regression = s.outputs.regression();
        std::vector<std::string> header{"row", "patient", "predicted"};
        for (const auto& c : s.outputs.classes) header.push_back("p_" + c.name);
        for (const auto& l : s.outputs.conformal.levels)
            if (regression)
                for (const char* side : {"low_", "high_"}) header.push_back(side + fmt(l.level * 100, "%g"));
        const size_t result_columns = header.size() - 3;
        header.push_back("warnings");
        header.push_back("problem");
        if (explain)
            for (int o = 0; o < model->ensemble->num_outputs; ++o) {
                const std::string prefix =
                    model->ensemble->link != Link::softmax ? "" : s.outputs.classes[static_cast<size_t>(o)].name + ":";
                header.push_back(prefix + "base");
                for (const auto& f : s.features) header.push_back(prefix + "phi_" + f.name);
            }
        out = csv_line(header);
        size_t i = 0;
        for (const Scored& sc : order) {
            std::vector<std::string> cells{std::to_string(sc.row->row), sc.row->id};
            if (!sc.problems.empty()) {
                std::string why;
                for (const auto& pr : sc.problems)
                    why += (why.empty() ? "" : "; ") + (pr.field.empty() ? "" : pr.field + ": ") + pr.message;
                cells.resize(3 + result_columns + 1);  // predicted, probabilities or intervals, warnings: empty
                cells.push_back(why);
                cells.resize(header.size());
                out += csv_line(cells);
                continue;
            }
            const InformationCheck& info = incomplete[i];
            const Prediction& p = preds[i++];
            if (regression) {
                cells.push_back(fmt(p.probabilities[0]));
                for (size_t l = 0; l < s.outputs.conformal.levels.size(); ++l) {
                    const Interval in = conformal_interval(s.outputs, l, p.probabilities[0]);
                    cells.push_back(fmt(in.low));
                    cells.push_back(fmt(in.high));
                }
            } else {
                cells.push_back(s.outputs.classes[static_cast<size_t>(p.predicted)].name);
                for (double v : p.probabilities) cells.push_back(fmt(v));
            }
            std::string w;
            if (!info.enough) w = "incomplete: " + info.message;
            for (const auto& x : p.prepared.warnings) w += (w.empty() ? "" : "; ") + x.field + ": " + x.message;
            cells.push_back(w);
            cells.push_back("");
            if (explain)
                for (int o = 0; o < p.explanation.num_outputs; ++o) {
                    cells.push_back(fmt(p.explanation.base[static_cast<size_t>(o)]));
                    for (size_t f = 0; f < s.features.size(); ++f)
                        cells.push_back(fmt(p.explanation.contribution(o, static_cast<int>(f))));
                }
            out += csv_line(cells);
        }
    }
    if (auto path = a.get("--out")) {
        if (auto ok = file_write_atomic(*path, out); !ok) return fail("predict", ok.problems());
        std::fprintf(stderr, "localdx predict: %zu rows scored -> %s\n", preds.size(), path->c_str());
    } else {
        std::fwrite(out.data(), 1, out.size(), stdout);
    }
    if (!problems.empty()) {
        std::fprintf(
            stderr, "localdx predict: %zu of %zu rows scored; %zu could not be used (listed above and in the output)\n",
            preds.size(), order.size(), order.size() - preds.size());
        return 2;
    }
    return 0;
}

//-----------------------------------------------------------------------------
// [SECTION] evaluate
//-----------------------------------------------------------------------------
Json bundle_lineage(const Model& m) {
    return Json{{"name", m.manifest.name}, {"version", m.manifest.version}, {"sha256", m.sha256}};
}

// The regression part of the text report: figures, calibration by decile, interval coverage.
std::string evaluate_regression_text(const Schema& s, const Json& r) {
    std::string out;
    auto line = [&](const std::string& text) { out += text + "\n"; };
    auto num = [](const Json& v, const char* f = "%.3f") { return v.is_number() ? fmt(v.get<double>(), f) : "–"; };
    const Json& m = r["metrics"];
    const std::string unit = unit_display(s.outputs.unit);
    line("Outcome: " + s.outputs.label + (unit.empty() ? "" : " (" + unit + ")"));
    line("");
    line("Figure                                   value   95% CI (" +
         std::to_string(m["bootstrap_resamples"].get<int>()) + " bootstrap resamples)");
    for (const auto& [name, x] : {std::pair<std::string, const Json*>{"mean absolute error (" + unit + ")", &m["mae"]},
                                  {"root mean squared error (" + unit + ")", &m["rmse"]},
                                  {"R squared", &m["r2"]},
                                  {"calibration in the large (ideal 0)", &m["calibration"]["in_the_large"]},
                                  {"calibration slope (ideal 1)", &m["calibration"]["slope"]}}) {
        char b[200];
        std::snprintf(b, sizeof b, "  %-38s %7s  [%s, %s]", name.c_str(), num((*x)["value"]).c_str(),
                      num((*x)["ci95"][0]).c_str(), num((*x)["ci95"][1]).c_str());
        line(b);
    }
    line("");
    line("Calibration by decile of the predicted value   mean predicted   mean observed   patients");
    for (const Json& d : m["calibration"]["deciles"]) {
        char b[160];
        std::snprintf(b, sizeof b, "  %44s %16s %15s %10zu", "", num(d["mean_predicted"], "%.1f").c_str(),
                      num(d["mean_observed"], "%.1f").c_str(), d["count"].get<size_t>());
        line(b);
    }
    if (r.contains("conformal")) {
        line("");
        line("Prediction intervals of the bundle on this file");
        for (const Json& l : r["conformal"]["levels"])
            line("  " + fmt(l["level"].get<double>() * 100, "%g") + "%: coverage " + num(l["coverage"]) +
                 ", mean width " + num(l["mean_width"], "%.1f") + " " + unit);
    }
    if (r.contains("compare")) {
        line("");
        line("Compared with " + r["compare"]["baseline"]["name"].get<std::string>() +
             " on the same rows (difference: this bundle minus it, paired bootstrap)");
        for (const auto& [key, x] : r["compare"]["figures"].items()) {
            char b[200];
            std::snprintf(b, sizeof b, "  %-38s %7s vs %7s  difference %7s [%s, %s]", key.c_str(), num(x["b"]).c_str(),
                          num(x["a"]).c_str(), num(x["difference"]).c_str(), num(x["ci95"][0]).c_str(),
                          num(x["ci95"][1]).c_str());
            line(b);
        }
    }
    if (r.contains("gates")) {
        line("");
        for (const Json& g : r["gates"])
            line(std::string(g["pass"].get<bool>() ? "PASS  " : "FAIL  ") + g["reason"].get<std::string>());
    }
    return out;
}

std::string evaluate_text(const Schema& s, const Json& r) {
    std::string out;
    auto line = [&](const std::string& text) { out += text + "\n"; };
    auto num = [](const Json& v, const char* f = "%.3f") { return v.is_number() ? fmt(v.get<double>(), f) : "–"; };
    auto fig = [&](const std::string& name, const Json& x) {
        if (!x.is_object() || !x["value"].is_number()) return;
        char b[160];
        std::snprintf(b, sizeof b, "  %-38s %7s  [%s, %s]", name.c_str(), num(x["value"]).c_str(),
                      num(x["ci95"][0]).c_str(), num(x["ci95"][1]).c_str());
        line(b);
    };
    const Json& b = r["bundle"];
    const Json& d = r["data"];
    line("Bundle  " + b["name"].get<std::string>() + " v" + std::to_string(b["version"].get<int64_t>()) + "  sha256 " +
         b["sha256"].get<std::string>());
    line("Data    " + d["file"].get<std::string>() + "  sha256 " + d["sha256"].get<std::string>());
    line("        " + std::to_string(d["rows"].get<size_t>()) + " rows read, " +
         std::to_string(d["scored"].get<size_t>()) + " scored with a known outcome, " +
         std::to_string(d["left_out"].size()) + " left out");
    const Json& m = r["metrics"];
    if (s.outputs.regression()) return out + evaluate_regression_text(s, r);
    const bool binary = s.outputs.kind == TaskKind::binary;
    if (binary) line("Threshold: alert when P(" + s.outputs.classes[1].label + ") >= " + num(m["threshold"], "%.4g"));
    line("");
    line("Figure                                   value   95% CI (" +
         std::to_string(m["bootstrap_resamples"].get<int>()) + " bootstrap resamples)");
    fig("accuracy", m["accuracy"]);
    if (binary) {
        const Json& pos = m["class"][s.outputs.classes[1].name];
        for (const auto& [label, key] : {std::pair{"AUC-ROC", "auc_roc"},
                                         {"PR-AUC", "pr_auc"},
                                         {"sensitivity", "sensitivity"},
                                         {"specificity", "specificity"},
                                         {"PPV", "precision"},
                                         {"NPV", "npv"},
                                         {"F1", "f1"}})
            fig(label, pos[key]);
        fig("alerts per 100 patients", m["alerts_per_100"]);
    } else {
        for (const auto& c : s.outputs.classes) {
            const Json& x = m["class"][c.name];
            fig(c.label + ": AUC-ROC", x["auc_roc"]);
            fig(c.label + ": sensitivity", x["sensitivity"]);
            fig(c.label + ": specificity", x["specificity"]);
        }
        fig("macro AUC-ROC", m["macro"]["auc_roc"]);
        fig("macro PR-AUC", m["macro"]["pr_auc"]);
        fig("macro F1", m["macro"]["f1"]);
    }
    fig("Brier score", m["brier"]);
    if (const Json& ece = m["calibration"]["expected_calibration_error"]["value"]; ece.is_number())
        line("  expected calibration error             " + num(ece) + "  (no interval: resampling inflates it)");
    if (binary) {
        fig("calibration intercept (ideal 0)", m["calibration"]["intercept"]);
        fig("calibration slope (ideal 1)", m["calibration"]["slope"]);
    }
    if (m.contains("ordinal")) {
        fig("quadratic weighted kappa", m["ordinal"]["quadratic_weighted_kappa"]);
        fig("within one class", m["ordinal"]["within_one_accuracy"]);
    }
    line("");
    line("Confusion matrix (rows: true outcome, columns: decided)");
    const Json& counts = m["confusion"]["counts"];
    for (size_t i = 0; i < counts.size(); ++i) {
        std::string row = "  " + s.outputs.classes[i].label + ":";
        for (const auto& c : counts[i]) row += " " + std::to_string(c.get<size_t>());
        line(row);
    }
    if (binary) {
        line("");
        line("Other thresholds            threshold  sens  spec   PPV   NPV  alerts/100");
        for (const Json& p : m["operating_points"]) {
            char buf[200];
            std::snprintf(buf, sizeof buf, "  %-26s %8s %5s %5s %5s %5s %8s",
                          threshold_policy_words(p["policy"].get<std::string>()).c_str(),
                          num(p["threshold"], "%.3f").c_str(), num(p["sensitivity"], "%.2f").c_str(),
                          num(p["specificity"], "%.2f").c_str(), num(p["ppv"], "%.2f").c_str(),
                          num(p["npv"], "%.2f").c_str(), num(p["alerts_per_100"], "%.1f").c_str());
            line(buf);
        }
    }
    if (r.contains("compare")) {
        const Json& c = r["compare"];
        line("");
        line("Compared with " + c["baseline"]["name"].get<std::string>() + " v" +
             std::to_string(c["baseline"]["version"].get<int64_t>()) +
             " on the same rows (difference: this bundle minus it, paired bootstrap)");
        for (const char* key : {"accuracy", "brier", "calibration.expected_calibration_error", "calibration.slope",
                                "macro.auc_roc", "macro.pr_auc"}) {
            const Json& x = json_member(c["figures"], key);
            if (!x.is_object()) continue;
            char buf[200];
            std::snprintf(buf, sizeof buf, "  %-38s %7s vs %7s  difference %7s [%s, %s]", key, num(x["b"]).c_str(),
                          num(x["a"]).c_str(), num(x["difference"]).c_str(), num(x["ci95"][0]).c_str(),
                          num(x["ci95"][1]).c_str());
            line(buf);
        }
    }
    if (r.contains("gates")) {
        line("");
        for (const Json& g : r["gates"])
            line(std::string(g["pass"].get<bool>() ? "PASS  " : "FAIL  ") + g["reason"].get<std::string>());
    }
    return out;
}

int cmd_evaluate(const Args& a) {
    auto bundle = args_require(a, "--bundle");
    auto trust = args_require(a, "--trust");
    auto data = args_require(a, "--data");
    for (const auto* r : {&bundle, &trust, &data})
        if (!*r) return fail("evaluate", r->problems());
    const std::string format = a.get("--format").value_or("text");
    if (format != "json" && format != "text")
        return fail("evaluate", problem("usage", "--format must be text or json, not '" + format + "'"));
    auto bootstrap = positive_int(a, "--bootstrap", 1000);
    auto seed = positive_int(a, "--seed", 1);
    for (const auto* r : {&bootstrap, &seed})
        if (!*r) return fail("evaluate", r->problems());
    if (*bootstrap > 100000) return fail("evaluate", problem("usage", "--bootstrap must be at most 100000"));
    std::vector<GateRule> gates;
    for (const auto& g : a.all("--gate")) {
        auto rule = gate_parse(g);
        if (!rule) return fail("evaluate", rule.problems());
        gates.push_back(*rule);
    }

    auto model = load_model(*bundle, *trust, 0);
    if (!model) return fail("evaluate", model.problems());
    std::optional<Model> baseline;
    if (auto other = a.get("--compare")) {
        auto b = load_model(*other, *trust, 0);
        if (!b) return fail("evaluate", b.problems());
        std::vector<std::string> mine, theirs;
        for (const auto& c : model->schema.outputs.classes) mine.push_back(c.name);
        for (const auto& c : b->schema.outputs.classes) theirs.push_back(c.name);
        if (mine != theirs || b->schema.outputs.kind != model->schema.outputs.kind)
            return fail("evaluate", problem("not_comparable", *other + " predicts other classes than " + *bundle +
                                                                  "; only models of the same task can be compared"));
        baseline = std::move(*b);
    }
    for (const GateRule& g : gates) {
        if (auto f = gate_figure(model->schema, g.metric); !f) return fail("evaluate", f.problems());
        if ((g.lo.baseline || g.hi.baseline) && !baseline)
            return fail("evaluate", problem("usage", "gate '" + g.text + "' names the baseline: add --compare OTHER"));
    }

    auto text = file_read(*data, kMaxPatientFileBytes);
    if (!text) return fail("evaluate", text.problems());
    const Schema& s = model->schema;
    const PatientFile file = patients_read(s, *text, PatientReadOptions{unix_now(), {}, s.outputs.column});
    if (!file.problems.empty()) return fail("evaluate", file.problems);
    for (const auto& n : file.notices) std::fprintf(stderr, "localdx evaluate: note: %s\n", n.describe().c_str());
    if (!file.has_labels) return fail("evaluate", validation_check(s, file, {}).problems());
    auto scored = validation_score(*model, file);
    if (!scored) return fail("evaluate", scored.problems());
    if (!scored->left_out.empty()) {
        if (a.has("--strict")) return fail("evaluate", scored->left_out);
        fail("evaluate", scored->left_out);
    }
    if (auto ok = validation_check(s, file, scored->labels); !ok) return fail("evaluate", ok.problems());

    Json report = validation_document(*model, file, *data, sha256_hex(*text), *scored, static_cast<int>(*bootstrap),
                                      static_cast<uint64_t>(*seed));
    std::optional<ScoredFile> other;
    if (baseline) {
        auto o = validation_score(*baseline, file);
        if (!o) return fail("evaluate", o.problems());
        // Paired: both models on exactly the rows both could score.
        if (o->labels.size() != scored->labels.size())
            return fail("evaluate", problem("not_comparable", "the two bundles could not score the same rows (" +
                                                                  std::to_string(scored->labels.size()) + " and " +
                                                                  std::to_string(o->labels.size()) +
                                                                  "); fix the rows listed above first"));
        EvalInput mine{
            &s,    scored->labels,  scored->probabilities, static_cast<int>(*bootstrap), static_cast<uint64_t>(*seed),
            false, scored->observed};
        EvalInput theirs{&baseline->schema,
                         scored->labels,
                         o->probabilities,
                         static_cast<int>(*bootstrap),
                         static_cast<uint64_t>(*seed),
                         false,
                         scored->observed};
        report["compare"] = {{"baseline", bundle_lineage(*baseline)},
                             {"difference_is", "this bundle minus the baseline"},
                             {"figures", compare(theirs, mine)}};
        other = std::move(*o);
    }
    bool all_pass = true;
    if (!gates.empty()) {
        const Figures mine = validation_figures(s, scored->labels, scored->probabilities, scored->observed);
        Figures theirs;
        if (baseline)
            theirs = validation_figures(baseline->schema, scored->labels, other->probabilities, scored->observed);
        Json outcomes = Json::array();
        for (const GateRule& g : gates) {
            auto r = gate_check(s, g, mine, baseline ? &theirs : nullptr);
            if (!r) return fail("evaluate", r.problems());
            all_pass = all_pass && r->pass;
            outcomes.push_back({{"rule", r->rule}, {"pass", r->pass}, {"reason", r->reason}});
        }
        report["gates"] = outcomes;
    }
    const std::string out = format == "json" ? json_dump(report, 2) + "\n" : evaluate_text(s, report);
    if (auto path = a.get("--out")) {
        if (auto ok = file_write_atomic(*path, out); !ok) return fail("evaluate", ok.problems());
        std::fprintf(stderr, "localdx evaluate: %zu patients -> %s\n", scored->labels.size(), path->c_str());
    } else {
        std::fwrite(out.data(), 1, out.size(), stdout);
    }
    if (!all_pass) {
        for (const Json& g : report["gates"])
            if (!g["pass"].get<bool>())
                std::fprintf(stderr, "localdx evaluate: gate failed: %s\n", g["reason"].get<std::string>().c_str());
        return 3;
    }
    return 0;
}

//-----------------------------------------------------------------------------
// [SECTION] synth
//-----------------------------------------------------------------------------
int cmd_synth(const Args& a) {
    auto out = args_require(a, "--out");
    if (!out) return fail("synth", out.problems());
    SynthConfig c;
    auto number = [&](const char* flag, double lo, double hi, double fallback) -> Result<double> {
        auto v = a.get(flag);
        if (!v) return fallback;
        const auto parsed = number_parse(*v);
        const double x = parsed ? *parsed : kNaN;
        if (!(x >= lo && x <= hi))
            return problem("usage", std::string(flag) + " must be a number from " + fmt(lo) + " to " + fmt(hi) +
                                        ", not '" + *v + "'");
        return x;
    };
    auto rows = number("--rows", 10, 10000000, 10000), fields = number("--fields", 6, 1000, 30),
         classes = number("--classes", 2, 20, 2), rare = number("--rare", 0.0001, 0.5, 0.05),
         missing = number("--missing", 0, 0.9, 0.1), seed = number("--seed", 0, 1e9, 1);
    for (auto* r : {&rows, &fields, &classes, &rare, &missing, &seed})
        if (!*r) return fail("synth", r->problems());
    c.rows = static_cast<size_t>(*rows);
    c.fields = static_cast<int>(*fields);
    c.classes = static_cast<int>(*classes);
    c.rare = *rare;
    c.missing = *missing;
    c.seed = static_cast<uint64_t>(*seed);
    const SynthData d = synth_generate(c);
    if (auto ok = dir_create(*out); !ok) return fail("synth", ok.problems());
    if (auto ok = file_write_atomic(*out + "/schema.json", d.schema.dump(2) + "\n"); !ok)
        return fail("synth", ok.problems());
    if (auto ok = file_write_atomic(*out + "/data.csv", d.csv); !ok) return fail("synth", ok.problems());
    std::printf("wrote %s/schema.json and %s/data.csv (%zu rows, %d fields, %d classes)\n", out->c_str(), out->c_str(),
                c.rows, c.fields, c.classes);
    return 0;
}

}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] main
//-----------------------------------------------------------------------------
int cmd_publish(const Args& a);     // server/cli/publish.cpp
int cmd_preprocess(const Args& a);  // server/cli/preprocess.cpp

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
        {"train", kTrainHelp, {"--task", "--data", "--out"}, {}, cmd_train},
        {"bundle",
         kBundleHelp,
         {"--schema", "--model", "--card", "--reference", "--name", "--version", "--key", "--out", "--expires-days",
          "--background", "--permutations"},
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
         {"--bundle", "--trust", "--data", "--compare", "--format", "--out", "--bootstrap", "--seed"},
         {"--strict"},
         cmd_evaluate,
         {"--gate"}},
        {"publish", nullptr, {"--server", "--token-file"}, {}, cmd_publish},
        {"preprocess",
         nullptr,
         {"--bundle", "--trust", "--schema", "--image", "--out", "--frame"},
         {"--pixels"},
         cmd_preprocess},
        {"synth",
         kSynthHelp,
         {"--out", "--rows", "--fields", "--classes", "--rare", "--missing", "--seed"},
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
        return c.run(*parsed);
    }
    std::fprintf(stderr, "localdx: unknown command '%s'\n\n%s", cmd.c_str(), kHelp);
    return 2;
}
