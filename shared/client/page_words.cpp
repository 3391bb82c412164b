// shared/client/page_words.cpp — see page_words.h.
#include "client/page_words.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "base/text.h"

namespace ldx {

namespace {
enum class Gap { none, text, difference };
struct Words {
    std::string_view id, code, before;
    Gap gap;
    std::string_view after;
};
constexpr std::array kWords{
    Words{"image_undecodable", "bad_image", "the browser cannot decode this PNG or JPEG file (damaged or incomplete)",
          Gap::none, ""},  // after "This image cannot be used: "
    Words{"model_not_used", "check_failed", "This model failed its check against ONNX Runtime and is not used.",
          Gap::none, ""},
    Words{"model_disagrees", "check_failed",
          "This model cannot be used: the model's ONNX file and its trees disagree (difference ", Gap::difference,
          "). Report this to your administrator."},
    Words{"onnx_failed", "check_failed", "This model cannot be used: ONNX Runtime could not run this model: ",
          Gap::text, ". Report this to your administrator."},
    Words{"table_disagrees", "check_failed", "Withheld: the explanations and ONNX Runtime disagree (difference ",
          Gap::difference, "). Report this to your administrator."},
    Words{"onnx_stopped", "check_failed",
          "ONNX Runtime stopped before it checked this result. Press Predict again: ONNX Runtime starts again and "
          "checks it.",
          Gap::none, ""},
    Words{"onnx_stalled", "check_failed",
          "ONNX Runtime's files stopped arriving over the network, so no result can be checked. Check the "
          "connection, then reload the page.",
          Gap::none, ""},
    Words{"files_stalled", "check_failed",
          "ONNX Runtime's files stopped arriving over the network, so nothing was scored. Check the connection, "
          "then open the file or images again.",
          Gap::none, ""},
    Words{"onnx_unavailable", "onnx_failed", "ONNX Runtime could not open this model: ", Gap::text, "."},
    Words{"onnx_not_ready", "onnx_failed",
          "ONNX Runtime does not hold this model for these images (another model was chosen meanwhile): choose the "
          "model again, then open the images again.",
          Gap::none, ""},
    Words{"batch_withheld", "withheld", "Withheld: ", Gap::text, ""},
    Words{"worker_refused", "bad_bundle", "The batch worker refused the model: ", Gap::text, ""},
    Words{"bundle_offline", "offline",
          "This model has not been opened on this device yet, so it is not available offline. The current model "
          "stays selected.",
          Gap::none, ""},
    Words{"bundle_download", "download_failed", "The model file could not be downloaded (HTTP ", Gap::text, ")."},
    Words{"index_unreachable", "offline", "The list of models cannot be reached, and none was saved for offline use.",
          Gap::none, ""},
    Words{"index_refused", "bad_index", "The list of models from the server was refused: ", Gap::text, ""},
    Words{"no_models", "no_models", "No model has been published yet.", Gap::none, ""},
    Words{"no_model", "no_model", "No model is loaded yet.", Gap::none, ""},
    Words{"not_imaging", "not_imaging", "This model does not read images.", Gap::none, ""},
    Words{"clipboard_denied", "clipboard_denied", "Copying needs clipboard permission.", Gap::none, ""},
    Words{"render_worker_failed", "display_failed",
          "This browser's WebGL2 stopped drawing LocalDx in its render worker, so nothing more can be shown. Reload "
          "the page: LocalDx then draws without the render worker (what is on the form will need to be entered "
          "again; after a launch from the EHR, launch it again from there).",
          Gap::none, ""},
    Words{"render_worker_refused", "display_failed",
          "This browser's WebGL2 refused LocalDx's drawing in its render worker, so nothing can be shown. Reload the "
          "page; if this happens again, turn on the browser's hardware acceleration or use another browser.",
          Gap::none, ""},
    Words{"page_fault", "internal", "Something went wrong on this page: ", Gap::text, "."},
};

constexpr size_t kMaxDetail = 500;

std::string difference_words(double d) {
    if (!std::isfinite(d)) return "a number that is not finite";
    char out[32];
    std::snprintf(out, sizeof out, "%.2e", d);
    return out;
}

std::string difference_words(std::string_view detail) {
    const std::string text(detail);
    char* end = nullptr;
    const double d = text.empty() ? NAN : std::strtod(text.c_str(), &end);
    return end == text.c_str() + text.size() ? difference_words(d) : difference_words(NAN);
}

// The status lines: {name} is a detail (see page_words.h for how each kind is written).
struct Sentence {
    std::string_view id, words;
};
constexpr std::array kSentences{
    Sentence{"model_ready", "Model ready: {title}, version {version}. Signature verified."},
    Sentence{"model_source_server", "from the server"},
    Sentence{"model_source_offline", "offline (models list last checked {day})"},
    Sentence{"batch_scored", "scored in {ms} ms off the page"},
    Sentence{"batch_scored_two_threads", "scored in {ms} ms off the page, on two threads"},
    Sentence{"batch_scored_onnx",
             "Scored by ONNX Runtime Web in {ms} ms, off the page; select a row and press \"Explain this row\" for "
             "its model-agnostic explanation."},
    Sentence{"batch_checked",
             "Cross-checked with ONNX Runtime (max difference {difference}; {ms} ms on this page); {then}."},
    Sentence{"images_scoring", "Scoring image {i} of {n} on this device\u2026"},
    Sentence{"print_footer", "Printed {when}. Computed on this device by LocalDx; no patient data left it."},
    Sentence{"form_as_typed", "What was on the form, to enter again:"},
    Sentence{"ehr_no_iss",
             "LocalDx was opened without an EHR (no iss): launch it from the chart, or open it with ?iss= and the "
             "EHR's FHIR address."},
    Sentence{"ehr_not_listed",
             "Refused: the EHR {iss} is not on this site's list of EHRs allowed to launch LocalDx (ehr.json). Ask the "
             "administrator to add it."},
    Sentence{"ehr_no_pkce",
             "Refused: the EHR {iss} does not offer PKCE with S256 (code_challenge_methods_supported: "
             "{methods|none}); LocalDx does not launch without it."},
    Sentence{"ehr_launch_failed", "The launch from the EHR failed: {reason|no reason given}."},
    Sentence{"ehr_token_failed",
             "The launch from the EHR failed: {reason|no reason given}. Nothing was read from the chart; launch "
             "LocalDx again from the EHR."},
    Sentence{"ehr_client_unloadable",
             "The launch from the EHR failed: this page could not load its SMART client. Nothing was read from the "
             "chart; reload the page, or launch LocalDx again from the EHR."},
    Sentence{"ehr_no_patient",
             "The EHR did not say which patient this launch is for: nothing was read from the chart."},
    Sentence{"ehr_not_granted",
             "The EHR did not grant reading {type} (granted: {granted|nothing}): the form cannot be filled from the "
             "chart."},
    Sentence{"ehr_chart_unreadable",
             "The chart could not be read: {reason|no reason given}. Nothing was filled in; launch LocalDx again "
             "from the EHR."},
    Sentence{"ehr_chart_token_refused",
             "The chart could not be read: the EHR refused the access token (expired or revoked). Nothing was "
             "filled in; launch LocalDx again from the EHR."},
    Sentence{"ehr_prefilled", "From the EHR's chart (patient {patient}). Check each value before you press Predict."},
    Sentence{"ehr_saved", "Saved to the chart as {resource}."},
    Sentence{"ehr_not_saved", "Not saved to the chart: {reason|no reason given}."},
    Sentence{"ehr_save_token_refused",
             "Not saved to the chart: the EHR refused the access token (expired or revoked)."},
};

Problem sentence_fault(std::string_view id, const std::string& why) {
    return problem("internal", "the page asked for the words \"" + printable(id.substr(0, 64)) + "\" " + why +
                                   ": a fault in LocalDx; please report it");
}

// One detail, written as its name says (page_words.h); nullopt when it cannot be.
std::optional<std::string> detail_words(std::string_view name, std::string_view fallback, const Json& v) {
    if (name == "ms" || name == "i" || name == "n") {
        if (!v.is_number()) return std::nullopt;
        const double d = v.get<double>();
        if (!std::isfinite(d) || std::fabs(d) > 1e15) return std::nullopt;
        return std::to_string(std::llround(d));
    }
    if (name == "difference") return difference_words(v.is_number() ? v.get<double>() : NAN);
    std::string text;
    if (v.is_string()) text = printable(std::string_view(v.get_ref<const std::string&>()).substr(0, kMaxDetail));
    else if (v.is_number()) text = json_dump(v);
    else return std::nullopt;
    return text.empty() ? std::string(fallback) : text;
}
}  // namespace

Problem page_problem(std::string_view id, std::string_view detail) {
    for (const Words& w : kWords) {
        if (w.id != id) continue;
        std::string message(w.before);
        // The browser's own text, quoted as outside text (printable), at most kMaxDetail bytes.
        if (w.gap == Gap::text)
            message += detail.empty() ? std::string("no reason given") : printable(detail.substr(0, kMaxDetail));
        if (w.gap == Gap::difference) message += difference_words(detail);
        return problem(std::string(w.code), message + std::string(w.after));
    }
    return problem("internal", "the page asked for words the core does not have (\"" + printable(id.substr(0, 64)) +
                                   "\"): a fault in LocalDx; please report it");
}

Result<std::string> page_sentence(std::string_view id, const Json& details) {
    const Sentence* found = nullptr;
    for (const Sentence& s : kSentences)
        if (s.id == id) found = &s;
    if (!found) return sentence_fault(id, "that the core does not have");
    if (!details.is_object()) return sentence_fault(id, "without an object of details");
    std::string out;
    std::string_view rest = found->words;
    for (size_t open = rest.find('{'); open != std::string_view::npos; open = rest.find('{')) {
        const size_t close = rest.find('}', open);
        const std::string_view gap = rest.substr(open + 1, close - open - 1);
        const size_t bar = gap.find('|');
        const std::string_view name = gap.substr(0, bar);
        const std::string_view fallback = bar == std::string_view::npos ? std::string_view{} : gap.substr(bar + 1);
        const auto it = details.find(std::string(name));
        const auto words = it == details.end() ? std::nullopt : detail_words(name, fallback, *it);
        if (!words) return sentence_fault(id, "without a usable detail \"" + std::string(name) + "\"");
        out.append(rest.substr(0, open)).append(*words);
        rest.remove_prefix(close + 1);
    }
    return out.append(rest);
}

std::vector<std::string_view> page_sentence_ids() {
    std::vector<std::string_view> ids;
    for (const Sentence& s : kSentences) ids.push_back(s.id);
    return ids;
}

}  // namespace ldx
