// tests/unit/test_client.cpp — what the browser asks of the core (shared/client/core_api.h), run
// natively on the real demo bundles: loading and refusing, predicting, a file's batch table, the
// reports and when they complete, what-if edits, the ONNX Runtime cross-check, the models index.
// The same code runs as wasm in the Node tests and the browser.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "bundle/crypto.h"
#include "client/core_api.h"
#include "client/page_words.h"
#include "imaging/dicom.h"
#include "drift/image_descriptors.h"
#include "drift/report.h"
#include "support.h"

namespace ldx {
namespace {

const std::string kDemo = LOCALDX_DEMO_DIR;  // scripts/demo-bundles output (ctest fixture)
const int64_t kNow = 1800000000;

std::shared_ptr<LoadedModel> load(const std::string& task) {
    auto r = core_load_bundle(test::read_file(kDemo + "/bundles/" + task + "-1.ldxb"),
                              test::read_file(kDemo + "/keys/trust.json"), kNow, "{}");
    EXPECT_TRUE(r.model) << json_dump(r.error);
    return r.model;
}

TEST(Client, LoadsASignedBundleAndRefusesATamperedOneWithAReason) {
    auto m = load("pima-diabetes");
    ASSERT_TRUE(m);
    const Json info = core_model_info(*m);
    EXPECT_EQ(info["name"], "pima-diabetes");
    EXPECT_EQ(info["privacy"]["epsilon_per_patient"], 2.0);
    EXPECT_EQ(info["privacy"]["histograms"], 11);
    EXPECT_EQ(info["max_patient_file_bytes"], kMaxPatientFileBytes);
    std::string bytes = test::read_file(kDemo + "/bundles/pima-diabetes-1.ldxb");
    bytes[bytes.size() - 100] ^= 1;
    auto bad = core_load_bundle(bytes, test::read_file(kDemo + "/keys/trust.json"), kNow, "{}");
    EXPECT_FALSE(bad.model);
    // The one envelope; the page shows the core's words as they are: the clinician's, then why.
    EXPECT_EQ(bad.error["ok"], false);
    ASSERT_EQ(bad.error["problems"].size(), 1u);
    const Json& why = bad.error["problems"][0];
    EXPECT_EQ(why["message"].get<std::string>().rfind(bundle_refusal_words(why["code"].get<std::string>()) + " (", 0),
              0u)
        << json_dump(why);
    EXPECT_NE(why["message"].get<std::string>().find("refused"), std::string::npos);
    // A version floor above the bundle's: rollback.
    auto old = core_load_bundle(test::read_file(kDemo + "/bundles/pima-diabetes-1.ldxb"),
                                test::read_file(kDemo + "/keys/trust.json"), kNow, R"({"pima-diabetes": 2})");
    EXPECT_FALSE(old.model);
    EXPECT_EQ(old.error["problems"][0]["code"], "rollback");
    EXPECT_EQ(old.error["problems"][0]["message"].get<std::string>().rfind(
                  "This model file is older than one already used on this device, so it was refused (possible "
                  "rollback). (",
                  0),
              0u);
}

// The page runs the bundle's ONNX file beside the core and compares the outputs the model info
// names: a classifier's probabilities, a regression's value, and the margins (trees); an
// imported model's own output (no margins); none for an imaging model (its tensors are under
// "imaging"). Each name is a tensor of the bundle's ONNX graph (its bytes hold the name).
TEST(Client, TheModelInfoNamesTheOnnxOutputsThePageCompares) {
    const auto in_graph = [](const LoadedModel& m, const std::string& name) {
        return m.model.onnx.find(name) != std::string::npos;
    };
    struct Want {
        std::string task, output;
        int width;
        bool margin;
    };
    for (const Want& w : {Want{"pima-diabetes", "probabilities", 2, true}, Want{"pbc-stage", "probabilities", 4, true},
                          Want{"diabetes-progression", "value", 1, true}}) {
        auto m = load(w.task);
        ASSERT_TRUE(m);
        const Json onnx = core_model_info(*m)["onnx"];
        EXPECT_EQ(onnx["output"], w.output) << w.task;
        EXPECT_EQ(onnx["output_width"], w.width) << w.task;
        EXPECT_EQ(onnx["margin"], "margin") << w.task;
        EXPECT_EQ(onnx["input"], "input") << w.task;
        for (const char* key : {"input", "output", "margin"})
            EXPECT_TRUE(in_graph(*m, onnx[key].get<std::string>())) << w.task << " " << key;
    }
    auto regression = load("diabetes-progression");
    ASSERT_TRUE(regression);
    EXPECT_FALSE(in_graph(*regression, "probabilities"));  // the name a classifier's output has
    auto mlp = load("wdbc-mlp");
    ASSERT_TRUE(mlp && mlp->model.sampler);
    const Json onnx = core_model_info(*mlp)["onnx"];
    EXPECT_EQ(onnx["output"], mlp->model.sampler->output);
    EXPECT_TRUE(onnx["margin"].is_null());
    EXPECT_TRUE(in_graph(*mlp, onnx["output"].get<std::string>()));
    auto cnn = load("opacity-demo");
    ASSERT_TRUE(cnn && cnn->model.imaging);
    EXPECT_TRUE(core_model_info(*cnn)["onnx"].is_null());
}

TEST(Client, PredictsExplainsAndRefusesNamingTheField) {
    auto m = load("pima-diabetes");
    ASSERT_TRUE(m);
    const Json r = core_predict(*m, R"({"glucose": "148", "mass": "33,6", "age": 50, "pedigree": 0.627})", true);
    ASSERT_TRUE(r["ok"].get<bool>()) << json_dump(r);
    double total = 0;
    for (const auto& p : r["probabilities"]) total += p.get<double>();
    EXPECT_NEAR(total, 1.0, 1e-12);
    EXPECT_DOUBLE_EQ(r["values"][static_cast<size_t>(m->model.schema.find_field("mass"))].get<double>(), 33.6);
    // base + sum of contributions = the explained output's margin (exact TreeSHAP).
    const Json& e = r["explanation"];
    double sum = e["base"].get<double>();
    for (const auto& c : e["contributions"]) sum += c.get<double>();
    EXPECT_NEAR(sum, r["margin"][0].get<double>(), 1e-9);
    const Json bad = core_predict(*m, R"({"glucose": "0,5,5"})", false);
    ASSERT_FALSE(bad["ok"].get<bool>());
    EXPECT_EQ(bad["problems"][0]["field"], "glucose");
    // Shown by the field's label, as the form names it, never by its internal name.
    const std::string& label = m->model.schema.fields[static_cast<size_t>(m->model.schema.find_field("glucose"))].label;
    EXPECT_EQ(bad["problems"][0]["label"], label);
    EXPECT_EQ(bad["problems"][0]["text"].get<std::string>().substr(0, label.size() + 2), label + ": ");
}

// One prediction's JSON (shared/predict/prediction_json.h), as the CLI and the page both give it:
// classes in the schema's order, the explanation of the predicted class's output in its words,
// every output's base + contributions equal to its margin, the points adding up to the probability.
// The minimum-information rule on the demo models (their trained schemas carry it): the page's
// form with only the age gets no verdict but the fields to enter, by their labels; an empty
// diabetes-progression form gets no value or interval.
TEST(Client, ANearEmptyFormGetsNoVerdictButTheFieldsToEnter) {
    auto m = load("pima-diabetes");
    ASSERT_TRUE(m && m->model.schema.minimum_information);
    const Json r = core_predict(*m, R"({"age": 45})", true);
    EXPECT_FALSE(r["ok"].get<bool>());
    EXPECT_FALSE(r.contains("probabilities"));
    EXPECT_FALSE(r.contains("conformal"));
    EXPECT_EQ(r["problems"][0]["code"], "incomplete");
    const std::string message = r["incomplete"]["message"];
    EXPECT_EQ(message.substr(0, 6), "Enter ");
    EXPECT_NE(message.find("Body mass index"), std::string::npos) << message;
    EXPECT_EQ(r["incomplete"]["fields"][0], "glucose");
    EXPECT_EQ(r["incomplete"]["labels"][0], m->model.schema.fields[1].label);
    // Each field to enter is marked on the form.
    EXPECT_EQ(r["problems"][1]["field"], "glucose");
    EXPECT_EQ(r["problems"][1]["message"], "needed for a result");
    // The same record in a file: that row is listed with the same message, the others scored.
    const Json batch = core_predict_batch(*m, "age,glucose,mass\n45,,\n45,148,33.6\n", false, kNow);
    ASSERT_EQ(batch["rows"].size(), 1u);
    ASSERT_EQ(batch["problems"].size(), 1u);
    EXPECT_EQ(batch["problems"][0]["message"], message);
    EXPECT_EQ(batch["problems"][0]["row"], 1);
    // The model card says the rule.
    EXPECT_EQ(information_words(m->model.schema).substr(0, 9), "No result");
    // The batch worker's warm-up rows leave values out, but never below the rule: every row is scored.
    const Json warm = core_predict_batch(*m, core_warm_up_csv(*m, 300), false, kNow);
    EXPECT_EQ(warm["rows"].size(), 300u);
    EXPECT_EQ(warm["problems"].size(), 0u) << json_dump(warm["problems"]);

    auto d = load("diabetes-progression");
    ASSERT_TRUE(d && d->model.schema.minimum_information);
    const Json e = core_predict(*d, "{}", true);
    EXPECT_FALSE(e["ok"].get<bool>());
    EXPECT_FALSE(e.contains("value"));
    EXPECT_FALSE(e.contains("conformal"));
    EXPECT_EQ(e["problems"][0]["code"], "incomplete");
}

TEST(PredictionJson, OneShapeForEveryOutputAndItsWords) {
    for (const std::string task : {"pima-diabetes", "pbc-stage"}) {
        auto m = load(task);
        ASSERT_TRUE(m);
        const Schema& s = m->model.schema;
        RawRecord rec;  // every number in the middle of its training range, every category its first level
        for (const Field& f : s.fields) {
            RawValue v;
            if (f.numeric() && std::isfinite(f.typical_min) && std::isfinite(f.typical_max)) {
                v.kind = RawValue::Kind::number;
                v.number = f.type == FieldType::integer ? std::round((f.typical_min + f.typical_max) / 2)
                                                        : (f.typical_min + f.typical_max) / 2;
            } else if (f.type == FieldType::category) {
                v.kind = RawValue::Kind::text;
                v.text = f.levels.at(0).value;
            } else if (f.type == FieldType::boolean) {
                v.kind = RawValue::Kind::boolean;
            }
            if (v.kind != RawValue::Kind::missing) rec.push_back({f.name, v});
        }
        auto p = model_predict(m->model, rec, true);
        ASSERT_TRUE(p.ok()) << p.error().describe();
        const Json j = prediction_json(m->model, *p, true);
        ASSERT_TRUE(j["ok"].get<bool>());
        ASSERT_EQ(j["classes"].size(), s.outputs.classes.size());
        for (size_t k = 0; k < s.outputs.classes.size(); ++k) EXPECT_EQ(j["classes"][k], s.outputs.classes[k].name);
        EXPECT_EQ(j["label"], s.outputs.classes[static_cast<size_t>(j["predicted"].get<int>())].label) << task;
        const Json& ex = j["explanation"];
        const int out = ex["output"].get<int>();
        const std::string explained = s.outputs.classes[static_cast<size_t>(s.num_classes() == 2 ? 1 : out)].label;
        EXPECT_NE(ex["of"].get<std::string>().find(explained), std::string::npos) << ex["of"];
        ASSERT_EQ(ex["outputs"].size(), j["margin"].size());
        for (size_t o = 0; o < ex["outputs"].size(); ++o) {
            double sum = ex["outputs"][o]["base"].get<double>();
            ASSERT_EQ(ex["outputs"][o]["contributions"].size(), s.features.size());
            for (const auto& c : ex["outputs"][o]["contributions"]) sum += c.get<double>();
            EXPECT_NEAR(sum, j["margin"][o].get<double>(), 1e-9) << task << " output " << o;
        }
        double points = ex["points"]["base"].get<double>();
        for (const auto& f : ex["points"]["fields"]) points += f.get<double>();
        const size_t shown = s.num_classes() == 2 ? 1 : static_cast<size_t>(j["predicted"].get<int>());
        EXPECT_NEAR(points, j["probabilities"][shown].get<double>(), 1e-9) << task;
        // Without explain: no explanation, the rest unchanged.
        const Json plain = prediction_json(m->model, *p, false);
        EXPECT_FALSE(plain.contains("explanation"));
        EXPECT_EQ(plain["probabilities"], j["probabilities"]);
    }
}

TEST(Client, ABatchTableFollowsItsLayoutAndItsReportCompletesAtK) {
    auto m = load("pima-diabetes");
    ASSERT_TRUE(m);
    std::string csv = "id,pregnant,glucose,pressure,triceps,insulin,mass,pedigree,age\n";
    for (int i = 0; i < 30; ++i)
        csv += "p" + std::to_string(i) + "," + std::to_string(i % 5) + "," + std::to_string(90 + i) + ",70,,," +
               std::to_string(25 + i % 10) + ",0.5," + std::to_string(25 + i) + "\n";
    csv += "bad,1,abc,70,,,30,0.5,40\n";
    const BatchFile file = core_open_batch(*m, csv, kNow);
    const BatchTable t = core_batch_table(*m, file, BatchPart{0, 1});
    const BatchLayout l = batch_layout(m->model.schema);
    ASSERT_EQ(t.meta["rows"], 30);
    ASSERT_EQ(t.table.size(), 30 * l.stride());
    EXPECT_EQ(t.meta["problems"].size(), 1u);
    EXPECT_EQ(t.meta["layout"]["stride"], l.stride());
    for (size_t row = 0; row < 30; ++row) {
        const double* r = t.table.data() + row * l.stride();
        EXPECT_NEAR(r[l.probability(0)] + r[l.probability(1)], 1.0, 1e-12);
        EXPECT_EQ(r[l.value(static_cast<size_t>(m->model.schema.find_field("glucose")))], 90.0 + row);
    }
    EXPECT_FALSE(t.meta.contains("reports"));  // none asked for
    // The reports, made from the predictions while they are scored: 30 patients in three parts of
    // 10 (each below k = 20) join into one complete report with the pending one of 5 kept before.
    const std::string day = "2026-11-29";
    Json parts = Json::array();
    for (size_t i = 0; i < 3; ++i) {
        const BatchTable part = core_batch_table(*m, file, BatchPart{i, 3}, BatchReport{day, 1000 + i});
        ASSERT_TRUE(part.meta["reports"]["pending"].is_object());
        EXPECT_EQ(part.meta["reports"]["pending"]["n"], part.meta["rows"]);
        EXPECT_EQ(part.meta["reports"]["complete"].size(), 0u);
        parts.push_back(part.meta["reports"]);
    }
    Json five = parts[0]["pending"];  // a pending report of another file, kept on the device
    const Json seen = core_report_merge(*m, json_dump(five), json_dump(parts), day);
    ASSERT_EQ(seen["complete"].size(), 1u);
    EXPECT_EQ(seen["complete"][0]["n"], 30u + five["n"].get<uint64_t>());
    EXPECT_TRUE(seen["pending"].is_null());
    // Every histogram of the report counts what the predictions gave: the predicted-class counts
    // of the merged report are the parts' own, added.
    uint64_t predicted = 0;
    for (const auto& c : seen["complete"][0]["predicted"]) predicted += c.get<uint64_t>();
    uint64_t parts_predicted = 0;
    for (const auto& p : parts)
        for (const auto& c : p["pending"]["predicted"]) parts_predicted += c.get<uint64_t>();
    for (const auto& c : five["predicted"]) parts_predicted += c.get<uint64_t>();
    EXPECT_EQ(predicted, parts_predicted);
    // Below k, nothing is complete; another day's or a damaged part is left out.
    const Json one = core_report_merge(*m, "", json_dump(Json::array({parts[0]})), day);
    EXPECT_EQ(one["complete"].size(), 0u);
    EXPECT_EQ(one["pending"]["n"], parts[0]["pending"]["n"]);
    const Json other = core_report_merge(*m, "", json_dump(Json::array({parts[0]})), "2026-11-30");
    EXPECT_TRUE(other["pending"].is_null());
    Json damaged = parts;
    damaged[1]["pending"]["predicted"] = Json::array({1});
    const Json kept = core_report_merge(*m, "", json_dump(damaged), day);
    EXPECT_EQ(kept["complete"].size(), 1u);
    EXPECT_EQ(kept["complete"][0]["n"], 20u);  // parts 0 and 2
}

// The batch worker scores a file in the parts the core counts, on two threads in any order, and
// the core joins them: the joined table is the whole file's, bit for bit, with one list of
// warning kinds (a part's own indices re-numbered), the ids, every problem in row order and the
// parts' reports in part order. Parts out of order, missing or of another count are refused.
TEST(Client, AFilesPartsJoinIntoTheWholeFilesTableAndTheirCountIsTheCores) {
    EXPECT_EQ(core_batch_part_count(0), 1u);
    EXPECT_EQ(core_batch_part_count(kBatchPartRows), 1u);
    EXPECT_EQ(core_batch_part_count(kBatchPartRows + 1), 2u);
    EXPECT_EQ(core_batch_part_count(10000), 10000 / kBatchPartRows);
    EXPECT_EQ(core_batch_part_count(kBatchPartRows * kMaxBatchParts * 3), kMaxBatchParts);

    auto m = load("pima-diabetes");
    ASSERT_TRUE(m);
    // Rows 0-9 leave the pressure out (a warning), rows 10-19 the triceps too, 20-29 give both:
    // each part of 3 has its own warnings, numbered from 0 in the part.
    std::string csv = "id,pregnant,glucose,pressure,triceps,insulin,mass,pedigree,age\n";
    for (int i = 0; i < 30; ++i)
        csv += "p" + std::to_string(i) + ",1," + std::to_string(90 + i) + "," + (i < 20 ? "" : "70") + "," +
               (i >= 10 && i < 20 ? "" : "20") + ",," + std::to_string(25 + i % 10) + ",0.5," + std::to_string(25 + i) +
               "\n";
    csv.insert(csv.find("\np15,") + 1, "bad,1,abc,70,,,30,0.5,40\n");  // a problem in the middle part
    const BatchFile file = core_open_batch(*m, csv, kNow);
    const std::string day = "2026-11-29";
    std::vector<BatchTable> whole;
    whole.push_back(core_batch_table(*m, file, BatchPart{0, 1}, BatchReport{day, 7}));
    auto one = core_batch_join(whole);
    ASSERT_TRUE(one) << one.error().describe();
    std::vector<BatchTable> parts;
    for (size_t i = 0; i < 3; ++i)
        parts.push_back(core_batch_table(*m, file, BatchPart{i, 3}, BatchReport{day, 7 + i}));
    EXPECT_NE(json_dump(parts[0].meta["warning_kinds"]), json_dump(parts[1].meta["warning_kinds"]));
    auto joined = core_batch_join(parts);
    ASSERT_TRUE(joined) << joined.error().describe();
    // Bit for bit (missing values are NaN, which == does not equal).
    const auto same_bits = [](const auto& a, const auto& b) {
        return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(a[0])) == 0;
    };
    EXPECT_TRUE(same_bits(joined->table, one->table));
    EXPECT_TRUE(same_bits(joined->features, one->features));
    EXPECT_TRUE(same_bits(joined->margins, one->margins));
    EXPECT_EQ(joined->table.size(), 30 * batch_layout(m->model.schema).stride());
    EXPECT_EQ(joined->meta["rows"], 30);
    EXPECT_EQ(joined->meta["problems"].size(), 1u);
    EXPECT_EQ(joined->meta["patients"][29], "p29");
    EXPECT_EQ(joined->meta["part"], (Json{{"index", 0}, {"count", 1}, {"rows_in_file", 31}}));
    // Everything but the reports (randomized from each part's own seed) is the whole file's.
    ASSERT_EQ(joined->meta["part_reports"].size(), 3u);
    EXPECT_EQ(one->meta["part_reports"].size(), 1u);
    // Each part's rows, where the part's numbers start in the table (one part: all of them).
    EXPECT_EQ(one->meta["part_rows"], Json::array({30}));
    ASSERT_EQ(joined->meta["part_rows"].size(), 3u);
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(joined->meta["part_rows"][i], parts[i].meta["rows"]);
    // The bad row is one of part 1's rows of the file, not of its table.
    EXPECT_NE(joined->meta["part_rows"][0], joined->meta["part_rows"][1]);
    Json a = joined->meta, b = one->meta;
    for (const char* k : {"part_reports", "part_rows"}) {
        a.erase(k);
        b.erase(k);
    }
    EXPECT_EQ(json_dump(a), json_dump(b));
    uint64_t reported = 0;
    for (const Json& r : joined->meta["part_reports"]) reported += r["pending"]["n"].get<uint64_t>();
    EXPECT_EQ(reported, 30u);
    // Each row's warnings name the same fields as in its own part.
    const auto warned = [](const Json& meta, size_t row, size_t first) {
        std::vector<std::string> fields;
        for (const Json& k : meta["warnings"][row - first])
            fields.push_back(meta["warning_kinds"][k.get<size_t>()]["field"]);
        return fields;
    };
    const size_t first_of_2 = parts[0].meta["rows"].get<size_t>() + parts[1].meta["rows"].get<size_t>();
    EXPECT_EQ(warned(joined->meta, 29, 0), warned(parts[2].meta, 29, first_of_2));
    EXPECT_EQ(warned(joined->meta, 15, 0), warned(parts[1].meta, 15, parts[0].meta["rows"].get<size_t>()));
    EXPECT_EQ(warned(joined->meta, 15, 0).size(), warned(joined->meta, 5, 0).size() + 1);  // the triceps too

    // Out of order, missing, of another count, or not the core's: refused, naming the part.
    std::vector<BatchTable> swapped{parts[1], parts[0], parts[2]};
    auto refused = core_batch_join(swapped);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, "bad_part");
    EXPECT_EQ(refused.error().field, "part");
    EXPECT_NE(refused.error().message.find("part 0 of 3"), std::string::npos) << refused.error().message;
    EXPECT_FALSE(core_batch_join(std::span(parts).first(2)));
    EXPECT_FALSE(core_batch_join(std::span<const BatchTable>{}));
    std::vector<BatchTable> damaged = parts;
    damaged[2].meta = Json(nullptr);
    EXPECT_FALSE(core_batch_join(damaged));
    // A part whose numbers are not its rows': a row's table cut short, a margin too many, another
    // width of features.
    std::vector<BatchTable> cut = parts, extra = parts, wider = parts;
    cut[1].table.pop_back();
    extra[0].margins.push_back(0);
    for (size_t r = 0; r < wider[2].meta["rows"].get<size_t>(); ++r) wider[2].features.push_back(0);
    for (const auto* bad : {&cut, &extra, &wider}) {
        auto r = core_batch_join(*bad);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, "bad_part");
    }
}

TEST(Client, OnePatientAtATimeCompletesAReportAtKAndWhatIfEditsAreOnePatient) {
    auto m = load("pima-diabetes");
    ASSERT_TRUE(m);
    const int k = m->model.schema.privacy.k_min;
    std::string pending;
    for (int i = 0; i < k; ++i) {
        const Json p =
            core_predict(*m, "{\"glucose\": " + std::to_string(100 + i) + ", \"age\": 40, \"mass\": 30}", false);
        const Json r = core_report_add(*m, pending, json_dump(p), "2026-11-29", static_cast<uint64_t>(i + 1));
        if (i + 1 < k) {
            ASSERT_EQ(r["complete"].size(), 0u) << i;
            ASSERT_EQ(r["pending"]["n"], i + 1);
            pending = json_dump(r["pending"]);
        } else {
            ASSERT_EQ(r["complete"].size(), 1u);
            EXPECT_EQ(r["complete"][0]["n"], k);
            EXPECT_TRUE(r["pending"].is_null());
        }
    }
    const Json a = core_predict(*m, R"({"glucose": 120, "age": 40, "mass": 30})", false);
    const Json b = core_predict(*m, R"({"glucose": 190, "age": 40, "mass": 30})", false);
    const Json c = core_predict(*m, R"({"glucose": 95, "age": 61, "mass": 22})", false);
    EXPECT_TRUE(core_same_patient(json_dump(a), json_dump(b))["same"].get<bool>());
    EXPECT_FALSE(core_same_patient(json_dump(a), json_dump(c))["same"].get<bool>());
    EXPECT_FALSE(core_same_patient("\xff", json_dump(c))["same"].get<bool>());
}

TEST(Client, AnImportedModelWhoseOutputsDifferFromThePublishedOnesIsRefusedInTheClinicianWords) {
    auto m = load("wdbc-mlp");
    ASSERT_TRUE(m && m->model.sampler);
    const auto& sampler = *m->model.sampler;
    const size_t rows = sampler.background_rows(), width = static_cast<size_t>(sampler.output_width);
    const size_t k = static_cast<size_t>(m->model.schema.num_classes());
    std::vector<float> published(rows * width);
    for (size_t i = 0; i < rows; ++i)
        for (size_t c = 0; c < width; ++c)
            published[i * width + c] =
                static_cast<float>(sampler.background_probabilities[i * k + (width == 1 ? 1 : c)]);
    EXPECT_TRUE(core_check_background(*m, published)["ok"].get<bool>());
    published[0] += 0.2f;
    const Json refused = core_check_background(*m, published);
    EXPECT_FALSE(refused["ok"].get<bool>());
    ASSERT_EQ(refused["problems"].size(), 1u);
    EXPECT_EQ(refused["problems"][0]["code"], "model_mismatch");
    EXPECT_EQ(refused["problems"][0]["message"].get<std::string>().rfind(bundle_refusal_words("model_mismatch"), 0),
              0u);
    // Outputs that do not fit the model: refused with a reason too, never a bare "ok": false.
    const Json unfit = core_check_background(*m, std::vector<float>(3));
    EXPECT_FALSE(unfit["ok"].get<bool>());
    EXPECT_EQ(unfit["problems"][0]["code"], "bad_check");
}

TEST(Client, TheCrossCheckWithholdsAResultOnlyWhenONNXRuntimeDisagrees) {
    auto m = load("pima-diabetes");
    ASSERT_TRUE(m);
    const Json r = core_predict(*m, R"({"glucose": 148, "age": 50, "mass": 33.6})", true);
    std::vector<float> probabilities, margin;
    for (const auto& p : r["probabilities"]) probabilities.push_back(p.get<float>());
    for (const auto& x : r["margin"]) margin.push_back(x.get<float>());
    const Json agree = core_check(*m, json_dump(r), probabilities, margin);
    EXPECT_TRUE(agree["check"]["ok"].get<bool>()) << json_dump(agree);
    probabilities[1] += 0.01f;
    probabilities[0] -= 0.01f;
    const Json differ = core_check(*m, json_dump(r), probabilities, margin);
    EXPECT_FALSE(differ["ok"].get<bool>());
    EXPECT_EQ(differ["problems"][0]["code"], "check_failed");
}

// The core reads DICOM through the decoder the program hands it (the core itself links no DICOM
// library): DCMTK's, none, or any other with the same signature.
Result<Pixels> chest_pa(std::string_view, int frame) {
    Pixels p;
    p.width = p.height = 64;
    std::vector<float> values(64 * 64, static_cast<float>(10 * frame));
    values[0] = 255;
    p.values = Samples(std::move(values));
    p.frames = 3;
    p.modality = "OT", p.body_part = "CHEST", p.view = "PA";
    return p;
}

TEST(Client, TheDicomDecoderIsHandedInAndWithoutOneDicomIsRefusedWithTheReason) {
    auto m = load("opacity-demo");
    ASSERT_TRUE(m);
    const std::string ct = test::read_file("/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm");
    // DCMTK decodes pydicom's CT file; the demo model takes chest radiographs only, so the header
    // read by the decoder refuses it.
    const ImageStart dcmtk = core_image_start_dicom(*m, &dicom_decode, ct, 0);
    ASSERT_FALSE(dcmtk.job);
    EXPECT_EQ(dcmtk.error["problems"][0]["code"], "out_of_scope") << json_dump(dcmtk.error);
    EXPECT_EQ(dcmtk.header["modality"], "CT");
    const ImageStart none = core_image_start_dicom(*m, nullptr, ct, 0);
    ASSERT_FALSE(none.job);
    EXPECT_EQ(none.error["problems"][0]["code"], "unsupported_dicom");
    EXPECT_NE(none.error["problems"][0]["message"].get<std::string>().find("no DICOM decoder"), std::string::npos);
    const ImageStart other = core_image_start_dicom(*m, &chest_pa, "any bytes", 2);
    ASSERT_TRUE(other.job) << json_dump(other.error);
    EXPECT_EQ(other.header["frames"], 3);
    EXPECT_EQ(other.header["frame"], 2);
    EXPECT_EQ(other.header["view"], "PA");
}

// An image's drift values, as the page sends them to the report (web/reporting.js reportImage):
// the result carries the image's descriptors (no pixels), and core_report_add counts them under
// the image descriptors' names.
Result<Pixels> chest_pa_spaced(std::string_view bytes, int frame) {
    auto p = chest_pa(bytes, frame);
    p->pixel_spacing = 0.14;
    p->bits_stored = 12;
    return p;
}

TEST(Client, AnImagesResultCarriesItsDescriptorsAndTheReportCountsThem) {
    auto m = load("opacity-demo");
    ASSERT_TRUE(m && m->model.imaging);
    ImageStart s = core_image_start_dicom(*m, &chest_pa_spaced, "any bytes", 0);
    ASSERT_TRUE(s.job) << json_dump(s.error);
    ImageJob& job = *s.job;
    const ImageModel& im = *m->model.imaging;
    const ImageInput& in = *m->model.schema.image;
    const size_t image_size = static_cast<size_t>(in.channels * in.height * in.width);
    while (core_image_pending(*m, job) > 0) {
        const bool first = job.stage == ImageJob::Stage::image;
        const size_t count = core_image_inputs(*m, job, kMaxImagesPerRun).size() / image_size;
        ASSERT_GT(count, 0u);
        const std::vector<float> probabilities(count * static_cast<size_t>(im.probability_width), 0.8f);
        const std::vector<float> map(
            first && im.map == MapKind::cam ? count * static_cast<size_t>(im.map_height * im.map_width) : 0, 0.5f);
        const Json given = core_image_give(*m, job, probabilities, map, -1);
        ASSERT_TRUE(given["ok"].get<bool>()) << json_dump(given);
    }
    const Json r = core_image_result(*m, job);
    ASSERT_TRUE(r["ok"].get<bool>()) << json_dump(r);
    const Json& v = r.at("values");
    ASSERT_EQ(v.size(), kImageDescriptors);
    EXPECT_EQ(v[0], 0.0);  // OT, CHEST, PA: the demonstration's listed values
    EXPECT_EQ(v[1], 0.0);
    EXPECT_EQ(v[2], 0.0);
    EXPECT_EQ(v[3], 64.0);
    EXPECT_EQ(v[4], 0.14);
    EXPECT_EQ(v[5], 12.0);
    EXPECT_TRUE(v[6].is_number() && v[7].is_number());
    const Json added = core_report_add(*m, "", json_dump(r), "2026-12-05", 1);
    const Json& pending = added.at("pending");
    ASSERT_TRUE(pending.is_object()) << json_dump(added);
    EXPECT_EQ(pending["n"], 1);
    ASSERT_EQ(pending["fields"].size(), kImageDescriptors);
    uint64_t counted = 0;
    for (const auto& [name, counts] : pending["fields"].items()) {
        EXPECT_EQ(name.rfind("image.", 0), 0u) << name;
        for (const auto& c : counts) counted += c.get<uint64_t>();
    }
    for (const auto& c : pending["predicted"]) counted += c.get<uint64_t>();
    for (const auto& h : pending["probabilities"])
        for (const auto& c : h) counted += c.get<uint64_t>();
    EXPECT_EQ(counted, 1u);  // the image counted once, in one histogram
}

// The image and its map are shown before the deletion curve's runs are made (web/batch-worker.js):
// the result is refused while the map's run is pending, then given without the curve ("pending"),
// then with it; the probabilities and the map are the same in both.
TEST(Client, AnImagesResultIsGivenWithItsMapBeforeTheDeletionCurve) {
    auto m = load("opacity-demo");
    ASSERT_TRUE(m && m->model.imaging);
    ImageStart s = core_image_start_dicom(*m, &chest_pa, "any bytes", 0);
    ASSERT_TRUE(s.job) << json_dump(s.error);
    ImageJob& job = *s.job;
    const ImageModel& im = *m->model.imaging;
    ASSERT_EQ(im.map, MapKind::cam);
    const Json before = core_image_result(*m, job);
    ASSERT_FALSE(before["ok"].get<bool>());
    EXPECT_EQ(before["problems"][0]["code"], "pending");
    const size_t cells = static_cast<size_t>(im.map_height * im.map_width);
    std::vector<float> map(cells, 0.0f);
    for (size_t i = 0; i < cells; ++i) map[i] = static_cast<float>(i % 7) - 2.0f;
    ASSERT_EQ(core_image_inputs(*m, job, 1).size(), job.tensor.data.size());
    const std::vector<float> first(static_cast<size_t>(im.probability_width), 0.8f);
    ASSERT_TRUE(core_image_give(*m, job, first, map, -1)["ok"].get<bool>());
    const Json shown = core_image_result(*m, job);
    ASSERT_TRUE(shown["ok"].get<bool>()) << json_dump(shown);
    EXPECT_TRUE(shown["deletion"]["pending"].get<bool>());
    EXPECT_TRUE(shown["deletion"]["ranked"].empty() && shown["deletion"]["random"].empty());
    EXPECT_EQ(shown["runs"], 1);
    const size_t left = core_image_pending(*m, job);
    EXPECT_EQ(left, static_cast<size_t>(2 * (kDeletionSteps + 1)));
    const std::vector<float> curve(left * static_cast<size_t>(im.probability_width), 0.3f);
    ASSERT_EQ(core_image_inputs(*m, job, kMaxImagesPerRun).size(), left * job.tensor.data.size());
    ASSERT_TRUE(core_image_give(*m, job, curve, {}, -1)["ok"].get<bool>());
    const Json done = core_image_result(*m, job);
    ASSERT_TRUE(done["ok"].get<bool>()) << json_dump(done);
    EXPECT_FALSE(done["deletion"]["pending"].get<bool>());
    EXPECT_EQ(done["deletion"]["ranked"].size(), static_cast<size_t>(kDeletionSteps + 1));
    EXPECT_EQ(done["probabilities"], shown["probabilities"]);
    EXPECT_EQ(done["map"], shown["map"]);
    EXPECT_EQ(done["runs"], 1 + 2 * (kDeletionSteps + 1));
}

// The page asks the core which decoder an image file goes to, from its first bytes; a format the
// model does not read is refused in the clinician's words, naming what it reads and what the
// file is. The DICOM path itself refuses the same way.
TEST(Client, AnImageFilesFormatIsToldFromItsBytesAndCheckedAgainstTheModel) {
    auto m = load("opacity-demo");
    ASSERT_TRUE(m && m->model.schema.image);
    // A 1 x 1 grey PNG and the segments of a 1 x 1 JPEG: whole files, as the page gives them.
    const std::string png = test::tiny_png(), jpeg = test::tiny_jpeg();
    const std::string dicom = std::string(128, '\0') + "DICM";
    EXPECT_EQ(core_image_kind(*m, png)["format"], "png");
    EXPECT_EQ(core_image_kind(*m, jpeg)["format"], "jpeg");
    EXPECT_EQ(core_image_kind(*m, dicom)["format"], "dicom");
    EXPECT_EQ(core_image_kind(*m, png.substr(0, 4))["format"], "dicom");  // not a whole PNG signature
    // What the browser copies into wasm for the check: a PNG's or JPEG's every byte, a DICOM
    // file's first few, which give the same answer as the whole file.
    EXPECT_EQ(core_image_kind_needs(png.substr(0, kImageSniffBytes)), SIZE_MAX);
    EXPECT_EQ(core_image_kind_needs(jpeg.substr(0, kImageSniffBytes)), SIZE_MAX);
    const std::string big_dicom = dicom + std::string(size_t{1} << 20, '\x5a');
    const size_t needs = core_image_kind_needs(big_dicom.substr(0, kImageSniffBytes));
    EXPECT_EQ(needs, kImageSniffBytes);
    EXPECT_EQ(core_image_kind(*m, big_dicom.substr(0, needs)), core_image_kind(*m, big_dicom));
    // A PNG or JPEG file cut short is refused with the reason `localdx preprocess` gives
    // (imaging/raster_check.h; each case in ImageFiles.*).
    const Json cut = core_image_kind(*m, png.substr(0, 50));
    ASSERT_FALSE(cut["ok"].get<bool>());
    EXPECT_EQ(cut["problems"][0]["message"],
              "This PNG file cannot be read: it ends early (its IDAT chunk is cut off).");
    EXPECT_EQ(core_image_kind(*m, jpeg.substr(0, 25))["problems"][0]["message"],
              "This JPEG file cannot be read: it ends early (it has no end of image marker).");

    m->model.schema.image->formats = {ImageFormat::dicom};
    const Json refused = core_image_kind(*m, png);
    ASSERT_FALSE(refused["ok"].get<bool>());
    EXPECT_EQ(refused["problems"][0]["code"], "unsupported_image");
    EXPECT_EQ(refused["problems"][0]["message"], "This model reads DICOM files only; this file is a PNG image.");
    EXPECT_TRUE(core_image_kind(*m, dicom)["ok"].get<bool>());

    m->model.schema.image->formats = {ImageFormat::png, ImageFormat::jpeg};
    const Json not_dicom = core_image_kind(*m, dicom);
    ASSERT_FALSE(not_dicom["ok"].get<bool>());
    EXPECT_EQ(
        not_dicom["problems"][0]["message"],
        "This model reads PNG or JPEG files only; this file is not a PNG or JPEG image (it may be a DICOM file).");
    const ImageStart start = core_image_start_dicom(*m, &dicom_decode, dicom, 0);
    EXPECT_FALSE(start.job);
    EXPECT_EQ(start.error["problems"][0], not_dicom["problems"][0]);

    auto tabular = load("pima-diabetes");
    ASSERT_TRUE(tabular);
    EXPECT_EQ(core_image_kind(*tabular, png)["problems"][0]["code"], "not_imaging");
}

// The limits on what the page passes are the core's: an image's sides (the preprocessing's own), a DICOM frame, images
// per ONNX Runtime run, warm-up rows. Outside them an image is refused with its reason, a run holds one image, a
// warm-up file only the header.
TEST(Client, TheLimitsOnWhatThePagePassesAreTheCores) {
    auto m = load("opacity-demo");
    ASSERT_TRUE(m && m->model.schema.image);
    const int64_t side = 64;
    std::vector<uint8_t> rgba(static_cast<size_t>(side * side * 4));
    for (size_t i = 0; i < rgba.size(); ++i) rgba[i] = i % 4 == 3 ? 255 : static_cast<uint8_t>((i / 4) % 251);
    for (const auto& [w, h] : {std::pair<int64_t, int64_t>{0, side}, {side, int64_t{kMaxImageSide} + 1}, {-1, -1}}) {
        const ImageStart s = core_image_start(*m, rgba, w, h);
        ASSERT_FALSE(s.job) << w << " x " << h;
        EXPECT_EQ(s.error["problems"][0]["code"], "bad_image");
        EXPECT_EQ(s.error["problems"][0]["message"], *image_size_refusal(w, h));
    }
    // At the limit the size is allowed, and the pixels must match it (a reason of its own).
    const ImageStart wide = core_image_start(*m, rgba, int64_t{kMaxImageSide}, 1);
    ASSERT_FALSE(wide.job);
    EXPECT_EQ(wide.error["problems"][0]["message"], "the decoded image's size does not match its pixels");
    const ImageStart s = core_image_start(*m, rgba, side, side);
    ASSERT_TRUE(s.job) << json_dump(s.error);
    const auto& in = *m->model.schema.image;
    const size_t one = static_cast<size_t>(in.channels * in.height * in.width);
    EXPECT_EQ(core_image_pending(*m, *s.job), 1u);
    EXPECT_EQ(core_image_inputs(*m, *s.job, 1).size(), one);
    EXPECT_EQ(core_image_inputs(*m, *s.job, 0), core_image_inputs(*m, *s.job, 1));
    EXPECT_EQ(core_image_inputs(*m, *s.job, kMaxImagesPerRun + 1).size(), one);
    EXPECT_EQ(core_image_inputs(*m, *s.job, kMaxImagesPerRun).size(), one);  // the stage has one image
    for (const int64_t frame : {int64_t{-1}, kMaxDicomFrames}) {
        const ImageStart d = core_image_start_dicom(*m, &dicom_decode, std::string(128, '\0') + "DICM", frame);
        ASSERT_FALSE(d.job);
        EXPECT_EQ(d.error["problems"][0]["code"], "bad_frame");
        EXPECT_EQ(d.error["problems"][0]["field"], "frame");
    }

    auto t = load("pima-diabetes");
    ASSERT_TRUE(t);
    const auto lines = [](const std::string& csv) { return std::count(csv.begin(), csv.end(), '\n'); };
    EXPECT_EQ(lines(core_warm_up_csv(*t, 3)), 4);
    EXPECT_EQ(lines(core_warm_up_csv(*t, -1)), 1);
    EXPECT_EQ(lines(core_warm_up_csv(*t, kMaxWarmUpRows + 1)), 1);
}

// When a report is sent and how long it is kept: one rule (drift/report.h) that the page reads
// from the model info and reportTiming, the app says in words and the server applies to the days
// it takes.
TEST(Client, ReportTimingIsOneRuleThePageTheWordsAndTheServerRead) {
    const int64_t noon = 1800000000 - 1800000000 % 86400 + 12 * 3600;  // 2027-01-15T12:00:00Z
    const ReportDays d = report_days(noon);
    EXPECT_EQ(utc_day(noon), "2027-01-15");
    EXPECT_EQ(d.oldest, "2027-01-14");
    EXPECT_EQ(d.newest, "2027-01-16");
    EXPECT_TRUE(report_day_current("2027-01-14", noon));
    EXPECT_TRUE(report_day_current("2027-01-16", noon));
    EXPECT_FALSE(report_day_current("2027-01-13", noon));
    EXPECT_FALSE(report_day_current("2027-01-17", noon));
    EXPECT_FALSE(report_day_current("2027-01-15x", noon));
    EXPECT_FALSE(report_day_current("", noon));
    // Just before midnight the oldest day is still the day before.
    EXPECT_EQ(report_days(noon + 12 * 3600 - 1).oldest, "2027-01-14");
    EXPECT_EQ(report_days(noon + 12 * 3600).oldest, "2027-01-15");

    const Json t = report_timing_json(noon);
    EXPECT_EQ(t["send_after_seconds"], Json::array({60, 6 * 3600}));
    EXPECT_EQ(t["oldest_day"], d.oldest);
    EXPECT_EQ(t["newest_day"], d.newest);
    EXPECT_EQ(report_timing_words(),
              "A complete report leaves at a random moment between 1 minute and 6 hours later, so its arrival does "
              "not show when you worked; reports not sent by the next day are deleted.");
    auto m = load("pima-diabetes");
    ASSERT_TRUE(m);
    const Json privacy = core_model_info(*m)["privacy"];
    EXPECT_EQ(privacy["send_after_seconds"], t["send_after_seconds"]);
    EXPECT_EQ(privacy["hold_seconds"], kPatientHoldSeconds);
    EXPECT_EQ(privacy["keep_days"], 1);
    EXPECT_FALSE(privacy.contains("oldest_day"));  // a time of day, not the model's: reportTiming(now)
}

TEST(Client, AModelsIndexThatIsNotSignedIsRefused) {
    const Json v = core_verify_index("{\"signed\": {}}", test::read_file(kDemo + "/keys/trust.json"), kNow, 0);
    EXPECT_FALSE(v["ok"].get<bool>());
    ASSERT_EQ(v["problems"].size(), 1u);  // the one envelope
    EXPECT_TRUE(v["problems"][0]["message"].is_string());
    EXPECT_FALSE(core_verify_index("\xff", "\xed\xa0\x80", kNow, 0)["ok"].get<bool>());
}

// A batch of a model only ONNX Runtime runs, finished with outputs that do not fit: no rows, and
// the meta is the envelope (ok false, the problems), as every other refusal.
TEST(Client, ABatchFinishedWithOutputsThatDoNotFitIsTheEnvelope) {
    auto m = load("wdbc-mlp");
    ASSERT_TRUE(m);
    const BatchTable b = core_finish_batch(*m, R"([{"row": 1, "features": [1]}])", std::vector<float>(7));
    EXPECT_EQ(b.meta["ok"], false);
    EXPECT_EQ(b.meta["rows"], 0);
    ASSERT_FALSE(b.meta["problems"].empty());
    EXPECT_EQ(b.meta["problems"][0]["code"], "bad_output");
    EXPECT_FALSE(b.meta.contains("error"));
}

// The sentences the page shows for what only it notices come from the core, by id, with the one
// detail that varies written by the core (a difference in the same notation everywhere, the
// browser's own text made printable); an unknown id is a fault, never an empty message.
TEST(Client, ThePageAsksTheCoreForItsSentencesById) {
    const Problem img = page_problem("image_undecodable");
    EXPECT_EQ(img.code, "bad_image");
    EXPECT_EQ(img.message, "the browser cannot decode this PNG or JPEG file (damaged or incomplete)");
    EXPECT_EQ(page_problem("model_not_used").code, "check_failed");
    EXPECT_EQ(page_problem("model_disagrees", "0.00031").message,
              "This model cannot be used: the model's ONNX file and its trees disagree (difference 3.10e-04). "
              "Report this to your administrator.");
    EXPECT_NE(page_problem("table_disagrees", "Infinity").message.find("a number that is not finite"),
              std::string::npos);
    EXPECT_NE(page_problem("table_disagrees", "12abc").message.find("a number that is not finite"), std::string::npos);
    const Problem onnx = page_problem("onnx_failed", "no backend\x1b[31m\xff");
    EXPECT_EQ(onnx.message,
              "This model cannot be used: ONNX Runtime could not run this model: no backend?[31m?. Report this to "
              "your administrator.");
    EXPECT_EQ(page_problem("onnx_stopped").code, "check_failed");  // withheld, not the clinician's values
    EXPECT_EQ(page_problem("onnx_stopped").message,
              "ONNX Runtime stopped before it checked this result. Press Predict again: ONNX Runtime starts again and "
              "checks it.");
    EXPECT_EQ(page_problem("render_worker_failed").code, "display_failed");
    EXPECT_NE(page_problem("render_worker_failed").message.find("LocalDx then draws without the render worker"),
              std::string::npos);
    EXPECT_EQ(page_problem("render_worker_refused").message.find("then draws without"), std::string::npos);
    EXPECT_EQ(page_problem("onnx_stalled").code, "check_failed");
    EXPECT_EQ(page_problem("onnx_stalled").message,
              "ONNX Runtime's files stopped arriving over the network, so no result can be checked. Check the "
              "connection, then reload the page.");
    EXPECT_EQ(page_problem("files_stalled").code, "check_failed");
    EXPECT_EQ(page_problem("files_stalled").message,
              "ONNX Runtime's files stopped arriving over the network, so nothing was scored. Check the connection, "
              "then open the file or images again.");
    EXPECT_NE(page_problem("worker_refused", "").message.find("no reason given"), std::string::npos);
    EXPECT_LE(page_problem("page_fault", std::string(100000, 'x')).message.size(), 600u);
    const Problem unknown = page_problem("no_such_words", "x");
    EXPECT_EQ(unknown.code, "internal");
    EXPECT_NE(unknown.message.find("no_such_words"), std::string::npos);
    for (const char* id : {"image_undecodable",
                           "model_not_used",
                           "model_disagrees",
                           "onnx_failed",
                           "table_disagrees",
                           "onnx_unavailable",
                           "onnx_stopped",
                           "onnx_stalled",
                           "files_stalled",
                           "onnx_not_ready",
                           "batch_withheld",
                           "worker_refused",
                           "bundle_offline",
                           "bundle_download",
                           "index_unreachable",
                           "index_refused",
                           "no_models",
                           "no_model",
                           "not_imaging",
                           "clipboard_denied",
                           "page_fault",
                           "render_worker_failed",
                           "render_worker_refused"}) {
        const Problem p = page_problem(id, "1");
        EXPECT_EQ(p.message.find("words the core does not have"), std::string::npos) << id;  // a known id
        EXPECT_FALSE(p.message.empty()) << id;
    }
}

// The page's status lines (not refusals) are the core's too: the page gives the details that vary,
// the core writes the sentence and each detail as its kind says (whole milliseconds, a difference in
// the problems' notation, text made printable and bounded, a fallback for an empty detail).
TEST(Client, ThePageAsksTheCoreForItsStatusLinesById) {
    const auto ready = page_sentence("model_ready", Json{{"title", "Diabetes risk"}, {"version", 3}});
    ASSERT_TRUE(ready.ok());
    EXPECT_EQ(*ready, "Model ready: Diabetes risk, version 3. Signature verified.");
    EXPECT_EQ(*page_sentence("batch_scored_two_threads", Json{{"ms", 812.6}}),
              "scored in 813 ms off the page, on two threads");
    const auto checked = page_sentence(
        "batch_checked", Json{{"difference", 0.00031}, {"ms", 40.2}, {"then", "scored in 813 ms off the page"}});
    ASSERT_TRUE(checked.ok());
    EXPECT_EQ(*checked,
              "Cross-checked with ONNX Runtime (max difference 3.10e-04; 40 ms on this page); scored in 813 ms off the "
              "page.");
    // JSON.stringify(Infinity) is null: the difference is said not to be finite.
    EXPECT_NE(
        page_sentence("batch_checked", Json{{"difference", nullptr}, {"ms", 1}, {"then", ""}})->find("not finite"),
        std::string::npos);
    EXPECT_EQ(*page_sentence("images_scoring", Json{{"i", 11}, {"n", 100}}),
              "Scoring image 11 of 100 on this device\u2026");
    EXPECT_EQ(
        *page_sentence("ehr_not_granted", Json{{"type", "Observation"}, {"granted", ""}}),
        "The EHR did not grant reading Observation (granted: nothing): the form cannot be filled from the chart.");
    EXPECT_EQ(*page_sentence("ehr_saved", Json{{"resource", "RiskAssessment/17"}}),
              "Saved to the chart as RiskAssessment/17.");
    // Outside text (an EHR's address, its error) is made printable and bounded.
    const auto listed = page_sentence("ehr_not_listed", Json{{"iss", "http://x\x1b[31m\xff" + std::string(5000, 'a')}});
    ASSERT_TRUE(listed.ok());
    EXPECT_NE(listed->find("http://x?[31m?"), std::string::npos);
    EXPECT_LT(listed->size(), 700u);
    // Faults of the page, never an empty or half-filled line: an unknown id, details that are not an
    // object, a missing detail, a count that is not a number.
    for (const auto& [id, details] :
         std::vector<std::pair<std::string, Json>>{{"no_such_line", Json::object()},
                                                   {"model_ready", Json::array()},
                                                   {"model_ready", Json{{"title", "x"}}},
                                                   {"images_scoring", Json{{"i", "eleven"}, {"n", 100}}},
                                                   {"batch_scored", Json{{"ms", 1e300}}}}) {
        const auto r = page_sentence(id, details);
        ASSERT_FALSE(r.ok()) << id << " " << details.dump();
        EXPECT_EQ(r.error().code, "internal");
        EXPECT_NE(r.error().message.find(id), std::string::npos);
    }
    // Every line of the table can be said given each of its details.
    for (const std::string_view id : page_sentence_ids()) {
        const Json all{{"title", "t"},
                       {"version", 1},
                       {"day", "2026-12-05"},
                       {"ms", 1},
                       {"difference", 0.5},
                       {"then", "x"},
                       {"i", 1},
                       {"n", 2},
                       {"when", "today"},
                       {"iss", "https://ehr"},
                       {"methods", ""},
                       {"reason", "r"},
                       {"type", "Patient"},
                       {"granted", "a"},
                       {"patient", "p"},
                       {"resource", "Observation/1"}};
        const auto r = page_sentence(id, all);
        ASSERT_TRUE(r.ok()) << id << ": " << r.error().message;
        EXPECT_EQ(r->find('{'), std::string::npos) << id;
    }
}

}  // namespace
}  // namespace ldx
