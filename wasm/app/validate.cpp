// wasm/app/validate.cpp — the Validate view's run: a labelled file read, scored and evaluated on the device
// (shared/metrics/validation.h; an imaging model's labelled images: metrics/image_validation.h), and the prediction
// sets recalibrated on it (drawn by views/validate_view.cpp).
//
// Index of this file
//   [SECTION] The run
//   [SECTION] A site calibration
#include "app.h"

#include <algorithm>

#include "metrics/image_validation.h"
#include "record/patients.h"

namespace ldx::app {

//-----------------------------------------------------------------------------
// [SECTION] The run
//-----------------------------------------------------------------------------
void validate_file(AppState& s, const std::string& name, const std::string& text, int64_t now) {
    constexpr size_t kValidateResampleRows = 20'000'000;  // rows x resamples the page evaluates at most
    s.validate = ValidateState{};
    s.validate.loaded = true;
    s.validate.file_name = name;
    if (!s.model) return;
    const Model& m = s.model->model;
    // The run `localdx evaluate` makes (metrics/validation.h): 1000 resamples as it draws them;
    // fewer for a large file (at least 200), so the page is not held for more than a few seconds.
    ValidationRun run = validation_run(m, text, name, ValidationRunOptions{now, 1000, 1, kValidateResampleRows});
    if (!run.refused.empty()) {
        s.validate.problems = problems_json(run.refused);
        return;
    }
    s.validate.report = std::move(run.report);
    s.validate.labels = std::move(run.scored.labels);
    s.validate.probabilities = std::move(run.scored.probabilities);
    s.validate.observed = std::move(run.scored.observed);
    s.validate.threshold = static_cast<float>(m.schema.outputs.threshold);
}

// An imaging model's labelled images: the run `localdx evaluate --images` makes on the same outputs.
void validate_images(AppState& s, const std::string& labels_name, const std::string& labels_text,
                     const std::string& outputs_json, int64_t now) {
    constexpr size_t kValidateResampleRows = 20'000'000;
    s.validate = ValidateState{};
    s.validate.loaded = true;
    s.validate.images = true;
    s.validate.file_name = labels_name;
    if (!s.model) return;
    const Model& m = s.model->model;
    if (labels_name.empty()) {
        s.validate.problems = problems_json(
            {problem("no_labels",
                     "choose the labels CSV together with the images: one file ending in .csv that names each "
                     "image with its outcome")});
        return;
    }
    auto j = json_parse(outputs_json, "image outputs", JsonLimits{size_t{256} << 20, 8});
    auto outputs = j ? image_outputs_from_json(*j, m.schema.outputs.classes.size())
                     : Result<std::vector<ImageOutput>>(j.problems());
    if (!outputs) {
        s.validate.problems = problems_json(outputs.problems());
        return;
    }
    ImageValidationRun run = image_validation_run(m, labels_text, labels_name, *outputs,
                                                  ValidationRunOptions{now, 1000, 1, kValidateResampleRows});
    s.validate.outputs = json_dump(image_outputs_to_json(*outputs));
    if (!run.refused.empty()) {
        s.validate.problems = problems_json(run.refused);
        return;
    }
    s.validate.report = std::move(run.report);
    s.validate.labels = std::move(run.scored_labels);
    s.validate.probabilities = std::move(run.probabilities);
    s.validate.threshold = static_cast<float>(m.schema.outputs.threshold);
    // A multilabel model's sliders: each finding's own threshold to start with.
    s.validate.thresholds.assign(m.schema.outputs.thresholds.begin(), m.schema.outputs.thresholds.end());
}

//-----------------------------------------------------------------------------
// [SECTION] A site calibration
//-----------------------------------------------------------------------------
void validate_recalibrate(AppState& s) {
    if (!s.model || s.validate.labels.empty()) return;
    Schema& schema = s.model->model.schema;
    const ValidateState& v = s.validate;
    // The same fit for a file of patients and for labelled images (conformal/conformal.h).
    Conformal local =
        conformal_fit_site(schema.outputs, v.probabilities, v.labels, v.observed,
                           std::string("this site's ") + (v.images ? "images (" : "patients (") + v.file_name + ")");
    s.validate.local_coverage = conformal_site_coverage(schema.outputs, local, v.probabilities, v.labels, v.observed);
    host_keep_calibrator(s.model->model.sha256, json_dump(conformal_to_json(local)));
    schema.outputs.conformal = std::move(local);
    s.validate.recalibrated = true;
    // The images already listed say their bands by the calibration now in force.
    for (ImageResult& r : s.imaging.images)
        if (r.ok) r.conformal = conformal_words(schema, r.probabilities);
}

bool apply_local_calibrator(AppState& s, const std::string& calibrator_json) {
    if (!s.model) return false;
    auto j = json_parse(calibrator_json, "local calibrator", JsonLimits{1u << 20, 8});
    if (!j) return false;
    Schema& schema = s.model->model.schema;
    auto c = conformal_from_json(*j, conformal_width(schema.outputs), "local calibrator");
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

}  // namespace ldx::app
