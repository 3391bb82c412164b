// wasm/app/app.cpp — the app's lifecycle: GLFW/WebGL2 and Dear ImGui setup, the frame loop,
// the calls the page makes into the app (embind) and the calls the app makes to the page.
//
// Index of this file
//   [SECTION] State and form helpers
//   [SECTION] Host calls (EM_JS)
//   [SECTION] Frame loop
//   [SECTION] Page -> app (embind)
#include "app.h"

#include <algorithm>

#include "a11y.h"
#include "palette.h"
#include "widgets.h"

#include <GLFW/glfw3.h>
#include <emscripten.h>
#include <emscripten/bind.h>
#include <emscripten/html5.h>
#include <emscripten/val.h>

#include "imgui.h"
#include "imgui_internal.h"  // ErrorCheckEndFrameRecover
#include "imgui_impl_glfw.h"
#include "imgui_impl_opengl3.h"
#include "core_classes.h"
#include "record/record.h"

namespace ldx::app {

//-----------------------------------------------------------------------------
// [SECTION] State and form helpers
//-----------------------------------------------------------------------------
AppState& state() {
    static AppState s;  // the UI's one state; immediate-mode widgets read and edit it
    return s;
}

void form_reset(AppState& s) {
    s.form.assign(s.model ? s.model->model.schema.fields.size() : 0, FieldInput{});
    s.result.reset();
    s.result_stale = false;
    s.live_problems = Json::array();
    s.chart.clear();
    s.save_preview = false;
}

Json form_from_chart(AppState& s, const std::string& chart_text, int64_t now) {
    if (!s.model)
        return {{"ok", false}, {"problems", Json::array({{{"code", "no_model"}, {"message", "no model is loaded"}}})}};
    const Schema& schema = s.model->model.schema;
    auto chart = fhir_chart(schema, chart_text, now);
    if (!chart) return {{"ok", false}, {"problems", problems_json(chart.problems())}};
    form_reset(s);
    Json fields = Json::array();
    for (size_t i = 0; i < schema.fields.size(); ++i) {
        const ChartValue& c = chart->fields[i];
        if (c.state == ChartValue::State::used) s.form[i].text = c.text;
        fields.push_back({{"field", schema.fields[i].name},
                          {"state", chart_state_name(c.state)},
                          {"text", c.text},
                          {"date", c.date},
                          {"date_text", c.date_text},
                          {"source", c.source},
                          {"reason", c.reason}});
    }
    s.chart = chart->fields;
    s.chart_patient = chart->patient;
    form_validate(s);
    return {{"ok", true}, {"patient", chart->patient}, {"fields", fields}};
}

Json form_record(const AppState& s) {
    Json r = Json::object();
    if (!s.model) return r;
    const Schema& schema = s.model->model.schema;
    for (size_t i = 0; i < schema.fields.size() && i < s.form.size(); ++i) {
        const Field& f = schema.fields[i];
        const FieldInput& in = s.form[i];
        if (in.text.empty()) continue;
        if (f.numeric() && in.unit > 0)
            r[f.name] = {{"value", in.text}, {"unit", f.alt_units[static_cast<size_t>(in.unit - 1)].unit}};
        else r[f.name] = in.text;
    }
    return r;
}

void form_validate(AppState& s) {
    s.live_problems = Json::array();
    if (!s.model) return;
    auto raw = record_from_json(form_record(s));
    if (!raw) {
        s.live_problems = problems_json(raw.problems());
        return;
    }
    auto r = record_prepare(s.model->model.schema, *raw);
    if (!r) {
        // "required" is shown only once the clinician tries to predict; while typing, only real errors.
        for (const auto& p : problems_json(r.problems()))
            if (p["code"] != "required") s.live_problems.push_back(p);
    }
}

void form_edited(AppState& s) {
    form_validate(s);
    if (s.result && !s.result->ok) s.result.reset();
    if (s.result) s.result_stale = true;  // the shown result no longer matches the form
}

void validate_file(AppState& s, const std::string& name, const std::string& text, int64_t now) {
    constexpr size_t kValidateResampleRows = 20'000'000;  // rows x resamples the page evaluates at most
    s.validate = ValidateState{};
    s.validate.loaded = true;
    s.validate.file_name = name;
    if (!s.model) return;
    const Model& m = s.model->model;
    auto refuse = [&](const std::vector<Problem>& ps) { s.validate.problems = problems_json(ps); };
    if (text.size() > kMaxPatientFileBytes)
        return refuse({problem("too_large", "the file is larger than " + std::to_string(kMaxPatientFileBytes >> 20) +
                                                " MB; split it into smaller files")});
    const PatientFile file = patients_read(m.schema, text, PatientReadOptions{now, {}, m.schema.outputs.column});
    if (!file.problems.empty()) return refuse(file.problems);
    if (!file.has_labels) return refuse(validation_check(m.schema, file, {}).problems());
    auto scored = validation_score(m, file);
    if (!scored) return refuse(scored.problems());
    if (auto ok = validation_check(m.schema, file, scored->labels); !ok) return refuse(ok.problems());
    // 1000 resamples as `localdx evaluate` draws them; fewer for a large file (at least 200), so
    // the page is not held for more than a few seconds.
    const size_t rows = std::max<size_t>(scored->labels.size(), 1);
    const int resamples = static_cast<int>(std::clamp<size_t>(kValidateResampleRows / rows, 200, 1000));
    s.validate.report = validation_document(m, file, name, sha256_hex(text), *scored, resamples, 1);
    s.validate.labels = std::move(scored->labels);
    s.validate.probabilities = std::move(scored->probabilities);
    s.validate.observed = std::move(scored->observed);
    s.validate.threshold = static_cast<float>(m.schema.outputs.threshold);
}

void validate_recalibrate(AppState& s) {
    if (!s.model || s.validate.labels.empty()) return;
    Schema& schema = s.model->model.schema;
    const std::string source = "this site's patients (" + s.validate.file_name + ")";
    const ValidateState& v = s.validate;
    Conformal local = schema.outputs.regression()
                          ? conformal_fit_intervals(v.probabilities, v.observed, kConformalLevels, source)
                          : conformal_fit(v.probabilities, v.labels, schema.num_classes(), kConformalLevels, source);
    local.local = true;
    if (schema.outputs.regression()) {
        Outputs fitted = schema.outputs;
        fitted.conformal = local;
        s.validate.local_coverage = conformal_interval_coverage(fitted, v.probabilities, v.observed);
    } else {
        std::vector<std::string> names;
        for (const auto& c : schema.outputs.classes) names.push_back(c.name);
        s.validate.local_coverage = conformal_coverage(local, v.probabilities, v.labels, names);
    }
    host_keep_calibrator(s.model->model.sha256, json_dump(conformal_to_json(local)));
    schema.outputs.conformal = std::move(local);
    s.validate.recalibrated = true;
}

bool apply_local_calibrator(AppState& s, const std::string& calibrator_json) {
    if (!s.model) return false;
    auto j = json_parse(calibrator_json, "local calibrator", JsonLimits{1u << 20, 8});
    if (!j) return false;
    Schema& schema = s.model->model.schema;
    auto c = conformal_from_json(*j, schema.outputs.classes.size(), "local calibrator");
    if (!c) return false;
    c->local = true;
    schema.outputs.conformal = std::move(*c);
    return true;
}

void validate_forget_calibration(AppState& s) {
    if (!s.model) return;
    host_forget_calibrator(s.model->model.sha256);
    s.validate.recalibrated = false;
    s.local_calibration = false;
    s.validate.local_coverage = Json();
}

// Multi-class tree models: which class's probability the explanation shows (the predicted one
// unless the clinician chooses another). The other classes' explanations come from the same
// exact contributions the core returned for every output.
std::optional<ResultView> explanation_for_class(const Model& m, const ResultView& r, int c) {
    const int k = m.schema.num_classes();
    if (!r.explanation || static_cast<int>(r.explanation->outputs.size()) != k || c < 0 || c >= k) return std::nullopt;
    Explanation ex;
    ex.num_outputs = k;
    ex.num_features = static_cast<int>(m.schema.features.size());
    for (const ResultView::Output& o : r.explanation->outputs) {
        if (o.contributions.size() != m.schema.features.size()) return std::nullopt;
        ex.base.push_back(o.base);
        ex.contributions.insert(ex.contributions.end(), o.contributions.begin(), o.contributions.end());
    }
    const auto per_field = contributions_by_field(m.schema, ex, c);
    ResultView out = r;
    ResultView::Explanation& e = *out.explanation;
    e.output = c;
    e.base = ex.base[static_cast<size_t>(c)];
    e.fields = per_field;
    e.of = "margin of " + m.schema.outputs.classes[static_cast<size_t>(c)].label;
    const PointsExplanation pts = model_explanation_points(m, ex.base, per_field, c, r.probabilities);
    e.points = ResultView::Points{pts.ok, pts.base, pts.probability, pts.fields};
    return out;
}

void explain_class(AppState& s, int c) {
    s.explain_class = -1;
    s.explained_as.reset();
    if (!s.model || !s.result || !s.result->ok || c < 0 || c >= s.model->model.schema.num_classes()) return;
    if (s.result->predicted == c) return;
    s.explained_as = explanation_for_class(s.model->model, *s.result, c);
    if (s.explained_as) s.explain_class = c;
}

//-----------------------------------------------------------------------------
// [SECTION] Results, read once
//-----------------------------------------------------------------------------
ResultView result_from_json(const Json& j) {
    ResultView r;
    auto refused = [&](std::string text) {
        ResultView bad;
        bad.problems = Json::array({{{"code", "bad_result"}, {"message", std::move(text)}}});
        bad.seq = r.seq;
        return bad;
    };
    if (!j.is_object()) return refused("The result could not be read.");
    if (const Json& seq = json_member(j, "seq"); seq.is_number()) r.seq = seq.get<double>();
    r.ok = json_member(j, "ok") == Json(true);
    if (!r.ok) {
        r.problems = json_member(j, "problems").is_array() && !j["problems"].empty() ? j["problems"] : Json::array();
        if (r.problems.empty()) r.problems.push_back({{"code", "error"}, {"message", "No result."}});
        return r;
    }
    auto numbers = [](const Json& a, bool null_is_nan) {
        std::vector<double> out;
        if (!a.is_array()) return out;
        for (const Json& v : a) out.push_back(v.is_number() ? v.get<double>() : null_is_nan ? kNaN : 0.0);
        return out;
    };
    r.probabilities = numbers(json_member(j, "probabilities"), false);
    r.values = numbers(json_member(j, "values"), true);
    if (r.probabilities.empty()) return refused("The result has no probabilities.");
    r.predicted = json_int_in(j, "predicted", 0, static_cast<int64_t>(r.probabilities.size()) - 1).value_or(-1);
    if (r.predicted < 0) return refused("The result has no predicted class.");
    r.label = json_text_or(j, "label");
    for (const Json& w : json_member(j, "warnings"))
        r.warnings.push_back({json_text_or(w, "field"), json_text_or(w, "message")});
    if (const Json& m = json_member(j, "missing_share"); m.is_number()) r.missing_share = m.get<double>();
    const Json& conformal = json_member(j, "conformal");
    r.conformal_words = json_text_or(conformal, "words");
    if (const Json& level = json_member(conformal, "band_level"); level.is_number())
        r.conformal_level = level.get<double>();
    const Json& check = json_member(j, "check");
    r.check.ok = json_member(check, "ok") == Json(true);
    r.check.pending = json_member(check, "pending") == Json(true);
    if (const Json& d = json_member(check, "max_abs_diff"); d.is_number()) r.check.max_abs_diff = d.get<double>();
    r.check.message = json_text_or(check, "message");
    r.row = static_cast<int>(json_int_in(j, "row", 0, INT32_MAX).value_or(0));
    r.patient = json_text_or(j, "patient");
    if (const Json& ex = json_member(j, "explanation"); ex.is_object()) {
        ResultView::Explanation e;
        e.output = static_cast<int>(json_int_in(ex, "output", 0, 100000).value_or(0));
        if (const Json& base = json_member(ex, "base"); base.is_number()) e.base = base.get<double>();
        e.fields = numbers(json_member(ex, "fields"), false);
        e.kind = json_text_or(ex, "kind");
        e.unit = json_text_or(ex, "unit");
        e.of = json_text_or(ex, "of");
        const Json& pts = json_member(ex, "points");
        e.points.ok = json_member(pts, "ok") == Json(true);
        if (json_member(pts, "base").is_number()) e.points.base = pts["base"].get<double>();
        if (json_member(pts, "probability").is_number()) e.points.probability = pts["probability"].get<double>();
        e.points.fields = numbers(json_member(pts, "fields"), false);
        e.standard_error = numbers(json_member(ex, "standard_error"), false);
        for (const Json& o : json_member(ex, "outputs"))
            e.outputs.push_back({json_member(o, "base").is_number() ? o["base"].get<double>() : 0.0,
                                 numbers(json_member(o, "contributions"), false)});
        r.explanation = std::move(e);
    }
    return r;
}

Json points_json(const ResultView::Points& p) {
    return Json{{"ok", p.ok}, {"base", p.base}, {"probability", p.probability}, {"fields", p.fields}};
}

//-----------------------------------------------------------------------------
// [SECTION] Host calls
//-----------------------------------------------------------------------------
// The page defines window.localdxHost (web/app.js); these are its entry points.
EM_JS(void, js_host_call, (const char* fn, const char* arg), {
    const host = globalThis.localdxHost;
    if (host && host[UTF8ToString(fn)]) host[UTF8ToString(fn)](UTF8ToString(arg));
});

void host_predict(const std::string& record_json) { js_host_call("predictFromApp", record_json.c_str()); }
void host_open_csv() { js_host_call("openCsv", ""); }
void host_open_labelled() { js_host_call("openLabelled", ""); }
void host_open_images() { js_host_call("openImages", ""); }
void host_download(const std::string& name, const std::string& text) {
    js_host_call("download", Json{{"name", name}, {"text", text}}.dump().c_str());
}
void host_copy(const std::string& text) { js_host_call("copy", text.c_str()); }
void host_announce(const std::string& text) { js_host_call("announce", text.c_str()); }
void host_a11y_tree(const std::string& json) { js_host_call("a11yTree", json.c_str()); }
void host_set_reporting(bool enabled) { js_host_call("setReporting", enabled ? "on" : "off"); }
void host_choose_model(const std::string& name) { js_host_call("chooseModel", name.c_str()); }
void host_explain_row(int index) { js_host_call("explainRow", std::to_string(index).c_str()); }
void host_explain_image(int index, int cls, int frame) {
    js_host_call("explainImage", json_dump(Json{{"index", index}, {"class", cls}, {"frame", frame}}).c_str());
}
void host_form_cleared() { js_host_call("formCleared", ""); }
void host_save_to_chart(const std::string& resource_json) { js_host_call("saveToChart", resource_json.c_str()); }
void host_keep_calibrator(const std::string& sha256, const std::string& calibrator_json) {
    js_host_call("keepCalibrator", json_dump(Json{{"sha256", sha256}, {"calibrator", calibrator_json}}).c_str());
}
void host_forget_calibrator(const std::string& sha256) { js_host_call("forgetCalibrator", sha256.c_str()); }
void host_print(const std::string& text) { js_host_call("print", text.c_str()); }
void host_operations_fetch(const std::string& model, const std::string& token, const std::string& from,
                           const std::string& to, const std::string& period) {
    js_host_call(
        "operationsFetch",
        json_dump(Json{{"model", model}, {"token", token}, {"from", from}, {"to", to}, {"period", period}}).c_str());
}
int64_t host_now() { return static_cast<int64_t>(emscripten_date_now() / 1000); }

//-----------------------------------------------------------------------------
// [SECTION] Frame loop
//-----------------------------------------------------------------------------
// The UI is drawn only when something may have changed: input (mouse, touch, keys, wheel,
// focus), a message from the page, a canvas resize, a held mouse button (dragging); twice a
// second while a text field has focus (the caret), every 5 s otherwise. An idle page then costs
// the clinician's CPU and battery nothing, and the batch worker gets the whole core instead of
// sharing it with 60 redraws a second.
namespace {
GLFWwindow* window = nullptr;
constexpr int kFramesAfterInput = 4;    // ImGui settles hover, focus and layout within a few frames
constexpr int kFramesAfterMessage = 2;  // new data from the page: one frame to lay it out, one to settle
constexpr double kCaretInterval = 0.5;  // while a text field has focus: the caret blinks
constexpr double kIdleInterval = 5.0;   // otherwise a redraw now and then, as a safety net

void wake(AppState& s, int frames = kFramesAfterMessage) { s.frames_to_draw = std::max(s.frames_to_draw, frames); }

template <typename Event>
EM_BOOL wake_on(int, const Event*, void*) {
    wake(state(), kFramesAfterInput);
    return EM_FALSE;  // the event still reaches GLFW and the page
}

void wake_on_input() {
    const char* canvas = "#canvas";
    emscripten_set_mousedown_callback(canvas, nullptr, false, wake_on<EmscriptenMouseEvent>);
    emscripten_set_mousemove_callback(EMSCRIPTEN_EVENT_TARGET_WINDOW, nullptr, false, wake_on<EmscriptenMouseEvent>);
    emscripten_set_mouseup_callback(EMSCRIPTEN_EVENT_TARGET_WINDOW, nullptr, false, wake_on<EmscriptenMouseEvent>);
    emscripten_set_mouseleave_callback(canvas, nullptr, false, wake_on<EmscriptenMouseEvent>);
    emscripten_set_wheel_callback(canvas, nullptr, false, wake_on<EmscriptenWheelEvent>);
    emscripten_set_touchstart_callback(canvas, nullptr, false, wake_on<EmscriptenTouchEvent>);
    emscripten_set_touchmove_callback(canvas, nullptr, false, wake_on<EmscriptenTouchEvent>);
    emscripten_set_touchend_callback(canvas, nullptr, false, wake_on<EmscriptenTouchEvent>);
    emscripten_set_keydown_callback(EMSCRIPTEN_EVENT_TARGET_WINDOW, nullptr, false, wake_on<EmscriptenKeyboardEvent>);
    emscripten_set_keyup_callback(EMSCRIPTEN_EVENT_TARGET_WINDOW, nullptr, false, wake_on<EmscriptenKeyboardEvent>);
    emscripten_set_keypress_callback(EMSCRIPTEN_EVENT_TARGET_WINDOW, nullptr, false, wake_on<EmscriptenKeyboardEvent>);
    emscripten_set_focus_callback(canvas, nullptr, false, wake_on<EmscriptenFocusEvent>);
    emscripten_set_blur_callback(canvas, nullptr, false, wake_on<EmscriptenFocusEvent>);
    emscripten_set_resize_callback(EMSCRIPTEN_EVENT_TARGET_WINDOW, nullptr, false, wake_on<EmscriptenUiEvent>);
}

// The canvas in device pixels, so text is crisp at any devicePixelRatio; ImGui then works in
// device pixels throughout (fonts and style were scaled once at start).
struct CanvasSize {
    int w = 0, h = 0;
};
CanvasSize canvas_size() {
    double css_w = 0, css_h = 0;
    emscripten_get_element_css_size("#canvas", &css_w, &css_h);
    const double dpr = emscripten_get_device_pixel_ratio();
    return {static_cast<int>(css_w * dpr + 0.5), static_cast<int>(css_h * dpr + 0.5)};
}

void frame() {
    AppState& s = state();
    const auto [w, h] = canvas_size();
    int cw = 0, ch = 0;
    glfwGetWindowSize(window, &cw, &ch);
    if (w > 0 && h > 0 && (w != cw || h != ch)) {
        glfwSetWindowSize(window, w, h);
        wake(s, kFramesAfterInput);
    }
    const ImGuiIO& io = ImGui::GetIO();
    const bool dragging = io.MouseDown[0] || io.MouseDown[1] || io.MouseDown[2];
    const double now = emscripten_get_now() / 1000.0;
    const double interval = io.WantTextInput ? kCaretInterval : kIdleInterval;
    const bool idle_redraw = s.frames_drawn > 0 && now - s.last_draw >= interval;  // none before the first frame
    if (s.frames_to_draw <= 0 && !dragging && !idle_redraw) return;
    s.frames_to_draw = std::max(0, s.frames_to_draw - 1);
    s.last_draw = now;
    s.frames_drawn += 1;

    glfwPollEvents();
    ImGui_ImplOpenGL3_NewFrame();
    ImGui_ImplGlfw_NewFrame();
    ImGui::NewFrame();
    a11y::frame_begin();
    try {
        draw(s, static_cast<float>(w), static_cast<float>(h));
    } catch (const std::exception& e) {
        // A malformed message from the page must not take the UI down: say so, keep drawing.
        emscripten_log(EM_LOG_ERROR, "LocalDx UI: %s", e.what());
        s.error = std::string("Display problem: ") + e.what();
        s.result.reset();
        ImGui::ErrorCheckEndFrameRecover(nullptr, nullptr);
    }
    a11y::frame_end(s.scale);
    ImGui::Render();
    int fw = 0, fh = 0;
    glfwGetFramebufferSize(window, &fw, &fh);
    glViewport(0, 0, fw, fh);
    glClearColor(palette::kWindowBg.r, palette::kWindowBg.g, palette::kWindowBg.b, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
}

// Emscripten's GLFW hands the browser's wheel event over as it is: deltaY in pixels, positive
// downwards (about 100 a notch), where GLFW and Dear ImGui expect notches, positive upwards. Passed
// on unchanged, a notch down scrolled 100 notches up (so nothing moved at the top of a form).
void scroll_from_browser(GLFWwindow* w, double dx, double dy) {
    constexpr double kPixelsPerNotch = 100.0;
    ImGui_ImplGlfw_ScrollCallback(w, -dx / kPixelsPerNotch, -dy / kPixelsPerNotch);
}

void style(float scale) {
    ImGuiStyle& st = ImGui::GetStyle();
    ImGui::StyleColorsLight();
    st.WindowRounding = 0;
    st.FrameRounding = 4;
    st.GrabRounding = 4;
    st.FramePadding = ImVec2(8, 5);
    st.ItemSpacing = ImVec2(10, 7);
    st.CellPadding = ImVec2(8, 4);
    st.ScaleAllSizes(scale);
    auto im = [](palette::Rgba c) { return ImVec4(c.r, c.g, c.b, c.a); };
    st.Colors[ImGuiCol_WindowBg] = im(palette::kWindowBg);
    st.Colors[ImGuiCol_FrameBg] = im(palette::kFrameBg);
    st.Colors[ImGuiCol_Header] = im(palette::kHeader);
    st.Colors[ImGuiCol_Button] = im(palette::kButton);
    st.Colors[ImGuiCol_Tab] = im(palette::kTab);
    st.Colors[ImGuiCol_TabActive] = im(palette::kTabActive);
    st.Colors[ImGuiCol_Text] = im(palette::kText);
    st.Colors[ImGuiCol_TextDisabled] = im(palette::kTextDisabled);
    st.Colors[ImGuiCol_NavHighlight] = im(palette::kNavHighlight);
}
}  // namespace

// Called once by the page with the UI font (DejaVu Sans from Debian's fonts-dejavu-core).
void app_start(const emscripten::val& font_u8) {
    if (!font_u8.instanceof (emscripten::val::global("Uint8Array")))
        throw boundary::BadArgument("the font must be bytes (a Uint8Array)");
    glfwInit();
    glfwWindowHint(GLFW_CLIENT_API, GLFW_OPENGL_ES_API);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 0);
    const CanvasSize size = canvas_size();
    window = glfwCreateWindow(size.w > 0 ? size.w : 1280, size.h > 0 ? size.h : 800, "LocalDx", nullptr, nullptr);
    glfwMakeContextCurrent(window);
    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename = nullptr;  // nothing about the session is stored by the UI
    io.ConfigFlags |= ImGuiConfigFlags_NavEnableKeyboard;
    const float scale = static_cast<float>(emscripten_get_device_pixel_ratio());
    state().scale = scale;
    style(scale);
    use_more_contrast(state().contrast_more);  // as the page said before the app started
    const size_t n = font_u8["length"].as<size_t>();
    if (n > 0) {
        // ImGui owns and frees the font bytes (FontDataOwnedByAtlas).
        void* data = IM_ALLOC(n);
        emscripten::val(emscripten::typed_memory_view(n, static_cast<unsigned char*>(data))).call<void>("set", font_u8);
        ImFontConfig cfg;
        cfg.OversampleH = 2;
        // Whatever the core's number parser reads must be drawn as typed (record.h, number_parse):
        // Arabic-Indic digits and their separators; U+FFFD for a character the font lacks.
        static const ImWchar ranges[] = {0x0020, 0x00FF, 0x0100, 0x017F, 0x0660, 0x066C, 0x06F0,
                                         0x06F9, 0x2010, 0x2027, 0x2070, 0x209F, 0x2190, 0x21FF,
                                         0x2212, 0x2264, 0x25A0, 0x25FF, 0xFFFD, 0xFFFD, 0};
        ImFont* font = io.Fonts->AddFontFromMemoryTTF(data, static_cast<int>(n), 16.0f * scale, &cfg, ranges);
        // DejaVu Sans has no full-width forms (an East Asian input method's digits, signs and
        // separators): they are drawn with the ASCII glyphs they stand for, so "３３" shows as 33,
        // as the core reads it, not as two unknown characters.
        io.Fonts->Build();
        for (ImWchar c = 0xFF01; c <= 0xFF5E; ++c) font->AddRemapChar(c, static_cast<ImWchar>(c - 0xFF01 + 0x21));
    }
    ImGui_ImplGlfw_InitForOpenGL(window, true);
    glfwSetScrollCallback(window, scroll_from_browser);
    ImGui_ImplOpenGL3_Init("#version 300 es");
    wake_on_input();
    // No frame until the model (or an error) arrives: the page's text shows through the canvas,
    // which is transparent until the first frame. A frame is not free (a software-rendered one
    // costs 0.1-0.3 s of start-up), and there is nothing to show before the model.
    emscripten_set_main_loop(frame, 0, false);
}

//-----------------------------------------------------------------------------
// [SECTION] Page -> app (embind)
//-----------------------------------------------------------------------------
BatchMeta batch_meta_from_json(const Json& meta) {
    BatchMeta m;
    for (const Json& k : json_member(meta, "warning_kinds"))
        m.warning_kinds.push_back({json_text_or(k, "field"), json_text_or(k, "message")});
    for (const Json& row : json_member(meta, "warnings")) {
        std::vector<size_t> ids;
        for (const Json& id : row)
            if (id.is_number_unsigned() && id.get<size_t>() < m.warning_kinds.size()) ids.push_back(id.get<size_t>());
        m.warnings.push_back(std::move(ids));
    }
    for (const Json& p : json_member(meta, "patients")) m.patients.push_back(p.is_string() ? p.get<std::string>() : "");
    const Json& ex = json_member(meta, "explanation");
    m.explanation_kind = json_text_or(ex, "kind");
    m.explanation_unit = json_text_or(ex, "unit");
    if (const Json& of = json_member(ex, "of"); of.is_object())
        for (const auto& [out, text] : of.items())
            if (text.is_string() && !out.empty() && out.size() < 6 &&
                out.find_first_not_of("0123456789") == std::string::npos)
                m.explained_of[std::stoi(out)] = text.get<std::string>();
    json_number_array(json_member(ex, "bases"), m.bases);
    for (const Json& n : json_member(meta, "notices")) m.notices.push_back(json_text_or(n, "message"));
    return m;
}

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
// by the result's "seq" (web/app.js numbers each prediction): agreement marks it checked; a
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
// What the patient view shows: {"result": "none" | "current" | "stale" | "refused", "problems": live
// validation problems (field, message)} — for tests that type as a clinician does.
std::string app_view_state() {
    const AppState& s = state();
    const char* result = !s.result ? "none" : !s.result->ok ? "refused" : s.result_stale ? "stale" : "current";
    Json view{{"result", result}, {"problems", s.live_problems}, {"form_scroll", s.form_scroll}};
    // A result on screen not yet cross-checked by ONNX Runtime (it is still starting).
    view["being_checked"] = s.result && s.result->ok && s.result->check.pending;
    // What the form says of the chart, per field: the note shown under it (ui.cpp, chart_note).
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
               {"open_button", rect(s.validate.open_button)}};
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
                              {"error", r.error},
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
                              {"deletion", {{"ranked_area", r.ranked_area}, {"random_area", r.random_area}}},
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
    if (!s.validate.problems.empty()) return json_dump(Json{{"ok", false}, {"problems", s.validate.problems}});
    return json_dump(Json{{"ok", true}, {"report", s.validate.report}});
}
// A calibrator this device fitted earlier on a site's file for this bundle (web/app.js keeps it).
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
    o.data = std::move(*d);
    o.status.clear();
    host_announce("Drift of " + o.data->model + " read for " + std::to_string(o.data->periods.size()) + " days.");
}
void app_select_tab(int tab) {
    state().select_tab = tab;
    wake(state());
}
}  // namespace

}  // namespace ldx::app

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
    ldx::boundary::function<&ldx::app::app_view_state>("appViewState");
    ldx::boundary::function<&ldx::app::app_frames_drawn>("appFramesDrawn");
    ldx::boundary::function<&ldx::app::app_fill_and_predict>("appFillAndPredict");
    ldx::boundary::function<&ldx::app::app_predict>("appPredict");
    ldx::boundary::function<&ldx::app::app_prefill_from_chart>("appPrefillFromChart");
    ldx::boundary::function<&ldx::app::app_set_chart_status>("appSetChartStatus");
    ldx::boundary::function<&ldx::app::app_set_chart_write>("appSetChartWrite");
    ldx::boundary::function<&ldx::app::app_save_to_chart>("appSaveToChart");
    ldx::boundary::function<&ldx::app::app_select_tab>("appSelectTab");
    ldx::boundary::function<&ldx::app::app_set_operations>("appSetOperations");
    ldx::boundary::function<&ldx::app::app_explain_class>("appExplainClass");
    ldx::boundary::function<&ldx::app::app_validate>("appValidate");
    ldx::boundary::function<&ldx::app::app_validate_recalibrate>("appValidateRecalibrate");
    ldx::boundary::function<&ldx::app::app_set_local_calibrator>("appSetLocalCalibrator");
    ldx::boundary::function<&ldx::app::app_print>("appPrint");
    ldx::boundary::function<&ldx::app::app_batch_csv>("appBatchCsv");
    ldx::boundary::function<&ldx::app::app_images_opened>("appImagesOpened");
    ldx::boundary::function<&ldx::app::app_add_image_result>("appAddImageResult");
    ldx::boundary::function<&ldx::app::app_image_results_csv>("appImageResultsCsv");
    ldx::boundary::function<&ldx::app::app_select_image>("appSelectImage");
    ldx::boundary::function<&ldx::app::app_confirm_image>("appConfirmImage");
}
