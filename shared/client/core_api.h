// shared/client/core_api.h — what the browser client asks of the core, as plain C++ over JSON text.
//
// Index of this file
//   [SECTION] Loaded model handle
//   [SECTION] Results as JSON (what the page and the tests read)
//   [SECTION] Imaging models (one image through ONNX Runtime, its map and deletion curve)
//
// The embind layer (wasm/core: core_bindings.cpp, core_classes.h) only moves bytes and strings
// across; everything here is ordinary C++ over shared/, compiled natively too and tested there
// (tests/unit/test_client.cpp). The Node tests (tests/node) run it as wasm against the native
// CLI's results.
#pragma once
#include <memory>
#include <string>
#include <span>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "csv/csv.h"
#include "imaging/image_model.h"
#include "imaging/preprocess.h"
#include "predict/predict.h"
#include "predict/prediction_json.h"
#include "record/fhir.h"
#include "record/patients.h"
#include "record/record.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Loaded model handle
//-----------------------------------------------------------------------------
struct LoadedModel {
    Model model;
    TreeShapWorkspace workspace;  // reused across predictions of this model
};

// Verifies `bundle` against `trust_json` at time `now`, with the rollback floor taken from
// `floors` ({"name": highest version accepted before}), and parses it. On failure `error` holds
// the envelope {"ok": false, "problems": [one]}, its message the clinician's words
// (bundle_refusal_words) followed by the technical reason in brackets.
struct LoadResult {
    std::shared_ptr<LoadedModel> model;
    Json error;
};
LoadResult core_load_bundle(std::string_view bundle, std::string_view trust_json, int64_t now,
                            std::string_view floors_json);

//-----------------------------------------------------------------------------
// [SECTION] Results as JSON
//-----------------------------------------------------------------------------
// {"name", "version", "created", "expires", "signers", "sha256", "explainer", "covers",
//  "onnx": core_onnx_names, "background" (sampling-shapley: rows and the probabilities the
//  model's author gave for them, checked on load), "schema": <schema.json>, "card": <card.json>}
Json core_model_info(const LoadedModel& m);
// The tensors the page gives and reads when it runs the bundle's ONNX file: {"input", "output"
// (the probabilities, or a regression's value), "margin" (tree models: what base + contributions
// must equal; null otherwise), "output_width", "rows_per_explanation"}; null for an imaging
// model (its tensors are in the info's "imaging").
Json core_onnx_names(const LoadedModel& m);

// record_json: one record object. Returns {"ok": true, "probabilities": [...], "classes": [...],
// "predicted", "label", "margin": [...], "features": [...], "values": [...], "warnings": [...],
// and with explain: "explanation": {"output", "base", "contributions": [...per feature],
// "fields": [...per field]} for the output that explains the predicted class}; or {"ok": false,
// "problems": [{"code", "field", "message"}]}.
Json core_predict(LoadedModel& m, std::string_view record_json, bool explain);

// A file of many patients — CSV, or FHIR R4 JSON (Bundle or NDJSON; record/fhir.h) — every row
// scored, problems per row. {"rows": [...], "problems": [...], "format": "csv" | "fhir"}; FHIR
// rows carry the patient's id as "patient".
Json core_predict_batch(LoadedModel& m, std::string_view text, bool explain, int64_t now);

// One row of the batch table, defined here once: the core writes it, the batch worker, the page
// and the UI read it through these offsets (in meta as "layout"), never by recomputing them.
struct BatchLayout {
    size_t classes = 0, fields = 0;
    size_t probability(size_t k) const { return k; }      // K class probabilities
    size_t value(size_t f) const { return classes + f; }  // NF values (NaN = missing), in the field's unit
    size_t contribution(size_t f) const {
        return classes + fields + f;
    }                                                     // NF per-field contributions of the explained output
    size_t base() const { return classes + 2 * fields; }  // the explained output's base value
    size_t predicted() const { return base() + 1; }       // the decided class
    size_t row() const { return base() + 2; }             // the file's 1-based data row
    size_t explained() const { return base() + 3; }       // 1 when contributions are present
    size_t stride() const { return base() + 4; }
};
BatchLayout batch_layout(const Schema& schema);
// {"stride", "probability", "value", "contribution", "base", "predicted", "row", "explained"}: the
// first column of each part of a row.
Json batch_layout_json(const BatchLayout& l);

// The batch path without JSON per row (tree models): the table the UI draws (BatchLayout per
// row), the features for ONNX Runtime (rows x F floats), and what ONNX Runtime must agree with
// (rows x O margins = base + sum(phi)).
// meta: {"rows", "classes", "fields", "stride", "layout", "outputs", "warning_kinds": [{field, message}...],
// "warnings": per row, indices into warning_kinds, "patients": [...] | null, "problems", "format",
// "explanation": {"of": {out: text}, "kind", "unit"}}.
struct BatchTable {
    Json meta;
    std::vector<double> table;
    std::vector<float> features;
    std::vector<double> margins;
};
// A file of patients read once (record/patients.h: CSV, FHIR R4 JSON or JSON records, with the
// rules every front end shares), to be scored in parts. The batch worker and its helper each open
// the file once, then take parts in any order (web/batch-worker.js); core_batch_join joins
// them in part order. Parts split the file's data rows (CSV rows, FHIR patients): part `index` of
// `count` scores rows index * n / count up to (index + 1) * n / count. A row's problems go with
// its part; the file's own problems and notices with part 0. {0, 1} is the whole file.
using BatchFile = PatientFile;
BatchFile core_open_batch(const LoadedModel& m, std::string_view text, int64_t now);

// Reports from a file's predictions (never from the table the UI draws): with `report.day` set,
// core_batch_table and core_finish_batch add every prediction they make, randomized in the core
// (row i of the part with a generator seeded from report.seed and i; the page draws report.seed
// from crypto.getRandomValues), to the part's reports: meta "reports": {"complete": [reports of
// kMaxReportPredictions], "pending": the part's remainder | null}.
struct BatchReport {
    std::string day;    // "YYYY-MM-DD"; empty: no reports
    uint64_t seed = 0;  // this part's random seed
};

struct BatchPart {
    size_t index = 0;
    size_t count = 1;
};
inline constexpr size_t kMaxBatchParts = 1024;
// meta also has "part": {"index", "count", "rows_in_file"} and "notices" (part 0: e.g. ignored
// columns), "id_column". A part out of range scores nothing,
// with the problem "bad_part" (field "part").
BatchTable core_batch_table(LoadedModel& m, const BatchFile& file, BatchPart part, const BatchReport& report = {});

// How many parts a file of `rows` data rows is scored in: parts of about kBatchPartRows rows
// (small enough for two threads to share a file evenly, large enough that a part's fixed costs
// do not show), at least 1 and at most kMaxBatchParts.
inline constexpr size_t kBatchPartRows = 500;
size_t core_batch_part_count(size_t rows);

// A file's parts (core_batch_table's, in part order, all of one count) joined into the table of
// the whole file, equal to the file scored as one part: table, features and margins end to end;
// meta "rows" added up, "warnings" re-indexed into one "warning_kinds" list, "patients" (ids, ""
// in parts without any; null when no part has one), "problems" in part order, the explained
// outputs' texts; the rest of meta (layout, notices, format, id_column...) from part 0, with
// "part": {"index": 0, "count": 1, "rows_in_file"}. The parts' reports (meta "reports") are
// listed in part order as "part_reports", for core_report_merge, and how many rows each part has
// in the table as "part_rows" (a part's rows start after the earlier parts' rows: the page checks
// a part's early run against them, web/predict.js checkTable). Parts missing, repeated or out
// of order are refused: the problem "bad_part" (field "part").
// A part whose numbers are not its rows' (table rows x "stride", margins rows x "outputs", features
// of one width in every part) is refused the same way.
Result<BatchTable> core_batch_join(std::span<const BatchTable> parts);

// core_batch_join's meta alone, for a caller that joins the numbers itself, end to end in part
// order (the wasm binding does, straight into JavaScript's arrays): the parts' metas and the sizes
// of their numbers, checked and joined by the same rules.
struct BatchPartSizes {
    size_t table = 0, features = 0, margins = 0;
};
Result<Json> core_batch_join_meta(std::span<const Json> metas, std::span<const BatchPartSizes> sizes);

// A small CSV of made-up patients for the batch worker to score while it is idle, so that the
// batch path's code is already optimized when the first real file arrives: each numeric field
// spread over its training range (else its possible range), categories and yes/no in turn, and
// every fifth optional value missing (unless the row would fall below the model's minimum
// information). Every row validates and gets a result. Nothing of it is reported. `rows` outside
// 0 to kMaxWarmUpRows: the header only.
inline constexpr int64_t kMaxWarmUpRows = 100000;
std::string core_warm_up_csv(const LoadedModel& m, int64_t rows);

// The parts' reports (a JSON array of their meta "reports", in part order) joined with the pending
// report kept on the device: a batch is one report, complete when it summarises at least k
// predictions (split at kMaxReportPredictions, the server's limit per report), pending otherwise.
// Returns {"pending": report | null, "complete": [reports with k <= n <= kMaxReportPredictions]}.
Json core_report_merge(const LoadedModel& m, std::string_view pending_json, std::string_view parts_json,
                       std::string_view day);

// Models that only ONNX Runtime runs (explainer "sampling-shapley"). core_predict and
// core_predict_batch then give {"ok": true, "pending": "onnx", "features", "values", "warnings"}
// per patient; the page runs ONNX Runtime on core_onnx_inputs' rows and core_finish turns the
// outputs into the same result as for trees (probabilities, predicted, label, explanation with
// "kind": "sampling-shapley" and per-field "standard_error", and "check": the local accuracy
// |base + sum - probability|).
std::vector<float> core_onnx_inputs(const LoadedModel& m, std::string_view features_json, bool explain);
Json core_finish(const LoadedModel& m, std::string_view pending_json, std::span<const float> outputs, bool explain);
// Every pending row of a batch at once (one ONNX Runtime row each, no explanations), as the
// batch table; on failure meta is also the envelope ("ok": false, "problems") and there are no rows.
BatchTable core_finish_batch(const LoadedModel& m, std::string_view rows_json, std::span<const float> outputs,
                             const BatchReport& report = {});

// ONNX Runtime's cross-check (predict.h, onnx_agreement), so the page only moves numbers:
// - core_check: one tree result (the core's JSON) against ONNX Runtime's row for it (K
//   probabilities, the margin row); the result with "check": {"ok", "max_abs_diff"}, or
//   {"ok": false, "problems": [{"code": "check_failed", ...}]} withholding it.
// - core_check_table: rows of a batch table (and its margins, O per row) against ONNX Runtime's
//   probabilities (K per row) and margins (margin_width per row); {"ok", "max_abs_diff"}, with
//   "problems" (why) when not ok.
// - core_check_background: a model-agnostic bundle's background rows run by ONNX Runtime against
//   the probabilities its author published; the same, the problem "model_mismatch" in the
//   clinician's words when they differ (core_check_images: the same for an imaging model).
Json core_check(const LoadedModel& m, std::string_view result_json, std::span<const float> probabilities,
                std::span<const float> margin);
Json core_check_table(const LoadedModel& m, std::span<const double> table, std::span<const double> margins,
                      std::span<const float> probabilities, std::span<const float> onnx_margins, size_t margin_width);
Json core_check_background(const LoadedModel& m, std::span<const float> outputs);

// The server's signed models index, checked against the app's trust root: signature, expiry and
// a version floor (the newest index already seen, so a frozen or replayed mirror is noticed).
// {"ok": true, "version", "expires", "stale": bool, "models": [...]} or {"ok": false, "problems": [...]}.
Json core_verify_index(std::string_view index_json, std::string_view trust_json, int64_t now, int64_t min_version);

// Adds one prediction to a pending report (JSON as report_to_json, or "" for a new one), with
// randomized response done here, in the core. `seed` comes from the browser's
// crypto.getRandomValues. Returns {"pending": report | null, "complete": [report]}: the report is
// complete, and pending starts again, at k patients (as core_report_merge).
Json core_report_add(LoadedModel& m, std::string_view pending_json, std::string_view prediction_json,
                     std::string_view day, uint64_t seed);

// Whether the second prediction (JSON with "values", null for missing) is still the patient of
// the first (same_patient, report.h): {"ok": true, "same": bool}; false for anything malformed.
Json core_same_patient(std::string_view previous_json, std::string_view next_json);

//-----------------------------------------------------------------------------
// [SECTION] Imaging models
//-----------------------------------------------------------------------------
// One image, decoded by the browser (RGBA bytes) or from a DICOM file's bytes by the decoder the
// program hands in (imaging/dicom.h's, natively and in the batch worker's wasm core; the page's
// own module has none: nullptr refuses the file with the reason), through the bundle's
// preprocessing. `job` then asks for the runs ONNX Runtime makes (image_model.h);
// `display` is what the clinician is shown; `header` the few header fields a clinician may see
// ({"modality", "body_part", "view", "frames", "width", "height" (the image's pixels), and "frame"
// (0-based) of a DICOM file}), nothing
// that names or dates the patient.
struct ImageStart {
    std::optional<ImageJob> job;
    DisplayImage display;
    Json header = Json::object();
    Json error;  // {"ok": false, "problems": [...]} when there is no job
};
// Which of the two an image file goes to, from its bytes (imaging/image_input.h,
// image_format_sniff), checked against the formats the model reads:
// {"ok": true, "format": "png" | "jpeg" | "dicom"} (the page decodes PNG and JPEG itself and
// gives DICOM files' bytes), or {"ok": false, "problems": [{"code": "unsupported_image", the
// clinician's words}]} ("not_imaging" for a model that reads no images). A PNG or JPEG file is
// checked whole first (imaging/raster_check.h, raster_file_refusal: damaged, truncated or huge
// files get the reason `localdx preprocess` gives), so give it all of the file's bytes.
Json core_image_kind(const LoadedModel& m, std::string_view bytes);
// How many of a file's bytes core_image_kind reads, from its first kImageSniffBytes
// (imaging/image_input.h): a PNG or JPEG file's all (SIZE_MAX), a DICOM file's only those. The
// browser copies just these into wasm, so that a large DICOM file is copied there once, to be
// decoded, not twice.
size_t core_image_kind_needs(std::string_view first_bytes);
// A decoded image is refused ("bad_image", field "image") when it is outside the size limit
// (imaging/raster_check.h, image_size_refusal); a DICOM frame ("bad_frame", field "frame")
// outside 0 to kMaxDicomFrames - 1 (and, by the decoder, beyond the file's own frames).
inline constexpr int64_t kMaxDicomFrames = 100000;
ImageStart core_image_start(const LoadedModel& m, std::span<const uint8_t> rgba, int64_t width, int64_t height);
ImageStart core_image_start_dicom(const LoadedModel& m, DicomDecoder decode, std::string_view bytes, int64_t frame);
// The runs still to make, and the inputs of the next: up to `max_count` images of the job's
// current stage as one [count, C, H, W] tensor; `max_count` outside 1 to kMaxImagesPerRun: one.
inline constexpr int64_t kMaxImagesPerRun = 4096;
size_t core_image_pending(const LoadedModel& m, const ImageJob& job);
std::vector<float> core_image_inputs(const LoadedModel& m, const ImageJob& job, int64_t max_count);
// The outputs for the inputs last asked for: {"ok": true, "pending": n} or {"ok": false, "problems"}.
Json core_image_give(const LoadedModel& m, ImageJob& job, std::span<const float> probabilities,
                     std::span<const float> map, int explained);
// {"ok": true, "probabilities", "values" (the image's descriptors for the drift report,
// drift/image_descriptors.h; null: not given), "classes", "predicted", "label", "explained", "explained_label",
//  "map": {"kind", "height", "width", "values", "peak", "runs"}, "deletion": {"ranked", "random",
//  "ranked_area", "random_area", "pending"}, "runs"}; a multilabel model's adds "findings" (predict/findings.h
//  findings_json), "words" (findings_words) and "maps" (one map per finding: {"finding", "label",
//  "height", "width", "values", "peak"}). {"ok": false, ...} while the map's runs are pending; once
//  only the deletion curve's are, the result without it ("pending": true, empty curves), to show
//  the image and its map before them.
Json core_image_result(const LoadedModel& m, const ImageJob& job);
// The bundle's check images run by ONNX Runtime (its probability output, check_images rows)
// against the author's probabilities: {"ok", "max_abs_diff"}, with "problems": [{"code":
// "model_mismatch", the clinician's words}] when they differ (as core_check_background).
Json core_check_images(const LoadedModel& m, std::span<const float> outputs);

}  // namespace ldx
