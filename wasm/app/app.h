// wasm/app/app.h — the clinician's app: one state, drawn by Dear ImGui every frame.
//
// Index of this file
//   [SECTION] State (the one copy of everything the UI shows)
//   [SECTION] Frame loop (frame_loop.cpp)
//   [SECTION] Host calls (C++ -> the page's JavaScript; host_bridge.cpp)
//   [SECTION] Drawing (views/, one file per view)
//
// Immediate mode: the UI is a function of AppState. Widgets keep no copy of the patient record
// or of the result; the form edits AppState::form, the result panel reads AppState::result.
// Predictions go through the page's JavaScript (the same path as window.localdx.predict): the
// core computes the features, probabilities and TreeSHAP and its result comes back here at once,
// marked "being checked" while ONNX Runtime Web runs the bundle's model; the page then checks one
// against the other, and a result they disagree on is withdrawn (app_set_result_checked).
//
// Its files: state.cpp (the state, the form, the page's messages read once), validate.cpp (the
// Validate view's run), frame_loop.cpp (start-up and drawing on demand), host_bridge.cpp (app ->
// page), app_bindings.cpp (page -> app, embind), views/ (one file per view: views/views.h), and
// a11y.cpp, plot.cpp, widgets.h and palette.h, which every view uses.
#pragma once
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/core_api.h"
#include "conformal/conformal.h"
#include "metrics/validation.h"
#include "render_gl.h"

namespace emscripten {
class val;
}

namespace ldx::app {

//-----------------------------------------------------------------------------
// [SECTION] State
//-----------------------------------------------------------------------------
struct FieldInput {
    std::string text;  // as typed (numbers, or a category/boolean choice)
    int unit = 0;      // 0: the field's unit; i > 0: alt_units[i - 1]
};

// A prediction as the app shows it: the core's JSON (shared/predict/prediction_json.h, or a batch
// row) read once when it arrives (result_from_json); the view reads these fields, never keys.
struct ResultView {
    struct Warning {
        std::string field, message;
    };
    struct Points {  // the explanation in probability (explain/points.h)
        bool ok = false;
        double base = 0, probability = 0;
        std::vector<double> fields;
    };
    struct Output {  // one model output's exact contributions (multi-class: one per class)
        double base = 0;
        std::vector<double> contributions;  // per feature
    };
    struct Explanation {
        int output = 0;
        double base = 0;
        std::vector<double> fields;  // per schema field, in the model's units
        std::string kind, unit, of;  // "treeshap" | "sampling-shapley", "log-odds", "log-odds of Diabetes"
        Points points;
        std::vector<double> standard_error;  // model-agnostic estimates: per field
        std::vector<Output> outputs;
    };
    struct Check {  // ONNX Runtime's cross-check
        bool ok = false, pending = false;
        double max_abs_diff = 0;
        std::string message;
    };
    bool ok = false;
    Json problems = Json::array();  // why there is no result: the core's problems (the form shows them by field)
    std::vector<double> probabilities;
    int predicted = 0;
    std::string label;
    std::vector<double> values;  // per schema field, NaN = missing
    std::vector<Warning> warnings;
    double missing_share = 0;
    std::string conformal_words;
    double conformal_level = 0.9;
    Check check;
    std::optional<Explanation> explanation;
    double seq = 0;       // the page's number for this prediction (web/predict.js)
    int row = 0;          // batch rows: the file's 1-based row
    std::string patient;  // batch rows: the patient id, when the file has one
};
// A result from the core's JSON; anything malformed is a result that is not ok, with a problem.
ResultView result_from_json(const Json& j);
// Back to the JSON the page and tests read (what viewState reports of the explanation).
Json points_json(const ResultView::Points& p);

// What the batch worker says about a file besides its table (core_api.h, BatchTable meta), read
// once when the file arrives (batch_meta_from_json): nothing later looks it up by key.
struct BatchMeta {
    struct Warning {
        std::string field, message;
    };
    std::vector<Warning> warning_kinds;         // each distinct warning once
    std::vector<std::vector<size_t>> warnings;  // per row: indices into warning_kinds
    std::vector<std::string> patients;          // per row: the patient id ("" when none); empty: no id column
    std::string explanation_kind, explanation_unit;
    std::map<int, std::string> explained_of;  // model output -> what its contributions explain ("log-odds of …")
    std::vector<double> bases;                // every output's base value (tree models), for probability points
    std::vector<std::string> notices;         // about the file (ignored columns, ...)
};
BatchMeta batch_meta_from_json(const Json& meta);

// The batch view's rows, as web/batch-worker.js sends them: one table of numbers (no JSON per
// row), so 10,000 patients reach the UI in one copy. Each row is laid out as the core's
// BatchLayout says (core_api.h).
struct BatchState {
    bool loaded = false;
    std::string file_name;
    BatchLayout layout;
    std::vector<double> table;
    BatchMeta meta;
    std::map<int, ResultView> explained;  // rows explained on demand (model-agnostic)
    Json problems = Json::array();        // rows that could not be scored
    int selected = -1;
    int sort_column = 0;
    bool sort_descending = true;
    std::vector<int> order;  // display order of rows
    std::string status;

    size_t rows() const { return layout.stride() && !table.empty() ? table.size() / layout.stride() : 0; }
    double at(int row, size_t column) const { return table[static_cast<size_t>(row) * layout.stride() + column]; }
    double probability(int row, int k) const { return at(row, layout.probability(static_cast<size_t>(k))); }
    int predicted(int row) const { return static_cast<int>(at(row, layout.predicted())); }
    int row_number(int row) const { return static_cast<int>(at(row, layout.row())); }
    size_t warnings(int row) const;
    std::string patient(int row) const;
};

// The Validate view: a labelled file of the site's own patients, scored and evaluated on the
// device (shared/metrics/validation.h), the same report `localdx evaluate` gives.
struct ValidateState {
    bool loaded = false;
    std::string file_name;
    Json report;                          // validation_document, or null when refused
    Json problems = Json::array();        // why the file could not be used
    std::vector<int> labels;              // per scored row
    std::vector<double> probabilities;    // rows x classes (regression: the predicted value per row)
    std::vector<double> observed;         // regression: the true value per scored row
    float threshold = 0.5f;               // the slider (binary): figures at this threshold
    bool recalibrated = false;            // prediction sets now calibrated on this file (this session)
    Json local_coverage;                  // the local calibrator's coverage on this file
    float slider[4] = {0, 0, 0, 0};       // the slider's rectangle on the canvas (device pixels), for tests
    float open_button[4] = {0, 0, 0, 0};  // the "Open labelled file" button's, likewise
    // An imaging model's labelled images (metrics/image_validation.h; validate.cpp, validate_images):
    // the report's "localization", and the images' outputs as ONNX Runtime gave them, to save for
    // `localdx evaluate --images`.
    bool images = false;
    std::string outputs;
    // A multilabel model's: the finding shown (its figures, slider and sets), and each finding's slider.
    int finding = 0;
    std::vector<float> thresholds;
    float save_button[4] = {0, 0, 0, 0};  // "Save the images' outputs (JSON)", for tests
};

// The Image view (imaging models): the images opened, each scored by the batch worker (ONNX
// Runtime, off this thread) and read once when it arrives (image_result_from_json).
struct GlTexture {
    unsigned id = 0;  // 0: not made yet (made while drawing, where the GL context is current)
    int width = 0, height = 0;
};
struct ImageResult {
    std::string file;
    bool ok = false;
    std::vector<Problem> problems;      // why the image could not be used (none when ok): image_refusal
    std::vector<std::string> warnings;  // above the result: confirm what the image is, or unlike the training images
    // A PNG or JPEG file (or a DICOM file without body part or view) does not say what it shows:
    // its result is shown once the clinician confirms it is what the model was made for.
    bool to_confirm = false, confirmed = false;
    std::string confirm_words;  // the warning that asks (imaging/image_input.h, image_scope_check)
    std::vector<double> probabilities;
    int predicted = 0, explained = 0;
    std::string label, explained_label;
    std::string words;      // a multi-label model's result in the core's words (predict/findings.h); empty otherwise
    std::string conformal;  // the prediction set or triage band(s): the bundle's, or a site's kept on this device
    std::string map_kind;   // "cam" | "occlusion"
    int map_height = 0, map_width = 0, map_runs = 0;
    std::vector<float> map;  // [0, 1]
    double peak = 0;
    std::vector<double> ranked, random;  // the deletion curve
    double ranked_area = 0, random_area = 0;
    double ms = 0;        // the worker's time for this image, every run included
    std::string runtime;  // ONNX Runtime's execution provider ("wasm" | "webgpu")
    std::string modality, body_part, view;
    int frames = 1, frame = 0;  // a multi-frame DICOM file's frame count and the one scored (0-based)
    int display_width = 0, display_height = 0;
    std::vector<uint8_t> grey;  // what the clinician sees (imaging/preprocess.h, image_display)
    GlTexture image, heat;
};
ImageResult image_result_from_json(const std::string& file, const Json& j);
// Why an image could not be used, in the reader's words: every problem's message, in order.
std::string image_refusal(const ImageResult& r);
// One sentence for the ARIA live region: the file, the result, and what the heat map is (and is not).
std::string image_summary(const ImageResult& r);
// Whether the result may be shown: not waiting for the clinician to confirm what the image is.
inline bool image_shown(const ImageResult& r) { return r.ok && (!r.to_confirm || r.confirmed); }
// The clinician confirms what image i is ("Yes, it is"): its result is shown and announced.
struct AppState;
void image_confirm(AppState& s, int i);

struct ImagingState {
    std::vector<ImageResult> images;  // the images opened last, in order
    int expected = 0;                 // images of the last opening still being scored
    int selected = -1;
    float opacity = 0.5f;  // the heat map's, 0 to 1
    bool show_map = true;
    bool explaining = false;                 // a map of another class is being made
    float frame_asked = 0;                   // a multi-frame file's frame (1-based) as the layer's range input set it
    float frame_put = 0;                     // the value the view last put there (a change from it is an ask)
    int frame_asked_image = -1;              // the image it was set for
    float image_rect[4] = {0, 0, 0, 0};      // where the selected image is drawn (device pixels), for tests
    float slider[4] = {0, 0, 0, 0};          // the opacity slider's rectangle, likewise
    float open_button[4] = {0, 0, 0, 0};     // the "Open images" button's
    float confirm_button[4] = {0, 0, 0, 0};  // "Yes, it is: show the result" (the image shown last asking)
};

// The Operations view (views/operations_view.cpp): the server's drift history and estimated performance
// of the model shown, read with an operator's token (GET /api/v1/drift/history and /api/v1/drift),
// read once when it arrives (operations_from_json). The token lives in this memory only, for the
// session: never in localStorage, sessionStorage, IndexedDB or Cache Storage.
struct OperationsFigure {  // an estimated figure with its 95% interval and the model card's
    double value = NAN, lo = NAN, hi = NAN, card = NAN;
    bool below_card = false;
};
struct OperationsPeriod {
    std::string day;  // the period's first day
    uint64_t reports = 0, predictions = 0, sources = 0;
    std::vector<double> psi, psi_lo, psi_hi;  // per field (history order); NaN: too few patients
    std::vector<std::vector<double>> live;    // per field: the debiased share per bin (empty: too few)
    std::string performance;                  // "ok" | "below_card" | "insufficient" | "not_estimated"
    OperationsFigure auc, sensitivity;
    OperationsFigure coverage;  // regression: the 90% prediction interval's expected coverage
    // Multilabel: each finding's (OperationsData::findings order; all NaN when not estimated).
    std::vector<OperationsFigure> finding_auc, finding_sensitivity;
};
struct OperationsData {
    std::string model;
    bool weekly = false;              // periods are ISO weeks (Monday to Sunday), else days
    std::vector<std::string> fields;  // as the history names them (the schema's names)
    // Multilabel: the findings the estimate is per (names, and labels as the clinician reads them).
    std::vector<std::string> findings, finding_labels;
    std::vector<OperationsPeriod> periods;
    double psi_warn = 0.1, psi_alert = 0.25;
    std::string note;                 // the estimate's caveat, in the server's words
    std::vector<std::string> alerts;  // active now (GET /api/v1/drift), in words
};
// Both answers' JSON read strictly (shared/base/json.h); a problem names what was wrong.
Result<OperationsData> operations_from_json(std::string_view history, std::string_view current);
struct OperationsState {
    std::string token;   // the operator's bearer token: this memory only, this session only
    std::string status;  // what is happening or why nothing is shown ("The operator token was refused.")
    bool loading = false;
    bool weekly = false;  // ask for weeks rather than days
    std::optional<OperationsData> data;
    int field = -1, day = -1;  // the chosen field (index into data->fields) and day (into periods); -1 not yet
};

struct AppState {
    std::shared_ptr<LoadedModel> model;   // verified bundle, parsed
    Json info = Json::object();           // core_model_info
    Json bundle_status = Json::object();  // from the page: source, available models
    std::string error;                    // a bundle that was refused, or a check that failed
    std::vector<FieldInput> form;         // one per schema field
    Json live_problems = Json::array();   // validation of the form as typed
    std::optional<ResultView> result;     // last prediction (none yet)
    int explain_class = -1;               // multi-class: the class whose explanation is shown (-1: the predicted one)
    std::optional<ResultView> explained_as;  // `result` with the explanation of explain_class
    bool result_stale = false;               // the form changed after `result`: shown dimmed, "press Predict"
    double copied_at = -1;                   // when "Copy result" was pressed (ImGui time), for its feedback
    int last_field = -1;                     // the text field last being edited
    std::string edit_start;                  // that field's text when its edit began (Escape goes back to it)
    std::string form_notice;                 // said under the form until the next change (an undone edit)
    std::string help_open;                   // the "(?)" opened by a click, tap or key ("field-glucose"); "" none
    int refocus_field = -1;                  // a field to give the keyboard focus back to next frame (after Ctrl+Enter)
    bool refocus_pending = false;            // that field is taking the focus: put its caret at the end
    bool scroll_to_result = false;           // a new result: the next frame scrolls it into view
    float form_scroll = 0;                   // how far the form is scrolled (pixels), for tests
    float swipe_scroll = 0;                  // a finger's swipe not yet applied (pixels): the next frame scrolls by it
    bool swipe_begins = false;               // that swipe is a new one: the view under the finger is chosen again
    unsigned swipe_window = 0;               // the view the swipe scrolls (an ImGuiID), kept to its end and its glide
    bool swipe_moved = true;                 // the last swipe applied moved its view (false: at its end, or none)
    // The patient's chart from the EHR (SMART launch, web/smart.js; record/fhir.h fhir_chart): per
    // field what it gave. A field shows "from the chart" while its text is still the chart's.
    std::vector<ChartValue> chart;
    std::string chart_status;   // the launch's state in words ("Filled from the chart of ...", or why not)
    std::string chart_patient;  // the launch's patient (a FHIR Patient id)
    // The resource types the EHR granted creating and the site allows writing back
    // ("RiskAssessment", "Observation"): "Save to chart" is offered for a model whose result is one.
    std::vector<std::string> chart_write;
    bool save_preview = false;  // "Save to chart…" pressed: what would be sent is shown, nothing sent yet
    bool predicting = false;
    BatchState batch;
    ValidateState validate;
    ImagingState imaging;
    OperationsState operations;
    bool local_calibration = false;   // the model's prediction sets come from a site's file (kept on this device)
    Json reporting = Json::object();  // {enabled, pending: {...}, queued: [...]}
    int select_tab = -1;              // a tab to bring forward next frame (0 patient, 1 batch, ...), -1 none
    float scale = 1.0f;               // devicePixelRatio
    bool contrast_more = false;       // prefers-contrast: more (the page says so, before and after start)
    int frames_to_draw = 0;           // frames still to draw after the last event (frame_loop.cpp)
    double last_draw = -1;            // when the last frame was drawn (seconds)
    long frames_drawn = 0;            // for the e2e test of drawing on demand
    long frames_before_model = -1;    // frames drawn when the first model (or an error) arrived
    long frames_rendered = 0;         // of those, the frames that drew into the canvas (not the same as the last)
    long textures_made = 0;           // GL textures made (imaging_view.cpp): a name may come back with other pixels
    DrawnFrame last_rendered;         // what the last rendered frame drew (render_gl.h; frame_loop.cpp)
    GlRenderer gl;                    // the canvas's WebGL2 drawing (render_gl.h)
};

AppState& state();  // the app's single instance (state.cpp)

// One batch row, as the explanation view reads it.
ResultView batch_row(const AppState& s, int row);
// The batch table as the "Export results (CSV)" button saves it.
std::string batch_export_csv(const AppState& s);

// The form as a JSON record for the core ({"glucose": {"value": "8.2", "unit": "mmol/L"}, ...}).
Json form_record(const AppState& s);
// A field as the clinician reads it: its label, and the unit its value is typed in ("Glucose (mg/dL)").
std::string field_name(const Field& f, const FieldInput& in);
// The form as typed, one field a line ("Glucose (mg/dL): 120"), empty fields left out; "" when
// nothing was typed. What the page shows when it can no longer draw (web/page.js), so that nothing
// typed is lost.
std::string form_text(const AppState& s);
void form_reset(AppState& s);
void form_validate(AppState& s);  // fills live_problems from the core's record_prepare
// Fills the form from the patient's chart (a FHIR Bundle of the Patient and their Observations):
// the fields the chart gives (fhir_chart's `used` values); the rest stay empty. Returns
// {"ok", "patient", "fields": [{"field", "state", "text", "date", "date_text", "source", "reason"}]}
// or {"ok": false, "problems"}.
Json form_from_chart(AppState& s, const std::string& chart_text, int64_t now);
// After any edit of the form (typed on the canvas, or through the page's input elements): validated
// again, a refusal cleared, a shown result marked out of date.
void form_edited(AppState& s);
// Multi-class: show the explanation of class c's probability (the predicted class: -1).
void explain_class(AppState& s, int c);
// A result with its explanation replaced by class c's, from the contributions the core gave for
// every output; none when the result has no such contributions.
std::optional<ResultView> explanation_for_class(const Model& m, const ResultView& r, int c);
// The Validate view: reads, scores and evaluates a labelled file (text as read by the page).
void validate_file(AppState& s, const std::string& name, const std::string& text, int64_t now);
// The same for an imaging model: the labels CSV and the outputs ONNX Runtime gave for the images
// chosen with it (image_outputs_to_json's shape), both from the page (web/validate-images.js).
void validate_images(AppState& s, const std::string& labels_name, const std::string& labels_text,
                     const std::string& outputs_json, int64_t now);
// Prediction sets calibrated on the validated file, for this model and this session: every later
// result's set or band comes from them, and says so.
void validate_recalibrate(AppState& s);
// Back to the bundle's own prediction sets: the local calibrator is forgotten (this model reloads).
void validate_forget_calibration(AppState& s);
// A calibrator this device fitted earlier on a site's file for this bundle (the page kept it):
// the model's prediction sets come from it. False when it cannot be read for this model.
bool apply_local_calibrator(AppState& s, const std::string& calibrator_json);

//-----------------------------------------------------------------------------
// [SECTION] Frame loop (frame_loop.cpp)
//-----------------------------------------------------------------------------
// Called once by the page with the UI font (a Uint8Array): the canvas, Dear ImGui, the loop.
// Answers undefined, or the failure envelope when WebGL2 refuses the renderer (the page shows its
// fallback text: nothing could be drawn).
emscripten::val app_start(const emscripten::val& font_u8);
// The render worker's WebGL context was lost and is restored (web/render-worker.js): the renderer's
// textures are made again and the next frame is drawn whole (frame_loop.cpp).
void display_restored();
// Something changed: the next `frames` frames are drawn (a message from the page: one frame to lay
// it out, one to settle).
inline constexpr int kFramesAfterMessage = 2;
void wake(AppState& s, int frames = kFramesAfterMessage);

//-----------------------------------------------------------------------------
// [SECTION] Host calls (host_bridge.cpp)
//-----------------------------------------------------------------------------
void host_predict(const std::string& record_json);
void host_open_csv();
void host_open_labelled();         // the file picker for the Validate view
void host_open_labelled_images();  // the Validate view of an imaging model: images and their labels CSV
void host_open_images();           // the file picker for the Image view (DICOM, PNG, JPEG; several at once)
void host_explain_image(int index, int cls,
                        int frame);  // image `index` scored again: its frame, the map of class `cls`
void host_download(const std::string& name, const std::string& text);
void host_copy(const std::string& text);
void host_announce(const std::string& text);   // ARIA live region
void host_a11y_tree(const std::string& json);  // the frame's accessible nodes, when they changed (web/a11y.js)
void host_set_reporting(bool enabled);
void host_choose_model(const std::string& name);
void host_explain_row(int index);  // batch row, model-agnostic explainer (batch-worker.js computes it)
void host_save_to_chart(const std::string& resource_json);  // web/smart.js sends it to the EHR
void host_form_cleared();                  // the patient on the form is done with (reported once, web/reporting.js)
void host_print(const std::string& text);  // the browser's print of this summary (for the chart)
// The page fetches the model's drift history (from..to, days) and current drift with the operator's
// token as `Authorization: Bearer` and hands both answers to app_set_operations.
void host_operations_fetch(const std::string& model, const std::string& token, const std::string& from,
                           const std::string& to, const std::string& period);
int64_t host_now();  // the page's clock, seconds since 1970 UTC
// The page keeps a site calibrator per bundle (localStorage) and hands it back when the bundle loads.
void host_keep_calibrator(const std::string& sha256, const std::string& calibrator_json);
void host_forget_calibrator(const std::string& sha256);
// The canvas cannot draw any more (a lost WebGL context restored, the renderer refused): the page
// hides it and shows this text in its place, with `typed` (form_text: the form as typed) under it.
void host_display_failed(const std::string& text, const std::string& typed = "");

//-----------------------------------------------------------------------------
// [SECTION] Drawing (views/)
//-----------------------------------------------------------------------------
// The frame (views/frame.cpp): the header, then the tabs with one view each (views/views.h).
void draw(AppState& s, float width, float height);
void draw_image_view(AppState& s);  // imaging models (views/imaging_view.cpp), in place of the form
void draw_operations(AppState& s);  // the Operations view (views/operations_view.cpp)
// A new answer in place of the last: the field the operator looked at stays chosen by its name,
// the day by its date unless it was the latest (then the new latest); what the new answer lacks,
// or nothing chosen yet, becomes the field with the highest latest PSI and the latest day.
void operations_set_data(OperationsState& o, OperationsData d);
// The defaults of operations_set_data for a choice out of range (-1: none yet).
void operations_keep_choice(OperationsState& o);
// The Operations view's state for tests (viewState().operations): never the token.
Json operations_view_state(const AppState& s);
// The Image view's table as "Export results (CSV)" saves it.
std::string image_results_csv(const AppState& s);
// Frees the textures of images no longer shown.
void images_clear(ImagingState& im);
void images_free(ImageResult& r);               // one image's textures
std::string result_summary(const AppState& s);  // one paragraph, for the ARIA region
// The note under field i about the chart's value ("from the chart, 2 Nov 2026", why it was refused,
// or that it waits to be accepted), as shown and as viewState reports it: {"state", "note", "text"}.
Json chart_note(const AppState& s, size_t i);
std::string chart_summary(const AppState& s);  // for the ARIA region: what the chart filled
// "Save to chart" is offered: write-back allowed and granted, a checked result on screen that
// matches the form.
bool save_to_chart_offered(const AppState& s);
// The FHIR resource "Save to chart" sends at `now` (record/fhir.h fhir_result_resource): a
// RiskAssessment, or an Observation for a regression score, with the model's name, version and
// SHA-256, the result's words, and as basis the Observations the form still holds from the chart.
Json chart_resource(const AppState& s, int64_t now);
// What Predict does: the form's record to the page's core (host_predict); `keep_focus` (Ctrl+Enter)
// gives the keyboard focus back to the field it was in. Nothing while a prediction runs.
void predict_form(AppState& s, bool keep_focus);
std::string result_copy_text(
    const AppState& s);  // what "Copy result" copies: the model's identity, the values, the result

}  // namespace ldx::app
