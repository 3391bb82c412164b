// wasm/app/host_bridge.cpp — the calls the app makes to the page (app.h, Host calls): each one a function of
// window.localdxHost (web/host.js).
//
// Index of this file
//   [SECTION] Host calls
#include "app.h"

#include <emscripten.h>
#include <emscripten/html5.h>  // emscripten_date_now

namespace ldx::app {

//-----------------------------------------------------------------------------
// [SECTION] Host calls
//-----------------------------------------------------------------------------
// The page defines window.localdxHost (web/host.js); these are its entry points.
EM_JS(void, js_host_call, (const char* fn, const char* arg), {
    const host = globalThis.localdxHost;
    if (host && host[UTF8ToString(fn)]) host[UTF8ToString(fn)](UTF8ToString(arg));
});

void host_predict(const std::string& record_json) { js_host_call("predictFromApp", record_json.c_str()); }
void host_open_csv() { js_host_call("openCsv", ""); }
void host_open_labelled() { js_host_call("openLabelled", ""); }
void host_open_labelled_images() { js_host_call("openLabelledImages", ""); }
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
EM_JS(void, js_display_failed, (const char* text, const char* typed), {
    const host = globalThis.localdxHost;
    if (host && host.displayFailed) host.displayFailed(UTF8ToString(text), UTF8ToString(typed));
});
void host_display_failed(const std::string& text, const std::string& typed) {
    js_display_failed(text.c_str(), typed.c_str());
}
int64_t host_now() { return static_cast<int64_t>(emscripten_date_now() / 1000); }

}  // namespace ldx::app
