// shared/imaging/scope.cpp — whether an image is one the model was made for (see image_input.h,
// Scope): its header against the schema's lists, its tensor against the training statistics.
//
// Index of this file
//   [SECTION] Words (modalities as a clinician names them)
//   [SECTION] Header
//   [SECTION] Training statistics
#include <algorithm>
#include <cctype>
#include <cmath>

#include "base/text.h"
#include "imaging/image_input.h"

namespace ldx {

namespace {
//-----------------------------------------------------------------------------
// [SECTION] Words
//-----------------------------------------------------------------------------
// "a CT scan": what a DICOM Modality value is called, for the values a clinician meets.
std::string modality_words(const std::string& m) {
    static const std::pair<const char*, const char*> names[] = {
        {"CT", "a CT scan"},
        {"MR", "an MR image"},
        {"CR", "a computed radiograph"},
        {"DX", "a digital radiograph"},
        {"US", "an ultrasound image"},
        {"MG", "a mammogram"},
        {"NM", "a nuclear medicine image"},
        {"PT", "a PET image"},
        {"XA", "an X-ray angiogram"},
        {"RF", "a fluoroscopy image"},
        {"IO", "an intra-oral radiograph"},
        {"PX", "a panoramic dental radiograph"},
        {"SM", "a slide microscopy image"},
        {"OP", "an ophthalmic photograph"},
        {"OT", "an image of modality 'other'"},
    };
    for (const auto& [code, words] : names)
        if (m == code) return words;
    return "an image of modality " + m;
}

std::string list_words(const std::vector<std::string>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i == 0 ? "" : i + 1 == v.size() ? " or " : ", ") + v[i];
    return s;
}

std::string lower_first(std::string s) {
    if (!s.empty() && s.size() > 1 && !std::isupper(static_cast<unsigned char>(s[1])))
        s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
    return s;
}

// DICOM code strings compare without their padding and case (a file may write "chest ").
std::string code_of(const std::string& v) {
    std::string s;
    for (const char c : v)
        if (c != ' ') s += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return printable(s);
}

bool listed(const std::vector<std::string>& list, const std::string& v) {
    return std::any_of(list.begin(), list.end(), [&](const std::string& l) { return code_of(l) == code_of(v); });
}
}  // namespace

std::string image_scope_words(const ImageInput& in) {
    std::string s = lower_first(in.label);
    std::vector<std::string> parts;
    if (!in.modalities.empty()) parts.push_back("modality " + list_words(in.modalities));
    if (!in.body_parts.empty()) parts.push_back("body part " + list_words(in.body_parts));
    if (!in.views.empty()) parts.push_back("view " + list_words(in.views));
    for (size_t i = 0; i < parts.size(); ++i) s += (i == 0 ? " (" : "; ") + parts[i];
    return parts.empty() ? s : s + ")";
}

//-----------------------------------------------------------------------------
// [SECTION] Header
//-----------------------------------------------------------------------------
ImageScope image_scope_check(const ImageInput& in, ImageFormat format, const Pixels& p) {
    const bool listed_any = !in.modalities.empty() || !in.body_parts.empty() || !in.views.empty();
    ImageScope scope;
    std::vector<Problem>& warnings = scope.warnings;
    std::vector<Problem>& refused = scope.refused;
    if (format != ImageFormat::dicom) {
        if (listed_any)
            warnings.push_back(
                problem("confirm_scope",
                        "A PNG or JPEG file does not say what it shows: use the result only if this image is " +
                            image_scope_words(in) + ".",
                        "image"));
        return scope;
    }
    const std::string made_for = "this model is made for " + image_scope_words(in) + " only.";
    if (!in.modalities.empty()) {
        if (code_of(p.modality).empty())
            refused.push_back(problem("out_of_scope",
                                      "This DICOM file does not say its modality, so it cannot be checked; " + made_for,
                                      "modality"));
        else if (!listed(in.modalities, p.modality))
            refused.push_back(problem("out_of_scope",
                                      "This image is " + modality_words(code_of(p.modality)) + " (modality " +
                                          code_of(p.modality) + "); " + made_for,
                                      "modality"));
    }
    struct Tag {
        const std::vector<std::string>& list;
        const std::string& value;
        const char *field, *words;
    };
    for (const Tag& t :
         {Tag{in.body_parts, p.body_part, "body_part", "body part"}, Tag{in.views, p.view, "view", "view"}}) {
        if (t.list.empty()) continue;
        if (code_of(t.value).empty())
            warnings.push_back(problem("confirm_scope",
                                       std::string("This DICOM file does not say its ") + t.words +
                                           ": use the result only if it is " + list_words(t.list) + ".",
                                       t.field));
        else if (!listed(t.list, t.value))
            refused.push_back(
                problem("out_of_scope",
                        std::string("This image's ") + t.words + " is " + code_of(t.value) + "; " + made_for, t.field));
    }
    return scope;
}

//-----------------------------------------------------------------------------
// [SECTION] Training statistics
//-----------------------------------------------------------------------------
TensorStatistics tensor_statistics(const Tensor& t) {
    TensorStatistics s;
    if (t.data.empty()) return s;
    double sum = 0;
    for (const float v : t.data) sum += v;
    s.mean = sum / static_cast<double>(t.data.size());
    double ss = 0;
    for (const float v : t.data) ss += (v - s.mean) * (v - s.mean);
    s.std = std::sqrt(ss / static_cast<double>(t.data.size()));
    return s;
}

std::optional<Problem> image_unlike_training(const ImageInput& in, const Tensor& t) {
    if (!in.training) return std::nullopt;
    const TensorStatistics s = tensor_statistics(t);
    const auto outside = [](const TrainingStatistic& r, double v) {
        return !std::isfinite(v) || v < r.min - kTrainingMarginSd * r.sd || v > r.max + kTrainingMarginSd * r.sd;
    };
    std::string what;
    if (outside(in.training->mean, s.mean))
        what = s.mean > in.training->mean.max ? "brighter" : s.mean < in.training->mean.min ? "darker" : "unusual";
    if (outside(in.training->std, s.std))
        what += std::string(what.empty() ? "" : " and ") +
                (s.std > in.training->std.max ? "higher in contrast" : "lower in contrast");
    if (what.empty()) return std::nullopt;
    return problem("unlike_training",
                   "This image looks unlike the " + std::to_string(in.training->images) +
                       " images the model was trained on (" + what +
                       " than any of them, after preprocessing): its result may not mean what it would for them.",
                   "image");
}

}  // namespace ldx
