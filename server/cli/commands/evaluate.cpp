// server/cli/commands/evaluate.cpp — `localdx evaluate`: a bundle checked on a site's labelled patients.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/args.h"
#include "io/files.h"
#include "csv/csv.h"
#include "metrics/folds.h"
#include "metrics/validation.h"
#include "predict/predict.h"
#include "record/patients.h"
#include "train/dataset.h"

#include "cli/commands.h"

namespace ldx::cli {

const char* const kEvaluateHelp = R"(Usage: localdx evaluate --bundle FILE.ldxb --trust trust.json --data FILE
                        [--compare OTHER.ldxb] [--gate RULE]... [--format text|json] [--out FILE]
                        [--bootstrap N] [--seed N] [--strict]
                        [--per-period COLUMN [--period year|quarter|month]]

Checks a bundle on labelled patients (a site's own, before go-live): a CSV, JSON records or FHIR
file read like `localdx predict` reads it, with each patient's true outcome in the schema's label
column (CSV column / JSON key; FHIR: an Observation coded urn:localdx:field|<column>), given as a
class name or as its label. The same core as the browser scores every patient.

Reports, each with a 95% bootstrap interval (--bootstrap resamples, default 1000; --seed 1):
AUC-ROC and PR-AUC per class and macro, sensitivity, specificity, PPV, NPV and F1 at the bundle's
own threshold, accuracy, the Brier score, calibration (expected calibration error; binary: the
logistic calibration intercept with the slope fixed at 1, and the slope), alerts per 100
patients; the confusion matrix; the reliability table; binary: a table of other thresholds
(Youden, sensitivity >= 0.90/0.95, specificity >= 0.90/0.95, PPV >= 0.50, NPV >= 0.95) and the
decision curve (net benefit at thresholds 1%..99%); ordinal: quadratic weighted kappa and
within-one accuracy; per subgroup as in the model card. Regression tasks (the outcome a number
in its unit): MAE, RMSE, R squared, calibration in the large and slope, calibration by decile,
and the coverage of the bundle's intervals. The lineage: both files' SHA-256, the
rows read and scored, the LocalDx version.

--compare OTHER  a second bundle (the one in use, say) scored on the same rows: each figure of both
                 and the difference (this bundle minus OTHER) with a paired-bootstrap interval.
--gate RULE      a promotion rule, repeatable; exit 3 with the reason when one fails:
                   METRIC >= X | <= X | > X | < X | METRIC in [A, B]
                 X, A, B: a number, or baseline [+|- d] (OTHER's figure). METRIC: auc, pr_auc,
                 sensitivity, specificity, ppv, npv, f1, accuracy, brier, ece, calibration_slope,
                 calibration_intercept, alerts_per_100, qwk, within_one (regression: mae, rmse, r2,
                 calibration_slope, calibration_in_the_large), or a dotted name from the JSON report. Gates compare point estimates. Example:
                   --gate "auc >= baseline - 0.01" --gate "calibration_slope in [0.8, 1.2]"

--per-period COLUMN  also the figures per period of the CSV's COLUMN (each row's time: an ISO
                 date YYYY-MM-DD, or a number such as a year): rows, AUC-ROC, accuracy, and for a
                 binary task the observed rate beside the mean predicted probability (regression:
                 MAE, RMSE, R squared, mean observed and predicted); dates by --period (default year),
                 numbers by their whole part. Point figures, no intervals.

Imaging bundles: --images DIR --labels LABELS.csv --outputs OUTPUTS.json instead of --data
(docs/imaging.md): the images in DIR, a CSV naming each with its label and optionally a lesion
box (x0,y0,x1,y1) or point (x,y) in image pixels, and the model's outputs for them (ONNX Runtime
runs imaging models in the browser only: its Validate view saves this file, or a site's own
pipeline writes it). The same figures, and the pointing game and the map's energy in the box.

Rows without a usable outcome or values are listed (row, patient, reason) and left out; with
--strict any such row fails the file. Exit 0: report written and every gate passed; 1: the
report could not be made; 3: a gate failed. Writes to --out atomically (default: standard output).
)";

Json bundle_lineage(const Model& m) {
    return Json{{"name", m.manifest.name}, {"version", m.manifest.version}, {"sha256", m.sha256}};
}

// The regression part of the text report: figures, calibration by decile, interval coverage.
std::string evaluate_regression_text(const Schema& s, const Json& r) {
    std::string out;
    auto line = [&](const std::string& text) { out += text + "\n"; };
    auto num = [](const Json& v, const char* f = "%.3f") { return v.is_number() ? fmt(v.get<double>(), f) : "–"; };
    const Json& m = r["metrics"];
    const std::string unit = unit_display(s.outputs.unit);
    line("Outcome: " + s.outputs.label + (unit.empty() ? "" : " (" + unit + ")"));
    line("");
    line("Figure                                   value   95% CI (" +
         std::to_string(m["bootstrap_resamples"].get<int>()) + " bootstrap resamples)");
    for (const auto& [name, x] : {std::pair<std::string, const Json*>{"mean absolute error (" + unit + ")", &m["mae"]},
                                  {"root mean squared error (" + unit + ")", &m["rmse"]},
                                  {"R squared", &m["r2"]},
                                  {"calibration in the large (ideal 0)", &m["calibration"]["in_the_large"]},
                                  {"calibration slope (ideal 1)", &m["calibration"]["slope"]}}) {
        char b[200];
        std::snprintf(b, sizeof b, "  %-38s %7s  [%s, %s]", name.c_str(), num((*x)["value"]).c_str(),
                      num((*x)["ci95"][0]).c_str(), num((*x)["ci95"][1]).c_str());
        line(b);
    }
    line("");
    line("Calibration by decile of the predicted value   mean predicted   mean observed   patients");
    for (const Json& d : m["calibration"]["deciles"]) {
        char b[160];
        std::snprintf(b, sizeof b, "  %44s %16s %15s %10zu", "", num(d["mean_predicted"], "%.1f").c_str(),
                      num(d["mean_observed"], "%.1f").c_str(), d["count"].get<size_t>());
        line(b);
    }
    if (r.contains("conformal")) {
        line("");
        line("Prediction intervals of the bundle on this file");
        for (const Json& l : r["conformal"]["levels"])
            line("  " + fmt(l["level"].get<double>() * 100, "%g") + "%: coverage " + num(l["coverage"]) +
                 ", mean width " + num(l["mean_width"], "%.1f") + " " + unit);
    }
    if (r.contains("periods")) {
        line("");
        out += periods_text(s, r["periods"]);
    }
    if (r.contains("compare")) {
        line("");
        line("Compared with " + r["compare"]["baseline"]["name"].get<std::string>() +
             " on the same rows (difference: this bundle minus it, paired bootstrap)");
        for (const auto& [key, x] : r["compare"]["figures"].items()) {
            char b[200];
            std::snprintf(b, sizeof b, "  %-38s %7s vs %7s  difference %7s [%s, %s]", key.c_str(), num(x["b"]).c_str(),
                          num(x["a"]).c_str(), num(x["difference"]).c_str(), num(x["ci95"][0]).c_str(),
                          num(x["ci95"][1]).c_str());
            line(b);
        }
    }
    if (r.contains("gates")) {
        line("");
        for (const Json& g : r["gates"])
            line(std::string(g["pass"].get<bool>() ? "PASS  " : "FAIL  ") + g["reason"].get<std::string>());
    }
    return out;
}

std::string evaluate_text(const Schema& s, const Json& r) {
    std::string out;
    auto line = [&](const std::string& text) { out += text + "\n"; };
    auto num = [](const Json& v, const char* f = "%.3f") { return v.is_number() ? fmt(v.get<double>(), f) : "–"; };
    auto fig = [&](const std::string& name, const Json& x) {
        if (!x.is_object() || !x["value"].is_number()) return;
        char b[160];
        std::snprintf(b, sizeof b, "  %-38s %7s  [%s, %s]", name.c_str(), num(x["value"]).c_str(),
                      num(x["ci95"][0]).c_str(), num(x["ci95"][1]).c_str());
        line(b);
    };
    const Json& b = r["bundle"];
    const Json& d = r["data"];
    line("Bundle  " + b["name"].get<std::string>() + " v" + std::to_string(b["version"].get<int64_t>()) + "  sha256 " +
         b["sha256"].get<std::string>());
    line("Data    " + d["file"].get<std::string>() + "  sha256 " + d["sha256"].get<std::string>());
    line("        " + validation_counts(r));
    const Json& m = r["metrics"];
    if (s.outputs.regression()) return out + evaluate_regression_text(s, r);
    const bool binary = s.outputs.kind == TaskKind::binary;
    if (binary) line("Threshold: alert when P(" + s.outputs.classes[1].label + ") >= " + num(m["threshold"], "%.4g"));
    line("");
    line("Figure                                   value   95% CI (" +
         std::to_string(m["bootstrap_resamples"].get<int>()) + " bootstrap resamples)");
    fig("accuracy", m["accuracy"]);
    if (binary) {
        const Json& pos = m["class"][s.outputs.classes[1].name];
        for (const auto& [label, key] : {std::pair{"AUC-ROC", "auc_roc"},
                                         {"PR-AUC", "pr_auc"},
                                         {"sensitivity", "sensitivity"},
                                         {"specificity", "specificity"},
                                         {"PPV", "precision"},
                                         {"NPV", "npv"},
                                         {"F1", "f1"}})
            fig(label, pos[key]);
        fig("alerts per 100 patients", m["alerts_per_100"]);
    } else {
        for (const auto& c : s.outputs.classes) {
            const Json& x = m["class"][c.name];
            fig(c.label + ": AUC-ROC", x["auc_roc"]);
            fig(c.label + ": sensitivity", x["sensitivity"]);
            fig(c.label + ": specificity", x["specificity"]);
        }
        fig("macro AUC-ROC", m["macro"]["auc_roc"]);
        fig("macro PR-AUC", m["macro"]["pr_auc"]);
        fig("macro F1", m["macro"]["f1"]);
    }
    fig("Brier score", m["brier"]);
    if (const Json& ece = m["calibration"]["expected_calibration_error"]["value"]; ece.is_number())
        line("  expected calibration error             " + num(ece) + "  (no interval: resampling inflates it)");
    if (binary) {
        fig("calibration intercept (ideal 0)", m["calibration"]["intercept"]);
        fig("calibration slope (ideal 1)", m["calibration"]["slope"]);
    }
    if (m.contains("ordinal")) {
        fig("quadratic weighted kappa", m["ordinal"]["quadratic_weighted_kappa"]);
        fig("within one class", m["ordinal"]["within_one_accuracy"]);
    }
    line("");
    line("Confusion matrix (rows: true outcome, columns: decided)");
    const Json& counts = m["confusion"]["counts"];
    for (size_t i = 0; i < counts.size(); ++i) {
        std::string row = "  " + s.outputs.classes[i].label + ":";
        for (const auto& c : counts[i]) row += " " + std::to_string(c.get<size_t>());
        line(row);
    }
    if (binary) {
        line("");
        line("Other thresholds            threshold  sens  spec   PPV   NPV  alerts/100");
        for (const Json& p : m["operating_points"]) {
            char buf[200];
            std::snprintf(buf, sizeof buf, "  %-26s %8s %5s %5s %5s %5s %8s",
                          threshold_policy_words(p["policy"].get<std::string>()).c_str(),
                          num(p["threshold"], "%.3f").c_str(), num(p["sensitivity"], "%.2f").c_str(),
                          num(p["specificity"], "%.2f").c_str(), num(p["ppv"], "%.2f").c_str(),
                          num(p["npv"], "%.2f").c_str(), num(p["alerts_per_100"], "%.1f").c_str());
            line(buf);
        }
    }
    if (r.contains("periods")) {
        line("");
        out += periods_text(s, r["periods"]);
    }
    if (r.contains("compare")) {
        const Json& c = r["compare"];
        line("");
        line("Compared with " + c["baseline"]["name"].get<std::string>() + " v" +
             std::to_string(c["baseline"]["version"].get<int64_t>()) +
             " on the same rows (difference: this bundle minus it, paired bootstrap)");
        for (const char* key : {"accuracy", "brier", "calibration.expected_calibration_error", "calibration.slope",
                                "macro.auc_roc", "macro.pr_auc"}) {
            const Json& x = json_member(c["figures"], key);
            if (!x.is_object()) continue;
            char buf[200];
            std::snprintf(buf, sizeof buf, "  %-38s %7s vs %7s  difference %7s [%s, %s]", key, num(x["b"]).c_str(),
                          num(x["a"]).c_str(), num(x["difference"]).c_str(), num(x["ci95"][0]).c_str(),
                          num(x["ci95"][1]).c_str());
            line(buf);
        }
    }
    if (r.contains("gates")) {
        line("");
        for (const Json& g : r["gates"])
            line(std::string(g["pass"].get<bool>() ? "PASS  " : "FAIL  ") + g["reason"].get<std::string>());
    }
    return out;
}

// The period of each scored row, from the CSV's time column (--per-period).
Result<std::vector<std::string>> scored_periods(std::string_view text, const PatientFile& file,
                                                const ScoredFile& scored, const std::string& column,
                                                const std::string& unit) {
    if (!period_unit_known(unit))
        return problem("usage", "--period must be year, quarter or month, not '" + unit + "'");
    if (file.format != "csv") return problem("usage", "--per-period reads a column of a CSV file, not " + file.format);
    auto table = csv_parse(text);
    if (!table) return table.problems();
    const auto at = std::find(table->header.begin(), table->header.end(), column);
    if (at == table->header.end())
        return problem("missing_column", "the column '" + column + "' (--per-period) is not in the file", column, 0);
    const size_t c = static_cast<size_t>(at - table->header.begin());
    std::vector<std::string> out;
    std::optional<bool> dates;
    for (size_t r : scored.rows) {
        const long row = file.rows[r].row;
        if (row < 1 || static_cast<size_t>(row) > table->rows.size())
            return problem("bad_time", "row " + std::to_string(row) + " has no time", column, row);
        const auto& cells = table->rows[static_cast<size_t>(row - 1)];
        const std::string cell = c < cells.size() ? cells[c] : "";
        const auto t = time_parse(cell);
        if (!t || (dates && *dates != t->date))
            return problem("bad_time", "'" + cell + "' is not a date (YYYY-MM-DD) or a number like the other rows",
                           column, row);
        dates = t->date;
        out.push_back(period_of(t->value, t->date, unit));
    }
    return out;
}

Result<EvaluateOptions> evaluate_options(const Args& a) {
    EvaluateOptions o;
    o.format = a.get("--format").value_or("text");
    if (o.format != "json" && o.format != "text")
        return problem("usage", "--format must be text or json, not '" + o.format + "'");
    auto bootstrap = positive_int(a, "--bootstrap", o.bootstrap);
    auto seed = positive_int(a, "--seed", static_cast<int64_t>(o.seed));
    for (const auto* r : {&bootstrap, &seed})
        if (!*r) return r->problems();
    if (*bootstrap > 100000) return problem("usage", "--bootstrap must be at most 100000");
    o.bootstrap = static_cast<int>(*bootstrap);
    o.seed = static_cast<uint64_t>(*seed);
    return o;
}

int cmd_evaluate(const Args& a) {
    if (a.get("--images") || a.get("--labels") || a.get("--outputs")) return cmd_evaluate_images(a);
    auto bundle = args_require(a, "--bundle");
    auto trust = args_require(a, "--trust");
    auto data = args_require(a, "--data");
    for (const auto* r : {&bundle, &trust, &data})
        if (!*r) return fail("evaluate", r->problems());
    auto options = evaluate_options(a);
    if (!options) return fail("evaluate", options.problems());
    const auto& [format, bootstrap, seed] = *options;
    std::vector<GateRule> gates;
    for (const auto& g : a.all("--gate")) {
        auto rule = gate_parse(g);
        if (!rule) return fail("evaluate", rule.problems());
        gates.push_back(*rule);
    }

    auto model = load_model(*bundle, *trust, 0);
    if (!model) return fail("evaluate", model.problems());
    std::optional<Model> baseline;
    if (auto other = a.get("--compare")) {
        auto b = load_model(*other, *trust, 0);
        if (!b) return fail("evaluate", b.problems());
        std::vector<std::string> mine, theirs;
        for (const auto& c : model->schema.outputs.classes) mine.push_back(c.name);
        for (const auto& c : b->schema.outputs.classes) theirs.push_back(c.name);
        if (mine != theirs || b->schema.outputs.kind != model->schema.outputs.kind)
            return fail("evaluate", problem("not_comparable", *other + " predicts other classes than " + *bundle +
                                                                  "; only models of the same task can be compared"));
        baseline = std::move(*b);
    }
    for (const GateRule& g : gates) {
        if (auto f = gate_figure(model->schema, g.metric); !f) return fail("evaluate", f.problems());
        if ((g.lo.baseline || g.hi.baseline) && !baseline)
            return fail("evaluate", problem("usage", "gate '" + g.text + "' names the baseline: add --compare OTHER"));
    }

    auto text = file_read(*data, kMaxPatientFileBytes);
    if (!text) return fail("evaluate", text.problems());
    const Schema& s = model->schema;
    // The run the browser's Validate view makes (metrics/validation.h); the rows left out are
    // listed (or, with --strict, fail the file) before a refusal of what remains.
    ValidationRun run = validation_run(*model, *text, *data, ValidationRunOptions{unix_now(), bootstrap, seed, 0});
    const PatientFile& file = run.file;
    if (!file.problems.empty()) return fail("evaluate", file.problems);
    for (const auto& n : file.notices) std::fprintf(stderr, "localdx evaluate: note: %s\n", n.describe().c_str());
    const ScoredFile& scored = run.scored;
    if (!scored.left_out.empty()) {
        if (a.has("--strict")) return fail("evaluate", scored.left_out);
        fail("evaluate", scored.left_out);
    }
    if (!run.refused.empty()) return fail("evaluate", run.refused);

    Json report = std::move(run.report);
    if (auto column = a.get("--per-period")) {
        auto periods = scored_periods(*text, file, scored, *column, a.get("--period").value_or("year"));
        if (!periods) return fail("evaluate", periods.problems());
        report["periods"] = evaluate_periods(s, scored.labels, scored.probabilities, scored.observed, *periods);
        report["period_column"] = *column;
    } else if (a.get("--period")) {
        return fail("evaluate", problem("usage", "--period needs --per-period COLUMN"));
    }
    std::optional<ScoredFile> other;
    if (baseline) {
        auto o = validation_score(*baseline, file);
        if (!o) return fail("evaluate", o.problems());
        // Paired: both models on exactly the rows both could score.
        if (o->labels.size() != scored.labels.size())
            return fail("evaluate", problem("not_comparable", "the two bundles could not score the same rows (" +
                                                                  std::to_string(scored.labels.size()) + " and " +
                                                                  std::to_string(o->labels.size()) +
                                                                  "); fix the rows listed above first"));
        EvalInput mine{&s, scored.labels, scored.probabilities, bootstrap, seed, false, scored.observed};
        EvalInput theirs{&baseline->schema, scored.labels, o->probabilities, bootstrap, seed, false, scored.observed};
        Json c = compare(theirs, mine);
        c["baseline"] = bundle_lineage(*baseline);
        c["difference_is"] = "this bundle minus the baseline";
        report["compare"] = std::move(c);
        other = std::move(*o);
    }
    bool all_pass = true;
    if (!gates.empty()) {
        const Figures mine = validation_figures(s, scored.labels, scored.probabilities, scored.observed);
        Figures theirs;
        if (baseline)
            theirs = validation_figures(baseline->schema, scored.labels, other->probabilities, scored.observed);
        Json outcomes = Json::array();
        for (const GateRule& g : gates) {
            auto r = gate_check(s, g, mine, baseline ? &theirs : nullptr);
            if (!r) return fail("evaluate", r.problems());
            all_pass = all_pass && r->pass;
            outcomes.push_back({{"rule", r->rule}, {"pass", r->pass}, {"reason", r->reason}});
        }
        report["gates"] = outcomes;
    }
    const std::string out = format == "json" ? json_dump(report, 2) + "\n" : evaluate_text(s, report);
    if (auto path = a.get("--out")) {
        if (auto ok = file_write_atomic(*path, out); !ok) return fail("evaluate", ok.problems());
        std::fprintf(stderr, "localdx evaluate: %zu patients -> %s\n", scored.labels.size(), path->c_str());
    } else {
        std::fwrite(out.data(), 1, out.size(), stdout);
    }
    if (!all_pass) {
        for (const Json& g : report["gates"])
            if (!g["pass"].get<bool>())
                std::fprintf(stderr, "localdx evaluate: gate failed: %s\n", g["reason"].get<std::string>().c_str());
        return 3;
    }
    return 0;
}

}  // namespace ldx::cli
