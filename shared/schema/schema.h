// shared/schema/schema.h — the feature schema of a task.
//
// Index of this file
//   [SECTION] Fields: types, units, ranges, missing-value policy, categories
//   [SECTION] Feature columns: how fields map to the model's feature vector
//   [SECTION] Outputs: classes, positive class / severity order, thresholds, findings
//   [SECTION] Minimum information: when the model gives a verdict at all
//   [SECTION] Schema and its parser
//
// One schema drives the clinician's form, validation, unit conversion, preprocessing and the
// binning of aggregate metrics. It is shipped inside every bundle; the same parser reads it in
// the CLI, the server and the browser.
#pragma once
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "conformal/calibrator.h"
#include "imaging/image_input.h"

namespace ldx {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

//-----------------------------------------------------------------------------
// [SECTION] Fields
//-----------------------------------------------------------------------------
enum class FieldType { number, integer, boolean, category };
enum class MissingPolicy { error, model_missing };  // model_missing: NaN goes to the model
enum class Encoding { one_hot, ordinal };

// A value entered in `unit` is converted to the field's unit as  factor * value + offset.
struct UnitConversion {
    std::string unit;
    double factor = 1.0;
    double offset = 0.0;
};

struct Level {
    std::string value;  // what data files and JSON records contain
    std::string label;  // what the clinician reads
};

inline constexpr double kDefaultMaxAgeDays = 365;

struct Field {
    std::string name, label, description;
    std::string code;  // "LOINC:2345-7" / "SNOMED:..." (optional)
    FieldType type = FieldType::number;
    std::string unit;  // UCUM; empty for booleans and categories
    std::vector<UnitConversion> alt_units;
    double min = -INFINITY, max = INFINITY;                  // physiologically possible: reject outside
    double typical_min = -INFINITY, typical_max = INFINITY;  // seen in training: warn outside
    bool required = false;
    // How old (days) a value read from the patient's chart may be and still fill the form without
    // the clinician accepting it (record/fhir.h, fhir_chart).
    double max_age_days = kDefaultMaxAgeDays;
    MissingPolicy missing = MissingPolicy::model_missing;
    std::vector<Level> levels;  // category only
    Encoding encoding = Encoding::one_hot;

    bool numeric() const { return type == FieldType::number || type == FieldType::integer; }
    const UnitConversion* find_unit(std::string_view u) const;  // nullptr when not convertible
    int find_level(std::string_view v) const;                   // index, or -1
};

const char* field_type_name(FieldType t);

// How a UCUM unit reads to a clinician: "mm[Hg]" -> "mmHg", "a" -> "years", "{#}" -> "" ...
// Units the table does not know are shown as written.
std::string unit_display(std::string_view ucum);

//-----------------------------------------------------------------------------
// [SECTION] Feature columns
//-----------------------------------------------------------------------------
// Column j of the model's input is field `field`; for a one-hot category, the indicator of
// level `level`. Names: "glucose", "sex=f".
struct FeatureColumn {
    std::string name;
    int field = -1;
    int level = -1;
};

//-----------------------------------------------------------------------------
// [SECTION] Outputs
//-----------------------------------------------------------------------------
// multilabel: one independent probability per finding (a sigmoid each, as chest radiograph models
// give), each with its own threshold; an imaging task only.
enum class TaskKind { binary, ordinal, multiclass, regression, multilabel };

struct OutputClass {
    std::string name;   // value in the training label column
    std::string label;  // what the clinician reads
};

// A regression task predicts one number (an outcome score, a lab value a year out): it has no
// classes; its outcome has a label, a UCUM unit and a plausible range, and conformal intervals
// instead of sets. Wherever a class task carries per-class probabilities, a regression task
// carries one value: the predicted outcome in its unit.
struct Outputs {
    TaskKind kind = TaskKind::binary;
    std::string column;                // label column in training data
    std::vector<OutputClass> classes;  // binary: [negative, positive]; ordinal: least to most severe; regression: none
    int positive = 1;                  // binary: index of the positive class
    double threshold = 0.5;            // binary: decide positive when P(positive) >= threshold
    Conformal conformal;               // prediction sets or intervals (conformal/conformal.h); empty: none
    // Multilabel only: `classes` are the findings (schema key "findings"), each finding's name is
    // its column in a labelled file (1 present, 0 absent), and a finding is called present when
    // its probability >= its threshold (one per finding, in (0, 1)).
    std::vector<double> thresholds;
    // Regression only:
    std::string label;                       // "Disease progression one year later"
    std::string unit;                        // UCUM ("mg/dL", "{score}")
    double min = -INFINITY, max = INFINITY;  // plausible range: training rows outside it are refused
    int decimals = 1;                        // how many decimals a clinician reads

    bool regression() const { return kind == TaskKind::regression; }
    bool multilabel() const { return kind == TaskKind::multilabel; }
};

// A multilabel task has at least two findings and at most this many.
inline constexpr size_t kMaxFindings = 64;

const char* task_kind_name(TaskKind k);

// A regression outcome as a clinician reads it: the value at the task's decimals and its unit
// ("152 points", "7.4 mmol/L").
std::string outcome_text(const Outputs& o, double value);

//-----------------------------------------------------------------------------
// [SECTION] Minimum information
//-----------------------------------------------------------------------------
// A model gives a verdict (threshold call, prediction set, interval, value) only with enough of
// the patient: every field listed in `fields`, and the missing fields carrying at most
// `max_missing_share` of the explanation, each field weighing its mean share of the explanation
// on the training patients (`weights`, per field, adding up to 1). predict/information.h checks it,
// once, for every front end. Schema key "minimum_information"; `localdx train` derives it from the
// out-of-fold explanations unless the task's schema gives it, and says how in `basis`. A schema
// without the key states no rule.
struct MinimumInformation {
    std::vector<std::string> fields;  // field names, the most important first
    std::vector<double> weights;      // per schema field (JSON: {"name": weight}); empty: equal weights
    double max_missing_share = 1.0;   // (0, 1]; 1: no limit
    std::string basis;                // how the rule was chosen, for the model card
};

//-----------------------------------------------------------------------------
// [SECTION] Schema
//-----------------------------------------------------------------------------
// How a patient's randomized data enters an aggregate report (drift/report.h). A report holds H
// histograms (each input field, the predicted class, each class's probability).
//  - one_histogram (the default; schema key "epsilon_per_patient", default 2): each patient is
//    counted in one of the H histograms, chosen at random, randomized with epsilon: the patient
//    spends epsilon in all.
//  - every_histogram (schema key "epsilon", as older bundles have it): each patient is counted in
//    all H histograms, each randomized with epsilon: H x epsilon in all.
struct Privacy {
    enum class Counting { one_histogram, every_histogram };
    int k_min = 10;  // a metrics report summarises at least this many patients
    Counting counting = Counting::one_histogram;
    double epsilon = 2.0;  // randomized response of one histogram entry
};

struct Schema {
    std::string task, title, description;
    std::vector<Field> fields;
    std::vector<FeatureColumn> features;
    Outputs outputs;
    Privacy privacy;
    std::optional<ImageInput> image;  // an imaging task's image input (imaging/image_input.h)
    std::optional<MinimumInformation> minimum_information;

    int find_field(std::string_view name) const;  // index, or -1
    int find_feature(std::string_view name) const;
    int num_classes() const { return static_cast<int>(outputs.classes.size()); }  // 0 for regression
    // Values per prediction where the model gives probabilities: one per class, or the one
    // predicted value of a regression task.
    int num_outputs() const { return outputs.regression() ? 1 : num_classes(); }
};

// Parses and checks a schema document. Every problem names the JSON path ("fields[2].unit").
Result<Schema> schema_parse(std::string_view json_text);
Result<Schema> schema_from_json(const Json& j);
Json schema_to_json(const Schema& s);

// A problem in the clinician's words, the field by its label, not its name: "Row 3 (patient P-17),
// Age: 12 years is outside the possible range 21 to 120 years". The same list as JSON, with "text"
// in these words and the field's "label" (what every view of the browser shows).
std::string problem_words(const Schema& s, const Problem& p);
Json problems_json(const Schema& s, const std::vector<Problem>& ps);

// The feature columns a schema implies when it lists none: fields in order, one column per
// numeric/boolean/ordinal field, one per level for one-hot categories.
std::vector<FeatureColumn> schema_default_features(const std::vector<Field>& fields);

}  // namespace ldx
