// shared/client/page_words.cpp — see page_words.h.
#include "client/page_words.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
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
    Words{"onnx_unavailable", "onnx_failed", "ONNX Runtime could not open this model: ", Gap::text, "."},
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
    Words{"page_fault", "internal", "Something went wrong on this page: ", Gap::text, "."},
};

constexpr size_t kMaxDetail = 500;

std::string difference_words(std::string_view detail) {
    const std::string text(detail);
    char* end = nullptr;
    const double d = text.empty() ? NAN : std::strtod(text.c_str(), &end);
    if (!std::isfinite(d) || end != text.c_str() + text.size()) return "a number that is not finite";
    char out[32];
    std::snprintf(out, sizeof out, "%.2e", d);
    return out;
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

}  // namespace ldx
