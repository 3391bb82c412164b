// server/cli/commands/predict.cpp — `localdx predict`: a bundle's predictions for a file of patients.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/args.h"
#include "conformal/conformal.h"
#include "csv/csv.h"
#include "predict/results_csv.h"
#include "io/files.h"
#include "predict/predict.h"
#include "predict/prediction_json.h"
#include "record/patients.h"
#include "record/record.h"
#include "train/dataset.h"

#include "cli/commands.h"

namespace ldx::cli {

const char* const kPredictHelp =
    R"(Usage: localdx predict --bundle FILE.ldxb --trust trust.json --input FILE.csv|FILE.json
                       [--explain] [--format csv|json] [--out FILE] [--strict] [--allow-incomplete]

Input: a CSV (columns are field names, optionally "field[unit]"), JSON records (one object or an
array), or FHIR R4 JSON (a Bundle, one resource, or NDJSON): Observations are matched to fields
by their LOINC/SNOMED codes (or system urn:localdx:field), quantities keep their UCUM units, the
latest value per field wins, age comes from Patient.birthDate; one row per patient ("patient").
The same reader as the browser's batch view: an id column (id, patient_id, patient, mrn) is
carried through as each row's "patient"; columns the model does not use are ignored with a
notice; numbers may use a decimal comma ("0,5"), an ambiguous "1,234" is refused.

A row that cannot be used is listed with its row, id and reason (standard error, and in the
output: JSON "ok": false with "problems", CSV a row with the reason in "problem") and the other
rows are scored;
the exit status is then 2. With --strict, any bad row fails the whole file (exit 1, no output).

A row below the model's minimum information (the schema's "minimum_information": the fields it
gives no result without, the largest share of the explanation missing values may carry; on the
model card) is such a row, with the reason "Enter <fields> to get a result: ...", as in the
browser. With --allow-incomplete it is scored and says so: JSON "incomplete": {"message",
"fields", "labels", "missing_share", "max_missing_share"}, CSV the message in "warnings".

Verifies the bundle, then scores every patient with the same core the browser runs, and writes
for each row what the browser's core gives (docs/formats.md, "Predictions"): "probabilities"
(in the order of "classes"), "predicted" (a class index) and its "label", prediction sets,
warnings; with --explain "explanation": the contribution of every model feature and the sum per
input field in the model's raw margin (log-odds) space, base + sum(contributions) = margin, for
the predicted class ("outputs": every output), and the same in probability points. CSV output
has one column per class (p_NAME) and, with --explain, per feature. Regression tasks: "value"
(also the one number in "probabilities"), its "label" with the unit, its prediction intervals,
and the explanation in the outcome's unit; CSV: "predicted" is the value, then low_80, high_80,
low_90, high_90, low_95, high_95. JSON input: one record object or an array of them. Writes to --out atomically (default: standard output). Default
format: json.
)";

int cmd_predict(const Args& a) {
    auto bundle = args_require(a, "--bundle");
    auto trust = args_require(a, "--trust");
    auto input = args_require(a, "--input");
    for (const auto* r : {&bundle, &trust, &input})
        if (!*r) return fail("predict", r->problems());
    const std::string format = a.get("--format").value_or("json");
    if (format != "json" && format != "csv")
        return fail("predict", problem("usage", "--format must be csv or json, not '" + format + "'"));
    const bool explain = a.has("--explain");

    auto model = load_model(*bundle, *trust, 0);
    if (!model) return fail("predict", model.problems());
    if (!model->ensemble)
        return fail("predict", problem("no_trees", "this model's explainer is " + model->manifest.explainer +
                                                       ": it runs only in the browser (ONNX Runtime Web)"));
    auto text = file_read(*input, kMaxPatientFileBytes);
    if (!text) return fail("predict", text.problems());
    const Schema& s = model->schema;
    const std::string ignore[] = {s.outputs.column};
    const PatientFile file = patients_read(s, *text, PatientReadOptions{unix_now(), ignore, {}});
    if (!file.problems.empty()) return fail("predict", file.problems);
    for (const auto& n : file.notices) std::fprintf(stderr, "localdx predict: note: %s\n", n.describe().c_str());
    struct Scored {
        const PatientRow* row;
        std::vector<Problem> problems;
    };  // problems: not scored
    std::vector<Scored> order;
    std::vector<PreparedRecord> prepared_rows;
    std::vector<Problem> problems;
    // A row below the model's minimum information (predict/information.h) is not scored, as in the
    // browser; with --allow-incomplete it is, and says so.
    const bool allow_incomplete = a.has("--allow-incomplete");
    std::vector<InformationCheck> incomplete;  // per scored row
    for (size_t i = 0; i < file.rows.size(); ++i) {
        const PatientRow& r = file.rows[i];
        auto prepared = patient_prepare(s, file, i);
        if (!prepared) {
            problems.insert(problems.end(), prepared.problems().begin(), prepared.problems().end());
            order.push_back({&r, prepared.problems()});
            continue;
        }
        InformationCheck info = information_check(s, prepared->values);
        if (!info.enough && !allow_incomplete) {
            Problem p = information_problems(s, info, r.row).front();  // its message names every field to enter
            p.patient = r.id;
            problems.push_back(p);
            order.push_back({&r, {p}});
            continue;
        }
        order.push_back({&r, {}});
        prepared_rows.push_back(std::move(*prepared));
        incomplete.push_back(std::move(info));
    }
    const bool strict = a.has("--strict");
    if (!problems.empty() && strict) return fail("predict", problems);
    if (!problems.empty()) fail("predict", problems);
    if (explain) model_prepare_batch(*model);
    TreeShapWorkspace ws;
    const std::vector<Prediction> preds = model_predict_batch(*model, std::move(prepared_rows), explain, ws);

    std::string out;
    if (format == "json") {
        Json all = Json::array();
        size_t i = 0;
        for (const Scored& sc : order) {
            Json j;
            j["row"] = sc.row->row;
            if (!sc.row->id.empty()) j["patient"] = sc.row->id;
            if (!sc.problems.empty()) {
                j["ok"] = false;
                j["problems"] = problems_json(sc.problems);
                all.push_back(std::move(j));
                continue;
            }
            // The browser core's own JSON for the prediction (shared/predict/prediction_json.h).
            j.update(prediction_json(*model, preds[i], explain));
            if (!incomplete[i].enough)
                j["incomplete"] = incomplete_json(s, incomplete[i], preds[i].prepared)["incomplete"];
            ++i;
            all.push_back(std::move(j));
        }
        out = json_dump(all, 2) + "\n";
    } else {
        // The one results file (predict/results_csv.h), as the browser's batch export writes it;
        // with --explain each output's base and contributions after it.
        std::vector<std::string> explain_columns;
        if (explain)
            for (int o = 0; o < model->ensemble->num_outputs; ++o) {
                const std::string prefix =
                    model->ensemble->link != Link::softmax ? "" : s.outputs.classes[static_cast<size_t>(o)].name + ":";
                explain_columns.push_back(prefix + "base");
                for (const auto& f : s.features) explain_columns.push_back(prefix + "phi_" + f.name);
            }
        std::vector<ResultsRow> rows;
        size_t i = 0;
        for (const Scored& sc : order) {
            ResultsRow r;
            r.row = sc.row->row;
            r.patient = sc.row->id;
            if (!sc.problems.empty()) {
                r.problems = sc.problems;
                if (explain) r.extra.resize(explain_columns.size());
                rows.push_back(std::move(r));
                continue;
            }
            const InformationCheck& info = incomplete[i];
            const Prediction& p = preds[i++];
            r.probabilities = p.probabilities;
            r.predicted = p.predicted;
            if (!info.enough) r.warnings.push_back(problem("incomplete", "incomplete: " + info.message));
            r.warnings.insert(r.warnings.end(), p.prepared.warnings.begin(), p.prepared.warnings.end());
            if (explain)
                for (int o = 0; o < p.explanation.num_outputs; ++o) {
                    r.extra.push_back(fmt(p.explanation.base[static_cast<size_t>(o)]));
                    for (size_t f = 0; f < s.features.size(); ++f)
                        r.extra.push_back(fmt(p.explanation.contribution(o, static_cast<int>(f))));
                }
            rows.push_back(std::move(r));
        }
        out = results_csv(s, "localdx predict", model->manifest.name + " v" + std::to_string(model->manifest.version),
                          rows, explain_columns);
    }
    if (auto path = a.get("--out")) {
        if (auto ok = file_write_atomic(*path, out); !ok) return fail("predict", ok.problems());
        std::fprintf(stderr, "localdx predict: %zu rows scored -> %s\n", preds.size(), path->c_str());
    } else {
        std::fwrite(out.data(), 1, out.size(), stdout);
    }
    if (!problems.empty()) {
        std::fprintf(
            stderr, "localdx predict: %zu of %zu rows scored; %zu could not be used (listed above and in the output)\n",
            preds.size(), order.size(), order.size() - preds.size());
        return 2;
    }
    return 0;
}

}  // namespace ldx::cli
