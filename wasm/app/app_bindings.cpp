// wasm/app/app_bindings.cpp — the calls the page makes into the app (embind), each registered through the one guard
// (wasm/core/boundary.h).
//
// Index of this file
//   [SECTION] Page -> app
//   [SECTION] Registration
#include <algorithm>
#include <cmath>

#include <emscripten/bind.h>
#include <emscripten/val.h>

#include "app.h"
#include "core_classes.h"
#include "metrics/image_validation.h"

namespace ldx::app {

//-----------------------------------------------------------------------------
// [SECTION] Page -> app
//-----------------------------------------------------------------------------
namespace {
Json parse_or_null(const std::string& text) {
    auto j = json_parse(text, "message", JsonLimits{256u << 20, 64});
    return j ? *j : Json();
}

void app_set_model(const CoreModel& m, const std::string& status_json) {
    AppState& s = state();
    wake(s);
    // From a tabular model to an imaging one or back, the tab open before (Batch, say) may not
    // exist: ImGui would then bring forward whichever tab it finds, so the first (Patient or
    // Image) is opened instead.
    if (s.model && s.model->model.imaging.has_value() != m.shared()->model.imaging.has_value()) s.select_tab = 0;
    if (s.frames_before_model < 0) s.frames_before_model = s.frames_drawn;
    s.model = m.shared();
    s.info = core_model_info(*s.model);
    s.bundle_status = parse_or_null(status_json);
    if (!s.bundle_status.is_object()) s.bundle_status = Json::object();
    s.error.clear();
    s.batch = BatchState{};
    s.validate = ValidateState{};
    images_clear(s.imaging);
    s.imaging.expected = 0;
    s.local_calibration = false;
    form_reset(s);
}

// The Image view: `count` images were opened (the previous ones are put away), then each one's
// result as the worker sends it (its JSON, and the grey image the clinician is shown).
void app_images_opened(double count) {
    AppState& s = state();
    wake(s);
    images_clear(s.imaging);
    s.imaging.expected = count > 0 && count < 1e6 ? static_cast<int>(count) : 0;
    s.select_tab = 0;
}
// `index`: the image's place when its map is made again for another class (explain_image); -1 for
// a new image of the opening.
void app_add_image_result(double index, const std::string& file, const std::string& result_json,
                          const emscripten::val& grey, double width, double height) {
    AppState& s = state();
    wake(s);
    if (!boundary::is_typed_array(grey)) throw boundary::BadArgument("the image must be numbers (a typed array)");
    ImageResult r = image_result_from_json(file, parse_or_null(result_json));
    // The image's sets or bands: from the bundle's calibrator, or a site calibration kept on this device.
    if (r.ok && s.model) r.conformal = conformal_words(s.model->model.schema, r.probabilities);
    const size_t n = grey["length"].as<size_t>();
    if (width >= 1 && height >= 1 && n == static_cast<size_t>(width) * static_cast<size_t>(height)) {
        r.display_width = static_cast<int>(width);
        r.display_height = static_cast<int>(height);
        r.grey.resize(n);
        emscripten::val view(emscripten::typed_memory_view(n, r.grey.data()));
        view.call<void>("set", grey);
    }
    const bool again = index >= 0 && index < static_cast<double>(s.imaging.images.size());
    // The same image, its map made again for another class: still confirmed if it was.
    if (again) r.confirmed = s.imaging.images[static_cast<size_t>(index)].confirmed;
    host_announce(image_summary(r));
    s.imaging.explaining = false;
    if (again) {
        ImageResult& old = s.imaging.images[static_cast<size_t>(index)];
        images_free(old);
        old = std::move(r);
        return;
    }
    s.imaging.images.push_back(std::move(r));
    if (s.imaging.expected > 0) --s.imaging.expected;
    if (s.imaging.selected < 0) s.imaging.selected = 0;
}
// Image `index`'s deletion curve, whose runs are made after its map was shown (web/batch.js): the
// whole result of file `file`; the rest of it is the one shown.
void app_set_image_curve(double index, const std::string& file, const std::string& result_json) {
    AppState& s = state();
    wake(s);
    if (!(index >= 0 && index < static_cast<double>(s.imaging.images.size()))) return;
    ImageResult& r = s.imaging.images[static_cast<size_t>(index)];
    ImageResult done = image_result_from_json(file, parse_or_null(result_json));
    // Only onto the map it belongs to: a "Map of" or "Frame" choice made meanwhile shows another
    // map at the same index, and an earlier job's curve must not be drawn under it.
    if (!r.ok || !done.ok || r.file != file || done.explained != r.explained || done.frame != r.frame ||
        !r.ranked.empty())
        return;
    r.ranked = std::move(done.ranked);
    r.random = std::move(done.random);
    r.ranked_area = done.ranked_area;
    r.random_area = done.random_area;
    r.ms = done.ms;
}
// As a click on the image's row in the table.
void app_select_image(double i) {
    AppState& s = state();
    wake(s);
    if (i >= 0 && i < static_cast<double>(s.imaging.images.size())) {
        s.imaging.selected = static_cast<int>(i);
        host_announce(image_summary(s.imaging.images[static_cast<size_t>(i)]));
    }
}
// As a press of "Yes, it is: show the result" for image i.
void app_confirm_image(double i) {
    AppState& s = state();
    wake(s);
    if (i >= 0 && i < 1e6) image_confirm(s, static_cast<int>(i));
}
std::string app_image_results_csv() { return state().model ? image_results_csv(state()) : std::string(); }

void app_set_error(const std::string& message) {
    wake(state());
    state().error = message;
    state().predicting = false;
}

void app_set_result(const std::string& result_json) {
    AppState& s = state();
    wake(s);
    s.predicting = false;
    s.result = result_from_json(parse_or_null(result_json));
    s.explain_class = -1;
    s.explained_as.reset();
    s.result_stale = false;
    s.scroll_to_result = true;
    if (s.result->ok) {
        host_announce(result_summary(s));
        return;
    }
    const std::string code = json_text_or(s.result->problems[0], "code");
    if (code == "incomplete") {
        host_announce("No result yet. " + json_text_or(s.result->problems[0], "message"));
        return;
    }
    // Every problem, not only the first: each is something to correct.
    std::string said = code == "check_failed" ? "No result, it was withheld:" : "The values could not be used:";
    for (const Json& p : s.result->problems) said += " " + json_text_or(p, "message");
    host_announce(said);
}

// ONNX Runtime's cross-check of a result shown before it was checked ("check": {"pending": true}),
// by the result's "seq" (web/predict.js numbers each prediction): agreement marks it checked; a
// disagreement withdraws it, with the reason, and says so. A result replaced meanwhile is left.
void app_set_result_checked(double seq, const std::string& checked_json) {
    AppState& s = state();
    if (!s.result || s.result->seq != seq) return;
    wake(s);
    ResultView checked = result_from_json(parse_or_null(checked_json));
    if (checked.ok && (checked.check.ok || checked.check.pending)) {
        s.result->check = checked.check;
        if (s.explained_as) s.explained_as->check = checked.check;
        host_announce(result_summary(s));  // the same result, no longer "being checked"
        return;
    }
    if (checked.ok) {  // agreement must be said: a result without a check is not one
        checked.ok = false;
        checked.problems =
            Json::array({{{"code", "check_failed"}, {"message", "ONNX Runtime could not check this result."}}});
    }
    checked.seq = seq;
    s.result = std::move(checked);
    s.explain_class = -1;
    s.explained_as.reset();
    host_announce("The result was withdrawn: " + json_text_or(s.result->problems[0], "message"));
}

// A scored file from batch-worker.js: meta (JSON, small) and the table (a Float64Array).
void app_set_batch_table(const std::string& name, const std::string& meta_json, const emscripten::val& table) {
    if (!boundary::is_typed_array(table)) throw boundary::BadArgument("the table must be numbers (a typed array)");
    AppState& s = state();
    wake(s);
    Json meta = parse_or_null(meta_json);
    s.batch = BatchState{};
    s.batch.loaded = true;
    s.batch.file_name = name;
    if (!meta.is_object()) return;
    const size_t n = table["length"].as<size_t>();
    const BatchLayout expected = s.model ? batch_layout(s.model->model.schema) : BatchLayout{};
    if (!s.model || json_member(meta, "layout") != batch_layout_json(expected) || n % expected.stride()) {
        s.batch.status = "The batch result does not fit this model; nothing is shown.";
        return;
    }
    s.batch.layout = expected;
    s.batch.table.resize(n);
    emscripten::val view(emscripten::typed_memory_view(n, s.batch.table.data()));
    view.call<void>("set", table);
    s.batch.meta = batch_meta_from_json(meta);
    s.batch.problems = meta.value("problems", Json::array());
    s.batch.status = json_text_or(meta, "status");
    for (size_t i = 0; i < s.batch.rows(); ++i) s.batch.order.push_back(static_cast<int>(i));
    s.select_tab = 1;
    if (s.batch.rows() == 0 && !s.batch.status.empty())
        host_announce(name + ": " + s.batch.status);  // withheld, say why
    else
        host_announce(std::to_string(s.batch.rows()) + " patients scored from " + name + "; " +
                      std::to_string(s.batch.problems.size()) + " rows could not be used.");
}

// One batch row explained on demand (model-agnostic): the core's full JSON for it.
void app_set_batch_row(int index, const std::string& row_json) {
    AppState& s = state();
    wake(s);
    if (index < 0 || static_cast<size_t>(index) >= s.batch.rows()) return;
    ResultView r = result_from_json(parse_or_null(row_json));
    if (!r.ok) {
        s.batch.status = "The row could not be explained: " + json_text_or(r.problems[0], "message");
        return;
    }
    r.row = s.batch.row_number(index);
    r.patient = s.batch.patient(index);
    s.batch.explained[index] = std::move(r);
}

void app_set_reporting(const std::string& json) {
    Json j = parse_or_null(json);
    wake(state());
    state().reporting = j.is_object() ? j : Json::object();
}

// Test and page access to the form, so e2e tests can check what the UI holds.
std::string app_form_record() { return json_dump(form_record(state())); }
// The form as typed, in the clinician's words (form_text): what the page shows when it can no
// longer draw.
std::string app_form_text() { return form_text(state()); }
// What the patient view shows: {"result": "none" | "current" | "stale" | "refused", "problems": live
// validation problems (field, message)} — for tests that type as a clinician does.
std::string app_view_state() {
    const AppState& s = state();
    const char* result = !s.result ? "none" : !s.result->ok ? "refused" : s.result_stale ? "stale" : "current";
    Json view{{"result", result},
              {"problems", s.live_problems},
              {"form_scroll", s.form_scroll},
              {"frames_before_model", s.frames_before_model}};
    // A result on screen not yet cross-checked by ONNX Runtime (it is still starting).
    view["being_checked"] = s.result && s.result->ok && s.result->check.pending;
    // What the form says of the chart, per field: the note shown under it (views/patient_chart.cpp, chart_note).
    view["chart_status"] = s.chart_status;
    view["save_to_chart"] = save_to_chart_offered(s);
    view["chart"] = Json::object();
    for (size_t i = 0; i < s.chart.size() && i < s.form.size() && s.model; ++i)
        if (s.chart[i].state != ChartValue::State::none)
            view["chart"][s.model->model.schema.fields[i].name] = chart_note(s, i);
    // The explanation on screen: which output, and its points (base + fields = probability).
    const std::optional<ResultView>& shown = s.explain_class >= 0 && s.explained_as ? s.explained_as : s.result;
    if (shown && shown->explanation)
        view["explanation"] = {{"output", shown->explanation->output},
                               {"points", points_json(shown->explanation->points)}};
    if (s.model) {
        // The Validate view: where its controls are (CSS pixels), the slider and the figures it shows.
        const float k = s.scale > 0 ? s.scale : 1;
        auto rect = [k](const float* r) { return Json::array({r[0] / k, r[1] / k, r[2] / k, r[3] / k}); };
        Json v{{"loaded", s.validate.loaded && !s.validate.labels.empty()},
               {"local_calibration", s.local_calibration || s.validate.recalibrated},
               {"threshold", s.validate.threshold},
               {"recalibrated", s.validate.recalibrated},
               {"slider", rect(s.validate.slider)},
               {"open_button", rect(s.validate.open_button)},
               {"images", s.validate.images},
               {"finding", s.validate.finding},
               {"save_button", rect(s.validate.save_button)},
               {"problems", s.validate.problems},
               {"localization", json_member(s.validate.report, "localization")}};
        if (!s.validate.labels.empty() && s.model->model.schema.outputs.kind == TaskKind::binary) {
            std::vector<double> score;
            std::vector<int> positive;
            for (size_t i = 0; i < s.validate.labels.size(); ++i) {
                score.push_back(s.validate.probabilities[i * 2 + 1]);
                positive.push_back(s.validate.labels[i] == 1);
            }
            const Confusion c = confusion_at(score, positive, s.validate.threshold);
            v["at"] = {{"sensitivity", c.sensitivity()},
                       {"specificity", c.specificity()},
                       {"ppv", c.ppv()},
                       {"npv", c.npv()},
                       {"alerts_per_100", c.alerts_per_100()}};
        }
        view["validate"] = v;
        view["operations"] = operations_view_state(s);
        // The Image view: each image's result, and where the selected one and its controls are drawn.
        const ImagingState& im = s.imaging;
        Json images = Json::array();
        for (const ImageResult& r : im.images)
            images.push_back({{"file", r.file},
                              {"ok", r.ok},
                              {"problems", problems_json(r.problems)},
                              {"warnings", r.warnings},
                              {"to_confirm", r.to_confirm},
                              {"confirmed", r.confirmed},
                              {"confirm_words", r.confirm_words},
                              {"label", r.label},
                              {"probabilities", r.probabilities},
                              {"explained", r.explained},
                              {"map_kind", r.map_kind},
                              {"map", r.map},
                              {"map_size", {r.map_height, r.map_width}},
                              {"deletion",
                               {{"ranked_area", r.ranked_area},
                                {"random_area", r.random_area},
                                {"pending", r.ok && r.ranked.empty()}}},
                              {"ms", r.ms},
                              {"runtime", r.runtime},
                              {"header",
                               {{"modality", r.modality},
                                {"body_part", r.body_part},
                                {"view", r.view},
                                {"frames", r.frames},
                                {"frame", r.frame}}}});
        view["imaging"] = {{"images", images},
                           {"expected", im.expected},
                           {"selected", im.selected},
                           {"opacity", im.opacity},
                           {"show_map", im.show_map},
                           {"image_rect", rect(im.image_rect)},
                           {"slider", rect(im.slider)},
                           {"open_button", rect(im.open_button)},
                           {"confirm_button", rect(im.confirm_button)}};
    }
    return json_dump(view);
}
double app_frames_drawn() { return static_cast<double>(state().frames_drawn); }
double app_frames_rendered() { return static_cast<double>(state().frames_rendered); }
void app_display_restored() { display_restored(); }
// Fills the form from a record ({"glucose": "148", ...}; other fields emptied) and predicts, as a
// clinician typing it and pressing Predict would; for the screenshots of every view.
// Ctrl+Enter in the accessible layer (web/a11y.js): Predict, wherever the button is scrolled to.
void app_predict() {
    AppState& s = state();
    wake(s);
    predict_form(s, false);
}

void app_fill_and_predict(const std::string& record_json) {
    AppState& s = state();
    if (!s.model) return;
    const Json r = parse_or_null(record_json);
    const Schema& schema = s.model->model.schema;
    form_reset(s);
    for (size_t i = 0; i < schema.fields.size(); ++i) {
        const Json& v = json_member(r, schema.fields[i].name);
        if (v.is_string()) s.form[i].text = v.get<std::string>();
        else if (v.is_number()) s.form[i].text = json_dump(v);
    }
    form_validate(s);
    s.predicting = true;
    wake(s);
    host_predict(json_dump(form_record(s)));
}
// The SMART launch (web/smart.js): the chart read from the EHR fills the form; or why it could not.
std::string app_prefill_from_chart(const std::string& chart_text) {
    AppState& s = state();
    wake(s);
    const Json r = form_from_chart(s, chart_text, host_now());
    if (r["ok"] == true) host_announce(chart_summary(s));
    return json_dump(r);
}
void app_set_chart_status(const std::string& text) {
    AppState& s = state();
    wake(s);
    s.chart_status = text;
    host_announce(text);
}
// `types`: the FHIR resource types "Save to chart" may create, separated by spaces ("" = none).
void app_set_chart_write(const std::string& types) {
    AppState& s = state();
    wake(s);
    s.chart_write.clear();
    for (size_t at = 0; at < types.size();) {
        const size_t end = std::min(types.find(' ', at), types.size());
        if (end > at) s.chart_write.push_back(types.substr(at, end - at));
        at = end + 1;
    }
}
// What "Save to chart…" then "Send to the chart" do (for tests): the resource sent, or "" when the
// button is not offered.
std::string app_save_to_chart() {
    AppState& s = state();
    if (!save_to_chart_offered(s)) return "";
    const std::string r = json_dump(chart_resource(s, host_now()));
    host_save_to_chart(r);
    return r;
}
// What the result's Print button does (for tests and the screenshots).
void app_print() {
    if (state().result) host_print(result_copy_text(state()));
}
// A labelled file for the Validate view (the page read it); returns the report, or the reasons.
std::string app_validate(const std::string& name, const std::string& text) {
    AppState& s = state();
    wake(s);
    validate_file(s, name, text, host_now());
    s.select_tab = 4;
    // "headline": what the page tells a screen reader, in the core's words (validation_headline).
    Json out = s.validate.problems.empty() ? Json{{"ok", true}, {"report", s.validate.report}}
                                           : Json{{"ok", false}, {"problems", s.validate.problems}};
    out["headline"] = validation_headline(name, s.validate.report, problems_from_json(out));
    return json_dump(out);
}
// An imaging model's labelled images for the Validate view (web/validate-images.js scored them):
// the labels CSV and the images' outputs; returns the report, or the reasons, with "headline"
// (image_validation_headline) for the page to announce.
std::string app_validate_images(const std::string& labels_name, const std::string& labels_text,
                                const std::string& outputs_json) {
    AppState& s = state();
    wake(s);
    validate_images(s, labels_name, labels_text, outputs_json, host_now());
    s.select_tab = 4;
    const std::vector<Problem> refused = problems_from_json(Json{{"ok", false}, {"problems", s.validate.problems}});
    const std::string headline = image_validation_headline(labels_name, s.validate.report, refused);
    if (!s.validate.problems.empty())
        return json_dump(Json{{"ok", false}, {"problems", s.validate.problems}, {"headline", headline}});
    return json_dump(Json{{"ok", true}, {"report", s.validate.report}, {"headline", headline}});
}
// A calibrator this device fitted earlier on a site's file for this bundle (web/host.js keeps it).
void app_set_local_calibrator(const std::string& calibrator_json) {
    AppState& s = state();
    wake(s);
    s.local_calibration = apply_local_calibrator(s, calibrator_json);
}
void app_validate_recalibrate() {
    validate_recalibrate(state());
    wake(state());
}

void app_explain_class(int c) {
    explain_class(state(), c);
    wake(state());
}

std::string app_batch_csv() { return batch_export_csv(state()); }

// The page's answers to host_operations_fetch: the HTTP status of the history (or of the current
// drift when only that failed; 0: no answer) and both bodies.
void app_set_operations(int status, const std::string& history, const std::string& current) {
    AppState& s = state();
    wake(s);
    OperationsState& o = s.operations;
    o.loading = false;
    if (status == 401) {
        o.data.reset();
        o.status = "The operator token was refused.";
        return;
    }
    if (status != 200) {
        o.data.reset();
        o.status = status == 0 ? "The server could not be reached: " + history.substr(0, 200)
                               : "The server answered " + std::to_string(status) + ".";
        return;
    }
    auto d = operations_from_json(history, current);
    if (!d) {
        o.data.reset();
        o.status = "The server's answer could not be read: " + d.error().describe();
        return;
    }
    operations_set_data(o, std::move(*d));
    o.status.clear();
    host_announce("Drift of " + o.data->model + " read for " + std::to_string(o.data->periods.size()) + " days.");
}
void app_select_tab(int tab) {
    state().select_tab = tab;
    wake(state());
}
// A finger's swipe (web/a11y.js, Touch): the canvas's pixels (CSS pixels times devicePixelRatio, the
// app's own) the view under it scrolls by (positive: further down the form), applied by the next
// frame; `begins`: the first of a new swipe. Returns whether the last swipe applied moved its view
// (a glide stops once it does not: its view is at its end).
bool app_scroll_by(double pixels, bool begins) {
    AppState& s = state();
    if (!std::isfinite(pixels)) return s.swipe_moved;
    constexpr double kMost = 1e6;  // far more than any view's height: a sum that stays finite
    s.swipe_scroll = static_cast<float>(std::clamp(s.swipe_scroll + pixels, -kMost, kMost));
    s.swipe_begins = s.swipe_begins || begins;
    if (begins) s.swipe_moved = true;
    wake(s);
    return s.swipe_moved;
}
}  // namespace

}  // namespace ldx::app

//-----------------------------------------------------------------------------
// [SECTION] Registration
//-----------------------------------------------------------------------------
EMSCRIPTEN_BINDINGS(localdx_app) {
    ldx::boundary::function<&ldx::app::app_start>("appStart");
    ldx::boundary::function<&ldx::app::app_set_model>("appSetModel");
    ldx::boundary::function<&ldx::app::app_set_error>("appSetError");
    ldx::boundary::function<&ldx::app::app_set_result>("appSetResult");
    ldx::boundary::function<&ldx::app::app_set_result_checked>("appSetResultChecked");
    ldx::boundary::function<&ldx::app::app_set_batch_table>("appSetBatchTable");
    ldx::boundary::function<&ldx::app::app_set_reporting>("appSetReporting");
    ldx::boundary::function<&ldx::app::app_set_batch_row>("appSetBatchRow");
    ldx::boundary::function<&ldx::app::app_form_record>("appFormRecord");
    ldx::boundary::function<&ldx::app::app_form_text>("appFormText");
    ldx::boundary::function<&ldx::app::app_view_state>("appViewState");
    ldx::boundary::function<&ldx::app::app_frames_drawn>("appFramesDrawn");
    ldx::boundary::function<&ldx::app::app_frames_rendered>("appFramesRendered");
    ldx::boundary::function<&ldx::app::app_display_restored>("appDisplayRestored");
    ldx::boundary::function<&ldx::app::app_fill_and_predict>("appFillAndPredict");
    ldx::boundary::function<&ldx::app::app_predict>("appPredict");
    ldx::boundary::function<&ldx::app::app_prefill_from_chart>("appPrefillFromChart");
    ldx::boundary::function<&ldx::app::app_set_chart_status>("appSetChartStatus");
    ldx::boundary::function<&ldx::app::app_set_chart_write>("appSetChartWrite");
    ldx::boundary::function<&ldx::app::app_save_to_chart>("appSaveToChart");
    ldx::boundary::function<&ldx::app::app_select_tab>("appSelectTab");
    ldx::boundary::function<&ldx::app::app_scroll_by>("appScrollBy");
    ldx::boundary::function<&ldx::app::app_set_operations>("appSetOperations");
    ldx::boundary::function<&ldx::app::app_explain_class>("appExplainClass");
    ldx::boundary::function<&ldx::app::app_validate>("appValidate");
    ldx::boundary::function<&ldx::app::app_validate_images>("appValidateImages");
    ldx::boundary::function<&ldx::app::app_validate_recalibrate>("appValidateRecalibrate");
    ldx::boundary::function<&ldx::app::app_set_local_calibrator>("appSetLocalCalibrator");
    ldx::boundary::function<&ldx::app::app_print>("appPrint");
    ldx::boundary::function<&ldx::app::app_batch_csv>("appBatchCsv");
    ldx::boundary::function<&ldx::app::app_images_opened>("appImagesOpened");
    ldx::boundary::function<&ldx::app::app_add_image_result>("appAddImageResult");
    ldx::boundary::function<&ldx::app::app_set_image_curve>("appSetImageCurve");
    ldx::boundary::function<&ldx::app::app_image_results_csv>("appImageResultsCsv");
    ldx::boundary::function<&ldx::app::app_select_image>("appSelectImage");
    ldx::boundary::function<&ldx::app::app_confirm_image>("appConfirmImage");
}
